/* tui/undo.c — see undo.h. */
#include "tui/undo.h"
#include "tui/view.h"
#include "core/mem.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { OP_ADD, OP_DELETE, OP_CONTENT, OP_MARKS, OP_FOLD } op_kind;

typedef struct {
    op_kind       kind;
    int32_t       id;
    int           index;        /* ADD/DELETE: place among the parent's children when taken away */
    tree_content *before, *after;
    unsigned      old, now;     /* MARKS: marks; FOLD: folded */
} undo_op;

typedef struct {
    undo_op *ops;
    size_t   nops, cap;
    int      request;           /* a generation still streaming (its request), or -1 */
    int32_t  cursor_before, cursor_after;
    char     what[48];
} undo_step;

struct undo_log {
    undo_step *undo, *redo;
    size_t     nundo, capundo, nredo, capredo;
};

static void step_free(undo_step *s)
{
    for (size_t i = 0; i < s->nops; i++) {
        tree_content_free(s->ops[i].before);
        tree_content_free(s->ops[i].after);
    }
    free(s->ops);
    memset(s, 0, sizeof *s);
}

void undo_free(undo_log *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->nundo; i++)
        step_free(&u->undo[i]);
    for (size_t i = 0; i < u->nredo; i++)
        step_free(&u->redo[i]);
    free(u->undo);
    free(u->redo);
    free(u);
}

static undo_log *log_of(app *a)
{
    if (!a->undo)
        a->undo = xcalloc(1, sizeof *a->undo);
    return a->undo;
}

static void add_op(undo_step *s, undo_op op)
{
    xgrow(&s->ops, &s->cap, s->nops + 1, sizeof *s->ops);
    s->ops[s->nops++] = op;
}

/* A new step: what could be redone is dropped (its nodes stay dead slots). */
static undo_step *push(app *a, const char *what, int32_t before)
{
    undo_log *u = log_of(a);
    for (size_t i = 0; i < u->nredo; i++)
        step_free(&u->redo[i]);
    u->nredo = 0;
    xgrow(&u->undo, &u->capundo, u->nundo + 1, sizeof *u->undo);
    undo_step *s = &u->undo[u->nundo++];
    memset(s, 0, sizeof *s);
    s->request = -1;
    s->cursor_before = before;
    s->cursor_after = a->ses.cursor;
    snprintf(s->what, sizeof s->what, "%s", what);
    return s;
}

void undo_added(app *a, int32_t id, int32_t before)
{
    char w[48];
    snprintf(w, sizeof w, "add of node #%d", (int)id);
    add_op(push(a, w, before), (undo_op){ .kind = OP_ADD, .id = id, .index = -1 });
}

void undo_deleted(app *a, int32_t id, int index, int32_t before)
{
    char w[48];
    snprintf(w, sizeof w, "delete of node #%d", (int)id);
    add_op(push(a, w, before), (undo_op){ .kind = OP_DELETE, .id = id, .index = index });
}

void undo_content(app *a, int32_t id, tree_content *old)
{
    char w[48];
    snprintf(w, sizeof w, "edit of node #%d", (int)id);
    add_op(push(a, w, a->ses.cursor),
           (undo_op){ .kind = OP_CONTENT, .id = id, .before = old, .after = tree_content_save(a->ses.t, id) });
}

void undo_marks(app *a, int32_t id, unsigned old)
{
    tree_node *n = tree_get(a->ses.t, id);
    if (!n)
        return;
    unsigned now = n->marks, ch = old ^ now;
    char w[48];
    snprintf(w, sizeof w, "%s of node #%d",
             ch == TREE_MARK_BOOKMARK ? "bookmark" : ch == TREE_MARK_ATTRACTOR ? "attractor mark" : "marks", (int)id);
    add_op(push(a, w, a->ses.cursor), (undo_op){ .kind = OP_MARKS, .id = id, .old = old, .now = now });
}

void undo_fold(app *a, int32_t id, int was_folded)
{
    char w[48];
    snprintf(w, sizeof w, "%s of node #%d", was_folded ? "unfold" : "fold", (int)id);
    add_op(push(a, w, a->ses.cursor),
           (undo_op){ .kind = OP_FOLD, .id = id, .old = (unsigned)!!was_folded, .now = (unsigned)!was_folded });
}

void undo_generation(app *a, int request, int32_t parent, int was_folded)
{
    char w[48];
    snprintf(w, sizeof w, "generation under node #%d", (int)parent);
    undo_step *s = push(a, w, a->ses.cursor);
    s->request = request;
    if (was_folded)
        add_op(s, (undo_op){ .kind = OP_FOLD, .id = parent, .old = 1, .now = 0 });
}

static void fill_generation(undo_step *s, const int32_t *nodes, int k)
{
    for (int i = 0; i < k; i++)
        if (nodes[i] != TREE_NONE)
            add_op(s, (undo_op){ .kind = OP_ADD, .id = nodes[i], .index = -1 });
    s->request = -1;
}

void undo_generation_end(app *a, int request, const int32_t *nodes, int k)
{
    undo_log *u = log_of(a);
    for (size_t i = u->nundo; i-- > 0;) {
        undo_step *s = &u->undo[i];
        if (s->request != request)
            continue;
        fill_generation(s, nodes, k);
        int any = 0;
        for (size_t j = 0; j < s->nops; j++)
            any |= s->ops[j].kind == OP_ADD;
        if (!any) {                       /* nothing came: not a step */
            step_free(s);
            memmove(s, s + 1, (u->nundo - i - 1) * sizeof *s);
            u->nundo--;
        }
        return;
    }
}

/* Takes the subtree of id away (ADD undone, DELETE redone). */
static int take_away(app *a, undo_op *op)
{
    app_stop_streams_in(a, op->id);
    int index = tree_delete(a->ses.t, op->id);
    if (index < 0)
        return -1;
    op->index = index;
    return 0;
}

/* Applies one op backwards (dir -1) or forwards (+1). */
static int apply(app *a, undo_op *op, int dir)
{
    tree *t = a->ses.t;
    switch (op->kind) {
    case OP_ADD:
    case OP_DELETE:
        if ((op->kind == OP_ADD) == (dir < 0))
            return take_away(a, op);
        return tree_undelete(t, op->id, op->index);
    case OP_CONTENT:
        return tree_content_restore(t, op->id, dir < 0 ? op->before : op->after);
    case OP_MARKS:
        if (!tree_get(t, op->id))
            return -1;
        tree_set_marks(t, op->id, dir < 0 ? op->old : op->now);
        app_mark_changed(a, op->id);
        return 0;
    case OP_FOLD:
        if (!tree_get(t, op->id))
            return -1;
        tree_set_flag(t, op->id, TREE_FLAG_FOLDED, (int)(dir < 0 ? op->old : op->now));
        if (dir < 0 ? op->old : op->now)
            view_tree_folded(a);
        return 0;
    }
    return -1;
}

/* The cursor lands on target, or the nearest live node above the old cursor, or the root. */
static void land(app *a, int32_t target)
{
    if (!tree_get(a->ses.t, target))
        target = tree_get(a->ses.t, a->ses.cursor) ? a->ses.cursor : tree_root(a->ses.t);
    app_goto(a, target);
}

static unsigned run_step(app *a, int dir)
{
    undo_log *u = log_of(a);
    undo_step **from = dir < 0 ? &u->undo : &u->redo, **to = dir < 0 ? &u->redo : &u->undo;
    size_t *nfrom = dir < 0 ? &u->nundo : &u->nredo, *nto = dir < 0 ? &u->nredo : &u->nundo;
    size_t *capto = dir < 0 ? &u->capredo : &u->capundo;
    if (!*nfrom) {
        app_message(a, 0, dir < 0 ? "nothing to undo" : "nothing to redo (u undoes)");
        return APP_CH_DRAW;
    }
    undo_step s = (*from)[--*nfrom];
    if (s.request >= 0) {                 /* a generation still streaming: stop it first */
        int n = a->gen.g ? grow_active(a->gen.g) : 0;
        for (int i = 0; i < n; i++) {
            const grow_request *r = grow_request_at(a->gen.g, i);
            if (r->request == s.request) {
                fill_generation(&s, r->nodes, r->k);
                break;
            }
        }
        s.request = -1;
        app_gen_cancel(a);
    }
    int failed = 0;
    if (dir < 0)
        for (size_t i = s.nops; i-- > 0;)
            failed |= apply(a, &s.ops[i], -1) < 0;
    else
        for (size_t i = 0; i < s.nops; i++)
            failed |= apply(a, &s.ops[i], 1) < 0;
    land(a, dir < 0 ? s.cursor_before : s.cursor_after);
    xgrow(to, capto, *nto + 1, sizeof **to);
    (*to)[(*nto)++] = s;
    if (failed)
        app_message(a, 1, "%s: part of the %s could not be %s", dir < 0 ? "undo" : "redo", s.what,
                    dir < 0 ? "undone" : "redone");
    else if (dir < 0)
        app_message(a, 0, "undid the %s (C-r redoes)", s.what);
    else
        app_message(a, 0, "redid the %s (u undoes)", s.what);
    return APP_CH_DRAW | APP_CH_SAVE;
}

unsigned undo_undo(app *a) { return run_step(a, -1); }
unsigned undo_redo(app *a) { return run_step(a, 1); }
