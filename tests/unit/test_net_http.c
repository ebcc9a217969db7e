/* tests/unit/test_net_http.c — the retry policy and failure lines (API.md "Errors"). */
#include "tests/test.h"
#include "net/http.h"
#include <stdlib.h>

TEST(http_retry_after_forms)
{
    time_t now = 1700000000;
    CHECK_NEAR(http_retry_after("1500", "7", now), 1.5, 1e-9);   /* retry-after-ms wins */
    CHECK_NEAR(http_retry_after(NULL, "7", now), 7, 0);
    CHECK_NEAR(http_retry_after(NULL, "Tue, 14 Nov 2023 22:13:30 GMT", now), 10, 0);
    CHECK_NEAR(http_retry_after(NULL, "Tue, 14 Nov 2023 22:13:00 GMT", now), 0, 0);   /* past */
    CHECK(http_retry_after(NULL, "soon", now) < 0);
    CHECK(http_retry_after(NULL, NULL, now) < 0);
}

TEST(http_backoff_doubles_with_jitter_and_cap)
{
    CHECK_NEAR(http_backoff(1, -1, 0.5), 0.5, 1e-9);
    CHECK_NEAR(http_backoff(2, -1, 0.5), 1.0, 1e-9);
    CHECK_NEAR(http_backoff(3, -1, 0.5), 2.0, 1e-9);
    CHECK(http_backoff(1, -1, 0.0) >= 0.37 && http_backoff(1, -1, 0.999) <= 0.63);
    CHECK_NEAR(http_backoff(1, 3, 0.9), 3, 0);      /* the server's wish */
    CHECK_NEAR(http_backoff(1, 900, 0.5), HTTP_RETRY_AFTER_MAX, 0);  /* capped */
    CHECK_NEAR(http_backoff(30, -1, 0.5), HTTP_RETRY_AFTER_MAX, 0);
}

TEST(http_which_failures_are_retried)
{
    long yes[] = { 408, 409, 429, 500, 502, 503, 504, 529 };
    long no[] = { 400, 401, 402, 403, 404, 422 };
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        CHECKF(http_status_retryable(yes[i], NULL), "%ld", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        CHECKF(!http_status_retryable(no[i], NULL), "%ld", no[i]);
    CHECK(!http_status_retryable(429, "insufficient_quota"));
    CHECK(http_status_retryable(429, "rate_limit_exceeded"));
    CHECK(http_curl_retryable(CURLE_COULDNT_CONNECT));
    CHECK(http_curl_retryable(CURLE_RECV_ERROR));
    CHECK(!http_curl_retryable(CURLE_URL_MALFORMAT));
}

TEST(http_failure_lines)
{
    char *l = http_failure_line(401, "Incorrect API key provided", "invalid_api_key");
    CHECK_STR(l, "401: the API key was refused (Incorrect API key provided)");
    free(l);
    l = http_failure_line(404, NULL, NULL);
    CHECK_STR(l, "404: not found (check --base-url and --model)");
    free(l);
    l = http_failure_line(429, "You exceeded your current quota", "insufficient_quota");
    CHECK_STR(l, "429: quota exhausted (You exceeded your current quota)");
    free(l);
}
