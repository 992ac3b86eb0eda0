/* softmax.c — SOFT_MAX: softmax over each row of (a * scale + mask). The mask (f32 or f16,
 * [ne0, >= ne1]) is shared by dims 2-3: row i1 of every plane reads mask row i1.
 * A row whose every entry is -inf (fully masked) has no distribution; it comes out as
 * zeros rather than NaN, so a padded batch row cannot poison what reads it. */
#include <math.h>

#include "../cpu_internal.h"

void wk_cpu_SOFT_MAX(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0], *mask = dst->src[1];
    const int64_t n = a->ne[0], ne1 = a->ne[1], ne2 = a->ne[2];
    const float scale = wk_param_f32(dst, 0);
    float *w = p->scratch; /* the row's shifted scores: ne0 floats (work.c) */
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(a), p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        const int64_t i1 = r % ne1, i2 = (r / ne1) % ne2, i3 = r / (ne1 * ne2);
        const char *x = (const char *)a->data + i1 * a->nb[1] + i2 * a->nb[2] + i3 * a->nb[3];
        const char *m = mask ? (const char *)mask->data + i1 * mask->nb[1] : NULL;
        float *y = (float *)dst->data + r * n;
        float max = -INFINITY;
        for (int64_t i = 0; i < n; i++) {
            float v = *(const float *)(x + i * a->nb[0]) * scale;
            if (m) v += wk_cpu_load_f(mask->type, m, i, mask->nb[0]);
            w[i] = v;
            if (v > max) max = v;
        }
        if (max == -INFINITY) { /* fully masked row */
            for (int64_t i = 0; i < n; i++) y[i] = 0.0f;
            continue;
        }
        double sum = 0;
        for (int64_t i = 0; i < n; i++) {
            float e = expf(w[i] - max);
            w[i] = e;
            sum += e;
        }
        const float inv = (float)(1.0 / sum);
        for (int64_t i = 0; i < n; i++) y[i] = w[i] * inv;
    }
}
