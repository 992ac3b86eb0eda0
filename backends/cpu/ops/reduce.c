/* reduce.c — SUM (all elements), SUM_ROWS and MEAN (over ne[0]) and ARGMAX (per row).
 * Sums accumulate in double; SUM combines per-thread partials in thread order so the
 * result does not depend on timing. */
#include <math.h>

#include "../cpu_internal.h"

static double row_sum(const wk_tensor *a, int64_t r) {
    int64_t i1 = r % a->ne[1], i2 = (r / a->ne[1]) % a->ne[2], i3 = r / (a->ne[1] * a->ne[2]);
    const char *x = (const char *)a->data + i1 * a->nb[1] + i2 * a->nb[2] + i3 * a->nb[3];
    double s = 0;
    for (int64_t i0 = 0; i0 < a->ne[0]; i0++) s += *(const float *)(x + i0 * a->nb[0]);
    return s;
}

void wk_cpu_SUM(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0];
    double *partial = p->shared; /* one double per thread, 64 bytes apart (work.c) */
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(a), p, &lo, &hi);
    double s = 0;
    for (int64_t r = lo; r < hi; r++) s += row_sum(a, r);
    partial[p->ith * 8] = s;
    wk_cpu_barrier(p);
    if (p->ith == 0) {
        double t = 0;
        for (int i = 0; i < p->nth; i++) t += partial[i * 8];
        *(float *)dst->data = (float)t;
    }
}

static void rows_reduce(const wk_cpu_params *p, wk_tensor *dst, bool mean) {
    const wk_tensor *a = dst->src[0];
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(a), p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        double s = row_sum(a, r);
        ((float *)dst->data)[r] = (float)(mean ? s / (double)a->ne[0] : s);
    }
}
void wk_cpu_SUM_ROWS(const wk_cpu_params *p, wk_tensor *dst) { rows_reduce(p, dst, false); }
void wk_cpu_MEAN(const wk_cpu_params *p, wk_tensor *dst) { rows_reduce(p, dst, true); }

/* First index of the largest value; NaNs never win. A row of only NaNs gives 0. */
void wk_cpu_ARGMAX(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0];
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(a), p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        int64_t i1 = r % a->ne[1], i2 = (r / a->ne[1]) % a->ne[2], i3 = r / (a->ne[1] * a->ne[2]);
        const char *x = (const char *)a->data + i1 * a->nb[1] + i2 * a->nb[2] + i3 * a->nb[3];
        int32_t best = 0;
        float bv = -INFINITY;
        bool found = false;
        for (int64_t i0 = 0; i0 < a->ne[0]; i0++) {
            float v = *(const float *)(x + i0 * a->nb[0]);
            if (!found ? !isnan(v) : v > bv) { bv = v; best = (int32_t)i0; found = true; }
        }
        ((int32_t *)dst->data)[r] = best;
    }
}
