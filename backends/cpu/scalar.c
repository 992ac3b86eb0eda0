/* scalar.c — the scalar kernel set: the specification every SIMD set is tested against.
 * Plain loops, f32 accumulation in element order. */
#include "../../src/core/types.h"
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

const wk_isa wk_cpu_isa_scalar = {"scalar", gemm_f32, gemm_f16, gemm_bf16, f32_to_bf16};
