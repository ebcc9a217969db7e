/* tests/bench/bench_net.c — the HTTP backends against tests/tools/testserver on 127.0.0.1:
 *  - fan-out: k = 1, 4, 16 branches with a fixed 300 ms server latency, as one n=k request
 *    (openai) and as k parallel requests (llamacpp native); wall time of k ÷ wall time of one.
 *    Target: k = 16 within 1.05 × one + 20 ms.
 *  - client CPU per streamed token (parse + events + tree), server without latency. */
#include "tests/bench.h"
#include "tests/spawn.h"
#include "core/grow.h"
#include "core/mem.h"
#include "net/net.h"
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t server_pid;

static int server_start(const char *args)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tools/testserver", bench_build_dir());
    char *all = xasprintf("--lifetime 120 --idle 30 %s", args);
    int port = 0;
    server_pid = spawn_testserver(path, all, &port);
    free(all);
    return server_pid > 0 ? port : -1;
}

static void server_stop(void)
{
    spawn_stop(server_pid);
    server_pid = 0;
}

typedef struct { size_t tokens; int errors; } counts;

static void after(void *ud, const backend_event *ev)
{
    counts *c = ud;
    if (ev->kind == BACKEND_EV_TOKEN)
        c->tokens++;
    if (ev->kind == BACKEND_EV_ERROR)
        c->errors++;
}

/* One generation of k branches; returns wall seconds (-1 on failure). */
static double generate(backend *b, const gen_settings *s, int k, counts *c)
{
    tree *t = tree_new();
    int32_t root = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "Once", 4);
    grow *g = grow_new(t, b, after, c);
    char err[300];
    double t0 = bench_now();
    if (grow_start(g, root, s, k, err, sizeof err) < 0) {
        fprintf(stderr, "bench_net: %s\n", err);
        grow_free(g);
        tree_free(t);
        return -1;
    }
    while (grow_active(g) && bench_now() - t0 < 60) {
        int ready;
        backend_wait(b, NULL, 0, 100, &ready);
        backend_pump(b);
    }
    double dt = bench_now() - t0;
    grow_free(g);
    tree_free(t);
    return dt;
}

static void settings_for(gen_settings *s, const char *bk, int port, int max_tokens)
{
    settings_init(s);
    free(s->backend);
    s->backend = xstrdup(bk);
    s->base_url = xasprintf("http://127.0.0.1:%d%s", port, strcmp(bk, "llamacpp") ? "/v1" : "");
    s->model = xstrdup("bench");
    s->max_tokens = max_tokens;
    s->concurrency = 64;
}

static double median3(double a, double b, double c)
{
    return a > b ? (b > c ? b : a > c ? c : a) : (a > c ? a : b > c ? c : b);
}

BENCH(net_fanout)
{
    int port = server_start("--latency 300");
    if (port <= 0) {
        bench_report("net fan-out", "test server did not start");
        return;
    }
    const char *modes[] = { "openai", "llamacpp" };
    const char *names[] = { "one request with n=k", "k parallel requests" };
    for (int m = 0; m < 2; m++) {
        gen_settings s;
        settings_for(&s, modes[m], port, 16);
        char err[300];
        backend *b = net_backend_new(&s, NULL, err, sizeof err);
        counts c = { 0, 0 };
        generate(b, &s, 1, &c);   /* warm-up: connection set up */
        double one = 0;
        int ks[] = { 1, 4, 16 };
        for (int i = 0; i < 3; i++) {
            double r[3];
            for (int j = 0; j < 3; j++)
                r[j] = generate(b, &s, ks[i], &c);
            double w = median3(r[0], r[1], r[2]);
            if (i == 0)
                one = w;
            char label[96];
            snprintf(label, sizeof label, "%s, k=%d: wall (median of 3)", names[m], ks[i]);
            bench_report(label, "%.1f ms  (k/one %.3f%s)", w * 1000, w / one,
                         ks[i] == 16 ? (w <= 1.05 * one + 0.020 ? ", target met" : ", TARGET MISSED") : "");
        }
        if (c.errors)
            bench_report("errors", "%d", c.errors);
        backend_free(b);
        settings_free(&s);
    }
    server_stop();
}

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

BENCH(net_cpu_per_token)
{
    int port = server_start("");
    if (port <= 0) {
        bench_report("net CPU per token", "test server did not start");
        return;
    }
    const char *modes[] = { "openai", "llamacpp" };
    const char *names[] = { "openai stream, n=16 x 1000 tokens", "llamacpp stream, 16 x 1000 tokens" };
    for (int m = 0; m < 2; m++) {
        gen_settings s;
        settings_for(&s, modes[m], port, 1000);
        char err[300];
        backend *b = net_backend_new(&s, NULL, err, sizeof err);
        counts c = { 0, 0 };
        double c0 = cpu_now();
        double w = generate(b, &s, 16, &c);
        double cpu = cpu_now() - c0;
        char label[96];
        snprintf(label, sizeof label, "%s: client CPU per token", names[m]);
        bench_report(label, "%.2f us  (%zu tokens, %.0f ms CPU, %.0f ms wall)", cpu * 1e6 / (double)(c.tokens ? c.tokens : 1),
                     c.tokens, cpu * 1000, w * 1000);
        backend_free(b);
        settings_free(&s);
    }
    server_stop();
}
