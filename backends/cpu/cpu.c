/* cpu.c — the CPU backend: one OpenMP parallel region per graph (split); every thread
 * walks the nodes, computes its share of each, and waits at a barrier before the next.
 * Views compute nothing and need no barrier. Scratch memory is sized once per split. */
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../backend.h"
#include "cpu_internal.h"

typedef void (*kernel_fn)(const wk_cpu_params *p, wk_tensor *dst);

static const kernel_fn k_kernels[WK_OP_COUNT] = {
#define WK_OP(nm, nsrc, g) [WK_OP_##nm] = wk_cpu_##nm,
#include "../../src/core/ops.def"
#undef WK_OP
};

typedef struct {
    int n_threads;
    void *work;
    size_t work_size;
} cpu_impl;

void wk_cpu_barrier(const wk_cpu_params *p) {
    if (p->nth > 1) {
#pragma omp barrier
    }
}

void wk_cpu_NONE(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
/* Layout ops only reinterpret their source's bytes. */
void wk_cpu_RESHAPE(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
void wk_cpu_VIEW(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
void wk_cpu_PERMUTE(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
void wk_cpu_TRANSPOSE(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }

static const char *cpu_name(const wk_backend *be) { (void)be; return "cpu"; }
static void *cpu_alloc(wk_backend *be, size_t size) { (void)be; return aligned_alloc(64, (size + 63) & ~(size_t)63); }
static void cpu_buf_free(wk_backend *be, void *buf) { (void)be; free(buf); }
static void cpu_set(wk_backend *be, wk_tensor *t, const void *data, size_t off, size_t size) {
    (void)be;
    memcpy((char *)t->data + off, data, size);
}
static void cpu_get(wk_backend *be, const wk_tensor *t, void *data, size_t off, size_t size) {
    (void)be;
    memcpy(data, (const char *)t->data + off, size);
}
static bool cpu_supports(wk_backend *be, const wk_tensor *node) {
    (void)be;
    return (unsigned)node->op < WK_OP_COUNT && k_kernels[node->op] != NULL;
}
static void cpu_sync(wk_backend *be) { (void)be; }
static void cpu_free(wk_backend *be) {
    cpu_impl *c = be->impl;
    free(c->work);
    free(c);
    free(be);
}

static size_t align64(size_t x) { return (x + 63) & ~(size_t)63; }

static wk_status cpu_compute(wk_backend *be, wk_graph *g, int first, int last) {
    cpu_impl *c = be->impl;
    int nth = c->n_threads;
    size_t shared = 0, scratch = 0;
    for (int i = first; i < last; i++) {
        wk_tensor *t = g->nodes[i];
        size_t sh = align64(wk_cpu_shared_size(t, nth)), sc = align64(wk_cpu_scratch_size(t, nth));
        if (sh > shared) shared = sh;
        if (sc > scratch) scratch = sc;
    }
    size_t need = shared + scratch * (size_t)nth;
    if (need > c->work_size) {
        free(c->work);
        c->work = aligned_alloc(64, need);
        c->work_size = c->work ? need : 0;
        if (!c->work) return wk_err(WK_ERR_NOMEM, "cpu: cannot allocate %zu bytes of scratch", need);
    }
    const wk_isa *isa = wk_cpu_isa_current();
    char *work = c->work;
#pragma omp parallel num_threads(nth)
    {
        wk_cpu_params p;
#ifdef _OPENMP
        p.ith = omp_get_thread_num();
        p.nth = omp_get_num_threads();
#else
        p.ith = 0;
        p.nth = 1;
#endif
        p.shared = work;
        p.shared_size = shared;
        p.scratch = work + shared + scratch * (size_t)p.ith;
        p.scratch_size = scratch;
        p.isa = isa;
        for (int i = first; i < last; i++) {
            wk_tensor *t = g->nodes[i];
            if (wk_op_is_view(t->op)) continue;
            k_kernels[t->op](&p, t);
            wk_cpu_barrier(&p);
        }
    }
    return WK_OK;
}

static const wk_backend_i k_cpu_iface = {
    cpu_name, cpu_alloc, cpu_buf_free, cpu_set, cpu_get, cpu_supports, cpu_compute, cpu_sync, cpu_free,
};

wk_status wk_backend_cpu_create(int n_threads, wk_backend **out) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "wk_backend_cpu_create: out is NULL");
    *out = NULL;
    if (n_threads <= 0) {
#ifdef _OPENMP
        n_threads = omp_get_num_procs();
#else
        n_threads = 1;
#endif
    }
#ifndef _OPENMP
    n_threads = 1;
#endif
    if (n_threads > 512) return wk_err(WK_ERR_INVALID_ARG, "cpu: %d threads is too many", n_threads);
    wk_backend *be = calloc(1, sizeof *be);
    cpu_impl *c = calloc(1, sizeof *c);
    if (!be || !c) {
        free(be);
        free(c);
        return wk_err(WK_ERR_NOMEM, "cpu: out of memory");
    }
    c->n_threads = n_threads;
    be->iface = &k_cpu_iface;
    be->impl = c;
    be->host_memory = true;
    wk_cpu_isa_current(); /* choose the kernel set before any parallel region */
    *out = be;
    return WK_OK;
}
