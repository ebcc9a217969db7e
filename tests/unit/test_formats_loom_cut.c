/* socketteer/loom import with the token lists cut out (core/formats_loom_fast.c) against the
 * whole-document parse (TERMLOOM_IMPORT_PARSER=document): the same session, the same summary
 * line, the same message, on every loom file the tests have and on odd token lists. */
#include "tests/test.h"
#include "core/formats.h"
#include "core/mem.h"
#include "tests/unit/loom_import.h"
#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>

/* Both ways agree; returns 1 when the cut was taken (=cut did not refuse it). */
static int both_agree(const char *what, const char *doc, size_t len)
{
    outcome a, b, c;
    run(NULL, doc, len, &a);
    run("document", doc, len, &b);
    CHECKF(same(&a, &b),
           "%s: cut and whole document differ: rc %d/%d '%s' / '%s', summary '%s' / '%s'",
           what, a.rc, b.rc, a.err, b.err, a.summary, b.summary);
    run("cut", doc, len, &c);
    int taken = !strstr(c.err, "were not cut out");
    done(&a), done(&b), done(&c);
    return taken;
}

static char *relaid(const char *doc, size_t len, size_t flags)
{
    json_error_t e;
    json_t *j = json_loadb(doc, len, JSON_ALLOW_NUL, &e);
    if (!j)
        return NULL;
    char *d = json_dumps(j, flags | JSON_REAL_PRECISION(17));
    json_decref(j);
    return d;
}

static void every_loom_in(const char *dir, int *files, int *cut)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (strncmp(de->d_name, "loom", 4) || !strstr(de->d_name, ".json") || !strncmp(de->d_name, "loomsidian", 10))
            continue;
        char *path = xasprintf("%s/%s", dir, de->d_name);
        size_t len;
        char *doc = test_slurp(path, &len);
        if (doc) {
            (*files)++;
            *cut += both_agree(path, doc, len);
            static const size_t layouts[] = { JSON_COMPACT | JSON_ENSURE_ASCII, JSON_INDENT(2) | JSON_SORT_KEYS };
            for (size_t i = 0; i < 2; i++) {
                char *r = relaid(doc, len, layouts[i]);
                if (r)
                    both_agree(path, r, strlen(r));
                free(r);
            }
        }
        free(doc);
        free(path);
    }
    closedir(dp);
}

TEST(formats_loom_cut_agrees_on_every_loom_file)
{
    const char *root = getenv("TERMLOOM_ROOT");
    int files = 0, cut = 0;
    char *dirs[3] = { xasprintf("%s/tests/fixtures", root ? root : "."),
                      xasprintf("%s/tests/fixtures/bad", root ? root : "."),
                      xasprintf("%s/tests/data/looms", root ? root : ".") };
    for (int i = 0; i < 3; i++) {
        every_loom_in(dirs[i], &files, &cut);
        free(dirs[i]);
    }
    CHECKF(files >= 10, "only %d loom files found", files);
    CHECKF(cut >= 2, "the token lists of only %d files were cut out", cut);
}

/* A loom tree whose node i takes completion 0 of response "r<i>", whose tokens are lists[i];
 * one more response no node takes keeps its tokens. */
static char *loom_with(const char *const *lists, size_t n, const char *tail)
{
    buf b = {0};
    buf_adds(&b, "{\"root\": {\"id\": \"root\", \"text\": \"p\", \"children\": [");
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s{\"id\": \"n%zu\", \"text\": \" x\", \"generation\": {\"id\": \"r%zu\", \"index\": 0}}",
                   i ? ", " : "", i, i);
    buf_adds(&b, "]}, \"model_responses\": {");
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "\"r%zu\": {\"model\": \"m\", \"completions\": [{\"text\": \" x\", \"tokens\": %s}]}, ", i, lists[i]);
    buf_adds(&b, "\"unused\": {\"completions\": [{\"tokens\": [{\"generatedToken\": {\"token\": \" k\", \"logprob\": -1}}]}, 7]}}");
    buf_adds(&b, tail ? tail : "}");
    return buf_steal(&b);
}

#define TK(body) "{\"generatedToken\": {\"token\": \" a\", \"logprob\": -0.5}" body "}"

TEST(formats_loom_cut_agrees_on_odd_token_lists)
{
    static const char *const lists[] = {
        "[" TK(", \"position\": {\"start\": 2, \"end\": 4}, \"counterfactuals\": {\" a\": -0.5, \" b\": -1}") "]",
        "[" TK(", \"position\": 7, \"counterfactuals\": {\"\\u0000\": -2, \" a\": -0.5}") "]",
        "[" TK(", \"counterfactuals\": {\"\\udbff\\udfff\": -2}") "]",                 /* U+10FFFF: jnul's NUL */
        "[" TK(", \"counterfactuals\": {\" b\": -1, \" b\": -3}") "]",                 /* a duplicate key */
        "[" TK(", \"counterfactuals\": [{\" b\": -1}, null]") "]",
        "[" TK(", \"counterfactuals\": {\" b\": null, \" c\": 0, \" d\": 2}") "]",      /* above 0: noted */
        "[" TK(", \"position\": 1.5") "]",                                             /* dropped, noted */
        "[" TK(", \"position\": {\"start\": 1}") "]",
        "[" TK(", \"position\": {\"start\": 1, \"end\": 2, \"x\": 0}") "]",
        "[" TK(", \"extra\": true") "]",
        "[{\"gener\\u0061tedToken\": {\"token\": \" a\", \"logprob\": -1}}]",
        "[{\"generatedToken\": {\"token\": \" a\", \"logprob\": null, \"top\": 1}}]",
        "[{\"generatedToken\": {\"logprob\": -1}}]",
        "[{\"generatedToken\": {\"token\": \"\\ud83e\\udd8a\\n\\\"\", \"logprob\": -1e-300}}, " TK("") "]",
        "[{\"generatedToken\": {\"token\": \" a\", \"logprob\": -1234567890123456789}}]",
        "[]", "null", "5", "{\"a\": [1, [2]]}",
    };
    size_t n = sizeof lists / sizeof *lists;
    char *doc = loom_with(lists, n, NULL);
    CHECK(both_agree("odd lists", doc, strlen(doc)));
    outcome r;
    run(NULL, doc, strlen(doc), &r);
    CHECKF(r.rc == FORMATS_OK && r.dump && strstr(r.dump, "\" k\""), "the unused response lost its tokens: %s", r.err);
    done(&r);
    free(doc);
    /* tokens given twice in one completion (jansson keeps the last), "tokens" in a prompt */
    const char *twice = "{\"root\": {\"id\": \"a\", \"text\": \"t\", \"generation\": {\"id\": \"r\", \"index\": 0}},"
                        " \"model_responses\": {\"r\": {\"prompt\": {\"tokens\": null}, \"completions\": [{\"tokens\": ["
                        TK("") "], \"tokens\": [" TK(", \"position\": 3") "]}]}}}";
    CHECK(both_agree("tokens twice", twice, strlen(twice)));
    /* what only the whole document decides: its message wins */
    static const char *const tails[] = { "} x", ", \"a\": }", "" };
    for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
        doc = loom_with(lists, 2, tails[i]);
        both_agree(tails[i], doc, strlen(doc));
        free(doc);
    }
    static const char *const bad_lists[] = {
        "[" TK(", \"counterfactuals\": {\" b\": -1e400}") "]",                         /* overflow */
        "[" TK(", \"position\": 123456789012345678901234") "]",                         /* too big */
        "[{\"generatedToken\": {\"token\": \" a\", \"logprob\": -12345678901234567890}}]",
        "[" TK(", \"counterfactuals\": {\" b\": -1,}") "]",
        "[{\"generatedToken\": {\"token\": \"\\ud800\", \"logprob\": -1}}]",
        "[{\"generatedToken\": {\"token\": \"\xff\", \"logprob\": -1}}]",
        "[" TK("") ",]",
    };
    for (size_t i = 0; i < sizeof bad_lists / sizeof *bad_lists; i++) {
        const char *one[] = { lists[0], bad_lists[i] };
        doc = loom_with(one, 2, NULL);
        outcome x;
        run(NULL, doc, strlen(doc), &x);
        CHECKF(x.rc == FORMATS_ERR_INPUT && strstr(x.err, "not valid JSON"), "bad list %zu: %s", i, x.err);
        done(&x);
        both_agree(bad_lists[i], doc, strlen(doc));
        free(doc);
    }
    /* escaped keys on the way to the tokens: left to the whole document, same result */
    static const char *const escaped[] = {
        "{\"root\": {\"id\": \"a\", \"text\": \"t\", \"generation\": {\"id\": \"r\", \"index\": 0}}, \"model\\u005fresponses\": {\"r\": {\"completions\": [{\"tokens\": [" TK("") "]}]}}}",
        "{\"root\": {\"id\": \"a\", \"text\": \"t\", \"generation\": {\"id\": \"r\", \"index\": 0}}, \"model_responses\": {\"r\": {\"c\\u006fmpletions\": [{\"tokens\": [" TK("") "]}]}}}",
        "{\"root\": {\"id\": \"a\", \"text\": \"t\", \"generation\": {\"id\": \"r\", \"index\": 0}}, \"model_responses\": {\"r\": {\"completions\": [{\"t\\u006fkens\": [" TK("") "]}]}}}",
        "{\"root\": {\"id\": \"a\", \"text\": \"t\", \"generation\": {\"id\": \"\\u0072\", \"index\": 0}}, \"model_responses\": {\"\\u0072\": {\"completions\": [{\"tokens\": [" TK("") "]}]}}}",
    };
    /* a bare root node with model_responses among its fields keeps them as they are */
    const char *bare = "{\"id\": \"a\", \"text\": \"t\", \"children\": [], \"model_responses\": {\"r\": "
                       "{\"completions\": [{\"tokens\": [" TK("") "]}]}}}";
    CHECK(!both_agree("bare root", bare, strlen(bare)));
    outcome br;
    run(NULL, bare, strlen(bare), &br);
    CHECKF(br.rc == FORMATS_OK && br.dump && strstr(br.dump, "\"generatedToken\""), "bare root: %s", br.err);
    done(&br);
    for (size_t i = 0; i < sizeof escaped / sizeof *escaped; i++)
        CHECKF(both_agree(escaped[i], escaped[i], strlen(escaped[i])) == (i == 3), "escaped case %zu", i);
}
