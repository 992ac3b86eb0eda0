/* blocks.c — the building blocks every architecture's graph is made of (formats.md 4.2):
 * RMSNorm with its weight, projections, self-attention over the KV cache, gated FFNs, the
 * embedding and the LM head. Each block names its intermediates "<what>-<layer>" so a dump
 * can be compared with another engine layer by layer. Any builder returns NULL on error
 * (the op that failed has set wk_last_error); callers just pass NULL along. */
#include <math.h>
#include <stdio.h>

#include "model.h"

void wk_blk_name(wk_tensor *t, const char *name, int il) {
    if (!t) return;
    char buf[WK_MAX_NAME];
    if (il >= 0) snprintf(buf, sizeof buf, "%s-%d", name, il);
    else snprintf(buf, sizeof buf, "%s", name);
    wk_tensor_set_name(t, buf);
}

wk_tensor *wk_blk_norm(wk_ctx *ctx, wk_tensor *x, wk_tensor *w, float eps, const char *name, int il) {
    if (!x) return NULL;
    wk_tensor *t = wk_rms_norm(ctx, x, eps);
    if (t && w) t = wk_mul(ctx, t, w);
    wk_blk_name(t, name, il);
    return t;
}

wk_tensor *wk_blk_mm(const wk_model *m, wk_ctx *ctx, wk_tensor *w, wk_tensor *x) {
    wk_tensor *t = x ? wk_mul_mat(ctx, w, x) : NULL;
    for (int i = 0; i < m->n_lora && t; i++) {
        const wk_lora_pair *p = &m->lora[i];
        if (p->w != w) continue;
        wk_tensor *d = wk_mul_mat(ctx, p->b, wk_mul_mat(ctx, p->a, x)); /* [n_out, n_tokens] */
        t = d ? wk_add(ctx, t, wk_scale(ctx, d, p->scale)) : NULL;
    }
    return t;
}

wk_tensor *wk_blk_proj(const wk_model *m, wk_ctx *ctx, wk_tensor *w, wk_tensor *b, wk_tensor *x) {
    if (!x) return NULL;
    wk_tensor *t = wk_blk_mm(m, ctx, w, x);
    if (t && b) t = wk_add(ctx, t, b);
    return t;
}

static bool layer_is_swa(const wk_hparams *hp, int il) {
    if (hp->n_swa <= 0) return false;
    return hp->swa_period <= 0 || (il + 1) % hp->swa_period != 0;
}

/* Frequency factors: Llama 3 rope_freqs, or Phi-3 LongRoPE long/short by context size. */
static wk_tensor *rope_factors(const wk_model *m, const wk_build_inputs *in) {
    if (m->rope_freqs) return m->rope_freqs;
    if (m->rope_long && m->rope_short) return in->n_ctx > m->hp.rope_n_ctx_orig ? m->rope_long : m->rope_short;
    return NULL;
}

wk_tensor *wk_blk_attention(const wk_model *m, const wk_build_inputs *in, int il, wk_tensor *q, wk_tensor *k,
                            wk_tensor *v) {
    if (!q || !k || !v) return NULL;
    wk_ctx *ctx = in->ctx;
    const wk_hparams *hp = &m->hp;
    const wk_layer *l = &m->layers[il];
    const int64_t T = in->n_tokens, hd = hp->head_dim_k, hdv = hp->head_dim_v;
    const bool swa = layer_is_swa(hp, il);

    /* per-head RMSNorm of Q and K before RoPE (qwen3, gemma3) */
    if (l->q_norm) q = wk_blk_norm(ctx, q, l->q_norm, hp->eps, "q_norm", il);
    if (l->k_norm) k = wk_blk_norm(ctx, k, l->k_norm, hp->eps, "k_norm", il);
    if (!q || !k) return NULL;

    wk_rope_params rp = wk_rope_params_default((int)hp->n_rot, hp->rope_mode);
    rp.freq_base = swa ? hp->rope_base_swa : hp->rope_base;
    rp.freq_scale = swa ? hp->rope_freq_scale_swa : hp->rope_freq_scale;
    rp.n_ctx_orig = (int)hp->rope_n_ctx_orig;
    rp.ext_factor = hp->rope_ext_factor;
    rp.attn_factor = hp->rope_attn_factor;
    rp.beta_fast = hp->rope_beta_fast;
    rp.beta_slow = hp->rope_beta_slow;
    wk_tensor *ff = rope_factors(m, in);
    q = wk_rope(ctx, q, in->pos, ff, &rp); /* (head_dim, n_head, T), contiguous */
    k = wk_rope(ctx, k, in->pos, ff, &rp); /* (head_dim, n_head_kv, T) */
    wk_blk_name(q, "q_rope", il);
    wk_blk_name(k, "k_rope", il);
    if (q && hp->q_scale != 0) q = wk_scale(ctx, q, hp->q_scale);
    if (!q || !k) return NULL;

    /* append this batch's K and V to the cache rows kv_idx (f16 or q8_0) */
    wk_tensor *kc = in->k_cache[il], *vc = in->v_cache[il];
    wk_tensor *k2 = wk_reshape_2d(ctx, k, hd * hp->n_head_kv, T);
    wk_tensor *ks = k2 ? wk_set_rows(ctx, kc, k2, in->kv_idx) : NULL;
    wk_tensor *vs = wk_set_rows(ctx, vc, v, in->kv_idx);
    if (!ks || !vs) return NULL;
    /* the cache viewed as (head_dim, n_kv, n_head_kv): row j is cell j */
    int64_t kne[3] = {hd, in->n_kv, hp->n_head_kv}, vne[3] = {hdv, in->n_kv, hp->n_head_kv};
    /* bytes of one head's slice of a row (whole blocks when the cache is q8_0) */
    const size_t khead = (size_t)(hd / wk_type_block_size(kc->type)) * wk_type_size(kc->type);
    const size_t vhead = (size_t)(hdv / wk_type_block_size(vc->type)) * wk_type_size(vc->type);
    size_t knb[2] = {kc->nb[1], khead}, vnb[2] = {vc->nb[1], vhead};
    wk_tensor *kv = wk_view(ctx, ks, 3, kne, knb, 0);
    wk_tensor *vv = wk_view(ctx, vs, 3, vne, vnb, 0);
    wk_tensor *qp = wk_permute(ctx, q, 0, 2, 1, 3); /* (head_dim, T, n_head) */
    if (!kv || !vv || !qp) return NULL;
    float kq_scale = hp->q_scale != 0 ? 1.0f : hp->kq_scale;
    wk_tensor *o = wk_flash_attn(ctx, qp, kv, vv, swa ? in->mask_swa : in->mask, kq_scale, hp->attn_softcap);
    wk_blk_name(o, "kqv", il); /* (head_dim_v, n_head, T) */
    if (!o) return NULL;
    o = wk_reshape_2d(ctx, o, hdv * hp->n_head, T);
    o = wk_blk_proj(m, ctx, l->wo, l->bo, o);
    wk_blk_name(o, "attn_out", il);
    return o;
}

wk_tensor *wk_blk_ffn_gated(const wk_model *m, wk_ctx *ctx, const wk_layer *l, wk_tensor *x, bool gelu, int il) {
    if (!x) return NULL;
    wk_tensor *g = wk_blk_mm(m, ctx, l->ffn_gate, x), *u = wk_blk_mm(m, ctx, l->ffn_up, x);
    if (!g || !u) return NULL;
    wk_tensor *a = gelu ? wk_geglu(ctx, g, u) : wk_swiglu(ctx, g, u);
    wk_blk_name(a, "ffn_act", il);
    wk_tensor *d = a ? wk_blk_mm(m, ctx, l->ffn_down, a) : NULL;
    wk_blk_name(d, "ffn_out", il);
    return d;
}

wk_tensor *wk_blk_embed(const wk_model *m, const wk_build_inputs *in) {
    wk_tensor *x = wk_get_rows(in->ctx, m->tok_embd, in->tokens); /* (n_embd, T) */
    if (x && m->hp.embd_scale) x = wk_scale(in->ctx, x, sqrtf((float)m->hp.n_embd));
    wk_blk_name(x, "inp_embd", -1);
    return x;
}

wk_tensor *wk_blk_output(const wk_model *m, const wk_build_inputs *in, wk_tensor *x) {
    if (!x) return NULL;
    wk_ctx *ctx = in->ctx;
    /* only the rows that want logits go through the norm and the LM head */
    if (in->n_outputs != in->n_tokens) x = wk_get_rows(ctx, x, in->out_ids); /* (n_embd, n_outputs) */
    x = wk_blk_norm(ctx, x, m->output_norm, m->hp.eps, "result_norm", -1);
    wk_tensor *logits = x ? wk_blk_mm(m, ctx, m->output ? m->output : m->tok_embd, x) : NULL;
    if (logits && m->hp.final_softcap > 0) logits = wk_softcap(ctx, logits, m->hp.final_softcap);
    wk_blk_name(logits, "result_output", -1);
    return logits;
}

/* ---- dispatch -------------------------------------------------------------------- */

wk_tensor *wk_model_build_graph(const wk_model *m, const wk_build_inputs *in) {
    if (!m || !in || !m->layers)
        return wk_err_null(WK_ERR_INVALID_ARG, "model graph: no model weights (loaded vocab-only?)");
    switch (m->hp.arch) {
    case WK_ARCH_GEMMA3: return wk_gemma3_build(m, in);
    case WK_ARCH_PHI3: return wk_phi3_build(m, in);
    default: return wk_llama_build(m, in);
    }
}
