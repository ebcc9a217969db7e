/* core/backend.h — the one interface for everything that produces branches.
 *
 * A backend receives requests ("k continuations of this context with these settings") and
 * reports what happens as events tagged with the request and branch number.  It never
 * blocks: backend_start returns at once, and the owner's event loop calls
 *   backend_wait_many(bs, n, fds, nfds, timeout_ms) — one poll() over the caller's
 *                                            descriptors and every backend's, until one is
 *                                            ready or a backend's deadline comes
 *   backend_pump(b)                          — make progress, deliver events (callbacks)
 * Each backend says what it waits on (pollfds: its descriptors and the time by which it
 * must be pumped anyway): HTTP backends their libcurl sockets and curl's timer, the builtin
 * model the pipe its worker thread writes to, the n-gram model "at once" while it has work
 * (it computes in pump, in slices).  So generation, both sides of a comparison and the
 * keyboard are waited on together, with no fixed-slice polling.
 * Events are delivered only from inside backend_pump, never from wait or start.
 *
 * Branch numbers run 0..k-1 within a request.  For each branch: zero or more TOKEN/TEXT
 * events, then exactly one DONE or ERROR.  After the last branch ends, one REQUEST_END.
 * STATUS events carry messages for the status line (retries, fallbacks).
 *
 * Scoring given text (teacher forcing), a capability some backends have (backend_score):
 * one request for the logprob of every token of context + text under the model; it ends
 * with one SCORED event (branch 0) or one ERROR, then REQUEST_END.  The scored tokens
 * cover the whole of context + text as the server tokenized it, in order (the first may
 * have no logprob); the caller finds the text's tokens from the end (its length). */
#ifndef CORE_BACKEND_H
#define CORE_BACKEND_H
#include "core/settings.h"
#include "core/tree.h"
#include <poll.h>
#include <stdint.h>

typedef enum {
    BACKEND_EV_TOKEN,        /* text + logprob + alternatives */
    BACKEND_EV_TEXT,         /* text without logprobs */
    BACKEND_EV_DONE,         /* branch finished: finish = "stop", "length", ... */
    BACKEND_EV_ERROR,        /* branch failed: message; what it had stays (incomplete) */
    BACKEND_EV_STATUS,       /* informational message (branch = -1) */
    BACKEND_EV_REQUEST_END,  /* every branch of the request has ended */
    BACKEND_EV_SCORED,       /* a scoring request's answer: scored[0..nscored) */
} backend_event_kind;

/* One token of a scored text. */
typedef struct {
    const char     *text;        /* its bytes as the server spelled them (exact when it said) */
    size_t          len;
    double          logprob;     /* natural log; NAN when the server gave none (the first) */
    const tree_alt *top;         /* the most probable tokens at that position, first first */
    size_t          ntop;
} backend_scored;

typedef struct {
    backend_event_kind kind;
    int            request;      /* id returned by backend_start */
    int            branch;       /* 0..k-1, or -1 */
    const char    *text;         /* TOKEN/TEXT: bytes (UTF-8, may hold a partial char) */
    size_t         len;
    double         logprob;      /* TOKEN: natural log; NAN when unknown */
    const tree_alt *top;         /* TOKEN: alternatives, most probable first */
    size_t         ntop;
    int            exact;        /* TOKEN: the model knows its whole distribution: */
    double         entropy;      /*   then this is its exact entropy in bits here */
    const char    *finish;       /* DONE: finish reason; ERROR: "error" or "cancelled" */
    const char    *message;      /* ERROR/STATUS: one line for the user */
    int            http_status;  /* ERROR: HTTP status, 0 if none */
    const char    *model;        /* model that answered, when known */
    int            keep;         /* STATUS: a fact about the request (its context was cut),
                                  * to stay on the status line after it ends; else progress */
    const backend_scored *scored;   /* SCORED */
    size_t         nscored;
} backend_event;

typedef void (*backend_event_fn)(void *ud, const backend_event *ev);

typedef struct backend backend;

typedef struct {
    int   (*start)(backend *b, const char *context, size_t len, const gen_settings *s, int k,
                   char *err, size_t errlen);
    void  (*cancel)(backend *b, int request);            /* request 0: all */
    int   (*pump)(backend *b);                            /* returns active requests */
    /* Up to max descriptors to wait on into out (fd, events); *due: the monotonic time
     * (mono_now) by which pump must run even if none is ready, 0 for at once, -1 for
     * never.  Returns how many descriptors it filled. */
    int   (*pollfds)(backend *b, struct pollfd *out, int max, double *due);
    void  (*free)(backend *b);
    /* Optional (NULL: the backend cannot score given text).  Returns a request id or -1. */
    int   (*score)(backend *b, const char *context, size_t clen, const char *text, size_t len,
                   const gen_settings *s, char *err, size_t errlen);
} backend_ops;

struct backend {
    const backend_ops *ops;
    const char        *name;
    backend_event_fn   on_event;
    void              *ud;
    int                exact;      /* logprobs are the exact full distribution (builtin) */
    uint32_t           vocab;      /* vocabulary size V once the backend knows it (a server
                                    * that reports it: llama.cpp's /v1/models), else 0 */
};

/* Starts a request for k branches of `context`.  Returns its id (> 0), or -1 with err. */
int  backend_start(backend *b, const char *context, size_t len, const gen_settings *s, int k,
                   char *err, size_t errlen);
void backend_cancel(backend *b, int request);
/* Scores text after context (see above).  A request id (> 0), or -1 with one line in err
 * (the backend cannot score given text, and why). */
int  backend_score(backend *b, const char *context, size_t clen, const char *text, size_t len,
                   const gen_settings *s, char *err, size_t errlen);
int  backend_pump(backend *b);
/* Waits up to timeout_ms (-1: no limit) for one of fds to be readable or for one of the n
 * backends (NULLs and repeats are skipped) to have work, in one poll().  Returns 1 and sets
 * *fd_ready (index into fds, or -1 when it was a backend) when something is ready, 0 on
 * timeout.  A backend with work to do at once makes it return at once. */
#define BACKEND_WAIT_FDS 256              /* descriptors in one wait, all backends together */
int  backend_wait_many(backend *const *bs, int n, const int *fds, int nfds, int timeout_ms, int *fd_ready);
/* The same for one backend. */
int  backend_wait(backend *b, const int *fds, int nfds, int timeout_ms, int *fd_ready);
void backend_free(backend *b);
/* Helper for backends: deliver an event to the owner. */
void backend_emit(backend *b, const backend_event *ev);
/* A poll() over fds only — for backends with no descriptors of their own. */
int  backend_poll_fds(const int *fds, int nfds, int timeout_ms, int *fd_ready);

/* For the embedded models: a random stream per branch (xoshiro256**, seeded by splitmix64
 * from (seed, branch)), so a branch's tokens never depend on the others or on timing. */
typedef struct { uint64_t s[4]; } backend_rng;
void     backend_rng_seed(backend_rng *r, uint64_t seed, int branch);
uint64_t backend_rng_next(backend_rng *r);
double   backend_rng_unit(backend_rng *r);             /* uniform in [0, 1) */
/* The seed a request uses: a given seed mixed with the context's bytes (the same seed and
 * context give the same branches; two nodes never share a stream), else a fresh one. */
uint64_t backend_request_seed(const gen_settings *s, const char *context, size_t len);
/* Stop strings over generated text: the earliest full match of any of stop[0..n), or
 * (size_t)-1; and the start of the longest tail that could still grow into one (len when
 * none): text from there on must be held back. */
size_t backend_stop_match(char *const *stop, int n, const char *text, size_t len);
/* The `want` (>= 1) ids in [from, n) with the highest score, highest first (ties: lower
 * id), into ids; returns how many (fewer when the range is smaller). */
size_t backend_top_ids(const double *score, size_t from, size_t n, uint32_t *ids, size_t want);
size_t backend_stop_holdback(char *const *stop, int n, const char *text, size_t len);
#endif
