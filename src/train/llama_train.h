/* llama_train.h — the training graph of a llama-architecture model with F32 params:
 * B sequences of T tokens, full causal attention (no KV cache), RoPE as llama (adjacent
 * pairs on the GGUF Q/K layout), RMSNorm, SwiGLU FFN, mean cross-entropy over the B*T
 * targets. Params start from a seed or from an F32 llama GGUF. Internal to wick for now. */
#ifndef WK_TRAIN_LLAMA_TRAIN_H
#define WK_TRAIN_LLAMA_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "wick.h"

typedef struct {
    int32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff;
    float rms_eps;     /* llama.attention.layer_norm_rms_epsilon */
    float rope_base;   /* llama.rope.freq_base */
} wk_llama_hparams;

typedef struct wk_llama_train wk_llama_train;

typedef struct {
    /* bf16 mixed precision: each matrix param (fp32 master) is rounded to bf16 once per step
     * and the forward matmuls run on bf16 weights and bf16-rounded activations with f32 sums
     * (VDPBF16PS where the CPU has AVX512_BF16); gradients, norms, softmax and the optimizer
     * stay f32, and the weight gradients flow to the fp32 masters. */
    bool bf16;
    /* gradient checkpointing: the forward pass keeps only each layer's input; backward
     * recomputes one layer at a time from it (one extra forward pass of compute, activation
     * memory of one layer instead of all). The loss and gradients equal the plain graph's
     * up to the order of float sums. wk_llama_train_graph() is then NULL: read gradients
     * with wk_llama_train_grad(). */
    bool checkpoint;
    /* LoRA (wk_llama_train_create_lora only): rank r > 0, alpha (scale alpha / r; 0 means
     * alpha = r), and the targeted matrices as bits 1 << W for W in wk_llama_matrix */
    int32_t lora_rank;
    float lora_alpha;
    uint32_t lora_targets;
    /* knowledge distillation: the loss becomes w_kl KL(t || softmax(logits / tau)) + w_ce CE
     * for soft targets t the caller writes into wk_llama_train_soft_targets() before each
     * compute/eval (a teacher's softmax at temperature tau); tau and the weights are set with
     * wk_llama_train_set_distill (default 1, 1, 0) */
    bool distill;
} wk_llama_train_opts;

/* bit positions of lora_targets */
enum { WK_LORA_Q = 1, WK_LORA_K = 2, WK_LORA_V = 3, WK_LORA_O = 4, WK_LORA_GATE = 6, WK_LORA_UP = 7,
       WK_LORA_DOWN = 8 };

/* Builds params (zeroed), the forward graph and its backward pass for B x T tokens. opts may
 * be NULL (fp32). */
wk_status wk_llama_train_create(const wk_llama_hparams *hp, int32_t n_batch, int32_t n_seq_len,
                                wk_llama_train **out);
wk_status wk_llama_train_create_ex(const wk_llama_hparams *hp, int32_t n_batch, int32_t n_seq_len,
                                   const wk_llama_train_opts *opts, wk_llama_train **out);
/* LoRA on a frozen base: the llama GGUF at base_path stays mapped, its weights (any type,
 * quantized included) are read in place and never updated; the params are the A
 * ([n_in, r], "<weight>.lora_a") and B ([r, n_out], "<weight>.lora_b") of every targeted
 * matrix of every layer, in layer order, formats.md §6's convention, so they save as an
 * adapter `wick run --lora` applies. The output matrix may be tied to the embedding. */
wk_status wk_llama_train_create_lora(const char *base_path, int32_t n_batch, int32_t n_seq_len,
                                     const wk_llama_train_opts *opts, wk_llama_train **out);
/* Reads hyper-parameters and F32 weights (llama tensor names, formats.md §4.4) from a GGUF. */
wk_status wk_llama_train_create_gguf(const char *path, int32_t n_batch, int32_t n_seq_len,
                                     wk_llama_train **out);
wk_status wk_llama_train_create_gguf_ex(const char *path, int32_t n_batch, int32_t n_seq_len,
                                        const wk_llama_train_opts *opts, wk_llama_train **out);
void wk_llama_train_free(wk_llama_train *m);  /* accepts NULL */

/* Norm weights 1, matrices uniform in +-sqrt(3/fan_in) (unit variance per output), from seed. */
void wk_llama_train_init_random(wk_llama_train *m, uint64_t seed);

/* Forward + backward over tokens and labels (B*T each, sequence-major; labels < 0 are
 * ignored). Token ids and labels must be < n_vocab. *loss gets the mean cross-entropy. */
wk_status wk_llama_train_compute(wk_llama_train *m, wk_backend *be, const int32_t *tokens,
                                 const int32_t *labels, float *loss);

/* The loss only: the forward nodes (no backward, gradients untouched), e.g. validation. */
wk_status wk_llama_train_eval(wk_llama_train *m, wk_backend *be, const int32_t *tokens,
                              const int32_t *labels, float *loss);

/* Distillation (opts.distill): the soft-target buffer, n_vocab x (B*T) floats, row i for
 * input position i (a row of zeros masks the position out of the KL term); NULL otherwise. */
float *wk_llama_train_soft_targets(wk_llama_train *m);
wk_status wk_llama_train_set_distill(wk_llama_train *m, float temperature, float w_kl, float w_ce);
/* The last compute/eval's KL (at the set temperature, unweighted) and CE; NaN when not distilling. */
void wk_llama_train_distill_parts(const wk_llama_train *m, float *kl, float *ce);

const wk_llama_hparams *wk_llama_train_hparams(const wk_llama_train *m);
int wk_llama_train_n_params(const wk_llama_train *m);
/* Param i (GGUF name set as its tensor name), in the order: token_embd, blk.0.* ..., output_norm, output. */
wk_tensor *wk_llama_train_param(const wk_llama_train *m, int i);
wk_graph *wk_llama_train_graph(const wk_llama_train *m);
/* The gradient of param i after wk_llama_train_compute (nelements floats), in either mode. */
float *wk_llama_train_grad(const wk_llama_train *m, int i);

#endif
