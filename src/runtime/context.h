/* context.h — internal layout of a wk_context (public API in wick.h): the KV cache as one
 * f16 (or q8_0) tensor pair per layer whose rows are cells, a cell table (position and sequence of
 * each row, -1 = free), and a small cache of built graphs keyed by batch shape and attended
 * cache span, so decoding token after token reuses one graph instead of rebuilding it. */
#ifndef WK_RUNTIME_CONTEXT_H
#define WK_RUNTIME_CONTEXT_H

#include "../model/model.h"

#define WK_GRAPH_CACHE 2  /* the prompt's shape and the one-token shape */

typedef struct {
    wk_ctx *ctx;          /* owns the nodes, the inputs and the graph; NULL = empty slot */
    wk_graph *graph;
    wk_build_inputs in;
    wk_tensor *logits;
    uint64_t last_use;
} wk_graph_slot;

struct wk_context {
    wk_model *model;
    wk_backend *backend;
    uint32_t n_ctx, n_batch, n_seq_max;
    wk_ctx *kv_ctx;
    wk_tensor **k_cache, **v_cache;   /* per layer: [head_dim * n_head_kv, n_ctx] */
    int32_t *cell_pos, *cell_seq;     /* per cell; -1 = free */
    int32_t n_used;
    wk_graph_slot slots[WK_GRAPH_CACHE];
    uint64_t clock;
    /* results of the last wk_decode */
    float *logits;                    /* n_outputs rows of n_vocab */
    size_t logits_cap;                /* floats */
    int32_t *out_row;                 /* batch row -> logits row, -1 = none */
    int32_t n_rows, n_outputs;
    /* per-decode scratch, grown to the largest batch: positions, sequences, cells, rows
     * wanted; next position per sequence */
    int32_t *b_pos, *b_seq, *b_cells, *seq_next;
    int8_t *b_want;
    int32_t b_cap;
    int64_t n_graph_builds;           /* graphs built so far (tests check reuse) */
};

/* How many graphs this context has built (each distinct batch shape costs one). */
int64_t wk_context_n_graph_builds(const wk_context *c);

#endif
