/* hf_tokenizer.h — tokenizers between GGUF metadata (tokenizer.ggml.*, formats.md §3.3) and
 * Hugging Face files (hf_tokenizer.c): byte-level BPE ("gpt2") <-> tokenizer.json,
 * SentencePiece ("llama") <-> tokenizer.model (protobuf), special tokens and the chat
 * template <-> tokenizer_config.json (+ generation_config.json). Messages start with cmd. */
#ifndef WK_TOOLS_HF_TOKENIZER_H
#define WK_TOOLS_HF_TOKENIZER_H

#include <stdbool.h>
#include <stdint.h>

#include "gguf/gguf.h"

/* Writes the tokenizer files of g into dir. 0, or 1 with a message. */
int wk_hf_tokenizer_export(const char *cmd, const wk_gguf *g, const char *dir);

/* Reads dir's tokenizer files and adds the tokenizer.* keys to w; *n_tokens gets the
 * vocabulary size. 0, or 1 with a message. */
int wk_hf_tokenizer_import(const char *cmd, const char *dir, wk_gguf_writer *w, int64_t *n_tokens);

/* The files of a Hugging Face directory, shared by convert and export. dir/name as a JSON
 * object, or NULL: a missing file is silent unless required; any other failure prints one
 * line and sets *bad. Writing is atomic (a temporary file renamed); 0, or 1 with a message. */
struct cJSON *wk_hf_read_json(const char *cmd, const char *dir, const char *name, bool required, int *bad);
int wk_hf_write_json(const char *cmd, const char *dir, const char *name, struct cJSON *j);

#endif
