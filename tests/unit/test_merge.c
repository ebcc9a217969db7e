#include "tests/test.h"
#include "core/merge.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static double sim(const char *a, const char *b)
{
    return merge_similarity(a, strlen(a), b, strlen(b));
}

static char *norm(const char *s)
{
    buf b = {0};
    merge_normalize(s, strlen(s), &b);
    return buf_steal(&b);
}

static int32_t add(tree *t, int32_t parent, const char *text)
{
    return tree_add_child(t, parent, parent == TREE_NONE ? TREE_ORIGIN_PROMPT : TREE_ORIGIN_MODEL,
                          text, strlen(text));
}

TEST(merge_normalize_variants)
{
    const char *cases[][2] = {
        { "Yes.", "yes" }, { "  YES!  ", "yes" }, { "Yes\t\n", "yes" },
        { "Hello,   World", "hello world" }, { "don\xe2\x80\x99t", "don't" },
        { "\xe2\x80\x9cQuoted\xe2\x80\x9d \xe2\x80\x94 text\xe2\x80\xa6", "quoted text" },
        { "\xef\xbc\xa6\xef\xbd\x95\xef\xbd\x8c\xef\xbd\x8c width", "full width" },   /* NFKC */
        { "Stra\xc3\x9f" "e", "strasse" },                                          /* case fold */
        { "...", "" }, { "", "" }, { "a\xc2\xa0" "b", "a b" },                      /* NBSP */
        { "$5 (approx.)", "$5 approx" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *n = norm(cases[i][0]);
        CHECK_STR(n, cases[i][1]);
        free(n);
    }
    /* invalid UTF-8 is kept as bytes, never crashes */
    char *n = norm("ok \xff\xfe bytes");
    CHECK_STR(n, "ok \xff\xfe bytes");
    free(n);
}

TEST(merge_similarity_short_and_long)
{
    CHECK_NEAR(sim("Yes.", "Yes!"), 1.0, 1e-12);
    CHECK_NEAR(sim("Yes.", "yes"), 1.0, 1e-12);
    CHECK_NEAR(sim(" The cat sat.", "the  cat SAT"), 1.0, 1e-12);
    CHECK_NEAR(sim("Yes", "No"), 0.0, 1e-12);
    CHECK_NEAR(sim("The answer is 4", "The answer is 5"), 0.75, 1e-12);
    CHECK(sim("colour is nice", "color is nice") > 0.9);
    CHECK_NEAR(sim("", ""), 1.0, 1e-12);
    CHECK_NEAR(sim("", "word"), 0.0, 1e-12);
    /* symmetric */
    CHECK_NEAR(sim("a b c d", "a x c"), sim("a x c", "a b c d"), 1e-12);
    /* paraphrase: same meaning, different words, stays below the threshold */
    CHECK(sim("I think the answer is yes.", "My guess would be that it is true.") < 0.8);
    /* long texts sharing a long prefix then diverging are not duplicates */
    const char *p = "Once upon a time in a small village by the sea there lived an old fisherman who ";
    char a[512], b[512];
    snprintf(a, sizeof a, "%s%s", p, "caught a golden fish that could grant any wish he asked for at all");
    snprintf(b, sizeof b, "%s%s", p, "never left his hut because the winters there were long and cruel ones");
    double s = sim(a, b);
    CHECK(s < 0.6);
    CHECK(s > 0.2);
    /* one word changed in a long text: still a near-duplicate */
    CHECK(sim("the quick brown fox jumps over the lazy dog and then runs far away into the deep dark forest",
              "the quick brown fox jumps over the lazy dog and then runs far away into the deep dark forest!") > 0.99);
    CHECK(sim("the quick brown fox jumps over the lazy dog and then runs far away into the deep dark forest tonight",
              "the quick brown fox jumps over the lazy dog and then runs far away into the deep dark woods tonight") >= 0.8);
}

TEST(merge_groups_exact_and_variants)
{
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Is water wet?");
    const char *kids[] = { " Yes.", " yes!", " YES", " No.", " Yes\xe2\x80\xa6", " no", " Maybe so." };
    int32_t id[7];
    for (int i = 0; i < 7; i++)
        id[i] = add(t, r, kids[i]);
    merge_index *m = merge_index_new(t, MERGE_DEFAULT_THRESHOLD);
    merge_group *g;
    size_t n = merge_groups(m, r, &g);
    REQUIRE(n == 3);
    CHECK_INT(g[0].leader, id[0]);
    CHECK_INT(g[0].count, 4);
    CHECK_INT(g[1].leader, id[3]);
    CHECK_INT(g[1].count, 2);
    CHECK_INT(g[2].leader, id[6]);
    CHECK_INT(g[2].count, 1);
    free(g);
    CHECK_INT(merge_leader(m, id[4]), id[0]);
    CHECK_INT(merge_count(m, id[4]), 4);
    CHECK_INT(merge_leader(m, id[5]), id[3]);
    CHECK_INT(merge_count(m, id[6]), 1);
    CHECK_INT(merge_leader(m, r), r);
    int32_t *mem;
    size_t k = merge_members(m, id[2], &mem);
    REQUIRE(k == 4);
    CHECK_INT(mem[0], id[0]);
    CHECK_INT(mem[1], id[1]);
    CHECK_INT(mem[2], id[2]);
    CHECK_INT(mem[3], id[4]);
    free(mem);
    /* non-destructive: the tree still has every child */
    CHECK_INT(tree_get(t, r)->nchildren, 7);
    merge_index_free(m);
    tree_free(t);
}

TEST(merge_entropy_over_groups)
{
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Q");
    const char *spell[] = { "Paris.", "paris", "PARIS!", " Paris", "Paris\xe2\x80\xa6", "\xe2\x80\x9cParis\xe2\x80\x9d", "Paris,", "paris ." };
    for (int i = 0; i < 8; i++)
        add(t, r, spell[i]);
    merge_index *m = merge_index_new(t, 0.8);
    double nrm = -1;
    CHECK_NEAR(merge_branch_entropy(m, r, &nrm), 0.0, 1e-12);      /* mode collapse: 0 bits */
    CHECK_NEAR(nrm, 0.0, 1e-12);
    int32_t q = add(t, TREE_NONE, "Q2");
    const char *diff[] = { "red", "green", "blue", "black" };
    for (int i = 0; i < 4; i++)
        add(t, q, diff[i]);
    CHECK_NEAR(merge_branch_entropy(m, q, &nrm), 2.0, 1e-12);
    CHECK_NEAR(nrm, 1.0, 1e-12);
    merge_index_free(m);
    tree_free(t);
}

TEST(merge_threshold_changes_grouping)
{
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Q");
    int32_t a = add(t, r, "The answer is 4");
    int32_t b = add(t, r, "The answer is 5");     /* similarity 0.75 */
    int32_t c = add(t, r, "the answer is 4!");    /* similarity 1 with a */
    merge_index *m = merge_index_new(t, 0.8);
    CHECK_INT(merge_leader(m, b), b);
    CHECK_INT(merge_leader(m, c), a);
    CHECK_INT(merge_count(m, a), 2);
    uint64_t v = merge_version(m);
    merge_set_threshold(m, 0.7);                  /* 0.75 ≥ 0.7: b joins a's group */
    CHECK(merge_version(m) != v);
    CHECK_INT(merge_leader(m, b), a);
    CHECK_INT(merge_count(m, a), 3);
    merge_set_threshold(m, 1.0);                  /* only equal normalized texts */
    CHECK_INT(merge_leader(m, b), b);
    CHECK_INT(merge_leader(m, c), a);
    merge_set_threshold(m, 0.0);                  /* everything is one group */
    CHECK_INT(merge_count(m, b), 3);
    merge_index_free(m);
    tree_free(t);
}

TEST(merge_follows_streaming_and_deletion)
{
    tree *t = tree_new();
    int32_t r = add(t, TREE_NONE, "Q");
    int32_t a = add(t, r, "It is sunny today.");
    merge_index *m = merge_index_new(t, 0.8);
    int32_t b = add(t, r, "");
    CHECK_INT(merge_leader(m, b), b);
    const char *pieces[] = { "It", " is", " sunny", " today", "!" };
    for (int i = 0; i < 5; i++) {
        tree_append_text(t, b, pieces[i], strlen(pieces[i]));
        if (i < 2)
            CHECK_INT(merge_leader(m, b), b);     /* "it is" vs 4 words: 0.5 */
    }
    CHECK_INT(merge_leader(m, b), a);
    CHECK_INT(merge_count(m, a), 2);
    tree_append_text(t, b, " But it will rain soon and then snow.", 37);
    CHECK_INT(merge_leader(m, b), b);
    tree_set_text(t, b, "it is SUNNY today", 17);
    CHECK_INT(merge_leader(m, b), a);
    int idx = tree_delete(t, a);
    CHECK_INT(merge_leader(m, b), b);
    CHECK_INT(merge_leader(m, a), TREE_NONE);
    CHECK_INT(merge_count(m, b), 1);
    tree_undelete(t, a, idx);
    CHECK_INT(merge_leader(m, b), a);
    merge_index_free(m);
    tree_free(t);
}

TEST(merge_words_offsets)
{
    const char *s = "  \xe2\x80\x9cHi\xe2\x80\x9d,  there -- you!";
    merge_word *w;
    buf nb = {0};
    size_t n = merge_words(s, strlen(s), &w, &nb);
    REQUIRE(n == 3);
    CHECK_STR(nb.data, "hi there you");
    CHECK_INT(w[0].start, 2);
    CHECK_INT(w[0].end, 2 + 3 + 2 + 3 + 1);
    CHECK(!strncmp(s + w[1].start, "there", w[1].end - w[1].start));
    CHECK(!strncmp(s + w[2].start, "you!", w[2].end - w[2].start));
    free(w);
    buf_free(&nb);
}

/* A huge fan-out grouped a slice at a time gives exactly the groups of one pass, also when
 * a child arrives in the middle (the slice work starts again) or another parent is grouped
 * in between (its scratch state is not the half-done one's). */
TEST(merge_group_step_equals_one_pass)
{
    static const char *const w[] = { "the", "cat", "sat", "on", "a", "mat", "warm", "sun", "dog", "ran" };
    tree *t = tree_new();
    int32_t root = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "P", 1);
    int32_t other = tree_add_child(t, root, TREE_ORIGIN_EDIT, "Q", 1);
    uint32_t x = 12345;
    for (int i = 0; i < 6000; i++) {
        char s[128];
        size_t n = 0;
        for (int j = 0; j < 5; j++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            n += (size_t)snprintf(s + n, sizeof s - n, " %s", w[x % 10]);
        }
        tree_add_child(t, other, TREE_ORIGIN_MODEL, s, n);
        if (i % 3 == 0)
            tree_add_child(t, root, TREE_ORIGIN_MODEL, s, n);
    }
    merge_index *once = merge_index_new(t, 0.8), *steps = merge_index_new(t, 0.8);
    merge_group *g1, *g2;
    size_t n1 = merge_groups(once, other, &g1);
    int rounds = 0;
    while (!merge_group_step(steps, other, 700)) {
        if (++rounds == 3) {
            merge_group *gr;
            merge_groups(steps, root, &gr);          /* another parent in between */
            free(gr);
        }
        CHECK(rounds < 100);
        if (rounds >= 100)
            break;
    }
    CHECK(rounds >= 8);                     /* it did go in slices */
    size_t n2 = merge_groups(steps, other, &g2);
    CHECK_INT(n2, n1);
    int same = n1 == n2;
    for (size_t i = 0; same && i < n1; i++)
        same = g1[i].leader == g2[i].leader && g1[i].count == g2[i].count;
    CHECK(same);
    free(g1), free(g2);
    /* A child added half way: the slices start again and still agree. */
    for (int r = 0; r < 2 && !merge_group_step(steps, root, 500); r++) {}
    tree_add_child(t, root, TREE_ORIGIN_MODEL, " the cat sat on a", 17);
    while (!merge_group_step(steps, root, 500)) {}
    n1 = merge_groups(once, root, &g1);
    n2 = merge_groups(steps, root, &g2);
    CHECK_INT(n2, n1);
    same = n1 == n2;
    for (size_t i = 0; same && i < n1; i++)
        same = g1[i].leader == g2[i].leader && g1[i].count == g2[i].count;
    CHECK(same);
    free(g1), free(g2);
    merge_index_free(once);
    merge_index_free(steps);
    tree_free(t);
}

/* The threshold check prunes with a cheap bound on word edit distances (lengths and
 * character sets); it must never change a verdict.  Words are fresh random strings over a
 * small alphabet (one non-ASCII letter among them), so word pairs are rarely remembered from
 * before and the bound is consulted; the second text changes about a third of the words by
 * one letter or for another word, which puts pairs on both sides of every threshold.  Each
 * verdict with the bound is checked against the exact similarity. */
static uint64_t verdict_rng = 12345;
static uint32_t verdict_rand(uint32_t n)
{
    verdict_rng = verdict_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(verdict_rng >> 33) % n;
}

static void verdict_word(char *w)
{
    static const char *const letters[] = { "a", "b", "c", "t", "\u00e9" };
    int n = 1 + (int)verdict_rand(6);
    w[0] = 0;
    for (int i = 0; i < n; i++)
        strcat(w, letters[verdict_rand(5)]);
}

TEST(merge_threshold_verdict_equals_exact_similarity)
{
    static const double need[] = { 0.5, 0.7, 0.8, 0.9 };
    size_t checked = 0, agree = 0, above = 0;
    for (int pair = 0; pair < 3000; pair++) {
        char text[2][400];
        int n = 1 + (int)verdict_rand(8);
        text[0][0] = text[1][0] = 0;
        for (int i = 0; i < n; i++) {
            char w[16], v[24];
            verdict_word(w);
            strcpy(v, w);
            uint32_t change = verdict_rand(6);
            if (change == 0)
                verdict_word(v);                        /* another word */
            else if (change == 1)
                v[0] = v[0] == 'a' ? 'b' : 'a';        /* one letter (or byte) changed */
            else if (change == 2)
                strcat(v, "c");                         /* one letter more */
            strcat(text[0], i ? " " : "");
            strcat(text[0], w);
            strcat(text[1], i ? " " : "");
            strcat(text[1], v);
        }
        merge_text *a = merge_text_new(text[0], strlen(text[0]));
        merge_text *b = merge_text_new(text[1], strlen(text[1]));
        double s[4];
        for (size_t t = 0; t < 4; t++)                  /* before the exact figure: no memo */
            s[t] = merge_text_similarity(a, b, need[t]);
        double exact = merge_similarity(text[0], strlen(text[0]), text[1], strlen(text[1]));
        for (size_t t = 0; t < 4; t++) {
            checked++;
            above += exact >= need[t];
            agree += (s[t] >= need[t]) == (exact >= need[t]) && (exact < need[t] || fabs(s[t] - exact) < 1e-12);
        }
        merge_text_free(a);
        merge_text_free(b);
    }
    CHECK(agree == checked);
    CHECK(above > checked / 4 && above < checked * 3 / 4);   /* both verdicts are common */
}
