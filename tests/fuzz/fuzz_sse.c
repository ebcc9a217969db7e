/* tests/fuzz/fuzz_sse.c — libFuzzer target: the SSE parser never crashes, splitting the
 * input anywhere gives exactly the events of one whole read, and every event survives the
 * response parsers of all three wire formats (as a chunk and as a whole body). */
#include "net/sse.h"
#include "core/text.h"
#include "net/wire.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void no_token(void *ud, int c, const char *t, size_t n, double lp, const tree_alt *top, size_t ntop)
{
    (void)ud, (void)c, (void)lp;
    for (size_t i = 0; i < ntop; i++)   /* touch every byte the parser hands out */
        if (top[i].len && top[i].text[top[i].len - 1] == 1)
            n++;
    if (n && t[n - 1] == 2)
        ntop++;
}
static void no_text(void *ud, int c, const char *t, size_t n) { (void)ud, (void)c, (void)t, (void)n; }
static void no_text_error(void *ud, int c, const char *m) { (void)ud, (void)c, (void)strlen(m); }
static void no_finish(void *ud, int c, const char *r) { (void)ud, (void)c, (void)strlen(r); }
static void no_model(void *ud, const char *m) { (void)ud, (void)strlen(m); }

static int collect(void *ud, const char *data, size_t len)
{
    static const wire_sink k = { no_token, no_text, no_finish, no_text_error, no_model, NULL };
    for (int kind = WIRE_OPENAI; kind <= WIRE_LLAMACPP; kind++) {
        wire_parse_chunk((wire_kind)kind, data, len, &k);
        wire_parse_body((wire_kind)kind, data, len, &k);
    }
    char *m, *code;
    wire_error_info(data, len, &m, &code);
    free(m);
    free(code);
    buf *b = ud;
    buf_add(b, data, len);
    buf_addc(b, '\0');
    if (len && text_complete_prefix(data, len) > len)
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
