/* tui/view_stats.c — the stats panel: the cursor node's figures (entropy, finish reason,
 * model, perplexity), its branch entropy over merged child groups, and the attractors. */
#include "tui/view.h"
#include "core/calib.h"
#include "core/compare.h"
#include "core/entropy.h"
#include "core/mem.h"
#include "core/text.h"
#include <curses.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int line(app *a, app_rect r, int *y, const char *label, const char *value, unsigned long attr)
{
    if (*y >= r.y + r.h)
        return 0;
    int x = r.x + view_puts(a, *y, r.x, r.w, label, theme_attr(THEME_dim));
    view_puts(a, *y, x, r.x + r.w - x, value, attr);
    (*y)++;
    return 1;
}

/* label, then value wrapped over at most maxl lines (never cut mid-line). */
static void wrapped(app *a, app_rect r, int *y, const char *label, const char *value, unsigned long attr, size_t maxl)
{
    if (*y >= r.y + r.h)
        return;
    int x = r.x + view_puts(a, *y, r.x, r.w, label, theme_attr(THEME_dim));
    text_line wl[4];
    if (maxl > 4)
        maxl = 4;
    size_t nl = r.x + r.w - x < 4 ? 0 : text_wrap(value, strlen(value), r.x + r.w - x, 8, TEXT_NL_VISIBLE, wl, maxl);
    for (size_t i = 0; i < nl && i < maxl && *y < r.y + r.h; i++, (*y)++)
        view_put(a, *y, x, r.x + r.w - x, value + wl[i].start, wl[i].end - wl[i].start, attr, TEXT_NL_VISIBLE);
}

/* Why a failed branch failed, as grow recorded it (core/grow.h). */
static const char *node_error(const tree_node *n)
{
    json_t *e = n->extra ? json_object_get(n->extra, "error") : NULL;
    return json_is_string(e) ? json_string_value(e) : NULL;
}

/* Calibration of the cursor node's children (core/calib), when it qualifies.  A fan-out
 * whose first-token lists are too big to merge every frame is left to `stats`. */
static void calib_line(app *a, app_rect r, int *y, int32_t id)
{
    const tree_node *n = tree_get(a->ses.t, id);
    size_t entries = 0;
    for (uint32_t i = 0; i < n->nchildren; i++) {
        const tree_node *c = tree_get(a->ses.t, n->children[i]);
        entries += c && c->ntokens ? c->tokens[0].ntop + 1 : 0;
    }
    char v[256];
    calib_result c;
    if (n->nchildren < CALIB_MIN_SAMPLES)
        return;
    if (entries > 200000)
        snprintf(v, sizeof v, "%u children: see termloom stats", n->nchildren);
    else if (calib_node(a->ses.t, NULL, id, &c) < 0)
        return;
    else
        calib_format(&c, v, sizeof v);
    wrapped(a, r, y, "calib    ", v, entries <= 200000 && c.flag ? theme_attr(THEME_incomplete) : theme_attr(THEME_entropy), 2);
}

void view_stats(app *a, app_rect r)
{
    view_title(a, r, "Stats", "", 0);
    tree *t = a->ses.t;
    int32_t id = a->ses.cursor;
    tree_node *n = tree_get(t, id);
    if (!n || r.h < 2)
        return;
    int y = r.y + 1;
    unsigned long norm = theme_attr(THEME_normal);
    char v[256];
    const char *model = tree_model(t, id);
    snprintf(v, sizeof v, "#%d %s%s%s", (int)id, tree_origin_name((tree_origin)n->origin),
             model ? " · " : "", model ? model : "");
    if (!a->utf8)
        snprintf(v, sizeof v, "#%d %s%s%s", (int)id, tree_origin_name((tree_origin)n->origin),
                 model ? " - " : "", model ? model : "");
    char *label = compare_label_text(t, id);
    if (label) {                  /* a comparison's side: its name and config, whole */
        char *full = xasprintf("#%d %s", (int)id, label);
        wrapped(a, r, &y, "node     ", full, norm, 4);
        free(full);
        free(label);
    } else
        line(a, r, &y, "node     ", v, norm);
    for (int32_t p = tree_parent(t, id); p != TREE_NONE; p = tree_parent(t, p))
        if (compare_label_side(t, p)) {   /* a sample of a comparison: which side */
            char *name = compare_label_name(t, p), *sv = xasprintf("%c: %s", compare_label_side(t, p), name);
            int x = r.x + view_puts(a, y, r.x, r.w, "side     ", theme_attr(THEME_dim));
            view_put(a, y++, x, r.x + r.w - x, sv, strlen(sv), norm, TEXT_NL_VISIBLE);
            free(name);
            free(sv);
            break;
        }
    const char *fin = tree_finish(t, id);
    double slp, ppl;
    size_t nk = entropy_sequence(n, &slp, &ppl);
    if (nk)
        snprintf(v, sizeof v, "%s, %u tokens, logprob %.2f, ppl %.2f",
                 fin ? fin : app_is_streaming(a, id) ? "generating" : "open", n->ntokens, slp, ppl);
    else
        snprintf(v, sizeof v, "%s, %u tokens", fin ? fin : app_is_streaming(a, id) ? "generating" : "-", n->ntokens);
    line(a, r, &y, "finish   ", v, (n->flags & TREE_FLAG_INCOMPLETE) ? theme_attr(THEME_incomplete) : norm);
    const char *why = node_error(n);
    if (why)
        wrapped(a, r, &y, "error    ", why, theme_attr(THEME_incomplete), 3);
    uint32_t vset = a->ses.settings.vocab_size > 0 ? (uint32_t)a->ses.settings.vocab_size : 0;
    entropy_node_interval_t ni;
    entropy_node_interval(n, n->vocab ? n->vocab : vset, &ni);
    if (ni.ntokens && !isnan(ni.lower)) {
        char hs[80];
        entropy_format(hs, sizeof hs, ni.lower, ni.upper, ni.exact, a->utf8);
        snprintf(v, sizeof v, "%s per token", hs);
    } else
        snprintf(v, sizeof v, "unknown (no logprobs)");
    line(a, r, &y, "entropy  ", v, theme_attr(THEME_entropy));
    if (n->nchildren) {     /* the children's node entropies, averaged: an interval too */
        double lo = 0, hi = 0;
        int cnt = 0, hi_known = 1, exact = 1;
        for (uint32_t c = 0; c < n->nchildren; c++) {
            const tree_node *ch = tree_get(t, n->children[c]);
            if (!ch)
                continue;
            entropy_node_interval(ch, ch->vocab ? ch->vocab : vset, &ni);
            if (!ni.ntokens || isnan(ni.lower))
                continue;
            lo += ni.lower;
            if (isnan(ni.upper))
                hi_known = 0;
            else
                hi += ni.upper;
            exact &= ni.exact;
            cnt++;
        }
        if (cnt) {
            char hs[80];
            entropy_format(hs, sizeof hs, lo / cnt, hi_known ? hi / cnt : NAN, exact, a->utf8);
            snprintf(v, sizeof v, "%s per token over %d child%s", hs, cnt, cnt == 1 ? "" : "ren");
            line(a, r, &y, "children ", v, theme_attr(THEME_entropy));
        }
    }
    if (n->nchildren > VIEW_GROUP_AT_ONCE && a->merge && !merge_group_step(a->merge, id, VIEW_GROUP_AT_ONCE)) {
        /* a huge fan-out is grouped a slice at a time between keys (app.c): no frame waits */
        a->group_pending = id;
        snprintf(v, sizeof v, "grouping %u children…", n->nchildren);
    } else if (n->nchildren && a->merge) {
        double norm_h;
        double hb = merge_branch_entropy(a->merge, id, &norm_h);
        merge_group *g;
        size_t ng = merge_groups(a->merge, id, &g);
        free(g);
        snprintf(v, sizeof v, "%.2f bits, %zu group%s of %u (norm %.2f)", hb, ng, ng == 1 ? "" : "s",
                 n->nchildren, norm_h);
    } else {
        snprintf(v, sizeof v, "no children");
    }
    line(a, r, &y, "branch   ", v, theme_attr(THEME_entropy));
    calib_line(a, r, &y, id);
    if (y >= r.y + r.h)
        return;
    /* Attractors: detected ones (best first) and those marked by hand. */
    size_t shown = 0;
    app_attractor_item items[16];
    size_t nitems = app_attractor_items(a, items, 16);
    size_t pending = a->attr ? attractor_pending(a->attr) : 0;
    size_t marked = 0;
    for (size_t i = 0; i < a->nmarked; i++) {
        tree_node *m = tree_get(a->ses.t, a->marked[i]);
        marked += m && (m->marks & TREE_MARK_ATTRACTOR);
    }
    if (nitems)
        snprintf(v, sizeof v, "%zu (A next)%s", a->attr_total + marked, pending ? ", updating" : "");
    else if (pending)
        snprintf(v, sizeof v, "indexing, %zu nodes to go (m marks one)", pending);
    else
        snprintf(v, sizeof v, "%s", a->attr ? "none yet (m marks one)"
                                            : "detection off above 2,000,000 nodes (m marks by hand)");
    line(a, r, &y, "attractors ", v, theme_attr(THEME_dim));
    /* The rows that fit, their texts cut so that two different texts never look alike. */
    size_t rows = (size_t)(r.y + r.h - y) < nitems ? (size_t)(r.y + r.h - y) : nitems;
    const char *texts[16];
    size_t lens[16];
    int cols[16];
    attractor_cut cuts[16];
    unsigned fl = TEXT_NL_VISIBLE | a->tflags;
    for (size_t i = 0; i < rows; i++) {
        tree_node *m = tree_get(t, items[i].id);
        texts[i] = items[i].text ? items[i].text : m ? m->text : "";
        lens[i] = items[i].text ? strlen(items[i].text) : m ? m->text_len : 0;
        cols[i] = r.w - 2 - (int)text_width(items[i].label, strlen(items[i].label), fl);
    }
    attractor_cuts(texts, lens, cols, rows, fl, cuts);
    const char *ell = view_glyph(a, "\xe2\x80\xa6", ">");
    for (size_t i = 0; i < rows; i++, shown++) {
        int x = r.x;
        x += view_puts(a, y, x, 2, view_glyph(a, "\xe2\x97\x86 ", "@ "), theme_attr(THEME_attractor));
        if (items[i].label[0])
            x += view_puts(a, y, x, r.x + r.w - x, items[i].label, theme_attr(THEME_attractor));
        unsigned long ta = items[i].id == id ? theme_attr(THEME_cursor) : norm;
        const attractor_cut *c = &cuts[i];
        x += view_put(a, y, x, r.x + r.w - x, texts[i], c->head, ta, TEXT_NL_VISIBLE);
        if (c->head < lens[i] && c->head < c->tail)
            x += view_puts(a, y, x, r.x + r.w - x, ell, ta);
        if (c->tail_end > c->tail)
            x += view_put(a, y, x, r.x + r.w - x, texts[i] + c->tail, c->tail_end - c->tail, ta, TEXT_NL_VISIBLE);
        if (c->tail_end > c->tail ? c->tail_end < lens[i] : c->head < lens[i])
            view_puts(a, y, x, r.x + r.w - x, ell, ta);
        y++;
    }
}
