/* core/tree_pool.c — a node's token storage: tokens appended to its arrays and pool, and
 * made compact once it stops growing (arrays trimmed to their size, each distinct text once
 * in the pool); see tree.h.  Node structs only: the tree's events are tree.c's. */
#include "core/tree.h"
#include "core/mem.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- tokens appended ---- */

float tree_logprob(double lp)
{
    if (isnan(lp))
        return NAN;
    return lp > 0 ? 0.0f : lp < TREE_LOGPROB_MIN ? (float)TREE_LOGPROB_MIN : (float)lp;
}

static uint32_t pool_add(tree_node *n, const char *s, size_t len)
{
    size_t cap = n->pool_cap;
    xgrow(&n->pool, &cap, (size_t)n->pool_len + len + 1, 1);
    n->pool_cap = (uint32_t)cap;
    uint32_t off = n->pool_len;
    if (len)
        memcpy(n->pool + off, s, len);
    n->pool[off + len] = 0;   /* each piece is NUL-terminated in the pool */
    n->pool_len += (uint32_t)len + 1;
    return off;
}

void tree_node_append_token(tree_node *n, const char *text, size_t len, double logprob,
                            const tree_alt *alts, size_t nalts)
{
    size_t cap = n->cap_tokens;
    xgrow(&n->tokens, &cap, (size_t)n->ntokens + 1, sizeof *n->tokens);
    n->cap_tokens = (uint32_t)cap;
    tree_token *tk = &n->tokens[n->ntokens++];
    tk->tok.off = pool_add(n, text, len);
    tk->tok.len = (uint32_t)len;
    tk->tok.logprob = tree_logprob(logprob);
    tk->entropy = NAN;
    tk->top = n->ntops;
    tk->ntop = (uint32_t)nalts;
    cap = n->cap_tops;
    xgrow(&n->tops, &cap, (size_t)n->ntops + nalts, sizeof *n->tops);
    n->cap_tops = (uint32_t)cap;
    for (size_t i = 0; i < nalts; i++) {
        tree_piece *p = &n->tops[n->ntops++];
        p->off = pool_add(n, alts[i].text, alts[i].len);
        p->len = (uint32_t)alts[i].len;
        p->logprob = tree_logprob(alts[i].logprob);
    }
}

void tree_node_reserve_tokens(tree_node *n, size_t ntokens, size_t ntops, size_t pool)
{
    if (n->cap_tokens < n->ntokens + ntokens) {             /* exactly: no slack to trim */
        n->cap_tokens = (uint32_t)(n->ntokens + ntokens);
        n->tokens = xrealloc(n->tokens, n->cap_tokens * sizeof *n->tokens);
    }
    if (n->cap_tops < n->ntops + ntops) {
        n->cap_tops = (uint32_t)(n->ntops + ntops);
        n->tops = xrealloc(n->tops, n->cap_tops * sizeof *n->tops);
    }
    if (n->pool_cap < n->pool_len + pool) {
        n->pool_cap = (uint32_t)(n->pool_len + pool);
        n->pool = xrealloc(n->pool, n->pool_cap);
    }
}

/* ---- texts shared within a node's pool ---- */

static uint32_t bytes_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h ^ (uint32_t)n;
}

void tree_node_share_texts(tree_node *n)
{
    if (n->ntops < TREE_SHARE_MIN || !n->pool)
        return;
    size_t np = (size_t)n->ntokens + n->ntops, mask = 64;
    while (mask < 2 * np)
        mask *= 2;
    /* slot: the index + 1 of a kept piece (its new offset and length in kept) */
    size_t room = 0;                      /* every text once: at most all of them */
    for (size_t i = 0; i < np; i++)
        room += (size_t)(i < n->ntokens ? n->tokens[i].tok.len : n->tops[i - n->ntokens].len) + 1;
    if (room > UINT32_MAX)
        return;
    uint32_t *slot = xcalloc(mask, sizeof *slot);
    tree_piece *kept = xmalloc(np * sizeof *kept);
    char *pool = xmalloc(room);
    size_t nk = 0, len = 0;
    mask--;
    for (size_t i = 0; i < np; i++) {
        tree_piece *p = i < n->ntokens ? &n->tokens[i].tok : &n->tops[i - n->ntokens];
        const char *s = n->pool + p->off;
        size_t h = bytes_hash(s, p->len) & mask;
        for (; slot[h]; h = (h + 1) & mask) {
            const tree_piece *k = &kept[slot[h] - 1];
            if (k->len == p->len && !memcmp(pool + k->off, s, p->len))
                break;
        }
        if (!slot[h]) {
            memcpy(pool + len, s, p->len);
            pool[len + p->len] = 0;
            kept[nk] = (tree_piece){ (uint32_t)len, p->len, 0 };
            slot[h] = (uint32_t)++nk;
            len += p->len + 1;
        }
        p->off = kept[slot[h] - 1].off;
    }
    free(slot);
    free(kept);
    free(n->pool);
    n->pool = len < room ? xrealloc(pool, len ? len : 1) : pool;
    n->pool_len = n->pool_cap = (uint32_t)len;
}

/* Appending grows the arrays by half again each time; with full distributions (thousands
 * of alternatives per token) that slack is a third of the tree.  Only when it is worth a
 * copy. */
void tree_node_trim(tree_node *n)
{
#define TRIM(ptr, len, cap, size) do { \
        if ((len) && (cap) - (len) > (len) / 8) { \
            (ptr) = xrealloc((ptr), (size_t)(len) * (size)); \
            (cap) = (len); \
        } } while (0)
    TRIM(n->tokens, n->ntokens, n->cap_tokens, sizeof *n->tokens);
    TRIM(n->tops, n->ntops, n->cap_tops, sizeof *n->tops);
    if (n->ntops >= TREE_SHARE_MIN)
        tree_node_share_texts(n);
    else
        TRIM(n->pool, n->pool_len, n->pool_cap, 1);
#undef TRIM
}
