/* blas.h — the optional OpenBLAS sgemm path (compiled to "disabled" without it). */
#ifndef WK_CPU_BLAS_H
#define WK_CPU_BLAS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
bool wk_cpu_blas_enabled(void);  /* built with OpenBLAS and not turned off by WICK_BLAS=0 */
void wk_cpu_blas_set(bool on);   /* for tests and benchmarks */
/* Whether an f32 product of this size goes to BLAS: below ~32M multiply-adds or 32 rows
 * OpenBLAS's packing does not pay off (on Zen 3 it merely matches the avx2 set). */
static inline bool wk_cpu_blas_worth(int64_t m, int64_t n, int64_t k) {
    return n >= 32 && m >= 32 && (double)m * (double)n * (double)k >= 32e6;
}
/* c[j*ldc + i] = dot(row i of a, row j of b), i < m, j < n, single-threaded. */
void wk_cpu_blas_sgemm_nt(int64_t k, int64_t m, int64_t n, const float *a, size_t lda, const float *b,
                          size_t ldb, float *c, size_t ldc);
/* c[j*ldc + i] = sum_k A(i, k) * B(j, k), single-threaded, where A(i, k) is a[i*lda + k],
 * or a[k*lda + i] when a_kmajor, and B(j, k) likewise. */
void wk_cpu_blas_sgemm_ex(int64_t k, int64_t m, int64_t n, const float *a, size_t lda, bool a_kmajor, const float *b,
                          size_t ldb, bool b_kmajor, float *c, size_t ldc);
/* The same, adding into c (c += ...). */
void wk_cpu_blas_sgemm_acc(int64_t k, int64_t m, int64_t n, const float *a, size_t lda, bool a_kmajor, const float *b,
                           size_t ldb, bool b_kmajor, float *c, size_t ldc);
#endif
