/* Opening a 1,000,000-node session in the TUI: the time from starting termloom to its
 * first frame and to the first key answered (? shows the help), for the file in each
 * layout (node-a-line, all on one line, pretty-printed; build/tools/gen_session writes
 * them).  The loom runs its real loop, keys from a replay script whose "busy" steps do not
 * wait for the file to be read (tui/replay.h); it quits while still reading.  Beside it:
 * reading the whole file in the TUI's slices against session_load at once, in this
 * process.  BENCH_KEEP=1 leaves the files in /tmp. */
#include "tests/bench.h"
#include "core/mem.h"
#include "core/session.h"
#include "tui/app.h"
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NODES 1000000

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Starts the loom on file with the script; returns the seconds to the first frame and to
 * the help screen in *first and *key (-1: never), or -1 when it could not run. */
static int first_key(const char *dir, const char *file, double *first, double *key)
{
    const char *bin = getenv("TERMLOOM_BIN") ? getenv("TERMLOOM_BIN") : "./termloom";
    char *script = xasprintf("%s/keys", dir), *screens = xasprintf("%s/screens", dir);
    char *f_first = xasprintf("%s/first", screens), *f_help = xasprintf("%s/help", screens);
    mkdir(screens, 0700);
    unlink(f_first);
    unlink(f_help);
    FILE *f = fopen(script, "w");
    int rc = -1;
    if (f) {
        fputs("busy screen first\nbusy ?\nbusy screen help\nbusy q\nbusy q\n", f);
        fclose(f);
    }
    *first = *key = -1;
    double t0 = bench_now();
    pid_t pid = f ? fork() : -1;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        setenv("TERMLOOM_KEYS", script, 1);
        setenv("TERMLOOM_SCREENS", screens, 1);
        setenv("LINES", "40", 1);
        setenv("COLUMNS", "120", 1);
        setenv("TERM", "xterm-256color", 1);
        if (!getenv("TERMLOOM_DATADIR"))
            setenv("TERMLOOM_DATADIR", ".", 1);
        execl(bin, bin, file, (char *)NULL);
        _exit(127);
    }
    if (pid > 0) {
        int status = 0;
        for (;;) {
            double now = bench_now() - t0;
            if (*first < 0 && exists(f_first))
                *first = now;
            if (*key < 0 && exists(f_help))
                *key = now;
            if (waitpid(pid, &status, WNOHANG) == pid)
                break;
            if (now > 120) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                break;
            }
            usleep(500);
        }
        rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
    }
    free(script);
    free(screens);
    free(f_first);
    free(f_help);
    return rc;
}

/* Reads the file in the TUI's slices; seconds for all of it, the longest slice, the
 * slices made (0 on a failure), and the analysis indexes set up after it (the TUI's
 * app_init_analysis, done at once when the tree is whole) in *setup. */
static double sliced(const char *file, double *longest, int *slices, double *setup)
{
    session s;
    session_init(&s);
    char err[600];
    *longest = 0;
    *slices = 0;
    double t0 = bench_now();
    session_opener *o = session_open_begin(&s, file, err, sizeof err);
    int r = o ? 1 : -1;
    while (r == 1) {
        double a = bench_now();
        r = session_open_step(o, &s, APP_LOAD_SLICE, err, sizeof err);
        double d = bench_now() - a;
        if (d > *longest)
            *longest = d;
        (*slices)++;
    }
    double dt = bench_now() - t0;
    session_open_free(o);
    size_t n = tree_count(s.t);
    static app A;
    memset(&A, 0, sizeof A);
    A.ses = s;
    double t1 = bench_now();
    app_init_analysis(&A);
    *setup = bench_now() - t1;
    app_free(&A);                          /* the session with it */
    return r == 0 && n == NODES ? dt : 0;
}

static double at_once(const char *file)
{
    session s;
    session_init(&s);
    char err[600];
    double t0 = bench_now();
    int r = session_load(&s, file, err, sizeof err);
    double dt = bench_now() - t0;
    session_free(&s);
    return r == 0 ? dt : 0;
}

BENCH(tui_open_1m)
{
    char dir[] = "/tmp/termloom-bench-open-XXXXXX";
    if (!mkdtemp(dir)) {
        bench_report("TUI opening a 1,000,000-node file", "skipped: no temporary folder");
        return;
    }
    static const char *const layouts[] = { "line", "oneline", "pretty" };
    static const char *const names[] = { "node-a-line", "one line", "pretty-printed" };
    for (int i = 0; i < 3; i++) {
        char *file = xasprintf("%s/s-%s.json", dir, layouts[i]);
        char *cmd = xasprintf("'%s/tools/gen_session' %d '%s' %s", bench_build_dir(), NODES, file, layouts[i]);
        char label[120];
        struct stat st;
        if (system(cmd) != 0 || stat(file, &st) != 0) {
            bench_report("TUI opening a 1,000,000-node file", "skipped: gen_session failed");
            free(cmd);
            free(file);
            break;
        }
        double first, key;
        int ok = first_key(dir, file, &first, &key) == 0 && key >= 0;
        snprintf(label, sizeof label, "TUI, 1M nodes %s (%.0f MB): first frame / key answered", names[i],
                 (double)st.st_size / 1e6);
        if (ok)
            bench_report(label, "%.3f s / %.3f s (target: a key answered < 1 s)", first, key);
        else
            bench_report(label, "failed: the loom did not answer");
        double longest, setup;
        int slices;
        double all = sliced(file, &longest, &slices, &setup), once = at_once(file);
        snprintf(label, sizeof label, "  the whole file in slices / session_load at once");
        bench_report(label, "%.2f s in %d slices / %.2f s", all, slices, once);
        snprintf(label, sizeof label, "  the longest slice (the last: checks) + the analysis set up");
        bench_report(label, "%.0f + %.0f ms (the one pause while it opens)", longest * 1e3, setup * 1e3);
        free(cmd);
        if (!getenv("BENCH_KEEP"))
            unlink(file);
        free(file);
    }
    if (!getenv("BENCH_KEEP")) {
        char *cmd = xasprintf("rm -rf '%s'", dir);
        if (system(cmd) != 0) {
            /* left in /tmp */
        }
        free(cmd);
    }
}
