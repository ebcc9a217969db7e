/* tests/fuzz/fuzz_gguf.c — libFuzzer target: the GGUF reader never crashes nor reads outside
 * its input; a file it accepts has every tensor inside the input, and its tokenizer and
 * model loader (given the same bytes as a file) refuse or accept it without crashing. */
#include "core/bpe.h"
#include "core/gguf.h"
#include "core/llama.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    /* an exact-size copy, so that a read past the end is caught */
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    gguf *g = gguf_open_mem(copy, size, err, sizeof err);
    if (!g) {
        if (!err[0] || strchr(err, '\n'))
            abort();                 /* a refusal is one non-empty line */
        free(copy);
        return 0;
    }
    for (size_t i = 0; i < gguf_tensor_count(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        const uint8_t *p = t->data;
        if (p < copy || t->nbytes > size || p + t->nbytes > copy + size || !t->nbytes)
            abort();
        volatile uint8_t sink = p[0] ^ p[t->nbytes - 1];
        (void)sink;
    }
    bpe *tok = bpe_from_gguf(g, err, sizeof err);
    if (tok) {
        int32_t *ids;
        size_t n = bpe_encode(tok, "Hello, world! 123\n<s>", 21, 1, &ids);
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0 || (size_t)ids[i] >= bpe_vocab_size(tok))
                abort();
        free(ids);
        bpe_free(tok);
        /* the loader reads files: give it these bytes as one */
        char path[64];
        snprintf(path, sizeof path, "/tmp/fuzz_gguf.%ld.gguf", (long)getpid());
        FILE *f = fopen(path, "wb");
        if (f) {
            int ok = fwrite(data, 1, size, f) == size;
            if (fclose(f) == 0 && ok) {
                llama_model *m = llama_load(path, err, sizeof err);
                if (!m && (!err[0] || strchr(err, '\n')))
                    abort();
                llama_free(m);
            }
            unlink(path);
        }
    }
    gguf_close(g);
    free(copy);
    return 0;
}
