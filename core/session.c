/* core/session.c — see session.h.  Loading parses every node into a pending list first,
 * then checks the structure (ids, parents, children, root, cycles) and only then builds the
 * tree, so a bad file never leaves a half-loaded tree.  Writing: session_save.c; the
 * streaming reader: session_stream.c; a node through jansson: session_node.c. */
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



int session_lfail(session_loader *L, const char *fmt, ...)
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
        session_lfail(L, "settings is not an object");
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
                    session_lfail(L, "settings: stop[%zu] is not a string", i);
                    return -1;
                }
                if (*st && settings_add_stop(&h->settings, st, err, sizeof err) < 0) {
                    session_lfail(L, "settings: %s", err);
                    return -1;
                }
            }
            break;
        }
        if (!ok) {
            static const char *const want[] = { "a string", "a whole number", "a number", "true or false", "a list of strings", "a whole number" };
            session_lfail(L, "settings: %s is not %s", key, want[opt->type]);
            return -1;
        }
        if (text && settings_set(&h->settings, key, text, err, sizeof err) < 0) {
            session_lfail(L, "settings: %s", err);
            return -1;
        }
    }
    return 0;
}

static int header_from_json(session_loader *L, json_t *doc, header *h)
{
    if (!json_is_object(doc)) {
        session_lfail(L, "not a termloom session (the top level is not an object)");
        return -1;
    }
    json_t *fmt = json_object_get(doc, "format"), *ver = json_object_get(doc, "version");
    if (!fmt) {
        session_lfail(L, "not a termloom session (no \"format\" field)");
        return -1;
    }
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), SESSION_FORMAT)) {
        session_lfail(L, "not a termloom session (format is %s%.40s%s, expected \"" SESSION_FORMAT "\")",
              json_is_string(fmt) ? "\"" : "", json_is_string(fmt) ? json_string_value(fmt) : "not a string",
              json_is_string(fmt) ? "\"" : "");
        return -1;
    }
    if (!ver) {
        session_lfail(L, "version is missing");
        return -1;
    }
    if (!json_is_integer(ver)) {
        session_lfail(L, "version is not a whole number");
        return -1;
    }
    if (json_integer_value(ver) != SESSION_VERSION) {
        session_lfail(L, "unsupported version %lld (this termloom reads version %d)",
              (long long)json_integer_value(ver), SESSION_VERSION);
        return -1;
    }
    json_t *settings = json_object_get(doc, "settings"), *root = json_object_get(doc, "root");
    json_t *cursor = json_object_get(doc, "cursor"), *nodes = json_object_get(doc, "nodes");
    if (settings && settings_from_json(L, settings, h) < 0)
        return -1;
    if (!root) {
        session_lfail(L, "root is missing");
        return -1;
    }
    if (!session_json_id(root, 1, &h->root)) {
        session_lfail(L, "root is not a node id or null");
        return -1;
    }
    h->cursor = TREE_NONE;
    if (cursor && !session_json_id(cursor, 1, &h->cursor)) {
        session_lfail(L, "cursor is not a node id or null");
        return -1;
    }
    h->has_cursor = cursor && !json_is_null(cursor);
    if (!nodes) {
        session_lfail(L, "nodes is missing");
        return -1;
    }
    if (!json_is_array(nodes)) {
        session_lfail(L, "nodes is not an array");
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
        session_lfail(L, "node id %d is too large for a file of %zu nodes", max_id, n);
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
            session_lfail(L, "duplicate node id %d", id);
            goto out;
        }
        idx[id] = (int32_t)i;
    }
#define NODE_OF(id) pending_node(L, idx, slots, (id))
    for (size_t i = 0; i < n; i++) {
        const tree_node *nd = &L->nodes[i].n;
        int32_t id = L->nodes[i].id;
        if (nd->parent != TREE_NONE && !NODE_OF(nd->parent)) {
            session_lfail(L, "node %d: parent %d is not a node", id, nd->parent);
            goto out;
        }
        for (uint32_t c = 0; c < nd->nchildren; c++) {
            int32_t ch = nd->children[c];
            const tree_node *cn = NODE_OF(ch);
            if (!cn) {
                session_lfail(L, "node %d: child %d is not a node", id, ch);
                goto out;
            }
            if (listed_by[ch] == id) {
                session_lfail(L, "node %d lists child %d twice", id, ch);
                goto out;
            }
            if (listed_by[ch] >= 0) {
                session_lfail(L, "node %d is listed as a child of both %d and %d", ch, listed_by[ch], id);
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
                session_lfail(L, "node %d has parent null but node %d lists it as a child", id, listed_by[id]);
                goto out;
            }
            if (root != TREE_NONE) {
                session_lfail(L, "two root nodes (%d and %d); a session has one", root, id);
                goto out;
            }
            root = id;
        } else if (listed_by[id] != nd->parent) {
            if (listed_by[id] < 0)
                session_lfail(L, "node %d has parent %d, which does not list it as a child", id, nd->parent);
            else
                session_lfail(L, "node %d has parent %d but node %d lists it as a child", id, nd->parent, listed_by[id]);
            goto out;
        }
    }
    if (n && root == TREE_NONE) {
        session_lfail(L, "no root node (every node has a parent, so the nodes form a cycle)");
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
                session_lfail(L, "cycle: following parents from node %d never reaches the root", id);
                goto out;
            }
        }
        session_lfail(L, "some nodes cannot be reached from the root");
        goto out;
    }
    if (h->root != root) {
        if (root == TREE_NONE)
            session_lfail(L, "root is %d but there are no nodes", h->root);
        else if (h->root == TREE_NONE)
            session_lfail(L, "root is null but node %d is the root", root);
        else
            session_lfail(L, "root is %d but the root node (the one whose parent is null) is %d", h->root, root);
        goto out;
    }
    if (h->has_cursor && !NODE_OF(h->cursor)) {
        session_lfail(L, "cursor %d is not a node", h->cursor);
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
                session_lfail(L, "node %d was not attached while loading", (int)id);
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
        session_lfail(L, "invalid UTF-8 at line %d column %d (byte %d)", e->line, e->column, e->position);
    else if (json_error_code(e) == json_error_out_of_memory)
        session_lfail(L, "too large to load (out of memory)");
    else
        session_lfail(L, "not valid JSON at line %d column %d: %s", e->line, e->column, e->text);
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
        session_lfail(L, "%s", hl.msg);
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
    session_lfail(L, "left to the whole-document parse (TERMLOOM_SESSION_PARSER=stream)");
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
    session_lfail(L, "not readable a node at a time (invalid JSON, or a layout such as an escaped "
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
        session_lfail(&L, "file is too large (%zu bytes; the limit is %zu MiB)", len, SESSION_MAX_BYTES >> 20);
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
        session_lfail(&L, "%s", !strcmp(why, "is a directory") ? "is a directory, not a session file" : why);
        return load_result(&L, s, -1, err, errlen);
    }
    session_src src = { .fd = fd, .cap = 1u << 20 };
    src.buf = xmalloc(src.cap);
    int rc = -1, r = whole_document_only() ? 0 : session_load_stream(&L, &src, s, &rc);
    free(src.buf);
    if (r == 1 || r < 0) {
        close(fd);
        if (r < 0)
            session_lfail(&L, "cannot read: %s", strerror(src.err));
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
        session_lfail(&L, "cannot read it from the start again (not a regular file?)");
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
