/* gguf_read.c — GGUF v2/v3 reader (formats.md §1). open() validates everything up front:
 * each read goes through a bounds-checked cursor, each count is bounded by the bytes left
 * before anything is allocated, and all size arithmetic is overflow-checked; getters then
 * only look things up. Strings and tensor data are zero-copy pointers into the mapping. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf_internal.h"

const char *gguf_ggml_type_any_name(uint32_t t);

typedef struct {
    const char *key;      /* NUL-terminated copy in the key arena */
    const uint8_t *key_raw; /* key bytes in the file */
    uint64_t key_len;
    uint32_t type;
    uint32_t elem_type;   /* arrays only */
    uint64_t count;       /* arrays: elements; strings: bytes; scalars: 1 */
    const uint8_t *val;   /* scalars: the value; strings: the bytes; arrays: first element */
    uint64_t val_bytes;   /* encoded size of what val points at */
    uint64_t *str_off;    /* string arrays: offset of element i's length field from val */
} gguf_kv;

struct wk_gguf {
    char *name; /* for messages */
    const uint8_t *data;
    uint64_t size;
    void *map;  /* mmap'd region (map_size bytes) or NULL */
    size_t map_size;
    void *heap; /* read() fallback buffer or NULL */
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;
    gguf_kv *kv;
    uint64_t n_kv;
    wk_gguf_tensor *tensors;
    uint64_t n_tensors;
    char *key_arena;
    gguf_set keys;
    gguf_set tensor_names;
};

/* ---- messages ---------------------------------------------------------------------- */

/* Printable, bounded rendering of a name from the file (they may hold any bytes). */
static const char *show(char *buf, size_t cap, const void *s_, uint64_t len) {
    const uint8_t *s = s_;
    size_t o = 0;
    uint64_t i = 0;
    for (; i < len && o + 8 < cap; i++) {
        uint8_t ch = s[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\'' && ch != '\\') buf[o++] = (char)ch;
        else o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
    }
    if (i < len && o + 4 <= cap) { memcpy(buf + o, "...", 3); o += 3; }
    buf[o] = 0;
    return buf;
}
#define SHOWBUF 96
typedef unsigned long long ull;

/* ---- cursor ------------------------------------------------------------------------ */

typedef struct {
    const uint8_t *p;
    uint64_t pos, size;
    const char *name;
} cursor;

static uint64_t left(const cursor *c) { return c->size - c->pos; }

static wk_gguf_status eof(const cursor *c, uint64_t need, const char *fmt, ...) WK_GGUF_PRINTF(3, 4);
static wk_gguf_status eof(const cursor *c, uint64_t need, const char *fmt, ...) {
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return gguf_fail(WK_GGUF_E_FORMAT, "%s: file truncated at offset %llu reading %s (need %llu bytes, %llu left)",
                     c->name, (ull)c->pos, what, (ull)need, (ull)left(c));
}

#define NEED(c, n, ...) do { if (left(c) < (uint64_t)(n)) return eof((c), (uint64_t)(n), __VA_ARGS__); } while (0)

static uint32_t rd32(cursor *c) { uint32_t v = le32(c->p + c->pos); c->pos += 4; return v; }
static uint64_t rd64(cursor *c) { uint64_t v = le64(c->p + c->pos); c->pos += 8; return v; }

/* ---- metadata ---------------------------------------------------------------------- */

/* Parses one value of `type` (not ARRAY) at the cursor into kv (for strings) or checks it. */
static wk_gguf_status parse_value(cursor *c, gguf_kv *kv, const char *k) {
    uint32_t t = kv->type;
    if (t == WK_GGUF_STRING) {
        NEED(c, 8, "the length of string key '%s'", k);
        uint64_t len = rd64(c);
        if (len > left(c))
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: key '%s': string length %llu at offset %llu runs past the end of the file (%llu bytes left)",
                             c->name, k, (ull)len, (ull)(c->pos - 8), (ull)left(c));
        kv->val = c->p + c->pos;
        kv->count = kv->val_bytes = len;
        c->pos += len;
        return WK_GGUF_OK;
    }
    if (t == WK_GGUF_ARRAY) {
        NEED(c, 12, "the element type and count of array key '%s'", k);
        uint32_t et = rd32(c);
        uint64_t n = rd64(c);
        if (et == WK_GGUF_ARRAY)
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: key '%s' is an array of arrays (nested arrays are not supported)", c->name, k);
        if (et >= WK_GGUF_TYPE_COUNT)
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: key '%s' has an unknown array element type %u", c->name, k, et);
        kv->elem_type = et;
        kv->count = n;
        kv->val = c->p + c->pos;
        if (et == WK_GGUF_STRING) {
            if (n > left(c) / 8)
                return gguf_fail(WK_GGUF_E_FORMAT, "%s: key '%s': string array count %llu is more than the %llu bytes left can hold",
                                 c->name, k, (ull)n, (ull)left(c));
            kv->str_off = malloc(n ? (size_t)n * sizeof(uint64_t) : 1);
            if (!kv->str_off) return gguf_fail(WK_GGUF_E_NOMEM, "%s: out of memory for string array '%s'", c->name, k);
            uint64_t start = c->pos;
            for (uint64_t i = 0; i < n; i++) {
                kv->str_off[i] = c->pos - start;
                NEED(c, 8, "the length of string %llu of array key '%s'", (ull)i, k);
                uint64_t len = rd64(c);
                if (len > left(c))
                    return gguf_fail(WK_GGUF_E_FORMAT, "%s: key '%s': string %llu length %llu at offset %llu runs past the end of the file (%llu bytes left)",
                                     c->name, k, (ull)i, (ull)len, (ull)(c->pos - 8), (ull)left(c));
                c->pos += len;
            }
            kv->val_bytes = c->pos - start;
            return WK_GGUF_OK;
        }
        uint64_t es = gguf_scalar_size(et), bytes;
        if (!u64_mul_ok(n, es, &bytes) || bytes > left(c))
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: key '%s': array of %llu %s elements runs past the end of the file (%llu bytes left)",
                             c->name, k, (ull)n, wk_gguf_type_name(et), (ull)left(c));
        if (et == WK_GGUF_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (kv->val[i] > 1)
                    return gguf_fail(WK_GGUF_E_FORMAT, "%s: key '%s': bool element %llu has value %u (must be 0 or 1)",
                                     c->name, k, (ull)i, kv->val[i]);
        kv->val_bytes = bytes;
        c->pos += bytes;
        return WK_GGUF_OK;
    }
    size_t sz = gguf_scalar_size(t);
    if (!sz) return gguf_fail(WK_GGUF_E_FORMAT, "%s: key '%s' has an unknown value type %u", c->name, k, t);
    NEED(c, sz, "the %s value of key '%s'", wk_gguf_type_name(t), k);
    kv->val = c->p + c->pos;
    kv->count = 1;
    kv->val_bytes = sz;
    if (t == WK_GGUF_BOOL && kv->val[0] > 1)
        return gguf_fail(WK_GGUF_E_FORMAT, "%s: key '%s': bool value %u (must be 0 or 1)", c->name, k, kv->val[0]);
    c->pos += sz;
    return WK_GGUF_OK;
}

static wk_gguf_status parse_kvs(wk_gguf *g, cursor *c, uint64_t n_kv) {
    char b[SHOWBUF];
    uint64_t cap = 0;
    for (uint64_t i = 0; i < n_kv; i++) {
        if (i == cap) {
            uint64_t nc = cap ? cap * 2 : 16;
            if (nc > n_kv) nc = n_kv;
            gguf_kv *kv = realloc(g->kv, (size_t)nc * sizeof *kv);
            if (!kv) return gguf_fail(WK_GGUF_E_NOMEM, "%s: out of memory for %llu keys", c->name, (ull)n_kv);
            g->kv = kv;
            cap = nc;
        }
        gguf_kv *kv = &g->kv[i];
        memset(kv, 0, sizeof *kv);
        g->n_kv = i + 1; /* so free() sees str_off */
        NEED(c, 8, "the length of key %llu", (ull)i);
        uint64_t klen = rd64(c);
        if (klen == 0) return gguf_fail(WK_GGUF_E_FORMAT, "%s: key %llu at offset %llu is empty", c->name, (ull)i, (ull)(c->pos - 8));
        if (klen > left(c))
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: key %llu: length %llu at offset %llu runs past the end of the file (%llu bytes left)",
                             c->name, (ull)i, (ull)klen, (ull)(c->pos - 8), (ull)left(c));
        kv->key_raw = c->p + c->pos;
        kv->key_len = klen;
        c->pos += klen;
        const char *k = show(b, sizeof b, kv->key_raw, klen);
        if (memchr(kv->key_raw, 0, (size_t)klen))
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: key '%s' contains a NUL byte", c->name, k);
        uint64_t prev;
        int r = gguf_set_insert(&g->keys, (const char *)kv->key_raw, klen, i, &prev);
        if (r < 0) return gguf_fail(WK_GGUF_E_NOMEM, "%s: out of memory indexing keys", c->name);
        if (r == 0) return gguf_fail(WK_GGUF_E_FORMAT, "%s: duplicate key '%s' (keys %llu and %llu)", c->name, k, (ull)prev, (ull)i);
        NEED(c, 4, "the value type of key '%s'", k);
        kv->type = rd32(c);
        if (kv->type >= WK_GGUF_TYPE_COUNT)
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: key '%s' has an unknown value type %u", c->name, k, kv->type);
        wk_gguf_status st = parse_value(c, kv, k);
        if (st) return st;
    }
    /* NUL-terminated copies of the keys, one arena */
    uint64_t total = 0;
    for (uint64_t i = 0; i < n_kv; i++) total += g->kv[i].key_len + 1; /* <= file size + n_kv */
    g->key_arena = malloc(total ? (size_t)total : 1);
    if (!g->key_arena) return gguf_fail(WK_GGUF_E_NOMEM, "%s: out of memory for key names", c->name);
    char *p = g->key_arena;
    for (uint64_t i = 0; i < n_kv; i++) {
        memcpy(p, g->kv[i].key_raw, (size_t)g->kv[i].key_len);
        p[g->kv[i].key_len] = 0;
        g->kv[i].key = p;
        p += g->kv[i].key_len + 1;
    }
    return WK_GGUF_OK;
}

static wk_gguf_status parse_alignment(wk_gguf *g) {
    g->alignment = WK_GGUF_DEFAULT_ALIGNMENT;
    int64_t i = gguf_set_find(&g->keys, "general.alignment", 17);
    if (i < 0) return WK_GGUF_OK;
    const gguf_kv *kv = &g->kv[i];
    if (kv->type != WK_GGUF_UINT32)
        return gguf_fail(WK_GGUF_E_FORMAT, "%s: general.alignment has type %s (must be UINT32)", g->name,
                         kv->type == WK_GGUF_ARRAY ? "ARRAY" : wk_gguf_type_name(kv->type));
    uint32_t a = le32(kv->val);
    if (a == 0 || (a & (a - 1)))
        return gguf_fail(WK_GGUF_E_FORMAT, "%s: general.alignment = %u is not a nonzero power of two", g->name, a);
    g->alignment = a;
    return WK_GGUF_OK;
}

/* ---- tensor infos ------------------------------------------------------------------ */

static wk_gguf_status parse_tensor_infos(wk_gguf *g, cursor *c, uint64_t n) {
    char b[SHOWBUF];
    uint64_t cap = 0;
    for (uint64_t i = 0; i < n; i++) {
        /* grown as records are parsed: memory follows what the file holds, not what its
         * header claims (the name set points into the file, so moving the array is safe) */
        if (i == cap) {
            uint64_t nc = cap ? cap * 2 : 16;
            if (nc > n) nc = n;
            wk_gguf_tensor *nt = realloc(g->tensors, (size_t)nc * sizeof *nt);
            if (!nt) return gguf_fail(WK_GGUF_E_NOMEM, "%s: out of memory for %llu tensors", c->name, (ull)n);
            g->tensors = nt;
            cap = nc;
        }
        wk_gguf_tensor *t = &g->tensors[i];
        memset(t, 0, sizeof *t);
        NEED(c, 8, "the name length of tensor %llu", (ull)i);
        uint64_t len = rd64(c);
        if (len >= WK_GGUF_MAX_NAME)
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: tensor %llu: name length %llu at offset %llu is too long (max %d bytes)",
                             c->name, (ull)i, (ull)len, (ull)(c->pos - 8), WK_GGUF_MAX_NAME - 1);
        NEED(c, len, "the name of tensor %llu", (ull)i);
        const char *name_raw = (const char *)(c->p + c->pos);
        memcpy(t->name, name_raw, (size_t)len);
        t->name[len] = 0;
        t->name_len = (uint32_t)len;
        c->pos += len;
        const char *nm = show(b, sizeof b, t->name, len);
        if (strlen(t->name) != len) return gguf_fail(WK_GGUF_E_FORMAT, "%s: tensor name '%s' contains a NUL byte", c->name, nm);
        uint64_t prev;
        int r = gguf_set_insert(&g->tensor_names, name_raw, len, i, &prev);
        if (r < 0) return gguf_fail(WK_GGUF_E_NOMEM, "%s: out of memory indexing tensor names", c->name);
        if (r == 0)
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: duplicate tensor name '%s' (tensors %llu and %llu)", c->name, nm, (ull)prev, (ull)i);
        NEED(c, 4, "n_dims of tensor '%s'", nm);
        t->n_dims = rd32(c);
        if (t->n_dims < 1 || t->n_dims > WK_GGUF_MAX_DIMS)
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: tensor '%s' has n_dims %u (must be 1..4)", c->name, nm, t->n_dims);
        NEED(c, 8ull * t->n_dims + 12, "the dims, type and offset of tensor '%s'", nm);
        for (int d = 0; d < WK_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            uint64_t v = rd64(c);
            if (v > (uint64_t)INT64_MAX)
                return gguf_fail(WK_GGUF_E_FORMAT, "%s: tensor '%s' has a negative dimension ne[%u] = %lld", c->name, nm, d, (long long)v);
            if (v == 0) return gguf_fail(WK_GGUF_E_FORMAT, "%s: tensor '%s' has a zero dimension ne[%u] = 0", c->name, nm, d);
            t->ne[d] = (int64_t)v;
        }
        t->type = rd32(c);
        t->offset = rd64(c);
        uint32_t bs, bb;
        if (!wk_gguf_ggml_type_size(t->type, &bs, &bb)) {
            const char *tn = gguf_ggml_type_any_name(t->type);
            if (tn) return gguf_fail(WK_GGUF_E_FORMAT, "%s: tensor '%s' has retired type %u (%s)", c->name, nm, t->type, tn);
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: tensor '%s' has unknown type %u", c->name, nm, t->type);
        }
        if (t->ne[0] % bs)
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: tensor '%s' ne[0] = %lld is not a multiple of the %s block size %u",
                             c->name, nm, (long long)t->ne[0], wk_gguf_ggml_type_name(t->type), bs);
        uint64_t ne = 1, nb = 0;
        int ok = u64_mul_ok((uint64_t)(t->ne[0] / bs), bb, &nb);
        for (int d = 0; d < WK_GGUF_MAX_DIMS && ok; d++) ok = u64_mul_ok(ne, (uint64_t)t->ne[d], &ne) && ne <= (uint64_t)INT64_MAX;
        for (int d = 1; d < WK_GGUF_MAX_DIMS && ok; d++) ok = u64_mul_ok(nb, (uint64_t)t->ne[d], &nb) && nb <= (uint64_t)INT64_MAX;
        if (!ok)
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: tensor '%s' shape [%lld, %lld, %lld, %lld] overflows its element count or byte size",
                             c->name, nm, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3]);
        t->n_elements = ne;
        t->nbytes = nb;
    }
    g->n_tensors = n;
    return WK_GGUF_OK;
}

/* Tensors must be back-to-back in info order, each padded to the alignment (§1.6). */
static wk_gguf_status check_tensor_data(wk_gguf *g) {
    char b[SHOWBUF], b2[SHOWBUF];
    uint64_t expect = 0, A = g->alignment;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        wk_gguf_tensor *t = &g->tensors[i];
        const char *nm = show(b, sizeof b, t->name, t->name_len);
        if (t->offset % A)
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: tensor '%s' offset %llu is not a multiple of the alignment %llu",
                             g->name, nm, (ull)t->offset, (ull)A);
        if (i > 0) {
            const wk_gguf_tensor *p = &g->tensors[i - 1];
            const char *pn = show(b2, sizeof b2, p->name, p->name_len);
            if (t->offset < p->offset)
                return gguf_fail(WK_GGUF_E_FORMAT, "%s: tensor '%s' offset %llu is before the previous tensor '%s' at %llu (tensors must be stored in order)",
                                 g->name, nm, (ull)t->offset, pn, (ull)p->offset);
            if (t->offset - p->offset < p->nbytes)
                return gguf_fail(WK_GGUF_E_FORMAT, "%s: tensor '%s' data at offset %llu overlaps tensor '%s' [%llu, %llu)",
                                 g->name, nm, (ull)t->offset, pn, (ull)p->offset, (ull)(p->offset + p->nbytes));
        }
        if (t->offset != expect)
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: tensor '%s' has offset %llu, expected %llu (tensors must be back-to-back)",
                             g->name, nm, (ull)t->offset, (ull)expect);
        uint64_t start, end;
        if (!u64_add_ok(g->data_offset, t->offset, &start) || !u64_add_ok(start, t->nbytes, &end) || end > g->size)
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: tensor '%s' data [%llu, %llu) ends past the file (%llu bytes)",
                             g->name, nm, (ull)(g->data_offset + t->offset), (ull)(g->data_offset + t->offset + t->nbytes), (ull)g->size);
        t->data = g->data + start;
        if (!u64_pad_ok(t->offset + t->nbytes, A, &expect))
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: tensor '%s' end overflows", g->name, nm);
    }
    return WK_GGUF_OK;
}

/* ---- open -------------------------------------------------------------------------- */

#define GGUF_MIN_KV_BYTES 14     /* key len 8 + key >= 1 + type 4 + value >= 1 */
#define GGUF_MIN_TENSOR_BYTES 32 /* name len 8 + n_dims 4 + dim 8 + type 4 + offset 8 (a name may be empty) */

static wk_gguf_status parse(wk_gguf *g) {
    cursor c = {g->data, 0, g->size, g->name};
    if (g->size < 4 || memcmp(g->data, "GGUF", 4) != 0) {
        char b[SHOWBUF];
        if (g->size < 4) return gguf_fail(WK_GGUF_E_FORMAT, "%s: file is too small to be GGUF (%llu bytes)", g->name, (ull)g->size);
        return gguf_fail(WK_GGUF_E_FORMAT, "%s: bad magic '%s' (not a GGUF file)", g->name, show(b, sizeof b, g->data, 4));
    }
    c.pos = 4;
    NEED(&c, 4, "the version");
    uint32_t v = rd32(&c);
    if (v == 0) return gguf_fail(WK_GGUF_E_FORMAT, "%s: invalid GGUF version 0", g->name);
    if ((v & 0xFFFF) == 0)
        return gguf_fail(WK_GGUF_E_FORMAT, "%s: version field 0x%08x looks byte-swapped: big-endian GGUF is not supported", g->name, v);
    if (v == 1) return gguf_fail(WK_GGUF_E_FORMAT, "%s: GGUF version 1 is no longer supported", g->name);
    if (v > 3) return gguf_fail(WK_GGUF_E_FORMAT, "%s: unsupported GGUF version %u (max 3)", g->name, v);
    g->version = v;
    NEED(&c, 16, "the tensor and key counts");
    uint64_t n_tensors = rd64(&c), n_kv = rd64(&c);
    if (n_kv > left(&c) / GGUF_MIN_KV_BYTES)
        return gguf_fail(WK_GGUF_E_FORMAT, "%s: key count %llu is more than the file (%llu bytes) can hold", g->name, (ull)n_kv, (ull)g->size);
    if (n_tensors > left(&c) / GGUF_MIN_TENSOR_BYTES)
        return gguf_fail(WK_GGUF_E_FORMAT, "%s: tensor count %llu is more than the file (%llu bytes) can hold", g->name, (ull)n_tensors, (ull)g->size);
    wk_gguf_status st = parse_kvs(g, &c, n_kv);
    if (!st) st = parse_alignment(g);
    if (!st) st = parse_tensor_infos(g, &c, n_tensors);
    if (st) return st;
    g->data_offset = c.pos;
    if (n_tensors) {
        if (!u64_pad_ok(c.pos, g->alignment, &g->data_offset) || g->data_offset > g->size)
            return gguf_fail(WK_GGUF_E_FORMAT, "%s: data section would start at %llu, past the end of the file (%llu bytes)",
                             g->name, (ull)g->data_offset, (ull)g->size);
    }
    return check_tensor_data(g);
}

static wk_gguf_status new_handle(const char *name, wk_gguf **out) {
    *out = NULL;
    wk_gguf *g = calloc(1, sizeof *g);
    if (!g) return gguf_fail(WK_GGUF_E_NOMEM, "%s: out of memory", name);
    g->name = strdup(name);
    if (!g->name) {
        free(g);
        return gguf_fail(WK_GGUF_E_NOMEM, "%s: out of memory", name);
    }
    *out = g;
    return WK_GGUF_OK;
}

static wk_gguf_status finish(wk_gguf *g, wk_gguf **out) {
    wk_gguf_status st = parse(g);
    if (st) {
        wk_gguf_free(g);
        return st;
    }
    gguf_clear_error();
    *out = g;
    return WK_GGUF_OK;
}

wk_gguf_status wk_gguf_open_memory(const void *data, size_t size, const char *name, wk_gguf **out) {
    if (!out) return gguf_fail(WK_GGUF_E_ARG, "wk_gguf_open_memory: out is NULL");
    *out = NULL;
    if (!name) name = "<memory>";
    if (!data && size) return gguf_fail(WK_GGUF_E_ARG, "%s: data is NULL", name);
    wk_gguf *g;
    wk_gguf_status st = new_handle(name, &g);
    if (st) return st;
    static const uint8_t empty[1] = {0};
    g->data = data ? data : empty;
    g->size = size;
    return finish(g, out);
}

wk_gguf_status wk_gguf_open(const char *path, wk_gguf **out) {
    if (!out) return gguf_fail(WK_GGUF_E_ARG, "wk_gguf_open: out is NULL");
    *out = NULL;
    if (!path) return gguf_fail(WK_GGUF_E_ARG, "wk_gguf_open: path is NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return gguf_fail(WK_GGUF_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return gguf_fail(WK_GGUF_E_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return gguf_fail(WK_GGUF_E_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        return gguf_fail(WK_GGUF_E_IO, "%s: file too large to map", path);
    }
    wk_gguf *g;
    wk_gguf_status st = new_handle(path, &g);
    if (st) {
        close(fd);
        return st;
    }
    size_t size = (size_t)sb.st_size;
    g->size = size;
    if (size) {
        void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            g->map = m;
            g->map_size = size;
            g->data = m;
        } else {
            /* read() fallback: file systems without mmap */
            uint8_t *buf = malloc(size);
            if (!buf) {
                close(fd);
                wk_gguf_free(g);
                return gguf_fail(WK_GGUF_E_NOMEM, "%s: out of memory reading %zu bytes", path, size);
            }
            size_t got = 0;
            while (got < size) {
                ssize_t r = read(fd, buf + got, size - got);
                if (r < 0 && errno == EINTR) continue;
                if (r <= 0) {
                    int e = r < 0 ? errno : 0;
                    free(buf);
                    close(fd);
                    wk_gguf_free(g);
                    return gguf_fail(WK_GGUF_E_IO, "%s: read failed at %zu of %zu bytes: %s", path, got, size,
                                     e ? strerror(e) : "unexpected end of file");
                }
                got += (size_t)r;
            }
            g->heap = buf;
            g->data = buf;
        }
    } else {
        static const uint8_t empty[1] = {0};
        g->data = empty;
    }
    close(fd);
    return finish(g, out);
}

void wk_gguf_free(wk_gguf *g) {
    if (!g) return;
    for (uint64_t i = 0; i < g->n_kv; i++) free(g->kv[i].str_off);
    free(g->kv);
    free(g->tensors);
    free(g->key_arena);
    gguf_set_free(&g->keys);
    gguf_set_free(&g->tensor_names);
    if (g->map) munmap(g->map, g->map_size);
    free(g->heap);
    free(g->name);
    free(g);
}

/* ---- accessors --------------------------------------------------------------------- */

/* A NULL handle reads as an empty file (0 / NULL), never a crash. */
uint32_t wk_gguf_version(const wk_gguf *g) { return g ? g->version : 0; }
uint32_t wk_gguf_alignment(const wk_gguf *g) { return g ? g->alignment : 0; }
uint64_t wk_gguf_data_offset(const wk_gguf *g) { return g ? g->data_offset : 0; }
uint64_t wk_gguf_file_size(const wk_gguf *g) { return g ? g->size : 0; }
const void *wk_gguf_file_data(const wk_gguf *g) { return g ? g->data : NULL; }
uint64_t wk_gguf_n_kv(const wk_gguf *g) { return g ? g->n_kv : 0; }
uint64_t wk_gguf_n_tensors(const wk_gguf *g) { return g ? g->n_tensors : 0; }

int64_t wk_gguf_find_key(const wk_gguf *g, const char *key) {
    if (!g || !key) return -1;
    return gguf_set_find(&g->keys, key, strlen(key));
}

const char *wk_gguf_kv_key(const wk_gguf *g, uint64_t i) { return i < wk_gguf_n_kv(g) ? g->kv[i].key : NULL; }
wk_gguf_type wk_gguf_kv_type(const wk_gguf *g, uint64_t i) {
    return i < wk_gguf_n_kv(g) ? (wk_gguf_type)g->kv[i].type : WK_GGUF_TYPE_COUNT;
}
const void *wk_gguf_kv_raw(const wk_gguf *g, uint64_t i, uint64_t *nbytes) {
    if (i >= wk_gguf_n_kv(g)) return NULL;
    if (nbytes) *nbytes = g->kv[i].val_bytes;
    return g->kv[i].val;
}

int64_t wk_gguf_find_tensor(const wk_gguf *g, const char *name) {
    if (!g || !name) return -1;
    return gguf_set_find(&g->tensor_names, name, strlen(name));
}
const wk_gguf_tensor *wk_gguf_tensor_at(const wk_gguf *g, uint64_t i) {
    return i < wk_gguf_n_tensors(g) ? &g->tensors[i] : NULL;
}

/* Finds key and checks its type (and for arrays, when elem != WK_GGUF_TYPE_COUNT, the
 * element type). */
static wk_gguf_status lookup(const wk_gguf *g, const char *key, uint32_t type, uint32_t elem, const gguf_kv **out) {
    if (!g || !key) return gguf_fail(WK_GGUF_E_ARG, "wk_gguf: NULL handle or key");
    char b[SHOWBUF];
    int64_t i = wk_gguf_find_key(g, key);
    if (i < 0) return gguf_fail(WK_GGUF_E_NOTFOUND, "%s: key '%s' not found", g->name, show(b, sizeof b, key, strlen(key)));
    const gguf_kv *kv = &g->kv[i];
    if (kv->type != type) {
        if (kv->type == WK_GGUF_ARRAY)
            return gguf_fail(WK_GGUF_E_TYPE, "%s: key '%s' is an array of %s, not %s", g->name, kv->key,
                             wk_gguf_type_name(kv->elem_type), wk_gguf_type_name(type));
        return gguf_fail(WK_GGUF_E_TYPE, "%s: key '%s' has type %s, not %s", g->name, kv->key, wk_gguf_type_name(kv->type),
                         type == WK_GGUF_ARRAY ? "an array" : wk_gguf_type_name(type));
    }
    if (type == WK_GGUF_ARRAY && elem != WK_GGUF_TYPE_COUNT && kv->elem_type != elem)
        return gguf_fail(WK_GGUF_E_TYPE, "%s: key '%s' is an array of %s, not of %s", g->name, kv->key,
                         wk_gguf_type_name(kv->elem_type), wk_gguf_type_name(elem));
    *out = kv;
    return WK_GGUF_OK;
}

#define GETTER(fn, ctype, code, load)                                              \
    wk_gguf_status fn(const wk_gguf *g, const char *key, ctype *out) {             \
        const gguf_kv *kv = NULL;                                                         \
        wk_gguf_status st = lookup(g, key, code, 0, &kv);                          \
        if (st) return st;                                                         \
        if (out) { load; }                                                         \
        return WK_GGUF_OK;                                                         \
    }

GETTER(wk_gguf_get_u8, uint8_t, WK_GGUF_UINT8, *out = kv->val[0])
GETTER(wk_gguf_get_i8, int8_t, WK_GGUF_INT8, *out = (int8_t)kv->val[0])
GETTER(wk_gguf_get_u16, uint16_t, WK_GGUF_UINT16, *out = le16(kv->val))
GETTER(wk_gguf_get_i16, int16_t, WK_GGUF_INT16, *out = (int16_t)le16(kv->val))
GETTER(wk_gguf_get_u32, uint32_t, WK_GGUF_UINT32, *out = le32(kv->val))
GETTER(wk_gguf_get_i32, int32_t, WK_GGUF_INT32, *out = (int32_t)le32(kv->val))
GETTER(wk_gguf_get_u64, uint64_t, WK_GGUF_UINT64, *out = le64(kv->val))
GETTER(wk_gguf_get_i64, int64_t, WK_GGUF_INT64, *out = (int64_t)le64(kv->val))
GETTER(wk_gguf_get_bool, int, WK_GGUF_BOOL, *out = kv->val[0])
GETTER(wk_gguf_get_f32, float, WK_GGUF_FLOAT32, uint32_t u = le32(kv->val); memcpy(out, &u, 4))
GETTER(wk_gguf_get_f64, double, WK_GGUF_FLOAT64, uint64_t u = le64(kv->val); memcpy(out, &u, 8))

wk_gguf_status wk_gguf_get_str(const wk_gguf *g, const char *key, const char **s, uint64_t *len) {
    const gguf_kv *kv = NULL;
    wk_gguf_status st = lookup(g, key, WK_GGUF_STRING, 0, &kv);
    if (st) return st;
    if (s) *s = (const char *)kv->val;
    if (len) *len = kv->count;
    return WK_GGUF_OK;
}

wk_gguf_status wk_gguf_get_arr_info(const wk_gguf *g, const char *key, wk_gguf_type *elem_type, uint64_t *count) {
    const gguf_kv *kv = NULL;
    wk_gguf_status st = lookup(g, key, WK_GGUF_ARRAY, WK_GGUF_TYPE_COUNT, &kv);
    if (st) return st;
    if (elem_type) *elem_type = (wk_gguf_type)kv->elem_type;
    if (count) *count = kv->count;
    return WK_GGUF_OK;
}

wk_gguf_status wk_gguf_get_arr_data(const wk_gguf *g, const char *key, wk_gguf_type elem_type, const void **data,
                                    uint64_t *count) {
    if (!gguf_scalar_size(elem_type))
        return gguf_fail(WK_GGUF_E_ARG, "wk_gguf_get_arr_data: element type %s has no raw data (use wk_gguf_get_arr_str)",
                         wk_gguf_type_name(elem_type));
    const gguf_kv *kv = NULL;
    wk_gguf_status st = lookup(g, key, WK_GGUF_ARRAY, elem_type, &kv);
    if (st) return st;
    if (data) *data = kv->val;
    if (count) *count = kv->count;
    return WK_GGUF_OK;
}

wk_gguf_status wk_gguf_get_arr_str(const wk_gguf *g, const char *key, uint64_t i, const char **s, uint64_t *len) {
    const gguf_kv *kv = NULL;
    wk_gguf_status st = lookup(g, key, WK_GGUF_ARRAY, WK_GGUF_STRING, &kv);
    if (st) return st;
    if (i >= kv->count)
        return gguf_fail(WK_GGUF_E_RANGE, "%s: key '%s': index %llu out of range (%llu strings)", g->name, kv->key, (ull)i,
                         (ull)kv->count);
    const uint8_t *p = kv->val + kv->str_off[i];
    if (len) *len = le64(p);
    if (s) *s = (const char *)p + 8;
    return WK_GGUF_OK;
}
