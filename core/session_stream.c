/* core/session_stream.c — reading a session of any layout a piece at a time: the file in
 * chunks, the top-level object token by token, each element of "nodes" parsed as it comes
 * by a strict parser (jansson for any element it does not take), the other top-level
 * members gathered into a small document for jansson; so a huge session never exists as
 * one JSON document in memory, and newlines or key order do not matter. */
#include "core/session_impl.h"
#include "core/jscan.h"
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

/* ---- a strict parser for the node objects termloom writes ----
 * It accepts only the known node fields, each decoded by core/jscan exactly as jansson
 * would; anything else makes it give up (0), and the element goes through jansson, which
 * then gives the real answer or the real error message. */

typedef struct {
    jscan_bytes text, pool, word;
    tree_token *tok;
    size_t      ntok, cap_tok;
    tree_piece *top;
    size_t      ntop, cap_top;
    int32_t    *ch;
    size_t      nch, cap_ch;
    /* the fields termloom does not know, in the element's order, each parsed by jansson */
    struct { const char *k; size_t kl; json_t *v; } *unk;
    size_t      nunk, cap_unk;
} scratch;

static void unknown_clear(scratch *S)
{
    for (size_t i = 0; i < S->nunk; i++)
        json_decref(S->unk[i].v);
    S->nunk = 0;
}

static void scratch_free(scratch *S)
{
    unknown_clear(S);
    free(S->unk);
    free(S->text.b);
    free(S->pool.b);
    free(S->word.b);
    free(S->tok);
    free(S->top);
    free(S->ch);
    memset(S, 0, sizeof *S);
}

static int p_id(jscan_cur *c, int32_t *id, int allow_null)
{
    double d;
    int is_int;
    long long v;
    if (allow_null && jscan_lit(c, "null", 4)) {
        *id = TREE_NONE;
        return 1;
    }
    if (!jscan_num(c, &d, &is_int, &v) || !is_int || v < 0 || v >= INT32_MAX)
        return 0;
    *id = (int32_t)v;
    return 1;
}

static int p_logprob(jscan_cur *c, float *lp)
{
    double d;
    int is_int;
    long long v;
    if (jscan_lit(c, "null", 4)) {
        *lp = NAN;
        return 1;
    }
    if (!jscan_num(c, &d, &is_int, &v))
        return 0;
    *lp = (float)d;
    return 1;
}

/* "bytes": [0-255, ...] into the pool (NUL-terminated); its offset and length. */
static int p_bytes(jscan_cur *c, jscan_bytes *pool, size_t *off, size_t *len)
{
    if (!jscan_eat(c, '['))
        return 0;
    *off = pool->n;
    if (!jscan_eat(c, ']')) {
        do {
            double d;
            int is_int;
            long long v;
            if (!jscan_num(c, &d, &is_int, &v) || !is_int || v < 0 || v > 255)
                return 0;
            jscan_bytes_need(pool, 1);
            pool->b[pool->n++] = (char)v;
        } while (jscan_eat(c, ','));
        if (!jscan_eat(c, ']'))
            return 0;
    }
    *len = pool->n - *off;
    if (pool->n >= UINT32_MAX)
        return 0;
    jscan_bytes_need(pool, 1);
    pool->b[pool->n++] = 0;
    return 1;
}

/* {"text": ...[, "bytes": [...]], "logprob": ...[, "top": [...]]} in any key order, into the
 * scratch pool; "bytes", when present, are the piece's exact bytes. */
static int p_piece(jscan_cur *c, scratch *S, tree_piece *pc, int allow_top, int64_t *top_first, uint32_t *ntop,
                   float *entropy)
{
    if (!jscan_eat(c, '{'))
        return 0;
    int seen = 0;
    size_t boff = 0, blen = 0;
    pc->logprob = NAN;
    if (jscan_eat(c, '}'))
        return 0;                               /* text is required */
    do {
        const char *k;
        size_t kl;
        if (!jscan_key(c, &k, &kl))
            return 0;
        if (JSCAN_KEY_IS(k, kl, "text") && !(seen & 1)) {
            size_t at = S->pool.n;
            if (!jscan_str(c, &S->pool))
                return 0;
            if (S->pool.n - at >= UINT32_MAX || at >= UINT32_MAX)
                return 0;
            pc->off = (uint32_t)at;
            pc->len = (uint32_t)(S->pool.n - at);
            jscan_bytes_need(&S->pool, 1);
            S->pool.b[S->pool.n++] = 0;
            seen |= 1;
        } else if (JSCAN_KEY_IS(k, kl, "bytes") && !(seen & 16)) {
            if (!p_bytes(c, &S->pool, &boff, &blen))
                return 0;
            seen |= 16;
        } else if (JSCAN_KEY_IS(k, kl, "logprob") && !(seen & 2)) {
            if (!p_logprob(c, &pc->logprob))
                return 0;
            seen |= 2;
        } else if (allow_top && JSCAN_KEY_IS(k, kl, "entropy") && !(seen & 8)) {
            if (!p_logprob(c, entropy))
                return 0;
            seen |= 8;
        } else if (allow_top && JSCAN_KEY_IS(k, kl, "top") && !(seen & 4)) {
            seen |= 4;
            *top_first = (int64_t)S->ntop;
            if (!jscan_eat(c, '['))
                return 0;
            if (!jscan_eat(c, ']')) {
                do {
                    xgrow(&S->top, &S->cap_top, S->ntop + 1, sizeof *S->top);
                    tree_piece tp;
                    if (!p_piece(c, S, &tp, 0, NULL, NULL, NULL))
                        return 0;
                    S->top[S->ntop++] = tp;
                } while (jscan_eat(c, ','));
                if (!jscan_eat(c, ']'))
                    return 0;
            }
            *ntop = (uint32_t)(S->ntop - (size_t)*top_first);
        } else
            return 0;
    } while (jscan_eat(c, ','));
    pc->logprob = tree_logprob(pc->logprob);
    if (seen & 16) {                            /* the exact bytes win over the text */
        pc->off = (uint32_t)boff;
        pc->len = (uint32_t)blen;
        seen |= 1;
    }
    return (seen & 1) && jscan_eat(c, '}');
}

static int p_tokens(jscan_cur *c, scratch *S)
{
    if (!jscan_eat(c, '['))
        return 0;
    if (jscan_eat(c, ']'))
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
    } while (jscan_eat(c, ','));
    return jscan_eat(c, ']');
}

/* An exactly sized copy (at least one byte, so that the pointer is never NULL). */
/* A field termloom does not know (kept in node->extra): its value's extent, then jansson's
 * parse of just those bytes, with the flags the element's parse has.  A key seen twice
 * (jansson refuses duplicates), nesting deep enough to meet jansson's limit, or anything
 * jansson will not take gives the element to jansson, which says what is wrong. */
static int p_unknown(jscan_cur *c, scratch *S, const char *k, size_t kl)
{
    for (size_t i = 0; i < S->nunk; i++)
        if (S->unk[i].kl == kl && !memcmp(S->unk[i].k, k, kl))
            return 0;
    jscan_ws(c);
    const char *v0 = c->p, *p = c->p;
    jscan_skip_st st = {0};
    if (jscan_skip(&st, &p, c->end, 1000) != 1)
        return 0;
    json_error_t e;
    json_t *v = json_loadb(v0, (size_t)(p - v0), SESSION_JFLAGS | JSON_DECODE_ANY, &e);
    if (!v)
        return 0;
    xgrow(&S->unk, &S->cap_unk, S->nunk + 1, sizeof *S->unk);
    S->unk[S->nunk].k = k;
    S->unk[S->nunk].kl = kl;
    S->unk[S->nunk++].v = v;
    c->p = p;
    return 1;
}

static void *copy_of(const void *src, size_t n)
{
    void *p = xmalloc(n ? n : 1);
    if (n)
        memcpy(p, src, n);
    return p;
}

/* One element of "nodes" starting at *at (after whitespace) into a pending node; *at moves
 * past its closing brace.  1 done, 0 give the element to jansson (also when it does not
 * end before end). */
static int fast_node(session_loader *L, scratch *S, const char **at, const char *end)
{
    jscan_cur c = { *at, end };
    S->text.n = S->pool.n = S->ntok = S->ntop = S->nch = 0;
    unknown_clear(S);
    int32_t id = TREE_NONE, parent = TREE_NONE;
    uint8_t origin = 0, marks = 0, flags = 0;
    uint32_t model = 0, finish = 0;
    int64_t created = 0;
    uint32_t vocab = 0;
    unsigned seen = 0;
    enum { K_ID = 1, K_PARENT = 2, K_ORIGIN = 4, K_TEXT = 8, K_CHILDREN = 16, K_MODEL = 32,
           K_FINISH = 64, K_MARKS = 128, K_VISITED = 256, K_INCOMPLETE = 512, K_CREATED = 1024,
           K_TOKENS = 2048, K_VOCAB = 4096, K_FOLDED = 8192 };
    if (!jscan_eat(&c, '{'))
        return 0;
    do {
        const char *k;
        size_t kl;
        unsigned bit;
        if (!jscan_key(&c, &k, &kl))
            return 0;
        if (JSCAN_KEY_IS(k, kl, "id")) {
            bit = K_ID;
            if (!p_id(&c, &id, 0))
                return 0;
        } else if (JSCAN_KEY_IS(k, kl, "parent")) {
            bit = K_PARENT;
            if (!p_id(&c, &parent, 1))
                return 0;
        } else if (JSCAN_KEY_IS(k, kl, "origin")) {
            bit = K_ORIGIN;
            tree_origin org;
            S->word.n = 0;
            if (!jscan_str(&c, &S->word) || memchr(S->word.b, 0, S->word.n))
                return 0;
            S->word.b[S->word.n] = 0;           /* p_str reserved room for it */
            if (tree_origin_parse(S->word.b, &org) < 0)
                return 0;
            origin = (uint8_t)org;
        } else if (JSCAN_KEY_IS(k, kl, "text")) {
            bit = K_TEXT;
            if (!jscan_str(&c, &S->text) || S->text.n >= UINT32_MAX)
                return 0;
        } else if (JSCAN_KEY_IS(k, kl, "children")) {
            bit = K_CHILDREN;
            if (!jscan_eat(&c, '['))
                return 0;
            if (!jscan_eat(&c, ']')) {
                do {
                    xgrow(&S->ch, &S->cap_ch, S->nch + 1, sizeof *S->ch);
                    if (!p_id(&c, &S->ch[S->nch++], 0))
                        return 0;
                } while (jscan_eat(&c, ','));
                if (!jscan_eat(&c, ']'))
                    return 0;
            }
        } else if (JSCAN_KEY_IS(k, kl, "model") || JSCAN_KEY_IS(k, kl, "finish_reason")) {
            bit = k[0] == 'm' ? K_MODEL : K_FINISH;
            S->word.n = 0;
            if (!jscan_str(&c, &S->word) || memchr(S->word.b, 0, S->word.n))
                return 0;
            S->word.b[S->word.n] = 0;
            uint32_t h = tree_intern(L->t, S->word.b);
            if (bit == K_MODEL)
                model = h;
            else
                finish = h;
        } else if (JSCAN_KEY_IS(k, kl, "marks")) {
            bit = K_MARKS;
            if (!jscan_eat(&c, '['))
                return 0;
            if (!jscan_eat(&c, ']')) {
                do {
                    if (jscan_lit(&c, "\"attractor\"", 11))
                        marks |= TREE_MARK_ATTRACTOR;
                    else if (jscan_lit(&c, "\"bookmark\"", 10))
                        marks |= TREE_MARK_BOOKMARK;
                    else
                        return 0;
                } while (jscan_eat(&c, ','));
                if (!jscan_eat(&c, ']'))
                    return 0;
            }
        } else if (JSCAN_KEY_IS(k, kl, "visited") || JSCAN_KEY_IS(k, kl, "incomplete") || JSCAN_KEY_IS(k, kl, "folded")) {
            bit = k[0] == 'v' ? K_VISITED : k[0] == 'i' ? K_INCOMPLETE : K_FOLDED;
            uint8_t f = k[0] == 'v' ? TREE_FLAG_VISITED : k[0] == 'i' ? TREE_FLAG_INCOMPLETE : TREE_FLAG_FOLDED;
            if (jscan_lit(&c, "true", 4))
                flags |= f;
            else if (!jscan_lit(&c, "false", 5))
                return 0;
        } else if (JSCAN_KEY_IS(k, kl, "created")) {
            bit = K_CREATED;
            double d;
            int is_int;
            long long v;
            if (!jscan_num(&c, &d, &is_int, &v) || !is_int)
                return 0;
            created = v;
        } else if (JSCAN_KEY_IS(k, kl, "vocab")) {
            bit = K_VOCAB;
            double d;
            int is_int;
            long long v;
            if (!jscan_num(&c, &d, &is_int, &v) || !is_int || v < 0 || v > 0xffffffffLL)
                return 0;
            vocab = (uint32_t)v;
        } else if (JSCAN_KEY_IS(k, kl, "tokens")) {
            bit = K_TOKENS;
            if (!p_tokens(&c, S))
                return 0;
        } else if (!p_unknown(&c, S, k, kl))
            return 0;
        else
            bit = 0;
        if (seen & bit)
            return 0;                           /* a duplicate key: jansson's error */
        seen |= bit;
    } while (jscan_eat(&c, ','));
    if (!jscan_eat(&c, '}'))
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
        tree_node_share_texts(n);               /* a full distribution's texts once */
    }
    for (size_t i = 0; i < S->nunk; i++) {      /* as session_node_from_json keeps them */
        if (JSCAN_KEY_IS(S->unk[i].k, S->unk[i].kl, "api_key")) {
            json_decref(S->unk[i].v);
            continue;
        }
        if (!n->extra)
            n->extra = json_object();
        json_object_setn_new(n->extra, S->unk[i].k, S->unk[i].kl, S->unk[i].v);
    }
    S->nunk = 0;
    *at = c.p;
    return 1;
}


/* ---- the document a piece at a time ----
 * Offsets are counted from the start of the input; src->buf holds [base, base + len). */

static inline const char *at(const session_src *S, size_t off)
{
    return (S->mem ? S->mem : S->buf) + (off - S->base);
}

static inline size_t held_end(const session_src *S)
{
    return S->base + S->len;
}

/* More input after what is held (the bytes before S->keep may go): 1 some, 0 the end, -1 a
 * read error (S->err). */
static int more(session_src *S)
{
    if (S->mem || S->eof)
        return 0;
    if (S->keep > S->base) {
        size_t drop = S->keep - S->base;
        memmove(S->buf, S->buf + drop, S->len - drop);
        S->len -= drop;
        S->base += drop;
    }
    if (S->len == S->cap) {
        size_t cap = S->cap;
        xgrow(&S->buf, &cap, S->cap * 2, 1);
        S->cap = cap;
    }
    for (;;) {
        ssize_t r = read(S->fd, S->buf + S->len, S->cap - S->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            S->err = errno;
            return -1;
        }
        if (r == 0) {
            S->eof = 1;
            return 0;
        }
        S->len += (size_t)r;
        return 1;
    }
}

/* Past whitespace: 1 at a byte, 0 at the end of the input, -1 read error. */
static int skip_ws(session_src *S, size_t *pos)
{
    for (;;) {
        const char *p = at(S, *pos), *e = at(S, held_end(S));
        while (p < e && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
            p++;
        *pos = held_end(S) - (size_t)(e - p);
        if (p < e)
            return 1;
        int r = more(S);
        if (r <= 0)
            return r;
    }
}

/* The end of the value starting at start (a byte is held there): 1 with *end, 0 when the
 * input ends inside it or it nests deeper than jansson allows (depth: the levels already
 * open around it), -1 read error.  Only the extent is found; a parser checks the rest. */
static int value_end(session_src *S, size_t start, int depth, size_t *end)
{
    jscan_skip_st st = {0};
    size_t p = start;
    for (;;) {
        const char *b = at(S, p), *q = b;
        int r = jscan_skip(&st, &q, at(S, held_end(S)), JSON_PARSER_MAX_DEPTH - depth);
        p += (size_t)(q - b);
        if (r != 0) {
            *end = p;
            return r > 0;
        }
        if ((r = more(S)) < 0)
            return -1;
        if (r == 0) {                               /* the input ends: only a scalar is whole */
            *end = p;
            return st.first != '{' && st.first != '[' && st.first != '"';
        }
    }
}

/* The reader's place in the document between calls of session_stream_step. */
struct session_stream {
    session_src *S;
    buf     head;          /* the top-level members other than "nodes", as bytes */
    scratch X;
    size_t  pos, index, members;
    int     nodes_seen, fast, started, in_nodes, done;
};

session_stream *session_stream_new(session_src *S)
{
    session_stream *st = xcalloc(1, sizeof *st);
    const char *how = getenv("TERMLOOM_SESSION_PARSER");   /* test hook, see session.c */
    st->fast = !how || strcmp(how, "jansson");
    st->S = S;
    st->pos = S->base;
    S->keep = st->pos;
    return st;
}

void session_stream_free(session_stream *st)
{
    if (!st)
        return;
    scratch_free(&st->X);
    buf_free(&st->head);
    free(st);
}

size_t session_stream_offset(const session_stream *st) { return st->pos; }

int session_stream_in_nodes(const session_stream *st, const char **head, size_t *len)
{
    *head = st->head.data;
    *len = st->head.len;
    return st->in_nodes;
}

/* 2: max_nodes elements of "nodes" read and more to come (call again); 1: the document is
 * read, *doc its top-level members but "nodes" (the caller owns it); 0: not for this
 * reader (invalid JSON, an escaped top-level key, a second "nodes"), use the
 * whole-document parse; -1: read error. */
int session_stream_step(session_stream *st, session_loader *L, size_t max_nodes, json_t **doc)
{
    session_src *S = st->S;
    buf *head = &st->head;
    scratch *X = &st->X;
    size_t pos = st->pos, index = st->index, members = st->members, v_end, budget = max_nodes;
    int nodes_seen = st->nodes_seen, fast = st->fast, w = 0, result = 0;
    *doc = NULL;
    if (st->done)
        return 0;
#define WS() do { if ((w = skip_ws(S, &pos)) <= 0) goto out; } while (0)
#define END_OF(start, depth) do { \
        if ((w = value_end(S, (start), (depth), &v_end)) <= 0) goto out; } while (0)
    if (st->in_nodes)
        goto next_node;
    if (st->started)
        goto out;                                                /* cannot happen */
    st->started = 1;
    WS();
    if (*at(S, pos) != '{')
        goto out;
    pos++;
    buf_addc(head, '{');
    WS();
    if (*at(S, pos) == '}') {
        pos++;
        goto top_closed;
    }
    for (;;) {
        WS();
        size_t kstart = pos;
        S->keep = kstart;
        if (*at(S, pos) != '"')
            goto out;
        for (pos++;;) {                                          /* the key: no escapes */
            if (pos >= held_end(S) && (w = more(S)) <= 0)
                goto out;
            char c = *at(S, pos);
            if (c == '\\' || (unsigned char)c < 0x20)
                goto out;
            pos++;
            if (c == '"')
                break;
        }
        size_t kend = pos;
        int is_nodes = kend - kstart == 7 && !memcmp(at(S, kstart), "\"nodes\"", 7);
        WS();
        if (*at(S, pos) != ':')
            goto out;
        pos++;
        WS();
        if (members++)
            buf_addc(head, ',');
        if (is_nodes && nodes_seen++)
            goto out;                                            /* jansson: a duplicate key */
        if (is_nodes && *at(S, pos) == '[') {
            buf_adds(head, "\"nodes\":[]");
            pos++;
            WS();
            if (*at(S, pos) == ']')
                pos++;
            else
                for (;;) {
                    S->keep = pos;
                    const char *p0 = at(S, pos), *q = p0;
                    int ok = fast && fast_node(L, X, &q, at(S, held_end(S)));
                    int have_end = 0;
                    if (!ok && fast && !S->mem && !S->eof) {     /* cut off by the buffer? */
                        size_t was = held_end(S);
                        END_OF(pos, 2);
                        have_end = 1;
                        if (v_end > was) {
                            p0 = q = at(S, pos);
                            ok = fast_node(L, X, &q, at(S, v_end)) && q == at(S, v_end);
                        }
                    }
                    if (ok) {
                        pos += (size_t)(q - p0);
                    } else {
                        if (!have_end)
                            END_OF(pos, 2);
                        json_error_t e;
                        json_t *node = json_loadb(at(S, pos), v_end - pos, SESSION_JFLAGS | JSON_DECODE_ANY, &e);
                        if (!node)
                            goto out;
                        session_node_from_json(L, node, index);
                        json_decref(node);
                        pos = v_end;
                    }
                    index++;
                    S->keep = pos;
                    WS();
                    char c = *at(S, pos++);
                    if (c == ']')
                        break;
                    if (c != ',')
                        goto out;
                    if (max_nodes && !--budget) {                /* a slice's worth: pause */
                        st->in_nodes = 1;
                        result = 2;
                        goto out;
                    }
                next_node:
                    WS();
                }
            st->in_nodes = 0;
        } else {
            END_OF(pos, 1);
            buf_add(head, at(S, kstart), kend - kstart);
            buf_addc(head, ':');
            buf_add(head, at(S, pos), v_end - pos);
            pos = v_end;
        }
        S->keep = pos;
        WS();
        char c = *at(S, pos++);
        if (c == '}')
            break;
        if (c != ',')
            goto out;
    }
top_closed:
    S->keep = pos;
    if ((w = skip_ws(S, &pos)) != 0)                             /* only whitespace may follow */
        goto out;
    buf_addc(head, '}');
    json_error_t e;
    *doc = json_loadb(head->data, head->len, SESSION_JFLAGS, &e);
    result = *doc ? 1 : 0;
out:
#undef WS
#undef END_OF
    if (w < 0)
        result = -1;
    st->pos = pos;
    st->index = index;
    st->members = members;
    st->nodes_seen = nodes_seen;
    if (result != 2)
        st->done = 1;
    return result;
}

int session_load_stream(session_loader *L, session_src *S, session *s, int *rc)
{
    session_stream *st = session_stream_new(S);
    json_t *doc;
    int r = session_stream_step(st, L, 0, &doc);
    session_stream_free(st);
    if (r == 1) {
        *rc = session_finish(L, doc, s);
        json_decref(doc);
    }
    return r;
}
