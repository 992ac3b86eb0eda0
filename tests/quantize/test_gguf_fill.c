/* test_gguf_fill.c — the GGUF writer's streaming tensors (wk_gguf_writer_add_tensor_fill),
 * which `wick quantize` writes through: a file with filled tensors must be byte-identical to
 * the same file written from borrowed data (in memory and through write_file); callbacks run
 * once per write, in tensor order, with the exact size; a failing callback leaves no file, no
 * temp file, and an existing file at the path untouched; dims are stored as given. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf/gguf.h"

static int g_fail = 0;
#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                \
            fprintf(stderr, __VA_ARGS__);                                       \
            fprintf(stderr, " [last error: %s]\n", wk_gguf_last_error());       \
            g_fail++;                                                           \
        }                                                                       \
    } while (0)

#define GGML_F32 0
#define GGML_F16 1
#define GGML_Q8_0 8

/* Three tensors: a borrowed F32 one, a Q8_0 one and an F16 one (trailing dim 1). */
static uint8_t g_a[4 * 64 * 3], g_b[34 * 2 * 5], g_c[2 * 96 * 1];
static const int64_t k_ne_a[2] = {64, 3}, k_ne_b[2] = {64, 5}, k_ne_c[3] = {96, 1, 1};

typedef struct {
    const uint8_t *src;
    uint64_t size;
    int calls, order, fail;
} fill_state;

static int g_order;

static int fill(void *user, void *dst, uint64_t nbytes) {
    fill_state *s = user;
    s->calls++;
    s->order = g_order++;
    if (nbytes != s->size) return -1;
    if (s->fail) {
        memset(dst, 0xAB, (size_t)nbytes); /* half-written data must never reach the path */
        return 1;
    }
    memcpy(dst, s->src, (size_t)nbytes);
    return 0;
}

static wk_gguf_writer *make(int streaming, fill_state *fb, fill_state *fc) {
    wk_gguf_writer *w = NULL;
    CHECK(wk_gguf_writer_new(&w) == WK_GGUF_OK, "new");
    CHECK(wk_gguf_writer_add_str(w, "general.architecture", "test", 4) == WK_GGUF_OK, "kv");
    CHECK(wk_gguf_writer_add_u32(w, "general.alignment", 64) == WK_GGUF_OK, "alignment");
    CHECK(wk_gguf_writer_add_tensor(w, "a", GGML_F32, 2, k_ne_a, g_a) == WK_GGUF_OK, "a");
    if (streaming) {
        CHECK(wk_gguf_writer_add_tensor_fill(w, "b", GGML_Q8_0, 2, k_ne_b, fill, fb) == WK_GGUF_OK, "b fill");
        CHECK(wk_gguf_writer_add_tensor_fill(w, "c", GGML_F16, 3, k_ne_c, fill, fc) == WK_GGUF_OK, "c fill");
    } else {
        CHECK(wk_gguf_writer_add_tensor(w, "b", GGML_Q8_0, 2, k_ne_b, g_b) == WK_GGUF_OK, "b");
        CHECK(wk_gguf_writer_add_tensor_ndims(w, "c", GGML_F16, 3, k_ne_c, g_c) == WK_GGUF_OK, "c");
    }
    return w;
}

static unsigned char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return b;
}

/* Files in the current directory whose name starts with prefix. */
static int count_prefix(const char *prefix) {
    DIR *d = opendir(".");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix))) n++;
    if (d) closedir(d);
    return n;
}

int main(void) {
    for (size_t i = 0; i < sizeof g_a; i++) g_a[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof g_b; i++) g_b[i] = (uint8_t)(i * 13 + 5);
    for (size_t i = 0; i < sizeof g_c; i++) g_c[i] = (uint8_t)(i * 3 + 2);
    /* Q8_0 scales are f16: keep them finite (0x3C00 = 1.0) */
    for (size_t blk = 0; blk < sizeof g_b / 34; blk++) g_b[blk * 34] = 0x00, g_b[blk * 34 + 1] = 0x3C;

    /* reference: the same file from borrowed data */
    wk_gguf_writer *ref = make(0, NULL, NULL);
    void *want = NULL;
    size_t want_size = 0;
    CHECK(wk_gguf_writer_write_memory(ref, &want, &want_size) == WK_GGUF_OK, "reference write");

    /* in memory */
    fill_state fb = {g_b, sizeof g_b, 0, 0, 0}, fc = {g_c, sizeof g_c, 0, 0, 0};
    wk_gguf_writer *w = make(1, &fb, &fc);
    CHECK(wk_gguf_writer_size(w) == want_size, "writer_size %llu vs %zu", (unsigned long long)wk_gguf_writer_size(w), want_size);
    void *got = NULL;
    size_t got_size = 0;
    g_order = 0;
    CHECK(wk_gguf_writer_write_memory(w, &got, &got_size) == WK_GGUF_OK, "write_memory");
    CHECK(got_size == want_size && got && !memcmp(got, want, want_size), "memory bytes differ from the borrowed-data file");
    CHECK(fb.calls == 1 && fc.calls == 1 && fb.order == 0 && fc.order == 1, "callbacks: %d %d calls, order %d %d",
          fb.calls, fc.calls, fb.order, fc.order);
    free(got);

    /* through write_file, twice (callbacks run again on each write) */
    const char *path = "fill_test.gguf";
    unlink(path);
    for (int round = 0; round < 2; round++) {
        g_order = 0;
        CHECK(wk_gguf_writer_write_file(w, path) == WK_GGUF_OK, "write_file round %d", round);
        size_t n;
        unsigned char *b = slurp(path, &n);
        CHECK(b && n == want_size && !memcmp(b, want, n), "file bytes differ (round %d)", round);
        free(b);
    }
    CHECK(fb.calls == 3 && fc.calls == 3, "calls after two file writes: %d %d", fb.calls, fc.calls);

    /* dims as given: c keeps its trailing 1s; the reader agrees on everything */
    wk_gguf *g = NULL;
    CHECK(wk_gguf_open(path, &g) == WK_GGUF_OK, "reopen");
    if (g) {
        const wk_gguf_tensor *c = wk_gguf_tensor_at(g, 2);
        CHECK(c && c->n_dims == 3 && c->ne[0] == 96 && c->type == GGML_F16, "tensor c: n_dims %u", c ? c->n_dims : 0);
        CHECK(c && !memcmp(c->data, g_c, sizeof g_c), "tensor c data");
        CHECK(c && c->offset % 64 == 0, "alignment 64: offset %llu", c ? (unsigned long long)c->offset : 0ull);
        wk_gguf_free(g);
    }

    /* a failing callback: error, existing file untouched, no temp file left */
    fc.fail = 1;
    wk_gguf_status st = wk_gguf_writer_write_file(w, path);
    CHECK(st == WK_GGUF_E_IO, "failing fill: status %d", (int)st);
    CHECK(strstr(wk_gguf_last_error(), "'c'") != NULL, "message names the tensor: %s", wk_gguf_last_error());
    size_t n;
    unsigned char *b = slurp(path, &n);
    CHECK(b && n == want_size && !memcmp(b, want, n), "existing file changed by a failed write");
    free(b);
    CHECK(count_prefix("fill_test.gguf.tmp") == 0, "temp file left behind");
    unlink(path);
    CHECK(wk_gguf_writer_write_file(w, path) == WK_GGUF_E_IO, "failing fill, new path");
    CHECK(access(path, F_OK) != 0, "failed write created %s", path);
    CHECK(count_prefix("fill_test.gguf") == 0, "files left behind after a failed write");
    got = (void *)1;
    CHECK(wk_gguf_writer_write_memory(w, &got, &got_size) == WK_GGUF_E_IO && got == NULL, "failing fill in memory");

    /* bad arguments */
    int64_t ne[2] = {64, 1};
    CHECK(wk_gguf_writer_add_tensor_fill(w, "d", GGML_F32, 2, ne, NULL, NULL) == WK_GGUF_E_ARG, "NULL callback accepted");
    CHECK(wk_gguf_writer_add_tensor_fill(w, "b", GGML_F32, 2, ne, fill, &fb) == WK_GGUF_E_ARG, "duplicate name accepted");
    ne[0] = 33;
    CHECK(wk_gguf_writer_add_tensor_fill(w, "e", GGML_Q8_0, 2, ne, fill, &fb) == WK_GGUF_E_ARG, "partial block accepted");

    wk_gguf_writer_free(w);
    wk_gguf_writer_free(ref);
    free(want);
    printf("gguf fill: streamed tensors byte-identical to borrowed ones (memory, file x2), "
           "failing callback leaves no file: %s\n", g_fail ? "FAIL" : "ok");
    return g_fail ? 1 : 0;
}
