/* core/jscan.h — a strict scanner for JSON values inside a byte range, for the fast paths of
 * the loaders (core/session_stream.c, core/formats_loom.c).  Each function either decodes
 * exactly what jansson would give (every string escape, UTF-8 checked the same way, numbers
 * converted to the same double) and returns 1, or returns 0: "not one I can take", and the
 * caller hands that value to jansson, which gives the real answer or the real error.  No
 * function reads past c->end; whitespace is the four JSON ones, anywhere. */
#ifndef CORE_JSCAN_H
#define CORE_JSCAN_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const char *p, *end;
} jscan_cur;

/* A growable byte buffer for decoded strings. */
typedef struct {
    char  *b;
    size_t n, cap;
} jscan_bytes;

extern const double jscan_pow10[23];          /* 1e0 .. 1e22, all exact */
void jscan_bytes_grow(jscan_bytes *b, size_t want);
static inline void jscan_bytes_need(jscan_bytes *b, size_t more)
{
    if (b->n + more > b->cap)
        jscan_bytes_grow(b, b->n + more);
}

static inline void jscan_ws(jscan_cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\t' || *c->p == '\r'))
        c->p++;
}

static inline int jscan_eat(jscan_cur *c, char ch)
{
    jscan_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* The literal lit (n bytes: "null", "true", "\"attractor\"") after whitespace. */
static inline int jscan_lit(jscan_cur *c, const char *lit, size_t n)
{
    jscan_ws(c);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n))
        return 0;
    c->p += n;
    return 1;
}

/* A string value, decoded and appended to dst (room for one more byte is left after it,
 * so the caller may NUL-terminate without growing). */
int jscan_str(jscan_cur *c, jscan_bytes *dst);
/* A key made of plain ASCII without escapes (every key the loaders know) and its ':'. */
int jscan_key(jscan_cur *c, const char **k, size_t *kl);
/* A key without escapes or control bytes, any other bytes kept as they are (the caller
 * has them checked, e.g. by the jansson parse it hands them to), and its ':'. */
int jscan_key_raw(jscan_cur *c, const char **k, size_t *kl);
/* A number: *d its value as jansson gives it (integers converted), *is_int when it has no
 * fraction or exponent (then *iv holds it).  Integers beyond 18 digits are refused (jansson
 * decides whether they fit). */
int jscan_num(jscan_cur *c, double *d, int *is_int, long long *iv);

/* The extent of one value, without checking it (a parser does that), across pieces of
 * input: call with st zeroed and *p at the value's first byte; 1 when it ended (*p just past
 * it), 0 when end came first (call again with the next piece from *p), -1 when it nests
 * deeper than max_nest.  A number or literal ends before the first byte that cannot
 * continue it (st->first tells which kind it is: a scalar may also end with the input). */
typedef struct {
    int  nest, in_str;
    char first;
} jscan_skip_st;
int jscan_skip(jscan_skip_st *st, const char **p, const char *end, int max_nest);

#define JSCAN_KEY_IS(k, kl, lit) ((kl) == sizeof(lit) - 1 && !memcmp((k), (lit), sizeof(lit) - 1))
#endif
