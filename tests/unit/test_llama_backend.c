/* tests/unit/test_llama_backend.c — the builtin backend over the shipped models, driven
 * through the backend interface as the TUI drives it: wait, then pump, in a bounded loop.
 * Reference figures come from the runtime's own API (llama.h) on the same model. */
#include "tests/test.h"
#include "core/llama_backend.h"
#include "core/mem.h"
#include <stdlib.h>

#define MODEL "models/base.gguf"
#define MAXK  16

typedef struct {
    buf    text[MAXK];
    int    ntok[MAXK];
    char   finish[MAXK][16];
    int    ended[MAXK];
    int    request_end;
    int    status;
    char   status_msg[200];
    double first_entropy[MAXK], first_logprob[MAXK];
    char   first_top[MAXK][5][32];
    size_t first_ntop[MAXK];
    int    bad_order;            /* alternatives not most probable first */
    int    not_exact;
    int    events;
    char   model[64];
} result;

static void on_event(void *ud, const backend_event *ev)
{
    result *r = ud;
    r->events++;
    if (ev->model)
        snprintf(r->model, sizeof r->model, "%s", ev->model);
    int b = ev->branch;
    switch (ev->kind) {
    case BACKEND_EV_TOKEN:
        if (b < 0 || b >= MAXK)
            break;
        if (r->ntok[b] == 0) {
            r->first_entropy[b] = ev->entropy;
            r->first_logprob[b] = ev->logprob;
            r->first_ntop[b] = ev->ntop;
            for (size_t i = 0; i < ev->ntop && i < 5; i++)
                snprintf(r->first_top[b][i], 32, "%.*s", (int)ev->top[i].len, ev->top[i].text);
        }
        for (size_t i = 1; i < ev->ntop; i++)
            r->bad_order |= ev->top[i].logprob > ev->top[i - 1].logprob;
        r->not_exact |= !ev->exact;
        buf_add(&r->text[b], ev->text, ev->len);
        r->ntok[b]++;
        break;
    case BACKEND_EV_DONE:
    case BACKEND_EV_ERROR:
        if (b >= 0 && b < MAXK) {
            r->ended[b]++;
            snprintf(r->finish[b], sizeof r->finish[b], "%s", ev->finish ? ev->finish : "");
        }
        break;
    case BACKEND_EV_STATUS:
        r->status++;
        snprintf(r->status_msg, sizeof r->status_msg, "%s", ev->message ? ev->message : "");
        break;
    case BACKEND_EV_REQUEST_END:
        r->request_end++;
        break;
    default:
        break;
    }
}

static void result_free(result *r)
{
    for (int i = 0; i < MAXK; i++)
        buf_free(&r->text[i]);
}

static void settings_for(gen_settings *s, int max_tokens, double temperature, long long seed)
{
    settings_init(s);
    s->max_tokens = max_tokens;
    s->temperature = temperature;
    s->seed = seed;
    s->has_seed = 1;
}

/* Pumps until the request has ended (bounded: never hangs the suite). */
static int drive(backend *b, result *r)
{
    for (int spins = 0; spins < 200000 && !r->request_end; spins++) {
        backend_wait(b, NULL, 0, 1000, NULL);
        backend_pump(b);
    }
    return r->request_end;
}

static int run(backend *b, const char *prompt, const gen_settings *s, int k, result *r)
{
    memset(r, 0, sizeof *r);
    b->on_event = on_event;
    b->ud = r;
    char err[256];
    if (backend_start(b, prompt, strlen(prompt), s, k, err, sizeof err) < 0)
        return 0;
    return drive(b, r);
}

static backend *open_base(void)
{
    char err[256];
    backend *b = llama_backend_new(MODEL, "base", err, sizeof err);
    if (!b)
        fprintf(stderr, "%s\n", err);
    return b;
}

TEST(llama_backend_same_seed_same_branches)
{
    backend *b = open_base();
    REQUIRE(b);
    gen_settings s;
    settings_for(&s, 16, 1.0, 42);
    result r1, r2, r3;
    REQUIRE(run(b, "ROMEO:", &s, 4, &r1));
    REQUIRE(run(b, "ROMEO:", &s, 4, &r2));
    s.seed = 43;
    REQUIRE(run(b, "ROMEO:", &s, 4, &r3));
    int same = 1, other = 0, distinct = 0;
    for (int i = 0; i < 4; i++) {
        CHECK(r1.ntok[i] > 0);
        CHECK_INT(r1.ended[i], 1);
        same &= r1.text[i].len == r2.text[i].len && !memcmp(r1.text[i].data, r2.text[i].data, r1.text[i].len);
        other += r1.text[i].len != r3.text[i].len || memcmp(r1.text[i].data, r3.text[i].data, r1.text[i].len);
        for (int j = 0; j < i; j++)
            distinct += r1.text[i].len != r1.text[j].len || memcmp(r1.text[i].data, r1.text[j].data, r1.text[i].len);
    }
    CHECK(same);
    CHECK(other >= 3);           /* another seed, other branches */
    CHECK(distinct >= 5);        /* of the 6 pairs: branches have streams of their own */
    CHECK_STR(r1.model, "base");
    CHECK(!r1.not_exact);
    CHECK(!r1.bad_order);
    result_free(&r1);
    result_free(&r2);
    result_free(&r3);
    settings_free(&s);
    backend_free(b);
}

/* Greedy decoding done by hand with the runtime's API: prefill, then argmax and decode. */
static size_t argmax_text(const char *prompt, int n, char *out, size_t cap)
{
    char err[256];
    llama_model *m = llama_load(MODEL, err, sizeof err);
    if (!m)
        return 0;
    const bpe *t = llama_tokenizer(m);
    int32_t *ids;
    size_t nid = bpe_encode(t, prompt, strlen(prompt), bpe_adds_bos(t), &ids);
    llama_ctx *c = llama_ctx_new(m, 1, n, 1);
    int nv = llama_n_vocab(m);
    float *logits = xmalloc((size_t)nv * sizeof *logits);
    double *lp = xmalloc((size_t)nv * sizeof *lp);
    llama_prefill(c, ids, (int)nid, logits);
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        llama_log_softmax(logits, nv, lp);
        int32_t best = 0;
        for (int32_t v = 1; v < nv; v++)
            if (lp[v] > lp[best])
                best = v;
        if (best == bpe_eos(t))
            break;
        size_t l;
        const char *p = bpe_piece(t, best, &l);
        if (len + l < cap) {
            memcpy(out + len, p, l);
            len += l;
        }
        int br = 0;
        llama_decode(c, &best, &br, 1, logits);
    }
    free(ids);
    free(logits);
    free(lp);
    llama_ctx_free(c);
    llama_free(m);
    return len;
}

TEST(llama_backend_greedy_is_argmax)
{
    char want[4096];
    size_t wl = argmax_text("JULIET:", 24, want, sizeof want);
    REQUIRE(wl > 0);
    backend *b = open_base();
    REQUIRE(b);
    gen_settings s;
    settings_for(&s, 24, 0.0, 1);
    result r;
    REQUIRE(run(b, "JULIET:", &s, 3, &r));
    for (int i = 0; i < 3; i++)
        CHECKF(r.text[i].len == wl && !memcmp(r.text[i].data, want, wl),
               "branch %d: '%s', expected '%.*s'", i, r.text[i].data ? r.text[i].data : "", (int)wl, want);
    result_free(&r);
    settings_free(&s);
    backend_free(b);
}

TEST(llama_backend_branches_share_the_prompt)
{
    backend *b = open_base();
    REQUIRE(b);
    gen_settings s;
    settings_for(&s, 12, 1.0, 5);
    llama_backend_stats st0, st1;
    llama_backend_get_stats(b, &st0);
    result r;
    REQUIRE(run(b, "The king said", &s, 8, &r));
    llama_backend_get_stats(b, &st1);
    /* One prompt computation for the 8 branches, and one batch per step for all of them
     * (at most max_tokens - 1 steps after the prompt's own token). */
    CHECK_INT(st1.prefills - st0.prefills, 1);
    CHECK(st1.batches - st0.batches <= 11);
    CHECK(st1.batches - st0.batches >= 1);
    long tokens = 0;
    for (int i = 0; i < 8; i++)
        tokens += r.ntok[i];
    CHECK(tokens > 2 * 11);      /* so it was not one batch per branch and token */
    /* Every branch's first token comes from the same distribution. */
    for (int i = 1; i < 8; i++) {
        CHECK(r.first_entropy[i] == r.first_entropy[0]);
        CHECK_INT(r.first_ntop[i], 5);
        for (int a = 0; a < 5; a++)
            CHECK_STR(r.first_top[i][a], r.first_top[0][a]);
    }
    result_free(&r);
    settings_free(&s);
    backend_free(b);
}

TEST(llama_backend_stop_and_length)
{
    backend *b = open_base();
    REQUIRE(b);
    gen_settings s;
    settings_for(&s, 200, 1.0, 9);
    char err[128];
    REQUIRE(settings_add_stop(&s, "e", err, sizeof err) == 0);
    result r;
    REQUIRE(run(b, "ROMEO:", &s, 4, &r));
    for (int i = 0; i < 4; i++) {
        CHECK_STR(r.finish[i], "stop");
        CHECKF(!r.text[i].data || !strchr(r.text[i].data, 'e'), "branch %d holds the stop string: '%s'", i, r.text[i].data);
        CHECK(r.ntok[i] < 200);
    }
    result_free(&r);
    settings_free(&s);
    settings_for(&s, 7, 1.0, 9);
    REQUIRE(run(b, "ROMEO:", &s, 4, &r));
    for (int i = 0; i < 4; i++) {
        if (strcmp(r.finish[i], "length"))     /* the end-of-text token may come first */
            CHECK(!strcmp(r.finish[i], "stop") && r.ntok[i] < 7);
        else
            CHECK_INT(r.ntok[i], 7);
    }
    CHECK(!strcmp(r.finish[0], "length") || !strcmp(r.finish[1], "length"));
    result_free(&r);
    settings_free(&s);
    backend_free(b);
}

TEST(llama_backend_cancel_ends_branches_at_once)
{
    backend *b = open_base();
    REQUIRE(b);
    gen_settings s;
    settings_for(&s, 300, 1.0, 3);
    result r;
    memset(&r, 0, sizeof r);
    b->on_event = on_event;
    b->ud = &r;
    char err[256];
    REQUIRE(backend_start(b, "ROMEO:", 6, &s, 4, err, sizeof err) > 0);
    for (int spins = 0; spins < 100000 && r.ntok[0] == 0; spins++) {
        backend_wait(b, NULL, 0, 1000, NULL);
        backend_pump(b);
    }
    REQUIRE(r.ntok[0] > 0);
    backend_cancel(b, 0);
    /* The wait does not sleep on a cancel to deliver, and one pump ends everything. */
    CHECK(backend_wait(b, NULL, 0, 60000, NULL) == 1);
    CHECK_INT(backend_pump(b), 0);
    CHECK_INT(r.request_end, 1);
    for (int i = 0; i < 4; i++) {
        CHECK_INT(r.ended[i], 1);
        CHECK(r.ntok[i] < 300);
        if (r.ntok[i] < 300 && strcmp(r.finish[i], "stop"))
            CHECK_STR(r.finish[i], "cancelled");
    }
    int before = r.events;
    for (int i = 0; i < 20; i++) {   /* nothing of it arrives later */
        backend_wait(b, NULL, 0, 10, NULL);
        backend_pump(b);
    }
    CHECK_INT(r.events, before);
    /* The backend goes on serving. */
    settings_free(&s);
    settings_for(&s, 4, 1.0, 3);
    result r2;
    REQUIRE(run(b, "ROMEO:", &s, 2, &r2));
    CHECK(r2.ntok[0] > 0 || !strcmp(r2.finish[0], "stop"));
    result_free(&r);
    result_free(&r2);
    settings_free(&s);
    backend_free(b);
}

TEST(llama_backend_long_context_is_cut)
{
    backend *b = open_base();
    REQUIRE(b);
    buf p = {0};
    for (int i = 0; i < 400; i++)
        buf_adds(&p, "And the king said to the queen, ");
    gen_settings s;
    settings_for(&s, 8, 1.0, 2);
    result r;
    REQUIRE(run(b, p.data, &s, 2, &r));
    CHECK_INT(r.status, 1);
    CHECKF(strstr(r.status_msg, "cut") != NULL, "status: '%s'", r.status_msg);
    CHECK(r.ntok[0] > 0);
    CHECK_INT(r.ended[0], 1);
    result_free(&r);
    /* A short one is not cut. */
    REQUIRE(run(b, "And the king", &s, 2, &r));
    CHECK_INT(r.status, 0);
    result_free(&r);
    buf_free(&p);
    settings_free(&s);
    backend_free(b);
}

TEST(llama_backend_entropy_is_the_full_distribution)
{
    char err[256];
    llama_model *m = llama_load(MODEL, err, sizeof err);
    REQUIRE(m);
    const bpe *t = llama_tokenizer(m);
    const char *prompt = "It was";
    int32_t *ids;
    size_t n = bpe_encode(t, prompt, strlen(prompt), bpe_adds_bos(t), &ids);
    llama_ctx *c = llama_ctx_new(m, 1, 4, 1);
    int nv = llama_n_vocab(m);
    float *logits = xmalloc((size_t)nv * sizeof *logits);
    double *lp = xmalloc((size_t)nv * sizeof *lp);
    REQUIRE(llama_prefill(c, ids, (int)n, logits) == 0);
    double h = 0;
    llama_log_softmax(logits, nv, lp);
    for (int v = 0; v < nv; v++)         /* by hand, in bits, over every token */
        h -= exp(lp[v]) * lp[v] / log(2.0);
    backend *b = open_base();
    REQUIRE(b);
    gen_settings s;
    settings_for(&s, 2, 1.0, 8);
    result r;
    REQUIRE(run(b, prompt, &s, 3, &r));
    for (int i = 0; i < 3; i++) {
        CHECK_NEAR(r.first_entropy[i], h, 1e-6);
        CHECK(r.first_logprob[i] <= 0);
        /* The chosen token's logprob is its probability under the same distribution. */
        int found = 0;
        for (int v = 0; v < nv; v++)
            found |= fabs(lp[v] - r.first_logprob[i]) < 1e-9;
        CHECK(found);
    }
    CHECK(h > 1.0);              /* not a degenerate distribution */
    result_free(&r);
    settings_free(&s);
    backend_free(b);
    free(ids);
    free(logits);
    free(lp);
    llama_ctx_free(c);
    llama_free(m);
}

TEST(llama_backend_wait_wakes_for_the_worker)
{
    backend *b = open_base();
    REQUIRE(b);
    gen_settings s;
    settings_for(&s, 4, 1.0, 4);
    result r;
    memset(&r, 0, sizeof r);
    b->on_event = on_event;
    b->ud = &r;
    /* Nothing to do: the wait times out (on no descriptor at all). */
    CHECK(backend_wait(b, NULL, 0, 20, NULL) == 0);
    char err[256];
    REQUIRE(backend_start(b, "ROMEO:", 6, &s, 2, err, sizeof err) > 0);
    /* start delivers nothing; the worker's events wake the wait (long before a minute). */
    CHECK_INT(r.events, 0);
    int woke = 0, spins = 0;
    while (!r.request_end && spins++ < 1000) {
        int fd = 7;
        woke += backend_wait(b, NULL, 0, 60000, &fd) == 1;
        CHECK_INT(fd, -1);
        backend_pump(b);
    }
    CHECK(r.request_end == 1);
    CHECK(woke >= 1);
    CHECK(spins < 1000);
    result_free(&r);
    settings_free(&s);
    backend_free(b);
}

TEST(llama_backend_refuses_what_it_cannot_run)
{
    char err[256];
    const char *dir = test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/not.gguf", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs("this is not a model\n", f);
    fclose(f);
    err[0] = 0;
    CHECK(llama_backend_new(path, "x", err, sizeof err) == NULL);
    CHECKF(strstr(err, "not.gguf") && !strchr(err, '\n'), "err: '%s'", err);
    snprintf(path, sizeof path, "%s/missing.gguf", dir);
    CHECK(llama_backend_new(path, "x", err, sizeof err) == NULL);
    CHECKF(strstr(err, "missing.gguf") != NULL, "err: '%s'", err);
}
