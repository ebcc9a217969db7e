/* net/http.c — see http.h. */
#include "net/http.h"
#include "core/mono.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    http_xfer *x = ud;
    size_t len = size * n;
    x->last_rx = mono_now();
    if (x->rx.len + len > x->cap) {
        x->overflow = 1;
        return 0;   /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    buf_add(&x->rx, p, len);
    x->rx_total += len;
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    http_xfer *x = ud;
    size_t len = size * n;
    x->last_rx = mono_now();
    if (len > 5 && !strncmp(p, "HTTP/", 5)) {
        /* A new response (after 100 Continue, say): forget the previous one's headers. */
        const char *sp = memchr(p, ' ', len);
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        x->content_type[0] = '\0';
        x->server[0] = '\0';
        x->retry_after = -1;
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon)
        return len;
    size_t nl = (size_t)(colon - p);
    const char *v = colon + 1;
    size_t vl = len - nl - 1;
    while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
    char value[128];
    snprintf(value, sizeof value, "%.*s", (int)(vl < sizeof value ? vl : sizeof value - 1), v);
    if (nl == 12 && !strncasecmp(p, "content-type", 12)) {
        snprintf(x->content_type, sizeof x->content_type, "%.95s", value);
    } else if (nl == 6 && !strncasecmp(p, "server", 6)) {
        snprintf(x->server, sizeof x->server, "%.63s", value);
    } else if (nl == 14 && !strncasecmp(p, "retry-after-ms", 14)) {
        double r = http_retry_after(value, NULL, time(NULL));
        if (r >= 0)
            x->retry_after = r;
    } else if (nl == 11 && !strncasecmp(p, "retry-after", 11)) {
        if (x->retry_after < 0)   /* retry-after-ms, when sent, wins */
            x->retry_after = http_retry_after(NULL, value, time(NULL));
    }
    return len;
}

int http_xfer_init(http_xfer *x, const char *url, char *body, const char *api_key,
                   int stream, size_t cap, char *err, size_t errlen)
{
    x->body = body;
    x->cap = cap;
    x->retry_after = -1;
    x->easy = curl_easy_init();
    if (!x->easy) {
        snprintf(err, errlen, "libcurl could not create a transfer");
        return -1;
    }
    CURL *e = x->easy;
    x->headers = curl_slist_append(x->headers, "Content-Type: application/json");
    x->headers = curl_slist_append(x->headers, stream ? "Accept: text/event-stream" : "Accept: application/json");
    x->headers = curl_slist_append(x->headers, "Expect:");
    if (api_key && *api_key) {
        char *h = xasprintf("Authorization: Bearer %s", api_key);
        x->headers = curl_slist_append(x->headers, h);
        memset(h, 0, strlen(h));
        free(h);
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    if (x->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(x->body));
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(e, CURLOPT_USERAGENT, "termloom");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    if (!getenv("NO_PROXY") && !getenv("no_proxy"))   /* a local server is never behind a proxy */
        curl_easy_setopt(e, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    return 0;
}

void http_xfer_free(http_xfer *x)
{
    if (x->easy)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x->body);
    buf_free(&x->rx);
    memset(x, 0, sizeof *x);
}

void http_xfer_consume(http_xfer *x, size_t n)
{
    if (n >= x->rx.len) {
        buf_clear(&x->rx);
        return;
    }
    memmove(x->rx.data, x->rx.data + n, x->rx.len - n);
    x->rx.len -= n;
    x->rx.data[x->rx.len] = '\0';
}

void http_xfer_reset(http_xfer *x)
{
    buf_clear(&x->rx);
    x->rx_total = 0;
    x->overflow = 0;
    x->status = 0;
    x->content_type[0] = '\0';
    x->retry_after = -1;
    x->errbuf[0] = '\0';
}

double http_retry_after(const char *ms, const char *value, time_t now)
{
    char *end;
    if (ms && *ms) {
        double v = strtod(ms, &end);
        if (end != ms && v >= 0)
            return v / 1000.0;
    }
    if (!value || !*value)
        return -1;
    double v = strtod(value, &end);
    if (end != value && (*end == '\0' || isspace((unsigned char)*end)) && v >= 0)
        return v;
    /* An HTTP date: "Wed, 21 Oct 2015 07:28:00 GMT". */
    time_t t = curl_getdate(value, NULL);
    if (t == (time_t)-1)
        return -1;
    return t > now ? (double)(t - now) : 0;
}

int http_status_retryable(long status, const char *code)
{
    if (status == 429 && code && !strcmp(code, "insufficient_quota"))
        return 0;
    return status == 408 || status == 409 || status == 429 || status == 500 || status == 502 ||
           status == 503 || status == 504 || status == 529;
}

int http_curl_retryable(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR ||
           rc == CURLE_SEND_ERROR || rc == CURLE_PARTIAL_FILE || rc == CURLE_OPERATION_TIMEDOUT;
}

double http_backoff(int attempt, double retry_after, double jitter)
{
    double d;
    if (retry_after >= 0) {
        d = retry_after;
    } else {
        d = 0.5;
        for (int i = 1; i < attempt && d < HTTP_RETRY_AFTER_MAX; i++)
            d *= 2;
        d *= 0.75 + 0.5 * jitter;
    }
    return d > HTTP_RETRY_AFTER_MAX ? HTTP_RETRY_AFTER_MAX : d;
}

static const char *status_phrase(long status, const char *code)
{
    switch (status) {
    case 400: return "the server rejected the request";
    case 401: return "the API key was refused";
    case 402: return "payment required";
    case 403: return "access denied";
    case 404: return "not found (check --base-url and --model)";
    case 408: return "the server timed out";
    case 409: return "conflict";
    case 413: return "the request is too large";
    case 422: return "the server could not use the request";
    case 429: return code && !strcmp(code, "insufficient_quota") ? "quota exhausted" : "rate limited";
    case 500: return "server error";
    case 502: return "bad gateway";
    case 503: return "service unavailable";
    case 504: return "gateway timeout";
    case 529: return "server overloaded";
    case 301: case 302: case 303: case 307: case 308:
              return "a redirect, not followed (give the final address as --base-url)";
    default:  return status >= 500 ? "server error" : status >= 400 ? "request failed"
                   : status >= 300 ? "a redirect, not followed" : "unexpected answer";
    }
}

char *http_failure_line(long status, const char *msg, const char *code)
{
    if (msg && *msg)
        return xasprintf("%ld: %s (%s)", status, status_phrase(status, code), msg);
    return xasprintf("%ld: %s", status, status_phrase(status, code));
}

int http_async_dns(void)
{
    curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    return v && (v->features & CURL_VERSION_ASYNCHDNS);
}
