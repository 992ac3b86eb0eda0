/* types.c — the tensor types table (ggml type codes, formats.md 1.11) and the scalar
 * f16/bf16 conversions every kernel treats as the specification. Quantized rows carry
 * their layout here; their kernels arrive with src/quant/. */
#include <math.h>
#include <string.h>

#include "types.h"

static const wk_type_traits k_traits[WK_TYPE_COUNT] = {
    [WK_TYPE_F32] = {"f32", 1, 4, false},
    [WK_TYPE_F16] = {"f16", 1, 2, false},
    [WK_TYPE_Q4_0] = {"q4_0", 32, 18, true},
    [WK_TYPE_Q4_1] = {"q4_1", 32, 20, true},
    [WK_TYPE_Q5_0] = {"q5_0", 32, 22, true},
    [WK_TYPE_Q5_1] = {"q5_1", 32, 24, true},
    [WK_TYPE_Q8_0] = {"q8_0", 32, 34, true},
    [WK_TYPE_Q8_1] = {"q8_1", 32, 36, true},
    [WK_TYPE_Q2_K] = {"q2_K", 256, 84, true},
    [WK_TYPE_Q3_K] = {"q3_K", 256, 110, true},
    [WK_TYPE_Q4_K] = {"q4_K", 256, 144, true},
    [WK_TYPE_Q5_K] = {"q5_K", 256, 176, true},
    [WK_TYPE_Q6_K] = {"q6_K", 256, 210, true},
    [WK_TYPE_Q8_K] = {"q8_K", 256, 292, true},
    [WK_TYPE_IQ4_NL] = {"iq4_nl", 32, 18, true},
    [WK_TYPE_IQ4_XS] = {"iq4_xs", 256, 136, true},
    [WK_TYPE_I8] = {"i8", 1, 1, false},
    [WK_TYPE_I16] = {"i16", 1, 2, false},
    [WK_TYPE_I32] = {"i32", 1, 4, false},
    [WK_TYPE_I64] = {"i64", 1, 8, false},
    [WK_TYPE_F64] = {"f64", 1, 8, false},
    [WK_TYPE_BF16] = {"bf16", 1, 2, false},
};

const wk_type_traits *wk_type_traits_of(wk_type t) {
    if ((unsigned)t >= WK_TYPE_COUNT || k_traits[t].block_size == 0) return NULL;
    return &k_traits[t];
}

const char *wk_type_name(wk_type t) {
    const wk_type_traits *tr = wk_type_traits_of(t);
    return tr ? tr->name : NULL;
}
int64_t wk_type_block_size(wk_type t) {
    const wk_type_traits *tr = wk_type_traits_of(t);
    return tr ? tr->block_size : 0;
}
size_t wk_type_size(wk_type t) {
    const wk_type_traits *tr = wk_type_traits_of(t);
    return tr ? tr->type_size : 0;
}
bool wk_type_is_quantized(wk_type t) {
    const wk_type_traits *tr = wk_type_traits_of(t);
    return tr && tr->quantized;
}

/* ---- f16 / bf16 (formats.md 2.0) ---------------------------------------- */

static inline uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* Round to nearest even; overflow -> inf; NaN -> quiet NaN keeping the sign. */
uint16_t wk_fp32_to_fp16(float f) {
    uint32_t x = f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to >= 65520: inf */
    if (ax < 0x38800000u) {
        /* subnormal or zero in f16: scale so the integer part is the f16 mantissa */
        float m = bits_f32(ax) * 16777216.0f; /* * 2^24 */
        uint32_t r = (uint32_t)lrintf(m);     /* default rounding mode: nearest even */
        return (uint16_t)(sign | r);
    }
    uint32_t mant = ax & 0x7fffffu;
    uint32_t e = (ax >> 23) - 127 + 15;
    uint32_t h = (e << 10) | (mant >> 13);
    uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++; /* carry may bump exponent */
    return (uint16_t)(sign | h);
}

float wk_fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) {
        float v = (float)m * (1.0f / 16777216.0f); /* m * 2^-24 */
        return sign ? -v : v;
    }
    if (e == 31) return bits_f32(sign | 0x7f800000u | (m << 13));
    return bits_f32(sign | ((e - 15 + 127) << 23) | (m << 13));
}

uint16_t wk_fp32_to_bf16(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

float wk_bf16_to_fp32(uint16_t h) { return bits_f32((uint32_t)h << 16); }
