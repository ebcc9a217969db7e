/* tests/unit/test_net_wire.c — request bodies and response parsers, on real llama.cpp
 * captures (tests/fixtures/llamacpp, from the shared fixtures) and on the other servers' documented shapes. */
#include "tests/test.h"
#include "core/jnul.h"
#include "net/sse.h"
#include "net/wire.h"
#include <jansson.h>
#include <stdlib.h>

typedef struct {
    buf    text[4];
    int    tokens[4];
    char   finish[4][32];
    char   error[4][200];
    char   whole_error[200];
    double first_lp[4];
    tree_alt first_top[4];
    char   first_top_text[4][32];
    size_t first_ntop[4];
    char   model[64];
} got;

static void on_token(void *ud, int c, const char *t, size_t n, double lp, const tree_alt *top, size_t ntop)
{
    got *g = ud;
    if (c < 0 || c > 3)
        return;
    if (g->tokens[c] == 0) {
        g->first_lp[c] = lp;
        g->first_ntop[c] = ntop;
        if (ntop) {
            g->first_top[c] = top[0];
            snprintf(g->first_top_text[c], sizeof g->first_top_text[c], "%.*s", (int)top[0].len, top[0].text);
        }
    }
    for (size_t i = 1; i < ntop; i++)
        if (top[i].logprob > top[i - 1].logprob)
            g->tokens[c] += 1000;   /* not most probable first: shows up in the count */
    g->tokens[c]++;
    buf_add(&g->text[c], t, n);
}
static void on_text(void *ud, int c, const char *t, size_t n)
{
    got *g = ud;
    if (c >= 0 && c < 4)
        buf_add(&g->text[c], t, n);
}
static void on_finish(void *ud, int c, const char *r)
{
    got *g = ud;
    if (c >= 0 && c < 4)
        snprintf(g->finish[c], sizeof g->finish[c], "%s", r);
}
static void on_error(void *ud, int c, const char *m)
{
    got *g = ud;
    if (c < 0)
        snprintf(g->whole_error, sizeof g->whole_error, "%s", m);
    else if (c < 4)
        snprintf(g->error[c], sizeof g->error[c], "%s", m);
}
static void on_model(void *ud, const char *m)
{
    got *g = ud;
    snprintf(g->model, sizeof g->model, "%s", m);
}

static wire_sink sink_for(got *g)
{
    memset(g, 0, sizeof *g);
    return (wire_sink){ on_token, on_text, on_finish, on_error, on_model, g };
}
static void got_free(got *g)
{
    for (int i = 0; i < 4; i++)
        buf_free(&g->text[i]);
}
static const char *text0(got *g) { buf_adds(&g->text[0], ""); return g->text[0].data; }

/* The expected text straight from the fixture, read with jansson. */
static char *fixture_field(const char *name, int native)
{
    json_t *j = json_load_file(test_fixture(name), 0, NULL);
    if (!j)
        return NULL;
    json_t *v = native ? json_object_get(j, "content")
                       : json_object_get(json_array_get(json_object_get(j, "choices"), 0), "text");
    char *s = v ? xstrdup(json_string_value(v)) : NULL;
    json_decref(j);
    return s;
}

static char *slurp_fixture(const char *name, size_t *len)
{
    const char *p = test_fixture(name);
    return p ? test_slurp(p, len) : NULL;
}

TEST(wire_llamacpp_v1_completions_content_shape)
{
    size_t len;
    char *body = slurp_fixture("llamacpp/v1_completions_logprobs5.json", &len);
    REQUIRE(body);
    char *want = fixture_field("llamacpp/v1_completions_logprobs5.json", 0);
    got g;
    wire_sink k = sink_for(&g);
    CHECK_INT(wire_parse_body(WIRE_OPENAI, body, len, &k), WIRE_OK);
    CHECK_INT(g.tokens[0], 24);
    CHECK_STR(text0(&g), want);
    CHECK_STR(g.finish[0], "length");
    CHECK_STR(g.model, "gpt-3.5-turbo");
    CHECK_NEAR(g.first_lp[0], -0.003148619784042239, 1e-12);
    CHECK_INT(g.first_ntop[0], 5);
    CHECK_STR(g.first_top_text[0], "\n");
    got_free(&g);
    free(want);
    free(body);
}

TEST(wire_llamacpp_native_body_and_probabilities)
{
    size_t len;
    char *body = slurp_fixture("llamacpp/completion_nprobs5.json", &len);
    REQUIRE(body);
    char *want = fixture_field("llamacpp/completion_nprobs5.json", 1);
    got g;
    wire_sink k = sink_for(&g);
    CHECK_INT(wire_parse_body(WIRE_LLAMACPP, body, len, &k), WIRE_OK);
    CHECK_INT(g.tokens[0], 24);
    CHECK_STR(text0(&g), want);
    CHECK_STR(g.finish[0], "length");   /* stop_type "limit" */
    got_free(&g);
    free(want);
    free(body);

    body = slurp_fixture("llamacpp/completion_post_sampling_probs.json", &len);
    REQUIRE(body);
    k = sink_for(&g);
    CHECK_INT(wire_parse_body(WIRE_LLAMACPP, body, len, &k), WIRE_OK);
    CHECK_INT(g.tokens[0], 2);
    CHECK_STR(text0(&g), " know her");
    CHECK_NEAR(g.first_lp[0], log(0.04551662132143974), 1e-9);   /* probabilities → logs */
    CHECK_STR(g.first_top_text[0], " not");
    got_free(&g);
    free(body);
}

TEST(wire_stop_string_tokens_give_the_completion_text)
{
    size_t len;
    char *body = slurp_fixture("llamacpp/v1_completions_stop_greedy.json", &len);
    REQUIRE(body);
    char *want = fixture_field("llamacpp/v1_completions_stop_greedy.json", 0);
    got g;
    wire_sink k = sink_for(&g);
    CHECK_INT(wire_parse_body(WIRE_OPENAI, body, len, &k), WIRE_OK);
    CHECK_STR(text0(&g), want);
    CHECK_STR(g.finish[0], "stop");
    got_free(&g);
    free(want);
    free(body);
}

typedef struct { wire_kind kind; const wire_sink *k; int ends, bad; } stream_ctx;
static int on_sse(void *ud, const char *d, size_t n)
{
    stream_ctx *c = ud;
    int r = wire_parse_chunk(c->kind, d, n, c->k);
    if (r == WIRE_END)
        c->ends++;
    if (r == WIRE_BAD)
        c->bad++;
    return 0;
}

static void stream_fixture(const char *name, wire_kind kind, got *g, stream_ctx *c, const wire_sink *k)
{
    size_t len;
    char *text = slurp_fixture(name, &len);
    if (!text)
        return;
    *c = (stream_ctx){ kind, k, 0, 0 };
    sse_parser p;
    sse_init(&p, 0);
    for (size_t i = 0; i < len; i += 7)   /* odd-sized reads */
        sse_feed(&p, text + i, len - i < 7 ? len - i : 7, on_sse, c);
    sse_finish(&p, on_sse, c);
    sse_free(&p);
    free(text);
    (void)g;
}

TEST(wire_llamacpp_streams_both_endpoints)
{
    got g;
    stream_ctx c;
    wire_sink k = sink_for(&g);
    stream_fixture("llamacpp/v1_completions_stream.sse", WIRE_OPENAI, &g, &c, &k);
    CHECK_INT(c.ends, 1);   /* [DONE] */
    CHECK_INT(c.bad, 0);
    CHECK_INT(g.tokens[0], 6);
    CHECK_STR(text0(&g), "\nMethinks I");
    CHECK_STR(g.finish[0], "length");
    got_free(&g);

    k = sink_for(&g);
    stream_fixture("llamacpp/completion_stream.sse", WIRE_LLAMACPP, &g, &c, &k);
    CHECK_INT(c.ends, 1);   /* the stop:true chunk, no [DONE] */
    CHECK_INT(c.bad, 0);
    CHECK_INT(g.tokens[0], 6);
    CHECK_STR(text0(&g), "\nAlas, that");
    CHECK_STR(g.finish[0], "length");
    got_free(&g);
}

TEST(wire_legacy_shape_nulls_together_and_bytes)
{
    const char *body =
        "{\"model\":\"m\",\"choices\":[{\"index\":1,\"text\":\" Hi!\",\"finish_reason\":\"stop\","
        "\"logprobs\":{\"tokens\":[\" Hi\",\"!\"],\"token_logprobs\":[null,-1.2],"
        "\"top_logprobs\":[null,{\".\":-1.5,\"!\":-1.2}],\"text_offset\":[0,3]}},"
        "{\"index\":0,\"text\":\"caf\xc3\xa9\",\"finish_reason\":\"length\","
        "\"logprobs\":{\"tokens\":[\"caf\",\"bytes:\\\\xc3\",\"bytes:\\\\xa9\"],\"token_logprobs\":[-0.1,-0.2,-3.5e38],"
        "\"top_logprobs\":[{\"caf\":-0.1},{\"x\":-9,\"y\":-2}]}}]}";
    got g;
    wire_sink k = sink_for(&g);
    CHECK_INT(wire_parse_body(WIRE_OPENAI, body, strlen(body), &k), WIRE_OK);
    buf_adds(&g.text[1], "");
    CHECK_STR(g.text[1].data, " Hi!");
    CHECK_INT(g.tokens[1], 2);
    CHECK(isnan(g.first_lp[1]));
    CHECK_STR(g.finish[1], "stop");
    CHECK_STR(text0(&g), "caf\xc3\xa9");   /* bytes:\xNN pieces joined */
    CHECK_INT(g.tokens[0], 3);
    CHECK_STR(g.finish[0], "length");
    got_free(&g);

    /* Together: top_logprobs as one object for a one-token chunk. */
    const char *chunk = "{\"choices\":[{\"index\":0,\"text\":\"a\",\"logprobs\":{\"tokens\":[\"a\"],"
                        "\"token_logprobs\":[-0.5],\"top_logprobs\":{\"b\":-0.25,\"a\":-0.5}}}]}";
    k = sink_for(&g);
    CHECK_INT(wire_parse_chunk(WIRE_OPENAI, chunk, strlen(chunk), &k), WIRE_OK);
    CHECK_INT(g.first_ntop[0], 2);
    CHECK_STR(g.first_top_text[0], "b");
    CHECK_STR(g.finish[0], "");   /* a chunk without finish_reason does not end the branch */
    got_free(&g);

    /* The byte 0 as an alternative: a key "\u0000", which jansson alone refuses (the whole
     * chunk, and with it the branch, was lost). */
    const char *nul = "{\"choices\":[{\"index\":0,\"text\":\"a\",\"logprobs\":{\"tokens\":[\"a\"],"
                      "\"token_logprobs\":[-0.5],\"top_logprobs\":[{\"\\u0000\":-0.25,\"a\":-0.5}]}}]}";
    k = sink_for(&g);
    CHECK_INT(wire_parse_chunk(WIRE_OPENAI, nul, strlen(nul), &k), WIRE_OK);
    CHECK_INT(g.tokens[0], 1);
    CHECK_INT(g.first_ntop[0], 2);
    CHECK(g.first_ntop[0] && g.first_top[0].len == 1);           /* the NUL, most probable */
    got_free(&g);
}

TEST(jnul_keys_and_values)
{
    json_error_t e;
    const char *d = "{\"\\u0000x\": \"v\\u0000\", \"k\": {\"\\\\u0000\": 1, \"\\u0000\": [\"\\u0000\"]}}";
    json_t *j = jnul_loadb(d, strlen(d), 0, &e);
    REQUIRE(j);
    const char *key;
    json_t *v;
    int seen = 0;
    json_object_foreach(j, key, v) {
        size_t kl;
        char *kb = jnul_key(key, &kl);
        if (kl == 2 && kb[0] == 0 && kb[1] == 'x') {
            seen |= 1;
            CHECK(json_string_length(v) == 2 && json_string_value(v)[1] == 0);   /* values keep NUL */
        }
        free(kb);
    }
    json_t *inner = json_object_get(j, "k");
    CHECK(json_object_get(inner, "\\u0000") != NULL);    /* an escaped backslash is not a NUL */
    json_object_foreach(inner, key, v) {
        size_t kl;
        char *kb = jnul_key(key, &kl);
        if (kl == 1 && kb[0] == 0)
            seen |= 2;
        free(kb);
    }
    CHECK_INT(seen, 3);
    json_decref(j);
    CHECK(jnul_loadb("{\"a\\u0000\":", 12, 0, &e) == NULL);    /* broken stays broken */
}

TEST(wire_flt_max_logprob_means_zero)
{
    const char *c = "{\"choices\":[{\"index\":0,\"text\":\"x\",\"logprobs\":{\"content\":[{\"token\":\"x\","
                    "\"logprob\":-3.4028234663852886e38,\"bytes\":[120],\"top_logprobs\":[]}]}}]}";
    got g;
    wire_sink k = sink_for(&g);
    CHECK_INT(wire_parse_chunk(WIRE_OPENAI, c, strlen(c), &k), WIRE_OK);
    CHECK_NEAR(g.first_lp[0], WIRE_LOGPROB_ZERO, 0);
    got_free(&g);
    /* A logprob above 0 (a probability over 1) is read as 0: certain, not 14841 %. */
    const char *pos = "{\"choices\":[{\"index\":0,\"text\":\"x\",\"logprobs\":{\"content\":[{\"token\":\"x\","
                      "\"logprob\":700,\"top_logprobs\":[{\"token\":\"x\",\"logprob\":5.5}]}]}}]}";
    k = sink_for(&g);
    CHECK_INT(wire_parse_chunk(WIRE_OPENAI, pos, strlen(pos), &k), WIRE_OK);
    CHECK_NEAR(g.first_lp[0], 0, 0);
    CHECK(g.first_ntop[0] == 1 && g.first_top[0].logprob == 0);
    got_free(&g);
}

TEST(wire_chat_stream_and_mid_stream_errors)
{
    const char *role = "{\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}";
    const char *piece = "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"logprobs\":{\"content\":"
                        "[{\"token\":\"Hel\",\"logprob\":-0.3,\"bytes\":[72,101,108],\"top_logprobs\":"
                        "[{\"token\":\"Hel\",\"logprob\":-0.3},{\"token\":\"Hi\",\"logprob\":-1.6}]}]}}]}";
    const char *fail = "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"error\"}]}";
    got g;
    wire_sink k = sink_for(&g);
    CHECK_INT(wire_parse_chunk(WIRE_CHAT, role, strlen(role), &k), WIRE_OK);
    CHECK_INT(wire_parse_chunk(WIRE_CHAT, piece, strlen(piece), &k), WIRE_OK);
    CHECK_INT(wire_parse_chunk(WIRE_CHAT, fail, strlen(fail), &k), WIRE_OK);
    CHECK_STR(text0(&g), "Hel");
    CHECK_STR(g.model, "gpt-x");
    CHECK(g.error[0][0] != '\0');
    const char *err = "{\"error\":{\"message\":\"upstream went away\",\"code\":502}}";
    CHECK_INT(wire_parse_chunk(WIRE_CHAT, err, strlen(err), &k), WIRE_ERROR);
    CHECK_STR(g.whole_error, "upstream went away");
    CHECK_INT(wire_parse_chunk(WIRE_CHAT, "{\"choices\":[{\"ind", 17, &k), WIRE_BAD);
    CHECK_INT(wire_parse_chunk(WIRE_CHAT, "[1,2]", 5, &k), WIRE_BAD);
    CHECK_INT(wire_parse_chunk(WIRE_CHAT, " [DONE] ", 8, &k), WIRE_END);
    got_free(&g);
}

TEST(wire_prompt_array_answer_is_read)
{
    size_t len;
    char *body = slurp_fixture("llamacpp/v1_completions_prompt_array.json", &len);
    REQUIRE(body);
    got g;
    wire_sink k = sink_for(&g);
    CHECK_INT(wire_parse_body(WIRE_OPENAI, body, len, &k), WIRE_OK);
    CHECK(g.tokens[0] > 0);
    CHECK(g.finish[0][0] != '\0');
    got_free(&g);
    free(body);
}

TEST(wire_error_bodies)
{
    size_t len;
    char *http = slurp_fixture("llamacpp/v1_completions_n4_error.http", &len);
    REQUIRE(http);
    const char *body = strstr(http, "\r\n\r\n");
    REQUIRE(body);
    body += 4;
    char *msg, *code;
    wire_error_info(body, len - (size_t)(body - http), &msg, &code);
    CHECK_STR(msg, "Only one completion choice is allowed");
    CHECK_STR(code, "500");
    free(msg), free(code), free(http);

    const char *q = "{\"error\":{\"message\":\"You exceeded your current quota\",\"type\":\"insufficient_quota\",\"code\":\"insufficient_quota\"}}";
    wire_error_info(q, strlen(q), &msg, &code);
    CHECK_STR(code, "insufficient_quota");
    free(msg), free(code);
    const char *fastapi = "{\"detail\":[{\"loc\":[\"body\",\"n\"],\"msg\":\"n must be 1\"}]}";
    wire_error_info(fastapi, strlen(fastapi), &msg, &code);
    CHECK_STR(msg, "n must be 1");
    free(msg), free(code);
    const char *html = "<html><head><title>502 Bad Gateway</title></head>\n<body>x</body></html>";
    wire_error_info(html, strlen(html), &msg, &code);
    CHECK_STR(msg, "502 Bad Gateway");
    CHECK(code == NULL);
    free(msg), free(code);
    char *line = wire_one_line("two\nlines\tand \x01 ctl", 20, 300);
    CHECK_STR(line, "two lines and ctl");
    free(line);
}

TEST(wire_request_bodies)
{
    gen_settings s;
    settings_init(&s);
    s.model = xstrdup("m1");
    s.stop[0] = xstrdup("\n\n");
    s.nstop = 1;
    s.extra_json = xstrdup("{\"repetition_penalty\":1.1,\"temperature\":0.5}");
    char err[200] = "";
    char *b = wire_body(WIRE_OPENAI, &s, "Once", 4, 4, 1, 42, 1, err, sizeof err);
    REQUIRE(b);
    json_t *j = json_loads(b, 0, NULL);
    REQUIRE(j);
    CHECK_STR(json_string_value(json_object_get(j, "prompt")), "Once");
    CHECK_INT(json_integer_value(json_object_get(j, "n")), 4);
    CHECK_INT(json_integer_value(json_object_get(j, "logprobs")), 5);
    CHECK_INT(json_integer_value(json_object_get(j, "seed")), 42);
    CHECK_NEAR(json_number_value(json_object_get(j, "temperature")), 0.5, 0);   /* extra wins */
    CHECK_NEAR(json_number_value(json_object_get(j, "repetition_penalty")), 1.1, 1e-12);
    CHECK(json_is_true(json_object_get(j, "stream")));
    json_decref(j);
    free(b);

    s.chat_prefill = 1;
    b = wire_body(WIRE_CHAT, &s, "bad \xff byte", 10, 1, 0, 0, 0, err, sizeof err);
    REQUIRE(b);
    j = json_loads(b, 0, NULL);
    REQUIRE(j);
    json_t *m = json_array_get(json_object_get(j, "messages"), 0);
    CHECK_STR(json_string_value(json_object_get(m, "role")), "assistant");
    CHECK_STR(json_string_value(json_object_get(m, "content")), "bad \xef\xbf\xbd byte");
    CHECK(json_is_true(json_object_get(j, "logprobs")));
    CHECK_INT(json_integer_value(json_object_get(j, "top_logprobs")), 5);
    CHECK(json_object_get(j, "n") == NULL);
    CHECK(json_object_get(j, "seed") == NULL);
    json_decref(j);
    free(b);

    b = wire_body(WIRE_LLAMACPP, &s, "x", 1, 4, 0, 0, 1, err, sizeof err);
    REQUIRE(b);
    j = json_loads(b, 0, NULL);
    CHECK_INT(json_integer_value(json_object_get(j, "n_predict")), 48);
    CHECK_INT(json_integer_value(json_object_get(j, "n_probs")), 5);
    CHECK_INT(json_integer_value(json_object_get(j, "top_k")), 0);
    CHECK(json_object_get(j, "min_p") != NULL);
    CHECK(json_object_get(j, "n") == NULL);
    json_decref(j);
    free(b);

    free(s.extra_json);
    s.extra_json = xstrdup("[1]");
    CHECK(wire_body(WIRE_OPENAI, &s, "x", 1, 1, 0, 0, 1, err, sizeof err) == NULL);
    CHECK(strstr(err, "extra-json") != NULL);
    settings_free(&s);
}

/* llama.cpp as it really streams at high n_probs: an alternative that is the byte 0 (sent as
 * "\u0000"), and a character split over two tokens, sent as "" and "\ufffd" with the true
 * bytes beside them.  Each chunk parses, each server token stays one token, and the text
 * is the exact bytes. */
TEST(wire_llamacpp_nul_alternative_and_partial_bytes)
{
    static const char *chunks[] = {
        "{\"index\":0,\"content\":\" thousand\",\"tokens\":[901],\"stop\":false,"
        "\"completion_probabilities\":[{\"id\":901,\"token\":\" thousand\",\"bytes\":[32,116,104,111,117,115,97,110,100],"
        "\"logprob\":-0.5,\"top_logprobs\":[{\"id\":901,\"token\":\" thousand\",\"bytes\":[32,116,104,111,117,115,97,110,100],\"logprob\":-0.5},"
        "{\"id\":3,\"token\":\"\\u0000\",\"bytes\":[0],\"logprob\":-3.25}]}]}",
        "{\"index\":0,\"content\":\"\",\"tokens\":[1200],\"stop\":false,"
        "\"completion_probabilities\":[{\"id\":1200,\"token\":\"\",\"bytes\":[226,128],\"logprob\":-1.0,"
        "\"top_logprobs\":[{\"id\":1200,\"token\":\"\",\"bytes\":[226,128],\"logprob\":-1.0}]}]}",
        "{\"index\":0,\"content\":\"\\u2014\",\"tokens\":[1201],\"stop\":false,"
        "\"completion_probabilities\":[{\"id\":1201,\"token\":\"\\ufffd\",\"bytes\":[148],\"logprob\":-0.25,"
        "\"top_logprobs\":[{\"id\":1201,\"token\":\"\\ufffd\",\"bytes\":[148],\"logprob\":-0.25}]}]}",
    };
    got g;
    wire_sink k = sink_for(&g);
    for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++)
        CHECKF(wire_parse_chunk(WIRE_LLAMACPP, chunks[i], strlen(chunks[i]), &k) != WIRE_BAD,
               "chunk %zu refused", i);
    CHECK_INT(g.tokens[0], 3);
    CHECK_STR(text0(&g), " thousand\xe2\x80\x94");
    CHECK_NEAR(g.first_lp[0], -0.5, 1e-12);
    CHECK_INT(g.first_ntop[0], 2);
    CHECK_STR(g.error[0], "");
    got_free(&g);
}

/* Scoring given text: OpenAI's echo (legacy logprobs over the prompt, the first null, any
 * generated tokens past the prompt's text_offset left out) and vLLM's prompt_logprobs (the
 * prompt's token first in each object). */
TEST(wire_parse_scored_echo_and_prompt_logprobs)
{
    const char *echo = "{\"choices\":[{\"text\":\"Hi there!\",\"logprobs\":{\"tokens\":[\"Hi\",\" there\",\"!\"],"
                       "\"token_logprobs\":[null,-1.5,-0.25],\"top_logprobs\":[null,{\" there\":-1.5,\" you\":-0.5},"
                       "{\"!\":-0.25}],\"text_offset\":[0,2,8]}}]}";
    got g = { 0 };
    wire_sink k = sink_for(&g);
    CHECK_INT(wire_parse_scored(echo, strlen(echo), 9, &k), WIRE_OK);
    CHECK_INT(g.tokens[0], 3);
    CHECK_STR(text0(&g), "Hi there!");
    CHECK(isnan(g.first_lp[0]));
    got_free(&g);
    memset(&g, 0, sizeof g);
    k = sink_for(&g);
    /* the prompt is "Hi there": "!" was generated (offset 8 = the prompt's length) */
    CHECK_INT(wire_parse_scored(echo, strlen(echo), 8, &k), WIRE_OK);
    CHECK_INT(g.tokens[0], 2);
    CHECK_STR(text0(&g), "Hi there");
    got_free(&g);
    const char *vllm = "{\"choices\":[{\"text\":\"x\",\"logprobs\":null,\"prompt_logprobs\":[null,"
                       "{\"318\":{\"logprob\":-2.0,\"rank\":3,\"decoded_token\":\" there\"},"
                       "\"11\":{\"logprob\":-0.1,\"rank\":1,\"decoded_token\":\" you\"}}]}]}";
    memset(&g, 0, sizeof g);
    k = sink_for(&g);
    CHECK_INT(wire_parse_scored(vllm, strlen(vllm), 8, &k), WIRE_OK);
    CHECK_INT(g.tokens[0], 2);            /* the first (null) and " there"; alternatives sorted */
    CHECK_STR(text0(&g), " there");
    got_free(&g);
}

/* Hostile or odd scoring answers: WIRE_BAD or WIRE_ERROR, never a crash. */
TEST(wire_parse_scored_hostile)
{
    const char *bad[] = {
        "", "null", "[]", "{\"choices\":3}", "{\"choices\":[{\"logprobs\":null}]}",
        "{\"choices\":[{\"prompt_logprobs\":[null,\"x\"]}]}", "{\"choices\":[{\"prompt_logprobs\":[null,{}]}]}",
        "{\"choices\":[{\"logprobs\":{\"tokens\":[]}}]}", "{\"choices\":[{\"logprobs\":{\"tokens\":[\"a\"],\"text_offset\":[0]}}]}",
        "{\"choices\":[{\"logprobs\":{\"tokens\":[\"He", "{\"choices\":[{\"prompt_logprobs\":[null,{\"1\":7}]}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        got g = { 0 };
        wire_sink k = sink_for(&g);
        int r = wire_parse_scored(bad[i], strlen(bad[i]), 0, &k);
        if (i == sizeof bad / sizeof *bad - 1)
            CHECK_INT(r, WIRE_OK);        /* a value that is no object: a token with no logprob */
        else
            CHECK_INT(r, WIRE_BAD);
        got_free(&g);
    }
    got g = { 0 };
    wire_sink k = sink_for(&g);
    const char *e = "{\"error\":{\"message\":\"echo is not supported\",\"type\":\"invalid_request_error\"}}";
    CHECK_INT(wire_parse_scored(e, strlen(e), 5, &k), WIRE_ERROR);
    CHECK_STR(g.whole_error, "echo is not supported");
    got_free(&g);
}
