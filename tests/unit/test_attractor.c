#include "tests/test.h"
#include "core/attractor.h"
#include "core/merge.h"
#include "core/text.h"
#include <stdint.h>
#include <stdlib.h>

static int32_t add(tree *t, int32_t parent, const char *text)
{
    return tree_add_child(t, parent, parent == TREE_NONE ? TREE_ORIGIN_PROMPT : TREE_ORIGIN_MODEL,
                          text, strlen(text));
}

static int has_member(const attractor *a, int32_t id)
{
    for (size_t i = 0; i < a->nmembers; i++)
        if (a->members[i] == id)
            return 1;
    return 0;
}

TEST(attractor_continuation_from_four_depths)
{
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Tell me a story.");
    int32_t d1 = add(t, r, " Once there was a king.");
    int32_t d2 = add(t, d1, " He had three daughters.");
    int32_t d3 = add(t, d2, " The youngest was clever.");
    int32_t x = add(t, r, " Another opening line here.");
    attractor_index *a = attractor_index_new(t, 0.8, 3);
    const attractor *l;
    CHECK_INT(attractor_list(a, &l), 0);
    /* the refusal appears under four different parents at depths 1..4, spelled 4 ways */
    int32_t m1 = add(t, r, " I cannot help with that.");
    int32_t m2 = add(t, d1, " i cannot help with that!");
    int32_t m3 = add(t, d2, "I CANNOT help  with that");
    CHECK_INT(attractor_list(a, &l), 1);          /* 3 contexts already: an attractor */
    int32_t m4 = add(t, d3, " I cannot help with that, sorry.");
    int32_t m5 = add(t, d3, " I cannot help with that.");      /* same parent again */
    add(t, x, " The dragon slept in the mountain.");
    size_t n = attractor_list(a, &l);
    REQUIRE(n == 1);
    CHECK_INT(l[0].kind, ATTRACTOR_CONTINUATION);
    CHECK_INT(l[0].support, 4);
    CHECK_INT(l[0].nmembers, 5);
    CHECK(has_member(&l[0], m1) && has_member(&l[0], m2) && has_member(&l[0], m3) &&
          has_member(&l[0], m4) && has_member(&l[0], m5));
    CHECK_INT(l[0].example, m1);
    CHECK_STR(l[0].text, " I cannot help with that.");
    CHECK_NEAR(l[0].prob, 1.0, 1e-12);             /* no logprobs: each member counts 1 */
    CHECK_NEAR(l[0].score, 8.0, 1e-12);            /* support × (1 + prob) */
    CHECK_INT(attractor_of(a, m4), 0);
    CHECK_INT(attractor_of(a, d1), -1);
    /* detection never touches the hand marks */
    CHECK_INT(tree_get(t, m1)->marks & TREE_MARK_ATTRACTOR, 0);
    /* a paraphrase is not pulled in, and deleting members drops the support below m */
    add(t, x, " Sorry, that is something I will not do.");
    CHECK_INT(attractor_list(a, &l), 1);
    CHECK_INT(l[0].nmembers, 5);
    tree_delete(t, m1);
    tree_delete(t, m2);
    CHECK_INT(attractor_list(a, &l), 0);
    attractor_index_free(a);
    tree_free(t);
}

TEST(attractor_needs_distinct_parents)
{
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Q");
    int32_t p = add(t, r, "A");
    for (int i = 0; i < 6; i++)
        add(t, p, " The same answer every time.");    /* 6 copies, one context */
    int32_t q = add(t, r, "B");
    add(t, q, " The same answer every time!");
    attractor_index *a = attractor_index_new(t, 0.8, 3);
    const attractor *l;
    CHECK_INT(attractor_list(a, &l), 0);              /* 2 contexts < 3 */
    attractor_index_free(a);
    a = attractor_index_new(t, 0.8, 2);
    REQUIRE(attractor_list(a, &l) == 1);
    CHECK_INT(l[0].support, 2);
    CHECK_INT(l[0].nmembers, 7);
    attractor_index_free(a);
    tree_free(t);
}

/* Support counts contexts, not parents: parents with the same text from the root (a
 * collapsed model's duplicate siblings) are one context; the members are all kept. */
TEST(attractor_support_counts_contexts_not_parents)
{
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "ROMEO:");
    int32_t dup[4];
    for (int i = 0; i < 4; i++) {
        dup[i] = add(t, r, " O, she doth teach the torches");   /* four parents, one text */
        add(t, dup[i], " would he were dead");
    }
    attractor_index *a = attractor_index_new(t, 0.8, 3);
    const attractor *l;
    CHECK_INT(attractor_list(a, &l), 0);            /* 4 parents, 1 context */
    /* The same text under parents whose paths differ higher up: distinct contexts. */
    int32_t g1 = add(t, r, " Alas"), g2 = add(t, r, " Soft");
    int32_t q1 = add(t, g1, " O, she doth teach the torches");
    int32_t q2 = add(t, g2, " O, she doth teach the torches");
    add(t, q1, " would he were dead");
    add(t, q2, " would he were dead!");
    size_t n = attractor_list(a, &l);
    REQUIRE(n >= 1);
    CHECK_INT(l[0].kind, ATTRACTOR_CONTINUATION);
    CHECK_INT(l[0].support, 3);
    CHECK_INT(l[0].nmembers, 6);
    /* Phrases count contexts the same way. */
    attractor_index_free(a);
    tree *u = tree_new();
    int32_t ru = add(u, TREE_NONE, "Q");
    for (int i = 0; i < 5; i++) {
        int32_t pu = add(u, ru, " the same opening line");
        char s[80];
        snprintf(s, sizeof s, " and then %c the meaning of life is simple %d", 'a' + i, i * 7);
        add(u, pu, s);
    }
    a = attractor_index_new(u, 0.8, 3);
    CHECK_INT(attractor_list(a, &l), 0);            /* 5 parents, 1 context */
    attractor_index_free(a);
    tree_free(u);
    tree_free(t);
}

TEST(attractor_phrase_across_three_contexts)
{
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Thoughts:");
    int32_t p1 = add(t, r, " First.");
    int32_t p2 = add(t, r, " Second.");
    int32_t p3 = add(t, p2, " Third.");
    int32_t a1 = add(t, p1, " Well, the Meaning of Life is simple: eat cake.");
    int32_t a2 = add(t, p2, " Honestly the meaning of life is simple, my friend, and short.");
    int32_t a3 = add(t, p3, " They all agreed that the meaning of life is \xe2\x80\x9csimple\xe2\x80\x9d indeed.");
    add(t, p3, " Nothing about meaning here at all, just life.");
    attractor_index *a = attractor_index_new(t, 0.8, 3);
    const attractor *l;
    size_t n = attractor_list(a, &l);
    REQUIRE(n == 1);                                   /* the maximal phrase only */
    CHECK_INT(l[0].kind, ATTRACTOR_PHRASE);
    CHECK_STR(l[0].text, "the meaning of life is simple");
    CHECK_INT(l[0].support, 3);
    CHECK_INT(l[0].nmembers, 3);
    CHECK(has_member(&l[0], a1) && has_member(&l[0], a2) && has_member(&l[0], a3));
    CHECK_INT(attractor_of(a, a2), 0);
    attractor_span *s;
    size_t ns = attractor_spans(a, a1, &s);
    REQUIRE(ns == 1);
    const char *txt = tree_get(t, a1)->text;
    CHECK(!strncmp(txt + s[0].start, "the Meaning of Life is simple:", s[0].end - s[0].start));
    CHECK_INT(s[0].end - s[0].start, strlen("the Meaning of Life is simple:"));
    free(s);
    CHECK_INT(attractor_spans(a, p1, &s), 0);
    free(s);
    /* streaming a fourth context in raises the support */
    int32_t a4 = add(t, p1, "");
    const char *pieces[] = { " So", " the", " meaning", " of", " life", " is", " simple." };
    for (int i = 0; i < 7; i++) {
        tree_append_text(t, a4, pieces[i], strlen(pieces[i]));
        attractor_list(a, &l);
    }
    n = attractor_list(a, &l);
    REQUIRE(n >= 1);
    CHECK_STR(l[0].text, "the meaning of life is simple");
    CHECK_INT(l[0].support, 3);                        /* a4 shares p1 with a1 */
    CHECK_INT(l[0].nmembers, 4);
    attractor_index_free(a);
    tree_free(t);
}

TEST(attractor_ranks_by_support_then_probability)
{
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Q");
    int32_t p[5];
    for (int i = 0; i < 5; i++)
        p[i] = add(t, r, (const char *[]){ " one", " two", " three", " four", " five" }[i]);
    /* "blue sky" from 3 contexts with likely tokens; "red sun" from 3 with unlikely ones;
     * "green grass" from 4 contexts */
    for (int i = 0; i < 3; i++) {
        int32_t b = add(t, p[i], "");
        tree_append_token(t, b, "blue sky", 8, -0.1, NULL, 0, 1);
        int32_t c = add(t, p[i], "");
        tree_append_token(t, c, "red sun", 7, -3.0, NULL, 0, 1);
    }
    for (int i = 0; i < 4; i++)
        add(t, p[i], "green grass");
    attractor_index *a = attractor_index_new(t, 0.8, 3);
    const attractor *l;
    REQUIRE(attractor_list(a, &l) == 3);
    CHECK_STR(l[0].text, "green grass");
    CHECK_STR(l[1].text, "blue sky");
    CHECK_STR(l[2].text, "red sun");
    CHECK_NEAR(l[1].prob, exp(-0.1), 1e-6);
    CHECK_NEAR(l[1].score, 3 * (1 + exp(-0.1)), 1e-6);
    CHECK_NEAR(l[2].score, 3 * (1 + exp(-3.0)), 1e-6);
    attractor_index_free(a);
    tree_free(t);
}

/* ---- incremental == batch ---- */

static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

static const char *syl[] = {
    "ka", "lo", "mi", "ren", "tos", "vel", "an", "dor", "is", "qua", "ber", "ul", "fen", "sa",
};
#define NSYL (sizeof syl / sizeof *syl)

static const char *pool[] = {
    " I cannot help with that.", " As an AI language model, I do not have feelings.",
    " The answer is 42.", " Once upon a time, in a land far away.",
    " It was a dark and stormy night.", " Thank you for your question!",
};

static void random_text(buf *b)
{
    buf_clear(b);
    uint32_t k = rnd() % 10;
    if (k < 3) {                           /* a pool sentence, maybe respelled */
        const char *s = pool[rnd() % 6];
        for (const char *c = s; *c; c++)
            buf_addc(b, (rnd() % 7 == 0 && *c >= 'a' && *c <= 'z') ? (char)(*c - 32) : *c);
        if (rnd() % 3 == 0)
            buf_adds(b, "!");
        return;
    }
    uint32_t n = 1 + rnd() % 12;
    if (k == 3)                            /* a recurring phrase inside random words */
        buf_adds(b, " the cat runs over the river");
    for (uint32_t i = 0; i < n; i++) {
        buf_addc(b, ' ');
        buf_adds(b, syl[rnd() % NSYL]);          /* 196 two-syllable words */
        buf_adds(b, syl[rnd() % NSYL]);
    }
}

static int same_lists(attractor_index *x, attractor_index *y)
{
    const attractor *a, *b;
    size_t na = attractor_list(x, &a), nb = attractor_list(y, &b);
    if (na != nb) {
        fprintf(stderr, "lists differ in length: %zu vs %zu\n", na, nb);
        return 0;
    }
    for (size_t i = 0; i < na; i++) {
        if (a[i].kind != b[i].kind || a[i].nmembers != b[i].nmembers || a[i].support != b[i].support ||
            a[i].score != b[i].score || a[i].expected != b[i].expected ||
            a[i].log10_p != b[i].log10_p || strcmp(a[i].text, b[i].text) ||
            memcmp(a[i].members, b[i].members, a[i].nmembers * sizeof *a[i].members)) {
            fprintf(stderr, "entry %zu differs: %s / %s\n", i, a[i].text, b[i].text);
            return 0;
        }
    }
    return 1;
}

/* Grows t to `count` nodes by random edits with texts from make_text: adds, adds streamed
 * in pieces, rewrites, subtree deletions and their undos; now and then inc is brought up
 * to date (a listing, a version, or a UI's slice of work) in between. */
static void maybe_update(attractor_index *inc)
{
    const attractor *l;
    switch (rnd() % 48) {
    case 0: attractor_list(inc, &l); break;
    case 1: attractor_version(inc); break;
    case 2: attractor_work(inc, 1 + rnd() % 40); break;
    default: break;
    }
}

static void random_edits(tree *t, int32_t root, attractor_index *inc, void (*make_text)(buf *),
                         size_t count)
{
    buf b = {0};
    int32_t deleted[64];
    int idx[64], ndel = 0;
    while (tree_count(t) < count) {
        int32_t cap = tree_capacity(t), p;
        do
            p = (int32_t)(rnd() % (uint32_t)cap);
        while (!tree_get(t, p));
        make_text(&b);
        uint32_t op = rnd() % 100;
        if (op < 10) {                                    /* streamed in pieces */
            int32_t id = add(t, p, "");
            for (size_t o = 0, k; o < b.len; o += k) {
                k = 1 + rnd() % 6;
                if (k > b.len - o)
                    k = b.len - o;
                tree_append_text(t, id, b.data + o, k);
                maybe_update(inc);
            }
        } else if (op < 14 && tree_count(t) > 10) {      /* a rewritten node */
            tree_set_text(t, p, b.data, b.len);
        } else if (op < 16 && p != root && ndel < 64) {   /* a deleted subtree */
            deleted[ndel] = p;
            idx[ndel] = tree_delete(t, p);
            ndel++;
        } else if (op < 18 && ndel > 0) {                 /* the last deletion undone */
            ndel--;
            tree_undelete(t, deleted[ndel], idx[ndel]);
        } else {
            add(t, p, b.data);
        }
        maybe_update(inc);
    }
    buf_free(&b);
}

TEST(attractor_incremental_equals_batch)
{
    rng_state = 12345;
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Prompt");
    attractor_index *inc = attractor_index_new(t, 0.8, 3);
    const attractor *l;
    random_edits(t, r, inc, random_text, 10000);
    size_t n = attractor_list(inc, &l);
    CHECK(n > 5);                                          /* the pool made attractors */
    int phrases = 0;
    for (size_t i = 0; i < n; i++)
        phrases += l[i].kind == ATTRACTOR_PHRASE;
    CHECK(phrases > 0);
    attractor_index *batch = attractor_index_new(t, 0.8, 3);
    CHECK(same_lists(inc, batch));
    /* and again after more changes on top */
    for (int i = 0; i < 200; i++) {
        int32_t cap = tree_capacity(t), p;
        do
            p = (int32_t)(rnd() % (uint32_t)cap);
        while (!tree_get(t, p));
        add(t, p, pool[i % 6]);
    }
    attractor_index *batch2 = attractor_index_new(t, 0.8, 3);
    CHECK(same_lists(inc, batch2));
    CHECK(same_lists(batch, batch2));
    attractor_index_free(batch);
    attractor_index_free(batch2);
    attractor_index_free(inc);
    tree_free(t);
}

/* The list made a few units at a time (the TUI's slices) is the list made at once; a
 * branch added between slices waits in the queue; a deletion makes the listing start over. */
TEST(attractor_sliced_listing_equals_whole)
{
    rng_state = 4242;
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Prompt");
    attractor_index *inc = attractor_index_new(t, 0.8, 3);
    random_edits(t, r, inc, random_text, 4000);
    attractor_version(inc);
    size_t steps = 0;
    int rc;
    while ((rc = attractor_list_step(inc, 3)) == 0)
        steps++;
    CHECK_INT(rc, 1);
    CHECKF(steps > 20, "%zu slices", steps);
    CHECK(!attractor_list_busy(inc));
    attractor_index *batch = attractor_index_new(t, 0.8, 3);
    CHECK(same_lists(inc, batch));
    /* A branch arrives while it lists: the listing finishes, the branch waits. */
    add(t, r, pool[0]);
    CHECK_INT(attractor_list_step(inc, 3), 0);
    CHECK(attractor_list_busy(inc));
    add(t, r, pool[1]);
    while ((rc = attractor_list_step(inc, 3)) == 0) {
    }
    CHECK_INT(rc, 1);
    CHECK(attractor_stale(inc));
    /* A deletion while it lists: given up, then made again from the tree as it is. */
    add(t, r, pool[2]);
    CHECK_INT(attractor_list_step(inc, 3), 0);
    int32_t victim = tree_get(t, r)->children[0];
    tree_delete(t, victim);
    CHECK_INT(attractor_list_step(inc, 3), -1);
    CHECK(!attractor_list_busy(inc));
    while ((rc = attractor_list_step(inc, 5)) == 0) {
    }
    CHECK_INT(rc, 1);
    attractor_index *batch2 = attractor_index_new(t, 0.8, 3);
    CHECK(same_lists(inc, batch2));
    attractor_index_free(batch);
    attractor_index_free(batch2);
    attractor_index_free(inc);
    tree_free(t);
}

/* ---- crowded LSH buckets: a tiny vocabulary and templated answers ---- */

static const char *tiny[] = { "the", "cat", "sat", "on", "mat", "dog", "ran" };

static void crowded_text(buf *b)
{
    buf_clear(b);
    if (rnd() % 3 == 0) {                      /* "The number is N." chains into one cluster */
        char s[48];
        snprintf(s, sizeof s, " The number is %u.", rnd() % 400);
        buf_adds(b, s);
        return;
    }
    uint32_t n = 3 + rnd() % 8;
    for (uint32_t i = 0; i < n; i++) {
        buf_addc(b, ' ');
        buf_adds(b, tiny[rnd() % 7]);
    }
}

TEST(attractor_crowded_buckets_incremental_equals_batch)
{
    rng_state = 777;
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Prompt");
    attractor_index *inc = attractor_index_new(t, 0.8, 3);
    const attractor *l;
    random_edits(t, r, inc, crowded_text, 6000);
    /* slices drain the queue; the last leaves what one full update would */
    while (attractor_work(inc, 100) > 0)
        CHECK(attractor_pending(inc) > 0);
    CHECK(attractor_pending(inc) == 0);
    size_t n = attractor_list(inc, &l);
    REQUIRE(n > 0);
    /* the templated answers form one continuation attractor of many distinct texts */
    CHECK(l[0].kind == ATTRACTOR_CONTINUATION);
    CHECK(l[0].nmembers > 500);
    attractor_index *batch = attractor_index_new(t, 0.8, 3);
    CHECK(same_lists(inc, batch));
    attractor_index_free(batch);
    attractor_index_free(inc);
    tree_free(t);
}

/* The same texts under the same parents, added in the opposite order (so every node id and
 * every bucket's arrival order differ), give the same attractors.  Entries are compared as
 * "kind support member-texts" (ties in the listing are ordered by node id, which differs). */
static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static char **describe(tree *t, const attractor *l, size_t n)
{
    char **d = xmalloc(n * sizeof *d);
    for (size_t k = 0; k < n; k++) {
        char **v = xmalloc(l[k].nmembers * sizeof *v);
        for (size_t i = 0; i < l[k].nmembers; i++)
            v[i] = tree_get(t, l[k].members[i])->text;
        qsort(v, l[k].nmembers, sizeof *v, cmp_str);
        buf out = {0};
        char head[64];
        snprintf(head, sizeof head, "%d %zu:", (int)l[k].kind, l[k].support);
        buf_adds(&out, head);
        for (size_t i = 0; i < l[k].nmembers; i++) {
            buf_adds(&out, v[i]);
            buf_addc(&out, '|');
        }
        free(v);
        d[k] = buf_steal(&out);
    }
    qsort(d, n, sizeof *d, cmp_str);
    return d;
}

TEST(attractor_result_independent_of_arrival_order)
{
    enum { N = 4000, P = 300 };
    rng_state = 4242;
    char **texts = xmalloc(N * sizeof *texts);
    int32_t *par = xmalloc(N * sizeof *par);
    buf b = {0};
    for (int i = 0; i < N; i++) {
        crowded_text(&b);
        texts[i] = xstrdup(b.data);
        par[i] = (int32_t)(rnd() % P);
    }
    tree *t[2];
    attractor_index *a[2];
    const attractor *l[2];
    size_t n[2];
    char **d[2];
    for (int k = 0; k < 2; k++) {
        t[k] = tree_new();
        int32_t r = add(t[k], TREE_NONE, "Prompt");
        for (int p = 0; p < P; p++) {
            char ctx[32];
            snprintf(ctx, sizeof ctx, " context %d", p);   /* distinct contexts */
            add(t[k], r, ctx);
        }
        for (int i = 0; i < N; i++) {
            int j = k ? N - 1 - i : i;
            add(t[k], 1 + par[j], texts[j]);
        }
        a[k] = attractor_index_new(t[k], 0.8, 3);
        n[k] = attractor_list(a[k], &l[k]);
        d[k] = describe(t[k], l[k], n[k]);
    }
    CHECK(n[0] > 10);
    REQUIRE(n[0] == n[1]);
    size_t differ = 0;
    for (size_t i = 0; i < n[0]; i++)
        differ += strcmp(d[0][i], d[1][i]) != 0;
    CHECK(differ == 0);
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < n[k]; i++)
            free(d[k][i]);
        free(d[k]);
        attractor_index_free(a[k]);
        tree_free(t[k]);
    }
    for (int i = 0; i < N; i++)
        free(texts[i]);
    free(texts);
    free(par);
    buf_free(&b);
}

/* A list made elsewhere (a child process) is installed as bytes: the same list, the same
 * answers per node; bytes that are not a whole dump change nothing. */
TEST(attractor_list_travels_as_bytes)
{
    rng_state = 99;
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Prompt");
    buf b = {0};
    for (int i = 0; i < 3000; i++) {
        int32_t cap = tree_capacity(t), p;
        do
            p = (int32_t)(rnd() % (uint32_t)cap);
        while (!tree_get(t, p));
        random_text(&b);
        add(t, p, b.data);
    }
    (void)r;
    buf_free(&b);
    attractor_index *x = attractor_index_new(t, 0.8, 3), *y = attractor_index_new(t, 0.8, 3);
    const attractor *lx, *ly;
    size_t nx = attractor_list(x, &lx);
    REQUIRE(nx > 3);
    size_t len;
    char *d = attractor_list_dump(x, &len);
    CHECK(attractor_list_load(y, d, len - 1, 7) < 0);           /* cut short */
    CHECK(attractor_last(y, &ly) == 0);
    char *bad = xmalloc(len);
    memcpy(bad, d, len);
    bad[0] ^= 1;
    CHECK(attractor_list_load(y, bad, len, 7) < 0);             /* not a dump */
    free(bad);
    REQUIRE(attractor_list_load(y, d, len, attractor_version(y)) == 0);
    free(d);
    CHECK(!attractor_stale(y));
    CHECK(same_lists(x, y));                                     /* y: nothing recomputed */
    size_t differ = 0;
    for (int32_t id = 0; id < tree_capacity(t); id++) {
        differ += attractor_of(x, id) != attractor_of(y, id);
        attractor_span *sx, *sy;
        size_t ns = attractor_spans(x, id, &sx), ms = attractor_spans(y, id, &sy);
        differ += ns != ms || (ns && memcmp(sx, sy, ns * sizeof *sx));
        free(sx);
        free(sy);
    }
    CHECK(differ == 0);
    attractor_index_free(x);
    attractor_index_free(y);
    tree_free(t);
}

/* Short answers one word apart (a respelled word, a changed number, an inserted word) are
 * found every time, not just when their MinHash bands happen to agree. */
TEST(attractor_short_texts_one_edit_apart)
{
    rng_state = 2024;
    int missed = 0, trials = 60;
    for (int t = 0; t < trials; t++) {
        char w[6][12];
        for (int i = 0; i < 6; i++) {
            int n = 4 + (int)(rnd() % 5);
            for (int j = 0; j < n; j++)
                w[i][j] = (char)('a' + rnd() % 26);
            w[i][n] = 0;
        }
        tree *tr = tree_new();
        int32_t r = add(tr, TREE_NONE, "Q");
        int nw = 3 + t % 3;                       /* 3, 4 or 5 words (similarity 0.75 or more) */
        for (int v = 0; v < 3; v++) {
            buf b = {0};
            for (int i = 0; i < nw; i++) {
                buf_addc(&b, ' ');
                if (v == 1 && i == nw - 1) {      /* one letter changed */
                    char x[12];
                    strcpy(x, w[i]);
                    x[0] = x[0] == 'z' ? 'y' : (char)(x[0] + 1);
                    buf_adds(&b, x);
                } else
                    buf_adds(&b, w[i]);
            }
            if (v == 2)                           /* one word more */
                buf_adds(&b, " indeed");
            char ctx[32];
            snprintf(ctx, sizeof ctx, " context %d", v);
            int32_t p = add(tr, r, ctx);
            add(tr, p, b.data);
            buf_free(&b);
        }
        attractor_index *a = attractor_index_new(tr, 0.75, 3);
        const attractor *l;
        size_t n = attractor_list(a, &l);
        int got = 0;
        for (size_t i = 0; i < n; i++)
            got |= l[i].kind == ATTRACTOR_CONTINUATION && l[i].nmembers == 3;
        missed += !got;
        attractor_index_free(a);
        tree_free(tr);
    }
    CHECK_INT(missed, 0);
}

/* One word-edit bucket shared by texts of two lengths (the sequence of one is the other's
 * less a word) and crowded past its 32 leaders: followers of either length keep their own
 * anchors, and edits in any order leave what a fresh index finds. */
TEST(attractor_edit_bucket_of_two_lengths)
{
    rng_state = 31;
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Q");
    attractor_index *inc = attractor_index_new(t, 0.75, 3);
    int32_t ids[200];
    int n = 0;
    for (int i = 0; i < 200; i++) {
        char ctx[32];
        snprintf(ctx, sizeof ctx, " ctx %d", i);
        int32_t p = add(t, r, ctx);
        char s[64];
        if (i % 4 == 0)
            snprintf(s, sizeof s, " the answer is");
        else
            snprintf(s, sizeof s, " the answer is %c%c%c", 'a' + (int)(rnd() % 26),
                     'a' + (int)(rnd() % 26), 'a' + (int)(rnd() % 3));
        ids[n++] = add(t, p, s);
        if (i % 7 == 0)
            attractor_version(inc);
        if (i % 11 == 5)
            tree_delete(t, ids[rnd() % (uint32_t)n]);
    }
    const attractor *l;
    CHECK(attractor_list(inc, &l) > 0);
    attractor_index *batch = attractor_index_new(t, 0.75, 3);
    CHECK(same_lists(inc, batch));
    attractor_index_free(batch);
    attractor_index_free(inc);
    tree_free(t);
}

/* Renders a cut as the stats panel draws it ("…" between and after the pieces). */
static void render_cut(const char *s, size_t len, const attractor_cut *c, char *out, size_t n)
{
    int head_ell = c->head < len && c->head < c->tail;
    int end_ell = c->tail_end > c->tail ? c->tail_end < len : c->head < len;
    snprintf(out, n, "%.*s%s%.*s%s", (int)c->head, s, head_ell ? "\xe2\x80\xa6" : "",
             (int)(c->tail_end - c->tail), s + c->tail, end_ell ? "\xe2\x80\xa6" : "");
}

TEST(attractor_cuts_distinct_at_word_boundaries)
{
    const char *texts[] = { "romeo i'll tell thee", "romeo i'll tell thee more", "romeo i'll tell them all",
                            "short one", "romeo i'll tell thee" };
    size_t lens[5];
    int cols[5];
    for (int i = 0; i < 5; i++) {
        lens[i] = strlen(texts[i]);
        cols[i] = 18;
    }
    attractor_cut c[5];
    attractor_cuts(texts, lens, cols, 5, 0, c);
    char shown[5][96];
    for (int i = 0; i < 5; i++) {
        render_cut(texts[i], lens[i], &c[i], shown[i], sizeof shown[i]);
        CHECKF(text_width(shown[i], strlen(shown[i]), 0) <= 18, "'%s' is wider than 18", shown[i]);
    }
    CHECK_STR(shown[3], "short one");                       /* fits: whole */
    CHECK_STR(shown[0], shown[4]);                          /* equal texts, equal labels */
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            CHECKF(strcmp(shown[i], shown[j]), "'%s' and '%s' look alike", shown[i], shown[j]);
    /* Cuts fall before a space: every piece is whole words of the text. */
    for (int i = 0; i < 3; i++) {
        CHECKF(c[i].head == 0 || texts[i][c[i].head] == ' ', "'%s' cut inside a word", shown[i]);
        CHECKF(c[i].tail_end == c[i].tail || c[i].tail_end == lens[i] || texts[i][c[i].tail_end] == ' ',
               "'%s' tail cut inside a word", shown[i]);
    }
    /* A single word wider than the room is cut by columns, never past them. */
    const char *one[] = { "abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyZ" };
    size_t ol[] = { 26, 26 };
    int oc[] = { 10, 10 };
    attractor_cut c2[2];
    attractor_cuts(one, ol, oc, 2, 0, c2);
    for (int i = 0; i < 2; i++) {
        render_cut(one[i], ol[i], &c2[i], shown[i], sizeof shown[i]);
        CHECKF(text_width(shown[i], strlen(shown[i]), 0) <= 10, "'%s' is wider than 10", shown[i]);
    }
}
