/* wick-backend.h — devices, buffers, backends and the scheduler (the backend seam).
 *
 * A device is one place that computes (the CPU, a Vulkan GPU, ...), listed in a registry
 * that each backend built into the library fills at first use. A device gives buffers (host
 * memory for the CPU, device memory elsewhere) and backends (one stream of work on it).
 * A tensor lives in a buffer at an offset; wk_tensor_data() is its host address only when
 * the buffer is host memory, so code that may see device tensors reads and writes them with
 * wk_tensor_set() / wk_tensor_get(). The scheduler runs one graph over several backends:
 * each node goes to the backend that holds its weights and supports it, consecutive nodes
 * of one backend form a split, tensors crossing a split boundary are copied, and anything
 * no other backend supports runs on the CPU. Included by wick.h. */
#ifndef WICK_BACKEND_H
#define WICK_BACKEND_H

#include "wick.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wk_device wk_device;
typedef struct wk_buffer_type wk_buffer_type;
typedef struct wk_buffer wk_buffer;
typedef struct wk_sched wk_sched;

typedef enum {
    WK_DEVICE_CPU = 0,   /* the host processor (the reference backend) */
    WK_DEVICE_GPU,       /* a discrete GPU */
    WK_DEVICE_IGPU,      /* a GPU sharing host memory */
    WK_DEVICE_SOFTWARE,  /* a GPU API implemented on the CPU (Mesa lavapipe) */
} wk_device_kind;

typedef struct {
    const char *name;         /* "cpu", "vulkan0", ...: what --device takes */
    const char *description;  /* the driver's own name for it */
    wk_device_kind kind;
    size_t memory_total;      /* bytes the device can hold (0 when unknown) */
    size_t memory_free;       /* bytes free now, as far as the driver tells (0 when unknown) */
} wk_device_props;

/* The registry: every device of every backend built in, the CPU first (index 0). */
int wk_device_count(void);
wk_device *wk_device_get(int i);                      /* NULL when out of range */
/* By name ("cpu", "vulkan0"); NULL with a message naming the devices there are. */
wk_device *wk_device_by_name(const char *name);
void wk_device_get_props(wk_device *d, wk_device_props *out);
const char *wk_device_name(const wk_device *d);
const char *wk_device_kind_name(wk_device_kind k);   /* "cpu", "gpu", "igpu", "software" */
/* A backend on the device; n_threads is for the CPU (<= 0: every core). */
wk_status wk_device_backend_create(wk_device *d, int n_threads, wk_backend **out);
wk_device *wk_backend_device(const wk_backend *be);
/* The first GPU-like device (GPU, IGPU, then a software one), or NULL when there is none. */
wk_device *wk_device_default_gpu(void);

/* ---- buffers -------------------------------------------------------------------- */
wk_buffer_type *wk_device_buffer_type(wk_device *d);
size_t wk_buffer_type_alignment(const wk_buffer_type *bt);
wk_status wk_buffer_alloc(wk_buffer_type *bt, size_t size, wk_buffer **out);
/* A host buffer over memory the caller owns (e.g. a file mapping); nothing is copied. */
wk_status wk_buffer_from_host(void *base, size_t size, wk_buffer **out);
void wk_buffer_free(wk_buffer *b);   /* accepts NULL */
size_t wk_buffer_size(const wk_buffer *b);
bool wk_buffer_is_host(const wk_buffer *b);
wk_device *wk_buffer_device(const wk_buffer *b);
/* Places leaf t at byte offset offs of b (aligned to the buffer type's alignment). */
wk_status wk_tensor_place(wk_tensor *t, wk_buffer *b, size_t offs);
wk_buffer *wk_tensor_buffer(const wk_tensor *t);     /* NULL for caller-owned host data */
/* Bytes [offset, offset + size) of t's data from/to host memory, whatever buffer holds it
 * (a device copy waits for the device). t must be contiguous over that range. */
wk_status wk_tensor_set(wk_tensor *t, const void *data, size_t offset, size_t size);
wk_status wk_tensor_get(const wk_tensor *t, void *data, size_t offset, size_t size);

/* ---- scheduler -------------------------------------------------------------------- */
/* backends: in order of preference; a CPU backend must be among them (the fallback).
 * The scheduler does not own them. */
wk_status wk_sched_create(wk_backend *const *backends, int n_backends, wk_sched **out);
void wk_sched_free(wk_sched *s);
/* Assigns, plans (once per graph; reused while it is unchanged) and computes g. */
wk_status wk_sched_compute(wk_sched *s, wk_graph *g);
/* Nodes of g up to and including t, under the whole graph's plan. */
wk_status wk_sched_compute_until(wk_sched *s, wk_graph *g, const wk_tensor *t);
/* After a compute: the number of splits, and how many nodes ran on backend i. */
int wk_sched_n_splits(const wk_sched *s);
int wk_sched_n_nodes_on(const wk_sched *s, int i);
/* The backend the last compute ran node t on (NULL when t was not a node). */
wk_backend *wk_sched_node_backend(const wk_sched *s, const wk_graph *g, const wk_tensor *t);

#ifdef __cplusplus
}
#endif
#endif /* WICK_BACKEND_H */
