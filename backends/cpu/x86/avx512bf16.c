/* avx512bf16.c — gemm_bf16 on VDPBF16PS (AVX512_BF16): each instruction multiplies 32
 * bf16 pairs and adds adjacent products into 16 f32 lanes. Products of bf16 values are
 * exact in f32; only the summation order differs from the scalar set (and the
 * instruction flushes denormals, which bf16 activations from real models do not hit). */
#include "../../../src/core/types.h"
#include "../isa.h"
#include "simd.h"

static float hsum16(__m512 v) {
    __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m512bh ld32(const uint16_t *p) { return (__m512bh)_mm512_loadu_si512((const void *)p); }

/* 2 rows of a x 4 rows of b per tile: 8 accumulators, 6 loads per 32-element step */
void wk_gemm_bf16_avx512bf16(int64_t k, int m, int n, const uint16_t *a, size_t lda, const uint16_t *b, size_t ldb,
                             float *c, size_t ldc) {
    for (int j0 = 0; j0 < n; j0 += 4) {
        int nr = n - j0 < 4 ? n - j0 : 4;
        for (int i0 = 0; i0 < m; i0 += 2) {
            int mr = m - i0 < 2 ? m - i0 : 2;
            __m512 acc[2][4];
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
            int64_t e = 0;
            for (; e + 32 <= k; e += 32) {
                for (int i = 0; i < mr; i++) {
                    __m512bh av = ld32(a + (size_t)(i0 + i) * lda + e);
                    for (int j = 0; j < nr; j++)
                        acc[i][j] = _mm512_dpbf16_ps(acc[i][j], av, ld32(b + (size_t)(j0 + j) * ldb + e));
                }
            }
            for (int i = 0; i < mr; i++)
                for (int j = 0; j < nr; j++) {
                    float s = hsum16(acc[i][j]);
                    const uint16_t *x = a + (size_t)(i0 + i) * lda, *y = b + (size_t)(j0 + j) * ldb;
                    for (int64_t t = e; t < k; t++) s += wk_bf16_to_fp32(x[t]) * wk_bf16_to_fp32(y[t]);
                    c[(size_t)(j0 + j) * ldc + i0 + i] = s;
                }
        }
    }
}
