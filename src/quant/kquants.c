/* kquants.c — the 256-element super-block types Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K and
 * IQ4_XS (plus the IQ4 quantizer shared with IQ4_NL): block decode, the reference encoders
 * of formats.md §2.4 (llama.cpp's *_ref algorithms without an importance matrix: per
 * sub-block fits, then sub-scales quantized against one or two f16 super-scales, then every
 * element re-quantized with the *stored* scales) and the scalar dots with Q8_K (§2.5). */
#include <math.h>

#include "blocks.h"

#define GROUP_MAX_EPS 1e-15f

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Fits x ~ scale*L + min with L in 0..nmax and min <= 0, weights w: a start from the
 * range, then nstep+1 candidate inverse scales (nmax + rmin + rdelta*is)/(max - min), each
 * followed by the closed-form weighted least squares for (scale, min); keeps the candidate
 * of lowest weighted error (|err| when use_mad, else err^2). Returns scale, *the_min = -min. */
static float make_qkx2_quants(int n, int nmax, const float *x, const float *w, uint8_t *L,
                              float *the_min, uint8_t *Laux, float rmin, float rdelta, int nstep,
                              int use_mad) {
    float min = x[0], max = x[0];
    float sum_w = w[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; i++) L[i] = 0;
        *the_min = -min;
        return 0.0f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        int l = clampi(wk_nearest_int(iscale * (x[i] - min)), 0, nmax);
        L[i] = (uint8_t)l;
        float diff = scale * L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error += w[i] * diff;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = clampi(wk_nearest_int(iscale * (x[i] - min)), 0, nmax);
            Laux[i] = (uint8_t)l;
            sum_l += w[i] * l;
            sum_l2 += w[i] * l * l;
            sum_xl += w[i] * l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                cur_error += w[i] * diff;
            }
            if (cur_error < best_error) {
                for (int i = 0; i < n; i++) L[i] = Laux[i];
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* Symmetric fit with levels -nmax..nmax-1 and weights x^2: starts from -nmax/max (max the
 * signed extreme), then up to 5 rounds of moving single elements to the level that improves
 * (sum w x l)^2 / (sum w l^2). L gets l + nmax; returns the scale. */
static float make_q3_quants(int n, int nmax, const float *x, uint8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) amax = fabsf(x[i]), max = x[i];
    }
    if (amax < GROUP_MAX_EPS) {
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.0f;
    }
    const float iscale = -nmax / max;
    int8_t l8[QK_K];
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = clampi(wk_nearest_int(iscale * x[i]), -nmax, nmax - 1);
        l8[i] = (int8_t)l;
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int itry = 0; itry < 5; itry++) {
        int n_changed = 0;
        for (int i = 0; i < n; i++) {
            float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * l8[i];
            if (slx > 0) {
                float sl2 = suml2 - w * l8[i] * l8[i];
                int new_l = clampi(wk_nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
                if (new_l != l8[i]) {
                    slx += w * x[i] * new_l;
                    sl2 += w * new_l * new_l;
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        l8[i] = (int8_t)new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        n_changed++;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    for (int i = 0; i < n; i++) L[i] = (uint8_t)(l8[i] + nmax);
    return sumlx / suml2;
}

/* Symmetric fit with levels -nmax..nmax-1, weights x^2: inverse scales -(nmax + 0.1 is)/max
 * for is = -9..9, keeping the one maximizing (sum w x l)^2 / (sum w l^2). L gets l + nmax. */
static float make_qx_quants(int n, int nmax, const float *x, uint8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) amax = fabsf(x[i]), max = x[i];
    }
    if (amax < GROUP_MAX_EPS) {
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.0f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = clampi(wk_nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (uint8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = clampi(wk_nearest_int(iscale * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++)
                L[i] = (uint8_t)(nmax + clampi(wk_nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* The "2-bit plane layout" (formats.md §2.3): element 128h + 32t + l is bits 2t..2t+1 of
 * qs[32h + l]. Used by Q2_K and Q3_K. */
static void pack_2bit_planes(const uint8_t *L, uint8_t *qs) {
    for (int h = 0; h < 2; h++)
        for (int l = 0; l < 32; l++) {
            const uint8_t *e = L + 128 * h + l;
            qs[32 * h + l] = (uint8_t)(e[0] | (e[32] << 2) | (e[64] << 4) | (e[96] << 6));
        }
}
static inline int plane2(const uint8_t *qs, int e) {
    return (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
}

/* ---- Q2_K: x = d sc_j q - dmin m_j, 16 sub-blocks of 16 ------------------------------ */
void wk_q2_K_decode(const void *blk, float *y) {
    const wk_block_q2_K *b = blk;
    const float d = wk_h2f(b->d), dmin = wk_h2f(b->dmin);
    for (int j = 0; j < 16; j++) {
        const float dl = d * (b->scales[j] & 0x0F), ml = dmin * (b->scales[j] >> 4);
        for (int l = 0; l < 16; l++) y[16 * j + l] = dl * plane2(b->qs, 16 * j + l) - ml;
    }
}
void wk_q2_K_encode(const float *x, void *blk) {
    wk_block_q2_K *b = blk;
    uint8_t L[QK_K], Laux[16];
    float w[16], scales[16], mins[16];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 16; j++) {
        for (int l = 0; l < 16; l++) w[l] = fabsf(x[16 * j + l]);
        scales[j] = make_qkx2_quants(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, 1);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
        const float iscale = 15.0f / max_scale;
        for (int j = 0; j < 16; j++) b->scales[j] = (uint8_t)wk_nearest_int(iscale * scales[j]);
        b->d = wk_f2h(max_scale / 15.0f);
    } else {
        for (int j = 0; j < 16; j++) b->scales[j] = 0;
        b->d = wk_f2h(0.0f);
    }
    if (max_min > 0) {
        const float iscale = 15.0f / max_min;
        for (int j = 0; j < 16; j++) b->scales[j] |= (uint8_t)(wk_nearest_int(iscale * mins[j]) << 4);
        b->dmin = wk_f2h(max_min / 15.0f);
    } else {
        b->dmin = wk_f2h(0.0f);
    }
    for (int j = 0; j < 16; j++) {
        const float d = wk_h2f(b->d) * (b->scales[j] & 0x0F);
        if (!d) continue; /* keeps the fit's levels; they decode to -dmin m anyway */
        const float dm = wk_h2f(b->dmin) * (b->scales[j] >> 4);
        for (int i = 0; i < 16; i++)
            L[16 * j + i] = (uint8_t)clampi(wk_nearest_int((x[16 * j + i] + dm) / d), 0, 3);
    }
    pack_2bit_planes(L, b->qs);
}

/* ---- Q3_K: x = d (s6_j - 32) (q - 4), 16 sub-blocks of 16 ---------------------------- */
static int q3_K_scale(const uint8_t *sc, int j) {
    int lo = j < 8 ? sc[j] & 0x0F : sc[j - 8] >> 4;
    int hi = (sc[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}
void wk_q3_K_decode(const void *blk, float *y) {
    const wk_block_q3_K *b = blk;
    const float d = wk_h2f(b->d);
    for (int j = 0; j < 16; j++) {
        const float dl = d * q3_K_scale(b->scales, j);
        for (int l = 0; l < 16; l++) {
            const int e = 16 * j + l;
            const int hb = (b->hmask[e % 32] >> (e / 32)) & 1;
            y[e] = dl * (plane2(b->qs, e) - (hb ? 0 : 4));
        }
    }
}
void wk_q3_K_encode(const float *x, void *blk) {
    wk_block_q3_K *b = blk;
    uint8_t L[QK_K];
    float scales[16];
    float max_scale = 0, amax = 0;
    for (int j = 0; j < 16; j++) {
        scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
        if (fabsf(scales[j]) > amax) amax = fabsf(scales[j]), max_scale = scales[j];
    }
    memset(b->scales, 0, sizeof b->scales);
    if (max_scale) {
        const float iscale = -32.0f / max_scale;
        for (int j = 0; j < 16; j++) {
            int l = clampi(wk_nearest_int(iscale * scales[j]), -32, 31) + 32;
            if (j < 8) b->scales[j] = (uint8_t)(l & 0x0F);
            else b->scales[j - 8] |= (uint8_t)((l & 0x0F) << 4);
            b->scales[8 + j % 4] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
        }
        b->d = wk_f2h(1 / iscale);
    } else {
        b->d = wk_f2h(0.0f);
    }
    for (int j = 0; j < 16; j++) {
        const float d = wk_h2f(b->d) * q3_K_scale(b->scales, j);
        if (!d) continue;
        for (int i = 0; i < 16; i++)
            L[16 * j + i] = (uint8_t)(clampi(wk_nearest_int(x[16 * j + i] / d), -4, 3) + 4);
    }
    memset(b->hmask, 0, sizeof b->hmask);
    for (int e = 0; e < QK_K; e++) {
        if (L[e] > 3) {
            b->hmask[e % 32] |= (uint8_t)(1 << (e / 32));
            L[e] -= 4;
        }
    }
    pack_2bit_planes(L, b->qs);
}

/* ---- Q4_K / Q5_K: x = d sc_j q - dmin m_j, 8 sub-blocks of 32 ------------------------ */
/* Shared encoder front half: per sub-block fit with weights sqrt(mean x^2) + |x|, 6-bit
 * scales and mins against d, dmin, then re-quantization with the stored values to 0..nmax. */
static void q45_K_fit(const float *x, int nmax, float rmin, int nstep, uint16_t *dh, uint16_t *dminh,
                      uint8_t *packed, uint8_t *L) {
    uint8_t Laux[32];
    float w[32], scales[8], mins[8];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        const float *xb = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += xb[l] * xb[l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) w[l] = av_x + fabsf(xb[l]);
        scales[j] = make_qkx2_quants(32, nmax, xb, w, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, 0);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    for (int j = 0; j < 8; j++) {
        uint8_t ls = (uint8_t)clampi(wk_nearest_int(inv_scale * scales[j]), 0, 63);
        uint8_t lm = (uint8_t)clampi(wk_nearest_int(inv_min * mins[j]), 0, 63);
        if (j < 4) {
            packed[j] = ls;
            packed[j + 4] = lm;
        } else {
            packed[j + 4] = (uint8_t)((ls & 0x0F) | ((lm & 0x0F) << 4));
            packed[j - 4] |= (uint8_t)((ls >> 4) << 6);
            packed[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    *dh = wk_f2h(max_scale / 63.0f);
    *dminh = wk_f2h(max_min / 63.0f);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        wk_scale_min_k4(j, packed, &sc, &m);
        const float d = wk_h2f(*dh) * sc;
        if (!d) continue;
        const float dm = wk_h2f(*dminh) * m;
        for (int i = 0; i < 32; i++)
            L[32 * j + i] = (uint8_t)clampi(wk_nearest_int((x[32 * j + i] + dm) / d), 0, nmax);
    }
}

/* low 4 bits of element e: group g = e/64 uses qs[32g..32g+31], low nibbles first */
static inline int q4_K_nibble(const uint8_t *qs, int e) {
    const int r = e % 64, p = qs[32 * (e / 64) + r % 32];
    return r < 32 ? p & 0x0F : p >> 4;
}
static void pack_q4_K_nibbles(const uint8_t *L, uint8_t *qs) {
    for (int g = 0; g < 4; g++)
        for (int l = 0; l < 32; l++)
            qs[32 * g + l] = (uint8_t)((L[64 * g + l] & 0x0F) | ((L[64 * g + l + 32] & 0x0F) << 4));
}

void wk_q4_K_decode(const void *blk, float *y) {
    const wk_block_q4_K *b = blk;
    const float d = wk_h2f(b->d), dmin = wk_h2f(b->dmin);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        wk_scale_min_k4(j, b->scales, &sc, &m);
        const float d1 = d * sc, m1 = dmin * m;
        for (int l = 0; l < 32; l++) y[32 * j + l] = d1 * q4_K_nibble(b->qs, 32 * j + l) - m1;
    }
}
void wk_q4_K_encode(const float *x, void *blk) {
    wk_block_q4_K *b = blk;
    uint8_t L[QK_K];
    memset(b->scales, 0, sizeof b->scales);
    q45_K_fit(x, 15, -1.0f, 20, &b->d, &b->dmin, b->scales, L);
    pack_q4_K_nibbles(L, b->qs);
}

void wk_q5_K_decode(const void *blk, float *y) {
    const wk_block_q5_K *b = blk;
    const float d = wk_h2f(b->d), dmin = wk_h2f(b->dmin);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        wk_scale_min_k4(j, b->scales, &sc, &m);
        const float d1 = d * sc, m1 = dmin * m;
        for (int l = 0; l < 32; l++) {
            const int e = 32 * j + l;
            const int q = q4_K_nibble(b->qs, e) + (((b->qh[e % 32] >> (e / 32)) & 1) << 4);
            y[e] = d1 * q - m1;
        }
    }
}
void wk_q5_K_encode(const float *x, void *blk) {
    wk_block_q5_K *b = blk;
    uint8_t L[QK_K];
    memset(b->scales, 0, sizeof b->scales);
    q45_K_fit(x, 31, -0.5f, 15, &b->d, &b->dmin, b->scales, L);
    memset(b->qh, 0, sizeof b->qh);
    for (int e = 0; e < QK_K; e++)
        if (L[e] > 15) b->qh[e % 32] |= (uint8_t)(1 << (e / 32));
    pack_q4_K_nibbles(L, b->qs);
}

/* ---- Q6_K: x = d sc_j (q - 32), 16 sub-blocks of 16, int8 sub-scales ----------------- */
static inline int q6_K_level(const wk_block_q6_K *b, int e) {
    const int h = e / 128, t = (e % 128) / 32, l = e % 32;
    const uint8_t p = b->ql[64 * h + 32 * (t & 1) + l];
    const int low = t < 2 ? p & 0x0F : p >> 4;
    return low | (((b->qh[32 * h + l] >> (2 * t)) & 3) << 4);
}
void wk_q6_K_decode(const void *blk, float *y) {
    const wk_block_q6_K *b = blk;
    const float d = wk_h2f(b->d);
    for (int e = 0; e < QK_K; e++) y[e] = d * b->scales[e / 16] * (q6_K_level(b, e) - 32);
}
void wk_q6_K_encode(const float *x, void *blk) {
    wk_block_q6_K *b = blk;
    uint8_t L[QK_K];
    float scales[16];
    float max_scale = 0, max_abs_scale = 0;
    for (int j = 0; j < 16; j++) {
        scales[j] = make_qx_quants(16, 32, x + 16 * j, L + 16 * j);
        if (fabsf(scales[j]) > max_abs_scale) max_abs_scale = fabsf(scales[j]), max_scale = scales[j];
    }
    if (max_abs_scale < GROUP_MAX_EPS) {
        memset(b, 0, sizeof *b);
        return;
    }
    const float iscale = -128.0f / max_scale;
    b->d = wk_f2h(1 / iscale);
    for (int j = 0; j < 16; j++) {
        int v = wk_nearest_int(iscale * scales[j]);
        b->scales[j] = (int8_t)(v < 127 ? v : 127);
    }
    for (int j = 0; j < 16; j++) {
        const float d = wk_h2f(b->d) * b->scales[j];
        if (!d) continue;
        for (int i = 0; i < 16; i++)
            L[16 * j + i] = (uint8_t)(clampi(wk_nearest_int(x[16 * j + i] / d), -32, 31) + 32);
    }
    for (int h = 0; h < 2; h++) {
        const uint8_t *Lh = L + 128 * h;
        uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
        for (int l = 0; l < 32; l++) {
            ql[l] = (uint8_t)((Lh[l] & 0x0F) | ((Lh[l + 64] & 0x0F) << 4));
            ql[l + 32] = (uint8_t)((Lh[l + 32] & 0x0F) | ((Lh[l + 96] & 0x0F) << 4));
            qh[l] = (uint8_t)((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) |
                              ((Lh[l + 96] >> 4) << 6));
        }
    }
}

/* ---- Q8_K (activations): x = d q, d f32; bsums = sums of 16 -------------------------- */
void wk_q8_K_decode(const void *blk, float *y) {
    const wk_block_q8_K *b = blk;
    for (int e = 0; e < QK_K; e++) y[e] = b->d * b->qs[e];
}
void wk_q8_K_encode(const float *x, void *blk) {
    wk_block_q8_K *b = blk;
    float max = 0, amax = 0;
    for (int e = 0; e < QK_K; e++) {
        if (fabsf(x[e]) > amax) amax = fabsf(x[e]), max = x[e];
    }
    if (!amax) {
        memset(b, 0, sizeof *b);
        return;
    }
    /* -127/max: the extreme element maps to -127 exactly, d = 1/iscale is negative when max > 0 */
    const float iscale = -127.0f / max;
    for (int e = 0; e < QK_K; e++) {
        int v = wk_nearest_int(iscale * x[e]);
        b->qs[e] = (int8_t)(v < 127 ? v : 127);
    }
    for (int j = 0; j < 16; j++) {
        int s = 0;
        for (int l = 0; l < 16; l++) s += b->qs[16 * j + l];
        b->bsums[j] = (int16_t)s;
    }
    b->d = 1 / iscale;
}

/* ---- IQ4_XS: x = d (ls_i - 32) K[idx], 8 sub-blocks of 32 ---------------------------- */
static inline int iq4_xs_scale(const wk_block_iq4_xs *b, int i) {
    const int lo = (b->scales_l[i / 2] >> (4 * (i % 2))) & 0x0F;
    const int hi = (b->scales_h >> (2 * i)) & 3;
    return (lo | (hi << 4)) - 32;
}
void wk_iq4_xs_decode(const void *blk, float *y) {
    const wk_block_iq4_xs *b = blk;
    const float d = wk_h2f(b->d);
    for (int i = 0; i < 8; i++) {
        const float dl = d * iq4_xs_scale(b, i);
        const uint8_t *qs = b->qs + 16 * i;
        for (int j = 0; j < 16; j++) {
            y[32 * i + j] = dl * wk_kvalues_iq4nl[qs[j] & 0x0F];
            y[32 * i + j + 16] = dl * wk_kvalues_iq4nl[qs[j] >> 4];
        }
    }
}
void wk_iq4_xs_encode(const float *x, void *blk) {
    wk_block_iq4_xs *b = blk;
    /* quantize_row_iq4_xs_ref goes through the model path: 15 candidate scales (ntry = 7) */
    wk_iq4_quantize_impl(QK_K, x, &b->d, b->qs, &b->scales_h, b->scales_l, 7);
}

/* Index of the codebook entry nearest to v (K is sorted); ties go to the upper one. */
static int best_index_iq4(float v) {
    const int8_t *K = wk_kvalues_iq4nl;
    if (v <= K[0]) return 0;
    if (v >= K[15]) return 15;
    int lo = 0, hi = 15;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (v < K[mid]) hi = mid;
        else lo = mid;
    }
    return v - K[hi - 1] < K[hi] - v ? hi - 1 : hi;
}

/* formats.md §2.4 IQ4_NL / IQ4_XS (quantize_row_iq4_nl_impl without an importance matrix):
 * per 32-block weights x^2, a start scale from the signed extreme, a weighted least-squares
 * refinement, and with ntry > 0 the candidates (k + K[0])/max for k = -ntry..ntry. With
 * more than one 32-block (IQ4_XS) the block scales are then quantized to 6 bits against
 * d = -max_scale/32 and every element re-picked with its stored scale. */
void wk_iq4_quantize_impl(int super_block_size, const float *x, uint16_t *dh, uint8_t *q4,
                          uint16_t *scales_h, uint8_t *scales_l, int ntry) {
    const int8_t *K = wk_kvalues_iq4nl;
    const int nb = super_block_size / 32;
    uint8_t L[QK_K];
    float scales[QK_K / 32] = {0};
    float max_scale = 0, amax_scale = 0;
    memset(L, 0, sizeof L); /* an all-zero block keeps index 0 (its scale is 0) */
    for (int ib = 0; ib < nb; ib++) {
        const float *xb = x + 32 * ib;
        uint8_t *Lb = L + 32 * ib;
        float w[32], amax = 0, max = 0;
        for (int j = 0; j < 32; j++) {
            w[j] = xb[j] * xb[j];
            if (fabsf(xb[j]) > amax) amax = fabsf(xb[j]), max = xb[j];
        }
        if (amax < GROUP_MAX_EPS) {
            scales[ib] = 0;
            continue;
        }
        float d = ntry > 0 ? -max / K[0] : max / K[0];
        float id = 1 / d;
        float sumqx = 0, sumq2 = 0;
        for (int j = 0; j < 32; j++) {
            const int l = best_index_iq4(id * xb[j]);
            Lb[j] = (uint8_t)l;
            const float q = K[l];
            sumqx += w[j] * q * xb[j];
            sumq2 += w[j] * q * q;
        }
        d = sumqx / sumq2;
        float best = d * sumqx;
        for (int itry = -ntry; itry <= ntry; itry++) {
            id = (itry + K[0]) / max;
            sumqx = sumq2 = 0;
            for (int j = 0; j < 32; j++) {
                const float q = K[best_index_iq4(id * xb[j])];
                sumqx += w[j] * q * xb[j];
                sumq2 += w[j] * q * q;
            }
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        scales[ib] = d;
        if (fabsf(d) > amax_scale) amax_scale = fabsf(d), max_scale = d;
    }
    if (nb > 1) {
        const float d = -max_scale / 32;
        const float id = d ? 1 / d : 0.0f;
        uint16_t sh = 0;
        *dh = wk_f2h(d);
        for (int ib = 0; ib < nb; ib++) {
            int l = clampi(wk_nearest_int(id * scales[ib]), -32, 31);
            const float dl = d * l;
            const float idl = dl ? 1 / dl : 0.0f;
            for (int j = 0; j < 32; j++) L[32 * ib + j] = (uint8_t)best_index_iq4(idl * x[32 * ib + j]);
            l += 32;
            if (ib % 2 == 0) scales_l[ib / 2] = (uint8_t)(l & 0x0F);
            else scales_l[ib / 2] |= (uint8_t)((l & 0x0F) << 4);
            sh |= (uint16_t)((l >> 4) << (2 * (ib % 8)));
        }
        *scales_h = sh;
    } else {
        *dh = wk_f2h(scales[0]);
        if (ntry > 0) {
            const float id = scales[0] ? 1 / scales[0] : 0.0f;
            for (int j = 0; j < super_block_size; j++) L[j] = (uint8_t)best_index_iq4(id * x[j]);
        }
    }
    for (int i = 0; i < nb; i++)
        for (int j = 0; j < 16; j++) q4[16 * i + j] = (uint8_t)(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
}

/* ---- dot products with Q8_K: per super-block d_a (d_w sum_j sc_j sum q a - dmin sum_j m_j
 * bsum_j), integer sums exact, bsums giving the min term (formats.md §2.5) ------------- */
float wk_q2_K_dot(const void *vx, const void *vy) {
    const wk_block_q2_K *x = vx;
    const wk_block_q8_K *y = vy;
    int isum = 0, msum = 0;
    for (int j = 0; j < 16; j++) {
        int s = 0;
        for (int l = 0; l < 16; l++) s += plane2(x->qs, 16 * j + l) * y->qs[16 * j + l];
        isum += (x->scales[j] & 0x0F) * s;
        msum += (x->scales[j] >> 4) * y->bsums[j];
    }
    return y->d * (wk_h2f(x->d) * (float)isum - wk_h2f(x->dmin) * (float)msum);
}
float wk_q3_K_dot(const void *vx, const void *vy) {
    const wk_block_q3_K *x = vx;
    const wk_block_q8_K *y = vy;
    int isum = 0;
    for (int j = 0; j < 16; j++) {
        int s = 0;
        for (int l = 0; l < 16; l++) {
            const int e = 16 * j + l;
            const int q = plane2(x->qs, e) - (((x->hmask[e % 32] >> (e / 32)) & 1) ? 0 : 4);
            s += q * y->qs[e];
        }
        isum += q3_K_scale(x->scales, j) * s;
    }
    return y->d * wk_h2f(x->d) * (float)isum;
}
float wk_q4_K_dot(const void *vx, const void *vy) {
    const wk_block_q4_K *x = vx;
    const wk_block_q8_K *y = vy;
    int isum = 0, msum = 0;
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        wk_scale_min_k4(j, x->scales, &sc, &m);
        int s = 0;
        for (int l = 0; l < 32; l++) s += q4_K_nibble(x->qs, 32 * j + l) * y->qs[32 * j + l];
        isum += sc * s;
        msum += m * (y->bsums[2 * j] + y->bsums[2 * j + 1]);
    }
    return y->d * (wk_h2f(x->d) * (float)isum - wk_h2f(x->dmin) * (float)msum);
}
float wk_q5_K_dot(const void *vx, const void *vy) {
    const wk_block_q5_K *x = vx;
    const wk_block_q8_K *y = vy;
    int isum = 0, msum = 0;
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        wk_scale_min_k4(j, x->scales, &sc, &m);
        int s = 0;
        for (int l = 0; l < 32; l++) {
            const int e = 32 * j + l;
            s += (q4_K_nibble(x->qs, e) + (((x->qh[e % 32] >> (e / 32)) & 1) << 4)) * y->qs[e];
        }
        isum += sc * s;
        msum += m * (y->bsums[2 * j] + y->bsums[2 * j + 1]);
    }
    return y->d * (wk_h2f(x->d) * (float)isum - wk_h2f(x->dmin) * (float)msum);
}
float wk_q6_K_dot(const void *vx, const void *vy) {
    const wk_block_q6_K *x = vx;
    const wk_block_q8_K *y = vy;
    int isum = 0;
    for (int j = 0; j < 16; j++) {
        int s = 0;
        for (int l = 0; l < 16; l++) s += (q6_K_level(x, 16 * j + l) - 32) * y->qs[16 * j + l];
        isum += x->scales[j] * s;
    }
    return y->d * wk_h2f(x->d) * (float)isum;
}
float wk_iq4_xs_dot(const void *vx, const void *vy) {
    const wk_block_iq4_xs *x = vx;
    const wk_block_q8_K *y = vy;
    int isum = 0;
    for (int i = 0; i < 8; i++) {
        const uint8_t *qs = x->qs + 16 * i;
        const int8_t *a = y->qs + 32 * i;
        int s = 0;
        for (int j = 0; j < 16; j++)
            s += wk_kvalues_iq4nl[qs[j] & 0x0F] * a[j] + wk_kvalues_iq4nl[qs[j] >> 4] * a[j + 16];
        isum += iq4_xs_scale(x, i) * s;
    }
    return y->d * wk_h2f(x->d) * (float)isum;
}
