/* rope.c — ROPE (formats.md 4.3): rotates the first n_rot dims of each head by angles set
 * by the token's position, NORMAL (adjacent pairs) or NEOX (halves), with linear scaling,
 * optional per-pair frequency factors and YaRN. The cos/sin of one token are computed once
 * (angles in double, so large positions keep their precision) and reused for all heads. */
#include <math.h>

#include "../cpu_internal.h"

/* Element number i of t in logical (i0 fastest) order, read as f32. */
static float flat_f32(const wk_tensor *t, int64_t i) {
    int64_t i0 = i % t->ne[0], i1 = (i / t->ne[0]) % t->ne[1];
    int64_t i2 = (i / (t->ne[0] * t->ne[1])) % t->ne[2], i3 = i / (t->ne[0] * t->ne[1] * t->ne[2]);
    return *(const float *)wk_elem_ptr(t, i0, i1, i2, i3);
}

/* YaRN: the pair index at which rotations of r turns over the original context begin
 * (formats.md 4.3, corr_dim). */
static double corr_dim(int n_rot, int n_ctx_orig, double base, double r) {
    return n_rot * log(n_ctx_orig / (r * 2 * M_PI)) / (2 * log(base));
}

void wk_cpu_ROPE(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0], *pos = dst->src[1], *ff = dst->src[2];
    const int n_rot = dst->op_params[0], mode = dst->op_params[1], n_ctx_orig = dst->op_params[2];
    const double base = wk_param_f32(dst, 3), freq_scale = wk_param_f32(dst, 4);
    const double ext_factor = wk_param_f32(dst, 5), attn_factor = wk_param_f32(dst, 6);
    const double beta_fast = wk_param_f32(dst, 7), beta_slow = wk_param_f32(dst, 8);
    const int64_t ne0 = a->ne[0], ne1 = a->ne[1], ne2 = a->ne[2];
    const int half = n_rot / 2;

    /* YaRN ramp bounds and magnitude correction (constant over the op) */
    double low = 0, high = 0, mscale = attn_factor;
    if (ext_factor != 0) {
        low = floor(corr_dim(n_rot, n_ctx_orig, base, beta_fast));
        high = ceil(corr_dim(n_rot, n_ctx_orig, base, beta_slow));
        if (!(low > 0)) low = 0;
        if (!(high < n_rot - 1)) high = n_rot - 1;
        mscale *= 1 + 0.1 * log(1 / freq_scale);
    }

    float *cs = p->scratch, *sn = cs + half; /* n_rot <= ne0 floats (work.c) */
    int64_t cached = -1;
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(a), p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        const int64_t i1 = r % ne1, i2 = (r / ne1) % ne2, i3 = r / (ne1 * ne2);
        if (i2 != cached) {
            const double ps = *(const int32_t *)((const char *)pos->data + i2 * pos->nb[0]);
            for (int i = 0; i < half; i++) {
                double extrap = ps * pow(base, -2.0 * i / n_rot);
                if (ff) extrap /= flat_f32(ff, i);
                double theta = freq_scale * extrap;
                if (ext_factor != 0) {
                    double y = (i - low) / fmax(0.001, high - low);
                    double t = (1 - fmin(1, fmax(0, y))) * ext_factor;
                    theta = theta * (1 - t) + extrap * t;
                }
                cs[i] = (float)(cos(theta) * mscale);
                sn[i] = (float)(sin(theta) * mscale);
            }
            cached = i2;
        }
        const char *x = (const char *)a->data + i1 * a->nb[1] + i2 * a->nb[2] + i3 * a->nb[3];
        const size_t nb0 = a->nb[0];
        float *y = (float *)dst->data + r * ne0;
        /* element indices of pair i: (2i, 2i+1) NORMAL, (i, i+half) NEOX */
        const int64_t step = mode == WK_ROPE_NEOX ? 1 : 2, off = mode == WK_ROPE_NEOX ? half : 1;
        for (int i = 0; i < half; i++) {
            const int64_t j0 = i * step, j1 = j0 + off;
            const float x0 = *(const float *)(x + j0 * nb0), x1 = *(const float *)(x + j1 * nb0);
            y[j0] = x0 * cs[i] - x1 * sn[i];
            y[j1] = x0 * sn[i] + x1 * cs[i];
        }
        for (int64_t i = n_rot; i < ne0; i++) y[i] = *(const float *)(x + i * nb0);
    }
}
