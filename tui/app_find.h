/* tui/app_find.h — finding nodes, owned by tui/app_find.c: the pre-order walk the jumps
 * share, search ("/", n, N) with its history and hit count, and moves between attractors
 * (A, C-a) and through one attractor's members (], [).
 *
 * Contract:
 *  - app_search (a->search) is written only by app_find.c; the tree panel reads the query
 *    to show the hits.
 *  - Handlers return APP_CH_* flags; nothing here draws. */
#ifndef TUI_APP_FIND_H
#define TUI_APP_FIND_H
#include <stddef.h>
#include <stdint.h>

typedef struct app app;

/* The query n/N step with (NULL: none), and the queries made so far, oldest first (the
 * prompt's Up recalls them). */
typedef struct app_search {
    char        *query;
    char       **hist;
    size_t       nhist, cap;
} app_search;

/* The next node after the cursor (dir ±1, wrapping) for which pred holds, or TREE_NONE. */
int32_t  app_find_next(app *a, int dir, int (*pred)(app *, int32_t, const void *), const void *ud);
/* "/" opens an empty query (Up recalls earlier ones); a hit's place among all hits shows
 * as "3/17". */
unsigned app_search_open(app *a);
unsigned app_search_step(app *a, int dir);
/* Esc: n and N forget the query (the history stays). */
unsigned app_search_clear(app *a);
void     app_search_free(app *a);
/* Case-insensitive (ASCII) substring test used by search. */
int      app_text_matches(const char *needle, const char *s, size_t len);
/* A / C-a: the next (dir ±1, wrapping) attractor of the list, by its place in the list (two
 * attractors may start at the same node); ] / [: the next member of the current one. */
unsigned app_attractor_jump(app *a, int dir);
unsigned app_attractor_member(app *a, int dir);
/* A click on row i of the stats panel's list: goes to attractor i like A does, or, when the
 * cursor is already in it, to its next member like ]. */
unsigned app_attractor_pick(app *a, size_t i);
#endif
