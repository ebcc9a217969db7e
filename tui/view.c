/* tui/view.c — drawing helpers every panel uses (see view.h). */
#include "tui/view.h"
#include "core/text.h"
#include <curses.h>
#include <string.h>
#include <wchar.h>

const char *view_glyph(app *a, const char *utf8, const char *ascii)
{
    return a->utf8 ? utf8 : ascii;
}

void view_fill(int y, int x, int w, unsigned long attr)
{
    if (w <= 0)
        return;
    attrset((attr_t)attr);
    mvhline(y, x, ' ', w);
    attrset(A_NORMAL);
}

static void draw_cell(app *a, const text_cell *c, unsigned long attr)
{
    if (c->kind == TEXT_CELL_PLACEHOLDER || c->kind == TEXT_CELL_INVALID) {
        attrset((attr_t)theme_attr(THEME_placeholder));
        addnstr(c->out, c->outlen);
        return;
    }
    attrset((attr_t)attr);
    if (c->kind == TEXT_CELL_TAB) {
        addch(' ');
        return;
    }
    if (a->utf8 && (unsigned char)c->out[0] >= 0x80) {
        /* When the C library's width disagrees with ours, the terminal (which uses the
         * former) would misplace everything after it: draw a stand-in of our width. */
        size_t adv;
        uint32_t cp = text_decode(c->out, c->outlen, &adv);
        int ww = wcwidth((wchar_t)cp);
        if (ww != c->width) {
            attrset((attr_t)theme_attr(THEME_placeholder));
            for (int i = 0; i < c->width; i++)
                addch('?');
            return;
        }
    }
    addnstr(c->out, c->outlen);
}

int view_put(app *a, int y, int x, int w, const char *s, size_t len, unsigned long attr, unsigned flags)
{
    if (w <= 0)
        return 0;
    flags |= a->tflags;
    int used;
    size_t fit = text_fit(s, len, w, flags, &used);
    int cut = fit < len && !(s[fit] == '\n' && !(flags & TEXT_NL_VISIBLE));
    if (cut && w > 1)
        fit = text_fit(s, len, w - 1, flags, &used);
    move(y, x);
    text_cell c;
    for (size_t off = 0; off < fit;) {
        off = text_cell_next(s, len, off, flags, &c);
        draw_cell(a, &c, attr);
    }
    if (cut && w > 1) {
        attrset((attr_t)attr);
        addstr(a->utf8 ? "\xe2\x80\xa6" : ">");
        used++;
    }
    attrset(A_NORMAL);
    return used;
}

int view_puts(app *a, int y, int x, int w, const char *s, unsigned long attr)
{
    return view_put(a, y, x, w, s, strlen(s), attr, TEXT_NL_VISIBLE);
}

void view_title(app *a, app_rect r, const char *name, const char *detail, int focused)
{
    unsigned long at = theme_attr(focused ? THEME_title_focus : THEME_title);
    view_fill(r.y, r.x, r.w, at);
    int x = r.x + view_puts(a, r.y, r.x, r.w, " ", at);
    x += view_puts(a, r.y, x, r.x + r.w - x, name, at);
    if (detail && *detail) {
        x += view_puts(a, r.y, x, r.x + r.w - x, "  ", at);
        view_puts(a, r.y, x, r.x + r.w - x, detail, at);
    }
}

const panel_ops *const view_panels[APP_NPANELS] = {
    [APP_PANEL_TREE] = &view_tree_ops,
    [APP_PANEL_TEXT] = &view_text_ops,
    [APP_PANEL_TOKENS] = &view_tokens_ops,
    [APP_PANEL_STATS] = &view_stats_ops,
};

app_rect *view_rect(app *a, app_panel p)
{
    app_rect *rs[APP_NPANELS] = { &a->r_tree, &a->r_text, &a->r_tokens, &a->r_stats };
    return rs[p];
}
