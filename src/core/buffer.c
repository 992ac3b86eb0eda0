/* buffer.c — buffers and tensor placement. A buffer is memory of one buffer type: host
 * memory (the CPU's, or a caller's mapping wrapped without a copy) or device memory behind
 * a backend. Tensors are placed in a buffer at an offset; reads and writes that may meet
 * device memory go through wk_tensor_set / wk_tensor_get. */
#include <stdlib.h>
#include <string.h>

#include "../../backends/backend.h"

/* ---- host buffers (the CPU's buffer type, and wrappers of caller memory) ---- */

static void host_free(wk_buffer *b) {
    if (b->impl) free(b->base); /* impl != NULL: we allocated base */
    free(b);
}
static wk_status host_set(wk_buffer *b, size_t offs, const void *data, size_t size) {
    memcpy((char *)b->base + offs, data, size);
    return WK_OK;
}
static wk_status host_get(wk_buffer *b, size_t offs, void *data, size_t size) {
    memcpy(data, (const char *)b->base + offs, size);
    return WK_OK;
}
static wk_status host_clear(wk_buffer *b, uint8_t v) {
    memset(b->base, v, b->size);
    return WK_OK;
}
static const wk_buffer_i k_host_buffer = {host_free, host_set, host_get, host_clear};

#define HOST_ALIGN 64

static wk_status host_alloc(wk_buffer_type *bt, size_t size, wk_buffer **out) {
    size_t sz = (size + HOST_ALIGN - 1) & ~(size_t)(HOST_ALIGN - 1);
    if (sz < size) return wk_err(WK_ERR_NOMEM, "cpu: buffer of %zu bytes is too large", size);
    wk_buffer *b = calloc(1, sizeof *b);
    void *p = aligned_alloc(HOST_ALIGN, sz ? sz : HOST_ALIGN);
    if (!b || !p) {
        free(b);
        free(p);
        return wk_err(WK_ERR_NOMEM, "cpu: cannot allocate a buffer of %zu bytes", size);
    }
    b->iface = &k_host_buffer;
    b->type = bt;
    b->impl = b; /* marks an owned allocation */
    b->base = p;
    b->size = size;
    *out = b;
    return WK_OK;
}
static size_t host_alignment(const wk_buffer_type *bt) { (void)bt; return HOST_ALIGN; }
static size_t host_max_size(const wk_buffer_type *bt) { (void)bt; return SIZE_MAX; }
static const wk_buffer_type_i k_host_type = {host_alloc, host_alignment, host_max_size};

wk_buffer_type *wk_host_buffer_type(wk_device *cpu) {
    static wk_buffer_type bt = {&k_host_type, NULL, NULL, true};
    bt.device = cpu;
    return &bt;
}

wk_status wk_buffer_from_host(void *base, size_t size, wk_buffer **out) {
    if (!out || (!base && size)) return wk_err(WK_ERR_INVALID_ARG, "wk_buffer_from_host: NULL argument");
    wk_buffer *b = calloc(1, sizeof *b);
    if (!b) return wk_err(WK_ERR_NOMEM, "wk_buffer_from_host: out of memory");
    b->iface = &k_host_buffer;
    b->type = wk_host_buffer_type(wk_device_cpu());
    b->base = base;
    b->size = size;
    *out = b;
    return WK_OK;
}

/* ---- the public buffer calls ---- */

size_t wk_buffer_type_alignment(const wk_buffer_type *bt) { return bt ? bt->iface->alignment(bt) : HOST_ALIGN; }

wk_status wk_buffer_alloc(wk_buffer_type *bt, size_t size, wk_buffer **out) {
    if (!bt || !out) return wk_err(WK_ERR_INVALID_ARG, "wk_buffer_alloc: NULL argument");
    *out = NULL;
    size_t mx = bt->iface->max_size(bt);
    if (size > mx)
        return wk_err(WK_ERR_NOMEM, "%s: a buffer of %zu bytes exceeds the device's largest allocation (%zu)",
                      bt->device ? bt->device->name : "buffer", size, mx);
    return bt->iface->alloc(bt, size, out);
}

void wk_buffer_free(wk_buffer *b) {
    if (b) b->iface->free(b);
}
size_t wk_buffer_size(const wk_buffer *b) { return b ? b->size : 0; }
bool wk_buffer_is_host(const wk_buffer *b) { return b && b->base != NULL; }
wk_device *wk_buffer_device(const wk_buffer *b) { return b && b->type ? b->type->device : wk_device_cpu(); }

wk_status wk_tensor_place(wk_tensor *t, wk_buffer *b, size_t offs) {
    if (!t || !b) return wk_err(WK_ERR_INVALID_ARG, "wk_tensor_place: NULL argument");
    if (t->view_src || t->op != WK_OP_NONE)
        return wk_err(WK_ERR_INVALID_ARG, "wk_tensor_place: '%s' is not a leaf", t->name);
    size_t n = wk_tensor_nbytes(t), end;
    if (!wk_size_add_ok(offs, n, &end) || end > b->size)
        return wk_err(WK_ERR_INVALID_ARG, "wk_tensor_place: '%s' (%zu bytes at %zu) does not fit in a buffer of %zu",
                      t->name, n, offs, b->size);
    size_t al = b->type ? wk_buffer_type_alignment(b->type) : 1;
    if (b->type && b->type->host == false && offs % al)
        return wk_err(WK_ERR_INVALID_ARG, "wk_tensor_place: offset %zu of '%s' is not a multiple of %zu", offs, t->name, al);
    if (t->flags & WK_FLAG_OWNS_DATA) {
        free(t->data);
        t->flags &= ~WK_FLAG_OWNS_DATA;
    }
    t->buffer = b;
    t->offs = offs;
    t->data = b->base ? (char *)b->base + offs : NULL;
    return WK_OK;
}

wk_buffer *wk_tensor_buffer(const wk_tensor *t) {
    size_t o;
    return t ? wk_tensor_buffer_offs(t, &o) : NULL;
}

wk_buffer *wk_tensor_buffer_offs(const wk_tensor *t, size_t *offs) {
    const wk_tensor *root = t->view_src ? t->view_src : t;
    *offs = root->offs + (t->view_src ? t->view_offs : 0);
    return root->buffer;
}

static wk_status check_range(const wk_tensor *t, size_t offset, size_t size, const char *fn) {
    size_t end;
    if (!wk_size_add_ok(offset, size, &end) || end > wk_tensor_nbytes(t))
        return wk_err(WK_ERR_INVALID_ARG, "%s: bytes [%zu, +%zu) are outside '%s' (%zu bytes)", fn, offset, size,
                      t->name, wk_tensor_nbytes(t));
    return WK_OK;
}

wk_status wk_tensor_set(wk_tensor *t, const void *data, size_t offset, size_t size) {
    if (!t || (!data && size)) return wk_err(WK_ERR_INVALID_ARG, "wk_tensor_set: NULL argument");
    wk_status st = check_range(t, offset, size, "wk_tensor_set");
    if (st != WK_OK) return st;
    if (t->data) {
        memcpy((char *)t->data + offset, data, size);
        return WK_OK;
    }
    size_t o;
    wk_buffer *b = wk_tensor_buffer_offs(t, &o);
    if (!b) return wk_err(WK_ERR_INVALID_ARG, "wk_tensor_set: '%s' has no memory", t->name);
    return b->iface->set(b, o + offset, data, size);
}

wk_status wk_tensor_get(const wk_tensor *t, void *data, size_t offset, size_t size) {
    if (!t || (!data && size)) return wk_err(WK_ERR_INVALID_ARG, "wk_tensor_get: NULL argument");
    wk_status st = check_range(t, offset, size, "wk_tensor_get");
    if (st != WK_OK) return st;
    if (t->data) {
        memcpy(data, (const char *)t->data + offset, size);
        return WK_OK;
    }
    size_t o;
    wk_buffer *b = wk_tensor_buffer_offs(t, &o);
    if (!b) return wk_err(WK_ERR_INVALID_ARG, "wk_tensor_get: '%s' has no memory", t->name);
    return b->iface->get(b, o + offset, data, size);
}
