/* libFuzzer target: the session loader.  Besides "never crash", it checks what the
 * loader promises: the three parsing paths (the streaming reader with its strict node
 * parser, the same with jansson for each node, the whole document) agree on every input
 * and on the input laid out again (newlines outside strings become other whitespace, more
 * whitespace after every structural byte), byte for byte or message for message; so does
 * opening it a slice at a time (session_open_*, a pause after every node, the partial tree
 * consistent at every pause); and a loaded session saves to bytes that load back to the
 * same bytes. */
#include "core/session.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The input with its whitespace changed outside strings (chosen by the input's own bytes). */
static uint8_t *relaid(const uint8_t *d, size_t n, size_t *outlen)
{
    static const char *const pads[] = { "", " ", "\t", "\r\n", "\n  ", " \n\t\r " };
    uint8_t *o = malloc(n * 6 + 1);
    size_t k = 0;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = d[i];
        if (in_str) {
            o[k++] = c;
            if (c == '\\' && i + 1 < n)
                o[k++] = d[++i];
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"')
            in_str = 1;
        o[k++] = c == '\n' ? ' ' : c;
        if (strchr("{}[],:", c) && c) {
            const char *p = pads[(d[(i * 7) % n] + i) % 6];
            size_t pl = strlen(p);
            memcpy(o + k, p, pl);
            k += pl;
        }
    }
    *outlen = k;
    return o;
}

static void three_agree(const uint8_t *data, size_t size);

/* The input opened from a file a slice (one node) at a time. */
static void open_sliced(const uint8_t *data, size_t size, outcome *o, size_t *namelen)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz-session-open-%ld.json", (long)getpid());
    *namelen = strlen(path);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    session s;
    session_init(&s);
    o->err[0] = 0;
    o->dump = NULL;
    session_opener *op = session_open_begin(&s, path, o->err, sizeof o->err);
    if (!op)
        abort();
    session_open_set_slice(op, 1);
    while ((o->rc = session_open_step(op, &s, 0, o->err, sizeof o->err)) == 1)
        for (int32_t id = 0; id < tree_capacity(s.t); id++) {
            tree_node *n = tree_get(s.t, id);
            for (uint32_t c = 0; n && c < n->nchildren; c++)
                if (!tree_get(s.t, n->children[c]) || tree_get(s.t, n->children[c])->parent != id)
                    abort();
            if (n && n->parent != TREE_NONE && !tree_get(s.t, n->parent))
                abort();
        }
    session_open_free(op);
    o->dump = o->rc == 0 ? session_dump(&s, &o->len) : NULL;
    session_free(&s);
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    three_agree(data, size);
    size_t rn;
    uint8_t *r = relaid(data, size, &rn);
    three_agree(r, rn);
    free(r);
    return 0;
}

static void three_agree(const uint8_t *data, size_t size)
{
    outcome fast, lines, doc;
    load_with(NULL, data, size, &fast);
    load_with("jansson", data, size, &lines);
    load_with("document", data, size, &doc);
    same(&fast, &lines, "fast parser and per-node jansson");
    same(&fast, &doc, "fast parser and whole document");
    outcome sl;
    size_t nl;
    open_sliced(data, size, &sl, &nl);
    const char *e1 = fast.err + (fast.rc ? strlen("fuzz.json") : 0), *e2 = sl.err + (sl.rc ? nl : 0);
    if (fast.rc != sl.rc || strcmp(e1, e2) ||
        (fast.dump && (fast.len != sl.len || memcmp(fast.dump, sl.dump, fast.len)))) {
        fprintf(stderr, "loaded at once and in slices disagree: rc %d/%d\n  %s\n  %s\n", fast.rc, sl.rc, fast.err, sl.err);
        abort();
    }
    free(sl.dump);
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
}
