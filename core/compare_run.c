/* core/compare_run.c — sampling both sides of a comparison at once without blocking (see
 * compare.h): the labels, one grow per side, and a wait over two backends. */
#include "core/compare.h"
#include "core/jnul.h"
#include "core/mem.h"
#include "core/text.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the run ---- */

typedef struct {
    compare_run *run;
    int          side;
    backend     *be;
    grow        *g;
    gen_settings s;
    int32_t      label;
    char        *name;             /* NULL: the default */
    int          ended, failed;
    size_t       tokens;
    int          first_req;        /* the request of the N samples */
    int         *retry_req, *retry_of;   /* a retried sample's request and its index */
    size_t       nretry, cap_retry;
} run_side;

struct compare_run {
    tree            *t;
    int32_t          at;
    int              nsamples;
    run_side         side[2];
    backend_event_fn after;
    void            *ud;
};

/* A sample that failed after its retry: {"index", "error"} in the label's "failed" list,
 * so the comparison says which samples are missing and why, also when reopened. */
static void record_failure(run_side *sd, int index, const backend_event *ev)
{
    tree_node *lab = tree_get(sd->run->t, sd->label);
    if (!lab)
        return;
    if (!lab->extra)
        lab->extra = json_object();
    json_t *f = json_object_get(lab->extra, "failed");
    if (!json_is_array(f)) {
        f = json_array();
        json_object_set_new(lab->extra, "failed", f);
    }
    const char *why = ev->message && *ev->message ? ev->message : ev->finish ? ev->finish : "error";
    json_array_append_new(f, json_pack("{s:i,s:o}", "index", index, "error", jnul_string(why, strlen(why))));
}

/* A sample that fails is tried once more (a one-off 500 or a dropped connection must not
 * bias the sample); what fails twice is left out and listed. */
static void on_failure(run_side *sd, const backend_event *ev)
{
    if (ev->finish && !strcmp(ev->finish, "cancelled"))
        return;
    if (ev->request == sd->first_req) {
        char e[256];
        int rid = grow_start(sd->g, sd->label, &sd->s, 1, e, sizeof e);
        if (rid > 0) {
            xgrow(&sd->retry_req, &sd->cap_retry, sd->nretry + 1, sizeof *sd->retry_req);
            sd->retry_of = xrealloc(sd->retry_of, sd->cap_retry * sizeof *sd->retry_of);
            sd->retry_req[sd->nretry] = rid;
            sd->retry_of[sd->nretry++] = ev->branch;
            sd->ended--;                 /* the sample is not over: its retry runs */
            return;
        }
        record_failure(sd, ev->branch, ev);
        return;
    }
    for (size_t i = 0; i < sd->nretry; i++)
        if (sd->retry_req[i] == ev->request) {
            record_failure(sd, sd->retry_of[i], ev);
            return;
        }
}

static void run_event(void *ud, const backend_event *ev)
{
    run_side *sd = ud;
    switch (ev->kind) {
    case BACKEND_EV_TOKEN:
    case BACKEND_EV_TEXT:
        sd->tokens++;
        break;
    case BACKEND_EV_DONE:
        sd->ended++;
        break;
    case BACKEND_EV_ERROR:
        sd->ended++;
        sd->failed++;
        on_failure(sd, ev);
        break;
    default:
        break;
    }
    if (sd->run->after)
        sd->run->after(sd->run->ud, ev);
}

/* One backend for both sides: each grow took over its sink in turn, so the run routes the
 * events itself, by request (anything else, such as a STATUS, to side A). */
static void shared_event(void *ud, const backend_event *ev)
{
    compare_run *r = ud;
    grow_on_event(r->side[grow_owns(r->side[1].g, ev->request) ? 1 : 0].g, ev);
}

compare_run *compare_run_new(tree *t, int32_t at, backend *be[2], const gen_settings *s[2],
                             int nsamples, backend_event_fn after, void *ud)
{
    compare_run *r = xcalloc(1, sizeof *r);
    r->t = t;
    r->at = at;
    r->nsamples = nsamples < 1 ? 1 : nsamples > COMPARE_MAX_SAMPLES ? COMPARE_MAX_SAMPLES : nsamples;
    r->after = after;
    r->ud = ud;
    for (int i = 0; i < 2; i++) {
        run_side *sd = &r->side[i];
        sd->run = r;
        sd->side = i;
        sd->be = be[i];
        sd->label = TREE_NONE;
        settings_copy(&sd->s, s[i]);
        sd->g = grow_new(t, be[i], run_event, sd);
    }
    if (be[0] == be[1]) {
        be[0]->on_event = shared_event;
        be[0]->ud = r;
    }
    return r;
}

void compare_run_free(compare_run *r)
{
    if (!r)
        return;
    compare_run_cancel(r);
    for (int i = 0; i < 2; i++) {
        grow_free(r->side[i].g);
        free(r->side[i].retry_req);
        free(r->side[i].retry_of);
        free(r->side[i].name);
        r->side[i].be->on_event = NULL;
        r->side[i].be->ud = NULL;
        settings_free(&r->side[i].s);
    }
    free(r);
}

void compare_run_set_name(compare_run *r, int side, const char *name)
{
    run_side *sd = &r->side[side ? 1 : 0];
    free(sd->name);
    sd->name = name && *name ? xstrdup(name) : NULL;
}

int compare_run_start(compare_run *r, char *err, size_t errlen)
{
    if (!tree_get(r->t, r->at)) {
        snprintf(err, errlen, "node %d does not exist", (int)r->at);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        run_side *sd = &r->side[i];
        int32_t id = tree_add_child(r->t, r->at, TREE_ORIGIN_EDIT, "", 0);
        json_t *x = json_object();
        json_object_set_new(x, "compare", json_string(i ? "B" : "A"));
        if (sd->name) {           /* else named when read (the model its samples report) */
            char *name = text_valid_copy(sd->name, strlen(sd->name), NULL);
            json_object_set_new(x, "name", json_string(name));
            free(name);
        }
        json_object_set_new(x, "config", compare_config_json(&sd->s));
        json_object_set_new(x, "samples", json_integer(r->nsamples));
        tree_get(r->t, id)->extra = x;
        sd->label = id;
    }
    for (int i = 0; i < 2; i++) {
        run_side *sd = &r->side[i];
        char e[512];
        if ((sd->first_req = grow_start(sd->g, sd->label, &sd->s, r->nsamples, e, sizeof e)) < 0) {
            snprintf(err, errlen, "%s: %s", i ? "B" : "A", e);
            compare_run_cancel(r);
            for (int k = 1; k >= 0; k--)     /* leave no empty labels behind */
                if (tree_get(r->t, r->side[k].label) && !tree_get(r->t, r->side[k].label)->nchildren) {
                    tree_delete(r->t, r->side[k].label);
                    r->side[k].label = TREE_NONE;
                }
            return -1;
        }
    }
    return 0;
}

int compare_run_pump(compare_run *r)
{
    for (int i = 0; i < 2; i++)
        if (grow_active(r->side[i].g))
            backend_pump(r->side[i].be);
    return compare_run_active(r);
}

int compare_run_active(const compare_run *r)
{
    return grow_active(r->side[0].g) + grow_active(r->side[1].g);
}

int compare_run_backends(const compare_run *r, backend **out)
{
    out[0] = r->side[0].be;
    out[1] = r->side[1].be;
    return 2;
}

/* Both sides (one backend or two) and the caller's descriptors in one wait. */
int compare_run_wait(compare_run *r, const int *fds, int nfds, int timeout_ms, int *fd_ready)
{
    backend *bs[2];
    compare_run_backends(r, bs);
    return backend_wait_many(bs, 2, fds, nfds, timeout_ms, fd_ready);
}

void compare_run_cancel(compare_run *r)
{
    for (int i = 0; i < 2; i++)
        if (grow_active(r->side[i].g))
            grow_cancel_all(r->side[i].g);
}

void compare_run_progress(const compare_run *r, int side, int *ended, int *failed, size_t *tokens)
{
    const run_side *sd = &r->side[side ? 1 : 0];
    if (ended)
        *ended = sd->ended;
    if (failed)
        *failed = sd->failed;
    if (tokens)
        *tokens = sd->tokens;
}

int32_t compare_run_label(const compare_run *r, int side) { return r->side[side ? 1 : 0].label; }

const char *compare_run_error(const compare_run *r, int side)
{
    return grow_last_error(r->side[side ? 1 : 0].g);
}
