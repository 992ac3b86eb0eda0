/* norm.c — RMS_NORM and NORM over each row (dim 0), without weight or bias: the model
 * multiplies by the norm weight (and adds a bias) with MUL/ADD. Sums are accumulated in
 * double, as the reference CPU op does (formats.md 4.2), so long rows lose nothing. */
#include <math.h>

#include "../cpu_internal.h"

/* Row r of an [ne0, ne1, ne2, ne3] tensor, through its strides. */
static inline const char *src_row(const wk_tensor *t, int64_t r) {
    int64_t i1 = r % t->ne[1], i2 = (r / t->ne[1]) % t->ne[2], i3 = r / (t->ne[1] * t->ne[2]);
    return (const char *)t->data + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3];
}

/* y = x / sqrt(mean(x^2) + eps). A zero row with eps = 0 gives NaN (0/0), as the math says. */
void wk_cpu_RMS_NORM(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0];
    const int64_t n = a->ne[0];
    const size_t nb0 = a->nb[0];
    const double eps = wk_param_f32(dst, 0);
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(a), p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        const char *x = src_row(a, r);
        float *y = (float *)dst->data + r * n;
        double ss = 0;
        for (int64_t i = 0; i < n; i++) {
            double v = *(const float *)(x + i * nb0);
            ss += v * v;
        }
        const float scale = (float)(1.0 / sqrt(ss / (double)n + eps));
        for (int64_t i = 0; i < n; i++) y[i] = *(const float *)(x + i * nb0) * scale;
    }
}

/* y = (x - mean) / sqrt(var + eps), var the biased (1/n) variance, computed in two passes
 * (mean first, then squared deviations) so a large mean does not cancel the variance. */
void wk_cpu_NORM(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0];
    const int64_t n = a->ne[0];
    const size_t nb0 = a->nb[0];
    const double eps = wk_param_f32(dst, 0);
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(a), p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        const char *x = src_row(a, r);
        float *y = (float *)dst->data + r * n;
        double sum = 0;
        for (int64_t i = 0; i < n; i++) sum += *(const float *)(x + i * nb0);
        const double mean = sum / (double)n;
        double var = 0;
        for (int64_t i = 0; i < n; i++) {
            double d = *(const float *)(x + i * nb0) - mean;
            var += d * d;
        }
        const double scale = 1.0 / sqrt(var / (double)n + eps);
        for (int64_t i = 0; i < n; i++) y[i] = (float)((*(const float *)(x + i * nb0) - mean) * scale);
    }
}
