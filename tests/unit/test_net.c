/* tests/unit/test_net.c — the HTTP backends through the library: backend + grow into a tree,
 * against tests/tools/testserver over real HTTP on 127.0.0.1 (one server per test, which
 * stops by itself; the test also stops it by its pid). */
#include "tests/test.h"
#include "tests/spawn.h"
#include "core/grow.h"
#include "core/mem.h"
#include "core/mono.h"
#include "net/net.h"
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    pid_t pid;
    int   port;
    char  log[400];
} server;

/* Starts the test server with space-separated args; 0 ok. */
static int server_start(server *sv, const char *args)
{
    const char *tools = getenv("TERMLOOM_TOOLS");
    char path[512];
    snprintf(path, sizeof path, "%s/testserver", tools ? tools : "build/tools");
    const char *dir = test_tmpdir();
    snprintf(sv->log, sizeof sv->log, "%s/requests.log", dir ? dir : "/tmp");
    char *args_all = xasprintf("--lifetime 30 --idle 10 --log %s %s", sv->log, args ? args : "");
    sv->pid = spawn_testserver(path, args_all, &sv->port);
    free(args_all);
    return sv->pid > 0 ? 0 : -1;
}

static void server_stop(server *sv)
{
    spawn_stop(sv->pid);
    sv->pid = 0;
}

/* Requests the server logged, and how many contain needle. */
static int log_count(server *sv, const char *needle)
{
    size_t len;
    char *text = test_slurp(sv->log, &len);
    int n = 0;
    for (char *p = text; p && (p = strstr(p, needle)); p++)
        n++;
    free(text);
    return n;
}

typedef struct {
    tree   *t;
    int32_t root;
    backend *b;
    grow   *g;
    buf     status;
    int     errors, dones, ends, tokens, texts;
    char    last_error[400];
    char    finish[8][24];
    double  elapsed;
} run;

static void after(void *ud, const backend_event *ev)
{
    run *r = ud;
    switch (ev->kind) {
    case BACKEND_EV_STATUS: buf_printf(&r->status, "%s\n", ev->message); break;
    case BACKEND_EV_ERROR:
        r->errors++;
        snprintf(r->last_error, sizeof r->last_error, "%s", ev->message ? ev->message : "");
        if (ev->branch >= 0 && ev->branch < 8)
            snprintf(r->finish[ev->branch], sizeof r->finish[0], "%s", ev->finish ? ev->finish : "?");
        break;
    case BACKEND_EV_DONE:
        r->dones++;
        if (ev->branch >= 0 && ev->branch < 8)
            snprintf(r->finish[ev->branch], sizeof r->finish[0], "%s", ev->finish ? ev->finish : "?");
        break;
    case BACKEND_EV_REQUEST_END: r->ends++; break;
    case BACKEND_EV_TOKEN: r->tokens++; break;
    case BACKEND_EV_TEXT: r->texts++; break;
    case BACKEND_EV_SCORED: break;
    }
}

static void settings_for(gen_settings *s, const char *bk, int port, const char *suffix, const char *model)
{
    settings_init(s);
    free(s->backend);
    s->backend = xstrdup(bk);
    s->base_url = xasprintf("http://127.0.0.1:%d%s", port, suffix);
    s->model = xstrdup(model ? model : "test");
    s->max_tokens = 8;
    s->seed = 7;
    s->has_seed = 1;
}

static int run_open(run *r, const gen_settings *s, const char *key)
{
    memset(r, 0, sizeof *r);
    char err[300];
    r->b = net_backend_new(s, key, err, sizeof err);
    if (!r->b)
        return -1;
    r->t = tree_new();
    r->root = tree_add_child(r->t, TREE_NONE, TREE_ORIGIN_PROMPT, "Once upon", 9);
    r->g = grow_new(r->t, r->b, after, r);
    return 0;
}

/* Pumps until every request ended or the deadline; returns the requests still active. */
static int run_loop(run *r, double seconds)
{
    double t0 = mono_now();
    while (grow_active(r->g) && mono_now() - t0 < seconds) {
        int ready;
        backend_wait(r->b, NULL, 0, 100, &ready);
        backend_pump(r->b);
    }
    r->elapsed = mono_now() - t0;
    return grow_active(r->g);
}

static int run_gen(run *r, const gen_settings *s, int k, double seconds)
{
    char err[300];
    if (grow_start(r->g, r->root, s, k, err, sizeof err) < 0) {
        snprintf(r->last_error, sizeof r->last_error, "start: %s", err);
        return -1;
    }
    return run_loop(r, seconds);
}

static void run_close(run *r)
{
    grow_free(r->g);
    backend_free(r->b);
    tree_free(r->t);
    buf_free(&r->status);
}

static const char *child_text(run *r, int i)
{
    const tree_node *n = tree_get(r->t, r->root);
    if (!n || (uint32_t)i >= n->nchildren)
        return "";
    return tree_get(r->t, n->children[i])->text;
}

static int nchildren(run *r) { return (int)tree_get(r->t, r->root)->nchildren; }

static int incomplete(run *r, int i)
{
    const tree_node *n = tree_get(r->t, r->root);
    return (uint32_t)i < n->nchildren && (tree_get(r->t, n->children[i])->flags & TREE_FLAG_INCOMPLETE);
}

/* Server, settings, backend, one generation: the common shape of these tests. */
typedef struct { server sv; gen_settings s; run r; } fixture;

static int fx_open(fixture *f, const char *server_args, const char *bk, const char *suffix,
                   const char *model)
{
    memset(f, 0, sizeof *f);
    if (server_start(&f->sv, server_args) < 0)
        return -1;
    settings_for(&f->s, bk, f->sv.port, suffix, model);
    return run_open(&f->r, &f->s, NULL);
}

static void fx_close(fixture *f)
{
    run_close(&f->r);
    settings_free(&f->s);
    server_stop(&f->sv);
}

TEST(net_openai_stream_n4_routes_choices)
{
    fixture f;
    REQUIRE(fx_open(&f, "", "openai", "/v1", NULL) == 0);
    CHECK_INT(run_gen(&f.r, &f.s, 4, 10), 0);
    CHECK_INT(nchildren(&f.r), 4);
    CHECK_INT(f.r.dones, 4);
    CHECK_INT(f.r.ends, 1);
    CHECK_INT(f.r.tokens, 32);
    for (int i = 0; i < 4; i++) {
        CHECK(strstr(child_text(&f.r, i), " caf\xc3\xa9") != NULL);   /* é split over 2 tokens */
        CHECK_STR(f.r.finish[i], "length");
    }
    CHECK(strcmp(child_text(&f.r, 0), child_text(&f.r, 1)) != 0);
    CHECK_INT(log_count(&f.sv, "POST /v1/completions"), 1);
    CHECK_INT(log_count(&f.sv, "\"n\":4"), 1);
    CHECK_INT(log_count(&f.sv, "auth=no"), 1);
    const tree_node *n = tree_get(f.r.t, tree_get(f.r.t, f.r.root)->children[0]);
    CHECK_INT(n->ntokens, 8);
    CHECK(n->ntokens && n->tokens[0].ntop == 5);
    CHECK(n->ntokens && !isnan(n->tokens[0].tok.logprob));
    /* One entry per server token: the halves of é keep their own bytes and probability. */
    if (n->ntokens >= 4) {
        size_t l2, l3;
        const char *t2 = tree_token_text(n, 2, &l2), *t3 = tree_token_text(n, 3, &l3);
        CHECK(l2 == 1 && (unsigned char)t2[0] == 0xc3);
        CHECK(l3 == 1 && (unsigned char)t3[0] == 0xa9);
        CHECK(!isnan(n->tokens[2].tok.logprob) && !isnan(n->tokens[3].tok.logprob));
    }
    fx_close(&f);
}

TEST(net_content_shape_chat_and_llamacpp_native)
{
    fixture f;
    REQUIRE(fx_open(&f, "--shape content", "openai", "/v1/", NULL) == 0);   /* trailing slash */
    CHECK_INT(run_gen(&f.r, &f.s, 2, 10), 0);
    CHECK_INT(nchildren(&f.r), 2);
    CHECK(strstr(child_text(&f.r, 1), "caf\xc3\xa9") != NULL);
    CHECK_INT(f.r.tokens, 16);
    fx_close(&f);

    REQUIRE(fx_open(&f, "", "openai-chat", "/v1", NULL) == 0);
    f.s.chat_prefill = 1;
    CHECK_INT(run_gen(&f.r, &f.s, 2, 10), 0);
    CHECK_INT(nchildren(&f.r), 2);
    CHECK(strstr(child_text(&f.r, 0), "caf\xc3\xa9") != NULL);
    CHECK_INT(log_count(&f.sv, "POST /v1/chat/completions"), 1);
    CHECK_INT(log_count(&f.sv, "\"role\":\"assistant\""), 1);
    CHECK_INT(log_count(&f.sv, "\"top_logprobs\":5"), 1);
    fx_close(&f);

    REQUIRE(fx_open(&f, "", "llamacpp", "", NULL) == 0);
    CHECK_INT(run_gen(&f.r, &f.s, 3, 10), 0);
    CHECK_INT(nchildren(&f.r), 3);
    CHECK_INT(f.r.dones, 3);
    CHECK_STR(f.r.finish[0], "length");
    CHECK_INT(log_count(&f.sv, "POST /completion "), 3);   /* native: one request per branch */
    /* One request per branch: the request's seed (a hash of the seed 7 and the parent) plus
     * the branch's index, recorded on each node. */
    long long s0 = grow_seed(7, f.r.root, 0);
    for (int i = 0; i < 3; i++) {
        char want[40];
        snprintf(want, sizeof want, "\"seed\":%lld,", s0 + i);
        CHECK_INT(log_count(&f.sv, want), 1);
        json_t *rec = json_object_get(tree_get(f.r.t, tree_get(f.r.t, f.r.root)->children[i])->extra, "request");
        CHECK(json_integer_value(json_object_get(rec, "seed")) == s0);
        CHECK(json_is_integer(json_object_get(rec, "choice")));
        CHECK_STR(json_string_value(json_object_get(rec, "backend")), "llamacpp");
    }
    CHECK_INT(log_count(&f.sv, "\"top_k\":0"), 3);
    CHECK(strcmp(child_text(&f.r, 0), child_text(&f.r, 2)) != 0);
    fx_close(&f);
}

TEST(net_no_stream)
{
    fixture f;
    REQUIRE(fx_open(&f, "", "openai", "/v1", NULL) == 0);
    f.s.stream = 0;
    CHECK_INT(run_gen(&f.r, &f.s, 3, 10), 0);
    CHECK_INT(nchildren(&f.r), 3);
    CHECK_INT(f.r.tokens, 24);
    CHECK(strstr(child_text(&f.r, 2), "caf\xc3\xa9") != NULL);
    CHECK_INT(log_count(&f.sv, "\"stream\":false"), 1);
    fx_close(&f);
}

static void check_fallback(const char *server_args)
{
    fixture f;
    REQUIRE(fx_open(&f, server_args, "openai", "/v1", NULL) == 0);
    CHECK_INT(run_gen(&f.r, &f.s, 4, 10), 0);
    CHECK_INT(nchildren(&f.r), 4);
    CHECK_INT(f.r.dones, 4);
    CHECK_INT(f.r.errors, 0);
    CHECK(f.r.status.data && strstr(f.r.status.data, "separate") != NULL);
    CHECK(strcmp(child_text(&f.r, 0), child_text(&f.r, 1)) != 0);   /* distinct seeds */
    int first = log_count(&f.sv, "POST");
    /* Remembered: the next request goes straight to separate requests. */
    CHECK_INT(run_gen(&f.r, &f.s, 4, 10), 0);
    CHECK_INT(log_count(&f.sv, "POST") - first, 4);
    CHECK_INT(log_count(&f.sv, "\"n\":4"), 1);
    fx_close(&f);
}

TEST(net_n_refused_500_falls_back_and_remembers) { check_fallback("--refuse-n 500"); }
TEST(net_n_refused_400_falls_back) { check_fallback("--refuse-n 400"); }
TEST(net_n_ignored_missing_choices_requested) { check_fallback("--refuse-n ignore"); }

TEST(net_429_then_success_honours_retry_after)
{
    fixture f;
    REQUIRE(fx_open(&f, "--fault 429", "openai", "/v1", NULL) == 0);
    CHECK_INT(run_gen(&f.r, &f.s, 2, 10), 0);
    CHECK_INT(f.r.dones, 2);
    CHECK_INT(f.r.errors, 0);
    CHECK(f.r.elapsed >= 0.95);   /* Retry-After: 1 */
    CHECK(f.r.status.data && strstr(f.r.status.data, "429: rate limited") && strstr(f.r.status.data, "retrying"));
    CHECK_INT(log_count(&f.sv, "POST"), 2);
    fx_close(&f);
}

TEST(net_500_then_success_and_503_with_http_date)
{
    fixture f;
    REQUIRE(fx_open(&f, "--fault 500", "openai", "/v1", NULL) == 0);
    CHECK_INT(run_gen(&f.r, &f.s, 2, 10), 0);
    CHECK_INT(f.r.dones, 2);
    CHECK_INT(log_count(&f.sv, "POST"), 2);
    fx_close(&f);
    REQUIRE(fx_open(&f, "--fault 503date", "openai", "/v1", NULL) == 0);
    CHECK_INT(run_gen(&f.r, &f.s, 1, 10), 0);
    CHECK_INT(f.r.dones, 1);
    CHECK(f.r.elapsed >= 0.9);   /* the date was ~2 s ahead (1 s resolution) */
    fx_close(&f);
}

/* Answers termloom cannot use say what they are, at once: a redirect (not followed), a
 * Retry-After of 31 years (not waited for), a header line of 1 MiB (was "Out of memory"). */
TEST(net_redirect_long_retry_after_and_huge_header_are_named)
{
    fixture f;
    REQUIRE(fx_open(&f, "--fault 302:0", "openai", "/v1", NULL) == 0);
    CHECK_INT(run_gen(&f.r, &f.s, 1, 10), 0);
    CHECK_INT(f.r.errors, 1);
    CHECKF(strstr(f.r.last_error, "302: a redirect, not followed") != NULL, "%s", f.r.last_error);
    fx_close(&f);
    REQUIRE(fx_open(&f, "--fault 429long:0", "openai", "/v1", NULL) == 0);
    CHECK_INT(run_gen(&f.r, &f.s, 1, 10), 0);
    CHECK_INT(f.r.errors, 1);
    CHECKF(strstr(f.r.last_error, "the server asks to wait 999999999 s") && strstr(f.r.last_error, "not retried"),
           "%s", f.r.last_error);
    CHECK_INT(log_count(&f.sv, "POST"), 1);
    fx_close(&f);
    REQUIRE(fx_open(&f, "--fault hugeheader:0", "openai", "/v1", NULL) == 0);
    CHECK_INT(run_gen(&f.r, &f.s, 1, 10), 0);
    CHECK_INT(f.r.errors, 1);
    CHECKF(strstr(f.r.last_error, "header") != NULL && !strstr(f.r.last_error, "memory"), "%s", f.r.last_error);
    fx_close(&f);
}

/* A server that ignores max_tokens: the client stops each branch at max_tokens itself. */
TEST(net_max_tokens_enforced_by_the_client)
{
    fixture f;
    REQUIRE(fx_open(&f, "--fault endless:0", "openai", "/v1", NULL) == 0);
    CHECK_INT(run_gen(&f.r, &f.s, 2, 10), 0);
    CHECK_INT(f.r.dones, 2);
    for (int i = 0; i < 2; i++) {
        const tree_node *n = tree_get(f.r.t, tree_get(f.r.t, f.r.root)->children[i]);
        CHECK(n && n->ntokens == 8);
        CHECK_STR(f.r.finish[i], "length");
    }
    fx_close(&f);
}

TEST(net_no_retry_for_401_and_quota)
{
    fixture f;
    REQUIRE(fx_open(&f, "--key sk-right", "openai", "/v1", NULL) == 0);
    run_close(&f.r);
    run_open(&f.r, &f.s, "sk-wrong-key");
    CHECK_INT(run_gen(&f.r, &f.s, 2, 10), 0);
    CHECK_INT(f.r.errors, 2);
    CHECK_STR(f.r.last_error, "401: the API key was refused (Incorrect API key provided)");
    CHECK_INT(log_count(&f.sv, "POST"), 1);
    CHECK_INT(log_count(&f.sv, "auth=yes"), 1);
    fx_close(&f);

    REQUIRE(fx_open(&f, "--fault quota:0", "openai", "/v1", NULL) == 0);
    CHECK_INT(run_gen(&f.r, &f.s, 1, 10), 0);
    CHECK_INT(f.r.errors, 1);
    CHECK_STR(f.r.last_error, "429: quota exhausted (You exceeded your current quota)");
    CHECK_INT(log_count(&f.sv, "POST"), 1);
    fx_close(&f);
}

TEST(net_right_key_is_accepted)
{
    fixture f;
    REQUIRE(fx_open(&f, "--key sk-right", "openai", "/v1", NULL) == 0);
    run_close(&f.r);
    run_open(&f.r, &f.s, "sk-right");
    CHECK_INT(run_gen(&f.r, &f.s, 1, 10), 0);
    CHECK_INT(f.r.dones, 1);
    fx_close(&f);
}

TEST(net_key_never_in_messages)
{
    fixture f;
    REQUIRE(fx_open(&f, "--fault echokey:0", "openai", "/v1", NULL) == 0);
    run_close(&f.r);
    run_open(&f.r, &f.s, "sk-secret-4242-abcdef");
    CHECK_INT(run_gen(&f.r, &f.s, 1, 10), 0);
    CHECK_INT(f.r.errors, 1);
    CHECK(strstr(f.r.last_error, "401") != NULL);
    CHECK(strstr(f.r.last_error, "sk-secret-4242-abcdef") == NULL);
    CHECK(strstr(f.r.last_error, "[api key]") != NULL);
    fx_close(&f);
}

/* A branch that fails part way keeps its text, flagged incomplete with finish "error". */
static void check_partial(const char *fault, const char *message_part)
{
    fixture f;
    char args[64];
    snprintf(args, sizeof args, "--fault %s:0", fault);
    REQUIRE(fx_open(&f, args, "openai", "/v1", NULL) == 0);
    CHECK_INT(run_gen(&f.r, &f.s, 2, 10), 0);
    CHECK_INT(f.r.errors, 2);
    CHECK_INT(nchildren(&f.r), 2);
    for (int i = 0; i < 2; i++) {
        CHECK(incomplete(&f.r, i));
        CHECK(strlen(child_text(&f.r, i)) > 0);
        CHECK_STR(tree_finish(f.r.t, tree_get(f.r.t, f.r.root)->children[i]), "error");
    }
    CHECKF(strstr(f.r.last_error, message_part) != NULL, "%s: '%s'", fault, f.r.last_error);
    CHECK_INT(log_count(&f.sv, "POST"), 1);   /* never retried after text arrived */
    fx_close(&f);
}

TEST(net_truncated_stream_keeps_partial) { check_partial("truncate", "mid-response"); }
TEST(net_midstream_error_event_keeps_partial) { check_partial("midstream", "model overloaded mid-stream"); }
TEST(net_malformed_json_chunk_keeps_partial) { check_partial("badjson", "malformed JSON"); }
TEST(net_reset_mid_stream_keeps_partial) { check_partial("resetmid", "mid-response"); }

TEST(net_connection_reset_is_retried)
{
    fixture f;
    REQUIRE(fx_open(&f, "--fault reset", "openai", "/v1", NULL) == 0);
    CHECK_INT(run_gen(&f.r, &f.s, 2, 10), 0);
    CHECK_INT(f.r.dones, 2);
    CHECK_INT(f.r.errors, 0);
    CHECK(f.r.status.data && strstr(f.r.status.data, "retrying"));
    fx_close(&f);
}

TEST(net_bad_bodies_never_crash)
{
    const char *faults[] = { "html:0", "huge:0", "hugeevent:0", "badjson:0" };
    const char *want[] = { "unexpected content type 'text/html' (Welcome to nginx!)",
                           "larger than 32 MiB", "larger than 8 MiB", "not valid JSON" };
    for (int i = 0; i < 4; i++) {
        fixture f;
        char args[64];
        snprintf(args, sizeof args, "--fault %s", faults[i]);
        REQUIRE(fx_open(&f, args, "openai", "/v1", NULL) == 0);
        f.s.stream = i == 2;
        CHECK_INT(run_gen(&f.r, &f.s, 1, 15), 0);
        CHECK_INT(f.r.errors, 1);
        CHECKF(strstr(f.r.last_error, want[i]) != NULL, "%s: '%s'", faults[i], f.r.last_error);
        fx_close(&f);
    }
}

TEST(net_idle_timeout_not_total)
{
    setenv("TERMLOOM_IDLE_TIMEOUT", "1", 1);
    fixture f;
    REQUIRE(fx_open(&f, "--drip 150", "openai", "/v1", NULL) == 0);   /* slow but steady */
    f.s.max_tokens = 12;   /* ~1.8 s in all: longer than the idle timeout */
    CHECK_INT(run_gen(&f.r, &f.s, 1, 10), 0);
    CHECK_INT(f.r.dones, 1);
    CHECK(f.r.elapsed > 1.5);
    fx_close(&f);
    REQUIRE(fx_open(&f, "--fault stall:0", "openai", "/v1", NULL) == 0);
    CHECK_INT(run_gen(&f.r, &f.s, 1, 20), 0);
    CHECK_INT(f.r.errors, 1);
    CHECK(strstr(f.r.last_error, "idle timeout") != NULL);
    fx_close(&f);
    unsetenv("TERMLOOM_IDLE_TIMEOUT");
}

TEST(net_cancel_stops_every_transfer_at_once)
{
    fixture f;
    REQUIRE(fx_open(&f, "--latency 3000 --refuse-n ignore", "openai", "/v1", NULL) == 0);
    f.s.has_seed = 0;
    char err[200];
    REQUIRE(grow_start(f.r.g, f.r.root, &f.s, 3, err, sizeof err) > 0);
    double t0 = mono_now();
    while (mono_now() - t0 < 0.3) {
        int ready;
        backend_wait(f.r.b, NULL, 0, 50, &ready);
        backend_pump(f.r.b);
    }
    backend_cancel(f.r.b, 0);
    CHECK_INT(run_loop(&f.r, 1), 0);
    CHECK(f.r.elapsed < 0.5);
    CHECK_INT(f.r.errors, 3);
    CHECK_STR(f.r.finish[0], "cancelled");
    CHECK_STR(f.r.finish[2], "cancelled");
    fx_close(&f);
}

TEST(net_concurrency_caps_transfers)
{
    fixture f;
    REQUIRE(fx_open(&f, "--latency 250 --refuse-n 500", "llamacpp", "", NULL) == 0);
    f.s.concurrency = 1;
    f.s.max_tokens = 2;
    CHECK_INT(run_gen(&f.r, &f.s, 3, 10), 0);
    CHECK_INT(f.r.dones, 3);
    CHECK(f.r.elapsed >= 0.74);   /* one after another */
    double serial = f.r.elapsed;
    run_close(&f.r);
    f.s.concurrency = 8;
    run_open(&f.r, &f.s, NULL);
    CHECK_INT(run_gen(&f.r, &f.s, 3, 10), 0);
    CHECK(f.r.elapsed < serial / 2);
    fx_close(&f);
}

TEST(net_wait_reports_the_callers_descriptor)
{
    gen_settings s;
    settings_init(&s);
    free(s.backend);
    s.backend = xstrdup("openai");
    char err[200];
    backend *b = net_backend_new(&s, NULL, err, sizeof err);
    REQUIRE(b);
    int p[2];
    REQUIRE(pipe(p) == 0);
    int fds[2] = { p[0], p[0] };
    int ready = -2;
    double t0 = mono_now();
    CHECK_INT(backend_wait(b, fds, 1, 100, &ready), 0);
    CHECK(mono_now() - t0 >= 0.09);
    CHECK(write(p[1], "x", 1) == 1);
    CHECK_INT(backend_wait(b, fds, 2, 1000, &ready), 1);
    CHECK_INT(ready, 0);
    close(p[0]);
    close(p[1]);
    backend_free(b);
    settings_free(&s);
}

TEST(net_bad_settings_are_one_line_errors)
{
    gen_settings s;
    settings_init(&s);
    char err[200] = "";
    CHECK(net_backend_new(&s, NULL, err, sizeof err) == NULL);   /* builtin is not HTTP */
    free(s.backend);
    s.backend = xstrdup("openai");
    backend *b = net_backend_new(&s, NULL, err, sizeof err);
    REQUIRE(b);
    s.base_url = xstrdup("ftp://x");
    CHECK_INT(backend_start(b, "x", 1, &s, 1, err, sizeof err), -1);
    CHECK(strstr(err, "--base-url") != NULL);
    free(s.base_url);
    s.base_url = xstrdup("http://127.0.0.1:9/v1");
    s.extra_json = xstrdup("{not json");
    CHECK_INT(backend_start(b, "x", 1, &s, 1, err, sizeof err), -1);
    CHECK(strstr(err, "extra-json") != NULL);
    CHECK_INT(backend_pump(b), 0);
    backend_free(b);
    settings_free(&s);
}

TEST(net_replayed_llamacpp_streams)
{
    const char *fx = test_fixture("llamacpp/v1_completions_stream.sse");
    REQUIRE(fx);
    char args[600];
    snprintf(args, sizeof args, "--replay %s", fx);
    fixture f;
    REQUIRE(fx_open(&f, args, "openai", "/v1", NULL) == 0);
    CHECK_INT(run_gen(&f.r, &f.s, 1, 10), 0);
    CHECK_STR(child_text(&f.r, 0), "\nMethinks I");
    CHECK_STR(f.r.finish[0], "length");
    CHECK_STR(tree_model(f.r.t, tree_get(f.r.t, f.r.root)->children[0]), "gpt-3.5-turbo");
    fx_close(&f);

    fx = test_fixture("llamacpp/completion_stream.sse");
    REQUIRE(fx);
    snprintf(args, sizeof args, "--replay %s", fx);
    REQUIRE(fx_open(&f, args, "llamacpp", "", NULL) == 0);
    CHECK_INT(run_gen(&f.r, &f.s, 1, 10), 0);
    CHECK_STR(child_text(&f.r, 0), "\nAlas, that");
    CHECK_INT(f.r.dones, 1);
    fx_close(&f);

    fx = test_fixture("llamacpp/error_echo_unsupported.http");
    REQUIRE(fx);
    snprintf(args, sizeof args, "--replay %s", fx);
    REQUIRE(fx_open(&f, args, "openai", "/v1", NULL) == 0);
    f.s.stream = 0;
    setenv("TERMLOOM_IDLE_TIMEOUT", "5", 1);
    CHECK_INT(run_gen(&f.r, &f.s, 1, 15), 0);   /* a 500 is retried, then reported */
    CHECK_INT(f.r.errors, 1);
    CHECK_STR(f.r.last_error, "500: server error (Unsupported param: echo) after 4 attempts");
    unsetenv("TERMLOOM_IDLE_TIMEOUT");
    fx_close(&f);
}

TEST(net_cancel_mid_stream_keeps_partial_text)
{
    fixture f;
    REQUIRE(fx_open(&f, "--drip 100", "openai", "/v1", NULL) == 0);
    f.s.max_tokens = 40;
    char err[200];
    REQUIRE(grow_start(f.r.g, f.r.root, &f.s, 2, err, sizeof err) > 0);
    double t0 = mono_now();
    while (mono_now() - t0 < 0.8) {
        int ready;
        backend_wait(f.r.b, NULL, 0, 50, &ready);
        backend_pump(f.r.b);
    }
    grow_cancel_all(f.r.g);
    CHECK_INT(grow_active(f.r.g), 0);
    CHECK_INT(f.r.errors, 2);
    CHECK_INT(nchildren(&f.r), 2);
    for (int i = 0; i < 2; i++) {
        CHECK(strstr(child_text(&f.r, i), "caf\xc3\xa9") != NULL);   /* what arrived stays */
        CHECK(incomplete(&f.r, i));
        CHECK_STR(tree_finish(f.r.t, tree_get(f.r.t, f.r.root)->children[i]), "cancelled");
    }
    CHECK(f.r.tokens < 80);
    fx_close(&f);
}

TEST(net_connection_is_reused_between_requests)
{
    fixture f;
    REQUIRE(fx_open(&f, "", "openai", "/v1", NULL) == 0);
    for (int i = 0; i < 6; i++) {
        CHECK_INT(run_gen(&f.r, &f.s, 4, 10), 0);
        for (int k = 0; k < 10; k++) {       /* a moment, as between a user's keys: the */
            int ready;                       /* stream's last bytes are read meanwhile */
            backend_wait(f.r.b, NULL, 0, 20, &ready);
            backend_pump(f.r.b);
        }
    }
    CHECK_INT(f.r.dones, 24);
    CHECK_INT(log_count(&f.sv, "POST"), 6);
    /* The stream's end is read, not cut, so the connection is reused.  A next request that
     * starts before curl has read the last chunk terminator may open another one on a
     * loaded machine; a client that cut every stream would open six. */
    CHECK(log_count(&f.sv, "ACCEPT") <= 3);
    fx_close(&f);
}

/* One wait over two HTTP backends: a silent side (its server answers after 3 s) does not
 * hold up the other, whose whole generation is waited for and delivered meanwhile, and a
 * wait with nothing ready ends at its timeout, not before. */
TEST(net_wait_many_serves_both_backends)
{
    server sv;
    REQUIRE(server_start(&sv, "") == 0);
    gen_settings slow, fast;
    settings_for(&slow, "openai", sv.port, "/v1", "m;latency=3000");
    settings_for(&fast, "openai", sv.port, "/v1", "m");
    run a, b;
    REQUIRE(run_open(&a, &slow, NULL) == 0);
    REQUIRE(run_open(&b, &fast, NULL) == 0);
    char err[300];
    REQUIRE(grow_start(a.g, a.root, &slow, 2, err, sizeof err) >= 0);
    REQUIRE(grow_start(b.g, b.root, &fast, 2, err, sizeof err) >= 0);
    backend *bs[2] = { a.b, b.b };
    double t0 = mono_now();
    int turns = 0;
    while (b.ends == 0 && mono_now() - t0 < 10 && turns++ < 100000) {
        backend_wait_many(bs, 2, NULL, 0, 5000, NULL);
        backend_pump(a.b);
        backend_pump(b.b);
    }
    CHECK_INT(b.ends, 1);
    CHECK_INT(b.dones, 2);
    CHECK_INT(a.ends, 0);                     /* the slow side is still waiting */
    CHECK(grow_active(a.g) == 1);
    /* Nothing is due for 300 ms (the slow server sleeps on): the waits sleep, they do not
     * spin (a slice-polling loop would wake every few milliseconds). */
    double t1 = mono_now();
    int wakes = 0;
    while (mono_now() - t1 < 0.3) {
        if (backend_wait_many(bs, 2, NULL, 0, 300, NULL))
            wakes++;
        backend_pump(a.b);
        backend_pump(b.b);
    }
    CHECKF(wakes <= 5, "%d wake-ups in 300 ms with nothing to do", wakes);
    while (a.ends == 0 && mono_now() - t0 < 10 && turns++ < 100000) {
        backend_wait_many(bs, 2, NULL, 0, 5000, NULL);
        backend_pump(a.b);
        backend_pump(b.b);
    }
    CHECK_INT(a.dones, 2);
    CHECK(turns < 100000);
    run_close(&a);
    run_close(&b);
    settings_free(&slow);
    settings_free(&fast);
    server_stop(&sv);
}
