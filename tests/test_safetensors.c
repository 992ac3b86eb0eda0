/* test_safetensors.c — the safetensors reader on handcrafted files: a valid file (two
 * tensors, an empty one, metadata) read back exactly and rewritten byte for byte by the
 * writer; then each kind of malformed file (header length overflow or past the end, bad
 * JSON, unknown dtype, bad shapes, offsets outside the buffer or of the wrong size,
 * overlaps, holes, duplicates, bad metadata) refused with its one-line message. Each case
 * is also written to tests/fuzz/corpus_safetensors/ when WK_WRITE_CORPUS is set. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/convert/safetensors.h"

static int g_fail = 0;
#define CHECK(c, ...)                                   \
    do {                                                \
        if (!(c)) {                                     \
            printf("FAIL %s:%d: ", __FILE__, __LINE__); \
            printf(__VA_ARGS__);                        \
            printf("\n");                               \
            g_fail++;                                   \
        }                                               \
    } while (0)

/* a file: 8-byte length (hl_override if nonzero), header text, n data bytes 0, 1, 2, ... */
static uint8_t *make(const char *hdr, uint64_t hl_override, size_t n_data, size_t *len) {
    const size_t hl = strlen(hdr);
    *len = 8 + hl + n_data;
    uint8_t *b = malloc(*len);
    const uint64_t v = hl_override ? hl_override : hl;
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
    memcpy(b + 8, hdr, hl);
    for (size_t i = 0; i < n_data; i++) b[8 + hl + i] = (uint8_t)i;
    return b;
}

static void save(const char *name, const uint8_t *b, size_t len) {
    const char *dir = getenv("WK_WRITE_CORPUS");
    if (!dir) return;
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (f) fwrite(b, 1, len, f), fclose(f);
}

static void bad(const char *name, const char *hdr, uint64_t hl_override, size_t n_data, const char *want) {
    size_t len;
    uint8_t *b = make(hdr, hl_override, n_data, &len);
    save(name, b, len);
    wk_st_file *f = NULL;
    const int rc = wk_st_open_memory(b, len, &f);
    CHECK(rc != 0 && f == NULL && strstr(wk_st_last_error(), want) && !strchr(wk_st_last_error(), '\n'),
          "%s: want an error with '%s', got rc %d '%s'", name, want, rc, wk_st_last_error());
    if (rc) printf("ok   %-18s %s\n", name, wk_st_last_error());
    wk_st_close(f);
    free(b);
}

int main(void) {
    /* valid: a [2, 3] F32 (24 bytes), an empty I64 [0], a [4] BF16 (8 bytes) */
    const char *good = "{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                       "\"z\":{\"dtype\":\"I64\",\"shape\":[0],\"data_offsets\":[24,24]}}";
    size_t len;
    uint8_t *b = make(good, 0, 32, &len);
    save("good", b, len);
    wk_st_file *f = NULL;
    CHECK(wk_st_open_memory(b, len, &f) == 0, "valid file: %s", wk_st_last_error());
    if (f) {
        const wk_st_tensor *a = wk_st_find(f, "a"), *bt = wk_st_find(f, "b"), *z = wk_st_find(f, "z");
        CHECK(wk_st_n_tensors(f) == 3 && a && bt && z && !wk_st_find(f, "c"), "three tensors by name");
        CHECK(a && a->dtype == WK_ST_F32 && a->n_dims == 2 && a->shape[0] == 2 && a->shape[1] == 3 && a->nbytes == 24 &&
                  a->data == b + 8 + strlen(good),
              "a: F32 [2, 3] at data offset 0");
        CHECK(bt && bt->dtype == WK_ST_BF16 && bt->nbytes == 8 && ((const uint8_t *)bt->data)[0] == 24, "b: BF16 [4] at 24");
        CHECK(z && z->nbytes == 0 && z->n_elements == 0, "z: empty");
        CHECK(wk_st_n_metadata(f) == 1 && !strcmp(wk_st_metadata_get(f, "format"), "pt"), "metadata format = pt");
        /* the writer's copy reads back the same */
        wk_st_writer *w = wk_st_writer_new();
        for (size_t i = 0; i < wk_st_n_tensors(f); i++) {
            const wk_st_tensor *t = wk_st_tensor_at(f, i);
            wk_st_writer_add(w, t->name, t->dtype, t->n_dims, t->shape, t->data);
        }
        wk_st_writer_add_metadata(w, "format", "pt");
        CHECK(wk_st_writer_add(w, "a", WK_ST_F32, 0, NULL, NULL) != 0, "writer refuses a duplicate name");
        const char *path = "test_safetensors.out.safetensors";
        CHECK(wk_st_writer_write(w, path) == 0, "write: %s", wk_st_last_error());
        wk_st_writer_free(w);
        wk_st_file *g = NULL;
        CHECK(wk_st_open(path, &g) == 0, "reopen: %s", wk_st_last_error());
        for (size_t i = 0; g && i < wk_st_n_tensors(f); i++) {
            const wk_st_tensor *x = wk_st_tensor_at(f, i), *y = wk_st_find(g, x->name);
            CHECK(y && y->dtype == x->dtype && y->nbytes == x->nbytes && (!x->nbytes || !memcmp(x->data, y->data, x->nbytes)),
                  "tensor %s survives the writer", x->name);
        }
        CHECK(g && !strcmp(wk_st_metadata_get(g, "format"), "pt"), "metadata survives the writer");
        wk_st_close(g);
        remove(path);
        printf("ok   valid file read, rewritten and read again\n");
    }
    wk_st_close(f);
    free(b);
    CHECK(wk_st_open("/nonexistent/x.safetensors", &f) != 0 && strstr(wk_st_last_error(), "No such file"), "missing file");

    const char *t1 = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    {
        const uint8_t five[5] = {1, 0, 0, 0, 0};
        save("short", five, 5);
        CHECK(wk_st_open_memory(five, 5, &f) != 0 && strstr(wk_st_last_error(), "too short"), "5-byte file");
        bad("empty_header", "", 0, 0, "not a JSON object");
    }
    bad("hl_overflow", t1, 0xFFFFFFFFFFFFFFF0ull, 8, "exceeds the file");
    bad("hl_past_end", t1, 4000, 8, "exceeds the file");
    bad("not_json", "{\"a\": [1, 2", 0, 0, "not valid JSON");
    bad("not_object", "[1, 2, 3]", 0, 0, "not a JSON object");
    bad("tensor_not_obj", "{\"a\": 5}", 0, 0, "not an object");
    bad("no_dtype", "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 8, "no \"dtype\"");
    bad("bad_dtype", "{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 8, "unknown dtype 'F33'");
    bad("shape_neg", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 0, 8, "not a non-negative");
    bad("shape_frac", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 0, 8, "not a non-negative");
    bad("shape_str", "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 0, 8, "not a non-negative");
    bad("shape_overflow",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}", 0, 8,
        "overflows");
    bad("too_many_dims", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 0, 4,
        "dimensions");
    bad("offsets_outside", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 4, "outside");
    bad("offsets_reversed", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 0, 8, "outside");
    bad("offsets_huge", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[1e300,1e300]}}", 0, 8,
        "is not [begin, end]");
    bad("size_mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 0, 8, "need 12");
    bad("offsets_short", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 0, 8, "is not [begin, end]");
    bad("overlap",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[4,12]}}", 0, 12, "overlaps");
    bad("hole",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[8,12]}}", 0, 12, "a hole of 4 bytes");
    bad("trailing", t1, 0, 12, "cover 8 of the 12");
    bad("duplicate",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[4,8]}}", 0, 8, "appears twice");
    bad("meta_not_string", "{\"__metadata__\":{\"format\":1}}", 0, 0, "is not a string");
    bad("meta_not_object", "{\"__metadata__\":[1]}", 0, 0, "is not an object");
    bad("meta_duplicate", "{\"__metadata__\":{\"a\":\"x\",\"a\":\"y\"}}", 0, 0, "'a' appears twice");
    bad("data_no_tensors", "{}", 0, 4, "no tensors");
    printf("%s\n", g_fail ? "FAILED" : "PASSED");
    return g_fail != 0;
}
