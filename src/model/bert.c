/* bert.c — the BERT encoder of bert.h. Weights stay in the mapped GGUF (leaves of a
 * no-alloc context); each call builds the graph for its token count in a fresh context:
 *   x = LN(tok[ids] + pos[0..n) + type[0]);  per layer:
 *   x = LN(x + Wo attn(Wq x + bq, Wk x + bk, Wv x + bv) + bo);  x = LN(x + Wd gelu(Wu x + bu) + bd)
 * with LN(y) = (y - mean) / sqrt(var + eps) * g + b, attention over all n tokens. */
#include "bert.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "src/core/error.h"

enum { L_Q, L_QB, L_K, L_KB, L_V, L_VB, L_O, L_OB, L_ON, L_ONB, L_U, L_UB, L_D, L_DB, L_LN, L_LNB, L_N };
static const char *const k_layer[L_N] = {
    "attn_q.weight", "attn_q.bias", "attn_k.weight", "attn_k.bias", "attn_v.weight", "attn_v.bias",
    "attn_output.weight", "attn_output.bias", "attn_output_norm.weight", "attn_output_norm.bias",
    "ffn_up.weight", "ffn_up.bias", "ffn_down.weight", "ffn_down.bias", "layer_output_norm.weight",
    "layer_output_norm.bias",
};

struct wk_bert {
    wk_gguf *g;
    wk_ctx *wctx;
    wk_vocab *vocab;
    int32_t n_embd, n_layer, n_head, n_ff, n_ctx, n_vocab, n_types;
    float eps;
    wk_pooling pooling;
    wk_tensor *tok, *pos, *types, *norm, *norm_b;
    wk_tensor **layers; /* n_layer * L_N */
};

static wk_status u32_key(const wk_gguf *g, const char *key, int32_t lo, int32_t hi, int32_t *out) {
    uint32_t v;
    if (wk_gguf_get_u32(g, key, &v) != WK_GGUF_OK) return wk_err(WK_ERR_FORMAT, "bert: missing %s", key);
    if (v < (uint32_t)lo || v > (uint32_t)hi) return wk_err(WK_ERR_FORMAT, "bert: %s = %u out of range", key, v);
    *out = (int32_t)v;
    return WK_OK;
}

static wk_tensor *weight(wk_bert *b, const char *name, int64_t ne0, int64_t ne1, wk_status *st) {
    const int64_t i = wk_gguf_find_tensor(b->g, name);
    if (i < 0) {
        *st = wk_err(WK_ERR_FORMAT, "bert: no tensor %s", name);
        return NULL;
    }
    const wk_gguf_tensor *d = wk_gguf_tensor_at(b->g, (uint64_t)i);
    if (d->ne[0] != ne0 || d->ne[1] != ne1 || d->ne[2] != 1 || d->ne[3] != 1) {
        *st = wk_err(WK_ERR_FORMAT, "bert: %s has shape [%lld, %lld], expected [%lld, %lld]", name, (long long)d->ne[0],
                     (long long)d->ne[1], (long long)ne0, (long long)ne1);
        return NULL;
    }
    const wk_type t = (wk_type)d->type;
    if ((ne1 == 1 && t != WK_TYPE_F32) || wk_type_size(t) == 0) {
        *st = wk_err(WK_ERR_UNSUPPORTED, "bert: %s has type %s, not usable here", name,
                     wk_gguf_ggml_type_name(d->type) ? wk_gguf_ggml_type_name(d->type) : "?");
        return NULL;
    }
    const int64_t ne[2] = {ne0, ne1};
    wk_tensor *x = wk_new_tensor(b->wctx, t, 2, ne);
    if (!x || wk_tensor_nbytes(x) != d->nbytes) {
        *st = wk_err(WK_ERR_FORMAT, "bert: %s: size does not match its type and shape", name);
        return NULL;
    }
    wk_tensor_set_data(x, (void *)d->data); /* only read */
    return x;
}

wk_status wk_bert_load(const char *path, wk_bert **out) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "bert: out is NULL");
    *out = NULL;
    wk_bert *b = calloc(1, sizeof *b);
    if (!b) return wk_err(WK_ERR_NOMEM, "bert: out of memory");
    wk_status st = WK_OK;
    if (wk_gguf_open(path, &b->g) != WK_GGUF_OK) {
        st = wk_err(WK_ERR_FORMAT, "%s", wk_gguf_last_error());
        goto fail;
    }
    const char *arch = NULL;
    uint64_t al = 0;
    if (wk_gguf_get_str(b->g, "general.architecture", &arch, &al) != WK_GGUF_OK || al != 4 || memcmp(arch, "bert", 4)) {
        st = wk_err(WK_ERR_UNSUPPORTED, "%s: not a BERT model (general.architecture '%.*s')", path, (int)(al > 32 ? 32 : al),
                    arch ? arch : "");
        goto fail;
    }
    if ((st = u32_key(b->g, "bert.embedding_length", 1, 1 << 16, &b->n_embd)) ||
        (st = u32_key(b->g, "bert.block_count", 1, 1024, &b->n_layer)) ||
        (st = u32_key(b->g, "bert.attention.head_count", 1, 1024, &b->n_head)) ||
        (st = u32_key(b->g, "bert.feed_forward_length", 1, 1 << 20, &b->n_ff)) ||
        (st = u32_key(b->g, "bert.context_length", 1, 1 << 20, &b->n_ctx)))
        goto fail;
    if (b->n_embd % b->n_head) {
        st = wk_err(WK_ERR_FORMAT, "bert: n_embd %d is not a multiple of %d heads", b->n_embd, b->n_head);
        goto fail;
    }
    if (wk_gguf_get_f32(b->g, "bert.attention.layer_norm_epsilon", &b->eps) != WK_GGUF_OK || !(b->eps > 0) ||
        !isfinite(b->eps)) {
        st = wk_err(WK_ERR_FORMAT, "bert: missing or bad bert.attention.layer_norm_epsilon");
        goto fail;
    }
    uint32_t pt = 1;
    if (wk_gguf_get_u32(b->g, "bert.pooling_type", &pt) == WK_GGUF_OK && pt != 1 && pt != 2) pt = 1;
    b->pooling = (wk_pooling)pt;
    if ((st = wk_vocab_load_gguf(b->g, &b->vocab)) != WK_OK) goto fail;
    const int64_t i_tok = wk_gguf_find_tensor(b->g, "token_embd.weight");
    const int64_t i_typ = wk_gguf_find_tensor(b->g, "token_types.weight");
    if (i_tok < 0 || i_typ < 0) {
        st = wk_err(WK_ERR_FORMAT, "bert: no token_embd.weight or token_types.weight");
        goto fail;
    }
    b->n_vocab = (int32_t)wk_gguf_tensor_at(b->g, (uint64_t)i_tok)->ne[1];
    b->n_types = (int32_t)wk_gguf_tensor_at(b->g, (uint64_t)i_typ)->ne[1];
    if (b->n_vocab != wk_vocab_n_tokens(b->vocab)) {
        st = wk_err(WK_ERR_FORMAT, "bert: %d embedding rows for %d tokens", b->n_vocab, wk_vocab_n_tokens(b->vocab));
        goto fail;
    }
    wk_ctx_params cp = {.no_alloc = true};
    if ((st = wk_ctx_create(&cp, &b->wctx)) != WK_OK) goto fail;
    const int64_t E = b->n_embd, F = b->n_ff;
    if (!(b->tok = weight(b, "token_embd.weight", E, b->n_vocab, &st)) ||
        !(b->pos = weight(b, "position_embd.weight", E, b->n_ctx, &st)) ||
        !(b->types = weight(b, "token_types.weight", E, b->n_types, &st)) ||
        !(b->norm = weight(b, "token_embd_norm.weight", E, 1, &st)) ||
        !(b->norm_b = weight(b, "token_embd_norm.bias", E, 1, &st)))
        goto fail;
    if (!(b->layers = calloc((size_t)b->n_layer * L_N, sizeof *b->layers))) {
        st = wk_err(WK_ERR_NOMEM, "bert: out of memory");
        goto fail;
    }
    for (int l = 0; l < b->n_layer; l++)
        for (int k = 0; k < L_N; k++) {
            char nm[96];
            snprintf(nm, sizeof nm, "blk.%d.%s", l, k_layer[k]);
            const int bias = k % 2 == 1;
            const int64_t ne0 = bias ? (k == L_UB ? F : E) : (k == L_D ? F : E);
            const int64_t ne1 = bias || k == L_ON || k == L_LN ? 1 : (k == L_U ? F : E);
            if (!(b->layers[l * L_N + k] = weight(b, nm, ne0, ne1, &st))) goto fail;
        }
    *out = b;
    return WK_OK;
fail:
    wk_bert_free(b);
    return st;
}

void wk_bert_free(wk_bert *b) {
    if (!b) return;
    wk_ctx_free(b->wctx);
    wk_vocab_free(b->vocab);
    wk_gguf_free(b->g);
    free(b->layers);
    free(b);
}

const wk_vocab *wk_bert_vocab(const wk_bert *b) { return b ? b->vocab : NULL; }
int32_t wk_bert_n_embd(const wk_bert *b) { return b ? b->n_embd : 0; }
int32_t wk_bert_n_ctx(const wk_bert *b) { return b ? b->n_ctx : 0; }
wk_pooling wk_bert_pooling(const wk_bert *b) { return b ? b->pooling : WK_POOL_MEAN; }

static wk_tensor *layer_norm(wk_ctx *c, wk_tensor *x, wk_tensor *g, wk_tensor *bias, float eps) {
    return wk_add(c, wk_mul(c, wk_norm(c, x, eps), g), bias);
}

static wk_tensor *linear(wk_ctx *c, wk_tensor *w, wk_tensor *bias, wk_tensor *x) {
    return wk_add(c, wk_mul_mat(c, w, x), bias);
}

wk_status wk_bert_embed(wk_bert *b, wk_backend *be, const wk_token *tokens, int32_t n, wk_pooling pooling,
                        bool normalize, float *out) {
    if (!b || !be || !tokens || !out) return wk_err(WK_ERR_INVALID_ARG, "bert: NULL argument");
    if (n < 1 || n > b->n_ctx) return wk_err(WK_ERR_INVALID_ARG, "bert: %d tokens (1..%d fit)", n, b->n_ctx);
    for (int32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= b->n_vocab)
            return wk_err(WK_ERR_INVALID_ARG, "bert: token %d at %d is outside the vocabulary", tokens[i], i);
    if (pooling == WK_POOL_DEFAULT) pooling = b->pooling;
    const int64_t E = b->n_embd, H = b->n_head, HD = E / H;
    wk_ctx *c = NULL;
    wk_status st = wk_ctx_create(NULL, &c);
    if (st) return st;
    wk_tensor *ids = wk_new_tensor_1d(c, WK_TYPE_I32, n), *pos = wk_new_tensor_1d(c, WK_TYPE_I32, n);
    wk_tensor *tt = wk_new_tensor_1d(c, WK_TYPE_I32, n);
    wk_tensor *x = NULL;
    if (ids && pos && tt) {
        int32_t *pi = wk_tensor_data(ids), *pp = wk_tensor_data(pos), *pt = wk_tensor_data(tt);
        for (int32_t i = 0; i < n; i++) pi[i] = tokens[i], pp[i] = i, pt[i] = 0; /* one segment: type 0 */
        x = wk_add(c, wk_add(c, wk_get_rows(c, b->tok, ids), wk_get_rows(c, b->pos, pos)), wk_get_rows(c, b->types, tt));
        x = layer_norm(c, x, b->norm, b->norm_b, b->eps);
    }
    for (int l = 0; l < b->n_layer && x; l++) {
        wk_tensor *const *w = b->layers + (size_t)l * L_N;
        wk_tensor *q = wk_reshape_3d(c, linear(c, w[L_Q], w[L_QB], x), HD, H, n);
        wk_tensor *k = wk_reshape_3d(c, linear(c, w[L_K], w[L_KB], x), HD, H, n);
        wk_tensor *v = wk_reshape_3d(c, linear(c, w[L_V], w[L_VB], x), HD, H, n);
        wk_tensor *o = q && k && v ? wk_flash_attn(c, wk_permute(c, q, 0, 2, 1, 3), wk_permute(c, k, 0, 2, 1, 3),
                                                   wk_permute(c, v, 0, 2, 1, 3), NULL, 1.0f / sqrtf((float)HD), 0.0f)
                                   : NULL;
        if (!o) break;
        x = layer_norm(c, wk_add(c, x, linear(c, w[L_O], w[L_OB], wk_reshape_2d(c, o, E, n))), w[L_ON], w[L_ONB], b->eps);
        wk_tensor *h = wk_gelu_erf(c, linear(c, w[L_U], w[L_UB], x));
        x = layer_norm(c, wk_add(c, x, linear(c, w[L_D], w[L_DB], h)), w[L_LN], w[L_LNB], b->eps);
    }
    wk_graph *g = NULL;
    if (!x) st = wk_last_error()[0] ? WK_ERR_SHAPE : wk_err(WK_ERR_NOMEM, "bert: out of memory");
    else {
        wk_tensor_set_output(x);
        g = wk_graph_new(c);
        if (!g || (st = wk_graph_expand(g, x)) != WK_OK) st = st ? st : wk_err(WK_ERR_NOMEM, "bert: out of memory");
    }
    if (!st) st = wk_graph_compute(be, g);
    if (!st) {
        const float *h = wk_tensor_data(x); /* [E, n] */
        if (pooling == WK_POOL_NONE) {
            memcpy(out, h, (size_t)(n * E) * sizeof *out);
        } else {
            for (int64_t e = 0; e < E; e++) {
                double s = 0;
                if (pooling == WK_POOL_CLS) s = h[e];
                else {
                    for (int32_t i = 0; i < n; i++) s += h[(size_t)i * E + e];
                    s /= n;
                }
                out[e] = (float)s;
            }
        }
        if (normalize) {
            const int32_t rows = pooling == WK_POOL_NONE ? n : 1;
            for (int32_t r = 0; r < rows; r++) {
                double ss = 0;
                for (int64_t e = 0; e < E; e++) ss += (double)out[r * E + e] * out[r * E + e];
                const double inv = ss > 0 ? 1.0 / sqrt(ss) : 0;
                for (int64_t e = 0; e < E; e++) out[r * E + e] = (float)(out[r * E + e] * inv);
            }
        }
    }
    wk_ctx_free(c);
    return st;
}
