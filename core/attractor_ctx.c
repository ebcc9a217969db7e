/* core/attractor_ctx.c — the attractor module's contexts: a parent's text from the root,
 * node by node as normalized words, as one hash (two parents whose paths read the same are
 * one context; see attractor.h "support"), memoized per listing. */
#include "core/attractor_impl.h"

void attractor_contexts_free(contexts *c)
{
    hash_map_free(&c->memo);
    free(c->h);
    free(c->path);
    memset(c, 0, sizeof *c);
}

/* A node's own text as normalized words (the index's when it has them). */
static uint64_t text_key(attractor_index *a, int32_t id)
{
    const uint64_t *w = a->ns[id].w;
    size_t nw = a->ns[id].nw;
    merge_word *mw = NULL;
    if (!w) {
        const tree_node *n = tree_get(a->t, id);
        nw = n ? merge_words(n->text, n->text_len, &mw, NULL) : 0;
    }
    uint64_t h = 0x243f6a8885a308d3ull ^ nw;
    for (size_t i = 0; i < nw; i++)
        h = hash_fmix64(h ^ (w ? w[i] : mw[i].hash));
    free(mw);
    return h;
}

uint64_t attractor_context_of(attractor_index *a, contexts *c, int32_t id)
{
    size_t np = 0;
    uint64_t h = 0x9e3779b97f4a7c15ull;      /* above the root */
    for (int32_t x = id; x != TREE_NONE; x = tree_parent(a->t, x)) {
        uint32_t *e = hash_map_get(&c->memo, (uint64_t)x + 1);
        if (e) {
            h = c->h[*e];
            break;
        }
        xgrow(&c->path, &c->pathcap, np + 1, sizeof *c->path);
        c->path[np++] = x;
    }
    while (np--) {
        h = hash_fmix64(h * 0x100000001b3ull ^ text_key(a, c->path[np]));
        int isnew;
        uint32_t *e = hash_map_put(&c->memo, (uint64_t)c->path[np] + 1, &isnew);
        xgrow(&c->h, &c->cap, c->n + 1, sizeof *c->h);
        c->h[c->n] = h;
        *e = (uint32_t)c->n++;
    }
    return h;
}

size_t attractor_distinct_contexts(attractor_index *a, contexts *c, const int32_t *mem, size_t n)
{
    hash_map seen = {0};
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int isnew;
        hash_map_put(&seen, attractor_context_of(a, c, a->ns[mem[i]].parent), &isnew);
        k += isnew != 0;
    }
    hash_map_free(&seen);
    return k;
}
