/* core/attractor.c — see attractor.h.
 *
 * Layout: every indexed node (a live non-root with at least one word) belongs to a class
 * (equal normalized text).  Classes carry a MinHash signature whose LSH band keys (and, for
 * short texts, word-edit keys) file them in buckets; each bucket keeps its leaders' similar
 * pairs and its followers' anchors, and union-find over classes keeps the connected
 * components of those edges.  When an edge goes away, its component is taken apart and
 * joined again from the stored edges (no text is compared again).  Beside that, every
 * node's distinct word 4-grams are counted per gram: occurrences and distinct parents.
 * Longer phrases (5..8 words) and closedness are derived at listing time from the nodes
 * that hold a qualifying 4-gram (every qualifying phrase contains one). */
#include "core/attractor.h"
#include "core/mem.h"
#include "core/merge.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NONE32 UINT32_MAX
#define MH_BANDS 8
#define MH_ROWS 4
#define MH_MIN_MATCH 13   /* of MH_K signature values: estimated Jaccard ≥ 0.4 */
#define MH_K ATTRACTOR_MINHASH   /* == MH_BANDS * MH_ROWS == 1 << MH_LOG_K */
#define MH_LOG_K 5
#define MH_LEADERS ATTRACTOR_LEADERS

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x ? x : 1;
}

static uint64_t gram_hash(const uint64_t *w, size_t n)
{
    uint64_t h = 0x51ed270b27cd6c5bull + n;
    for (size_t i = 0; i < n; i++)
        h = (h ^ w[i]) * 0x100000001b3ull + (h >> 29);
    return mix64(h);
}

/* ---- a u64 → u32 map: linear probing, backward-shift deletion; key 0 is "empty" ----
 * A slot keeps its key and value together (12 bytes), so a lookup costs one cache miss. */

typedef struct {
    uint32_t lo, hi, v;
} hslot;

typedef struct {
    hslot  *s;
    size_t  cap, n;       /* cap is a power of two */
} hmap;

static uint64_t hs_key(const hslot *e) { return (uint64_t)e->hi << 32 | e->lo; }
static void hs_set(hslot *e, uint64_t key) { e->lo = (uint32_t)key; e->hi = (uint32_t)(key >> 32); }
static int hs_used(const hslot *e) { return (e->lo | e->hi) != 0; }

static void hm_free(hmap *m)
{
    free(m->s);
    memset(m, 0, sizeof *m);
}

/* Empties the map, keeping its table. */
static void hm_clear(hmap *m)
{
    if (m->cap)
        memset(m->s, 0, m->cap * sizeof *m->s);
    m->n = 0;
}

static uint32_t *hm_get(const hmap *m, uint64_t key)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = key & mask; hs_used(&m->s[i]); i = (i + 1) & mask)
        if (hs_key(&m->s[i]) == key)
            return &m->s[i].v;
    return NULL;
}

static void hm_grow(hmap *m)
{
    hmap o = *m;
    m->cap = o.cap ? o.cap * 2 : 64;
    m->s = xcalloc(m->cap, sizeof *m->s);
    size_t mask = m->cap - 1;
    for (size_t i = 0; i < o.cap; i++)
        if (hs_used(&o.s[i])) {
            size_t j = hs_key(&o.s[i]) & mask;
            while (hs_used(&m->s[j]))
                j = (j + 1) & mask;
            m->s[j] = o.s[i];
        }
    free(o.s);
}

/* Starts loading key's home slot into the cache: a caller with several keys in hand
 * prefetches them all first, so their cache misses overlap. */
static void hm_prefetch(const hmap *m, uint64_t key)
{
#if defined(__GNUC__)
    if (m->cap)
        __builtin_prefetch(&m->s[key & (m->cap - 1)]);
#else
    (void)m;
    (void)key;
#endif
}

/* Sizes an empty map for about n keys. */
static void hm_reserve(hmap *m, size_t n)
{
    size_t cap = 64;
    while (cap * 3 < n * 4)
        cap *= 2;
    if (cap <= m->cap)
        return;
    while (m->cap < cap)
        hm_grow(m);
}

static uint32_t *hm_put(hmap *m, uint64_t key, int *isnew)
{
    if ((m->n + 1) * 4 > m->cap * 3)
        hm_grow(m);
    size_t mask = m->cap - 1, i = key & mask;
    for (; hs_used(&m->s[i]); i = (i + 1) & mask)
        if (hs_key(&m->s[i]) == key) {
            *isnew = 0;
            return &m->s[i].v;
        }
    hs_set(&m->s[i], key);
    m->s[i].v = 0;
    m->n++;
    *isnew = 1;
    return &m->s[i].v;
}

static void hm_del(hmap *m, uint64_t key)
{
    if (!m->cap)
        return;
    size_t mask = m->cap - 1, i = key & mask;
    while (hs_used(&m->s[i]) && hs_key(&m->s[i]) != key)
        i = (i + 1) & mask;
    if (!hs_used(&m->s[i]))
        return;
    m->s[i] = (hslot){0};
    m->n--;
    for (size_t j = (i + 1) & mask; hs_used(&m->s[j]); j = (j + 1) & mask) {
        size_t home = hs_key(&m->s[j]) & mask;
        /* move j back into the hole at i unless its home lies cyclically in (i, j] */
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->s[i] = m->s[j];
            m->s[j] = (hslot){0};
            i = j;
        }
    }
}

/* ---- state ---- */

typedef struct {
    uint64_t    h;              /* normalized-text hash; also the class's rank in buckets */
    int32_t    *mem;            /* members when cap > 0, else the one in `one` */
    int32_t     one;
    uint32_t    n, cap;
    uint64_t    band[MH_BANDS]; /* its band keys (set when it enters the buckets) */
    uint32_t    anchor[MH_BANDS]; /* where it is a follower: the leader it links to, or NONE32 */
    uint64_t   *xkey;           /* a short text's word-edit keys (see edit_keys), then */
    uint32_t   *xanchor;        /* their anchors; one allocation */
    uint8_t     nx;
    uint16_t    sig[MH_K];      /* the MinHash values, top 16 bits (b-bit MinHash) */
    merge_text *mt;             /* built on first comparison */
    uint32_t    uf, next;       /* union-find parent; ring of the component */
    uint32_t    nnodes, ncls;   /* at a root: nodes and classes in the component */
    uint8_t     live, in_lsh, in_cand, in_rebuild;
    uint32_t    listed;         /* listing stamp when a continuation attractor */
    uint32_t    pstamp;         /* listing stamp: already gathered for phrases */
} cls;

/* An LSH bucket of two or more classes: the classes sharing one band key.  The first
 * min(n, MH_LEADERS) entries are its leaders, by ascending class hash; the rest (followers)
 * are unordered.  Most band keys belong to one class only: the map then holds the class
 * itself (BUCKET_SOLO | class) and no bucket record exists. */
#define BUCKET_SOLO 0x80000000u

typedef struct {
    uint32_t *b;
    uint32_t  n, cap;
    uint32_t  x;              /* its similar leader pairs: index in bx, or NONE32 */
} bucket;

typedef struct {
    uint32_t (*p)[2];         /* pairs of similar leaders */
    uint32_t  n, cap;
    uint32_t  stamp;          /* relink pass that already joined them */
} bucket_pairs;

/* Most classes hold one node: it lives inline, without an allocation. */
static int32_t *cmem(cls *k) { return k->cap ? k->mem : &k->one; }
static uint32_t *bmem(bucket *b) { return b->b; }

typedef struct {
    uint64_t key;
    uint32_t head;       /* first occurrence record */
    uint32_t nocc;       /* nodes holding the gram */
    uint32_t support;    /* distinct parents of those nodes */
    uint8_t  live, in_q;
} gram;

typedef struct {
    uint32_t g;
    int32_t  node;
    uint32_t prev, next;
} occ;

typedef struct {
    uint32_t  c;            /* class, NONE32 when not indexed */
    uint32_t  cpos;
    int32_t   parent;       /* the parent it was indexed under */
    uint32_t *occ;          /* occurrence records */
    uint32_t  nocc;
    uint64_t *w;            /* word hashes of the indexed text */
    uint32_t  nw;
    uint8_t   queued;
} nstate;

typedef struct { uint64_t h; uint32_t n; } phr;   /* a phrase attractor's gram */

struct attractor_index {
    tree    *t;
    double   thr;
    size_t   m;
    nstate  *ns;
    size_t   ncap;
    int32_t *queue;
    size_t   nq, qcap;
    size_t   qh;              /* queue[qh .. nq) wait to be indexed */
    size_t   nout;            /* queue[0 .. nout) are already unindexed */
    uint64_t version, listed_version;

    cls     *cl;
    size_t   ncl, clcap;
    uint32_t *clfree;
    size_t   nclfree, clfreecap;
    hmap     clmap;           /* text hash → class */
    bucket  *bk;
    size_t   nbk, bkcap;
    hmap     bkmap;           /* band key → bucket */
    uint32_t *bkfree;
    size_t   nbkfree, bkfreecap;
    bucket_pairs *bx;
    size_t   nbx, bxcap;
    uint32_t *bxfree;
    size_t   nbxfree, bxfreecap;
    uint32_t relink_stamp;
    uint32_t *cand;           /* classes that may be attractor roots */
    size_t   ncand, candcap;
    uint32_t *rebuild, *fresh;
    size_t   nrebuild, rebuildcap, nfresh, freshcap;

    gram    *gr;
    size_t   ngr, grcap;
    uint32_t *grfree;
    size_t   ngrfree, grfreecap;
    hmap     grmap;           /* 4-gram hash → gram */
    hmap     pairs;           /* mix(gram, parent) → nodes (only for grams in ≥ 2 nodes) */
    occ     *oc;
    size_t   noc, occap;
    uint32_t *ocfree;
    size_t   nocfree, ocfreecap;
    uint32_t *q4;             /* grams that may have support ≥ m */
    size_t   nq4, q4cap;

    attractor *list;
    phr       *lphr;
    size_t     nlist;
    hmap       bynode;
    hmap       tmap, tpairs;  /* listing scratch */        /* node → first chain entry + 1 */
    uint32_t  *chain_attr, *chain_next;
    size_t     nchain, chaincap, chaincap2;
    uint32_t  *stamp;         /* per node id, for distinct-parent counting */
    size_t     stampcap;
    uint32_t   epoch;
    uint64_t   mh_seed;
    uint64_t  *gscratch;      /* a node's 4-gram hashes while indexing */
    size_t     gscratchcap;
};

static void ns_ensure(attractor_index *a, int32_t id)
{
    if ((size_t)id < a->ncap)
        return;
    size_t old = a->ncap;
    xgrow(&a->ns, &a->ncap, (size_t)id + 1, sizeof *a->ns);
    for (size_t i = old; i < a->ncap; i++)
        a->ns[i] = (nstate){ .c = NONE32, .parent = TREE_NONE };
}

static void enqueue(attractor_index *a, int32_t id)
{
    ns_ensure(a, id);
    if (a->ns[id].queued)
        return;
    a->ns[id].queued = 1;
    xgrow(&a->queue, &a->qcap, a->nq + 1, sizeof *a->queue);
    a->queue[a->nq++] = id;
}

static void on_event(void *ud, tree *t, int kind, int32_t id)
{
    attractor_index *a = ud;
    if (kind == TREE_EV_ADD || kind == TREE_EV_TEXT) {
        enqueue(a, id);
    } else if (kind == TREE_EV_DELETE || kind == TREE_EV_UNDELETE) {
        tree_iter it;
        tree_iter_init(&it, t, id, TREE_DFS);
        for (int32_t c; (c = tree_iter_next(&it)) != TREE_NONE; )
            enqueue(a, c);
        tree_iter_done(&it);
    }
}

/* ---- classes and components ---- */

static uint32_t uf_find(attractor_index *a, uint32_t c)
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

static void cand_check(attractor_index *a, uint32_t r)
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
    x = uf_find(a, x);
    y = uf_find(a, y);
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
    cand_check(a, x);
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
        cand_check(a, x);
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

/* Similar enough to link, for two classes sharing the bucket of key b.  In a MinHash band
 * their signatures must agree first (cheap); an edit key skips that: its pairs are near by
 * construction and short. */
static int similar(attractor_index *a, uint32_t x, uint32_t y, int b)
{
    if (b >= MH_BANDS)
        return merge_text_similarity(cls_text(a, x), cls_text(a, y), a->thr) >= a->thr;
    int match = 0;
    for (int k = 0; k < MH_K; k++)
        match += a->cl[x].sig[k] == a->cl[y].sig[k];
    if (match < MH_MIN_MATCH)
        return 0;
    return merge_text_similarity(cls_text(a, x), cls_text(a, y), a->thr) >= a->thr;
}

/* ---- LSH buckets: leaders and followers ----
 *
 * The edges of bucket B are (1) every similar pair of its leaders and (2) each follower's
 * link to its anchor, the first leader (by class hash) it is similar to.  Both are functions
 * of B's classes alone, so the components do not depend on arrival order, and a class
 * entering B as a follower costs at most MH_LEADERS comparisons.  A class that becomes a
 * leader (probability MH_LEADERS / n) is compared with the whole bucket. */

static size_t nleaders(const bucket *bk) { return bk->n < MH_LEADERS ? bk->n : MH_LEADERS; }

static int is_leader(attractor_index *a, bucket *bk, uint32_t c)
{
    return bk->n <= MH_LEADERS || a->cl[c].h <= a->cl[bmem(bk)[MH_LEADERS - 1]].h;
}

static void pair_add(attractor_index *a, bucket *bk, uint32_t x, uint32_t y)
{
    if (bk->x == NONE32) {
        if (a->nbxfree)
            bk->x = a->bxfree[--a->nbxfree];
        else {
            xgrow(&a->bx, &a->bxcap, a->nbx + 1, sizeof *a->bx);
            bk->x = (uint32_t)a->nbx++;
            a->bx[bk->x] = (bucket_pairs){0};
        }
    }
    bucket_pairs *e = &a->bx[bk->x];
    size_t cap = e->cap;
    xgrow(&e->p, &cap, (size_t)e->n + 1, sizeof *e->p);
    e->cap = (uint32_t)cap;
    e->p[e->n][0] = x;
    e->p[e->n][1] = y;
    e->n++;
    uf_union(a, x, y);
}

/* Drops the leader pairs holding c; their component is taken apart. */
static void pairs_drop(attractor_index *a, bucket *bk, uint32_t c)
{
    if (bk->x == NONE32)
        return;
    bucket_pairs *e = &a->bx[bk->x];
    int dropped = 0;
    for (uint32_t i = 0; i < e->n; )
        if (e->p[i][0] == c || e->p[i][1] == c) {
            e->p[i][0] = e->p[e->n - 1][0];
            e->p[i][1] = e->p[e->n - 1][1];
            e->n--;
            dropped = 1;
        } else
            i++;
    if (dropped)
        takedown(a, c);
}

/* Pairs leader c with every similar leader of bk. */
static void pairs_make(attractor_index *a, bucket *bk, uint32_t c, int b)
{
    size_t nl = nleaders(bk);
    for (size_t i = 0; i < nl; i++) {
        uint32_t l = bmem(bk)[i];
        if (l != c && similar(a, c, l, b))
            pair_add(a, bk, c, l);
    }
}

static uint32_t first_similar_leader(attractor_index *a, bucket *bk, uint32_t c, int b)
{
    size_t nl = nleaders(bk);
    for (size_t i = 0; i < nl; i++) {
        uint32_t l = bmem(bk)[i];
        if (l != c && similar(a, c, l, b))
            return l;
    }
    return NONE32;
}

static void set_anchor(attractor_index *a, uint32_t c, int b, uint64_t key, uint32_t to)
{
    uint32_t *an = anchor_in(&a->cl[c], b, key);
    if (*an == to)
        return;
    if (*an != NONE32)
        takedown(a, c);
    *an = to;
    if (to != NONE32)
        uf_union(a, c, to);
}

/* A bucket record for a band key that had one class, `alone`. */
static uint32_t bucket_new(attractor_index *a, uint32_t alone)
{
    uint32_t bi;
    if (a->nbkfree)
        bi = a->bkfree[--a->nbkfree];
    else {
        xgrow(&a->bk, &a->bkcap, a->nbk + 1, sizeof *a->bk);
        bi = (uint32_t)a->nbk++;
    }
    bucket *bk = &a->bk[bi];
    *bk = (bucket){ .b = xmalloc(4 * sizeof *bk->b), .n = 1, .cap = 4, .x = NONE32 };
    bk->b[0] = alone;
    return bi;
}

/* The bucket record of band key `key`, or NULL when the key has one class (or none). */
static bucket *bucket_of(attractor_index *a, uint64_t key)
{
    uint32_t *v = hm_get(&a->bkmap, key);
    return v && !(*v & BUCKET_SOLO) ? &a->bk[*v] : NULL;
}

/* Position among the first n entries (sorted by class hash) where c belongs. */
static size_t leader_pos(attractor_index *a, const uint32_t *m, size_t n, uint32_t c)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->cl[m[mid]].h < a->cl[c].h)
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
    uint64_t key = key_at(&a->cl[c], b);
    int isnew;
    uint32_t *v = hm_put(&a->bkmap, key, &isnew);
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
    uint32_t *m = bmem(bk);
    if (bk->n < MH_LEADERS) {                      /* every member is a leader */
        size_t pos = leader_pos(a, m, bk->n, c);
        memmove(m + pos + 1, m + pos, (bk->n - pos) * sizeof *m);
        m[pos] = c;
        bk->n++;
        pairs_make(a, bk, c, b);
        return;
    }
    uint32_t last = m[MH_LEADERS - 1];
    if (a->cl[c].h > a->cl[last].h) {              /* a follower */
        m[bk->n++] = c;
        set_anchor(a, c, b, key, first_similar_leader(a, bk, c, b));
        return;
    }
    /* c becomes a leader; the last leader becomes a follower */
    pairs_drop(a, bk, last);
    size_t pos = leader_pos(a, m, MH_LEADERS - 1, c);
    memmove(m + pos + 1, m + pos, (MH_LEADERS - 1 - pos) * sizeof *m);
    m[pos] = c;
    m[bk->n++] = last;
    pairs_make(a, bk, c, b);
    for (size_t i = MH_LEADERS; i < bk->n; i++) {
        uint32_t y = m[i], old = *anchor_in(&a->cl[y], b, key);
        if (y == last || old == last)
            set_anchor(a, y, b, key, first_similar_leader(a, bk, y, b));
        else if ((old == NONE32 || a->cl[old].h > a->cl[c].h) && similar(a, y, c, b))
            set_anchor(a, y, b, key, c);
    }
}

/* Class c leaves its bucket of band b. */
static void bucket_remove(attractor_index *a, uint32_t c, int b)
{
    uint64_t key = key_at(&a->cl[c], b);
    uint32_t bi = *hm_get(&a->bkmap, key);
    if (bi & BUCKET_SOLO) {
        hm_del(&a->bkmap, key);
        return;
    }
    bucket *bk = &a->bk[bi];
    uint32_t *m = bmem(bk);
    if (!is_leader(a, bk, c)) {
        size_t i = MH_LEADERS;
        while (m[i] != c)
            i++;
        m[i] = m[--bk->n];
        set_anchor(a, c, b, key, NONE32);
    } else {
        pairs_drop(a, bk, c);
        size_t nl = nleaders(bk), pos = leader_pos(a, m, nl, c);
        memmove(m + pos, m + pos + 1, (nl - 1 - pos) * sizeof *m);
        if (bk->n > MH_LEADERS) {                  /* the best follower is promoted */
            size_t best = MH_LEADERS;
            for (size_t i = MH_LEADERS + 1; i < bk->n; i++)
                if (a->cl[m[i]].h < a->cl[m[best]].h)
                    best = i;
            uint32_t p = m[best];
            m[best] = m[bk->n - 1];
            m[MH_LEADERS - 1] = p;
            bk->n--;
            set_anchor(a, p, b, key, NONE32);
            pairs_make(a, bk, p, b);
            for (size_t i = MH_LEADERS; i < bk->n; i++) {
                uint32_t y = m[i], old = *anchor_in(&a->cl[y], b, key);
                if (old == c)
                    set_anchor(a, y, b, key, first_similar_leader(a, bk, y, b));
                else if (old == NONE32 && similar(a, y, p, b))
                    set_anchor(a, y, b, key, p);
            }
        } else
            bk->n--;
    }
    if (bk->n == 1) {                              /* one class left: back to a map entry */
        uint32_t only = bk->b[0];
        if (bk->x != NONE32) {
            a->bx[bk->x].n = 0;
            xgrow(&a->bxfree, &a->bxfreecap, a->nbxfree + 1, sizeof *a->bxfree);
            a->bxfree[a->nbxfree++] = bk->x;
        }
        free(bk->b);
        *bk = (bucket){ .x = NONE32 };
        xgrow(&a->bkfree, &a->bkfreecap, a->nbkfree + 1, sizeof *a->bkfree);
        a->bkfree[a->nbkfree++] = bi;
        *hm_get(&a->bkmap, key) = BUCKET_SOLO | only;
    }
}

/* Joins c again along its edges (after a takedown).  A bucket's leader pairs are joined
 * once per pass; pairs of components left standing join nothing new. */
static void relink(attractor_index *a, uint32_t c)
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

/* One-permutation MinHash over word unigrams and bigrams: each shingle's hash falls in one
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
        for (int two = 0; two < 2; two++) {
            if (two && i + 1 >= nw)
                break;
            uint64_t s = two ? w[i] * 31 + w[i + 1] + 0x1234567 : w[i];
            uint64_t v = mix64(s ^ a->mh_seed);
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
            mn[k] = mix64(mn[j] ^ d * 0x9e3779b97f4a7c15ull) << MH_LOG_K;
        }
    for (int k = 0; k < MH_K; k++)
        sig[k] = (uint16_t)(mn[k] >> 48);
    for (int b = 0; b < MH_BANDS; b++) {
        uint64_t h = 0x9e3779b97f4a7c15ull * (uint64_t)(b + 1);
        for (int r = 0; r < MH_ROWS; r++)
            h = mix64(h ^ mn[b * MH_ROWS + r]);
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
    return mix64(h ^ 0xa54ff53a5f1d36f1ull);
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

static void lsh_insert(attractor_index *a, uint32_t c)
{
    cls *k = &a->cl[c];
    const nstate *s = &a->ns[cmem(k)[0]];
    signature(a, s->w, s->nw, k->band, k->sig);
    edit_keys(k, s->w, s->nw);
    for (int b = 0; b < nkeys(k); b++)
        hm_prefetch(&a->bkmap, key_at(k, b));
    k->in_lsh = 1;
    for (int b = 0; b < nkeys(k); b++)
        bucket_add(a, c, b);
}

static uint32_t cls_new(attractor_index *a, uint64_t h)
{
    uint32_t c;
    if (a->nclfree)
        c = a->clfree[--a->nclfree];
    else {
        xgrow(&a->cl, &a->clcap, a->ncl + 1, sizeof *a->cl);
        c = (uint32_t)a->ncl++;
        a->cl[c].in_cand = a->cl[c].in_rebuild = 0;
    }
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
    *hm_put(&a->clmap, h, &isnew) = c;
    xgrow(&a->fresh, &a->freshcap, a->nfresh + 1, sizeof *a->fresh);
    a->fresh[a->nfresh++] = c;
    return c;
}

/* c has no members left: its component is taken apart and it leaves its buckets. */
static void cls_remove(attractor_index *a, uint32_t c)
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
    hm_del(&a->clmap, k->h);
    merge_text_free(k->mt);
    free(k->mem);
    k->mem = NULL;
    k->cap = 0;
    k->mt = NULL;
    k->live = 0;
    xgrow(&a->clfree, &a->clfreecap, a->nclfree + 1, sizeof *a->clfree);
    a->clfree[a->nclfree++] = c;
}

/* ---- 4-grams ---- */

static uint64_t pair_key(uint32_t g, int32_t parent)
{
    return mix64(((uint64_t)g << 32) ^ (uint32_t)parent ^ 0x7f4a7c15ull);
}

static void pair_inc(attractor_index *a, uint32_t g, int32_t parent)
{
    int isnew;
    uint32_t *v = hm_put(&a->pairs, pair_key(g, parent), &isnew);
    if (isnew) {
        *v = 0;
        a->gr[g].support++;
    }
    (*v)++;
}

static void pair_dec(attractor_index *a, uint32_t g, int32_t parent)
{
    uint64_t k = pair_key(g, parent);
    uint32_t *v = hm_get(&a->pairs, k);
    if (v && --*v == 0) {
        hm_del(&a->pairs, k);
        a->gr[g].support--;
    }
}

/* Most 4-grams occur in one node only.  Such a lone gram is just a map entry
 * (GRAM_LONE | node) and the node's occurrence slot says OCC_LONE; a second node makes it a
 * gram record (the first node's slot keeps OCC_LONE: its unindex finds the record).  With
 * min_contexts 1 every gram counts, so then every gram gets a record at once. */
#define GRAM_LONE 0x80000000u
#define OCC_LONE  0xfffffffeu

static uint32_t occ_new(attractor_index *a, uint32_t g, int32_t node)
{
    uint32_t o;
    if (a->nocfree)
        o = a->ocfree[--a->nocfree];
    else {
        xgrow(&a->oc, &a->occap, a->noc + 1, sizeof *a->oc);
        o = (uint32_t)a->noc++;
    }
    gram *gp = &a->gr[g];
    a->oc[o] = (occ){ g, node, NONE32, gp->head };
    if (gp->head != NONE32)
        a->oc[gp->head].prev = o;
    gp->head = o;
    gp->nocc++;
    return o;
}

static void gram_add(attractor_index *a, int32_t node, uint64_t h)
{
    int isnew;
    uint32_t *gi = hm_put(&a->grmap, h, &isnew);
    nstate *s = &a->ns[node];
    if (isnew && a->m > 1) {
        *gi = GRAM_LONE | (uint32_t)node;
        s->occ[s->nocc++] = OCC_LONE;
        return;
    }
    int32_t first = TREE_NONE;
    if (!isnew && (*gi & GRAM_LONE)) {
        first = (int32_t)(*gi & ~GRAM_LONE);
        isnew = 1;
    }
    if (isnew) {
        uint32_t g;
        if (a->ngrfree)
            g = a->grfree[--a->ngrfree];
        else {
            xgrow(&a->gr, &a->grcap, a->ngr + 1, sizeof *a->gr);
            g = (uint32_t)a->ngr++;
            a->gr[g].in_q = 0;
        }
        uint8_t in_q = a->gr[g].in_q;
        a->gr[g] = (gram){ .key = h, .head = NONE32, .live = 1, .in_q = in_q };
        *gi = g;
        if (first != TREE_NONE) {              /* the lone gram's node, first */
            occ_new(a, g, first);
            a->gr[g].support = 1;
        }
    }
    uint32_t g = *gi;
    gram *gp = &a->gr[g];
    int32_t parent = a->ns[node].parent;
    if (gp->nocc == 0)
        gp->support = 1;                       /* a lone gram keeps no pair entry */
    else {
        if (gp->nocc == 1) {                   /* from now on the pair entries count parents */
            gp->support = 0;
            pair_inc(a, g, a->ns[a->oc[gp->head].node].parent);
        }
        pair_inc(a, g, parent);
    }
    uint32_t o = occ_new(a, g, node);
    gp = &a->gr[g];
    s->occ[s->nocc++] = o;      /* sized by node_index for all the node's grams */
    if (gp->support >= a->m && !gp->in_q) {
        gp->in_q = 1;
        xgrow(&a->q4, &a->q4cap, a->nq4 + 1, sizeof *a->q4);
        a->q4[a->nq4++] = g;
    }
}

static void gram_remove_occ(attractor_index *a, uint32_t o)
{
    occ *r = &a->oc[o];
    uint32_t g = r->g;
    gram *gp = &a->gr[g];
    if (r->prev != NONE32)
        a->oc[r->prev].next = r->next;
    else
        gp->head = r->next;
    if (r->next != NONE32)
        a->oc[r->next].prev = r->prev;
    gp->nocc--;
    if (gp->nocc == 0) {
        gp->live = 0;
        gp->support = 0;
        hm_del(&a->grmap, gp->key);
        xgrow(&a->grfree, &a->grfreecap, a->ngrfree + 1, sizeof *a->grfree);
        a->grfree[a->ngrfree++] = g;
    } else {
        pair_dec(a, g, a->ns[r->node].parent);
        if (gp->nocc == 1) {                   /* back to a lone gram: drop its pair entry */
            pair_dec(a, g, a->ns[a->oc[gp->head].node].parent);
            gp->support = 1;
        }
    }
    xgrow(&a->ocfree, &a->ocfreecap, a->nocfree + 1, sizeof *a->ocfree);
    a->ocfree[a->nocfree++] = o;
}

/* ---- nodes ---- */

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* The distinct 4-gram hashes of a text's words, ascending (in a->gscratch, valid until the
 * next call); *n receives their count. */
static const uint64_t *node_grams(attractor_index *a, const uint64_t *w, size_t nw, size_t *n)
{
    size_t ng = nw >= ATTRACTOR_MIN_PHRASE ? nw - ATTRACTOR_MIN_PHRASE + 1 : 0;
    xgrow(&a->gscratch, &a->gscratchcap, ng ? ng : 1, sizeof *a->gscratch);
    uint64_t *g = a->gscratch;
    for (size_t i = 0; i < ng; i++) {
        uint64_t v = gram_hash(w + i, ATTRACTOR_MIN_PHRASE);
        size_t j = i;
        if (ng > 64)
            g[j] = v;
        else {                                   /* a short text: insertion sort */
            for (; j > 0 && g[j - 1] > v; j--)
                g[j] = g[j - 1];
            g[j] = v;
        }
    }
    if (ng > 64)
        qsort(g, ng, sizeof *g, cmp_u64);
    size_t d = 0;
    for (size_t i = 0; i < ng; i++)
        if (!d || g[i] != g[d - 1])
            g[d++] = g[i];
    if (n)
        *n = d;
    return g;
}

static void node_unindex(attractor_index *a, int32_t id)
{
    nstate *s = &a->ns[id];
    if (s->c == NONE32)
        return;
    cls *k = &a->cl[s->c];
    uint32_t last = k->n - 1;
    if (s->cpos != last) {
        int32_t *km = cmem(k);
        km[s->cpos] = km[last];
        a->ns[km[s->cpos]].cpos = s->cpos;
    }
    k->n--;
    a->cl[uf_find(a, s->c)].nnodes--;
    if (!k->n)
        cls_remove(a, s->c);
    const uint64_t *gh = NULL;
    for (uint32_t i = 0; i < s->nocc; i++) {
        if (s->occ[i] != OCC_LONE) {
            gram_remove_occ(a, s->occ[i]);
            continue;
        }
        if (!gh)
            gh = node_grams(a, s->w, s->nw, NULL);   /* slot i is the i-th distinct gram */
        uint32_t v = *hm_get(&a->grmap, gh[i]);
        if (v & GRAM_LONE) {
            hm_del(&a->grmap, gh[i]);
            continue;
        }
        uint32_t o = a->gr[v].head;              /* it has a record since: find our occurrence */
        while (a->oc[o].node != id)
            o = a->oc[o].next;
        gram_remove_occ(a, o);
    }
    free(s->w);                  /* the occurrence records share its block */
    s->occ = NULL;
    s->w = NULL;
    s->nocc = s->nw = 0;
    s->c = NONE32;
    s->parent = TREE_NONE;
}

static void node_index(attractor_index *a, int32_t id)
{
    tree_node *n = tree_get(a->t, id);
    if (!n || n->parent == TREE_NONE)
        return;
    merge_word *mw;
    size_t nw = merge_words(n->text, n->text_len, &mw, NULL);
    if (!nw) {
        free(mw);
        return;
    }
    /* one block: the word hashes, then the node's occurrence records */
    size_t ng = nw >= ATTRACTOR_MIN_PHRASE ? nw - ATTRACTOR_MIN_PHRASE + 1 : 0;
    uint64_t *w = xmalloc(nw * sizeof *w + ng * sizeof(uint32_t));
    for (size_t i = 0; i < nw; i++)
        w[i] = mw[i].hash;
    free(mw);
    nstate *s = &a->ns[id];
    s->w = w;
    s->occ = ng ? (uint32_t *)(w + nw) : NULL;
    s->nw = (uint32_t)nw;
    s->parent = n->parent;
    uint64_t h = gram_hash(w, nw);
    uint32_t *ci = hm_get(&a->clmap, h);
    uint32_t c = ci ? *ci : cls_new(a, h);
    cls *k = &a->cl[c];
    if (!k->cap && k->n == 1) {
        k->cap = 4;
        k->mem = xmalloc(4 * sizeof *k->mem);
        k->mem[0] = k->one;
    } else if (k->cap) {
        size_t cap = k->cap;
        xgrow(&k->mem, &cap, (size_t)k->n + 1, sizeof *k->mem);
        k->cap = (uint32_t)cap;
    }
    s->c = c;
    s->cpos = k->n;
    cmem(k)[k->n++] = id;
    uint32_t r = uf_find(a, c);
    a->cl[r].nnodes++;
    cand_check(a, r);
    if (ng) {
        size_t nd;
        const uint64_t *g = node_grams(a, w, nw, &nd);
        for (size_t i = 0; i < nd; i++)
            hm_prefetch(&a->grmap, g[i]);
        for (size_t i = 0; i < nd; i++)
            gram_add(a, id, g[i]);
    }
}

/* Applies every queued change. */
/* Applies queued changes: every queued node leaves the index first (so nothing indexed
 * refers to a text that has changed or a node that is gone), then up to max of them are
 * indexed again with their current text; the rest stay queued, out of the index. */
static void process_some(attractor_index *a, size_t max)
{
    if (a->qh == a->nq)
        return;
    for (; a->nout < a->nq; a->nout++)
        node_unindex(a, a->queue[a->nout]);
    size_t end = a->nq - a->qh > max ? a->qh + max : a->nq;
    for (; a->qh < end; a->qh++) {
        a->ns[a->queue[a->qh]].queued = 0;
        node_index(a, a->queue[a->qh]);
    }
    if (a->qh == a->nq)
        a->qh = a->nq = a->nout = 0;
    for (size_t i = 0; i < a->nfresh; i++)
        if (a->cl[a->fresh[i]].live && !a->cl[a->fresh[i]].in_lsh)
            lsh_insert(a, a->fresh[i]);
    a->nfresh = 0;
    a->relink_stamp++;
    for (size_t i = 0; i < a->nrebuild; i++)
        a->cl[a->rebuild[i]].in_rebuild = 0;
    for (size_t i = 0; i < a->nrebuild; i++) {
        uint32_t c = a->rebuild[i];
        if (a->cl[c].live && a->cl[c].in_lsh)
            relink(a, c);
    }
    a->nrebuild = 0;
    a->version++;
}

static void process(attractor_index *a) { process_some(a, SIZE_MAX); }

size_t attractor_work(attractor_index *a, size_t max_nodes)
{
    process_some(a, max_nodes ? max_nodes : 1);
    return a->nq - a->qh;
}

size_t attractor_pending(const attractor_index *a) { return a->nq - a->qh; }

attractor_index *attractor_index_new(tree *t, double threshold, int min_contexts)
{
    attractor_index *a = xcalloc(1, sizeof *a);
    a->t = t;
    a->thr = threshold;
    a->m = min_contexts < 1 ? 1 : (size_t)min_contexts;
    a->version = 1;
    a->mh_seed = 0x2545f4914f6cdd1dull;
    int32_t cap = tree_capacity(t);
    size_t live = tree_count(t);
    hm_reserve(&a->clmap, live);
    hm_reserve(&a->bkmap, live * MH_BANDS);
    hm_reserve(&a->grmap, live * 8);
    xgrow(&a->cl, &a->clcap, live + 1, sizeof *a->cl);      /* sized once, not regrown */
    xgrow(&a->queue, &a->qcap, live + 1, sizeof *a->queue);
    if (cap > 0)
        ns_ensure(a, cap - 1);
    for (int32_t id = 0; id < cap; id++)
        if (tree_get(t, id))
            enqueue(a, id);
    tree_observe(t, on_event, a);
    return a;
}

static void list_clear(attractor_index *a)
{
    for (size_t i = 0; i < a->nlist; i++) {
        free(a->list[i].members);
        free(a->list[i].text);
    }
    free(a->list);
    free(a->lphr);
    a->list = NULL;
    a->lphr = NULL;
    a->nlist = 0;
    hm_free(&a->bynode);
    a->nchain = 0;
}

void attractor_index_free(attractor_index *a)
{
    if (!a)
        return;
    tree_unobserve(a->t, on_event, a);
    list_clear(a);
    for (size_t i = 0; i < a->ncap; i++) {
        free(a->ns[i].w);
    }
    for (size_t i = 0; i < a->ncl; i++) {
        free(a->cl[i].mem);
        free(a->cl[i].xkey);
        merge_text_free(a->cl[i].mt);
    }
    for (size_t i = 0; i < a->nbk; i++)
        free(a->bk[i].b);
    for (size_t i = 0; i < a->nbx; i++)
        free(a->bx[i].p);
    free(a->bx);
    free(a->bxfree);
    free(a->bkfree);
    free(a->ns);
    free(a->queue);
    free(a->cl);
    free(a->clfree);
    free(a->bk);
    free(a->cand);
    free(a->rebuild);
    free(a->fresh);
    free(a->gr);
    free(a->grfree);
    free(a->oc);
    free(a->ocfree);
    free(a->q4);
    free(a->chain_attr);
    free(a->chain_next);
    free(a->stamp);
    free(a->gscratch);
    hm_free(&a->clmap);
    hm_free(&a->bkmap);
    hm_free(&a->grmap);
    hm_free(&a->pairs);
    hm_free(&a->tmap);
    hm_free(&a->tpairs);
    free(a);
}

uint64_t attractor_version(attractor_index *a)
{
    process(a);
    return a->version;
}

int attractor_stale(attractor_index *a)
{
    return a->qh < a->nq || a->listed_version != a->version;
}

/* ---- listing ---- */

static double seq_prob(const tree_node *n)
{
    double s = 0;
    for (uint32_t i = 0; i < n->ntokens; i++)
        if (!isnan(n->tokens[i].tok.logprob))
            s += n->tokens[i].tok.logprob;
    return exp(s);
}

static void fill_stats(attractor_index *a, attractor *at)
{
    double p = 0;
    for (size_t i = 0; i < at->nmembers; i++)
        p += seq_prob(tree_get(a->t, at->members[i]));
    at->prob = at->nmembers ? p / (double)at->nmembers : 0;
    at->score = (double)at->support * (1.0 + at->prob);
    at->example = at->members[0];
}

static size_t distinct_parents(attractor_index *a, const int32_t *mem, size_t n)
{
    a->epoch++;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t p = a->ns[mem[i]].parent;
        if (a->stamp[p] != a->epoch) {
            a->stamp[p] = a->epoch;
            k++;
        }
    }
    return k;
}

static int cmp_i32(const void *x, const void *y)
{
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return a < b ? -1 : a > b;
}

typedef struct { attractor at; phr p; } item;

static int cmp_item(const void *x, const void *y)
{
    const attractor *a = &((const item *)x)->at, *b = &((const item *)y)->at;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->support != b->support)
        return a->support > b->support ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->example != b->example)
        return a->example < b->example ? -1 : 1;
    return strcmp(a->text, b->text);
}

static void push_item(item **v, size_t *n, size_t *cap, item it)
{
    xgrow(v, cap, *n + 1, sizeof **v);
    (*v)[(*n)++] = it;
}

static void list_continuations(attractor_index *a, item **v, size_t *nv, size_t *cap)
{
    size_t k = 0;
    for (size_t i = 0; i < a->ncand; i++) {
        uint32_t r = a->cand[i];
        cls *c = &a->cl[r];
        if (c->live && c->uf == r && c->nnodes >= a->m)
            a->cand[k++] = r;
        else
            c->in_cand = 0;
    }
    a->ncand = k;
    for (size_t i = 0; i < a->ncand; i++) {
        uint32_t r = a->cand[i];
        int32_t *mem = xmalloc(a->cl[r].nnodes * sizeof *mem);
        size_t n = 0;
        uint32_t x = r;
        do {
            for (uint32_t j = 0; j < a->cl[x].n; j++)
                mem[n++] = cmem(&a->cl[x])[j];
            x = a->cl[x].next;
        } while (x != r);
        size_t sup = distinct_parents(a, mem, n);
        if (sup < a->m) {
            free(mem);
            continue;
        }
        qsort(mem, n, sizeof *mem, cmp_i32);
        item it = { .at = { .kind = ATTRACTOR_CONTINUATION, .members = mem, .nmembers = n,
                            .support = sup } };
        fill_stats(a, &it.at);
        it.at.text = xstrdup(tree_get(a->t, it.at.example)->text);
        a->cl[r].listed = (uint32_t)a->version;
        push_item(v, nv, cap, it);
    }
}

typedef struct {
    uint64_t h;
    uint32_t n, support, expos, nmem, memcap;
    uint32_t cluster;      /* the one cluster root holding it, or NONE32 when several */
    uint32_t last;         /* last class that added its members */
    int32_t  example;
    int32_t *mem;
    uint8_t  notclosed, dropped;
} tgram;

typedef struct {
    uint32_t c;            /* class */
    uint8_t *q;            /* q[i]: the 4-gram at word i qualifies */
} pclass;

static char *phrase_text(attractor_index *a, int32_t node, uint32_t pos, uint32_t n)
{
    tree_node *nd = tree_get(a->t, node);
    buf nb = {0}, out = {0};
    merge_words(nd->text, nd->text_len, NULL, &nb);
    uint32_t w = 0;
    for (size_t i = 0; i < nb.len && w < pos + n; i++) {
        if (nb.data[i] == ' ') {
            if (++w > pos && w < pos + n)
                buf_addc(&out, ' ');
            continue;
        }
        if (w >= pos)
            buf_addc(&out, nb.data[i]);
    }
    buf_free(&nb);
    if (!out.data)
        buf_add(&out, "", 0);
    return buf_steal(&out);
}

/* Calls fn for every phrase window (start, length) of class pc whose 4-grams all qualify. */
#define FOR_WINDOWS(a, pc, w, nw, i, len) \
    for (size_t i = 0; i + ATTRACTOR_MIN_PHRASE <= (nw); i++) \
        for (uint32_t len = ATTRACTOR_MIN_PHRASE; len <= ATTRACTOR_MAX_PHRASE && i + len <= (nw) && \
             (pc)->q[i + len - ATTRACTOR_MIN_PHRASE]; len++)

/* Phrases are found per class (equal texts have equal words): the classes holding a
 * qualifying 4-gram are scanned once for the windows of 4..8 words whose 4-grams all
 * qualify.  A phrase held only by the members of one listed continuation attractor adds
 * nothing and is dropped first; closedness is judged among the phrases kept. */
static void list_phrases(attractor_index *a, item **v, size_t *nv, size_t *cap)
{
    size_t k = 0;
    for (size_t i = 0; i < a->nq4; i++) {
        gram *g = &a->gr[a->q4[i]];
        if (g->live && g->support >= a->m)
            a->q4[k++] = a->q4[i];
        else
            g->in_q = 0;
    }
    a->nq4 = k;
    if (!k)
        return;
    uint32_t lst = (uint32_t)a->version;
    pclass *pcs = NULL;
    size_t npc = 0, pccap = 0;
    for (size_t i = 0; i < a->nq4; i++)
        for (uint32_t o = a->gr[a->q4[i]].head; o != NONE32; o = a->oc[o].next) {
            uint32_t c = a->ns[a->oc[o].node].c;
            if (a->cl[c].pstamp != lst) {
                a->cl[c].pstamp = lst;
                xgrow(&pcs, &pccap, npc + 1, sizeof *pcs);
                pcs[npc++] = (pclass){ c, NULL };
            }
        }
    for (size_t x = 0; x < npc; x++) {
        const nstate *s = &a->ns[cmem(&a->cl[pcs[x].c])[0]];
        pcs[x].q = xcalloc(s->nw ? s->nw : 1, 1);
        for (size_t i = 0; i + ATTRACTOR_MIN_PHRASE <= s->nw; i++) {
            uint32_t *gi = hm_get(&a->grmap, gram_hash(s->w + i, ATTRACTOR_MIN_PHRASE));
            pcs[x].q[i] = gi && !(*gi & GRAM_LONE) && a->gr[*gi].support >= a->m;
        }
    }
    tgram *tg = NULL;
    size_t ntg = 0, tgcap = 0;
    hmap tmap = a->tmap, tpairs = a->tpairs;   /* kept between listings: no regrowth */
    hm_clear(&tmap);
    hm_clear(&tpairs);
    /* pass 1: every window's gram, the cluster(s) holding it, its smallest holder */
    for (size_t x = 0; x < npc; x++) {
        pclass *pc = &pcs[x];
        cls *c = &a->cl[pc->c];
        const nstate *s = &a->ns[cmem(c)[0]];
        uint32_t root = uf_find(a, pc->c);
        int32_t minm = cmem(c)[0];
        for (uint32_t j = 1; j < c->n; j++)
            if (cmem(c)[j] < minm)
                minm = cmem(c)[j];
        FOR_WINDOWS(a, pc, s->w, s->nw, i, len) {
            uint64_t h = gram_hash(s->w + i, len);
            int isnew;
            uint32_t *ti = hm_put(&tmap, h, &isnew);
            if (isnew) {
                xgrow(&tg, &tgcap, ntg + 1, sizeof *tg);
                tg[ntg] = (tgram){ .h = h, .n = len, .expos = (uint32_t)i, .cluster = root,
                                   .last = NONE32, .example = minm };
                *ti = (uint32_t)ntg++;
                continue;
            }
            tgram *t = &tg[*ti];
            if (t->cluster != root)
                t->cluster = NONE32;
            if (minm < t->example) {
                t->example = minm;
                t->expos = (uint32_t)i;
            }
        }
    }
    for (size_t i = 0; i < ntg; i++)
        tg[i].dropped = tg[i].cluster != NONE32 && a->cl[tg[i].cluster].listed == lst;
    /* pass 2: members and distinct parents of the phrases kept */
    for (size_t x = 0; x < npc; x++) {
        pclass *pc = &pcs[x];
        cls *c = &a->cl[pc->c];
        const nstate *s = &a->ns[cmem(c)[0]];
        FOR_WINDOWS(a, pc, s->w, s->nw, i, len) {
            uint32_t ti = *hm_get(&tmap, gram_hash(s->w + i, len));
            tgram *t = &tg[ti];
            if (t->dropped || t->last == pc->c)
                continue;
            t->last = pc->c;
            size_t mc = t->memcap;
            xgrow(&t->mem, &mc, (size_t)t->nmem + c->n, sizeof *t->mem);
            t->memcap = (uint32_t)mc;
            for (uint32_t j = 0; j < c->n; j++) {
                int32_t node = cmem(c)[j];
                t->mem[t->nmem++] = node;
                int isnew;
                hm_put(&tpairs, mix64(t->h ^ ((uint64_t)(uint32_t)a->ns[node].parent * 0x9e3779b97f4a7c15ull)), &isnew);
                if (isnew)
                    t->support++;
            }
        }
    }
    /* closed phrases only: drop one when a kept, one-word-longer phrase has its support */
    for (size_t x = 0; x < npc; x++) {
        pclass *pc = &pcs[x];
        const nstate *s = &a->ns[cmem(&a->cl[pc->c])[0]];
        FOR_WINDOWS(a, pc, s->w, s->nw, i, len) {
            if (len == ATTRACTOR_MAX_PHRASE)
                break;
            tgram *t = &tg[*hm_get(&tmap, gram_hash(s->w + i, len))];
            if (t->dropped || t->support < a->m || t->notclosed)
                continue;
            uint32_t *e;
            if (i + len + 1 <= s->nw && pc->q[i + len + 1 - ATTRACTOR_MIN_PHRASE] &&
                (e = hm_get(&tmap, gram_hash(s->w + i, len + 1))) && !tg[*e].dropped &&
                tg[*e].support == t->support)
                t->notclosed = 1;
            if (i >= 1 && pc->q[i - 1] &&
                (e = hm_get(&tmap, gram_hash(s->w + i - 1, len + 1))) && !tg[*e].dropped &&
                tg[*e].support == t->support)
                t->notclosed = 1;
        }
    }
    for (size_t i = 0; i < ntg; i++) {
        tgram *t = &tg[i];
        if (t->dropped || t->support < a->m || t->notclosed) {
            free(t->mem);
            continue;
        }
        qsort(t->mem, t->nmem, sizeof *t->mem, cmp_i32);
        item it = { .at = { .kind = ATTRACTOR_PHRASE, .members = t->mem, .nmembers = t->nmem,
                            .support = t->support },
                    .p = { t->h, t->n } };
        fill_stats(a, &it.at);
        it.at.text = phrase_text(a, t->example, t->expos, t->n);
        push_item(v, nv, cap, it);
    }
    for (size_t x = 0; x < npc; x++)
        free(pcs[x].q);
    free(pcs);
    free(tg);
    a->tmap = tmap;
    a->tpairs = tpairs;
}

/* Per node, the list entries it belongs to (best first), for attractor_of and spans. */
static void index_members(attractor_index *a)
{
    for (size_t i = a->nlist; i-- > 0; )
        for (size_t j = 0; j < a->list[i].nmembers; j++) {
            int isnew;
            uint32_t *head = hm_put(&a->bynode, (uint64_t)a->list[i].members[j] + 1, &isnew);
            if (isnew)
                *head = 0;
            xgrow(&a->chain_attr, &a->chaincap, a->nchain + 1, sizeof *a->chain_attr);
            xgrow(&a->chain_next, &a->chaincap2, a->nchain + 1, sizeof *a->chain_next);
            a->chain_attr[a->nchain] = (uint32_t)i;
            a->chain_next[a->nchain] = *head;
            *head = (uint32_t)++a->nchain;
        }
}

static void build_list(attractor_index *a)
{
    process(a);
    if (a->listed_version == a->version)
        return;
    list_clear(a);
    size_t cap = (size_t)tree_capacity(a->t) + 1;
    if (cap > a->stampcap) {
        size_t old = a->stampcap;
        xgrow(&a->stamp, &a->stampcap, cap, sizeof *a->stamp);
        memset(a->stamp + old, 0, (a->stampcap - old) * sizeof *a->stamp);
    }
    item *v = NULL;
    size_t nv = 0, vcap = 0;
    list_continuations(a, &v, &nv, &vcap);
    list_phrases(a, &v, &nv, &vcap);
    if (nv)   /* qsort(NULL, 0) is undefined */
        qsort(v, nv, sizeof *v, cmp_item);
    a->list = xmalloc((nv ? nv : 1) * sizeof *a->list);
    a->lphr = xmalloc((nv ? nv : 1) * sizeof *a->lphr);
    for (size_t i = 0; i < nv; i++) {
        a->list[i] = v[i].at;
        a->lphr[i] = v[i].p;
    }
    a->nlist = nv;
    free(v);
    index_members(a);
    a->listed_version = a->version;
}

size_t attractor_list(attractor_index *a, const attractor **out)
{
    build_list(a);
    *out = a->list;
    return a->nlist;
}

size_t attractor_last(attractor_index *a, const attractor **out)
{
    *out = a->list;
    return a->nlist;
}

int attractor_of(attractor_index *a, int32_t id)
{
    uint32_t *head = hm_get(&a->bynode, (uint64_t)id + 1);
    int best = -1;
    for (uint32_t e = head ? *head : 0; e; e = a->chain_next[e - 1]) {
        int i = (int)a->chain_attr[e - 1];
        if (a->list[i].kind == ATTRACTOR_CONTINUATION)
            return i;
        if (best < 0)
            best = i;
    }
    return best;
}

static int cmp_span(const void *x, const void *y)
{
    const attractor_span *a = x, *b = y;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->attractor - b->attractor;
}

size_t attractor_spans(attractor_index *a, int32_t id, attractor_span **out)
{
    *out = NULL;
    uint32_t *head = hm_get(&a->bynode, (uint64_t)id + 1);
    tree_node *nd = tree_get(a->t, id);
    if (!head || !nd)
        return 0;
    merge_word *mw;
    size_t nw = merge_words(nd->text, nd->text_len, &mw, NULL);
    uint64_t *w = xmalloc((nw ? nw : 1) * sizeof *w);
    for (size_t i = 0; i < nw; i++)
        w[i] = mw[i].hash;
    attractor_span *s = NULL;
    size_t ns = 0, cap = 0;
    for (uint32_t e = *head; e; e = a->chain_next[e - 1]) {
        int ai = (int)a->chain_attr[e - 1];
        if (a->list[ai].kind != ATTRACTOR_PHRASE)
            continue;
        uint32_t n = a->lphr[ai].n;
        for (size_t i = 0; i + n <= nw; i++)
            if (gram_hash(w + i, n) == a->lphr[ai].h) {
                xgrow(&s, &cap, ns + 1, sizeof *s);
                s[ns++] = (attractor_span){ mw[i].start, mw[i + n - 1].end, ai };
            }
    }
    free(w);
    free(mw);
    if (ns)
        qsort(s, ns, sizeof *s, cmp_span);
    *out = s;
    return ns;
}

/* ---- the list as bytes (made in a child process, installed in the parent) ---- */

typedef struct {
    uint32_t kind, phr_n, textlen;
    int32_t  example;
    uint64_t support, nmembers, phr_h;
    double   prob, score;
} rec;

#define DUMP_MAGIC "termloom-attractors-1"

char *attractor_list_dump(attractor_index *a, size_t *len)
{
    buf b = {0};
    uint64_t n = a->nlist;
    buf_add(&b, DUMP_MAGIC, sizeof DUMP_MAGIC);
    buf_add(&b, &n, sizeof n);
    for (size_t i = 0; i < a->nlist; i++) {
        const attractor *at = &a->list[i];
        size_t tl = at->text ? strlen(at->text) : 0;
        rec r = { (uint32_t)at->kind, a->lphr[i].n, (uint32_t)tl, at->example, at->support,
                  at->nmembers, a->lphr[i].h, at->prob, at->score };
        buf_add(&b, &r, sizeof r);
        buf_add(&b, at->text ? at->text : "", tl);
        buf_add(&b, at->members, at->nmembers * sizeof *at->members);
    }
    *len = b.len;
    if (!b.data)
        buf_add(&b, "", 0);
    return buf_steal(&b);
}

int attractor_list_load(attractor_index *a, const char *data, size_t len, uint64_t version)
{
    uint64_t n;
    size_t at = sizeof DUMP_MAGIC + sizeof n;
    if (len < at || memcmp(data, DUMP_MAGIC, sizeof DUMP_MAGIC))
        return -1;
    memcpy(&n, data + sizeof DUMP_MAGIC, sizeof n);
    if (n > (len - at) / sizeof(rec))
        return -1;
    attractor *list = xcalloc(n ? n : 1, sizeof *list);
    phr *lphr = xcalloc(n ? n : 1, sizeof *lphr);
    size_t k = 0;
    for (; k < n; k++) {
        rec r;
        if (len - at < sizeof r)
            break;
        memcpy(&r, data + at, sizeof r);
        at += sizeof r;
        if (r.kind > ATTRACTOR_PHRASE || r.textlen > len - at ||
            r.nmembers > (len - at - r.textlen) / sizeof(int32_t))
            break;
        attractor *x = &list[k];
        x->kind = (attractor_kind)r.kind;
        x->text = xstrndup(data + at, r.textlen);
        at += r.textlen;
        x->nmembers = (size_t)r.nmembers;
        x->members = xmalloc((x->nmembers ? x->nmembers : 1) * sizeof *x->members);
        memcpy(x->members, data + at, x->nmembers * sizeof *x->members);
        at += x->nmembers * sizeof *x->members;
        x->support = (size_t)r.support;
        x->prob = r.prob;
        x->score = r.score;
        x->example = r.example;
        lphr[k] = (phr){ r.phr_h, r.phr_n };
    }
    if (k < n || at != len) {
        for (size_t i = 0; i < k; i++) {
            free(list[i].members);
            free(list[i].text);
        }
        free(list);
        free(lphr);
        return -1;
    }
    list_clear(a);
    a->list = list;
    a->lphr = lphr;
    a->nlist = (size_t)n;
    index_members(a);
    a->listed_version = version;
    return 0;
}
