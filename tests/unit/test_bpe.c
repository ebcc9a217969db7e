/* tests/unit/test_bpe.c — the GPT-2 tokenizer against llama.cpp's recorded tokenizations. */
#include "tests/test.h"
#include "core/bpe.h"
#include "core/gguf.h"
#include <jansson.h>
#include <stdlib.h>

TEST(bpe_matches_llamacpp)
{
    const char *fx = test_fixture("gguf/tokenize.json");
    REQUIRE(fx);
    json_error_t je;
    json_t *root = json_load_file(fx, 0, &je);
    REQUIRE(root);
    char err[256];
    gguf *g = gguf_open("models/base.gguf", err, sizeof err);
    REQUIRE(g);
    bpe *t = bpe_from_gguf(g, err, sizeof err);
    REQUIRE(t);
    CHECK_INT(bpe_vocab_size(t), 2048);
    CHECK_INT(bpe_bos(t), 0);
    CHECK(bpe_adds_bos(t));
    json_t *cases = json_object_get(root, "cases");
    size_t ci;
    json_t *c;
    int ncases = 0;
    json_array_foreach(cases, ci, c) {
        const char *text = json_string_value(json_object_get(c, "text"));
        size_t tl = json_string_length(json_object_get(c, "text"));
        json_t *want = json_object_get(c, "ids");
        int32_t *ids;
        size_t n = bpe_encode(t, text, tl, 0, &ids);
        int same = n == json_array_size(want);
        for (size_t i = 0; same && i < n; i++)
            same = ids[i] == json_integer_value(json_array_get(want, i));
        CHECKF(same, "'%s': %zu ids, expected %zu", text, n, json_array_size(want));
        /* Decoding the ids gives the text back. */
        char *back = malloc(tl + 64);
        size_t bl = 0;
        for (size_t i = 0; i < n; i++) {
            size_t l;
            const char *p = bpe_piece(t, ids[i], &l);
            if (bl + l < tl + 64) {
                memcpy(back + bl, p, l);
                bl += l;
            }
        }
        CHECKF(bl == tl && !memcmp(back, text, tl), "'%s' does not decode to itself", text);
        free(back);
        free(ids);
        ncases++;
    }
    CHECK(ncases >= 10);
    int32_t *ids;
    size_t n = bpe_encode(t, "", 0, 1, &ids);
    CHECK(n == 1 && ids[0] == 0);
    free(ids);
    bpe_free(t);
    gguf_close(g);
    json_decref(root);
}
