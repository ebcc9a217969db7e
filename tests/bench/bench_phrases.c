/* Chance-corrected phrase attractors (core/attractor.h "Chance"): on breadth trees of the
 * built-in n-gram model's text (grown as `termloom gen --backend ngram` grows them: 10
 * children per node to depth 4, 32 tokens each, 11,110 nodes) every phrase attractor is a
 * false one — the text has common phrases, not collapse — so their count per 10,000 nodes
 * is the false rate, with and without the null.  Recall: a phrase of 5 (or 4) words drawn
 * from the tree's own text, put into 0.5% of the branches under different parents (each at
 * a random word boundary of its text), is it reported?  The index follows the edits
 * incrementally, as in the TUI. */
#include "tests/bench.h"
#include "core/attractor.h"
#include "core/grow.h"
#include "core/mem.h"
#include "core/merge.h"
#include "core/ngram.h"
#include "core/settings.h"
#include "core/tree.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLANTS 10

static uint64_t rs;
static uint32_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)(rs >> 16);
}

/* Breadth: every node down to depth 3 gets 10 children (at most 16 requests in flight). */
static tree *ngram_tree(backend *b, long long seed, char *err, size_t errlen)
{
    tree *t = tree_new();
    int32_t root = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "The loom", 8);
    grow *g = grow_new(t, b, NULL, NULL);
    gen_settings s;
    settings_init(&s);
    s.max_tokens = 32;
    s.logprobs = 1;
    s.seed = seed;
    s.has_seed = 1;
    int32_t *q = xmalloc(12000 * sizeof *q);
    size_t nq = 0, head = 0;
    q[nq++] = root;
    int ok = 1;
    while (ok && (head < nq || grow_active(g))) {
        while (head < nq && grow_active(g) < 16) {
            int32_t p = q[head++];
            if (tree_depth(t, p) >= 4)
                continue;
            if (grow_start(g, p, &s, 10, err, errlen) < 0) {
                ok = 0;
                break;
            }
        }
        backend_pump(b);
        for (int32_t id = (int32_t)nq; id < tree_capacity(t); id++)   /* new children, in id order */
            q[nq++] = id;
    }
    grow_free(g);
    settings_free(&s);
    free(q);
    if (!ok) {
        tree_free(t);
        return NULL;
    }
    return t;
}

static size_t phrases(attractor_index *a, double alpha)
{
    attractor_set_alpha(a, alpha);
    const attractor *l;
    size_t n = attractor_list(a, &l), k = 0;
    for (size_t i = 0; i < n; i++)
        k += l[i].kind == ATTRACTOR_PHRASE;
    return k;
}

/* A normalized word of the tree's text at random (so common words come often). */
static void random_word(tree *t, buf *out)
{
    for (;;) {
        int32_t id = 1 + (int32_t)(rnd() % (uint32_t)(tree_capacity(t) - 1));
        const tree_node *n = tree_get(t, id);
        buf norm = {0};
        merge_words(n->text, n->text_len, NULL, &norm);
        size_t nw = 1;
        for (size_t i = 0; i < norm.len; i++)
            nw += norm.data[i] == ' ';
        size_t want = rnd() % nw, w = 0, i = 0;
        for (; i < norm.len && w < want; i++)
            w += norm.data[i] == ' ';
        size_t e = i;
        while (e < norm.len && norm.data[e] != ' ')
            e++;
        if (e > i) {
            buf_add(out, norm.data + i, e - i);
            buf_free(&norm);
            return;
        }
        buf_free(&norm);
    }
}

/* Is the phrase a run of whole words of the plant, or the plant inside it? */
static int hits(const char *phrase, const char *plant)
{
    size_t lp = strlen(phrase), lq = strlen(plant);
    const char *in = lp <= lq ? plant : phrase, *x = lp <= lq ? phrase : plant;
    size_t lin = lp <= lq ? lq : lp, lx = lp <= lq ? lp : lq;
    for (const char *s = strstr(in, x); s; s = strstr(s + 1, x))
        if ((s == in || s[-1] == ' ') && (s + lx == in + lin || s[lx] == ' '))
            return 1;
    return 0;
}

/* Plants a words-long phrase into 0.5% of the branches (different parents) and lists;
 * the texts are put back after.  Returns 1 when a phrase attractor is (part of) it, and
 * adds the other phrase attractors to *others. */
static int plant_one(tree *t, attractor_index *a, int words, size_t *others)
{
    buf plant = {0};
    for (int w = 0; w < words; w++) {
        if (w)
            buf_addc(&plant, ' ');
        random_word(t, &plant);
    }
    buf_addc(&plant, 0);
    size_t want = tree_count(t) / 200, n = 0;
    int32_t cap = tree_capacity(t);
    int32_t *ids = xmalloc(want * sizeof *ids);
    char **old = xmalloc(want * sizeof *old);
    size_t *oldlen = xmalloc(want * sizeof *oldlen);
    uint8_t *used = xcalloc((size_t)cap, 1);
    for (int tries = 0; n < want && tries < 100000; tries++) {
        int32_t id = 1 + (int32_t)(rnd() % (uint32_t)(cap - 1));
        const tree_node *nd = tree_get(t, id);
        if (!nd || nd->parent == TREE_NONE || used[nd->parent] || !nd->text_len)
            continue;
        used[nd->parent] = 1;
        size_t nsp = 0;
        for (size_t i = 0; i < nd->text_len; i++)
            nsp += nd->text[i] == ' ';
        size_t at = nd->text_len, pick = nsp ? rnd() % nsp : 0, k = 0;
        for (size_t i = 0; i < nd->text_len; i++)
            if (nd->text[i] == ' ' && k++ == pick) {
                at = i;
                break;
            }
        buf nt = {0};
        buf_add(&nt, nd->text, at);
        buf_addc(&nt, ' ');
        buf_adds(&nt, plant.data);
        buf_add(&nt, nd->text + at, nd->text_len - at);
        ids[n] = id;
        old[n] = xstrndup(nd->text, nd->text_len);
        oldlen[n] = nd->text_len;
        n++;
        tree_set_text(t, id, nt.data, nt.len);
        buf_free(&nt);
    }
    const attractor *l;
    size_t nl = attractor_list(a, &l);
    int hit = 0;
    for (size_t i = 0; i < nl; i++)
        if (l[i].kind == ATTRACTOR_PHRASE) {
            if (hits(l[i].text, plant.data))
                hit = 1;
            else
                (*others)++;
        }
    for (size_t i = 0; i < n; i++) {
        tree_set_text(t, ids[i], old[i], oldlen[i]);
        free(old[i]);
    }
    free(ids);
    free(old);
    free(oldlen);
    free(used);
    buf_free(&plant);
    return hit;
}

BENCH(phrase_attractors_chance)
{
    char err[256];
    backend *b = ngram_backend_new(NULL, err, sizeof err);
    if (!b) {
        bench_report("phrase attractors on n-gram text", "failed: %s", err);
        return;
    }
    size_t nodes = 0, with = 0, without = 0, hit5 = 0, hit4 = 0, others = 0, lists = 0;
    double t_list = 0;
    for (long long seed = 1; seed <= 2; seed++) {
        tree *t = ngram_tree(b, seed, err, sizeof err);
        if (!t) {
            bench_report("phrase attractors on n-gram text", "failed: %s", err);
            backend_free(b);
            return;
        }
        nodes += tree_count(t);
        attractor_index *a = attractor_index_new(t, 0.8, ATTRACTOR_DEFAULT_MIN_CONTEXTS);
        double t0 = bench_now();
        with += phrases(a, ATTRACTOR_PHRASE_ALPHA);
        t_list += bench_now() - t0;
        without += phrases(a, 1);
        attractor_set_alpha(a, ATTRACTOR_PHRASE_ALPHA);
        rs = 0x9e3779b97f4a7c15ull * (uint64_t)seed;
        for (int p = 0; p < PLANTS; p++) {
            hit5 += (size_t)plant_one(t, a, 5, &others);
            hit4 += (size_t)plant_one(t, a, 4, &others);
            lists += 2;
        }
        attractor_index_free(a);
        tree_free(t);
    }
    backend_free(b);
    char l[160];
    snprintf(l, sizeof l, "n-gram text, 2 trees of %zu nodes: false phrase attractors per 10,000 nodes", nodes / 2);
    bench_report(l, "%.1f (without the null: %.0f) (target: <= 10)", 1e4 * (double)with / (double)nodes,
                 1e4 * (double)without / (double)nodes);
    bench_report("  while a phrase is planted (others listed, per 10,000 nodes)", "%.1f",
                 1e4 * (double)others / (double)lists / ((double)nodes / 2));
    bench_report("recall: 5 words planted in 0.5% of branches, different parents", "%zu/%d (target: >= 90%%)",
                 hit5, 2 * PLANTS);
    bench_report("recall: 4 words planted in 0.5% of branches, different parents", "%zu/%d", hit4, 2 * PLANTS);
    bench_report("analysis of such a tree (index + list)", "%.2f s each", t_list / 2);
}
