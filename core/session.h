/* core/session.h — a session: the tree, the settings it was grown with, the cursor, and
 * whatever unknown top-level fields the file had.  Load/save of the session JSON format
 * (SPEC §6, "termloom-session" version 1).
 *
 * Loading validates everything before anything is returned: on error the session is left
 * empty and err holds one line "FILE: problem".  Saving writes a temporary file in the same
 * folder, fsyncs and renames, so a failed save leaves the old file intact.  save→load→save
 * gives identical bytes; unknown fields (top level and per node) survive.  The API key is
 * not part of a session and is never written. */
#ifndef CORE_SESSION_H
#define CORE_SESSION_H
#include "core/settings.h"
#include "core/tree.h"

typedef struct session {
    tree        *t;
    gen_settings settings;
    int32_t      cursor;
    void        *extra;      /* json_t * object of unknown top-level fields, or NULL */
} session;

void session_init(session *s);            /* empty tree, default settings, cursor none */
void session_free(session *s);
/* A new session whose root is the prompt. */
void session_new_prompt(session *s, const char *prompt);
int  session_load(session *s, const char *path, char *err, size_t errlen);
int  session_load_mem(session *s, const char *data, size_t len, const char *name,
                      char *err, size_t errlen);
int  session_save(const session *s, const char *path, char *err, size_t errlen);
/* The document as bytes (what session_save writes); caller frees. */
char *session_dump(const session *s, size_t *len);
/* Crash-safe write of any bytes: temp file in the same folder, fsync, rename. */
int  session_write_file(const char *path, const char *data, size_t len, char *err, size_t errlen);
#endif
