/* net/http.h — one HTTP transfer on libcurl, and the retry policy (API.md "Errors").
 *
 * A transfer's curl callbacks only store bytes and headers; nothing is parsed or reported
 * from inside them (the backend parses in its pump).  Received bytes are capped: past
 * `cap` the transfer is aborted and `overflow` set.  There is no total timeout: the owner
 * enforces an idle one from last_rx (libcurl's low-speed check averages over a window, so
 * a slow drip would never trip it, and a stall mid-stream would trip it late). */
#ifndef NET_HTTP_H
#define NET_HTTP_H
#include "core/mem.h"
#include <curl/curl.h>
#include <time.h>

typedef struct {
    CURL   *easy;
    struct curl_slist *headers;
    char    errbuf[CURL_ERROR_SIZE];
    char   *body;             /* request body (owned) */
    buf     rx;               /* bytes received and not yet consumed */
    size_t  rx_total;         /* all body bytes received */
    size_t  cap;              /* unconsumed bytes allowed before aborting */
    int     overflow;
    long    status;           /* from the last status line; 0 before one arrived */
    char    content_type[96];
    char    server[64];       /* the Server header ("llama.cpp"), "" when not sent */
    double  retry_after;      /* seconds asked by the server, -1 when not said */
    double  last_rx;          /* monotonic time bytes last arrived (or the start) */
} http_xfer;

/* Prepares x (which must be zeroed) to POST body (taken over) to url; a NULL body GETs. */
int  http_xfer_init(http_xfer *x, const char *url, char *body, const char *api_key,
                    int stream, size_t cap, char *err, size_t errlen);
void http_xfer_free(http_xfer *x);
/* Drops the first n received bytes. */
void http_xfer_consume(http_xfer *x, size_t n);
/* Resets what was received, for a new attempt with the same easy handle. */
void http_xfer_reset(http_xfer *x);

/* Retry-After: "retry-after-ms" wins, then Retry-After as seconds or an HTTP date. -1 if
 * neither says anything usable. */
double http_retry_after(const char *ms, const char *value, time_t now);
/* Should a response with this status (and error code) be retried? */
int  http_status_retryable(long status, const char *code);
/* Should a transfer that failed with this curl code be retried (dropped connections)? */
int  http_curl_retryable(CURLcode rc);
/* Seconds to wait before attempt number `attempt` (1 = the first retry): 0.5 s doubling,
 * jitter in [0,1) spreads it by ±25 %; the server's wish wins; capped at 120 s. */
/* The longest wait before a retry, asked by the server or not; a server asking for more is
 * not retried (its error says so). */
#define HTTP_RETRY_AFTER_MAX 60
double http_backoff(int attempt, double retry_after, double jitter);
/* One line: "401: the API key was refused (Incorrect API key provided)". */
char *http_failure_line(long status, const char *server_message, const char *code);
/* True when libcurl resolves names without blocking. */
int  http_async_dns(void);
#endif
