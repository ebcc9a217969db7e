/* net/net_score.c — scoring given text over HTTP (see net_impl.h and API.md "Scoring given
 * text"): one non-streamed POST {base}/completions per text, its answer parsed by
 * net/wire.c into one SCORED event. */
#include "net/net_impl.h"
#include "core/mono.h"
#include "core/mem.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCORE_TOP_DEFAULT 5     /* OpenAI legacy completions' most */

struct net_score_req {
    int             id;
    gen_settings    s;
    char           *prompt;       /* context + text */
    size_t          plen;
    char           *base;
    wire_score_mode mode;
    http_xfer       h;
    int             started, in_multi, finished, cancelled, delivered;
    int             attempt;      /* attempts made (retries as for generation, net.h) */
    double          due;          /* > 0: waiting to be tried again then */
    CURLcode        rc;
    char           *echo_refused; /* the first try's answer, when echo was refused */
};

/* ---- what the parser reports ---- */

typedef struct {
    backend_scored *tok;
    size_t          n, cap;
    tree_alt       *alts;
    size_t          nalts, capalts;
    buf             pool;
    size_t         *text_off, *alt_off;   /* offsets into pool, fixed up at the end */
    size_t          captext;
    char           *error;
} collect;

static size_t pool_add(collect *c, const char *s, size_t n)
{
    size_t at = c->pool.len;
    buf_add(&c->pool, s, n);
    return at;
}

static void on_token(void *ud, int choice, const char *t, size_t n, double lp, const tree_alt *top, size_t ntop)
{
    collect *c = ud;
    if (choice != 0)
        return;
    xgrow(&c->tok, &c->cap, c->n + 1, sizeof *c->tok);
    c->text_off = xrealloc(c->text_off, c->cap * sizeof *c->text_off);
    c->text_off[c->n] = pool_add(c, t, n);
    c->tok[c->n] = (backend_scored){ NULL, n, lp, NULL, ntop };
    /* the alternatives' index goes in top until the fix-up */
    c->tok[c->n].top = (const tree_alt *)(void *)(uintptr_t)c->nalts;
    for (size_t i = 0; i < ntop; i++) {
        xgrow(&c->alts, &c->capalts, c->nalts + 1, sizeof *c->alts);
        c->alt_off = xrealloc(c->alt_off, c->capalts * sizeof *c->alt_off);
        c->alt_off[c->nalts] = pool_add(c, top[i].text, top[i].len);
        c->alts[c->nalts++] = (tree_alt){ NULL, top[i].len, top[i].logprob };
    }
    c->n++;
}

static void on_text(void *ud, int choice, const char *t, size_t n) {}
static void on_finish(void *ud, int choice, const char *reason) {}
static void on_model(void *ud, const char *model) {}
static void on_error(void *ud, int choice, const char *message)
{
    collect *c = ud;
    if (!c->error)
        c->error = xstrdup(message && *message ? message : "an error without a message");
}

static void collect_fix(collect *c)
{
    buf_adds(&c->pool, "");
    for (size_t i = 0; i < c->nalts; i++)
        c->alts[i].text = c->pool.data + c->alt_off[i];
    for (size_t i = 0; i < c->n; i++) {
        c->tok[i].text = c->pool.data + c->text_off[i];
        size_t first = (size_t)(uintptr_t)(const void *)c->tok[i].top;
        c->tok[i].top = c->tok[i].ntop ? c->alts + first : NULL;
    }
}

static void collect_free(collect *c)
{
    free(c->tok);
    free(c->alts);
    free(c->text_off);
    free(c->alt_off);
    buf_free(&c->pool);
    free(c->error);
}

/* ---- requests ---- */

static int xfer_open(net_backend *nb, net_score_req *q, char *err, size_t errlen)
{
    int k = q->s.logprobs > 0 ? q->s.logprobs : SCORE_TOP_DEFAULT;
    char *body = wire_score_body(q->mode, &q->s, q->prompt, q->plen, k, err, errlen);
    if (!body)
        return -1;
    char *url = xasprintf("%s%s", q->base, wire_path(WIRE_OPENAI));
    memset(&q->h, 0, sizeof q->h);
    int ok = http_xfer_init(&q->h, url, body, nb->key, 0, NET_BODY_CAP, err, errlen);
    free(url);
    q->started = q->in_multi = q->finished = 0;
    return ok;
}

int net_score_start(backend *b, const char *context, size_t clen, const char *text, size_t len,
                    const gen_settings *s, char *err, size_t errlen)
{
    net_backend *nb = (net_backend *)b;
    if (nb->kind == WIRE_LLAMACPP) {
        snprintf(err, errlen, "llama.cpp's server cannot score given text (it has no prompt_logprobs "
                 "and refuses echo)");
        return -1;
    }
    if (nb->kind == WIRE_CHAT) {
        snprintf(err, errlen, "the chat endpoint cannot score given text (use backend=openai: "
                 "legacy completions with echo, or vLLM)");
        return -1;
    }
    const char *base = s->base_url && *s->base_url ? s->base_url : nb->base_url;
    if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8)) {
        snprintf(err, errlen, "--base-url: '%s' is not an http:// or https:// URL", base);
        return -1;
    }
    net_score_req *q = xcalloc(1, sizeof *q);
    settings_copy(&q->s, s);
    q->plen = clen + len;
    q->prompt = xmalloc(q->plen + 1);
    memcpy(q->prompt, context, clen);
    memcpy(q->prompt + clen, text, len);
    q->prompt[q->plen] = '\0';
    q->base = xstrdup(base);
    size_t bl = strlen(q->base);
    while (bl > 8 && q->base[bl - 1] == '/')
        q->base[--bl] = '\0';
    q->mode = nb->score_prompt_logprobs ? WIRE_SCORE_PROMPT_LOGPROBS : WIRE_SCORE_ECHO;
    if (xfer_open(nb, q, err, errlen) < 0) {
        http_xfer_free(&q->h);
        settings_free(&q->s);
        free(q->prompt);
        free(q->base);
        free(q);
        return -1;
    }
    q->id = ++nb->next_id;
    xgrow(&nb->sreqs, &nb->capsreqs, nb->nsreqs + 1, sizeof *nb->sreqs);
    nb->sreqs[nb->nsreqs++] = q;
    return q->id;
}

static void stop_xfer(net_backend *nb, net_score_req *q)
{
    if (q->in_multi) {
        curl_multi_remove_handle(nb->multi, q->h.easy);
        q->in_multi = 0;
        nb->running--;
    }
}

int net_score_finished(net_backend *nb, CURL *easy, CURLcode rc)
{
    for (size_t i = 0; i < nb->nsreqs; i++) {
        net_score_req *q = nb->sreqs[i];
        if (q->in_multi && q->h.easy == easy) {
            stop_xfer(nb, q);
            q->finished = 1;
            q->rc = rc;
            return 1;
        }
    }
    return 0;
}

static void emit_end(net_backend *nb, net_score_req *q, const char *error, const backend_scored *tok, size_t n)
{
    q->delivered = 1;
    if (error) {
        char *m = net_scrub(nb, error);
        backend_event ev = { .kind = BACKEND_EV_ERROR, .request = q->id, .branch = 0, .logprob = NAN,
                             .finish = q->cancelled ? "cancelled" : "error", .message = m,
                             .http_status = (int)q->h.status };
        backend_emit(&nb->base, &ev);
        free(m);
    } else {
        backend_event ev = { .kind = BACKEND_EV_SCORED, .request = q->id, .branch = 0, .logprob = NAN,
                             .scored = tok, .nscored = n };
        backend_emit(&nb->base, &ev);
    }
    backend_event end = { .kind = BACKEND_EV_REQUEST_END, .request = q->id, .branch = -1, .logprob = NAN };
    backend_emit(&nb->base, &end);
}

/* The answer of a finished transfer: SCORED, a retry in vLLM's own form, or one line. */
/* A dropped connection, a 429 or a 5xx (not llama.cpp refusing echo) is tried again, with
 * backoff, as generation is; 1 when it was scheduled. */
static int retry_later(net_backend *nb, net_score_req *q)
{
    int again = 0;
    double after = -1;
    if (q->rc != CURLE_OK && !q->h.overflow)
        again = http_curl_retryable(q->rc);
    else if (q->rc == CURLE_OK && !net_is_2xx(q->h.status)) {
        char *msg, *code;
        wire_error_info(q->h.rx.data, q->h.rx.len, &msg, &code);
        again = http_status_retryable(q->h.status, code) && strncmp(q->h.server, "llama.cpp", 9) &&
                !(msg && strstr(msg, "Unsupported param: echo"));
        after = q->h.retry_after;
        free(msg);
        free(code);
    }
    if (!again || q->attempt >= NET_ATTEMPTS || after > HTTP_RETRY_AFTER_MAX)
        return 0;
    double jitter = (double)((((unsigned)q->id * 2654435761u) >> 8) & 0xffff) / 65536.0;
    q->due = mono_now() + http_backoff(q->attempt, after, jitter);
    http_xfer_reset(&q->h);
    q->started = q->finished = 0;
    return 1;
}

static void answer(net_backend *nb, net_score_req *q)
{
    long status = q->h.status;
    char *line = NULL;
    if (retry_later(nb, q))
        return;
    if (q->rc != CURLE_OK && !q->h.overflow) {
        const char *detail = q->h.errbuf[0] ? q->h.errbuf : curl_easy_strerror(q->rc);
        line = q->rc == CURLE_OPERATION_TIMEDOUT
             ? xasprintf("scoring: no data from the server for %ld s (idle timeout)", nb->idle_s)
             : xasprintf("scoring: could not reach %s (%s)", q->base, detail);
    } else if (q->h.overflow) {
        line = xasprintf("scoring: the response was larger than 32 MiB; dropped");
    } else if (!net_is_2xx(status)) {
        char *msg, *code;
        wire_error_info(q->h.rx.data, q->h.rx.len, &msg, &code);
        char *fl = http_failure_line(status, msg, code);
        int msg_echo = msg && strstr(msg, "Unsupported param: echo") != NULL;
        free(msg);
        free(code);
        if (q->mode == WIRE_SCORE_ECHO && (status == 400 || status == 422)) {
            /* echo refused: vLLM's own prompt_logprobs, once */
            char err[256];
            q->echo_refused = fl;
            http_xfer_free(&q->h);
            q->mode = WIRE_SCORE_PROMPT_LOGPROBS;
            if (xfer_open(nb, q, err, sizeof err) == 0)
                return;
            line = xasprintf("scoring: %s", err);
        } else if (status == 500 && (msg_echo || !strncmp(q->h.server, "llama.cpp", 9))) {
            /* backend=openai on llama.cpp's /v1/completions: "Unsupported param: echo" */
            line = xasprintf("llama.cpp's server cannot score given text (it refused echo: %s)", fl);
            free(fl);
        } else {
            line = q->echo_refused
                 ? xasprintf("this server cannot score given text: echo refused (%s), prompt_logprobs "
                             "refused (%s)", q->echo_refused, fl)
                 : xasprintf("scoring: %s", fl);
            free(fl);
        }
    } else {
        collect c = { 0 };
        wire_sink k = { on_token, on_text, on_finish, on_error, on_model, &c };
        int r = wire_parse_scored(q->h.rx.data ? q->h.rx.data : "", q->h.rx.len, q->plen, &k);
        if (r == WIRE_ERROR)
            line = xasprintf("scoring: the server answered an error (%s)", c.error ? c.error : "");
        else if (r == WIRE_BAD || c.n == 0) {
            char *first = wire_one_line(q->h.rx.data ? q->h.rx.data : "", q->h.rx.len, 80);
            line = xasprintf("scoring: the answer holds no logprobs of the given text (%s)",
                             *first ? first : "empty body");
            free(first);
        } else {
            if (q->mode == WIRE_SCORE_PROMPT_LOGPROBS)
                nb->score_prompt_logprobs = 1;
            collect_fix(&c);
            emit_end(nb, q, NULL, c.tok, c.n);
        }
        collect_free(&c);
    }
    if (line)
        emit_end(nb, q, line, NULL, 0);
    free(line);
}

static void req_free(net_score_req *q)
{
    http_xfer_free(&q->h);
    settings_free(&q->s);
    free(q->prompt);
    free(q->base);
    free(q->echo_refused);
    free(q);
}

void net_score_pump(net_backend *nb)
{
    double t = mono_now();
    for (size_t i = 0; i < nb->nsreqs; i++) {
        net_score_req *q = nb->sreqs[i];
        if (q->delivered)
            continue;
        if (q->cancelled) {
            stop_xfer(nb, q);
            emit_end(nb, q, "cancelled", NULL, 0);
            continue;
        }
        if (q->in_multi && t - q->h.last_rx > (double)nb->idle_s) {
            stop_xfer(nb, q);
            q->finished = 1;
            q->rc = CURLE_OPERATION_TIMEDOUT;
        }
        if (q->finished) {
            answer(nb, q);          /* may queue the request again in the other form */
            continue;
        }
        if (!q->started && q->due > t)
            continue;
        if (!q->started && nb->running < nb->concurrency) {
            q->due = 0;
            q->attempt++;
            if (curl_multi_add_handle(nb->multi, q->h.easy) != CURLM_OK) {
                emit_end(nb, q, "scoring: libcurl refused to start the transfer", NULL, 0);
                continue;
            }
            q->started = q->in_multi = 1;
            q->h.last_rx = t;
            nb->running++;
        }
    }
    size_t j = 0;
    for (size_t i = 0; i < nb->nsreqs; i++)
        if (nb->sreqs[i]->delivered)
            req_free(nb->sreqs[i]);
        else
            nb->sreqs[j++] = nb->sreqs[i];
    nb->nsreqs = j;
}

int net_score_active(const net_backend *nb)
{
    int n = 0;
    for (size_t i = 0; i < nb->nsreqs; i++)
        n += !nb->sreqs[i]->delivered;
    return n;
}

int net_score_busy(const net_backend *nb)
{
    for (size_t i = 0; i < nb->nsreqs; i++) {
        const net_score_req *q = nb->sreqs[i];
        if (!q->delivered && (q->finished || q->cancelled ||
                              (!q->started && q->due <= mono_now() && nb->running < nb->concurrency)))
            return 1;
    }
    return 0;
}

void net_score_cancel(net_backend *nb, int request)
{
    for (size_t i = 0; i < nb->nsreqs; i++)
        if (request == 0 || nb->sreqs[i]->id == request)
            nb->sreqs[i]->cancelled = 1;
}

void net_score_free_all(net_backend *nb)
{
    for (size_t i = 0; i < nb->nsreqs; i++) {
        stop_xfer(nb, nb->sreqs[i]);
        req_free(nb->sreqs[i]);
    }
    free(nb->sreqs);
    nb->sreqs = NULL;
    nb->nsreqs = 0;
}
