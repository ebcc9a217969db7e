#include "tests/test.h"
#include "core/tree.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TEST(tree_add_and_moves)
{
    tree *t = tree_new();
    int32_t r = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "Once", 4);
    int32_t a = tree_add_child(t, r, TREE_ORIGIN_MODEL, " upon", 5);
    int32_t b = tree_add_child(t, r, TREE_ORIGIN_MODEL, " more", 5);
    int32_t c = tree_add_child(t, a, TREE_ORIGIN_MODEL, " a time", 7);
    CHECK_INT(tree_count(t), 4);
    CHECK_INT(tree_root(t), r);
    CHECK_INT(tree_next_sibling(t, a), b);
    CHECK_INT(tree_prev_sibling(t, b), a);
    CHECK_INT(tree_prev_sibling(t, a), TREE_NONE);
    CHECK_INT(tree_parent(t, c), a);
    CHECK_INT(tree_child(t, r), a);
    tree_visit(t, b);
    CHECK_INT(tree_child(t, r), b);            /* → goes to the last visited child */
    char *s = tree_path_text(t, c, NULL);
    CHECK_STR(s, "Once upon a time");
    free(s);
    CHECK_INT(tree_depth(t, c), 2);
    CHECK_INT(tree_max_depth(t), 2);
    CHECK_INT(tree_leaves(t), 2);
    tree_free(t);
}

TEST(tree_tokens_and_text)
{
    tree *t = tree_new();
    int32_t r = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "Q:", 2);
    int32_t a = tree_add_child(t, r, TREE_ORIGIN_MODEL, "", 0);
    tree_alt alts[] = { { " yes", 4, -0.1 }, { " no", 3, -2.5 } };
    tree_append_token(t, a, " yes", 4, -0.1, alts, 2, 1);
    tree_append_token(t, a, ".", 1, -0.5, NULL, 0, 1);
    tree_node *n = tree_get(t, a);
    CHECK_STR(n->text, " yes.");
    CHECK_INT(n->ntokens, 2);
    size_t len;
    CHECK_STR(tree_top_text(n, 0, 1, &len), " no");
    CHECK_NEAR(tree_top_logprob(n, 0, 1), -2.5, 1e-6);
    CHECK_STR(tree_token_text(n, 1, NULL), ".");
    CHECK(tree_top_text(n, 1, 0, NULL) == NULL);
    tree_set_model(t, a, "m1");
    int32_t b = tree_add_child(t, r, TREE_ORIGIN_MODEL, "x", 1);
    tree_set_model(t, b, "m1");
    CHECK_INT(tree_get(t, a)->model, tree_get(t, b)->model);   /* interned once */
    CHECK_STR(tree_model(t, b), "m1");
    tree_free(t);
}

TEST(tree_delete_undelete_keeps_ids)
{
    tree *t = tree_new();
    int32_t r = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "r", 1);
    int32_t a = tree_add_child(t, r, TREE_ORIGIN_MODEL, "a", 1);
    int32_t b = tree_add_child(t, r, TREE_ORIGIN_MODEL, "b", 1);
    int32_t c = tree_add_child(t, r, TREE_ORIGIN_MODEL, "c", 1);
    int32_t b1 = tree_add_child(t, b, TREE_ORIGIN_MODEL, "b1", 2);
    int idx = tree_delete(t, b);
    CHECK_INT(idx, 1);
    CHECK(tree_get(t, b) == NULL && tree_get(t, b1) == NULL);
    CHECK_INT(tree_count(t), 3);
    CHECK_INT(tree_next_sibling(t, a), c);
    int32_t d = tree_add_child(t, r, TREE_ORIGIN_MODEL, "d", 1);
    CHECK(d != b && d != b1);                 /* ids are never reused */
    CHECK_INT(tree_undelete(t, b, idx), 0);
    CHECK_INT(tree_next_sibling(t, a), b);
    CHECK_INT(tree_child(t, b), b1);
    CHECK_INT(tree_count(t), 6);
    CHECK_INT(tree_delete(t, r), -1);         /* the root stays */
    tree_free(t);
}

TEST(tree_iteration_orders)
{
    tree *t = tree_new();
    int32_t r = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "r", 1);
    int32_t a = tree_add_child(t, r, TREE_ORIGIN_MODEL, "a", 1);
    int32_t b = tree_add_child(t, r, TREE_ORIGIN_MODEL, "b", 1);
    int32_t a1 = tree_add_child(t, a, TREE_ORIGIN_MODEL, "a1", 2);
    int32_t want_dfs[] = { r, a, a1, b }, want_bfs[] = { r, a, b, a1 };
    tree_iter it;
    int i = 0;
    tree_iter_init(&it, t, r, TREE_DFS);
    for (int32_t id; (id = tree_iter_next(&it)) != TREE_NONE; i++)
        CHECK(i < 4 && id == want_dfs[i]);
    tree_iter_done(&it);
    CHECK_INT(i, 4);
    i = 0;
    tree_iter_init(&it, t, r, TREE_BFS);
    for (int32_t id; (id = tree_iter_next(&it)) != TREE_NONE; i++)
        CHECK(i < 4 && id == want_bfs[i]);
    tree_iter_done(&it);
    CHECK_INT(i, 4);
    i = 0;   /* skipping a's subtree */
    tree_iter_init(&it, t, r, TREE_DFS);
    for (int32_t id; (id = tree_iter_next(&it)) != TREE_NONE; i++)
        if (id == a)
            tree_iter_skip(&it);
    tree_iter_done(&it);
    CHECK_INT(i, 3);
    tree_free(t);
}

TEST(tree_deep_chain_without_recursion)
{
    tree *t = tree_new();
    int32_t id = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "x", 1);
    for (int i = 0; i < 100000; i++)
        id = tree_add_child(t, id, TREE_ORIGIN_MODEL, "y", 1);
    CHECK_INT(tree_max_depth(t), 100000);
    CHECK_INT(tree_depth(t, id), 100000);
    size_t len;
    char *s = tree_path_text(t, id, &len);
    CHECK_INT(len, 100001);
    free(s);
    size_t n = 0;
    tree_iter it;
    tree_iter_init(&it, t, tree_root(t), TREE_DFS);
    while (tree_iter_next(&it) != TREE_NONE)
        n++;
    tree_iter_done(&it);
    CHECK_INT(n, 100001);
    CHECK_INT(tree_delete(t, 1), 0);
    CHECK_INT(tree_count(t), 1);
    tree_purge(t);
    tree_free(t);
}

TEST(tree_set_parent_refuses_cycles)
{
    tree *t = tree_new();
    int32_t r = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "r", 1);
    int32_t a = tree_add_child(t, r, TREE_ORIGIN_MODEL, "a", 1);
    int32_t b = tree_add_child(t, a, TREE_ORIGIN_MODEL, "b", 1);
    CHECK_INT(tree_set_parent(t, a, b), -1);
    CHECK_INT(tree_set_parent(t, b, r), 0);
    CHECK_INT(tree_get(t, r)->nchildren, 2);
    CHECK_INT(tree_add_with_id(t, a, r, TREE_ORIGIN_MODEL, "dup", 3), -1);
    tree_free(t);
}

static int ev_count[8];
static void count_ev(void *ud, tree *t, int kind, int32_t id)
{
    (void)ud; (void)t; (void)id;
    if (kind >= 0 && kind < 8)
        ev_count[kind]++;
}

TEST(tree_set_marks_and_flags_notify)
{
    tree *t = tree_new();
    int32_t r = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "r", 1);
    int32_t a = tree_add_child(t, r, TREE_ORIGIN_MODEL, "a", 1);
    for (int i = 0; i < 8; i++)
        ev_count[i] = 0;
    tree_observe(t, count_ev, NULL);
    tree_set_marks(t, a, TREE_MARK_BOOKMARK);
    CHECK_INT(tree_get(t, a)->marks, TREE_MARK_BOOKMARK);
    CHECK_INT(ev_count[TREE_EV_MARK], 1);
    tree_set_marks(t, a, TREE_MARK_BOOKMARK);              /* no change: no event */
    CHECK_INT(ev_count[TREE_EV_MARK], 1);
    tree_set_flag(t, r, TREE_FLAG_FOLDED, 1);
    CHECK(tree_get(t, r)->flags & TREE_FLAG_FOLDED);
    CHECK_INT(ev_count[TREE_EV_MARK], 2);
    tree_set_flag(t, r, TREE_FLAG_FOLDED, 1);
    CHECK_INT(ev_count[TREE_EV_MARK], 2);
    tree_set_flag(t, r, TREE_FLAG_FOLDED, 0);
    CHECK(!(tree_get(t, r)->flags & TREE_FLAG_FOLDED));
    tree_set_flag(t, a, TREE_FLAG_ALIVE, 0);                /* not a flag callers set */
    CHECK(tree_get(t, a) != NULL);
    tree_set_flag(t, a, TREE_FLAG_INCOMPLETE, 1);
    CHECK(tree_get(t, a)->flags & TREE_FLAG_INCOMPLETE);
    tree_set_origin(t, a, TREE_ORIGIN_EDIT);
    CHECK_INT(tree_get(t, a)->origin, TREE_ORIGIN_EDIT);
    CHECK_INT(ev_count[TREE_EV_MARK], 5);
    tree_unobserve(t, count_ev, NULL);
    tree_free(t);
}

TEST(tree_content_restore_exact)
{
    tree *t = tree_new();
    int32_t r = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "Q:", 2);
    int32_t a = tree_add_child(t, r, TREE_ORIGIN_MODEL, "", 0);
    tree_alt alts[] = { { " yes", 4, -0.1 }, { " no", 3, -2.5 } };
    tree_append_token(t, a, " yes", 4, -0.1, alts, 2, 1);
    tree_append_token(t, a, ".", 1, -0.5, NULL, 0, 1);
    tree_set_token_entropy(t, a, 0, 0.75);
    tree_content *before = tree_content_save(t, a);
    CHECK(before != NULL);
    CHECK(tree_content_save(t, 99) == NULL);
    tree_set_text(t, a, " maybe, a much longer text than before", 38);
    tree_clear_tokens(t, a);
    tree_set_origin(t, a, TREE_ORIGIN_EDIT);
    tree_content *after = tree_content_save(t, a);
    for (int i = 0; i < 8; i++)
        ev_count[i] = 0;
    tree_observe(t, count_ev, NULL);
    CHECK_INT(tree_content_restore(t, a, before), 0);
    CHECK_INT(ev_count[TREE_EV_TEXT], 1);
    tree_node *n = tree_get(t, a);
    CHECK_STR(n->text, " yes.");
    CHECK_INT(n->origin, TREE_ORIGIN_MODEL);
    CHECK_INT(n->ntokens, 2);
    CHECK_STR(tree_token_text(n, 1, NULL), ".");
    CHECK_STR(tree_top_text(n, 0, 1, NULL), " no");
    CHECK_NEAR(tree_top_logprob(n, 0, 1), -2.5, 1e-6);
    CHECK_NEAR(n->tokens[0].entropy, 0.75, 1e-6);
    CHECK_INT(tree_content_restore(t, a, after), 0);        /* and forwards again */
    n = tree_get(t, a);
    CHECK_STR(n->text, " maybe, a much longer text than before");
    CHECK_INT(n->ntokens, 0);
    CHECK_INT(n->origin, TREE_ORIGIN_EDIT);
    tree_delete(t, a);
    CHECK_INT(tree_content_restore(t, a, before), -1);      /* a deleted node is not written */
    tree_unobserve(t, count_ev, NULL);
    tree_content_free(before);
    tree_content_free(after);
    tree_free(t);
}

TEST(tree_finish_gives_back_the_slack_of_a_full_distribution_and_shares_its_texts)
{
    tree *t = tree_new();
    int32_t root = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "p", 1);
    int32_t id = tree_add_child(t, root, TREE_ORIGIN_MODEL, "", 0);
    enum { NA = 1000 };
    static tree_alt alts[NA];
    static char txt[NA][8];
    for (int j = 0; j < NA; j++) {
        int l = snprintf(txt[j], sizeof txt[j], "a%d", j);
        txt[j][1] = j % 2 ? 0 : 'a';                      /* a NUL inside some */
        alts[j] = (tree_alt){ txt[j], (size_t)l, -0.001 * j };
    }
    tree_node *n = tree_get(t, id);
    for (int k = 0; k < 40 && (k < 2 || n->cap_tops - n->ntops <= n->ntops / 8); k++) {
        tree_append_token(t, id, txt[k % 8], strlen(txt[k % 8] + 2) + 2, -0.5, alts, NA, 1);
        n = tree_get(t, id);
    }
    REQUIRE(n->cap_tops - n->ntops > n->ntops / 8);             /* grown with slack */
    uint32_t ntok = n->ntokens;
    tree_set_finish(t, id, "length");
    n = tree_get(t, id);
    CHECK_INT(n->cap_tops, n->ntops);
    CHECK(n->pool_cap - n->pool_len <= n->pool_len / 8);
    size_t distinct = 0;                  /* every text once: the alternatives, the tokens */
    for (int j = 0; j < NA; j++)
        distinct += alts[j].len + 1;
    for (int k = 0; k < 8; k++)
        distinct += strlen(txt[k] + 2) + 3;
    CHECKF(n->pool_len <= distinct, "pool %u bytes for %zu bytes of distinct texts (%u tokens)",
           n->pool_len, distinct, ntok);
    CHECK(n->cap_tokens - n->ntokens <= n->ntokens / 8);
    CHECK_STR(tree_finish(t, id), "length");
    int bad = 0;
    for (uint32_t k = 0; k < n->ntokens; k++)
        for (uint32_t j = 0; j < NA; j++) {
            size_t l;
            const char *s = tree_top_text(n, k, j, &l);
            bad += l != alts[j].len || memcmp(s, alts[j].text, l) || tree_top_logprob(n, k, j) != (float)alts[j].logprob;
        }
    CHECK_INT(bad, 0);
    tree_append_token(t, id, "x", 1, -1, alts, 3, 1);       /* a finished node still grows */
    CHECK_INT(tree_get(t, id)->ntokens, ntok + 1);
    tree_free(t);
}
