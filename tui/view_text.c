/* tui/view_text.c — the text panel: the text root→cursor, wrapped by display columns, the
 * current node's tokens tinted by probability (or, with D, by their log-ratio to the other
 * side of a comparison: hot = much likelier under this node's model).  Only as much of the path as the panel can
 * show (plus the scroll) is gathered, walking up from the cursor, so a deep path costs
 * what is visible. */
#include "tui/view.h"
#include "core/mem.h"
#include "core/text.h"
#include <curses.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

typedef struct {
    size_t        start;
    unsigned long attr;
} span;

/* The panel's private state (a->text; made at its first use, freed by its ops). */
struct text_view {
    int scroll;           /* lines up from the bottom */
    int tint_logratio;    /* D: tokens tinted by log-ratio, not probability */
};

static struct text_view *tv(app *a)
{
    if (!a->text)
        a->text = xcalloc(1, sizeof *a->text);
    return a->text;
}

int view_text_tint_logratio(const app *a) { return a->text && a->text->tint_logratio; }

int view_text_tint_toggle(app *a)
{
    struct text_view *v = tv(a);
    v->tint_logratio = !v->tint_logratio;
    return v->tint_logratio;
}

unsigned view_text_scroll(app *a, int n)
{
    struct text_view *v = tv(a);
    v->scroll = v->scroll + n < 0 ? 0 : v->scroll + n;    /* the draw clamps the top */
    return APP_CH_DRAW;
}

void view_text_scroll_end(app *a)
{
    if (a->text)
        a->text->scroll = 0;
}

int view_heat_slot(double lp)
{
    if (isnan(lp))
        return THEME_current;
    double p = exp(lp);
    return p < 0.10 ? THEME_heat1 : p < 0.35 ? THEME_heat2 : p < 0.65 ? THEME_heat3
         : p < 0.90 ? THEME_heat4 : THEME_heat5;
}

double view_logratio(const app *a, int32_t id, const tree_node *n, uint32_t k)
{
    const char *ref = a->ses.settings.reference_model;
    if (ref && *ref)
        return app_ref_logratio(a, id, k);
    json_t *lr = n->extra ? json_object_get(n->extra, "logratio") : NULL;
    if (json_array_size(lr) != n->ntokens || !json_is_number(json_array_get(lr, k)))
        return NAN;
    return json_number_value(json_array_get(lr, k));
}

int view_logratio_slot(double lr)
{
    if (isnan(lr))
        return THEME_current;
    return lr < -2 ? THEME_heat1 : lr < -0.5 ? THEME_heat2 : lr < 0.5 ? THEME_heat3
         : lr < 2 ? THEME_heat4 : THEME_heat5;
}

static void add_span(span **sp, size_t *n, size_t *cap, size_t start, unsigned long attr)
{
    xgrow(sp, cap, *n + 1, sizeof **sp);
    (*sp)[(*n)++] = (span){ start, attr };
}

void view_text(app *a, app_rect r)
{
    struct text_view *v = tv(a);
    int32_t tok_node;
    int tok_sel = view_tokens_token(a, &tok_node);
    tree *t = a->ses.t;
    int h = r.h - 1, w = r.w;
    char detail[160];
    const char *ref = a->ses.settings.reference_model;
    snprintf(detail, sizeof detail, "depth %d%s%s", (int)view_tree_cursor_depth(a),
             !v->tint_logratio ? "" : ref && *ref ? ", tint: log-ratio to " : ", tint: log-ratio to the other side (D)",
             v->tint_logratio && ref && *ref ? ref : "");
    view_title(a, r, "Text", detail, a->focus == APP_PANEL_TEXT);
    if (h <= 0 || w <= 0)
        return;
    /* Gather nodes upward until there is enough text for the panel and the scroll. */
    size_t budget = (size_t)(h + v->scroll + 2) * (size_t)w * 4 + 256;
    int32_t *ids = NULL;
    size_t nids = 0, capids = 0, total = 0;
    for (int32_t id = a->ses.cursor; id != TREE_NONE; id = tree_parent(t, id)) {
        xgrow(&ids, &capids, nids + 1, sizeof *ids);
        ids[nids++] = id;
        total += tree_get(t, id)->text_len;
        if (total >= budget)
            break;
    }
    buf text = {0};
    span *sp = NULL;
    size_t nsp = 0, capsp = 0;
    /* Phrase attractors inside the current node, underlined (only from a fresh index:
     * asking a stale one would run the analysis inside the frame). */
    attractor_span *ph = NULL;
    size_t nph = 0, ph_base = 0, ph_skip = 0;
    if (a->an.attr && !a->an.dirty)
        nph = attractor_spans(a->an.attr, a->ses.cursor, &ph);
    for (size_t i = nids; i-- > 0;) {
        tree_node *n = tree_get(t, ids[i]);
        const char *s = n->text;
        size_t len = n->text_len, skip = 0;
        if (i == nids - 1 && total > budget && len > budget) {   /* a huge first node: its tail */
            skip = len - budget;
            while (skip < len && ((unsigned char)s[skip] & 0xC0) == 0x80)
                skip++;
        }
        size_t base = text.len;
        if (i == 0) {
            ph_base = base;
            ph_skip = skip;
        }
        if (n->parent == TREE_NONE)
            add_span(&sp, &nsp, &capsp, base, theme_attr(THEME_prompt));
        else if (i > 0)
            add_span(&sp, &nsp, &capsp, base, theme_attr(THEME_text));
        else {
            /* The current node: one span per token when the tokens spell the text. */
            size_t sum = 0;
            for (uint32_t k = 0; k < n->ntokens; k++)
                sum += n->tokens[k].tok.len;
            if (n->ntokens && sum == len && !skip) {
                size_t off = base;
                for (uint32_t k = 0; k < n->ntokens; k++) {
                    int slot = v->tint_logratio ? view_logratio_slot(view_logratio(a, ids[i], n, k))
                                                : view_heat_slot(n->tokens[k].tok.logprob);
                    unsigned long at = theme_attr((theme_slot)slot);
                    if ((int)k == tok_sel && tok_node == ids[i])
                        at = theme_attr(THEME_token_sel);
                    add_span(&sp, &nsp, &capsp, off, at);
                    off += n->tokens[k].tok.len;
                }
            } else {
                add_span(&sp, &nsp, &capsp, base, theme_attr(THEME_current));
            }
        }
        /* A character cut in two by the stream waits for its other half. */
        size_t shown = i == 0 && app_is_streaming(a, ids[i]) ? skip + text_complete_prefix(s + skip, len - skip) : len;
        buf_add(&text, s + skip, shown - skip);
    }
    free(ids);
    if (!text.data)
        buf_adds(&text, "");
    size_t nl = text_wrap(text.data, text.len, w, 4, a->tflags, NULL, 0);
    text_line *lines = xmalloc((nl ? nl : 1) * sizeof *lines);
    text_wrap(text.data, text.len, w, 4, a->tflags, lines, nl);
    if (v->scroll > (int)nl - h)
        v->scroll = (int)nl - h > 0 ? (int)nl - h : 0;
    size_t first = nl > (size_t)(h + v->scroll) ? nl - (size_t)(h + v->scroll) : 0;
    size_t si = 0;
    for (int row = 0; row < h && first + (size_t)row < nl; row++) {
        text_line *ln = &lines[first + (size_t)row];
        int col = 0;
        move(r.y + 1 + row, r.x);
        text_cell c;
        for (size_t off = ln->start; off < ln->end && col < w;) {
            off = text_cell_next(text.data, text.len, off, a->tflags, &c);
            if (c.kind == TEXT_CELL_NEWLINE)
                break;
            while (si + 1 < nsp && sp[si + 1].start <= c.off)
                si++;
            while (si > 0 && sp[si].start > c.off)
                si--;
            unsigned long at = nsp ? sp[si].attr : theme_attr(THEME_text);
            for (size_t k = 0; k < nph; k++)
                if (c.off + ph_skip >= ph_base + ph[k].start && c.off + ph_skip < ph_base + ph[k].end)
                    at |= A_UNDERLINE;
            if (c.kind == TEXT_CELL_TAB) {
                int tw = 4 - col % 4;
                if (col + tw > w)
                    tw = w - col;
                view_fill(r.y + 1 + row, r.x + col, tw, at);
                col += tw;
                continue;
            }
            if (col + c.width > w)
                break;
            col += view_put(a, r.y + 1 + row, r.x + col, c.width, text.data + c.off, c.len, at, 0);
        }
    }
    if (v->scroll > 0)
        view_puts(a, r.y, r.x + r.w - 12 > r.x ? r.x + r.w - 12 : r.x, 12, "[scrolled]",
                  theme_attr(a->focus == APP_PANEL_TEXT ? THEME_title_focus : THEME_title));
    free(lines);
    free(sp);
    free(ph);
    buf_free(&text);
}

/* ---- the panel's ops (view.h) ------------------------------------------------------- */

static unsigned text_mouse(app *a, app_rect r, int y, int x, int wheel)
{
    (void)r;
    (void)y;
    (void)x;
    if (wheel)                             /* the text scrolls up from its end */
        view_text_scroll(a, -3 * wheel);
    return APP_CH_DRAW;
}

static void text_free(app *a)
{
    free(a->text);
    a->text = NULL;
}

const panel_ops view_text_ops = { "text", view_text, NULL, text_mouse, NULL, text_free };
