/* The session loader on every JSON layout: the streaming reader (core/session_stream.c),
 * the same reader with jansson for each node, and the whole-document parse
 * (TERMLOOM_SESSION_PARSER) must give the same session or the same message, from memory
 * and from a file read in chunks. */
#include "tests/test.h"
#include "core/mem.h"
#include "core/session.h"
#include <jansson.h>
#include <stdlib.h>

static const char *const how[] = { NULL, "jansson", "document" };

typedef struct {
    int    rc;
    char   err[600];
    char  *dump;
    size_t len;
} outcome;

static void load_one(const char *parser, int from_file, const char *path, const char *doc, size_t len,
                     outcome *o)
{
    if (parser)
        setenv("TERMLOOM_SESSION_PARSER", parser, 1);
    else
        unsetenv("TERMLOOM_SESSION_PARSER");
    session s;
    session_init(&s);
    o->err[0] = 0;
    o->rc = from_file ? session_load(&s, path, o->err, sizeof o->err)
                      : session_load_mem(&s, doc, len, path, o->err, sizeof o->err);
    o->dump = o->rc == 0 ? session_dump(&s, &o->len) : NULL;
    session_free(&s);
    unsetenv("TERMLOOM_SESSION_PARSER");
}

/* Every parser, from memory and from a file, agrees with the whole-document parse from
 * memory; that outcome is returned (caller frees o->dump). */
static void load_all(const char *what, const char *doc, size_t len, outcome *ref)
{
    char *path = test_write_tmp("layout.json", doc, len);
    load_one("document", 0, path, doc, len, ref);
    for (int f = 0; f < 2; f++)
        for (int m = 0; m < 3; m++) {
            outcome o;
            load_one(how[m], f, path, doc, len, &o);
            CHECKF(o.rc == ref->rc && !strcmp(o.err, ref->err) &&
                   (!o.dump || (o.len == ref->len && !memcmp(o.dump, ref->dump, o.len))),
                   "%s: the %s parser (%s) disagrees with the whole document: rc %d/%d '%s' / '%s'",
                   what, how[m] ? how[m] : "streaming", f ? "file" : "memory", o.rc, ref->rc, o.err, ref->err);
            free(o.dump);
        }
    free(path);
}

/* A session with every field, unknown ones at each level, and strings that need escapes. */
static char *rich_doc(size_t *len)
{
    session s;
    char err[256];
    session_init(&s);
    session_new_prompt(&s, "A \"quoted\" prompt\n\twith \\ é 𝄞 and \x01");
    int32_t r = tree_root(s.t);
    int32_t a = tree_add_child(s.t, r, TREE_ORIGIN_MODEL, "", 0);
    tree_alt alts[] = { { " loom", 5, -0.25 }, { " 世界", 7, -1.5e-7 }, { "\"", 1, -3 } };
    tree_append_token(s.t, a, " loom", 5, -0.25, alts, 3, 1);
    tree_append_token(s.t, a, "\xe2\x80", 2, -2.0, alts, 1, 1);   /* half a character: "bytes" */
    tree_set_model(s.t, a, "m");
    tree_get(s.t, a)->marks = TREE_MARK_BOOKMARK;
    tree_get(s.t, a)->created = 1700000000;
    tree_add_child(s.t, a, TREE_ORIGIN_EDIT, "edited", 6);
    CHECK(settings_set(&s.settings, "temperature", "0.7", err, sizeof err) == 0);
    char *d = session_dump(&s, len);
    session_free(&s);
    /* unknown fields at the top level, in settings and in a node */
    json_error_t e;
    json_t *j = json_loadb(d, *len, 0, &e);
    free(d);
    json_object_set_new(j, "zz_other", json_pack("{s:[i,f,n,b],s:s}", "list", 1, 2.5, 0, "s", "é"));
    json_object_set_new(json_object_get(j, "settings"), "custom", json_pack("[s,{}]", "x"));
    json_object_set_new(json_array_get(json_object_get(j, "nodes"), 1), "note", json_pack("{s:[]}", "k"));
    d = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(j);
    /* and back through the loader, so the reference is termloom's own layout */
    session_init(&s);
    CHECKF(session_load_mem(&s, d, strlen(d), "rich.json", err, sizeof err) == 0, "%s", err);
    free(d);
    d = session_dump(&s, len);
    session_free(&s);
    return d;
}

/* Keys in the opposite order at every level ("nodes" before "format"). */
static json_t *reversed(json_t *v)
{
    if (json_is_array(v)) {
        json_t *a = json_array();
        for (size_t i = 0; i < json_array_size(v); i++)
            json_array_append_new(a, reversed(json_array_get(v, i)));
        return a;
    }
    if (!json_is_object(v))
        return json_incref(v);
    size_t n = json_object_size(v), i = 0;
    const char **keys = xmalloc((n ? n : 1) * sizeof *keys);
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
        keys[i++] = k;
    json_t *o = json_object();
    while (i > 0) {
        i--;
        json_object_set_new(o, keys[i], reversed(json_object_get(v, keys[i])));
    }
    free(keys);
    return o;
}

/* Odd whitespace (tabs, CR LF, runs of spaces) after every structural byte outside strings. */
static char *odd_spaces(const char *d)
{
    static const char *const pads[] = { " ", "\t", "\r\n", "  \n\t ", "" };
    buf b = {0};
    int in_str = 0;
    size_t k = 0;
    for (const char *p = d; *p; p++) {
        buf_addc(&b, *p);
        if (in_str) {
            if (*p == '\\')
                buf_addc(&b, *++p);
            else if (*p == '"')
                in_str = 0;
        } else if (*p == '"')
            in_str = 1;
        else if (strchr("{}[],:", *p))
            buf_adds(&b, pads[k++ % 5]);
    }
    return buf_steal(&b);
}

TEST(session_any_layout_loads_the_same)
{
    size_t n;
    char *d = rich_doc(&n);
    json_error_t e;
    json_t *j = json_loadb(d, n, 0, &e);
    REQUIRE(j);
    struct { const char *what; char *doc; int same_bytes; } v[] = {
        { "one line, ASCII escapes (json.dump)", json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(17)), 1 },
        { "pretty-printed (indent 2)", json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(17)), 1 },
        { "sorted keys, indent 1", json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17)), 0 },
        { "keys reversed (nodes first)", NULL, 0 },
        { "odd whitespace", NULL, 1 },
        { "termloom's own layout", xstrdup(d), 1 },
    };
    json_t *r = reversed(j);
    v[3].doc = json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(r);
    v[4].doc = odd_spaces(v[0].doc);
    json_decref(j);
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        outcome o;
        load_all(v[i].what, v[i].doc, strlen(v[i].doc), &o);
        CHECKF(o.rc == 0, "%s: %s", v[i].what, o.err);
        char *path = test_write_tmp("streams.json", v[i].doc, strlen(v[i].doc));
        for (int f = 0; f < 2; f++) {           /* read by the streaming reader itself */
            outcome st;
            load_one("stream", f, path, v[i].doc, strlen(v[i].doc), &st);
            CHECKF(st.rc == 0 && st.len == o.len && !memcmp(st.dump, o.dump, o.len), "%s: not streamed: %s", v[i].what, st.err);
            free(st.dump);
        }
        free(path);
        if (v[i].same_bytes)
            CHECKF(o.dump && o.len == n && !memcmp(o.dump, d, n), "%s: not the same session:\n%s", v[i].what, o.dump);
        else if (o.dump) {                    /* unknown fields keep the file's order: save twice */
            outcome again;
            load_all(v[i].what, o.dump, o.len, &again);
            CHECKF(again.dump && again.len == o.len && !memcmp(again.dump, o.dump, o.len), "%s: save->load->save", v[i].what);
            CHECKF(strstr(o.dump, "\"zz_other\"") && strstr(o.dump, "\"custom\"") && strstr(o.dump, "\"note\""),
                   "%s: unknown fields lost", v[i].what);
            free(again.dump);
        }
        free(o.dump);
        free(v[i].doc);
    }
    free(d);
}

/* A file bigger than the reader's 1 MB chunk, on one line, its nodes full of escapes, shifted
 * byte by byte so that the chunk boundary falls inside every kind of token. */
TEST(session_stream_reads_across_chunks)
{
    buf b = {0};
    buf_adds(&b, "{\"format\":\"termloom-session\",\"version\":1,\"root\":0,\"nodes\":[");
    int nodes = 9000;
    for (int i = 0; i < nodes; i++) {
        char parent[16], kids[16];
        snprintf(parent, sizeof parent, i ? "%d" : "null", i - 1);
        snprintf(kids, sizeof kids, i + 1 < nodes ? "%d" : "", i + 1);
        buf_printf(&b, "%s{\"id\":%d,\"parent\":%s,\"origin\":\"%s\",\"text\":\"t\\\"\\\\\\u00e9\\ud834\\udd1e %d\","
                   "\"children\":[%s],\"tokens\":[{\"text\":\"\\u4e16\",\"logprob\":-0.%d,\"top\":[{\"text\":\"a\\n\",\"logprob\":-1.25e-3}]}],"
                   "\"x\":[[[{\"k\":\"\\\"]}\"}]]]}",
                   i ? ", " : "", i, parent, i ? "model" : "prompt", i, kids, i);
    }
    buf_adds(&b, "], \"cursor\": 3}\n");
    outcome ref;
    load_all("a 2 MB line", b.data, b.len, &ref);
    CHECKF(ref.rc == 0, "%s", ref.err);
    CHECK(ref.dump && strstr(ref.dump, "\"x\":[[[{\"k\":\"\\\"]}\"}]]]"));
    for (int shift = 1; shift < 24; shift++) {       /* the same file after shift spaces */
        buf d = {0};
        for (int k = 0; k < shift; k++)
            buf_addc(&d, k % 2 ? '\n' : ' ');
        buf_add(&d, b.data, b.len);
        char *path = test_write_tmp("shifted.json", d.data, d.len);
        static const char *const streaming[] = { "stream", "jansson" };
        for (int m = 0; m < 2; m++) {
            outcome o;
            load_one(streaming[m], 1, path, NULL, 0, &o);
            CHECKF(o.rc == 0 && o.len == ref.len && !memcmp(o.dump, ref.dump, o.len),
                   "shift %d, %s parser: %s", shift, streaming[m], o.err);
            free(o.dump);
        }
        free(path);
        buf_free(&d);
    }
    free(ref.dump);
    buf_free(&b);
}

#define HEAD "\"format\":\"termloom-session\",\"version\":1,\"root\":0"
#define NODE0 "{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[]}"

/* Nesting of k levels inside a node's unknown field (the document adds 3 around it). */
static char *deep_node(int k)
{
    buf b = {0};
    buf_adds(&b, "{" HEAD ",\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"deep\":");
    for (int i = 0; i < k; i++)
        buf_addc(&b, '[');
    for (int i = 0; i < k; i++)
        buf_addc(&b, ']');
    buf_adds(&b, "}]}");
    return buf_steal(&b);
}

/* What the streaming reader leaves to the whole document, and what jansson alone decides:
 * the same outcome from every parser. */
TEST(session_rare_constructs_agree)
{
    static const struct { const char *doc, *want; int streams; } cases[] = {
        { "{\"\\u0066ormat\":\"termloom-session\",\"version\":1,\"root\":0,\"nodes\":[" NODE0 "]}", NULL, 0 },
        { "{" HEAD ",\"no\\u0064es\":[" NODE0 "]}", NULL, 0 },
        { "{" HEAD ",\"nodes\":[" NODE0 "],\"nodes\":[]}", "duplicate object key", 0 },
        { "{" HEAD ",\"root\":0,\"nodes\":[" NODE0 "]}", "duplicate object key", 0 },
        { "{" HEAD ",\"nodes\":[" NODE0 "]} x", "end of file expected", 0 },
        { "{" HEAD ",\"nodes\":[" NODE0 "]", "not valid JSON", 0 },
        { "{" HEAD ",\"nodes\":[" NODE0 ",]}", "not valid JSON", 0 },
        { "{" HEAD ",\"nodes\":{\"0\":" NODE0 "}}", "nodes is not an array", 1 },
        { "{" HEAD ",\"nodes\":[\"a node\"]}", "nodes[0] is not an object", 1 },
        { "{" HEAD ",\"nodes\":[ ]}", "root is 0 but there are no nodes", 1 },
        { "{\"nodes\":[" NODE0 "]," HEAD ",\"settings\":{\"nodes\":[1]}}", NULL, 1 },
        { "\xef\xbb\xbf{" HEAD ",\"nodes\":[" NODE0 "]}", "not valid JSON", 0 },
        { "{" HEAD ",\"nodes\":[" NODE0 "]\x01}", "not valid JSON", 0 },
        { "{" HEAD ",\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"a\\u0000b\",\"children\":[]}]}", NULL, 1 },
        { "{" HEAD ",\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"k\\u0000\":1}]}", "NUL", 0 },
        { "{" HEAD ",\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"\\ud800\",\"children\":[]}]}", "invalid Unicode", 0 },
        { "{" HEAD ",\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"\\ud83e\\udd8a\",\"children\":[]}]}", NULL, 1 },
        { "{" HEAD ",\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"created\":123456789012345678901234}]}", "too big integer", 0 },
        { "{" HEAD ",\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"created\":1234567890123456789}]}", NULL, 1 },
        { "{" HEAD ",\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"tokens\":[{\"text\":\"a\",\"logprob\":-1e400}]}]}", "real number overflow", 0 },
        { "{" HEAD ",\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"tokens\":[{\"text\":\"a\",\"logprob\":-1e-400}]}]}", NULL, 1 },
        { "{" HEAD ",\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"tokens\":[{\"text\":\"a\",\"logprob\":-0.1000000000000000055511151231257827021181583404541015625}]}]}", NULL, 1 },
        { "{" HEAD ",\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"text\":\"q\",\"children\":[]}]}", "duplicate object key", 0 },
        { "{" HEAD ",\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"vocab\":18446744073709551615}]}", "too big integer", 0 },
        /* fields termloom does not know, kept (api_key never) */
        { "{" HEAD ",\"nodes\":[{\"id\":0,\"loom\":{\"id\":\"r\",\"meta\":{\"a\":[1,2.5e-3,null,true]}},\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"x\":\"a\\u0000\\n\",\"api_key\":\"sk-1\",\"children\":[],\"z\":-0.0}]}", NULL, 1 },
        { "{" HEAD ",\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"x\":1,\"x\":2}]}", "duplicate object key", 0 },
        { "{" HEAD ",\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"x\":{\"y\":1,\"y\":2}}]}", "duplicate object key", 0 },
        { "{" HEAD ",\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"x\":[1,]}]}", "not valid JSON", 0 },
        { "{" HEAD ",\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"x\":\"\\ud800\"}]}", "invalid Unicode", 0 },
        { "{" HEAD ",\"nodes\":[{\"id\":0,\"parent\":null,\"origin\":\"prompt\",\"text\":\"p\",\"children\":[],\"x\":123456789012345678901234}]}", "too big integer", 0 },
        { "{}", "no \"format\" field", 1 },
        { "   \n\t ", "not valid JSON", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        outcome o;
        load_all(cases[i].doc, cases[i].doc, strlen(cases[i].doc), &o);
        if (cases[i].want)
            CHECKF(o.rc == -1 && strstr(o.err, cases[i].want), "case %zu: '%s' does not say '%s'", i, o.err, cases[i].want);
        else
            CHECKF(o.rc == 0, "case %zu: %s", i, o.err);
        if (cases[i].streams) {
            outcome st;
            load_one("stream", 0, "layout.json", cases[i].doc, strlen(cases[i].doc), &st);
            CHECKF(!strstr(st.err, "left to the whole-document"), "case %zu: not streamed", i);
            free(st.dump);
        }
        free(o.dump);
    }
    /* jansson's depth limit (2048) counts the levels around a node too */
    for (int k = 2044; k <= 2046; k++) {
        char *doc = deep_node(k);
        outcome o;
        load_all("deep", doc, strlen(doc), &o);
        CHECKF(k < 2046 ? o.rc == 0 : o.rc == -1 && strstr(o.err, "depth"), "depth %d: %s", k, o.err);
        free(o.dump);
        free(doc);
    }
}
