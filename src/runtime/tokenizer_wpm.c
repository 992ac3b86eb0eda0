/* tokenizer_wpm.c — WordPiece (BERT) tokenization of one fragment of valid UTF-8:
 *   1. BERT's basic tokenizer: control characters dropped, whitespace splits words, every
 *      punctuation character and CJK ideograph is a word of its own, text lower-cased with
 *      accents stripped (uncased models; llama.cpp's WPM tokenizer does the same).
 *   2. Each word, greedily longest piece first: the word's first piece is looked up as
 *      U+2581 + text (llama.cpp's "phantom space" vocabulary), later pieces bare (the "##"
 *      continuations of the HF vocabulary); a word with an unmatched position, or longer
 *      than 100 characters, becomes the unknown token.
 * Case folding covers ASCII, Latin-1 and Latin Extended-A, accent stripping the Latin-1
 * letters and combining marks (U+0300..U+036F); other scripts pass through unchanged (no
 * full Unicode tables here). */
#include <string.h>

#include "tokenizer_internal.h"

#define MAX_WORD_CHARS 100

static uint32_t decode(const unsigned char *s, int k) {
    if (k == 1) return s[0];
    if (k == 2) return (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
    if (k == 3) return (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
    return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 | (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
}

static int encode(uint32_t c, char *d) {
    if (c < 0x80) return d[0] = (char)c, 1;
    if (c < 0x800) return d[0] = (char)(0xc0 | c >> 6), d[1] = (char)(0x80 | (c & 0x3f)), 2;
    if (c < 0x10000)
        return d[0] = (char)(0xe0 | c >> 12), d[1] = (char)(0x80 | (c >> 6 & 0x3f)), d[2] = (char)(0x80 | (c & 0x3f)), 3;
    d[0] = (char)(0xf0 | c >> 18), d[1] = (char)(0x80 | (c >> 12 & 0x3f));
    d[2] = (char)(0x80 | (c >> 6 & 0x3f)), d[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

static int is_space(uint32_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
           c == 0x202f || c == 0x205f || c == 0x3000;
}

static int is_control(uint32_t c) { /* dropped; \t \n \r count as spaces instead */
    return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || (c >= 0x7f && c <= 0x9f) || c == 0xfffd ||
           (c >= 0x200b && c <= 0x200f) || c == 0xfeff;
}

static int is_punct(uint32_t c) {
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126) ||
           c == 0xa1 || c == 0xa7 || c == 0xab || c == 0xb6 || c == 0xb7 || c == 0xbb || c == 0xbf ||
           (c >= 0x2010 && c <= 0x2027) || (c >= 0x2030 && c <= 0x205e) || (c >= 0x3001 && c <= 0x3003) ||
           (c >= 0x3008 && c <= 0x3011) || (c >= 0xff01 && c <= 0xff0f);
}

static int is_cjk(uint32_t c) {
    return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df) ||
           (c >= 0x2a700 && c <= 0x2ceaf) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

/* lower case, then the base letter of an accented Latin letter (0: drop, a combining mark) */
static uint32_t fold(uint32_t c) {
    if (c >= 0x300 && c <= 0x36f) return 0;
    if (c >= 'A' && c <= 'Z') return c + 32;
    if (c >= 0xc0 && c <= 0xde && c != 0xd7) c += 32;
    if (c >= 0x100 && c <= 0x17f && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17f) {
        /* Latin Extended-A: upper/lower pairs (lower-cased only; their accents stay) */
        const int odd_lower = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);
        if (odd_lower ? (c & 1) : !(c & 1)) c += 1;
    }
    /* Latin-1 letters whose NFD form is a base letter + a combining mark */
    static const char k_latin1[32] = "aaaaaa\0ceeeeiiii" /* e0-ef: e6 (ae) has no decomposition */
                                     "\0nooooo\0\0uuuuy\0y";
    if (c >= 0xe0 && c <= 0xff && k_latin1[c - 0xe0]) return (uint32_t)(unsigned char)k_latin1[c - 0xe0];
    return c;
}

/* one word (normalized UTF-8, nch characters) -> pieces */
static wk_status word(const wk_vocab *v, const char *w, size_t n, size_t nch, tok_out *out) {
    if (!n) return WK_OK;
    if (nch > MAX_WORD_CHARS) return v->unk >= 0 ? tok_out_push(out, v->unk) : WK_OK;
    char buf[3 + 4 * MAX_WORD_CHARS];
    const size_t mark = out->n;
    for (size_t start = 0; start < n;) {
        size_t end = n;
        wk_token id = WK_TOKEN_NULL;
        for (; end > start; end--) {
            if (end < n && ((unsigned char)w[end] & 0xc0) == 0x80) continue; /* character boundaries only */
            size_t k = 0;
            if (start == 0) memcpy(buf, "\xE2\x96\x81", 3), k = 3;
            memcpy(buf + k, w + start, end - start);
            if ((id = vocab_find(v, buf, k + end - start)) >= 0) break;
        }
        if (id < 0) { /* the whole word is unknown */
            out->n = mark;
            return v->unk >= 0 ? tok_out_push(out, v->unk) : WK_OK;
        }
        wk_status st = tok_out_push(out, id);
        if (st) return st;
        start = end;
    }
    return WK_OK;
}

wk_status wpm_tokenize(const wk_vocab *v, const char *text, size_t len, tok_out *out) {
    char w[4 * MAX_WORD_CHARS + 8];
    size_t wn = 0, wch = 0, over = 0; /* bytes and characters of the current word; over: too long */
    wk_status st = WK_OK;
#define FLUSH()                                                                                    \
    do {                                                                                           \
        if (wn || over) st = word(v, w, wn, over ? MAX_WORD_CHARS + 1 : wch, out);                 \
        wn = wch = over = 0;                                                                       \
    } while (0)
    for (size_t i = 0; i < len && !st;) {
        const int k = utf8_seq_len((const unsigned char *)text + i, len - i);
        if (k <= 0) return wk_err(WK_ERR_INVALID_ARG, "wk_tokenize: invalid UTF-8 at byte %zu", i);
        uint32_t c = decode((const unsigned char *)text + i, k);
        i += (size_t)k;
        if (c == 0 || is_control(c)) continue;
        if (is_space(c)) {
            FLUSH();
            continue;
        }
        if (is_punct(c) || is_cjk(c)) { /* a word of its own */
            FLUSH();
            if (st) break;
            char one[4];
            const int m = encode(c, one);
            st = word(v, one, (size_t)m, 1, out);
            continue;
        }
        if (!(c = fold(c))) continue;
        if (wch >= MAX_WORD_CHARS) {
            over = 1;
            continue;
        }
        wn += (size_t)encode(c, w + wn);
        wch++;
    }
    if (!st) FLUSH();
#undef FLUSH
    return st;
}
