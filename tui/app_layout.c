/* tui/app_layout.c — where the panels go, zoom (Z), the side panels shown (v), focus.
 *
 * The rules, from 40x10 up (under that only a "too small" message is drawn):
 *  1. The last row is the status line; the body is every row above it.
 *  2. Zoom (Z): the focused panel fills the body; Tab / S-Tab move the focus, and the zoom
 *     with it, over the panels the layout would show; Z again goes back.
 *  3. The side panels are tokens and stats; v cycles what is shown: both, stats only,
 *     tokens only, neither.  A hidden panel's rows go to the text.
 *  4. Wide (>= 90 columns): the tree on the left (2/5 of the columns); right of it a column
 *     holding text, then tokens, then stats.  Tokens and stats sit side by side, in one
 *     band, only when each gets at least STATS_SIDE_COLS columns (every figure on one
 *     line); else they are stacked, full width.  Narrow: one column, the tree on top (a
 *     third of the body when a side panel is shown, else 2/5), then text, tokens, stats.
 *  5. Heights in a column of h rows: tokens 7 (5 under 17 rows), stats 10 (7 under 26
 *     rows: the title and six figure lines; alone, half the column but at least 10), the
 *     text the rest.  The text keeps at least
 *     TEXT_MIN rows: to make room the tokens go down to 5 rows, then the stats to 4 (they
 *     scroll), then the stats and then the tokens are left out (v and Z still show them).
 *  6. No panel cuts a number: the stats panel wraps a figure's line at its commas (then at
 *     spaces) and goes on under the value; it scrolls with the wheel when its lines
 *     outnumber its rows, its title saying which lines show ("lines 1-6 of 11"). */
#include "tui/app.h"
#include "tui/view.h"
#include <string.h>

#define WIDE_COLS 90
#define STATS_SIDE_COLS 64
#define TEXT_MIN 3

static int shows_tokens(const app *a) { return a->sides == APP_SIDES_BOTH || a->sides == APP_SIDES_TOKENS; }
static int shows_stats(const app *a) { return a->sides == APP_SIDES_BOTH || a->sides == APP_SIDES_STATS; }

/* Rows the side panels take from the column: stacked, or side by side in one band. */
static int used(int band, int k, int s)
{
    return band ? (k > s ? k : s) : k + s;
}

/* Rows of the tokens and stats panels in a column of h rows (rule 5). */
static void heights(int h, int tok, int st, int band, int *kh, int *sh)
{
    int k = tok ? (h >= 17 ? 7 : 5) : 0, s = st ? (h >= 26 ? 10 : 7) : 0;
    if (st && !tok)                       /* stats alone: up to half the column */
        s = h / 2 > 10 ? h / 2 : 10;
    if (h - used(band, k, s) < TEXT_MIN && k > 5)
        k = 5;
    if (h - used(band, k, s) < TEXT_MIN && s > 4) {
        s = band ? h - TEXT_MIN : h - k - TEXT_MIN;
        s = s < 4 ? 4 : s;
    }
    if (h - used(band, k, s) < TEXT_MIN)
        s = 0;
    if (h - used(band, k, s) < TEXT_MIN)
        k = 0;
    if (band && k && s)
        k = s = k > s ? k : s;
    *kh = k;
    *sh = s;
}

void app_layout(app *a)
{
    int rows = a->rows, cols = a->cols, body = rows - 1;
    a->too_small = cols < APP_MIN_COLS || rows < APP_MIN_ROWS;
    if (a->too_small)
        return;
    app_rect none = { 0, 0, 0, 0 };
    a->r_tokens = a->r_stats = none;
    int tok = shows_tokens(a), st = shows_stats(a), kh, sh;
    if (cols >= WIDE_COLS) {
        int tw = cols * 2 / 5;
        a->r_tree = (app_rect){ 0, 0, body, tw };
        int x = tw + 1, rw = cols - x;
        int band = tok && st && rw >= 2 * STATS_SIDE_COLS + 1;
        heights(body, tok, st, band, &kh, &sh);
        if (band && kh && sh) {
            a->r_tokens = (app_rect){ body - kh, x, kh, rw / 2 };
            a->r_stats = (app_rect){ body - sh, x + rw / 2 + 1, sh, rw - rw / 2 - 1 };
            a->r_text = (app_rect){ 0, x, body - kh, rw };
        } else {
            if (kh)
                a->r_tokens = (app_rect){ body - kh - sh, x, kh, rw };
            if (sh)
                a->r_stats = (app_rect){ body - sh, x, sh, rw };
            a->r_text = (app_rect){ 0, x, body - kh - sh, rw };
        }
    } else {
        int treeh = tok || st ? body / 3 : body * 2 / 5;
        treeh = treeh < 4 ? 4 : treeh;
        int h = body - treeh;
        heights(h, tok, st, 0, &kh, &sh);
        a->r_tree = (app_rect){ 0, 0, treeh, cols };
        a->r_text = (app_rect){ treeh, 0, h - kh - sh, cols };
        if (kh)
            a->r_tokens = (app_rect){ body - kh - sh, 0, kh, cols };
        if (sh)
            a->r_stats = (app_rect){ body - sh, 0, sh, cols };
    }
    app_rect *rs[APP_NPANELS] = { &a->r_tree, &a->r_text, &a->r_tokens, &a->r_stats };
    a->shown = 0;
    for (int p = 0; p < APP_NPANELS; p++)
        if (rs[p]->h > 0)
            a->shown |= 1u << p;
    if (!(a->shown & (1u << a->focus)))
        a->focus = APP_PANEL_TREE;
    if (a->zoom) {
        for (int p = 0; p < APP_NPANELS; p++)
            *rs[p] = none;
        *rs[a->focus] = (app_rect){ 0, 0, body, cols };
    }
    for (int p = 0; p < APP_NPANELS; p++)  /* each panel hears of its new place */
        if (view_panels[p]->resize)
            view_panels[p]->resize(a, *rs[p]);
}

unsigned app_zoom(app *a)
{
    a->zoom = !a->zoom;
    app_layout(a);
    if (a->zoom)
        app_message(a, 0, "zoom: the %s panel (Tab zooms the next one, Z goes back)", view_panels[a->focus]->name);
    else
        app_message(a, 0, "zoom off");
    return APP_CH_DRAW;
}

unsigned app_sides_cycle(app *a)
{
    static const char *const what[APP_NSIDES] = {
        "tokens and stats panels", "the stats panel only", "the tokens panel only", "no side panels",
    };
    a->sides = (app_sides)((a->sides + 1) % APP_NSIDES);
    a->zoom = 0;
    app_layout(a);
    int fits = (!shows_tokens(a) || a->shown & (1u << APP_PANEL_TOKENS)) &&
               (!shows_stats(a) || a->shown & (1u << APP_PANEL_STATS));
    if (fits)
        app_message(a, 0, "showing %s (v for the next choice)", what[a->sides]);
    else
        app_message(a, 0, "showing %s: no room for them here (Z zooms the focused panel)", what[a->sides]);
    return APP_CH_DRAW;
}

unsigned app_focus_step(app *a, int dir)
{
    int p = a->focus;
    for (int i = 0; i < APP_NPANELS; i++) {
        p = (p + APP_NPANELS + (dir > 0 ? 1 : -1)) % APP_NPANELS;
        if (a->shown & (1u << p))
            break;
    }
    a->focus = (app_panel)p;
    if (a->zoom)
        app_layout(a);
    return APP_CH_DRAW;
}
