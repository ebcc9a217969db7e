/* Attractors in crowded trees: the anchor window of a crowded bucket (ATTRACTOR_ANCHORS), the
 * buckets' entries checked against their classes,
 * and a tiny-vocabulary tree (16 words from 12) kept incrementally equal to a fresh index. */
#include "tests/test.h"
#include "core/attractor.h"
#include "core/attractor_impl.h"     /* gram_hash: a class's rank in its buckets */
#include "core/merge.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int32_t add(tree *t, int32_t parent, const char *text)
{
    return tree_add_child(t, parent, parent == TREE_NONE ? TREE_ORIGIN_PROMPT : TREE_ORIGIN_MODEL,
                          text, strlen(text));
}

static uint64_t rs;
static uint32_t rnd(void)
{
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rs >> 33);
}

/* The class hash of a text: leaders of a bucket are its classes with the smallest. */
static uint64_t class_hash(const char *s)
{
    merge_word *mw;
    size_t nw = merge_words(s, strlen(s), &mw, NULL);
    uint64_t w[16];
    for (size_t i = 0; i < nw && i < 16; i++)
        w[i] = mw[i].hash;
    free(mw);
    return gram_hash(w, nw);
}

static void word8(char *w)
{
    for (int i = 0; i < 8; i++)
        w[i] = (char)('a' + rnd() % 26);
    w[8] = 0;
}

#define FILLERS 60

/* One word-edit bucket, "pa ·", crowded with FILLERS two-word texts "pa <word>" that
 * resemble nothing, plus T = "pa Y" and two one-letter variants of Y (under three other
 * parents).  Two-word texts share no MinHash value (one bigram each), so T and its
 * variants can only meet in that bucket.  Returns 1 when the three form a continuation
 * attractor; *rank: T's rank in the bucket, *qrank: the smaller of its variants' ranks. */
static int planted(uint32_t seed, int *rank, int *qrank)
{
    rs = seed;
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Q");
    int32_t p0 = add(t, r, " ctx");
    uint64_t h[FILLERS + 3];
    char s[32], y[9];
    for (int i = 0; i < FILLERS; i++) {
        char w[9];
        word8(w);
        snprintf(s, sizeof s, " pa %s", w);
        add(t, p0, s);
        h[i] = class_hash(s);
    }
    word8(y);
    int32_t tid = 0;
    for (int k = 0; k < 3; k++) {
        char v[9];
        memcpy(v, y, sizeof v);
        if (k)
            v[8 - k] = (char)(v[8 - k] == 'z' ? 'a' : v[8 - k] + 1);
        snprintf(s, sizeof s, " pa %s", v);
        char ctx[24];
        snprintf(ctx, sizeof ctx, " other %d", k);   /* three distinct contexts */
        int32_t id = add(t, add(t, r, ctx), s);
        if (!k)
            tid = id;
        h[FILLERS + k] = class_hash(s);
    }
    int rk[3] = { 0, 0, 0 };
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < FILLERS + 3; i++)
            rk[k] += h[i] < h[FILLERS + k];
    *rank = rk[0];
    *qrank = rk[1] < rk[2] ? rk[1] : rk[2];
    attractor_index *a = attractor_index_new(t, 0.8, 3);
    const attractor *l;
    size_t n = attractor_list(a, &l);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (l[i].kind == ATTRACTOR_CONTINUATION && l[i].nmembers == 3 && l[i].members[0] <= tid &&
            l[i].members[2] >= tid)
            found = 1;
    attractor_index_free(a);
    tree_free(t);
    return found;
}

/* In a bucket of more than ATTRACTOR_LEADERS classes a follower links only to the first of
 * the first ATTRACTOR_ANCHORS leaders it resembles: variants that are followers find T when
 * T ranks among the first 8, and not when T is a later leader (rank 8..31). */
TEST(attractor_follower_anchors_to_first_eight_leaders)
{
    int inside = 0, beyond = 0;
    for (uint32_t seed = 1; seed < 4000 && (inside < 3 || beyond < 3); seed++) {
        int rank, qrank;
        int found = planted(seed, &rank, &qrank);
        if (qrank < ATTRACTOR_LEADERS)
            continue;                            /* a variant among the leaders: all pairs */
        if (rank < ATTRACTOR_ANCHORS) {
            CHECKF(found, "seed %u: T ranks %d, its variants were not linked to it", seed, rank);
            inside++;
        } else if (rank < ATTRACTOR_LEADERS) {
            CHECKF(!found, "seed %u: T ranks %d (past the window) yet was linked", seed, rank);
            beyond++;
        }
    }
    CHECK(inside >= 3);
    CHECK(beyond >= 3);
}

/* ---- 16 words from a 12-word vocabulary ---- */

static const char *voc[] = { "the", "cat", "sat", "on", "mat", "dog", "ran", "far", "and", "a",
                             "red", "sun" };

/* Random words, or (one time in three) one of three fixed sentences with up to three words
 * replaced: near-duplicates that crowd the same buckets. */
static void tiny16(char *s, size_t n)
{
    size_t o = 0;
    uint32_t base = rnd() % 5, x[3] = { rnd() % 16, rnd() % 16, rnd() % 16 };
    for (uint32_t w = 0; w < 16; w++) {
        uint32_t v = rnd() % 12;
        if (base < 3 && w != x[0] && w != x[1] && w != x[2])
            v = (w * (base + 5) + base) % 12;
        o += (size_t)snprintf(s + o, n - o, " %s", voc[v]);
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
    for (size_t i = 0; i < na; i++)
        if (a[i].kind != b[i].kind || a[i].nmembers != b[i].nmembers || a[i].support != b[i].support ||
            a[i].score != b[i].score || strcmp(a[i].text, b[i].text) ||
            memcmp(a[i].members, b[i].members, a[i].nmembers * sizeof *a[i].members)) {
            fprintf(stderr, "entry %zu differs: %s / %s\n", i, a[i].text, b[i].text);
            return 0;
        }
    return 1;
}

/* A crowded tree grown, rewritten and pruned under an incremental index equals a fresh
 * index of the result; a planted near-duplicate (one word changed) under 4 parents is found
 * among the random texts. */
TEST(attractor_tiny_vocabulary_incremental_equals_batch)
{
    rs = 99;
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Prompt");
    attractor_index *inc = attractor_index_new(t, 0.8, 3);
    char s[160];
    int32_t planted_ids[4];
    int np = 0;
    for (int i = 1; i < 8000; i++) {
        int32_t p = (int32_t)(rnd() % (uint32_t)tree_capacity(t));
        if (!tree_get(t, p))
            p = r;
        uint32_t op = rnd() % 100;
        if (i % 1900 == 950 && np < 4) {
            const char *v[4] = { " the cat sat on the mat and the dog ran far to a red sun on the mat",
                                 " the cat sat on the mat and the dog ran far to a red sun on a mat",
                                 " the cat sat on the mat and a dog ran far to a red sun on the mat",
                                 " the cat sat on a mat and the dog ran far to a red sun on the mat" };
            planted_ids[np] = add(t, p, v[np]);
            np++;
            continue;
        }
        tiny16(s, sizeof s);
        int is_planted = 0;
        for (int k = 0; k < np; k++)
            is_planted |= planted_ids[k] == p;
        if (op < 5 && !is_planted && p != r)
            tree_set_text(t, p, s, strlen(s));
        else if (op < 7 && !is_planted && p != r && !tree_get(t, p)->nchildren)
            tree_delete(t, p);
        else
            add(t, p, s);
        if (rnd() % 40 == 0)
            attractor_version(inc);
        if (rnd() % 300 == 0) {
            const attractor *l;
            attractor_list(inc, &l);
        }
    }
    REQUIRE(np == 4);
    attractor_index *batch = attractor_index_new(t, 0.8, 3);
    CHECK(same_lists(inc, batch));
    const attractor *l;
    size_t n = attractor_list(batch, &l);
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (l[i].kind != ATTRACTOR_CONTINUATION)
            continue;
        int k = 0;
        for (size_t j = 0; j < l[i].nmembers; j++)
            for (int q = 0; q < 4; q++)
                k += l[i].members[j] == planted_ids[q];
        found |= k >= 3;
    }
    CHECK(found);
    attractor_index_free(batch);
    attractor_index_free(inc);
    tree_free(t);
}

/* ---- the buckets' entries as the index keeps them ---- */

static uint32_t anchor_for(const cls *k, uint64_t key)
{
    for (int b = 0; b < MH_BANDS; b++)
        if (k->band[b] == key)
            return k->anchor[b];
    for (int j = 0; j < k->nx; j++)
        if (k->xkey[j] == key)
            return k->xanchor[j];
    return NONE32 - 1;                           /* not one of its keys */
}

/* Every bucket's entries: live classes with their own hash; leaders sorted by it and
 * without anchors; followers ranked after the last leader, their anchor (one of the first
 * MH_ANCHORS leaders, or none) the same in the entry and in the class. */
static int buckets_consistent(attractor_index *a)
{
    size_t crowded = 0;
    for (size_t s = 0; s < a->bkmap.cap; s++) {
        const hash_slot *e = &a->bkmap.s[s];
        if (!hash_slot_used(e) || (e->v & BUCKET_SOLO))
            continue;
        uint64_t key = hash_slot_key(e);
        const bucket *bk = &a->bk[e->v];
        crowded += bk->n > MH_LEADERS;
        for (uint32_t j = 0; j < bk->n; j++) {
            const bentry *x = &bk->b[j];
            const cls *k = &a->cl[x->c];
            uint32_t an = anchor_for(k, key);
            int ok = k->live && k->in_lsh && x->h == k->h && an == x->an;
            if (j < MH_LEADERS)
                ok = ok && x->an == NONE32 && (j == 0 || bk->b[j - 1].h <= x->h);
            else {
                ok = ok && x->h > bk->b[MH_LEADERS - 1].h;
                int inwin = x->an == NONE32;
                for (uint32_t l = 0; l < MH_ANCHORS; l++)
                    inwin |= bk->b[l].c == x->an;
                ok = ok && inwin;
            }
            if (!ok) {
                fprintf(stderr, "bucket %u entry %u (class %u, anchor %u / %u) is off\n",
                        e->v, j, x->c, x->an, an);
                return 0;
            }
        }
    }
    return crowded > 0;                         /* there were crowded buckets to check */
}

/* A crowded tree grown, rewritten and pruned: after each update the buckets' entries agree
 * with their classes (a stale copy of an anchor would keep a link the rule has dropped). */
TEST(attractor_crowded_bucket_entries_stay_consistent)
{
    rs = 4711;
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Prompt");
    attractor_index *a = attractor_index_new(t, 0.8, 3);
    char s[160];
    int checks = 0;
    for (int i = 1; i < 6000; i++) {
        int32_t p = (int32_t)(rnd() % (uint32_t)tree_capacity(t));
        if (!tree_get(t, p))
            p = r;
        uint32_t op = rnd() % 100;
        tiny16(s, sizeof s);
        if (op < 6 && p != r)
            tree_set_text(t, p, s, strlen(s));
        else if (op < 9 && p != r && !tree_get(t, p)->nchildren)
            tree_delete(t, p);
        else
            add(t, p, s);
        if (i % 400 == 0 && i >= 2000) {
            attractor_version(a);
            CHECKF(buckets_consistent(a), "after %d changes", i);
            checks++;
        }
    }
    attractor_index *batch = attractor_index_new(t, 0.8, 3);
    CHECK(same_lists(a, batch));
    CHECK(checks > 5);
    attractor_index_free(batch);
    attractor_index_free(a);
    tree_free(t);
}
