/* tests/tools/testserver.c — an OpenAI-compatible HTTP/1.1 server for the tests and the
 * benchmark.  One thread, sockets + poll; many connections at once.
 *
 *   testserver [--lifetime S] [--idle S] [--latency MS] [--drip MS] [--shape legacy|content|together]
 *              [--refuse-n 500|400|ignore] [--key KEY] [--fault MODE[:COUNT]] [--replay FILE]
 *              [--log FILE] [--n-vocab N]
 *
 * Binds 127.0.0.1 on a free port and prints the port as the first line of stdout.  --log
 * appends one line per request ("POST path auth=yes|no BODY", or "GET path") and per connection ("ACCEPT").  Exits by
 * itself after --lifetime seconds (default 60) or --idle seconds without a connection
 * (default 20).  Serves POST .../completions (legacy logprobs by default), .../chat/completions
 * (content shape, delta.content), .../completion (llama.cpp native: completion_probabilities,
 * a final "stop": true chunk and no [DONE]); streaming or not; n honoured (choices interleave)
 * unless --refuse-n.  Text is deterministic from (seed, choice): token 2 is always "café"'s
 * "é" split over two tokens, to exercise UTF-8 hold-back.
 *
 * A model name holding ";same=1" answers one text for every choice and request (a collapsed
 * model, for `termloom compare`); ";dist=p|q" samples a known distribution, and scoring
 * given text (echo, prompt_logprobs) is answered under it: see testserver_dist.h.
 * ";calib=honest" draws the first token from a known
 * distribution and reports it exactly; ";calib=cold" reports the same but samples at
 * temperature 0.5 — a server that samples otherwise than it reports (core/calib flags it).
 * Faults, from --fault or per request from the model name ("m;fault=429;latency=300"):
 *   endless (ignores max_tokens: 20000 tokens), 429 (Retry-After: 1), 429long (Retry-After: 999999999), 302 (a redirect), hugeheader (a
 *   1 MiB header line), 500, 503date (Retry-After as an HTTP date), quota (429
 *   insufficient_quota), 401, echokey (401 quoting the key it got), truncate (stream cut after
 *   3 tokens), badjson, midstream (an error event after 2 tokens), reset (connection reset
 *   before answering), resetmid (reset after 2 tokens), stall (3 s pauses after 2 tokens), html (200 text/html),
 *   huge (a 40 MiB body), hugeevent (a 10 MiB event).
 * COUNT: the fault hits the first COUNT matching requests (default 1; 0 = every one), then
 * requests succeed — "429 then success". */
#include "core/mem.h"
#include "core/mono.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { SEG_DATA, SEG_CLOSE, SEG_RESET };
typedef struct { double delay; int action; char *data; size_t len; } seg;

typedef struct {
    int    fd;
    buf    in;
    seg   *segs;
    size_t nsegs, cap, head;
    buf    out;
    size_t out_off;
    double next_at;
    int    busy;      /* a response is being sent */
} conn;

static struct {
    double lifetime, idle, latency, drip;
    const char *shape, *refuse_n, *key, *replay, *log;
    char  fault[32];
    int   fault_count;
    long  n_vocab;    /* GET .../models reports it as llama.cpp does (meta.n_vocab); 0: no meta */
} opt = { 60, 20, 0, 0, "legacy", NULL, NULL, NULL, NULL, "", 1, 0 };

typedef struct { char name[32]; int hits; } fault_hits;
static fault_hits hits[32];
static size_t nhits;

/* Does the fault fire for this request?  Counts per fault name. */
static int fault_fires(const char *name, int count)
{
    size_t i;
    for (i = 0; i < nhits; i++)
        if (!strcmp(hits[i].name, name))
            break;
    if (i == nhits) {
        if (nhits == 32)
            return 0;
        snprintf(hits[nhits++].name, sizeof hits[0].name, "%s", name);
    }
    if (count > 0 && hits[i].hits >= count)
        return 0;
    hits[i].hits++;
    return 1;
}

static void add_seg(conn *c, double delay_ms, int action, const char *data, size_t len)
{
    xgrow(&c->segs, &c->cap, c->nsegs + 1, sizeof *c->segs);
    c->segs[c->nsegs++] = (seg){ delay_ms, action, len ? xstrndup(data, len) : NULL, len };
}

static void add_chunk(conn *c, double delay_ms, const char *data, size_t len)
{
    char *s = xasprintf("%zx\r\n%.*s\r\n", len, (int)len, data);
    add_seg(c, delay_ms, SEG_DATA, s, strlen(s));
    free(s);
}

static void add_response(conn *c, double delay_ms, int status, const char *reason, const char *ctype,
                         const char *extra_headers, const char *body, size_t len)
{
    char *s = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
                        status, reason, ctype, len, extra_headers ? extra_headers : "");
    buf b = { 0 };
    buf_adds(&b, s);
    buf_add(&b, body, len);
    add_seg(c, delay_ms, SEG_DATA, b.data, b.len);
    buf_free(&b);
    free(s);
}

static void error_response(conn *c, double delay, int status, const char *reason, const char *msg,
                           const char *code, const char *headers)
{
    json_t *e = json_pack("{s:{s:s,s:s,s:s}}", "error", "message", msg, "type",
                          status >= 500 ? "server_error" : "invalid_request_error", "code", code);
    char *body = json_dumps(e, JSON_COMPACT);
    add_response(c, delay, status, reason, "application/json; charset=utf-8", headers, body, strlen(body));
    free(body);
    json_decref(e);
}

/* ---- generated text ---- */

static const char *const words[] = { " the", " loom", " wove", " a", " thread", " of", " light",
                                     " and", " night", ",", " slow", " river", ".", " we", " sang" };

typedef struct { char text[16]; unsigned char bytes[16]; size_t nbytes; double lp; int lossy; int calib; } gtok;

static unsigned mix(unsigned a, unsigned b)
{
    unsigned h = a * 2654435761u ^ (b + 0x9e3779b9u + (a << 6) + (a >> 2));
    h ^= h >> 15;
    h *= 2246822519u;
    return h ^ (h >> 13);
}

static gtok gen_token(long long seed, int choice, int i)
{
    gtok t = { 0 };
    unsigned h = mix(mix((unsigned)seed, (unsigned)choice + 1), (unsigned)i + 7);
    if (i == 1)
        snprintf(t.text, sizeof t.text, " caf");
    else if (i == 2 || i == 3) {   /* é = c3 a9, one byte per token */
        t.bytes[0] = i == 2 ? 0xc3 : 0xa9;
        t.nbytes = 1;
        t.lossy = 1;
    } else
        snprintf(t.text, sizeof t.text, "%s", words[h % (sizeof words / sizeof *words)]);
    if (!t.lossy) {
        t.nbytes = strlen(t.text);
        memcpy(t.bytes, t.text, t.nbytes);
    }
    t.lp = -0.05 - (double)(h % 40) / 10.0;
    return t;
}

/* ---- calibration (";calib=honest|cold"): the first token comes from a known distribution,
 * p_j ∝ 0.6^j over words[j], reported exactly (the alternatives are its top ones); "honest"
 * samples it, "cold" samples p² renormalized (temperature 0.5) while reporting p. ---- */

enum { CALIB_OFF, CALIB_HONEST, CALIB_COLD };
#define NWORDS (sizeof words / sizeof *words)

static double calib_lp(size_t j, int power)
{
    double z = 0;
    for (size_t i = 0; i < NWORDS; i++)
        z += pow(0.6, (double)(i * (size_t)power));
    return (double)(j * (size_t)power) * log(0.6) - log(z);
}

static gtok calib_token(long long seed, int choice, int mode)
{
    gtok t = { 0 };
    unsigned long long z = (unsigned long long)seed * 0x9e3779b97f4a7c15ull + (unsigned long long)choice + 1;
    for (int r = 0; r < 2; r++) {       /* splitmix64: consecutive seeds give unrelated draws */
        z += 0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
    }
    double u = (double)(z >> 11) / 9007199254740992.0, acc = 0;
    size_t j = 0;
    for (; j + 1 < NWORDS; j++) {
        acc += exp(calib_lp(j, mode == CALIB_COLD ? 2 : 1));
        if (u < acc)
            break;
    }
    snprintf(t.text, sizeof t.text, "%s", words[j]);
    t.nbytes = strlen(t.text);
    memcpy(t.bytes, t.text, t.nbytes);
    t.lp = calib_lp(j, 1);
    t.calib = 1;
    return t;
}

static json_t *bytes_array(const unsigned char *b, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer(b[i]));
    return a;
}

/* The alternatives: the token and ntop-1 others, lower. */
static json_t *content_entry(const gtok *t, int ntop)
{
    json_t *e = json_object();
    json_object_set_new(e, "token", json_string(t->lossy ? "\xef\xbf\xbd" : t->text));
    json_object_set_new(e, "bytes", bytes_array(t->bytes, t->nbytes));
    json_object_set_new(e, "logprob", json_real(t->lp));
    json_t *top = json_array();
    for (int j = 0; j < ntop; j++) {
        json_t *a = json_object();
        const char *w = t->calib ? words[j % NWORDS] : j == 0 ? (t->lossy ? "\xef\xbf\xbd" : t->text) : words[j % 15];
        json_object_set_new(a, "token", json_string(w));
        json_object_set_new(a, "logprob", json_real(t->calib ? calib_lp((size_t)j % NWORDS, 1) : j == 0 ? t->lp : t->lp - j));
        json_array_append_new(top, a);
    }
    json_object_set_new(e, "top_logprobs", top);
    return e;
}

static json_t *legacy_logprobs(const gtok *toks, int n, int ntop, int together)
{
    json_t *lp = json_object(), *tk = json_array(), *tl = json_array(), *tp = json_array();
    for (int i = 0; i < n; i++) {
        char text[32];
        if (toks[i].lossy)
            snprintf(text, sizeof text, "bytes:\\x%02x", toks[i].bytes[0]);
        else
            snprintf(text, sizeof text, "%s", toks[i].text);
        json_array_append_new(tk, json_string(text));
        json_array_append_new(tl, json_real(toks[i].lp));
        json_t *o = json_object();
        json_object_set_new(o, text, json_real(toks[i].lp));
        if (toks[i].calib) {             /* the distribution's top ntop, as a server reports it */
            json_object_clear(o);
            for (int j = 0; j < ntop && j < (int)NWORDS; j++)
                json_object_set_new(o, words[j], json_real(calib_lp((size_t)j, 1)));
        }
        for (int j = 1, w = 1; !toks[i].calib && j < ntop && w < 40; w++)   /* ntop distinct keys: skip the token's */
            if (strcmp(words[w % 15], text)) {
                json_object_set_new(o, words[w % 15], json_real(toks[i].lp - j));
                j++;
            }
        json_array_append_new(tp, o);
    }
    json_object_set_new(lp, "tokens", tk);
    json_object_set_new(lp, "token_logprobs", tl);
    if (together && n == 1)
        json_object_set(lp, "top_logprobs", json_array_get(tp, 0));
    else
        json_object_set(lp, "top_logprobs", tp);
    json_decref(tp);
    return lp;
}

static void text_of(const gtok *toks, int n, buf *out)
{
    for (int i = 0; i < n; i++)
        if (!toks[i].lossy)
            buf_adds(out, toks[i].text);
        else if (toks[i].bytes[0] == 0xa9)
            buf_adds(out, "\xc3\xa9");   /* the character is released whole with its last byte */
}

enum { EP_COMPLETIONS, EP_CHAT, EP_NATIVE };

/* One response object: choice `choice` with toks (stream: a chunk). */
static json_t *piece(int ep, int choice, const gtok *toks, int n, int ntop, const char *finish,
                     const char *model, int stream)
{
    buf text = { 0 };
    text_of(toks, n, &text);
    buf_adds(&text, "");
    int content_shape = ep != EP_COMPLETIONS || !strcmp(opt.shape, "content");
    json_t *lp = NULL;
    if (ntop > 0 && n > 0) {
        if (content_shape) {
            json_t *arr = json_array();
            for (int i = 0; i < n; i++)
                json_array_append_new(arr, content_entry(&toks[i], ntop));
            lp = arr;
        } else {
            lp = legacy_logprobs(toks, n, ntop, !strcmp(opt.shape, "together"));
        }
    }
    json_t *o = json_object();
    if (ep == EP_NATIVE) {
        json_object_set_new(o, "index", json_integer(0));
        json_object_set_new(o, "content", json_string(text.data));
        json_object_set_new(o, "stop", json_boolean(finish != NULL));
        if (finish)
            json_object_set_new(o, "stop_type", json_string(!strcmp(finish, "length") ? "limit" : "eos"));
        json_object_set_new(o, "completion_probabilities", lp ? lp : json_array());
        json_object_set_new(o, "model", json_string(model));
        buf_free(&text);
        return o;
    }
    json_t *c = json_object();
    json_object_set_new(c, "index", json_integer(choice));
    if (ep == EP_CHAT) {
        json_t *m = json_object();
        if (n || !stream)
            json_object_set_new(m, "content", json_string(text.data));
        json_object_set_new(c, stream ? "delta" : "message", m);
    } else {
        json_object_set_new(c, "text", json_string(text.data));
    }
    if (lp && content_shape) {
        json_t *w = json_object();
        json_object_set_new(w, "content", lp);
        lp = w;
    }
    json_object_set_new(c, "logprobs", lp ? lp : json_null());
    json_object_set_new(c, "finish_reason", finish ? json_string(finish) : json_null());
    json_t *choices = json_array();
    json_array_append_new(choices, c);
    json_object_set_new(o, "choices", choices);
    json_object_set_new(o, "model", json_string(model));
    json_object_set_new(o, "object", json_string(ep == EP_CHAT ? "chat.completion.chunk" : "text_completion"));
    buf_free(&text);
    return o;
}

static void add_event(conn *c, double delay, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    char *ev = xasprintf("data: %s\n\n", s);
    add_chunk(c, delay, ev, strlen(ev));
    free(ev);
    free(s);
    json_decref(o);
}

#include "testserver_dist.h"

/* The request's own settings: "m;fault=429:2;latency=300;drip=50". */
typedef struct { char fault[32]; int fault_count; double latency, drip; int same, calib; } req_opts;

static req_opts request_opts(const char *model)
{
    req_opts r = { "", opt.fault_count, opt.latency, opt.drip, 0, CALIB_OFF };
    snprintf(r.fault, sizeof r.fault, "%s", opt.fault);
    for (const char *p = model ? strchr(model, ';') : NULL; p; p = strchr(p + 1, ';')) {
        char k[32] = "", v[32] = "";
        if (sscanf(p + 1, "%31[^=;]=%31[^;]", k, v) != 2)
            continue;
        if (!strcmp(k, "fault")) {
            char *colon = strchr(v, ':');
            r.fault_count = colon ? atoi(colon + 1) : 1;
            if (colon)
                *colon = '\0';
            snprintf(r.fault, sizeof r.fault, "%s", v);
        } else if (!strcmp(k, "latency")) {
            r.latency = atof(v);
        } else if (!strcmp(k, "drip")) {
            r.drip = atof(v);
        } else if (!strcmp(k, "same")) {   /* a collapsed model: one text for every choice */
            r.same = atoi(v);
        } else if (!strcmp(k, "calib")) {
            r.calib = !strcmp(v, "cold") ? CALIB_COLD : !strcmp(v, "honest") ? CALIB_HONEST : CALIB_OFF;
        }
    }
    return r;
}

static void log_line(const char *line)
{
    FILE *f = opt.log ? fopen(opt.log, "a") : NULL;
    if (!f)
        return;
    fprintf(f, "%s\n", line);
    fclose(f);
}

static void log_request(const char *method, const char *path, const char *body, int auth)
{
    char *line = strcmp(method, "POST") ? xasprintf("%s %s", method, path)
                                        : xasprintf("POST %s auth=%s %s", path, auth ? "yes" : "no", body);
    log_line(line);
    free(line);
}

static void serve_replay(conn *c, double latency)
{
    FILE *f = fopen(opt.replay, "rb");
    buf b = { 0 };
    char tmp[65536];
    size_t n;
    while (f && (n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_add(&b, tmp, n);
    if (f)
        fclose(f);
    if (!b.len) {
        error_response(c, latency, 500, "Internal Server Error", "replay file unreadable", "replay", NULL);
    } else if (!strncmp(b.data, "HTTP/", 5)) {
        add_seg(c, latency, SEG_DATA, b.data, b.len);
    } else if (strstr(opt.replay, ".sse")) {
        const char *h = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
        add_seg(c, latency, SEG_DATA, h, strlen(h));
        for (size_t i = 0; i < b.len; i += 100)   /* in pieces that split events */
            add_chunk(c, 0, b.data + i, b.len - i < 100 ? b.len - i : 100);
        add_seg(c, 0, SEG_DATA, "0\r\n\r\n", 5);
    } else {
        add_response(c, latency, 200, "OK", "application/json", NULL, b.data, b.len);
    }
    buf_free(&b);
}

/* GET .../models: llama.cpp's shape, with meta.n_vocab when --n-vocab is set (OpenAI's and
 * vLLM's lists have no vocabulary size). */
static void serve_models(conn *c, double latency)
{
    char *m = opt.n_vocab > 0
        ? xasprintf("{\"object\":\"list\",\"data\":[{\"id\":\"test-model\",\"object\":\"model\",\"owned_by\":\"llamacpp\","
                    "\"meta\":{\"vocab_type\":2,\"n_vocab\":%ld,\"n_ctx_train\":512}}]}", opt.n_vocab)
        : xstrdup("{\"object\":\"list\",\"data\":[{\"id\":\"test-model\",\"object\":\"model\",\"owned_by\":\"system\"}]}");
    add_response(c, latency, 200, "OK", "application/json", NULL, m, strlen(m));
    free(m);
}

static void handle(conn *c, const char *method, const char *path, const char *auth, const char *body, size_t blen)
{
    json_t *req = json_loadb(body, blen, 0, NULL);
    const char *model = json_string_value(json_object_get(req, "model"));
    req_opts ro = request_opts(model);
    char *compact = req ? json_dumps(req, JSON_COMPACT) : xstrdup("(not JSON)");
    log_request(method, path, compact, auth != NULL);
    free(compact);
    size_t pl = strlen(path);
    int ep = pl >= 17 && !strcmp(path + pl - 17, "/chat/completions") ? EP_CHAT
           : pl >= 12 && !strcmp(path + pl - 12, "/completions") ? EP_COMPLETIONS
           : pl >= 11 && !strcmp(path + pl - 11, "/completion") ? EP_NATIVE : -1;
    char want[300] = "";
    if (opt.key)
        snprintf(want, sizeof want, "Bearer %s", opt.key);
    /* Faults are for generation requests: a GET does not use up a fault's count. */
    const char *f = !strcmp(method, "POST") && ro.fault[0] && fault_fires(ro.fault, ro.fault_count) ? ro.fault : "";
    if (strcmp(method, "POST") || ep < 0) {
        if (!strcmp(method, "GET") && strstr(path, "health"))
            add_response(c, 0, 200, "OK", "application/json", NULL, "{\"status\":\"ok\"}", 15);
        else if (!strcmp(method, "GET") && pl >= 7 && !strcmp(path + pl - 7, "/models"))
            serve_models(c, 0);           /* the latency options are for generations */
        else
            error_response(c, strcmp(method, "POST") ? 0 : ro.latency, 404, "Not Found", "File Not Found", "not_found", NULL);
    } else if (opt.replay) {
        serve_replay(c, ro.latency);
    } else if (!strcmp(f, "echokey")) {
        char *m = xasprintf("Incorrect API key provided: %s", auth ? auth : "(none)");
        error_response(c, ro.latency, 401, "Unauthorized", m, "invalid_api_key", NULL);
        free(m);
    } else if (!strcmp(f, "401") || (opt.key && (!auth || strcmp(auth, want)))) {
        error_response(c, ro.latency, 401, "Unauthorized", "Incorrect API key provided", "invalid_api_key", NULL);
    } else if (!req || !json_is_object(req)) {
        error_response(c, ro.latency, 400, "Bad Request", "the body is not a JSON object", "bad_json", NULL);
    } else if (!strcmp(f, "429")) {
        error_response(c, ro.latency, 429, "Too Many Requests", "Rate limit reached for requests",
                       "rate_limit_exceeded", "Retry-After: 1\r\n");
    } else if (!strcmp(f, "429long")) {
        error_response(c, ro.latency, 429, "Too Many Requests", "Rate limit reached for requests",
                       "rate_limit_exceeded", "Retry-After: 999999999\r\n");
    } else if (!strcmp(f, "302")) {
        const char *h = "<html>Moved</html>";
        add_response(c, ro.latency, 302, "Found", "text/html", "Location: https://example.invalid/v1/completions\r\n",
                     h, strlen(h));
    } else if (!strcmp(f, "hugeheader")) {
        size_t n = (size_t)1 << 20;
        char *hdr = xmalloc(n + 16);
        memcpy(hdr, "X-Junk: ", 8);
        memset(hdr + 8, 'a', n);
        memcpy(hdr + 8 + n, "\r\n", 3);
        add_response(c, ro.latency, 200, "OK", "application/json", hdr, "{}", 2);
        free(hdr);
    } else if (!strcmp(f, "quota")) {
        error_response(c, ro.latency, 429, "Too Many Requests", "You exceeded your current quota",
                       "insufficient_quota", NULL);
    } else if (!strcmp(f, "500")) {
        error_response(c, ro.latency, 500, "Internal Server Error",
                       "The server had an error while processing your request", "server_error", NULL);
    } else if (!strcmp(f, "503date")) {
        char date[64], hdr[100];
        time_t t = time(NULL) + 2;
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&t));
        snprintf(hdr, sizeof hdr, "Retry-After: %s\r\n", date);
        error_response(c, ro.latency, 503, "Service Unavailable", "overloaded", "overloaded", hdr);
    } else if (!strcmp(f, "reset")) {
        add_seg(c, ro.latency, SEG_RESET, NULL, 0);
    } else if (!strcmp(f, "html")) {
        const char *h = "<html><body><h1>Welcome to nginx!</h1></body></html>";
        add_response(c, ro.latency, 200, "OK", "text/html", NULL, h, strlen(h));
    } else if (!strcmp(f, "huge")) {
        size_t n = (size_t)40 << 20;
        char *big = xmalloc(n);
        memset(big, ' ', n);
        memcpy(big, "{\"choices\":[", 12);
        add_response(c, ro.latency, 200, "OK", "application/json", NULL, big, n);
        free(big);
    } else if (dist_handle(c, ep, req, model, ro.latency)) {
        /* a known distribution, or scoring given text (testserver_dist.h) */
    } else {
        int stream = json_is_true(json_object_get(req, "stream"));
        json_t *nj = json_object_get(req, "n");
        int n = json_is_integer(nj) ? (int)json_integer_value(nj) : 1;
        if (n < 1 || n > 128)
            n = 1;
        int ntop = ep == EP_NATIVE ? (int)json_integer_value(json_object_get(req, "n_probs"))
                 : ep == EP_CHAT ? (json_is_true(json_object_get(req, "logprobs"))
                                        ? (int)json_integer_value(json_object_get(req, "top_logprobs")) : 0)
                 : (int)json_integer_value(json_object_get(req, "logprobs"));
        if (ntop > 15)
            ntop = 15;
        json_t *mt = json_object_get(req, ep == EP_NATIVE ? "n_predict" : "max_tokens");
        int max = json_is_integer(mt) ? (int)json_integer_value(mt) : 16;
        if (max < 1 || max > 5000)
            max = 16;
        if (!strcmp(f, "endless"))
            max = 20000;                   /* a server that ignores max_tokens */
        json_t *sj = json_object_get(req, "seed");
        static long long counter;
        long long seed = json_is_integer(sj) ? json_integer_value(sj) : 1000 + counter++;
        if (ro.same)
            seed = 1;
        const char *mname = model ? model : "test-model";
        if (n > 1 && opt.refuse_n && !strcmp(opt.refuse_n, "500")) {
            error_response(c, ro.latency, 500, "Internal Server Error", "Only one completion choice is allowed", "500", NULL);
            json_decref(req);
            return;
        }
        if (n > 1 && opt.refuse_n && !strcmp(opt.refuse_n, "400")) {
            error_response(c, ro.latency, 400, "Bad Request",
                           "n_cmpl (4) must be at most the number of parallel slots (1)", "400", NULL);
            json_decref(req);
            return;
        }
        if (opt.refuse_n && !strcmp(opt.refuse_n, "ignore"))
            n = 1;
        double drip = ro.drip;
        int stall = !strcmp(f, "stall");
        if (!stream) {
            json_t *o = NULL;
            if (!strcmp(f, "badjson")) {
                const char *bad = "{\"choices\":[{\"text\":\"half";
                add_response(c, ro.latency, 200, "OK", "application/json", NULL, bad, strlen(bad));
                json_decref(req);
                return;
            }
            for (int ch = 0; ch < n; ch++) {
                gtok *toks = xmalloc((size_t)max * sizeof *toks);
                for (int i = 0; i < max; i++)
                    toks[i] = ro.calib && i == 0 ? calib_token(seed, ch, ro.calib) : gen_token(seed, ro.same ? 0 : ch, i);
                json_t *p = piece(ep, ch, toks, max, ntop, "length", mname, 0);
                free(toks);
                if (!o)
                    o = p;
                else {
                    json_array_append(json_object_get(o, "choices"), json_array_get(json_object_get(p, "choices"), 0));
                    json_decref(p);
                }
            }
            char *s = json_dumps(o, JSON_COMPACT);
            add_response(c, ro.latency, 200, "OK", "application/json", NULL, s, strlen(s));
            free(s);
            json_decref(o);
            json_decref(req);
            return;
        }
        const char *h = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n";
        add_seg(c, ro.latency, SEG_DATA, h, strlen(h));
        add_chunk(c, 0, ": keep-alive\r\n\r\n", 16);
        if (!strcmp(f, "hugeevent")) {
            size_t big = (size_t)10 << 20;
            char *d = xmalloc(big + 9);
            memcpy(d, "data: {\"", 8);
            memset(d + 8, 'x', big);
            d[big + 8] = '\n';
            add_chunk(c, 0, d, big + 9);
            free(d);
        }
        for (int i = 0; i < max; i++) {
            for (int ch = 0; ch < n; ch++) {
                if (i == 2 && !strcmp(f, "badjson")) {
                    add_chunk(c, drip, "data: {\"choices\":[{\"text\":\"oops\n\n", 33);
                    continue;
                }
                if (i == 2 && !strcmp(f, "midstream")) {
                    const char *e = "data: {\"error\":{\"message\":\"model overloaded mid-stream\",\"type\":\"server_error\"}}\n\n";
                    add_chunk(c, drip, e, strlen(e));
                    add_seg(c, 0, SEG_DATA, "0\r\n\r\n", 5);
                    json_decref(req);
                    return;
                }
                if (i == 3 && !strcmp(f, "truncate")) {
                    add_seg(c, 0, SEG_CLOSE, NULL, 0);
                    json_decref(req);
                    return;
                }
                if (i == 2 && !strcmp(f, "resetmid")) {
                    add_seg(c, 0, SEG_RESET, NULL, 0);
                    json_decref(req);
                    return;
                }
                gtok t = ro.calib && i == 0 ? calib_token(seed, ch, ro.calib) : gen_token(seed, ro.same ? 0 : ch, i);
                add_event(c, ch == 0 ? (stall && i >= 2 ? 3000 : drip) : 0, piece(ep, ch, &t, 1, ntop, i == max - 1 && ep != EP_NATIVE ? "length" : NULL, mname, 1));
            }
        }
        if (ep == EP_NATIVE) {
            json_t *o = piece(ep, 0, NULL, 0, 0, "length", mname, 1);
            add_event(c, 0, o);
        } else {
            add_chunk(c, 0, "data: [DONE]\n\n", 14);
        }
        add_seg(c, 0, SEG_DATA, "0\r\n\r\n", 5);
    }
    json_decref(req);
}

/* Parses one complete request from c->in, if there is one. */
static int try_request(conn *c)
{
    if (!c->in.len)
        return 0;
    char *end = strstr(c->in.data, "\r\n\r\n");
    if (!end)
        return 0;
    size_t head = (size_t)(end - c->in.data) + 4;
    char method[16] = "", path[512] = "";
    sscanf(c->in.data, "%15s %511s", method, path);
    size_t clen = 0;
    char auth[512] = "";
    int has_auth = 0;
    for (char *l = strstr(c->in.data, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n")) {
        if (!strncasecmp(l + 2, "Content-Length:", 15))
            clen = (size_t)strtoul(l + 17, NULL, 10);
        if (!strncasecmp(l + 2, "Authorization:", 14)) {
            sscanf(l + 16, " %511[^\r]", auth);
            has_auth = 1;
        }
    }
    if (c->in.len < head + clen)
        return 0;
    handle(c, method, path, has_auth ? auth : NULL, c->in.data + head, clen);
    memmove(c->in.data, c->in.data + head + clen, c->in.len - head - clen);
    c->in.len -= head + clen;
    c->in.data[c->in.len] = '\0';
    c->busy = 1;
    c->next_at = mono_now() + (c->nsegs > c->head ? c->segs[c->head].delay / 1000.0 : 0);
    return 1;
}

static void conn_close(conn *c, int reset)
{
    if (reset) {
        struct linger l = { 1, 0 };
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close(c->fd);
    c->fd = -1;
    for (size_t i = 0; i < c->nsegs; i++)
        free(c->segs[i].data);
    free(c->segs);
    buf_free(&c->in);
    buf_free(&c->out);
}

/* Moves due segments to the output; returns -1 when the connection is to go. */
static int advance(conn *c, double t)
{
    while (c->head < c->nsegs && c->out.len == c->out_off && t >= c->next_at) {
        seg *s = &c->segs[c->head++];
        if (s->action == SEG_RESET) {
            conn_close(c, 1);
            return -1;
        }
        if (s->action == SEG_CLOSE) {
            conn_close(c, 0);
            return -1;
        }
        buf_clear(&c->out);
        c->out_off = 0;
        buf_add(&c->out, s->data, s->len);
        free(s->data);
        s->data = NULL;
        if (c->head < c->nsegs)
            c->next_at = t + c->segs[c->head].delay / 1000.0;
    }
    if (c->head == c->nsegs && c->out.len == c->out_off && c->busy) {
        c->busy = 0;
        c->head = c->nsegs = 0;
        try_request(c);   /* the next request on a kept-alive connection */
    }
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "testserver: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--lifetime")) opt.lifetime = atof(v);
        else if (!strcmp(a, "--idle")) opt.idle = atof(v);
        else if (!strcmp(a, "--latency")) opt.latency = atof(v);
        else if (!strcmp(a, "--drip")) opt.drip = atof(v);
        else if (!strcmp(a, "--shape")) opt.shape = v;
        else if (!strcmp(a, "--refuse-n")) opt.refuse_n = v;
        else if (!strcmp(a, "--key")) opt.key = v;
        else if (!strcmp(a, "--replay")) opt.replay = v;
        else if (!strcmp(a, "--log")) opt.log = v;
        else if (!strcmp(a, "--n-vocab")) opt.n_vocab = atol(v);
        else if (!strcmp(a, "--fault")) {
            snprintf(opt.fault, sizeof opt.fault, "%s", v);
            char *colon = strchr(opt.fault, ':');
            if (colon) {
                opt.fault_count = atoi(colon + 1);
                *colon = '\0';
            }
        } else {
            fprintf(stderr, "testserver: unknown option %s\n", a);
            return 2;
        }
    }
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 128) < 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &sl) < 0) {
        perror("testserver");
        return 1;
    }
    fcntl(ls, F_SETFL, O_NONBLOCK);
    printf("%d\n", ntohs(sa.sin_port));
    fflush(stdout);
    double start = mono_now(), last = start;
    conn *cs = NULL;
    size_t ncs = 0, capcs = 0;
    struct pollfd *pf = NULL;
    size_t cappf = 0;
    for (;;) {
        double t = mono_now();
        if (t - start > opt.lifetime || (ncs == 0 && t - last > opt.idle))
            break;
        double wait = 0.2;
        xgrow(&pf, &cappf, ncs + 1, sizeof *pf);
        pf[0] = (struct pollfd){ .fd = ls, .events = POLLIN };
        for (size_t i = 0; i < ncs; i++) {
            conn *c = &cs[i];
            pf[i + 1] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
            if (c->out.len > c->out_off)
                pf[i + 1].events |= POLLOUT;
            else if (c->head < c->nsegs && c->next_at - t < wait)
                wait = c->next_at - t;
        }
        if (wait < 0)
            wait = 0;
        poll(pf, ncs + 1, (int)(wait * 1000) + (wait > 0));
        t = mono_now();
        size_t polled = ncs;
        if (pf[0].revents & POLLIN) {
            int fd;
            while ((fd = accept(ls, NULL, NULL)) >= 0) {
                fcntl(fd, F_SETFL, O_NONBLOCK);
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                xgrow(&cs, &capcs, ncs + 1, sizeof *cs);
                memset(&cs[ncs], 0, sizeof *cs);
                cs[ncs++].fd = fd;
                log_line("ACCEPT connection");
                last = t;
            }
        }
        for (size_t i = 0; i < ncs; i++) {
            conn *c = &cs[i];
            short re = i < polled ? pf[i + 1].revents : 0;   /* new ones were not polled yet */
            if (re & (POLLIN | POLLHUP | POLLERR)) {
                char tmp[65536];
                ssize_t n = read(c->fd, tmp, sizeof tmp);
                if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
                    conn_close(c, 0);
                } else if (n > 0) {
                    buf_add(&c->in, tmp, (size_t)n);
                    last = t;
                    if (!c->busy)
                        try_request(c);
                }
            }
            if (c->fd >= 0 && advance(c, t) == 0 && c->out.len > c->out_off) {
                ssize_t n = write(c->fd, c->out.data + c->out_off, c->out.len - c->out_off);
                if (n > 0) {
                    c->out_off += (size_t)n;
                    last = t;
                    advance(c, t);
                } else if (n < 0 && errno != EAGAIN) {
                    conn_close(c, 0);
                }
            }
        }
        size_t j = 0;
        for (size_t i = 0; i < ncs; i++)
            if (cs[i].fd >= 0)
                cs[j++] = cs[i];
        ncs = j;
    }
    for (size_t i = 0; i < ncs; i++)
        conn_close(&cs[i], 0);
    free(cs);
    free(pf);
    close(ls);
    return 0;
}
