/* elementwise.c — unary, binary (b broadcasts over a) and gated ops, f32. Every source
 * is addressed through its strides, so permuted and padded views work; rows whose
 * elements are contiguous take a plain loop the compiler vectorizes. */
#include <math.h>

#include "../cpu_internal.h"

/* ---- unary ---------------------------------------------------------------- */

static inline float gelu_tanh(float x) {
    const float c = 0.7978845608028654f; /* sqrt(2/pi), formats.md 4.2 */
    return 0.5f * x * (1.0f + tanhf(c * (x + 0.044715f * x * x * x)));
}
static inline float silu(float x) { return x / (1.0f + expf(-x)); }

/* One row of n elements, x read with byte stride nb0, y contiguous. The op is chosen
 * once per row; a contiguous row gets a plain indexed loop the compiler can vectorize. */
static void unary_row(const wk_tensor *dst, float *y, const char *x, size_t nb0, int64_t n) {
    const float s0 = wk_param_f32(dst, 0), s1 = wk_param_f32(dst, 1);
    const float *xf = (const float *)x;
    const bool contig = nb0 == sizeof(float);
#define MAP(expr)                                                                     \
    if (contig) {                                                                      \
        for (int64_t i = 0; i < n; i++) { const float v = xf[i]; y[i] = (expr); }      \
    } else {                                                                           \
        for (int64_t i = 0; i < n; i++) { const float v = *(const float *)(x + i * nb0); y[i] = (expr); } \
    }                                                                                  \
    break
    switch (dst->op) {
    case WK_OP_SCALE: MAP(v * s0);
    case WK_OP_SQR: MAP(v * v);
    case WK_OP_SQRT: MAP(sqrtf(v));
    case WK_OP_EXP: MAP(expf(v));
    case WK_OP_LOG: MAP(logf(v));
    case WK_OP_TANH: MAP(tanhf(v));
    case WK_OP_SILU: MAP(silu(v));
    case WK_OP_GELU: MAP(gelu_tanh(v));
    case WK_OP_GELU_ERF: MAP(0.5f * v * (1.0f + erff(v * 0.70710678118654752f)));
    case WK_OP_SOFTCAP: MAP(s0 * tanhf(v / s0));                 /* s0 = cap > 0 (builder) */
    case WK_OP_CLAMP: MAP(v < s0 ? s0 : (v > s1 ? s1 : v));     /* s0 = min, s1 = max */
    default: for (int64_t i = 0; i < n; i++) y[i] = NAN; break; /* not a unary op */
    }
#undef MAP
}

static void unary(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0];
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(a), p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        int64_t i1 = r % a->ne[1], i2 = (r / a->ne[1]) % a->ne[2], i3 = r / (a->ne[1] * a->ne[2]);
        const char *x = (const char *)a->data + i1 * a->nb[1] + i2 * a->nb[2] + i3 * a->nb[3];
        float *y = (float *)((char *)dst->data + i1 * dst->nb[1] + i2 * dst->nb[2] + i3 * dst->nb[3]);
        unary_row(dst, y, x, a->nb[0], a->ne[0]);
    }
}

void wk_cpu_SCALE(const wk_cpu_params *p, wk_tensor *dst) { unary(p, dst); }
void wk_cpu_SQR(const wk_cpu_params *p, wk_tensor *dst) { unary(p, dst); }
void wk_cpu_SQRT(const wk_cpu_params *p, wk_tensor *dst) { unary(p, dst); }
void wk_cpu_EXP(const wk_cpu_params *p, wk_tensor *dst) { unary(p, dst); }
void wk_cpu_LOG(const wk_cpu_params *p, wk_tensor *dst) { unary(p, dst); }
void wk_cpu_TANH(const wk_cpu_params *p, wk_tensor *dst) { unary(p, dst); }
void wk_cpu_SILU(const wk_cpu_params *p, wk_tensor *dst) { unary(p, dst); }
void wk_cpu_GELU(const wk_cpu_params *p, wk_tensor *dst) { unary(p, dst); }
void wk_cpu_GELU_ERF(const wk_cpu_params *p, wk_tensor *dst) { unary(p, dst); }
void wk_cpu_SOFTCAP(const wk_cpu_params *p, wk_tensor *dst) { unary(p, dst); }
void wk_cpu_CLAMP(const wk_cpu_params *p, wk_tensor *dst) { unary(p, dst); }

/* ---- binary with broadcasting ------------------------------------------------ */

static inline float apply_binary(wk_op op, float x, float y) {
    switch (op) {
    case WK_OP_ADD: return x + y;
    case WK_OP_SUB: return x - y;
    case WK_OP_MUL: return x * y;
    case WK_OP_DIV: return x / y;
    case WK_OP_SWIGLU: return silu(x) * y;
    case WK_OP_GEGLU: return gelu_tanh(x) * y;
    default: return NAN;
    }
}

/* Shared by binary and gated ops: gated ops have b of a's shape, the modulo is a no-op. */
static void binary(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0], *b = dst->src[1];
    const int64_t n0 = a->ne[0], nb0 = b->ne[0];
    const wk_op op = dst->op;
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(a), p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        int64_t i1 = r % a->ne[1], i2 = (r / a->ne[1]) % a->ne[2], i3 = r / (a->ne[1] * a->ne[2]);
        const char *x = (const char *)a->data + i1 * a->nb[1] + i2 * a->nb[2] + i3 * a->nb[3];
        const char *yb = (const char *)b->data + (i1 % b->ne[1]) * b->nb[1] + (i2 % b->ne[2]) * b->nb[2] +
                         (i3 % b->ne[3]) * b->nb[3];
        float *z = (float *)((char *)dst->data + i1 * dst->nb[1] + i2 * dst->nb[2] + i3 * dst->nb[3]);
        if (a->nb[0] == sizeof(float) && b->nb[0] == sizeof(float) && nb0 == n0) {
            const float *xf = (const float *)x, *yf = (const float *)yb;
            switch (op) { /* the common contiguous cases as plain loops */
            case WK_OP_ADD: for (int64_t i = 0; i < n0; i++) z[i] = xf[i] + yf[i]; continue;
            case WK_OP_SUB: for (int64_t i = 0; i < n0; i++) z[i] = xf[i] - yf[i]; continue;
            case WK_OP_MUL: for (int64_t i = 0; i < n0; i++) z[i] = xf[i] * yf[i]; continue;
            case WK_OP_DIV: for (int64_t i = 0; i < n0; i++) z[i] = xf[i] / yf[i]; continue;
            case WK_OP_SWIGLU:
            case WK_OP_GEGLU: /* the set's vector exponentials when it has them */
                if (p->isa && p->isa->glu) {
                    p->isa->glu(op == WK_OP_GEGLU, n0, xf, yf, z);
                    continue;
                }
                break;
            default: break;
            }
        }
        for (int64_t i0 = 0; i0 < n0; i0++)
            z[i0] = apply_binary(op, *(const float *)(x + i0 * a->nb[0]), *(const float *)(yb + (i0 % nb0) * b->nb[0]));
    }
}

void wk_cpu_ADD(const wk_cpu_params *p, wk_tensor *dst) { binary(p, dst); }
void wk_cpu_SUB(const wk_cpu_params *p, wk_tensor *dst) { binary(p, dst); }
void wk_cpu_MUL(const wk_cpu_params *p, wk_tensor *dst) { binary(p, dst); }
void wk_cpu_DIV(const wk_cpu_params *p, wk_tensor *dst) { binary(p, dst); }
void wk_cpu_SWIGLU(const wk_cpu_params *p, wk_tensor *dst) { binary(p, dst); }
void wk_cpu_GEGLU(const wk_cpu_params *p, wk_tensor *dst) { binary(p, dst); }
