/* tui/view_compare.h — the compare view (key c): one prompt node, two configs, N samples
 * each, the figures of core/compare side by side and each side's groups as frequency bars.
 *
 * `c` on a node that already holds a comparison (or on one of its labels or samples)
 * reopens it; otherwise a prompt line asks for "A-SPEC | B-SPEC | N" and sampling starts.
 * Sampling runs through the app's event loop: the loop waits on the comparison's backends
 * (compare_view_backends) together with its own and the keyboard, in one poll, and calls
 * compare_view_pump every turn, so keys are never blocked.
 * The samples land in the session tree under two labels (see core/compare.h) and are
 * saved with it.  Closing the view (Esc) lets a running comparison finish in the
 * background; x stops it.  Enter on a group jumps to its first member in the tree.
 * The mouse: a click on a group selects it (and focuses its side), a second click on the
 * selected group jumps like Enter, a click elsewhere in a column focuses that side, the
 * wheel scrolls the list under it. */
#ifndef TUI_VIEW_COMPARE_H
#define TUI_VIEW_COMPARE_H
#include "tui/view.h"

/* The panel (view.h): it fills the screen while a->mode is APP_MODE_COMPARE, and takes
 * every key and mouse event then.  Its private state (the comparison, its figures, each
 * side's selection and scroll) lives in view_compare.c behind a->compare. */
extern const panel_ops view_compare_ops;

unsigned compare_view_open(app *a);
/* A comparison is sampling: the loop must wait on its backends too. */
int      compare_view_busy(const app *a);
/* The comparison's backends into out (room for 2), or 0 when none is running. */
int      compare_view_backends(const app *a, backend **out);
/* Makes progress; returns APP_CH_* flags. */
unsigned compare_view_pump(app *a);
/* While a comparison samples with the view closed: " comparing A 3/32, B 5/32 (c) " in
 * out for the status line, and 1; else 0. */
int      compare_view_status(const app *a, char *out, size_t n);
void     compare_view_free(app *a);
#endif
