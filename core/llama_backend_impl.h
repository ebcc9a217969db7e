/* core/llama_backend_impl.h — what the two halves of the builtin backend share: the
 * owner's side (llama_backend.c: operations, model cache) and the worker's
 * (llama_backend_run.c: sampling, stop strings, the forward passes).  See llama_backend.c
 * for who may touch what, and under which lock. */
#ifndef CORE_LLAMA_BACKEND_IMPL_H
#define CORE_LLAMA_BACKEND_IMPL_H
#include "core/llama_backend.h"
#include "core/mem.h"
#include <pthread.h>


typedef struct shared_model {
    char        *path;
    llama_model *m;
    size_t       kv_token;       /* KV cache bytes per token of a branch */
    int          refs;
    struct shared_model *next;
} shared_model;

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
    uint32_t        *top;             /* nv: a token's alternatives, most probable first */
} lbackend;

/* Drops a reference (under lb->mu); the last one frees the request. */
void llama_backend_req_unref(lbackend *lb, lreq *r);
qev *llama_backend_qev_add(qevs *q);       /* a zeroed event at the end of q */
void llama_backend_qev_free(qev *e);       /* what the event owns */
void *llama_backend_worker(void *lb);      /* the worker thread */
#endif
