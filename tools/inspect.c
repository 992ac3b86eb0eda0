/* inspect.c — `wick inspect FILE [--tensors] [--json]`: a GGUF file's header, metadata and
 * (optionally) tensor table, as text or JSON. Uses only gguf/gguf.h, which validates the
 * whole file at open: an invalid file gives exit 1 and the reader's one-line message. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gguf/gguf.h"

#define ARRAY_SHOW 8   /* text mode: array elements shown before "... (N total)" */
#define STRING_SHOW 64 /* text mode: string bytes shown before truncation */

typedef unsigned long long ull;

static void usage(FILE *f) {
    fprintf(f,
            "usage: wick inspect FILE [--tensors] [--json]\n"
            "  show a GGUF file's header and metadata; the file is fully validated first\n"
            "  --tensors  also list every tensor (name, type, shape, bytes, offset)\n"
            "  --json     print JSON instead of text\n"
            "exit: 0 ok, 1 invalid or unreadable file, 2 bad usage\n");
}

static uint64_t rd_le(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* ---- strings ----------------------------------------------------------------------- */

/* Length of a valid UTF-8 sequence at p (n bytes available), or 0 if invalid. */
static size_t utf8_len(const uint8_t *p, size_t n) {
    uint8_t c = p[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* JSON string: escapes, invalid UTF-8 bytes become U+FFFD. */
static void json_str(const char *s_, uint64_t n) {
    const uint8_t *s = (const uint8_t *)s_;
    putchar('"');
    for (uint64_t i = 0; i < n;) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') { printf("\\%c", c); i++; }
        else if (c == '\n') { fputs("\\n", stdout); i++; }
        else if (c == '\t') { fputs("\\t", stdout); i++; }
        else if (c == '\r') { fputs("\\r", stdout); i++; }
        else if (c < 0x20 || c == 0x7f) { printf("\\u%04x", c); i++; }
        else {
            size_t k = utf8_len(s + i, (size_t)(n - i));
            if (!k) { fputs("\\ufffd", stdout); i++; }
            else { fwrite(s + i, 1, k, stdout); i += k; }
        }
    }
    putchar('"');
}

/* Text: quoted, escaped, truncated to `max` bytes. */
static void text_str(const char *s_, uint64_t n, uint64_t max) {
    const uint8_t *s = (const uint8_t *)s_;
    uint64_t shown = n < max ? n : max;
    putchar('"');
    for (uint64_t i = 0; i < shown; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c == '\n') fputs("\\n", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c < 0x20 || c == 0x7f) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('"');
    if (shown < n) printf("... (%llu bytes)", (ull)n);
}

/* Names from the file for a text column: control bytes escaped, bounded length. */
static const char *safe_name(char *buf, size_t cap, const char *s) {
    size_t o = 0;
    for (; *s && o + 5 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f) o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
        else buf[o++] = (char)c;
    }
    buf[o] = 0;
    return buf;
}

/* ---- values ------------------------------------------------------------------------ */

static size_t scalar_size(wk_gguf_type t) {
    switch (t) {
    case WK_GGUF_UINT8: case WK_GGUF_INT8: case WK_GGUF_BOOL: return 1;
    case WK_GGUF_UINT16: case WK_GGUF_INT16: return 2;
    case WK_GGUF_UINT32: case WK_GGUF_INT32: case WK_GGUF_FLOAT32: return 4;
    case WK_GGUF_UINT64: case WK_GGUF_INT64: case WK_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

static void print_float(double v, int digits, int json) {
    if (json && !isfinite(v)) fputs("null", stdout); /* JSON has no NaN/Inf */
    else printf("%.*g", digits, v);
}

/* One numeric/bool scalar from raw little-endian bytes. */
static void print_scalar(wk_gguf_type t, const uint8_t *p, int json) {
    uint64_t u = rd_le(p, scalar_size(t));
    switch (t) {
    case WK_GGUF_UINT8: case WK_GGUF_UINT16: case WK_GGUF_UINT32: case WK_GGUF_UINT64: printf("%llu", (ull)u); break;
    case WK_GGUF_INT8: printf("%d", (int8_t)u); break;
    case WK_GGUF_INT16: printf("%d", (int16_t)u); break;
    case WK_GGUF_INT32: printf("%d", (int32_t)u); break;
    case WK_GGUF_INT64: printf("%lld", (long long)(int64_t)u); break;
    case WK_GGUF_BOOL: fputs(u ? "true" : "false", stdout); break;
    case WK_GGUF_FLOAT32: { uint32_t b = (uint32_t)u; float f; memcpy(&f, &b, 4); print_float(f, 9, json); break; }
    case WK_GGUF_FLOAT64: { double d; memcpy(&d, &u, 8); print_float(d, 17, json); break; }
    default: fputs("?", stdout);
    }
}

/* The value of key i: JSON prints everything, text abbreviates long arrays and strings. */
static void print_value(const wk_gguf *g, uint64_t i, int json) {
    const char *key = wk_gguf_kv_key(g, i);
    wk_gguf_type t = wk_gguf_kv_type(g, i);
    uint64_t nbytes;
    const uint8_t *raw = wk_gguf_kv_raw(g, i, &nbytes);
    if (t == WK_GGUF_STRING) {
        if (json) json_str((const char *)raw, nbytes);
        else text_str((const char *)raw, nbytes, STRING_SHOW);
        return;
    }
    if (t != WK_GGUF_ARRAY) {
        print_scalar(t, raw, json);
        return;
    }
    wk_gguf_type et;
    uint64_t n;
    wk_gguf_get_arr_info(g, key, &et, &n);
    uint64_t show = json || n <= ARRAY_SHOW ? n : ARRAY_SHOW;
    putchar('[');
    for (uint64_t k = 0; k < show; k++) {
        if (k) fputs(", ", stdout);
        if (et == WK_GGUF_STRING) {
            const char *s;
            uint64_t len;
            wk_gguf_get_arr_str(g, key, k, &s, &len);
            if (json) json_str(s, len);
            else text_str(s, len, 32);
        } else {
            print_scalar(et, raw + k * scalar_size(et), json);
        }
    }
    if (show < n) printf(", ... (%llu total)", (ull)n);
    putchar(']');
}

static void type_label(char *buf, size_t cap, const wk_gguf *g, uint64_t i) {
    wk_gguf_type t = wk_gguf_kv_type(g, i);
    if (t == WK_GGUF_ARRAY) {
        wk_gguf_type et;
        uint64_t n;
        wk_gguf_get_arr_info(g, wk_gguf_kv_key(g, i), &et, &n);
        snprintf(buf, cap, "[%s; %llu]", wk_gguf_type_name(et), (ull)n);
    } else {
        snprintf(buf, cap, "%s", wk_gguf_type_name(t));
    }
}

static void shape_str(char *buf, size_t cap, const wk_gguf_tensor *t) {
    size_t o = 0;
    o += (size_t)snprintf(buf + o, cap - o, "[");
    for (uint32_t d = 0; d < t->n_dims && o < cap; d++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%lld", d ? ", " : "", (long long)t->ne[d]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
}

static const char *file_type(const wk_gguf *g, uint32_t *ft) {
    if (wk_gguf_get_u32(g, "general.file_type", ft) != WK_GGUF_OK) return NULL;
    const char *n = wk_gguf_file_type_name(*ft);
    return n ? n : "unknown";
}

/* ---- output ------------------------------------------------------------------------ */

static void print_text(const char *path, const wk_gguf *g, int tensors) {
    uint64_t n_kv = wk_gguf_n_kv(g), n_t = wk_gguf_n_tensors(g), bytes = 0, params = 0;
    for (uint64_t i = 0; i < n_t; i++) {
        bytes += wk_gguf_tensor_at(g, i)->nbytes;
        params += wk_gguf_tensor_at(g, i)->n_elements;
    }
    printf("file:         %s\n", path);
    printf("version:      %u\n", wk_gguf_version(g));
    printf("tensors:      %llu\n", (ull)n_t);
    printf("metadata:     %llu keys\n", (ull)n_kv);
    printf("alignment:    %u\n", wk_gguf_alignment(g));
    printf("data offset:  %llu\n", (ull)wk_gguf_data_offset(g));
    printf("file size:    %llu bytes\n", (ull)wk_gguf_file_size(g));
    uint32_t ft;
    const char *ftn = file_type(g, &ft);
    if (ftn) printf("file type:    %u (%s)\n", ft, ftn);
    printf("parameters:   %llu (%llu bytes of tensor data)\n", (ull)params, (ull)bytes);
    printf("\nmetadata:\n");
    size_t w = 0;
    for (uint64_t i = 0; i < n_kv; i++) {
        size_t l = strlen(wk_gguf_kv_key(g, i));
        if (l > w) w = l;
    }
    if (w > 48) w = 48;
    for (uint64_t i = 0; i < n_kv; i++) {
        char tl[64];
        type_label(tl, sizeof tl, g, i);
        char kn[160];
        printf("  %-*s %-18s = ", (int)w, safe_name(kn, sizeof kn, wk_gguf_kv_key(g, i)), tl);
        print_value(g, i, 0);
        putchar('\n');
    }
    if (!tensors) return;
    printf("\ntensors:\n  %5s  %-40s %-8s %-28s %12s %12s\n", "#", "name", "type", "shape", "bytes", "offset");
    for (uint64_t i = 0; i < n_t; i++) {
        const wk_gguf_tensor *t = wk_gguf_tensor_at(g, i);
        char sh[128];
        shape_str(sh, sizeof sh, t);
        char tn[160];
        printf("  %5llu  %-40s %-8s %-28s %12llu %12llu\n", (ull)i, safe_name(tn, sizeof tn, t->name),
               wk_gguf_ggml_type_name(t->type), sh,
               (ull)t->nbytes, (ull)t->offset);
    }
    printf("total: %llu tensors, %llu bytes, %llu parameters\n", (ull)n_t, (ull)bytes, (ull)params);
}

static void print_json(const char *path, const wk_gguf *g, int tensors) {
    uint64_t n_kv = wk_gguf_n_kv(g), n_t = wk_gguf_n_tensors(g), bytes = 0, params = 0;
    for (uint64_t i = 0; i < n_t; i++) {
        bytes += wk_gguf_tensor_at(g, i)->nbytes;
        params += wk_gguf_tensor_at(g, i)->n_elements;
    }
    printf("{\n  \"file\": ");
    json_str(path, strlen(path));
    printf(",\n  \"version\": %u,\n  \"n_tensors\": %llu,\n  \"n_kv\": %llu,\n  \"alignment\": %u,\n"
           "  \"data_offset\": %llu,\n  \"file_size\": %llu,\n  \"n_params\": %llu,\n  \"tensor_bytes\": %llu,\n",
           wk_gguf_version(g), (ull)n_t, (ull)n_kv, wk_gguf_alignment(g), (ull)wk_gguf_data_offset(g),
           (ull)wk_gguf_file_size(g), (ull)params, (ull)bytes);
    uint32_t ft;
    const char *ftn = file_type(g, &ft);
    if (ftn) printf("  \"file_type\": {\"value\": %u, \"name\": \"%s\"},\n", ft, ftn);
    printf("  \"metadata\": [");
    for (uint64_t i = 0; i < n_kv; i++) {
        wk_gguf_type t = wk_gguf_kv_type(g, i);
        printf("%s\n    {\"key\": ", i ? "," : "");
        json_str(wk_gguf_kv_key(g, i), strlen(wk_gguf_kv_key(g, i)));
        printf(", \"type\": \"%s\"", wk_gguf_type_name(t));
        if (t == WK_GGUF_ARRAY) {
            wk_gguf_type et;
            uint64_t n;
            wk_gguf_get_arr_info(g, wk_gguf_kv_key(g, i), &et, &n);
            printf(", \"element_type\": \"%s\", \"count\": %llu", wk_gguf_type_name(et), (ull)n);
        }
        printf(", \"value\": ");
        print_value(g, i, 1);
        putchar('}');
    }
    printf("%s]", n_kv ? "\n  " : "");
    if (tensors) {
        printf(",\n  \"tensors\": [");
        for (uint64_t i = 0; i < n_t; i++) {
            const wk_gguf_tensor *t = wk_gguf_tensor_at(g, i);
            char sh[128];
            shape_str(sh, sizeof sh, t);
            printf("%s\n    {\"name\": ", i ? "," : "");
            json_str(t->name, t->name_len);
            printf(", \"type\": \"%s\", \"type_code\": %u, \"shape\": %s, \"n_elements\": %llu, \"bytes\": %llu, \"offset\": %llu}",
                   wk_gguf_ggml_type_name(t->type), t->type, sh, (ull)t->n_elements, (ull)t->nbytes, (ull)t->offset);
        }
        printf("%s]", n_t ? "\n  " : "");
    }
    printf("\n}\n");
}

int wk_cmd_inspect(int argc, char **argv) {
    const char *path = NULL;
    int tensors = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--tensors") || !strcmp(a, "-t")) {
            tensors = 1;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "wick inspect: unknown option '%s'; see 'wick inspect --help'\n", a);
            return 2;
        } else if (path) {
            fprintf(stderr, "wick inspect: one file at a time ('%s' and '%s')\n", path, a);
            return 2;
        } else {
            path = a;
        }
    }
    if (!path) {
        fprintf(stderr, "wick inspect: no file given; see 'wick inspect --help'\n");
        return 2;
    }
    wk_gguf *g = NULL;
    if (wk_gguf_open(path, &g) != WK_GGUF_OK) {
        fprintf(stderr, "%s\n", wk_gguf_last_error());
        return 1;
    }
    if (json) print_json(path, g, tensors);
    else print_text(path, g, tensors);
    wk_gguf_free(g);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "wick inspect: cannot write the output\n");
        return 1;
    }
    return 0;
}
