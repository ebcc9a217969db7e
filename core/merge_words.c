/* core/merge_words.c — merge.h's words and normalization: merge_words, merge_normalize
 * (out of merge.c, which passed 900 lines; the similarity and the index stay there). */
#include "core/merge.h"
#include "core/merge_impl.h"
#include "core/hash.h"
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static int is_space_cp(int32_t c)
{
    if (c == ' ' || (c >= 9 && c <= 13))
        return 1;
    if (c < 0x80)
        return 0;
    if (c == 0x85 || c == 0x2028 || c == 0x2029)
        return 1;
    return utf8proc_category(c) == UTF8PROC_CATEGORY_ZS;
}

static int ascii_space(char c)
{
    return c == ' ' || (c >= 9 && c <= 13);
}

static int is_strip_ascii(int c)
{
    switch (c) {
    case '!': case '"': case '\'': case '(': case ')': case ',': case '-': case '.': case ':':
    case ';': case '?': case '[': case ']': case '{': case '}': case '*': case '`':
        return 1;
    default:
        return 0;
    }
}

static int is_punct_cp(int32_t c)
{
    if (c < 0x80)
        return is_strip_ascii((int)c);
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

static int32_t punct_ascii(int32_t c)
{
    switch (c) {
    case 0x2018: case 0x2019: case 0x201A: case 0x201B: case 0x2032: case 0x02BC:
        return '\'';
    case 0x201C: case 0x201D: case 0x201E: case 0x201F: case 0x2033: case 0x00AB: case 0x00BB:
        return '"';
    case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014: case 0x2015: case 0x2212:
        return '-';
    default:
        return c;
    }
}

size_t merge_next_cp(const char *s, size_t len, size_t i, int32_t *cp)
{
    unsigned char b = (unsigned char)s[i];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    utf8proc_int32_t c;
    utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &c);
    if (n <= 0) {
        *cp = -(int32_t)b;
        return 1;
    }
    *cp = c;
    return (size_t)n;
}

/* Normalizes one word s[0..n) (no white space inside, not all ASCII: merge_words does those
 * itself) onto out; returns bytes added. */
static size_t word_norm(const char *s, size_t n, buf *out)
{
    size_t before = out->len;
    utf8proc_uint8_t *m = NULL;
    utf8proc_ssize_t ml = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &m,
                                       UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                       UTF8PROC_CASEFOLD);
    const char *src = s;
    size_t sl = n;
    if (ml >= 0) {
        src = (const char *)m;
        sl = (size_t)ml;
    }
    /* map punctuation variants, then strip punctuation at both ends */
    int32_t stackcp[64];
    int32_t *cps = sl <= 64 ? stackcp : xmalloc(sl * sizeof *cps);
    size_t nc = 0;
    for (size_t i = 0; i < sl; ) {
        int32_t c;
        i += merge_next_cp(src, sl, i, &c);
        cps[nc++] = c < 0 ? c : punct_ascii(c);
    }
    size_t a = 0, b = nc;
    while (a < b && cps[a] >= 0 && is_punct_cp(cps[a]))
        a++;
    while (b > a && cps[b - 1] >= 0 && is_punct_cp(cps[b - 1]))
        b--;
    for (size_t i = a; i < b; i++) {
        if (cps[i] < 0) {
            buf_addc(out, (char)(unsigned char)(-cps[i]));
            continue;
        }
        utf8proc_uint8_t enc[4];
        utf8proc_ssize_t el = utf8proc_encode_char(cps[i], enc);
        buf_add(out, enc, (size_t)el);
    }
    if (cps != stackcp)
        free(cps);
    free(m);
    return out->len - before;
}

size_t merge_words(const char *s, size_t len, merge_word **out, buf *norm)
{
    merge_word *w = NULL;
    size_t nw = 0, cap = 0;
    xgrow(&w, &cap, len / 2 + 2, sizeof *w);     /* a word and its separator take 2 bytes */
    buf tmp = {0};
    buf *nb = norm ? norm : &tmp;
    buf_clear(nb);
    xgrow(&nb->data, &nb->cap, len + 1, 1);
    nb->data[0] = 0;
    size_t i = 0;
    while (i < len) {
        int32_t c;
        size_t k;
        if ((unsigned char)s[i] < 0x80) {        /* ASCII: no decoding */
            if (ascii_space(s[i])) {
                i++;
                continue;
            }
        } else if (k = merge_next_cp(s, len, i, &c), is_space_cp(c)) {
            i += k;
            continue;
        }
        size_t start = i;
        int ascii = 1;
        while (i < len) {
            unsigned char b = (unsigned char)s[i];
            if (b < 0x80) {
                if (ascii_space((char)b))
                    break;
                i++;
                continue;
            }
            ascii = 0;
            k = merge_next_cp(s, len, i, &c);
            if (is_space_cp(c))
                break;
            i += k;
        }
        size_t mark = nb->len, at, wl;
        if (ascii) {                             /* the common case, inline */
            size_t a = start, b = i;
            while (a < b && is_strip_ascii(s[a]))
                a++;
            while (b > a && is_strip_ascii(s[b - 1]))
                b--;
            if (a == b)
                continue;                        /* punctuation only: no word */
            xgrow(&nb->data, &nb->cap, nb->len + (b - a) + 2, 1);
            char *d = nb->data + nb->len;
            if (nb->len)
                *d++ = ' ';
            at = (size_t)(d - nb->data);
            for (size_t j = a; j < b; j++)
                *d++ = s[j] >= 'A' && s[j] <= 'Z' ? (char)(s[j] + 32) : s[j];
            *d = 0;
            wl = b - a;
            nb->len = at + wl;
        } else {
            if (nb->len)
                buf_addc(nb, ' ');
            at = nb->len;
            wl = word_norm(s + start, i - start, nb);
            if (!wl) {                           /* punctuation only: no word */
                nb->len = mark;
                nb->data[mark] = 0;
                continue;
            }
        }
        if (nw == cap)
            xgrow(&w, &cap, nw + 1, sizeof *w);
        w[nw].start = (uint32_t)start;
        w[nw].end = (uint32_t)i;
        w[nw].hash = hash_fnv1a_mixed(nb->data + at, wl);
        nw++;
    }
    if (!norm)
        buf_free(&tmp);
    if (out)
        *out = w;
    else
        free(w);
    return nw;
}

void merge_normalize(const char *s, size_t len, buf *out)
{
    merge_words(s, len, NULL, out);
    if (!out->data)
        buf_add(out, "", 0);
}
