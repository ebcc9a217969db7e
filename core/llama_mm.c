/* core/llama_mm.c — block-quantized matrix products.  See llama_mm.h.
 *
 * The kernel takes a weight row once and dots it against up to four batch vectors at a
 * time, so a row is fetched from memory once per step however many branches there are.
 * The pool splits rows between the calling thread and its helpers; they meet at a
 * counter under a mutex (a product takes tens of microseconds at least). */
#include "core/llama_mm.h"
#include "core/gguf.h"
#include "core/mem.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define MM_X86 1
#endif

#define QK 32
#define MAX_THREADS 8

void mm_pack(qmat *w, const void *data, uint32_t type, int rows, int cols)
{
    size_t nb = (size_t)rows * cols / QK;
    w->rows = rows;
    w->cols = cols;
    w->shared = 0;
    w->q = xmalloc((size_t)rows * cols);
    w->d = xmalloc(nb * sizeof *w->d);
    const unsigned char *p = data;
    for (size_t b = 0; b < nb; b++) {
        if (type == GGUF_T_Q8_0) {
            uint16_t h;
            memcpy(&h, p + b * GGUF_Q8_0_BYTES, 2);
            w->d[b] = gguf_f16_to_f32(h);
            if (!isfinite(w->d[b]))           /* as F32/F16 weights: a non-finite block is 0 */
                w->d[b] = 0;
            memcpy(w->q + b * QK, p + b * GGUF_Q8_0_BYTES + 2, QK);
            continue;
        }
        float v[QK], amax = 0;
        for (int i = 0; i < QK; i++) {
            if (type == GGUF_T_F32)
                memcpy(&v[i], p + (b * QK + i) * 4, 4);
            else {
                uint16_t h;
                memcpy(&h, p + (b * QK + i) * 2, 2);
                v[i] = gguf_f16_to_f32(h);
            }
            if (!isfinite(v[i]))
                v[i] = 0;
            if (fabsf(v[i]) > amax)
                amax = fabsf(v[i]);
        }
        float d = amax / 127.0f, id = d ? 1.0f / d : 0;
        w->d[b] = d;
        for (int i = 0; i < QK; i++)
            w->q[b * QK + i] = (int8_t)lrintf(v[i] * id);
    }
}

void mm_share(qmat *dst, const qmat *src)
{
    *dst = *src;
    dst->shared = 1;
}

void mm_free(qmat *w)
{
    if (!w->shared) {
        free(w->q);
        free(w->d);
    }
    w->q = NULL;
    w->d = NULL;
}

size_t mm_bytes(const qmat *w)
{
    return w->shared ? 0 : (size_t)w->rows * w->cols * (1 + sizeof(float) / QK);
}

void mm_row(const qmat *w, int r, float *out)
{
    if (r < 0 || r >= w->rows) {
        memset(out, 0, (size_t)w->cols * sizeof *out);
        return;
    }
    const int8_t *q = w->q + (size_t)r * w->cols;
    const float *d = w->d + (size_t)r * (w->cols / QK);
    for (int i = 0; i < w->cols; i++)
        out[i] = q[i] * d[i / QK];
}

/* ggml's quantize_row_q8_0: d = amax / 127 stored as a half, values x * (127 / amax)
 * rounded to nearest even.  Matching it exactly matters: the model's outputs are chaotic
 * in these roundings (one value rounded the other way moves later logprobs by ~0.1). */
void mm_quantize(const float *x, int n, int cols, int8_t *xq, float *xd)
{
    size_t nb = (size_t)n * cols / QK;
    for (size_t b = 0; b < nb; b++) {
        const float *v = x + b * QK;
        float amax = 0;
        for (int i = 0; i < QK; i++)
            if (fabsf(v[i]) > amax)
                amax = fabsf(v[i]);
        float id = amax != 0 ? 127.0f / amax : 0;
        xd[b] = mm_round_f16(amax / 127.0f);
        for (int i = 0; i < QK; i++)
            xq[b * QK + i] = (int8_t)lrintf(v[i] * id);
    }
}

/* ---- kernels: rows [r0, r1) of y = W x for n vectors ---- */

/* The portable kernel adds in the AVX2 kernel's order (and so llama.cpp's): eight lanes,
 * lane k takes the integer sum of values 4k..4k+3 of each block times the two scales in
 * one fused multiply-add, then the lanes are summed pairwise; both give the same bits. */
static float hsum8_c(const float *a)
{
    float t0 = a[0] + a[4], t1 = a[1] + a[5], t2 = a[2] + a[6], t3 = a[3] + a[7];
    return (t0 + t2) + (t1 + t3);
}

static void rows_c(const qmat *w, int r0, int r1, const int8_t *xq, const float *xd, int n, float *y)
{
    int cols = w->cols, nblk = cols / QK;
    for (int r = r0; r < r1; r++) {
        const int8_t *wq = w->q + (size_t)r * cols;
        const float *wd = w->d + (size_t)r * nblk;
        for (int b = 0; b < n; b++) {
            const int8_t *q = xq + (size_t)b * cols;
            const float *d = xd + (size_t)b * nblk;
            float acc[8] = { 0 };
            for (int j = 0; j < nblk; j++) {
                float sc = wd[j] * d[j];
                for (int k = 0; k < 8; k++) {
                    const int8_t *a = wq + j * QK + 4 * k, *c = q + j * QK + 4 * k;
                    int s = a[0] * c[0] + a[1] * c[1] + a[2] * c[2] + a[3] * c[3];
                    acc[k] = fmaf((float)s, sc, acc[k]);
                }
            }
            y[(size_t)b * w->rows + r] = hsum8_c(acc);
        }
    }
}

#ifdef MM_X86
__attribute__((target("avx2,fma"))) static inline __m256 dot_block(__m256i aw, __m256i wv,
                                                                  const int8_t *x, __m256 scale,
                                                                  __m256 acc)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i xv = _mm256_loadu_si256((const __m256i *)x);
    __m256i sx = _mm256_sign_epi8(xv, wv);                 /* x * sign(w) */
    __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), ones);
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), scale, acc);
}

__attribute__((target("avx2,fma"))) static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma")))
static void rows_avx2(const qmat *w, int r0, int r1, const int8_t *xq, const float *xd, int n, float *y)
{
    int cols = w->cols, nblk = cols / QK;
    for (int r = r0; r < r1; r++) {
        const int8_t *wq = w->q + (size_t)r * cols;
        const float *wd = w->d + (size_t)r * nblk;
        int b = 0;
        for (; b + 4 <= n; b += 4) {
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            const int8_t *q0 = xq + (size_t)b * cols;
            const float *d0 = xd + (size_t)b * nblk;
            for (int j = 0; j < nblk; j++) {
                __m256i wv = _mm256_loadu_si256((const __m256i *)(wq + j * QK));
                __m256i aw = _mm256_sign_epi8(wv, wv);
                float s = wd[j];
                a0 = dot_block(aw, wv, q0 + j * QK, _mm256_set1_ps(s * d0[j]), a0);
                a1 = dot_block(aw, wv, q0 + cols + j * QK, _mm256_set1_ps(s * d0[nblk + j]), a1);
                a2 = dot_block(aw, wv, q0 + 2 * cols + j * QK, _mm256_set1_ps(s * d0[2 * nblk + j]), a2);
                a3 = dot_block(aw, wv, q0 + 3 * cols + j * QK, _mm256_set1_ps(s * d0[3 * nblk + j]), a3);
            }
            y[(size_t)b * w->rows + r] = hsum(a0);
            y[(size_t)(b + 1) * w->rows + r] = hsum(a1);
            y[(size_t)(b + 2) * w->rows + r] = hsum(a2);
            y[(size_t)(b + 3) * w->rows + r] = hsum(a3);
        }
        for (; b < n; b++) {
            __m256 a0 = _mm256_setzero_ps();
            const int8_t *q0 = xq + (size_t)b * cols;
            const float *d0 = xd + (size_t)b * nblk;
            for (int j = 0; j < nblk; j++) {
                __m256i wv = _mm256_loadu_si256((const __m256i *)(wq + j * QK));
                a0 = dot_block(_mm256_sign_epi8(wv, wv), wv, q0 + j * QK, _mm256_set1_ps(wd[j] * d0[j]), a0);
            }
            y[(size_t)b * w->rows + r] = hsum(a0);
        }
    }
}
#endif

typedef void (*rows_fn)(const qmat *, int, int, const int8_t *, const float *, int, float *);

static rows_fn pick_kernel(void)
{
#ifdef MM_X86
    if (!getenv("TERMLOOM_NO_AVX2") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return rows_avx2;
#endif
    return rows_c;
}

/* ---- float kernels of the attention and the feed-forward ---- */

/* The 16-lane sum of _mm512_reduce_add_ps: halves, quarters, then pairs. */
static inline __attribute__((always_inline)) float hsum16_body(const float *a)
{
    float t[8];
    for (int k = 0; k < 8; k++)
        t[k] = a[k] + a[k + 8];
    return hsum8_c(t);
}

/* llama.cpp's F16 products for a prompt batch (its tinyBLAS, AVX-512): lane k of 16
 * takes a[i] * b[i] for i = k mod 16 in fused multiply-adds, then the lanes are summed. */
static inline __attribute__((always_inline)) float dot_gemm_body(const float *a, const float *b, int n)
{
    float acc[16] = { 0 };
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++)
            acc[k] = fmaf(a[i + k], b[i + k], acc[k]);
    float s = hsum16_body(acc);
    for (; i < n; i++)
        s = fmaf(a[i], b[i], s);
    return s;
}

/* ... and for one token (ggml_vec_dot_f16, AVX-512): four accumulators of 16 lanes over
 * steps of 64, folded (0+2, 1+3, then 0+1) and summed into a double with the rest. */
static inline __attribute__((always_inline)) float dot_vec_body(const float *a, const float *b, int n)
{
    float acc[4][16] = { { 0 } };
    int i = 0;
    for (; i + 64 <= n; i += 64)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 16; k++)
                acc[j][k] = fmaf(a[i + 16 * j + k], b[i + 16 * j + k], acc[j][k]);
    for (int k = 0; k < 16; k++) {
        acc[0][k] += acc[2][k];
        acc[1][k] += acc[3][k];
        acc[0][k] += acc[1][k];
    }
    double s = hsum16_body(acc[0]);
    for (; i < n; i++)
        s += (double)(a[i] * b[i]);
    return (float)s;
}

void mm_fold_lanes(const float *lanes, int hd, float *out)
{
    for (int i = 0; i < hd; i++) {
        float l[16];
        for (int k = 0; k < 16; k++) {
            const float *a = lanes + (size_t)k * hd + i;
            float a0 = a[0], a1 = a[(size_t)16 * hd], a2 = a[(size_t)32 * hd], a3 = a[(size_t)48 * hd];
            l[k] = (a0 + a2) + (a1 + a3);
        }
        out[i] = hsum16_body(l);
    }
}

/* e^x as llama.cpp's vector code computes it (the AVX-512 form of the routine it adapts
 * from Arm's optimized-routines): x = n ln2 + b with n = round(x / ln2), a degree-5
 * polynomial in b, scaled by 2^n.  Its last bit differs from expf's now and then; the
 * SiLU of every feed-forward and the attention softmax of a decoded token use it. */
static inline __attribute__((always_inline)) float exp_body(float x)
{
    const float shift = 0x1.8p23f;
    float z = fmaf(x, 0x1.715476p+0f, shift), n = z - shift;
    float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    float u = b * b;
    float p = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
                   fmaf(0x1.ffffecp-1f, b, 1.0f));
    if (fabsf(n) <= 126) {                 /* 2^n is a normal float: an exact product */
        uint32_t e = (uint32_t)((int)n + 127) << 23;
        float two;
        memcpy(&two, &e, 4);
        return p * two;
    }
    if (!(fabsf(n) <= 192))                /* also -inf (a masked score) and nan */
        return n > 0 ? INFINITY : 0.0f;
    return ldexpf(p, (int)n);
}

static inline __attribute__((always_inline)) void silu_body(float *g, const float *up, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g[i] = g[i] / (1.0f + exp_body(-g[i])) * up[i];
}

static inline __attribute__((always_inline)) double exp_row_body(float *x, int n, float mx)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += x[i] = exp_body(x[i] - mx);
    return sum;
}

typedef struct {
    float  (*gemm)(const float *, const float *, int);
    float  (*vec)(const float *, const float *, int);
    void   (*silu)(float *, const float *, size_t);
    double (*exp_row)(float *, int, float);
} float_kernels;

static float gemm_c(const float *a, const float *b, int n) { return dot_gemm_body(a, b, n); }
static float vec_c(const float *a, const float *b, int n) { return dot_vec_body(a, b, n); }
static void silu_c(float *g, const float *up, size_t n) { silu_body(g, up, n); }
static double exp_row_c(float *x, int n, float mx) { return exp_row_body(x, n, mx); }

#ifdef MM_X86
/* The same bodies compiled with FMA instructions (fmaf is a library call without them). */
__attribute__((target("avx2,fma"))) static float gemm_fma(const float *a, const float *b, int n) { return dot_gemm_body(a, b, n); }
__attribute__((target("avx2,fma"))) static float vec_fma(const float *a, const float *b, int n) { return dot_vec_body(a, b, n); }
__attribute__((target("avx2,fma"))) static void silu_fma(float *g, const float *up, size_t n) { silu_body(g, up, n); }
__attribute__((target("avx2,fma"))) static double exp_row_fma(float *x, int n, float mx) { return exp_row_body(x, n, mx); }
#endif

static float_kernels fk;
static pthread_once_t fk_once = PTHREAD_ONCE_INIT;

static void pick_float_kernels(void)
{
    float_kernels k = { gemm_c, vec_c, silu_c, exp_row_c };
#ifdef MM_X86
    if (!getenv("TERMLOOM_NO_AVX2") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        k = (float_kernels){ gemm_fma, vec_fma, silu_fma, exp_row_fma };
#endif
    fk = k;
}

float mm_dot_f16(const float *a, const float *b, int n, int batch)
{
    pthread_once(&fk_once, pick_float_kernels);
    return batch ? fk.gemm(a, b, n) : fk.vec(a, b, n);
}

void mm_silu_mul(float *g, const float *up, size_t n)
{
    pthread_once(&fk_once, pick_float_kernels);
    fk.silu(g, up, n);
}

double mm_exp_row(float *x, int n, float mx)
{
    pthread_once(&fk_once, pick_float_kernels);
    return fk.exp_row(x, n, mx);
}

/* ---- the pool ---- */

typedef struct { struct mm_pool *p; int part; } helper_arg;

struct mm_pool {
    helper_arg      args[MAX_THREADS];
    int             n;             /* threads including the caller */
    rows_fn         fn;
    pthread_t       th[MAX_THREADS];
    pthread_mutex_t mu;
    pthread_cond_t  go, done;
    unsigned long   gen;
    int             pending, quit;
    const qmat     *w;
    const int8_t   *xq;
    const float    *xd;
    int             nvec;
    float          *y;
};

static void share(const mm_pool *p, int part, int *r0, int *r1)
{
    int rows = p->w->rows;
    /* Row ranges in multiples of 4 rows keep neighbours' writes apart. */
    int per = (rows / p->n + 3) & ~3;
    *r0 = part * per < rows ? part * per : rows;
    *r1 = part == p->n - 1 ? rows : ((part + 1) * per < rows ? (part + 1) * per : rows);
}


static void *helper(void *arg)
{
    helper_arg *a = arg;
    mm_pool *p = a->p;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->gen == seen)
            pthread_cond_wait(&p->go, &p->mu);
        if (p->quit)
            break;
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        int r0, r1;
        share(p, a->part, &r0, &r1);
        if (r0 < r1)
            p->fn(p->w, r0, r1, p->xq, p->xd, p->nvec, p->y);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

mm_pool *mm_pool_new(int threads)
{
    mm_pool *p = xcalloc(1, sizeof *p);
    p->fn = pick_kernel();
    p->n = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 1; i < p->n; i++) {
        helper_arg *a = &p->args[i];
        *a = (helper_arg){ p, i };
        if (pthread_create(&p->th[i], NULL, helper, a)) {
            p->n = i;
            break;
        }
    }
    return p;
}

void mm_pool_free(mm_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++)
        pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    free(p);
}

void mm_run(mm_pool *p, const qmat *w, const int8_t *xq, const float *xd, int n, float *y)
{
    if (p->n == 1 || (long)w->rows * n < 4096) {
        p->fn(w, 0, w->rows, xq, xd, n, y);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->w = w;
    p->xq = xq;
    p->xd = xd;
    p->nvec = n;
    p->y = y;
    p->pending = p->n - 1;
    p->gen++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    int r0, r1;
    share(p, 0, &r0, &r1);
    p->fn(w, r0, r1, xq, xd, n, y);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
