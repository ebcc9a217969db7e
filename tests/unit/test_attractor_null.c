/* The chance null of phrase attractors (core/attractor.h "Chance"): its figures by hand on
 * a small tree, common phrases of n-gram text and chance 4-grams of a tiny vocabulary not
 * reported, a phrase planted in a few branches under different parents reported. */
#include "tests/test.h"
#include "core/attractor.h"
#include "core/mem.h"
#include "core/ngram.h"
#include "core/text.h"
#include <stdint.h>
#include <stdlib.h>

static int32_t add(tree *t, int32_t parent, const char *text)
{
    return tree_add_child(t, parent, parent == TREE_NONE ? TREE_ORIGIN_PROMPT : TREE_ORIGIN_MODEL,
                          text, strlen(text));
}

static size_t count_phrases(attractor_index *a, const char *containing, int *found)
{
    const attractor *l;
    size_t n = attractor_list(a, &l), k = 0;
    *found = 0;
    for (size_t i = 0; i < n; i++) {
        if (l[i].kind != ATTRACTOR_PHRASE)
            continue;
        k++;
        if (containing && (strstr(containing, l[i].text) || strstr(l[i].text, containing)))
            *found = 1;
    }
    return k;
}

TEST(attractor_null_figures_by_hand)
{
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Begin");
    add(t, add(t, r, " p"), " a b c d one");
    add(t, add(t, r, " q"), " two a b c d");
    add(t, add(t, r, " r"), " three a b c d four");
    attractor_index *a = attractor_index_new(t, 0.8, 3);
    const attractor *l;
    size_t n = attractor_list(a, &l);
    REQUIRE(n == 1 && l[0].kind == ATTRACTOR_PHRASE);
    CHECK_STR(l[0].text, "a b c d");
    /* 19 words; a, b, c each 3 times and always followed; ab, bc, cd, abc, bcd 3 times;
     * 7 windows of 4 words (0 + 2 + 2 + 3) */
    const double K = ATTRACTOR_NULL_K, p1 = 3.0 / 19;
    double p2 = (3 + K * p1) / (3 + K);          /* P2(b|a) = P2(c|b) = P2(d|c) */
    double p3 = (3 + K * p2) / (3 + K);          /* P3(c|ab) = P3(d|bc) */
    double e = 7 * p1 * p2 * p3 * p3;
    CHECK_NEAR(l[0].expected / e, 1, 1e-12);
    double p = 1 - exp(-e) * (1 + e + e * e / 2);   /* P(Poisson(e) >= 3), one candidate */
    CHECK_NEAR(pow(10, l[0].log10_p) / p, 1, 1e-9);
    attractor_index_free(a);
    tree_free(t);
}

/* 4-grams of 12 words drawn from 8 recur by chance in many contexts: the null expects
 * them (each about 1.3 times), so none is an attractor; without it hundreds are. */
TEST(attractor_null_drops_chance_grams_of_a_tiny_vocabulary)
{
    static const char *voc[] = { "red", "blue", "cat", "dog", "runs", "sleeps", "far", "near" };
    uint64_t s = 0x9e3779b97f4a7c15ull;
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Go");
    int32_t par[120];
    for (int i = 0; i < 120; i++) {
        char txt[32];
        snprintf(txt, sizeof txt, " opening %d", i);
        par[i] = add(t, r, txt);
    }
    for (int i = 0; i < 600; i++) {
        buf b = {0};
        for (int w = 0; w < 12; w++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            buf_addc(&b, ' ');
            buf_adds(&b, voc[s % 8]);
        }
        tree_add_child(t, par[i % 120], TREE_ORIGIN_MODEL, b.data, b.len);
        buf_free(&b);
    }
    attractor_index *a = attractor_index_new(t, 0.8, 3);
    int found;
    size_t with = count_phrases(a, NULL, &found);
    attractor_set_alpha(a, 1);
    size_t without = count_phrases(a, NULL, &found);
    CHECKF(without > 100, "%zu chance phrases listed without the null", without);
    CHECKF(with == 0, "%zu chance phrases kept by the null", with);
    attractor_index_free(a);
    tree_free(t);
}

/* A breadth tree of the built-in n-gram model's text (the model knows its corpus's common
 * phrases: "at the end of", "one token at a time"), 6 children per node. */
static uint64_t ng_s;
static tree *ngram_tree(const ngram_model *m, size_t nodes)
{
    size_t V = ngram_vocab_size(m);
    double *p = xmalloc(V * sizeof *p);
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "The loom");
    size_t head = 0;
    int32_t *q = xmalloc((nodes + 8) * sizeof *q);
    size_t nq = 0;
    q[nq++] = r;
    while (tree_count(t) < nodes && head < nq) {
        int32_t parent = q[head++];
        for (int k = 0; k < 6 && tree_count(t) < nodes; k++) {
            const tree_node *pn = tree_get(t, parent);
            uint32_t ctx[NGRAM_MAX_ORDER - 1];
            size_t nc = ngram_context(m, pn->text, pn->text_len, ctx);
            buf b = {0};
            for (int tok = 0; tok < 24; tok++) {
                ngram_distribution(m, ctx, nc, p);
                ng_s ^= ng_s << 13; ng_s ^= ng_s >> 7; ng_s ^= ng_s << 17;
                double x = (double)(ng_s >> 11) * 0x1.0p-53, c = 0;
                uint32_t id = 1;
                for (size_t v = 1; v < V; v++) {      /* id 0 (unknown) is never sampled */
                    c += p[v];
                    id = (uint32_t)v;
                    if (c > x)
                        break;
                }
                size_t tl;
                const char *tt = ngram_token_text(m, id, &tl);
                buf_add(&b, tt, tl);
                if (nc == NGRAM_MAX_ORDER - 1)
                    memmove(ctx, ctx + 1, (nc - 1) * sizeof *ctx);
                else
                    nc++;
                ctx[nc - 1] = id;
            }
            int32_t c = tree_add_child(t, parent, TREE_ORIGIN_MODEL, b.data ? b.data : "", b.len);
            buf_free(&b);
            q[nq++] = c;
        }
    }
    free(q);
    free(p);
    return t;
}

TEST(attractor_null_ngram_text_and_a_planted_phrase)
{
    char err[256];
    ngram_model *m = ngram_load(NULL, 4, err, sizeof err);
    REQUIRE(m);
    ng_s = 0x2545f4914f6cdd1dull;
    tree *t = ngram_tree(m, 3000);
    attractor_index *a = attractor_index_new(t, 0.8, 3);
    int found;
    size_t with = count_phrases(a, NULL, &found);
    attractor_set_alpha(a, 1);
    size_t without = count_phrases(a, NULL, &found);
    CHECKF(without >= 40, "%zu phrases without the null", without);
    CHECKF(with * 20 <= without, "%zu of %zu common phrases kept by the null", with, without);
    attractor_set_alpha(a, ATTRACTOR_PHRASE_ALPHA);
    /* five of the corpus's words, in an order it never has, put into 15 branches (0.5%)
     * under different parents, each at a word boundary inside its text */
    const char *plant = "branch water sure loom token";
    int32_t cap = tree_capacity(t), last_parent = TREE_NONE;
    size_t planted = 0;
    for (int32_t id = 1; id < cap && planted < 15; id += 97) {
        const tree_node *n = tree_get(t, id);
        if (!n || n->parent == last_parent || n->parent == TREE_NONE)
            continue;
        size_t cut = n->text_len / 2;
        while (cut < n->text_len && n->text[cut] != ' ')
            cut++;
        buf b = {0};
        buf_add(&b, n->text, cut);
        buf_addc(&b, ' ');
        buf_adds(&b, plant);
        buf_add(&b, n->text + cut, n->text_len - cut);
        last_parent = n->parent;
        tree_set_text(t, id, b.data, b.len);
        buf_free(&b);
        planted++;
    }
    REQUIRE(planted == 15);
    size_t now = count_phrases(a, plant, &found);
    CHECKF(found, "the planted phrase is not reported (%zu phrases)", now);
    const attractor *l;
    size_t nl = attractor_list(a, &l);
    CHECK(nl > 0 && l[0].kind == ATTRACTOR_PHRASE && strstr(plant, l[0].text));   /* ranked first */
    attractor_index_free(a);
    tree_free(t);
    ngram_free(m);
}

/* A collapsed model's phrase in a fifth of the branches: its words occur nowhere else, so
 * the trigram model fitted to the tree predicts it from itself; the cap on the expected
 * share (ATTRACTOR_NULL_SHARE) keeps it an attractor, ranked first. */
TEST(attractor_null_phrase_filling_the_tree_is_kept)
{
    uint64_t s = 0x853c49e6748fea9bull;
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Go");
    int32_t par[1000];
    char word[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(word, sizeof word, " start%d", i);
        par[i] = add(t, r, word);
    }
    for (int i = 0; i < 5000; i++) {
        buf b = {0};
        for (int w = 0; w < 10; w++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            snprintf(word, sizeof word, " w%u", (unsigned)(s % 300));
            buf_adds(&b, word);
            if (w == 4 && i % 5 == 0)
                buf_adds(&b, " it is important to remember that");
        }
        tree_add_child(t, par[i / 5], TREE_ORIGIN_MODEL, b.data, b.len);   /* one each */
        buf_free(&b);
    }
    attractor_index *a = attractor_index_new(t, 0.8, 3);
    const attractor *l;
    size_t n = attractor_list(a, &l);
    REQUIRE(n > 0);
    CHECK(l[0].kind == ATTRACTOR_PHRASE && strstr(l[0].text, "it is important to remember that"));
    CHECKF(l[0].expected <= ATTRACTOR_NULL_SHARE * 6000 + 1e-9, "expected %g", l[0].expected);
    CHECKF(l[0].log10_p < -100, "log10 p %g", l[0].log10_p);
    attractor_index_free(a);
    tree_free(t);
}
