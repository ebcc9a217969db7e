/* tui/app_save.h — the session on disk, owned by tui/app_save.c: opening a session (a
 * termloom file read in main-loop slices, another loom's file, or a new one), the autosave
 * journal and its compaction, and the final save.
 *
 * Contract:
 *  - app_save_state (a->save) is written only by app_save.c, except the two flags the rest
 *    of the program raises: `unsaved` (the tree or the cursor changed; the tree observer
 *    and app_goto set it, and start-up clears it once the tree is shown) and `soon` (a
 *    structural change waits to be saved).  Everyone may read it.
 *  - Every change that matters reaches the disk as an append to the session's journal
 *    (structural changes at once, streaming text at least once a second), costing what
 *    the change costs; the journal is folded into the file when idle, when it grows big,
 *    and on quit.  Nothing is forked.
 *  - A file is opened without waiting (core/formats.h, formats_open_*): a termloom session
 *    is read a slice at a time, another loom's file is imported on a thread and saved
 *    beside it as a session (then a->save.path names that session, a->save.source the
 *    file): app_open_session begins it and leaves a->save.loading set; app_load_step
 *    reads the next (returns 1 while there is more, 0 when the session is whole: the
 *    command-line settings applied again and the journal started; -1 with
 *    a->save.load_err when the file turned out bad).  While a->save.loading is set nothing
 *    is saved (app_save_now refuses, autosave waits) and only the keys that change nothing
 *    run (actions.c): the file on disk is never replaced by a part of itself.
 *  - Test hook: TERMLOOM_LOAD_PACE=frame reads one slice of 2,048 nodes per frame drawn, so
 *    a script's keys meet the loading at the same place on any machine. */
#ifndef TUI_APP_SAVE_H
#define TUI_APP_SAVE_H
#include <stddef.h>

typedef struct app app;

typedef struct app_save_state {
    char        *path;          /* session file (NULL: not saved) */
    /* opening a big file: read a slice a turn while the tree so far is shown */
    struct formats_opener *loading;   /* NULL: the session is whole */
    char        *source;        /* the file opened (another loom's: path is where it is saved) */
    double       load_started;
    double       load_frame;    /* the frame the last slice followed (TERMLOOM_LOAD_PACE) */
    char        *load_err;      /* the file turned out bad part way: the loom ends with this */
    /* saving */
    int          unsaved;       /* changes not yet on disk */
    int          soon;          /* a structural change waits to be saved */
    double       last;          /* when the journal was last written */
    double       last_change;
    struct journal *jn;         /* the autosave journal (core/journal.h), or NULL */
    char        *err;           /* why the last save failed (NULL: it did not) */
} app_save_state;

/* Journals what changed, or compacts, if due. */
void     app_autosave(app *a, double now);
/* Opens FILE (or a new session) into a. */
int      app_open_session(app *a, const char *file);
int      app_load_step(app *a, double seconds);
/* The share of the file read (0..1) and the nodes read so far, while loading. */
double   app_load_progress(const app *a, size_t *nodes);
/* 1 while a session is read in slices (the loop gives it every turn); 0 when none is read
 * or another loom's file is imported on a thread (the loop looks in now and then). */
int      app_load_sliced(const app *a);
/* Writes the session now (synchronously; the journal is folded in). 0 ok. */
int      app_save_now(app *a);
/* Saves under path[0..len) instead (the quit rescue after a failed save): 0, and the
 * session's file is that one from now on; -1, and it stays the old one. */
int      app_save_as(app *a, const char *path, size_t len);
/* Ends the journal (saving elsewhere from now on). */
void     app_save_stop(app *a);
/* Ends the journal and frees the whole state (app_free calls it). */
void     app_save_free(app *a);
/* A slice of the file being read is due this turn (the first frame is drawn first; with
 * TERMLOOM_LOAD_PACE=frame, one slice per frame drawn): 1 and how long it may read
 * (0: one slice), else 0. */
int      app_load_due(app *a, double *seconds);
#endif
