/* avx512_quant.h — the AVX-512 quantized gemm tiles (isa.h wk_qgemm_fn), shared by
 * avx512_quant.c (F/BW/VL/DQ) and avx512vnni_quant.c (VPDPBUSD/VPDPWSSD). A tile is 4
 * weight rows x NR activation rows: each weight step (64 elements) is unpacked to bytes
 * once and reused against all NR rows. As in the scalar dot, every block's integer sum is
 * reduced exactly before its f32 scaling (one batched reduction for the 4 rows), so the
 * kernels differ from the reference only in the order blocks are summed. Intrinsics are
 * those SIMDe 0.7 emulates (tests/simd); the including file defines the ISA primitives. */
#ifndef WK_X86_AVX512_QUANT_H
#define WK_X86_AVX512_QUANT_H

#include <string.h>

#include "../../../src/quant/blocks.h"
#include "../isa.h"
#include "simd.h"

#ifdef WK_SIMD_EMULATE /* SIMDe 0.7: no __mmask64 alias, and a 4-argument _mm512_madd_epi16 alias */
#ifndef __mmask64
#define __mmask64 simde__mmask64
#endif
#undef _mm512_madd_epi16
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16(a, b)
#endif

/* How the unpacked weight bytes relate to the weight values w:
 *   QW_UNSIGNED  bytes are w (0..31)
 *   QW_OFFSET    bytes are u with w = u - off (u 0..31, off 8 or 16)
 *   QW_SIGNED    bytes are w as int8 (any value, -128 included) */
enum { QW_UNSIGNED, QW_OFFSET, QW_SIGNED };

/* A weight vector ready for the ISA's dot product: v, and for the sign trick the lanes
 * whose weight is negative. */
typedef struct {
    __m512i v;
    __mmask64 neg;
} wq_vec;

/* The ISA's integer primitives, defined by the including file (all exact):
 *   q_prep   weight bytes of a kind -> the dot product's weight operand
 *   q_ycorr  per activation vector, computed once and reused by every weight row
 *   q_dot32  16 int32 lanes, lane l = sum of w*y over elements 4l..4l+3
 *   q_acc16  acc + pairwise sums of the int16 products p16*sc16 (32 -> 16 int32 lanes) */
#define QI static inline __attribute__((always_inline))
QI wq_vec q_prep(int kind, __m512i w);
QI __m512i q_ycorr(int kind, int off, __m512i y);
QI __m512i q_dot32(int kind, wq_vec w, __m512i y, __m512i corr);
QI __m512i q_acc16(__m512i acc, __m512i p16, __m512i sc16);

/* Software prefetch of the weight stream: decode reads each weight row once from memory,
 * and the hardware prefetcher alone keeps too few lines in flight per core to hide the
 * latency behind the unpacking work (+10-15% single-thread on 72 MB of weights). Each row
 * prefetches Q_PF_DIST bytes ahead of the block it is on; past a row's end that is the
 * next row, i.e. the next tile's first row for the last row of a tile. */
#define Q_PF_DIST 512
QI void q_prefetch_rows(const uint8_t *const *x, size_t off, const int bs) {
    for (int i = 0; i < 4; i++)
        for (int o = 0; o < bs; o += 64) __builtin_prefetch(x[i] + off + Q_PF_DIST + o, 0, 3);
}

QI uint16_t q_rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
QI uint32_t q_rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* int32 -> f32 in 16 lanes (SIMDe 0.7 has no 512-bit form; the same values from halves) */
#ifdef WK_SIMD_EMULATE
QI __m512 q_cvt_ps(__m512i v) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_cvtepi32_ps(_mm512_castsi512_si256(v))),
                              _mm256_cvtepi32_ps(_mm512_extracti64x4_epi64(v, 1)), 1);
}
#else
QI __m512 q_cvt_ps(__m512i v) { return _mm512_cvtepi32_ps(v); }
#endif
QI __m512i q_perm32(__m512i v, int a, int b, int c, int d) { /* the same 4-lane shuffle in each 128-bit lane */
    return _mm512_permutexvar_epi32(_mm512_setr_epi32(a, b, c, d, a + 4, b + 4, c + 4, d + 4, a + 8, b + 8, c + 8, d + 8,
                                                      a + 12, b + 12, c + 12, d + 12), v);
}

/* The sums of each of four vectors, in one xmm: 128-bit lanes folded pairwise, then
 * within lanes. Exact (K super-block totals stay far below 2^31). */
QI __m128i q_hsum4_epi32(__m512i a, __m512i b, __m512i c, __m512i d) {
    const __m512i ab = _mm512_add_epi32(_mm512_shuffle_i32x4(a, b, 0x44), _mm512_shuffle_i32x4(a, b, 0xEE));
    const __m512i cd = _mm512_add_epi32(_mm512_shuffle_i32x4(c, d, 0x44), _mm512_shuffle_i32x4(c, d, 0xEE));
    __m512i s = _mm512_add_epi32(_mm512_shuffle_i32x4(ab, cd, 0x88), _mm512_shuffle_i32x4(ab, cd, 0xDD));
    s = _mm512_add_epi32(s, q_perm32(s, 2, 3, 0, 1));
    s = _mm512_add_epi32(s, q_perm32(s, 1, 0, 3, 2));
    return _mm512_castsi512_si128(_mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12), s));
}
/* c[0..mr) = r (mr < 4 only on the last rows of a tile, which repeat a real row) */
QI void q_store4(float *c, __m128 r, int mr) {
    if (mr == 4) {
        _mm_storeu_ps(c, r);
        return;
    }
    float t[4];
    _mm_storeu_ps(t, r);
    for (int i = 0; i < mr; i++) c[i] = t[i];
}

QI __m512i q_join256(const uint8_t *p0, const uint8_t *p1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p0)),
                              _mm256_loadu_si256((const __m256i *)p1), 1);
}
QI __m512i q_bcast256(const uint8_t *p) { return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)p)); }

/* shift counts a (words of the low 32 bytes) and b (the high 32 bytes) */
QI __m512i q_cnt2(short a, short b) {
    return _mm512_inserti64x4(_mm512_set1_epi16(a), _mm256_set1_epi16(b), 1);
}
/* byte mask with bit a in the low 32 bytes and bit b in the high 32 */
QI __m512i q_bit2(int a, int b) {
    return _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << a)), _mm256_set1_epi8((char)(1 << b)), 1);
}

/* word shift counts 0, 4, 0, 4 in the four 128-bit lanes */
static const uint16_t q_cnt0404_tab[32] = {0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4,
                                           0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4};
QI __m512i q_cnt0404(void) { return _mm512_loadu_si512((const void *)q_cnt0404_tab); }
/* 16 packed bytes of each of two 32-blocks -> [lo(q0), hi(q0), lo(q1), hi(q1)]: element
 * j < 16 of a block is the low nibble of q[j], element 16 + j the high one. */
QI __m512i q_nibbles_2x16(const uint8_t *q0, const uint8_t *q1) {
    const __m512i z = _mm512_mask_broadcast_i32x4(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)q0)), 0xFF00,
                                                  _mm_loadu_si128((const __m128i *)q1));
    return _mm512_and_si512(_mm512_srlv_epi16(z, q_cnt0404()), _mm512_set1_epi8(0x0F));
}
/* 32 packed bytes -> [low nibbles (32), high nibbles (32)] (Q4_K / Q5_K groups of 64) */
QI __m512i q_nibbles_32(const uint8_t *q) {
    return _mm512_and_si512(_mm512_srlv_epi16(q_bcast256(q), q_cnt2(0, 4)), _mm512_set1_epi8(0x0F));
}
QI __m512i q_iq4_lookup(__m512i idx) {
    const __m512i K = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)wk_kvalues_iq4nl));
    return _mm512_shuffle_epi8(K, idx);
}
/* ======== legacy 32-blocks (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 IQ4_NL): two blocks per zmm */

typedef struct {
    int bs, abs;  /* bytes per weight / activation block */
    int qs, aqs;  /* offset of the quants in each */
    int kind, off;
    int has_min;  /* Q4_1 / Q5_1: + m_w * s_a per block */
} lg_layout;

QI lg_layout lg_of(const int T) {
    switch (T) {
    case WK_TYPE_Q4_0: return (lg_layout){18, 34, 2, 2, QW_OFFSET, 8, 0};
    case WK_TYPE_Q4_1: return (lg_layout){20, 36, 4, 4, QW_UNSIGNED, 0, 1};
    case WK_TYPE_Q5_0: return (lg_layout){22, 34, 6, 2, QW_OFFSET, 16, 0};
    case WK_TYPE_Q5_1: return (lg_layout){24, 36, 8, 4, QW_UNSIGNED, 0, 1};
    case WK_TYPE_Q8_0: return (lg_layout){34, 34, 2, 2, QW_SIGNED, 0, 0};
    case WK_TYPE_Q8_1: return (lg_layout){36, 36, 4, 4, QW_SIGNED, 0, 0};
    default: return (lg_layout){18, 34, 2, 2, QW_SIGNED, 0, 0}; /* IQ4_NL */
    }
}

/* the 64 weight bytes of blocks x0, x1 in element order */
QI __m512i lg_unpack(const int T, const uint8_t *x0, const uint8_t *x1) {
    const lg_layout L = lg_of(T);
    switch (T) {
    case WK_TYPE_Q8_0:
    case WK_TYPE_Q8_1: return q_join256(x0 + L.qs, x1 + L.qs);
    case WK_TYPE_IQ4_NL: return q_iq4_lookup(q_nibbles_2x16(x0 + L.qs, x1 + L.qs));
    default: break;
    }
    __m512i u = q_nibbles_2x16(x0 + L.qs, x1 + L.qs);
    if (T == WK_TYPE_Q5_0 || T == WK_TYPE_Q5_1) { /* bit 4 of element j is bit j of qh (LE) */
        const int qh = L.qs - 4;
        const __mmask64 hb = (__mmask64)((uint64_t)q_rd32(x0 + qh) | (uint64_t)q_rd32(x1 + qh) << 32);
        u = _mm512_mask_add_epi8(u, hb, u, _mm512_set1_epi8(16));
    }
    return u;
}

/* The int32 lanes of 4 rows' dot products (A..D, blocks 0 and 1 in the low and high 256
 * bits of each) -> the 8 exact block totals: lane 4k holds row k/2 (A, B) and lane 4k+2
 * row 2 + k/2 (C, D), block k%2; lanes 4k+1, 4k+3 repeat them. A total is at most
 * 32*128*127 in magnitude, so it converts to f32 exactly. */
QI __m512i lg_reduce4(__m512i A, __m512i B, __m512i C, __m512i D) {
    const __m512i X = _mm512_add_epi32(_mm512_shuffle_i32x4(A, B, 0x88), _mm512_shuffle_i32x4(A, B, 0xDD));
    const __m512i Y = _mm512_add_epi32(_mm512_shuffle_i32x4(C, D, 0x88), _mm512_shuffle_i32x4(C, D, 0xDD));
    const __m512i S = _mm512_add_epi32(_mm512_unpacklo_epi64(X, Y), _mm512_unpackhi_epi64(X, Y));
    return _mm512_add_epi32(S, q_perm32(S, 1, 0, 3, 2));
}
/* the f16 field at off of the 8 weight blocks, in lg_reduce4's lane order (0 elsewhere).
 * Packed with scalar loads and shifts: the vector shuffle port is this kernel's bottleneck. */
QI __m512 lg_wscales(const uint8_t *const *a, size_t o0, size_t o1, int off) {
#define H(i, o) (uint64_t)q_rd16(a[i] + (o) + off)
    const uint64_t lo = H(0, o0) | H(0, o1) << 16 | H(1, o0) << 32 | H(1, o1) << 48;
    const uint64_t hi = H(2, o0) | H(2, o1) << 16 | H(3, o0) << 32 | H(3, o1) << 48;
#undef H
    const __m256 f = _mm256_cvtph_ps(_mm_set_epi64x((long long)hi, (long long)lo)); /* A0 A1 B0 B1 C0 C1 D0 D1 */
    return _mm512_maskz_permutexvar_ps(0x5555, _mm512_setr_epi32(0, 0, 4, 0, 1, 0, 5, 0, 2, 0, 6, 0, 3, 0, 7, 0),
                                       _mm512_castps256_ps512(f));
}
/* the f16 field at off of an activation's 2 blocks, in the same order: 128-bit lanes
 * [block 0, block 1, block 0, block 1] */
QI __m512 lg_ascales(const uint8_t *y0, const uint8_t *y1, int two, int off) {
    const __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128((int)(q_rd16(y0 + off) | (uint32_t)(two ? q_rd16(y1 + off) : 0) << 16)));
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1), _mm512_castps128_ps512(f));
}

/* One step of two blocks (weight offsets o0, o1 in every row, activation p0, p1). In the
 * k tail (two == 0) the second half repeats the first with zero activation scales. */
QI void lg_step(const int T, const int NR, __m512 *acc, const uint8_t *const *a, const uint8_t *b, size_t ldb,
                size_t o0, size_t o1, size_t p0, size_t p1, const int two) {
    const lg_layout L = lg_of(T);
    wq_vec w[4];
    for (int i = 0; i < 4; i++) w[i] = q_prep(L.kind, lg_unpack(T, a[i] + o0, a[i] + o1));
    const __m512 dx = lg_wscales(a, o0, o1, 0);
    const __m512 mx = L.has_min ? lg_wscales(a, o0, o1, 2) : _mm512_setzero_ps();
    for (int j = 0; j < NR; j++) {
        const uint8_t *y0 = b + (size_t)j * ldb + p0, *y1 = b + (size_t)j * ldb + p1;
        const __m512i y = q_join256(y0 + L.aqs, y1 + L.aqs), corr = q_ycorr(L.kind, L.off, y);
        const __m512i t = lg_reduce4(q_dot32(L.kind, w[0], y, corr), q_dot32(L.kind, w[1], y, corr),
                                     q_dot32(L.kind, w[2], y, corr), q_dot32(L.kind, w[3], y, corr));
        /* d_w d_a sumi per block (the repeated lanes get dx = 0), + m_w s_a for Q4_1/Q5_1 */
        acc[j] = _mm512_fmadd_ps(q_cvt_ps(t), _mm512_mul_ps(dx, lg_ascales(y0, y1, two, 0)), acc[j]);
        if (L.has_min) acc[j] = _mm512_fmadd_ps(mx, lg_ascales(y0, y1, two, 2), acc[j]);
    }
}

QI void lg_tile(const int T, const int NR, int64_t nb, const uint8_t *const *a, const uint8_t *b, size_t ldb, float *c,
                size_t ldc, int mr) {
    const lg_layout L = lg_of(T);
    __m512 acc[8];
    for (int j = 0; j < NR; j++) acc[j] = _mm512_setzero_ps();
    int64_t ib = 0;
    for (; ib + 2 <= nb; ib += 2) {
        const size_t o = (size_t)ib * L.bs, p = (size_t)ib * L.abs;
        q_prefetch_rows(a, o, 2 * L.bs);
        lg_step(T, NR, acc, a, b, ldb, o, o + L.bs, p, p + L.abs, 1);
    }
    if (ib < nb) {
        const size_t o = (size_t)ib * L.bs, p = (size_t)ib * L.abs;
        lg_step(T, NR, acc, a, b, ldb, o, o, p, p, 0);
    }
    for (int j = 0; j < NR; j++) { /* row A is in lanes 0 and 4, B 8 and 12, C 2 and 6, D 10 and 14 */
        float t[16];
        _mm512_storeu_ps(t, acc[j]);
        const float r[4] = {t[0] + t[4], t[8] + t[12], t[2] + t[6], t[10] + t[14]};
        for (int i = 0; i < mr; i++) c[(size_t)j * ldc + i] = r[i];
    }
}

/* ======== K super-blocks of 256 with Q8_K activations (Q2_K..Q6_K, IQ4_XS): four zmm
 * steps per super-block. Sub-block scales are applied to the int16 pair products
 * (q_acc16), so a super-block's sum is one exact int32 vector, scaled once in f32. */

#define Q8K_QS 4    /* wk_block_q8_K: f32 d, qs[256], bsums[16] */
#define Q8K_BSUMS 260
#define Q8K_SIZE 292

QI int k_bs(const int T) {
    switch (T) {
    case WK_TYPE_Q2_K: return 84;
    case WK_TYPE_Q3_K: return 110;
    case WK_TYPE_Q4_K: return 144;
    case WK_TYPE_Q5_K: return 176;
    case WK_TYPE_Q6_K: return 210;
    default: return 136; /* IQ4_XS */
    }
}
QI int k_sub16(const int T) { return T == WK_TYPE_Q2_K || T == WK_TYPE_Q3_K || T == WK_TYPE_Q6_K; }

/* word-permutation indices: the scale of each int16 pair product of step s */
static const uint16_t k_idx16[4][32] = {
#define R16(s) {4*s,4*s,4*s,4*s,4*s,4*s,4*s,4*s, 4*s+1,4*s+1,4*s+1,4*s+1,4*s+1,4*s+1,4*s+1,4*s+1, \
                 4*s+2,4*s+2,4*s+2,4*s+2,4*s+2,4*s+2,4*s+2,4*s+2, 4*s+3,4*s+3,4*s+3,4*s+3,4*s+3,4*s+3,4*s+3,4*s+3}
    R16(0), R16(1), R16(2), R16(3)
#undef R16
};
static const uint16_t k_idx32[4][32] = {
#define R32(s) {2*s,2*s,2*s,2*s,2*s,2*s,2*s,2*s,2*s,2*s,2*s,2*s,2*s,2*s,2*s,2*s, \
                 2*s+1,2*s+1,2*s+1,2*s+1,2*s+1,2*s+1,2*s+1,2*s+1,2*s+1,2*s+1,2*s+1,2*s+1,2*s+1,2*s+1,2*s+1,2*s+1}
    R32(0), R32(1), R32(2), R32(3)
#undef R32
};
/* Q4_K / Q5_K mins (words 8..15 of the scale vector), each twice: one per bsum of 16 */
static const uint16_t k_idx_mins[32] = {8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15,
                                        8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15};

QI __m512i k_ld_idx(const uint16_t *p) { return _mm512_loadu_si512((const void *)p); }

/* The per-super-block scale vector as int16 words: 16-element sub-block types have the
 * 16 scales in words 0..15; Q4_K/Q5_K the 8 scales then the 8 mins; IQ4_XS 8 scales. */
QI __m512i k_scales(const int T, const uint8_t *x) {
    switch (T) {
    case WK_TYPE_Q2_K: /* low nibbles of scales[16] */
        return _mm512_castsi256_si512(
            _mm256_cvtepu8_epi16(_mm_and_si128(_mm_loadu_si128((const __m128i *)x), _mm_set1_epi8(0x0F))));
    case WK_TYPE_Q3_K: { /* 6-bit (lo nibble | 2 high bits) - 32, formats.md §2.3 */
        const uint8_t *sc = x + 96;
        const uint32_t w0 = q_rd32(sc), w1 = q_rd32(sc + 4), w2 = q_rd32(sc + 8);
        const uint32_t m4 = 0x0f0f0f0fu, m2 = 0x30303030u;
        const __m128i v = _mm_set_epi32((int)(((w1 >> 4) & m4) | ((w2 >> 2) & m2)), (int)(((w0 >> 4) & m4) | (w2 & m2)),
                                        (int)((w1 & m4) | ((w2 << 2) & m2)), (int)((w0 & m4) | ((w2 << 4) & m2)));
        return _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_sub_epi8(v, _mm_set1_epi8(32))));
    }
    case WK_TYPE_Q4_K:
    case WK_TYPE_Q5_K: { /* wk_scale_min_k4 for all 8 at once, bytes [sc0..7, m0..7] */
        const uint8_t *sc = x + 4;
        const uint32_t w0 = q_rd32(sc), w1 = q_rd32(sc + 4), w2 = q_rd32(sc + 8);
        const uint32_t m6 = 0x3f3f3f3fu, m4 = 0x0f0f0f0fu, m2 = 0x30303030u;
        const __m128i v = _mm_set_epi32((int)(((w2 >> 4) & m4) | ((w1 >> 2) & m2)), (int)(w1 & m6),
                                        (int)((w2 & m4) | ((w0 >> 2) & m2)), (int)(w0 & m6));
        return _mm512_castsi256_si512(_mm256_cvtepu8_epi16(v));
    }
    case WK_TYPE_Q6_K: return _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + 192))));
    default: { /* IQ4_XS: (4 bits of scales_l | 2 bits of scales_h) - 32, as words */
        const uint32_t l = q_rd32(x + 4);
        const __m128i lo = _mm_srlv_epi16(_mm_setr_epi16((short)l, (short)l, (short)l, (short)l, (short)(l >> 16),
                                                         (short)(l >> 16), (short)(l >> 16), (short)(l >> 16)),
                                          _mm_setr_epi16(0, 4, 8, 12, 0, 4, 8, 12));
        const __m128i hi = _mm_srlv_epi16(_mm_set1_epi16((short)q_rd16(x + 2)), _mm_setr_epi16(0, 2, 4, 6, 8, 10, 12, 14));
        const __m128i ls = _mm_or_si128(_mm_and_si128(lo, _mm_set1_epi16(15)),
                                        _mm_slli_epi16(_mm_and_si128(hi, _mm_set1_epi16(3)), 4));
        return _mm512_castsi128_si512(_mm_sub_epi16(ls, _mm_set1_epi16(32)));
    }
    }
}

/* Q2_K / Q3_K 2-bit planes (formats.md §2.3): element 128h + 32t + l is bits 2t..2t+1
 * of qs[32h + l]; step s covers h = s/2 and t = 2(s%2), 2(s%2)+1. */
QI __m512i k_planes(const uint8_t *qs, const int s) {
    const __m512i z = q_bcast256(qs + 32 * (s / 2));
    const __m512i cnt = s % 2 ? q_cnt2(4, 6) : q_cnt2(0, 2);
    return _mm512_and_si512(_mm512_srlv_epi16(z, cnt), _mm512_set1_epi8(3));
}
/* high-bit masks (Q3_K hmask, Q5_K qh): element e's bit is bit e/32 of m[e % 32] */
QI __mmask64 k_hbits(const uint8_t *m, const int s) { return _mm512_test_epi8_mask(q_bcast256(m), q_bit2(2 * s, 2 * s + 1)); }

/* weight bytes of step s: unsigned levels (the offsets of Q3_K and Q6_K are applied in
 * k_offset_fix) or, for IQ4_XS, signed codebook values */
QI __m512i k_unpack(const int T, const uint8_t *x, const int s) {
    switch (T) {
    case WK_TYPE_Q2_K: return k_planes(x + 16, s);
    case WK_TYPE_Q3_K: {
        const __m512i u = k_planes(x + 32, s);
        return _mm512_mask_add_epi8(u, k_hbits(x, s), u, _mm512_set1_epi8(4));
    }
    case WK_TYPE_Q4_K: return q_nibbles_32(x + 16 + 32 * s);
    case WK_TYPE_Q5_K: {
        const __m512i u = q_nibbles_32(x + 48 + 32 * s);
        return _mm512_mask_add_epi8(u, k_hbits(x + 16, s), u, _mm512_set1_epi8(16));
    }
    case WK_TYPE_Q6_K: { /* low 4 bits from ql (64 bytes per half), high 2 from qh */
        const __m512i ql = _mm512_loadu_si512((const void *)(x + 64 * (s / 2)));
        const __m512i lo = _mm512_and_si512(s % 2 ? _mm512_srli_epi16(ql, 4) : ql, _mm512_set1_epi8(0x0F));
        const __m512i qh = q_bcast256(x + 128 + 32 * (s / 2));
        const __m512i hb = _mm512_and_si512(_mm512_srlv_epi16(qh, s % 2 ? q_cnt2(4, 6) : q_cnt2(0, 2)), _mm512_set1_epi8(3));
        return _mm512_or_si512(lo, _mm512_slli_epi16(hb, 4));
    }
    default: { /* IQ4_XS: sub-blocks 2s, 2s+1 of 16 packed bytes each */
        const __m512i z = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(x + 8 + 32 * s)));
        __m512i q = _mm512_shuffle_i32x4(z, z, 0x50); /* 128-bit lanes [0, 0, 1, 1] */
        q = _mm512_and_si512(_mm512_srlv_epi16(q, q_cnt0404()), _mm512_set1_epi8(0x0F));
        return q_iq4_lookup(q);
    }
    }
}

/* f16 scale fields of a super-block (d, and dmin for the types with mins) */
QI int k_d_off(const int T) {
    switch (T) {
    case WK_TYPE_Q2_K: return 80;
    case WK_TYPE_Q3_K: return 108;
    case WK_TYPE_Q6_K: return 208;
    default: return 0;
    }
}
QI int k_has_min(const int T) { return T == WK_TYPE_Q2_K || T == WK_TYPE_Q4_K || T == WK_TYPE_Q5_K; }
QI __m128 k_h4(const uint8_t *const *x, int off) {
    return _mm_cvtph_ps(_mm_setr_epi16((short)q_rd16(x[0] + off), (short)q_rd16(x[1] + off), (short)q_rd16(x[2] + off),
                                       (short)q_rd16(x[3] + off), 0, 0, 0, 0));
}

/* Q3_K / Q6_K levels went in as u = q + off: subtract off * sum_j sc_j bsum_j (exact). bs
 * is loaded zero-extended, so the madd's upper lanes are 0 whatever sc holds there. */
QI __m512i k_offset_fix(const int T, __m512i isum, __m512i bs, __m512i sc) {
    if (T == WK_TYPE_Q3_K) return _mm512_sub_epi32(isum, _mm512_madd_epi16(bs, _mm512_slli_epi16(sc, 2)));
    if (T == WK_TYPE_Q6_K) return _mm512_sub_epi32(isum, _mm512_madd_epi16(bs, _mm512_slli_epi16(sc, 5)));
    return isum;
}
/* sum_j m_j bsum_j lanes of the types with mins (one 6-bit or 4-bit m per sub-block) */
QI __m512i k_min_sum(const int T, const uint8_t *x, __m512i bs, __m512i sc) {
    const __m512i m16 = T == WK_TYPE_Q2_K
        ? _mm512_castsi256_si512(_mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(_mm_loadu_si128((const __m128i *)x), 4), _mm_set1_epi8(0x0F))))
        : _mm512_permutexvar_epi16(k_ld_idx(k_idx_mins), sc);
    return _mm512_madd_epi16(bs, m16);
}

/* int16 pair products of weight bytes and activations y, exact (|w| <= 127 signed or
 * <= 63 unsigned, |y| <= 127): signed weights (IQ4_XS) go in as |w| with y negated where
 * w < 0, the same on every ISA since the product must stay in int16 for the scales. */
QI wq_vec k_prep(const int T, __m512i w) {
    wq_vec r = {w, 0};
    if (T == WK_TYPE_IQ4_XS) r.v = _mm512_abs_epi8(w), r.neg = _mm512_movepi8_mask(w);
    return r;
}
QI __m512i k_dot16(const int T, wq_vec w, __m512i y) {
    if (T == WK_TYPE_IQ4_XS) y = _mm512_mask_sub_epi8(y, w.neg, _mm512_setzero_si512(), y);
    return _mm512_maddubs_epi16(w.v, y);
}

/* 4 weight rows x NR activation rows; per super-block the int32 sums are reduced to one
 * exact integer per pair, then d_a (d_w isum - dmin_w msum) in f32, as the scalar dot. */
QI void k_tile(const int T, const int NR, int64_t nb, const uint8_t *const *a, const uint8_t *b, size_t ldb, float *c,
               size_t ldc, int mr) {
    const size_t BS = (size_t)k_bs(T);
    __m128 acc[8];
    for (int j = 0; j < NR; j++) acc[j] = _mm_setzero_ps();
    for (int64_t ib = 0; ib < nb; ib++) {
        const uint8_t *x[4], *yb[8];
        for (int i = 0; i < 4; i++) x[i] = a[i] + (size_t)ib * BS;
        q_prefetch_rows(x, 0, (int)BS);
        for (int j = 0; j < NR; j++) yb[j] = b + (size_t)j * ldb + (size_t)ib * Q8K_SIZE;
        __m512i sc[4], isum[4][8];
        for (int i = 0; i < 4; i++) {
            sc[i] = k_scales(T, x[i]);
            for (int j = 0; j < NR; j++) isum[i][j] = _mm512_setzero_si512();
        }
#pragma GCC unroll 4
        for (int s = 0; s < 4; s++) {
            const __m512i idx = k_ld_idx(k_sub16(T) ? k_idx16[s] : k_idx32[s]);
            for (int i = 0; i < 4; i++) {
                const wq_vec w = k_prep(T, k_unpack(T, x[i], s));
                const __m512i s16 = _mm512_permutexvar_epi16(idx, sc[i]);
                for (int j = 0; j < NR; j++) {
                    const __m512i y = _mm512_loadu_si512((const void *)(yb[j] + Q8K_QS + 64 * s));
                    isum[i][j] = q_acc16(isum[i][j], k_dot16(T, w, y), s16);
                }
            }
        }
        const __m128 d4 = k_h4(x, k_d_off(T));
        const __m128 dmin4 = k_has_min(T) ? k_h4(x, k_d_off(T) + 2) : _mm_setzero_ps();
        for (int j = 0; j < NR; j++) {
            float dy;
            memcpy(&dy, yb[j], 4);
            const __m512i bs = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_loadu_si256((const __m256i *)(yb[j] + Q8K_BSUMS)), 0);
            for (int i = 0; i < 4; i++) isum[i][j] = k_offset_fix(T, isum[i][j], bs, sc[i]);
            const __m128 fi = _mm_cvtepi32_ps(q_hsum4_epi32(isum[0][j], isum[1][j], isum[2][j], isum[3][j]));
            if (k_has_min(T)) { /* d_a (d isum - dmin msum), in the scalar dot's order */
                const __m128 fm = _mm_cvtepi32_ps(q_hsum4_epi32(k_min_sum(T, x[0], bs, sc[0]), k_min_sum(T, x[1], bs, sc[1]),
                                                                k_min_sum(T, x[2], bs, sc[2]), k_min_sum(T, x[3], bs, sc[3])));
                acc[j] = _mm_fmadd_ps(_mm_sub_ps(_mm_mul_ps(d4, fi), _mm_mul_ps(dmin4, fm)), _mm_set1_ps(dy), acc[j]);
            } else { /* d_a d isum */
                acc[j] = _mm_fmadd_ps(_mm_mul_ps(_mm_set1_ps(dy), d4), fi, acc[j]);
            }
        }
    }
    for (int j = 0; j < NR; j++) q_store4(c + (size_t)j * ldc, acc[j], mr);
}

/* ======== the tile driver: MR = 4 rows of a x NR rows of b, edges with smaller sizes */

QI int q_is_k(const int T) { return T >= WK_TYPE_Q2_K && T <= WK_TYPE_Q6_K ? 1 : T == WK_TYPE_IQ4_XS; }

QI void q_tile(const int T, const int NR, int64_t nb, const uint8_t *const *a, const uint8_t *b, size_t ldb, float *c,
               size_t ldc, int mr) {
    if (q_is_k(T)) k_tile(T, NR, nb, a, b, ldb, c, ldc, mr);
    else lg_tile(T, NR, nb, a, b, ldb, c, ldc, mr);
}

/* Tiles of 4 weight rows (the last group repeats its final row and stores only the real
 * ones) x NRMAX activation rows; what is left of n goes in tiles of 4, 2 and 1. */
QI void q_gemm(const int T, const int NRMAX, int64_t k, int m, int n, const void *va, size_t lda, const void *vb,
               size_t ldb, float *c, size_t ldc) {
    const uint8_t *a = va, *b = vb;
    const int64_t nb = k / (q_is_k(T) ? QK_K : QK_LEGACY);
    for (int j = 0; j < n;) {
        const int left = n - j;
        const int nr = left >= NRMAX ? NRMAX : left >= 4 ? 4 : left >= 2 ? 2 : 1;
        const uint8_t *bj = b + (size_t)j * ldb;
        float *cj = c + (size_t)j * ldc;
        for (int i = 0; i < m; i += 4) {
            const int mr = m - i < 4 ? m - i : 4;
            const uint8_t *rows[4];
            for (int r = 0; r < 4; r++) rows[r] = a + (size_t)(i + (r < mr ? r : mr - 1)) * lda;
            /* constant sizes let the tile unroll into registers */
            if (nr == NRMAX) q_tile(T, NRMAX, nb, rows, bj, ldb, cj + i, ldc, mr);
            else if (NRMAX > 4 && nr == 4) q_tile(T, 4, nb, rows, bj, ldb, cj + i, ldc, mr);
            else if (NRMAX > 2 && nr == 2) q_tile(T, 2, nb, rows, bj, ldb, cj + i, ldc, mr);
            else q_tile(T, 1, nb, rows, bj, ldb, cj + i, ldc, mr);
        }
        j += nr;
    }
}

/* Defines FN, the tile kernel for weight type WK_TYPE_##T. */
#define WK_Q512_KERNEL(FN, T, NRMAX)                                                                             \
    void FN(int64_t k, int m, int n, const void *a, size_t lda, const void *b, size_t ldb, float *c, size_t ldc) { \
        q_gemm(WK_TYPE_##T, NRMAX, k, m, n, a, lda, b, ldb, c, ldc);                                              \
    }

#endif
