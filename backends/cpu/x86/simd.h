/* simd.h — x86 intrinsics for the per-ISA kernel files. With WK_SIMD_EMULATE the same
 * sources compile against SIMDe's portable emulation, so the AVX-512 kernels can be
 * tested against the scalar set on CPUs without AVX-512 (tests/simd). */
#ifndef WK_X86_SIMD_H
#define WK_X86_SIMD_H
#ifdef WK_SIMD_EMULATE
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>
#ifndef __mmask16
typedef simde__mmask16 wk_emu_mmask16;
#define __mmask16 wk_emu_mmask16
#endif
#else
#include <immintrin.h>
#endif
#endif
