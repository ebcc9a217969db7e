/* tests/unit/loom_import.h — what the socketteer/loom import tests share: one import of a
 * document by a chosen path (TERMLOOM_IMPORT_PARSER: NULL the default, "document", "cut",
 * "split", "scan"), its outcome kept as bytes (the session's dump and its loom export), and
 * the comparison of two outcomes.  Static functions: included by one test file each. */
#ifndef TESTS_LOOM_IMPORT_H
#define TESTS_LOOM_IMPORT_H
#include "core/formats.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    int    rc;
    char   err[1024], summary[1024];
    char  *dump, *loom;
    size_t len, loomlen;
} outcome;

/* Nodes without a timestamp are created "now": the clock may tick between two imports (a
 * slow run under a sanitizer or valgrind crosses a second), in the session's "created" and
 * the loom export's "creation_timestamp" alike. */
static void mask_key(char *d, const char *key)
{
    size_t kl = strlen(key);
    for (char *p = d ? strstr(d, key) : NULL; p; p = strstr(p, key))
        for (p += kl; (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'; p++)
            if (*p >= '0' && *p <= '9')
                *p = '0';
}

static void mask_created(char *d)
{
    mask_key(d, "\"created\":");
    mask_key(d, "\"creation_timestamp\":\"");
}

static void run(const char *how, const char *doc, size_t len, outcome *r)
{
    if (how)
        setenv("TERMLOOM_IMPORT_PARSER", how, 1);
    else
        unsetenv("TERMLOOM_IMPORT_PARSER");
    session s;
    session_init(&s);
    formats_opts o = { .summary = r->summary, .summarylen = sizeof r->summary };
    r->err[0] = r->summary[0] = 0;
    r->dump = r->loom = NULL;
    r->rc = formats_import_mem(doc, len, "loom.json", &o, &s, NULL, r->err, sizeof r->err);
    unsetenv("TERMLOOM_IMPORT_PARSER");
    if (r->rc == FORMATS_OK) {
        char e[256];
        r->dump = session_dump(&s, &r->len);
        mask_created(r->dump);
        r->loom = formats_export(&s, FORMATS_OUT_LOOM, TREE_NONE, &r->loomlen, e, sizeof e);
        mask_created(r->loom);
    }
    session_free(&s);
}

static int same(const outcome *a, const outcome *b)
{
    return a->rc == b->rc && !strcmp(a->err, b->err) && !strcmp(a->summary, b->summary) &&
           (!a->dump || (b->dump && a->len == b->len && !memcmp(a->dump, b->dump, a->len))) &&
           (!a->loom || (b->loom && a->loomlen == b->loomlen && !memcmp(a->loom, b->loom, a->loomlen)));
}

static void done(outcome *r)
{
    free(r->dump);
    free(r->loom);
}
#endif
