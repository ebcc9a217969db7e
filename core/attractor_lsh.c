/* core/attractor_lsh.c — the attractor module's continuation clusters: classes of equal
 * normalized text, their LSH buckets (leaders and followers), the stored edges and the
 * union-find components over them.  See attractor.h for the contract. */
#include "core/attractor_impl.h"
#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#endif

/* ---- classes and components ---- */

uint32_t attractor_uf_find(attractor_index *a, uint32_t c)
{
    uint32_t r = c;
    while (a->cl[r].uf != r)
        r = a->cl[r].uf;
    while (a->cl[c].uf != r) {
        uint32_t n = a->cl[c].uf;
        a->cl[c].uf = r;
        c = n;
    }
    return r;
}

void attractor_cand_check(attractor_index *a, uint32_t r)
{
    cls *c = &a->cl[r];
    if (c->nnodes >= a->m && !c->in_cand) {
        c->in_cand = 1;
        xgrow(&a->cand, &a->candcap, a->ncand + 1, sizeof *a->cand);
        a->cand[a->ncand++] = r;
    }
}

static void takedown(attractor_index *a, uint32_t c);

/* Joins the components of x and y.  While process() runs, a class taken apart stays single
 * until the final relink: an edge touching it takes the other side's component apart too,
 * so every class is taken apart and relinked at most once per process() call. */
static void uf_union(attractor_index *a, uint32_t x, uint32_t y)
{
    if (a->cl[x].in_rebuild || a->cl[y].in_rebuild) {
        takedown(a, x);
        takedown(a, y);
        return;
    }
    x = attractor_uf_find(a, x);
    y = attractor_uf_find(a, y);
    if (x == y)
        return;
    if (a->cl[x].ncls < a->cl[y].ncls) {
        uint32_t s = x;
        x = y;
        y = s;
    }
    a->cl[y].uf = x;
    a->cl[x].ncls += a->cl[y].ncls;
    a->cl[x].nnodes += a->cl[y].nnodes;
    uint32_t nx = a->cl[x].next;          /* splice the two rings */
    a->cl[x].next = a->cl[y].next;
    a->cl[y].next = nx;
    attractor_cand_check(a, x);
}

/* An edge of c's component went away: the component is taken apart into single classes,
 * which are joined again along the remaining edges at the end of process (relink). */
static void takedown(attractor_index *a, uint32_t c)
{
    if (a->cl[c].in_rebuild)
        return;                              /* already single until the relink */
    uint32_t x = c;
    do {
        uint32_t nx = a->cl[x].next;
        cls *k = &a->cl[x];
        k->uf = k->next = x;
        k->ncls = 1;
        k->nnodes = k->n;
        attractor_cand_check(a, x);
        if (!k->in_rebuild) {
            k->in_rebuild = 1;
            xgrow(&a->rebuild, &a->rebuildcap, a->nrebuild + 1, sizeof *a->rebuild);
            a->rebuild[a->nrebuild++] = x;
        }
        x = nx;
    } while (x != c);
}

static merge_text *cls_text(attractor_index *a, uint32_t c)
{
    cls *k = &a->cl[c];
    if (!k->mt) {
        tree_node *n = tree_get(a->t, cmem(k)[0]);
        k->mt = merge_text_new(n->text, n->text_len);
    }
    return k->mt;
}

/* Keys past the MinHash bands: a text of at most EDIT_MAX_WORDS words also enters the
 * buckets of its whole word sequence and of the sequence without each one word, so two
 * short texts one word substitution (or insertion) apart always share a bucket.  MinHash
 * alone finds them poorly: one changed word of three changes most of their shingles. */
#define EDIT_MAX_WORDS 6

static int nkeys(const cls *k) { return MH_BANDS + k->nx; }
static uint64_t key_at(const cls *k, int b) { return b < MH_BANDS ? k->band[b] : k->xkey[b - MH_BANDS]; }
static uint32_t *anchor_at(cls *k, int b) { return b < MH_BANDS ? &k->anchor[b] : &k->xanchor[b - MH_BANDS]; }

/* k's anchor in the bucket of `key`, found from key index b of another class in it: a band
 * key sits at the same index in every class, a word-edit key may sit at another one (one
 * text's whole sequence is another's sequence less a word). */
static uint32_t *anchor_in(cls *k, int b, uint64_t key)
{
    if (b < MH_BANDS)
        return &k->anchor[b];
    int j = 0;
    while (k->xkey[j] != key)
        j++;
    return &k->xanchor[j];
}

/* How many of the MH_K 16-bit values of two signatures agree.  With SSE2: equal lanes
 * compared 8 at a time, packed to bytes, counted from the byte mask.  Else: a lane of
 * d = x ^ y is zero exactly when its top bit stays clear in
 * ((d & 0x7fff) + 0x7fff) | d | 0x7fff. */
#if defined(__SSE2__) && defined(__GNUC__)
_Static_assert(MH_K == 32, "sig_match compares 4 x 8 lanes");
static int sig_match(const uint64_t *x, const uint64_t *y)
{
    const __m128i *p = (const __m128i *)(const void *)x, *q = (const __m128i *)(const void *)y;
    __m128i e0 = _mm_cmpeq_epi16(_mm_loadu_si128(p), _mm_loadu_si128(q));
    __m128i e1 = _mm_cmpeq_epi16(_mm_loadu_si128(p + 1), _mm_loadu_si128(q + 1));
    __m128i e2 = _mm_cmpeq_epi16(_mm_loadu_si128(p + 2), _mm_loadu_si128(q + 2));
    __m128i e3 = _mm_cmpeq_epi16(_mm_loadu_si128(p + 3), _mm_loadu_si128(q + 3));
    unsigned lo = (unsigned)_mm_movemask_epi8(_mm_packs_epi16(e0, e1));
    unsigned hi = (unsigned)_mm_movemask_epi8(_mm_packs_epi16(e2, e3));
    uint32_t m = lo | hi << 16;                    /* one bit per lane, counted */
    m -= (m >> 1) & 0x55555555u;
    m = (m & 0x33333333u) + ((m >> 2) & 0x33333333u);
    return (int)((((m + (m >> 4)) & 0x0f0f0f0fu) * 0x01010101u) >> 24);
}
#else
static int sig_match(const uint64_t *x, const uint64_t *y)
{
    const uint64_t low = 0x7fff7fff7fff7fffull;
    int match = 0;
    for (int k = 0; k < MH_K / 4; k++) {
        uint64_t d = x[k] ^ y[k];
        uint64_t z = ~(((d & low) + low) | d | low) >> 15;   /* 1 at the foot of each zero lane */
        match += (int)((z * 0x0001000100010001ull) >> 48);  /* the lanes summed in the top one */
    }
    return match;
}
#endif

/* Similar enough to link, for two classes sharing the bucket of key b.  In a MinHash band
 * their signatures must agree first (cheap); an edit key skips that: its pairs are near by
 * construction and short. */
static int text_similar(attractor_index *a, uint32_t x, uint32_t y)
{
    return merge_text_similarity(cls_text(a, x), cls_text(a, y), a->thr) >= a->thr;
}

/* The text half of similar (the signatures agreed, or an edit key). */
static int similar_text(attractor_index *a, uint32_t x, uint32_t y)
{
    /* A class being inserted meets the same class in several of its buckets: the answer
     * is kept in the other class (per insert, per argument order) and given again. */
    uint32_t o = x == a->ins_cls ? y : y == a->ins_cls ? x : NONE32;
    if (o == NONE32)
        return text_similar(a, x, y);
    uint64_t tag = (a->ins_serial << 2) | (uint64_t)(o == x) << 1;
    cls *k = &a->cl[o];
    if ((k->memo & ~1ull) == tag)
        return (int)(k->memo & 1);
    int r = text_similar(a, x, y);
    k->memo = tag | (uint64_t)r;
    return r;
}

static int similar(attractor_index *a, uint32_t x, uint32_t y, int b)
{
    if (b < MH_BANDS && sig_match(a->sig[x], a->sig[y]) < MH_MIN_MATCH)
        return 0;
    return similar_text(a, x, y);
}



/* ---- LSH buckets: leaders and followers ----
 *
 * The edges of bucket B are (1) every similar pair of its leaders and (2) each follower's
 * link to its anchor, the first of the first MH_ANCHORS leaders (by class hash) it is similar
 * to.  Both are functions of B's classes alone, so the components do not depend on arrival
 * order, and a class entering B as a follower costs at most MH_ANCHORS comparisons (those
 * leaders are the anchor window).  A class that becomes a leader (probability MH_LEADERS / n)
 * is compared with the other leaders, and with every follower when it lands in the window
 * (probability MH_ANCHORS / n). */

static size_t nleaders(const bucket *bk) { return bk->n < MH_LEADERS ? bk->n : MH_LEADERS; }

static int is_leader(attractor_index *a, bucket *bk, uint32_t c)
{
    return bk->n <= MH_LEADERS || a->cl[c].h <= bk->b[MH_LEADERS - 1].h;
}

static void pair_add(attractor_index *a, bucket *bk, uint32_t x, uint32_t y)
{
    if (bk->x == NONE32)
        bk->x = pool_take(&a->bx, &a->nbx, &a->bxcap, sizeof *a->bx, &a->bxfree);
    bucket_pairs *e = &a->bx[bk->x];
    size_t cap = e->cap;
    xgrow(&e->p, &cap, (size_t)e->n + 1, sizeof *e->p);
    e->cap = (uint32_t)cap;
    e->p[e->n][0] = x;
    e->p[e->n][1] = y;
    e->n++;
    uf_union(a, x, y);
}

/* The edge (x, y) went away.  Whether that split a component is checked when all of the
 * update's edges are in (attractor_check_cuts); until then the components may still hold
 * it, which is harmless: they are only read after the check. */
static void cut(attractor_index *a, uint32_t x, uint32_t y)
{
    xgrow(&a->cuts, &a->cutcap, a->ncut + 1, sizeof *a->cuts);
    a->cuts[a->ncut][0] = x;
    a->cuts[a->ncut][1] = y;
    a->ncut++;
}

/* Drops the leader pairs holding c. */
static void pairs_drop(attractor_index *a, bucket *bk, uint32_t c)
{
    if (bk->x == NONE32)
        return;
    bucket_pairs *e = &a->bx[bk->x];
    for (uint32_t i = 0; i < e->n; )
        if (e->p[i][0] == c || e->p[i][1] == c) {
            cut(a, e->p[i][0], e->p[i][1]);
            e->p[i][0] = e->p[e->n - 1][0];
            e->p[i][1] = e->p[e->n - 1][1];
            e->n--;
        } else
            i++;
}

/* Starts loading the signatures of the first n members of bk into the cache, so that the
 * comparisons that follow overlap their cache misses. */
static void sig_prefetch(attractor_index *a, bucket *bk, size_t n)
{
#if defined(__GNUC__)
    for (size_t i = 0; i < n; i++) {
        const uint64_t *g = a->sig[bk->b[i].c];
        mem_prefetch(g);
        mem_prefetch(g + MH_K / 4 - 1);
    }
#else
    (void)a;
    (void)bk;
    (void)n;
#endif
}

/* The first n leaders of bk (but c) whose signatures agree with c's, into out, in order;
 * their class records and texts are prefetched for the text comparisons that follow. */
static size_t sig_candidates(attractor_index *a, bucket *bk, size_t n, uint32_t c, int b, uint32_t *out)
{
    sig_prefetch(a, bk, n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t l = bk->b[i].c;
        if (l != c && (b >= MH_BANDS || sig_match(a->sig[c], a->sig[l]) >= MH_MIN_MATCH)) {
            out[k++] = l;
            mem_prefetch(&a->cl[l].mt);
        }
    }
    for (size_t i = 0; i < k; i++)
        if (a->cl[out[i]].mt)
            mem_prefetch(a->cl[out[i]].mt);
    return k;
}

/* Pairs leader c with every similar leader of bk. */
static void pairs_make(attractor_index *a, bucket *bk, uint32_t c, int b)
{
    uint32_t cand[MH_LEADERS];
    size_t n = sig_candidates(a, bk, nleaders(bk), c, b, cand);
    for (size_t i = 0; i < n; i++)
        if (similar_text(a, c, cand[i]))
            pair_add(a, bk, c, cand[i]);
}

/* The leaders a follower may anchor to: the first MH_ANCHORS of them. */
static size_t nwindow(const bucket *bk) { return bk->n < MH_ANCHORS ? bk->n : MH_ANCHORS; }

static uint32_t first_similar_leader(attractor_index *a, bucket *bk, uint32_t c, int b)
{
    uint32_t cand[MH_ANCHORS];
    size_t n = sig_candidates(a, bk, nwindow(bk), c, b, cand);
    for (size_t i = 0; i < n; i++)
        if (similar_text(a, c, cand[i]))
            return cand[i];
    return NONE32;
}

static void set_anchor(attractor_index *a, uint32_t c, int b, uint64_t key, uint32_t to)
{
    uint32_t *an = anchor_in(&a->cl[c], b, key);
    if (*an == to)
        return;
    if (*an != NONE32)
        cut(a, c, *an);
    *an = to;
    if (to != NONE32)
        uf_union(a, c, to);
}

/* set_anchor for the follower at entry i of bk, its entry's copy too */
static void entry_anchor(attractor_index *a, bucket *bk, size_t i, int b, uint64_t key, uint32_t to)
{
    set_anchor(a, bk->b[i].c, b, key, to);
    bk->b[i].an = to;
}

/* A bucket record for a band key that had one class, `alone`. */
static uint32_t bucket_new(attractor_index *a, uint32_t alone)
{
    uint32_t bi = pool_take(&a->bk, &a->nbk, &a->bkcap, sizeof *a->bk, &a->bkfree);
    bucket *bk = &a->bk[bi];
    *bk = (bucket){ .b = xmalloc(4 * sizeof *bk->b), .n = 1, .cap = 4, .x = NONE32 };
    bk->b[0] = (bentry){ a->cl[alone].h, alone, NONE32 };
    return bi;
}

/* The bucket record of band key `key`, or NULL when the key has one class (or none). */
static bucket *bucket_of(attractor_index *a, uint64_t key)
{
    uint32_t *v = hash_map_get(&a->bkmap, key);
    return v && !(*v & BUCKET_SOLO) ? &a->bk[*v] : NULL;
}

/* Position among the first n entries (sorted by class hash) where hash h belongs. */
static size_t leader_pos(const bentry *m, size_t n, uint64_t h)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m[mid].h < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Class c enters its bucket of band b. */
static void bucket_add(attractor_index *a, uint32_t c, int b)
{
    *anchor_at(&a->cl[c], b) = NONE32;
    uint64_t key = key_at(&a->cl[c], b), h = a->cl[c].h;
    int isnew;
    uint32_t *v = hash_map_put(&a->bkmap, key, &isnew);
    if (isnew) {
        *v = BUCKET_SOLO | c;                      /* alone: a leader without pairs */
        return;
    }
    if (*v & BUCKET_SOLO)
        *v = bucket_new(a, *v & ~BUCKET_SOLO);     /* bucket_new leaves the map alone */
    bucket *bk = &a->bk[*v];
    size_t bcap = bk->cap;
    xgrow(&bk->b, &bcap, (size_t)bk->n + 1, sizeof *bk->b);
    bk->cap = (uint32_t)bcap;
    bentry *m = bk->b;
    if (bk->n < MH_LEADERS) {                      /* every member is a leader */
        size_t pos = leader_pos(m, bk->n, h);
        memmove(m + pos + 1, m + pos, (bk->n - pos) * sizeof *m);
        m[pos] = (bentry){ h, c, NONE32 };
        bk->n++;
        pairs_make(a, bk, c, b);
        return;
    }
    bentry last = m[MH_LEADERS - 1];
    if (h > last.h) {                              /* a follower */
        m[bk->n++] = (bentry){ h, c, NONE32 };
        entry_anchor(a, bk, bk->n - 1, b, key, first_similar_leader(a, bk, c, b));
        return;
    }
    /* c becomes a leader; the last leader becomes a follower.  When c lands in the anchor
     * window, the window's last leader (`out`) leaves it. */
    pairs_drop(a, bk, last.c);
    size_t pos = leader_pos(m, MH_LEADERS - 1, h);
    memmove(m + pos + 1, m + pos, (MH_LEADERS - 1 - pos) * sizeof *m);
    m[pos] = (bentry){ h, c, NONE32 };
    m[bk->n++] = last;                             /* a leader's anchor is NONE32 */
    pairs_make(a, bk, c, b);
    int inwin = pos < MH_ANCHORS;
    uint32_t out = !inwin ? NONE32 : MH_ANCHORS < MH_LEADERS ? m[MH_ANCHORS].c : last.c;
    for (size_t i = MH_LEADERS; i < bk->n; i++) {
        uint32_t y = m[i].c, old = m[i].an;
#if defined(__GNUC__)
        if (inwin && i + 8 < bk->n)                /* its signature is read soon */
            mem_prefetch(a->sig[m[i + 8].c]);
#endif
        if (y == last.c || old == last.c || (old != NONE32 && old == out))
            entry_anchor(a, bk, i, b, key, first_similar_leader(a, bk, y, b));
        else if (inwin && (old == NONE32 || a->cl[old].h > h) && similar(a, y, c, b))
            entry_anchor(a, bk, i, b, key, c);
    }
}

/* Class c leaves its bucket of band b. */
static void bucket_remove(attractor_index *a, uint32_t c, int b)
{
    uint64_t key = key_at(&a->cl[c], b);
    uint32_t bi = *hash_map_get(&a->bkmap, key);
    if (bi & BUCKET_SOLO) {
        hash_map_del(&a->bkmap, key);
        return;
    }
    bucket *bk = &a->bk[bi];
    bentry *m = bk->b;
    if (!is_leader(a, bk, c)) {
        size_t i = MH_LEADERS;
        while (m[i].c != c)
            i++;
        m[i] = m[--bk->n];
        set_anchor(a, c, b, key, NONE32);
    } else {
        pairs_drop(a, bk, c);
        size_t nl = nleaders(bk), pos = leader_pos(m, nl, a->cl[c].h);
        memmove(m + pos, m + pos + 1, (nl - 1 - pos) * sizeof *m);
        if (bk->n > MH_LEADERS) {                  /* the best follower is promoted */
            size_t best = MH_LEADERS;
            for (size_t i = MH_LEADERS + 1; i < bk->n; i++)
                if (m[i].h < m[best].h)
                    best = i;
            bentry p = m[best];
            m[best] = m[bk->n - 1];
            m[MH_LEADERS - 1] = p;
            bk->n--;
            entry_anchor(a, bk, MH_LEADERS - 1, b, key, NONE32);
            pairs_make(a, bk, p.c, b);
            /* when c was in the anchor window, the next leader enters it at its end */
            uint32_t in = pos < MH_ANCHORS ? m[MH_ANCHORS - 1].c : NONE32;
            for (size_t i = MH_LEADERS; i < bk->n; i++) {
                uint32_t y = m[i].c, old = m[i].an;
                if (old == c)
                    entry_anchor(a, bk, i, b, key, first_similar_leader(a, bk, y, b));
                else if (old == NONE32 && in != NONE32 && similar(a, y, in, b))
                    entry_anchor(a, bk, i, b, key, in);
            }
        } else
            bk->n--;
    }
    if (bk->n == 1) {                              /* one class left: back to a map entry */
        uint32_t only = bk->b[0].c;
        if (bk->x != NONE32) {
            a->bx[bk->x].n = 0;
            pool_give(&a->bxfree, bk->x);
        }
        free(bk->b);
        *bk = (bucket){ .x = NONE32 };
        pool_give(&a->bkfree, bi);
        *hash_map_get(&a->bkmap, key) = BUCKET_SOLO | only;
    }
}

/* Joins c again along its edges (after a takedown).  A bucket's leader pairs are joined
 * once per pass; pairs of components left standing join nothing new. */
void attractor_relink(attractor_index *a, uint32_t c)
{
    cls *k = &a->cl[c];
    for (int b = 0; b < nkeys(k); b++) {
        uint32_t an = *anchor_at(k, b);
        if (an != NONE32)
            uf_union(a, c, an);
        bucket *bk = bucket_of(a, key_at(k, b));
        if (!bk || bk->x == NONE32 || a->bx[bk->x].stamp == a->relink_stamp)
            continue;
        bucket_pairs *e = &a->bx[bk->x];
        e->stamp = a->relink_stamp;
        for (uint32_t i = 0; i < e->n; i++)
            uf_union(a, e->p[i][0], e->p[i][1]);
    }
}

/* Whether y is reachable from x along the stored edges (x's anchors and the leader pairs
 * of the buckets x is in, and so on), visiting at most CUT_SEARCH classes: "yes" is always
 * right, "no" may only mean the search gave up. */
#define CUT_SEARCH 48

static int reaches(attractor_index *a, uint32_t x, uint32_t y)
{
    uint32_t stamp = ++a->seen_stamp;
    xgrow(&a->search, &a->searchcap, CUT_SEARCH, sizeof *a->search);
    size_t head = 0, n = 0;
    a->search[n++] = x;
    a->cl[x].seen = stamp;
    while (head < n) {
        uint32_t c = a->search[head++];
        cls *k = &a->cl[c];
        for (int b = 0; b < nkeys(k); b++) {
            uint32_t an = *anchor_at(k, b);
            if (an == y)
                return 1;
            if (an != NONE32 && a->cl[an].seen != stamp && n < CUT_SEARCH) {
                a->cl[an].seen = stamp;
                a->search[n++] = an;
            }
            bucket *bk = bucket_of(a, key_at(k, b));
            if (!bk || bk->x == NONE32)
                continue;
            const bucket_pairs *e = &a->bx[bk->x];
            for (uint32_t i = 0; i < e->n; i++) {
                uint32_t o = e->p[i][0] == c ? e->p[i][1] : e->p[i][1] == c ? e->p[i][0] : NONE32;
                if (o == y)
                    return 1;
                if (o != NONE32 && a->cl[o].seen != stamp && n < CUT_SEARCH) {
                    a->cl[o].seen = stamp;
                    a->search[n++] = o;
                }
            }
        }
    }
    return 0;
}

/* After an update's edges are all in: an edge gone whose two ends are still joined by
 * others split nothing; otherwise its component is taken apart and relinked.  (A component
 * of the edges before, plus those added, equals the component after when every removed
 * edge's ends are still connected.) */
void attractor_check_cuts(attractor_index *a)
{
    for (size_t i = 0; i < a->ncut; i++) {
        uint32_t x = a->cuts[i][0], y = a->cuts[i][1];
        const cls *kx = &a->cl[x], *ky = &a->cl[y];
        if (!kx->live || !ky->live || !kx->in_lsh || !ky->in_lsh || kx->in_rebuild || ky->in_rebuild)
            continue;                            /* gone, or taken apart already */
        if (!reaches(a, x, y) && !reaches(a, y, x))
            takedown(a, x);
    }
    a->ncut = 0;
}

/* One-permutation MinHash over word bigrams (a one-word text: its word; see attractor.h for
 * why not unigrams too): each shingle's hash falls in one
 * of MH_K bins by its top bits and the bin keeps the smallest; an empty bin borrows from the
 * next full one (circularly), mixed with the distance, so equal shingle sets give equal
 * signatures and P(bin values agree) stays about the Jaccard index of the two sets. */
static void signature(attractor_index *a, const uint64_t *w, size_t nw, uint64_t band[MH_BANDS],
                      uint16_t sig[MH_K])
{
    uint64_t mn[MH_K];
    for (int k = 0; k < MH_K; k++)
        mn[k] = UINT64_MAX;
    for (size_t i = 0; i < nw; i++)
        for (int two = nw > 1; two < 2; two++) {
            if (two && i + 1 >= nw)
                break;
            uint64_t s = two ? w[i] * 31 + w[i + 1] + 0x1234567 : w[i];
            uint64_t v = hash_fmix64(s ^ a->mh_seed);
            unsigned bin = (unsigned)(v >> (64 - MH_LOG_K));
            v <<= MH_LOG_K;
            if (v < mn[bin])
                mn[bin] = v;
        }
    uint64_t full = 0;                             /* there is at least one shingle */
    for (int k = 0; k < MH_K; k++)
        if (mn[k] != UINT64_MAX)
            full |= 1ull << k;
    for (int k = 0; k < MH_K; k++)
        if (!(full >> k & 1)) {
            int j = k;
            uint64_t d = 0;
            do {
                j = (j + 1) % MH_K;
                d++;
            } while (!(full >> j & 1));
            mn[k] = hash_fmix64(mn[j] ^ d * 0x9e3779b97f4a7c15ull) << MH_LOG_K;
        }
    for (int k = 0; k < MH_K; k++)
        sig[k] = (uint16_t)(mn[k] >> 48);
    for (int b = 0; b < MH_BANDS; b++) {
        uint64_t h = 0x9e3779b97f4a7c15ull * (uint64_t)(b + 1);
        for (int r = 0; r < MH_ROWS; r++)
            h = hash_fmix64(h ^ mn[b * MH_ROWS + r]);
        band[b] = h;
    }
}

/* A word sequence's key, with word `skip` left out (skip >= nw: none). */
static uint64_t edit_key(const uint64_t *w, size_t nw, size_t skip)
{
    uint64_t h = 0x3c6ef372fe94f82bull + nw - (skip < nw);
    for (size_t i = 0; i < nw; i++)
        if (i != skip)
            h = (h ^ w[i]) * 0x100000001b3ull + (h >> 29);
    return hash_fmix64(h ^ 0xa54ff53a5f1d36f1ull);
}

/* The word-edit keys of a short text: the whole sequence, and (two words or more) the
 * sequence without each word; repeats (equal neighbours) once. */
static void edit_keys(cls *k, const uint64_t *w, size_t nw)
{
    if (nw > EDIT_MAX_WORDS)
        return;
    uint64_t keys[EDIT_MAX_WORDS + 1];
    size_t n = 0;
    keys[n++] = edit_key(w, nw, nw);
    for (size_t i = 0; nw >= 2 && i < nw; i++) {
        uint64_t x = edit_key(w, nw, i);
        size_t j = 0;
        while (j < n && keys[j] != x)
            j++;
        if (j == n)
            keys[n++] = x;
    }
    k->xkey = xmalloc(n * (sizeof *k->xkey + sizeof *k->xanchor));
    k->xanchor = (uint32_t *)(k->xkey + n);
    memcpy(k->xkey, keys, n * sizeof *keys);
    k->nx = (uint8_t)n;
}

void attractor_lsh_insert(attractor_index *a, uint32_t c)
{
    cls *k = &a->cl[c];
    const nstate *s = &a->ns[cmem(k)[0]];
    uint16_t sig[MH_K];
    signature(a, s->w, s->nw, k->band, sig);
    memcpy(a->sig[c], sig, sizeof sig);
    edit_keys(k, s->w, s->nw);
    /* the buckets' map slots, then their records (or a lone class's), then their entries:
     * each level's misses overlap across the keys */
    int nk = nkeys(k);
    for (int b = 0; b < nk; b++)
        hash_map_prefetch(&a->bkmap, key_at(k, b));
    for (int b = 0; b < nk; b++) {
        const uint32_t *v = hash_map_get(&a->bkmap, key_at(k, b));
        if (v)
            mem_prefetch(*v & BUCKET_SOLO ? (const void *)&a->cl[*v & ~BUCKET_SOLO] : (const void *)&a->bk[*v]);
    }
    for (int b = 0; b < nk; b++) {
        const bucket *bk = bucket_of(a, key_at(k, b));
        if (bk) {
            mem_prefetch(bk->b);
            mem_prefetch(bk->b + (bk->n < MH_LEADERS ? bk->n : MH_LEADERS) / 2);
        }
    }
    k->in_lsh = 1;
    a->ins_cls = c;
    a->ins_serial++;
    for (int b = 0; b < nkeys(k); b++)
        bucket_add(a, c, b);
    a->ins_cls = NONE32;
}

uint32_t attractor_cls_new(attractor_index *a, uint64_t h)
{
    uint32_t c = pool_take(&a->cl, &a->ncl, &a->clcap, sizeof *a->cl, &a->clfree);
    xgrow(&a->sig, &a->sigcap, a->ncl, sizeof *a->sig);
    cls *k = &a->cl[c];
    uint8_t in_cand = k->in_cand, in_rebuild = k->in_rebuild;   /* lists may name the slot */
    memset(k, 0, sizeof *k);
    k->in_cand = in_cand;
    k->in_rebuild = in_rebuild;
    k->h = h;
    k->uf = k->next = c;
    k->ncls = 1;
    k->live = 1;
    int isnew;
    *hash_map_put(&a->clmap, h, &isnew) = c;
    xgrow(&a->fresh, &a->freshcap, a->nfresh + 1, sizeof *a->fresh);
    a->fresh[a->nfresh++] = c;
    return c;
}

/* c has no members left: its component is taken apart and it leaves its buckets. */
void attractor_cls_remove(attractor_index *a, uint32_t c)
{
    cls *k = &a->cl[c];
    if (k->next != c)
        takedown(a, c);
    if (k->in_lsh)
        for (int b = 0; b < nkeys(&a->cl[c]); b++)
            bucket_remove(a, c, b);
    k = &a->cl[c];
    k->in_lsh = 0;
    free(k->xkey);
    k->xkey = NULL;
    k->xanchor = NULL;
    k->nx = 0;
    hash_map_del(&a->clmap, k->h);
    merge_text_free(k->mt);
    free(k->mem);
    k->mem = NULL;
    k->cap = 0;
    k->mt = NULL;
    k->live = 0;
    pool_give(&a->clfree, c);
}
