/* attention.c — FLASH_ATTN: softmax(q k^T * scale [softcapped] + mask) v in one pass over
 * the keys with an online softmax (running max m and sum l; the accumulator is rescaled
 * by exp(m_old - m_new) when the max grows), so no n_kv-sized score buffer is needed.
 * Work is split over (query, head) pairs; each pair owns one output row of dst. */
#include <math.h>

#include "../cpu_internal.h"

/* dot(q, row of k) with q contiguous f32 and k f32/f16 through its element stride */
static double dot_qk(const float *q, const char *k, wk_type kt, size_t nb0, int64_t n) {
    double s = 0;
    if (kt == WK_TYPE_F32)
        for (int64_t i = 0; i < n; i++) s += (double)q[i] * *(const float *)(k + i * nb0);
    else
        for (int64_t i = 0; i < n; i++) s += (double)q[i] * wk_fp16_to_fp32(*(const uint16_t *)(k + i * nb0));
    return s;
}

void wk_cpu_FLASH_ATTN(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *q = dst->src[0], *k = dst->src[1], *v = dst->src[2], *mask = dst->src[3];
    const int64_t D = q->ne[0], n_q = q->ne[1], n_head = q->ne[2];
    const int64_t Dv = v->ne[0], n_kv = k->ne[1], n_head_kv = k->ne[2];
    const int64_t group = n_head / n_head_kv; /* query heads per kv head (GQA) */
    const float scale = wk_param_f32(dst, 0), softcap = wk_param_f32(dst, 1);

    /* scratch (work.c): Dv doubles of accumulator, then the query row as D floats */
    double *acc = p->scratch;
    float *qrow = (float *)(acc + Dv);

    int64_t lo, hi;
    wk_cpu_range(n_q * n_head, p, &lo, &hi);
    for (int64_t it = lo; it < hi; it++) {
        const int64_t h = it % n_head, iq = it / n_head, hk = h / group;
        const char *qp = (const char *)q->data + iq * q->nb[1] + h * q->nb[2];
        for (int64_t i = 0; i < D; i++) qrow[i] = *(const float *)(qp + i * q->nb[0]);
        for (int64_t i = 0; i < Dv; i++) acc[i] = 0;
        const char *mrow = mask ? (const char *)mask->data + iq * mask->nb[1] : NULL;

        double m = -INFINITY, l = 0; /* running max and sum of exp(s - m) */
        for (int64_t j = 0; j < n_kv; j++) {
            float mv = mrow ? wk_cpu_load_f(mask->type, mrow, j, mask->nb[0]) : 0.0f;
            if (mv == -INFINITY) continue; /* masked key: weight exactly 0 */
            const char *kp = (const char *)k->data + j * k->nb[1] + hk * k->nb[2];
            double s = dot_qk(qrow, kp, k->type, k->nb[0], D) * scale;
            if (softcap != 0) s = softcap * tanh(s / softcap);
            s += mv;
            if (s == -INFINITY) continue;
            if (s > m) { /* new max: rescale what was accumulated under the old one */
                const double r = exp(m - s); /* exp(-inf) = 0 on the first key */
                for (int64_t i = 0; i < Dv; i++) acc[i] *= r;
                l *= r;
                m = s;
            }
            const double w = exp(s - m);
            l += w;
            const char *vp = (const char *)v->data + j * v->nb[1] + hk * v->nb[2];
            if (v->type == WK_TYPE_F32)
                for (int64_t i = 0; i < Dv; i++) acc[i] += w * *(const float *)(vp + i * v->nb[0]);
            else
                for (int64_t i = 0; i < Dv; i++) acc[i] += w * wk_fp16_to_fp32(*(const uint16_t *)(vp + i * v->nb[0]));
        }
        /* dst element (d, h, iq); a query with every key masked gets zeros, not 0/0 */
        float *out = (float *)((char *)dst->data + h * dst->nb[1] + iq * dst->nb[2]);
        const double inv = l > 0 ? 1.0 / l : 0.0;
        for (int64_t i = 0; i < Dv; i++) out[i] = (float)(acc[i] * inv);
    }
}
