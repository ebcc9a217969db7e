/* The embedded runtime on the shipped models: load time, time to the first token, tokens per
 * second for 1 and 16 branches of 48 tokens (greedy), resident memory per model and per
 * branch, each next to the target (these are figures, never pass/fail). */
#include "tests/bench.h"
#include "core/bpe.h"
#include "core/llama.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GEN     48
#define THREADS 2
#define PROMPT  "ROMEO:"

static double rss_mb(void)                  /* resident now, from /proc/self/statm */
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &size, &res) != 2)
        res = 0;
    fclose(f);
    return (double)res * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

static int argmax(const float *x, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b])
            b = i;
    return b;
}

/* The i-th best of n scores (branches start from distinct tokens, then run greedy). */
static int nth_best(const float *x, int n, int i)
{
    int best[64], k = 0;
    for (; k <= i && k < 64; k++) {
        int b = -1;
        for (int j = 0; j < n; j++) {
            int seen = 0;
            for (int t = 0; t < k; t++)
                seen |= best[t] == j;
            if (!seen && (b < 0 || x[j] > x[b]))
                b = j;
        }
        best[k] = b;
    }
    return best[k - 1];
}

/* Prefill, then `nb` branches of GEN tokens decoded as one batch; seconds for it all. */
static double run_branches(llama_ctx *c, const int32_t *ids, int nids, int nv, int nb, double *first)
{
    float *logits = malloc((size_t)nb * (size_t)nv * sizeof *logits);
    int32_t *tok = malloc((size_t)nb * sizeof *tok);
    int *br = malloc((size_t)nb * sizeof *br);
    double t0 = bench_now();
    llama_prefill(c, ids, nids, logits);
    for (int b = 0; b < nb; b++) {
        tok[b] = nth_best(logits, nv, b);
        br[b] = b;
    }
    if (first)
        *first = bench_now() - t0;
    for (int step = 1; step < GEN; step++) {
        llama_decode(c, tok, br, nb, logits);
        for (int b = 0; b < nb; b++)
            tok[b] = argmax(logits + (size_t)b * nv, nv);
    }
    double t = bench_now() - t0;
    free(logits);
    free(tok);
    free(br);
    return t;
}

BENCH(llama_runtime)
{
    static const char *const names[] = { "base", "tuned", "rl" };
    char err[512], lab[128];
    double base_rss = rss_mb();
    bench_report("process resident before any model", "%.1f MB", base_rss);
    for (int k = 0; k < 3; k++) {
        char path[64];
        snprintf(path, sizeof path, "models/%s.gguf", names[k]);
        double before = rss_mb(), t0 = bench_now();
        llama_model *m = llama_load(path, err, sizeof err);
        double t = bench_now() - t0;
        if (!m) {
            bench_report(path, "failed: %s", err);
            continue;
        }
        snprintf(lab, sizeof lab, "load %s (file in the page cache)", names[k]);
        bench_report(lab, "%.3f s", t);
        snprintf(lab, sizeof lab, "resident after loading %s", names[k]);
        bench_report(lab, "%.1f MB (+%.1f MB; weights %.1f MB)", rss_mb(), rss_mb() - before,
                     llama_weight_bytes(m) / 1048576.0);
        llama_free(m);
    }

    /* Speed and per-branch memory on the base model. */
    double t0 = bench_now();
    llama_model *m = llama_load("models/base.gguf", err, sizeof err);
    double load = bench_now() - t0;
    if (!m) {
        bench_report("models/base.gguf", "failed: %s", err);
        return;
    }
    int32_t *ids;
    int nids = (int)bpe_encode(llama_tokenizer(m), PROMPT, strlen(PROMPT), 1, &ids);
    int nv = llama_n_vocab(m);
    double loaded = rss_mb(), first = 0;

    t0 = bench_now();
    llama_ctx *c = llama_ctx_new(m, 1, GEN, THREADS);
    double mk = bench_now() - t0;
    double t1 = run_branches(c, ids, nids, nv, 1, &first);
    double rss1 = rss_mb() - loaded;
    snprintf(lab, sizeof lab, "first token, \"%s\" (%d ids), load excluded", PROMPT, nids);
    bench_report(lab, "%.1f ms (context set up %.1f ms)", (first + mk) * 1e3, mk * 1e3);
    bench_report("first token, load included", "%.1f ms", (load + mk + first) * 1e3);
    snprintf(lab, sizeof lab, "1 branch x %d tokens, %d threads", GEN, THREADS);
    bench_report(lab, "%.3f s, %.0f tokens/s", t1, GEN / t1);
    llama_ctx_free(c);

    c = llama_ctx_new(m, 16, GEN, THREADS);
    double t16 = run_branches(c, ids, nids, nv, 16, NULL);
    double rss16 = rss_mb() - loaded;
    snprintf(lab, sizeof lab, "16 branches x %d tokens, %d threads", GEN, THREADS);
    bench_report(lab, "%.3f s, %.0f tokens/s (target: under 1.5 s)", t16, 16 * GEN / t16);
    llama_ctx_free(c);

    c = llama_ctx_new(m, 16, GEN, 1);
    double t16s = run_branches(c, ids, nids, nv, 16, NULL);
    snprintf(lab, sizeof lab, "16 branches x %d tokens, 1 thread", GEN);
    bench_report(lab, "%.3f s, %.0f tokens/s", t16s, 16 * GEN / t16s);
    llama_ctx_free(c);

    double per = (rss16 - rss1) / 15;
    bench_report("resident: base model + context for 1 branch", "%.1f MB (target: under 40 + 10 = 50 MB)",
                 loaded + rss1);
    bench_report("resident: base model + context for 16 branches", "%.1f MB (target: under 40 + 160 = 200 MB)",
                 loaded + rss16);
    bench_report("extra per branch ((ctx of 16 - ctx of 1) / 15)", "%.2f MB (target: under 10 MB)", per);
    free(ids);
    llama_free(m);
}
