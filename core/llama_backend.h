/* core/llama_backend.h — the builtin backend: the embedded Llama runtime (core/llama.h)
 * behind the backend interface (core/backend.h).
 *
 * A worker thread owns the model context.  Requests are served in the order they were
 * started: the worker tokenizes the context, computes the prompt once (reusing the cached
 * prefix it shares with the previous request) and advances the k branches as one batch per
 * token.  It queues the events and writes a byte to a pipe; backend_wait polls that pipe
 * together with the caller's descriptors and backend_pump delivers the queued events (only
 * there).  Cancelling ends the branches still open with "cancelled" at the next pump; the
 * worker drops the request before its next token.
 *
 * Sampling: temperature (0: the most probable token), then top_k (0: all), then top_p, from
 * a random stream per branch seeded from (seed, context, branch): the same seed and
 * context give the same branches whatever the timing.  A token's logprob, alternatives and
 * entropy (bits, exact: the whole distribution) are the model's own, at temperature 1.  The
 * end-of-text token ends a branch with "stop" and is not shown.  A branch holds at most
 * n_ctx - n_ctx/4 tokens; a context longer than n_ctx minus that is cut from the left (BOS
 * kept) and a STATUS event says so.  Events carry `label` as their model.
 *
 * Models are loaded once per process: backends over the same file share it. */
#ifndef CORE_LLAMA_BACKEND_H
#define CORE_LLAMA_BACKEND_H
#include "core/backend.h"
#include "core/llama.h"

/* A backend over the GGUF file at path; label names the model in events ("base", or the
 * path).  NULL with one line "FILE: problem" in err. */
backend *llama_backend_new(const char *path, const char *label, char *err, size_t errlen);

typedef struct {
    long requests;        /* requests the worker ran */
    long prefills;        /* prompt computations (one per request and group of branches) */
    long batches;         /* decode steps: each advances every open branch of a request */
    long tokens;          /* tokens sampled */
    long cut;             /* requests whose context was cut */
} llama_backend_stats;

/* Counters so far (tests, benches); the model of a llama backend, NULL for another one. */
void llama_backend_get_stats(backend *b, llama_backend_stats *st);
const llama_model *llama_backend_model(const backend *b);
/* The model at path from the same per-process cache (loaded on first use, shared with the
 * backends over that file), for other readers such as scoring (core/score.h); NULL with one
 * line in err.  Each acquire is matched by one release. */
const llama_model *llama_backend_model_acquire(const char *path, char *err, size_t errlen);
void llama_backend_model_release(const llama_model *m);
#endif
