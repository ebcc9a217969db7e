/* Attractors on small crowded trees (a vocabulary of 3 to 6 words, texts copied and
 * edited): the phrase attractors (every one with enough support: alpha 1) against a
 * brute-force reference written from the contract alone, and the whole list (p-values
 * too) made incrementally, in slices and at once, all equal. */
#include "tests/test.h"
#include "core/attractor.h"
#include "core/merge.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rs;
static uint32_t rnd(void)
{
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rs >> 33);
}

static const char *voc[] = { "the", "cat", "Sat", "on", "mat", "dog" };

/* A random text of the first v words (some capitalized or punctuated: the same after
 * normalizing), or an earlier node's text with one word changed, or copied whole. */
static void make_text(tree *t, int v, char *s, size_t cap)
{
    size_t l = 0;
    int32_t n = tree_capacity(t);
    if (n > 2 && rnd() % 3 == 0) {
        const tree_node *o = tree_get(t, 1 + (int32_t)(rnd() % (uint32_t)(n - 1)));
        if (o && o->text_len + 8 < cap) {
            memcpy(s, o->text, o->text_len);
            l = o->text_len;
            if (rnd() % 2)
                l += (size_t)snprintf(s + l, cap - l, " %s", voc[rnd() % (uint32_t)v]);
            s[l] = 0;
            return;
        }
    }
    int nw = 3 + (int)(rnd() % 10);
    for (int w = 0; w < nw; w++)
        l += (size_t)snprintf(s + l, cap - l, "%s%s%s", w ? " " : "", voc[rnd() % (uint32_t)v],
                              rnd() % 9 ? "" : ",");
}

static tree *random_tree(int v, int nodes)
{
    tree *t = tree_new();
    tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "Prompt", 6);
    char s[256];
    for (int i = 1; i < nodes; i++) {
        int32_t p = rnd() % 4 ? (int32_t)(rnd() % (uint32_t)tree_capacity(t)) : 0;
        make_text(t, v, s, sizeof s);
        tree_add_child(t, p, TREE_ORIGIN_MODEL, s, strlen(s));
    }
    return t;
}

/* ---- the reference ---- */

typedef struct { char *gram; int32_t node; } occ_ref;
typedef struct { char *gram; int n; int32_t *hold; size_t nhold; size_t support; int alive; } gram_ref;

static char *norm(const tree_node *nd)
{
    buf nb = {0};
    merge_words(nd->text, nd->text_len, NULL, &nb);
    buf_add(&nb, "", 1);
    return buf_steal(&nb);
}

/* the node's texts from the root down, normalized, one line each */
static char *context(tree *t, int32_t id)
{
    buf b = {0};
    for (int32_t x = id; x != TREE_NONE; x = tree_parent(t, x)) {
        char *s = norm(tree_get(t, x));
        buf c = {0};
        buf_adds(&c, s);
        buf_addc(&c, '\n');
        buf_add(&c, b.data ? b.data : "", b.len);
        buf_free(&b);
        b = c;
        free(s);
    }
    buf_add(&b, "", 1);
    return buf_steal(&b);
}

static int cmp_occ(const void *x, const void *y)
{
    const occ_ref *a = x, *b = y;
    int c = strcmp(a->gram, b->gram);
    return c ? c : (a->node > b->node) - (a->node < b->node);
}

static int cmp_str(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

static gram_ref *find(gram_ref *g, size_t n, const char *s)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(g[mid].gram, s);
        if (!c)
            return &g[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* words w[i..i+n) joined by spaces */
static char *join(char **w, size_t i, size_t n)
{
    buf b = {0};
    for (size_t k = 0; k < n; k++) {
        if (k)
            buf_addc(&b, ' ');
        buf_adds(&b, w[i + k]);
    }
    buf_add(&b, "", 1);
    return buf_steal(&b);
}

static size_t split(char *s, char **w)
{
    size_t n = 0;
    for (char *p = strtok(s, " "); p; p = strtok(NULL, " "))
        w[n++] = p;
    return n;
}

/* Checks the phrase attractors of l against the reference; 1 when equal. */
static int phrases_match(tree *t, const attractor *l, size_t nl, size_t m)
{
    occ_ref *oc = NULL;
    size_t noc = 0, occap = 0;
    for (int32_t id = 1; id < tree_capacity(t); id++) {
        const tree_node *nd = tree_get(t, id);
        if (!nd)
            continue;
        char *s = norm(nd), *w[64];
        size_t nw = split(s, w);
        for (size_t n = ATTRACTOR_MIN_PHRASE; n <= ATTRACTOR_MAX_PHRASE; n++)
            for (size_t i = 0; i + n <= nw; i++) {
                xgrow(&oc, &occap, noc + 1, sizeof *oc);
                oc[noc++] = (occ_ref){ join(w, i, n), id };
            }
        free(s);
    }
    if (noc)
        qsort(oc, noc, sizeof *oc, cmp_occ);
    gram_ref *g = xcalloc(noc + 1, sizeof *g);
    size_t ng = 0;
    for (size_t i = 0; i < noc; ) {
        size_t j = i;
        gram_ref *r = &g[ng++];
        r->gram = oc[i].gram;
        r->n = 1;
        for (const char *p = r->gram; *p; p++)
            r->n += *p == ' ';
        r->hold = xmalloc((noc - i) * sizeof *r->hold);
        char **ctx = xmalloc((noc - i) * sizeof *ctx);
        for (; j < noc && !strcmp(oc[j].gram, oc[i].gram); j++)
            if (!r->nhold || r->hold[r->nhold - 1] != oc[j].node) {
                ctx[r->nhold] = context(t, tree_parent(t, oc[j].node));
                r->hold[r->nhold++] = oc[j].node;
            }
        qsort(ctx, r->nhold, sizeof *ctx, cmp_str);
        for (size_t k = 0; k < r->nhold; k++)
            r->support += !k || strcmp(ctx[k], ctx[k - 1]);
        for (size_t k = 0; k < r->nhold; k++)
            free(ctx[k]);
        free(ctx);
        /* dropped: held only by the members of one continuation attractor */
        int dropped = 0;
        for (size_t a = 0; a < nl && !dropped; a++) {
            if (l[a].kind != ATTRACTOR_CONTINUATION)
                continue;
            size_t in = 0;
            for (size_t k = 0; k < r->nhold; k++)
                for (size_t q = 0; q < l[a].nmembers; q++)
                    in += l[a].members[q] == r->hold[k];
            dropped = in == r->nhold;
        }
        r->alive = r->support >= m && !dropped;
        for (size_t k = i + 1; k < j; k++)
            free(oc[k].gram);
        i = j;
    }
    /* closed: no alive one-word extension (at any occurrence) with the same support */
    size_t nexp = 0, ok = 1;
    for (size_t x = 0; x < ng; x++) {
        gram_ref *r = &g[x];
        if (!r->alive)
            continue;
        int closed = 1;
        for (size_t k = 0; k < r->nhold && closed && r->n < ATTRACTOR_MAX_PHRASE; k++) {
            char *s = norm(tree_get(t, r->hold[k])), *w[64];
            size_t nw = split(s, w);
            for (size_t i = 0; i + (size_t)r->n <= nw && closed; i++) {
                char *here = join(w, i, (size_t)r->n);
                if (!strcmp(here, r->gram))
                    for (int side = 0; side < 2 && closed; side++) {
                        if ((side == 0 && i + (size_t)r->n + 1 > nw) || (side == 1 && i == 0))
                            continue;
                        char *e = join(w, side ? i - 1 : i, (size_t)r->n + 1);
                        gram_ref *er = find(g, ng, e);
                        closed = !(er && er->alive && er->support == r->support);
                        free(e);
                    }
                free(here);
            }
            free(s);
        }
        if (!closed)
            continue;
        nexp++;
        const attractor *hit = NULL;
        for (size_t a = 0; a < nl; a++)
            if (l[a].kind == ATTRACTOR_PHRASE && !strcmp(l[a].text, r->gram))
                hit = &l[a];
        if (!hit || hit->support != r->support || hit->nmembers != r->nhold ||
            memcmp(hit->members, r->hold, r->nhold * sizeof *r->hold)) {
            fprintf(stderr, "phrase \"%s\" (support %zu, %zu nodes): %s\n", r->gram, r->support,
                    r->nhold, hit ? "listed differently" : "not listed");
            ok = 0;
        }
    }
    size_t nphr = 0;
    for (size_t a = 0; a < nl; a++)
        nphr += l[a].kind == ATTRACTOR_PHRASE;
    if (nphr != nexp) {
        fprintf(stderr, "%zu phrases listed, the reference has %zu\n", nphr, nexp);
        ok = 0;
    }
    for (size_t x = 0; x < ng; x++) {
        free(g[x].gram);
        free(g[x].hold);
    }
    free(g);
    free(oc);
    return (int)ok;
}

static int same(const attractor *a, size_t na, const attractor *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].kind != b[i].kind || a[i].nmembers != b[i].nmembers || a[i].support != b[i].support ||
            a[i].score != b[i].score || a[i].expected != b[i].expected || a[i].log10_p != b[i].log10_p ||
            strcmp(a[i].text, b[i].text) ||
            memcmp(a[i].members, b[i].members, a[i].nmembers * sizeof *a[i].members))
            return 0;
    return 1;
}

TEST(attractor_phrases_equal_a_brute_force_reference_on_crowded_trees)
{
    rs = 1234;
    int phrases = 0, conts = 0;
    for (int round = 0; round < 24; round++) {
        int v = 3 + round % 4, nodes = 40 + (int)(rnd() % 160);
        size_t m = 2 + (size_t)(round % 2);
        tree *t = random_tree(v, nodes);
        attractor_index *a = attractor_index_new(t, 0.8, (int)m);
        attractor_set_alpha(a, 1);
        const attractor *l;
        size_t n = attractor_list(a, &l);
        for (size_t i = 0; i < n; i++) {
            phrases += l[i].kind == ATTRACTOR_PHRASE;
            conts += l[i].kind == ATTRACTOR_CONTINUATION;
        }
        CHECKF(phrases_match(t, l, n, m), "round %d (%d words, %d nodes, m %zu)", round, v, nodes, m);
        attractor_index_free(a);
        tree_free(t);
    }
    CHECK(phrases > 100);      /* the trees hold phrases to compare, and clusters */
    CHECK(conts > 10);
}

/* The same trees grown node by node under an index (listed now and then, in slices or at
 * once) end with the list a fresh index makes, at the default alpha and at 1. */
TEST(attractor_crowded_trees_incremental_sliced_and_batch_agree)
{
    rs = 777;
    for (int round = 0; round < 16; round++) {
        int v = 3 + round % 4, nodes = 60 + (int)(rnd() % 240);
        tree *src = random_tree(v, nodes), *t = tree_new();
        tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "Prompt", 6);
        attractor_index *inc = attractor_index_new(t, 0.8, 2);
        if (round % 2)
            attractor_set_alpha(inc, 1);
        for (int32_t id = 1; id < tree_capacity(src); id++) {
            const tree_node *nd = tree_get(src, id);
            tree_add_child(t, nd->parent, TREE_ORIGIN_MODEL, nd->text, nd->text_len);
            if (rnd() % 25 == 0) {
                const attractor *l;
                attractor_list(inc, &l);
            } else if (rnd() % 25 == 0) {
                while (attractor_list_step(inc, 1 + rnd() % 7) == 0) {
                }
            }
        }
        attractor_index *batch = attractor_index_new(t, 0.8, 2), *sl = attractor_index_new(t, 0.8, 2);
        if (round % 2) {
            attractor_set_alpha(batch, 1);
            attractor_set_alpha(sl, 1);
        }
        const attractor *li, *lb, *ls;
        size_t ni = attractor_list(inc, &li), nb = attractor_list(batch, &lb);
        while (attractor_list_step(sl, 1 + rnd() % 5) == 0) {
        }
        size_t ns = attractor_last(sl, &ls);
        CHECKF(same(li, ni, lb, nb), "round %d: incremental (%zu) != batch (%zu)", round, ni, nb);
        CHECKF(same(ls, ns, lb, nb), "round %d: sliced (%zu) != whole (%zu)", round, ns, nb);
        attractor_index_free(inc);
        attractor_index_free(batch);
        attractor_index_free(sl);
        tree_free(t);
        tree_free(src);
    }
}
