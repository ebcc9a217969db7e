/* tests/runner.c — runs the unit tests, in registry order.
 *   unit [PATTERN...]               every test whose name contains a PATTERN (all without one)
 *   unit --list [PATTERN...]        prints the names of the tests that would run, one a line
 *   unit --after NAME [PATTERN...]  runs only the tests after NAME (resuming past a crash)
 *   unit --started FILE ...         appends each test's name to FILE just before it runs
 * Each test prints "ok NAME" or "FAIL NAME: why"; the last line is the summary
 * "unit: N passed, N failed" (its absence means the runner died: tests/run.sh). */
#include "tests/test.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#define T(name) void test_##name(void);
#include "registry.h"
#undef T

static const struct { const char *name; void (*fn)(void); } tests[] = {
#define T(name) { #name, test_##name },
#include "registry.h"
#undef T
};

int test_failed_;
static const char *current;
static char tmproot[256];
static int tmpcount;

void test_fail_(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    if (!test_failed_)
        printf("FAIL %s: ", current);
    else
        printf("     %s: ", current);
    printf("%s:%d: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    test_failed_ = 1;
}

const char *test_tmpdir(void)
{
    static char path[320];
    snprintf(path, sizeof path, "%s/%d", tmproot, ++tmpcount);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", path, path);
    if (system(cmd) != 0)
        return NULL;
    return path;
}

char *test_write_tmp(const char *name, const void *data, size_t len)
{
    const char *dir = test_tmpdir();
    size_t n = strlen(dir ? dir : "") + strlen(name) + 2;
    char *path = malloc(n);
    if (!path)
        abort();
    snprintf(path, n, "%s/%s", dir ? dir : ".", name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
    return path;
}

const char *test_fixture(const char *name)
{
    static char path[512];
    const char *dirs[] = { getenv("TERMLOOM_FIXTURES"), "tests/fixtures", "../shared/fixtures" };
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        if (!dirs[i])
            continue;
        snprintf(path, sizeof path, "%s/%s", dirs[i], name);
        if (access(path, R_OK) == 0)
            return path;
    }
    return NULL;
}

char *test_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

static void usage(void)
{
    fprintf(stderr, "usage: unit [--started FILE] [--list | --after NAME] [PATTERN...]\n");
    exit(2);
}

/* A test runs when no pattern is given or its name contains one of them. */
static int wanted(const char *name, char **pats, int npats)
{
    for (int a = 0; a < npats; a++)
        if (strstr(name, pats[a]))
            return 1;
    return npats == 0;
}

/* --started FILE: each test's name is appended to FILE, with one write(2), before the test
 * runs, so that when the runner dies the last line names the test that killed it. */
static void note_started(int fd, const char *name)
{
    if (fd < 0)
        return;
    char line[256];
    int n = snprintf(line, sizeof line, "%s\n", name);
    if (n > 0 && (size_t)n < sizeof line && write(fd, line, (size_t)n) != n) {
        fprintf(stderr, "unit: could not write to the --started file\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    const char *after = NULL, *started = NULL;
    int list = 0, a = 1;
    for (; a < argc && !strncmp(argv[a], "--", 2); a++) {
        if (!strcmp(argv[a], "--list"))
            list = 1;
        else if (!strcmp(argv[a], "--after") && a + 1 < argc)
            after = argv[++a];
        else if (!strcmp(argv[a], "--started") && a + 1 < argc)
            started = argv[++a];
        else if (!strcmp(argv[a], "--")) {
            a++;
            break;
        } else
            usage();
    }
    char **pats = argv + a;
    int npats = argc - a;
    size_t first = 0, ntests = sizeof tests / sizeof *tests;
    if (after) {
        while (first < ntests && strcmp(tests[first].name, after))
            first++;
        if (first == ntests) {
            fprintf(stderr, "unit: --after %s: no test has that name\n", after);
            return 2;
        }
        first++;
    }
    if (list) {
        for (size_t i = first; i < ntests; i++)
            if (wanted(tests[i].name, pats, npats))
                printf("%s\n", tests[i].name);
        return 0;
    }
    int started_fd = -1;
    if (started && (started_fd = open(started, O_WRONLY | O_CREAT | O_APPEND, 0644)) < 0) {
        fprintf(stderr, "unit: --started %s: %s\n", started, strerror(errno));
        return 2;
    }
    /* Under TMPDIR when set, so that whoever runs us can remove what a crashed run left. */
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(tmproot, sizeof tmproot, "%s/termloom-unit-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
    if (n < 0 || (size_t)n >= sizeof tmproot)
        snprintf(tmproot, sizeof tmproot, "/tmp/termloom-unit-%d", (int)getpid());
    setvbuf(stdout, NULL, _IOLBF, 0);
    int passed = 0, failed = 0;
    for (size_t i = first; i < ntests; i++) {
        if (!wanted(tests[i].name, pats, npats))
            continue;
        current = tests[i].name;
        note_started(started_fd, current);
        test_failed_ = 0;
        tests[i].fn();
        if (test_failed_)
            failed++;
        else {
            printf("ok %s\n", tests[i].name);
            passed++;
        }
    }
    if (started_fd >= 0)
        close(started_fd);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmproot);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmproot);
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
