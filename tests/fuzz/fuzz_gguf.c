/* fuzz_gguf.c — libFuzzer target for the GGUF reader and writer. Every input goes through
 * wk_gguf_open_memory; an accepted file has every key read with every getter (exactly the
 * getter of its type must succeed), every string-array element and tensor byte touched,
 * and is copied through the writer: the copy must open again and re-copy byte-identically.
 * A rejected file must leave a one-line message. Built with -DWK_FUZZ_MAIN, a small main()
 * replays files and directories instead (the gguf_fuzz_regress ctest). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"

/* A violated property is a finding: crash so libFuzzer records the input. */
#define PROP(c)                                                                              \
    do {                                                                                     \
        if (!(c)) {                                                                          \
            fprintf(stderr, "property failed: %s (%s:%d) [%s]\n", #c, __FILE__, __LINE__,     \
                    wk_gguf_last_error());                                                   \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

static volatile uint64_t g_sink; /* keeps the reads from being optimized out */

static void touch(const void *p, uint64_t n) {
    const uint8_t *b = p;
    if (n) g_sink += b[0] + b[n - 1];
}

static void getters(const wk_gguf *g, uint64_t i) {
    const char *key = wk_gguf_kv_key(g, i);
    wk_gguf_type t = wk_gguf_kv_type(g, i);
    PROP(key && t < WK_GGUF_TYPE_COUNT && wk_gguf_find_key(g, key) == (int64_t)i);
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32; float f32;
            uint64_t u64; int64_t i64; double f64; int b; } v;
    const char *s;
    uint64_t len, n;
    int ok = 0;
    ok += wk_gguf_get_u8(g, key, &v.u8) == WK_GGUF_OK;
    ok += wk_gguf_get_i8(g, key, &v.i8) == WK_GGUF_OK;
    ok += wk_gguf_get_u16(g, key, &v.u16) == WK_GGUF_OK;
    ok += wk_gguf_get_i16(g, key, &v.i16) == WK_GGUF_OK;
    ok += wk_gguf_get_u32(g, key, &v.u32) == WK_GGUF_OK;
    ok += wk_gguf_get_i32(g, key, &v.i32) == WK_GGUF_OK;
    ok += wk_gguf_get_f32(g, key, &v.f32) == WK_GGUF_OK;
    ok += wk_gguf_get_u64(g, key, &v.u64) == WK_GGUF_OK;
    ok += wk_gguf_get_i64(g, key, &v.i64) == WK_GGUF_OK;
    ok += wk_gguf_get_f64(g, key, &v.f64) == WK_GGUF_OK;
    ok += wk_gguf_get_bool(g, key, &v.b) == WK_GGUF_OK;
    if (wk_gguf_get_str(g, key, &s, &len) == WK_GGUF_OK) {
        ok++;
        touch(s, len);
    }
    wk_gguf_type et;
    if (wk_gguf_get_arr_info(g, key, &et, &n) == WK_GGUF_OK) {
        ok++;
        PROP(t == WK_GGUF_ARRAY && et < WK_GGUF_TYPE_COUNT && et != WK_GGUF_ARRAY);
        if (et == WK_GGUF_STRING) {
            /* every element, bounded so one huge array cannot time out */
            uint64_t lim = n < 100000 ? n : 100000;
            for (uint64_t k = 0; k < lim; k++) {
                PROP(wk_gguf_get_arr_str(g, key, k, &s, &len) == WK_GGUF_OK);
                touch(s, len);
            }
            if (n) PROP(wk_gguf_get_arr_str(g, key, n - 1, &s, &len) == WK_GGUF_OK);
            PROP(wk_gguf_get_arr_str(g, key, n, &s, &len) == WK_GGUF_E_RANGE);
        } else {
            const void *d;
            uint64_t n2;
            PROP(wk_gguf_get_arr_data(g, key, et, &d, &n2) == WK_GGUF_OK && n2 == n);
            touch(d, n * (et == WK_GGUF_BOOL || et <= WK_GGUF_INT8 ? 1 : et <= WK_GGUF_INT16 ? 2 : et <= WK_GGUF_FLOAT32 ? 4 : 8));
            PROP(wk_gguf_get_arr_str(g, key, 0, &s, &len) == WK_GGUF_E_TYPE);
        }
    }
    PROP(ok == 1); /* type-strict: exactly the matching getter succeeds */
    uint64_t nb;
    const void *raw = wk_gguf_kv_raw(g, i, &nb);
    PROP(raw != NULL);
    touch(raw, nb);
}

static void check_file(const wk_gguf *g) {
    PROP(wk_gguf_version(g) == 2 || wk_gguf_version(g) == 3);
    uint32_t a = wk_gguf_alignment(g);
    PROP(a && !(a & (a - 1)));
    PROP(wk_gguf_data_offset(g) <= wk_gguf_file_size(g));
    for (uint64_t i = 0; i < wk_gguf_n_kv(g); i++) getters(g, i);
    PROP(wk_gguf_kv_key(g, wk_gguf_n_kv(g)) == NULL && wk_gguf_kv_raw(g, wk_gguf_n_kv(g), NULL) == NULL);
    /* a key no file holds (keys cannot contain NUL, and this one is longer than any name) */
    uint32_t u32;
    PROP(wk_gguf_get_u32(g, "fuzz.no.such.key.\x01\x02\x03", &u32) == WK_GGUF_E_NOTFOUND ||
         wk_gguf_find_key(g, "fuzz.no.such.key.\x01\x02\x03") >= 0);
    if (wk_gguf_get_u32(g, "general.file_type", &u32) == WK_GGUF_OK) {
        const char *ftn = wk_gguf_file_type_name(u32);
        if (ftn) touch(ftn, strlen(ftn));
    }
    for (uint64_t i = 0; i < wk_gguf_n_tensors(g); i++) {
        const wk_gguf_tensor *t = wk_gguf_tensor_at(g, i);
        PROP(t && wk_gguf_find_tensor(g, t->name) == (int64_t)i);
        uint32_t bs = 0, bb = 0;
        PROP(t->n_dims >= 1 && t->n_dims <= 4 && wk_gguf_ggml_type_name(t->type) != NULL &&
             wk_gguf_ggml_type_size(t->type, &bs, &bb) && t->ne[0] % bs == 0 &&
             t->nbytes == (uint64_t)(t->ne[0] / bs) * bb * (uint64_t)t->ne[1] * (uint64_t)t->ne[2] * (uint64_t)t->ne[3]);
        for (uint32_t d = t->n_dims; d < 4; d++) PROP(t->ne[d] == 1);
        PROP(t->offset % a == 0 && t->nbytes > 0);
        PROP((const uint8_t *)t->data + t->nbytes <= (const uint8_t *)wk_gguf_file_data(g) + wk_gguf_file_size(g));
        touch(t->data, t->nbytes);
    }
    PROP(wk_gguf_tensor_at(g, wk_gguf_n_tensors(g)) == NULL);
}

static void check_writer(const wk_gguf *g) {
    wk_gguf_writer *w;
    wk_gguf_status st = wk_gguf_writer_from_reader(g, &w);
    if (st == WK_GGUF_E_NOMEM) return;
    PROP(st == WK_GGUF_OK);
    void *buf;
    size_t size;
    st = wk_gguf_writer_write_memory(w, &buf, &size);
    if (st == WK_GGUF_E_NOMEM) { wk_gguf_writer_free(w); return; }
    PROP(st == WK_GGUF_OK && size == wk_gguf_writer_size(w));
    /* the copy is a valid file with the same content, and copying it again is identical */
    wk_gguf *g2;
    PROP(wk_gguf_open_memory(buf, size, "copy", &g2) == WK_GGUF_OK);
    PROP(wk_gguf_n_kv(g2) == wk_gguf_n_kv(g) && wk_gguf_n_tensors(g2) == wk_gguf_n_tensors(g));
    for (uint64_t i = 0; i < wk_gguf_n_tensors(g); i++) {
        const wk_gguf_tensor *a = wk_gguf_tensor_at(g, i), *b = wk_gguf_tensor_at(g2, i);
        PROP(!strcmp(a->name, b->name) && a->type == b->type && a->nbytes == b->nbytes && a->offset == b->offset &&
             !memcmp(a->data, b->data, (size_t)a->nbytes));
    }
    wk_gguf_writer *w2;
    PROP(wk_gguf_writer_from_reader(g2, &w2) == WK_GGUF_OK);
    void *buf2;
    size_t size2;
    PROP(wk_gguf_writer_write_memory(w2, &buf2, &size2) == WK_GGUF_OK);
    PROP(size2 == size && !memcmp(buf, buf2, size));
    free(buf2);
    wk_gguf_writer_free(w2);
    wk_gguf_free(g2);
    free(buf);
    wk_gguf_writer_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wk_gguf *g = NULL;
    wk_gguf_status st = wk_gguf_open_memory(data, size, "fuzz.gguf", &g);
    if (st != WK_GGUF_OK) {
        const char *m = wk_gguf_last_error();
        PROP(g == NULL && *m && !strchr(m, '\n') && !strncmp(m, "fuzz.gguf: ", 11));
        return 0;
    }
    check_file(g);
    check_writer(g);
    wk_gguf_free(g);
    return 0;
}

#ifdef WK_FUZZ_MAIN
/* Regression driver: replays every file given, or every file in a directory given. */
#include <dirent.h>
#include <sys/stat.h>

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    size_t got = b ? fread(b, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!b || got != (size_t)n) {
        free(b);
        fprintf(stderr, "cannot read %s\n", path);
        return 1;
    }
    wk_gguf *g = NULL;
    int ok = wk_gguf_open_memory(b, (size_t)n, "x", &g) == WK_GGUF_OK;
    wk_gguf_free(g);
    LLVMFuzzerTestOneInput(b, (size_t)n);
    printf("  %-70s %8ld bytes  %s\n", path, n, ok ? "accepted" : wk_gguf_last_error());
    free(b);
    return 0;
}

int main(int argc, char **argv) {
    int files = 0, errors = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "missing: %s\n", argv[i]);
            errors++;
            continue;
        }
        if (!S_ISDIR(sb.st_mode)) {
            errors += run_file(argv[i]);
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
            errors += run_file(p);
            files++;
        }
        if (d) closedir(d);
    }
    printf("%d inputs replayed, %d unreadable\n", files, errors);
    return errors || !files ? 1 : 0;
}
#endif
