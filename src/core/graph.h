/* graph.h — internal graph helpers: destruction and the memory planner. */
#ifndef WK_CORE_GRAPH_H
#define WK_CORE_GRAPH_H

#include "tensor.h"

void wk_graph_destroy(wk_graph *g);
/* Assigns each intermediate an offset in one activation buffer; intermediates whose
 * lifetimes do not overlap share bytes. Sets g->plan_offs, plan_bytes, naive_bytes. */
wk_status wk_graph_plan(wk_graph *g);
/* The same over separate memory pools (one per backend): node i takes its bytes from pool
 * pool[i]; tops[p] gets each pool's size. Lifetimes are the graph's order in all pools. */
#define WK_PLAN_MAX_POOLS 8
wk_status wk_graph_plan_pools(wk_graph *g, const int8_t *pool, int n_pools, size_t *tops);
/* Points every planned node (and every view of one) into buf (plan_bytes long). */
void wk_graph_bind(wk_graph *g, void *buf);
/* Computes g's nodes up to and including t (e.g. a loss before its backward nodes), with
 * the memory plan of the whole graph. */
wk_status wk_graph_compute_until(wk_backend *be, wk_graph *g, const wk_tensor *t);

/* Frees a graph's multi-backend plan (sched.c); the graph is planned again at next use. */
void wk_sched_plan_free(wk_graph *g);

#endif
