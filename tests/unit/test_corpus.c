/* tests/unit/test_corpus.c — every server response in tests/data/servers (real shapes: the
 * llama.cpp captures and hand-written ones with NUL alternatives, lone bytes, empty, null and
 * short top lists, legacy "bytes:" tokens, a top list without the sampled token) through the
 * wire parser, and every tree in tests/data/looms through the importer.  MANIFEST says what
 * each response must give: its kind, the number of tokens, the completion's bytes. */
#include "tests/test.h"
#include "core/formats.h"
#include "core/mem.h"
#include "net/sse.h"
#include "net/wire.h"
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    buf    text;
    size_t tokens, no_logprob, bad_order;
} heard;

static void on_token(void *ud, int c, const char *t, size_t n, double lp, const tree_alt *top, size_t ntop)
{
    heard *h = ud;
    (void)c;
    h->tokens++;
    h->no_logprob += isnan(lp);
    for (size_t i = 1; i < ntop; i++)
        h->bad_order += top[i].logprob > top[i - 1].logprob;
    buf_add(&h->text, t, n);
}
static void on_text(void *ud, int c, const char *t, size_t n) { (void)c; buf_add(&((heard *)ud)->text, t, n); }
static void on_finish(void *ud, int c, const char *r) { (void)ud, (void)c, (void)r; }
static void on_error(void *ud, int c, const char *m) { (void)ud, (void)c, (void)m; }
static void on_model(void *ud, const char *m) { (void)ud, (void)m; }

typedef struct { wire_kind kind; const wire_sink *sink; int bad; } feed_ctx;

static int on_event(void *ud, const char *data, size_t len)
{
    feed_ctx *f = ud;
    int r = wire_parse_chunk(f->kind, data, len, f->sink);
    if (r == WIRE_BAD || r == WIRE_ERROR)
        f->bad++;
    return r == WIRE_END;
}

static int hexval(char c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }

TEST(corpus_server_shapes_parse_whole)
{
    size_t ml;
    char *man = test_slurp("tests/data/servers/MANIFEST", &ml);
    REQUIRE(man);
    int files = 0;
    for (char *line = strtok(man, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char file[128], kind[16], ntok[16], hex[512];
        if (sscanf(line, "%127s %15s %15s %511s", file, kind, ntok, hex) != 4)
            continue;
        files++;
        char *path = xasprintf("tests/data/servers/%s", file);
        size_t len;
        char *data = test_slurp(path, &len);
        CHECKF(data != NULL, "%s: cannot read", path);
        wire_kind k = !strcmp(kind, "chat") ? WIRE_CHAT : !strcmp(kind, "llamacpp") ? WIRE_LLAMACPP : WIRE_OPENAI;
        heard h = { 0 };
        wire_sink sink = { on_token, on_text, on_finish, on_error, on_model, &h };
        int bad = 0;
        if (data && strstr(file, ".sse")) {
            sse_parser p;
            sse_init(&p, 0);
            feed_ctx f = { k, &sink, 0 };
            bad = sse_feed(&p, data, len, on_event, &f) < 0 || f.bad;
            sse_free(&p);
        } else if (data) {
            bad = wire_parse_body(k, data, len, &sink) != WIRE_OK;
        }
        CHECKF(!bad, "%s: the parser refused it", file);
        if (strcmp(ntok, "-"))
            CHECKF(h.tokens == (size_t)atoi(ntok), "%s: %zu tokens, the server sent %s", file, h.tokens, ntok);
        else
            CHECKF(h.tokens > 0, "%s: no tokens", file);
        CHECKF(!h.no_logprob && !h.bad_order, "%s: %zu tokens without a logprob, %zu lists out of order", file,
               h.no_logprob, h.bad_order);
        if (strcmp(hex, "-")) {
            size_t n = strlen(hex) / 2;
            char *want = xmalloc(n + 1);
            for (size_t i = 0; i < n; i++)
                want[i] = (char)(hexval(hex[2 * i]) * 16 + hexval(hex[2 * i + 1]));
            CHECKF(h.text.len == n && !memcmp(h.text.data, want, n), "%s: the text's bytes differ (%zu vs %zu)", file,
                   h.text.len, n);
            free(want);
        }
        buf_free(&h.text);
        free(data);
        free(path);
    }
    CHECK(files >= 8);
    free(man);
}

TEST(corpus_loom_trees_import_with_their_tokens)
{
    DIR *d = opendir("tests/data/looms");
    REQUIRE(d);
    struct dirent *e;
    int files = 0;
    char err[512];
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, ".json"))
            continue;
        files++;
        char *path = xasprintf("tests/data/looms/%s", e->d_name);
        session s;
        session_init(&s);
        char summary[512];
        formats_opts o = { .summary = summary, .summarylen = sizeof summary };
        int rc = formats_import_file(path, &o, &s, NULL, err, sizeof err);
        CHECKF(rc == FORMATS_OK, "%s: %s", path, err);
        size_t tokens = 0;
        for (int32_t id = 0; rc == FORMATS_OK && id < tree_capacity(s.t); id++)
            if (tree_get(s.t, id))
                tokens += tree_get(s.t, id)->ntokens;
        CHECKF(rc != FORMATS_OK || tokens > 0, "%s: imported without its tokens", path);
        CHECKF(rc != FORMATS_OK || !summary[0], "%s: %s", path, summary);
        session_free(&s);
        free(path);
    }
    closedir(d);
    CHECK(files >= 3);
}
