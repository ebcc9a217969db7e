/* core/entropy_cache.c — the node figures views ask for every frame, kept until the node's
 * tokens change (see entropy.h). */
#include "core/entropy.h"
#include "core/mem.h"
#include <stdlib.h>

#define SLOTS 4096              /* a power of two; far more than the rows on a screen */

typedef struct {
    int32_t  id;                /* TREE_NONE: empty */
    uint32_t ntokens, ntops;    /* what the node held when computed (a second check) */
    uint8_t  has_node, has_iv;
    uint32_t vocab;             /* the interval's V */
    entropy_node_t          node;
    entropy_node_interval_t iv;
} slot;

struct entropy_cache {
    tree *t;
    slot  s[SLOTS];
};

static void on_event(void *ud, tree *t, int kind, int32_t id)
{
    entropy_cache *c = ud;
    (void)t;
    if (kind != TREE_EV_TEXT || id < 0)
        return;
    slot *e = &c->s[(uint32_t)id & (SLOTS - 1)];
    if (e->id == id)
        e->id = TREE_NONE;
}

entropy_cache *entropy_cache_new(tree *t)
{
    entropy_cache *c = xcalloc(1, sizeof *c);
    c->t = t;
    for (size_t i = 0; i < SLOTS; i++)
        c->s[i].id = TREE_NONE;
    tree_observe(t, on_event, c);
    return c;
}

void entropy_cache_free(entropy_cache *c)
{
    if (!c)
        return;
    tree_unobserve(c->t, on_event, c);
    free(c);
}

/* The node's slot, emptied first when it holds another node or another state of it. */
static slot *find(entropy_cache *c, const tree_node *n, int32_t id)
{
    slot *e = &c->s[(uint32_t)id & (SLOTS - 1)];
    if (e->id != id || e->ntokens != n->ntokens || e->ntops != n->ntops) {
        e->id = id;
        e->ntokens = n->ntokens;
        e->ntops = n->ntops;
        e->has_node = e->has_iv = 0;
    }
    return e;
}

int entropy_cache_peek(const entropy_cache *c, const tree *t, int32_t id, entropy_node_t *out)
{
    const tree_node *n = tree_get(t, id);
    if (!c || c->t != t || !n)
        return 0;
    const slot *e = &c->s[(uint32_t)id & (SLOTS - 1)];
    if (e->id != id || e->ntokens != n->ntokens || e->ntops != n->ntops || !e->has_node)
        return 0;
    *out = e->node;
    return 1;
}

int entropy_cache_node(entropy_cache *c, const tree *t, int32_t id, entropy_node_t *out)
{
    const tree_node *n = tree_get(t, id);
    if (!n)
        return -1;
    if (!c || c->t != t) {
        entropy_node(n, out);
        return 0;
    }
    slot *e = find(c, n, id);
    if (!e->has_node) {
        entropy_node(n, &e->node);
        e->has_node = 1;
    }
    *out = e->node;
    return 0;
}

int entropy_cache_interval(entropy_cache *c, const tree *t, int32_t id, uint32_t vocab,
                           entropy_node_interval_t *out)
{
    const tree_node *n = tree_get(t, id);
    if (!n)
        return -1;
    if (!c || c->t != t) {
        entropy_node_interval(n, vocab, out);
        return 0;
    }
    slot *e = find(c, n, id);
    if (!e->has_iv || e->vocab != vocab) {
        entropy_node_interval(n, vocab, &e->iv);
        e->vocab = vocab;
        e->has_iv = 1;
    }
    *out = e->iv;
    return 0;
}
