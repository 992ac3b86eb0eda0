/* backward.c — CPU kernels of REPEAT and the ops only gradient rules use (src/core/
 * backward.c): reductions of broadcasts, derivatives of unary ops, scatter-adds for views
 * and gathered rows, and the input gradients of the row ops (norms, softmax, rope,
 * cross-entropy). Threads split destination rows like the forward kernels; a scatter-add
 * thread scans every source entry and writes only its own rows, so no two threads add
 * into one element and the sum order does not depend on the thread count. Destinations
 * are fresh contiguous nodes; sources are read through their strides. */
#include <math.h>
#include <string.h>

#include "../cpu_internal.h"

/* (i1, i2, i3) of row r of a tensor of t's shape */
static inline void row_index(const wk_tensor *t, int64_t r, int64_t *i1, int64_t *i2, int64_t *i3) {
    *i1 = r % t->ne[1];
    *i2 = (r / t->ne[1]) % t->ne[2];
    *i3 = r / (t->ne[1] * t->ne[2]);
}

static inline const char *row_ptr(const wk_tensor *t, int64_t i1, int64_t i2, int64_t i3) {
    return (const char *)t->data + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3];
}

static inline float at(const char *row, int64_t i0, size_t nb0) { return *(const float *)(row + i0 * nb0); }

/* ---- REPEAT, REPEAT_BACK ---------------------------------------------------------------- */

void wk_cpu_REPEAT(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0];
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(dst), p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        int64_t i1, i2, i3;
        row_index(dst, r, &i1, &i2, &i3);
        const char *x = row_ptr(a, i1 % a->ne[1], i2 % a->ne[2], i3 % a->ne[3]);
        float *y = (float *)dst->data + r * dst->ne[0];
        for (int64_t i0 = 0; i0 < dst->ne[0]; i0++) y[i0] = at(x, i0 % a->ne[0], a->nb[0]);
    }
}

/* dst[j] = sum of a over the elements that broadcast from j: a's index along each dim is
 * j + k * dst->ne (tiled) or j * ratio + k (block), k < ratio = a->ne / dst->ne. */
void wk_cpu_REPEAT_BACK(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0];
    const bool block = dst->op_params[0] != 0;
    int64_t rt[4];
    for (int i = 0; i < 4; i++) rt[i] = a->ne[i] / dst->ne[i];
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(dst), p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        int64_t j1, j2, j3;
        row_index(dst, r, &j1, &j2, &j3);
        float *y = (float *)dst->data + r * dst->ne[0];
        for (int64_t j0 = 0; j0 < dst->ne[0]; j0++) {
            double s = 0;
            for (int64_t k3 = 0; k3 < rt[3]; k3++)
                for (int64_t k2 = 0; k2 < rt[2]; k2++)
                    for (int64_t k1 = 0; k1 < rt[1]; k1++) {
                        const char *x = block ? row_ptr(a, j1 * rt[1] + k1, j2 * rt[2] + k2, j3 * rt[3] + k3)
                                              : row_ptr(a, j1 + k1 * dst->ne[1], j2 + k2 * dst->ne[2],
                                                        j3 + k3 * dst->ne[3]);
                        for (int64_t k0 = 0; k0 < rt[0]; k0++)
                            s += at(x, block ? j0 * rt[0] + k0 : j0 + k0 * dst->ne[0], a->nb[0]);
                    }
            y[j0] = (float)s;
        }
    }
}

/* ---- UNARY_BACK: g * f'(x) --------------------------------------------------------------- */

static inline float derivative(wk_op op, float x, float s0, float s1) {
    switch (op) {
    case WK_OP_SQR: return 2.0f * x;
    case WK_OP_SQRT: return 0.5f / sqrtf(x);
    case WK_OP_EXP: return expf(x);
    case WK_OP_LOG: return 1.0f / x;
    case WK_OP_TANH: { const float t = tanhf(x); return 1.0f - t * t; }
    case WK_OP_SILU: { const float s = 1.0f / (1.0f + expf(-x)); return s * (1.0f + x * (1.0f - s)); }
    case WK_OP_GELU: { /* 0.5 x (1 + tanh(u)), u = c (x + 0.044715 x^3) */
        const float c = 0.7978845608028654f, t = tanhf(c * (x + 0.044715f * x * x * x));
        return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * c * (1.0f + 3.0f * 0.044715f * x * x);
    }
    case WK_OP_GELU_ERF: /* Phi(x) + x phi(x) */
        return 0.5f * (1.0f + erff(x * 0.70710678118654752f)) + x * 0.39894228040143268f * expf(-0.5f * x * x);
    case WK_OP_SOFTCAP: { const float t = tanhf(x / s0); return 1.0f - t * t; } /* s0 = cap */
    case WK_OP_CLAMP: return x >= s0 && x <= s1 ? 1.0f : 0.0f; /* the bounds pass x through */
    default: return NAN;
    }
}

void wk_cpu_UNARY_BACK(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *g = dst->src[0], *x = dst->src[1];
    const wk_op op = (wk_op)dst->op_params[0];
    float s0, s1;
    memcpy(&s0, &dst->op_params[1], sizeof s0);
    memcpy(&s1, &dst->op_params[2], sizeof s1);
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(dst), p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        int64_t i1, i2, i3;
        row_index(dst, r, &i1, &i2, &i3);
        const char *gr = row_ptr(g, i1, i2, i3), *xr = row_ptr(x, i1, i2, i3);
        float *y = (float *)dst->data + r * dst->ne[0];
        for (int64_t i0 = 0; i0 < dst->ne[0]; i0++)
            y[i0] = at(gr, i0, g->nb[0]) * derivative(op, at(xr, i0, x->nb[0]), s0, s1);
    }
}

/* ---- scatter-adds: VIEW_BACK, GET_ROWS_BACK ------------------------------------------------ */

static int64_t get_i64(const wk_tensor *t, int slot) {
    int64_t v;
    memcpy(&v, &t->op_params[slot], sizeof v);
    return v;
}

/* dst (the viewed tensor's shape, contiguous) = 0, then g[i] added at element
 * off + sum i_k * stride_k, the element the view read. A thread owns a range of elements. */
void wk_cpu_VIEW_BACK(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *g = dst->src[0];
    const int64_t off = get_i64(dst, 0), st[4] = {get_i64(dst, 2), get_i64(dst, 4), get_i64(dst, 6), get_i64(dst, 8)};
    float *y = dst->data;
    int64_t lo, hi;
    wk_cpu_range(wk_tensor_nelements(dst), p, &lo, &hi);
    if (lo >= hi) return;
    memset(y + lo, 0, (size_t)(hi - lo) * sizeof(float));
    for (int64_t i3 = 0; i3 < g->ne[3]; i3++)
        for (int64_t i2 = 0; i2 < g->ne[2]; i2++)
            for (int64_t i1 = 0; i1 < g->ne[1]; i1++) {
                const char *gr = row_ptr(g, i1, i2, i3);
                const int64_t base = off + i1 * st[1] + i2 * st[2] + i3 * st[3];
                for (int64_t i0 = 0; i0 < g->ne[0]; i0++) {
                    const int64_t e = base + i0 * st[0];
                    if (e >= lo && e < hi) y[e] += at(gr, i0, g->nb[0]);
                }
            }
}

/* dst [n, n_rows, ne2, ne3] = 0, then row i of g added to row idx[i] of its plane. Indices
 * out of range are skipped (GET_ROWS read zeros for them). */
void wk_cpu_GET_ROWS_BACK(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *g = dst->src[0], *idx = dst->src[1];
    const int64_t n0 = dst->ne[0];
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(dst), p, &lo, &hi);
    if (lo >= hi) return;
    memset((float *)dst->data + lo * n0, 0, (size_t)((hi - lo) * n0) * sizeof(float));
    for (int64_t r = 0; r < wk_nrows(g); r++) {
        int64_t i1, i2, i3;
        row_index(g, r, &i1, &i2, &i3);
        const int32_t row = *(const int32_t *)((const char *)idx->data + i1 * idx->nb[0] + i2 * idx->nb[1] + i3 * idx->nb[2]);
        if (row < 0 || row >= dst->ne[1]) continue;
        const int64_t flat = row + dst->ne[1] * (i2 + dst->ne[2] * i3);
        if (flat < lo || flat >= hi) continue;
        const char *gr = row_ptr(g, i1, i2, i3);
        float *y = (float *)dst->data + flat * n0;
        for (int64_t i0 = 0; i0 < n0; i0++) y[i0] += at(gr, i0, g->nb[0]);
    }
}

/* ---- row ops: RMS_NORM_BACK, NORM_BACK, SOFT_MAX_BACK (sums in double) ------------------- */

/* y = x r, r = (mean(x^2) + eps)^-1/2:  dx = r (g - x r^2 mean(g x)) */
void wk_cpu_RMS_NORM_BACK(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *g = dst->src[0], *x = dst->src[1];
    const int64_t n = dst->ne[0];
    const double eps = wk_param_f32(dst, 0);
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(dst), p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        int64_t i1, i2, i3;
        row_index(dst, r, &i1, &i2, &i3);
        const char *gr = row_ptr(g, i1, i2, i3), *xr = row_ptr(x, i1, i2, i3);
        double ss = 0, gx = 0;
        for (int64_t i = 0; i < n; i++) {
            const double xv = at(xr, i, x->nb[0]);
            ss += xv * xv;
            gx += at(gr, i, g->nb[0]) * xv;
        }
        const double rs = 1.0 / sqrt(ss / (double)n + eps), c = rs * rs * gx / (double)n;
        float *y = (float *)dst->data + r * n;
        for (int64_t i = 0; i < n; i++) y[i] = (float)(rs * (at(gr, i, g->nb[0]) - at(xr, i, x->nb[0]) * c));
    }
}

/* y = (x - mean) r, r = (var + eps)^-1/2:  dx = r (g - mean(g) - y mean(g y)) */
void wk_cpu_NORM_BACK(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *g = dst->src[0], *x = dst->src[1];
    const int64_t n = dst->ne[0];
    const double eps = wk_param_f32(dst, 0);
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(dst), p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        int64_t i1, i2, i3;
        row_index(dst, r, &i1, &i2, &i3);
        const char *gr = row_ptr(g, i1, i2, i3), *xr = row_ptr(x, i1, i2, i3);
        double sum = 0;
        for (int64_t i = 0; i < n; i++) sum += at(xr, i, x->nb[0]);
        const double mean = sum / (double)n;
        double var = 0, sg = 0, sgd = 0;
        for (int64_t i = 0; i < n; i++) {
            const double d = at(xr, i, x->nb[0]) - mean, gv = at(gr, i, g->nb[0]);
            var += d * d;
            sg += gv;
            sgd += gv * d;
        }
        const double rs = 1.0 / sqrt(var / (double)n + eps);
        const double mg = sg / (double)n, mgy = sgd * rs / (double)n;
        float *y = (float *)dst->data + r * n;
        for (int64_t i = 0; i < n; i++) {
            const double yv = (at(xr, i, x->nb[0]) - mean) * rs;
            y[i] = (float)(rs * (at(gr, i, g->nb[0]) - mg - yv * mgy));
        }
    }
}

/* y = softmax(scale x + mask):  dx = scale y (g - sum(g y)); masked entries have y = 0 */
void wk_cpu_SOFT_MAX_BACK(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *g = dst->src[0], *yv = dst->src[1];
    const int64_t n = dst->ne[0];
    const double scale = wk_param_f32(dst, 0);
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(dst), p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        int64_t i1, i2, i3;
        row_index(dst, r, &i1, &i2, &i3);
        const char *gr = row_ptr(g, i1, i2, i3), *yr = row_ptr(yv, i1, i2, i3);
        double dot = 0;
        for (int64_t i = 0; i < n; i++) dot += (double)at(gr, i, g->nb[0]) * at(yr, i, yv->nb[0]);
        float *y = (float *)dst->data + r * n;
        for (int64_t i = 0; i < n; i++)
            y[i] = (float)(scale * at(yr, i, yv->nb[0]) * (at(gr, i, g->nb[0]) - dot));
    }
}

/* ---- ROPE_BACK: the transposed rotation ---------------------------------------------------- */

static double corr_dim(int n_rot, int n_ctx_orig, double base, double r) {
    return n_rot * log(n_ctx_orig / (r * 2 * M_PI)) / (2 * log(base));
}

#define ROPE_CACHE 256 /* pairs whose cos/sin are kept per token; more are recomputed */

/* The forward maps each pair (x0, x1) by [c -s; s c] (c, s scaled by mscale), the same
 * angles as rope.c; its transpose [c s; -s c] sends the output gradient back. */
void wk_cpu_ROPE_BACK(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *g = dst->src[0], *pos = dst->src[1], *ff = dst->src[2];
    const int n_rot = dst->op_params[0], mode = dst->op_params[1], n_ctx_orig = dst->op_params[2];
    const double base = wk_param_f32(dst, 3), freq_scale = wk_param_f32(dst, 4);
    const double ext_factor = wk_param_f32(dst, 5), attn_factor = wk_param_f32(dst, 6);
    const double beta_fast = wk_param_f32(dst, 7), beta_slow = wk_param_f32(dst, 8);
    const int64_t ne0 = dst->ne[0];
    const int half = n_rot / 2;
    double low = 0, high = 0, mscale = attn_factor;
    if (ext_factor != 0) {
        low = floor(corr_dim(n_rot, n_ctx_orig, base, beta_fast));
        high = ceil(corr_dim(n_rot, n_ctx_orig, base, beta_slow));
        if (!(low > 0)) low = 0;
        if (!(high < n_rot - 1)) high = n_rot - 1;
        mscale *= 1 + 0.1 * log(1 / freq_scale);
    }
    float cs[ROPE_CACHE], sn[ROPE_CACHE];
    const int n_cache = half < ROPE_CACHE ? half : ROPE_CACHE;
    int64_t cached = -1, lo, hi;
    wk_cpu_range(wk_nrows(dst), p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        int64_t i1, i2, i3;
        row_index(dst, r, &i1, &i2, &i3);
        const double ps = *(const int32_t *)((const char *)pos->data + i2 * pos->nb[0]);
        const char *x = row_ptr(g, i1, i2, i3);
        float *y = (float *)dst->data + r * ne0;
        const int64_t step = mode == WK_ROPE_NEOX ? 1 : 2, off = mode == WK_ROPE_NEOX ? half : 1;
        for (int i = 0; i < half; i++) {
            float c, s;
            if (i < n_cache && cached == i2) {
                c = cs[i];
                s = sn[i];
            } else {
                double extrap = ps * pow(base, -2.0 * i / n_rot);
                if (ff) {
                    const int64_t f0 = i % ff->ne[0], f1 = (i / ff->ne[0]) % ff->ne[1];
                    extrap /= *(const float *)wk_elem_ptr(ff, f0, f1, 0, 0);
                }
                double theta = freq_scale * extrap;
                if (ext_factor != 0) {
                    double yr = (i - low) / fmax(0.001, high - low);
                    double t = (1 - fmin(1, fmax(0, yr))) * ext_factor;
                    theta = theta * (1 - t) + extrap * t;
                }
                c = (float)(cos(theta) * mscale);
                s = (float)(sin(theta) * mscale);
                if (i < n_cache) {
                    cs[i] = c;
                    sn[i] = s;
                }
            }
            const int64_t j0 = i * step, j1 = j0 + off;
            const float g0 = at(x, j0, g->nb[0]), g1 = at(x, j1, g->nb[0]);
            y[j0] = g0 * c + g1 * s;
            y[j1] = -g0 * s + g1 * c;
        }
        cached = i2;
        for (int64_t i = n_rot; i < ne0; i++) y[i] = at(x, i, g->nb[0]);
    }
}

/* ---- CROSS_ENTROPY_BACK ---------------------------------------------------------------------- */

static int32_t label_of(const wk_tensor *lab, int64_t r) {
    const int64_t l0 = r % lab->ne[0], l1 = (r / lab->ne[0]) % lab->ne[1];
    const int64_t l2 = (r / (lab->ne[0] * lab->ne[1])) % lab->ne[2], l3 = r / (lab->ne[0] * lab->ne[1] * lab->ne[2]);
    return *(const int32_t *)wk_elem_ptr(lab, l0, l1, l2, l3);
}

/* loss = mean over valid rows of logsumexp(x) - x[label]:
 * dx = g (softmax(x) - onehot(label)) / n_valid; ignored rows (label out of range) get 0.
 * With F32 targets t (KL): dx = g (softmax(x) sum(t) - t) / n_valid, n_valid the rows with
 * sum(t) > 0, counted in per-thread partials (p->shared, work.c). */
void wk_cpu_CROSS_ENTROPY_BACK(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *gt = dst->src[0], *x = dst->src[1], *lab = dst->src[2];
    const int64_t n = x->ne[0], rows = wk_nrows(x);
    const bool soft = lab->type == WK_TYPE_F32;
    int64_t lo, hi;
    wk_cpu_range(rows, p, &lo, &hi);
    int64_t valid = 0;
    if (soft) { /* row target sums: this thread's rows, then every thread's count */
        int64_t *cnt = p->shared;
        int64_t mine = 0;
        for (int64_t r = lo; r < hi; r++) {
            int64_t i1, i2, i3;
            row_index(x, r, &i1, &i2, &i3);
            const char *tr = (const char *)lab->data + i1 * lab->nb[1] + i2 * lab->nb[2] + i3 * lab->nb[3];
            double st = 0;
            for (int64_t i = 0; i < n; i++) st += at(tr, i, lab->nb[0]);
            mine += st > 0;
        }
        cnt[p->ith * 8] = mine; /* a cache line each */
        wk_cpu_barrier(p);
        for (int t = 0; t < p->nth; t++) valid += cnt[t * 8];
    } else {
        for (int64_t r = 0; r < rows; r++) {
            const int32_t l = label_of(lab, r);
            valid += l >= 0 && l < n;
        }
    }
    const double g = *(const float *)gt->data / (double)(valid ? valid : 1);
    for (int64_t r = lo; r < hi; r++) {
        int64_t i1, i2, i3;
        row_index(x, r, &i1, &i2, &i3);
        const char *xr = row_ptr(x, i1, i2, i3);
        float *y = (float *)dst->data + r * n;
        if (soft) {
            const char *tr = (const char *)lab->data + i1 * lab->nb[1] + i2 * lab->nb[2] + i3 * lab->nb[3];
            if (x->nb[0] == sizeof(float) && lab->nb[0] == sizeof(float)) { /* f32 vector exponentials */
                const float *xf = (const float *)xr, *tf = (const float *)tr;
                float mx = -INFINITY;
                double st = 0;
                for (int64_t i = 0; i < n; i++) st += tf[i], mx = xf[i] > mx ? xf[i] : mx;
                if (!(st > 0) || !isfinite(mx)) {
                    if (!(st > 0)) {
                        memset(y, 0, (size_t)n * sizeof(float));
                        continue;
                    }
                } else {
                    const double se = wk_cpu_row_exp_sum(p, n, xf, mx, y);
                    const float a = (float)(g * st / se), b = (float)g;
                    for (int64_t i = 0; i < n; i++) y[i] = a * y[i] - b * tf[i];
                    continue;
                }
            }
            double st = 0, max = -INFINITY, se = 0;
            for (int64_t i = 0; i < n; i++) st += at(tr, i, lab->nb[0]), max = fmax(max, at(xr, i, x->nb[0]));
            if (!(st > 0)) {
                memset(y, 0, (size_t)n * sizeof(float));
                continue;
            }
            for (int64_t i = 0; i < n; i++) se += exp(at(xr, i, x->nb[0]) - max);
            for (int64_t i = 0; i < n; i++)
                y[i] = (float)(g * (exp(at(xr, i, x->nb[0]) - max) / se * st - at(tr, i, lab->nb[0])));
            continue;
        }
        const int32_t label = label_of(lab, r);
        if (label < 0 || label >= n) {
            memset(y, 0, (size_t)n * sizeof(float));
            continue;
        }
        if (x->nb[0] == sizeof(float)) { /* f32 vector exponentials */
            const float *xf = (const float *)xr;
            float mx = -INFINITY;
            for (int64_t i = 0; i < n; i++) mx = xf[i] > mx ? xf[i] : mx;
            if (isfinite(mx)) {
                const double se = wk_cpu_row_exp_sum(p, n, xf, mx, y);
                const float a = (float)(g / se);
                for (int64_t i = 0; i < n; i++) y[i] *= a;
                y[label] -= (float)g;
                continue;
            }
        }
        double max = -INFINITY, se = 0;
        for (int64_t i = 0; i < n; i++) max = fmax(max, at(xr, i, x->nb[0]));
        for (int64_t i = 0; i < n; i++) se += exp(at(xr, i, x->nb[0]) - max);
        for (int64_t i = 0; i < n; i++)
            y[i] = (float)(g * (exp(at(xr, i, x->nb[0]) - max) / se - (i == label)));
    }
}
