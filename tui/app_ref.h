/* tui/app_ref.h — the D tint against a reference model (the reference_model setting),
 * owned by tui/app_ref.c: the cursor node is handed to a scorer thread (core/refscore.h)
 * whenever it changes while the tint is on; its answer arrives through a descriptor the
 * loop polls with the others.
 *
 * Contract:
 *  - app_ref_state (a->ref) is written only by app_ref.c; the text panel reads the answer
 *    through app_ref_logratio.
 *  - Nothing here blocks: asking and taking an answer are both immediate. */
#ifndef TUI_APP_REF_H
#define TUI_APP_REF_H
#include <stddef.h>
#include <stdint.h>

typedef struct app app;

typedef struct app_ref_state {
    struct refscore *scorer;    /* the reference model's scorer (reference_model set), or NULL */
    char        *name;          /*   the setting it was made for */
    int32_t      asked;         /* the node last asked about (TREE_NONE: none) */
    int32_t      id;            /* the node lr answers (TREE_NONE: none) */
    double      *lr;            /*   per token: log p(its model) - log p(reference) */
    size_t       n;
    char         err[200];      /*   or why it could not be scored */
} app_ref_state;

/* The empty state (no scorer, nothing asked). */
void     app_ref_none(app *a);
/* sync asks about the cursor node when the tint is on; fd is what its answers wake (-1:
 * none); take stores one (APP_CH_* flags). */
void     app_ref_sync(app *a);
int      app_ref_fd(const app *a);
unsigned app_ref_take(app *a);
/* A question is out and its answer has not been taken (a script waits for it). */
int      app_ref_waiting(const app *a);
/* Token k of node id: log p(its model) - log p(reference), or NAN when not scored. */
double   app_ref_logratio(const app *a, int32_t id, uint32_t k);
void     app_ref_free(app *a);
#endif
