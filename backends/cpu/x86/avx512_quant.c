/* avx512_quant.c — quantized gemm tiles for the avx512 set (F/BW/VL/DQ, no VNNI): the
 * generic bodies of avx512_quant.h on VPMADDUBSW (unsigned x signed bytes -> int16 pairs).
 * Signed weights go in as |w| with the activation negated where w < 0 (|w| <= 128, |y| <=
 * 127: 2*128*127 < 32767; activations come from our quantizers, which never produce -128);
 * offset levels (Q4_0, Q5_0: w = u - off) subtract off*y pair sums, computed once per
 * activation vector. */
#include "avx512_quant.h"

QI wq_vec q_prep(int kind, __m512i w) {
    wq_vec r = {w, 0};
    if (kind == QW_SIGNED) r.v = _mm512_abs_epi8(w), r.neg = _mm512_movepi8_mask(w);
    return r;
}
QI __m512i q_ycorr(int kind, int off, __m512i y) {
    return kind == QW_OFFSET ? _mm512_maddubs_epi16(_mm512_set1_epi8((char)off), y) : _mm512_setzero_si512();
}
QI __m512i q_dot32(int kind, wq_vec w, __m512i y, __m512i corr) {
    __m512i p;
    if (kind == QW_SIGNED) {
        p = _mm512_maddubs_epi16(w.v, _mm512_mask_sub_epi8(y, w.neg, _mm512_setzero_si512(), y));
    } else {
        p = _mm512_maddubs_epi16(w.v, y); /* u <= 31: no int16 saturation */
        if (kind == QW_OFFSET) p = _mm512_sub_epi16(p, corr);
    }
    return _mm512_madd_epi16(p, _mm512_set1_epi16(1));
}
QI __m512i q_acc16(__m512i acc, __m512i p16, __m512i sc16) { return _mm512_add_epi32(acc, _mm512_madd_epi16(p16, sc16)); }

/* tiles of 4 weight rows x 8 activation rows (legacy blocks: one accumulator per activation
 * row) or x 4 (K types: an int32 sum per pair); 48-token prompt tiles split evenly */
WK_Q512_KERNEL(wk_qgemm_q4_0_avx512, Q4_0, 8)
WK_Q512_KERNEL(wk_qgemm_q4_1_avx512, Q4_1, 8)
WK_Q512_KERNEL(wk_qgemm_q5_0_avx512, Q5_0, 8)
WK_Q512_KERNEL(wk_qgemm_q5_1_avx512, Q5_1, 8)
WK_Q512_KERNEL(wk_qgemm_q8_0_avx512, Q8_0, 8)
WK_Q512_KERNEL(wk_qgemm_q8_1_avx512, Q8_1, 8)
WK_Q512_KERNEL(wk_qgemm_iq4_nl_avx512, IQ4_NL, 8)
WK_Q512_KERNEL(wk_qgemm_q2_K_avx512, Q2_K, 4)
WK_Q512_KERNEL(wk_qgemm_q3_K_avx512, Q3_K, 4)
WK_Q512_KERNEL(wk_qgemm_q4_K_avx512, Q4_K, 4)
WK_Q512_KERNEL(wk_qgemm_q5_K_avx512, Q5_K, 4)
WK_Q512_KERNEL(wk_qgemm_q6_K_avx512, Q6_K, 4)
WK_Q512_KERNEL(wk_qgemm_iq4_xs_avx512, IQ4_XS, 4)
