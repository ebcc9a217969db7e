/* core/journal.h — autosave as an append-only journal beside the session file, so that a
 * change costs time and bytes proportional to the change, not to the tree.
 *
 * The journal of SESSION.json is SESSION.json.journal, UTF-8 JSON, one object a line:
 *   {"journal":"termloom-journal","version":1,"base":{"size":N,"mtime":S,"mtime_ns":NS,"inode":I}}
 *       first line: the session file the records apply to (its size, mtime, inode when the
 *       journal began); a journal whose base is not the file on disk is stale and ignored
 *   {"id":...}            a node's whole line, byte for byte as session_save writes it
 *   {"deleted":[ids]}     those nodes are gone (a deleted subtree lists every node of it)
 *   {"cursor":N}          the cursor moved
 *   {"settings":{...}}    the settings object, as session_save writes it
 *   {"commit":N}          closes the N-th append: the records since the last commit count
 * Records apply in order, the last one about a node wins.  Each append ends with its commit
 * line and an fsync; records after the last commit (a torn line, or whole lines of an append
 * a crash cut short) are left out together and reported.  Compaction is the normal atomic session_save, then the journal is removed; a
 * crash between the two leaves a stale journal (its base no longer matches), ignored.
 *
 * Loading replays: session_load and session_load_mem (with the file's path as name) call
 * journal_replay, so every reader (the TUI, stats, export) sees the journaled changes;
 * nothing is written on load.  The replayed document goes through the session loader
 * again, so a journal that does not fit the file is refused whole (reported, not fatal). */
#ifndef CORE_JOURNAL_H
#define CORE_JOURNAL_H
#include "core/session.h"
#include <stdint.h>

typedef struct journal journal;

/* "PATH.journal"; caller frees. */
char *journal_path(const char *session_path);

/* Replays PATH's journal into s (loaded from PATH), if there is one for this very file.
 * Returns the records applied (0: none or no journal); a note for the user (torn tail, a
 * journal refused) goes into note and stays readable through journal_note() until the next
 * replay.  Never fails the load: s is left as loaded when the journal cannot be used. */
int  journal_replay(session *s, const char *path, char *note, size_t notelen);
const char *journal_note(void);          /* the last replay's note, or NULL */

/* Journals s's changes for the session file at path (which holds s as it is now: just
 * saved or loaded and compacted).  Observes s->t; the file is created at the first append.
 * NULL with err when path cannot be stat'ed. */
journal *journal_new(session *s, const char *path, char *err, size_t errlen);
void     journal_free(journal *j);           /* stops observing; the file stays */
const char *journal_session(const journal *j);   /* the session file's path */
/* Something changed since the last append (nodes, deletions, the cursor or the settings). */
int      journal_dirty(const journal *j);
/* Appends what changed since the last append and fsyncs.  0 ok (*written: bytes added);
 * -1 with err (the journal is cut back to what it held, the changes stay pending).  When
 * the session file is not the one the journal began on (replaced, removed) or the journal
 * was removed, this is a journal_compact instead. */
int      journal_append(journal *j, size_t *written, char *err, size_t errlen);
/* Bytes in the journal file (0: none), and in the session file at the last compaction. */
uint64_t journal_bytes(const journal *j);
uint64_t journal_base_bytes(const journal *j);
/* session_save of s over path, then the journal is removed and starts again empty.
 * 0 ok; -1 with err (nothing lost: the journal still holds what it held). */
int      journal_compact(journal *j, char *err, size_t errlen);
#endif
