/* mul_mat.c — dst[i, j] = dot(row i of a, row j of b), broadcasting a over dims 2-3.
 * The driver cuts dst into tiles and hands each to the ISA's gemm kernel; bf16 weights
 * get their activations rounded to bf16 once per matmul into shared memory. */
#include "../blas.h"
#include "../cpu_internal.h"

/* A tile of dst is TILE_M rows of a (weights) x TILE_N rows of b (activations); a thread
 * runs its tiles with a varying fastest, so its b tile (48 rows, 96 KiB at K=512 f32)
 * stays in L2 while weight tiles stream past. 60 and 48 are multiples of the kernels'
 * 4x3 and 3x3 register tiles, so no edge tiles inside; sizes from 16..128 x 24..192
 * swept on Zen 3 at K=512 were within 5% of each other, 64x48 / 60x48 best. */
#define TILE_M 60
#define TILE_N 48
/* the prompt-panel path's largest tile (isa.h qpanel) */
#define PANEL_M 128
#define PANEL_N 256

/* Quantized weights: b's rows are quantized once to the paired activation type into
 * shared memory (contiguous [N, B2, B3] rows of qrow bytes), then tiles of dst go to the
 * ISA's qgemm. Decode (N == 1) splits M into about four chunks per thread, each streaming
 * its weights once; prompts use TILE_M x TILE_N tiles, with the activation tile (48 rows,
 * ~27 KiB of q8 at K=512) staying in cache while weight tiles stream past. */
static void mul_mat_quant(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0], *b = dst->src[1];
    const int64_t K = a->ne[0], M = a->ne[1], N = b->ne[1];
    const int64_t B2 = b->ne[2], B3 = b->ne[3];
    const int64_t r2 = B2 / a->ne[2], r3 = B3 / a->ne[3];
    const wk_type vt = wk_vec_dot_type(a->type);
    const int panel = wk_cpu_qpanel_on(p->isa, dst);
    const size_t qrow = panel ? wk_cpu_qpanel_row_size(K) : wk_cpu_qrow_size(a->type, K);
    char *q = p->shared;
    {
        int64_t rows = N * B2 * B3, lo, hi;
        wk_cpu_range(rows, p, &lo, &hi);
        for (int64_t r = lo; r < hi; r++) {
            int64_t i1 = r % N, i2 = (r / N) % B2, i3 = r / (N * B2);
            const float *src = (const float *)((const char *)b->data + i1 * b->nb[1] + i2 * b->nb[2] + i3 * b->nb[3]);
            if (panel) {
                wk_quantize_row(vt, src, p->scratch, K);
                wk_cpu_qpanel_row(vt, p->scratch, K, q + (size_t)r * qrow);
            } else {
                wk_quantize_row(vt, src, q + (size_t)r * qrow, K);
            }
        }
        wk_cpu_barrier(p);
    }
    const wk_qgemm_fn gemm = panel ? p->isa->qpanel[a->type] : p->isa->qgemm[a->type];
    int64_t tm = N == 1 ? ((M + p->nth * 4 - 1) / (p->nth * 4) + 3) / 4 * 4 : TILE_M;
    int64_t tn = TILE_N;
    if (panel) {
        /* panels of 16 rows; wide activation tiles amortize the weight repacking, and
         * about 4 tiles per thread keep the split even */
        tn = PANEL_N;
        const int64_t nn = (N + tn - 1) / tn, want = (p->nth * 4 + nn - 1) / nn, np = (M + 15) / 16;
        tm = 16 * ((np + want - 1) / want);
        if (tm > PANEL_M) tm = PANEL_M;
    }
    const int64_t nm = (M + tm - 1) / tm, nn = (N + tn - 1) / tn;
    int64_t lo, hi;
    wk_cpu_range(nm * nn * B2 * B3, p, &lo, &hi);
    const size_t ldc = dst->nb[1] / sizeof(float);
    for (int64_t it = lo; it < hi; it++) {
        int64_t im = it % nm, in = (it / nm) % nn, i2 = (it / (nm * nn)) % B2, i3 = it / (nm * nn * B2);
        int64_t m0 = im * tm, n0 = in * tn;
        int m = (int)(M - m0 < tm ? M - m0 : tm), n = (int)(N - n0 < tn ? N - n0 : tn);
        const char *arow = (const char *)a->data + (i2 / r2) * a->nb[2] + (i3 / r3) * a->nb[3] + m0 * a->nb[1];
        const char *brow = q + (size_t)((i3 * B2 + i2) * N + n0) * qrow;
        float *c = (float *)((char *)dst->data + i2 * dst->nb[2] + i3 * dst->nb[3] + n0 * dst->nb[1]) + m0;
        gemm(K, m, n, arow, a->nb[1], brow, qrow, c, ldc);
    }
}

void wk_cpu_MUL_MAT(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0], *b = dst->src[1];
    const int64_t K = a->ne[0], M = a->ne[1], N = b->ne[1];
    const int64_t B2 = b->ne[2], B3 = b->ne[3];
    const int64_t r2 = B2 / a->ne[2], r3 = B3 / a->ne[3];
    const wk_isa *isa = p->isa;

    const uint16_t *b16 = NULL;
    if (a->type == WK_TYPE_BF16) {
        /* round b to bf16, contiguous [K, N, B2, B3] */
        uint16_t *w = p->shared;
        int64_t rows = N * B2 * B3, lo, hi;
        wk_cpu_range(rows, p, &lo, &hi);
        for (int64_t r = lo; r < hi; r++) {
            int64_t i1 = r % N, i2 = (r / N) % B2, i3 = r / (N * B2);
            const float *src = (const float *)((const char *)b->data + i1 * b->nb[1] + i2 * b->nb[2] + i3 * b->nb[3]);
            isa->f32_to_bf16(K, src, w + r * K);
        }
        wk_cpu_barrier(p);
        b16 = w;
    }

    if (wk_type_block_size(a->type) > 1) {
        mul_mat_quant(p, dst);
        return;
    }

    /* large f32 products: each thread runs a single-threaded sgemm on its slice of b's
     * rows (BLAS inside our parallel region stays single-threaded; size rule in blas.h) */
    if (a->type == WK_TYPE_F32 && wk_cpu_blas_worth(M, N, K) && wk_cpu_blas_enabled()) {
        /* threads split the larger side (usually the weights' rows), so no two pack the
         * same big operand */
        const int split_m = M >= N;
        int64_t lo, hi;
        wk_cpu_range(split_m ? M : N, p, &lo, &hi);
        if (lo >= hi) return;
        const size_t lda = a->nb[1] / 4, ldb = b->nb[1] / 4, ldc = dst->nb[1] / 4;
        for (int64_t i3 = 0; i3 < B3; i3++)
            for (int64_t i2 = 0; i2 < B2; i2++) {
                const float *ap = (const float *)((const char *)a->data + (i2 / r2) * a->nb[2] + (i3 / r3) * a->nb[3]);
                const float *bp = (const float *)((const char *)b->data + i2 * b->nb[2] + i3 * b->nb[3]);
                float *cp = (float *)((char *)dst->data + i2 * dst->nb[2] + i3 * dst->nb[3]);
                if (split_m)
                    wk_cpu_blas_sgemm_nt(K, hi - lo, N, ap + (size_t)lo * lda, lda, bp, ldb, cp + lo, ldc);
                else
                    wk_cpu_blas_sgemm_nt(K, M, hi - lo, ap, lda, bp + (size_t)lo * ldb, ldb, cp + (size_t)lo * ldc, ldc);
            }
        return;
    }

    /* decode-sized products split M finely (about 4 chunks per thread, each a multiple of
     * 12 rows so the 4- and 3-row register tiles have no edges) so every thread streams
     * its own weights once */
    const int64_t tm = N == 1 ? ((M + p->nth * 4 - 1) / (p->nth * 4) + 11) / 12 * 12 : TILE_M;
    const int64_t tn = TILE_N;
    const int64_t nm = (M + tm - 1) / tm, nn = (N + tn - 1) / tn;
    const int64_t n_items = nm * nn * B2 * B3;
    int64_t lo, hi;
    wk_cpu_range(n_items, p, &lo, &hi);
    const size_t lda = a->nb[1] / wk_type_size(a->type);
    const size_t ldb = b->nb[1] / sizeof(float);
    const size_t ldc = dst->nb[1] / sizeof(float);
    for (int64_t it = lo; it < hi; it++) {
        int64_t im = it % nm, in = (it / nm) % nn, i2 = (it / (nm * nn)) % B2, i3 = it / (nm * nn * B2);
        int64_t m0 = im * tm, n0 = in * tn;
        int m = (int)(M - m0 < tm ? M - m0 : tm), n = (int)(N - n0 < tn ? N - n0 : tn);
        const char *arow = (const char *)a->data + (i2 / r2) * a->nb[2] + (i3 / r3) * a->nb[3] + m0 * a->nb[1];
        float *c = (float *)((char *)dst->data + i2 * dst->nb[2] + i3 * dst->nb[3] + n0 * dst->nb[1]) + m0;
        switch (a->type) {
        case WK_TYPE_F32: {
            const float *brow = (const float *)((const char *)b->data + i2 * b->nb[2] + i3 * b->nb[3] + n0 * b->nb[1]);
            isa->gemm_f32(K, m, n, (const float *)arow, lda, brow, ldb, c, ldc);
            break;
        }
        case WK_TYPE_F16: {
            const float *brow = (const float *)((const char *)b->data + i2 * b->nb[2] + i3 * b->nb[3] + n0 * b->nb[1]);
            isa->gemm_f16(K, m, n, (const uint16_t *)arow, lda, brow, ldb, c, ldc);
            break;
        }
        case WK_TYPE_BF16: {
            const uint16_t *brow = b16 + ((i3 * B2 + i2) * N + n0) * K;
            isa->gemm_bf16(K, m, n, (const uint16_t *)arow, lda, brow, (size_t)K, c, ldc);
            break;
        }
        default: break; /* the builder admits no other type */
        }
    }
}
