/* core/calib.h — calibration: do a node's children follow the probabilities their
 * shared context predicted?
 *
 * The samples: a node's children made by a model (not cut short), whose first token has a
 * logprob, made with the same settings (the node's "request" without seed, choice and time;
 * children without a record form one "unknown" class).  Children of one parent made with
 * different settings are not pooled: the largest class is tested (ties: the class of the
 * earliest child) and the others are counted as `excluded`.  A node qualifies with at least
 * CALIB_MIN_SAMPLES samples.
 *
 * The prediction: the children share their context, so the distribution of their first
 * token is one distribution; each child reports only part of it (its top-k alternatives and
 * its own token).  Merged: every first-token text seen in any child's list or sampled gets
 * the mean of the probabilities the children reported for it (within one child the most
 * probable copy of a text counts, as in core/entropy); the mass none of them shows is
 * "other".  Every sampled token is among the shown ones, so "other" is never observed.
 * If the shown probabilities sum past 1 they are scaled down to 1.
 *
 * The figures: total variation TV = ½ Σ |c_i/N − p_i| over the shown texts plus ½·other.
 * The test, cells in order of predicted probability (ties by text), pooling decided by the
 * prediction only (never by what was observed, so it keeps its level):
 *  - χ² (Pearson, df = cells − 1) when it can be done with every expected count ≥ 5:
 *    texts with N·p ≥ 5 are cells of their own, the rest (and "other") one pooled cell,
 *    which joins the last cell when its expectation is below 5; at least 2 cells;
 *  - otherwise the exact multinomial test (core/stat) over cells of N·p ≥ 1 (at most
 *    CALIB_EXACT_CELLS, the rest pooled), the last two cells merged while there are more than
 *    STAT_EXACT_MAX outcomes.  A single cell (a certain token) gives p = 1.
 * flag: p < CALIB_ALPHA — the samples do not follow the reported probabilities: truncated
 * sampling (top_p, top_k, min_p), temperature ≠ 1, or a server that samples otherwise than
 * it reports (llama.cpp reports probabilities after its samplers: those follow).
 * Groups: the samples by near-duplicate group (core/merge), each group's share of the
 * samples beside its sequence probability — the sum over its distinct texts of
 * exp(Σ token logprobs), a lower bound of the group's probability (unseen members add to
 * it); NaN when a member lacks logprobs.  The CALIB_GROUPS largest groups are kept. */
#ifndef CORE_CALIB_H
#define CORE_CALIB_H
#include "core/merge.h"
#include "core/tree.h"
#include <stddef.h>
#include <stdint.h>

#define CALIB_MIN_SAMPLES 8
#define CALIB_ALPHA       0.01
#define CALIB_EXACT_CELLS 6
#define CALIB_GROUPS      20

typedef struct {
    int32_t leader;
    size_t  count;
    double  share;          /* count / samples */
    double  probability;    /* summed sequence probability of its distinct texts */
} calib_group;

typedef struct {
    int32_t node;
    size_t  samples;        /* N */
    size_t  excluded;       /* children with logprobs made with other settings */
    size_t  shown;          /* first-token texts with a reported probability */
    double  other;          /* predicted mass of the texts none of the children shows */
    double  tv;
    double  p_value;
    double  statistic;      /* χ² (NaN for the exact test) */
    int     exact;          /* 1: exact multinomial, 0: χ² */
    size_t  cells;          /* cells of the test after pooling */
    int     flag;
    char    reason[128];    /* when flagged: what in the settings explains it, or the server */
    calib_group *groups;    /* largest first (ties: earliest leader); NULL without merge */
    size_t  ngroups;
} calib_result;

/* The figures of node id's children.  m (may be NULL: no groups) groups them.  Returns 0
 * when the node qualifies, -1 when it does not (out zeroed, node set). */
int  calib_node(const tree *t, merge_index *m, int32_t id, calib_result *out);
void calib_result_free(calib_result *r);
/* As JSON (json_t *, new reference): {"node", "samples", "tv", "p_value", "flag", "test"
 * ("chi2" or "exact"), "cells", "excluded", "other", "reason" (null unless flagged), "groups":
 * [{"leader", "samples", "share", "probability"}] (with_groups; probability null when
 * unknown)}.  NaN figures are null. */
void *calib_json(const calib_result *r, int with_groups);
/* One line: "32 samples, TV 0.08, p 0.41 (chi2)", then ", 3 with other settings left
 * out" and " - FLAGGED: not as reported (reason)" when they apply. */
void calib_format(const calib_result *r, char *line, size_t len);

/* The settings a node was made with, as a key: its "request" without seed, choice and
 * time, compact with sorted keys (caller frees); NULL when it has no record. */
char *calib_settings_key(const tree_node *n);

/* The test and TV for counts c[0..k) of N samples against p[0..k) (descending order is not
 * required) with predicted mass `other` never observed.  *exact, *cells, *stat (may be
 * NULL) say which test ran.  Returns the p-value. */
double calib_test(const size_t *c, const double *p, size_t k, double other, int *exact,
                  size_t *cells, double *stat);
double calib_tv(const size_t *c, const double *p, size_t k, double other);
#endif
