/* tokenizer_bpe.c — byte-level BPE ("gpt2" tokenizer model, formats.md §5.4): the
 * pre-tokenizer regexes (compiled once per vocabulary with PCRE2, UTF + UCP, JIT when the
 * library has it), the GPT-2 byte <-> code point map, and the rank-ordered pair merge.
 * The regexes are run by PCRE2 rather than by hand-written splitters: exact regex semantics
 * (leftmost-first alternation, look-ahead) come for free, and new families are one line. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer_internal.h"

/* ---- pre-tokenizer families (formats.md §3.4 / §5.4) ------------------------------ */

#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RE_LLAMA3_HEAD                                                                         \
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
#define RE_LLAMA3_TAIL "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

typedef struct {
    const char *regex[WK_MAX_PRE_REGEX];  /* applied in turn, each to the previous pieces */
    bool ignore_merges, add_bos, no_clean_spaces;
} pre_family;

static const pre_family k_default = {
    {"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]"}, false, false, false};
static const pre_family k_gpt2 = {{RE_GPT2}, false, false, false};
static const pre_family k_llama3 = {{RE_LLAMA3_HEAD "\\p{N}{1,3}" RE_LLAMA3_TAIL}, true, true, false};
static const pre_family k_dbrx = {{RE_LLAMA3_HEAD "\\p{N}{1,3}" RE_LLAMA3_TAIL}, false, false, false};
static const pre_family k_qwen2 = {{RE_LLAMA3_HEAD "\\p{N}" RE_LLAMA3_TAIL}, false, false, true};
static const pre_family k_smollm = {{"\\p{N}", RE_GPT2}, false, false, false};
static const pre_family k_falcon = {
    {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]"}, false, false, false};

static const struct {
    const char *name;
    const pre_family *family;
} k_pre_names[] = {
    {"default", &k_default},
    {"llama3", &k_llama3}, {"llama-v3", &k_llama3}, {"llama-bpe", &k_llama3},
    {"falcon3", &k_llama3}, {"falcon-h1", &k_llama3}, {"pixtral", &k_llama3},
    {"midm-2.0", &k_llama3}, {"lfm2", &k_llama3},
    {"dbrx", &k_dbrx}, {"smaug-bpe", &k_dbrx},
    {"qwen2", &k_qwen2}, {"deepseek-r1-qwen", &k_qwen2}, {"megrez", &k_qwen2},
    {"gpt-2", &k_gpt2}, {"phi-2", &k_gpt2}, {"jina-es", &k_gpt2}, {"jina-de", &k_gpt2},
    {"roberta-bpe", &k_gpt2}, {"exaone4", &k_gpt2}, {"mpt", &k_gpt2}, {"olmo", &k_gpt2},
    {"jais", &k_gpt2}, {"trillion", &k_gpt2},
    {"starcoder", &k_smollm}, {"refact", &k_smollm}, {"command-r", &k_smollm},
    {"smollm", &k_smollm}, {"codeshell", &k_smollm}, {"exaone", &k_smollm},
    {"minerva-7b", &k_smollm},
    {"falcon", &k_falcon},
};

/* ---- GPT-2 byte map ----------------------------------------------------------------- */

/* byte -> code point: printable bytes map to themselves, the other 68 (0x00..0x20,
 * 0x7F..0xA0, 0xAD), in increasing order, to 256..323. */
static bool byte_is_printable(unsigned b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

static uint16_t byte_to_cp(unsigned b) {
    if (byte_is_printable(b)) return (uint16_t)b;
    if (b <= 0x20) return (uint16_t)(256 + b);
    if (b <= 0xA0) return (uint16_t)(256 + 33 + (b - 0x7F));
    return 256 + 67;  /* 0xAD */
}

static int cp_to_byte(uint32_t cp) {
    if (cp < 256) return byte_is_printable(cp) ? (int)cp : -1;
    if (cp < 256 + 33) return (int)(cp - 256);
    if (cp < 256 + 67) return (int)(cp - 256 - 33 + 0x7F);
    if (cp == 256 + 67) return 0xAD;
    return -1;
}

long bpe_decode_text(const char *s, size_t n, char *dst) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        int k = utf8_seq_len((const unsigned char *)s + i, n - i);
        if (k == 0) return -1;
        uint32_t cp = (unsigned char)s[i];
        if (k == 2) cp = ((cp & 0x1Fu) << 6) | ((unsigned char)s[i + 1] & 0x3Fu);
        else if (k > 2) return -1;  /* mapped code points are all below U+0800 */
        int b = cp_to_byte(cp);
        if (b < 0) return -1;
        dst[o++] = (char)b;
        i += (size_t)k;
    }
    return (long)o;
}

/* ---- setup ---------------------------------------------------------------------------- */

wk_status bpe_setup(wk_vocab *v, const char *pre, size_t pre_len) {
    const pre_family *f = NULL;
    for (size_t i = 0; i < sizeof k_pre_names / sizeof *k_pre_names && !f; i++)
        if (strlen(k_pre_names[i].name) == pre_len && memcmp(k_pre_names[i].name, pre, pre_len) == 0)
            f = k_pre_names[i].family;
    if (!f)
        return wk_err(WK_ERR_UNSUPPORTED, "vocab: BPE pre-tokenizer '%.*s' is not supported",
                      (int)(pre_len > 64 ? 64 : pre_len), pre);
    v->ignore_merges = f->ignore_merges;
    if (f->add_bos) v->add_bos = true;
    if (f->no_clean_spaces) v->clean_spaces = false;
    for (int i = 0; i < WK_MAX_PRE_REGEX && f->regex[i]; i++) {
        int code;
        PCRE2_SIZE at;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)f->regex[i], PCRE2_ZERO_TERMINATED,
                                       PCRE2_UTF | PCRE2_UCP, &code, &at, NULL);
        if (!re) {
            PCRE2_UCHAR msg[120];
            pcre2_get_error_message(code, msg, sizeof msg);
            return wk_err(WK_ERR_UNSUPPORTED, "vocab: pre-tokenizer regex %d: %s at %zu", i,
                          (const char *)msg, (size_t)at);
        }
        (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);  /* no JIT: the interpreter runs it */
        v->regex[v->n_regex++] = re;
    }
    return WK_OK;
}

void bpe_release(wk_vocab *v) {
    for (int i = 0; i < v->n_regex; i++) pcre2_code_free(v->regex[i]);
    v->n_regex = 0;
}

/* ---- pre-tokenization ------------------------------------------------------------------ */

typedef struct {
    size_t off, len;
} span;

typedef struct {
    span *s;
    size_t n, cap;
} span_list;

static wk_status span_push(span_list *l, size_t off, size_t len) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        span *s = realloc(l->s, cap * sizeof *s);
        if (!s) return wk_err(WK_ERR_NOMEM, "tokenize: out of memory");
        l->s = s, l->cap = cap;
    }
    l->s[l->n++] = (span){off, len};
    return WK_OK;
}

/* Splits every piece of `in` by one regex; matches and the gaps between them both become
 * pieces (HF "Isolated"). The subject is the piece alone, so look-ahead stops at its end. */
static wk_status split_pieces(const pcre2_code *re, pcre2_match_data *md, const char *text,
                              const span_list *in, span_list *out) {
    out->n = 0;
    for (size_t p = 0; p < in->n; p++) {
        const char *s = text + in->s[p].off;
        size_t n = in->s[p].len, base = in->s[p].off, gap = 0, pos = 0;
        wk_status st;
        while (pos < n) {
            int rc = pcre2_match(re, (PCRE2_SPTR)s, n, pos, PCRE2_NO_UTF_CHECK, md, NULL);
            if (rc == PCRE2_ERROR_NOMATCH) break;
            if (rc < 0) {
                PCRE2_UCHAR msg[120];
                pcre2_get_error_message(rc, msg, sizeof msg);
                return wk_err(WK_ERR_INVALID_ARG, "tokenize: pre-tokenizer regex failed: %s",
                              (const char *)msg);
            }
            const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            size_t m0 = ov[0], m1 = ov[1];
            if (m1 == m0) {  /* an empty match: step one character on; it stays in the gap */
                pos = m0 + (size_t)utf8_lead_len((unsigned char)s[m0 < n ? m0 : n - 1]);
                continue;
            }
            if (m0 > gap && (st = span_push(out, base + gap, m0 - gap))) return st;
            if ((st = span_push(out, base + m0, m1 - m0))) return st;
            gap = pos = m1;
        }
        if (gap < n && (st = span_push(out, base + gap, n - gap))) return st;
    }
    return WK_OK;
}

/* ---- merging ------------------------------------------------------------------------------ */

typedef struct {
    int32_t rank, left, right;
    uint32_t left_n, right_n;  /* symbol lengths when pushed: a changed length means stale */
} bigram;

typedef struct {
    bigram *b;
    size_t n, cap;
} bigram_heap;

/* Lowest rank first; ties: leftmost first (formats.md §5.4 step 4). */
static bool before(const bigram *x, const bigram *y) {
    return x->rank < y->rank || (x->rank == y->rank && x->left < y->left);
}

static wk_status heap_push(bigram_heap *h, bigram e) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        bigram *b = realloc(h->b, cap * sizeof *b);
        if (!b) return wk_err(WK_ERR_NOMEM, "tokenize: out of memory");
        h->b = b, h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && before(&e, &h->b[(i - 1) / 2])) {
        h->b[i] = h->b[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->b[i] = e;
    return WK_OK;
}

static bigram heap_pop(bigram_heap *h) {
    bigram top = h->b[0], last = h->b[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && before(&h->b[c + 1], &h->b[c])) c++;
        if (!before(&h->b[c], &last)) break;
        h->b[i] = h->b[c];
        i = c;
    }
    if (h->n) h->b[i] = last;
    return top;
}

typedef struct {
    int32_t prev, next;
    uint32_t off, n;  /* into the encoded piece */
} symbol;

typedef struct {
    const wk_vocab *v;
    const char *word;
    symbol *sym;
    bigram_heap heap;
} merge_state;

static wk_status try_pair(merge_state *m, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return WK_OK;
    const symbol *a = &m->sym[l], *b = &m->sym[r];
    int32_t rank = vocab_merge_rank(m->v, m->word + a->off, a->n, m->word + b->off, b->n);
    if (rank < 0) return WK_OK;
    return heap_push(&m->heap, (bigram){rank, l, r, a->n, b->n});
}

static wk_status emit_bytes_of(const wk_vocab *v, const char *s, size_t n, tok_out *out) {
    /* a final symbol that is not a token: each byte that is a one-byte token (§5.4 step 5) */
    for (size_t i = 0; i < n; i++) {
        wk_token id = vocab_find(v, s + i, 1);
        wk_status st;
        if (id >= 0 && (st = tok_out_push(out, id))) return st;
    }
    return WK_OK;
}

static wk_status merge_word(const wk_vocab *v, const char *word, size_t n, symbol **sym_buf,
                            size_t *sym_cap, bigram_heap *heap, tok_out *out) {
    if (v->ignore_merges) {
        wk_token id = vocab_find(v, word, n);
        if (id >= 0) return tok_out_push(out, id);
    }
    if (*sym_cap < n) {
        symbol *s = realloc(*sym_buf, n * sizeof *s);
        if (!s) return wk_err(WK_ERR_NOMEM, "tokenize: out of memory");
        *sym_buf = s, *sym_cap = n;
    }
    merge_state m = {v, word, *sym_buf, *heap};
    int32_t ns = 0;
    for (size_t off = 0; off < n; ns++) {
        size_t k = (size_t)utf8_lead_len((unsigned char)word[off]);
        if (k > n - off) k = n - off;
        m.sym[ns] = (symbol){ns - 1, -1, (uint32_t)off, (uint32_t)k};
        if (ns > 0) m.sym[ns - 1].next = ns;
        off += k;
    }
    m.heap.n = 0;
    wk_status st = WK_OK;
    for (int32_t i = 0; i + 1 < ns && !st; i++) st = try_pair(&m, i, i + 1);
    while (!st && m.heap.n > 0) {
        bigram b = heap_pop(&m.heap);
        symbol *l = &m.sym[b.left], *r = &m.sym[b.right];
        if (l->n == 0 || r->n == 0 || l->n != b.left_n || r->n != b.right_n) continue;  /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) m.sym[r->next].prev = b.left;
        st = try_pair(&m, l->prev, b.left);
        if (!st) st = try_pair(&m, b.left, l->next);
    }
    *heap = m.heap;
    for (int32_t i = 0; i < ns && !st; i++) {
        if (m.sym[i].n == 0) continue;
        const char *s = word + m.sym[i].off;
        wk_token id = vocab_find(v, s, m.sym[i].n);
        st = id >= 0 ? tok_out_push(out, id) : emit_bytes_of(v, s, m.sym[i].n, out);
    }
    return st;
}

/* Runs v's pre-tokenizer regexes in turn over text; the pieces end up in *a (b is scratch). */
static wk_status pre_split(const wk_vocab *v, const char *text, size_t len, span_list *a,
                           span_list *b) {
    pcre2_match_data *md = NULL;
    wk_status st = span_push(a, 0, len);
    for (int r = 0; r < v->n_regex && !st; r++) {
        pcre2_match_data_free(md);
        md = pcre2_match_data_create_from_pattern(v->regex[r], NULL);
        if (!md) {
            st = wk_err(WK_ERR_NOMEM, "tokenize: out of memory");
            break;
        }
        st = split_pieces(v->regex[r], md, text, a, b);
        span_list t = *a;
        *a = *b, *b = t;
    }
    pcre2_match_data_free(md);
    return st;
}

wk_status bpe_pre_split(const wk_vocab *v, const char *text, size_t len, bpe_piece_fn fn,
                        void *user) {
    if (len == 0) return WK_OK;
    span_list a = {0}, b = {0};
    wk_status st = pre_split(v, text, len, &a, &b);
    for (size_t p = 0; p < a.n && !st; p++) st = fn(user, text + a.s[p].off, a.s[p].len);
    free(a.s);
    free(b.s);
    return st;
}

size_t bpe_encode_bytes(const char *s, size_t n, char *dst) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t cp = byte_to_cp((unsigned char)s[i]);
        if (cp < 0x80) dst[k++] = (char)cp;
        else dst[k++] = (char)(0xC0 | (cp >> 6)), dst[k++] = (char)(0x80 | (cp & 0x3F));
    }
    return k;
}

wk_status bpe_tokenize(const wk_vocab *v, const char *text, size_t len, tok_out *out) {
    if (len == 0) return WK_OK;
    span_list a = {0}, b = {0};
    char *enc = NULL;
    symbol *sym = NULL;
    size_t sym_cap = 0;
    bigram_heap heap = {0};
    wk_status st = pre_split(v, text, len, &a, &b);
    size_t enc_cap = 0;
    for (size_t p = 0; p < a.n && !st; p++) {
        size_t n = a.s[p].len;
        if (enc_cap < 2 * n) {  /* every byte maps to a code point below U+0800: 2 bytes at most */
            char *e = realloc(enc, 2 * n);
            if (!e) {
                st = wk_err(WK_ERR_NOMEM, "tokenize: out of memory");
                break;
            }
            enc = e, enc_cap = 2 * n;
        }
        size_t k = bpe_encode_bytes(text + a.s[p].off, n, enc);
        st = merge_word(v, enc, k, &sym, &sym_cap, &heap, out);
    }
    free(a.s);
    free(b.s);
    free(enc);
    free(sym);
    free(heap.b);
    return st;
}
