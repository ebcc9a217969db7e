/* tests/unit/test_calib.c — core/stat (χ² tail, exact multinomial, bootstrap) and core/calib
 * (first-token calibration) against values computed independently with python3:
 *   chi2 sf: df 2 → exp(-x/2); df 1 → erfc(sqrt(x/2)); df 3, x 10 → erfc(√5) + 2√(5/π)e^-5
 *   exact multinomial: sum of P(x) ≤ P(obs) over every x (itertools loop, math.factorial). */
#include "tests/test.h"
#include "core/backend.h"
#include "core/calib.h"
#include "core/stat.h"
#include "core/tree.h"
#include <jansson.h>
#include <stdlib.h>

TEST(stat_chi2_sf_known_values)
{
    CHECK_NEAR(stat_chi2_sf(3, 2), 0.22313016014842982, 1e-12);
    CHECK_NEAR(stat_chi2_sf(3.841458820694124, 1), 0.05, 1e-10);
    CHECK_NEAR(stat_chi2_sf(9.487729036781154, 4), 0.05, 1e-10);
    CHECK_NEAR(stat_chi2_sf(10, 3), 0.018566135463043237, 1e-10);
    CHECK_NEAR(stat_chi2_sf(0, 3), 1, 0);
    CHECK_NEAR(stat_chi2_sf(200, 3), 0, 1e-40);
}

TEST(stat_multinomial_exact_known_values)
{
    const double p[3] = { 0.5, 0.3, 0.2 };
    CHECK_NEAR(stat_multinomial_p((const size_t[]){ 2, 2, 4 }, p, 3), 0.0995055, 1e-9);
    CHECK_NEAR(stat_multinomial_p((const size_t[]){ 1, 5, 2 }, p, 3), 0.0488135, 1e-9);
    CHECK_NEAR(stat_multinomial_p((const size_t[]){ 0, 8, 0 }, p, 3), 0.00015009, 1e-11);
    CHECK_NEAR(stat_multinomial_p((const size_t[]){ 5, 2, 1 }, p, 3), 1, 1e-9);   /* the mode */
    /* an outcome the prediction says is impossible */
    CHECK_NEAR(stat_multinomial_p((const size_t[]){ 7, 1 }, (const double[]){ 1, 0 }, 2), 0, 0);
}

TEST(stat_bootstrap_mean_is_deterministic_and_covers)
{
    double v[40], lo, hi, lo2, hi2;
    for (int i = 0; i < 40; i++)
        v[i] = i % 2;                            /* mean 0.5, sd of the mean ≈ 0.079 */
    stat_bootstrap(40, stat_mean_fn, v, &lo, &hi);
    stat_bootstrap(40, stat_mean_fn, v, &lo2, &hi2);
    CHECK(lo == lo2 && hi == hi2);
    CHECK(lo < 0.5 && hi > 0.5);
    CHECK(lo > 0.25 && hi < 0.75);               /* about 0.5 ± 0.155 */
    /* the difference of a sample with itself straddles 0; of v against v + 1 it is about -1 */
    double w[40];
    for (int i = 0; i < 40; i++)
        w[i] = v[i] + 1;
    stat_bootstrap_diff(40, stat_mean_fn, v, 40, stat_mean_fn, v, &lo, &hi, NULL);
    CHECK(lo < 0 && hi > 0);
    stat_bootstrap_diff(40, stat_mean_fn, v, 40, stat_mean_fn, w, &lo, &hi, NULL);
    CHECK(hi < 0 && lo > -1.5);
}

/* ---- calib ---- */

/* A child of parent whose first token is `tok` (probability p), the alternatives a 0.5 and
 * b 0.3 (the shared top-2), made at temperature temp. */
static int32_t child(tree *t, int32_t parent, const char *tok, double p, double temp)
{
    int32_t id = tree_add_child(t, parent, TREE_ORIGIN_MODEL, "", 0);
    tree_alt alts[2] = { { "a", 1, log(0.5) }, { "b", 1, log(0.3) } };
    tree_append_token(t, id, tok, strlen(tok), log(p), alts, 2, 1);
    tree_append_token(t, id, " end", 4, log(0.5), NULL, 0, 1);
    tree_get(t, id)->extra = json_pack("{s:{s:s,s:f}}", "request", "backend", "openai", "temperature", temp);
    return id;
}

TEST(calib_exact_test_merges_alternatives)
{
    tree *t = tree_new();
    int32_t r = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "x", 1);
    /* 1 a, 5 b, 2 c (p 0.05, shown only by the c children): other 0.15 */
    const char *toks[8] = { "a", "b", "b", "c", "b", "b", "c", "b" };
    for (int i = 0; i < 8; i++)
        child(t, r, toks[i], toks[i][0] == 'a' ? 0.5 : toks[i][0] == 'b' ? 0.3 : 0.05, 1);
    for (int i = 0; i < 3; i++)                  /* other settings: not pooled */
        child(t, r, "a", 0.5, 0.5);
    calib_result c;
    REQUIRE(calib_node(t, NULL, r, &c) == 0);
    CHECK_INT(c.samples, 8);
    CHECK_INT(c.excluded, 3);
    CHECK_INT(c.shown, 3);
    CHECK_NEAR(c.other, 0.15, 1e-6);
    /* TV = ½(|1/8−.5| + |5/8−.3| + |2/8−.05| + .15) */
    CHECK_NEAR(c.tv, 0.525, 1e-6);
    /* no cell reaches 5 expected: exact over a, b, (c + other) = (1, 5, 2) vs (.5, .3, .2) */
    CHECK(c.exact);
    CHECK_INT(c.cells, 3);
    CHECK_NEAR(c.p_value, 0.0488135, 1e-6);
    CHECK(!c.flag);
    calib_result_free(&c);
    tree_free(t);
}

TEST(calib_chi_square_pools_small_cells)
{
    tree *t = tree_new();
    int32_t r = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "x", 1);
    /* N 20: a 12 (E 10), b 3 (E 6), c 5 (p .1, E 2) + other .1: the pooled rest (E 4 < 5)
     * joins b → cells (12, 8) vs (10, 10): χ² 0.8, df 1, p = erfc(√0.4) = 0.371093 */
    for (int i = 0; i < 20; i++)
        child(t, r, i < 12 ? "a" : i < 15 ? "b" : "c", i < 12 ? 0.5 : i < 15 ? 0.3 : 0.1, 1);
    calib_result c;
    REQUIRE(calib_node(t, NULL, r, &c) == 0);
    CHECK(!c.exact);
    CHECK_INT(c.cells, 2);
    CHECK_NEAR(c.statistic, 0.8, 1e-6);
    CHECK_NEAR(c.p_value, 0.37109336952269756, 1e-6);
    /* TV = ½(.1 + .15 + .15 + .1) */
    CHECK_NEAR(c.tv, 0.25, 1e-6);
    calib_result_free(&c);
    /* fewer than 8 children of one setting: the node does not qualify */
    int32_t small = tree_add_child(t, r, TREE_ORIGIN_EDIT, "y", 1);
    for (int i = 0; i < 7; i++)
        child(t, small, "a", 0.5, 1);
    child(t, small, "a", 0.5, 0.7);
    CHECK(calib_node(t, NULL, small, &c) < 0);
    tree_free(t);
}

/* One simulated node: n children drawing their first token from p_j ∝ 0.6^j over 15
 * texts (with power 2: temperature 0.5) and reporting the true top 5 and their own. */
static calib_result simulate(uint64_t seed, int n, int power)
{
    static const char *const w[15] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o" };
    double p[15], q[15], zp = 0, zq = 0;
    for (int j = 0; j < 15; j++)
        zp += p[j] = pow(0.6, j), zq += q[j] = pow(0.6, j * power);
    tree *t = tree_new();
    int32_t r = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "x", 1);
    backend_rng rng;
    backend_rng_seed(&rng, seed, 0);
    tree_alt alts[5];
    for (int j = 0; j < 5; j++)
        alts[j] = (tree_alt){ w[j], 1, log(p[j] / zp) };
    for (int i = 0; i < n; i++) {
        double u = backend_rng_unit(&rng) * zq, acc = 0;
        int j = 0;
        for (; j < 14; j++)
            if (u < (acc += q[j]))
                break;
        int32_t id = tree_add_child(t, r, TREE_ORIGIN_MODEL, "", 0);
        tree_append_token(t, id, w[j], 1, log(p[j] / zp), alts, 5, 1);
    }
    calib_result c;
    calib_node(t, NULL, r, &c);
    tree_free(t);
    return c;
}

TEST(calib_honest_sampling_passes_95_of_100)
{
    int pass = 0;
    for (uint64_t s = 1; s <= 100; s++) {
        calib_result c = simulate(s, 32, 1);
        pass += c.p_value > 0.01 && !c.flag;
    }
    CHECKF(pass >= 95, "honest sampling passed %d of 100 runs", pass);
}

TEST(calib_temperature_half_is_flagged)
{
    int flagged = 0;
    for (uint64_t s = 1; s <= 20; s++) {
        calib_result c = simulate(s, 128, 2);
        flagged += c.flag;
    }
    CHECKF(flagged >= 19, "temperature 0.5 flagged in %d of 20 runs", flagged);
}
