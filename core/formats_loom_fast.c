/* core/formats_loom_fast.c — a socketteer/loom document without its token lists: see
 * fmt_loom_split in formats_int.h.  The cut is exact: the rest goes to jansson as it is
 * (so it is checked there), every token list is read by the strict parser or by jansson, and
 * anything unusual on the way (an escaped key, invalid JSON, nesting near jansson's limit)
 * gives up, so the whole-document parse decides. */
#include "core/formats_int.h"
#include "core/jnul.h"
#include "core/jscan.h"
#include "core/mem.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ALTS 64            /* a longer counterfactuals object goes to jansson */
#define TOKENS_DEPTH 6         /* levels open around a tokens value in the document */

void fmt_loom_spans_free(fmt_loom_spans *sp)
{
    fmt_loom_pre_stop(sp);
    for (size_t i = 0; i < sp->n; i++)
        if (sp->s[i].json)
            json_decref(sp->s[i].json);
    free(sp->s);
    free(sp->t);
    free(sp->a);
    free(sp->pool);
    memset(sp, 0, sizeof *sp);
}

json_t *fmt_loom_span_json(const fmt_loom_spans *sp, size_t i)
{
    if (sp->s[i].json)
        return json_incref(sp->s[i].json);
    json_error_t e;
    return jnul_loadb(sp->s[i].src, sp->s[i].srclen, JSON_DECODE_ANY, &e);
}

/* ---- the strict parser of one tokens value ---- */

/* A string into the pool; its offset and length. */
static int pool_str(jscan_cur *c, fmt_loom_spans *sp, size_t *off, size_t *len)
{
    jscan_bytes b = { sp->pool, sp->npool, sp->cappool };
    size_t at = b.n;
    int ok = jscan_str(c, &b);
    sp->pool = b.b;
    sp->cappool = b.cap;
    sp->npool = ok ? b.n : at;
    *off = at;
    *len = sp->npool - at;
    return ok;
}

static int num_or_null(jscan_cur *c, double *d)
{
    int is_int;
    long long iv;
    if (jscan_lit(c, "null", 4)) {
        *d = NAN;
        return 1;
    }
    return jscan_num(c, d, &is_int, &iv);
}

static int whole(jscan_cur *c, long long *v)
{
    double d;
    int is_int;
    return jscan_num(c, &d, &is_int, v) && is_int;
}

/* {"token": string, "logprob": number or null} in either order. */
static int generated(jscan_cur *c, fmt_loom_spans *sp, fmt_ltok *tk)
{
    int seen = 0;
    if (!jscan_eat(c, '{') || jscan_eat(c, '}'))
        return 0;
    do {
        const char *k;
        size_t kl;
        if (!jscan_key(c, &k, &kl))
            return 0;
        if (JSCAN_KEY_IS(k, kl, "token") && !(seen & 1)) {
            if (!pool_str(c, sp, &tk->off, &tk->len))
                return 0;
            seen |= 1;
        } else if (JSCAN_KEY_IS(k, kl, "logprob") && !(seen & 2)) {
            if (!num_or_null(c, &tk->lp))
                return 0;
            seen |= 2;
        } else
            return 0;
    } while (jscan_eat(c, ','));
    return (seen & 1) && jscan_eat(c, '}');
}

/* null, an integer, or {"start": integer, "end": integer}. */
static int position(jscan_cur *c, int *form, long long *v)
{
    *form = 0;
    if (jscan_lit(c, "null", 4))
        return 1;
    if (!jscan_eat(c, '{')) {
        *form = 1;
        return whole(c, v);
    }
    int seen = 0;
    long long end;
    do {
        const char *k;
        size_t kl;
        if (!jscan_key(c, &k, &kl))
            return 0;
        if (JSCAN_KEY_IS(k, kl, "start") && !(seen & 1)) {
            if (!whole(c, v))
                return 0;
            seen |= 1;
        } else if (JSCAN_KEY_IS(k, kl, "end") && !(seen & 2)) {
            if (!whole(c, &end))
                return 0;
            seen |= 2;
        } else
            return 0;
    } while (jscan_eat(c, ','));
    *form = 2;
    return seen == 3 && jscan_eat(c, '}');
}

/* null or {token: logprob or null}: the keys are token texts (a NUL one as the byte). */
static int counterfactuals(jscan_cur *c, fmt_loom_spans *sp, fmt_ltok *tk)
{
    tk->alt0 = sp->na;
    tk->nalt = 0;
    if (jscan_lit(c, "null", 4))
        return 1;
    if (!jscan_eat(c, '{'))
        return 0;
    if (jscan_eat(c, '}'))
        return 1;
    do {
        fmt_lalt a;
        if (tk->nalt == MAX_ALTS || !pool_str(c, sp, &a.off, &a.len) || !jscan_eat(c, ':'))
            return 0;
        /* jnul reads U+10FFFF in a key as NUL: such keys go to jansson */
        for (const char *q = sp->pool + a.off, *e = q + a.len;
             (q = memchr(q, '\xf4', (size_t)(e - q))) != NULL && e - q >= 4; q++)
            if (!memcmp(q, "\xf4\x8f\xbf\xbf", 4))
                return 0;
        for (size_t j = tk->alt0; j < sp->na; j++)          /* a duplicate key: jansson's */
            if (sp->a[j].len == a.len && !memcmp(sp->pool + sp->a[j].off, sp->pool + a.off, a.len))
                return 0;
        if (!num_or_null(c, &a.lp))
            return 0;
        xgrow(&sp->a, &sp->capa, sp->na + 1, sizeof *sp->a);
        sp->a[sp->na++] = a;
        tk->nalt++;
    } while (jscan_eat(c, ','));
    return jscan_eat(c, '}');
}

/* [{"generatedToken": {...}, "position": ..., "counterfactuals": ...}, ...] */
static int fast_tokens(jscan_cur *c, fmt_loom_spans *sp, fmt_lspan *span)
{
    span->tok0 = sp->nt;
    if (!jscan_eat(c, '['))
        return 0;
    if (jscan_eat(c, ']'))
        return 1;
    do {
        fmt_ltok tk = { NAN, 0, 0, sp->na, 0 };
        int seen = 0, form = 0;
        long long pos = 0;
        if (!jscan_eat(c, '{'))
            return 0;
        do {
            const char *k;
            size_t kl;
            if (!jscan_key(c, &k, &kl))
                return 0;
            if (JSCAN_KEY_IS(k, kl, "generatedToken") && !(seen & 1)) {
                if (!generated(c, sp, &tk))
                    return 0;
                seen |= 1;
            } else if (JSCAN_KEY_IS(k, kl, "position") && !(seen & 2)) {
                if (!position(c, &form, &pos))
                    return 0;
                seen |= 2;
            } else if (JSCAN_KEY_IS(k, kl, "counterfactuals") && !(seen & 4)) {
                if (!counterfactuals(c, sp, &tk))
                    return 0;
                seen |= 4;
            } else
                return 0;
        } while (jscan_eat(c, ','));
        if (!(seen & 1) || !jscan_eat(c, '}'))
            return 0;
        if (sp->nt == span->tok0) {
            span->pos_form = form;
            span->pos = pos;
        }
        xgrow(&sp->t, &sp->capt, sp->nt + 1, sizeof *sp->t);
        sp->t[sp->nt++] = tk;
    } while (jscan_eat(c, ','));
    return jscan_eat(c, ']');
}

/* ---- the cut ---- */

typedef struct {
    jscan_cur   c;
    const char *from;          /* copied up to here */
    buf         out;
    fmt_loom_spans *sp;
    int         lazy;          /* the lists are read later (fmt_loom_span_read) */
} cutter;

/* A key without escapes and its ':' (k, kl: its text). */
static int plain_key(jscan_cur *c, const char **k, size_t *kl)
{
    jscan_ws(c);
    if (c->p >= c->end || *c->p != '"')
        return 0;
    const char *s = ++c->p, *q = memchr(s, '"', (size_t)(c->end - s));
    if (!q || memchr(s, '\\', (size_t)(q - s)))
        return 0;
    *k = s;
    *kl = (size_t)(q - s);
    c->p = q + 1;
    return jscan_eat(c, ':');
}

static int skip_value(jscan_cur *c, int depth)
{
    jscan_skip_st st = {0};
    jscan_ws(c);
    int r = jscan_skip(&st, &c->p, c->end, JSON_PARSER_MAX_DEPTH - depth);
    return r > 0 || (r == 0 && st.first && st.first != '{' && st.first != '[' && st.first != '"');
}

/* skip_value for a list or an object, in one tight loop (the lazy cut skips nearly all of
 * the file): the same extent, nesting limit and verdict. */
static int skip_nested(jscan_cur *c, int depth)
{
    jscan_ws(c);
    const char *p = c->p, *e = c->end;
    if (p >= e || (*p != '[' && *p != '{'))
        return skip_value(c, depth);
    int nest = 0, max_nest = JSON_PARSER_MAX_DEPTH - depth;
    while (p < e) {
        char ch = *p++;
        if (ch == '"') {
            while (p < e && *p != '"')
                if (*p++ == '\\' && p++ >= e)
                    return 0;
            if (p >= e)
                return 0;
            p++;
        } else if (ch == '[' || ch == '{') {
            if (++nest > max_nest)
                return 0;
        } else if ((ch == ']' || ch == '}') && --nest == 0) {
            c->p = p;
            return 1;
        }
    }
    return 0;
}

static int cut_tokens(cutter *K)
{
    jscan_ws(&K->c);
    const char *vs = K->c.p;
    fmt_loom_spans *sp = K->sp;
    xgrow(&sp->s, &sp->cap, sp->n + 1, sizeof *sp->s);
    fmt_lspan *span = &sp->s[sp->n];
    memset(span, 0, sizeof *span);
    size_t nt = sp->nt, na = sp->na, np = sp->npool;
    if (K->lazy) {                                       /* read when a node takes it */
        if (!skip_nested(&K->c, TOKENS_DEPTH - 1))
            return 0;
        span->lazy = 1;
    } else if (fast_tokens(&K->c, sp, span)) {           /* read as it is cut */
        span->ntok = sp->nt - span->tok0;
        span->fast = 1;
    } else {                                             /* jansson's, after the cut */
        sp->nt = nt, sp->na = na, sp->npool = np;
        K->c.p = vs;
        if (!skip_value(&K->c, TOKENS_DEPTH - 1))
            return 0;
    }
    span->src = vs;
    span->srclen = (size_t)(K->c.p - vs);
    buf_add(&K->out, K->from, (size_t)(vs - K->from));
    buf_printf(&K->out, "%zu", sp->n);
    K->from = K->c.p;
    sp->n++;
    return 1;
}

/* The members of an object, calling inner on the value of key want (NULL: on every value,
 * whatever the key); other values are skipped.  keys_plain: refuse escaped keys. */
static int members(cutter *K, const char *want, int keys_plain, int depth, int (*inner)(cutter *, int))
{
    if (!jscan_eat(&K->c, '{'))
        return 0;
    if (jscan_eat(&K->c, '}'))
        return 1;
    do {
        const char *k;
        size_t kl;
        int hit;
        if (keys_plain) {
            if (!plain_key(&K->c, &k, &kl))
                return 0;
            hit = !want || (kl == strlen(want) && !memcmp(k, want, kl));
        } else {
            jscan_ws(&K->c);
            if (K->c.p >= K->c.end || *K->c.p != '"' || !skip_value(&K->c, depth) || !jscan_eat(&K->c, ':'))
                return 0;
            hit = 1;
        }
        if (hit && inner) {
            if (!inner(K, depth + 1))
                return 0;
        } else if (!skip_value(&K->c, depth))
            return 0;
    } while (jscan_eat(&K->c, ','));
    return jscan_eat(&K->c, '}');
}

static int in_completion(cutter *K, int depth)
{
    (void)depth;
    return cut_tokens(K);
}

/* A value that is an object goes through members(...); anything else is skipped. */
static int completion(cutter *K, int depth)
{
    jscan_ws(&K->c);
    if (K->c.p < K->c.end && *K->c.p == '{')
        return members(K, "tokens", 1, depth, in_completion);
    return skip_value(&K->c, depth);
}

static int completions(cutter *K, int depth)
{
    if (!jscan_eat(&K->c, '['))
        return skip_value(&K->c, depth);
    if (jscan_eat(&K->c, ']'))
        return 1;
    do
        if (!completion(K, depth + 1))
            return 0;
    while (jscan_eat(&K->c, ','));
    return jscan_eat(&K->c, ']');
}

static int response(cutter *K, int depth)
{
    jscan_ws(&K->c);
    if (K->c.p < K->c.end && *K->c.p == '{')
        return members(K, "completions", 1, depth, completions);
    return skip_value(&K->c, depth);
}

static int responses(cutter *K, int depth)
{
    jscan_ws(&K->c);
    if (K->c.p < K->c.end && *K->c.p == '{')
        return members(K, NULL, 0, depth, response);
    return skip_value(&K->c, depth);
}

/* The lists the strict parser left, parsed by jansson; 0 when one is not JSON. */
static int parse_left(fmt_loom_spans *sp)
{
    for (size_t i = 0; i < sp->n; i++) {
        fmt_lspan *span = &sp->s[i];
        if (span->fast || span->lazy)
            continue;
        json_error_t e;
        span->json = jnul_loadb(span->src, span->srclen, JSON_DECODE_ANY, &e);
        if (!span->json)
            return 0;
    }
    return 1;
}

int fmt_loom_span_parse(const fmt_lspan *span, fmt_loom_spans *one, fmt_lspan *out)
{
    one->nt = one->na = one->npool = 0;
    memset(out, 0, sizeof *out);
    jscan_cur c = { span->src, span->src + span->srclen };
    if (!fast_tokens(&c, one, out) || (jscan_ws(&c), c.p != c.end))
        return 0;
    out->ntok = one->nt;
    out->fast = 1;
    return 1;
}

int fmt_loom_span_read(fmt_loom_spans *sp, size_t i, fmt_loom_spans *one, fmt_lspan *out)
{
    fmt_lspan *span = &sp->s[i];
    one->nt = one->na = one->npool = 0;
    memset(out, 0, sizeof *out);
    if (span->json)
        return 0;
    if (fmt_loom_span_parse(span, one, out)) {
        span->lazy = 2;                                  /* read: it is JSON */
        return 1;
    }
    json_error_t e;
    span->json = jnul_loadb(span->src, span->srclen, JSON_DECODE_ANY, &e);
    return span->json ? 0 : -1;
}

int fmt_loom_spans_check(fmt_loom_spans *sp)
{
    fmt_loom_spans one = {0};
    fmt_lspan out;
    int rc = 0;
    for (size_t i = 0; i < sp->n && rc == 0; i++)
        if (sp->s[i].lazy == 1 && !sp->s[i].json && fmt_loom_span_read(sp, i, &one, &out) < 0)
            rc = -1;
    fmt_loom_spans_free(&one);
    return rc;
}

char *fmt_loom_cut_responses(jscan_cur *c, int depth, size_t *outlen, fmt_loom_spans *sp)
{
    memset(sp, 0, sizeof *sp);
    jscan_ws(c);
    cutter K = { *c, c->p, {0}, sp, 1 };
    if (!responses(&K, depth)) {
        buf_free(&K.out);
        fmt_loom_spans_free(sp);
        return NULL;
    }
    buf_add(&K.out, K.from, (size_t)(K.c.p - K.from));
    c->p = K.c.p;
    *outlen = K.out.len;
    return buf_steal(&K.out);
}

char *fmt_loom_split(const char *data, size_t len, size_t *outlen, fmt_loom_spans *sp)
{
    memset(sp, 0, sizeof *sp);
    cutter K = { { data, data + len }, data, {0}, sp, 0 };
    if (!members(&K, "model_responses", 1, 1, responses) || !sp->n) {
        buf_free(&K.out);
        fmt_loom_spans_free(sp);
        return NULL;
    }
    buf_add(&K.out, K.from, (size_t)(data + len - K.from));
    if (!parse_left(sp)) {                               /* the lists left to jansson */
        buf_free(&K.out);
        fmt_loom_spans_free(sp);
        return NULL;
    }
    *outlen = K.out.len;
    return buf_steal(&K.out);
}
