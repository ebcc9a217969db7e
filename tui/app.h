/* tui/app.h — the interactive program's state, shared by the event loop (app.c), the
 * action handlers (actions.c), the panels (view_*.c) and the dialogs (dialog.c).
 *
 * Contract:
 *  - Handlers change state and return APP_CH_* flags saying what changed; they never draw.
 *    Only the loop draws (app_draw), at most once a frame, with one doupdate().
 *  - The cursor is a node id (ses.cursor), never a row.  The tree panel keeps its scroll
 *    position as a node id too (view_tree_top), so branches arriving do not move what you
 *    read.
 *  - struct app is made of sub-states, each declared in the header of the module that owns
 *    it and written through that module's functions (each header names the few exceptions):
 *      save    the file, reading it in slices, the journal    tui/app_save.h  (app_save.c)
 *      gen     the backend, core/grow, the rate               tui/app_gen.h   (app_gen.c)
 *      an      merge and attractor indexes, hand marks        tui/app_analysis.h
 *      dlg     the open dialog, the line editor, help         tui/dialog.h    (dialog*.c)
 *      search  the query and its history                      tui/app_find.h  (app_find.c)
 *      status  the status message and the message log        here            (app.c)
 *      ref     the D tint's reference model                   tui/app_ref.h   (app_ref.c)
 *      undo    undo and redo (opaque)                         tui/undo.h      (undo.c)
 *    Each panel's view state is private to its view_*.c, struct app holding only an
 *    opaque pointer to it (text, tokens, stats, tree_view, compare), made at the panel's
 *    first use and freed by its ops; other modules reach it through the functions that
 *    tui/view.h (and tui/view_compare.h) declare.
 *    What is left directly in struct app is the session itself, the terminal's traits,
 *    the layout and mode, and the tree's change count (tree_gen).
 *  - Every change that matters reaches the disk as an append to the session's journal
 *    (tui/app_save.h).  Nothing is forked. */
#ifndef TUI_APP_H
#define TUI_APP_H
#include "core/attractor.h"
#include "core/entropy.h"
#include "core/grow.h"
#include "core/merge.h"
#include "core/session.h"
#include "cli/backends.h"
#include "cli/options.h"
#include "tui/app_analysis.h"
#include "tui/app_find.h"
#include "tui/app_gen.h"
#include "tui/app_ref.h"
#include "tui/app_save.h"
#include "tui/dialog.h"
#include "tui/theme.h"
#include <stdint.h>
#include <sys/types.h>

enum {
    APP_CH_DRAW  = 1u << 0,   /* something visible changed */
    APP_CH_SAVE  = 1u << 1,   /* the session changed: save soon */
    APP_CH_QUIT  = 1u << 2,
    APP_CH_LAZY  = 1u << 3,   /* only the cursor/view changed: save when idle */
};

#define APP_STREAM_SAVE_SECONDS 1.0   /* streamed text reaches the disk at least this often */
#define APP_ATTR_MAX_NODES 2000000     /* attractor detection runs on trees up to this size */
#define APP_LOAD_SLICE 0.015           /* seconds of reading a big file per turn of the loop */
#define APP_ATTR_SLICE 0.008           /* seconds of attractor indexing per turn of the loop */
#define APP_ATTR_REFRESH 2.0           /* seconds between attractor list refreshes, at least */
#define APP_MSG_SECONDS 5.0            /* a status message left alone goes after this */
#define APP_ERR_SECONDS 12.0           /*   and an error message after this */

typedef enum { APP_PANEL_TREE, APP_PANEL_TEXT, APP_PANEL_TOKENS, APP_PANEL_STATS, APP_NPANELS } app_panel;

/* Which side panels (tokens, stats) the layout shows; v cycles them (tui/app_layout.c). */
typedef enum { APP_SIDES_BOTH, APP_SIDES_STATS, APP_SIDES_TOKENS, APP_SIDES_NONE, APP_NSIDES } app_sides;

typedef enum {
    APP_MODE_NORMAL, APP_MODE_HELP, APP_MODE_PROMPT, APP_MODE_CONFIRM,
    APP_MODE_SETTINGS, APP_MODE_CHOOSER, APP_MODE_COMPARE,
} app_mode;

typedef struct { int y, x, h, w; } app_rect;

typedef struct app app;

/* The status line's message and the message log (owned by app.c: app_message, app_log). */
typedef struct app_status {
    char        *msg;
    int          error;
    int          keep;          /* the message outlives the request that sent it */
    double       time;          /* when it was set: it expires (see app_message) */
    /* the message log: every error and every failed branch, why, oldest first */
    char       **log;
    size_t       nlog, log_cap;
} app_status;

struct app {
    cli_opts     opts;
    session      ses;
    theme        th;
    int          utf8;          /* the terminal takes UTF-8 */
    unsigned     tflags;        /* text_* flags for drawing (TEXT_ASCII when not UTF-8) */
    int          merge_view;

    /* layout */
    int          rows, cols;
    app_rect     r_tree, r_text, r_tokens, r_stats;
    int          too_small;
    int          zoom;          /* the focused panel fills the body (Z) */
    app_sides    sides;         /* the side panels shown (v) */
    unsigned     shown;         /* 1u << app_panel: in the layout when not zoomed */
    app_panel    focus;
    app_mode     mode;
    app_mode     mode_back;     /* where a prompt returns to */

    unsigned long tree_gen;     /* counts the tree's changes (every event; app.c's observer) */

    /* the sub-states, each written by the module that owns it (its header says) */
    app_save_state save;        /* the file, loading, the journal (tui/app_save.h) */
    app_gen_state  gen;         /* the backend and core/grow (tui/app_gen.h) */
    app_analysis   an;          /* merge and attractor indexes, hand marks (tui/app_analysis.h) */
    dialog_state   dlg;         /* the open dialog and the line editor (tui/dialog.h) */
    app_search     search;      /* the search query and history (tui/app_find.h) */
    app_status     status;      /* the status message and the log (app.c) */
    app_ref_state  ref;         /* the D tint's reference model (tui/app_ref.h) */
    struct undo_log *undo;      /* undo and redo (tui/undo.h; NULL until the first change) */

    unsigned     pending;       /* APP_CH_* accumulated since the last frame */
    double       last_draw;
    double       last_key;
    int          quit;
    struct compare_view *compare;   /* the compare panel's private state (tui/view_compare.c) */
    struct text_view *text;     /* the text panel's (tui/view_text.c; its scroll, the D tint) */
    struct tokens_view *tokens; /* the tokens panel's (tui/view_tokens.c; the selection) */
    struct stats_view *stats;   /* the stats panel's (tui/view_stats.c; scroll, row links, calib) */
    struct tree_view *tree_view;    /* the tree panel's (tui/view_tree.c; anchor, rows, entropies) */
    struct replay *replay;      /* keys from a script (tui/replay.h, TERMLOOM_KEYS), or NULL */
    int          replay_failed;
};

/* Sets the status line message (printf-style).  A message goes at the next key (the key's
 * own message replaces it) or after APP_MSG_SECONDS (APP_ERR_SECONDS for an error). */
void     app_message(app *a, int error, const char *fmt, ...);
/* A text as is on the status line, kept past its request's end when keep is set, never
 * logged (the caller logs it with more to say); it is on screen for a message's full time. */
void     app_message_show(app *a, int error, int keep, const char *text);
/* Clears the message (the next key, Esc, or its time is up); APP_CH_DRAW when there was one. */
unsigned app_message_clear(app *a);
/* Adds a line to the message log (L shows it); error messages go there by themselves.
 * The oldest lines go beyond APP_LOG_MAX. */
#define APP_LOG_MAX 1000
void     app_log(app *a, const char *fmt, ...);
/* Moves the cursor (marks visited, resets the token selection). */
unsigned app_goto(app *a, int32_t id);
/* Children as shown: all of them, or one leader per merged group in merge view.  Returns
 * the count; *owned is set when the array was allocated (caller frees it). */
size_t   app_children(app *a, int32_t id, const int32_t **out, int32_t **owned);
/* Sibling of id as shown (dir -1/+1), or TREE_NONE. */
int32_t  app_sibling(app *a, int32_t id, int dir);
/* Branches from the chosen alternative of the selected token: a forced-token sibling of the
 * cursor holding the tokens before it and the alternative, then k branches from there. */
unsigned app_branch_alt(app *a);
/* Replaces a node's text as an edit (tokens dropped, origin edit), one undo step. */
unsigned app_set_text(app *a, int32_t id, const char *text, size_t len, const char *how);
/* Edits the cursor node's text in $VISUAL/$EDITOR. */
unsigned app_edit_external(app *a);
/* The export chooser. */
unsigned app_export(app *a);
/* Reloads the theme named in the settings. */
void     app_theme_reset(app *a);
#define APP_MIN_COLS 40         /* under this (or APP_MIN_ROWS) only a "too small" message */
#define APP_MIN_ROWS 10
/* app_layout.c: lays the panels out for rows×cols, zoom and sides (the rules are in its
 * header); app_zoom (Z) and app_sides_cycle (v) are actions; app_focus_step moves the
 * focus over the panels the layout shows (dir ±1). */
void     app_layout(app *a);
unsigned app_zoom(app *a);
unsigned app_sides_cycle(app *a);
unsigned app_focus_step(app *a, int dir);
/* Draws the whole frame (erase, panels, one doupdate). */
void     app_draw(app *a);
/* Handles one key or mouse event; returns flags. */
unsigned app_key(app *a, int key);

/* Setup/teardown without a terminal loop, for the benchmark: opens a tree in `a`
 * (takes ownership of t) using the current curses screen.  While a->save.loading is set
 * only the view is set up; app_init_analysis (tui/app_analysis.h) follows when the tree is
 * whole. */
void     app_init_view(app *a, tree *t, int32_t cursor);
void     app_free(app *a);


int app_main(int argc, char **argv);
#endif
