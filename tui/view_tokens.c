/* tui/view_tokens.c — the tokens panel: the selected token of the cursor node, its
 * probability and entropy, and its top-k alternatives as bars. */
#include "tui/view.h"
#include "core/entropy.h"
#include "core/mem.h"
#include "core/text.h"
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const eighths[8] = {
    "", "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d", "\xe2\x96\x8c", "\xe2\x96\x8b",
    "\xe2\x96\x8a", "\xe2\x96\x89",
};

/* The panel's private state (a->tokens; made at its first use, freed by its ops).  All
 * zero is the first token of node 0, its first alternative. */
struct tokens_view {
    int     tok_sel;    /* selected token of the cursor node */
    int     alt_sel;    /* selected alternative of that token */
    int     alt_top;    /* first alternative shown (the list scrolls to alt_sel) */
    int32_t tok_node;   /* node tok_sel refers to */
};

static struct tokens_view *tkv(app *a)
{
    if (!a->tokens)
        a->tokens = xcalloc(1, sizeof *a->tokens);
    return a->tokens;
}

int view_tokens_token(const app *a, int32_t *node)
{
    *node = a->tokens ? a->tokens->tok_node : 0;
    return a->tokens ? a->tokens->tok_sel : 0;
}

void view_tokens_selection(const app *a, int *tok, int *alt)
{
    *tok = a->tokens ? a->tokens->tok_sel : 0;
    *alt = a->tokens ? a->tokens->alt_sel : 0;
}

void view_tokens_goto(app *a, int32_t id)
{
    struct tokens_view *v = tkv(a);
    v->tok_sel = 0;
    v->alt_sel = 0;
    v->tok_node = id;
}

void view_tokens_first(app *a)
{
    tkv(a)->tok_sel = 0;
}

unsigned view_tokens_move(app *a, int d)
{
    tree_node *n = tree_get(a->ses.t, a->ses.cursor);
    if (!n || !n->ntokens)
        return 0;
    struct tokens_view *v = tkv(a);
    int s = v->tok_sel + d;
    if (s < 0 || s >= (int)n->ntokens)
        return 0;
    v->tok_sel = s;
    v->tok_node = a->ses.cursor;
    v->alt_sel = 0;
    return APP_CH_DRAW;
}

unsigned view_tokens_move_alt(app *a, int d)
{
    tree_node *n = tree_get(a->ses.t, a->ses.cursor);
    struct tokens_view *v = tkv(a);
    if (!n || v->tok_sel >= (int)n->ntokens)
        return 0;
    int s = v->alt_sel + d;
    if (s < 0 || s >= (int)n->tokens[v->tok_sel].ntop)
        return 0;
    v->alt_sel = s;
    return APP_CH_DRAW;
}

static void bar(app *a, int y, int x, int w, double p, unsigned long attr)
{
    if (w <= 0)
        return;
    if (p < 0)
        p = 0;
    if (p > 1)
        p = 1;
    int units = (int)(p * w * 8 + 0.5);
    move(y, x);
    attrset((attr_t)attr);
    int col = 0;
    for (; col < w && units >= 8; col++, units -= 8)
        addstr(a->utf8 ? "\xe2\x96\x88" : "#");
    if (col < w && units > 0) {
        addstr(a->utf8 ? eighths[units] : (units >= 4 ? "#" : "."));
        col++;
    }
    attrset(A_NORMAL);
}

/* "'text'" with quotes, control characters as placeholders. */
static int quoted(app *a, int y, int x, int w, const char *s, size_t len, unsigned long attr)
{
    if (w < 3)
        return 0;
    int used = view_puts(a, y, x, 1, "'", attr);
    used += view_put(a, y, x + used, w - 2, s, len, attr, TEXT_NL_VISIBLE | TEXT_HEX_BYTES);
    used += view_puts(a, y, x + used, 1, "'", attr);
    return used;
}

void view_tokens(app *a, app_rect r)
{
    struct tokens_view *v = tkv(a);
    tree_node *n = tree_get(a->ses.t, a->ses.cursor);
    int focused = a->focus == APP_PANEL_TOKENS;
    char detail[64] = "";
    if (n && n->ntokens)
        snprintf(detail, sizeof detail, "%d/%u%s", v->tok_sel + 1, n->ntokens,
                 focused ? "  \xe2\x86\x90\xe2\x86\x92 token  \xe2\x86\x91\xe2\x86\x93 alt  Enter branch" : "");
    if (!a->utf8 && focused && n && n->ntokens)
        snprintf(detail, sizeof detail, "%d/%u  <-/-> token  up/down alt  Enter branch", v->tok_sel + 1, n->ntokens);
    view_title(a, r, "Tokens", detail, focused);
    int h = r.h - 1, y = r.y + 1;
    if (h <= 0 || !n)
        return;
    unsigned long norm = theme_attr(THEME_normal), dim = theme_attr(THEME_dim);
    if (!n->ntokens) {
        view_puts(a, y, r.x, r.w, n->origin == TREE_ORIGIN_PROMPT ? "the prompt has no token probabilities"
                                  : n->origin == TREE_ORIGIN_EDIT ? "edited by hand: no token probabilities"
                                  : n->text_len ? "no token probabilities for this node"
                                  : "no tokens yet", dim);
        return;
    }
    int sel = v->tok_sel < 0 ? 0 : v->tok_sel >= (int)n->ntokens ? (int)n->ntokens - 1 : v->tok_sel;
    tree_token *tk = &n->tokens[sel];
    size_t tl;
    const char *ts = tree_token_text(n, (uint32_t)sel, &tl);
    int x = r.x;
    x += quoted(a, y, x, r.w / 2, ts, tl, theme_attr(THEME_token_sel));
    char tmp[128];
    double lp = tk->tok.logprob;
    if (isnan(lp))
        snprintf(tmp, sizeof tmp, "  p unknown");
    else
        snprintf(tmp, sizeof tmp, "  p %.1f%%  logprob %.2f", 100 * exp(lp), lp);
    x += view_puts(a, y, x, r.x + r.w - x, tmp, theme_attr((theme_slot)view_heat_slot(lp)));
    double lr = view_logratio(a, a->ses.cursor, n, (uint32_t)sel);
    const char *ref = a->ses.settings.reference_model;
    if (!isnan(lr)) {                      /* scored against the reference, or by compare */
        snprintf(tmp, sizeof tmp, "  log-ratio to %s %+.2f", ref && *ref ? ref : "the other side", lr);
        view_puts(a, y, x, r.x + r.w - x, tmp, theme_attr((theme_slot)view_logratio_slot(lr)));
    }
    if (--h <= 0)
        return;
    y++;
    double left;
    double hbits = entropy_token(n, (uint32_t)sel, &left);
    entropy_interval iv;
    uint32_t vocab = n->vocab ? n->vocab : (uint32_t)(a->ses.settings.vocab_size > 0 ? a->ses.settings.vocab_size : 0);
    entropy_token_interval(n, (uint32_t)sel, vocab, &iv);
    char hs[80];
    entropy_format(hs, sizeof hs, iv.lower, iv.upper, iv.exact, a->utf8);
    if (isnan(hbits))
        snprintf(tmp, sizeof tmp, "entropy unknown (no alternatives)");
    else if (iv.exact)
        snprintf(tmp, sizeof tmp, "entropy %s", hs);
    else if (left < ENTROPY_EXACT_EPS)   /* sums to 1, yet only the top-k (e.g. llama.cpp) */
        snprintf(tmp, sizeof tmp, "entropy %s (top-k only)", hs);
    else
        snprintf(tmp, sizeof tmp, "entropy %s (%.0f%% unseen)", hs, 100 * left);
    view_puts(a, y, r.x, r.w, tmp, dim);
    y++;
    h--;
    /* Alternatives: marker, text, bar, percent.  A full distribution is longer than the
     * panel: the rows scroll so that the chosen one is shown (only the shown rows are
     * drawn; "(others)" is the mass of every alternative not shown and of the unseen). */
    int tw = r.w / 3 < 18 ? r.w / 3 : 18;
    double sum = 0;
    uint32_t first = 0;
    if (focused && h > 0 && tk->ntop > (uint32_t)h) {
        int top = v->alt_top < 0 ? 0 : v->alt_top;
        if (v->alt_sel < top)
            top = v->alt_sel;
        else if (v->alt_sel >= top + h)
            top = v->alt_sel - h + 1;
        if (top > (int)tk->ntop - h)
            top = (int)tk->ntop - h;
        v->alt_top = top < 0 ? 0 : top;
        first = (uint32_t)v->alt_top;
    } else
        v->alt_top = 0;
    for (uint32_t j = first; j < tk->ntop && h > 0; j++, h--, y++) {
        size_t al;
        const char *as = tree_top_text(n, (uint32_t)sel, j, &al);
        double alp = tree_top_logprob(n, (uint32_t)sel, j);
        double p = isnan(alp) ? 0 : exp(alp);
        sum += p;
        int chosen = focused && (int)j == v->alt_sel;
        int sampled = al == tl && !memcmp(as, ts, tl);
        unsigned long at = chosen ? theme_attr(THEME_cursor) : norm;
        if (chosen)
            view_fill(y, r.x, r.w, at);
        x = r.x;
        x += view_puts(a, y, x, 2, chosen ? view_glyph(a, "\xe2\x96\xb6 ", "> ") : sampled ? view_glyph(a, "\xe2\x80\xa2 ", "* ") : "  ", at);
        quoted(a, y, x, tw, as, al, at);
        x += tw + 1;
        int pw = 7;
        int bw = r.x + r.w - x - pw;
        bar(a, y, x, bw, p, chosen ? at : theme_attr(THEME_bar));
        snprintf(tmp, sizeof tmp, "%6.1f%%", 100 * p);
        view_puts(a, y, r.x + r.w - pw, pw, tmp, at);
    }
    if (h > 0 && tk->ntop && sum < 0.999) {
        x = r.x + 2;
        view_puts(a, y, x, tw, "(others)", dim);
        x += tw + 1;
        bar(a, y, x, r.x + r.w - x - 7, 1 - sum, dim);
        snprintf(tmp, sizeof tmp, "%6.1f%%", 100 * (1 - sum));
        view_puts(a, y, r.x + r.w - 7, 7, tmp, dim);
    }
}

/* ---- the panel's ops (view.h) ------------------------------------------------------- */

/* A click on an alternative chooses it. */
static unsigned tokens_mouse(app *a, app_rect r, int y, int x, int wheel)
{
    (void)x;
    if (wheel)
        return APP_CH_DRAW;
    struct tokens_view *v = tkv(a);
    tree_node *n = tree_get(a->ses.t, a->ses.cursor);
    int row = y - (r.y + 3);
    if (row >= 0)
        row += v->alt_top;                 /* the list may be scrolled */
    if (n && v->tok_sel < (int)n->ntokens && row >= 0 && row < (int)n->tokens[v->tok_sel].ntop)
        v->alt_sel = row;
    return APP_CH_DRAW;
}

static void tokens_free(app *a)
{
    free(a->tokens);
    a->tokens = NULL;
}

const panel_ops view_tokens_ops = { "tokens", view_tokens, NULL, tokens_mouse, NULL, tokens_free };
