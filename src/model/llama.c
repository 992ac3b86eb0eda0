/* llama.c — the llama family: LLaMA 1/2/3 (incl. rope_freqs scaling), Mistral, TinyLlama,
 * SmolLM2, and qwen2 (QKV biases, NEOX RoPE) and qwen3 (per-head Q/K RMSNorm, NEOX RoPE),
 * which differ from llama only in those details (formats.md 4.4-4.6). Pre-norm blocks:
 * h = x + attn(norm(x)); out = h + swiglu_ffn(norm(h)). */
#include "model.h"

#define TRY(x)                          \
    do {                                \
        wk_status st_ = (x);            \
        if (st_ != WK_OK) return st_;   \
    } while (0)

wk_status wk_llama_hparams(wk_model *m) {
    wk_hparams *hp = &m->hp;
    if (hp->arch == WK_ARCH_LLAMA) {
        hp->rope_mode = WK_ROPE_NORMAL; /* the converter permuted Q/K rows (formats.md 4.3) */
        if (hp->n_rot != hp->head_dim_k)
            return wk_err(WK_ERR_FORMAT, "%s: llama: rope.dimension_count %lld must equal the head dim %lld", m->path,
                          (long long)hp->n_rot, (long long)hp->head_dim_k);
    } else {
        hp->rope_mode = WK_ROPE_NEOX;
    }
    hp->rope_freq_scale_swa = hp->rope_freq_scale;
    TRY(wk_model_key_u32(m, "attention.sliding_window", WK_OPT, &hp->n_swa));
    if (hp->arch != WK_ARCH_LLAMA) hp->n_swa = 0; /* qwen2/3 dense models attend fully */
    return WK_OK;
}

/* Shared by every family: embeddings, final norm, LM head (tied when absent). */
wk_status wk_model_common_tensors(wk_model *m, bool output_required) {
    const wk_hparams *hp = &m->hp;
    const int64_t ev[2] = {hp->n_embd, hp->n_vocab}, e[1] = {hp->n_embd};
    TRY(wk_model_tensor(m, &m->tok_embd, WK_REQ, 2, ev, "token_embd.weight"));
    TRY(wk_model_tensor(m, &m->output_norm, WK_REQ, 1, e, "output_norm.weight"));
    TRY(wk_model_tensor(m, &m->output, output_required ? WK_REQ : WK_OPT, 2, ev, "output.weight"));
    return WK_OK;
}

/* Attention weights in the split form (attn_q/k/v) and the pre-attention norm. */
wk_status wk_model_attn_tensors(wk_model *m, int il, wk_need biases, bool qk_norm) {
    const wk_hparams *hp = &m->hp;
    wk_layer *l = &m->layers[il];
    const int64_t nq = hp->n_head * hp->head_dim_k, nk = hp->n_head_kv * hp->head_dim_k,
                  nv = hp->n_head_kv * hp->head_dim_v, no = hp->n_head * hp->head_dim_v;
    const int64_t e[1] = {hp->n_embd}, q[2] = {hp->n_embd, nq}, k[2] = {hp->n_embd, nk}, v[2] = {hp->n_embd, nv},
                  o[2] = {no, hp->n_embd}, bq[1] = {nq}, bk[1] = {nk}, bv[1] = {nv}, hd[1] = {hp->head_dim_k};
    TRY(wk_model_tensor(m, &l->attn_norm, WK_REQ, 1, e, "blk.%d.attn_norm.weight", il));
    TRY(wk_model_tensor(m, &l->wq, WK_REQ, 2, q, "blk.%d.attn_q.weight", il));
    TRY(wk_model_tensor(m, &l->wk, WK_REQ, 2, k, "blk.%d.attn_k.weight", il));
    TRY(wk_model_tensor(m, &l->wv, WK_REQ, 2, v, "blk.%d.attn_v.weight", il));
    TRY(wk_model_tensor(m, &l->wo, WK_REQ, 2, o, "blk.%d.attn_output.weight", il));
    TRY(wk_model_tensor(m, &l->bq, biases, 1, bq, "blk.%d.attn_q.bias", il));
    TRY(wk_model_tensor(m, &l->bk, biases, 1, bk, "blk.%d.attn_k.bias", il));
    TRY(wk_model_tensor(m, &l->bv, biases, 1, bv, "blk.%d.attn_v.bias", il));
    TRY(wk_model_tensor(m, &l->bo, WK_OPT, 1, e, "blk.%d.attn_output.bias", il));
    if (qk_norm) {
        TRY(wk_model_tensor(m, &l->q_norm, WK_REQ, 1, hd, "blk.%d.attn_q_norm.weight", il));
        TRY(wk_model_tensor(m, &l->k_norm, WK_REQ, 1, hd, "blk.%d.attn_k_norm.weight", il));
    }
    return WK_OK;
}

wk_status wk_model_ffn_tensors(wk_model *m, int il) {
    const wk_hparams *hp = &m->hp;
    wk_layer *l = &m->layers[il];
    const int64_t e[1] = {hp->n_embd}, up[2] = {hp->n_embd, hp->n_ff}, down[2] = {hp->n_ff, hp->n_embd};
    TRY(wk_model_tensor(m, &l->ffn_norm, WK_REQ, 1, e, "blk.%d.ffn_norm.weight", il));
    TRY(wk_model_tensor(m, &l->ffn_gate, WK_REQ, 2, up, "blk.%d.ffn_gate.weight", il));
    TRY(wk_model_tensor(m, &l->ffn_up, WK_REQ, 2, up, "blk.%d.ffn_up.weight", il));
    TRY(wk_model_tensor(m, &l->ffn_down, WK_REQ, 2, down, "blk.%d.ffn_down.weight", il));
    return WK_OK;
}

wk_status wk_llama_tensors(wk_model *m) {
    const wk_hparams *hp = &m->hp;
    TRY(wk_model_common_tensors(m, false));
    const int64_t rf[1] = {hp->n_rot / 2};
    TRY(wk_model_tensor(m, &m->rope_freqs, WK_OPT, 1, rf, "rope_freqs.weight"));
    if (wk_model_has_tensor(m, "blk.0.ffn_gate_inp.weight"))
        return wk_err(WK_ERR_UNSUPPORTED, "%s: mixture-of-experts models are not supported yet", m->path);
    wk_need biases = hp->arch == WK_ARCH_QWEN2 ? WK_REQ : WK_OPT;
    for (int il = 0; il < hp->n_layer; il++) {
        TRY(wk_model_attn_tensors(m, il, biases, hp->arch == WK_ARCH_QWEN3));
        TRY(wk_model_ffn_tensors(m, il));
    }
    return WK_OK;
}

/* Q, K, V of the split form: q (head_dim, n_head, T), k (head_dim, n_head_kv, T), v 2-D. */
void wk_model_qkv(const wk_model *m, wk_ctx *ctx, const wk_layer *l, wk_tensor *x, int64_t T, wk_tensor **q,
                  wk_tensor **k, wk_tensor **v) {
    const wk_hparams *hp = &m->hp;
    wk_tensor *tq = wk_blk_proj(m, ctx, l->wq, l->bq, x), *tk = wk_blk_proj(m, ctx, l->wk, l->bk, x);
    *v = wk_blk_proj(m, ctx, l->wv, l->bv, x);
    *q = tq ? wk_reshape_3d(ctx, tq, hp->head_dim_k, hp->n_head, T) : NULL;
    *k = tk ? wk_reshape_3d(ctx, tk, hp->head_dim_k, hp->n_head_kv, T) : NULL;
}

wk_tensor *wk_llama_build(const wk_model *m, const wk_build_inputs *in) {
    wk_ctx *ctx = in->ctx;
    const wk_hparams *hp = &m->hp;
    wk_tensor *x = wk_blk_embed(m, in); /* (n_embd, T) */
    for (int il = 0; il < hp->n_layer && x; il++) {
        const wk_layer *l = &m->layers[il];
        wk_tensor *cur = wk_blk_norm(ctx, x, l->attn_norm, hp->eps, "attn_norm", il);
        if (!cur) return NULL;
        wk_tensor *q, *k, *v;
        wk_model_qkv(m, ctx, l, cur, in->n_tokens, &q, &k, &v);
        cur = wk_blk_attention(m, in, il, q, k, v);
        if (!cur) return NULL;
        x = wk_add(ctx, x, cur);
        wk_blk_name(x, "ffn_inp", il);
        cur = wk_blk_norm(ctx, x, l->ffn_norm, hp->eps, "ffn_norm", il);
        cur = wk_blk_ffn_gated(m, ctx, l, cur, false, il);
        x = cur ? wk_add(ctx, x, cur) : NULL;
        wk_blk_name(x, "l_out", il);
    }
    return wk_blk_output(m, in, x);
}
