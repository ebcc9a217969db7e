/* core/bpe.h — the GPT-2 byte-level BPE tokenizer, built from a GGUF file's metadata
 * (tokenizer.ggml.model = gpt2: tokens, merges, token types, BOS id, add_bos_token).
 *
 * Encoding: special tokens (control and user-defined types) are matched literally first;
 * the text between them is split by GPT-2's pre-tokenizer rules (contractions, letters,
 * numbers, other symbols, whitespace; Unicode categories from utf8proc), each piece's bytes
 * are mapped to GPT-2's printable characters, and merges are applied lowest rank first.
 * Decoding gives each token's raw bytes (a token may hold part of a UTF-8 character). */
#ifndef CORE_BPE_H
#define CORE_BPE_H
#include "core/gguf.h"
#include <stddef.h>
#include <stdint.h>

typedef struct bpe bpe;

/* NULL with one line in err when the metadata is missing or not a gpt2 tokenizer. */
bpe   *bpe_from_gguf(const gguf *g, char *err, size_t errlen);
void   bpe_free(bpe *t);
/* Token ids of text (BOS first when add_bos); *ids is malloc'd (caller frees). */
size_t bpe_encode(const bpe *t, const char *text, size_t len, int add_bos, int32_t **ids);
/* Raw bytes of a token (special tokens: their text). */
const char *bpe_piece(const bpe *t, int32_t id, size_t *len);
size_t bpe_vocab_size(const bpe *t);
int32_t bpe_bos(const bpe *t);
int32_t bpe_eos(const bpe *t);
int    bpe_adds_bos(const bpe *t);      /* the metadata asks for BOS on every prompt */
int    bpe_is_special(const bpe *t, int32_t id);
#endif
