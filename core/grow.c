/* core/grow.c — see grow.h. */
#include "core/grow.h"
#include "core/hash.h"
#include "core/mem.h"
#include "core/jnul.h"
#include <jansson.h>
#include <time.h>
#include <unistd.h>
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
    tree_node *n = tree_get(g->t, id);
    n->vocab = g->vocab ? g->vocab : g->b->vocab;
    if (r->record) {
        json_t *rec = json_deep_copy(r->record);
        json_object_set_new(rec, "choice", json_integer(branch));
        if (!n->extra)
            n->extra = json_object();
        json_object_set_new(n->extra, "request", rec);
    }
    r->nodes[branch] = id;
    return id;
}

void grow_on_event(void *ud, const backend_event *ev)
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
            if (id != TREE_NONE) {
                tree_set_finish(g->t, id, ev->finish ? ev->finish : "stop");
                if (!tree_get(g->t, id)->vocab)           /* V learned while it streamed */
                    tree_get(g->t, id)->vocab = g->b->vocab;
            }
            r->ended++;
            break;
        case BACKEND_EV_ERROR:
            if (ev->branch >= 0 && ev->branch < r->k && tree_get(g->t, r->nodes[ev->branch])) {
                id = r->nodes[ev->branch];
                tree_node *n = tree_get(g->t, id);
                if (ev->message && strcmp(ev->finish ? ev->finish : "error", "cancelled")) {
                    if (!n->extra)
                        n->extra = json_object();
                    json_object_set_new(n->extra, "error", jnul_string(ev->message, strlen(ev->message)));
                }
                tree_set_flag(g->t, id, TREE_FLAG_INCOMPLETE, 1);   /* observers see the error too */
                tree_set_finish(g->t, id, ev->finish ? ev->finish : "error");
            }
            if (ev->message) {
                free(g->last_error);
                g->last_error = xstrdup(ev->message);
            }
            r->ended++;
            if (strcmp(ev->finish ? ev->finish : "error", "cancelled")) {
                r->failed++;
                g->failed_total++;
            }
            break;
        case BACKEND_EV_STATUS:
        case BACKEND_EV_REQUEST_END:
        case BACKEND_EV_SCORED:      /* not a grow's: scoring has its own owner */
            break;
        }
    }
    if (g->after)
        g->after(g->ud, ev);   /* may start new requests: r is stale after this */
    if (ev->kind == BACKEND_EV_REQUEST_END && (r = find_request(g, ev->request))) {
        free(r->nodes);
        json_decref(r->record);
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
    b->on_event = grow_on_event;
    b->ud = g;
    return g;
}

int grow_owns(const grow *g, int request)
{
    return find_request((grow *)g, request) != NULL;
}

void grow_free(grow *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->nreqs; i++) {
        free(g->reqs[i].nodes);
        json_decref(g->reqs[i].record);
    }
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

/* Seeds stay below 2^31: every server takes them (llama.cpp's are 32-bit, -1 = random).
 * A parent's first request (first child 0) keeps the seed files made before the child
 * index counted. */
long long grow_seed(long long S, int32_t parent, uint32_t first)
{
    uint64_t h = hash_mix64((uint64_t)S ^ hash_mix64((uint64_t)(uint32_t)parent + 1));
    if (first)
        h = hash_mix64(h ^ hash_mix64((uint64_t)first << 32));
    return (long long)(h & 0x7fffffffULL);
}

/* The child index a new request's first branch will take under parent: the children there
 * and those the requests in flight under it may still add. */
static uint32_t next_child(const grow *g, int32_t parent)
{
    size_t n = tree_get(g->t, parent)->nchildren;
    for (size_t i = 0; i < g->nreqs; i++)
        if (g->reqs[i].parent == parent)
            for (int j = 0; j < g->reqs[i].k; j++)
                n += g->reqs[i].nodes[j] == TREE_NONE;
    return (uint32_t)n;
}

static long long fresh_seed(void)
{
    static uint64_t state;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    state = hash_mix64(state ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 48));
    return (long long)(state & 0x7fffffffULL);
}

/* A base URL without any user:password@ part. */
static char *url_without_credentials(const char *url)
{
    const char *sch = strstr(url, "://");
    const char *host = sch ? sch + 3 : url;
    const char *end = host + strcspn(host, "/?#");
    const char *at = NULL;
    for (const char *p = host; p < end; p++)
        if (*p == '@')
            at = p;
    if (!at)
        return xstrdup(url);
    return xasprintf("%.*s%s", (int)(host - url), url, at + 1);
}

static json_t *request_record(const gen_settings *s, long long seed)
{
    json_t *o = json_object();
    json_object_set_new(o, "backend", json_string(s->backend ? s->backend : "builtin"));
    if (s->base_url && *s->base_url && s->backend && strcmp(s->backend, "builtin") && strcmp(s->backend, "ngram")) {
        char *u = url_without_credentials(s->base_url);
        json_object_set_new(o, "base_url", json_string(u));
        free(u);
    }
    if (s->model && *s->model)
        json_object_set_new(o, "model", json_string(s->model));
    json_object_set_new(o, "temperature", json_real(s->temperature));
    json_object_set_new(o, "top_p", json_real(s->top_p));
    if (s->top_k > 0)
        json_object_set_new(o, "top_k", json_integer(s->top_k));
    json_object_set_new(o, "max_tokens", json_integer(s->max_tokens));
    json_object_set_new(o, "logprobs", json_integer(s->logprobs));
    if (s->nstop) {
        json_t *st = json_array();
        for (int i = 0; i < s->nstop; i++)
            json_array_append_new(st, json_string(s->stop[i]));
        json_object_set_new(o, "stop", st);
    }
    json_object_set_new(o, "seed", json_integer(seed));
    json_object_set_new(o, "time", json_integer(tree_now()));
    return o;
}

int grow_start(grow *g, int32_t parent, const gen_settings *s_in, int k, char *err, size_t errlen)
{
    if (!tree_get(g->t, parent)) {
        snprintf(err, errlen, "node %d does not exist", (int)parent);
        return -1;
    }
    if (k < 1)
        k = 1;
    gen_settings sent;                 /* what is sent: the settings with this request's seed */
    settings_copy(&sent, s_in);
    sent.seed = s_in->has_seed ? grow_seed(s_in->seed, parent, next_child(g, parent)) : fresh_seed();
    sent.has_seed = 1;
    const gen_settings *s = &sent;
    size_t len;
    char *context = tree_path_text(g->t, parent, &len);
    int req = backend_start(g->b, context, len, s, k, err, errlen);
    free(context);
    if (req < 0) {
        settings_free(&sent);
        return -1;
    }
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
    r->record = request_record(s, sent.seed);
    settings_free(&sent);
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
