/* tensor.h — internal layout of tensors, contexts and graphs, shared by core and backends.
 * A tensor is metadata plus a data pointer; ops only record nodes (op, sources, params).
 * Views keep view_src/view_offs so the planner can resolve their data after allocation. */
#ifndef WK_CORE_TENSOR_H
#define WK_CORE_TENSOR_H

#include "wick.h"
#include "error.h"

typedef enum {
#define WK_OP(name, nsrc, grad) WK_OP_##name,
#include "ops.def"
#undef WK_OP
    WK_OP_COUNT
} wk_op;

#define WK_MAX_SRC 4
#define WK_MAX_OP_PARAMS 16  /* int32 slots; floats stored bitwise */
#define WK_MAX_NAME 64

enum {
    WK_FLAG_PARAM = 1u << 0,
    WK_FLAG_OUTPUT = 1u << 1,
    WK_FLAG_INPUT = 1u << 2,
    WK_FLAG_OWNS_DATA = 1u << 3,  /* data was allocated by the context */
    WK_FLAG_PLANNED = 1u << 4,    /* data points into some graph's activation buffer */
};

struct wk_tensor {
    wk_type type;
    int64_t ne[WK_MAX_DIMS];
    size_t nb[WK_MAX_DIMS];
    wk_op op;
    int32_t op_params[WK_MAX_OP_PARAMS];
    struct wk_tensor *src[WK_MAX_SRC];
    struct wk_tensor *view_src;  /* non-NULL: data = view_src->data + view_offs */
    size_t view_offs;
    struct wk_buffer *buffer;    /* where the bytes live (NULL: caller-owned or context host memory) */
    size_t offs;                 /* byte offset in buffer */
    void *data;                  /* host address of the bytes; NULL in device memory */
    uint32_t flags;
    struct wk_tensor *grad;      /* reserved for autodiff */
    struct wk_tensor *next;      /* context's list of tensors */
    char name[WK_MAX_NAME];
};

struct wk_graph {
    wk_ctx *ctx;
    int n_nodes, cap_nodes;
    wk_tensor **nodes;           /* ops in execution order */
    int n_leafs, cap_leafs;
    wk_tensor **leafs;           /* tensors with op NONE reachable from the outputs */
    /* memory plan (planner.c) */
    bool planned;
    size_t plan_bytes, naive_bytes;
    size_t *plan_offs;           /* per node: offset into the activation buffer, or SIZE_MAX */
    void *buf;                   /* activation buffer, owned by the graph */
    size_t buf_size;
    struct wk_sched_plan *splan; /* multi-backend plan (sched.c), owned by the graph */
    struct wk_graph *next;
};

struct wk_ctx {
    bool no_alloc;
    wk_tensor *tensors;          /* singly linked, newest first */
    wk_graph *graphs;
};

/* helpers used across core and backends */
static inline int64_t wk_nrows(const wk_tensor *t) { return t->ne[1] * t->ne[2] * t->ne[3]; }
static inline float wk_param_f32(const wk_tensor *t, int i) {
    float f;
    __builtin_memcpy(&f, &t->op_params[i], sizeof f);
    return f;
}
static inline void wk_set_param_f32(wk_tensor *t, int i, float f) {
    __builtin_memcpy(&t->op_params[i], &f, sizeof f);
}
static inline void *wk_elem_ptr(const wk_tensor *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    return (char *)t->data + i0 * t->nb[0] + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3];
}

const char *wk_op_name(wk_op op);
int wk_op_n_src(wk_op op);
bool wk_op_has_grad(wk_op op);
bool wk_tensor_same_shape(const wk_tensor *a, const wk_tensor *b);
/* Views and layout ops allocate no memory of their own. */
bool wk_op_is_view(wk_op op);
/* Allocates a tensor struct in ctx with contiguous strides; data untouched (NULL). */
wk_tensor *wk_tensor_alloc_meta(wk_ctx *ctx, wk_type type, int n_dims, const int64_t *ne);

#endif
