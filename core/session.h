/* core/session.h — a session: the tree, the settings it was grown with, the cursor, and
 * whatever unknown top-level fields the file had.  Load/save of the session JSON format
 * (SPEC §6, "termloom-session" version 1).
 *
 * Loading validates everything before anything is returned: on error the session is left
 * empty and err holds one line "FILE: problem".  Saving writes a temporary file in the same
 * folder, fsyncs and renames, so a failed save leaves the old file intact.  save→load→save
 * gives identical bytes; unknown fields (top level, in "settings" and per node) survive.
 * The API key is not part of a session and is never written (an "api_key" found in a file
 * is dropped on load).
 *
 * Layout written: the top-level keys on the first line, then one node per line inside
 * "nodes" (in id order), then the closing line; unknown top-level keys come last.  The
 * loader reads any layout (whitespace anywhere, any key order, all on one line or
 * pretty-printed) a node at a time without holding the whole document, and gives what
 * jansson's whole-document parse would; only a file it cannot take that way (invalid JSON,
 * an escaped top-level key, "nodes" twice) goes through the whole-document parse, which
 * then names the problem.
 * Test hook: TERMLOOM_SESSION_PARSER=jansson parses each node with jansson instead of the
 * strict fast parser, =document always parses the whole document; all must agree.  =stream
 * fails where the whole-document parse would take over (a test that a layout streams).
 * A session struct must be session_init()ed (or zero-filled) before any call. */
#ifndef CORE_SESSION_H
#define CORE_SESSION_H
#include "core/mem.h"
#include "core/settings.h"
#include "core/tree.h"
#include <stdint.h>

#define SESSION_FORMAT  "termloom-session"
#define SESSION_VERSION 1
/* Files larger than this are refused.  The streaming reader holds one node at a time, so a
 * session may be larger than what other readers take whole (MEM_FILE_MAX): full
 * distributions make big files (1,000 nodes x 32 tokens x 2,048 alternatives are 2.5 GB).
 * Each node's own pool stays under 4 GiB (32-bit offsets), checked per node; a file that
 * only the whole-document parse can read (another layout the streaming reader does not
 * take, or invalid JSON) is held whole and so keeps the MEM_FILE_MAX limit. */
#if SIZE_MAX > 0xffffffffu
#define SESSION_MAX_BYTES ((size_t)16 << 30)
#else
#define SESSION_MAX_BYTES MEM_FILE_MAX
#endif

typedef struct session {
    tree        *t;
    gen_settings settings;
    int32_t      cursor;
    void        *extra;           /* json_t * object of unknown top-level fields, or NULL */
    void        *settings_extra;  /* json_t * object of unknown "settings" keys, or NULL */
} session;

void session_init(session *s);            /* empty tree, default settings, cursor none */
void session_free(session *s);
/* A new tree whose root is the prompt (origin prompt); the cursor is the root.  The
 * settings are kept; unknown fields are dropped. */
void session_new_prompt(session *s, const char *prompt);
int  session_load(session *s, const char *path, char *err, size_t errlen);
int  session_load_mem(session *s, const char *data, size_t len, const char *name,
                      char *err, size_t errlen);
int  session_save(const session *s, const char *path, char *err, size_t errlen);
/* session_save that calls tail(ud) once, after the nodes and the top-level fields of
 * s->extra ahead of the one named field are written (all of them when s->extra has no such
 * field): a caller may finish that derived field meanwhile (the attractor list) and set,
 * replace or delete it in s->extra then -- that field only.  The file is byte for byte what
 * setting it first and saving writes.  tail runs exactly once, also when the file could
 * not be opened. */
int  session_save_then(const session *s, const char *path, const char *field,
                       void (*tail)(void *), void *ud, char *err, size_t errlen);
/* Opening a big file a slice at a time (the TUI shows the tree while the rest is read):
 * begin opens the file (NULL with err when it cannot) and empties s; each step reads for
 * about `seconds` more (0: one slice of 2,048 nodes) and hangs every node read into s->t as soon as its parent is there
 * (the nodes so far, children in the order they came; s->settings are the file's once
 * they have been read, s->cursor the root so far).  step returns 1 while there is more, 0
 * when s is what session_load would have given (journal replayed, children in the file's
 * order, cursor and settings set), -1 with err (one line, s emptied) where session_load
 * would fail.  s must not be changed while the file is read.  Progress: 0..1 of the bytes. */
typedef struct session_opener session_opener;
session_opener *session_open_begin(session *s, const char *path, char *err, size_t errlen);
int    session_open_step(session_opener *o, session *s, double seconds, char *err, size_t errlen);
double session_open_progress(const session_opener *o);
size_t session_open_nodes(const session_opener *o);    /* nodes read so far */
void   session_open_set_slice(session_opener *o, size_t nodes);   /* a slice's nodes (tests: 1) */
void   session_open_free(session_opener *o);
/* The detected attractors go into the file beside the tree, under the top-level key
 * "attractors" (the array of attractor_list_json), kept apart from the hand marks in each
 * node's "marks".  The field is derived: termloom never reads it back (detection runs
 * again on load) and keeps it as it was until a saver that ran detection replaces it
 * with this call.  Steals the reference; NULL removes the key. */
struct json_t;
void session_set_attractors(session *s, struct json_t *list);
/* The document as bytes (what session_save writes); caller frees. */
char *session_dump(const session *s, size_t *len);
/* The writer's own pieces, for core/journal.c (so a journal line is byte for byte a line of
 * the file): node id's line (no separator, no newline) and the "settings" object, appended
 * to b. */
void session_node_line(const tree *t, int32_t id, buf *b);
void session_settings_line(const session *s, buf *b);
/* session_dump with parts replaced: the settings object's bytes (NULL: s's own), the cursor
 * (TREE_NONE: s's own), and for every id below cap, node(ud, id, &len): NULL for the tree's
 * own node (if live), else the line to write, or nothing when *len is 0.  The root is s's. */
typedef struct {
    const char *settings;
    size_t      settings_len;
    int32_t     cursor;
    int32_t     cap;
    const char *(*node)(void *ud, int32_t id, size_t *len);
    void       *ud;
} session_patch;
char *session_dump_patched(const session *s, const session_patch *p, size_t *len);
#endif
