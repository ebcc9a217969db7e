/* The builtin backend (the embedded Llama model) through the backend interface, as the
 * TUI drives it: model load, time to the first token, k branches x 48 tokens. */
#include "tests/bench.h"
#include "core/llama_backend.h"
#include <stdio.h>
#include <string.h>

typedef struct {
    double t0, first;
    long   tokens;
    int    done;
} timing;

static void on_event(void *ud, const backend_event *ev)
{
    timing *t = ud;
    if (ev->kind == BACKEND_EV_TOKEN && !t->tokens++)
        t->first = bench_now() - t->t0;
    if (ev->kind == BACKEND_EV_REQUEST_END)
        t->done = 1;
}

static void run(backend *b, int k, const char *what)
{
    gen_settings s;
    settings_init(&s);
    s.max_tokens = 48;
    s.seed = 1;
    s.has_seed = 1;
    timing t = { .t0 = bench_now() };
    b->on_event = on_event;
    b->ud = &t;
    char err[256], lab[128];
    if (backend_start(b, "ROMEO:", 6, &s, k, err, sizeof err) < 0) {
        bench_report(what, "failed: %s", err);
        settings_free(&s);
        return;
    }
    while (!t.done) {
        backend_wait(b, NULL, 0, 1000, NULL);
        backend_pump(b);
    }
    double all = bench_now() - t.t0;
    snprintf(lab, sizeof lab, "builtin base, %s", what);
    bench_report(lab, "%.3f s, %.0f tok/s (%ld tokens), first token %.1f ms", all, t.tokens / all,
                 t.tokens, t.first * 1000);
    settings_free(&s);
}

BENCH(builtin_backend)
{
    char err[256];
    size_t rss0 = bench_peak_rss_kb();
    double t0 = bench_now();
    backend *b = llama_backend_new("models/base.gguf", "base", err, sizeof err);
    if (!b) {
        bench_report("builtin base", "failed: %s", err);
        return;
    }
    bench_report("builtin base: load the model", "%.3f s (peak RSS +%zu KB)", bench_now() - t0,
                 bench_peak_rss_kb() - rss0);
    run(b, 1, "1 branch x 48 tokens");
    run(b, 16, "16 branches x 48 tokens");
    run(b, 16, "16 branches x 48 tokens again");
    bench_report("builtin base: peak RSS after 16 branches", "%zu KB", bench_peak_rss_kb());
    backend_free(b);
}
