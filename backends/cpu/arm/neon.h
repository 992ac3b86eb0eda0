/* neon.h — the aarch64 kernel set's pieces, internal to backends/cpu. neon.c holds the
 * float gemms and the "neon" set; neon_quant.c the quantized tiles, compiled twice: as
 * plain armv8-a NEON (widening multiplies, runs on every AArch64 CPU) and, through
 * neon_quant_dotprod.c, with -march=armv8.2-a+dotprod (SDOT). isa.c puts the SDOT tiles
 * into the set only when the kernel reports HWCAP_ASIMDDP. */
#ifndef WK_CPU_ARM_NEON_H
#define WK_CPU_ARM_NEON_H

#include "../isa.h"

/* float gemms, f32->bf16 and the plain-NEON quantized tiles */
extern const wk_isa wk_cpu_isa_neon;

/* the same tiles on the int8 dot product; call only when wk_neon_has_dotprod() */
extern const wk_qgemm_fn wk_neon_qgemm_dotprod[WK_TYPE_COUNT];

/* Whether this CPU has the Armv8.2 int8 dot product (SDOT/UDOT). */
bool wk_neon_has_dotprod(void);

/* The weight types neon_quant.c has tiles for: X(TYPE, suffix). */
#define WK_NEON_QTYPES(X)                                                                            \
    X(Q4_0, q4_0) X(Q4_1, q4_1) X(Q5_0, q5_0) X(Q5_1, q5_1) X(Q8_0, q8_0) X(Q8_1, q8_1)              \
    X(IQ4_NL, iq4_nl) X(Q2_K, q2_K) X(Q3_K, q3_K) X(Q4_K, q4_K) X(Q5_K, q5_K) X(Q6_K, q6_K)          \
    X(IQ4_XS, iq4_xs)

#define WK_NEON_DECLARE(T, s)                                                                        \
    void wk_neon_qgemm_##s(int64_t k, int m, int n, const void *a, size_t lda, const void *b,        \
                           size_t ldb, float *c, size_t ldc);
WK_NEON_QTYPES(WK_NEON_DECLARE)
#undef WK_NEON_DECLARE

#endif
