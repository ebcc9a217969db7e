/* tests/fuzz/fuzz_loom.c — libFuzzer target over the import detector and parsers
 * (socketteer/loom, loomsidian, miniloom with its patch applier, bonsai) and, when an
 * input imports, over every export.  A loom tree read by the scanner (the default) and one
 * imported with its token lists cut out (=split) must give what the whole-document parse
 * gives (TERMLOOM_IMPORT_PARSER=document): the same session, summary line or message. */
#include "core/formats.h"
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Nodes without a timestamp are created "now": the clock may tick between two imports.
 * (A session's bytes hold no NUL: session_dump's text is one C string.) */
static void mask_created(char *d, size_t n)
{
    static const char key[] = "\"created\":";
    (void)n;
    for (char *p = strstr(d, key); p; p = strstr(p, key))
        for (p += sizeof key - 1; *p >= '0' && *p <= '9'; p++)
            *p = '0';
}

/* The import as bytes (the session it gives, or its message and summary); caller frees. */
static char *outcome(const uint8_t *data, size_t size, const char *how, size_t *len)
{
    char err[512], summary[512];
    session s;
    session_init(&s);
    if (how)
        setenv("TERMLOOM_IMPORT_PARSER", how, 1);
    else
        unsetenv("TERMLOOM_IMPORT_PARSER");
    formats_opts o = { .summary = summary, .summarylen = sizeof summary };
    int rc = formats_import_mem((const char *)data, size, "fuzz.json", &o, &s, NULL, err, sizeof err);
    unsetenv("TERMLOOM_IMPORT_PARSER");
    char *d;
    if (rc == FORMATS_OK) {
        size_t n;
        char *dump = session_dump(&s, &n);
        mask_created(dump, n);
        d = malloc(n + strlen(summary) + 2);
        memcpy(d, dump, n);
        d[n] = '|';
        memcpy(d + n + 1, summary, strlen(summary) + 1);
        *len = n + 1 + strlen(summary);
        free(dump);
    } else {
        d = malloc(strlen(err) + 16);
        *len = (size_t)sprintf(d, "%d %s", rc, err);
    }
    session_free(&s);
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    size_t la, lb;
    /* the scanner (the default, and with its helper thread reading the token lists first),
     * the cut and the whole document agree on every input */
    static const char *const ways[] = { NULL, "helper", "split" };
    char *b = outcome(data, size, "document", &lb);
    for (size_t w = 0; w < sizeof ways / sizeof *ways; w++) {
        char *a = outcome(data, size, ways[w], &la);
        if (la != lb || memcmp(a, b, la)) {
            fprintf(stderr, "%s and whole-document imports differ:\n%.*s\n%.*s\n",
                    ways[w] ? ways[w] : "scanner", (int)la, a, (int)lb, b);
            abort();
        }
        free(a);
    }
    free(b);
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
