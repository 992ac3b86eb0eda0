/* quant.h — the reference (scalar) block formats of formats.md §2: row dequantize,
 * row quantize (llama.cpp's deterministic *_ref algorithms, no importance matrix) and the
 * dot product of a weight row with its paired activation row. These scalar routines are
 * the specification that faster kernels are tested against. Internal header. */
#ifndef WK_QUANT_H
#define WK_QUANT_H

#include <stdbool.h>
#include <stdint.h>

#include "wick.h"

/* True for types with all of the row functions below (F32, F16, BF16, the legacy and
 * K-quant types, IQ4_NL, IQ4_XS). Q8_K is an activation type: it has dequantize and
 * quantize but no dot product of its own (wk_vec_dot_type(Q8_K) == WK_TYPE_COUNT). */
bool wk_quant_supported(wk_type t);

/* n elements, a multiple of wk_type_block_size(t) (a programming error otherwise). */
void wk_dequantize_row(wk_type t, const void *x, float *y, int64_t n);
void wk_quantize_row(wk_type t, const float *x, void *y, int64_t n);

/* The activation type a weight of type t is dotted with (formats.md §2.5): Q8_0 for
 * Q4_0/Q5_0/Q8_0/IQ4_NL, Q8_1 for Q4_1/Q5_1/Q8_1, Q8_K for K-quants and IQ4_XS, the type
 * itself for F32/F16/BF16; WK_TYPE_COUNT when there is none. */
wk_type wk_vec_dot_type(wk_type t);

/* *s = dot(x, y) over n elements: x a row of type t, y a row of wk_vec_dot_type(t).
 * Integer sums inside a block are exact; block results are scaled by the block scales and
 * summed in f32 in block order (F32/F16/BF16 rows: products in f32, sum in f64). */
void wk_vec_dot(wk_type t, int64_t n, float *s, const void *x, const void *y);

#endif
