/* core/session_save.c — writing a session: the JSON by hand (fixed key order, one node per
 * line, shortest numbers that read back exactly, text made valid UTF-8) so the bytes are
 * deterministic and fast to produce; then the crash-safe replace of the file. */
#define _GNU_SOURCE                     /* sync_file_range (Linux), where there is one */
#include "core/session_impl.h"
#include "core/jscan.h"
#include "core/text.h"
#include "core/mem.h"
#include "core/savefile.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


typedef struct {
    buf  b;
    int  fd;          /* flushed to this when >= 0 */
    int  err;         /* errno of the first failed write */
    int  ahead;       /* a new file: its disk writes are started as it is written */
    off_t written, started;
} out;

#define AHEAD_BYTES (8 << 20)

/* Starts the disk writes of what was written since the last start (a hint: the fsync that
 * ends the save then waits for less, and a big file's writes overlap the rest of the save). */
static void out_ahead(out *o)
{
#ifdef SYNC_FILE_RANGE_WRITE
    if (o->ahead && o->written - o->started >= AHEAD_BYTES) {
        (void)sync_file_range(o->fd, o->started, o->written - o->started, SYNC_FILE_RANGE_WRITE);
        o->started = o->written;
    }
#else
    (void)o;
#endif
}

static void out_flush(out *o)
{
    size_t done = 0;
    while (o->fd >= 0 && done < o->b.len && !o->err) {
        ssize_t w = write(o->fd, o->b.data + done, o->b.len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            o->err = w < 0 ? errno : EIO;
        else
            done += (size_t)w;
    }
    o->written += (off_t)done;
    if (o->fd >= 0) {
        buf_clear(&o->b);
        out_ahead(o);
    }
}

static inline void out_raw(out *o, const char *s, size_t n)
{
    if (o->b.len + n + 1 > o->b.cap) {
        size_t cap = o->b.cap;
        xgrow(&o->b.data, &cap, o->b.len + n + 1, 1);
        o->b.cap = cap;
    }
    memcpy(o->b.data + o->b.len, s, n);
    o->b.len += n;
}
#define OUT_LIT(o, s) out_raw((o), (s), sizeof(s) - 1)

static inline void out_c(out *o, char c)
{
    if (o->b.len + 2 > o->b.cap) {
        size_t cap = o->b.cap;
        xgrow(&o->b.data, &cap, o->b.len + 2, 1);
        o->b.cap = cap;
    }
    o->b.data[o->b.len++] = c;
}

/* A JSON string.  Invalid UTF-8 (a token split inside a character) becomes U+FFFD so the
 * file always loads; returns 1 when some byte was replaced (text_valid would say 0).  As
 * jansson writes strings (like_jansson): \u00XX in capitals, and -1 at an invalid byte
 * (where json_dumps fails), with what was written so far left for the caller to drop. */
static int out_str_as(out *o, const char *str, size_t len, int like_jansson)
{
    const char *hex = like_jansson ? "0123456789ABCDEF" : "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    out_c(o, '"');
    size_t run = 0, i = 0;
    int replaced = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        size_t k = c >= 0x80 ? text_utf8_seq(str + i, len - i) : 0;
        if (k) {
            i += k;
            continue;
        }
        out_raw(o, str + run, i - run);
        char u[8] = { '\\', 0 };
        size_t ul = 2;
        switch (c) {
        case '"':  u[1] = '"'; break;
        case '\\': u[1] = '\\'; break;
        case '\n': u[1] = 'n'; break;
        case '\r': u[1] = 'r'; break;
        case '\t': u[1] = 't'; break;
        case '\b': u[1] = 'b'; break;
        case '\f': u[1] = 'f'; break;
        default:
            if (c < 0x20) {
                memcpy(u, "\\u00", 4);
                u[4] = hex[c >> 4];
                u[5] = hex[c & 15];
                ul = 6;
            } else {                         /* U+FFFD for an invalid byte */
                if (like_jansson)
                    return -1;
                memcpy(u, "\xEF\xBF\xBD", 3);
                ul = 3;
                replaced = 1;
            }
        }
        out_raw(o, u, ul);
        run = ++i;
    }
    out_raw(o, str + run, len - run);
    out_c(o, '"');
    return replaced;
}

static int out_str(out *o, const char *str, size_t len)
{
    return out_str_as(o, str, len, 0);
}

static void out_int(out *o, long long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", v);
    out_raw(o, tmp, (size_t)n);
}

/* The decimal m (exactly prec digits) × 10^(e - prec + 1) as printf's %g would print it,
 * without trailing zeros. */
static int fmt_digits(char *out_s, int neg, long long m, int prec, int e)
{
    char d[24];
    for (int i = prec - 1; i >= 0; i--, m /= 10)
        d[i] = (char)('0' + m % 10);
    int nd = prec;
    while (nd > 1 && d[nd - 1] == '0')
        nd--;
    char *p = out_s;
    if (neg)
        *p++ = '-';
    if (e < -4 || e >= prec) {              /* d.ddde±XX */
        *p++ = d[0];
        if (nd > 1) {
            *p++ = '.';
            memcpy(p, d + 1, (size_t)nd - 1);
            p += nd - 1;
        }
        p += sprintf(p, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    } else if (e >= 0) {
        for (int i = 0; i <= e; i++)
            *p++ = i < nd ? d[i] : '0';
        if (nd > e + 1) {
            *p++ = '.';
            memcpy(p, d + e + 1, (size_t)(nd - e - 1));
            p += nd - e - 1;
        }
    } else {
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -e - 1; i++)
            *p++ = '0';
        memcpy(p, d, (size_t)nd);
        p += nd;
    }
    *p = 0;
    return (int)(p - out_s);
}

/* The shortest of 6..9 significant digits that reads back as the same float; 0 when this
 * cannot decide exactly (then the caller uses printf).  9 digits are computed once and
 * rounded down; each candidate is checked by converting it back: m / 10^k with both exact
 * is one correctly rounded division, the same double strtod gives for the text. */
static int fmt_float(char *out_s, float f)
{
    static const long long p10[] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
                                     100000000, 1000000000 };
    double x = fabs((double)f);
    int e2;
    frexp(x, &e2);
    int e = (int)floor((double)(e2 - 1) * 0.30102999566398120);
    long long m9 = 0;
    for (int tries = 0; tries < 3; tries++) {
        int k = 8 - e;
        if (k > 22 || k < -22)
            return 0;
        m9 = llround(k >= 0 ? x * jscan_pow10[k] : x / jscan_pow10[-k]);
        if (m9 >= p10[9])
            e++;
        else if (m9 < p10[8])
            e--;
        else
            break;
    }
    if (m9 < p10[8] || m9 >= p10[9])
        return 0;
    for (int prec = 6; prec <= 9; prec++) {
        /* constant divisors: the compiler multiplies instead of dividing */
        long long dv = p10[9 - prec];
        long long m = prec == 6 ? m9 / 1000 : prec == 7 ? m9 / 100 : prec == 8 ? m9 / 10 : m9;
        long long r = m9 - m * dv;
        int ee = e;
        if (2 * r >= dv)
            m++;
        if (m >= p10[prec]) {                 /* 9999995 → 1000000: one digit more */
            m /= 10;
            ee++;
        }
        int k = prec - 1 - ee;
        if (k > 22 || k < -22)
            continue;
        double back = k >= 0 ? (double)m / jscan_pow10[k] : (double)m * jscan_pow10[-k];
        if ((float)back == (float)x)
            return fmt_digits(out_s, f < 0, m, prec, ee);
    }
    return 0;
}

/* A logprob: a float written with the fewest digits (6 to 9) that read back as the same
 * float; null when it is not finite (JSON has no NaN or infinity). */
static void out_float(out *o, float f)
{
    char tmp[40];
    if (!isfinite(f)) {
        OUT_LIT(o, "null");
        return;
    }
    if (f == 0) {
        out_c(o, '0');
        return;
    }
    int n = fmt_float(tmp, f);
    if (n > 0) {
        out_raw(o, tmp, (size_t)n);
        return;
    }
    for (int prec = 6; prec <= 9; prec++) {   /* extreme exponents: the slow exact way */
        snprintf(tmp, sizeof tmp, "%.*g", prec, (double)f);
        if ((float)strtod(tmp, NULL) == f)
            break;
    }
    out_raw(o, tmp, strlen(tmp));
}

static void out_double(out *o, double v)
{
    char tmp[40];
    if (!isfinite(v)) {
        OUT_LIT(o, "null");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    out_raw(o, tmp, strlen(tmp));
}

/* A real as json_dumps writes it with JSON_REAL_PRECISION(17): %.17g, ".0" when that
 * looks like an integer, the exponent without '+' or leading zeros. */
static void out_jreal(out *o, double v)
{
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp, "%.17g", v);
    if (n <= 0 || (size_t)n >= sizeof tmp - 3)
        return;
    if (!strchr(tmp, '.') && !strchr(tmp, 'e')) {
        memcpy(tmp + n, ".0", 3);
        n += 2;
    }
    char *e = strchr(tmp, 'e');
    if (e) {
        char *start = e + 1, *end = e + 2;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, (size_t)(tmp + n - end) + 1);
            n -= (int)(end - start);
        }
    }
    out_raw(o, tmp, (size_t)n);
}

/* A jansson value, compact, byte for byte what json_dumps(JSON_COMPACT | JSON_ENCODE_ANY |
 * JSON_REAL_PRECISION(17)) gives (tests/unit/test_session_save.c compares them), without
 * its allocation per value; -1 where it would differ (invalid UTF-8, deep nesting): the
 * caller lets jansson write that value. */
static int out_jv(out *o, json_t *v, int depth)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        size_t kl;
        json_t *m;
        int first = 1;
        if (depth > 32)
            return -1;
        out_c(o, '{');
        json_object_keylen_foreach(v, k, kl, m) {
            if (!first)
                out_c(o, ',');
            first = 0;
            if (out_str_as(o, k, kl, 1) < 0)
                return -1;
            out_c(o, ':');
            if (out_jv(o, m, depth + 1) < 0)
                return -1;
        }
        out_c(o, '}');
        return 0;
    }
    case JSON_ARRAY:
        if (depth > 32)
            return -1;
        out_c(o, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                out_c(o, ',');
            if (out_jv(o, json_array_get(v, i), depth + 1) < 0)
                return -1;
        }
        out_c(o, ']');
        return 0;
    case JSON_STRING:
        return out_str_as(o, json_string_value(v), json_string_length(v), 1) < 0 ? -1 : 0;
    case JSON_INTEGER:
        out_int(o, (long long)json_integer_value(v));
        return 0;
    case JSON_REAL:
        out_jreal(o, json_real_value(v));
        return 0;
    case JSON_TRUE:
        OUT_LIT(o, "true");
        return 0;
    case JSON_FALSE:
        OUT_LIT(o, "false");
        return 0;
    case JSON_NULL:
        OUT_LIT(o, "null");
        return 0;
    }
    return -1;
}

/* Any jansson value, compact (unknown fields). */
static void out_json(out *o, json_t *v)
{
    size_t at = o->b.len;
    if (out_jv(o, v, 0) == 0)
        return;
    o->b.len = at;                            /* what json_dumps says, error included */
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    if (s) {
        out_raw(o, s, strlen(s));
        free(s);
    } else
        OUT_LIT(o, "null");
}

/* The members of extra from the skip-th on, up to the member named until (when given):
 * returns how many members come before where it stopped. */
static size_t out_extra_part(out *o, json_t *extra, int *first, size_t skip, const char *until)
{
    const char *key;
    json_t *v;
    size_t i = 0;
    if (!extra)
        return 0;
    json_object_foreach(extra, key, v) {
        if (until && !strcmp(key, until))
            break;
        if (i++ < skip)
            continue;
        if (!*first)
            out_c(o, ',');
        *first = 0;
        out_str(o, key, strlen(key));
        out_c(o, ':');
        out_json(o, v);
    }
    return i;
}

static void out_extra(out *o, json_t *extra, int *first)
{
    out_extra_part(o, extra, first, 0, NULL);
}

static void out_settings(out *o, const session *s)
{
    const gen_settings *g = &s->settings;
    int first = 1;
    out_c(o, '{');
    for (size_t i = 0; i < settings_noptions; i++) {
        const settings_option *opt = &settings_options[i];
        const char *field = (const char *)g + opt->offset;
        if (!opt->saved)
            continue;
        if (opt->type == SET_STR && !*(char *const *)field)
            continue;
        if ((opt->type == SET_STOP && !g->nstop) || (opt->type == SET_SEED && !g->has_seed))
            continue;
        if (!first)
            out_c(o, ',');
        first = 0;
        out_str(o, opt->key, strlen(opt->key));
        out_c(o, ':');
        switch (opt->type) {
        case SET_STR: {
            const char *v = *(char *const *)field;
            out_str(o, v, strlen(v));
            break;
        }
        case SET_INT:  out_int(o, *(const int *)field); break;
        case SET_DBL:  out_double(o, *(const double *)field); break;
        case SET_BOOL: if (*(const int *)field) OUT_LIT(o, "true"); else OUT_LIT(o, "false"); break;
        case SET_SEED: out_int(o, g->seed); break;
        case SET_STOP:
            out_c(o, '[');
            for (int k = 0; k < g->nstop; k++) {
                if (k)
                    out_c(o, ',');
                out_str(o, g->stop[k], strlen(g->stop[k]));
            }
            out_c(o, ']');
            break;
        }
    }
    out_extra(o, s->settings_extra, &first);
    out_c(o, '}');
}

/* {"text": ...[, "bytes": [...]], "logprob": ...: a piece that is not valid UTF-8 (a token
 * holding part of a character) keeps its exact bytes, as OpenAI's "bytes" does. */
static void out_piece(out *o, const tree_node *n, const tree_piece *p)
{
    const char *s = n->pool + p->off;
    OUT_LIT(o, "{\"text\":");
    if (out_str(o, s, p->len)) {             /* not valid UTF-8: its bytes as well */
        OUT_LIT(o, ",\"bytes\":[");
        for (uint32_t i = 0; i < p->len; i++) {
            if (i)
                out_c(o, ',');
            out_int(o, (unsigned char)s[i]);
        }
        out_c(o, ']');
    }
    OUT_LIT(o, ",\"logprob\":");
    out_float(o, p->logprob);
}

static void out_node(out *o, const tree *t, int32_t id)
{
    const tree_node *n = tree_get(t, id);
    OUT_LIT(o, "{\"id\":");
    out_int(o, id);
    OUT_LIT(o, ",\"parent\":");
    if (n->parent == TREE_NONE)
        OUT_LIT(o, "null");
    else
        out_int(o, n->parent);
    OUT_LIT(o, ",\"origin\":");
    const char *origin = tree_origin_name((tree_origin)n->origin);
    out_str(o, origin, strlen(origin));
    OUT_LIT(o, ",\"text\":");
    out_str(o, n->text, n->text_len);
    OUT_LIT(o, ",\"children\":[");
    for (uint32_t i = 0; i < n->nchildren; i++) {
        if (i)
            out_c(o, ',');
        out_int(o, n->children[i]);
    }
    out_c(o, ']');
    const char *model = tree_str(t, n->model), *finish = tree_str(t, n->finish);
    if (model) {
        OUT_LIT(o, ",\"model\":");
        out_str(o, model, strlen(model));
    }
    if (finish) {
        OUT_LIT(o, ",\"finish_reason\":");
        out_str(o, finish, strlen(finish));
    }
    if (n->marks & (TREE_MARK_ATTRACTOR | TREE_MARK_BOOKMARK)) {
        OUT_LIT(o, ",\"marks\":[");
        if (n->marks & TREE_MARK_ATTRACTOR)
            OUT_LIT(o, "\"attractor\"");
        if ((n->marks & TREE_MARK_ATTRACTOR) && (n->marks & TREE_MARK_BOOKMARK))
            out_c(o, ',');
        if (n->marks & TREE_MARK_BOOKMARK)
            OUT_LIT(o, "\"bookmark\"");
        out_c(o, ']');
    }
    if (n->flags & TREE_FLAG_VISITED)
        OUT_LIT(o, ",\"visited\":true");
    if (n->flags & TREE_FLAG_INCOMPLETE)
        OUT_LIT(o, ",\"incomplete\":true");
    if ((n->flags & TREE_FLAG_FOLDED) && n->nchildren)
        OUT_LIT(o, ",\"folded\":true");
    if (n->vocab) {
        OUT_LIT(o, ",\"vocab\":");
        out_int(o, n->vocab);
    }
    if (n->created) {
        OUT_LIT(o, ",\"created\":");
        out_int(o, n->created);
    }
    if (n->ntokens) {
        OUT_LIT(o, ",\"tokens\":[");
        for (uint32_t i = 0; i < n->ntokens; i++) {
            const tree_token *tk = &n->tokens[i];
            if (i)
                out_c(o, ',');
            out_piece(o, n, &tk->tok);
            if (isfinite(tk->entropy)) {
                OUT_LIT(o, ",\"entropy\":");
                out_float(o, tk->entropy);
            }
            if (tk->ntop) {
                OUT_LIT(o, ",\"top\":[");
                for (uint32_t j = 0; j < tk->ntop; j++) {
                    if (j)
                        out_c(o, ',');
                    out_piece(o, n, &n->tops[tk->top + j]);
                    out_c(o, '}');
                }
                out_c(o, ']');
            }
            out_c(o, '}');
        }
        out_c(o, ']');
    }
    int first = 0;
    out_extra(o, n->extra, &first);
    out_c(o, '}');
}

/* ---- the nodes of a big tree on two threads ----
 * Blocks of PAR_NODES ids: this thread writes the even ones (to o, flushed to the file), a
 * helper writes the odd ones into two buffers in turn, which this thread then writes in
 * their place; the bytes are those of the loop in out_session.  Both only read the tree
 * (node extras through jansson's read-only iteration). */
#define PAR_NODES 512

typedef struct {
    const tree     *t;
    int32_t         cap, first;    /* one past the last id; the first live id (no ",\n") */
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    buf             slot[2];
    int             full[2];
    int             stop;
} par_nodes;

/* The live nodes of [lo, hi) as the node loop writes them. */
static void out_block(out *o, const tree *t, int32_t lo, int32_t hi, int32_t first)
{
    for (int32_t id = lo; id < hi; id++) {
        if (!tree_get(t, id))
            continue;
        if (id != first)
            OUT_LIT(o, ",\n");
        out_node(o, t, id);
        if (o->fd >= 0 && o->b.len >= (1u << 20))
            out_flush(o);
    }
}

static void *par_main(void *ud)
{
    par_nodes *P = ud;
    for (int32_t k = 0;; k++) {
        int32_t lo = (2 * k + 1) * PAR_NODES;
        if (lo >= P->cap)
            break;
        int sl = k & 1;
        pthread_mutex_lock(&P->mu);
        while (P->full[sl] && !P->stop)
            pthread_cond_wait(&P->cv, &P->mu);
        int stop = P->stop;
        pthread_mutex_unlock(&P->mu);
        if (stop)
            break;
        out w = { .b = P->slot[sl], .fd = -1 };
        buf_clear(&w.b);
        out_block(&w, P->t, lo, lo + PAR_NODES < P->cap ? lo + PAR_NODES : P->cap, P->first);
        pthread_mutex_lock(&P->mu);
        P->slot[sl] = w.b;
        P->full[sl] = 1;
        pthread_cond_broadcast(&P->cv);
        pthread_mutex_unlock(&P->mu);
    }
    return NULL;
}

/* 1 when the nodes are written (the caller closes the list), 0 to write them in one loop. */
static int out_nodes_parallel(out *o, const tree *t, int32_t cap)
{
    par_nodes P = { .t = t, .cap = cap, .first = TREE_NONE };
    for (int32_t id = 0; id < cap && P.first == TREE_NONE; id++)
        if (tree_get(t, id))
            P.first = id;
    pthread_t th;
    if (P.first == TREE_NONE || pthread_mutex_init(&P.mu, NULL))
        return 0;
    pthread_cond_init(&P.cv, NULL);
    if (pthread_create(&th, NULL, par_main, &P)) {
        pthread_cond_destroy(&P.cv);
        pthread_mutex_destroy(&P.mu);
        return 0;
    }
    for (int32_t b = 0; b * PAR_NODES < cap; b++) {
        int32_t lo = b * PAR_NODES, hi = lo + PAR_NODES < cap ? lo + PAR_NODES : cap;
        if (!(b & 1)) {
            out_block(o, t, lo, hi, P.first);
            continue;
        }
        int sl = (b / 2) & 1;
        pthread_mutex_lock(&P.mu);
        while (!P.full[sl])
            pthread_cond_wait(&P.cv, &P.mu);
        pthread_mutex_unlock(&P.mu);
        out_flush(o);                      /* in order: what this thread wrote, then the block */
        buf keep = o->b;
        o->b = P.slot[sl];
        out_flush(o);
        P.slot[sl] = o->b;
        o->b = keep;
        pthread_mutex_lock(&P.mu);
        P.full[sl] = 0;
        pthread_cond_broadcast(&P.cv);
        pthread_mutex_unlock(&P.mu);
    }
    pthread_mutex_lock(&P.mu);
    P.stop = 1;
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.mu);
    pthread_join(th, NULL);
    buf_free(&P.slot[0]);
    buf_free(&P.slot[1]);
    pthread_cond_destroy(&P.cv);
    pthread_mutex_destroy(&P.mu);
    return 1;
}

/* The whole document into o (with p's parts instead of s's, when p), flushing to o->fd every
 * megabyte when it has one; tail(ud), when given, runs after the nodes and the members of
 * s->extra ahead of the one named field (all of them when it has none). */
static void out_session(out *o, const session *s, const session_patch *p, const char *field,
                        void (*tail)(void *), void *ud)
{
    const tree *t = s->t;
    int32_t root = t ? tree_root(t) : TREE_NONE;
    int32_t cursor = t && tree_get(t, s->cursor) ? s->cursor : root;
    if (p && p->cursor != TREE_NONE)
        cursor = p->cursor;
    OUT_LIT(o, "{\"format\":\"" SESSION_FORMAT "\",\"version\":");
    out_int(o, SESSION_VERSION);
    OUT_LIT(o, ",\"settings\":");
    if (p && p->settings)
        out_raw(o, p->settings, p->settings_len);
    else
        out_settings(o, s);
    OUT_LIT(o, ",\"root\":");
    if (root == TREE_NONE)
        OUT_LIT(o, "null");
    else
        out_int(o, root);
    OUT_LIT(o, ",\"cursor\":");
    if (cursor == TREE_NONE)
        OUT_LIT(o, "null");
    else
        out_int(o, cursor);
    OUT_LIT(o, ",\"nodes\":[\n");
    int first = 1;
    int32_t cap = t ? tree_capacity(t) : 0;
    if (p && p->node && p->cap > cap)
        cap = p->cap;
    /* a tail's work runs on a thread of its own beside the save: with fewer than three
     * cores the nodes are written on this one, the other core left to that work */
    int helper = !tail || sysconf(_SC_NPROCESSORS_ONLN) >= 3;
    if (!p && helper && o->fd >= 0 && cap >= 4 * PAR_NODES && out_nodes_parallel(o, t, cap))
        first = !tree_count(t);
    else for (int32_t id = 0; id < cap; id++) {
        size_t len = 0;
        const char *line = p && p->node && id < p->cap ? p->node(p->ud, id, &len) : NULL;
        if (line ? !len : !tree_get(t, id))
            continue;
        if (!first)
            OUT_LIT(o, ",\n");
        first = 0;
        if (line)
            out_raw(o, line, len);
        else
            out_node(o, t, id);
        if (o->fd >= 0 && o->b.len >= (1u << 20))
            out_flush(o);
    }
    if (first)
        OUT_LIT(o, "]");
    else
        OUT_LIT(o, "\n]");
    first = 0;
    size_t ahead = 0;
    if (tail) {
        ahead = out_extra_part(o, s->extra, &first, 0, field);
        tail(ud);               /* s->extra changes from field on, the members ahead stay */
    }
    out_extra_part(o, s->extra, &first, ahead, NULL);
    OUT_LIT(o, "}\n");
    out_flush(o);
}

/* The writers leave room but no terminator: make the buffer a C string again. */
static void out_terminate(out *o)
{
    out_c(o, 0);
    o->b.len--;
}

void session_node_line(const tree *t, int32_t id, buf *b)
{
    out o = { .b = *b, .fd = -1 };
    out_node(&o, t, id);
    out_terminate(&o);
    *b = o.b;
}

void session_settings_line(const session *s, buf *b)
{
    out o = { .b = *b, .fd = -1 };
    out_settings(&o, s);
    out_terminate(&o);
    *b = o.b;
}

char *session_dump_patched(const session *s, const session_patch *p, size_t *len)
{
    out o = { .fd = -1 };
    out_session(&o, s, p, NULL, NULL, NULL);
    if (len)
        *len = o.b.len;
    out_terminate(&o);
    return buf_steal(&o.b);
}

char *session_dump(const session *s, size_t *len)
{
    return session_dump_patched(s, NULL, len);
}

int session_save(const session *s, const char *path, char *err, size_t errlen)
{
    return session_save_then(s, path, NULL, NULL, NULL, err, errlen);
}

int session_save_then(const session *s, const char *path, const char *field,
                      void (*tail)(void *), void *ud, char *err, size_t errlen)
{
    char *target = savefile_target(path), *tmp = NULL;
    int fd = savefile_open(target, &tmp, err, errlen);
    if (fd < 0) {
        if (tail)
            tail(ud);
        free(target);
        return -1;
    }
    out o = { .fd = fd, .ahead = tmp != NULL };
    out_session(&o, s, NULL, field, tail, ud);
    buf_free(&o.b);
    int rc = savefile_commit(fd, tmp, target, o.err, err, errlen);
    free(target);
    return rc;
}
