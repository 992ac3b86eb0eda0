/* tokenizer.c — wk_tokenize and its inverse (formats.md §5.2-5.3). Special tokens are cut
 * out of the raw text first (longest text first); the raw fragments between them go to the
 * SPM score-ordered merge (here) or the byte-level BPE (tokenizer_bpe.c). Scratch memory is
 * per call, so one vocabulary can serve many threads at once. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer_internal.h"

/* Texts longer than this are refused: symbol indices stay int32 with room for escaping. */
#define MAX_TEXT ((size_t)1 << 28)

wk_status tok_out_push(tok_out *o, wk_token id) {
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 256;
        wk_token *ids = realloc(o->ids, cap * sizeof *ids);
        if (!ids) return wk_err(WK_ERR_NOMEM, "tokenize: out of memory");
        o->ids = ids, o->cap = cap;
    }
    o->ids[o->n++] = id;
    return WK_OK;
}

/* ---- special-token partition (§5.2 step 1) ------------------------------------------ */

typedef struct {
    wk_token id;       /* >= 0: a special token; WK_TOKEN_NULL: raw text */
    size_t off, len;   /* raw text span */
} fragment;

typedef struct {
    fragment *f;
    size_t n, cap;
} frag_list;

static wk_status frag_push(frag_list *l, fragment f) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        fragment *p = realloc(l->f, cap * sizeof *p);
        if (!p) return wk_err(WK_ERR_NOMEM, "tokenize: out of memory");
        l->f = p, l->cap = cap;
    }
    l->f[l->n++] = f;
    return WK_OK;
}

static const char *find_bytes(const char *hay, size_t n, const char *needle, size_t k) {
    if (k == 0 || k > n) return NULL;
    const char *end = hay + (n - k);
    for (const char *p = hay; p <= end; p++) {
        p = memchr(p, needle[0], (size_t)(end - p) + 1);
        if (!p) return NULL;
        if (memcmp(p, needle, k) == 0) return p;
    }
    return NULL;
}

/* Splits every raw fragment at each occurrence of each special token, longest token first.
 * Each pass rebuilds the list, so the cost is (specials x fragments), never quadratic in
 * the number of occurrences. */
static wk_status partition(const wk_vocab *v, const char *text, size_t len, bool parse_special,
                           frag_list *cur) {
    frag_list next = {0};
    wk_status st = len ? frag_push(cur, (fragment){WK_TOKEN_NULL, 0, len}) : WK_OK;  /* "" -> no ids */
    for (int32_t si = 0; si < v->n_special && !st; si++) {
        wk_token id = v->special[si];
        uint8_t t = v->types[id];
        if (!parse_special && t != WK_TOKEN_TYPE_USER_DEFINED) continue;
        const char *tt = tok_text(v, id);
        size_t tl = v->tok_len[id];
        bool found = false;
        for (size_t i = 0; i < cur->n && !found; i++)
            found = cur->f[i].id < 0 && find_bytes(text + cur->f[i].off, cur->f[i].len, tt, tl);
        if (!found) continue;
        next.n = 0;
        for (size_t i = 0; i < cur->n && !st; i++) {
            fragment f = cur->f[i];
            if (f.id >= 0) {
                st = frag_push(&next, f);
                continue;
            }
            const char *p;
            while (!st && (p = find_bytes(text + f.off, f.len, tt, tl))) {
                size_t left = (size_t)(p - (text + f.off));
                if (left) st = frag_push(&next, (fragment){WK_TOKEN_NULL, f.off, left});
                if (!st) st = frag_push(&next, (fragment){id, 0, 0});
                f.off += left + tl;
                f.len -= left + tl;
            }
            if (!st && f.len) st = frag_push(&next, f);
        }
        frag_list t2 = *cur;
        *cur = next, next = t2;
    }
    free(next.f);
    return st;
}

/* ---- SPM (§5.3) ---------------------------------------------------------------------- */

typedef struct {
    float score;
    int32_t left, right;
    uint32_t size;
} spm_bigram;

typedef struct {
    int32_t prev, next;
    uint32_t off, n;
} spm_symbol;

typedef struct {
    const wk_vocab *v;
    const char *s;
    spm_symbol *sym;
    spm_bigram *heap;
    size_t n_heap, cap_heap;
} spm_state;

/* Highest score first; ties: leftmost first. */
static bool spm_before(const spm_bigram *x, const spm_bigram *y) {
    return x->score > y->score || (x->score == y->score && x->left < y->left);
}

static wk_status spm_try_pair(spm_state *m, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return WK_OK;
    size_t n = (size_t)m->sym[l].n + m->sym[r].n;
    wk_token id = vocab_find(m->v, m->s + m->sym[l].off, n);  /* l and r are adjacent in s */
    if (id < 0) return WK_OK;
    if (m->n_heap == m->cap_heap) {
        size_t cap = m->cap_heap ? m->cap_heap * 2 : 64;
        spm_bigram *h = realloc(m->heap, cap * sizeof *h);
        if (!h) return wk_err(WK_ERR_NOMEM, "tokenize: out of memory");
        m->heap = h, m->cap_heap = cap;
    }
    spm_bigram e = {m->v->scores[id], l, r, (uint32_t)n};
    size_t i = m->n_heap++;
    while (i > 0 && spm_before(&e, &m->heap[(i - 1) / 2])) {
        m->heap[i] = m->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    m->heap[i] = e;
    return WK_OK;
}

static spm_bigram spm_pop(spm_state *m) {
    spm_bigram top = m->heap[0], last = m->heap[--m->n_heap];
    size_t i = 0, n = m->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && spm_before(&m->heap[c + 1], &m->heap[c])) c++;
        if (!spm_before(&m->heap[c], &last)) break;
        m->heap[i] = m->heap[c];
        i = c;
    }
    if (n) m->heap[i] = last;
    return top;
}

/* One raw fragment: optional leading space, ' ' -> U+2581, merge, emit (steps 1-6). */
static wk_status spm_fragment(const wk_vocab *v, const char *text, size_t len, bool prefix,
                              tok_out *out) {
    size_t cap = (len + 1) * 3;
    char *s = malloc(cap);
    spm_symbol *sym = malloc((len + 1) * sizeof *sym);
    spm_state m = {v, s, sym, NULL, 0, 0};
    wk_status st = WK_OK;
    if (!s || !sym) {
        st = wk_err(WK_ERR_NOMEM, "tokenize: out of memory");
        goto done;
    }
    size_t n = 0;
    for (size_t i = 0; i < len + prefix; i++) {
        char c = (prefix && i == 0) ? ' ' : text[i - prefix];
        if (c == ' ') s[n++] = (char)0xE2, s[n++] = (char)0x96, s[n++] = (char)0x81;
        else s[n++] = c;
    }
    int32_t ns = 0;
    for (size_t off = 0; off < n; ns++) {
        size_t k = (size_t)utf8_lead_len((unsigned char)s[off]);  /* malformed: as the lead says */
        if (k > n - off) k = n - off;
        sym[ns] = (spm_symbol){ns - 1, -1, (uint32_t)off, (uint32_t)k};
        if (ns > 0) sym[ns - 1].next = ns;
        off += k;
    }
    for (int32_t i = 0; i + 1 < ns && !st; i++) st = spm_try_pair(&m, i, i + 1);
    while (!st && m.n_heap > 0) {
        spm_bigram b = spm_pop(&m);
        spm_symbol *l = &sym[b.left], *r = &sym[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue;  /* already merged */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = b.left;
        st = spm_try_pair(&m, l->prev, b.left);
        if (!st) st = spm_try_pair(&m, b.left, l->next);
    }
    /* A final symbol is a token (every merge made one) or a single character that is not:
     * the latter falls back to one token per byte (<0xNN>, else the 1-byte token, else unk). */
    for (int32_t i = 0; i < ns && !st; i++) {
        if (sym[i].n == 0) continue;
        wk_token id = vocab_find(v, s + sym[i].off, sym[i].n);
        if (id >= 0) {
            st = tok_out_push(out, id);
            continue;
        }
        for (uint32_t j = 0; j < sym[i].n && !st; j++) {
            wk_token b = v->byte_tok[(unsigned char)s[sym[i].off + j]];
            if (b < 0) b = v->unk;
            if (b >= 0) st = tok_out_push(out, b);
        }
    }
done:
    free(s);
    free(sym);
    free(m.heap);
    return st;
}

/* ---- tokenize ------------------------------------------------------------------------- */

static wk_status copy_out(const tok_out *o, wk_token *out, size_t cap, size_t *n_out) {
    *n_out = o->n;
    if (!out && cap == 0) return WK_OK;
    if (o->n > cap)
        return wk_err(WK_ERR_INVALID_ARG, "tokenize: the output holds %zu ids, %zu are needed", cap, o->n);
    if (o->n) memcpy(out, o->ids, o->n * sizeof *out);
    return WK_OK;
}

/* The BPE regexes run in UTF mode without PCRE2's own check, so each raw fragment is
 * checked here (per fragment: a hostile special token could end inside a character). */
static wk_status check_utf8(const char *text, size_t off, size_t len) {
    for (size_t i = 0; i < len;) {
        int k = utf8_seq_len((const unsigned char *)text + off + i, len - i);
        if (k == 0)
            return wk_err(WK_ERR_INVALID_ARG, "wk_tokenize: invalid UTF-8 at byte %zu (0x%02X)", off + i,
                          (unsigned char)text[off + i]);
        i += (size_t)k;
    }
    return WK_OK;
}

wk_status wk_tokenize(const wk_vocab *v, const char *text, size_t len, bool add_special,
                      bool parse_special, wk_token *out, size_t cap, size_t *n_out) {
    if (!n_out) return wk_err(WK_ERR_INVALID_ARG, "wk_tokenize: n_out is NULL");
    *n_out = 0;
    if (!v || (!text && len) || (!out && cap))
        return wk_err(WK_ERR_INVALID_ARG, "wk_tokenize: NULL vocab, text or output");
    if (len > MAX_TEXT)
        return wk_err(WK_ERR_INVALID_ARG, "wk_tokenize: text of %zu bytes (limit %zu)", len, MAX_TEXT);
    frag_list frags = {0};
    tok_out o = {0};
    wk_status st = partition(v, text ? text : "", len, parse_special, &frags);
    if (!st && add_special && v->add_bos && v->bos >= 0) st = tok_out_push(&o, v->bos);
    bool prev_special = true;  /* the start of the text counts as after a special token */
    for (size_t i = 0; i < frags.n && !st; i++) {
        const fragment *f = &frags.f[i];
        if (f->id >= 0) {
            st = tok_out_push(&o, f->id);
            prev_special = true;
        } else if (v->type == WK_VOCAB_SPM) {
            st = spm_fragment(v, text + f->off, f->len, v->add_space_prefix && prev_special, &o);
            prev_special = false;
        } else if (v->type == WK_VOCAB_WPM) {
            if (!(st = check_utf8(text, f->off, f->len))) st = wpm_tokenize(v, text + f->off, f->len, &o);
        } else if (!(st = check_utf8(text, f->off, f->len))) {
            st = bpe_tokenize(v, text + f->off, f->len, &o);
        }
    }
    if (!st && add_special && v->add_eos && v->eos >= 0) st = tok_out_push(&o, v->eos);
    if (!st) st = copy_out(&o, out, cap, n_out);
    free(frags.f);
    free(o.ids);
    return st;
}

/* ---- detokenize ------------------------------------------------------------------------ */

/* Writes the piece into dst (which has room for 3 * text length + 3 bytes); returns its
 * length. Pieces never grow beyond that: "▁" -> ' ' shrinks, byte decoding shrinks. */
static size_t piece(const wk_vocab *v, wk_token id, bool special, char *dst) {
    const char *t = tok_text(v, id);
    size_t n = v->tok_len[id];
    switch (v->types[id]) {
    case WK_TOKEN_TYPE_CONTROL:
        if (!special) return 0;
        memcpy(dst, t, n);
        return n;
    case WK_TOKEN_TYPE_USER_DEFINED:
        memcpy(dst, t, n);
        return n;
    case WK_TOKEN_TYPE_UNKNOWN:
        if (v->type == WK_VOCAB_SPM) {
            memcpy(dst, "\xE2\x96\x85", 3);  /* U+2585, as llama.cpp renders <unk> */
            return 3;
        }
        if (!special) return 0;
        memcpy(dst, t, n);
        return n;
    case WK_TOKEN_TYPE_BYTE:
        if (v->type == WK_VOCAB_SPM && n == 6 && memcmp(t, "<0x", 3) == 0 && t[5] == '>') {
            unsigned b = 0;
            for (int i = 3; i < 5; i++) {
                char c = t[i];
                b = b * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
            }
            dst[0] = (char)b;
            return 1;
        }
        break;  /* a BYTE token without the <0xNN> form: treat as normal text */
    case WK_TOKEN_TYPE_NORMAL:
        break;
    default:  /* UNDEFINED, UNUSED */
        return 0;
    }
    if (v->type == WK_VOCAB_BPE) {
        long k = bpe_decode_text(t, n, dst);
        if (k >= 0) return (size_t)k;
        memcpy(dst, t, n);  /* not byte-level text (hand-made vocab): verbatim */
        return n;
    }
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (i + 3 <= n && memcmp(t + i, "\xE2\x96\x81", 3) == 0) dst[o++] = ' ', i += 3;
        else dst[o++] = t[i++];
    }
    return o;
}

wk_status wk_token_to_piece(const wk_vocab *v, wk_token id, bool special, char *buf, size_t cap,
                            size_t *n_out) {
    if (!n_out) return wk_err(WK_ERR_INVALID_ARG, "wk_token_to_piece: n_out is NULL");
    *n_out = 0;
    if (!v || (!buf && cap)) return wk_err(WK_ERR_INVALID_ARG, "wk_token_to_piece: NULL argument");
    if (id < 0 || id >= v->n_tokens)
        return wk_err(WK_ERR_INVALID_ARG, "wk_token_to_piece: token %d is outside [0, %d)", (int)id,
                      (int)v->n_tokens);
    char *tmp = malloc((size_t)v->tok_len[id] + 3);
    if (!tmp) return wk_err(WK_ERR_NOMEM, "wk_token_to_piece: out of memory");
    size_t n = piece(v, id, special, tmp);
    *n_out = n;
    wk_status st = WK_OK;
    if (buf || cap) {
        if (n > cap) st = wk_err(WK_ERR_INVALID_ARG, "wk_token_to_piece: %zu bytes needed, %zu given", n, cap);
        else if (n) memcpy(buf, tmp, n);
    }
    free(tmp);
    return st;
}

wk_status wk_detokenize(const wk_vocab *v, const wk_token *ids, size_t n_ids, bool remove_special,
                        bool unparse_special, char *buf, size_t cap, size_t *n_out) {
    if (!n_out) return wk_err(WK_ERR_INVALID_ARG, "wk_detokenize: n_out is NULL");
    *n_out = 0;
    if (!v || (!ids && n_ids) || (!buf && cap)) return wk_err(WK_ERR_INVALID_ARG, "wk_detokenize: NULL argument");
    size_t need = 0, longest = 0;
    for (size_t i = 0; i < n_ids; i++) {
        if (ids[i] < 0 || ids[i] >= v->n_tokens)
            return wk_err(WK_ERR_INVALID_ARG, "wk_detokenize: ids[%zu] = %d is outside [0, %d)", i,
                          (int)ids[i], (int)v->n_tokens);
        if (v->tok_len[ids[i]] > longest) longest = v->tok_len[ids[i]];
    }
    bool strip_space = v->type == WK_VOCAB_SPM && v->add_space_prefix;
    if (remove_special && v->add_bos && n_ids > 0 && ids[0] == v->bos) {
        ids++, n_ids--;
        strip_space = false;  /* llama.cpp keeps the space after a removed BOS */
    }
    if (remove_special && v->add_eos && n_ids > 0 && ids[n_ids - 1] == v->eos) n_ids--;
    char *tmp = malloc(longest + 3);
    if (!tmp) return wk_err(WK_ERR_NOMEM, "wk_detokenize: out of memory");
    wk_status st = WK_OK;
    for (size_t i = 0; i < n_ids; i++) {
        size_t n = piece(v, ids[i], unparse_special, tmp);
        const char *p = tmp;
        if (i == 0 && strip_space && n > 0 && p[0] == ' ') p++, n--;
        if (buf && need + n <= cap) memcpy(buf + need, p, n);
        need += n;
    }
    free(tmp);
    *n_out = need;
    if ((buf || cap) && need > cap)
        st = wk_err(WK_ERR_INVALID_ARG, "wk_detokenize: %zu bytes needed, %zu given", need, cap);
    return st;
}
