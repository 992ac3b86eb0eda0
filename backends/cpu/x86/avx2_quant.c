/* avx2_quant.c — AVX2 qgemm tiles (isa.h wk_qgemm_fn) for every quantized weight type, 4
 * weight rows x up to 4 activation rows. Two generic bodies, a type supplies only its block
 * decode to bytes and its scale layout: 32-element blocks keep f32 lane accumulators with one
 * scale product per block; 256-element super-blocks apply sub-block scales in int32 and
 * reduce each super-block to one exact int before the f32 scaling, as the scalar dot does. */
#include <string.h>

#include "../../../src/quant/blocks.h"
#include "../isa.h"
#include "simd.h"

#define INLINE static inline __attribute__((always_inline))

/* 4 weight rows per tile against up to 4 activation rows (1 for decode): each decoded
 * weight vector feeds 4 pairs. 4x4 spills a little but measured faster than 4x2 (+15%)
 * and 4x3 (+5%) on prompt tiles (K=2048, 1 thread, Sapphire Rapids); loads are cheap. */
#define MR 4
#define NR_MAX 4

/* ---- shared helpers ------------------------------------------------------------------ */
INLINE __m256 h2f_bcast(uint16_t h) { return _mm256_cvtph_ps(_mm_set1_epi16((short)h)); }
INLINE __m128 h2f_4(uint16_t h0, uint16_t h1, uint16_t h2, uint16_t h3) {
    return _mm_cvtph_ps(_mm_setr_epi16((short)h0, (short)h1, (short)h2, (short)h3, 0, 0, 0, 0));
}

/* The sums of each of four vectors, in one vector (hadd tree, then the two halves). */
INLINE __m128 hsum4_ps(__m256 a, __m256 b, __m256 c, __m256 d) {
    __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}
INLINE __m128i hsum4_epi32(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i s = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
    return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

/* Software prefetch of the MR weight rows, PF_DIST bytes ahead of block b (of size bs):
 * decode streams each weight row once from memory, and the hardware prefetcher alone
 * keeps too few lines in flight to hide the latency behind the unpacking work. Past a
 * row's end this reaches the next row, i.e. the next tile for the last row. */
#define PF_DIST 512
INLINE void prefetch_rows(const void *const *x, int64_t b, size_t bs) {
    for (int i = 0; i < MR; i++)
        for (size_t o = 0; o < bs; o += 64) __builtin_prefetch((const char *)x[i] + (size_t)b * bs + PF_DIST + o, 0, 3);
}

/* c[0..mr) = r (mr < 4 only on the last rows of a tile) */
INLINE void store_rows(float *c, __m128 r, int mr) {
    if (mr == MR) {
        _mm_storeu_ps(c, r);
        return;
    }
    float t[4];
    _mm_storeu_ps(t, r);
    for (int i = 0; i < mr; i++) c[i] = t[i];
}

/* Sum over pairs of u8 x s8 products, times s16 scales, into 8 int32 lanes. maddubs sums
 * two products into s16 with saturation, so unsigned weights stay <= 63 (2*63*127 fits);
 * signed ones go as |w| with the sign moved onto the activation (2*128*127 fits), which is
 * exact because our activation quantizers never produce -128. */
INLINE __m256i dot_u8(__m256i u, __m256i a, __m256i scale16) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, a), scale16);
}
/* Same for signed weights: |w| x (a with w's sign). */
INLINE __m256i dot_s8(__m256i w, __m256i a, __m256i scale16) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(a, w)), scale16);
}

/* 16 bytes of packed nibbles -> 32 bytes: the low nibbles (elements 0..15), then the high
 * ones (16..31), the legacy and IQ4 element order. */
INLINE __m256i nibbles32(const uint8_t *q) {
    __m128i x = _mm_loadu_si128((const __m128i *)q);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(x, 4), x), _mm256_set1_epi8(0x0F));
}
/* The 32 bits of a Q5 qh word: bit j -> byte j as 0xFF or 0x00. */
INLINE __m256i bits32(const uint8_t *qh) {
    uint32_t x;
    memcpy(&x, qh, 4);
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2,
                                            3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201ll);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x), spread);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}
INLINE __m256i iq4_codebook(void) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)wk_kvalues_iq4nl));
}

/* =========================================================================================
 * 32-element blocks. Per block and pair: exact int32 lanes, converted (|lane| <= 4*128*127)
 * and scaled by d_w * d_a into f32 lane accumulators; Q4_1/Q5_1 add m_w * s_a per block.
 * ======================================================================================= */

/* block decodes: the 32 weight values as bytes (signed, or unsigned for the _1 types) */
INLINE __m256i dec_q4_0(const wk_block_q4_0 *x) { return _mm256_sub_epi8(nibbles32(x->qs), _mm256_set1_epi8(8)); }
INLINE __m256i dec_q4_1(const wk_block_q4_1 *x) { return nibbles32(x->qs); }
INLINE __m256i dec_q5_0(const wk_block_q5_0 *x) { /* q4 | 0xF0 where bit 4 is clear: q - 16 */
    return _mm256_or_si256(nibbles32(x->qs), _mm256_andnot_si256(bits32(x->qh), _mm256_set1_epi8((char)0xF0)));
}
INLINE __m256i dec_q5_1(const wk_block_q5_1 *x) {
    return _mm256_or_si256(nibbles32(x->qs), _mm256_and_si256(bits32(x->qh), _mm256_set1_epi8(0x10)));
}
INLINE __m256i dec_q8_0(const wk_block_q8_0 *x) { return _mm256_loadu_si256((const __m256i *)x->qs); }
INLINE __m256i dec_q8_1(const wk_block_q8_1 *x) { return _mm256_loadu_si256((const __m256i *)x->qs); }
INLINE __m256i dec_iq4_nl(const wk_block_iq4_nl *x) { return _mm256_shuffle_epi8(iq4_codebook(), nibbles32(x->qs)); }

/* the f16 min of the _1 types and the f16 d*sum of a Q8_1 activation; 0 elsewhere (only
 * read when HAS_MIN, which is a constant, so the dead branch is folded away) */
#define MIN_OF(x) ((x)->m)
#define NO_MIN(x) ((uint16_t)0)
#define S_OF(y) ((y)->s)
#define NO_S(y) ((uint16_t)0)

/* The tile driver shared by both bodies: 4-row groups (the last one repeats its final row
 * and stores only the real ones), NR_MAX activation rows at a time, then the rest. */
#define DEFINE_DRIVER(T, WB, AB, QK)                                                                        \
    void wk_qgemm_##T##_avx2(int64_t k, int m, int n, const void *a, size_t lda, const void *b, size_t ldb, \
                             float *c, size_t ldc) {                                                        \
        const int64_t nb = k / QK;                                                                          \
        for (int i0 = 0; i0 < m; i0 += MR) {                                                                \
            const int mr = m - i0 < MR ? m - i0 : MR;                                                       \
            const WB *x[MR];                                                                                \
            for (int i = 0; i < MR; i++)                                                                    \
                x[i] = (const WB *)((const char *)a + (size_t)(i0 + (i < mr ? i : mr - 1)) * lda);          \
            int j0 = 0;                                                                                     \
            for (; j0 + NR_MAX <= n; j0 += NR_MAX) {                                                        \
                const AB *y[NR_MAX];                                                                        \
                for (int j = 0; j < NR_MAX; j++) y[j] = (const AB *)((const char *)b + (size_t)(j0 + j) * ldb); \
                tile_##T(nb, x, y, NR_MAX, c + (size_t)j0 * ldc + i0, ldc, mr);                             \
            }                                                                                               \
            if (j0 < n) { /* the last 1..3 activation rows, with constant counts again */                  \
                const AB *y[NR_MAX];                                                                        \
                for (int j = 0; j < n - j0; j++) y[j] = (const AB *)((const char *)b + (size_t)(j0 + j) * ldb); \
                float *cj = c + (size_t)j0 * ldc + i0;                                                      \
                switch (n - j0) {                                                                           \
                case 3: tile_##T(nb, x, y, 3, cj, ldc, mr); break;                                          \
                case 2: tile_##T(nb, x, y, 2, cj, ldc, mr); break;                                          \
                default: tile_##T(nb, x, y, 1, cj, ldc, mr); break;                                         \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
    }

/* T: type name; WB/AB: weight and activation block types; SIGNED: the decode gives signed
 * bytes; HAS_MIN: add m_w * s_a per block, with MIN/S reading those f16 fields. */
#define DEFINE_LEGACY(T, WB, AB, SIGNED, HAS_MIN, MIN, S)                                                    \
    INLINE void tile_##T(int64_t nb, const WB *const *x, const AB *const *y, const int NR, float *c,         \
                         size_t ldc, int mr) {                                                              \
        const __m256i ones = _mm256_set1_epi16(1);                                                          \
        __m256 acc[MR][NR_MAX];                                                                             \
        __m128 macc[NR_MAX];                                                                                \
        for (int j = 0; j < NR; j++) {                                                                      \
            macc[j] = _mm_setzero_ps();                                                                     \
            for (int i = 0; i < MR; i++) acc[i][j] = _mm256_setzero_ps();                                   \
        }                                                                                                   \
        for (int64_t b = 0; b < nb; b++) {                                                                  \
            prefetch_rows((const void *const *)x, b, sizeof(WB));                                           \
            __m256i av[NR_MAX];                                                                             \
            __m256 ad[NR_MAX];                                                                              \
            for (int j = 0; j < NR; j++) {                                                                  \
                av[j] = _mm256_loadu_si256((const __m256i *)y[j][b].qs);                                    \
                ad[j] = h2f_bcast(y[j][b].d);                                                               \
            }                                                                                               \
            for (int i = 0; i < MR; i++) {                                                                  \
                const __m256i w = dec_##T(&x[i][b]);                                                        \
                const __m256 dw = h2f_bcast(x[i][b].d);                                                     \
                for (int j = 0; j < NR; j++) {                                                              \
                    __m256i p = SIGNED ? dot_s8(w, av[j], ones) : dot_u8(w, av[j], ones);                   \
                    acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(dw, ad[j]), acc[i][j]); \
                }                                                                                           \
            }                                                                                               \
            if (HAS_MIN) {                                                                                  \
                __m128 m4 = h2f_4(MIN(&x[0][b]), MIN(&x[1][b]), MIN(&x[2][b]), MIN(&x[3][b]));             \
                for (int j = 0; j < NR; j++)                                                                \
                    macc[j] = _mm_fmadd_ps(m4, _mm_cvtph_ps(_mm_set1_epi16((short)S(&y[j][b]))), macc[j]);                  \
            }                                                                                               \
        }                                                                                                   \
        for (int j = 0; j < NR; j++) {                                                                      \
            __m128 r = hsum4_ps(acc[0][j], acc[1][j], acc[2][j], acc[3][j]);                                \
            store_rows(c + (size_t)j * ldc, _mm_add_ps(r, macc[j]), mr);                                    \
        }                                                                                                   \
    }                                                                                                       \
    DEFINE_DRIVER(T, WB, AB, QK_LEGACY)

DEFINE_LEGACY(q4_0, wk_block_q4_0, wk_block_q8_0, 1, 0, NO_MIN, NO_S)
DEFINE_LEGACY(q4_1, wk_block_q4_1, wk_block_q8_1, 0, 1, MIN_OF, S_OF)
DEFINE_LEGACY(q5_0, wk_block_q5_0, wk_block_q8_0, 1, 0, NO_MIN, NO_S)
DEFINE_LEGACY(q5_1, wk_block_q5_1, wk_block_q8_1, 0, 1, MIN_OF, S_OF)
DEFINE_LEGACY(q8_0, wk_block_q8_0, wk_block_q8_0, 1, 0, NO_MIN, NO_S)
DEFINE_LEGACY(q8_1, wk_block_q8_1, wk_block_q8_1, 1, 0, NO_MIN, NO_S)
DEFINE_LEGACY(iq4_nl, wk_block_iq4_nl, wk_block_q8_0, 1, 0, NO_MIN, NO_S)

/* =========================================================================================
 * 256-element super-blocks against Q8_K, as 8 vectors of 32 elements. Vector v of a weight
 * block decodes to bytes u (unsigned 0..63, or signed for IQ4_XS) whose sub-block scales
 * come as 16 int16 lanes; per pair isum += madd(maddubs(u, a_v), scales_v). Offsets of the
 * unsigned levels (Q3_K: u - 4, Q6_K: u - 32) and the mins are sub-block scales times the
 * activation's bsums: one more madd against the 16 bsums per super-block.
 * ======================================================================================= */

/* A weight super-block's scales as the body wants them: sv, 16 int16 from which the
 * scales of vector v are picked by one byte shuffle (pick_scales); sub, 16 int16 per
 * 16-element sub-block, dotted with the activation's bsums (mins, or the level offsets). */
typedef struct {
    __m256i sv, sub;
} kq_scales;

/* Lane l of both 128-bit halves gets int16 lane v of that half. */
INLINE __m256i pick_scales(__m256i sv, int v) {
    return _mm256_shuffle_epi8(sv, _mm256_set1_epi16((short)((2 * v + 1) << 8 | 2 * v)));
}
/* 16 int8 scales of 16-element sub-blocks -> sv with the even ones in the low half and the
 * odd ones in the high half, so vector v (sub-blocks 2v, 2v+1) picks lane v in each. */
INLINE __m256i split_even_odd(__m128i s8, int is_signed) {
    const __m128i eo = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    __m128i t = _mm_shuffle_epi8(s8, eo);
    return is_signed ? _mm256_cvtepi8_epi16(t) : _mm256_cvtepu8_epi16(t);
}
/* 8 uint8 scales of 32-element sub-blocks -> both halves hold them, vector v picks lane v. */
INLINE __m256i both_halves(__m128i s16) { return _mm256_set_m128i(s16, s16); }

/* A bit of each byte (mask 1 << from) moved to bit `to`; the shifts are 16-bit but a single
 * bit per byte moving by less than its position cannot cross into the next byte. */
INLINE __m256i move_bits(__m256i x, int from, int to) {
    if (from < to) return _mm256_slli_epi16(x, to - from);
    if (from > to) return _mm256_srli_epi16(x, from - to);
    return x;
}

/* ---- Q2_K: u = 2-bit plane (v/4, v%4), scale = low nibble, min = high nibble ------------ */
INLINE void scales_q2_K(const wk_block_q2_K *x, kq_scales *s) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)x->scales), lo = _mm_set1_epi8(0x0F);
    s->sv = split_even_odd(_mm_and_si128(raw, lo), 0);
    s->sub = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), lo));
}
INLINE __m256i dec_q2_K(const wk_block_q2_K *x, int v) {
    __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * (v / 4)));
    return _mm256_and_si256(_mm256_srli_epi16(q, 2 * (v % 4)), _mm256_set1_epi8(3));
}

/* ---- Q3_K: u = plane | hmask bit v << 2 (value u - 4), 6-bit scales - 32 ------------------ */
INLINE void scales_q3_K(const wk_block_q3_K *x, kq_scales *s) {
    /* low nibbles: bytes 0..7 (sub-blocks 0..7) then their high nibbles (8..15); the high
     * 2 bits of sub-block j are bits 2(j/4) of byte 8 + j%4 */
    uint64_t l;
    uint32_t h;
    memcpy(&l, x->scales, 8);
    memcpy(&h, x->scales + 8, 4);
    const uint64_t m4 = 0x0F0F0F0F0F0F0F0Full;
    const uint32_t m2 = 0x03030303u;
    uint64_t ha = (h & m2) | (uint64_t)((h >> 2) & m2) << 32, hb = ((h >> 4) & m2) | (uint64_t)((h >> 6) & m2) << 32;
    __m128i sc = _mm_set_epi64x((long long)(((l >> 4) & m4) | hb << 4), (long long)((l & m4) | ha << 4));
    sc = _mm_sub_epi8(sc, _mm_set1_epi8(32));
    s->sv = split_even_odd(sc, 1);
    s->sub = _mm256_cvtepi8_epi16(sc);
}
INLINE __m256i dec_q3_K(const wk_block_q3_K *x, int v) {
    __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * (v / 4)));
    __m256i lo = _mm256_and_si256(_mm256_srli_epi16(q, 2 * (v % 4)), _mm256_set1_epi8(3));
    __m256i hb = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)x->hmask), _mm256_set1_epi8((char)(1 << v)));
    return _mm256_or_si256(lo, move_bits(hb, v, 2));
}

/* ---- Q4_K / Q5_K: 6-bit scales and mins of 32-element sub-blocks (wk_scale_min_k4) ------- */
INLINE void scales_q45_K(const uint8_t *q, kq_scales *s) {
    uint32_t u0, u1, u2;
    memcpy(&u0, q, 4), memcpy(&u1, q + 4, 4), memcpy(&u2, q + 8, 4);
    const uint32_t m6 = 0x3F3F3F3Fu, m4 = 0x0F0F0F0Fu, m2h = 0x30303030u;
    uint32_t sc_hi = (u2 & m4) | ((u0 >> 2) & m2h), mn_hi = ((u2 >> 4) & m4) | ((u1 >> 2) & m2h);
    __m128i scm = _mm_setr_epi32((int)(u0 & m6), (int)sc_hi, (int)(u1 & m6), (int)mn_hi); /* sc[8], m[8] */
    s->sv = both_halves(_mm_cvtepu8_epi16(scm));
    /* each min covers two 16-element bsums */
    const __m128i dup = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
    s->sub = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(scm, dup));
}
INLINE void scales_q4_K(const wk_block_q4_K *x, kq_scales *s) { scales_q45_K(x->scales, s); }
INLINE void scales_q5_K(const wk_block_q5_K *x, kq_scales *s) { scales_q45_K(x->scales, s); }
INLINE __m256i nibble_plane(const uint8_t *qs, int v) { /* 64-element group v/2, low nibbles first */
    __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * (v / 2)));
    return _mm256_and_si256(v % 2 ? _mm256_srli_epi16(q, 4) : q, _mm256_set1_epi8(0x0F));
}
INLINE __m256i dec_q4_K(const wk_block_q4_K *x, int v) { return nibble_plane(x->qs, v); }
INLINE __m256i dec_q5_K(const wk_block_q5_K *x, int v) {
    __m256i hb = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)x->qh), _mm256_set1_epi8((char)(1 << v)));
    return _mm256_or_si256(nibble_plane(x->qs, v), move_bits(hb, v, 4));
}

/* ---- Q6_K: u = 4 low bits | 2 high bits << 4 (value u - 32), int8 scales ---------------- */
INLINE void scales_q6_K(const wk_block_q6_K *x, kq_scales *s) {
    const __m128i sc = _mm_loadu_si128((const __m128i *)x->scales);
    s->sv = split_even_odd(sc, 1);
    s->sub = _mm256_cvtepi8_epi16(sc);
}
INLINE __m256i dec_q6_K(const wk_block_q6_K *x, int v) {
    const int h = v / 4, t = v % 4;
    __m256i q = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32 * (t & 1)));
    __m256i lo = _mm256_and_si256(t < 2 ? q : _mm256_srli_epi16(q, 4), _mm256_set1_epi8(0x0F));
    __m256i hi = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x->qh + 32 * h)),
                                  _mm256_set1_epi8((char)(3 << (2 * t))));
    /* the 2-bit field moves from bit 2t to bit 4 inside its byte */
    hi = 2 * t < 4 ? _mm256_slli_epi16(hi, 4 - 2 * t) : 2 * t > 4 ? _mm256_srli_epi16(hi, 2 * t - 4) : hi;
    return _mm256_or_si256(lo, hi);
}

/* ---- IQ4_XS: codebook values (signed), 6-bit scales - 32 of 32-element sub-blocks -------- */
INLINE void scales_iq4_xs(const wk_block_iq4_xs *x, kq_scales *s) {
    uint32_t l;
    memcpy(&l, x->scales_l, 4);
    const __m128i lv = _mm_cvtsi32_si128((int)l), m4 = _mm_set1_epi8(0x0F);
    /* nibble i of scales_l (low nibble first) is the low 4 bits of scale i */
    __m128i lo = _mm_unpacklo_epi8(_mm_and_si128(lv, m4), _mm_and_si128(_mm_srli_epi16(lv, 4), m4));
    __m128i lo16 = _mm_cvtepu8_epi16(lo);
    /* bits 2i..2i+1 of scales_h are its high 2 bits */
    __m256i h = _mm256_srlv_epi32(_mm256_set1_epi32(x->scales_h), _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14));
    h = _mm256_and_si256(h, _mm256_set1_epi32(3));
    __m128i hi16 = _mm_packs_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    __m128i sc = _mm_sub_epi16(_mm_or_si128(lo16, _mm_slli_epi16(hi16, 4)), _mm_set1_epi16(32));
    s->sv = both_halves(sc);
    s->sub = _mm256_setzero_si256();
}
INLINE __m256i dec_iq4_xs(const wk_block_iq4_xs *x, int v) {
    return _mm256_shuffle_epi8(iq4_codebook(), nibbles32(x->qs + 16 * v));
}

/* T: type name; WB: weight block; SIGNED: signed decode (IQ4_XS); HAS_MIN: the sub dot is a
 * min term scaled by dmin (Q2_K, Q4_K, Q5_K); OFFSET_SHIFT: the sub dot times 2^shift is the
 * level offset subtracted from isum (Q3_K: 2, Q6_K: 5; 0 = none). Per super-block and pair
 * the isum lanes are reduced exactly, then d_a * (d_w * isum - dmin * msum) in f32. */
#define DEFINE_KQUANT(T, WB, SIGNED, HAS_MIN, OFFSET_SHIFT, DMIN)                                           \
    INLINE void tile_##T(int64_t nb, const WB *const *x, const wk_block_q8_K *const *y, const int NR,        \
                         float *c, size_t ldc, int mr) {                                                    \
        __m128 acc[NR_MAX];                                                                                 \
        for (int j = 0; j < NR; j++) acc[j] = _mm_setzero_ps();                                             \
        for (int64_t b = 0; b < nb; b++) {                                                                  \
            prefetch_rows((const void *const *)x, b, sizeof(WB));                                           \
            kq_scales s[MR];                                                                                \
            for (int i = 0; i < MR; i++) scales_##T(&x[i][b], &s[i]);                                       \
            __m256i isum[MR][NR_MAX];                                                                       \
            for (int i = 0; i < MR; i++)                                                                    \
                for (int j = 0; j < NR; j++) isum[i][j] = _mm256_setzero_si256();                           \
            _Pragma("GCC unroll 8") for (int v = 0; v < 8; v++) {                                           \
                __m256i av[NR_MAX];                                                                         \
                for (int j = 0; j < NR; j++) av[j] = _mm256_loadu_si256((const __m256i *)(y[j][b].qs + 32 * v)); \
                for (int i = 0; i < MR; i++) {                                                              \
                    const __m256i u = dec_##T(&x[i][b], v), sc = pick_scales(s[i].sv, v);                  \
                    for (int j = 0; j < NR; j++)                                                            \
                        isum[i][j] = _mm256_add_epi32(isum[i][j], SIGNED ? dot_s8(u, av[j], sc) : dot_u8(u, av[j], sc)); \
                }                                                                                           \
            }                                                                                               \
            const __m128 dw = h2f_4(x[0][b].d, x[1][b].d, x[2][b].d, x[3][b].d);                            \
            for (int j = 0; j < NR; j++) {                                                                  \
                const __m256i bs = _mm256_loadu_si256((const __m256i *)y[j][b].bsums);                      \
                const __m128 da = _mm_set1_ps(y[j][b].d);                                                   \
                if (OFFSET_SHIFT)                                                                           \
                    for (int i = 0; i < MR; i++)                                                            \
                        isum[i][j] = _mm256_sub_epi32(isum[i][j], _mm256_slli_epi32(_mm256_madd_epi16(s[i].sub, bs), OFFSET_SHIFT)); \
                const __m128 fi = _mm_cvtepi32_ps(hsum4_epi32(isum[0][j], isum[1][j], isum[2][j], isum[3][j])); \
                if (HAS_MIN) {                                                                              \
                    const __m128 dmin = h2f_4(DMIN(&x[0][b]), DMIN(&x[1][b]), DMIN(&x[2][b]), DMIN(&x[3][b])); \
                    const __m128 fm = _mm_cvtepi32_ps(hsum4_epi32(                                          \
                        _mm256_madd_epi16(s[0].sub, bs), _mm256_madd_epi16(s[1].sub, bs),                   \
                        _mm256_madd_epi16(s[2].sub, bs), _mm256_madd_epi16(s[3].sub, bs)));                 \
                    acc[j] = _mm_add_ps(acc[j], _mm_mul_ps(da, _mm_sub_ps(_mm_mul_ps(dw, fi), _mm_mul_ps(dmin, fm)))); \
                } else {                                                                                    \
                    acc[j] = _mm_add_ps(acc[j], _mm_mul_ps(_mm_mul_ps(da, dw), fi));                        \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
        for (int j = 0; j < NR; j++) store_rows(c + (size_t)j * ldc, acc[j], mr);                           \
    }                                                                                                       \
    DEFINE_DRIVER(T, WB, wk_block_q8_K, QK_K)

#define DMIN_OF(x) ((x)->dmin)
#define NO_DMIN(x) ((uint16_t)0)

DEFINE_KQUANT(q2_K, wk_block_q2_K, 0, 1, 0, DMIN_OF)
DEFINE_KQUANT(q3_K, wk_block_q3_K, 0, 0, 2, NO_DMIN)
DEFINE_KQUANT(q4_K, wk_block_q4_K, 0, 1, 0, DMIN_OF)
DEFINE_KQUANT(q5_K, wk_block_q5_K, 0, 1, 0, DMIN_OF)
DEFINE_KQUANT(q6_K, wk_block_q6_K, 0, 0, 5, NO_DMIN)
DEFINE_KQUANT(iq4_xs, wk_block_iq4_xs, 1, 0, 0, NO_DMIN)
