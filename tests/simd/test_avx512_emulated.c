/* test_avx512_emulated.c — the AVX-512 kernel set (with its quantized tiles, the
 * AVX512_BF16 gemm and the AVX512_VNNI quantized tiles), compiled against SIMDe's portable
 * emulation of the intrinsics, compared with the scalar set.
 * This checks the kernels' logic on CPUs without AVX-512; machines with AVX-512 also
 * run the native build through test_mul_mat. */
#include "gemm_check.h"
#include "qgemm_check.h"

void wk_gemm_bf16_avx512bf16(int64_t k, int m, int n, const uint16_t *a, size_t lda, const uint16_t *b, size_t ldb,
                             float *c, size_t ldc);
extern const wk_qgemm_fn wk_qgemm_avx512vnni[WK_TYPE_COUNT];
extern const wk_qgemm_fn wk_qpanel_avx512vnni[WK_TYPE_COUNT];

int main(void) {
    tu_seed(7);
    printf("== avx512 set under SIMDe emulation\n");
    test_kernels(&wk_cpu_isa_avx512);
    wk_isa bf = wk_cpu_isa_avx512;
    bf.name = "avx512bf16";
    bf.gemm_bf16 = wk_gemm_bf16_avx512bf16;
    printf("== avx512 set with the AVX512_BF16 gemm under SIMDe emulation\n");
    test_kernels(&bf);
    printf("== avx512 quantized tiles under SIMDe emulation\n");
    fails += qc_test_table("avx512", wk_cpu_isa_avx512.qgemm);
    printf("== avx512 VNNI quantized tiles under SIMDe emulation\n");
    fails += qc_test_table("avx512vnni", wk_qgemm_avx512vnni);
    printf("== avx512 VNNI prompt panels under SIMDe emulation\n");
    fails += qc_test_panels("avx512vnni", wk_qpanel_avx512vnni);
    printf("%s\n", fails ? "FAILED" : "all emulated avx512 checks passed");
    return fails ? 1 : 0;
}
