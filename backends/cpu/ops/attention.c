/* attention.c — FLASH_ATTN: softmax(q k^T * scale [softcapped] + mask) v in one pass over
 * the keys with an online softmax (running max m and sum l; the accumulator is rescaled
 * by exp(m_old - m_new) when the max grows), so no n_kv-sized score buffer is needed.
 * K and V may be f32, f16 or q8_0 (a quantized KV cache). A work item is one query and a
 * run of the query heads that share a KV head (GQA): each key's K and V rows are widened
 * to f32 once per item and reused by every head of the run; scores, weights and the
 * accumulators stay in double. Runs are split finer when there are few items (decode),
 * so every thread gets work. */
#include <math.h>
#include <string.h>

#include "../cpu_internal.h"
#include "../../../src/quant/blocks.h"

/* Exact f16 -> f32 without branches on the value, so a row converts in vector registers:
 * the 15 exponent/mantissa bits are placed at float position and scaled by 2^112, which
 * rebiases the exponent (and normalizes subnormals exactly); inputs that were inf/NaN
 * (scaled value >= 2^16) get an all-ones exponent; then the sign goes back on. */
static inline float h2f(uint16_t h) {
    uint32_t bits = (uint32_t)(h & 0x7fff) << 13;
    float f;
    memcpy(&f, &bits, sizeof f);
    f *= 0x1p112f;
    memcpy(&bits, &f, sizeof f);
    if (f >= 0x1p16f) bits |= 0x7f800000u;
    bits |= (uint32_t)(h & 0x8000) << 16;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* n elements of a K/V row (f32/f16 through the element stride nb0, or q8_0 blocks of
 * d and 32 int8: formats.md 2) as f32; exact for every type (d * q fits a float). */
static void row_f32(wk_type t, const char *x, size_t nb0, float *y, int64_t n) {
    if (t == WK_TYPE_Q8_0) {
        for (int64_t b = 0; b < n / 32; b++) {
            const wk_block_q8_0 *blk = (const wk_block_q8_0 *)x + b;
            const float d = h2f(blk->d);
            for (int i = 0; i < 32; i++) y[b * 32 + i] = d * blk->qs[i];
        }
    } else if (t == WK_TYPE_F16 && nb0 == sizeof(uint16_t)) {
        const uint16_t *h = (const uint16_t *)x;
        for (int64_t i = 0; i < n; i++) y[i] = h2f(h[i]);
    } else if (t == WK_TYPE_F16) {
        for (int64_t i = 0; i < n; i++) y[i] = h2f(*(const uint16_t *)(x + i * nb0));
    } else {
        for (int64_t i = 0; i < n; i++) y[i] = *(const float *)(x + i * nb0);
    }
}

/* dot product in double; four partial sums so the loop need not be strictly serial */
static double dot_f64(const float *a, const float *b, int64_t n) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += (double)a[i] * b[i];
        s1 += (double)a[i + 1] * b[i + 1];
        s2 += (double)a[i + 2] * b[i + 2];
        s3 += (double)a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += (double)a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

/* Heads per work item: the whole GQA group, unless that leaves fewer than 4 items per
 * thread (work.c sizes the scratch for a whole group). */
static int64_t heads_per_item(int64_t n_q, int64_t n_head, int64_t n_head_kv, int nth) {
    const int64_t group = n_head / n_head_kv, items = n_q * n_head_kv;
    int64_t n_sub = 1;
    if (items < 4 * (int64_t)nth) n_sub = (4 * (int64_t)nth + items - 1) / items;
    if (n_sub > group) n_sub = group;
    return (group + n_sub - 1) / n_sub;
}

void wk_cpu_FLASH_ATTN(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *q = dst->src[0], *k = dst->src[1], *v = dst->src[2], *mask = dst->src[3];
    const int64_t D = q->ne[0], n_q = q->ne[1], n_head = q->ne[2];
    const int64_t Dv = v->ne[0], n_kv = k->ne[1], n_head_kv = k->ne[2];
    const int64_t group = n_head / n_head_kv; /* query heads per kv head (GQA) */
    const float scale = wk_param_f32(dst, 0), softcap = wk_param_f32(dst, 1);
    const int64_t hs = heads_per_item(n_q, n_head, n_head_kv, p->nth);
    const int64_t n_sub = (group + hs - 1) / hs;

    /* scratch (work.c): hs accumulators of Dv doubles, hs (m, l) pairs, then hs query rows
     * of D floats and one widened K row (D) and V row (Dv) */
    double *acc = p->scratch, *ml = acc + hs * Dv;
    float *qrow = (float *)(ml + 2 * hs), *kf = qrow + hs * D, *vf = kf + D;

    int64_t lo, hi;
    wk_cpu_range(n_q * n_head_kv * n_sub, p, &lo, &hi);
    for (int64_t it = lo; it < hi; it++) {
        const int64_t isub = it % n_sub, hk = (it / n_sub) % n_head_kv, iq = it / (n_sub * n_head_kv);
        const int64_t h0 = hk * group + isub * hs;
        const int64_t nh = (h0 + hs < (hk + 1) * group ? h0 + hs : (hk + 1) * group) - h0;
        for (int64_t hh = 0; hh < nh; hh++) {
            const char *qp = (const char *)q->data + iq * q->nb[1] + (h0 + hh) * q->nb[2];
            for (int64_t i = 0; i < D; i++) qrow[hh * D + i] = *(const float *)(qp + i * q->nb[0]);
            for (int64_t i = 0; i < Dv; i++) acc[hh * Dv + i] = 0;
            ml[2 * hh] = -INFINITY; /* running max */
            ml[2 * hh + 1] = 0;     /* running sum of exp(s - m) */
        }
        const char *mrow = mask ? (const char *)mask->data + iq * mask->nb[1] : NULL;

        for (int64_t j = 0; j < n_kv; j++) {
            float mv = mrow ? wk_cpu_load_f(mask->type, mrow, j, mask->nb[0]) : 0.0f;
            if (mv == -INFINITY) continue; /* masked key: weight exactly 0 */
            row_f32(k->type, (const char *)k->data + j * k->nb[1] + hk * k->nb[2], k->nb[0], kf, D);
            bool v_ready = false;
            for (int64_t hh = 0; hh < nh; hh++) {
                double s = dot_f64(qrow + hh * D, kf, D) * scale;
                if (softcap != 0) s = softcap * tanh(s / softcap);
                s += mv;
                if (s == -INFINITY) continue;
                double *a = acc + hh * Dv, *m = &ml[2 * hh], *l = &ml[2 * hh + 1];
                if (s > *m) { /* new max: rescale what was accumulated under the old one */
                    const double r = exp(*m - s); /* exp(-inf) = 0 on the first key */
                    for (int64_t i = 0; i < Dv; i++) a[i] *= r;
                    *l *= r;
                    *m = s;
                }
                const double w = exp(s - *m);
                *l += w;
                if (!v_ready) {
                    row_f32(v->type, (const char *)v->data + j * v->nb[1] + hk * v->nb[2], v->nb[0], vf, Dv);
                    v_ready = true;
                }
                for (int64_t i = 0; i < Dv; i++) a[i] += w * vf[i];
            }
        }
        /* dst element (d, h, iq); a query with every key masked gets zeros, not 0/0 */
        for (int64_t hh = 0; hh < nh; hh++) {
            float *out = (float *)((char *)dst->data + (h0 + hh) * dst->nb[1] + iq * dst->nb[2]);
            const double l = ml[2 * hh + 1], inv = l > 0 ? 1.0 / l : 0.0;
            for (int64_t i = 0; i < Dv; i++) out[i] = (float)(acc[hh * Dv + i] * inv);
        }
    }
}
