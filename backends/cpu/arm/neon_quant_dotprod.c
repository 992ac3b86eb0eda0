/* neon_quant_dotprod.c — neon_quant.c's tiles on the Armv8.2 int8 dot product (SDOT). Only
 * this file is compiled with -march=armv8.2-a+dotprod; isa.c installs its table
 * (wk_neon_qgemm_dotprod) only when the kernel reports HWCAP_ASIMDDP, so the rest of the
 * binary still runs on plain armv8-a (e.g. Cortex-A53). */
#define WK_NEON_DOTPROD 1
#include "neon_quant.c"
