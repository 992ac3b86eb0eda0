/* hf.h — Hugging Face <-> GGUF conventions for the families wick converts (llama, mistral
 * and smollm as "llama", qwen2, qwen3, gemma3 (text), phi3 (fused
 * qkv and gate/up); the BERT encoder, "bert"): tensor names both ways, the llama Q/K row
 * permutation (formats.md §4.3) and its inverse. Depends on libc only. */
#ifndef WK_CONVERT_HF_H
#define WK_CONVERT_HF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* GGUF architecture for an HF config "architectures" entry ("LlamaForCausalLM" -> "llama")
 * or model_type ("llama"); NULL when wick has no converter for it. */
const char *wk_hf_arch(const char *hf_architecture, const char *model_type);
/* HF class name wick writes on export for a GGUF architecture, and its model_type. */
const char *wk_hf_class_of(const char *arch, const char **model_type);

/* Tensor names. Returns true and writes the other side's name (NUL-terminated) to out, or
 * false for a name with no counterpart (the caller decides whether that is an error).
 * *permute_heads gets the head count to (un)permute the rows with (0: none): llama's q
 * and k only. n_head/n_head_kv are the model's. */
bool wk_hf_to_gguf_name(const char *arch, const char *hf, int n_head, int n_head_kv, char *out, size_t cap,
                        int *permute_heads);
bool wk_gguf_to_hf_name(const char *arch, const char *gguf, int n_head, int n_head_kv, char *out, size_t cap,
                        int *permute_heads);

/* Gemma 3 stores its RMSNorm weights as 1 + w in GGUF (formats.md §4.7): true for the HF
 * tensors (names ending in "norm.weight") that get the +1 on conversion (-1 on export). */
bool wk_hf_norm_plus_one(const char *arch, const char *hf);

/* The llama Q/K permutation on a row-major matrix of n_rows rows of row_bytes bytes,
 * src -> dst (distinct buffers). Rows of each head are [first halves..., second halves...]
 * in HF order and interleaved in GGUF order: GGUF row (h, 2i + j) = HF row (h, j * hd/2 + i)
 * for head h, i < hd/2, j in {0, 1}. inverse: GGUF -> HF. n_rows % n_heads must be 0 and
 * the head size even (else false). */
bool wk_hf_permute_rows(const void *src, void *dst, int64_t n_rows, size_t row_bytes, int n_heads, bool inverse);

#ifdef __cplusplus
}
#endif
#endif
