/* core/llama_backend.c — the builtin backend over the embedded Llama runtime.  See
 * llama_backend.h for the contract and backend.h for the event protocol.
 *
 * Two sides share a mutex: the owner's thread (start, cancel, pump, wait) and the worker.
 * A request is reference-counted: the owner holds it until its REQUEST_END is delivered,
 * the worker until it has run (or skipped) it.  The worker builds each step's events
 * privately and queues them in one go, only while the request is not cancelled; so once
 * the owner has set `cancelled` (under the mutex) no event of it can arrive, and pump ends
 * its open branches itself, at once. */
#include "core/llama_backend.h"
#include "core/mem.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ALTS      100              /* alternatives per token at most (settings allow 100) */
#define BRANCH_BUDGET (64u << 20)      /* KV cache bytes for the branches of one group */

/* ---- models, loaded once per process ---- */

typedef struct shared_model {
    char        *path;
    llama_model *m;
    size_t       kv_token;       /* KV cache bytes per token of a branch */
    int          refs;
    struct shared_model *next;
} shared_model;

static pthread_mutex_t models_mu = PTHREAD_MUTEX_INITIALIZER;
static shared_model *models;

/* Layers x KV width x (K and V) x float, from the metadata llama_load has checked. */
static size_t kv_bytes(const char *path)
{
    char err[256];
    gguf *g = gguf_open(path, err, sizeof err);
    uint64_t nl = 0, dim = 0, nh = 1, nkv = 0;
    if (g) {
        gguf_get_uint(g, "llama.block_count", &nl);
        gguf_get_uint(g, "llama.embedding_length", &dim);
        gguf_get_uint(g, "llama.attention.head_count", &nh);
        if (gguf_get_uint(g, "llama.attention.head_count_kv", &nkv))
            nkv = nh;
        gguf_close(g);
    }
    return nh ? (size_t)(nl * (dim / nh) * nkv * 2 * sizeof(float)) : 0;
}

static shared_model *model_get(const char *path, char *err, size_t errlen)
{
    char *real = realpath(path, NULL);
    const char *key = real ? real : path;
    pthread_mutex_lock(&models_mu);
    shared_model *sm = models;
    while (sm && strcmp(sm->path, key))
        sm = sm->next;
    if (sm)
        sm->refs++;
    else {
        /* Checked before opening: opening a FIFO would wait for a writer. */
        struct stat st;
        llama_model *m = NULL;
        if (stat(path, &st) < 0)
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        else if (!S_ISREG(st.st_mode))
            snprintf(err, errlen, "%s: not a regular file", path);
        else
            m = llama_load(path, err, errlen);
        if (m) {
            sm = xcalloc(1, sizeof *sm);
            sm->kv_token = kv_bytes(path);
            sm->path = xstrdup(key);
            sm->m = m;
            sm->refs = 1;
            sm->next = models;
            models = sm;
        }
    }
    pthread_mutex_unlock(&models_mu);
    free(real);
    return sm;
}

static void model_put(shared_model *sm)
{
    pthread_mutex_lock(&models_mu);
    if (--sm->refs == 0) {
        shared_model **p = &models;
        while (*p != sm)
            p = &(*p)->next;
        *p = sm->next;
        llama_free(sm->m);
        free(sm->path);
        free(sm);
    }
    pthread_mutex_unlock(&models_mu);
}

/* ---- requests and queued events ---- */

typedef struct lreq {
    int      id, k, refs;
    char    *context;
    size_t   len;
    double   temperature, top_p;
    int      top_k, max_tokens, logprobs;
    char    *stop[SETTINGS_MAX_STOP];
    int      nstop;
    uint64_t seed;
    int      cancelled;          /* set by the owner, under the mutex */
    unsigned char *ended;        /* owner: branch's end is queued for delivery */
    int      end_queued;         /* owner: REQUEST_END is queued */
    struct lreq *next;           /* the worker's queue */
} lreq;

typedef struct {
    backend_event ev;
    tree_alt *tops;              /* owned */
    char     *msg;               /* owned */
    lreq     *r;
} qev;

typedef struct {
    qev   *v;
    size_t n, cap;
} qevs;

typedef struct {
    int32_t id;
    double  logprob, entropy;    /* entropy in bits */
    tree_alt *tops;
    size_t  ntop;
    size_t  off, len;            /* into the branch's pending text */
} pend_token;

typedef struct {
    backend_rng rng;
    int32_t last;                /* the last token sampled */
    int    ntok, done;
    buf    pend;                 /* text held back: it may still become a stop string */
    pend_token *toks;
    size_t ntoks, cap_toks;
} wbranch;

typedef struct {
    backend          base;
    shared_model    *sm;
    const llama_model *m;
    const bpe       *tok;
    char            *label;
    int              nv, nctx;

    pthread_t        th;
    int              have_thread;
    pthread_mutex_t  mu;
    pthread_cond_t   cv;
    int              pipefd[2];
    int              signalled, quit;   /* under mu */
    lreq            *head, *tail;       /* the worker's queue, under mu */
    qevs             q;                 /* worker -> owner, under mu */
    llama_backend_stats st;             /* under mu */

    /* owner */
    qevs             out;
    size_t           rd;
    lreq           **live;
    size_t           nlive, cap_live;
    int              next_id, depth;

    /* worker */
    llama_ctx       *c;
    float           *logits;
    double          *lp, *w;
    int32_t         *order;
} lbackend;

static void req_unref(lbackend *lb, lreq *r)
{
    pthread_mutex_lock(&lb->mu);
    int left = --r->refs;
    pthread_mutex_unlock(&lb->mu);
    if (left)
        return;
    for (int i = 0; i < r->nstop; i++)
        free(r->stop[i]);
    free(r->context);
    free(r->ended);
    free(r);
}

static qev *qevs_add(qevs *q)
{
    xgrow(&q->v, &q->cap, q->n + 1, sizeof *q->v);
    qev *e = &q->v[q->n++];
    memset(e, 0, sizeof *e);
    return e;
}

static void qev_free(qev *e)
{
    free(e->tops);
    free(e->msg);
}

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

/* The `want` most probable ids of lp, most probable first (ties: lower id). */
static size_t top_ids(const double *lp, int nv, int32_t *ids, size_t want)
{
    size_t n = 0;
    for (int32_t i = 0; i < nv; i++) {
        if (n == want && lp[i] <= lp[ids[n - 1]])
            continue;
        size_t j = n < want ? n++ : n - 1;
        while (j > 0 && lp[ids[j - 1]] < lp[i]) {
            ids[j] = ids[j - 1];
            j--;
        }
        ids[j] = i;
    }
    return n;
}

/* ---- the worker: events ---- */

static void add_token_event(lbackend *lb, qevs *out, lreq *r, int bi, pend_token *pt, size_t len)
{
    size_t l;
    const char *text = bpe_piece(lb->tok, pt->id, &l);
    qev *e = qevs_add(out);
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
    qev *e = qevs_add(out);
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
            qev_free(&out->v[i]);
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
        int32_t top[MAX_ALTS];
        size_t want = r->logprobs > MAX_ALTS ? MAX_ALTS : (size_t)r->logprobs;
        pt->ntop = top_ids(lb->lp, lb->nv, top, want);
        pt->tops = xmalloc(pt->ntop * sizeof *pt->tops);
        for (size_t i = 0; i < pt->ntop; i++) {
            size_t l;
            const char *s = bpe_piece(lb->tok, top[i], &l);
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
        qev *e = qevs_add(&out);
        e->r = r;
        e->msg = xstrdup(msg);
        e->ev = (backend_event){ .kind = BACKEND_EV_STATUS, .request = r->id, .branch = -1,
                                 .message = e->msg, .logprob = NAN, .model = lb->label };
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
        qev *e = qevs_add(&out);
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

static void *worker(void *arg)
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
        req_unref(lb, r);
        pthread_mutex_lock(&lb->mu);
    }
    /* Closing: the requests never run are dropped. */
    lreq *r = lb->head;
    lb->head = lb->tail = NULL;
    pthread_mutex_unlock(&lb->mu);
    while (r) {
        lreq *nx = r->next;
        req_unref(lb, r);
        r = nx;
    }
    return NULL;
}

/* ---- backend operations (the owner's thread) ---- */

static int lb_start(backend *b, const char *context, size_t len, const gen_settings *s, int k,
                    char *err, size_t errlen)
{
    lbackend *lb = (lbackend *)b;
    if (k < 1 || k > 4096) {
        snprintf(err, errlen, "branches: %d is out of range", k);
        return -1;
    }
    lreq *r = xcalloc(1, sizeof *r);
    r->id = ++lb->next_id;
    r->k = k;
    r->refs = 2;
    r->context = xmalloc(len + 1);
    memcpy(r->context, context, len);
    r->context[len] = 0;
    r->len = len;
    r->temperature = s->temperature;
    r->top_p = s->top_p < 1.0 ? s->top_p : 1.0;
    r->top_k = s->top_k;
    r->max_tokens = s->max_tokens > 0 ? s->max_tokens : 1;
    r->logprobs = s->logprobs;
    for (int i = 0; i < s->nstop && i < SETTINGS_MAX_STOP; i++)
        if (s->stop[i] && *s->stop[i])
            r->stop[r->nstop++] = xstrdup(s->stop[i]);
    r->seed = backend_request_seed(s, context, len);
    r->ended = xcalloc((size_t)k, 1);
    xgrow(&lb->live, &lb->cap_live, lb->nlive + 1, sizeof *lb->live);
    lb->live[lb->nlive++] = r;
    pthread_mutex_lock(&lb->mu);
    if (lb->tail)
        lb->tail->next = r;
    else
        lb->head = r;
    lb->tail = r;
    pthread_cond_signal(&lb->cv);
    pthread_mutex_unlock(&lb->mu);
    return r->id;
}

static void lb_cancel(backend *b, int request)
{
    lbackend *lb = (lbackend *)b;
    pthread_mutex_lock(&lb->mu);
    for (size_t i = 0; i < lb->nlive; i++)
        if (request == 0 || lb->live[i]->id == request)
            lb->live[i]->cancelled = 1;
    pthread_mutex_unlock(&lb->mu);
}

/* Notes what a queued event ends (the owner's view of its requests). */
static void note_queued(const qev *e)
{
    if (e->ev.kind == BACKEND_EV_REQUEST_END)
        e->r->end_queued = 1;
    else if ((e->ev.kind == BACKEND_EV_DONE || e->ev.kind == BACKEND_EV_ERROR) &&
             e->ev.branch >= 0 && e->ev.branch < e->r->k)
        e->r->ended[e->ev.branch] = 1;
}

/* Moves the worker's events to the delivery queue, and ends cancelled requests. */
static void collect(lbackend *lb)
{
    pthread_mutex_lock(&lb->mu);
    if (lb->signalled) {
        char tmp[64];
        while (read(lb->pipefd[0], tmp, sizeof tmp) > 0)
            ;
        lb->signalled = 0;
    }
    size_t from = lb->out.n;
    if (lb->q.n) {
        xgrow(&lb->out.v, &lb->out.cap, lb->out.n + lb->q.n, sizeof *lb->out.v);
        memcpy(lb->out.v + lb->out.n, lb->q.v, lb->q.n * sizeof *lb->q.v);
        lb->out.n += lb->q.n;
        lb->q.n = 0;
    }
    pthread_mutex_unlock(&lb->mu);
    for (size_t i = from; i < lb->out.n; i++)
        note_queued(&lb->out.v[i]);
    /* `cancelled` is written only by this thread, so it can be read here unlocked; the
     * worker queues nothing for a request once it is set. */
    for (size_t i = 0; i < lb->nlive; i++) {
        lreq *r = lb->live[i];
        if (!r->cancelled || r->end_queued)
            continue;
        for (int bi = 0; bi < r->k; bi++)
            if (!r->ended[bi]) {
                qev *e = qevs_add(&lb->out);
                e->r = r;
                e->ev = (backend_event){ .kind = BACKEND_EV_ERROR, .request = r->id, .branch = bi,
                                         .finish = "cancelled", .message = "generation cancelled",
                                         .logprob = NAN, .model = lb->label };
                r->ended[bi] = 1;
            }
        qev *e = qevs_add(&lb->out);
        e->r = r;
        e->ev = (backend_event){ .kind = BACKEND_EV_REQUEST_END, .request = r->id, .branch = -1,
                                 .logprob = NAN, .model = lb->label };
        r->end_queued = 1;
    }
}

static void drop_live(lbackend *lb, lreq *r)
{
    for (size_t i = 0; i < lb->nlive; i++)
        if (lb->live[i] == r) {
            memmove(lb->live + i, lb->live + i + 1, (lb->nlive - i - 1) * sizeof *lb->live);
            lb->nlive--;
            break;
        }
    req_unref(lb, r);
}

static int lb_pump(backend *b)
{
    lbackend *lb = (lbackend *)b;
    lb->depth++;
    collect(lb);
    /* Callbacks may start, cancel or pump (nested pumps go on from the same place), so the
     * event is copied out of the queue before it is delivered. */
    while (lb->rd < lb->out.n) {
        qev e = lb->out.v[lb->rd++];
        backend_emit(&lb->base, &e.ev);
        if (e.ev.kind == BACKEND_EV_REQUEST_END)
            drop_live(lb, e.r);
        qev_free(&e);
    }
    if (--lb->depth == 0)
        lb->out.n = lb->rd = 0;
    return (int)lb->nlive;
}

static int lb_wait(backend *b, const int *fds, int nfds, int timeout_ms, int *fd_ready)
{
    lbackend *lb = (lbackend *)b;
    int now = lb->rd < lb->out.n;
    for (size_t i = 0; !now && i < lb->nlive; i++)
        now = lb->live[i]->cancelled && !lb->live[i]->end_queued;
    struct pollfd p[17];
    if (nfds > 16)
        nfds = 16;
    for (int i = 0; i < nfds; i++)
        p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
    p[nfds] = (struct pollfd){ .fd = lb->pipefd[0], .events = POLLIN };
    if (fd_ready)
        *fd_ready = -1;
    int r = poll(p, (nfds_t)nfds + 1, now ? 0 : timeout_ms);
    for (int i = 0; r > 0 && i < nfds; i++)
        if (p[i].revents) {
            if (fd_ready)
                *fd_ready = i;
            break;
        }
    return now || r > 0;
}

static void lb_free(backend *b)
{
    lbackend *lb = (lbackend *)b;
    if (lb->have_thread) {
        pthread_mutex_lock(&lb->mu);
        lb->quit = 1;
        pthread_cond_broadcast(&lb->cv);
        pthread_mutex_unlock(&lb->mu);
        pthread_join(lb->th, NULL);
    }
    for (size_t i = 0; i < lb->q.n; i++)
        qev_free(&lb->q.v[i]);
    for (size_t i = lb->rd; i < lb->out.n; i++)
        qev_free(&lb->out.v[i]);
    free(lb->q.v);
    free(lb->out.v);
    while (lb->nlive)
        drop_live(lb, lb->live[lb->nlive - 1]);
    free(lb->live);
    llama_ctx_free(lb->c);
    free(lb->logits);
    free(lb->lp);
    free(lb->w);
    free(lb->order);
    for (int i = 0; i < 2; i++)
        if (lb->pipefd[i] >= 0)
            close(lb->pipefd[i]);
    pthread_mutex_destroy(&lb->mu);
    pthread_cond_destroy(&lb->cv);
    if (lb->sm)
        model_put(lb->sm);
    free(lb->label);
    free(lb);
}

static const backend_ops llama_ops = { lb_start, lb_cancel, lb_pump, lb_wait, lb_free };

backend *llama_backend_new(const char *path, const char *label, char *err, size_t errlen)
{
    shared_model *sm = model_get(path, err, errlen);
    if (!sm)
        return NULL;
    lbackend *lb = xcalloc(1, sizeof *lb);
    lb->base.ops = &llama_ops;
    lb->base.name = "builtin";
    lb->base.exact = 1;
    lb->sm = sm;
    lb->m = sm->m;
    lb->tok = llama_tokenizer(sm->m);
    lb->label = xstrdup(label ? label : path);
    lb->nv = llama_n_vocab(sm->m);
    lb->nctx = llama_n_ctx(sm->m);
    lb->lp = xmalloc((size_t)lb->nv * sizeof *lb->lp);
    lb->w = xmalloc((size_t)lb->nv * sizeof *lb->w);
    lb->order = xmalloc((size_t)lb->nv * sizeof *lb->order);
    lb->pipefd[0] = lb->pipefd[1] = -1;
    pthread_mutex_init(&lb->mu, NULL);
    pthread_cond_init(&lb->cv, NULL);
    if (pipe(lb->pipefd) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        lb->pipefd[0] = lb->pipefd[1] = -1;
        lb_free(&lb->base);
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(lb->pipefd[i], F_SETFL, fcntl(lb->pipefd[i], F_GETFL) | O_NONBLOCK);
        fcntl(lb->pipefd[i], F_SETFD, FD_CLOEXEC);
    }
    if (pthread_create(&lb->th, NULL, worker, lb)) {
        snprintf(err, errlen, "cannot start the model's thread");
        lb_free(&lb->base);
        return NULL;
    }
    lb->have_thread = 1;
    return &lb->base;
}

void llama_backend_get_stats(backend *b, llama_backend_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!b || b->ops != &llama_ops)
        return;
    lbackend *lb = (lbackend *)b;
    pthread_mutex_lock(&lb->mu);
    *st = lb->st;
    pthread_mutex_unlock(&lb->mu);
}

const llama_model *llama_backend_model(const backend *b)
{
    return b && b->ops == &llama_ops ? ((const lbackend *)b)->m : NULL;
}
