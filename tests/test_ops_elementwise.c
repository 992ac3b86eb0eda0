/* test_ops_elementwise.c — unary, binary (with broadcasting), gated ops, reductions and
 * copies against f64 references computed here from the stored inputs; every source in
 * each layout (contiguous, padded, permuted), 1-3 threads, every ISA this CPU runs.
 * The output is filled with NaN before each run so a thread skipping its rows fails.
 *
 * Tolerances: one f32 operation rounds to within 2^-24 relative -> 1e-6 rel for + - * /
 * and sqrt; libm expf/logf/tanhf/erff are within a few ulp and silu/gelu compose 2-3 of
 * them -> 4e-6 rel + 1e-6 abs (gelu near 0 and tanh cancel absolutely); sums accumulate
 * in double and round once -> 1e-6 rel of sum|x|; copies and conversions are exact. */
#include "testutil.h"

static int fails;

static void nan_fill(wk_tensor *t) {
    if (t->type != WK_TYPE_F32 || t->view_src) return; /* views write into their source: keep it */
    TU_FOR_EACH(t, i0, i1, i2, i3) tu_set(t, i0, i1, i2, i3, NAN);
}

/* compute out (already built) with nth threads on a graph of its own */
static void run(wk_ctx *ctx, wk_tensor *out, int nth) {
    wk_graph *g = wk_graph_new(ctx);
    wk_backend *be;
    wk_graph_expand(g, out);
    wk_backend_cpu_create(nth, &be);
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
    const unary_case cases[] = {
        {"scale", WK_OP_SCALE, -10, 10, 0, 1e-6},      {"sqr", WK_OP_SQR, -10, 10, 0, 1e-6},
        {"sqrt", WK_OP_SQRT, 0, 100, 0, 1e-6},         {"exp", WK_OP_EXP, -20, 20, 0, 4e-6},
        {"log", WK_OP_LOG, 1e-3, 1e3, 1e-6, 4e-6},     {"tanh", WK_OP_TANH, -12, 12, 1e-6, 4e-6},
        {"silu", WK_OP_SILU, -30, 30, 1e-6, 4e-6},     {"gelu", WK_OP_GELU, -12, 12, 1e-6, 4e-6},
        {"gelu_erf", WK_OP_GELU_ERF, -12, 12, 1e-6, 4e-6}, {"softcap", WK_OP_SOFTCAP, -60, 60, 1e-6, 4e-6},
        {"clamp", WK_OP_CLAMP, -2, 2, 0, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int before = fails;
        double worst = 0;
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
                        if (!(err <= cases[c].atol + cases[c].rtol * fabs(r))) fails++;
                        if (err > worst) worst = err;
                    }
                }
                free(ref);
                wk_ctx_free(ctx);
            }
        printf("  %-10s %d shapes x 3 layouts x 1-3 threads: max|err| %.3g (atol %g rtol %g)%s\n", cases[c].name, N_SHAPES,
               worst, cases[c].atol, cases[c].rtol, fails > before ? "  FAIL" : "");
    }
}

static void test_binary(void) {
    const wk_op ops[] = {WK_OP_ADD, WK_OP_SUB, WK_OP_MUL, WK_OP_DIV, WK_OP_SWIGLU, WK_OP_GEGLU};
    const char *names[] = {"add", "sub", "mul", "div", "swiglu", "geglu"};
    const int64_t a_ne[4] = {12, 6, 4, 2};
    const int64_t b_shapes[][4] = {{12, 6, 4, 2}, {1, 6, 4, 2}, {12, 1, 4, 1}, {12, 2, 1, 2}, {4, 3, 2, 1}, {1, 1, 1, 1}};
    for (int o = 0; o < 6; o++) {
        int before = fails;
        double worst = 0;
        bool gated = ops[o] == WK_OP_SWIGLU || ops[o] == WK_OP_GEGLU;
        for (int bs = 0; bs < (gated ? 1 : 6); bs++)
            for (int la = 0; la < TU_N_LAYOUTS; la++)
                for (int lb = 0; lb < TU_N_LAYOUTS; lb++) {
                    wk_ctx *ctx;
                    wk_ctx_create(NULL, &ctx);
                    wk_tensor *a = tu_rand(ctx, WK_TYPE_F32, a_ne, (tu_layout)la, -4, 4);
                    wk_tensor *b = tu_rand(ctx, WK_TYPE_F32, b_shapes[bs], (tu_layout)lb, 0.5, 3);
                    wk_tensor *y = ops[o] == WK_OP_ADD ? wk_add(ctx, a, b) : ops[o] == WK_OP_SUB ? wk_sub(ctx, a, b)
                                 : ops[o] == WK_OP_MUL ? wk_mul(ctx, a, b) : ops[o] == WK_OP_DIV ? wk_div(ctx, a, b)
                                 : ops[o] == WK_OP_SWIGLU ? wk_swiglu(ctx, a, b) : wk_geglu(ctx, a, b);
                    if (!y) { printf("  FAIL build %s: %s\n", names[o], wk_last_error()); fails++; wk_ctx_free(ctx); continue; }
                    for (int nth = 1; nth <= 3; nth += 2) {
                        run(ctx, y, nth);
                        TU_FOR_EACH(y, i0, i1, i2, i3) {
                            double x = tu_get(a, i0, i1, i2, i3);
                            double z = tu_get(b, i0 % b->ne[0], i1 % b->ne[1], i2 % b->ne[2], i3 % b->ne[3]);
                            double r = ops[o] == WK_OP_ADD ? x + z : ops[o] == WK_OP_SUB ? x - z : ops[o] == WK_OP_MUL ? x * z
                                     : ops[o] == WK_OP_DIV ? x / z : ops[o] == WK_OP_SWIGLU ? silu_ref(x) * z : gelu_ref(x) * z;
                            double err = fabs(tu_get(y, i0, i1, i2, i3) - r);
                            /* gated: two libm-backed factors -> 8e-6 rel; plain ops: one rounding */
                            double tol = gated ? 1e-6 + 8e-6 * fabs(r) : 1e-6 * fabs(r) + 1e-7;
                            if (!(err <= tol)) fails++;
                            if (err > worst) worst = err;
                        }
                    }
                    wk_ctx_free(ctx);
                }
        printf("  %-10s broadcast shapes x 3x3 layouts x threads 1,3: max|err| %.3g%s\n", names[o], worst,
               fails > before ? "  FAIL" : "");
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
                            if (e1 > worst[1]) worst[1] = e1;
                            if (e2 > worst[2]) worst[2] = e2;
                        }
                double e0 = fabs(*(float *)sum->data - total);
                if (!(e0 <= 1e-6 * total_abs + 1e-7)) fails++;
                if (e0 > worst[0]) worst[0] = e0;
            }
            wk_ctx_free(ctx);
        }
    printf("  sum/sum_rows/mean max|err| %.3g/%.3g/%.3g (1e-6 rel of sum|x|), argmax exact with ties%s\n", worst[0],
           worst[1], worst[2], fails > before ? "  FAIL" : "");
}

static void test_copies(void) {
    const wk_type types[3] = {WK_TYPE_F32, WK_TYPE_F16, WK_TYPE_BF16};
    int before = fails, n = 0;
    const int64_t ne[4] = {9, 5, 3, 2};
    for (int ta = 0; ta < 3; ta++)
        for (int tb = 0; tb < 3; tb++)
            for (int la = 0; la < TU_N_LAYOUTS; la++)
                for (int lb = 0; lb < TU_N_LAYOUTS; lb++) {
                    wk_ctx *ctx;
                    wk_ctx_create(NULL, &ctx);
                    wk_tensor *a = tu_rand(ctx, types[ta], ne, (tu_layout)la, -300, 300);
                    wk_tensor *b = tu_rand(ctx, types[tb], ne, (tu_layout)lb, 0, 0);
                    wk_tensor *y = wk_cpy(ctx, a, b);
                    wk_tensor *c = wk_cast(ctx, a, types[tb]);
                    wk_tensor *k = wk_cont(ctx, a);
                    run(ctx, y, 1 + (la + lb) % 3);
                    run(ctx, c, 2);
                    run(ctx, k, 3);
                    /* conversion is exact: the scalar f32 -> f16/bf16 rounding of the stored value */
                    TU_FOR_EACH(a, i0, i1, i2, i3) {
                        float v = (float)tu_get(a, i0, i1, i2, i3);
                        double want = types[tb] == WK_TYPE_F16 ? wk_fp16_to_fp32(wk_fp32_to_fp16(v))
                                    : types[tb] == WK_TYPE_BF16 ? wk_bf16_to_fp32(wk_fp32_to_bf16(v)) : v;
                        if (tu_get(b, i0, i1, i2, i3) != want || tu_get(c, i0, i1, i2, i3) != want ||
                            tu_get(k, i0, i1, i2, i3) != v)
                            fails++;
                    }
                    n++;
                    wk_ctx_free(ctx);
                }
    printf("  cpy/cast/cont: %d type-pair x layout-pair cases, exact%s\n", n, fails > before ? "  FAIL" : "");

    /* cpy between different shapes with the same element count follows logical order */
    before = fails;
    {
        wk_ctx *ctx;
        wk_ctx_create(NULL, &ctx);
        wk_tensor *a = tu_rand(ctx, WK_TYPE_F32, (int64_t[]){6, 4, 1, 1}, TU_PERMUTED, -1, 1);
        wk_tensor *b = wk_new_tensor_2d(ctx, WK_TYPE_F32, 8, 3);
        wk_tensor *y = wk_cpy(ctx, a, b);
        run(ctx, y, 2);
        int64_t kk = 0;
        TU_FOR_EACH(a, i0, i1, i2, i3) { if (((float *)b->data)[kk++] != (float)tu_get(a, i0, i1, i2, i3)) fails++; }
        wk_ctx_free(ctx);
    }
    printf("  cpy reshaping copy in logical order%s\n", fails > before ? "  FAIL" : "");

    /* get_rows / set_rows with repeated and out-of-range indices */
    before = fails;
    for (int t = 0; t < 3; t++) {
        wk_ctx *ctx;
        wk_ctx_create(NULL, &ctx);
        wk_tensor *a = tu_rand(ctx, types[t], (int64_t[]){7, 10, 2, 1}, TU_PADDED, -2, 2);
        wk_tensor *idx = wk_new_tensor_2d(ctx, WK_TYPE_I32, 5, 2);
        int32_t ids[10] = {3, 3, 0, 9, 12, 1, -1, 9, 4, 4};
        memcpy(idx->data, ids, sizeof ids);
        wk_tensor *g = wk_get_rows(ctx, a, idx);
        run(ctx, g, 3);
        for (int64_t i2 = 0; i2 < 2; i2++)
            for (int64_t r = 0; r < 5; r++)
                for (int64_t i0 = 0; i0 < 7; i0++) {
                    int32_t row = ids[i2 * 5 + r];
                    double want = row < 0 || row >= 10 ? 0.0 : tu_get(a, i0, row, i2, 0);
                    if (tu_get(g, i0, r, i2, 0) != want) fails++;
                }
        /* set_rows: src rows into dst rows idx; untouched rows keep their values */
        wk_tensor *dst = tu_rand(ctx, types[t], (int64_t[]){7, 10, 2, 1}, TU_CONTIG, -2, 2);
        wk_tensor *src = tu_rand(ctx, WK_TYPE_F32, (int64_t[]){7, 5, 2, 1}, TU_PERMUTED, -2, 2);
        int32_t sids[10] = {8, 2, 0, 5, 11, 1, -3, 9, 4, 7};
        memcpy(idx->data, sids, sizeof sids);
        double before_vals[140];
        TU_FOR_EACH(dst, i0, i1, i2, i3) before_vals[i0 + 7 * (i1 + 10 * i2)] = tu_get(dst, i0, i1, i2, i3);
        wk_tensor *s = wk_set_rows(ctx, dst, src, idx);
        run(ctx, s, 2);
        TU_FOR_EACH(dst, i0, i1, i2, i3) {
            double want = before_vals[i0 + 7 * (i1 + 10 * i2)];
            for (int r = 0; r < 5; r++)
                if (sids[i2 * 5 + r] == i1) {
                    float v = (float)tu_get(src, i0, r, i2, 0);
                    want = types[t] == WK_TYPE_F16 ? wk_fp16_to_fp32(wk_fp32_to_fp16(v))
                         : types[t] == WK_TYPE_BF16 ? wk_bf16_to_fp32(wk_fp32_to_bf16(v)) : v;
                }
            if (tu_get(dst, i0, i1, i2, i3) != want) fails++;
        }
        wk_ctx_free(ctx);
    }
    printf("  get_rows/set_rows f32/f16/bf16, repeated and out-of-range indices, exact%s\n", fails > before ? "  FAIL" : "");

    /* concat along each dim */
    before = fails;
    for (int dim = 0; dim < 4; dim++) {
        wk_ctx *ctx;
        wk_ctx_create(NULL, &ctx);
        int64_t na[4] = {5, 4, 3, 2}, nb[4] = {5, 4, 3, 2};
        nb[dim] = 3;
        wk_tensor *a = tu_rand(ctx, WK_TYPE_F32, na, TU_PERMUTED, -1, 1), *b = tu_rand(ctx, WK_TYPE_F32, nb, TU_PADDED, -1, 1);
        wk_tensor *y = wk_concat(ctx, a, b, dim);
        run(ctx, y, 3);
        TU_FOR_EACH(y, i0, i1, i2, i3) {
            int64_t i[4] = {i0, i1, i2, i3};
            const wk_tensor *s = i[dim] < na[dim] ? a : b;
            if (s == b) i[dim] -= na[dim];
            if (tu_get(y, i0, i1, i2, i3) != tu_get(s, i[0], i[1], i[2], i[3])) fails++;
        }
        wk_ctx_free(ctx);
    }
    printf("  concat along dims 0-3, exact%s\n", fails > before ? "  FAIL" : "");
}

int main(void) {
    tu_seed(1234);
    for (int i = 0; i < TU_N_ISAS; i++) {
        if (!tu_use_isa(tu_isas[i])) { printf("== isa %s: not available on this CPU, skipped\n", tu_isas[i]); continue; }
        printf("== isa %s\n", tu_isas[i]);
        test_unary();
        test_binary();
        test_reduce();
        test_copies();
    }
    printf("%s (%d failed checks)\n", fails ? "FAILED" : "all elementwise/copy checks passed", fails);
    return fails ? 1 : 0;
}
