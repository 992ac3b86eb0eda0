/* gemma3.c — Gemma 3 (formats.md 4.7): llama's blocks plus embeddings scaled by
 * sqrt(n_embd), per-head Q/K RMSNorm, Q pre-scaled (kq_scale 1), "sandwich" norms after
 * attention and FFN, a GeGLU (tanh GELU) FFN, and 5 of every 6 layers attending through a
 * sliding window with their own RoPE base (10000, unscaled). The GGUF norm weights already
 * hold (1 + w), so they multiply as stored. */
#include <math.h>

#include "model.h"

#define TRY(x)                          \
    do {                                \
        wk_status st_ = (x);            \
        if (st_ != WK_OK) return st_;   \
    } while (0)

wk_status wk_gemma3_hparams(wk_model *m) {
    wk_hparams *hp = &m->hp;
    hp->rope_mode = WK_ROPE_NEOX;
    hp->embd_scale = true;
    /* local layers: base 10000 and no scaling, hard-coded as llama.cpp does */
    hp->rope_base_swa = 10000.0f;
    hp->rope_freq_scale_swa = 1.0f;
    hp->swa_period = 6;
    /* newer files may omit the window: then every layer attends fully */
    TRY(wk_model_key_u32(m, "attention.sliding_window", WK_OPT, &hp->n_swa));
    /* HF query_pre_attn_scalar: n_embd/n_head for the 27B (62 layers), head_dim otherwise */
    hp->q_scale = hp->n_layer == 62 ? 1.0f / sqrtf((float)(hp->n_embd / hp->n_head))
                                    : 1.0f / sqrtf((float)hp->head_dim_k);
    return WK_OK;
}

wk_status wk_gemma3_tensors(wk_model *m) {
    const wk_hparams *hp = &m->hp;
    const int64_t e[1] = {hp->n_embd};
    TRY(wk_model_common_tensors(m, false));
    for (int il = 0; il < hp->n_layer; il++) {
        wk_layer *l = &m->layers[il];
        TRY(wk_model_attn_tensors(m, il, WK_OPT, true));
        TRY(wk_model_ffn_tensors(m, il));
        TRY(wk_model_tensor(m, &l->post_attn_norm, WK_REQ, 1, e, "blk.%d.post_attention_norm.weight", il));
        TRY(wk_model_tensor(m, &l->post_ffn_norm, WK_REQ, 1, e, "blk.%d.post_ffw_norm.weight", il));
    }
    return WK_OK;
}

wk_tensor *wk_gemma3_build(const wk_model *m, const wk_build_inputs *in) {
    wk_ctx *ctx = in->ctx;
    const wk_hparams *hp = &m->hp;
    wk_tensor *x = wk_blk_embed(m, in); /* (n_embd, T), scaled by sqrt(n_embd) */
    for (int il = 0; il < hp->n_layer && x; il++) {
        const wk_layer *l = &m->layers[il];
        wk_tensor *cur = wk_blk_norm(ctx, x, l->attn_norm, hp->eps, "attn_norm", il);
        if (!cur) return NULL;
        wk_tensor *q, *k, *v;
        wk_model_qkv(m, ctx, l, cur, in->n_tokens, &q, &k, &v);
        cur = wk_blk_attention(m, in, il, q, k, v);
        cur = wk_blk_norm(ctx, cur, l->post_attn_norm, hp->eps, "attn_post_norm", il);
        if (!cur) return NULL;
        x = wk_add(ctx, x, cur);
        wk_blk_name(x, "ffn_inp", il);
        cur = wk_blk_norm(ctx, x, l->ffn_norm, hp->eps, "ffn_norm", il);
        cur = wk_blk_ffn_gated(m, ctx, l, cur, true, il);
        cur = wk_blk_norm(ctx, cur, l->post_ffn_norm, hp->eps, "ffn_post_norm", il);
        x = cur ? wk_add(ctx, x, cur) : NULL;
        wk_blk_name(x, "l_out", il);
    }
    return wk_blk_output(m, in, x);
}
