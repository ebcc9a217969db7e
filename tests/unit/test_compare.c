#include "tests/test.h"
#include "core/compare.h"
#include "core/merge.h"
#include "core/ngram.h"
#include "core/session.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Hand computation for four samples grouped {0,1} {2} {3}:
 *   entropy = -(1/2 log2 1/2 + 2 · 1/4 log2 1/4) = 0.5 + 1 = 1.5 bits, / log2 4 = 0.75
 *   words:  [the cat sat] [the cat sat] [a dog ran] [the cat ran]
 *   1-grams 12 total, 6 distinct (the cat sat a dog ran)          → 0.5
 *   2-grams  8 total, 5 distinct (the cat, cat sat, a dog, dog ran, cat ran) → 0.625
 *   3-grams  4 total, 3 distinct                                    → 0.75 */
static const char *const hand[] = { "The cat sat.", "the  cat sat", "A dog ran.", "The cat ran!" };

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
    /* café café | naïve café: full Unicode case folding, as merging does: 2 distinct of 4 */
    CHECK_NEAR(compare_distinct_n(intl, 2, 1, &d, &t), 0.5, 1e-12);
    /* A word is what merging calls a word: "well-known" is one, curly quotes fold. */
    const char *const merged[] = { "A well-known \u201cYes\u201d", "a well-known yes" };
    compare_distinct_n(merged, 2, 1, &d, &t);
    CHECK_INT(t, 6);
    CHECK_INT(d, 3);
    CHECK(merge_similarity(merged[0], strlen(merged[0]), merged[1], strlen(merged[1])) == 1);
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

/* A comparison as a loaded session holds it: labels A and B under the prompt. */
static int32_t add_label(tree *t, int32_t at, const char *side, double temperature)
{
    int32_t id = tree_add_child(t, at, TREE_ORIGIN_EDIT, "", 0);
    json_t *x = json_object();
    json_object_set_new(x, "compare", json_string(side));
    json_t *cfg = json_object();
    json_object_set_new(cfg, "temperature", json_real(temperature));
    json_object_set_new(x, "config", cfg);
    tree_get(t, id)->extra = x;
    return id;
}

static int32_t add_sample(tree *t, int32_t label, const char *text)
{
    return tree_add_child(t, label, TREE_ORIGIN_MODEL, text, strlen(text));
}

TEST(compare_result_from_tree)
{
    tree *t = tree_new();
    int32_t root = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "Is it true?", 11);
    char err[256];
    compare_result r;
    CHECK(compare_result_load(&r, t, root, 0.8, err, sizeof err) < 0);   /* nothing yet */
    CHECK(strstr(err, "no comparison") != NULL);
    int32_t la = add_label(t, root, "A", 1.0), lb = add_label(t, root, "B", 0.2);
    CHECK_INT(compare_label_side(t, la), 'A');
    CHECK_INT(compare_label_side(t, lb), 'B');
    CHECK_INT(compare_label_side(t, root), 0);
    /* A: "yes" twice (spelling variants), "no", "maybe so" → groups 2,1,1 → 1.5 bits */
    int32_t a0 = add_sample(t, la, " Yes.");
    add_sample(t, la, " No");
    add_sample(t, la, " yes!");
    add_sample(t, la, " Maybe so");
    /* B: four spellings of one answer → 1 group, 0 bits */
    const char *bs[] = { " YES", " Yes", " yes.", " yes" };
    for (int i = 0; i < 4; i++)
        add_sample(t, lb, bs[i]);
    /* Token entropy: a0 has two tokens, p = (1/2, 1/2) exact → 1 bit, and p = (1) → 0 bits. */
    tree_clear_tokens(t, a0);
    tree_alt half[] = { { " Yes", 4, log(0.5) }, { " No", 3, log(0.5) } };
    tree_alt one[] = { { ".", 1, 0.0 } };
    tree_append_token(t, a0, " Yes", 4, log(0.5), half, 2, 0);
    tree_append_token(t, a0, ".", 1, 0.0, one, 1, 0);
    tree_set_token_entropy(t, a0, 0, 1.0);     /* as a model that knows them reports */
    tree_set_token_entropy(t, a0, 1, 0.0);

    /* The two empty labels are siblings yet never fold into one merged row. */
    merge_index *mi = merge_index_new(t, 0.8);
    CHECK_INT(merge_count(mi, la), 1);
    CHECK_INT(merge_count(mi, lb), 1);
    merge_index_free(mi);
    char *lt = compare_label_text(t, lb);
    CHECK_STR(lt, "compare B: temperature=0.2");   /* no model, URL or backend: no name */
    free(lt);
    json_object_set_new(tree_get(t, lb)->extra, "name", json_string("the cold one, at 0.2"));
    lt = compare_label_text(t, lb);
    CHECK_STR(lt, "compare B: the cold one, at 0.2 \xc2\xb7 temperature=0.2");
    free(lt);
    CHECK(compare_label_text(t, root) == NULL);

    REQUIRE(compare_result_load(&r, t, root, 0.8, err, sizeof err) == 0);
    CHECK_INT(r.label[0], la);
    CHECK_INT(r.label[1], lb);
    CHECK_STR(r.prompt, "Is it true?");
    CHECK_STR(r.name[1], "the cold one, at 0.2");       /* the label's name, whole */
    CHECK_STR(r.name[0], "");
    CHECK_INT(r.side[0].n, 4);
    CHECK_INT(r.side[0].ngroups, 3);
    CHECK_NEAR(r.side[0].entropy, 1.5, 1e-12);
    CHECK_NEAR(r.side[0].entropy_norm, 0.75, 1e-12);
    CHECK_INT(r.side[0].groups[0].count, 2);
    CHECK_INT(r.ids[0][r.side[0].groups[0].rep], a0);
    CHECK_NEAR(r.side[0].token_entropy, 0.5, 1e-6);        /* (1 + 0) / 2 tokens */
    CHECK_INT(r.side[0].ntokens, 2);
    CHECK(r.side[0].token_entropy_exact);
    CHECK_INT(r.side[1].ngroups, 1);
    CHECK_NEAR(r.side[1].entropy, 0, 1e-12);
    CHECK(isnan(r.side[1].token_entropy));               /* no logprobs on B */
    /* The "yes" outcome is on both sides; "no" and "maybe so" are A's alone (single). */
    REQUIRE(r.nshared == 1);
    CHECK_INT(r.shared[0].a, 0);
    CHECK_INT(r.shared[0].b, 0);
    CHECK_INT(compare_result_match_of(&r, 0, 1), -1);
    CHECK_NEAR(json_real_value(json_object_get(r.config[1], "temperature")), 0.2, 1e-12);
    compare_result_free(&r);

    CHECK_INT(r.nphrases, 0);                            /* no 4-word phrase anywhere */
    compare_result_free(&r);

    /* A phrase of four words or more produced on both sides is reported once: the longest
     * (closed), normalized; the shorter phrase inside it is not listed again. */
    add_sample(t, la, " and so the story ends here for now");
    add_sample(t, lb, " Yes, and so the Story ends here.");
    REQUIRE(compare_result_load(&r, t, root, 0.8, err, sizeof err) == 0);
    REQUIRE(r.nphrases == 1);
    CHECK_STR(r.phrases[0].text, "and so the story ends here");
    CHECK_INT(r.phrases[0].count[0], 1);
    CHECK_INT(r.phrases[0].count[1], 1);
    compare_result_free(&r);

    /* The last pair of labels wins: a second comparison under the same node. */
    int32_t la2 = add_label(t, root, "A", 0.7), lb2 = add_label(t, root, "B", 0.7);
    add_sample(t, la2, " x");
    REQUIRE(compare_result_load(&r, t, root, 0.8, err, sizeof err) == 0);
    CHECK_INT(r.label[0], la2);
    CHECK_INT(r.label[1], lb2);
    CHECK_INT(r.side[0].n, 1);
    CHECK_INT(r.side[1].n, 0);
    CHECK_INT(r.nshared, 0);
    compare_result_free(&r);
    tree_free(t);
}

TEST(compare_config_json_holds_saved_settings)
{
    gen_settings s;
    settings_init(&s);
    char err[256];
    REQUIRE(settings_apply_spec(&s, "backend=openai,model=m1,temperature=0.25,seed=7,stop=\\n", err, sizeof err) == 0);
    json_t *o = compare_config_json(&s);
    CHECK_STR(json_string_value(json_object_get(o, "backend")), "openai");
    CHECK_STR(json_string_value(json_object_get(o, "model")), "m1");
    CHECK_NEAR(json_real_value(json_object_get(o, "temperature")), 0.25, 1e-12);
    CHECK_INT(json_integer_value(json_object_get(o, "seed")), 7);
    CHECK(json_object_get(o, "base_url") == NULL);        /* unset strings are left out */
    CHECK(json_object_get(o, "concurrency") == NULL);     /* not a saved setting */
    json_decref(o);
    settings_free(&s);
}

/* Both sides sampled by the builtin model through compare_run, saved, reloaded: the
 * comparison reads back with the same figures. */
TEST(compare_run_builtin_and_reopen)
{
    char err[512];
    backend *be[2] = { ngram_backend_new(NULL, err, sizeof err), ngram_backend_new(NULL, err, sizeof err) };
    REQUIRE(be[0] && be[1]);
    gen_settings s[2];
    for (int i = 0; i < 2; i++) {
        settings_init(&s[i]);
        REQUIRE(settings_apply_spec(&s[i], i ? "temperature=0.1,max_tokens=6,seed=3"
                                             : "temperature=1.0,max_tokens=6,seed=3", err, sizeof err) == 0);
    }
    session ses;
    session_init(&ses);
    session_new_prompt(&ses, "The tree");
    int32_t root = tree_root(ses.t);
    const gen_settings *sp[2] = { &s[0], &s[1] };
    compare_run *run = compare_run_new(ses.t, root, be, sp, 24, NULL, NULL);
    REQUIRE(compare_run_start(run, err, sizeof err) == 0);
    for (int spins = 0; compare_run_pump(run) > 0 && spins < 100000; spins++)
        compare_run_wait(run, NULL, 0, 50, NULL);
    CHECK_INT(compare_run_active(run), 0);
    int ended[2], failed[2];
    for (int i = 0; i < 2; i++) {
        compare_run_progress(run, i, &ended[i], &failed[i], NULL);
        CHECK_INT(ended[i], 24);
        CHECK_INT(failed[i], 0);
    }
    compare_result r;
    REQUIRE(compare_result_load(&r, ses.t, root, 0.8, err, sizeof err) == 0);
    CHECK_INT(r.label[0], compare_run_label(run, 0));
    CHECK_INT(r.side[0].n, 24);
    CHECK_INT(r.side[1].n, 24);
    CHECK(r.side[1].ngroups < r.side[0].ngroups);        /* cold sampling repeats itself */
    CHECK(r.side[1].entropy < r.side[0].entropy);
    CHECK(r.side[1].distinct[1] < r.side[0].distinct[1]);
    CHECK(r.side[0].ntokens > 0 && !isnan(r.side[0].token_entropy));
    /* The builtin model reports its whole distribution: the figure is exact, and it is the
     * entropy of the model's next-token distribution after the sample's context. */
    CHECK(r.side[0].token_entropy_exact && r.side[1].token_entropy_exact);
    {
        const ngram_model *m = ngram_backend_model(be[0]);
        int32_t id = r.ids[0][0];
        const tree_node *nd = tree_get(ses.t, id);
        REQUIRE(nd && nd->ntokens > 0);
        size_t len, v = ngram_vocab_size(m);
        char *path = tree_path_text(ses.t, id, &len);
        uint32_t ctx[NGRAM_MAX_ORDER];
        double *p = malloc(v * sizeof *p), h = 0;
        ngram_distribution(m, ctx, ngram_context(m, path, len - nd->text_len, ctx), p);
        for (size_t j = 0; j < v; j++)
            if (p[j] > 0)
                h -= p[j] * log2(p[j]);
        CHECK_NEAR(nd->tokens[0].entropy, h, 1e-4);
        free(p);
        free(path);
    }
    compare_run_free(run);

    const char *path = "compare.json";
    char full[512];
    snprintf(full, sizeof full, "%s/%s", test_tmpdir(), path);
    REQUIRE(session_save(&ses, full, err, sizeof err) == 0);
    session back;
    session_init(&back);
    REQUIRE(session_load(&back, full, err, sizeof err) == 0);
    compare_result r2;
    REQUIRE(compare_result_load(&r2, back.t, tree_root(back.t), 0.8, err, sizeof err) == 0);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(r2.side[i].n, r.side[i].n);
        CHECK_INT(r2.side[i].ngroups, r.side[i].ngroups);
        CHECK_NEAR(r2.side[i].entropy, r.side[i].entropy, 1e-12);
        CHECK_NEAR(r2.side[i].distinct[2], r.side[i].distinct[2], 1e-12);
        CHECK_NEAR(r2.side[i].token_entropy, r.side[i].token_entropy, 1e-6);
    }
    CHECK_NEAR(json_real_value(json_object_get(r2.config[1], "temperature")), 0.1, 1e-12);
    compare_result_free(&r2);
    compare_result_free(&r);
    session_free(&back);
    session_free(&ses);
    for (int i = 0; i < 2; i++) {
        settings_free(&s[i]);
        backend_free(be[i]);
    }
}

/* The log-odds z by hand: y = 10 of n = 100 on this side, 2 of 100 on the other, prior
 * α_w = 12 (the pooled count) of α0 = 200 (the pooled total):
 *   delta = ln(22 / (100+200-22)) - ln(14 / (100+200-14)) = ln(22/278) - ln(14/286) = 0.480356
 *   var   = 1/22 + 1/14 = 0.116883,   z = 0.480356 / sqrt(0.116883) = 1.405035 */
TEST(compare_logodds_z_by_hand)
{
    double delta;
    CHECK_NEAR(compare_logodds_z(10, 100, 2, 100, 12, 200, &delta), 1.405035, 1e-6);
    CHECK_NEAR(delta, 0.480356, 1e-6);
    /* the other side's z is the negative; equal shares give 0 */
    CHECK_NEAR(compare_logodds_z(2, 100, 10, 100, 12, 200, NULL), -1.405035, 1e-6);
    CHECK_NEAR(compare_logodds_z(5, 50, 10, 100, 15, 150, NULL), 0, 1e-12);
}

/* Over-represented words and phrases, by hand (α_w = pooled count, α0 = pooled total):
 *   A "love love love" "Love is here"   B "hate is here" "hate hate here"
 *   1-grams 6 per side: love 4 vs 0 → z = (ln(8/10) - ln(4/14)) / sqrt(1/8 + 1/4) = 1.681361
 *   2-grams 4 per side: "love love" 2 vs 0 → (ln(4/8) - ln(2/10)) / sqrt(1/4 + 1/2) = 1.058041
 *   B: hate 3 vs 0 → (ln(6/12) - ln(3/15)) / sqrt(1/6 + 1/3) = 1.295831
 *   "is" (1 vs 1) has z 0 and is on neither side. */
TEST(compare_overrepresented_by_hand)
{
    const char *const a[] = { "love love love", "Love is here" }, *const b[] = { "hate is here", "hate hate here" };
    const char *const *texts[2] = { a, b };
    const size_t n[2] = { 2, 2 };
    compare_term *out[2];
    size_t nout[2];
    compare_overrepresented(texts, n, 3, 0, out, nout);
    REQUIRE(nout[0] == 3 && nout[1] == 3);
    CHECK_STR(out[0][0].text, "love");
    CHECK_NEAR(out[0][0].z, 1.681361, 1e-6);
    CHECK_INT(out[0][0].count, 4);
    CHECK_INT(out[0][0].count_other, 0);
    CHECK_INT(out[0][0].words, 1);
    CHECK_STR(out[0][1].text, "love love");
    CHECK_NEAR(out[0][1].z, 1.058041, 1e-6);
    CHECK_INT(out[0][1].words, 2);
    CHECK_STR(out[0][2].text, "love is here");   /* ties on z and count: by text */
    CHECK_STR(out[1][0].text, "hate");
    CHECK_NEAR(out[1][0].z, 1.295831, 1e-6);
    CHECK_INT(out[1][0].count, 3);
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < nout[s]; i++)
            CHECK(strcmp(out[s][i].text, "is") != 0);
    compare_terms_free(out[0], nout[0]);
    compare_terms_free(out[1], nout[1]);
    /* at z > 1.96 nothing here is over-represented */
    compare_overrepresented(texts, n, 10, COMPARE_TERM_Z, out, nout);
    CHECK_INT(nout[0], 0);
    CHECK_INT(nout[1], 0);
    CHECK(out[0] == NULL && out[1] == NULL);
    /* one side empty, or a single word everywhere: no crash, nothing infinite */
    const char *const only[] = { "yes yes" };
    const char *const *t2[2] = { only, only };
    compare_overrepresented(t2, (const size_t[2]){ 1, 1 }, 10, 0, out, nout);
    CHECK_INT(nout[0] + nout[1], 0);
    /* against an empty side the prior is side A itself: delta is 0, nothing stands out */
    const char *const *t3[2] = { a, NULL };
    compare_overrepresented(t3, (const size_t[2]){ 2, 0 }, 10, 0, out, nout);
    CHECK_INT(nout[0] + nout[1], 0);
}

TEST(compare_spec_name_and_default_names)
{
    char *name, *rest = compare_spec_name("model=rl, name = the RL copy ,temperature=1", &name);
    CHECK_STR(name, "the RL copy");
    CHECK_STR(rest, "model=rl,temperature=1");
    free(name);
    free(rest);
    rest = compare_spec_name("temperature=0.2", &name);
    CHECK(name == NULL);
    CHECK_STR(rest, "temperature=0.2");
    free(rest);
    rest = compare_spec_name("name=", &name);           /* empty: the default name */
    CHECK(name == NULL);
    CHECK_STR(rest, "");
    free(rest);
    rest = compare_spec_name("names=x", &name);         /* not the name key: left for settings to refuse */
    CHECK(name == NULL);
    CHECK_STR(rest, "names=x");
    free(rest);

    json_t *cfg = json_pack("{s:s,s:s,s:s}", "backend", "llamacpp", "base_url", "http://user:pw@127.0.0.1:8080/v1",
                            "model", "base");
    char *n = compare_config_name(cfg);
    CHECK_STR(n, "base");
    free(n);
    json_object_del(cfg, "model");
    n = compare_config_name(cfg);
    CHECK_STR(n, "127.0.0.1:8080");                     /* no credentials, no path */
    free(n);
    json_object_del(cfg, "base_url");
    n = compare_config_name(cfg);
    CHECK_STR(n, "llamacpp");
    free(n);
    json_decref(cfg);
}

/* One backend serving both sides (the same server and settings): each side's grow hears
 * its own requests, both sides end with all their samples, and the run ends (it used to
 * hang: the second grow took over the backend's event sink, the first never heard its
 * request end). */
TEST(compare_run_shared_backend_ends)
{
    char err[512];
    backend *one = ngram_backend_new(NULL, err, sizeof err);
    REQUIRE(one);
    backend *be[2] = { one, one };
    gen_settings s[2];
    for (int i = 0; i < 2; i++) {
        settings_init(&s[i]);
        REQUIRE(settings_apply_spec(&s[i], i ? "temperature=0.1,max_tokens=5,seed=3"
                                             : "temperature=1.0,max_tokens=5,seed=4", err, sizeof err) == 0);
    }
    session ses;
    session_init(&ses);
    session_new_prompt(&ses, "The tree");
    int32_t root = tree_root(ses.t);
    const gen_settings *sp[2] = { &s[0], &s[1] };
    compare_run *run = compare_run_new(ses.t, root, be, sp, 6, NULL, NULL);
    REQUIRE(compare_run_start(run, err, sizeof err) == 0);
    int spins = 0;
    while (compare_run_pump(run) > 0 && spins++ < 3000)
        compare_run_wait(run, NULL, 0, 1, NULL);
    CHECK_INT(compare_run_active(run), 0);
    for (int i = 0; i < 2; i++) {
        int ended, failed;
        size_t tokens;
        compare_run_progress(run, i, &ended, &failed, &tokens);
        CHECK_INT(ended, 6);
        CHECK_INT(failed, 0);
        CHECK(tokens > 0);
        const tree_node *lab = tree_get(ses.t, compare_run_label(run, i));
        REQUIRE(lab);
        CHECK_INT(lab->nchildren, 6);
    }
    compare_run_free(run);
    session_free(&ses);
    for (int i = 0; i < 2; i++)
        settings_free(&s[i]);
    backend_free(one);
}
