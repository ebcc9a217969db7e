#include "tests/test.h"
#include "core/entropy.h"
#include "core/tree.h"
#include <math.h>

TEST(entropy_uniform_four_is_two_bits)
{
    double lp = log(0.25), r = -1;
    tree_alt a[] = { { "a", 1, lp }, { "b", 1, lp }, { "c", 1, lp }, { "d", 1, lp } };
    CHECK_NEAR(entropy_topk(a, 4, "a", 1, lp, 0, &r), 2.0, 1e-9);
    CHECK_NEAR(r, 0.0, 1e-9);
}

TEST(entropy_one_hot_is_zero)
{
    double r = -1;
    tree_alt a[] = { { "x", 1, 0.0 } };
    CHECK_NEAR(entropy_topk(a, 1, "x", 1, 0.0, 0, &r), 0.0, 1e-12);
    CHECK_NEAR(r, 0.0, 1e-12);
}

TEST(entropy_truncated_topk_counts_leftover_as_one_outcome)
{
    /* p = .5, .25, leftover .25: H = .5*1 + .25*2 + .25*2 = 1.5 bits */
    double r = -1;
    tree_alt a[] = { { " the", 4, log(0.5) }, { " a", 2, log(0.25) } };
    CHECK_NEAR(entropy_topk(a, 2, " the", 4, log(0.5), 0, &r), 1.5, 1e-9);
    CHECK_NEAR(r, 0.25, 1e-9);
}

TEST(entropy_leftover_zero_two_halves)
{
    double r = -1;
    tree_alt a[] = { { "x", 1, log(0.5) }, { "y", 1, log(0.5) } };
    CHECK_NEAR(entropy_topk(a, 2, "x", 1, log(0.5), 0, &r), 1.0, 1e-9);
    CHECK_NEAR(r, 0.0, 1e-9);
}

TEST(entropy_duplicated_alternatives_count_once)
{
    /* " a" twice must not add its mass twice: same as p = .5, .25 with leftover .25 */
    double r = -1;
    tree_alt a[] = { { " a", 2, log(0.5) }, { " b", 2, log(0.25) }, { " a", 2, log(0.5) } };
    CHECK_NEAR(entropy_topk(a, 3, " a", 2, log(0.5), 0, &r), 1.5, 1e-9);
    CHECK_NEAR(r, 0.25, 1e-9);
    /* the more probable copy wins when copies disagree */
    tree_alt b[] = { { " a", 2, log(0.25) }, { " a", 2, log(0.5) }, { " b", 2, log(0.25) } };
    CHECK_NEAR(entropy_topk(b, 3, NULL, 0, NAN, 0, &r), 1.5, 1e-9);
    CHECK_NEAR(r, 0.25, 1e-9);
}

TEST(entropy_sampled_token_outside_topk_is_an_outcome)
{
    /* alternatives hold .5; the sampled token " c" (.25) is not among them */
    double r = -1;
    tree_alt a[] = { { " a", 2, log(0.5) } };
    CHECK_NEAR(entropy_topk(a, 1, " c", 2, log(0.25), 0, &r), 1.5, 1e-9);
    CHECK_NEAR(r, 0.25, 1e-9);
    /* without alternatives: the token alone, p = .5, leftover .5 → 1 bit */
    CHECK_NEAR(entropy_topk(NULL, 0, "z", 1, log(0.5), 0, &r), 1.0, 1e-9);
    CHECK_NEAR(r, 0.5, 1e-9);
    CHECK(isnan(entropy_topk(NULL, 0, "z", 1, NAN, 0, &r)));
}

TEST(entropy_full_distribution_is_exact)
{
    /* .4 + .4 given as the whole distribution: renormalized to two halves */
    double r = -1;
    tree_alt a[] = { { "x", 1, log(0.4) }, { "y", 1, log(0.4) } };
    CHECK_NEAR(entropy_topk(a, 2, NULL, 0, NAN, 1, &r), 1.0, 1e-9);
    CHECK_NEAR(r, 0.0, 1e-12);
    /* the same list as a top-k: leftover .2 counted as an outcome */
    double h = -(0.4 * log2(0.4)) * 2 - 0.2 * log2(0.2);
    CHECK_NEAR(entropy_topk(a, 2, NULL, 0, NAN, 0, &r), h, 1e-9);
    CHECK_NEAR(r, 0.2, 1e-9);
}

TEST(entropy_node_mean_max_and_sequence)
{
    tree *t = tree_new();
    int32_t root = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "p", 1);
    int32_t a = tree_add_child(t, root, TREE_ORIGIN_MODEL, "", 0);
    double q = log(0.25);
    tree_alt uni[] = { { "a", 1, q }, { "b", 1, q }, { "c", 1, q }, { "d", 1, q } };
    tree_alt hot[] = { { "e", 1, 0.0 } };
    tree_append_token(t, a, "a", 1, q, uni, 4, 1);        /* 2 bits */
    tree_append_token(t, a, "e", 1, 0.0, hot, 1, 1);      /* 0 bits */
    entropy_node_t en;
    entropy_node(tree_get(t, a), &en);
    CHECK_INT(en.ntokens, 2);
    CHECK_NEAR(en.mean, 1.0, 1e-6);
    CHECK_NEAR(en.max, 2.0, 1e-6);
    CHECK_NEAR(en.mean_leftover, 0.0, 1e-6);
    CHECK(en.exact);
    double lp, ppl;
    CHECK_INT(entropy_sequence(tree_get(t, a), &lp, &ppl), 2);
    CHECK_NEAR(lp, q, 1e-6);
    CHECK_NEAR(ppl, exp(-q / 2), 1e-5);
    entropy_node(tree_get(t, root), &en);       /* no tokens: nothing known */
    CHECK_INT(en.ntokens, 0);
    CHECK(isnan(en.mean));
    CHECK_INT(entropy_sequence(tree_get(t, root), &lp, &ppl), 0);
    CHECK(isnan(ppl));
    tree_free(t);
}

TEST(entropy_branch_counts_and_normalized)
{
    double nz;
    size_t c1[] = { 2, 1, 1 };                  /* p = .5 .25 .25 → 1.5 bits over 4 samples */
    CHECK_NEAR(entropy_counts(c1, 3, &nz), 1.5, 1e-12);
    CHECK_NEAR(nz, 0.75, 1e-12);
    size_t c2[] = { 4 };                        /* everything in one group */
    CHECK_NEAR(entropy_counts(c2, 1, &nz), 0.0, 1e-12);
    CHECK_NEAR(nz, 0.0, 1e-12);
    size_t c3[] = { 1, 1, 1, 1, 1, 1, 1, 1 };  /* all distinct: log2 8 = 3 bits, normalized 1 */
    CHECK_NEAR(entropy_counts(c3, 8, &nz), 3.0, 1e-12);
    CHECK_NEAR(nz, 1.0, 1e-12);
    size_t c4[] = { 1 };                        /* one sample: normalized is 0 */
    CHECK_NEAR(entropy_counts(c4, 1, &nz), 0.0, 1e-12);
    CHECK_NEAR(nz, 0.0, 1e-12);
    CHECK_NEAR(entropy_counts(NULL, 0, &nz), 0.0, 1e-12);
}
