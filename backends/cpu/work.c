/* work.c — scratch memory each op needs: shared (all threads) and per thread. */
#include "cpu_internal.h"

size_t wk_cpu_shared_size(const wk_tensor *node, int nth) {
    switch (node->op) {
    case WK_OP_MUL_MAT:
        /* bf16 weights pair with activations rounded to bf16 once per matmul */
        if (node->src[0]->type == WK_TYPE_BF16) return (size_t)wk_tensor_nelements(node->src[1]) * 2;
        if (wk_type_block_size(node->src[0]->type) > 1) /* activations quantized to the paired type once */
            return wk_cpu_qrow_size(node->src[0]->type, node->src[1]->ne[0]) * (size_t)wk_nrows(node->src[1]);
        return 0;
    case WK_OP_SUM: return (size_t)nth * 64; /* one partial per thread, a cache line each */
    case WK_OP_CROSS_ENTROPY: return (size_t)nth * 64; /* one partial (sum, count) per thread, a cache line each */
    default: return 0;
    }
}

size_t wk_cpu_scratch_size(const wk_tensor *node, int nth) {
    (void)nth;
    const wk_tensor *a = node->src[0];
    switch (node->op) {
    case WK_OP_SOFT_MAX: return (size_t)a->ne[0] * sizeof(float);
    case WK_OP_ROPE: return (size_t)a->ne[0] * sizeof(float);
    case WK_OP_FLASH_ATTN: {
        const wk_tensor *q = node->src[0], *k = node->src[1], *v = node->src[2];
        /* per item of up to a GQA group of hs heads (attention.c): hs accumulators (Dv
         * doubles) and (m, l) pairs, hs query rows (D floats), one widened K and V row;
         * sized for a whole group since the region may run with fewer threads than asked */
        const size_t hs = (size_t)(q->ne[2] / k->ne[2]);
        return hs * ((size_t)v->ne[0] + 2) * sizeof(double) +
               (hs * (size_t)q->ne[0] + (size_t)q->ne[0] + (size_t)v->ne[0]) * sizeof(float);
    }
    default: return 0;
    }
}
