/* blas.c — optional OpenBLAS path for large f32 matmuls (WICK_OPENBLAS). Each thread of
 * the one OpenMP region calls a single-threaded sgemm on its own slice of columns, so
 * BLAS and wick's own kernels never fight over threads. WICK_BLAS=0 turns it off. */
#include <stdlib.h>

#include "blas.h"

#ifdef WICK_OPENBLAS
#include <cblas.h>
#include <omp.h>

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
    /* OpenBLAS (OpenMP build) sizes its own team from omp_get_max_threads(). Inside our
     * one-thread team that is still the machine's count, so it would start threads that
     * fight ours (256x256x512 at -t 1: 5.8 GFLOP/s instead of 70). The setting belongs to
     * this thread's implicit task of our region only, so nothing outside it changes. */
    omp_set_num_threads(1);
    /* c (n rows of m) = b (n x k) * a^T (k x m), all row-major */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)n, (blasint)m, (blasint)k, 1.0f, b,
                (blasint)ldb, a, (blasint)lda, 0.0f, c, (blasint)ldc);
}

void wk_cpu_blas_sgemm_ex(int64_t k, int64_t m, int64_t n, const float *a, size_t lda, bool a_kmajor, const float *b,
                          size_t ldb, bool b_kmajor, float *c, size_t ldc) {
    omp_set_num_threads(1); /* as above */
    /* c (n rows of m) = B (n x k) * A^T (k x m), row-major; a k-major operand is stored
     * transposed (k rows), which cblas takes as the opposite transpose flag */
    cblas_sgemm(CblasRowMajor, b_kmajor ? CblasTrans : CblasNoTrans, a_kmajor ? CblasNoTrans : CblasTrans, (blasint)n,
                (blasint)m, (blasint)k, 1.0f, b, (blasint)ldb, a, (blasint)lda, 0.0f, c, (blasint)ldc);
}

void wk_cpu_blas_sgemm_acc(int64_t k, int64_t m, int64_t n, const float *a, size_t lda, bool a_kmajor, const float *b,
                           size_t ldb, bool b_kmajor, float *c, size_t ldc) {
    omp_set_num_threads(1); /* as above */
    cblas_sgemm(CblasRowMajor, b_kmajor ? CblasTrans : CblasNoTrans, a_kmajor ? CblasNoTrans : CblasTrans, (blasint)n,
                (blasint)m, (blasint)k, 1.0f, b, (blasint)ldb, a, (blasint)lda, 1.0f, c, (blasint)ldc);
}
#else
bool wk_cpu_blas_enabled(void) { return false; }
void wk_cpu_blas_set(bool on) { (void)on; }
void wk_cpu_blas_sgemm_nt(int64_t k, int64_t m, int64_t n, const float *a, size_t lda, const float *b,
                          size_t ldb, float *c, size_t ldc) {
    (void)k; (void)m; (void)n; (void)a; (void)lda; (void)b; (void)ldb; (void)c; (void)ldc;
}
void wk_cpu_blas_sgemm_ex(int64_t k, int64_t m, int64_t n, const float *a, size_t lda, bool a_kmajor, const float *b,
                          size_t ldb, bool b_kmajor, float *c, size_t ldc) {
    (void)k; (void)m; (void)n; (void)a; (void)lda; (void)a_kmajor; (void)b; (void)ldb; (void)b_kmajor; (void)c;
    (void)ldc;
}
void wk_cpu_blas_sgemm_acc(int64_t k, int64_t m, int64_t n, const float *a, size_t lda, bool a_kmajor, const float *b,
                           size_t ldb, bool b_kmajor, float *c, size_t ldc) {
    (void)k; (void)m; (void)n; (void)a; (void)lda; (void)a_kmajor; (void)b; (void)ldb; (void)b_kmajor; (void)c;
    (void)ldc;
}
#endif
