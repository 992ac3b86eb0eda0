/* scalar.c — the scalar kernel set: the specification every SIMD set is tested against.
 * Plain loops, f32 accumulation in element order. */
#include <math.h>
#include <string.h>

#include "../../src/core/types.h"
#include "../../src/quant/blocks.h"
#include "../../src/quant/quant.h"
#include "isa.h"

static void gemm_f32(int64_t k, int m, int n, const float *a, size_t lda, const float *b, size_t ldb,
                     float *c, size_t ldc) {
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            const float *x = a + (size_t)i * lda, *y = b + (size_t)j * ldb;
            float s = 0.0f;
            for (int64_t e = 0; e < k; e++) s += x[e] * y[e];
            c[(size_t)j * ldc + i] = s;
        }
}

static void gemm_f16(int64_t k, int m, int n, const uint16_t *a, size_t lda, const float *b, size_t ldb,
                     float *c, size_t ldc) {
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            const uint16_t *x = a + (size_t)i * lda;
            const float *y = b + (size_t)j * ldb;
            float s = 0.0f;
            for (int64_t e = 0; e < k; e++) s += wk_fp16_to_fp32(x[e]) * y[e];
            c[(size_t)j * ldc + i] = s;
        }
}

static void gemm_bf16(int64_t k, int m, int n, const uint16_t *a, size_t lda, const uint16_t *b, size_t ldb,
                      float *c, size_t ldc) {
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            const uint16_t *x = a + (size_t)i * lda, *y = b + (size_t)j * ldb;
            float s = 0.0f;
            for (int64_t e = 0; e < k; e++) s += wk_bf16_to_fp32(x[e]) * wk_bf16_to_fp32(y[e]);
            c[(size_t)j * ldc + i] = s;
        }
}

static void f32_to_bf16(int64_t n, const float *x, uint16_t *y) {
    for (int64_t i = 0; i < n; i++) y[i] = wk_fp32_to_bf16(x[i]);
}

/* attention value tile and softmax exponentials (isa.h): element order, libm expf */
static void wsum_f32(int64_t n, int nr, int nk, const float *w, size_t ldw, const float *x, size_t ldx, float *y,
                     size_t ldy) {
    for (int r = 0; r < nr; r++)
        for (int j = 0; j < nk; j++) {
            const float wj = w[(size_t)r * ldw + j];
            for (int64_t i = 0; i < n; i++) y[(size_t)r * ldy + i] += wj * x[(size_t)j * ldx + i];
        }
}

static void wsum_f16(int64_t n, int nr, int nk, const float *w, size_t ldw, const uint16_t *x, size_t ldx, float *y,
                     size_t ldy) {
    for (int r = 0; r < nr; r++)
        for (int j = 0; j < nk; j++) {
            const float wj = w[(size_t)r * ldw + j];
            for (int64_t i = 0; i < n; i++) y[(size_t)r * ldy + i] += wj * wk_fp16_to_fp32(x[(size_t)j * ldx + i]);
        }
}

static float exp_sum(int64_t n, const float *x, float m, float *y) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        y[i] = expf(x[i] - m);
        s += y[i];
    }
    return s;
}

const wk_isa wk_cpu_isa_scalar = {
    .name = "scalar",
    .gemm_f32 = gemm_f32,
    .gemm_f16 = gemm_f16,
    .gemm_bf16 = gemm_bf16,
    .f32_to_bf16 = f32_to_bf16,
    .wsum_f32 = wsum_f32,
    .wsum_f16 = wsum_f16,
    .exp_sum = exp_sum,
};

/* ---- quantized tiles: the reference row dot product per (i, j) ---- */

#define QGEMM_REF(T)                                                                                  \
    static void qgemm_##T(int64_t k, int m, int n, const void *a, size_t lda, const void *b, size_t ldb, \
                          float *c, size_t ldc) {                                                     \
        for (int j = 0; j < n; j++)                                                                   \
            for (int i = 0; i < m; i++)                                                               \
                wk_vec_dot(WK_TYPE_##T, k, &c[(size_t)j * ldc + i], (const char *)a + (size_t)i * lda, \
                           (const char *)b + (size_t)j * ldb);                                        \
    }
QGEMM_REF(Q4_0)
QGEMM_REF(Q4_1)
QGEMM_REF(Q5_0)
QGEMM_REF(Q5_1)
QGEMM_REF(Q8_0)
QGEMM_REF(Q8_1)
QGEMM_REF(Q2_K)
QGEMM_REF(Q3_K)
QGEMM_REF(Q4_K)
QGEMM_REF(Q5_K)
QGEMM_REF(Q6_K)
QGEMM_REF(IQ4_NL)
QGEMM_REF(IQ4_XS)

wk_qgemm_fn wk_cpu_qgemm_scalar(wk_type t) {
    switch (t) {
    case WK_TYPE_Q4_0: return qgemm_Q4_0;
    case WK_TYPE_Q4_1: return qgemm_Q4_1;
    case WK_TYPE_Q5_0: return qgemm_Q5_0;
    case WK_TYPE_Q5_1: return qgemm_Q5_1;
    case WK_TYPE_Q8_0: return qgemm_Q8_0;
    case WK_TYPE_Q8_1: return qgemm_Q8_1;
    case WK_TYPE_Q2_K: return qgemm_Q2_K;
    case WK_TYPE_Q3_K: return qgemm_Q3_K;
    case WK_TYPE_Q4_K: return qgemm_Q4_K;
    case WK_TYPE_Q5_K: return qgemm_Q5_K;
    case WK_TYPE_Q6_K: return qgemm_Q6_K;
    case WK_TYPE_IQ4_NL: return qgemm_IQ4_NL;
    case WK_TYPE_IQ4_XS: return qgemm_IQ4_XS;
    default: return NULL;
    }
}

/* ---- the prompt-panel activation row (isa.h) ---- */

size_t wk_cpu_qpanel_row_size(int64_t k) {
    const size_t raw = (size_t)k + (size_t)(k / 32) * sizeof(wk_qpanel_blk);
    return (raw + 63) / 64 * 64; /* rows start on cache lines */
}

void wk_cpu_qpanel_row(wk_type vt, const void *row, int64_t k, void *out) {
    if (vt == WK_TYPE_Q8_K) { /* K-quants: the super-block's d for each of its 8 blocks, sums from bsums */
        int8_t *q = out;
        wk_qpanel_blk *blk = (wk_qpanel_blk *)(q + k);
        for (int64_t sb = 0; sb < k / 256; sb++) {
            const wk_block_q8_K *y = (const wk_block_q8_K *)row + sb;
            memcpy(q + sb * 256, y->qs, 256);
            for (int j = 0; j < 8; j++) {
                const int32_t sum = y->bsums[2 * j] + y->bsums[2 * j + 1];
                blk[sb * 8 + j] = (wk_qpanel_blk){y->d, -128 * sum, y->d * (float)sum, -128 * y->bsums[2 * j]};
            }
        }
        return;
    }
    const int q1 = vt == WK_TYPE_Q8_1;
    const size_t bsz = q1 ? sizeof(wk_block_q8_1) : sizeof(wk_block_q8_0);
    int8_t *q = out;
    wk_qpanel_blk *blk = (wk_qpanel_blk *)(q + k);
    for (int64_t ib = 0; ib < k / 32; ib++) {
        const uint8_t *x = (const uint8_t *)row + (size_t)ib * bsz;
        uint16_t d, s = 0;
        memcpy(&d, x, 2);
        if (q1) memcpy(&s, x + 2, 2);
        const int8_t *qs = (const int8_t *)(x + (q1 ? 4 : 2));
        int32_t sum = 0;
        for (int e = 0; e < 32; e++) sum += qs[e];
        memcpy(q + ib * 32, qs, 32);
        blk[ib] = (wk_qpanel_blk){wk_h2f(d), -128 * sum, q1 ? wk_h2f(s) : 0.0f, 0};
    }
}
