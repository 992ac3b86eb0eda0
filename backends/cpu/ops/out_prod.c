/* out_prod.c — OUT_PROD: a [M, K, A2, A3], b [N, K, B2, B3] -> [M, N, B2, B3],
 * dst[i, j] = sum_k a[i, k] * b[j, k], a broadcast over dims 2-3 as in MUL_MAT (the weight
 * gradient of MUL_MAT). Work items are 64-wide pieces of dst rows, so a single output row
 * still spreads over threads; each piece accumulates in double on the stack. */
#include "../cpu_internal.h"

#define OP_BLOCK 64

void wk_cpu_OUT_PROD(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0], *b = dst->src[1];
    const int64_t M = a->ne[0], K = a->ne[1], N = b->ne[0], B2 = b->ne[2], B3 = b->ne[3];
    const int64_t r2 = B2 / a->ne[2], r3 = B3 / a->ne[3];
    const int64_t nblk = (M + OP_BLOCK - 1) / OP_BLOCK;
    int64_t lo, hi;
    wk_cpu_range(nblk * N * B2 * B3, p, &lo, &hi);
    for (int64_t it = lo; it < hi; it++) {
        const int64_t ib = it % nblk, j = (it / nblk) % N, i2 = (it / (nblk * N)) % B2, i3 = it / (nblk * N * B2);
        const int64_t m0 = ib * OP_BLOCK, m = M - m0 < OP_BLOCK ? M - m0 : OP_BLOCK;
        const char *ap = (const char *)a->data + (i2 / r2) * a->nb[2] + (i3 / r3) * a->nb[3] + m0 * a->nb[0];
        const char *bp = (const char *)b->data + j * b->nb[0] + i2 * b->nb[2] + i3 * b->nb[3];
        double acc[OP_BLOCK] = {0};
        for (int64_t kk = 0; kk < K; kk++) {
            const double bk = *(const float *)(bp + kk * b->nb[1]);
            const char *ak = ap + kk * a->nb[1];
            for (int64_t i = 0; i < m; i++) acc[i] += *(const float *)(ak + i * a->nb[0]) * bk;
        }
        float *out = (float *)((char *)dst->data + j * dst->nb[1] + i2 * dst->nb[2] + i3 * dst->nb[3]) + m0;
        for (int64_t i = 0; i < m; i++) out[i] = (float)acc[i];
    }
}
