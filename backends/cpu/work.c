/* work.c — scratch memory each op needs: shared (all threads) and per thread. */
#include "cpu_internal.h"

/* attention.c: per-thread bytes for its rows, blocks and widened K/V (independent of nth) */
size_t wk_cpu_flash_attn_scratch(const wk_tensor *node);

/* out_prod.c: floats of the transposed operands; bytes of a thread's dequantized rows */
size_t wk_cpu_out_prod_shared(const wk_tensor *dst);
size_t wk_cpu_out_prod_scratch(const wk_tensor *dst);

size_t wk_cpu_shared_size(const wk_tensor *node, int nth) {
    switch (node->op) {
    case WK_OP_OUT_PROD: return wk_cpu_out_prod_shared(node) * sizeof(float);
    case WK_OP_MUL_MAT:
        /* bf16 weights pair with activations rounded to bf16 once per matmul */
        if (node->src[0]->type == WK_TYPE_BF16) return (size_t)wk_tensor_nelements(node->src[1]) * 2;
        if (wk_type_block_size(node->src[0]->type) > 1 && wk_cpu_qpanel_on(wk_cpu_isa_current(), node))
            return wk_cpu_qpanel_row_size(node->src[1]->ne[0]) * (size_t)wk_nrows(node->src[1]);
        if (wk_type_block_size(node->src[0]->type) > 1) /* activations quantized to the paired type once */
            return wk_cpu_qrow_size(node->src[0]->type, node->src[1]->ne[0]) * (size_t)wk_nrows(node->src[1]);
        return 0;
    case WK_OP_SUM: return (size_t)nth * 64; /* one partial per thread, a cache line each */
    case WK_OP_CROSS_ENTROPY: return (size_t)nth * 64; /* one partial (sum, count) per thread, a cache line each */
    case WK_OP_CROSS_ENTROPY_BACK: return (size_t)nth * 64; /* soft targets: a row count per thread */
    default: return 0;
    }
}

size_t wk_cpu_scratch_size(const wk_tensor *node, int nth) {
    (void)nth;
    const wk_tensor *a = node->src[0];
    switch (node->op) {
    case WK_OP_SOFT_MAX: return (size_t)a->ne[0] * sizeof(float);
    case WK_OP_CROSS_ENTROPY: return (size_t)a->ne[0] * sizeof(float); /* a row's exponentials */
    case WK_OP_ROPE: return (size_t)a->ne[0] * sizeof(float);
    case WK_OP_FLASH_ATTN: return wk_cpu_flash_attn_scratch(node); /* layout in attention.c */
    case WK_OP_OUT_PROD: return wk_cpu_out_prod_scratch(node);
    case WK_OP_MUL_MAT: /* one quantized row on its way to a panel row */
        return wk_type_block_size(a->type) > 1 && wk_cpu_qpanel_on(wk_cpu_isa_current(), node)
                   ? wk_cpu_qrow_size(a->type, node->src[1]->ne[0])
                   : 0;
    default: return 0;
    }
}
