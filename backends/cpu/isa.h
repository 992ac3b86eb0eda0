/* isa.h — the per-ISA kernel set. One struct per instruction set (scalar, avx2, avx512, neon),
 * each in its own file compiled with its own flags; one is chosen at start from cpuid,
 * or forced with WICK_CPU=scalar|avx2|avx512|neon. The scalar set is the specification. */
#ifndef WK_CPU_ISA_H
#define WK_CPU_ISA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wick.h"

/* A gemm tile: c[j*ldc + i] = dot(row i of a, row j of b) over k elements, for i < m,
 * j < n. Strides are in elements. Any m, n >= 1 and k >= 1 must work. */
typedef void (*wk_gemm_f32_fn)(int64_t k, int m, int n, const float *a, size_t lda, const float *b,
                               size_t ldb, float *c, size_t ldc);
/* f16 weights, f32 activations (weights widened exactly, products in f32). */
typedef void (*wk_gemm_f16_fn)(int64_t k, int m, int n, const uint16_t *a, size_t lda, const float *b,
                               size_t ldb, float *c, size_t ldc);
/* bf16 weights, bf16 activations (already rounded), products accumulated in f32. */
typedef void (*wk_gemm_bf16_fn)(int64_t k, int m, int n, const uint16_t *a, size_t lda, const uint16_t *b,
                                size_t ldb, float *c, size_t ldc);

/* A quantized gemm tile: c[j*ldc + i] = dot(row i of a, row j of b) over k elements (a
 * multiple of the type's block size). a holds rows of a weight type t, lda bytes apart; b
 * rows of wk_vec_dot_type(t) (src/quant/quant.h), ldb bytes apart. Must equal the scalar
 * reference wk_vec_dot: integer sums inside a block exactly, the float scaling and the
 * sum over blocks within a stated tolerance (tests/test_quant_simd.c). */
typedef void (*wk_qgemm_fn)(int64_t k, int m, int n, const void *a, size_t lda, const void *b, size_t ldb,
                            float *c, size_t ldc);

/* The prompt-panel activation row (32-element blocks; a Q8_K row gives 8 per super-block):
 * what a set's qpanel kernel reads instead of a wk_vec_dot_type row, made once per matmul
 * by wk_cpu_qpanel_row. The k int8 values first (the same as the Q8_0/Q8_1/Q8_K row's), then
 * per block of 32 a wk_qpanel_blk:
 * the activation scale d, c = -128 * (sum of the block's values) so a kernel may hold every
 * weight w as the unsigned byte w + 128 and start each block's sum at c, and s (Q8_1's
 * d * sum field as f32, 0 for Q8_0; d * the block's bsums for Q8_K). Rows are wk_cpu_qpanel_row_size(k) bytes apart. */
typedef struct {
    float d;
    int32_t c;
    float s;
    int32_t c16; /* Q8_K rows: -128 * the sum of the block's first 16 values (Q6_K scales
                  * each half of a block on its own); 0 otherwise */
} wk_qpanel_blk;
size_t wk_cpu_qpanel_row_size(int64_t k);
/* row of k values of type vt (Q8_0, Q8_1 or Q8_K) -> the panel row out */
void wk_cpu_qpanel_row(wk_type vt, const void *row, int64_t k, void *out);
/* Prompt products use the panel path from this many activation rows on. */
#define WK_QPANEL_MIN_N 8

/* An attention value tile: y[r*ldy + i] += sum over j < nk of w[r*ldw + j] * x[j*ldx + i],
 * for r < nr, i < n: the softmax weights of nr query rows times a block of nk value rows.
 * Strides in elements; f16 values are widened exactly; f32 products and sums, any order. */
typedef void (*wk_wsum_f32_fn)(int64_t n, int nr, int nk, const float *w, size_t ldw, const float *x, size_t ldx,
                               float *y, size_t ldy);
typedef void (*wk_wsum_f16_fn)(int64_t n, int nr, int nk, const float *w, size_t ldw, const uint16_t *x,
                               size_t ldx, float *y, size_t ldy);
/* y[i] = exp(x[i] - m) for i < n (y may alias x), returning the f32 sum of the y[i]. m is
 * finite and x[i] <= m or -inf (giving 0). The scalar set uses expf; vector sets may use a
 * polynomial within 4e-7 relative error (tests/test_ops_nn.c checks the bound). */
typedef float (*wk_exp_sum_fn)(int64_t n, const float *x, float m, float *y);
/* Gated linear units over contiguous rows: z[i] = act(x[i]) * u[i] with act = silu
 * (gelu == 0) or the tanh GELU (gelu == 1), both as x * sigmoid(t) (t = x, or
 * 2 sqrt(2/pi) (x + 0.044715 x^3), since 0.5 (1 + tanh(t/2)) = sigmoid(t)); vector sets
 * use their exp polynomial (tests/test_ops_elementwise.c bounds the error per set). */
typedef void (*wk_glu_fn)(int gelu, int64_t n, const float *x, const float *u, float *z);

typedef struct {
    const char *name;
    wk_gemm_f32_fn gemm_f32;
    wk_gemm_f16_fn gemm_f16;
    wk_gemm_bf16_fn gemm_bf16;
    /* f32 -> bf16 rounding of n values (round to nearest even, NaN quieted) */
    void (*f32_to_bf16)(int64_t n, const float *x, uint16_t *y);
    /* by weight type; a NULL entry in a set's definition is filled from the scalar set
     * when the set is chosen, so every quantized type always has a kernel */
    wk_qgemm_fn qgemm[WK_TYPE_COUNT];
    /* optional, by weight type: the same tile with b in the panel layout above (ldb bytes
     * apart), for n >= WK_QPANEL_MIN_N; NULL means qgemm runs (never filled from scalar) */
    wk_qgemm_fn qpanel[WK_TYPE_COUNT];
    /* attention (ops/attention.c); a NULL entry means the scalar set's is used */
    wk_wsum_f32_fn wsum_f32;
    wk_wsum_f16_fn wsum_f16;
    wk_exp_sum_fn exp_sum;
    wk_glu_fn glu; /* optional: NULL runs the scalar libm loop */
} wk_isa;

extern const wk_isa wk_cpu_isa_scalar;
extern const wk_isa wk_cpu_isa_avx2;
extern const wk_isa wk_cpu_isa_avx512;
extern const wk_isa wk_cpu_isa_neon; /* aarch64 builds only */

/* The scalar reference tile for weight type t (a loop over wk_vec_dot), NULL when t has
 * no dot product; what a set without its own kernel for t runs. */
wk_qgemm_fn wk_cpu_qgemm_scalar(wk_type t);

/* The set in use (chosen once; thread-safe after the first call). */
const wk_isa *wk_cpu_isa_current(void);
/* Force a set by name ("scalar", "avx2", "avx512", "neon") for tests and benchmarks; false if
 * this CPU cannot run it or the name is unknown. */
bool wk_cpu_isa_force(const char *name);
/* Whether this CPU can run the named set. */
bool wk_cpu_isa_supported(const char *name);

#endif
