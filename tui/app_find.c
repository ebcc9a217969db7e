/* tui/app_find.c — finding nodes: the pre-order walk the jumps share, search ("/", n, N)
 * with its history and hit count, and moves between attractors (A, C-a) and through one
 * attractor's members (], [).  Handlers return APP_CH_* flags; nothing here draws. */
#include "tui/app.h"
#include "tui/dialog.h"
#include "core/mem.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEARCH_HISTORY 50   /* queries kept for the prompt's Up */

/* The whole tree in pre-order (allocated; a search is a user act, so once per act is
 * fine).  *at receives the cursor's place. */
static int32_t *preorder(app *a, size_t *n, size_t *at)
{
    tree *t = a->ses.t;
    int32_t cap = tree_capacity(t);
    *n = *at = 0;
    if (cap <= 0)
        return NULL;
    int32_t *order = xmalloc((size_t)cap * sizeof *order);
    tree_iter it;
    tree_iter_init(&it, t, tree_root(t), TREE_DFS);
    for (int32_t id; (id = tree_iter_next(&it)) != TREE_NONE;) {
        if (id == a->ses.cursor)
            *at = *n;
        order[(*n)++] = id;
    }
    tree_iter_done(&it);
    return order;
}

int32_t app_find_next(app *a, int dir, int (*pred)(app *, int32_t, const void *), const void *ud)
{
    size_t n, at;
    int32_t *order = preorder(a, &n, &at);
    int32_t found = TREE_NONE;
    for (size_t k = 1; k <= n && found == TREE_NONE; k++) {
        size_t i = dir > 0 ? (at + k) % n : (at + n - k % n) % n;
        if (pred(a, order[i], ud))
            found = order[i];
    }
    free(order);
    return found;
}

/* ---- search ---------------------------------------------------------------------- */

static int matches(app *a, int32_t id, const char *q)
{
    tree_node *n = tree_get(a->ses.t, id);
    return n && app_text_matches(q, n->text, n->text_len);
}

unsigned app_search_step(app *a, int dir)
{
    if (!a->search.query || !*a->search.query) {
        app_message(a, 0, "no search yet (/ starts one)");
        return APP_CH_DRAW;
    }
    /* Every hit in pre-order: the one after (or before) the cursor, and its rank. */
    size_t n, at, total = 0, rank = 0, first = 0, last = 0;
    int32_t *order = preorder(a, &n, &at);
    int32_t found = TREE_NONE;
    for (size_t i = 0; i < n; i++) {
        if (!matches(a, order[i], a->search.query))
            continue;
        total++;
        if (total == 1)
            first = i;
        last = i;
        if (dir > 0 && i > at && found == TREE_NONE) {
            found = order[i];
            rank = total;
        }
        if (dir < 0 && i < at) {
            found = order[i];
            rank = total;
        }
    }
    if (total && found == TREE_NONE) {    /* wrap around */
        found = order[dir > 0 ? first : last];
        rank = dir > 0 ? 1 : total;
    }
    free(order);
    if (found == TREE_NONE) {
        app_message(a, 1, "not found: %s", a->search.query);
        return APP_CH_DRAW;
    }
    int merged = a->merge_view;
    unsigned f = app_goto(a, found) | APP_CH_DRAW;
    if (merged && !a->merge_view)
        app_message(a, 0, "/%s  %zu/%zu  (merge view off, to show node #%d; M turns it on)", a->search.query, rank,
                    total, (int)found);
    else
        app_message(a, 0, "/%s  %zu/%zu", a->search.query, rank, total);
    return f;
}

static void history_add(app *a, const char *q)
{
    if (a->search.nhist && !strcmp(a->search.hist[a->search.nhist - 1], q))
        return;
    if (a->search.nhist == SEARCH_HISTORY) {
        free(a->search.hist[0]);
        memmove(a->search.hist, a->search.hist + 1, (a->search.nhist - 1) * sizeof *a->search.hist);
        a->search.nhist--;
    }
    xgrow(&a->search.hist, &a->search.cap, a->search.nhist + 1, sizeof *a->search.hist);
    a->search.hist[a->search.nhist++] = xstrdup(q);
}

static unsigned on_search(app *a, const char *text, size_t len)
{
    if (!len) {    /* Enter on an empty line repeats the last query */
        if (!a->search.nhist)
            return APP_CH_DRAW;
        text = a->search.hist[a->search.nhist - 1];
        len = strlen(text);
    }
    char *q = xstrndup(text, len);
    free(a->search.query);
    a->search.query = q;
    history_add(a, q);
    return app_search_step(a, 1);
}

unsigned app_search_open(app *a)
{
    dialog_prompt(a, "/", "", 0, on_search);
    dialog_prompt_history(a, a->search.hist, a->search.nhist);
    return APP_CH_DRAW;
}

void app_search_free(app *a)
{
    for (size_t i = 0; i < a->search.nhist; i++)
        free(a->search.hist[i]);
    free(a->search.hist);
    free(a->search.query);
    a->search.query = NULL;
    a->search.hist = NULL;
    a->search.nhist = a->search.cap = 0;
}

/* ---- attractors ------------------------------------------------------------------ */

static int is_member(const app_attractor_item *it, int32_t id)
{
    for (size_t k = 0; k < it->nmembers; k++)
        if (it->members[k] == id)
            return 1;
    return it->id == id;
}

/* The attractor the cursor is in: the one A or ] last went to when the cursor is still
 * one of its members (several attractors may share nodes), else the first listed that
 * starts at the cursor, else the first that holds it; n when none. */
static size_t current_attractor(app *a, const app_attractor_item *items, size_t n)
{
    int32_t c = a->ses.cursor;
    if (a->an.nav < n && items[a->an.nav].id == a->an.nav_id && is_member(&items[a->an.nav], c))
        return a->an.nav;
    for (size_t i = 0; i < n; i++)
        if (items[i].id == c)
            return i;
    for (size_t i = 0; i < n; i++)
        if (is_member(&items[i], c))
            return i;
    return n;
}

static size_t attractor_items(app *a, app_attractor_item **out)
{
    size_t max = a->an.nitems + a->an.nmarked;
    *out = xmalloc((max ? max : 1) * sizeof **out);
    return app_attractor_items(a, *out, max);
}

/* Goes to attractor `next` of the list (its first member); frees items. */
static unsigned go_attractor(app *a, app_attractor_item *items, size_t n, size_t next)
{
    a->an.nav = next;
    a->an.nav_id = items[next].id;
    int32_t id = items[next].id;
    size_t nm = items[next].nmembers ? items[next].nmembers : 1;
    free(items);
    unsigned f = app_goto(a, id) | APP_CH_DRAW;
    if (nm > 1)
        app_message(a, 0, "attractor %zu/%zu, member 1/%zu (] and [ step through its members)", next + 1, n, nm);
    else
        app_message(a, 0, "attractor %zu/%zu", next + 1, n);
    return f;
}

unsigned app_attractor_jump(app *a, int dir)
{
    app_attractor_item *items;
    size_t n = attractor_items(a, &items);
    if (!n) {
        free(items);
        app_message(a, 0, "no attractors yet (m marks the cursor node)");
        return APP_CH_DRAW;
    }
    size_t at = current_attractor(a, items, n);
    return go_attractor(a, items, n, at == n ? (dir > 0 ? 0 : n - 1) : (at + n + (dir > 0 ? 1 : n - 1)) % n);
}

unsigned app_attractor_member(app *a, int dir)
{
    app_attractor_item *items;
    size_t n = attractor_items(a, &items);
    size_t at = current_attractor(a, items, n);
    if (at == n) {
        free(items);
        app_message(a, 0, "the cursor is in no attractor (A goes to the next one)");
        return APP_CH_DRAW;
    }
    const app_attractor_item *it = &items[at];
    size_t nm = it->nmembers, k = 0;
    while (k < nm && it->members[k] != a->ses.cursor)
        k++;
    size_t next = k == nm ? 0 : (k + nm + (dir > 0 ? 1 : nm - 1)) % nm;
    int32_t id = nm ? it->members[next] : it->id;
    a->an.nav = at;
    a->an.nav_id = it->id;
    free(items);
    unsigned f = app_goto(a, id) | APP_CH_DRAW;
    app_message(a, 0, "attractor %zu/%zu, member %zu/%zu", at + 1, n, nm ? next + 1 : 1, nm ? nm : 1);
    return f;
}

unsigned app_attractor_pick(app *a, size_t i)
{
    app_attractor_item *items;
    size_t n = attractor_items(a, &items);
    if (i >= n) {
        free(items);
        return 0;
    }
    if (current_attractor(a, items, n) == i && items[i].nmembers > 1) {
        free(items);
        return app_attractor_member(a, 1);
    }
    return go_attractor(a, items, n, i);
}

int app_text_matches(const char *needle, const char *s, size_t len)
{
    size_t m = strlen(needle);
    if (!m)
        return 0;
    for (size_t i = 0; i + m <= len; i++) {
        size_t k = 0;
        while (k < m) {
            char x = s[i + k], y = needle[k];
            if (x >= 'A' && x <= 'Z')
                x = (char)(x + 32);
            if (y >= 'A' && y <= 'Z')
                y = (char)(y + 32);
            if (x != y)
                break;
            k++;
        }
        if (k == m)
            return 1;
    }
    return 0;
}

unsigned app_search_clear(app *a)
{
    free(a->search.query);
    a->search.query = NULL;
    return APP_CH_DRAW;
}
