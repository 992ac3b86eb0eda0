/* tokenizer.h — text <-> token ids for SPM ("llama") and byte-level BPE ("gpt2") vocabularies
 * (formats.md §3.3-3.4, §5). A vocabulary is built from a plain in-memory description
 * (arrays, as GGUF stores them) and owns a copy of everything, so its source (a mapped GGUF
 * file) may be closed afterwards. wk_vocab_load_gguf is a thin adapter over the GGUF reader.
 * The declarations in this header are meant to become part of the public API (wick.h). */
#ifndef WK_RUNTIME_TOKENIZER_H
#define WK_RUNTIME_TOKENIZER_H

#include "wick.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t wk_token;
#define WK_TOKEN_NULL (-1)     /* "no such token" (e.g. a model without a pad token) */
#define WK_TOKEN_DEFAULT (-2)  /* in a wk_vocab_desc: use the tokenizer model's default */

typedef enum {
    WK_VOCAB_SPM = 1,  /* tokenizer.ggml.model = "llama" */
    WK_VOCAB_BPE = 2,  /* tokenizer.ggml.model = "gpt2" (byte-level BPE) */
    WK_VOCAB_WPM = 3,  /* tokenizer.ggml.model = "bert" (WordPiece; word-initial pieces stored with a
                        * leading U+2581, continuations bare, as llama.cpp's converter writes them) */
} wk_vocab_type;

/* tokenizer.ggml.token_type values (formats.md §3.3). */
typedef enum {
    WK_TOKEN_TYPE_UNDEFINED = 0,
    WK_TOKEN_TYPE_NORMAL = 1,
    WK_TOKEN_TYPE_UNKNOWN = 2,
    WK_TOKEN_TYPE_CONTROL = 3,
    WK_TOKEN_TYPE_USER_DEFINED = 4,
    WK_TOKEN_TYPE_UNUSED = 5,
    WK_TOKEN_TYPE_BYTE = 6,
} wk_token_type;

/* Everything a vocabulary is made of. Start from wk_vocab_desc_init() (all ids
 * WK_TOKEN_DEFAULT, all flags -1 = model default), then fill in what is known. Nothing is
 * kept: wk_vocab_create copies what it needs. */
typedef struct {
    wk_vocab_type type;
    const char *pre;               /* BPE pre-tokenizer name (tokenizer.ggml.pre); NULL = "default" */
    int32_t n_tokens;
    const char *const *tokens;     /* token text by id; not NUL-terminated when token_lens given */
    const size_t *token_lens;      /* NULL: strlen(tokens[i]) */
    const float *scores;           /* NULL: all 0 (SPM merge priority) */
    const int32_t *token_types;    /* NULL: all NORMAL; values must be 0..6 */
    int32_t n_merges;              /* BPE only: "left right", rank = index */
    const char *const *merges;
    const size_t *merge_lens;      /* NULL: strlen */
    wk_token bos, eos, unk, pad, eot;  /* WK_TOKEN_DEFAULT, WK_TOKEN_NULL or 0..n_tokens-1 */
    int add_bos, add_eos, add_space_prefix;  /* -1 default, 0 or 1 */
} wk_vocab_desc;

typedef struct wk_vocab wk_vocab;

void wk_vocab_desc_init(wk_vocab_desc *d);
/* Validates d (types, lengths, ids in range, unique token texts, known pre-tokenizer) and
 * builds the lookup tables. On error *out is NULL and wk_last_error() says why. */
wk_status wk_vocab_create(const wk_vocab_desc *d, wk_vocab **out);
void wk_vocab_free(wk_vocab *v);  /* accepts NULL */

/* Builds a vocabulary from the tokenizer.ggml.* keys of an open GGUF file (a wk_gguf
 * from gguf/gguf.h; declared as void so this header does not depend on that library). Keys
 * must have the types formats.md §3.3 gives; an out-of-range special id is ignored (the
 * default is kept), as llama.cpp does. */
wk_status wk_vocab_load_gguf(const void *gguf, wk_vocab **out);

wk_vocab_type wk_vocab_get_type(const wk_vocab *v);
int32_t wk_vocab_n_tokens(const wk_vocab *v);
wk_token wk_vocab_bos(const wk_vocab *v);  /* WK_TOKEN_NULL when none */
wk_token wk_vocab_eos(const wk_vocab *v);
wk_token wk_vocab_eot(const wk_vocab *v);
wk_token wk_vocab_unk(const wk_vocab *v);
wk_token wk_vocab_pad(const wk_vocab *v);
bool wk_vocab_add_bos(const wk_vocab *v);
bool wk_vocab_add_eos(const wk_vocab *v);
/* Raw token text as stored (e.g. "▁the", "Ġthe", "<0x0A>"); NULL for a bad id. */
const char *wk_vocab_token_text(const wk_vocab *v, wk_token id, size_t *len);
wk_token_type wk_vocab_token_type(const wk_vocab *v, wk_token id);
/* Id of an exact token text, or WK_TOKEN_NULL. */
wk_token wk_vocab_find(const wk_vocab *v, const char *text, size_t len);
/* eos, eot, or a token whose text is a known end-of-turn marker (<|im_end|>, ...). */
bool wk_vocab_is_eog(const wk_vocab *v, wk_token id);

/* Text (UTF-8, len bytes) -> ids (formats.md §5.2). add_special: BOS/EOS as the vocabulary's
 * add_bos/add_eos say. parse_special: CONTROL tokens written in the text (e.g. "<|im_end|>")
 * become their ids; USER_DEFINED ones are always matched. Writes up to cap ids to out and
 * the number needed to *n_out. If cap is too small: WK_ERR_INVALID_ARG (out == NULL with
 * cap == 0 is a size query and returns WK_OK). BPE vocabularies reject invalid UTF-8. */
wk_status wk_tokenize(const wk_vocab *v, const char *text, size_t len, bool add_special,
                      bool parse_special, wk_token *out, size_t cap, size_t *n_out);

/* One token -> the bytes it stands for (byte-level decoding, "▁" -> ' ', <0xNN> -> byte).
 * CONTROL tokens give "" unless special is true. Writes up to cap bytes (no NUL) and the
 * needed length to *n_out; too small a buffer is WK_ERR_INVALID_ARG (NULL/0 = size query). */
wk_status wk_token_to_piece(const wk_vocab *v, wk_token id, bool special, char *buf, size_t cap,
                            size_t *n_out);

/* Ids -> text: the pieces concatenated; with an SPM space prefix, the one space the
 * tokenizer added in front of the text is removed again. remove_special drops a leading
 * BOS and trailing EOS; unparse_special renders CONTROL tokens as their text. Same buffer
 * convention as wk_token_to_piece. No clean-up of spaces before punctuation is done. */
wk_status wk_detokenize(const wk_vocab *v, const wk_token *ids, size_t n_ids, bool remove_special,
                        bool unparse_special, char *buf, size_t cap, size_t *n_out);

#ifdef __cplusplus
}
#endif
#endif
