/* test_graph.c — graph ordering, the memory planner, views, error paths, and the op
 * table (every op has a CPU kernel; no hole). */
#include "testutil.h"
#include "backends/backend.h"

static int fails;
#define CHECK(cond, ...)                                         \
    do {                                                         \
        if (!(cond)) { printf("  FAIL: " __VA_ARGS__); printf("\n"); fails++; } \
    } while (0)

static void test_order_and_plan(void) {
    printf("graph order and memory planner\n");
    wk_ctx *ctx;
    wk_ctx_create(NULL, &ctx);
    /* a chain of 64 unary ops on a 1 MiB tensor: naive needs 64 MiB, planned needs 2 */
    wk_tensor *x = wk_new_tensor_1d(ctx, WK_TYPE_F32, 1 << 18);
    for (int64_t i = 0; i < x->ne[0]; i++) ((float *)x->data)[i] = (float)(i % 7) - 3.0f;
    wk_tensor *h = x;
    for (int i = 0; i < 64; i++) h = wk_scale(ctx, h, 1.0f + (i % 2) * 0.5f);
    wk_graph *g = wk_graph_new(ctx);
    CHECK(wk_graph_expand(g, h) == WK_OK, "expand");
    CHECK(wk_graph_n_nodes(g) == 64, "64 nodes, got %d", wk_graph_n_nodes(g));
    for (int i = 1; i < wk_graph_n_nodes(g); i++)
        CHECK(wk_graph_node(g, i)->src[0] == wk_graph_node(g, i - 1), "order at %d", i);
    wk_backend *be;
    wk_backend_cpu_create(2, &be);
    CHECK(wk_graph_compute(be, g) == WK_OK, "compute: %s", wk_last_error());
    size_t planned = wk_graph_planned_bytes(g), naive = wk_graph_naive_bytes(g);
    printf("  chain of 64: planned %zu bytes, naive %zu bytes\n", planned, naive);
    CHECK(planned <= 2 * ((size_t)1 << 20), "planner reuses dead intermediates");
    CHECK(naive == 64 * ((size_t)1 << 20), "naive bytes");
    double scale = 1;
    for (int i = 0; i < 64; i++) scale *= 1.0 + (i % 2) * 0.5;
    int bad = 0;
    for (int64_t i = 0; i < h->ne[0]; i++) {
        double ref = ((i % 7) - 3.0) * scale;
        if (fabs(((float *)h->data)[i] - ref) > 1e-5 * fabs(ref)) bad++;
    }
    CHECK(!bad, "chain values (%d wrong)", bad);
    /* computing again reuses the plan and gives the same answer */
    CHECK(wk_graph_compute(be, g) == WK_OK, "recompute");
    /* diamond: x -> a, b -> a + b; a and b must not share memory */
    wk_tensor *a = wk_scale(ctx, x, 2.0f), *b = wk_scale(ctx, x, 3.0f), *s = wk_add(ctx, a, b);
    wk_graph *g2 = wk_graph_new(ctx);
    wk_graph_expand(g2, s);
    CHECK(wk_graph_compute(be, g2) == WK_OK, "diamond compute");
    bad = 0;
    for (int64_t i = 0; i < x->ne[0]; i++)
        if (((float *)s->data)[i] != ((float *)x->data)[i] * 5.0f) bad++;
    CHECK(!bad, "diamond values (%d wrong)", bad);
    /* two outputs expanded into one graph: both keep their memory */
    wk_tensor *o1 = wk_scale(ctx, x, -1.0f), *o2 = wk_sqr(ctx, wk_scale(ctx, x, 0.5f));
    wk_graph *g3 = wk_graph_new(ctx);
    wk_graph_expand(g3, o1);
    wk_graph_expand(g3, o2);
    CHECK(wk_graph_compute(be, g3) == WK_OK, "two outputs");
    bad = 0;
    for (int64_t i = 0; i < x->ne[0]; i++) {
        float v = ((float *)x->data)[i];
        if (((float *)o1->data)[i] != -v || ((float *)o2->data)[i] != (0.5f * v) * (0.5f * v)) bad++;
    }
    CHECK(!bad, "two outputs values (%d wrong)", bad);
    /* views of intermediates keep their root alive until the view is read */
    wk_tensor *big = wk_scale(ctx, x, 4.0f);
    wk_tensor *half = wk_view(ctx, big, 1, (int64_t[]){x->ne[0] / 2}, NULL, (size_t)(x->ne[0] / 2) * 4);
    wk_tensor *filler = wk_scale(ctx, wk_scale(ctx, x, 1.0f), 1.0f);
    wk_tensor *half2 = wk_view(ctx, filler, 1, (int64_t[]){x->ne[0] / 2}, NULL, 0);
    wk_tensor *out = wk_add(ctx, half, half2);
    wk_graph *g4 = wk_graph_new(ctx);
    wk_graph_expand(g4, out);
    CHECK(wk_graph_compute(be, g4) == WK_OK, "views");
    bad = 0;
    for (int64_t i = 0; i < x->ne[0] / 2; i++) {
        float want = ((float *)x->data)[i + x->ne[0] / 2] * 4.0f + ((float *)x->data)[i];
        if (((float *)out->data)[i] != want) bad++;
    }
    CHECK(!bad, "view of intermediate values (%d wrong)", bad);
    /* nodes shared between graphs: g5 lets h1 and h3 share bytes; g6 needs both at once */
    wk_tensor *h1 = wk_scale(ctx, x, 2.0f), *h2 = wk_scale(ctx, h1, 3.0f), *h3 = wk_scale(ctx, h2, 5.0f);
    wk_graph *g5 = wk_graph_new(ctx), *g6 = wk_graph_new(ctx);
    wk_graph_expand(g5, h3);
    CHECK(wk_graph_compute(be, g5) == WK_OK, "g5");
    wk_tensor *both = wk_add(ctx, h1, h3);
    wk_graph_expand(g6, both);
    CHECK(wk_graph_compute(be, g6) == WK_OK, "g6");
    bad = 0;
    for (int64_t i = 0; i < x->ne[0]; i++)
        if (((float *)both->data)[i] != ((float *)x->data)[i] * 2.0f + ((float *)x->data)[i] * 30.0f) bad++;
    CHECK(!bad, "graphs sharing nodes (%d wrong)", bad);
    CHECK(wk_graph_compute(be, g5) == WK_OK, "g5 again");
    bad = 0;
    for (int64_t i = 0; i < x->ne[0]; i++)
        if (((float *)h3->data)[i] != ((float *)x->data)[i] * 30.0f) bad++;
    CHECK(!bad, "first graph after the second (%d wrong)", bad);
    wk_backend_free(be);
    wk_ctx_free(ctx);
}

static void test_errors(void) {
    printf("errors are values\n");
    wk_ctx *ctx;
    wk_ctx_create(NULL, &ctx);
    wk_tensor *a = wk_new_tensor_2d(ctx, WK_TYPE_F32, 4, 3), *b = wk_new_tensor_2d(ctx, WK_TYPE_F32, 5, 3);
    CHECK(wk_add(ctx, a, b) == NULL && strstr(wk_last_error(), "broadcast"), "add shape: %s", wk_last_error());
    CHECK(wk_mul_mat(ctx, a, b) == NULL && strstr(wk_last_error(), "inner"), "mul_mat: %s", wk_last_error());
    CHECK(wk_new_tensor_1d(ctx, WK_TYPE_F32, 0) == NULL, "zero dim");
    CHECK(wk_new_tensor_1d(ctx, WK_TYPE_Q4_0, 33) == NULL && strstr(wk_last_error(), "block"), "block: %s",
          wk_last_error());
    CHECK(wk_new_tensor_1d(ctx, (wk_type)4, 32) == NULL, "retired type");
    CHECK(wk_new_tensor_4d(ctx, WK_TYPE_F32, INT64_MAX / 2, 4, 4, 4) == NULL, "overflowing shape");
    CHECK(wk_permute(ctx, a, 0, 0, 1, 2) == NULL, "bad permutation");
    CHECK(wk_reshape_2d(ctx, a, 5, 2) == NULL, "reshape count");
    CHECK(wk_view(ctx, a, 1, (int64_t[]){13}, NULL, 0) == NULL, "view past the end");
    CHECK(wk_reshape_2d(ctx, wk_transpose(ctx, a), 3, 4) == NULL, "reshape non-contiguous");
    /* a transposed 4x3 f32 tensor spans exactly the 48 bytes of its source */
    wk_tensor *at = wk_transpose(ctx, a);
    CHECK(at && wk_tensor_nbytes(at) == 48 && wk_tensor_nbytes(a) == 48, "transposed span %zu",
          at ? wk_tensor_nbytes(at) : 0);
    CHECK(wk_view(ctx, at, 1, (int64_t[]){1}, NULL, 52) == NULL, "view of a transpose past the end");
    CHECK(wk_add(ctx, NULL, a) == NULL, "NULL source");
    /* a leaf without data is an error at compute, not a crash */
    wk_ctx *nc;
    wk_ctx_create(&(wk_ctx_params){.no_alloc = true}, &nc);
    wk_tensor *x = wk_new_tensor_1d(nc, WK_TYPE_F32, 8);
    wk_tensor_set_name(x, "x");
    wk_graph *g = wk_graph_new(nc);
    wk_graph_expand(g, wk_sqr(nc, x));
    wk_backend *be;
    wk_backend_cpu_create(1, &be);
    CHECK(wk_graph_compute(be, g) == WK_ERR_INVALID_ARG && strstr(wk_last_error(), "'x'"), "leaf data: %s",
          wk_last_error());
    wk_backend_free(be);
    wk_ctx_free(nc);
    wk_ctx_free(ctx);
}

static void test_types(void) {
    printf("types table and f16/bf16 conversion\n");
    CHECK(wk_type_size(WK_TYPE_Q4_K) == 144 && wk_type_block_size(WK_TYPE_Q4_K) == 256, "q4_K");
    CHECK(wk_type_size(WK_TYPE_Q8_0) == 34 && wk_type_size(WK_TYPE_BF16) == 2, "sizes");
    CHECK(wk_type_name((wk_type)5) == NULL && wk_type_name((wk_type)99) == NULL, "retired/unknown");
    /* every f16 bit pattern survives f16 -> f32 -> f16 (NaNs stay NaN) */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = wk_fp16_to_fp32((uint16_t)h);
        uint16_t back = wk_fp32_to_fp16(f);
        if (isnan(f) ? !isnan(wk_fp16_to_fp32(back)) : back != h) bad++;
    }
    CHECK(!bad, "f16 round trip (%d bad)", bad);
    /* f32 -> f16 rounds to nearest even: compare with an f64 search on random values */
    bad = 0;
    tu_seed(7);
    for (int i = 0; i < 200000; i++) {
        float f = (float)tu_uniform(-70000, 70000) * (float)pow(2.0, (double)tu_int(-30, 0));
        uint16_t h = wk_fp32_to_fp16(f);
        double got = wk_fp16_to_fp32(h);
        if (isinf(got)) { if (fabs(f) < 65520) bad++; continue; }
        /* the neighbours of h must not be strictly closer */
        for (int d = -1; d <= 1; d += 2) {
            uint16_t n = (uint16_t)(h + d);
            if (((n ^ h) & 0x8000) || (n & 0x7c00) == 0x7c00) continue;
            double other = wk_fp16_to_fp32(n);
            if (fabs(other - f) < fabs(got - f)) bad++;
            if (fabs(other - f) == fabs(got - f) && (h & 1)) bad++;
        }
    }
    CHECK(!bad, "f16 nearest-even (%d bad)", bad);
    CHECK(wk_fp32_to_bf16(1.0f) == 0x3f80 && wk_fp32_to_bf16(-2.0f) == 0xc000, "bf16 exact");
    CHECK(wk_fp32_to_bf16(wk_bf16_to_fp32(0x3f81) + 0.0f) == 0x3f81, "bf16 identity");
    float half_up = wk_bf16_to_fp32(0x3f80) + (wk_bf16_to_fp32(0x3f81) - wk_bf16_to_fp32(0x3f80)) / 2;
    CHECK(wk_fp32_to_bf16(half_up) == 0x3f80, "bf16 tie to even");
}

static void test_op_table(void) {
    printf("op table\n");
    wk_backend *be;
    wk_backend_cpu_create(1, &be);
    /* a node of every op must be supported by the CPU backend: no hole in its table */
    int holes = 0;
    for (int op = 1; op < WK_OP_COUNT; op++) {
        wk_tensor t = {0};
        t.op = (wk_op)op;
        if (!be->iface->supports_op(be, &t)) { printf("  no CPU kernel for %s\n", wk_op_name((wk_op)op)); holes++; }
        CHECK(wk_op_name((wk_op)op)[0] != '?', "name of op %d", op);
        CHECK(wk_op_n_src((wk_op)op) >= 1 && wk_op_n_src((wk_op)op) <= WK_MAX_SRC, "arity of %s", wk_op_name((wk_op)op));
    }
    CHECK(!holes, "%d ops without a CPU kernel", holes);
    printf("  %d ops, all with a CPU kernel\n", WK_OP_COUNT - 1);
    wk_backend_free(be);
}

int main(void) {
    test_types();
    test_order_and_plan();
    test_errors();
    test_op_table();
    printf("%s\n", fails ? "FAILED" : "all graph checks passed");
    return fails ? 1 : 0;
}
