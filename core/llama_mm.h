/* core/llama_mm.h — 8-bit block matrices and their products, for core/llama.c.
 *
 * A qmat is a rows x cols matrix in blocks of 32 values: int8 weights and one float scale
 * per block (Q8_0 with the scale widened).  F32/F16 tensors are quantized to it on load.
 * mm_run computes y[b][r] = W[r] . x[b] for a batch of quantized vectors, reading each
 * weight row once for the whole batch, split over the pool's threads (AVX2 when the CPU
 * has it, plain C otherwise).  Quantizing, the products and their order of additions
 * follow llama.cpp's CPU code (Q8_0 x Q8_0), so both kernels give its results bit for bit. */
#ifndef CORE_LLAMA_MM_H
#define CORE_LLAMA_MM_H
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    int     rows, cols;
    int8_t *q;          /* rows * cols */
    float  *d;          /* rows * cols / 32 */
    int     shared;     /* borrowed from another qmat */
} qmat;

typedef struct mm_pool mm_pool;

void   mm_pack(qmat *w, const void *data, uint32_t type, int rows, int cols);
void   mm_share(qmat *dst, const qmat *src);
void   mm_free(qmat *w);
size_t mm_bytes(const qmat *w);
void   mm_row(const qmat *w, int r, float *out);          /* one row as floats */
/* Rounds to the nearest half-precision value (ties to even), as llama.cpp stores halves. */
static inline float mm_round_f16(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    uint32_t e = (b >> 23) & 0xff;
    if (e >= 113 && e <= 142) {            /* the half normal range */
        uint32_t low = b & 0x1fff, keep = b & ~0x1fffu;
        if (low > 0x1000 || (low == 0x1000 && (b & 0x2000)))
            keep += 0x2000;
        memcpy(&f, &keep, 4);
        return fabsf(f) > 65504.0f ? (f < 0 ? -INFINITY : INFINITY) : f;
    }
    if (e == 0xff)
        return f;                          /* inf, nan */
    if (e > 142)
        return f < 0 ? -INFINITY : INFINITY;
    /* below: multiples of 2^-24, rounded to nearest even (exact scaling) */
    float r = nearbyintf(fabsf(f) * 0x1p24f) * 0x1p-24f;
    return f < 0 ? -r : r;
}
/* n vectors of cols floats -> int8 blocks + scales (llama.cpp's quantize_row_q8_0) */
void   mm_quantize(const float *x, int n, int cols, int8_t *xq, float *xd);
/* Dot product of half-precision values (held as floats) in llama.cpp's order of additions:
 * its matrix kernel for a prompt batch of 2+ tokens (batch != 0), its vector one else. */
float  mm_dot_f16(const float *a, const float *b, int n, int batch);
/* The attention output of a generated token as llama.cpp sums it (ggml_vec_dot_f16 over
 * the cache, whose length it pads to a multiple of 256, so no element is left over): the
 * caller adds weight[t] * v[t][i] into lanes[t % 64][i] in order of t (the products of two
 * halves are exact); out[i] folds the four 16-lane accumulators (0+2, 1+3, then the two)
 * and sums the 16 lanes in _mm512_reduce_add_ps's order. */
void   mm_fold_lanes(const float *lanes, int hd, float *out);
/* g[i] = silu(g[i]) * up[i], with llama.cpp's vector exp. */
void   mm_silu_mul(float *g, const float *up, size_t n);
/* x[i] = exp(x[i] - mx) with llama.cpp's vector exp; returns the sum (in double, in order). */
double mm_exp_row(float *x, int n, float mx);
mm_pool *mm_pool_new(int threads);
void   mm_pool_free(mm_pool *p);
void   mm_run(mm_pool *p, const qmat *w, const int8_t *xq, const float *xd, int n, float *y);
#endif
