/* test_sched.c — the backend seam on the CPU: the device registry, buffers and tensor
 * placement, and the multi-backend scheduler. A second "backend" that runs only ADD and
 * MUL (the CPU kernels behind a narrower supports_op) forces splits, shadow copies across
 * pools and CPU fallback; its results must equal the plain CPU compute bit for bit. */
#include "backends/backend.h"
#include "testutil.h"

static int fails;
#define CHECK(c, ...)                          \
    do {                                       \
        if (!(c)) {                            \
            fprintf(stderr, "FAIL: " __VA_ARGS__); \
            fprintf(stderr, "\n");             \
            fails++;                           \
        }                                      \
    } while (0)

static const wk_backend_i *g_cpu_iface;
static bool narrow_supports(wk_backend *be, const wk_tensor *n) {
    return (n->op == WK_OP_ADD || n->op == WK_OP_MUL) && g_cpu_iface->supports_op(be, n);
}
static const char *narrow_name(const wk_backend *be) { (void)be; return "narrow"; }
static wk_backend_i g_narrow_iface;

static void test_registry(void) {
    CHECK(wk_device_count() >= 1, "registry is empty");
    wk_device *cpu = wk_device_get(0);
    wk_device_props p;
    wk_device_get_props(cpu, &p);
    CHECK(p.kind == WK_DEVICE_CPU && !strcmp(p.name, "cpu"), "device 0 is %s, not the CPU", p.name);
    CHECK(wk_device_by_name("cpu") == cpu, "by_name(cpu)");
    CHECK(wk_device_by_name("nosuch7") == NULL && strstr(wk_last_error(), "no device named 'nosuch7'"),
          "a missing device: %s", wk_last_error());
    CHECK(wk_device_get(-1) == NULL && wk_device_get(wk_device_count()) == NULL, "out-of-range index");
}

static void test_buffers(void) {
    wk_buffer *b = NULL;
    CHECK(wk_buffer_alloc(wk_device_buffer_type(wk_device_cpu()), 4096, &b) == WK_OK && wk_buffer_is_host(b), "alloc");
    wk_ctx *ctx;
    wk_ctx_params cp = {true};
    wk_ctx_create(&cp, &ctx);
    wk_tensor *t = wk_new_tensor_2d(ctx, WK_TYPE_F32, 16, 4);
    CHECK(wk_tensor_place(t, b, 128) == WK_OK && wk_tensor_buffer(t) == b, "place");
    float in[64], out[64];
    for (int i = 0; i < 64; i++) in[i] = (float)i * 0.5f;
    CHECK(wk_tensor_set(t, in, 0, sizeof in) == WK_OK && wk_tensor_get(t, out, 0, sizeof out) == WK_OK &&
              !memcmp(in, out, sizeof in), "set/get round trip");
    CHECK(wk_tensor_get(t, out, 8, sizeof out) != WK_OK, "a read past the tensor is refused");
    CHECK(wk_tensor_place(t, b, 4096 - 64) != WK_OK, "a placement past the buffer is refused");
    wk_ctx_free(ctx);
    wk_buffer_free(b);
}

/* y = ((a + b) * c) -> rms_norm -> * w + silu(a): ADD/MUL on the narrow backend, the rest on the CPU */
static wk_tensor *build(wk_ctx *ctx, wk_tensor **lv) {
    wk_tensor *x = wk_mul(ctx, wk_add(ctx, lv[0], lv[1]), lv[2]);
    wk_tensor *n = wk_rms_norm(ctx, wk_permute(ctx, wk_cont(ctx, wk_transpose(ctx, x)), 1, 0, 2, 3), 1e-5f);
    wk_tensor *y = wk_add(ctx, wk_mul(ctx, n, lv[3]), wk_silu(ctx, lv[0]));
    wk_tensor_set_output(y);
    return y;
}

static void test_sched(void) {
    wk_backend *cpu = NULL, *cpu2 = NULL;
    wk_backend_cpu_create(2, &cpu);
    wk_backend_cpu_create(2, &cpu2);
    g_cpu_iface = cpu2->iface;
    g_narrow_iface = *cpu2->iface;
    g_narrow_iface.supports_op = narrow_supports;
    g_narrow_iface.name = narrow_name;
    wk_backend narrow = *cpu2;
    narrow.iface = &g_narrow_iface;

    wk_sched *s = NULL;
    wk_backend *none[1] = {NULL};
    CHECK(wk_sched_create(none, 1, &s) != WK_OK, "a NULL backend is refused");
    wk_ctx *ctx;
    wk_ctx_create(NULL, &ctx);
    wk_tensor *lv[4];
    for (int i = 0; i < 4; i++) {
        lv[i] = wk_new_tensor_2d(ctx, WK_TYPE_F32, 37, 5);
        float *d = wk_tensor_data(lv[i]);
        for (int j = 0; j < 37 * 5; j++) d[j] = (float)tu_uniform(-2, 2);
    }
    wk_tensor *y1 = build(ctx, lv), *y2 = build(ctx, lv);
    wk_graph *g1 = wk_graph_new(ctx), *g2 = wk_graph_new(ctx);
    wk_graph_expand(g1, y1);
    wk_graph_expand(g2, y2);
    CHECK(wk_graph_compute(cpu, g1) == WK_OK, "cpu compute: %s", wk_last_error());
    wk_backend *list[2] = {&narrow, cpu};
    CHECK(wk_sched_create(list, 2, &s) == WK_OK, "sched_create: %s", wk_last_error());
    for (int rep = 0; rep < 2; rep++) { /* the second run replays the cached plan */
        CHECK(wk_sched_compute(s, g2) == WK_OK, "sched compute: %s", wk_last_error());
        float a[37 * 5], b[37 * 5];
        wk_tensor_get(y1, a, 0, sizeof a);
        wk_tensor_get(y2, b, 0, sizeof b);
        CHECK(!memcmp(a, b, sizeof a), "scheduled result differs from the CPU's (run %d)", rep);
        CHECK(wk_sched_n_splits(s) >= 3, "expected >= 3 splits, got %d", wk_sched_n_splits(s));
        CHECK(wk_sched_n_nodes_on(s, 0) == 4, "narrow ran %d nodes, expected the 4 ADD/MUL", wk_sched_n_nodes_on(s, 0));
        CHECK(wk_sched_node_backend(s, g2, y2) == &narrow, "the last ADD ran on %s", wk_backend_name(wk_sched_node_backend(s, g2, y2)));
    }
    printf("sched: %d splits, %d nodes on narrow, %d on cpu; identical to the CPU-only compute\n", wk_sched_n_splits(s),
           wk_sched_n_nodes_on(s, 0), wk_sched_n_nodes_on(s, 1));
    /* the graph goes back to the CPU-only path and still agrees */
    CHECK(wk_graph_compute(cpu, g2) == WK_OK, "cpu compute after sched: %s", wk_last_error());
    wk_sched_free(s);
    wk_backend *cpu_alone[1] = {cpu};
    CHECK(wk_sched_create(cpu_alone, 1, &s) == WK_OK, "a CPU-only scheduler");
    wk_sched_free(s);
    wk_ctx_free(ctx);
    wk_backend_free(cpu);
    wk_backend_free(cpu2);
}

int main(void) {
    test_registry();
    test_buffers();
    test_sched();
    if (fails) {
        fprintf(stderr, "test_sched: %d checks failed\n", fails);
        return 1;
    }
    printf("test_sched: all checks passed\n");
    return 0;
}
