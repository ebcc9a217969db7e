/* tui/app_ref.c — the D tint against a reference model (see app_ref.h). */
#include "tui/app.h"
#include "tui/view.h"
#include "cli/backends.h"
#include "core/mem.h"
#include "core/refscore.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ref_drop(app *a)
{
    refscore_free(a->ref.scorer);
    a->ref.scorer = NULL;
    free(a->ref.name);
    a->ref.name = NULL;
    free(a->ref.lr);
    a->ref.lr = NULL;
    a->ref.n = 0;
    a->ref.id = a->ref.asked = TREE_NONE;
    a->ref.err[0] = '\0';
}

void app_ref_free(app *a)
{
    ref_drop(a);
}

void app_ref_none(app *a)
{
    a->ref.id = a->ref.asked = TREE_NONE;
}

int app_ref_waiting(const app *a)
{
    return a->ref.scorer && a->ref.asked != TREE_NONE && a->ref.asked != a->ref.id;
}

double app_ref_logratio(const app *a, int32_t id, uint32_t k)
{
    return a->ref.id == id && k < a->ref.n && a->ref.lr ? a->ref.lr[k] : NAN;
}

void app_ref_sync(app *a)
{
    const char *name = a->ses.settings.reference_model;
    if (!name || !*name) {
        if (a->ref.scorer || a->ref.name)
            ref_drop(a);
        return;
    }
    if (!view_text_tint_logratio(a))
        return;
    if (!a->ref.name || strcmp(a->ref.name, name)) {
        ref_drop(a);
        a->ref.name = xstrdup(name);
        char err[512];
        char *path = cli_model_path(name, err, sizeof err);
        a->ref.scorer = path ? refscore_new(path, err, sizeof err) : NULL;
        free(path);
        if (!a->ref.scorer) {
            snprintf(a->ref.err, sizeof a->ref.err, "%.199s", err);
            app_message(a, 1, "reference model: %s", err);
            return;
        }
    }
    if (!a->ref.scorer)
        return;
    int32_t id = a->ses.cursor;
    const tree_node *n = tree_get(a->ses.t, id);
    if (id != a->ref.asked && n && n->ntokens && !app_is_streaming(a, id)) {
        refscore_ask(a->ref.scorer, a->ses.t, id);
        a->ref.asked = id;
    }
}

int app_ref_fd(const app *a)
{
    return a->ref.scorer ? refscore_fd(a->ref.scorer) : -1;
}

unsigned app_ref_take(app *a)
{
    if (!a->ref.scorer)
        return 0;
    int32_t id;
    double *lr;
    size_t n;
    char err[200];
    if (!refscore_take(a->ref.scorer, &id, &lr, &n, err, sizeof err))
        return 0;
    free(a->ref.lr);
    a->ref.lr = lr;
    a->ref.n = lr ? n : 0;
    a->ref.id = id;
    snprintf(a->ref.err, sizeof a->ref.err, "%s", err);
    if (!lr && id == a->ses.cursor)
        app_message(a, 0, "no log-ratio to %s for #%d: %s", a->ref.name, (int)id, err);
    return APP_CH_DRAW;
}
