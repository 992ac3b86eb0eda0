/* phi3.c — Phi-3 / Phi-3.5 / Phi-4 dense (formats.md 4.8): llama's blocks with a fused QKV
 * projection (rows Q, then K, then V) and a fused gate+up FFN (first half gate), NEOX RoPE
 * with optional LongRoPE factors, Q pre-scaled by 1/sqrt(head_dim), an untied LM head, and
 * every layer windowed when attention.sliding_window > 0. The fused outputs are split with
 * strided views, which the attention block and SwiGLU read in place. */
#include <math.h>

#include "model.h"

#define TRY(x)                          \
    do {                                \
        wk_status st_ = (x);            \
        if (st_ != WK_OK) return st_;   \
    } while (0)

wk_status wk_phi3_hparams(wk_model *m) {
    wk_hparams *hp = &m->hp;
    hp->rope_mode = WK_ROPE_NEOX;
    hp->rope_freq_scale_swa = hp->rope_freq_scale;
    /* an absent window means plain causal attention here (llama.cpp guesses legacy
     * defaults for a few known shapes instead) */
    TRY(wk_model_key_u32(m, "attention.sliding_window", WK_OPT, &hp->n_swa));
    hp->swa_period = 0;
    hp->q_scale = 1.0f / sqrtf((float)hp->head_dim_k);
    return WK_OK;
}

wk_status wk_phi3_tensors(wk_model *m) {
    const wk_hparams *hp = &m->hp;
    TRY(wk_model_common_tensors(m, true));
    const int64_t rf[1] = {hp->n_rot / 2};
    TRY(wk_model_tensor(m, &m->rope_long, WK_OPT, 1, rf, "rope_factors_long.weight"));
    TRY(wk_model_tensor(m, &m->rope_short, WK_OPT, 1, rf, "rope_factors_short.weight"));
    if (!m->rope_long != !m->rope_short)
        return wk_err(WK_ERR_FORMAT, "%s: rope_factors_long and rope_factors_short come in pairs", m->path);
    const int64_t nq = hp->n_head * hp->head_dim_k, nk = hp->n_head_kv * hp->head_dim_k,
                  nv = hp->n_head_kv * hp->head_dim_v;
    const int64_t e[1] = {hp->n_embd}, qkv[2] = {hp->n_embd, nq + nk + nv}, o[2] = {hp->n_head * hp->head_dim_v, hp->n_embd},
                  up[2] = {hp->n_embd, 2 * hp->n_ff}, down[2] = {hp->n_ff, hp->n_embd};
    for (int il = 0; il < hp->n_layer; il++) {
        wk_layer *l = &m->layers[il];
        TRY(wk_model_tensor(m, &l->attn_norm, WK_REQ, 1, e, "blk.%d.attn_norm.weight", il));
        TRY(wk_model_tensor(m, &l->wqkv, WK_REQ, 2, qkv, "blk.%d.attn_qkv.weight", il));
        TRY(wk_model_tensor(m, &l->wo, WK_REQ, 2, o, "blk.%d.attn_output.weight", il));
        TRY(wk_model_tensor(m, &l->ffn_norm, WK_REQ, 1, e, "blk.%d.ffn_norm.weight", il));
        TRY(wk_model_tensor(m, &l->ffn_up, WK_REQ, 2, up, "blk.%d.ffn_up.weight", il));
        TRY(wk_model_tensor(m, &l->ffn_down, WK_REQ, 2, down, "blk.%d.ffn_down.weight", il));
    }
    return WK_OK;
}

wk_tensor *wk_phi3_build(const wk_model *m, const wk_build_inputs *in) {
    wk_ctx *ctx = in->ctx;
    const wk_hparams *hp = &m->hp;
    const int64_t T = in->n_tokens, hd = hp->head_dim_k, nq = hp->n_head * hd, nk = hp->n_head_kv * hd,
                  nv = hp->n_head_kv * hp->head_dim_v;
    wk_tensor *x = wk_blk_embed(m, in);
    for (int il = 0; il < hp->n_layer && x; il++) {
        const wk_layer *l = &m->layers[il];
        wk_tensor *cur = wk_blk_norm(ctx, x, l->attn_norm, hp->eps, "attn_norm", il);
        wk_tensor *qkv = cur ? wk_blk_mm(m, ctx, l->wqkv, cur) : NULL; /* (nq + nk + nv, T) */
        if (!qkv) return NULL;
        wk_blk_name(qkv, "wqkv", il);
        const size_t row = qkv->nb[1], f = sizeof(float);
        const int64_t qne[3] = {hd, hp->n_head, T}, kne[3] = {hd, hp->n_head_kv, T}, vne[2] = {nv, T};
        const size_t hnb[2] = {hd * f, row}, vnb[1] = {row};
        wk_tensor *q = wk_view(ctx, qkv, 3, qne, hnb, 0);
        wk_tensor *k = wk_view(ctx, qkv, 3, kne, hnb, nq * f);
        wk_tensor *v = wk_view(ctx, qkv, 2, vne, vnb, (nq + nk) * f);
        cur = wk_blk_attention(m, in, il, q, k, v);
        if (!cur) return NULL;
        x = wk_add(ctx, x, cur);
        wk_blk_name(x, "ffn_inp", il);
        cur = wk_blk_norm(ctx, x, l->ffn_norm, hp->eps, "ffn_norm", il);
        wk_tensor *gu = cur ? wk_blk_mm(m, ctx, l->ffn_up, cur) : NULL; /* (2 n_ff, T) */
        if (!gu) return NULL;
        const int64_t hne[2] = {hp->n_ff, T};
        const size_t hnb2[1] = {gu->nb[1]};
        wk_tensor *g = wk_view(ctx, gu, 2, hne, hnb2, 0);
        wk_tensor *u = wk_view(ctx, gu, 2, hne, hnb2, hp->n_ff * f);
        wk_tensor *a = g && u ? wk_swiglu(ctx, g, u) : NULL;
        wk_blk_name(a, "ffn_act", il);
        cur = a ? wk_blk_mm(m, ctx, l->ffn_down, a) : NULL;
        x = cur ? wk_add(ctx, x, cur) : NULL;
        wk_blk_name(x, "l_out", il);
    }
    return wk_blk_output(m, in, x);
}
