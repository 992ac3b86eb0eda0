/* out_prod.c — OUT_PROD: a [M, K, A2, A3], b [N, K, B2, B3] -> [M, N, B2, B3],
 * dst[i, j] = sum_k a[i, k] * b[j, k], a broadcast over dims 2-3 as in MUL_MAT (the weight
 * gradient of MUL_MAT: k runs over tokens). Both operands are first transposed into shared
 * memory so k is contiguous, then dst goes through the same f32 gemm tiles as MUL_MAT
 * (the ISA's gemm_f32, or OpenBLAS for large products), split over threads. */
#include <string.h>

#include "../../../src/quant/quant.h"
#include "../blas.h"
#include "../cpu_internal.h"

#define TILE_M 60
#define TILE_N 48

/* An operand whose k runs contiguously already (a transposed view, as MUL_MAT's input
 * gradient passes) is read in place; others are transposed. */
static int k_contig(const wk_tensor *x) {
    return x->type == WK_TYPE_F32 && x->nb[1] == sizeof(float) && x->nb[0] % sizeof(float) == 0;
}
static int64_t n_floats(const wk_tensor *x) { return k_contig(x) ? 0 : x->ne[0] * x->ne[1] * x->ne[2] * x->ne[3]; }

/* floats of shared memory: the transposes a^T and b^T where needed, per batch */
size_t wk_cpu_out_prod_shared(const wk_tensor *dst) {
    if (wk_type_block_size(dst->src[0]->type) > 1) return 0; /* out_prod_quant: per-thread scratch only */
    return (size_t)(n_floats(dst->src[0]) + n_floats(dst->src[1]));
}

/* x^T as rows of k floats: base, row stride and batch strides, in floats */
typedef struct {
    const float *p;
    size_t ld, s2, s3;
} opnd;
static opnd as_rows(const wk_tensor *x, const float *t) {
    if (k_contig(x)) return (opnd){x->data, x->nb[0] / 4, x->nb[2] / 4, x->nb[3] / 4};
    return (opnd){t, (size_t)x->ne[1], (size_t)(x->ne[0] * x->ne[1]), (size_t)(x->ne[0] * x->ne[1] * x->ne[2])};
}

#define TB 16  /* transposed in TB x TB tiles: one cache line per row each way */
#define RC 256 /* a work item: TB rows of x (k) by RC columns (r), read as TB sequential runs */

static int64_t n_items(const wk_tensor *x) {
    return (x->ne[1] + TB - 1) / TB * ((x->ne[0] + RC - 1) / RC) * x->ne[2] * x->ne[3];
}

/* items [lo, hi) of x^T: row r of x^T (per batch) = column r of x. Reading along x's rows
 * keeps the hardware prefetcher streaming; a column walk down rows of 16 KiB stride did not. */
static void transpose_items(const wk_tensor *x, float *t, int64_t lo, int64_t hi) {
    const int64_t R = x->ne[0], K = x->ne[1], B2 = x->ne[2];
    const int64_t nk = (K + TB - 1) / TB, nr = (R + RC - 1) / RC;
    float tile[TB][TB];
    for (int64_t it = lo; it < hi; it++) {
        const int64_t k0 = (it % nk) * TB, rc0 = ((it / nk) % nr) * RC, i2 = (it / (nk * nr)) % B2, i3 = it / (nk * nr * B2);
        const int64_t kn = K - k0 < TB ? K - k0 : TB, rend = R - rc0 < RC ? R : rc0 + RC;
        const char *src = (const char *)x->data + i2 * x->nb[2] + i3 * x->nb[3];
        float *dst = t + (i3 * B2 + i2) * R * K;
        for (int64_t r0 = rc0; r0 < rend; r0 += TB) {
            const int64_t rn = rend - r0 < TB ? rend - r0 : TB;
            for (int64_t kk = 0; kk < kn; kk++) {
                const char *row = src + (k0 + kk) * x->nb[1] + r0 * x->nb[0];
                for (int64_t r = 0; r < rn; r++) tile[r][kk] = *(const float *)(row + r * x->nb[0]);
            }
            for (int64_t r = 0; r < rn; r++)
                for (int64_t kk = 0; kk < kn; kk++) dst[(r0 + r) * K + k0 + kk] = tile[r][kk];
        }
    }
}

/* A quantized a [M, K] (rows of a frozen weight) against f32 b [N, K]. Threads split M in
 * whole blocks, so each dequantizes only its own segment of every row, QK_ROWS rows at a
 * time, into its scratch. With OpenBLAS one sgemm per chunk adds the chunk's product into
 * dst directly (beta = 1); otherwise the segment is transposed (k contiguous) for the ISA's
 * f32 gemm tile, whose 48-row products are added to dst. No f32 copy of the weight. */
#define QK_ROWS 128
#define QJ 48 /* b rows per gemm tile */

size_t wk_cpu_out_prod_scratch(const wk_tensor *dst) {
    const wk_tensor *a = dst->src[0];
    if (wk_type_block_size(a->type) <= 1) return 0;
    /* rows, their transpose, b's tile with k contiguous, the product tile */
    const size_t M = (size_t)a->ne[0];
    return (2 * QK_ROWS * M + QJ * QK_ROWS + QJ * M) * sizeof(float);
}

static void out_prod_quant(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0], *b = dst->src[1];
    const int64_t M = a->ne[0], K = a->ne[1], N = b->ne[0], bs = wk_type_block_size(a->type);
    int64_t b0, b1;
    wk_cpu_range(M / bs, p, &b0, &b1); /* this thread's blocks of each row */
    const int64_t i0 = b0 * bs, mi = (b1 - b0) * bs;
    if (mi <= 0) return;
    const size_t seg = (size_t)b0 * wk_type_size(a->type), ldc = dst->nb[1] / sizeof(float);
    float *rows = p->scratch, *rt = rows + QK_ROWS * mi, *bt = rt + QK_ROWS * mi, *ct = bt + QJ * QK_ROWS;
    float *d0 = (float *)dst->data + i0;
    for (int64_t j = 0; j < N; j++) memset(d0 + j * ldc, 0, (size_t)mi * sizeof(float));
    const bool blas = wk_cpu_blas_enabled() && (b->nb[0] == sizeof(float) || b->nb[1] == sizeof(float));
    for (int64_t k0 = 0; k0 < K; k0 += QK_ROWS) {
        const int64_t kn = K - k0 < QK_ROWS ? K - k0 : QK_ROWS;
        for (int64_t kk = 0; kk < kn; kk++)
            wk_dequantize_row(a->type, (const char *)a->data + (k0 + kk) * a->nb[1] + seg, rows + kk * mi, mi);
        if (blas) { /* dst[i0.., j] += sum_kk rows[kk][i] b[j, k0 + kk] */
            const bool bk = b->nb[1] != sizeof(float); /* b[j, k] with j contiguous */
            const float *bp = (const float *)((const char *)b->data + k0 * b->nb[1]);
            wk_cpu_blas_sgemm_acc(kn, mi, N, rows, (size_t)mi, true, bp,
                                  (bk ? b->nb[1] : b->nb[0]) / sizeof(float), bk, d0, ldc);
            continue;
        }
        for (int64_t i = 0; i < mi; i++) /* rt[i][kk]: k contiguous for the gemm tile */
            for (int64_t kk = 0; kk < kn; kk++) rt[i * kn + kk] = rows[kk * mi + i];
        for (int64_t jt = 0; jt < N; jt += QJ) {
            const int n = (int)(N - jt < QJ ? N - jt : QJ);
            const float *bp;
            size_t ldb;
            if (b->nb[1] == sizeof(float)) { /* b[j, k] contiguous in k: read in place */
                bp = (const float *)((const char *)b->data + jt * b->nb[0] + k0 * b->nb[1]);
                ldb = b->nb[0] / sizeof(float);
            } else {
                for (int jj = 0; jj < n; jj++)
                    for (int64_t kk = 0; kk < kn; kk++)
                        bt[jj * kn + kk] = *(const float *)((const char *)b->data + (jt + jj) * b->nb[0] + (k0 + kk) * b->nb[1]);
                bp = bt, ldb = (size_t)kn;
            }
            p->isa->gemm_f32(kn, (int)mi, n, rt, (size_t)kn, bp, ldb, ct, (size_t)mi);
            for (int jj = 0; jj < n; jj++) {
                float *y = d0 + (jt + jj) * ldc;
                const float *c = ct + (size_t)jj * mi;
                for (int64_t i = 0; i < mi; i++) y[i] += c[i];
            }
        }
    }
}

void wk_cpu_OUT_PROD(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0], *b = dst->src[1];
    if (wk_type_block_size(a->type) > 1) {
        out_prod_quant(p, dst);
        return;
    }
    const int64_t M = a->ne[0], K = a->ne[1], N = b->ne[0], B2 = b->ne[2], B3 = b->ne[3];
    const int64_t A2 = a->ne[2], A3 = a->ne[3];
    const int64_t r2 = B2 / A2, r3 = B3 / A3;
    const size_t ldc = dst->nb[1] / sizeof(float);
    /* with OpenBLAS, operands with k or the row index contiguous are read in place */
    const int ak = a->nb[0] == sizeof(float) && a->nb[1] % sizeof(float) == 0 && !k_contig(a);
    const int bk = b->nb[0] == sizeof(float) && b->nb[1] % sizeof(float) == 0 && !k_contig(b);
    if (wk_cpu_blas_worth(M, N, K) && wk_cpu_blas_enabled() && (ak || k_contig(a)) && (bk || k_contig(b))) {
        const size_t lda = (ak ? a->nb[1] : a->nb[0]) / sizeof(float), ldb = (bk ? b->nb[1] : b->nb[0]) / sizeof(float);
        /* threads split the larger side, so no two pack the same big operand */
        const int split_m = M >= N;
        int64_t lo, hi;
        wk_cpu_range(split_m ? M : N, p, &lo, &hi);
        for (int64_t i3 = 0; i3 < B3 && lo < hi; i3++)
            for (int64_t i2 = 0; i2 < B2; i2++) {
                const float *ap = (const float *)((const char *)a->data + (i2 / r2) * a->nb[2] + (i3 / r3) * a->nb[3]);
                const float *bp = (const float *)((const char *)b->data + i2 * b->nb[2] + i3 * b->nb[3]);
                float *cp = (float *)((char *)dst->data + i2 * dst->nb[2] + i3 * dst->nb[3]);
                if (split_m)
                    wk_cpu_blas_sgemm_ex(K, hi - lo, N, ap + (ak ? (size_t)lo : (size_t)lo * lda), lda, ak, bp, ldb, bk,
                                         cp + lo, ldc);
                else
                    wk_cpu_blas_sgemm_ex(K, M, hi - lo, ap, lda, ak, bp + (bk ? (size_t)lo : (size_t)lo * ldb), ldb, bk,
                                         cp + (size_t)lo * ldc, ldc);
            }
        return;
    }
    float *at = p->shared, *bt = at + n_floats(a);
    {
        const int64_t ra = k_contig(a) ? 0 : n_items(a), rb = k_contig(b) ? 0 : n_items(b);
        int64_t lo, hi;
        wk_cpu_range(ra + rb, p, &lo, &hi);
        if (lo < ra) transpose_items(a, at, lo, hi < ra ? hi : ra);
        if (hi > ra) transpose_items(b, bt, (lo > ra ? lo : ra) - ra, hi - ra);
        if (ra + rb) wk_cpu_barrier(p);
    }
    const opnd A = as_rows(a, at), Bo = as_rows(b, bt);
    if (wk_cpu_blas_worth(M, N, K) && wk_cpu_blas_enabled()) { /* each thread a slice of b's rows */
        int64_t lo, hi;
        wk_cpu_range(N, p, &lo, &hi);
        if (lo >= hi) return;
        for (int64_t i3 = 0; i3 < B3; i3++)
            for (int64_t i2 = 0; i2 < B2; i2++) {
                const float *ap = A.p + (i3 / r3) * A.s3 + (i2 / r2) * A.s2;
                const float *bp = Bo.p + i3 * Bo.s3 + i2 * Bo.s2 + lo * Bo.ld;
                float *cp = (float *)((char *)dst->data + i2 * dst->nb[2] + i3 * dst->nb[3] + lo * dst->nb[1]);
                wk_cpu_blas_sgemm_nt(K, M, hi - lo, ap, A.ld, bp, Bo.ld, cp, ldc);
            }
        return;
    }
    const int64_t nm = (M + TILE_M - 1) / TILE_M, nn = (N + TILE_N - 1) / TILE_N;
    int64_t lo, hi;
    wk_cpu_range(nm * nn * B2 * B3, p, &lo, &hi);
    for (int64_t it = lo; it < hi; it++) {
        const int64_t im = it % nm, in = (it / nm) % nn, i2 = (it / (nm * nn)) % B2, i3 = it / (nm * nn * B2);
        const int64_t m0 = im * TILE_M, n0 = in * TILE_N;
        const int m = (int)(M - m0 < TILE_M ? M - m0 : TILE_M), n = (int)(N - n0 < TILE_N ? N - n0 : TILE_N);
        const float *ap = A.p + (i3 / r3) * A.s3 + (i2 / r2) * A.s2 + m0 * A.ld;
        const float *bp = Bo.p + i3 * Bo.s3 + i2 * Bo.s2 + n0 * Bo.ld;
        float *cp = (float *)((char *)dst->data + i2 * dst->nb[2] + i3 * dst->nb[3] + n0 * dst->nb[1]) + m0;
        p->isa->gemm_f32(K, m, n, ap, A.ld, bp, Bo.ld, cp, ldc);
    }
}
