/* test_gguf_roundtrip.c — GGUF reader/writer round trips: every file named on the command
 * line is read, copied through the writer and must come back byte for byte (in memory and
 * through write_file); then files built from scratch with every value type are written,
 * read back value by value with the type-strict getters, and copied again identically. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"

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

/* Reads path, writes it back (memory and file) and compares bytes. */
static void roundtrip_file(const char *path) {
    wk_gguf *g = NULL;
    wk_gguf_status st = wk_gguf_open(path, &g);
    CHECK(st == WK_GGUF_OK, "open %s", path);
    if (st) return;
    wk_gguf_writer *w = NULL;
    st = wk_gguf_writer_from_reader(g, &w);
    CHECK(st == WK_GGUF_OK, "from_reader %s", path);
    if (!st) {
        void *buf;
        size_t size;
        st = wk_gguf_writer_write_memory(w, &buf, &size);
        CHECK(st == WK_GGUF_OK, "write_memory");
        CHECK(size == wk_gguf_file_size(g), "%s: size %zu vs %llu", path, size, (unsigned long long)wk_gguf_file_size(g));
        CHECK(size == wk_gguf_writer_size(w), "writer_size");
        CHECK(size == wk_gguf_file_size(g) && !memcmp(buf, wk_gguf_file_data(g), size), "%s: bytes differ (memory)", path);
        free(buf);
        const char *out = "roundtrip_copy.gguf";
        st = wk_gguf_writer_write_file(w, out);
        CHECK(st == WK_GGUF_OK, "write_file");
        size_t n2;
        unsigned char *b2 = slurp(out, &n2);
        CHECK(b2 && n2 == wk_gguf_file_size(g) && !memcmp(b2, wk_gguf_file_data(g), n2), "%s: bytes differ (file)", path);
        free(b2);
        unlink(out);
    }
    printf("round trip %-60s %llu keys %llu tensors %llu bytes: %s\n", path, (unsigned long long)wk_gguf_n_kv(g),
           (unsigned long long)wk_gguf_n_tensors(g), (unsigned long long)wk_gguf_file_size(g), g_fail ? "FAIL" : "identical");
    wk_gguf_writer_free(w);
    wk_gguf_free(g);
}

/* ---- a file with every value type ---- */

static const uint8_t a_u8[] = {0, 1, 255};
static const int8_t a_i8[] = {-128, 0, 127};
static const uint16_t a_u16[] = {0, 65535, 1234};
static const int16_t a_i16[] = {-32768, 32767, -1};
static const uint32_t a_u32[] = {0, 4294967295u, 7};
static const int32_t a_i32[] = {-2147483647 - 1, 2147483647, 42};
static const float a_f32[] = {1.5f, -0.0f, 3.4028235e38f};
static const uint8_t a_bool[] = {1, 0, 1, 1};
static const uint64_t a_u64[] = {0, 18446744073709551615ull};
static const int64_t a_i64[] = {-9223372036854775807ll - 1, 9223372036854775807ll};
static const double a_f64[] = {3.141592653589793, -1e300};
static const char *const a_str[] = {"hello", "", "wörld", "tab\tnew\nline \"quoted\""};

static float f32_data[4 * 3 * 2];
static uint16_t f16_data[64];
static uint8_t q8_data[2 * 34 * 3];

static wk_gguf_writer *build(uint32_t alignment, uint32_t version) {
    wk_gguf_writer *w;
    if (wk_gguf_writer_new(&w)) return NULL;
    int bad = wk_gguf_writer_set_version(w, version);
    bad |= wk_gguf_writer_add_str(w, "general.architecture", "llama", 5);
    if (alignment) bad |= wk_gguf_writer_add_u32(w, "general.alignment", alignment);
    bad |= wk_gguf_writer_add_u8(w, "t.u8", 200);
    bad |= wk_gguf_writer_add_i8(w, "t.i8", -100);
    bad |= wk_gguf_writer_add_u16(w, "t.u16", 60000);
    bad |= wk_gguf_writer_add_i16(w, "t.i16", -30000);
    bad |= wk_gguf_writer_add_u32(w, "t.u32", 4000000000u);
    bad |= wk_gguf_writer_add_i32(w, "t.i32", -2000000000);
    bad |= wk_gguf_writer_add_f32(w, "t.f32", 0.1f);
    bad |= wk_gguf_writer_add_bool(w, "t.bool.true", 1);
    bad |= wk_gguf_writer_add_bool(w, "t.bool.false", 0);
    bad |= wk_gguf_writer_add_str(w, "t.str", "a \"string\"\n", 11);
    bad |= wk_gguf_writer_add_str(w, "t.str.empty", "", 0);
    bad |= wk_gguf_writer_add_u64(w, "t.u64", 18000000000000000000ull);
    bad |= wk_gguf_writer_add_i64(w, "t.i64", -9000000000000000000ll);
    bad |= wk_gguf_writer_add_f64(w, "t.f64", 2.718281828459045);
    bad |= wk_gguf_writer_add_arr(w, "a.u8", WK_GGUF_UINT8, a_u8, 3);
    bad |= wk_gguf_writer_add_arr(w, "a.i8", WK_GGUF_INT8, a_i8, 3);
    bad |= wk_gguf_writer_add_arr(w, "a.u16", WK_GGUF_UINT16, a_u16, 3);
    bad |= wk_gguf_writer_add_arr(w, "a.i16", WK_GGUF_INT16, a_i16, 3);
    bad |= wk_gguf_writer_add_arr(w, "a.u32", WK_GGUF_UINT32, a_u32, 3);
    bad |= wk_gguf_writer_add_arr(w, "a.i32", WK_GGUF_INT32, a_i32, 3);
    bad |= wk_gguf_writer_add_arr(w, "a.f32", WK_GGUF_FLOAT32, a_f32, 3);
    bad |= wk_gguf_writer_add_arr(w, "a.bool", WK_GGUF_BOOL, a_bool, 4);
    bad |= wk_gguf_writer_add_arr(w, "a.u64", WK_GGUF_UINT64, a_u64, 2);
    bad |= wk_gguf_writer_add_arr(w, "a.i64", WK_GGUF_INT64, a_i64, 2);
    bad |= wk_gguf_writer_add_arr(w, "a.f64", WK_GGUF_FLOAT64, a_f64, 2);
    bad |= wk_gguf_writer_add_arr_str(w, "a.str", a_str, NULL, 4);
    bad |= wk_gguf_writer_add_arr(w, "a.empty", WK_GGUF_INT32, NULL, 0);
    bad |= wk_gguf_writer_add_arr_str(w, "a.str.empty", NULL, NULL, 0);
    int64_t ne_f32[4] = {4, 3, 2, 1}, ne_f16[4] = {64, 1, 1, 1}, ne_q8[4] = {64, 3, 1, 1}, ne_keep[2] = {4, 1};
    bad |= wk_gguf_writer_add_tensor(w, "f32.weight", 0, 4, ne_f32, f32_data);  /* stored n_dims 3 */
    bad |= wk_gguf_writer_add_tensor(w, "f16.weight", 1, 4, ne_f16, f16_data);  /* stored n_dims 1 */
    bad |= wk_gguf_writer_add_tensor(w, "q8.weight", 8, 2, ne_q8, q8_data);
    bad |= wk_gguf_writer_add_tensor_ndims(w, "keep.bias", 0, 2, ne_keep, f32_data); /* stored n_dims 2 */
    if (bad) {
        fprintf(stderr, "build failed: %s\n", wk_gguf_last_error());
        wk_gguf_writer_free(w);
        return NULL;
    }
    return w;
}

static void check_values(const wk_gguf *g, uint32_t alignment) {
    uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32; float f32;
    uint64_t u64; int64_t i64; double f64; int b;
    const char *s; uint64_t len;
    CHECK(!wk_gguf_get_u8(g, "t.u8", &u8) && u8 == 200, "u8");
    CHECK(!wk_gguf_get_i8(g, "t.i8", &i8) && i8 == -100, "i8");
    CHECK(!wk_gguf_get_u16(g, "t.u16", &u16) && u16 == 60000, "u16");
    CHECK(!wk_gguf_get_i16(g, "t.i16", &i16) && i16 == -30000, "i16");
    CHECK(!wk_gguf_get_u32(g, "t.u32", &u32) && u32 == 4000000000u, "u32");
    CHECK(!wk_gguf_get_i32(g, "t.i32", &i32) && i32 == -2000000000, "i32");
    CHECK(!wk_gguf_get_f32(g, "t.f32", &f32) && f32 == 0.1f, "f32");
    CHECK(!wk_gguf_get_bool(g, "t.bool.true", &b) && b == 1, "bool true");
    CHECK(!wk_gguf_get_bool(g, "t.bool.false", &b) && b == 0, "bool false");
    CHECK(!wk_gguf_get_str(g, "t.str", &s, &len) && len == 11 && !memcmp(s, "a \"string\"\n", 11), "str");
    CHECK(!wk_gguf_get_str(g, "t.str.empty", &s, &len) && len == 0, "empty str");
    CHECK(!wk_gguf_get_u64(g, "t.u64", &u64) && u64 == 18000000000000000000ull, "u64");
    CHECK(!wk_gguf_get_i64(g, "t.i64", &i64) && i64 == -9000000000000000000ll, "i64");
    CHECK(!wk_gguf_get_f64(g, "t.f64", &f64) && f64 == 2.718281828459045, "f64");
    /* type strictness: no conversions */
    CHECK(wk_gguf_get_u32(g, "t.f32", &u32) == WK_GGUF_E_TYPE, "u32 getter on f32 key");
    CHECK(strstr(wk_gguf_last_error(), "has type FLOAT32, not UINT32") != NULL, "type message: %s", wk_gguf_last_error());
    CHECK(wk_gguf_get_i32(g, "t.u32", &i32) == WK_GGUF_E_TYPE, "i32 getter on u32 key");
    CHECK(wk_gguf_get_u64(g, "t.u32", &u64) == WK_GGUF_E_TYPE, "u64 getter on u32 key");
    CHECK(wk_gguf_get_str(g, "a.str", &s, &len) == WK_GGUF_E_TYPE, "str getter on array");
    CHECK(wk_gguf_get_u8(g, "no.such.key", &u8) == WK_GGUF_E_NOTFOUND, "missing key");
    CHECK(strstr(wk_gguf_last_error(), "key 'no.such.key' not found") != NULL, "notfound message");
    CHECK(wk_gguf_find_key(g, "t.u16") >= 0 && wk_gguf_kv_type(g, (uint64_t)wk_gguf_find_key(g, "t.u16")) == WK_GGUF_UINT16, "find/type");
    /* arrays */
    const void *d; uint64_t n; wk_gguf_type et;
#define ARR(key, T, arr)                                                                     \
    CHECK(!wk_gguf_get_arr_data(g, key, T, &d, &n) && n == sizeof arr / sizeof arr[0] &&     \
              !memcmp(d, arr, sizeof arr), "array %s", key)
    ARR("a.u8", WK_GGUF_UINT8, a_u8); ARR("a.i8", WK_GGUF_INT8, a_i8); ARR("a.u16", WK_GGUF_UINT16, a_u16);
    ARR("a.i16", WK_GGUF_INT16, a_i16); ARR("a.u32", WK_GGUF_UINT32, a_u32); ARR("a.i32", WK_GGUF_INT32, a_i32);
    ARR("a.f32", WK_GGUF_FLOAT32, a_f32); ARR("a.bool", WK_GGUF_BOOL, a_bool); ARR("a.u64", WK_GGUF_UINT64, a_u64);
    ARR("a.i64", WK_GGUF_INT64, a_i64); ARR("a.f64", WK_GGUF_FLOAT64, a_f64);
    CHECK(wk_gguf_get_arr_data(g, "a.i32", WK_GGUF_UINT32, &d, &n) == WK_GGUF_E_TYPE, "array elem type strict");
    CHECK(!wk_gguf_get_arr_info(g, "a.str", &et, &n) && et == WK_GGUF_STRING && n == 4, "str arr info");
    for (uint64_t i = 0; i < 4; i++)
        CHECK(!wk_gguf_get_arr_str(g, "a.str", i, &s, &len) && len == strlen(a_str[i]) && !memcmp(s, a_str[i], len), "str %llu",
              (unsigned long long)i);
    CHECK(wk_gguf_get_arr_str(g, "a.str", 4, &s, &len) == WK_GGUF_E_RANGE, "str arr range");
    CHECK(wk_gguf_get_arr_str(g, "a.i32", 0, &s, &len) == WK_GGUF_E_TYPE, "str getter on i32 array");
    CHECK(!wk_gguf_get_arr_info(g, "a.empty", &et, &n) && et == WK_GGUF_INT32 && n == 0, "empty array");
    CHECK(!wk_gguf_get_arr_info(g, "a.str.empty", &et, &n) && et == WK_GGUF_STRING && n == 0, "empty str array");
    CHECK(wk_gguf_get_arr_info(g, "t.u8", &et, &n) == WK_GGUF_E_TYPE, "arr info on scalar");
    /* tensors */
    CHECK(wk_gguf_alignment(g) == (alignment ? alignment : 32), "alignment %u", wk_gguf_alignment(g));
    CHECK(wk_gguf_n_tensors(g) == 4, "n_tensors");
    const wk_gguf_tensor *t = wk_gguf_tensor_at(g, (uint64_t)wk_gguf_find_tensor(g, "f32.weight"));
    CHECK(t && t->n_dims == 3 && t->ne[0] == 4 && t->ne[1] == 3 && t->ne[2] == 2 && t->ne[3] == 1 && t->nbytes == 96 &&
              t->offset == 0 && !memcmp(t->data, f32_data, 96), "f32 tensor");
    t = wk_gguf_tensor_at(g, (uint64_t)wk_gguf_find_tensor(g, "f16.weight"));
    CHECK(t && t->n_dims == 1 && t->nbytes == 128 && t->type == 1 && !memcmp(t->data, f16_data, 128), "f16 tensor");
    t = wk_gguf_tensor_at(g, (uint64_t)wk_gguf_find_tensor(g, "q8.weight"));
    CHECK(t && t->n_dims == 2 && t->nbytes == 204 && t->type == 8 && !memcmp(t->data, q8_data, 204), "q8 tensor");
    t = wk_gguf_tensor_at(g, (uint64_t)wk_gguf_find_tensor(g, "keep.bias"));
    CHECK(t && t->n_dims == 2 && t->ne[1] == 1 && t->nbytes == 16, "kept n_dims");
    CHECK(wk_gguf_find_tensor(g, "nope") == -1 && wk_gguf_tensor_at(g, 99) == NULL, "missing tensor");
    for (uint64_t i = 0; i < wk_gguf_n_tensors(g); i++) {
        t = wk_gguf_tensor_at(g, i);
        CHECK(t->offset % wk_gguf_alignment(g) == 0 && (wk_gguf_data_offset(g) + t->offset) % wk_gguf_alignment(g) == 0, "aligned");
    }
    CHECK(wk_gguf_file_size(g) % wk_gguf_alignment(g) == 0, "file padded to alignment");
}

static void scratch(uint32_t alignment, uint32_t version) {
    int before = g_fail;
    wk_gguf_writer *w = build(alignment, version);
    CHECK(w != NULL, "build");
    if (!w) return;
    const char *path = "roundtrip_scratch.gguf";
    CHECK(!wk_gguf_writer_write_file(w, path), "write");
    wk_gguf *g = NULL;
    CHECK(!wk_gguf_open(path, &g), "reopen");
    if (g) {
        CHECK(wk_gguf_version(g) == version, "version");
        CHECK(wk_gguf_file_size(g) == wk_gguf_writer_size(w), "size");
        check_values(g, alignment);
        /* copy again: identical bytes */
        wk_gguf_writer *w2;
        CHECK(!wk_gguf_writer_from_reader(g, &w2), "from_reader");
        void *buf; size_t size;
        CHECK(!wk_gguf_writer_write_memory(w2, &buf, &size), "write_memory");
        CHECK(size == wk_gguf_file_size(g) && !memcmp(buf, wk_gguf_file_data(g), size), "scratch copy identical");
        /* and the same through open_memory */
        wk_gguf *g2;
        CHECK(!wk_gguf_open_memory(buf, size, "mem", &g2), "open_memory");
        if (g2) check_values(g2, alignment);
        wk_gguf_free(g2);
        free(buf);
        wk_gguf_writer_free(w2);
    }
    wk_gguf_free(g);
    wk_gguf_writer_free(w);
    unlink(path);
    printf("scratch file: every value type, alignment %u, version %u: %s\n", alignment ? alignment : 32, version,
           g_fail == before ? "ok" : "FAIL");
}

static void writer_errors(void) {
    int before = g_fail;
    wk_gguf_writer *w;
    CHECK(!wk_gguf_writer_new(&w), "new");
    CHECK(!wk_gguf_writer_add_u32(w, "k", 1), "add");
    CHECK(wk_gguf_writer_add_f32(w, "k", 1) == WK_GGUF_E_ARG && strstr(wk_gguf_last_error(), "duplicate key 'k'"), "dup key");
    CHECK(wk_gguf_writer_add_u32(w, "", 1) == WK_GGUF_E_ARG, "empty key");
    CHECK(wk_gguf_writer_add_u32(w, "general.alignment", 3) == WK_GGUF_E_ARG, "alignment 3");
    CHECK(wk_gguf_writer_add_u64(w, "general.alignment", 64) == WK_GGUF_E_ARG, "alignment u64");
    CHECK(wk_gguf_writer_add_str(w, "general.alignment", "32", 2) == WK_GGUF_E_ARG &&
              strstr(wk_gguf_last_error(), "general.alignment must be UINT32, not STRING"), "alignment as string");
    CHECK(wk_gguf_writer_add_arr(w, "general.alignment", WK_GGUF_UINT32, a_u32, 1) == WK_GGUF_E_ARG, "alignment as array");
    CHECK(wk_gguf_writer_add_arr(w, "x", WK_GGUF_STRING, a_u8, 1) == WK_GGUF_E_ARG, "arr of strings via add_arr");
    CHECK(wk_gguf_writer_add_arr(w, "x", WK_GGUF_ARRAY, a_u8, 1) == WK_GGUF_E_ARG, "nested arr");
    uint8_t two = 2;
    CHECK(wk_gguf_writer_add_arr(w, "x", WK_GGUF_BOOL, &two, 1) == WK_GGUF_E_ARG, "bool 2");
    int64_t ne[4] = {33, 1, 1, 1}, ne0[2] = {0, 1};
    CHECK(wk_gguf_writer_add_tensor(w, "q", 8, 1, ne, q8_data) == WK_GGUF_E_ARG, "ne0 not a multiple of the block");
    CHECK(wk_gguf_writer_add_tensor(w, "z", 0, 2, ne0, q8_data) == WK_GGUF_E_ARG, "zero dim");
    CHECK(wk_gguf_writer_add_tensor(w, "r", 4, 1, ne, q8_data) == WK_GGUF_E_ARG, "retired type");
    CHECK(wk_gguf_writer_add_tensor(w, "n", 0, 5, ne, q8_data) == WK_GGUF_E_ARG, "n_dims 5");
    char longname[80];
    memset(longname, 'a', 64);
    longname[64] = 0;
    CHECK(wk_gguf_writer_add_tensor(w, longname, 0, 1, ne, q8_data) == WK_GGUF_E_ARG, "long name");
    CHECK(!wk_gguf_writer_add_tensor(w, "t", 0, 1, ne, q8_data), "tensor");
    CHECK(wk_gguf_writer_add_tensor(w, "t", 0, 1, ne, q8_data) == WK_GGUF_E_ARG, "dup tensor");
    /* write into a missing directory: error, nothing left behind */
    CHECK(wk_gguf_writer_write_file(w, "no_such_dir/x.gguf") == WK_GGUF_E_IO, "write to missing dir");
    /* a failed rename (target is a directory) removes the temp file */
    CHECK(system("mkdir -p rt_dir_target") == 0, "mkdir");
    CHECK(wk_gguf_writer_write_file(w, "rt_dir_target") == WK_GGUF_E_IO, "rename onto a directory fails");
    DIR *dir = opendir(".");
    struct dirent *e;
    int leftovers = 0;
    while (dir && (e = readdir(dir)))
        if (strstr(e->d_name, "rt_dir_target.tmp.")) leftovers++;
    if (dir) closedir(dir);
    CHECK(leftovers == 0, "temp file removed after a failed write");
    rmdir("rt_dir_target");
    wk_gguf_writer_free(w);
    wk_gguf_writer_free(NULL);
    wk_gguf_free(NULL);
    /* a NULL reader handle reads as empty instead of crashing */
    CHECK(wk_gguf_n_kv(NULL) == 0 && wk_gguf_n_tensors(NULL) == 0 && wk_gguf_kv_key(NULL, 0) == NULL &&
              wk_gguf_kv_type(NULL, 0) == WK_GGUF_TYPE_COUNT && wk_gguf_tensor_at(NULL, 0) == NULL &&
              wk_gguf_find_key(NULL, "k") == -1 && wk_gguf_get_u32(NULL, "k", &(uint32_t){0}) == WK_GGUF_E_ARG,
          "NULL handle");
    printf("writer argument errors and failed writes: %s\n", g_fail == before ? "ok" : "FAIL");
}

int main(int argc, char **argv) {
    for (size_t i = 0; i < sizeof f32_data / sizeof f32_data[0]; i++) f32_data[i] = (float)i * 0.25f - 1.0f;
    for (size_t i = 0; i < sizeof f16_data / sizeof f16_data[0]; i++) f16_data[i] = (uint16_t)(0x3c00 + i);
    for (size_t i = 0; i < sizeof q8_data; i++) q8_data[i] = (uint8_t)(i * 7 + 3);
    for (int i = 1; i < argc; i++) roundtrip_file(argv[i]);
    scratch(0, 3);
    scratch(64, 3);
    scratch(8, 2);
    writer_errors();
    printf("%s (%d failures)\n", g_fail ? "FAILED" : "all round trips identical", g_fail);
    return g_fail ? 1 : 0;
}
