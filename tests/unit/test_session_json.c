/* The saver writes the fields termloom keeps but does not know (node, settings and
 * top-level extras) by hand: byte for byte what json_dumps would give, on random values and
 * on the reals, strings and keys where a writer may differ. */
#include "tests/test.h"
#include "core/mem.h"
#include "core/session.h"
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static const double reals[] = {
    0.0, -0.0, 1.0, -3.0, 0.1, 1.0 / 3, 1e16, 1e17, 1e21, 1e22, 1e-5, 1e-7, 123456789012345678.0,
    5e-324, DBL_MAX, -DBL_MIN, 1.5e300, 2.5e-300, 0.30000000000000004, 9007199254740993.0, 1e100,
};

static json_t *random_string(void)
{
    static const char *const pieces[] = { "a", "é", "世界", "𝄞", "\"", "\\", "/", "\n", "\t", "\r",
                                          "\b", "\f", "\x01", "\x1f", "\x7f", " ", "\xc2\x80" };
    char s[64];
    size_t n = 0, want = next() % 8;
    for (size_t i = 0; i < want; i++) {
        const char *p = pieces[next() % (sizeof pieces / sizeof *pieces)];
        memcpy(s + n, p, strlen(p));
        n += strlen(p);
    }
    if (next() % 6 == 0)
        s[n++] = 0;                              /* a NUL inside: \u0000 */
    return json_stringn(s, n);
}

static json_t *random_value(int depth)
{
    switch (next() % (depth > 3 ? 6 : 8)) {
    case 0: return json_null();
    case 1: return next() & 1 ? json_true() : json_false();
    case 2: return json_integer(next() % 3 == 0 ? (json_int_t)(rng) : (json_int_t)next() - 2000000000);
    case 3: return json_real(next() % 2 ? reals[next() % (sizeof reals / sizeof *reals)]
                                        : ((double)next() - 2e9) / (double)(next() | 1) * pow(10, (int)(next() % 40) - 20));
    case 4:
    case 5: return random_string();
    case 6: {
        json_t *a = json_array();
        for (uint32_t i = next() % 4; i > 0; i--)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (uint32_t i = next() % 4; i > 0; i--) {
            json_t *k = random_string();
            json_object_setn_new(o, json_string_value(k), json_string_length(k), random_value(depth + 1));
            json_decref(k);
        }
        return o;
    }
    }
}

/* The node line of a root whose extra is {"x": v}: its tail must be "x":json_dumps(v)}. */
static int written_as_jansson(json_t *v)
{
    session s;
    session_init(&s);
    session_new_prompt(&s, "p");
    json_t *extra = json_object();
    json_object_set(extra, "x", v);
    tree_get(s.t, tree_root(s.t))->extra = extra;
    buf b = {0};
    session_node_line(s.t, tree_root(s.t), &b);
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    char *tail = xasprintf("\"x\":%s}", want ? want : "null");
    int ok = b.len >= strlen(tail) && !memcmp(b.data + b.len - strlen(tail), tail, strlen(tail));
    if (!ok)
        fprintf(stderr, "  wrote %.*s\n  want  ...%s\n", (int)b.len, b.data, tail);
    free(want);
    free(tail);
    buf_free(&b);
    session_free(&s);
    return ok;
}

TEST(session_unknown_fields_written_as_json_dumps_would)
{
    for (size_t i = 0; i < sizeof reals / sizeof *reals; i++) {
        json_t *r = json_real(reals[i]);
        CHECK(written_as_jansson(r));
        json_decref(r);
    }
    for (int i = 0; i < 3000; i++) {
        json_t *v = random_value(0);
        CHECK(written_as_jansson(v));
        json_decref(v);
    }
    /* a key with a NUL in it, an invalid string (json_dumps refuses it: null), deep nesting */
    json_t *o = json_object();
    json_object_setn_new(o, "a\0b", 3, json_integer(1));
    CHECK(written_as_jansson(o));
    json_decref(o);
    json_t *bad = json_stringn_nocheck("\xff", 1);
    CHECK(written_as_jansson(bad));
    json_decref(bad);
    json_t *deep = json_integer(7);
    for (int i = 0; i < 100; i++) {
        json_t *a = json_array();
        json_array_append_new(a, deep);
        deep = a;
    }
    CHECK(written_as_jansson(deep));
    json_decref(deep);
}

/* A big tree is written on two threads (blocks of ids in turn): the file must be the bytes
 * session_dump gives, with gaps of deleted ids, whole blocks of them, tokens and extras. */
TEST(session_save_of_a_big_tree_is_the_dump)
{
    session s;
    session_init(&s);
    session_new_prompt(&s, "Once");
    tree *t = s.t;
    int32_t gone = TREE_NONE;
    for (int i = 1; i < 6000; i++) {
        char text[48];
        int n = snprintf(text, sizeof text, " branch %d", i);
        int32_t parent = i < 600 ? (int32_t)(i - 1) / 3 : i < 1700 ? (i == 600 ? 0 : 600) : (int32_t)(i % 97);
        int32_t id = tree_add_child(t, parent, TREE_ORIGIN_MODEL, "", 0);
        tree_alt alts[2] = { { text, (size_t)n, -0.25f * (float)(i % 7) }, { " x", 2, -3.5 } };
        tree_append_token(t, id, text, (size_t)n, -0.25f * (float)(i % 7), alts, 2, 1);
        if (i % 5 == 0) {
            json_t *e = json_object();
            json_object_set_new(e, "loom", json_pack("{s:i,s:s}", "n", i, "s", "é\n"));
            tree_get(t, id)->extra = e;
        }
        if (i == 600)
            gone = id;
    }
    tree_delete(t, gone);                    /* ids 600..1699: more than two whole blocks */
    tree_delete(t, 4321);
    size_t len = 0;
    char *want = session_dump(&s, &len);
    char err[256];
    char *path = test_write_tmp("big.json", "", 0);
    CHECK(session_save(&s, path, err, sizeof err) == 0);
    buf got = {0};
    CHECK(buf_read_file(&got, path, 0, err, sizeof err) == 0);
    CHECK(got.len == len && !memcmp(got.data, want, len));
    free(want);
    free(path);
    buf_free(&got);
    session_free(&s);
}

/* session_save_then writes the extras ahead of the named field before its tail runs; the file
 * is what setting the field first and saving gives, whether the tail appends the field,
 * replaces it in its place or deletes it. */
typedef struct {
    session *s;
    int      how;            /* 0 set, 1 delete */
    int      ran;
} tail_job;

static json_t *new_list(void)
{
    return json_pack("[{s:s,s:[i,i,i],s:i}]", "kind", "phrase", "members", 0, 1, 2, "support", 3);
}

static void tail_sets(void *ud)
{
    tail_job *j = ud;
    j->ran++;
    session_set_attractors(j->s, j->how ? NULL : new_list());
}

TEST(session_save_then_writes_what_setting_the_field_first_writes)
{
    for (int c = 0; c < 4; c++) {     /* no field, field in the middle (set, deleted), field last */
        session a, b;
        session_init(&a);
        session_init(&b);
        session_new_prompt(&a, "Once");
        session_new_prompt(&b, "Once");
        for (session *s = &a; s; s = s == &a ? &b : NULL) {
            s->extra = json_object();
            json_object_set_new(s->extra, "first", json_string("kept ahead"));
            if (c == 1 || c == 2)
                json_object_set_new(s->extra, "attractors", json_pack("[i]", 7));
            json_object_set_new(s->extra, "after", json_pack("{s:[i,s]}", "x", 1, "y"));
            if (c == 3)
                json_object_set_new(s->extra, "attractors", json_array());
        }
        tail_job j = { &a, c == 2, 0 };
        char err[256];
        char *pa = xasprintf("%s/then-%d.json", test_tmpdir(), c);
        char *pb = xasprintf("%s/first-%d.json", test_tmpdir(), c);
        CHECK(session_save_then(&a, pa, "attractors", tail_sets, &j, err, sizeof err) == 0);
        CHECK_INT(j.ran, 1);
        session_set_attractors(&b, c == 2 ? NULL : new_list());
        CHECK(session_save(&b, pb, err, sizeof err) == 0);
        size_t na, nb;
        char *fa = test_slurp(pa, &na), *fb = test_slurp(pb, &nb);
        CHECKF(fa && fb && na == nb && !memcmp(fa, fb, na), "case %d:\n%s\n---\n%s", c,
               fa ? fa : "(none)", fb ? fb : "(none)");
        free(fa), free(fb), free(pa), free(pb);
        session_free(&a);
        session_free(&b);
    }
}
