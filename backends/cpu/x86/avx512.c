/* avx512.c — the AVX-512 (F/BW/VL/DQ + FMA + F16C) kernel set: the AVX2 design at 16
 * lanes. Tiles of 4 rows of a x 3 rows of b keep 12 zmm accumulators. Conversions use
 * only intrinsics SIMDe can emulate, so tests/simd checks this exact code on CPUs
 * without AVX-512. On CPUs with AVX512_BF16, isa.c swaps in avx512bf16.c's gemm_bf16. */
#include <math.h>

#include "../../../src/core/types.h"
#include "../isa.h"
#include "gemm_tile.h"
#include "simd.h"

#define INLINE static inline __attribute__((always_inline))

INLINE __m512 join8(__m256 lo, __m256 hi) {
    return _mm512_castsi512_ps(
        _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_castps_si256(lo)), _mm256_castps_si256(hi), 1));
}
INLINE float hsum16(__m512 v) {
    __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* loaders: 16 lanes as f32 per phase (gemm_tile.h); bf16 loads 32 values and yields
 * the even ones (shifted up) in phase 0 and the odd ones (low half masked) in phase 1 */
INLINE __m512 ld_f32(const float *p, int ph) { (void)ph; return _mm512_loadu_ps(p); }
INLINE __m512 ld_f16(const uint16_t *p, int ph) {
    (void)ph;
    return join8(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)),
                 _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 8))));
}
INLINE __m512 ld_bf16(const uint16_t *p, int ph) {
    __m512i v = _mm512_loadu_si512((const void *)p);
    return _mm512_castsi512_ps(ph == 0 ? _mm512_slli_epi32(v, 16) : _mm512_and_si512(v, _mm512_set1_epi32((int)0xffff0000u)));
}
INLINE float one_f32(const float *p) { return *p; }
/* exact widenings for the k tails (bf16 out of line, as in avx2.c) */
INLINE float one_f16(const uint16_t *p) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(*p))); }
INLINE float one_bf16(const uint16_t *p) { return wk_bf16_to_fp32(*p); }

#define DEFINE_GEMM(NAME, TA, TB, LA, LB, OA, OB, NPH, MRMAX) \
    WK_DEFINE_GEMM(NAME, TA, TB, LA, LB, OA, OB, __m512, 16, NPH, MRMAX, _mm512_setzero_ps, _mm512_fmadd_ps, hsum16)
DEFINE_GEMM(gemm_f32, float, float, ld_f32, ld_f32, one_f32, one_f32, 1, 4)
DEFINE_GEMM(gemm_f16, uint16_t, float, ld_f16, ld_f32, one_f16, one_f32, 1, 4)
DEFINE_GEMM(gemm_bf16, uint16_t, uint16_t, ld_bf16, ld_bf16, one_bf16, one_bf16, 2, 4)

INLINE __m128i pack8(__m256i r) { return _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1)); }

/* Round to nearest even, NaN quieted: bit-exact with wk_fp32_to_bf16. */
static void f32_to_bf16(int64_t n, const float *x, uint16_t *y) {
    const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
    const __m512i bias = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1), quiet = _mm512_set1_epi32(0x40);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i u = _mm512_castps_si512(_mm512_loadu_ps(x + i));
        __mmask16 is_nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, abs_mask), inf);
        __m512i hi = _mm512_srli_epi32(u, 16);
        __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, bias), _mm512_and_si512(hi, one)), 16);
        r = _mm512_mask_blend_epi32(is_nan, r, _mm512_or_si512(hi, quiet));
        _mm_storeu_si128((__m128i *)(y + i), pack8(_mm512_castsi512_si256(r)));
        _mm_storeu_si128((__m128i *)(y + i + 8), pack8(_mm512_extracti64x4_epi64(r, 1)));
    }
    for (; i < n; i++) y[i] = wk_fp32_to_bf16(x[i]);
}

/* ---- attention: value tile and softmax exponentials (isa.h) ---- */

#define DEFINE_WSUM(NAME, TX, LDX, ONEX) \
    WK_DEFINE_WSUM(NAME, TX, LDX, ONEX, __m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps)
DEFINE_WSUM(wsum_f32, float, ld_f32, one_f32)
DEFINE_WSUM(wsum_f16, uint16_t, ld_f16, one_f16)

/* exp(x) for x <= 88 (x below ln 2^-126 = -87.3365, -inf included, gives 0): x = n ln2 + r with |r| <= ln2/2
 * (ln2 split in two so n*ln2 is exact enough), e^r from Cephes' expf polynomial (about 2 ulp),
 * times 2^n built in the exponent field; the same steps as avx2.c's exp8 */
INLINE __m512 exp16(__m512 x) {
    const __m512 lo = _mm512_set1_ps(-87.33655f);
    const __mmask16 ok = _mm512_cmp_ps_mask(x, lo, _CMP_GE_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, lo), _mm512_set1_ps(88.0f));
    /* n = nearest integer to x log2(e) by adding 1.5 * 2^23: it lands in the low mantissa bits
     * (adds and subtracts only, which SIMDe emulates) */
    const __m512 t = _mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504089f)), _mm512_set1_ps(0x1.8p23f));
    const __m512 n = _mm512_sub_ps(t, _mm512_set1_ps(0x1.8p23f));
    const __m512i ni = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_castps_si512(_mm512_set1_ps(0x1.8p23f)));
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(ni, _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mov_ps(ok, _mm512_mul_ps(p, _mm512_castsi512_ps(e)));
}

WK_DEFINE_EXP_SUM(exp_sum, __m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_sub_ps, _mm512_add_ps, exp16, hsum16)

WK_DEFINE_GLU(glu, __m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_add_ps, _mm512_sub_ps, _mm512_mul_ps,
              _mm512_div_ps, _mm512_fmadd_ps, exp16)

/* avx512_quant.c: the quantized tiles (isa.c swaps in avx512vnni_quant.c's on VNNI CPUs) */
#define QGEMM_DECL(t) void wk_qgemm_##t##_avx512(int64_t k, int m, int n, const void *a, size_t lda, const void *b, \
                                                 size_t ldb, float *c, size_t ldc);
QGEMM_DECL(q4_0) QGEMM_DECL(q4_1) QGEMM_DECL(q5_0) QGEMM_DECL(q5_1) QGEMM_DECL(q8_0) QGEMM_DECL(q8_1)
QGEMM_DECL(iq4_nl) QGEMM_DECL(q2_K) QGEMM_DECL(q3_K) QGEMM_DECL(q4_K) QGEMM_DECL(q5_K) QGEMM_DECL(q6_K)
QGEMM_DECL(iq4_xs)
#undef QGEMM_DECL

const wk_isa wk_cpu_isa_avx512 = {
    .name = "avx512",
    .gemm_f32 = gemm_f32,
    .gemm_f16 = gemm_f16,
    .gemm_bf16 = gemm_bf16,
    .f32_to_bf16 = f32_to_bf16,
    .wsum_f32 = wsum_f32,
    .wsum_f16 = wsum_f16,
    .exp_sum = exp_sum,
    .glu = glu,
    .qgemm = {
        [WK_TYPE_Q4_0] = wk_qgemm_q4_0_avx512, [WK_TYPE_Q4_1] = wk_qgemm_q4_1_avx512,
        [WK_TYPE_Q5_0] = wk_qgemm_q5_0_avx512, [WK_TYPE_Q5_1] = wk_qgemm_q5_1_avx512,
        [WK_TYPE_Q8_0] = wk_qgemm_q8_0_avx512, [WK_TYPE_Q8_1] = wk_qgemm_q8_1_avx512,
        [WK_TYPE_IQ4_NL] = wk_qgemm_iq4_nl_avx512, [WK_TYPE_Q2_K] = wk_qgemm_q2_K_avx512,
        [WK_TYPE_Q3_K] = wk_qgemm_q3_K_avx512, [WK_TYPE_Q4_K] = wk_qgemm_q4_K_avx512,
        [WK_TYPE_Q5_K] = wk_qgemm_q5_K_avx512, [WK_TYPE_Q6_K] = wk_qgemm_q6_K_avx512,
        [WK_TYPE_IQ4_XS] = wk_qgemm_iq4_xs_avx512,
    },
};
