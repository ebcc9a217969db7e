/* tests/unit/test_grow.c — seeds and provenance of generated nodes (core/grow), through the
 * real n-gram backend. */
#include "tests/test.h"
#include "core/grow.h"
#include "core/ngram.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void grow_all(grow *g, backend *b)
{
    for (int spins = 0; grow_active(g) && spins < 100000; spins++) {
        int ready;
        backend_wait(b, NULL, 0, 10, &ready);
        backend_pump(b);
    }
}

static json_t *rec_of(tree *t, int32_t id) { return json_object_get(tree_get(t, id)->extra, "request"); }

/* With --seed S, children of two different parents get different seeds (a hash of S and the
 * parent), the same under a parent every time; each node records how it was made. */
TEST(grow_seeds_differ_per_parent_and_are_recorded)
{
    char err[256];
    backend *b = ngram_backend_new(NULL, err, sizeof err);
    REQUIRE(b);
    tree *t = tree_new();
    int32_t root = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "The", 3);
    int32_t p1 = tree_add_child(t, root, TREE_ORIGIN_EDIT, " cat", 4);
    int32_t p2 = tree_add_child(t, root, TREE_ORIGIN_EDIT, " cat", 4);   /* the same text */
    gen_settings s;
    settings_init(&s);
    s.max_tokens = 6;
    s.seed = 5;
    s.has_seed = 1;
    settings_add_stop(&s, "\n\n", err, sizeof err);
    grow *g = grow_new(t, b, NULL, NULL);
    REQUIRE(grow_start(g, p1, &s, 2, err, sizeof err) > 0);
    REQUIRE(grow_start(g, p2, &s, 2, err, sizeof err) > 0);
    grow_all(g, b);
    REQUIRE(tree_get(t, p1)->nchildren == 2 && tree_get(t, p2)->nchildren == 2);
    json_t *a = rec_of(t, tree_get(t, p1)->children[0]), *c = rec_of(t, tree_get(t, p2)->children[0]);
    REQUIRE(a && c);
    CHECK(json_integer_value(json_object_get(a, "seed")) == grow_seed(5, p1, 0));
    CHECK(json_integer_value(json_object_get(c, "seed")) == grow_seed(5, p2, 0));
    CHECK(grow_seed(5, p1, 0) != grow_seed(5, p2, 0));
    CHECK(grow_seed(5, p1, 0) == grow_seed(5, p1, 0) && grow_seed(5, p1, 0) != grow_seed(6, p1, 0));
    CHECK(grow_seed(5, p1, 0) >= 0 && grow_seed(5, p1, 0) < 0x80000000LL);
    /* Same text, different parents: different streams, so different samples. */
    CHECK(strcmp(tree_get(t, tree_get(t, p1)->children[0])->text, tree_get(t, tree_get(t, p2)->children[0])->text) ||
          strcmp(tree_get(t, tree_get(t, p1)->children[1])->text, tree_get(t, tree_get(t, p2)->children[1])->text));
    CHECK_STR(json_string_value(json_object_get(a, "backend")), "builtin");
    CHECK(json_integer_value(json_object_get(a, "max_tokens")) == 6);
    CHECK(json_real_value(json_object_get(a, "temperature")) == s.temperature);
    CHECK(json_integer_value(json_object_get(a, "choice")) == 0);
    CHECK(json_integer_value(json_object_get(rec_of(t, tree_get(t, p1)->children[1]), "choice")) == 1);
    CHECK_STR(json_string_value(json_array_get(json_object_get(a, "stop"), 0)), "\n\n");
    CHECK(json_is_integer(json_object_get(a, "time")));
    /* Without a seed one is drawn per request and recorded. */
    s.has_seed = 0;
    REQUIRE(grow_start(g, root, &s, 1, err, sizeof err) > 0);
    grow_all(g, b);
    json_t *r = rec_of(t, tree_get(t, root)->children[2]);
    CHECK(r && json_is_integer(json_object_get(r, "seed")));
    grow_free(g);
    tree_free(t);
    settings_free(&s);
    backend_free(b);
}

/* With --seed S, k more siblings under the same parent (the r key, a compare retry) are new
 * samples: the request's seed also hashes the child index its first branch takes, whether
 * the earlier request is finished or still in flight.  A parent's first request keeps the
 * seed it always had. */
TEST(grow_more_siblings_get_new_seeds)
{
    char err[256];
    backend *b = ngram_backend_new(NULL, err, sizeof err);
    REQUIRE(b);
    tree *t = tree_new();
    int32_t root = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "The", 3);
    gen_settings s;
    settings_init(&s);
    s.max_tokens = 8;
    s.seed = 11;
    s.has_seed = 1;
    grow *g = grow_new(t, b, NULL, NULL);
    REQUIRE(grow_start(g, root, &s, 2, err, sizeof err) > 0);
    grow_all(g, b);
    REQUIRE(grow_start(g, root, &s, 2, err, sizeof err) > 0);   /* after the first */
    REQUIRE(grow_start(g, root, &s, 2, err, sizeof err) > 0);   /* beside the second */
    grow_all(g, b);
    const tree_node *rn = tree_get(t, root);
    REQUIRE(rn->nchildren == 6);
    long long seed[6];
    for (int i = 0; i < 6; i++)
        seed[i] = json_integer_value(json_object_get(rec_of(t, rn->children[i]), "seed"));
    CHECK(seed[0] == grow_seed(11, root, 0) && seed[1] == seed[0]);
    CHECK(seed[2] == grow_seed(11, root, 2) && seed[4] == grow_seed(11, root, 4));
    CHECK(seed[2] != seed[0] && seed[4] != seed[0] && seed[4] != seed[2]);
    int same = 0;                 /* the n-gram model: a new stream writes new text */
    for (int i = 0; i < 2; i++)
        same += !strcmp(tree_get(t, rn->children[i])->text, tree_get(t, rn->children[i + 2])->text) &&
                !strcmp(tree_get(t, rn->children[i])->text, tree_get(t, rn->children[i + 4])->text);
    CHECK(same == 0);
    grow_free(g);
    tree_free(t);
    settings_free(&s);
    backend_free(b);
}

/* A base URL's user:password never reaches a node. */
TEST(grow_record_has_no_credentials)
{
    char err[256];
    backend *b = ngram_backend_new(NULL, err, sizeof err);
    REQUIRE(b);
    tree *t = tree_new();
    int32_t root = tree_add_child(t, TREE_NONE, TREE_ORIGIN_PROMPT, "The", 3);
    gen_settings s;
    settings_init(&s);
    s.max_tokens = 3;
    free(s.backend);
    s.backend = strdup("ngram");
    grow *g = grow_new(t, b, NULL, NULL);
    REQUIRE(grow_start(g, root, &s, 1, err, sizeof err) > 0);
    grow_all(g, b);
    json_t *r = rec_of(t, tree_get(t, root)->children[0]);
    CHECK(r && !json_object_get(r, "base_url"));      /* an embedded backend has none */
    /* (the settings name a server; the n-gram backend answers: only the record matters) */
    free(s.backend);
    s.backend = strdup("openai");
    s.base_url = strdup("https://alice:s3cret@example.invalid:8443/v1");
    REQUIRE(grow_start(g, root, &s, 1, err, sizeof err) > 0);
    grow_all(g, b);
    r = rec_of(t, tree_get(t, root)->children[1]);
    CHECK_STR(json_string_value(json_object_get(r, "base_url")), "https://example.invalid:8443/v1");
    grow_free(g);
    tree_free(t);
    settings_free(&s);
    backend_free(b);
}
