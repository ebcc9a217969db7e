/* core/llama.h — a Llama-architecture language model run from a GGUF file, on the CPU.
 *
 * llama_load reads and checks the file (architecture llama, gpt2 tokenizer, tensor shapes;
 * weights F32/F16/Q8_0, repacked to 8-bit blocks) and closes it: the model owns its weights.
 * A llama_ctx holds the KV cache for one shared prefix (the prompt) and up to `branches`
 * continuations of it, each with room for `gen` tokens.  llama_prefill computes the prompt
 * (reusing the cached part it shares with the previous prompt); llama_decode then advances
 * any set of branches by one token each as one batch: every weight is read once per step
 * for all of them.  Logits are the raw next-token scores, one row of n_vocab per item.
 * A ctx is used from one thread at a time; it may split matrix products over `threads`. */
#ifndef CORE_LLAMA_H
#define CORE_LLAMA_H
#include "core/bpe.h"
#include <stddef.h>
#include <stdint.h>

typedef struct llama_model llama_model;
typedef struct llama_ctx llama_ctx;

llama_model *llama_load(const char *path, char *err, size_t errlen);
void         llama_free(llama_model *m);
const bpe   *llama_tokenizer(const llama_model *m);
int          llama_n_ctx(const llama_model *m);
int          llama_n_vocab(const llama_model *m);
size_t       llama_weight_bytes(const llama_model *m);

llama_ctx *llama_ctx_new(const llama_model *m, int branches, int gen, int threads);
void       llama_ctx_free(llama_ctx *c);
int        llama_ctx_branches(const llama_ctx *c);
int        llama_ctx_gen(const llama_ctx *c);
/* Makes ids[0..n) the prefix (n <= n_ctx - gen) and clears every branch; logits of the
 * last prompt token go to `logits` (n_vocab floats).  Returns -1 when n is out of range. */
int  llama_prefill(llama_ctx *c, const int32_t *ids, int n, float *logits);
int  llama_prefix_len(const llama_ctx *c);
/* Feeds ids[i] to branch br[i] (distinct branches, each with fewer than gen tokens so far);
 * logits row i gets its next-token scores. */
void llama_decode(llama_ctx *c, const int32_t *ids, const int *br, int n, float *logits);
int  llama_branch_len(const llama_ctx *c, int br);
/* Log-probabilities of n logits into lp; returns the distribution's entropy in nats. */
double llama_log_softmax(const float *logits, int n, double *lp);
#endif
