/* backward.h — builders of the ops only gradient rules use (ops.c), shared by backward.c
 * and the tests. Each records a node like the public builders; NULL on bad shapes. */
#ifndef WK_CORE_BACKWARD_H
#define WK_CORE_BACKWARD_H

#include "tensor.h"

/* Sum of the broadcast copies of a into shape ne (each ne[i] divides a->ne[i]). block =
 * false: element i of a folds onto i mod ne (how ADD/MUL broadcast); true: onto
 * i / (a->ne / ne) (how MUL_MAT and OUT_PROD broadcast over dims 2-3). */
wk_tensor *wk_repeat_back(wk_ctx *ctx, wk_tensor *a, const int64_t ne[4], bool block);
/* g * f'(x) for the unary op of fwd (SQR, SQRT, EXP, LOG, TANH, SILU, GELU, GELU_ERF,
 * SOFTCAP, CLAMP), with fwd's parameters. */
wk_tensor *wk_unary_back(wk_ctx *ctx, wk_tensor *g, wk_tensor *x, const wk_tensor *fwd);
/* Zeros of src's shape with g (shaped like view) added where view reads src's elements. */
wk_tensor *wk_view_back(wk_ctx *ctx, wk_tensor *g, const wk_tensor *view, const wk_tensor *src);
/* Zeros of shape ne with row i of g added to row idx[i] (scatter-add: GET_ROWS reversed). */
wk_tensor *wk_get_rows_back(wk_ctx *ctx, wk_tensor *g, wk_tensor *idx, const int64_t ne[4]);
/* Input gradients of RMS_NORM / NORM (from g and the input x) and SOFT_MAX (from g and
 * the output y, times the softmax's scale). */
wk_tensor *wk_rms_norm_back(wk_ctx *ctx, wk_tensor *g, wk_tensor *x, float eps);
wk_tensor *wk_norm_back(wk_ctx *ctx, wk_tensor *g, wk_tensor *x, float eps);
wk_tensor *wk_soft_max_back(wk_ctx *ctx, wk_tensor *g, wk_tensor *y, float scale);
/* The transpose of fwd's rotation (every angle negated) applied to g. */
wk_tensor *wk_rope_back(wk_ctx *ctx, wk_tensor *g, const wk_tensor *fwd);
/* Gradient of the mean cross-entropy w.r.t. logits, times the scalar g. */
wk_tensor *wk_cross_entropy_back(wk_ctx *ctx, wk_tensor *g, wk_tensor *logits, wk_tensor *labels);

#endif
