/* legacy.c — the 32-element block types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 and IQ4_NL:
 * block decode, reference encode (formats.md §2.4, f32 operations in the order given there
 * so the bytes equal gguf-py's and llama.cpp's *_ref quantizers) and the scalar block dot
 * products of §2.5 (exact integer sums, then the f16 scales). Element j of a 4/5-bit block
 * is the low nibble of qs[j] for j < 16 and the high nibble of qs[j-16] otherwise. */
#include <float.h>
#include <math.h>

#include "blocks.h"

const int8_t wk_kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                     1,    13,   25,  38,  53,  69,  89,  113};

static inline uint32_t load_u32le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void store_u32le(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

/* The signed value of largest magnitude (the first one on ties), and the min/max. */
static float signed_absmax(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) amax = fabsf(x[j]), max = x[j];
    }
    return max;
}
static void min_max(const float *x, int n, float *mn, float *mx) {
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < lo) lo = x[j];
        if (x[j] > hi) hi = x[j];
    }
    *mn = lo, *mx = hi;
}

/* ---- Q4_0: x = (q - 8) d ---------------------------------------------------------- */
void wk_q4_0_decode(const void *blk, float *y) {
    const wk_block_q4_0 *b = blk;
    const float d = wk_h2f(b->d);
    for (int j = 0; j < 16; j++) {
        y[j] = (float)((b->qs[j] & 0x0F) - 8) * d;
        y[j + 16] = (float)((b->qs[j] >> 4) - 8) * d;
    }
}
void wk_q4_0_encode(const float *x, void *blk) {
    wk_block_q4_0 *b = blk;
    const float d = signed_absmax(x, 32) / -8.0f; /* the extreme element maps to q = 0 */
    const float id = d ? 1.0f / d : 0.0f;
    b->d = wk_f2h(d);
    for (int j = 0; j < 16; j++) {
        /* x*id is in [-8, 8]: the int8 cast truncates a positive value */
        int q0 = (int8_t)(x[j] * id + 8.5f), q1 = (int8_t)(x[j + 16] * id + 8.5f);
        q0 = q0 < 15 ? q0 : 15, q1 = q1 < 15 ? q1 : 15;
        b->qs[j] = (uint8_t)(q0 | (q1 << 4));
    }
}

/* ---- Q4_1: x = q d + m ------------------------------------------------------------- */
void wk_q4_1_decode(const void *blk, float *y) {
    const wk_block_q4_1 *b = blk;
    const float d = wk_h2f(b->d), m = wk_h2f(b->m);
    for (int j = 0; j < 16; j++) {
        y[j] = (float)(b->qs[j] & 0x0F) * d + m;
        y[j + 16] = (float)(b->qs[j] >> 4) * d + m;
    }
}
void wk_q4_1_encode(const float *x, void *blk) {
    wk_block_q4_1 *b = blk;
    float mn, mx;
    min_max(x, 32, &mn, &mx);
    const float d = (mx - mn) / 15.0f;
    const float id = d ? 1.0f / d : 0.0f;
    b->d = wk_f2h(d);
    b->m = wk_f2h(mn);
    for (int j = 0; j < 16; j++) {
        int q0 = (int8_t)((x[j] - mn) * id + 0.5f), q1 = (int8_t)((x[j + 16] - mn) * id + 0.5f);
        q0 = q0 < 15 ? q0 : 15, q1 = q1 < 15 ? q1 : 15;
        b->qs[j] = (uint8_t)(q0 | (q1 << 4));
    }
}

/* ---- Q5_0: x = (q - 16) d, bit 4 of element j in bit j of the LE u32 qh -------------- */
void wk_q5_0_decode(const void *blk, float *y) {
    const wk_block_q5_0 *b = blk;
    const float d = wk_h2f(b->d);
    const uint32_t qh = load_u32le(b->qh);
    for (int j = 0; j < 16; j++) {
        int q0 = (b->qs[j] & 0x0F) | (int)(((qh >> j) & 1) << 4);
        int q1 = (b->qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
        y[j] = (float)(q0 - 16) * d;
        y[j + 16] = (float)(q1 - 16) * d;
    }
}
void wk_q5_0_encode(const float *x, void *blk) {
    wk_block_q5_0 *b = blk;
    const float d = signed_absmax(x, 32) / -16.0f;
    const float id = d ? 1.0f / d : 0.0f;
    uint32_t qh = 0;
    b->d = wk_f2h(d);
    for (int j = 0; j < 16; j++) {
        int q0 = (int8_t)(x[j] * id + 16.5f), q1 = (int8_t)(x[j + 16] * id + 16.5f);
        q0 = q0 < 31 ? q0 : 31, q1 = q1 < 31 ? q1 : 31;
        b->qs[j] = (uint8_t)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
        qh |= (uint32_t)((q0 >> 4) & 1) << j | (uint32_t)((q1 >> 4) & 1) << (j + 16);
    }
    store_u32le(b->qh, qh);
}

/* ---- Q5_1: x = q d + m --------------------------------------------------------------- */
void wk_q5_1_decode(const void *blk, float *y) {
    const wk_block_q5_1 *b = blk;
    const float d = wk_h2f(b->d), m = wk_h2f(b->m);
    const uint32_t qh = load_u32le(b->qh);
    for (int j = 0; j < 16; j++) {
        int q0 = (b->qs[j] & 0x0F) | (int)(((qh >> j) & 1) << 4);
        int q1 = (b->qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
        y[j] = (float)q0 * d + m;
        y[j + 16] = (float)q1 * d + m;
    }
}
void wk_q5_1_encode(const float *x, void *blk) {
    wk_block_q5_1 *b = blk;
    float mn, mx;
    min_max(x, 32, &mn, &mx);
    const float d = (mx - mn) / 31.0f;
    const float id = d ? 1.0f / d : 0.0f;
    uint32_t qh = 0;
    b->d = wk_f2h(d);
    b->m = wk_f2h(mn);
    for (int j = 0; j < 16; j++) {
        /* no clamp here (as in the reference): (x - min)*id + 0.5 stays below 32 */
        int q0 = (int8_t)((x[j] - mn) * id + 0.5f), q1 = (int8_t)((x[j + 16] - mn) * id + 0.5f);
        b->qs[j] = (uint8_t)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
        qh |= (uint32_t)((q0 >> 4) & 1) << j | (uint32_t)((q1 >> 4) & 1) << (j + 16);
    }
    store_u32le(b->qh, qh);
}

/* ---- Q8_0 / Q8_1: x = q d; Q8_1 also stores s = f16(d * sum q) with the f32 d ---------- */
/* roundf (ties away from zero) without a libm call: this runs on every activation of every
 * quantized matmul. |v| <= 127.5 here, so the truncation and v - t are exact. */
static inline int round_away(float v) {
    const int t = (int)v;
    const float f = v - (float)t;
    return t + (f >= 0.5f) - (f <= -0.5f);
}

static float q8_encode(const float *x, int8_t *qs, int *sum) {
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) { /* = fmaxf(amax, |x|): a NaN is skipped either way */
        const float a = fabsf(x[j]);
        amax = a > amax ? a : amax;
    }
    const float d = amax / 127.0f;
    const float id = d ? 1.0f / d : 0.0f;
    int s = 0;
    for (int j = 0; j < 32; j++) {
        qs[j] = (int8_t)round_away(x[j] * id);
        s += qs[j];
    }
    *sum = s;
    return d;
}
void wk_q8_0_decode(const void *blk, float *y) {
    const wk_block_q8_0 *b = blk;
    const float d = wk_h2f(b->d);
    for (int j = 0; j < 32; j++) y[j] = (float)b->qs[j] * d;
}
void wk_q8_0_encode(const float *x, void *blk) {
    wk_block_q8_0 *b = blk;
    int sum;
    b->d = wk_f2h(q8_encode(x, b->qs, &sum));
}
void wk_q8_1_decode(const void *blk, float *y) {
    const wk_block_q8_1 *b = blk;
    const float d = wk_h2f(b->d);
    for (int j = 0; j < 32; j++) y[j] = (float)b->qs[j] * d;
}
void wk_q8_1_encode(const float *x, void *blk) {
    wk_block_q8_1 *b = blk;
    int sum;
    const float d = q8_encode(x, b->qs, &sum);
    b->d = wk_f2h(d);
    b->s = wk_f2h((float)sum * d);
}

/* ---- IQ4_NL: x = d K[idx] ------------------------------------------------------------ */
void wk_iq4_nl_decode(const void *blk, float *y) {
    const wk_block_iq4_nl *b = blk;
    const float d = wk_h2f(b->d);
    for (int j = 0; j < 16; j++) {
        y[j] = d * (float)wk_kvalues_iq4nl[b->qs[j] & 0x0F];
        y[j + 16] = d * (float)wk_kvalues_iq4nl[b->qs[j] >> 4];
    }
}
void wk_iq4_nl_encode(const float *x, void *blk) {
    wk_block_iq4_nl *b = blk;
    /* quantize_row_iq4_nl_ref: one candidate scale (ntry = -1), weights x^2 */
    wk_iq4_quantize_impl(QK_LEGACY, x, &b->d, b->qs, NULL, NULL, -1);
}

/* ---- dot products with the paired activation block (formats.md §2.5) ----------------- */
float wk_q4_0_dot(const void *vx, const void *vy) {
    const wk_block_q4_0 *x = vx;
    const wk_block_q8_0 *y = vy;
    int sumi = 0;
    for (int j = 0; j < 16; j++)
        sumi += ((x->qs[j] & 0x0F) - 8) * y->qs[j] + ((x->qs[j] >> 4) - 8) * y->qs[j + 16];
    return (wk_h2f(x->d) * wk_h2f(y->d)) * (float)sumi;
}
float wk_q4_1_dot(const void *vx, const void *vy) {
    const wk_block_q4_1 *x = vx;
    const wk_block_q8_1 *y = vy;
    int sumi = 0;
    for (int j = 0; j < 16; j++) sumi += (x->qs[j] & 0x0F) * y->qs[j] + (x->qs[j] >> 4) * y->qs[j + 16];
    /* the min term uses the activation's stored s = d_a * sum(q_a) */
    return (wk_h2f(x->d) * wk_h2f(y->d)) * (float)sumi + wk_h2f(x->m) * wk_h2f(y->s);
}
float wk_q5_0_dot(const void *vx, const void *vy) {
    const wk_block_q5_0 *x = vx;
    const wk_block_q8_0 *y = vy;
    const uint32_t qh = load_u32le(x->qh);
    int sumi = 0;
    for (int j = 0; j < 16; j++) {
        int q0 = ((x->qs[j] & 0x0F) | (int)(((qh >> j) & 1) << 4)) - 16;
        int q1 = ((x->qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4)) - 16;
        sumi += q0 * y->qs[j] + q1 * y->qs[j + 16];
    }
    return (wk_h2f(x->d) * wk_h2f(y->d)) * (float)sumi;
}
float wk_q5_1_dot(const void *vx, const void *vy) {
    const wk_block_q5_1 *x = vx;
    const wk_block_q8_1 *y = vy;
    const uint32_t qh = load_u32le(x->qh);
    int sumi = 0;
    for (int j = 0; j < 16; j++) {
        int q0 = (x->qs[j] & 0x0F) | (int)(((qh >> j) & 1) << 4);
        int q1 = (x->qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
        sumi += q0 * y->qs[j] + q1 * y->qs[j + 16];
    }
    return (wk_h2f(x->d) * wk_h2f(y->d)) * (float)sumi + wk_h2f(x->m) * wk_h2f(y->s);
}
float wk_q8_0_dot(const void *vx, const void *vy) {
    const wk_block_q8_0 *x = vx, *y = vy;
    int sumi = 0;
    for (int j = 0; j < 32; j++) sumi += x->qs[j] * y->qs[j];
    return (wk_h2f(x->d) * wk_h2f(y->d)) * (float)sumi;
}
float wk_q8_1_dot(const void *vx, const void *vy) {
    const wk_block_q8_1 *x = vx, *y = vy;
    int sumi = 0;
    for (int j = 0; j < 32; j++) sumi += x->qs[j] * y->qs[j];
    return (wk_h2f(x->d) * wk_h2f(y->d)) * (float)sumi;
}
float wk_iq4_nl_dot(const void *vx, const void *vy) {
    const wk_block_iq4_nl *x = vx;
    const wk_block_q8_0 *y = vy;
    int sumi = 0;
    for (int j = 0; j < 16; j++)
        sumi += wk_kvalues_iq4nl[x->qs[j] & 0x0F] * y->qs[j] + wk_kvalues_iq4nl[x->qs[j] >> 4] * y->qs[j + 16];
    return (wk_h2f(x->d) * wk_h2f(y->d)) * (float)sumi;
}
