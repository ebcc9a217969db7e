/* core/llama_backend.c — the builtin backend over the embedded Llama runtime.  See
 * llama_backend.h for the contract and backend.h for the event protocol.
 *
 * Two sides share a mutex: the owner's thread (start, cancel, pump, wait) and the worker.
 * A request is reference-counted: the owner holds it until its REQUEST_END is delivered,
 * the worker until it has run (or skipped) it.  The worker builds each step's events
 * privately and queues them in one go, only while the request is not cancelled; so once
 * the owner has set `cancelled` (under the mutex) no event of it can arrive, and pump ends
 * its open branches itself, at once. */
#include "core/llama_backend_impl.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- models, loaded once per process ---- */

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

void llama_backend_req_unref(lbackend *lb, lreq *r)
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

qev *llama_backend_qev_add(qevs *q)
{
    xgrow(&q->v, &q->cap, q->n + 1, sizeof *q->v);
    qev *e = &q->v[q->n++];
    memset(e, 0, sizeof *e);
    return e;
}

void llama_backend_qev_free(qev *e)
{
    free(e->tops);
    free(e->msg);
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
                qev *e = llama_backend_qev_add(&lb->out);
                e->r = r;
                e->ev = (backend_event){ .kind = BACKEND_EV_ERROR, .request = r->id, .branch = bi,
                                         .finish = "cancelled", .message = "generation cancelled",
                                         .logprob = NAN, .model = lb->label };
                r->ended[bi] = 1;
            }
        qev *e = llama_backend_qev_add(&lb->out);
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
    llama_backend_req_unref(lb, r);
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
        llama_backend_qev_free(&e);
    }
    if (--lb->depth == 0)
        lb->out.n = lb->rd = 0;
    return (int)lb->nlive;
}

/* The worker's pipe; at once when events are queued or a cancel must be answered. */
static int lb_pollfds(backend *b, struct pollfd *out, int max, double *due)
{
    lbackend *lb = (lbackend *)b;
    int now = lb->rd < lb->out.n;
    for (size_t i = 0; !now && i < lb->nlive; i++)
        now = lb->live[i]->cancelled && !lb->live[i]->end_queued;
    *due = now ? 0 : -1;
    if (max < 1)
        return 0;
    out[0] = (struct pollfd){ .fd = lb->pipefd[0], .events = POLLIN };
    return 1;
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
        llama_backend_qev_free(&lb->q.v[i]);
    for (size_t i = lb->rd; i < lb->out.n; i++)
        llama_backend_qev_free(&lb->out.v[i]);
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
    free(lb->top);
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

static const backend_ops llama_ops = { lb_start, lb_cancel, lb_pump, lb_pollfds, lb_free, NULL };

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
    lb->top = xmalloc((size_t)lb->nv * sizeof *lb->top);
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
    if (pthread_create(&lb->th, NULL, llama_backend_worker, lb)) {
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


const llama_model *llama_backend_model_acquire(const char *path, char *err, size_t errlen)
{
    shared_model *sm = model_get(path, err, errlen);
    return sm ? sm->m : NULL;
}

void llama_backend_model_release(const llama_model *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&models_mu);
    shared_model *sm = models;
    while (sm && sm->m != m)
        sm = sm->next;
    pthread_mutex_unlock(&models_mu);
    if (sm)
        model_put(sm);
}
