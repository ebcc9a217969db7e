/* core/session.c — see session.h.
 *
 * Saving writes the JSON by hand (fixed key order, shortest round-tripping numbers, text
 * made valid UTF-8) so that output is deterministic and fast.  Loading parses every node
 * into a pending list first, then checks the structure (ids, parents, children, root,
 * cycles) and only then builds the tree, so a bad file never leaves a half-loaded tree. */
#include "core/session.h"
#include "core/mem.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JFLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)
/* Ids index the arena: refuse ids far beyond the number of nodes (memory). */
#define ID_SLACK 100000

void session_init(session *s)
{
    memset(s, 0, sizeof *s);
    s->t = tree_new();
    settings_init(&s->settings);
    s->cursor = TREE_NONE;
}

void session_free(session *s)
{
    tree_free(s->t);
    settings_free(&s->settings);
    if (s->extra)
        json_decref(s->extra);
    if (s->settings_extra)
        json_decref(s->settings_extra);
    memset(s, 0, sizeof *s);
    s->cursor = TREE_NONE;
}

void session_new_prompt(session *s, const char *prompt)
{
    tree_free(s->t);
    if (s->extra)
        json_decref(s->extra);
    if (s->settings_extra)
        json_decref(s->settings_extra);
    s->extra = s->settings_extra = NULL;
    if (!s->settings.backend)
        settings_init(&s->settings);
    s->t = tree_new();
    s->cursor = tree_add_child(s->t, TREE_NONE, TREE_ORIGIN_PROMPT, prompt ? prompt : "",
                               prompt ? strlen(prompt) : 0);
}

/* ================================================================ writing */

typedef struct {
    buf  b;
    int  fd;          /* flushed to this when >= 0 */
    int  err;         /* errno of the first failed write */
} out;

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
    if (o->fd >= 0)
        buf_clear(&o->b);
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

/* Length of a valid UTF-8 sequence at s (n bytes available), or 0 when invalid.
 * Same rules as jansson: no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F))
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
            return 0;
        return 4;
    }
    return 0;
}

/* A JSON string.  Invalid UTF-8 (a token split inside a character) becomes U+FFFD so the
 * file always loads. */
static void out_str(out *o, const char *str, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    out_c(o, '"');
    size_t run = 0, i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        size_t k = c >= 0x80 ? utf8_seq(s + i, len - i) : 0;
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
                memcpy(u, "\xEF\xBF\xBD", 3);
                ul = 3;
            }
        }
        out_raw(o, u, ul);
        run = ++i;
    }
    out_raw(o, str + run, len - run);
    out_c(o, '"');
}

static void out_int(out *o, long long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", v);
    out_raw(o, tmp, (size_t)n);
}

static const double pow10_tab[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

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
        m9 = llround(k >= 0 ? x * pow10_tab[k] : x / pow10_tab[-k]);
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
        long long dv = p10[9 - prec], m = m9 / dv, r = m9 % dv;
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
        double back = k >= 0 ? (double)m / pow10_tab[k] : (double)m * pow10_tab[-k];
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

/* Any jansson value, compact (unknown fields). */
static void out_json(out *o, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    if (s) {
        out_raw(o, s, strlen(s));
        free(s);
    } else
        OUT_LIT(o, "null");
}

static void out_extra(out *o, json_t *extra, int *first)
{
    const char *key;
    json_t *v;
    if (!extra)
        return;
    json_object_foreach(extra, key, v) {
        if (!*first)
            out_c(o, ',');
        *first = 0;
        out_str(o, key, strlen(key));
        out_c(o, ':');
        out_json(o, v);
    }
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

static void out_piece(out *o, const tree_node *n, const tree_piece *p)
{
    OUT_LIT(o, "{\"text\":");
    out_str(o, n->pool + p->off, p->len);
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

/* The whole document into o, flushing to o->fd every megabyte when it has one. */
static void out_session(out *o, const session *s)
{
    const tree *t = s->t;
    int32_t root = t ? tree_root(t) : TREE_NONE;
    int32_t cursor = t && tree_get(t, s->cursor) ? s->cursor : root;
    OUT_LIT(o, "{\"format\":\"" SESSION_FORMAT "\",\"version\":");
    out_int(o, SESSION_VERSION);
    OUT_LIT(o, ",\"settings\":");
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
    for (int32_t id = 0; id < cap; id++) {
        if (!tree_get(t, id))
            continue;
        if (!first)
            OUT_LIT(o, ",\n");
        first = 0;
        out_node(o, t, id);
        if (o->fd >= 0 && o->b.len >= (1u << 20))
            out_flush(o);
    }
    if (first)
        OUT_LIT(o, "]");
    else
        OUT_LIT(o, "\n]");
    first = 0;
    out_extra(o, s->extra, &first);
    OUT_LIT(o, "}\n");
    out_flush(o);
}

char *session_dump(const session *s, size_t *len)
{
    out o = { .fd = -1 };
    out_session(&o, s);
    if (len)
        *len = o.b.len;
    return buf_steal(&o.b);
}

/* ---- crash-safe writing ---- */

/* The file to replace: a symlink is followed so that its target is what gets replaced. */
static char *save_target(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        char *real = realpath(path, NULL);
        if (real)
            return real;
    }
    return xstrdup(path);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

/* Opens a new temporary file next to target; returns the fd and its name in *tmp. */
static int temp_open(const char *target, char **tmp, char *err, size_t errlen)
{
    char *dir = dir_of(target);
    const char *base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
    static unsigned counter;
    struct stat st;
    if (stat(target, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: cannot save: it is a directory", target);
        free(dir);
        return -1;
    }
    for (int tries = 0; tries < 100; tries++) {
        char *name = xasprintf("%s/.%s.tmp-%ld-%u", dir, base, (long)getpid(), counter++);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            if (stat(target, &st) == 0)          /* keep the old file's permissions */
                (void)fchmod(fd, st.st_mode & 07777);
            *tmp = name;
            free(dir);
            return fd;
        }
        int e = errno;
        free(name);
        if (e != EEXIST) {
            snprintf(err, errlen, "%s: cannot save: cannot create a file in %s: %s", target, dir, strerror(e));
            free(dir);
            return -1;
        }
    }
    snprintf(err, errlen, "%s: cannot save: no free temporary name in %s", target, dir);
    free(dir);
    return -1;
}

/* fsync, close, rename over target, fsync the folder.  Removes tmp on failure. */
static int temp_commit(int fd, char *tmp, const char *target, int write_err, char *err, size_t errlen)
{
    int e = write_err;
    if (!e && fsync(fd) < 0)
        e = errno;
    if (close(fd) < 0 && !e)
        e = errno;
    if (!e && rename(tmp, target) < 0)
        e = errno;
    if (e) {
        unlink(tmp);
        free(tmp);
        snprintf(err, errlen, "%s: cannot save: %s (the old file is unchanged)", target, strerror(e));
        return -1;
    }
    free(tmp);
    char *dir = dir_of(target);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(dir);
    return 0;
}

int session_write_file(const char *path, const char *data, size_t len, char *err, size_t errlen)
{
    char *target = save_target(path), *tmp = NULL;
    int fd = temp_open(target, &tmp, err, errlen);
    if (fd < 0) {
        free(target);
        return -1;
    }
    size_t done = 0;
    int e = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            e = w < 0 ? errno : EIO;
            break;
        }
        done += (size_t)w;
    }
    int rc = temp_commit(fd, tmp, target, e, err, errlen);
    free(target);
    return rc;
}

int session_save(const session *s, const char *path, char *err, size_t errlen)
{
    char *target = save_target(path), *tmp = NULL;
    int fd = temp_open(target, &tmp, err, errlen);
    if (fd < 0) {
        free(target);
        return -1;
    }
    out o = { .fd = fd };
    out_session(&o, s);
    buf_free(&o.b);
    int rc = temp_commit(fd, tmp, target, o.err, err, errlen);
    free(target);
    return rc;
}

/* ================================================================ loading */

typedef struct {
    tree_node n;      /* parent and children as the file declares them */
    int32_t   id;
} pending;

typedef struct {
    const char *name;
    tree       *t;              /* only for interning strings while parsing */
    pending    *nodes;
    size_t      nnodes, cap;
    char        msg[400];       /* the first problem, without the file name */
    int         bad;
} loader;

static int lfail(loader *L, const char *fmt, ...)
{
    if (L->bad)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->msg, sizeof L->msg, fmt, ap);
    va_end(ap);
    L->bad = 1;
    return -1;
}

static void pending_release(tree_node *n)
{
    free(n->children);
    free(n->text);
    free(n->tokens);
    free(n->tops);
    free(n->pool);
    if (n->extra)
        json_decref(n->extra);
    memset(n, 0, sizeof *n);
}

static void loader_free(loader *L)
{
    for (size_t i = 0; i < L->nnodes; i++)
        pending_release(&L->nodes[i].n);
    free(L->nodes);
    tree_free(L->t);
    memset(L, 0, sizeof *L);
}

/* An id-valued field: 1 ok (TREE_NONE for null when allow_null), 0 wrong type/range. */
static int get_id(json_t *v, int allow_null, int32_t *out_id)
{
    if (allow_null && json_is_null(v)) {
        *out_id = TREE_NONE;
        return 1;
    }
    if (!json_is_integer(v))
        return 0;
    json_int_t x = json_integer_value(v);
    if (x < 0 || x >= INT32_MAX)
        return 0;
    *out_id = (int32_t)x;
    return 1;
}

static int get_logprob(json_t *v, float *lp)
{
    if (json_is_null(v)) {
        *lp = NAN;
        return 1;
    }
    if (!json_is_number(v))
        return 0;
    *lp = (float)json_number_value(v);
    return 1;
}

/* tokens: [{"text", "logprob", "top": [{"text", "logprob"}]}] into n's arrays, sized exactly. */
static int tokens_from_json(loader *L, int32_t id, json_t *arr, tree_node *n)
{
    if (!json_is_array(arr)) {
        lfail(L, "node %d: tokens is not an array", id);
        return -1;
    }
    size_t ntok = json_array_size(arr), ntops = 0, pool = 0;
    for (size_t i = 0; i < ntok; i++) {
        json_t *tk = json_array_get(arr, i), *text, *lp, *top;
        if (!json_is_object(tk)) {
            lfail(L, "node %d: tokens[%zu] is not an object", id, i);
            return -1;
        }
        text = json_object_get(tk, "text");
        lp = json_object_get(tk, "logprob");
        top = json_object_get(tk, "top");
        if (!json_is_string(text)) {
            lfail(L, "node %d: tokens[%zu].text is %s", id, i, text ? "not a string" : "missing");
            return -1;
        }
        if (lp && !json_is_number(lp) && !json_is_null(lp)) {
            lfail(L, "node %d: tokens[%zu].logprob is not a number", id, i);
            return -1;
        }
        pool += json_string_length(text) + 1;
        if (!top)
            continue;
        if (!json_is_array(top)) {
            lfail(L, "node %d: tokens[%zu].top is not an array", id, i);
            return -1;
        }
        for (size_t j = 0; j < json_array_size(top); j++) {
            json_t *a = json_array_get(top, j), *at, *al;
            at = json_object_get(a, "text");
            al = json_object_get(a, "logprob");
            if (!json_is_object(a) || !json_is_string(at) || (al && !json_is_number(al) && !json_is_null(al))) {
                lfail(L, "node %d: tokens[%zu].top[%zu] is not {\"text\": string, \"logprob\": number}", id, i, j);
                return -1;
            }
            pool += json_string_length(at) + 1;
            ntops++;
        }
    }
    if (pool >= UINT32_MAX || ntok >= UINT32_MAX || ntops >= UINT32_MAX) {
        lfail(L, "node %d: too many tokens", id);
        return -1;
    }
    n->tokens = xmalloc((ntok ? ntok : 1) * sizeof *n->tokens);
    n->tops = xmalloc((ntops ? ntops : 1) * sizeof *n->tops);
    n->pool = xmalloc(pool ? pool : 1);
    n->cap_tokens = (uint32_t)ntok;
    n->cap_tops = (uint32_t)ntops;
    n->pool_cap = (uint32_t)pool;
    for (size_t i = 0; i < ntok; i++) {
        json_t *tk = json_array_get(arr, i), *text = json_object_get(tk, "text");
        json_t *top = json_object_get(tk, "top");
        tree_token *t = &n->tokens[n->ntokens++];
        size_t len = json_string_length(text);
        t->tok.off = n->pool_len;
        t->tok.len = (uint32_t)len;
        memcpy(n->pool + n->pool_len, json_string_value(text), len);
        n->pool[n->pool_len + len] = 0;
        n->pool_len += (uint32_t)len + 1;
        json_t *lp = json_object_get(tk, "logprob");
        t->tok.logprob = NAN;
        if (lp)
            get_logprob(lp, &t->tok.logprob);
        t->top = n->ntops;
        t->ntop = (uint32_t)json_array_size(top);
        for (size_t j = 0; j < t->ntop; j++) {
            json_t *a = json_array_get(top, j), *at = json_object_get(a, "text");
            json_t *al = json_object_get(a, "logprob");
            tree_piece *p = &n->tops[n->ntops++];
            size_t alen = json_string_length(at);
            p->off = n->pool_len;
            p->len = (uint32_t)alen;
            memcpy(n->pool + n->pool_len, json_string_value(at), alen);
            n->pool[n->pool_len + alen] = 0;
            n->pool_len += (uint32_t)alen + 1;
            p->logprob = NAN;
            if (al)
                get_logprob(al, &p->logprob);
        }
    }
    return 0;
}

static int set_flag(loader *L, int32_t id, const char *key, json_t *v, tree_node *n, uint8_t flag)
{
    if (!json_is_boolean(v)) {
        lfail(L, "node %d: %s is not true or false", id, key);
        return -1;
    }
    if (json_is_true(v))
        n->flags |= flag;
    return 0;
}

/* One element of "nodes" into a pending node. */
static int node_from_json(loader *L, json_t *o, size_t index)
{
    if (L->bad)
        return -1;
    if (!json_is_object(o))
        return lfail(L, "nodes[%zu] is not an object", index);
    json_t *jid = json_object_get(o, "id");
    int32_t id;
    if (!jid)
        return lfail(L, "nodes[%zu]: id is missing", index);
    if (!get_id(jid, 0, &id))
        return lfail(L, "nodes[%zu]: id is not a node id (a whole number from 0)", index);
    static const char *const required[] = { "parent", "origin", "text", "children" };
    for (size_t i = 0; i < 4; i++)
        if (!json_object_get(o, required[i]))
            return lfail(L, "node %d: %s is missing", id, required[i]);
    xgrow(&L->nodes, &L->cap, L->nnodes + 1, sizeof *L->nodes);
    pending *pn = &L->nodes[L->nnodes++];
    memset(pn, 0, sizeof *pn);
    pn->id = id;
    tree_node *n = &pn->n;
    n->last_child = TREE_NONE;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (!strcmp(key, "id"))
            continue;
        if (!strcmp(key, "parent")) {
            if (!get_id(v, 1, &n->parent))
                return lfail(L, "node %d: parent is not a node id or null", id);
        } else if (!strcmp(key, "origin")) {
            tree_origin org;
            if (!json_is_string(v))
                return lfail(L, "node %d: origin is not a string", id);
            if (tree_origin_parse(json_string_value(v), &org) < 0)
                return lfail(L, "node %d: unknown origin '%.40s'", id, json_string_value(v));
            n->origin = (uint8_t)org;
        } else if (!strcmp(key, "text")) {
            if (!json_is_string(v))
                return lfail(L, "node %d: text is not a string", id);
            size_t len = json_string_length(v);
            if (len >= UINT32_MAX)
                return lfail(L, "node %d: text is too long", id);
            n->text = xstrndup(json_string_value(v), len);
            n->text_len = n->text_cap = (uint32_t)len;
            n->text_cap++;
        } else if (!strcmp(key, "children")) {
            if (!json_is_array(v))
                return lfail(L, "node %d: children is not an array", id);
            size_t nc = json_array_size(v);
            if (nc >= INT32_MAX)
                return lfail(L, "node %d: too many children", id);
            n->children = xmalloc((nc ? nc : 1) * sizeof *n->children);
            for (size_t i = 0; i < nc; i++)
                if (!get_id(json_array_get(v, i), 0, &n->children[i]))
                    return lfail(L, "node %d: children[%zu] is not a node id", id, i);
            n->nchildren = n->cap_children = (uint32_t)nc;
        } else if (!strcmp(key, "model") || !strcmp(key, "finish_reason")) {
            if (!json_is_string(v))
                return lfail(L, "node %d: %s is not a string", id, key);
            uint32_t h = tree_intern(L->t, json_string_value(v));
            if (key[0] == 'm')
                n->model = h;
            else
                n->finish = h;
        } else if (!strcmp(key, "marks")) {
            if (!json_is_array(v))
                return lfail(L, "node %d: marks is not an array", id);
            for (size_t i = 0; i < json_array_size(v); i++) {
                const char *m = json_string_value(json_array_get(v, i));
                if (m && !strcmp(m, "attractor"))
                    n->marks |= TREE_MARK_ATTRACTOR;
                else if (m && !strcmp(m, "bookmark"))
                    n->marks |= TREE_MARK_BOOKMARK;
                else
                    return lfail(L, "node %d: marks[%zu] is not \"attractor\" or \"bookmark\"", id, i);
            }
        } else if (!strcmp(key, "visited")) {
            if (set_flag(L, id, key, v, n, TREE_FLAG_VISITED) < 0)
                return -1;
        } else if (!strcmp(key, "incomplete")) {
            if (set_flag(L, id, key, v, n, TREE_FLAG_INCOMPLETE) < 0)
                return -1;
        } else if (!strcmp(key, "created")) {
            if (!json_is_integer(v))
                return lfail(L, "node %d: created is not a whole number (unix seconds)", id);
            n->created = json_integer_value(v);
        } else if (!strcmp(key, "tokens")) {
            if (tokens_from_json(L, id, v, n) < 0)
                return -1;
        } else if (strcmp(key, "api_key")) {
            if (!n->extra)
                n->extra = json_object();
            json_object_set(n->extra, key, v);
        }
    }
    return 0;
}

/* Top-level fields other than "nodes".  Fills settings, root, cursor and the unknown
 * fields; the ids are checked against the nodes later. */
typedef struct {
    gen_settings settings;
    json_t *settings_extra, *extra;
    int32_t root, cursor;
    int     has_cursor;
} header;

static void header_free(header *h)
{
    settings_free(&h->settings);
    if (h->settings_extra)
        json_decref(h->settings_extra);
    if (h->extra)
        json_decref(h->extra);
}

static int settings_from_json(loader *L, json_t *obj, header *h)
{
    char err[300], num[64];
    const char *key;
    json_t *v;
    if (!json_is_object(obj)) {
        lfail(L, "settings is not an object");
        return -1;
    }
    json_object_foreach(obj, key, v) {
        const settings_option *opt = settings_find(key);
        if (!opt || !opt->saved || strcmp(opt->key, key)) {
            if (strcmp(key, "api_key")) {
                if (!h->settings_extra)
                    h->settings_extra = json_object();
                json_object_set(h->settings_extra, key, v);
            }
            continue;
        }
        const char *text = NULL;
        int ok = 1;
        switch (opt->type) {
        case SET_STR:
            ok = json_is_string(v);
            text = json_string_value(v);
            break;
        case SET_INT:
            ok = json_is_integer(v);
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            text = num;
            break;
        case SET_DBL:
            ok = json_is_number(v);
            snprintf(num, sizeof num, "%.17g", json_number_value(v));
            text = num;
            break;
        case SET_BOOL:
            ok = json_is_boolean(v);
            text = json_is_true(v) ? "true" : "false";
            break;
        case SET_SEED:
            ok = json_is_integer(v) || json_is_null(v);
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            text = json_is_null(v) ? "none" : num;
            break;
        case SET_STOP:
            ok = json_is_array(v);
            settings_set(&h->settings, "stop", "", err, sizeof err);
            for (size_t i = 0; ok && i < json_array_size(v); i++) {
                const char *st = json_string_value(json_array_get(v, i));
                if (!st) {
                    lfail(L, "settings: stop[%zu] is not a string", i);
                    return -1;
                }
                if (*st && settings_set(&h->settings, "stop", st, err, sizeof err) < 0) {
                    lfail(L, "settings: %s", err);
                    return -1;
                }
            }
            break;
        }
        if (!ok) {
            static const char *const want[] = { "a string", "a whole number", "a number", "true or false", "a list of strings", "a whole number" };
            lfail(L, "settings: %s is not %s", key, want[opt->type]);
            return -1;
        }
        if (text && settings_set(&h->settings, key, text, err, sizeof err) < 0) {
            lfail(L, "settings: %s", err);
            return -1;
        }
    }
    return 0;
}

static int header_from_json(loader *L, json_t *doc, header *h)
{
    if (!json_is_object(doc)) {
        lfail(L, "not a termloom session (the top level is not an object)");
        return -1;
    }
    json_t *fmt = json_object_get(doc, "format"), *ver = json_object_get(doc, "version");
    if (!fmt) {
        lfail(L, "not a termloom session (no \"format\" field)");
        return -1;
    }
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), SESSION_FORMAT)) {
        lfail(L, "not a termloom session (format is %s%.40s%s, expected \"" SESSION_FORMAT "\")",
              json_is_string(fmt) ? "\"" : "", json_is_string(fmt) ? json_string_value(fmt) : "not a string",
              json_is_string(fmt) ? "\"" : "");
        return -1;
    }
    if (!ver) {
        lfail(L, "version is missing");
        return -1;
    }
    if (!json_is_integer(ver)) {
        lfail(L, "version is not a whole number");
        return -1;
    }
    if (json_integer_value(ver) != SESSION_VERSION) {
        lfail(L, "unsupported version %lld (this termloom reads version %d)",
              (long long)json_integer_value(ver), SESSION_VERSION);
        return -1;
    }
    json_t *settings = json_object_get(doc, "settings"), *root = json_object_get(doc, "root");
    json_t *cursor = json_object_get(doc, "cursor"), *nodes = json_object_get(doc, "nodes");
    if (settings && settings_from_json(L, settings, h) < 0)
        return -1;
    if (!root) {
        lfail(L, "root is missing");
        return -1;
    }
    if (!get_id(root, 1, &h->root)) {
        lfail(L, "root is not a node id or null");
        return -1;
    }
    h->cursor = TREE_NONE;
    if (cursor && !get_id(cursor, 1, &h->cursor)) {
        lfail(L, "cursor is not a node id or null");
        return -1;
    }
    h->has_cursor = cursor && !json_is_null(cursor);
    if (!nodes) {
        lfail(L, "nodes is missing");
        return -1;
    }
    if (!json_is_array(nodes)) {
        lfail(L, "nodes is not an array");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v) {
        static const char *const known[] = { "format", "version", "settings", "root", "cursor", "nodes", "api_key" };
        int k = 0;
        while (k < 7 && strcmp(key, known[k]))
            k++;
        if (k < 7)
            continue;
        if (!h->extra)
            h->extra = json_object();
        json_object_set(h->extra, key, v);
    }
    return 0;
}

static tree_node *pending_node(loader *L, const int32_t *idx, size_t slots, int32_t id)
{
    return id >= 0 && (size_t)id < slots && idx[id] >= 0 ? &L->nodes[idx[id]].n : NULL;
}

/* The pending nodes → a checked tree in s.  -1 with L->msg on any structural problem. */
static int build(loader *L, header *h, session *s)
{
    size_t n = L->nnodes;
    int32_t max_id = -1;
    for (size_t i = 0; i < n; i++)
        if (L->nodes[i].id > max_id)
            max_id = L->nodes[i].id;
    if ((size_t)max_id + 1 > n * 64 + ID_SLACK) {
        lfail(L, "node id %d is too large for a file of %zu nodes", max_id, n);
        return -1;
    }
    size_t slots = (size_t)max_id + 1;
    int32_t *idx = xmalloc((slots ? slots : 1) * sizeof *idx);        /* id → pending index */
    int32_t *listed_by = xmalloc((slots ? slots : 1) * sizeof *listed_by);
    for (size_t i = 0; i < slots; i++)
        idx[i] = listed_by[i] = -1;
    int rc = -1;
    int32_t root = TREE_NONE;
    for (size_t i = 0; i < n; i++) {
        int32_t id = L->nodes[i].id;
        if (idx[id] >= 0) {
            lfail(L, "duplicate node id %d", id);
            goto out;
        }
        idx[id] = (int32_t)i;
    }
#define NODE_OF(id) pending_node(L, idx, slots, (id))
    for (size_t i = 0; i < n; i++) {
        const tree_node *nd = &L->nodes[i].n;
        int32_t id = L->nodes[i].id;
        if (nd->parent != TREE_NONE && !NODE_OF(nd->parent)) {
            lfail(L, "node %d: parent %d is not a node", id, nd->parent);
            goto out;
        }
        for (uint32_t c = 0; c < nd->nchildren; c++) {
            int32_t ch = nd->children[c];
            const tree_node *cn = NODE_OF(ch);
            if (!cn) {
                lfail(L, "node %d: child %d is not a node", id, ch);
                goto out;
            }
            if (listed_by[ch] == id) {
                lfail(L, "node %d lists child %d twice", id, ch);
                goto out;
            }
            if (listed_by[ch] >= 0) {
                lfail(L, "node %d is listed as a child of both %d and %d", ch, listed_by[ch], id);
                goto out;
            }
            listed_by[ch] = id;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const tree_node *nd = &L->nodes[i].n;
        int32_t id = L->nodes[i].id;
        if (nd->parent == TREE_NONE) {
            if (listed_by[id] >= 0) {
                lfail(L, "node %d has parent null but node %d lists it as a child", id, listed_by[id]);
                goto out;
            }
            if (root != TREE_NONE) {
                lfail(L, "two root nodes (%d and %d); a session has one", root, id);
                goto out;
            }
            root = id;
        } else if (listed_by[id] != nd->parent) {
            if (listed_by[id] < 0)
                lfail(L, "node %d has parent %d, which does not list it as a child", id, nd->parent);
            else
                lfail(L, "node %d has parent %d but node %d lists it as a child", id, nd->parent, listed_by[id]);
            goto out;
        }
    }
    if (n && root == TREE_NONE) {
        lfail(L, "no root node (every node has a parent, so the nodes form a cycle)");
        goto out;
    }
    /* Everything must hang from the root; whatever does not is on a cycle. */
    size_t reached = 0;
    if (root != TREE_NONE) {
        int32_t *stack = xmalloc(n * sizeof *stack);
        size_t sp = 0;
        stack[sp++] = root;
        while (sp) {
            const tree_node *nd = NODE_OF(stack[--sp]);
            reached++;
            for (uint32_t c = 0; c < nd->nchildren; c++)
                stack[sp++] = nd->children[c];     /* each node is listed once: sp <= n */
        }
        free(stack);
    }
    if (reached < n) {
        for (size_t i = 0; i < n; i++) {
            int32_t id = L->nodes[i].id, a = id;
            size_t steps = 0;
            while (a != TREE_NONE && steps++ <= n)
                a = NODE_OF(a)->parent;
            if (a != TREE_NONE) {
                lfail(L, "cycle: following parents from node %d never reaches the root", id);
                goto out;
            }
        }
        lfail(L, "some nodes cannot be reached from the root");
        goto out;
    }
    if (h->root != root) {
        if (root == TREE_NONE)
            lfail(L, "root is %d but there are no nodes", h->root);
        else if (h->root == TREE_NONE)
            lfail(L, "root is null but node %d is the root", root);
        else
            lfail(L, "root is %d but the root node (the one whose parent is null) is %d", h->root, root);
        goto out;
    }
    if (h->has_cursor && !NODE_OF(h->cursor)) {
        lfail(L, "cursor %d is not a node", h->cursor);
        goto out;
    }
#undef NODE_OF
    /* Checked: move everything into the tree, in id order. */
    tree *t = L->t;
    L->t = NULL;
    for (size_t id = 0; id < slots; id++) {
        if (idx[id] < 0)
            continue;
        tree_node *src = &L->nodes[idx[id]].n;
        tree_add_with_id(t, (int32_t)id, TREE_NONE, (tree_origin)src->origin, NULL, 0);
        tree_node *dst = tree_get(t, (int32_t)id);
        free(dst->text);
        uint8_t flags = dst->flags;
        *dst = *src;
        dst->flags = (uint8_t)(flags | src->flags);
        if (!dst->text) {
            dst->text = xstrdup("");
            dst->text_cap = 1;
        }
        memset(src, 0, sizeof *src);
    }
    tree_free(s->t);
    s->t = t;
    settings_free(&s->settings);
    s->settings = h->settings;
    memset(&h->settings, 0, sizeof h->settings);
    if (s->extra)
        json_decref(s->extra);
    if (s->settings_extra)
        json_decref(s->settings_extra);
    s->extra = h->extra;
    s->settings_extra = h->settings_extra;
    h->extra = h->settings_extra = NULL;
    s->cursor = h->has_cursor ? h->cursor : root;
    rc = 0;
out:
    free(idx);
    free(listed_by);
    return rc;
}

static void json_problem(loader *L, const json_error_t *e)
{
    if (json_error_code(e) == json_error_invalid_utf8)
        lfail(L, "invalid UTF-8 at line %d column %d (byte %d)", e->line, e->column, e->position);
    else if (json_error_code(e) == json_error_out_of_memory)
        lfail(L, "too large to load (out of memory)");
    else
        lfail(L, "not valid JSON at line %d column %d: %s", e->line, e->column, e->text);
}

static void loader_init(loader *L, const char *name)
{
    memset(L, 0, sizeof *L);
    L->name = name;
    L->t = tree_new();
}

/* Header checks, then nodes, then structure: the order both paths report problems in. */
static int finish(loader *L, json_t *doc, session *s)
{
    header h;
    memset(&h, 0, sizeof h);
    settings_init(&h.settings);
    loader hl;                                 /* header problems win over node problems */
    memset(&hl, 0, sizeof hl);
    int rc = header_from_json(&hl, doc, &h);
    if (rc < 0) {
        L->bad = 0;
        lfail(L, "%s", hl.msg);
    } else if (!L->bad)
        rc = build(L, &h, s);
    else
        rc = -1;
    header_free(&h);
    return L->bad ? -1 : rc;
}

/* ---- the node-a-line fast path ---- */

typedef struct {
    const char *mem;          /* memory source, or NULL for fd */
    size_t      memlen, pos;
    int         fd;
    char       *buf;
    size_t      cap, beg, end;
    int         eof, err;
} lines;

/* The next line without its newline; 0 at the end, -1 on a read error. */
static int lines_next(lines *l, const char **s, size_t *n)
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
            size_t k = utf8_seq(s, (size_t)(e - s));
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
        v = exp10 < 0 ? v / pow10_tab[-exp10] : v * pow10_tab[exp10];
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

/* {"text": ..., "logprob": ...[, "top": [...]]} in any key order, into the scratch pool. */
static int p_piece(cur *c, scratch *S, tree_piece *pc, int allow_top, int64_t *top_first, uint32_t *ntop)
{
    if (!eat(c, '{'))
        return 0;
    int seen = 0;
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
        } else if (KEY_IS(k, kl, "logprob") && !(seen & 2)) {
            if (!p_logprob(c, &pc->logprob))
                return 0;
            seen |= 2;
        } else if (allow_top && KEY_IS(k, kl, "top") && !(seen & 4)) {
            seen |= 4;
            *top_first = (int64_t)S->ntop;
            if (!eat(c, '['))
                return 0;
            if (!eat(c, ']')) {
                do {
                    xgrow(&S->top, &S->cap_top, S->ntop + 1, sizeof *S->top);
                    tree_piece tp;
                    if (!p_piece(c, S, &tp, 0, NULL, NULL))
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
        if (!p_piece(c, S, &tk.tok, 1, &first, &ntop))
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
static int fast_node(loader *L, scratch *S, const char *line, size_t len)
{
    cur c = { line, line + len };
    S->text.n = S->pool.n = S->ntok = S->ntop = S->nch = 0;
    int32_t id = TREE_NONE, parent = TREE_NONE;
    uint8_t origin = 0, marks = 0, flags = 0;
    uint32_t model = 0, finish = 0;
    int64_t created = 0;
    unsigned seen = 0;
    enum { K_ID = 1, K_PARENT = 2, K_ORIGIN = 4, K_TEXT = 8, K_CHILDREN = 16, K_MODEL = 32,
           K_FINISH = 64, K_MARKS = 128, K_VISITED = 256, K_INCOMPLETE = 512, K_CREATED = 1024,
           K_TOKENS = 2048 };
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
        } else if (KEY_IS(k, kl, "visited") || KEY_IS(k, kl, "incomplete")) {
            bit = k[0] == 'v' ? K_VISITED : K_INCOMPLETE;
            uint8_t f = k[0] == 'v' ? TREE_FLAG_VISITED : TREE_FLAG_INCOMPLETE;
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
    pending *pn = &L->nodes[L->nnodes++];
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
static int load_lines(loader *L, lines *src, session *s, int *rc)
{
    static const char tail_key[] = "\"nodes\":[";
    const char *line;
    size_t len;
    int r = lines_next(src, &line, &len);
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
    const char *how = getenv("TERMLOOM_SESSION_PARSER");   /* see whole_document_only() */
    int fast = !how || strcmp(how, "jansson");
    scratch S;
    memset(&S, 0, sizeof S);
    while (layout_ok && (r = lines_next(src, &line, &len)) > 0) {
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
        json_t *node = json_loadb(line, len, JFLAGS, &e);
        if (!node) {
            layout_ok = 0;
            break;
        }
        node_from_json(L, node, index++);
        json_decref(node);
    }
    scratch_free(&S);
    if (r < 0) {
        buf_free(&head);
        return -1;
    }
    /* anything after the closing line belongs to the top-level object */
    while (layout_ok && closed && (r = lines_next(src, &line, &len)) > 0) {
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
    json_t *doc = json_loadb(head.data, head.len, JFLAGS, &e);
    buf_free(&head);
    if (!doc)
        return 0;
    *rc = finish(L, doc, s);
    json_decref(doc);
    return 1;
}

/* Test hook: TERMLOOM_SESSION_PARSER=document skips the node-a-line path, =jansson keeps it
 * but parses each line with jansson; tests compare all three. */
static int whole_document_only(void)
{
    const char *how = getenv("TERMLOOM_SESSION_PARSER");
    return how && !strcmp(how, "document");
}

static int load_doc(loader *L, json_t *doc, session *s)
{
    json_t *nodes = json_object_get(doc, "nodes");
    if (json_is_object(doc) && json_is_array(nodes))
        for (size_t i = 0; i < json_array_size(nodes) && !L->bad; i++)
            node_from_json(L, json_array_get(nodes, i), i);
    return finish(L, doc, s);
}

/* Messages quote input (jansson's "near '...'"): keep them one printable line. */
static void one_line(char *m)
{
    unsigned char *p = (unsigned char *)m;
    while (*p) {
        size_t k = *p >= 0x80 ? utf8_seq(p, strlen((char *)p)) : 1;
        if (*p < 0x20 || *p == 0x7f || !k) {
            *p++ = '?';
            continue;
        }
        p += k;
    }
}

static int load_result(loader *L, session *s, int rc, char *err, size_t errlen)
{
    if (rc < 0) {
        one_line(L->msg);
        snprintf(err, errlen, "%s: %s", L->name, L->msg);
        session_free(s);
        session_init(s);
    }
    loader_free(L);
    return rc < 0 ? -1 : 0;
}

int session_load_mem(session *s, const char *data, size_t len, const char *name,
                     char *err, size_t errlen)
{
    loader L;
    loader_init(&L, name);
    int rc = -1;
    if (len > SESSION_MAX_BYTES) {
        lfail(&L, "file is too large (%zu MB; the limit is %zu MB)", len >> 20, SESSION_MAX_BYTES >> 20);
        return load_result(&L, s, -1, err, errlen);
    }
    lines src = { .mem = data, .memlen = len, .fd = -1 };
    if (!whole_document_only() && load_lines(&L, &src, s, &rc) == 1)
        return load_result(&L, s, rc, err, errlen);
    loader_free(&L);
    loader_init(&L, name);
    json_error_t e;
    json_t *doc = json_loadb(data, len, JFLAGS, &e);
    if (!doc) {
        json_problem(&L, &e);
        return load_result(&L, s, -1, err, errlen);
    }
    rc = load_doc(&L, doc, s);
    json_decref(doc);
    return load_result(&L, s, rc, err, errlen);
}

int session_load(session *s, const char *path, char *err, size_t errlen)
{
    loader L;
    loader_init(&L, path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        lfail(&L, "%s", strerror(errno));
        return load_result(&L, s, -1, err, errlen);
    }
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        lfail(&L, "is a directory, not a session file");
        return load_result(&L, s, -1, err, errlen);
    }
    if (S_ISREG(st.st_mode) && (size_t)st.st_size > SESSION_MAX_BYTES) {
        close(fd);
        lfail(&L, "file is too large (%lld MB; the limit is %zu MB)", (long long)st.st_size >> 20, SESSION_MAX_BYTES >> 20);
        return load_result(&L, s, -1, err, errlen);
    }
    lines src = { .fd = fd, .cap = 1u << 20 };
    src.buf = xmalloc(src.cap);
    int rc = -1, r = whole_document_only() ? 0 : load_lines(&L, &src, s, &rc);
    free(src.buf);
    if (r == 1 || r < 0) {
        close(fd);
        if (r < 0)
            lfail(&L, "cannot read: %s", strerror(src.err));
        return load_result(&L, s, r < 0 ? -1 : rc, err, errlen);
    }
    /* Not the node-a-line layout: parse the whole document. */
    loader_free(&L);
    loader_init(&L, path);
    json_error_t e;
    memset(&e, 0, sizeof e);
    json_t *doc = NULL;
    if (lseek(fd, 0, SEEK_SET) == 0)
        doc = json_loadfd(fd, JFLAGS, &e);
    else
        snprintf(e.text, sizeof e.text, "cannot re-read the file");
    close(fd);
    if (!doc) {
        json_problem(&L, &e);
        return load_result(&L, s, -1, err, errlen);
    }
    rc = load_doc(&L, doc, s);
    json_decref(doc);
    return load_result(&L, s, rc, err, errlen);
}
