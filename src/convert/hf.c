/* hf.c — HF <-> GGUF names and the llama Q/K permutation (hf.h). */
#include "hf.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *cls, *model_type, *arch;
} k_archs[] = {
    {"LlamaForCausalLM", "llama", "llama"},     {"MistralForCausalLM", "mistral", "llama"},
    {"Qwen2ForCausalLM", "qwen2", "qwen2"},     {"Qwen3ForCausalLM", "qwen3", "qwen3"},
    {"BertModel", "bert", "bert"},              {"Gemma3ForCausalLM", "gemma3_text", "gemma3"},
    {"Phi3ForCausalLM", "phi3", "phi3"},
};
#define N_ARCHS (sizeof k_archs / sizeof k_archs[0])

const char *wk_hf_arch(const char *cls, const char *model_type) {
    for (size_t i = 0; cls && i < N_ARCHS; i++)
        if (!strcmp(cls, k_archs[i].cls)) return k_archs[i].arch;
    for (size_t i = 0; model_type && i < N_ARCHS; i++)
        if (!strcmp(model_type, k_archs[i].model_type)) return k_archs[i].arch;
    return NULL;
}

const char *wk_hf_class_of(const char *arch, const char **model_type) {
    for (size_t i = 0; arch && i < N_ARCHS; i++)
        if (!strcmp(arch, k_archs[i].arch)) {
            if (model_type) *model_type = k_archs[i].model_type;
            return k_archs[i].cls;
        }
    return NULL;
}

/* per-layer tensors: HF suffix after "model.layers.N.", GGUF suffix after "blk.N.";
 * perm: 1 = q (n_head), 2 = k (n_head_kv), applied for llama only */
static const struct {
    const char *hf, *gg;
    int perm;
    const char *only; /* NULL: every arch; "!x": every arch but x; else the one arch that has it */
} k_layer[] = {
    /* phi3's fused projections first: the first entry that fits a name wins */
    {"self_attn.qkv_proj.weight", "attn_qkv.weight", 0, "phi3"},
    {"mlp.gate_up_proj.weight", "ffn_up.weight", 0, "phi3"},
    {"input_layernorm.weight", "attn_norm.weight", 0, NULL},
    {"self_attn.q_proj.weight", "attn_q.weight", 1, NULL},
    {"self_attn.k_proj.weight", "attn_k.weight", 2, NULL},
    {"self_attn.v_proj.weight", "attn_v.weight", 0, NULL},
    {"self_attn.o_proj.weight", "attn_output.weight", 0, NULL},
    {"self_attn.q_proj.bias", "attn_q.bias", 0, "qwen2"},
    {"self_attn.k_proj.bias", "attn_k.bias", 0, "qwen2"},
    {"self_attn.v_proj.bias", "attn_v.bias", 0, "qwen2"},
    {"self_attn.q_norm.weight", "attn_q_norm.weight", 0, "qwen3"},
    {"self_attn.k_norm.weight", "attn_k_norm.weight", 0, "qwen3"},
    {"self_attn.q_norm.weight", "attn_q_norm.weight", 0, "gemma3"},
    {"self_attn.k_norm.weight", "attn_k_norm.weight", 0, "gemma3"},
    {"post_attention_layernorm.weight", "ffn_norm.weight", 0, "!gemma3"},
    {"post_attention_layernorm.weight", "post_attention_norm.weight", 0, "gemma3"},
    {"pre_feedforward_layernorm.weight", "ffn_norm.weight", 0, "gemma3"},
    {"post_feedforward_layernorm.weight", "post_ffw_norm.weight", 0, "gemma3"},
    {"mlp.gate_proj.weight", "ffn_gate.weight", 0, NULL},
    {"mlp.up_proj.weight", "ffn_up.weight", 0, NULL},
    {"mlp.down_proj.weight", "ffn_down.weight", 0, NULL},
};
static const struct {
    const char *hf, *gg;
} k_global[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};

/* BERT (llama.cpp's names): embeddings, then per layer "encoder.layer.N." <-> "blk.N." */
static const struct {
    const char *hf, *gg;
} k_bert_global[] = {
    {"embeddings.word_embeddings.weight", "token_embd.weight"},
    {"embeddings.position_embeddings.weight", "position_embd.weight"},
    {"embeddings.token_type_embeddings.weight", "token_types.weight"},
    {"embeddings.LayerNorm.weight", "token_embd_norm.weight"},
    {"embeddings.LayerNorm.bias", "token_embd_norm.bias"},
}, k_bert_layer[] = {
    {"attention.self.query", "attn_q"}, {"attention.self.key", "attn_k"}, {"attention.self.value", "attn_v"},
    {"attention.output.dense", "attn_output"}, {"attention.output.LayerNorm", "attn_output_norm"},
    {"intermediate.dense", "ffn_up"}, {"output.dense", "ffn_down"}, {"output.LayerNorm", "layer_output_norm"},
};

/* name = pre + decimal layer (no leading zeros, at most 6 digits) + "." + rest: the rest,
 * with *layer set; NULL when name has another form */
static const char *after_layer(const char *name, const char *pre, unsigned long *layer) {
    const size_t pl = strlen(pre);
    if (strncmp(name, pre, pl)) return NULL;
    const char *p = name + pl;
    int digits = 0;
    *layer = 0;
    while (*p >= '0' && *p <= '9' && digits < 6) *layer = *layer * 10 + (unsigned long)(*p++ - '0'), digits++;
    if (!digits || *p != '.' || (digits > 1 && name[pl] == '0')) return NULL;
    return p + 1;
}

static bool map_bert(const char *name, bool to_gguf, char *out, size_t cap) {
    if (to_gguf && !strncmp(name, "bert.", 5)) name += 5;
    for (size_t i = 0; i < sizeof k_bert_global / sizeof *k_bert_global; i++)
        if (!strcmp(name, to_gguf ? k_bert_global[i].hf : k_bert_global[i].gg))
            return (size_t)snprintf(out, cap, "%s", to_gguf ? k_bert_global[i].gg : k_bert_global[i].hf) < cap;
    unsigned long layer;
    const char *p = after_layer(name, to_gguf ? "encoder.layer." : "blk.", &layer);
    if (!p) return false;
    for (size_t i = 0; i < sizeof k_bert_layer / sizeof *k_bert_layer; i++) {
        const char *from = to_gguf ? k_bert_layer[i].hf : k_bert_layer[i].gg, *to = to_gguf ? k_bert_layer[i].gg : k_bert_layer[i].hf;
        const size_t fl = strlen(from);
        if (strncmp(p, from, fl) || (strcmp(p + fl, ".weight") && strcmp(p + fl, ".bias"))) continue;
        const int n = to_gguf ? snprintf(out, cap, "blk.%lu.%s%s", layer, to, p + fl)
                              : snprintf(out, cap, "encoder.layer.%lu.%s%s", layer, to, p + fl);
        return n > 0 && (size_t)n < cap;
    }
    return false;
}

static bool map_name(const char *arch, const char *name, bool to_gguf, int n_head, int n_head_kv, char *out,
                     size_t cap, int *perm) {
    *perm = 0;
    if (!arch || !wk_hf_class_of(arch, NULL)) return false;
    if (!strcmp(arch, "bert")) return map_bert(name, to_gguf, out, cap);
    for (size_t i = 0; i < sizeof k_global / sizeof *k_global; i++)
        if (!strcmp(name, to_gguf ? k_global[i].hf : k_global[i].gg))
            return (size_t)snprintf(out, cap, "%s", to_gguf ? k_global[i].gg : k_global[i].hf) < cap;
    unsigned long layer;
    const char *p = after_layer(name, to_gguf ? "model.layers." : "blk.", &layer);
    if (!p) return false;
    for (size_t i = 0; i < sizeof k_layer / sizeof *k_layer; i++) {
        const char *only = k_layer[i].only;
        if (only && (only[0] == '!' ? !strcmp(only + 1, arch) : strcmp(only, arch) != 0)) continue;
        if (strcmp(p, to_gguf ? k_layer[i].hf : k_layer[i].gg)) continue;
        if (!strcmp(arch, "llama") && k_layer[i].perm) *perm = k_layer[i].perm == 1 ? n_head : n_head_kv;
        const int n = to_gguf ? snprintf(out, cap, "blk.%lu.%s", layer, k_layer[i].gg)
                              : snprintf(out, cap, "model.layers.%lu.%s", layer, k_layer[i].hf);
        return n > 0 && (size_t)n < cap;
    }
    return false;
}

bool wk_hf_to_gguf_name(const char *arch, const char *hf, int n_head, int n_head_kv, char *out, size_t cap,
                        int *permute_heads) {
    return map_name(arch, hf, true, n_head, n_head_kv, out, cap, permute_heads);
}

bool wk_gguf_to_hf_name(const char *arch, const char *gguf, int n_head, int n_head_kv, char *out, size_t cap,
                        int *permute_heads) {
    return map_name(arch, gguf, false, n_head, n_head_kv, out, cap, permute_heads);
}

bool wk_hf_norm_plus_one(const char *arch, const char *hf) {
    if (!arch || strcmp(arch, "gemma3") || !hf) return false;
    const size_t n = strlen(hf);
    return n >= 11 && !strcmp(hf + n - 11, "norm.weight");
}

bool wk_hf_permute_rows(const void *src, void *dst, int64_t n_rows, size_t row_bytes, int n_heads, bool inverse) {
    if (n_heads <= 0 || n_rows % n_heads || (n_rows / n_heads) % 2) return false;
    const int64_t hd = n_rows / n_heads, half = hd / 2;
    const char *s = src;
    char *d = dst;
    for (int64_t h = 0; h < n_heads; h++)
        for (int64_t i = 0; i < half; i++)
            for (int64_t j = 0; j < 2; j++) {
                const int64_t gg = h * hd + 2 * i + j, hf = h * hd + j * half + i;
                const int64_t from = inverse ? gg : hf, to = inverse ? hf : gg;
                memcpy(d + (size_t)to * row_bytes, s + (size_t)from * row_bytes, row_bytes);
            }
    return true;
}
