/* gemm_tile.h — the register-blocked gemm body shared by the x86 kernel sets. A tile is
 * MR rows of a (<= 4) against NR rows of b (<= 3): 12 vector accumulators plus the loads
 * fit the 16 ymm (or 32 zmm) registers, and each loaded vector feeds 3-4 FMAs. Edge tiles
 * reuse the body with smaller constant sizes (the switch lets it unroll into registers);
 * k tails fall back to scalar products. A set instantiates it with its vector type,
 * width, zero, fma and horizontal-sum operations; the including file defines INLINE.
 * NPH > 1 splits a step of W*NPH elements into phases that each load one vector per row
 * (LD(p, phase)): bf16 uses 2 phases, the even and odd elements of 2W values unpacked by
 * one shift or one mask, since a dot product may pair its terms in any order. MRMAX (4 or
 * 3) caps the tile's rows of a: AVX2 bf16 uses 3 so the mask constant, 9 accumulators and
 * the loads still fit 16 ymm registers without spills. */
#ifndef WK_X86_GEMM_TILE_H
#define WK_X86_GEMM_TILE_H

#define WK_DEFINE_GEMM(NAME, TA, TB, LDA_FN, LDB_FN, ONEA, ONEB, VEC, W, NPH, MRMAX, ZERO, FMA, HSUM)                                          \
    INLINE void NAME##_tile(int MR, int NR, int64_t k, const TA *a, size_t lda, const TB *b, size_t ldb, \
                            float *c, size_t ldc) {                                                 \
        VEC acc[4][3];                                                                           \
        for (int i = 0; i < MR; i++)                                                                \
            for (int j = 0; j < NR; j++) acc[i][j] = ZERO();                           \
        int64_t e = 0;                                                                              \
        for (; e + W * NPH <= k; e += W * NPH)                                                      \
            for (int ph = 0; ph < NPH; ph++) {                                                      \
                VEC bv[3];                                                                          \
                for (int j = 0; j < NR; j++) bv[j] = LDB_FN(b + (size_t)j * ldb + e, ph);           \
                for (int i = 0; i < MR; i++) {                                                      \
                    VEC av = LDA_FN(a + (size_t)i * lda + e, ph);                                   \
                    for (int j = 0; j < NR; j++) acc[i][j] = FMA(av, bv[j], acc[i][j]);             \
                }                                                                                   \
            }                                                                                       \
        for (int i = 0; i < MR; i++)                                                                \
            for (int j = 0; j < NR; j++) {                                                          \
                float s = HSUM(acc[i][j]);                                                         \
                for (int64_t t = e; t < k; t++)                                                     \
                    s += ONEA(a + (size_t)i * lda + t) * ONEB(b + (size_t)j * ldb + t);             \
                c[(size_t)j * ldc + i] = s;                                                         \
            }                                                                                       \
    }                                                                                               \
    static void NAME(int64_t k, int m, int n, const TA *a, size_t lda, const TB *b, size_t ldb, float *c,  \
                     size_t ldc) {                                                                  \
        for (int j = 0; j < n; j += 3) {                                                            \
            int nr = n - j < 3 ? n - j : 3;                                                         \
            const TB *bj = b + (size_t)j * ldb;                                                     \
            float *cj = c + (size_t)j * ldc;                                                        \
            for (int i = 0; i < m; i += MRMAX) {                                                    \
                int mr = m - i < MRMAX ? m - i : MRMAX;                                             \
                const TA *ai = a + (size_t)i * lda;                                                 \
                switch (mr * 4 + nr) { /* constant sizes let the tile unroll into registers */    \
                case 4 * 4 + 3: NAME##_tile(4, 3, k, ai, lda, bj, ldb, cj + i, ldc); break;         \
                case 4 * 4 + 2: NAME##_tile(4, 2, k, ai, lda, bj, ldb, cj + i, ldc); break;         \
                case 4 * 4 + 1: NAME##_tile(4, 1, k, ai, lda, bj, ldb, cj + i, ldc); break;         \
                case 3 * 4 + 3: NAME##_tile(3, 3, k, ai, lda, bj, ldb, cj + i, ldc); break;         \
                case 3 * 4 + 2: NAME##_tile(3, 2, k, ai, lda, bj, ldb, cj + i, ldc); break;         \
                case 3 * 4 + 1: NAME##_tile(3, 1, k, ai, lda, bj, ldb, cj + i, ldc); break;         \
                case 2 * 4 + 3: NAME##_tile(2, 3, k, ai, lda, bj, ldb, cj + i, ldc); break;         \
                case 2 * 4 + 2: NAME##_tile(2, 2, k, ai, lda, bj, ldb, cj + i, ldc); break;         \
                case 2 * 4 + 1: NAME##_tile(2, 1, k, ai, lda, bj, ldb, cj + i, ldc); break;         \
                case 1 * 4 + 3: NAME##_tile(1, 3, k, ai, lda, bj, ldb, cj + i, ldc); break;         \
                case 1 * 4 + 2: NAME##_tile(1, 2, k, ai, lda, bj, ldb, cj + i, ldc); break;         \
                default: NAME##_tile(1, 1, k, ai, lda, bj, ldb, cj + i, ldc); break;                \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    }

#endif
