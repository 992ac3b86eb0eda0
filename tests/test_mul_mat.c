/* test_mul_mat.c — every SIMD gemm kernel against the scalar set (per ISA this CPU can
 * run; gemm_check.h), f32 -> bf16 rounding bit-exact, and the MUL_MAT op against an f64
 * reference with broadcasting, padded activations, f16/bf16 weights, 1-3 threads and
 * BLAS on and off. Op tolerance: 2 K eps sum|a b| per element, as in gemm_check.h. */
#include "backends/cpu/blas.h"
#include "gemm_check.h"


/* The whole op against f64, through the graph API. */
static void test_op(wk_type wt, int64_t K, int64_t M, int64_t N, int64_t A2, int64_t B2, int64_t B3, bool padded_b,
                    int nth) {
    wk_ctx *ctx;
    wk_ctx_create(NULL, &ctx);
    int64_t ane[4] = {K, M, A2, 1}, bne[4] = {K, N, B2, B3};
    wk_tensor *a = tu_rand(ctx, wt, ane, TU_CONTIG, -1, 1);
    wk_tensor *b = tu_rand(ctx, WK_TYPE_F32, bne, padded_b ? TU_PADDED : TU_CONTIG, -1, 1);
    wk_tensor *c = wk_mul_mat(ctx, a, b);
    if (!c) { printf("  FAIL build: %s\n", wk_last_error()); fails++; wk_ctx_free(ctx); return; }
    wk_graph *g = wk_graph_new(ctx);
    wk_graph_expand(g, c);
    wk_tensor_set_output(c);
    wk_backend *be;
    wk_backend_cpu_create(nth, &be);
    /* the first run plans memory; the checked second run starts from NaN everywhere, so
     * an element no thread writes (a tile skipped by the work split) fails the check */
    if (wk_graph_compute(be, g) != WK_OK) { printf("  FAIL compute: %s\n", wk_last_error()); fails++; }
    TU_FOR_EACH(c, j0, j1, j2, j3) tu_set(c, j0, j1, j2, j3, NAN);
    if (wk_graph_compute(be, g) != WK_OK) { printf("  FAIL compute: %s\n", wk_last_error()); fails++; }
    double *ref = malloc(sizeof(double) * M * N * B2 * B3);
    double *bnd = malloc(sizeof(double) * M * N * B2 * B3);
    size_t r = 0;
    for (int64_t i3 = 0; i3 < B3; i3++)
        for (int64_t i2 = 0; i2 < B2; i2++)
            for (int64_t j = 0; j < N; j++)
                for (int64_t i = 0; i < M; i++, r++) {
                    double s = 0, sa = 0;
                    for (int64_t e = 0; e < K; e++) {
                        double x = tu_get(a, e, i, i2 / (B2 / A2), 0), y = tu_get(b, e, j, i2, i3);
                        if (wt == WK_TYPE_BF16) y = wk_bf16_to_fp32(wk_fp32_to_bf16((float)y));
                        s += x * y;
                        sa += fabs(x * y);
                    }
                    ref[r] = s;
                    bnd[r] = (double)K * 0x1p-24 * sa * 2 + 1e-30;
                }
    int bad = 0;
    double worst = 0;
    r = 0;
    TU_FOR_EACH(c, i0, i1, i2, i3) {
        double err = fabs(tu_get(c, i0, i1, i2, i3) - ref[r]);
        if (!(err <= bnd[r])) bad++;
        if (err > worst) worst = err;
        r++;
    }
    printf("  MUL_MAT %-4s K=%-4lld M=%-4lld N=%-4lld a2=%lld b=[%lld,%lld]%s t=%d isa=%s blas=%d: max|err| %.3g",
           wk_type_name(wt), (long long)K, (long long)M, (long long)N, (long long)A2, (long long)B2, (long long)B3,
           padded_b ? " padded" : "", nth, wk_cpu_isa(), wk_cpu_blas_enabled(), worst);
    if (bad) printf("  FAIL: %d of %zu elements wrong or unwritten (NaN)", bad, r);
    printf("\n");
    fails += bad != 0;
    free(ref);
    free(bnd);
    wk_backend_free(be);
    wk_ctx_free(ctx);
}

int main(void) {
    tu_seed(42);
    for (int i = 0; i < TU_N_ISAS; i++) {
        if (!tu_use_isa(tu_isas[i])) { printf("== %s: not available on this CPU, skipped\n", tu_isas[i]); continue; }
        printf("== isa %s\n", tu_isas[i]);
        if (i > 0) test_kernels(wk_cpu_isa_current());
        wk_type types[3] = {WK_TYPE_F32, WK_TYPE_F16, WK_TYPE_BF16};
        for (int t = 0; t < 3; t++)
            for (int nth = 1; nth <= 3; nth++) {
                test_op(types[t], 67, 33, 9, 1, 1, 1, false, nth);
                test_op(types[t], 64, 130, 1, 1, 1, 1, true, nth);     /* matvec */
                test_op(types[t], 35, 17, 5, 2, 6, 2, true, nth);       /* broadcast a over dims 2-3 */
                test_op(types[t], 33, 61, 100, 1, 1, 1, true, nth);    /* crosses the 60x48 dst tiles */
                test_op(types[t], 100, 37, 1, 2, 6, 1, false, nth);     /* matvec, broadcast */
            }
        /* large enough for the BLAS path, with BLAS on and off */
        for (int blas = 1; blas >= 0; blas--) {
            wk_cpu_blas_set(blas);
            test_op(WK_TYPE_F32, 512, 300, 260, 1, 2, 1, false, 2); /* 40M multiply-adds: past the BLAS threshold */
            test_op(WK_TYPE_F32, 512, 300, 260, 1, 1, 1, true, 3);
            test_op(WK_TYPE_F32, 512, 260, 300, 1, 1, 1, false, 2); /* threads split N rather than M */
        }
        wk_cpu_blas_set(true);
    }
    printf("%s\n", fails ? "FAILED" : "all mul_mat checks passed");
    return fails ? 1 : 0;
}
