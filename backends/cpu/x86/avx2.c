/* avx2.c — the AVX2+FMA+F16C kernel set: gemm_tile.h at 8 lanes, with f16 weights
 * widened by F16C and bf16 unpacked into even/odd lanes by a shift or a mask; f32->bf16 rounding in vectors. */
#include <math.h>

#include "../../../src/core/types.h"
#include "../isa.h"
#include "gemm_tile.h"
#include "simd.h"

#define INLINE static inline __attribute__((always_inline))

INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* element loaders: 8 lanes as f32 (ph is the phase, see gemm_tile.h), and one element
 * as f32 for the tails. bf16 loads 16 values and yields the even ones (shifted up into
 * f32 position) in phase 0 and the odd ones (already in place, low half masked) in 1. */
INLINE __m256 ld_f32(const float *p, int ph) { (void)ph; return _mm256_loadu_ps(p); }
INLINE __m256 ld_f16(const uint16_t *p, int ph) {
    (void)ph;
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}
INLINE __m256 ld_bf16(const uint16_t *p, int ph) {
    __m256i v = _mm256_loadu_si256((const __m256i *)p);
    return _mm256_castsi256_ps(ph == 0 ? _mm256_slli_epi32(v, 16) : _mm256_and_si256(v, _mm256_set1_epi32((int)0xffff0000u)));
}
INLINE float one_f32(const float *p) { return *p; }
/* exact widenings for the k tails; bf16 stays an out-of-line call in avx2.c: inlining it
 * here made gcc 12 allocate the 3x3 bf16 tile worse (66 -> 45 GFLOP/s) */
INLINE float one_f16(const uint16_t *p) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(*p))); }
INLINE float one_bf16(const uint16_t *p) { return wk_bf16_to_fp32(*p); }

#define DEFINE_GEMM(NAME, TA, TB, LA, LB, OA, OB, NPH, MRMAX) \
    WK_DEFINE_GEMM(NAME, TA, TB, LA, LB, OA, OB, __m256, 8, NPH, MRMAX, _mm256_setzero_ps, _mm256_fmadd_ps, hsum8)
DEFINE_GEMM(gemm_f32, float, float, ld_f32, ld_f32, one_f32, one_f32, 1, 4)
DEFINE_GEMM(gemm_f16, uint16_t, float, ld_f16, ld_f32, one_f16, one_f32, 1, 4)
DEFINE_GEMM(gemm_bf16, uint16_t, uint16_t, ld_bf16, ld_bf16, one_bf16, one_bf16, 2, 3)

/* Round to nearest even, NaN quieted: bit-exact with wk_fp32_to_bf16. */
static void f32_to_bf16(int64_t n, const float *x, uint16_t *y) {
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i bias = _mm256_set1_epi32(0x7fff), one = _mm256_set1_epi32(1), quiet = _mm256_set1_epi32(0x40);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i u = _mm256_loadu_si256((const __m256i *)(x + i));
        __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs_mask), inf);
        __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), one);
        __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, bias), lsb), 16);
        __m256i q = _mm256_or_si256(_mm256_srli_epi32(u, 16), quiet);
        r = _mm256_blendv_epi8(r, q, is_nan);
        __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
        _mm_storeu_si128((__m128i *)(y + i), packed);
    }
    for (; i < n; i++) y[i] = wk_fp32_to_bf16(x[i]);
}

/* ---- attention: value tile and softmax exponentials (isa.h) ---- */

#define DEFINE_WSUM(NAME, TX, LDX, ONEX) \
    WK_DEFINE_WSUM(NAME, TX, LDX, ONEX, __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps)
DEFINE_WSUM(wsum_f32, float, ld_f32, one_f32)
DEFINE_WSUM(wsum_f16, uint16_t, ld_f16, one_f16)

/* exp(x) for x <= 88 (x below ln 2^-126 = -87.3365, -inf included, gives 0): x = n ln2 + r with |r| <= ln2/2
 * (ln2 split in two so n*ln2 is exact enough), e^r from Cephes' expf polynomial (about 2 ulp),
 * times 2^n built in the exponent field */
INLINE __m256 exp8(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.33655f);
    const __m256 ok = _mm256_cmp_ps(x, lo, _CMP_GE_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504089f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), ok);
}

WK_DEFINE_EXP_SUM(exp_sum, __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_sub_ps, _mm256_add_ps, exp8, hsum8)

WK_DEFINE_GLU(glu, __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_add_ps, _mm256_sub_ps, _mm256_mul_ps,
              _mm256_div_ps, _mm256_fmadd_ps, exp8)

/* avx2_quant.c: the quantized tiles, one per weight type */
#define QGEMM(T) void wk_qgemm_##T##_avx2(int64_t, int, int, const void *, size_t, const void *, size_t, float *, size_t);
QGEMM(q4_0) QGEMM(q4_1) QGEMM(q5_0) QGEMM(q5_1) QGEMM(q8_0) QGEMM(q8_1) QGEMM(iq4_nl)
QGEMM(q2_K) QGEMM(q3_K) QGEMM(q4_K) QGEMM(q5_K) QGEMM(q6_K) QGEMM(iq4_xs)
#undef QGEMM

const wk_isa wk_cpu_isa_avx2 = {
    .name = "avx2",
    .gemm_f32 = gemm_f32,
    .gemm_f16 = gemm_f16,
    .gemm_bf16 = gemm_bf16,
    .f32_to_bf16 = f32_to_bf16,
    .wsum_f32 = wsum_f32,
    .wsum_f16 = wsum_f16,
    .exp_sum = exp_sum,
    .glu = glu,
    .qgemm = {[WK_TYPE_Q4_0] = wk_qgemm_q4_0_avx2, [WK_TYPE_Q4_1] = wk_qgemm_q4_1_avx2,
              [WK_TYPE_Q5_0] = wk_qgemm_q5_0_avx2, [WK_TYPE_Q5_1] = wk_qgemm_q5_1_avx2,
              [WK_TYPE_Q8_0] = wk_qgemm_q8_0_avx2, [WK_TYPE_Q8_1] = wk_qgemm_q8_1_avx2,
              [WK_TYPE_IQ4_NL] = wk_qgemm_iq4_nl_avx2, [WK_TYPE_Q2_K] = wk_qgemm_q2_K_avx2,
              [WK_TYPE_Q3_K] = wk_qgemm_q3_K_avx2, [WK_TYPE_Q4_K] = wk_qgemm_q4_K_avx2,
              [WK_TYPE_Q5_K] = wk_qgemm_q5_K_avx2, [WK_TYPE_Q6_K] = wk_qgemm_q6_K_avx2,
              [WK_TYPE_IQ4_XS] = wk_qgemm_iq4_xs_avx2},
};
