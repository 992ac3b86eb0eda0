/* tensor.c — contexts and leaf tensors. A context owns every tensor and graph made in
 * it; leaves get 64-byte aligned data unless the context is no_alloc. */
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "tensor.h"
#include "types.h"

#define WK_DATA_ALIGN 64

wk_status wk_ctx_create(const wk_ctx_params *params, wk_ctx **out) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "wk_ctx_create: out is NULL");
    *out = NULL;
    wk_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return wk_err(WK_ERR_NOMEM, "wk_ctx_create: out of memory");
    ctx->no_alloc = params ? params->no_alloc : false;
    *out = ctx;
    return WK_OK;
}

void wk_ctx_free(wk_ctx *ctx) {
    if (!ctx) return;
    for (wk_graph *g = ctx->graphs; g;) {
        wk_graph *n = g->next;
        wk_graph_destroy(g);
        g = n;
    }
    for (wk_tensor *t = ctx->tensors; t;) {
        wk_tensor *n = t->next;
        if (t->flags & WK_FLAG_OWNS_DATA) free(t->data);
        free(t);
        t = n;
    }
    free(ctx);
}

wk_tensor *wk_tensor_alloc_meta(wk_ctx *ctx, wk_type type, int n_dims, const int64_t *ne) {
    if (!ctx) return wk_err_null(WK_ERR_INVALID_ARG, "tensor: context is NULL");
    const wk_type_traits *tr = wk_type_traits_of(type);
    if (!tr) return wk_err_null(WK_ERR_UNSUPPORTED, "tensor: unknown type code %d", (int)type);
    if (n_dims < 1 || n_dims > WK_MAX_DIMS || !ne)
        return wk_err_null(WK_ERR_INVALID_ARG, "tensor: n_dims %d not in 1..4", n_dims);
    int64_t shape[WK_MAX_DIMS] = {1, 1, 1, 1};
    for (int i = 0; i < n_dims; i++) {
        if (ne[i] <= 0)
            return wk_err_null(WK_ERR_SHAPE, "tensor: dim %d is %lld, must be > 0", i,
                               (long long)ne[i]);
        shape[i] = ne[i];
    }
    if (shape[0] % tr->block_size != 0)
        return wk_err_null(WK_ERR_SHAPE, "tensor: row of %lld elements is not whole %s blocks of %lld",
                           (long long)shape[0], tr->name, (long long)tr->block_size);
    size_t nb[WK_MAX_DIMS];
    nb[0] = tr->type_size;
    if (!wk_size_mul_ok(tr->type_size, (size_t)(shape[0] / tr->block_size), &nb[1]))
        return wk_err_null(WK_ERR_SHAPE, "tensor: size overflows");
    for (int i = 2; i < WK_MAX_DIMS; i++)
        if (!wk_size_mul_ok(nb[i - 1], (size_t)shape[i - 1], &nb[i]))
            return wk_err_null(WK_ERR_SHAPE, "tensor: size overflows");
    size_t total;
    if (!wk_size_mul_ok(nb[3], (size_t)shape[3], &total))
        return wk_err_null(WK_ERR_SHAPE, "tensor: size overflows");
    wk_tensor *t = calloc(1, sizeof *t);
    if (!t) return wk_err_null(WK_ERR_NOMEM, "tensor: out of memory");
    t->type = type;
    memcpy(t->ne, shape, sizeof shape);
    memcpy(t->nb, nb, sizeof nb);
    t->next = ctx->tensors;
    ctx->tensors = t;
    return t;
}

wk_tensor *wk_new_tensor(wk_ctx *ctx, wk_type type, int n_dims, const int64_t *ne) {
    wk_tensor *t = wk_tensor_alloc_meta(ctx, type, n_dims, ne);
    if (!t || ctx->no_alloc) return t;
    size_t n = wk_tensor_nbytes(t);
    size_t padded = (n + WK_DATA_ALIGN - 1) / WK_DATA_ALIGN * WK_DATA_ALIGN;
    if (padded < n) return wk_err_null(WK_ERR_NOMEM, "tensor: %zu bytes is too large", n);
    t->data = aligned_alloc(WK_DATA_ALIGN, padded);
    if (!t->data) return wk_err_null(WK_ERR_NOMEM, "tensor: cannot allocate %zu bytes", n);
    memset(t->data, 0, padded);
    t->flags |= WK_FLAG_OWNS_DATA;
    return t;
}

wk_tensor *wk_new_tensor_1d(wk_ctx *ctx, wk_type type, int64_t ne0) {
    return wk_new_tensor(ctx, type, 1, &ne0);
}
wk_tensor *wk_new_tensor_2d(wk_ctx *ctx, wk_type type, int64_t ne0, int64_t ne1) {
    int64_t ne[2] = {ne0, ne1};
    return wk_new_tensor(ctx, type, 2, ne);
}
wk_tensor *wk_new_tensor_3d(wk_ctx *ctx, wk_type type, int64_t ne0, int64_t ne1, int64_t ne2) {
    int64_t ne[3] = {ne0, ne1, ne2};
    return wk_new_tensor(ctx, type, 3, ne);
}
wk_tensor *wk_new_tensor_4d(wk_ctx *ctx, wk_type type, int64_t ne0, int64_t ne1, int64_t ne2,
                            int64_t ne3) {
    int64_t ne[4] = {ne0, ne1, ne2, ne3};
    return wk_new_tensor(ctx, type, 4, ne);
}

wk_type wk_tensor_type(const wk_tensor *t) { return t->type; }
int64_t wk_tensor_ne(const wk_tensor *t, int d) { return (d >= 0 && d < 4) ? t->ne[d] : 1; }
size_t wk_tensor_nb(const wk_tensor *t, int d) { return (d >= 0 && d < 4) ? t->nb[d] : 0; }
int64_t wk_tensor_nelements(const wk_tensor *t) { return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]; }

size_t wk_tensor_nbytes(const wk_tensor *t) {
    /* span from the first to one past the last byte, for any strides */
    int64_t bs = wk_type_block_size(t->type);
    for (int i = 0; i < WK_MAX_DIMS; i++)
        if (t->ne[i] <= 0) return 0;
    /* the last element's offset plus one element: nb[0] may differ from the element size
     * (a transposed view), so it cannot stand in for the width of the last element */
    size_t n = wk_type_size(t->type) + (size_t)(t->ne[0] / bs - 1) * t->nb[0];
    for (int i = 1; i < WK_MAX_DIMS; i++) n += (size_t)(t->ne[i] - 1) * t->nb[i];
    return n;
}

bool wk_tensor_is_contiguous(const wk_tensor *t) {
    size_t expect = wk_type_size(t->type);
    if (t->nb[0] != expect) return false;
    expect *= (size_t)(t->ne[0] / wk_type_block_size(t->type));
    for (int i = 1; i < WK_MAX_DIMS; i++) {
        if (t->ne[i] != 1 && t->nb[i] != expect) return false;
        expect *= (size_t)t->ne[i];
    }
    return true;
}

bool wk_tensor_same_shape(const wk_tensor *a, const wk_tensor *b) {
    return a->ne[0] == b->ne[0] && a->ne[1] == b->ne[1] && a->ne[2] == b->ne[2] && a->ne[3] == b->ne[3];
}

void *wk_tensor_data(const wk_tensor *t) { return t ? t->data : NULL; }
void wk_tensor_set_data(wk_tensor *t, void *data) {
    if (t->flags & WK_FLAG_OWNS_DATA) {
        free(t->data);
        t->flags &= ~WK_FLAG_OWNS_DATA;
    }
    t->data = data;
    t->buffer = NULL; /* caller-owned host memory */
    t->offs = 0;
}
void wk_tensor_set_name(wk_tensor *t, const char *name) {
    if (!t) return;
    strncpy(t->name, name ? name : "", WK_MAX_NAME - 1);
    t->name[WK_MAX_NAME - 1] = 0;
}
const char *wk_tensor_name(const wk_tensor *t) { return t->name; }
void wk_tensor_set_param(wk_tensor *t) { t->flags |= WK_FLAG_PARAM; }
void wk_tensor_set_output(wk_tensor *t) { t->flags |= WK_FLAG_OUTPUT; }
