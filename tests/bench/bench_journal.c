/* Autosave on a 1,000,000-node tree: what a bookmark and a new branch cost through the
 * journal (append + fsync), beside a whole save of the file (what each change cost before,
 * and what a compaction costs now). */
#include "tests/bench.h"
#include "core/journal.h"
#include "core/mem.h"
#include "core/session.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NODES 1000000
#define REPEAT 40

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

BENCH(journal_1m)
{
    char dir[] = "/tmp/termloom-bench-journal-XXXXXX";
    if (!mkdtemp(dir)) {
        bench_report("journal", "failed: no temporary folder");
        return;
    }
    char *path = xasprintf("%s/s.json", dir), err[512];
    session s;
    session_init(&s);
    session_new_prompt(&s, "A writer who works with a language model");
    int32_t parent = tree_root(s.t);
    for (int i = 1; i < NODES; i++) {
        char text[48];
        int len = snprintf(text, sizeof text, " branch %d of the loom", i);
        int32_t id = tree_add_child(s.t, parent, TREE_ORIGIN_MODEL, text, (size_t)len);
        if (i % 8 == 0)
            parent = id;
    }
    double t0 = bench_now();
    if (session_save(&s, path, err, sizeof err) < 0) {
        bench_report("journal", "failed: %s", err);
        goto out;
    }
    double whole = bench_now() - t0;
    struct stat st;
    stat(path, &st);
    journal *j = journal_new(&s, path, err, sizeof err);
    if (!j) {
        bench_report("journal", "failed: %s", err);
        goto out;
    }
    double tm[REPEAT], tb[REPEAT];
    size_t bm = 0, bb = 0, w;
    for (int r = 0; r < REPEAT; r++) {           /* a bookmark toggled, saved */
        int32_t id = (int32_t)(r * 24989 % NODES);
        double a = bench_now();
        tree_get(s.t, id)->marks ^= TREE_MARK_BOOKMARK;
        tree_touch(s.t, id);
        journal_append(j, &w, err, sizeof err);
        tm[r] = bench_now() - a;
        bm += w;
    }
    tree_alt alts[5] = { { " the", 4, -1.1 }, { " a", 2, -1.7 }, { " loom", 5, -2.3 },
                         { " thread", 7, -2.9 }, { " river", 6, -3.4 } };
    for (int r = 0; r < REPEAT; r++) {           /* a new branch of 32 tokens, saved */
        int32_t at = (int32_t)(r * 37013 % NODES);
        double a = bench_now();
        int32_t id = tree_add_child(s.t, at, TREE_ORIGIN_MODEL, "", 0);
        for (int k = 0; k < 32; k++)
            tree_append_token(s.t, id, alts[k % 5].text, alts[k % 5].len, alts[k % 5].logprob, alts, 5, 1);
        tree_set_finish(s.t, id, "length");
        journal_append(j, &w, err, sizeof err);
        tb[r] = bench_now() - a;
        bb += w;
    }
    qsort(tm, REPEAT, sizeof *tm, cmp_double);
    qsort(tb, REPEAT, sizeof *tb, cmp_double);
    bench_report("1M nodes: whole save (before: every change; now: compaction)", "%.2f s, %.0f MB",
                 whole, (double)st.st_size / 1e6);
    bench_report("1M nodes: bookmark saved (journal append + fsync)", "median %.2f ms, worst %.2f ms, %zu bytes (target < 5 ms)",
                 tm[REPEAT / 2] * 1e3, tm[REPEAT - 1] * 1e3, bm / REPEAT);
    bench_report("1M nodes: new 32-token branch saved (append + fsync)", "median %.2f ms, worst %.2f ms, %zu bytes (target < 5 ms)",
                 tb[REPEAT / 2] * 1e3, tb[REPEAT - 1] * 1e3, bb / REPEAT);
    t0 = bench_now();
    session back;
    session_init(&back);
    int ok = session_load(&back, path, err, sizeof err) == 0;
    double load = bench_now() - t0;
    bench_report("1M nodes: open after a crash (load + replay of the journal)", ok ? "%.2f s (%zu nodes)" : "failed",
                 load, tree_count(back.t));
    session_free(&back);
    t0 = bench_now();
    ok = journal_compact(j, err, sizeof err) == 0;
    bench_report("1M nodes: compaction", ok ? "%.2f s" : "failed", bench_now() - t0);
    journal_free(j);
out:
    unlink(path);
    char *jp = journal_path(path);
    unlink(jp);
    free(jp);
    rmdir(dir);
    free(path);
    session_free(&s);
}
