/* blocks.h — block layouts of the quantized types (formats.md §2.2-2.3) and the small
 * per-type pieces the generic row loops in quant.c call: decode one block to f32, encode
 * one block from f32, and the dot product of one weight block with one activation block.
 * Internal to src/quant (and, later, to the SIMD kernels that must read the same bytes). */
#ifndef WK_QUANT_BLOCKS_H
#define WK_QUANT_BLOCKS_H

#include <stdint.h>
#include <string.h>

#include "wick.h"

#define QK_LEGACY 32 /* elements per legacy / IQ4_NL block */
#define QK_K 256     /* elements per K-quant super-block */
#define K_SCALE_SIZE 12

/* f16 fields are raw binary16 bits, as in the file. */
typedef struct { uint16_t d; uint8_t qs[16]; } wk_block_q4_0;
typedef struct { uint16_t d, m; uint8_t qs[16]; } wk_block_q4_1;
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } wk_block_q5_0;
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } wk_block_q5_1;
typedef struct { uint16_t d; int8_t qs[32]; } wk_block_q8_0;
typedef struct { uint16_t d, s; int8_t qs[32]; } wk_block_q8_1;
typedef struct { uint16_t d; uint8_t qs[16]; } wk_block_iq4_nl;

typedef struct { uint8_t scales[16]; uint8_t qs[64]; uint16_t d, dmin; } wk_block_q2_K;
typedef struct { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; } wk_block_q3_K;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } wk_block_q4_K;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } wk_block_q5_K;
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } wk_block_q6_K;
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } wk_block_q8_K;
typedef struct { uint16_t d, scales_h; uint8_t scales_l[4]; uint8_t qs[128]; } wk_block_iq4_xs;

_Static_assert(sizeof(wk_block_q4_0) == 18, "q4_0");
_Static_assert(sizeof(wk_block_q4_1) == 20, "q4_1");
_Static_assert(sizeof(wk_block_q5_0) == 22, "q5_0");
_Static_assert(sizeof(wk_block_q5_1) == 24, "q5_1");
_Static_assert(sizeof(wk_block_q8_0) == 34, "q8_0");
_Static_assert(sizeof(wk_block_q8_1) == 36, "q8_1");
_Static_assert(sizeof(wk_block_iq4_nl) == 18, "iq4_nl");
_Static_assert(sizeof(wk_block_q2_K) == 84, "q2_K");
_Static_assert(sizeof(wk_block_q3_K) == 110, "q3_K");
_Static_assert(sizeof(wk_block_q4_K) == 144, "q4_K");
_Static_assert(sizeof(wk_block_q5_K) == 176, "q5_K");
_Static_assert(sizeof(wk_block_q6_K) == 210, "q6_K");
_Static_assert(sizeof(wk_block_q8_K) == 292, "q8_K");
_Static_assert(sizeof(wk_block_iq4_xs) == 136, "iq4_xs");

/* The non-linear 4-bit codebook of IQ4_NL / IQ4_XS (formats.md §2.2). */
extern const int8_t wk_kvalues_iq4nl[16];

/* Round to nearest, ties to even, via the 1.5*2^23 trick (formats.md §2.0); |x| <= 2^22. */
static inline int wk_nearest_int(float x) {
    float v = x + 12582912.0f;
    int32_t i;
    memcpy(&i, &v, 4);
    return (i & 0x007fffff) - 0x00400000;
}
static inline float wk_h2f(uint16_t h) { return wk_fp16_to_fp32(h); }
static inline uint16_t wk_f2h(float f) { return wk_fp32_to_fp16(f); }

/* Q4_K / Q5_K 12-byte scale+min packing (formats.md §2.3, get_scale_min_k4). */
static inline void wk_scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 15) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* ---- per-type pieces: decode(block -> f32), encode(f32 -> block), dot(weight, activation) */
#define WK_QUANT_PIECES(name)                                    \
    void wk_##name##_decode(const void *blk, float *y);          \
    void wk_##name##_encode(const float *x, void *blk);
#define WK_QUANT_DOT(name) float wk_##name##_dot(const void *x, const void *y);

/* legacy.c */
WK_QUANT_PIECES(q4_0) WK_QUANT_PIECES(q4_1) WK_QUANT_PIECES(q5_0) WK_QUANT_PIECES(q5_1)
WK_QUANT_PIECES(q8_0) WK_QUANT_PIECES(q8_1) WK_QUANT_PIECES(iq4_nl)
WK_QUANT_DOT(q4_0) WK_QUANT_DOT(q4_1) WK_QUANT_DOT(q5_0) WK_QUANT_DOT(q5_1)
WK_QUANT_DOT(q8_0) WK_QUANT_DOT(q8_1) WK_QUANT_DOT(iq4_nl)
/* kquants.c */
WK_QUANT_PIECES(q2_K) WK_QUANT_PIECES(q3_K) WK_QUANT_PIECES(q4_K) WK_QUANT_PIECES(q5_K)
WK_QUANT_PIECES(q6_K) WK_QUANT_PIECES(q8_K) WK_QUANT_PIECES(iq4_xs)
WK_QUANT_DOT(q2_K) WK_QUANT_DOT(q3_K) WK_QUANT_DOT(q4_K) WK_QUANT_DOT(q5_K)
WK_QUANT_DOT(q6_K) WK_QUANT_DOT(iq4_xs)

/* Shared by IQ4_NL (one 32-block) and IQ4_XS (a 256 super-block of eight 32-blocks). */
void wk_iq4_quantize_impl(int super_block_size, const float *x, uint16_t *dh, uint8_t *q4,
                          uint16_t *scales_h, uint8_t *scales_l, int ntry);

#endif
