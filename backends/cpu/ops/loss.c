/* loss.c — CROSS_ENTROPY: mean over valid rows of -log softmax(logits row)[label], via
 * log-sum-exp with the row max subtracted: contiguous rows take the ISA set's f32 vector
 * exponentials (chunk sums added in double), others a double loop. A label outside [0, n_vocab) marks
 * the row as ignored: negative is the documented "ignore" value, and a label >= n_vocab is
 * invalid input a kernel cannot report, so it is ignored too rather than read out of
 * bounds. With no valid row the loss is 0. Per-thread partials meet in p->shared.
 * With F32 targets of the logits' shape the op is wk_kl_div's KL divergence instead. */
#include <math.h>

#include "../cpu_internal.h"

typedef struct {
    double sum;
    int64_t count;
    char pad[64 - sizeof(double) - sizeof(int64_t)]; /* one cache line per thread */
} partial;

double wk_cpu_row_exp_sum(const wk_cpu_params *p, int64_t n, const float *x, float max, float *y) {
    const wk_exp_sum_fn f = p->isa && p->isa->exp_sum ? p->isa->exp_sum : wk_cpu_isa_scalar.exp_sum;
    double sum = 0;
    for (int64_t i = 0; i < n; i += 1024) sum += f(n - i < 1024 ? n - i : 1024, x + i, max, y + i);
    return sum;
}

static float row_max(const float *x, int64_t n) {
    float m = -INFINITY;
    for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

/* contiguous f32 rows with a finite max: the vector exponentials; otherwise the double path */
static bool fast_row(const wk_tensor *x, const char *row, int64_t n, float *max) {
    if (x->nb[0] != sizeof(float)) return false;
    *max = row_max((const float *)row, n);
    return isfinite(*max);
}

/* With F32 targets t (wk_kl_div): KL(t || softmax(x)) per row = sum_j t_j (log t_j - x_j +
 * lse), rows whose targets sum to 0 ignored. */
static void kl_rows(const wk_cpu_params *p, const wk_tensor *x, const wk_tensor *t, int64_t lo, int64_t hi, double *sum,
                    int64_t *count) {
    const int64_t n = x->ne[0], ne1 = x->ne[1], ne2 = x->ne[2];
    for (int64_t r = lo; r < hi; r++) {
        const int64_t i1 = r % ne1, i2 = (r / ne1) % ne2, i3 = r / (ne1 * ne2);
        const char *row = (const char *)x->data + i1 * x->nb[1] + i2 * x->nb[2] + i3 * x->nb[3];
        const char *tr = (const char *)t->data + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3];
        float fmax_;
        if (t->nb[0] == sizeof(float) && fast_row(x, row, n, &fmax_)) {
            /* sum t (log t - x) + lse sum t, the exponentials in f32 vectors */
            const float *xf = (const float *)row, *tf = (const float *)tr;
            double st = 0, tlt = 0, tx = 0;
            for (int64_t i = 0; i < n; i++)
                if (tf[i] > 0) st += tf[i], tlt += (double)tf[i] * logf(tf[i]), tx += (double)tf[i] * xf[i];
            if (!(st > 0)) continue;
            const double lse = fmax_ + log(wk_cpu_row_exp_sum(p, n, xf, fmax_, p->scratch));
            *sum += tlt - tx + lse * st;
            ++*count;
            continue;
        }
        double st = 0, max = -INFINITY, se = 0;
        for (int64_t i = 0; i < n; i++) {
            st += *(const float *)(tr + i * t->nb[0]);
            const double v = *(const float *)(row + i * x->nb[0]);
            if (v > max) max = v;
        }
        if (!(st > 0)) continue;
        for (int64_t i = 0; i < n; i++) se += exp(*(const float *)(row + i * x->nb[0]) - max);
        const double lse = max + log(se);
        double kl = 0;
        for (int64_t i = 0; i < n; i++) {
            const double ti = *(const float *)(tr + i * t->nb[0]);
            if (ti > 0) kl += ti * (log(ti) - (*(const float *)(row + i * x->nb[0]) - lse));
        }
        *sum += kl;
        ++*count;
    }
}

void wk_cpu_CROSS_ENTROPY(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *x = dst->src[0], *lab = dst->src[1];
    const int64_t n = x->ne[0], ne1 = x->ne[1], ne2 = x->ne[2];
    partial *parts = p->shared; /* nth entries (work.c) */
    double sum = 0;
    int64_t count = 0, lo, hi;
    wk_cpu_range(wk_nrows(x), p, &lo, &hi);
    if (lab->type == WK_TYPE_F32) kl_rows(p, x, lab, lo, hi, &sum, &count), lo = hi;
    for (int64_t r = lo; r < hi; r++) {
        /* label r in the labels' logical order (any shape with one entry per row) */
        const int64_t l0 = r % lab->ne[0], l1 = (r / lab->ne[0]) % lab->ne[1];
        const int64_t l2 = (r / (lab->ne[0] * lab->ne[1])) % lab->ne[2], l3 = r / (lab->ne[0] * lab->ne[1] * lab->ne[2]);
        const int32_t label = *(const int32_t *)wk_elem_ptr(lab, l0, l1, l2, l3);
        if (label < 0 || label >= n) continue;
        const int64_t i1 = r % ne1, i2 = (r / ne1) % ne2, i3 = r / (ne1 * ne2);
        const char *row = (const char *)x->data + i1 * x->nb[1] + i2 * x->nb[2] + i3 * x->nb[3];
        float fmax_;
        if (fast_row(x, row, n, &fmax_)) {
            const float *xf = (const float *)row;
            sum += fmax_ + log(wk_cpu_row_exp_sum(p, n, xf, fmax_, p->scratch)) - xf[label];
            count++;
            continue;
        }
        double max = -INFINITY;
        for (int64_t i = 0; i < n; i++) {
            double v = *(const float *)(row + i * x->nb[0]);
            if (v > max) max = v;
        }
        double se = 0;
        for (int64_t i = 0; i < n; i++) se += exp(*(const float *)(row + i * x->nb[0]) - max);
        sum += max + log(se) - *(const float *)(row + label * x->nb[0]);
        count++;
    }
    parts[p->ith].sum = sum;
    parts[p->ith].count = count;
    wk_cpu_barrier(p);
    if (p->ith == 0) { /* fixed order: the result does not depend on timing */
        double total = 0;
        int64_t rows = 0;
        for (int t = 0; t < p->nth; t++) {
            total += parts[t].sum;
            rows += parts[t].count;
        }
        *(float *)dst->data = rows ? (float)(total / (double)rows) : 0.0f;
    }
}
