/* test_mul_mat_quant.c — MUL_MAT with quantized weights, through the graph API, against an
 * f64 reference built from the scalar reference formats: weights dequantized, activations
 * quantized to the paired type (the op does that once per matmul) and dequantized, the
 * products summed in f64. Every quantized weight type, each ISA this CPU runs, 1-3 threads,
 * decode (N = 1) and prompt shapes (tile edges), broadcasting over dims 2-3 and padded
 * activation rows. Also GET_ROWS of quantized rows against the reference dequantizer.
 * Tolerance per element: 1e-5 * sum|x y| (block scales and the sum over blocks are f32; the
 * integer sums inside a block are exact, so a wrong one overshoots this by far). */
#include "src/quant/quant.h"
#include "testutil.h"

static int fails;

static const wk_type k_types[] = {WK_TYPE_Q4_0, WK_TYPE_Q4_1, WK_TYPE_Q5_0, WK_TYPE_Q5_1, WK_TYPE_Q8_0,
                                  WK_TYPE_Q8_1, WK_TYPE_Q2_K, WK_TYPE_Q3_K, WK_TYPE_Q4_K, WK_TYPE_Q5_K,
                                  WK_TYPE_Q6_K, WK_TYPE_IQ4_NL, WK_TYPE_IQ4_XS};
#define N_TYPES (sizeof k_types / sizeof k_types[0])

/* A [K, M, A2] tensor of type t holding random values quantized row by row; *deq gets the
 * dequantized values (what the weights really are). */
static wk_tensor *rand_quant(wk_ctx *ctx, wk_type t, int64_t K, int64_t M, int64_t A2, float **deq) {
    wk_tensor *a = wk_new_tensor_3d(ctx, t, K, M, A2);
    float *row = malloc(sizeof(float) * K);
    *deq = malloc(sizeof(float) * K * M * A2);
    for (int64_t r = 0; r < M * A2; r++) {
        for (int64_t e = 0; e < K; e++) row[e] = (float)tu_uniform(-1, 1);
        char *dst = (char *)wk_tensor_data(a) + r * wk_tensor_nb(a, 1);
        wk_quantize_row(t, row, dst, K);
        wk_dequantize_row(t, dst, *deq + r * K, K);
    }
    free(row);
    return a;
}

static void test_op(wk_type t, int64_t K, int64_t M, int64_t N, int64_t A2, int64_t B2, int64_t B3, bool padded,
                    int nth) {
    wk_ctx *ctx;
    wk_ctx_create(NULL, &ctx);
    float *adeq;
    wk_tensor *a = rand_quant(ctx, t, K, M, A2, &adeq);
    int64_t bne[4] = {K, N, B2, B3};
    wk_tensor *b = tu_rand(ctx, WK_TYPE_F32, bne, padded ? TU_PADDED : TU_CONTIG, -1, 1);
    wk_tensor *c = wk_mul_mat(ctx, a, b);
    if (!c) {
        printf("  FAIL build %s: %s\n", wk_type_name(t), wk_last_error());
        fails++;
        wk_ctx_free(ctx);
        free(adeq);
        return;
    }
    wk_tensor_set_output(c);
    wk_graph *g = wk_graph_new(ctx);
    wk_graph_expand(g, c);
    wk_backend *be;
    wk_backend_cpu_create(nth, &be);
    /* the checked second run starts from NaN, so an unwritten element fails */
    if (wk_graph_compute(be, g) != WK_OK) { printf("  FAIL compute: %s\n", wk_last_error()); fails++; }
    TU_FOR_EACH(c, j0, j1, j2, j3) tu_set(c, j0, j1, j2, j3, NAN);
    if (wk_graph_compute(be, g) != WK_OK) { printf("  FAIL compute: %s\n", wk_last_error()); fails++; }

    /* activations as the kernel sees them: quantized to the paired type and back */
    const wk_type vt = wk_vec_dot_type(t);
    const size_t qrow = (size_t)(K / wk_type_block_size(vt)) * wk_type_size(vt);
    float *bq = malloc(sizeof(float) * K * N * B2 * B3), *tmp = malloc(sizeof(float) * K);
    char *qall = malloc(qrow * N * B2 * B3);
    for (int64_t i3 = 0, r = 0; i3 < B3; i3++)
        for (int64_t i2 = 0; i2 < B2; i2++)
            for (int64_t j = 0; j < N; j++, r++) {
                for (int64_t e = 0; e < K; e++) tmp[e] = (float)tu_get(b, e, j, i2, i3);
                wk_quantize_row(vt, tmp, qall + r * qrow, K);
                wk_dequantize_row(vt, qall + r * qrow, bq + r * K, K);
            }
    int bad = 0;
    double worst = 0;
    for (int64_t i3 = 0, r = 0; i3 < B3; i3++)
        for (int64_t i2 = 0; i2 < B2; i2++)
            for (int64_t j = 0; j < N; j++, r++)
                for (int64_t i = 0; i < M; i++) {
                    const float *x = adeq + ((i2 / (B2 / A2)) * M + i) * K, *y = bq + r * K;
                    double s = 0, sa = 0;
                    for (int64_t e = 0; e < K; e++) {
                        s += (double)x[e] * y[e];
                        sa += fabs((double)x[e] * y[e]);
                    }
                    if (vt == WK_TYPE_Q8_1 && t != WK_TYPE_Q8_1) {
                        /* Q4_1/Q5_1: the min term uses the activation block's stored f16
                         * s = d * sum(q), not the exact sum (formats.md §2.5) */
                        const char *xa = (const char *)wk_tensor_data(a) + (i2 / (B2 / A2)) * wk_tensor_nb(a, 2) +
                                         i * wk_tensor_nb(a, 1);
                        for (int64_t blk = 0; blk < K / 32; blk++) {
                            uint16_t m16, s16;
                            memcpy(&m16, xa + blk * wk_type_size(t) + 2, 2);
                            memcpy(&s16, qall + r * qrow + blk * 36 + 2, 2);
                            double exact = 0;
                            for (int e = 0; e < 32; e++) exact += y[blk * 32 + e];
                            s += (double)wk_fp16_to_fp32(m16) * ((double)wk_fp16_to_fp32(s16) - exact);
                        }
                    }
                    double got = tu_get(c, i, j, i2, i3), err = fabs(got - s), tol = 1e-5 * sa + 1e-6;
                    if (!(err <= tol)) bad++;
                    if (err / tol > worst) worst = err / tol;
                }
    printf("  %-7s K=%-4lld M=%-3lld N=%-3lld a2=%lld b=[%lld,%lld]%s t=%d: worst err/tol %.3f%s\n", wk_type_name(t),
           (long long)K, (long long)M, (long long)N, (long long)A2, (long long)B2, (long long)B3,
           padded ? " padded" : "", nth, worst, bad ? "  FAIL" : "");
    if (bad) printf("  FAIL: %d elements wrong or unwritten\n", bad);
    fails += bad != 0;
    free(bq);
    free(tmp);
    free(qall);
    free(adeq);
    wk_backend_free(be);
    wk_ctx_free(ctx);
}

static void test_get_rows(wk_type t) {
    wk_ctx *ctx;
    wk_ctx_create(NULL, &ctx);
    const int64_t K = 512, M = 7;
    float *deq;
    wk_tensor *a = rand_quant(ctx, t, K, M, 1, &deq);
    wk_tensor *idx = wk_new_tensor_1d(ctx, WK_TYPE_I32, 4);
    int32_t ids[4] = {6, 0, 3, 6};
    memcpy(wk_tensor_data(idx), ids, sizeof ids);
    wk_tensor *r = wk_get_rows(ctx, a, idx);
    if (!r) {
        printf("  FAIL get_rows %s: %s\n", wk_type_name(t), wk_last_error());
        fails++;
    } else {
        tu_compute(ctx, r, 2);
        int bad = 0;
        for (int j = 0; j < 4; j++)
            for (int64_t e = 0; e < K; e++)
                bad += tu_get(r, e, j, 0, 0) != deq[ids[j] * K + e]; /* bit-exact: the same dequantizer */
        if (bad) printf("  FAIL get_rows %s: %d values differ\n", wk_type_name(t), bad);
        fails += bad != 0;
    }
    free(deq);
    wk_ctx_free(ctx);
}

int main(void) {
    tu_seed(7);
    for (int s = 0; s < TU_N_ISAS; s++) {
        if (!tu_use_isa(tu_isas[s])) {
            printf("== %s: not available on this CPU, skipped\n", tu_isas[s]);
            continue;
        }
        printf("== isa %s\n", tu_isas[s]);
        for (size_t ti = 0; ti < N_TYPES; ti++) {
            const wk_type t = k_types[ti];
            const int64_t qk = wk_type_block_size(t);
            test_op(t, 2 * qk, 37, 1, 1, 1, 1, false, 1 + (int)(ti % 3));    /* matvec, M not a multiple of 4 */
            test_op(t, 4 * qk, 64, 1, 2, 4, 1, true, 2);                       /* matvec, broadcast */
            test_op(t, qk, 61, 50, 1, 1, 1, true, 1 + (int)((ti + 1) % 3)); /* prompt: crosses 60x48 tiles */
            test_op(t, 2 * qk, 9, 5, 1, 2, 2, false, 3);                      /* batched, more threads than tiles */
            /* prompt panels (isa.h qpanel, N >= 8): k chunks of 32 blocks, a short last panel,
             * more activation rows than one 256-row tile, broadcast */
            test_op(t, 33 * qk, 37, 20, 1, 2, 1, true, 2);
            test_op(t, 2 * qk, 40, 300, 1, 1, 1, false, 2);
        }
    }
    for (size_t ti = 0; ti < N_TYPES; ti++) test_get_rows(k_types[ti]);
    printf("%s\n", fails ? "FAILED" : "all quantized mul_mat checks passed");
    return fails ? 1 : 0;
}
