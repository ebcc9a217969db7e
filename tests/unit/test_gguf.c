/* tests/unit/test_gguf.c — malformed GGUF files are refused with one line naming the
 * problem, never a crash: files built here byte by byte (a tiny valid Llama model, then
 * each field broken in turn), and the shipped model cut short at many offsets. */
#include "tests/test.h"
#include "core/gguf.h"
#include "core/llama.h"
#include "core/mem.h"
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a GGUF writer ---- */

typedef struct {
    buf      kv, ti, data;       /* metadata entries, tensor index, tensor bytes */
    uint64_t nkv, nt;
    uint32_t align;
} gw;

static void put(buf *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        buf_addc(b, (char)(v >> 8 * i));
}

static void put_str(buf *b, const char *s)
{
    put(b, strlen(s), 8);
    buf_adds(b, s);
}

static void kv_head(gw *w, const char *key, uint32_t type)
{
    put_str(&w->kv, key);
    put(&w->kv, type, 4);
    w->nkv++;
}

static void kv_u32(gw *w, const char *key, uint32_t v) { kv_head(w, key, GGUF_U32); put(&w->kv, v, 4); }
static void kv_i32(gw *w, const char *key, int32_t v) { kv_head(w, key, GGUF_I32); put(&w->kv, (uint32_t)v, 4); }
static void kv_bool(gw *w, const char *key, int v) { kv_head(w, key, GGUF_BOOL); put(&w->kv, v != 0, 1); }
static void kv_str(gw *w, const char *key, const char *s) { kv_head(w, key, GGUF_STRING); put_str(&w->kv, s); }

static void kv_f32(gw *w, const char *key, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, 4);
    kv_head(w, key, GGUF_F32);
    put(&w->kv, bits, 4);
}

static void kv_strs(gw *w, const char *key, int n, const char *const *items)
{
    kv_head(w, key, GGUF_ARRAY);
    put(&w->kv, GGUF_STRING, 4);
    put(&w->kv, (uint64_t)n, 8);
    for (int i = 0; i < n; i++)
        put_str(&w->kv, items[i]);
}

static void kv_i32s(gw *w, const char *key, int n, const int32_t *v)
{
    kv_head(w, key, GGUF_ARRAY);
    put(&w->kv, GGUF_I32, 4);
    put(&w->kv, (uint64_t)n, 8);
    for (int i = 0; i < n; i++)
        put(&w->kv, (uint32_t)v[i], 4);
}

/* An index entry only: name, shape, type, offset as given. */
static void tensor_entry(gw *w, const char *name, int nd, const uint64_t *ne, uint32_t type, uint64_t off)
{
    put_str(&w->ti, name);
    put(&w->ti, (uint64_t)nd, 4);
    for (int i = 0; i < nd; i++)
        put(&w->ti, ne[i], 8);
    put(&w->ti, type, 4);
    put(&w->ti, off, 8);
    w->nt++;
}

/* A tensor with its data (small values) at the next aligned offset. */
static void tensor(gw *w, const char *name, uint32_t type, uint64_t ne0, uint64_t ne1)
{
    uint32_t al = w->align ? w->align : 32;
    while (w->data.len % al)
        buf_addc(&w->data, 0);
    uint64_t ne[2] = { ne0, ne1 };
    tensor_entry(w, name, ne1 > 1 ? 2 : 1, ne, type, w->data.len);
    uint64_t n = ne0 * ne1;
    for (uint64_t i = 0; i < n; i++) {
        int v = (int)(i * 7 % 13) - 6;
        if (type == GGUF_T_F32) {
            float f = 0.01f * (float)v;
            uint32_t bits;
            memcpy(&bits, &f, 4);
            put(&w->data, bits, 4);
        } else if (type == GGUF_T_F16)
            put(&w->data, (uint64_t)(v < 0 ? 0xa000 : 0x2000) + (uint64_t)(v < 0 ? -v : v), 2);
        else {
            if (i % GGUF_Q8_0_BLOCK == 0)
                put(&w->data, 0x2000, 2);    /* the block's scale, about 0.008 */
            buf_addc(&w->data, (char)v);
        }
    }
}

/* Header, metadata, index, padding, data. */
static unsigned char *gw_build(gw *w, size_t *len)
{
    buf b = {0};
    buf_add(&b, "GGUF", 4);
    put(&b, 3, 4);
    put(&b, w->nt, 8);
    put(&b, w->nkv, 8);
    buf_add(&b, w->kv.data, w->kv.len);
    buf_add(&b, w->ti.data, w->ti.len);
    uint32_t al = w->align ? w->align : 32;
    while (b.len % al)
        buf_addc(&b, 0);
    buf_add(&b, w->data.data, w->data.len);
    *len = b.len;
    buf_free(&w->kv);
    buf_free(&w->ti);
    buf_free(&w->data);
    return (unsigned char *)buf_steal(&b);
}

enum { DIM = 32, FFN = 64, NVOCAB = 8 };

/* A whole (tiny) Llama model; metadata key `skip` is left for the caller to write. */
static void tiny_llama(gw *w, uint32_t mat, const char *skip)
{
    static const char *const toks[NVOCAB] = { "a", "b", "c", "\xc4\xa0", "ab", "\xc4\x8a", "<s>", "</s>" };
    static const char *const merges[] = { "a b" };
    static const int32_t types[NVOCAB] = { 1, 1, 1, 1, 1, 1, 3, 3 };
#define SKIP(k) (skip && !strcmp(skip, k))
    if (!SKIP("general.architecture")) kv_str(w, "general.architecture", "llama");
    if (!SKIP("llama.context_length")) kv_u32(w, "llama.context_length", 32);
    if (!SKIP("llama.embedding_length")) kv_u32(w, "llama.embedding_length", DIM);
    if (!SKIP("llama.feed_forward_length")) kv_u32(w, "llama.feed_forward_length", FFN);
    if (!SKIP("llama.block_count")) kv_u32(w, "llama.block_count", 1);
    if (!SKIP("llama.attention.head_count")) kv_u32(w, "llama.attention.head_count", 2);
    if (!SKIP("llama.attention.head_count_kv")) kv_u32(w, "llama.attention.head_count_kv", 2);
    if (!SKIP("llama.rope.dimension_count")) kv_u32(w, "llama.rope.dimension_count", DIM / 2);
    if (!SKIP("llama.rope.freq_base")) kv_f32(w, "llama.rope.freq_base", 10000.0f);
    if (!SKIP("llama.attention.layer_norm_rms_epsilon")) kv_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    if (!SKIP("tokenizer.ggml.model")) kv_str(w, "tokenizer.ggml.model", "gpt2");
    if (!SKIP("tokenizer.ggml.tokens")) kv_strs(w, "tokenizer.ggml.tokens", NVOCAB, toks);
    if (!SKIP("tokenizer.ggml.merges")) kv_strs(w, "tokenizer.ggml.merges", 1, merges);
    if (!SKIP("tokenizer.ggml.token_type")) kv_i32s(w, "tokenizer.ggml.token_type", NVOCAB, types);
    if (!SKIP("tokenizer.ggml.bos_token_id")) kv_u32(w, "tokenizer.ggml.bos_token_id", 6);
    if (!SKIP("tokenizer.ggml.eos_token_id")) kv_u32(w, "tokenizer.ggml.eos_token_id", 7);
    if (!SKIP("tokenizer.ggml.add_bos_token")) kv_bool(w, "tokenizer.ggml.add_bos_token", 1);
#undef SKIP
    tensor(w, "token_embd.weight", mat, DIM, NVOCAB);
    tensor(w, "output_norm.weight", GGUF_T_F32, DIM, 1);
    tensor(w, "blk.0.attn_norm.weight", GGUF_T_F32, DIM, 1);
    tensor(w, "blk.0.ffn_norm.weight", GGUF_T_F16, DIM, 1);
    tensor(w, "blk.0.attn_q.weight", mat, DIM, DIM);
    tensor(w, "blk.0.attn_k.weight", mat, DIM, DIM);
    tensor(w, "blk.0.attn_v.weight", mat, DIM, DIM);
    tensor(w, "blk.0.attn_output.weight", mat, DIM, DIM);
    tensor(w, "blk.0.ffn_gate.weight", mat, DIM, FFN);
    tensor(w, "blk.0.ffn_up.weight", mat, DIM, FFN);
    tensor(w, "blk.0.ffn_down.weight", mat, FFN, DIM);
}

/* ---- checks ---- */

/* err is one non-empty line that contains want. */
static int one_line(const char *err, const char *want)
{
    return err[0] && !strchr(err, '\n') && !strchr(err, '\r') && strstr(err, want);
}

/* gguf_open_mem refuses the bytes (copied to a buffer of exactly len bytes, so that a read
 * past the end is a sanitizer error) with one line containing want. */
#define BAD_MEM(p, len, want) do { \
    char e_[256] = ""; \
    unsigned char *c_ = xmalloc((len) ? (len) : 1); \
    memcpy(c_, (p), (len)); \
    gguf *g_ = gguf_open_mem(c_, (len), e_, sizeof e_); \
    CHECKF(!g_ && one_line(e_, want), "expected one line naming '%s', got %s: \"%s\"", want, \
           g_ ? "success" : "failure", e_); \
    gguf_close(g_); \
    free(c_); \
} while (0)

static const char *write_tmp(const unsigned char *p, size_t len)
{
    static char path[400];
    snprintf(path, sizeof path, "%s/model.gguf", test_tmpdir());
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, len, f) != len || fclose(f))
        return NULL;
    return path;
}

/* llama_load refuses the file with one line containing want. */
#define BAD_LOAD(p, len, want) do { \
    char e_[512] = ""; \
    const char *path_ = write_tmp((p), (len)); \
    REQUIRE(path_); \
    llama_model *m_ = llama_load(path_, e_, sizeof e_); \
    CHECKF(!m_ && one_line(e_, want), "expected one line naming '%s', got %s: \"%s\"", want, \
           m_ ? "success" : "failure", e_); \
    llama_free(m_); \
} while (0)

static unsigned char *tiny(uint32_t mat, size_t *len)
{
    gw w = {0};
    tiny_llama(&w, mat, NULL);
    return gw_build(&w, len);
}

TEST(gguf_tiny_model_loads_and_runs)
{
    /* The writer's files are valid: every malformed case below breaks one thing only. */
    static const uint32_t mats[] = { GGUF_T_F32, GGUF_T_F16, GGUF_T_Q8_0 };
    for (size_t k = 0; k < 3; k++) {
        size_t len;
        unsigned char *p = tiny(mats[k], &len);
        char err[512] = "";
        gguf *g = gguf_open_mem(p, len, err, sizeof err);
        CHECKF(g, "%s", err);
        if (g) {
            CHECK_INT(gguf_tensor_count(g), 11);
            const gguf_tensor *t = gguf_find_tensor(g, "blk.0.ffn_down.weight");
            CHECK(t && t->ne[0] == FFN && t->ne[1] == DIM && t->type == mats[k]);
            CHECK(t && (const unsigned char *)t->data + t->nbytes == p + len);
            uint64_t v;
            CHECK(gguf_get_uint(g, "llama.block_count", &v) == 0 && v == 1);
        }
        gguf_close(g);
        const char *path = write_tmp(p, len);
        REQUIRE(path);
        llama_model *m = llama_load(path, err, sizeof err);
        CHECKF(m, "%s", err);
        if (m) {
            CHECK_INT(llama_n_vocab(m), NVOCAB);
            llama_ctx *c = llama_ctx_new(m, 2, 4, 1);
            float logits[2 * NVOCAB];
            int32_t ids[2] = { 6, 0 };
            CHECK(llama_prefill(c, ids, 2, logits) == 0);
            int br[2] = { 0, 1 };
            int32_t next[2] = { 1, 2 };
            llama_decode(c, next, br, 2, logits);
            for (int i = 0; i < 2 * NVOCAB; i++)
                CHECKF(isfinite(logits[i]), "logit %d is %g", i, logits[i]);
            llama_ctx_free(c);
        }
        llama_free(m);
        free(p);
    }
}

TEST(gguf_bad_header)
{
    size_t len;
    unsigned char *p = tiny(GGUF_T_Q8_0, &len);
    unsigned char *q = xmalloc(len);
    memcpy(q, p, len);
    memcpy(q, "GGML", 4);
    BAD_MEM(q, len, "wrong magic");
    BAD_LOAD(q, len, "wrong magic");
    memcpy(q, p, len);
    q[4] = 2;
    BAD_MEM(q, len, "version 2");
    q[4] = 0;
    q[7] = 3;
    BAD_MEM(q, len, "big-endian");
    memcpy(q, p, len);
    for (int i = 0; i < 8; i++)
        q[8 + i] = 0xff;                          /* tensor count 2^64 - 1 */
    BAD_MEM(q, len, "tensor count");
    BAD_LOAD(q, len, "tensor count");
    memcpy(q, p, len);
    q[8 + 4] = 1;                                 /* 2^32 + 11 tensors */
    BAD_MEM(q, len, "tensor count");
    memcpy(q, p, len);
    q[8] = 0;
    q[9] = 0x80;                                  /* 32768 tensors: allowed, but not in this file */
    BAD_MEM(q, len, "tensor count 32768 does not fit in the file");
    memcpy(q, p, len);
    q[16 + 3] = 0x40;                             /* 2^30 + 17 metadata entries */
    BAD_MEM(q, len, "metadata count");
    memcpy(q, p, len);
    q[16] = 0;
    q[17] = 0x80;
    BAD_MEM(q, len, "metadata count 32768 does not fit in the file");
    BAD_MEM(p, 0, "truncated");
    BAD_MEM(p, 23, "truncated");
    BAD_LOAD(p, 10, "too short");
    free(q);
    free(p);
}

TEST(gguf_not_a_file)
{
    /* A directory or a FIFO (which must not block waiting for a writer) as the model. */
    char err[512] = "", path[400];
    const char *dir = test_tmpdir();
    REQUIRE(dir);
    llama_model *m = llama_load(dir, err, sizeof err);
    CHECKF(!m && one_line(err, "is a directory"), "\"%s\"", err);
    snprintf(path, sizeof path, "%s/fifo.gguf", dir);
    REQUIRE(mkfifo(path, 0600) == 0);
    alarm(20);                  /* a blocking open ends the runner (a failure, not a hang) */
    m = llama_load(path, err, sizeof err);
    alarm(0);
    CHECKF(!m && one_line(err, "not a regular file"), "\"%s\"", err);
    snprintf(path, sizeof path, "%s/absent.gguf", dir);
    m = llama_load(path, err, sizeof err);
    CHECKF(!m && one_line(err, "No such file"), "\"%s\"", err);
}

TEST(gguf_truncated_anywhere)
{
    /* Every prefix of a valid file is refused as truncated or as a tensor cut off. */
    size_t len;
    unsigned char *p = tiny(GGUF_T_Q8_0, &len);
    int bad = 0;
    for (size_t n = 0; n < len; n++) {
        char e[256] = "";
        unsigned char *c = xmalloc(n ? n : 1);
        memcpy(c, p, n);
        gguf *g = gguf_open_mem(c, n, e, sizeof e);
        int ok = !g && (one_line(e, "truncated") || one_line(e, "outside the file"));
        if (!ok && bad++ < 5)
            CHECKF(0, "cut at %zu of %zu: %s: \"%s\"", n, len, g ? "opened" : "failed", e);
        gguf_close(g);
        free(c);
    }
    free(p);
}

TEST(gguf_bad_metadata)
{
    /* absurd lengths and counts, unknown types, duplicates */
    static const struct { uint32_t type; uint64_t n; const char *want; } cases[] = {
        { GGUF_STRING, (uint64_t)1 << 40, "string length" },
        { GGUF_STRING, 1000, "truncated" },
        { 99, 0, "unknown metadata type 99" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        gw w = {0};
        kv_head(&w, "general.name", cases[k].type);
        put(&w.kv, cases[k].n, 8);
        size_t len;
        unsigned char *p = gw_build(&w, &len);
        BAD_MEM(p, len, cases[k].want);
        free(p);
    }
    static const struct { uint32_t atype; uint64_t n; const char *want; } arrays[] = {
        { GGUF_U32, (uint64_t)1 << 40, "array count" },
        { GGUF_STRING, (uint64_t)1 << 62, "array count" },
        { GGUF_U64, 1u << 20, "1048576 array items do not fit in the file" },
        { GGUF_STRING, 1u << 20, "1048576 array items do not fit in the file" },
        { GGUF_ARRAY, 1, "array element type 9" },
        { 77, 1, "array element type 77" },
    };
    for (size_t k = 0; k < sizeof arrays / sizeof *arrays; k++) {
        gw w = {0};
        kv_head(&w, "tokenizer.ggml.scores", GGUF_ARRAY);
        put(&w.kv, arrays[k].atype, 4);
        put(&w.kv, arrays[k].n, 8);
        put(&w.kv, 0, 8);
        size_t len;
        unsigned char *p = gw_build(&w, &len);
        BAD_MEM(p, len, arrays[k].want);
        free(p);
    }
    gw w = {0};
    put(&w.kv, (uint64_t)-1, 8);                  /* a key whose length is absurd */
    put(&w.kv, 0, 8);
    put(&w.kv, 0, 8);
    w.nkv = 1;
    size_t len;
    unsigned char *p = gw_build(&w, &len);
    BAD_MEM(p, len, "metadata key: string length");
    free(p);
    w = (gw){0};
    kv_u32(&w, "llama.block_count", 1);
    kv_str(&w, "general.name", "x");
    kv_u32(&w, "llama.block_count", 2);
    p = gw_build(&w, &len);
    BAD_MEM(p, len, "metadata key 'llama.block_count' appears twice");
    free(p);
}

TEST(gguf_metadata_of_the_wrong_type)
{
    /* A key the loader reads, written with another type, is refused by name (it is not
     * taken as missing, nor read as the wrong type). */
    static const struct { const char *key; int type; const char *want; } cases[] = {
        { "general.architecture", GGUF_U32, "'general.architecture' has type u32, expected a string" },
        { "general.alignment", GGUF_STRING, "'general.alignment' has type string" },
        { "llama.block_count", GGUF_STRING, "'llama.block_count' has type string" },
        { "llama.embedding_length", GGUF_F32, "'llama.embedding_length' has type f32" },
        { "llama.context_length", GGUF_I32, "'llama.context_length' is negative" },
        { "llama.attention.layer_norm_rms_epsilon", GGUF_I32, "'llama.attention.layer_norm_rms_epsilon' is negative" },
        { "llama.rope.freq_base", GGUF_STRING, "'llama.rope.freq_base' has type string" },
        { "tokenizer.ggml.tokens", GGUF_U32, "'tokenizer.ggml.tokens' has type u32" },
        { "tokenizer.ggml.merges", GGUF_ARRAY, "'tokenizer.ggml.merges' has type array of u32" },
        { "tokenizer.ggml.token_type", GGUF_ARRAY, "'tokenizer.ggml.token_type' has type array of u32" },
        { "tokenizer.ggml.add_bos_token", GGUF_U32, "'tokenizer.ggml.add_bos_token' has type u32, expected a bool" },
        { "tokenizer.ggml.model", GGUF_STRING, "'tokenizer.ggml.model' is not a short printable ASCII name" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        gw w = {0};
        tiny_llama(&w, GGUF_T_Q8_0, cases[k].key);
        if (cases[k].type == GGUF_STRING && strstr(cases[k].want, "ASCII"))
            kv_str(&w, cases[k].key, "gpt\n2");
        else if (cases[k].type == GGUF_STRING)
            kv_str(&w, cases[k].key, "6");
        else if (cases[k].type == GGUF_I32)
            kv_i32(&w, cases[k].key, -1);
        else if (cases[k].type == GGUF_F32)
            kv_f32(&w, cases[k].key, 32.0f);
        else if (cases[k].type == GGUF_ARRAY) {
            kv_head(&w, cases[k].key, GGUF_ARRAY);
            put(&w.kv, GGUF_U32, 4);
            put(&w.kv, 1, 8);
            put(&w.kv, 0, 4);
        } else
            kv_u32(&w, cases[k].key, 1);
        size_t len;
        unsigned char *p = gw_build(&w, &len);
        BAD_MEM(p, len, cases[k].want);
        BAD_LOAD(p, len, cases[k].want);
        free(p);
    }
    /* an architecture name that would break the message line */
    gw w = {0};
    tiny_llama(&w, GGUF_T_Q8_0, "general.architecture");
    kv_str(&w, "general.architecture", "llama\n\x1b[2Jevil");
    size_t len;
    unsigned char *p = gw_build(&w, &len);
    BAD_LOAD(p, len, "'general.architecture' is not a short printable ASCII name");
    free(p);
}

TEST(gguf_bad_alignment)
{
    static const struct { int type; uint32_t v; const char *want; } cases[] = {
        { GGUF_U32, 0, "general.alignment 0 is not a power of two" },
        { GGUF_U32, 24, "general.alignment 24 is not a power of two" },
        { GGUF_U32, 1u << 30, "is not a power of two up to" },
        { GGUF_I32, 0x80000000u, "'general.alignment' is negative" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        gw w = {0};
        kv_head(&w, "general.alignment", (uint32_t)cases[k].type);
        put(&w.kv, cases[k].v, 4);
        tensor(&w, "t", GGUF_T_F32, 32, 1);
        size_t len;
        unsigned char *p = gw_build(&w, &len);
        BAD_MEM(p, len, cases[k].want);
        free(p);
    }
    /* An alignment of 64 is obeyed: data at 32 past the section start is misaligned. */
    gw w = {0};
    kv_u32(&w, "general.alignment", 64);
    w.align = 64;
    uint64_t ne[1] = { 32 };
    tensor_entry(&w, "t", 1, ne, GGUF_T_F32, 32);
    for (int i = 0; i < 256; i++)
        buf_addc(&w.data, 0);
    size_t len;
    unsigned char *p = gw_build(&w, &len);
    BAD_MEM(p, len, "tensor 't': offset 32 is not aligned to 64");
    free(p);
}

TEST(gguf_bad_tensors)
{
    static const struct {
        int nd;
        uint64_t ne[5];
        uint32_t type;
        uint64_t off;
        const char *want;
    } cases[] = {
        { 1, { 32 }, GGUF_T_F32, 4096, "tensor 't' lies outside the file" },
        { 1, { 32 }, GGUF_T_F32, 96, "tensor 't' lies outside the file" },            /* runs past the end */
        { 1, { 32 }, GGUF_T_F32, (uint64_t)-32, "tensor 't' lies outside the file" }, /* offset + size wraps */
        { 2, { 1u << 31, 1u << 31 }, GGUF_T_F32, 0, "dimensions multiply past" },
        { 4, { 1u << 16, 1u << 16, 1u << 16, 1u << 16 }, GGUF_T_F32, 0, "dimensions multiply past" },
        { 2, { (uint64_t)1 << 63, 2 }, GGUF_T_F32, 0, "dimensions multiply past" },
        { 2, { 32, 0 }, GGUF_T_F32, 0, "dimension 1 is 0" },
        { 5, { 32, 1, 1, 1, 1 }, GGUF_T_F32, 0, "5 dimensions (1 to 4 allowed)" },
        { 0, { 0 }, GGUF_T_F32, 0, "0 dimensions" },
        { 1, { 32 }, 2, 0, "tensor type Q4_0 is not supported" },
        { 1, { 32 }, 12, 0, "tensor type Q4_K is not supported" },
        { 1, { 32 }, 1000, 0, "unknown tensor type 1000" },
        { 1, { 48 }, GGUF_T_Q8_0, 0, "row length 48 is not a multiple of the Q8_0 block" },
        { 1, { 32 }, GGUF_T_F32, 8, "offset 8 is not aligned to 32" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        gw w = {0};
        tensor_entry(&w, "t", cases[k].nd, cases[k].ne, cases[k].type, cases[k].off);
        for (int i = 0; i < 200; i++)
            buf_addc(&w.data, 0);
        size_t len;
        unsigned char *p = gw_build(&w, &len);
        BAD_MEM(p, len, cases[k].want);
        free(p);
    }
    /* a tensor whose name would break the line: shown with visible placeholders */
    gw w = {0};
    uint64_t ne[1] = { 32 };
    tensor_entry(&w, "evil\nname\x1b[31m", 1, ne, 2, 0);
    size_t len;
    unsigned char *p = gw_build(&w, &len);
    BAD_MEM(p, len, "tensor type Q4_0 is not supported");
    BAD_MEM(p, len, "evil");
    char e[256];
    CHECK(!gguf_open_mem(p, len, e, sizeof e) && !strchr(e, '\x1b'));
    free(p);
    /* overlapping and duplicated tensors */
    w = (gw){0};
    tensor(&w, "a", GGUF_T_F32, 64, 1);
    tensor_entry(&w, "b", 1, ne, GGUF_T_F32, 128);     /* inside a (0..256) */
    p = gw_build(&w, &len);
    BAD_MEM(p, len, "tensors 'a' and 'b' overlap");
    free(p);
    w = (gw){0};
    tensor(&w, "a", GGUF_T_F32, 32, 1);
    tensor(&w, "a", GGUF_T_F32, 32, 1);
    p = gw_build(&w, &len);
    BAD_MEM(p, len, "tensor 'a' appears twice");
    free(p);
    /* the same bytes for two tensors */
    w = (gw){0};
    tensor(&w, "a", GGUF_T_F32, 32, 1);
    tensor_entry(&w, "b", 1, ne, GGUF_T_F32, 0);
    p = gw_build(&w, &len);
    BAD_MEM(p, len, "overlap");
    free(p);
}

TEST(gguf_model_checks_in_llama_load)
{
    /* Files the reader accepts but the model loader must refuse, each with its line. */
    gw w = {0};
    tiny_llama(&w, GGUF_T_Q8_0, "general.architecture");
    kv_str(&w, "general.architecture", "gpt2");
    size_t len;
    unsigned char *p = gw_build(&w, &len);
    BAD_LOAD(p, len, "architecture 'gpt2' is not supported");
    free(p);
    w = (gw){0};
    tiny_llama(&w, GGUF_T_Q8_0, "llama.block_count");
    kv_u32(&w, "llama.block_count", 2);           /* blk.1 tensors do not exist */
    p = gw_build(&w, &len);
    BAD_LOAD(p, len, "tensor 'blk.1.attn_norm.weight' is missing");
    free(p);
    w = (gw){0};
    tiny_llama(&w, GGUF_T_Q8_0, "llama.feed_forward_length");
    kv_u32(&w, "llama.feed_forward_length", 128);
    p = gw_build(&w, &len);
    BAD_LOAD(p, len, "tensor 'blk.0.ffn_gate.weight' is 32x64, expected 32x128");
    free(p);
    w = (gw){0};
    tiny_llama(&w, GGUF_T_Q8_0, "llama.block_count");
    kv_u32(&w, "llama.block_count", 1000000);
    p = gw_build(&w, &len);
    BAD_LOAD(p, len, "'llama.block_count' = 1000000 is out of range");
    free(p);
    w = (gw){0};
    tiny_llama(&w, GGUF_T_Q8_0, "tokenizer.ggml.model");
    kv_str(&w, "tokenizer.ggml.model", "llama");
    p = gw_build(&w, &len);
    BAD_LOAD(p, len, "tokenizer 'llama' is not supported");
    free(p);
    w = (gw){0};
    tiny_llama(&w, GGUF_T_Q8_0, "llama.attention.head_count_kv");
    kv_u32(&w, "llama.attention.head_count_kv", 5000);   /* was shown as "head counts 2/0" */
    p = gw_build(&w, &len);
    BAD_LOAD(p, len, "'llama.attention.head_count_kv' = 5000 is out of range");
    free(p);
}

/* llama_load of the file cut to n bytes fails with one line naming the cut. */
static int cut_fails(int fd, const char *path, size_t n, char *err, size_t errlen)
{
    if (ftruncate(fd, (off_t)n))
        return snprintf(err, errlen, "ftruncate failed"), 0;
    llama_model *m = llama_load(path, err, errlen);
    if (m) {
        llama_free(m);
        snprintf(err, errlen, "(it loaded)");
        return 0;
    }
    return one_line(err, "truncated") || one_line(err, "outside the file") || one_line(err, "too short");
}

/* The shipped model cut short: at every offset of its header and first metadata, every
 * fifth of its tensor index, samples through the rest of the metadata and through the
 * tensor data.  Each is one line, never a crash.  (Every offset of a whole file is
 * gguf_truncated_anywhere's; loading 60,000 cuts here would take seconds.) */
TEST(gguf_real_model_truncated)
{
    size_t size;
    char *whole = test_slurp("models/base.gguf", &size);
    REQUIRE(whole);
    char err[512];
    gguf *g = gguf_open_mem(whole, size, err, sizeof err);
    REQUIRE(g);
    size_t data = size, end = 0, index = size;
    for (size_t i = 0; i < gguf_tensor_count(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        size_t off = (size_t)((const char *)t->data - whole), at = (size_t)(t->name.s - whole) - 8;
        if (off < data)
            data = off;
        if (off + t->nbytes > end)
            end = off + t->nbytes;
        if (at < index)
            index = at;
    }
    gguf_close(g);
    REQUIRE(index > 1024 && index < data && data < end && end <= size);
    char path[400];
    snprintf(path, sizeof path, "%s/cut.gguf", test_tmpdir());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, whole, size) == (ssize_t)size);
    free(whole);
    /* From the end down, as each ftruncate shortens the same file. */
    int bad = 0;
    size_t step = (end - data) / 97 + 1;
    for (size_t k = 0; k * step < end - data; k++)
        if (!cut_fails(fd, path, end - 1 - k * step, err, sizeof err) && bad++ < 5)
            CHECKF(0, "cut at %zu of %zu: \"%s\"", end - 1 - k * step, size, err);
    for (size_t n = data; n-- > 0;) {
        if (n >= 1024 && n < index && n % 53)
            continue;
        if (n >= index && n % 5)
            continue;
        if (!cut_fails(fd, path, n, err, sizeof err) && bad++ < 5)
            CHECKF(0, "cut at %zu of %zu: \"%s\"", n, size, err);
    }
    close(fd);
}
