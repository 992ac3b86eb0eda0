/* neon_quant.c — quantized gemm tiles for AArch64: c[j*ldc + i] = dot(weight row i,
 * activation row j). One generic tile per block family (32-element legacy blocks against
 * Q8_0/Q8_1, 256-element super-blocks against Q8_K) plus per-type pieces that unpack a
 * block's weights into int8 lanes and decode its scales. A tile unpacks each weight block
 * once and dots it with up to 4 activation rows (or, for one activation row, dots one
 * activation block with up to 4 weight rows). Integer sums are exact (int8 products, int32
 * lanes); each block's f32 term uses the reference's operations in the reference's order
 * (src/quant/legacy.c, kquants.c) and blocks are summed in order, as wk_vec_dot does.
 * Compiled twice: plain armv8-a (widening multiplies) here, and with WK_NEON_DOTPROD=1 by
 * neon_quant_dotprod.c under -march=armv8.2-a+dotprod (SDOT). -ffp-contract=off keeps the
 * f32 terms unfused, like the reference. */
#include <arm_neon.h>
#include <stdbool.h>
#include <string.h>

#include "../../../src/quant/blocks.h"
#include "neon.h"

#ifndef WK_NEON_DOTPROD
#define WK_NEON_DOTPROD 0
#endif
#if WK_NEON_DOTPROD
#define QGEMM_FN(s) static void qgemm_##s##_dotprod
#else
#define QGEMM_FN(s) void wk_neon_qgemm_##s
#endif

#define INLINE static inline __attribute__((always_inline))

/* ---- integer and scale primitives -------------------------------------------------- */

/* acc + the 16 products a[l] b[l], spread over the 4 lanes (how they are spread differs
 * between the two paths; the lane total does not). */
INLINE int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if WK_NEON_DOTPROD
    return vdotq_s32(acc, a, b);
#else
    /* |a b| <= 128 * 128 fits int16; pairs are widened to int32 before they are added */
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
#endif
}
INLINE int32x4_t dot32(int8x16_t w0, int8x16_t w1, int8x16_t a0, int8x16_t a1) {
    return dot16(dot16(vdupq_n_s32(0), w0, a0), w1, a1);
}

/* [sum of s0's lanes, ..., sum of s3's lanes] */
INLINE int32x4_t reduce4(int32x4_t s0, int32x4_t s1, int32x4_t s2, int32x4_t s3) {
    return vpaddq_s32(vpaddq_s32(s0, s1), vpaddq_s32(s2, s3));
}

/* f16 -> f32, exact (FCVT) */
INLINE float h2f(uint16_t h) {
    __fp16 f;
    memcpy(&f, &h, 2);
    return (float)f;
}

INLINE int8x16_t s8(uint8x16_t v) { return vreinterpretq_s8_u8(v); }
/* v >> s for a shift count known at run time (USHL by -s) */
INLINE uint8x16_t shr8(uint8x16_t v, int s) { return vshlq_u8(v, vdupq_n_s8((int8_t)-s)); }
INLINE uint8x16_t lo4(uint8x16_t v) { return vandq_u8(v, vdupq_n_u8(0x0F)); }
INLINE uint8x16_t hi4(uint8x16_t v) { return vshrq_n_u8(v, 4); }
/* the IQ4 codebook lookup of 16 indices (formats.md §2.2) */
INLINE int8x16_t iq4_lookup(uint8x16_t idx) { return vqtbl1q_s8(vld1q_s8(wk_kvalues_iq4nl), idx); }

static inline int imin(int a, int b) { return a < b ? a : b; }

/* The tile orientation: with several activation rows (NR > 1) a float vector holds the 4
 * activation rows j of one weight row i; with one (NR == 1, decode) it holds 4 weight rows.
 * s[i][j] are the per-pair int32 lane vectors; the result is one lane-summed vector per
 * float accumulator. */
#define ZI32 vdupq_n_s32(0)
#define QUAD_J(s, i, NR) reduce4(s[i][0], NR > 1 ? s[i][1] : ZI32, NR > 2 ? s[i][2] : ZI32, NR > 3 ? s[i][3] : ZI32)
#define QUAD_I(s, MR) reduce4(s[0][0], MR > 1 ? s[1][0] : ZI32, MR > 2 ? s[2][0] : ZI32, MR > 3 ? s[3][0] : ZI32)

/* Stores the accumulators: lanes are j (NR > 1) or i (NR == 1). */
INLINE void store_tile(int MR, int NR, const float32x4_t *acc, float *c, size_t ldc) {
    float v[4][4];
    for (int q = 0; q < (NR > 1 ? MR : 1); q++) vst1q_f32(v[q], acc[q]);
    for (int j = 0; j < NR; j++)
        for (int i = 0; i < MR; i++) c[(size_t)j * ldc + i] = NR > 1 ? v[i][j] : v[0][i];
}

/* ---- legacy blocks (32 elements): Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 IQ4_NL ------------------- */

/* A weight block unpacked: elements 0-15 and 16-31 as int8 (formats.md §2.2: element j < 16
 * is the low nibble of qs[j], j >= 16 the high nibble of qs[j-16]), its scale and its min
 * (Q4_1, Q5_1). */
typedef struct {
    int8x16_t lo, hi;
    float d, m;
} lblock;

/* Q5: bit 4 of element j is bit j of qh (little-endian u32), spread to 0x10 per byte */
INLINE void q5_high(const uint8_t *qh, uint8x16_t *lo, uint8x16_t *hi) {
    static const uint8_t bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t bits = vld1q_u8(bit), x10 = vdupq_n_u8(0x10);
    *lo = vandq_u8(vtstq_u8(vcombine_u8(vdup_n_u8(qh[0]), vdup_n_u8(qh[1])), bits), x10);
    *hi = vandq_u8(vtstq_u8(vcombine_u8(vdup_n_u8(qh[2]), vdup_n_u8(qh[3])), bits), x10);
}

INLINE lblock legacy_unpack(wk_type t, const void *p) {
    lblock w = {vdupq_n_s8(0), vdupq_n_s8(0), 0.0f, 0.0f};
    switch (t) {
    case WK_TYPE_Q4_0: {
        const wk_block_q4_0 *b = p;
        const uint8x16_t q = vld1q_u8(b->qs);
        w.lo = vsubq_s8(s8(lo4(q)), vdupq_n_s8(8));
        w.hi = vsubq_s8(s8(hi4(q)), vdupq_n_s8(8));
        w.d = h2f(b->d);
        break;
    }
    case WK_TYPE_Q4_1: {
        const wk_block_q4_1 *b = p;
        const uint8x16_t q = vld1q_u8(b->qs);
        w.lo = s8(lo4(q)), w.hi = s8(hi4(q));
        w.d = h2f(b->d), w.m = h2f(b->m);
        break;
    }
    case WK_TYPE_Q5_0: {
        const wk_block_q5_0 *b = p;
        const uint8x16_t q = vld1q_u8(b->qs);
        uint8x16_t h0, h1;
        q5_high(b->qh, &h0, &h1);
        w.lo = vsubq_s8(s8(vorrq_u8(lo4(q), h0)), vdupq_n_s8(16));
        w.hi = vsubq_s8(s8(vorrq_u8(hi4(q), h1)), vdupq_n_s8(16));
        w.d = h2f(b->d);
        break;
    }
    case WK_TYPE_Q5_1: {
        const wk_block_q5_1 *b = p;
        const uint8x16_t q = vld1q_u8(b->qs);
        uint8x16_t h0, h1;
        q5_high(b->qh, &h0, &h1);
        w.lo = s8(vorrq_u8(lo4(q), h0)), w.hi = s8(vorrq_u8(hi4(q), h1));
        w.d = h2f(b->d), w.m = h2f(b->m);
        break;
    }
    case WK_TYPE_Q8_0: {
        const wk_block_q8_0 *b = p;
        w.lo = vld1q_s8(b->qs), w.hi = vld1q_s8(b->qs + 16);
        w.d = h2f(b->d);
        break;
    }
    case WK_TYPE_Q8_1: {
        const wk_block_q8_1 *b = p;
        w.lo = vld1q_s8(b->qs), w.hi = vld1q_s8(b->qs + 16);
        w.d = h2f(b->d);
        break;
    }
    case WK_TYPE_IQ4_NL: {
        const wk_block_iq4_nl *b = p;
        const uint8x16_t q = vld1q_u8(b->qs);
        w.lo = iq4_lookup(lo4(q)), w.hi = iq4_lookup(hi4(q));
        w.d = h2f(b->d);
        break;
    }
    default: break;
    }
    return w;
}

INLINE size_t legacy_size(wk_type t) {
    switch (t) {
    case WK_TYPE_Q4_0: return sizeof(wk_block_q4_0);
    case WK_TYPE_Q4_1: return sizeof(wk_block_q4_1);
    case WK_TYPE_Q5_0: return sizeof(wk_block_q5_0);
    case WK_TYPE_Q5_1: return sizeof(wk_block_q5_1);
    case WK_TYPE_Q8_0: return sizeof(wk_block_q8_0);
    case WK_TYPE_Q8_1: return sizeof(wk_block_q8_1);
    default: return sizeof(wk_block_iq4_nl);
    }
}
/* Q4_1, Q5_1, Q8_1 pair with Q8_1 activations; the rest with Q8_0 */
INLINE bool legacy_q8_1(wk_type t) { return t == WK_TYPE_Q4_1 || t == WK_TYPE_Q5_1 || t == WK_TYPE_Q8_1; }
INLINE bool legacy_min(wk_type t) { return t == WK_TYPE_Q4_1 || t == WK_TYPE_Q5_1; }

/* Block term, as legacy.c: (d_w d_a) sumi [+ m_w s_a] */
INLINE float32x4_t legacy_term(wk_type t, float32x4_t dw, float32x4_t da, int32x4_t sumi, float32x4_t mw,
                               float32x4_t sa) {
    float32x4_t r = vmulq_f32(vmulq_f32(dw, da), vcvtq_f32_s32(sumi));
    return legacy_min(t) ? vaddq_f32(r, vmulq_f32(mw, sa)) : r;
}

INLINE void legacy_tile(wk_type t, const int MR, const int NR, int64_t nb, const char *a, size_t lda,
                        const char *b, size_t ldb, float *c, size_t ldc) {
    const size_t wsz = legacy_size(t), asz = legacy_q8_1(t) ? sizeof(wk_block_q8_1) : sizeof(wk_block_q8_0);
    float32x4_t acc[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};
    for (int64_t ib = 0; ib < nb; ib++) {
        int8x16_t a0[4], a1[4];
        float da[4] = {0}, sa[4] = {0}, dw[4] = {0}, mw[4] = {0};
        for (int j = 0; j < NR; j++) {
            const char *y = b + (size_t)j * ldb + (size_t)ib * asz;
            if (legacy_q8_1(t)) {
                const wk_block_q8_1 *yb = (const wk_block_q8_1 *)y;
                a0[j] = vld1q_s8(yb->qs), a1[j] = vld1q_s8(yb->qs + 16);
                da[j] = h2f(yb->d), sa[j] = h2f(yb->s);
            } else {
                const wk_block_q8_0 *yb = (const wk_block_q8_0 *)y;
                a0[j] = vld1q_s8(yb->qs), a1[j] = vld1q_s8(yb->qs + 16);
                da[j] = h2f(yb->d);
            }
        }
        int32x4_t s[4][4];
        for (int i = 0; i < MR; i++) {
            const lblock w = legacy_unpack(t, a + (size_t)i * lda + (size_t)ib * wsz);
            dw[i] = w.d, mw[i] = w.m;
            for (int j = 0; j < NR; j++) s[i][j] = dot32(w.lo, w.hi, a0[j], a1[j]);
        }
        if (NR > 1) {
            for (int i = 0; i < MR; i++)
                acc[i] = vaddq_f32(acc[i], legacy_term(t, vdupq_n_f32(dw[i]), vld1q_f32(da), QUAD_J(s, i, NR),
                                                       vdupq_n_f32(mw[i]), vld1q_f32(sa)));
        } else {
            acc[0] = vaddq_f32(acc[0], legacy_term(t, vld1q_f32(dw), vdupq_n_f32(da[0]), QUAD_I(s, MR),
                                                   vld1q_f32(mw), vdupq_n_f32(sa[0])));
        }
    }
    store_tile(MR, NR, acc, c, ldc);
}

/* ---- super-blocks (256 elements) against Q8_K: Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_XS -------- */

/* A super-block's scales: sc[] per sub-block (16 elements for Q2_K, Q3_K, Q6_K; 32 for the
 * others), mins per sub-block (Q2_K: 16, Q4_K/Q5_K: 8), d and dmin. */
typedef struct {
    int32_t sc[16];
    int16_t mn[16];
    float d, dmin;
} kscales;

INLINE bool k_sub16(wk_type t) { return t == WK_TYPE_Q2_K || t == WK_TYPE_Q3_K || t == WK_TYPE_Q6_K; }
INLINE bool k_min(wk_type t) { return t == WK_TYPE_Q2_K || t == WK_TYPE_Q4_K || t == WK_TYPE_Q5_K; }

INLINE size_t k_size(wk_type t) {
    switch (t) {
    case WK_TYPE_Q2_K: return sizeof(wk_block_q2_K);
    case WK_TYPE_Q3_K: return sizeof(wk_block_q3_K);
    case WK_TYPE_Q4_K: return sizeof(wk_block_q4_K);
    case WK_TYPE_Q5_K: return sizeof(wk_block_q5_K);
    case WK_TYPE_Q6_K: return sizeof(wk_block_q6_K);
    default: return sizeof(wk_block_iq4_xs);
    }
}

/* formats.md §2.3 scale packings */
INLINE void k_scales(wk_type t, const void *p, kscales *s) {
    s->dmin = 0.0f; /* types without mins */
    switch (t) {
    case WK_TYPE_Q2_K: {
        const wk_block_q2_K *b = p;
        for (int j = 0; j < 16; j++) s->sc[j] = b->scales[j] & 0x0F, s->mn[j] = (int16_t)(b->scales[j] >> 4);
        s->d = h2f(b->d), s->dmin = h2f(b->dmin);
        break;
    }
    case WK_TYPE_Q3_K: {
        const wk_block_q3_K *b = p;
        for (int j = 0; j < 16; j++) {
            const int lo = j < 8 ? b->scales[j] & 0x0F : b->scales[j - 8] >> 4;
            const int hi = (b->scales[8 + j % 4] >> (2 * (j / 4))) & 3;
            s->sc[j] = (lo | (hi << 4)) - 32;
        }
        s->d = h2f(b->d);
        break;
    }
    case WK_TYPE_Q4_K:
    case WK_TYPE_Q5_K: {
        /* Q4_K and Q5_K start with the same d, dmin, scales[12] */
        const wk_block_q4_K *b = p;
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            wk_scale_min_k4(j, b->scales, &sc, &m);
            s->sc[j] = sc, s->mn[j] = m;
        }
        s->d = h2f(b->d), s->dmin = h2f(b->dmin);
        break;
    }
    case WK_TYPE_Q6_K: {
        const wk_block_q6_K *b = p;
        for (int j = 0; j < 16; j++) s->sc[j] = b->scales[j];
        s->d = h2f(b->d);
        break;
    }
    default: {
        const wk_block_iq4_xs *b = p;
        for (int j = 0; j < 8; j++) {
            const int lo = (b->scales_l[j / 2] >> (4 * (j % 2))) & 0x0F, hi = (b->scales_h >> (2 * j)) & 3;
            s->sc[j] = (lo | (hi << 4)) - 32;
        }
        s->d = h2f(b->d);
        break;
    }
    }
}

/* Elements 32c .. 32c+31 of a super-block as int8 (formats.md §2.3 layouts). */
INLINE void k_chunk(wk_type t, const void *p, int c, int8x16_t *w0, int8x16_t *w1) {
    switch (t) {
    case WK_TYPE_Q2_K: { /* element 128h + 32t + l: bits 2t..2t+1 of qs[32h + l] */
        const wk_block_q2_K *b = p;
        const uint8_t *q = b->qs + 32 * (c / 4);
        const uint8x16_t three = vdupq_n_u8(3);
        *w0 = s8(vandq_u8(shr8(vld1q_u8(q), 2 * (c % 4)), three));
        *w1 = s8(vandq_u8(shr8(vld1q_u8(q + 16), 2 * (c % 4)), three));
        break;
    }
    case WK_TYPE_Q3_K: { /* Q2_K's planes minus 4 where bit c of hmask[l] is clear */
        const wk_block_q3_K *b = p;
        const uint8_t *q = b->qs + 32 * (c / 4);
        const uint8x16_t three = vdupq_n_u8(3), four = vdupq_n_u8(4), bit = vdupq_n_u8((uint8_t)(1u << c));
        const uint8x16_t l0 = vandq_u8(shr8(vld1q_u8(q), 2 * (c % 4)), three);
        const uint8x16_t l1 = vandq_u8(shr8(vld1q_u8(q + 16), 2 * (c % 4)), three);
        *w0 = vsubq_s8(s8(l0), s8(vbicq_u8(four, vtstq_u8(vld1q_u8(b->hmask), bit))));
        *w1 = vsubq_s8(s8(l1), s8(vbicq_u8(four, vtstq_u8(vld1q_u8(b->hmask + 16), bit))));
        break;
    }
    case WK_TYPE_Q4_K:
    case WK_TYPE_Q5_K: { /* 64-element group c/2 in qs[32(c/2) + l]: low nibbles, then high */
        const uint8_t *qs = t == WK_TYPE_Q4_K ? ((const wk_block_q4_K *)p)->qs : ((const wk_block_q5_K *)p)->qs;
        const uint8_t *q = qs + 32 * (c / 2);
        uint8x16_t v0 = vld1q_u8(q), v1 = vld1q_u8(q + 16);
        v0 = c % 2 ? hi4(v0) : lo4(v0);
        v1 = c % 2 ? hi4(v1) : lo4(v1);
        if (t == WK_TYPE_Q5_K) { /* bit 4: bit c of qh[l] */
            const wk_block_q5_K *b = p;
            const uint8x16_t bit = vdupq_n_u8((uint8_t)(1u << c)), x10 = vdupq_n_u8(0x10);
            v0 = vorrq_u8(v0, vandq_u8(vtstq_u8(vld1q_u8(b->qh), bit), x10));
            v1 = vorrq_u8(v1, vandq_u8(vtstq_u8(vld1q_u8(b->qh + 16), bit), x10));
        }
        *w0 = s8(v0), *w1 = s8(v1);
        break;
    }
    case WK_TYPE_Q6_K: { /* h = c/4, t = c%4: low 4 bits in ql[64h + 32(t&1) + l] (low nibble
                          * for t < 2), high 2 bits at 2t of qh[32h + l]; level - 32 */
        const wk_block_q6_K *b = p;
        const int h = c / 4, tt = c % 4;
        const uint8_t *ql = b->ql + 64 * h + 32 * (tt & 1), *qh = b->qh + 32 * h;
        uint8x16_t l0 = vld1q_u8(ql), l1 = vld1q_u8(ql + 16);
        l0 = tt < 2 ? lo4(l0) : hi4(l0);
        l1 = tt < 2 ? lo4(l1) : hi4(l1);
        const uint8x16_t three = vdupq_n_u8(3);
        const uint8x16_t h0 = vshlq_n_u8(vandq_u8(shr8(vld1q_u8(qh), 2 * tt), three), 4);
        const uint8x16_t h1 = vshlq_n_u8(vandq_u8(shr8(vld1q_u8(qh + 16), 2 * tt), three), 4);
        *w0 = vsubq_s8(s8(vorrq_u8(l0, h0)), vdupq_n_s8(32));
        *w1 = vsubq_s8(s8(vorrq_u8(l1, h1)), vdupq_n_s8(32));
        break;
    }
    default: { /* IQ4_XS: sub-block c in qs[16c..16c+15], low nibbles then high */
        const wk_block_iq4_xs *b = p;
        const uint8x16_t q = vld1q_u8(b->qs + 16 * c);
        *w0 = iq4_lookup(lo4(q)), *w1 = iq4_lookup(hi4(q));
        break;
    }
    }
}

/* The min term's integer: Q2_K sum_j m_j bsum_j over 16 sub-blocks of 16; Q4_K/Q5_K
 * sum_j m_j (bsum_2j + bsum_2j+1) over 8 of 32. Products and pair sums in int32 lanes. */
INLINE int32x4_t k_minsum(wk_type t, const kscales *s, const wk_block_q8_K *y) {
    const int16x8_t b0 = vld1q_s16(y->bsums), b1 = vld1q_s16(y->bsums + 8);
    const int16x8_t m0 = vld1q_s16(s->mn);
    if (t == WK_TYPE_Q2_K) {
        const int16x8_t m1 = vld1q_s16(s->mn + 8);
        int32x4_t r = vmull_s16(vget_low_s16(m0), vget_low_s16(b0));
        r = vmlal_high_s16(r, m0, b0);
        r = vmlal_s16(r, vget_low_s16(m1), vget_low_s16(b1));
        return vmlal_high_s16(r, m1, b1);
    }
    const int32x4_t r = vmulq_s32(vmovl_s16(vget_low_s16(m0)), vpaddlq_s16(b0));
    return vmlaq_s32(r, vmovl_high_s16(m0), vpaddlq_s16(b1));
}

/* Block term, as kquants.c: d_a (d isum - dmin msum), or d_a d isum without mins */
INLINE float32x4_t k_term(wk_type t, float32x4_t d, float32x4_t dmin, float32x4_t da, int32x4_t isum,
                          int32x4_t msum) {
    if (k_min(t))
        return vmulq_f32(da, vsubq_f32(vmulq_f32(d, vcvtq_f32_s32(isum)), vmulq_f32(dmin, vcvtq_f32_s32(msum))));
    return vmulq_f32(vmulq_f32(da, d), vcvtq_f32_s32(isum));
}

INLINE void k_tile(wk_type t, const int MR, const int NR, int64_t nb, const char *a, size_t lda, const char *b,
                   size_t ldb, float *c, size_t ldc) {
    const size_t wsz = k_size(t);
    float32x4_t acc[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};
    for (int64_t ib = 0; ib < nb; ib++) {
        const void *x[4];
        const wk_block_q8_K *y[4];
        kscales sc[4];
        float dw[4] = {0}, mw[4] = {0}, da[4] = {0};
        for (int i = 0; i < MR; i++) {
            x[i] = a + (size_t)i * lda + (size_t)ib * wsz;
            k_scales(t, x[i], &sc[i]);
            dw[i] = sc[i].d, mw[i] = sc[i].dmin;
        }
        for (int j = 0; j < NR; j++) {
            y[j] = (const wk_block_q8_K *)(b + (size_t)j * ldb + (size_t)ib * sizeof(wk_block_q8_K));
            da[j] = y[j]->d;
        }
        int32x4_t s[4][4];
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) s[i][j] = vdupq_n_s32(0);
        for (int ch = 0; ch < 8; ch++) {
            int8x16_t a0[4], a1[4];
            for (int j = 0; j < NR; j++) {
                a0[j] = vld1q_s8(y[j]->qs + 32 * ch);
                a1[j] = vld1q_s8(y[j]->qs + 32 * ch + 16);
            }
            for (int i = 0; i < MR; i++) {
                int8x16_t w0, w1;
                k_chunk(t, x[i], ch, &w0, &w1);
                for (int j = 0; j < NR; j++) {
                    if (k_sub16(t)) {
                        s[i][j] = vmlaq_n_s32(s[i][j], dot16(vdupq_n_s32(0), w0, a0[j]), sc[i].sc[2 * ch]);
                        s[i][j] = vmlaq_n_s32(s[i][j], dot16(vdupq_n_s32(0), w1, a1[j]), sc[i].sc[2 * ch + 1]);
                    } else {
                        s[i][j] = vmlaq_n_s32(s[i][j], dot32(w0, w1, a0[j], a1[j]), sc[i].sc[ch]);
                    }
                }
            }
        }
        int32x4_t ms[4][4];
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) ms[i][j] = k_min(t) ? k_minsum(t, &sc[i], y[j]) : vdupq_n_s32(0);
        if (NR > 1) {
            for (int i = 0; i < MR; i++)
                acc[i] = vaddq_f32(acc[i], k_term(t, vdupq_n_f32(dw[i]), vdupq_n_f32(mw[i]), vld1q_f32(da),
                                                  QUAD_J(s, i, NR), QUAD_J(ms, i, NR)));
        } else {
            acc[0] = vaddq_f32(acc[0], k_term(t, vld1q_f32(dw), vld1q_f32(mw), vdupq_n_f32(da[0]), QUAD_I(s, MR),
                                              QUAD_I(ms, MR)));
        }
    }
    store_tile(MR, NR, acc, c, ldc);
}

/* ---- the tile walk ------------------------------------------------------------------ */

/* Groups of 4 activation rows take 2 weight rows per tile (lanes over j; 8 int32 pair
 * accumulators plus 8 activation registers); a lone activation row takes 4 weight rows
 * (lanes over i). Constant sizes let each tile unroll into registers. */
#define TILE(F, MR, NR) F(t, MR, NR, nb, ai, lda, bj, ldb, cj + i, ldc)
#define DEFINE_WALK(walk, tile, BLOCK)                                                                        \
    INLINE void walk(wk_type t, int64_t k, int m, int n, const void *a, size_t lda, const void *b, size_t ldb, \
                     float *c, size_t ldc) {                                                                  \
        const int64_t nb = k / (BLOCK);                                                                       \
        for (int j = 0; j < n; j += 4) {                                                                      \
            const int nr = imin(4, n - j);                                                                    \
            const char *bj = (const char *)b + (size_t)j * ldb;                                               \
            float *cj = c + (size_t)j * ldc;                                                                  \
            const int mstep = nr == 1 ? 4 : 2;                                                                \
            for (int i = 0; i < m; i += mstep) {                                                              \
                const char *ai = (const char *)a + (size_t)i * lda;                                           \
                switch (imin(mstep, m - i) * 8 + nr) {                                                        \
                case 4 * 8 + 1: TILE(tile, 4, 1); break;                                                      \
                case 3 * 8 + 1: TILE(tile, 3, 1); break;                                                      \
                case 2 * 8 + 1: TILE(tile, 2, 1); break;                                                      \
                case 1 * 8 + 1: TILE(tile, 1, 1); break;                                                      \
                case 2 * 8 + 4: TILE(tile, 2, 4); break;                                                      \
                case 2 * 8 + 3: TILE(tile, 2, 3); break;                                                      \
                case 2 * 8 + 2: TILE(tile, 2, 2); break;                                                      \
                case 1 * 8 + 4: TILE(tile, 1, 4); break;                                                      \
                case 1 * 8 + 3: TILE(tile, 1, 3); break;                                                      \
                default: TILE(tile, 1, 2); break;                                                             \
                }                                                                                             \
            }                                                                                                 \
        }                                                                                                     \
    }
DEFINE_WALK(legacy_walk, legacy_tile, QK_LEGACY)
DEFINE_WALK(k_walk, k_tile, QK_K)

#define LEGACY_QGEMM(T, s)                                                                                    \
    QGEMM_FN(s)(int64_t k, int m, int n, const void *a, size_t lda, const void *b, size_t ldb, float *c,      \
                size_t ldc) {                                                                                 \
        legacy_walk(WK_TYPE_##T, k, m, n, a, lda, b, ldb, c, ldc);                                            \
    }
#define K_QGEMM(T, s)                                                                                         \
    QGEMM_FN(s)(int64_t k, int m, int n, const void *a, size_t lda, const void *b, size_t ldb, float *c,      \
                size_t ldc) {                                                                                 \
        k_walk(WK_TYPE_##T, k, m, n, a, lda, b, ldb, c, ldc);                                                 \
    }
LEGACY_QGEMM(Q4_0, q4_0)
LEGACY_QGEMM(Q4_1, q4_1)
LEGACY_QGEMM(Q5_0, q5_0)
LEGACY_QGEMM(Q5_1, q5_1)
LEGACY_QGEMM(Q8_0, q8_0)
LEGACY_QGEMM(Q8_1, q8_1)
LEGACY_QGEMM(IQ4_NL, iq4_nl)
K_QGEMM(Q2_K, q2_K)
K_QGEMM(Q3_K, q3_K)
K_QGEMM(Q4_K, q4_K)
K_QGEMM(Q5_K, q5_K)
K_QGEMM(Q6_K, q6_K)
K_QGEMM(IQ4_XS, iq4_xs)

#if WK_NEON_DOTPROD
#define WK_NEON_ENTRY(T, s) [WK_TYPE_##T] = qgemm_##s##_dotprod,
const wk_qgemm_fn wk_neon_qgemm_dotprod[WK_TYPE_COUNT] = {WK_NEON_QTYPES(WK_NEON_ENTRY)};
#endif
