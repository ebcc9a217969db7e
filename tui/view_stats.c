/* tui/view_stats.c — the stats panel: the cursor node's figures (entropy, finish reason,
 * model, perplexity), its branch entropy over merged child groups, and the attractors.
 *
 * Numbers are never cut: a figure's line wraps at its commas (else at spaces) and goes on
 * under the value (or, in a very narrow panel, under the label).  The panel lays out all
 * its lines and shows those from its scroll on (the wheel scrolls); the title says which
 * when not all fit.  Rows naming an attractor or a node leave a link for a click to
 * follow.  That view state is the panel's own (struct stats_view, a->stats). */
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

#define VALUE_MIN 16    /* narrower than this, a value starts on the line under its label */
#define FIG_LINES 8     /* the most lines one figure wraps into */

/* What a row of the panel leads to when clicked. */
typedef enum { LINK_NONE, LINK_NODE, LINK_ATTRACTOR } link_kind;
typedef struct { link_kind kind; int32_t v; } stats_link;   /* v: a node id, a list index */
#define STATS_ROWS 256     /* rows of the panel that can be clicked */

/* The panel's private state (a->stats; made at its first use, freed by its ops): its
 * first line shown, where each row leads, and its calibration line as of tree_gen
 * calib_gen (the figures change only with the tree). */
struct stats_view {
    int          scroll;
    stats_link   link[STATS_ROWS];
    int32_t      calib_id;
    unsigned long calib_gen;
    int          calib_shown, calib_flag;
    char         calib_text[256];
};

static struct stats_view *sv(app *a)
{
    if (!a->stats) {
        a->stats = xcalloc(1, sizeof *a->stats);
        a->stats->calib_id = TREE_NONE;
    }
    return a->stats;
}

void view_stats_forget(app *a)
{
    sv(a)->calib_id = TREE_NONE;
}

/* Lines are laid out at a virtual y (the panel's first content row minus the scroll);
 * only those inside the panel, below its title, are drawn. */
static int shown_row(app_rect r, int y)
{
    return y > r.y && y < r.y + r.h;
}

static void link_row(app *a, app_rect r, int y, link_kind kind, int32_t v)
{
    if (shown_row(r, y) && y - r.y < STATS_ROWS)
        a->stats->link[y - r.y] = (stats_link){ kind, v };
}

/* Splits s into lines of at most w columns: after a ", " where it can (a figure such as
 * "logprob -75.12" stays whole), else at spaces (text_wrap).  Returns the count (<= max). */
static size_t figure_split(const char *s, size_t len, int w, unsigned fl, text_line *out, size_t max)
{
    size_t n = 0, pos = 0;
    while (pos < len && n < max) {
        size_t fit = 0;                   /* the longest run of whole pieces that fits */
        for (size_t i = pos; i <= len; i++) {
            int boundary = i == len || (i >= pos + 2 && s[i - 1] == ' ' && s[i - 2] == ',');
            if (!boundary)
                continue;
            size_t end = i < len ? i - 1 : len;   /* the space after the comma is not drawn */
            if ((int)text_width(s + pos, end - pos, fl) > w)
                break;
            fit = i;
        }
        if (fit > pos) {
            out[n++] = (text_line){ pos, fit < len ? fit - 1 : len };
            pos = fit;
            continue;
        }
        size_t piece = pos;               /* the first piece is too wide: wrap it at spaces */
        while (piece < len && !(piece >= pos + 2 && s[piece - 1] == ' ' && s[piece - 2] == ','))
            piece++;
        text_line wl[2];
        text_wrap(s + pos, piece - pos, w, 8, fl, wl, 2);
        size_t e = pos + wl[0].end, next = pos + wl[0].end;
        while (next < len && s[next] == ' ')
            next++;
        out[n++] = (text_line){ pos, e };
        if (next == pos)                  /* nothing fitted: never loop */
            next = pos + 1;
        pos = next;
    }
    return n;
}

/* label, then value over as many lines as it needs (see figure_split). */
static int line(app *a, app_rect r, int *y, const char *label, const char *value, unsigned long attr)
{
    unsigned fl = TEXT_NL_VISIBLE | a->tflags;
    int lw = (int)text_width(label, strlen(label), fl), x = r.x + lw, w = r.w - lw;
    if (w < VALUE_MIN) {                  /* the label alone, the value under it */
        if (shown_row(r, *y))
            view_puts(a, *y, r.x, r.w, label, theme_attr(THEME_dim));
        (*y)++;
        x = r.x + 2;
        w = r.w - 2;
        lw = -1;
    }
    if (w < 1)
        return 0;
    text_line ls[FIG_LINES];
    size_t n = figure_split(value, strlen(value), w, fl, ls, FIG_LINES);
    for (size_t i = 0; i < n; i++, (*y)++) {
        if (!shown_row(r, *y))
            continue;
        if (i == 0 && lw >= 0)
            view_puts(a, *y, r.x, r.w, label, theme_attr(THEME_dim));
        view_put(a, *y, x, w, value + ls[i].start, ls[i].end - ls[i].start, attr, TEXT_NL_VISIBLE);
    }
    return 1;
}

/* label, then value wrapped over at most maxl lines (never cut mid-line). */
static void wrapped(app *a, app_rect r, int *y, const char *label, const char *value, unsigned long attr, size_t maxl)
{
    int x = r.x + (int)text_width(label, strlen(label), TEXT_NL_VISIBLE | a->tflags);
    if (shown_row(r, *y))
        view_puts(a, *y, r.x, r.w, label, theme_attr(THEME_dim));
    text_line wl[4];
    if (maxl > 4)
        maxl = 4;
    size_t nl = r.x + r.w - x < 4 ? 0 : text_wrap(value, strlen(value), r.x + r.w - x, 8, TEXT_NL_VISIBLE, wl, maxl);
    if (!nl)
        (*y)++;
    for (size_t i = 0; i < nl && i < maxl; i++, (*y)++)
        if (shown_row(r, *y))
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
    /* the figures change only with the tree: kept from the frame before until it changes
     * (children with full distributions cost milliseconds) */
    if (a->stats->calib_id == id && a->stats->calib_gen == a->tree_gen) {
        if (a->stats->calib_shown)
            wrapped(a, r, y, "calib    ", a->stats->calib_text, a->stats->calib_flag ? theme_attr(THEME_incomplete) : theme_attr(THEME_entropy), 2);
        return;
    }
    a->stats->calib_id = id;
    a->stats->calib_gen = a->tree_gen;
    a->stats->calib_shown = 0;
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
    a->stats->calib_shown = 1;
    a->stats->calib_flag = entries <= 200000 && c.flag;
    snprintf(a->stats->calib_text, sizeof a->stats->calib_text, "%s", v);
    wrapped(a, r, y, "calib    ", v, a->stats->calib_flag ? theme_attr(THEME_incomplete) : theme_attr(THEME_entropy), 2);
}

/* Lays out every line from row r.y + 1 - scroll, draws those inside r; returns the count. */
static int draw(app *a, app_rect r, int scroll)
{
    tree *t = a->ses.t;
    int32_t id = a->ses.cursor;
    tree_node *n = tree_get(t, id);
    if (!n)
        return 0;
    int y0 = r.y + 1 - scroll, y = y0;
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
            int y1 = y;
            wrapped(a, r, &y, "side     ", sv, norm, 2);
            for (; y1 < y; y1++)        /* a click goes to the side's label node */
                link_row(a, r, y1, LINK_NODE, p);
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
    entropy_cache_interval(view_tree_entropies(a), t, id, n->vocab ? n->vocab : vset, &ni);
    if (ni.ntokens && !isnan(ni.lower)) {
        char hs[80];
        entropy_format(hs, sizeof hs, ni.lower, ni.upper, ni.exact, a->utf8);
        snprintf(v, sizeof v, "%s per token", hs);
    } else
        snprintf(v, sizeof v, "unknown (no logprobs)");
    line(a, r, &y, "entropy  ", v, theme_attr(THEME_entropy));
    /* The children's node entropies, averaged: an interval too.  The line is there for every
     * node, so the attractor rows below stay on their rows as the cursor moves (a click on
     * one, then another, lands where the first showed them). */
    snprintf(v, sizeof v, n->nchildren ? "unknown (no logprobs)" : "none");
    if (n->nchildren) {
        double lo = 0, hi = 0;
        int cnt = 0, hi_known = 1, exact = 1;
        for (uint32_t c = 0; c < n->nchildren; c++) {
            const tree_node *ch = tree_get(t, n->children[c]);
            if (!ch)
                continue;
            entropy_cache_interval(view_tree_entropies(a), t, n->children[c], ch->vocab ? ch->vocab : vset, &ni);
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
        }
    }
    line(a, r, &y, "children ", v, theme_attr(THEME_entropy));
    if (n->nchildren > VIEW_GROUP_AT_ONCE && a->an.merge && !merge_group_step(a->an.merge, id, VIEW_GROUP_AT_ONCE)) {
        /* a huge fan-out is grouped a slice at a time between keys (app.c): no frame waits */
        a->an.group_pending = id;
        snprintf(v, sizeof v, "grouping %u children…", n->nchildren);
    } else if (n->nchildren && a->an.merge) {
        double norm_h;
        double hb = merge_branch_entropy(a->an.merge, id, &norm_h);
        merge_group *g;
        size_t ng = merge_groups(a->an.merge, id, &g);
        free(g);
        snprintf(v, sizeof v, "%.2f bits, %zu group%s of %u (norm %.2f)", hb, ng, ng == 1 ? "" : "s",
                 n->nchildren, norm_h);
    } else {
        snprintf(v, sizeof v, "no children");
    }
    line(a, r, &y, "branch   ", v, theme_attr(THEME_entropy));
    calib_line(a, r, &y, id);
    /* Attractors: detected ones (best first) and those marked by hand. */
    size_t shown = 0;
    app_attractor_item items[16];
    size_t nitems = app_attractor_items(a, items, 16);
    size_t pending = a->an.attr ? attractor_pending(a->an.attr) : 0;
    size_t marked = 0;
    for (size_t i = 0; i < a->an.nmarked; i++) {
        tree_node *m = tree_get(a->ses.t, a->an.marked[i]);
        marked += m && (m->marks & TREE_MARK_ATTRACTOR);
    }
    if (nitems)
        snprintf(v, sizeof v, "%zu (A next)%s", a->an.total + marked, pending ? ", updating" : "");
    else if (pending)
        snprintf(v, sizeof v, "indexing, %zu nodes to go (m marks one)", pending);
    else
        snprintf(v, sizeof v, "%s", a->an.attr ? "none yet (m marks one)"
                                            : "detection off above 2,000,000 nodes (m marks by hand)");
    line(a, r, &y, "attractors ", v, theme_attr(THEME_dim));
    /* One row each (two when the label leaves no room for the text), the texts cut so that
     * two different texts never look alike; a click on a row goes to that attractor. */
    size_t rows = nitems;
    const char *texts[16];
    size_t lens[16];
    int cols[16];
    attractor_cut cuts[16];
    char labs[16][sizeof items[0].label + sizeof items[0].note];
    unsigned fl = TEXT_NL_VISIBLE | a->tflags;
    for (size_t i = 0; i < rows; i++) {
        tree_node *m = tree_get(t, items[i].id);
        texts[i] = items[i].text ? items[i].text : m ? m->text : "";
        lens[i] = items[i].text ? strlen(items[i].text) : m ? m->text_len : 0;
        /* a phrase's chance figures where they leave the text 24 columns */
        int lw = (int)text_width(items[i].label, strlen(items[i].label), fl);
        int nw = (int)text_width(items[i].note, strlen(items[i].note), fl);
        snprintf(labs[i], sizeof labs[i], "%s%s", items[i].label, r.w - 2 - lw - nw >= 24 ? items[i].note : "");
        cols[i] = r.w - 2 - (int)text_width(labs[i], strlen(labs[i]), fl);
        if (cols[i] < 8)                  /* the text goes on the next row */
            cols[i] = r.w - 2;
    }
    attractor_cuts(texts, lens, cols, rows, fl, cuts);
    const char *ell = view_glyph(a, "\xe2\x80\xa6", ">");
    for (size_t i = 0; i < rows; i++, shown++) {
        int x = r.x, vis = shown_row(r, y);
        link_row(a, r, y, LINK_ATTRACTOR, (int32_t)i);
        if (vis)
            x += view_puts(a, y, x, 2, view_glyph(a, "\xe2\x97\x86 ", "@ "), theme_attr(THEME_attractor));
        else
            x += 2;
        if (labs[i][0]) {
            int lw = (int)text_width(labs[i], strlen(labs[i]), fl);
            if (vis)
                view_puts(a, y, x, r.x + r.w - x, labs[i], theme_attr(THEME_attractor));
            x += lw;
            if (cols[i] == r.w - 2 && lw > 0) {   /* its text on a row of its own */
                x = r.x + 2;
                y++;
                vis = shown_row(r, y);
                link_row(a, r, y, LINK_ATTRACTOR, (int32_t)i);
            }
        }
        if (vis) {
            unsigned long ta = items[i].id == id ? theme_attr(THEME_cursor) : norm;
            const attractor_cut *c = &cuts[i];
            x += view_put(a, y, x, r.x + r.w - x, texts[i], c->head, ta, TEXT_NL_VISIBLE);
            if (c->head < lens[i] && c->head < c->tail)
                x += view_puts(a, y, x, r.x + r.w - x, ell, ta);
            if (c->tail_end > c->tail)
                x += view_put(a, y, x, r.x + r.w - x, texts[i] + c->tail, c->tail_end - c->tail, ta, TEXT_NL_VISIBLE);
            if (c->tail_end > c->tail ? c->tail_end < lens[i] : c->head < lens[i])
                view_puts(a, y, x, r.x + r.w - x, ell, ta);
        }
        y++;
    }
    return y - y0;
}

void view_stats(app *a, app_rect r)
{
    sv(a);
    for (int k = 0; k < STATS_ROWS; k++)
        a->stats->link[k] = (stats_link){ LINK_NONE, 0 };
    if (r.h < 2) {
        view_title(a, r, "Stats", "", a->focus == APP_PANEL_STATS);
        return;
    }
    int rows = r.h - 1, total = draw(a, r, a->stats->scroll);
    int top = total > rows ? total - rows : 0;
    if (a->stats->scroll > top) {          /* scrolled past the end (the lines changed) */
        a->stats->scroll = top;
        for (int y = r.y + 1; y < r.y + r.h; y++)
            view_fill(y, r.x, r.w, A_NORMAL);
        for (int k = 0; k < STATS_ROWS; k++)
            a->stats->link[k] = (stats_link){ LINK_NONE, 0 };
        total = draw(a, r, a->stats->scroll);
    }
    char detail[80] = "";
    if (total > rows) {
        int last = a->stats->scroll + rows < total ? a->stats->scroll + rows : total;
        snprintf(detail, sizeof detail, "lines %d-%d of %d (wheel scrolls, Z zooms)", a->stats->scroll + 1, last, total);
    }
    view_title(a, r, "Stats", detail, a->focus == APP_PANEL_STATS);
}

/* ---- the panel's ops (view.h) ------------------------------------------------------- */

/* The wheel scrolls (the drawing clamps the end); a click on a row naming an attractor or
 * a node goes there. */
static unsigned stats_mouse(app *a, app_rect r, int y, int x, int wheel)
{
    (void)x;
    sv(a);
    if (wheel) {
        a->stats->scroll = a->stats->scroll + 3 * wheel < 0 ? 0 : a->stats->scroll + 3 * wheel;
        return APP_CH_DRAW;
    }
    int k = y - r.y;
    stats_link l = k >= 0 && k < STATS_ROWS ? a->stats->link[k] : (stats_link){ LINK_NONE, 0 };
    if (l.kind == LINK_ATTRACTOR)
        return app_attractor_pick(a, (size_t)l.v) | APP_CH_DRAW;
    if (l.kind == LINK_NODE && tree_get(a->ses.t, l.v))
        return app_goto(a, l.v) | APP_CH_DRAW;
    return APP_CH_DRAW;
}

static void stats_free(app *a)
{
    free(a->stats);
    a->stats = NULL;
}

const panel_ops view_stats_ops = { "stats", view_stats, NULL, stats_mouse, NULL, stats_free };
