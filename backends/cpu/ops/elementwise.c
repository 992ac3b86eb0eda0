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

static float apply_unary(wk_op op, float x, const wk_tensor *dst) {
    switch (op) {
    case WK_OP_SCALE: return x * wk_param_f32(dst, 0);
    case WK_OP_SQR: return x * x;
    case WK_OP_SQRT: return sqrtf(x);
    case WK_OP_EXP: return expf(x);
    case WK_OP_LOG: return logf(x);
    case WK_OP_TANH: return tanhf(x);
    case WK_OP_SILU: return silu(x);
    case WK_OP_GELU: return gelu_tanh(x);
    case WK_OP_GELU_ERF: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case WK_OP_SOFTCAP: {
        float cap = wk_param_f32(dst, 0);
        return cap * tanhf(x / cap);
    }
    case WK_OP_CLAMP: {
        float lo = wk_param_f32(dst, 0), hi = wk_param_f32(dst, 1);
        return x < lo ? lo : (x > hi ? hi : x);
    }
    default: return NAN;
    }
}

static void unary(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0];
    const int64_t n0 = a->ne[0];
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(a), p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        int64_t i1 = r % a->ne[1], i2 = (r / a->ne[1]) % a->ne[2], i3 = r / (a->ne[1] * a->ne[2]);
        const char *x = (const char *)a->data + i1 * a->nb[1] + i2 * a->nb[2] + i3 * a->nb[3];
        float *y = (float *)((char *)dst->data + i1 * dst->nb[1] + i2 * dst->nb[2] + i3 * dst->nb[3]);
        for (int64_t i0 = 0; i0 < n0; i0++) y[i0] = apply_unary(dst->op, *(const float *)(x + i0 * a->nb[0]), dst);
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
            case WK_OP_MUL: for (int64_t i = 0; i < n0; i++) z[i] = xf[i] * yf[i]; continue;
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
