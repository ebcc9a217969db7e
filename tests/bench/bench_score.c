/* Scoring given text (teacher forcing) on the embedded runtime: tokens scored per second,
 * one model and two in step (the compare case: each text's logprobs under both models and
 * the exact KL between their whole distributions at every position).  Figures only. */
#include "tests/bench.h"
#include "core/llama.h"
#include "core/score.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXTS  32
#define LEN    48
#define PROMPT "ROMEO:"

BENCH(score_runtime)
{
    char err[512], lab[128];
    llama_model *m0 = llama_load("models/base.gguf", err, sizeof err);
    llama_model *m1 = m0 ? llama_load("models/tuned.gguf", err, sizeof err) : NULL;
    if (!m0 || !m1) {
        bench_report("models/base.gguf, models/tuned.gguf", "failed: %s", err);
        llama_free(m0);
        return;
    }
    const bpe *tk = llama_tokenizer(m0);
    int32_t *ctx;
    int nctx = (int)bpe_encode(tk, PROMPT, strlen(PROMPT), 1, &ctx);
    /* TEXTS continuations of LEN tokens: ordinary ids spread over the vocabulary (scoring
     * costs the same whatever the tokens are). */
    int nv = llama_n_vocab(m0);
    int32_t *buf = malloc((size_t)TEXTS * LEN * sizeof *buf);
    const int32_t *ids[TEXTS];
    int len[TEXTS];
    for (int i = 0; i < TEXTS; i++) {
        for (int t = 0; t < LEN; t++) {
            int32_t v = (int32_t)((i * 7919u + t * 104729u) % (unsigned)nv);
            while (bpe_is_special(tk, v))
                v = (v + 1) % nv;
            buf[i * LEN + t] = v;
        }
        ids[i] = buf + i * LEN;
        len[i] = LEN;
    }
    size_t total = (size_t)TEXTS * LEN;
    double *lp0 = malloc(total * sizeof *lp0), *lp1 = malloc(total * sizeof *lp1), *kl = malloc(total * sizeof *kl);
    score_out one = { lp0, NULL, NULL, NULL }, two = { lp0, lp1, kl, NULL };

    double t0 = bench_now();
    int rc = score_tokens(m0, NULL, ctx, nctx, ids, len, 1, &one, err, sizeof err);
    double t1 = bench_now() - t0;
    snprintf(lab, sizeof lab, "score 1 text x %d tokens, base", LEN);
    if (rc < 0)
        bench_report(lab, "failed: %s", err);
    else
        bench_report(lab, "%.3f s, %.0f tokens/s", t1, LEN / t1);

    t0 = bench_now();
    rc = score_tokens(m0, NULL, ctx, nctx, ids, len, TEXTS, &one, err, sizeof err);
    double tn = bench_now() - t0;
    snprintf(lab, sizeof lab, "score %d texts x %d tokens, base", TEXTS, LEN);
    if (rc < 0)
        bench_report(lab, "failed: %s", err);
    else
        bench_report(lab, "%.3f s, %.0f tokens/s", tn, (double)total / tn);

    t0 = bench_now();
    rc = score_tokens(m0, m1, ctx, nctx, ids, len, TEXTS, &two, err, sizeof err);
    double t2 = bench_now() - t0;
    snprintf(lab, sizeof lab, "score %d texts x %d tokens, base + tuned + exact KL", TEXTS, LEN);
    if (rc < 0)
        bench_report(lab, "failed: %s", err);
    else
        bench_report(lab, "%.3f s, %.0f tokens/s (a compare of 32 samples a side: about %.1f s)",
                     t2, (double)total / t2, 2 * t2);
    free(lp0);
    free(lp1);
    free(kl);
    free(buf);
    free(ctx);
    llama_free(m0);
    llama_free(m1);
}
