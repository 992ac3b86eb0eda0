/* avx512vnni_quant.c — quantized gemm tiles on AVX512_VNNI, swapped into the avx512 set by
 * isa.c when the CPU has it. Legacy blocks: one VPDPBUSD (unsigned x signed bytes summed
 * into int32, no int16 saturation) per weight/activation pair, with signed weights biased
 * by +128 and every offset removed by starting the sum at -off * sum(y), a value each
 * activation vector computes once. K types: VPDPWSSD applies the sub-block scales. */
#include "avx512_quant.h"

QI wq_vec q_prep(int kind, __m512i w) {
    wq_vec r = {w, 0};
    if (kind == QW_SIGNED) r.v = _mm512_xor_si512(w, _mm512_set1_epi8((char)0x80)); /* w + 128 */
    return r;
}
QI __m512i q_ycorr(int kind, int off, __m512i y) {
    if (kind == QW_UNSIGNED) return _mm512_setzero_si512();
    const __m512i o = _mm512_set1_epi8((char)(kind == QW_SIGNED ? 128 : off));
    return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), o, y));
}
QI __m512i q_dot32(int kind, wq_vec w, __m512i y, __m512i corr) {
    return _mm512_dpbusd_epi32(kind == QW_UNSIGNED ? _mm512_setzero_si512() : corr, w.v, y);
}
QI __m512i q_acc16(__m512i acc, __m512i p16, __m512i sc16) { return _mm512_dpwssd_epi32(acc, p16, sc16); }

static WK_Q512_KERNEL(qgemm_q4_0, Q4_0, 8)
static WK_Q512_KERNEL(qgemm_q4_1, Q4_1, 8)
static WK_Q512_KERNEL(qgemm_q5_0, Q5_0, 8)
static WK_Q512_KERNEL(qgemm_q5_1, Q5_1, 8)
static WK_Q512_KERNEL(qgemm_q8_0, Q8_0, 8)
static WK_Q512_KERNEL(qgemm_q8_1, Q8_1, 8)
static WK_Q512_KERNEL(qgemm_iq4_nl, IQ4_NL, 8)
static WK_Q512_KERNEL(qgemm_q2_K, Q2_K, 4)
static WK_Q512_KERNEL(qgemm_q3_K, Q3_K, 4)
static WK_Q512_KERNEL(qgemm_q4_K, Q4_K, 4)
static WK_Q512_KERNEL(qgemm_q5_K, Q5_K, 4)
static WK_Q512_KERNEL(qgemm_q6_K, Q6_K, 4)
static WK_Q512_KERNEL(qgemm_iq4_xs, IQ4_XS, 4)

/* by weight type; isa.c copies the non-NULL entries over the avx512 set's */
const wk_qgemm_fn wk_qgemm_avx512vnni[WK_TYPE_COUNT] = {
    [WK_TYPE_Q4_0] = qgemm_q4_0, [WK_TYPE_Q4_1] = qgemm_q4_1, [WK_TYPE_Q5_0] = qgemm_q5_0,
    [WK_TYPE_Q5_1] = qgemm_q5_1, [WK_TYPE_Q8_0] = qgemm_q8_0, [WK_TYPE_Q8_1] = qgemm_q8_1,
    [WK_TYPE_IQ4_NL] = qgemm_iq4_nl, [WK_TYPE_Q2_K] = qgemm_q2_K, [WK_TYPE_Q3_K] = qgemm_q3_K,
    [WK_TYPE_Q4_K] = qgemm_q4_K, [WK_TYPE_Q5_K] = qgemm_q5_K, [WK_TYPE_Q6_K] = qgemm_q6_K,
    [WK_TYPE_IQ4_XS] = qgemm_iq4_xs,
};
