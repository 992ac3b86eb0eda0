/* quant_tool.c — raw-file front end to the reference quantizers, for the Python checks
 * against gguf-py (check_quant.py, check_real_models.py):
 *   quant_tool deq TYPE in.bin out.f32   dequantize whole blocks of TYPE to f32
 *   quant_tool q   TYPE in.f32 out.bin   quantize f32 (a multiple of the block size)
 *   quant_tool types                     "name block_size type_size" per supported type
 * TYPE is a wick type name (q4_0, q4_K, iq4_xs, f16, ...). Exit 0 on success, 1 on error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/quant/quant.h"
#include "wick.h"

static int type_by_name(const char *name, wk_type *out) {
    for (int t = 0; t < WK_TYPE_COUNT; t++) {
        const char *n = wk_type_name((wk_type)t);
        if (n && strcmp(n, name) == 0 && wk_quant_supported((wk_type)t)) {
            *out = (wk_type)t;
            return 1;
        }
    }
    fprintf(stderr, "quant_tool: unknown or unsupported type '%s'\n", name);
    return 0;
}

static void *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    void *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
            fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

static int write_file(const char *path, const void *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(buf, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "types") == 0) {
        for (int t = 0; t < WK_TYPE_COUNT; t++)
            if (wk_quant_supported((wk_type)t))
                printf("%s %lld %zu\n", wk_type_name((wk_type)t), (long long)wk_type_block_size((wk_type)t),
                       wk_type_size((wk_type)t));
        return 0;
    }
    wk_type t;
    if (argc != 5 || (strcmp(argv[1], "deq") && strcmp(argv[1], "q"))) {
        fprintf(stderr, "usage: quant_tool deq|q TYPE IN OUT | quant_tool types\n");
        return 1;
    }
    if (!type_by_name(argv[2], &t)) return 1;
    size_t len = 0;
    void *in = read_file(argv[3], &len);
    if (!in) {
        fprintf(stderr, "quant_tool: cannot read %s\n", argv[3]);
        return 1;
    }
    const size_t bs = (size_t)wk_type_block_size(t), ts = wk_type_size(t);
    const int deq = argv[1][0] == 'd';
    const size_t unit = deq ? ts : bs * sizeof(float);
    if (len % unit) {
        fprintf(stderr, "quant_tool: %s: %zu bytes is not whole blocks of %s\n", argv[3], len, argv[2]);
        free(in);
        return 1;
    }
    const size_t nblk = len / unit, n = nblk * bs;
    const size_t out_len = deq ? n * sizeof(float) : nblk * ts;
    void *out = malloc(out_len ? out_len : 1);
    if (!out) return 1;
    if (deq) wk_dequantize_row(t, in, out, (int64_t)n);
    else wk_quantize_row(t, in, out, (int64_t)n);
    int ok = write_file(argv[4], out, out_len);
    if (!ok) fprintf(stderr, "quant_tool: cannot write %s\n", argv[4]);
    free(in);
    free(out);
    return ok ? 0 : 1;
}
