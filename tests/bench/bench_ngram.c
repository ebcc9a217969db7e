/* Builtin model figures: training time on ~5 MB corpora, generation speed. */
#include "tests/bench.h"
#include "core/mem.h"
#include "core/ngram.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CORPUS_BYTES (5u << 20)

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The shipped corpus cut into sentences, shuffled and repeated to 5 MB. */
static char *shuffled_corpus(size_t *len)
{
    size_t n;
    const char *text = ngram_default_corpus(&n);
    const char **start = NULL;
    size_t *slen = NULL, cnt = 0, cap = 0, cap2 = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && !(text[j] == '.' || text[j] == '\n'))
            j++;
        if (j < n)
            j++;
        xgrow(&start, &cap, cnt + 1, sizeof *start);
        xgrow(&slen, &cap2, cnt + 1, sizeof *slen);
        start[cnt] = text + i;
        slen[cnt++] = j - i;
        i = j;
    }
    buf b = {0};
    uint64_t s = 88172645463325252ULL;
    while (b.len < CORPUS_BYTES) {
        size_t k = rnd(&s) % cnt;
        buf_add(&b, start[k], slen[k]);
    }
    free(start);
    free(slen);
    *len = b.len;
    return buf_steal(&b);
}

/* Zipf-distributed words over a 50,000-word vocabulary: many more distinct n-grams. */
static char *zipf_corpus(size_t *len)
{
    enum { V = 50000 };
    double *cdf = xmalloc(V * sizeof *cdf), tot = 0;
    for (int i = 0; i < V; i++)
        cdf[i] = tot += 1.0 / (i + 1);
    buf b = {0};
    uint64_t s = 0x2545F4914F6CDD1DULL;
    static const char *const syl[] = { "ka", "lo", "mi", "ren", "tu", "sa", "vel", "on", "dri", "ne" };
    while (b.len < CORPUS_BYTES) {
        double x = (double)(rnd(&s) >> 11) * 0x1.0p-53 * tot;
        size_t lo = 0, hi = V - 1;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (cdf[mid] < x) lo = mid + 1; else hi = mid;
        }
        buf_addc(&b, ' ');
        for (size_t w = lo + 1; w; w /= 10)
            buf_adds(&b, syl[w % 10]);
        if (rnd(&s) % 12 == 0)
            buf_adds(&b, rnd(&s) % 3 ? "," : ".\n");
    }
    free(cdf);
    *len = b.len;
    return buf_steal(&b);
}

static void train_figure(const char *label, char *text, size_t len)
{
    char err[256], lab[128];
    double best = 1e9;
    ngram_model *m = NULL;
    for (int r = 0; r < 3; r++) {
        double t0 = bench_now();
        ngram_free(m);
        m = ngram_train(text, len, 4, label, err, sizeof err);
        double t = bench_now() - t0;
        if (t < best)
            best = t;
    }
    if (!m) {
        bench_report(label, "failed: %s", err);
        return;
    }
    snprintf(lab, sizeof lab, "train order 4, %s", label);
    bench_report(lab, "%.3f s (best of 3; %.1f MB, %zu tokens, vocab %zu)", best,
                 len / 1048576.0, ngram_corpus_tokens(m), ngram_vocab_size(m));
    ngram_free(m);
}

BENCH(ngram_train)
{
    size_t len;
    char *text = shuffled_corpus(&len);
    train_figure("shuffled shipped corpus", text, len);
    free(text);
    text = zipf_corpus(&len);
    train_figure("Zipf words, 50k vocab", text, len);
    free(text);
    size_t n;
    ngram_default_corpus(&n);
    char err[256];
    double t0 = bench_now();
    ngram_model *m = ngram_load(NULL, 4, err, sizeof err);
    bench_report("train on the built-in corpus (start-up cost)", "%.4f s (%zu bytes)", bench_now() - t0, n);
    ngram_free(m);
}

static size_t tokens_seen;
static void count_tokens(void *ud, const backend_event *ev)
{
    (void)ud;
    tokens_seen += ev->kind == BACKEND_EV_TOKEN;
}

static void gen_figure(const char *label, const char *corpus_path)
{
    char err[256];
    backend *b = ngram_backend_new(corpus_path, err, sizeof err);
    if (!b) {
        bench_report(label, "failed: %s", err);
        return;
    }
    b->on_event = count_tokens;
    gen_settings s;
    settings_init(&s);
    s.max_tokens = 2000;
    s.logprobs = 5;
    s.seed = 1;
    s.has_seed = 1;
    tokens_seen = 0;
    double t0 = bench_now();
    backend_start(b, "The loom", 8, &s, 16, err, sizeof err);
    while (backend_pump(b) > 0)
        ;
    double t = bench_now() - t0;
    bench_report(label, "%.0f tok/s (%zu tokens, 16 branches, top-5 alternatives)", tokens_seen / t, tokens_seen);
    s.top_p = 0.9;
    s.temperature = 0.8;
    tokens_seen = 0;
    t0 = bench_now();
    backend_start(b, "The loom", 8, &s, 4, err, sizeof err);
    while (backend_pump(b) > 0)
        ;
    t = bench_now() - t0;
    char lab[128];
    snprintf(lab, sizeof lab, "%s, top_p 0.9", label);
    bench_report(lab, "%.0f tok/s (%zu tokens)", tokens_seen / t, tokens_seen);
    settings_free(&s);
    backend_free(b);
}

BENCH(ngram_generate)
{
    gen_figure("generate, built-in corpus", NULL);
    char path[] = "/tmp/termloom-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return;
    size_t len;
    char *text = zipf_corpus(&len);
    if (write(fd, text, len) == (ssize_t)len)
        gen_figure("generate, Zipf 5 MB corpus (50k vocab)", path);
    close(fd);
    unlink(path);
    free(text);
}
