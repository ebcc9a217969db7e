/* core/ngram.h — the builtin backend: a word-level n-gram language model with interpolated
 * modified Kneser-Ney smoothing, trained when it is created.
 *
 * Tokens: a token is a word WITH its leading white space, newlines included (" loom",
 * "\n\nThe"), or one punctuation character with its leading white space (" (", ",");
 * white space at the very end forms a token of its own.  Word characters are ASCII letters,
 * digits, '_', an apostrophe between word characters ("don't"), and every byte >= 0x80, so
 * a UTF-8 character is never split.
 *
 * Model: order N (1..4).  The highest order uses raw counts, lower orders use continuation
 * counts (how many distinct tokens precede the n-gram).  Each order has three discounts
 * D1, D2, D3+ from its count-of-counts (Chen & Goodman).  The recursion ends in a uniform
 * distribution over the vocabulary plus one unknown token (id 0), so every context — seen
 * or not, holding unknown words or not — gets a proper distribution: ngram_distribution
 * fills the exact probability of every id, and they sum to 1.
 *
 * Sampling (the backend): temperature (0 = argmax), top_p, max_tokens, stop strings, seed.
 * The unknown token is never sampled nor listed as an alternative.  Reported logprobs are
 * natural logs of the model's own (temperature 1) probability of the token, whatever the
 * sampling settings; the alternatives are the most probable tokens under that same
 * distribution, so they are exact, not estimates. */
#ifndef CORE_NGRAM_H
#define CORE_NGRAM_H
#include "core/backend.h"
#include <stddef.h>
#include <stdint.h>

#define NGRAM_MAX_ORDER 4

typedef struct ngram_model ngram_model;

/* End (exclusive) of the token that starts at pos (pos < len). */
size_t ngram_next_token(const char *s, size_t len, size_t pos);

/* Trains on text (any bytes; invalid UTF-8 is replaced by U+FFFD, a NUL byte or a
 * majority of invalid bytes is refused as "not a text file").  name is used in messages.
 * NULL with "NAME: problem" in err. */
ngram_model *ngram_train(const char *text, size_t len, int order, const char *name,
                         char *err, size_t errlen);
/* Trains on a file, or on the corpus built into the program when path is NULL. */
ngram_model *ngram_load(const char *path, int order, char *err, size_t errlen);
void ngram_free(ngram_model *m);
/* The corpus embedded at build time (doc/corpus.txt). */
const char *ngram_default_corpus(size_t *len);

int      ngram_order(const ngram_model *m);
size_t   ngram_vocab_size(const ngram_model *m);        /* ids 0..size-1; 0 is unknown */
size_t   ngram_corpus_tokens(const ngram_model *m);
const char *ngram_token_text(const ngram_model *m, uint32_t id, size_t *len);
uint32_t ngram_token_id(const ngram_model *m, const char *tok, size_t len);   /* 0: unknown */
/* The discounts D1, D2, D3+ of an order (1..N). */
void     ngram_discounts(const ngram_model *m, int order, double d[3]);

/* The last (order-1) token ids of text, oldest first; returns how many (fewer when the
 * text is short).  ids must hold NGRAM_MAX_ORDER - 1 entries. */
size_t ngram_context(const ngram_model *m, const char *text, size_t len, uint32_t *ids);
/* The exact next-token distribution after the context ids: p[id] for every id.
 * Returns w, the weight the context leaves to the order-1 distribution: every id that no
 * higher order contributed to has p[id] == w * ngram_unigram(m)[id] exactly. */
double ngram_distribution(const ngram_model *m, const uint32_t *ctx, size_t nctx, double *p);
/* The order-1 distribution (uniform base included), vocab_size entries. */
const double *ngram_unigram(const ngram_model *m);

/* The builtin backend (core/backend.h) over a model trained on corpus_path (NULL: the
 * built-in corpus).  start() only records the request; pump() samples for a few
 * milliseconds, round-robin over the active branches; wait() returns at once while there
 * is work.  Branch i of a request uses a seed derived from (seed, context, i): the same seed
 * and context give the same branches, different nodes get independent streams; without a
 * seed, a random one.  NULL with one line "FILE: problem" in err. */
backend *ngram_backend_new(const char *corpus_path, char *err, size_t errlen);
/* The model of an ngram backend (for tests and tools). */
const ngram_model *ngram_backend_model(const backend *b);
#endif
