/* tests/bench_main.c — runs every BENCH (or those whose names contain an argument). */
#include "tests/bench.h"
#include "core/mono.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define B(name) void bench_##name(void);
#include "bench_registry.h"
#undef B
static const struct { const char *name; void (*fn)(void); } benches[] = {
#define B(name) { #name, bench_##name },
#include "bench_registry.h"
#undef B
    { NULL, NULL }
};
static const char *build_dir = "build";

double bench_now(void) { return mono_now(); }

size_t bench_peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (size_t)ru.ru_maxrss;
}

const char *bench_build_dir(void) { return build_dir; }

double bench_command(char *const argv[], size_t *peak_kb)
{
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    if (peak_kb)
        *peak_kb = (size_t)ru.ru_maxrss;
    return bench_now() - t0;
}

void bench_report(const char *label, const char *fmt, ...)
{
    char value[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    printf("  %-52s %s\n", label, value);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        build_dir = argv[1];
    for (int i = 0; benches[i].name; i++) {
        int wanted = argc < 3;
        for (int a = 2; a < argc; a++)
            wanted |= strstr(benches[i].name, argv[a]) != NULL;
        if (!wanted)
            continue;
        printf("%s\n", benches[i].name);
        fflush(stdout);
        benches[i].fn();
    }
    return 0;
}
