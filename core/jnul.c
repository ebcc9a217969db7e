/* core/jnul.c — see jnul.h. */
#include "core/jnul.h"
#include "core/mem.h"
#include "core/text.h"
#include <string.h>

#define JNUL_MARK "\xf4\x8f\xbf\xbf"        /* U+10FFFF in UTF-8 */

/* data with "\u0000" inside keys written as the escape of U+10FFFF. */
static char *mark_keys(const char *d, size_t len, size_t *outlen)
{
    buf b = {0};
    size_t i = 0;
    while (i < len) {
        if (d[i] != '"') {
            size_t j = i;
            while (j < len && d[j] != '"')
                j++;
            buf_add(&b, d + i, j - i);
            i = j;
            continue;
        }
        size_t j = i + 1;                        /* the string's closing quote */
        while (j < len && d[j] != '"')
            j += d[j] == '\\' ? 2 : 1;
        if (j >= len) {                          /* unterminated: leave it to the parser */
            buf_add(&b, d + i, len - i);
            break;
        }
        size_t k = j + 1;
        while (k < len && (d[k] == ' ' || d[k] == '\t' || d[k] == '\n' || d[k] == '\r'))
            k++;
        if (k < len && d[k] == ':') {
            for (size_t p = i; p <= j;) {
                if (d[p] == '\\' && p + 6 <= j && !memcmp(d + p + 1, "u0000", 5)) {
                    buf_adds(&b, "\\udbff\\udfff");
                    p += 6;
                } else if (d[p] == '\\') {
                    buf_add(&b, d + p, 2);
                    p += 2;
                } else {
                    buf_addc(&b, d[p]);
                    p++;
                }
            }
        } else {
            buf_add(&b, d + i, j + 1 - i);
        }
        i = j + 1;
    }
    *outlen = b.len;
    return buf_steal(&b);
}

static int has_nul_escape(const char *d, size_t len)
{
    for (size_t i = 0; i + 6 <= len; i++)
        if (d[i] == '\\' && !memcmp(d + i + 1, "u0000", 5))
            return 1;
    return 0;
}

json_t *jnul_loadb(const char *data, size_t len, size_t flags, json_error_t *err)
{
    json_t *j = json_loadb(data, len, flags | JSON_ALLOW_NUL, err);
    if (j || !has_nul_escape(data, len))
        return j;
    size_t n;
    char *m = mark_keys(data, len, &n);
    json_error_t e2;
    j = json_loadb(m, n, flags | JSON_ALLOW_NUL, &e2);
    free(m);
    return j;                                    /* on failure err keeps the first error */
}

char *jnul_key(const char *key, size_t *len)
{
    size_t n = strlen(key);
    char *out = xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (i + 4 <= n && !memcmp(key + i, JNUL_MARK, 4)) {
            out[o++] = 0;
            i += 4;
        } else {
            out[o++] = key[i++];
        }
    }
    out[o] = 0;
    *len = o;
    return out;
}

json_t *jnul_string(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    if (j)
        return j;
    size_t n;
    char *v = text_valid_copy(s, len, &n);
    j = json_stringn(v, n);
    free(v);
    return j;
}
