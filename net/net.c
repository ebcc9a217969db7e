/* net/net.c — the HTTP backends (see net.h): requests, transfers, routing, retries. */
#include "net/net_impl.h"
#include "core/mono.h"
#include <sys/select.h>
#include "core/mem.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


static double jitter(net_backend *nb)
{
    nb->rng = nb->rng * 1103515245u + 12345u;
    return (double)((nb->rng >> 8) & 0xffff) / 65536.0;
}

/* ---- transfers ---- */

static int word_char(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int refused_n(long status, const char *msg)
{
    if (!msg)
        return 0;
    if (strstr(msg, "Only one completion choice") || strstr(msg, "n_cmpl"))
        return status == 400 || status == 500;
    if (status != 400 && status != 422)
        return 0;
    for (const char *p = msg; *p; p++)   /* "n" as a word of its own */
        if (*p == 'n' && (p == msg || !word_char(p[-1])) && !word_char(p[1]))
            return 1;
    return 0;
}

static net_xfer *xfer_new(net_backend *nb, net_req *r, int first, int count, char *err, size_t errlen)
{
    int seed_mode = r->s.has_seed;
    long long seed = r->s.seed + (count == 1 && r->k > 1 ? first : 0);
    char *body = wire_body(nb->kind, &r->s, r->context, r->len, count, seed_mode, seed,
                           r->s.stream, err, errlen);
    if (!body)
        return NULL;
    char *url = xasprintf("%s%s", r->base, wire_path(nb->kind));
    net_xfer *x = xcalloc(1, sizeof *x);
    x->req = r;
    x->first = first;
    x->count = count;
    x->sse_mode = -1;
    sse_init(&x->sse, NET_EVENT_CAP);
    int ok = http_xfer_init(&x->h, url, body, nb->key, r->s.stream, NET_BODY_CAP, err, errlen);
    free(url);
    if (ok < 0) {
        http_xfer_free(&x->h);
        sse_free(&x->sse);
        free(x);
        return NULL;
    }
    xgrow(&nb->xs, &nb->capx, nb->nx + 1, sizeof *nb->xs);
    nb->xs[nb->nx++] = x;
    r->nx++;
    return x;
}

static void xfer_stop(net_backend *nb, net_xfer *x)
{
    if (x->in_multi) {
        curl_multi_remove_handle(nb->multi, x->h.easy);
        x->in_multi = 0;
        nb->running--;
    }
    x->dead = 1;
}

/* Separate requests for every branch of x that has nothing yet. */
static void split_xfer(net_backend *nb, net_xfer *x)
{
    char err[256];
    for (int i = 0; i < x->count; i++) {
        int b = x->first + i;
        if (x->req->br[b].ended || x->req->br[b].got)
            continue;
        if (!xfer_new(nb, x->req, b, 1, err, sizeof err))
            net_end_branch(nb, x->req, b, 1, "error", err, 0, NULL);
    }
}

static void remember_no_n(net_backend *nb, const char *base)
{
    for (size_t i = 0; i < nb->nno_n; i++)
        if (!strcmp(nb->no_n[i], base))
            return;
    xgrow(&nb->no_n, &nb->capno_n, nb->nno_n + 1, sizeof *nb->no_n);
    nb->no_n[nb->nno_n++] = xstrdup(base);
}

static int knows_no_n(net_backend *nb, const char *base)
{
    for (size_t i = 0; i < nb->nno_n; i++)
        if (!strcmp(nb->no_n[i], base))
            return 1;
    return 0;
}

static void schedule_retry(net_backend *nb, net_xfer *x, const char *why, double after)
{
    double d = http_backoff(x->attempt, after, jitter(nb));
    char *m = xasprintf("%s; retrying in %.1f s (attempt %d of %d)", why, d, x->attempt + 1, NET_ATTEMPTS);
    net_emit_status(nb, m);
    free(m);
    x->state = X_WAITING;
    x->due = mono_now() + d;
}

/* A transfer ended (curl finished it). */
static void xfer_finished(net_backend *nb, net_xfer *x, CURLcode rc)
{
    x->in_multi = 0;
    curl_multi_remove_handle(nb->multi, x->h.easy);
    nb->running--;
    if (net_all_ended(x)) {   /* it was only draining the end of its stream */
        x->dead = 1;
        return;
    }
    net_parse_stream(nb, x);
    if (x->dead || x->req->cancelled)
        return;
    sink_ctx c = { nb, x };
    long status = x->h.status;
    if (x->sse_mode == 1 && !x->saw_end && !x->dead)
        sse_finish(&x->sse, net_on_sse_event, &c);
    char *line = NULL;
    if (rc != CURLE_OK && !x->h.overflow) {
        const char *detail = x->h.errbuf[0] ? x->h.errbuf : curl_easy_strerror(rc);
        if (rc == CURLE_OPERATION_TIMEDOUT)
            line = xasprintf("no data from the server for %ld s (idle timeout)", nb->idle_s);
        else if (rc == CURLE_OUT_OF_MEMORY && !x->delivered)   /* curl's word for a giant header */
            line = xasprintf("%s sent a response header larger than curl accepts (100 KB)", x->req->base);
        else if (x->delivered || x->h.rx_total)
            line = xasprintf("the connection was lost mid-response (%s)", detail);
        else
            line = xasprintf("could not reach %s (%s)", x->req->base, detail);
        if (!x->delivered && http_curl_retryable(rc) && x->attempt < NET_ATTEMPTS && !net_all_ended(x)) {
            schedule_retry(nb, x, line, -1);
            free(line);
            return;
        }
        net_fail_xfer(nb, x, line, status);
    } else if (x->h.overflow) {
        x->delivered = 1;
        net_fail_xfer(nb, x, "the response was larger than 32 MiB; dropped", status);
    } else if (!net_is_2xx(status)) {
        char *msg, *code;
        wire_error_info(x->h.rx.data, x->h.rx.len, &msg, &code);
        if (x->count > 1 && refused_n(status, msg)) {
            remember_no_n(nb, x->req->base);
            char *m = xasprintf("%s does not accept n=%d (%s); sending %d separate requests",
                                x->req->base, x->count, msg, x->count);
            net_emit_status(nb, m);
            free(m);
            split_xfer(nb, x);
            free(msg), free(code);
            return;
        } else {
            line = http_failure_line(status, msg, code);
            if (http_status_retryable(status, code) && x->h.retry_after > HTTP_RETRY_AFTER_MAX) {
                /* "come back in 11 days": waiting in silence helps nobody */
                char *l2 = xasprintf("%s; the server asks to wait %.0f s before retrying, more than the "
                                     "%d s termloom waits: not retried", line, x->h.retry_after, HTTP_RETRY_AFTER_MAX);
                free(line);
                line = l2;
            } else if (http_status_retryable(status, code) && x->attempt < NET_ATTEMPTS) {
                schedule_retry(nb, x, line, x->h.retry_after);
                free(line), free(msg), free(code);
                return;
            }
            if (x->attempt > 1) {
                char *l2 = xasprintf("%s after %d attempts", line, x->attempt);
                free(line);
                line = l2;
            }
            net_fail_xfer(nb, x, line, status);
        }
        free(msg), free(code);
    } else if (x->sse_mode != 1) {
        wire_sink k = net_sink_of(&c);
        int r = x->h.rx.len ? wire_parse_body(nb->kind, x->h.rx.data, x->h.rx.len, &k) : WIRE_BAD;
        if (r == WIRE_BAD) {
            char *first = NULL, *code = NULL;
            wire_error_info(x->h.rx.data, x->h.rx.len, &first, &code);
            free(code);
            if (!first)
                first = xstrdup("");
            if (!strstr(x->h.content_type, "json") && x->h.content_type[0])
                line = xasprintf("%ld: unexpected content type '%s' (%s)", status, x->h.content_type, first);
            else
                line = xasprintf("%ld: the response is not valid JSON (%s)", status, *first ? first : "empty body");
            free(first);
            net_fail_xfer(nb, x, line, status);
        }
    }
    free(line);
    if (x->dead || x->req->cancelled)
        return;
    /* Choices the server never sent (it ignored n): ask for them one by one. */
    if (x->count > 1) {
        int missing = 0;
        for (int i = 0; i < x->count; i++)
            missing += !x->req->br[x->first + i].ended && !x->req->br[x->first + i].got;
        if (missing) {
            remember_no_n(nb, x->req->base);
            char *m = xasprintf("%s answered %d of %d choices; requesting the rest separately",
                                x->req->base, x->count - missing, x->count);
            net_emit_status(nb, m);
            free(m);
            split_xfer(nb, x);
        }
    }
    for (int i = 0; i < x->count; i++) {
        int b = x->first + i;
        if (x->req->br[b].ended || (x->count > 1 && !x->req->br[b].got))
            continue;
        if (x->saw_end || x->sse_mode != 1)
            net_end_branch(nb, x->req, b, 0, "stop", NULL, status, x->model);
        else if (x->bad_chunks)
            net_end_branch(nb, x->req, b, 1, "error", "the stream held malformed JSON and ended early", status, x->model);
        else
            net_end_branch(nb, x->req, b, 1, "error", "the stream ended before it was complete (truncated)", status, x->model);
    }
}

/* Starts queued transfers and due retries, within the concurrency cap. */
static void start_ready(net_backend *nb)
{
    if (net_info_gate(nb))
        return;                            /* V first (net/info.c), for a moment at most */
    double t = 0;
    for (size_t i = 0; i < nb->nx; i++) {
        net_xfer *x = nb->xs[i];
        if (x->dead)
            continue;
        if (x->state == X_WAITING) {
            if (!t)
                t = mono_now();
            if (x->due > t)
                continue;
            http_xfer_reset(&x->h);
            sse_free(&x->sse);
            sse_init(&x->sse, NET_EVENT_CAP);
            x->sse_mode = -1;
            x->saw_end = 0;
            x->bad_chunks = 0;
            x->state = X_QUEUED;
        }
        if (x->state != X_QUEUED || nb->running >= nb->concurrency)
            continue;
        if (curl_multi_add_handle(nb->multi, x->h.easy) != CURLM_OK) {
            net_fail_xfer(nb, x, "libcurl refused to start the transfer", 0);
            x->dead = 1;
            continue;
        }
        x->in_multi = 1;
        x->h.last_rx = mono_now();
        x->state = X_RUNNING;
        x->attempt++;
        nb->running++;
    }
}

static void req_free(net_req *r)
{
    settings_free(&r->s);
    free(r->context);
    free(r->base);
    free(r->br);
    free(r);
}

/* A transfer whose branches all ended but whose stream is not over yet: left to finish
 * (a stopped transfer costs its connection, and a new TLS handshake next time). */
static int draining(const net_xfer *x)
{
    return x->in_multi && x->saw_end;
}

static void xfer_free(net_xfer *x)
{
    x->req->nx--;
    http_xfer_free(&x->h);
    sse_free(&x->sse);
    free(x);
}

/* Delivers cancellations and REQUEST_END; frees what is over. */
static void sweep(net_backend *nb)
{
    for (size_t i = 0; i < nb->nreqs; i++) {
        net_req *r = nb->reqs[i];
        if (r->cancelled && !r->end_sent)
            for (int b = 0; b < r->k; b++)
                net_end_branch(nb, r, b, 1, "cancelled", "cancelled", 0, NULL);
    }
    for (size_t i = 0; i < nb->nx; i++) {
        net_xfer *x = nb->xs[i];
        if (!x->dead && (x->req->cancelled || (net_all_ended(x) && !draining(x))))
            xfer_stop(nb, x);
    }
    size_t j = 0;
    for (size_t i = 0; i < nb->nx; i++) {
        net_xfer *x = nb->xs[i];
        if (x->dead)
            xfer_free(x);
        else
            nb->xs[j++] = x;
    }
    nb->nx = j;
    for (size_t i = 0; i < nb->nreqs; i++) {
        net_req *r = nb->reqs[i];
        if (r->end_sent)
            continue;
        int open = 0;
        for (int b = 0; b < r->k; b++)
            open += !r->br[b].ended;
        if (open)
            continue;
        r->end_sent = 1;
        backend_event ev = { .kind = BACKEND_EV_REQUEST_END, .request = r->id, .branch = -1, .logprob = NAN };
        backend_emit(&nb->base, &ev);   /* may start requests: the list may have changed */
        i = (size_t)-1;
    }
    j = 0;
    for (size_t i = 0; i < nb->nreqs; i++) {
        net_req *r = nb->reqs[i];
        if (r->end_sent && r->nx == 0)
            req_free(r);
        else
            nb->reqs[j++] = r;
    }
    nb->nreqs = j;
}

static int active_requests(const net_backend *nb)
{
    int n = net_score_active(nb);
    for (size_t i = 0; i < nb->nreqs; i++)
        n += !nb->reqs[i]->end_sent;
    return n;
}

/* ---- backend operations ---- */

/* logprobs = all, as this server can give it: llama.cpp the whole vocabulary (V when it
 * said it, else a number past any vocabulary, which it cuts to its own), OpenAI's chat 20,
 * OpenAI's legacy completions 5, another server speaking that API (vLLM: its
 * --max-logprobs, 20 unless raised) 20; said once on the status line. */
static int net_logprobs_all(net_backend *nb, const char *base)
{
    int n = nb->kind == WIRE_LLAMACPP ? (nb->base.vocab ? (int)nb->base.vocab : SETTINGS_LOGPROBS_ALL)
          : nb->kind == WIRE_CHAT ? 20 : strstr(base, "api.openai.com") ? 5 : 20;
    if (!nb->said_all) {                   /* said from the next pump (never from start) */
        nb->said_all = 1;
        if (nb->kind == WIRE_LLAMACPP)
            snprintf(nb->say, sizeof nb->say, "logprobs all: the whole distribution (%s)",
                     nb->base.vocab ? "the server's vocabulary" : "as many as the server has");
        else
            snprintf(nb->say, sizeof nb->say, "logprobs all: %d alternatives per token, the most this API gives%s", n,
                     nb->kind == WIRE_OPENAI && n == 20 ? " (vLLM: unless its --max-logprobs is raised)" : "");
    }
    return n;
}

static int net_start(backend *b, const char *context, size_t len, const gen_settings *s, int k,
                     char *err, size_t errlen)
{
    net_backend *nb = (net_backend *)b;
    if (k < 1)
        k = 1;
    const char *base = s->base_url && *s->base_url ? s->base_url : nb->base_url;
    if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8)) {
        snprintf(err, errlen, "--base-url: '%s' is not an http:// or https:// URL", base);
        return -1;
    }
    net_req *r = xcalloc(1, sizeof *r);
    settings_copy(&r->s, s);
    if (s->logprobs == SETTINGS_LOGPROBS_ALL)
        r->s.logprobs = net_logprobs_all(nb, base);
    r->k = k;
    r->context = xstrndup(context ? context : "", len);
    r->len = len;
    r->base = xstrdup(base);
    size_t bl = strlen(r->base);
    while (bl > 8 && r->base[bl - 1] == '/')
        r->base[--bl] = '\0';
    r->br = xcalloc((size_t)k, sizeof *r->br);
    r->id = ++nb->next_id;
    if (s->concurrency > 0)
        nb->concurrency = s->concurrency;
    size_t first_x = nb->nx;
    int together = k > 1 && nb->kind != WIRE_LLAMACPP && !knows_no_n(nb, r->base);
    for (int i = 0; i < (together ? 1 : k); i++) {
        if (!xfer_new(nb, r, together ? 0 : i, together ? k : 1, err, errlen)) {
            for (size_t j = first_x; j < nb->nx; j++)
                xfer_free(nb->xs[j]);
            nb->nx = first_x;
            req_free(r);
            nb->next_id--;
            return -1;
        }
    }
    xgrow(&nb->reqs, &nb->capreqs, nb->nreqs + 1, sizeof *nb->reqs);
    nb->reqs[nb->nreqs++] = r;
    if (s->vocab_size <= 0)
        net_info_ask(nb);                  /* V for the entropy bounds, once */
    start_ready(nb);
    return r->id;
}

static void net_cancel(backend *b, int request)
{
    net_backend *nb = (net_backend *)b;
    for (size_t i = 0; i < nb->nreqs; i++)
        if (!nb->reqs[i]->end_sent && (request == 0 || nb->reqs[i]->id == request))
            nb->reqs[i]->cancelled = 1;
    for (size_t i = 0; i < nb->nx; i++)
        if (nb->xs[i]->req->cancelled)
            xfer_stop(nb, nb->xs[i]);
    net_score_cancel(nb, request);
}

static int net_pump(backend *b)
{
    net_backend *nb = (net_backend *)b;
    if (nb->say[0]) {
        net_emit_status(nb, nb->say);
        nb->say[0] = '\0';
    }
    if (!nb->said_dns) {
        nb->said_dns = 1;
        if (!http_async_dns())
            net_emit_status(nb, "this libcurl resolves host names synchronously: a slow DNS lookup blocks the program");
    }
    start_ready(nb);
    net_score_pump(nb);
    int still;
    curl_multi_perform(nb->multi, &still);
    for (size_t i = 0; i < nb->nx; i++)
        if (!nb->xs[i]->dead && nb->xs[i]->state == X_RUNNING) {
            net_parse_stream(nb, nb->xs[i]);
            if (nb->xs[i]->cut)
                xfer_stop(nb, nb->xs[i]);   /* the client's cap ended every branch */
        }
    double t = mono_now();
    for (size_t i = 0; i < nb->nx; i++) {
        net_xfer *x = nb->xs[i];
        if (!x->dead && x->in_multi && t - x->h.last_rx > (double)nb->idle_s)
            xfer_finished(nb, x, CURLE_OPERATION_TIMEDOUT);
    }
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(nb->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        if (net_info_done(nb, m->easy_handle))
            continue;
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        http_xfer *h = (http_xfer *)(void *)priv;
        CURLcode rc = m->data.result;
        if (net_score_finished(nb, m->easy_handle, rc))
            continue;
        for (size_t i = 0; i < nb->nx; i++)
            if (&nb->xs[i]->h == h && nb->xs[i]->in_multi) {
                xfer_finished(nb, nb->xs[i], rc);
                break;
            }
    }
    start_ready(nb);
    net_score_pump(nb);
    sweep(nb);
    return active_requests(nb);
}

/* Something to do without waiting: a transfer to start, a retry due, events to deliver. */
static double next_deadline(net_backend *nb, double t)
{
    double soonest = net_info_gate(nb) ? net_info_gate(nb) : -1;
    if (net_score_busy(nb))
        return t;
    for (size_t i = 0; i < nb->nreqs; i++)
        if (nb->reqs[i]->cancelled && !nb->reqs[i]->end_sent)
            return t;
    for (size_t i = 0; i < nb->nx; i++) {
        net_xfer *x = nb->xs[i];
        if (x->dead || (net_all_ended(x) && !draining(x)))
            return t;
        if (x->state == X_QUEUED && nb->running < nb->concurrency && !net_info_gate(nb))
            return t;
        double due = x->state == X_WAITING ? x->due
                   : x->in_multi ? x->h.last_rx + (double)nb->idle_s : -1;
        if (due >= 0 && (soonest < 0 || due < soonest))
            soonest = due;
    }
    return soonest;
}

/* libcurl's sockets (curl_multi_fdset: the curl here predates curl_multi_waitfds) and the
 * sooner of curl's own timer and ours (a start, a retry, an idle limit).  A socket numbered
 * FD_SETSIZE or more is not reported by curl: then, and while curl has a transfer but no
 * socket yet (a name being resolved), it is looked at again within 50 ms. */
static int net_pollfds(backend *b, struct pollfd *out, int max, double *due)
{
    net_backend *nb = (net_backend *)b;
    fd_set rd, wr, ex;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_ZERO(&ex);
    int maxfd = -1, n = 0;
    curl_multi_fdset(nb->multi, &rd, &wr, &ex, &maxfd);
    for (int fd = 0; fd <= maxfd && n < max; fd++) {
        short ev = (short)((FD_ISSET(fd, &rd) ? POLLIN : 0) | (FD_ISSET(fd, &wr) ? POLLOUT : 0) |
                           (FD_ISSET(fd, &ex) ? POLLPRI : 0));
        if (ev)
            out[n++] = (struct pollfd){ .fd = fd, .events = ev };
    }
    double t = mono_now();
    double d = next_deadline(nb, t);
    long ct = -1;
    curl_multi_timeout(nb->multi, &ct);
    if (ct >= 0 && (d < 0 || t + ct / 1000.0 < d))
        d = t + ct / 1000.0;
    int in_curl = nb->running > 0 || nb->info_state == NET_INFO_MODELS || nb->info_state == NET_INFO_PROPS;
    if (in_curl && !n && (d < 0 || d > t + 0.05))
        d = t + 0.05;
    *due = d;
    return n;
}

static void net_free(backend *b)
{
    net_backend *nb = (net_backend *)b;
    for (size_t i = 0; i < nb->nx; i++) {
        xfer_stop(nb, nb->xs[i]);
        http_xfer_free(&nb->xs[i]->h);
        sse_free(&nb->xs[i]->sse);
        free(nb->xs[i]);
    }
    for (size_t i = 0; i < nb->nreqs; i++)
        req_free(nb->reqs[i]);
    net_score_free_all(nb);
    for (size_t i = 0; i < nb->nno_n; i++)
        free(nb->no_n[i]);
    free(nb->no_n);
    free(nb->xs);
    free(nb->reqs);
    net_info_free(nb);
    curl_multi_cleanup(nb->multi);
    if (nb->key) {
        memset(nb->key, 0, strlen(nb->key));
        free(nb->key);
    }
    free(nb->base_url);
    free(nb);
}

static const backend_ops net_ops = { net_start, net_cancel, net_pump, net_pollfds, net_free, net_score_start };

backend *net_backend_new(const gen_settings *s, const char *api_key, char *err, size_t errlen)
{
    wire_kind kind;
    if (wire_kind_parse(s->backend, &kind) < 0) {
        snprintf(err, errlen, "backend '%s' is not an HTTP backend", s->backend ? s->backend : "(none)");
        return NULL;
    }
    static int curl_ready;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            snprintf(err, errlen, "libcurl could not be initialised");
            return NULL;
        }
        curl_ready = 1;
    }
    net_backend *nb = xcalloc(1, sizeof *nb);
    nb->base.ops = &net_ops;
    nb->base.name = s->backend && !strcmp(s->backend, "openai-chat") ? "openai-chat"
                  : kind == WIRE_LLAMACPP ? "llamacpp" : "openai";
    nb->kind = kind;
    const char *def = kind == WIRE_LLAMACPP ? "http://127.0.0.1:8080" : "https://api.openai.com/v1";
    nb->base_url = xstrdup(s->base_url && *s->base_url ? s->base_url : def);
    nb->key = api_key && *api_key ? xstrdup(api_key) : NULL;
    nb->multi = curl_multi_init();
    nb->concurrency = s->concurrency > 0 ? s->concurrency : 16;
    const char *idle = getenv("TERMLOOM_IDLE_TIMEOUT");
    nb->idle_s = idle && atol(idle) > 0 ? atol(idle) : 120;
    nb->rng = (unsigned)time(NULL) ^ (unsigned)getpid() << 8;
    if (!nb->multi) {
        snprintf(err, errlen, "libcurl could not create a multi handle");
        free(nb->base_url);
        free(nb->key);
        free(nb);
        return NULL;
    }
    return &nb->base;
}
