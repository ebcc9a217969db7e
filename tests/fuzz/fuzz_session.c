/* libFuzzer target: the session loader.  Besides "never crash", it checks what the
 * loader promises: the three parsing paths (node-a-line fast parser, per-line jansson,
 * whole document) agree on every input, byte for byte or message for message, and a
 * loaded session saves to bytes that load back to the same bytes. */
#include "core/session.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    int   rc;
    char  err[512];
    char *dump;
    size_t len;
} outcome;

static void load_with(const char *how, const uint8_t *data, size_t size, outcome *o)
{
    session s;
    if (how)
        setenv("TERMLOOM_SESSION_PARSER", how, 1);
    else
        unsetenv("TERMLOOM_SESSION_PARSER");
    session_init(&s);
    o->err[0] = 0;
    o->rc = session_load_mem(&s, (const char *)data, size, "fuzz.json", o->err, sizeof o->err);
    o->dump = o->rc == 0 ? session_dump(&s, &o->len) : NULL;
    if (o->rc != 0 && (tree_count(s.t) != 0 || !strchr(o->err, ':') || strchr(o->err, '\n'))) {
        fprintf(stderr, "failed load left nodes or gave a bad message: %s\n", o->err);
        abort();
    }
    session_free(&s);
}

static void same(const outcome *a, const outcome *b, const char *what)
{
    if (a->rc != b->rc || strcmp(a->err, b->err) ||
        (a->dump && (a->len != b->len || memcmp(a->dump, b->dump, a->len)))) {
        fprintf(stderr, "%s disagree: rc %d/%d\n  %s\n  %s\n", what, a->rc, b->rc, a->err, b->err);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    outcome fast, lines, doc;
    load_with(NULL, data, size, &fast);
    load_with("jansson", data, size, &lines);
    load_with("document", data, size, &doc);
    same(&fast, &lines, "fast parser and per-line jansson");
    same(&fast, &doc, "fast parser and whole document");
    if (fast.rc == 0) {                        /* save → load → save is stable */
        outcome again;
        load_with(NULL, (const uint8_t *)fast.dump, fast.len, &again);
        if (again.rc != 0 || again.len != fast.len || memcmp(again.dump, fast.dump, fast.len)) {
            fprintf(stderr, "saved session does not reload to the same bytes: %s\n", again.err);
            abort();
        }
        free(again.dump);
    }
    free(fast.dump);
    free(lines.dump);
    free(doc.dump);
    unsetenv("TERMLOOM_SESSION_PARSER");
    return 0;
}
