/* core/tree.c — see tree.h. */
#include "core/tree.h"
#include "core/mem.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { tree_observer_fn fn; void *ud; } observer;

struct tree {
    tree_node *nodes;
    size_t     nnodes, cap;
    size_t     live;
    /* interned strings: strs[0] unused; hash maps a string to its index */
    char     **strs;
    size_t     nstrs, cap_strs;
    uint32_t  *hash;
    size_t     hash_cap;
    observer  *obs;
    size_t     nobs, cap_obs;
};

static void notify(tree *t, int kind, int32_t id)
{
    for (size_t i = 0; i < t->nobs; i++)
        t->obs[i].fn(t->obs[i].ud, t, kind, id);
}

void tree_observe(tree *t, tree_observer_fn fn, void *ud)
{
    xgrow(&t->obs, &t->cap_obs, t->nobs + 1, sizeof *t->obs);
    t->obs[t->nobs++] = (observer){ fn, ud };
}

void tree_touch(tree *t, int32_t id)
{
    if (tree_get(t, id))
        notify(t, TREE_EV_MARK, id);
}

void tree_unobserve(tree *t, tree_observer_fn fn, void *ud)
{
    for (size_t i = 0; i < t->nobs; i++)
        if (t->obs[i].fn == fn && t->obs[i].ud == ud) {
            memmove(&t->obs[i], &t->obs[i + 1], (t->nobs - i - 1) * sizeof *t->obs);
            t->nobs--;
            return;
        }
}

int64_t tree_now(void)
{
    const char *c = getenv("TERMLOOM_CLOCK");
    if (c && *c)
        return strtoll(c, NULL, 10);
    return (int64_t)time(NULL);
}

tree *tree_new(void)
{
    tree *t = xcalloc(1, sizeof *t);
    t->nstrs = 1;
    xgrow(&t->strs, &t->cap_strs, 1, sizeof *t->strs);
    t->strs[0] = NULL;
    return t;
}

void tree_node_release(tree_node *n)
{
    free(n->children);
    free(n->text);
    free(n->tokens);
    free(n->tops);
    free(n->pool);
    if (n->extra)
        json_decref(n->extra);
    memset(n, 0, sizeof *n);
}

void tree_free(tree *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nnodes; i++)
        tree_node_release(&t->nodes[i]);
    free(t->nodes);
    for (size_t i = 1; i < t->nstrs; i++)
        free(t->strs[i]);
    free(t->strs);
    free(t->hash);
    free(t->obs);
    free(t);
}

/* ---- interned strings ---- */

static uint32_t str_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void intern_rehash(tree *t)
{
    size_t cap = t->hash_cap ? t->hash_cap * 2 : 64;
    uint32_t *h = xcalloc(cap, sizeof *h);
    for (size_t i = 1; i < t->nstrs; i++) {
        size_t j = str_hash(t->strs[i]) & (cap - 1);
        while (h[j])
            j = (j + 1) & (cap - 1);
        h[j] = (uint32_t)i;
    }
    free(t->hash);
    t->hash = h;
    t->hash_cap = cap;
}

uint32_t tree_intern(tree *t, const char *s)
{
    if (!s || !*s)
        return 0;
    if ((t->nstrs + 1) * 2 > t->hash_cap)
        intern_rehash(t);
    size_t j = str_hash(s) & (t->hash_cap - 1);
    while (t->hash[j]) {
        if (!strcmp(t->strs[t->hash[j]], s))
            return t->hash[j];
        j = (j + 1) & (t->hash_cap - 1);
    }
    xgrow(&t->strs, &t->cap_strs, t->nstrs + 1, sizeof *t->strs);
    t->strs[t->nstrs] = xstrdup(s);
    t->hash[j] = (uint32_t)t->nstrs;
    return (uint32_t)t->nstrs++;
}

const char *tree_str(const tree *t, uint32_t handle)
{
    return handle && handle < t->nstrs ? t->strs[handle] : NULL;
}

/* ---- nodes ---- */

tree_node *tree_get(const tree *t, int32_t id)
{
    if (id < 0 || (size_t)id >= t->nnodes)
        return NULL;
    tree_node *n = &t->nodes[id];
    return (n->flags & TREE_FLAG_ALIVE) ? n : NULL;
}

size_t tree_count(const tree *t) { return t->live; }
int32_t tree_capacity(const tree *t) { return (int32_t)t->nnodes; }

int32_t tree_root(const tree *t)
{
    for (size_t i = 0; i < t->nnodes; i++)
        if ((t->nodes[i].flags & TREE_FLAG_ALIVE) && t->nodes[i].parent == TREE_NONE)
            return (int32_t)i;
    return TREE_NONE;
}

static void child_insert(tree_node *p, int32_t id, size_t index)
{
    size_t cap = p->cap_children;
    xgrow(&p->children, &cap, (size_t)p->nchildren + 1, sizeof *p->children);
    p->cap_children = (uint32_t)cap;
    if (index > p->nchildren)
        index = p->nchildren;
    memmove(&p->children[index + 1], &p->children[index], (p->nchildren - index) * sizeof(int32_t));
    p->children[index] = id;
    p->nchildren++;
}

static int child_remove(tree_node *p, int32_t id)
{
    for (uint32_t i = 0; i < p->nchildren; i++)
        if (p->children[i] == id) {
            memmove(&p->children[i], &p->children[i + 1], (p->nchildren - i - 1) * sizeof(int32_t));
            p->nchildren--;
            if (p->last_child == id)
                p->last_child = TREE_NONE;
            return (int)i;
        }
    return -1;
}

static void text_set(tree_node *n, const char *s, size_t len)
{
    size_t cap = n->text_cap;
    xgrow(&n->text, &cap, len + 1, 1);
    n->text_cap = (uint32_t)cap;
    if (len)
        memcpy(n->text, s, len);
    n->text[len] = 0;
    n->text_len = (uint32_t)len;
}

int32_t tree_add_with_id(tree *t, int32_t id, int32_t parent, tree_origin origin,
                         const char *text, size_t len)
{
    if (id < 0 || (parent != TREE_NONE && !tree_get(t, parent)))
        return -1;
    if ((size_t)id < t->nnodes && t->nodes[id].flags)
        return -1;
    if ((size_t)id >= t->nnodes) {
        xgrow(&t->nodes, &t->cap, (size_t)id + 1, sizeof *t->nodes);
        memset(&t->nodes[t->nnodes], 0, ((size_t)id + 1 - t->nnodes) * sizeof *t->nodes);
        t->nnodes = (size_t)id + 1;
    }
    tree_node *n = &t->nodes[id];
    n->parent = parent;
    n->last_child = TREE_NONE;
    n->origin = (uint8_t)origin;
    n->flags = TREE_FLAG_ALIVE;
    n->created = tree_now();
    text_set(n, text ? text : "", text ? len : 0);
    if (parent != TREE_NONE)
        child_insert(&t->nodes[parent], id, t->nodes[parent].nchildren);
    t->live++;
    notify(t, TREE_EV_ADD, id);
    return id;
}

int32_t tree_add_child(tree *t, int32_t parent, tree_origin origin, const char *text, size_t len)
{
    return tree_add_with_id(t, (int32_t)t->nnodes, parent, origin, text, len);
}

int tree_set_parent(tree *t, int32_t id, int32_t parent)
{
    tree_node *n = tree_get(t, id);
    if (!n || (parent != TREE_NONE && !tree_get(t, parent)))
        return -1;
    for (int32_t a = parent; a != TREE_NONE; a = t->nodes[a].parent)
        if (a == id)
            return -1;
    if (n->parent != TREE_NONE)
        child_remove(&t->nodes[n->parent], id);
    n->parent = parent;
    if (parent != TREE_NONE)
        child_insert(&t->nodes[parent], id, t->nodes[parent].nchildren);
    return 0;
}

void tree_set_text(tree *t, int32_t id, const char *text, size_t len)
{
    tree_node *n = tree_get(t, id);
    if (!n)
        return;
    text_set(n, text, len);
    notify(t, TREE_EV_TEXT, id);
}

static void text_append(tree_node *n, const char *text, size_t len)
{
    size_t cap = n->text_cap;
    xgrow(&n->text, &cap, (size_t)n->text_len + len + 1, 1);
    n->text_cap = (uint32_t)cap;
    memcpy(n->text + n->text_len, text, len);
    n->text_len += (uint32_t)len;
    n->text[n->text_len] = 0;
}

void tree_append_text(tree *t, int32_t id, const char *text, size_t len)
{
    tree_node *n = tree_get(t, id);
    if (!n || !len)
        return;
    text_append(n, text, len);
    notify(t, TREE_EV_TEXT, id);
}

void tree_append_token(tree *t, int32_t id, const char *text, size_t len, double logprob,
                       const tree_alt *alts, size_t nalts, int append_text)
{
    tree_node *n = tree_get(t, id);
    if (!n)
        return;
    tree_node_append_token(n, text, len, logprob, alts, nalts);
    if (append_text && len)
        text_append(n, text, len);
    notify(t, TREE_EV_TEXT, id);
}

void tree_reserve_tokens(tree *t, int32_t id, size_t ntokens, size_t ntops, size_t pool)
{
    tree_node *n = tree_get(t, id);
    if (n)
        tree_node_reserve_tokens(n, ntokens, ntops, pool);
}

void tree_take_tokens(tree *t, int32_t id, tree_node *from)
{
    tree_node *n = tree_get(t, id);
    if (!n)
        return;
    free(n->tokens);
    free(n->tops);
    free(n->pool);
    n->tokens = from->tokens;
    n->ntokens = from->ntokens;
    n->cap_tokens = from->cap_tokens;
    n->tops = from->tops;
    n->ntops = from->ntops;
    n->cap_tops = from->cap_tops;
    n->pool = from->pool;
    n->pool_len = from->pool_len;
    n->pool_cap = from->pool_cap;
    from->tokens = NULL;
    from->tops = NULL;
    from->pool = NULL;
    from->ntokens = from->cap_tokens = from->ntops = from->cap_tops = 0;
    from->pool_len = from->pool_cap = 0;
    notify(t, TREE_EV_TEXT, id);
}

void tree_clear_tokens(tree *t, int32_t id)
{
    tree_node *n = tree_get(t, id);
    if (!n)
        return;
    n->ntokens = n->ntops = n->pool_len = 0;
    notify(t, TREE_EV_TEXT, id);
}

void tree_set_token_entropy(tree *t, int32_t id, uint32_t i, double bits)
{
    tree_node *n = tree_get(t, id);
    if (n && i < n->ntokens)
        n->tokens[i].entropy = (float)bits;
}

const char *tree_token_text(const tree_node *n, uint32_t i, size_t *len)
{
    if (i >= n->ntokens)
        return NULL;
    if (len)
        *len = n->tokens[i].tok.len;
    return n->pool + n->tokens[i].tok.off;
}

const char *tree_top_text(const tree_node *n, uint32_t i, uint32_t j, size_t *len)
{
    if (i >= n->ntokens || j >= n->tokens[i].ntop)
        return NULL;
    const tree_piece *p = &n->tops[n->tokens[i].top + j];
    if (len)
        *len = p->len;
    return n->pool + p->off;
}

double tree_top_logprob(const tree_node *n, uint32_t i, uint32_t j)
{
    if (i >= n->ntokens || j >= n->tokens[i].ntop)
        return NAN;
    return n->tops[n->tokens[i].top + j].logprob;
}

void tree_set_model(tree *t, int32_t id, const char *model)
{
    tree_node *n = tree_get(t, id);
    if (n)
        n->model = tree_intern(t, model);
}

void tree_set_finish(tree *t, int32_t id, const char *finish)
{
    tree_node *n = tree_get(t, id);
    if (!n)
        return;
    n->finish = tree_intern(t, finish);
    if (finish)
        tree_node_trim(n);
    notify(t, TREE_EV_FINISH, id);
}

const char *tree_model(const tree *t, int32_t id)
{
    tree_node *n = tree_get(t, id);
    return n ? tree_str(t, n->model) : NULL;
}

const char *tree_finish(const tree *t, int32_t id)
{
    tree_node *n = tree_get(t, id);
    return n ? tree_str(t, n->finish) : NULL;
}

static const char *const origin_names[TREE_ORIGIN_COUNT] = { "prompt", "model", "edit", "forced" };

const char *tree_origin_name(tree_origin o)
{
    return (unsigned)o < TREE_ORIGIN_COUNT ? origin_names[o] : "model";
}

int tree_origin_parse(const char *s, tree_origin *out)
{
    for (int i = 0; i < TREE_ORIGIN_COUNT; i++)
        if (!strcmp(s, origin_names[i])) {
            *out = (tree_origin)i;
            return 0;
        }
    return -1;
}

/* ---- marks, flags, content ---- */

void tree_set_marks(tree *t, int32_t id, unsigned marks)
{
    tree_node *n = tree_get(t, id);
    if (!n || n->marks == (uint8_t)marks)
        return;
    n->marks = (uint8_t)marks;
    notify(t, TREE_EV_MARK, id);
}

void tree_set_flag(tree *t, int32_t id, unsigned flag, int on)
{
    tree_node *n = tree_get(t, id);
    flag &= TREE_FLAG_FOLDED | TREE_FLAG_INCOMPLETE;
    if (!n || !flag || !(n->flags & flag) == !on)
        return;
    if (on)
        n->flags |= (uint8_t)flag;
    else
        n->flags &= (uint8_t)~flag;
    notify(t, TREE_EV_MARK, id);
}

void tree_set_origin(tree *t, int32_t id, tree_origin origin)
{
    tree_node *n = tree_get(t, id);
    if (!n || n->origin == (uint8_t)origin)
        return;
    n->origin = (uint8_t)origin;
    notify(t, TREE_EV_MARK, id);
}

struct tree_content {
    char       *text, *pool;
    uint32_t    text_len, pool_len, ntokens, ntops;
    tree_token *tokens;
    tree_piece *tops;
    uint8_t     origin;
};

static void *dup_bytes(const void *p, size_t n)
{
    void *d = xmalloc(n ? n : 1);
    if (n)
        memcpy(d, p, n);
    return d;
}

tree_content *tree_content_save(const tree *t, int32_t id)
{
    const tree_node *n = tree_get(t, id);
    if (!n)
        return NULL;
    tree_content *c = xcalloc(1, sizeof *c);
    c->text = dup_bytes(n->text, n->text_len);
    c->text_len = n->text_len;
    c->pool = dup_bytes(n->pool, n->pool_len);
    c->pool_len = n->pool_len;
    c->tokens = dup_bytes(n->tokens, n->ntokens * sizeof *n->tokens);
    c->ntokens = n->ntokens;
    c->tops = dup_bytes(n->tops, n->ntops * sizeof *n->tops);
    c->ntops = n->ntops;
    c->origin = n->origin;
    return c;
}

/* Copies n bytes into *dst, growing it (caps are uint32_t in a node). */
static void put_bytes(void *dst, uint32_t *cap32, const void *src, size_t n)
{
    size_t cap = *cap32;
    xgrow(dst, &cap, n ? n : 1, 1);
    *cap32 = (uint32_t)cap;
    if (n)
        memcpy(*(char **)dst, src, n);
}

int tree_content_restore(tree *t, int32_t id, const tree_content *c)
{
    tree_node *n = tree_get(t, id);
    if (!n || !c)
        return -1;
    text_set(n, c->text, c->text_len);
    /* the arrays hold bytes; their caps count elements */
    size_t cap = n->cap_tokens;
    xgrow(&n->tokens, &cap, c->ntokens ? c->ntokens : 1, sizeof *n->tokens);
    n->cap_tokens = (uint32_t)cap;
    if (c->ntokens)
        memcpy(n->tokens, c->tokens, c->ntokens * sizeof *n->tokens);
    n->ntokens = c->ntokens;
    cap = n->cap_tops;
    xgrow(&n->tops, &cap, c->ntops ? c->ntops : 1, sizeof *n->tops);
    n->cap_tops = (uint32_t)cap;
    if (c->ntops)
        memcpy(n->tops, c->tops, c->ntops * sizeof *n->tops);
    n->ntops = c->ntops;
    put_bytes(&n->pool, &n->pool_cap, c->pool, c->pool_len);
    n->pool_len = c->pool_len;
    n->origin = c->origin;
    notify(t, TREE_EV_TEXT, id);
    return 0;
}

void tree_content_free(tree_content *c)
{
    if (!c)
        return;
    free(c->text);
    free(c->pool);
    free(c->tokens);
    free(c->tops);
    free(c);
}

/* ---- deletion ---- */

static void subtree_set_alive(tree *t, int32_t id, int alive)
{
    /* Walk the raw arena: the subtree may already be dead. */
    int32_t *stack = NULL;
    size_t n = 0, cap = 0;
    xgrow(&stack, &cap, 1, sizeof *stack);
    stack[n++] = id;
    while (n) {
        tree_node *nd = &t->nodes[stack[--n]];
        if (alive) {
            nd->flags |= TREE_FLAG_ALIVE;
            t->live++;
        } else {
            nd->flags &= (uint8_t)~TREE_FLAG_ALIVE;
            t->live--;
        }
        xgrow(&stack, &cap, n + nd->nchildren, sizeof *stack);
        for (uint32_t i = 0; i < nd->nchildren; i++)
            stack[n++] = nd->children[i];
    }
    free(stack);
}

int tree_delete(tree *t, int32_t id)
{
    tree_node *n = tree_get(t, id);
    if (!n || n->parent == TREE_NONE)
        return -1;
    notify(t, TREE_EV_DELETE, id);   /* observers see the subtree before it goes */
    int index = child_remove(&t->nodes[n->parent], id);
    subtree_set_alive(t, id, 0);
    return index;
}

int tree_undelete(tree *t, int32_t id, int index)
{
    if (id < 0 || (size_t)id >= t->nnodes)
        return -1;
    tree_node *n = &t->nodes[id];
    if ((n->flags & TREE_FLAG_ALIVE) || !n->text || !tree_get(t, n->parent))
        return -1;
    child_insert(&t->nodes[n->parent], id, index < 0 ? 0 : (size_t)index);
    subtree_set_alive(t, id, 1);
    notify(t, TREE_EV_UNDELETE, id);
    return 0;
}

void tree_purge(tree *t)
{
    for (size_t i = 0; i < t->nnodes; i++)
        if (!(t->nodes[i].flags & TREE_FLAG_ALIVE) && t->nodes[i].text) {
            tree_node_release(&t->nodes[i]);
            t->nodes[i].flags = 0x80;   /* a dead slot: the id is never reused */
        }
}

/* ---- moves ---- */

int32_t tree_parent(const tree *t, int32_t id)
{
    tree_node *n = tree_get(t, id);
    return n ? n->parent : TREE_NONE;
}

int tree_child_index(const tree *t, int32_t id)
{
    tree_node *n = tree_get(t, id);
    if (!n || n->parent == TREE_NONE)
        return -1;
    const tree_node *p = &t->nodes[n->parent];
    for (uint32_t i = 0; i < p->nchildren; i++)
        if (p->children[i] == id)
            return (int)i;
    return -1;
}

int32_t tree_prev_sibling(const tree *t, int32_t id)
{
    int i = tree_child_index(t, id);
    return i > 0 ? t->nodes[t->nodes[id].parent].children[i - 1] : TREE_NONE;
}

int32_t tree_next_sibling(const tree *t, int32_t id)
{
    int i = tree_child_index(t, id);
    if (i < 0)
        return TREE_NONE;
    const tree_node *p = &t->nodes[t->nodes[id].parent];
    return (uint32_t)i + 1 < p->nchildren ? p->children[i + 1] : TREE_NONE;
}

int32_t tree_child(const tree *t, int32_t id)
{
    tree_node *n = tree_get(t, id);
    if (!n || !n->nchildren)
        return TREE_NONE;
    if (tree_get(t, n->last_child) && t->nodes[n->last_child].parent == id)
        return n->last_child;
    return n->children[0];
}

void tree_visit(tree *t, int32_t id)
{
    tree_node *n = tree_get(t, id);
    if (!n)
        return;
    int first = !(n->flags & TREE_FLAG_VISITED);
    n->flags |= TREE_FLAG_VISITED;
    if (first)
        notify(t, TREE_EV_MARK, id);      /* "visited" is saved */
    for (int32_t c = id, p = n->parent; p != TREE_NONE; c = p, p = t->nodes[p].parent)
        t->nodes[p].last_child = c;
}

size_t tree_depth(const tree *t, int32_t id)
{
    size_t d = 0;
    if (!tree_get(t, id))
        return 0;
    for (int32_t p = t->nodes[id].parent; p != TREE_NONE; p = t->nodes[p].parent)
        d++;
    return d;
}

size_t tree_max_depth(const tree *t)
{
    /* One pass in id order would be wrong for loaded files (ids need not be topological);
     * a BFS from each root carries depths along. */
    size_t best = 0;
    size_t *depth = xcalloc(t->nnodes ? t->nnodes : 1, sizeof *depth);
    for (size_t r = 0; r < t->nnodes; r++) {
        if (!(t->nodes[r].flags & TREE_FLAG_ALIVE) || t->nodes[r].parent != TREE_NONE)
            continue;
        tree_iter it;
        tree_iter_init(&it, t, (int32_t)r, TREE_BFS);
        for (int32_t id; (id = tree_iter_next(&it)) != TREE_NONE; ) {
            int32_t p = t->nodes[id].parent;
            depth[id] = p == TREE_NONE ? 0 : depth[p] + 1;
            if (depth[id] > best)
                best = depth[id];
        }
        tree_iter_done(&it);
    }
    free(depth);
    return best;
}

size_t tree_leaves(const tree *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nnodes; i++)
        if ((t->nodes[i].flags & TREE_FLAG_ALIVE) && !t->nodes[i].nchildren)
            n++;
    return n;
}

size_t tree_path(const tree *t, int32_t id, int32_t **out)
{
    size_t d = tree_get(t, id) ? tree_depth(t, id) + 1 : 0;
    int32_t *p = xmalloc((d ? d : 1) * sizeof *p);
    size_t i = d;
    for (int32_t c = id; i > 0; c = t->nodes[c].parent)
        p[--i] = c;
    *out = p;
    return d;
}

char *tree_path_text(const tree *t, int32_t id, size_t *len)
{
    int32_t *path;
    size_t n = tree_path(t, id, &path);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += t->nodes[path[i]].text_len;
    char *s = xmalloc(total + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(s + o, t->nodes[path[i]].text, t->nodes[path[i]].text_len);
        o += t->nodes[path[i]].text_len;
    }
    s[o] = 0;
    free(path);
    if (len)
        *len = o;
    return s;
}

/* ---- iteration ---- */

void tree_iter_init(tree_iter *it, const tree *t, int32_t start, tree_walk walk)
{
    memset(it, 0, sizeof *it);
    it->t = t;
    it->walk = walk;
    it->last = TREE_NONE;
    if (tree_get(t, start)) {
        xgrow(&it->stack, &it->cap, 1, sizeof *it->stack);
        it->stack[it->n++] = start;
    }
}

static void iter_push_children(tree_iter *it, int32_t id)
{
    const tree_node *nd = &it->t->nodes[id];
    xgrow(&it->stack, &it->cap, it->n + nd->nchildren, sizeof *it->stack);
    if (it->walk == TREE_DFS) {
        for (uint32_t i = nd->nchildren; i-- > 0; )
            it->stack[it->n++] = nd->children[i];
    } else {
        for (uint32_t i = 0; i < nd->nchildren; i++)
            it->stack[it->n++] = nd->children[i];
    }
}

int32_t tree_iter_next(tree_iter *it)
{
    if (it->last != TREE_NONE) {
        iter_push_children(it, it->last);
        it->last = TREE_NONE;
    }
    int32_t id;
    if (it->walk == TREE_DFS) {
        if (!it->n)
            return TREE_NONE;
        id = it->stack[--it->n];
    } else {
        if (it->head == it->n)
            return TREE_NONE;
        id = it->stack[it->head++];
        if (it->head > 4096 && it->head * 2 > it->n) {   /* compact the queue */
            memmove(it->stack, it->stack + it->head, (it->n - it->head) * sizeof *it->stack);
            it->n -= it->head;
            it->head = 0;
        }
    }
    it->last = id;
    return id;
}

void tree_iter_skip(tree_iter *it)
{
    it->last = TREE_NONE;
}

void tree_iter_done(tree_iter *it)
{
    free(it->stack);
    it->stack = NULL;
}

size_t tree_bytes(const tree *t, int with_tokens)
{
    size_t b = t->cap * sizeof(tree_node);
    for (size_t i = 0; i < t->nnodes; i++) {
        const tree_node *n = &t->nodes[i];
        b += n->cap_children * sizeof(int32_t) + n->text_cap;
        if (with_tokens)
            b += n->cap_tokens * sizeof(tree_token) + n->cap_tops * sizeof(tree_piece) + n->pool_cap;
    }
    return t->live ? b / t->live : 0;
}
