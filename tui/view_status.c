/* tui/view_status.c — the status line: backend and model, progress with a spinner while
 * generating (and "loading N%" while a big file is read), the last message or error, and
 * whether the session is saved. */
#include "tui/view.h"
#include "tui/view_compare.h"
#include "cli/backends.h"
#include "core/mono.h"
#include "core/text.h"
#include <curses.h>
#include <stdio.h>
#include <string.h>

static const char *const spin_utf8[] = { "\xe2\xa0\x8b", "\xe2\xa0\x99", "\xe2\xa0\xb9", "\xe2\xa0\xb8",
                                         "\xe2\xa0\xbc", "\xe2\xa0\xb4", "\xe2\xa0\xa6", "\xe2\xa0\xa7",
                                         "\xe2\xa0\x87", "\xe2\xa0\x8f" };
static const char *const spin_ascii[] = { "|", "/", "-", "\\" };

void view_status(app *a, int y, int w)
{
    unsigned long st = theme_attr(THEME_status);
    view_fill(y, 0, w, st);
    /* Right: save state and the help hint. */
    const char *save = a->save.loading ? "reading" : !a->save.path ? "not saved" : a->save.err ? "SAVE FAILED" : a->save.unsaved ? "unsaved" : "saved";
    char right[64];
    snprintf(right, sizeof right, " %s  ? help ", save);
    int rw = (int)strlen(right);
    if (rw > w / 2)
        rw = 0;
    int x = 0;
    /* Left: backend/model, or progress while generating. */
    int active = a->gen.g ? grow_active(a->gen.g) : 0;
    char left[160];
    if (active) {
        int ended = 0, total = 0;
        for (int i = 0; i < active; i++) {
            const grow_request *r = grow_request_at(a->gen.g, i);
            ended += r->ended;
            total += r->k;
        }
        const char *sp = a->utf8 ? spin_utf8[a->gen.spin % 10] : spin_ascii[a->gen.spin % 4];
        snprintf(left, sizeof left, " %s %d/%d branches, %.0f tok/s  Esc cancels ", sp, ended, total, a->gen.rate);
        x += view_puts(a, y, x, w - rw - x, left, theme_attr(THEME_busy));
    }
    if (app_load_sliced(a)) {               /* a big file read a slice at a time */
        size_t n;
        double p = app_load_progress(a, &n);
        snprintf(left, sizeof left, " loading %.0f%% (%zu nodes) ", 100 * p, n);
        x += view_puts(a, y, x, w - rw - x, left, theme_attr(THEME_busy));
    } else if (a->save.loading) {           /* another loom's file, imported on a thread */
        snprintf(left, sizeof left, " importing %.0f s ", mono_now() - a->save.load_started);
        x += view_puts(a, y, x, w - rw - x, left, theme_attr(THEME_busy));
    }
    if (compare_view_status(a, left, sizeof left))   /* a comparison sampling behind */
        x += view_puts(a, y, x, w - rw - x, left, theme_attr(THEME_busy));
    int err = a->status.error && a->status.msg;
    size_t mlen = a->status.msg ? strlen(a->status.msg) : 0;
    /* An error too long for the line is shown in full above it (see below). */
    int above = err && w - rw - 2 > 10 && (int)text_width(a->status.msg, mlen, TEXT_NL_VISIBLE | a->tflags) > w - rw - 2;
    if ((!err || above) && !active) {
        const gen_settings *s = &a->ses.settings;
        const char *model = cli_model_name(s);
        snprintf(left, sizeof left, " %s%s%s ", s->backend ? s->backend : "?", model ? " " : "",
                 model ? model : "");
        if (!a->gen.b)
            snprintf(left, sizeof left, " %s (unavailable) ", s->backend ? s->backend : "?");
        x += view_puts(a, y, x, w - rw - x, left, st);
    }
    if (a->status.msg && x < w - rw) {
        unsigned long ma = a->status.error ? theme_attr(THEME_error) : st;
        int avail = w - rw - x - 2;
        if (above || (a->status.error && avail > 10 && (int)text_width(a->status.msg, mlen, TEXT_NL_VISIBLE | a->tflags) > avail)) {
            /* An error is shown in full: it goes above the status line, over the bottom
             * of the panels, so the progress and the save state stay readable; it lasts
             * until the next key (or APP_ERR_SECONDS). */
            text_line ln[4];
            size_t n = text_wrap(a->status.msg, mlen, w - 2, 4, TEXT_NL_VISIBLE | a->tflags, ln, 4);
            if (n > 4)
                n = 4;
            for (size_t i = 0; i < n; i++) {
                int ry = y - (int)n + (int)i;
                if (ry < 0)
                    continue;
                view_fill(ry, 0, w, ma);
                view_put(a, ry, 1, w - 2, a->status.msg + ln[i].start, ln[i].end - ln[i].start, ma, TEXT_NL_VISIBLE);
            }
        } else {
            x += view_puts(a, y, x, w - rw - x, " ", ma);
            x += view_puts(a, y, x, w - rw - x, a->status.msg, ma);
            x += view_puts(a, y, x, w - rw - x, " ", ma);
        }
    }
    if (rw)
        view_puts(a, y, w - rw, rw, right,
                  a->save.err ? theme_attr(THEME_error) : a->save.unsaved || !a->save.path ? st : theme_attr(THEME_ok));
}
