/* One 20,000-node tree (16 tokens x 5 alternatives per node) written four ways: termloom's
 * node-a-line session, the same session on one line (as Python's json.dump writes it:
 * ", " and ": ", non-ASCII as \u escapes), pretty-printed (json.dump(indent=2)), and a
 * socketteer/loom file (termloom's loom export).  Each load runs in a forked child so its
 * peak memory is the load's own.  The loom import is set beside the reference loader:
 * Python's json.load of the loom file plus a walk of its tree (loom's flatten_tree).
 * BENCH_KEEP=1 leaves the files in /tmp. */
#include "tests/bench.h"
#include "core/formats.h"
#include "core/savefile.h"
#include "core/mem.h"
#include "core/session.h"
#include "cli/commands.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NODES 20000
#define TOKENS 16
#define ALTS 5

static const char *const words[] = {
    " the", " a", " of", " and", " to", " in", " it", " was", " that", " he", " she",
    " loom", " thread", " river", " said", " time", " night", " light", " é", " 世界",
};

static void build_tree(session *s)
{
    session_init(s);
    session_new_prompt(s, "Write a story about a loom.");
    unsigned rng = 4242;
    tree_alt alts[ALTS];
    for (int i = 1; i < NODES; i++) {
        int32_t parent = i < 5 ? 0 : (int32_t)((i - 1) / 4);
        int32_t id = tree_add_child(s->t, parent, TREE_ORIGIN_MODEL, "", 0);
        for (int k = 0; k < TOKENS; k++) {
            double lp = 0;
            for (int a = 0; a < ALTS; a++) {
                rng = rng * 1103515245u + 12345u;
                const char *w = words[(rng >> 8) % (sizeof words / sizeof *words)];
                lp -= (double)((rng >> 4) % 1000) / 997.0;
                alts[a] = (tree_alt){ w, strlen(w), lp };
            }
            tree_append_token(s->t, id, alts[0].text, alts[0].len, alts[0].logprob, alts, ALTS, 1);
        }
        tree_set_model(s->t, id, "bench-model");
        tree_set_finish(s->t, id, "length");
        tree_get(s->t, id)->created = 1700000000 + i;
    }
}

/* ---- a whitespace-only re-layout of valid JSON, as Python's json.dump writes it ---- */

static void newline(buf *o, int indent, int depth)
{
    buf_addc(o, '\n');
    for (int i = 0; i < indent * depth; i++)
        buf_addc(o, ' ');
}

static void put_utf16(buf *o, unsigned u)
{
    buf_printf(o, "\\u%04x", u);
}

/* A string token copied with non-ASCII as \u escapes (ensure_ascii); returns past it. */
static size_t copy_string(buf *o, const char *d, size_t i, size_t len)
{
    buf_addc(o, '"');
    for (i++; i < len && d[i] != '"'; i++) {
        unsigned char c = (unsigned char)d[i];
        if (c == '\\') {
            buf_add(o, d + i, 2);
            i++;
        } else if (c < 0x80) {
            buf_addc(o, (char)c);
        } else {
            unsigned n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2, u = c & (0x3F >> (n - 1));
            for (unsigned k = 1; k < n; k++)
                u = (u << 6) | ((unsigned char)d[i + k] & 0x3F);
            i += n - 1;
            if (u >= 0x10000) {
                put_utf16(o, 0xD800 + ((u - 0x10000) >> 10));
                put_utf16(o, 0xDC00 + ((u - 0x10000) & 0x3FF));
            } else
                put_utf16(o, u);
        }
    }
    buf_addc(o, '"');
    return i + 1;
}

/* indent 0: one line with ", " and ": "; indent > 0: json.dump(indent=N). */
static char *relayout(const char *d, size_t len, int indent, size_t *outlen)
{
    buf o = {0};
    int depth = 0;
    for (size_t i = 0; i < len;) {
        char c = d[i];
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            i++;
        } else if (c == '"') {
            i = copy_string(&o, d, i, len);
        } else if (c == '{' || c == '[') {
            size_t j = i + 1;
            while (j < len && (d[j] == ' ' || d[j] == '\n'))
                j++;
            if (d[j] == (c == '{' ? '}' : ']')) {            /* empty: "[]" as Python writes */
                buf_addc(&o, c);
                buf_addc(&o, d[j]);
                i = j + 1;
                continue;
            }
            buf_addc(&o, c);
            depth++;
            if (indent)
                newline(&o, indent, depth);
            i++;
        } else if (c == '}' || c == ']') {
            depth--;
            if (indent)
                newline(&o, indent, depth);
            buf_addc(&o, c);
            i++;
        } else if (c == ',') {
            buf_addc(&o, ',');
            if (indent)
                newline(&o, indent, depth);
            else
                buf_addc(&o, ' ');
            i++;
        } else if (c == ':') {
            buf_adds(&o, ": ");
            i++;
        } else {
            buf_addc(&o, c);
            i++;
        }
    }
    *outlen = o.len;
    return buf_steal(&o);
}

/* ---- timing in a child ---- */

typedef struct {
    double seconds, parse_s, analysis_s, save_s, save_alone_s;
    size_t peak_kb, nodes;
    int ok;
} result;

typedef enum { LOAD_SESSION, IMPORT_LOOM, IMPORT_COMMAND } job;
typedef struct {
    job  what;
    char path[1024], out[1024];
} request;

/* `termloom import loom -o out` as a user runs it, a process of its own (started from the
 * small launcher's child, so its peak memory is its own). */
static double import_command(const char *loom, const char *out, size_t *peak_kb)
{
    const char *bin = getenv("TERMLOOM_BIN") ? getenv("TERMLOOM_BIN") : "./termloom";
    char *argv[] = { (char *)bin, "import", (char *)loom, "-o", (char *)out, NULL };
    return bench_command(argv, peak_kb);
}

static result run_job(const request *q)
{
    result r = {0};
    session s;
    char err[1024];
    session_init(&s);
    double t0 = bench_now();
    if (q->what == IMPORT_COMMAND) {
        r.seconds = import_command(q->path, q->out, &r.peak_kb);
        r.ok = r.seconds >= 0;
        return r;
    }
    if (q->what == LOAD_SESSION) {
        r.ok = session_load(&s, q->path, err, sizeof err) == 0;
        r.seconds = bench_now() - t0;
    } else {                                       /* what `termloom import` does */
        r.ok = formats_import_file(q->path, NULL, &s, NULL, err, sizeof err) == FORMATS_OK;
        r.parse_s = bench_now() - t0;
        double t1 = bench_now();
        if (r.ok)
            r.ok = cli_save_analysed(&s, q->out, err, sizeof err) == 0;
        r.save_s = bench_now() - t1;
        r.seconds = bench_now() - t0;
        t1 = bench_now();                          /* the detection alone, not in the total */
        if (r.ok)
            cli_detect_attractors(&s);
        r.analysis_s = bench_now() - t1;
        t1 = bench_now();                          /* and the save alone (the list set) */
        if (r.ok)
            r.ok = session_save(&s, q->out, err, sizeof err) == 0;
        r.save_alone_s = bench_now() - t1;
    }
    r.peak_kb = bench_peak_rss_kb();
    if (!r.ok)
        fprintf(stderr, "bench: %s\n", err);
    r.nodes = tree_count(s.t);
    session_free(&s);
    return r;
}

/* The launcher, forked before the tree is built: each request runs in a child of its own,
 * so that child's peak memory is the job's alone. */
static int to_launcher = -1, from_launcher = -1;
static pid_t launcher = -1;

static void start_launcher(void)
{
    int a[2], b[2];
    if (pipe(a) < 0 || pipe(b) < 0)
        return;
    launcher = fork();
    if (launcher == 0) {
        close(a[1]);
        close(b[0]);
        request q;
        while (read(a[0], &q, sizeof q) == (ssize_t)sizeof q) {
            int c[2];
            result r = {0};
            if (pipe(c) == 0) {
                pid_t pid = fork();
                if (pid == 0) {
                    r = run_job(&q);
                    _exit(write(c[1], &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
                }
                close(c[1]);
                if (pid < 0 || read(c[0], &r, sizeof r) != (ssize_t)sizeof r)
                    r.ok = 0;
                close(c[0]);
                if (pid > 0)
                    waitpid(pid, NULL, 0);
            }
            if (write(b[1], &r, sizeof r) != (ssize_t)sizeof r)
                break;
        }
        _exit(0);
    }
    close(a[0]);
    close(b[1]);
    to_launcher = a[1];
    from_launcher = b[0];
}

static result run_child(job what, const char *path, const char *out)
{
    request q = { .what = what };
    result r = {0};
    snprintf(q.path, sizeof q.path, "%s", path);
    snprintf(q.out, sizeof q.out, "%s", out ? out : "");
    if (write(to_launcher, &q, sizeof q) != (ssize_t)sizeof q ||
        read(from_launcher, &r, sizeof r) != (ssize_t)sizeof r)
        r.ok = 0;
    return r;
}

static void stop_launcher(void)
{
    close(to_launcher);
    close(from_launcher);
    if (launcher > 0)
        waitpid(launcher, NULL, 0);
}

static size_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

static void report_load(const char *label, const char *path)
{
    double mb = (double)file_size(path) / 1e6;
    result r = run_child(LOAD_SESSION, path, NULL);
    if (!r.ok || r.nodes != NODES) {
        bench_report(label, "FAILED");
        return;
    }
    char l2[128];
    snprintf(l2, sizeof l2, "%s (%.0f MB)", label, mb);
    bench_report(l2, "%.3f s, %.0f MB/s, peak %.2f x file (target >= 100 MB/s, <= 2 x)",
                 r.seconds, mb / r.seconds, (double)r.peak_kb * 1024 / 1e6 / mb);
}

/* Python's json.load + loom's tree walk, timed inside Python (its start-up left out). */
#define RUNS 3                   /* the import command and loom's loader, each */

static double python_reference(const char *path)
{
    if (system("command -v python3 >/dev/null 2>&1") != 0)
        return -1;
    char *cmd = xasprintf(
        "python3 -c '\n"
        "import json, sys, time\n"
        "t = time.time()\n"
        "with open(sys.argv[1]) as f:\n"
        "    d = json.load(f)\n"
        "flat = {}\n"
        "stack = [d[\"root\"]]\n"
        "while stack:\n"
        "    n = stack.pop()\n"
        "    flat[n[\"id\"]] = n\n"
        "    stack.extend(n.get(\"children\", []))\n"
        "print(\"%%.6f %%d\" %% (time.time() - t, len(flat)))\n"
        "' '%s'", path);
    FILE *p = popen(cmd, "r");
    free(cmd);
    double s = -1;
    int n = 0;
    if (p) {
        if (fscanf(p, "%lf %d", &s, &n) != 2 || n != NODES)
            s = -1;
        pclose(p);
    }
    return s;
}

BENCH(session_layouts_and_loom_import)
{
    session s;
    start_launcher();
    build_tree(&s);
    char *base = xasprintf("/tmp/termloom-bench-layouts-%ld", (long)getpid());
    char *lines = xasprintf("%s.lines.json", base), *one = xasprintf("%s.one.json", base);
    char *pretty = xasprintf("%s.pretty.json", base), *loom = xasprintf("%s.loom.json", base);
    char *out = xasprintf("%s.imported.json", base);
    char err[512];
    size_t n, ln, on, pn;
    char *d = session_dump(&s, &n);
    char *lm = formats_export(&s, FORMATS_OUT_LOOM, TREE_NONE, &ln, err, sizeof err);
    session_free(&s);
    char *od = relayout(d, n, 0, &on), *pd = relayout(d, n, 2, &pn);
    int ok = lm && savefile_write(lines, d, n, err, sizeof err) == 0 &&
             savefile_write(one, od, on, err, sizeof err) == 0 &&
             savefile_write(pretty, pd, pn, err, sizeof err) == 0 &&
             savefile_write(loom, lm, ln, err, sizeof err) == 0;
    free(d), free(od), free(pd), free(lm);
    if (!ok) {
        bench_report("writing the files", "FAILED: %s", err);
        goto out;
    }
    bench_report("tree", "%d nodes, %d tokens x %d alternatives", NODES, TOKENS, ALTS);
    report_load("load, node-a-line session", lines);
    report_load("load, one-line session (json.dump)", one);
    report_load("load, pretty-printed session (indent=2)", pretty);
    double mb = (double)file_size(loom) / 1e6;
    result r = run_child(IMPORT_LOOM, loom, out);
    if (!r.ok || r.nodes != NODES) {
        bench_report("termloom import of the loom file", "FAILED");
        goto out;
    }
    char label[128];
    /* The command and loom's loader in turn, the best of RUNS each: on a shared machine the
     * best time is the one least disturbed, for both alike. */
    double cmd_s = -1, py = -1;
    size_t cmd_kb = 0;
    for (int k = 0; k < RUNS; k++) {
        result c = run_child(IMPORT_COMMAND, loom, out);
        if (c.ok && (cmd_s < 0 || c.seconds < cmd_s))
            cmd_s = c.seconds, cmd_kb = c.peak_kb;
        double p = python_reference(loom);
        if (p >= 0 && (py < 0 || p < py))
            py = p;
    }
    snprintf(label, sizeof label, "termloom import, loom file (%.0f MB), the command", mb);
    if (cmd_s < 0)
        bench_report(label, "FAILED (TERMLOOM_BIN=%s)", getenv("TERMLOOM_BIN") ? getenv("TERMLOOM_BIN") : "./termloom");
    else
        bench_report(label, "%.3f s (best of %d), peak %.2f x file", cmd_s, RUNS,
                     (double)cmd_kb * 1024 / 1e6 / mb);
    bench_report("  the same in this process", "%.3f s: parse+convert %.3f, save with attractors "
                 "beside it %.3f (attractors alone %.3f, the save alone %.3f)", r.seconds, r.parse_s,
                 r.save_s, r.analysis_s, r.save_alone_s);
    report_load("load, that imported session (loom fields kept in every node)", out);
    if (py < 0)
        bench_report("loom's loader (python3 json.load + tree walk)", "skipped: no python3");
    else {
        bench_report("loom's loader (python3 json.load + tree walk)", "%.3f s (best of %d)", py, RUNS);
        if (cmd_s > 0)
            bench_report("termloom import vs loom's loader", "%.1f x faster (target >= 5 x)", py / cmd_s);
        bench_report("  opening alone (parse + convert) vs loom's loader", "%.1f x faster", py / r.parse_s);
    }
out:
    if (!getenv("BENCH_KEEP"))
        unlink(lines), unlink(one), unlink(pretty), unlink(loom), unlink(out);
    free(lines), free(one), free(pretty), free(loom), free(out), free(base);
    stop_launcher();
}
