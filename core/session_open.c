/* core/session_open.c — opening a session a slice at a time (session.h, session_open_*):
 * the streaming reader (session_stream.c) paused every few thousand nodes, and each node
 * read hung into the session's tree as soon as its parent is there, so the tree can be
 * shown and walked while the rest is read.  At the end the same checks as session_load's
 * run over the nodes as the file declares them, each node's children take the file's
 * order, and the journal (a crash's autosaves) is replayed; whatever the file holds, the
 * result is session_load's. */
#include "core/session_impl.h"
#include "core/journal.h"
#include "core/mono.h"
#include "core/mem.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OPEN_SLICE_NODES 2048      /* nodes read between looks at the clock */
#define OPEN_ID_SLACK    100000    /* the loader's bound on ids: 64 × nodes + this */

struct session_opener {
    char          *path;
    int            fd;
    session_src    src;
    session_stream *st;
    session_loader L;
    uint64_t       size;           /* bytes in the file */
    int32_t       *idx;            /* id → pending index (-1: none yet) */
    size_t         nidx;
    size_t         seen;           /* pending nodes looked at so far */
    size_t        *late;           /* pending nodes with ids too big to place while reading */
    size_t         nlate, caplate;
    int            settings_read;
    int            rooted;         /* a root is in the tree */
    size_t         slice;          /* nodes a stream step reads */
};

static void fail(session_opener *o, char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s: %s", o->path, msg);
    for (char *p = err; *p; p++)             /* one printable line (messages quote input) */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

/* Moves pending node i into the tree (its parent is there, or it is the first root), then
 * every waiting descendant of it. */
static void attach(session_opener *o, size_t first)
{
    tree *t = o->L.t;
    size_t *stack = xmalloc(sizeof *stack), sp = 0, cap = 1;
    stack[sp++] = first;
    while (sp) {
        session_pending *p = &o->L.nodes[stack[--sp]];
        tree_node *src = &p->n;
        if (tree_add_with_id(t, p->id, src->parent, (tree_origin)src->origin, NULL, 0) < 0)
            continue;
        tree_node *dst = tree_get(t, p->id);
        free(dst->text);
        tree_node keep = *dst;
        *dst = *src;
        dst->flags = (uint8_t)(keep.flags | src->flags);
        dst->parent = keep.parent;
        dst->children = keep.children;
        dst->nchildren = keep.nchildren;
        dst->cap_children = keep.cap_children;
        if (!dst->text) {
            dst->text = xstrdup("");
            dst->text_cap = 1;
        }
        tree_node decl = *src;               /* the file's parent and children stay for the checks */
        memset(src, 0, sizeof *src);
        src->parent = decl.parent;
        src->children = decl.children;
        src->nchildren = decl.nchildren;
        src->cap_children = decl.cap_children;
        for (uint32_t c = 0; c < decl.nchildren; c++) {
            int32_t ch = decl.children[c];
            if (ch < 0 || (size_t)ch >= o->nidx || o->idx[ch] < 0 || tree_get(t, ch))
                continue;
            if (o->L.nodes[o->idx[ch]].n.parent != p->id)
                continue;
            xgrow(&stack, &cap, sp + 1, sizeof *stack);
            stack[sp++] = (size_t)o->idx[ch];
        }
    }
    free(stack);
}

/* Pending node i into the id map, and into the tree when its parent is there (or it is
 * the first root). */
static void place_one(session_opener *o, size_t i)
{
    int32_t id = o->L.nodes[i].id;
    if (id < 0 || (size_t)id >= o->L.nnodes * 64 + OPEN_ID_SLACK)
        return;                              /* the checks at the end name it */
    if ((size_t)id >= o->nidx) {
        size_t n = o->nidx, want = (size_t)id + 1 > 2 * n ? (size_t)id + 1 : 2 * n;
        o->idx = xrealloc(o->idx, want * sizeof *o->idx);
        for (size_t k = n; k < want; k++)
            o->idx[k] = -1;
        o->nidx = want;
    }
    if (o->idx[id] >= 0)
        return;                              /* a duplicate: the checks name it */
    o->idx[id] = (int32_t)i;
    int32_t parent = o->L.nodes[i].n.parent;
    if (parent == TREE_NONE ? !o->rooted : tree_get(o->L.t, parent) != NULL) {
        o->rooted |= parent == TREE_NONE;
        attach(o, i);
    }
}

/* Pending nodes from o->seen on.  An id beyond what the nodes read so far allow (a map that
 * big could be a bad file's) waits for the end (final), when the file's node count bounds it. */
static void place(session_opener *o, int final)
{
    for (; o->seen < o->L.nnodes; o->seen++)
        if (!final && (size_t)o->L.nodes[o->seen].id >= o->seen * 64 + OPEN_ID_SLACK) {
            xgrow(&o->late, &o->caplate, o->nlate + 1, sizeof *o->late);
            o->late[o->nlate++] = o->seen;
        } else {
            place_one(o, o->seen);
        }
    if (final) {
        for (size_t k = 0; k < o->nlate; k++)
            place_one(o, o->late[k]);
        o->nlate = 0;
    }
}

session_opener *session_open_begin(session *s, const char *path, char *err, size_t errlen)
{
    char oerr[600];
    int fd = mem_open_input(path, SESSION_MAX_BYTES, oerr, sizeof oerr);
    if (fd < 0) {
        snprintf(err, errlen, "%s", oerr);
        return NULL;
    }
    session_opener *o = xcalloc(1, sizeof *o);
    o->path = xstrdup(path);
    o->fd = fd;
    struct stat sb;
    o->size = fstat(fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    o->src = (session_src){ .fd = fd, .cap = 1u << 20 };
    o->src.buf = xmalloc(o->src.cap);
    o->st = session_stream_new(&o->src);
    o->slice = OPEN_SLICE_NODES;
    session_loader_init(&o->L, o->path);
    session_free(s);
    session_init(s);
    tree_free(s->t);
    s->t = o->L.t;                           /* the tree grows as the nodes come */
    s->cursor = TREE_NONE;
    return o;
}

double session_open_progress(const session_opener *o)
{
    if (!o->size)
        return 0;
    double f = (double)session_stream_offset(o->st) / (double)o->size;
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

size_t session_open_nodes(const session_opener *o) { return o->L.nnodes; }

void session_open_set_slice(session_opener *o, size_t nodes) { o->slice = nodes ? nodes : 1; }

/* The whole-document parse of a file the streaming reader does not take (rare constructs,
 * or invalid JSON, which it then names): session_load, at once. */
static int whole(session_opener *o, session *s, char *err, size_t errlen)
{
    o->L.t = NULL;                           /* s's tree: session_free below frees it */
    session_free(s);
    session_init(s);
    return session_load(s, o->path, err, errlen) < 0 ? -1 : 0;
}

int session_open_step(session_opener *o, session *s, double seconds, char *err, size_t errlen)
{
    double t0 = mono_now();
    json_t *doc = NULL;
    int r;
    const char *how = getenv("TERMLOOM_SESSION_PARSER");     /* session.h's test hook */
    if (how && !strcmp(how, "document"))
        return whole(o, s, err, errlen);
    do {
        r = session_stream_step(o->st, &o->L, o->slice, &doc);
        place(o, 0);
    } while (r == 2 && seconds > 0 && mono_now() - t0 < seconds);
    if (!o->settings_read) {                 /* the settings, when they come before the nodes */
        const char *h;
        size_t hl;
        if (r == 2 && session_stream_in_nodes(o->st, &h, &hl)) {
            o->settings_read = 1;
            buf b = {0};
            buf_add(&b, h, hl);
            buf_addc(&b, '}');
            json_error_t e;
            json_t *head = json_loadb(b.data, b.len, SESSION_JFLAGS, &e);
            session_loader tmp;
            memset(&tmp, 0, sizeof tmp);
            if (head)
                session_header_settings(&tmp, head, &s->settings);   /* a bad one: named at the end */
            if (head)
                json_decref(head);
            buf_free(&b);
        }
    }
    if (s->cursor == TREE_NONE && tree_root(s->t) != TREE_NONE)
        s->cursor = tree_root(s->t);
    if (r == 2)
        return 1;
    if (r < 0) {
        char m[300];
        snprintf(m, sizeof m, "cannot read: %s", strerror(o->src.err));
        fail(o, err, errlen, m);
        return -1;
    }
    if (r == 0)
        return whole(o, s, err, errlen);
    place(o, 1);
    int rc = session_finish_live(&o->L, doc, s);
    json_decref(doc);
    o->L.t = NULL;                           /* s's from now on, whatever happened */
    if (rc < 0) {
        fail(o, err, errlen, o->L.msg);
        session_free(s);
        session_init(s);
        return -1;
    }
    journal_replay(s, o->path, NULL, 0);     /* changes autosaved since (journal.h) */
    return 0;
}

void session_open_free(session_opener *o)
{
    if (!o)
        return;
    session_stream_free(o->st);
    free(o->src.buf);
    if (o->fd >= 0)
        close(o->fd);
    o->L.t = NULL;                           /* the session's tree, not the loader's */
    session_loader_free(&o->L);
    free(o->idx);
    free(o->late);
    free(o->path);
    free(o);
}
