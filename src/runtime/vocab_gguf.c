/* vocab_gguf.c — wk_vocab_load_gguf: reads the tokenizer.ggml.* keys (formats.md §3.3) of an
 * open GGUF file into a wk_vocab_desc and hands it to wk_vocab_create. Every key is read
 * with its exact type (a wrong type is an error, never a conversion); the strings stay in
 * the mapped file until wk_vocab_create has copied them. */
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "tokenizer_internal.h"

static wk_status gguf_fail(const char *key, wk_gguf_status s) {
    return wk_err(s == WK_GGUF_E_NOMEM ? WK_ERR_NOMEM : WK_ERR_FORMAT, "vocab: %s: %s (%s)", key,
                  wk_gguf_status_name(s), wk_gguf_last_error());
}

/* An optional u32 id: absent keeps *dst; out of range is ignored, as llama.cpp does. */
static wk_status get_id(const wk_gguf *g, const char *key, int32_t n, wk_token *dst) {
    uint32_t id;
    wk_gguf_status s = wk_gguf_get_u32(g, key, &id);
    if (s == WK_GGUF_E_NOTFOUND) return WK_OK;
    if (s) return gguf_fail(key, s);
    if (id < (uint32_t)n) *dst = (wk_token)id;
    return WK_OK;
}

static wk_status get_flag(const wk_gguf *g, const char *key, int *dst) {
    int b;
    wk_gguf_status s = wk_gguf_get_bool(g, key, &b);
    if (s == WK_GGUF_E_NOTFOUND) return WK_OK;
    if (s) return gguf_fail(key, s);
    *dst = b != 0;
    return WK_OK;
}

/* A string array: pointers into the file and lengths (caller frees both arrays). */
static wk_status get_strings(const wk_gguf *g, const char *key, int32_t *n, const char ***strs,
                             size_t **lens) {
    wk_gguf_type et;
    uint64_t count;
    wk_gguf_status s = wk_gguf_get_arr_info(g, key, &et, &count);
    if (s) return gguf_fail(key, s);
    if (et != WK_GGUF_STRING)
        return wk_err(WK_ERR_FORMAT, "vocab: %s is an array of %s, not of STRING", key, wk_gguf_type_name(et));
    if (count > INT32_MAX) return wk_err(WK_ERR_FORMAT, "vocab: %s has %llu entries", key, (unsigned long long)count);
    *strs = malloc((count ? count : 1) * sizeof **strs);
    *lens = malloc((count ? count : 1) * sizeof **lens);
    if (!*strs || !*lens) return wk_err(WK_ERR_NOMEM, "vocab: out of memory");
    for (uint64_t i = 0; i < count; i++) {
        uint64_t len;
        if ((s = wk_gguf_get_arr_str(g, key, i, &(*strs)[i], &len))) return gguf_fail(key, s);
        (*lens)[i] = (size_t)len;
    }
    *n = (int32_t)count;
    return WK_OK;
}

/* An optional numeric array of exactly elem_type with at least n entries, copied out. */
static wk_status get_numbers(const wk_gguf *g, const char *key, wk_gguf_type elem_type, int32_t n,
                             void **out) {
    wk_gguf_type et;
    uint64_t count;
    wk_gguf_status s = wk_gguf_get_arr_info(g, key, &et, &count);
    if (s == WK_GGUF_E_NOTFOUND) return WK_OK;
    if (s) return gguf_fail(key, s);
    if (et != elem_type)
        return wk_err(WK_ERR_FORMAT, "vocab: %s is an array of %s, expected %s", key,
                      wk_gguf_type_name(et), wk_gguf_type_name(elem_type));
    if (count < (uint64_t)n)
        return wk_err(WK_ERR_FORMAT, "vocab: %s has %llu entries for %d tokens", key,
                      (unsigned long long)count, (int)n);
    const void *data;
    if ((s = wk_gguf_get_arr_data(g, key, elem_type, &data, &count))) return gguf_fail(key, s);
    *out = malloc((size_t)n * 4);  /* f32 and i32: 4 bytes; the file is little-endian */
    if (!*out) return wk_err(WK_ERR_NOMEM, "vocab: out of memory");
    memcpy(*out, data, (size_t)n * 4);
    return WK_OK;
}

wk_status wk_vocab_load_gguf(const void *gguf, wk_vocab **out) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "wk_vocab_load_gguf: out is NULL");
    *out = NULL;
    if (!gguf) return wk_err(WK_ERR_INVALID_ARG, "wk_vocab_load_gguf: gguf is NULL");
    const wk_gguf *g = gguf;
    wk_vocab_desc d;
    wk_vocab_desc_init(&d);
    const char **tokens = NULL, **merges = NULL;
    size_t *tok_lens = NULL, *mrg_lens = NULL;
    void *scores = NULL, *types = NULL;
    char pre[128] = "default";

    const char *model;
    uint64_t model_len;
    wk_gguf_status gs = wk_gguf_get_str(g, "tokenizer.ggml.model", &model, &model_len);
    wk_status st = WK_OK;
    if (gs) {
        st = gguf_fail("tokenizer.ggml.model", gs);
        goto done;
    }
    if (model_len == 5 && memcmp(model, "llama", 5) == 0) d.type = WK_VOCAB_SPM;
    else if (model_len == 4 && memcmp(model, "gpt2", 4) == 0) d.type = WK_VOCAB_BPE;
    else if (model_len == 4 && memcmp(model, "bert", 4) == 0) d.type = WK_VOCAB_WPM;
    else {
        st = wk_err(WK_ERR_UNSUPPORTED, "vocab: tokenizer model '%.*s' is not supported (llama, gpt2, bert)",
                    (int)(model_len > 64 ? 64 : model_len), model);
        goto done;
    }
    const char *p;
    uint64_t plen;
    gs = wk_gguf_get_str(g, "tokenizer.ggml.pre", &p, &plen);
    if (gs == WK_GGUF_OK) {
        if (plen >= sizeof pre) {
            st = wk_err(WK_ERR_UNSUPPORTED, "vocab: tokenizer.ggml.pre '%.40s...' is not supported", p);
            goto done;
        }
        memcpy(pre, p, plen);
        pre[plen] = 0;
        if (memchr(pre, 0, plen)) {
            st = wk_err(WK_ERR_FORMAT, "vocab: tokenizer.ggml.pre contains a NUL byte");
            goto done;
        }
    } else if (gs != WK_GGUF_E_NOTFOUND) {
        st = gguf_fail("tokenizer.ggml.pre", gs);
        goto done;
    }
    d.pre = pre;

    if ((st = get_strings(g, "tokenizer.ggml.tokens", &d.n_tokens, &tokens, &tok_lens))) goto done;
    d.tokens = tokens;
    d.token_lens = tok_lens;
    if ((st = get_numbers(g, "tokenizer.ggml.scores", WK_GGUF_FLOAT32, d.n_tokens, &scores))) goto done;
    if ((st = get_numbers(g, "tokenizer.ggml.token_type", WK_GGUF_INT32, d.n_tokens, &types))) goto done;
    d.scores = scores;
    d.token_types = types;
    if (d.type == WK_VOCAB_BPE) {
        if ((st = get_strings(g, "tokenizer.ggml.merges", &d.n_merges, &merges, &mrg_lens))) goto done;
        d.merges = merges;
        d.merge_lens = mrg_lens;
    }
    /* ids: keep WK_TOKEN_DEFAULT unless the file names one in range */
    if ((st = get_id(g, "tokenizer.ggml.bos_token_id", d.n_tokens, &d.bos)) ||
        (st = get_id(g, "tokenizer.ggml.eos_token_id", d.n_tokens, &d.eos)) ||
        (st = get_id(g, "tokenizer.ggml.unknown_token_id", d.n_tokens, &d.unk)) ||
        (st = get_id(g, "tokenizer.ggml.padding_token_id", d.n_tokens, &d.pad)) ||
        (st = get_id(g, "tokenizer.ggml.eot_token_id", d.n_tokens, &d.eot)) ||
        /* WordPiece: [CLS] opens and [SEP] closes every text, in the bos/eos roles */
        (d.type == WK_VOCAB_WPM && (st = get_id(g, "tokenizer.ggml.cls_token_id", d.n_tokens, &d.bos))) ||
        (d.type == WK_VOCAB_WPM && (st = get_id(g, "tokenizer.ggml.seperator_token_id", d.n_tokens, &d.eos))) ||
        (st = get_flag(g, "tokenizer.ggml.add_bos_token", &d.add_bos)) ||
        (st = get_flag(g, "tokenizer.ggml.add_eos_token", &d.add_eos)) ||
        (st = get_flag(g, "tokenizer.ggml.add_space_prefix", &d.add_space_prefix)))
        goto done;
    st = wk_vocab_create(&d, out);
done:
    free(tokens);
    free(tok_lens);
    free(merges);
    free(mrg_lens);
    free(scores);
    free(types);
    return st;
}
