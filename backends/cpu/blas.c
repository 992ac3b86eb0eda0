/* blas.c — optional OpenBLAS path for large f32 matmuls (WICK_OPENBLAS). Each thread of
 * the one OpenMP region calls a single-threaded sgemm on its own slice of columns, so
 * BLAS and wick's own kernels never fight over threads. WICK_BLAS=0 turns it off. */
#include <stdlib.h>

#include "blas.h"

#ifdef WICK_OPENBLAS
#include <cblas.h>

static int g_blas = -1;

bool wk_cpu_blas_enabled(void) {
    if (g_blas < 0) {
        const char *e = getenv("WICK_BLAS");
        g_blas = !(e && e[0] == '0');
    }
    return g_blas;
}
void wk_cpu_blas_set(bool on) { g_blas = on; }

void wk_cpu_blas_sgemm_nt(int64_t k, int64_t m, int64_t n, const float *a, size_t lda, const float *b,
                          size_t ldb, float *c, size_t ldc) {
    /* c (n rows of m) = b (n x k) * a^T (k x m), all row-major */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)n, (blasint)m, (blasint)k, 1.0f, b,
                (blasint)ldb, a, (blasint)lda, 0.0f, c, (blasint)ldc);
}
#else
bool wk_cpu_blas_enabled(void) { return false; }
void wk_cpu_blas_set(bool on) { (void)on; }
void wk_cpu_blas_sgemm_nt(int64_t k, int64_t m, int64_t n, const float *a, size_t lda, const float *b,
                          size_t ldb, float *c, size_t ldc) {
    (void)k; (void)m; (void)n; (void)a; (void)lda; (void)b; (void)ldb; (void)c; (void)ldc;
}
#endif
