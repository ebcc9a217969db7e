/* core/mem.h — checked allocation (abort with a message on exhaustion) and a growable
 * byte buffer.  Every module allocates through these. */
#ifndef CORE_MEM_H
#define CORE_MEM_H
#include <stddef.h>
#include <stdarg.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
/* Asks that the whole 2 MB pages inside [p, p + n) be backed by huge pages (madvise, a
 * hint, ignored where not supported): memory about to be filled at once then costs one
 * page fault per 2 MB instead of 512 -- most of a big file read's system time on a VM. */
void mem_advise_huge(void *p, size_t n);
/* Tells malloc that much will be allocated soon (a big file about to become a tree):
 * glibc's heaps then grow, and are trimmed, in steps of 64 MB (M_TOP_PAD) for
 * the rest of the process, not a few pages at a time -- a helper thread's arena otherwise
 * grows by one mprotect per allocation past its end (8,000 of them importing a 71 MB loom
 * file).  Elsewhere than glibc nothing. */
void mem_expect_big_heap(void);
/* xcalloc for a big table probed at random (a hash table): of 4 MB or more it is
 * aligned to 2 MB and asked to be backed by huge pages (madvise, a hint), so a lookup
 * misses the TLB less.  Freed with free(). */
void *xcalloc_table(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Starts loading p's cache line (a hint: nothing where the compiler has no way to say it),
 * so a loop can overlap the cache misses of the next few items with its work. */
static inline void mem_prefetch(const void *p)
{
#if defined(__GNUC__)
    __builtin_prefetch(p);
#else
    (void)p;
#endif
}
/* Grows *p (an array of *cap elements of `size` bytes) to hold at least `need`. */
void  xgrow(void *pp, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...);
/* Called before the out-of-memory message is printed and the program aborts (the TUI puts
 * the terminal back there, so the message is seen); NULL removes it. */
void  mem_on_die(void (*fn)(void));

typedef struct buf {
    char  *data;   /* always NUL-terminated when non-NULL */
    size_t len, cap;
} buf;

void buf_add(buf *b, const void *p, size_t n);
void buf_adds(buf *b, const char *s);
void buf_addc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...);
void buf_vprintf(buf *b, const char *fmt, va_list ap);
void buf_clear(buf *b);        /* length 0, keeps the memory */
char *buf_steal(buf *b);       /* the string (never NULL); the buffer is left empty */
/* The one size limit every reader of a user's file applies (the session limit). */
#define MEM_FILE_MAX ((size_t)2 << 30)
/* Opens a file to read: a regular file of at most max bytes (0: MEM_FILE_MAX; a reader that
 * streams, holding little of the file at once, may allow more), or "-" for standard input;
 * never blocks on a FIFO.  A file descriptor, or -1 with "PATH: reason"
 * ("is a directory", "not a regular file", "file is too large") in err. */
int  mem_open_input(const char *path, size_t max, char *err, size_t errlen);
/* Appends the whole file at path (as mem_open_input opens it; at most max bytes, 0 for
 * MEM_FILE_MAX: -1 beyond it).  0 ok; -1 with "PATH: reason" in err. */
int  buf_read_file(buf *b, const char *path, size_t max, char *err, size_t errlen);
void buf_free(buf *b);
#endif
