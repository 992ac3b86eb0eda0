/* backend.h — the interfaces every compute backend implements: buffer type, buffer,
 * device and backend (the split ggml uses, in wick's shape). Backends see tensors, buffers
 * and graphs, never models or tokenizers. The CPU backend is always present and is the
 * reference every other backend is tested against (tests/test_backend_ops.c).
 *
 * Tensor data: t->buffer and t->offs say where a tensor's bytes are (a view: its root's
 * buffer, at the root's offset plus the view offset). t->data is the host address of those
 * bytes for host buffers and caller-owned memory, and NULL for device buffers. */
#ifndef WK_BACKEND_H
#define WK_BACKEND_H

#include "../include/wick-backend.h"
#include "../src/core/tensor.h"

/* ---- buffers ---- */
typedef struct wk_buffer_i {
    void (*free)(wk_buffer *b);
    /* host memory <-> bytes [offs, offs + size) of the buffer; complete on return */
    wk_status (*set)(wk_buffer *b, size_t offs, const void *data, size_t size);
    wk_status (*get)(wk_buffer *b, size_t offs, void *data, size_t size);
    /* every byte to value (optional: NULL = set through a host block) */
    wk_status (*clear)(wk_buffer *b, uint8_t value);
} wk_buffer_i;

struct wk_buffer {
    const wk_buffer_i *iface;
    wk_buffer_type *type;  /* NULL for wk_buffer_from_host */
    void *impl;
    void *base;            /* host address of byte 0 for host buffers; NULL for device memory */
    size_t size;
};

typedef struct wk_buffer_type_i {
    wk_status (*alloc)(wk_buffer_type *bt, size_t size, wk_buffer **out);
    size_t (*alignment)(const wk_buffer_type *bt);
    size_t (*max_size)(const wk_buffer_type *bt); /* largest single allocation */
} wk_buffer_type_i;

struct wk_buffer_type {
    const wk_buffer_type_i *iface;
    wk_device *device;
    void *impl;
    bool host;             /* its buffers are host memory (base != NULL) */
};

/* ---- devices ---- */
typedef struct wk_device_i {
    void (*props)(wk_device *d, wk_device_props *out);
    wk_buffer_type *(*buffer_type)(wk_device *d);
    wk_status (*backend_create)(wk_device *d, int n_threads, wk_backend **out);
} wk_device_i;

struct wk_device {
    const wk_device_i *iface;
    void *impl;
    char name[32];         /* set by the registry from the backend's prefix and index */
};

/* Backends register their devices from their register function (called once, by the
 * registry, in the order of WICK_BACKENDS); prefix "vulkan" + a per-prefix index. */
wk_status wk_device_register(const char *prefix, const wk_device_i *iface, void *impl, wk_device **out);

/* ---- backends ---- */
typedef struct wk_backend_i {
    const char *(*name)(const wk_backend *be);
    /* Whether this backend computes the node, by op, types and shapes. The builders in
     * src/core accept every type some backend can run; each backend says what it runs. */
    bool (*supports_op)(wk_backend *be, const wk_tensor *node);
    /* host memory <-> a tensor of this backend's buffers, queued; ordered with compute;
     * the host bytes must stay valid (set) or unread (get) until synchronize */
    wk_status (*set_async)(wk_backend *be, wk_tensor *t, const void *data, size_t offset, size_t size);
    wk_status (*get_async)(wk_backend *be, const wk_tensor *t, void *data, size_t offset, size_t size);
    /* Computes nodes [first, last) of g; every node's and source's memory is bound
     * (buffer + offs, and data for host buffers). May return before the work is done. */
    wk_status (*graph_compute)(wk_backend *be, wk_graph *g, int first, int last);
    wk_status (*synchronize)(wk_backend *be);
    void (*free)(wk_backend *be);
} wk_backend_i;

struct wk_backend {
    const wk_backend_i *iface;
    wk_device *device;
    void *impl;
};

/* helpers for backends */
static inline bool wk_backend_is_host(const wk_backend *be) {
    return be->device->iface->buffer_type(be->device)->host;
}
/* The buffer and byte offset holding t's first element (views resolved). */
wk_buffer *wk_tensor_buffer_offs(const wk_tensor *t, size_t *offs);

/* The CPU device (registry index 0) and its host buffer type. */
wk_device *wk_device_cpu(void);

#endif
