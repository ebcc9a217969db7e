/* tui/view.h — the panels.  Each view_*.c is one panel behind a panel_ops (below): it
 * draws one rectangle of stdscr from the app state and never changes that state while
 * drawing (except its own view state: the tree panel's scroll anchor and row map, the
 * stats panel's scroll and row links, the tokens panel's list scroll); its mouse handler
 * changes state like an action handler does, returning APP_CH_* flags.  A panel's view
 * state is private to its file (struct text_view, tokens_view, stats_view, tree_view
 * behind opaque pointers in struct app, made at first use, freed by the ops' free): the
 * rest of the program reads and writes it only through the view_<panel>_* functions
 * below, and the action table's panel keys (tui/actions.c) call them too.  All untrusted text goes through view_put, which
 * draws core/text cells: control characters arrive as placeholders, widths are
 * utf8proc's. */
#ifndef TUI_VIEW_H
#define TUI_VIEW_H

/* Children grouped per slice (and the most a frame groups at once) for a node's branch
 * entropy: about 10 ms of work. */
#define VIEW_GROUP_AT_ONCE 2000
/* Tokens and alternatives whose entropies one frame computes for the tree panel's bars
 * (about 3 ms): rows beyond get theirs in the frames after, so a move onto rows of full
 * distributions (65,536 alternatives a node) is drawn at once. */
#define VIEW_ENTROPY_WORK 200000
#include "tui/app.h"
#include <stddef.h>

/* Draws s[0..len) at (y, x) in at most w columns; placeholders get the placeholder
 * style, the rest attr.  Stops at a newline unless TEXT_NL_VISIBLE is in flags.
 * Returns the columns used. */
int  view_put(app *a, int y, int x, int w, const char *s, size_t len, unsigned long attr,
              unsigned flags);
/* Same for a C string known to be safe (labels). */
int  view_puts(app *a, int y, int x, int w, const char *s, unsigned long attr);
/* Spaces over w columns. */
void view_fill(int y, int x, int w, unsigned long attr);
/* A panel title line: " Name  detail" with the focus style when focused. */
void view_title(app *a, app_rect r, const char *name, const char *detail, int focused);
/* Glyph by terminal capability: UTF-8 or the ASCII fallback. */
const char *view_glyph(app *a, const char *utf8, const char *ascii);

/* A panel behind a small interface, like tig's view ops.  The loop (app.c) knows no panel
 * by name: it draws the layout's panels through view_panels (and a panel that fills the
 * screen, the compare view, through its own ops), and hands each mouse event to the panel
 * under the pointer.
 *  - draw: paints r (never changes the app's state but the panel's own view state).
 *  - key: the keys the panel takes itself, or NULL when its keys are the action table's
 *    (tui/actions.h, one scope per layout panel).  Returns APP_CH_* flags.
 *  - mouse: a button-1 press (wheel 0) or a wheel notch (wheel -1 up, +1 down) at screen
 *    (y, x) inside r; NULL: the panel takes no mouse.  Returns APP_CH_* flags.
 *  - resize: r is the panel's new place (h 0: hidden); NULL: nothing to do.
 *  - free: frees the panel's private state; NULL: it has none of its own. */
typedef struct panel_ops {
    const char *name;
    void     (*draw)(app *a, app_rect r);
    unsigned (*key)(app *a, int key);
    unsigned (*mouse)(app *a, app_rect r, int y, int x, int wheel);
    void     (*resize)(app *a, app_rect r);
    void     (*free)(app *a);
} panel_ops;

extern const panel_ops view_tree_ops, view_text_ops, view_tokens_ops, view_stats_ops;
/* The layout's panels, by app_panel. */
extern const panel_ops *const view_panels[APP_NPANELS];
/* The place of panel p in the layout. */
app_rect *view_rect(app *a, app_panel p);

void view_tree(app *a, app_rect r);
void view_text(app *a, app_rect r);
void view_tokens(app *a, app_rect r);
void view_stats(app *a, app_rect r);
void view_status(app *a, int y, int w);

/* Text panel (its state is private to view_text.c): the D tint's state and its toggle
 * (returns the new state), a scroll by n lines (up: n > 0; the draw clamps it), and back
 * to the text's end (the cursor moved, or End). */
int      view_text_tint_logratio(const app *a);
int      view_text_tint_toggle(app *a);
unsigned view_text_scroll(app *a, int n);
void     view_text_scroll_end(app *a);

/* Tokens panel (its state is private to view_tokens.c): the selected token and the node
 * it belongs to (the text panel marks it), the token and alternative chosen (branching
 * from an alternative, app_branch_alt); the cursor moved to id (first token, first
 * alternative); the node's tokens were dropped (first token); moves of the token (←/→)
 * and of the alternative (↑/↓) by d, APP_CH_DRAW when the selection moved, else 0. */
int      view_tokens_token(const app *a, int32_t *node);
void     view_tokens_selection(const app *a, int *tok, int *alt);
void     view_tokens_goto(app *a, int32_t id);
void     view_tokens_first(app *a);
unsigned view_tokens_move(app *a, int d);
unsigned view_tokens_move_alt(app *a, int d);

/* Stats panel (its state is private to view_stats.c): a new tree, so the calibration
 * line it keeps from frame to frame is made afresh. */
void     view_stats_forget(app *a);

/* Tree panel (its state is private to view_tree.c): its anchor, the first row shown (a
 * node id, so rows arriving elsewhere do not scroll it; TREE_NONE: none yet) and setting
 * it; a new tree (no anchor, no rows under the pointer); the cursor's depth (the text
 * panel's title); some node was folded (moves then unfold the cursor's ancestors); the
 * tree's shape changed (its cached last row goes); the tree is whole: its node-entropy
 * cache is made, which the stats panel reads too (NULL before); the cursor moves to id
 * (app_goto: unfolds id's ancestors, follows the depth, the panel chases the cursor
 * again). */
int32_t  view_tree_top(const app *a);
void     view_tree_set_top(app *a, int32_t id);
void     view_tree_forget(app *a);
int32_t  view_tree_cursor_depth(const app *a);
void     view_tree_folded(app *a);
void     view_tree_shape_changed(app *a);
void     view_tree_begin(app *a);
entropy_cache *view_tree_entropies(const app *a);
void     view_tree_goto(app *a, int32_t id);

/* Tree panel helpers for moves and the mouse. */
int32_t view_tree_row_id(app *a, int y);   /* node drawn at screen row y, or TREE_NONE */
/* Visible-order neighbour of id (dir ±1) and a walk of n rows from id; TREE_NONE at the ends. */
int32_t view_tree_step(app *a, int32_t id, int n);
/* Scrolls the tree panel by n rows (wheel). */
void    view_tree_scroll(app *a, int n);

/* Probability → heat slot (heat1 … heat5). */
int  view_heat_slot(double logprob);
/* Token k of node id: log p(its model) - log p(the reference model in the settings) once
 * that is scored (tui/app_ref.c), else - log p(the other side of its comparison) as termloom
 * compare stored it ("logratio"), else NAN; and the heat slot for it (D: much likelier
 * under this node's model is the hottest). */
double view_logratio(const app *a, int32_t id, const tree_node *n, uint32_t k);
int  view_logratio_slot(double lr);
#endif
