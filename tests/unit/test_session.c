#include "tests/test.h"
#include "core/mem.h"
#include "core/session.h"
#include "core/entropy.h"
#include "cli/options.h"
#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A session using every field the format has. */
static void build_rich(session *s)
{
    char err[256];
    session_init(s);
    CHECK(settings_set(&s->settings, "backend", "openai", err, sizeof err) == 0);
    CHECK(settings_set(&s->settings, "base_url", "http://127.0.0.1:9/v1", err, sizeof err) == 0);
    CHECK(settings_set(&s->settings, "model", "tiny-base", err, sizeof err) == 0);
    CHECK(settings_set(&s->settings, "temperature", "0.7", err, sizeof err) == 0);
    CHECK(settings_set(&s->settings, "top_p", "0.95", err, sizeof err) == 0);
    CHECK(settings_set(&s->settings, "stop", "\n\n", err, sizeof err) == 0);
    CHECK(settings_set(&s->settings, "stop", "END", err, sizeof err) == 0);
    CHECK(settings_set(&s->settings, "seed", "-42", err, sizeof err) == 0);
    CHECK(settings_set(&s->settings, "branches", "7", err, sizeof err) == 0);
    CHECK(settings_set(&s->settings, "chat_prefill", "true", err, sizeof err) == 0);
    session_new_prompt(s, "Once upon a \"time\"\n\t\\ é 𝄞");
    tree *t = s->t;
    int32_t r = tree_root(t);
    int32_t a = tree_add_child(t, r, TREE_ORIGIN_MODEL, "", 0);
    tree_alt alts[] = { { " there", 6, -0.1234567 }, { " a", 2, -2.4 }, { " \x01", 2, -7.25e-7 } };
    tree_append_token(t, a, " there", 6, -0.1234567, alts, 3, 1);
    tree_append_token(t, a, " was", 4, NAN, NULL, 0, 1);
    tree_append_token(t, a, "\xe2\x80", 2, -3.0, alts, 1, 1);   /* half a character */
    tree_set_model(t, a, "tiny-base");
    tree_set_finish(t, a, "length");
    tree_get(t, a)->marks = TREE_MARK_ATTRACTOR | TREE_MARK_BOOKMARK;
    tree_get(t, a)->flags |= TREE_FLAG_VISITED;
    tree_get(t, a)->created = 1700000000;
    int32_t b = tree_add_child(t, r, TREE_ORIGIN_EDIT, "edited", 6);
    tree_get(t, b)->flags |= TREE_FLAG_INCOMPLETE;
    tree_get(t, b)->marks = TREE_MARK_BOOKMARK;
    tree_get(t, b)->created = 0;
    int32_t c = tree_add_child(t, a, TREE_ORIGIN_FORCED, " forced", 7);
    int32_t d = tree_add_child(t, r, TREE_ORIGIN_MODEL, "deleted later", 13);
    tree_delete(t, d);                        /* ids stay sparse after a deletion */
    tree_add_child(t, b, TREE_ORIGIN_MODEL, "after the gap", 13);
    s->cursor = c;
}

TEST(session_round_trip_is_byte_identical)
{
    session s, s2;
    char err[512];
    build_rich(&s);
    size_t n1, n2;
    char *d1 = session_dump(&s, &n1);
    char *path = xasprintf("%s/a.json", test_tmpdir());
    REQUIRE(session_save(&s, path, err, sizeof err) == 0);
    size_t nf;
    char *onfile = test_slurp(path, &nf);
    CHECK(onfile && nf == n1 && !memcmp(onfile, d1, n1));     /* save writes what dump gives */
    session_init(&s2);
    REQUIRE(session_load(&s2, path, err, sizeof err) == 0);
    char *d2 = session_dump(&s2, &n2);
    CHECKF(n1 == n2 && !memcmp(d1, d2, n1), "second save differs:\n%s\n---\n%s", d1, d2);
    /* what came back */
    CHECK_INT(tree_count(s2.t), tree_count(s.t));
    CHECK_INT(s2.cursor, s.cursor);
    int32_t a = tree_child(s2.t, tree_root(s2.t));
    tree_node *na = tree_get(s2.t, a);
    REQUIRE(na);
    CHECK_INT(na->ntokens, 3);
    CHECK_NEAR(na->tokens[0].tok.logprob, -0.1234567, 1e-7);
    CHECK(na->tokens[0].tok.logprob == tree_get(s.t, a)->tokens[0].tok.logprob);  /* same float */
    CHECK(isnan(na->tokens[1].tok.logprob));
    CHECK_STR(tree_top_text(na, 0, 1, NULL), " a");
    CHECK(tree_top_logprob(na, 0, 2) == (float)-7.25e-7);
    CHECK_STR(tree_model(s2.t, a), "tiny-base");
    CHECK_STR(tree_finish(s2.t, a), "length");
    CHECK_INT(na->marks, TREE_MARK_ATTRACTOR | TREE_MARK_BOOKMARK);
    CHECK(na->flags & TREE_FLAG_VISITED);
    CHECK_INT(na->created, 1700000000);
    CHECK_STR(na->text, " there was\xef\xbf\xbd\xef\xbf\xbd");  /* the broken char made valid */
    /* ...but the token that holds half a character keeps its exact bytes ("bytes" in the file) */
    size_t hl;
    const char *half = tree_token_text(na, 2, &hl);
    CHECK(hl == 2 && !memcmp(half, "\xe2\x80", 2));
    CHECK(strstr(d1, "\"bytes\":[226,128]") != NULL);
    CHECK_STR(tree_get(s2.t, tree_root(s2.t))->text, "Once upon a \"time\"\n\t\\ é 𝄞");
    CHECK_INT(tree_capacity(s2.t), tree_capacity(s.t));   /* the deleted id is not reused */
    /* a third generation is identical too */
    char *path2 = xasprintf("%s/b.json", test_tmpdir());
    REQUIRE(session_save(&s2, path2, err, sizeof err) == 0);
    char *f2 = test_slurp(path2, &nf);
    CHECK(f2 && nf == n1 && !memcmp(f2, d1, n1));
    free(f2), free(path2), free(onfile), free(path), free(d1), free(d2);
    session_free(&s);
    session_free(&s2);
}

TEST(session_layout_is_one_node_per_line)
{
    session s;
    build_rich(&s);
    size_t n;
    char *d = session_dump(&s, &n);
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += d[i] == '\n';
    CHECK_INT(lines, tree_count(s.t) + 2);                 /* header, nodes, closing line */
    static const char head[] = "{\"format\":\"termloom-session\",\"version\":1,\"settings\":{";
    CHECK(!strncmp(d, head, strlen(head)));
    CHECK(strstr(d, "\"temperature\":0.7,") != NULL);      /* shortest round-trip numbers */
    CHECK(strstr(d, "\"logprob\":-0.1234567") != NULL);
    free(d);
    session_free(&s);
}

TEST(session_settings_saved_and_restored)
{
    session s, s2;
    char err[512];
    build_rich(&s);
    size_t n;
    char *d = session_dump(&s, &n);
    session_init(&s2);
    REQUIRE(session_load_mem(&s2, d, n, "mem.json", err, sizeof err) == 0);
    for (size_t i = 0; i < settings_noptions; i++) {
        if (!settings_options[i].saved)
            continue;
        char *a = settings_get(&s.settings, settings_options[i].key);
        char *b = settings_get(&s2.settings, settings_options[i].key);
        CHECKF(!strcmp(a, b), "%s: saved %s, loaded %s", settings_options[i].key, a, b);
        free(a), free(b);
    }
    CHECK_STR(s2.settings.backend, "openai");
    CHECK_INT(s2.settings.nstop, 2);
    CHECK_STR(s2.settings.stop[0], "\n\n");
    CHECK(s2.settings.has_seed && s2.settings.seed == -42);
    CHECK(s2.settings.temperature == 0.7);
    free(d);
    session_free(&s);
    session_free(&s2);
}

TEST(session_unknown_fields_survive)
{
    const char *doc =
        "{\"format\":\"termloom-session\",\"version\":1,\"future\":{\"x\":[1,2.5,\"y\"]},"
        "\"settings\":{\"temperature\":0.5,\"new_knob\":3},\"root\":0,\"cursor\":1,"
        "\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[1],\"color\":\"red\"},"
        "{\"id\":1,\"parent\":0,\"origin\":\"model\",\"text\":\"c\",\"children\":[],\"score\":0.25,\"tags\":[\"a\"]}],"
        "\"zz_last\":null}";
    session s;
    char err[512];
    session_init(&s);
    REQUIRE(session_load_mem(&s, doc, strlen(doc), "u.json", err, sizeof err) == 0);
    size_t n;
    char *d = session_dump(&s, &n);
    json_error_t e;
    json_t *j = json_loadb(d, n, 0, &e);
    REQUIRE(j);
    json_t *future = json_pack("{s:[i,f,s]}", "x", 1, 2.5, "y");
    CHECK(json_equal(json_object_get(j, "future"), future));
    json_decref(future);
    CHECK(json_is_null(json_object_get(j, "zz_last")) && json_object_get(j, "zz_last"));
    CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "settings"), "new_knob")), 3);
    json_t *nodes = json_object_get(j, "nodes");
    CHECK_STR(json_string_value(json_object_get(json_array_get(nodes, 0), "color")), "red");
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(nodes, 1), "score")), 0.25, 0);
    CHECK_STR(json_string_value(json_array_get(json_object_get(json_array_get(nodes, 1), "tags"), 0)), "a");
    json_decref(j);
    /* and they survive a second round, byte for byte */
    session s2;
    session_init(&s2);
    REQUIRE(session_load_mem(&s2, d, n, "u2.json", err, sizeof err) == 0);
    size_t n2;
    char *d2 = session_dump(&s2, &n2);
    CHECK(n == n2 && !memcmp(d, d2, n));
    free(d), free(d2);
    session_free(&s);
    session_free(&s2);
}

TEST(session_reformatted_file_loads_the_same)
{
    session s, s2;
    char err[512];
    build_rich(&s);
    size_t n;
    char *d = session_dump(&s, &n);
    json_error_t e;
    json_t *j = json_loadb(d, n, 0, &e);
    REQUIRE(j);
    /* pretty-printed with sorted keys: a different layout and key order */
    char *pretty = json_dumps(j, JSON_INDENT(3) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(j);
    REQUIRE(pretty);
    CHECK(strcmp(pretty, d) != 0);
    char *path = test_write_tmp("pretty.json", pretty, strlen(pretty));
    session_init(&s2);
    CHECKF(session_load(&s2, path, err, sizeof err) == 0, "%s", err);
    size_t n2;
    char *d2 = session_dump(&s2, &n2);
    CHECKF(n == n2 && !memcmp(d, d2, n), "reloaded:\n%s", d2);
    session_free(&s2);
    /* all on one line, from memory */
    j = json_loadb(d, n, 0, &e);
    char *compact = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(j);
    session_init(&s2);
    CHECKF(session_load_mem(&s2, compact, strlen(compact), "c.json", err, sizeof err) == 0, "%s", err);
    free(d2);
    d2 = session_dump(&s2, &n2);
    CHECK(n == n2 && !memcmp(d, d2, n));
    free(d), free(d2), free(pretty), free(compact), free(path);
    session_free(&s);
    session_free(&s2);
}

/* ---- invalid files ---- */

#define HDR "{\"format\":\"termloom-session\",\"version\":1,\"settings\":{},\"root\":0,\"cursor\":0,\"nodes\":["
#define N0(children) "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":" children "}"
#define N(id, parent, children) "{\"id\":" #id ",\"parent\":" #parent ",\"origin\":\"model\",\"text\":\"x\",\"children\":" children "}"

static const struct { const char *doc, *want; } bad_cases[] = {
    { "{\"format\": \"termloom-session\",", "not valid JSON at line 1" },
    { "", "not valid JSON" },
    { "[1, 2]", "top level is not an object" },
    { "{\"version\":1}", "no \"format\" field" },
    { "{\"format\":\"loom\",\"version\":1}", "format is \"loom\"" },
    { "{\"format\":3,\"version\":1}", "not a termloom session" },
    { "{\"format\":\"termloom-session\"}", "version is missing" },
    { "{\"format\":\"termloom-session\",\"version\":\"1\"}", "version is not a whole number" },
    { "{\"format\":\"termloom-session\",\"version\":2,\"root\":0,\"nodes\":[]}", "unsupported version 2" },
    { "{\"format\":\"termloom-session\",\"version\":1,\"nodes\":[]}", "root is missing" },
    { "{\"format\":\"termloom-session\",\"version\":1,\"root\":null}", "nodes is missing" },
    { "{\"format\":\"termloom-session\",\"version\":1,\"root\":null,\"nodes\":{}}", "nodes is not an array" },
    { "{\"format\":\"termloom-session\",\"version\":1,\"root\":\"0\",\"nodes\":[]}", "root is not a node id" },
    { "{\"format\":\"termloom-session\",\"version\":1,\"settings\":[],\"root\":null,\"nodes\":[]}", "settings is not an object" },
    { "{\"format\":\"termloom-session\",\"version\":1,\"settings\":{\"temperature\":\"hot\"},\"root\":null,\"nodes\":[]}", "settings: temperature is not a number" },
    { "{\"format\":\"termloom-session\",\"version\":1,\"settings\":{\"temperature\":11},\"root\":null,\"nodes\":[]}", "temperature: '11' is not a number from 0 to 10" },
    { "{\"format\":\"termloom-session\",\"version\":1,\"settings\":{\"backend\":\"gpt\"},\"root\":null,\"nodes\":[]}", "backend: 'gpt' is not one of" },
    { HDR "5]}", "nodes[0] is not an object" },
    { HDR "{\"parent\":null}]}", "nodes[0]: id is missing" },
    { HDR "{\"id\":-1}]}", "nodes[0]: id is not a node id" },
    { HDR "{\"id\":\"0\"}]}", "nodes[0]: id is not a node id" },
    { HDR "{\"id\":0,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[]}]}", "node 0: parent is missing" },
    { HDR "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"children\":[]}]}", "node 0: text is missing" },
    { HDR "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":7,\"children\":[]}]}", "node 0: text is not a string" },
    { HDR "{\"id\":0,\"parent\":null,\"origin\":\"alien\",\"text\":\"p\",\"children\":[]}]}", "node 0: unknown origin 'alien'" },
    { HDR "{\"id\":0,\"parent\":\"none\",\"origin\":\"prompt\",\"text\":\"p\",\"children\":[]}]}", "node 0: parent is not a node id" },
    { HDR "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":{}}]}", "node 0: children is not an array" },
    { HDR "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[\"1\"]}]}", "node 0: children[0] is not a node id" },
    { HDR "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"tokens\":{}}]}", "node 0: tokens is not an array" },
    { HDR "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"tokens\":[{\"logprob\":-1}]}]}", "node 0: tokens[0].text is missing" },
    { HDR "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"tokens\":[{\"text\":\"a\",\"logprob\":\"-1\"}]}]}", "node 0: tokens[0].logprob is not a number" },
    { HDR "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"tokens\":[{\"text\":\"a\",\"top\":[{\"text\":1}]}]}]}", "node 0: tokens[0].top[0] is not" },
    { HDR "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"marks\":[\"gold\"]}]}", "node 0: marks[0] is not" },
    { HDR "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"visited\":1}]}", "node 0: visited is not true or false" },
    { HDR "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"created\":1.5}]}", "node 0: created is not a whole number" },
    { HDR "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"model\":5}]}", "node 0: model is not a string" },
    { HDR "{\"id\":0,\"id\":1,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[]}]}", "duplicate object key" },
    { HDR N0("[1]") ",\n" N(1, 0, "[]") ",\n" N(1, 0, "[]") "]}", "duplicate node id 1" },
    { HDR N0("[]") ",\n" N(1, 9, "[]") "]}", "node 1: parent 9 is not a node" },
    { HDR N0("[1]") ",\n" N(1, 0, "[9]") "]}", "node 1: child 9 is not a node" },
    { HDR N0("[]") ",\n" N(1, 0, "[]") "]}", "node 1 has parent 0, which does not list it as a child" },
    { HDR N0("[1,2]") ",\n" N(1, 0, "[2]") ",\n" N(2, 0, "[]") "]}", "node 2 is listed as a child of both 0 and 1" },
    { HDR N0("[1,1]") ",\n" N(1, 0, "[]") "]}", "node 0 lists child 1 twice" },
    { HDR N0("[]") ",\n" N(1, 2, "[2]") ",\n" N(2, 1, "[1]") "]}", "cycle" },
    { HDR N0("[]") ",\n" N(1, 1, "[1]") "]}", "cycle" },
    { HDR N(0, 1, "[1]") ",\n" N(1, 0, "[0]") "]}", "no root node" },
    { HDR N0("[]") ",\n" N(1, null, "[]") "]}", "two root nodes (0 and 1)" },
    { "{\"format\":\"termloom-session\",\"version\":1,\"root\":1,\"nodes\":[\n" N0("[1]") ",\n" N(1, 0, "[]") "\n]}", "root is 1 but the root node" },
    { "{\"format\":\"termloom-session\",\"version\":1,\"root\":0,\"cursor\":99,\"nodes\":[\n" N0("[]") "\n]}", "cursor 99 is not a node" },
    { "{\"format\":\"termloom-session\",\"version\":1,\"root\":0,\"nodes\":[]}", "root is 0 but there are no nodes" },
    { HDR N0("[]") ",\n" N(1999999999, 0, "[]") "]}", "too large" },
    { HDR "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"bad \xff byte\",\"children\":[]}]}", "invalid UTF-8" },
    { HDR "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"\xed\xa0\x80 surrogate\",\"children\":[]}]}", "invalid UTF-8" },
};

/* The same document in the node-a-line layout (each "{\"id\":" at a line start). */
static char *as_lines(const char *doc)
{
    buf b = {0};
    const char *p = strstr(doc, "\"nodes\":[");
    if (!p)
        return NULL;
    p += 9;
    buf_add(&b, doc, (size_t)(p - doc));
    for (; *p; p++) {
        if (!strncmp(p, "{\"id\"", 5) || (*p == ']' && p[1] == '}' && !p[2]))
            buf_addc(&b, '\n');
        if (*p == '\n')
            continue;
        buf_addc(&b, *p);
    }
    return buf_steal(&b);
}

/* The three ways a file can be read (TERMLOOM_SESSION_PARSER): the node-a-line fast
 * parser, the same layout parsed line by line with jansson, and the whole document. */
static const char *const parsers[] = { NULL, "jansson", "document" };

static void use_parser(const char *how)
{
    if (how)
        setenv("TERMLOOM_SESSION_PARSER", how, 1);
    else
        unsetenv("TERMLOOM_SESSION_PARSER");
}

static void check_bad(const char *doc, size_t len, const char *want, const char *layout)
{
    char err[512], first[512] = "";
    char *path = test_write_tmp("bad.json", doc, len);
    for (size_t m = 0; m < 3; m++) {
        use_parser(parsers[m]);
        session s;
        session_init(&s);
        session_new_prompt(&s, "an older session");      /* replaced by nothing on failure */
        int rc = session_load(&s, path, err, sizeof err);
        CHECKF(rc == -1, "%s/%s: loaded: %s", layout, parsers[m] ? parsers[m] : "fast", doc);
        if (rc == -1) {
            CHECKF(!strncmp(err, path, strlen(path)) && !strncmp(err + strlen(path), ": ", 2),
                   "%s: message does not start with the file name: %s", layout, err);
            CHECKF(strstr(err, want) != NULL, "%s: '%s' does not say '%s'", layout, err, want);
            CHECKF(!strchr(err, '\n'), "%s: more than one line: %s", layout, err);
            CHECK_INT(tree_count(s.t), 0);                  /* nothing half-loaded */
            if (!m)
                snprintf(first, sizeof first, "%s", err);
            else
                CHECKF(!strcmp(first, err), "%s: parsers disagree: '%s' / '%s'", layout, first, err);
        }
        /* from memory: the same message with the given name */
        char err2[512];
        session_free(&s);
        session_init(&s);
        rc = session_load_mem(&s, doc, len, path, err2, sizeof err2);
        CHECK(rc == -1);
        CHECKF(!strcmp(err, err2), "%s: file says '%s', memory says '%s'", layout, err, err2);
        session_free(&s);
    }
    use_parser(NULL);
    free(path);
}

/* Every parser gives the same session (compared by what it saves). */
static void check_parsers_agree(const char *doc, size_t len, const char *expect, size_t elen)
{
    char err[512];
    for (size_t m = 0; m < 3; m++) {
        use_parser(parsers[m]);
        session s;
        session_init(&s);
        int rc = session_load_mem(&s, doc, len, "agree.json", err, sizeof err);
        CHECKF(rc == 0, "%s: %s", parsers[m] ? parsers[m] : "fast", err);
        size_t n;
        char *d = session_dump(&s, &n);
        CHECKF(n == elen && !memcmp(d, expect, n), "%s parser: differs:\n%s", parsers[m] ? parsers[m] : "fast", d);
        free(d);
        session_free(&s);
    }
    use_parser(NULL);
}

TEST(session_parsers_agree)
{
    session s;
    build_rich(&s);
    size_t n;
    char *d = session_dump(&s, &n);
    check_parsers_agree(d, n, d, n);
    /* escapes, surrogate pairs, numbers in every JSON form, keys in another order */
    const char *doc =
        "{\"format\":\"termloom-session\",\"version\":1,\"settings\":{},\"root\":0,\"cursor\":1,\"nodes\":[\n"
        "{\"children\":[1],\"text\":\"\\u00e9\\ud834\\udd1e\\/\\\"\\b\\f\\n\\r\\t\\u0001\",\"origin\":\"prompt\",\"parent\":null,\"id\":0},\n"
        "{ \"id\" : 1 , \"parent\":0,\"origin\":\"model\",\"text\":\"\",\"children\":[],\"visited\":false,\"created\":-5,"
        "\"tokens\":[{\"logprob\":-1E-3,\"text\":\"a\",\"top\":[]},{\"text\":\"b\",\"logprob\":-2},"
        "{\"text\":\"c\",\"logprob\":-0.000123456789012345678,\"top\":[{\"logprob\":-1.5e+2,\"text\":\"d\"},{\"text\":\"e\",\"logprob\":null}]},"
        "{\"text\":\"f\",\"logprob\":-12345678901234567890.5},{\"text\":\"g\",\"logprob\":-0}]}\n"
        "]}\n";
    session_free(&s);
    session_init(&s);
    char err[512];
    use_parser("document");
    REQUIRE(session_load_mem(&s, doc, strlen(doc), "x.json", err, sizeof err) == 0);
    use_parser(NULL);
    size_t en;
    char *expect = session_dump(&s, &en);
    check_parsers_agree(doc, strlen(doc), expect, en);
    CHECK_STR(tree_get(s.t, 0)->text, "\xc3\xa9\xf0\x9d\x84\x9e/\"\b\f\n\r\t\x01");
    CHECK_NEAR(tree_get(s.t, 1)->tokens[2].tok.logprob, -0.000123456789, 1e-12);
    free(expect), free(d);
    session_free(&s);
    /* "bytes" (before or after "text", or alone) are a piece's exact bytes in every parser */
    const char *bdoc =
        "{\"format\":\"termloom-session\",\"version\":1,\"settings\":{},\"root\":0,\"cursor\":1,\"nodes\":[\n"
        "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[1]},\n"
        "{\"id\":1,\"parent\":0,\"origin\":\"model\",\"text\":\"\u00e9\",\"children\":[],\"tokens\":["
        "{\"bytes\":[195],\"text\":\"\ufffd\",\"logprob\":-1,\"top\":[{\"bytes\":[195],\"logprob\":-1},{\"text\":\"\ufffd\",\"bytes\":[0,226],\"logprob\":-2}]},"
        "{\"text\":\"\ufffd\",\"logprob\":-0.5,\"bytes\":[169]}]}\n"
        "]}\n";
    for (size_t m = 0; m < 3; m++) {
        use_parser(parsers[m]);
        session_init(&s);
        CHECKF(session_load_mem(&s, bdoc, strlen(bdoc), "b.json", err, sizeof err) == 0, "%s", err);
        tree_node *bn = tree_get(s.t, 1);
        size_t l0 = 0, l1 = 0, la = 0;
        if (bn && bn->ntokens == 2 && bn->tokens[0].ntop == 2) {
            const char *t0 = tree_token_text(bn, 0, &l0), *t1 = tree_token_text(bn, 1, &l1);
            const char *ta = tree_top_text(bn, 0, 1, &la);
            CHECKF(l0 == 1 && (unsigned char)t0[0] == 0xc3 && l1 == 1 && (unsigned char)t1[0] == 0xa9,
                   "%s parser: token bytes", parsers[m] ? parsers[m] : "fast");
            CHECK(la == 2 && ta[0] == 0 && (unsigned char)ta[1] == 0xe2);
        } else {
            CHECKF(0, "%s parser: tokens not loaded", parsers[m] ? parsers[m] : "fast");
        }
        session_free(&s);
    }
    use_parser(NULL);
    static const char badbytes[] =
        "{\"format\":\"termloom-session\",\"version\":1,\"settings\":{},\"root\":0,\"nodes\":[\n"
        "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"tokens\":[{\"bytes\":[300],\"logprob\":-1}]}\n"
        "]}\n";
    check_bad(badbytes, strlen(badbytes), "bytes is not a list of 0-255", "bytes out of range");
    /* found by the fuzzer: the first line's "nodes" belongs to "settings", not the top level */
    static const char nested[] =
        "{\"format\":\"termloom-session\",\"version\":1,\"settings\":{\"x\":1,\"nodes\":[\n"
        "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[]}\n"
        "]},\"root\":0,\"nodes\":[]}\n";
    check_bad(nested, strlen(nested), "root is 0 but there are no nodes", "nested nodes");
}

TEST(session_invalid_files_name_the_problem)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        check_bad(bad_cases[i].doc, strlen(bad_cases[i].doc), bad_cases[i].want, "one line");
        char *lined = as_lines(bad_cases[i].doc);
        if (lined) {
            check_bad(lined, strlen(lined), bad_cases[i].want, "node lines");
            free(lined);
        }
    }
}

TEST(session_huge_string_is_handled)
{
    /* a 20 MB text in one node loads; the same with a broken byte at the end is refused */
    size_t big = 20u << 20;
    buf b = {0};
    buf_adds(&b, HDR "\n{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"");
    size_t at = b.len;
    for (size_t i = 0; i < big; i++)
        buf_addc(&b, (char)('a' + i % 26));
    buf_adds(&b, "\",\"children\":[]}\n]}\n");
    session s;
    char err[512];
    session_init(&s);
    CHECKF(session_load_mem(&s, b.data, b.len, "big.json", err, sizeof err) == 0, "%s", err);
    CHECK_INT(tree_get(s.t, 0) ? tree_get(s.t, 0)->text_len : 0, big);
    session_free(&s);
    b.data[at + big - 1] = (char)0xC3;
    session_init(&s);
    CHECK(session_load_mem(&s, b.data, b.len, "big.json", err, sizeof err) == -1);
    CHECKF(strstr(err, "big.json: invalid UTF-8") != NULL, "%s", err);
    session_free(&s);
    buf_free(&b);
}

TEST(session_deep_chain_saves_loads_frees)
{
    session s, s2;
    char err[512];
    session_init(&s);
    session_new_prompt(&s, "root");
    int32_t id = tree_root(s.t);
    for (int i = 0; i < 100000; i++)
        id = tree_add_child(s.t, id, TREE_ORIGIN_MODEL, " x", 2);
    s.cursor = id;
    char *path = xasprintf("%s/deep.json", test_tmpdir());
    REQUIRE(session_save(&s, path, err, sizeof err) == 0);
    session_init(&s2);
    REQUIRE(session_load(&s2, path, err, sizeof err) == 0);
    CHECK_INT(tree_count(s2.t), 100001);
    CHECK_INT(tree_max_depth(s2.t), 100000);
    CHECK_INT(s2.cursor, id);
    session_free(&s2);
    /* the same chain pretty-printed (whole-document path), ids in reverse order */
    size_t n;
    char *d = session_dump(&s, &n);
    json_error_t e;
    json_t *j = json_loadb(d, n, 0, &e);
    REQUIRE(j);
    json_t *nodes = json_object_get(j, "nodes"), *rev = json_array();
    for (size_t i = json_array_size(nodes); i-- > 0; )
        json_array_append(rev, json_array_get(nodes, i));
    json_object_set_new(j, "nodes", rev);
    char *pretty = json_dumps(j, JSON_INDENT(1));
    json_decref(j);
    session_init(&s2);
    CHECKF(session_load_mem(&s2, pretty, strlen(pretty), "rev.json", err, sizeof err) == 0, "%s", err);
    CHECK_INT(tree_count(s2.t), 100001);
    size_t n2;
    char *d2 = session_dump(&s2, &n2);
    CHECK(n == n2 && !memcmp(d, d2, n));
    free(d), free(d2), free(pretty), free(path);
    session_free(&s2);
    session_free(&s);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)); )
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

TEST(session_failed_save_keeps_the_old_file)
{
    session s;
    char err[512];
    build_rich(&s);
    const char *dir = test_tmpdir();
    char *path = xasprintf("%s/keep.json", dir);
    static const char old[] = "the old contents\n";
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    fputs(old, f);
    fclose(f);
    /* the write itself fails part way: a file size limit in a child process */
    for (int i = 0; i < 2000; i++)
        tree_add_child(s.t, tree_root(s.t), TREE_ORIGIN_MODEL, "a branch long enough to pass the limit", 38);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = { 4096, 4096 };
        setrlimit(RLIMIT_FSIZE, &rl);
        int rc = session_save(&s, path, err, sizeof err);
        _exit(rc == -1 && strstr(err, "keep.json: cannot save") && strstr(err, "old file is unchanged") ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    size_t n;
    char *now = test_slurp(path, &n);
    CHECK(now && n == strlen(old) && !memcmp(now, old, n));
    free(now);
    CHECK_INT(count_entries(dir), 1);                     /* no temporary file left behind */
    /* the path is a directory */
    char *sub = xasprintf("%s/adir", dir);
    mkdir(sub, 0755);
    CHECK(session_save(&s, sub, err, sizeof err) == -1);
    CHECKF(strstr(err, "adir: cannot save: it is a directory") != NULL, "%s", err);
    struct stat sb;
    CHECK(stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode));
    /* the folder does not exist */
    char *nodir = xasprintf("%s/missing/x.json", dir);
    CHECK(session_save(&s, nodir, err, sizeof err) == -1);
    CHECKF(strstr(err, "x.json: cannot save") && strstr(err, "No such file"), "%s", err);
    CHECK_INT(count_entries(dir), 2);
    /* and a successful save replaces the file, keeping its permissions */
    chmod(path, 0640);
    CHECK(session_save(&s, path, err, sizeof err) == 0);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0640);
    now = test_slurp(path, &n);
    CHECK(now && n > strlen(old) && !strncmp(now, "{\"format\"", 9));
    free(now), free(sub), free(nodir), free(path);
    session_free(&s);
}

TEST(session_never_contains_the_api_key)
{
    static const char key[] = "sk-test-DO-NOT-SAVE-5f3a9";
    setenv("TERMLOOM_API_KEY", key, 1);
    setenv("OPENAI_API_KEY", key, 1);
    char *argv[] = { "termloom", "--backend", "openai", "--model", "m", NULL };
    cli_opts o;
    cli_args p;
    const char *v;
    REQUIRE(cli_args_begin(&p, 5, argv, NULL, NULL, &o) == CLI_OK);
    REQUIRE(cli_args_next(&p, &v) == CLI_ARGS_END);   /* both options taken as settings */
    cli_args_end(&p);
    CHECK_STR(o.api_key, key);                 /* the program has the key... */
    session s;
    char err[512];
    session_init(&s);
    settings_free(&s.settings);
    settings_copy(&s.settings, &o.s);
    session_new_prompt(&s, "prompt");
    char *path = xasprintf("%s/key.json", test_tmpdir());
    REQUIRE(session_save(&s, path, err, sizeof err) == 0);
    size_t n;
    char *bytes = test_slurp(path, &n);
    REQUIRE(bytes);
    CHECK(strstr(bytes, key) == NULL);        /* ...the file does not */
    CHECK(strstr(bytes, "api_key") == NULL);
    CHECK(strstr(bytes, "\"backend\":\"openai\"") != NULL);
    free(bytes);
    /* an api_key planted in a file is dropped, not carried along */
    const char *doc = "{\"format\":\"termloom-session\",\"version\":1,\"api_key\":\"k1\","
                      "\"settings\":{\"api_key\":\"k2\"},\"root\":0,\"nodes\":[{\"id\":0,\"parent\":null,"
                      "\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"api_key\":\"k3\"}]}";
    session_free(&s);
    session_init(&s);
    REQUIRE(session_load_mem(&s, doc, strlen(doc), "k.json", err, sizeof err) == 0);
    char *d = session_dump(&s, &n);
    CHECK(strstr(d, "api_key") == NULL);
    free(d), free(path);
    session_free(&s);
    cli_opts_free(&o);
    unsetenv("TERMLOOM_API_KEY");
    unsetenv("OPENAI_API_KEY");
}

TEST(session_new_prompt_and_empty_session)
{
    session s, s2;
    char err[512];
    session_init(&s);
    CHECK_INT(tree_count(s.t), 0);
    CHECK_INT(s.cursor, TREE_NONE);
    size_t n;
    char *d = session_dump(&s, &n);                   /* an empty session saves and loads */
    session_init(&s2);
    CHECKF(session_load_mem(&s2, d, n, "e.json", err, sizeof err) == 0, "%s", err);
    CHECK_INT(tree_count(s2.t), 0);
    free(d);
    session_free(&s2);
    session_new_prompt(&s, "The prompt");
    int32_t r = tree_root(s.t);
    CHECK(r != TREE_NONE);
    CHECK_INT(tree_get(s.t, r)->origin, TREE_ORIGIN_PROMPT);
    CHECK_STR(tree_get(s.t, r)->text, "The prompt");
    CHECK_INT(s.cursor, r);
    CHECK_INT(tree_count(s.t), 1);
    session_free(&s);
}

TEST(session_logprobs_round_trip_exactly)
{
    /* 100,000 floats over the whole finite range come back bit for bit, written short */
    session s, s2;
    char err[512];
    session_init(&s);
    session_new_prompt(&s, "p");
    int32_t id = tree_add_child(s.t, tree_root(s.t), TREE_ORIGIN_MODEL, "", 0);
    uint32_t x = 2463534242u;
    float want[1000];
    for (int k = 0; k < 100; k++) {
        tree_alt alts[10];
        for (int i = 0; i < 1000; i++) {
            float f;
            do {
                x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                uint32_t bits = x;
                if (i % 3 == 0)                       /* plenty of ordinary logprobs too */
                    bits = (x & 0x807fffffu) | ((0x7au + (x >> 28)) << 23);
                bits |= 0x80000000u;                  /* logprobs are at most 0 */
                memcpy(&f, &bits, sizeof f);
            } while (!isfinite(f) || f < TREE_LOGPROB_MIN);
            want[i] = f;
        }
        tree_clear_tokens(s.t, id);
        for (int i = 0; i < 1000; i += 10) {
            for (int j = 0; j < 10; j++)
                alts[j] = (tree_alt){ "t", 1, want[i + j] };
            tree_append_token(s.t, id, "t", 1, want[i], alts, 10, 0);
        }
        size_t n;
        char *d = session_dump(&s, &n);
        session_init(&s2);
        REQUIRE(session_load_mem(&s2, d, n, "f.json", err, sizeof err) == 0);
        tree_node *nd = tree_get(s2.t, id);
        REQUIRE(nd && nd->ntokens == 100);
        int bad = 0;
        for (int i = 0; i < 1000 && bad < 3; i++) {
            float got = nd->tops[i].logprob;
            if (memcmp(&got, &want[i], sizeof got) && !(got == 0 && want[i] == 0)) {
                CHECKF(0, "%.9g came back as %.9g", (double)want[i], (double)got);
                bad++;
            }
        }
        free(d);
        session_free(&s2);
    }
    /* short forms */
    tree_clear_tokens(s.t, id);
    tree_alt a[] = { { "a", 1, -0.5 }, { "b", 1, -2.4 }, { "c", 1, -1e-7 }, { "d", 1, -123456.0 }, { "e", 1, -1e10 } };
    tree_append_token(s.t, id, "a", 1, -0.5, a, 5, 0);
    size_t n;
    char *d = session_dump(&s, &n);
    CHECKF(strstr(d, "\"logprob\":-0.5}") && strstr(d, "\"logprob\":-2.4}") && strstr(d, "\"logprob\":-1e-07}")
           && strstr(d, "\"logprob\":-123456}") && strstr(d, "\"logprob\":-1e+10}"), "%s", d);
    free(d);
    session_free(&s);
}

TEST(session_save_through_a_symlink_replaces_the_target)
{
    session s;
    char err[512];
    session_init(&s);
    session_new_prompt(&s, "linked");
    const char *dir = test_tmpdir();
    char *real = xasprintf("%s/real.json", dir), *link = xasprintf("%s/link.json", dir);
    FILE *f = fopen(real, "wb");
    REQUIRE(f);
    fputs("old", f);
    fclose(f);
    REQUIRE(symlink("real.json", link) == 0);
    CHECKF(session_save(&s, link, err, sizeof err) == 0, "%s", err);
    struct stat st;
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));     /* the link is still a link */
    session s2;
    session_init(&s2);
    CHECKF(session_load(&s2, real, err, sizeof err) == 0, "%s", err);
    CHECK_STR(tree_get(s2.t, tree_root(s2.t)) ? tree_get(s2.t, tree_root(s2.t))->text : NULL, "linked");
    session_free(&s2);
    session_free(&s);
    free(real), free(link);
}

TEST(session_file_over_the_limit_is_refused)
{
    /* a sparse file one byte over the limit: refused from its size, without reading it */
    char *path = xasprintf("%s/huge.json", test_tmpdir());
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    int ok = ftruncate(fileno(f), (off_t)SESSION_MAX_BYTES + 1) == 0;
    fclose(f);
    REQUIRE(ok);
    session s;
    char err[512];
    session_init(&s);
    CHECK(session_load(&s, path, err, sizeof err) == -1);
    char want[160];
    snprintf(want, sizeof want, "huge.json: file is too large (%zu bytes; the limit is %zu MiB)",
             SESSION_MAX_BYTES + 1, SESSION_MAX_BYTES >> 20);
    CHECKF(strstr(err, want) != NULL, "%s", err);
    CHECK_INT(tree_count(s.t), 0);
    session_free(&s);
    unlink(path);
    free(path);
}

TEST(session_exact_token_entropy_round_trip)
{
    /* An exact per-token entropy (builtin model) is saved, loaded by both readers, and used
     * by entropy_token in place of the top-k bound. */
    session s;
    char err[256];
    session_init(&s);
    session_new_prompt(&s, "p");
    int32_t a = tree_add_child(s.t, tree_root(s.t), TREE_ORIGIN_MODEL, "", 0);
    tree_alt alts[] = { { " x", 2, -0.5 } };
    tree_append_token(s.t, a, " x", 2, -0.5, alts, 1, 1);
    tree_append_token(s.t, a, " y", 2, -1.0, alts, 1, 1);
    tree_set_token_entropy(s.t, a, 0, 3.25);
    double left = -1;
    CHECK_NEAR(entropy_token(tree_get(s.t, a), 0, &left), 3.25, 1e-6);
    CHECK_NEAR(left, 0, 1e-12);
    entropy_token(tree_get(s.t, a), 1, &left);     /* no exact figure: the bound, with its leftover */
    CHECK(left > 0.01);
    size_t n;
    char *bytes = session_dump(&s, &n);
    CHECK(strstr(bytes, "\"entropy\":3.25") != NULL);
    session_free(&s);
    for (int layout = 0; layout < 2; layout++) {
        session_init(&s);
        /* layout 1: one line, so the whole-document reader takes it */
        if (layout)
            for (size_t i = 0; i < n; i++)
                if (bytes[i] == '\n')
                    bytes[i] = ' ';
        REQUIRE(session_load_mem(&s, bytes, n, "e.json", err, sizeof err) == 0);
        tree_node *nd = tree_get(s.t, a);
        REQUIRE(nd && nd->ntokens == 2);
        CHECK_NEAR(nd->tokens[0].entropy, 3.25, 1e-6);
        CHECK(isnan(nd->tokens[1].entropy));
        session_free(&s);
    }
    free(bytes);
}

/* Detected attractors are kept beside the tree under "attractors", apart from the hand
 * marks; a load keeps them as they were, a saver that detected replaces them. */
TEST(session_keeps_detected_attractors_apart_from_marks)
{
    session s;
    build_rich(&s);
    session_set_attractors(&s, json_pack("[{s:s,s:[i,i,i],s:i,s:f,s:s}]", "kind", "continuation",
                                         "members", 1, 2, 3, "support", 3, "score", 4.5, "text", " yes"));
    size_t n;
    char *d = session_dump(&s, &n);
    json_error_t e;
    json_t *j = json_loadb(d, n, 0, &e);
    REQUIRE(j);
    json_t *at = json_array_get(json_object_get(j, "attractors"), 0);
    CHECK_STR(json_string_value(json_object_get(at, "kind")), "continuation");
    CHECK_INT(json_array_size(json_object_get(at, "members")), 3);
    /* the hand mark is still only in the node's marks */
    json_t *node1 = json_array_get(json_object_get(j, "nodes"), 1);
    CHECK_STR(json_string_value(json_array_get(json_object_get(node1, "marks"), 0)), "attractor");
    json_decref(j);
    session s2;
    char err[512];
    session_init(&s2);
    REQUIRE(session_load_mem(&s2, d, n, "a.json", err, sizeof err) == 0);
    size_t n2;
    char *d2 = session_dump(&s2, &n2);
    CHECK(n == n2 && !memcmp(d, d2, n));                 /* kept as it was */
    session_set_attractors(&s2, json_array());           /* a new detection found none */
    free(d2);
    d2 = session_dump(&s2, &n2);
    CHECK(strstr(d2, "\"attractors\":[]") != NULL);
    session_set_attractors(&s2, NULL);
    free(d2);
    d2 = session_dump(&s2, &n2);
    CHECK(strstr(d2, "\"attractors\"") == NULL);
    free(d), free(d2);
    session_free(&s);
    session_free(&s2);
}

/* A save killed between writing and renaming leaves ".NAME.tmp-PID-N": the next save of
 * NAME removes those of processes that are gone, and nothing else. */
TEST(session_save_sweeps_stale_temporary_files)
{
    char err[512];
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    REQUIRE(dead > 0);
    waitpid(dead, NULL, 0);
    const char *dir = test_tmpdir();
    char *stale = xasprintf("%s/.sweep.json.tmp-%ld-3", dir, (long)dead);
    char *live = xasprintf("%s/.sweep.json.tmp-%ld-4", dir, (long)getppid());
    char *other = xasprintf("%s/.other.json.tmp-%ld-1", dir, (long)dead);
    char *path = xasprintf("%s/sweep.json", dir);
    const char *names[] = { stale, live, other };
    for (int i = 0; i < 3; i++) {
        FILE *f = fopen(names[i], "w");
        REQUIRE(f);
        fputs("partial", f);
        fclose(f);
    }
    session s;
    session_init(&s);
    session_new_prompt(&s, "sweep");
    REQUIRE(session_save(&s, path, err, sizeof err) == 0);
    struct stat st;
    CHECK(stat(stale, &st) != 0);                 /* its writer is gone */
    CHECK(stat(live, &st) == 0);                  /* a running process may still rename it */
    CHECK(stat(other, &st) == 0);                 /* another file's */
    CHECK(stat(path, &st) == 0);
    unlink(live), unlink(other), unlink(path);
    free(stale), free(live), free(other), free(path);
    session_free(&s);
}

/* Logprobs above 0 (a probability over 1: "p 14841.3%" in the TUI) become 0, and the ends of
 * the doubles become the ends of the floats, in every parser; nothing is saved as null. */
TEST(session_extreme_logprobs_are_clamped)
{
    const char *doc =
        "{\"format\":\"termloom-session\",\"version\":1,\"settings\":{},\"root\":0,\"cursor\":1,\"nodes\":[\n"
        "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[1]},\n"
        "{\"id\":1,\"parent\":0,\"origin\":\"model\",\"text\":\"a\",\"children\":[],\"tokens\":["
        "{\"text\":\"a\",\"logprob\":700,\"top\":[{\"text\":\"a\",\"logprob\":1e308},{\"text\":\"b\",\"logprob\":-1e308}]}]}\n"
        "]}\n";
    char err[512];
    for (size_t m = 0; m < 3; m++) {
        use_parser(parsers[m]);
        session s;
        session_init(&s);
        CHECKF(session_load_mem(&s, doc, strlen(doc), "x.json", err, sizeof err) == 0, "%s", err);
        tree_node *n = tree_get(s.t, 1);
        if (n && n->ntokens == 1 && n->tokens[0].ntop == 2) {
            CHECK(n->tokens[0].tok.logprob == 0);
            CHECK(tree_top_logprob(n, 0, 0) == 0);
            CHECK(tree_top_logprob(n, 0, 1) == (float)TREE_LOGPROB_MIN);
        } else {
            CHECKF(0, "%s parser: tokens not loaded", parsers[m] ? parsers[m] : "fast");
        }
        size_t len;
        char *d = session_dump(&s, &len);
        CHECK(!strstr(d, "\"logprob\":null"));
        free(d);
        session_free(&s);
    }
    use_parser(NULL);
}

/* A folded node stays folded across save and load, in every parser. */
TEST(session_folds_are_saved)
{
    const char *doc =
        "{\"format\":\"termloom-session\",\"version\":1,\"settings\":{},\"root\":0,\"cursor\":0,\"nodes\":[\n"
        "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[1]},\n"
        "{\"id\":1,\"parent\":0,\"origin\":\"model\",\"text\":\" a\",\"children\":[2],\"folded\":true},\n"
        "{\"id\":2,\"parent\":1,\"origin\":\"model\",\"text\":\" b\",\"children\":[]}\n"
        "]}\n";
    char err[512];
    for (size_t m = 0; m < 3; m++) {
        use_parser(parsers[m]);
        session s;
        session_init(&s);
        CHECKF(session_load_mem(&s, doc, strlen(doc), "f.json", err, sizeof err) == 0, "%s", err);
        CHECKF(tree_get(s.t, 1) && (tree_get(s.t, 1)->flags & TREE_FLAG_FOLDED), "%s parser", parsers[m] ? parsers[m] : "fast");
        CHECK(!(tree_get(s.t, 2)->flags & TREE_FLAG_FOLDED));
        size_t n;
        char *d = session_dump(&s, &n);
        const char *f1 = strstr(d, "\"folded\":true");
        CHECK(f1 && !strstr(f1 + 1, "\"folded\":true") && n);   /* node 1's, and only it */
        free(d);
        session_free(&s);
    }
    use_parser(NULL);
}
