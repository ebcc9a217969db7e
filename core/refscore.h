/* core/refscore.h — how much likelier a node's tokens were under the model that wrote them
 * than under a reference model (the TUI's D tint with a reference model in the settings):
 * per token, the node's recorded logprob minus the reference model's logprob of the same
 * token after the same context (teacher forcing, core/score.h), in nats.
 *
 * A worker thread does the forward passes, so the loop never waits for one: refscore_ask
 * hands it a node (the newest question replaces one not yet started), the worker writes a
 * byte to refscore_fd() when an answer is ready, and refscore_take returns it.  Only nodes
 * whose recorded tokens are whole entries of the reference model's vocabulary can be scored
 * token by token (the shipped models share one tokenizer); others get an error line. */
#ifndef CORE_REFSCORE_H
#define CORE_REFSCORE_H
#include "core/tree.h"
#include <stddef.h>
#include <stdint.h>

typedef struct refscore refscore;

/* A scorer over the GGUF model at path (loaded through the builtin backend's cache); NULL
 * with one line in err. */
refscore *refscore_new(const char *path, char *err, size_t errlen);
void      refscore_free(refscore *r);
int       refscore_fd(const refscore *r);
/* Asks for node id of t (its path text is the context).  The node is copied: the tree may
 * change meanwhile. */
void      refscore_ask(refscore *r, const tree *t, int32_t id);
/* An answer: 1 with *id and, per recorded token, lr[0..*n) (caller frees), or 1 with *lr
 * NULL and the reason in err; 0 when none is ready. */
int       refscore_take(refscore *r, int32_t *id, double **lr, size_t *n, char *err, size_t errlen);
#endif
