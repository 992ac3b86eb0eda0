/* gemm_tile.h — the register-blocked bodies shared by the SIMD kernel sets (x86 and NEON):
 * the gemm tile, attention's value tile and the exp-sum loop. A tile is
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

/* Attention's value tile (isa.h wsum): y[r] += sum_j w[r][j] x[j] for nr rows over n columns.
 * V (1 or 2) vectors of columns for R <= 4 rows: the R*V accumulators stay in registers over
 * the nk value rows, and each value vector loaded (and widened, LDX) once feeds R FMAs;
 * column tails are scalar. FMA(a, b, c) = a*b + c; SET1 broadcasts a float. */
#define WK_DEFINE_WSUM(NAME, TX, LDX, ONEX, VEC, W, LOAD, STORE, SET1, FMA)                             \
    INLINE void NAME##_tile(int R, int V, int nk, const float *w, size_t ldw, const TX *x, size_t ldx, \
                            float *y, size_t ldy) {                                                  \
        VEC acc[4][2];                                                                               \
        for (int r = 0; r < R; r++)                                                                  \
            for (int v = 0; v < V; v++) acc[r][v] = LOAD(y + (size_t)r * ldy + W * v);              \
        for (int j = 0; j < nk; j++) {                                                               \
            VEC xv[2];                                                                               \
            for (int v = 0; v < V; v++) xv[v] = LDX(x + (size_t)j * ldx + W * v, 0);                \
            for (int r = 0; r < R; r++) {                                                            \
                const VEC wv = SET1(w[(size_t)r * ldw + j]);                                         \
                for (int v = 0; v < V; v++) acc[r][v] = FMA(wv, xv[v], acc[r][v]);                   \
            }                                                                                        \
        }                                                                                            \
        for (int r = 0; r < R; r++)                                                                  \
            for (int v = 0; v < V; v++) STORE(y + (size_t)r * ldy + W * v, acc[r][v]);               \
    }                                                                                                \
    static void NAME(int64_t n, int nr, int nk, const float *w, size_t ldw, const TX *x, size_t ldx, float *y, \
                     size_t ldy) {                                                                   \
        int64_t i = 0;                                                                               \
        for (; i + W <= n;) {                                                                        \
            const int V = i + 2 * W <= n ? 2 : 1;                                                    \
            for (int r = 0; r < nr; r += 4) {                                                        \
                const float *wr = w + (size_t)r * ldw;                                               \
                float *yr = y + (size_t)r * ldy + i;                                                 \
                switch ((nr - r < 4 ? nr - r : 4) * 2 + V - 1) { /* constant sizes: registers */    \
                case 4 * 2 + 1: NAME##_tile(4, 2, nk, wr, ldw, x + i, ldx, yr, ldy); break;          \
                case 4 * 2: NAME##_tile(4, 1, nk, wr, ldw, x + i, ldx, yr, ldy); break;              \
                case 3 * 2 + 1: NAME##_tile(3, 2, nk, wr, ldw, x + i, ldx, yr, ldy); break;          \
                case 3 * 2: NAME##_tile(3, 1, nk, wr, ldw, x + i, ldx, yr, ldy); break;              \
                case 2 * 2 + 1: NAME##_tile(2, 2, nk, wr, ldw, x + i, ldx, yr, ldy); break;          \
                case 2 * 2: NAME##_tile(2, 1, nk, wr, ldw, x + i, ldx, yr, ldy); break;              \
                case 1 * 2 + 1: NAME##_tile(1, 2, nk, wr, ldw, x + i, ldx, yr, ldy); break;          \
                default: NAME##_tile(1, 1, nk, wr, ldw, x + i, ldx, yr, ldy); break;                 \
                }                                                                                    \
            }                                                                                        \
            i += W * V;                                                                              \
        }                                                                                            \
        for (int r = 0; r < nr; r++) /* column tail */                                              \
            for (int j = 0; j < nk; j++)                                                             \
                for (int64_t t = i; t < n; t++)                                                      \
                    y[(size_t)r * ldy + t] += w[(size_t)r * ldw + j] * ONEX(x + (size_t)j * ldx + t); \
    }

/* Softmax's exponentials (isa.h exp_sum): y = exp(x - m), returns sum y. EXPV is the set's
 * vector exp; the tail goes through a copy padded with -inf, so every element gets the
 * same polynomial. SUB(a, b) = a - b, ADD(a, b) = a + b. */
#define WK_DEFINE_EXP_SUM(NAME, VEC, W, LOAD, STORE, SET1, SUB, ADD, EXPV, HSUM)       \
    static float NAME(int64_t n, const float *x, float m, float *y) {                  \
        const VEC mv = SET1(m);                                                        \
        VEC s = SET1(0.0f);                                                            \
        int64_t i = 0;                                                                 \
        for (; i + W <= n; i += W) {                                                   \
            const VEC e = EXPV(SUB(LOAD(x + i), mv));                                  \
            STORE(y + i, e);                                                           \
            s = ADD(s, e);                                                             \
        }                                                                              \
        if (i < n) {                                                                   \
            float buf[W];                                                              \
            for (int t = 0; t < W; t++) buf[t] = i + t < n ? x[i + t] - m : -INFINITY; \
            const VEC e = EXPV(LOAD(buf));                                             \
            STORE(buf, e);                                                             \
            s = ADD(s, e);                                                             \
            for (int t = 0; i + t < n; t++) y[i + t] = buf[t];                         \
        }                                                                              \
        return HSUM(s);                                                                \
    }

/* Gated linear units (isa.h wk_glu_fn): z = x sigmoid(t) u with t = x (silu) or
 * 2 sqrt(2/pi) (x + 0.044715 x^3) (tanh GELU), one EXPV per element; the tail uses expf. */
#define WK_DEFINE_GLU(NAME, VEC, W, LOAD, STORE, SET1, ADD, SUB, MUL, DIV, FMADD, EXPV)                   \
    static void NAME(int gelu, int64_t n, const float *x, const float *u, float *z) {                    \
        const float ka = 1.5957691216057308f, kb = 1.5957691216057308f * 0.044715f;                      \
        const VEC one = SET1(1.0f), a = SET1(ka), b = SET1(kb), zero = SET1(0.0f);                      \
        int64_t i = 0;                                                                                  \
        for (; i + W <= n; i += W) {                                                                    \
            const VEC v = LOAD(x + i);                                                                  \
            const VEC t = gelu ? MUL(v, FMADD(MUL(v, v), b, a)) : v;                                    \
            STORE(z + i, MUL(DIV(v, ADD(one, EXPV(SUB(zero, t)))), LOAD(u + i)));                      \
        }                                                                                               \
        for (; i < n; i++) {                                                                            \
            const float v = x[i], t = gelu ? v * (ka + kb * v * v) : v;                                 \
            z[i] = v / (1.0f + expf(-t)) * u[i];                                                        \
        }                                                                                               \
    }

#endif
