/* core/session.c — see session.h.  Loading parses every node into a pending list first,
 * then checks the structure (ids, parents, children, root, cycles) and only then builds the
 * tree, so a bad file never leaves a half-loaded tree.  Writing: session_save.c; the
 * streaming reader: session_stream.c. */
#include "core/session_impl.h"
#include "core/journal.h"
#include "core/text.h"
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

void session_set_attractors(session *s, json_t *list)
{
    if (!list) {
        if (s->extra)
            json_object_del(s->extra, "attractors");
        return;
    }
    if (!s->extra)
        s->extra = json_object();
    json_object_set_new(s->extra, "attractors", list);
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



static int lfail(session_loader *L, const char *fmt, ...)
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

static void loader_free(session_loader *L)
{
    for (size_t i = 0; i < L->nnodes; i++)
        tree_node_release(&L->nodes[i].n);
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
        long tl = piece_bytes(tk, NULL);
        if (tl < 0) {
            lfail(L, "node %d: tokens[%zu].%s", id, i, json_object_get(tk, "bytes") ? "bytes is not a list of 0-255"
                  : text ? "text is not a string" : "text is missing");
            return -1;
        }
        if (lp && !json_is_number(lp) && !json_is_null(lp)) {
            lfail(L, "node %d: tokens[%zu].logprob is not a number", id, i);
            return -1;
        }
        json_t *h = json_object_get(tk, "entropy");
        if (h && !json_is_number(h) && !json_is_null(h)) {
            lfail(L, "node %d: tokens[%zu].entropy is not a number", id, i);
            return -1;
        }
        pool += (size_t)tl + 1;
        if (!top)
            continue;
        if (!json_is_array(top)) {
            lfail(L, "node %d: tokens[%zu].top is not an array", id, i);
            return -1;
        }
        for (size_t j = 0; j < json_array_size(top); j++) {
            json_t *a = json_array_get(top, j), *al;
            al = json_object_get(a, "logprob");
            long alen = json_is_object(a) ? piece_bytes(a, NULL) : -1;
            if (alen < 0 || (al && !json_is_number(al) && !json_is_null(al))) {
                lfail(L, "node %d: tokens[%zu].top[%zu] is not {\"text\": string, \"logprob\": number}", id, i, j);
                return -1;
            }
            pool += (size_t)alen + 1;
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
        lfail(L, "node %d: %s is not true or false", id, key);
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
        } else if (!strcmp(key, "folded")) {
            if (set_flag(L, id, key, v, n, TREE_FLAG_FOLDED) < 0)
                return -1;
        } else if (!strcmp(key, "vocab")) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0xffffffffLL)
                return lfail(L, "node %d: vocab is not a vocabulary size", id);
            n->vocab = (uint32_t)json_integer_value(v);
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

static int settings_from_json(session_loader *L, json_t *obj, header *h)
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
                if (*st && settings_add_stop(&h->settings, st, err, sizeof err) < 0) {
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

static int header_from_json(session_loader *L, json_t *doc, header *h)
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

static tree_node *pending_node(session_loader *L, const int32_t *idx, size_t slots, int32_t id)
{
    return id >= 0 && (size_t)id < slots && idx[id] >= 0 ? &L->nodes[idx[id]].n : NULL;
}

/* The pending nodes → a checked tree in s.  -1 with L->msg on any structural problem.
 * live: the nodes are in L->t already (session_open.c attached them as they came, s->t is
 * that tree); only each node's children, in the order the file lists them, move in. */
static int build(session_loader *L, header *h, session *s, int live)
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
    if (live) {
        for (size_t id = 0; id < slots; id++) {
            tree_node *src = idx[id] >= 0 ? &L->nodes[idx[id]].n : NULL, *dst = tree_get(t, (int32_t)id);
            if (!src)
                continue;
            if (!dst) {                        /* checked above: every node hangs from the root */
                lfail(L, "node %d was not attached while loading", (int)id);
                goto out;
            }
            free(dst->children);
            dst->children = src->children;
            dst->nchildren = src->nchildren;
            dst->cap_children = src->cap_children;
            src->children = NULL;
            src->nchildren = src->cap_children = 0;
        }
    }
    L->t = NULL;
    for (size_t id = 0; id < slots && !live; id++) {
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
    if (!live) {
        tree_free(s->t);
        s->t = t;
    }
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

static void json_problem(session_loader *L, const json_error_t *e)
{
    if (json_error_code(e) == json_error_invalid_utf8)
        lfail(L, "invalid UTF-8 at line %d column %d (byte %d)", e->line, e->column, e->position);
    else if (json_error_code(e) == json_error_out_of_memory)
        lfail(L, "too large to load (out of memory)");
    else
        lfail(L, "not valid JSON at line %d column %d: %s", e->line, e->column, e->text);
}

static void loader_init(session_loader *L, const char *name)
{
    memset(L, 0, sizeof *L);
    L->name = name;
    L->t = tree_new();
}

void session_loader_init(session_loader *L, const char *name) { loader_init(L, name); }
void session_loader_free(session_loader *L) { loader_free(L); }

int session_header_settings(session_loader *L, json_t *doc, gen_settings *out)
{
    header h;
    memset(&h, 0, sizeof h);
    settings_init(&h.settings);
    json_t *obj = json_object_get(doc, "settings");
    int rc = obj ? settings_from_json(L, obj, &h) : 0;
    if (rc == 0) {
        settings_free(out);
        *out = h.settings;
        memset(&h.settings, 0, sizeof h.settings);
    }
    header_free(&h);
    return rc;
}

static int finish(session_loader *L, json_t *doc, session *s, int live);

int session_finish_live(session_loader *L, json_t *doc, session *s)
{
    return finish(L, doc, s, 1);
}

int session_finish(session_loader *L, json_t *doc, session *s)
{
    return finish(L, doc, s, 0);
}

/* Header checks, then nodes, then structure: the order both paths report problems in. */
static int finish(session_loader *L, json_t *doc, session *s, int live)
{
    header h;
    memset(&h, 0, sizeof h);
    settings_init(&h.settings);
    session_loader hl;                                 /* header problems win over node problems */
    memset(&hl, 0, sizeof hl);
    int rc = header_from_json(&hl, doc, &h);
    if (rc < 0) {
        L->bad = 0;
        lfail(L, "%s", hl.msg);
    } else if (!L->bad)
        rc = build(L, &h, s, live);
    else
        rc = -1;
    header_free(&h);
    return L->bad ? -1 : rc;
}

/* Test hook: TERMLOOM_SESSION_PARSER=document skips the streaming reader, =jansson keeps it
 * but parses each node with jansson; tests compare all three. */
static int whole_document_only(void)
{
    const char *how = getenv("TERMLOOM_SESSION_PARSER");
    return how && !strcmp(how, "document");
}

/* =stream: no whole-document parse after the streaming reader; tests check with it that a
 * layout is read by the streaming reader itself. */
static int stream_only(session_loader *L)
{
    const char *how = getenv("TERMLOOM_SESSION_PARSER");
    if (!how || strcmp(how, "stream"))
        return 0;
    lfail(L, "left to the whole-document parse (TERMLOOM_SESSION_PARSER=stream)");
    return 1;
}

static int load_doc(session_loader *L, json_t *doc, session *s)
{
    json_t *nodes = json_object_get(doc, "nodes");
    if (json_is_object(doc) && json_is_array(nodes))
        for (size_t i = 0; i < json_array_size(nodes) && !L->bad; i++)
            session_node_from_json(L, json_array_get(nodes, i), i);
    return session_finish(L, doc, s);
}

/* Messages quote input (jansson's "near '...'"): keep them one printable line. */
static void one_line(char *m)
{
    unsigned char *p = (unsigned char *)m;
    while (*p) {
        size_t k = *p >= 0x80 ? text_utf8_seq((const char *)p, strlen((char *)p)) : 1;
        if (*p < 0x20 || *p == 0x7f || !k) {
            *p++ = '?';
            continue;
        }
        p += k;
    }
}

static int load_result(session_loader *L, session *s, int rc, char *err, size_t errlen)
{
    if (rc < 0) {
        one_line(L->msg);
        snprintf(err, errlen, "%s: %s", L->name, L->msg);
        session_free(s);
        session_init(s);
    }
    const char *name = L->name;
    loader_free(L);
    if (rc >= 0)
        journal_replay(s, name, NULL, 0);     /* changes autosaved since (journal.h) */
    return rc < 0 ? -1 : 0;
}

/* The whole-document parse holds the file and jansson's tree of it at once: beyond
 * MEM_FILE_MAX only the streaming reader reads a file. */
static int too_large_whole(session_loader *L, size_t len)
{
    if (len <= MEM_FILE_MAX)
        return 0;
    lfail(L, "not readable a node at a time (invalid JSON, or a layout such as an escaped "
          "top-level key) and too large to parse whole (%zu bytes; the limit for that is %zu MiB)",
          len, MEM_FILE_MAX >> 20);
    return 1;
}

int session_load_mem(session *s, const char *data, size_t len, const char *name,
                     char *err, size_t errlen)
{
    session_loader L;
    loader_init(&L, name);
    int rc = -1;
    if (len > SESSION_MAX_BYTES) {
        lfail(&L, "file is too large (%zu bytes; the limit is %zu MiB)", len, SESSION_MAX_BYTES >> 20);
        return load_result(&L, s, -1, err, errlen);
    }
    session_src src = { .mem = data, .len = len, .fd = -1, .eof = 1 };
    if (!whole_document_only() && session_load_stream(&L, &src, s, &rc) == 1)
        return load_result(&L, s, rc, err, errlen);
    loader_free(&L);
    loader_init(&L, name);
    if (stream_only(&L) || too_large_whole(&L, len))
        return load_result(&L, s, -1, err, errlen);
    json_error_t e;
    json_t *doc = json_loadb(data, len, SESSION_JFLAGS, &e);
    if (!doc) {
        json_problem(&L, &e);
        return load_result(&L, s, -1, err, errlen);
    }
    rc = load_doc(&L, doc, s);
    json_decref(doc);
    return load_result(&L, s, rc, err, errlen);
}

/* jansson's json_loadfd reads one byte per system call (52 million calls for a 50 MB file
 * in another layout); this hands it whole chunks. */
static size_t read_chunk(void *buffer, size_t len, void *data)
{
    int fd = *(int *)data;
    for (;;) {
        ssize_t r = read(fd, buffer, len);
        if (r >= 0)
            return (size_t)r;
        if (errno != EINTR)
            return (size_t)-1;
    }
}

int session_load(session *s, const char *path, char *err, size_t errlen)
{
    session_loader L;
    loader_init(&L, path);
    char oerr[600];
    int fd = mem_open_input(path, SESSION_MAX_BYTES, oerr, sizeof oerr);
    if (fd < 0) {
        size_t pl = strlen(path);
        const char *why = !strncmp(oerr, path, pl) && oerr[pl] == ':' ? oerr + pl + 2 : oerr;
        lfail(&L, "%s", !strcmp(why, "is a directory") ? "is a directory, not a session file" : why);
        return load_result(&L, s, -1, err, errlen);
    }
    session_src src = { .fd = fd, .cap = 1u << 20 };
    src.buf = xmalloc(src.cap);
    int rc = -1, r = whole_document_only() ? 0 : session_load_stream(&L, &src, s, &rc);
    free(src.buf);
    if (r == 1 || r < 0) {
        close(fd);
        if (r < 0)
            lfail(&L, "cannot read: %s", strerror(src.err));
        return load_result(&L, s, r < 0 ? -1 : rc, err, errlen);
    }
    /* Not for the streaming reader (invalid JSON, rare constructs): the whole document. */
    loader_free(&L);
    loader_init(&L, path);
    struct stat st;
    if (stream_only(&L) || (fstat(fd, &st) == 0 && too_large_whole(&L, (size_t)st.st_size))) {
        close(fd);
        return load_result(&L, s, -1, err, errlen);
    }
    json_error_t e;
    memset(&e, 0, sizeof e);
    if (lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        lfail(&L, "cannot read it from the start again (not a regular file?)");
        return load_result(&L, s, -1, err, errlen);
    }
    json_t *doc = json_load_callback(read_chunk, &fd, SESSION_JFLAGS, &e);
    close(fd);
    if (!doc) {
        json_problem(&L, &e);
        return load_result(&L, s, -1, err, errlen);
    }
    rc = load_doc(&L, doc, s);
    json_decref(doc);
    return load_result(&L, s, rc, err, errlen);
}
