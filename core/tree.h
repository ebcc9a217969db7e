/* core/tree.h — the session tree: an arena of nodes with stable integer ids.
 *
 * Contract:
 *  - Ids are indices into the arena, assigned in creation order and never reused within a
 *    session.  A deleted node keeps its slot (tree_get returns NULL for it) so that
 *    tree_undelete can put the subtree back exactly where it was.
 *  - Children are ordered.  Nothing here recurses: every walk uses an explicit stack or
 *    queue, so a 100,000-deep chain is as cheap as a wide tree.
 *  - Token texts and alternatives of a node live in that node's string pool; the tokens
 *    array holds offsets, and pieces with the same text may share its bytes (each text is
 *    NUL-terminated in the pool).  Token accessors return pointers valid until the node
 *    changes.
 *  - Strings shared by many nodes (model names, finish reasons) are interned: a node keeps
 *    a small integer and tree_str() gives the text back.
 *  - `extra` holds JSON fields that termloom does not understand (a jansson object, or
 *    NULL), so that a load/save round trip keeps them; the tree owns the reference. */
#ifndef CORE_TREE_H
#define CORE_TREE_H
#include <stddef.h>
#include <stdint.h>

#define TREE_NONE (-1)

typedef enum {
    TREE_ORIGIN_PROMPT, TREE_ORIGIN_MODEL, TREE_ORIGIN_EDIT, TREE_ORIGIN_FORCED,
    TREE_ORIGIN_COUNT
} tree_origin;

enum {  /* tree_node.marks: saved */
    TREE_MARK_ATTRACTOR = 1u << 0,   /* marked by hand with `m` */
    TREE_MARK_BOOKMARK  = 1u << 1,
};
enum {  /* tree_node.flags */
    TREE_FLAG_ALIVE      = 1u << 0,
    TREE_FLAG_VISITED    = 1u << 1,
    TREE_FLAG_INCOMPLETE = 1u << 2,  /* generation failed or was cancelled part way */
    TREE_FLAG_FOLDED     = 1u << 3,  /* children hidden in the tree panel */
};

typedef struct {
    uint32_t off, len;   /* bytes in the node's pool */
    float    logprob;    /* natural log; NAN when unknown */
} tree_piece;

typedef struct {
    tree_piece tok;      /* the sampled token */
    uint32_t   top;      /* index of its first alternative in node->tops */
    uint32_t   ntop;     /* alternatives, most probable first (may include the token) */
    float      entropy;  /* exact entropy of this position in bits, given by a model that
                          * knows its whole distribution (builtin); NAN when unknown */
} tree_token;

/* What a producer passes in for one alternative. */
typedef struct {
    const char *text;
    size_t      len;
    double      logprob;
} tree_alt;

typedef struct tree_node {
    int32_t   parent;        /* TREE_NONE for a root */
    int32_t   last_child;    /* child last visited, for → ; TREE_NONE if none */
    int32_t  *children;
    uint32_t  nchildren, cap_children;
    char     *text;          /* UTF-8, NUL-terminated, never NULL for a live node */
    uint32_t  text_len, text_cap;
    tree_token *tokens;
    uint32_t  ntokens, cap_tokens;
    tree_piece *tops;
    uint32_t  ntops, cap_tops;
    char     *pool;
    uint32_t  pool_len, pool_cap;
    uint32_t  model;         /* interned string, 0 = none */
    uint32_t  finish;        /* interned finish reason, 0 = none (still open / not generated) */
    int64_t   created;       /* unix seconds */
    uint8_t   origin;        /* tree_origin */
    uint8_t   marks;
    uint8_t   flags;
    uint32_t  vocab;         /* vocabulary size V of the model that made it, 0 = unknown */
    void     *extra;         /* json_t * of unknown fields, or NULL */
} tree_node;

typedef struct tree tree;

/* A log-probability as the tree keeps it: at most 0 (a probability above 1 from a server or a
 * file becomes 1), at least TREE_LOGPROB_MIN, the most negative float (-inf and -1e308
 * become that: probability 0, which a file holds; an infinity would be saved as null,
 * "unknown"), NAN (unknown) as it is. */
#define TREE_LOGPROB_MIN (-3.4028234663852886e38)
float tree_logprob(double lp);

tree *tree_new(void);
void  tree_free(tree *t);

/* Clock used for `created`: TERMLOOM_CLOCK (unix seconds) when set, else time(). */
int64_t tree_now(void);

/* Adds a node under parent (TREE_NONE: a new root; a tree normally has one).  Returns the id. */
int32_t tree_add_child(tree *t, int32_t parent, tree_origin origin, const char *text, size_t len);
/* Same, but with a caller-chosen id (loading files); fails (-1) when the id is taken. */
int32_t tree_add_with_id(tree *t, int32_t id, int32_t parent, tree_origin origin,
                         const char *text, size_t len);
/* Moves an already-created node under a new parent at the end (loaders building in any order).
 * Fails (-1) if that would create a cycle. */
int  tree_set_parent(tree *t, int32_t id, int32_t parent);

tree_node *tree_get(const tree *t, int32_t id);   /* NULL when out of range or deleted */
int32_t tree_root(const tree *t);                 /* the first live root, or TREE_NONE */
size_t  tree_count(const tree *t);                /* live nodes */
int32_t tree_capacity(const tree *t);             /* one past the highest id ever used */

void tree_set_text(tree *t, int32_t id, const char *text, size_t len);
void tree_append_text(tree *t, int32_t id, const char *text, size_t len);
/* Appends a token (and by default its text to the node text when append_text is set). */
void tree_append_token(tree *t, int32_t id, const char *text, size_t len, double logprob,
                       const tree_alt *alts, size_t nalts, int append_text);
/* Room for ntokens more tokens with ntops alternatives in all and pool more bytes of their
 * texts (each text's length + 1): appending them then grows nothing piece by piece. */
void tree_reserve_tokens(tree *t, int32_t id, size_t ntokens, size_t ntops, size_t pool);
/* The same two on a node struct (a tree's, or a staging node a loader fills, on any thread):
 * no events. */
void tree_node_append_token(tree_node *n, const char *text, size_t len, double logprob,
                            const tree_alt *alts, size_t nalts);
void tree_node_reserve_tokens(tree_node *n, size_t ntokens, size_t ntops, size_t pool);
/* Node id's tokens become from's (its own are freed; from keeps none): one TREE_EV_TEXT. */
void tree_take_tokens(tree *t, int32_t id, tree_node *from);
void tree_clear_tokens(tree *t, int32_t id);
/* Records the exact entropy (bits) of token i's position. */
void tree_set_token_entropy(tree *t, int32_t id, uint32_t i, double bits);
const char *tree_token_text(const tree_node *n, uint32_t i, size_t *len);
const char *tree_top_text(const tree_node *n, uint32_t i, uint32_t j, size_t *len);
double tree_top_logprob(const tree_node *n, uint32_t i, uint32_t j);

/* Interned strings: 0 is "none".  tree_str(t, 0) is NULL. */
uint32_t    tree_intern(tree *t, const char *s);
const char *tree_str(const tree *t, uint32_t handle);
void tree_set_model(tree *t, int32_t id, const char *model);
/* A finish reason (not NULL) also gives back the slack of the node's token arrays: token
 * pointers taken before are then no longer valid. */
void tree_set_finish(tree *t, int32_t id, const char *finish);
const char *tree_model(const tree *t, int32_t id);
const char *tree_finish(const tree *t, int32_t id);
const char *tree_origin_name(tree_origin o);
int tree_origin_parse(const char *s, tree_origin *out);    /* 0 ok, -1 unknown */

/* Marks and flags change through these, so observers hear of it (TREE_EV_MARK, only when
 * something changed).  tree_set_flag takes TREE_FLAG_FOLDED or TREE_FLAG_INCOMPLETE (the
 * others belong to this module and to tree_visit). */
void tree_set_marks(tree *t, int32_t id, unsigned marks);
void tree_set_flag(tree *t, int32_t id, unsigned flag, int on);
void tree_set_origin(tree *t, int32_t id, tree_origin origin);

/* A copy of what an edit changes in a node (text, tokens with their alternatives and
 * entropies, origin), for undo: restoring it gives the node back exactly (TREE_EV_TEXT). */
typedef struct tree_content tree_content;
tree_content *tree_content_save(const tree *t, int32_t id);   /* NULL when id is not live */
int  tree_content_restore(tree *t, int32_t id, const tree_content *c);   /* 0 ok, -1 */
void tree_content_free(tree_content *c);

/* Deletion detaches the subtree and marks it dead; returns the index it had among its
 * parent's children (for undo), or -1.  Deleting a root is refused (-1). */
int  tree_delete(tree *t, int32_t id);
/* Puts a deleted subtree back at `index` under its old parent. 0 ok, -1 not possible. */
int  tree_undelete(tree *t, int32_t id, int index);
/* Frees the memory of deleted subtrees (undo is then no longer possible for them). */
void tree_purge(tree *t);

/* Moves.  Each returns the target id, or TREE_NONE when there is none. */
int32_t tree_parent(const tree *t, int32_t id);
int32_t tree_prev_sibling(const tree *t, int32_t id);
int32_t tree_next_sibling(const tree *t, int32_t id);
int32_t tree_child(const tree *t, int32_t id);           /* last visited, else the first */
int     tree_child_index(const tree *t, int32_t id);     /* position among siblings, -1 root */
void    tree_visit(tree *t, int32_t id);                  /* marks visited, updates last_child up the path */

size_t  tree_depth(const tree *t, int32_t id);           /* root is 0 */
size_t  tree_max_depth(const tree *t);
size_t  tree_leaves(const tree *t);
/* Root→id text, concatenated.  Caller frees.  *len may be NULL. */
char   *tree_path_text(const tree *t, int32_t id, size_t *len);
/* Ids root→id into *out (caller frees); returns the count. */
size_t  tree_path(const tree *t, int32_t id, int32_t **out);

/* Walks without recursion.  Pre-order depth first (children in order) or breadth first.
 *   tree_iter it; tree_iter_init(&it, t, start, TREE_DFS);
 *   for (int32_t id; (id = tree_iter_next(&it)) != TREE_NONE; ) ...
 *   tree_iter_done(&it);
 * tree_iter_skip() after a node was returned skips its subtree (DFS only). */
typedef enum { TREE_DFS, TREE_BFS } tree_walk;
typedef struct {
    const tree *t;
    tree_walk   walk;
    int32_t    *stack;
    size_t      n, cap, head;
    int32_t     last;
} tree_iter;
void    tree_iter_init(tree_iter *it, const tree *t, int32_t start, tree_walk walk);
int32_t tree_iter_next(tree_iter *it);
void    tree_iter_skip(tree_iter *it);
void    tree_iter_done(tree_iter *it);

/* Observers: called after every structural change or text change, so analyses (merge,
 * attractors) stay incremental.  kind: TREE_EV_ADD, _TEXT (text or tokens changed),
 * _DELETE (subtree detached), _UNDELETE, _FINISH, _MARK (marks or a saved flag — visited,
 * incomplete, folded — changed: the journal saves the node; analyses ignore it). */
enum { TREE_EV_ADD, TREE_EV_TEXT, TREE_EV_DELETE, TREE_EV_UNDELETE, TREE_EV_FINISH, TREE_EV_MARK };
typedef void (*tree_observer_fn)(void *ud, tree *t, int kind, int32_t id);
void tree_observe(tree *t, tree_observer_fn fn, void *ud);
void tree_unobserve(tree *t, tree_observer_fn fn, void *ud);
/* Tells the observers that id's marks or flags were changed in place (TREE_EV_MARK). */
void tree_touch(tree *t, int32_t id);

/* Keeps each distinct text of a node's pieces once in its pool (pieces may share bytes):
 * a full distribution lists much the same tokens at every position.  Only for nodes with at
 * least TREE_SHARE_MIN alternatives (a short list is not worth the pass); a finished node
 * gets it (tree_set_finish), loaders call it on the nodes they build. */
#define TREE_SHARE_MIN 256
void tree_node_share_texts(tree_node *n);
/* Gives back the slack of a node's token arrays and pool (and shares its texts, as above):
 * what tree_set_finish does for a finished node.  Token pointers taken before are invalid. */
void tree_node_trim(tree_node *n);

/* Frees what a node struct owns and zeroes it (also for loaders' staging nodes). */
void tree_node_release(tree_node *n);

/* Bytes of node storage per live node, without tokens (arena slot + children + text). */
size_t tree_bytes(const tree *t, int with_tokens);
#endif
