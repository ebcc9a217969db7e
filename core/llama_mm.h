/* core/llama_mm.h — 8-bit block matrices and their products, for core/llama.c.
 *
 * A qmat is a rows x cols matrix in blocks of 32 values: int8 weights and one float scale
 * per block (Q8_0 with the scale widened).  F32/F16 tensors are quantized to it on load.
 * mm_run computes y[b][r] = W[r] . x[b] for a batch of quantized vectors, reading each
 * weight row once for the whole batch, split over the pool's threads (AVX2 when the CPU
 * has it, plain C otherwise). */
#ifndef CORE_LLAMA_MM_H
#define CORE_LLAMA_MM_H
#include <stddef.h>
#include <stdint.h>

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
/* n vectors of cols floats -> int8 blocks + scales */
void   mm_quantize(const float *x, int n, int cols, int8_t *xq, float *xd);
mm_pool *mm_pool_new(int threads);
void   mm_pool_free(mm_pool *p);
void   mm_run(mm_pool *p, const qmat *w, const int8_t *xq, const float *xd, int n, float *y);
#endif
