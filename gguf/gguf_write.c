/* gguf_write.c — GGUF writer (formats.md §1.8). Metadata is serialized into one byte buffer
 * as keys are added (so insertion order and value encodings are exactly what gets written);
 * tensors are recorded (data borrowed) and laid out back-to-back, each padded to the
 * alignment, when the file is written. Files are written to a temp file in the target's
 * directory, fsync'd and renamed into place. Streaming tensors (add_tensor_fill) have no data
 * until then: a callback fills one reused buffer per tensor, in file order. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf_internal.h"

typedef struct {
    char *name;
    uint32_t name_len;
    uint32_t type;
    uint32_t n_dims; /* as written */
    int64_t ne[WK_GGUF_MAX_DIMS];
    uint64_t nbytes;
    const void *data;
    wk_gguf_fill_fn fill; /* streaming tensor: data is NULL, fill produces the bytes */
    void *fill_user;
} wtensor;

struct wk_gguf_writer {
    uint32_t version;
    uint32_t alignment;
    uint8_t *meta; /* serialized KV records */
    size_t meta_len, meta_cap;
    char **keys;   /* owned copies, for the uniqueness set */
    uint64_t n_kv, keys_cap;
    gguf_set key_set;
    wtensor *t;
    uint64_t n_t, t_cap;
    gguf_set tensor_set;
};

typedef unsigned long long ull;

wk_gguf_status wk_gguf_writer_new(wk_gguf_writer **out) {
    if (!out) return gguf_fail(WK_GGUF_E_ARG, "wk_gguf_writer_new: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out) return gguf_fail(WK_GGUF_E_NOMEM, "wk_gguf_writer_new: out of memory");
    (*out)->version = 3;
    (*out)->alignment = WK_GGUF_DEFAULT_ALIGNMENT;
    return WK_GGUF_OK;
}

void wk_gguf_writer_free(wk_gguf_writer *w) {
    if (!w) return;
    for (uint64_t i = 0; i < w->n_kv; i++) free(w->keys[i]);
    free(w->keys);
    for (uint64_t i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->t);
    free(w->meta);
    gguf_set_free(&w->key_set);
    gguf_set_free(&w->tensor_set);
    free(w);
}

wk_gguf_status wk_gguf_writer_set_version(wk_gguf_writer *w, uint32_t version) {
    if (!w || (version != 2 && version != 3))
        return gguf_fail(WK_GGUF_E_ARG, "gguf writer: version %u not writable (2 or 3)", version);
    w->version = version;
    return WK_GGUF_OK;
}

/* ---- metadata buffer --------------------------------------------------------------- */

static int put(wk_gguf_writer *w, const void *p, size_t n) {
    if (n > SIZE_MAX - w->meta_len) return -1;
    if (w->meta_len + n > w->meta_cap) {
        size_t cap = w->meta_cap ? w->meta_cap : 256;
        while (cap < w->meta_len + n) {
            if (cap > SIZE_MAX / 2) { cap = w->meta_len + n; break; }
            cap *= 2;
        }
        uint8_t *m = realloc(w->meta, cap);
        if (!m) return -1;
        w->meta = m;
        w->meta_cap = cap;
    }
    if (n) memcpy(w->meta + w->meta_len, p, n);
    w->meta_len += n;
    return 0;
}

static int put_u32(wk_gguf_writer *w, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return put(w, b, 4);
}
static int put_u64(wk_gguf_writer *w, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
    return put(w, b, 8);
}
static int put_str(wk_gguf_writer *w, const char *s, uint64_t len) {
    return put_u64(w, len) || put(w, s, (size_t)len);
}
/* One scalar given as its bits (host order), encoded little-endian. */
static int put_bits(wk_gguf_writer *w, uint32_t type, uint64_t u) {
    size_t sz = gguf_scalar_size(type);
    uint8_t b[8];
    for (size_t i = 0; i < sz; i++) b[i] = (uint8_t)(u >> (8 * i));
    return sz ? put(w, b, sz) : -1;
}
/* Bits of a host-order element of sz bytes. */
static uint64_t load_bits(const uint8_t *p, size_t sz) {
    uint8_t x8; uint16_t x16; uint32_t x32; uint64_t x64 = 0;
    switch (sz) {
    case 1: memcpy(&x8, p, 1); return x8;
    case 2: memcpy(&x16, p, 2); return x16;
    case 4: memcpy(&x32, p, 4); return x32;
    default: memcpy(&x64, p, 8); return x64;
    }
}

/* Checks the key, records it and writes key + type tag; on failure the buffer is unchanged.
 * Returns the meta length before the record (for rollback) through *mark. */
static wk_gguf_status begin_kv(wk_gguf_writer *w, const char *key, uint32_t type, size_t *mark) {
    if (!w || !key) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: NULL writer or key");
    size_t klen = strlen(key);
    if (!klen) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: empty key");
    if (gguf_set_find(&w->key_set, key, klen) >= 0) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: duplicate key '%s'", key);
    /* readers reject any other type for it (formats.md §1.6); add_scalar checks the value */
    if (type != WK_GGUF_UINT32 && !strcmp(key, "general.alignment"))
        return gguf_fail(WK_GGUF_E_ARG, "gguf writer: general.alignment must be UINT32, not %s", wk_gguf_type_name(type));
    *mark = w->meta_len;
    if (put_str(w, key, klen) || put_u32(w, type)) {
        w->meta_len = *mark;
        return gguf_fail(WK_GGUF_E_NOMEM, "gguf writer: out of memory adding key '%s'", key);
    }
    return WK_GGUF_OK;
}

/* Registers the key once its value is written. */
static wk_gguf_status end_kv(wk_gguf_writer *w, const char *key, size_t mark, int put_failed) {
    if (put_failed) {
        w->meta_len = mark;
        return gguf_fail(WK_GGUF_E_NOMEM, "gguf writer: out of memory adding key '%s'", key);
    }
    if (w->n_kv == w->keys_cap) {
        uint64_t cap = w->keys_cap ? w->keys_cap * 2 : 16;
        char **k = realloc(w->keys, (size_t)cap * sizeof *k);
        if (!k) { w->meta_len = mark; return gguf_fail(WK_GGUF_E_NOMEM, "gguf writer: out of memory"); }
        w->keys = k;
        w->keys_cap = cap;
    }
    char *copy = strdup(key);
    if (!copy || gguf_set_insert(&w->key_set, copy, strlen(copy), w->n_kv, NULL) < 0) {
        free(copy);
        w->meta_len = mark;
        return gguf_fail(WK_GGUF_E_NOMEM, "gguf writer: out of memory");
    }
    w->keys[w->n_kv++] = copy;
    return WK_GGUF_OK;
}

static wk_gguf_status add_scalar(wk_gguf_writer *w, const char *key, uint32_t type, uint64_t bits) {
    int is_align = key && !strcmp(key, "general.alignment");
    if (is_align) {
        if (type != WK_GGUF_UINT32)
            return gguf_fail(WK_GGUF_E_ARG, "gguf writer: general.alignment must be UINT32, not %s", wk_gguf_type_name(type));
        if (bits == 0 || (bits & (bits - 1)))
            return gguf_fail(WK_GGUF_E_ARG, "gguf writer: general.alignment = %llu is not a nonzero power of two", (ull)bits);
    }
    size_t mark;
    wk_gguf_status st = begin_kv(w, key, type, &mark);
    if (st) return st;
    st = end_kv(w, key, mark, put_bits(w, type, bits));
    if (!st && is_align) w->alignment = (uint32_t)bits;
    return st;
}

static uint64_t f32_bits(float v) { uint32_t u; memcpy(&u, &v, 4); return u; }
static uint64_t f64_bits(double v) { uint64_t u; memcpy(&u, &v, 8); return u; }

wk_gguf_status wk_gguf_writer_add_u8(wk_gguf_writer *w, const char *k, uint8_t v) { return add_scalar(w, k, WK_GGUF_UINT8, v); }
wk_gguf_status wk_gguf_writer_add_i8(wk_gguf_writer *w, const char *k, int8_t v) { return add_scalar(w, k, WK_GGUF_INT8, (uint8_t)v); }
wk_gguf_status wk_gguf_writer_add_u16(wk_gguf_writer *w, const char *k, uint16_t v) { return add_scalar(w, k, WK_GGUF_UINT16, v); }
wk_gguf_status wk_gguf_writer_add_i16(wk_gguf_writer *w, const char *k, int16_t v) { return add_scalar(w, k, WK_GGUF_INT16, (uint16_t)v); }
wk_gguf_status wk_gguf_writer_add_u32(wk_gguf_writer *w, const char *k, uint32_t v) { return add_scalar(w, k, WK_GGUF_UINT32, v); }
wk_gguf_status wk_gguf_writer_add_i32(wk_gguf_writer *w, const char *k, int32_t v) { return add_scalar(w, k, WK_GGUF_INT32, (uint32_t)v); }
wk_gguf_status wk_gguf_writer_add_f32(wk_gguf_writer *w, const char *k, float v) { return add_scalar(w, k, WK_GGUF_FLOAT32, f32_bits(v)); }
wk_gguf_status wk_gguf_writer_add_u64(wk_gguf_writer *w, const char *k, uint64_t v) { return add_scalar(w, k, WK_GGUF_UINT64, v); }
wk_gguf_status wk_gguf_writer_add_i64(wk_gguf_writer *w, const char *k, int64_t v) { return add_scalar(w, k, WK_GGUF_INT64, (uint64_t)v); }
wk_gguf_status wk_gguf_writer_add_f64(wk_gguf_writer *w, const char *k, double v) { return add_scalar(w, k, WK_GGUF_FLOAT64, f64_bits(v)); }
wk_gguf_status wk_gguf_writer_add_bool(wk_gguf_writer *w, const char *k, int v) { return add_scalar(w, k, WK_GGUF_BOOL, v ? 1 : 0); }

wk_gguf_status wk_gguf_writer_add_str(wk_gguf_writer *w, const char *key, const char *s, size_t len) {
    if (!s && len) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: key '%s': NULL string", key ? key : "?");
    size_t mark;
    wk_gguf_status st = begin_kv(w, key, WK_GGUF_STRING, &mark);
    if (st) return st;
    return end_kv(w, key, mark, put_str(w, s, len));
}

wk_gguf_status wk_gguf_writer_add_arr(wk_gguf_writer *w, const char *key, wk_gguf_type et, const void *data,
                                      uint64_t count) {
    size_t es = gguf_scalar_size(et);
    if (!es) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: key '%s': %s is not a numeric array element type",
                              key ? key : "?", wk_gguf_type_name(et));
    if (!data && count) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: key '%s': NULL array data", key ? key : "?");
    if (count > SIZE_MAX / es)
        return gguf_fail(WK_GGUF_E_ARG, "gguf writer: key '%s': array of %llu elements is too large", key ? key : "?", (ull)count);
    if (et == WK_GGUF_BOOL)
        for (uint64_t i = 0; i < count; i++)
            if (((const uint8_t *)data)[i] > 1)
                return gguf_fail(WK_GGUF_E_ARG, "gguf writer: key '%s': bool element %llu is not 0 or 1", key ? key : "?", (ull)i);
    size_t mark;
    wk_gguf_status st = begin_kv(w, key, WK_GGUF_ARRAY, &mark);
    if (st) return st;
    int bad = put_u32(w, et) || put_u64(w, count);
    const uint8_t *p = data;
    for (uint64_t i = 0; i < count && !bad; i++) bad = put_bits(w, et, load_bits(p + i * es, es));
    return end_kv(w, key, mark, bad);
}

wk_gguf_status wk_gguf_writer_add_arr_str(wk_gguf_writer *w, const char *key, const char *const *strs,
                                          const size_t *lens, uint64_t count) {
    if (!strs && count) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: key '%s': NULL string array", key ? key : "?");
    for (uint64_t i = 0; i < count; i++)
        if (!strs[i] && (!lens || lens[i]))
            return gguf_fail(WK_GGUF_E_ARG, "gguf writer: key '%s': string %llu is NULL", key ? key : "?", (ull)i);
    size_t mark;
    wk_gguf_status st = begin_kv(w, key, WK_GGUF_ARRAY, &mark);
    if (st) return st;
    int bad = put_u32(w, WK_GGUF_STRING) || put_u64(w, count);
    for (uint64_t i = 0; i < count && !bad; i++) bad = put_str(w, strs[i], lens ? lens[i] : strlen(strs[i]));
    return end_kv(w, key, mark, bad);
}

/* ---- tensors ----------------------------------------------------------------------- */

static wk_gguf_status add_tensor(wk_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne,
                                 const void *data, wk_gguf_fill_fn fill, void *fill_user, int keep_n_dims) {
    if (!w || !name || !ne) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: NULL writer, tensor name or shape");
    size_t len = strlen(name);
    if (len >= WK_GGUF_MAX_NAME)
        return gguf_fail(WK_GGUF_E_ARG, "gguf writer: tensor name '%.40s...' is %zu bytes (max %d)", name, len, WK_GGUF_MAX_NAME - 1);
    if (gguf_set_find(&w->tensor_set, name, len) >= 0) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: duplicate tensor '%s'", name);
    if (n_dims < 1 || n_dims > WK_GGUF_MAX_DIMS)
        return gguf_fail(WK_GGUF_E_ARG, "gguf writer: tensor '%s': n_dims %u (must be 1..4)", name, n_dims);
    uint32_t bs, bb;
    if (!wk_gguf_ggml_type_size(type, &bs, &bb))
        return gguf_fail(WK_GGUF_E_ARG, "gguf writer: tensor '%s': unknown or retired type %u", name, type);
    wtensor t = {0};
    t.type = type;
    for (int d = 0; d < WK_GGUF_MAX_DIMS; d++) t.ne[d] = d < (int)n_dims ? ne[d] : 1;
    for (int d = 0; d < WK_GGUF_MAX_DIMS; d++)
        if (t.ne[d] <= 0) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: tensor '%s': ne[%d] = %lld (must be > 0)", name, d, (long long)t.ne[d]);
    if (t.ne[0] % bs)
        return gguf_fail(WK_GGUF_E_ARG, "gguf writer: tensor '%s': ne[0] = %lld is not a multiple of the %s block size %u", name,
                         (long long)t.ne[0], wk_gguf_ggml_type_name(type), bs);
    uint64_t nb, ne_all = 1;
    int ok = u64_mul_ok((uint64_t)(t.ne[0] / bs), bb, &nb);
    for (int d = 1; d < WK_GGUF_MAX_DIMS && ok; d++) ok = u64_mul_ok(nb, (uint64_t)t.ne[d], &nb) && nb <= (uint64_t)INT64_MAX;
    for (int d = 0; d < WK_GGUF_MAX_DIMS && ok; d++) ok = u64_mul_ok(ne_all, (uint64_t)t.ne[d], &ne_all) && ne_all <= (uint64_t)INT64_MAX;
    if (!ok) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: tensor '%s': size overflows", name);
    if (!data && !fill) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: tensor '%s': NULL data", name);
    if (fill && nb > SIZE_MAX) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: tensor '%s': too large to buffer", name);
    t.nbytes = nb;
    t.data = data;
    t.fill = fill;
    t.fill_user = fill_user;
    t.n_dims = n_dims;
    if (!keep_n_dims)
        while (t.n_dims > 1 && t.ne[t.n_dims - 1] == 1) t.n_dims--;
    t.name_len = (uint32_t)len;
    if (w->n_t == w->t_cap) {
        uint64_t cap = w->t_cap ? w->t_cap * 2 : 16;
        wtensor *nt = realloc(w->t, (size_t)cap * sizeof *nt);
        if (!nt) return gguf_fail(WK_GGUF_E_NOMEM, "gguf writer: out of memory");
        w->t = nt;
        w->t_cap = cap;
    }
    t.name = strdup(name);
    if (!t.name || gguf_set_insert(&w->tensor_set, t.name, len, w->n_t, NULL) < 0) {
        free(t.name);
        return gguf_fail(WK_GGUF_E_NOMEM, "gguf writer: out of memory");
    }
    w->t[w->n_t++] = t;
    return WK_GGUF_OK;
}

wk_gguf_status wk_gguf_writer_add_tensor(wk_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                                         const int64_t *ne, const void *data) {
    return add_tensor(w, name, type, n_dims, ne, data, NULL, NULL, 0);
}
wk_gguf_status wk_gguf_writer_add_tensor_ndims(wk_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                                               const int64_t *ne, const void *data) {
    return add_tensor(w, name, type, n_dims, ne, data, NULL, NULL, 1);
}
wk_gguf_status wk_gguf_writer_add_tensor_fill(wk_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                                              const int64_t *ne, wk_gguf_fill_fn fill, void *user) {
    if (!fill) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: tensor '%s': NULL fill callback", name ? name : "?");
    return add_tensor(w, name, type, n_dims, ne, NULL, fill, user, 1);
}

/* ---- copying from a reader --------------------------------------------------------- */

wk_gguf_status wk_gguf_writer_copy_kv(wk_gguf_writer *w, const wk_gguf *g, uint64_t i) {
    if (!w || !g || i >= wk_gguf_n_kv(g)) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: copy_kv: bad arguments");
    const char *key = wk_gguf_kv_key(g, i);
    uint32_t type = wk_gguf_kv_type(g, i);
    uint64_t nbytes;
    const uint8_t *raw = wk_gguf_kv_raw(g, i, &nbytes);
    if (type == WK_GGUF_UINT32 && !strcmp(key, "general.alignment")) return add_scalar(w, key, type, le32(raw));
    size_t mark;
    wk_gguf_status st = begin_kv(w, key, type, &mark);
    if (st) return st;
    int bad = 0;
    if (type == WK_GGUF_ARRAY) {
        wk_gguf_type et;
        uint64_t n;
        wk_gguf_get_arr_info(g, key, &et, &n);
        bad = put_u32(w, et) || put_u64(w, n);
    } else if (type == WK_GGUF_STRING) {
        bad = put_u64(w, nbytes);
    }
    /* the reader validated the raw encoding; it is already little-endian */
    if (!bad) bad = nbytes > SIZE_MAX || put(w, raw, (size_t)nbytes);
    return end_kv(w, key, mark, bad);
}

wk_gguf_status wk_gguf_writer_from_reader(const wk_gguf *g, wk_gguf_writer **out) {
    if (!out) return gguf_fail(WK_GGUF_E_ARG, "wk_gguf_writer_from_reader: out is NULL");
    *out = NULL;
    wk_gguf_writer *w;
    wk_gguf_status st = wk_gguf_writer_new(&w);
    if (st) return st;
    st = wk_gguf_writer_set_version(w, wk_gguf_version(g));
    for (uint64_t i = 0; !st && i < wk_gguf_n_kv(g); i++) st = wk_gguf_writer_copy_kv(w, g, i);
    for (uint64_t i = 0; !st && i < wk_gguf_n_tensors(g); i++) {
        const wk_gguf_tensor *t = wk_gguf_tensor_at(g, i);
        st = add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, NULL, NULL, 1);
    }
    if (st) {
        wk_gguf_writer_free(w);
        return st;
    }
    *out = w;
    return WK_GGUF_OK;
}

/* ---- output ------------------------------------------------------------------------ */

/* Size of the header + metadata + tensor infos, before the alignment padding. */
static uint64_t head_size(const wk_gguf_writer *w) {
    uint64_t n = 24 + w->meta_len;
    for (uint64_t i = 0; i < w->n_t; i++) n += 8 + w->t[i].name_len + 4 + 8ull * w->t[i].n_dims + 4 + 8;
    return n;
}

static uint64_t pad_to(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

uint64_t wk_gguf_writer_size(const wk_gguf_writer *w) {
    uint64_t n = head_size(w);
    if (w->n_t) n = pad_to(n, w->alignment);
    for (uint64_t i = 0; i < w->n_t; i++) n += pad_to(w->t[i].nbytes, w->alignment);
    return n;
}

/* Output target: a FILE or a memory buffer of known size. Streaming tensors are filled in
 * place in memory, or into `scratch` (sized for the largest) for a FILE. */
typedef struct {
    FILE *f;
    uint8_t *mem;
    size_t pos;
    uint8_t *scratch;
    int64_t fill_failed; /* index of the tensor whose fill callback failed, or -1 */
} sink;

static int emit(sink *s, const void *p, size_t n) {
    if (!n) return 0;
    if (s->f) return fwrite(p, 1, n, s->f) == n ? 0 : -1;
    memcpy(s->mem + s->pos, p, n);
    s->pos += n;
    return 0;
}
static int emit_u32(sink *s, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return emit(s, b, 4);
}
static int emit_u64(sink *s, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
    return emit(s, b, 8);
}
static int emit_zeros(sink *s, uint64_t n) {
    static const uint8_t z[256];
    while (n) {
        size_t k = n < sizeof z ? (size_t)n : sizeof z;
        if (emit(s, z, k)) return -1;
        n -= k;
    }
    return 0;
}

static int emit_all(const wk_gguf_writer *w, sink *s) {
    uint64_t A = w->alignment;
    if (emit(s, "GGUF", 4) || emit_u32(s, w->version) || emit_u64(s, w->n_t) || emit_u64(s, w->n_kv) ||
        emit(s, w->meta, w->meta_len))
        return -1;
    uint64_t off = 0;
    for (uint64_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        if (emit_u64(s, t->name_len) || emit(s, t->name, t->name_len) || emit_u32(s, t->n_dims)) return -1;
        for (uint32_t d = 0; d < t->n_dims; d++)
            if (emit_u64(s, (uint64_t)t->ne[d])) return -1;
        if (emit_u32(s, t->type) || emit_u64(s, off)) return -1;
        off += pad_to(t->nbytes, A);
    }
    if (w->n_t) {
        uint64_t h = head_size(w);
        if (emit_zeros(s, pad_to(h, A) - h)) return -1;
    }
    for (uint64_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        const void *data = t->data;
        if (t->fill) {
            uint8_t *dst = s->f ? s->scratch : s->mem + s->pos;
            if (t->fill(t->fill_user, dst, t->nbytes) != 0) {
                s->fill_failed = (int64_t)i;
                return -1;
            }
            data = dst;
        }
        if (t->fill && !s->f) s->pos += (size_t)t->nbytes; /* filled in place */
        else if (emit(s, data, (size_t)t->nbytes)) return -1;
        if (emit_zeros(s, pad_to(t->nbytes, A) - t->nbytes)) return -1;
    }
    return 0;
}

static wk_gguf_status fill_error(const wk_gguf_writer *w, const sink *s, const char *where) {
    return gguf_fail(WK_GGUF_E_IO, "%s: tensor '%s': data producer failed", where, w->t[s->fill_failed].name);
}

/* Offsets and sizes were overflow-checked per tensor; check the totals once. */
static wk_gguf_status check_total(const wk_gguf_writer *w, uint64_t *total) {
    uint64_t n = head_size(w), A = w->alignment;
    int ok = 1;
    if (w->n_t) ok = u64_pad_ok(n, A, &n);
    for (uint64_t i = 0; i < w->n_t && ok; i++) {
        uint64_t p;
        ok = u64_pad_ok(w->t[i].nbytes, A, &p) && u64_add_ok(n, p, &n);
    }
    if (!ok || n > SIZE_MAX) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: total file size overflows");
    *total = n;
    return WK_GGUF_OK;
}

wk_gguf_status wk_gguf_writer_write_memory(const wk_gguf_writer *w, void **buf, size_t *size) {
    if (!w || !buf || !size) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: write_memory: NULL argument");
    *buf = NULL;
    *size = 0;
    uint64_t total;
    wk_gguf_status st = check_total(w, &total);
    if (st) return st;
    sink s = {NULL, malloc(total ? (size_t)total : 1), 0, NULL, -1};
    if (!s.mem) return gguf_fail(WK_GGUF_E_NOMEM, "gguf writer: out of memory for %llu bytes", (ull)total);
    if (emit_all(w, &s)) { /* in memory only a fill callback can fail */
        st = fill_error(w, &s, "gguf writer");
        free(s.mem);
        return st;
    }
    *buf = s.mem;
    *size = s.pos;
    return WK_GGUF_OK;
}

/* Best effort: makes the rename itself durable. Not every file system can fsync a
 * directory, and the data is already on disk, so failures are ignored. */
static void sync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

wk_gguf_status wk_gguf_writer_write_file(const wk_gguf_writer *w, const char *path) {
    if (!w || !path) return gguf_fail(WK_GGUF_E_ARG, "gguf writer: write_file: NULL argument");
    uint64_t total;
    wk_gguf_status st = check_total(w, &total);
    if (st) return st;
    uint64_t scratch_size = 0;
    for (uint64_t i = 0; i < w->n_t; i++)
        if (w->t[i].fill && w->t[i].nbytes > scratch_size) scratch_size = w->t[i].nbytes;
    uint8_t *scratch = NULL;
    if (scratch_size && !(scratch = malloc((size_t)scratch_size)))
        return gguf_fail(WK_GGUF_E_NOMEM, "gguf writer: out of memory for a %llu-byte tensor buffer", (ull)scratch_size);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        free(scratch);
        return gguf_fail(WK_GGUF_E_NOMEM, "gguf writer: out of memory");
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        st = gguf_fail(WK_GGUF_E_IO, "%s: cannot create temp file: %s", path, strerror(errno));
        free(tmp);
        free(scratch);
        return st;
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        st = gguf_fail(WK_GGUF_E_IO, "%s: fdopen: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        free(scratch);
        return st;
    }
    fchmod(fd, 0644);
    sink s = {f, NULL, 0, scratch, -1};
    int bad = emit_all(w, &s) || fflush(f) != 0 || fsync(fd) != 0;
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad && rename(tmp, path) != 0) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        st = s.fill_failed >= 0 ? fill_error(w, &s, path) : gguf_fail(WK_GGUF_E_IO, "%s: write failed: %s", path, strerror(e));
        unlink(tmp);
    } else {
        sync_parent_dir(path);
    }
    free(tmp);
    free(scratch);
    return st;
}
