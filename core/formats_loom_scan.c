/* core/formats_loom_scan.c — a socketteer/loom document {"root": {...}, ...} read from its
 * bytes without building it in jansson: see fmt_loom_scan in formats_int.h.
 *
 * Contract: it either gives exactly what fmt_import_loom's walk of jansson's parse of the
 * whole document gives (the same records in the same order, the same node objects but for
 * "children" and "text", the same document without "root") or it returns 0 and leaves the
 * document to that parse, which gives the real answer or the real error.  How:
 *   - one pass over the bytes with an explicit stack (nodes nest to any depth without C
 *     recursion; deeper than MAX_DEPTH levels goes to jansson, which knows its limit);
 *   - the document's and each node's structure ({ , : } [ ]) is checked here; a node's
 *     "text" is decoded by core/jscan, its "children" walked; every other member's bytes are
 *     copied as they are into a small object that jansson parses (so it checks them and
 *     builds the same values, NULs and duplicate keys included) and fmt_loom_node reads;
 *   - the document's other members likewise, model_responses with its token lists cut out
 *     by fmt_loom_cut_responses (the strict token reader of core/formats_loom_fast.c);
 *   - it gives up on an escaped key, a repeated "root", "model_responses", "children" or
 *     "text", a node that is not an object, a text that is not a string or a children value
 *     that is not a list (jansson's parse then gives the same message), bytes after the
 *     document, and anything jansson refuses in a piece. */
#include "core/formats_int.h"
#include "core/jnul.h"
#include "core/mem.h"
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 2000           /* under jansson's JSON_PARSER_MAX_DEPTH (2048) */

enum { SEEN_TEXT = 1, SEEN_KIDS = 2 };

typedef struct {
    int32_t rec;                 /* a node's record; -1: a children list */
    int32_t parent;              /* the node's parent record (or the list's node) */
    int     depth;               /* levels open in the document, this one included */
    size_t  mark;                /* a node: where its members begin in the scratch */
    unsigned seen;
    int     any;                 /* a member or an element was read */
} frame;

typedef struct {
    jscan_cur   c;
    fmt_recs   *rs;
    json_t     *hold;            /* the nodes' objects */
    buf         scratch;         /* the members of the open nodes, innermost last */
    jscan_bytes text;
    frame      *st;
    size_t      n, cap;
} scanner;

/* The bytes of one value (unchecked: jansson reads them), nesting at most max_nest deep. */
static int value_bytes(jscan_cur *c, int max_nest, const char **vs)
{
    jscan_skip_st st = {0};
    jscan_ws(c);
    *vs = c->p;
    int r = jscan_skip(&st, &c->p, c->end, max_nest);
    return r > 0 || (r == 0 && st.first && st.first != '{' && st.first != '[' && st.first != '"');
}

/* "key":value appended to b as they are in the document. */
static int copy_member(jscan_cur *c, buf *b, size_t mark, const char *k, size_t kl, int max_nest)
{
    const char *vs;
    if (!value_bytes(c, max_nest, &vs))
        return 0;
    if (b->len > mark + 1)
        buf_addc(b, ',');
    buf_addc(b, '"');
    buf_add(b, k, kl);
    buf_add(b, "\":", 2);
    buf_add(b, vs, (size_t)(c->p - vs));
    return 1;
}

/* ---- small values built from their bytes as jansson builds them ---- */

#define BUILD_DEPTH 16           /* deeper pieces go to jansson */

/* A value at c->p: strings by jscan (NULs kept), numbers converted as jansson converts them,
 * members set as its parser sets them (a repeated key: the last value, in the first's
 * place).  NULL when it is not one it takes (an escaped or non-ASCII key, a long integer,
 * deep nesting, anything invalid): then jansson parses the piece. */
static json_t *build(jscan_cur *c, jscan_bytes *tmp, int depth)
{
    jscan_ws(c);
    if (c->p >= c->end || depth > BUILD_DEPTH)
        return NULL;
    json_t *v = NULL;
    switch (*c->p) {
    case '"':
        tmp->n = 0;
        return jscan_str(c, tmp) ? json_stringn_nocheck(tmp->b ? tmp->b : "", tmp->n) : NULL;
    case '{':
        c->p++;
        v = json_object();
        if (jscan_eat(c, '}'))
            return v;
        do {
            const char *k;
            size_t kl;
            json_t *m;
            if (!jscan_key(c, &k, &kl) || !(m = build(c, tmp, depth + 1)) ||
                json_object_setn_new_nocheck(v, k, kl, m) < 0) {
                json_decref(v);
                return NULL;
            }
        } while (jscan_eat(c, ','));
        break;
    case '[':
        c->p++;
        v = json_array();
        if (jscan_eat(c, ']'))
            return v;
        do {
            json_t *m = build(c, tmp, depth + 1);
            if (!m || json_array_append_new(v, m) < 0) {
                json_decref(v);
                return NULL;
            }
        } while (jscan_eat(c, ','));
        break;
    case 't':
        return jscan_lit(c, "true", 4) ? json_true() : NULL;
    case 'f':
        return jscan_lit(c, "false", 5) ? json_false() : NULL;
    case 'n':
        return jscan_lit(c, "null", 4) ? json_null() : NULL;
    default: {
        double d;
        int is_int;
        long long iv;
        if (!jscan_num(c, &d, &is_int, &iv))
            return NULL;
        return is_int ? json_integer((json_int_t)iv) : json_real(d);
    }
    }
    if (!jscan_eat(c, json_is_object(v) ? '}' : ']')) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* The value in [p, p + n), built here or by jansson: an object or an array, or (flags
 * JSON_DECODE_ANY) any value. */
static json_t *fmt_loom_piece(const char *p, size_t n, jscan_bytes *tmp, size_t flags)
{
    jscan_cur c = { p, p + n };
    json_t *v = build(&c, tmp, 0);
    if (v && (jscan_ws(&c), c.p == c.end) && (flags || json_is_object(v) || json_is_array(v)))
        return v;
    if (v)
        json_decref(v);
    json_error_t e;
    return jnul_loadb(p, n, flags, &e);
}

/* The cut model_responses, built on the helper thread (fmt_loom_pre_start) while the tree is
 * scanned; in the rest's text it is null until its value takes that place. */
typedef struct {
    char   *text;              /* NULL: not cut (yet) */
    size_t  n;
    json_t *v;                 /* built; NULL when it is not JSON */
} responses_job;

static void build_responses(void *ud)
{
    responses_job *j = ud;
    jscan_bytes tmp = {0};
    j->v = fmt_loom_piece(j->text, j->n, &tmp, JSON_DECODE_ANY);
    free(tmp.b);
}

static frame *push(scanner *S, int32_t rec, int32_t parent, int depth)
{
    if (depth > MAX_DEPTH)
        return NULL;
    xgrow(&S->st, &S->cap, S->n + 1, sizeof *S->st);
    frame *f = &S->st[S->n++];
    *f = (frame){ rec, parent, depth, S->scratch.len, 0, 0 };
    if (rec >= 0)
        buf_addc(&S->scratch, '{');
    return f;
}

/* A node at c->p ('{' next): its record now (records are in pre-order), its members next. */
static int open_node(scanner *S, int32_t parent, int depth)
{
    if (!jscan_eat(&S->c, '{'))
        return 0;                  /* not an object: jansson's walk says so */
    int32_t rec = (int32_t)S->rs->n;
    fmt_rec_add(S->rs);
    return push(S, rec, parent, depth) != NULL;
}

/* The node's '}' was read: its members (without children and text) to jansson and
 * fmt_loom_node. */
static int close_node(scanner *S, frame *f)
{
    buf_addc(&S->scratch, '}');
    json_t *obj = fmt_loom_piece(S->scratch.data + f->mark, S->scratch.len - f->mark, &S->text, 0);
    S->scratch.len = f->mark;
    if (!obj)
        return 0;
    json_array_append_new(S->hold, obj);
    if (fmt_loom_node(S->rs, (size_t)f->rec, obj, f->parent) < 0)
        return 0;
    S->n--;
    return 1;
}

/* One step inside the node on top of the stack: a member, or its end. */
static int node_step(scanner *S)
{
    frame *f = &S->st[S->n - 1];
    jscan_cur *c = &S->c;
    if (jscan_eat(c, '}'))
        return close_node(S, f);
    if (f->any && !jscan_eat(c, ','))
        return 0;
    f->any = 1;
    const char *k;
    size_t kl;
    if (!jscan_key_raw(c, &k, &kl))
        return 0;
    if (JSCAN_KEY_IS(k, kl, "children")) {
        if (f->seen & SEEN_KIDS)
            return 0;
        f->seen |= SEEN_KIDS;
        if (jscan_lit(c, "null", 4))
            return 1;
        if (!jscan_eat(c, '['))
            return 0;
        return push(S, -1, f->rec, f->depth + 1) != NULL;
    }
    if (JSCAN_KEY_IS(k, kl, "text")) {
        if (f->seen & SEEN_TEXT)
            return 0;
        f->seen |= SEEN_TEXT;
        if (jscan_lit(c, "null", 4))
            return 1;
        S->text.n = 0;
        if (!jscan_str(c, &S->text))
            return 0;
        fmt_rec *r = &S->rs->r[f->rec];
        r->text = xmalloc(S->text.n + 1);
        memcpy(r->text, S->text.b, S->text.n);
        r->text[S->text.n] = 0;
        r->len = S->text.n;
        return 1;
    }
    return copy_member(c, &S->scratch, f->mark, k, kl, MAX_DEPTH - f->depth);
}

/* One step inside the children list on top of the stack: a child opened, or its end. */
static int list_step(scanner *S)
{
    frame *f = &S->st[S->n - 1];
    if (jscan_eat(&S->c, ']')) {
        S->n--;
        return 1;
    }
    if (f->any && !jscan_eat(&S->c, ','))
        return 0;
    f->any = 1;
    return open_node(S, f->parent, f->depth + 1);
}

/* The tree under "root" (c->p at its value). */
static int scan_tree(scanner *S)
{
    if (!open_node(S, -1, 2))
        return 0;
    while (S->n)
        if (!(S->st[S->n - 1].rec >= 0 ? node_step(S) : list_step(S)))
            return 0;
    return 1;
}

/* The document's members; *top gets all but "root" as its text. */
static int scan_doc(scanner *S, buf *top, fmt_loom_spans *sp, responses_job *job)
{
    jscan_cur *c = &S->c;
    int seen_root = 0;
    if (!jscan_eat(c, '{'))
        return 0;
    buf_addc(top, '{');
    if (jscan_eat(c, '}'))
        return 0;                  /* no root */
    do {
        const char *k;
        size_t kl;
        if (!jscan_key_raw(c, &k, &kl))
            return 0;
        if (JSCAN_KEY_IS(k, kl, "root")) {
            if (seen_root++)
                return 0;
            jscan_ws(c);
            if (c->p >= c->end || *c->p != '{' || !scan_tree(S))
                return 0;
        } else if (JSCAN_KEY_IS(k, kl, "model_responses")) {
            if (job->text || !(job->text = fmt_loom_cut_responses(c, 2, &job->n, sp)))
                return 0;
            json_object_seed(0);              /* jansson's one global, set before a thread */
            fmt_loom_pre_start(sp, build_responses, job);   /* built, and the lists read, */
            if (top->len > 1)                                /* on a helper meanwhile */
                buf_addc(top, ',');
            buf_adds(top, "\"model_responses\":null");
        } else if (!copy_member(c, top, 0, k, kl, MAX_DEPTH - 1))
            return 0;
    } while (jscan_eat(c, ','));
    if (!jscan_eat(c, '}') || !seen_root)
        return 0;
    jscan_ws(c);
    buf_addc(top, '}');
    return c->p == c->end;
}

int fmt_loom_scan(const char *data, size_t len, fmt_recs *rs, json_t **rest, json_t **hold,
                  fmt_loom_spans *sp)
{
    scanner S = { { data, data + len }, rs, json_array(), {0}, {0}, NULL, 0, 0 };
    buf top = {0};
    responses_job job = {0};
    memset(sp, 0, sizeof *sp);
    *rest = NULL;
    if (scan_doc(&S, &top, sp, &job))
        *rest = fmt_loom_piece(top.data, top.len, &S.text, 0);
    if (*rest && job.text) {
        fmt_loom_pre_first(sp, build_responses, &job);
        if (job.v)                                   /* in the place of its null */
            json_object_set_new(*rest, "model_responses", job.v);
        else {
            json_decref(*rest);
            *rest = NULL;
        }
        job.v = NULL;
    }
    buf_free(&top);
    buf_free(&S.scratch);
    free(S.text.b);
    free(S.st);
    if (*rest) {
        free(job.text);
        *hold = S.hold;
        return 1;
    }
    json_decref(S.hold);
    if (job.text)
        fmt_loom_spans_free(sp);                     /* the helper stopped first */
    free(job.text);
    if (job.v)
        json_decref(job.v);
    fmt_recs_free(rs);
    return 0;
}
