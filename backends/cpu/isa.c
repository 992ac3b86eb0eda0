/* isa.c — picks the kernel set once from cpuid (or WICK_CPU) for the whole process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"

static const wk_isa *g_isa;

#if defined(__x86_64__)
/* avx512bf16.c: the bf16 gemm on VDPBF16PS, swapped into the avx512 set when present */
void wk_gemm_bf16_avx512bf16(int64_t k, int m, int n, const uint16_t *a, size_t lda, const uint16_t *b, size_t ldb,
                             float *c, size_t ldc);
/* avx512vnni_quant.c: quantized tiles on VPDPBUSD / VPDPWSSD, swapped in when present */
extern const wk_qgemm_fn wk_qgemm_avx512vnni[WK_TYPE_COUNT];
extern const wk_qgemm_fn wk_qpanel_avx512vnni[WK_TYPE_COUNT]; /* prompt panels (isa.h) */
#endif
#if defined(__aarch64__)
#include "arm/neon.h"
#endif

static bool cpu_has(const char *name) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (!strcmp(name, "scalar")) return true;
    if (!strcmp(name, "avx2"))
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    if (!strcmp(name, "avx512"))
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    return false;
#elif defined(__aarch64__)
    return !strcmp(name, "scalar") || !strcmp(name, "neon"); /* Advanced SIMD is mandatory in AArch64 */
#else
    return !strcmp(name, "scalar");
#endif
}

/* A copy of set with its missing quantized kernels taken from the scalar reference. */
static const wk_isa *resolved(const wk_isa *set, wk_isa *out) {
    if (out->name) return out; /* done once (the first call happens before threads start) */
    if (out != set) *out = *set;
    for (int t = 0; t < WK_TYPE_COUNT; t++)
        if (!out->qgemm[t]) out->qgemm[t] = wk_cpu_qgemm_scalar((wk_type)t);
    return out;
}

static const wk_isa *by_name(const char *name) {
    static wk_isa scalar;
    if (!strcmp(name, "scalar")) return resolved(&wk_cpu_isa_scalar, &scalar);
#if defined(__x86_64__)
    static wk_isa avx2, avx512;
    if (!strcmp(name, "avx2")) return resolved(&wk_cpu_isa_avx2, &avx2);
    if (!strcmp(name, "avx512")) {
        if (avx512.name) return &avx512;
        /* same set, with the bf16 and integer dot products in hardware where present */
        __builtin_cpu_init();
        wk_isa set = wk_cpu_isa_avx512;
        if (__builtin_cpu_supports("avx512bf16")) set.gemm_bf16 = wk_gemm_bf16_avx512bf16;
        if (__builtin_cpu_supports("avx512vnni")) {
            const bool panels = !getenv("WICK_NO_QPANEL");
            for (int t = 0; t < WK_TYPE_COUNT; t++) {
                if (wk_qgemm_avx512vnni[t]) set.qgemm[t] = wk_qgemm_avx512vnni[t];
                if (panels) set.qpanel[t] = wk_qpanel_avx512vnni[t];
            }
        }
        return resolved(&set, &avx512);
    }
#endif
#if defined(__aarch64__)
    if (!strcmp(name, "neon")) {
        static wk_isa neon;
        if (!neon.name) { /* the SDOT tiles where the CPU has the int8 dot product */
            wk_isa set = wk_cpu_isa_neon;
            if (wk_neon_has_dotprod())
                for (int t = 0; t < WK_TYPE_COUNT; t++)
                    if (wk_neon_qgemm_dotprod[t]) set.qgemm[t] = wk_neon_qgemm_dotprod[t];
            return resolved(&set, &neon);
        }
        return &neon;
    }
#endif
    return NULL;
}

bool wk_cpu_isa_supported(const char *name) { return name && by_name(name) && cpu_has(name); }

bool wk_cpu_isa_force(const char *name) {
    if (!wk_cpu_isa_supported(name)) return false;
    g_isa = by_name(name);
    return true;
}

const wk_isa *wk_cpu_isa_current(void) {
    if (g_isa) return g_isa;
    const wk_isa *pick = by_name("scalar");
    const char *env = getenv("WICK_CPU");
    if (env && *env) {
        if (wk_cpu_isa_supported(env)) pick = by_name(env);
        else fprintf(stderr, "wick: WICK_CPU=%s is not available on this CPU; using the best it has\n", env);
    }
    if (!env || !*env || !wk_cpu_isa_supported(env)) {
        pick = by_name("scalar");
        if (wk_cpu_isa_supported("avx2")) pick = by_name("avx2");
        if (wk_cpu_isa_supported("avx512")) pick = by_name("avx512");
        if (wk_cpu_isa_supported("neon")) pick = by_name("neon");
    }
    g_isa = pick;
    return g_isa;
}

const char *wk_cpu_isa(void) { return wk_cpu_isa_current()->name; }

const char *wk_cpu_isas_available(void) {
    static char buf[64];
    buf[0] = 0;
    const char *names[] = {"scalar", "avx2", "avx512", "neon"};
    for (int i = 0; i < 4; i++) {
        if (!wk_cpu_isa_supported(names[i])) continue;
        if (buf[0]) strcat(buf, ",");
        strcat(buf, names[i]);
    }
    return buf;
}
