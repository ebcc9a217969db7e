#include "tests/test.h"
#include "core/entropy.h"
#include "core/tree.h"
#include "core/session.h"
#include <stdlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

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
    CHECK(!en.exact);            /* complete lists, but no model said so */
    tree_set_token_entropy(t, a, 0, 2.0);
    tree_set_token_entropy(t, a, 1, 0.0);
    entropy_node(tree_get(t, a), &en);
    CHECK(en.exact);             /* the model's own figures */
    CHECK_NEAR(en.mean, 1.0, 1e-6);
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

/* ---- intervals ---- */
static double h_of(const double *p, int n)
{
    double h = 0;
    for (int i = 0; i < n; i++)
        if (p[i] > 0)
            h -= p[i] * log2(p[i]);
    return h;
}

static unsigned lcg(unsigned *s) { *s = *s * 1103515245u + 12345u; return (*s >> 8) & 0xffffff; }

TEST(entropy_interval_contains_the_true_entropy_of_random_distributions)
{
    /* Full distributions over V tokens; only the top k are shown.  The true entropy must
     * lie in [lower, upper] every time, and with V unknown the lower bound still holds. */
    unsigned seed = 7;
    static const char *names[] = { "a","b","c","d","e","f","g","h","i","j","k","l" };
    for (int trial = 0; trial < 2000; trial++) {
        int V = 2 + (int)(lcg(&seed) % 11), k = 1 + (int)(lcg(&seed) % (unsigned)V);
        double p[12], sum = 0;
        int skew = (int)(lcg(&seed) % 4);
        for (int i = 0; i < V; i++) {
            double u = (lcg(&seed) + 1) / 16777217.0;
            p[i] = skew == 0 ? u : pow(u, 1.0 + 3 * skew);
            sum += p[i];
        }
        for (int i = 0; i < V; i++)
            p[i] /= sum;
        for (int i = 0; i < V; i++)            /* sort descending */
            for (int j = i + 1; j < V; j++)
                if (p[j] > p[i]) { double t = p[i]; p[i] = p[j]; p[j] = t; }
        tree_alt a[12];
        for (int i = 0; i < k; i++)
            a[i] = (tree_alt){ names[i], 1, log(p[i]) };
        double h = h_of(p, V);
        entropy_interval iv, un;
        CHECK(entropy_topk_interval(a, (size_t)k, "a", 1, log(p[0]), 0, (uint32_t)V, &iv) == 0);
        CHECK(entropy_topk_interval(a, (size_t)k, "a", 1, log(p[0]), 0, 0, &un) == 0);
        CHECKF(iv.lower <= h + 1e-4 && h <= iv.upper + 1e-4, "V=%d k=%d H=%g not in [%g, %g]",
               V, k, h, iv.lower, iv.upper);
        CHECKF(un.lower <= h + 1e-4 && isnan(un.upper) == !un.exact, "V unknown: %g > %g", un.lower, h);
    }
}

TEST(entropy_interval_bounds_are_the_brute_force_extremes)
{
    /* Shown .4, .2 (p_min .2), R = .4 over m = 3 unseen tokens, each in [0, .2]: a grid over
     * q1, q2 (q3 = R - q1 - q2) finds the extremes the closed forms must match. */
    tree_alt a[] = { { "x", 1, log(0.4) }, { "y", 1, log(0.2) } };
    for (int vi = 0; vi < 3; vi++) {
        int m = 3 + vi;    /* V = 5, 6, 7 */
        double pmin = 0.2, R = 0.4, lo = 1e9, hi = -1;
        int steps = 200;
        /* enumerate m-1 free coordinates on a grid for m = 3; for m > 3 vary two, spread rest */
        for (int i = 0; i <= steps; i++)
            for (int j = 0; j <= steps; j++) {
                double q[8] = { 0 };
                q[0] = pmin * i / steps, q[1] = pmin * j / steps;
                double rest = R - q[0] - q[1];
                if (rest < -1e-12)
                    continue;
                int others = m - 2;
                /* extremes of the rest: all equal (max) or packed at p_min (min) */
                double qe[8] = { 0 }, qp[8] = { 0 };
                int ok = rest <= others * pmin + 1e-12;
                if (!ok)
                    continue;
                double left = rest;
                for (int t = 0; t < others; t++) {
                    qe[t] = rest / others;
                    qp[t] = left > pmin ? pmin : left;
                    left -= qp[t];
                }
                double he = h_of(q, 2) + h_of(qe, others), hp = h_of(q, 2) + h_of(qp, others);
                if (hp < lo) lo = hp;
                if (he > hi) hi = he;
            }
        double shown = h_of((double[]){ 0.4, 0.2 }, 2);
        entropy_interval iv;
        CHECK(entropy_topk_interval(a, 2, "x", 1, log(0.4), 0, (uint32_t)(m + 2), &iv) == 0);
        CHECK_NEAR(iv.lower, shown + lo, 1e-3);
        CHECK_NEAR(iv.upper, shown + hi, 1e-3);
        CHECK(!iv.exact);
    }
    /* the tightened lower bound: .4 as two tokens of .2 (2 * .2 * log2 5), not one of .4 */
    entropy_interval iv;
    entropy_topk_interval(a, 2, "x", 1, log(0.4), 0, 0, &iv);
    CHECK_NEAR(iv.lower, h_of((double[]){ 0.4, 0.2, 0.2, 0.2 }, 4), 1e-9);
    CHECK(isnan(iv.upper));
}

TEST(entropy_interval_exact_only_from_the_model)
{
    /* A top-k list that sums to 1 (llama.cpp's probabilities after its samplers) is not the
     * model's distribution: no "(exact)", the list's figure as the lower end. */
    tree_alt a[] = { { "a", 1, log(0.5) }, { "b", 1, log(0.5) } };
    entropy_interval iv;
    CHECK(entropy_topk_interval(a, 2, "a", 1, log(0.5), 0, 0, &iv) == 0);
    CHECK(!iv.exact);
    CHECK_NEAR(iv.lower, 1.0, 1e-9);
    CHECK(isnan(iv.upper));
    char shown[64];
    entropy_format(shown, sizeof shown, iv.lower, iv.upper, iv.exact, 0);
    CHECK_STR(shown, ">= 1.00 bits (V unknown)");
    CHECK(entropy_topk_interval(a, 2, "a", 1, log(0.5), 0, 50000, &iv) == 0);
    CHECK(!iv.exact);
    CHECK_NEAR(iv.lower, 1.0, 1e-9);
    CHECK_NEAR(iv.upper, 1.0, 1e-9);
    entropy_format(shown, sizeof shown, iv.lower, iv.upper, iv.exact, 0);
    CHECK_STR(shown, "1.00 bits");
    /* Exact: the list given as the whole distribution, or one as long as the vocabulary. */
    CHECK(entropy_topk_interval(a, 2, "a", 1, log(0.5), 1, 0, &iv) == 0 && iv.exact);
    CHECK(entropy_topk_interval(a, 2, "a", 1, log(0.5), 0, 2, &iv) == 0 && iv.exact);
    entropy_format(shown, sizeof shown, iv.lower, iv.upper, iv.exact, 0);
    CHECK_STR(shown, "1.00 bits (exact)");
    entropy_format(shown, sizeof shown, 2.4, 4.1, 0, 1);
    CHECK_STR(shown, "2.40\xe2\x80\x93" "4.10 bits");
    entropy_format(shown, sizeof shown, 2.4, NAN, 0, 0);
    CHECK_STR(shown, ">= 2.40 bits (V unknown)");
}

TEST(entropy_node_interval_means_and_unknown_upper)
{
    tree *t = tree_new();
    int32_t r = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "p", 1);
    int32_t c = tree_add_child(t, r, TREE_ORIGIN_MODEL, "", 0);
    tree_alt a[] = { { "x", 1, log(0.4) }, { "y", 1, log(0.2) } };
    tree_append_token(t, c, "x", 1, log(0.4), a, 2, 1);
    tree_alt b[] = { { "u", 1, log(0.5) }, { "v", 1, log(0.5) } };
    tree_append_token(t, c, "u", 1, log(0.5), b, 2, 1);
    entropy_node_interval_t ni;
    entropy_node_interval(tree_get(t, c), 0, &ni);
    CHECK_INT(ni.ntokens, 2);
    CHECK(!ni.exact && isnan(ni.upper));
    CHECK_NEAR(ni.lower, (h_of((double[]){ 0.4, 0.2, 0.2, 0.2 }, 4) + 1.0) / 2, 1e-6);
    entropy_node_interval(tree_get(t, c), 5, &ni);   /* V = 5: .4 over 3 tokens */
    CHECK_NEAR(ni.upper, (h_of((double[]){ 0.4, 0.2, 0.4 / 3, 0.4 / 3, 0.4 / 3 }, 5) + 1.0) / 2, 1e-6);
    tree_free(t);
}

/* V is kept per node in the session (both readers), and an old file without it loads with
 * V unknown, so its upper bound stays unknown rather than made up. */
TEST(entropy_vocab_per_node_round_trips_and_old_files_are_unknown)
{
    session s;
    char err[256];
    session_init(&s);
    session_new_prompt(&s, "p");
    int32_t a = tree_add_child(s.t, tree_root(s.t), TREE_ORIGIN_MODEL, "", 0);
    int32_t b = tree_add_child(s.t, tree_root(s.t), TREE_ORIGIN_MODEL, "", 0);
    tree_alt alts[] = { { "x", 1, log(0.4) }, { "y", 1, log(0.2) } };
    tree_append_token(s.t, a, "x", 1, log(0.4), alts, 2, 1);
    tree_append_token(s.t, b, "x", 1, log(0.4), alts, 2, 1);
    tree_get(s.t, a)->vocab = 5;
    size_t n;
    char *bytes = session_dump(&s, &n);
    session_free(&s);
    for (int layout = 0; layout < 2; layout++) {
        session_init(&s);
        if (layout)
            for (size_t i = 0; i < n; i++)
                if (bytes[i] == '\n')
                    bytes[i] = ' ';
        REQUIRE(session_load_mem(&s, bytes, n, "v.json", err, sizeof err) == 0);
        CHECK_INT(tree_get(s.t, a)->vocab, 5);
        CHECK_INT(tree_get(s.t, b)->vocab, 0);
        entropy_node_interval_t ni;
        entropy_node_interval(tree_get(s.t, a), tree_get(s.t, a)->vocab, &ni);
        CHECK_NEAR(ni.upper, h_of((double[]){ 0.4, 0.2, 0.4 / 3, 0.4 / 3, 0.4 / 3 }, 5), 1e-6);
        entropy_node_interval(tree_get(s.t, b), tree_get(s.t, b)->vocab, &ni);
        CHECK(isnan(ni.upper));
        session_free(&s);
    }
    free(bytes);
}

/* A full distribution: 4,096 alternatives (beyond the old limit of 256), with duplicates of
 * texts among them, some texts with NUL bytes, and the sampled token in the list. */
TEST(entropy_counts_every_alternative_of_a_full_distribution)
{
    enum { N = 4096 };
    tree_alt *a = calloc(N, sizeof *a);
    char (*txt)[8] = calloc(N, sizeof *txt);
    REQUIRE(a && txt);
    /* p_i proportional to 1/(i+1), normalized over the distinct texts */
    double z = 0;
    for (int i = 0; i < N; i++)
        z += 1.0 / (i + 1);
    double want = 0;
    for (int i = 0; i < N; i++) {
        double p = 1.0 / (i + 1) / z;
        want -= p * log2(p);
        int l = snprintf(txt[i], sizeof txt[i], "t%d", i);
        if (i % 3 == 0) {         /* "t<digits>\0z": the NUL is part of the text */
            txt[i][l++] = 0;
            txt[i][l++] = 'z';
        }
        a[i] = (tree_alt){ txt[i], (size_t)l, log(p) };
    }
    double r = -1;
    CHECK_NEAR(entropy_topk(a, N, txt[7], strlen("t7"), a[7].logprob, 0, &r), want, 1e-9);
    CHECK_NEAR(r, 0.0, 1e-9);
    entropy_interval iv;
    REQUIRE(entropy_topk_interval(a, N, NULL, 0, NAN, 0, 50000, &iv) == 0);
    CHECK_NEAR(iv.lower, want, 1e-9);
    CHECK(iv.upper >= iv.lower);
    /* the same texts again, less likely: the most probable copy is kept, so nothing changes */
    tree_alt *d = calloc(2 * N, sizeof *d);
    REQUIRE(d);
    for (int i = 0; i < N; i++) {
        d[i] = a[i];
        d[N + i] = (tree_alt){ txt[N - 1 - i], a[N - 1 - i].len, a[N - 1 - i].logprob - 3 };
    }
    CHECK_NEAR(entropy_topk(d, 2 * N, NULL, 0, NAN, 0, &r), want, 1e-9);
    /* a sampled token outside the list is one more outcome */
    double pz = 1e-4, want2 = 0;
    for (int i = 0; i <= N; i++) {
        double p = (i < N ? 1.0 / (i + 1) / z : pz) / (1 + pz);
        want2 -= p * log2(p);
    }
    CHECK_NEAR(entropy_topk(a, N, "zz", 2, log(pz), 1, &r), want2, 1e-9);
    /* and the node accessors see the same as the arrays */
    tree *t = tree_new();
    int32_t root = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "p", 1);
    int32_t id = tree_add_child(t, root, TREE_ORIGIN_MODEL, "", 0);
    tree_append_token(t, id, txt[3], a[3].len, a[3].logprob, d, 2 * N, 1);
    CHECK_NEAR(entropy_token(tree_get(t, id), 0, &r), want, 1e-5);   /* float logprobs */
    entropy_interval nv;
    REQUIRE(entropy_token_interval(tree_get(t, id), 0, 50000, &nv) == 0);
    CHECK_NEAR(nv.lower, iv.lower, 1e-6);
    CHECK_NEAR(nv.upper, iv.upper, 1e-6);
    tree_free(t);
    free(d);
    free(txt);
    free(a);
}

/* The views' cache gives what entropy_node gives, before and after the node changes, also
 * when the change keeps the token and alternative counts (only the tree's event tells). */
TEST(entropy_cache_follows_the_tree)
{
    tree *t = tree_new();
    int32_t root = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "p", 1);
    int32_t id = tree_add_child(t, root, TREE_ORIGIN_MODEL, "", 0);
    tree_alt a1[] = { { "a", 1, log(0.5) }, { "b", 1, log(0.5) } };
    tree_alt a2[] = { { "a", 1, log(0.9) }, { "b", 1, log(0.1) } };
    tree_append_token(t, id, "a", 1, log(0.5), a1, 2, 1);
    tree_content *before = tree_content_save(t, id);
    entropy_cache *c = entropy_cache_new(t);
    entropy_node_t en, pk;
    entropy_node_interval_t iv;
    CHECK(entropy_cache_peek(c, t, id, &pk) == 0);         /* nothing computed yet */
    REQUIRE(entropy_cache_node(c, t, id, &en) == 0);
    CHECK_NEAR(en.mean, 1.0, 1e-6);
    CHECK(entropy_cache_peek(c, t, id, &pk) == 1 && pk.mean == en.mean);
    REQUIRE(entropy_cache_interval(c, t, id, 2, &iv) == 0);
    CHECK_NEAR(iv.lower, 1.0, 1e-6);
    /* the same counts, other logprobs */
    tree_clear_tokens(t, id);
    tree_append_token(t, id, "a", 1, log(0.9), a2, 2, 1);
    double h2 = -(0.9 * log2(0.9) + 0.1 * log2(0.1));
    CHECK(entropy_cache_peek(c, t, id, &pk) == 0);         /* forgotten with the change */
    entropy_cache_node(c, t, id, &en);
    CHECK_NEAR(en.mean, h2, 1e-6);
    entropy_cache_interval(c, t, id, 2, &iv);
    CHECK_NEAR(iv.lower, h2, 1e-6);
    REQUIRE(tree_content_restore(t, id, before) == 0);     /* undo: back to 1 bit */
    entropy_cache_node(c, t, id, &en);
    CHECK_NEAR(en.mean, 1.0, 1e-6);
    /* ids that share a slot do not see each other's figures */
    int32_t other = TREE_NONE;
    for (int i = 0; i < 4096; i++)
        other = tree_add_child(t, root, TREE_ORIGIN_MODEL, "", 0);
    REQUIRE(((uint32_t)other & 4095u) == ((uint32_t)id & 4095u));
    tree_append_token(t, other, "a", 1, log(0.9), a2, 2, 1);
    entropy_cache_node(c, t, other, &en);
    CHECK_NEAR(en.mean, h2, 1e-6);
    entropy_cache_node(c, t, id, &en);
    CHECK_NEAR(en.mean, 1.0, 1e-6);
    CHECK(entropy_cache_node(c, t, 999999, &en) == -1);
    CHECK(entropy_cache_node(NULL, t, id, &en) == 0 && fabs(en.mean - 1.0) < 1e-6);
    entropy_cache_free(c);
    tree_content_free(before);
    tree_free(t);
}
