/* tui/app_analysis.c — the analysis of the tree (see app_analysis.h): the merge and
 * attractor indexes, the detected list the panels draw from, the hand marks, and the
 * main-loop slices that keep all of it from ever blocking a key. */
#include "tui/app.h"
#include "core/mono.h"
#include "core/mem.h"
#include "tui/view.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void app_init_analysis(app *a)
{
    a->an.merge = merge_index_new(a->ses.t, a->ses.settings.merge_threshold);
    if (tree_count(a->ses.t) <= APP_ATTR_MAX_NODES) {
        a->an.attr = attractor_index_new(a->ses.t, a->ses.settings.merge_threshold, ATTRACTOR_DEFAULT_MIN_CONTEXTS);
        a->an.dirty = 1;
        a->an.slice = 256;
    }
    /* Hand-marked attractors, once; marks change only through app_mark_changed after. */
    tree_iter it;
    tree_iter_init(&it, a->ses.t, tree_root(a->ses.t), TREE_DFS);
    for (int32_t id; (id = tree_iter_next(&it)) != TREE_NONE;) {
        if (tree_get(a->ses.t, id)->marks & TREE_MARK_ATTRACTOR)
            app_mark_changed(a, id);
        if (tree_get(a->ses.t, id)->flags & TREE_FLAG_FOLDED)
            view_tree_folded(a);           /* folds saved with the session */
    }
    tree_iter_done(&it);
}

/* One slice of attractor indexing: a big tree (or a burst of changes) is indexed a few
 * milliseconds at a time, so keys are never kept waiting for the analysis. */
static void attr_slice(app *a)
{
    double t0 = mono_now();
    size_t left = attractor_work(a->an.attr, a->an.slice);
    double dt = mono_now() - t0;
    if (dt > 2 * APP_ATTR_SLICE && a->an.slice > 16)
        a->an.slice /= 2;
    else if (dt < APP_ATTR_SLICE / 2 && a->an.slice < 65536)
        a->an.slice *= 2;
    if (!left || t0 - a->last_draw >= 0.25)
        a->pending |= APP_CH_DRAW;      /* the stats panel shows the progress */
}

void app_mark_changed(app *a, int32_t id)
{
    tree_node *n = tree_get(a->ses.t, id);
    size_t k = 0;
    while (k < a->an.nmarked && a->an.marked[k] != id)
        k++;
    if (n && (n->marks & TREE_MARK_ATTRACTOR)) {
        if (k == a->an.nmarked) {
            xgrow(&a->an.marked, &a->an.capmarked, a->an.nmarked + 1, sizeof *a->an.marked);
            a->an.marked[a->an.nmarked++] = id;
        }
    } else if (k < a->an.nmarked) {
        memmove(a->an.marked + k, a->an.marked + k + 1, (a->an.nmarked - k - 1) * sizeof *a->an.marked);
        a->an.nmarked--;
    }
}

int app_is_attractor(app *a, int32_t id)
{
    tree_node *n = tree_get(a->ses.t, id);
    if (!n)
        return 0;
    if (n->marks & TREE_MARK_ATTRACTOR)
        return 1;
    return id >= 0 && (size_t)id < a->an.member_cap && a->an.member[id] == 1;
}

size_t app_attractor_items(app *a, app_attractor_item *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < a->an.nitems && n < max; i++)
        if (tree_get(a->ses.t, a->an.items[i].id))
            out[n++] = a->an.items[i];
    for (size_t i = 0; i < a->an.nmarked && n < max; i++) {
        tree_node *m = tree_get(a->ses.t, a->an.marked[i]);
        if (!m || !(m->marks & TREE_MARK_ATTRACTOR))
            continue;
        out[n].id = a->an.marked[i];
        snprintf(out[n].label, sizeof out[n].label, "marked ");
        out[n].note[0] = 0;
        out[n].text = NULL;
        out[n].members = &a->an.marked[i];
        out[n].nmembers = 1;
        n++;
    }
    return n;
}

/* Detected attractors are recomputed from the index when the tree has changed, at most
 * every APP_ATTR_REFRESH seconds (longer when a refresh is slow) and only after the keyboard
 * has been quiet for a moment, so typing never waits for the analysis.  The UI draws from
 * this copy: a per-node membership map and the first ATTR_ITEMS of the list. */
#define ATTR_ITEMS 64

void app_attr_clear(app *a)
{
    for (size_t i = 0; i < a->an.nitems; i++) {
        free((char *)a->an.items[i].text);
        free((int32_t *)a->an.items[i].members);
    }
    a->an.nitems = 0;
}

/* The UI's copy of a list: the per-node membership map and the first ATTR_ITEMS entries. */
static void attr_install(app *a, const attractor *list, size_t n)
{
    a->an.total = n;
    size_t cap = (size_t)tree_capacity(a->ses.t);
    if (cap > a->an.member_cap) {
        a->an.member = xrealloc(a->an.member, cap ? cap : 1);
        a->an.member_cap = cap;
    }
    memset(a->an.member, 0, a->an.member_cap);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < list[i].nmembers; k++) {
            int32_t id = list[i].members[k];
            if (id >= 0 && (size_t)id < a->an.member_cap &&
                (list[i].kind == ATTRACTOR_CONTINUATION || !a->an.member[id]))
                a->an.member[id] = list[i].kind == ATTRACTOR_CONTINUATION ? 1 : 2;
        }
    app_attr_clear(a);
    if (!a->an.items)
        a->an.items = xcalloc(ATTR_ITEMS, sizeof *a->an.items);
    for (size_t i = 0; i < n && i < ATTR_ITEMS; i++) {
        app_attractor_item *it = &a->an.items[a->an.nitems++];
        it->id = list[i].example;
        snprintf(it->label, sizeof it->label, "%s%zu in %zu contexts ",
                 list[i].kind == ATTRACTOR_PHRASE ? "phrase, " : "", list[i].nmembers, list[i].support);
        it->note[0] = 0;
        if (list[i].kind == ATTRACTOR_PHRASE) {
            char pv[16];
            if (list[i].log10_p < -300)
                snprintf(pv, sizeof pv, "<1e-300");
            else
                snprintf(pv, sizeof pv, "%.0e", pow(10, list[i].log10_p));
            snprintf(it->note, sizeof it->note, "(%.2g expected, p %s) ", list[i].expected, pv);
        }
        it->text = xstrdup(list[i].text ? list[i].text : "");
        int32_t *mem = xmalloc((list[i].nmembers ? list[i].nmembers : 1) * sizeof *mem);
        memcpy(mem, list[i].members, list[i].nmembers * sizeof *mem);
        it->members = mem;
        it->nmembers = list[i].nmembers;
    }
    a->an.last = mono_now();
    a->pending |= APP_CH_DRAW;
}

/* The list is made in slices of the main loop (attractor_list_step), like the indexing:
 * each turn lists for about APP_ATTR_SLICE seconds, the UI keeps drawing from the previous
 * list meanwhile, and a deletion in between makes it start over.  Nothing is forked.
 * TERMLOOM_ATTR_SLICES=1 lists one unit a turn (a test hook: many slices for a small tree). */
void app_attr_cancel(app *a)
{
    if (a->an.attr)
        attractor_list_abort(a->an.attr);
}

void app_attr_poll(app *a)
{
    if (!a->an.attr || !attractor_list_busy(a->an.attr))
        return;
    static int tiny = -1;
    if (tiny < 0) {
        const char *hook = getenv("TERMLOOM_ATTR_SLICES");
        tiny = hook && *hook == '1';
    }
    if (!a->an.list_slice)
        a->an.list_slice = 64;
    double t0 = mono_now();
    int r = attractor_list_step(a->an.attr, tiny ? 1 : a->an.list_slice);
    double dt = mono_now() - t0;
    a->an.list_spent += dt;
    if (dt > 2 * APP_ATTR_SLICE && a->an.list_slice > 1)
        a->an.list_slice /= 2;
    else if (dt < APP_ATTR_SLICE / 2 && a->an.list_slice < (1u << 20))
        a->an.list_slice *= 2;
    if (r == 1) {
        const attractor *list;
        size_t n = attractor_last(a->an.attr, &list);
        attr_install(a, list, n);
        a->an.cost = a->an.list_spent;
    } else if (r < 0) {
        a->an.dirty = 1;                 /* nodes went meanwhile: list again later */
    }
}

void app_attr_refresh(app *a)
{
    a->an.dirty = 0;                     /* a change from now on sets it again */
    a->an.list_spent = 0;
    if (attractor_list_step(a->an.attr, 1) == 1) {   /* begins (or finds nothing changed) */
        const attractor *list;
        size_t n = attractor_last(a->an.attr, &list);
        attr_install(a, list, n);
        a->an.cost = 0;
    }
}

int app_analysis_busy(const app *a)
{
    return (a->an.attr && (attractor_pending(a->an.attr) || attractor_list_busy(a->an.attr))) ||
           a->an.group_pending != TREE_NONE;
}

void app_analysis_step(app *a, double now)
{
    if (a->an.group_pending != TREE_NONE && a->an.merge &&
        merge_group_step(a->an.merge, a->an.group_pending, VIEW_GROUP_AT_ONCE)) {
        a->an.group_pending = TREE_NONE;
        a->pending |= APP_CH_DRAW;
    }
    if (a->an.attr && attractor_pending(a->an.attr) && !attractor_list_busy(a->an.attr) && a->last_draw > 0)
        attr_slice(a);                 /* (a listing under way reads the index as it was) */
    app_attr_poll(a);
    if (a->an.attr && a->an.dirty && !attractor_list_busy(a->an.attr) && !attractor_pending(a->an.attr) && a->last_draw > 0 &&
        now - a->last_key >= 0.4 &&
        now - a->an.last >= (APP_ATTR_REFRESH > 20 * a->an.cost ? APP_ATTR_REFRESH : 20 * a->an.cost))
        app_attr_refresh(a);
}

void app_analysis_free(app *a)
{
    merge_index_free(a->an.merge);
    app_attr_cancel(a);
    attractor_index_free(a->an.attr);
    app_attr_clear(a);
    free(a->an.items);
    free(a->an.member);
    free(a->an.marked);
    memset(&a->an, 0, sizeof a->an);
    a->an.group_pending = a->an.nav_id = TREE_NONE;
}

void app_analysis_threshold(app *a)
{
    if (a->an.merge)
        merge_set_threshold(a->an.merge, a->ses.settings.merge_threshold);
    if (a->an.attr) {                      /* detected attractors use it too */
        app_attr_cancel(a);
        attractor_index_free(a->an.attr);
        a->an.attr = attractor_index_new(a->ses.t, a->ses.settings.merge_threshold, ATTRACTOR_DEFAULT_MIN_CONTEXTS);
        a->an.slice = 256;
        a->an.dirty = 1;
        a->an.last = 0;
    }
}

void app_analysis_none(app *a)
{
    a->an.nav_id = TREE_NONE;
    a->an.group_pending = TREE_NONE;
}
