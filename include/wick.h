/* wick.h — the public C API of wick, a CPU-first portable LLM engine.
 *
 * Handles are opaque; every call that can fail returns a wk_status and leaves a
 * per-thread message in wk_last_error(). The library never aborts or exits on input
 * it did not create (files, flags, shapes passed by a caller).
 *
 * Graphs are built lazily: wk_add(), wk_mul_mat(), ... only record a node. Leaves
 * (inputs, weights) own data from their context; intermediates get memory from the
 * planner when the graph is computed, and dead intermediates share bytes. */
#ifndef WICK_H
#define WICK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WICK_VERSION_MAJOR 0
#define WICK_VERSION_MINOR 1
#define WICK_VERSION_PATCH 0
#define WICK_VERSION_STRING "0.1.0"

const char *wk_version(void);

/* ---- status codes ------------------------------------------------------- */
typedef enum {
    WK_OK = 0,
    WK_ERR_INVALID_ARG,  /* a caller passed something malformed (shape, flag, NULL) */
    WK_ERR_NOMEM,        /* an allocation failed */
    WK_ERR_IO,           /* a file could not be opened, read or written */
    WK_ERR_FORMAT,       /* a file's contents are invalid */
    WK_ERR_UNSUPPORTED,  /* valid request, not implemented for these types/backend */
    WK_ERR_SHAPE,        /* tensor shapes do not fit the op */
} wk_status;

const char *wk_status_str(wk_status s);
/* The message of the last failing call on this thread ("" when none). */
const char *wk_last_error(void);
void wk_clear_error(void);

/* ---- tensor types: the numbering is ggml's (GGUF type codes) ------------ */
typedef enum {
    WK_TYPE_F32 = 0, WK_TYPE_F16 = 1, WK_TYPE_Q4_0 = 2, WK_TYPE_Q4_1 = 3,
    WK_TYPE_Q5_0 = 6, WK_TYPE_Q5_1 = 7, WK_TYPE_Q8_0 = 8, WK_TYPE_Q8_1 = 9,
    WK_TYPE_Q2_K = 10, WK_TYPE_Q3_K = 11, WK_TYPE_Q4_K = 12, WK_TYPE_Q5_K = 13,
    WK_TYPE_Q6_K = 14, WK_TYPE_Q8_K = 15, WK_TYPE_IQ4_NL = 20, WK_TYPE_IQ4_XS = 23,
    WK_TYPE_I8 = 24, WK_TYPE_I16 = 25, WK_TYPE_I32 = 26, WK_TYPE_I64 = 27,
    WK_TYPE_F64 = 28, WK_TYPE_BF16 = 30,
    WK_TYPE_COUNT = 43,
} wk_type;

const char *wk_type_name(wk_type t);     /* "f32", "q4_K", ...; NULL when unknown */
int64_t wk_type_block_size(wk_type t);   /* elements per block; 0 when unsupported */
size_t wk_type_size(wk_type t);          /* bytes per block; 0 when unsupported */
bool wk_type_is_quantized(wk_type t);

/* Scalar conversions (round to nearest even, as the GGUF ecosystem does). */
uint16_t wk_fp32_to_fp16(float f);
float wk_fp16_to_fp32(uint16_t h);
uint16_t wk_fp32_to_bf16(float f);
float wk_bf16_to_fp32(uint16_t h);

/* ---- contexts and tensors ------------------------------------------------ */
typedef struct wk_ctx wk_ctx;
typedef struct wk_tensor wk_tensor;
typedef struct wk_graph wk_graph;

typedef struct {
    bool no_alloc;  /* true: leaves get no data (caller sets it with wk_tensor_set_data) */
} wk_ctx_params;

wk_status wk_ctx_create(const wk_ctx_params *params, wk_ctx **out);
void wk_ctx_free(wk_ctx *ctx);  /* frees every tensor and graph made in it */

#define WK_MAX_DIMS 4

/* New leaf tensor; ne[0] varies fastest; missing dims are 1. NULL on error. */
wk_tensor *wk_new_tensor(wk_ctx *ctx, wk_type type, int n_dims, const int64_t *ne);
wk_tensor *wk_new_tensor_1d(wk_ctx *ctx, wk_type type, int64_t ne0);
wk_tensor *wk_new_tensor_2d(wk_ctx *ctx, wk_type type, int64_t ne0, int64_t ne1);
wk_tensor *wk_new_tensor_3d(wk_ctx *ctx, wk_type type, int64_t ne0, int64_t ne1, int64_t ne2);
wk_tensor *wk_new_tensor_4d(wk_ctx *ctx, wk_type type, int64_t ne0, int64_t ne1, int64_t ne2,
                            int64_t ne3);

wk_type wk_tensor_type(const wk_tensor *t);
int64_t wk_tensor_ne(const wk_tensor *t, int dim);
size_t wk_tensor_nb(const wk_tensor *t, int dim);
int64_t wk_tensor_nelements(const wk_tensor *t);
size_t wk_tensor_nbytes(const wk_tensor *t);  /* bytes spanned by the tensor's elements */
bool wk_tensor_is_contiguous(const wk_tensor *t);
void *wk_tensor_data(const wk_tensor *t);      /* NULL until allocated/computed */
void wk_tensor_set_data(wk_tensor *t, void *data);  /* for no_alloc leaves: caller-owned */
void wk_tensor_set_name(wk_tensor *t, const char *name);
const char *wk_tensor_name(const wk_tensor *t);

/* Flags: params get gradients (training), outputs keep their memory after compute. */
void wk_tensor_set_param(wk_tensor *t);
void wk_tensor_set_output(wk_tensor *t);

/* ---- ops: each records a node; NULL on bad shapes (see wk_last_error) ---- */
/* Element-wise binary ops broadcast b over a: each b->ne[i] must divide a->ne[i]. */
wk_tensor *wk_add(wk_ctx *ctx, wk_tensor *a, wk_tensor *b);
wk_tensor *wk_sub(wk_ctx *ctx, wk_tensor *a, wk_tensor *b);
wk_tensor *wk_mul(wk_ctx *ctx, wk_tensor *a, wk_tensor *b);
wk_tensor *wk_div(wk_ctx *ctx, wk_tensor *a, wk_tensor *b);
wk_tensor *wk_scale(wk_ctx *ctx, wk_tensor *a, float s);
wk_tensor *wk_sqr(wk_ctx *ctx, wk_tensor *a);
wk_tensor *wk_sqrt(wk_ctx *ctx, wk_tensor *a);
wk_tensor *wk_exp(wk_ctx *ctx, wk_tensor *a);
wk_tensor *wk_log(wk_ctx *ctx, wk_tensor *a);
wk_tensor *wk_tanh(wk_ctx *ctx, wk_tensor *a);
wk_tensor *wk_silu(wk_ctx *ctx, wk_tensor *a);
wk_tensor *wk_gelu(wk_ctx *ctx, wk_tensor *a);      /* tanh approximation */
wk_tensor *wk_gelu_erf(wk_ctx *ctx, wk_tensor *a);  /* exact, with erf */
wk_tensor *wk_softcap(wk_ctx *ctx, wk_tensor *a, float cap);  /* cap * tanh(a / cap) */
wk_tensor *wk_clamp(wk_ctx *ctx, wk_tensor *a, float min, float max);
/* Fused gated units: silu(a) * b and gelu(a) * b, a and b of the same shape. */
wk_tensor *wk_swiglu(wk_ctx *ctx, wk_tensor *a, wk_tensor *b);
wk_tensor *wk_geglu(wk_ctx *ctx, wk_tensor *a, wk_tensor *b);

/* Reductions. sum: all elements -> [1]; sum_rows/mean: over ne[0] -> [1, ne1, ne2, ne3];
 * argmax: index of the largest element of each row -> I32 [ne1, ne2, ne3]. */
wk_tensor *wk_sum(wk_ctx *ctx, wk_tensor *a);
wk_tensor *wk_sum_rows(wk_ctx *ctx, wk_tensor *a);
wk_tensor *wk_mean(wk_ctx *ctx, wk_tensor *a);
wk_tensor *wk_argmax(wk_ctx *ctx, wk_tensor *a);

/* Copies and layout. cpy writes a (converted) into b and returns a view of b; cast makes
 * a new contiguous tensor of another type (F32/F16/BF16); cont makes a contiguous copy. */
wk_tensor *wk_cpy(wk_ctx *ctx, wk_tensor *a, wk_tensor *b);
wk_tensor *wk_cast(wk_ctx *ctx, wk_tensor *a, wk_type type);
wk_tensor *wk_cont(wk_ctx *ctx, wk_tensor *a);
wk_tensor *wk_reshape(wk_ctx *ctx, wk_tensor *a, int n_dims, const int64_t *ne);
wk_tensor *wk_reshape_2d(wk_ctx *ctx, wk_tensor *a, int64_t ne0, int64_t ne1);
wk_tensor *wk_reshape_3d(wk_ctx *ctx, wk_tensor *a, int64_t ne0, int64_t ne1, int64_t ne2);
/* A view with its own shape and byte strides (nb[1..n_dims-1]) at a byte offset. */
wk_tensor *wk_view(wk_ctx *ctx, wk_tensor *a, int n_dims, const int64_t *ne, const size_t *nb,
                   size_t offset);
/* permute: axis i of a becomes axis axes[i] of the result. */
wk_tensor *wk_permute(wk_ctx *ctx, wk_tensor *a, int ax0, int ax1, int ax2, int ax3);
wk_tensor *wk_transpose(wk_ctx *ctx, wk_tensor *a);  /* swaps dims 0 and 1 */
/* get_rows: rows idx[i] of a ([n, n_rows, ne2, ne3], idx I32 [m, ne2, ne3]) -> F32 [n, m, ne2, ne3].
 * set_rows: writes rows of src (F32 [n, m, ne2, ne3]) into rows idx of dst, returns a view of dst. */
wk_tensor *wk_get_rows(wk_ctx *ctx, wk_tensor *a, wk_tensor *idx);
wk_tensor *wk_set_rows(wk_ctx *ctx, wk_tensor *dst, wk_tensor *src, wk_tensor *idx);
wk_tensor *wk_concat(wk_ctx *ctx, wk_tensor *a, wk_tensor *b, int dim);

/* mul_mat: a [K, M, A2, A3] (F32/F16/BF16), b [K, N, B2, B3] F32 -> F32 [M, N, B2, B3],
 * result[i, j] = dot(row i of a, row j of b); a broadcasts over dims 2-3 (A2 | B2, A3 | B3).
 * BF16 weights pair with activations rounded to BF16; F16 weights with F32 activations. */
wk_tensor *wk_mul_mat(wk_ctx *ctx, wk_tensor *a, wk_tensor *b);
/* out_prod: a [M, K, ...], b [N, K, ...] -> [M, N, ...], result[i, j] = sum_k a[i, k] b[j, k]. */
wk_tensor *wk_out_prod(wk_ctx *ctx, wk_tensor *a, wk_tensor *b);

wk_tensor *wk_rms_norm(wk_ctx *ctx, wk_tensor *a, float eps);
wk_tensor *wk_norm(wk_ctx *ctx, wk_tensor *a, float eps);
/* softmax over rows of (a * scale + mask); mask may be NULL, F32 or F16 [ne0, >= ne1],
 * broadcast over dims 2-3. */
wk_tensor *wk_soft_max(wk_ctx *ctx, wk_tensor *a, wk_tensor *mask, float scale);

/* RoPE (formats.md 4.3). a [head_dim, n_head, n_tokens, 1], pos I32 [n_tokens];
 * freq_factors (F32 [n_rot/2]) may be NULL. */
typedef enum { WK_ROPE_NORMAL = 0, WK_ROPE_NEOX = 2 } wk_rope_mode;
typedef struct {
    int n_rot;              /* leading dims of each head that rotate */
    wk_rope_mode mode;
    int n_ctx_orig;         /* YaRN: original training context */
    float freq_base;        /* 10000 for Llama 2 */
    float freq_scale;       /* 1 / linear scaling factor */
    float ext_factor;       /* YaRN extrapolation mix; 0 disables */
    float attn_factor;      /* magnitude scale; 1 normally */
    float beta_fast, beta_slow;
} wk_rope_params;
wk_rope_params wk_rope_params_default(int n_rot, wk_rope_mode mode);
wk_tensor *wk_rope(wk_ctx *ctx, wk_tensor *a, wk_tensor *pos, wk_tensor *freq_factors,
                   const wk_rope_params *p);

/* Fused attention with online softmax.
 * q [head_dim, n_q, n_head, 1], k [head_dim, n_kv, n_head_kv, 1], v [head_dim_v, n_kv, n_head_kv, 1]
 * (k, v F32 or F16), mask NULL or F32/F16 [n_kv, >= n_q] -> F32 [head_dim_v, n_head, n_q, 1].
 * Query head h reads KV head h / (n_head / n_head_kv). softcap 0 disables logit capping. */
wk_tensor *wk_flash_attn(wk_ctx *ctx, wk_tensor *q, wk_tensor *k, wk_tensor *v, wk_tensor *mask,
                         float scale, float softcap);

/* Mean cross-entropy of softmax(logits) ([n_vocab, n_rows]) against I32 labels [n_rows];
 * rows whose label is negative are ignored. -> F32 [1]. */
wk_tensor *wk_cross_entropy(wk_ctx *ctx, wk_tensor *logits, wk_tensor *labels);
/* Mean KL(t || softmax(logits)) = sum_j t_j (log t_j - log softmax(logits)_j) over rows, for
 * F32 soft targets t of the logits' shape (each row a distribution, e.g. a teacher's
 * softmax at a temperature; 0 log 0 = 0). Rows whose targets sum to 0 are ignored (masking).
 * The gradient reaches the logits only. -> F32 [1]. (The CROSS_ENTROPY op with F32 targets.) */
wk_tensor *wk_kl_div(wk_ctx *ctx, wk_tensor *logits, wk_tensor *targets);

/* ---- graphs and compute --------------------------------------------------- */
/* Nodes reachable from out, in execution order. Several outputs: call expand repeatedly. */
wk_graph *wk_graph_new(wk_ctx *ctx);
wk_status wk_graph_expand(wk_graph *g, wk_tensor *out);
int wk_graph_n_nodes(const wk_graph *g);
wk_tensor *wk_graph_node(const wk_graph *g, int i);
/* Bytes the memory planner reserved for intermediates, and what they would take unshared. */
size_t wk_graph_planned_bytes(const wk_graph *g);
size_t wk_graph_naive_bytes(const wk_graph *g);

typedef struct wk_backend wk_backend;
/* The CPU backend. n_threads <= 0 uses every core. */
wk_status wk_backend_cpu_create(int n_threads, wk_backend **out);
void wk_backend_free(wk_backend *be);
const char *wk_backend_name(const wk_backend *be);
/* Plans memory (once per graph; reused while the graph is unchanged) and computes. */
wk_status wk_graph_compute(wk_backend *be, wk_graph *g);

/* CPU kernel set in use: "scalar", "avx2", "avx512"; WICK_CPU=... forces one. */
const char *wk_cpu_isa(void);
/* Comma-separated list of the ISA paths this CPU can run, best last. */
const char *wk_cpu_isas_available(void);


/* ==== runtime: models, contexts, decoding ===================================== */
/* A model is a GGUF file mapped read-only: weights are used in place (no copy). A context
 * holds the KV cache (F16 or Q8_0) for up to n_seq_max sequences and computes batches.
 * Tokenizer functions (wk_tokenize, wk_detokenize, ...) are in src/runtime/tokenizer.h. */
typedef int32_t wk_token;
typedef struct wk_vocab wk_vocab;
typedef struct wk_model wk_model;
typedef struct wk_context wk_context;

typedef struct {
    bool vocab_only;   /* load metadata and vocabulary, no weights */
} wk_model_params;
wk_model_params wk_model_default_params(void);

/* Opens path, reads hyper-parameters, checks every weight's name, type and shape.
 * Unsupported architectures, missing tensors and wrong shapes are WK_ERR_FORMAT /
 * WK_ERR_UNSUPPORTED with the tensor named in wk_last_error(). */
wk_status wk_model_load(const char *path, const wk_model_params *params, wk_model **out);
void wk_model_free(wk_model *m);  /* accepts NULL */
/* Applies a LoRA adapter GGUF (llama.cpp's convention) to every graph built from m from now
 * on: W x + scale * alpha / r * B (A x) for each adapted matrix (scale 1 = as trained).
 * Architecture, names and shapes are checked; adapters add up. Create contexts after this. */
wk_status wk_model_add_lora(wk_model *m, const char *path, float scale);
int wk_model_n_lora(const wk_model *m);  /* adapted matrices so far */

const char *wk_model_arch(const wk_model *m);       /* general.architecture */
int32_t wk_model_n_vocab(const wk_model *m);
int32_t wk_model_n_ctx_train(const wk_model *m);
int32_t wk_model_n_embd(const wk_model *m);
int32_t wk_model_n_layer(const wk_model *m);
const wk_vocab *wk_model_vocab(const wk_model *m);
const char *wk_model_chat_template(const wk_model *m);  /* NULL when the file has none */
/* A string metadata value (NUL-terminated copy into buf); WK_ERR_INVALID_ARG when the key
 * is missing or not a string, or buf is too small (*n_out says the length needed). */
wk_status wk_model_meta_str(const wk_model *m, const char *key, char *buf, size_t cap, size_t *n_out);

typedef struct {
    uint32_t n_ctx;       /* KV cache cells (tokens over all sequences); 0 = min(n_ctx_train, 4096) */
    uint32_t n_batch;     /* most tokens one graph computes; larger batches are split; 0 = 512 */
    uint32_t n_seq_max;   /* sequence ids 0..n_seq_max-1; 0 = 1 */
    int n_threads;        /* <= 0: every core */
    wk_type type_k, type_v; /* KV cache types: WK_TYPE_F16 (default) or WK_TYPE_Q8_0 (head
                             * dims must be multiples of 32; half the memory, ~0.4% error) */
} wk_context_params;
wk_context_params wk_context_default_params(void);

wk_status wk_context_create(wk_model *m, const wk_context_params *p, wk_context **out);
void wk_context_free(wk_context *c);  /* accepts NULL */
uint32_t wk_context_n_ctx(const wk_context *c);

/* A batch: n_tokens tokens with their positions, sequence ids and which rows want logits.
 * pos NULL: each token continues its sequence (last position + 1); seq_id NULL: all 0;
 * logits NULL: only the last token's. */
typedef struct {
    int32_t n_tokens;
    const wk_token *token;
    const int32_t *pos;
    const int32_t *seq_id;
    const int8_t *logits;
} wk_batch;
wk_batch wk_batch_one_seq(const wk_token *tokens, int32_t n_tokens);  /* seq 0, auto positions */

/* Computes the batch and appends its K/V to the cache. A batch that does not fit in the
 * free cells fails with WK_ERR_INVALID_ARG ("context full ...") and changes nothing: the
 * caller clears or truncates sequences (wk_kv_seq_rm) and retries; no automatic shift. */
wk_status wk_decode(wk_context *c, const wk_batch *b);
/* Logits (n_vocab floats) of batch row i of the last wk_decode; i < 0 counts from the end
 * of the rows that asked for logits (-1 = last). NULL if row i did not ask for logits. */
const float *wk_get_logits(wk_context *c, int32_t i);

/* KV cache: drop cells of seq_id (-1 = every sequence) with p0 <= pos < p1 (p1 < 0: to the
 * end); the largest position held by a sequence (-1 when empty); cells used in total. */
void wk_kv_clear(wk_context *c);
wk_status wk_kv_seq_rm(wk_context *c, int32_t seq_id, int32_t p0, int32_t p1);
int32_t wk_kv_seq_pos_max(const wk_context *c, int32_t seq_id);
int32_t wk_kv_used(const wk_context *c);

/* ==== training: reverse-mode autodiff ========================================= */
/* Appends to g (which must already hold loss, or gets it expanded) the nodes computing
 * d loss / d t for every tensor flagged with wk_tensor_set_param that loss depends on.
 * loss must be an F32 scalar (1 element); its seed gradient is 1. Nodes are walked in
 * reverse order with one rule per op (ops.def column 3); a tensor read several times
 * sums its gradients; tensors not depending on a param get none. Param gradients are F32,
 * contiguous, of the param's shape, and outputs (kept after compute). Forward activations
 * a rule reads stay alive until that backward node has run (the planner sees the reads).
 * FLASH_ATTN is differentiated through its decomposition (scores, softmax, weighted sum),
 * recomputed in the backward pass: memory n_kv * n_q * n_head floats per attention node.
 * Params must be F32. WK_ERR_UNSUPPORTED names the op when a rule cannot apply: a gradient
 * through a quantized MUL_MAT weight, into a SOFT_MAX/FLASH_ATTN mask, or through a VIEW of
 * a non-contiguous tensor. Call it once per graph. The gradient of each tensor is recorded
 * on the tensor: building the backward pass of another graph over the same tensors
 * replaces what wk_graph_grad returns for this one. */
wk_status wk_graph_build_backward(wk_ctx *ctx, wk_graph *g, wk_tensor *loss);
/* The gradient of t (a param or any node between a param and the loss) in g, or NULL when
 * t gets none. Intermediate gradients are freed after use unless flagged output before the
 * first compute. */
wk_tensor *wk_graph_grad(const wk_graph *g, const wk_tensor *t);
/* a tiled to shape ne (each a->ne[i] divides ne[i]); the gradient is the sum of the tiles. */
wk_tensor *wk_repeat(wk_ctx *ctx, wk_tensor *a, const int64_t ne[4]);

#ifdef __cplusplus
}
#endif

/* devices, buffers, backends, the scheduler */
#include "wick-backend.h"

#endif /* WICK_H */
