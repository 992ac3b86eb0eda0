/* testutil.h — shared helpers for op tests: seeded random tensors (contiguous, padded
 * and permuted views), element access in f64, graph compute, error reporting, and a
 * loop over every CPU ISA path this machine has. Header-only; each test includes it. */
#ifndef WK_TESTUTIL_H
#define WK_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/isa.h"
#include "src/core/tensor.h"
#include "wick.h"

/* ---- deterministic random numbers (splitmix64) ---- */
static uint64_t tu_state = 0x1234567ull;
static inline void tu_seed(uint64_t s) { tu_state = s; }
static inline uint64_t tu_next(void) {
    uint64_t z = (tu_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline double tu_uniform(double lo, double hi) { return lo + (hi - lo) * ((tu_next() >> 11) * 0x1.0p-53); }
static inline int64_t tu_int(int64_t lo, int64_t hi) { return lo + (int64_t)(tu_next() % (uint64_t)(hi - lo + 1)); }

/* ---- element access in f64 through strides ---- */
static inline double tu_get(const wk_tensor *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    const char *p = (const char *)t->data + i0 * t->nb[0] + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3];
    switch (t->type) {
    case WK_TYPE_F32: return *(const float *)p;
    case WK_TYPE_F16: return wk_fp16_to_fp32(*(const uint16_t *)p);
    case WK_TYPE_BF16: return wk_bf16_to_fp32(*(const uint16_t *)p);
    case WK_TYPE_I32: return *(const int32_t *)p;
    default: return NAN;
    }
}
static inline void tu_set(wk_tensor *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3, double v) {
    char *p = (char *)t->data + i0 * t->nb[0] + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3];
    switch (t->type) {
    case WK_TYPE_F32: *(float *)p = (float)v; break;
    case WK_TYPE_F16: *(uint16_t *)p = wk_fp32_to_fp16((float)v); break;
    case WK_TYPE_BF16: *(uint16_t *)p = wk_fp32_to_bf16((float)v); break;
    case WK_TYPE_I32: *(int32_t *)p = (int32_t)v; break;
    default: break;
    }
}
#define TU_FOR_EACH(t, i0, i1, i2, i3)                 \
    for (int64_t i3 = 0; i3 < (t)->ne[3]; i3++)        \
        for (int64_t i2 = 0; i2 < (t)->ne[2]; i2++)    \
            for (int64_t i1 = 0; i1 < (t)->ne[1]; i1++) \
                for (int64_t i0 = 0; i0 < (t)->ne[0]; i0++)

static inline void tu_fill(wk_tensor *t, double lo, double hi) {
    TU_FOR_EACH(t, i0, i1, i2, i3) tu_set(t, i0, i1, i2, i3, tu_uniform(lo, hi));
}

/* Layouts a test input can have: the op must give the same answer for each. */
typedef enum { TU_CONTIG = 0, TU_PADDED = 1, TU_PERMUTED = 2, TU_N_LAYOUTS = 3 } tu_layout;
static const char *const tu_layout_name[] __attribute__((unused)) = {"contiguous", "padded-rows", "permuted"};

/* A tensor of shape ne with the given layout, filled with uniform values in [lo, hi).
 * padded: a view into a larger tensor (rows and planes have gaps);
 * permuted: dims 0 and 1 swapped in memory (nb[0] != element size), viewed back. */
static inline wk_tensor *tu_rand(wk_ctx *ctx, wk_type type, const int64_t ne[4], tu_layout layout, double lo,
                                 double hi) {
    wk_tensor *t = NULL;
    if (layout == TU_CONTIG) {
        t = wk_new_tensor(ctx, type, 4, ne);
    } else if (layout == TU_PADDED) {
        wk_tensor *big = wk_new_tensor_4d(ctx, type, ne[0] + 3, ne[1] + 1, ne[2] + 1, ne[3]);
        size_t nb[3] = {big->nb[1], big->nb[2], big->nb[3]};
        t = wk_view(ctx, big, 4, ne, nb, big->nb[0] * 1 + big->nb[1] * 0);
        if (t) { t->op = WK_OP_NONE; t->src[0] = NULL; } /* a leaf view: reads big's bytes */
    } else {
        wk_tensor *sw = wk_new_tensor_4d(ctx, type, ne[1], ne[0], ne[2], ne[3]);
        t = wk_permute(ctx, sw, 1, 0, 2, 3);
        if (t) { t->op = WK_OP_NONE; t->src[0] = NULL; }
    }
    if (!t) { fprintf(stderr, "tu_rand: %s\n", wk_last_error()); exit(2); }
    tu_fill(t, lo, hi);
    return t;
}

/* Builds the graph of out and computes it on a CPU backend with n_threads. */
static inline void tu_compute(wk_ctx *ctx, wk_tensor *out, int n_threads) {
    wk_graph *g = wk_graph_new(ctx);
    wk_backend *be = NULL;
    if (!g || wk_graph_expand(g, out) != WK_OK || wk_backend_cpu_create(n_threads, &be) != WK_OK ||
        wk_graph_compute(be, g) != WK_OK) {
        fprintf(stderr, "tu_compute: %s\n", wk_last_error());
        exit(2);
    }
    wk_backend_free(be);
}

/* Compares every element of got with ref (f64, contiguous in got's logical order):
 * |got - ref| <= atol + rtol * |ref|. Prints the worst error; returns 1 on failure. */
static inline int tu_check(const char *what, const wk_tensor *got, const double *ref, double atol, double rtol) {
    double worst = 0, worst_ref = 0, worst_got = 0;
    int64_t bad = 0, n = 0;
    TU_FOR_EACH(got, i0, i1, i2, i3) {
        double g = tu_get(got, i0, i1, i2, i3), r = ref[n++];
        double err = fabs(g - r), tol = atol + rtol * fabs(r);
        bool nan_ok = isnan(g) && isnan(r);
        if (!nan_ok && (!(err <= tol))) bad++;
        if (!nan_ok && (err > worst || isnan(err))) { worst = err; worst_ref = r; worst_got = g; }
    }
    printf("  %-48s n=%-7lld max|err|=%.3g (got %.6g ref %.6g)%s\n", what, (long long)n, worst, worst_got,
           worst_ref, bad ? "  FAIL" : "");
    return bad ? 1 : 0;
}

/* ISA paths this CPU can run; tests loop over them. */
static const char *const tu_isas[] __attribute__((unused)) = {"scalar", "avx2", "avx512", "neon"};
#define TU_N_ISAS 4
static inline bool tu_use_isa(const char *name) { return wk_cpu_isa_force(name); }

#endif
