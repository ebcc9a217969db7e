/* tests/runner.c — runs the unit tests named on the command line, or all of them. */
#include "tests/test.h"
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

int main(int argc, char **argv)
{
    snprintf(tmproot, sizeof tmproot, "/tmp/termloom-unit-%d", (int)getpid());
    setvbuf(stdout, NULL, _IOLBF, 0);
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) {
        int wanted = argc < 2;
        for (int a = 1; a < argc; a++)
            if (strstr(tests[i].name, argv[a]))
                wanted = 1;
        if (!wanted)
            continue;
        current = tests[i].name;
        test_failed_ = 0;
        tests[i].fn();
        if (test_failed_)
            failed++;
        else {
            printf("ok %s\n", tests[i].name);
            passed++;
        }
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmproot);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmproot);
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
