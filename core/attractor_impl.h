/* core/attractor_impl.h — what the files of the attractor module share (not a public
 * header): the index's state and the calls between
 * attractor.c (events, nodes, 4-grams), attractor_lsh.c (classes, buckets, components),
 * attractor_list.c (the listing), attractor_ctx.c (contexts), attractor_answers.c
 * (answers from the list made, the list as bytes, labels) and attractor_null.c (the chance
 * null of phrases). */
#ifndef CORE_ATTRACTOR_IMPL_H
#define CORE_ATTRACTOR_IMPL_H
#include "core/attractor.h"
#include "core/hash.h"
#include "core/mem.h"
#include "core/merge.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NONE32 UINT32_MAX
#define MH_BANDS 8
#define MH_ROWS 4
#define MH_MIN_MATCH 13   /* of MH_K signature values: estimated Jaccard ≥ 0.4 */
#define MH_K ATTRACTOR_MINHASH   /* == MH_BANDS * MH_ROWS == 1 << MH_LOG_K */
#define MH_LOG_K 5
#define MH_LEADERS ATTRACTOR_LEADERS
#define MH_ANCHORS ATTRACTOR_ANCHORS   /* ≤ MH_LEADERS */

static inline uint64_t gram_hash(const uint64_t *w, size_t n)
{
    uint64_t h = 0x51ed270b27cd6c5bull + n;
    for (size_t i = 0; i < n; i++)
        h = (h ^ w[i]) * 0x100000001b3ull + (h >> 29);
    return hash_fmix64(h);
}

/* Most 4-grams occur in one node only.  Such a lone gram is just a map entry
 * (GRAM_LONE | node) and the node's occurrence slot says OCC_LONE; a second node makes it a
 * gram record (the first node's slot keeps OCC_LONE: its unindex finds the record).  With
 * min_contexts 1 every gram counts, so then every gram gets a record at once. */
#define GRAM_LONE 0x80000000u
#define OCC_LONE  0xfffffffeu

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
    merge_text *mt;             /* built on first comparison */
    uint64_t    memo;           /* (insert << 2 | side << 1 | similar): how it compared with
                                 * the class being inserted (attractor_lsh.c, similar) */
    uint32_t    uf, next;       /* union-find parent; ring of the component */
    uint32_t    nnodes, ncls;   /* at a root: nodes and classes in the component */
    uint8_t     live, in_lsh, in_cand, in_rebuild;
    uint32_t    listed;         /* listing stamp when a continuation attractor */
    uint32_t    seen;           /* reconnection search stamp */
} cls;

/* An LSH bucket of two or more classes: the classes sharing one band key.  The first
 * min(n, MH_LEADERS) entries are its leaders, by ascending class hash; the rest (followers)
 * are unordered.  Most band keys belong to one class only: the map then holds the class
 * itself (BUCKET_SOLO | class) and no bucket record exists. */
#define BUCKET_SOLO 0x80000000u

typedef struct {
    uint64_t h;               /* its class's hash (the rank), kept here for the scans */
    uint32_t c;               /* the class */
    uint32_t an;              /* a follower's anchor in this bucket (as in the class), or NONE32 */
} bentry;

typedef struct {
    bentry   *b;
    uint32_t  n, cap;
    uint32_t  x;              /* its similar leader pairs: index in bx, or NONE32 */
} bucket;

typedef struct {
    uint32_t (*p)[2];         /* pairs of similar leaders */
    uint32_t  n, cap;
    uint32_t  stamp;          /* relink pass that already joined them */
} bucket_pairs;

/* Most classes hold one node: it lives inline, without an allocation. */
static inline int32_t *cmem(cls *k) { return k->cap ? k->mem : &k->one; }

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

/* The released slots of a pool of records (classes, buckets, grams, occurrences). */
typedef struct {
    uint32_t *ids;
    size_t    n, cap;
} freelist;

/* A slot of the records array *arr (*n in use, *cap allocated, `size` bytes each): a
 * released one when there is one (as it was left), else a new zero-filled one at the end. */
static inline uint32_t pool_take(void *arr, size_t *n, size_t *cap, size_t size, freelist *f)
{
    if (f->n)
        return f->ids[--f->n];
    xgrow(arr, cap, *n + 1, size);
    memset((char *)*(void **)arr + *n * size, 0, size);
    return (uint32_t)(*n)++;
}

static inline void pool_give(freelist *f, uint32_t id)
{
    xgrow(&f->ids, &f->cap, f->n + 1, sizeof *f->ids);
    f->ids[f->n++] = id;
}

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
    uint64_t (*sig)[MH_K / 4];  /* per class: its MinHash values, top 16 bits each (b-bit
                                 * MinHash), apart so that a comparison reads one line */
    size_t   sigcap;
    freelist clfree;
    hash_map     clmap;           /* text hash → class */
    bucket  *bk;
    size_t   nbk, bkcap;
    hash_map     bkmap;           /* band key → bucket */
    freelist bkfree;
    bucket_pairs *bx;
    size_t   nbx, bxcap;
    freelist bxfree;
    uint32_t relink_stamp;
    uint32_t ins_cls;         /* the class attractor_lsh_insert is placing, or NONE32 */
    uint64_t ins_serial;      /* that insert's number (class memos of older ones are stale) */
    uint32_t *cand;           /* classes that may be attractor roots */
    size_t   ncand, candcap;
    uint32_t (*cuts)[2];      /* edges gone in this update, checked at its end */
    size_t   ncut, cutcap;
    uint32_t *search;         /* the reconnection search's queue */
    size_t   searchcap;
    uint32_t seen_stamp;
    uint32_t *rebuild, *fresh;
    size_t   nrebuild, rebuildcap, nfresh, freshcap;

    gram    *gr;
    size_t   ngr, grcap;
    freelist grfree;
    hash_map     grmap;           /* 4-gram hash → gram */
    hash_map     pairs;           /* mix(gram, parent) → nodes (only for grams in ≥ 2 nodes) */
    occ     *oc;
    size_t   noc, occap;
    freelist ocfree;
    uint32_t *q4;             /* grams that may have support ≥ m */
    size_t   nq4, q4cap;

    attractor *list;
    phr       *lphr;
    size_t     nlist;
    hash_map       bynode;
    hash_map       tmap;          /* listing scratch */
    uint8_t   *sketch;        /* listing scratch: node counts of long phrase windows */
    size_t     sketchcap;        /* node → first chain entry + 1 */
    uint32_t  *chain_attr, *chain_next;
    size_t     nchain, chaincap, chaincap2;
    uint32_t  *stamp;         /* per node id, for distinct-parent counting */
    size_t     stampcap;
    uint32_t   epoch;
    uint64_t   mh_seed;
    uint64_t  *gscratch;      /* a node's 4-gram hashes while indexing */
    size_t     gscratchcap;
    struct attractor_job *job;   /* a listing made in slices (attractor_list.c), or NULL */
    /* the chance null's counts (see attractor.h): words, word bigrams and trigrams over the
     * indexed texts, and the last word / last bigram of each text (NGC_END), by key */
    hash_map ngc;
    uint64_t nwords, ntexts;   /* words and texts indexed */
    uint64_t nwin[ATTRACTOR_MAX_PHRASE - ATTRACTOR_MIN_PHRASE + 1];   /* windows per length */
    double   alpha;           /* family-wise level for phrases; >= 1 keeps them all */
    uint64_t   deletes;       /* deletions and undeletions seen (they end a listing) */
};

/* attractor_lsh.c */
uint32_t attractor_uf_find(attractor_index *a, uint32_t c);
void     attractor_cand_check(attractor_index *a, uint32_t r);
uint32_t attractor_cls_new(attractor_index *a, uint64_t h);
void     attractor_cls_remove(attractor_index *a, uint32_t c);
void     attractor_lsh_insert(attractor_index *a, uint32_t c);
void     attractor_relink(attractor_index *a, uint32_t c);
void     attractor_check_cuts(attractor_index *a);
/* attractor_null.c */
/* The null's counts of a text's words w[0..nw): d = +1 when it is indexed, -1 when it leaves. */
void     attractor_null_count(attractor_index *a, const uint64_t *w, size_t nw, int d);
/* Fills at->expected and at->log10_p for the phrase of n words at word pos of node id
 * (at->support set), corrected for ncand candidates; 1 when it is kept at a->alpha. */
int      attractor_null_test(attractor_index *a, size_t ncand, attractor *at, int32_t id, uint32_t pos, uint32_t n);
/* attractor_ctx.c: contexts (see attractor.h "support"), memoized per listing */
typedef struct contexts {
    hash_map      memo;          /* node id + 1 → index into h */
    uint64_t *h;
    size_t    n, cap;
    int32_t  *path;          /* scratch: the walk up to a known context */
    size_t    pathcap;
} contexts;
void     attractor_contexts_free(contexts *c);
uint64_t attractor_context_of(attractor_index *a, contexts *c, int32_t id);   /* id's path */
/* distinct contexts of the parents of mem[0..n) */
size_t   attractor_distinct_contexts(attractor_index *a, contexts *c, const int32_t *mem, size_t n);
/* attractor_answers.c */
void     attractor_list_clear(attractor_index *a);
void     attractor_index_members(attractor_index *a);   /* a->bynode from a->list */
#endif
