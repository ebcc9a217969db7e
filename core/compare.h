/* core/compare.h — A/B comparison: one prompt, two generation configs, N samples each,
 * measured the same way on both sides (the "base vs tuned" mode-collapse measurement).
 *
 * Layout in the tree (so a comparison is saved with the session and can be reopened):
 *   compared node
 *   ├── label A   origin edit, text "", extra {"compare": "A", "config": {...}, "samples": N}
 *   │   └── N samples (origin model)
 *   └── label B   same with "B"
 * A label adds no text, so the samples continue exactly the compared node's path text.
 * Names: a SPEC may hold name=TEXT (not a generation option: compare_spec_name takes it out
 * before the rest goes to settings_apply_spec; the label keeps it as "name").  Without one
 * a side is named when read: the config's model, else the model its samples report (a
 * backend's default), else host:port of base_url, else the backend.
 *
 * Figures per side (compare_stats), over the complete samples (a branch whose generation
 * failed part way is kept in the tree but left out of the figures; a sample that fails is
 * tried once more, and one that fails again is listed in its label's "failed"):
 *   groups       near-duplicate groups of the samples (core/merge similarity and grouping
 *                rule, at the threshold given: the merge_threshold setting), largest first;
 *   entropy      H = -Σ (c_g/N) log2(c_g/N) over groups, in bits; entropy_norm = H / log2 N
 *                (1 when every sample differs, 0 when all are one group; 0 for N < 2);
 *   token_entropy mean token entropy in bits over every token of every sample, each from
 *                its top-k alternatives with the leftover mass as one outcome: a lower bound;
 *                exact where the tokens carry the model's own figure (builtin);
 *   distinct_n   distinct word n-grams ÷ total word n-grams over all samples (n = 1, 2, 3);
 *                n-grams do not cross samples; a word is one of merge_normalize's words
 *                (core/merge.h: white-space separated, NFKC + case folded, end punctuation
 *                stripped) — the same words merging and phrase attractors see.
 * Attractors: a group is a side's attractor when it holds at least COMPARE_ATTRACTOR_MIN
 * samples.  A pair of groups (one per side) whose representatives are near-duplicates is a
 * shared group; shared groups that are an attractor on either side are the shared
 * attractors.  Attractors with no counterpart on the other side are that side's own.
 * ("Attractor" here is a repeated outcome — a group of ≥ 2 samples of one context — not the
 * tree's attractor, which needs several different parents; the outputs call them repeated.)
 * Shared phrases: word n-grams (n = 4..8, core/attractor's phrase attractors) that occur
 * in samples of both sides; closed: a phrase inside a longer shared one is not listed.
 * Over-represented words and phrases ("Fightin' Words", Monroe, Colaresi & Quinn 2008): for
 * every word n-gram w (n = 1..3 words, counted per occurrence, words as for distinct-n),
 * with y_w^S its count on side S and n^S the side's total n-grams of that length,
 *   delta_w = log((y_w^A+α_w)/(n^A+α0−y_w^A−α_w)) − log((y_w^B+α_w)/(n^B+α0−y_w^B−α_w)),
 *   var_w ≈ 1/(y_w^A+α_w) + 1/(y_w^B+α_w),   z_w = delta_w / sqrt(var_w),
 * an informative Dirichlet prior from the pooled counts: α_w = α0 · pooled_w / pooled, with
 * α0 = pooled (the number of n-grams of that length on both sides), i.e. α_w = pooled_w —
 * the prior weighs as much as the data, so rare n-grams are shrunk hard.  Side A lists the
 * n-grams with z > COMPARE_TERM_Z, side B those with z < −COMPARE_TERM_Z (as |z|), the
 * COMPARE_TERM_MAX highest first. */
#ifndef CORE_COMPARE_H
#define CORE_COMPARE_H
#include "core/backend.h"
#include "core/grow.h"
#include "core/settings.h"
#include "core/tree.h"
#include <stddef.h>

#define COMPARE_DEFAULT_SAMPLES 32
#define COMPARE_MAX_SAMPLES     512
#define COMPARE_ATTRACTOR_MIN   2
#define COMPARE_TERM_WORDS      3      /* over-represented n-grams of 1..3 words */
#define COMPARE_TERM_MAX        10
#define COMPARE_TERM_Z          1.96

/* ---- statistics over a set of texts (pure functions) ---- */

/* distinct-n over texts (word level, see above): distinct n-grams ÷ total n-grams; 0 when
 * there are no n-grams.  *total and *distinct (if not NULL) get the two counts. */
double compare_distinct_n(const char *const *texts, size_t ntexts, int n,
                          size_t *distinct, size_t *total);

/* The word n-grams of each text as key numbers (equal n-grams, equal numbers, 0..distinct−1):
 * text i's are (*keys)[(*off)[i] .. (*off)[i+1]) (both malloc'd).  Returns the distinct count. */
size_t compare_ngram_keys(const char *const *texts, size_t ntexts, int n, size_t **keys,
                          size_t **off);

/* The log-odds z of a term (see above) with count y of n on this side, y_other of n_other on
 * the other, prior α_w of total α0; *delta (if not NULL) gets the log-odds ratio. */
double compare_logodds_z(double y, double n, double y_other, double n_other, double alpha_w,
                         double alpha0, double *delta);

typedef struct {
    char  *text;          /* the words, folded, joined by one space */
    int    words;         /* 1..COMPARE_TERM_WORDS */
    double z, delta;      /* z > 0: over-represented on this side */
    size_t count, count_other;   /* occurrences on this side and on the other */
} compare_term;

/* For each side (texts[s], ntexts[s]) the terms over-represented against the other, at
 * most max with z > zmin, highest z first (ties: more occurrences first, then text).
 * out[s] (NULL when none) is freed with compare_terms_free. */
void compare_overrepresented(const char *const *texts[2], const size_t ntexts[2], size_t max,
                             double zmin, compare_term *out[2], size_t nout[2]);
void compare_terms_free(compare_term *t, size_t n);

typedef struct {
    size_t  count;
    size_t  rep;          /* sample index of the first member */
    size_t *members;      /* sample indices, ascending */
} compare_group;

typedef struct {
    size_t         n;               /* samples */
    size_t         ngroups;
    compare_group *groups;          /* largest first; ties: earliest first member first */
    double         entropy;         /* bits */
    double         entropy_norm;
    double         token_entropy;   /* bits; NAN when no token carried logprobs */
    size_t         ntokens;         /* tokens with logprobs that went into token_entropy */
    int            token_entropy_exact;  /* every token's distribution was complete */
    double         token_entropy_lower, token_entropy_upper;   /* the interval (core/entropy.h,
                                     * each node's V): mean over tokens; upper NAN when V is
                                     * unknown for some token, both NAN when no logprobs */
    double         distinct[3];     /* distinct-1, -2, -3 */
} compare_stats;

/* Fills st from texts already grouped: group_of[i] is sample i's group (any integers;
 * equal means same group).  Token entropy is left NAN (no tokens here). */
void compare_stats_from_groups(compare_stats *st, const char *const *texts, size_t n,
                               const int *group_of);
/* Groups texts by near-duplicate similarity (core/merge) at threshold, then as above. */
void compare_stats_from_texts(compare_stats *st, const char *const *texts, size_t n,
                              double threshold);
void compare_stats_free(compare_stats *st);

/* ---- a comparison read from a tree ---- */

typedef struct {
    size_t a, b;                    /* group indices in side A, side B */
    double similarity;
} compare_match;

typedef struct {
    char  *text;                    /* the phrase, normalized (core/merge) */
    size_t count[2];                /* samples of A and of B holding it */
} compare_phrase;

/* How surprising a side's own samples are to the other side's model (core/score.h fills
 * it: both sides on the embedded runtime, or the other side's backend can score given
 * text; known = 0 otherwise, with the reason in note), nats per token. */
typedef struct {
    int    known;
    double value, low, high;        /* Monte Carlo KL(side || other): mean over samples of the
                                     * per-token log-ratio, 95% bootstrap interval */
    int    exact_known;             /* both whole next-token distributions were known */
    double exact;                   /* exact per-position KL(side || other), same weighting */
    size_t samples, tokens;
    size_t retokenized;             /* samples whose recorded tokens could not be used */
    size_t skipped;                 /* HTTP: samples whose scoring failed or did not line up */
    char   note[240];               /* why not known / what was left out ("" when nothing) */
} compare_kl;

/* A figure with its 95% bootstrap interval (core/stat: 1000 resamples of the samples,
 * fixed seed); for a difference A − B, `outside` says the interval excludes 0. */
typedef struct {
    double value, low, high;
    int    outside;
} compare_ci;

typedef struct {
    int        known;                /* compare_result_intervals ran */
    compare_ci token_entropy;        /* bits/token, each token weighing the same */
    compare_ci entropy;              /* branch entropy over the groups, bits */
    compare_ci groups;
    compare_ci distinct[3];
} compare_intervals;

typedef struct {
    int32_t       label[2];         /* label nodes A and B */
    void         *config[2];        /* json_t * objects (borrowed from the labels) */
    int32_t      *ids[2];           /* sample node ids per side, in order */
    compare_stats side[2];
    compare_match *shared;          /* near-duplicate group pairs, most samples first */
    size_t        nshared;
    compare_phrase *phrases;        /* phrases (4-8 words) found on both sides, most samples first */
    size_t        nphrases;
    size_t        incomplete[2];    /* sample nodes cut short (generation failed part way) */
    void         *failed[2];        /* json_t * list [{"index", "error"}] of the samples that
                                     * failed twice (tried again once) and are missing: from
                                     * the label's "failed" (borrowed); NULL when none */
    char         *prompt;           /* path text of the compared node */
    compare_kl    kl[2];            /* zeroed by compare_result_load; see score_compare */
    char         *name[2];          /* the sides' names (label "name", else from the config) */
    compare_term *over[2];          /* over-represented words and phrases per side */
    size_t        nover[2];
    compare_intervals ci[2];        /* per side; zeroed by compare_result_load */
    compare_intervals diff;         /* A − B: bootstrap interval of the difference */
} compare_result;

/* The KL as JSON ({value, low, high, exact (null when not known), exact_known, samples,
 * tokens, skipped?, note?}; new reference), and stored on the labels ("kl_to_other", or
 * "kl_to_other_note" when only the reason is known) so that a saved comparison keeps it:
 * compare_result_load reads it back into r->kl. */
void *compare_kl_json(const compare_kl *k);
void  compare_kl_store(tree *t, const compare_result *r);

/* name=TEXT items of a SPEC: *name gets the last one's text (trimmed; NULL when none or
 * empty; caller frees); returns the SPEC without them (caller frees). */
char *compare_spec_name(const char *spec, char **name);
/* A side's default name from its config (json_t *): the model, else host:port of base_url,
 * else the backend, else "" (caller frees). */
char *compare_config_name(const void *config);

/* The settings of a side as a JSON object (json_t *, new reference): the saved options,
 * numbers as numbers, empty strings left out. */
void *compare_config_json(const gen_settings *s);
/* Finds the most recent comparison under `at` (the last A and last B label children) and
 * measures it.  0 ok; -1 with err when `at` holds no comparison. */
int  compare_result_load(compare_result *r, const tree *t, int32_t at, double threshold,
                         char *err, size_t errlen);
/* Fills r->ci and r->diff (core/compare_ci.c): each side's samples resampled with replacement
 * (a sample keeps its group, its tokens' entropies and its word n-grams), the figure
 * recomputed per resample; the difference resamples A and B independently. */
void compare_result_intervals(compare_result *r, const tree *t);
void compare_result_free(compare_result *r);
/* Whether side's group g is matched on the other side (index into r->shared, or -1). */
int  compare_result_match_of(const compare_result *r, int side, size_t g);
/* Is node id a comparison label?  Returns 'A', 'B', or 0. */
int  compare_label_side(const tree *t, int32_t id);
/* The name of a label (caller frees), or NULL when id is not a label. */
char *compare_label_name(const tree *t, int32_t id);
/* What to show for a label ("compare B: rl · builtin temperature=0.2", the name whole;
 * caller frees), or NULL when id is not a label. */
char *compare_label_text(const tree *t, int32_t id);

/* ---- sampling: both sides at once, without blocking ---- */

typedef struct compare_run compare_run;

/* A run over tree t from node `at`.  be[i] generates side i with settings s[i]; the same
 * backend may serve both sides (be[0] == be[1]: the run routes its events to each side by
 * request).  The run takes over the backends' event sinks while it lives; the caller keeps ownership of the backends and the tree.  `after`
 * (may be NULL) hears every backend event once the tree was updated. */
compare_run *compare_run_new(tree *t, int32_t at, backend *be[2], const gen_settings *s[2],
                             int nsamples, backend_event_fn after, void *ud);
void compare_run_free(compare_run *r);
/* Names side i (before compare_run_start; NULL or "" for the default name). */
void compare_run_set_name(compare_run *r, int side, const char *name);
/* Adds the two labels and starts both sides.  0 ok; -1 with err (nothing started). */
int  compare_run_start(compare_run *r, char *err, size_t errlen);
/* Makes progress on both sides; returns the number of requests still active. */
int  compare_run_pump(compare_run *r);
/* Waits up to timeout_ms for either side (or one of fds) to be ready: as backend_wait. */
int  compare_run_wait(compare_run *r, const int *fds, int nfds, int timeout_ms, int *fd_ready);
/* The two sides' backends (the same one twice when they share it), for a caller that waits
 * on them together with its own (backend_wait_many). */
int  compare_run_backends(const compare_run *r, backend **out);
void compare_run_cancel(compare_run *r);
int  compare_run_active(const compare_run *r);
/* Branches ended / failed so far on side i, tokens received on side i. */
void compare_run_progress(const compare_run *r, int side, int *ended, int *failed, size_t *tokens);
int32_t compare_run_label(const compare_run *r, int side);
/* The last error message of a side (NULL if none). */
const char *compare_run_error(const compare_run *r, int side);
#endif
