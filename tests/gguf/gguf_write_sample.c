/* gguf_write_sample.c — writes a GGUF file with every metadata value type (scalars and
 * arrays) and F32/F16/Q8_0 tensors through the wick writer, plus a JSON manifest of what
 * was put in, so check_with_gguf_py.py can read the file with the independent `gguf` PyPI
 * reader and compare every key, value and tensor.
 * usage: gguf_write_sample OUT.gguf OUT.json */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gguf.h"

static FILE *m; /* the manifest */

static void jstr(const char *s, size_t n) {
    fputc('"', m);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fprintf(m, "\\%c", c);
        else if (c < 0x20) fprintf(m, "\\u%04x", c);
        else fputc(c, m);
    }
    fputc('"', m);
}

static int n_items = 0;
static void item_begin(const char *key, const char *type) {
    fprintf(m, "%s\n  {\"key\": \"%s\", \"type\": \"%s\", \"value\": ", n_items++ ? "," : "", key, type);
}

#define SCALAR(fn, key, tname, fmt, v)                 \
    do {                                               \
        if (fn(w, key, v)) return 1;                   \
        item_begin(key, tname);                        \
        fprintf(m, fmt "}", v);                        \
    } while (0)

#define ARRAY(key, T, tname, fmt, arr)                                                  \
    do {                                                                                \
        size_t n_ = sizeof arr / sizeof arr[0];                                         \
        if (wk_gguf_writer_add_arr(w, key, T, arr, n_)) return 1;                       \
        item_begin(key, "ARRAY");                                                       \
        fputc('[', m);                                                                  \
        for (size_t i_ = 0; i_ < n_; i_++) fprintf(m, "%s" fmt, i_ ? ", " : "", arr[i_]); \
        fprintf(m, "], \"element_type\": \"%s\"}", tname);                              \
    } while (0)

static const uint8_t a_u8[] = {0, 7, 255};
static const int8_t a_i8[] = {-128, -1, 127};
static const uint16_t a_u16[] = {0, 1000, 65535};
static const int16_t a_i16[] = {-32768, 5, 32767};
static const uint32_t a_u32[] = {0, 123456789, 4294967295u};
static const int32_t a_i32[] = {-2147483647 - 1, -3, 2147483647};
static const float a_f32[] = {0.5f, -1.25e-3f, 3.0e38f, 1.0f / 3.0f};
static const uint8_t a_bool[] = {1, 0, 0, 1};
static const unsigned long long a_u64[] = {0, 1ull << 40, 18446744073709551615ull};
static const long long a_i64[] = {-9223372036854775807ll - 1, 0, 9223372036854775807ll};
static const double a_f64[] = {3.141592653589793, -2.5e-300, 1e300};
static const char *const a_str[] = {"<unk>", "", "\xc3\xa9t\xc3\xa9", "a \"quote\"\\ and\nnewline", "\xe2\x96\x81the"};

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: gguf_write_sample OUT.gguf OUT.json\n");
        return 2;
    }
    m = fopen(argv[2], "w");
    if (!m) return 1;
    wk_gguf_writer *w;
    if (wk_gguf_writer_new(&w)) return 1;
    fprintf(m, "{\"kv\": [");
    const char *arch = "llama";
    if (wk_gguf_writer_add_str(w, "general.architecture", arch, strlen(arch))) return 1;
    item_begin("general.architecture", "STRING");
    jstr(arch, strlen(arch));
    fputc('}', m);
    SCALAR(wk_gguf_writer_add_u32, "general.alignment", "UINT32", "%u", 64u);
    SCALAR(wk_gguf_writer_add_u8, "test.u8", "UINT8", "%u", (uint8_t)250);
    SCALAR(wk_gguf_writer_add_i8, "test.i8", "INT8", "%d", (int8_t)-7);
    SCALAR(wk_gguf_writer_add_u16, "test.u16", "UINT16", "%u", (uint16_t)65000);
    SCALAR(wk_gguf_writer_add_i16, "test.i16", "INT16", "%d", (int16_t)-12345);
    SCALAR(wk_gguf_writer_add_u32, "test.u32", "UINT32", "%u", 3000000000u);
    SCALAR(wk_gguf_writer_add_i32, "test.i32", "INT32", "%d", -123456789);
    SCALAR(wk_gguf_writer_add_f32, "test.f32", "FLOAT32", "%.9g", 1e-5f);
    SCALAR(wk_gguf_writer_add_u64, "test.u64", "UINT64", "%llu", 18446744073709551615ull);
    SCALAR(wk_gguf_writer_add_i64, "test.i64", "INT64", "%lld", -9223372036854775807ll);
    SCALAR(wk_gguf_writer_add_f64, "test.f64", "FLOAT64", "%.17g", 0.1);
    if (wk_gguf_writer_add_bool(w, "test.bool", 1)) return 1;
    item_begin("test.bool", "BOOL");
    fprintf(m, "true}");
    const char *s = "h\xc3\xa9llo \"w\\rld\"\n\ttab";
    if (wk_gguf_writer_add_str(w, "test.string", s, strlen(s))) return 1;
    item_begin("test.string", "STRING");
    jstr(s, strlen(s));
    fputc('}', m);
    ARRAY("test.arr.u8", WK_GGUF_UINT8, "UINT8", "%u", a_u8);
    ARRAY("test.arr.i8", WK_GGUF_INT8, "INT8", "%d", a_i8);
    ARRAY("test.arr.u16", WK_GGUF_UINT16, "UINT16", "%u", a_u16);
    ARRAY("test.arr.i16", WK_GGUF_INT16, "INT16", "%d", a_i16);
    ARRAY("test.arr.u32", WK_GGUF_UINT32, "UINT32", "%u", a_u32);
    ARRAY("test.arr.i32", WK_GGUF_INT32, "INT32", "%d", a_i32);
    ARRAY("test.arr.f32", WK_GGUF_FLOAT32, "FLOAT32", "%.9g", a_f32);
    ARRAY("test.arr.u64", WK_GGUF_UINT64, "UINT64", "%llu", a_u64);
    ARRAY("test.arr.i64", WK_GGUF_INT64, "INT64", "%lld", a_i64);
    ARRAY("test.arr.f64", WK_GGUF_FLOAT64, "FLOAT64", "%.17g", a_f64);
    if (wk_gguf_writer_add_arr(w, "test.arr.bool", WK_GGUF_BOOL, a_bool, 4)) return 1;
    item_begin("test.arr.bool", "ARRAY");
    fprintf(m, "[true, false, false, true], \"element_type\": \"BOOL\"}");
    size_t ns = sizeof a_str / sizeof a_str[0];
    if (wk_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", a_str, NULL, ns)) return 1;
    item_begin("tokenizer.ggml.tokens", "ARRAY");
    fputc('[', m);
    for (size_t i = 0; i < ns; i++) {
        if (i) fputs(", ", m);
        jstr(a_str[i], strlen(a_str[i]));
    }
    fprintf(m, "], \"element_type\": \"STRING\"}");
    fprintf(m, "\n],\n\"tensors\": [");

    /* tensors: F32 (3-d), F16 (1-d), Q8_0 (2-d) with deterministic bytes */
    static float f32[8 * 3 * 2];
    static uint16_t f16[96];
    static uint8_t q8[34 * 2 * 4];
    for (size_t i = 0; i < sizeof f32 / sizeof f32[0]; i++) f32[i] = (float)i * 0.5f - 3.0f;
    for (size_t i = 0; i < sizeof f16 / sizeof f16[0]; i++) f16[i] = (uint16_t)(0x3800 + 3 * i);
    for (size_t i = 0; i < sizeof q8; i++) q8[i] = (uint8_t)(i * 37 + 11);
    struct { const char *name; uint32_t type; const char *tname; uint32_t n_dims; int64_t ne[4]; const void *data; size_t nbytes; } ts[] = {
        {"token_embd.weight", 0, "F32", 3, {8, 3, 2, 1}, f32, sizeof f32},
        {"output_norm.weight", 1, "F16", 1, {96, 1, 1, 1}, f16, sizeof f16},
        {"blk.0.ffn_up.weight", 8, "Q8_0", 2, {64, 4, 1, 1}, q8, sizeof q8},
    };
    for (size_t i = 0; i < 3; i++) {
        if (wk_gguf_writer_add_tensor(w, ts[i].name, ts[i].type, ts[i].n_dims, ts[i].ne, ts[i].data)) {
            fprintf(stderr, "%s\n", wk_gguf_last_error());
            return 1;
        }
        fprintf(m, "%s\n  {\"name\": \"%s\", \"type\": \"%s\", \"shape\": [", i ? "," : "", ts[i].name, ts[i].tname);
        for (uint32_t d = 0; d < ts[i].n_dims; d++) fprintf(m, "%s%lld", d ? ", " : "", (long long)ts[i].ne[d]);
        fprintf(m, "], \"nbytes\": %zu, \"data_hex\": \"", ts[i].nbytes);
        for (size_t k = 0; k < ts[i].nbytes; k++) fprintf(m, "%02x", ((const uint8_t *)ts[i].data)[k]);
        fprintf(m, "\"}");
    }
    fprintf(m, "\n]}\n");
    if (fclose(m) != 0) return 1;
    if (wk_gguf_writer_write_file(w, argv[1])) {
        fprintf(stderr, "%s\n", wk_gguf_last_error());
        return 1;
    }
    wk_gguf_writer_free(w);
    printf("wrote %s (%d keys, 3 tensors) and %s\n", argv[1], n_items, argv[2]);
    return 0;
}
