/* tui/dialog_settings.c — the settings form: every option of core/settings.h (generation,
 * backend, theme), one field a line, each checked as it is typed (settings_set on a copy;
 * a theme must load).  An invalid field shows its reason on its line and the form cannot
 * be applied until it is fixed; Enter/Tab/Down go to the next field, S-Tab/Up back, Enter
 * on [Apply] changes the session's settings, Esc closes without changing anything. */
#include "tui/dialog.h"
#include "tui/actions.h"
#include "tui/view.h"
#include "core/attractor.h"
#include "core/mem.h"
#include "core/text.h"
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct settings_form {
    int     n;          /* fields (settings_options in order); row n is [Apply] */
    char  **val;        /* the text as typed */
    char  **orig;       /* the text when the form opened */
    char  **err;        /* why the value cannot be used, or NULL */
    size_t  cur;        /* cursor byte in the selected field */
    int     top;        /* first row shown */
};

/* Stop strings as one line: \n \t \r \\ written out, a comma between strings. */
static char *stop_text(const gen_settings *s)
{
    buf b = {0};
    buf_add(&b, "", 0);
    for (int i = 0; i < s->nstop; i++) {
        if (i)
            buf_add(&b, ",", 1);
        for (const char *p = s->stop[i]; *p; p++) {
            const char *e = *p == '\n' ? "\\n" : *p == '\t' ? "\\t" : *p == '\r' ? "\\r" : *p == '\\' ? "\\\\" : NULL;
            if (e)
                buf_add(&b, e, 2);
            else
                buf_add(&b, p, 1);
        }
    }
    return buf_steal(&b);
}

/* A setting's value as shown: the builtin backend's model is "base" when none is set. */
static char *shown(app *a, const char *key)
{
    if (!strcmp(key, "stop"))
        return stop_text(&a->ses.settings);
    char *v = settings_get(&a->ses.settings, key);
    if (!strcmp(key, "model") && v && !*v && cli_model_name(&a->ses.settings)) {
        free(v);
        v = xstrdup(cli_model_name(&a->ses.settings));
    }
    if (!strcmp(key, "theme") && v && !*v) {
        free(v);
        v = xstrdup("dark");
    }
    return v ? v : xstrdup("");
}

/* Sets key from the form's text (stop: the list is replaced). */
static int set_one(gen_settings *s, const char *key, const char *v, char *err, size_t errlen)
{
    if (strcmp(key, "stop"))
        return settings_set(s, key, v, err, errlen);
    settings_set(s, "stop", "", err, errlen);
    char *copy = xstrdup(v), *save = NULL;
    int rc = 0;
    for (char *w = strtok_r(copy, ",", &save); w && !rc; w = strtok_r(NULL, ",", &save))
        rc = settings_set(s, "stop", w, err, errlen);
    free(copy);
    return rc;
}

static void check(app *a, int i)
{
    struct settings_form *f = a->dlg.form;
    const char *key = settings_options[i].key;
    char err[512] = "";
    gen_settings tmp;
    settings_copy(&tmp, &a->ses.settings);
    int rc = set_one(&tmp, key, f->val[i], err, sizeof err);
    settings_free(&tmp);
    if (!rc && !strcmp(key, "theme") && *f->val[i]) {
        theme th;
        theme_defaults(&th);
        rc = theme_load(f->val[i], &th, err, sizeof err);
    }
    free(f->err[i]);
    f->err[i] = NULL;
    if (rc < 0) {
        size_t kl = strlen(key);
        const char *why = !strncmp(err, key, kl) && err[kl] == ':' ? err + kl + 1 : err;
        while (*why == ' ')
            why++;
        f->err[i] = xstrdup(*why ? why : "not a valid value");
    }
}

void dialog_settings_free(app *a)
{
    struct settings_form *f = a->dlg.form;
    if (!f)
        return;
    for (int i = 0; i < f->n; i++) {
        free(f->val[i]);
        free(f->orig[i]);
        free(f->err[i]);
    }
    free(f->val);
    free(f->orig);
    free(f->err);
    free(f);
    a->dlg.form = NULL;
}

static void select_row(app *a, int row)
{
    struct settings_form *f = a->dlg.form;
    a->dlg.set_sel = row < 0 ? 0 : row > f->n ? f->n : row;
    f->cur = a->dlg.set_sel < f->n ? strlen(f->val[a->dlg.set_sel]) : 0;
}

void dialog_settings(app *a)
{
    dialog_settings_free(a);
    struct settings_form *f = xcalloc(1, sizeof *f);
    a->dlg.form = f;
    f->n = (int)settings_noptions;
    f->val = xcalloc((size_t)f->n, sizeof *f->val);
    f->orig = xcalloc((size_t)f->n, sizeof *f->orig);
    f->err = xcalloc((size_t)f->n, sizeof *f->err);
    for (int i = 0; i < f->n; i++) {
        f->val[i] = shown(a, settings_options[i].key);
        f->orig[i] = xstrdup(f->val[i]);
    }
    a->mode = APP_MODE_SETTINGS;
    a->mode_back = APP_MODE_NORMAL;
    select_row(a, 0);
}

static unsigned close_form(app *a)
{
    dialog_settings_free(a);
    a->mode = APP_MODE_NORMAL;
    return APP_CH_DRAW;
}

/* Applies every changed field to the session's settings (all were checked). */
static unsigned apply(app *a)
{
    struct settings_form *f = a->dlg.form;
    int bad = 0, first = 0;
    for (int i = 0; i < f->n; i++)
        if (f->err[i] && !bad++)
            first = i;
    if (bad) {
        app_message(a, 1, "not applied: %s%s is not valid (fix it, or Esc cancels)", settings_options[first].key,
                    bad > 1 ? " and more" : "");
        select_row(a, first);
        return APP_CH_DRAW;
    }
    buf names = {0};
    int new_backend = 0, merge = 0, th = 0;
    char err[512];
    for (int i = 0; i < f->n; i++) {
        const char *key = settings_options[i].key;
        if (!strcmp(f->val[i], f->orig[i]))
            continue;
        if (set_one(&a->ses.settings, key, f->val[i], err, sizeof err) < 0)
            continue;                     /* cannot happen: checked as typed */
        buf_printf(&names, "%s%s", names.len ? ", " : "", key);
        new_backend |= !strcmp(key, "backend") || !strcmp(key, "base_url") || !strcmp(key, "corpus") || !strcmp(key, "model");
        merge |= !strcmp(key, "merge_threshold");
        th |= !strcmp(key, "theme");
    }
    close_form(a);
    if (!names.len) {
        app_message(a, 0, "settings unchanged");
        return APP_CH_DRAW;
    }
    app_message(a, 0, "settings applied: %s", names.data);
    buf_free(&names);
    if (new_backend)
        app_backend_reset(a);             /* its error, if any, replaces the message */
    if (merge)
        app_analysis_threshold(a);
    if (th)
        app_theme_reset(a);
    return APP_CH_DRAW | APP_CH_SAVE;
}

static size_t prev_char(const char *s, size_t i)
{
    while (i > 0 && ((unsigned char)s[--i] & 0xC0) == 0x80)
        ;
    return i;
}

static size_t next_char(const char *s, size_t i)
{
    if (!s[i])
        return i;
    i++;
    while (((unsigned char)s[i] & 0xC0) == 0x80)
        i++;
    return i;
}

/* Replaces bytes [from, to) of the field with ins. */
static void edit(app *a, size_t from, size_t to, const char *ins, size_t n)
{
    struct settings_form *f = a->dlg.form;
    char *old = f->val[a->dlg.set_sel];
    size_t len = strlen(old);
    char *v = xmalloc(len - (to - from) + n + 1);
    memcpy(v, old, from);
    memcpy(v + from, ins, n);
    memcpy(v + from + n, old + to, len - to + 1);
    free(old);
    f->val[a->dlg.set_sel] = v;
    f->cur = from + n;
    check(a, a->dlg.set_sel);
}

unsigned dialog_settings_key(app *a, int key)
{
    struct settings_form *f = a->dlg.form;
    if (!f)
        return close_form(a);
    int row = a->dlg.set_sel, field = row < f->n;
    const char *v = field ? f->val[row] : "";
    switch (key) {
    case 27:
        close_form(a);
        app_message(a, 0, "settings unchanged");
        return APP_CH_DRAW;
    case 13:
        if (!field)
            return apply(a);
        select_row(a, row + 1);
        return APP_CH_DRAW;
    case 9:
    case ACTIONS_FN(KEY_DOWN):
        select_row(a, row + 1 > f->n ? 0 : row + 1);
        return APP_CH_DRAW;
    case ACTIONS_FN(KEY_BTAB):
    case ACTIONS_FN(KEY_UP):
        select_row(a, row > 0 ? row - 1 : f->n);
        return APP_CH_DRAW;
    case ACTIONS_FN(KEY_PPAGE):
        select_row(a, 0);
        return APP_CH_DRAW;
    case ACTIONS_FN(KEY_NPAGE):
        select_row(a, f->n);
        return APP_CH_DRAW;
    }
    if (!field)
        return 0;
    switch (key) {
    case ACTIONS_FN(KEY_LEFT):
        f->cur = prev_char(v, f->cur);
        return APP_CH_DRAW;
    case ACTIONS_FN(KEY_RIGHT):
        f->cur = next_char(v, f->cur);
        return APP_CH_DRAW;
    case ACTIONS_FN(KEY_HOME):
    case 1:                                   /* C-a */
        f->cur = 0;
        return APP_CH_DRAW;
    case ACTIONS_FN(KEY_END):
    case 5:                                   /* C-e */
        f->cur = strlen(v);
        return APP_CH_DRAW;
    case ACTIONS_FN(KEY_BACKSPACE):
        if (f->cur)
            edit(a, prev_char(v, f->cur), f->cur, "", 0);
        return APP_CH_DRAW;
    case ACTIONS_FN(KEY_DC):
    case 4:                                   /* C-d */
        if (v[f->cur])
            edit(a, f->cur, next_char(v, f->cur), "", 0);
        return APP_CH_DRAW;
    case 21:                                  /* C-u: clear to the start */
        edit(a, 0, f->cur, "", 0);
        return APP_CH_DRAW;
    case 11:                                  /* C-k: clear to the end */
        edit(a, f->cur, strlen(v), "", 0);
        return APP_CH_DRAW;
    }
    if (key >= ' ' && key != 127 && key < 0x110000) {
        char u[8];
        size_t n = text_encode((uint32_t)key, u);
        edit(a, f->cur, f->cur, u, n);
        return APP_CH_DRAW;
    }
    return 0;
}

void dialog_settings_draw(app *a, void (*draw_frame)(app *, int, int, int, int, const char *))
{
    struct settings_form *f = a->dlg.form;
    if (!f)
        return;
    int w = a->cols - 2 < 110 ? a->cols - 2 : 110, h = f->n + 6;
    if (h > a->rows - 1)
        h = a->rows - 1;
    int y = (a->rows - 1 - h) / 2, x = (a->cols - w) / 2;
    draw_frame(a, y, x, h, w, " Settings ");
    unsigned long at = theme_attr(THEME_dialog);
    int list = h - 5;                         /* rows for the fields and [Apply] */
    if (list < 1)
        list = 1;
    if (a->dlg.set_sel < f->top)
        f->top = a->dlg.set_sel;
    if (a->dlg.set_sel >= f->top + list)
        f->top = a->dlg.set_sel - list + 1;
    int kw = 16, vw = (w - 4 - kw - 1) * 11 / 20, ex = x + 2 + kw + 1 + vw + 1, ew = x + w - 2 - ex;
    int cy = -1, cx = 0;
    for (int r = 0; r < list; r++) {
        int i = f->top + r, ry = y + 1 + r;
        if (i > f->n)
            break;
        int sel = i == a->dlg.set_sel;
        unsigned long ra = sel ? theme_attr(THEME_cursor) : at;
        if (sel)
            view_fill(ry, x + 1, w - 2, ra);
        if (i == f->n) {
            int bad = 0;
            for (int k = 0; k < f->n; k++)
                bad += f->err[k] != NULL;
            char tmp[96];
            snprintf(tmp, sizeof tmp, bad ? "[ Apply ]  (%d invalid: fix first)" : "[ Apply ]", bad);
            view_puts(a, ry, x + 2 + kw + 1, w - kw - 5, tmp, bad ? theme_attr(THEME_error) : ra | A_BOLD);
            continue;
        }
        view_puts(a, ry, x + 2, kw, settings_options[i].key, sel ? ra : theme_attr(THEME_key));
        const char *v = f->val[i];
        size_t len = strlen(v), from = 0;
        unsigned fl = TEXT_NL_VISIBLE | a->tflags;
        if (sel)
            while (from < f->cur && (int)text_width(v + from, f->cur - from, fl) > vw - 1)
                from = next_char(v, from);
        view_put(a, ry, x + 2 + kw + 1, vw, v + from, len - from, ra, TEXT_NL_VISIBLE);
        if (sel) {
            cy = ry;
            cx = x + 2 + kw + 1 + (int)text_width(v + from, f->cur - from, fl);
        }
        if (f->err[i] && ew > 4) {
            char tmp[600];
            snprintf(tmp, sizeof tmp, "%s %s", view_glyph(a, "\xe2\x9c\x97", "x"), f->err[i]);
            view_puts(a, ry, ex, ew, tmp, theme_attr(THEME_error));
        } else if (strcmp(v, f->orig[i]) && ew > 4) {
            view_puts(a, ry, ex, ew, "(changed)", theme_attr(THEME_dim) | at);
        }
    }
    /* The selected field: its whole reason, or what the option is. */
    int hy = y + h - 3;
    if (a->dlg.set_sel < f->n) {
        int i = a->dlg.set_sel;
        char tmp[700];
        if (f->err[i])
            snprintf(tmp, sizeof tmp, "%s: %s", settings_options[i].key, f->err[i]);
        else
            snprintf(tmp, sizeof tmp, "%s: %s%s", settings_options[i].key, settings_options[i].help,
                     !strcmp(settings_options[i].key, "stop") ? " (a comma between strings)" : "");
        view_puts(a, hy, x + 2, w - 4, tmp, f->err[i] ? theme_attr(THEME_error) : theme_attr(THEME_dim) | at);
    }
    view_puts(a, y + h - 2, x + 2, w - 4,
              "Esc cancels  Enter/Tab next field  S-Tab/Up back  Enter on [Apply] applies",
              theme_attr(THEME_dim) | at);
    if (cy < 0) {                             /* on [Apply]: the cursor sits on it */
        cy = y + 1 + (a->dlg.set_sel - f->top);
        cx = x + 2 + kw + 1;
    }
    move(cy, cx < x + w - 1 ? cx : x + w - 2);
}
