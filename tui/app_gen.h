/* tui/app_gen.h — generation, owned by tui/app_gen.c: the backend and core/grow, starting
 * branches, what a request's events do to the status line and the log, and the rate.
 *
 * Contract:
 *  - app_gen_state (a->gen) is written only by app_gen.c; the others read it (the status
 *    line shows the spinner and the rate; the loop waits on the backend).
 *  - A request's branches are one undo step (tui/undo.h), recorded when it starts and
 *    completed when it ends.
 *  - Handlers return APP_CH_* flags and never draw. */
#ifndef TUI_APP_GEN_H
#define TUI_APP_GEN_H
#include <stddef.h>
#include <stdint.h>

typedef struct app app;

typedef struct app_gen_state {
    struct backend *b;          /* NULL: none could be made (err says why) */
    struct grow *g;
    char        *err;           /* why the backend could not be made (no backend) */
    double       started;       /* when the current generation began */
    double       rate;          /* tokens per second, smoothed */
    double       rate_t;
    size_t       rate_tokens;
    int          spin;          /* the spinner's step */
    double       last_spin;
} app_gen_state;

/* Makes the backend for the session's settings (none: the error is kept and shown).
 * Returns 0, or -1 with err filled. */
int      app_gen_backend(app *a, char *err, size_t n);
/* Starts core/grow over the backend made (app_main, once the tree is shown). */
void     app_gen_start(app *a);
/* Starts k branches under parent.  Returns flags. */
unsigned app_generate(app *a, int32_t parent, int k);
/* Rebuilds the backend after a settings change. */
void     app_backend_reset(app *a);
/* Generations are in flight; cancel stops them all (their branches are kept, marked
 * incomplete). */
int      app_gen_active(const app *a);
void     app_gen_cancel(app *a);
/* After the loop's wait: the backend makes progress, the spinner and the rate move. */
unsigned app_gen_tick(app *a, double now);
/* Stops the generations in flight when one writes inside id's subtree (before it goes). */
void     app_stop_streams_in(app *a, int32_t id);
/* The node is being written by a request in flight. */
int      app_is_streaming(app *a, int32_t id);
void     app_gen_free(app *a);
#endif
