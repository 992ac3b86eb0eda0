/* neon.c — the AArch64 NEON kernel set ("neon"): the register-blocked gemm body of
 * x86/gemm_tile.h (ISA-neutral despite its folder) at 4 f32 lanes with FMA, f16 weights
 * widened by FCVTL, bf16 unpacked into even/odd lanes by a shift or a mask, and f32->bf16
 * rounding in vectors. Everything here is base armv8-a; the quantized tiles live in
 * neon_quant.c, and the SDOT variants are swapped in by isa.c when the CPU has them. */
#include <arm_neon.h>
#include <math.h>
#if defined(__linux__)
#include <sys/auxv.h>
#endif

#include "../../../src/core/types.h"
#include "../x86/gemm_tile.h"
#include "neon.h"

#define INLINE static inline __attribute__((always_inline))

INLINE float32x4_t zero4(void) { return vdupq_n_f32(0.0f); }
INLINE float32x4_t fma4(float32x4_t a, float32x4_t b, float32x4_t acc) { return vfmaq_f32(acc, a, b); }
INLINE float hsum4(float32x4_t v) { return vaddvq_f32(v); }

/* element loaders: 4 lanes as f32 per phase (gemm_tile.h), one element as f32 for the k
 * tails. bf16 loads 8 values and yields the even ones (shifted up into f32 position) in
 * phase 0 and the odd ones (already in place, low half masked) in phase 1. */
INLINE float32x4_t ld_f32(const float *p, int ph) { (void)ph; return vld1q_f32(p); }
INLINE float32x4_t ld_f16(const uint16_t *p, int ph) {
    (void)ph;
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}
INLINE float32x4_t ld_bf16(const uint16_t *p, int ph) {
    const uint32x4_t v = vreinterpretq_u32_u16(vld1q_u16(p));
    return vreinterpretq_f32_u32(ph == 0 ? vshlq_n_u32(v, 16) : vandq_u32(v, vdupq_n_u32(0xffff0000u)));
}
INLINE float one_f32(const float *p) { return *p; }
INLINE float one_f16(const uint16_t *p) { return wk_fp16_to_fp32(*p); }
INLINE float one_bf16(const uint16_t *p) { return wk_bf16_to_fp32(*p); }

#define DEFINE_GEMM(NAME, TA, TB, LA, LB, OA, OB, NPH, MRMAX) \
    WK_DEFINE_GEMM(NAME, TA, TB, LA, LB, OA, OB, float32x4_t, 4, NPH, MRMAX, zero4, fma4, hsum4)
DEFINE_GEMM(gemm_f32, float, float, ld_f32, ld_f32, one_f32, one_f32, 1, 4)
DEFINE_GEMM(gemm_f16, uint16_t, float, ld_f16, ld_f32, one_f16, one_f32, 1, 4)
DEFINE_GEMM(gemm_bf16, uint16_t, uint16_t, ld_bf16, ld_bf16, one_bf16, one_bf16, 2, 4)

/* Round to nearest even, NaN quieted: bit-exact with wk_fp32_to_bf16. */
INLINE uint16x4_t bf16_round4(uint32x4_t u) {
    const uint32x4_t is_nan = vcgtq_u32(vandq_u32(u, vdupq_n_u32(0x7fffffffu)), vdupq_n_u32(0x7f800000u));
    const uint32x4_t hi = vshrq_n_u32(u, 16);
    const uint32x4_t lsb = vandq_u32(hi, vdupq_n_u32(1));
    const uint32x4_t r = vshrq_n_u32(vaddq_u32(vaddq_u32(u, vdupq_n_u32(0x7fffu)), lsb), 16);
    return vmovn_u32(vbslq_u32(is_nan, vorrq_u32(hi, vdupq_n_u32(0x40)), r));
}
static void f32_to_bf16(int64_t n, const float *x, uint16_t *y) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const uint32x4_t u0 = vreinterpretq_u32_f32(vld1q_f32(x + i));
        const uint32x4_t u1 = vreinterpretq_u32_f32(vld1q_f32(x + i + 4));
        vst1q_u16(y + i, vcombine_u16(bf16_round4(u0), bf16_round4(u1)));
    }
    for (; i < n; i++) y[i] = wk_fp32_to_bf16(x[i]);
}

/* ---- attention: value tile and softmax exponentials (isa.h) ---- */

#define DEFINE_WSUM(NAME, TX, LDX, ONEX) \
    WK_DEFINE_WSUM(NAME, TX, LDX, ONEX, float32x4_t, 4, vld1q_f32, vst1q_f32, vdupq_n_f32, fma4)
DEFINE_WSUM(wsum_f32, float, ld_f32, one_f32)
DEFINE_WSUM(wsum_f16, uint16_t, ld_f16, one_f16)

/* exp(x) for x <= 88 (x below ln 2^-126 = -87.3365, -inf included, gives 0): x = n ln2 + r with |r| <= ln2/2,
 * e^r from Cephes' expf polynomial (about 2 ulp), times 2^n built in the exponent field;
 * the same steps as x86/avx2.c's exp8 */
INLINE float32x4_t exp4(float32x4_t x) {
    const float32x4_t lo = vdupq_n_f32(-87.33655f);
    const uint32x4_t ok = vcgeq_f32(x, lo);
    x = vminq_f32(vmaxq_f32(x, lo), vdupq_n_f32(88.0f));
    const int32x4_t ni = vcvtnq_s32_f32(vmulq_n_f32(x, 1.44269504089f));
    const float32x4_t n = vcvtq_f32_s32(ni);
    float32x4_t r = vfmsq_n_f32(x, n, 0.693359375f);
    r = vfmsq_n_f32(r, n, -2.12194440e-4f);
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
    p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
    const int32x4_t e = vshlq_n_s32(vaddq_s32(ni, vdupq_n_s32(127)), 23);
    const float32x4_t v = vmulq_f32(p, vreinterpretq_f32_s32(e));
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), ok));
}

WK_DEFINE_EXP_SUM(exp_sum, float32x4_t, 4, vld1q_f32, vst1q_f32, vdupq_n_f32, vsubq_f32, vaddq_f32, exp4, vaddvq_f32)

bool wk_neon_has_dotprod(void) {
#if defined(__linux__)
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20) /* Linux arch/arm64 uapi hwcap.h */
#endif
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#else
    return false; /* no portable query here: the plain tiles run everywhere */
#endif
}

#define WK_NEON_ENTRY(T, s) [WK_TYPE_##T] = wk_neon_qgemm_##s,
const wk_isa wk_cpu_isa_neon = {
    .name = "neon",
    .gemm_f32 = gemm_f32,
    .gemm_f16 = gemm_f16,
    .gemm_bf16 = gemm_bf16,
    .f32_to_bf16 = f32_to_bf16,
    .wsum_f32 = wsum_f32,
    .wsum_f16 = wsum_f16,
    .exp_sum = exp_sum,
    .qgemm = {WK_NEON_QTYPES(WK_NEON_ENTRY)},
};
