/* The socketteer/loom scanner (core/formats_loom_scan.c) against the whole-document parse
 * (TERMLOOM_IMPORT_PARSER=document) and the cut (=split) on hand-made trees: the same
 * session, the same loom export, the same summary line, the same message; and whether the
 * scanner took the file (=scan) or left it to the others, as its contract says. */
#include "tests/test.h"
#include "core/formats.h"
#include "core/mem.h"
#include "tests/unit/loom_import.h"
#include <jansson.h>
#include <stdlib.h>

/* The default import (the scanner first) gives what the whole document and the cut give;
 * returns 1 when the scanner read it itself. */
static int agree_n(const char *what, const char *doc, size_t len)
{
    outcome a, b, c, d, h;
    run(NULL, doc, len, &a);
    run("document", doc, len, &b);
    run("split", doc, len, &c);
    run("scan", doc, len, &d);
    run("helper", doc, len, &h);
    CHECKF(same(&a, &b), "%s: scanner and whole document differ: rc %d/%d '%s' / '%s', summary '%s' / '%s'",
           what, a.rc, b.rc, a.err, b.err, a.summary, b.summary);
    CHECKF(same(&c, &b), "%s: cut and whole document differ: '%s' / '%s'", what, c.err, b.err);
    CHECKF(same(&h, &b), "%s: lists read on the helper thread and whole document differ: rc %d/%d "
           "'%s' / '%s', summary '%s' / '%s'", what, h.rc, b.rc, h.err, b.err, h.summary, b.summary);
    int taken = !strstr(d.err, "TERMLOOM_IMPORT_PARSER=scan");
    CHECKF(!taken || same(&d, &b), "%s: =scan differs", what);
    done(&a), done(&b), done(&c), done(&d), done(&h);
    return taken;
}

/* doc written with ' for " (a \' is a '). */
static char *q(const char *doc)
{
    char *d = xstrdup(doc), *o = d;
    for (const char *p = doc; *p; p++) {
        if (p[0] == '\\' && p[1] == '\'')
            *o++ = '\'', p++;
        else
            *o++ = *p == '\'' ? '"' : *p;
    }
    *o = 0;
    return d;
}

static int agree(const char *what, const char *doc)
{
    char *d = q(doc);
    int t = agree_n(what, d, strlen(d));
    free(d);
    return t;
}

#define TOK(t, lp, pos, cf) "{'generatedToken': {'token': '" t "', 'logprob': " lp "}, 'position': " pos \
                            ", 'counterfactuals': " cf "}"

/* A small tree with tokens in both position forms, marks, flags and legacy logprobs. */
static const char tree_doc[] =
    "{'selected_node_id': 'b', 'frame': {'generation_settings': {'temperature': 0.7, 'num_continuations': 3}},"
    " 'root': {'id': 'r', 'text': 'Once', 'meta': {'source': 'prompt', 'creation_timestamp': '2023-11-14-22.13.20'},"
    "  'children': ["
    "   {'id': 'a', 'text': ' upon a', 'meta': {'source': 'AI'}, 'generation': {'id': 'g1', 'index': 0},"
    "    'tags': ['bookmark', 'x', 'attractor'], 'visited': true, 'children': []},"
    "   {'id': 'b', 'text': ' time', 'generation': {'id': 'g1', 'index': 1}, 'bookmark': true, 'children': ["
    "     {'id': 7, 'text': ' there', 'meta': {'generation': {'model': 'old', 'finish_reason': 'stop', 'logprobs':"
    "       {'tokens': [' there'], 'token_logprobs': [-0.25], 'top_logprobs': [{' there': -0.25, ' was': -2}]}}}}]},"
    "   {'id': 'c', 'text': ' twice', 'generation': {'id': 'g1', 'index': 1}}]},"
    " 'model_responses': {'g1': {'model': 'm1', 'prompt': 'Once', 'completions': ["
    "   {'text': ' upon a', 'finishReason': 'length', 'tokens': ["
    "     " TOK(" upon", "-0.5", "{'start': 0, 'end': 5}", "{' upon': -0.5, ' in': -1.5, ' on': -1.5}") ","
    "     " TOK(" a", "-0.1", "{'start': 5, 'end': 7}", "null") "]},"
    "   {'text': ' time', 'finishReason': {'reason': 'stop'}, 'tokens': ["
    "     " TOK(" time", "-0.2", "5", "{' time': -0.2, ' day': -3.25}") "]}]},"
    "  'unused': {'completions': [{'tokens': [" TOK(" k", "-1", "null", "{' k': -1}") "]}]}},"
    " 'version': 2}";

TEST(formats_loom_scan_reads_a_tree_as_the_whole_document_does)
{
    CHECK(agree("tree", tree_doc));
    /* pretty-printed and with every key order jansson can write */
    char *d = q(tree_doc);
    json_error_t e;
    json_t *j = json_loads(d, 0, &e);
    REQUIRE(j);
    static const size_t layouts[] = { JSON_INDENT(2), JSON_INDENT(1) | JSON_SORT_KEYS, JSON_COMPACT,
                                      JSON_COMPACT | JSON_ENSURE_ASCII | JSON_SORT_KEYS };
    for (size_t i = 0; i < sizeof layouts / sizeof *layouts; i++) {
        char *r = json_dumps(j, layouts[i] | JSON_REAL_PRECISION(17));
        CHECKF(agree_n("relaid", r, strlen(r)), "layout %zu not read by the scanner", i);
        free(r);
    }
    json_decref(j);
    free(d);
    /* the node's keys shuffled: children first, text last, root before the rest */
    CHECK(agree("shuffled", "{'root': {'children': [{'children': null, 'generation': {'index': 0, 'id': 'g'},"
                " 'text': ' b', 'id': 'n'}], 'text': 'a', 'id': 'r'}, 'model_responses': {'g': {'completions':"
                " [{'tokens': [" TOK(" b", "-1", "1", "{' b': -1, ' c': -2}") "], 'finishReason': 'stop'}], 'model': 'q'}}}"));
    /* whitespace everywhere JSON has it */
    CHECK(agree("spaced", " \r\n{ 'root' :\t{ 'id' : 'r' , 'text' : 'a' , 'children' : [ { 'id' : 'x' , 'children'"
                " : [ ] } , { 'text' : null } ] } } \n"));
}

TEST(formats_loom_scan_keeps_unknown_fields_nuls_and_duplicates_as_jansson_does)
{
    /* unknown fields at node and top level, of every kind; NUL in texts and in nested keys */
    CHECK(agree("unknown", "{'a': [1, {'b': null}], 'root': {'id': 'r', 'text': 'x\\u0000y', 'z': {'\\u0000': 1,"
                " 'k': [true, false, -0.0, 1e300, \"\\u00e9\\ud83e\\udd8a\\/\\\"\"]}, 'children': [{'id': 'c',"
                " 'text': '\\u0000', 'note': '\\u0000', 'n': 123456789012345678, 'f': 1.5e-300}]}, 'zz': {}, 'e': []}"));
    /* duplicate keys jansson resolves (the last wins): node fields, meta, the top level */
    CHECK(agree("dup node field", "{'root': {'id': 'r', 'x': 1, 'text': 't', 'x': 2, 'id': 's'}}"));
    CHECK(agree("dup meta", "{'root': {'id': 'r', 'meta': {'source': 'AI', 'source': 'prompt'}}, 'v': 1, 'v': [2]}"));
    CHECK(agree("dup generation", "{'root': {'id': 'r', 'generation': {'id': 'g'}, 'generation': {'id': 'h', 'index': 0}},"
                " 'model_responses': {'h': {'completions': [{'tokens': [" TOK(" a", "-1", "0", "null") "]}]}}}"));
    /* duplicates the scanner leaves to jansson */
    CHECK(!agree("dup text", "{'root': {'id': 'r', 'text': 'a', 'text': 'b'}}"));
    CHECK(!agree("dup children", "{'root': {'id': 'r', 'children': [{'id': 'a'}], 'children': [{'id': 'b'}]}}"));
    CHECK(!agree("dup root", "{'root': {'id': 'r'}, 'root': {'id': 's'}}"));
    CHECK(!agree("dup responses", "{'root': {'id': 'r'}, 'model_responses': {}, 'model_responses': {'a': 1}}"));
    /* ids given twice: the tree's own message */
    CHECK(!agree("dup ids", "{'root': {'id': 'r', 'children': [{'id': 'r'}]}}"));
    /* null counterfactuals, positions of both forms, a logprob above 0, an empty list */
    CHECK(agree("tokens", "{'root': {'id': 'r', 'generation': {'id': 'g', 'index': 0}, 'children': [{'id': 'c',"
                " 'generation': {'id': 'g', 'index': 1}}, {'id': 'd', 'generation': {'id': 'g', 'index': 2}}]},"
                " 'model_responses': {'g': {'completions': [{'tokens': [" TOK("a", "0.5", "1", "null") ","
                TOK("b", "-1", "{'start': 1, 'end': 2}", "{'b': -1, 'c': 0.25}") "]}, {'tokens': ["
                TOK("x", "null", "{'start': 3, 'end': 4}", "null") "]}, {'tokens': []}]}}}"));
}

TEST(formats_loom_scan_leaves_what_it_does_not_take_with_the_same_message)
{
    static const char *const bad[] = {
        "{'root': {'id': 'r', 'x': tru}}",                          /* invalid in a member */
        "{'root': {'id': 'r', 'x': [1,]}}",
        "{'root': {'id': 'r'}} x",                                  /* bytes after it */
        "{'root': {'id': 'r'},}",
        "{'root': {'id': 'r', 'children': [{'id': 'a'},]}}",
        "{'root': {'id': 'r', 'children': [null]}}",                /* a node that is no object */
        "{'root': {'id': 'r', 'text': 5}}",                         /* text not a string */
        "{'root': {'id': 'r', 'children': {}}}",                    /* children not a list */
        "{'root': {'id': 1.5}}",                                    /* id neither */
        "{'root': {'id': 'r', 'text': 'a\\x'}}",                    /* a bad escape in the text */
        "{'root': {'id': 'r', 'te\\u0078t': 'a'}}",                 /* escaped keys */
        "{'r\\u006fot': {'id': 'r'}}",
        "{'root': {'id': 'r', 'children': [{'id': 'a', 'parent\\u005fid': 'r'}]}}",
        "{'root': {'id': 'r', '\\u0000': 1}}",
        "{'root': [{'id': 'r'}]}",                                  /* a root that is no object */
        "{'root': {'id': 'r'}, 'state': {'n': {'nodes': {}}}}",
        "{'root': {'id': 'r'}, 'model_responses': {'g': {'completions': [{'tokens': [1,]}]}}}",
        "{}", "[]", "",
        "{'root': {'id': 'r', 'text': '\xff'}}",                    /* not UTF-8 */
        "{'root': {'id': 'r', 'm': '\xc3'}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECKF(!agree(bad[i], bad[i]), "case %zu taken", i);
    /* another format (named after the first 4096 bytes, where the session sniffer looks) */
    buf b = {0};
    buf_adds(&b, "{'root': {'id': 'r', 'text': '");
    for (int i = 0; i < 5000; i++)
        buf_addc(&b, 'w');
    buf_adds(&b, "'}, 'format': 'termloom-session'}");
    CHECK(!agree("a session", b.data));
    buf_free(&b);
    /* a raw NUL byte in a text */
    static const char nul[] = "{\"root\": {\"id\": \"r\", \"text\": \"a\0b\"}}";
    CHECK(!agree_n("raw NUL", nul, sizeof nul - 1));
}

/* A chain of n nodes, each the only child of the one before. */
static char *chain(size_t n)
{
    buf b = {0};
    buf_adds(&b, "{\"root\": ");
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "{\"id\": \"n%zu\", \"text\": \" w\"%s", i, i + 1 < n ? ", \"children\": [" : "");
    for (size_t i = 0; i < n; i++)
        buf_adds(&b, i ? "]}" : "}");
    buf_adds(&b, "}");
    return buf_steal(&b);
}

TEST(formats_loom_scan_walks_deep_trees_without_recursion)
{
    char *d = chain(900);                        /* its last node 1800 levels deep: the scanner's */
    CHECK(agree_n("900 deep", d, strlen(d)));
    free(d);
    d = chain(1010);                             /* 2020 levels: jansson's, which takes it */
    CHECK(!agree_n("1010 deep", d, strlen(d)));
    free(d);
    d = chain(100000);                           /* far beyond: jansson's message */
    CHECK(!agree_n("100000 deep", d, strlen(d)));
    outcome r;
    run(NULL, d, strlen(d), &r);
    CHECKF(r.rc == FORMATS_ERR_INPUT && strstr(r.err, "nested deeper"), "%s", r.err);
    done(&r);
    free(d);
    /* a deep value inside a node: the scanner's limit counts the node's levels too */
    buf b = {0};
    buf_adds(&b, "{\"root\": {\"id\": \"r\", \"x\": ");
    for (int i = 0; i < 2030; i++)
        buf_addc(&b, '[');
    for (int i = 0; i < 2030; i++)
        buf_addc(&b, ']');
    buf_adds(&b, "}}");
    CHECK(!agree_n("deep value", b.data, b.len));
    buf_free(&b);
}
