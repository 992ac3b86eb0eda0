/* test_ops_elementwise.c — unary, binary (with broadcasting), gated ops and reductions
 * against f64 references computed here from the stored inputs; every source in each
 * layout (contiguous, padded, permuted), 1-3 threads, every ISA this CPU runs, plus
 * extreme inputs (+-1e30, +-inf, exp overflow). Copies are in test_ops_copy.c.
 * The output is poisoned (NaN, or -7 for argmax's i32) before each run, so a thread
 * count that skips rows fails.
 *
 * Tolerances: one f32 operation rounds to within 2^-24 relative -> 1e-6 rel for + - * /
 * and sqrt; libm expf/logf/tanhf/erff are within a few ulp and silu/gelu compose 2-3 of
 * them -> 4e-6 rel + 1e-6 abs (gelu near 0 and tanh cancel absolutely); sums accumulate
 * in double and round once -> 1e-6 rel of sum|x|; copies and conversions are exact. */
#include "testutil.h"

static int fails;

static void nan_fill(wk_tensor *t) {
    TU_FOR_EACH(t, i0, i1, i2, i3) tu_set(t, i0, i1, i2, i3, t->type == WK_TYPE_I32 ? -7.0 : NAN);
}

/* compute out (already built) with nth threads on a graph of its own */
static void run(wk_ctx *ctx, wk_tensor *out, int nth) {
    wk_graph *g = wk_graph_new(ctx);
    wk_backend *be;
    if (!g || wk_graph_expand(g, out) != WK_OK || wk_backend_cpu_create(nth, &be) != WK_OK) {
        printf("  FAIL graph: %s\n", wk_last_error());
        fails++;
        return;
    }
    /* plan first so the output has memory, then poison it */
    if (wk_graph_compute(be, g) != WK_OK) { printf("  FAIL compute: %s\n", wk_last_error()); fails++; }
    nan_fill(out);
    if (wk_graph_compute(be, g) != WK_OK) { printf("  FAIL compute: %s\n", wk_last_error()); fails++; }
    wk_backend_free(be);
}

static double gelu_ref(double x) { return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
static double silu_ref(double x) { return x / (1 + exp(-x)); }

typedef struct { const char *name; wk_op op; double lo, hi, atol, rtol; } unary_case;

static double unary_ref(wk_op op, double x) {
    switch (op) {
    case WK_OP_SCALE: return x * (float)-1.75;
    case WK_OP_SQR: return x * x;
    case WK_OP_SQRT: return sqrt(x);
    case WK_OP_EXP: return exp(x);
    case WK_OP_LOG: return log(x);
    case WK_OP_TANH: return tanh(x);
    case WK_OP_SILU: return silu_ref(x);
    case WK_OP_GELU: return gelu_ref(x);
    case WK_OP_GELU_ERF: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case WK_OP_SOFTCAP: return (float)5.0 * tanh(x / (float)5.0);
    case WK_OP_CLAMP: return x < -0.5 ? -0.5 : x > 0.25 ? 0.25 : x;
    default: return NAN;
    }
}

static wk_tensor *build_unary(wk_ctx *ctx, wk_op op, wk_tensor *a) {
    switch (op) {
    case WK_OP_SCALE: return wk_scale(ctx, a, -1.75f);
    case WK_OP_SQR: return wk_sqr(ctx, a);
    case WK_OP_SQRT: return wk_sqrt(ctx, a);
    case WK_OP_EXP: return wk_exp(ctx, a);
    case WK_OP_LOG: return wk_log(ctx, a);
    case WK_OP_TANH: return wk_tanh(ctx, a);
    case WK_OP_SILU: return wk_silu(ctx, a);
    case WK_OP_GELU: return wk_gelu(ctx, a);
    case WK_OP_GELU_ERF: return wk_gelu_erf(ctx, a);
    case WK_OP_SOFTCAP: return wk_softcap(ctx, a, 5.0f);
    case WK_OP_CLAMP: return wk_clamp(ctx, a, -0.5f, 0.25f);
    default: return NULL;
    }
}

static const int64_t shapes[][4] = {{1, 1, 1, 1}, {17, 3, 2, 1}, {33, 5, 3, 2}, {257, 2, 1, 3}, {64, 6, 4, 2}};
#define N_SHAPES (int)(sizeof shapes / sizeof shapes[0])

static void test_unary(void) {
    /* Domains: sqrt and log on positive values only, exp over [-20, 20] (no overflow),
     * large |x| for tanh/silu/gelu/softcap (saturation; +-inf and 1e30 in test_special).
     * Tolerances (|err| <= atol + rtol |ref|):
     *   scale, sqr, sqrt: one correctly rounded f32 op -> 2^-24 rel, 1e-6 rel;
     *   exp, log, tanh: libm f32 functions are within ~2 ulp (1.2e-7 each); the input x
     *     itself is exact, but exp's result is checked rel and log's near x = 1 is near 0,
     *     hence 4e-6 rel + 1e-6 abs for log/tanh;
     *   silu, gelu, gelu_erf, softcap: 2-4 libm calls and roundings composed; gelu and
     *     softcap compute tanh of a rounded argument (x/cap, c(x + 0.044715x^3)) whose
     *     rounding error passes through with slope <= 1 -> 4e-6 rel + 1e-6 abs;
     *   clamp: selects an input or a bound, exact. */
    const unary_case cases[] = {
        {"scale", WK_OP_SCALE, -10, 10, 0, 1e-6},          {"sqr", WK_OP_SQR, -10, 10, 0, 1e-6},
        {"sqrt", WK_OP_SQRT, 0, 100, 0, 1e-6},             {"exp", WK_OP_EXP, -20, 20, 0, 4e-6},
        {"log", WK_OP_LOG, 1e-3, 1e3, 1e-6, 4e-6},         {"tanh", WK_OP_TANH, -12, 12, 1e-6, 4e-6},
        {"silu", WK_OP_SILU, -30, 30, 1e-6, 4e-6},         {"gelu", WK_OP_GELU, -12, 12, 1e-6, 4e-6},
        {"gelu_erf", WK_OP_GELU_ERF, -12, 12, 1e-6, 4e-6}, {"softcap", WK_OP_SOFTCAP, -60, 60, 1e-6, 4e-6},
        {"clamp", WK_OP_CLAMP, -2, 2, 0, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int before = fails;
        double worst = 0, worst_ratio = 0;
        for (int s = 0; s < N_SHAPES; s++)
            for (int l = 0; l < TU_N_LAYOUTS; l++) {
                wk_ctx *ctx;
                wk_ctx_create(NULL, &ctx);
                wk_tensor *a = tu_rand(ctx, WK_TYPE_F32, shapes[s], (tu_layout)l, cases[c].lo, cases[c].hi);
                wk_tensor *y = build_unary(ctx, cases[c].op, a);
                double *ref = malloc(sizeof(double) * wk_tensor_nelements(a));
                size_t k = 0;
                TU_FOR_EACH(a, i0, i1, i2, i3) ref[k++] = unary_ref(cases[c].op, tu_get(a, i0, i1, i2, i3));
                for (int nth = 1; nth <= 3; nth++) {
                    run(ctx, y, nth);
                    k = 0;
                    TU_FOR_EACH(y, i0, i1, i2, i3) {
                        double g = tu_get(y, i0, i1, i2, i3), r = ref[k++], err = fabs(g - r);
                        double tol = cases[c].atol + cases[c].rtol * fabs(r);
                        if (!(err <= tol)) fails++;
                        if (err > worst || isnan(err)) worst = err; /* NaN: a poisoned element left unwritten */
                        if (err / tol > worst_ratio || isnan(err)) worst_ratio = err / tol; /* clamp: 0/0 */
                    }
                }
                free(ref);
                wk_ctx_free(ctx);
            }
        printf("  %-10s x in [%g, %g], %d shapes x 3 layouts x 1-3 threads: max|err| %.3g, max err/tol %.3g (atol %g rtol %g)%s\n",
               cases[c].name, cases[c].lo, cases[c].hi, N_SHAPES, worst, worst_ratio, cases[c].atol, cases[c].rtol,
               fails > before ? "  FAIL" : "");
    }
}

/* (a, b) shape pairs: b equal to a, b with ne[i] = 1 in various dims, b with ne[i] a
 * proper divisor of a's (6 = 2 * 3, 4 = 2 * 2, 12 = 4 * 3), odd sizes, a single element.
 * Gated ops take only the pairs where b has a's shape. */
static const int64_t bin_shapes[][2][4] = {
    {{12, 6, 4, 2}, {12, 6, 4, 2}}, {{12, 6, 4, 2}, {1, 6, 4, 2}}, {{12, 6, 4, 2}, {12, 1, 4, 1}},
    {{12, 6, 4, 2}, {12, 2, 1, 2}}, {{12, 6, 4, 2}, {4, 3, 2, 1}},  {{12, 6, 4, 2}, {1, 1, 1, 1}},
    {{17, 3, 5, 2}, {17, 3, 5, 2}}, {{17, 3, 5, 2}, {1, 3, 1, 2}},  {{17, 3, 5, 2}, {17, 1, 5, 1}},
    {{33, 1, 2, 3}, {33, 1, 2, 3}}, {{33, 1, 2, 3}, {11, 1, 1, 3}}, {{257, 2, 1, 1}, {257, 1, 1, 1}},
    {{1, 1, 1, 1}, {1, 1, 1, 1}},   {{3, 6, 1, 4}, {3, 3, 1, 2}},
};
#define N_BIN_SHAPES (int)(sizeof bin_shapes / sizeof bin_shapes[0])

static void test_binary(void) {
    const wk_op ops[] = {WK_OP_ADD, WK_OP_SUB, WK_OP_MUL, WK_OP_DIV, WK_OP_SWIGLU, WK_OP_GEGLU};
    const char *names[] = {"add", "sub", "mul", "div", "swiglu", "geglu"};
    for (int o = 0; o < 6; o++) {
        int before = fails, n_pairs = 0;
        double worst = 0, worst_ratio = 0;
        bool gated = ops[o] == WK_OP_SWIGLU || ops[o] == WK_OP_GEGLU;
        for (int bs = 0; bs < N_BIN_SHAPES; bs++) {
            const int64_t *a_ne = bin_shapes[bs][0], *b_ne = bin_shapes[bs][1];
            if (gated && memcmp(a_ne, b_ne, 4 * sizeof(int64_t)) != 0) continue;
            n_pairs++;
            for (int la = 0; la < TU_N_LAYOUTS; la++)
                for (int lb = 0; lb < TU_N_LAYOUTS; lb++) {
                    wk_ctx *ctx;
                    wk_ctx_create(NULL, &ctx);
                    /* gated ops see a gate over the range where silu/gelu bend and saturate */
                    wk_tensor *a = tu_rand(ctx, WK_TYPE_F32, a_ne, (tu_layout)la, gated ? -12 : -4, gated ? 12 : 4);
                    /* b away from 0 so div has no huge quotients; negative half for the gates */
                    wk_tensor *b = tu_rand(ctx, WK_TYPE_F32, b_ne, (tu_layout)lb, 0.5, 3);
                    if (gated) TU_FOR_EACH(b, i0, i1, i2, i3) if ((i0 + i1) & 1) tu_set(b, i0, i1, i2, i3, -tu_get(b, i0, i1, i2, i3));
                    wk_tensor *y = ops[o] == WK_OP_ADD ? wk_add(ctx, a, b) : ops[o] == WK_OP_SUB ? wk_sub(ctx, a, b)
                                 : ops[o] == WK_OP_MUL ? wk_mul(ctx, a, b) : ops[o] == WK_OP_DIV ? wk_div(ctx, a, b)
                                 : ops[o] == WK_OP_SWIGLU ? wk_swiglu(ctx, a, b) : wk_geglu(ctx, a, b);
                    if (!y) { printf("  FAIL build %s: %s\n", names[o], wk_last_error()); fails++; wk_ctx_free(ctx); continue; }
                    for (int nth = 1; nth <= 3; nth++) {
                        run(ctx, y, nth);
                        TU_FOR_EACH(y, i0, i1, i2, i3) {
                            double x = tu_get(a, i0, i1, i2, i3);
                            double z = tu_get(b, i0 % b->ne[0], i1 % b->ne[1], i2 % b->ne[2], i3 % b->ne[3]);
                            double r = ops[o] == WK_OP_ADD ? x + z : ops[o] == WK_OP_SUB ? x - z : ops[o] == WK_OP_MUL ? x * z
                                     : ops[o] == WK_OP_DIV ? x / z : ops[o] == WK_OP_SWIGLU ? silu_ref(x) * z : gelu_ref(x) * z;
                            double err = fabs(tu_get(y, i0, i1, i2, i3) - r);
                            /* plain ops: one f32 rounding (2^-24 rel) -> 1e-6 rel + 1e-7 abs for
                             * results near 0 (x - z cancels exactly, so the abs part is slack);
                             * gated: libm expf/tanhf (a few ulp) plus 3-4 roundings -> 8e-6 rel
                             * + 1e-6 abs (gelu(x) near its zero at x = 0 is an absolute error) */
                            double tol = gated ? 1e-6 + 8e-6 * fabs(r) : 1e-7 + 1e-6 * fabs(r);
                            if (!(err <= tol)) fails++;
                            if (err > worst || isnan(err)) worst = err; /* NaN: a poisoned element left unwritten */
                            if (err / tol > worst_ratio || isnan(err)) worst_ratio = err / tol;
                        }
                    }
                    wk_ctx_free(ctx);
                }
        }
        printf("  %-10s %2d shape pairs (broadcast b) x 3x3 layouts x 1-3 threads: max|err| %.3g, max err/tol %.3g%s\n",
               names[o], n_pairs, worst, worst_ratio, fails > before ? "  FAIL" : "");
    }
}

static void test_reduce(void) {
    double worst[4] = {0};
    int before = fails;
    for (int s = 0; s < N_SHAPES; s++)
        for (int l = 0; l < TU_N_LAYOUTS; l++) {
            wk_ctx *ctx;
            wk_ctx_create(NULL, &ctx);
            wk_tensor *a = tu_rand(ctx, WK_TYPE_F32, shapes[s], (tu_layout)l, -3, 3);
            /* a tie for argmax: copy the row's first element's value to its last */
            TU_FOR_EACH(a, i0, i1, i2, i3) if (i0 == a->ne[0] - 1 && i0 > 0) tu_set(a, i0, i1, i2, i3, 3.5), tu_set(a, 0, i1, i2, i3, 3.5);
            wk_tensor *sum = wk_sum(ctx, a), *rows = wk_sum_rows(ctx, a), *mean = wk_mean(ctx, a), *am = wk_argmax(ctx, a);
            for (int nth = 1; nth <= 3; nth++) {
                run(ctx, sum, nth);
                run(ctx, rows, nth);
                run(ctx, mean, nth);
                run(ctx, am, nth);
                double total = 0, total_abs = 0;
                int64_t r = 0;
                for (int64_t i3 = 0; i3 < a->ne[3]; i3++)
                    for (int64_t i2 = 0; i2 < a->ne[2]; i2++)
                        for (int64_t i1 = 0; i1 < a->ne[1]; i1++, r++) {
                            double rs = 0, ra = 0, best = -INFINITY;
                            int64_t bi = 0;
                            for (int64_t i0 = 0; i0 < a->ne[0]; i0++) {
                                double v = tu_get(a, i0, i1, i2, i3);
                                rs += v;
                                ra += fabs(v);
                                if (v > best) best = v, bi = i0;
                            }
                            total += rs;
                            total_abs += ra;
                            double e1 = fabs(((float *)rows->data)[r] - rs), e2 = fabs(((float *)mean->data)[r] - rs / a->ne[0]);
                            if (!(e1 <= 1e-6 * ra + 1e-7) || !(e2 <= 1e-6 * ra / a->ne[0] + 1e-7)) fails++;
                            if (((int32_t *)am->data)[r] != bi) fails++;
                            if (e1 > worst[1] || isnan(e1)) worst[1] = e1;
                            if (e2 > worst[2] || isnan(e2)) worst[2] = e2;
                        }
                double e0 = fabs(*(float *)sum->data - total);
                if (!(e0 <= 1e-6 * total_abs + 1e-7)) fails++;
                if (e0 > worst[0] || isnan(e0)) worst[0] = e0;
            }
            wk_ctx_free(ctx);
        }
    printf("  sum/sum_rows/mean max|err| %.3g/%.3g/%.3g (1e-6 rel of sum|x|), argmax exact with ties%s\n", worst[0],
           worst[1], worst[2], fails > before ? "  FAIL" : "");
}

/* Extreme inputs: results must be finite where the math is (silu(-1e30) = -0,
 * gelu(+-1e30) = x or -0, tanh/softcap saturate, exp overflows to inf and underflows to
 * 0) and NaN only where the reference is NaN. Same tolerances as test_unary. */
static void test_special(void) {
    const float xs[] = {-INFINITY, -1e30f, -1e4f, -100.0f, -88.5f, -20.0f, -1e-30f, -0.0f, 0.0f,
                        1e-30f,    20.0f,  88.5f, 100.0f,  1e4f,   1e30f,  INFINITY};
    const int nx = (int)(sizeof xs / sizeof xs[0]);
    const wk_op ops[] = {WK_OP_EXP, WK_OP_TANH, WK_OP_SILU, WK_OP_GELU, WK_OP_GELU_ERF, WK_OP_SOFTCAP, WK_OP_CLAMP,
                         WK_OP_SQR, WK_OP_SCALE};
    const char *names[] = {"exp", "tanh", "silu", "gelu", "gelu_erf", "softcap", "clamp", "sqr", "scale"};
    for (int o = 0; o < (int)(sizeof ops / sizeof ops[0]); o++) {
        int before = fails;
        double worst = 0;
        wk_ctx *ctx;
        wk_ctx_create(NULL, &ctx);
        wk_tensor *a = wk_new_tensor_4d(ctx, WK_TYPE_F32, nx, 1, 1, 1);
        memcpy(a->data, xs, sizeof xs);
        wk_tensor *y = build_unary(ctx, ops[o], a);
        for (int nth = 1; nth <= 3; nth++) {
            run(ctx, y, nth);
            for (int i = 0; i < nx; i++) {
                double x = xs[i], r = unary_ref(ops[o], x), g = ((float *)y->data)[i];
                /* the silu reference divides -inf by inf: the limit is -0 */
                if (ops[o] == WK_OP_SILU && isinf(x) && x < 0) r = isnan(g) ? g : -0.0;
                if (ops[o] == WK_OP_GELU && isinf(x)) r = x > 0 ? x : (isnan(g) ? g : 0.0);
                if (ops[o] == WK_OP_GELU_ERF && isinf(x)) r = x > 0 ? x : (isnan(g) ? g : 0.0);
                if (isinf(r) && (float)r != (float)g) r = (double)(float)r; /* keep inf-vs-inf exact */
                bool ok = (isnan(g) && isnan(r)) || g == r || fabs(g - r) <= 1e-6 + 4e-6 * fabs(r) ||
                          (isinf((float)r) && g == (float)r);
                if (!ok) { printf("    %s(%g): got %.9g want %.9g\n", names[o], x, g, r); fails++; }
                double ratio = fabs(g - r) / (1e-6 + 4e-6 * fabs(r)); /* error over tolerance */
                if (isfinite((float)r) && ratio > worst) worst = ratio;
            }
        }
        wk_ctx_free(ctx);
        printf("  %-10s extremes +-inf, +-1e30, +-1e4, +-100, +-88.5, +-20, +-0 x 1-3 threads: worst err/tol %.3g%s\n",
               names[o], worst, fails > before ? "  FAIL" : "");
    }
}
/* Sums accumulate in double (the kernel's contract): 1 followed by 99,999 values of 1e-8
 * sums to 1.00099999; an f32 accumulator that starts at 1 drops every 1e-8 (half an ulp
 * of 1 is 6e-8) and returns 1. Tolerance: one final rounding to f32, 1e-7 rel. Argmax:
 * NaNs never win, a row of only NaNs or of only -inf gives 0, ties give the first index. */
static void test_accumulate_and_argmax(void) {
    int before = fails;
    const int64_t n = 100000;
    double worst = 0;
    for (int nth = 1; nth <= 3; nth++) {
        wk_ctx *ctx;
        wk_ctx_create(NULL, &ctx);
        wk_tensor *a = wk_new_tensor_1d(ctx, WK_TYPE_F32, n);
        float *x = a->data;
        x[0] = 1.0f;
        for (int64_t i = 1; i < n; i++) x[i] = 1e-8f;
        double want = 1.0 + (double)(n - 1) * (double)1e-8f;
        wk_tensor *outs[3] = {wk_sum(ctx, a), wk_sum_rows(ctx, a), wk_mean(ctx, a)};
        for (int k = 0; k < 3; k++) {
            run(ctx, outs[k], nth);
            double r = k == 2 ? want / (double)n : want, err = fabs(*(float *)outs[k]->data - r);
            if (!(err <= 1e-7 * r)) { printf("    %s of 1 + 99999 x 1e-8: got %.9g want %.9g\n", k == 0 ? "sum" : k == 1 ? "sum_rows" : "mean", *(float *)outs[k]->data, r); fails++; }
            if (err / r > worst || isnan(err)) worst = err / r;
        }
        wk_ctx_free(ctx);
    }
    const float rows[][5] = {{NAN, 1, 5, 5, NAN}, {NAN, NAN, NAN, NAN, NAN}, {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY},
                             {-1, -3, -1, -2, -1}, {0, -0.0f, 0, 0, 0}, {-INFINITY, NAN, -5, INFINITY, INFINITY}};
    const int32_t want_idx[] = {2, 0, 0, 0, 0, 3};
    int n_rows = (int)(sizeof want_idx / sizeof want_idx[0]);
    for (int nth = 1; nth <= 3; nth++) {
        wk_ctx *ctx;
        wk_ctx_create(NULL, &ctx);
        wk_tensor *a = wk_new_tensor_2d(ctx, WK_TYPE_F32, 5, n_rows);
        memcpy(a->data, rows, sizeof rows);
        wk_tensor *am = wk_argmax(ctx, a);
        run(ctx, am, nth);
        for (int r = 0; r < n_rows; r++)
            if (((int32_t *)am->data)[r] != want_idx[r]) {
                printf("    argmax row %d: got %d want %d\n", r, ((int32_t *)am->data)[r], want_idx[r]);
                fails++;
            }
        wk_ctx_free(ctx);
    }
    printf("  sum/sum_rows/mean of 1 + 99999 x 1e-8 (needs a double accumulator): max rel err %.3g (tol 1e-7); "
           "argmax with NaN, -inf, +-0 and ties x 1-3 threads%s\n", worst, fails > before ? "  FAIL" : "");
}

/* Forces an ISA path for the next tests; false (with a "skipped" line) when this
 * CPU cannot run it. A set still being written reports a name ending in "-pending": our ops
 * do not use ISA kernels, so it falls back to scalar rather than testing a placeholder. */
static bool use_isa(const char *isa) {
    if (!tu_use_isa(isa)) {
        printf("%s: not available on this CPU, skipped\n", isa);
        return false;
    }
    const char *name = wk_cpu_isa_current()->name;
    size_t len = strlen(name);
    if (len > 8 && strcmp(name + len - 8, "-pending") == 0) {
        printf("== isa %s is a placeholder (%s): running on scalar\n", isa, name);
        tu_use_isa("scalar");
        return true;
    }
    printf("== isa %s\n", isa);
    return true;
}

int main(void) {
    tu_seed(1234);
    for (int i = 0; i < TU_N_ISAS; i++) {
        if (!use_isa(tu_isas[i])) continue;
        test_unary();
        test_binary();
        test_reduce();
        test_special();
        test_accumulate_and_argmax();
    }
    printf("%s (%d failed checks)\n", fails ? "FAILED" : "all elementwise checks passed", fails);
    return fails ? 1 : 0;
}
