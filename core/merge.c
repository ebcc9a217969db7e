/* core/merge.c — see merge.h. */
#include "core/merge.h"
#include "core/hash.h"
#include "core/merge_impl.h"
#include "core/entropy.h"
#include <stdlib.h>
#include <string.h>

/* ---- features and similarity ---- */

typedef struct feat {
    char     *norm;      /* normalized text */
    uint32_t  nlen;
    uint32_t  nw;
    uint64_t  h;         /* hash of norm */
    uint64_t *w;         /* word hashes (short texts: then nw word sketches, see sketch()) */
    uint32_t *wofs;      /* nw + 1 offsets: word i is norm[wofs[i] .. wofs[i+1] - 1) */
    uint64_t *bg;        /* sorted distinct bigram hashes (long texts only) */
    uint32_t  nbg;
    uint8_t   valid;
} feat;

static void feat_clear(feat *f)
{
    free(f->norm);
    free(f->w);
    free(f->wofs);
    free(f->bg);
    memset(f, 0, sizeof *f);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static size_t decode_cps(const char *s, size_t n, int32_t *cp, size_t cap);

/* A word's sketch for the cheap lower bound on its edit distance (lev_bound): its length
 * in code points (at most 64, as word_dist counts) in the high half and, in the low half,
 * one bit per distinct code point among those (hashed onto 32 bits). */
static uint64_t sketch(const char *s, size_t n)
{
    int32_t cp[64];
    size_t k = decode_cps(s, n, cp, 64);
    uint32_t mask = 0;
    for (size_t i = 0; i < k; i++)
        mask |= 1u << (((uint32_t)cp[i] * 0x9E3779B1u) >> 27);
    return (uint64_t)k << 32 | mask;
}

static void feat_build(feat *f, const char *s, size_t len)
{
    feat_clear(f);
    buf nb = {0};
    merge_word *mw = NULL;
    size_t nw = merge_words(s, len, &mw, &nb);
    f->nlen = (uint32_t)nb.len;
    f->norm = buf_steal(&nb);
    f->h = hash_fnv1a_mixed(f->norm, f->nlen);
    f->nw = (uint32_t)nw;
    int sketched = nw <= MERGE_SHORT_WORDS;
    f->w = xmalloc((nw ? nw : 1) * (sketched ? 2 : 1) * sizeof *f->w);
    f->wofs = xmalloc((nw + 1) * sizeof *f->wofs);
    uint32_t o = 0;
    for (size_t i = 0; i < nw; i++) {
        f->w[i] = mw[i].hash;
        f->wofs[i] = o;
        const char *sp = memchr(f->norm + o, ' ', f->nlen - o);
        o = sp ? (uint32_t)(sp - f->norm) + 1 : f->nlen + 1;
    }
    f->wofs[nw] = f->nlen + 1;
    free(mw);
    if (sketched)
        for (size_t i = 0; i < nw; i++)
            f->w[nw + i] = sketch(f->norm + f->wofs[i], f->wofs[i + 1] - 1 - f->wofs[i]);
    if (nw > MERGE_SHORT_WORDS || nw == 1) {
        size_t nb2 = nw == 1 ? 1 : nw - 1;
        f->bg = xmalloc(nb2 * sizeof *f->bg);
        if (nw == 1)
            f->bg[0] = f->w[0] * 0xff51afd7ed558ccdull;
        else
            for (size_t i = 0; i + 1 < nw; i++)
                f->bg[i] = (f->w[i] * 0xff51afd7ed558ccdull) ^ (f->w[i + 1] + 0x9e3779b97f4a7c15ull + (f->w[i] << 6));
        qsort(f->bg, nb2, sizeof *f->bg, cmp_u64);
        size_t u = 0;
        for (size_t i = 0; i < nb2; i++)
            if (!u || f->bg[u - 1] != f->bg[i])
                f->bg[u++] = f->bg[i];
        f->nbg = (uint32_t)u;
    }
    f->valid = 1;
}

static size_t decode_cps(const char *s, size_t n, int32_t *cp, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < cap; ) {
        int32_t c;
        i += merge_next_cp(s, n, i, &c);
        cp[k++] = c;
    }
    return k;
}

/* Character-level Levenshtein distance of two words over code points, divided by the
 * longer length.  Words longer than 64 code points are compared on their first 64. */
static double word_dist(const char *a, size_t an, const char *b, size_t bn)
{
    int32_t ca[64], cb[64];
    size_t na = decode_cps(a, an, ca, 64), nb = decode_cps(b, bn, cb, 64);
    size_t mx = na > nb ? na : nb;
    if (!mx)
        return 0;
    unsigned row[65];
    for (size_t j = 0; j <= nb; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= na; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= nb; j++) {
            unsigned up = row[j];
            unsigned v = diag + (ca[i - 1] != cb[j - 1]);
            if (up + 1 < v)
                v = up + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
        }
    }
    return (double)row[nb] / (double)mx;
}

/* Word pairs recur (a small vocabulary, templated answers), so their distances are
 * memoized in a direct-mapped table keyed by the two word hashes (order-free: the distance
 * is symmetric).  Purely a cache of a pure function: results never depend on it.  One table
 * per thread (the headless commands list attractors on a thread while the file is written). */
#define SUB_MEMO 4096
static _Thread_local struct { uint64_t key; double d; } sub_memo[SUB_MEMO];

static double sub_bound(const feat *a, uint32_t i, const feat *b, uint32_t j);

/* The substitution cost of word i of a by word j of b; when it is not in the memo and its
 * cheap bound already exceeds room (the most it may cost to matter), that bound instead:
 * larger than room either way, and word_dist is never run for the pair. */
static double sub_cost(const feat *a, uint32_t i, const feat *b, uint32_t j, double room)
{
    uint64_t x = a->w[i], y = b->w[j];
    if (x == y)
        return 0;
    uint64_t key = (x < y ? x * 0x9e3779b97f4a7c15ull + y : y * 0x9e3779b97f4a7c15ull + x) | 1;
    size_t slot = (size_t)(key >> 52) & (SUB_MEMO - 1);
    if (sub_memo[slot].key == key)
        return sub_memo[slot].d;
    double lb = sub_bound(a, i, b, j);
    if (lb > room)
        return lb;
    double d = word_dist(a->norm + a->wofs[i], a->wofs[i + 1] - 1 - a->wofs[i],
                         b->norm + b->wofs[j], b->wofs[j + 1] - 1 - b->wofs[j]);
    sub_memo[slot].key = key;
    sub_memo[slot].d = d;
    return d;
}

/* A lower bound on sub_cost from the two words' sketches: an edit script changes at least
 * the length difference, and at least one position per distinct character of one word
 * that the other lacks (a bit set in one mask only stands for at least one such character). */
static uint32_t popcount32(uint32_t x)
{
    x -= (x >> 1) & 0x55555555u;
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    return (((x + (x >> 4)) & 0x0f0f0f0fu) * 0x01010101u) >> 24;
}

static double sub_bound(const feat *a, uint32_t i, const feat *b, uint32_t j)
{
    if (a->w[i] == b->w[j])
        return 0;
    uint64_t x = a->w[a->nw + i], y = b->w[b->nw + j];
    uint32_t la = (uint32_t)(x >> 32), lb = (uint32_t)(y >> 32);
    uint32_t ma = (uint32_t)x, mb = (uint32_t)y;
    uint32_t d = la > lb ? la - lb : lb - la;
    uint32_t oa = popcount32(ma & ~mb), ob = popcount32(mb & ~ma);
    if (oa > d)
        d = oa;
    if (ob > d)
        d = ob;
    uint32_t mx = la > lb ? la : lb;
    return mx ? (double)d / mx : 0;
}

/* Word-level edit similarity; when need > 0 the result is exact only if it is ≥ need
 * (cells farther than the allowed distance from the diagonal are skipped, and a word pair
 * whose cheap bound says its substitution cannot win or stay within the allowed distance
 * never pays for its real edit distance: most pairs of unrelated texts). */
static double short_sim(const feat *a, const feat *b, double need)
{
    uint32_t na = a->nw, nb = b->nw, mx = na > nb ? na : nb;
    double dmax = need > 0 ? (1.0 - need) * mx + 1e-9 : (double)mx + 1;
    uint32_t band = (uint32_t)dmax + 1;
    if ((na > nb ? na - nb : nb - na) > dmax)
        return 0;
    const double INF = 1e30;
    double prev[MERGE_SHORT_WORDS + 1], cur[MERGE_SHORT_WORDS + 1];
    for (uint32_t j = 0; j <= nb; j++) {
        prev[j] = j <= band ? (double)j : INF;
        cur[j] = INF;
    }
    for (uint32_t i = 1; i <= na; i++) {
        double rowmin = INF;
        /* only the cells within the band: the next row reads this one's band and the cell
         * on each side of it, so those two are INF */
        uint32_t lo = i > band ? i - band : 0, hi = i + band < nb ? i + band : nb;
        if (lo > 0)
            cur[lo - 1] = INF;
        if (hi < nb)
            cur[hi + 1] = INF;
        for (uint32_t j = lo; j <= hi; j++) {
            double v;
            if (j == 0)
                v = (double)i;
            else {
                /* insertion or deletion; the substitution is only worth computing when it
                 * can win (it costs at most 1) and can still lead under dmax */
                v = prev[j] < cur[j - 1] ? prev[j] + 1 : cur[j - 1] + 1;
                if (prev[j - 1] < v && prev[j - 1] <= dmax) {
                    double room = (need > 0 && dmax < v ? dmax : v) - prev[j - 1];
                    double sc = prev[j - 1] + sub_cost(a, i - 1, b, j - 1, room);
                    if (sc < v)
                        v = sc;
                }
            }
            /* what is left of the texts costs at least their length difference: a cell
             * that cannot finish within dmax is dropped (exact, as the rowmin cut) */
            uint32_t ra = na - i, rb = nb - j;
            if (need > 0 && v + (double)(ra > rb ? ra - rb : rb - ra) > dmax)
                v = INF;
            cur[j] = v;
            if (v < rowmin)
                rowmin = v;
        }
        if (rowmin > dmax)
            return 0;
        memcpy(prev, cur, (nb + 1) * sizeof *prev);
    }
    double s = 1.0 - prev[nb] / mx;
    return s < 0 ? 0 : s;
}

static double jaccard(const feat *a, const feat *b, double need)
{
    uint32_t lo = a->nbg < b->nbg ? a->nbg : b->nbg, hi = a->nbg ^ b->nbg ^ lo;
    if (!hi)
        return 1;
    if (need > 0 && (double)lo / hi < need)
        return (double)lo / hi * 0.999;
    uint32_t i = 0, j = 0, common = 0;
    while (i < a->nbg && j < b->nbg) {
        if (a->bg[i] == b->bg[j]) {
            common++;
            i++;
            j++;
        } else if (a->bg[i] < b->bg[j])
            i++;
        else
            j++;
    }
    return (double)common / (double)(a->nbg + b->nbg - common);
}

static double feat_sim(const feat *a, const feat *b, double need)
{
    if (a->h == b->h && a->nlen == b->nlen && !memcmp(a->norm, b->norm, a->nlen))
        return 1;
    if (!a->nw || !b->nw)
        return 0;
    if (a->nw <= MERGE_SHORT_WORDS && b->nw <= MERGE_SHORT_WORDS)
        return short_sim(a, b, need);
    if (!a->bg || !b->bg)
        return 0;                      /* a 2..16-word text against a long one */
    return jaccard(a, b, need);
}

double merge_similarity(const char *a, size_t alen, const char *b, size_t blen)
{
    feat fa = {0}, fb = {0};
    feat_build(&fa, a, alen);
    feat_build(&fb, b, blen);
    double s = feat_sim(&fa, &fb, 0);
    feat_clear(&fa);
    feat_clear(&fb);
    return s;
}

double merge_similarity_norm(const char *a, size_t alen, const char *b, size_t blen)
{
    return merge_similarity(a, alen, b, blen);   /* normalizing twice changes nothing */
}

/* ---- candidate keys for grouping many siblings ----
 * The first MERGE_SCAN_GROUPS groups of a parent are always compared with a new child, in
 * order, as the exhaustive rule says.  Later groups are found through keys shared with the
 * child's text (a per-regroup hash map from key to the groups holding it, in group order):
 * the normalized text; for short texts the word sequence and the sequence with each word
 * left out (one word substituted, inserted or deleted); for long texts the prefix-filter
 * bigrams (the first |B| - ceil(thr |B|) + 1 of the sorted bigram set: two sets with
 * Jaccard ≥ thr always share one of them).  At most MERGE_KEY_SCAN groups per key are
 * compared.  So a parent costs O(children × keys) similarity checks instead of
 * O(children × groups); grouping is unchanged unless a short text's near-duplicate differs
 * in two or more words from it and is not among the first groups. */
#define MERGE_SCAN_GROUPS 64
#define MERGE_KEY_SCAN 32

typedef struct gkey { uint64_t key; int32_t head, tail; } gkey;
typedef struct gpost { uint32_t group; int32_t next; } gpost;

struct merge_keys {
    gkey   *slot;
    size_t  nslot, used;
    gpost  *post;
    size_t  npost, postcap;
};

static uint64_t key_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return (x ^ (x >> 33)) | 1;          /* 0 marks an empty slot */
}

static void keys_reset(struct merge_keys *k)
{
    if (k->slot)
        memset(k->slot, 0, k->nslot * sizeof *k->slot);
    k->used = 0;
    k->npost = 0;
}

static gkey *keys_find(struct merge_keys *k, uint64_t key, int add)
{
    if (add && (k->used + 1) * 2 > k->nslot) {
        gkey *old = k->slot;
        size_t on = k->nslot;
        k->nslot = on ? on * 2 : 1024;
        k->slot = xcalloc(k->nslot, sizeof *k->slot);
        k->used = 0;
        for (size_t i = 0; i < on; i++)
            if (old[i].key) {
                gkey *s = keys_find(k, old[i].key, 1);
                *s = old[i];
            }
        free(old);
    }
    if (!k->nslot)
        return NULL;
    size_t mask = k->nslot - 1;
    for (size_t i = (size_t)key & mask;; i = (i + 1) & mask) {
        if (k->slot[i].key == key)
            return &k->slot[i];
        if (!k->slot[i].key) {
            if (!add)
                return NULL;
            k->slot[i] = (gkey){ key, -1, -1 };
            k->used++;
            return &k->slot[i];
        }
    }
}

/* The keys of a feature into out (capacity MERGE_SHORT_WORDS + 2 or the prefix length). */
static size_t feat_keys(const feat *f, double thr, uint64_t **out, size_t *cap)
{
    size_t n = 0, want = MERGE_SHORT_WORDS + 2;
    size_t plen = 0;
    if (f->nw > MERGE_SHORT_WORDS && f->nbg) {
        double keep = thr > 0 ? thr * f->nbg : 0;
        size_t need = (size_t)keep;
        if ((double)need < keep)
            need++;
        plen = f->nbg - (need < f->nbg ? need : f->nbg) + 1;
        if (plen > f->nbg)
            plen = f->nbg;
        want = plen + 1;
    }
    xgrow(out, cap, want, sizeof **out);
    uint64_t *k = *out;
    k[n++] = key_mix(f->h ^ 0x6a09e667f3bcc908ull);
    if (f->nw >= 1 && f->nw <= MERGE_SHORT_WORDS) {
        for (uint32_t skip = 0; skip <= f->nw; skip++) {
            if (skip < f->nw && f->nw < 2)
                continue;
            uint64_t h = 0x3c6ef372fe94f82bull + f->nw - (skip < f->nw);
            for (uint32_t i = 0; i < f->nw; i++)
                if (i != skip)
                    h = (h ^ f->w[i]) * 0x100000001b3ull + (h >> 29);
            k[n++] = key_mix(h);
        }
    }
    for (size_t i = 0; i < plen; i++)
        k[n++] = key_mix(f->bg[i] ^ 0xbb67ae8584caa73bull);
    return n;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void keys_add(struct merge_keys *k, const uint64_t *key, size_t nk, uint32_t group)
{
    for (size_t i = 0; i < nk; i++) {
        gkey *s = keys_find(k, key[i], 1);
        xgrow(&k->post, &k->postcap, k->npost + 1, sizeof *k->post);
        k->post[k->npost] = (gpost){ group, -1 };
        if (s->tail >= 0)
            k->post[s->tail].next = (int32_t)k->npost;
        else
            s->head = (int32_t)k->npost;
        s->tail = (int32_t)k->npost++;
    }
}

/* ---- the index ---- */

struct merge_index {
    tree     *t;
    double    thr;
    uint32_t  epoch;        /* grouping generation; a parent is current when stamp == epoch */
    uint64_t  version;
    size_t    cap;
    feat     *f;
    int32_t  *leader;
    uint32_t *gsize;
    uint32_t *stamp;
    int32_t  *scratch;
    size_t    scratch_cap;
    struct merge_keys keys;  /* regroup's candidate map (reused) */
    uint64_t *kbuf;
    size_t    kcap;
    uint32_t *cand;
    size_t    candcap;
    /* One parent's grouping in progress (merge_group_step), resumed where it stopped; any
     * other grouping or a change under that parent starts it again. */
    int32_t   part_p;
    uint32_t  part_k, part_epoch;
    size_t    part_ng;
};

static void ensure(merge_index *m, int32_t id)
{
    if (id < 0 || (size_t)id < m->cap)
        return;
    size_t need = (size_t)id + 1, old = m->cap;
    size_t cap = old;
    xgrow(&m->f, &cap, need, sizeof *m->f);
    cap = old;
    xgrow(&m->leader, &cap, need, sizeof *m->leader);
    cap = old;
    xgrow(&m->gsize, &cap, need, sizeof *m->gsize);
    cap = old;
    xgrow(&m->stamp, &cap, need, sizeof *m->stamp);
    memset(m->f + old, 0, (cap - old) * sizeof *m->f);
    memset(m->stamp + old, 0, (cap - old) * sizeof *m->stamp);
    for (size_t i = old; i < cap; i++) {
        m->leader[i] = (int32_t)i;
        m->gsize[i] = 1;
    }
    m->cap = cap;
}

static void dirty_parent(merge_index *m, int32_t id)
{
    int32_t p = tree_parent(m->t, id);
    if (p != TREE_NONE) {
        ensure(m, p);
        m->stamp[p] = 0;
        if (m->part_p == p)
            m->part_p = TREE_NONE;
    }
}

static void on_event(void *ud, tree *t, int kind, int32_t id)
{
    merge_index *m = ud;
    (void)t;
    ensure(m, id);
    switch (kind) {
    case TREE_EV_ADD:
    case TREE_EV_TEXT:
        m->f[id].valid = 0;
        dirty_parent(m, id);
        break;
    case TREE_EV_DELETE:
    case TREE_EV_UNDELETE:
        dirty_parent(m, id);
        break;
    default:
        return;
    }
    m->version++;
}

merge_index *merge_index_new(tree *t, double threshold)
{
    merge_index *m = xcalloc(1, sizeof *m);
    m->t = t;
    m->thr = threshold;
    m->epoch = 1;
    m->version = 1;
    m->part_p = TREE_NONE;
    ensure(m, tree_capacity(t) > 0 ? tree_capacity(t) - 1 : 0);
    tree_observe(t, on_event, m);
    return m;
}

void merge_index_free(merge_index *m)
{
    if (!m)
        return;
    tree_unobserve(m->t, on_event, m);
    for (size_t i = 0; i < m->cap; i++)
        feat_clear(&m->f[i]);
    free(m->f);
    free(m->leader);
    free(m->gsize);
    free(m->stamp);
    free(m->scratch);
    free(m->keys.slot);
    free(m->keys.post);
    free(m->kbuf);
    free(m->cand);
    free(m);
}

void merge_set_threshold(merge_index *m, double threshold)
{
    if (threshold == m->thr)
        return;
    m->thr = threshold;
    m->epoch++;
    m->version++;
}

double merge_get_threshold(const merge_index *m) { return m->thr; }
uint64_t merge_version(const merge_index *m) { return m->version; }

static feat *feat_of(merge_index *m, int32_t id)
{
    feat *f = &m->f[id];
    if (!f->valid) {
        tree_node *n = tree_get(m->t, id);
        feat_build(f, n->text, n->text_len);
    }
    return f;
}

/* The first earlier group (index < ng) whose leader is similar to fc, or -1. */
static long first_group(merge_index *m, const feat *fc, size_t ng, size_t *nk)
{
    size_t scan = ng < MERGE_SCAN_GROUPS ? ng : MERGE_SCAN_GROUPS;
    for (size_t g = 0; g < scan; g++)
        if (feat_sim(fc, &m->f[m->scratch[g]], m->thr) >= m->thr)
            return (long)g;
    *nk = 0;
    if (ng <= MERGE_SCAN_GROUPS)
        return -1;
    *nk = feat_keys(fc, m->thr, &m->kbuf, &m->kcap);
    size_t nc = 0;
    for (size_t i = 0; i < *nk; i++) {
        gkey *s = keys_find(&m->keys, m->kbuf[i], 0);
        int32_t e = s ? s->head : -1;
        for (int seen = 0; e >= 0 && seen < MERGE_KEY_SCAN; seen++, e = m->keys.post[e].next) {
            xgrow(&m->cand, &m->candcap, nc + 1, sizeof *m->cand);
            m->cand[nc++] = m->keys.post[e].group;
        }
    }
    if (nc)
        qsort(m->cand, nc, sizeof *m->cand, cmp_u32);
    for (size_t i = 0; i < nc; i++) {
        if (i && m->cand[i] == m->cand[i - 1])
            continue;
        if (feat_sim(fc, &m->f[m->scratch[m->cand[i]]], m->thr) >= m->thr)
            return (long)m->cand[i];
    }
    return -1;
}

/* Groups p's children, at most `budget` of them this call; 1 when p is grouped. */
static int regroup_some(merge_index *m, int32_t p, size_t budget)
{
    tree_node *pn = tree_get(m->t, p);
    size_t ng = 0;
    uint32_t k = 0;
    if (m->part_p == p && m->part_epoch == m->epoch) {
        ng = m->part_ng;
        k = m->part_k;
    } else {
        m->part_p = TREE_NONE;
        xgrow(&m->scratch, &m->scratch_cap, pn->nchildren + 1, sizeof *m->scratch);
        keys_reset(&m->keys);
    }
    for (; k < pn->nchildren && budget; k++, budget--) {
        int32_t c = pn->children[k];
        ensure(m, c);
        feat *fc = feat_of(m, c);
        m->leader[c] = c;
        m->gsize[c] = 1;
        const tree_node *cn = tree_get(m->t, c);
        if (!cn->text_len && cn->origin != TREE_ORIGIN_MODEL)
            continue;   /* an empty hand-made node (e.g. a compare label) stands alone */
        size_t nk = 0;
        long g = first_group(m, fc, ng, &nk);
        if (g >= 0) {
            int32_t l = m->scratch[g];
            m->leader[c] = l;
            m->gsize[l]++;
            continue;
        }
        if (ng >= MERGE_SCAN_GROUPS) {
            if (!nk)
                nk = feat_keys(fc, m->thr, &m->kbuf, &m->kcap);
            keys_add(&m->keys, m->kbuf, nk, (uint32_t)ng);
        }
        m->scratch[ng++] = c;
    }
    if (k < pn->nchildren) {
        m->part_p = p;
        m->part_k = k;
        m->part_ng = ng;
        m->part_epoch = m->epoch;
        return 0;
    }
    m->part_p = TREE_NONE;
    m->stamp[p] = m->epoch;
    return 1;
}

static void grouped(merge_index *m, int32_t p)
{
    ensure(m, p);
    if (m->stamp[p] != m->epoch)
        regroup_some(m, p, (size_t)-1);
}

int merge_group_step(merge_index *m, int32_t parent, size_t budget)
{
    if (!tree_get(m->t, parent))
        return 1;
    ensure(m, parent);
    return m->stamp[parent] == m->epoch || regroup_some(m, parent, budget ? budget : 1);
}

int32_t merge_leader(merge_index *m, int32_t id)
{
    tree_node *n = tree_get(m->t, id);
    if (!n)
        return TREE_NONE;
    if (n->parent == TREE_NONE)
        return id;
    grouped(m, n->parent);
    return m->leader[id];
}

size_t merge_count(merge_index *m, int32_t id)
{
    int32_t l = merge_leader(m, id);
    return l == TREE_NONE ? 0 : l == id && tree_parent(m->t, id) == TREE_NONE ? 1 : m->gsize[l];
}

size_t merge_members(merge_index *m, int32_t id, int32_t **out)
{
    int32_t l = merge_leader(m, id);
    *out = NULL;
    if (l == TREE_NONE)
        return 0;
    int32_t p = tree_parent(m->t, id);
    if (p == TREE_NONE) {
        *out = xmalloc(sizeof **out);
        (*out)[0] = id;
        return 1;
    }
    tree_node *pn = tree_get(m->t, p);
    int32_t *r = xmalloc(m->gsize[l] * sizeof *r);
    size_t k = 0;
    for (uint32_t i = 0; i < pn->nchildren; i++)
        if (m->leader[pn->children[i]] == l)
            r[k++] = pn->children[i];
    *out = r;
    return k;
}

size_t merge_groups(merge_index *m, int32_t parent, merge_group **out)
{
    tree_node *pn = tree_get(m->t, parent);
    *out = NULL;
    if (!pn || !pn->nchildren)
        return 0;
    grouped(m, parent);
    merge_group *g = xmalloc(pn->nchildren * sizeof *g);
    size_t k = 0;
    for (uint32_t i = 0; i < pn->nchildren; i++) {
        int32_t c = pn->children[i];
        if (m->leader[c] == c)
            g[k++] = (merge_group){ c, m->gsize[c] };
    }
    *out = g;
    return k;
}

double merge_branch_entropy(merge_index *m, int32_t parent, double *normalized)
{
    merge_group *g;
    size_t n = merge_groups(m, parent, &g);
    size_t *c = xmalloc((n ? n : 1) * sizeof *c);
    for (size_t i = 0; i < n; i++)
        c[i] = g[i].count;
    double h = entropy_counts(c, n, normalized);
    free(c);
    free(g);
    return h;
}

struct merge_text { feat f; };

merge_text *merge_text_new(const char *s, size_t len)
{
    merge_text *x = xcalloc(1, sizeof *x);
    feat_build(&x->f, s, len);
    return x;
}

void merge_text_free(merge_text *x)
{
    if (!x)
        return;
    feat_clear(&x->f);
    free(x);
}

double merge_text_similarity(const merge_text *a, const merge_text *b, double need)
{
    return feat_sim(&a->f, &b->f, need);
}
