/* llama_train.c — a llama model as a training graph (formats.md §4.2-4.4): unlike
 * src/model/llama.c there is no KV cache; B sequences of T tokens are computed at once with
 * a causal mask, and wk_graph_build_backward appends the gradients of every param. The
 * graph is built once; each step copies tokens and labels into its input leaves.
 *
 * Shapes (ne[0] first): x [E, B*T]; q [HD, H, B*T] after RoPE; per sequence b the rows
 * b*T..b*T+T-1 are viewed out (contiguous) and attended with wk_flash_attn (which takes one
 * sequence: ne[3] must be 1), and the B outputs are concatenated back along the tokens. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "llama_train.h"
#include "src/core/error.h"
#include "src/core/graph.h"
#include "src/core/tensor.h"

enum { W_ATTN_NORM, W_Q, W_K, W_V, W_O, W_FFN_NORM, W_GATE, W_UP, W_DOWN, W_PER_LAYER };
static const char *const k_layer_names[W_PER_LAYER] = {
    "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down",
};

struct wk_llama_train {
    wk_llama_hparams hp;
    wk_llama_train_opts opts;
    int32_t B, T;
    wk_ctx *ctx;
    int n_params;
    wk_tensor **params;  /* token_embd, blk.l.* (W_PER_LAYER each), output_norm, output */
    wk_tensor *tokens, *labels, *pos, *mask, *loss;
    wk_graph *graph;
    /* distillation (opts.distill): soft targets [V, N], 1/temperature and the two loss
     * weights as [1] leaves (set per call), and the loss's two terms */
    wk_tensor *soft, *inv_tau, *w_kl, *w_ce, *kl, *ce;
    /* gradient checkpointing (opts.checkpoint): one layer's graphs with placeholder weights
     * pointed at each layer in turn, the head's graph, and the saved layer inputs */
    wk_tensor *lw[W_PER_LAYER];  /* placeholder layer weights (params of the layer graph) */
    wk_tensor *l_in, *l_out;     /* forward-only layer graph: input leaf, output */
    wk_tensor *b_in, *b_gin;     /* fwd+bwd layer graph: input (param) and incoming gradient */
    wk_graph *g_fwd, *g_bwd, *g_head;
    wk_tensor *h_in;             /* head graph input (param) */
    void *own[W_PER_LAYER + 4];  /* the placeholders' own data, put back before the ctx frees */
    float *acts;                 /* (n_layer + 1) x N x E saved layer inputs */
    float *gbuf[2];              /* N x E gradient w.r.t. the current layer input, ping-pong */
    float **grads;               /* per param: its gradient (malloc'd in checkpoint mode) */
    /* LoRA on a frozen base (opts.lora_rank > 0): the base GGUF stays mapped and its weights
     * (any type, quantized included) are leaves of wctx over the mapping; the params are the
     * A and B of each targeted matrix, la/lb[il * W_PER_LAYER + k] (NULL where untargeted) */
    void *base;                  /* wk_gguf * */
    wk_ctx *wctx;
    wk_tensor **la, **lb;
    float lora_scale;
};

static wk_status check_hparams(const wk_llama_hparams *hp) {
    if (hp->n_vocab <= 0 || hp->n_embd <= 0 || hp->n_layer <= 0 || hp->n_head <= 0 || hp->n_head_kv <= 0 ||
        hp->n_ff <= 0)
        return wk_err(WK_ERR_INVALID_ARG, "llama train: sizes must be positive");
    if (hp->n_embd % hp->n_head || hp->n_head % hp->n_head_kv)
        return wk_err(WK_ERR_INVALID_ARG, "llama train: n_embd %d / n_head %d / n_head_kv %d do not divide",
                      hp->n_embd, hp->n_head, hp->n_head_kv);
    if ((hp->n_embd / hp->n_head) % 2)
        return wk_err(WK_ERR_INVALID_ARG, "llama train: head dim %d is odd (RoPE rotates pairs)", hp->n_embd / hp->n_head);
    if (!(hp->rms_eps > 0) || !(hp->rope_base > 0) || !isfinite(hp->rms_eps) || !isfinite(hp->rope_base))
        return wk_err(WK_ERR_INVALID_ARG, "llama train: rms_eps and rope_base must be positive");
    if (hp->n_layer > 4096 || hp->n_embd > (1 << 20) || hp->n_ff > (1 << 22) || hp->n_vocab > (1 << 24))
        return wk_err(WK_ERR_INVALID_ARG, "llama train: sizes out of range");
    return WK_OK;
}

static wk_tensor *new_param(wk_llama_train *m, int idx, const char *name, int64_t ne0, int64_t ne1) {
    wk_tensor *t = ne1 > 1 ? wk_new_tensor_2d(m->ctx, WK_TYPE_F32, ne0, ne1) : wk_new_tensor_1d(m->ctx, WK_TYPE_F32, ne0);
    if (!t) return NULL;
    memset(wk_tensor_data(t), 0, wk_tensor_nbytes(t));
    wk_tensor_set_name(t, name);
    wk_tensor_set_param(t);
    m->params[idx] = t;
    return t;
}

/* An op or tensor constructor returned NULL: it has set wk_last_error() already. */
static wk_status op_failed(void) { return WK_ERR_SHAPE; }

/* A matrix param as the matmuls see it: itself, or its bf16 rounding (mixed precision). */
static wk_tensor *mat(const wk_llama_train *m, wk_tensor *w) {
    return m->opts.bf16 && wk_tensor_type(w) == WK_TYPE_F32 ? wk_cast(m->ctx, w, WK_TYPE_BF16) : w;
}

/* w x for matrix k of layer il, plus its LoRA term s B (A x) when it is targeted */
static wk_tensor *proj(wk_llama_train *m, int il, int k, wk_tensor *w, wk_tensor *x) {
    wk_ctx *c = m->ctx;
    wk_tensor *y = wk_mul_mat(c, mat(m, w), x);
    if (il >= 0 && m->la && m->la[il * W_PER_LAYER + k] && y) {
        wk_tensor *d = wk_mul_mat(c, m->lb[il * W_PER_LAYER + k], wk_mul_mat(c, m->la[il * W_PER_LAYER + k], x));
        y = d ? wk_add(c, y, wk_scale(c, d, m->lora_scale)) : NULL;
    }
    return y;
}

/* RMSNorm times its weight. */
static wk_tensor *norm(wk_ctx *c, wk_tensor *x, wk_tensor *w, float eps) {
    return wk_mul(c, wk_rms_norm(c, x, eps), w);
}

/* One transformer block: x -> x + attn(norm(x)) -> + ffn(norm(.)), weights w[W_*]. */
static wk_tensor *layer(wk_llama_train *m, wk_tensor *x, wk_tensor *const *w, int il) {
    const wk_llama_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, H = hp->n_head, HKV = hp->n_head_kv, HD = E / H;
    const int64_t T = m->T, N = (int64_t)m->B * m->T;
    wk_ctx *c = m->ctx;
    wk_rope_params rp = wk_rope_params_default((int)HD, WK_ROPE_NORMAL);
    rp.freq_base = hp->rope_base;
    const float scale = 1.0f / sqrtf((float)HD);
    wk_tensor *h = norm(c, x, w[W_ATTN_NORM], hp->rms_eps);
    wk_tensor *q = wk_rope(c, wk_reshape_3d(c, proj(m, il, W_Q, w[W_Q], h), HD, H, N), m->pos, NULL, &rp);
    wk_tensor *k = wk_rope(c, wk_reshape_3d(c, proj(m, il, W_K, w[W_K], h), HD, HKV, N), m->pos, NULL, &rp);
    wk_tensor *v = wk_reshape_3d(c, proj(m, il, W_V, w[W_V], h), HD, HKV, N);
    if (!q || !k || !v) return NULL;
    wk_tensor *o = NULL; /* [HD, H, N] */
    for (int b = 0; b < m->B; b++) {
        /* contiguous slices of rows b*T..b*T+T-1: default strides (nb NULL) */
        const int64_t neq[3] = {HD, H, T}, nek[3] = {HD, HKV, T};
        const size_t rq = (size_t)(H * HD) * sizeof(float), rk = (size_t)(HKV * HD) * sizeof(float);
        wk_tensor *qb = wk_view(c, q, 3, neq, NULL, (size_t)b * T * rq);
        wk_tensor *kb = wk_view(c, k, 3, nek, NULL, (size_t)b * T * rk);
        wk_tensor *vb = wk_view(c, v, 3, nek, NULL, (size_t)b * T * rk);
        if (!qb || !kb || !vb) return NULL;
        wk_tensor *ob = wk_flash_attn(c, wk_permute(c, qb, 0, 2, 1, 3), wk_permute(c, kb, 0, 2, 1, 3),
                                      wk_permute(c, vb, 0, 2, 1, 3), m->mask, scale, 0.0f);
        o = o ? wk_concat(c, o, ob, 2) : ob;
        if (!o) return NULL;
    }
    x = wk_add(c, x, proj(m, il, W_O, w[W_O], wk_reshape_2d(c, o, H * HD, N)));
    wk_tensor *h2 = norm(c, x, w[W_FFN_NORM], hp->rms_eps);
    wk_tensor *f = wk_swiglu(c, proj(m, il, W_GATE, w[W_GATE], h2), proj(m, il, W_UP, w[W_UP], h2));
    return wk_add(c, x, proj(m, il, W_DOWN, w[W_DOWN], f));
}

/* final norm, output matrix, mean cross-entropy against m->labels; distilling, the loss is
 * w_kl KL(soft || softmax(logits / tau)) + w_ce CE */
static wk_tensor *head(wk_llama_train *m, wk_tensor *x, wk_tensor *onorm, wk_tensor *wout) {
    wk_ctx *c = m->ctx;
    wk_tensor *logits = wk_mul_mat(c, mat(m, wout), norm(c, x, onorm, m->hp.rms_eps));
    wk_tensor *ce = wk_cross_entropy(c, logits, m->labels);
    if (!m->opts.distill || !ce) return ce;
    wk_tensor *kl = wk_kl_div(c, wk_mul(c, logits, m->inv_tau), m->soft);
    if (!kl) return NULL;
    wk_tensor_set_output(kl); /* read after compute: the planner must not reuse them */
    wk_tensor_set_output(ce);
    m->kl = kl, m->ce = ce;
    return wk_add(c, wk_mul(c, kl, m->w_kl), wk_mul(c, ce, m->w_ce));
}

static const int64_t *layer_shape(const wk_llama_hparams *hp, int k) {
    static int64_t shape[W_PER_LAYER][2];
    const int64_t E = hp->n_embd, H = hp->n_head, HKV = hp->n_head_kv, HD = E / H, FF = hp->n_ff;
    const int64_t s[W_PER_LAYER][2] = {
        {E, 1}, {E, H * HD}, {E, HKV * HD}, {E, HKV * HD}, {H * HD, E}, {E, 1}, {E, FF}, {E, FF}, {FF, E},
    };
    shape[k][0] = s[k][0], shape[k][1] = s[k][1];
    return shape[k];
}

/* an F32 leaf [ne0, ne1] without its own data use (its data pointer is set per compute) */
static wk_tensor *leaf(wk_ctx *c, int64_t ne0, int64_t ne1, bool param) {
    wk_tensor *t = ne1 > 1 ? wk_new_tensor_2d(c, WK_TYPE_F32, ne0, ne1) : wk_new_tensor_1d(c, WK_TYPE_F32, ne0);
    if (t && param) wk_tensor_set_param(t);
    return t;
}

static wk_graph *graph_of(wk_ctx *c, wk_tensor *out, bool backward) {
    wk_tensor_set_output(out);
    wk_graph *g = wk_graph_new(c);
    if (!g || wk_graph_expand(g, out) != WK_OK) return NULL;
    if (backward && wk_graph_build_backward(c, g, out) != WK_OK) return NULL;
    return g;
}

/* Checkpointing: graphs for one layer (forward only, and forward + backward of the surrogate
 * sum(layer(x) * g_in), whose gradients are the layer's vector-Jacobian products) and for
 * the head; the embedding lookup and its gradient are plain loops. */
static wk_status build_checkpointed(wk_llama_train *m) {
    const wk_llama_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, N = (int64_t)m->B * m->T;
    wk_ctx *c = m->ctx;
    for (int k = 0; k < W_PER_LAYER; k++) {
        const int64_t *sh = layer_shape(hp, k);
        if (!(m->lw[k] = leaf(c, sh[0], sh[1], true))) return op_failed();
    }
    m->l_in = leaf(c, E, N, false);
    m->b_in = leaf(c, E, N, true);
    m->b_gin = leaf(c, E, N, false);
    m->h_in = leaf(c, E, N, true);
    if (!m->l_in || !m->b_in || !m->b_gin || !m->h_in) return op_failed();
    for (int k = 0; k < W_PER_LAYER; k++) m->own[k] = m->lw[k]->data;
    m->own[W_PER_LAYER] = m->l_in->data, m->own[W_PER_LAYER + 1] = m->b_in->data;
    m->own[W_PER_LAYER + 2] = m->b_gin->data, m->own[W_PER_LAYER + 3] = m->h_in->data;
    wk_tensor *y1 = layer(m, m->l_in, m->lw, -1);
    if (!y1 || !(m->l_out = y1) || !(m->g_fwd = graph_of(c, y1, false))) return op_failed();
    wk_tensor *y2 = layer(m, m->b_in, m->lw, -1);
    wk_tensor *s = y2 ? wk_sum(c, wk_mul(c, y2, m->b_gin)) : NULL;
    if (!s || !(m->g_bwd = graph_of(c, s, true))) return op_failed();
    const int np = m->n_params;
    m->loss = head(m, m->h_in, m->params[np - 2], m->params[np - 1]);
    if (!m->loss || !(m->g_head = graph_of(c, m->loss, true))) return op_failed();
    const size_t xs = (size_t)N * (size_t)E;
    m->acts = malloc((size_t)(hp->n_layer + 1) * xs * sizeof(float));
    m->gbuf[0] = malloc(xs * sizeof(float));
    m->gbuf[1] = malloc(xs * sizeof(float));
    m->grads = calloc((size_t)np, sizeof *m->grads);
    if (!m->acts || !m->gbuf[0] || !m->gbuf[1] || !m->grads) return wk_err(WK_ERR_NOMEM, "llama train: out of memory");
    for (int i = 0; i < np; i++)
        if (!(m->grads[i] = malloc((size_t)wk_tensor_nelements(m->params[i]) * sizeof(float))))
            return wk_err(WK_ERR_NOMEM, "llama train: out of memory for gradients");
    return WK_OK;
}

/* a frozen base weight over the mapping: name, expected [ne0, ne1]; optional -> NULL ok */
static wk_tensor *base_weight(wk_llama_train *m, const char *name, int64_t ne0, int64_t ne1, bool optional,
                              wk_status *st) {
    const wk_gguf *g = m->base;
    const int64_t i = wk_gguf_find_tensor(g, name);
    if (i < 0) {
        if (!optional) *st = wk_err(WK_ERR_FORMAT, "base model: no tensor %s", name);
        return NULL;
    }
    const wk_gguf_tensor *d = wk_gguf_tensor_at(g, (uint64_t)i);
    if (d->ne[0] != ne0 || d->ne[1] != ne1 || d->ne[2] != 1 || d->ne[3] != 1) {
        *st = wk_err(WK_ERR_FORMAT, "base model: %s has shape [%lld, %lld], expected [%lld, %lld]", name,
                     (long long)d->ne[0], (long long)d->ne[1], (long long)ne0, (long long)ne1);
        return NULL;
    }
    const wk_type t = (wk_type)d->type;
    if ((ne1 == 1 && t != WK_TYPE_F32) || wk_type_size(t) == 0) {
        *st = wk_err(WK_ERR_UNSUPPORTED, "base model: %s has type %s, not usable here", name,
                     wk_gguf_ggml_type_name(d->type) ? wk_gguf_ggml_type_name(d->type) : "?");
        return NULL;
    }
    const int64_t ne[4] = {ne0, ne1, 1, 1};
    wk_tensor *x = wk_new_tensor(m->wctx, t, 4, ne);
    if (!x || wk_tensor_nbytes(x) != d->nbytes) {
        *st = wk_err(WK_ERR_FORMAT, "base model: %s: size does not match its type and shape", name);
        return NULL;
    }
    wk_tensor_set_data(x, (void *)d->data); /* only read */
    wk_tensor_set_name(x, name);
    return x;
}

/* LoRA mode: frozen base weights, params = A [n_in, r] and B [r, n_out] of each target */
static wk_status build_lora(wk_llama_train *m) {
    const wk_llama_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, V = hp->n_vocab, r = m->opts.lora_rank;
    wk_ctx *c = m->ctx;
    wk_status st = WK_OK;
    char nm[96];
    wk_ctx_params cp = {.no_alloc = true};
    if ((st = wk_ctx_create(&cp, &m->wctx)) != WK_OK) return st;
    const size_t nl = (size_t)hp->n_layer * W_PER_LAYER;
    m->la = calloc(nl, sizeof *m->la);
    m->lb = calloc(nl, sizeof *m->lb);
    if (!m->la || !m->lb) return wk_err(WK_ERR_NOMEM, "llama train: out of memory");
    wk_tensor *emb = base_weight(m, "token_embd.weight", E, V, false, &st);
    if (!emb) return st;
    int ip = 0;
    wk_tensor *x = wk_get_rows(c, emb, m->tokens);
    for (int l = 0; l < hp->n_layer && x; l++) {
        wk_tensor *w[W_PER_LAYER];
        for (int k = 0; k < W_PER_LAYER; k++) {
            snprintf(nm, sizeof nm, "blk.%d.%s.weight", l, k_layer_names[k]);
            const int64_t *sh = layer_shape(hp, k);
            if (!(w[k] = base_weight(m, nm, sh[0], sh[1], false, &st))) return st;
            if (!(m->opts.lora_targets >> k & 1) || sh[1] == 1) continue;
            snprintf(nm, sizeof nm, "blk.%d.%s.weight.lora_a", l, k_layer_names[k]);
            m->la[l * W_PER_LAYER + k] = new_param(m, ip++, nm, sh[0], r);
            snprintf(nm, sizeof nm, "blk.%d.%s.weight.lora_b", l, k_layer_names[k]);
            m->lb[l * W_PER_LAYER + k] = new_param(m, ip++, nm, r, sh[1]);
            if (!m->la[l * W_PER_LAYER + k] || !m->lb[l * W_PER_LAYER + k]) return op_failed();
        }
        x = layer(m, x, w, l);
    }
    if (!x) return op_failed();
    m->n_params = ip;
    wk_tensor *onorm = base_weight(m, "output_norm.weight", E, 1, false, &st);
    if (!onorm) return st;
    wk_tensor *wout = base_weight(m, "output.weight", E, V, true, &st); /* absent: tied to the embedding */
    if (st != WK_OK) return st;
    m->loss = head(m, x, onorm, wout ? wout : emb);
    if (!m->loss || !(m->graph = graph_of(c, m->loss, true))) return op_failed();
    return WK_OK;
}

static wk_status build(wk_llama_train *m) {
    const wk_llama_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, V = hp->n_vocab, T = m->T, N = (int64_t)m->B * m->T;
    wk_ctx *c = m->ctx;
    char nm[64];

    m->tokens = wk_new_tensor_1d(c, WK_TYPE_I32, N);
    m->labels = wk_new_tensor_1d(c, WK_TYPE_I32, N);
    m->pos = wk_new_tensor_1d(c, WK_TYPE_I32, N);
    m->mask = wk_new_tensor_2d(c, WK_TYPE_F32, T, T);
    if (!m->tokens || !m->labels || !m->pos || !m->mask) return op_failed();
    if (m->opts.distill) {
        m->soft = wk_new_tensor_2d(c, WK_TYPE_F32, V, N);
        m->inv_tau = wk_new_tensor_1d(c, WK_TYPE_F32, 1);
        m->w_kl = wk_new_tensor_1d(c, WK_TYPE_F32, 1);
        m->w_ce = wk_new_tensor_1d(c, WK_TYPE_F32, 1);
        if (!m->soft || !m->inv_tau || !m->w_kl || !m->w_ce) return op_failed();
        memset(wk_tensor_data(m->soft), 0, wk_tensor_nbytes(m->soft));
        *(float *)wk_tensor_data(m->inv_tau) = 1.0f;
        *(float *)wk_tensor_data(m->w_kl) = 1.0f;
        *(float *)wk_tensor_data(m->w_ce) = 0.0f;
    }
    int32_t *pos = wk_tensor_data(m->pos);
    for (int64_t i = 0; i < N; i++) pos[i] = (int32_t)(i % T);
    float *mask = wk_tensor_data(m->mask);
    for (int64_t i = 0; i < T; i++) /* row i = query i sees keys 0..i */
        for (int64_t j = 0; j < T; j++) mask[i * T + j] = j <= i ? 0.0f : -INFINITY;

    if (m->base) return build_lora(m);
    int ip = 0;
    wk_tensor *emb = new_param(m, ip++, "token_embd.weight", E, V);
    if (!emb) return op_failed();
    wk_tensor *w[W_PER_LAYER];
    for (int l = 0; l < hp->n_layer; l++)
        for (int k = 0; k < W_PER_LAYER; k++) {
            snprintf(nm, sizeof nm, "blk.%d.%s.weight", l, k_layer_names[k]);
            const int64_t *sh = layer_shape(hp, k);
            if (!(w[k] = new_param(m, ip++, nm, sh[0], sh[1]))) return op_failed();
        }
    wk_tensor *onorm = new_param(m, ip++, "output_norm.weight", E, 1);
    wk_tensor *wout = onorm ? new_param(m, ip++, "output.weight", E, V) : NULL;
    if (!wout) return op_failed();
    if (m->opts.checkpoint) return build_checkpointed(m);

    wk_tensor *x = wk_get_rows(c, emb, m->tokens);
    for (int l = 0; l < hp->n_layer && x; l++) x = layer(m, x, m->params + 1 + l * W_PER_LAYER, -1);
    if (!x) return op_failed();
    m->loss = head(m, x, onorm, wout);
    if (!m->loss || !(m->graph = graph_of(c, m->loss, true))) return op_failed();
    return WK_OK;
}

wk_status wk_llama_train_create(const wk_llama_hparams *hp, int32_t n_batch, int32_t n_seq_len, wk_llama_train **out) {
    return wk_llama_train_create_ex(hp, n_batch, n_seq_len, NULL, out);
}

/* base: a wk_gguf * the model takes over (LoRA mode), or NULL */
static wk_status create_internal(const wk_llama_hparams *hp, int32_t n_batch, int32_t n_seq_len,
                                 const wk_llama_train_opts *opts, void *base, wk_llama_train **out) {
    wk_status st = WK_OK; /* base is ours from here on, freed on every failure */
    if (!out) st = wk_err(WK_ERR_INVALID_ARG, "llama train: out is NULL");
    else *out = NULL;
    if (st == WK_OK && !hp) st = wk_err(WK_ERR_INVALID_ARG, "llama train: no hyper-parameters");
    if (st == WK_OK) st = check_hparams(hp);
    if (st == WK_OK && (n_batch <= 0 || n_seq_len <= 0 || (int64_t)n_batch * n_seq_len > (1 << 24)))
        st = wk_err(WK_ERR_INVALID_ARG, "llama train: batch %d x sequence length %d", n_batch, n_seq_len);
    if (st == WK_OK && opts && opts->lora_rank > 0 && (opts->lora_rank > 4096 || !(opts->lora_alpha >= 0)))
        st = wk_err(WK_ERR_INVALID_ARG, "llama train: LoRA rank %d / alpha %g out of range", opts->lora_rank,
                    (double)opts->lora_alpha);
    wk_llama_train *m = st == WK_OK ? calloc(1, sizeof *m) : NULL;
    if (st == WK_OK && !m) st = wk_err(WK_ERR_NOMEM, "llama train: out of memory");
    if (st != WK_OK) {
        wk_gguf_free(base);
        return st;
    }
    m->hp = *hp;
    if (opts) m->opts = *opts;
    m->base = base;
    if (base && m->opts.checkpoint) {
        wk_llama_train_free(m);
        return wk_err(WK_ERR_UNSUPPORTED, "llama train: LoRA with gradient checkpointing is not supported yet");
    }
    m->lora_scale = m->opts.lora_rank > 0 ? (m->opts.lora_alpha > 0 ? m->opts.lora_alpha : (float)m->opts.lora_rank) /
                                                (float)m->opts.lora_rank
                                          : 0.0f;
    m->B = n_batch;
    m->T = n_seq_len;
    m->n_params = 1 + hp->n_layer * W_PER_LAYER + 2; /* LoRA mode: set by build_lora */
    m->params = calloc((size_t)(base ? 2 * W_PER_LAYER * hp->n_layer : m->n_params), sizeof *m->params);
    if (!m->params) {
        free(m);
        return wk_err(WK_ERR_NOMEM, "llama train: out of memory");
    }
    st = wk_ctx_create(NULL, &m->ctx);
    if (st == WK_OK) st = build(m);
    if (st != WK_OK) {
        wk_llama_train_free(m);
        return st;
    }
    *out = m;
    return WK_OK;
}

wk_status wk_llama_train_create_ex(const wk_llama_hparams *hp, int32_t n_batch, int32_t n_seq_len,
                                   const wk_llama_train_opts *opts, wk_llama_train **out) {
    if (opts && opts->lora_rank > 0)
        return wk_err(WK_ERR_INVALID_ARG, "llama train: LoRA needs a base model (wk_llama_train_create_lora)");
    return create_internal(hp, n_batch, n_seq_len, opts, NULL, out);
}

void wk_llama_train_free(wk_llama_train *m) {
    if (!m) return;
    if (m->grads)
        for (int i = 0; i < m->n_params; i++) free(m->grads[i]);
    free(m->grads);
    free(m->acts);
    free(m->gbuf[0]);
    free(m->gbuf[1]);
    if (m->own[0]) { /* compute points the placeholders at other memory */
        for (int k = 0; k < W_PER_LAYER; k++) m->lw[k]->data = m->own[k];
        m->l_in->data = m->own[W_PER_LAYER], m->b_in->data = m->own[W_PER_LAYER + 1];
        m->b_gin->data = m->own[W_PER_LAYER + 2], m->h_in->data = m->own[W_PER_LAYER + 3];
    }
    wk_ctx_free(m->ctx);
    wk_ctx_free(m->wctx);
    wk_gguf_free(m->base);
    free(m->la);
    free(m->lb);
    free(m->params);
    free(m);
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void wk_llama_train_init_random(wk_llama_train *m, uint64_t seed) {
    if (!m) return;
    uint64_t s = seed;
    for (int i = 0; i < m->n_params; i++) {
        wk_tensor *t = m->params[i];
        float *d = wk_tensor_data(t);
        const int64_t n = wk_tensor_nelements(t);
        if (m->base) { /* LoRA: B = 0 (the adapter starts as the identity), A ~ U(+-1/sqrt(n_in)) */
            const bool is_b = strstr(wk_tensor_name(t), ".lora_b") != NULL;
            const double a = 1.0 / sqrt((double)wk_tensor_ne(t, 0));
            for (int64_t j = 0; j < n; j++)
                d[j] = is_b ? 0.0f : (float)(a * (2.0 * (double)(splitmix64(&s) >> 11) * 0x1.0p-53 - 1.0));
            continue;
        }
        if (wk_tensor_ne(t, 1) == 1) { /* norm weights */
            for (int64_t j = 0; j < n; j++) d[j] = 1.0f;
            continue;
        }
        /* the embedding's rows are looked up, not summed over: unit scale */
        const double a = i == 0 ? 1.0 : sqrt(3.0 / (double)wk_tensor_ne(t, 0));
        for (int64_t j = 0; j < n; j++) {
            const double u = (double)(splitmix64(&s) >> 11) * 0x1.0p-53; /* [0, 1) */
            d[j] = (float)(a * (2.0 * u - 1.0));
        }
    }
}

static wk_status gguf_u32(const wk_gguf *g, const char *path, const char *key, int32_t *out) {
    uint32_t v = 0;
    if (wk_gguf_get_u32(g, key, &v) != WK_GGUF_OK)
        return wk_err(WK_ERR_FORMAT, "%s: missing or non-u32 key %s", path, key);
    if (v == 0 || v > (1u << 24)) return wk_err(WK_ERR_FORMAT, "%s: %s = %u is out of range", path, key, v);
    *out = (int32_t)v;
    return WK_OK;
}

static wk_status read_hparams(const wk_gguf *g, const char *path, wk_llama_hparams *out) {
    wk_llama_hparams hp = {0};
    const char *arch = NULL;
    uint64_t alen = 0;
    wk_status st = WK_OK;
    if (wk_gguf_get_str(g, "general.architecture", &arch, &alen) != WK_GGUF_OK || alen != 5 ||
        memcmp(arch, "llama", 5) != 0) {
        return wk_err(WK_ERR_UNSUPPORTED, "%s: general.architecture is not \"llama\"", path);
    }
    if ((st = gguf_u32(g, path, "llama.embedding_length", &hp.n_embd)) != WK_OK ||
        (st = gguf_u32(g, path, "llama.block_count", &hp.n_layer)) != WK_OK ||
        (st = gguf_u32(g, path, "llama.feed_forward_length", &hp.n_ff)) != WK_OK ||
        (st = gguf_u32(g, path, "llama.attention.head_count", &hp.n_head)) != WK_OK)
        return st;
    hp.n_head_kv = hp.n_head;
    if (wk_gguf_find_key(g, "llama.attention.head_count_kv") >= 0 &&
        (st = gguf_u32(g, path, "llama.attention.head_count_kv", &hp.n_head_kv)) != WK_OK)
        return st;
    if (wk_gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &hp.rms_eps) != WK_GGUF_OK) {
        st = wk_err(WK_ERR_FORMAT, "%s: missing or non-f32 llama.attention.layer_norm_rms_epsilon", path);
        return st;
    }
    hp.rope_base = 10000.0f;
    if (wk_gguf_find_key(g, "llama.rope.freq_base") >= 0 &&
        wk_gguf_get_f32(g, "llama.rope.freq_base", &hp.rope_base) != WK_GGUF_OK) {
        st = wk_err(WK_ERR_FORMAT, "%s: llama.rope.freq_base is not f32", path);
        return st;
    }
    const int64_t ie = wk_gguf_find_tensor(g, "token_embd.weight");
    if (ie < 0) {
        st = wk_err(WK_ERR_FORMAT, "%s: no tensor token_embd.weight", path);
        return st;
    }
    const wk_gguf_tensor *te = wk_gguf_tensor_at(g, (uint64_t)ie);
    if (te->ne[1] <= 0 || te->ne[1] > (1 << 24)) {
        st = wk_err(WK_ERR_FORMAT, "%s: token_embd.weight has a bad vocabulary size", path);
        return st;
    }
    hp.n_vocab = (int32_t)te->ne[1];
    *out = hp;
    return WK_OK;
}

wk_status wk_llama_train_create_gguf(const char *path, int32_t n_batch, int32_t n_seq_len, wk_llama_train **out) {
    return wk_llama_train_create_gguf_ex(path, n_batch, n_seq_len, NULL, out);
}

wk_status wk_llama_train_create_gguf_ex(const char *path, int32_t n_batch, int32_t n_seq_len,
                                        const wk_llama_train_opts *opts, wk_llama_train **out) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "llama train: out is NULL");
    *out = NULL;
    if (!path) return wk_err(WK_ERR_INVALID_ARG, "llama train: no path");
    wk_gguf *g = NULL;
    if (wk_gguf_open(path, &g) != WK_GGUF_OK) return wk_err(WK_ERR_FORMAT, "%s", wk_gguf_last_error());
    wk_llama_hparams hp = {0};
    wk_llama_train *m = NULL;
    wk_status st = read_hparams(g, path, &hp);
    if (st != WK_OK) goto done;
    if ((st = wk_llama_train_create_ex(&hp, n_batch, n_seq_len, opts, &m)) != WK_OK) {
        st = wk_err(st, "%s: %s", path, wk_last_error());
        goto done;
    }
    for (int i = 0; i < m->n_params; i++) {
        wk_tensor *p = m->params[i];
        const int64_t it = wk_gguf_find_tensor(g, wk_tensor_name(p));
        if (it < 0) {
            st = wk_err(WK_ERR_FORMAT, "%s: no tensor %s", path, wk_tensor_name(p));
            goto done;
        }
        const wk_gguf_tensor *t = wk_gguf_tensor_at(g, (uint64_t)it);
        if (t->type != WK_TYPE_F32) {
            st = wk_err(WK_ERR_UNSUPPORTED, "%s: %s is %s; training needs f32", path, t->name,
                        wk_gguf_ggml_type_name(t->type));
            goto done;
        }
        for (int d = 0; d < 4; d++)
            if (t->ne[d] != wk_tensor_ne(p, d)) {
                st = wk_err(WK_ERR_FORMAT, "%s: %s has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]", path,
                            t->name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                            (long long)t->ne[3], (long long)wk_tensor_ne(p, 0), (long long)wk_tensor_ne(p, 1));
                goto done;
            }
        memcpy(wk_tensor_data(p), t->data, wk_tensor_nbytes(p));
    }
done:
    wk_gguf_free(g);
    if (st != WK_OK) {
        wk_llama_train_free(m);
        return st;
    }
    *out = m;
    return WK_OK;
}

wk_status wk_llama_train_create_lora(const char *base_path, int32_t n_batch, int32_t n_seq_len,
                                     const wk_llama_train_opts *opts, wk_llama_train **out) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "llama train: out is NULL");
    *out = NULL;
    if (!base_path || !opts || opts->lora_rank <= 0 || !opts->lora_targets)
        return wk_err(WK_ERR_INVALID_ARG, "llama train: LoRA needs a base path, a rank > 0 and targets");
    wk_gguf *g = NULL;
    if (wk_gguf_open(base_path, &g) != WK_GGUF_OK) return wk_err(WK_ERR_FORMAT, "%s", wk_gguf_last_error());
    wk_llama_hparams hp;
    wk_status st = read_hparams(g, base_path, &hp);
    if (st != WK_OK) {
        wk_gguf_free(g);
        return st;
    }
    st = create_internal(&hp, n_batch, n_seq_len, opts, g, out); /* owns g */
    if (st != WK_OK) return wk_err(st, "%s: %s", base_path, wk_last_error());
    return WK_OK;
}

/* grads[p] <- the gradient graph g holds for tensor t */
static void take_grad(const wk_graph *g, const wk_tensor *t, float *dst) {
    const wk_tensor *gt = wk_graph_grad(g, t);
    if (gt) memcpy(dst, wk_tensor_data(gt), (size_t)wk_tensor_nelements(t) * sizeof(float));
    else memset(dst, 0, (size_t)wk_tensor_nelements(t) * sizeof(float));
}

/* Forward through the layers keeping only their inputs, the head's forward + backward, then
 * each layer again from its saved input with its backward (recomputation), last to first. */
/* Checkpointed forward pass: the embedding rows, then each layer through the shared
 * forward-only graph, keeping every layer's input in m->acts; the head's input is pointed
 * at the last. */
static wk_status forward_layers(wk_llama_train *m, wk_backend *be, const int32_t *tokens) {
    const int64_t E = m->hp.n_embd, N = (int64_t)m->B * m->T, L = m->hp.n_layer;
    const size_t xs = (size_t)N * (size_t)E;
    const float *emb = wk_tensor_data(m->params[0]);
    for (int64_t i = 0; i < N; i++) memcpy(m->acts + (size_t)i * E, emb + (size_t)tokens[i] * E, (size_t)E * sizeof(float));
    for (int64_t l = 0; l < L; l++) {
        for (int k = 0; k < W_PER_LAYER; k++) m->lw[k]->data = wk_tensor_data(m->params[1 + l * W_PER_LAYER + k]);
        m->l_in->data = m->acts + (size_t)l * xs;
        const wk_status st = wk_graph_compute(be, m->g_fwd);
        if (st != WK_OK) return st;
        memcpy(m->acts + (size_t)(l + 1) * xs, wk_tensor_data(m->l_out), xs * sizeof(float));
    }
    m->h_in->data = m->acts + (size_t)L * xs;
    return WK_OK;
}

static wk_status compute_checkpointed(wk_llama_train *m, wk_backend *be, const int32_t *tokens, float *loss) {
    const int64_t E = m->hp.n_embd, N = (int64_t)m->B * m->T, L = m->hp.n_layer;
    const size_t xs = (size_t)N * (size_t)E;
    const int np = m->n_params;
    wk_status st;
    if ((st = forward_layers(m, be, tokens)) != WK_OK) return st;
    if ((st = wk_graph_compute(be, m->g_head)) != WK_OK) return st;
    if (loss) *loss = *(const float *)wk_tensor_data(m->loss);
    take_grad(m->g_head, m->params[np - 2], m->grads[np - 2]);
    take_grad(m->g_head, m->params[np - 1], m->grads[np - 1]);
    take_grad(m->g_head, m->h_in, m->gbuf[0]);
    int cur = 0;
    for (int64_t l = L - 1; l >= 0; l--) {
        for (int k = 0; k < W_PER_LAYER; k++) m->lw[k]->data = wk_tensor_data(m->params[1 + l * W_PER_LAYER + k]);
        m->b_in->data = m->acts + (size_t)l * xs;
        m->b_gin->data = m->gbuf[cur];
        if ((st = wk_graph_compute(be, m->g_bwd)) != WK_OK) return st;
        for (int k = 0; k < W_PER_LAYER; k++) take_grad(m->g_bwd, m->lw[k], m->grads[1 + l * W_PER_LAYER + k]);
        take_grad(m->g_bwd, m->b_in, m->gbuf[cur ^ 1]);
        cur ^= 1;
    }
    /* the embedding's gradient: each token's row of the first layer's input gradient */
    float *ge = m->grads[0];
    memset(ge, 0, (size_t)wk_tensor_nelements(m->params[0]) * sizeof(float));
    for (int64_t i = 0; i < N; i++) {
        float *row = ge + (size_t)tokens[i] * E;
        const float *g = m->gbuf[cur] + (size_t)i * E;
        for (int64_t e = 0; e < E; e++) row[e] += g[e];
    }
    return WK_OK;
}

static wk_status check_batch(const wk_llama_train *m, const int32_t *tokens, const int32_t *labels) {
    const int64_t N = (int64_t)m->B * m->T;
    for (int64_t i = 0; i < N; i++) {
        if (tokens[i] < 0 || tokens[i] >= m->hp.n_vocab)
            return wk_err(WK_ERR_INVALID_ARG, "llama train: token %d at %lld is outside the vocabulary (%d)",
                          tokens[i], (long long)i, m->hp.n_vocab);
        if (labels[i] >= m->hp.n_vocab)
            return wk_err(WK_ERR_INVALID_ARG, "llama train: label %d at %lld is outside the vocabulary (%d)",
                          labels[i], (long long)i, m->hp.n_vocab);
    }
    return WK_OK;
}

wk_status wk_llama_train_eval(wk_llama_train *m, wk_backend *be, const int32_t *tokens, const int32_t *labels,
                              float *loss) {
    if (!m || !be || !tokens || !labels || !loss) return wk_err(WK_ERR_INVALID_ARG, "llama train: eval: NULL argument");
    wk_status st = check_batch(m, tokens, labels);
    if (st != WK_OK) return st;
    const int64_t N = (int64_t)m->B * m->T;
    memcpy(wk_tensor_data(m->tokens), tokens, (size_t)N * sizeof(int32_t));
    memcpy(wk_tensor_data(m->labels), labels, (size_t)N * sizeof(int32_t));
    if (!m->opts.checkpoint) {
        st = wk_graph_compute_until(be, m->graph, m->loss);
    } else { /* the layers' forward graph, then the head's nodes up to its loss */
        st = forward_layers(m, be, tokens);
        if (st == WK_OK) st = wk_graph_compute_until(be, m->g_head, m->loss);
    }
    if (st == WK_OK) *loss = *(const float *)wk_tensor_data(m->loss);
    return st;
}

wk_status wk_llama_train_compute(wk_llama_train *m, wk_backend *be, const int32_t *tokens, const int32_t *labels,
                                 float *loss) {
    if (!m || !be || !tokens || !labels) return wk_err(WK_ERR_INVALID_ARG, "llama train: compute: NULL argument");
    wk_status cst = check_batch(m, tokens, labels);
    if (cst != WK_OK) return cst;
    const int64_t N = (int64_t)m->B * m->T;
    memcpy(wk_tensor_data(m->tokens), tokens, (size_t)N * sizeof(int32_t));
    memcpy(wk_tensor_data(m->labels), labels, (size_t)N * sizeof(int32_t));
    if (m->opts.checkpoint) return compute_checkpointed(m, be, tokens, loss);
    wk_status st = wk_graph_compute(be, m->graph);
    if (st != WK_OK) return st;
    if (loss) *loss = *(const float *)wk_tensor_data(m->loss);
    return WK_OK;
}

float *wk_llama_train_soft_targets(wk_llama_train *m) {
    return m && m->soft ? wk_tensor_data(m->soft) : NULL;
}

wk_status wk_llama_train_set_distill(wk_llama_train *m, float temperature, float w_kl, float w_ce) {
    if (!m || !m->soft) return wk_err(WK_ERR_INVALID_ARG, "llama train: not built for distillation");
    if (!(temperature > 0) || !isfinite(temperature) || !isfinite(w_kl) || !isfinite(w_ce))
        return wk_err(WK_ERR_INVALID_ARG, "llama train: distillation temperature %g, weights %g %g", (double)temperature,
                      (double)w_kl, (double)w_ce);
    *(float *)wk_tensor_data(m->inv_tau) = 1.0f / temperature;
    *(float *)wk_tensor_data(m->w_kl) = w_kl;
    *(float *)wk_tensor_data(m->w_ce) = w_ce;
    return WK_OK;
}

void wk_llama_train_distill_parts(const wk_llama_train *m, float *kl, float *ce) {
    if (kl) *kl = m && m->kl ? *(const float *)wk_tensor_data(m->kl) : NAN;
    if (ce) *ce = m && m->ce ? *(const float *)wk_tensor_data(m->ce) : NAN;
}

const wk_llama_hparams *wk_llama_train_hparams(const wk_llama_train *m) { return m ? &m->hp : NULL; }
int wk_llama_train_n_params(const wk_llama_train *m) { return m ? m->n_params : 0; }
wk_tensor *wk_llama_train_param(const wk_llama_train *m, int i) {
    return m && i >= 0 && i < m->n_params ? m->params[i] : NULL;
}
wk_graph *wk_llama_train_graph(const wk_llama_train *m) { return m ? m->graph : NULL; }

float *wk_llama_train_grad(const wk_llama_train *m, int i) {
    if (!m || i < 0 || i >= m->n_params) return NULL;
    if (m->grads) return m->grads[i];
    wk_tensor *g = wk_graph_grad(m->graph, m->params[i]);
    return g ? wk_tensor_data(g) : NULL;
}
