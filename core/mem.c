#include "core/mem.h"
#include <errno.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void (*die_hook)(void);

void mem_on_die(void (*fn)(void))
{
    die_hook = fn;
}

static void mem_die(size_t n)
{
    if (die_hook)
        die_hook();
    fprintf(stderr, "termloom: out of memory (allocating %zu bytes)\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        mem_die(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        mem_die(n * size);
    return p;
}

void mem_advise_huge(void *p, size_t n)
{
#if defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + n) & ~(huge - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_HUGEPAGE);   /* a hint: ignored where not supported */
#else
    (void)p;
    (void)n;
#endif
}

void mem_expect_big_heap(void)
{
#if defined(__GLIBC__) && defined(M_TOP_PAD)
    mallopt(M_TOP_PAD, 64 << 20);                 /* a hint: nothing is lost if refused */
#endif
}

void *xcalloc_table(size_t n, size_t size)
{
    size_t bytes = n * size;
    const size_t huge = (size_t)2 << 20;
    if (n && bytes / n != size)
        mem_die(SIZE_MAX);
#if defined(MADV_HUGEPAGE)
    if (bytes >= 2 * huge) {            /* whole 2 MB pages: one TLB entry each */
        void *p = NULL;
        size_t whole = (bytes + huge - 1) / huge * huge;
        if (posix_memalign(&p, huge, whole))
            mem_die(whole);
        mem_advise_huge(p, whole);
        memset(p, 0, bytes);
        return p;
    }
#endif
    return xcalloc(n, size);
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        mem_die(n);
    return q;
}

void xgrow(void *pp, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 4;
    while (c < need)
        c += c / 2 + 4;
    *(void **)pp = xrealloc(*(void **)pp, c * size);
    *cap = c;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return buf_steal(&b);
}

void buf_add(buf *b, const void *p, size_t n)
{
    xgrow(&b->data, &b->cap, b->len + n + 1, 1);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void buf_adds(buf *b, const char *s) { buf_add(b, s, strlen(s)); }
void buf_addc(buf *b, char c) { buf_add(b, &c, 1); }

void buf_vprintf(buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    xgrow(&b->data, &b->cap, b->len + (size_t)n + 1, 1);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_clear(buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

char *buf_steal(buf *b)
{
    char *s = b->data ? b->data : xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void buf_free(buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Opens path for reading without blocking on a FIFO; refuses what is not a regular file. */
static int open_regular(const char *path, size_t max, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: %s", path, S_ISDIR(st.st_mode) ? "is a directory"
                 : "not a regular file (a pipe, device or socket; use - for standard input)");
        close(fd);
        return -1;
    }
    if ((unsigned long long)st.st_size > max) {
        snprintf(err, errlen, "%s: file is too large (%lld bytes; the limit is %zu MiB)", path,
                 (long long)st.st_size, max >> 20);
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

int mem_open_input(const char *path, size_t max, char *err, size_t errlen)
{
    if (!max)
        max = MEM_FILE_MAX;
    if (!strcmp(path, "-"))
        return dup(STDIN_FILENO);
    return open_regular(path, max, err, errlen);
}

int buf_read_file(buf *b, const char *path, size_t max, char *err, size_t errlen)
{
    if (!max || max > MEM_FILE_MAX)
        max = MEM_FILE_MAX;
    int fd = mem_open_input(path, max, err, errlen);
    if (fd < 0) {
        if (!strcmp(path, "-"))
            snprintf(err, errlen, "-: %s", strerror(errno));
        return -1;
    }
    size_t start = b->len;
    int rc = 0;
    struct stat st;                  /* a file's size known: read straight into one block */
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size <= max) {
        xgrow(&b->data, &b->cap, b->len + (size_t)st.st_size + 2, 1);
        if ((uint64_t)st.st_size >= (8u << 20)) {   /* see mem_advise_huge, mem_expect_big_heap */
            mem_advise_huge(b->data + b->len, (size_t)st.st_size);
            mem_expect_big_heap();
        }
    }
    for (;;) {
        if (b->cap - b->len < 2)
            xgrow(&b->data, &b->cap, b->len + 65536, 1);
        ssize_t n = read(fd, b->data + b->len, b->cap - b->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: read error (%s)", path, strerror(errno));
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        if (b->len - start + (size_t)n > max) {
            snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
            rc = -1;
            break;
        }
        b->len += (size_t)n;
    }
    close(fd);
    if (rc)
        b->len = start;
    if (b->data)
        b->data[b->len] = 0;
    return rc;
}

