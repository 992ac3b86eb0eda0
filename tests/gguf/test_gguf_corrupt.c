/* test_gguf_corrupt.c — hostile-input tests for the GGUF reader. Each case hand-builds a
 * malformed file byte by byte and checks that open fails with WK_GGUF_E_FORMAT and a
 * message containing the expected words; a sweep then truncates a valid file (with every
 * value type and three tensors) at every length. Each input sits in an exactly-sized heap
 * buffer so a sanitizer build catches any over-read. With argv[1] = the wick binary, a few
 * cases are also run through `wick inspect` (exit 1, one line on stderr). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gguf.h"

static int g_fail = 0, g_cases = 0;

/* ---- byte builder ---- */

typedef struct {
    uint8_t p[4096];
    size_t n;
} buf;

static void raw(buf *b, const void *p, size_t n) {
    if (b->n + n > sizeof b->p) { fprintf(stderr, "builder overflow\n"); exit(2); }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}
static void u8(buf *b, uint8_t v) { raw(b, &v, 1); }
static void u32(buf *b, uint32_t v) { for (int i = 0; i < 4; i++) u8(b, (uint8_t)(v >> (8 * i))); }
static void u64(buf *b, uint64_t v) { for (int i = 0; i < 8; i++) u8(b, (uint8_t)(v >> (8 * i))); }
static void str(buf *b, const char *s) { u64(b, strlen(s)); raw(b, s, strlen(s)); }
static void header(buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    raw(b, "GGUF", 4);
    u32(b, version);
    u64(b, n_tensors);
    u64(b, n_kv);
}
static void kv_u32(buf *b, const char *key, uint32_t v) { str(b, key); u32(b, 4); u32(b, v); }
static void kv_str(buf *b, const char *key, const char *v) { str(b, key); u32(b, 8); str(b, v); }
static void pad(buf *b, size_t a) { while (b->n % a) u8(b, 0); }
static void zeros(buf *b, size_t n) { while (n--) u8(b, 0); }

typedef struct {
    const char *name;
    uint32_t n_dims;
    uint64_t ne[5];
    uint32_t type;
    uint64_t offset;
} tdesc;

static void tinfo(buf *b, const tdesc *t) {
    str(b, t->name);
    u32(b, t->n_dims);
    for (uint32_t d = 0; d < t->n_dims && d < 5; d++) u64(b, t->ne[d]);
    u32(b, t->type);
    u64(b, t->offset);
}

/* A file with one string key, the given tensors, padding and `data` bytes of data. */
static void tensor_file(buf *b, int n, const tdesc *t, size_t data) {
    header(b, 3, (uint64_t)n, 1);
    kv_str(b, "general.name", "x");
    for (int i = 0; i < n; i++) tinfo(b, &t[i]);
    pad(b, 32);
    zeros(b, data);
}

/* ---- checking ---- */

static wk_gguf_status open_exact(const buf *b, wk_gguf **g) {
    uint8_t *copy = malloc(b->n ? b->n : 1);
    memcpy(copy, b->p, b->n);
    wk_gguf_status st = wk_gguf_open_memory(copy, b->n, "bad.gguf", g);
    if (*g) wk_gguf_free(*g); /* handle borrows copy: free it first */
    *g = NULL;
    free(copy);
    return st;
}

static void expect(const char *what, const buf *b, const char *needle) {
    wk_gguf *g = NULL;
    wk_gguf_status st = open_exact(b, &g);
    const char *msg = wk_gguf_last_error();
    int ok = st == WK_GGUF_E_FORMAT && strstr(msg, needle) != NULL && !strchr(msg, '\n') &&
             !strncmp(msg, "bad.gguf: ", 10);
    g_cases++;
    if (!ok) g_fail++;
    printf("%-4s %-44s -> %s\n", ok ? "ok" : "FAIL", what, st ? msg : "(accepted!)");
    if (!ok) printf("     expected a format error containing: %s\n", needle);
}

/* Runs `wick inspect` on b; expects exit 1 and exactly one stderr line containing needle. */
static void expect_cli(const char *wick, const char *what, const buf *b, const char *needle) {
    char path[64], errp[64], cmd[512];
    snprintf(path, sizeof path, "corrupt_cli_%d.gguf", g_cases);
    snprintf(errp, sizeof errp, "corrupt_cli_%d.err", g_cases);
    FILE *f = fopen(path, "wb");
    fwrite(b->p, 1, b->n, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' inspect %s >/dev/null 2>%s", wick, path, errp);
    int rc = system(cmd);
    rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    char err[1024] = {0};
    f = fopen(errp, "rb");
    size_t n = f ? fread(err, 1, sizeof err - 1, f) : 0;
    if (f) fclose(f);
    err[n] = 0;
    int lines = 0;
    for (size_t i = 0; i < n; i++) lines += err[i] == '\n';
    int ok = rc == 1 && lines == 1 && strstr(err, needle) != NULL;
    g_cases++;
    if (!ok) g_fail++;
    if (n && err[n - 1] == '\n') err[n - 1] = 0;
    printf("%-4s wick inspect: %-30s -> exit %d, %d stderr line(s): %s\n", ok ? "ok" : "FAIL", what, rc, lines, err);
    unlink(path);
    unlink(errp);
}

/* ---- the cases ---- */

static void cases(void) {
    buf b;
#define CASE(what, needle, ...) do { b.n = 0; __VA_ARGS__; expect(what, &b, needle); } while (0)
    CASE("empty file", "too small to be GGUF", (void)0);
    CASE("3-byte file", "too small to be GGUF", raw(&b, "GGU", 3));
    CASE("bad magic", "bad magic 'GGUX'", header(&b, 3, 0, 0); b.p[3] = 'X');
    CASE("magic only", "file truncated at offset 4 reading the version", raw(&b, "GGUF", 4));
    CASE("version 0", "invalid GGUF version 0", header(&b, 0, 0, 0));
    CASE("version 1", "version 1 is no longer supported", header(&b, 1, 0, 0));
    CASE("version 4", "unsupported GGUF version 4", header(&b, 4, 0, 0));
    CASE("big-endian version", "big-endian GGUF is not supported", header(&b, 0x03000000u, 0, 0));
    CASE("truncated counts", "reading the tensor and key counts", raw(&b, "GGUF", 4); u32(&b, 3); u64(&b, 0));
    CASE("huge key count", "key count 18446744073709551615 is more than the file", header(&b, 3, 0, UINT64_MAX));
    CASE("key count 1, no keys", "key count 1 is more than the file", header(&b, 3, 0, 1));
    CASE("huge tensor count", "tensor count 1152921504606846976 is more than", header(&b, 3, 1ull << 60, 0); zeros(&b, 64));
    CASE("huge key length", "key 0: length 1099511627776 at offset 24 runs past the end",
         header(&b, 3, 0, 1); u64(&b, 1ull << 40); zeros(&b, 16));
    CASE("empty key", "key 0 at offset 24 is empty", header(&b, 3, 0, 1); u64(&b, 0); u32(&b, 4); u32(&b, 1); zeros(&b, 8));
    CASE("key with NUL", "key 'a\\x00b' contains a NUL byte", header(&b, 3, 0, 1); u64(&b, 3); raw(&b, "a\0b", 3); u32(&b, 4); u32(&b, 1));
    CASE("truncated key", "reading the value type of key 'general.n'", header(&b, 3, 0, 1); str(&b, "general.n"); u8(&b, 0));
    CASE("unknown value type", "key 'k' has an unknown value type 13", header(&b, 3, 0, 1); str(&b, "k"); u32(&b, 13); zeros(&b, 8));
    CASE("huge value type", "unknown value type 4294967295", header(&b, 3, 0, 1); str(&b, "k"); u32(&b, UINT32_MAX); zeros(&b, 8));
    CASE("truncated u64 value", "reading the UINT64 value of key 'k'", header(&b, 3, 0, 1); str(&b, "k"); u32(&b, 10); u32(&b, 0); u8(&b, 0));
    CASE("huge string length", "key 'k': string length 4611686018427387904 at offset 37",
         header(&b, 3, 0, 1); str(&b, "k"); u32(&b, 8); u64(&b, 1ull << 62); zeros(&b, 8));
    CASE("string 1 past end", "string length 9 at offset 37 runs past the end of the file (8 bytes left)",
         header(&b, 3, 0, 1); str(&b, "k"); u32(&b, 8); u64(&b, 9); raw(&b, "12345678", 8));
    CASE("nested array", "key 'k' is an array of arrays",
         header(&b, 3, 0, 1); str(&b, "k"); u32(&b, 9); u32(&b, 9); u64(&b, 1); u32(&b, 4); u64(&b, 1); u32(&b, 7));
    CASE("array bad element type", "key 'k' has an unknown array element type 99",
         header(&b, 3, 0, 1); str(&b, "k"); u32(&b, 9); u32(&b, 99); u64(&b, 1); u32(&b, 7));
    CASE("huge u32 array count", "key 'k': array of 4611686018427387904 UINT32 elements runs past",
         header(&b, 3, 0, 1); str(&b, "k"); u32(&b, 9); u32(&b, 4); u64(&b, 1ull << 62); zeros(&b, 16));
    CASE("u64 array count * 8 overflows", "array of 2305843009213693953 UINT64 elements runs past",
         header(&b, 3, 0, 1); str(&b, "k"); u32(&b, 9); u32(&b, 10); u64(&b, (1ull << 61) + 1); zeros(&b, 16));
    CASE("huge string array count", "key 'k': string array count 1152921504606846976 is more than",
         header(&b, 3, 0, 1); str(&b, "k"); u32(&b, 9); u32(&b, 8); u64(&b, 1ull << 60); zeros(&b, 16));
    CASE("string array element too long", "key 'k': string 1 length 1000 at offset",
         header(&b, 3, 0, 1); str(&b, "k"); u32(&b, 9); u32(&b, 8); u64(&b, 2); str(&b, "ab"); u64(&b, 1000); zeros(&b, 8));
    CASE("string array truncated", "reading the length of string 2 of array key 'k'",
         header(&b, 3, 0, 1); str(&b, "k"); u32(&b, 9); u32(&b, 8); u64(&b, 3); str(&b, "ab"); str(&b, "c"); zeros(&b, 6));
    CASE("bool value 2", "key 'b': bool value 2 (must be 0 or 1)", header(&b, 3, 0, 1); str(&b, "b"); u32(&b, 7); u8(&b, 2));
    CASE("bool array element 2", "key 'b': bool element 1 has value 2",
         header(&b, 3, 0, 1); str(&b, "b"); u32(&b, 9); u32(&b, 7); u64(&b, 3); u8(&b, 1); u8(&b, 2); u8(&b, 0));
    CASE("duplicate key", "duplicate key 'general.name' (keys 0 and 2)",
         header(&b, 3, 0, 3); kv_str(&b, "general.name", "a"); kv_u32(&b, "x", 1); kv_str(&b, "general.name", "b"));
    CASE("alignment 0", "general.alignment = 0 is not a nonzero power of two", header(&b, 3, 0, 1); kv_u32(&b, "general.alignment", 0));
    CASE("alignment 3", "general.alignment = 3 is not a nonzero power of two", header(&b, 3, 0, 1); kv_u32(&b, "general.alignment", 3));
    CASE("alignment as u64", "general.alignment has type UINT64 (must be UINT32)",
         header(&b, 3, 0, 1); str(&b, "general.alignment"); u32(&b, 10); u64(&b, 32));
    CASE("alignment as array", "general.alignment has type ARRAY",
         header(&b, 3, 0, 1); str(&b, "general.alignment"); u32(&b, 9); u32(&b, 4); u64(&b, 1); u32(&b, 32));
    /* tensor infos */
    const char *n64 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; /* 64 bytes */
    tdesc t1[3] = {{"a", 1, {32}, 0, 0}, {"b", 1, {32}, 0, 128}, {"c", 1, {32}, 0, 256}};
    CASE("tensor name 64 bytes", "tensor 0: name length 64 at offset 57 is too long (max 63 bytes)",
         tensor_file(&b, 1, (tdesc[]){{n64, 1, {8}, 0, 0}}, 32));
    CASE("tensor name length huge", "name length 18446744073709551615", header(&b, 3, 1, 0); u64(&b, UINT64_MAX); zeros(&b, 40));
    CASE("tensor name with NUL", "tensor name 'a\\x00' contains a NUL byte",
         header(&b, 3, 1, 0); u64(&b, 2); raw(&b, "a\0", 2); u32(&b, 1); u64(&b, 8); u32(&b, 0); u64(&b, 0); zeros(&b, 64));
    CASE("duplicate tensor name", "duplicate tensor name 'a' (tensors 0 and 1)",
         tensor_file(&b, 2, (tdesc[]){{"a", 1, {32}, 0, 0}, {"a", 1, {32}, 0, 128}}, 256));
    CASE("n_dims 0", "tensor 'a' has n_dims 0 (must be 1..4)", tensor_file(&b, 1, (tdesc[]){{"a", 0, {0}, 0, 0}}, 64));
    CASE("n_dims 5", "tensor 'a' has n_dims 5 (must be 1..4)", tensor_file(&b, 1, (tdesc[]){{"a", 5, {1, 1, 1, 1, 1}, 0, 0}}, 64));
    CASE("zero dim", "tensor 'a' has a zero dimension ne[1] = 0", tensor_file(&b, 1, (tdesc[]){{"a", 2, {4, 0}, 0, 0}}, 64));
    CASE("negative dim", "tensor 'a' has a negative dimension ne[0] = -5",
         tensor_file(&b, 1, (tdesc[]){{"a", 1, {(uint64_t)-5}, 0, 0}}, 64));
    CASE("element count overflow", "tensor 'a' shape [1099511627776, 1099511627776, 1, 1] overflows",
         tensor_file(&b, 1, (tdesc[]){{"a", 2, {1ull << 40, 1ull << 40}, 0, 0}}, 64));
    CASE("byte size overflow", "shape [4611686018427387904, 1, 1, 1] overflows",
         tensor_file(&b, 1, (tdesc[]){{"a", 1, {1ull << 62}, 28, 0}}, 64));
    CASE("truncated dims", "reading the dims, type and offset of tensor 'a'",
         header(&b, 3, 1, 0); str(&b, "a"); u32(&b, 4); u64(&b, 1); u64(&b, 1); zeros(&b, 20));
    CASE("unknown type 43", "tensor 'a' has unknown type 43", tensor_file(&b, 1, (tdesc[]){{"a", 1, {32}, 43, 0}}, 64));
    CASE("ik_llama private type 97", "tensor 'a' has unknown type 97", tensor_file(&b, 1, (tdesc[]){{"a", 1, {32}, 97, 0}}, 64));
    CASE("retired type 4", "tensor 'a' has retired type 4 (Q4_2)", tensor_file(&b, 1, (tdesc[]){{"a", 1, {32}, 4, 0}}, 64));
    CASE("retired type 31", "tensor 'a' has retired type 31 (Q4_0_4_4)", tensor_file(&b, 1, (tdesc[]){{"a", 1, {32}, 31, 0}}, 64));
    CASE("retired type 36", "retired type 36 (IQ4_NL_4_4)", tensor_file(&b, 1, (tdesc[]){{"a", 1, {32}, 36, 0}}, 64));
    CASE("ne[0] not a block multiple", "tensor 'a' ne[0] = 33 is not a multiple of the Q8_0 block size 32",
         tensor_file(&b, 1, (tdesc[]){{"a", 1, {33}, 8, 0}}, 64));
    CASE("Q4_K ne[0] 128", "ne[0] = 128 is not a multiple of the Q4_K block size 256",
         tensor_file(&b, 1, (tdesc[]){{"a", 1, {128}, 12, 0}}, 256));
    /* data offsets */
    CASE("misaligned offset", "tensor 'b' offset 144 is not a multiple of the alignment 32",
         t1[1].offset = 144; tensor_file(&b, 3, t1, 512); t1[1].offset = 128);
    CASE("first offset not 0", "tensor 'a' has offset 32, expected 0",
         tensor_file(&b, 1, (tdesc[]){{"a", 1, {8}, 0, 32}}, 128));
    CASE("gap between tensors", "tensor 'b' has offset 160, expected 128",
         t1[1].offset = 160; t1[2].offset = 288; tensor_file(&b, 3, t1, 512); t1[1].offset = 128; t1[2].offset = 256);
    CASE("overlapping tensors", "tensor 'b' data at offset 64 overlaps tensor 'a' [0, 128)",
         t1[1].offset = 64; tensor_file(&b, 3, t1, 512); t1[1].offset = 128);
    CASE("out-of-order tensors", "tensor 'c' offset 0 is before the previous tensor 'b' at 128",
         t1[2].offset = 0; tensor_file(&b, 3, t1, 512); t1[2].offset = 256);
    CASE("data past the end", "tensor 'c' data [", tensor_file(&b, 3, t1, 300));
    CASE("data past the end (msg)", "ends past the file (", tensor_file(&b, 3, t1, 383));
    CASE("huge offset", "tensor 'a' has offset 18446744073709551584, expected 0",
         tensor_file(&b, 1, (tdesc[]){{"a", 1, {8}, 0, UINT64_MAX - 31}}, 64));
    CASE("data section past the end", "data section would start at",
         header(&b, 3, 1, 0); tinfo(&b, &(tdesc){"a", 1, {8}, 0, 0}));
    CASE("custom alignment 64 violated", "tensor 'b' offset 32 is not a multiple of the alignment 64",
         header(&b, 3, 2, 1); kv_u32(&b, "general.alignment", 64); tinfo(&b, &(tdesc){"a", 1, {8}, 0, 0});
         tinfo(&b, &(tdesc){"b", 1, {8}, 0, 32}); pad(&b, 64); zeros(&b, 128));
#undef CASE
}

/* tokenizer.ggml.tokens declared as an INT32 array: a valid file, but the type-strict
 * string-array getter must refuse it. */
static void tokens_as_int32(void) {
    buf b = {.n = 0};
    header(&b, 3, 0, 1);
    str(&b, "tokenizer.ggml.tokens");
    u32(&b, 9);
    u32(&b, 5);
    u64(&b, 3);
    u32(&b, 1); u32(&b, 2); u32(&b, 3);
    wk_gguf *g = NULL;
    wk_gguf_status st = wk_gguf_open_memory(b.p, b.n, "tok.gguf", &g);
    const char *s;
    uint64_t len;
    wk_gguf_status st2 = g ? wk_gguf_get_arr_str(g, "tokenizer.ggml.tokens", 0, &s, &len) : WK_GGUF_OK;
    int ok = st == WK_GGUF_OK && st2 == WK_GGUF_E_TYPE &&
             strstr(wk_gguf_last_error(), "key 'tokenizer.ggml.tokens' is an array of INT32, not of STRING");
    g_cases++;
    if (!ok) g_fail++;
    printf("%-4s %-44s -> %s\n", ok ? "ok" : "FAIL", "tokens as INT32 array (string getter)", wk_gguf_last_error());
    wk_gguf_free(g);
}

/* Truncates a valid writer-built file at every length before its last tensor's end. */
static void truncation_sweep(void) {
    static float f[64];
    static uint8_t q[34 * 2];
    static const uint32_t u[3] = {1, 2, 3};
    static const char *const s[2] = {"tok", "en"};
    wk_gguf_writer *w;
    wk_gguf_writer_new(&w);
    wk_gguf_writer_add_str(w, "general.architecture", "llama", 5);
    wk_gguf_writer_add_u8(w, "a", 1);
    wk_gguf_writer_add_i16(w, "b", -2);
    wk_gguf_writer_add_f64(w, "c", 0.5);
    wk_gguf_writer_add_bool(w, "d", 1);
    wk_gguf_writer_add_arr(w, "e", WK_GGUF_UINT32, u, 3);
    wk_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", s, NULL, 2);
    int64_t ne1[2] = {8, 2}, ne2[1] = {64};
    wk_gguf_writer_add_tensor(w, "x", 0, 2, ne1, f);
    wk_gguf_writer_add_tensor(w, "q", 8, 1, ne2, q);
    wk_gguf_writer_add_tensor(w, "y", 1, 1, ne2, f);
    void *full;
    size_t size;
    if (wk_gguf_writer_write_memory(w, &full, &size)) {
        printf("FAIL truncation sweep: cannot build: %s\n", wk_gguf_last_error());
        g_fail++;
        wk_gguf_writer_free(w);
        return;
    }
    wk_gguf *g;
    wk_gguf_open_memory(full, size, "full", &g);
    const wk_gguf_tensor *last = wk_gguf_tensor_at(g, 2);
    size_t end = (size_t)(wk_gguf_data_offset(g) + last->offset + last->nbytes);
    wk_gguf_free(g);
    int bad = 0, kinds_eof = 0, kinds_past = 0, kinds_other = 0;
    for (size_t n = 0; n < end; n++) {
        uint8_t *p = malloc(n ? n : 1);
        memcpy(p, full, n);
        wk_gguf_status st = wk_gguf_open_memory(p, n, "cut.gguf", &g);
        const char *m = wk_gguf_last_error();
        if (st != WK_GGUF_E_FORMAT || !*m) {
            if (bad++ < 5) printf("FAIL truncated at %zu: status %d (%s)\n", n, st, m);
        } else if (strstr(m, "file truncated at offset")) kinds_eof++;
        else if (strstr(m, "ends past the file") || strstr(m, "past the end")) kinds_past++;
        else kinds_other++;
        wk_gguf_free(g);
        free(p);
    }
    /* from the last tensor's end on, the file is valid (the final padding is optional) */
    for (size_t n = end; n <= size; n++) {
        int st = wk_gguf_open_memory(full, n, "cut.gguf", &g);
        if (st) { if (bad++ < 5) printf("FAIL length %zu rejected: %s\n", n, wk_gguf_last_error()); }
        wk_gguf_free(g);
    }
    g_cases++;
    if (bad) g_fail++;
    printf("%-4s truncation sweep: %zu lengths rejected (%d 'truncated at', %d 'past the end', %d other), %zu accepted\n",
           bad ? "FAIL" : "ok", end, kinds_eof, kinds_past, kinds_other, size - end + 1);
    free(full);
    wk_gguf_writer_free(w);
}

static void cli_cases(const char *wick) {
    buf b;
    b.n = 0; header(&b, 1, 0, 0);
    expect_cli(wick, "version 1", &b, "version 1 is no longer supported");
    b.n = 0; header(&b, 3, 0, 1); str(&b, "b"); u32(&b, 7); u8(&b, 2);
    expect_cli(wick, "bool 2", &b, "bool value 2");
    tdesc t[2] = {{"blk.0.w", 1, {32}, 0, 0}, {"blk.1.w", 1, {32}, 0, 128}};
    b.n = 0; tensor_file(&b, 2, t, 200);
    expect_cli(wick, "data past the end", &b, "tensor 'blk.1.w' data [");
    b.n = 0; raw(&b, "GGML", 4);
    expect_cli(wick, "bad magic", &b, "bad magic");
    /* a missing file */
    char cmd[512], err[512] = {0};
    snprintf(cmd, sizeof cmd, "'%s' inspect no_such_file.gguf >/dev/null 2>missing.err", wick);
    int rc = system(cmd);
    rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    FILE *f = fopen("missing.err", "rb");
    size_t n = f ? fread(err, 1, sizeof err - 1, f) : 0;
    if (f) fclose(f);
    unlink("missing.err");
    int ok = rc == 1 && n > 0 && strstr(err, "no_such_file.gguf: cannot open");
    g_cases++;
    if (!ok) g_fail++;
    printf("%-4s wick inspect: missing file -> exit %d: %.*s", ok ? "ok" : "FAIL", rc, (int)n, err);
}

int main(int argc, char **argv) {
    cases();
    tokens_as_int32();
    truncation_sweep();
    if (argc > 1) cli_cases(argv[1]);
    printf("%d cases, %d failed\n", g_cases, g_fail);
    return g_fail ? 1 : 0;
}
