/* tests/fuzz/fuzz_sse.c — libFuzzer target: the SSE parser never crashes, and splitting the
 * input anywhere gives exactly the events of one whole read. */
#include "net/sse.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int collect(void *ud, const char *data, size_t len)
{
    buf *b = ud;
    buf_add(b, data, len);
    buf_addc(b, '\0');
    if (len && sse_utf8_complete(data, len) > len)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] % 17 + 1;   /* first byte picks the read size */
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    buf whole = { 0 }, parts = { 0 };
    sse_parser p;
    sse_init(&p, 4096);
    int r1 = sse_feed(&p, s, n, collect, &whole);
    if (!r1)
        r1 = sse_finish(&p, collect, &whole);
    sse_free(&p);
    sse_init(&p, 4096);
    int r2 = 0;
    for (size_t i = 0; i < n && !r2; i += step)
        r2 = sse_feed(&p, s + i, n - i < step ? n - i : step, collect, &parts);
    if (!r2)
        r2 = sse_finish(&p, collect, &parts);
    sse_free(&p);
    if (r1 != r2 || (r1 == 0 && (whole.len != parts.len || (whole.len && memcmp(whole.data, parts.data, whole.len)))))
        abort();
    buf_free(&whole);
    buf_free(&parts);
    return 0;
}
