/* core/session_lines.c — reading termloom's own layout a node at a time: the file in
 * chunks, one line per node, each parsed by a strict parser (jansson for any line it does not
 * take), so a huge session never exists as one JSON document in memory. */
#include "core/session_impl.h"
#include "core/text.h"
#include "core/mem.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The next line without its newline; 0 at the end, -1 on a read error. */
static int session_lines_next(session_lines *l, const char **s, size_t *n)
{
    if (l->mem) {
        if (l->pos >= l->memlen)
            return 0;
        const char *p = l->mem + l->pos, *nl = memchr(p, '\n', l->memlen - l->pos);
        size_t len = nl ? (size_t)(nl - p) : l->memlen - l->pos;
        *s = p;
        *n = len;
        l->pos += len + (nl != NULL);
        return 1;
    }
    for (;;) {
        char *nl = l->end > l->beg ? memchr(l->buf + l->beg, '\n', l->end - l->beg) : NULL;
        if (nl || (l->eof && l->end > l->beg)) {
            size_t len = nl ? (size_t)(nl - (l->buf + l->beg)) : l->end - l->beg;
            *s = l->buf + l->beg;
            *n = len;
            l->beg += len + (nl != NULL);
            return 1;
        }
        if (l->eof)
            return 0;
        if (l->beg > 0) {                      /* keep the partial line, drop the rest */
            memmove(l->buf, l->buf + l->beg, l->end - l->beg);
            l->end -= l->beg;
            l->beg = 0;
        }
        if (l->end == l->cap) {
            size_t cap = l->cap;
            xgrow(&l->buf, &cap, l->cap * 2, 1);
            l->cap = cap;
        }
        ssize_t r = read(l->fd, l->buf + l->end, l->cap - l->end);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            l->err = errno;
            return -1;
        }
        if (r == 0)
            l->eof = 1;
        l->end += (size_t)r;
    }
}

static size_t trim_end(const char *s, size_t n)
{
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    return n;
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

/* ---- a strict parser for the node lines termloom writes ----
 * It accepts only what it can decode exactly as jansson would (every string escape, UTF-8
 * checked the same way, numbers converted to the same double) and only the known node
 * fields; anything else makes it give up (0), and the line goes through jansson, which then
 * gives the real answer or the real error message. */

typedef struct {
    char       *b;
    size_t      n, cap;
} bytes;

typedef struct {
    bytes       text, pool, word;
    tree_token *tok;
    size_t      ntok, cap_tok;
    tree_piece *top;
    size_t      ntop, cap_top;
    int32_t    *ch;
    size_t      nch, cap_ch;
} scratch;

static void scratch_free(scratch *S)
{
    free(S->text.b);
    free(S->pool.b);
    free(S->word.b);
    free(S->tok);
    free(S->top);
    free(S->ch);
    memset(S, 0, sizeof *S);
}

static inline void bytes_need(bytes *b, size_t more)
{
    if (b->n + more > b->cap)
        xgrow(&b->b, &b->cap, b->n + more, 1);
}

typedef struct {
    const char *p, *end;
} cur;

static inline void ws(cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

static inline int eat(cur *c, char ch)
{
    ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char h = p[i];
        unsigned d = h >= '0' && h <= '9' ? (unsigned)(h - '0') : h >= 'a' && h <= 'f' ? (unsigned)(h - 'a' + 10)
                   : h >= 'A' && h <= 'F' ? (unsigned)(h - 'A' + 10) : 16u;
        if (d > 15)
            return 0;
        *v = *v * 16 + d;
    }
    return 1;
}

/* A string value, decoded and appended to out.  0 when it is not one we can take. */
static int p_str(cur *c, bytes *dst)
{
    ws(c);
    if (c->p >= c->end || *c->p != '"')
        return 0;
    const unsigned char *s = (const unsigned char *)++c->p, *e = (const unsigned char *)c->end;
    const unsigned char *run = s;
    bytes_need(dst, (size_t)(e - s) + 1);     /* decoding never grows the text */
    while (s < e) {
        unsigned char ch = *s;
        if (ch >= 0x20 && ch < 0x80 && ch != '"' && ch != '\\') {
            s++;
            continue;
        }
        if (ch >= 0x80) {
            size_t k = text_utf8_seq((const char *)s, (size_t)(e - s));
            if (!k)
                return 0;
            s += k;
            continue;
        }
        memcpy(dst->b + dst->n, run, (size_t)(s - run));
        dst->n += (size_t)(s - run);
        if (ch == '"') {
            c->p = (const char *)s + 1;
            return 1;
        }
        if (ch < 0x20 || s + 1 >= e)
            return 0;
        char r;
        switch (s[1]) {
        case '"': r = '"'; break;
        case '\\': r = '\\'; break;
        case '/': r = '/'; break;
        case 'b': r = '\b'; break;
        case 'f': r = '\f'; break;
        case 'n': r = '\n'; break;
        case 'r': r = '\r'; break;
        case 't': r = '\t'; break;
        case 'u': {
            unsigned u, lo;
            if (e - s < 6 || !hex4((const char *)s + 2, &u))
                return 0;
            s += 6;
            if (u >= 0xDC00 && u <= 0xDFFF)
                return 0;
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (e - s < 6 || s[0] != '\\' || s[1] != 'u' || !hex4((const char *)s + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    return 0;
                s += 6;
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            }
            char *o = dst->b + dst->n;          /* ≤ 4 bytes from ≥ 6 of input */
            if (u < 0x80)
                *o++ = (char)u;
            else if (u < 0x800) {
                *o++ = (char)(0xC0 | (u >> 6));
                *o++ = (char)(0x80 | (u & 0x3F));
            } else if (u < 0x10000) {
                *o++ = (char)(0xE0 | (u >> 12));
                *o++ = (char)(0x80 | ((u >> 6) & 0x3F));
                *o++ = (char)(0x80 | (u & 0x3F));
            } else {
                *o++ = (char)(0xF0 | (u >> 18));
                *o++ = (char)(0x80 | ((u >> 12) & 0x3F));
                *o++ = (char)(0x80 | ((u >> 6) & 0x3F));
                *o++ = (char)(0x80 | (u & 0x3F));
            }
            dst->n = (size_t)(o - dst->b);
            run = s;
            continue;
        }
        default:
            return 0;
        }
        dst->b[dst->n++] = r;
        s += 2;
        run = s;
    }
    return 0;
}

/* A key made of plain ASCII (every key we know); 0 otherwise. */
static int p_key(cur *c, const char **k, size_t *kl)
{
    ws(c);
    if (c->p >= c->end || *c->p != '"')
        return 0;
    const char *s = ++c->p;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch < 0x20 || ch >= 0x80 || ch == '\\')
            return 0;
        c->p++;
    }
    if (c->p >= c->end)
        return 0;
    *k = s;
    *kl = (size_t)(c->p - s);
    c->p++;
    return eat(c, ':');
}

#define KEY_IS(k, kl, lit) ((kl) == sizeof(lit) - 1 && !memcmp((k), (lit), sizeof(lit) - 1))

/* A JSON number: *d its value as jansson gives it (integers converted), *is_int when it has
 * no fraction or exponent (then *iv holds it). */
static int p_num(cur *c, double *d, int *is_int, long long *iv)
{
    ws(c);
    const char *s = c->p, *e = c->end, *start = s;
    int neg = 0;
    if (s < e && *s == '-')
        neg = 1, s++;
    if (s >= e || *s < '0' || *s > '9')
        return 0;
    uint64_t m = 0;
    int digits = 0, exp10 = 0;
    if (*s == '0') {
        s++;
    } else {
        while (s < e && *s >= '0' && *s <= '9') {
            if (digits < 19)
                m = m * 10 + (uint64_t)(*s - '0');
            else
                exp10++;
            digits++;
            s++;
        }
    }
    int frac = 0, expo = 0;
    if (s < e && *s == '.') {
        s++;
        if (s >= e || *s < '0' || *s > '9')
            return 0;
        while (s < e && *s >= '0' && *s <= '9') {
            if (m == 0 && *s == '0')            /* leading zeros of 0.000x are not digits */
                exp10--;
            else if (digits < 19) {
                m = m * 10 + (uint64_t)(*s - '0');
                exp10--;
                digits++;
            }
            s++;
        }
        frac = 1;
    }
    if (s < e && (*s == 'e' || *s == 'E')) {
        s++;
        int eneg = 0;
        if (s < e && (*s == '+' || *s == '-'))
            eneg = *s == '-', s++;
        if (s >= e || *s < '0' || *s > '9')
            return 0;
        while (s < e && *s >= '0' && *s <= '9') {
            if (expo < 10000)
                expo = expo * 10 + (*s - '0');
            s++;
        }
        exp10 += eneg ? -expo : expo;
        frac = 1;
    }
    c->p = s;
    *is_int = !frac;
    if (!frac) {
        if (digits > 18)
            return 0;                           /* maybe beyond long long: jansson decides */
        *iv = neg ? -(long long)m : (long long)m;
        *d = (double)*iv;
        return 1;
    }
    if (digits <= 19 && m < (1ull << 53) && exp10 >= -22 && exp10 <= 22) {
        /* exact operands, one correctly rounded operation: the same double as strtod */
        double v = (double)m;
        v = exp10 < 0 ? v / session_pow10[-exp10] : v * session_pow10[exp10];
        *d = neg ? -v : v;
        return 1;
    }
    char tmp[64];
    size_t n = (size_t)(s - start);
    if (n >= sizeof tmp)
        return 0;
    memcpy(tmp, start, n);
    tmp[n] = 0;
    *d = strtod(tmp, NULL);
    return isfinite(*d);
}

static int p_lit(cur *c, const char *lit, size_t n)
{
    ws(c);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n))
        return 0;
    c->p += n;
    return 1;
}

static int p_id(cur *c, int32_t *id, int allow_null)
{
    double d;
    int is_int;
    long long v;
    if (allow_null && p_lit(c, "null", 4)) {
        *id = TREE_NONE;
        return 1;
    }
    if (!p_num(c, &d, &is_int, &v) || !is_int || v < 0 || v >= INT32_MAX)
        return 0;
    *id = (int32_t)v;
    return 1;
}

static int p_logprob(cur *c, float *lp)
{
    double d;
    int is_int;
    long long v;
    if (p_lit(c, "null", 4)) {
        *lp = NAN;
        return 1;
    }
    if (!p_num(c, &d, &is_int, &v))
        return 0;
    *lp = (float)d;
    return 1;
}

/* "bytes": [0-255, ...] into the pool (NUL-terminated); its offset and length. */
static int p_bytes(cur *c, bytes *pool, size_t *off, size_t *len)
{
    if (!eat(c, '['))
        return 0;
    *off = pool->n;
    if (!eat(c, ']')) {
        do {
            double d;
            int is_int;
            long long v;
            if (!p_num(c, &d, &is_int, &v) || !is_int || v < 0 || v > 255)
                return 0;
            bytes_need(pool, 1);
            pool->b[pool->n++] = (char)v;
        } while (eat(c, ','));
        if (!eat(c, ']'))
            return 0;
    }
    *len = pool->n - *off;
    if (pool->n >= UINT32_MAX)
        return 0;
    bytes_need(pool, 1);
    pool->b[pool->n++] = 0;
    return 1;
}

/* {"text": ...[, "bytes": [...]], "logprob": ...[, "top": [...]]} in any key order, into the
 * scratch pool; "bytes", when present, are the piece's exact bytes. */
static int p_piece(cur *c, scratch *S, tree_piece *pc, int allow_top, int64_t *top_first, uint32_t *ntop,
                   float *entropy)
{
    if (!eat(c, '{'))
        return 0;
    int seen = 0;
    size_t boff = 0, blen = 0;
    pc->logprob = NAN;
    if (eat(c, '}'))
        return 0;                               /* text is required */
    do {
        const char *k;
        size_t kl;
        if (!p_key(c, &k, &kl))
            return 0;
        if (KEY_IS(k, kl, "text") && !(seen & 1)) {
            size_t at = S->pool.n;
            if (!p_str(c, &S->pool))
                return 0;
            if (S->pool.n - at >= UINT32_MAX || at >= UINT32_MAX)
                return 0;
            pc->off = (uint32_t)at;
            pc->len = (uint32_t)(S->pool.n - at);
            bytes_need(&S->pool, 1);
            S->pool.b[S->pool.n++] = 0;
            seen |= 1;
        } else if (KEY_IS(k, kl, "bytes") && !(seen & 16)) {
            if (!p_bytes(c, &S->pool, &boff, &blen))
                return 0;
            seen |= 16;
        } else if (KEY_IS(k, kl, "logprob") && !(seen & 2)) {
            if (!p_logprob(c, &pc->logprob))
                return 0;
            seen |= 2;
        } else if (allow_top && KEY_IS(k, kl, "entropy") && !(seen & 8)) {
            if (!p_logprob(c, entropy))
                return 0;
            seen |= 8;
        } else if (allow_top && KEY_IS(k, kl, "top") && !(seen & 4)) {
            seen |= 4;
            *top_first = (int64_t)S->ntop;
            if (!eat(c, '['))
                return 0;
            if (!eat(c, ']')) {
                do {
                    xgrow(&S->top, &S->cap_top, S->ntop + 1, sizeof *S->top);
                    tree_piece tp;
                    if (!p_piece(c, S, &tp, 0, NULL, NULL, NULL))
                        return 0;
                    S->top[S->ntop++] = tp;
                } while (eat(c, ','));
                if (!eat(c, ']'))
                    return 0;
            }
            *ntop = (uint32_t)(S->ntop - (size_t)*top_first);
        } else
            return 0;
    } while (eat(c, ','));
    pc->logprob = tree_logprob(pc->logprob);
    if (seen & 16) {                            /* the exact bytes win over the text */
        pc->off = (uint32_t)boff;
        pc->len = (uint32_t)blen;
        seen |= 1;
    }
    return (seen & 1) && eat(c, '}');
}

static int p_tokens(cur *c, scratch *S)
{
    if (!eat(c, '['))
        return 0;
    if (eat(c, ']'))
        return 1;
    do {
        tree_token tk;
        int64_t first = (int64_t)S->ntop;
        uint32_t ntop = 0;
        tk.entropy = NAN;
        if (!p_piece(c, S, &tk.tok, 1, &first, &ntop, &tk.entropy))
            return 0;
        tk.top = (uint32_t)first;
        tk.ntop = ntop;
        if (!ntop)
            tk.top = (uint32_t)S->ntop;
        xgrow(&S->tok, &S->cap_tok, S->ntok + 1, sizeof *S->tok);
        S->tok[S->ntok++] = tk;
    } while (eat(c, ','));
    return eat(c, ']');
}

/* An exactly sized copy (at least one byte, so that the pointer is never NULL). */
static void *copy_of(const void *src, size_t n)
{
    void *p = xmalloc(n ? n : 1);
    if (n)
        memcpy(p, src, n);
    return p;
}

/* One node line into a pending node.  1 done, 0 give the line to jansson. */
static int fast_node(session_loader *L, scratch *S, const char *line, size_t len)
{
    cur c = { line, line + len };
    S->text.n = S->pool.n = S->ntok = S->ntop = S->nch = 0;
    int32_t id = TREE_NONE, parent = TREE_NONE;
    uint8_t origin = 0, marks = 0, flags = 0;
    uint32_t model = 0, finish = 0;
    int64_t created = 0;
    uint32_t vocab = 0;
    unsigned seen = 0;
    enum { K_ID = 1, K_PARENT = 2, K_ORIGIN = 4, K_TEXT = 8, K_CHILDREN = 16, K_MODEL = 32,
           K_FINISH = 64, K_MARKS = 128, K_VISITED = 256, K_INCOMPLETE = 512, K_CREATED = 1024,
           K_TOKENS = 2048, K_VOCAB = 4096, K_FOLDED = 8192 };
    if (!eat(&c, '{'))
        return 0;
    do {
        const char *k;
        size_t kl;
        unsigned bit;
        if (!p_key(&c, &k, &kl))
            return 0;
        if (KEY_IS(k, kl, "id")) {
            bit = K_ID;
            if (!p_id(&c, &id, 0))
                return 0;
        } else if (KEY_IS(k, kl, "parent")) {
            bit = K_PARENT;
            if (!p_id(&c, &parent, 1))
                return 0;
        } else if (KEY_IS(k, kl, "origin")) {
            bit = K_ORIGIN;
            tree_origin org;
            S->word.n = 0;
            if (!p_str(&c, &S->word) || memchr(S->word.b, 0, S->word.n))
                return 0;
            S->word.b[S->word.n] = 0;           /* p_str reserved room for it */
            if (tree_origin_parse(S->word.b, &org) < 0)
                return 0;
            origin = (uint8_t)org;
        } else if (KEY_IS(k, kl, "text")) {
            bit = K_TEXT;
            if (!p_str(&c, &S->text) || S->text.n >= UINT32_MAX)
                return 0;
        } else if (KEY_IS(k, kl, "children")) {
            bit = K_CHILDREN;
            if (!eat(&c, '['))
                return 0;
            if (!eat(&c, ']')) {
                do {
                    xgrow(&S->ch, &S->cap_ch, S->nch + 1, sizeof *S->ch);
                    if (!p_id(&c, &S->ch[S->nch++], 0))
                        return 0;
                } while (eat(&c, ','));
                if (!eat(&c, ']'))
                    return 0;
            }
        } else if (KEY_IS(k, kl, "model") || KEY_IS(k, kl, "finish_reason")) {
            bit = k[0] == 'm' ? K_MODEL : K_FINISH;
            S->word.n = 0;
            if (!p_str(&c, &S->word) || memchr(S->word.b, 0, S->word.n))
                return 0;
            S->word.b[S->word.n] = 0;
            uint32_t h = tree_intern(L->t, S->word.b);
            if (bit == K_MODEL)
                model = h;
            else
                finish = h;
        } else if (KEY_IS(k, kl, "marks")) {
            bit = K_MARKS;
            if (!eat(&c, '['))
                return 0;
            if (!eat(&c, ']')) {
                do {
                    if (p_lit(&c, "\"attractor\"", 11))
                        marks |= TREE_MARK_ATTRACTOR;
                    else if (p_lit(&c, "\"bookmark\"", 10))
                        marks |= TREE_MARK_BOOKMARK;
                    else
                        return 0;
                } while (eat(&c, ','));
                if (!eat(&c, ']'))
                    return 0;
            }
        } else if (KEY_IS(k, kl, "visited") || KEY_IS(k, kl, "incomplete") || KEY_IS(k, kl, "folded")) {
            bit = k[0] == 'v' ? K_VISITED : k[0] == 'i' ? K_INCOMPLETE : K_FOLDED;
            uint8_t f = k[0] == 'v' ? TREE_FLAG_VISITED : k[0] == 'i' ? TREE_FLAG_INCOMPLETE : TREE_FLAG_FOLDED;
            if (p_lit(&c, "true", 4))
                flags |= f;
            else if (!p_lit(&c, "false", 5))
                return 0;
        } else if (KEY_IS(k, kl, "created")) {
            bit = K_CREATED;
            double d;
            int is_int;
            long long v;
            if (!p_num(&c, &d, &is_int, &v) || !is_int)
                return 0;
            created = v;
        } else if (KEY_IS(k, kl, "vocab")) {
            bit = K_VOCAB;
            double d;
            int is_int;
            long long v;
            if (!p_num(&c, &d, &is_int, &v) || !is_int || v < 0 || v > 0xffffffffLL)
                return 0;
            vocab = (uint32_t)v;
        } else if (KEY_IS(k, kl, "tokens")) {
            bit = K_TOKENS;
            if (!p_tokens(&c, S))
                return 0;
        } else
            return 0;
        if (seen & bit)
            return 0;                           /* a duplicate key: jansson's error */
        seen |= bit;
    } while (eat(&c, ','));
    if (!eat(&c, '}'))
        return 0;
    ws(&c);
    if (c.p != c.end)
        return 0;
    if ((seen & (K_ID | K_PARENT | K_ORIGIN | K_TEXT | K_CHILDREN)) != (K_ID | K_PARENT | K_ORIGIN | K_TEXT | K_CHILDREN))
        return 0;
    if (S->pool.n >= UINT32_MAX || S->ntok >= UINT32_MAX || S->ntop >= UINT32_MAX || S->nch >= INT32_MAX)
        return 0;
    /* Parsed: a pending node with exactly sized arrays. */
    xgrow(&L->nodes, &L->cap, L->nnodes + 1, sizeof *L->nodes);
    session_pending *pn = &L->nodes[L->nnodes++];
    memset(pn, 0, sizeof *pn);
    pn->id = id;
    tree_node *n = &pn->n;
    n->parent = parent;
    n->last_child = TREE_NONE;
    n->origin = origin;
    n->marks = marks;
    n->flags = flags;
    n->model = model;
    n->finish = finish;
    n->created = created;
    n->vocab = vocab;
    n->text = xmalloc(S->text.n + 1);
    memcpy(n->text, S->text.b ? S->text.b : "", S->text.n);
    n->text[S->text.n] = 0;
    n->text_len = (uint32_t)S->text.n;
    n->text_cap = n->text_len + 1;
    n->children = copy_of(S->ch, S->nch * sizeof *n->children);
    n->nchildren = n->cap_children = (uint32_t)S->nch;
    if (seen & K_TOKENS) {
        n->tokens = copy_of(S->tok, S->ntok * sizeof *n->tokens);
        n->ntokens = n->cap_tokens = (uint32_t)S->ntok;
        n->tops = copy_of(S->top, S->ntop * sizeof *n->tops);
        n->ntops = n->cap_tops = (uint32_t)S->ntop;
        n->pool = copy_of(S->pool.b, S->pool.n);
        n->pool_len = n->pool_cap = (uint32_t)S->pool.n;
    }
    return 1;
}

/* Open brackets and braces at the end of s[0..n), outside strings (-1: inside a string). */
static int nesting(const char *s, size_t n)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"')
            in_str = 1;
        else if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']')
            depth--;
    }
    return in_str ? -1 : depth;
}

/* 1: loaded (or a real problem found) with L set; 0: not the layout, use the whole-document
 * parse; -1: read error (L->msg). */
int session_load_lines(session_loader *L, session_lines *src, session *s, int *rc)
{
    static const char tail_key[] = "\"nodes\":[";
    const char *line;
    size_t len;
    int r = session_lines_next(src, &line, &len);
    if (r <= 0)
        return r < 0 ? -1 : 0;
    len = trim_end(line, len);
    if (len < sizeof tail_key || line[0] != '{' || memcmp(line + len - (sizeof tail_key - 1), tail_key, sizeof tail_key - 1))
        return 0;
    if (nesting(line, len - (sizeof tail_key - 1)) != 1)
        return 0;                              /* that "nodes" is not the top-level one */
    buf head = {0};
    buf_add(&head, line, len - 1);             /* ... "nodes":   (the '[' dropped) */
    buf_adds(&head, "[]");
    size_t index = 0;
    int need_more = 0, closed = 0, layout_ok = 1;
    const char *how = getenv("TERMLOOM_SESSION_PARSER");   /* test hook, see session.c */
    int fast = !how || strcmp(how, "jansson");
    scratch S;
    memset(&S, 0, sizeof S);
    while (layout_ok && (r = session_lines_next(src, &line, &len)) > 0) {
        len = trim_end(line, len);
        if (blank(line, len))
            continue;
        if (line[0] == ']') {
            if (need_more) {
                layout_ok = 0;
                break;
            }
            buf_add(&head, line + 1, len - 1);
            closed = 1;
            break;
        }
        if (index > 0 && !need_more) {
            layout_ok = 0;
            break;
        }
        need_more = line[len - 1] == ',';
        if (need_more)
            len--;
        if (!L->bad && fast && fast_node(L, &S, line, len)) {
            index++;
            continue;
        }
        json_error_t e;
        json_t *node = json_loadb(line, len, SESSION_JFLAGS, &e);
        if (!node) {
            layout_ok = 0;
            break;
        }
        session_node_from_json(L, node, index++);
        json_decref(node);
    }
    scratch_free(&S);
    if (r < 0) {
        buf_free(&head);
        return -1;
    }
    /* anything after the closing line belongs to the top-level object */
    while (layout_ok && closed && (r = session_lines_next(src, &line, &len)) > 0) {
        buf_addc(&head, '\n');
        buf_add(&head, line, len);
    }
    if (r < 0) {
        buf_free(&head);
        return -1;
    }
    if (!layout_ok || !closed) {
        buf_free(&head);
        return 0;
    }
    json_error_t e;
    json_t *doc = json_loadb(head.data, head.len, SESSION_JFLAGS, &e);
    buf_free(&head);
    if (!doc)
        return 0;
    *rc = session_finish(L, doc, s);
    json_decref(doc);
    return 1;
}
