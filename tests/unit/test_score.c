/* tests/unit/test_score.c — teacher forcing (core/score.h) on the shipped models: scoring
 * what the builtin backend sampled gives back the logprobs it reported, a model is at KL 0
 * from itself, and a comparison's divergence follows from the two models. */
#include "tests/test.h"
#include "core/compare.h"
#include "core/llama_backend.h"
#include "core/mem.h"
#include "core/score.h"
#include "core/session.h"
#include "core/refscore.h"
#include <poll.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#define BASE  "models/base.gguf"
#define TUNED "models/tuned.gguf"
#define K     6

typedef struct {
    tree   *t;
    int32_t node[K];
    double  lp[K][64];           /* logprobs as the backend reported them (double) */
    int     n[K];
    int     end;
} sampled;

static void on_event(void *ud, const backend_event *ev)
{
    sampled *s = ud;
    if (ev->kind == BACKEND_EV_REQUEST_END)
        s->end = 1;
    if (ev->kind != BACKEND_EV_TOKEN || ev->branch < 0 || ev->branch >= K)
        return;
    int b = ev->branch;
    if (s->n[b] < 64)
        s->lp[b][s->n[b]++] = ev->logprob;
    tree_append_token(s->t, s->node[b], ev->text, ev->len, ev->logprob, NULL, 0, 1);
}

/* K samples of ROMEO: from the base model, recorded in a tree as the TUI records them. */
static int sample_base(backend *b, sampled *s, int max_tokens)
{
    memset(s, 0, sizeof *s);
    s->t = tree_new();
    int32_t root = tree_add_child(s->t, TREE_NONE, TREE_ORIGIN_PROMPT, "ROMEO:", 6);
    for (int i = 0; i < K; i++)
        s->node[i] = tree_add_child(s->t, root, TREE_ORIGIN_MODEL, "", 0);
    gen_settings g;
    settings_init(&g);
    g.max_tokens = max_tokens;
    g.temperature = 1.0;
    g.seed = 5;
    g.has_seed = 1;
    b->on_event = on_event;
    b->ud = s;
    char err[256];
    int ok = backend_start(b, "ROMEO:", 6, &g, K, err, sizeof err) >= 0;
    settings_free(&g);
    for (int spins = 0; ok && spins < 200000 && !s->end; spins++) {
        backend_wait(b, NULL, 0, 1000, NULL);
        backend_pump(b);
    }
    return ok && s->end;
}

TEST(score_reproduces_recorded_logprobs)
{
    char err[256];
    backend *b = llama_backend_new(BASE, "base", err, sizeof err);
    REQUIRE(b);
    sampled s;
    REQUIRE(sample_base(b, &s, 24));
    const llama_model *m = llama_backend_model(b);
    const bpe *tk = llama_tokenizer(m);
    int32_t *cx, *none, *ids[K];
    int ncx, nnone, len[K], total = 0;
    score_split(tk, "ROMEO:", 6, "", 0, &cx, &ncx, &none, &nnone);
    free(none);
    CHECK_INT(nnone, 0);
    for (int i = 0; i < K; i++) {
        len[i] = score_node_ids(tk, tree_get(s.t, s.node[i]), &ids[i]);
        REQUIRE(len[i] == s.n[i]);           /* the recorded tokens are whole vocabulary entries */
        total += len[i];
    }
    REQUIRE(total > K);
    double *lp = xmalloc((size_t)total * sizeof *lp), *kl = xmalloc((size_t)total * sizeof *kl);
    score_out out = { lp, NULL, kl, NULL };
    /* Under the model that sampled them, KL(x || x) = 0 at every position. */
    REQUIRE(score_tokens(m, m, cx, ncx, (const int32_t *const *)ids, len, K, &out, err, sizeof err) == 0);
    double worst = 0, klmax = 0;
    for (int i = 0, at = 0; i < K; at += len[i], i++)
        for (int j = 0; j < len[i]; j++) {
            double d = fabs(lp[at + j] - s.lp[i][j]);
            worst = d > worst ? d : worst;
            klmax = kl[at + j] > klmax ? kl[at + j] : klmax;
        }
    CHECKF(worst <= 1e-5, "rescored logprobs differ from the recorded ones by %g", worst);
    CHECK(klmax == 0);
    for (int i = 0; i < K; i++)
        free(ids[i]);
    free(lp);
    free(kl);
    free(cx);
    tree_free(s.t);
    backend_free(b);
}

TEST(score_two_models_in_step)
{
    /* m1's column is the same as scoring under m1 alone, and the two KLs are positive. */
    char err[256];
    const llama_model *a = llama_backend_model_acquire(BASE, err, sizeof err);
    const llama_model *t = llama_backend_model_acquire(TUNED, err, sizeof err);
    REQUIRE(a && t);
    const bpe *tk = llama_tokenizer(a);
    int32_t *cx, *ids;
    int ncx, n;
    const char *text = " But soft, what light through yonder window breaks?";
    score_split(tk, "ROMEO:", 6, text, strlen(text), &cx, &ncx, &ids, &n);
    REQUIRE(n > 5);
    double lp0[64], lp1[64], k01[64], k10[64], alone[64];
    REQUIRE(n <= 64);
    score_out both = { lp0, lp1, k01, k10 }, one = { alone, NULL, NULL, NULL };
    const int32_t *const v[1] = { ids };
    REQUIRE(score_tokens(a, t, cx, ncx, v, &n, 1, &both, err, sizeof err) == 0);
    REQUIRE(score_tokens(t, NULL, cx, ncx, v, &n, 1, &one, err, sizeof err) == 0);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        CHECK_NEAR(lp1[i], alone[i], 1e-9);
        CHECK(k01[i] >= 0 && k10[i] >= 0);
        CHECK(lp0[i] <= 0);
        sum += k01[i] + k10[i];
    }
    CHECK(sum > 0.1);
    free(cx);
    free(ids);
    llama_backend_model_release(a);
    llama_backend_model_release(t);
}

TEST(score_split_and_recorded_ids)
{
    char err[256];
    const llama_model *m = llama_backend_model_acquire(BASE, err, sizeof err);
    REQUIRE(m);
    const bpe *tk = llama_tokenizer(m);
    int32_t *cx, *ids, *all;
    int ncx, n;
    score_split(tk, "ROMEO:", 6, " Good night", 11, &cx, &ncx, &ids, &n);
    size_t na = bpe_encode(tk, "ROMEO: Good night", 17, bpe_adds_bos(tk), &all);
    REQUIRE(n > 0 && (size_t)(ncx + n) == na);
    CHECK(!memcmp(cx, all, (size_t)ncx * sizeof *cx));
    CHECK(!memcmp(ids, all + ncx, (size_t)n * sizeof *ids));
    CHECK_INT(cx[0], bpe_bos(tk));
    /* A node whose tokens spell its text maps to those ids; one cut short does not. */
    tree *t = tree_new();
    int32_t id = tree_add_child(t, TREE_NONE, TREE_ORIGIN_MODEL, "", 0);
    for (int i = 0; i < n; i++) {
        size_t l;
        const char *p = bpe_piece(tk, ids[i], &l);
        tree_append_token(t, id, p, l, -1.0, NULL, 0, 1);
    }
    int32_t *got;
    REQUIRE(score_node_ids(tk, tree_get(t, id), &got) == n);
    CHECK(!memcmp(got, ids, (size_t)n * sizeof *got));
    free(got);
    tree_append_token(t, id, "ht", 1, -1.0, NULL, 0, 1);   /* a token cut by a stop string: "h" */
    tree_append_text(t, id, "x", 1);                          /* and text no token holds */
    CHECK_INT(score_node_ids(tk, tree_get(t, id), &got), -1);
    tree_free(t);
    free(cx);
    free(ids);
    free(all);
    llama_backend_model_release(m);
}

TEST(score_compare_same_model_is_zero)
{
    /* Both sides from the same model: every log-ratio is 0 up to the float the tree keeps,
     * and the exact KL is 0; with the other side scored by another model it is not. */
    char err[256];
    backend *b = llama_backend_new(BASE, "base", err, sizeof err);
    REQUIRE(b);
    session ses;
    session_init(&ses);
    session_new_prompt(&ses, "ROMEO:");
    int32_t root = tree_root(ses.t);
    gen_settings s;
    settings_init(&s);
    s.max_tokens = 12;
    s.temperature = 1.0;
    s.seed = 3;
    s.has_seed = 1;
    backend *b2 = llama_backend_new(BASE, "base", err, sizeof err);
    REQUIRE(b2);
    backend *be[2] = { b, b2 };
    const gen_settings *sp[2] = { &s, &s };
    compare_run *run = compare_run_new(ses.t, root, be, sp, 8, NULL, NULL);
    REQUIRE(compare_run_start(run, err, sizeof err) == 0);
    for (int spins = 0; compare_run_pump(run) > 0 && spins < 100000; spins++)
        compare_run_wait(run, NULL, 0, 50, NULL);
    compare_result r;
    REQUIRE(compare_result_load(&r, ses.t, root, 0.9, err, sizeof err) == 0);
    const llama_model *m = llama_backend_model(b);
    const llama_model *same[2] = { m, m };
    REQUIRE(score_compare(ses.t, &r, same, err, sizeof err) == 0);
    for (int k = 0; k < 2; k++) {
        CHECK(r.kl[k].known);
        CHECK_INT(r.kl[k].samples, 8);
        CHECK_INT(r.kl[k].retokenized, 0);
        CHECK_NEAR(r.kl[k].value, 0, 1e-5);
        CHECK(r.kl[k].low <= r.kl[k].value && r.kl[k].value <= r.kl[k].high);
        CHECK(r.kl[k].exact == 0);
    }
    const llama_model *t = llama_backend_model_acquire(TUNED, err, sizeof err);
    REQUIRE(t);
    const llama_model *two[2] = { m, t };
    REQUIRE(score_compare(ses.t, &r, two, err, sizeof err) == 0);
    /* Side A's samples are base's own: KL(base || tuned) > 0, estimate and exact agree
     * roughly (the bootstrap interval is over 8 samples only). */
    CHECK(r.kl[0].exact > 0.1);
    CHECK(r.kl[0].low < r.kl[0].high);
    CHECK(fabs(r.kl[0].value - r.kl[0].exact) < 1.0);
    /* Each sample keeps its per-token log-ratios: their per-sample means, averaged, are the
     * Monte Carlo estimate (to the lists' 4 decimals). */
    for (int k = 0; k < 2; k++) {
        double sum = 0;
        size_t used = 0;
        for (size_t i = 0; i < r.side[k].n; i++) {
            const tree_node *nd = tree_get(ses.t, r.ids[k][i]);
            json_t *lr = nd->extra ? json_object_get(nd->extra, "logratio") : NULL;
            CHECK_INT(json_array_size(lr), nd->ntokens);
            if (!json_array_size(lr))
                continue;
            double m1 = 0;
            for (size_t j = 0; j < json_array_size(lr); j++)
                m1 += json_number_value(json_array_get(lr, j));
            sum += m1 / (double)json_array_size(lr);
            used++;
        }
        CHECK_INT(used, r.kl[k].samples);
        CHECK_NEAR(sum / (double)(used ? used : 1), r.kl[k].value, 1e-3);
    }
    /* Stored on the labels, the KL comes back with the comparison. */
    compare_kl_store(ses.t, &r);
    compare_result r2;
    REQUIRE(compare_result_load(&r2, ses.t, root, 0.9, err, sizeof err) == 0);
    for (int k = 0; k < 2; k++) {
        CHECK(r2.kl[k].known);
        CHECK_NEAR(r2.kl[k].value, r.kl[k].value, 1e-9);
        CHECK_NEAR(r2.kl[k].low, r.kl[k].low, 1e-9);
        CHECK_NEAR(r2.kl[k].exact, r.kl[k].exact, 1e-9);
        CHECK_INT(r2.kl[k].samples, r.kl[k].samples);
    }
    compare_result_free(&r2);
    llama_backend_model_release(t);
    compare_result_free(&r);
    compare_run_free(run);
    session_free(&ses);
    settings_free(&s);
    backend_free(b);
    backend_free(b2);
}

/* The D tint's reference scorer (core/refscore.h), off the calling thread: base's samples
 * against base itself are 0 at every token (to the runtime's precision), against tuned they
 * are far from it (tuned puts most of its mass elsewhere). */
TEST(refscore_log_ratio_per_token)
{
    char err[256];
    backend *b = llama_backend_new(BASE, "base", err, sizeof err);
    REQUIRE(b);
    sampled s;
    REQUIRE(sample_base(b, &s, 16));
    const char *refs[2] = { BASE, TUNED };
    for (int k = 0; k < 2; k++) {
        refscore *r = refscore_new(refs[k], err, sizeof err);
        REQUIRE(r);
        refscore_ask(r, s.t, s.node[0]);
        int32_t id = TREE_NONE;
        double *lr = NULL;
        size_t n = 0;
        int got = 0;
        for (int spins = 0; !got && spins < 600; spins++) {
            struct pollfd p = { .fd = refscore_fd(r), .events = POLLIN };
            poll(&p, 1, 100);
            got = refscore_take(r, &id, &lr, &n, err, sizeof err);
        }
        REQUIRE(got);
        CHECK_INT(id, s.node[0]);
        REQUIRE(lr);
        CHECK_INT(n, s.n[0]);
        double worst = 0, mean = 0;
        for (size_t i = 0; i < n; i++) {
            worst = fabs(lr[i]) > worst ? fabs(lr[i]) : worst;
            mean += lr[i] / (double)n;
        }
        if (k == 0)
            CHECKF(worst <= 1e-5, "base against base: %g", worst);
        else
            CHECKF(worst > 0.5, "base against tuned: at most %g", worst);
        free(lr);
        refscore_free(r);
    }
    /* A node without recorded tokens is refused with a reason, not scored. */
    refscore *r = refscore_new(BASE, err, sizeof err);
    REQUIRE(r);
    int32_t plain = tree_add_child(s.t, tree_root(s.t), TREE_ORIGIN_EDIT, "typed by hand", 13);
    refscore_ask(r, s.t, plain);
    int32_t id;
    double *lr = (double *)1;
    size_t n;
    int got = 0;
    for (int spins = 0; !got && spins < 600; spins++) {
        struct pollfd p = { .fd = refscore_fd(r), .events = POLLIN };
        poll(&p, 1, 100);
        got = refscore_take(r, &id, &lr, &n, err, sizeof err);
    }
    CHECK(got && !lr && strstr(err, "not the reference model's"));
    refscore_free(r);
    tree_free(s.t);
    backend_free(b);
}
