/* test_quant.c — the reference block formats (src/quant): block sizes against formats.md,
 * the worked examples of formats.md Appendix A, quantize -> dequantize error per type on
 * N(0,1) data, and vec_dot against an f64 dot of the dequantized rows, for weights made by
 * the quantizer and for random blocks. gguf-py bit-exactness lives in tests/quant/. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/quant/blocks.h"
#include "src/quant/quant.h"
#include "testutil.h"

static int fails;
#define CHECK(cond, ...)                      \
    do {                                      \
        if (!(cond)) {                        \
            printf("  FAIL: " __VA_ARGS__);   \
            printf("\n");                     \
            fails++;                          \
        }                                     \
    } while (0)

/* formats.md §2.1-2.3: elements and bytes per block, the f16 scale fields, and the
 * round-trip bound on rms(err)/rms(x) for N(0,1) data (measured values printed by the test
 * sit 15-35% below each bound; roughly the figures llama.cpp's quantize-stats reports). */
typedef struct {
    wk_type t;
    int64_t block;
    size_t bytes;
    int f16_off[2]; /* -1: none */
    double rt_bound;
} type_case;
static const type_case k_types[] = {
    {WK_TYPE_F32, 1, 4, {-1, -1}, 0},
    {WK_TYPE_F16, 1, 2, {-1, -1}, 1e-3},
    {WK_TYPE_BF16, 1, 2, {-1, -1}, 5e-3},
    {WK_TYPE_Q4_0, 32, 18, {0, -1}, 0.12},
    {WK_TYPE_Q4_1, 32, 20, {0, 2}, 0.11},
    {WK_TYPE_Q5_0, 32, 22, {0, -1}, 0.06},
    {WK_TYPE_Q5_1, 32, 24, {0, 2}, 0.06},
    {WK_TYPE_Q8_0, 32, 34, {0, -1}, 0.007},
    {WK_TYPE_Q8_1, 32, 36, {0, 2}, 0.007},
    {WK_TYPE_Q2_K, 256, 84, {80, 82}, 0.4},
    {WK_TYPE_Q3_K, 256, 110, {108, -1}, 0.2},
    {WK_TYPE_Q4_K, 256, 144, {0, 2}, 0.09},
    {WK_TYPE_Q5_K, 256, 176, {0, 2}, 0.045},
    {WK_TYPE_Q6_K, 256, 210, {208, -1}, 0.025},
    {WK_TYPE_Q8_K, 256, 292, {-1, -1}, 0.009},
    {WK_TYPE_IQ4_NL, 32, 18, {0, -1}, 0.11},
    {WK_TYPE_IQ4_XS, 256, 136, {0, -1}, 0.11},
};
#define N_TYPES (int)(sizeof k_types / sizeof k_types[0])

static double gauss(void) { /* Box-Muller */
    double u = tu_uniform(1e-12, 1), v = tu_uniform(0, 1);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}
static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "out of memory\n"); exit(2); }
    return p;
}

static void test_sizes(void) {
    printf("block sizes (formats.md §2) vs the type table:\n");
    for (int i = 0; i < N_TYPES; i++) {
        const type_case *c = &k_types[i];
        CHECK(wk_quant_supported(c->t), "%s not supported", wk_type_name(c->t));
        CHECK(wk_type_block_size(c->t) == c->block && wk_type_size(c->t) == c->bytes,
              "%s: table says %lld elements / %zu bytes, formats.md %lld / %zu", wk_type_name(c->t),
              (long long)wk_type_block_size(c->t), wk_type_size(c->t), (long long)c->block, c->bytes);
    }
    CHECK(!wk_quant_supported(WK_TYPE_I32) && !wk_quant_supported((wk_type)4), "unsupported types reported");
    CHECK(wk_vec_dot_type(WK_TYPE_Q4_0) == WK_TYPE_Q8_0 && wk_vec_dot_type(WK_TYPE_Q5_1) == WK_TYPE_Q8_1 &&
              wk_vec_dot_type(WK_TYPE_IQ4_NL) == WK_TYPE_Q8_0 && wk_vec_dot_type(WK_TYPE_IQ4_XS) == WK_TYPE_Q8_K &&
              wk_vec_dot_type(WK_TYPE_Q6_K) == WK_TYPE_Q8_K && wk_vec_dot_type(WK_TYPE_F16) == WK_TYPE_F16 &&
              wk_vec_dot_type(WK_TYPE_Q8_K) == WK_TYPE_COUNT,
          "vec_dot pairing differs from formats.md §2.5");
    printf("  %d types checked\n", N_TYPES);
}

/* formats.md Appendix A, examples 2-5 */
static void test_known_answers(void) {
    printf("known answers (formats.md Appendix A):\n");
    float y[256];
    uint8_t q40[18] = {0x00, 0x3C, 0x9F};
    memset(q40 + 3, 0x88, 15);
    wk_dequantize_row(WK_TYPE_Q4_0, q40, y, 32);
    int ok = y[0] == 7 && y[16] == 1;
    for (int j = 0; j < 32; j++) ok &= (j == 0 || j == 16) || y[j] == 0;
    CHECK(ok, "Q4_0 example: y[0]=%g y[16]=%g", y[0], y[16]);

    uint8_t q80[34] = {0x00, 0x38, 0xFE};
    wk_dequantize_row(WK_TYPE_Q8_0, q80, y, 32);
    ok = y[0] == -1.0f;
    for (int j = 1; j < 32; j++) ok &= y[j] == 0;
    CHECK(ok, "Q8_0 example: y[0]=%g", y[0]);

    /* Q4_K: with d = 1, dmin = 0 and every nibble 1, sub-block j decodes to sc[j];
     * with d = 0, dmin = 1 it decodes to -m[j]. */
    static const uint8_t k4sc[12] = {0x41, 0x02, 0x03, 0x04, 0x85, 0x06, 0x07, 0x08, 0x21, 0x43, 0x65, 0x87};
    static const int want_sc[8] = {1, 2, 3, 4, 17, 3, 5, 7}, want_m[8] = {5, 6, 7, 8, 34, 4, 6, 8};
    wk_block_q4_K b4 = {.d = 0x3C00, .dmin = 0};
    memcpy(b4.scales, k4sc, 12);
    memset(b4.qs, 0x11, sizeof b4.qs);
    wk_dequantize_row(WK_TYPE_Q4_K, &b4, y, 256);
    ok = 1;
    for (int e = 0; e < 256; e++) ok &= y[e] == want_sc[e / 32];
    b4.d = 0, b4.dmin = 0x3C00;
    float y2[256];
    wk_dequantize_row(WK_TYPE_Q4_K, &b4, y2, 256);
    for (int e = 0; e < 256; e++) ok &= y2[e] == -want_m[e / 32];
    CHECK(ok, "Q4_K scales example: sub-block 4 gives (%g, %g), want (17, 34)", y[128], -y2[128]);

    /* Q3_K: d = 1, every high bit set and every 2-bit plane value 1 -> element = s6 - 32 */
    static const uint8_t k3sc[12] = {0x21, 0, 0, 0, 0, 0, 0, 0x10, 0xE4, 0, 0, 0};
    static const int want_s6[16] = {1, 0, 0, 0, 16, 0, 0, 0, 34, 0, 0, 0, 48, 0, 0, 1};
    wk_block_q3_K b3 = {.d = 0x3C00};
    memcpy(b3.scales, k3sc, 12);
    memset(b3.hmask, 0xFF, 32);
    memset(b3.qs, 0x55, 64);
    wk_dequantize_row(WK_TYPE_Q3_K, &b3, y, 256);
    ok = 1;
    for (int e = 0; e < 256; e++) ok &= y[e] == want_s6[e / 16] - 32;
    CHECK(ok, "Q3_K scales example: sub-block 12 gives %g, want %d", y[192], 48 - 32);

    /* Q8_K: d = 1/iscale is negative when the extreme value is positive; bsums are sums of 16 */
    float x[256];
    for (int e = 0; e < 256; e++) x[e] = (float)(e % 7) - 2.5f;
    x[3] = 10.0f;
    wk_block_q8_K b8;
    wk_quantize_row(WK_TYPE_Q8_K, x, &b8, 256);
    ok = b8.d < 0 && b8.qs[3] == -127;
    for (int j = 0; j < 16; j++) {
        int s = 0;
        for (int l = 0; l < 16; l++) s += b8.qs[16 * j + l];
        ok &= s == b8.bsums[j];
    }
    CHECK(ok, "Q8_K: d=%g qs[3]=%d, or a bsum differs", b8.d, b8.qs[3]);
    printf("  Q4_0, Q8_0, Q4_K scales, Q3_K scales, Q8_K sign/bsums: %s\n", fails ? "see failures" : "ok");
}

/* quantize -> dequantize on N(0,1) and on an all-zero row */
static void test_roundtrip(void) {
    printf("round trip quantize -> dequantize, rms(err)/rms(x) on N(0,1), n = 65536:\n");
    const int64_t n = 65536;
    float *x = xmalloc(n * sizeof *x), *y = xmalloc(n * sizeof *y);
    void *q = xmalloc((size_t)n * 4);
    for (int i = 0; i < N_TYPES; i++) {
        const type_case *c = &k_types[i];
        tu_seed(100 + i);
        for (int64_t e = 0; e < n; e++) x[e] = (float)gauss();
        wk_quantize_row(c->t, x, q, n);
        wk_dequantize_row(c->t, q, y, n);
        double se = 0, sx = 0, worst = 0;
        for (int64_t e = 0; e < n; e++) {
            double d = (double)y[e] - x[e];
            se += d * d, sx += (double)x[e] * x[e];
            if (fabs(d) > worst || isnan(d)) worst = fabs(d);
        }
        const double rel = sqrt(se / sx);
        printf("  %-7s rms rel %.5f  max|err| %.4f  (bound %.3g)%s\n", wk_type_name(c->t), rel, worst,
               c->rt_bound, rel <= c->rt_bound ? "" : "  FAIL");
        if (!(rel <= c->rt_bound)) fails++;

        memset(x, 0, n * sizeof *x);
        wk_quantize_row(c->t, x, q, n);
        wk_dequantize_row(c->t, q, y, n);
        int zero_ok = 1;
        for (int64_t e = 0; e < n; e++) zero_ok &= y[e] == 0;
        CHECK(zero_ok, "%s: an all-zero row does not decode to zeros", wk_type_name(c->t));
    }
    free(x), free(y), free(q);
}

/* Random bytes with sane f16 scales in [2^-10, 2^2] (either sign); f16/bf16 rows get finite
 * values. Exercises every bit pattern of the quants and sub-scales. */
static void random_blocks(const type_case *c, uint8_t *q, int64_t n) {
    const int64_t nblk = n / c->block;
    for (size_t i = 0; i < (size_t)nblk * c->bytes; i++) q[i] = (uint8_t)tu_next();
    for (int64_t b = 0; b < nblk; b++) {
        uint8_t *blk = q + b * c->bytes;
        if (c->t == WK_TYPE_F32 || c->t == WK_TYPE_F16 || c->t == WK_TYPE_BF16) {
            float v = (float)gauss();
            if (c->t == WK_TYPE_F32) memcpy(blk, &v, 4);
            else { uint16_t h = c->t == WK_TYPE_F16 ? wk_fp32_to_fp16(v) : wk_fp32_to_bf16(v); memcpy(blk, &h, 2); }
            continue;
        }
        for (int k = 0; k < 2; k++) {
            if (c->f16_off[k] < 0) continue;
            float s = (float)(exp2(tu_uniform(-10, 2)) * (tu_next() & 1 ? -1 : 1));
            uint16_t h = wk_fp32_to_fp16(s);
            memcpy(blk + c->f16_off[k], &h, 2);
        }
    }
}

/* vec_dot(x, y) against the f64 dot of dequantize(x) and dequantize(y).
 * Tolerance, to first order in u = 2^-24: a block result is at most 4 f32 roundings of
 * terms each bounded by sum_e (|x_e| + M_b) |y_e| (M_b = max |x| in the block: it bounds
 * the min term and d*q), and summing the block results in f32 adds u |P_k| per partial sum
 * P_k: tol = u (4 sum_b mag_b + sum_k |P_k|). Q4_1 / Q5_1 use Q8_1's stored
 * s = f16(d * sum q) with the f32 d, which is not d16 * sum q: that known difference
 * m (s - d16 sum q) is added to the reference exactly. */
static void test_vec_dot(void) {
    printf("vec_dot vs f64 dot of the dequantized rows (n = 4096):\n");
    const int64_t n = 4096;
    float *xf = xmalloc(n * sizeof(float)), *af = xmalloc(n * sizeof(float));
    float *wx = xmalloc(n * sizeof(float)), *wa = xmalloc(n * sizeof(float));
    uint8_t *qx = xmalloc((size_t)n * 4), *qa = xmalloc((size_t)n * 4);
    for (int i = 0; i < N_TYPES; i++) {
        const type_case *c = &k_types[i];
        const wk_type dt = wk_vec_dot_type(c->t);
        if (dt == WK_TYPE_COUNT) continue;
        for (int mode = 0; mode < 2; mode++) { /* 0: quantized N(0,1) weights, 1: random blocks */
            double worst_ratio = 0, worst_err = 0, worst_ref = 0;
            for (int rep = 0; rep < 8; rep++) {
                tu_seed(1000 * i + 10 * mode + rep);
                for (int64_t e = 0; e < n; e++) xf[e] = (float)gauss(), af[e] = (float)gauss();
                if (mode == 0) wk_quantize_row(c->t, xf, qx, n);
                else random_blocks(c, qx, n);
                wk_quantize_row(dt, af, qa, n);
                wk_dequantize_row(c->t, qx, wx, n);
                wk_dequantize_row(dt, qa, wa, n);
                double ref = 0, mag = 0, partials = 0;
                for (int64_t b = 0; b < n / c->block; b++) {
                    double M = 0;
                    for (int64_t e = b * c->block; e < (b + 1) * c->block; e++) M = fmax(M, fabs(wx[e]));
                    for (int64_t e = b * c->block; e < (b + 1) * c->block; e++) {
                        ref += (double)wx[e] * wa[e];
                        mag += (fabs(wx[e]) + M) * fabs(wa[e]);
                    }
                    partials += fabs(ref);
                }
                if (dt == WK_TYPE_Q8_1 && (c->t == WK_TYPE_Q4_1 || c->t == WK_TYPE_Q5_1)) {
                    for (int64_t b = 0; b < n / 32; b++) {
                        const wk_block_q8_1 *a = (const wk_block_q8_1 *)(qa + b * sizeof(wk_block_q8_1));
                        uint16_t mh;
                        memcpy(&mh, qx + b * c->bytes + 2, 2); /* Q4_1 and Q5_1 keep m at byte 2 */
                        int sq = 0;
                        for (int j = 0; j < 32; j++) sq += a->qs[j];
                        ref += (double)wk_fp16_to_fp32(mh) *
                               ((double)wk_fp16_to_fp32(a->s) - (double)wk_fp16_to_fp32(a->d) * sq);
                    }
                }
                float got = NAN;
                wk_vec_dot(c->t, n, &got, qx, qa);
                const double tol = 0x1p-24 * (4 * mag + partials);
                const double err = fabs((double)got - ref);
                const double ratio = isnan(err) ? INFINITY : tol > 0 ? err / tol : err > 0 ? INFINITY : 0;
                if (ratio >= worst_ratio) worst_ratio = ratio, worst_err = err, worst_ref = ref;
            }
            printf("  %-7s x %-5s %-13s max|err| %.3g (ref %.4g), worst err/tol %.4f%s\n", wk_type_name(c->t),
                   wk_type_name(dt), mode ? "random blocks" : "quantized", worst_err, worst_ref, worst_ratio,
                   worst_ratio <= 1 ? "" : "  FAIL");
            if (!(worst_ratio <= 1)) fails++;
        }
    }
    free(xf), free(af), free(wx), free(wa), free(qx), free(qa);
}

int main(void) {
    test_sizes();
    test_known_answers();
    test_roundtrip();
    test_vec_dot();
    printf("%s (%d failures)\n", fails ? "FAIL" : "OK", fails);
    return fails ? 1 : 0;
}
