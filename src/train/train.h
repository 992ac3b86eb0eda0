/* train.h — data preparation for training: a byte-level BPE tokenizer trainer (bpe_train.c)
 * and the corpus -> token-shard pipeline (data.c). Internal to wick for now (the `wick
 * tokenizer-train` and `wick data` commands and the tests use it). */
#ifndef WK_TRAIN_TRAIN_H
#define WK_TRAIN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "src/runtime/chat_template.h"
#include "src/runtime/tokenizer.h"

/* ---- byte-level BPE trainer ------------------------------------------------------------ */

/* A trained vocabulary, as a "gpt2" tokenizer stores it: token i's text (GPT-2 byte-mapped
 * UTF-8, formats.md §5.4; special tokens raw), its type, and the merges "left right" in rank
 * order. Ids: 0..255 the single bytes ordered by their mapped code point (GPT-2's order),
 * then the merged tokens in the order they were learnt, then the special tokens. */
typedef struct {
    int32_t n_tokens;
    char **tokens;          /* NUL-terminated */
    int32_t *token_types;   /* wk_token_type: NORMAL or CONTROL */
    int32_t n_merges;
    char **merges;          /* NUL-terminated "left right" */
    char *pre;              /* tokenizer.ggml.pre */
    wk_token bos, eos;      /* the first special token, or WK_TOKEN_NULL */
} wk_bpe_model;

typedef struct wk_bpe_trainer wk_bpe_trainer;

/* pre: a BPE pre-tokenizer name the runtime knows (formats.md §3.4: "gpt-2", "llama3", ...). */
wk_status wk_bpe_trainer_create(const char *pre, wk_bpe_trainer **out);
void wk_bpe_trainer_free(wk_bpe_trainer *t);  /* accepts NULL */
/* Pre-tokenizes text (valid UTF-8, else WK_ERR_INVALID_ARG naming the byte offset) and adds
 * its pieces to the word counts. Pieces never span two calls. Special-token text in the
 * corpus is counted as ordinary text. */
wk_status wk_bpe_trainer_feed(wk_bpe_trainer *t, const char *text, size_t len);
/* Learns merges until 256 + learnt tokens + n_special reaches vocab_size or no adjacent pair
 * is left (a pair seen once still merges, as HF tokenizers does with min_frequency 0). Each step merges the most frequent adjacent pair, ties going to the smaller (left id,
 * right id), which is the rule of HF tokenizers' BpeTrainer, so both learn the same merges.
 * The trainer can be trained once. */
wk_status wk_bpe_trainer_train(wk_bpe_trainer *t, int32_t vocab_size, const char *const *special,
                               int n_special, wk_bpe_model **out);
void wk_bpe_model_free(wk_bpe_model *m);  /* accepts NULL */

/* A runtime vocabulary over m (for tests and tools that use the result directly). */
wk_status wk_bpe_model_to_vocab(const wk_bpe_model *m, wk_vocab **out);
/* A vocab-only GGUF (general.architecture "llama", tokenizer.ggml.*), written atomically. */
wk_status wk_bpe_model_write_gguf(const wk_bpe_model *m, const char *path);

/* ---- token shards (`wick data`) ----------------------------------------------------------- */

/* Shard file layout, little-endian (data.c):
 *   0  char[6]  "WKTOK1"        8  u32 vocab size       16 u64 token count
 *   6  u16      version (1)     12 u32 bytes per id (2: uint16 ids if vocab < 65536, else 4)
 *   24 u64      reserved (0)    32 the ids */
#define WK_SHARD_MAGIC "WKTOK1"
#define WK_SHARD_VERSION 1
#define WK_SHARD_HEADER 32

typedef enum { WK_DEDUP_NONE = 0, WK_DEDUP_EXACT = 1, WK_DEDUP_MINHASH = 2 } wk_dedup;

typedef struct {
    double val_fraction;  /* 0 <= f < 1: share of kept documents that go to val.bin */
    wk_dedup dedup;       /* MINHASH drops exact duplicates too */
    uint64_t seed;        /* the train/val shuffle */
    double near_threshold; /* MINHASH: drop when the exact Jaccard similarity of the word
                            * 5-shingle sets with a kept document is >= this; 0 means 0.8 */
} wk_data_params;

typedef struct {
    uint64_t docs_in, docs_kept, dropped_exact, dropped_near;
    uint64_t train_docs, val_docs, train_tokens, val_tokens;
} wk_data_stats;

/* Splits, normalizes, deduplicates and tokenizes the concatenated inputs and writes
 * out_dir/train.bin, out_dir/val.bin and out_dir/meta.json (out_dir is created if missing).
 * Nothing is left behind on error. tokenizer_name is recorded in meta.json only. */
wk_status wk_data_prepare(const char *const *inputs, int n_inputs, const wk_vocab *v,
                          const char *tokenizer_name, const char *out_dir,
                          const wk_data_params *p, wk_data_stats *stats);

/* The documents of a text after normalization (data.c's rule, for tests): a malloc'd array
 * of malloc'd NUL-terminated strings. */
wk_status wk_data_split_docs(const char *text, size_t len, char ***docs, size_t *n_docs);
void wk_data_free_docs(char **docs, size_t n_docs);

/* ---- chat JSONL for fine-tuning (chat_data.c) --------------------------------------------- */

/* Conversations rendered with a chat template and tokenized back to back: ids[i] with
 * train[i] = 1 where the token belongs to an assistant message (its text and end-of-turn
 * marker: the loss is taken there only); conversation c starts at conv_start[c]. */
typedef struct {
    int32_t *ids;
    uint8_t *train;
    int64_t n;
    int64_t *conv_start;
    int64_t n_conv;
} wk_chat_data;

/* Parses JSONL text (one {"messages": [{"role", "content"}, ...]} per line; blank lines
 * skipped) and renders every conversation with t and opt (its add_generation_prompt is
 * ignored). BOS is put first when v adds one and the rendering does not start with it.
 * Errors name the line: bad JSON, missing fields, no assistant message, a template whose
 * renderings do not extend one another. */
wk_status wk_chat_data_load(const char *text, size_t len, const wk_vocab *v, const wk_chat_template *t,
                            const wk_chat_options *opt, wk_chat_data *out);
void wk_chat_data_free(wk_chat_data *d);  /* accepts NULL */

#endif
