/* model.h — internal layout of a loaded model: hyper-parameters read from GGUF metadata,
 * weight tensors that point into the mapped file (never copied), and the graph builder
 * interface the runtime context calls. One builder serves llama/mistral/qwen2/qwen3;
 * gemma3 and phi3 reuse its blocks (blocks.c) and differ only where the architecture does. */
#ifndef WK_MODEL_MODEL_H
#define WK_MODEL_MODEL_H

#include "wick.h"
#include "tensor.h"

typedef enum {
    WK_ARCH_LLAMA,
    WK_ARCH_QWEN2,
    WK_ARCH_QWEN3,
    WK_ARCH_GEMMA3,
    WK_ARCH_PHI3,
} wk_arch;

typedef struct {
    wk_arch arch;
    char arch_name[32];
    int64_t n_vocab, n_ctx_train, n_embd, n_layer, n_ff;
    int64_t n_head, n_head_kv, head_dim_k, head_dim_v, n_rot;
    float eps;
    wk_rope_mode rope_mode;
    float rope_base, rope_freq_scale;     /* global (full-attention) layers */
    float rope_base_swa, rope_freq_scale_swa; /* sliding-window layers (gemma3: 10000, scale 1) */
    float rope_attn_factor, rope_ext_factor, rope_beta_fast, rope_beta_slow;
    int64_t rope_n_ctx_orig;
    int64_t n_swa;                        /* window; 0 = no sliding window */
    int swa_period;                       /* gemma3: layer il is SWA unless (il+1) % period == 0; 0 = every layer SWA when n_swa > 0 */
    float q_scale;                        /* Q multiplier before attention (gemma3, phi3); 0 = none */
    float kq_scale;                       /* scale inside the attention softmax */
    float attn_softcap, final_softcap;    /* 0 = off */
    bool embd_scale;                      /* gemma3: embeddings * sqrt(n_embd) */
} wk_hparams;

typedef struct {
    wk_tensor *attn_norm, *wq, *wk, *wv, *wqkv, *bq, *bk, *bv, *wo, *bo;
    wk_tensor *q_norm, *k_norm, *post_attn_norm;
    wk_tensor *ffn_norm, *ffn_gate, *ffn_up, *ffn_down, *post_ffn_norm;
} wk_layer;

/* A LoRA pair applied at run time (lora.c): w x + scale B (A x). */
typedef struct {
    const wk_tensor *w;
    wk_tensor *a, *b;
    float scale;
} wk_lora_pair;

struct wk_model {
    char *path;
    void *gguf;                /* wk_gguf *: the mapping the weights point into */
    wk_vocab *vocab;
    wk_hparams hp;
    wk_ctx *wctx;              /* no_alloc context: weight tensors over the mapping */
    wk_tensor *tok_embd, *output_norm, *output, *rope_freqs, *rope_long, *rope_short;
    wk_layer *layers;
    char *chat_template;       /* NUL-terminated copy, or NULL */
    wk_lora_pair *lora;        /* adapters added with wk_model_add_lora, in order */
    int n_lora;
    void **lora_files;         /* their wk_gguf * mappings */
    int n_lora_files;
    wk_ctx *lora_ctx;          /* no_alloc: the A and B tensors over those mappings */
};

/* LoRA (lora.c): the base weight named `name`, NULL if the model has none by that name. */
wk_tensor *wk_model_weight(const wk_model *m, const char *name);
void wk_model_free_lora(wk_model *m);

/* What a graph build reads: the inputs the context fills before each compute, and the
 * KV cache. n_kv = number of cache cells attention looks at (cells [0, n_kv)). */
typedef struct {
    wk_ctx *ctx;               /* the graph's context: every node is recorded here */
    int64_t n_tokens, n_outputs, n_kv, n_ctx;
    wk_tensor *tokens;         /* I32 [n_tokens] */
    wk_tensor *pos;            /* I32 [n_tokens] */
    wk_tensor *kv_idx;         /* I32 [n_tokens]: cache cell of each token */
    wk_tensor *mask;           /* F32 [n_kv, n_tokens]: 0 or -inf, causal + sequences */
    wk_tensor *mask_swa;       /* same with the sliding window; NULL when the model has none */
    wk_tensor *out_ids;        /* I32 [n_outputs]: batch rows whose logits are wanted */
    wk_tensor **k_cache, **v_cache; /* per layer [head_dim * n_head_kv, n_ctx] */
} wk_build_inputs;

/* The forward pass for one batch: logits F32 [n_vocab, n_outputs], or NULL with an error. */
wk_tensor *wk_model_build_graph(const wk_model *m, const wk_build_inputs *in);

/* Per-family hooks (llama.c, gemma3.c, phi3.c). hparams: metadata -> m->hp (common keys
 * are already read); tensors: look up and validate weights. */
wk_status wk_llama_hparams(wk_model *m);
wk_status wk_llama_tensors(wk_model *m);
wk_status wk_gemma3_hparams(wk_model *m);
wk_status wk_gemma3_tensors(wk_model *m);
wk_status wk_phi3_hparams(wk_model *m);
wk_status wk_phi3_tensors(wk_model *m);
wk_tensor *wk_llama_build(const wk_model *m, const wk_build_inputs *in);
wk_tensor *wk_gemma3_build(const wk_model *m, const wk_build_inputs *in);
wk_tensor *wk_phi3_build(const wk_model *m, const wk_build_inputs *in);

/* loader helpers (model.c) */
typedef enum { WK_REQ = 0, WK_OPT = 1 } wk_need;
/* Weight tensor `name` (printf-style with the layer), checked against the expected shape
 * (n_dims entries). Missing + optional -> *out NULL, WK_OK. */
wk_status wk_model_tensor(wk_model *m, wk_tensor **out, wk_need need, int n_dims, const int64_t *ne,
                          const char *fmt, ...) WK_PRINTF(6, 7);
bool wk_model_has_tensor(const wk_model *m, const char *name);
/* metadata getters over "<arch>.<suffix>"; absent optional keys keep *out */
wk_status wk_model_key_u32(const wk_model *m, const char *suffix, wk_need need, int64_t *out);
wk_status wk_model_key_f32(const wk_model *m, const char *suffix, wk_need need, float *out);

/* tensor groups shared by the families (llama.c) */
wk_status wk_model_common_tensors(wk_model *m, bool output_required);
wk_status wk_model_attn_tensors(wk_model *m, int il, wk_need biases, bool qk_norm);
wk_status wk_model_ffn_tensors(wk_model *m, int il);
void wk_model_qkv(const wk_model *m, wk_ctx *ctx, const wk_layer *l, wk_tensor *x, int64_t T, wk_tensor **q,
                  wk_tensor **k, wk_tensor **v);

/* shared blocks (blocks.c) */
wk_tensor *wk_blk_norm(wk_ctx *ctx, wk_tensor *x, wk_tensor *w, float eps, const char *name, int il);
/* Self-attention on the normed input x [n_embd, n_tokens] -> [n_embd, n_tokens] (after
 * the output projection). q [head_dim, n_head, n_tokens] and k [head_dim, n_head_kv,
 * n_tokens] are projected (biases added), v is [head_dim_v * n_head_kv, n_tokens]; any of
 * them may be strided views. The block applies q/k norms, RoPE and the query scale,
 * stores K/V in the cache, attends over the cache and projects the result. */
wk_tensor *wk_blk_attention(const wk_model *m, const wk_build_inputs *in, int il, wk_tensor *q,
                            wk_tensor *k, wk_tensor *v);
/* w x plus the model's LoRA pairs on w: [n_out, n_tokens]. Every weight matmul goes here. */
wk_tensor *wk_blk_mm(const wk_model *m, wk_ctx *ctx, wk_tensor *w, wk_tensor *x);
/* w x (+ b): [n_out, n_tokens] */
wk_tensor *wk_blk_proj(const wk_model *m, wk_ctx *ctx, wk_tensor *w, wk_tensor *b, wk_tensor *x);
wk_tensor *wk_blk_ffn_gated(const wk_model *m, wk_ctx *ctx, const wk_layer *l, wk_tensor *x, bool gelu, int il);
/* Final norm, rows wanted, LM head, optional softcap. */
wk_tensor *wk_blk_output(const wk_model *m, const wk_build_inputs *in, wk_tensor *x);
wk_tensor *wk_blk_embed(const wk_model *m, const wk_build_inputs *in);
void wk_blk_name(wk_tensor *t, const char *name, int il);

#endif
