/* core/attractor.h — attractors detected across the whole tree (SPEC §4 "Attractors").
 *
 * Contract:
 *  - Continuation attractor: a cluster of node texts that are near-duplicates
 *    (merge_similarity ≥ threshold) reached from at least min_contexts distinct parents.
 *    Nodes with equal normalized text form one class.  Each class gets a one-permutation
 *    MinHash signature (ATTRACTOR_MINHASH = 32 values over the word bigrams of its
 *    normalized text; a one-word text: over its word) cut into 8 LSH bands of 4; classes
 *    with equal band values share that band's bucket.  (Bigrams only: with a tiny
 *    vocabulary every text holds nearly every word, and unigram values made unrelated
 *    texts agree in most bands.)
 *    Inside a bucket the ATTRACTOR_LEADERS (32) classes with the smallest text hashes are
 *    its leaders, the rest followers.  Edges: every similar pair of leaders, and each
 *    follower to its anchor, the first of the bucket's first ATTRACTOR_ANCHORS (8) leaders
 *    (by text hash) it is similar to; a follower similar to none of those 8 gets no edge in
 *    that bucket (it may still join through its other buckets).  Clusters are the connected
 *    components of those edges.  In buckets of up to 32 classes every similar pair is an
 *    edge; in crowded ones (a tiny vocabulary, templated answers) a follower costs at most
 *    8 comparisons per band, so detection stays about linear in the tree.  The edges are a
 *    function of the buckets' contents alone: the result does not depend on the order
 *    nodes arrived in.  Roots and empty texts never take part.
 *  - Short texts (at most 6 words) also enter word-edit buckets: one for the whole word
 *    sequence and one per word left out.  Two short texts one word substitution or one
 *    inserted word apart always share one, and there they are compared without the
 *    signature test (one changed word of three changes most shingles).
 *  - Similar: (in a MinHash band) at least 13 of the 32 signature values agree (estimated
 *    bigram Jaccard ≥ 0.4), and merge_similarity ≥ threshold.  Recall is probabilistic (≈ 98.5% per pair at
 *    bigram Jaccard 0.8, ≈ 100% at 0.9; clusters are joined by any of their pairs), but the
 *    result is a function of the texts only: the same tree always gives the same attractors.
 *  - Phrase attractor: a word n-gram (n = 4..8, words of the normalized text) occurring in
 *    nodes with at least min_contexts distinct parents.  Only closed phrases are reported:
 *    an n-gram is dropped when a longer one containing it (≤ 8 words) has the same support.
 *  - Chance: a closed phrase is reported only when its support is unlikely under a null
 *    model of the tree's own words, a hierarchical Dirichlet trigram model (MacKay–Peto):
 *    P1(w) = c(w)/N, P2(w|u) = (c(uw) + K·P1(w)) / (c(u·) + K), P3(w|tu) = (c(tuw) +
 *    K·P2(w|u)) / (c(tu·) + K), with c() counts over every indexed text (c(u·): u followed by
 *    a word in its text), N the words, K = ATTRACTOR_NULL_K.  A phrase's probability at a
 *    window is P1(w1)·P2(w2|w1)·Π P3(wi|wi-2 wi-1); expected = that × the windows of its
 *    length in the tree, the expected occurrences (at least the expected contexts), but at
 *    most ATTRACTOR_NULL_SHARE (2%) of the indexed texts: the model is fitted to the tree,
 *    so a phrase filling much of it (a collapsed model's "it is important to remember
 *    that" in 10% of the branches) predicts itself; ordinary text does not repeat one
 *    phrase of 4+ words in more than 1 branch in 50.
 *    p = P(Poisson(expected) ≥ support), times the number of candidate phrases (closed,
 *    support ≥ min_contexts; Bonferroni), capped at 1; kept when p ≤ alpha (0.01).  So a
 *    phrase the tree's word frequencies and word-to-word habits already predict (common
 *    phrases of ordinary text, every 4-gram of a tiny vocabulary) is not one; a phrase whose
 *    words seldom meet elsewhere, recurring from many contexts, is.  The smoothing makes
 *    a phrase explain itself only in part: K words of pseudo-count per context.
 *    Continuation attractors are not tested.
 *  - support = distinct contexts of the members: their parents, two parents counting once
 *    when their texts from the root are the same node by node as normalized words (a
 *    collapsed model's duplicate siblings are one context, not many); "distinct parents"
 *    above means these.  The member list keeps every node.  prob = mean over members of the sequence
 *    probability exp(Σ token logprobs) (a member without logprobs counts as 1).
 *    score = support × (1 + prob).  Continuation attractors come first, by score, then
 *    support, then smallest member id; then phrases by p (most significant first), then
 *    support, then smallest member id (a total order: lists are reproducible).
 *  - Detected attractors are separate from the hand mark TREE_MARK_ATTRACTOR; nothing here
 *    reads or writes tree marks, and detection is recomputed from the tree on load.
 *  - Incremental: the index observes the tree; an event only queues the node (O(1)).  The
 *    next attractor_version/attractor_list processes the queue, costing time proportional
 *    to the changed nodes' text (plus the clusters they touch); attractor_list then
 *    rebuilds the listing from the maintained counts, costing about the number of nodes
 *    holding attractors.  Incremental results equal a fresh index's (a test checks it).
 *    tree_set_parent sends no event: make the index after a loader has built the tree. */
#ifndef CORE_ATTRACTOR_H
#define CORE_ATTRACTOR_H
#include "core/tree.h"
#include <stddef.h>
#include <stdint.h>

#define ATTRACTOR_DEFAULT_MIN_CONTEXTS 3
#define ATTRACTOR_MINHASH 32
#define ATTRACTOR_LEADERS 32
#define ATTRACTOR_ANCHORS 8      /* a follower is compared with this many leaders */
#define ATTRACTOR_MIN_PHRASE 4
#define ATTRACTOR_MAX_PHRASE 8
#define ATTRACTOR_NULL_K 50.0    /* the null's pseudo-count per context */
#define ATTRACTOR_PHRASE_ALPHA 0.01
#define ATTRACTOR_NULL_SHARE 0.02   /* the null expects a phrase in at most this share of texts */

typedef enum { ATTRACTOR_CONTINUATION, ATTRACTOR_PHRASE } attractor_kind;

typedef struct attractor {
    attractor_kind kind;
    int32_t *members;     /* node ids, ascending */
    size_t   nmembers;
    size_t   support;     /* distinct contexts (see above) */
    double   prob;        /* mean sequence probability of the members */
    double   score;
    int32_t  example;     /* a member (the smallest id) */
    double   expected;    /* phrase: occurrences expected under the null; continuation: 0 */
    double   log10_p;     /* phrase: log10 of the corrected p (≤ 0); continuation: 0 */
    char    *text;        /* continuation: the example's text; phrase: the phrase (normalized) */
} attractor;

typedef struct attractor_span {   /* a phrase attractor inside a node's text */
    uint32_t start, end;          /* byte offsets in tree_node.text, end exclusive */
    int      attractor;           /* index in attractor_list */
} attractor_span;

typedef struct attractor_index attractor_index;

/* Indexes every live node of t and observes t.  threshold: merge similarity (0.8 default);
 * min_contexts: distinct parents needed (3 default). */
attractor_index *attractor_index_new(tree *t, double threshold, int min_contexts);
void     attractor_index_free(attractor_index *a);      /* also stops observing */
/* The level phrases are kept at (ATTRACTOR_PHRASE_ALPHA by default); 1 keeps every phrase
 * with enough support, the null's figures still given (what compare's shared phrases use). */
void     attractor_set_alpha(attractor_index *a, double alpha);
/* Increases whenever the list may have changed. */
uint64_t attractor_version(attractor_index *a);

/* Indexes at most max_nodes of the queued nodes and returns how many are still queued, so
 * a UI can spread a big tree's indexing over short slices (the last slice leaves the index
 * exactly as one attractor_version call would).  attractor_pending: the count, O(1). */
size_t   attractor_work(attractor_index *a, size_t max_nodes);
size_t   attractor_pending(const attractor_index *a);

/* 1 when the tree changed since the last attractor_list (O(1), nothing is computed). */
int      attractor_stale(attractor_index *a);

/* The attractors, best first, brought up to date (this is the call that costs: about
 * the nodes holding attractors; a view refreshes it when attractor_stale, at most a few
 * times a second while branches stream).  The array is owned by the index and valid until
 * the next attractor_list. */
size_t   attractor_list(attractor_index *a, const attractor **out);
/* The same list made a slice at a time, for a UI that must not wait (no process is
 * forked): each call does about `budget` units (a candidate class or phrase each) and
 * returns 1 when the list is made (attractor_last gives it), 0 when there is more to do,
 * -1 when it was given up because nodes were deleted or the queue was indexed meanwhile
 * (call again to start over).  It lists the index as it was at the first call: events
 * arriving in between wait in the queue, and attractor_last/_of/_spans keep answering
 * from the previous list until the new one is installed. */
int      attractor_list_step(attractor_index *a, size_t budget);
int      attractor_list_busy(const attractor_index *a);     /* a sliced listing is under way */
void     attractor_list_abort(attractor_index *a);
/* The list of the last attractor_list call, as it was (nothing is recomputed). */
size_t   attractor_last(attractor_index *a, const attractor **out);
/* The two below answer from the list of the last attractor_list call, in O(1) per node
 * (cheap enough for every drawn row); members may have died since: check tree_get. */
/* Index (in that list) of the best attractor having id as a member, preferring
 * continuation attractors; -1 when none. */
int      attractor_of(attractor_index *a, int32_t id);
/* Phrase-attractor spans in id's current text, by start offset (caller frees *out). */
size_t   attractor_spans(attractor_index *a, int32_t id, attractor_span **out);

/* The last list as bytes and back (the TUI no longer needs them: it lists in slices):
 * attractor_list then attractor_list_dump (caller frees); attractor_list_load installs the
 * bytes as another index's last list (attractor_last, attractor_of and attractor_spans
 * answer from it; members may have died since).  version: what attractor_version said when
 * the dump was made; the index stays stale when it has moved on.  Bytes that are not a
 * whole dump give -1 and change nothing. */
char    *attractor_list_dump(attractor_index *a, size_t *len);
int      attractor_list_load(attractor_index *a, const char *data, size_t len, uint64_t version);

/* Labels for a list of texts shown one per row in limited columns (the attractor list):
 * texts[i] (lens[i] bytes) gets cols[i] columns, widths measured as text_width(flags).  A
 * text that fits is shown whole (head = len).  Else it is cut before a space (a word is
 * cut only when none fits) and an ellipsis (one column) follows; the cut goes at least
 * one word past the point where the text first differs from every other text of the list,
 * so two different texts never show the same start.  When that word lies beyond the
 * width, the label is head + "…" + the stretch tail..tail_end holding it (+ "…" when
 * tail_end < len).  tail == tail_end: no stretch.  Equal texts get equal labels. */
typedef struct { size_t head, tail, tail_end; } attractor_cut;
void     attractor_cuts(const char *const *texts, const size_t *lens, const int *cols, size_t n,
                        unsigned flags, attractor_cut *out);

/* The list as a JSON array (what `stats --json` prints and a session keeps under
 * "attractors"): [{"kind": "continuation"|"phrase", "members": [ids], "support": N,
 * "score": X, "expected": E, "p_value": P, "text": "example"}], in list order; expected and
 * p_value (corrected; 0 below 1e-300) are null for continuation attractors.  With t, members no longer in t are left
 * out (and an attractor left with none).  Returns a new reference. */
struct json_t;
struct json_t *attractor_list_json(const attractor *l, size_t n, tree *t);
#endif
