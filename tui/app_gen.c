/* tui/app_gen.c — generation (see app_gen.h): the backend and core/grow, starting
 * branches, what a request's events say on the status line and in the log, the rate. */
#include "tui/app.h"
#include "core/mono.h"
#include "core/mem.h"
#include "tui/undo.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const grow_request *find_request(app *a, int request)
{
    int n = a->gen.g ? grow_active(a->gen.g) : 0;
    for (int i = 0; i < n; i++)
        if (grow_request_at(a->gen.g, i)->request == request)
            return grow_request_at(a->gen.g, i);
    return NULL;
}

/* A failed branch: into the log with its place (parent, branch, node) and why; on the
 * status line too, until its request ends and report_failures sums them up. */
static void log_failure(app *a, const backend_event *ev)
{
    const grow_request *r = find_request(a, ev->request);
    if (!r || ev->branch < 0 || ev->branch >= r->k) {
        app_message(a, 1, "%s", ev->message);
        return;
    }
    char node[32] = "no text";
    if (r->nodes[ev->branch] != TREE_NONE)
        snprintf(node, sizeof node, "node #%d", (int)r->nodes[ev->branch]);
    app_log(a, "under #%d, branch %d of %d (%s) failed: %s", (int)r->parent, ev->branch + 1, r->k, node, ev->message);
    app_message_show(a, 1, 0, ev->message);
}

static void report_failures(app *a, int request)
{
    const grow_request *r = find_request(a, request);
    if (r && r->failed)
        app_message(a, 1, "%s (%d of %d branches under #%d failed; L lists each and why)",
                    a->status.msg && a->status.error ? a->status.msg : "error", r->failed, r->k, (int)r->parent);
}

static void on_grow_event(void *ud, const backend_event *ev)
{
    app *a = ud;
    switch (ev->kind) {
    case BACKEND_EV_ERROR:
        if (ev->message && strcmp(ev->finish ? ev->finish : "", "cancelled"))
            log_failure(a, ev);
        break;
    case BACKEND_EV_STATUS:
        if (ev->message) {
            app_message(a, 0, "%s", ev->message);
            a->status.keep = ev->keep;
        }
        break;
    case BACKEND_EV_REQUEST_END: {
        int n = a->gen.g ? grow_active(a->gen.g) : 0;
        for (int i = 0; i < n; i++) {
            const grow_request *r = grow_request_at(a->gen.g, i);
            if (r->request == ev->request)
                undo_generation_end(a, r->request, r->nodes, r->k);
        }
        a->save.soon = 1;
        report_failures(a, ev->request);
        if (a->gen.g && grow_active(a->gen.g) <= 1 && !a->status.error && !a->status.keep)
            app_message_clear(a);
        break;
    }
    default:
        break;
    }
    a->pending |= APP_CH_DRAW;
}

unsigned app_generate(app *a, int32_t parent, int k)
{
    if (!a->gen.b || !a->gen.g) {
        app_message(a, 1, "no backend: %s", a->gen.err ? a->gen.err : "see the settings (S)");
        return APP_CH_DRAW;
    }
    gen_settings s = a->ses.settings;     /* shallow: the backend copies what it keeps */
    static long long nreq;
    if (s.has_seed)
        s.seed += nreq;                   /* reproducible, yet each request differs */
    nreq++;
    char err[256];
    int req = grow_start(a->gen.g, parent, &s, k, err, sizeof err);
    if (req < 0) {
        app_message(a, 1, "%s", err);
        return APP_CH_DRAW;
    }
    tree_node *p = tree_get(a->ses.t, parent);
    int was_folded = p && (p->flags & TREE_FLAG_FOLDED);
    tree_set_flag(a->ses.t, parent, TREE_FLAG_FOLDED, 0);
    undo_generation(a, req, parent, was_folded);
    if (grow_active(a->gen.g) == 1) {
        a->gen.started = mono_now();
        a->gen.rate_t = a->gen.started;
        a->gen.rate_tokens = grow_tokens_total(a->gen.g);
        a->gen.rate = 0;
    }
    if (!a->status.error)
        app_message_clear(a);
    return APP_CH_DRAW;
}

void app_backend_reset(app *a)
{
    if (a->gen.g) {
        grow_cancel_all(a->gen.g);
        for (int i = 0; i < grow_active(a->gen.g); i++) {   /* requests that never said they ended */
            const grow_request *r = grow_request_at(a->gen.g, i);
            undo_generation_end(a, r->request, r->nodes, r->k);
        }
        grow_free(a->gen.g);
        a->gen.g = NULL;
    }
    backend_free(a->gen.b);
    a->gen.b = NULL;
    char err[512];
    if (app_gen_backend(a, err, sizeof err) < 0) {
        app_message(a, 1, "%s", err);
        return;
    }
    a->gen.g = grow_new(a->ses.t, a->gen.b, on_grow_event, a);
}

void app_stop_streams_in(app *a, int32_t id)
{
    int n = a->gen.g ? grow_active(a->gen.g) : 0;
    for (int i = 0; i < n; i++) {
        const grow_request *r = grow_request_at(a->gen.g, i);
        int inside = 0;
        for (int32_t p = r->parent; p != TREE_NONE && !inside; p = tree_parent(a->ses.t, p))
            inside = p == id;
        for (int k = 0; k < r->k && !inside; k++)
            inside = r->nodes[k] == id;
        if (inside) {
            grow_cancel_all(a->gen.g);      /* branches streaming into it would grow elsewhere */
            return;
        }
    }
}

int app_is_streaming(app *a, int32_t id)
{
    int n = a->gen.g ? grow_active(a->gen.g) : 0;
    for (int i = 0; i < n; i++) {
        const grow_request *r = grow_request_at(a->gen.g, i);
        for (int k = 0; k < r->k; k++)
            if (r->nodes[k] == id)
                return 1;
    }
    return 0;
}

int app_gen_backend(app *a, char *err, size_t n)
{
    a->gen.b = cli_backend_new(&a->ses.settings, a->opts.api_key, err, n);
    if (a->gen.b)
        return 0;
    free(a->gen.err);
    a->gen.err = xstrdup(err);
    return -1;
}

void app_gen_start(app *a)
{
    if (a->gen.b && !a->gen.g)
        a->gen.g = grow_new(a->ses.t, a->gen.b, on_grow_event, a);
}

void app_gen_cancel(app *a)
{
    if (a->gen.g)
        grow_cancel_all(a->gen.g);
}

int app_gen_active(const app *a)
{
    return a->gen.g && grow_active(a->gen.g);
}

unsigned app_gen_tick(app *a, double now)
{
    unsigned f = 0;
    if (!app_gen_active(a))
        return 0;
    if (now - a->gen.last_spin >= 0.1) {
        a->gen.spin++;
        a->gen.last_spin = now;
        f |= APP_CH_DRAW;
    }
    if (now - a->gen.rate_t >= 0.5) {
        size_t tok = grow_tokens_total(a->gen.g);
        double r1 = (double)(tok - a->gen.rate_tokens) / (now - a->gen.rate_t);
        a->gen.rate = a->gen.rate > 0 ? 0.5 * a->gen.rate + 0.5 * r1 : r1;
        a->gen.rate_t = now;
        a->gen.rate_tokens = tok;
    }
    return f;
}

void app_gen_free(app *a)
{
    if (a->gen.g)
        grow_free(a->gen.g);
    a->gen.g = NULL;
    backend_free(a->gen.b);
    a->gen.b = NULL;
    free(a->gen.err);
    a->gen.err = NULL;
}
