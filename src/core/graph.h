/* graph.h — internal graph helpers: destruction and the memory planner. */
#ifndef WK_CORE_GRAPH_H
#define WK_CORE_GRAPH_H

#include "tensor.h"

void wk_graph_destroy(wk_graph *g);
/* Assigns each intermediate an offset in one activation buffer; intermediates whose
 * lifetimes do not overlap share bytes. Sets g->plan_offs, plan_bytes, naive_bytes. */
wk_status wk_graph_plan(wk_graph *g);
/* Points every planned node (and every view of one) into buf (plan_bytes long). */
void wk_graph_bind(wk_graph *g, void *buf);
/* Computes g's nodes up to and including t (e.g. a loss before its backward nodes), with
 * the memory plan of the whole graph. */
wk_status wk_graph_compute_until(wk_backend *be, wk_graph *g, const wk_tensor *t);

#endif
