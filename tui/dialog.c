/* tui/dialog.c — see dialog.h. */
#include "tui/app.h"
#include "tui/dialog.h"
#include "tui/actions.h"
#include "tui/view.h"
#include "core/mem.h"
#include "core/text.h"
#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dialog_prompt(app *a, const char *label, const char *init, size_t len, app_text_fn fn)
{
    if (a->mode != APP_MODE_PROMPT)
        a->mode_back = a->mode;
    a->mode = APP_MODE_PROMPT;
    free(a->dlg.line_label);
    a->dlg.line_label = xstrdup(label);
    buf_clear(&a->dlg.line);
    buf_add(&a->dlg.line, init ? init : "", len);
    a->dlg.line_cur = a->dlg.line.len;
    a->dlg.line_scroll = 0;
    a->dlg.on_line = fn;
    a->dlg.line_hist = NULL;
    a->dlg.line_nhist = a->dlg.line_hist_at = 0;
    free(a->dlg.line_draft);
    a->dlg.line_draft = NULL;
}

void dialog_prompt_history(app *a, char *const *hist, size_t n)
{
    a->dlg.line_hist = hist;
    a->dlg.line_nhist = a->dlg.line_hist_at = n;
}

/* Shows history entry `at` (line_nhist: the draft) in the line. */
static void line_show_hist(app *a, size_t at)
{
    if (a->dlg.line_hist_at == a->dlg.line_nhist) {
        free(a->dlg.line_draft);
        a->dlg.line_draft = xstrndup(a->dlg.line.data ? a->dlg.line.data : "", a->dlg.line.len);
    }
    a->dlg.line_hist_at = at;
    const char *s = at < a->dlg.line_nhist ? a->dlg.line_hist[at] : a->dlg.line_draft ? a->dlg.line_draft : "";
    buf_clear(&a->dlg.line);
    buf_add(&a->dlg.line, s, strlen(s));
    a->dlg.line_cur = a->dlg.line.len;
    a->dlg.line_scroll = 0;
}

void dialog_confirm(app *a, const char *q, app_confirm_fn fn)
{
    a->mode_back = a->mode;
    a->mode = APP_MODE_CONFIRM;
    free(a->dlg.confirm_text);
    a->dlg.confirm_text = xstrdup(q);
    a->dlg.on_confirm = fn;
}

void dialog_chooser(app *a, const char *title, const char *const *choices, int n, app_choice_fn fn)
{
    a->mode = APP_MODE_CHOOSER;
    a->mode_back = APP_MODE_NORMAL;
    free(a->dlg.choice_title);
    a->dlg.choice_title = xstrdup(title);
    a->dlg.choices = choices;
    a->dlg.nchoices = n;
    a->dlg.choice_sel = 0;
    a->dlg.on_choice = fn;
}

/* ---- the line editor ------------------------------------------------------------- */

static size_t prev_char(const char *s, size_t i)
{
    if (!i)
        return 0;
    i--;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return i;
}

static size_t next_char(const char *s, size_t len, size_t i)
{
    if (i >= len)
        return len;
    i++;
    while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
        i++;
    return i;
}

static void line_delete(app *a, size_t from, size_t to)
{
    memmove(a->dlg.line.data + from, a->dlg.line.data + to, a->dlg.line.len - to + 1);
    a->dlg.line.len -= to - from;
}

static void line_insert(app *a, const char *s, size_t n)
{
    buf_add(&a->dlg.line, s, n);       /* grow, then move into place */
    memmove(a->dlg.line.data + a->dlg.line_cur + n, a->dlg.line.data + a->dlg.line_cur, a->dlg.line.len - n - a->dlg.line_cur);
    memcpy(a->dlg.line.data + a->dlg.line_cur, s, n);
    a->dlg.line_cur += n;
}

static unsigned prompt_key(app *a, int key)
{
    char *s = a->dlg.line.data ? a->dlg.line.data : (char *)"";
    switch (key) {
    case 27:
        a->mode = a->mode_back;
        return APP_CH_DRAW;
    case 13: {
        a->mode = a->mode_back;
        char *text = xstrndup(s, a->dlg.line.len);
        size_t len = a->dlg.line.len;
        unsigned f = a->dlg.on_line ? a->dlg.on_line(a, text, len) : 0;
        free(text);
        return f | APP_CH_DRAW;
    }
    case 10:
        line_insert(a, "\n", 1);
        break;
    case ACTIONS_FN(KEY_UP):
        if (a->dlg.line_hist && a->dlg.line_hist_at > 0)
            line_show_hist(a, a->dlg.line_hist_at - 1);
        break;
    case ACTIONS_FN(KEY_DOWN):
        if (a->dlg.line_hist && a->dlg.line_hist_at < a->dlg.line_nhist)
            line_show_hist(a, a->dlg.line_hist_at + 1);
        break;
    case ACTIONS_FN(KEY_LEFT):
        a->dlg.line_cur = prev_char(s, a->dlg.line_cur);
        break;
    case ACTIONS_FN(KEY_RIGHT):
        a->dlg.line_cur = next_char(s, a->dlg.line.len, a->dlg.line_cur);
        break;
    case ACTIONS_FN(KEY_HOME):
    case 1:
        a->dlg.line_cur = 0;
        break;
    case ACTIONS_FN(KEY_END):
    case 5:
        a->dlg.line_cur = a->dlg.line.len;
        break;
    case ACTIONS_FN(KEY_BACKSPACE):
        if (a->dlg.line_cur) {
            size_t p = prev_char(s, a->dlg.line_cur);
            line_delete(a, p, a->dlg.line_cur);
            a->dlg.line_cur = p;
        }
        break;
    case ACTIONS_FN(KEY_DC):
    case 4:
        if (a->dlg.line_cur < a->dlg.line.len)
            line_delete(a, a->dlg.line_cur, next_char(s, a->dlg.line.len, a->dlg.line_cur));
        break;
    case 21:   /* C-u */
        line_delete(a, 0, a->dlg.line_cur);
        a->dlg.line_cur = 0;
        break;
    case 11:   /* C-k */
        line_delete(a, a->dlg.line_cur, a->dlg.line.len);
        break;
    case 23: { /* C-w */
        size_t p = a->dlg.line_cur;
        while (p > 0 && s[p - 1] == ' ')
            p--;
        while (p > 0 && s[p - 1] != ' ')
            p--;
        line_delete(a, p, a->dlg.line_cur);
        a->dlg.line_cur = p;
        break;
    }
    default:
        if (key == 9 || (key >= 32 && key < 0x110000 && key != 127)) {
            char tmp[4];
            line_insert(a, tmp, text_encode((uint32_t)key, tmp));
        }
        break;
    }
    return APP_CH_DRAW;
}

static unsigned chooser_key(app *a, int key)
{
    switch (key) {
    case 27:
    case 'q':
        a->mode = APP_MODE_NORMAL;
        return APP_CH_DRAW;
    case ACTIONS_FN(KEY_UP):
    case 'k':
        if (a->dlg.choice_sel > 0)
            a->dlg.choice_sel--;
        return APP_CH_DRAW;
    case ACTIONS_FN(KEY_DOWN):
    case 'j':
        if (a->dlg.choice_sel + 1 < a->dlg.nchoices)
            a->dlg.choice_sel++;
        return APP_CH_DRAW;
    case 13:
        a->mode = APP_MODE_NORMAL;
        return (a->dlg.on_choice ? a->dlg.on_choice(a, a->dlg.choice_sel) : 0) | APP_CH_DRAW;
    }
    if (key >= '1' && key <= '9' && key - '1' < a->dlg.nchoices) {
        a->mode = APP_MODE_NORMAL;
        return (a->dlg.on_choice ? a->dlg.on_choice(a, key - '1') : 0) | APP_CH_DRAW;
    }
    return 0;
}

static unsigned help_key(app *a, int key)
{
    int page = a->rows > 4 ? a->rows - 3 : 1;
    switch (key) {
    case 27:
    case 'q':
    case '?':
    case 'L':
    case ACTIONS_FN(KEY_F(1)):
        a->mode = APP_MODE_NORMAL;
        return APP_CH_DRAW;
    case ACTIONS_FN(KEY_UP):
    case 'k':
        a->dlg.help_scroll--;
        break;
    case ACTIONS_FN(KEY_DOWN):
    case 'j':
        a->dlg.help_scroll++;
        break;
    case ACTIONS_FN(KEY_PPAGE):
    case 'b':
        a->dlg.help_scroll -= page;
        break;
    case ACTIONS_FN(KEY_NPAGE):
    case ' ':
        a->dlg.help_scroll += page;
        break;
    case ACTIONS_FN(KEY_HOME):
        a->dlg.help_scroll = 0;
        break;
    default:
        return 0;
    }
    if (a->dlg.help_scroll < 0)
        a->dlg.help_scroll = 0;
    return APP_CH_DRAW;
}

unsigned dialog_key(app *a, int key)
{
    switch (a->mode) {
    case APP_MODE_PROMPT:
        return prompt_key(a, key);
    case APP_MODE_CONFIRM: {
        a->mode = a->mode_back;
        int yes = key == 'y' || key == 'Y';
        return (a->dlg.on_confirm ? a->dlg.on_confirm(a, yes) : 0) | APP_CH_DRAW;
    }
    case APP_MODE_SETTINGS:
        return dialog_settings_key(a, key);
    case APP_MODE_CHOOSER:
        return chooser_key(a, key);
    case APP_MODE_HELP:
        return help_key(a, key);
    case APP_MODE_NORMAL:
    case APP_MODE_COMPARE:    /* tui/view_compare.c has its own keys */
        break;
    }
    return 0;
}

/* ---- help ------------------------------------------------------------------------ */

static void add_line(char ***v, size_t *n, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    buf b = {0};
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    xgrow(v, cap, *n + 1, sizeof **v);
    (*v)[(*n)++] = buf_steal(&b);
}

size_t dialog_help_lines(app *a, char ***out)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    static const struct { action_scope s; const char *title; } sections[] = {
        { SCOPE_ANY, "Everywhere" }, { SCOPE_TREE, "Tree panel" },
        { SCOPE_TOKENS, "Tokens panel (Tab to focus it)" }, { SCOPE_TEXT, "Text panel (Tab to focus it)" },
    };
    int u = a->utf8;
    add_line(&v, &n, &cap, "termloom keys  (q/Esc closes, j/k/PgDn or the wheel scroll; rebind in the config file: [keys] action = key ...)");
    add_line(&v, &n, &cap, "");
    add_line(&v, &n, &cap, "Tree rows  (every glyph further down)");
    add_line(&v, &n, &cap, "  %s  the bar before each node: how unsure the model was over its tokens",
             u ? "\xe2\x96\x81\xe2\x96\x82\xe2\x96\x83\xe2\x96\x84\xe2\x96\x85\xe2\x96\x86\xe2\x96\x87\xe2\x96\x88" : "_.:-=+*#");
    add_line(&v, &n, &cap, "            (mean token entropy), a step per 0.5 bit: %s under 0.5 bit (sure)",
             u ? "\xe2\x96\x81" : "_");
    add_line(&v, &n, &cap, "            to %s 3.5 bits or more (unsure); from top-k logprobs, the lower bound.",
             u ? "\xe2\x96\x88" : "#");
    add_line(&v, &n, &cap, "            No bar: no token probabilities (the prompt, text typed or edited).");
    for (size_t s = 0; s < sizeof sections / sizeof *sections; s++) {
        int any = 0;
        for (size_t i = 0; i < actions_count; i++) {
            if (actions_table[i].scope != sections[s].s)
                continue;
            if (!any++) {
                add_line(&v, &n, &cap, "");
                add_line(&v, &n, &cap, "%s", sections[s].title);
            }
            char keys[64];
            actions_keys_text(i, keys, sizeof keys);
            add_line(&v, &n, &cap, "  %-12s %-16s %s", keys[0] ? keys : "(unbound)", actions_table[i].name,
                     actions_table[i].help);
        }
    }
    add_line(&v, &n, &cap, "");
    add_line(&v, &n, &cap, "Mouse: click a row to select it; the wheel scrolls the panel under the pointer.");
    add_line(&v, &n, &cap, "");
    add_line(&v, &n, &cap, "Tree glyphs");
    add_line(&v, &n, &cap, "  %s  node entropy: mean token entropy, 0 to 3.5+ bits (see Tree rows above)",
             u ? "\xe2\x96\x81..\xe2\x96\x88" : "_..#");
    add_line(&v, &n, &cap, "  %s bookmark   %s attractor   %s incomplete   %s streaming   %s forced token",
             u ? "\xe2\x98\x85" : "*", u ? "\xe2\x97\x86" : "@", u ? "\xe2\x9c\x97" : "!", u ? "\xe2\x80\xa6" : "~",
             u ? "\xe2\x86\xb3" : ">");
    add_line(&v, &n, &cap, "  %s/%s folded/open   %sN merged group of N near-duplicates (merge view, M)",
             u ? "\xe2\x96\xb8" : "+", u ? "\xe2\x96\xbe" : "v", u ? "\xc3\x97" : "x");
    add_line(&v, &n, &cap, "");
    add_line(&v, &n, &cap, "Entropy  (tokens and stats panels)");
    add_line(&v, &n, &cap, "  2.40%s4.10 bits  an interval: the top-k list leaves mass R to unseen tokens, none likelier", u ? "\xe2\x80\x93" : "-");
    add_line(&v, &n, &cap, "                than the least likely shown one. Lower end: R on as few tokens as that allows;");
    add_line(&v, &n, &cap, "                upper end: R spread evenly over the V - k unseen tokens (V = vocabulary size).");
    add_line(&v, &n, &cap, "  %s 2.40 bits (V unknown)  no vocabulary size: set vocab_size (S, --vocab-size)", u ? "\xe2\x89\xa5" : ">=");
    add_line(&v, &n, &cap, "  3.84 bits (exact)  the model's own figure: only a backend that knows its whole");
    add_line(&v, &n, &cap, "                distribution (builtin, ngram) is exact.  A server's top-k list never is,");
    add_line(&v, &n, &cap, "                even when it sums to 1 (llama.cpp's probabilities after its samplers):");
    add_line(&v, &n, &cap, "                the tokens panel then says \"(top-k only)\".");
    add_line(&v, &n, &cap, "");
    add_line(&v, &n, &cap, "Entropy from top-k alternatives is a lower bound (%s): the probability the list does",
             u ? "\xe2\x89\xa5" : ">=");
    add_line(&v, &n, &cap, "not cover is counted as one outcome.  It is exact when the list is the whole distribution.");
    add_line(&v, &n, &cap, "Token colours in the text panel: probability heat, red < 10%% ... green > 90%%.");
    add_line(&v, &n, &cap, "Control characters in model text show as placeholders (%s), invalid bytes as %s.",
             u ? "\xe2\x90\x9b" : "^[", u ? "\xef\xbf\xbd" : "?");
    *out = v;
    return n;
}

/* ---- drawing --------------------------------------------------------------------- */

static void draw_box(app *a, int y, int x, int h, int w, const char *title)
{
    unsigned long at = theme_attr(THEME_dialog);
    for (int r = 0; r < h; r++)
        view_fill(y + r, x, w, at);
    /* Drawn with characters, not the alternate character set, so every terminal agrees. */
    const char *hz = view_glyph(a, "\xe2\x94\x80", "-"), *vt = view_glyph(a, "\xe2\x94\x82", "|");
    for (int i = 1; i < w - 1; i++) {
        view_puts(a, y, x + i, 1, hz, at);
        view_puts(a, y + h - 1, x + i, 1, hz, at);
    }
    for (int r = 1; r < h - 1; r++) {
        view_puts(a, y + r, x, 1, vt, at);
        view_puts(a, y + r, x + w - 1, 1, vt, at);
    }
    view_puts(a, y, x, 1, view_glyph(a, "\xe2\x94\x8c", "+"), at);
    view_puts(a, y, x + w - 1, 1, view_glyph(a, "\xe2\x94\x90", "+"), at);
    view_puts(a, y + h - 1, x, 1, view_glyph(a, "\xe2\x94\x94", "+"), at);
    view_puts(a, y + h - 1, x + w - 1, 1, view_glyph(a, "\xe2\x94\x98", "+"), at);
    if (title)
        view_puts(a, y, x + 2, w - 4, title, at | A_BOLD);
}

static void draw_prompt(app *a)
{
    int y = a->rows - 1, w = a->cols;
    unsigned long at = theme_attr(THEME_dialog);
    view_fill(y, 0, w, at);
    int x = view_puts(a, y, 0, w, a->dlg.line_label, theme_attr(THEME_key));
    int avail = w - x - 1;
    if (avail < 1)
        return;
    const char *s = a->dlg.line.data ? a->dlg.line.data : "";
    unsigned fl = TEXT_NL_VISIBLE | a->tflags;
    if (a->dlg.line_scroll > a->dlg.line_cur)
        a->dlg.line_scroll = a->dlg.line_cur;
    while ((int)text_width(s + a->dlg.line_scroll, a->dlg.line_cur - a->dlg.line_scroll, fl) > avail)
        a->dlg.line_scroll = next_char(s, a->dlg.line.len, a->dlg.line_scroll);
    view_put(a, y, x, avail + 1, s + a->dlg.line_scroll, a->dlg.line.len - a->dlg.line_scroll, at, TEXT_NL_VISIBLE);
    int cx = x + (int)text_width(s + a->dlg.line_scroll, a->dlg.line_cur - a->dlg.line_scroll, fl);
    move(y, cx < w ? cx : w - 1);
}

static void draw_chooser(app *a)
{
    int w = a->cols - 4 < 60 ? a->cols - 4 : 60, h = a->dlg.nchoices + 4;
    if (h > a->rows - 1)
        h = a->rows - 1;
    int y = (a->rows - 1 - h) / 2, x = (a->cols - w) / 2;
    draw_box(a, y, x, h, w, a->dlg.choice_title);
    unsigned long at = theme_attr(THEME_dialog);
    for (int i = 0; i < a->dlg.nchoices && 1 + i < h - 2; i++) {
        unsigned long ra = i == a->dlg.choice_sel ? theme_attr(THEME_cursor) : at;
        if (i == a->dlg.choice_sel)
            view_fill(y + 1 + i, x + 1, w - 2, ra);
        char tmp[160];
        snprintf(tmp, sizeof tmp, "%d  %s", i + 1, a->dlg.choices[i]);
        view_puts(a, y + 1 + i, x + 2, w - 4, tmp, ra);
    }
    view_puts(a, y + h - 2, x + 2, w - 4, "Enter or a number chooses, Esc closes", theme_attr(THEME_dim) | at);
}

/* The message log as the help screen's lines: each entry whole, wrapped to the screen
 * (its continuation lines indented under the text, past the time). */
static size_t log_lines(app *a, char ***out)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    if (!a->status.nlog)
        add_line(&v, &n, &cap, "no errors so far");
    int w = a->cols - 14 > 20 ? a->cols - 14 : 20;
    for (size_t i = 0; i < a->status.nlog; i++) {
        const char *e = a->status.log[i];
        size_t len = strlen(e);
        text_line wl[64];
        size_t nl = text_wrap(e, len, w, 8, TEXT_NL_VISIBLE, wl, 64);
        for (size_t j = 0; j < nl && j < 64; j++)
            add_line(&v, &n, &cap, "%s%.*s", j ? "           " : " ", (int)(wl[j].end - wl[j].start), e + wl[j].start);
    }
    *out = v;
    return n;
}

static void draw_help(app *a)
{
    char **lines;
    size_t n = a->dlg.help_log ? log_lines(a, &lines) : dialog_help_lines(a, &lines);
    int h = a->rows - 1;
    if (a->dlg.help_scroll > (int)n - h)
        a->dlg.help_scroll = (int)n - h > 0 ? (int)n - h : 0;
    unsigned long at = theme_attr(THEME_dialog);
    for (int r = 0; r < h; r++) {
        view_fill(r, 0, a->cols, at);
        size_t i = (size_t)(r + a->dlg.help_scroll);
        if (i < n)
            view_puts(a, r, 1, a->cols - 2, lines[i], lines[i][0] && lines[i][0] != ' ' ? at | A_BOLD : at);
    }
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
    char tmp[96];
    snprintf(tmp, sizeof tmp, " %s %d-%d of %zu  j/k PgUp/PgDn wheel scroll, q closes ", a->dlg.help_log ? "messages" : "help",
             a->dlg.help_scroll + 1,
             a->dlg.help_scroll + h < (int)n ? a->dlg.help_scroll + h : (int)n, n);
    view_fill(a->rows - 1, 0, a->cols, theme_attr(THEME_status));
    view_puts(a, a->rows - 1, 0, a->cols, tmp, theme_attr(THEME_status));
}

void dialog_draw(app *a)
{
    switch (a->mode) {
    case APP_MODE_PROMPT:
        draw_prompt(a);
        break;
    case APP_MODE_CONFIRM:
        view_fill(a->rows - 1, 0, a->cols, theme_attr(THEME_dialog));
        view_puts(a, a->rows - 1, 0, a->cols, a->dlg.confirm_text, theme_attr(THEME_key));
        break;
    case APP_MODE_SETTINGS:
        dialog_settings_draw(a, draw_box);
        break;
    case APP_MODE_CHOOSER:
        draw_chooser(a);
        break;
    case APP_MODE_HELP:
        draw_help(a);
        break;
    case APP_MODE_NORMAL:
    case APP_MODE_COMPARE:
        break;
    }
}

unsigned dialog_help_scroll(app *a, int dir)
{
    int s = a->dlg.help_scroll + 3 * dir;
    a->dlg.help_scroll = s < 0 ? 0 : s;     /* drawing clamps the end */
    return APP_CH_DRAW;
}

void dialog_free(app *a)
{
    buf_free(&a->dlg.line);
    free(a->dlg.line_label);
    free(a->dlg.confirm_text);
    free(a->dlg.choice_title);
    free(a->dlg.line_draft);
    dialog_settings_free(a);
    memset(&a->dlg, 0, sizeof a->dlg);
}

unsigned dialog_help(app *a, int log)
{
    a->mode = APP_MODE_HELP;
    a->dlg.help_log = log;
    /* the log opens at its newest lines (drawing clamps the scroll to the end) */
    a->dlg.help_scroll = log && a->status.nlog > 0 ? (int)a->status.nlog : 0;
    return APP_CH_DRAW;
}
