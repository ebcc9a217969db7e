/* tui/app.h — the interactive program's state, shared by the event loop (app.c), the
 * action handlers (actions.c), the panels (view_*.c) and the dialogs (dialog.c).
 *
 * Contract:
 *  - Handlers change state and return APP_CH_* flags saying what changed; they never draw.
 *    Only the loop draws (app_draw), at most once a frame, with one doupdate().
 *  - The cursor is a node id (ses.cursor), never a row.  The tree panel keeps its scroll
 *    position as a node id too (tree_top), so branches arriving do not move what you read.
 *  - Every change that matters reaches the disk as an append to the session's journal
 *    (tui/app_save.c: structural changes at once, streaming text at least once a second),
 *    costing what the change costs; the journal is folded into the file when idle, when it
 *    grows big, and on quit.  Nothing is forked. */
#ifndef TUI_APP_H
#define TUI_APP_H
#include "core/attractor.h"
#include "core/entropy.h"
#include "core/grow.h"
#include "core/merge.h"
#include "core/session.h"
#include "cli/backends.h"
#include "cli/options.h"
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

/* What a row of the stats panel leads to when clicked. */
typedef enum { APP_LINK_NONE, APP_LINK_NODE, APP_LINK_ATTRACTOR } app_link_kind;
typedef struct { app_link_kind kind; int32_t v; } app_link;   /* v: a node id, a list index */
#define APP_STATS_ROWS 256     /* rows of the stats panel that can be clicked */

typedef enum {
    APP_MODE_NORMAL, APP_MODE_HELP, APP_MODE_PROMPT, APP_MODE_CONFIRM,
    APP_MODE_SETTINGS, APP_MODE_CHOOSER, APP_MODE_COMPARE,
} app_mode;

typedef struct { int y, x, h, w; } app_rect;

/* One row of the attractor list: a node to jump to (its first member), a label ("5 in 4
 * contexts ", "phrase, 5 in 4 contexts "), a phrase's chance-null figures shown after the
 * label where the row has room ("(0.01 expected, p 3e-09) "; else empty), the text to show
 * (NULL: the node's text) and its members (ascending ids). */
typedef struct {
    int32_t id;
    char label[48];
    char note[48];
    const char *text;
    const int32_t *members;
    size_t nmembers;
} app_attractor_item;

typedef struct app app;
typedef unsigned (*app_text_fn)(app *a, const char *text, size_t len);
typedef unsigned (*app_confirm_fn)(app *a, int yes);
typedef unsigned (*app_choice_fn)(app *a, int choice);

struct app {
    cli_opts     opts;
    session      ses;
    char        *path;          /* session file (NULL: not saved) */
    backend     *b;
    grow        *g;
    merge_index *merge;
    attractor_index *attr;      /* detected attractors (NULL: tree too big, see app.c) */
    entropy_cache *hcache;      /* node entropies the panels draw every frame */
    size_t       hwork;         /* alternatives computed for the tree panel this frame */
    unsigned long tree_gen;     /* counts the tree's changes (every event) */
    int32_t      calib_id;      /* the stats panel's calibration line, as of tree_gen calib_gen */
    unsigned long calib_gen;
    int          calib_shown, calib_flag;
    char         calib_text[256];
    uint8_t     *attr_member;   /* per node id: 1 member of a continuation attractor, 2 of a phrase */
    size_t       attr_member_cap;
    app_attractor_item *attr_items;   /* the detected list as of the last refresh, best first */
    size_t       nattr_items;
    size_t       attr_total;    /* detected attractors in that list (it may hold fewer) */
    int          attr_dirty;    /* the tree changed since the last refresh */
    double       attr_last, attr_cost;
    size_t       attr_slice;    /* nodes indexed per turn (adapted to APP_ATTR_SLICE) */
    int32_t      group_pending; /* a node whose many children are being grouped in slices */
    size_t       attr_list_slice;   /* listing units per turn (adapted to APP_ATTR_SLICE) */
    double       attr_list_spent;   /* seconds the listing in progress has taken */
    size_t       attr_nav;      /* the attractor A / ] last went to (index in the list) */
    int32_t      attr_nav_id;   /*   and its first member, to know it again (TREE_NONE: none) */
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

    /* tree panel */
    int32_t      tree_top;      /* first row shown */
    int32_t     *row_ids;       /* ids of the rows drawn in the last frame (mouse) */
    int          nrow_ids;
    size_t       cap_row_ids;
    int          tree_scrolled; /* the wheel moved tree_top: do not chase the cursor */
    int          ever_folded;   /* some node was folded (else no ancestor walk is needed) */
    int32_t      cursor_depth;  /* depth of the cursor, kept as it moves */
    int32_t      end_id;        /* last row of the outline (no folds, no merge view); */
    int          end_valid;     /*   cleared when the tree's shape changes */

    /* tokens panel */
    int          tok_sel;       /* selected token of the cursor node */
    int          alt_sel;       /* selected alternative of that token */
    int          alt_top;       /* first alternative shown (the list scrolls to alt_sel) */
    int32_t      tok_node;      /* node tok_sel refers to */

    /* text panel */
    int          text_scroll;   /* lines up from the bottom */
    int          tint_logratio; /* D: tokens tinted by log-ratio, not probability */
    struct refscore *ref;       /* the reference model's scorer (reference_model set), or NULL */
    char        *ref_name;      /*   the setting it was made for */
    int32_t      ref_asked;     /* the node last asked about (TREE_NONE: none) */
    int32_t      ref_id;        /* the node ref_lr answers (TREE_NONE: none) */
    double      *ref_lr;        /*   per token: log p(its model) - log p(reference) */
    size_t       ref_n;
    char         ref_err[200];  /*   or why it could not be scored */

    /* stats panel (view state): its first line shown, and where each row leads */
    int          stats_scroll;
    app_link     stats_link[APP_STATS_ROWS];

    /* help */
    int          help_scroll;
    int          help_log;      /* the help screen shows the message log instead */

    /* the message log: every error and every failed branch, why, oldest first */
    char       **log;
    size_t       nlog, log_cap;

    /* status */
    char        *msg;
    int          msg_error;
    int          msg_keep;       /* the message outlives the request that sent it */
    double       msg_time;      /* when it was set: it expires (see app_message) */
    double       gen_started;   /* when the current generation began */
    size_t       gen_tokens0;
    double       rate;          /* tokens per second, smoothed */
    double       rate_t;
    size_t       rate_tokens;
    int          spin;

    /* editing / dialogs */
    buf          line;          /* the prompt line's text */
    size_t       line_cur;      /* cursor byte offset in line */
    size_t       line_scroll;
    char        *line_label;
    app_text_fn  on_line;
    char *const *line_hist;     /* the prompt's history (Up/Down), oldest first, or NULL */
    size_t       line_nhist;
    size_t       line_hist_at;  /* the entry shown; line_nhist: the line being typed */
    char        *line_draft;    /* that line, kept while Up shows older ones */
    app_confirm_fn on_confirm;
    char        *confirm_text;
    int          choice_sel, nchoices;
    const char  *const *choices;
    char        *choice_title;
    app_choice_fn on_choice;
    int          set_sel;       /* settings form row */
    char        *set_err;       /* why the backend could not be made (no backend) */
    struct settings_form *form; /* the open settings form (tui/dialog_settings.c) */

    /* search: the query n/N step with (NULL: none), and the queries made so far, oldest
     * first (the prompt's Up recalls them) */
    char        *search;
    char       **search_hist;
    size_t       nsearch_hist, capsearch_hist;

    /* nodes marked as attractors by hand (kept in step with the marks) */
    int32_t     *marked;
    size_t       nmarked, capmarked;

    /* undo and redo (tui/undo.c; NULL until the first change) */
    struct undo_log *undo;

    /* opening a big file: read a slice a turn while the tree so far is shown (app_save.c) */
    struct session_opener *loading;   /* NULL: the session is whole */
    double       load_started;
    double       load_frame;    /* the frame the last slice followed (TERMLOOM_LOAD_PACE) */
    char        *load_err;      /* the file turned out bad part way: the loom ends with this */

    /* saving */
    int          unsaved;       /* changes not yet on disk */
    int          save_soon;     /* a structural change waits to be saved */
    double       last_save;
    double       last_change;
    struct journal *jn;         /* the autosave journal (core/journal.h), or NULL */
    char        *save_err;

    unsigned     pending;       /* APP_CH_* accumulated since the last frame */
    double       last_draw;
    double       last_key;
    int          quit;
    void        *compare;       /* the compare view's state (tui/view_compare.c) */
    struct replay *replay;      /* keys from a script (tui/replay.h, TERMLOOM_KEYS), or NULL */
    int          replay_failed;
};

/* Sets the status line message (printf-style).  A message goes at the next key (the key's
 * own message replaces it) or after APP_MSG_SECONDS (APP_ERR_SECONDS for an error). */
void     app_message(app *a, int error, const char *fmt, ...);
/* The D tint's reference model (tui/app_ref.c): sync asks about the cursor node when the
 * tint is on; fd is what its answers wake (-1: none); take stores one (APP_CH_* flags). */
void     app_ref_sync(app *a);
int      app_ref_fd(const app *a);
unsigned app_ref_take(app *a);
void     app_ref_free(app *a);
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
/* Starts k branches under parent.  Returns flags. */
unsigned app_generate(app *a, int32_t parent, int k);
/* Attractor: marked by hand or detected. */
int      app_is_attractor(app *a, int32_t id);
/* The attractor list, best first (detected, then marked by hand).  Returns the count. */
size_t   app_attractor_items(app *a, app_attractor_item *out, size_t max);
/* Case-insensitive (ASCII) substring test used by search. */
int      app_text_matches(const char *needle, const char *s, size_t len);
/* Keeps the list of hand-marked attractors in step after id's mark changed. */
void     app_mark_changed(app *a, int32_t id);
/* Branches from the chosen alternative of the selected token: a forced-token sibling of the
 * cursor holding the tokens before it and the alternative, then k branches from there. */
unsigned app_branch_alt(app *a);
/* Stops the generations in flight when one writes inside id's subtree (before it goes). */
void     app_stop_streams_in(app *a, int32_t id);
/* Replaces a node's text as an edit (tokens dropped, origin edit), one undo step. */
unsigned app_set_text(app *a, int32_t id, const char *text, size_t len, const char *how);
/* The node is being written by a request in flight. */
int      app_is_streaming(app *a, int32_t id);
/* Edits the cursor node's text in $VISUAL/$EDITOR. */
unsigned app_edit_external(app *a);
/* The export chooser. */
unsigned app_export(app *a);
/* Reloads the theme named in the settings. */
void     app_theme_reset(app *a);
/* Rebuilds the backend after a settings change. */
void     app_backend_reset(app *a);
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
/* Writes the session now (synchronously; the journal is folded in). 0 ok. */
int      app_save_now(app *a);

/* Setup/teardown without a terminal loop, for the benchmark: opens a tree in `a`
 * (takes ownership of t) using the current curses screen.  While a->loading is set only the
 * view is set up; app_init_analysis (the merge and attractor indexes, the tree observer,
 * the hand marks) follows when the tree is whole. */
void     app_init_view(app *a, tree *t, int32_t cursor);
void     app_init_analysis(app *a);
void     app_free(app *a);

/* app_ops.c: the detected attractor list (refresh when the tree changed; clear frees it).
 * The list is made in main-loop slices: app_attr_refresh begins it, app_attr_poll goes on
 * (call it every turn; it installs the list when done), app_attr_cancel gives it up. */
void     app_attr_refresh(app *a);
void     app_attr_poll(app *a);
void     app_attr_cancel(app *a);
void     app_attr_clear(app *a);
/* app_find.c: pre-order search over the whole tree.  app_find_next: the next node after
 * the cursor (dir ±1, wrapping) for which pred holds, or TREE_NONE.  Search: "/" opens an
 * empty query (Up recalls earlier ones); a hit's place among all hits shows as "3/17". */
int32_t  app_find_next(app *a, int dir, int (*pred)(app *, int32_t, const void *), const void *ud);
unsigned app_search_open(app *a);
/* A / C-a: the next (dir ±1, wrapping) attractor of the list, by its place in the list (two
 * attractors may start at the same node); ] / [: the next member of the current one. */
unsigned app_attractor_jump(app *a, int dir);
unsigned app_attractor_member(app *a, int dir);
/* A click on row i of the stats panel's list: goes to attractor i like A does, or, when the
 * cursor is already in it, to its next member like ]. */
unsigned app_attractor_pick(app *a, size_t i);
unsigned app_search_step(app *a, int dir);
void     app_search_free(app *a);
/* app_save.c: journals what changed, or compacts, if due; opens FILE (or a new session)
 * into a; app_save_stop ends the journal (app_free calls it).
 * A termloom session file is read a slice at a time (core/session.h, session_open_*):
 * app_open_session reads the first slice and leaves a->loading set; app_load_step reads
 * the next (returns 1 while there is more, 0 when the session is whole: the command-line
 * settings applied again and the journal started; -1 with a->load_err when the file turned
 * out bad).  While a->loading is set nothing is saved (app_save_now refuses, autosave
 * waits) and only the keys that change nothing run (actions.c): the file on disk is never
 * replaced by a part of itself.
 * Test hook: TERMLOOM_LOAD_PACE=frame reads one slice of 2,048 nodes per frame drawn, so a
 * script's keys meet the loading at the same place on any machine. */
void     app_autosave(app *a, double now);
int      app_open_session(app *a, const char *file);
int      app_load_step(app *a, double seconds);
/* The share of the file read (0..1) and the nodes read so far, while loading. */
double   app_load_progress(const app *a, size_t *nodes);
void     app_save_stop(app *a);

int app_main(int argc, char **argv);
#endif
