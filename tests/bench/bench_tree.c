#include "tests/bench.h"
#include "core/tree.h"
#include <stdio.h>

BENCH(tree_build)
{
    double t0 = bench_now();
    tree *t = tree_new();
    int32_t root = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "prompt", 6);
    for (int i = 0; i < 1000000; i++)
        tree_add_child(t, i < 8 ? root : (int32_t)(1 + (i - 8) / 8), TREE_ORIGIN_MODEL, " a short continuation", 21);
    double t1 = bench_now();
    bench_report("add 1,000,000 nodes", "%.3f s", t1 - t0);
    bench_report("bytes per node (no tokens)", "%zu", tree_bytes(t, 0));
    tree_free(t);
}
