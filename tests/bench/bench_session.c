/* Load/save of a 100,000-node session with 16 tokens per node and 5 alternatives per
 * token.  The load runs in a child forked before anything was generated, so its peak
 * memory is the load's own. */
#include "tests/bench.h"
#include "core/mem.h"
#include "core/savefile.h"
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

/* A loader child forked now, before anything is generated, so that its peak memory is the
 * load's own; loader_run hands it a path and waits for its result. */
typedef struct { pid_t pid; int to, from; } loader;

static int loader_start(loader *l)
{
    int to_child[2], from_child[2];
    if (pipe(to_child) < 0 || pipe(from_child) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(to_child[1]);
        close(from_child[0]);
        loader_child(to_child[0], from_child[1]);
    }
    close(to_child[0]);
    close(from_child[1]);
    *l = (loader){ pid, to_child[1], from_child[0] };
    return 0;
}

/* path NULL: the child ends without loading. */
static load_result loader_run(loader *l, const char *path)
{
    load_result r = {0};
    const char *p = path ? path : "";
    if (write(l->to, p, strlen(p)) < 0 || !path || read(l->from, &r, sizeof r) != (ssize_t)sizeof r)
        r.ok = 0;
    close(l->to);
    close(l->from);
    waitpid(l->pid, NULL, 0);
    return r;
}

BENCH(session_load_save)
{
    loader child;
    if (loader_start(&child) < 0)
        return;

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
        loader_run(&child, NULL);
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

    load_result r = loader_run(&child, path);
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
        if (savefile_write(flat, b.data, b.len, err, sizeof err) == 0) {
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

/* ---- full distributions: 1,000 nodes x 32 tokens x 2,048 alternatives ----
 * A vocabulary of 32,768 token texts like a BPE model's (mostly a space and a few letters,
 * some multi-byte UTF-8, a few byte tokens that are not UTF-8 and one that is the byte 0);
 * each position lists 2,048 distinct ones, most probable first, with Zipf-like logprobs.
 * TERMLOOM_BENCH_DIST_NODES changes the node count (a quick run). */
#define DIST_VOCAB 32768
#define DIST_TOKENS 32
#define DIST_ALTS 2048

static char *dist_vocab(size_t *off, size_t *len)
{
    static const char *const multi[] = { "é", "世", "ß", "ж", "ø", "語" };
    buf b = {0};
    unsigned rng = 777;
    for (int v = 0; v < DIST_VOCAB; v++) {
        off[v] = b.len;
        rng = rng * 1103515245u + 12345u;
        unsigned r = rng >> 8;
        if (v == 0)
            buf_addc(&b, 0);                       /* the byte 0 */
        else if (v < 256)
            buf_addc(&b, (char)(0x80 + v % 128));  /* byte tokens (not UTF-8 alone) */
        else {
            if (r & 1)
                buf_addc(&b, ' ');
            int n = 1 + (int)((r >> 1) % 7);
            for (int i = 0; i < n; i++) {
                rng = rng * 1103515245u + 12345u;
                if ((rng >> 9) % 23 == 0)
                    buf_adds(&b, multi[(rng >> 14) % 6]);
                else
                    buf_addc(&b, (char)('a' + (rng >> 14) % 26));
            }
        }
        len[v] = b.len - off[v];
    }
    return buf_steal(&b);
}

BENCH(session_full_distributions)
{
    const char *ev = getenv("TERMLOOM_BENCH_DIST_NODES");
    int nodes = ev && atoi(ev) > 1 ? atoi(ev) : 1000;
    loader child;
    if (loader_start(&child) < 0)
        return;
    static size_t voff[DIST_VOCAB], vlen[DIST_VOCAB];
    char *vocab = dist_vocab(voff, vlen);
    tree_alt *alts = xmalloc(DIST_ALTS * sizeof *alts);
    session s;
    session_init(&s);
    session_new_prompt(&s, "Write a story about a loom.");
    unsigned rng = 4242;
    double t0 = bench_now();
    for (int i = 1; i < nodes; i++) {
        int32_t id = tree_add_child(s.t, (int32_t)((i - 1) / 4), TREE_ORIGIN_MODEL, "", 0);
        for (int k = 0; k < DIST_TOKENS; k++) {
            rng = rng * 1103515245u + 12345u;
            unsigned base = rng >> 4, step = ((rng >> 2) | 1) & (DIST_VOCAB - 1);
            double top = -(double)((rng >> 12) % 2000) / 1000.0 - 1.0;
            for (int a = 0; a < DIST_ALTS; a++) {
                rng = rng * 1103515245u + 12345u;
                unsigned v = (base + (unsigned)a * step) & (DIST_VOCAB - 1);
                double lp = top - 1.5 * log1p((double)a) - (double)((rng >> 8) % 1000) * 1e-6 * a;
                alts[a] = (tree_alt){ vocab + voff[v], vlen[v], lp };
            }
            int pick = (int)((rng >> 20) % 3);
            tree_append_token(s.t, id, alts[pick].text, alts[pick].len, alts[pick].logprob,
                              alts, DIST_ALTS, 1);
        }
        tree_set_model(s.t, id, "bench-model");
        tree_set_finish(s.t, id, "length");
        tree_get(s.t, id)->created = 1700000000 + i;
    }
    double build_s = bench_now() - t0;
    size_t tb = tree_bytes(s.t, 1) * tree_count(s.t);
    bench_report("built in memory", "%.2f s, %.0f MB (%.1f bytes per alternative)", build_s, (double)tb / 1e6,
                 (double)tb / ((double)(nodes - 1) * DIST_TOKENS * DIST_ALTS));
    free(alts);
    free(vocab);

    /* the writer alone: every node's line into one reused buffer (no disk) */
    buf line = {0};
    size_t line_bytes = 0;
    t0 = bench_now();
    for (int32_t id = 0; id < tree_capacity(s.t); id++) {
        buf_clear(&line);
        session_node_line(s.t, id, &line);
        line_bytes += line.len;
    }
    double ser_s = bench_now() - t0;
    buf_free(&line);
    bench_report("serialize (node lines, no disk)", "%.2f s, %.0f MB/s", ser_s, (double)line_bytes / 1e6 / ser_s);

    char *path = xasprintf("/tmp/termloom-bench-dist-%ld.json", (long)getpid());
    char err[512];
    t0 = bench_now();
    int ok = session_save(&s, path, err, sizeof err) == 0;
    double save_s = bench_now() - t0;
    session_free(&s);
    struct stat st;
    if (!ok || stat(path, &st) < 0) {
        bench_report("save", "FAILED: %s", err);
        loader_run(&child, NULL);
        unlink(path);
        free(path);
        return;
    }
    double mb = (double)st.st_size / 1e6;
    bench_report("file size", "%.0f MB (%d nodes, %d tokens x %d alternatives)", mb, nodes, DIST_TOKENS, DIST_ALTS);
    bench_report("save (write, fsync, rename)", "%.2f s, %.0f MB/s (target >= 100 MB/s)", save_s, mb / save_s);
    load_result r = loader_run(&child, path);
    if (r.ok) {
        bench_report("load", "%.2f s, %.0f MB/s (target >= 100 MB/s)", r.seconds, mb / r.seconds);
        bench_report("loaded tree memory", "%.0f MB (%.2f x file)", (double)r.tree_bytes / 1e6,
                     (double)r.tree_bytes / (double)st.st_size);
        bench_report("peak RSS while loading", "%.0f MB (%.2f x file)",
                     (double)r.peak_kb * 1024 / 1e6, (double)r.peak_kb * 1024 / (double)st.st_size);
    } else
        bench_report("load", "FAILED");
    unlink(path);
    free(path);
}
