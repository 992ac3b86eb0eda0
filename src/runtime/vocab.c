/* vocab.c — builds a wk_vocab from a wk_vocab_desc: copies every token and merge text into
 * one arena, indexes both with open-addressing hash tables, and derives what tokenizing
 * needs (special tokens longest first, SPM byte-fallback ids, end-of-generation set).
 * Everything from the description is validated here so the tokenizers can trust it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer_internal.h"

/* ---- hashing ------------------------------------------------------------- */

uint64_t tok_hash(const char *s, size_t n) {  /* FNV-1a, 64-bit */
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static wk_status index_alloc(tok_index *ix, int32_t n) {
    uint64_t cap = 16;
    while (cap < (uint64_t)n * 2) cap <<= 1;
    ix->slots = calloc(cap, sizeof *ix->slots);
    if (!ix->slots) return wk_err(WK_ERR_NOMEM, "vocab: out of memory for a %llu-slot index",
                                  (unsigned long long)cap);
    ix->mask = cap - 1;
    return WK_OK;
}

wk_token vocab_find(const wk_vocab *v, const char *s, size_t n) {
    for (uint64_t h = tok_hash(s, n) & v->tok_idx.mask;; h = (h + 1) & v->tok_idx.mask) {
        int32_t e = v->tok_idx.slots[h];
        if (e == 0) return WK_TOKEN_NULL;
        int32_t id = e - 1;
        if (v->tok_len[id] == n && memcmp(tok_text(v, id), s, n) == 0) return id;
    }
}

/* The merge key is the pair (left, right); its text is "left right" with the split recorded,
 * so "a b c" split as ("a", "b c") never answers for ("a b", "c"). */
int32_t vocab_merge_rank(const wk_vocab *v, const char *l, size_t nl, const char *r, size_t nr) {
    if (v->n_merges == 0) return -1;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < nl; i++) h = (h ^ (unsigned char)l[i]) * 1099511628211ull;
    h = (h ^ (unsigned char)' ') * 1099511628211ull;
    for (size_t i = 0; i < nr; i++) h = (h ^ (unsigned char)r[i]) * 1099511628211ull;
    for (h &= v->mrg_idx.mask;; h = (h + 1) & v->mrg_idx.mask) {
        int32_t e = v->mrg_idx.slots[h];
        if (e == 0) return -1;
        int32_t m = e - 1;
        const char *t = v->arena + v->mrg_off[m];
        if (v->mrg_left[m] == nl && v->mrg_len[m] == nl + 1 + nr && memcmp(t, l, nl) == 0 &&
            memcmp(t + nl + 1, r, nr) == 0)
            return m;
    }
}

/* ---- UTF-8 ----------------------------------------------------------------- */

int utf8_lead_len(unsigned char c) {
    static const int len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return len[c >> 4];
}

int utf8_seq_len(const unsigned char *s, size_t n) {
    if (n == 0) return 0;
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int k;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) k = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) k = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) k = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if ((size_t)k > n) return 0;
    for (int i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return k;
}

/* ---- building ---------------------------------------------------------------- */

void wk_vocab_desc_init(wk_vocab_desc *d) {
    memset(d, 0, sizeof *d);
    d->type = WK_VOCAB_SPM;
    d->bos = d->eos = d->unk = d->pad = d->eot = WK_TOKEN_DEFAULT;
    d->add_bos = d->add_eos = d->add_space_prefix = -1;
}

void wk_vocab_free(wk_vocab *v) {
    if (!v) return;
    bpe_release(v);
    free(v->arena);
    free(v->tok_off);
    free(v->tok_len);
    free(v->scores);
    free(v->types);
    free(v->tok_idx.slots);
    free(v->mrg_off);
    free(v->mrg_left);
    free(v->mrg_len);
    free(v->mrg_idx.slots);
    free(v->eog);
    free(v->special);
    free(v);
}

static wk_status set_id(const char *what, wk_token given, wk_token dflt, int32_t n, wk_token *dst) {
    if (given == WK_TOKEN_DEFAULT) {
        *dst = (dflt >= 0 && dflt < n) ? dflt : WK_TOKEN_NULL;  /* a tiny vocab has no id 11 */
        return WK_OK;
    }
    if (given != WK_TOKEN_NULL && (given < 0 || given >= n))
        return wk_err(WK_ERR_INVALID_ARG, "vocab: %s token id %d is outside [0, %d)", what,
                      (int)given, (int)n);
    *dst = given;
    return WK_OK;
}

typedef struct {
    uint32_t len;
    int32_t id;
} special_key;

static int cmp_special(const void *a, const void *b) {
    const special_key *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);  /* equal lengths: lower id first (stable order) */
}

/* Texts llama.cpp treats as end of generation (formats.md §5.1); they are forced to CONTROL. */
static const char *const k_eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
    "<EOT>", "_<EOT>", "<|end_of_text|>", "<|return|>", "<|call|>",
    "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>",
};
/* eot auto-detection when the file names none, in this order. */
static const char *const k_eot_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "_<EOT>",
    "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>",
};

static wk_status derive_tables(wk_vocab *v) {
    int32_t n = v->n_tokens;
    v->eog = calloc((size_t)n, 1);
    if (!v->eog) return wk_err(WK_ERR_NOMEM, "vocab: out of memory");
    if (v->eot == WK_TOKEN_NULL) {
        for (size_t i = 0; i < sizeof k_eot_texts / sizeof *k_eot_texts && v->eot < 0; i++)
            v->eot = vocab_find(v, k_eot_texts[i], strlen(k_eot_texts[i]));
    }
    for (size_t i = 0; i < sizeof k_eog_texts / sizeof *k_eog_texts; i++) {
        wk_token id = vocab_find(v, k_eog_texts[i], strlen(k_eog_texts[i]));
        if (id >= 0) {
            v->eog[id] = 1;
            v->types[id] = WK_TOKEN_TYPE_CONTROL;
        }
    }
    if (v->eos >= 0) v->eog[v->eos] = 1;
    if (v->eot >= 0) v->eog[v->eot] = 1;

    int32_t ns = 0;
    for (int32_t i = 0; i < n; i++) {
        uint8_t t = v->types[i];
        ns += t == WK_TOKEN_TYPE_CONTROL || t == WK_TOKEN_TYPE_USER_DEFINED || t == WK_TOKEN_TYPE_UNKNOWN;
    }
    v->special = malloc(((size_t)ns + 1) * sizeof *v->special);
    special_key *keys = malloc(((size_t)ns + 1) * sizeof *keys);
    if (!v->special || !keys) {
        free(keys);
        return wk_err(WK_ERR_NOMEM, "vocab: out of memory");
    }
    for (int32_t i = 0; i < n; i++) {
        uint8_t t = v->types[i];
        if (t == WK_TOKEN_TYPE_CONTROL || t == WK_TOKEN_TYPE_USER_DEFINED || t == WK_TOKEN_TYPE_UNKNOWN)
            keys[v->n_special++] = (special_key){v->tok_len[i], i};
    }
    qsort(keys, (size_t)v->n_special, sizeof *keys, cmp_special);
    for (int32_t i = 0; i < v->n_special; i++) v->special[i] = keys[i].id;
    free(keys);

    for (int b = 0; b < 256; b++) {
        static const char hex[] = "0123456789ABCDEF";
        char buf[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
        char one = (char)b;
        v->byte_tok[b] = vocab_find(v, buf, 6);
        if (v->byte_tok[b] < 0) v->byte_tok[b] = vocab_find(v, &one, 1);
    }
    return WK_OK;
}

static wk_status copy_strings(wk_vocab *v, const wk_vocab_desc *d) {
    int32_t n = v->n_tokens;
    size_t total = 0;
    char empty[32];
    for (int32_t i = 0; i < n; i++) {
        if (!d->tokens[i]) return wk_err(WK_ERR_INVALID_ARG, "vocab: token %d is NULL", (int)i);
        size_t len = d->token_lens ? d->token_lens[i] : strlen(d->tokens[i]);
        if (len == 0) len = (size_t)snprintf(empty, sizeof empty, "[EMPTY_%d]", (int)i);
        if (len > UINT32_MAX / 2)
            return wk_err(WK_ERR_INVALID_ARG, "vocab: token %d is %zu bytes long", (int)i, len);
        if (!wk_size_add_ok(total, len + 1, &total)) return wk_err(WK_ERR_INVALID_ARG, "vocab: too large");
    }
    for (int32_t i = 0; i < v->n_merges; i++) {
        if (!d->merges[i]) return wk_err(WK_ERR_INVALID_ARG, "vocab: merge %d is NULL", (int)i);
        size_t len = d->merge_lens ? d->merge_lens[i] : strlen(d->merges[i]);
        if (len > UINT32_MAX / 2)
            return wk_err(WK_ERR_INVALID_ARG, "vocab: merge %d is %zu bytes long", (int)i, len);
        if (!wk_size_add_ok(total, len + 1, &total)) return wk_err(WK_ERR_INVALID_ARG, "vocab: too large");
    }
    v->arena = malloc(total ? total : 1);
    v->tok_off = malloc((size_t)n * sizeof *v->tok_off);
    v->tok_len = malloc((size_t)n * sizeof *v->tok_len);
    if (!v->arena || !v->tok_off || !v->tok_len) return wk_err(WK_ERR_NOMEM, "vocab: out of memory");
    size_t pos = 0;
    for (int32_t i = 0; i < n; i++) {
        size_t len = d->token_lens ? d->token_lens[i] : strlen(d->tokens[i]);
        const char *s = d->tokens[i];
        if (len == 0) len = (size_t)snprintf(empty, sizeof empty, "[EMPTY_%d]", (int)i), s = empty;
        memcpy(v->arena + pos, s, len);
        v->arena[pos + len] = 0;
        v->tok_off[i] = pos;
        v->tok_len[i] = (uint32_t)len;
        pos += len + 1;
    }
    if (v->n_merges > 0) {
        size_t m = (size_t)v->n_merges;
        v->mrg_off = malloc(m * sizeof *v->mrg_off);
        v->mrg_left = malloc(m * sizeof *v->mrg_left);
        v->mrg_len = malloc(m * sizeof *v->mrg_len);
        if (!v->mrg_off || !v->mrg_left || !v->mrg_len) return wk_err(WK_ERR_NOMEM, "vocab: out of memory");
    }
    for (int32_t i = 0; i < v->n_merges; i++) {
        size_t len = d->merge_lens ? d->merge_lens[i] : strlen(d->merges[i]);
        const char *sp = len > 1 ? memchr(d->merges[i] + 1, ' ', len - 1) : NULL;
        if (!sp) return wk_err(WK_ERR_INVALID_ARG, "vocab: merge %d has no \"left right\" separator", (int)i);
        memcpy(v->arena + pos, d->merges[i], len);
        v->arena[pos + len] = 0;
        v->mrg_off[i] = pos;
        v->mrg_left[i] = (uint32_t)(sp - d->merges[i]);
        v->mrg_len[i] = (uint32_t)len;
        pos += len + 1;
    }
    return WK_OK;
}

static wk_status build_indexes(wk_vocab *v) {
    wk_status st = index_alloc(&v->tok_idx, v->n_tokens);
    if (st) return st;
    for (int32_t i = 0; i < v->n_tokens; i++) {
        const char *s = tok_text(v, i);
        uint64_t h = tok_hash(s, v->tok_len[i]) & v->tok_idx.mask;
        for (;; h = (h + 1) & v->tok_idx.mask) {
            int32_t e = v->tok_idx.slots[h];
            if (e == 0) break;
            if (v->tok_len[e - 1] == v->tok_len[i] && memcmp(tok_text(v, e - 1), s, v->tok_len[i]) == 0)
                return wk_err(WK_ERR_INVALID_ARG, "vocab: tokens %d and %d have the same text '%.40s'",
                              (int)(e - 1), (int)i, s);
        }
        v->tok_idx.slots[h] = i + 1;
    }
    if (v->n_merges == 0) return WK_OK;
    st = index_alloc(&v->mrg_idx, v->n_merges);
    if (st) return st;
    for (int32_t i = 0; i < v->n_merges; i++) {
        const char *s = v->arena + v->mrg_off[i];
        uint32_t nl = v->mrg_left[i];
        if (vocab_merge_rank(v, s, nl, s + nl + 1, v->mrg_len[i] - nl - 1) >= 0) continue;  /* first wins */
        uint64_t h = tok_hash(s, v->mrg_len[i]) & v->mrg_idx.mask;
        while (v->mrg_idx.slots[h]) h = (h + 1) & v->mrg_idx.mask;
        v->mrg_idx.slots[h] = i + 1;
    }
    return WK_OK;
}

static wk_status create(const wk_vocab_desc *d, wk_vocab *v) {
    if (d->type != WK_VOCAB_SPM && d->type != WK_VOCAB_BPE && d->type != WK_VOCAB_WPM)
        return wk_err(WK_ERR_UNSUPPORTED, "vocab: tokenizer type %d is not supported (SPM, BPE or WPM)", (int)d->type);
    if (d->n_tokens <= 0 || !d->tokens)
        return wk_err(WK_ERR_INVALID_ARG, "vocab: %d tokens", (int)d->n_tokens);
    if (d->n_merges < 0 || (d->n_merges > 0 && !d->merges))
        return wk_err(WK_ERR_INVALID_ARG, "vocab: %d merges", (int)d->n_merges);
    if (d->type == WK_VOCAB_BPE && d->n_merges == 0)
        return wk_err(WK_ERR_INVALID_ARG, "vocab: a BPE vocabulary needs merges");
    v->type = d->type;
    v->n_tokens = d->n_tokens;
    v->n_merges = d->type == WK_VOCAB_BPE ? d->n_merges : 0;
    size_t n = (size_t)d->n_tokens;
    v->scores = calloc(n, sizeof *v->scores);
    v->types = malloc(n);
    if (!v->scores || !v->types) return wk_err(WK_ERR_NOMEM, "vocab: out of memory");
    for (size_t i = 0; i < n; i++) {
        if (d->scores) v->scores[i] = d->scores[i];
        int32_t t = d->token_types ? d->token_types[i] : WK_TOKEN_TYPE_NORMAL;
        if (t < 0 || t > WK_TOKEN_TYPE_BYTE)
            return wk_err(WK_ERR_INVALID_ARG, "vocab: token %zu has type %d (valid: 0..6)", i, (int)t);
        v->types[i] = (uint8_t)t;
    }
    wk_status st = copy_strings(v, d);
    if (!st) st = build_indexes(v);
    if (st) return st;

    bool spm = d->type == WK_VOCAB_SPM;
    if ((st = set_id("bos", d->bos, spm ? 1 : d->type == WK_VOCAB_WPM ? -1 : 11, d->n_tokens, &v->bos)) ||
        (st = set_id("eos", d->eos, spm ? 2 : d->type == WK_VOCAB_WPM ? -1 : 11, d->n_tokens, &v->eos)) ||
        (st = set_id("unk", d->unk, spm ? 0 : -1, d->n_tokens, &v->unk)) ||
        (st = set_id("pad", d->pad, -1, d->n_tokens, &v->pad)) ||
        (st = set_id("eot", d->eot, -1, d->n_tokens, &v->eot)))
        return st;
    v->add_space_prefix = spm;
    v->add_bos = spm;
    v->add_eos = false;
    v->clean_spaces = !spm;
    if (d->type == WK_VOCAB_WPM) { /* [CLS] text [SEP] */
        v->add_bos = v->bos >= 0, v->add_eos = v->eos >= 0, v->add_space_prefix = false;
    } else if (!spm) {
        const char *pre = d->pre ? d->pre : "default";
        if ((st = bpe_setup(v, pre, strlen(pre)))) return st;  /* may set add_bos, clean_spaces */
    }
    if (d->add_bos >= 0) v->add_bos = d->add_bos != 0;
    if (d->add_eos >= 0) v->add_eos = d->add_eos != 0;
    if (d->add_space_prefix >= 0) v->add_space_prefix = d->add_space_prefix != 0;
    return derive_tables(v);
}

wk_status wk_vocab_create(const wk_vocab_desc *d, wk_vocab **out) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "wk_vocab_create: out is NULL");
    *out = NULL;
    if (!d) return wk_err(WK_ERR_INVALID_ARG, "wk_vocab_create: desc is NULL");
    wk_vocab *v = calloc(1, sizeof *v);
    if (!v) return wk_err(WK_ERR_NOMEM, "vocab: out of memory");
    wk_status st = create(d, v);
    if (st) {
        wk_vocab_free(v);
        return st;
    }
    *out = v;
    return WK_OK;
}

/* ---- accessors --------------------------------------------------------------- */

wk_vocab_type wk_vocab_get_type(const wk_vocab *v) { return v->type; }
int32_t wk_vocab_n_tokens(const wk_vocab *v) { return v->n_tokens; }
wk_token wk_vocab_bos(const wk_vocab *v) { return v->bos; }
wk_token wk_vocab_eos(const wk_vocab *v) { return v->eos; }
wk_token wk_vocab_eot(const wk_vocab *v) { return v->eot; }
wk_token wk_vocab_unk(const wk_vocab *v) { return v->unk; }
wk_token wk_vocab_pad(const wk_vocab *v) { return v->pad; }
bool wk_vocab_add_bos(const wk_vocab *v) { return v->add_bos; }
bool wk_vocab_add_eos(const wk_vocab *v) { return v->add_eos; }

const char *wk_vocab_token_text(const wk_vocab *v, wk_token id, size_t *len) {
    if (!v || id < 0 || id >= v->n_tokens) return NULL;
    if (len) *len = v->tok_len[id];
    return tok_text(v, id);
}

wk_token_type wk_vocab_token_type(const wk_vocab *v, wk_token id) {
    if (!v || id < 0 || id >= v->n_tokens) return WK_TOKEN_TYPE_UNDEFINED;
    return (wk_token_type)v->types[id];
}

wk_token wk_vocab_find(const wk_vocab *v, const char *text, size_t len) {
    if (!v || (!text && len)) return WK_TOKEN_NULL;
    return vocab_find(v, text ? text : "", len);
}

bool wk_vocab_is_eog(const wk_vocab *v, wk_token id) {
    return v && id >= 0 && id < v->n_tokens && v->eog[id];
}
