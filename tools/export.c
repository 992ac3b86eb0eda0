/* export.c — `wick export IN.gguf OUT_DIR --to safetensors`: a GGUF model as a Hugging Face
 * directory: model.safetensors (HF tensor names, the llama Q/K permutation undone, F32,
 * F16 or BF16; quantized tensors dequantized to F32 or to --dtype), config.json,
 * tokenizer.json (byte-level BPE) or tokenizer.model (SentencePiece protobuf), and
 * tokenizer_config.json / generation_config.json with the special tokens and the chat
 * template. `wick convert` reads the directory back to the same tensors and metadata.
 * The directory is built beside OUT_DIR and renamed into place: no partial output. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "common.h"
#include "gguf/gguf.h"
#include "hf_tokenizer.h"
#include "src/convert/hf.h"
#include "src/convert/safetensors.h"
#include "src/quant/quant.h"

#define CMD "wick export"

static void usage(FILE *f) {
    fprintf(f, "usage: wick export IN.gguf OUT_DIR [--to safetensors] [--dtype f32|f16|bf16]\n"
               "  writes OUT_DIR (new or empty) as a Hugging Face model directory: model.safetensors,\n"
               "  config.json, tokenizer.json or tokenizer.model, tokenizer_config.json, generation_config.json.\n"
               "  F32/F16/BF16 tensors keep their type; quantized ones are dequantized to --dtype\n"
               "  (default f32). Architectures: llama (and mistral/smollm), qwen2, qwen3, gemma3, phi3.\n"
               "exit: 0 done, 1 failed (unreadable or unsupported input, unwritable output), 2 bad usage\n");
}

/* a metadata u32 (any unsigned/signed 32-bit type) or dflt */
static long kv_u32(const wk_gguf *g, const char *key, long dflt) {
    uint32_t u;
    int32_t i;
    if (wk_gguf_get_u32(g, key, &u) == WK_GGUF_OK) return (long)u;
    if (wk_gguf_get_i32(g, key, &i) == WK_GGUF_OK) return (long)i;
    return dflt;
}

static void rm_tree(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[4300];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        remove(p);
    }
    if (d) closedir(d);
    rmdir(dir);
}

/* one tensor's safetensors bytes, made when the file is written (one tensor in memory at a
 * time): dequantized (then narrowed to the --dtype) when quantized, gemma3 norms as w = g - 1,
 * llama q/k rows put back in HF order */
typedef struct {
    const wk_gguf_tensor *t;
    wk_st_dtype dt;
    int perm;
    int minus_one;
} xjob;

static int export_fill(void *user, void *dst, uint64_t nbytes) {
    const xjob *j = user;
    const wk_gguf_tensor *t = j->t;
    const size_t es = wk_st_dtype_size(j->dt);
    if (t->n_elements * es != nbytes) return 1;
    void *buf = j->perm ? malloc((size_t)nbytes) : dst;
    float *f = NULL;
    if (!buf) return 1;
    if (t->type == WK_TYPE_F32 || t->type == WK_TYPE_F16 || t->type == WK_TYPE_BF16) {
        memcpy(buf, t->data, (size_t)nbytes);
    } else {
        f = j->dt == WK_ST_F32 ? buf : malloc((size_t)t->n_elements * sizeof *f);
        if (!f) {
            if (buf != dst) free(buf);
            return 1;
        }
        const size_t row = (size_t)(t->nbytes / (uint64_t)(t->ne[1] * t->ne[2] * t->ne[3]));
        for (int64_t r = 0; r < t->ne[1]; r++)
            wk_dequantize_row((wk_type)t->type, (const char *)t->data + (size_t)r * row, f + (size_t)r * (size_t)t->ne[0],
                              t->ne[0]);
        if (j->dt != WK_ST_F32) {
            uint16_t *h = buf;
            for (uint64_t k = 0; k < t->n_elements; k++) h[k] = j->dt == WK_ST_F16 ? wk_fp32_to_fp16(f[k]) : wk_fp32_to_bf16(f[k]);
            free(f);
        }
    }
    if (j->minus_one) { /* f32, unaligned-safe */
        for (uint64_t k = 0; k < t->n_elements; k++) {
            float v;
            memcpy(&v, (char *)buf + 4 * k, 4);
            v -= 1.0f;
            memcpy((char *)buf + 4 * k, &v, 4);
        }
    }
    if (j->perm) {
        const int ok = wk_hf_permute_rows(buf, dst, t->ne[1], (size_t)t->ne[0] * es, j->perm, true);
        free(buf);
        if (!ok) return 1;
    }
    return 0;
}

int wk_cmd_export(int argc, char **argv) {
    const char *pos[2] = {NULL, NULL}, *to = "safetensors", *dtype = "f32";
    int np = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--to") || !strcmp(a, "--dtype")) {
            if (i + 1 >= argc) {
                fprintf(stderr, CMD ": %s needs a value\n", a);
                return 2;
            }
            *(!strcmp(a, "--to") ? &to : &dtype) = argv[++i];
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
        fprintf(stderr, CMD ": expected IN.gguf and OUT_DIR (see --help)\n");
        return 2;
    }
    if (strcmp(to, "safetensors")) {
        fprintf(stderr, CMD ": --to '%s': only safetensors is supported\n", to);
        return 2;
    }
    wk_st_dtype qdt;
    if (!strcmp(dtype, "f32")) qdt = WK_ST_F32;
    else if (!strcmp(dtype, "f16")) qdt = WK_ST_F16;
    else if (!strcmp(dtype, "bf16")) qdt = WK_ST_BF16;
    else {
        fprintf(stderr, CMD ": --dtype '%s' is not f32, f16 or bf16\n", dtype);
        return 2;
    }
    const char *out = pos[1];
    struct stat sb;
    if (stat(out, &sb) == 0) {
        DIR *d = S_ISDIR(sb.st_mode) ? opendir(out) : NULL;
        int n = 0;
        struct dirent *e;
        while (d && (e = readdir(d))) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
        if (d) closedir(d);
        if (!S_ISDIR(sb.st_mode) || n) {
            fprintf(stderr, CMD ": %s exists and is not an empty directory\n", out);
            return 1;
        }
    }

    wk_gguf *g = NULL;
    if (wk_gguf_open(pos[0], &g) != WK_GGUF_OK) {
        fprintf(stderr, CMD ": %s\n", wk_gguf_last_error());
        return 1;
    }
    int rc = 1;
    char tmpdir[4200] = "";
    wk_st_writer *w = NULL;
    xjob *jobs = NULL;
    cJSON *cfg = NULL;
    const char *arch = NULL;
    uint64_t alen = 0;
    char archbuf[64];
    if (wk_gguf_get_str(g, "general.architecture", &arch, &alen) != WK_GGUF_OK || alen >= sizeof archbuf) {
        fprintf(stderr, CMD ": %s has no general.architecture\n", pos[0]);
        goto done;
    }
    snprintf(archbuf, sizeof archbuf, "%.*s", (int)alen, arch);
    arch = archbuf;
    const char *model_type = NULL, *cls = wk_hf_class_of(arch, &model_type);
    if (!cls) {
        fprintf(stderr, CMD ": architecture '%s' cannot be exported yet (llama, qwen2, qwen3, gemma3, phi3)\n", arch);
        goto done;
    }
    char key[128];
#define AK(k) (snprintf(key, sizeof key, "%s.%s", arch, k), key)
    const long n_embd = kv_u32(g, AK("embedding_length"), -1), n_layer = kv_u32(g, AK("block_count"), -1);
    const long n_head = kv_u32(g, AK("attention.head_count"), -1);
    const long n_head_kv = kv_u32(g, AK("attention.head_count_kv"), n_head);
    const long n_ff = kv_u32(g, AK("feed_forward_length"), -1), n_ctx = kv_u32(g, AK("context_length"), -1);
    if (n_embd <= 0 || n_layer <= 0 || n_head <= 0 || n_head_kv <= 0 || n_ff <= 0 || n_ctx <= 0) {
        fprintf(stderr, CMD ": %s lacks %s hyper-parameters (embedding, block count, heads, feed-forward, context)\n",
                pos[0], arch);
        goto done;
    }
    for (uint64_t i = 0; i < wk_gguf_n_kv(g); i++) { /* a model HF config.json would describe wrongly */
        char pre[96];
        snprintf(pre, sizeof pre, "%s.rope.scaling.", arch);
        if (!strncmp(wk_gguf_kv_key(g, i), pre, strlen(pre))) {
            fprintf(stderr, CMD ": %s has RoPE scaling (%s), which wick export does not write yet\n", pos[0],
                    wk_gguf_kv_key(g, i));
            goto done;
        }
    }
    /* the directory, built beside OUT_DIR */
    snprintf(tmpdir, sizeof tmpdir, "%s.export-tmp.%ld", out, (long)getpid());
    if (mkdir(tmpdir, 0755)) {
        fprintf(stderr, CMD ": cannot create %s: %s\n", tmpdir, strerror(errno));
        tmpdir[0] = 0;
        goto done;
    }
    /* tensors */
    const uint64_t nt = wk_gguf_n_tensors(g);
    w = wk_st_writer_new();
    jobs = calloc(nt ? nt : 1, sizeof *jobs);
    if (!w || !jobs) goto oom;
    int has_output = 0;
    int64_t n_vocab = -1;
    for (uint64_t i = 0; i < nt; i++) {
        const wk_gguf_tensor *t = wk_gguf_tensor_at(g, i);
        char hf[256];
        int perm = 0;
        if (!wk_gguf_to_hf_name(arch, t->name, (int)n_head, (int)n_head_kv, hf, sizeof hf, &perm)) {
            fprintf(stderr, CMD ": tensor %s has no Hugging Face name for %s\n", t->name, arch);
            goto done;
        }
        has_output |= !strcmp(t->name, "output.weight");
        if (!strcmp(t->name, "token_embd.weight")) n_vocab = t->ne[1];
        if (t->n_dims > 2 || t->ne[2] != 1 || t->ne[3] != 1) {
            fprintf(stderr, CMD ": tensor %s has more than 2 dimensions\n", t->name);
            goto done;
        }
        wk_st_dtype dt = qdt; /* quantized tensors are dequantized and stored as --dtype */
        if (t->type == WK_TYPE_F32 || t->type == WK_TYPE_F16 || t->type == WK_TYPE_BF16)
            dt = t->type == WK_TYPE_F32 ? WK_ST_F32 : t->type == WK_TYPE_F16 ? WK_ST_F16 : WK_ST_BF16;
        if (perm && (t->ne[1] % perm || (t->ne[1] / perm) % 2)) {
            fprintf(stderr, CMD ": %s: %lld rows do not split into %d heads of even size\n", t->name,
                    (long long)t->ne[1], perm);
            goto done;
        }
        jobs[i] = (xjob){t, dt, perm, wk_hf_norm_plus_one(arch, hf) && dt == WK_ST_F32};
        const int64_t shape[2] = {t->n_dims > 1 ? t->ne[1] : t->ne[0], t->ne[0]};
        if (wk_st_writer_add_fill(w, hf, dt, t->n_dims > 1 ? 2 : 1, t->n_dims > 1 ? shape : shape + 1, export_fill,
                                  &jobs[i])) {
            fprintf(stderr, CMD ": %s\n", wk_st_last_error());
            goto done;
        }
    }
    wk_st_writer_add_metadata(w, "format", "pt");
    char path[4400];
    snprintf(path, sizeof path, "%s/model.safetensors", tmpdir);
    if (wk_st_writer_write(w, path)) {
        fprintf(stderr, CMD ": %s\n", wk_st_last_error());
        goto done;
    }
    /* config.json */
    const long n_vocab_kv = kv_u32(g, AK("vocab_size"), -1);
    if (n_vocab_kv > 0) n_vocab = n_vocab_kv;
    cfg = cJSON_CreateObject();
    if (!cfg) goto oom;
    cJSON *archs = cJSON_AddArrayToObject(cfg, "architectures");
    cJSON_AddItemToArray(archs, cJSON_CreateString(cls));
    cJSON_AddStringToObject(cfg, "model_type", model_type);
    const char *name = NULL;
    uint64_t nl = 0;
    if (wk_gguf_get_str(g, "general.name", &name, &nl) == WK_GGUF_OK) {
        char *s = strndup(name, nl);
        if (s) cJSON_AddStringToObject(cfg, "_name_or_path", s);
        free(s);
    }
    cJSON_AddNumberToObject(cfg, "hidden_size", (double)n_embd);
    cJSON_AddNumberToObject(cfg, "intermediate_size", (double)n_ff);
    cJSON_AddNumberToObject(cfg, "num_hidden_layers", (double)n_layer);
    cJSON_AddNumberToObject(cfg, "num_attention_heads", (double)n_head);
    cJSON_AddNumberToObject(cfg, "num_key_value_heads", (double)n_head_kv);
    cJSON_AddNumberToObject(cfg, "max_position_embeddings", (double)n_ctx);
    cJSON_AddNumberToObject(cfg, "vocab_size", (double)n_vocab);
    const long rope_dim = kv_u32(g, AK("rope.dimension_count"), kv_u32(g, AK("attention.key_length"), -1));
    if (rope_dim > 0) cJSON_AddNumberToObject(cfg, "head_dim", (double)rope_dim);
    const long swa = kv_u32(g, AK("attention.sliding_window"), -1);
    if (swa > 0) cJSON_AddNumberToObject(cfg, "sliding_window", (double)swa);
    if (!strcmp(arch, "gemma3")) { /* HF Gemma3TextConfig fields the forward pass needs */
        cJSON_AddNumberToObject(cfg, "query_pre_attn_scalar", (double)(rope_dim > 0 ? rope_dim : n_embd / n_head));
        cJSON_AddNumberToObject(cfg, "rope_local_base_freq", 10000.0);
        cJSON_AddNumberToObject(cfg, "sliding_window_pattern", 6);
    }
    float fv;
    if (wk_gguf_get_f32(g, AK("attention.layer_norm_rms_epsilon"), &fv) == WK_GGUF_OK)
        cJSON_AddItemToObject(cfg, "rms_norm_eps", cJSON_CreateRaw((snprintf(key, sizeof key, "%.9g", (double)fv), key)));
    if (wk_gguf_get_f32(g, AK("rope.freq_base"), &fv) == WK_GGUF_OK)
        cJSON_AddItemToObject(cfg, "rope_theta", cJSON_CreateRaw((snprintf(key, sizeof key, "%.9g", (double)fv), key)));
    cJSON_AddBoolToObject(cfg, "tie_word_embeddings", !has_output);
    cJSON_AddStringToObject(cfg, "torch_dtype", "float32");
    cJSON_AddStringToObject(cfg, !strcmp(arch, "gemma3") ? "hidden_activation" : "hidden_act",
                            !strcmp(arch, "gemma3") ? "gelu_pytorch_tanh" : "silu");
#undef AK
    if (wk_hf_write_json(CMD, tmpdir, "config.json", cfg)) goto done;
    /* tokenizer files */
    if (wk_hf_tokenizer_export(CMD, g, tmpdir)) goto done;
    /* into place */
    if (rmdir(out) && errno != ENOENT) {
        fprintf(stderr, CMD ": cannot replace %s: %s\n", out, strerror(errno));
        goto done;
    }
    if (rename(tmpdir, out)) {
        fprintf(stderr, CMD ": cannot rename %s to %s: %s\n", tmpdir, out, strerror(errno));
        goto done;
    }
    tmpdir[0] = 0;
    fprintf(stderr, CMD ": %s (%s, %llu tensors) -> %s\n", pos[0], arch, (unsigned long long)nt, out);
    rc = 0;
    goto done;
oom:
    fprintf(stderr, CMD ": out of memory\n");
done:
    if (tmpdir[0]) rm_tree(tmpdir);
    cJSON_Delete(cfg);
    wk_st_writer_free(w);
    free(jobs);
    wk_gguf_free(g);
    return rc;
}
