/* core/gguf.c — GGUF v3 parsing with every field checked.  See gguf.h.
 *
 * The parser is a cursor over the bytes with a sticky failure: each read checks what is
 * left, so a truncated file fails at the field it cuts, named in the message.  Limits on
 * counts are far above any real model and keep the index allocations small. */
#include "core/gguf.h"
#include "core/mem.h"
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

typedef struct {
    gguf_str    key;
    uint32_t    type;
    uint32_t    atype;          /* arrays: element type */
    uint64_t    n;              /* arrays: count */
    const unsigned char *val;   /* value bytes (arrays: first element) */
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

static uint32_t rd_u32(cursor *c, const char *what)
{
    uint32_t v = 0;
    const unsigned char *s = take(c, 4, what);
    if (s)
        memcpy(&v, s, 4);
    return v;
}

static uint64_t rd_u64(cursor *c, const char *what)
{
    uint64_t v = 0;
    const unsigned char *s = take(c, 8, what);
    if (s)
        memcpy(&v, s, 8);
    return v;
}

static gguf_str rd_str(cursor *c, const char *what)
{
    gguf_str r = { "", 0 };
    uint64_t n = rd_u64(c, what);
    if (c->bad)
        return r;
    if (n > MAX_STRING) {
        fail(c, "%s: string length %llu is absurd", what, (unsigned long long)n);
        return r;
    }
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

static void read_value(cursor *c, kv *e)
{
    char what[80];
    snprintf(what, sizeof what, "value of '%.*s'", (int)(e->key.len > 40 ? 40 : e->key.len), e->key.s);
    e->type = rd_u32(c, what);
    if (c->bad)
        return;
    if (e->type >= GGUF_NTYPES) {
        fail(c, "%s: unknown metadata type %u", what, e->type);
        return;
    }
    if (e->type == GGUF_STRING) {
        e->val = c->p + c->pos;
        rd_str(c, what);
        return;
    }
    if (e->type != GGUF_ARRAY) {
        e->val = take(c, scalar_size(e->type), what);
        return;
    }
    e->atype = rd_u32(c, what);
    e->n = rd_u64(c, what);
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
    e->val = c->p + c->pos;
    if (e->atype != GGUF_STRING) {
        take(c, e->n * scalar_size(e->atype), what);
        return;
    }
    if (e->n > (c->size - c->pos) / 8) {
        fail(c, "%s: array count %llu exceeds the file", what, (unsigned long long)e->n);
        return;
    }
    e->strs = xcalloc(e->n ? (size_t)e->n : 1, sizeof *e->strs);
    for (uint64_t i = 0; i < e->n && !c->bad; i++)
        e->strs[i] = rd_str(c, what);
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

static void read_tensor(cursor *c, gguf_tensor *t, uint64_t *offset)
{
    t->name = rd_str(c, "tensor name");
    char what[80];
    snprintf(what, sizeof what, "tensor '%.*s'", (int)(t->name.len > 40 ? 40 : t->name.len), t->name.s);
    t->ndims = rd_u32(c, what);
    if (c->bad)
        return;
    if (t->ndims < 1 || t->ndims > GGUF_MAX_DIMS) {
        fail(c, "%s: %u dimensions (1 to %d allowed)", what, t->ndims, GGUF_MAX_DIMS);
        return;
    }
    for (int i = 0; i < GGUF_MAX_DIMS; i++)
        t->ne[i] = 1;
    uint64_t count = 1;
    for (uint32_t i = 0; i < t->ndims; i++) {
        t->ne[i] = rd_u64(c, what);
        if (c->bad)
            return;
        if (t->ne[i] == 0 || t->ne[i] > ((uint64_t)1 << 40) || count > ((uint64_t)1 << 40) / t->ne[i]) {
            fail(c, "%s: dimension %llu is absurd", what, (unsigned long long)t->ne[i]);
            return;
        }
        count *= t->ne[i];
    }
    t->type = rd_u32(c, what);
    *offset = rd_u64(c, what);
    if (c->bad)
        return;
    uint64_t block, bytes;
    if (type_info(t->type, &block, &bytes)) {
        fail(c, "%s: tensor type %s is not supported (F32, F16 and Q8_0 are)", what, gguf_type_name(t->type));
        return;
    }
    if (t->ne[0] % block) {
        fail(c, "%s: row length %llu is not a multiple of the %s block", what,
             (unsigned long long)t->ne[0], gguf_type_name(t->type));
        return;
    }
    t->nbytes = (size_t)(count / block * bytes);
}

static void gguf_free_index(gguf *g)
{
    for (size_t i = 0; i < g->nkv; i++)
        free(g->kvs[i].strs);
    free(g->kvs);
    free(g->tensors);
}

static gguf *parse(gguf *g, char *err, size_t errlen)
{
    cursor c = { g->base, 0, g->size, 0, err, errlen };
    const unsigned char *magic = take(&c, 4, "magic");
    if (magic && memcmp(magic, "GGUF", 4)) {
        fail(&c, "not a GGUF file (wrong magic)");
    }
    uint32_t version = rd_u32(&c, "version");
    if (!c.bad && version != 3)
        fail(&c, "GGUF version %u is not supported (version 3 is)", version);
    uint64_t nt = rd_u64(&c, "tensor count"), nkv = rd_u64(&c, "metadata count");
    if (!c.bad && nt > MAX_TENSORS)
        fail(&c, "tensor count %llu is absurd", (unsigned long long)nt);
    if (!c.bad && nkv > MAX_KV)
        fail(&c, "metadata count %llu is absurd", (unsigned long long)nkv);
    if (c.bad)
        return NULL;
    g->kvs = xcalloc(nkv ? (size_t)nkv : 1, sizeof *g->kvs);
    for (uint64_t i = 0; i < nkv && !c.bad; i++) {
        g->kvs[i].key = rd_str(&c, "metadata key");
        g->nkv = (size_t)i + 1;
        read_value(&c, &g->kvs[i]);
    }
    uint64_t align = 32, v;
    if (!c.bad && gguf_get_uint(g, "general.alignment", &v) == 0) {
        if (v == 0 || v > MAX_ALIGN || (v & (v - 1)))
            fail(&c, "general.alignment %llu is not a power of two up to %d", (unsigned long long)v, MAX_ALIGN);
        align = v;
    }
    g->tensors = xcalloc(nt ? (size_t)nt : 1, sizeof *g->tensors);
    uint64_t *offs = xcalloc(nt ? (size_t)nt : 1, sizeof *offs);
    for (uint64_t i = 0; i < nt && !c.bad; i++) {
        read_tensor(&c, &g->tensors[i], &offs[i]);
        g->ntensors = (size_t)i + 1;
    }
    uint64_t data = (c.pos + align - 1) / align * align;
    if (!c.bad && data > c.size && nt)
        fail(&c, "truncated: tensor data would start at byte %llu of %zu", (unsigned long long)data, c.size);
    for (size_t i = 0; i < g->ntensors && !c.bad; i++) {
        gguf_tensor *t = &g->tensors[i];
        if (offs[i] % align)
            fail(&c, "tensor '%.*s': offset %llu is not aligned to %llu", (int)t->name.len, t->name.s,
                 (unsigned long long)offs[i], (unsigned long long)align);
        else if (offs[i] > c.size - data || t->nbytes > c.size - data - offs[i])
            fail(&c, "tensor '%.*s' lies outside the file (bytes %llu..%llu of %zu)", (int)t->name.len,
                 t->name.s, (unsigned long long)(data + offs[i]),
                 (unsigned long long)(data + offs[i] + t->nbytes), c.size);
        else
            t->data = g->base + data + offs[i];
        for (size_t j = 0; j < i && !c.bad; j++)
            if (g->tensors[j].name.len == t->name.len && !memcmp(g->tensors[j].name.s, t->name.s, t->name.len))
                fail(&c, "tensor '%.*s' appears twice", (int)t->name.len, t->name.s);
    }
    free(offs);
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
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
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
    if (!e || !e->val)
        return -1;
    const unsigned char *p = e->val;
    uint64_t u = 0;
    int64_t s = 0;
    switch (e->type) {
    case GGUF_U8:  u = p[0]; break;
    case GGUF_U16: { uint16_t x; memcpy(&x, p, 2); u = x; break; }
    case GGUF_U32: { uint32_t x; memcpy(&x, p, 4); u = x; break; }
    case GGUF_U64: memcpy(&u, p, 8); break;
    case GGUF_I8:  s = (int8_t)p[0]; goto sgn;
    case GGUF_I16: { int16_t x; memcpy(&x, p, 2); s = x; goto sgn; }
    case GGUF_I32: { int32_t x; memcpy(&x, p, 4); s = x; goto sgn; }
    case GGUF_I64: memcpy(&s, p, 8); goto sgn;
    default: return -1;
    }
    *out = u;
    return 0;
sgn:
    if (s < 0)
        return -1;
    *out = (uint64_t)s;
    return 0;
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
    uint64_t n;
    memcpy(&n, e->val, 8);
    *out = (gguf_str){ (const char *)e->val + 8, (size_t)n };
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
