/* ops.c — op builders: validate shapes, then record a node. Nothing is computed here.
 * Every builder returns NULL with a message on bad input (shapes come from callers and
 * from model files, so they are never asserted). */
#include <string.h>

#include "../quant/quant.h"
#include "backward.h"
#include "tensor.h"
#include "types.h"

static const struct { const char *name; int n_src; bool grad; } k_ops[WK_OP_COUNT] = {
#define WK_OP(nm, nsrc, g) [WK_OP_##nm] = {#nm, nsrc, g},
#include "ops.def"
#undef WK_OP
};

const char *wk_op_name(wk_op op) { return (unsigned)op < WK_OP_COUNT ? k_ops[op].name : "?"; }
int wk_op_n_src(wk_op op) { return (unsigned)op < WK_OP_COUNT ? k_ops[op].n_src : 0; }
bool wk_op_has_grad(wk_op op) { return (unsigned)op < WK_OP_COUNT && k_ops[op].grad; }
bool wk_op_is_view(wk_op op) {
    return op == WK_OP_RESHAPE || op == WK_OP_VIEW || op == WK_OP_PERMUTE || op == WK_OP_TRANSPOSE;
}

/* ---- helpers -------------------------------------------------------------- */

#define CHECK_ARG(x, op)                                                                   \
    do {                                                                                   \
        if (!(x)) return wk_err_null(WK_ERR_INVALID_ARG, "%s: NULL tensor or context", op); \
    } while (0)

static wk_tensor *new_node(wk_ctx *ctx, wk_op op, wk_type type, const int64_t ne[4],
                           wk_tensor *s0, wk_tensor *s1, wk_tensor *s2, wk_tensor *s3) {
    wk_tensor *t = wk_tensor_alloc_meta(ctx, type, 4, ne);
    if (!t) return NULL;
    t->op = op;
    t->src[0] = s0;
    t->src[1] = s1;
    t->src[2] = s2;
    t->src[3] = s3;
    return t;
}

/* Makes t a view of a at a byte offset (chains of views point at the root). */
static void make_view(wk_tensor *t, wk_tensor *a, size_t offs) {
    wk_tensor *root = a->view_src ? a->view_src : a;
    size_t base = a->view_src ? a->view_offs : 0;
    t->view_src = root;
    t->view_offs = base + offs;
    if (root->data) t->data = (char *)root->data + t->view_offs;
}

/* A weight type mul_mat and get_rows can read: a quantized type with a dot product. */
static bool is_quant_weight(wk_type t) {
    return t != WK_TYPE_F32 && t != WK_TYPE_F16 && t != WK_TYPE_BF16 && wk_quant_supported(t) &&
           wk_vec_dot_type(t) != WK_TYPE_COUNT;
}

static bool is_float_type(wk_type t) {
    return t == WK_TYPE_F32 || t == WK_TYPE_F16 || t == WK_TYPE_BF16;
}

static bool need_f32(const wk_tensor *a, const char *op) {
    if (a->type == WK_TYPE_F32) return true;
    wk_err(WK_ERR_UNSUPPORTED, "%s: expects f32, got %s", op, wk_type_name(a->type));
    return false;
}

static bool can_broadcast(const wk_tensor *a, const wk_tensor *b) {
    for (int i = 0; i < 4; i++)
        if (a->ne[i] % b->ne[i] != 0) return false;
    return true;
}

/* ---- element-wise --------------------------------------------------------- */

static wk_tensor *binary(wk_ctx *ctx, wk_op op, wk_tensor *a, wk_tensor *b) {
    CHECK_ARG(ctx && a && b, wk_op_name(op));
    if (!need_f32(a, wk_op_name(op)) || !need_f32(b, wk_op_name(op))) return NULL;
    if (!can_broadcast(a, b))
        return wk_err_null(WK_ERR_SHAPE, "%s: [%lld,%lld,%lld,%lld] does not broadcast to [%lld,%lld,%lld,%lld]",
                           wk_op_name(op), (long long)b->ne[0], (long long)b->ne[1], (long long)b->ne[2],
                           (long long)b->ne[3], (long long)a->ne[0], (long long)a->ne[1],
                           (long long)a->ne[2], (long long)a->ne[3]);
    return new_node(ctx, op, WK_TYPE_F32, a->ne, a, b, NULL, NULL);
}

wk_tensor *wk_add(wk_ctx *ctx, wk_tensor *a, wk_tensor *b) { return binary(ctx, WK_OP_ADD, a, b); }
wk_tensor *wk_sub(wk_ctx *ctx, wk_tensor *a, wk_tensor *b) { return binary(ctx, WK_OP_SUB, a, b); }
wk_tensor *wk_mul(wk_ctx *ctx, wk_tensor *a, wk_tensor *b) { return binary(ctx, WK_OP_MUL, a, b); }
wk_tensor *wk_div(wk_ctx *ctx, wk_tensor *a, wk_tensor *b) { return binary(ctx, WK_OP_DIV, a, b); }

static wk_tensor *unary(wk_ctx *ctx, wk_op op, wk_tensor *a) {
    CHECK_ARG(ctx && a, wk_op_name(op));
    if (!need_f32(a, wk_op_name(op))) return NULL;
    return new_node(ctx, op, WK_TYPE_F32, a->ne, a, NULL, NULL, NULL);
}

wk_tensor *wk_scale(wk_ctx *ctx, wk_tensor *a, float s) {
    wk_tensor *t = unary(ctx, WK_OP_SCALE, a);
    if (t) wk_set_param_f32(t, 0, s);
    return t;
}
wk_tensor *wk_sqr(wk_ctx *ctx, wk_tensor *a) { return unary(ctx, WK_OP_SQR, a); }
wk_tensor *wk_sqrt(wk_ctx *ctx, wk_tensor *a) { return unary(ctx, WK_OP_SQRT, a); }
wk_tensor *wk_exp(wk_ctx *ctx, wk_tensor *a) { return unary(ctx, WK_OP_EXP, a); }
wk_tensor *wk_log(wk_ctx *ctx, wk_tensor *a) { return unary(ctx, WK_OP_LOG, a); }
wk_tensor *wk_tanh(wk_ctx *ctx, wk_tensor *a) { return unary(ctx, WK_OP_TANH, a); }
wk_tensor *wk_silu(wk_ctx *ctx, wk_tensor *a) { return unary(ctx, WK_OP_SILU, a); }
wk_tensor *wk_gelu(wk_ctx *ctx, wk_tensor *a) { return unary(ctx, WK_OP_GELU, a); }
wk_tensor *wk_gelu_erf(wk_ctx *ctx, wk_tensor *a) { return unary(ctx, WK_OP_GELU_ERF, a); }

wk_tensor *wk_softcap(wk_ctx *ctx, wk_tensor *a, float cap) {
    if (!(cap > 0)) return wk_err_null(WK_ERR_INVALID_ARG, "SOFTCAP: cap %g must be > 0", cap);
    wk_tensor *t = unary(ctx, WK_OP_SOFTCAP, a);
    if (t) wk_set_param_f32(t, 0, cap);
    return t;
}

wk_tensor *wk_clamp(wk_ctx *ctx, wk_tensor *a, float min, float max) {
    if (!(min <= max)) return wk_err_null(WK_ERR_INVALID_ARG, "CLAMP: min %g > max %g", min, max);
    wk_tensor *t = unary(ctx, WK_OP_CLAMP, a);
    if (t) {
        wk_set_param_f32(t, 0, min);
        wk_set_param_f32(t, 1, max);
    }
    return t;
}

static wk_tensor *gated(wk_ctx *ctx, wk_op op, wk_tensor *a, wk_tensor *b) {
    CHECK_ARG(ctx && a && b, wk_op_name(op));
    if (!need_f32(a, wk_op_name(op)) || !need_f32(b, wk_op_name(op))) return NULL;
    if (!wk_tensor_same_shape(a, b))
        return wk_err_null(WK_ERR_SHAPE, "%s: gate and up shapes differ", wk_op_name(op));
    return new_node(ctx, op, WK_TYPE_F32, a->ne, a, b, NULL, NULL);
}
wk_tensor *wk_swiglu(wk_ctx *ctx, wk_tensor *a, wk_tensor *b) { return gated(ctx, WK_OP_SWIGLU, a, b); }
wk_tensor *wk_geglu(wk_ctx *ctx, wk_tensor *a, wk_tensor *b) { return gated(ctx, WK_OP_GEGLU, a, b); }

/* ---- reductions ------------------------------------------------------------ */

wk_tensor *wk_sum(wk_ctx *ctx, wk_tensor *a) {
    CHECK_ARG(ctx && a, "SUM");
    if (!need_f32(a, "SUM")) return NULL;
    const int64_t ne[4] = {1, 1, 1, 1};
    return new_node(ctx, WK_OP_SUM, WK_TYPE_F32, ne, a, NULL, NULL, NULL);
}

static wk_tensor *row_reduce(wk_ctx *ctx, wk_op op, wk_tensor *a) {
    CHECK_ARG(ctx && a, wk_op_name(op));
    if (!need_f32(a, wk_op_name(op))) return NULL;
    const int64_t ne[4] = {1, a->ne[1], a->ne[2], a->ne[3]};
    return new_node(ctx, op, WK_TYPE_F32, ne, a, NULL, NULL, NULL);
}
wk_tensor *wk_sum_rows(wk_ctx *ctx, wk_tensor *a) { return row_reduce(ctx, WK_OP_SUM_ROWS, a); }
wk_tensor *wk_mean(wk_ctx *ctx, wk_tensor *a) { return row_reduce(ctx, WK_OP_MEAN, a); }

wk_tensor *wk_argmax(wk_ctx *ctx, wk_tensor *a) {
    CHECK_ARG(ctx && a, "ARGMAX");
    if (!need_f32(a, "ARGMAX")) return NULL;
    const int64_t ne[4] = {a->ne[1], a->ne[2], a->ne[3], 1};
    return new_node(ctx, WK_OP_ARGMAX, WK_TYPE_I32, ne, a, NULL, NULL, NULL);
}

/* ---- copies and layout ------------------------------------------------------ */

wk_tensor *wk_cpy(wk_ctx *ctx, wk_tensor *a, wk_tensor *b) {
    CHECK_ARG(ctx && a && b, "CPY");
    if (!is_float_type(a->type) || !is_float_type(b->type))
        return wk_err_null(WK_ERR_UNSUPPORTED, "CPY: %s -> %s not supported (f32/f16/bf16)",
                           wk_type_name(a->type), wk_type_name(b->type));
    if (wk_tensor_nelements(a) != wk_tensor_nelements(b))
        return wk_err_null(WK_ERR_SHAPE, "CPY: %lld elements into %lld", (long long)wk_tensor_nelements(a),
                           (long long)wk_tensor_nelements(b));
    wk_tensor *t = wk_tensor_alloc_meta(ctx, b->type, 4, b->ne);
    if (!t) return NULL;
    memcpy(t->nb, b->nb, sizeof t->nb);
    t->op = WK_OP_CPY;
    t->src[0] = a;
    t->src[1] = b;
    make_view(t, b, 0);
    return t;
}

wk_tensor *wk_cast(wk_ctx *ctx, wk_tensor *a, wk_type type) {
    CHECK_ARG(ctx && a, "CPY");
    if (!is_float_type(a->type) || !is_float_type(type))
        return wk_err_null(WK_ERR_UNSUPPORTED, "CPY: cast %s -> %s not supported (f32/f16/bf16)",
                           wk_type_name(a->type), wk_type_name(type));
    return new_node(ctx, WK_OP_CPY, type, a->ne, a, NULL, NULL, NULL);
}

wk_tensor *wk_cont(wk_ctx *ctx, wk_tensor *a) {
    CHECK_ARG(ctx && a, "CONT");
    if (!is_float_type(a->type) && a->type != WK_TYPE_I32)
        return wk_err_null(WK_ERR_UNSUPPORTED, "CONT: type %s not supported", wk_type_name(a->type));
    return new_node(ctx, WK_OP_CONT, a->type, a->ne, a, NULL, NULL, NULL);
}

wk_tensor *wk_reshape(wk_ctx *ctx, wk_tensor *a, int n_dims, const int64_t *ne) {
    CHECK_ARG(ctx && a && ne, "RESHAPE");
    if (!wk_tensor_is_contiguous(a))
        return wk_err_null(WK_ERR_SHAPE, "RESHAPE: source is not contiguous (use wk_cont)");
    wk_tensor *t = wk_tensor_alloc_meta(ctx, a->type, n_dims, ne);
    if (!t) return NULL;
    if (wk_tensor_nelements(t) != wk_tensor_nelements(a))
        return wk_err_null(WK_ERR_SHAPE, "RESHAPE: %lld elements into %lld", (long long)wk_tensor_nelements(a),
                           (long long)wk_tensor_nelements(t));
    t->op = WK_OP_RESHAPE;
    t->src[0] = a;
    make_view(t, a, 0);
    return t;
}
wk_tensor *wk_reshape_2d(wk_ctx *ctx, wk_tensor *a, int64_t ne0, int64_t ne1) {
    int64_t ne[2] = {ne0, ne1};
    return wk_reshape(ctx, a, 2, ne);
}
wk_tensor *wk_reshape_3d(wk_ctx *ctx, wk_tensor *a, int64_t ne0, int64_t ne1, int64_t ne2) {
    int64_t ne[3] = {ne0, ne1, ne2};
    return wk_reshape(ctx, a, 3, ne);
}

wk_tensor *wk_view(wk_ctx *ctx, wk_tensor *a, int n_dims, const int64_t *ne, const size_t *nb,
                   size_t offset) {
    CHECK_ARG(ctx && a && ne, "VIEW");
    wk_tensor *t = wk_tensor_alloc_meta(ctx, a->type, n_dims, ne);
    if (!t) return NULL;
    for (int i = 1; i < n_dims; i++) t->nb[i] = nb ? nb[i - 1] : t->nb[i];
    for (int i = n_dims; i < 4; i++) t->nb[i] = t->nb[i - 1] * (size_t)t->ne[i - 1];
    /* the view must stay inside its source's bytes */
    size_t span = wk_tensor_nbytes(t), end;
    if (!wk_size_add_ok(offset, span, &end) || end > wk_tensor_nbytes(a))
        return wk_err_null(WK_ERR_SHAPE, "VIEW: bytes [%zu, %zu) exceed the source's %zu", offset,
                           offset + span, wk_tensor_nbytes(a));
    t->op = WK_OP_VIEW;
    t->src[0] = a;
    make_view(t, a, offset);
    return t;
}

wk_tensor *wk_permute(wk_ctx *ctx, wk_tensor *a, int ax0, int ax1, int ax2, int ax3) {
    CHECK_ARG(ctx && a, "PERMUTE");
    int ax[4] = {ax0, ax1, ax2, ax3}, seen = 0;
    for (int i = 0; i < 4; i++) {
        if (ax[i] < 0 || ax[i] > 3 || (seen & (1 << ax[i])))
            return wk_err_null(WK_ERR_INVALID_ARG, "PERMUTE: axes (%d,%d,%d,%d) are not a permutation", ax0, ax1,
                               ax2, ax3);
        seen |= 1 << ax[i];
    }
    int64_t ne[4];
    for (int i = 0; i < 4; i++) ne[ax[i]] = a->ne[i];
    wk_tensor *t = wk_tensor_alloc_meta(ctx, a->type, 4, ne);
    if (!t) return NULL;
    for (int i = 0; i < 4; i++) t->nb[ax[i]] = a->nb[i];
    t->op = WK_OP_PERMUTE;
    t->src[0] = a;
    memcpy(t->op_params, ax, sizeof ax);
    make_view(t, a, 0);
    return t;
}

wk_tensor *wk_transpose(wk_ctx *ctx, wk_tensor *a) {
    wk_tensor *t = wk_permute(ctx, a, 1, 0, 2, 3);
    if (t) t->op = WK_OP_TRANSPOSE;
    return t;
}

wk_tensor *wk_get_rows(wk_ctx *ctx, wk_tensor *a, wk_tensor *idx) {
    CHECK_ARG(ctx && a && idx, "GET_ROWS");
    if (!is_float_type(a->type) && !is_quant_weight(a->type))
        return wk_err_null(WK_ERR_UNSUPPORTED, "GET_ROWS: rows of type %s not supported", wk_type_name(a->type));
    if (idx->type != WK_TYPE_I32) return wk_err_null(WK_ERR_INVALID_ARG, "GET_ROWS: indices must be i32");
    if (idx->ne[1] != a->ne[2] || idx->ne[2] != a->ne[3] || idx->ne[3] != 1)
        return wk_err_null(WK_ERR_SHAPE, "GET_ROWS: index batch dims do not match the source");
    const int64_t ne[4] = {a->ne[0], idx->ne[0], a->ne[2], a->ne[3]};
    return new_node(ctx, WK_OP_GET_ROWS, WK_TYPE_F32, ne, a, idx, NULL, NULL);
}

wk_tensor *wk_set_rows(wk_ctx *ctx, wk_tensor *dst, wk_tensor *src, wk_tensor *idx) {
    CHECK_ARG(ctx && dst && src && idx, "SET_ROWS");
    /* a Q8_0 destination (quantized KV cache) quantizes each row; its rows must be whole
     * blocks and the source rows contiguous */
    const bool q8 = dst->type == WK_TYPE_Q8_0;
    if ((!is_float_type(dst->type) && !q8) || !need_f32(src, "SET_ROWS")) {
        if (!is_float_type(dst->type) && !q8)
            wk_err(WK_ERR_UNSUPPORTED, "SET_ROWS: destination type %s not supported", wk_type_name(dst->type));
        return NULL;
    }
    if (q8 && (dst->nb[0] != wk_type_size(dst->type) || src->nb[0] != sizeof(float)))
        return wk_err_null(WK_ERR_SHAPE, "SET_ROWS: q8_0 destination needs contiguous rows");
    if (idx->type != WK_TYPE_I32) return wk_err_null(WK_ERR_INVALID_ARG, "SET_ROWS: indices must be i32");
    if (src->ne[0] != dst->ne[0] || src->ne[1] != idx->ne[0] || src->ne[2] != dst->ne[2] ||
        src->ne[3] != dst->ne[3] || idx->ne[1] != dst->ne[2] || idx->ne[2] != dst->ne[3] || idx->ne[3] != 1)
        return wk_err_null(WK_ERR_SHAPE, "SET_ROWS: source, index and destination shapes do not fit");
    wk_tensor *t = wk_tensor_alloc_meta(ctx, dst->type, 4, dst->ne);
    if (!t) return NULL;
    memcpy(t->nb, dst->nb, sizeof t->nb);
    t->op = WK_OP_SET_ROWS;
    t->src[0] = dst;
    t->src[1] = src;
    t->src[2] = idx;
    make_view(t, dst, 0);
    return t;
}

wk_tensor *wk_concat(wk_ctx *ctx, wk_tensor *a, wk_tensor *b, int dim) {
    CHECK_ARG(ctx && a && b, "CONCAT");
    if (dim < 0 || dim > 3) return wk_err_null(WK_ERR_INVALID_ARG, "CONCAT: dim %d not in 0..3", dim);
    if (!need_f32(a, "CONCAT") || !need_f32(b, "CONCAT")) return NULL;
    int64_t ne[4];
    for (int i = 0; i < 4; i++) {
        if (i != dim && a->ne[i] != b->ne[i])
            return wk_err_null(WK_ERR_SHAPE, "CONCAT: dim %d differs (%lld vs %lld)", i, (long long)a->ne[i],
                               (long long)b->ne[i]);
        ne[i] = i == dim ? a->ne[i] + b->ne[i] : a->ne[i];
    }
    wk_tensor *t = new_node(ctx, WK_OP_CONCAT, WK_TYPE_F32, ne, a, b, NULL, NULL);
    if (t) t->op_params[0] = dim;
    return t;
}

/* ---- matrix products --------------------------------------------------------- */

wk_tensor *wk_mul_mat(wk_ctx *ctx, wk_tensor *a, wk_tensor *b) {
    CHECK_ARG(ctx && a && b, "MUL_MAT");
    if (!is_float_type(a->type) && !is_quant_weight(a->type))
        return wk_err_null(WK_ERR_UNSUPPORTED, "MUL_MAT: weights of type %s not supported yet",
                           wk_type_name(a->type));
    if (!need_f32(b, "MUL_MAT")) return NULL;
    if (a->ne[0] != b->ne[0])
        return wk_err_null(WK_ERR_SHAPE, "MUL_MAT: inner dims differ (%lld vs %lld)", (long long)a->ne[0],
                           (long long)b->ne[0]);
    if (b->ne[2] % a->ne[2] || b->ne[3] % a->ne[3])
        return wk_err_null(WK_ERR_SHAPE, "MUL_MAT: batch dims of a [%lld,%lld] do not divide b's [%lld,%lld]",
                           (long long)a->ne[2], (long long)a->ne[3], (long long)b->ne[2], (long long)b->ne[3]);
    if (a->nb[0] != wk_type_size(a->type) || b->nb[0] != sizeof(float))
        return wk_err_null(WK_ERR_SHAPE, "MUL_MAT: rows must be contiguous along dim 0");
    const int64_t ne[4] = {a->ne[1], b->ne[1], b->ne[2], b->ne[3]};
    return new_node(ctx, WK_OP_MUL_MAT, WK_TYPE_F32, ne, a, b, NULL, NULL);
}

wk_tensor *wk_out_prod(wk_ctx *ctx, wk_tensor *a, wk_tensor *b) {
    CHECK_ARG(ctx && a && b, "OUT_PROD");
    /* a quantized a (a frozen weight: the input gradient of its MUL_MAT) is read row by row */
    const bool qa = wk_type_block_size(a->type) > 1;
    if (qa && (a->ne[2] != 1 || a->ne[3] != 1 || b->ne[2] != 1 || b->ne[3] != 1 || !wk_tensor_is_contiguous(a)))
        return wk_err_null(WK_ERR_UNSUPPORTED, "OUT_PROD: a quantized a must be a contiguous matrix, b 2-D");
    if ((!qa && !need_f32(a, "OUT_PROD")) || !need_f32(b, "OUT_PROD")) return NULL;
    if (a->ne[1] != b->ne[1])
        return wk_err_null(WK_ERR_SHAPE, "OUT_PROD: dim 1 differs (%lld vs %lld)", (long long)a->ne[1],
                           (long long)b->ne[1]);
    if (b->ne[2] % a->ne[2] || b->ne[3] % a->ne[3])
        return wk_err_null(WK_ERR_SHAPE, "OUT_PROD: batch dims of a do not divide b's");
    const int64_t ne[4] = {a->ne[0], b->ne[0], b->ne[2], b->ne[3]};
    return new_node(ctx, WK_OP_OUT_PROD, WK_TYPE_F32, ne, a, b, NULL, NULL);
}

/* ---- normalization, softmax, rope, attention, loss ------------------------------ */

static wk_tensor *norm_op(wk_ctx *ctx, wk_op op, wk_tensor *a, float eps) {
    if (!(eps >= 0)) return wk_err_null(WK_ERR_INVALID_ARG, "%s: eps %g must be >= 0", wk_op_name(op), eps);
    wk_tensor *t = unary(ctx, op, a);
    if (t) wk_set_param_f32(t, 0, eps);
    return t;
}
wk_tensor *wk_rms_norm(wk_ctx *ctx, wk_tensor *a, float eps) { return norm_op(ctx, WK_OP_RMS_NORM, a, eps); }
wk_tensor *wk_norm(wk_ctx *ctx, wk_tensor *a, float eps) { return norm_op(ctx, WK_OP_NORM, a, eps); }

static bool mask_ok(const wk_tensor *mask, int64_t ne0, int64_t nrows, const char *op) {
    if (!mask) return true;
    if (mask->type != WK_TYPE_F32 && mask->type != WK_TYPE_F16) {
        wk_err(WK_ERR_UNSUPPORTED, "%s: mask must be f32 or f16", op);
        return false;
    }
    if (mask->ne[0] != ne0 || mask->ne[1] < nrows || mask->ne[2] != 1 || mask->ne[3] != 1) {
        wk_err(WK_ERR_SHAPE, "%s: mask [%lld,%lld] does not cover [%lld,%lld]", op, (long long)mask->ne[0],
               (long long)mask->ne[1], (long long)ne0, (long long)nrows);
        return false;
    }
    return true;
}

wk_tensor *wk_soft_max(wk_ctx *ctx, wk_tensor *a, wk_tensor *mask, float scale) {
    CHECK_ARG(ctx && a, "SOFT_MAX");
    if (!need_f32(a, "SOFT_MAX") || !mask_ok(mask, a->ne[0], a->ne[1], "SOFT_MAX")) return NULL;
    wk_tensor *t = new_node(ctx, WK_OP_SOFT_MAX, WK_TYPE_F32, a->ne, a, mask, NULL, NULL);
    if (t) wk_set_param_f32(t, 0, scale);
    return t;
}

wk_rope_params wk_rope_params_default(int n_rot, wk_rope_mode mode) {
    wk_rope_params p = {n_rot, mode, 0, 10000.0f, 1.0f, 0.0f, 1.0f, 32.0f, 1.0f};
    return p;
}

wk_tensor *wk_rope(wk_ctx *ctx, wk_tensor *a, wk_tensor *pos, wk_tensor *ff, const wk_rope_params *p) {
    CHECK_ARG(ctx && a && pos && p, "ROPE");
    if (!need_f32(a, "ROPE")) return NULL;
    if (a->ne[3] != 1) return wk_err_null(WK_ERR_SHAPE, "ROPE: input must be [head_dim, n_head, n_tokens, 1]");
    if (p->ext_factor != 0 && (p->n_ctx_orig <= 0 || !(p->beta_fast > 0) || !(p->beta_slow > 0)))
        return wk_err_null(WK_ERR_INVALID_ARG, "ROPE: YaRN needs n_ctx_orig > 0 and beta_fast, beta_slow > 0");
    if (p->mode != WK_ROPE_NORMAL && p->mode != WK_ROPE_NEOX)
        return wk_err_null(WK_ERR_INVALID_ARG, "ROPE: unknown mode %d", (int)p->mode);
    if (p->n_rot <= 0 || p->n_rot % 2 || p->n_rot > a->ne[0])
        return wk_err_null(WK_ERR_INVALID_ARG, "ROPE: n_rot %d must be even and in 2..%lld", p->n_rot,
                           (long long)a->ne[0]);
    if (pos->type != WK_TYPE_I32 || pos->ne[0] != a->ne[2] || wk_tensor_nelements(pos) != pos->ne[0])
        return wk_err_null(WK_ERR_SHAPE, "ROPE: positions must be i32 [%lld]", (long long)a->ne[2]);
    if (ff && (ff->type != WK_TYPE_F32 || wk_tensor_nelements(ff) < p->n_rot / 2))
        return wk_err_null(WK_ERR_SHAPE, "ROPE: frequency factors must be f32 with >= %d elements", p->n_rot / 2);
    if (!(p->freq_base > 0) || !(p->freq_scale > 0))
        return wk_err_null(WK_ERR_INVALID_ARG, "ROPE: freq_base and freq_scale must be > 0");
    wk_tensor *t = new_node(ctx, WK_OP_ROPE, WK_TYPE_F32, a->ne, a, pos, ff, NULL);
    if (!t) return NULL;
    t->op_params[0] = p->n_rot;
    t->op_params[1] = (int32_t)p->mode;
    t->op_params[2] = p->n_ctx_orig;
    wk_set_param_f32(t, 3, p->freq_base);
    wk_set_param_f32(t, 4, p->freq_scale);
    wk_set_param_f32(t, 5, p->ext_factor);
    wk_set_param_f32(t, 6, p->attn_factor);
    wk_set_param_f32(t, 7, p->beta_fast);
    wk_set_param_f32(t, 8, p->beta_slow);
    return t;
}

wk_tensor *wk_flash_attn(wk_ctx *ctx, wk_tensor *q, wk_tensor *k, wk_tensor *v, wk_tensor *mask, float scale,
                         float softcap) {
    CHECK_ARG(ctx && q && k && v, "FLASH_ATTN");
    if (!need_f32(q, "FLASH_ATTN")) return NULL;
    if ((k->type != WK_TYPE_F32 && k->type != WK_TYPE_F16 && k->type != WK_TYPE_Q8_0) ||
        (v->type != WK_TYPE_F32 && v->type != WK_TYPE_F16 && v->type != WK_TYPE_Q8_0))
        return wk_err_null(WK_ERR_UNSUPPORTED, "FLASH_ATTN: k and v must be f32, f16 or q8_0");
    /* q8_0 rows are read block by block: the blocks of one head row must be adjacent */
    if ((k->type == WK_TYPE_Q8_0 && k->nb[0] != wk_type_size(k->type)) ||
        (v->type == WK_TYPE_Q8_0 && v->nb[0] != wk_type_size(v->type)))
        return wk_err_null(WK_ERR_SHAPE, "FLASH_ATTN: q8_0 k/v rows must be contiguous");
    if (k->ne[0] != q->ne[0] || v->ne[1] != k->ne[1] || v->ne[2] != k->ne[2] || q->ne[3] != 1 ||
        k->ne[3] != 1 || v->ne[3] != 1)
        return wk_err_null(WK_ERR_SHAPE, "FLASH_ATTN: q/k/v shapes do not fit");
    if (q->ne[2] % k->ne[2])
        return wk_err_null(WK_ERR_SHAPE, "FLASH_ATTN: %lld query heads not a multiple of %lld kv heads",
                           (long long)q->ne[2], (long long)k->ne[2]);
    if (!mask_ok(mask, k->ne[1], q->ne[1], "FLASH_ATTN")) return NULL;
    if (!(softcap >= 0)) return wk_err_null(WK_ERR_INVALID_ARG, "FLASH_ATTN: softcap must be >= 0");
    const int64_t ne[4] = {v->ne[0], q->ne[2], q->ne[1], 1};
    wk_tensor *t = new_node(ctx, WK_OP_FLASH_ATTN, WK_TYPE_F32, ne, q, k, v, mask);
    if (!t) return NULL;
    wk_set_param_f32(t, 0, scale);
    wk_set_param_f32(t, 1, softcap);
    return t;
}

wk_tensor *wk_cross_entropy(wk_ctx *ctx, wk_tensor *logits, wk_tensor *labels) {
    CHECK_ARG(ctx && logits && labels, "CROSS_ENTROPY");
    if (!need_f32(logits, "CROSS_ENTROPY")) return NULL;
    if (labels->type != WK_TYPE_I32 || wk_tensor_nelements(labels) != wk_nrows(logits))
        return wk_err_null(WK_ERR_SHAPE, "CROSS_ENTROPY: labels must be i32 with one entry per row (%lld)",
                           (long long)wk_nrows(logits));
    const int64_t ne[4] = {1, 1, 1, 1};
    return new_node(ctx, WK_OP_CROSS_ENTROPY, WK_TYPE_F32, ne, logits, labels, NULL, NULL);
}

wk_tensor *wk_kl_div(wk_ctx *ctx, wk_tensor *logits, wk_tensor *targets) {
    CHECK_ARG(ctx && logits && targets, "KL_DIV");
    if (!need_f32(logits, "KL_DIV") || !need_f32(targets, "KL_DIV")) return NULL;
    if (!wk_tensor_same_shape(logits, targets))
        return wk_err_null(WK_ERR_SHAPE, "KL_DIV: targets must have the logits' shape");
    const int64_t ne[4] = {1, 1, 1, 1};
    return new_node(ctx, WK_OP_CROSS_ENTROPY, WK_TYPE_F32, ne, logits, targets, NULL, NULL);
}

/* ---- broadcast and backward ops (gradient rules in backward.c) --------------------- */

static bool shape_ok(const int64_t ne[4]) {
    for (int i = 0; i < 4; i++)
        if (ne[i] <= 0) return false;
    return true;
}

wk_tensor *wk_repeat(wk_ctx *ctx, wk_tensor *a, const int64_t ne[4]) {
    CHECK_ARG(ctx && a && ne, "REPEAT");
    if (!need_f32(a, "REPEAT")) return NULL;
    for (int i = 0; i < 4; i++)
        if (ne[i] <= 0 || ne[i] % a->ne[i])
            return wk_err_null(WK_ERR_SHAPE, "REPEAT: dim %d of %lld does not tile %lld", i, (long long)a->ne[i],
                               (long long)ne[i]);
    return new_node(ctx, WK_OP_REPEAT, WK_TYPE_F32, ne, a, NULL, NULL, NULL);
}

wk_tensor *wk_repeat_back(wk_ctx *ctx, wk_tensor *a, const int64_t ne[4], bool block) {
    CHECK_ARG(ctx && a && ne, "REPEAT_BACK");
    if (!need_f32(a, "REPEAT_BACK")) return NULL;
    for (int i = 0; i < 4; i++)
        if (ne[i] <= 0 || a->ne[i] % ne[i])
            return wk_err_null(WK_ERR_SHAPE, "REPEAT_BACK: dim %d of %lld does not divide %lld", i, (long long)ne[i],
                               (long long)a->ne[i]);
    wk_tensor *t = new_node(ctx, WK_OP_REPEAT_BACK, WK_TYPE_F32, ne, a, NULL, NULL, NULL);
    if (t) t->op_params[0] = block;
    return t;
}

wk_tensor *wk_unary_back(wk_ctx *ctx, wk_tensor *g, wk_tensor *x, const wk_tensor *fwd) {
    CHECK_ARG(ctx && g && x && fwd, "UNARY_BACK");
    if (!need_f32(g, "UNARY_BACK") || !need_f32(x, "UNARY_BACK")) return NULL;
    if (!wk_tensor_same_shape(g, x)) return wk_err_null(WK_ERR_SHAPE, "UNARY_BACK: gradient and input shapes differ");
    switch (fwd->op) {
    case WK_OP_SQR: case WK_OP_SQRT: case WK_OP_EXP: case WK_OP_LOG: case WK_OP_TANH: case WK_OP_SILU:
    case WK_OP_GELU: case WK_OP_GELU_ERF: case WK_OP_SOFTCAP: case WK_OP_CLAMP: break;
    default: return wk_err_null(WK_ERR_UNSUPPORTED, "UNARY_BACK: no derivative for %s", wk_op_name(fwd->op));
    }
    wk_tensor *t = new_node(ctx, WK_OP_UNARY_BACK, WK_TYPE_F32, g->ne, g, x, NULL, NULL);
    if (!t) return NULL;
    t->op_params[0] = (int32_t)fwd->op;
    t->op_params[1] = fwd->op_params[0];
    t->op_params[2] = fwd->op_params[1];
    return t;
}

static void set_i64(wk_tensor *t, int slot, int64_t v) { memcpy(&t->op_params[slot], &v, sizeof v); }

wk_tensor *wk_view_back(wk_ctx *ctx, wk_tensor *g, const wk_tensor *view, const wk_tensor *src) {
    CHECK_ARG(ctx && g && view && src, "VIEW_BACK");
    if (!need_f32(g, "VIEW_BACK")) return NULL;
    if (!wk_tensor_same_shape(g, view)) return wk_err_null(WK_ERR_SHAPE, "VIEW_BACK: gradient and view shapes differ");
    /* element offsets are only meaningful relative to a contiguous source */
    const size_t es = wk_type_size(src->type);
    if (wk_type_block_size(src->type) != 1 || !wk_tensor_is_contiguous(src))
        return wk_err_null(WK_ERR_UNSUPPORTED, "VIEW_BACK: the viewed tensor must be contiguous and unquantized");
    const size_t src_offs = src->view_src ? src->view_offs : 0;
    const wk_tensor *root = src->view_src ? src->view_src : src;
    const wk_tensor *vroot = view->view_src ? view->view_src : view;
    if (vroot != root || view->view_offs < src_offs || (view->view_offs - src_offs) % es)
        return wk_err_null(WK_ERR_SHAPE, "VIEW_BACK: the view does not start on an element of its source");
    for (int i = 0; i < 4; i++)
        if (view->nb[i] % es) return wk_err_null(WK_ERR_SHAPE, "VIEW_BACK: view strides are not whole elements");
    wk_tensor *t = new_node(ctx, WK_OP_VIEW_BACK, WK_TYPE_F32, src->ne, g, NULL, NULL, NULL);
    if (!t) return NULL;
    set_i64(t, 0, (int64_t)((view->view_offs - src_offs) / es));
    for (int i = 0; i < 4; i++) set_i64(t, 2 + 2 * i, (int64_t)(view->nb[i] / es));
    return t;
}

wk_tensor *wk_get_rows_back(wk_ctx *ctx, wk_tensor *g, wk_tensor *idx, const int64_t ne[4]) {
    CHECK_ARG(ctx && g && idx && ne, "GET_ROWS_BACK");
    if (!need_f32(g, "GET_ROWS_BACK")) return NULL;
    if (idx->type != WK_TYPE_I32) return wk_err_null(WK_ERR_INVALID_ARG, "GET_ROWS_BACK: indices must be i32");
    if (!shape_ok(ne) || g->ne[0] != ne[0] || g->ne[1] != idx->ne[0] || g->ne[2] != ne[2] || g->ne[3] != ne[3] ||
        idx->ne[1] != ne[2] || idx->ne[2] != ne[3] || idx->ne[3] != 1)
        return wk_err_null(WK_ERR_SHAPE, "GET_ROWS_BACK: gradient, index and source shapes do not fit");
    return new_node(ctx, WK_OP_GET_ROWS_BACK, WK_TYPE_F32, ne, g, idx, NULL, NULL);
}

static wk_tensor *row_back(wk_ctx *ctx, wk_op op, wk_tensor *g, wk_tensor *x, float param) {
    CHECK_ARG(ctx && g && x, wk_op_name(op));
    if (!need_f32(g, wk_op_name(op)) || !need_f32(x, wk_op_name(op))) return NULL;
    if (!wk_tensor_same_shape(g, x)) return wk_err_null(WK_ERR_SHAPE, "%s: shapes differ", wk_op_name(op));
    wk_tensor *t = new_node(ctx, op, WK_TYPE_F32, g->ne, g, x, NULL, NULL);
    if (t) wk_set_param_f32(t, 0, param);
    return t;
}
wk_tensor *wk_rms_norm_back(wk_ctx *ctx, wk_tensor *g, wk_tensor *x, float eps) {
    return row_back(ctx, WK_OP_RMS_NORM_BACK, g, x, eps);
}
wk_tensor *wk_norm_back(wk_ctx *ctx, wk_tensor *g, wk_tensor *x, float eps) {
    return row_back(ctx, WK_OP_NORM_BACK, g, x, eps);
}
wk_tensor *wk_soft_max_back(wk_ctx *ctx, wk_tensor *g, wk_tensor *y, float scale) {
    return row_back(ctx, WK_OP_SOFT_MAX_BACK, g, y, scale);
}

wk_tensor *wk_rope_back(wk_ctx *ctx, wk_tensor *g, const wk_tensor *fwd) {
    CHECK_ARG(ctx && g && fwd, "ROPE_BACK");
    if (fwd->op != WK_OP_ROPE || !need_f32(g, "ROPE_BACK")) {
        if (fwd->op != WK_OP_ROPE) wk_err(WK_ERR_INVALID_ARG, "ROPE_BACK: not the gradient of a ROPE node");
        return NULL;
    }
    if (!wk_tensor_same_shape(g, fwd)) return wk_err_null(WK_ERR_SHAPE, "ROPE_BACK: gradient shape differs");
    wk_tensor *t = new_node(ctx, WK_OP_ROPE_BACK, WK_TYPE_F32, g->ne, g, fwd->src[1], fwd->src[2], NULL);
    if (t) memcpy(t->op_params, fwd->op_params, sizeof t->op_params);
    return t;
}

wk_tensor *wk_cross_entropy_back(wk_ctx *ctx, wk_tensor *g, wk_tensor *logits, wk_tensor *labels) {
    CHECK_ARG(ctx && g && logits && labels, "CROSS_ENTROPY_BACK");
    if (!need_f32(g, "CROSS_ENTROPY_BACK") || !need_f32(logits, "CROSS_ENTROPY_BACK")) return NULL;
    const bool soft = labels->type == WK_TYPE_F32 && wk_tensor_same_shape(labels, logits);
    if (wk_tensor_nelements(g) != 1 || (!soft && (labels->type != WK_TYPE_I32 ||
                                                  wk_tensor_nelements(labels) != wk_nrows(logits))))
        return wk_err_null(WK_ERR_SHAPE, "CROSS_ENTROPY_BACK: needs a scalar gradient and one i32 label per row "
                                         "(or f32 targets of the logits' shape)");
    return new_node(ctx, WK_OP_CROSS_ENTROPY_BACK, WK_TYPE_F32, logits->ne, g, logits, labels, NULL);
}
