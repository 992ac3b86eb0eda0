/* mix.h — which type each tensor of a model gets when it is quantized to a llama.cpp file
 * type ("Q4_K_M", "Q8_0", ...): the type-mix rules of llama-quantize (llama_tensor_get_type),
 * so that `wick quantize` files match llama.cpp's in layout and size. Pure functions of the
 * tensor names, shapes and a few hyperparameters; no tensor data is read. Internal header. */
#ifndef WK_QUANT_MIX_H
#define WK_QUANT_MIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wick.h"

/* A quantization target named on the command line. */
typedef struct {
    const char *name;  /* canonical spelling, "Q4_K_M" */
    uint32_t ftype;    /* llama_ftype written to general.file_type (formats.md §1.12) */
    wk_type base;      /* the type most quantizable tensors get */
    bool mix;          /* false: one type everywhere (a plain type, or --pure) */
} wk_mix;

/* Case-insensitive lookup; NULL when the name is not a target wick can produce. */
const wk_mix *wk_mix_find(const char *name);
/* The i-th target (for usage text), NULL past the end. */
const wk_mix *wk_mix_at(size_t i);

/* What the rules need to know about the model (general.architecture and {arch}.* keys). */
typedef struct {
    const char *arch;   /* "llama", "falcon", ...; "" when absent */
    int n_layer;        /* block_count */
    int n_head;         /* attention.head_count (layer 0 when per layer) */
    int n_head_kv;      /* attention.head_count_kv; = n_head when absent */
    int n_expert;       /* expert_count; 0 when absent */
} wk_mix_model;

typedef struct {
    const char *name;
    wk_type type;       /* type in the input file */
    int64_t ne[4];      /* missing trailing dims are 1 */
} wk_mix_tensor;

/* How one tensor's type was chosen. */
typedef enum {
    WK_MIX_KEEP = 0,    /* not quantizable (1-D, norm, ...): stored as in the input */
    WK_MIX_RULE,        /* the target's type or the mix rule's type */
    WK_MIX_FALLBACK,    /* the rule's type does not divide ne[0]: a smaller-block type */
    WK_MIX_FALLBACK_F16 /* not even the fallback fits ne[0]: F16 */
} wk_mix_how;

typedef struct {
    wk_type type;       /* the output type */
    wk_type rule;       /* what the rules asked for, before the fallback */
    wk_mix_how how;
} wk_mix_choice;

/* Chooses the output type of each of the n tensors (given in file order). pure: every
 * quantizable tensor gets mix->base (still subject to the row-length fallbacks). Fails
 * (WK_ERR_FORMAT) only for an MoE model whose per-layer tensor names carry no valid layer
 * number, as llama.cpp does. */
wk_status wk_mix_plan(const wk_mix *mix, bool pure, const wk_mix_model *m, const wk_mix_tensor *t,
                      size_t n, wk_mix_choice *out);

/* llama.cpp's tensor_allows_quantization for the default options: 2-D or larger, a name
 * ending in "weight" and not a norm, router, positional embedding or one of the small
 * special tensors llama.cpp keeps as they are. */
bool wk_mix_quantizable(const char *name, const int64_t ne[4]);

#endif
