/* tests/unit/test_sse.c — the SSE parser and UTF-8 hold-back. */
#include "tests/test.h"
#include "net/sse.h"
#include <stdlib.h>

typedef struct { buf all; int n; int stop_after; } collect;

static int on_event(void *ud, const char *data, size_t len)
{
    collect *c = ud;
    buf_printf(&c->all, "[%.*s]", (int)len, data);
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

/* Feeds text in pieces cut at a and b; returns the events as "[..][..]". */
static char *parse_split(const char *text, size_t len, size_t a, size_t b, int *ret)
{
    sse_parser p;
    collect c = { 0 };
    sse_init(&p, 0);
    int r = sse_feed(&p, text, a, on_event, &c);
    if (!r)
        r = sse_feed(&p, text + a, b - a, on_event, &c);
    if (!r)
        r = sse_feed(&p, text + b, len - b, on_event, &c);
    if (!r)
        r = sse_finish(&p, on_event, &c);
    if (ret)
        *ret = r;
    sse_free(&p);
    buf_adds(&c.all, "");
    return buf_steal(&c.all);
}

static const char sample[] =
    "\xef\xbb\xbf: keep-alive\r\n\r\n"
    "data: {\"a\":1}\r\n\r\n"
    "event: message\ndata: line one\ndata: line two\n\n"
    ": OPENROUTER PROCESSING\n\n"
    "data:nospace\rdata\r\r"
    "id: 7\n\n"
    "data: [DONE]\n\n";
static const char sample_events[] =
    "[{\"a\":1}][line one\nline two][nospace\n][[DONE]]";

TEST(sse_parses_every_feature_in_one_read)
{
    char *got = parse_split(sample, sizeof sample - 1, 0, 0, NULL);
    CHECK_STR(got, sample_events);
    free(got);
}

TEST(sse_split_at_every_pair_of_positions)
{
    size_t n = sizeof sample - 1;
    int bad = 0;
    for (size_t a = 0; a <= n && bad < 3; a++)
        for (size_t b = a; b <= n && bad < 3; b++) {
            char *got = parse_split(sample, n, a, b, NULL);
            if (strcmp(got, sample_events)) {
                CHECKF(0, "split at %zu,%zu: %s", a, b, got);
                bad++;
            }
            free(got);
        }
}

TEST(sse_byte_by_byte_real_llamacpp_stream)
{
    const char *path = test_fixture("llamacpp/v1_completions_stream.sse");
    REQUIRE(path);
    size_t len;
    char *text = test_slurp(path, &len);
    REQUIRE(text);
    sse_parser p;
    collect whole = { 0 }, bytes = { 0 };
    sse_init(&p, 0);
    CHECK_INT(sse_feed(&p, text, len, on_event, &whole), 0);
    sse_free(&p);
    sse_init(&p, 0);
    for (size_t i = 0; i < len; i++)
        CHECK_INT(sse_feed(&p, text + i, 1, on_event, &bytes), 0);
    sse_free(&p);
    CHECK_INT(whole.n, 8);   /* 7 chunks and [DONE] */
    CHECK_INT(bytes.n, whole.n);
    CHECK(whole.all.len == bytes.all.len && !memcmp(whole.all.data, bytes.all.data, whole.all.len));
    CHECK(strstr(whole.all.data, "[[DONE]]") != NULL);
    buf_free(&whole.all);
    buf_free(&bytes.all);
    free(text);
}

TEST(sse_crlf_split_between_cr_and_lf_is_one_line_end)
{
    const char t[] = "data: x\r\n\r\ndata: y\r\n\r\n";
    for (size_t a = 0; a < sizeof t - 1; a++) {
        char *got = parse_split(t, sizeof t - 1, a, a, NULL);
        CHECK_STR(got, "[x][y]");
        free(got);
    }
}

TEST(sse_incomplete_last_event_is_not_dispatched_but_unterminated_block_is)
{
    char *got = parse_split("data: a\n\ndata: {\"cut", 20, 3, 12, NULL);
    CHECK_STR(got, "[a]");
    free(got);
    got = parse_split("data: a\n\ndata: b\n", 17, 0, 0, NULL);
    CHECK_STR(got, "[a][b]");
    free(got);
}

TEST(sse_callback_can_stop_and_overflow_is_an_error)
{
    sse_parser p;
    collect c = { .stop_after = 1 };
    sse_init(&p, 0);
    CHECK_INT(sse_feed(&p, "data: 1\n\ndata: 2\n\n", 18, on_event, &c), 1);
    CHECK_INT(c.n, 1);
    sse_free(&p);
    buf_free(&c.all);

    collect d = { 0 };
    sse_init(&p, 64);
    char big[200];
    memset(big, 'x', sizeof big);
    CHECK_INT(sse_feed(&p, "data: ", 6, on_event, &d), 0);
    CHECK_INT(sse_feed(&p, big, sizeof big, on_event, &d), -1);
    CHECK_INT(sse_feed(&p, "\n\n", 2, on_event, &d), -1);
    CHECK_INT(d.n, 0);
    sse_free(&p);
    buf_free(&d.all);
}


/* A whole stream whose every line ends in CR LF (as many servers send it): multi-line data
 * is joined with "\n", an empty data line is kept, comments and other fields between data
 * lines change nothing.  Were CR and LF two line ends, each data line would be an event. */
static const char crlf_stream[] =
    ": hello\r\n\r\n"
    "event: message\r\nid: 1\r\ndata: one\r\ndata: two\r\n\r\n"
    "data: a\r\n: ping\r\ndata:\r\ndata: b\r\nretry: 10\r\n\r\n"
    "data: {\"x\":\"y\"}\r\n\r\n"
    "data: [DONE]\r\n\r\n";
static const char crlf_events[] = "[one\ntwo][a\n\nb][{\"x\":\"y\"}][[DONE]]";

TEST(sse_multiline_crlf_stream_at_every_pair_of_splits)
{
    size_t n = sizeof crlf_stream - 1;
    int bad = 0;
    for (size_t a = 0; a <= n && bad < 3; a++)
        for (size_t b = a; b <= n && bad < 3; b++) {
            char *got = parse_split(crlf_stream, n, a, b, NULL);
            if (strcmp(got, crlf_events)) {
                CHECKF(0, "split at %zu,%zu: %s", a, b, got);
                bad++;
            }
            free(got);
        }
}

TEST(sse_crlf_split_in_every_feed_between_cr_and_lf)
{
    /* Each feed ends on the CR, the next starts with its LF. */
    static const char *const feeds[] = { "data: one\r", "\ndata: two\r", "\n\r", "\ndata: three\r",
                                         "\n\r", "\n" };
    sse_parser p;
    collect c = { 0 };
    sse_init(&p, 0);
    for (size_t i = 0; i < sizeof feeds / sizeof *feeds; i++)
        CHECK_INT(sse_feed(&p, feeds[i], strlen(feeds[i]), on_event, &c), 0);
    CHECK_INT(sse_finish(&p, on_event, &c), 0);
    buf_adds(&c.all, "");
    CHECK_STR(c.all.data, "[one\ntwo][three]");
    CHECK_INT(c.n, 2);
    sse_free(&p);
    buf_free(&c.all);
}
