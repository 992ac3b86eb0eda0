/* cpu.c — the CPU backend: one OpenMP parallel region per graph (split); every thread
 * walks the nodes, computes its share of each, and waits at a barrier before the next.
 * Views compute nothing and need no barrier. Scratch memory is sized once per split.
 * The per-node barrier is our own: it spins briefly (the quiet case, where threads arrive
 * microseconds apart) and then sleeps on a futex (Linux) or yields, so a thread that
 * the OS descheduled does not leave its partners burning the CPU it needs. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#else
#include <sched.h>
#endif

#include "../backend.h"
#include "cpu_internal.h"

#include <stdio.h>
#include <time.h>

/* WICK_PROFILE=1: wall time per op kind (thread 0, from the end of one node's barrier to
 * the next), printed to stderr at exit. Off costs one branch per node. */
static int g_prof = -1;
static double g_prof_s[WK_OP_COUNT];
static long g_prof_n[WK_OP_COUNT];
static double prof_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}
static void prof_report(void) {
    double total = 0;
    for (int i = 0; i < WK_OP_COUNT; i++) total += g_prof_s[i];
    fprintf(stderr, "wick profile (WICK_PROFILE): %.3f s in graph nodes\n", total);
    for (;;) { /* largest first */
        int best = -1;
        for (int i = 0; i < WK_OP_COUNT; i++)
            if (g_prof_n[i] && (best < 0 || g_prof_s[i] > g_prof_s[best])) best = i;
        if (best < 0) break;
        fprintf(stderr, "  %-20s %9.3f s %5.1f%% %9ld calls\n", wk_op_name((wk_op)best), g_prof_s[best],
                100.0 * g_prof_s[best] / (total > 0 ? total : 1), g_prof_n[best]);
        g_prof_n[best] = 0;
    }
}
static int prof_on(void) {
    if (g_prof < 0) {
        const char *e = getenv("WICK_PROFILE");
        g_prof = e && *e && *e != '0';
        if (g_prof) atexit(prof_report);
    }
    return g_prof;
}

/* ---- barrier ---- */

typedef struct {
    atomic_uint arrived;  /* threads at the barrier in this generation */
    atomic_uint gen;      /* bumped by the last arrival, releasing the others */
    atomic_uint sleepers; /* threads blocked in the futex, so the last one knows to wake them */
    unsigned n;
} barrier_t;

/* Checks of gen before a waiter sleeps: with a pause each (~18 ns on current x86) about
 * 20 us, several times the usual imbalance at a node. Longer spins measured worse on a
 * loaded 2-core machine (tg with 4000: ~8-11 t/s, 100-500: ~14-26 t/s): a descheduled
 * partner is gone for a scheduler slice, and every spin then is CPU taken from it. */
#define BARRIER_SPIN 1000

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void gen_wait(atomic_uint *gen, unsigned g) {
#if defined(__linux__)
    syscall(SYS_futex, (unsigned *)gen, FUTEX_WAIT_PRIVATE, g, NULL, NULL, 0); /* returns at once if gen != g */
#else
    (void)gen, (void)g;
    sched_yield();
#endif
}

static void gen_wake(atomic_uint *gen) {
#if defined(__linux__)
    syscall(SYS_futex, (unsigned *)gen, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
#else
    (void)gen;
#endif
}

static void barrier_wait(barrier_t *b) {
    const unsigned g = atomic_load_explicit(&b->gen, memory_order_acquire);
    /* acq_rel: the last arrival sees every thread's writes and passes them on through gen */
    if (atomic_fetch_add_explicit(&b->arrived, 1, memory_order_acq_rel) == b->n - 1) {
        atomic_store_explicit(&b->arrived, 0, memory_order_relaxed);
        atomic_fetch_add(&b->gen, 1); /* seq_cst with the sleepers check below: no lost wake */
        if (atomic_load(&b->sleepers)) gen_wake(&b->gen);
        return;
    }
    for (int i = 0; i < BARRIER_SPIN; i++) {
        if (atomic_load_explicit(&b->gen, memory_order_acquire) != g) return;
        cpu_relax();
    }
    atomic_fetch_add(&b->sleepers, 1);
    while (atomic_load(&b->gen) == g) gen_wait(&b->gen, g);
    atomic_fetch_sub(&b->sleepers, 1);
}

/* the barrier of the region this thread is in (set at the region's start) */
static _Thread_local barrier_t *t_barrier;

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
    if (p->nth > 1) barrier_wait(t_barrier);
}

void wk_cpu_NONE(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
/* Layout ops only reinterpret their source's bytes. */
void wk_cpu_RESHAPE(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
void wk_cpu_VIEW(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
void wk_cpu_PERMUTE(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }
void wk_cpu_TRANSPOSE(const wk_cpu_params *p, wk_tensor *dst) { (void)p; (void)dst; }

static const char *cpu_name(const wk_backend *be) { (void)be; return "cpu"; }
static wk_status cpu_set(wk_backend *be, wk_tensor *t, const void *data, size_t off, size_t size) {
    (void)be;
    return wk_tensor_set(t, data, off, size);
}
static wk_status cpu_get(wk_backend *be, const wk_tensor *t, void *data, size_t off, size_t size) {
    (void)be;
    return wk_tensor_get(t, data, off, size);
}
static bool cpu_supports(wk_backend *be, const wk_tensor *node) {
    (void)be;
    if ((unsigned)node->op >= WK_OP_COUNT || k_kernels[node->op] == NULL) return false;
    /* every source and the result must be host memory (the scheduler copies the rest) */
    if (!wk_op_is_view(node->op) && node->buffer && !node->buffer->base) return false;
    for (int s = 0; s < WK_MAX_SRC; s++)
        if (node->src[s] && !node->src[s]->data) {
            size_t o;
            wk_buffer *b = wk_tensor_buffer_offs(node->src[s], &o);
            if (b && !b->base) return false;
        }
    return true;
}
static wk_status cpu_sync(wk_backend *be) { (void)be; return WK_OK; }
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
    barrier_t bar = {0};
    const int prof = prof_on();
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
        if (p.ith == 0) bar.n = (unsigned)p.nth; /* the team may be smaller than asked */
        t_barrier = &bar;
#pragma omp barrier
        p.shared = work;
        p.shared_size = shared;
        p.scratch = work + shared + scratch * (size_t)p.ith;
        p.scratch_size = scratch;
        p.isa = isa;
        double t0 = prof && p.ith == 0 ? prof_now() : 0;
        for (int i = first; i < last; i++) {
            wk_tensor *t = g->nodes[i];
            if (wk_op_is_view(t->op)) continue;
            k_kernels[t->op](&p, t);
            wk_cpu_barrier(&p);
            if (prof && p.ith == 0) {
                const double t1 = prof_now();
                g_prof_s[t->op] += t1 - t0, g_prof_n[t->op]++;
                t0 = t1;
            }
        }
    }
    return WK_OK;
}

static const wk_backend_i k_cpu_iface = {
    cpu_name, cpu_supports, cpu_set, cpu_get, cpu_compute, cpu_sync, cpu_free,
};

/* ---- the CPU device ---- */

static void cpu_props(wk_device *d, wk_device_props *out) {
    (void)d;
    static char desc[96];
    snprintf(desc, sizeof desc, "CPU (%s kernels)", wk_cpu_isa());
    out->description = desc;
    out->kind = WK_DEVICE_CPU;
#if defined(__linux__)
    long pages = sysconf(_SC_PHYS_PAGES), avail = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (pages > 0 && psz > 0) out->memory_total = (size_t)pages * (size_t)psz;
    if (avail > 0 && psz > 0) out->memory_free = (size_t)avail * (size_t)psz;
#endif
}
wk_buffer_type *wk_host_buffer_type(wk_device *cpu);
static wk_buffer_type *cpu_buffer_type(wk_device *d) { return wk_host_buffer_type(d); }
static wk_status cpu_backend_create(wk_device *d, int n_threads, wk_backend **out);
static const wk_device_i k_cpu_device = {cpu_props, cpu_buffer_type, cpu_backend_create};

wk_status wk_cpu_register(void) { return wk_device_register("cpu", &k_cpu_device, NULL, NULL); }

wk_status wk_backend_cpu_create(int n_threads, wk_backend **out) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "wk_backend_cpu_create: out is NULL");
    *out = NULL;
    return cpu_backend_create(wk_device_cpu(), n_threads, out);
}

static wk_status cpu_backend_create(wk_device *d, int n_threads, wk_backend **out) {
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
    be->device = d;
    wk_cpu_isa_current(); /* choose the kernel set before any parallel region */
    *out = be;
    return WK_OK;
}
