/* core/text.c — see text.h.  Widths come from utf8proc, so they do not depend on the
 * locale or the C library's tables. */
#include "core/text.h"
#include "core/mem.h"
#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

uint32_t text_decode(const char *s, size_t len, size_t *adv)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t cp;
    size_t n;
    *adv = 1;
    if (u[0] < 0x80)
        return u[0];
    if (u[0] >= 0xC2 && u[0] <= 0xDF) {
        n = 2;
        cp = u[0] & 0x1F;
    } else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
        n = 3;
        cp = u[0] & 0x0F;
    } else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
        n = 4;
        cp = u[0] & 0x07;
    } else {
        return TEXT_REPLACEMENT;
    }
    if (len < n)
        return TEXT_REPLACEMENT;
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xC0) != 0x80)
            return TEXT_REPLACEMENT;
        cp = (cp << 6) | (u[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return TEXT_REPLACEMENT;
    *adv = n;
    return cp;
}

size_t text_encode(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

int text_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t adv;
        uint32_t cp = text_decode(s + i, len - i, &adv);
        if (cp == TEXT_REPLACEMENT && adv == 1)   /* a real U+FFFD has adv 3 */
            return 0;
        i += adv;
    }
    return 1;
}

size_t text_utf8_seq(const char *s, size_t n)
{
    size_t adv;
    uint32_t cp = text_decode(s, n, &adv);
    return cp == TEXT_REPLACEMENT && adv == 1 ? 0 : adv;
}

char *text_valid_copy(const char *s, size_t len, size_t *outlen)
{
    buf b = {0};
    for (size_t i = 0; i < len;) {
        size_t k = text_utf8_seq(s + i, len - i);
        if (k) {
            buf_add(&b, s + i, k);
            i += k;
        } else {
            buf_add(&b, "\xef\xbf\xbd", 3);
            i++;
        }
    }
    if (outlen)
        *outlen = b.len;
    return buf_steal(&b);
}

size_t text_complete_prefix(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    /* Look back at most 3 bytes for a lead byte whose sequence is cut short. */
    for (size_t back = 1; back <= 3 && back <= len; back++) {
        unsigned char c = u[len - back];
        if ((c & 0xC0) == 0x80)
            continue;                       /* continuation: keep looking */
        /* 0x80-0xC1 and 0xF5-0xFF never start a character: nothing to wait for. */
        size_t need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 1;
        if (need == 1)
            return len;
        return need > back ? len - back : len;
    }
    return len;
}

/* Characters that reorder or hide text: shown, never obeyed. */
static int is_dangerous_format(uint32_t cp)
{
    return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

typedef enum { CP_NORMAL, CP_CONTROL, CP_ATTACH } cp_class;

static cp_class classify(uint32_t cp, int *width)
{
    *width = 0;
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
        return CP_CONTROL;
    if (is_dangerous_format(cp))
        return CP_CONTROL;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)cp);
    if (cp == 0x200C || cp == 0x200D)          /* joiners stay with their neighbour */
        return CP_ATTACH;
    if (cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_CN ||
        cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP || cat == UTF8PROC_CATEGORY_CS)
        return CP_CONTROL;
    int w = utf8proc_charwidth((utf8proc_int32_t)cp);
    if (w <= 0 || cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME)
        return CP_ATTACH;
    *width = w > 2 ? 2 : w;
    return CP_NORMAL;
}

static void cell_put(text_cell *c, const char *p, size_t n)
{
    if (c->outlen + n >= sizeof c->out)
        return;
    memcpy(c->out + c->outlen, p, n);
    c->outlen = (uint8_t)(c->outlen + n);
    c->out[c->outlen] = 0;
}

static void cell_put_cp(text_cell *c, uint32_t cp)
{
    char tmp[4];
    cell_put(c, tmp, text_encode(cp, tmp));
}

static void placeholder(text_cell *c, uint32_t cp, unsigned flags)
{
    char tmp[16];
    c->kind = TEXT_CELL_PLACEHOLDER;
    if (cp < 0x20 || cp == 0x7F) {
        if (flags & TEXT_ASCII) {
            tmp[0] = '^';
            tmp[1] = cp == 0x7F ? '?' : (char)(cp + 64);
            cell_put(c, tmp, 2);
            c->width = 2;
        } else {
            cell_put_cp(c, cp == 0x7F ? 0x2421 : 0x2400 + cp);   /* control pictures: ␛ ␀ ␡ */
            c->width = 1;
        }
        return;
    }
    int n = snprintf(tmp, sizeof tmp, "<%x>", (unsigned)cp);
    cell_put(c, tmp, (size_t)n);
    c->width = (uint8_t)n;
}

int text_cp_width(uint32_t cp, unsigned flags)
{
    text_cell c;
    char tmp[4];
    size_t n = text_encode(cp, tmp);
    text_cell_next(tmp, n, 0, flags, &c);
    return c.width;
}

size_t text_cell_next(const char *s, size_t len, size_t off, unsigned flags, text_cell *c)
{
    size_t adv;
    int w;
    c->off = off;
    c->outlen = 0;
    c->out[0] = 0;
    c->width = 0;
    c->kind = TEXT_CELL_CHAR;
    uint32_t cp = text_decode(s + off, len - off, &adv);
    size_t pos = off + adv;
    if (cp == TEXT_REPLACEMENT && adv == 1) {
        c->kind = TEXT_CELL_INVALID;
        c->width = 1;
        if (flags & TEXT_HEX_BYTES) {
            char hx[8];
            int n = snprintf(hx, sizeof hx, "\\x%02x", (unsigned)(unsigned char)s[off]);
            cell_put(c, hx, (size_t)n);
            c->width = (uint8_t)n;
        } else if (flags & TEXT_ASCII)
            cell_put(c, "?", 1);
        else
            cell_put_cp(c, TEXT_REPLACEMENT);
        c->len = pos - off;
        return pos;
    }
    if (cp == '\n' || (cp == '\r' && pos < len && s[pos] == '\n')) {
        if (cp == '\r')
            pos++;
        if (flags & TEXT_NL_VISIBLE) {
            c->kind = TEXT_CELL_PLACEHOLDER;
            cell_put(c, flags & TEXT_ASCII ? "~" : "\xe2\x86\xb5", flags & TEXT_ASCII ? 1 : 3);  /* ↵ */
            c->width = 1;
        } else {
            c->kind = TEXT_CELL_NEWLINE;
        }
        c->len = pos - off;
        return pos;
    }
    if (cp == '\t') {
        if (flags & TEXT_NL_VISIBLE) {
            c->kind = TEXT_CELL_PLACEHOLDER;
            cell_put(c, flags & TEXT_ASCII ? ">" : "\xe2\x86\x92", flags & TEXT_ASCII ? 1 : 3);  /* → */
        } else {
            c->kind = TEXT_CELL_TAB;
            cell_put(c, " ", 1);
        }
        c->width = 1;
        c->len = pos - off;
        return pos;
    }
    cp_class k = classify(cp, &w);
    if (k == CP_CONTROL) {
        placeholder(c, cp, flags);
        c->len = pos - off;
        return pos;
    }
    if (k == CP_ATTACH) {            /* a mark with nothing to sit on */
        if (flags & TEXT_ASCII) {
            cell_put(c, "?", 1);
        } else {
            cell_put_cp(c, 0x25CC);  /* ◌ */
            cell_put(c, s + off, adv);
        }
        c->width = 1;
    } else if ((flags & TEXT_ASCII) && cp >= 0x80) {
        cell_put(c, "??", (size_t)w);
        c->width = (uint8_t)w;
    } else {
        cell_put(c, s + off, adv);
        c->width = (uint8_t)w;
    }
    /* Combining marks and joiners that follow belong to this cell; a pile of them beyond
     * what the cell holds is consumed and dropped (zalgo text stays one cell). */
    while (pos < len) {
        uint32_t next = text_decode(s + pos, len - pos, &adv);
        if (next == TEXT_REPLACEMENT && adv == 1)
            break;
        if (classify(next, &w) != CP_ATTACH)
            break;
        if (!(flags & TEXT_ASCII) && c->outlen + adv + 1 < sizeof c->out)
            cell_put(c, s + pos, adv);
        pos += adv;
    }
    c->len = pos - off;
    return pos;
}

size_t text_width(const char *s, size_t len, unsigned flags)
{
    size_t w = 0;
    text_cell c;
    for (size_t off = 0; off < len;) {
        off = text_cell_next(s, len, off, flags, &c);
        w += c.width;
    }
    return w;
}

size_t text_fit(const char *s, size_t len, int cols, unsigned flags, int *used)
{
    int w = 0;
    size_t off = 0;
    text_cell c;
    while (off < len) {
        size_t next = text_cell_next(s, len, off, flags, &c);
        if (c.kind == TEXT_CELL_NEWLINE || w + c.width > cols)
            break;
        w += c.width;
        off = next;
    }
    if (used)
        *used = w;
    return off;
}

char *text_sanitize(const char *s, size_t len, unsigned flags, size_t *outlen)
{
    buf b = {0};
    text_cell c;
    for (size_t off = 0; off < len;) {
        off = text_cell_next(s, len, off, flags, &c);
        if (c.kind == TEXT_CELL_NEWLINE)
            buf_addc(&b, '\n');
        else if (c.kind == TEXT_CELL_TAB)
            buf_addc(&b, '\t');
        else
            buf_add(&b, c.out, c.outlen);
    }
    if (outlen)
        *outlen = b.len;
    return buf_steal(&b);
}

size_t text_wrap(const char *s, size_t len, int cols, int tab, unsigned flags,
                 text_line *lines, size_t max)
{
    size_t n = 0;
    if (cols < 1)
        cols = 1;
    if (tab < 1)
        tab = 1;
    size_t start = 0, brk = 0;     /* brk: offset after the last space on this line */
    int col = 0, col_brk = 0;
    text_cell c;
#define EMIT(a, b) do { if (n < max) { lines[n].start = (a); lines[n].end = (b); } n++; } while (0)
    for (size_t off = 0; off < len;) {
        size_t next = text_cell_next(s, len, off, flags, &c);
        if (c.kind == TEXT_CELL_NEWLINE) {
            EMIT(start, off);
            start = brk = next;
            col = col_brk = 0;
            off = next;
            continue;
        }
        int w = c.kind == TEXT_CELL_TAB ? tab - col % tab : c.width;
        if (col + w > cols && col > 0) {
            if (brk > start) {
                EMIT(start, brk);
                start = brk;
                col -= col_brk;
            } else {
                EMIT(start, off);
                start = off;
                col = 0;
            }
            brk = start;
            col_brk = 0;
            if (c.kind == TEXT_CELL_TAB)
                w = tab - col % tab;
        }
        col += w;
        off = next;
        if (c.outlen == 1 && (c.out[0] == ' ' || c.kind == TEXT_CELL_TAB)) {
            brk = off;
            col_brk = col;
        }
    }
    if (start < len || n == 0 || (len > 0 && s[len - 1] == '\n'))
        EMIT(start, len);
#undef EMIT
    return n;
}
