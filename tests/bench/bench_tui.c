/* Key-to-frame time of the TUI: the app's own key handler and frame drawing (erase, panels,
 * one doupdate) against a curses screen writing to /dev/null, on trees of 1,000 and
 * 1,000,000 nodes with token data on the path.  Median and worst of 1,000 moves. */
#include "tests/bench.h"
#include "core/mem.h"
#include "core/tree.h"
#include "tui/actions.h"
#include "tui/app.h"
#include <curses.h>
#include <math.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of this thread: with other processes on the machine, wall-clock spikes are the
 * scheduler's; the CPU figure shows the work a key costs. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Root with 8 children, each with 8, ... (breadth first) to n nodes; every node carries a
 * short text and a few tokens with top-5 alternatives. */
static tree *build(int n)
{
    tree *t = tree_new();
    int32_t root = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "Once upon a time", 16);
    static const char *words[] = { " the", " loom", " of", " a", " tree", " branch", " and", " text" };
    for (int i = 1; i < n; i++) {
        int32_t parent = (int32_t)((i - 1) / 8);
        if (parent > root && i > 8)
            parent = (int32_t)(1 + (i - 9) / 8);
        int32_t id = tree_add_child(t, parent, TREE_ORIGIN_MODEL, "", 0);
        for (int k = 0; k < 4; k++) {
            tree_alt alts[5];
            for (int j = 0; j < 5; j++)
                alts[j] = (tree_alt){ words[(i + k + j) % 8], strlen(words[(i + k + j) % 8]), -0.5 - j };
            const char *w = words[(i * 7 + k) % 8];
            tree_append_token(t, id, w, strlen(w), -0.5 - (i + k) % 3, alts, 5, 1);
        }
        tree_set_finish(t, id, "length");
    }
    return t;
}

/* A single chain: every node the only child of the one before. */
static tree *build_chain(int n)
{
    tree *t = tree_new();
    int32_t id = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "Once", 4);
    for (int i = 1; i < n; i++)
        id = tree_add_child(t, id, TREE_ORIGIN_MODEL, " and then", 9);
    return t;
}

/* Full distributions: n nodes (4 children each) of 32 tokens x 2,048 alternatives. */
static tree *build_dist(int n)
{
    tree *t = tree_new();
    tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "Once upon a time", 16);
    enum { NA = 2048 };
    static tree_alt alts[NA];
    static char texts[NA][8];
    for (int j = 0; j < NA; j++) {
        int l = snprintf(texts[j], sizeof texts[j], " w%d", j);
        alts[j] = (tree_alt){ texts[j], (size_t)l, 0 };
    }
    for (int i = 1; i < n; i++) {
        int32_t id = tree_add_child(t, (int32_t)((i - 1) / 4), TREE_ORIGIN_MODEL, "", 0);
        for (int k = 0; k < 32; k++) {
            for (int j = 0; j < NA; j++)
                alts[j].logprob = -1.0 - 0.1 * ((i + k) % 7) - 1.5 * log1p((double)j);
            tree_append_token(t, id, alts[k % 3].text, alts[k % 3].len, alts[k % 3].logprob, alts, NA, 1);
        }
        tree_set_finish(t, id, "length");
    }
    return t;
}

static void run(int nodes, const char *label)
{
    tree *t = !strncmp(label, "1,000 (full", 11) ? build_dist(nodes) : nodes > 0 ? build(nodes) : build_chain(-nodes);
    static app A;
    app *a = &A;
    memset(a, 0, sizeof *a);
    session_init(&a->ses);
    tree_free(a->ses.t);
    a->ses.t = t;
    theme_defaults(&a->th);
    theme_apply(&a->th, 1);
    actions_init();
    /* Start deep in the tree: the last node's parent. */
    int32_t start = tree_parent(t, (int32_t)((nodes > 0 ? nodes : -nodes) - 1));
    app_init_view(a, t, start);
    app_draw(a);
    static const int moves[] = { 'j', 'j', 'k', 'l', 'h', 'j', 'l', 'j', 'h', 'k', 'J', 'K' };
    enum { N = 1000 };
    double dt[N], ct[N];
    for (int i = 0; i < N; i++) {
        int key = moves[(i * 5 + i / 7) % (int)(sizeof moves / sizeof *moves)];
        double c0 = cpu_now();
        double t0 = bench_now();
        app_key(a, key);
        double t1 = bench_now();
        app_draw(a);
        dt[i] = bench_now() - t0;
        ct[i] = cpu_now() - c0;
        if (getenv("BENCH_TUI_TRACE") && dt[i] > 0.002)
            fprintf(stderr, "slow move %d (key %c, cursor %d): handler %.3f ms, frame %.3f ms\n", i, key,
                    (int)a->ses.cursor, (t1 - t0) * 1e3, dt[i] * 1e3);
    }
    qsort(dt, N, sizeof *dt, cmp_double);
    qsort(ct, N, sizeof *ct, cmp_double);
    char l1[128];
    snprintf(l1, sizeof l1, "key-to-frame, %s nodes: median / worst", label);
    bench_report(l1, "%.3f ms / %.3f ms", dt[N / 2] * 1e3, dt[N - 1] * 1e3);
    snprintf(l1, sizeof l1, "  same, CPU time: median / worst");
    bench_report(l1, "%.3f ms / %.3f ms", ct[N / 2] * 1e3, ct[N - 1] * 1e3);
    a->ses.t = t;
    app_free(a);
}

BENCH(tui_key_to_frame)
{
    setlocale(LC_ALL, "C.UTF-8");
    FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
    if (!out || !in) {
        bench_report("key-to-frame", "skipped: no /dev/null");
        return;
    }
    SCREEN *scr = newterm("xterm-256color", out, in);
    if (!scr) {
        bench_report("key-to-frame", "skipped: no xterm-256color terminfo");
        fclose(out);
        fclose(in);
        return;
    }
    set_term(scr);
    resizeterm(40, 160);
    if (has_colors()) {
        start_color();
        use_default_colors();
    }
    run(1000, "1,000");
    run(1000000, "1,000,000");
    run(-100000, "100,000-deep chain of");
    run(1000, "1,000 (full distributions: 32 tokens x 2,048 alternatives)");
    endwin();
    delscreen(scr);
    fclose(out);
    fclose(in);
}
