/* core/merge.h — near-duplicate siblings folded into groups (SPEC §4 "Merge").
 *
 * Contract:
 *  - Normalization (merge_normalize): the text is cut into words at white space; each word
 *    gets Unicode NFKC + case folding (utf8proc), typographic punctuation mapped to ASCII
 *    (’‘ → ', “”«» → ", ‐–—− → -), and punctuation stripped from both of its ends; empty
 *    words are dropped; the words are joined by single spaces.  So case, white space,
 *    punctuation variants and trailing punctuation vanish: "Yes." "yes!" " YES " → "yes";
 *    "Hello,  World" → "hello world"; "don’t" → "don't".
 *  - Similarity (merge_similarity, in [0,1], symmetric; 1 for equal normalized texts):
 *    words are the space-separated pieces of the normalized text.
 *      * short texts (both ≤ MERGE_SHORT_WORDS words): 1 − D / max(words_a, words_b), where D
 *        is a word-level Levenshtein distance whose substitution cost is the character-level
 *        normalized edit distance of the two words (lev / longer length, in code points).
 *        "The answer is 4" vs "The answer is 5" → 0.75; "colour is nice" vs "color is
 *        nice" → 0.94.
 *      * longer texts: Jaccard index of the sets of word 2-shingles (bigrams).  Two texts
 *        sharing a long prefix and then diverging share only the prefix's bigrams, so they
 *        score about prefix/total and do not merge.
 *      * two empty texts are equal (1); empty vs non-empty is 0.
 *  - Grouping: the children of one parent, in child order; each child joins the first earlier
 *    group whose leader (first member) has similarity ≥ threshold, else starts a group.
 *    Deterministic, a function of the texts and their order only.  An empty node that the
 *    model did not write (origin prompt/edit/forced, e.g. a compare label) stands alone.
 *  - Non-destructive: groups are a view.  Nothing in the tree is changed or hidden.
 *  - Incremental: the index observes the tree (add/text/delete/undelete events mark the
 *    parent dirty in O(1)); a parent's groups are recomputed on the next query about it,
 *    comparing each child with the first 64 groups and then only with later groups that
 *    share a key with it (normalized text, word-edit keys, prefix-filter bigrams; see
 *    merge.c), so about O(siblings) similarity checks on cached per-node features.
 *    tree_set_parent sends no event: make the index after a loader has built the tree.
 *  - Pointers/arrays returned are owned by the caller unless stated. */
#ifndef CORE_MERGE_H
#define CORE_MERGE_H
#include "core/mem.h"
#include "core/tree.h"
#include <stddef.h>
#include <stdint.h>

#define MERGE_DEFAULT_THRESHOLD 0.8
#define MERGE_SHORT_WORDS 16

/* One word of a text: raw byte range [start, end) in the text and the hash of its
 * normalized form (also used by core/attractor for shingles and phrase spans). */
typedef struct merge_word {
    uint32_t start, end;
    uint64_t hash;
} merge_word;
/* The words of s (as merge_normalize cuts them) into *out (caller frees); returns the count.
 * norm (may be NULL) receives the normalized text. */
size_t merge_words(const char *s, size_t len, merge_word **out, buf *norm);

/* Writes the normalized form of s[0..len) into out (cleared first). */
void   merge_normalize(const char *s, size_t len, buf *out);
/* Similarity of two raw texts (normalizes both). */
double merge_similarity(const char *a, size_t alen, const char *b, size_t blen);
/* Similarity of two already-normalized texts. */
double merge_similarity_norm(const char *a, size_t alen, const char *b, size_t blen);

/* A text's cached comparison features (normalized words, bigram set), for callers that
 * compare one text many times (core/attractor).  need > 0 lets the comparison stop early:
 * the result is exact when it is ≥ need and some value < need otherwise. */
typedef struct merge_text merge_text;
merge_text *merge_text_new(const char *s, size_t len);
void        merge_text_free(merge_text *x);
double      merge_text_similarity(const merge_text *a, const merge_text *b, double need);

typedef struct merge_index merge_index;

typedef struct merge_group {
    int32_t  leader;      /* first member in child order: the row shown */
    uint32_t count;       /* members (≥ 1) */
} merge_group;

/* Builds the groups of every parent of t and observes t.  threshold in [0,1]. */
merge_index *merge_index_new(tree *t, double threshold);
void    merge_index_free(merge_index *m);        /* also stops observing */
void    merge_set_threshold(merge_index *m, double threshold);   /* regroups lazily */
double  merge_get_threshold(const merge_index *m);
/* Increases whenever any grouping may have changed (views cache against it). */
uint64_t merge_version(const merge_index *m);

/* The leader of id's group (id itself when alone or a root); TREE_NONE for a dead id. */
int32_t merge_leader(merge_index *m, int32_t id);
/* Members in id's group (1 when alone, 0 for a dead id). */
size_t  merge_count(merge_index *m, int32_t id);
/* Members of id's group in child order into *out (caller frees); returns the count. */
size_t  merge_members(merge_index *m, int32_t id, int32_t **out);
/* Groups up to `budget` more of parent's children (a huge fan-out is grouped a slice at a
 * time between keys); 1 when parent's grouping is complete, so the calls below are cheap. */
int     merge_group_step(merge_index *m, int32_t parent, size_t budget);
/* Groups among parent's children, in the order of their leaders (caller frees *out). */
size_t  merge_groups(merge_index *m, int32_t parent, merge_group **out);

/* Branch entropy of parent over its merged child groups, in bits: −Σ (c/n) log2(c/n) with
 * c the group sizes and n the children.  *normalized (may be NULL) gets it divided by
 * log2(n) (0 when n < 2).  Eight spellings of one answer → 0 bits. */
double  merge_branch_entropy(merge_index *m, int32_t parent, double *normalized);
#endif
