/* backward.c — reverse-mode autodiff: appends to a graph the nodes computing the gradient
 * of a scalar loss with respect to every param. Which tensors need a gradient is found
 * in one forward pass (a tensor needs one when a differentiable source does); then the
 * nodes are walked in reverse, each op's rule turning the gradient of its result into
 * gradients of its sources, accumulated with ADD when a tensor is read several times.
 * Rules are written with existing ops where they fit; the rest use the *_BACK ops
 * (backward.h). A tensor's gradient is kept in its reserved `grad` field. FLASH_ATTN is
 * differentiated through its decomposition, recomputed here, so no dedicated kernel. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backward.h"
#include "graph.h"

/* ---- a set of tensors (open addressing) ------------------------------------------ */

typedef struct { const wk_tensor **slot; size_t cap, n; } tset;

static size_t hash_ptr(const void *p) { return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull); }

static bool tset_has(const tset *s, const wk_tensor *t) {
    if (!s->cap || !t) return false;
    for (size_t h = hash_ptr(t) & (s->cap - 1); s->slot[h]; h = (h + 1) & (s->cap - 1))
        if (s->slot[h] == t) return true;
    return false;
}

static bool tset_add(tset *s, const wk_tensor *t) {
    if ((s->n + 1) * 2 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        const wk_tensor **ns = calloc(nc, sizeof *ns);
        if (!ns) return false;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slot[i]) continue;
            size_t h = hash_ptr(s->slot[i]) & (nc - 1);
            while (ns[h]) h = (h + 1) & (nc - 1);
            ns[h] = s->slot[i];
        }
        free(s->slot);
        s->slot = ns;
        s->cap = nc;
    }
    size_t h = hash_ptr(t) & (s->cap - 1);
    while (s->slot[h]) {
        if (s->slot[h] == t) return true;
        h = (h + 1) & (s->cap - 1);
    }
    s->slot[h] = t;
    s->n++;
    return true;
}

/* ---- state and helpers ------------------------------------------------------------ */

typedef struct {
    wk_ctx *ctx;
    tset needs; /* tensors whose value depends on a param through differentiable inputs */
    bool unsupported; /* the failing rule met a case it cannot differentiate */
} bw_state;

/* Sources a gradient flows into: not indices, positions, labels, masks or frequency
 * factors, nor the buffer CPY overwrites. SET_ROWS's destination is one: the rows it
 * does not overwrite pass through. */
static bool diff_src(wk_op op, int s) {
    switch (op) {
    case WK_OP_GET_ROWS: case WK_OP_ROPE: case WK_OP_CROSS_ENTROPY: case WK_OP_SOFT_MAX: case WK_OP_CPY:
        return s == 0;
    case WK_OP_SET_ROWS: return s <= 1;
    case WK_OP_FLASH_ATTN: return s <= 2;
    default: return true;
    }
}

static const char *name_of(const wk_tensor *t) { return t->name[0] ? t->name : "(unnamed)"; }

static bool needs(const bw_state *b, const wk_tensor *t) { return tset_has(&b->needs, t); }

/* Marks t when an input it differentiates through needs a gradient. */
static bool mark(bw_state *b, const wk_tensor *t) {
    if (!wk_op_has_grad(t->op)) return true;
    for (int s = 0; s < WK_MAX_SRC; s++)
        if (t->src[s] && diff_src(t->op, s) && needs(b, t->src[s])) return tset_add(&b->needs, t);
    return true;
}

/* The message of the builder that failed, prefixed with the node being differentiated. */
static wk_status fail_st(const bw_state *b, const wk_tensor *t) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s", wk_last_error());
    return wk_err(b->unsupported ? WK_ERR_UNSUPPORTED : WK_ERR_SHAPE, "backward of %s '%s': %s", wk_op_name(t->op), name_of(t), msg);
}

/* Adds the contribution d to t's gradient (nothing when t needs none). */
static bool acc(bw_state *b, wk_tensor *t, wk_tensor *d) {
    if (!d) return false;
    if (!needs(b, t)) return true;
    if (!t->grad) {
        t->grad = d;
        return true;
    }
    wk_tensor *sum = wk_add(b->ctx, t->grad, d);
    if (!sum) return false;
    t->grad = sum;
    return true;
}

static wk_tensor *contig(wk_ctx *ctx, wk_tensor *x) {
    if (!x) return NULL;
    return wk_tensor_is_contiguous(x) ? x : wk_cont(ctx, x);
}

/* Gradient of a tensor that ADD/SUB/MUL/DIV broadcast (tiled) to g's shape. */
static wk_tensor *unbroadcast(wk_ctx *ctx, wk_tensor *g, const wk_tensor *like) {
    if (!g || wk_tensor_same_shape(g, like)) return g;
    return wk_repeat_back(ctx, g, like->ne, false);
}

/* A matrix-product source as f32 (out_prod reads f32 only); quantized weights have no
 * transpose to multiply by, so gradients cannot flow past them. */
static wk_tensor *as_f32(bw_state *b, wk_tensor *a, const wk_tensor *t) {
    if (a->type == WK_TYPE_F32) return a;
    if (a->type == WK_TYPE_F16 || a->type == WK_TYPE_BF16) return wk_cast(b->ctx, a, WK_TYPE_F32);
    /* a frozen quantized weight: OUT_PROD reads its rows dequantized (no f32 copy) */
    if (wk_type_block_size(a->type) > 1 && a->ne[2] == 1 && a->ne[3] == 1) return a;
    (void)t;
    b->unsupported = true;
    return wk_err_null(WK_ERR_UNSUPPORTED, "no gradient through %s weights", wk_type_name(a->type));
}

static wk_status rule(bw_state *b, wk_tensor *t);

/* ---- FLASH_ATTN through its decomposition ----------------------------------------------
 * S = k^T q (per head, k shared by its group of query heads), optional cap, P = softmax(S
 * * scale + mask), out = v P permuted to [Dv, n_head, n_q]. The same ops as a plain
 * attention graph, so their rules apply; recomputing them here keeps the forward fused. */
static wk_status flash_attn_rule(bw_state *b, wk_tensor *t) {
    wk_ctx *ctx = b->ctx;
    wk_tensor *q = t->src[0], *k = t->src[1], *v = t->src[2], *mask = t->src[3];
    const float scale = wk_param_f32(t, 0), softcap = wk_param_f32(t, 1);
    if (mask && needs(b, mask))
        return wk_err(WK_ERR_UNSUPPORTED, "backward of FLASH_ATTN '%s': the mask cannot take a gradient", name_of(t));
    wk_tensor *dec[12];
    int n = 0;
#define DEC(x)                              \
    do {                                    \
        wk_tensor *x_ = (x);                \
        if (!x_) return fail_st(b, t);            \
        dec[n++] = x_;                      \
    } while (0)
    wk_tensor *qc = q, *kc = k;
    if (q->nb[0] != sizeof(float)) DEC(qc = wk_cont(ctx, q));
    if (k->nb[0] != wk_type_size(k->type)) DEC(kc = wk_cont(ctx, k));
    DEC(wk_mul_mat(ctx, kc, qc)); /* [n_kv, n_q, n_head] */
    if (softcap != 0) {
        DEC(wk_scale(ctx, dec[n - 1], scale));
        DEC(wk_softcap(ctx, dec[n - 1], softcap));
        DEC(wk_soft_max(ctx, dec[n - 1], mask, 1.0f));
    } else {
        DEC(wk_soft_max(ctx, dec[n - 1], mask, scale));
    }
    wk_tensor *p = dec[n - 1];
    DEC(wk_transpose(ctx, v));
    DEC(wk_cont(ctx, dec[n - 1])); /* v^T [n_kv, Dv, n_head_kv] */
    DEC(wk_mul_mat(ctx, dec[n - 1], p)); /* [Dv, n_q, n_head] */
    DEC(wk_permute(ctx, dec[n - 1], 0, 2, 1, 3)); /* [Dv, n_head, n_q] like t */
#undef DEC
    for (int i = 0; i < n; i++)
        if (!mark(b, dec[i])) return wk_err(WK_ERR_NOMEM, "backward: out of memory");
    dec[n - 1]->grad = t->grad;
    for (int i = n - 1; i >= 0; i--) {
        if (!dec[i]->grad) continue;
        wk_status st = rule(b, dec[i]);
        if (st != WK_OK) return st;
    }
    return WK_OK;
}

/* ---- one rule per op ----------------------------------------------------------------- */

static wk_status rule(bw_state *b, wk_tensor *t) {
    wk_ctx *ctx = b->ctx;
    wk_tensor *g = t->grad, *a = t->src[0], *s1 = t->src[1];
    const bool na = a && needs(b, a), n1 = s1 && needs(b, s1);
#define ACC(dst, expr)                                 \
    do {                                               \
        if (!acc(b, (dst), (expr))) return fail_st(b, t);    \
    } while (0)
    switch (t->op) {
    case WK_OP_ADD:
        if (na) ACC(a, g);
        if (n1) ACC(s1, unbroadcast(ctx, g, s1));
        break;
    case WK_OP_SUB:
        if (na) ACC(a, g);
        if (n1) ACC(s1, wk_scale(ctx, unbroadcast(ctx, g, s1), -1.0f));
        break;
    case WK_OP_MUL:
        if (na) ACC(a, wk_mul(ctx, g, s1));
        if (n1) ACC(s1, unbroadcast(ctx, wk_mul(ctx, g, a), s1));
        break;
    case WK_OP_DIV: /* d/db (a / b) = -(a / b) / b */
        if (na) ACC(a, wk_div(ctx, g, s1));
        if (n1) ACC(s1, wk_scale(ctx, unbroadcast(ctx, wk_div(ctx, wk_mul(ctx, g, t), s1), s1), -1.0f));
        break;
    case WK_OP_SCALE: ACC(a, wk_scale(ctx, g, wk_param_f32(t, 0))); break;
    case WK_OP_SQR: case WK_OP_SQRT: case WK_OP_EXP: case WK_OP_LOG: case WK_OP_TANH: case WK_OP_SILU:
    case WK_OP_GELU: case WK_OP_GELU_ERF: case WK_OP_SOFTCAP: case WK_OP_CLAMP:
        ACC(a, wk_unary_back(ctx, g, a, t));
        break;
    case WK_OP_SWIGLU: case WK_OP_GEGLU: { /* f(a) * b */
        wk_tensor f = {0};
        f.op = t->op == WK_OP_SWIGLU ? WK_OP_SILU : WK_OP_GELU;
        if (na) ACC(a, wk_unary_back(ctx, wk_mul(ctx, g, s1), a, &f));
        if (n1) ACC(s1, wk_mul(ctx, g, t->op == WK_OP_SWIGLU ? wk_silu(ctx, a) : wk_gelu(ctx, a)));
        break;
    }
    case WK_OP_SUM: case WK_OP_SUM_ROWS: ACC(a, wk_repeat(ctx, g, a->ne)); break;
    case WK_OP_MEAN: ACC(a, wk_scale(ctx, wk_repeat(ctx, g, a->ne), 1.0f / (float)a->ne[0])); break;
    case WK_OP_REPEAT: ACC(a, wk_repeat_back(ctx, g, a->ne, false)); break;
    case WK_OP_CPY: /* element k of a went to element k of the result; the old dst is gone */
        if (wk_tensor_same_shape(a, t)) ACC(a, g);
        else ACC(a, wk_reshape(ctx, contig(ctx, g), 4, a->ne));
        break;
    case WK_OP_CONT: ACC(a, g); break;
    case WK_OP_RESHAPE: ACC(a, wk_reshape(ctx, contig(ctx, g), 4, a->ne)); break;
    case WK_OP_VIEW: ACC(a, wk_view_back(ctx, g, t, a)); break;
    case WK_OP_PERMUTE: case WK_OP_TRANSPOSE: {
        int inv[4];
        for (int i = 0; i < 4; i++) inv[t->op_params[i]] = i;
        ACC(a, wk_permute(ctx, g, inv[0], inv[1], inv[2], inv[3]));
        break;
    }
    case WK_OP_GET_ROWS: ACC(a, wk_get_rows_back(ctx, g, s1, a->ne)); break;
    case WK_OP_SET_ROWS: { /* dst keeps the rows not overwritten; src row i became row idx[i] */
        wk_tensor *idx = t->src[2];
        if (n1) ACC(s1, wk_get_rows(ctx, g, idx));
        if (na) {
            bool no_alloc = ctx->no_alloc;
            ctx->no_alloc = false; /* the zeros are data, whatever the context's leaves are */
            wk_tensor *zero = wk_new_tensor(ctx, WK_TYPE_F32, 4, s1->ne);
            ctx->no_alloc = no_alloc;
            if (!zero) return fail_st(b, t);
            wk_tensor *copy = wk_cont(ctx, g); /* a copy: SET_ROWS writes in place */
            ACC(a, copy ? wk_set_rows(ctx, copy, zero, idx) : NULL);
        }
        break;
    }
    case WK_OP_CONCAT: {
        const int d = t->op_params[0];
        wk_tensor *gc = contig(ctx, g);
        if (!gc) return fail_st(b, t);
        const size_t nb[3] = {gc->nb[1], gc->nb[2], gc->nb[3]};
        if (na) ACC(a, wk_view(ctx, gc, 4, a->ne, nb, 0));
        if (n1) ACC(s1, wk_view(ctx, gc, 4, s1->ne, nb, (size_t)a->ne[d] * gc->nb[d]));
        break;
    }
    case WK_OP_MUL_MAT: /* t[i, j] = sum_k a[k, i] b[k, j] */
        if (n1) {
            wk_tensor *af = as_f32(b, a, t);
            ACC(s1, af ? wk_out_prod(ctx, af, wk_transpose(ctx, g)) : NULL);
        }
        if (na) {
            wk_tensor *d = wk_out_prod(ctx, s1, g); /* [K, M, B2, B3]: summed over a's broadcast */
            ACC(a, d && !wk_tensor_same_shape(d, a) ? wk_repeat_back(ctx, d, a->ne, true) : d);
        }
        break;
    case WK_OP_OUT_PROD: /* t[i, j] = sum_k a[i, k] b[j, k] */
        if (na) {
            wk_tensor *d = wk_out_prod(ctx, g, wk_transpose(ctx, s1));
            ACC(a, d && !wk_tensor_same_shape(d, a) ? wk_repeat_back(ctx, d, a->ne, true) : d);
        }
        if (n1) ACC(s1, wk_transpose(ctx, wk_mul_mat(ctx, contig(ctx, a), contig(ctx, g))));
        break;
    case WK_OP_RMS_NORM: ACC(a, wk_rms_norm_back(ctx, g, a, wk_param_f32(t, 0))); break;
    case WK_OP_NORM: ACC(a, wk_norm_back(ctx, g, a, wk_param_f32(t, 0))); break;
    case WK_OP_SOFT_MAX:
        if (s1 && needs(b, s1))
            return wk_err(WK_ERR_UNSUPPORTED, "backward of SOFT_MAX '%s': the mask cannot take a gradient", name_of(t));
        ACC(a, wk_soft_max_back(ctx, g, t, wk_param_f32(t, 0)));
        break;
    case WK_OP_ROPE: ACC(a, wk_rope_back(ctx, g, t)); break;
    case WK_OP_CROSS_ENTROPY: ACC(a, wk_cross_entropy_back(ctx, g, a, s1)); break;
    case WK_OP_FLASH_ATTN: return flash_attn_rule(b, t);
    default:
        return wk_err(WK_ERR_UNSUPPORTED, "backward: op %s has no gradient rule", wk_op_name(t->op));
    }
#undef ACC
    return WK_OK;
}

/* ---- entry points ---------------------------------------------------------------------- */

wk_status wk_graph_build_backward(wk_ctx *ctx, wk_graph *g, wk_tensor *loss) {
    if (!ctx || !g || !loss) return wk_err(WK_ERR_INVALID_ARG, "wk_graph_build_backward: NULL argument");
    if (loss->type != WK_TYPE_F32 || wk_tensor_nelements(loss) != 1)
        return wk_err(WK_ERR_SHAPE, "wk_graph_build_backward: the loss must be an f32 scalar, got %s with %lld elements",
                      wk_type_name(loss->type), (long long)wk_tensor_nelements(loss));
    wk_status st = wk_graph_expand(g, loss); /* no-op when loss is already in g */
    if (st != WK_OK) return st;
    bw_state b = {ctx, {0}, false};
    const int n_nodes = g->n_nodes;
    /* gradients left by an earlier build are stale */
    for (int i = 0; i < g->n_leafs; i++) g->leafs[i]->grad = NULL;
    for (int i = 0; i < n_nodes; i++) g->nodes[i]->grad = NULL;
    for (int i = 0; i < g->n_leafs; i++) {
        wk_tensor *t = g->leafs[i];
        if (!(t->flags & WK_FLAG_PARAM)) continue;
        if (t->type != WK_TYPE_F32) {
            st = wk_err(WK_ERR_UNSUPPORTED, "wk_graph_build_backward: param '%s' is %s; params must be f32", name_of(t),
                        wk_type_name(t->type));
            goto done;
        }
        if (!tset_add(&b.needs, t)) goto oom;
    }
    for (int i = 0; i < n_nodes; i++)
        if (!mark(&b, g->nodes[i])) goto oom;
    if (!needs(&b, loss)) goto done; /* the loss depends on no param: nothing to add */

    bool no_alloc = ctx->no_alloc;
    ctx->no_alloc = false; /* the seed is data, whatever the context's leaves are */
    wk_tensor *seed = wk_new_tensor_1d(ctx, WK_TYPE_F32, 1);
    ctx->no_alloc = no_alloc;
    if (!seed) { st = WK_ERR_NOMEM; goto done; }
    *(float *)seed->data = 1.0f;
    wk_tensor_set_name(seed, "grad_seed");
    loss->grad = seed;

    for (int i = n_nodes - 1; i >= 0; i--) {
        wk_tensor *t = g->nodes[i];
        if (!t->grad || !needs(&b, t)) continue;
        st = rule(&b, t);
        if (st != WK_OK) goto done;
    }
    /* param gradients: contiguous outputs, expanded into g after the forward nodes */
    for (int i = 0; i < g->n_leafs; i++) {
        wk_tensor *t = g->leafs[i];
        if (!(t->flags & WK_FLAG_PARAM) || !t->grad) continue;
        if (!wk_tensor_is_contiguous(t->grad)) {
            wk_tensor *c = wk_cont(ctx, t->grad);
            if (!c) { st = fail_st(&b, t); goto done; }
            t->grad = c;
        }
        if (!t->grad->name[0]) {
            char nm[WK_MAX_NAME + 8];
            snprintf(nm, sizeof nm, "grad.%s", t->name);
            wk_tensor_set_name(t->grad, nm);
        }
        st = wk_graph_expand(g, t->grad);
        if (st != WK_OK) goto done;
    }
done:
    free(b.needs.slot);
    return st;
oom:
    free(b.needs.slot);
    return wk_err(WK_ERR_NOMEM, "wk_graph_build_backward: out of memory");
}

wk_tensor *wk_graph_grad(const wk_graph *g, const wk_tensor *t) {
    if (!g || !t || !t->grad) return NULL;
    /* only a gradient this graph computes (another graph's build may have set it) */
    for (int i = g->n_nodes - 1; i >= 0; i--)
        if (g->nodes[i] == t->grad) return t->grad;
    for (int i = 0; i < g->n_leafs; i++)
        if (g->leafs[i] == t->grad) return t->grad;
    return NULL;
}
