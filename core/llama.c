/* core/llama.c — loading a Llama GGUF and its forward pass.  See llama.h.
 *
 * One forward routine serves both prompt and branches: a batch of items, each a token at a
 * position, either in the prefix (it attends to prefix positions up to its own) or in a
 * branch (the whole prefix, then the branch's own tokens).
 *
 * The arithmetic is llama.cpp's CPU arithmetic (its recorded distributions are the test),
 * step for step, because this model family is chaotic in roundings: one activation rounded
 * the other way in one layer moves later logprobs by 0.1-0.3 nats.  So: activations are
 * quantized to Q8_0 before each product (llama_mm.c, llama.cpp's order of additions);
 * RMSNorm sums float squares in double; RoPE uses float angles pos * base^(-2i/d) built by
 * repeated multiplication, with fused multiply-adds; the KV cache, the queries and the
 * attention weights are rounded to half precision (llama.cpp's F16 cache and its F16 matrix
 * products, without flash attention: its fused kernel, which keeps unrounded weights, lands
 * 0.1-0.35 nats away), the products added in its orders (a prompt batch and a single token
 * differ; a generated token's weighted values in ggml_vec_dot_f16's 64 lanes over a cache
 * padded to 256 cells); the softmax sums in double; the SiLU, and the softmax of a decoded
 * token, use llama.cpp's vector exp.  The shipped models then reproduce its figures to
 * 2e-5 nats but for two tails (rl 'ROMEO:' from step 13, 0.063; tuned's last case from
 * step 21, 0.015): one value in each still rounds the other way (see the test). */
#include "core/llama.h"
#include "core/llama_mm.h"
#include "core/mem.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 256
#define CHUNK      32            /* prompt tokens per batch */

typedef struct {
    float *attn_norm, *ffn_norm;
    qmat   wq, wk, wv, wo, gate, up, down;
} layer;

struct llama_model {
    bpe   *tok;
    int    dim, ffn, nlayer, nhead, nkv, hd, nctx, nvocab;
    float  eps, theta;           /* RMSNorm epsilon, RoPE base */
    qmat   embd, out;
    float *out_norm;
    layer *L;
    size_t bytes;
};

typedef struct {
    int32_t tok;
    int     pos;
    int     br;                  /* -1: prefix item */
} item;

struct llama_ctx {
    const llama_model *m;
    int     maxb, gen, kvdim, cap;    /* cap: items per batch */
    float  *pk, *pv;             /* prefix cache [layer][nctx][kvdim] */
    float  *bk, *bv;             /* branch caches [branch][layer][gen][kvdim] */
    int32_t *prefix;             /* prefix token ids */
    int     np;
    int     pbatch;              /* tokens of the prompt batch being computed, 0 decoding */
    int    *blen;
    float  *x, *xb, *q, *k, *v, *att, *h1, *h2, *score;
    float  *qh, *rope;           /* one head's query; cos/sin per item */
    float  *lanes;               /* 64 x head_dim partial sums of an attention output */
    int8_t *xq;
    float  *xd;
    item   *items;
    int    *rows;
    mm_pool *pool;
};

/* ---- loading ---- */

static const gguf_tensor *want(const gguf *g, const char *name, uint64_t ne0, uint64_t ne1,
                               char *err, size_t errlen)
{
    const gguf_tensor *t = gguf_find_tensor(g, name);
    if (!t) {
        snprintf(err, errlen, "tensor '%s' is missing", name);
        return NULL;
    }
    if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] != 1 || t->ne[3] != 1) {
        snprintf(err, errlen, "tensor '%s' is %llux%llu, expected %llux%llu", name,
                 (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                 (unsigned long long)ne0, (unsigned long long)ne1);
        return NULL;
    }
    return t;
}

static float *load_vec(const gguf *g, const char *name, int n, size_t *bytes, char *err, size_t errlen)
{
    const gguf_tensor *t = want(g, name, (uint64_t)n, 1, err, errlen);
    if (!t)
        return NULL;
    float *v = xmalloc((size_t)n * sizeof *v);
    for (int i = 0; i < n; i++) {
        if (t->type == GGUF_T_F32)
            memcpy(&v[i], (const char *)t->data + 4 * i, 4);
        else if (t->type == GGUF_T_F16) {
            uint16_t h;
            memcpy(&h, (const char *)t->data + 2 * i, 2);
            v[i] = gguf_f16_to_f32(h);
        } else {
            snprintf(err, errlen, "tensor '%s': type %s for a vector is not supported", name,
                     gguf_type_name(t->type));
            free(v);
            return NULL;
        }
    }
    *bytes += (size_t)n * sizeof *v;
    return v;
}

static int load_mat(const gguf *g, const char *name, int cols, int rows, qmat *out, size_t *bytes,
                    char *err, size_t errlen)
{
    const gguf_tensor *t = want(g, name, (uint64_t)cols, (uint64_t)rows, err, errlen);
    if (!t)
        return -1;
    if (cols % 32) {
        snprintf(err, errlen, "tensor '%s': row length %d is not a multiple of 32", name, cols);
        return -1;
    }
    mm_pack(out, t->data, t->type, rows, cols);
    *bytes += mm_bytes(out);
    return 0;
}

static int meta_int(const gguf *g, const char *key, int lo, int hi, int *out, char *err, size_t errlen)
{
    uint64_t v;
    if (gguf_get_uint(g, key, &v)) {
        snprintf(err, errlen, "metadata '%s' is missing", key);
        return -1;
    }
    if (v < (uint64_t)lo || v > (uint64_t)hi) {
        snprintf(err, errlen, "metadata '%s' = %llu is out of range (%d..%d)", key, (unsigned long long)v, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int load_into(llama_model *m, const gguf *g, char *err, size_t errlen)
{
    gguf_str arch;
    if (gguf_get_str(g, "general.architecture", &arch)) {
        snprintf(err, errlen, "general.architecture is missing");
        return -1;
    }
    if (arch.len != 5 || memcmp(arch.s, "llama", 5)) {
        snprintf(err, errlen, "architecture '%.*s' is not supported (only llama is)",
                 (int)(arch.len > 40 ? 40 : arch.len), arch.s);
        return -1;
    }
    if (meta_int(g, "llama.embedding_length", 32, 16384, &m->dim, err, errlen) ||
        meta_int(g, "llama.feed_forward_length", 32, 65536, &m->ffn, err, errlen) ||
        meta_int(g, "llama.block_count", 1, MAX_LAYERS, &m->nlayer, err, errlen) ||
        meta_int(g, "llama.attention.head_count", 1, 1024, &m->nhead, err, errlen) ||
        meta_int(g, "llama.context_length", 1, 1 << 20, &m->nctx, err, errlen))
        return -1;
    m->nkv = m->nhead;
    uint64_t v;
    if (gguf_get_uint(g, "llama.attention.head_count_kv", &v) == 0 &&
        meta_int(g, "llama.attention.head_count_kv", 1, 1024, &m->nkv, err, errlen))
        return -1;
    if (m->dim % m->nhead || m->nkv < 1 || m->nhead % m->nkv) {
        snprintf(err, errlen, "head counts %d/%d do not divide the width %d", m->nhead, m->nkv, m->dim);
        return -1;
    }
    m->hd = m->dim / m->nhead;
    if (m->hd % 2 || (gguf_get_uint(g, "llama.rope.dimension_count", &v) == 0 && v != (uint64_t)m->hd)) {
        snprintf(err, errlen, "partial rotary embeddings are not supported");
        return -1;
    }
    if (m->nctx > 4096)
        m->nctx = 4096;          /* the cache is allocated for the whole context */
    double d;
    m->eps = gguf_get_float(g, "llama.attention.layer_norm_rms_epsilon", &d) == 0 ? (float)d : 1e-5f;
    m->theta = gguf_get_float(g, "llama.rope.freq_base", &d) == 0 ? (float)d : 10000.0f;
    if (!(m->eps > 0 && m->eps < 1) || !(m->theta > 1 && m->theta < 1e9)) {
        snprintf(err, errlen, "rms epsilon or rope base is out of range");
        return -1;
    }
    m->tok = bpe_from_gguf(g, err, errlen);
    if (!m->tok)
        return -1;
    m->nvocab = (int)bpe_vocab_size(m->tok);
    int kvdim = m->nkv * m->hd;
    if (load_mat(g, "token_embd.weight", m->dim, m->nvocab, &m->embd, &m->bytes, err, errlen))
        return -1;
    if (gguf_find_tensor(g, "output.weight")) {
        if (load_mat(g, "output.weight", m->dim, m->nvocab, &m->out, &m->bytes, err, errlen))
            return -1;
    } else
        mm_share(&m->out, &m->embd);
    if (!(m->out_norm = load_vec(g, "output_norm.weight", m->dim, &m->bytes, err, errlen)))
        return -1;
    m->L = xcalloc((size_t)m->nlayer, sizeof *m->L);
    for (int l = 0; l < m->nlayer; l++) {
        layer *L = &m->L[l];
        char n[64];
#define NAME(s) (snprintf(n, sizeof n, "blk.%d.%s.weight", l, s), n)
        if (!(L->attn_norm = load_vec(g, NAME("attn_norm"), m->dim, &m->bytes, err, errlen)) ||
            !(L->ffn_norm = load_vec(g, NAME("ffn_norm"), m->dim, &m->bytes, err, errlen)) ||
            load_mat(g, NAME("attn_q"), m->dim, m->dim, &L->wq, &m->bytes, err, errlen) ||
            load_mat(g, NAME("attn_k"), m->dim, kvdim, &L->wk, &m->bytes, err, errlen) ||
            load_mat(g, NAME("attn_v"), m->dim, kvdim, &L->wv, &m->bytes, err, errlen) ||
            load_mat(g, NAME("attn_output"), m->dim, m->dim, &L->wo, &m->bytes, err, errlen) ||
            load_mat(g, NAME("ffn_gate"), m->dim, m->ffn, &L->gate, &m->bytes, err, errlen) ||
            load_mat(g, NAME("ffn_up"), m->dim, m->ffn, &L->up, &m->bytes, err, errlen) ||
            load_mat(g, NAME("ffn_down"), m->ffn, m->dim, &L->down, &m->bytes, err, errlen))
            return -1;
#undef NAME
    }
    return 0;
}

llama_model *llama_load(const char *path, char *err, size_t errlen)
{
    gguf *g = gguf_open(path, err, errlen);
    if (!g)
        return NULL;
    llama_model *m = xcalloc(1, sizeof *m);
    char e[256];
    int rc = load_into(m, g, e, sizeof e);
    gguf_close(g);
    if (rc) {
        snprintf(err, errlen, "%s: %s", path, e);
        llama_free(m);
        return NULL;
    }
    return m;
}

void llama_free(llama_model *m)
{
    if (!m)
        return;
    if (m->L)
        for (int l = 0; l < m->nlayer; l++) {
            layer *L = &m->L[l];
            free(L->attn_norm);
            free(L->ffn_norm);
            mm_free(&L->wq);
            mm_free(&L->wk);
            mm_free(&L->wv);
            mm_free(&L->wo);
            mm_free(&L->gate);
            mm_free(&L->up);
            mm_free(&L->down);
        }
    free(m->L);
    mm_free(&m->out);
    mm_free(&m->embd);
    free(m->out_norm);
    bpe_free(m->tok);
    free(m);
}

const bpe *llama_tokenizer(const llama_model *m) { return m->tok; }
int    llama_n_ctx(const llama_model *m) { return m->nctx; }
int    llama_n_vocab(const llama_model *m) { return m->nvocab; }
size_t llama_weight_bytes(const llama_model *m) { return m->bytes; }

/* ---- context ---- */

llama_ctx *llama_ctx_new(const llama_model *m, int branches, int gen, int threads)
{
    llama_ctx *c = xcalloc(1, sizeof *c);
    c->m = m;
    c->maxb = branches < 1 ? 1 : branches;
    c->gen = gen < 1 ? 1 : gen > m->nctx - 1 ? m->nctx - 1 : gen;
    c->kvdim = m->nkv * m->hd;
    c->cap = c->maxb > CHUNK ? c->maxb : CHUNK;
    size_t L = (size_t)m->nlayer, kv = (size_t)c->kvdim;
    c->pk = xmalloc(L * (size_t)m->nctx * kv * sizeof(float));
    c->pv = xmalloc(L * (size_t)m->nctx * kv * sizeof(float));
    c->bk = xmalloc((size_t)c->maxb * L * (size_t)c->gen * kv * sizeof(float));
    c->bv = xmalloc((size_t)c->maxb * L * (size_t)c->gen * kv * sizeof(float));
    c->prefix = xmalloc((size_t)m->nctx * sizeof *c->prefix);
    c->blen = xcalloc((size_t)c->maxb, sizeof *c->blen);
    size_t cap = (size_t)c->cap, wide = (size_t)(m->ffn > m->dim ? m->ffn : m->dim);
    c->x = xmalloc(cap * (size_t)m->dim * sizeof(float));
    c->xb = xmalloc(cap * (size_t)m->dim * sizeof(float));
    c->q = xmalloc(cap * (size_t)m->dim * sizeof(float));
    c->k = xmalloc(cap * kv * sizeof(float));
    c->v = xmalloc(cap * kv * sizeof(float));
    c->att = xmalloc(cap * (size_t)m->dim * sizeof(float));
    c->h1 = xmalloc(cap * wide * sizeof(float));
    c->h2 = xmalloc(cap * wide * sizeof(float));
    c->score = xmalloc((size_t)(m->nctx + 1) * sizeof(float));
    c->qh = xmalloc((size_t)m->hd * sizeof(float));
    c->lanes = xmalloc((size_t)64 * m->hd * sizeof(float));
    c->rope = xmalloc(cap * (size_t)m->hd * sizeof(float));
    c->xq = xmalloc(cap * wide);
    c->xd = xmalloc(cap * (wide / 32) * sizeof(float));
    c->items = xmalloc(cap * sizeof *c->items);
    c->rows = xmalloc(cap * sizeof *c->rows);
    c->pool = mm_pool_new(threads);
    return c;
}

void llama_ctx_free(llama_ctx *c)
{
    if (!c)
        return;
    mm_pool_free(c->pool);
    free(c->pk); free(c->pv); free(c->bk); free(c->bv); free(c->prefix); free(c->blen);
    free(c->x); free(c->xb); free(c->q); free(c->k); free(c->v); free(c->att);
    free(c->h1); free(c->h2); free(c->score); free(c->qh); free(c->lanes); free(c->rope); free(c->xq); free(c->xd); free(c->items); free(c->rows);
    free(c);
}

int llama_ctx_branches(const llama_ctx *c) { return c->maxb; }
int llama_ctx_gen(const llama_ctx *c) { return c->gen; }
int llama_prefix_len(const llama_ctx *c) { return c->np; }
int llama_branch_len(const llama_ctx *c, int br) { return br >= 0 && br < c->maxb ? c->blen[br] : 0; }

/* ---- the forward pass ---- */

/* As ggml_compute_forward_rms_norm_f32: float squares summed in double, a float mean. */
static void rmsnorm(float *o, const float *x, const float *w, int n, float eps)
{
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += (double)(x[i] * x[i]);
    float mean = (float)(ss / n);
    float s = 1.0f / sqrtf(mean + eps);
    for (int i = 0; i < n; i++)
        o[i] = (x[i] * s) * w[i];
}

/* The cos/sin pairs of one position (ggml's rope cache): the angle of pair i is built by
 * multiplying pos by base^(-2/d) i times in float. */
static void rope_table(float *cs, int hd, int pos, float theta)
{
    float scale = powf(theta, -2.0f / (float)hd), a = (float)pos;
    for (int i = 0; i < hd; i += 2) {
        cs[i] = cosf(a);
        cs[i + 1] = sinf(a);
        a *= scale;
    }
}

/* llama.cpp's "normal" rope: adjacent pairs (2i, 2i+1) turned by the table's angles. */
static void rope(float *v, int nheads, int hd, const float *cs)
{
    for (int h = 0; h < nheads; h++)
        for (int i = 0; i < hd; i += 2) {
            float *p = v + h * hd + i, x0 = p[0], x1 = p[1], c = cs[i], s = cs[i + 1];
            p[0] = fmaf(x0, c, -(x1 * s));
            p[1] = fmaf(x0, s, x1 * c);
        }
}

static void matmul(llama_ctx *c, const qmat *w, const float *x, int n, float *y)
{
    mm_quantize(x, n, w->cols, c->xq, c->xd);
    mm_run(c->pool, w, c->xq, c->xd, n, y);
}

static float *kslot(llama_ctx *c, int l, const item *it, int which)
{
    const llama_model *m = c->m;
    size_t kv = (size_t)c->kvdim;
    if (it->br < 0)
        return (which ? c->pv : c->pk) + ((size_t)l * m->nctx + (size_t)it->pos) * kv;
    size_t t = (size_t)(it->pos - c->np);
    return (which ? c->bv : c->bk) + (((size_t)it->br * m->nlayer + l) * c->gen + t) * kv;
}

static void attention(llama_ctx *c, int l, const item *it, const float *q, float *out)
{
    const llama_model *m = c->m;
    int hd = m->hd, group = m->nhead / m->nkv;
    int npre = it->br < 0 ? it->pos + 1 : c->np;
    int nown = it->br < 0 ? 0 : it->pos - c->np + 1;
    int nt = npre + nown;
    size_t kv = (size_t)c->kvdim;
    const float *pk = c->pk + (size_t)l * m->nctx * kv, *pv = c->pv + (size_t)l * m->nctx * kv;
    const float *bk = NULL, *bv = NULL;
    if (it->br >= 0) {
        size_t off = ((size_t)it->br * m->nlayer + l) * c->gen * kv;
        bk = c->bk + off;
        bv = c->bv + off;
    }
    float scale = 1.0f / sqrtf((float)hd);
    float *qh = c->qh, *sc = c->score;
    /* llama.cpp computes a prompt of 2+ tokens as one batch (matrix kernels, expf in the
     * softmax) and a generated token alone (vector kernels and its vector exp). */
    int batch = it->br < 0 && c->pbatch >= 2, decode = it->br >= 0;
    for (int h = 0; h < m->nhead; h++) {
        for (int i = 0; i < hd; i++)
            qh[i] = mm_round_f16(q[h * hd + i]);
        size_t ko = (size_t)(h / group) * hd;
        float mx = -INFINITY;
        for (int t = 0; t < nt; t++) {
            const float *kt = t < npre ? pk + t * kv + ko : bk + (t - npre) * kv + ko;
            float s = mm_dot_f16(qh, kt, hd, batch) * scale;
            sc[t] = s;
            if (s > mx)
                mx = s;
        }
        double sum = 0;
        if (decode)
            sum = mm_exp_row(sc, nt, mx);
        else
            for (int t = 0; t < nt; t++)
                sum += sc[t] = expf(sc[t] - mx);
        float inv = (float)(1.0 / sum);
        float *o = out + h * hd;
        /* A generated token: llama.cpp's lanes (see mm_fold_lanes); a prompt: in order. */
        float *acc = decode ? c->lanes : o;
        memset(acc, 0, (size_t)(decode ? 64 : 1) * hd * sizeof *acc);
        for (int t = 0; t < nt; t++) {
            const float *vt = t < npre ? pv + t * kv + ko : bv + (t - npre) * kv + ko;
            float a = mm_round_f16(sc[t] * inv), *row = decode ? acc + (size_t)(t & 63) * hd : acc;
            for (int i = 0; i < hd; i++)
                row[i] += a * vt[i];
        }
        if (decode)
            mm_fold_lanes(acc, hd, o);
    }
}

/* Runs n items; logits rows for the items flagged in `want_logits` (all when NULL: only the
 * last when want_last). */
static void forward(llama_ctx *c, int n, float *logits, int only_last)
{
    const llama_model *m = c->m;
    int dim = m->dim, kv = c->kvdim, ffn = m->ffn;
    for (int i = 0; i < n; i++) {
        mm_row(&m->embd, c->items[i].tok, c->x + (size_t)i * dim);
        rope_table(c->rope + (size_t)i * m->hd, m->hd, c->items[i].pos, m->theta);
    }
    for (int l = 0; l < m->nlayer; l++) {
        const layer *L = &m->L[l];
        for (int i = 0; i < n; i++)
            rmsnorm(c->xb + (size_t)i * dim, c->x + (size_t)i * dim, L->attn_norm, dim, m->eps);
        matmul(c, &L->wq, c->xb, n, c->q);
        matmul(c, &L->wk, c->xb, n, c->k);
        matmul(c, &L->wv, c->xb, n, c->v);
        for (int i = 0; i < n; i++) {
            const item *it = &c->items[i];
            const float *cs = c->rope + (size_t)i * m->hd;
            rope(c->q + (size_t)i * dim, m->nhead, m->hd, cs);
            rope(c->k + (size_t)i * kv, m->nkv, m->hd, cs);
            float *ks = kslot(c, l, it, 0), *vs = kslot(c, l, it, 1);
            for (int j = 0; j < kv; j++) {
                ks[j] = mm_round_f16(c->k[(size_t)i * kv + j]);
                vs[j] = mm_round_f16(c->v[(size_t)i * kv + j]);
            }
        }
        for (int i = 0; i < n; i++)
            attention(c, l, &c->items[i], c->q + (size_t)i * dim, c->att + (size_t)i * dim);
        matmul(c, &L->wo, c->att, n, c->xb);
        for (size_t i = 0; i < (size_t)n * dim; i++)
            c->x[i] += c->xb[i];
        for (int i = 0; i < n; i++)
            rmsnorm(c->xb + (size_t)i * dim, c->x + (size_t)i * dim, L->ffn_norm, dim, m->eps);
        matmul(c, &L->gate, c->xb, n, c->h1);
        matmul(c, &L->up, c->xb, n, c->h2);
        mm_silu_mul(c->h1, c->h2, (size_t)n * ffn);
        matmul(c, &L->down, c->h1, n, c->xb);
        for (size_t i = 0; i < (size_t)n * dim; i++)
            c->x[i] += c->xb[i];
    }
    if (!logits)
        return;
    int from = only_last ? n - 1 : 0;
    for (int i = from; i < n; i++)
        rmsnorm(c->xb + (size_t)(i - from) * dim, c->x + (size_t)i * dim, m->out_norm, dim, m->eps);
    matmul(c, &m->out, c->xb, n - from, logits);
}

int llama_prefill(llama_ctx *c, const int32_t *ids, int n, float *logits)
{
    const llama_model *m = c->m;
    if (n < 1 || n > m->nctx - c->gen)
        return -1;
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->nvocab)
            return -1;
    /* Keep the cached positions this prompt shares with the last one, but recompute at
     * least the last token: its logits are wanted. */
    int keep = 0;
    while (keep < c->np && keep < n - 1 && c->prefix[keep] == ids[keep])
        keep++;
    memcpy(c->prefix, ids, (size_t)n * sizeof *ids);
    memset(c->blen, 0, (size_t)c->maxb * sizeof *c->blen);
    for (int at = keep; at < n;) {
        int len = n - at < CHUNK ? n - at : CHUNK;
        for (int i = 0; i < len; i++)
            c->items[i] = (item){ ids[at + i], at + i, -1 };
        c->np = at + len;     /* attention of prefix items reads only up to their own pos */
        c->pbatch = n - keep;
        forward(c, len, at + len == n ? logits : NULL, 1);
        c->pbatch = 0;
        at += len;
    }
    c->np = n;
    return 0;
}

void llama_decode(llama_ctx *c, const int32_t *ids, const int *br, int n, float *logits)
{
    size_t nv = (size_t)c->m->nvocab;
    for (int done = 0; done < n;) {
        int len = n - done < c->cap ? n - done : c->cap, ok = 0;
        int *row = c->rows;
        for (int i = 0; i < len; i++) {
            int b = br[done + i];
            int32_t t = ids[done + i];
            float *out = logits + (size_t)(done + i) * nv;
            if (b < 0 || b >= c->maxb || c->blen[b] >= c->gen || t < 0 || (size_t)t >= nv) {
                memset(out, 0, nv * sizeof *out);      /* refused: no branch there */
                continue;
            }
            row[ok] = done + i;
            c->items[ok++] = (item){ t, c->np + c->blen[b], b };
        }
        if (ok) {
            /* Rows come out packed; spread them to their places, last first. */
            float *base = logits + (size_t)done * nv;
            forward(c, ok, base, 0);
            for (int i = ok - 1; i >= 0; i--) {
                if (row[i] - done != i)
                    memmove(logits + (size_t)row[i] * nv, base + (size_t)i * nv, nv * sizeof *base);
                c->blen[c->items[i].br]++;
            }
        }
        done += len;
    }
}

double llama_log_softmax(const float *logits, int n, double *lp)
{
    double mx = -INFINITY, sum = 0, h = 0;
    for (int i = 0; i < n; i++)
        if (logits[i] > mx)
            mx = logits[i];
    for (int i = 0; i < n; i++)
        sum += exp(logits[i] - mx);
    double lz = mx + log(sum);
    for (int i = 0; i < n; i++) {
        lp[i] = logits[i] - lz;
        h -= exp(lp[i]) * lp[i];
    }
    return h;
}
