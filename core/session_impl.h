/* core/session_impl.h — what the three session files share; not a public interface.
 *   session.c        the API, loading through jansson, validation, building the tree
 *   session_node.c   one node element through jansson
 *   session_save.c   the writer (fixed key order, shortest numbers) and crash-safe saving
 *   session_stream.c the streaming reader (any layout) and its strict node parser
 *   session_open.c   opening a big file a slice at a time, the tree growing as it is read */
#ifndef CORE_SESSION_IMPL_H
#define CORE_SESSION_IMPL_H
#include "core/session.h"
#include <jansson.h>
#include <stddef.h>

#define SESSION_JFLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

/* A node as the file declares it (parent and children unchecked), waiting for build. */
typedef struct {
    tree_node n;      /* parent and children as the file declares them */
    int32_t   id;
} session_pending;

/* Everything parsed so far and the first problem found. */
typedef struct {
    const char *name;
    tree       *t;              /* only for interning strings while parsing */
    session_pending *nodes;
    size_t      nnodes, cap;
    char        msg[400];       /* the first problem, without the file name */
    int         bad;
} session_loader;

/* A file read in chunks, or a buffer in memory (mem, len, eof = 1).  buf holds the input's
 * bytes [base, base + len); those before keep may be dropped when more are read. */
typedef struct {
    const char *mem;          /* memory source, or NULL for fd */
    int         fd;
    char       *buf;
    size_t      cap, base, len, keep;
    int         eof, err;
} session_src;

/* The first problem, into L->msg (later ones are dropped); returns -1. */
int session_lfail(session_loader *L, const char *fmt, ...);
/* An id-valued field: 1 ok (TREE_NONE for null when allow_null), 0 wrong type/range. */
int session_json_id(json_t *v, int allow_null, int32_t *out_id);
/* One element of "nodes" into a pending node; -1 with L->msg set. */
int session_node_from_json(session_loader *L, json_t *o, size_t index);
/* Header checks, the pending nodes' structure, then the tree into s.  doc is the document
 * (its "nodes" already parsed into L). */
int session_finish(session_loader *L, json_t *doc, session *s);
/* The same for the nodes session_open.c attached to s->t (== L->t) as they came. */
int session_finish_live(session_loader *L, json_t *doc, session *s);
void session_loader_init(session_loader *L, const char *name);
void session_loader_free(session_loader *L);
/* The "settings" of a (partial) header document into *out (replaced); -1 with L->msg. */
int session_header_settings(session_loader *L, json_t *doc, gen_settings *out);
/* The streaming reader a slice at a time (core/session_stream.c): see session_stream_step. */
typedef struct session_stream session_stream;
session_stream *session_stream_new(session_src *src);
void   session_stream_free(session_stream *st);
int    session_stream_step(session_stream *st, session_loader *L, size_t max_nodes, json_t **doc);
size_t session_stream_offset(const session_stream *st);
/* 1 when the reader is inside "nodes"; *head: the top-level members before it ("{...") */
int    session_stream_in_nodes(const session_stream *st, const char **head, size_t *len);
/* The streaming reader: 1 decided (*rc the result), 0 leave it to the whole-document parse
 * (which then gives the real error), -1 read error. */
int session_load_stream(session_loader *L, session_src *src, session *s, int *rc);
#endif
