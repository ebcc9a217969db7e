/* core/gguf.c — GGUF v3 parsing with every field checked.  See gguf.h.
 *
 * The parser is a cursor over the bytes with a sticky failure: each read checks what is
 * left, so a truncated file fails at the field it cuts, named in the message.  Limits on
 * counts are far above any real model and keep the index allocations small. */
#include "core/gguf.h"
#include "core/mem.h"
#include "core/text.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_KV       65536
#define MAX_TENSORS  65536
#define MAX_STRING   (1u << 24)
#define MAX_ARRAY    (1u << 24)
#define MAX_ALIGN    65536
#define MAX_ELEMENTS ((uint64_t)1 << 40)   /* per tensor */
#define MIN_KV_BYTES     13   /* key length, type, a one-byte value */
#define MIN_TENSOR_BYTES 32   /* name length, ndims, one dimension, type, offset */

typedef struct {
    gguf_str    key;
    uint32_t    type;
    uint32_t    atype;          /* arrays: element type */
    uint64_t    n;              /* arrays: count */
    const unsigned char *val;   /* value bytes (strings: the length; arrays: first element) */
    gguf_str   *strs;           /* string arrays: the items */
} kv;

struct gguf {
    const unsigned char *base;
    size_t      size;
    int         mapped;
    kv         *kvs;
    size_t      nkv;
    gguf_tensor *tensors;
    size_t      ntensors;
};

typedef struct {
    const unsigned char *p;
    size_t pos, size;
    int    bad;
    char  *err;
    size_t errlen;
} cursor;

static void fail(cursor *c, const char *fmt, ...)
{
    if (c->bad)
        return;
    c->bad = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
}

/* A name from the file as message text: at most 40 bytes, control characters and invalid
 * bytes made visible, so that the message stays one line that is safe to print. */
typedef struct { char s[160]; } shown;

static shown show(gguf_str name)
{
    shown r;
    size_t n;
    char *t = text_sanitize(name.s, name.len > 40 ? 40 : name.len, TEXT_NL_VISIBLE, &n);
    snprintf(r.s, sizeof r.s, "%s%s", t, name.len > 40 ? "..." : "");
    free(t);
    return r;
}

static uint64_t le(const unsigned char *p, size_t n)      /* little-endian, n <= 8 */
{
    uint64_t v = 0;
    while (n--)
        v = v << 8 | p[n];
    return v;
}

/* The next n bytes (NULL once anything failed); rd reads them as an integer. */
static const unsigned char *take(cursor *c, uint64_t n, const char *what)
{
    if (c->bad)
        return NULL;
    if (n > c->size - c->pos) {
        fail(c, "truncated at byte %zu (reading %s)", c->pos, what);
        return NULL;
    }
    const unsigned char *r = c->p + c->pos;
    c->pos += (size_t)n;
    return r;
}

static uint64_t rd(cursor *c, size_t n, const char *what)
{
    const unsigned char *s = take(c, n, what);
    return s ? le(s, n) : 0;
}

static gguf_str rd_str(cursor *c, const char *what)
{
    gguf_str r = { "", 0 };
    uint64_t n = rd(c, 8, what);
    if (!c->bad && n > MAX_STRING)
        fail(c, "%s: string length %llu is absurd", what, (unsigned long long)n);
    const unsigned char *s = take(c, n, what);
    if (s)
        r = (gguf_str){ (const char *)s, (size_t)n };
    return r;
}

static size_t scalar_size(uint32_t t)
{
    static const unsigned char sz[GGUF_NTYPES] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };
    return t < GGUF_NTYPES ? sz[t] : 0;
}

static int is_int(uint32_t t)
{
    return t <= GGUF_I32 || t == GGUF_U64 || t == GGUF_I64;
}

static int is_signed(uint32_t t)
{
    return t == GGUF_I8 || t == GGUF_I16 || t == GGUF_I32 || t == GGUF_I64;
}

/* An integer value that is not negative, as 64 bits. */
static int kv_uint(const kv *e, uint64_t *out)
{
    if (!e->val || !is_int(e->type))
        return -1;
    size_t n = scalar_size(e->type);
    uint64_t u = le(e->val, n);
    if (is_signed(e->type) && u >> (8 * n - 1))
        return -1;
    *out = u;
    return 0;
}

static const char *meta_type_name(uint32_t t)
{
    static const char *const names[GGUF_NTYPES] = {
        "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
    };
    return t < GGUF_NTYPES ? names[t] : "unknown";
}

static void read_value(cursor *c, kv *e)
{
    char what[200];
    snprintf(what, sizeof what, "value of '%s'", show(e->key).s);
    e->type = (uint32_t)rd(c, 4, what);
    if (!c->bad && e->type >= GGUF_NTYPES)
        fail(c, "%s: unknown metadata type %u", what, e->type);
    if (c->bad)
        return;
    if (e->type == GGUF_STRING) {
        e->val = c->p + c->pos;
        rd_str(c, what);
        return;
    }
    if (e->type != GGUF_ARRAY) {
        e->val = take(c, scalar_size(e->type), what);
        return;
    }
    e->atype = (uint32_t)rd(c, 4, what);
    e->n = rd(c, 8, what);
    if (c->bad)
        return;
    if (e->atype >= GGUF_NTYPES || e->atype == GGUF_ARRAY) {
        fail(c, "%s: unsupported array element type %u", what, e->atype);
        return;
    }
    if (e->n > MAX_ARRAY) {
        fail(c, "%s: array count %llu is absurd", what, (unsigned long long)e->n);
        return;
    }
    /* each item takes at least its size (a string its 8-byte length) */
    size_t item = e->atype == GGUF_STRING ? 8 : scalar_size(e->atype);
    if (e->n > (c->size - c->pos) / item) {
        fail(c, "%s: %llu array items do not fit in the file (truncated or absurd)", what, (unsigned long long)e->n);
        return;
    }
    e->val = c->p + c->pos;
    if (e->atype != GGUF_STRING) {
        take(c, e->n * item, what);
        return;
    }
    e->strs = xcalloc(e->n ? (size_t)e->n : 1, sizeof *e->strs);
    for (uint64_t i = 0; i < e->n && !c->bad; i++)
        e->strs[i] = rd_str(c, what);
}

/* The metadata termloom reads, with the type the GGUF specification gives it: a key of
 * another type is refused by name rather than read as missing.  A key starting with '.'
 * is an architecture's ("llama.block_count"). */
typedef enum { K_INT, K_FLOAT, K_BOOL, K_NAME, K_STRS, K_I32S } key_kind;
static const struct { const char *key; key_kind kind; } known_keys[] = {
    { "general.architecture", K_NAME },
    { "general.alignment", K_INT },
    { "tokenizer.ggml.model", K_NAME },
    { "tokenizer.ggml.tokens", K_STRS },
    { "tokenizer.ggml.merges", K_STRS },
    { "tokenizer.ggml.token_type", K_I32S },
    { "tokenizer.ggml.bos_token_id", K_INT },
    { "tokenizer.ggml.eos_token_id", K_INT },
    { "tokenizer.ggml.add_bos_token", K_BOOL },
    { ".context_length", K_INT },
    { ".embedding_length", K_INT },
    { ".feed_forward_length", K_INT },
    { ".block_count", K_INT },
    { ".attention.head_count", K_INT },
    { ".attention.head_count_kv", K_INT },
    { ".attention.layer_norm_rms_epsilon", K_FLOAT },
    { ".rope.dimension_count", K_INT },
    { ".rope.freq_base", K_FLOAT },
};
static const char *const kind_names[] = {
    "a non-negative integer", "a number", "a bool", "a string", "an array of strings",
    "an array of i32",
};

static int key_is(gguf_str k, const char *want)
{
    size_t n = strlen(want);
    if (want[0] != '.')
        return k.len == n && !memcmp(k.s, want, n);
    /* "<arch>.rest": the part before the suffix is one dot-free word */
    return k.len > n && !memcmp(k.s + k.len - n, want, n) && !memchr(k.s, '.', k.len - n);
}

/* A name (an architecture, a tokenizer): printable ASCII, at most 64 bytes. */
static int plain_name(const kv *e)
{
    uint64_t n = le(e->val, 8);
    for (uint64_t j = 0; j < n; j++)
        if (e->val[8 + j] < 0x20 || e->val[8 + j] >= 0x7f)
            return 0;
    return n <= 64;
}

static void check_known(cursor *c, const kv *e)
{
    for (size_t i = 0; i < sizeof known_keys / sizeof *known_keys && !c->bad; i++) {
        if (!key_is(e->key, known_keys[i].key))
            continue;
        key_kind k = known_keys[i].kind;
        int ok = 0;
        switch (k) {
        case K_INT:   ok = is_int(e->type); break;
        case K_FLOAT: ok = is_int(e->type) || e->type == GGUF_F32 || e->type == GGUF_F64; break;
        case K_BOOL:  ok = e->type == GGUF_BOOL; break;
        case K_NAME:  ok = e->type == GGUF_STRING; break;
        case K_STRS:  ok = e->type == GGUF_ARRAY && e->atype == GGUF_STRING; break;
        case K_I32S:  ok = e->type == GGUF_ARRAY && e->atype == GGUF_I32; break;
        }
        uint64_t u;
        if (!ok)
            fail(c, "metadata '%s' has type %s%s, expected %s", show(e->key).s,
                 e->type == GGUF_ARRAY ? "array of " : "",
                 meta_type_name(e->type == GGUF_ARRAY ? e->atype : e->type), kind_names[k]);
        else if ((k == K_INT || (k == K_FLOAT && is_int(e->type))) && kv_uint(e, &u))
            fail(c, "metadata '%s' is negative", show(e->key).s);
        else if (k == K_NAME && !plain_name(e))
            fail(c, "metadata '%s' is not a short printable ASCII name", show(e->key).s);
    }
}

static int type_info(uint32_t t, uint64_t *block, uint64_t *bytes)
{
    switch (t) {
    case GGUF_T_F32:  *block = 1;  *bytes = 4; return 0;
    case GGUF_T_F16:  *block = 1;  *bytes = 2; return 0;
    case GGUF_T_Q8_0: *block = GGUF_Q8_0_BLOCK; *bytes = GGUF_Q8_0_BYTES; return 0;
    default: return -1;
    }
}

const char *gguf_type_name(uint32_t t)
{
    static const char *const names[] = {
        "F32", "F16", "Q4_0", "Q4_1", "type 4", "type 5", "Q5_0", "Q5_1", "Q8_0", "Q8_1",
        "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS",
        "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64",
        "IQ1_M", "BF16",
    };
    return t < sizeof names / sizeof *names ? names[t] : "an unknown type";
}

/* Where a tensor's bytes lie, relative to the start of the data section. */
typedef struct { uint64_t off, nbytes; gguf_tensor *t; } span;

static void read_tensor(cursor *c, gguf_tensor *t, span *sp)
{
    t->name = rd_str(c, "tensor name");
    char what[200];
    snprintf(what, sizeof what, "tensor '%s'", show(t->name).s);
    t->ndims = (uint32_t)rd(c, 4, what);
    if (!c->bad && (t->ndims < 1 || t->ndims > GGUF_MAX_DIMS))
        fail(c, "%s: %u dimensions (1 to %d allowed)", what, t->ndims, GGUF_MAX_DIMS);
    for (int i = 0; i < GGUF_MAX_DIMS; i++)
        t->ne[i] = 1;
    uint64_t count = 1;
    for (uint32_t i = 0; i < t->ndims && !c->bad; i++) {
        t->ne[i] = rd(c, 8, what);
        if (c->bad)
            return;
        if (t->ne[i] == 0)
            fail(c, "%s: dimension %u is 0", what, i);
        else if (t->ne[i] > MAX_ELEMENTS / count)
            fail(c, "%s: dimensions multiply past %llu elements", what, (unsigned long long)MAX_ELEMENTS);
        count *= t->ne[i] ? t->ne[i] : 1;
    }
    t->type = (uint32_t)rd(c, 4, what);
    sp->off = rd(c, 8, what);
    sp->t = t;
    if (c->bad)
        return;
    uint64_t block, bytes;
    if (type_info(t->type, &block, &bytes)) {
        if (!strcmp(gguf_type_name(t->type), "an unknown type"))
            fail(c, "%s: unknown tensor type %u (F32, F16 and Q8_0 are supported)", what, t->type);
        else
            fail(c, "%s: tensor type %s is not supported (F32, F16 and Q8_0 are)", what, gguf_type_name(t->type));
        return;
    }
    if (t->ne[0] % block) {
        fail(c, "%s: row length %llu is not a multiple of the %s block", what,
             (unsigned long long)t->ne[0], gguf_type_name(t->type));
        return;
    }
    sp->nbytes = count / block * bytes;
}

static void gguf_free_index(gguf *g)
{
    for (size_t i = 0; i < g->nkv; i++)
        free(g->kvs[i].strs);
    free(g->kvs);
    free(g->tensors);
}

static int cmp_str(gguf_str a, gguf_str b)
{
    int r = memcmp(a.s, b.s, a.len < b.len ? a.len : b.len);
    return r ? r : (a.len > b.len) - (a.len < b.len);
}

static int cmp_key(const void *a, const void *b)
{
    return cmp_str((*(const kv *const *)a)->key, (*(const kv *const *)b)->key);
}

static int cmp_name(const void *a, const void *b)
{
    return cmp_str(((const span *)a)->t->name, ((const span *)b)->t->name);
}

static int cmp_off(const void *a, const void *b)
{
    uint64_t x = ((const span *)a)->off, y = ((const span *)b)->off;
    return (x > y) - (x < y);
}

/* Metadata: every value read and its known keys checked; no key twice. */
static void parse_kvs(cursor *c, gguf *g, uint64_t nkv)
{
    g->kvs = xcalloc(nkv ? (size_t)nkv : 1, sizeof *g->kvs);
    for (uint64_t i = 0; i < nkv && !c->bad; i++) {
        g->kvs[i].key = rd_str(c, "metadata key");
        g->nkv = (size_t)i + 1;
        read_value(c, &g->kvs[i]);
        if (!c->bad)
            check_known(c, &g->kvs[i]);
    }
    if (c->bad || g->nkv < 2)
        return;
    const kv **by = xmalloc(g->nkv * sizeof *by);
    for (size_t i = 0; i < g->nkv; i++)
        by[i] = &g->kvs[i];
    qsort(by, g->nkv, sizeof *by, cmp_key);
    for (size_t i = 1; i < g->nkv && !c->bad; i++)
        if (!cmp_str(by[i - 1]->key, by[i]->key))
            fail(c, "metadata key '%s' appears twice", show(by[i]->key).s);
    free(by);
}

/* Tensor data: each tensor inside the file, aligned, no two named alike or overlapping. */
static void place_tensors(cursor *c, gguf *g, span *sp, uint64_t align)
{
    size_t n = g->ntensors;
    uint64_t data = (c->pos + align - 1) / align * align;
    if (n && data > c->size) {
        fail(c, "truncated: tensor data would start at byte %llu of %zu", (unsigned long long)data, c->size);
        return;
    }
    uint64_t room = c->size - data;
    for (size_t i = 0; i < n && !c->bad; i++) {
        gguf_tensor *t = sp[i].t;
        if (sp[i].off % align)
            fail(c, "tensor '%s': offset %llu is not aligned to %llu", show(t->name).s,
                 (unsigned long long)sp[i].off, (unsigned long long)align);
        else if (sp[i].off > room || sp[i].nbytes > room - sp[i].off)
            fail(c, "tensor '%s' lies outside the file (%llu bytes at offset %llu of a %llu-byte data section)",
                 show(t->name).s, (unsigned long long)sp[i].nbytes, (unsigned long long)sp[i].off,
                 (unsigned long long)room);
        else {
            t->data = g->base + data + sp[i].off;
            t->nbytes = (size_t)sp[i].nbytes;
        }
    }
    if (c->bad || n < 2)
        return;
    qsort(sp, n, sizeof *sp, cmp_name);
    for (size_t i = 1; i < n && !c->bad; i++)
        if (!cmp_str(sp[i - 1].t->name, sp[i].t->name))
            fail(c, "tensor '%s' appears twice", show(sp[i].t->name).s);
    qsort(sp, n, sizeof *sp, cmp_off);
    for (size_t i = 1; i < n && !c->bad; i++)
        if (sp[i].off < sp[i - 1].off + sp[i - 1].nbytes)
            fail(c, "tensors '%s' and '%s' overlap", show(sp[i - 1].t->name).s, show(sp[i].t->name).s);
}

static gguf *parse(gguf *g, char *err, size_t errlen)
{
    cursor c = { g->base, 0, g->size, 0, err, errlen };
    const unsigned char *magic = take(&c, 4, "magic");
    if (magic && memcmp(magic, "GGUF", 4))
        fail(&c, "not a GGUF file (wrong magic)");
    uint32_t version = (uint32_t)rd(&c, 4, "version");
    if (!c.bad && version == 0x03000000)
        fail(&c, "a big-endian GGUF file is not supported (only little-endian version 3 is)");
    if (!c.bad && version != 3)
        fail(&c, "GGUF version %u is not supported (version 3 is)", version);
    uint64_t nt = rd(&c, 8, "tensor count"), nkv = rd(&c, 8, "metadata count");
    if (!c.bad && nt > MAX_TENSORS)
        fail(&c, "tensor count %llu is absurd", (unsigned long long)nt);
    if (!c.bad && nkv > MAX_KV)
        fail(&c, "metadata count %llu is absurd", (unsigned long long)nkv);
    if (!c.bad && nkv > (c.size - c.pos) / MIN_KV_BYTES)
        fail(&c, "metadata count %llu does not fit in the file's %zu bytes (truncated or absurd)", (unsigned long long)nkv, c.size);
    if (c.bad)
        return NULL;
    parse_kvs(&c, g, nkv);
    uint64_t align = 32, v;
    if (!c.bad && gguf_get_uint(g, "general.alignment", &v) == 0) {
        if (v == 0 || v > MAX_ALIGN || (v & (v - 1)))
            fail(&c, "general.alignment %llu is not a power of two up to %d", (unsigned long long)v, MAX_ALIGN);
        else
            align = v;
    }
    if (!c.bad && nt > (c.size - c.pos) / MIN_TENSOR_BYTES)
        fail(&c, "tensor count %llu does not fit in the file's %zu bytes (truncated or absurd)", (unsigned long long)nt, c.size);
    if (c.bad)
        return NULL;
    g->tensors = xcalloc(nt ? (size_t)nt : 1, sizeof *g->tensors);
    span *sp = xcalloc(nt ? (size_t)nt : 1, sizeof *sp);
    for (uint64_t i = 0; i < nt && !c.bad; i++) {
        read_tensor(&c, &g->tensors[i], &sp[i]);
        g->ntensors = (size_t)i + 1;
    }
    if (!c.bad)
        place_tensors(&c, g, sp, align);
    free(sp);
    return c.bad ? NULL : g;
}

gguf *gguf_open_mem(const void *data, size_t size, char *err, size_t errlen)
{
    gguf *g = xcalloc(1, sizeof *g);
    g->base = data;
    g->size = size;
    if (!parse(g, err, errlen)) {
        gguf_close(g);
        return NULL;
    }
    return g;
}

gguf *gguf_open(const char *path, char *err, size_t errlen)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: %s", path, S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
        close(fd);
        return NULL;
    }
    if (st.st_size < 24) {
        snprintf(err, errlen, "%s: too short for a GGUF file (%lld bytes)", path, (long long)st.st_size);
        close(fd);
        return NULL;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "%s: cannot map: %s", path, strerror(errno));
        return NULL;
    }
    char e[200];
    gguf *g = xcalloc(1, sizeof *g);
    g->base = m;
    g->size = (size_t)st.st_size;
    g->mapped = 1;
    if (!parse(g, e, sizeof e)) {
        snprintf(err, errlen, "%s: %s", path, e);
        gguf_close(g);
        return NULL;
    }
    return g;
}

void gguf_close(gguf *g)
{
    if (!g)
        return;
    gguf_free_index(g);
    if (g->mapped)
        munmap((void *)g->base, g->size);
    free(g);
}

static const kv *find(const gguf *g, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < g->nkv; i++)
        if (g->kvs[i].key.len == n && !memcmp(g->kvs[i].key.s, key, n))
            return &g->kvs[i];
    return NULL;
}

int gguf_get_uint(const gguf *g, const char *key, uint64_t *out)
{
    const kv *e = find(g, key);
    return e ? kv_uint(e, out) : -1;
}

int gguf_get_float(const gguf *g, const char *key, double *out)
{
    const kv *e = find(g, key);
    if (!e || !e->val)
        return -1;
    if (e->type == GGUF_F32) {
        float f;
        memcpy(&f, e->val, 4);
        *out = f;
        return 0;
    }
    if (e->type == GGUF_F64) {
        memcpy(out, e->val, 8);
        return 0;
    }
    uint64_t u;
    if (gguf_get_uint(g, key, &u))
        return -1;
    *out = (double)u;
    return 0;
}

int gguf_get_bool(const gguf *g, const char *key, int *out)
{
    const kv *e = find(g, key);
    if (!e || !e->val || e->type != GGUF_BOOL)
        return -1;
    *out = e->val[0] != 0;
    return 0;
}

int gguf_get_str(const gguf *g, const char *key, gguf_str *out)
{
    const kv *e = find(g, key);
    if (!e || !e->val || e->type != GGUF_STRING)
        return -1;
    *out = (gguf_str){ (const char *)e->val + 8, (size_t)le(e->val, 8) };
    return 0;
}

int gguf_get_str_array(const gguf *g, const char *key, const gguf_str **out, size_t *n)
{
    const kv *e = find(g, key);
    if (!e || e->type != GGUF_ARRAY || e->atype != GGUF_STRING || !e->strs)
        return -1;
    *out = e->strs;
    *n = (size_t)e->n;
    return 0;
}

int gguf_get_array(const gguf *g, const char *key, gguf_type *type, const void **data, size_t *n)
{
    const kv *e = find(g, key);
    if (!e || e->type != GGUF_ARRAY || e->atype == GGUF_STRING)
        return -1;
    *type = (gguf_type)e->atype;
    *data = e->val;
    *n = (size_t)e->n;
    return 0;
}

size_t gguf_tensor_count(const gguf *g) { return g->ntensors; }

const gguf_tensor *gguf_tensor_at(const gguf *g, size_t i)
{
    return i < g->ntensors ? &g->tensors[i] : NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf *g, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < g->ntensors; i++)
        if (g->tensors[i].name.len == n && !memcmp(g->tensors[i].name.s, name, n))
            return &g->tensors[i];
    return NULL;
}

float gguf_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0)
            bits = sign;
        else {
            /* subnormal: normalise */
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) {
                man <<= 1;
                exp--;
            }
            man &= 0x3ff;
            bits = sign | (exp << 23) | (man << 13);
        }
    } else if (exp == 31)
        bits = sign | 0x7f800000u | (man << 13);
    else
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}
