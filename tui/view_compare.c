/* tui/view_compare.c — see view_compare.h. */
#include "tui/view_compare.h"
#include "core/mono.h"
#include "tui/actions.h"
#include "tui/dialog.h"
#include "tui/view.h"
#include "core/calib.h"
#include "core/compare.h"
#include "core/entropy.h"
#include "core/mem.h"
#include "core/ngram.h"
#include "core/text.h"
#include <curses.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECALC_SECONDS 0.25

typedef struct compare_view {
    int32_t        at;            /* the compared node */
    compare_run   *run;
    backend       *be[2];
    gen_settings   s[2];
    int            have_s;
    int            nsamples;
    compare_result res;
    int            have_res;
    char          *res_err;       /* why there is no result */
    char           calib[2][200]; /* each side's calibration line ("" when not tested) */
    int            dirty;         /* samples changed since the figures were computed */
    double         last_calc;
    int            side;          /* focused column */
    int            sel[2], top[2];
    int            scrolled[2];   /* the wheel moved top: the list does not chase sel */
    int            gy[2], grows[2], gx[2];   /* where the last frame drew each side's groups */
    char          *specs;         /* the last "A | B | N" line */
} cview;

static cview *state(app *a)
{
    if (!a->compare)
        a->compare = xcalloc(1, sizeof(cview));
    return a->compare;
}

static void stop_run(cview *v)
{
    compare_run_free(v->run);    /* cancels what is still running; partial samples stay */
    v->run = NULL;
    for (int i = 0; i < 2; i++) {
        backend_free(v->be[i]);
        v->be[i] = NULL;
    }
    if (v->have_s)
        for (int i = 0; i < 2; i++)
            settings_free(&v->s[i]);
    v->have_s = 0;
}

/* A side's failed samples, one clause per reason: "failed: samples 1, 3: 500: …; sample 2:
 * …" (numbers from 1, in order; the list is the label's "failed", core/compare_run.c). */
static int by_index(const void *x, const void *y)
{
    long long a = json_integer_value(json_object_get(*(json_t *const *)x, "index"));
    long long b = json_integer_value(json_object_get(*(json_t *const *)y, "index"));
    return (a > b) - (a < b);
}

static char *failed_text(json_t *failed)
{
    size_t n = json_array_size(failed);
    json_t **v = xmalloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(failed, i);
    qsort(v, n, sizeof *v, by_index);
    char *done = xcalloc(n ? n : 1, 1);
    buf b = {0};
    buf_adds(&b, "failed:");
    for (size_t i = 0; i < n; i++) {
        if (done[i])
            continue;
        const char *e = json_string_value(json_object_get(v[i], "error"));
        e = e ? e : "error";
        size_t same = 0;
        for (size_t j = i; j < n; j++) {
            const char *ej = json_string_value(json_object_get(v[j], "error"));
            same += !done[j] && !strcmp(ej ? ej : "error", e);
        }
        buf_printf(&b, "%s sample%s", b.len > 7 ? ";" : "", same > 1 ? "s" : "");
        size_t k = 0;
        for (size_t j = i; j < n; j++) {
            const char *ej = json_string_value(json_object_get(v[j], "error"));
            if (!done[j] && !strcmp(ej ? ej : "error", e)) {
                done[j] = 1;
                buf_printf(&b, "%s %lld", k++ ? "," : "", json_integer_value(json_object_get(v[j], "index")) + 1);
            }
        }
        buf_printf(&b, ": %s", e);
    }
    free(done);
    free(v);
    return buf_steal(&b);
}

static void recalc(app *a, cview *v)
{
    if (v->have_res)
        compare_result_free(&v->res);
    v->have_res = 0;
    free(v->res_err);
    v->res_err = NULL;
    char err[256];
    if (compare_result_load(&v->res, a->ses.t, v->at, a->ses.settings.merge_threshold, err, sizeof err) == 0)
        v->have_res = 1;
    else
        v->res_err = xstrdup(err);
    for (int s = 0; s < 2; s++) {     /* once the samples are in: intervals, calibration */
        calib_result c;
        v->calib[s][0] = 0;
        if (v->have_res && !v->run && calib_node(a->ses.t, NULL, v->res.label[s], &c) == 0)
            calib_format(&c, v->calib[s], sizeof v->calib[s]);
    }
    if (v->have_res && !v->run)
        compare_result_intervals(&v->res, a->ses.t);
    for (int s = 0; s < 2; s++) {
        size_t ng = v->have_res ? v->res.side[s].ngroups : 0;
        if (v->sel[s] >= (int)ng)
            v->sel[s] = ng ? (int)ng - 1 : 0;
    }
    v->dirty = 0;
    v->last_calc = mono_now();
}

/* The node a comparison hangs from, seen from id: the node itself, or the parent of a
 * label, or the grandparent of a sample. */
static int32_t compared_node(const tree *t, int32_t id)
{
    if (compare_label_side(t, id))
        return tree_parent(t, id);
    int32_t p = tree_parent(t, id);
    if (p != TREE_NONE && compare_label_side(t, p))
        return tree_parent(t, p);
    return id;
}

/* ---- starting a comparison ---- */

static void on_run_event(void *ud, const backend_event *ev)
{
    app *a = ud;
    cview *v = a->compare;
    if (v && ev->kind != BACKEND_EV_STATUS)
        v->dirty = 1;
    a->pending |= APP_CH_DRAW;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = 0;
    return s;
}

static unsigned ask_specs(app *a, const char *init);

static unsigned on_specs(app *a, const char *text, size_t len)
{
    cview *v = state(a);
    free(v->specs);
    v->specs = xstrndup(text, len);
    char *copy = xstrdup(v->specs), *part[3] = { NULL, NULL, NULL };
    int np = 0;
    for (char *p = copy, *bar; np < 3; np++) {
        bar = strchr(p, '|');
        if (bar)
            *bar = 0;
        part[np] = trim(p);
        if (!bar) {
            np++;
            break;
        }
        p = bar + 1;
    }
    char err[512];
    int nsamples = COMPARE_DEFAULT_SAMPLES;
    if (np < 2) {
        free(copy);
        app_message(a, 1, "compare: give two SPECs separated by '|', e.g. temperature=1 | temperature=0.2 | 32");
        return ask_specs(a, v->specs);
    }
    if (np == 3 && *part[2]) {
        char *end;
        long n = strtol(part[2], &end, 10);
        if (*end || n < 1 || n > COMPARE_MAX_SAMPLES) {
            app_message(a, 1, "compare: N: '%s' is not a whole number from 1 to %d", part[2], COMPARE_MAX_SAMPLES);
            free(copy);
            return ask_specs(a, v->specs);
        }
        nsamples = (int)n;
    }
    stop_run(v);
    for (int i = 0; i < 2; i++)
        settings_copy(&v->s[i], &a->ses.settings);
    v->have_s = 1;
    char *name[2] = { NULL, NULL };
    for (int i = 0; i < 2; i++) {
        char *rest = compare_spec_name(part[i], &name[i]);   /* name= is not a generation option */
        int bad = settings_apply_spec(&v->s[i], rest, err, sizeof err) < 0;
        free(rest);
        if (bad) {
            app_message(a, 1, "compare: %c: %s", i ? 'B' : 'A', err);
            stop_run(v);
            free(copy);
            free(name[0]);
            free(name[1]);
            return ask_specs(a, v->specs);
        }
    }
    free(copy);
    for (int i = 0; i < 2; i++)
        if (!(v->be[i] = cli_backend_new(&v->s[i], a->opts.api_key, err, sizeof err))) {
            app_message(a, 1, "compare: %c: %s", i ? 'B' : 'A', err);
            stop_run(v);
            free(name[0]);
            free(name[1]);
            return ask_specs(a, v->specs);
        }
    const gen_settings *sp[2] = { &v->s[0], &v->s[1] };
    v->run = compare_run_new(a->ses.t, v->at, v->be, sp, nsamples, on_run_event, a);
    v->nsamples = nsamples;
    for (int i = 0; i < 2; i++) {
        compare_run_set_name(v->run, i, name[i]);
        free(name[i]);
    }
    if (compare_run_start(v->run, err, sizeof err) < 0) {
        app_message(a, 1, "compare: %s", err);
        stop_run(v);
        return APP_CH_DRAW;
    }
    tree_set_flag(a->ses.t, v->at, TREE_FLAG_FOLDED, 0);
    v->side = 0;
    v->sel[0] = v->sel[1] = v->top[0] = v->top[1] = 0;
    recalc(a, v);
    a->mode = APP_MODE_COMPARE;
    app_message(a, 0, "compare: sampling %d per side", nsamples);
    return APP_CH_DRAW | APP_CH_SAVE;
}

static unsigned ask_specs(app *a, const char *init)
{
    dialog_prompt(a, "compare  A | B | N: ", init, strlen(init), on_specs);
    return APP_CH_DRAW;
}

unsigned compare_view_open(app *a)
{
    cview *v = state(a);
    int32_t at = compared_node(a->ses.t, a->ses.cursor);
    if (!tree_get(a->ses.t, at))
        return 0;
    if (v->run && compare_run_active(v->run) && at != v->at) {
        app_message(a, 1, "compare: another comparison is still sampling (c on #%d shows it, x there stops it)",
                    (int)v->at);
        return APP_CH_DRAW;
    }
    v->at = at;
    recalc(a, v);
    if (v->have_res || v->run) {
        a->mode = APP_MODE_COMPARE;
        return APP_CH_DRAW;
    }
    return ask_specs(a, v->specs ? v->specs : "temperature=1 | temperature=0.2 | 32");
}

/* ---- the loop's side ---- */

int compare_view_busy(const app *a)
{
    const cview *v = a->compare;
    return v && v->run && compare_run_active(v->run) > 0;
}

int compare_view_backends(const app *a, backend **out)
{
    const cview *v = a->compare;
    return v && v->run ? compare_run_backends(v->run, out) : 0;
}

unsigned compare_view_pump(app *a)
{
    cview *v = a->compare;
    if (!v || !v->run)
        return 0;
    unsigned f = 0;
    int active = compare_run_pump(v->run);
    double now = mono_now();
    if (!active) {
        int failed[2];
        for (int i = 0; i < 2; i++)
            compare_run_progress(v->run, i, NULL, &failed[i], NULL);
        const char *e = compare_run_error(v->run, failed[0] ? 0 : 1);
        if (failed[0] || failed[1])
            app_message(a, 1, "compare: %d of A and %d of B failed (L lists why): %s", failed[0], failed[1], e ? e : "error");
        else
            app_message(a, 0, "compare: done, %d samples per side", v->nsamples);
        stop_run(v);
        recalc(a, v);
        for (int i = 0; v->have_res && i < 2; i++)      /* each missing sample, and why */
            if (v->res.failed[i] && json_array_size((json_t *)v->res.failed[i])) {
                char *fl = failed_text((json_t *)v->res.failed[i]);
                app_log(a, "compare %c (%s) under #%d: %s", i ? 'B' : 'A', v->res.name[i], (int)v->at, fl);
                free(fl);
            }
        v->dirty = 1;
        f |= APP_CH_DRAW | APP_CH_SAVE;
    }
    if (v->dirty && (!v->run || now - v->last_calc >= RECALC_SECONDS) && a->mode == APP_MODE_COMPARE) {
        recalc(a, v);
        f |= APP_CH_DRAW;
    }
    return f;
}

int compare_view_status(const app *a, char *out, size_t n)
{
    const cview *v = a->compare;
    if (!compare_view_busy(a) || a->mode == APP_MODE_COMPARE)
        return 0;
    int ea, eb;
    compare_run_progress(v->run, 0, &ea, NULL, NULL);
    compare_run_progress(v->run, 1, &eb, NULL, NULL);
    snprintf(out, n, " comparing #%d: A %d/%d, B %d/%d (c shows it) ", (int)v->at, ea, v->nsamples,
             eb, v->nsamples);
    return 1;
}

/* ---- drawing ---- */

static void put_line(app *a, int y, int x, int w, const char *s, unsigned long attr)
{
    view_fill(y, x, w, attr);
    view_puts(a, y, x, w, s, attr);
}

static char *config_line(const compare_result *r, int s)
{
    static const char *const first[] = { "backend", "model" };
    json_t *cfg = r->config[s], *other = r->config[!s];
    buf b = {0};
    const char *key;
    json_t *val;
    for (int pass = 0; pass < 2; pass++)
        json_object_foreach(cfg, key, val) {
            int is_first = !strcmp(key, first[0]) || !strcmp(key, first[1]);
            if (pass == 0 ? !is_first : is_first || json_equal(val, json_object_get(other, key)))
                continue;
            char *t = json_is_string(val) ? xstrdup(json_string_value(val))
                                           : json_dumps(val, JSON_ENCODE_ANY | JSON_REAL_PRECISION(4));
            buf_printf(&b, "%s%s=%s", b.len ? " " : "", key, t ? t : "");
            free(t);
        }
    return buf_steal(&b);
}

/* Draws s word-wrapped over at most maxlines rows from *y (never past ymax); control
 * characters as placeholders (view_put).  The first row gets attr0, the others attr. */
static void put_wrapped(app *a, int *y, int ymax, int x, int w, const char *s, int maxlines,
                        unsigned long attr0, unsigned long attr)
{
    if (w < 4)
        return;
    text_line lines[16];
    size_t len = strlen(s);
    size_t n = text_wrap(s, len, w, 8, TEXT_NL_VISIBLE, lines, 16);
    if (n > 16)
        n = 16;
    for (size_t i = 0; i < n && (int)i < maxlines && *y < ymax; i++, (*y)++) {
        unsigned long at = i ? attr : attr0;
        view_fill(*y, x, w, at);
        view_put(a, *y, x, w, s + lines[i].start, lines[i].end - lines[i].start, at, TEXT_NL_VISIBLE);
    }
}

static void draw_side(app *a, cview *v, int s, int y0, int x, int w, int h)
{
    const compare_result *r = &v->res;
    const compare_stats *st = &r->side[s];
    unsigned long norm = theme_attr(THEME_normal), dim = theme_attr(THEME_dim);
    int y = y0, ymax = y0 + h;
    char line[256];
    /* The name and the config, whole: wrapped, never cut. */
    char *title = xasprintf(" %c: %s", s ? 'B' : 'A', r->name[s]);
    put_wrapped(a, &y, ymax, x, w, title, 3, theme_attr(v->side == s ? THEME_title_focus : THEME_title),
                theme_attr(v->side == s ? THEME_title_focus : THEME_title));
    free(title);
    char *cfg = config_line(r, s);
    put_wrapped(a, &y, ymax, x, w, cfg, 4, dim, dim);
    free(cfg);
    if (v->run) {
        int ended, failed;
        size_t tok;
        compare_run_progress(v->run, s, &ended, &failed, &tok);
        snprintf(line, sizeof line, "sampling %d/%d, %zu tokens%s", ended, v->nsamples, tok,
                 failed ? ", some failed" : "");
        put_line(a, y++, x, w, line, theme_attr(THEME_busy));
    }
    snprintf(line, sizeof line, "%zu samples, %zu groups", st->n, st->ngroups);
    if (r->incomplete[s])
        snprintf(line + strlen(line), sizeof line - strlen(line), ", %zu cut short (left out)", r->incomplete[s]);
    if (r->failed[s])
        snprintf(line + strlen(line), sizeof line - strlen(line), ", %zu failed twice (missing)",
                 json_array_size((json_t *)r->failed[s]));
    put_line(a, y++, x, w, line, norm);
    if (r->failed[s] && json_array_size((json_t *)r->failed[s])) {   /* which, and why */
        char *fl = failed_text((json_t *)r->failed[s]);
        put_wrapped(a, &y, ymax, x, w, fl, 3, theme_attr(THEME_incomplete), theme_attr(THEME_incomplete));
        free(fl);
    }
    snprintf(line, sizeof line, "entropy  %.2f bits, %.2f of max", st->entropy, st->entropy_norm);
    if (r->ci[s].known && !isnan(r->ci[s].entropy.low))   /* 95% bootstrap interval */
        snprintf(line + strlen(line), sizeof line - strlen(line), " [%.2f%s%.2f]", r->ci[s].entropy.low,
                 a->utf8 ? "\xe2\x80\x93" : "-", r->ci[s].entropy.high);
    put_line(a, y++, x, w, line, theme_attr(THEME_entropy));
    if (isnan(st->token_entropy))
        snprintf(line, sizeof line, "token H  unknown (no logprobs)");
    else if (!st->token_entropy_exact && !isnan(st->token_entropy_lower)) {
        char hs[80];
        entropy_format(hs, sizeof hs, st->token_entropy_lower, st->token_entropy_upper, 0, a->utf8);
        snprintf(line, sizeof line, "token H  %s per token", hs);
    } else
        snprintf(line, sizeof line, "token H  %s%.2f bits/token%s", st->token_entropy_exact ? "" : a->utf8 ? "\xe2\x89\xa5" : ">=",
                 st->token_entropy, st->token_entropy_exact ? " exact" : " (top-k bound)");
    put_line(a, y++, x, w, line, theme_attr(THEME_entropy));
    const compare_kl *kl = &r->kl[s];     /* stored by termloom compare (core/compare.h) */
    if (kl->known) {
        snprintf(line, sizeof line, "KL to %c  %.2f nats/token (95%% %.2f-%.2f)", s ? 'A' : 'B', kl->value, kl->low, kl->high);
        if (kl->exact_known)
            snprintf(line + strlen(line), sizeof line - strlen(line), ", exact %.2f", kl->exact);
        put_wrapped(a, &y, ymax, x, w, line, 3, theme_attr(THEME_entropy), theme_attr(THEME_entropy));
    } else {
        char *why = xasprintf("KL to %c  %s", s ? 'A' : 'B', kl->note[0] ? kl->note
                              : "not scored here (termloom compare scores each side's samples under the other's model)");
        put_wrapped(a, &y, ymax, x, w, why, 3, dim, dim);
        free(why);
    }
    snprintf(line, sizeof line, "distinct-1/2/3  %.2f  %.2f  %.2f", st->distinct[0], st->distinct[1], st->distinct[2]);
    put_line(a, y++, x, w, line, norm);
    if (v->calib[s][0])
    {
        unsigned long ca = strstr(v->calib[s], "FLAGGED") ? theme_attr(THEME_incomplete) : dim;
        put_wrapped(a, &y, ymax, x, w, v->calib[s], 2, ca, ca);
    }
    snprintf(line, sizeof line, "shared with %c: %zu group%s, %zu phrase%s", s ? 'A' : 'B', r->nshared,
             r->nshared == 1 ? "" : "s", r->nphrases, r->nphrases == 1 ? "" : "s");
    put_line(a, y++, x, w, line, dim);
    /* Over-represented words and phrases against the other side (log-odds z). */
    buf ob = {0};
    buf_adds(&ob, "over-represented:");
    for (size_t i = 0; i < r->nover[s]; i++)
        buf_printf(&ob, " %s %.1f (%zu/%zu)%s", r->over[s][i].text, r->over[s][i].z, r->over[s][i].count,
                   r->over[s][i].count_other, i + 1 < r->nover[s] ? "," : "");
    if (!r->nover[s])
        buf_adds(&ob, " none (z > 1.96)");
    put_wrapped(a, &y, ymax, x, w, ob.data, 3, theme_attr(THEME_attractor), theme_attr(THEME_attractor));
    buf_free(&ob);
    y++;
    /* Groups as bars, largest first; the selection stays visible. */
    int rows = y0 + h - y;
    v->gy[s] = y;
    v->gx[s] = x;
    v->grows[s] = rows > 0 ? rows : 0;
    if (rows <= 0 || !st->ngroups) {
        if (rows > 0)
            put_line(a, y, x, w, v->run ? "waiting for samples..." : "no samples", dim);
        return;
    }
    if (!v->scrolled[s] && v->sel[s] < v->top[s])
        v->top[s] = v->sel[s];
    if (!v->scrolled[s] && v->sel[s] >= v->top[s] + rows)
        v->top[s] = v->sel[s] - rows + 1;
    if (v->top[s] > (int)st->ngroups - 1)
        v->top[s] = (int)st->ngroups - 1;
    int bw = w / 4 < 6 ? 6 : w / 4 > 20 ? 20 : w / 4;
    const char *full = view_glyph(a, "\xe2\x96\x88", "#"), *empty = view_glyph(a, "\xe2\x96\x91", ".");
    for (int i = 0; i < rows && v->top[s] + i < (int)st->ngroups; i++) {
        size_t g = (size_t)(v->top[s] + i);
        const compare_group *gr = &st->groups[g];
        int selected = v->side == s && (int)g == v->sel[s];
        unsigned long at = selected ? theme_attr(THEME_cursor) : norm;
        view_fill(y + i, x, w, at);
        int filled = (int)lround((double)gr->count / (double)st->n * bw);
        if (filled < 1)
            filled = 1;
        int cx = x;
        for (int k = 0; k < bw && cx < x + w; k++, cx++)
            view_puts(a, y + i, cx, 1, k < filled ? full : empty, selected ? at : theme_attr(THEME_bar));
        int shared = compare_result_match_of(r, s, g) >= 0;
        snprintf(line, sizeof line, " %3zu%s", gr->count, a->utf8 ? "\xc3\x97 " : "x ");
        cx += view_puts(a, y + i, cx, x + w - cx, line, at);
        cx += view_puts(a, y + i, cx, x + w - cx, shared ? view_glyph(a, "\xe2\x89\xa1 ", "= ") : "  ",
                        selected ? at : theme_attr(THEME_attractor));
        const tree_node *n = tree_get(a->ses.t, r->ids[s][gr->rep]);
        if (n && x + w > cx)
            view_put(a, y + i, cx, x + w - cx, n->text, n->text_len, at, TEXT_NL_VISIBLE);
    }
}

/* The panel fills r, the whole screen (its status line included). */
static void compare_draw(app *a, app_rect r)
{
    cview *v = state(a);
    int rows = r.h, cols = r.w;
    unsigned long ta = theme_attr(THEME_title);
    char head[160];
    const tree_node *n = tree_get(a->ses.t, v->at);
    view_fill(0, 0, cols, ta);
    snprintf(head, sizeof head, " Compare  #%d  ", (int)v->at);
    int x = view_puts(a, 0, 0, cols, head, ta);
    if (n) {
        char *path = tree_path_text(a->ses.t, v->at, NULL);
        size_t len = strlen(path), from = len > 200 ? len - 200 : 0;   /* its end matters most */
        while (from > 0 && ((unsigned char)path[from] & 0xC0) == 0x80)
            from++;
        view_put(a, 0, x, cols - x, path + from, len - from, ta, TEXT_NL_VISIBLE);
        free(path);
    }
    int body = rows - 3;      /* title, columns, key help, status line */
    if (!v->have_res) {
        put_line(a, 2, 0, cols, v->res_err ? v->res_err : "no comparison here", theme_attr(THEME_error));
    } else {
        int w = (cols - 1) / 2;
        draw_side(a, v, 0, 1, 0, w, body);
        attrset((attr_t)theme_attr(THEME_tree_lines));
        mvvline(1, w, ACS_VLINE, body);
        attrset(A_NORMAL);
        draw_side(a, v, 1, 1, w + 1, cols - w - 1, body);
    }
    view_status(a, rows - 1, cols);
    {
        unsigned long ka = theme_attr(THEME_dim);
        view_fill(rows - 2, 0, cols, ka);
        view_puts(a, rows - 2, 0, cols,
                  v->run ? " Tab side  \xe2\x86\x91\xe2\x86\x93 group  Enter (or a second click) go to it  x stop sampling  Esc close (sampling goes on)"
                         : " Tab side  \xe2\x86\x91\xe2\x86\x93 group  Enter (or a second click) go to it  r new comparison here  Esc close", ka);
    }
}

/* ---- keys ---- */

static unsigned go_to_group(app *a, cview *v)
{
    const compare_stats *st = &v->res.side[v->side];
    if (!v->have_res || v->sel[v->side] >= (int)st->ngroups)
        return 0;
    int32_t id = v->res.ids[v->side][st->groups[v->sel[v->side]].rep];
    if (!tree_get(a->ses.t, id))
        return 0;
    for (int32_t p = tree_parent(a->ses.t, id); p != TREE_NONE; p = tree_parent(a->ses.t, p))
        tree_set_flag(a->ses.t, p, TREE_FLAG_FOLDED, 0);
    a->mode = APP_MODE_NORMAL;
    app_message(a, 0, "group of %zu on side %c (merge view M folds its members)",
                st->groups[v->sel[v->side]].count, v->side ? 'B' : 'A');
    return app_goto(a, id) | APP_CH_DRAW;
}

static unsigned compare_mouse(app *a, app_rect r, int y, int x, int wheel)
{
    cview *v = state(a);
    if (!v->have_res || y < 1 || y >= r.h - 2 || x == v->gx[1] - 1)
        return 0;                     /* the title, the key help, the status line, the rule */
    int s = x >= v->gx[1];
    int ng = (int)v->res.side[s].ngroups;
    if (wheel) {                      /* scrolls the list under the pointer; sel stays */
        int t = v->top[s] + 3 * wheel, end = ng - v->grows[s];
        v->top[s] = t > end ? (end > 0 ? end : 0) : t < 0 ? 0 : t;
        v->scrolled[s] = 1;
        return APP_CH_DRAW;
    }
    int g = v->top[s] + (y - v->gy[s]);
    v->side = s;
    if (y < v->gy[s] || y >= v->gy[s] + v->grows[s] || g >= ng)
        return APP_CH_DRAW;           /* a click in a column focuses it */
    if (v->sel[s] == g)
        return go_to_group(a, v);     /* the second click on a group: as Enter */
    v->sel[s] = g;
    v->scrolled[s] = 1;               /* the list stays still under the pointer */
    return APP_CH_DRAW;
}

static unsigned compare_key(app *a, int key)
{
    cview *v = state(a);
    v->scrolled[0] = v->scrolled[1] = 0;   /* keys bring the selection back into view */
    size_t ng = v->have_res ? v->res.side[v->side].ngroups : 0;
    int page = a->rows > 20 ? a->rows - 12 : 5;
    switch (key) {
    case 27: case 'q': case 'c':
        a->mode = APP_MODE_NORMAL;
        return APP_CH_DRAW;
    case 9: case 'h': case 'l': case ACTIONS_FN(KEY_LEFT): case ACTIONS_FN(KEY_RIGHT): case ACTIONS_FN(KEY_BTAB):
        v->side = key == 'h' || key == ACTIONS_FN(KEY_LEFT) ? 0 : key == 'l' || key == ACTIONS_FN(KEY_RIGHT) ? 1 : !v->side;
        return APP_CH_DRAW;
    case 'k': case ACTIONS_FN(KEY_UP):
        if (v->sel[v->side] > 0)
            v->sel[v->side]--;
        return APP_CH_DRAW;
    case 'j': case ACTIONS_FN(KEY_DOWN):
        if (v->sel[v->side] + 1 < (int)ng)
            v->sel[v->side]++;
        return APP_CH_DRAW;
    case ACTIONS_FN(KEY_PPAGE):
        v->sel[v->side] = v->sel[v->side] > page ? v->sel[v->side] - page : 0;
        return APP_CH_DRAW;
    case ACTIONS_FN(KEY_NPAGE):
        v->sel[v->side] = v->sel[v->side] + page < (int)ng ? v->sel[v->side] + page : ng ? (int)ng - 1 : 0;
        return APP_CH_DRAW;
    case 13: case 'g':
        return go_to_group(a, v);
    case 'x':
        if (v->run) {
            stop_run(v);
            recalc(a, v);
            app_message(a, 0, "compare: stopped; the samples so far are kept");
            return APP_CH_DRAW | APP_CH_SAVE;
        }
        return 0;
    case 'r':
        if (v->run)
            return 0;
        a->mode = APP_MODE_NORMAL;
        return ask_specs(a, v->specs ? v->specs : "temperature=1 | temperature=0.2 | 32");
    default:
        return 0;
    }
}

void compare_view_free(app *a)
{
    cview *v = a->compare;
    if (!v)
        return;
    stop_run(v);
    if (v->have_res)
        compare_result_free(&v->res);
    free(v->res_err);
    free(v->specs);
    free(v);
    a->compare = NULL;
}

const panel_ops view_compare_ops = { "compare", compare_draw, compare_key, compare_mouse, NULL, compare_view_free };
