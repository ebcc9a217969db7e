/* core/jscan.c — see jscan.h. */
#include "core/jscan.h"
#include "core/mem.h"
#include "core/text.h"
#include <math.h>
#include <stdlib.h>

const double jscan_pow10[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

void jscan_bytes_grow(jscan_bytes *b, size_t want)
{
    xgrow(&b->b, &b->cap, want, 1);
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

int jscan_str(jscan_cur *c, jscan_bytes *dst)
{
    jscan_ws(c);
    if (c->p >= c->end || *c->p != '"')
        return 0;
    const unsigned char *s = (const unsigned char *)++c->p, *e = (const unsigned char *)c->end;
    const unsigned char *run = s;
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
        jscan_bytes_need(dst, (size_t)(s - run) + 5);   /* the run, an escape's <= 4, a NUL */
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

static int key_of(jscan_cur *c, const char **k, size_t *kl, unsigned char top)
{
    jscan_ws(c);
    if (c->p >= c->end || *c->p != '"')
        return 0;
    const char *s = ++c->p;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch < 0x20 || ch > top || ch == '\\')
            return 0;
        c->p++;
    }
    if (c->p >= c->end)
        return 0;
    *k = s;
    *kl = (size_t)(c->p - s);
    c->p++;
    return jscan_eat(c, ':');
}

int jscan_key(jscan_cur *c, const char **k, size_t *kl) { return key_of(c, k, kl, 0x7f); }
int jscan_key_raw(jscan_cur *c, const char **k, size_t *kl) { return key_of(c, k, kl, 0xff); }

/* A JSON number: *d its value as jansson gives it (integers converted), *is_int when it has
 * no fraction or exponent (then *iv holds it). */
int jscan_num(jscan_cur *c, double *d, int *is_int, long long *iv)
{
    jscan_ws(c);
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
        v = exp10 < 0 ? v / jscan_pow10[-exp10] : v * jscan_pow10[exp10];
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


int jscan_skip(jscan_skip_st *st, const char **p, const char *end, int max_nest)
{
    const char *q = *p;
    if (q >= end)
        return 0;
    if (!st->first)
        st->first = *q;
    if (st->first != '{' && st->first != '[' && st->first != '"') {      /* a number or literal */
        while (q < end && *q != ',' && *q != '}' && *q != ']' && *q != ' ' && *q != '\n' &&
               *q != '\t' && *q != '\r')
            q++;
        *p = q;
        return q < end;
    }
    while (q < end) {
        char c = *q;
        if (st->in_str) {
            if (c == '\\') {
                if (q + 1 >= end)
                    break;                                  /* the escaped byte comes next */
                q += 2;
                continue;
            }
            q++;
            if (c == '"') {
                st->in_str = 0;
                if (st->nest == 0)                          /* a string value */
                    goto done;
            }
            continue;
        }
        q++;
        if (c == '"')
            st->in_str = 1;
        else if (c == '{' || c == '[') {
            if (++st->nest > max_nest) {
                *p = q;
                return -1;
            }
        } else if ((c == '}' || c == ']') && --st->nest <= 0)
            goto done;
    }
    *p = q;
    return 0;
done:
    *p = q;
    return 1;
}
