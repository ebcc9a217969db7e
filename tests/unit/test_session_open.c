/* Opening a session a slice at a time (session_open_*) gives what session_load gives, on
 * every layout, with nodes in any order, and the same error where session_load fails; the
 * tree in between holds only nodes whose parent is there. */
#include "tests/test.h"
#include "core/mem.h"
#include "core/session.h"
#include <stdio.h>
#include <stdlib.h>

/* Opens path in slices of no time (one slice of nodes a step); returns the step result,
 * with the dump in *dump (0) or the error in err (-1).  Every partial tree is checked. */
static size_t slice_nodes;     /* 0: the opener's own */

static int open_sliced(const char *path, char **dump, char *err, size_t errlen, int *steps)
{
    session s;
    session_init(&s);
    *dump = NULL;
    *steps = 0;
    session_opener *o = session_open_begin(&s, path, err, errlen);
    if (!o)
        return -2;
    if (slice_nodes)
        session_open_set_slice(o, slice_nodes);
    int r;
    while ((r = session_open_step(o, &s, 0, err, errlen)) == 1) {
        (*steps)++;
        int32_t cap = tree_capacity(s.t);
        for (int32_t id = 0; id < cap; id++) {     /* parents and children agree throughout */
            tree_node *n = tree_get(s.t, id);
            if (!n)
                continue;
            CHECK(n->parent == TREE_NONE || tree_get(s.t, n->parent));
            for (uint32_t c = 0; c < n->nchildren; c++)
                CHECK(tree_get(s.t, n->children[c]) && tree_get(s.t, n->children[c])->parent == id);
        }
        double p = session_open_progress(o);
        CHECK(p >= 0 && p <= 1);
    }
    session_open_free(o);
    if (r == 0) {
        size_t len;
        *dump = session_dump(&s, &len);
    }
    session_free(&s);
    return r;
}

static void same_as_load(const char *name, const char *data, int min_steps)
{
    char *path = test_write_tmp(name, data, strlen(data));
    session s;
    session_init(&s);
    char err1[600] = "", err2[600] = "";
    int r1 = session_load(&s, path, err1, sizeof err1);
    size_t len;
    char *want = r1 == 0 ? session_dump(&s, &len) : NULL;
    session_free(&s);
    char *got;
    int steps;
    int r2 = open_sliced(path, &got, err2, sizeof err2, &steps);
    CHECKF(r1 == r2, "%s: session_load %d, sliced %d (%s | %s)", name, r1, r2, err1, err2);
    if (r1 == 0 && got && want)
        CHECKF(!strcmp(want, got), "%s: the trees differ", name);
    if (r1 < 0)
        CHECKF(!strcmp(err1, err2), "%s: errors differ: '%s' vs '%s'", name, err1, err2);
    CHECKF(steps >= min_steps, "%s: %d steps", name, steps);
    free(want);
    free(got);
    free(path);
}

/* n nodes, each (but the root) under (i-1)/3, listed in the order perm gives. */
static char *doc(int n, int reversed, int one_line)
{
    buf b = {0};
    const char *nl = one_line ? "" : "\n";
    buf_printf(&b, "{\"format\":\"termloom-session\",\"version\":1,\"settings\":{\"branches\":3},\"root\":0,\"cursor\":%d,%s\"nodes\":[%s", n - 1, nl, nl);
    for (int k = 0; k < n; k++) {
        int i = reversed ? n - 1 - k : k;
        buf_printf(&b, "%s{\"id\":%d,\"parent\":", k ? "," : "", i);
        if (i)
            buf_printf(&b, "%d", (i - 1) / 3);
        else
            buf_adds(&b, "null");
        buf_printf(&b, ",\"origin\":\"%s\",\"text\":\"n%d\",\"children\":[", i ? "model" : "prompt", i);
        for (int c = 3 * i + 3, m = 0; c >= 3 * i + 1; c--)    /* children listed backwards */
            if (c < n)
                buf_printf(&b, "%s%d", m++ ? "," : "", c);
        buf_printf(&b, "]}%s", nl);
    }
    buf_adds(&b, "]}\n");
    return buf_steal(&b);
}

TEST(session_open_sliced_equals_load)
{
    char *d = doc(20000, 0, 0);
    same_as_load("lines.json", d, 5);
    free(d);
    d = doc(20000, 1, 1);                           /* children before parents, one line */
    same_as_load("reversed.json", d, 5);
    free(d);
    d = doc(3, 0, 0);
    same_as_load("small.json", d, 0);
    free(d);
}

TEST(session_open_sliced_errors_as_load)
{
    slice_nodes = 1;                                /* a pause after every node */
    same_as_load("cycle.json", "{\"format\":\"termloom-session\",\"version\":1,\"root\":0,\"nodes\":["
                 "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"a\",\"children\":[]},"
                 "{\"id\":1,\"parent\":2,\"origin\":\"model\",\"text\":\"b\",\"children\":[2]},"
                 "{\"id\":2,\"parent\":1,\"origin\":\"model\",\"text\":\"c\",\"children\":[1]}]}", 0);
    same_as_load("dup.json", "{\"format\":\"termloom-session\",\"version\":1,\"root\":0,\"nodes\":["
                 "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"a\",\"children\":[1]},"
                 "{\"id\":1,\"parent\":0,\"origin\":\"model\",\"text\":\"b\",\"children\":[]},"
                 "{\"id\":1,\"parent\":0,\"origin\":\"model\",\"text\":\"c\",\"children\":[]}]}", 0);
    same_as_load("badjson.json", "{\"format\":\"termloom-session\",\"version\":1,\"root\":0,\"nodes\":[{\"id\":0,", 0);
    same_as_load("badheader.json", "{\"format\":\"termloom-session\",\"version\":7,\"root\":0,\"nodes\":["
                 "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"a\",\"children\":[]}]}", 0);
    same_as_load("hugeid.json", "{\"format\":\"termloom-session\",\"version\":1,\"root\":0,\"nodes\":["
                 "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"a\",\"children\":[2000000000]},"
                 "{\"id\":2000000000,\"parent\":0,\"origin\":\"model\",\"text\":\"b\",\"children\":[]}]}", 0);
    same_as_load("lateid.json", "{\"format\":\"termloom-session\",\"version\":1,\"root\":0,\"nodes\":["
                 "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"a\",\"children\":[100100]},"
                 "{\"id\":100100,\"parent\":0,\"origin\":\"model\",\"text\":\"b\",\"children\":[]}]}", 0);
    same_as_load("settings_last.json", "{\"format\":\"termloom-session\",\"version\":1,\"root\":0,\"nodes\":["
                 "{\"id\":1,\"parent\":0,\"origin\":\"model\",\"text\":\"b\",\"children\":[]},"
                 "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"a\",\"children\":[1]}],"
                 "\"settings\":{\"branches\":7},\"cursor\":1}", 1);
    same_as_load("two_nodes_keys.json", "{\"format\":\"termloom-session\",\"version\":1,\"root\":0,\"nodes\":["
                 "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"a\",\"children\":[]}],\"nodes\":[]}", 0);
    slice_nodes = 0;
}
