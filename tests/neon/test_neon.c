/* test_neon.c — the AArch64 kernel set (backends/cpu/arm) against the scalar reference:
 * the float gemms and f32->bf16 (tests/gemm_check.h), and every quantized tile, plain NEON
 * and (when the CPU has it) SDOT, over shapes from 1x1 to 60x48, k up to 4096, on quantized
 * real-looking rows, random bytes and extreme bytes. Built standalone by run_neon.sh with
 * the aarch64 cross compiler and run under qemu: once on a CPU with the dot product and
 * once as a Cortex-A53 (without it), so both run-time paths of isa.c are exercised.
 *   test_neon [--expect dotprod|plain]   fails if the CPU's path is not the expected one
 *
 * Quantized tolerance: |neon - ref| <= 1e-5 * sum over blocks of |block term| (f64). The
 * integer sums are exact on both sides; only the f32 arithmetic may differ: a few roundings
 * per block term (~2^-22 relative) and the order of the block sum (at most (nb-1) 2^-24
 * sum|term| per ordering, in practice ~sqrt(nb) 2^-24), well inside 1e-5 (= 168 * 2^-24)
 * for nb <= 128 here. (These kernels form each term with the reference's f32 operations
 * and sum in its order, so they in fact match bit for bit; the summary prints how often.)
 * A wrong integer sum can hide under 1e-5 when the sum is large (isum reaches 10^8), so
 * rows of one block, one term and no summation, must match the reference bit for bit. */
#include "backends/cpu/arm/neon.h"
#include "gemm_check.h"
#include "src/quant/blocks.h"
#include "src/quant/quant.h"

typedef struct {
    wk_type t;
    int f16_off[2]; /* byte offsets of the block's f16 scale fields; -1: none */
} qtype;
static const qtype k_qtypes[] = {
    {WK_TYPE_Q4_0, {0, -1}},  {WK_TYPE_Q4_1, {0, 2}},   {WK_TYPE_Q5_0, {0, -1}}, {WK_TYPE_Q5_1, {0, 2}},
    {WK_TYPE_Q8_0, {0, -1}},  {WK_TYPE_Q8_1, {0, 2}},   {WK_TYPE_IQ4_NL, {0, -1}}, {WK_TYPE_Q2_K, {80, 82}},
    {WK_TYPE_Q3_K, {108, -1}}, {WK_TYPE_Q4_K, {0, 2}},  {WK_TYPE_Q5_K, {0, 2}},  {WK_TYPE_Q6_K, {208, -1}},
    {WK_TYPE_IQ4_XS, {0, -1}},
};
#define N_QTYPES (int)(sizeof k_qtypes / sizeof k_qtypes[0])

/* (m, n, k): k is rounded up to whole blocks of the type */
static const int k_shapes[][3] = {
    {1, 1, 32},   {1, 1, 4096}, {4, 1, 256}, {4, 1, 4096}, {7, 5, 32},  {7, 5, 4096},
    {60, 48, 512}, {3, 2, 1024}, {5, 6, 96},  {2, 9, 256},  {13, 1, 768}, {1, 8, 64},
};
#define N_SHAPES (int)(sizeof k_shapes / sizeof k_shapes[0])

enum { DATA_QUANTIZED, DATA_RANDOM, DATA_EXTREME, N_DATA };
static const char *const k_data_name[N_DATA] = {"quantized", "random bytes", "extreme bytes"};

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "out of memory\n"); exit(2); }
    return p;
}
static double gauss(void) { /* Box-Muller */
    double u = tu_uniform(1e-12, 1), v = tu_uniform(0, 1);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}
static void put16(char *p, uint16_t v) { memcpy(p, &v, 2); }
/* the f16 field offsets of t (a weight type, or the activation types Q8_0 / Q8_1) */
static const int *f16_offsets(wk_type t) {
    static const int none[2] = {-1, -1};
    for (int i = 0; i < N_QTYPES; i++)
        if (k_qtypes[i].t == t) return k_qtypes[i].f16_off;
    return none;
}

/* Fills rows rows of type t (row bytes rb, stride ld). Quantized: N(0, s^2) rows with a
 * per-row s and rare outliers, through the reference quantizer. Random: every byte random,
 * then finite f16 scales (some subnormal) and a finite Q8_K d. Extreme: bytes from the
 * ends of each field's range (all bits set, none, one nibble, 0x80/0x7f), the largest f16
 * scale, Q8_K d = 1e4, bsums at +-32767/-32768. */
static void fill_rows(wk_type t, int mode, char *dst, int rows, int64_t k, size_t ld) {
    const size_t bsz = wk_type_size(t), rb = (size_t)(k / wk_type_block_size(t)) * bsz;
    float *x = xmalloc(sizeof(float) * (size_t)k);
    static const uint8_t ext_w[] = {0x00, 0xff, 0x0f, 0xf0, 0x80, 0x7f};
    static const int8_t ext_a[] = {-128, 127, -127};
    const bool all_ones = tu_int(0, 3) == 0; /* sometimes every byte 0xff / -128 */
    for (int r = 0; r < rows; r++) {
        char *row = dst + (size_t)r * ld;
        if (mode == DATA_QUANTIZED) {
            const double s = exp(tu_uniform(-3, 3));
            for (int64_t e = 0; e < k; e++) x[e] = (float)(s * gauss() * (tu_int(0, 99) == 0 ? 20 : 1));
            wk_quantize_row(t, x, row, k);
            continue;
        }
        for (size_t i = 0; i < rb; i++) {
            if (mode == DATA_RANDOM) row[i] = (char)tu_next();
            else if (t == WK_TYPE_Q8_K) row[i] = all_ones ? (char)-128 : (char)ext_a[tu_int(0, 2)];
            else row[i] = all_ones ? (char)0xff : (char)ext_w[tu_int(0, 5)];
        }
        for (size_t o = 0; o < rb; o += bsz) {
            char *blk = row + o;
            if (t == WK_TYPE_Q8_K) {
                float d = mode == DATA_RANDOM ? (float)tu_uniform(-0.05, 0.05) : 1e4f;
                memcpy(blk, &d, 4);
                if (mode == DATA_EXTREME)
                    for (int j = 0; j < 16; j++) {
                        int16_t v = all_ones ? -32768 : tu_int(0, 1) ? 32767 : -32768;
                        memcpy(blk + 4 + 256 + 2 * j, &v, 2);
                    }
                continue;
            }
            const int *f16_off = f16_offsets(t);
            for (int f = 0; f < 2; f++) {
                if (f16_off[f] < 0) continue;
                uint16_t h = mode == DATA_EXTREME ? 0x7bff /* 65504 */
                             : tu_int(0, 9) == 0 ? (uint16_t)(tu_int(0, 0x3ff) | (tu_int(0, 1) << 15)) /* subnormal */
                                                 : wk_fp32_to_fp16((float)tu_uniform(-0.1, 0.1));
                put16(blk + f16_off[f], h);
            }
        }
    }
    free(x);
}

/* Per-table totals for the summary line */
typedef struct {
    int cases, bad, exact_bad, bitexact;
    long outputs;
    double worst_ratio;
} qstats;

/* One type, shape and data kind: every table in tabs[] against the scalar tile. */
static void check_qgemm(const qtype *q, int m, int n, int64_t k, int mode, const wk_qgemm_fn *tabs[], int ntab,
                        const char *const names[], qstats *st) {
    const wk_type t = q->t, vt = wk_vec_dot_type(t);
    const int64_t bs = wk_type_block_size(t), nb = k / bs;
    const size_t rba = (size_t)nb * wk_type_size(t), rbb = (size_t)nb * wk_type_size(vt);
    const size_t lda = rba + 6, ldb = rbb + 8, ldc = (size_t)m + 3; /* padded strides */
    char *a = xmalloc(lda * m), *b = xmalloc(ldb * n);
    float *ref = xmalloc(sizeof(float) * ldc * n), *got = xmalloc(sizeof(float) * ldc * n);
    double *bound = xmalloc(sizeof(double) * ldc * n);
    memset(a, 0x5a, lda * m), memset(b, 0x5a, ldb * n);
    fill_rows(t, mode, a, m, k, lda);
    fill_rows(vt, mode, b, n, k, ldb);
    wk_cpu_qgemm_scalar(t)(k, m, n, a, lda, b, ldb, ref, ldc);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int64_t ib = 0; ib < nb; ib++) {
                float term;
                wk_vec_dot(t, bs, &term, a + (size_t)i * lda + ib * wk_type_size(t),
                           b + (size_t)j * ldb + ib * wk_type_size(vt));
                s += fabs((double)term);
            }
            bound[(size_t)j * ldc + i] = 1e-5 * s;
        }
    for (int tb = 0; tb < ntab; tb++) {
        for (size_t i = 0; i < ldc * n; i++) got[i] = NAN;
        tabs[tb][t](k, m, n, a, lda, b, ldb, got, ldc);
        int bad = 0, exact_bad = 0;
        double worst = 0;
        for (int j = 0; j < n; j++)
            for (int i = 0; i < (int)ldc; i++) {
                const size_t o = (size_t)j * ldc + i;
                if (i >= m) { bad += !isnan(got[o]); continue; } /* must not write past m */
                const double err = fabs((double)got[o] - ref[o]);
                if (!(err <= bound[o])) bad++;
                if (nb == 1 && memcmp(&got[o], &ref[o], 4)) exact_bad++;
                st[tb].bitexact += !memcmp(&got[o], &ref[o], 4);
                const double r = bound[o] > 0 ? err / bound[o] : err > 0 ? INFINITY : 0;
                if (r > worst || isnan(err)) worst = isnan(err) ? INFINITY : r;
            }
        st[tb].cases++;
        st[tb].outputs += (long)m * n;
        st[tb].bad += bad != 0;
        st[tb].exact_bad += exact_bad != 0;
        if (worst > st[tb].worst_ratio) st[tb].worst_ratio = worst;
        if (bad || exact_bad)
            printf("  FAIL %s %s m=%d n=%d k=%lld (%s): %d outside tolerance or written past m, %d one-block "
                   "results not bit-exact, "
                   "worst err/tol %.3g\n",
                   names[tb], wk_type_name(t), m, n, (long long)k, k_data_name[mode], bad, exact_bad, worst);
        fails += bad != 0 || exact_bad != 0;
    }
    free(a), free(b), free(ref), free(got), free(bound);
}

static void test_qgemm(const wk_qgemm_fn *tabs[], int ntab, const char *const names[]) {
    for (int qi = 0; qi < N_QTYPES; qi++) {
        const qtype *q = &k_qtypes[qi];
        const int64_t bs = wk_type_block_size(q->t);
        qstats st[2] = {{0}, {0}};
        for (int s = 0; s < N_SHAPES; s++) {
            const int64_t k = (k_shapes[s][2] + bs - 1) / bs * bs;
            for (int mode = 0; mode < N_DATA; mode++)
                check_qgemm(q, k_shapes[s][0], k_shapes[s][1], k, mode, tabs, ntab, names, st);
        }
        for (int tb = 0; tb < ntab; tb++)
            printf("  %-7s qgemm %-6s vs scalar: %3d cases, %d failing, %d with a one-block row not bit-exact; "
                   "worst err/tol %.3g; bit-exact %ld of %ld\n",
                   names[tb], wk_type_name(q->t), st[tb].cases, st[tb].bad, st[tb].exact_bad, st[tb].worst_ratio,
                   (long)st[tb].bitexact, st[tb].outputs);
    }
}

int main(int argc, char **argv) {
    const char *expect = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--expect") && i + 1 < argc &&
            (!strcmp(argv[i + 1], "dotprod") || !strcmp(argv[i + 1], "plain"))) {
            expect = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--expect dotprod|plain]\n", argv[0]);
            return 2;
        }
    }
    tu_seed(11);
    const bool dp = wk_neon_has_dotprod();
    printf("== NEON kernels: this CPU %s the int8 dot product (HWCAP_ASIMDDP): path %s\n",
           dp ? "has" : "lacks", dp ? "dotprod (SDOT)" : "plain NEON (widening multiplies)");
    if (expect && strcmp(expect, dp ? "dotprod" : "plain")) {
        printf("  FAIL: expected the %s path on this CPU\n", expect);
        fails++;
    }

    /* isa.c must offer the set and fill it with the right quantized tiles */
    const char *avail = wk_cpu_isas_available();
    printf("  available sets: %s\n", avail);
    if (!strstr(avail, "neon") || !wk_cpu_isa_force("neon")) {
        printf("  FAIL: the neon set is not available\n");
        return 1;
    }
    const wk_isa *isa = wk_cpu_isa_current();
    int wrong = 0;
    for (int qi = 0; qi < N_QTYPES; qi++) {
        const wk_type t = k_qtypes[qi].t;
        wrong += isa->qgemm[t] != (dp ? wk_neon_qgemm_dotprod[t] : wk_cpu_isa_neon.qgemm[t]);
        wrong += !wk_cpu_isa_neon.qgemm[t] || !wk_neon_qgemm_dotprod[t];
    }
    printf("  set \"%s\": %d of %d quantized tiles not the expected %s ones\n", isa->name, wrong, N_QTYPES,
           dp ? "dotprod" : "plain");
    fails += wrong != 0 || strcmp(isa->name, "neon") != 0;

    test_kernels(isa);

    const wk_qgemm_fn *tabs[2] = {wk_cpu_isa_neon.qgemm, wk_neon_qgemm_dotprod};
    const char *const names[2] = {"plain", "dotprod"};
    test_qgemm(tabs, dp ? 2 : 1, names);
    printf("%s (%s path)\n", fails ? "FAILED" : "all NEON checks passed", dp ? "dotprod" : "plain");
    return fails ? 1 : 0;
}
