/* graph.c — graph building: the nodes reachable from the outputs in execution order
 * (sources before users), found with an iterative depth-first walk so deep graphs
 * cannot overflow the C stack. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

wk_graph *wk_graph_new(wk_ctx *ctx) {
    if (!ctx) return wk_err_null(WK_ERR_INVALID_ARG, "wk_graph_new: context is NULL");
    wk_graph *g = calloc(1, sizeof *g);
    if (!g) return wk_err_null(WK_ERR_NOMEM, "wk_graph_new: out of memory");
    g->ctx = ctx;
    g->next = ctx->graphs;
    ctx->graphs = g;
    return g;
}

void wk_graph_destroy(wk_graph *g) {
    if (!g) return;
    wk_sched_plan_free(g);
    free(g->nodes);
    free(g->leafs);
    free(g->plan_offs);
    free(g->buf);
    free(g);
}

static bool push(wk_tensor ***arr, int *n, int *cap, wk_tensor *t) {
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 64;
        wk_tensor **p = realloc(*arr, (size_t)nc * sizeof *p);
        if (!p) return false;
        *arr = p;
        *cap = nc;
    }
    (*arr)[(*n)++] = t;
    return true;
}

/* open-addressing pointer set for the walk */
typedef struct { wk_tensor **slot; size_t cap, n; } ptrset;

static size_t hash_ptr(const void *p) { return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull); }

static bool set_insert(ptrset *s, wk_tensor *t, bool *was_new) {
    if ((s->n + 1) * 2 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        wk_tensor **ns = calloc(nc, sizeof *ns);
        if (!ns) return false;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slot[i]) continue;
            size_t h = hash_ptr(s->slot[i]) & (nc - 1);
            while (ns[h]) h = (h + 1) & (nc - 1);
            ns[h] = s->slot[i];
        }
        free(s->slot);
        s->slot = ns;
        s->cap = nc;
    }
    size_t h = hash_ptr(t) & (s->cap - 1);
    while (s->slot[h]) {
        if (s->slot[h] == t) { *was_new = false; return true; }
        h = (h + 1) & (s->cap - 1);
    }
    s->slot[h] = t;
    s->n++;
    *was_new = true;
    return true;
}

wk_status wk_graph_expand(wk_graph *g, wk_tensor *out) {
    if (!g || !out) return wk_err(WK_ERR_INVALID_ARG, "wk_graph_expand: NULL graph or tensor");
    ptrset seen = {0};
    bool fresh;
    wk_status st = WK_OK;
    /* re-mark what is already in the graph so expanding twice adds each node once */
    for (int i = 0; i < g->n_nodes; i++)
        if (!set_insert(&seen, g->nodes[i], &fresh)) goto oom;
    for (int i = 0; i < g->n_leafs; i++)
        if (!set_insert(&seen, g->leafs[i], &fresh)) goto oom;

    /* explicit stack of (tensor, next source index to visit) */
    typedef struct { wk_tensor *t; int next; } frame;
    size_t cap = 64, sp = 0;
    frame *stack = malloc(cap * sizeof *stack);
    if (!stack) goto oom;
    if (!set_insert(&seen, out, &fresh)) { free(stack); goto oom; }
    if (fresh) stack[sp++] = (frame){out, 0};
    while (sp) {
        frame *f = &stack[sp - 1];
        if (f->next < WK_MAX_SRC) {
            wk_tensor *s = f->t->src[f->next++];
            /* a view's storage root must be ordered before the view too */
            if (!s) continue;
            if (!set_insert(&seen, s, &fresh)) { free(stack); goto oom; }
            if (!fresh) continue;
            if (sp == cap) {
                frame *ns = realloc(stack, cap * 2 * sizeof *ns);
                if (!ns) { free(stack); goto oom; }
                stack = ns;
                cap *= 2;
            }
            stack[sp++] = (frame){s, 0};
            continue;
        }
        wk_tensor *t = f->t;
        sp--;
        bool ok = t->op == WK_OP_NONE ? push(&g->leafs, &g->n_leafs, &g->cap_leafs, t)
                                      : push(&g->nodes, &g->n_nodes, &g->cap_nodes, t);
        if (!ok) { free(stack); goto oom; }
    }
    free(stack);
    free(seen.slot);
    out->flags |= WK_FLAG_OUTPUT;
    g->planned = false; /* the next compute plans again */
    return st;
oom:
    free(seen.slot);
    return wk_err(WK_ERR_NOMEM, "wk_graph_expand: out of memory");
}

int wk_graph_n_nodes(const wk_graph *g) { return g ? g->n_nodes : 0; }
wk_tensor *wk_graph_node(const wk_graph *g, int i) {
    if (!g || i < 0 || i >= g->n_nodes) return NULL;
    return g->nodes[i];
}
size_t wk_graph_planned_bytes(const wk_graph *g) { return g ? g->plan_bytes : 0; }
size_t wk_graph_naive_bytes(const wk_graph *g) { return g ? g->naive_bytes : 0; }
