/* core/entropy.h — information measures over what a tree holds: token entropy from top-k
 * logprobs, node entropy, branch entropy over child groups, sequence logprob/perplexity.
 *
 * Token entropy from a top-k list is a LOWER BOUND: the mass the list does not cover,
 * R = max(0, 1 - Σp), is counted as one single outcome.  The leftover R is returned beside
 * the figure so callers can say how much was unseen.  With `full` set the list is the whole
 * distribution: it is renormalized and the entropy is exact (R is reported as 0).
 * All entropies are in bits; logprobs are natural logs.  NaN logprobs mean "unknown" and
 * are skipped.  A list may be a whole distribution (thousands of alternatives): the work is
 * linear in its length, and a list longer than 64 takes one allocation per call. */
#ifndef CORE_ENTROPY_H
#define CORE_ENTROPY_H
#include "core/tree.h"
#include <stddef.h>

/* Leftover mass below this counts as none: the top-k list then covers the distribution. */
#define ENTROPY_EXACT_EPS 1e-6

/* Entropy (bits) of one token position.  alts: the top-k alternatives (texts used to drop
 * duplicates; the most probable copy is kept); tok/tok_len/tok_lp: the sampled token, added
 * as an outcome when it is not among the alternatives (tok may be NULL).  *leftover (may be
 * NULL) receives R.  Returns NaN when nothing is known (no finite logprob at all). */
double entropy_topk(const tree_alt *alts, size_t nalts, const char *tok, size_t tok_len,
                    double tok_lp, int full, double *leftover);

/* Entropy of token i of a node (lower bound as above). */
double entropy_token(const tree_node *n, uint32_t i, double *leftover);

typedef struct {
    double   mean;           /* mean token entropy, bits (NaN when no token has logprobs) */
    double   max;            /* largest token entropy, bits */
    double   mean_leftover;  /* mean R over the same tokens */
    uint32_t ntokens;        /* tokens that had logprobs */
    int      exact;          /* every counted token has the model's own figure (tree_token.entropy):
                              * only a backend that knows its whole distribution is exact */
} entropy_node_t;
void entropy_node(const tree_node *n, entropy_node_t *out);

/* Shannon entropy (bits) of a grouping given by counts (e.g. children per merged group).
 * *normalized (may be NULL) receives H / log2(N) with N = Σcounts samples, or 0 when N < 2. */
double entropy_counts(const size_t *counts, size_t n, double *normalized);

/* Sum of the node's token logprobs (nats) and perplexity exp(-sum/n) over tokens whose
 * logprob is known.  Returns that n; with n = 0 both outputs are NaN. */
size_t entropy_sequence(const tree_node *n, double *logprob, double *perplexity);

/* ---- entropy as an interval ----
 * The shown outcomes p_1..p_k (the top-k list, plus the sampled token when the list lacks
 * it) leave R = 1 - sum(p) for the unseen tokens.  No unseen token is likelier than the
 * least likely token of the top-k list, p_min (the list holds the k most probable).  The
 * unseen part contributes -sum q_j log2 q_j with 0 <= q_j <= p_min, sum q_j = R; that is
 * concave in q, so over this polytope:
 *  - its MINIMUM is at a vertex: every q_j but one is 0 or p_min, i.e. n = floor(R/p_min)
 *    tokens of p_min and one of r = R - n p_min:  n p_min log2(1/p_min) + r log2(1/r);
 *  - its MAXIMUM, the polytope being symmetric, is the uniform point q_j = R/m over the
 *    m = V - k unseen tokens (feasible exactly when R/m <= p_min, i.e. when the polytope
 *    is non-empty at all):  R log2(m/R).  Without V the upper bound is unknown (NaN).
 * When V is known but even m tokens of p_min cannot hold R (the shown figures contradict
 * V), both bounds use the uniform R/m.  Exact (lower = upper) only with the model's own
 * figure (tree_token.entropy), `full`, or a list as long as V: a server's top-k list is
 * never exact, even when it sums to 1 (llama.cpp reports probabilities after its samplers
 * cut the distribution); then the bounds above apply with R ≈ 0. */
typedef struct {
    double lower, upper;     /* bits; upper NaN when V is unknown; both NaN when nothing known */
    int    exact;
} entropy_interval;

/* vocab: the vocabulary size V, 0 when unknown.  Returns 0, or -1 (NaNs) when nothing is known. */
int entropy_topk_interval(const tree_alt *alts, size_t nalts, const char *tok, size_t tok_len,
                          double tok_lp, int full, uint32_t vocab, entropy_interval *out);
int entropy_token_interval(const tree_node *n, uint32_t i, uint32_t vocab, entropy_interval *out);

typedef struct {
    double   lower, upper;   /* mean over tokens; upper NaN when any token's upper is unknown */
    uint32_t ntokens;
    int      exact;
} entropy_node_interval_t;
void entropy_node_interval(const tree_node *n, uint32_t vocab, entropy_node_interval_t *out);

/* ---- a cache of node figures ----
 * Views that draw many nodes every frame (the tree panel's entropy bars, the stats panel's
 * node and its children) ask this instead, since a node of full distributions (32 tokens x
 * 2,048 alternatives) costs milliseconds: each node's figures are computed on first use and
 * kept until its tokens change (the cache observes the tree; TREE_EV_TEXT forgets the
 * node).  Direct-mapped on the id: a collision only computes again.  c may be NULL (then
 * nothing is kept).  Free the cache before its tree. */
typedef struct entropy_cache entropy_cache;
entropy_cache *entropy_cache_new(tree *t);
void entropy_cache_free(entropy_cache *c);
/* 1 with *out when node id's entropy_node figures are kept, else 0 (nothing computed). */
int entropy_cache_peek(const entropy_cache *c, const tree *t, int32_t id, entropy_node_t *out);
/* As entropy_node / entropy_node_interval of node id; -1 when id is not live. */
int entropy_cache_node(entropy_cache *c, const tree *t, int32_t id, entropy_node_t *out);
int entropy_cache_interval(entropy_cache *c, const tree *t, int32_t id, uint32_t vocab,
                           entropy_node_interval_t *out);

/* Formats an interval: "2.40–4.10 bits", "3.84 bits (exact)", ">= 2.40 bits (V unknown)",
 * "?" when nothing is known.  utf8 picks the dash and >= glyphs. */
void entropy_format(char *buf, size_t len, double lower, double upper, int exact, int utf8);
#endif
