/* tests/bench/bench_idle.c — what the TUI costs while it only waits: the real binary in a
 * tmux pane, a generation (4 branches) and a comparison (both sides, 4 samples each) all
 * waiting on a server that answers after a minute.  The figure is the CPU the termloom
 * process used (user + system, from /proc) over 3 s, as a share of one core.
 * Target: under 1 %.  Needs tmux; skipped without it. */
#include "tests/bench.h"
#include "tests/spawn.h"
#include "core/mem.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int sh(const char *cmd)
{
    int rc = system(cmd);
    return rc == 0 ? 0 : -1;
}

/* utime + stime of pid in seconds, or -1. */
static double cpu_of(long pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    char *p = strrchr(line, ')');          /* the command name may hold spaces */
    if (!p)
        return -1;
    unsigned long ut = 0, st = 0;
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

BENCH(tui_idle_cpu)
{
    if (sh("command -v tmux >/dev/null 2>&1") < 0) {
        bench_report("TUI CPU waiting on a silent server", "skipped: no tmux");
        return;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/tools/testserver", bench_build_dir());
    int port = 0;
    pid_t server = spawn_testserver(path, "--lifetime 60 --idle 60 --latency 60000", &port);
    if (server <= 0) {
        bench_report("TUI CPU waiting on a silent server", "skipped: the test server did not start");
        return;
    }
    const char *bin = getenv("TERMLOOM_BIN") ? getenv("TERMLOOM_BIN") : "./termloom";
    char dir[] = "/tmp/termloom-bench-idle.XXXXXX";
    if (!mkdtemp(dir)) {
        spawn_stop(server);
        return;
    }
    char sock[64];
    snprintf(sock, sizeof sock, "termloom-bench-%ld", (long)getpid());
    char *url = xasprintf("http://127.0.0.1:%d/v1", port);
    char *cmd = xasprintf("tmux -L %s new-session -d -x 120 -y 40 \"exec env TERM=screen-256color LANG=C.UTF-8 "
                          "'%s' --backend openai --base-url %s --model m -n 4 '%s/s.json'\"", sock, bin, url, dir);
    int ok = sh(cmd) == 0;
    free(cmd);
    usleep(800 * 1000);
    /* A generation, then a comparison, both left waiting. */
    cmd = xasprintf("tmux -L %s send-keys Enter && sleep 0.3 && tmux -L %s send-keys c && sleep 0.3 && "
                    "tmux -L %s send-keys C-a C-k && tmux -L %s send-keys -l 'backend=openai,base_url=%s,model=m | "
                    "backend=openai,base_url=%s,model=m2 | 4' && tmux -L %s send-keys Enter",
                    sock, sock, sock, sock, url, url, sock);
    ok = ok && sh(cmd) == 0;
    free(cmd);
    long pid = 0;
    cmd = xasprintf("tmux -L %s display-message -p '#{pane_pid}'", sock);
    FILE *p = ok ? popen(cmd, "r") : NULL;
    free(cmd);
    if (p) {
        if (fscanf(p, "%ld", &pid) != 1)
            pid = 0;
        pclose(p);
    }
    double c0 = -1, c1 = -1, t0 = 0, t1 = 0;
    if (pid > 0) {
        usleep(1000 * 1000);               /* the requests are out; now only waiting */
        c0 = cpu_of(pid);
        t0 = bench_now();
        usleep(3000 * 1000);
        c1 = cpu_of(pid);
        t1 = bench_now();
    }
    if (c0 >= 0 && c1 >= 0)
        bench_report("TUI CPU: a generation and a comparison waiting",
                     "%.2f %% of a core over %.1f s (target < 1 %%)", 100.0 * (c1 - c0) / (t1 - t0), t1 - t0);
    else
        bench_report("TUI CPU: a generation and a comparison waiting",
                     "not measured: the TUI did not start");
    cmd = xasprintf("tmux -L %s kill-server >/dev/null 2>&1; rm -rf '%s'", sock, dir);
    sh(cmd);
    free(cmd);
    free(url);
    spawn_stop(server);
}
