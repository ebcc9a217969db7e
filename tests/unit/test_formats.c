/* tests/unit/test_formats.c — imports of other looms' files and the exports. */
#include "tests/test.h"
#include "core/formats.h"
#include "core/mem.h"
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>
#include <stdlib.h>

static const char *fx(const char *name)
{
    static char path[1024];
    const char *root = getenv("TERMLOOM_ROOT");
    snprintf(path, sizeof path, "%s/tests/fixtures/%s", root ? root : ".", name);
    return path;
}

static char err[1024];

static int import_fx(session *s, const char *name, const char *note)
{
    formats_opts o = { .note = note };
    err[0] = 0;
    return formats_import_file(fx(name), &o, s, NULL, err, sizeof err);
}

static const char *text_of(session *s, int32_t id)
{
    tree_node *n = tree_get(s->t, id);
    return n ? n->text : NULL;
}

static const char *tok_text(session *s, int32_t id, uint32_t i)
{
    static char out[256];
    size_t len;
    const char *t = tree_token_text(tree_get(s->t, id), i, &len);
    snprintf(out, sizeof out, "%.*s", (int)len, t);
    return out;
}

static const char *top_text(session *s, int32_t id, uint32_t i, uint32_t j)
{
    static char out[256];
    size_t len;
    const char *t = tree_top_text(tree_get(s->t, id), i, j, &len);
    snprintf(out, sizeof out, "%.*s", (int)len, t);
    return out;
}

static json_t *kept(session *s, int32_t id, const char *fmt)
{
    tree_node *n = tree_get(s->t, id);
    return n && n->extra ? json_object_get(n->extra, fmt) : NULL;
}

/* Same shape, texts, origins, marks, visited flags and tokens (text, logprob, top-k). */
static int same_tree(session *a, session *b, char *why, size_t n)
{
    if (tree_count(a->t) != tree_count(b->t))
        return snprintf(why, n, "%zu vs %zu nodes", tree_count(a->t), tree_count(b->t)), 0;
    for (int32_t id = 0; id < tree_capacity(a->t); id++) {
        tree_node *x = tree_get(a->t, id), *y = tree_get(b->t, id);
        if (!x || !y)
            return snprintf(why, n, "node %d missing", (int)id), 0;
        if (x->parent != y->parent || strcmp(x->text, y->text) || x->origin != y->origin ||
            x->marks != y->marks || (x->flags & TREE_FLAG_VISITED) != (y->flags & TREE_FLAG_VISITED) ||
            x->ntokens != y->ntokens || x->nchildren != y->nchildren)
            return snprintf(why, n, "node %d differs", (int)id), 0;
        for (uint32_t i = 0; i < x->ntokens; i++) {
            size_t l1, l2;
            const char *t1 = tree_token_text(x, i, &l1), *t2 = tree_token_text(y, i, &l2);
            float p1 = x->tokens[i].tok.logprob, p2 = y->tokens[i].tok.logprob;
            if (l1 != l2 || memcmp(t1, t2, l1) || !(p1 == p2 || (isnan(p1) && isnan(p2))) ||
                x->tokens[i].ntop != y->tokens[i].ntop)
                return snprintf(why, n, "node %d token %u differs", (int)id, i), 0;
            for (uint32_t j = 0; j < x->tokens[i].ntop; j++) {
                const char *a1 = tree_top_text(x, i, j, &l1), *a2 = tree_top_text(y, i, j, &l2);
                if (l1 != l2 || memcmp(a1, a2, l1) || tree_top_logprob(x, i, j) != tree_top_logprob(y, i, j))
                    return snprintf(why, n, "node %d token %u alternative %u differs", (int)id, i, j), 0;
            }
        }
    }
    return 1;
}

TEST(formats_loom_nested_tree_tokens_and_settings)
{
    session s;
    session_init(&s);
    REQUIRE(import_fx(&s, "loom_nested.json", NULL) == FORMATS_OK);
    CHECK_INT(tree_count(s.t), 4);
    CHECK_STR(text_of(&s, 0), "The cat");
    CHECK_STR(text_of(&s, 1), " sat on the mat.");
    CHECK_STR(text_of(&s, 2), " It purred.");
    CHECK_STR(text_of(&s, 3), " ran away.");
    CHECK_INT(tree_parent(s.t, 2), 1);
    CHECK_INT(tree_parent(s.t, 3), 0);
    CHECK_INT(tree_get(s.t, 0)->origin, TREE_ORIGIN_PROMPT);
    CHECK_INT(tree_get(s.t, 1)->origin, TREE_ORIGIN_MODEL);
    CHECK_INT(tree_get(s.t, 2)->origin, TREE_ORIGIN_EDIT);       /* source "mixed" */
    CHECK(tree_get(s.t, 1)->marks & TREE_MARK_BOOKMARK);
    CHECK(!(tree_get(s.t, 3)->marks & TREE_MARK_BOOKMARK));
    CHECK(tree_get(s.t, 0)->flags & TREE_FLAG_VISITED);
    CHECK(!(tree_get(s.t, 3)->flags & TREE_FLAG_VISITED));
    CHECK_INT(s.cursor, 2);                                       /* selected_node_id a1x */
    CHECK_INT(tree_get(s.t, 0)->created, 1622548800);              /* 2021-06-01-12.00.00 UTC */
    /* tokens joined from model_responses */
    tree_node *n = tree_get(s.t, 1);
    REQUIRE(n->ntokens == 4);
    CHECK_STR(tok_text(&s, 1, 0), " sat");
    CHECK_NEAR(n->tokens[0].tok.logprob, -1.25, 0);
    REQUIRE(n->tokens[0].ntop == 3);
    CHECK_STR(top_text(&s, 1, 0, 0), " sat");                     /* most probable first */
    CHECK_STR(top_text(&s, 1, 0, 1), " ran");
    CHECK_NEAR(tree_top_logprob(n, 0, 2), -2.0, 0);
    CHECK_INT(n->tokens[1].ntop, 0);                              /* counterfactuals: null */
    CHECK_INT(n->tokens[3].ntop, 0);                              /* counterfactuals absent */
    CHECK_STR(tree_model(s.t, 1), "davinci-002");
    CHECK_STR(tree_finish(s.t, 1), "length");
    CHECK_STR(tree_finish(s.t, 3), "stop");                       /* {"reason": "stop"} */
    CHECK_INT(tree_get(s.t, 3)->ntokens, 2);
    /* settings from the loom frame */
    CHECK_NEAR(s.settings.temperature, 0.7, 1e-12);
    CHECK_INT(s.settings.branches, 3);
    CHECK_INT(s.settings.max_tokens, 40);
    CHECK_INT(s.settings.logprobs, 5);
    CHECK(s.settings.model == NULL);      /* a server's model: builtin goes on with its own */
    /* what termloom does not use is kept */
    json_t *k = kept(&s, 1, "loom");
    CHECK_STR(json_string_value(json_object_get(k, "chapter_id")), "ch1");
    CHECK_STR(json_string_value(json_object_get(k, "id")), "a1");
    CHECK_INT(json_array_size(json_object_get(k, "tags")), 1);    /* "note"; bookmark is the mark */
    CHECK(json_object_get(json_object_get(s.extra, "loom"), "chapters") != NULL);
    session_free(&s);
}

TEST(formats_loom_integer_positions_and_legacy_bookmark)
{
    session s;
    session_init(&s);
    REQUIRE(import_fx(&s, "loom_positions_int.json", NULL) == FORMATS_OK);
    CHECK_INT(tree_count(s.t), 2);
    tree_node *n = tree_get(s.t, 1);
    CHECK(n->marks & TREE_MARK_BOOKMARK);                         /* "bookmark": true */
    REQUIRE(n->ntokens == 2);
    CHECK_STR(tok_text(&s, 1, 0), " world");
    CHECK_NEAR(n->tokens[1].tok.logprob, -2.5, 0);
    CHECK_INT(n->tokens[0].ntop, 0);
    REQUIRE(n->tokens[1].ntop == 2);
    CHECK_STR(top_text(&s, 1, 1, 0), ".");
    CHECK_STR(tree_model(s.t, 1), "gpt-x");
    /* the export keeps the integer position form and its offsets */
    size_t len;
    char *out = formats_export(&s, FORMATS_OUT_LOOM, TREE_NONE, &len, err, sizeof err);
    REQUIRE(out);
    json_t *doc = json_loadb(out, len, 0, NULL);
    REQUIRE(doc);
    json_t *toks = json_object_get(json_array_get(json_object_get(json_object_get(
        json_object_get(doc, "model_responses"), "cmpl-9"), "completions"), 0), "tokens");
    CHECK_INT(json_array_size(toks), 2);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(toks, 0), "position")), 11);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(toks, 1), "position")), 12);
    CHECK(json_is_null(json_object_get(json_array_get(toks, 0), "counterfactuals")));
    json_t *prompt_toks = json_object_get(json_object_get(json_object_get(json_object_get(doc, "model_responses"),
                                                                          "cmpl-9"), "prompt"), "tokens");
    CHECK_INT(json_array_size(prompt_toks), 1);                   /* untouched fields come back */
    json_decref(doc);
    free(out);
    session_free(&s);
    /* A position near the end of the integers: the export saturates, it does not overflow
     * (UBSan stopped it). */
    size_t fl;
    char *f = test_slurp(fx("loom_positions_int.json"), &fl);
    REQUIRE(f);
    char *at = strstr(f, "\"position\": 11");
    REQUIRE(at);
    buf big = { 0 };
    buf_add(&big, f, (size_t)(at - f));
    buf_adds(&big, "\"position\": 9223372036854775807");   /* the next token would pass it */
    buf_adds(&big, at + strlen("\"position\": 11"));
    session_init(&s);
    CHECKF(formats_import_mem(big.data, big.len, "big.json", &(formats_opts){ 0 }, &s, NULL, err, sizeof err) == 0, "%s", err);
    out = formats_export(&s, FORMATS_OUT_LOOM, TREE_NONE, &len, err, sizeof err);
    CHECK(out != NULL && strstr(out, "9223372036854775807") != NULL && !strstr(out, "-9223372036854775808"));
    free(out);
    session_free(&s);
    buf_free(&big);
    free(f);
}

TEST(formats_loom_legacy_logprobs)
{
    session s;
    session_init(&s);
    REQUIRE(import_fx(&s, "loom_legacy.json", NULL) == FORMATS_OK);
    tree_node *n = tree_get(s.t, 1);
    REQUIRE(n && n->ntokens == 2);
    CHECK_STR(tok_text(&s, 1, 1), " b");
    CHECK_NEAR(n->tokens[0].tok.logprob, -0.5, 0);
    CHECK(isnan(n->tokens[1].tok.logprob));                        /* null logprob */
    CHECK_INT(n->tokens[0].ntop, 2);
    CHECK_STR(top_text(&s, 1, 0, 1), " c");
    CHECK_INT(n->tokens[1].ntop, 0);
    CHECK_STR(tree_model(s.t, 1), "davinci");
    CHECK_STR(tree_finish(s.t, 1), "length");
    /* the legacy logprobs moved into the tokens; the rest of meta.generation stays */
    json_t *g = json_object_get(json_object_get(kept(&s, 1, "loom"), "meta"), "generation");
    CHECK(g && !json_object_get(g, "logprobs"));
    CHECK_STR(json_string_value(json_object_get(g, "prompt")), "Say");
    session_free(&s);
}

TEST(formats_loom_bare_root_list_and_flat)
{
    session s;
    session_init(&s);
    REQUIRE(import_fx(&s, "loom_bare_root.json", NULL) == FORMATS_OK);
    CHECK_INT(tree_count(s.t), 3);
    CHECK_STR(text_of(&s, 0), "Just a root");
    CHECK_STR(text_of(&s, 2), " and another");
    CHECK(tree_get(s.t, 2)->marks & TREE_MARK_ATTRACTOR);
    /* a child without id gets one in the export */
    size_t len;
    char *out = formats_export(&s, FORMATS_OUT_LOOM, TREE_NONE, &len, err, sizeof err);
    REQUIRE(out);
    CHECK(strstr(out, "\"id\":\"termloom-1\"") != NULL);
    free(out);

    REQUIRE(import_fx(&s, "loom_children_list.json", NULL) == FORMATS_OK);
    CHECK_INT(tree_count(s.t), 4);                                /* synthetic root + 3 */
    CHECK_STR(text_of(&s, 0), "");
    CHECK_INT(tree_get(s.t, 0)->nchildren, 2);
    CHECK_STR(text_of(&s, 1), "First");
    CHECK_STR(text_of(&s, 2), " one");
    CHECK_STR(text_of(&s, 3), "Second");

    REQUIRE(import_fx(&s, "loom_flat.json", NULL) == FORMATS_OK);
    CHECK_INT(tree_count(s.t), 4);
    CHECK_INT(tree_get(s.t, 0)->nchildren, 2);
    char *path = tree_path_text(s.t, 2, NULL);
    CHECK_STR(path, "Root kid grandkid");
    free(path);
    session_free(&s);
}

/* import → export loom → import gives the same tree, text and logprobs; a second export
 * gives the same bytes. */
TEST(formats_loom_round_trip)
{
    const char *names[] = { "loom_nested.json", "loom_positions_int.json", "loom_legacy.json",
                            "loom_bare_root.json", "loom_children_list.json", "loom_flat.json",
                            "miniloom.json", "bonsai.json", "loomsidian_one.json" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        session a, b, c;
        session_init(&a);
        session_init(&b);
        session_init(&c);
        REQUIRE(import_fx(&a, names[i], NULL) == FORMATS_OK);
        size_t l1, l2;
        char *x = formats_export(&a, FORMATS_OUT_LOOM, TREE_NONE, &l1, err, sizeof err);
        REQUIRE(x);
        int rc = formats_import_mem(x, l1, "export", NULL, &b, NULL, err, sizeof err);
        CHECKF(rc == FORMATS_OK, "%s: %s", names[i], err);
        char why[128] = "";
        CHECKF(rc == 0 && same_tree(&a, &b, why, sizeof why), "%s: %s", names[i], why);
        CHECK_INT(b.cursor, a.cursor);
        for (int32_t id = 0; id < tree_capacity(a.t) && id < tree_capacity(b.t); id++)
            CHECKF(tree_get(a.t, id)->created == tree_get(b.t, id)->created, "%s: node %d time", names[i], (int)id);
        char *y = formats_export(&b, FORMATS_OUT_LOOM, TREE_NONE, &l2, err, sizeof err);
        REQUIRE(y);
        CHECKF(l1 == l2 && !memcmp(x, y, l1), "%s: second export differs", names[i]);
        /* through the session file too */
        size_t sl;
        char *sj = session_dump(&b, &sl);
        CHECKF(session_load_mem(&c, sj, sl, "s.json", err, sizeof err) == 0, "%s: %s", names[i], err);
        CHECKF(same_tree(&a, &c, why, sizeof why), "%s via session: %s", names[i], why);
        free(sj);
        free(x);
        free(y);
        session_free(&a);
        session_free(&b);
        session_free(&c);
    }
}

TEST(formats_miniloom_patches)
{
    session s;
    session_init(&s);
    REQUIRE(import_fx(&s, "miniloom.json", NULL) == FORMATS_OK);
    CHECK_INT(tree_count(s.t), 5);
    CHECK_STR(text_of(&s, 0), "");
    CHECK_STR(text_of(&s, 1), "Once upon a time");
    CHECK_STR(text_of(&s, 2), ", there was a fox.");               /* [{"0":op,"1":text}] diffs */
    CHECK_STR(text_of(&s, 3), "\nThe end");                         /* patch_toText form */
    CHECK_INT(s.cursor, 3);                                         /* focus */
    char *path = tree_path_text(s.t, 3, NULL);
    CHECK_STR(path, "Once upon a time, there was a fox.\nThe end");
    free(path);
    CHECK_INT(tree_get(s.t, 2)->origin, TREE_ORIGIN_MODEL);
    CHECK_INT(tree_get(s.t, 1)->origin, TREE_ORIGIN_PROMPT);
    CHECK_INT(tree_get(s.t, 4)->origin, TREE_ORIGIN_EDIT);
    CHECK_STR(tree_model(s.t, 2), "base-7b");
    CHECK_INT(tree_get(s.t, 2)->created, 1700000000);              /* JavaScript milliseconds */
    CHECK_STR(tree_finish(s.t, 2), "length");
    CHECK(!(tree_get(s.t, 2)->flags & TREE_FLAG_VISITED));
    CHECK(tree_get(s.t, 3)->flags & TREE_FLAG_VISITED);
    /* a rewrite cannot be a suffix of its parent: its full text is kept */
    CHECK_STR(json_string_value(json_object_get(kept(&s, 4, "miniloom"), "full_text")), "Twice upon a time");
    CHECK_STR(json_string_value(json_object_get(kept(&s, 2, "miniloom"), "summary")), "Fox");
    session_free(&s);
}

TEST(formats_patch_apply_utf16_positions_and_text_form)
{
    /* start2 counts UTF-16 units: the fox is two, so unit 5 is the second "ab" */
    const char *text = "\xF0\x9F\xA6\x8A" "ab ab";
    json_t *p = json_loads("[{\"diffs\": [[0, \"ab\"], [1, \"X\"]], \"start1\": 5, \"start2\": 5, "
                           "\"length1\": 2, \"length2\": 3}]", 0, NULL);
    size_t len;
    char *out = formats_patch_apply(p, text, strlen(text), &len, err, sizeof err);
    CHECK_STR(out, "\xF0\x9F\xA6\x8A" "ab abX");
    free(out);
    json_decref(p);
    p = json_string("@@ -6,2 +6,3 @@\n ab\n+X%0A%25\n");
    out = formats_patch_apply(p, text, strlen(text), &len, err, sizeof err);
    CHECK_STR(out, "\xF0\x9F\xA6\x8A" "ab abX\n%");
    free(out);
    json_decref(p);
    p = json_string("@@ -1,2 +1,2 @@\n-zz\n+y\n");
    out = formats_patch_apply(p, text, strlen(text), &len, err, sizeof err);
    CHECK(out == NULL && strstr(err, "does not apply"));
    free(out);
    json_decref(p);
    p = json_string("@@ garbage\n");
    CHECK(formats_patch_apply(p, text, strlen(text), &len, err, sizeof err) == NULL);
    json_decref(p);
}

TEST(formats_loomsidian_notes)
{
    session s;
    session_init(&s);
    REQUIRE(import_fx(&s, "loomsidian_one.json", NULL) == FORMATS_OK);
    CHECK_INT(tree_count(s.t), 3);
    CHECK_STR(text_of(&s, 1), " and stormy night.");
    CHECK(tree_get(s.t, 1)->marks & TREE_MARK_BOOKMARK);
    CHECK(tree_get(s.t, 1)->flags & TREE_FLAG_VISITED);
    CHECK(!(tree_get(s.t, 2)->flags & TREE_FLAG_VISITED));        /* unread */
    CHECK_INT(s.cursor, 2);                                         /* current n3 */
    CHECK_STR(json_string_value(json_object_get(json_object_get(s.extra, "loomsidian"), "note")), "Notes/Story.md");

    /* several notes and no --note: a usage error listing them; the session is untouched */
    CHECK_INT(import_fx(&s, "loomsidian_multi.json", NULL), FORMATS_ERR_USAGE);
    CHECK(strstr(err, "\"A.md\"") && strstr(err, "\"B.md\"") && strstr(err, "--note"));
    CHECK_INT(tree_count(s.t), 3);
    CHECK_INT(import_fx(&s, "loomsidian_multi.json", "C.md"), FORMATS_ERR_USAGE);
    CHECK(strstr(err, "C.md") != NULL);
    REQUIRE(import_fx(&s, "loomsidian_multi.json", "B.md") == FORMATS_OK);
    CHECK_INT(tree_count(s.t), 2);
    CHECK_STR(text_of(&s, 1), " gamma");
    CHECK_INT(s.cursor, 1);
    session_free(&s);
}

TEST(formats_bonsai_multi_parent)
{
    session s;
    session_init(&s);
    REQUIRE(import_fx(&s, "bonsai.json", NULL) == FORMATS_OK);
    CHECK_INT(tree_count(s.t), 4);
    /* b4 has parents b2 and b3: the first is the tree parent, the other is recorded */
    int32_t b2 = tree_get(s.t, 0)->children[0], b4 = tree_get(s.t, b2)->children[0];
    CHECK_STR(text_of(&s, b2), " left");
    CHECK_STR(text_of(&s, b4), " joined");
    json_t *others = json_object_get(kept(&s, b4, "bonsai"), "other_parents");
    CHECK_INT(json_array_size(others), 1);
    CHECK_STR(json_string_value(json_array_get(others, 0)), "b3");
    CHECK_STR(json_string_value(json_object_get(json_object_get(s.extra, "bonsai"), "title")), "bonsai test");
    session_free(&s);
}

TEST(formats_malformed_input_errors_and_session_untouched)
{
    static const struct { const char *file, *want; } cases[] = {
        { "bad/truncated.json", "not valid JSON" },
        { "bad/unknown.json", "expected a termloom session" },
        { "bad/loom_cycle.json", "cycle" },
        { "bad/loom_duplicate.json", "duplicate node id \"a\"" },
        { "bad/loom_bad_text.json", "text is not a string" },
        { "bad/miniloom_bad_patch.json", "does not apply" },
        { "bad/loomsidian_dangling.json", "parent \"gone\" does not exist" },
        { "bad/bonsai_bad.json", "parentIds is not a list" },
    };
    session s;
    session_init(&s);
    session_new_prompt(&s, "keep me");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = import_fx(&s, cases[i].file, NULL);
        CHECKF(rc == FORMATS_ERR_INPUT, "%s: rc %d", cases[i].file, rc);
        CHECKF(strstr(err, cases[i].want) && strstr(err, cases[i].file) && !strchr(err, '\n'),
               "%s: \"%s\"", cases[i].file, err);
        CHECK_INT(tree_count(s.t), 1);
        CHECK_STR(text_of(&s, tree_root(s.t)), "keep me");
    }
    session_free(&s);
}

/* A malformed token costs that node's tokens, not the file: the rest is kept and one
 * summary line says what was left out, how often, and where first. */
TEST(formats_bad_tokens_are_left_out_and_reported)
{
    session s;
    session_init(&s);
    char summary[300];
    formats_opts o = { .summary = summary, .summarylen = sizeof summary };
    CHECKF(formats_import_file(fx("bad/loom_bad_token.json"), &o, &s, NULL, err, sizeof err) == FORMATS_OK, "%s", err);
    CHECK_INT(tree_count(s.t), 2);
    CHECK_STR(text_of(&s, 1), " b");
    CHECK_INT(tree_get(s.t, 1)->ntokens, 0);
    CHECKF(strstr(summary, "tokens left out, a generatedToken.token is missing or not a string: 1 node (first: node \"c\")")
           != NULL, "%s", summary);
    session_free(&s);
    /* A logprob above 0 is read as 0, and said. */
    size_t fl;
    char *f = test_slurp(fx("loom_positions_int.json"), &fl);
    REQUIRE(f);
    char *at = strstr(f, "\"logprob\": -0.5");
    REQUIRE(at);
    memcpy(at, "\"logprob\":  5.5", strlen("\"logprob\": -0.5"));
    session_init(&s);
    CHECKF(formats_import_mem(f, fl, "pos.json", &o, &s, NULL, err, sizeof err) == FORMATS_OK, "%s", err);
    CHECKF(strstr(summary, "a logprob above 0 (a probability over 1) read as 0: 1 token (first: node") != NULL, "%s", summary);
    CHECK(tree_get(s.t, 1) && tree_get(s.t, 1)->ntokens && tree_get(s.t, 1)->tokens[0].tok.logprob == 0);
    free(f);
    session_free(&s);
    session_init(&s);
    REQUIRE(import_fx(&s, "loom_nested.json", NULL) == FORMATS_OK);   /* a clean file: nothing to say */
    session_free(&s);
    session_init(&s);
    CHECK(formats_import_file(fx("loom_nested.json"), &o, &s, NULL, err, sizeof err) == FORMATS_OK && !summary[0]);
    session_free(&s);
}

static char *nested(int levels)
{
    buf b = {0};
    for (int i = 0; i < levels; i++)
        buf_adds(&b, "{\"text\":\"a\",\"children\":[");
    buf_adds(&b, "{\"text\":\"leaf\"}");
    for (int i = 0; i < levels; i++)
        buf_adds(&b, "]}");
    return buf_steal(&b);
}

TEST(formats_deep_nesting)
{
    session s;
    session_init(&s);
    char *ok = nested(1000);                 /* 2001 JSON levels: within jansson's 2048 */
    REQUIRE(formats_import_mem(ok, strlen(ok), "deep.json", NULL, &s, NULL, err, sizeof err) == FORMATS_OK);
    CHECK_INT(tree_count(s.t), 1001);
    CHECK_INT(tree_max_depth(s.t), 1000);
    size_t len;
    char *out = formats_export(&s, FORMATS_OUT_LOOM, TREE_NONE, &len, err, sizeof err);
    REQUIRE(out);
    session b;
    session_init(&b);
    CHECK(formats_import_mem(out, len, "again.json", NULL, &b, NULL, err, sizeof err) == FORMATS_OK);
    CHECK_INT(tree_count(b.t), 1001);
    free(out);
    session_free(&b);
    char *deep = nested(1100);
    CHECK_INT(formats_import_mem(deep, strlen(deep), "deep.json", NULL, &s, NULL, err, sizeof err),
              FORMATS_ERR_INPUT);
    CHECKF(strstr(err, "deep.json: nested deeper than the JSON parser allows"), "%s", err);
    CHECK_INT(tree_count(s.t), 1001);
    free(ok);
    free(deep);
    session_free(&s);
}

TEST(formats_export_md_cursor_and_node)
{
    session s;
    session_init(&s);
    REQUIRE(import_fx(&s, "loom_nested.json", NULL) == FORMATS_OK);
    size_t len;
    char *md = formats_export(&s, FORMATS_OUT_MD, TREE_NONE, &len, err, sizeof err);
    CHECK_STR(md, "<!-- termloom: the path to node #2 (depth 2), the cursor -->\nThe cat sat on the mat. It purred.\n");
    free(md);
    md = formats_export(&s, FORMATS_OUT_MD, 3, &len, err, sizeof err);
    CHECK_STR(md, "<!-- termloom: the path to node #3 (depth 1) -->\nThe cat ran away.\n");
    free(md);
    CHECK(formats_export(&s, FORMATS_OUT_MD, 99, &len, err, sizeof err) == NULL);
    CHECK(strstr(err, "99") != NULL);
    char *js = formats_export(&s, FORMATS_OUT_JSON, TREE_NONE, &len, err, sizeof err);
    REQUIRE(js);
    session b;
    session_init(&b);
    CHECK(session_load_mem(&b, js, len, "x.json", err, sizeof err) == 0);
    char why[128] = "";
    CHECKF(same_tree(&s, &b, why, sizeof why), "%s", why);
    free(js);
    session_free(&b);
    session_free(&s);
}

TEST(formats_export_jsonl_lines)
{
    session s;
    session_init(&s);
    REQUIRE(import_fx(&s, "loom_nested.json", NULL) == FORMATS_OK);
    /* two near-duplicate siblings to see one merged group */
    int32_t d1 = tree_add_child(s.t, 2, TREE_ORIGIN_MODEL, " The end.", 9);
    int32_t d2 = tree_add_child(s.t, 2, TREE_ORIGIN_MODEL, " the end!", 9);
    size_t len;
    char *out = formats_export(&s, FORMATS_OUT_JSONL, TREE_NONE, &len, err, sizeof err);
    REQUIRE(out);
    size_t nodes = 0, tokens = 0, lines = 0;
    long long group_d1 = -1, group_d2 = -2;
    double lp_sat = 0;
    for (char *line = out, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        REQUIRE(nl);
        lines++;
        json_t *o = json_loadb(line, (size_t)(nl - line), 0, NULL);
        CHECKF(o != NULL, "line %zu does not parse", lines);
        if (!o)
            continue;
        const char *type = json_string_value(json_object_get(o, "type"));
        if (type && !strcmp(type, "node")) {
            nodes++;
            int id = (int)json_integer_value(json_object_get(o, "id"));
            if (id == d1)
                group_d1 = json_integer_value(json_object_get(o, "group"));
            if (id == d2) {
                group_d2 = json_integer_value(json_object_get(o, "group"));
                CHECK_INT(json_integer_value(json_object_get(o, "group_size")), 2);
                CHECK_INT(json_integer_value(json_object_get(o, "depth")), 3);
            }
        } else if (type && !strcmp(type, "token")) {
            tokens++;
            if (json_integer_value(json_object_get(o, "node")) == 1 && json_integer_value(json_object_get(o, "index")) == 0) {
                lp_sat = json_real_value(json_object_get(o, "logprob"));
                CHECK_INT(json_array_size(json_object_get(o, "top")), 3);
            }
        }
        json_decref(o);
    }
    CHECK_INT(nodes, 6);
    CHECK_INT(tokens, 6);
    CHECK_INT(lines, 12);
    CHECK_INT(group_d1, group_d2);
    CHECK_NEAR(lp_sat, -1.25, 0);
    free(out);
    session_free(&s);
}

/* A live tree whose tokens hold pieces of characters (as llama.cpp streams them): every
 * jsonl line is an object (json_pack refused the bytes and wrote "null"), the pieces keep
 * their bytes, and the loom export keeps the tokens and alternatives, NUL included. */
TEST(formats_export_partial_characters)
{
    session s;
    session_init(&s);
    session_new_prompt(&s, "P");
    int32_t r = tree_root(s.t);
    int32_t a = tree_add_child(s.t, r, TREE_ORIGIN_MODEL, "", 0);
    tree_alt alts[] = { { "\xc3", 1, -0.2 }, { "\xe2\x80", 2, -1.5 }, { "\0", 1, -3.0 } };
    tree_append_token(s.t, a, " caf", 4, -0.1, NULL, 0, 1);
    tree_append_token(s.t, a, "\xc3", 1, -0.2, alts, 3, 1);
    tree_append_token(s.t, a, "\xa9", 1, -0.01, alts, 1, 1);
    tree_append_token(s.t, a, "\xe2\x80", 2, -2.0, NULL, 0, 1);       /* the node ends mid-character */
    size_t len;
    char *out = formats_export(&s, FORMATS_OUT_JSONL, TREE_NONE, &len, err, sizeof err);
    REQUIRE(out);
    size_t lines = 0, objects = 0, tokens = 0;
    for (char *line = out, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        REQUIRE(nl);
        lines++;
        json_t *o = json_loadb(line, (size_t)(nl - line), JSON_ALLOW_NUL, NULL);
        if (!json_is_object(o)) {
            json_decref(o);
            continue;
        }
        objects++;
        if (!strcmp(json_string_value(json_object_get(o, "type")), "token") &&
            json_integer_value(json_object_get(o, "node")) == a) {
            json_int_t i = json_integer_value(json_object_get(o, "index"));
            json_t *b = json_object_get(o, "bytes");
            tokens++;
            if (i == 1) {
                CHECK(json_array_size(b) == 1 && json_integer_value(json_array_get(b, 0)) == 0xc3);
                json_t *top = json_object_get(o, "top");
                CHECK_INT(json_array_size(top), 3);
                CHECK(json_array_size(json_object_get(json_array_get(top, 1), "bytes")) == 2);
                CHECK(json_object_get(json_array_get(top, 2), "bytes") == NULL);   /* NUL is valid UTF-8 */
            } else if (i == 0) {
                CHECK(b == NULL);
            }
        }
        json_decref(o);
    }
    CHECK_INT(objects, lines);
    CHECK_INT(tokens, 4);
    free(out);
    out = formats_export(&s, FORMATS_OUT_LOOM, TREE_NONE, &len, err, sizeof err);
    REQUIRE(out);
    CHECK(strstr(out, "\"\\u0000\"") != NULL);                       /* the NUL alternative is a key */
    session back;
    session_init(&back);
    formats_opts o = { 0 };
    CHECKF(formats_import_mem(out, len, "nul.json", &o, &back, NULL, err, sizeof err) == 0, "%s", err);
    int nul_alt = 0, ntok = 0;
    for (int32_t id = 0; id < tree_capacity(back.t); id++) {
        tree_node *bn = tree_get(back.t, id);
        for (uint32_t i = 0; bn && i < bn->ntokens; i++, ntok++)
            for (uint32_t j = 0; j < bn->tokens[i].ntop; j++) {
                size_t al;
                const char *at = tree_top_text(bn, i, j, &al);
                nul_alt += al == 1 && at[0] == 0;
            }
    }
    CHECK_INT(ntok, 4);
    CHECK_INT(nul_alt, 1);                                               /* read back as the byte 0 */
    session_free(&back);
    free(out);
    session_free(&s);
}

TEST(formats_export_dot_labels)
{
    session s;
    session_init(&s);
    session_new_prompt(&s, "Say \"hi\"\\");
    int32_t r = tree_root(s.t);
    tree_add_child(s.t, r, TREE_ORIGIN_MODEL, " yes.", 5);
    tree_add_child(s.t, r, TREE_ORIGIN_MODEL, " Yes!", 5);
    int32_t c = tree_add_child(s.t, r, TREE_ORIGIN_MODEL, " no", 3);
    tree_get(s.t, c)->marks |= TREE_MARK_ATTRACTOR;
    size_t len;
    char *dot = formats_export(&s, FORMATS_OUT_DOT, TREE_NONE, &len, err, sizeof err);
    REQUIRE(dot);
    CHECK(strncmp(dot, "digraph", 7) == 0);
    CHECK(strstr(dot, "Say \\\"hi\\\"\\\\") != NULL);             /* quotes and backslash escaped */
    CHECK(strstr(dot, "×2") != NULL);                              /* merged group */
    CHECK(strstr(dot, "n0 -> n3;") != NULL);
    CHECK(strstr(dot, "#f4a6a6") != NULL);                          /* attractor colour */
    free(dot);
    session_free(&s);
}

/* The same continuation under three different parents is a detected attractor: jsonl names
 * it on its member nodes and lists it; dot colours the members. */
TEST(formats_export_attractors_jsonl_and_dot)
{
    session s;
    session_init(&s);
    session_new_prompt(&s, "Tell me a story.");
    int32_t r = tree_root(s.t);
    const char *opens[] = { " A king ruled the land.", " The sea was calm that day.", " Nobody knew the stranger." };
    int32_t members[3];
    for (int i = 0; i < 3; i++) {
        int32_t p = tree_add_child(s.t, r, TREE_ORIGIN_MODEL, opens[i], strlen(opens[i]));
        const char *end = " And then everything went quiet forever.";
        members[i] = tree_add_child(s.t, p, TREE_ORIGIN_MODEL, end, strlen(end));
    }
    size_t len;
    char *out = formats_export(&s, FORMATS_OUT_JSONL, TREE_NONE, &len, err, sizeof err);
    REQUIRE(out);
    int found_line = 0, tagged = 0;
    for (char *line = out, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        REQUIRE(nl);
        json_t *o = json_loadb(line, (size_t)(nl - line), 0, NULL);
        REQUIRE(o);
        const char *type = json_string_value(json_object_get(o, "type"));
        if (!strcmp(type, "attractor")) {
            found_line++;
            CHECK_INT(json_integer_value(json_object_get(o, "support")), 3);
            CHECK_INT(json_array_size(json_object_get(o, "members")), 3);
            CHECK_STR(json_string_value(json_object_get(o, "kind")), "continuation");
        } else if (!strcmp(type, "node")) {
            int id = (int)json_integer_value(json_object_get(o, "id"));
            json_t *at = json_object_get(o, "attractors");
            int member = id == members[0] || id == members[1] || id == members[2];
            if (member && json_array_size(at) >= 1 && json_integer_value(json_array_get(at, 0)) == 0)
                tagged++;
            if (!member)
                CHECK_INT(json_array_size(at), 0);
        }
        json_decref(o);
    }
    CHECK(found_line >= 1);
    CHECK_INT(tagged, 3);
    free(out);
    char *dot = formats_export(&s, FORMATS_OUT_DOT, TREE_NONE, &len, err, sizeof err);
    REQUIRE(dot);
    char want[160];
    snprintf(want, sizeof want, "  n%d [label=\" And then everything went quiet forever.  ◆1\", fillcolor=\"#ffd966\"", (int)members[1]);
    CHECKF(strstr(dot, want) != NULL, "%s", dot);
    free(dot);
    session_free(&s);
}

/* formats_load_any opens a termloom session and any importable file alike. */
TEST(formats_load_any_session_or_import)
{
    session s, b;
    session_init(&s);
    session_init(&b);
    REQUIRE(formats_load_any(fx("miniloom.json"), &s, err, sizeof err) == 0);
    CHECK_INT(tree_count(s.t), 5);
    char path[1024];
    snprintf(path, sizeof path, "%s/s.json", test_tmpdir());
    REQUIRE(session_save(&s, path, err, sizeof err) == 0);
    REQUIRE(formats_load_any(path, &b, err, sizeof err) == 0);
    char why[128] = "";
    CHECKF(same_tree(&s, &b, why, sizeof why), "%s", why);
    CHECK(formats_load_any(fx("bad/unknown.json"), &b, err, sizeof err) < 0);
    CHECK_INT(tree_count(b.t), 5);
    session_free(&s);
    session_free(&b);
}

/* socketteer/loom trees whose top_logprobs is [], null or shorter than tokens keep their
 * tokens and logprobs, with whatever alternatives exist (they were refused whole). */
TEST(formats_loom_short_top_logprobs_keep_tokens)
{
    session s;
    session_init(&s);
    REQUIRE(import_fx(&s, "loom_short_tops.json", NULL) == FORMATS_OK);
    CHECK_INT(tree_count(s.t), 4);
    for (int32_t id = 1; id <= 3; id++) {
        tree_node *n = tree_get(s.t, id);
        REQUIRE(n && n->ntokens == 2);
        CHECK_STR(tok_text(&s, id, 1), " b");
        CHECK_NEAR(n->tokens[0].tok.logprob, -0.5, 0);
        CHECK_INT(n->tokens[1].ntop, 0);
        CHECK_INT(n->tokens[0].ntop, id == 3 ? 2 : 0);   /* [], null, then one list of two */
    }
    session_free(&s);
}

/* A deep chain of small miniloom patches keeps two full texts at a time, not one per node:
 * 3000 nodes of 64 bytes each held 290 MB before (the sum of every depth's full text). */
TEST(formats_miniloom_deep_chain_memory)
{
    enum { N = 3000, W = 64 };
    buf d = { 0 };
    char add[W + 1];
    memset(add, 'x', W);
    add[W] = 0;
    buf_adds(&d, "{\"loomTree\": {\"nodeStore\": {\"0\": {\"type\": \"root\", \"patch\": \"\", \"parent\": null}");
    for (int i = 1; i < N; i++)
        buf_printf(&d, ",\n\"%d\": {\"type\": \"gen\", \"parent\": \"%d\", \"patch\": [{\"diffs\": [[1, \"%s\"]], "
                   "\"start1\": %d, \"start2\": %d, \"length1\": 0, \"length2\": %d}]}", i, i - 1, add,
                   W * (i - 1), W * (i - 1), W);
    buf_adds(&d, "}}}");
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct rusage r0, r1;
        getrusage(RUSAGE_SELF, &r0);
        session s;
        session_init(&s);
        char e[256];
        long grew = -1;
        if (formats_import_mem(d.data, d.len, "chain.json", &(formats_opts){ 0 }, &s, NULL, e, sizeof e) == 0 &&
            tree_count(s.t) == N && tree_get(s.t, N - 1)->text_len == W) {
            getrusage(RUSAGE_SELF, &r1);
            grew = r1.ru_maxrss - r0.ru_maxrss;   /* KiB */
        }
        if (write(fds[1], &grew, sizeof grew) != (ssize_t)sizeof grew)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    long grew = -2;
    CHECK(read(fds[0], &grew, sizeof grew) == (ssize_t)sizeof grew);
    close(fds[0]);
    waitpid(pid, NULL, 0);
    CHECKF(grew >= 0, "the chain did not import (%ld)", grew);
#if !defined(__SANITIZE_ADDRESS__)   /* ASan keeps freed memory in quarantine: RSS says nothing */
    CHECKF(grew < 64 * 1024, "importing grew the resident set by %ld KiB", grew);
#endif
    buf_free(&d);
}
