/* tests/unit/test_llama.c — the forward pass against llama.cpp's recorded distributions:
 * teacher forcing on every recorded step, free greedy decoding up to the first near tie.
 * core/llama.c follows llama.cpp's roundings: base reproduces it to ~2e-5 nats, rl and
 * tuned too but for one tail each (rl 'ROMEO:' from step 13: 0.063 nats; tuned's last
 * case from step 21: 0.015), where one attention value still rounds the other way.
 * Summing a generated token's weighted values in order instead of in llama.cpp's lanes
 * puts tuned 'ROMEO:' 0.21 nats off (this test fails). */
#include "tests/test.h"
#include "core/llama.h"
#include <jansson.h>
#include <stdlib.h>

static void check_model(const char *name)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "gguf/%s.json", name);
    const char *fx = test_fixture(path);
    REQUIRE(fx);
    json_error_t je;
    json_t *root = json_load_file(fx, 0, &je);
    REQUIRE(root);
    snprintf(path, sizeof path, "models/%s.gguf", name);
    llama_model *m = llama_load(path, err, sizeof err);
    REQUIRE(m);
    int nv = llama_n_vocab(m);
    llama_ctx *c = llama_ctx_new(m, 1, 64, 2);
    float *logits = malloc((size_t)nv * sizeof *logits);
    double *lp = malloc((size_t)nv * sizeof *lp);
    double worst_lp = 0, worst_h = 0;
    int nsteps = 0, ncases = 0, greedy_checked = 0;
    size_t ci;
    json_t *cs;
    json_array_foreach(json_object_get(root, "cases"), ci, cs) {
        json_t *pids = json_object_get(cs, "prompt_ids"), *steps = json_object_get(cs, "steps");
        int np = (int)json_array_size(pids);
        int32_t ids[600];
        for (int i = 0; i < np && i < 512; i++)
            ids[i] = (int32_t)json_integer_value(json_array_get(pids, i));
        /* The tokenizer makes the same prompt ids. */
        const char *prompt = json_string_value(json_object_get(cs, "prompt"));
        int32_t *tk;
        size_t nt = bpe_encode(llama_tokenizer(m), prompt, strlen(prompt), 1, &tk);
        CHECKF((int)nt == np && !memcmp(tk, ids, nt * sizeof *tk), "%s: prompt '%s' tokenized differently", name, prompt);
        free(tk);
        REQUIRE(llama_prefill(c, ids, np, logits) == 0);
        for (size_t s = 0; s < json_array_size(steps); s++) {
            json_t *st = json_array_get(steps, s);
            double h = llama_log_softmax(logits, nv, lp);
            double dh = fabs(h - json_real_value(json_object_get(st, "entropy")));
            if (dh > worst_h)
                worst_h = dh;
            CHECKF(dh <= 0.05, "%s '%s' step %zu: entropy %.4f, recorded %.4f", name, prompt, s, h,
                   json_real_value(json_object_get(st, "entropy")));
            size_t ti;
            json_t *t;
            json_array_foreach(json_object_get(st, "top"), ti, t) {
                int id = (int)json_integer_value(json_array_get(t, 0));
                double want = json_real_value(json_array_get(t, 1));
                double d = id >= 0 && id < nv ? fabs(lp[id] - want) : 99;
                if (d > worst_lp)
                    worst_lp = d;
                CHECKF(d <= 0.1, "%s '%s' step %zu: logprob of %d is %.4f, recorded %.4f", name, prompt, s, id,
                       lp[id], want);
            }
            int32_t next = (int32_t)json_integer_value(json_object_get(st, "id"));
            int br = 0;
            llama_decode(c, &next, &br, 1, logits);
            nsteps++;
        }
        /* Free greedy decoding. */
        REQUIRE(llama_prefill(c, ids, np, logits) == 0);
        for (size_t s = 0; s < json_array_size(steps); s++) {
            json_t *st = json_array_get(steps, s), *top = json_object_get(st, "top");
            double gap = json_real_value(json_array_get(json_array_get(top, 0), 1)) -
                         json_real_value(json_array_get(json_array_get(top, 1), 1));
            if (gap < 0.2)
                break;
            int32_t best = 0;
            for (int i = 1; i < nv; i++)
                if (logits[i] > logits[best])
                    best = i;
            int32_t want = (int32_t)json_integer_value(json_object_get(st, "id"));
            CHECKF(best == want, "%s '%s' greedy step %zu: %d, recorded %d", name, prompt, s, best, want);
            if (best != want)
                break;
            greedy_checked++;
            int br = 0;
            llama_decode(c, &best, &br, 1, logits);
        }
        ncases++;
    }
    CHECK(ncases >= 6 && nsteps >= 100 && greedy_checked > 12);
    if (getenv("TERMLOOM_VERBOSE"))
        printf("# %s: %d steps, worst logprob diff %.4f, worst entropy diff %.4f, %d greedy steps\n", name,
               nsteps, worst_lp, worst_h, greedy_checked);
    free(logits);
    free(lp);
    llama_ctx_free(c);
    llama_free(m);
    json_decref(root);
}

TEST(llama_base_matches_llamacpp) { check_model("base"); }
TEST(llama_rl_matches_llamacpp) { check_model("rl"); }
TEST(llama_tuned_matches_llamacpp) { check_model("tuned"); }
