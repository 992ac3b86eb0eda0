/* tokenizer_internal.h — the vocabulary's tables, shared by vocab.c (building them),
 * tokenizer.c (partition, SPM, detokenize) and tokenizer_bpe.c (byte-level BPE). */
#ifndef WK_RUNTIME_TOKENIZER_INTERNAL_H
#define WK_RUNTIME_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tokenizer.h"

#define WK_MAX_PRE_REGEX 4

/* Open-addressing hash index: slot holds an id + 1 (0 = empty); capacity a power of two. */
typedef struct {
    int32_t *slots;
    uint64_t mask;
} tok_index;

struct wk_vocab {
    wk_vocab_type type;
    int32_t n_tokens;
    char *arena;            /* every token text, then every merge text, NUL-separated */
    uint64_t *tok_off;      /* token i: arena + tok_off[i], tok_len[i] bytes */
    uint32_t *tok_len;
    float *scores;
    uint8_t *types;         /* wk_token_type */
    tok_index tok_idx;

    int32_t n_merges;       /* merge i: arena + mrg_off[i]; left part mrg_left[i] bytes, then ' ' */
    uint64_t *mrg_off;
    uint32_t *mrg_left;
    uint32_t *mrg_len;
    tok_index mrg_idx;

    wk_token bos, eos, unk, pad, eot;
    bool add_bos, add_eos, add_space_prefix;
    bool ignore_merges;     /* Llama-3 family: a whole pre-token that is a token is emitted as is */
    bool clean_spaces;      /* recorded (formats.md §5.4); wk_detokenize does not apply it */
    uint8_t *eog;           /* per token: end of generation */

    int32_t n_special;      /* CONTROL / USER_DEFINED / UNKNOWN ids, longest text first */
    int32_t *special;

    wk_token byte_tok[256]; /* SPM byte fallback: id of <0xNN> (or the 1-byte token), else -1 */

    int n_regex;            /* BPE pre-tokenizer: pcre2_code * each */
    void *regex[WK_MAX_PRE_REGEX];
};

/* A growable id list for one tokenize call. */
typedef struct {
    wk_token *ids;
    size_t n, cap;
} tok_out;

wk_status tok_out_push(tok_out *o, wk_token id);

uint64_t tok_hash(const char *s, size_t n);
static inline const char *tok_text(const wk_vocab *v, int32_t id) { return v->arena + v->tok_off[id]; }
wk_token vocab_find(const wk_vocab *v, const char *s, size_t n);
/* Rank of merge (left, right), or -1. */
int32_t vocab_merge_rank(const wk_vocab *v, const char *l, size_t nl, const char *r, size_t nr);

/* Strict UTF-8 length of the sequence at s (1..4), or 0 when it is malformed/truncated. */
int utf8_seq_len(const unsigned char *s, size_t n);
/* Length from the lead byte only (SPM splitting, formats.md §5.3 step 3). */
int utf8_lead_len(unsigned char c);

/* tokenizer_wpm.c: WordPiece over one fragment of valid UTF-8 */
wk_status wpm_tokenize(const wk_vocab *v, const char *text, size_t len, tok_out *out);

/* tokenizer_bpe.c */
wk_status bpe_setup(wk_vocab *v, const char *pre, size_t pre_len);  /* regexes + flags */
void bpe_release(wk_vocab *v);
wk_status bpe_tokenize(const wk_vocab *v, const char *text, size_t len, tok_out *out);
/* Byte-level decode of a token text into bytes; returns the byte count written (at most
 * n, the text never grows) or -1 if a code point is outside the byte map. */
long bpe_decode_text(const char *s, size_t n, char *dst);
/* The pre-tokenizer alone, for the BPE trainer (src/train), so that training splits text
 * exactly as tokenizing will: calls fn on each piece in order; a nonzero status stops it.
 * A zeroed wk_vocab given only bpe_setup() is enough. */
typedef wk_status (*bpe_piece_fn)(void *user, const char *piece, size_t len);
wk_status bpe_pre_split(const wk_vocab *v, const char *text, size_t len, bpe_piece_fn fn, void *user);
/* GPT-2 byte map: n bytes -> their code points as UTF-8 in dst (room for 2n); the length. */
size_t bpe_encode_bytes(const char *s, size_t n, char *dst);

#endif
