/* quant.c — one table row per tensor type (block decode, block encode, block dot with
 * the paired activation type) and the generic row loops over blocks that use it. Adding a
 * type is one row here plus its pieces in legacy.c / kquants.c; nothing else changes. */
#include "quant.h"

#include "blocks.h"
#include "error.h"
#include "types.h"

typedef void (*block_decode_fn)(const void *blk, float *y);
typedef void (*block_encode_fn)(const float *x, void *blk);
typedef float (*block_dot_fn)(const void *x, const void *y);

typedef struct {
    block_decode_fn decode;
    block_encode_fn encode;
    block_dot_fn dot;  /* NULL: no dot product (activation-only type) */
    wk_type dot_type;  /* the activation type dot's y is in */
} quant_fns;

/* ---- F32 / F16 / BF16 as one-element blocks, so every type takes the same path ------- */
static void f32_decode(const void *b, float *y) { memcpy(y, b, 4); }
static void f32_encode(const float *x, void *b) { memcpy(b, x, 4); }
static float f32_dot(const void *x, const void *y) {
    float a, b;
    memcpy(&a, x, 4), memcpy(&b, y, 4);
    return a * b;
}
static inline uint16_t ld16(const void *p) { uint16_t h; memcpy(&h, p, 2); return h; }
static inline void st16(void *p, uint16_t h) { memcpy(p, &h, 2); }
static void f16_decode(const void *b, float *y) { *y = wk_fp16_to_fp32(ld16(b)); }
static void f16_encode(const float *x, void *b) { st16(b, wk_fp32_to_fp16(*x)); }
static float f16_dot(const void *x, const void *y) { return wk_fp16_to_fp32(ld16(x)) * wk_fp16_to_fp32(ld16(y)); }
static void bf16_decode(const void *b, float *y) { *y = wk_bf16_to_fp32(ld16(b)); }
static void bf16_encode(const float *x, void *b) { st16(b, wk_fp32_to_bf16(*x)); }
static float bf16_dot(const void *x, const void *y) { return wk_bf16_to_fp32(ld16(x)) * wk_bf16_to_fp32(ld16(y)); }

#define ROW(T, name, dt) [WK_TYPE_##T] = {wk_##name##_decode, wk_##name##_encode, wk_##name##_dot, WK_TYPE_##dt}
static const quant_fns k_fns[WK_TYPE_COUNT] = {
    [WK_TYPE_F32] = {f32_decode, f32_encode, f32_dot, WK_TYPE_F32},
    [WK_TYPE_F16] = {f16_decode, f16_encode, f16_dot, WK_TYPE_F16},
    [WK_TYPE_BF16] = {bf16_decode, bf16_encode, bf16_dot, WK_TYPE_BF16},
    ROW(Q4_0, q4_0, Q8_0),
    ROW(Q4_1, q4_1, Q8_1),
    ROW(Q5_0, q5_0, Q8_0),
    ROW(Q5_1, q5_1, Q8_1),
    ROW(Q8_0, q8_0, Q8_0),
    ROW(Q8_1, q8_1, Q8_1),
    ROW(IQ4_NL, iq4_nl, Q8_0),
    ROW(Q2_K, q2_K, Q8_K),
    ROW(Q3_K, q3_K, Q8_K),
    ROW(Q4_K, q4_K, Q8_K),
    ROW(Q5_K, q5_K, Q8_K),
    ROW(Q6_K, q6_K, Q8_K),
    [WK_TYPE_Q8_K] = {wk_q8_K_decode, wk_q8_K_encode, NULL, WK_TYPE_COUNT},
    ROW(IQ4_XS, iq4_xs, Q8_K),
};
#undef ROW

static const quant_fns *fns_of(wk_type t) {
    if ((unsigned)t >= WK_TYPE_COUNT || !k_fns[t].decode) return NULL;
    return &k_fns[t];
}

bool wk_quant_supported(wk_type t) { return fns_of(t) != NULL; }

wk_type wk_vec_dot_type(wk_type t) {
    const quant_fns *f = fns_of(t);
    return f ? f->dot_type : WK_TYPE_COUNT;
}

/* Block count of a row; a row that is not whole blocks is a caller's programming error. */
static int64_t row_blocks(wk_type t, int64_t n) {
    const wk_type_traits *tr = wk_type_traits_of(t);
    WK_ASSERT(tr && fns_of(t) && n >= 0 && n % tr->block_size == 0);
    return n / tr->block_size;
}

void wk_dequantize_row(wk_type t, const void *x, float *y, int64_t n) {
    const int64_t nb = row_blocks(t, n), bs = wk_type_block_size(t);
    const size_t sz = wk_type_size(t);
    const block_decode_fn decode = k_fns[t].decode;
    for (int64_t i = 0; i < nb; i++) decode((const char *)x + i * sz, y + i * bs);
}

void wk_quantize_row(wk_type t, const float *x, void *y, int64_t n) {
    const int64_t nb = row_blocks(t, n), bs = wk_type_block_size(t);
    const size_t sz = wk_type_size(t);
    const block_encode_fn encode = k_fns[t].encode;
    for (int64_t i = 0; i < nb; i++) encode(x + i * bs, (char *)y + i * sz);
}

void wk_vec_dot(wk_type t, int64_t n, float *s, const void *x, const void *y) {
    const int64_t nb = row_blocks(t, n);
    const quant_fns *f = &k_fns[t];
    WK_ASSERT(f->dot && wk_type_block_size(f->dot_type) == wk_type_block_size(t));
    const size_t sx = wk_type_size(t), sy = wk_type_size(f->dot_type);
    const char *px = x, *py = y;
    if (!wk_type_is_quantized(t)) { /* element rows: f64 sum, as ggml's vec_dot_f32/f16 */
        double sum = 0;
        for (int64_t i = 0; i < nb; i++) sum += f->dot(px + i * sx, py + i * sy);
        *s = (float)sum;
        return;
    }
    float sum = 0;
    for (int64_t i = 0; i < nb; i++) sum += f->dot(px + i * sx, py + i * sy);
    *s = sum;
}
