#include "tests/test.h"
#include "core/ngram.h"
#include "core/mem.h"
#include <stdlib.h>

static ngram_model *default_model(int order)
{
    char err[256] = "";
    ngram_model *m = ngram_load(NULL, order, err, sizeof err);
    CHECKF(m != NULL, "%s", err);
    return m;
}

static double dist_sum(const ngram_model *m, const char *context, double *min_p)
{
    uint32_t ids[NGRAM_MAX_ORDER];
    size_t n = ngram_context(m, context, strlen(context), ids);
    size_t v = ngram_vocab_size(m);
    double *p = xmalloc(v * sizeof *p), sum = 0;
    ngram_distribution(m, ids, n, p);
    *min_p = 1;
    for (size_t i = 0; i < v; i++) {
        sum += p[i];
        if (p[i] < *min_p)
            *min_p = p[i];
    }
    free(p);
    return sum;
}

static double prob_after(const ngram_model *m, const char *context, const char *tok)
{
    uint32_t ids[NGRAM_MAX_ORDER];
    size_t n = ngram_context(m, context, strlen(context), ids);
    double *p = xmalloc(ngram_vocab_size(m) * sizeof *p);
    ngram_distribution(m, ids, n, p);
    double r = p[ngram_token_id(m, tok, strlen(tok))];
    free(p);
    return r;
}

TEST(ngram_tokenizer_words_keep_leading_space)
{
    const char *s = "Hello, world.\n\nThe loom's  threads \n(x) ";
    const char *want[] = { "Hello", ",", " world", ".", "\n\nThe", " loom's", "  threads",
                           " \n(", "x", ")", " " };
    size_t n = 0, len = strlen(s);
    for (size_t pos = 0; pos < len; n++) {
        size_t end = ngram_next_token(s, len, pos);
        REQUIRE(end > pos);
        if (n < sizeof want / sizeof *want)
            CHECKF(end - pos == strlen(want[n]) && !memcmp(s + pos, want[n], end - pos),
                   "token %zu is '%.*s', expected '%s'", n, (int)(end - pos), s + pos, want[n]);
        pos = end;
    }
    CHECK_INT(n, sizeof want / sizeof *want);
    /* A UTF-8 character is never split. */
    const char *u = " caf\xC3\xA9!";
    CHECK_INT(ngram_next_token(u, strlen(u), 0), 6);
}

TEST(ngram_distribution_sums_to_one)
{
    const char *contexts[] = {
        "",                                         /* no context at all */
        "with the arrow",                           /* seen in the corpus */
        "The builtin model is",                     /* seen, longer than the order */
        "zyzzyva quuxes frobnicate",                /* every token unknown */
        "the zyzzyva of",                           /* unknown in the middle */
        "\n\n",                                     /* newlines */
    };
    for (int order = 1; order <= NGRAM_MAX_ORDER; order++) {
        ngram_model *m = default_model(order);
        REQUIRE(m);
        CHECK_INT(ngram_order(m), order);
        for (size_t c = 0; c < sizeof contexts / sizeof *contexts; c++) {
            double min_p, sum = dist_sum(m, contexts[c], &min_p);
            CHECKF(fabs(sum - 1.0) <= 1e-9, "order %d context '%s': sum %.15g", order, contexts[c], sum);
            CHECKF(min_p > 0, "order %d context '%s': a token has probability %g", order, contexts[c], min_p);
        }
        ngram_free(m);
    }
}

TEST(ngram_context_matters)
{
    ngram_model *m = default_model(4);
    REQUIRE(m);
    /* "... with the arrow keys" is in the corpus; " keys" is rare without that context. */
    double seen = prob_after(m, "walk the tree of possible texts with the arrow", " keys");
    double cold = prob_after(m, "", " keys");
    CHECKF(seen > 50 * cold, "p(keys | with the arrow) = %g, p(keys) = %g", seen, cold);
    ngram_free(m);
}

TEST(ngram_kneser_ney_by_hand)
{
    /* Tokens " a b a b a c": bigrams ab:2 ba:2 ac:1.  Worked out by hand (see ngram.c):
     * order 2 has n1=1 n2=2 → Y=0.2, D1=0.2, D2,D3 fall back to 1.0, 1.5; order 1 uses
     * continuation counts a:1 b:1 c:1 → D1 falls back to 0.5, gamma 0.5, base 0.5/4. */
    char err[256];
    const char *text = " a b a b a c";
    ngram_model *m = ngram_train(text, strlen(text), 2, "t", err, sizeof err);
    REQUIRE(m);
    CHECK_INT(ngram_vocab_size(m), 4);
    double d[3];
    ngram_discounts(m, 2, d);
    CHECK_NEAR(d[0], 0.2, 1e-12);
    uint32_t a = ngram_token_id(m, " a", 2), b = ngram_token_id(m, " b", 2), c = ngram_token_id(m, " c", 2);
    double p[4];
    ngram_distribution(m, &a, 1, p);
    CHECK_NEAR(p[b], 1.0 / 3 + 0.4 * 7.0 / 24, 1e-12);
    CHECK_NEAR(p[c], 0.8 / 3 + 0.4 * 7.0 / 24, 1e-12);
    CHECK_NEAR(p[a], 0.4 * 7.0 / 24, 1e-12);
    CHECK_NEAR(p[0], 0.4 * 0.125, 1e-12);
    ngram_distribution(m, NULL, 0, p);
    CHECK_NEAR(p[a], 7.0 / 24, 1e-12);
    CHECK_NEAR(p[0], 1.0 / 8, 1e-12);
    ngram_free(m);
}

/* ---- the backend ---- */

typedef struct {
    buf    text[8];
    int    tokens[8];
    const char *finish[8];
    int    errors, ends, bad_alts, bad_logprob;
    const ngram_model *m;
    uint32_t ids[8][NGRAM_MAX_ORDER];   /* each branch's last tokens, to check each one */
    size_t nids[8];
    int    check_argmax, not_argmax;
    double top_p;             /* > 0: check each token lies in the nucleus of this mass */
    int    outside_nucleus;
    double worst_lp_error;
} collect;

static void on_ev(void *ud, const backend_event *ev)
{
    collect *c = ud;
    int b = ev->branch;
    switch (ev->kind) {
    case BACKEND_EV_TOKEN: {
        if (b < 0 || b >= 8)
            break;
        /* The alternatives are the most probable tokens, best first, exact logprobs. */
        for (size_t i = 1; i < ev->ntop; i++)
            if (ev->top[i].logprob > ev->top[i - 1].logprob)
                c->bad_alts++;
        if (!ev->exact || ev->ntop == 0 || !(ev->logprob <= 0))
            c->bad_logprob++;
        if (c->m) {
            size_t v = ngram_vocab_size(c->m), want = (size_t)ngram_order(c->m) - 1;
            double *p = xmalloc(v * sizeof *p);
            ngram_distribution(c->m, c->ids[b], c->nids[b], p);
            uint32_t tok = ngram_token_id(c->m, ev->text, ev->len), best = 1;
            if (want && c->nids[b] == want)
                memmove(c->ids[b], c->ids[b] + 1, --c->nids[b] * sizeof **c->ids);
            if (want)
                c->ids[b][c->nids[b]++] = tok;
            for (uint32_t i = 2; i < v; i++)
                if (p[i] > p[best])
                    best = i;
            if (c->check_argmax && tok != best)
                c->not_argmax++;
            if (c->top_p > 0) {
                /* The nucleus by a plain sort: tokens more probable than tok, plus tok,
                 * must not already exceed the mass without tok being needed. */
                double above = 0;
                for (uint32_t i = 1; i < v; i++)
                    if (p[i] > p[tok] || (p[i] == p[tok] && i < tok))
                        above += p[i];
                if (above >= c->top_p * (1.0 - p[0]) * (1 + 1e-12))
                    c->outside_nucleus++;
            }
            double e = fabs(log(p[tok]) - ev->logprob);
            if (e > c->worst_lp_error)
                c->worst_lp_error = e;
            if (ev->ntop && fabs(ev->top[0].logprob - log(p[best])) > 1e-9)
                c->bad_alts++;
            free(p);
        }
        buf_add(&c->text[b], ev->text, ev->len);
        c->tokens[b]++;
        break;
    }
    case BACKEND_EV_DONE:
        if (b >= 0 && b < 8)
            c->finish[b] = ev->finish;
        break;
    case BACKEND_EV_ERROR:
        c->errors++;
        if (b >= 0 && b < 8)
            c->finish[b] = ev->finish;
        break;
    case BACKEND_EV_REQUEST_END:
        c->ends++;
        break;
    default:
        break;
    }
}

static void collect_free(collect *c)
{
    for (int i = 0; i < 8; i++)
        buf_free(&c->text[i]);
}

static double check_top_p;   /* check a nucleus even when sampling without one */

/* Runs one request of k branches to the end; returns the pump rounds it took. */
static int run(backend *b, collect *c, const char *prompt, gen_settings *s, int k)
{
    char err[256];
    memset(c, 0, sizeof *c);
    c->m = ngram_backend_model(b);
    c->check_argmax = s->temperature == 0;
    c->top_p = s->temperature == 1.0 && s->top_p < 1.0 ? s->top_p : check_top_p;
    for (int i = 0; i < k && c->m; i++)
        c->nids[i] = ngram_context(c->m, prompt, strlen(prompt), c->ids[i]);
    b->on_event = on_ev;
    b->ud = c;
    int id = backend_start(b, prompt, strlen(prompt), s, k, err, sizeof err);
    CHECKF(id > 0, "%s", err);
    int rounds = 0;
    while (rounds < 100000 && backend_wait(b, NULL, 0, 10, NULL) && backend_pump(b) > 0)
        rounds++;
    backend_pump(b);
    return rounds;
}

TEST(ngram_backend_seed_gives_same_branches)
{
    char err[256];
    backend *b = ngram_backend_new(NULL, err, sizeof err);
    REQUIRE(b);
    CHECK(b->exact);
    gen_settings s;
    settings_init(&s);
    s.max_tokens = 30;
    s.seed = 42;
    s.has_seed = 1;
    collect c1, c2, c3;
    run(b, &c1, "The loom", &s, 4);
    run(b, &c2, "The loom", &s, 4);
    s.seed = 43;
    run(b, &c3, "The loom", &s, 4);
    CHECK_INT(c1.ends, 1);
    int distinct = 0, differ = 0;
    for (int i = 0; i < 4; i++) {
        CHECK_STR(c1.finish[i], "length");
        CHECK_INT(c1.tokens[i], 30);
        CHECK_STR(c1.text[i].data, c2.text[i].data);
        differ += strcmp(c1.text[i].data, c3.text[i].data) != 0;
        for (int j = 0; j < i; j++)
            distinct += strcmp(c1.text[i].data, c1.text[j].data) != 0;
    }
    CHECKF(differ >= 3, "seed 43 repeated seed 42 in %d of 4 branches", 4 - differ);
    CHECKF(distinct == 6, "branches of one request repeat each other");
    CHECK_INT(c1.bad_alts, 0);
    CHECK_INT(c1.bad_logprob, 0);
    CHECKF(c1.worst_lp_error < 1e-9, "logprob off by %g", c1.worst_lp_error);
    collect_free(&c1);
    collect_free(&c2);
    collect_free(&c3);
    settings_free(&s);
    backend_free(b);
}

TEST(ngram_backend_temperature_zero_is_argmax)
{
    char err[256];
    backend *b = ngram_backend_new(NULL, err, sizeof err);
    REQUIRE(b);
    gen_settings s;
    settings_init(&s);
    s.max_tokens = 40;
    s.temperature = 0;
    collect c;
    run(b, &c, "A loom", &s, 2);   /* no seed: must not matter at temperature 0 */
    CHECK_INT(c.tokens[0], 40);
    CHECK_STR(c.text[0].data, c.text[1].data);
    CHECK_INT(c.not_argmax, 0);
    collect_free(&c);
    /* The same holds with top_p and a low temperature through the other code path. */
    s.temperature = 0.01;
    s.top_p = 0.5;
    s.seed = 1;
    s.has_seed = 1;
    run(b, &c, "A loom", &s, 1);
    CHECK_INT(c.tokens[0], 40);
    CHECKF(c.worst_lp_error < 1e-9, "logprob off by %g", c.worst_lp_error);
    collect_free(&c);
    settings_free(&s);
    backend_free(b);
}

TEST(ngram_backend_top_p_keeps_to_the_nucleus)
{
    char err[256];
    backend *b = ngram_backend_new(NULL, err, sizeof err);
    REQUIRE(b);
    gen_settings s;
    settings_init(&s);
    s.max_tokens = 200;
    s.seed = 3;
    s.has_seed = 1;
    s.top_p = 0.3;
    collect c;
    run(b, &c, "The", &s, 8);
    CHECK_INT(c.tokens[7], 200);
    CHECK_INT(c.outside_nucleus, 0);
    collect_free(&c);
    /* The check itself: at top_p 1 some tokens come from outside a 0.3 nucleus. */
    s.top_p = 1.0;
    check_top_p = 0.3;
    run(b, &c, "The", &s, 8);
    check_top_p = 0;
    CHECK(c.outside_nucleus > 0);
    collect_free(&c);
    settings_free(&s);
    backend_free(b);
}

TEST(ngram_backend_stop_string_ends_branch)
{
    char err[256];
    backend *b = ngram_backend_new(NULL, err, sizeof err);
    REQUIRE(b);
    gen_settings s;
    settings_init(&s);
    s.max_tokens = 400;
    s.seed = 7;
    s.has_seed = 1;
    char e2[256];
    CHECK(settings_set(&s, "stop", ".", e2, sizeof e2) == 0);
    CHECK(settings_set(&s, "stop", " the tree", e2, sizeof e2) == 0);
    collect c;
    run(b, &c, "You type a prompt", &s, 6);
    for (int i = 0; i < 6; i++) {
        CHECK_STR(c.finish[i], "stop");
        CHECKF(!strchr(c.text[i].data ? c.text[i].data : "", '.') &&
               !strstr(c.text[i].data ? c.text[i].data : "", " the tree"),
               "branch %d kept its stop string: %s", i, c.text[i].data);
    }
    collect_free(&c);
    settings_free(&s);
    backend_free(b);
}

static int cancel_after_first;
static void cancel_ev(void *ud, const backend_event *ev)
{
    collect *c = ud;
    on_ev(ud, ev);
    (void)c;
    if (ev->kind == BACKEND_EV_TOKEN)
        cancel_after_first++;
}

TEST(ngram_backend_cancel_and_wait)
{
    char err[256];
    backend *b = ngram_backend_new(NULL, err, sizeof err);
    REQUIRE(b);
    gen_settings s;
    settings_init(&s);
    s.max_tokens = 100000;
    collect c;
    memset(&c, 0, sizeof c);
    b->on_event = cancel_ev;
    b->ud = &c;
    int id = backend_start(b, "x", 1, &s, 3, err, sizeof err);
    REQUIRE(id > 0);
    CHECK_INT(backend_wait(b, NULL, 0, 1000, NULL), 1);   /* work pending: no sleep */
    CHECK(backend_pump(b) == 1);
    CHECK(cancel_after_first > 0);
    backend_cancel(b, id);
    int rounds = 0;
    while (backend_pump(b) > 0 && rounds < 10)
        rounds++;
    CHECK_INT(c.errors, 3);
    CHECK_INT(c.ends, 1);
    for (int i = 0; i < 3; i++)
        CHECK_STR(c.finish[i], "cancelled");
    CHECK_INT(backend_wait(b, NULL, 0, 5, NULL), 0);        /* idle: times out */
    collect_free(&c);
    settings_free(&s);
    backend_free(b);
}

TEST(ngram_corpus_errors)
{
    char err[512];
    const char *dir = test_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/missing.txt", dir);
    CHECK(ngram_backend_new(path, err, sizeof err) == NULL);
    CHECKF(strstr(err, path) && strstr(err, "No such file"), "%s", err);
    snprintf(path, sizeof path, "%s/empty.txt", dir);
    FILE *f = fopen(path, "w");
    fclose(f);
    CHECK(ngram_backend_new(path, err, sizeof err) == NULL);
    CHECKF(strstr(err, path) && strstr(err, "empty"), "%s", err);
    snprintf(path, sizeof path, "%s/bin.dat", dir);
    f = fopen(path, "wb");
    fwrite("\x7f" "ELF\x02\x01\x00\x00\xff\xfe", 1, 10, f);
    fclose(f);
    CHECK(ngram_backend_new(path, err, sizeof err) == NULL);
    CHECKF(strstr(err, path) && strstr(err, "not a text file"), "%s", err);
    CHECK(ngram_train("\xff\xfe\xfd\xc0 ab", 7, 4, "latin", err, sizeof err) == NULL);
    CHECKF(strstr(err, "latin: not a text file"), "%s", err);
    /* A few stray bytes in real text are replaced, not refused. */
    const char *ok = "caf\xe9 au lait, the caf\xe9 is open";
    ngram_model *m = ngram_train(ok, strlen(ok), 4, "ok", err, sizeof err);
    CHECKF(m != NULL, "%s", err);
    CHECK(ngram_token_id(m, " caf\xEF\xBF\xBD", 7) != 0);
    ngram_free(m);
}
