/* core/score.h — scoring given text (teacher forcing) on the embedded runtime (core/llama.h),
 * and the divergence of two models along it.
 *
 * score_tokens feeds each continuation, token by token, after one context (computed once,
 * as the builtin backend does: prefill, then the continuations as one decode batch per
 * position), and reads off at every position the model's whole next-token distribution:
 * the logprob of the continuation's own token and, with a second model run in step, the
 * exact KL between the two distributions.  Scoring a text under the model that sampled it
 * gives back the logprobs the backend reported.  Logs are natural (nats).
 *
 * Token boundaries: a sample's recorded tokens are used when every one is a whole
 * vocabulary entry and together they spell the node's text (score_node_ids); otherwise (a
 * token cut by a stop string, tokens from another tokenizer, none recorded) context and
 * text are tokenized together and the continuation is the tokens after the context's
 * (score_split).  Both models must share the tokenizer (the shipped models do).
 *
 * Over backends that can score given text (backend_score: OpenAI legacy completions with
 * echo, vLLM; llama.cpp's server cannot), score_compare_backends: see below. */
#ifndef CORE_SCORE_H
#define CORE_SCORE_H
#include "core/backend.h"
#include "core/compare.h"
#include "core/llama.h"
#include "core/tree.h"
#include <stddef.h>
#include <stdint.h>

/* Per position of the continuations, flat (continuation i's positions follow those of
 * 0..i-1); any pointer may be NULL. */
typedef struct {
    double *lp0, *lp1;   /* log p of the continuation's token under m0, m1 */
    double *kl01;        /* KL(p0 || p1) = sum p0 (log p0 - log p1) of the next-token distributions */
    double *kl10;        /* KL(p1 || p0) */
} score_out;

/* Scores n continuations ids[i][0..len[i]) of the context ctx[0..nctx) (ids as the model's
 * tokenizer gives them, BOS first when it asks for one) under m0, and m1 in step when not
 * NULL (same vocabulary).  A context too long for the model is cut from the left, BOS
 * kept, as the backend does.  0 ok; -1 with one line in err. */
int score_tokens(const llama_model *m0, const llama_model *m1, const int32_t *ctx, int nctx,
                 const int32_t *const *ids, const int *len, int n, score_out *out,
                 char *err, size_t errlen);

/* Tokenizes context (BOS first when the tokenizer asks, BOS alone when empty) into *ctx and
 * context + text into the same, the continuation being the tokens past the context's:
 * *ids (malloc'd, may be empty).  Where the joined text merges across the boundary the
 * continuation starts at the first token that differs (and *nctx is cut to match). */
void score_split(const bpe *t, const char *context, size_t clen, const char *text, size_t len,
                 int32_t **ctx, int *nctx, int32_t **ids, int *n);

/* The ids of a node's recorded tokens, when each is a whole vocabulary entry and together
 * they are the node's text: their count (ids malloc'd); -1 otherwise. */
int score_node_ids(const bpe *t, const tree_node *nd, int32_t **ids);

/* Divergence of a comparison whose sides ran models m[0] (A) and m[1] (B): for each side s,
 * each complete sample's mean per-token log-ratio log p_s - log p_other (p_s: the sample's
 * recorded logprobs, or its rescored ones where it was re-tokenized; p_other: the text
 * scored under the other model after the same context), their mean over samples (a Monte
 * Carlo estimate of KL(s || other) per token), a 95% percentile bootstrap interval over
 * samples (1000 resamples, fixed seed: the same samples give the same interval), and the
 * exact per-position KL(s || other) with the same weighting (each sample's mean, then the
 * mean of those).  Fills r->kl.  Each sample scored at its own recorded tokens also gets
 * "logratio": [log p_s - log p_other per token] (nats, 4 decimals) for jsonl export and the
 * TUI's tint.  0 ok; -1 with err. */
int score_compare(tree *t, compare_result *r, const llama_model *m[2], char *err, size_t errlen);

/* The mean of v[0..n) (n >= 1) and its 95% percentile bootstrap interval (as above). */
void score_bootstrap(const double *v, size_t n, double *mean, double *lo, double *hi);

/* The same divergence through backends (core/score_remote.c): each complete sample of side
 * s, after the compared node's text, is scored (backend_score) by the other side's backend
 * and by its own.  Tokenizations may differ, so a sample's log-ratio is over its span: the
 * sum of the logprobs of the tokens that cover its text (found from the end of the scored
 * prompt; a token across the boundary counts), own minus other, divided by the own token
 * count; without own scoring, the sample's recorded logprobs (all of them known) are used.
 * The exact per-position KL is computed only where both sides' tokens line up and both
 * lists of alternatives hold the whole distribution (their probabilities sum to 1 within
 * 1e-3: a server asked for at least the vocabulary); else exact_known = 0.  A side whose
 * other backend cannot score, or whose every sample failed, is left unknown with the
 * reason in kl.note; samples that fail alone are skipped and counted.  Blocks until every
 * request ended (the backends' idle timeouts bound it); takes over the backends' event
 * sinks meanwhile and clears them after.  s[i]: the settings side i was sampled with
 * (model, base URL, logprobs = alternatives asked).  Returns the number of sides known. */
int score_compare_backends(const tree *t, compare_result *r, backend *be[2], const gen_settings *s[2]);
#endif
