/* test_grad.c — gradient checks: for every op with a gradient rule (ops.def column 3), a
 * small graph loss = sum(op(params) * R), R a fixed random tensor so every output element
 * matters, is differentiated with wk_graph_build_backward and compared with central
 * finite differences (L(p + h) - L(p - h)) / 2h of the same graph's loss.
 *
 * Tolerance: the forward runs in f32, so the loss (~1..10) carries ~1e-6 of rounding and
 * the difference quotient with h = 1e-2 ~5e-5 of noise; truncation is h^2 f''' / 6 ~ 1e-4
 * for these smooth ops on inputs of size ~1. Errors are measured relative to the largest
 * finite-difference entry of each gradient tensor, and the bound is 5e-3: 10-50x the
 * expected noise, while a wrong rule (a missing term, a wrong sign or factor, a wrong
 * index) is off by O(1). Each check also confirms that the analytic gradient scaled by
 * 1.05 would fail it, so the bound cannot hide a real error. Analytic gradients are
 * computed with 1 and 3 threads and must agree to 1e-5.
 *
 * Also: broadcasting shapes, views/permutes of params, a param used twice, a frozen input
 * (gets no gradient), errors for bad losses, and a 2-layer llama-like model whose planner
 * numbers are printed. */
#include "testutil.h"
#include "src/core/backward.h"
#include "src/quant/quant.h"

static int fails;

#define MAX_PARAMS 32
static wk_tensor *g_params[MAX_PARAMS];
static int g_n_params;

static wk_tensor *mk(wk_ctx *ctx, int64_t n0, int64_t n1, int64_t n2, int64_t n3, double lo, double hi, bool param) {
    wk_tensor *t = wk_new_tensor_4d(ctx, WK_TYPE_F32, n0, n1, n2, n3);
    if (!t) { fprintf(stderr, "tensor: %s\n", wk_last_error()); exit(2); }
    tu_fill(t, lo, hi);
    if (param) {
        if (g_n_params == MAX_PARAMS) { fprintf(stderr, "too many params\n"); exit(2); }
        char nm[16];
        snprintf(nm, sizeof nm, "p%d", g_n_params);
        wk_tensor_set_name(t, nm);
        wk_tensor_set_param(t);
        g_params[g_n_params++] = t;
    }
    return t;
}
static wk_tensor *P(wk_ctx *ctx, int64_t n0, int64_t n1, int64_t n2, int64_t n3) { return mk(ctx, n0, n1, n2, n3, -1, 1, true); }
static wk_tensor *Pr(wk_ctx *ctx, int64_t n0, int64_t n1, int64_t n2, int64_t n3, double lo, double hi) {
    return mk(ctx, n0, n1, n2, n3, lo, hi, true);
}

static wk_tensor *ivec(wk_ctx *ctx, int64_t n0, int64_t n1, const int32_t *v) {
    wk_tensor *t = wk_new_tensor_2d(ctx, WK_TYPE_I32, n0, n1);
    if (!t) { fprintf(stderr, "tensor: %s\n", wk_last_error()); exit(2); }
    memcpy(t->data, v, (size_t)(n0 * n1) * sizeof(int32_t));
    return t;
}

/* ---- the cases: each builds its params and returns the op's result ------------------- */

static wk_tensor *c_add(wk_ctx *c) { return wk_add(c, P(c, 4, 3, 2, 2), P(c, 2, 1, 2, 1)); }
static wk_tensor *c_sub(wk_ctx *c) { return wk_sub(c, P(c, 5, 3, 1, 1), P(c, 1, 3, 1, 1)); }
static wk_tensor *c_mul(wk_ctx *c) { return wk_mul(c, P(c, 4, 3, 2, 1), P(c, 4, 1, 2, 1)); }
static wk_tensor *c_div(wk_ctx *c) { return wk_div(c, P(c, 4, 3, 2, 1), Pr(c, 4, 3, 1, 1, 0.5, 1.5)); }
static wk_tensor *c_scale(wk_ctx *c) { return wk_scale(c, P(c, 5, 3, 1, 1), 0.7f); }
static wk_tensor *c_sqr(wk_ctx *c) { return wk_sqr(c, P(c, 5, 3, 1, 1)); }
static wk_tensor *c_sqrt(wk_ctx *c) { return wk_sqrt(c, Pr(c, 5, 3, 1, 1, 0.5, 2)); }
static wk_tensor *c_exp(wk_ctx *c) { return wk_exp(c, P(c, 5, 3, 1, 1)); }
static wk_tensor *c_log(wk_ctx *c) { return wk_log(c, Pr(c, 5, 3, 1, 1, 0.5, 2)); }
static wk_tensor *c_tanh(wk_ctx *c) { return wk_tanh(c, Pr(c, 5, 3, 1, 1, -2, 2)); }
static wk_tensor *c_silu(wk_ctx *c) { return wk_silu(c, Pr(c, 5, 3, 1, 1, -3, 3)); }
static wk_tensor *c_gelu(wk_ctx *c) { return wk_gelu(c, Pr(c, 5, 3, 1, 1, -3, 3)); }
static wk_tensor *c_gelu_erf(wk_ctx *c) { return wk_gelu_erf(c, Pr(c, 5, 3, 1, 1, -3, 3)); }
static wk_tensor *c_softcap(wk_ctx *c) { return wk_softcap(c, Pr(c, 5, 3, 1, 1, -3, 3), 1.5f); }
static wk_tensor *c_clamp(wk_ctx *c) {
    wk_tensor *a = P(c, 6, 4, 1, 1);
    float *x = a->data;
    for (int i = 0; i < 24; i++) /* keep values 2h away from the kinks at +-0.5 */
        if (fabsf(fabsf(x[i]) - 0.5f) < 0.05f) x[i] += x[i] > 0 ? 0.15f : -0.15f;
    return wk_clamp(c, a, -0.5f, 0.5f);
}
static wk_tensor *c_swiglu(wk_ctx *c) { return wk_swiglu(c, Pr(c, 6, 3, 1, 1, -3, 3), P(c, 6, 3, 1, 1)); }
static wk_tensor *c_geglu(wk_ctx *c) { return wk_geglu(c, Pr(c, 6, 3, 1, 1, -3, 3), P(c, 6, 3, 1, 1)); }
static wk_tensor *c_sum(wk_ctx *c) { return wk_sum(c, P(c, 5, 3, 2, 1)); }
static wk_tensor *c_sum_rows(wk_ctx *c) { return wk_sum_rows(c, P(c, 5, 3, 2, 1)); }
static wk_tensor *c_mean(wk_ctx *c) { return wk_mean(c, P(c, 5, 3, 2, 1)); }
static wk_tensor *c_repeat(wk_ctx *c) {
    const int64_t ne[4] = {4, 3, 3, 2};
    return wk_repeat(c, P(c, 2, 1, 3, 1), ne);
}
static wk_tensor *c_cpy(wk_ctx *c) { /* a reshaping copy into a frozen buffer */
    wk_tensor *b = mk(c, 6, 2, 1, 1, 0, 0, false);
    return wk_cpy(c, wk_sqr(c, P(c, 4, 3, 1, 1)), b);
}
static wk_tensor *c_cast(wk_ctx *c) { return wk_cast(c, wk_permute(c, P(c, 4, 3, 2, 1), 2, 0, 1, 3), WK_TYPE_F32); }
static wk_tensor *c_cont(wk_ctx *c) { return wk_cont(c, wk_transpose(c, P(c, 4, 3, 1, 1))); }
static wk_tensor *c_reshape(wk_ctx *c) { return wk_sqr(c, wk_reshape_2d(c, P(c, 4, 3, 2, 1), 6, 4)); }
static wk_tensor *c_view(wk_ctx *c) { /* every other row, from element 1 */
    wk_tensor *a = P(c, 6, 5, 1, 1);
    const int64_t ne[2] = {3, 2};
    const size_t nb[1] = {a->nb[1] * 2};
    return wk_sqr(c, wk_view(c, a, 2, ne, nb, sizeof(float)));
}
static wk_tensor *c_view_overlap(wk_ctx *c) { /* rows one element apart: elements read 3 times */
    wk_tensor *a = P(c, 8, 1, 1, 1);
    const int64_t ne[2] = {3, 4};
    const size_t nb[1] = {sizeof(float)};
    return wk_mul(c, wk_view(c, wk_scale(c, a, 1.0f), 2, ne, nb, 0), wk_view(c, a, 2, ne, nb, 2 * sizeof(float)));
}
static wk_tensor *c_permute(wk_ctx *c) { return wk_sqr(c, wk_permute(c, P(c, 2, 3, 4, 1), 2, 0, 1, 3)); }
static wk_tensor *c_transpose(wk_ctx *c) { return wk_transpose(c, P(c, 4, 3, 1, 1)); }
static wk_tensor *c_get_rows(wk_ctx *c) {
    const int32_t idx[8] = {3, 0, 3, 5, 1, 1, 2, 4}; /* repeats: their gradients add */
    return wk_get_rows(c, P(c, 5, 6, 2, 1), ivec(c, 4, 2, idx));
}
static wk_tensor *c_set_rows(wk_ctx *c) {
    const int32_t idx[3] = {1, 4, 0};
    wk_tensor *dst = wk_scale(c, P(c, 4, 6, 1, 1), 1.0f); /* written in place: not a leaf */
    return wk_set_rows(c, dst, P(c, 4, 3, 1, 1), ivec(c, 3, 1, idx));
}
static wk_tensor *c_concat1(wk_ctx *c) { return wk_concat(c, P(c, 3, 2, 2, 1), P(c, 3, 4, 2, 1), 1); }
static wk_tensor *c_concat2(wk_ctx *c) { return wk_concat(c, P(c, 3, 2, 1, 2), P(c, 3, 2, 3, 2), 2); }
static wk_tensor *c_mul_mat(wk_ctx *c) { return wk_mul_mat(c, P(c, 5, 3, 2, 1), P(c, 5, 4, 4, 2)); }
static wk_tensor *c_mul_mat_t(wk_ctx *c) { /* weights used through a transposed copy */
    return wk_mul_mat(c, wk_cont(c, wk_transpose(c, P(c, 3, 5, 1, 1))), P(c, 5, 4, 1, 1));
}
static wk_tensor *c_out_prod(wk_ctx *c) { return wk_out_prod(c, P(c, 3, 5, 1, 1), P(c, 4, 5, 2, 1)); }
static wk_tensor *c_rms_norm(wk_ctx *c) { return wk_rms_norm(c, P(c, 8, 3, 2, 1), 1e-5f); }
static wk_tensor *c_norm(wk_ctx *c) { return wk_norm(c, P(c, 8, 3, 2, 1), 1e-5f); }
static wk_tensor *c_soft_max(wk_ctx *c) {
    wk_tensor *mask = mk(c, 6, 3, 1, 1, -1, 1, false);
    ((float *)mask->data)[2] = -INFINITY;
    ((float *)mask->data)[6 + 5] = -INFINITY;
    return wk_soft_max(c, Pr(c, 6, 3, 2, 1, -2, 2), mask, 0.8f);
}
static wk_tensor *c_soft_max_nomask(wk_ctx *c) { return wk_soft_max(c, Pr(c, 7, 2, 1, 1, -2, 2), NULL, 1.0f); }
static wk_tensor *rope_case(wk_ctx *c, bool neox) {
    const int32_t pos[3] = {0, 5, 11};
    wk_rope_params rp = wk_rope_params_default(neox ? 6 : 8, neox ? WK_ROPE_NEOX : WK_ROPE_NORMAL);
    rp.freq_base = 100.0f;
    wk_tensor *ff = NULL;
    if (neox) { /* partial rotation, frequency factors and YaRN */
        ff = mk(c, 3, 1, 1, 1, 1, 2, false);
        rp.ext_factor = 0.5f;
        rp.n_ctx_orig = 16;
        rp.freq_scale = 0.5f;
    }
    return wk_rope(c, P(c, 8, 2, 3, 1), ivec(c, 3, 1, pos), ff, &rp);
}
static wk_tensor *c_rope(wk_ctx *c) { return rope_case(c, false); }
static wk_tensor *c_rope_neox(wk_ctx *c) { return rope_case(c, true); }
static wk_tensor *fa_case(wk_ctx *c, float softcap) {
    wk_tensor *mask = mk(c, 5, 3, 1, 1, -0.5, 0.5, false);
    float *m = mask->data;
    m[4] = m[3] = -INFINITY; /* query 0 sees keys 0-2 only */
    m[5 + 4] = -INFINITY;
    return wk_flash_attn(c, P(c, 4, 3, 4, 1), P(c, 4, 5, 2, 1), P(c, 3, 5, 2, 1), mask, 0.6f, softcap);
}
static wk_tensor *c_flash_attn(wk_ctx *c) { return fa_case(c, 0.0f); }
static wk_tensor *c_flash_attn_cap(wk_ctx *c) { return fa_case(c, 1.5f); }
static wk_tensor *c_cross_entropy(wk_ctx *c) {
    const int32_t lab[4] = {2, -1, 0, 4}; /* row 1 ignored */
    return wk_cross_entropy(c, Pr(c, 5, 4, 1, 1, -2, 2), ivec(c, 4, 1, lab));
}
static wk_tensor *c_kl_div(wk_ctx *c) { /* soft targets: one row masked (all 0), one with zeros */
    wk_tensor *t = mk(c, 5, 4, 1, 1, 0.1, 1, false);
    float *v = t->data;
    for (int r = 0; r < 4; r++) {
        if (r == 1) v[r * 5 + 0] = v[r * 5 + 3] = 0; /* 0 log 0 terms */
        float s = 0;
        for (int i = 0; i < 5; i++) s += v[r * 5 + i];
        for (int i = 0; i < 5; i++) v[r * 5 + i] = r == 2 ? 0.0f : v[r * 5 + i] / s;
    }
    return wk_kl_div(c, Pr(c, 5, 4, 1, 1, -2, 2), t);
}
static wk_tensor *c_twice(wk_ctx *c) { /* a read three times: a * a + silu(a) */
    wk_tensor *a = P(c, 5, 3, 1, 1);
    return wk_add(c, wk_mul(c, a, a), wk_silu(c, a));
}
static wk_tensor *c_frozen(wk_ctx *c) { return wk_mul(c, P(c, 5, 3, 1, 1), mk(c, 5, 3, 1, 1, -1, 1, false)); }

typedef struct {
    const char *name;
    wk_op op; /* the op the case covers (NONE: a composite) */
    wk_tensor *(*build)(wk_ctx *);
} gcase;

static const gcase k_cases[] = {
    {"add (broadcast)", WK_OP_ADD, c_add}, {"sub (broadcast)", WK_OP_SUB, c_sub},
    {"mul (broadcast)", WK_OP_MUL, c_mul}, {"div (broadcast)", WK_OP_DIV, c_div},
    {"scale", WK_OP_SCALE, c_scale}, {"sqr", WK_OP_SQR, c_sqr}, {"sqrt", WK_OP_SQRT, c_sqrt},
    {"exp", WK_OP_EXP, c_exp}, {"log", WK_OP_LOG, c_log}, {"tanh", WK_OP_TANH, c_tanh},
    {"silu", WK_OP_SILU, c_silu}, {"gelu", WK_OP_GELU, c_gelu}, {"gelu_erf", WK_OP_GELU_ERF, c_gelu_erf},
    {"softcap", WK_OP_SOFTCAP, c_softcap}, {"clamp", WK_OP_CLAMP, c_clamp}, {"swiglu", WK_OP_SWIGLU, c_swiglu},
    {"geglu", WK_OP_GEGLU, c_geglu}, {"sum", WK_OP_SUM, c_sum}, {"sum_rows", WK_OP_SUM_ROWS, c_sum_rows},
    {"mean", WK_OP_MEAN, c_mean}, {"repeat", WK_OP_REPEAT, c_repeat}, {"cpy (reshaping)", WK_OP_CPY, c_cpy},
    {"cpy (cast of a permuted param)", WK_OP_CPY, c_cast}, {"cont (transposed)", WK_OP_CONT, c_cont},
    {"reshape", WK_OP_RESHAPE, c_reshape}, {"view (strided)", WK_OP_VIEW, c_view},
    {"view (overlapping)", WK_OP_VIEW, c_view_overlap}, {"permute", WK_OP_PERMUTE, c_permute},
    {"transpose", WK_OP_TRANSPOSE, c_transpose}, {"get_rows (repeated rows)", WK_OP_GET_ROWS, c_get_rows},
    {"set_rows", WK_OP_SET_ROWS, c_set_rows}, {"concat dim 1", WK_OP_CONCAT, c_concat1},
    {"concat dim 2", WK_OP_CONCAT, c_concat2}, {"mul_mat (batch broadcast)", WK_OP_MUL_MAT, c_mul_mat},
    {"mul_mat (transposed weights)", WK_OP_MUL_MAT, c_mul_mat_t}, {"out_prod (broadcast)", WK_OP_OUT_PROD, c_out_prod},
    {"rms_norm", WK_OP_RMS_NORM, c_rms_norm}, {"norm", WK_OP_NORM, c_norm},
    {"soft_max (mask, scale)", WK_OP_SOFT_MAX, c_soft_max}, {"soft_max (no mask)", WK_OP_SOFT_MAX, c_soft_max_nomask},
    {"rope normal", WK_OP_ROPE, c_rope}, {"rope neox (partial, freq factors, yarn)", WK_OP_ROPE, c_rope_neox},
    {"flash_attn (gqa, mask)", WK_OP_FLASH_ATTN, c_flash_attn},
    {"flash_attn (softcap)", WK_OP_FLASH_ATTN, c_flash_attn_cap},
    {"cross_entropy (ignored row)", WK_OP_CROSS_ENTROPY, c_cross_entropy},
    {"kl_div (soft targets, masked row)", WK_OP_CROSS_ENTROPY, c_kl_div},
    {"param used three times", WK_OP_NONE, c_twice}, {"frozen input", WK_OP_NONE, c_frozen},
};
#define N_CASES (int)(sizeof k_cases / sizeof k_cases[0])

/* ---- the check ------------------------------------------------------------------------------- */

#define TOL 5e-3
#define STEP 1e-2
#define LLAMA_STEP 3e-3

static wk_ctx *new_ctx(void) {
    wk_ctx *ctx = NULL;
    if (wk_ctx_create(NULL, &ctx) != WK_OK) { fprintf(stderr, "ctx: %s\n", wk_last_error()); exit(2); }
    return ctx;
}

static double *dalloc(int64_t n) {
    double *d = calloc((size_t)n, sizeof *d);
    if (!d) { fprintf(stderr, "out of memory\n"); exit(2); }
    return d;
}

static bool compute(wk_backend *be, wk_graph *g) {
    if (wk_graph_compute(be, g) == WK_OK) return true;
    printf("    compute: %s  FAIL\n", wk_last_error());
    fails++;
    return false;
}

/* Max |a - f| over max |f| (f the finite differences); also reports the same for 1.05 a. */
static double rel_err(const double *a, const double *f, int64_t n, double scale_a, double *fmax_out) {
    double fmax = 0, worst = 0;
    for (int64_t i = 0; i < n; i++) fmax = fmax > fabs(f[i]) ? fmax : fabs(f[i]);
    for (int64_t i = 0; i < n; i++) {
        double e = fabs(scale_a * a[i] - f[i]);
        if (!(e <= worst)) worst = e; /* NaN wins */
    }
    *fmax_out = fmax;
    return worst / (fmax > 0 ? fmax : 1);
}

/* Differentiates loss (y itself when y_is_loss, else sum(y * R)) w.r.t. every param and
 * checks it against finite differences. Returns the worst relative error. */
static double check_graph(wk_ctx *ctx, wk_tensor *y, bool y_is_loss, double step, const char *name, wk_graph **g_out) {
    double worst_case = 0;
    wk_tensor *loss = y;
    if (!y_is_loss) {
        wk_tensor *r = mk(ctx, y->ne[0], y->ne[1], y->ne[2], y->ne[3], -1, 1, false);
        loss = wk_sum(ctx, wk_mul(ctx, y, r));
    }
    wk_graph *g = wk_graph_new(ctx);
    wk_status st = g && loss ? wk_graph_expand(g, loss) : WK_ERR_INVALID_ARG;
    if (st == WK_OK) st = wk_graph_build_backward(ctx, g, loss);
    if (st != WK_OK) {
        printf("  %-40s backward: %s  FAIL\n", name, wk_last_error());
        fails++;
        return INFINITY;
    }
    if (g_out) *g_out = g;
    wk_backend *be1 = NULL, *be3 = NULL;
    if (wk_backend_cpu_create(1, &be1) != WK_OK || wk_backend_cpu_create(3, &be3) != WK_OK) {
        fprintf(stderr, "backend: %s\n", wk_last_error());
        exit(2);
    }
    wk_tensor *grads[MAX_PARAMS];
    double *ana[MAX_PARAMS];
    for (int i = 0; i < g_n_params; i++) {
        wk_tensor *p = g_params[i];
        grads[i] = wk_graph_grad(g, p);
        ana[i] = dalloc(wk_tensor_nelements(p));
        if (!grads[i] || !wk_tensor_same_shape(grads[i], p) || !wk_tensor_is_contiguous(grads[i]) ||
            grads[i]->type != WK_TYPE_F32) {
            printf("  %-40s %s: no contiguous f32 gradient of the param's shape  FAIL\n", name, p->name);
            fails++;
            grads[i] = NULL;
        }
    }
    /* 3 threads, then 1: the analytic gradients must agree */
    if (!compute(be3, g)) goto out;
    for (int i = 0; i < g_n_params; i++)
        if (grads[i])
            for (int64_t k = 0; k < wk_tensor_nelements(grads[i]); k++) ana[i][k] = ((float *)grads[i]->data)[k];
    if (!compute(be1, g)) goto out;
    for (int i = 0; i < g_n_params; i++) {
        if (!grads[i]) continue;
        double d = 0, m = 0;
        for (int64_t k = 0; k < wk_tensor_nelements(grads[i]); k++) {
            double v = ((float *)grads[i]->data)[k];
            d = fmax(d, fabs(v - ana[i][k]));
            m = fmax(m, fabs(v));
            ana[i][k] = v;
        }
        if (!(d <= 1e-5 * (m > 0 ? m : 1))) {
            printf("  %-40s %s: 1 vs 3 threads differ by %.3g  FAIL\n", name, g_params[i]->name, d);
            fails++;
        }
    }
    /* central differences of the loss, one param element at a time */
    for (int i = 0; i < g_n_params; i++) {
        if (!grads[i]) continue;
        wk_tensor *p = g_params[i];
        const int64_t n = wk_tensor_nelements(p);
        double *fd = dalloc(n);
        float *x = p->data;
        for (int64_t k = 0; k < n; k++) {
            const float x0 = x[k];
            x[k] = x0 + (float)step;
            const double hp = (double)x[k] - x0;
            if (!compute(be1, g)) goto out;
            const double lp = *(float *)loss->data;
            x[k] = x0 - (float)step;
            const double hm = x0 - (double)x[k];
            if (!compute(be1, g)) goto out;
            const double lm = *(float *)loss->data;
            x[k] = x0;
            fd[k] = (lp - lm) / (hp + hm);
        }
        double fmax, fmax2;
        const double e = rel_err(ana[i], fd, n, 1.0, &fmax), e_bad = rel_err(ana[i], fd, n, 1.05, &fmax2);
        const bool bad = !(e <= TOL) || fmax < 1e-3 || !(e_bad > TOL);
        printf("  %-40s %-4s n=%-4lld max|fd|=%-9.3g rel err %.2e (x1.05: %.2e)%s\n", name, p->name, (long long)n,
               fmax, e, e_bad, bad ? "  FAIL" : "");
        fails += bad;
        if (e > worst_case) worst_case = e;
        free(fd);
    }
out:
    for (int i = 0; i < g_n_params; i++) free(ana[i]);
    wk_backend_free(be1);
    wk_backend_free(be3);
    return worst_case;
}

static void test_ops(void) {
    printf("gradients vs central differences (h = %g, bound %g of max|fd|)\n", STEP, TOL);
    bool covered[WK_OP_COUNT] = {0};
    double worst_op[WK_OP_COUNT] = {0};
    for (int ci = 0; ci < N_CASES; ci++) {
        wk_ctx *ctx = new_ctx();
        tu_seed(0xC0FFEEull + (uint64_t)ci);
        g_n_params = 0;
        wk_tensor *y = k_cases[ci].build(ctx);
        if (!y) {
            printf("  %s: build: %s  FAIL\n", k_cases[ci].name, wk_last_error());
            fails++;
            wk_ctx_free(ctx);
            continue;
        }
        wk_graph *g = NULL;
        double e = check_graph(ctx, y, false, STEP, k_cases[ci].name, &g);
        if (k_cases[ci].op != WK_OP_NONE) {
            covered[k_cases[ci].op] = true;
            if (e > worst_op[k_cases[ci].op]) worst_op[k_cases[ci].op] = e;
        }
        if (k_cases[ci].build == c_frozen) { /* the frozen factor gets no gradient */
            wk_tensor *b = y->src[1];
            if (g && wk_graph_grad(g, b)) {
                printf("  frozen input got a gradient  FAIL\n");
                fails++;
            }
        }
        wk_ctx_free(ctx);
    }
    printf("worst relative error per op\n");
    for (int op = 1; op < WK_OP_COUNT; op++) {
        if (!wk_op_has_grad((wk_op)op)) continue;
        if (!covered[op]) {
            printf("  %-16s no gradient check  FAIL\n", wk_op_name((wk_op)op));
            fails++;
            continue;
        }
        printf("  %-16s %.2e\n", wk_op_name((wk_op)op), worst_op[op]);
    }
}

/* ---- a 2-layer llama-like model: gradients and planner numbers --------------------------------- */

typedef struct { int E, H, HKV, HD, FF, V, T, L; } llama_dims;

/* Embedding, L blocks (rms_norm, rope'd GQA flash attention with a causal mask, swiglu
 * FFN, residuals), final norm, output matrix, cross-entropy: the shape of a llama step. */
static wk_tensor *build_llama(wk_ctx *ctx, llama_dims d) {
    int32_t *tok = calloc((size_t)d.T * 3, sizeof *tok);
    if (!tok) { fprintf(stderr, "out of memory\n"); exit(2); }
    int32_t *lab = tok + d.T, *pos = lab + d.T;
    for (int i = 0; i < d.T; i++) {
        tok[i] = (int32_t)tu_int(0, d.V - 1);
        pos[i] = i;
    }
    for (int i = 0; i < d.T; i++) lab[i] = i + 1 < d.T ? tok[i + 1] : -1; /* last row ignored */
    wk_tensor *tokens = ivec(ctx, d.T, 1, tok), *labels = ivec(ctx, d.T, 1, lab), *positions = ivec(ctx, d.T, 1, pos);
    free(tok);
    wk_tensor *mask = mk(ctx, d.T, d.T, 1, 1, 0, 0, false);
    for (int i = 0; i < d.T; i++)
        for (int j = i + 1; j < d.T; j++) ((float *)mask->data)[(int64_t)i * d.T + j] = -INFINITY;
    const double ws = 1.0 / sqrt((double)d.E); /* keeps activations ~1 at any width */
    wk_tensor *emb = P(ctx, d.E, d.V, 1, 1);
    wk_tensor *x = wk_get_rows(ctx, emb, tokens); /* [E, T] */
    const wk_rope_params rp = wk_rope_params_default(d.HD, WK_ROPE_NEOX);
    for (int l = 0; l < d.L; l++) {
        wk_tensor *an = Pr(ctx, d.E, 1, 1, 1, 0.5, 1.5), *fn = Pr(ctx, d.E, 1, 1, 1, 0.5, 1.5);
        wk_tensor *wq = Pr(ctx, d.E, d.H * d.HD, 1, 1, -ws, ws), *wk = Pr(ctx, d.E, d.HKV * d.HD, 1, 1, -ws, ws);
        wk_tensor *wv = Pr(ctx, d.E, d.HKV * d.HD, 1, 1, -ws, ws), *wo = Pr(ctx, d.H * d.HD, d.E, 1, 1, -ws, ws);
        wk_tensor *wg = Pr(ctx, d.E, d.FF, 1, 1, -ws, ws), *wu = Pr(ctx, d.E, d.FF, 1, 1, -ws, ws);
        wk_tensor *wd = Pr(ctx, d.FF, d.E, 1, 1, -ws, ws);
        wk_tensor *h = wk_mul(ctx, wk_rms_norm(ctx, x, 1e-5f), an);
        wk_tensor *q = wk_rope(ctx, wk_reshape_3d(ctx, wk_mul_mat(ctx, wq, h), d.HD, d.H, d.T), positions, NULL, &rp);
        wk_tensor *k = wk_rope(ctx, wk_reshape_3d(ctx, wk_mul_mat(ctx, wk, h), d.HD, d.HKV, d.T), positions, NULL, &rp);
        wk_tensor *v = wk_reshape_3d(ctx, wk_mul_mat(ctx, wv, h), d.HD, d.HKV, d.T);
        wk_tensor *o = wk_flash_attn(ctx, wk_permute(ctx, q, 0, 2, 1, 3), wk_permute(ctx, k, 0, 2, 1, 3),
                                     wk_permute(ctx, v, 0, 2, 1, 3), mask, 1.0f / sqrtf((float)d.HD), 0.0f);
        x = wk_add(ctx, x, wk_mul_mat(ctx, wo, wk_reshape_2d(ctx, o, d.H * d.HD, d.T))); /* o: [HD, H, T] */
        wk_tensor *h2 = wk_mul(ctx, wk_rms_norm(ctx, x, 1e-5f), fn);
        x = wk_add(ctx, x, wk_mul_mat(ctx, wd, wk_swiglu(ctx, wk_mul_mat(ctx, wg, h2), wk_mul_mat(ctx, wu, h2))));
    }
    wk_tensor *wout = Pr(ctx, d.E, d.V, 1, 1, -ws, ws);
    return wk_cross_entropy(ctx, wk_mul_mat(ctx, wout, wk_rms_norm(ctx, x, 1e-5f)), labels);
}

/* Forward-only planner numbers from a graph of loss alone (computed once). */
static bool plan_forward(wk_ctx *ctx, wk_tensor *loss, size_t *plan, size_t *naive, int *n_nodes) {
    wk_graph *gf = wk_graph_new(ctx);
    wk_backend *be = NULL;
    bool ok = gf && wk_graph_expand(gf, loss) == WK_OK && wk_backend_cpu_create(2, &be) == WK_OK &&
              wk_graph_compute(be, gf) == WK_OK;
    if (!ok) {
        printf("  forward: %s  FAIL\n", wk_last_error());
        fails++;
    } else {
        *plan = wk_graph_planned_bytes(gf);
        *naive = wk_graph_naive_bytes(gf);
        *n_nodes = wk_graph_n_nodes(gf);
    }
    wk_backend_free(be);
    return ok;
}

static void print_plan(const char *what, int nodes, size_t plan, size_t naive) {
    printf("  %-18s %5d nodes, planned %10zu bytes (unshared %zu)\n", what, nodes, plan, naive);
}

static void test_llama(void) {
    printf("2-layer llama-like model (cross-entropy loss), all params checked\n");
    wk_ctx *ctx = new_ctx();
    tu_seed(42);
    g_n_params = 0;
    const llama_dims tiny = {8, 2, 1, 4, 12, 10, 5, 2};
    wk_tensor *loss = build_llama(ctx, tiny);
    size_t fp = 0, fn = 0;
    int fnodes = 0;
    if (!loss) {
        printf("  build: %s  FAIL\n", wk_last_error());
        fails++;
    } else if (plan_forward(ctx, loss, &fp, &fn, &fnodes)) {
        wk_graph *g = NULL;
        check_graph(ctx, loss, true, LLAMA_STEP, "llama-like, 2 layers", &g);
        if (g) {
            print_plan("forward", fnodes, fp, fn);
            print_plan("forward+backward", wk_graph_n_nodes(g), wk_graph_planned_bytes(g), wk_graph_naive_bytes(g));
            if (!(wk_graph_planned_bytes(g) < wk_graph_naive_bytes(g))) {
                printf("  the planner shared nothing  FAIL\n");
                fails++;
            }
        }
    }
    wk_ctx_free(ctx);

    /* planner numbers at a more telling size (no finite differences: one compute each) */
    const llama_dims mid = {256, 8, 2, 32, 688, 1000, 64, 2};
    printf("2-layer llama-like, E=%d H=%d/%d FF=%d V=%d T=%d: planner\n", mid.E, mid.H, mid.HKV, mid.FF, mid.V, mid.T);
    ctx = new_ctx();
    g_n_params = 0;
    loss = build_llama(ctx, mid);
    wk_graph *g = wk_graph_new(ctx);
    wk_backend *be = NULL;
    if (!loss || !plan_forward(ctx, loss, &fp, &fn, &fnodes) || !g || wk_graph_expand(g, loss) != WK_OK ||
        wk_graph_build_backward(ctx, g, loss) != WK_OK || wk_backend_cpu_create(2, &be) != WK_OK ||
        wk_graph_compute(be, g) != WK_OK) {
        printf("  %s  FAIL\n", wk_last_error());
        fails++;
    } else {
        size_t pbytes = 0;
        for (int i = 0; i < g_n_params; i++) pbytes += wk_tensor_nbytes(g_params[i]);
        print_plan("forward", fnodes, fp, fn);
        print_plan("forward+backward", wk_graph_n_nodes(g), wk_graph_planned_bytes(g), wk_graph_naive_bytes(g));
        printf("  params %zu bytes (their gradients the same, inside the plan as outputs); loss %.4f (ln V = %.4f)\n",
               pbytes, *(float *)loss->data, log((double)mid.V));
        /* a finite loss and gradients: the big graph computed, not just planned */
        bool finite = isfinite(*(float *)loss->data);
        for (int i = 0; i < g_n_params && finite; i++) {
            wk_tensor *gr = wk_graph_grad(g, g_params[i]);
            for (int64_t k = 0; gr && k < wk_tensor_nelements(gr); k++) finite = finite && isfinite(((float *)gr->data)[k]);
            finite = finite && gr;
        }
        if (!finite) {
            printf("  non-finite loss or gradient  FAIL\n");
            fails++;
        }
    }
    wk_backend_free(be);
    wk_ctx_free(ctx);
}

/* ---- errors ---------------------------------------------------------------------------------- */

static void test_errors(void) {
    printf("errors\n");
    wk_ctx *ctx = new_ctx();
    g_n_params = 0;
    wk_tensor *a = P(ctx, 4, 3, 1, 1);
    wk_tensor *y = wk_sqr(ctx, a);
    wk_graph *g = wk_graph_new(ctx);
    wk_status st = wk_graph_build_backward(ctx, g, y); /* not a scalar */
    printf("  non-scalar loss: %s\n", wk_last_error());
    if (st != WK_ERR_SHAPE) { printf("  expected WK_ERR_SHAPE  FAIL\n"); fails++; }
    st = wk_graph_build_backward(ctx, NULL, y);
    if (st != WK_ERR_INVALID_ARG) { printf("  NULL graph accepted  FAIL\n"); fails++; }
    /* a param that is not f32 */
    wk_tensor *h = wk_new_tensor_2d(ctx, WK_TYPE_F16, 4, 3);
    wk_tensor_set_param(h);
    wk_tensor *l2 = wk_sum(ctx, wk_mul_mat(ctx, h, a));
    g = wk_graph_new(ctx);
    st = wk_graph_build_backward(ctx, g, l2);
    printf("  f16 param: %s\n", wk_last_error());
    if (st != WK_ERR_UNSUPPORTED) { printf("  expected WK_ERR_UNSUPPORTED  FAIL\n"); fails++; }
    /* gradient through a frozen quantized weight: d/dx sum(W x) = W^T 1 with W dequantized
     * (the f32 function's gradient; activation rounding is not differentiated), against
     * f64, for a legacy and a K-quant type, 1 and 3 threads */
    static const wk_type qtypes[2] = {WK_TYPE_Q8_0, WK_TYPE_Q4_K};
    for (int qi = 0; qi < 2; qi++) {
        const int64_t K = 256, M = 70, N = 5; /* more rows than one 64-row chunk */
        wk_tensor *qw = wk_new_tensor_2d(ctx, qtypes[qi], K, M);
        float *row = malloc(sizeof(float) * K), *deq = malloc(sizeof(float) * K * M);
        for (int64_t r = 0; r < M; r++) {
            for (int64_t e = 0; e < K; e++) row[e] = (float)tu_uniform(-1, 1);
            wk_quantize_row(qtypes[qi], row, (char *)qw->data + r * qw->nb[1], K);
            wk_dequantize_row(qtypes[qi], (char *)qw->data + r * qw->nb[1], deq + r * K, K);
        }
        wk_tensor *xb = P(ctx, K, N, 1, 1);
        wk_tensor *l3 = wk_sum(ctx, wk_mul_mat(ctx, qw, xb));
        g = wk_graph_new(ctx);
        st = l3 && g ? wk_graph_expand(g, l3) : WK_ERR_SHAPE;
        if (st == WK_OK) st = wk_graph_build_backward(ctx, g, l3);
        for (int nth = 1; nth <= 3 && st == WK_OK; nth += 2) {
            wk_backend *be = NULL;
            if (wk_backend_cpu_create(nth, &be) != WK_OK || wk_graph_compute(be, g) != WK_OK) st = WK_ERR_SHAPE;
            wk_backend_free(be);
            const wk_tensor *gx = st == WK_OK ? wk_graph_grad(g, xb) : NULL;
            double worst = gx ? 0 : INFINITY;
            for (int64_t j = 0; gx && j < N; j++)
                for (int64_t e = 0; e < K; e++) {
                    double ref = 0;
                    for (int64_t r = 0; r < M; r++) ref += deq[r * K + e];
                    worst = fmax(worst, fabs(tu_get(gx, e, j, 0, 0) - ref) / (fabs(ref) + 1));
                }
            printf("  through frozen %s weights, t=%d: max rel err %.2e%s\n", wk_type_name(qtypes[qi]), nth, worst,
                   worst <= 1e-5 ? "" : "  FAIL");
            if (!(worst <= 1e-5)) fails++;
        }
        if (st != WK_OK) {
            printf("  through frozen %s weights: %s  FAIL\n", wk_type_name(qtypes[qi]), wk_last_error());
            fails++;
        }
        free(row), free(deq);
    }
    /* a loss that depends on no param: nothing added, no gradient */
    wk_tensor *fz = mk(ctx, 4, 1, 1, 1, -1, 1, false);
    wk_tensor *l4 = wk_sum(ctx, fz);
    g = wk_graph_new(ctx);
    int before = 0;
    st = wk_graph_expand(g, l4);
    before = wk_graph_n_nodes(g);
    if (st == WK_OK) st = wk_graph_build_backward(ctx, g, l4);
    if (st != WK_OK || wk_graph_n_nodes(g) != before || wk_graph_grad(g, fz)) {
        printf("  loss without params changed the graph  FAIL\n");
        fails++;
    }
    wk_ctx_free(ctx);
}

int main(void) {
    test_ops();
    test_llama();
    test_errors();
    if (fails) {
        printf("test_grad: %d FAILED\n", fails);
        return 1;
    }
    printf("test_grad: all passed\n");
    return 0;
}
