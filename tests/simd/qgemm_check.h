/* qgemm_check.h — compares quantized gemm tiles (isa.h wk_qgemm_fn) with the scalar
 * reference tile for every weight type: weights quantized from random rows and raw random
 * bits (finite f16 scales), activations from the paired quantizer, padded strides, tiles
 * from 1x1 up, K from one block up with odd block counts, and a check that nothing past
 * the m x n tile is written.
 *
 * Tolerance, per output: 1e-5 * sum over blocks of |the scalar dot of that block alone|.
 * Both sides compute each block's exact integer sum and scale it in f32 (within a few eps
 * of the block's value); they differ in the order blocks are summed, nb * eps <= 1e-5 for
 * the K used here. One wrong level in one element is off by about the block's size / 32. */
#ifndef WK_QGEMM_CHECK_H
#define WK_QGEMM_CHECK_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/isa.h"
#include "src/quant/blocks.h"
#include "src/quant/quant.h"
#include "testutil.h"

static const wk_type qc_types[] = {WK_TYPE_Q4_0, WK_TYPE_Q4_1, WK_TYPE_Q5_0, WK_TYPE_Q5_1, WK_TYPE_Q8_0,
                                   WK_TYPE_Q8_1, WK_TYPE_IQ4_NL, WK_TYPE_Q2_K, WK_TYPE_Q3_K, WK_TYPE_Q4_K,
                                   WK_TYPE_Q5_K, WK_TYPE_Q6_K, WK_TYPE_IQ4_XS};

/* byte offsets of a weight block's f16 scale fields (-1: none) */
static void qc_f16_fields(wk_type t, int off[2]) {
    off[0] = 0, off[1] = -1;
    switch (t) {
    case WK_TYPE_Q4_1: case WK_TYPE_Q5_1: case WK_TYPE_Q4_K: case WK_TYPE_Q5_K: off[1] = 2; break;
    case WK_TYPE_Q2_K: off[0] = 80, off[1] = 82; break;
    case WK_TYPE_Q3_K: off[0] = 108; break;
    case WK_TYPE_Q6_K: off[0] = 208; break;
    default: break;
    }
}

static size_t qc_row(wk_type t, int64_t k) { return (size_t)(k / wk_type_block_size(t)) * wk_type_size(t); }

/* set while testing prompt-panel kernels (isa.h qpanel): b goes in as panel rows */
static int qc_panel;

/* sum over e of (|w_e| + |min_e|) |a_e| for weight row wr and activation row ar: the
 * magnitude a float evaluation in any order is accurate to (min_e: a block's -m part) */
static double qc_abs_products(wk_type t, const uint8_t *wr, const uint8_t *ar, int64_t k) {
    const int64_t bk = wk_type_block_size(t), nb = k / bk;
    const size_t bs = wk_type_size(t);
    float *w = malloc(sizeof(float) * k), *mn = malloc(sizeof(float) * k), *a = malloc(sizeof(float) * k);
    uint8_t *z = malloc(nb * bs);
    wk_dequantize_row(t, wr, w, k);
    wk_dequantize_row(wk_vec_dot_type(t), ar, a, k);
    memcpy(z, wr, nb * bs);
    for (int64_t q = 0; q < nb; q++) { /* quants zeroed: what is left decodes to the min part */
        uint8_t *p = z + q * bs;
        if (t == WK_TYPE_Q4_K) memset(((wk_block_q4_K *)p)->qs, 0, 128);
        else if (t == WK_TYPE_Q5_K) memset(((wk_block_q5_K *)p)->qs, 0, 128), memset(((wk_block_q5_K *)p)->qh, 0, 32);
        else if (t == WK_TYPE_Q4_1) memset(((wk_block_q4_1 *)p)->qs, 0, 16);
        else memset(p, 0, bs);
    }
    wk_dequantize_row(t, z, mn, k);
    double s = 0;
    for (int64_t e = 0; e < k; e++) s += (fabs((double)w[e]) + fabs((double)mn[e])) * fabs((double)a[e]);
    free(w), free(mn), free(a), free(z);
    return s;
}

/* one shape; returns the number of wrong outputs, updates *worst (err / tol) */
static int qc_check(const char *name, wk_qgemm_fn fn, wk_type t, int m, int n, int64_t nb, int raw, double *worst) {
    const wk_type vt = wk_vec_dot_type(t);
    const int64_t bk = wk_type_block_size(t), k = bk * nb;
    const size_t rw = qc_row(t, k), ra = qc_row(vt, k), bw = wk_type_size(t), ba = wk_type_size(vt);
    const size_t lda = rw + bw + 3, ldb = ra + 5, ldc = (size_t)m + 2;
    uint8_t *a = malloc(lda * m), *b = malloc(ldb * n);
    float *x = malloc(sizeof(float) * k), *c0 = malloc(sizeof(float) * ldc * n), *c1 = malloc(sizeof(float) * ldc * n);
    memset(a, 0xA5, lda * m), memset(b, 0x5A, ldb * n);
    for (int i = 0; i < m; i++) {
        uint8_t *row = a + (size_t)i * lda;
        if (raw) {
            int off[2];
            qc_f16_fields(t, off);
            for (size_t e = 0; e < rw; e++) row[e] = (uint8_t)tu_next();
            for (int64_t q = 0; q < nb; q++)
                for (int f = 0; f < 2; f++)
                    if (off[f] >= 0) {
                        uint16_t h = wk_fp32_to_fp16((float)tu_uniform(-1, 1));
                        memcpy(row + q * bw + off[f], &h, 2);
                    }
        } else {
            const double s = tu_uniform(0.01, 4);
            for (int64_t e = 0; e < k; e++) x[e] = (float)(tu_uniform(-1, 1) * s);
            wk_quantize_row(t, x, row, k);
        }
    }
    for (int j = 0; j < n; j++) {
        const double s = tu_uniform(0.01, 4);
        for (int64_t e = 0; e < k; e++) x[e] = (float)(tu_uniform(-1, 1) * s);
        wk_quantize_row(vt, x, b + (size_t)j * ldb, k);
    }
    for (size_t i = 0; i < ldc * n; i++) c0[i] = c1[i] = NAN;
    wk_cpu_qgemm_scalar(t)(k, m, n, a, lda, b, ldb, c0, ldc);
    if (qc_panel) {
        const size_t ldp = wk_cpu_qpanel_row_size(k);
        uint8_t *bp = malloc(ldp * n);
        for (int j = 0; j < n; j++) wk_cpu_qpanel_row(vt, b + (size_t)j * ldb, k, bp + (size_t)j * ldp);
        fn(k, m, n, a, lda, bp, ldp, c1, ldc);
        free(bp);
    } else {
        fn(k, m, n, a, lda, b, ldb, c1, ldc);
    }
    int bad = 0;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < (int)ldc; i++) {
            const float r = c0[(size_t)j * ldc + i], s = c1[(size_t)j * ldc + i];
            if (i >= m) { /* past the tile: untouched */
                if (!isnan(s)) bad++;
                continue;
            }
            double mag = 0;
            for (int64_t q = 0; q < nb; q++) {
                float blk;
                wk_vec_dot(t, bk, &blk, a + (size_t)i * lda + q * bw, b + (size_t)j * ldb + q * ba);
                mag += fabs(blk);
            }
            double tol = 1e-5 * mag + 1e-30;
            if (qc_panel) { /* panels add 32-blocks in f32 (K-quants: not the reference's integer
                               * super-block sums), so bound by the products' magnitudes, min terms
                               * included, as tests/test_quant_simd.c does */
                tol = fmax(tol, 2.0 * (double)(k / 32 + 8) * 0x1p-24 * qc_abs_products(t, a + (size_t)i * lda,
                                                                                     b + (size_t)j * ldb, k));
            }
            const double err = fabs((double)r - s);
            if (!(err <= tol)) {
                if (bad < 3)
                    printf("    FAIL %s %s m=%d n=%d nb=%lld %s [%d,%d]: simd %.9g ref %.9g tol %.3g\n", name,
                           wk_type_name(t), m, n, (long long)nb, raw ? "raw" : "quantized", i, j, s, r, tol);
                bad++;
            }
            if (err / tol > *worst) *worst = err / tol;
        }
    free(a), free(b), free(x), free(c0), free(c1);
    return bad;
}

/* every type of a kernel table (NULL entries are skipped: the scalar reference runs there) */
static int qc_test_table(const char *name, const wk_qgemm_fn *table) {
    static const int ms[] = {1, 3, 4, 5, 9}, ns[] = {1, 2, 3, 4, 5, 7, 9};
    int fails = 0;
    for (size_t ti = 0; ti < sizeof qc_types / sizeof *qc_types; ti++) {
        const wk_type t = qc_types[ti];
        if (!table[t]) continue;
        const int kq = wk_type_block_size(t) == 256;
        int cases = 0, bad = 0;
        double worst = 0;
        for (int im = 0; im < 5; im++)
            for (int in = 0; in < 7; in++) {
                const int64_t nb = kq ? 1 + (im + in) % 3 : 1 + (im * 3 + in) % 7;
                bad += qc_check(name, table[t], t, ms[im], ns[in], nb, (im + in) % 2, &worst) != 0;
                cases++;
            }
        bad += qc_check(name, table[t], t, 4, 1, kq ? 16 : 129, 1, &worst) != 0; /* decode-like */
        bad += qc_check(name, table[t], t, 8, 9, kq ? 9 : 64, 0, &worst) != 0;
        cases += 2;
        printf("  %-11s qgemm %-7s vs scalar: %d shapes, %d failing, worst err/tol %.3g (tol 1e-5 sum|block|)\n", name,
               wk_type_name(t), cases, bad, worst);
        fails += bad;
    }
    return fails;
}

/* every type of a prompt-panel table: short and full panels, K across 32-block chunks */
static int qc_test_panels(const char *name, const wk_qgemm_fn *table) {
    static const int ms[] = {1, 16, 17}, ns[] = {1, 8, 9};
    static const int64_t nbs[] = {1, 3, 33};
    int fails = 0;
    qc_panel = 1;
    for (size_t ti = 0; ti < sizeof qc_types / sizeof *qc_types; ti++) {
        const wk_type t = qc_types[ti];
        if (!table[t]) continue;
        int cases = 0, bad = 0;
        double worst = 0;
        for (int im = 0; im < 3; im++)
            for (int in = 0; in < 3; in++, cases++)
                bad += qc_check(name, table[t], t, ms[im], ns[in], nbs[(im + in) % 3], (im + in) % 2, &worst) != 0;
        printf("  %-11s qpanel %-7s vs scalar: %d shapes, %d failing, worst err/tol %.3g\n", name, wk_type_name(t),
               cases, bad, worst);
        fails += bad;
    }
    qc_panel = 0;
    return fails;
}

#endif
