/* core/grow.c — see grow.h. */
#include "core/grow.h"
#include "core/mem.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct grow {
    tree        *t;
    backend     *b;
    backend_event_fn after;
    void        *ud;
    grow_request *reqs;
    size_t       nreqs, cap;
    size_t       tokens_total;
    int          failed_total;
    char        *last_error;
    char        *model;      /* the model name recorded on new nodes */
    uint32_t     vocab;      /* V recorded on new nodes (0 unknown) */
};

static grow_request *find_request(grow *g, int request)
{
    for (size_t i = 0; i < g->nreqs; i++)
        if (g->reqs[i].request == request)
            return &g->reqs[i];
    return NULL;
}

static int32_t branch_node(grow *g, grow_request *r, int branch, const backend_event *ev)
{
    if (branch < 0 || branch >= r->k)
        return TREE_NONE;
    if (r->nodes[branch] != TREE_NONE && tree_get(g->t, r->nodes[branch]))
        return r->nodes[branch];
    if (!tree_get(g->t, r->parent))
        return TREE_NONE;   /* the parent was deleted while generating */
    int32_t id = tree_add_child(g->t, r->parent, TREE_ORIGIN_MODEL, "", 0);
    tree_set_model(g->t, id, ev->model ? ev->model : g->model);
    tree_get(g->t, id)->vocab = g->vocab;
    r->nodes[branch] = id;
    return id;
}

static void on_event(void *ud, const backend_event *ev)
{
    grow *g = ud;
    grow_request *r = find_request(g, ev->request);
    if (r) {
        int32_t id;
        switch (ev->kind) {
        case BACKEND_EV_TOKEN:
        case BACKEND_EV_TEXT:
            id = branch_node(g, r, ev->branch, ev);
            if (id == TREE_NONE)
                break;
            if (ev->kind == BACKEND_EV_TOKEN) {
                tree_append_token(g->t, id, ev->text, ev->len, ev->logprob, ev->top, ev->ntop, 1);
                if (ev->exact && isfinite(ev->entropy))
                    tree_set_token_entropy(g->t, id, tree_get(g->t, id)->ntokens - 1, ev->entropy);
            } else
                tree_append_text(g->t, id, ev->text, ev->len);
            r->tokens++;
            g->tokens_total++;
            break;
        case BACKEND_EV_DONE:
            id = branch_node(g, r, ev->branch, ev);
            if (id != TREE_NONE)
                tree_set_finish(g->t, id, ev->finish ? ev->finish : "stop");
            r->ended++;
            break;
        case BACKEND_EV_ERROR:
            if (ev->branch >= 0 && ev->branch < r->k && tree_get(g->t, r->nodes[ev->branch])) {
                id = r->nodes[ev->branch];
                tree_get(g->t, id)->flags |= TREE_FLAG_INCOMPLETE;
                tree_set_finish(g->t, id, ev->finish ? ev->finish : "error");
            }
            if (ev->message) {
                free(g->last_error);
                g->last_error = xstrdup(ev->message);
            }
            r->ended++;
            r->failed++;
            g->failed_total++;
            break;
        case BACKEND_EV_STATUS:
        case BACKEND_EV_REQUEST_END:
            break;
        }
    }
    if (g->after)
        g->after(g->ud, ev);   /* may start new requests: r is stale after this */
    if (ev->kind == BACKEND_EV_REQUEST_END && (r = find_request(g, ev->request))) {
        free(r->nodes);
        *r = g->reqs[--g->nreqs];
    }
}

grow *grow_new(tree *t, backend *b, backend_event_fn after, void *ud)
{
    grow *g = xcalloc(1, sizeof *g);
    g->t = t;
    g->b = b;
    g->after = after;
    g->ud = ud;
    b->on_event = on_event;
    b->ud = g;
    return g;
}

void grow_free(grow *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->nreqs; i++)
        free(g->reqs[i].nodes);
    free(g->reqs);
    free(g->last_error);
    free(g->model);
    free(g);
}

void grow_cancel_all(grow *g)
{
    backend_cancel(g->b, 0);
    /* Backends deliver the cancellations on their next pump. */
    for (int spins = 0; g->nreqs && spins < 1000; spins++)
        backend_pump(g->b);
}

void grow_set_tree(grow *g, tree *t)
{
    grow_cancel_all(g);
    g->t = t;
}

int grow_start(grow *g, int32_t parent, const gen_settings *s, int k, char *err, size_t errlen)
{
    if (!tree_get(g->t, parent)) {
        snprintf(err, errlen, "node %d does not exist", (int)parent);
        return -1;
    }
    if (k < 1)
        k = 1;
    size_t len;
    char *context = tree_path_text(g->t, parent, &len);
    int req = backend_start(g->b, context, len, s, k, err, errlen);
    free(context);
    if (req < 0)
        return -1;
    free(g->last_error);
    g->last_error = NULL;
    free(g->model);
    g->model = xstrdup(s->model ? s->model : s->backend ? s->backend : "builtin");
    g->vocab = s->vocab_size > 0 ? (uint32_t)s->vocab_size : 0;
    xgrow(&g->reqs, &g->cap, g->nreqs + 1, sizeof *g->reqs);
    grow_request *r = &g->reqs[g->nreqs++];
    memset(r, 0, sizeof *r);
    r->request = req;
    r->parent = parent;
    r->k = k;
    r->nodes = xmalloc((size_t)k * sizeof *r->nodes);
    for (int i = 0; i < k; i++)
        r->nodes[i] = TREE_NONE;
    return req;
}

int grow_active(const grow *g) { return (int)g->nreqs; }

const grow_request *grow_request_at(const grow *g, int i)
{
    return i >= 0 && (size_t)i < g->nreqs ? &g->reqs[i] : NULL;
}

size_t grow_tokens_total(const grow *g) { return g->tokens_total; }
const char *grow_last_error(const grow *g) { return g->last_error; }
int grow_failed_branches(const grow *g) { return g->failed_total; }
