/* tui/app_ref.c — the D tint against a reference model (the reference_model setting): the
 * cursor node is handed to a scorer thread (core/refscore.h) whenever it changes while the
 * tint is on; its answer arrives through a descriptor the loop polls with the others. */
#include "tui/app.h"
#include "cli/backends.h"
#include "core/mem.h"
#include "core/refscore.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ref_drop(app *a)
{
    refscore_free(a->ref);
    a->ref = NULL;
    free(a->ref_name);
    a->ref_name = NULL;
    free(a->ref_lr);
    a->ref_lr = NULL;
    a->ref_n = 0;
    a->ref_id = a->ref_asked = TREE_NONE;
    a->ref_err[0] = '\0';
}

void app_ref_free(app *a)
{
    ref_drop(a);
}

void app_ref_sync(app *a)
{
    const char *name = a->ses.settings.reference_model;
    if (!name || !*name) {
        if (a->ref || a->ref_name)
            ref_drop(a);
        return;
    }
    if (!a->tint_logratio)
        return;
    if (!a->ref_name || strcmp(a->ref_name, name)) {
        ref_drop(a);
        a->ref_name = xstrdup(name);
        char err[512];
        char *path = cli_model_path(name, err, sizeof err);
        a->ref = path ? refscore_new(path, err, sizeof err) : NULL;
        free(path);
        if (!a->ref) {
            snprintf(a->ref_err, sizeof a->ref_err, "%.199s", err);
            app_message(a, 1, "reference model: %s", err);
            return;
        }
    }
    if (!a->ref)
        return;
    int32_t id = a->ses.cursor;
    const tree_node *n = tree_get(a->ses.t, id);
    if (id != a->ref_asked && n && n->ntokens && !app_is_streaming(a, id)) {
        refscore_ask(a->ref, a->ses.t, id);
        a->ref_asked = id;
    }
}

int app_ref_fd(const app *a)
{
    return a->ref ? refscore_fd(a->ref) : -1;
}

unsigned app_ref_take(app *a)
{
    if (!a->ref)
        return 0;
    int32_t id;
    double *lr;
    size_t n;
    char err[200];
    if (!refscore_take(a->ref, &id, &lr, &n, err, sizeof err))
        return 0;
    free(a->ref_lr);
    a->ref_lr = lr;
    a->ref_n = lr ? n : 0;
    a->ref_id = id;
    snprintf(a->ref_err, sizeof a->ref_err, "%s", err);
    if (!lr && id == a->ses.cursor)
        app_message(a, 0, "no log-ratio to %s for #%d: %s", a->ref_name, (int)id, err);
    return APP_CH_DRAW;
}
