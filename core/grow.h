/* core/grow.h — turns backend events into tree nodes.
 * grow_start asks the backend for k continuations of the path text root→parent; each
 * branch becomes a child of parent (origin model) when its first text arrives, tokens are
 * appended as they stream, and its finish reason is set at the end.  A branch that fails
 * keeps what it had, flagged TREE_FLAG_INCOMPLETE with finish "error" or "cancelled"; a
 * failed one also records why, as the node's "error" (the message, one line).  Nodes record
 * the vocabulary size V (for entropy upper bounds): the settings' vocab_size when set, else
 * what the backend learned from its server (backend.vocab), else unknown (0).
 * The owner sets itself as the backend's event sink through grow (grow_attach) and may
 * pass a callback to hear about every event after the tree was updated.
 *
 * Seeds: every request is sent with a seed, recorded on its nodes.  With a seed S set, the
 * request's seed is a hash of (S, parent id, the child index its first branch takes), so
 * children of different parents never share a random stream (S, S+1… under every parent
 * made their samples correlated — false attractors), and k more siblings, or a failed
 * sample's retry, are new samples rather than copies of the first k; without one, a fresh
 * seed is drawn per request.  Provenance: each node gets
 * "request": {backend, base_url (no credentials), model (as asked), temperature, top_p,
 * top_k, max_tokens, logprobs, stop, seed, choice (its index in the request; a server asked
 * one choice per request gets seed + choice), time}. */
#ifndef CORE_GROW_H
#define CORE_GROW_H
#include "core/backend.h"
#include "core/tree.h"

typedef struct grow grow;

typedef struct {
    int     request;
    int32_t parent;
    int     k;
    int     ended;          /* branches done or failed */
    int     failed;         /* branches that ended in an error (a cancel is not one) */
    size_t  tokens;         /* tokens received so far */
    int32_t *nodes;         /* k ids, TREE_NONE until a branch has text */
    void    *record;        /* json_t *: how the request was made (each node's "request") */
} grow_request;

grow *grow_new(tree *t, backend *b, backend_event_fn after, void *ud);
/* The event sink grow_new installs (ud: the grow), for an owner that shares one backend
 * between several grows and routes events by request (grow_owns). */
void  grow_on_event(void *g, const backend_event *ev);
int   grow_owns(const grow *g, int request);      /* is the request one of g's, still open? */
void  grow_free(grow *g);
/* The tree may be replaced (e.g. after loading another session): requests are cancelled. */
void  grow_set_tree(grow *g, tree *t);
/* Starts k branches under parent. Returns the request id, or -1 with err. */
/* The seed a request under parent is sent with when the settings' seed is S and its first
 * branch becomes the parent's child number `first` (0-based). */
long long grow_seed(long long S, int32_t parent, uint32_t first);
int   grow_start(grow *g, int32_t parent, const gen_settings *s, int k, char *err, size_t errlen);
void  grow_cancel_all(grow *g);
int   grow_active(const grow *g);                 /* requests in flight */
const grow_request *grow_request_at(const grow *g, int i);   /* 0..grow_active-1 */
size_t grow_tokens_total(const grow *g);          /* tokens received since grow_new */
/* The last error message seen (NULL if none); cleared by grow_start. */
const char *grow_last_error(const grow *g);
int   grow_failed_branches(const grow *g);        /* errors since grow_new, not cancels */
#endif
