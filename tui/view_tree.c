/* tui/view_tree.c — the tree panel: an outline of the visible rows.
 *
 * No flattened copy of the tree is kept: rows are produced by walking in display order
 * (pre-order over the shown children, skipping folded subtrees) from the anchor node
 * (its first row shown), with a stack of (node, index among shown siblings, sibling count) per
 * level.  A frame costs O(rows × depth of the outline drawn), whatever the tree's size,
 * and the anchor being a node means rows arriving elsewhere do not scroll the panel.
 * That anchor, the row map, the cursor's depth and the node entropies the rows' bars show
 * are the panel's own state (struct tree_view, a->tree_view); the rest of the program
 * reaches them through the view_tree_* functions in tui/view.h. */
#include "tui/view.h"
#include "core/compare.h"
#include "core/entropy.h"
#include "core/mem.h"
#include "core/text.h"
#include <curses.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The panel's private state (a->tree_view; made at its first use, freed by its ops). */
struct tree_view {
    int32_t      tree_top;      /* first row shown */
    int32_t     *row_ids;       /* ids of the rows drawn in the last frame (mouse) */
    int          nrow_ids;
    size_t       cap_row_ids;
    int          tree_scrolled; /* the wheel moved tree_top: do not chase the cursor */
    int          ever_folded;   /* some node was folded (else no ancestor walk is needed) */
    int32_t      cursor_depth;  /* depth of the cursor, kept as it moves */
    int32_t      end_id;        /* last row of the outline (no folds, no merge view); */
    int          end_valid;     /*   cleared when the tree's shape changes */
    entropy_cache *hcache;      /* node entropies (the stats panel reads them too) */
    size_t       hwork;         /* alternatives computed for the bars this frame */
};

static struct tree_view *trv(app *a)
{
    if (!a->tree_view)
        a->tree_view = xcalloc(1, sizeof *a->tree_view);
    return a->tree_view;
}

int32_t view_tree_top(const app *a) { return a->tree_view ? a->tree_view->tree_top : 0; }
void    view_tree_set_top(app *a, int32_t id) { trv(a)->tree_top = id; }

void view_tree_forget(app *a)
{
    trv(a)->nrow_ids = 0;
    trv(a)->tree_top = TREE_NONE;
}

int32_t view_tree_cursor_depth(const app *a) { return a->tree_view ? a->tree_view->cursor_depth : 0; }
void    view_tree_folded(app *a) { trv(a)->ever_folded = 1; }
void    view_tree_shape_changed(app *a) { trv(a)->end_valid = 0; }

void view_tree_begin(app *a)
{
    struct tree_view *v = trv(a);
    entropy_cache_free(v->hcache);
    v->hcache = entropy_cache_new(a->ses.t);
}

entropy_cache *view_tree_entropies(const app *a) { return a->tree_view ? a->tree_view->hcache : NULL; }

void view_tree_goto(app *a, int32_t id)
{
    tree *t = a->ses.t;
    struct tree_view *v = trv(a);
    for (int32_t p = v->ever_folded ? tree_parent(t, id) : TREE_NONE; p != TREE_NONE; p = tree_parent(t, p))
        tree_set_flag(t, p, TREE_FLAG_FOLDED, 0);
    /* The depth follows the move; only a jump measures it again. */
    int32_t old = a->ses.cursor, par = tree_parent(t, id);
    if (old == id || !tree_get(t, old))
        v->cursor_depth = (int32_t)tree_depth(t, id);
    else if (par == old)
        v->cursor_depth++;
    else if (id == tree_parent(t, old))
        v->cursor_depth--;
    else if (!(par != TREE_NONE && par == tree_parent(t, old)))
        v->cursor_depth = (int32_t)tree_depth(t, id);
    v->tree_scrolled = 0;
}

typedef struct {
    int32_t  id;
    uint32_t idx;     /* position among the parent's shown children */
    uint32_t nsib;    /* shown children of the parent */
} level;

typedef struct {
    app   *a;
    level *st;
    size_t n, cap;
} walker;

static void push(walker *w, int32_t id, uint32_t idx, uint32_t nsib)
{
    xgrow(&w->st, &w->cap, w->n + 1, sizeof *w->st);
    w->st[w->n++] = (level){ id, idx, nsib };
}

static int folded(app *a, int32_t id)
{
    tree_node *n = tree_get(a->ses.t, id);
    return n && (n->flags & TREE_FLAG_FOLDED);
}

/* The walk keeps at most WALK_LEVELS levels above the current node: a frame never needs
 * more (the outline shows a few dozen), and a 100,000-deep chain then costs what a shallow
 * tree does.  Climbing past the top of the stack rebuilds it from there. */
#define WALK_LEVELS 1024

/* Stack of the path to id (its last WALK_LEVELS levels).  Returns 0 when id is not shown
 * (dead, or hidden by merge view). */
static int walk_init(walker *w, app *a, int32_t id)
{
    w->a = a;
    w->n = 0;
    if (!tree_get(a->ses.t, id))
        return 0;
    int32_t path[WALK_LEVELS + 1];
    size_t np = 0;
    for (int32_t p = id; p != TREE_NONE && np <= WALK_LEVELS; p = tree_parent(a->ses.t, p))
        path[np++] = p;
    /* path[np-1] is the top of the stack: its place among its own siblings first. */
    for (size_t i = np; i-- > 0;) {
        int32_t parent = tree_parent(a->ses.t, path[i]);
        if (parent == TREE_NONE) {
            push(w, path[i], 0, 1);
            continue;
        }
        const int32_t *kids;
        int32_t *owned;
        size_t nk = app_children(a, parent, &kids, &owned);
        size_t k = 0;
        while (k < nk && kids[k] != path[i])
            k++;
        free(owned);
        if (k == nk)
            return 0;
        push(w, path[i], (uint32_t)k, (uint32_t)nk);
    }
    return 1;
}

/* The stack's top level has a parent not on the stack: rebuild from there. */
static int walk_extend(walker *w)
{
    if (w->n != 1 || tree_parent(w->a->ses.t, w->st[0].id) == TREE_NONE)
        return 0;
    return walk_init(w, w->a, w->st[0].id) && w->n > 1;
}

/* The outline's last row, when it can be known without a walk: with nothing folded and
 * every child shown it is the root's last-child chain (cached until the shape changes).
 * It spares a walk from the bottom of a deep chain the climb back to the root. */
static int32_t outline_end(app *a)
{
    if (trv(a)->ever_folded || a->merge_view)
        return TREE_NONE;
    if (!trv(a)->end_valid) {
        int32_t id = tree_root(a->ses.t);
        tree_node *n;
        while ((n = tree_get(a->ses.t, id)) && n->nchildren)
            id = n->children[n->nchildren - 1];
        trv(a)->end_id = id;
        trv(a)->end_valid = 1;
    }
    return trv(a)->end_id;
}

static int walk_next(walker *w)
{
    app *a = w->a;
    const int32_t *kids;
    int32_t *owned;
    level top = w->st[w->n - 1];
    if (top.id == outline_end(a))
        return 0;
    if (!folded(a, top.id)) {
        size_t nk = app_children(a, top.id, &kids, &owned);
        if (nk) {
            push(w, kids[0], 0, (uint32_t)nk);
            free(owned);
            return 1;
        }
        free(owned);
    }
    size_t keep = w->n;
    level *saved = xmalloc(keep * sizeof *saved);
    memcpy(saved, w->st, keep * sizeof *saved);
    while (w->n > 1 || walk_extend(w)) {
        level *cur = &w->st[w->n - 1];
        if (cur->idx + 1 < cur->nsib) {
            app_children(a, w->st[w->n - 2].id, &kids, &owned);
            cur->idx++;
            cur->id = kids[cur->idx];
            free(owned);
            free(saved);
            return 1;
        }
        w->n--;
    }
    memcpy(w->st, saved, keep * sizeof *saved);   /* the end: stay on the last row */
    w->n = keep;
    free(saved);
    return 0;
}

static int walk_prev(walker *w)
{
    app *a = w->a;
    const int32_t *kids;
    int32_t *owned;
    if (w->n <= 1 && !walk_extend(w))
        return 0;
    level *cur = &w->st[w->n - 1];
    if (cur->idx == 0) {
        w->n--;
        return 1;
    }
    app_children(a, w->st[w->n - 2].id, &kids, &owned);
    cur->idx--;
    cur->id = kids[cur->idx];
    free(owned);
    for (;;) {                       /* down to the last shown descendant */
        int32_t id = w->st[w->n - 1].id;
        if (folded(a, id))
            break;
        size_t nk = app_children(a, id, &kids, &owned);
        if (!nk) {
            free(owned);
            break;
        }
        push(w, kids[nk - 1], (uint32_t)(nk - 1), (uint32_t)nk);
        free(owned);
    }
    return 1;
}

int32_t view_tree_step(app *a, int32_t id, int n)
{
    walker w = {0};
    int32_t r = id;
    if (walk_init(&w, a, id)) {
        for (; n > 0 && walk_next(&w); n--)
            ;
        for (; n < 0 && walk_prev(&w); n++)
            ;
        r = w.st[w.n - 1].id;
    }
    free(w.st);
    return r;
}

void view_tree_scroll(app *a, int n)
{
    if (!tree_get(a->ses.t, trv(a)->tree_top))
        trv(a)->tree_top = a->ses.cursor;
    trv(a)->tree_top = view_tree_step(a, trv(a)->tree_top, n);
    trv(a)->tree_scrolled = 1;
}

int32_t view_tree_row_id(app *a, int y)
{
    int k = y - (a->r_tree.y + 1);
    if (a->too_small || k < 0 || k >= trv(a)->nrow_ids)
        return TREE_NONE;
    return trv(a)->row_ids[k];
}

static const char *const bars_utf8[8] = {
    "\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83", "\xe2\x96\x84",
    "\xe2\x96\x85", "\xe2\x96\x86", "\xe2\x96\x87", "\xe2\x96\x88",
};

static void draw_row(app *a, walker *w, int y, app_rect r)
{
    tree *t = a->ses.t;
    level *lv = w->st;
    size_t d = w->n - 1;
    int32_t id = lv[d].id;
    tree_node *n = tree_get(t, id);
    int cur = id == a->ses.cursor;
    unsigned long base = cur ? theme_attr(THEME_cursor)
                       : (n->flags & TREE_FLAG_VISITED) && id != tree_root(t) ? theme_attr(THEME_visited)
                       : theme_attr(THEME_tree);
    unsigned long lines = cur ? base : theme_attr(THEME_tree_lines);
    int x = r.x, end = r.x + r.w;
    if (cur)
        view_fill(y, r.x, r.w, base);
    /* Outline: at most half the panel; deeper levels scroll out on the left. */
    size_t maxlev = (size_t)(r.w / 4 > 1 ? r.w / 4 : 1);
    size_t first = d > maxlev ? d - maxlev + 1 : 1;
    if (first > 1 || (d > 0 && tree_parent(t, lv[0].id) != TREE_NONE))
        x += view_puts(a, y, x, end - x, view_glyph(a, "\xe2\x80\xa5", ":"), lines);
    for (size_t i = first; i < d && x < end; i++)
        x += view_puts(a, y, x, end - x, lv[i].idx + 1 < lv[i].nsib ? view_glyph(a, "\xe2\x94\x82 ", "| ") : "  ", lines);
    if (d > 0 && x < end)
        x += view_puts(a, y, x, end - x,
                       lv[d].idx + 1 < lv[d].nsib ? view_glyph(a, "\xe2\x94\x9c\xe2\x94\x80", "|-")
                                                  : view_glyph(a, "\xe2\x94\x94\xe2\x94\x80", "`-"), lines);
    const int32_t *kids;
    int32_t *owned;
    size_t nk = app_children(a, id, &kids, &owned);
    free(owned);
    const char *fold = !nk ? view_glyph(a, "\xe2\x94\x80 ", "- ")
                     : (n->flags & TREE_FLAG_FOLDED) ? view_glyph(a, "\xe2\x96\xb8 ", "+ ")
                     : view_glyph(a, "\xe2\x96\xbe ", "v ");
    if (x < end)
        x += view_puts(a, y, x, end - x, fold, lines);
    /* Entropy bar: mean token entropy, 0..4 bits over eight heights. */
    if (x < end) {
        entropy_node_t en;
        int have = entropy_cache_peek(trv(a)->hcache, a->ses.t, id, &en);
        if (!have && (cur || !trv(a)->hcache || trv(a)->hwork < VIEW_ENTROPY_WORK)) {
            trv(a)->hwork += (size_t)n->ntokens + n->ntops;
            have = entropy_cache_node(trv(a)->hcache, a->ses.t, id, &en) == 0;
        }
        if (!have)
            a->pending |= APP_CH_DRAW;        /* this row's bar in a frame to come */
        if (have && en.ntokens && !isnan(en.mean)) {
            int k = (int)(en.mean / 4.0 * 8);
            k = k < 0 ? 0 : k > 7 ? 7 : k;
            x += view_puts(a, y, x, end - x, a->utf8 ? bars_utf8[k] : (const char[]){ "_.:-=+*#"[k], 0 },
                           cur ? base : theme_attr(THEME_entropy));
        } else {
            x += view_puts(a, y, x, end - x, " ", base);
        }
        x += view_puts(a, y, x, end - x, " ", base);
    }
    if ((n->marks & TREE_MARK_BOOKMARK) && x < end)
        x += view_puts(a, y, x, end - x, view_glyph(a, "\xe2\x98\x85 ", "* "), cur ? base : theme_attr(THEME_bookmark));
    int is_attr = (n->marks & TREE_MARK_ATTRACTOR) || app_is_attractor(a, id);
    if (is_attr && x < end)
        x += view_puts(a, y, x, end - x, view_glyph(a, "\xe2\x97\x86 ", "@ "), cur ? base : theme_attr(THEME_attractor));
    if ((n->flags & TREE_FLAG_INCOMPLETE) && x < end)
        x += view_puts(a, y, x, end - x, view_glyph(a, "\xe2\x9c\x97 ", "! "), cur ? base : theme_attr(THEME_incomplete));
    else if (x < end && app_is_streaming(a, id))
        x += view_puts(a, y, x, end - x, view_glyph(a, "\xe2\x80\xa6 ", "~ "), cur ? base : theme_attr(THEME_busy));
    else if (n->origin == TREE_ORIGIN_FORCED && x < end)
        x += view_puts(a, y, x, end - x, view_glyph(a, "\xe2\x86\xb3 ", "> "), cur ? base : theme_attr(THEME_dim));
    if (a->merge_view && a->an.merge && d > 0 && x < end) {
        size_t c = merge_count(a->an.merge, id);
        if (c > 1) {
            char tmp[32];
            snprintf(tmp, sizeof tmp, "%s%zu ", view_glyph(a, "\xc3\x97", "x"), c);
            x += view_puts(a, y, x, end - x, tmp, cur ? base : theme_attr(THEME_merged));
        }
    }
    if (x >= end)
        return;
    const char *s = n->text;
    size_t len = n->text_len;
    if (app_is_streaming(a, id))
        len = text_complete_prefix(s, len);
    while (len && (*s == ' ' || *s == '\n')) {
        s++;
        len--;
    }
    unsigned long ta = base;
    if (!cur && is_attr)
        ta = theme_attr(THEME_attractor);
    if (!cur && n->flags & TREE_FLAG_INCOMPLETE)
        ta = theme_attr(THEME_incomplete);
    if (!cur && a->search.query && *a->search.query && app_text_matches(a->search.query, n->text, n->text_len))
        ta = theme_attr(THEME_search);
    char *label = len ? NULL : compare_label_text(a->ses.t, id);
    if (label)
        view_put(a, y, x, end - x, label, strlen(label), cur ? base : theme_attr(THEME_dim),
                 TEXT_NL_VISIBLE);   /* the name comes from the file */
    else if (!len)
        view_puts(a, y, x, end - x, app_is_streaming(a, id) ? "" : "(empty)",
                  cur ? base : theme_attr(THEME_dim));
    else
        view_put(a, y, x, end - x, s, len, ta, TEXT_NL_VISIBLE);
    free(label);
}

static int collect(app *a, int32_t top, int h, int32_t *cursor_row)
{
    walker w = {0};
    int k = 0;
    *cursor_row = -1;
    if (walk_init(&w, a, top)) {
        do {
            if (w.st[w.n - 1].id == a->ses.cursor)
                *cursor_row = k;
            k++;
        } while (k < h && walk_next(&w));
    }
    free(w.st);
    return k;
}

void view_tree(app *a, app_rect r)
{
    char detail[96];
    snprintf(detail, sizeof detail, "%zu nodes%s", tree_count(a->ses.t), a->merge_view ? " · merged" : "");
    view_title(a, r, "Tree", detail, a->focus == APP_PANEL_TREE);
    trv(a)->hwork = 0;                      /* the bars' work is counted per frame */
    int h = r.h - 1;
    trv(a)->nrow_ids = 0;
    if (h <= 0)
        return;
    tree *t = a->ses.t;
    walker w = {0};
    int shown = tree_get(t, trv(a)->tree_top) != NULL;
    for (int32_t p = shown && trv(a)->ever_folded ? tree_parent(t, trv(a)->tree_top) : TREE_NONE; p != TREE_NONE && shown;
         p = tree_parent(t, p))
        if (folded(a, p))
            shown = 0;      /* the anchor went into a folded subtree */
    if (!shown || !walk_init(&w, a, trv(a)->tree_top))
        trv(a)->tree_top = a->ses.cursor, trv(a)->tree_scrolled = 0;
    int so = h > 6 ? 2 : 0;                 /* rows kept visible around the cursor */
    int32_t crow;
    int got = collect(a, trv(a)->tree_top, h, &crow);
    if (!trv(a)->tree_scrolled) {
        if (crow < 0) {
            trv(a)->tree_top = view_tree_step(a, a->ses.cursor, -(h / 3));
        } else if (crow > h - 1 - so) {
            trv(a)->tree_top = view_tree_step(a, trv(a)->tree_top, crow - (h - 1 - so));
        } else if (crow < so) {
            trv(a)->tree_top = view_tree_step(a, trv(a)->tree_top, crow - so);
        }
        got = collect(a, trv(a)->tree_top, h, &crow);
    }
    if (got < h) {                          /* the end is on screen: fill from above */
        int32_t up = view_tree_step(a, trv(a)->tree_top, got - h);
        if (up != trv(a)->tree_top) {
            trv(a)->tree_top = up;
            got = collect(a, trv(a)->tree_top, h, &crow);
        }
    }
    xgrow(&trv(a)->row_ids, &trv(a)->cap_row_ids, (size_t)h, sizeof *trv(a)->row_ids);
    if (!walk_init(&w, a, trv(a)->tree_top)) {
        free(w.st);
        return;
    }
    int k = 0;
    do {
        trv(a)->row_ids[k] = w.st[w.n - 1].id;
        draw_row(a, &w, r.y + 1 + k, r);
        k++;
    } while (k < h && walk_next(&w));
    trv(a)->nrow_ids = k;
    free(w.st);
}

/* ---- the panel's ops (view.h) ------------------------------------------------------- */

static unsigned tree_mouse(app *a, app_rect r, int y, int x, int wheel)
{
    (void)r;
    (void)x;
    if (wheel) {
        view_tree_scroll(a, 3 * wheel);
        return APP_CH_DRAW;
    }
    int32_t id = view_tree_row_id(a, y);
    if (id == TREE_NONE || id == a->ses.cursor)
        return APP_CH_DRAW;
    unsigned f = app_goto(a, id);
    /* The clicked row is on screen: the panel stays still, so the node stays under the
     * pointer (the cursor's scroll margin would shift the rows near the edges, and a
     * second click would land on a neighbour). */
    trv(a)->tree_scrolled = 1;
    return f;
}

static void tree_resize(app *a, app_rect r)
{
    if (r.h <= 0)
        trv(a)->nrow_ids = 0;                   /* hidden: no row is under the pointer */
}

static void tree_panel_free(app *a)
{
    if (!a->tree_view)
        return;
    entropy_cache_free(a->tree_view->hcache);   /* (before the tree goes: it listens to it) */
    free(a->tree_view->row_ids);
    free(a->tree_view);
    a->tree_view = NULL;
}

const panel_ops view_tree_ops = { "tree", view_tree, NULL, tree_mouse, tree_resize, tree_panel_free };
