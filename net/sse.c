/* net/sse.c — see sse.h. */
#include "net/sse.h"
#include <string.h>

void sse_init(sse_parser *p, size_t max)
{
    memset(p, 0, sizeof *p);
    p->max = max ? max : (size_t)8 << 20;
}

void sse_free(sse_parser *p)
{
    buf_free(&p->line);
    buf_free(&p->data);
}

static int dispatch(sse_parser *p, sse_event_fn fn, void *ud)
{
    int r = 0;
    if (p->has_data)
        r = fn(ud, p->data.data ? p->data.data : "", p->data.len);
    buf_clear(&p->data);
    p->has_data = 0;
    return r ? 1 : 0;
}

/* One complete line (without its terminator). */
static int line(sse_parser *p, const char *s, size_t n, sse_event_fn fn, void *ud)
{
    if (n == 0)
        return dispatch(p, fn, ud);
    if (s[0] == ':')
        return 0;
    const char *colon = memchr(s, ':', n);
    size_t name_len = colon ? (size_t)(colon - s) : n;
    if (name_len != 4 || memcmp(s, "data", 4) != 0)
        return 0;   /* event:, id:, retry: and unknown fields do not matter here */
    const char *v = colon ? colon + 1 : s + n;
    size_t vn = (size_t)(s + n - v);
    if (vn && *v == ' ')
        v++, vn--;
    if (p->data.len + vn + 1 > p->max) {
        p->overflow = 1;
        return -1;
    }
    if (p->has_data)
        buf_addc(&p->data, '\n');
    buf_add(&p->data, v, vn);
    p->has_data = 1;
    return 0;
}

int sse_feed(sse_parser *p, const char *s, size_t len, sse_event_fn fn, void *ud)
{
    if (p->overflow)
        return -1;
    while (len) {
        if (!p->started) {
            /* A BOM may itself arrive split: wait for three bytes or a mismatch. */
            static const char bom[3] = { '\xef', '\xbb', '\xbf' };
            size_t have = p->line.len;
            while (have < 3 && len && s[0] == bom[have]) {
                buf_addc(&p->line, s[0]);
                s++, len--, have++;
            }
            if (have == 3) {
                buf_clear(&p->line);
                p->started = 1;
                continue;
            }
            if (!len)
                return 0;
            p->started = 1;   /* not a BOM: what was kept is ordinary text */
        }
        if (p->after_cr) {
            p->after_cr = 0;
            if (*s == '\n') {
                s++, len--;
                continue;
            }
        }
        const char *end = s;
        const char *stop = s + len;
        while (end < stop && *end != '\n' && *end != '\r')
            end++;
        if (p->line.len + (size_t)(end - s) > p->max + 16) {
            p->overflow = 1;   /* one line longer than any event may be */
            return -1;
        }
        if (end == stop) {
            buf_add(&p->line, s, len);
            return 0;
        }
        int r;
        if (p->line.len) {
            buf_add(&p->line, s, (size_t)(end - s));
            r = line(p, p->line.data, p->line.len, fn, ud);
            buf_clear(&p->line);
        } else {
            r = line(p, s, (size_t)(end - s), fn, ud);
        }
        p->after_cr = *end == '\r';
        len -= (size_t)(end - s) + 1;
        s = end + 1;
        if (r)
            return r;
    }
    return 0;
}

int sse_finish(sse_parser *p, sse_event_fn fn, void *ud)
{
    if (p->overflow)
        return -1;
    if (p->line.len)
        return 0;   /* the last line was cut off: that event is incomplete */
    return dispatch(p, fn, ud);
}
