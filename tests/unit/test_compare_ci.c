/* tests/unit/test_compare_ci.c — compare's bootstrap intervals (core/compare_ci.c): a side
 * of one repeated text has no spread at all; twenty different texts against one repeated
 * text differ in groups and distinct-n; equal token entropies do not differ. */
#include "tests/test.h"
#include "core/compare.h"
#include "core/mem.h"
#include "core/tree.h"
#include <stdlib.h>

TEST(compare_intervals_spread_and_differences)
{
    tree *t = tree_new();
    int32_t root = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "Q", 1);
    compare_result r;
    memset(&r, 0, sizeof r);
    const char *texts[2][20];
    char own[20][32];
    tree_alt alts[2] = { { "x", 1, log(0.5) }, { "y", 1, log(0.5) } };   /* 1 bit per token */
    for (int s = 0; s < 2; s++) {
        r.ids[s] = xmalloc(20 * sizeof *r.ids[s]);
        for (int i = 0; i < 20; i++) {
            for (int k = 0; k < 5; k++)       /* a 5-letter word unlike every other text's */
                own[i][k] = (char)('a' + (i * 7 + k * 11) % 26);
            snprintf(own[i] + 5, sizeof own[i] - 5, " n%d", i);
            const char *tx = s ? "same words" : own[i];
            int32_t id = tree_add_child(t, root, TREE_ORIGIN_MODEL, "", 0);
            tree_append_token(t, id, tx, strlen(tx), log(0.5), alts, 2, 1);
            r.ids[s][i] = id;
            texts[s][i] = tree_get(t, id)->text;
        }
        compare_stats_from_texts(&r.side[s], texts[s], 20, 0.8);
        r.side[s].token_entropy = 1;
    }
    compare_result_intervals(&r, t);
    REQUIRE(r.ci[0].known && r.diff.known);
    CHECK_INT(r.side[0].ngroups, 20);
    CHECK_INT(r.side[1].ngroups, 1);
    /* one repeated text: every resample is the same */
    CHECK_NEAR(r.ci[1].groups.low, 1, 1e-9);
    CHECK_NEAR(r.ci[1].groups.high, 1, 1e-9);
    CHECK_NEAR(r.ci[1].distinct[0].low, 0.05, 1e-9);
    CHECK_NEAR(r.ci[1].distinct[0].high, 0.05, 1e-9);
    CHECK_NEAR(r.ci[1].entropy.high, 0, 1e-9);
    /* twenty texts: the interval holds the figure (bias moved back, clipped at 20) */
    CHECK(r.ci[0].groups.low < 20 && r.ci[0].groups.high <= 20 && r.ci[0].groups.high >= 19);
    CHECK(r.ci[0].distinct[0].low <= 1 && r.ci[0].distinct[0].high <= 1);
    /* A − B */
    CHECK_NEAR(r.diff.groups.value, 19, 1e-9);
    CHECK(r.diff.groups.outside && r.diff.groups.low > 10);
    CHECKF(r.diff.distinct[0].outside && r.diff.distinct[0].low > 0.5, "%g [%g, %g] A %g [%g, %g]", r.diff.distinct[0].value, r.diff.distinct[0].low, r.diff.distinct[0].high, r.ci[0].distinct[0].value, r.ci[0].distinct[0].low, r.ci[0].distinct[0].high);
    CHECK_NEAR(r.diff.token_entropy.value, 0, 1e-9);
    CHECK(!r.diff.token_entropy.outside);
    for (int s = 0; s < 2; s++) {
        compare_stats_free(&r.side[s]);
        free(r.ids[s]);
    }
    tree_free(t);
}
