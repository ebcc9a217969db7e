/* core/session_node.c — one element of "nodes" through jansson (session_node_from_json):
 * every field checked, with the message a bad one gets.  The streaming reader's strict
 * parser (session_stream.c) hands this any element it does not take, and must agree with
 * it on every input (tests/unit/test_session_layouts.c, the session fuzzer). */
#include "core/session_impl.h"
#include "core/text.h"
#include "core/mem.h"
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* An id-valued field: 1 ok (TREE_NONE for null when allow_null), 0 wrong type/range. */
int session_json_id(json_t *v, int allow_null, int32_t *out_id)
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

/* A piece's exact bytes: its "bytes" array (each 0-255) when it has one, else its text.
 * Returns the length, or -1 when neither is usable; copies into dst when dst is set. */
static long piece_bytes(json_t *piece, char *dst)
{
    json_t *b = json_object_get(piece, "bytes"), *v;
    size_t i;
    if (json_is_array(b)) {
        json_array_foreach(b, i, v)
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255)
                return -1;
        if (dst)
            json_array_foreach(b, i, v)
                dst[i] = (char)json_integer_value(v);
        return (long)json_array_size(b);
    }
    json_t *t = json_object_get(piece, "text");
    if (!json_is_string(t))
        return -1;
    if (dst)
        memcpy(dst, json_string_value(t), json_string_length(t));
    return (long)json_string_length(t);
}

/* tokens: [{"text", "bytes", "logprob", "entropy", "top": [{"text", "bytes", "logprob"}]}]
 * into n's arrays, sized exactly. */
static int tokens_from_json(session_loader *L, int32_t id, json_t *arr, tree_node *n)
{
    if (!json_is_array(arr)) {
        session_lfail(L, "node %d: tokens is not an array", id);
        return -1;
    }
    size_t ntok = json_array_size(arr), ntops = 0, pool = 0;
    for (size_t i = 0; i < ntok; i++) {
        json_t *tk = json_array_get(arr, i), *text, *lp, *top;
        if (!json_is_object(tk)) {
            session_lfail(L, "node %d: tokens[%zu] is not an object", id, i);
            return -1;
        }
        text = json_object_get(tk, "text");
        lp = json_object_get(tk, "logprob");
        top = json_object_get(tk, "top");
        long tl = piece_bytes(tk, NULL);
        if (tl < 0) {
            session_lfail(L, "node %d: tokens[%zu].%s", id, i, json_object_get(tk, "bytes") ? "bytes is not a list of 0-255"
                  : text ? "text is not a string" : "text is missing");
            return -1;
        }
        if (lp && !json_is_number(lp) && !json_is_null(lp)) {
            session_lfail(L, "node %d: tokens[%zu].logprob is not a number", id, i);
            return -1;
        }
        json_t *h = json_object_get(tk, "entropy");
        if (h && !json_is_number(h) && !json_is_null(h)) {
            session_lfail(L, "node %d: tokens[%zu].entropy is not a number", id, i);
            return -1;
        }
        pool += (size_t)tl + 1;
        if (!top)
            continue;
        if (!json_is_array(top)) {
            session_lfail(L, "node %d: tokens[%zu].top is not an array", id, i);
            return -1;
        }
        for (size_t j = 0; j < json_array_size(top); j++) {
            json_t *a = json_array_get(top, j), *al;
            al = json_object_get(a, "logprob");
            long alen = json_is_object(a) ? piece_bytes(a, NULL) : -1;
            if (alen < 0 || (al && !json_is_number(al) && !json_is_null(al))) {
                session_lfail(L, "node %d: tokens[%zu].top[%zu] is not {\"text\": string, \"logprob\": number}", id, i, j);
                return -1;
            }
            pool += (size_t)alen + 1;
            ntops++;
        }
    }
    if (pool >= UINT32_MAX || ntok >= UINT32_MAX || ntops >= UINT32_MAX) {
        session_lfail(L, "node %d: too many tokens", id);
        return -1;
    }
    n->tokens = xmalloc((ntok ? ntok : 1) * sizeof *n->tokens);
    n->tops = xmalloc((ntops ? ntops : 1) * sizeof *n->tops);
    n->pool = xmalloc(pool ? pool : 1);
    n->cap_tokens = (uint32_t)ntok;
    n->cap_tops = (uint32_t)ntops;
    n->pool_cap = (uint32_t)pool;
    for (size_t i = 0; i < ntok; i++) {
        json_t *tk = json_array_get(arr, i);
        json_t *top = json_object_get(tk, "top");
        tree_token *t = &n->tokens[n->ntokens++];
        size_t len = (size_t)piece_bytes(tk, n->pool + n->pool_len);
        t->tok.off = n->pool_len;
        t->tok.len = (uint32_t)len;
        n->pool[n->pool_len + len] = 0;
        n->pool_len += (uint32_t)len + 1;
        json_t *lp = json_object_get(tk, "logprob"), *h = json_object_get(tk, "entropy");
        t->tok.logprob = NAN;
        if (lp)
            get_logprob(lp, &t->tok.logprob);
        t->tok.logprob = tree_logprob(t->tok.logprob);
        t->entropy = NAN;
        if (h)
            get_logprob(h, &t->entropy);
        t->top = n->ntops;
        t->ntop = (uint32_t)json_array_size(top);
        for (size_t j = 0; j < t->ntop; j++) {
            json_t *a = json_array_get(top, j);
            json_t *al = json_object_get(a, "logprob");
            tree_piece *p = &n->tops[n->ntops++];
            size_t alen = (size_t)piece_bytes(a, n->pool + n->pool_len);
            p->off = n->pool_len;
            p->len = (uint32_t)alen;
            n->pool[n->pool_len + alen] = 0;
            n->pool_len += (uint32_t)alen + 1;
            p->logprob = NAN;
            if (al)
                get_logprob(al, &p->logprob);
            p->logprob = tree_logprob(p->logprob);
        }
    }
    tree_node_share_texts(n);
    return 0;
}

static int set_flag(session_loader *L, int32_t id, const char *key, json_t *v, tree_node *n, uint8_t flag)
{
    if (!json_is_boolean(v)) {
        session_lfail(L, "node %d: %s is not true or false", id, key);
        return -1;
    }
    if (json_is_true(v))
        n->flags |= flag;
    return 0;
}

/* One element of "nodes" into a pending node. */
int session_node_from_json(session_loader *L, json_t *o, size_t index)
{
    if (L->bad)
        return -1;
    if (!json_is_object(o))
        return session_lfail(L, "nodes[%zu] is not an object", index);
    json_t *jid = json_object_get(o, "id");
    int32_t id;
    if (!jid)
        return session_lfail(L, "nodes[%zu]: id is missing", index);
    if (!session_json_id(jid, 0, &id))
        return session_lfail(L, "nodes[%zu]: id is not a node id (a whole number from 0)", index);
    static const char *const required[] = { "parent", "origin", "text", "children" };
    for (size_t i = 0; i < 4; i++)
        if (!json_object_get(o, required[i]))
            return session_lfail(L, "node %d: %s is missing", id, required[i]);
    xgrow(&L->nodes, &L->cap, L->nnodes + 1, sizeof *L->nodes);
    session_pending *pn = &L->nodes[L->nnodes++];
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
            if (!session_json_id(v, 1, &n->parent))
                return session_lfail(L, "node %d: parent is not a node id or null", id);
        } else if (!strcmp(key, "origin")) {
            tree_origin org;
            if (!json_is_string(v))
                return session_lfail(L, "node %d: origin is not a string", id);
            if (tree_origin_parse(json_string_value(v), &org) < 0)
                return session_lfail(L, "node %d: unknown origin '%.40s'", id, json_string_value(v));
            n->origin = (uint8_t)org;
        } else if (!strcmp(key, "text")) {
            if (!json_is_string(v))
                return session_lfail(L, "node %d: text is not a string", id);
            size_t len = json_string_length(v);
            if (len >= UINT32_MAX)
                return session_lfail(L, "node %d: text is too long", id);
            n->text = xstrndup(json_string_value(v), len);
            n->text_len = n->text_cap = (uint32_t)len;
            n->text_cap++;
        } else if (!strcmp(key, "children")) {
            if (!json_is_array(v))
                return session_lfail(L, "node %d: children is not an array", id);
            size_t nc = json_array_size(v);
            if (nc >= INT32_MAX)
                return session_lfail(L, "node %d: too many children", id);
            n->children = xmalloc((nc ? nc : 1) * sizeof *n->children);
            for (size_t i = 0; i < nc; i++)
                if (!session_json_id(json_array_get(v, i), 0, &n->children[i]))
                    return session_lfail(L, "node %d: children[%zu] is not a node id", id, i);
            n->nchildren = n->cap_children = (uint32_t)nc;
        } else if (!strcmp(key, "model") || !strcmp(key, "finish_reason")) {
            if (!json_is_string(v))
                return session_lfail(L, "node %d: %s is not a string", id, key);
            uint32_t h = tree_intern(L->t, json_string_value(v));
            if (key[0] == 'm')
                n->model = h;
            else
                n->finish = h;
        } else if (!strcmp(key, "marks")) {
            if (!json_is_array(v))
                return session_lfail(L, "node %d: marks is not an array", id);
            for (size_t i = 0; i < json_array_size(v); i++) {
                const char *m = json_string_value(json_array_get(v, i));
                if (m && !strcmp(m, "attractor"))
                    n->marks |= TREE_MARK_ATTRACTOR;
                else if (m && !strcmp(m, "bookmark"))
                    n->marks |= TREE_MARK_BOOKMARK;
                else
                    return session_lfail(L, "node %d: marks[%zu] is not \"attractor\" or \"bookmark\"", id, i);
            }
        } else if (!strcmp(key, "visited")) {
            if (set_flag(L, id, key, v, n, TREE_FLAG_VISITED) < 0)
                return -1;
        } else if (!strcmp(key, "incomplete")) {
            if (set_flag(L, id, key, v, n, TREE_FLAG_INCOMPLETE) < 0)
                return -1;
        } else if (!strcmp(key, "folded")) {
            if (set_flag(L, id, key, v, n, TREE_FLAG_FOLDED) < 0)
                return -1;
        } else if (!strcmp(key, "vocab")) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0xffffffffLL)
                return session_lfail(L, "node %d: vocab is not a vocabulary size", id);
            n->vocab = (uint32_t)json_integer_value(v);
        } else if (!strcmp(key, "created")) {
            if (!json_is_integer(v))
                return session_lfail(L, "node %d: created is not a whole number (unix seconds)", id);
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
