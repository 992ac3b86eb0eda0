/* backend.h — the interface every compute backend implements. Backends see tensors and
 * graphs, never models or tokenizers. The CPU backend is always present and is the
 * reference every other backend is tested against. */
#ifndef WK_BACKEND_H
#define WK_BACKEND_H

#include "../src/core/tensor.h"

typedef struct wk_backend_i {
    const char *(*name)(const wk_backend *be);
    /* Device memory for weights and activations (host memory for CPU). */
    void *(*buffer_alloc)(wk_backend *be, size_t size);
    void (*buffer_free)(wk_backend *be, void *buf);
    /* Copy bytes [offset, offset+size) of a tensor's data to or from host memory. */
    void (*tensor_set)(wk_backend *be, wk_tensor *t, const void *data, size_t offset, size_t size);
    void (*tensor_get)(wk_backend *be, const wk_tensor *t, void *data, size_t offset, size_t size);
    /* Whether this backend can compute the node with its source types. */
    bool (*supports_op)(wk_backend *be, const wk_tensor *node);
    /* Compute nodes [first, last) of a planned graph whose memory is bound. */
    wk_status (*graph_compute)(wk_backend *be, wk_graph *g, int first, int last);
    void (*synchronize)(wk_backend *be);
    void (*free)(wk_backend *be);
} wk_backend_i;

struct wk_backend {
    const wk_backend_i *iface;
    void *impl;
    bool host_memory; /* buffers are plain host memory the planner may use directly */
};

#endif
