/* core/attractor_list.c — the attractor module's listing: continuation and phrase
 * attractors scored and ordered from the maintained index, made whole or in slices.  See
 * attractor.h; attractor_answers.c answers from the list made. */
#include "core/attractor_impl.h"
#include "core/text.h"
#include <math.h>

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

static int cmp_i32(const void *x, const void *y)
{
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return a < b ? -1 : a > b;
}

typedef struct { attractor at; phr p; } item;

static int cmp_item(const void *x, const void *y)
{
    const attractor *a = &((const item *)x)->at, *b = &((const item *)y)->at;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->kind == ATTRACTOR_PHRASE && a->log10_p != b->log10_p)
        return a->log10_p < b->log10_p ? -1 : 1;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->support != b->support)
        return a->support > b->support ? -1 : 1;
    if (a->example != b->example)
        return a->example < b->example ? -1 : 1;
    return strcmp(a->text, b->text);
}

static void push_item(item **v, size_t *n, size_t *cap, item it)
{
    xgrow(v, cap, *n + 1, sizeof **v);
    (*v)[(*n)++] = it;
}

/* The listing in slices (see attractor_list_step): what it has made so far and where
 * each loop stands.  It reads the index as it was when the listing began; nothing of the
 * index changes meanwhile (the queue waits), and a deletion in the tree gives it up. */
typedef struct tgram tgram;
typedef struct pclass pclass;
typedef struct attractor_job attractor_job;
struct attractor_job {
    int      phase;
    uint64_t version, deletes;
    size_t   i;
    item    *v;
    size_t   nv, vcap;
    pclass  *pcs;
    size_t   npc, pccap;
    tgram   *tg;
    size_t   ntg, tgcap;
    contexts ctx;                  /* the parents' contexts seen so far (support) */
    uint32_t len;                  /* the phrase length being found */
    size_t   nwin, skmask;         /* its eligible windows; the counter table's mask */
    size_t   first;                /* the first gram of this length in tg */
    size_t   nphr;                 /* candidate phrases (the null's correction) */
    hash_map ctxid;                /* a parent's context → its dense number */
    uint32_t nctx;
    uint32_t *flat;                /* this length's grams' holder contexts, gram by gram */
    size_t   flatcap;
    uint32_t *cstamp;              /* per context number: the gram that counted it last, + 1 */
    size_t   cstampcap;
    uint8_t  *clbits;              /* classes gathered for phrases (a bit each) */
    uint64_t *wh;                  /* a class's window hashes (win_hashes) */
    uint8_t  *wok;
    size_t   whcap, wokcap;
    struct kept { uint32_t t; double expected, log10_p; } *kept;   /* the phrases the null keeps */
    size_t   nkept, keptcap;
};

static void cont_prepare(attractor_index *a)
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
}

static void cont_one(attractor_index *a, attractor_job *J, uint32_t r)
{
    int32_t *mem = xmalloc(a->cl[r].nnodes * sizeof *mem);
    size_t n = 0;
    uint32_t x = r;
    do {
        for (uint32_t j = 0; j < a->cl[x].n; j++)
            mem[n++] = cmem(&a->cl[x])[j];
        x = a->cl[x].next;
    } while (x != r);
    size_t sup = attractor_distinct_contexts(a, &J->ctx, mem, n);
    if (sup < a->m) {
        free(mem);
        return;
    }
    qsort(mem, n, sizeof *mem, cmp_i32);
    item it = { .at = { .kind = ATTRACTOR_CONTINUATION, .members = mem, .nmembers = n,
                        .support = sup } };
    fill_stats(a, &it.at);
    it.at.text = xstrdup(tree_get(a->t, it.at.example)->text);
    a->cl[r].listed = (uint32_t)J->version;
    push_item(&J->v, &J->nv, &J->vcap, it);
}

struct tgram {
    uint64_t h;
    uint32_t n, support, expos;
    uint32_t nmem, memcap; /* nodes holding it, members added */
    uint32_t at, fill;     /* its holders' contexts: J->flat[at .. at + fill) */
    uint32_t keep;         /* kept by the null: its index in J->kept + 1; else 0 */
    uint32_t cluster;      /* the one cluster root holding it, or NONE32 when several */
    uint32_t last, last2, last3;   /* last class that counted its nodes / contexts / members */
    int32_t  example;
    int32_t *mem;
    uint8_t  notclosed, dropped;
};

struct pclass {
    uint32_t c;            /* class */
    uint8_t *q;            /* q[i]: the 4-gram at word i qualifies */
    uint8_t *al;           /* al[i]: the alive windows at word i (ALIVE), after q */
    uint8_t *lk;           /* lk[i]: the windows at word i entered in the gram map (LOOKED) */
    uint32_t *ti;          /* the gram of window (i, len) in tg (TI), once looked at */
    uint32_t *cx;          /* the context of each member's parent (its number, J->ctxid) */
};

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

/* A window (start i, length len) of a class is alive when its gram has support >= m and is
 * not dropped: bit len - ATTRACTOR_MIN_PHRASE of al[i]. */
#define ALIVE(pc, i, len) ((pc)->al[i] >> ((len) - ATTRACTOR_MIN_PHRASE) & 1)
#define LOOKED(pc, i, len) ((pc)->lk[i] >> ((len) - ATTRACTOR_MIN_PHRASE) & 1)
#define NLEN (ATTRACTOR_MAX_PHRASE - ATTRACTOR_MIN_PHRASE + 1)
#define TI(pc, i, len) ((pc)->ti[(i) * NLEN + (len) - ATTRACTOR_MIN_PHRASE])

/* Whether window (i, len) is looked at: a 4-gram that qualifies, or a longer window whose
 * two windows one word shorter are alive (a gram's holders are among its sub-grams'
 * holders, so its support is at most theirs, and it is dropped when they are). */
static int eligible(const pclass *pc, size_t nw, size_t i, uint32_t len)
{
    if (i + len > nw)
        return 0;
    if (len == ATTRACTOR_MIN_PHRASE)
        return pc->q[i];
    return ALIVE(pc, i, len - 1) && ALIVE(pc, i + 1, len - 1);
}

static const nstate *pc_state(const attractor_index *a, const pclass *pc)
{
    return &a->ns[cmem(&a->cl[pc->c])[0]];
}

/* Phrases are found per class (equal texts have equal words), one length at a time: the
 * classes holding a qualifying 4-gram are scanned for their windows of that length that
 * are eligible.  A phrase held only by the members of one listed continuation attractor adds
 * nothing and is dropped first; closedness is judged among the phrases kept.  Each pass
 * below handles one class (a unit of a slice). */
/* Fills pc->q (and makes room for the rest): which of its 4-grams qualify; 1 when any does. */
static int phr_qualifies(attractor_index *a, pclass *pc)
{
    const nstate *s = pc_state(a, pc);
    size_t nw = s->nw ? s->nw : 1;
    int any = 0;
    uint32_t n = a->cl[pc->c].n ? a->cl[pc->c].n : 1;
    /* one block: ti, cx, then the bytes q, al, lk (zeroed) */
    pc->ti = xmalloc((nw * NLEN + n) * sizeof *pc->ti + 3 * nw);
    pc->cx = pc->ti + nw * NLEN;
    pc->q = (uint8_t *)(pc->cx + n);
    memset(pc->q, 0, 3 * nw);
    pc->al = pc->q + nw;
    pc->lk = pc->q + 2 * nw;
    for (size_t i = 0; i + ATTRACTOR_MIN_PHRASE <= s->nw; i++) {
        uint32_t *gi = hash_map_get(&a->grmap, gram_hash(s->w + i, ATTRACTOR_MIN_PHRASE));
        pc->q[i] = gi && !(*gi & GRAM_LONE) && a->gr[*gi].support >= a->m;
        any |= pc->q[i];
    }
    return any;
}

/* Class c joins the classes scanned when it holds a qualifying 4-gram. */
static void phr_gather(attractor_index *a, attractor_job *J, uint32_t c)
{
    if (!a->cl[c].live)
        return;
    pclass pc = { c, NULL, NULL, NULL, NULL, NULL };
    if (!phr_qualifies(a, &pc)) {
        free(pc.ti);
        return;
    }
    xgrow(&J->pcs, &J->pccap, J->npc + 1, sizeof *J->pcs);
    J->pcs[J->npc++] = pc;
}

/* 0: no phrase can qualify; 1: the classes to scan are in J->pcs; 2: they are to be
 * gathered (phr_gather, a unit of a slice each). */
static int phr_prepare(attractor_index *a, attractor_job *J)
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
        return 0;
    hash_map_clear(&a->tmap);                         /* kept between listings: no regrowth */
    J->len = ATTRACTOR_MIN_PHRASE;
    /* When the grams' occurrences outnumber the classes (a crowded tree: every class holds
     * some), each class is asked instead: the same classes, found in class order. */
    size_t walk = 0, live = a->ncl - a->clfree.n;
    for (size_t i = 0; i < a->nq4 && walk <= 2 * live; i++)
        walk += a->gr[a->q4[i]].nocc;
    if (walk > 2 * live)
        return 2;                                     /* phr_gather, class by class */
    /* else the classes holding them, a bit each, then in class order (the passes walk the
     * records in memory order) */
    J->clbits = xcalloc(a->ncl / 8 + 1, 1);
    size_t ncls = 0;
    for (size_t i = 0; i < a->nq4; i++)
        for (uint32_t o = a->gr[a->q4[i]].head; o != NONE32; o = a->oc[o].next) {
            uint32_t c = a->ns[a->oc[o].node].c;
            uint8_t bit = (uint8_t)(1u << (c & 7));
            ncls += !(J->clbits[c >> 3] & bit);
            J->clbits[c >> 3] |= bit;
        }
    J->pcs = xmalloc((ncls ? ncls : 1) * sizeof *J->pcs);
    J->pccap = ncls;
    for (size_t b = 0; b <= a->ncl / 8; b++)
        for (unsigned bit = 0; J->clbits[b] >> bit; bit++)
            if (J->clbits[b] >> bit & 1)
                J->pcs[J->npc++] = (pclass){ (uint32_t)(b * 8 + bit), NULL, NULL, NULL, NULL, NULL };
    return 1;
}

static void phr_qualify(attractor_index *a, attractor_job *J, pclass *pc)
{
    cls *c = &a->cl[pc->c];
    if (!pc->q)
        phr_qualifies(a, pc);                      /* also makes room for cx */
    for (uint32_t j = 0; j < c->n; j++) {
        int isnew;
        uint32_t *id = hash_map_put(&J->ctxid, attractor_context_of(a, &J->ctx, a->ns[cmem(c)[j]].parent), &isnew);
        if (isnew)
            *id = J->nctx++;
        pc->cx[j] = *id;
    }
}

/* pass 0 (windows longer than 4): a count of the nodes holding each gram, in a small table
 * of saturating counters indexed by the gram hash.  Collisions only add, so a gram counted
 * below m is in fewer than m nodes and is not looked at (most 6-grams of a big tree are in
 * one node: they stay out of the gram map).  Counting the windows, then the table. */
static void phr_windows(attractor_index *a, attractor_job *J, pclass *pc)
{
    const nstate *s = pc_state(a, pc);
    for (size_t i = 0; i + J->len <= s->nw; i++)
        J->nwin += (size_t)eligible(pc, s->nw, i, J->len);
}

static void phr_sketch_open(attractor_index *a, attractor_job *J)
{
    size_t skn = 1024;
    while (skn < 4 * J->nwin)
        skn *= 2;
    if (skn > a->sketchcap) {
        free(a->sketch);
        a->sketch = xmalloc(skn);
        a->sketchcap = skn;
    }
    memset(a->sketch, 0, skn);
    J->skmask = skn - 1;
}


/* The hashes of a class's eligible windows of the length at hand into J->wh (J->wok[i]:
 * window i is eligible), the counter of each prefetched: the passes below work in
 * stages, so that a class's cache misses overlap. */
static size_t win_hashes(attractor_index *a, attractor_job *J, pclass *pc, const nstate *s)
{
    size_t nwin = s->nw >= J->len ? s->nw - J->len + 1 : 0;
    xgrow(&J->wh, &J->whcap, nwin + 1, sizeof *J->wh);
    xgrow(&J->wok, &J->wokcap, nwin + 1, 1);
    for (size_t i = 0; i < nwin; i++) {
        J->wok[i] = (uint8_t)eligible(pc, s->nw, i, J->len);
        if (!J->wok[i])
            continue;
        J->wh[i] = gram_hash(s->w + i, J->len);
        if (J->skmask)
            mem_prefetch(&a->sketch[(J->wh[i] >> 20) & J->skmask]);
    }
    return nwin;
}

static void phr_sketch(attractor_index *a, attractor_job *J, pclass *pc)
{
    cls *c = &a->cl[pc->c];
    size_t nwin = win_hashes(a, J, pc, pc_state(a, pc));
    for (size_t i = 0; i < nwin; i++)
        if (J->wok[i]) {
            uint8_t *ct = &a->sketch[(J->wh[i] >> 20) & J->skmask];
            *ct = (uint8_t)(*ct + c->n > 255 ? 255 : *ct + c->n);
        }
}

/* pass 1: every window's gram, the cluster(s) holding it, its smallest holder.  Stages:
 * the hashes; the counter table's verdict; the gram map (new grams made in window order);
 * then the grams met before. */
static void phr_pass1(attractor_index *a, attractor_job *J, pclass *pc)
{
    uint32_t len = J->len;
    cls *c = &a->cl[pc->c];
    size_t nwin = win_hashes(a, J, pc, pc_state(a, pc));
    uint32_t root = NONE32;
    int32_t minm = 0;
    for (size_t i = 0; i < nwin; i++)
        if (J->wok[i]) {
            if (J->skmask && a->sketch[(J->wh[i] >> 20) & J->skmask] < a->m)
                J->wok[i] = 0;
            else
                hash_map_prefetch(&a->tmap, J->wh[i]);
        }
    for (size_t i = 0; i < nwin; i++) {
        if (!J->wok[i])
            continue;
        uint64_t h = J->wh[i];
        pc->lk[i] |= (uint8_t)(1u << (len - ATTRACTOR_MIN_PHRASE));
        if (root == NONE32) {
            root = attractor_uf_find(a, pc->c);
            minm = cmem(c)[0];
            for (uint32_t j = 1; j < c->n; j++)
                if (cmem(c)[j] < minm)
                    minm = cmem(c)[j];
        }
        int isnew;
        uint32_t *ti = hash_map_put(&a->tmap, h, &isnew);
        if (isnew)
            *ti = (uint32_t)J->ntg;
        TI(pc, i, len) = *ti;
        if (!isnew) {
            mem_prefetch(&J->tg[*ti]);
            continue;
        }
        J->wok[i] = 2;                             /* made here */
        xgrow(&J->tg, &J->tgcap, J->ntg + 1, sizeof *J->tg);
        J->tg[J->ntg] = (tgram){ .h = h, .n = len, .expos = (uint32_t)i, .cluster = root,
                                 .last = pc->c, .last2 = NONE32, .last3 = NONE32,
                                 .nmem = c->n, .example = minm };
        J->ntg++;
    }
    for (size_t i = 0; i < nwin; i++) {
        if (J->wok[i] != 1)
            continue;
        tgram *t = &J->tg[TI(pc, i, len)];
        if (t->last != pc->c) {
            t->last = pc->c;
            t->nmem += c->n;
        }
        if (t->cluster != root)
            t->cluster = NONE32;
        if (minm < t->example) {
            t->example = minm;
            t->expos = (uint32_t)i;
        }
    }
}

/* Prefetches the gram records of a class's windows looked at, of length len (0: of the
 * alive ones of every length). */
static void tg_prefetch(attractor_job *J, const pclass *pc, size_t nw, uint32_t len)
{
    for (size_t i = 0; i + ATTRACTOR_MIN_PHRASE <= nw; i++)
        for (uint32_t l = len ? len : ATTRACTOR_MIN_PHRASE; l <= (len ? len : ATTRACTOR_MAX_PHRASE) && i + l <= nw; l++)
            if (len ? LOOKED(pc, i, l) : ALIVE(pc, i, l))
                mem_prefetch(&J->tg[TI(pc, i, l)]);
}

/* pass 2: distinct contexts of the windows kept (a gram in fewer than m nodes cannot have
 * m contexts) */
static void phr_pass2(attractor_index *a, attractor_job *J, pclass *pc)
{
    uint32_t len = J->len;
    cls *c = &a->cl[pc->c];
    const nstate *s = pc_state(a, pc);
    tg_prefetch(J, pc, s->nw, len);
    for (size_t i = 0; i + len <= s->nw; i++) {
        if (!LOOKED(pc, i, len))
            continue;
        tgram *t = &J->tg[TI(pc, i, len)];
        if (t->dropped || t->nmem < a->m || t->last2 == pc->c)
            continue;
        t->last2 = pc->c;
        memcpy(J->flat + t->at + t->fill, pc->cx, c->n * sizeof *pc->cx);
        t->fill += c->n;
    }
}

/* after pass 1: room for each kept gram's holder contexts */
static void phr_flat_open(attractor_index *a, attractor_job *J)
{
    size_t at = 0;
    for (size_t i = J->first; i < J->ntg; i++) {
        tgram *t = &J->tg[i];
        t->at = (uint32_t)at;
        if (!t->dropped && t->nmem >= a->m)
            at += t->nmem;
    }
    xgrow(&J->flat, &J->flatcap, at ? at : 1, sizeof *J->flat);
    if (J->nctx > J->cstampcap) {
        size_t old = J->cstampcap;
        xgrow(&J->cstamp, &J->cstampcap, J->nctx, sizeof *J->cstamp);
        memset(J->cstamp + old, 0, (J->cstampcap - old) * sizeof *J->cstamp);
    }
}

/* after pass 2: each gram's support, its distinct holder contexts */
static void phr_flat_count(attractor_job *J)
{
    for (size_t i = J->first; i < J->ntg; i++) {
        tgram *t = &J->tg[i];
        uint32_t mark = (uint32_t)i + 1, k = 0;
        for (uint32_t j = 0; j < t->fill; j++) {
            uint32_t *st = &J->cstamp[J->flat[t->at + j]];
            k += *st != mark;
            *st = mark;
        }
        t->support = k;
    }
}

static void phr_alive(attractor_index *a, attractor_job *J, pclass *pc)
{
    uint32_t len = J->len;
    const nstate *s = pc_state(a, pc);
    tg_prefetch(J, pc, s->nw, len);
    for (size_t i = 0; i + len <= s->nw; i++) {
        if (!LOOKED(pc, i, len))
            continue;
        const tgram *t = &J->tg[TI(pc, i, len)];
        if (!t->dropped && t->support >= a->m)
            pc->al[i] |= (uint8_t)(1u << (len - ATTRACTOR_MIN_PHRASE));
    }
}

/* closed phrases only: drop one when a kept, one-word-longer phrase has its support */
static void phr_closed(attractor_index *a, attractor_job *J, pclass *pc)
{
    const nstate *s = pc_state(a, pc);
    tgram *tg = J->tg;
    tg_prefetch(J, pc, s->nw, 0);
    for (size_t i = 0; i + ATTRACTOR_MIN_PHRASE <= s->nw; i++)
        for (uint32_t len = ATTRACTOR_MIN_PHRASE; len < ATTRACTOR_MAX_PHRASE && i + len <= s->nw; len++) {
            if (!ALIVE(pc, i, len))
                continue;
            tgram *t = &tg[TI(pc, i, len)];
            if (t->notclosed)
                continue;
            if (i + len + 1 <= s->nw && ALIVE(pc, i, len + 1) && tg[TI(pc, i, len + 1)].support == t->support)
                t->notclosed = 1;
            if (i >= 1 && ALIVE(pc, i - 1, len + 1) && tg[TI(pc, i - 1, len + 1)].support == t->support)
                t->notclosed = 1;
        }
}

/* the members of the phrases left */
static void phr_members(attractor_index *a, attractor_job *J, pclass *pc)
{
    cls *c = &a->cl[pc->c];
    const nstate *s = pc_state(a, pc);
    for (size_t i = 0; i + ATTRACTOR_MIN_PHRASE <= s->nw; i++)
        for (uint32_t len = ATTRACTOR_MIN_PHRASE; len <= ATTRACTOR_MAX_PHRASE && i + len <= s->nw; len++) {
            if (!ALIVE(pc, i, len))
                continue;
            tgram *t = &J->tg[TI(pc, i, len)];
            if (!t->keep || t->last3 == pc->c)
                continue;
            t->last3 = pc->c;
            if (!t->mem)
                t->mem = xmalloc(t->nmem * sizeof *t->mem);
            for (uint32_t j = 0; j < c->n; j++)
                t->mem[t->memcap++] = cmem(c)[j];
        }
}

/* A candidate phrase (alive and closed: what the null corrects for) is tested before its
 * members are gathered: most candidates of a crowded tree are chance, and need none. */
static int phr_candidate(const attractor_index *a, const tgram *t)
{
    return !t->dropped && t->support >= a->m && !t->notclosed;
}

static void phr_null(attractor_index *a, attractor_job *J, tgram *t)
{
    if (!phr_candidate(a, t))
        return;
    attractor probe = { .support = t->support };
    if (!attractor_null_test(a, J->nphr, &probe, t->example, t->expos, t->n))
        return;
    xgrow(&J->kept, &J->keptcap, J->nkept + 1, sizeof *J->kept);
    J->kept[J->nkept++] = (struct kept){ (uint32_t)(t - J->tg), probe.expected, probe.log10_p };
    t->keep = (uint32_t)J->nkept;
}

static void phr_emit(attractor_index *a, attractor_job *J, const struct kept *k)
{
    tgram *t = &J->tg[k->t];
    qsort(t->mem, t->memcap, sizeof *t->mem, cmp_i32);
    item it = { .at = { .kind = ATTRACTOR_PHRASE, .members = t->mem, .nmembers = t->memcap,
                        .support = t->support },
                .p = { t->h, t->n } };
    t->mem = NULL;                             /* the item owns them now */
    it.at.expected = k->expected;
    it.at.log10_p = k->log10_p;
    fill_stats(a, &it.at);
    it.at.text = phrase_text(a, t->example, t->expos, t->n);
    push_item(&J->v, &J->nv, &J->vcap, it);
}

static void job_free(attractor_job *J, int items)
{
    for (size_t x = 0; x < J->npc; x++) {
        free(J->pcs[x].ti);                  /* its block holds cx, q, al and lk too */
    }
    free(J->pcs);
    if (items)                                 /* given up: what it made goes too */
        for (size_t i = 0; i < J->nv; i++) {
            free(J->v[i].at.members);
            free(J->v[i].at.text);
        }
    for (size_t i = 0; i < J->ntg; i++)        /* members not yet handed to an item */
        free(J->tg[i].mem);
    free(J->tg);
    if (items)
        free(J->v);
    attractor_contexts_free(&J->ctx);
    hash_map_free(&J->ctxid);
    free(J->flat);
    free(J->cstamp);
    free(J->clbits);
    free(J->wh);
    free(J->wok);
    free(J->kept);
    free(J);
}

/* The finished list replaces the last one. */
static void job_install(attractor_index *a, attractor_job *J)
{
    attractor_list_clear(a);
    if (J->nv)   /* qsort(NULL, 0) is undefined */
        qsort(J->v, J->nv, sizeof *J->v, cmp_item);
    a->list = xmalloc((J->nv ? J->nv : 1) * sizeof *a->list);
    a->lphr = xmalloc((J->nv ? J->nv : 1) * sizeof *a->lphr);
    for (size_t i = 0; i < J->nv; i++) {
        a->list[i] = J->v[i].at;
        a->lphr[i] = J->v[i].p;
    }
    a->nlist = J->nv;
    free(J->v);
    attractor_index_members(a);
    a->listed_version = J->version;
}

void attractor_list_abort(attractor_index *a)
{
    if (a->job)
        job_free(a->job, 1);
    a->job = NULL;
}

int attractor_list_busy(const attractor_index *a)
{
    return a->job != NULL;
}

int attractor_list_step(attractor_index *a, size_t budget)
{
    attractor_job *J = a->job;
    if (J && (J->deletes != a->deletes || J->version != a->version)) {
        attractor_list_abort(a);                /* members may be gone: start again later */
        return -1;
    }
    if (!J) {
        attractor_version(a);                   /* applies what is queued */
        if (a->listed_version == a->version)
            return 1;
        size_t cap = (size_t)tree_capacity(a->t) + 1;
        if (cap > a->stampcap) {
            size_t old = a->stampcap;
            xgrow(&a->stamp, &a->stampcap, cap, sizeof *a->stamp);
            memset(a->stamp + old, 0, (a->stampcap - old) * sizeof *a->stamp);
        }
        J = a->job = xcalloc(1, sizeof *J);
        J->version = a->version;
        J->deletes = a->deletes;
        cont_prepare(a);
        J->phase = 1;
    }
    if (!budget)
        budget = 1;
    /* Each phase loops over its items from J->i, a unit of budget per item. */
    while (budget) {
        switch (J->phase) {
        case 1:
            for (; J->i < a->ncand && budget; J->i++, budget--)
                cont_one(a, J, a->cand[J->i]);
            if (J->i < a->ncand)
                return 0;
            J->i = 0;
            switch (phr_prepare(a, J)) {
            case 0: J->phase = 9; break;
            case 1: J->phase = 3; break;
            default: J->phase = 2; break;
            }
            break;
        case 2:
            for (; J->i < a->ncl && budget; J->i++, budget--)
                phr_gather(a, J, (uint32_t)J->i);
            if (J->i < a->ncl)
                return 0;
            J->i = 0;
            J->phase = J->npc ? 3 : 9;
            break;
        /* (2: gather the classes;) 3: qualify each class; then per length 4..8: 4 count windows (longer ones),
         * 5 fill the counter table, 6 pass 1, 7 pass 2, 8 alive; then 10 closed, 12 the
         * null's test of each candidate, 11 members of those kept, 13 emit. */
        case 3:
        case 4:
        case 5:
        case 6:
        case 7:
        case 8:
        case 10:
        case 11:
            for (; J->i < J->npc && budget; J->i++, budget--) {
                pclass *pc = &J->pcs[J->i];
                switch (J->phase) {
                case 3: phr_qualify(a, J, pc); break;
                case 4: phr_windows(a, J, pc); break;
                case 5: phr_sketch(a, J, pc); break;
                case 6: phr_pass1(a, J, pc); break;
                case 7: phr_pass2(a, J, pc); break;
                case 8: phr_alive(a, J, pc); break;
                case 10: phr_closed(a, J, pc); break;
                default: phr_members(a, J, pc); break;
                }
            }
            if (J->i < J->npc)
                return 0;
            J->i = 0;
            if (J->phase == 3 || (J->phase == 8 && J->len < ATTRACTOR_MAX_PHRASE)) {
                if (J->phase == 8)
                    J->len++;
                J->skmask = 0;
                J->nwin = 0;
                J->first = J->ntg;
                J->phase = J->len > ATTRACTOR_MIN_PHRASE && a->m <= 255 ? 4 : 6;
            } else if (J->phase == 4) {
                phr_sketch_open(a, J);
                J->phase = 5;
            } else if (J->phase == 6) {
                uint32_t lst = (uint32_t)J->version;
                for (size_t i = J->first; i < J->ntg; i++)
                    J->tg[i].dropped = J->tg[i].cluster != NONE32 && a->cl[J->tg[i].cluster].listed == lst;
                phr_flat_open(a, J);
                J->phase = 7;
            } else if (J->phase == 7) {
                phr_flat_count(J);
                J->phase = 8;
            } else if (J->phase == 8) {
                J->phase = 10;
            } else if (J->phase == 10) {
                for (size_t i = 0; i < J->ntg; i++)   /* the candidates the null corrects for */
                    J->nphr += (size_t)phr_candidate(a, &J->tg[i]);
                J->phase = 12;
            } else if (J->phase == 11) {
                J->phase = 13;
            } else
                J->phase++;
            break;
        case 12:
            for (; J->i < J->ntg && budget; J->i++, budget--)
                phr_null(a, J, &J->tg[J->i]);
            if (J->i < J->ntg)
                return 0;
            J->i = 0;
            J->phase = J->nkept ? 11 : 9;
            break;
        case 13:
            for (; J->i < J->nkept && budget; J->i++, budget--)
                phr_emit(a, J, &J->kept[J->i]);
            if (J->i < J->nkept)
                return 0;
            J->phase = 9;
            break;
        default:                                /* 9: done */
            job_install(a, J);
            J->nv = 0;
            job_free(J, 0);
            a->job = NULL;
            return 1;
        }
    }
    return 0;
}

size_t attractor_list(attractor_index *a, const attractor **out)
{
    attractor_list_abort(a);
    while (attractor_list_step(a, SIZE_MAX) == 0) {
    }
    *out = a->list;
    return a->nlist;
}
