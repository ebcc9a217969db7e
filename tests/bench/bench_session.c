/* Load/save of a 100,000-node session with 16 tokens per node and 5 alternatives per
 * token.  The load runs in a child forked before anything was generated, so its peak
 * memory is the load's own. */
#include "tests/bench.h"
#include "core/mem.h"
#include "core/session.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NODES 100000
#define TOKENS 16
#define ALTS 5

typedef struct {
    double seconds;
    size_t peak_kb, base_kb, tree_bytes, nodes;
    int ok;
} load_result;

static size_t rss_now_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return (size_t)res * (size_t)sysconf(_SC_PAGESIZE) / 1024;
}

/* The child: waits for a path on `in`, loads it, writes a load_result to `out`. */
static void loader_child(int in, int out)
{
    char path[4096];
    ssize_t n = read(in, path, sizeof path - 1);
    load_result r = {0};
    if (n > 0) {
        path[n] = 0;
        session s;
        char err[512];
        session_init(&s);
        r.base_kb = rss_now_kb();
        double t0 = bench_now();
        r.ok = session_load(&s, path, err, sizeof err) == 0;
        r.seconds = bench_now() - t0;
        r.peak_kb = bench_peak_rss_kb();
        if (!r.ok)
            fprintf(stderr, "bench: %s\n", err);
        r.nodes = tree_count(s.t);
        r.tree_bytes = tree_bytes(s.t, 1) * r.nodes;
        session_free(&s);
    }
    if (write(out, &r, sizeof r) != (ssize_t)sizeof r)
        _exit(1);
    _exit(0);
}

static const char *const words[] = {
    " the", " a", " of", " and", " to", " in", " it", " was", " that", " he", " she",
    " loom", " thread", " river", " said", " time", " night", " light", " é", " 世界",
};

BENCH(session_load_save)
{
    int to_child[2], from_child[2];
    if (pipe(to_child) < 0 || pipe(from_child) < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(to_child[1]);
        close(from_child[0]);
        loader_child(to_child[0], from_child[1]);
    }
    close(to_child[0]);
    close(from_child[1]);

    session s;
    session_init(&s);
    session_new_prompt(&s, "Write a story about a loom.");
    unsigned rng = 12345;
    tree_alt alts[ALTS];
    for (int i = 1; i < NODES; i++) {
        int32_t parent = i < 5 ? 0 : (int32_t)((i - 1) / 4);
        int32_t id = tree_add_child(s.t, parent, TREE_ORIGIN_MODEL, "", 0);
        for (int k = 0; k < TOKENS; k++) {
            double lp = 0;
            for (int a = 0; a < ALTS; a++) {
                rng = rng * 1103515245u + 12345u;
                const char *w = words[(rng >> 8) % (sizeof words / sizeof *words)];
                lp -= (double)((rng >> 4) % 1000) / 997.0;
                alts[a] = (tree_alt){ w, strlen(w), lp };
            }
            tree_append_token(s.t, id, alts[0].text, alts[0].len, alts[0].logprob, alts, ALTS, 1);
        }
        tree_set_model(s.t, id, "bench-model");
        tree_set_finish(s.t, id, "length");
        tree_get(s.t, id)->created = 1700000000 + i;
    }
    char *path = xasprintf("/tmp/termloom-bench-%ld.json", (long)getpid());
    char err[512];
    double t0 = bench_now();
    int ok = session_save(&s, path, err, sizeof err) == 0;
    double save_s = bench_now() - t0;
    struct stat st;
    if (!ok || stat(path, &st) < 0) {
        bench_report("save", "FAILED: %s", err);
        session_free(&s);
        free(path);
        return;
    }
    double mb = (double)st.st_size / 1e6;
    bench_report("file size", "%.1f MB (%d nodes, %d tokens x %d alternatives)", mb, NODES, TOKENS, ALTS);
    bench_report("save (write, fsync, rename)", "%.3f s, %.0f MB/s", save_s, mb / save_s);
    size_t dn;
    t0 = bench_now();
    char *d = session_dump(&s, &dn);
    double dump_s = bench_now() - t0;
    bench_report("serialize to memory", "%.3f s, %.0f MB/s", dump_s, (double)dn / 1e6 / dump_s);
    free(d);
    session_free(&s);

    load_result r = {0};
    if (write(to_child[1], path, strlen(path)) < 0 || read(from_child[0], &r, sizeof r) != (ssize_t)sizeof r)
        r.ok = 0;
    waitpid(pid, NULL, 0);
    if (r.ok) {
        bench_report("load", "%.3f s, %.0f MB/s", r.seconds, mb / r.seconds);
        bench_report("loaded tree memory", "%.1f MB (%.2f x file)", (double)r.tree_bytes / 1e6,
                     (double)r.tree_bytes / (double)st.st_size);
        bench_report("peak RSS while loading", "%.1f MB (%.2f x file; %.1f MB before)",
                     (double)r.peak_kb * 1024 / 1e6, (double)r.peak_kb * 1024 / (double)st.st_size,
                     (double)r.base_kb * 1024 / 1e6);
    } else
        bench_report("load", "FAILED");
    /* the same document in another layout (all on one line, as other tools write JSON):
     * the streaming reader takes it as well */
    buf b = {0};
    if (buf_read_file(&b, path, SESSION_MAX_BYTES, err, sizeof err) == 0) {
        for (size_t i = 0; i < b.len; i++)
            if (b.data[i] == '\n')
                b.data[i] = ' ';
        char *flat = xasprintf("%s.flat", path);
        if (session_write_file(flat, b.data, b.len, err, sizeof err) == 0) {
            session f;
            session_init(&f);
            t0 = bench_now();
            if (session_load(&f, flat, err, sizeof err) == 0)
                bench_report("load, another layout (one line)", "%.3f s, %.0f MB/s", bench_now() - t0,
                             mb / (bench_now() - t0));
            else
                bench_report("load, another layout (one line)", "FAILED: %s", err);
            session_free(&f);
            unlink(flat);
        }
        free(flat);
    }
    buf_free(&b);
    unlink(path);
    free(path);
}
