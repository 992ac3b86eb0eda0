/* bert.h — a BERT encoder for sentence embeddings (bert.c): the GGUF layout llama.cpp's
 * converter writes for "bert" (token_embd, position_embd, token_types, token_embd_norm;
 * per layer attn_q/k/v/output with biases, attn_output_norm, ffn_up/down, layer_output_norm),
 * post-LayerNorm blocks, GELU (erf), bidirectional attention over one text at a time, then
 * mean or CLS pooling and optional L2 normalization. Internal to wick for now. */
#ifndef WK_MODEL_BERT_H
#define WK_MODEL_BERT_H

#include <stdbool.h>
#include <stdint.h>

#include "wick.h"
#include "../runtime/tokenizer.h"

typedef struct wk_bert wk_bert;

typedef enum { WK_POOL_DEFAULT = -1, WK_POOL_NONE = 0, WK_POOL_MEAN = 1, WK_POOL_CLS = 2 } wk_pooling;

/* Maps the GGUF, checks hparams and every tensor's name, type and shape, loads the
 * WordPiece vocabulary. F32/F16/BF16 or quantized matrices; norms and biases F32. */
wk_status wk_bert_load(const char *path, wk_bert **out);
void wk_bert_free(wk_bert *b);  /* accepts NULL */
const wk_vocab *wk_bert_vocab(const wk_bert *b);
int32_t wk_bert_n_embd(const wk_bert *b);
int32_t wk_bert_n_ctx(const wk_bert *b);
wk_pooling wk_bert_pooling(const wk_bert *b);  /* the file's bert.pooling_type, MEAN if absent */

/* The embedding of n tokens (1 <= n <= n_ctx): pooled (mean over all n, or token 0) into
 * out[n_embd], L2-normalized when normalize. pooling NONE writes every token's hidden
 * state, out[n * n_embd]. */
wk_status wk_bert_embed(wk_bert *b, wk_backend *be, const wk_token *tokens, int32_t n, wk_pooling pooling,
                        bool normalize, float *out);

#endif
