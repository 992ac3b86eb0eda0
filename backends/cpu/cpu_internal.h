/* cpu_internal.h — what CPU kernels see: thread index and count, scratch memory, and
 * the ISA kernel set chosen at start. Every kernel is called by all threads of the one
 * OpenMP region; it computes its share of rows and must not assume nth == 1. */
#ifndef WK_CPU_INTERNAL_H
#define WK_CPU_INTERNAL_H

#include "../../src/core/tensor.h"
#include "../../src/core/types.h"
#include "../../src/quant/quant.h"
#include "isa.h"

typedef struct {
    int ith, nth;
    void *shared;         /* op-specific memory all threads see (e.g. converted activations) */
    size_t shared_size;
    void *scratch;        /* this thread's own scratch, 64-byte aligned */
    size_t scratch_size;
    const wk_isa *isa;
} wk_cpu_params;

/* One kernel per op, named after its ops.def row: wk_cpu_ADD, wk_cpu_MUL_MAT, ... */
#define WK_OP(nm, nsrc, g) void wk_cpu_##nm(const wk_cpu_params *p, wk_tensor *dst);
#include "../../src/core/ops.def"
#undef WK_OP

/* All threads wait here (only inside a kernel that every thread enters). */
void wk_cpu_barrier(const wk_cpu_params *p);

/* Rows [lo, hi) of n for this thread: contiguous, balanced chunks. */
static inline void wk_cpu_range(int64_t n, const wk_cpu_params *p, int64_t *lo, int64_t *hi) {
    int64_t per = (n + p->nth - 1) / p->nth;
    *lo = per * p->ith < n ? per * p->ith : n;
    *hi = *lo + per < n ? *lo + per : n;
}

/* Bytes of shared and per-thread scratch a node needs (work.c). */
size_t wk_cpu_shared_size(const wk_tensor *node, int nth);
size_t wk_cpu_scratch_size(const wk_tensor *node, int nth);

/* loss.c: sum over i < n of exp(x[i] - max) for a contiguous f32 row whose max is finite,
 * with the set's exp_sum over chunks (their f32 sums added in double); y gets the
 * exponentials (n floats; may be x). CROSS_ENTROPY and its backward use it. */
double wk_cpu_row_exp_sum(const wk_cpu_params *p, int64_t n, const float *x, float max, float *y);

/* Bytes of one row of k activations quantized to the type weight type t pairs with. */
static inline size_t wk_cpu_qrow_size(wk_type t, int64_t k) {
    wk_type vt = wk_vec_dot_type(t);
    return (size_t)(k / wk_type_block_size(vt)) * wk_type_size(vt);
}

/* Whether a quantized product runs the prompt-panel path (isa.h qpanel): activations are
 * then converted to panel rows in shared memory, each thread quantizing through its
 * scratch. */
static inline int wk_cpu_qpanel_on(const wk_isa *isa, const wk_tensor *node) {
    return node->src[1]->ne[1] >= WK_QPANEL_MIN_N && isa->qpanel[node->src[0]->type] != NULL;
}

/* Read element i0 of a row of an f32/f16/bf16 tensor as f32 (scalar reference helper). */
static inline float wk_cpu_load_f(wk_type t, const void *row, int64_t i0, size_t nb0) {
    const char *p = (const char *)row + (size_t)i0 * nb0;
    switch (t) {
    case WK_TYPE_F16: return wk_fp16_to_fp32(*(const uint16_t *)p);
    case WK_TYPE_BF16: return wk_bf16_to_fp32(*(const uint16_t *)p);
    default: return *(const float *)p;
    }
}
static inline void wk_cpu_store_f(wk_type t, void *row, int64_t i0, size_t nb0, float v) {
    char *p = (char *)row + (size_t)i0 * nb0;
    switch (t) {
    case WK_TYPE_F16: *(uint16_t *)p = wk_fp32_to_fp16(v); break;
    case WK_TYPE_BF16: *(uint16_t *)p = wk_fp32_to_bf16(v); break;
    default: *(float *)p = v; break;
    }
}

#endif
