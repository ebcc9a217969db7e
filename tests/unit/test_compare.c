#include "tests/test.h"
#include "core/compare.h"
#include <stdlib.h>

/* Hand computation for four samples grouped {0,1} {2} {3}:
 *   entropy = -(1/2 log2 1/2 + 2 · 1/4 log2 1/4) = 0.5 + 1 = 1.5 bits, / log2 4 = 0.75
 *   words:  [the cat sat] [the cat sat] [a dog ran] [the cat ran]
 *   1-grams 12 total, 6 distinct (the cat sat a dog ran)          → 0.5
 *   2-grams  8 total, 5 distinct (the cat, cat sat, a dog, dog ran, cat ran) → 0.625
 *   3-grams  4 total, 3 distinct                                    → 0.75 */
static const char *const hand[] = { "The cat sat.", "the  cat sat", "A dog ran.", "The cat ran!" };

TEST(compare_entropy_counts_by_hand)
{
    double norm = -1;
    size_t one[] = { 8 };
    CHECK_NEAR(compare_entropy_counts(one, 1, &norm), 0, 1e-12);
    CHECK_NEAR(norm, 0, 1e-12);
    size_t flat[] = { 1, 1, 1, 1 };
    CHECK_NEAR(compare_entropy_counts(flat, 4, &norm), 2, 1e-12);
    CHECK_NEAR(norm, 1, 1e-12);
    size_t skew[] = { 2, 1, 1 };
    CHECK_NEAR(compare_entropy_counts(skew, 3, &norm), 1.5, 1e-12);
    CHECK_NEAR(norm, 0.75, 1e-12);
    size_t single[] = { 1 };
    CHECK_NEAR(compare_entropy_counts(single, 1, &norm), 0, 1e-12);
    CHECK_NEAR(norm, 0, 1e-12);                   /* one sample: nothing to normalize by */
    CHECK_NEAR(compare_entropy_counts(NULL, 0, &norm), 0, 1e-12);
}

TEST(compare_distinct_n_by_hand)
{
    size_t d, t;
    CHECK_NEAR(compare_distinct_n(hand, 4, 1, &d, &t), 0.5, 1e-12);
    CHECK_INT(d, 6);
    CHECK_INT(t, 12);
    CHECK_NEAR(compare_distinct_n(hand, 4, 2, &d, &t), 0.625, 1e-12);
    CHECK_INT(d, 5);
    CHECK_INT(t, 8);
    CHECK_NEAR(compare_distinct_n(hand, 4, 3, &d, &t), 0.75, 1e-12);
    CHECK_INT(d, 3);
    CHECK_INT(t, 4);
    /* n-grams never cross samples: two one-word samples have no bigram. */
    const char *const words[] = { "yes", "yes" };
    CHECK_NEAR(compare_distinct_n(words, 2, 2, &d, &t), 0, 1e-12);
    CHECK_INT(t, 0);
    CHECK_NEAR(compare_distinct_n(words, 2, 1, &d, &t), 0.5, 1e-12);
    /* Non-ASCII letters belong to words; punctuation and case do not split or count. */
    const char *const intl[] = { "Café, café!", "naïve CAFÉ" };
    /* café café | naïve cafÉ: only ASCII is folded, so 3 distinct of 4 */
    CHECK_NEAR(compare_distinct_n(intl, 2, 1, &d, &t), 0.75, 1e-12);
    const char *const same[] = { "It's here.", "it's HERE" };
    compare_distinct_n(same, 2, 1, &d, &t);
    CHECK_INT(d, 2);
    CHECK_INT(t, 4);
}

TEST(compare_stats_from_groups_by_hand)
{
    compare_stats st;
    int groups[] = { 7, 7, 3, 9 };
    compare_stats_from_groups(&st, hand, 4, groups);
    CHECK_INT(st.n, 4);
    CHECK_INT(st.ngroups, 3);
    CHECK_NEAR(st.entropy, 1.5, 1e-12);
    CHECK_NEAR(st.entropy_norm, 0.75, 1e-12);
    CHECK_NEAR(st.distinct[0], 0.5, 1e-12);
    CHECK_NEAR(st.distinct[1], 0.625, 1e-12);
    CHECK_NEAR(st.distinct[2], 0.75, 1e-12);
    CHECK(isnan(st.token_entropy));
    REQUIRE(st.ngroups == 3);
    CHECK_INT(st.groups[0].count, 2);              /* largest first */
    CHECK_INT(st.groups[0].rep, 0);
    CHECK_INT(st.groups[0].members[1], 1);
    CHECK_INT(st.groups[1].rep, 2);                /* ties: first seen first */
    CHECK_INT(st.groups[2].rep, 3);
    compare_stats_free(&st);

    int all_same[] = { 1, 1, 1, 1 };
    compare_stats_from_groups(&st, hand, 4, all_same);
    CHECK_INT(st.ngroups, 1);
    CHECK_NEAR(st.entropy, 0, 1e-12);
    CHECK_NEAR(st.entropy_norm, 0, 1e-12);
    compare_stats_free(&st);

    compare_stats_from_groups(&st, NULL, 0, NULL);
    CHECK_INT(st.ngroups, 0);
    CHECK_NEAR(st.entropy, 0, 1e-12);
    compare_stats_free(&st);
}
