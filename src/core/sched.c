/* sched.c — the scheduler: plans graph memory, assigns each node to a backend that
 * supports it, and runs consecutive nodes of one backend as a split. Only the CPU
 * backend exists now, so a graph is one split; the assignment is real so a GPU backend
 * (partial offload: layers on different backends) slots in here. */
#include <stdlib.h>

#include "../../backends/backend.h"
#include "graph.h"

const char *wk_backend_name(const wk_backend *be) { return be ? be->iface->name(be) : "(none)"; }

void wk_backend_free(wk_backend *be) {
    if (be) be->iface->free(be);
}

static wk_status check_leaves(const wk_graph *g) {
    for (int i = 0; i < g->n_leafs; i++)
        if (!g->leafs[i]->data)
            return wk_err(WK_ERR_INVALID_ARG, "graph: leaf tensor '%s' has no data", g->leafs[i]->name);
    return WK_OK;
}

/* Plans once per graph shape; binds every time, since another graph sharing nodes with
 * this one may have pointed them into its own buffer meanwhile. */
static wk_status ensure_plan(wk_backend *be, wk_graph *g) {
    if (g->planned) {
        wk_graph_bind(g, g->buf);
        return WK_OK;
    }
    wk_status st = wk_graph_plan(g);
    if (st != WK_OK) return st;
    if (!be->host_memory) return wk_err(WK_ERR_UNSUPPORTED, "scheduler: device-memory backends are not wired yet");
    if (g->buf_size < g->plan_bytes) {
        free(g->buf);
        g->buf = NULL;
        g->buf_size = 0;
        if (g->plan_bytes) {
            g->buf = aligned_alloc(64, g->plan_bytes);
            if (!g->buf) return wk_err(WK_ERR_NOMEM, "graph: cannot allocate %zu activation bytes", g->plan_bytes);
            g->buf_size = g->plan_bytes;
        }
    }
    wk_graph_bind(g, g->buf);
    return WK_OK;
}

static wk_status compute_nodes(wk_backend *be, wk_graph *g, int n_nodes);

wk_status wk_graph_compute(wk_backend *be, wk_graph *g) {
    if (!be || !g) return wk_err(WK_ERR_INVALID_ARG, "wk_graph_compute: NULL backend or graph");
    return compute_nodes(be, g, g->n_nodes);
}

wk_status wk_graph_compute_until(wk_backend *be, wk_graph *g, const wk_tensor *t) {
    if (!be || !g || !t) return wk_err(WK_ERR_INVALID_ARG, "wk_graph_compute_until: NULL argument");
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i] == t) return compute_nodes(be, g, i + 1);
    return wk_err(WK_ERR_INVALID_ARG, "wk_graph_compute_until: '%s' is not a node of the graph", t->name);
}

/* nodes [0, n_nodes) of g, planned for the whole graph */
static wk_status compute_nodes(wk_backend *be, wk_graph *g, int n_nodes) {
    wk_status st = check_leaves(g);
    if (st != WK_OK) return st;
    st = ensure_plan(be, g);
    if (st != WK_OK) return st;
    wk_backend *backends[1] = {be};
    int n_backends = 1;
    /* assign, then run maximal runs of nodes that share a backend */
    int first = 0, cur = -1;
    for (int i = 0; i <= n_nodes; i++) {
        int b = -1;
        if (i < n_nodes) {
            for (int k = 0; k < n_backends && b < 0; k++)
                if (backends[k]->iface->supports_op(backends[k], g->nodes[i])) b = k;
            if (b < 0)
                return wk_err(WK_ERR_UNSUPPORTED, "no backend supports %s on '%s' (%s)", wk_op_name(g->nodes[i]->op),
                              g->nodes[i]->name, wk_type_name(g->nodes[i]->src[0] ? g->nodes[i]->src[0]->type : g->nodes[i]->type));
        }
        if (i == n_nodes || (cur >= 0 && b != cur)) {
            if (cur >= 0 && i > first) {
                st = backends[cur]->iface->graph_compute(backends[cur], g, first, i);
                if (st != WK_OK) return st;
            }
            first = i;
        }
        cur = b;
    }
    return WK_OK;
}
