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

/* ======== prompt panels (isa.h qpanel) for the 32-element blocks (legacy types; Q4_K and
 * Q6_K by their 32-element sub-blocks)
 * The tile above reduces every block's 8 partial int32 lanes horizontally, which leaves the
 * shuffle port, not VPDPBUSD, the limit. Here a panel of 16 weight rows is repacked once
 * per k chunk so lane r of a vector holds 4 consecutive weight bytes of row r; four
 * bytes of one activation row, broadcast from memory, then feed 16 rows' sums per
 * VPDPBUSD with no reduction at all. Weights are stored as w + 128 (unsigned), and each
 * block's sum starts at the panel row's c = -128 * sum(y), so the int32 lane is exactly
 * the block's integer dot; it is scaled by d_w d_a in f32 and summed over blocks in order. */

#define PN_R 16  /* weight rows per panel, one per int32 lane */
#define PN_KC 32 /* blocks per k chunk: 16 KiB of packed weights, resident in L1 */

typedef struct {
    uint8_t u[PN_KC][8][64]; /* block, group of 4 elements, row */
    float d[PN_KC][PN_R], m[PN_KC][PN_R]; /* Q6_K: m is the scale of the block's second half */
} pn_panel;

/* 16 vectors of 16 dwords transposed: v[k] lane r <- v[r] lane k */
QI void pn_transpose16(__m512i *v) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(v[i], v[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(v[i], v[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) { /* v[i + c]: rows i..i+3 of column c of each 128-bit lane */
        v[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        v[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        v[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        v[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int c = 0; c < 4; c++) {
        const __m512i a = _mm512_shuffle_i32x4(v[c], v[4 + c], 0x44), b = _mm512_shuffle_i32x4(v[c], v[4 + c], 0xEE);
        const __m512i e = _mm512_shuffle_i32x4(v[8 + c], v[12 + c], 0x44), f = _mm512_shuffle_i32x4(v[8 + c], v[12 + c], 0xEE);
        t[c] = _mm512_shuffle_i32x4(a, e, 0x88);
        t[4 + c] = _mm512_shuffle_i32x4(a, e, 0xDD);
        t[8 + c] = _mm512_shuffle_i32x4(b, f, 0x88);
        t[12 + c] = _mm512_shuffle_i32x4(b, f, 0xDD);
    }
    for (int i = 0; i < 16; i++) v[i] = t[i];
}

/* the f16 field at off of block ib of the 16 rows, as f32 */
QI __m512 pn_h16(const uint8_t *const *rows, size_t o, int off) {
    uint16_t h[16];
    for (int r = 0; r < 16; r++) h[r] = q_rd16(rows[r] + o + off);
    const __m256 lo = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
    const __m256 hi = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + 8)));
    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}

/* blocks b0 .. b0+kc of 16 weight rows into P */
QI void pn_pack(const int T, pn_panel *P, const uint8_t *const *rows, int64_t b0, int kc) {
    const lg_layout L = lg_of(T);
    /* lg_unpack gives u with w = u - off (QW_OFFSET), w = u (QW_UNSIGNED) or w (QW_SIGNED) */
    const __m512i bias = _mm512_set1_epi8((char)(L.kind == QW_OFFSET ? 128 - L.off : 128));
    for (int ib = 0; ib < kc; ib += 2) {
        const int two = ib + 1 < kc;
        const size_t o0 = (size_t)(b0 + ib) * L.bs, o1 = two ? o0 + L.bs : o0;
        __m512i v[16];
        for (int r = 0; r < 16; r++) v[r] = _mm512_add_epi8(lg_unpack(T, rows[r] + o0, rows[r] + o1), bias);
        pn_transpose16(v);
        for (int g = 0; g < 8; g++) _mm512_storeu_si512((void *)P->u[ib][g], v[g]);
        if (two)
            for (int g = 0; g < 8; g++) _mm512_storeu_si512((void *)P->u[ib + 1][g], v[8 + g]);
        _mm512_storeu_ps(P->d[ib], pn_h16(rows, o0, 0));
        if (two) _mm512_storeu_ps(P->d[ib + 1], pn_h16(rows, o1, 0));
        if (L.has_min) {
            _mm512_storeu_ps(P->m[ib], pn_h16(rows, o0, 2));
            if (two) _mm512_storeu_ps(P->m[ib + 1], pn_h16(rows, o1, 2));
        }
    }
}

/* Q4_K (and Q5_K): the 32-blocks b0 .. b0+kc (kc a multiple of 8: whole super-blocks) of 16 rows.
 * Sub-blocks 2p and 2p+1 are the low and high nibbles of the same 32 bytes, so one load per
 * row gives both (one zmm: 2p in the low half, 2p+1 in the high half, as pn_pack's pairs);
 * the panel's d is d * sc and its m is -dmin * m, so the Q4_1 arithmetic applies unchanged. */
/* Q5_K is Q4_K plus a fifth bit per element: bit j of qh[l] for element 32 j + l. */
QI void pk4_pack(const int T, pn_panel *P, const uint8_t *const *rows, int64_t b0, int kc) {
    const __m512i bias = _mm512_set1_epi8((char)128), lo4 = _mm512_set1_epi8(0x0F), one = _mm512_set1_epi8(1);
    const size_t bs = T == WK_TYPE_Q5_K ? sizeof(wk_block_q5_K) : sizeof(wk_block_q4_K);
    for (int ib = 0; ib < kc; ib += 2) {
        const int64_t b = b0 + ib, sb = b / 8, j = b % 8; /* j even */
        __m512i v[16];
        for (int r = 0; r < 16; r++) {
            const uint8_t *blk = rows[r] + (size_t)sb * bs;
            const uint8_t *qs = T == WK_TYPE_Q5_K ? ((const wk_block_q5_K *)blk)->qs : ((const wk_block_q4_K *)blk)->qs;
            const __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * (j / 2)));
            const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1);
            __m512i u = _mm512_and_si512(both, lo4);
            if (T == WK_TYPE_Q5_K) { /* bits j and j + 1 of qh: the two sub-blocks' fifth bits */
                const __m256i qh = _mm256_loadu_si256((const __m256i *)((const wk_block_q5_K *)blk)->qh);
                const __m512i h = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_srli_epi16(qh, (int)j)),
                                                     _mm256_srli_epi16(qh, (int)j + 1), 1);
                u = _mm512_or_si512(u, _mm512_slli_epi16(_mm512_and_si512(h, one), 4));
            }
            v[r] = _mm512_add_epi8(u, bias);
        }
        pn_transpose16(v);
        for (int g = 0; g < 8; g++) _mm512_storeu_si512((void *)P->u[ib][g], v[g]);
        for (int g = 0; g < 8; g++) _mm512_storeu_si512((void *)P->u[ib + 1][g], v[8 + g]);
        for (int r = 0; r < 16; r++) { /* d, dmin and scales sit at the same offsets in both types */
            const wk_block_q4_K *x = (const wk_block_q4_K *)(rows[r] + (size_t)sb * bs);
            const float d = wk_h2f(x->d), dmin = wk_h2f(x->dmin);
            for (int h = 0; h < 2; h++) {
                uint8_t sc, m;
                wk_scale_min_k4((int)j + h, x->scales, &sc, &m);
                P->d[ib + h][r] = d * sc, P->m[ib + h][r] = -dmin * m;
            }
        }
    }
}

/* IQ4_XS: sub-block i is an IQ4_NL-style 32-block (qs[16 i ..], low nibbles first) with
 * the scale d * (6-bit ls - 32); no min. */
QI void pkxs_pack(pn_panel *P, const uint8_t *const *rows, int64_t b0, int kc) {
    const __m512i bias = _mm512_set1_epi8((char)128);
    for (int ib = 0; ib < kc; ib += 2) {
        const int64_t b = b0 + ib, sb = b / 8, j = b % 8; /* j even */
        __m512i v[16];
        for (int r = 0; r < 16; r++) {
            const wk_block_iq4_xs *x = (const wk_block_iq4_xs *)rows[r] + sb;
            v[r] = _mm512_add_epi8(q_iq4_lookup(q_nibbles_2x16(x->qs + 16 * j, x->qs + 16 * (j + 1))), bias);
        }
        pn_transpose16(v);
        for (int g = 0; g < 8; g++) _mm512_storeu_si512((void *)P->u[ib][g], v[g]);
        for (int g = 0; g < 8; g++) _mm512_storeu_si512((void *)P->u[ib + 1][g], v[8 + g]);
        for (int r = 0; r < 16; r++) {
            const wk_block_iq4_xs *x = (const wk_block_iq4_xs *)rows[r] + sb;
            const float d = wk_h2f(x->d);
            for (int h = 0; h < 2; h++) {
                const int i = (int)j + h;
                const int ls = ((x->scales_l[i / 2] >> (4 * (i % 2))) & 0x0F) | (((x->scales_h >> (2 * i)) & 3) << 4);
                P->d[ib + h][r] = d * (float)(ls - 32);
            }
        }
    }
}

/* Q6_K: like pk4_pack; a 32-block t of a 128-element half h takes its low 4 bits from ql
 * (bytes 32 (t & 1) on, high nibbles for t >= 2) and 2 bits from qh at bit 2t, giving
 * q in 0..63 and w = q - 32, held as w + 128; its halves have their own scales, so the
 * panel keeps d * sc for each (d and m). */
QI __m256i pk6_block(const wk_block_q6_K *x, int b) {
    const int h = b / 4, t = b % 4;
    const __m256i ql = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32 * (t & 1)));
    const __m256i qh = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));
    const __m256i lo = _mm256_and_si256(t < 2 ? ql : _mm256_srli_epi16(ql, 4), _mm256_set1_epi8(0x0F));
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * t), _mm256_set1_epi8(3));
    return _mm256_add_epi8(_mm256_or_si256(lo, _mm256_slli_epi16(hi, 4)), _mm256_set1_epi8(96)); /* q - 32 + 128 */
}

QI void pk6_pack(pn_panel *P, const uint8_t *const *rows, int64_t b0, int kc) {
    for (int ib = 0; ib < kc; ib += 2) {
        const int64_t b = b0 + ib, sb = b / 8, j = b % 8; /* j even */
        __m512i v[16];
        for (int r = 0; r < 16; r++) {
            const wk_block_q6_K *x = (const wk_block_q6_K *)rows[r] + sb;
            v[r] = _mm512_inserti64x4(_mm512_castsi256_si512(pk6_block(x, (int)j)), pk6_block(x, (int)j + 1), 1);
        }
        pn_transpose16(v);
        for (int g = 0; g < 8; g++) _mm512_storeu_si512((void *)P->u[ib][g], v[g]);
        for (int g = 0; g < 8; g++) _mm512_storeu_si512((void *)P->u[ib + 1][g], v[8 + g]);
        for (int r = 0; r < 16; r++) {
            const wk_block_q6_K *x = (const wk_block_q6_K *)rows[r] + sb;
            const float d = wk_h2f(x->d);
            for (int h = 0; h < 2; h++)
                P->d[ib + h][r] = d * x->scales[2 * (j + h)], P->m[ib + h][r] = d * x->scales[2 * (j + h) + 1];
        }
    }
}

/* the first mr of 16 floats (the last panel of a tile may be short) */
QI __m512 pn_ld(const float *c, int mr) {
    if (mr == PN_R) return _mm512_loadu_ps(c);
    float t[PN_R] = {0};
    for (int r = 0; r < mr; r++) t[r] = c[r];
    return _mm512_loadu_ps(t);
}
QI void pn_st(float *c, __m512 v, int mr) {
    if (mr == PN_R) {
        _mm512_storeu_ps(c, v);
        return;
    }
    float t[PN_R];
    _mm512_storeu_ps(t, v);
    for (int r = 0; r < mr; r++) c[r] = t[r];
}

QI __m512i pn_b4(const int8_t *p) { int32_t v; memcpy(&v, p, 4); return _mm512_set1_epi32(v); }

/* Q6_K against nc activation rows: each block's halves summed separately (s0: elements
 * 0..15 from c16, s1: 16..31 from c - c16) and scaled by their own d * sc */
QI void pk6_cols(const int NC, const pn_panel *P, int kc, const uint8_t *b, size_t ldb, int64_t k, int64_t b0,
                 float *c, size_t ldc, int mr, int first) {
    __m512 acc[4];
    for (int j = 0; j < NC; j++) acc[j] = first ? _mm512_setzero_ps() : pn_ld(c + (size_t)j * ldc, mr);
    for (int ib = 0; ib < kc; ib++) {
        __m512i w[8];
        for (int g = 0; g < 8; g++) w[g] = _mm512_loadu_si512((const void *)P->u[ib][g]);
        const __m512 d0 = _mm512_loadu_ps(P->d[ib]), d1 = _mm512_loadu_ps(P->m[ib]);
        for (int j = 0; j < NC; j++) {
            const int8_t *y = (const int8_t *)(b + (size_t)j * ldb) + (b0 + ib) * 32;
            const wk_qpanel_blk *bl = (const wk_qpanel_blk *)(b + (size_t)j * ldb + k) + b0 + ib;
            __m512i s0 = _mm512_set1_epi32(bl->c16), s1 = _mm512_set1_epi32(bl->c - bl->c16);
            for (int g = 0; g < 4; g++) {
                s0 = _mm512_dpbusd_epi32(s0, w[g], pn_b4(y + 4 * g));
                s1 = _mm512_dpbusd_epi32(s1, w[g + 4], pn_b4(y + 16 + 4 * g));
            }
            const __m512 da = _mm512_set1_ps(bl->d);
            acc[j] = _mm512_fmadd_ps(q_cvt_ps(s0), _mm512_mul_ps(d0, da), acc[j]);
            acc[j] = _mm512_fmadd_ps(q_cvt_ps(s1), _mm512_mul_ps(d1, da), acc[j]);
        }
    }
    for (int j = 0; j < NC; j++) pn_st(c + (size_t)j * ldc, acc[j], mr);
}


/* NC activation rows against one packed panel over kc blocks from block b0; c holds the
 * running sums of the first mr of the 16 rows (the rest untouched), zero-started when first. Two
 * int32 chains per activation row keep VPDPBUSD's latency covered. */
QI void pn_cols(const int T, const int NC, const pn_panel *P, int kc, const uint8_t *b, size_t ldb, int64_t k,
                int64_t b0, float *c, size_t ldc, int mr, int first) {
    const lg_layout L = T == WK_TYPE_Q4_K || T == WK_TYPE_Q5_K ? (lg_layout){.has_min = 1}
                        : T == WK_TYPE_IQ4_XS ? (lg_layout){.has_min = 0} : lg_of(T);
    __m512 acc[4];
    for (int j = 0; j < NC; j++) acc[j] = first ? _mm512_setzero_ps() : pn_ld(c + (size_t)j * ldc, mr);
    for (int ib = 0; ib < kc; ib++) {
        __m512i w[8];
        for (int g = 0; g < 8; g++) w[g] = _mm512_loadu_si512((const void *)P->u[ib][g]);
        const __m512 dw = _mm512_loadu_ps(P->d[ib]);
        for (int j = 0; j < NC; j++) {
            const int8_t *y = (const int8_t *)(b + (size_t)j * ldb) + (b0 + ib) * 32;
            const wk_qpanel_blk *bl = (const wk_qpanel_blk *)(b + (size_t)j * ldb + k) + b0 + ib;
            __m512i s0 = _mm512_set1_epi32(bl->c), s1 = _mm512_setzero_si512();
            for (int g = 0; g < 8; g += 2) {
                s0 = _mm512_dpbusd_epi32(s0, w[g], pn_b4(y + 4 * g));
                s1 = _mm512_dpbusd_epi32(s1, w[g + 1], pn_b4(y + 4 * g + 4));
            }
            acc[j] = _mm512_fmadd_ps(q_cvt_ps(_mm512_add_epi32(s0, s1)), _mm512_mul_ps(dw, _mm512_set1_ps(bl->d)), acc[j]);
            if (L.has_min) acc[j] = _mm512_fmadd_ps(_mm512_loadu_ps(P->m[ib]), _mm512_set1_ps(bl->s), acc[j]);
        }
    }
    for (int j = 0; j < NC; j++) pn_st(c + (size_t)j * ldc, acc[j], mr);
}

QI void pn_gemm(const int T, int64_t k, int m, int n, const void *va, size_t lda, const void *vb, size_t ldb, float *c,
                size_t ldc) {
    const uint8_t *a = va, *b = vb;
    const int64_t nb = k / QK_LEGACY;
    pn_panel P;
    for (int64_t b0 = 0; b0 < nb; b0 += PN_KC) {
        const int kc = (int)(nb - b0 < PN_KC ? nb - b0 : PN_KC);
        for (int i = 0; i < m; i += PN_R) {
            const int mr = m - i < PN_R ? m - i : PN_R;
            const uint8_t *rows[PN_R];
            for (int r = 0; r < PN_R; r++) rows[r] = a + (size_t)(i + (r < mr ? r : mr - 1)) * lda;
            if (T == WK_TYPE_Q4_K || T == WK_TYPE_Q5_K) pk4_pack(T, &P, rows, b0, kc);
            else if (T == WK_TYPE_Q6_K) pk6_pack(&P, rows, b0, kc);
            else if (T == WK_TYPE_IQ4_XS) pkxs_pack(&P, rows, b0, kc);
            else pn_pack(T, &P, rows, b0, kc);
            int j = 0;
            if (T == WK_TYPE_Q6_K) {
                for (; j + 4 <= n; j += 4)
                    pk6_cols(4, &P, kc, b + (size_t)j * ldb, ldb, k, b0, c + (size_t)j * ldc + i, ldc, mr, b0 == 0);
                for (; j < n; j++)
                    pk6_cols(1, &P, kc, b + (size_t)j * ldb, ldb, k, b0, c + (size_t)j * ldc + i, ldc, mr, b0 == 0);
                continue;
            }
            for (; j + 4 <= n; j += 4)
                pn_cols(T, 4, &P, kc, b + (size_t)j * ldb, ldb, k, b0, c + (size_t)j * ldc + i, ldc, mr, b0 == 0);
            for (; j < n; j++)
                pn_cols(T, 1, &P, kc, b + (size_t)j * ldb, ldb, k, b0, c + (size_t)j * ldc + i, ldc, mr, b0 == 0);
        }
    }
}

#define WK_QPANEL_KERNEL(FN, T) \
    static void FN(int64_t k, int m, int n, const void *a, size_t lda, const void *b, size_t ldb, float *c, size_t ldc) { \
        pn_gemm(WK_TYPE_##T, k, m, n, a, lda, b, ldb, c, ldc);                                                        \
    }
WK_QPANEL_KERNEL(qpanel_q4_0, Q4_0)
WK_QPANEL_KERNEL(qpanel_q4_1, Q4_1)
WK_QPANEL_KERNEL(qpanel_q5_0, Q5_0)
WK_QPANEL_KERNEL(qpanel_q5_1, Q5_1)
WK_QPANEL_KERNEL(qpanel_q8_0, Q8_0)
WK_QPANEL_KERNEL(qpanel_iq4_nl, IQ4_NL)
WK_QPANEL_KERNEL(qpanel_q4_K, Q4_K)
WK_QPANEL_KERNEL(qpanel_q5_K, Q5_K)
WK_QPANEL_KERNEL(qpanel_q6_K, Q6_K)
WK_QPANEL_KERNEL(qpanel_iq4_xs, IQ4_XS)

/* by weight type; isa.c copies these into the avx512 set's qpanel */
const wk_qgemm_fn wk_qpanel_avx512vnni[WK_TYPE_COUNT] = {
    [WK_TYPE_Q4_0] = qpanel_q4_0, [WK_TYPE_Q4_1] = qpanel_q4_1, [WK_TYPE_Q5_0] = qpanel_q5_0,
    [WK_TYPE_Q5_1] = qpanel_q5_1, [WK_TYPE_Q8_0] = qpanel_q8_0, [WK_TYPE_IQ4_NL] = qpanel_iq4_nl,
    [WK_TYPE_Q4_K] = qpanel_q4_K, [WK_TYPE_Q5_K] = qpanel_q5_K, [WK_TYPE_Q6_K] = qpanel_q6_K,
    [WK_TYPE_IQ4_XS] = qpanel_iq4_xs,
};

/* by weight type; isa.c copies the non-NULL entries over the avx512 set's */
const wk_qgemm_fn wk_qgemm_avx512vnni[WK_TYPE_COUNT] = {
    [WK_TYPE_Q4_0] = qgemm_q4_0, [WK_TYPE_Q4_1] = qgemm_q4_1, [WK_TYPE_Q5_0] = qgemm_q5_0,
    [WK_TYPE_Q5_1] = qgemm_q5_1, [WK_TYPE_Q8_0] = qgemm_q8_0, [WK_TYPE_Q8_1] = qgemm_q8_1,
    [WK_TYPE_IQ4_NL] = qgemm_iq4_nl, [WK_TYPE_Q2_K] = qgemm_q2_K, [WK_TYPE_Q3_K] = qgemm_q3_K,
    [WK_TYPE_Q4_K] = qgemm_q4_K, [WK_TYPE_Q5_K] = qgemm_q5_K, [WK_TYPE_Q6_K] = qgemm_q6_K,
    [WK_TYPE_IQ4_XS] = qgemm_iq4_xs,
};
