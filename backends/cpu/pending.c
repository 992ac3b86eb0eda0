/* pending.c — TEMPORARY weak placeholders while kernels are written; deleted before commit. */
#include "cpu_internal.h"
__attribute__((weak)) void wk_cpu_ADD(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_SUB(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_MUL(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_DIV(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_SCALE(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_SQR(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_SQRT(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_EXP(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_LOG(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_TANH(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_SILU(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_GELU(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_GELU_ERF(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_SOFTCAP(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_CLAMP(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_SWIGLU(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_GEGLU(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_SUM(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_SUM_ROWS(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_MEAN(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_ARGMAX(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_CPY(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_CONT(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_GET_ROWS(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_SET_ROWS(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_CONCAT(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_OUT_PROD(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_RMS_NORM(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_NORM(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_SOFT_MAX(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_ROPE(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_FLASH_ATTN(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) void wk_cpu_CROSS_ENTROPY(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
__attribute__((weak)) const wk_isa wk_cpu_isa_avx2 = {"avx2-pending", 0,0,0,0};
__attribute__((weak)) const wk_isa wk_cpu_isa_avx512 = {"avx512-pending", 0,0,0,0};
