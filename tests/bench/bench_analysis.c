/* Merge and attractor analysis: a full pass over 100,000 and 1,000,000-node trees (so the
 * growth rate shows) and the cost of one added branch on the 100,000-node tree. */
#include "tests/bench.h"
#include "core/attractor.h"
#include "core/mem.h"
#include "core/merge.h"
#include "core/session.h"
#include "core/tree.h"
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* CPU seconds of this process: the machine may be shared, so both figures are shown. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bytes in use on the heap (glibc). */
static size_t heap_now(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static uint64_t rs = 88172645463325252ull;
static uint32_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)rs;
}

static const char *syl[] = { "ka", "lo", "mi", "ren", "tos", "vel", "an", "dor", "is", "qua",
                             "ber", "ul", "fen", "sa", "tri", "go", "pem", "ox", "lu", "wi" };
static const char *pool[] = {
    " I cannot help with that.", " As an AI language model, I do not have personal opinions.",
    " The answer is 42.", " Once upon a time, in a land far away, there lived a king.",
    " It was a dark and stormy night.", " Thank you for your question!",
    " In conclusion, it depends on many factors.", " Sure! Here is a short poem about the sea.",
};

/* A model-like continuation: mostly fresh words (8000-word vocabulary), sometimes a pool
 * sentence respelled, sometimes a recurring phrase inside fresh words. */
static void text(buf *b)
{
    buf_clear(b);
    uint32_t k = rnd() % 100;
    if (k < 6) {
        const char *s = pool[rnd() % 8];
        for (const char *c = s; *c; c++)
            buf_addc(b, (rnd() % 9 == 0 && *c >= 'a' && *c <= 'z') ? (char)(*c - 32) : *c);
        return;
    }
    uint32_t n = 5 + rnd() % 16;
    for (uint32_t i = 0; i < n; i++) {
        if (k < 10 && i == n / 2)
            buf_adds(b, " it is important to remember that");
        buf_addc(b, ' ');
        for (int s = 0; s < 3; s++)
            buf_adds(b, syl[rnd() % 20]);
    }
    buf_addc(b, '.');
}

/* n nodes, 8 children per internal node, grown breadth first. */
static tree *build(size_t n)
{
    tree *t = tree_new();
    tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "Prompt", 6);
    buf b = {0};
    for (size_t i = 1; i < n; i++) {
        text(&b);
        tree_add_child(t, (int32_t)((i - 1) / 8), TREE_ORIGIN_MODEL, b.data, b.len);
    }
    buf_free(&b);
    return t;
}

static void full(size_t n, const char *label)
{
    tree *t = build(n);
    char l[96];
    size_t h0 = heap_now();
    double c0 = cpu_now(), t0 = bench_now();
    merge_index *m = merge_index_new(t, MERGE_DEFAULT_THRESHOLD);
    size_t groups = 0;
    for (int32_t id = 0; id < tree_capacity(t); id++) {
        merge_group *g;
        groups += merge_groups(m, id, &g);
        free(g);
    }
    double t1 = bench_now(), c1 = cpu_now();
    size_t h1 = heap_now();
    attractor_index *a = attractor_index_new(t, MERGE_DEFAULT_THRESHOLD, ATTRACTOR_DEFAULT_MIN_CONTEXTS);
    const attractor *list;
    size_t na = attractor_list(a, &list);
    double t2 = bench_now(), c2 = cpu_now();
    size_t h2 = heap_now();
    size_t cont = 0;
    for (size_t i = 0; i < na; i++)
        cont += list[i].kind == ATTRACTOR_CONTINUATION;
    snprintf(l, sizeof l, "%s: sibling groups (%zu groups)", label, groups);
    bench_report(l, "%.3f s (cpu %.3f s)", t1 - t0, c1 - c0);
    snprintf(l, sizeof l, "%s: attractors (%zu continuation, %zu phrase)", label, cont, na - cont);
    bench_report(l, "%.3f s (cpu %.3f s)", t2 - t1, c2 - c1);
    snprintf(l, sizeof l, "%s: full analysis", label);
    bench_report(l, "%.3f s (cpu %.3f s)", t2 - t0, c2 - c0);
    snprintf(l, sizeof l, "%s: index memory per node (groups, attractors)", label);
    bench_report(l, "%.0f + %.0f bytes", (double)(h1 - h0) / (double)n, (double)(h2 - h1) / (double)n);
    snprintf(l, sizeof l, "%s: peak RSS so far", label);
    bench_report(l, "%zu MB", bench_peak_rss_kb() / 1024);
    if (n == 100000) {
        /* added branches: one node of 5..20 words under a random node, then the updates
         * that a frame needs (its parent's groups, the attractor index) */
        buf b = {0};
        const int K = 2000;
        double tt = 0, tl = 0;
        for (int i = 0; i < K; i++) {
            text(&b);
            int32_t p = (int32_t)(rnd() % (uint32_t)tree_capacity(t));
            double s0 = bench_now();
            int32_t id = tree_add_child(t, p, TREE_ORIGIN_MODEL, b.data, b.len);
            merge_group *g;
            free((merge_groups(m, p, &g), g));
            attractor_version(a);
            (void)id;
            double s1 = bench_now();
            tt += s1 - s0;
            if (i % 100 == 0) {
                attractor_list(a, &list);
                tl += bench_now() - s1;
            }
        }
        bench_report("100k: added branch (index update)", "%.1f us", tt / K * 1e6);
        bench_report("100k: attractor list rebuilt after a change", "%.2f ms", tl / (K / 100) * 1e3);
        /* the same list made in the TUI's slices (attractor_list_step, 256 units a slice) */
        text(&b);
        tree_add_child(t, 0, TREE_ORIGIN_MODEL, b.data, b.len);
        attractor_version(a);
        size_t slices = 0;
        double worst = 0, all0 = bench_now();
        for (int r = 0; r == 0; slices++) {
            double s0 = bench_now();
            r = attractor_list_step(a, 256);
            if (bench_now() - s0 > worst)
                worst = bench_now() - s0;
        }
        bench_report("100k: attractor list in slices of 256 units", "%zu slices, longest %.2f ms, all %.1f ms (target: a slice < 8 ms)",
                     slices, worst * 1e3, (bench_now() - all0) * 1e3);
        /* one streamed branch: 20 tokens appended one by one, index updated after each */
        double s0 = bench_now();
        for (int i = 0; i < 100; i++) {
            int32_t p = (int32_t)(rnd() % (uint32_t)tree_capacity(t));
            int32_t id = tree_add_child(t, p, TREE_ORIGIN_MODEL, "", 0);
            for (int k = 0; k < 20; k++) {
                tree_append_text(t, id, " tokenish", 9);
                merge_count(m, id);
                attractor_version(a);
            }
        }
        bench_report("100k: streamed branch of 20 tokens, update per token", "%.1f us", (bench_now() - s0) / 100 / 20 * 1e6);
        buf_free(&b);
    }
    attractor_index_free(a);
    merge_index_free(m);
    tree_free(t);
}

BENCH(analysis_100k) { full(100000, "100k"); }
BENCH(analysis_1m) { full(1000000, "1M"); }

/* Crowded LSH buckets: 3..12 words from a 7-word vocabulary under random parents.  Most
 * texts share band keys without being similar; a class costs at most 8 comparisons per crowded
 * band, so doubling the tree about doubles the time. */
static const char *tiny[] = { "the", "cat", "sat", "on", "mat", "dog", "ran" };

static void crowded(size_t n)
{
    tree *t = tree_new();
    tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "Prompt", 6);
    buf b = {0};
    for (size_t i = 1; i < n; i++) {
        buf_clear(&b);
        uint32_t k = 3 + rnd() % 10;
        for (uint32_t w = 0; w < k; w++) {
            buf_addc(&b, ' ');
            buf_adds(&b, tiny[rnd() % 7]);
        }
        tree_add_child(t, (int32_t)(rnd() % i), TREE_ORIGIN_MODEL, b.data, b.len);
    }
    double c0 = cpu_now(), t0 = bench_now();
    attractor_index *a = attractor_index_new(t, MERGE_DEFAULT_THRESHOLD, ATTRACTOR_DEFAULT_MIN_CONTEXTS);
    const attractor *list;
    size_t na = attractor_list(a, &list);
    double t1 = bench_now(), c1 = cpu_now();
    char l[96];
    snprintf(l, sizeof l, "crowded buckets, %zuk nodes: attractors (%zu)", n / 1000, na);
    bench_report(l, "%.3f s (cpu %.3f s)", t1 - t0, c1 - c0);
    const int K = 200;
    for (int i = 0; i < K; i++) {
        buf_clear(&b);
        for (uint32_t w = 0, k = 3 + rnd() % 10; w < k; w++) {
            buf_addc(&b, ' ');
            buf_adds(&b, tiny[rnd() % 7]);
        }
        tree_add_child(t, (int32_t)(rnd() % (uint32_t)tree_capacity(t)), TREE_ORIGIN_MODEL, b.data, b.len);
        attractor_version(a);
    }
    snprintf(l, sizeof l, "crowded buckets, %zuk nodes: added branch", n / 1000);
    bench_report(l, "%.0f us", (bench_now() - t1) / K * 1e6);
    buf_free(&b);
    attractor_index_free(a);
    tree_free(t);
}

BENCH(analysis_crowded) { crowded(25000); crowded(50000); }

/* Many siblings of one node (a 1M-branch fan-out): grouping compares a child with the first
 * 64 groups and then only with the groups that share a key with it, so it grows about
 * linearly (the exhaustive rule took 1.3 s at 10k and 22 s at 40k). */
static void siblings(size_t n, const char *label)
{
    tree *t = tree_new();
    int32_t r = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "Prompt", 6);
    buf b = {0};
    for (size_t i = 0; i < n; i++) {
        text(&b);
        tree_add_child(t, r, TREE_ORIGIN_MODEL, b.data, b.len);
    }
    double c0 = cpu_now(), t0 = bench_now();
    merge_index *m = merge_index_new(t, MERGE_DEFAULT_THRESHOLD);
    merge_group *g;
    size_t ng = merge_groups(m, r, &g);
    free(g);
    double t1 = bench_now(), c1 = cpu_now();
    char l[96];
    snprintf(l, sizeof l, "%s siblings of one node: grouping (%zu groups)", label, ng);
    bench_report(l, "%.3f s (cpu %.3f s)", t1 - t0, c1 - c0);
    buf_free(&b);
    merge_index_free(m);
    tree_free(t);
}

BENCH(analysis_siblings) { siblings(10000, "10k"); siblings(40000, "40k"); siblings(1000000, "1M"); }

/* Issue 18's crowded tree: n nodes of 16 words drawn from a 12-word vocabulary (seeded), 5
 * children per node grown breadth first: what `termloom stats` analyses (the sibling groups
 * of every node, then the attractors), beside its targets (1 s at 20k, 5 s at 100k). */
static const char *voc12[] = { "the", "cat", "sat", "on", "mat", "dog", "ran", "far",
                               "and", "a", "red", "sun" };

static tree *build_tiny16(size_t n, uint64_t seed)
{
    uint64_t keep = rs;
    rs = seed;
    tree *t = tree_new();
    tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "Prompt", 6);
    buf b = {0};
    for (size_t i = 1; i < n; i++) {
        buf_clear(&b);
        for (int w = 0; w < 16; w++) {
            buf_addc(&b, ' ');
            buf_adds(&b, voc12[rnd() % 12]);
        }
        tree_add_child(t, (int32_t)((i - 1) / 5), TREE_ORIGIN_MODEL, b.data, b.len);
    }
    buf_free(&b);
    rs = keep;
    return t;
}

/* `termloom stats FILE` of t saved as a session, as a user runs it (load, every section,
 * the report); frees t. */
static void stats_command(tree *t, const char *label, double target)
{
    session s;
    session_init(&s);
    tree_free(s.t);
    s.t = t;
    s.cursor = tree_root(t);
    char path[64], err[256], l[112];
    snprintf(path, sizeof path, "/tmp/termloom-bench-stats-%ld.json", (long)getpid());
    snprintf(l, sizeof l, "%s nodes of 16 words from 12: `termloom stats` (target < %.0f s)", label, target);
    if (session_save(&s, path, err, sizeof err) < 0) {
        bench_report(l, "FAILED: %s", err);
        session_free(&s);
        return;
    }
    session_free(&s);
    const char *bin = getenv("TERMLOOM_BIN") ? getenv("TERMLOOM_BIN") : "./termloom";
    char *argv[] = { (char *)bin, "stats", path, NULL };
    double secs = bench_command(argv, NULL);
    if (secs < 0)
        bench_report(l, "FAILED (TERMLOOM_BIN=%s)", bin);
    else
        bench_report(l, "%.3f s", secs);
    unlink(path);
}

static void tiny16(size_t n, const char *label, double target)
{
    tree *t = build_tiny16(n, 0x9e3779b97f4a7c15ull);
    double c0 = cpu_now(), t0 = bench_now();
    merge_index *m = merge_index_new(t, MERGE_DEFAULT_THRESHOLD);
    size_t groups = 0;
    for (int32_t id = 0; id < tree_capacity(t); id++) {
        merge_group *g;
        groups += merge_groups(m, id, &g);
        free(g);
    }
    merge_index_free(m);
    double t1 = bench_now();
    attractor_index *a = attractor_index_new(t, MERGE_DEFAULT_THRESHOLD, ATTRACTOR_DEFAULT_MIN_CONTEXTS);
    const attractor *list;
    size_t na = attractor_list(a, &list);
    double t2 = bench_now(), c2 = cpu_now();
    char l[112];
    snprintf(l, sizeof l, "%s nodes of 16 words from 12: sibling groups (%zu)", label, groups);
    bench_report(l, "%.3f s", t1 - t0);
    snprintf(l, sizeof l, "%s nodes of 16 words from 12: attractors (%zu)", label, na);
    bench_report(l, "%.3f s", t2 - t1);
    snprintf(l, sizeof l, "%s nodes of 16 words from 12: analysis (target < %.0f s)", label, target);
    bench_report(l, "%.3f s (cpu %.3f s)", t2 - t0, c2 - c0);
    attractor_index_free(a);
    stats_command(t, label, target);
}

BENCH(analysis_tiny16) { tiny16(20000, "20k", 1); }
BENCH(analysis_tiny16_100k) { tiny16(100000, "100k", 5); }

/* Issue 18's worse case: n siblings of one node, nw words from the 12-word vocabulary, each
 * a fixed sentence with two words replaced at random (near-identical), or (rand16) random
 * words: no two alike, so every child is compared with the first 64 groups. */
static void tiny_siblings(size_t n, int nw, int rand16, const char *label)
{
    uint64_t keep = rs;
    rs = 0x243f6a8885a308d3ull;
    tree *t = tree_new();
    int32_t r = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "Prompt", 6);
    buf b = {0};
    for (size_t i = 0; i < n; i++) {
        int w1 = (int)(rnd() % (uint32_t)nw), w2 = (int)(rnd() % (uint32_t)nw);
        buf_clear(&b);
        for (int w = 0; w < nw; w++) {
            buf_addc(&b, ' ');
            buf_adds(&b, voc12[rand16 || w == w1 || w == w2 ? rnd() % 12 : (uint32_t)(w * 5) % 12]);
        }
        tree_add_child(t, r, TREE_ORIGIN_MODEL, b.data, b.len);
    }
    buf_free(&b);
    rs = keep;
    double c0 = cpu_now(), t0 = bench_now();
    merge_index *m = merge_index_new(t, MERGE_DEFAULT_THRESHOLD);
    merge_group *g;
    size_t ng = merge_groups(m, r, &g);
    free(g);
    merge_index_free(m);
    double t1 = bench_now();
    attractor_index *a = attractor_index_new(t, MERGE_DEFAULT_THRESHOLD, ATTRACTOR_DEFAULT_MIN_CONTEXTS);
    const attractor *list;
    size_t na = attractor_list(a, &list);
    double t2 = bench_now(), c2 = cpu_now();
    char l[112];
    snprintf(l, sizeof l, "%s siblings, %d words from 12: grouping (%zu groups)", label, nw, ng);
    bench_report(l, "%.3f s", t1 - t0);
    snprintf(l, sizeof l, "%s siblings, %d words from 12: attractors (%zu)", label, nw, na);
    bench_report(l, "%.3f s", t2 - t1);
    snprintf(l, sizeof l, "%s siblings, %d words from 12: analysis", label, nw);
    bench_report(l, "%.3f s (cpu %.3f s)", t2 - t0, c2 - c0);
    attractor_index_free(a);
    tree_free(t);
}

BENCH(analysis_tiny_siblings) { tiny_siblings(300000, 16, 0, "300k near-identical"); tiny_siblings(300000, 5, 0, "300k near-identical"); }
BENCH(analysis_tiny_random_siblings) { tiny_siblings(100000, 16, 1, "100k random"); }
BENCH(analysis_tiny_random_siblings_300k) { tiny_siblings(300000, 16, 1, "300k random"); }
