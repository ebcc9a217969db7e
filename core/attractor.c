/* core/attractor.c — see attractor.h.  This file: tree events, the queue, each node's
 * words and 4-grams, and the index's life; attractor_lsh.c: classes, buckets and
 * components; attractor_list.c: the listing; attractor_ctx.c: contexts;
 * attractor_answers.c: answers from it; attractor_null.c: the chance null of phrases;
 * attractor_impl.h: the state they share.
 *
 * Layout: every indexed node (a live non-root with at least one word) belongs to a class
 * (equal normalized text).  Classes carry a MinHash signature whose LSH band keys (and, for
 * short texts, word-edit keys) file them in buckets; each bucket keeps its leaders' similar
 * pairs and its followers' anchors, and union-find over classes keeps the connected
 * components of those edges.  When an edge goes away and a short search over the stored
 * edges cannot join its ends again, its component is taken apart and joined again from
 * the stored edges (no text is compared again).  Beside that, every
 * node's distinct word 4-grams are counted per gram: occurrences and distinct parents.
 * Longer phrases (5..8 words) and closedness are derived at listing time from the nodes
 * that hold a qualifying 4-gram (every qualifying phrase contains one). */
#include "core/attractor_impl.h"

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
        a->deletes++;                  /* a sliced listing holding these nodes gives up */
        tree_iter it;
        tree_iter_init(&it, t, id, TREE_DFS);
        for (int32_t c; (c = tree_iter_next(&it)) != TREE_NONE; )
            enqueue(a, c);
        tree_iter_done(&it);
    }
}

/* ---- 4-grams ---- */

static uint64_t pair_key(uint32_t g, int32_t parent)
{
    return hash_fmix64(((uint64_t)g << 32) ^ (uint32_t)parent ^ 0x7f4a7c15ull);
}

static void pair_inc(attractor_index *a, uint32_t g, int32_t parent)
{
    int isnew;
    uint32_t *v = hash_map_put(&a->pairs, pair_key(g, parent), &isnew);
    if (isnew) {
        *v = 0;
        a->gr[g].support++;
    }
    (*v)++;
}

static void pair_dec(attractor_index *a, uint32_t g, int32_t parent)
{
    uint64_t k = pair_key(g, parent);
    uint32_t *v = hash_map_get(&a->pairs, k);
    if (v && --*v == 0) {
        hash_map_del(&a->pairs, k);
        a->gr[g].support--;
    }
}

static uint32_t occ_new(attractor_index *a, uint32_t g, int32_t node)
{
    uint32_t o = pool_take(&a->oc, &a->noc, &a->occap, sizeof *a->oc, &a->ocfree);
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
    uint32_t *gi = hash_map_put(&a->grmap, h, &isnew);
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
        uint32_t g = pool_take(&a->gr, &a->ngr, &a->grcap, sizeof *a->gr, &a->grfree);
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
        hash_map_del(&a->grmap, gp->key);
        pool_give(&a->grfree, g);
    } else {
        pair_dec(a, g, a->ns[r->node].parent);
        if (gp->nocc == 1) {                   /* back to a lone gram: drop its pair entry */
            pair_dec(a, g, a->ns[a->oc[gp->head].node].parent);
            gp->support = 1;
        }
    }
    pool_give(&a->ocfree, o);
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
    a->cl[attractor_uf_find(a, s->c)].nnodes--;
    if (!k->n)
        attractor_cls_remove(a, s->c);
    const uint64_t *gh = NULL;
    for (uint32_t i = 0; i < s->nocc; i++) {
        if (s->occ[i] != OCC_LONE) {
            gram_remove_occ(a, s->occ[i]);
            continue;
        }
        if (!gh)
            gh = node_grams(a, s->w, s->nw, NULL);   /* slot i is the i-th distinct gram */
        uint32_t v = *hash_map_get(&a->grmap, gh[i]);
        if (v & GRAM_LONE) {
            hash_map_del(&a->grmap, gh[i]);
            continue;
        }
        uint32_t o = a->gr[v].head;              /* it has a record since: find our occurrence */
        while (a->oc[o].node != id)
            o = a->oc[o].next;
        gram_remove_occ(a, o);
    }
    attractor_null_count(a, s->w, s->nw, -1);
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
    uint32_t *ci = hash_map_get(&a->clmap, h);
    uint32_t c = ci ? *ci : attractor_cls_new(a, h);
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
    uint32_t r = attractor_uf_find(a, c);
    a->cl[r].nnodes++;
    attractor_cand_check(a, r);
    attractor_null_count(a, w, nw, 1);
    if (ng) {
        size_t nd;
        const uint64_t *g = node_grams(a, w, nw, &nd);
        for (size_t i = 0; i < nd; i++)
            hash_map_prefetch(&a->grmap, g[i]);
#if defined(__GNUC__)
        for (size_t i = 0; i < nd; i++) {          /* then the gram records */
            const uint32_t *v = hash_map_get(&a->grmap, g[i]);
            if (v && !(*v & GRAM_LONE))
                mem_prefetch(&a->gr[*v]);
        }
#endif
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
            attractor_lsh_insert(a, a->fresh[i]);
    a->nfresh = 0;
    attractor_check_cuts(a);
    a->relink_stamp++;
    for (size_t i = 0; i < a->nrebuild; i++)
        a->cl[a->rebuild[i]].in_rebuild = 0;
    for (size_t i = 0; i < a->nrebuild; i++) {
        uint32_t c = a->rebuild[i];
        if (a->cl[c].live && a->cl[c].in_lsh)
            attractor_relink(a, c);
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
    a->ins_cls = NONE32;
    a->mh_seed = 0x2545f4914f6cdd1dull;
    a->alpha = ATTRACTOR_PHRASE_ALPHA;
    int32_t cap = tree_capacity(t);
    size_t live = tree_count(t);
    hash_map_reserve(&a->clmap, live);
    hash_map_reserve(&a->bkmap, live * MH_BANDS);
    hash_map_reserve(&a->grmap, live * 8);
    hash_map_reserve(&a->ngc, live * 12);      /* the null's counts: a few per word */
    xgrow(&a->cl, &a->clcap, live + 1, sizeof *a->cl);      /* sized once, not regrown */
    xgrow(&a->sig, &a->sigcap, live + 1, sizeof *a->sig);
    xgrow(&a->queue, &a->qcap, live + 1, sizeof *a->queue);
    if (cap > 0)
        ns_ensure(a, cap - 1);
    for (int32_t id = 0; id < cap; id++)
        if (tree_get(t, id))
            enqueue(a, id);
    tree_observe(t, on_event, a);
    return a;
}

void attractor_index_free(attractor_index *a)
{
    if (!a)
        return;
    tree_unobserve(a->t, on_event, a);
    attractor_list_abort(a);
    attractor_list_clear(a);
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
    free(a->bxfree.ids);
    free(a->bkfree.ids);
    free(a->ns);
    free(a->queue);
    free(a->cl);
    free(a->sig);
    free(a->sketch);
    free(a->clfree.ids);
    free(a->bk);
    free(a->cand);
    free(a->rebuild);
    free(a->cuts);
    free(a->search);
    free(a->fresh);
    free(a->gr);
    free(a->grfree.ids);
    free(a->oc);
    free(a->ocfree.ids);
    free(a->q4);
    free(a->chain_attr);
    free(a->chain_next);
    free(a->stamp);
    free(a->gscratch);
    hash_map_free(&a->clmap);
    hash_map_free(&a->bkmap);
    hash_map_free(&a->grmap);
    hash_map_free(&a->pairs);
    hash_map_free(&a->tmap);
    hash_map_free(&a->ngc);
    free(a);
}

void attractor_set_alpha(attractor_index *a, double alpha)
{
    if (alpha == a->alpha)
        return;
    a->alpha = alpha;
    attractor_list_abort(a);
    a->version++;                  /* the list may change: attractor_list makes it again */
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
