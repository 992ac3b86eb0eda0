/* model.c — wk_model_load: maps a GGUF file, reads the hyper-parameters common to every
 * architecture (formats.md §3.2), dispatches to the family's hooks for the rest, and wraps
 * each weight in a wk_tensor whose data points into the mapping. Every weight's type and
 * shape is checked here, so a graph build never meets a surprise from the file. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "model.h"
#include "../runtime/tokenizer.h"

typedef struct {
    const char *name;
    wk_arch arch;
    wk_status (*hparams)(wk_model *);
    wk_status (*tensors)(wk_model *);
} arch_entry;

static const arch_entry k_archs[] = {
    {"llama", WK_ARCH_LLAMA, wk_llama_hparams, wk_llama_tensors},
    {"qwen2", WK_ARCH_QWEN2, wk_llama_hparams, wk_llama_tensors},
    {"qwen3", WK_ARCH_QWEN3, wk_llama_hparams, wk_llama_tensors},
    {"gemma3", WK_ARCH_GEMMA3, wk_gemma3_hparams, wk_gemma3_tensors},
    {"phi3", WK_ARCH_PHI3, wk_phi3_hparams, wk_phi3_tensors},
};

static wk_status gguf_err(const wk_model *m, const char *key, wk_gguf_status s, const char *want) {
    if (s == WK_GGUF_E_TYPE) {
        int64_t i = wk_gguf_find_key(m->gguf, key);
        return wk_err(WK_ERR_FORMAT, "%s: %s: has the wrong type %s, expected %s", m->path, key,
                      wk_gguf_type_name(wk_gguf_kv_type(m->gguf, (uint64_t)i)), want);
    }
    return wk_err(s == WK_GGUF_E_NOMEM ? WK_ERR_NOMEM : WK_ERR_FORMAT, "%s: %s: %s", m->path, key, wk_gguf_last_error());
}

/* ---- metadata ---------------------------------------------------------------- */

/* "<arch>.<suffix>" as u32 (or an array of u32/i32 whose entries are all equal: per-layer
 * values that do not vary, which is all this engine supports). */
wk_status wk_model_key_u32(const wk_model *m, const char *suffix, wk_need need, int64_t *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", m->hp.arch_name, suffix);
    uint32_t v;
    wk_gguf_status s = wk_gguf_get_u32(m->gguf, key, &v);
    if (s == WK_GGUF_OK) {
        *out = v;
        return WK_OK;
    }
    if (s == WK_GGUF_E_NOTFOUND) {
        if (need == WK_OPT) return WK_OK;
        return wk_err(WK_ERR_FORMAT, "%s: required key %s is missing", m->path, key);
    }
    wk_gguf_type et;
    uint64_t n;
    if (s == WK_GGUF_E_TYPE && wk_gguf_get_arr_info(m->gguf, key, &et, &n) == WK_GGUF_OK &&
        (et == WK_GGUF_UINT32 || et == WK_GGUF_INT32) && n > 0) {
        const void *data;
        wk_gguf_get_arr_data(m->gguf, key, et, &data, &n);
        uint32_t first, x;
        memcpy(&first, data, 4);
        for (uint64_t i = 1; i < n; i++) {
            memcpy(&x, (const char *)data + 4 * i, 4);
            if (x != first) return wk_err(WK_ERR_UNSUPPORTED, "%s: %s varies per layer (not supported)", m->path, key);
        }
        if (et == WK_GGUF_INT32 && (int32_t)first < 0) return wk_err(WK_ERR_FORMAT, "%s: %s is negative", m->path, key);
        *out = first;
        return WK_OK;
    }
    return gguf_err(m, key, s, "UINT32");
}

wk_status wk_model_key_f32(const wk_model *m, const char *suffix, wk_need need, float *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", m->hp.arch_name, suffix);
    float v;
    wk_gguf_status s = wk_gguf_get_f32(m->gguf, key, &v);
    if (s == WK_GGUF_OK) {
        if (!isfinite(v)) return wk_err(WK_ERR_FORMAT, "%s: %s is not finite", m->path, key);
        *out = v;
        return WK_OK;
    }
    if (s == WK_GGUF_E_NOTFOUND) {
        if (need == WK_OPT) return WK_OK;
        return wk_err(WK_ERR_FORMAT, "%s: required key %s is missing", m->path, key);
    }
    return gguf_err(m, key, s, "FLOAT32");
}

#define TRY(x)                          \
    do {                                \
        wk_status st_ = (x);            \
        if (st_ != WK_OK) return st_;   \
    } while (0)

/* Keys every supported architecture shares; families adjust afterwards. */
static wk_status common_hparams(wk_model *m) {
    wk_hparams *hp = &m->hp;
    TRY(wk_model_key_u32(m, "context_length", WK_REQ, &hp->n_ctx_train));
    TRY(wk_model_key_u32(m, "embedding_length", WK_REQ, &hp->n_embd));
    TRY(wk_model_key_u32(m, "block_count", WK_REQ, &hp->n_layer));
    TRY(wk_model_key_u32(m, "feed_forward_length", WK_REQ, &hp->n_ff));
    TRY(wk_model_key_u32(m, "attention.head_count", WK_REQ, &hp->n_head));
    hp->n_head_kv = hp->n_head;
    TRY(wk_model_key_u32(m, "attention.head_count_kv", WK_OPT, &hp->n_head_kv));
    if (hp->n_embd <= 0 || hp->n_layer <= 0 || hp->n_ff <= 0 || hp->n_head <= 0 || hp->n_head_kv <= 0 ||
        hp->n_embd > (1 << 20) || hp->n_layer > 4096 || hp->n_ff > (1 << 24) || hp->n_head > 4096)
        return wk_err(WK_ERR_FORMAT, "%s: implausible sizes (n_embd %lld, n_layer %lld, n_ff %lld, n_head %lld)",
                      m->path, (long long)hp->n_embd, (long long)hp->n_layer, (long long)hp->n_ff,
                      (long long)hp->n_head);
    if (hp->n_head % hp->n_head_kv)
        return wk_err(WK_ERR_FORMAT, "%s: head_count %lld is not a multiple of head_count_kv %lld", m->path,
                      (long long)hp->n_head, (long long)hp->n_head_kv);
    hp->head_dim_k = hp->head_dim_v = hp->n_embd / hp->n_head;
    TRY(wk_model_key_u32(m, "attention.key_length", WK_OPT, &hp->head_dim_k));
    TRY(wk_model_key_u32(m, "attention.value_length", WK_OPT, &hp->head_dim_v));
    if (hp->head_dim_k <= 0 || hp->head_dim_v <= 0 || hp->head_dim_k > 4096 || hp->head_dim_v > 4096)
        return wk_err(WK_ERR_FORMAT, "%s: head dims %lld/%lld are not usable", m->path, (long long)hp->head_dim_k,
                      (long long)hp->head_dim_v);
    hp->n_rot = hp->head_dim_k;
    TRY(wk_model_key_u32(m, "rope.dimension_count", WK_OPT, &hp->n_rot));
    if (hp->n_rot <= 0 || hp->n_rot > hp->head_dim_k || hp->n_rot % 2)
        return wk_err(WK_ERR_FORMAT, "%s: rope.dimension_count %lld must be even and <= head dim %lld", m->path,
                      (long long)hp->n_rot, (long long)hp->head_dim_k);
    TRY(wk_model_key_f32(m, "attention.layer_norm_rms_epsilon", WK_REQ, &hp->eps));
    if (!(hp->eps >= 0)) return wk_err(WK_ERR_FORMAT, "%s: negative rms epsilon", m->path);

    /* RoPE (formats.md 4.3 and the scaling keys of 3.2) */
    hp->rope_base = 10000.0f;
    TRY(wk_model_key_f32(m, "rope.freq_base", WK_OPT, &hp->rope_base));
    if (!(hp->rope_base > 0)) return wk_err(WK_ERR_FORMAT, "%s: rope.freq_base must be > 0", m->path);
    hp->rope_base_swa = hp->rope_base;
    TRY(wk_model_key_f32(m, "rope.freq_base_swa", WK_OPT, &hp->rope_base_swa));
    float factor = 0;
    TRY(wk_model_key_f32(m, "rope.scale_linear", WK_OPT, &factor));
    TRY(wk_model_key_f32(m, "rope.scaling.factor", WK_OPT, &factor));
    hp->rope_freq_scale = factor > 0 ? 1.0f / factor : 1.0f;
    hp->rope_attn_factor = 1.0f;
    TRY(wk_model_key_f32(m, "rope.scaling.attn_factor", WK_OPT, &hp->rope_attn_factor));
    hp->rope_n_ctx_orig = hp->n_ctx_train;
    TRY(wk_model_key_u32(m, "rope.scaling.original_context_length", WK_OPT, &hp->rope_n_ctx_orig));
    hp->rope_beta_fast = 32.0f;
    hp->rope_beta_slow = 1.0f;
    hp->rope_ext_factor = 0.0f;
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", hp->arch_name);
    const char *st;
    uint64_t sl;
    if (wk_gguf_get_str(m->gguf, key, &st, &sl) == WK_GGUF_OK) {
        if (sl == 4 && !memcmp(st, "none", 4)) hp->rope_freq_scale = 1.0f;
        else if (sl == 4 && !memcmp(st, "yarn", 4)) {
            hp->rope_ext_factor = 1.0f;
            TRY(wk_model_key_f32(m, "rope.scaling.yarn_ext_factor", WK_OPT, &hp->rope_ext_factor));
            TRY(wk_model_key_f32(m, "rope.scaling.yarn_beta_fast", WK_OPT, &hp->rope_beta_fast));
            TRY(wk_model_key_f32(m, "rope.scaling.yarn_beta_slow", WK_OPT, &hp->rope_beta_slow));
        } else if (!(sl == 6 && !memcmp(st, "linear", 6)) && !(sl == 8 && !memcmp(st, "longrope", 8)))
            return wk_err(WK_ERR_UNSUPPORTED, "%s: rope scaling type '%.*s' is not supported", m->path, (int)sl, st);
    }
    TRY(wk_model_key_f32(m, "attn_logit_softcapping", WK_OPT, &hp->attn_softcap));
    TRY(wk_model_key_f32(m, "final_logit_softcapping", WK_OPT, &hp->final_softcap));
    if (hp->attn_softcap < 0 || hp->final_softcap < 0)
        return wk_err(WK_ERR_FORMAT, "%s: negative logit softcapping", m->path);
    hp->kq_scale = 1.0f / sqrtf((float)hp->head_dim_k);
    hp->n_vocab = m->vocab ? wk_vocab_n_tokens(m->vocab) : 0;
    TRY(wk_model_key_u32(m, "vocab_size", WK_OPT, &hp->n_vocab));
    return WK_OK;
}

/* ---- tensors ------------------------------------------------------------------- */

bool wk_model_has_tensor(const wk_model *m, const char *name) { return wk_gguf_find_tensor(m->gguf, name) >= 0; }

static void shape_str(char *buf, size_t cap, int n, const int64_t *ne) {
    size_t o = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < n && o < cap; i++) o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? ", " : "", (long long)ne[i]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
}

wk_status wk_model_tensor(wk_model *m, wk_tensor **out, wk_need need, int n_dims, const int64_t *ne,
                          const char *fmt, ...) {
    char name[WK_GGUF_MAX_NAME + 16];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    *out = NULL;
    int64_t i = wk_gguf_find_tensor(m->gguf, name);
    if (i < 0) {
        if (need == WK_OPT) return WK_OK;
        return wk_err(WK_ERR_FORMAT, "%s: tensor '%s' is missing", m->path, name);
    }
    const wk_gguf_tensor *d = wk_gguf_tensor_at(m->gguf, (uint64_t)i);
    /* trailing 1s are insignificant: [n] == [n, 1] */
    int64_t want[4] = {1, 1, 1, 1};
    for (int k = 0; k < n_dims; k++) want[k] = ne[k];
    bool ok = true;
    for (int k = 0; k < 4; k++) ok = ok && d->ne[k] == want[k];
    if (!ok) {
        char got[96], exp[96];
        shape_str(got, sizeof got, (int)d->n_dims, d->ne);
        shape_str(exp, sizeof exp, n_dims, ne);
        return wk_err(WK_ERR_FORMAT, "%s: %s: shape %s, expected %s", m->path, name, got, exp);
    }
    wk_type type = (wk_type)d->type;
    bool is_matrix = n_dims >= 2;
    /* vectors (norms, biases) are combined with MUL/ADD, which read f32 */
    if (!is_matrix && type != WK_TYPE_F32)
        return wk_err(WK_ERR_UNSUPPORTED, "%s: %s: type %s not supported for a vector (f32 only)", m->path, name,
                      wk_type_name(type) ? wk_type_name(type) : "?");
    if (is_matrix && type != WK_TYPE_F32 && type != WK_TYPE_F16 && type != WK_TYPE_BF16 &&
        !(wk_type_is_quantized(type) && wk_type_size(type) > 0))
        return wk_err(WK_ERR_UNSUPPORTED, "%s: %s: weight type %s is not supported", m->path, name,
                      wk_gguf_ggml_type_name(d->type) ? wk_gguf_ggml_type_name(d->type) : "?");
    wk_tensor *t = wk_new_tensor(m->wctx, type, 4, want);
    if (!t) return wk_err(WK_ERR_UNSUPPORTED, "%s: %s: %s", m->path, name, wk_last_error());
    if (wk_tensor_nbytes(t) != d->nbytes)
        return wk_err(WK_ERR_FORMAT, "%s: %s: %llu bytes in the file, %zu expected", m->path, name,
                      (unsigned long long)d->nbytes, wk_tensor_nbytes(t));
    /* weights are only read: the mapping is private and read-only, never written through */
    wk_tensor_set_data(t, (void *)d->data);
    wk_tensor_set_name(t, name);
    *out = t;
    return WK_OK;
}

/* ---- load / free ------------------------------------------------------------------ */

wk_model_params wk_model_default_params(void) {
    wk_model_params p = {false};
    return p;
}

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

wk_status wk_model_load(const char *path, const wk_model_params *params, wk_model **out) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "wk_model_load: out is NULL");
    *out = NULL;
    if (!path) return wk_err(WK_ERR_INVALID_ARG, "wk_model_load: path is NULL");
    wk_model_params p = params ? *params : wk_model_default_params();
    wk_model *m = calloc(1, sizeof *m);
    if (!m || !(m->path = dup_n(path, strlen(path)))) {
        free(m);
        return wk_err(WK_ERR_NOMEM, "wk_model_load: out of memory");
    }
    wk_status st;
    wk_gguf *g = NULL;
    wk_gguf_status gs = wk_gguf_open(path, &g);
    if (gs != WK_GGUF_OK) {
        st = wk_err(gs == WK_GGUF_E_IO ? WK_ERR_IO : gs == WK_GGUF_E_NOMEM ? WK_ERR_NOMEM : WK_ERR_FORMAT, "%s",
                    wk_gguf_last_error());
        goto fail;
    }
    m->gguf = g;
    const char *arch;
    uint64_t alen;
    gs = wk_gguf_get_str(g, "general.architecture", &arch, &alen);
    if (gs != WK_GGUF_OK) {
        st = wk_err(WK_ERR_FORMAT, "%s: general.architecture is %s", path,
                    gs == WK_GGUF_E_NOTFOUND ? "missing" : "not a string");
        goto fail;
    }
    const arch_entry *ae = NULL;
    for (size_t i = 0; i < sizeof k_archs / sizeof k_archs[0]; i++)
        if (strlen(k_archs[i].name) == alen && !memcmp(k_archs[i].name, arch, alen)) ae = &k_archs[i];
    if (!ae) {
        st = wk_err(WK_ERR_UNSUPPORTED, "%s: unsupported architecture '%.*s' (supported: llama, qwen2, qwen3, gemma3, phi3)",
                    path, (int)(alen > 64 ? 64 : alen), arch);
        goto fail;
    }
    m->hp.arch = ae->arch;
    snprintf(m->hp.arch_name, sizeof m->hp.arch_name, "%s", ae->name);

    if ((st = wk_vocab_load_gguf(g, &m->vocab)) != WK_OK) {
        st = wk_err(st, "%s: %s", path, wk_last_error());
        goto fail;
    }
    const char *tmpl;
    uint64_t tlen;
    if (wk_gguf_get_str(g, "tokenizer.chat_template", &tmpl, &tlen) == WK_GGUF_OK &&
        !(m->chat_template = dup_n(tmpl, (size_t)tlen))) {
        st = wk_err(WK_ERR_NOMEM, "wk_model_load: out of memory");
        goto fail;
    }
    if ((st = common_hparams(m)) != WK_OK || (st = ae->hparams(m)) != WK_OK) goto fail;
    if (m->hp.n_vocab <= 0 || m->hp.n_vocab > (1 << 24)) {
        st = wk_err(WK_ERR_FORMAT, "%s: vocabulary size %lld is not usable", path, (long long)m->hp.n_vocab);
        goto fail;
    }
    if (!p.vocab_only) {
        wk_ctx_params cp = {.no_alloc = true};
        if ((st = wk_ctx_create(&cp, &m->wctx)) != WK_OK) goto fail;
        m->layers = calloc((size_t)m->hp.n_layer, sizeof *m->layers);
        if (!m->layers) {
            st = wk_err(WK_ERR_NOMEM, "wk_model_load: out of memory");
            goto fail;
        }
        if ((st = ae->tensors(m)) != WK_OK) goto fail;
    }
    *out = m;
    return WK_OK;
fail:
    wk_model_free(m);
    return st;
}

void wk_model_free(wk_model *m) {
    if (!m) return;
    wk_model_free_lora(m);
    wk_ctx_free(m->wctx);
    free(m->layers);
    wk_vocab_free(m->vocab);
    wk_gguf_free(m->gguf);
    free(m->chat_template);
    free(m->path);
    free(m);
}

const char *wk_model_arch(const wk_model *m) { return m ? m->hp.arch_name : NULL; }
int32_t wk_model_n_vocab(const wk_model *m) { return m ? (int32_t)m->hp.n_vocab : 0; }
int32_t wk_model_n_ctx_train(const wk_model *m) { return m ? (int32_t)m->hp.n_ctx_train : 0; }
int32_t wk_model_n_embd(const wk_model *m) { return m ? (int32_t)m->hp.n_embd : 0; }
int32_t wk_model_n_layer(const wk_model *m) { return m ? (int32_t)m->hp.n_layer : 0; }
const wk_vocab *wk_model_vocab(const wk_model *m) { return m ? m->vocab : NULL; }
const char *wk_model_chat_template(const wk_model *m) { return m ? m->chat_template : NULL; }

wk_status wk_model_meta_str(const wk_model *m, const char *key, char *buf, size_t cap, size_t *n_out) {
    if (!m || !key) return wk_err(WK_ERR_INVALID_ARG, "wk_model_meta_str: NULL model or key");
    const char *s;
    uint64_t len;
    wk_gguf_status gs = wk_gguf_get_str(m->gguf, key, &s, &len);
    if (gs != WK_GGUF_OK)
        return wk_err(WK_ERR_INVALID_ARG, "%s: key %s is %s", m->path, key,
                      gs == WK_GGUF_E_NOTFOUND ? "missing" : "not a string");
    if (n_out) *n_out = (size_t)len;
    if (!buf || cap < len + 1) {
        if (!buf && cap == 0) return WK_OK;
        return wk_err(WK_ERR_INVALID_ARG, "wk_model_meta_str: buffer of %zu bytes, %llu needed", cap,
                      (unsigned long long)len + 1);
    }
    memcpy(buf, s, (size_t)len);
    buf[len] = 0;
    return WK_OK;
}
