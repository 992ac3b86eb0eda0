/* lora.c — LoRA adapters applied at run time (formats.md §6): an adapter GGUF holds, for
 * each adapted base matrix W ([n_in, n_out]), A ([n_in, r]) and B ([r, n_out]); every
 * graph built afterwards computes W x + s (B (A x)) with s = scale * alpha / r (scale
 * alone when alpha is 0). The tensors stay in the adapter's mapping, like the base weights.
 * Adapters on token_embd (stored "flipped" by mainline) are refused rather than guessed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "model.h"
#include "src/core/error.h"

wk_tensor *wk_model_weight(const wk_model *m, const char *name) {
    if (!m || !name) return NULL;
    const wk_tensor *top[] = {m->tok_embd, m->output};
    for (size_t i = 0; i < sizeof top / sizeof *top; i++)
        if (top[i] && !strcmp(wk_tensor_name(top[i]), name)) return (wk_tensor *)top[i];
    for (int64_t il = 0; il < m->hp.n_layer && m->layers; il++) {
        const wk_layer *l = &m->layers[il];
        wk_tensor *const w[] = {l->wq, l->wk, l->wv, l->wqkv, l->wo, l->ffn_gate, l->ffn_up, l->ffn_down};
        for (size_t i = 0; i < sizeof w / sizeof *w; i++)
            if (w[i] && !strcmp(wk_tensor_name(w[i]), name)) return w[i];
    }
    return NULL;
}

void wk_model_free_lora(wk_model *m) {
    if (!m) return;
    wk_ctx_free(m->lora_ctx);
    for (int i = 0; i < m->n_lora_files; i++) wk_gguf_free(m->lora_files[i]);
    free(m->lora_files);
    free(m->lora);
    m->lora_ctx = NULL, m->lora_files = NULL, m->lora = NULL;
    m->n_lora = m->n_lora_files = 0;
}

static bool str_is(const wk_gguf *g, const char *key, const char *want) {
    const char *s = NULL;
    uint64_t n = 0;
    return wk_gguf_get_str(g, key, &s, &n) == WK_GGUF_OK && n == strlen(want) && !memcmp(s, want, n);
}

static bool ends_with(const char *s, const char *suffix) {
    const size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* a tensor over the adapter's mapping, or NULL with an error */
static wk_tensor *map_tensor(wk_model *m, const char *path, const wk_gguf_tensor *d) {
    const wk_type t = (wk_type)d->type;
    if (t != WK_TYPE_F32 && t != WK_TYPE_F16 && t != WK_TYPE_BF16) {
        wk_err(WK_ERR_UNSUPPORTED, "%s: %s is %s; adapters must be f32, f16 or bf16", path, d->name,
               wk_gguf_ggml_type_name(d->type) ? wk_gguf_ggml_type_name(d->type) : "?");
        return NULL;
    }
    if (d->n_dims > 2 || d->ne[2] != 1 || d->ne[3] != 1) {
        wk_err(WK_ERR_UNSUPPORTED, "%s: %s is not a matrix", path, d->name);
        return NULL;
    }
    const int64_t ne[4] = {d->ne[0], d->ne[1], 1, 1};
    wk_tensor *x = wk_new_tensor(m->lora_ctx, t, 4, ne);
    if (!x) return NULL;
    if (wk_tensor_nbytes(x) != d->nbytes) {
        wk_err(WK_ERR_FORMAT, "%s: %s: %llu bytes in the file, %zu expected", path, d->name,
               (unsigned long long)d->nbytes, wk_tensor_nbytes(x));
        return NULL;
    }
    wk_tensor_set_data(x, (void *)d->data);
    wk_tensor_set_name(x, d->name);
    return x;
}

wk_status wk_model_add_lora(wk_model *m, const char *path, float scale) {
    if (!m || !path) return wk_err(WK_ERR_INVALID_ARG, "wk_model_add_lora: NULL argument");
    if (!(scale == scale) || scale > 1e6f || scale < -1e6f)
        return wk_err(WK_ERR_INVALID_ARG, "wk_model_add_lora: scale %g is not a usable number", (double)scale);
    wk_gguf *g = NULL;
    if (wk_gguf_open(path, &g) != WK_GGUF_OK) return wk_err(WK_ERR_FORMAT, "%s", wk_gguf_last_error());
    wk_status st = WK_OK;
    wk_lora_pair *pairs = NULL;
    int np = 0;
    if (!str_is(g, "general.type", "adapter") || !str_is(g, "adapter.type", "lora")) {
        st = wk_err(WK_ERR_FORMAT, "%s is not a LoRA adapter (general.type \"adapter\", adapter.type \"lora\")", path);
        goto fail;
    }
    if (!str_is(g, "general.architecture", m->hp.arch_name)) {
        st = wk_err(WK_ERR_FORMAT, "%s: the adapter's general.architecture is not the model's (%s)", path,
                    m->hp.arch_name);
        goto fail;
    }
    float alpha = 0.0f;
    if (wk_gguf_find_key(g, "adapter.lora.alpha") >= 0 && wk_gguf_get_f32(g, "adapter.lora.alpha", &alpha) != WK_GGUF_OK) {
        st = wk_err(WK_ERR_FORMAT, "%s: adapter.lora.alpha is not f32", path);
        goto fail;
    }
    if (!m->lora_ctx) {
        wk_ctx_params cp = {.no_alloc = true};
        if ((st = wk_ctx_create(&cp, &m->lora_ctx)) != WK_OK) goto fail;
    }
    const uint64_t nt = wk_gguf_n_tensors(g);
    pairs = calloc((size_t)(nt ? nt : 1), sizeof *pairs);
    if (!pairs) {
        st = wk_err(WK_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (uint64_t i = 0; i < nt; i++) {
        const wk_gguf_tensor *d = wk_gguf_tensor_at(g, i);
        if (ends_with(d->name, ".lora_b")) continue; /* found from its lora_a */
        if (!ends_with(d->name, ".lora_a")) {
            st = wk_err(WK_ERR_FORMAT, "%s: tensor %s is neither a .lora_a nor a .lora_b", path, d->name);
            goto fail;
        }
        char base[WK_GGUF_MAX_NAME + 8], bname[WK_GGUF_MAX_NAME + 16];
        snprintf(base, sizeof base, "%.*s", (int)(strlen(d->name) - 7), d->name);
        snprintf(bname, sizeof bname, "%s.lora_b", base);
        const int64_t ib = wk_gguf_find_tensor(g, bname);
        if (ib < 0) {
            st = wk_err(WK_ERR_FORMAT, "%s: %s has no partner %s", path, d->name, bname);
            goto fail;
        }
        const wk_gguf_tensor *e = wk_gguf_tensor_at(g, (uint64_t)ib);
        if (!strcmp(base, "token_embd.weight")) {
            st = wk_err(WK_ERR_UNSUPPORTED, "%s: adapters on token_embd.weight are not supported", path);
            goto fail;
        }
        wk_tensor *w = wk_model_weight(m, base);
        if (!w) {
            st = wk_err(WK_ERR_FORMAT, "%s: %s adapts %s, which is not a matrix of this model", path, d->name, base);
            goto fail;
        }
        if (d->ne[0] != wk_tensor_ne(w, 0) || e->ne[1] != wk_tensor_ne(w, 1) || d->ne[1] != e->ne[0] || d->ne[1] < 1) {
            st = wk_err(WK_ERR_FORMAT,
                        "%s: %s: lora_a [%lld, %lld] and lora_b [%lld, %lld] do not fit %s [%lld, %lld] "
                        "(expected a [n_in, r], b [r, n_out])",
                        path, base, (long long)d->ne[0], (long long)d->ne[1], (long long)e->ne[0], (long long)e->ne[1],
                        base, (long long)wk_tensor_ne(w, 0), (long long)wk_tensor_ne(w, 1));
            goto fail;
        }
        wk_tensor *a = map_tensor(m, path, d), *b = a ? map_tensor(m, path, e) : NULL;
        if (!b) {
            st = WK_ERR_FORMAT;
            goto fail;
        }
        const float rank = (float)e->ne[0];
        pairs[np++] = (wk_lora_pair){w, a, b, alpha != 0.0f ? scale * alpha / rank : scale};
    }
    for (uint64_t i = 0; i < nt; i++) { /* every lora_b belongs to a lora_a */
        const wk_gguf_tensor *d = wk_gguf_tensor_at(g, i);
        char aname[WK_GGUF_MAX_NAME + 16];
        if (!ends_with(d->name, ".lora_b")) continue;
        snprintf(aname, sizeof aname, "%.*s.lora_a", (int)(strlen(d->name) - 7), d->name);
        if (wk_gguf_find_tensor(g, aname) < 0) {
            st = wk_err(WK_ERR_FORMAT, "%s: %s has no partner %s", path, d->name, aname);
            goto fail;
        }
    }
    if (np == 0) {
        st = wk_err(WK_ERR_FORMAT, "%s: the adapter has no lora_a/lora_b pairs", path);
        goto fail;
    }
    wk_lora_pair *all = realloc(m->lora, (size_t)(m->n_lora + np) * sizeof *all);
    void **files = realloc(m->lora_files, (size_t)(m->n_lora_files + 1) * sizeof *files);
    if (all) m->lora = all;
    if (files) m->lora_files = files;
    if (!all || !files) {
        st = wk_err(WK_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    memcpy(m->lora + m->n_lora, pairs, (size_t)np * sizeof *pairs);
    m->n_lora += np;
    m->lora_files[m->n_lora_files++] = g;
    free(pairs);
    return WK_OK;
fail:
    free(pairs);
    wk_gguf_free(g);
    return st;
}

int wk_model_n_lora(const wk_model *m) { return m ? m->n_lora : 0; }
