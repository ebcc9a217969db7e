/* tests/fuzz/fuzz_loom.c — libFuzzer target over the import detector and parsers
 * (socketteer/loom, loomsidian, miniloom with its patch applier, bonsai) and, when an
 * input imports, over every export. */
#include "core/formats.h"
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    session s;
    session_init(&s);
    if (formats_import_mem((const char *)data, size, "fuzz.json", NULL, &s, NULL, err, sizeof err) == FORMATS_OK) {
        static const formats_out outs[] = { FORMATS_OUT_LOOM, FORMATS_OUT_JSONL, FORMATS_OUT_MD,
                                            FORMATS_OUT_DOT, FORMATS_OUT_JSON };
        for (size_t i = 0; i < sizeof outs / sizeof *outs; i++) {
            size_t len;
            free(formats_export(&s, outs[i], TREE_NONE, &len, err, sizeof err));
        }
    }
    session_free(&s);
    /* the patch_toText form on its own, against a fixed text */
    json_t *p = json_stringn((const char *)data, size);
    if (p) {
        static const char text[] = "Once upon a time, \xF0\x9F\xA6\x8A there was a fox.";
        size_t len;
        free(formats_patch_apply(p, text, sizeof text - 1, &len, err, sizeof err));
        json_decref(p);
    }
    return 0;
}
