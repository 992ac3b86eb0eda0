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
static wk_isa g_avx512_bf16;
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
#else
    return !strcmp(name, "scalar");
#endif
}

static const wk_isa *by_name(const char *name) {
    if (!strcmp(name, "scalar")) return &wk_cpu_isa_scalar;
#if defined(__x86_64__)
    if (!strcmp(name, "avx2")) return &wk_cpu_isa_avx2;
    if (!strcmp(name, "avx512")) {
        __builtin_cpu_init();
        if (!__builtin_cpu_supports("avx512bf16")) return &wk_cpu_isa_avx512;
        g_avx512_bf16 = wk_cpu_isa_avx512;
        g_avx512_bf16.name = "avx512"; /* same set, bf16 dot product in hardware */
        g_avx512_bf16.gemm_bf16 = wk_gemm_bf16_avx512bf16;
        return &g_avx512_bf16;
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
    const wk_isa *pick = &wk_cpu_isa_scalar;
    const char *env = getenv("WICK_CPU");
    if (env && *env) {
        if (wk_cpu_isa_supported(env)) pick = by_name(env);
        else fprintf(stderr, "wick: WICK_CPU=%s is not available on this CPU; using the best it has\n", env);
    }
    if (!env || !*env || !wk_cpu_isa_supported(env)) {
        if (wk_cpu_isa_supported("avx2")) pick = &wk_cpu_isa_avx2;
        if (wk_cpu_isa_supported("avx512")) pick = &wk_cpu_isa_avx512;
    }
    g_isa = pick;
    return g_isa;
}

const char *wk_cpu_isa(void) { return wk_cpu_isa_current()->name; }

const char *wk_cpu_isas_available(void) {
    static char buf[64];
    buf[0] = 0;
    const char *names[] = {"scalar", "avx2", "avx512"};
    for (int i = 0; i < 3; i++) {
        if (!wk_cpu_isa_supported(names[i])) continue;
        if (buf[0]) strcat(buf, ",");
        strcat(buf, names[i]);
    }
    return buf;
}
