/* convert.c — `wick convert HF_DIR OUT.gguf [--outtype f32|f16|bf16|<quantize type>]`: a
 * Hugging Face model directory to GGUF, without Python. Reads config.json, model.safetensors
 * or the shards named by model.safetensors.index.json, the tokenizer (hf_tokenizer.c) and
 * tokenizer_config.json / generation_config.json; maps hparams and tensor names for the
 * llama family (llama, mistral, smollm), qwen2 and qwen3 (src/convert/hf.c), applying the
 * llama Q/K row permutation. Tensors stream from the mapped safetensors into the GGUF
 * writer (one at a time), which writes atomically; 1-D tensors (norms, biases) stay F32
 * as llama.cpp's converter keeps them. A quantized --outtype goes through an F16 file and
 * `wick quantize`. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "common.h"
#include "gguf/gguf.h"
#include "hf_tokenizer.h"
#include "src/convert/hf.h"
#include "src/convert/safetensors.h"
#include "src/quant/mix.h"

#define CMD "wick convert"
#define MAX_SHARDS 256

static void usage(FILE *f) {
    fprintf(f, "usage: wick convert HF_DIR OUT.gguf [--outtype f32|f16|bf16|q8_0|Q4_K_M|...] [--threads N]\n"
               "  HF_DIR holds config.json, model.safetensors (or model-*.safetensors with\n"
               "  model.safetensors.index.json), tokenizer.json or tokenizer.model, and optionally\n"
               "  tokenizer_config.json and generation_config.json.\n"
               "  Architectures: LlamaForCausalLM (llama, smollm), MistralForCausalLM, Qwen2ForCausalLM,\n"
               "  Qwen3ForCausalLM, Gemma3ForCausalLM, Phi3ForCausalLM, BertModel (sentence-transformers pooling from 1_Pooling/config.json). --outtype f32 (default: f16) keeps matrices at that type; a\n"
               "  `wick quantize` type converts to F16 first, then quantizes.\n"
               "exit: 0 done, 1 failed (unreadable, malformed or unsupported input), 2 bad usage\n");
}

/* a config number: integer in [lo, hi] (dflt when absent; -2 when present but bad) */
static long cfg_int(const cJSON *c, const char *key, long dflt, long lo, long hi) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, key);
    if (!v || cJSON_IsNull(v)) return dflt;
    if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi || floor(v->valuedouble) != v->valuedouble)
        return -2;
    return (long)v->valuedouble;
}

typedef struct {
    const wk_st_tensor *src;
    wk_type out;
    int perm; /* heads to permute rows by (0: none) */
    int plus_one; /* gemma3 norms: stored as 1 + w */
    size_t idx, total; /* for the progress line */
} job;

static float load(const wk_st_tensor *t, uint64_t i) {
    const unsigned char *p = (const unsigned char *)t->data + i * wk_st_dtype_size(t->dtype);
    uint16_t h;
    float f;
    switch (t->dtype) {
    case WK_ST_F32: memcpy(&f, p, 4); return f;
    case WK_ST_F16: memcpy(&h, p, 2); return wk_fp16_to_fp32(h);
    case WK_ST_BF16: memcpy(&h, p, 2); return wk_bf16_to_fp32(h);
    default: return NAN;
    }
}

/* the GGUF bytes of one tensor: converted to the output type, rows permuted for llama q/k */
static int fill(void *user, void *dst, uint64_t nbytes) {
    const job *j = user;
    const wk_st_tensor *t = j->src;
    const size_t es = wk_type_size(j->out);
    if (t->n_elements * es != nbytes) return 1;
    const int same = !j->plus_one && ((t->dtype == WK_ST_F32 && j->out == WK_TYPE_F32) ||
                                      (t->dtype == WK_ST_F16 && j->out == WK_TYPE_F16) ||
                                      (t->dtype == WK_ST_BF16 && j->out == WK_TYPE_BF16));
    void *conv = dst;
    if (j->perm && !(conv = malloc(nbytes))) return 1;
    if (same) memcpy(conv, t->data, nbytes);
    else
        for (uint64_t i = 0; i < t->n_elements; i++) {
            const float v = load(t, i);
            if (j->out == WK_TYPE_F32) {
                const float w = j->plus_one ? v + 1.0f : v;
                memcpy((char *)conv + 4 * i, &w, 4);
            }
            else {
                const uint16_t h = j->out == WK_TYPE_F16 ? wk_fp32_to_fp16(v) : wk_fp32_to_bf16(v);
                memcpy((char *)conv + 2 * i, &h, 2);
            }
        }
    if (j->perm) {
        const int64_t rows = t->shape[0];
        const int ok = wk_hf_permute_rows(conv, dst, rows, nbytes / (uint64_t)rows, j->perm, false);
        free(conv);
        if (!ok) return 1;
    }
    const int width = 30, done = (int)((j->idx + 1) * (size_t)width / j->total);
    if (isatty(2)) /* a progress bar on terminals; logs get the summary lines only */
        fprintf(stderr, "\r" CMD ": [%.*s%*s] %zu/%zu tensors%s", done, "==============================", width - done, "",
            j->idx + 1, j->total, j->idx + 1 == j->total ? "\n" : "");
    return 0;
}

int wk_cmd_convert(int argc, char **argv) {
    const char *pos[2] = {NULL, NULL}, *outtype = "f16";
    long threads = 0;
    int np = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--outtype") || !strcmp(a, "--threads") || !strcmp(a, "-t")) {
            if (i + 1 >= argc) {
                fprintf(stderr, CMD ": %s needs a value\n", a);
                return 2;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--outtype")) outtype = v;
            else if (!wk_tool_parse_long(v, 1, 4096, &threads)) {
                fprintf(stderr, CMD ": --threads '%s' is not a number in [1, 4096]\n", v);
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, CMD ": unknown option '%s'\n", a);
            return 2;
        } else if (np < 2) {
            pos[np++] = a;
        } else {
            fprintf(stderr, CMD ": unexpected argument '%s'\n", a);
            return 2;
        }
    }
    if (np != 2) {
        fprintf(stderr, CMD ": expected HF_DIR and OUT.gguf (see --help)\n");
        return 2;
    }
    wk_type mat_type;
    int quantize = 0;
    if (!strcasecmp(outtype, "f32")) mat_type = WK_TYPE_F32;
    else if (!strcasecmp(outtype, "f16")) mat_type = WK_TYPE_F16;
    else if (!strcasecmp(outtype, "bf16")) mat_type = WK_TYPE_BF16;
    else if (wk_mix_find(outtype)) mat_type = WK_TYPE_F16, quantize = 1;
    else {
        fprintf(stderr, CMD ": --outtype '%s' is not f32, f16, bf16 or a `wick quantize` type\n", outtype);
        return 2;
    }
    const char *dir = pos[0], *out = pos[1];
    int rc = 1;
    cJSON *cfg = NULL, *idx = NULL;
    wk_st_file *shards[MAX_SHARDS] = {0};
    int n_shards = 0;
    wk_gguf_writer *w = NULL;
    job *jobs = NULL;
    char tmp[4300] = "";
    int bad = 0;
    if (!(cfg = wk_hf_read_json(CMD, dir, "config.json", true, &bad))) return 1;
    const cJSON *archs = cJSON_GetObjectItemCaseSensitive(cfg, "architectures");
    const cJSON *cls = cJSON_IsArray(archs) ? cJSON_GetArrayItem(archs, 0) : NULL;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(cfg, "model_type");
    const char *arch = wk_hf_arch(cJSON_IsString(cls) ? cls->valuestring : NULL, cJSON_IsString(mt) ? mt->valuestring : NULL);
    if (!arch) {
        fprintf(stderr, CMD ": %s is not an architecture wick converts yet (llama, mistral, qwen2, qwen3, gemma3, phi3, bert)\n",
                cJSON_IsString(cls) ? cls->valuestring : cJSON_IsString(mt) ? mt->valuestring : "config.json's model");
        goto done;
    }
    const long n_embd = cfg_int(cfg, "hidden_size", -1, 1, 1 << 20), n_layer = cfg_int(cfg, "num_hidden_layers", -1, 1, 4096);
    const long n_head = cfg_int(cfg, "num_attention_heads", -1, 1, 1 << 16);
    const long n_head_kv = cfg_int(cfg, "num_key_value_heads", n_head, 1, 1 << 16);
    const long n_ff = cfg_int(cfg, "intermediate_size", -1, 1, 1 << 22);
    const long n_ctx = cfg_int(cfg, "max_position_embeddings", -1, 1, 1L << 31);
    const long n_vocab = cfg_int(cfg, "vocab_size", -1, 1, 1 << 24);
    const long head_dim = cfg_int(cfg, "head_dim", n_embd > 0 && n_head > 0 ? n_embd / n_head : -1, 1, 1 << 16);
    const int bert = !strcmp(arch, "bert");
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(cfg, bert ? "layer_norm_eps" : "rms_norm_eps");
    const long n_types = bert ? cfg_int(cfg, "type_vocab_size", 2, 1, 1 << 16) : 0;
    const cJSON *theta = cJSON_GetObjectItemCaseSensitive(cfg, "rope_theta");
    if (n_embd < 0 || n_layer < 0 || n_head < 0 || n_head_kv < 0 || n_ff < 0 || n_ctx < 0 || n_vocab < 0 || head_dim < 0 ||
        n_types < 0 || !cJSON_IsNumber(eps) || !(eps->valuedouble > 0) ||
        (theta && !cJSON_IsNull(theta) && !cJSON_IsNumber(theta))) {
        fprintf(stderr, CMD ": %s/config.json: missing or bad hidden_size, num_hidden_layers, num_attention_heads, "
                        "num_key_value_heads, intermediate_size, max_position_embeddings, vocab_size, head_dim, "
                        "type_vocab_size or %s\n", dir, bert ? "layer_norm_eps" : "rms_norm_eps");
        goto done;
    }
    /* BERT (sentence-transformers): the pooling of 1_Pooling/config.json (mean 1, CLS 2) */
    long pooling = -1;
    if (bert) {
        cJSON *pc = wk_hf_read_json(CMD, dir, "1_Pooling/config.json", false, &bad);
        if (bad) goto done;
        if (pc) {
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pc, "pooling_mode_mean_tokens"))) pooling = 1;
            else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pc, "pooling_mode_cls_token"))) pooling = 2;
            cJSON_Delete(pc);
        }
    }
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(cfg, "rope_scaling");
    if (rs && !cJSON_IsNull(rs)) {
        fprintf(stderr, CMD ": config.json: rope_scaling is not converted yet (only plain RoPE)\n");
        goto done;
    }
    if (n_head % n_head_kv) {
        fprintf(stderr, CMD ": config.json: %ld attention heads do not split into %ld key/value heads\n", n_head, n_head_kv);
        goto done;
    }
    /* the safetensors files */
    char p[4300];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    if (access(p, F_OK) == 0) {
        if (wk_st_open(p, &shards[0])) {
            fprintf(stderr, CMD ": %s\n", wk_st_last_error());
            goto done;
        }
        n_shards = 1;
    } else if ((idx = wk_hf_read_json(CMD, dir, "model.safetensors.index.json", false, &bad))) {
        const cJSON *wm = cJSON_GetObjectItemCaseSensitive(idx, "weight_map"), *e;
        if (!cJSON_IsObject(wm)) {
            fprintf(stderr, CMD ": model.safetensors.index.json has no weight_map\n");
            goto done;
        }
        const char *names[MAX_SHARDS];
        cJSON_ArrayForEach(e, wm) {
            if (!cJSON_IsString(e) || strchr(e->valuestring, '/') || !strcmp(e->valuestring, "..")) {
                fprintf(stderr, CMD ": weight_map entry '%.60s' is not a file name in the directory\n", e->string);
                goto done;
            }
            int k = 0;
            while (k < n_shards && strcmp(names[k], e->valuestring)) k++;
            if (k < n_shards) continue;
            if (n_shards == MAX_SHARDS) {
                fprintf(stderr, CMD ": more than %d shards\n", MAX_SHARDS);
                goto done;
            }
            names[n_shards] = e->valuestring;
            snprintf(p, sizeof p, "%s/%s", dir, e->valuestring);
            if (wk_st_open(p, &shards[n_shards])) {
                fprintf(stderr, CMD ": %s\n", wk_st_last_error());
                goto done;
            }
            n_shards++;
        }
    } else { /* (a bad index has said so already) */
        if (!bad) fprintf(stderr, CMD ": %s has neither model.safetensors nor model.safetensors.index.json\n", dir);
        goto done;
    }
    /* metadata */
    if (wk_gguf_writer_new(&w) != WK_GGUF_OK) goto oom;
    char key[128];
#define AK(k) (snprintf(key, sizeof key, "%s.%s", arch, k), key)
    wk_gguf_status gs = wk_gguf_writer_add_str(w, "general.architecture", arch, strlen(arch));
    if (!gs) gs = wk_gguf_writer_add_str(w, "general.type", "model", 5);
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(cfg, "_name_or_path");
    if (!gs && cJSON_IsString(nm) && *nm->valuestring)
        gs = wk_gguf_writer_add_str(w, "general.name", nm->valuestring, strlen(nm->valuestring));
    if (!gs) gs = wk_gguf_writer_add_u32(w, AK("context_length"), (uint32_t)n_ctx);
    if (!gs) gs = wk_gguf_writer_add_u32(w, AK("embedding_length"), (uint32_t)n_embd);
    if (!gs) gs = wk_gguf_writer_add_u32(w, AK("block_count"), (uint32_t)n_layer);
    if (!gs) gs = wk_gguf_writer_add_u32(w, AK("feed_forward_length"), (uint32_t)n_ff);
    if (!gs) gs = wk_gguf_writer_add_u32(w, AK("attention.head_count"), (uint32_t)n_head);
    if (!gs) gs = wk_gguf_writer_add_u32(w, "general.file_type", mat_type == WK_TYPE_F32 ? 0 : mat_type == WK_TYPE_F16 ? 1 : 32);
    if (bert) { /* llama.cpp's keys for a BERT encoder */
        if (!gs) gs = wk_gguf_writer_add_f32(w, AK("attention.layer_norm_epsilon"), (float)eps->valuedouble);
        if (!gs) gs = wk_gguf_writer_add_bool(w, AK("attention.causal"), 0);
        if (!gs && pooling > 0) gs = wk_gguf_writer_add_u32(w, AK("pooling_type"), (uint32_t)pooling);
        if (!gs) gs = wk_gguf_writer_add_u32(w, "tokenizer.ggml.token_type_count", (uint32_t)n_types);
    } else if (!strcmp(arch, "gemma3")) { /* llama.cpp's gemma3 keys */
        const long swa = cfg_int(cfg, "sliding_window", 0, 0, 1L << 30);
        if (!gs) gs = wk_gguf_writer_add_f32(w, AK("attention.layer_norm_rms_epsilon"), (float)eps->valuedouble);
        if (!gs) gs = wk_gguf_writer_add_u32(w, AK("attention.key_length"), (uint32_t)head_dim);
        if (!gs) gs = wk_gguf_writer_add_u32(w, AK("attention.value_length"), (uint32_t)head_dim);
        if (!gs && cJSON_IsNumber(theta)) gs = wk_gguf_writer_add_f32(w, AK("rope.freq_base"), (float)theta->valuedouble);
        if (!gs && swa > 0) gs = wk_gguf_writer_add_u32(w, AK("attention.sliding_window"), (uint32_t)swa);
        if (!gs) gs = wk_gguf_writer_add_u32(w, AK("attention.head_count_kv"), (uint32_t)n_head_kv);
    } else {
        const long swa = !strcmp(arch, "phi3") ? cfg_int(cfg, "sliding_window", 0, 0, 1L << 30) : 0;
        if (!gs && swa > 0) gs = wk_gguf_writer_add_u32(w, AK("attention.sliding_window"), (uint32_t)swa);
        if (!gs) gs = wk_gguf_writer_add_u32(w, AK("attention.head_count_kv"), (uint32_t)n_head_kv);
        if (!gs && cJSON_IsNumber(theta)) gs = wk_gguf_writer_add_f32(w, AK("rope.freq_base"), (float)theta->valuedouble);
        if (!gs) gs = wk_gguf_writer_add_f32(w, AK("attention.layer_norm_rms_epsilon"), (float)eps->valuedouble);
        if (!gs) gs = wk_gguf_writer_add_u32(w, AK("vocab_size"), (uint32_t)n_vocab);
        if (!gs) gs = wk_gguf_writer_add_u32(w, AK("rope.dimension_count"), (uint32_t)head_dim);
    }
#undef AK
    if (gs) {
        fprintf(stderr, CMD ": %s\n", wk_gguf_last_error());
        goto done;
    }
    int64_t n_tok = 0;
    if (wk_hf_tokenizer_import(CMD, dir, w, &n_tok)) goto done;
    if (n_tok > n_vocab) {
        fprintf(stderr, CMD ": the tokenizer has %lld tokens, more than config.json's vocab_size %ld\n", (long long)n_tok,
                n_vocab);
        goto done;
    }
    /* tensors, in the files' order */
    size_t total = 0;
    for (int s = 0; s < n_shards; s++) total += wk_st_n_tensors(shards[s]);
    if (!(jobs = calloc(total ? total : 1, sizeof *jobs))) goto oom;
    size_t nj = 0;
    int has_embd = 0;
    for (int s = 0; s < n_shards; s++)
        for (size_t i = 0; i < wk_st_n_tensors(shards[s]); i++) {
            const wk_st_tensor *t = wk_st_tensor_at(shards[s], i);
            char gn[WK_GGUF_MAX_NAME + 64];
            int perm = 0;
            if (strstr(t->name, "rotary_emb.inv_freq")) continue; /* derived, not a weight */
            if (bert && (strstr(t->name, "embeddings.position_ids") || strstr(t->name, "pooler."))) continue; /* unused */
            if (!wk_hf_to_gguf_name(arch, t->name, (int)n_head, (int)n_head_kv, gn, sizeof gn, &perm)) {
                fprintf(stderr, CMD ": tensor %s has no GGUF name for %s\n", t->name, arch);
                goto done;
            }
            if (strlen(gn) >= WK_GGUF_MAX_NAME) {
                fprintf(stderr, CMD ": tensor name %s is too long for GGUF\n", gn);
                goto done;
            }
            if (t->dtype != WK_ST_F32 && t->dtype != WK_ST_F16 && t->dtype != WK_ST_BF16) {
                fprintf(stderr, CMD ": tensor %s has dtype %s; F32, F16 and BF16 are converted\n", t->name,
                        wk_st_dtype_name(t->dtype));
                goto done;
            }
            if (t->n_dims < 1 || t->n_dims > 2 || t->n_elements == 0) {
                fprintf(stderr, CMD ": tensor %s has %d dimensions (1 or 2 expected)\n", t->name, t->n_dims);
                goto done;
            }
            has_embd |= !strcmp(gn, "token_embd.weight");
            /* GGUF ne is the PyTorch shape reversed */
            const int64_t ne[2] = {t->shape[t->n_dims - 1], t->n_dims == 2 ? t->shape[0] : 1};
            jobs[nj] = (job){t, t->n_dims == 1 ? WK_TYPE_F32 : mat_type, perm, wk_hf_norm_plus_one(arch, t->name), 0, 0};
            if (perm && (ne[1] % perm || (ne[1] / perm) % 2)) {
                fprintf(stderr, CMD ": %s: %lld rows do not split into %d heads of even size\n", t->name,
                        (long long)ne[1], perm);
                goto done;
            }
            if ((gs = wk_gguf_writer_add_tensor_fill(w, gn, jobs[nj].out, (uint32_t)t->n_dims, ne, fill, &jobs[nj]))) {
                fprintf(stderr, CMD ": %s: %s\n", gn, wk_gguf_last_error());
                goto done;
            }
            nj++;
        }
    for (size_t k = 0; k < nj; k++) jobs[k].idx = k, jobs[k].total = nj;
    if (!has_embd) {
        fprintf(stderr, CMD ": no token embedding (%s) in the safetensors\n",
                bert ? "embeddings.word_embeddings.weight" : "model.embed_tokens.weight");
        goto done;
    }
    const char *dest = out;
    if (quantize) {
        snprintf(tmp, sizeof tmp, "%s.convert-f16.tmp", out);
        dest = tmp;
    }
    fprintf(stderr, CMD ": %s (%s, %d layers, n_embd %ld, vocab %lld), %zu tensors from %d file(s) -> %s%s\n", dir, arch,
            (int)n_layer, n_embd, (long long)n_tok, nj, n_shards, quantize ? "F16, then " : "", outtype);
    if (wk_gguf_writer_write_file(w, dest) != WK_GGUF_OK) {
        fprintf(stderr, CMD ": writing %s: %s\n", dest, wk_gguf_last_error());
        tmp[0] = 0;
        goto done;
    }
    if (quantize) {
        char tbuf[32];
        snprintf(tbuf, sizeof tbuf, "%ld", threads);
        char *qargv[] = {"quantize", tmp, (char *)out, (char *)outtype, "--threads", tbuf, NULL};
        if (wk_cmd_quantize(threads > 0 ? 6 : 4, qargv)) goto done;
    }
    fprintf(stderr, CMD ": wrote %s\n", out);
    rc = 0;
    goto done;
oom:
    fprintf(stderr, CMD ": out of memory\n");
done:
    if (tmp[0]) remove(tmp);
    free(jobs);
    wk_gguf_writer_free(w);
    for (int s = 0; s < n_shards; s++) wk_st_close(shards[s]);
    cJSON_Delete(cfg), cJSON_Delete(idx);
    return rc;
}
