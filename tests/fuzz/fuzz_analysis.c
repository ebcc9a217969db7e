/* tests/fuzz/fuzz_analysis.c — libFuzzer target over the merge and attractor indexes.  The
 * input is a program of tree operations (add, stream, rewrite, delete, undo, a slice of
 * indexing, a listing); texts come from a 12-word vocabulary (so LSH buckets crowd and
 * phrases recur) or, now and then, from raw input bytes (invalid UTF-8, controls, long
 * words).  After the program the incrementally kept attractors must equal a fresh index's
 * and every sibling group must be well formed; any difference aborts. */
#include "core/attractor.h"
#include "core/merge.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *vocab[] = { " the", " cat", " sat", " on", " mat", " Dog", " ran!",
                               " 42", " \xc3\xa9t\xc3\xa9", " is", " A", " yes." };

typedef struct {
    const uint8_t *p;
    size_t n;
} input;

static unsigned take(input *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static void text(input *in, buf *b)
{
    buf_clear(b);
    unsigned k = take(in);
    if (k >= 240) {                          /* raw bytes */
        size_t n = take(in) % 40;
        if (n > in->n)
            n = in->n;
        buf_add(b, in->p, n);
        in->p += n;
        in->n -= n;
        return;
    }
    for (unsigned w = 0; w < 1 + k % 14; w++)
        buf_adds(b, vocab[take(in) % 12]);
}

static int same(attractor_index *x, attractor_index *y)
{
    const attractor *a, *b;
    size_t na = attractor_list(x, &a), nb = attractor_list(y, &b);
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].kind != b[i].kind || a[i].nmembers != b[i].nmembers || a[i].support != b[i].support ||
            a[i].expected != b[i].expected || a[i].log10_p != b[i].log10_p || strcmp(a[i].text, b[i].text) ||
            memcmp(a[i].members, b[i].members, a[i].nmembers * sizeof *a[i].members))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = { data, size };
    tree *t = tree_new();
    int32_t root = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "P", 1);
    int mc = 2 + (int)(take(&in) % 3);
    attractor_index *inc = attractor_index_new(t, 0.8, mc);
    merge_index *m = merge_index_new(t, 0.8);
    int32_t del[16];
    int idx[16], ndel = 0;
    buf b = {0};
    const attractor *l;
    for (int ops = 0; in.n && ops < 400; ops++) {
        unsigned op = take(&in) % 16;
        int32_t cap = tree_capacity(t), p = (int32_t)(take(&in) % (unsigned)cap);
        if (!tree_get(t, p))
            p = root;
        text(&in, &b);
        if (op < 8)
            tree_add_child(t, p, TREE_ORIGIN_MODEL, b.data ? b.data : "", b.len);
        else if (op == 8) {                      /* streamed in pieces */
            int32_t id = tree_add_child(t, p, TREE_ORIGIN_MODEL, "", 0);
            for (size_t o = 0; o < b.len; o += 3) {
                tree_append_text(t, id, b.data + o, b.len - o < 3 ? b.len - o : 3);
                if (take(&in) & 1)
                    attractor_work(inc, 1);
            }
        } else if (op == 9 && p != root)
            tree_set_text(t, p, b.data ? b.data : "", b.len);
        else if (op == 10 && p != root && ndel < 16) {
            del[ndel] = p;
            idx[ndel] = tree_delete(t, p);
            ndel++;
        } else if (op == 11 && ndel > 0) {
            ndel--;
            tree_undelete(t, del[ndel], idx[ndel]);
        } else if (op == 12)
            attractor_work(inc, 1 + take(&in) % 8);
        else if (op == 13)
            attractor_list(inc, &l);
        else if (op == 14) {
            merge_group *g;
            free((merge_groups(m, p, &g), g));
        }
    }
    attractor_index *fresh = attractor_index_new(t, 0.8, mc);
    if (!same(inc, fresh))
        abort();
    for (int32_t id = 0; id < tree_capacity(t); id++) {
        merge_group *g;
        size_t ng = merge_groups(m, id, &g), total = 0;
        for (size_t i = 0; i < ng; i++)
            total += g[i].count;
        tree_node *n = tree_get(t, id);
        if (n && total != n->nchildren)
            abort();
        free(g);
    }
    attractor_index_free(fresh);
    attractor_index_free(inc);
    merge_index_free(m);
    buf_free(&b);
    tree_free(t);
    return 0;
}
