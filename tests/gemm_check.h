/* gemm_check.h — compares a kernel set's gemm and f32->bf16 kernels with the scalar
 * set over many shapes and strides. Shared by test_mul_mat (native sets) and
 * tests/simd (the AVX-512 set compiled against SIMDe's emulation).
 *
 * Tolerance: SIMD kernels sum in a different order than the scalar loop; each ordering
 * is within k * eps * sum|a_i b_i| of the exact value, so two orderings differ by at most
 * 2 k eps sum|a b| (eps = 2^-24); a tiny absolute floor covers exact zeros. */
#ifndef WK_GEMM_CHECK_H
#define WK_GEMM_CHECK_H
#include "testutil.h"

static int fails;
/* worst error of the current type's shapes: |err| / bound and |err| itself */
static double g_worst_ratio, g_worst_abs;

static void fill_f32(float *x, size_t n) { for (size_t i = 0; i < n; i++) x[i] = (float)tu_uniform(-1, 1); }

/* kernel vs scalar on one shape; lda/ldb/ldc padded beyond k / m to test strides */
static int check_gemm(const wk_isa *isa, const char *type, int m, int n, int64_t k) {
    size_t lda = (size_t)k + 5, ldb = (size_t)k + 3, ldc = (size_t)m + 2;
    float *af = malloc(lda * m * 4), *bf = malloc(ldb * n * 4), *c0 = malloc(ldc * n * 4), *c1 = malloc(ldc * n * 4);
    uint16_t *a16 = malloc(lda * m * 2), *b16 = malloc(ldb * n * 2);
    double *bound = malloc(ldc * n * sizeof(double));
    fill_f32(af, lda * m);
    fill_f32(bf, ldb * n);
    for (size_t i = 0; i < ldc * n; i++) c0[i] = c1[i] = NAN;
    bool is_f16 = !strcmp(type, "f16"), is_bf16 = !strcmp(type, "bf16");
    for (size_t i = 0; i < lda * m; i++) a16[i] = is_f16 ? wk_fp32_to_fp16(af[i]) : wk_fp32_to_bf16(af[i]);
    for (size_t i = 0; i < ldb * n; i++) b16[i] = wk_fp32_to_bf16(bf[i]);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int64_t e = 0; e < k; e++) {
                double x = is_f16 ? wk_fp16_to_fp32(a16[i * lda + e]) : is_bf16 ? wk_bf16_to_fp32(a16[i * lda + e]) : af[i * lda + e];
                double y = is_bf16 ? wk_bf16_to_fp32(b16[j * ldb + e]) : bf[j * ldb + e];
                s += fabs(x * y);
            }
            bound[j * ldc + i] = 2.0 * (double)k * 0x1p-24 * s + 1e-30;
        }
    if (is_f16) {
        wk_cpu_isa_scalar.gemm_f16(k, m, n, a16, lda, bf, ldb, c0, ldc);
        isa->gemm_f16(k, m, n, a16, lda, bf, ldb, c1, ldc);
    } else if (is_bf16) {
        wk_cpu_isa_scalar.gemm_bf16(k, m, n, a16, lda, b16, ldb, c0, ldc);
        isa->gemm_bf16(k, m, n, a16, lda, b16, ldb, c1, ldc);
    } else {
        wk_cpu_isa_scalar.gemm_f32(k, m, n, af, lda, bf, ldb, c0, ldc);
        isa->gemm_f32(k, m, n, af, lda, bf, ldb, c1, ldc);
    }
    int bad = 0;
    double worst = 0;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < (int)ldc; i++) {
            float x = c0[j * ldc + i], y = c1[j * ldc + i];
            if (i >= m) { if (!isnan(y)) bad++; continue; } /* must not write past m */
            double err = fabs((double)x - y);
            if (!(err <= bound[j * ldc + i])) bad++;
            if (err / bound[j * ldc + i] > worst) worst = err / bound[j * ldc + i];
            if (err > g_worst_abs) g_worst_abs = err;
        }
    if (worst > g_worst_ratio) g_worst_ratio = worst;
    if (bad) printf("  FAIL %s gemm_%s m=%d n=%d k=%lld: %d wrong (worst err/bound %.3g)\n", isa->name, type, m, n,
                    (long long)k, bad, worst);
    free(af); free(bf); free(c0); free(c1); free(a16); free(b16); free(bound);
    return bad ? 1 : 0;
}

static void test_kernels(const wk_isa *isa) {
    static const int sizes[] = {1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 64, 65, 100, 257};
    const int ns = sizeof sizes / sizeof sizes[0];
    const char *types[] = {"f32", "f16", "bf16"};
    for (int t = 0; t < 3; t++) {
        int bad = 0, cases = 0;
        g_worst_ratio = g_worst_abs = 0;
        for (int im = 0; im < ns; im++)
            for (int in = 0; in < ns; in++) {
                int64_t k = sizes[(im * 7 + in * 3) % ns];
                if (sizes[im] * sizes[in] * k > 2000000) continue;
                bad += check_gemm(isa, types[t], sizes[im], sizes[in], k);
                cases++;
            }
        for (int64_t k = 1000; k <= 4096; k += 1548) { bad += check_gemm(isa, types[t], 9, 5, k); cases++; }
        printf("  %-7s gemm_%-4s vs scalar: %d shapes, %d failing; worst |err| %.3g, worst err/tol %.3g "
               "(tol 2 k eps sum|ab|)\n", isa->name, types[t], cases, bad, g_worst_abs, g_worst_ratio);
        fails += bad;
    }
    /* f32 -> bf16: bit-exact with the scalar rounding, incl. NaN, inf, ties, subnormals */
    enum { N = 4099 };
    static float x[N];
    static uint16_t y0[N], y1[N];
    for (int i = 0; i < N; i++) {
        uint32_t u = (uint32_t)tu_next();
        if (i % 5 == 0) u = (u & 0xffff0000u) | 0x8000u;           /* exact tie */
        if (i % 7 == 0) u = (u & 0x807fffffu) | 0x7f800000u;       /* inf / NaN */
        if (i % 11 == 0) u &= 0x807fffffu;                           /* subnormal */
        memcpy(&x[i], &u, 4);
    }
    wk_cpu_isa_scalar.f32_to_bf16(N, x, y0);
    isa->f32_to_bf16(N, x, y1);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += y0[i] != y1[i];
    printf("  %-7s f32_to_bf16 vs scalar: %d values, %d differ (bit-exact required)\n", isa->name, N, bad);
    fails += bad != 0;
}

#endif
