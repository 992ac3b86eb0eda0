/* planner.c — memory planner for intermediates. Walks the nodes in execution order,
 * gives each result a best-fit block from a free list of one activation buffer, and
 * returns a block to the list after its last reader has run. Views own no memory; they
 * extend the life of their storage root. Outputs and leaves are never reused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

#define PLAN_ALIGN 64

typedef struct { size_t off, size; } block;
typedef struct { block *b; int n, cap; size_t top; } freelist;

static size_t align_up(size_t x) { return (x + PLAN_ALIGN - 1) & ~(size_t)(PLAN_ALIGN - 1); }

static size_t fl_alloc(freelist *fl, size_t size) {
    int best = -1;
    for (int i = 0; i < fl->n; i++)
        if (fl->b[i].size >= size && (best < 0 || fl->b[i].size < fl->b[best].size)) best = i;
    if (best >= 0) {
        size_t off = fl->b[best].off;
        fl->b[best].off += size;
        fl->b[best].size -= size;
        if (fl->b[best].size == 0) fl->b[best] = fl->b[--fl->n];
        return off;
    }
    /* grow the top; a free block touching the top can be extended instead */
    for (int i = 0; i < fl->n; i++) {
        if (fl->b[i].off + fl->b[i].size == fl->top) {
            size_t off = fl->b[i].off;
            fl->top = off + size;
            fl->b[i] = fl->b[--fl->n];
            return off;
        }
    }
    size_t off = fl->top;
    fl->top += size;
    return off;
}

static bool fl_free(freelist *fl, size_t off, size_t size) {
    /* merge with neighbours so blocks do not fragment */
    for (int i = 0; i < fl->n; i++) {
        if (fl->b[i].off + fl->b[i].size == off) { off = fl->b[i].off; size += fl->b[i].size; fl->b[i--] = fl->b[--fl->n]; }
        else if (off + size == fl->b[i].off) { size += fl->b[i].size; fl->b[i--] = fl->b[--fl->n]; }
    }
    if (fl->n == fl->cap) {
        int nc = fl->cap ? fl->cap * 2 : 32;
        block *nb = realloc(fl->b, (size_t)nc * sizeof *nb);
        if (!nb) return false;
        fl->b = nb;
        fl->cap = nc;
    }
    fl->b[fl->n++] = (block){off, size};
    return true;
}

static wk_tensor *storage_root(wk_tensor *t) { return t->view_src ? t->view_src : t; }

/* A node needs planner memory when it computes into fresh storage, unless the caller
 * gave it memory of its own. Memory from another graph's plan is replanned here: that
 * graph may have let this node share bytes with nodes that are live together here. */
static bool needs_memory(const wk_tensor *t) {
    return t->op != WK_OP_NONE && !t->view_src && (!t->data || (t->flags & WK_FLAG_PLANNED));
}

static int node_index(const wk_graph *g, const wk_tensor *t, const wk_tensor **keys, int *vals, size_t cap) {
    (void)g;
    size_t h = (size_t)(((uintptr_t)t >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
    while (keys[h]) {
        if (keys[h] == t) return vals[h];
        h = (h + 1) & (cap - 1);
    }
    return -1;
}

wk_status wk_graph_plan(wk_graph *g) {
    size_t top;
    wk_status st = wk_graph_plan_pools(g, NULL, 1, &top);
    if (st == WK_OK) g->plan_bytes = top;
    return st;
}

wk_status wk_graph_plan_pools(wk_graph *g, const int8_t *pool, int n_pools, size_t *tops) {
    int n = g->n_nodes;
    if (n_pools < 1 || n_pools > WK_PLAN_MAX_POOLS) return wk_err(WK_ERR_INVALID_ARG, "memory planner: %d pools", n_pools);
    size_t cap = 16;
    while (cap < (size_t)n * 2 + 2) cap *= 2;
    const wk_tensor **keys = calloc(cap, sizeof *keys);
    int *vals = calloc(cap, sizeof *vals);
    int *last = malloc(((size_t)n + 1) * sizeof *last);
    size_t *offs = malloc(((size_t)n + 1) * sizeof *offs);
    freelist fls[WK_PLAN_MAX_POOLS] = {{0}};
    if (!keys || !vals || !last || !offs) goto oom;
    for (int i = 0; i < n; i++) {
        size_t h = (size_t)(((uintptr_t)g->nodes[i] >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
        while (keys[h]) h = (h + 1) & (cap - 1);
        keys[h] = g->nodes[i];
        vals[h] = i;
        last[i] = (g->nodes[i]->flags & WK_FLAG_OUTPUT) ? INT32_MAX : i;
        offs[i] = SIZE_MAX;
    }
    /* last reader of each storage root (reading through a view counts) */
    for (int i = 0; i < n; i++) {
        wk_tensor *t = g->nodes[i];
        for (int s = 0; s < WK_MAX_SRC; s++) {
            if (!t->src[s]) continue;
            int r = node_index(g, storage_root(t->src[s]), keys, vals, cap);
            if (r >= 0 && last[r] < i) last[r] = i;
        }
        if (t->view_src) {
            int r = node_index(g, t->view_src, keys, vals, cap);
            if (r >= 0 && last[r] < i) last[r] = i;
            /* an output view keeps its root alive */
            if (r >= 0 && (t->flags & WK_FLAG_OUTPUT)) last[r] = INT32_MAX;
        }
    }
    size_t naive = 0;
    for (int i = 0; i < n; i++) {
        wk_tensor *t = g->nodes[i];
        if (needs_memory(t)) {
            size_t sz = align_up(wk_tensor_nbytes(t));
            if (sz < wk_tensor_nbytes(t)) goto oom;
            offs[i] = fl_alloc(&fls[pool ? pool[i] : 0], sz);
            naive += sz;
        }
        /* free the roots whose last reader is this node */
        for (int s = 0; s < WK_MAX_SRC + 1; s++) {
            wk_tensor *src = s < WK_MAX_SRC ? t->src[s] : t->view_src;
            if (!src) continue;
            int r = node_index(g, storage_root(src), keys, vals, cap);
            if (r < 0 || last[r] != i || offs[r] == SIZE_MAX) continue;
            if (!fl_free(&fls[pool ? pool[r] : 0], offs[r], align_up(wk_tensor_nbytes(g->nodes[r])))) goto oom;
            last[r] = -1; /* freed once */
        }
        /* a result nobody reads (and not an output) is dead at once */
        if (offs[i] != SIZE_MAX && last[i] == i) {
            if (!fl_free(&fls[pool ? pool[i] : 0], offs[i], align_up(wk_tensor_nbytes(t)))) goto oom;
            last[i] = -1;
        }
    }
    free(g->plan_offs);
    g->plan_offs = offs;
    g->plan_bytes = 0;
    for (int p = 0; p < n_pools; p++) {
        tops[p] = fls[p].top;
        g->plan_bytes += fls[p].top;
        free(fls[p].b);
    }
    g->naive_bytes = naive;
    g->planned = true;
    free(keys);
    free(vals);
    free(last);
    return WK_OK;
oom:
    free(keys);
    free(vals);
    free(last);
    free(offs);
    for (int p = 0; p < n_pools; p++) free(fls[p].b);
    return wk_err(WK_ERR_NOMEM, "memory planner: out of memory");
}

void wk_graph_bind(wk_graph *g, void *buf) {
    for (int i = 0; i < g->n_nodes; i++)
        if (g->plan_offs[i] != SIZE_MAX) {
            g->nodes[i]->data = (char *)buf + g->plan_offs[i];
            g->nodes[i]->buffer = NULL;
            g->nodes[i]->flags |= WK_FLAG_PLANNED;
        }
    /* views after their roots: nodes are in execution order, so one pass suffices */
    for (int i = 0; i < g->n_nodes; i++) {
        wk_tensor *t = g->nodes[i];
        if (t->view_src && t->view_src->data) t->data = (char *)t->view_src->data + t->view_offs;
    }
}
