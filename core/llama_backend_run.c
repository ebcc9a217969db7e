/* core/llama_backend_run.c — the builtin backend's worker thread: it runs the requests in
 * order (tokenize, cut, prefill once, decode the branches as one batch per step), samples,
 * holds back text that may become a stop string, and queues each step's events for the
 * owner (see llama_backend.c for the locking). */
#include "core/llama_backend_impl.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BRANCH_BUDGET (64u << 20)      /* KV cache bytes for the branches of one group */

/* ---- the worker: sampling ---- */

/* The most probable id (the lowest of equals). */
static int32_t argmax(const double *lp, int n)
{
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (lp[i] > lp[best])
            best = i;
    return best;
}

static _Thread_local const double *sort_w;   /* qsort has no user pointer */
static int by_weight(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (sort_w[x] != sort_w[y])
        return sort_w[x] > sort_w[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int32_t sample(lbackend *lb, const lreq *r, wbranch *br, const double *lp)
{
    int nv = lb->nv;
    int32_t best = argmax(lp, nv);
    if (r->temperature <= 0 || r->top_p <= 0 || r->top_k == 1)
        return best;
    double *w = lb->w, inv = 1.0 / r->temperature, total = 0;
    for (int i = 0; i < nv; i++)
        total += w[i] = exp((lp[i] - lp[best]) * inv);
    int n = nv;
    int32_t *ids = NULL;
    if ((r->top_k > 0 && r->top_k < nv) || r->top_p < 1.0) {
        ids = lb->order;
        for (int i = 0; i < nv; i++)
            ids[i] = i;
        sort_w = w;              /* only the worker sorts */
        qsort(ids, (size_t)nv, sizeof *ids, by_weight);
        if (r->top_k > 0 && r->top_k < n)
            n = r->top_k;
        total = 0;
        for (int i = 0; i < n; i++)
            total += w[ids[i]];
        if (r->top_p < 1.0) {
            double keep = r->top_p * total, cum = 0;
            int cut = 0;
            while (cut < n && cum < keep)
                cum += w[ids[cut++]];
            n = cut ? cut : 1;
            total = cum > 0 ? cum : w[ids[0]];
        }
    }
    double x = backend_rng_unit(&br->rng) * total;
    for (int i = 0; i < n; i++) {
        int32_t id = ids ? ids[i] : i;
        x -= w[id];
        if (x < 0)
            return id;
    }
    return ids ? ids[n - 1] : nv - 1;   /* rounding left x a hair above 0 */
}

/* ---- the worker: events ---- */

static void add_token_event(lbackend *lb, qevs *out, lreq *r, int bi, pend_token *pt, size_t len)
{
    size_t l;
    const char *text = bpe_piece(lb->tok, pt->id, &l);
    qev *e = llama_backend_qev_add(out);
    e->r = r;
    e->tops = pt->tops;          /* ownership moves to the event */
    pt->tops = NULL;
    e->ev = (backend_event){
        .kind = BACKEND_EV_TOKEN, .request = r->id, .branch = bi, .text = text,
        .len = len < l ? len : l, .logprob = pt->logprob, .top = e->tops, .ntop = pt->ntop,
        .exact = 1, .entropy = pt->entropy, .model = lb->label,
    };
}

/* Queues the held-back tokens that end at or before byte `upto` of the pending text (one
 * that straddles it is cut there when cut is set, else kept back) and drops them. */
static void flush_pending(lbackend *lb, qevs *out, lreq *r, int bi, wbranch *br, size_t upto, int cut)
{
    size_t done = 0;
    while (done < br->ntoks) {
        pend_token *t = &br->toks[done];
        if (t->off + t->len <= upto)
            add_token_event(lb, out, r, bi, t, t->len);
        else if (cut && t->off < upto)
            add_token_event(lb, out, r, bi, t, upto - t->off);
        else
            break;
        done++;
    }
    if (done == br->ntoks || cut) {
        for (size_t i = done; i < br->ntoks; i++)
            free(br->toks[i].tops);
        br->ntoks = 0;
        buf_clear(&br->pend);
        return;
    }
    size_t shift = br->toks[done].off;
    memmove(br->toks, br->toks + done, (br->ntoks - done) * sizeof *br->toks);
    br->ntoks -= done;
    for (size_t i = 0; i < br->ntoks; i++)
        br->toks[i].off -= shift;
    memmove(br->pend.data, br->pend.data + shift, br->pend.len - shift);
    br->pend.len -= shift;
}

static void add_end_event(lbackend *lb, qevs *out, lreq *r, int bi, backend_event_kind kind,
                          const char *finish, const char *message)
{
    qev *e = llama_backend_qev_add(out);
    e->r = r;
    e->msg = message ? xstrdup(message) : NULL;
    e->ev = (backend_event){ .kind = kind, .request = r->id, .branch = bi, .finish = finish,
                             .message = e->msg, .logprob = NAN, .model = lb->label };
}

/* Hands a step's events to the owner; 0 (and they are dropped) when the request was
 * cancelled or the backend is closing. */
static int publish(lbackend *lb, qevs *out, lreq *r, const llama_backend_stats *add)
{
    pthread_mutex_lock(&lb->mu);
    int ok = !r->cancelled && !lb->quit;
    if (ok && out->n) {
        xgrow(&lb->q.v, &lb->q.cap, lb->q.n + out->n, sizeof *lb->q.v);
        memcpy(lb->q.v + lb->q.n, out->v, out->n * sizeof *out->v);
        lb->q.n += out->n;
        if (!lb->signalled) {
            lb->signalled = 1;
            char c = 1;
            ssize_t w = write(lb->pipefd[1], &c, 1);
            (void)w;             /* a full pipe is already a wake-up */
        }
    }
    if (add) {
        lb->st.requests += add->requests;
        lb->st.prefills += add->prefills;
        lb->st.batches += add->batches;
        lb->st.tokens += add->tokens;
        lb->st.cut += add->cut;
    }
    pthread_mutex_unlock(&lb->mu);
    if (!ok)
        for (size_t i = 0; i < out->n; i++)
            llama_backend_qev_free(&out->v[i]);
    out->n = 0;
    return ok;
}

/* ---- the worker: running a request ---- */

/* Samples the next token of branch bi from logits and queues what is certain; returns 1
 * when the branch goes on. */
static int step(lbackend *lb, qevs *out, lreq *r, int bi, wbranch *br, const float *logits,
                int max_tokens)
{
    double h = llama_log_softmax(logits, lb->nv, lb->lp) / M_LN2;
    int32_t id = sample(lb, r, br, lb->lp);
    br->ntok++;
    br->last = id;
    if (id == bpe_eos(lb->tok)) {
        flush_pending(lb, out, r, bi, br, br->pend.len, 0);
        add_end_event(lb, out, r, bi, BACKEND_EV_DONE, "stop", NULL);
        br->done = 1;
        return 0;
    }
    size_t len;
    const char *text = bpe_piece(lb->tok, id, &len);
    xgrow(&br->toks, &br->cap_toks, br->ntoks + 1, sizeof *br->toks);
    pend_token *pt = &br->toks[br->ntoks++];
    memset(pt, 0, sizeof *pt);
    pt->id = id;
    pt->logprob = lb->lp[id];
    pt->entropy = h;
    pt->off = br->pend.len;
    pt->len = len;
    if (r->logprobs > 0) {
        size_t want = r->logprobs > lb->nv ? (size_t)lb->nv : (size_t)r->logprobs;   /* all: the vocabulary */
        uint32_t *top = lb->top;
        pt->ntop = backend_top_ids(lb->lp, 0, (size_t)lb->nv, top, want);
        pt->tops = xmalloc(pt->ntop * sizeof *pt->tops);
        for (size_t i = 0; i < pt->ntop; i++) {
            size_t l;
            const char *s = bpe_piece(lb->tok, (int32_t)top[i], &l);
            pt->tops[i] = (tree_alt){ s, l, lb->lp[top[i]] };
        }
    }
    buf_add(&br->pend, text, len);
    size_t at = backend_stop_match(r->stop, r->nstop, br->pend.data, br->pend.len);
    if (at != (size_t)-1) {
        flush_pending(lb, out, r, bi, br, at, 1);
        add_end_event(lb, out, r, bi, BACKEND_EV_DONE, "stop", NULL);
        br->done = 1;
        return 0;
    }
    if (br->ntok >= max_tokens) {
        flush_pending(lb, out, r, bi, br, br->pend.len, 0);
        add_end_event(lb, out, r, bi, BACKEND_EV_DONE, "length", NULL);
        br->done = 1;
        return 0;
    }
    flush_pending(lb, out, r, bi, br, backend_stop_holdback(r->stop, r->nstop, br->pend.data, br->pend.len), 0);
    return 1;
}

/* A context for `branches` branches of `gen` tokens: the one there is when it fits. */
static int ensure_ctx(lbackend *lb, int branches, int gen)
{
    if (lb->c && llama_ctx_gen(lb->c) == gen && llama_ctx_branches(lb->c) >= branches)
        return 0;
    llama_ctx_free(lb->c);
    free(lb->logits);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = ncpu < 1 ? 1 : ncpu > 4 ? 4 : (int)ncpu;
    lb->c = llama_ctx_new(lb->m, branches, gen, threads);
    lb->logits = xmalloc((size_t)branches * (size_t)lb->nv * sizeof *lb->logits);
    return 0;
}

static void run_request(lbackend *lb, lreq *r)
{
    qevs out = {0};
    llama_backend_stats add = { .requests = 1 };
    int32_t *ids = NULL;
    size_t n = bpe_encode(lb->tok, r->context, r->len, bpe_adds_bos(lb->tok), &ids);
    if (n == 0) {                /* no BOS asked for and no text: start from BOS anyway */
        ids = xrealloc(ids, sizeof *ids);
        ids[0] = bpe_bos(lb->tok);
        n = 1;
    }
    int room = lb->nctx - lb->nctx / 4;  /* the longest branch */
    int gen = r->max_tokens < room ? r->max_tokens : room;
    if (gen < 1)
        gen = 1;
    size_t limit = (size_t)(lb->nctx - gen);
    if (n > limit) {
        /* Cut from the left, keeping BOS: the model was trained on windows that start so. */
        int bos = bpe_adds_bos(lb->tok) && ids[0] == bpe_bos(lb->tok);
        size_t from = n - (limit - (size_t)bos);
        memmove(ids + bos, ids + from, (limit - (size_t)bos) * sizeof *ids);
        char msg[200];
        snprintf(msg, sizeof msg, "context cut: the last %zu of %zu tokens", limit - (size_t)bos,
                 n - (size_t)bos);
        qev *e = llama_backend_qev_add(&out);
        e->r = r;
        e->msg = xstrdup(msg);
        e->ev = (backend_event){ .kind = BACKEND_EV_STATUS, .request = r->id, .branch = -1,
                                 .message = e->msg, .logprob = NAN, .model = lb->label,
                                 .keep = 1 };
        n = limit;
        add.cut = 1;
    }
    size_t per = lb->sm->kv_token * (size_t)gen;
    int group = per ? (int)(BRANCH_BUDGET / per) : r->k;
    if (group < 1)
        group = 1;
    if (group > r->k)
        group = r->k;
    ensure_ctx(lb, group, gen);
    wbranch *br = xcalloc((size_t)r->k, sizeof *br);
    for (int i = 0; i < r->k; i++)
        backend_rng_seed(&br[i].rng, r->seed, i);
    int32_t *next = xmalloc((size_t)group * sizeof *next);
    int *slot = xmalloc((size_t)group * sizeof *slot), *who = xmalloc((size_t)group * sizeof *who);
    int alive = 1;
    for (int g0 = 0; alive && g0 < r->k; g0 += group) {
        int g1 = g0 + group < r->k ? g0 + group : r->k;
        if (llama_prefill(lb->c, ids, (int)n, lb->logits) < 0) {
            for (int i = g0; i < r->k; i++)
                add_end_event(lb, &out, r, i, BACKEND_EV_ERROR, "error", "the prompt could not be computed");
            break;
        }
        add.prefills++;
        /* The first token of every branch comes from the prompt's logits. */
        int nact = 0;
        for (int i = g0; i < g1; i++)
            if (step(lb, &out, r, i, &br[i], lb->logits, gen))
                who[nact++] = i;
        add.tokens += g1 - g0;
        while (alive && nact) {
            /* The owner sees this step's text now; a cancel stops before the next one. */
            if (!(alive = publish(lb, &out, r, &add)))
                break;
            memset(&add, 0, sizeof add);
            for (int j = 0; j < nact; j++) {
                next[j] = br[who[j]].last;
                slot[j] = who[j] - g0;
            }
            llama_decode(lb->c, next, slot, nact, lb->logits);
            add.batches++;
            int still = 0;
            for (int j = 0; j < nact; j++) {
                add.tokens++;
                if (step(lb, &out, r, who[j], &br[who[j]], lb->logits + (size_t)j * lb->nv, gen))
                    who[still++] = who[j];
            }
            nact = still;
        }
    }
    if (alive) {
        qev *e = llama_backend_qev_add(&out);
        e->r = r;
        e->ev = (backend_event){ .kind = BACKEND_EV_REQUEST_END, .request = r->id, .branch = -1,
                                 .logprob = NAN, .model = lb->label };
        publish(lb, &out, r, &add);
    } else
        publish(lb, &out, r, NULL);
    for (int i = 0; i < r->k; i++) {
        for (size_t t = 0; t < br[i].ntoks; t++)
            free(br[i].toks[t].tops);
        free(br[i].toks);
        buf_free(&br[i].pend);
    }
    free(br);
    free(next);
    free(slot);
    free(who);
    free(ids);
    free(out.v);
}

void *llama_backend_worker(void *arg)
{
    lbackend *lb = arg;
    pthread_mutex_lock(&lb->mu);
    while (!lb->quit) {
        lreq *r = lb->head;
        if (!r) {
            pthread_cond_wait(&lb->cv, &lb->mu);
            continue;
        }
        lb->head = r->next;
        if (!lb->head)
            lb->tail = NULL;
        int skip = r->cancelled;
        pthread_mutex_unlock(&lb->mu);
        if (!skip)
            run_request(lb, r);
        llama_backend_req_unref(lb, r);
        pthread_mutex_lock(&lb->mu);
    }
    /* Closing: the requests never run are dropped. */
    lreq *r = lb->head;
    lb->head = lb->tail = NULL;
    pthread_mutex_unlock(&lb->mu);
    while (r) {
        lreq *nx = r->next;
        llama_backend_req_unref(lb, r);
        r = nx;
    }
    return NULL;
}

