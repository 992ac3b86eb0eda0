/* hf_tokenizer.c — GGUF tokenizer metadata <-> Hugging Face tokenizer files (hf_tokenizer.h).
 *
 * tokenizer.json (byte-level BPE): model.vocab (token -> id), model.merges ("a b" strings or
 * [a, b] pairs), added_tokens (special: CONTROL, else USER_DEFINED), and the pre-tokenizer,
 * which names tokenizer.ggml.pre: ByteLevel alone is "gpt-2"; Digits(individual) then
 * ByteLevel is "smollm"; a Split on the Llama 3 / Qwen2 regex (formats.md §3.4) is
 * "llama-bpe" / "qwen2". ByteLevel's add_prefix_space is tokenizer.ggml.add_space_prefix.
 *
 * tokenizer.model (SentencePiece ModelProto, protobuf): pieces (1) = {piece 1, score 2, type 3}
 * with the type codes GGUF uses too; trainer_spec (2): model_type 3, vocab_size 4, unk/bos/
 * eos/pad ids 40-43; normalizer_spec (3): add_dummy_prefix 3, which becomes
 * add_space_prefix when present. The decoder bounds-checks every length.
 *
 * tokenizer_config.json: bos/eos/unk/pad/sep token strings (or {"content": ...} objects),
 * add_bos_token / add_eos_token, chat_template (a string, or a list of {name, template}
 * where "default" is taken). generation_config.json: bos/eos/pad ids when the former has none.
 * A key is written only when its source is there, so export -> convert keeps the key set. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "hf_tokenizer.h"

#include <cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char k_llama3_re[] = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
                                  "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char k_llama3_re_i[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                                    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char k_qwen2_re[] = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
                                 "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char k_qwen2_re_i[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
                                   "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

enum { T_NORMAL = 1, T_UNKNOWN = 2, T_CONTROL = 3, T_USER = 4, T_UNUSED = 5, T_BYTE = 6 };

static char *read_text(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap) break;
        char *nb = cap < ((size_t)1 << 34) ? realloc(b, 2 * cap + 1) : NULL;
        if (!nb) free(b);
        b = nb, cap *= 2;
    }
    const int err = ferror(f);
    fclose(f);
    if (!b || err) return free(b), NULL;
    b[n] = 0;
    if (len) *len = n;
    return b;
}

cJSON *wk_hf_read_json(const char *cmd, const char *dir, const char *name, bool required, int *bad) {
    char p[4300];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    size_t len = 0;
    char *s = read_text(p, &len);
    if (!s) {
        if (required || errno != ENOENT) fprintf(stderr, "%s: cannot read %s: %s\n", cmd, p, strerror(errno)), *bad = 1;
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength(s, len);
    free(s);
    if (!j || !cJSON_IsObject(j)) {
        fprintf(stderr, "%s: %s is not a JSON object\n", cmd, p);
        cJSON_Delete(j);
        *bad = 1;
        return NULL;
    }
    return j;
}

static int write_file_atomic(const char *cmd, const char *dir, const char *name, const void *data, size_t len) {
    char p[4300], tmp[4400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    FILE *f = fopen(tmp, "wb");
    const int bad = !f || fwrite(data, 1, len, f) != len;
    if ((f && fclose(f)) || bad || rename(tmp, p)) {
        fprintf(stderr, "%s: cannot write %s: %s\n", cmd, p, strerror(errno ? errno : EIO));
        remove(tmp);
        return 1;
    }
    return 0;
}

int wk_hf_write_json(const char *cmd, const char *dir, const char *name, cJSON *j) {
    char *s = cJSON_Print(j);
    if (!s) return fprintf(stderr, "%s: out of memory\n", cmd), 1;
    const size_t n = strlen(s);
    s[n] = '\n'; /* the NUL becomes a final newline */
    const int rc = write_file_atomic(cmd, dir, name, s, n + 1);
    free(s);
    return rc;
}

/* ---- SentencePiece protobuf ---------------------------------------------------------------- */

typedef struct {
    unsigned char *b;
    size_t n, cap;
    bool oom;
} pbuf;

static void pb_byte(pbuf *p, unsigned char c) {
    if (p->n == p->cap) {
        const size_t cap = p->cap ? 2 * p->cap : 4096;
        unsigned char *nb = realloc(p->b, cap);
        if (!nb) {
            p->oom = true;
            return;
        }
        p->b = nb, p->cap = cap;
    }
    p->b[p->n++] = c;
}
static void pb_varint(pbuf *p, uint64_t v) {
    do {
        pb_byte(p, (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
        v >>= 7;
    } while (v);
}
static void pb_tag(pbuf *p, int field, int wt) { pb_varint(p, (uint64_t)field << 3 | (uint64_t)wt); }
static void pb_bytes(pbuf *p, int field, const void *d, size_t n) {
    pb_tag(p, field, 2);
    pb_varint(p, n);
    for (size_t i = 0; i < n; i++) pb_byte(p, ((const unsigned char *)d)[i]);
}
static void pb_int(pbuf *p, int field, int64_t v) { /* int32 fields: negatives as 64-bit two's complement */
    pb_tag(p, field, 0);
    pb_varint(p, (uint64_t)v);
}

typedef struct {
    const unsigned char *p, *end;
} pread_t;

static bool rd_varint(pread_t *r, uint64_t *v) {
    *v = 0;
    for (int s = 0; s < 64; s += 7) {
        if (r->p >= r->end) return false;
        const unsigned char c = *r->p++;
        *v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80)) return true;
    }
    return false;
}

/* one field: its number, wire type, and (wt 0) value or (wt 2) bytes or (wt 5) 4 bytes */
static bool rd_field(pread_t *r, int *field, int *wt, uint64_t *v, const unsigned char **d, size_t *n) {
    uint64_t tag;
    if (!rd_varint(r, &tag) || tag >> 3 == 0 || tag >> 3 > 536870911) return false;
    *field = (int)(tag >> 3), *wt = (int)(tag & 7);
    switch (*wt) {
    case 0: return rd_varint(r, v);
    case 1:
        if (r->end - r->p < 8) return false;
        *d = r->p, *n = 8, r->p += 8;
        return true;
    case 2:
        if (!rd_varint(r, v) || *v > (uint64_t)(r->end - r->p)) return false;
        *d = r->p, *n = (size_t)*v, r->p += *v;
        return true;
    case 5:
        if (r->end - r->p < 4) return false;
        *d = r->p, *n = 4, r->p += 4;
        return true;
    default: return false; /* groups are not used by sentencepiece */
    }
}

typedef struct {
    char **tok;
    float *score;
    int32_t *type;
    int64_t n, cap;
    int64_t unk, bos, eos, pad;
    int add_dummy_prefix; /* -1: absent */
} spm;

static void spm_free(spm *s) {
    for (int64_t i = 0; i < s->n; i++) free(s->tok[i]);
    free(s->tok), free(s->score), free(s->type);
}

static int spm_parse(const unsigned char *buf, size_t len, spm *s, char *err, size_t ecap) {
    memset(s, 0, sizeof *s);
    s->unk = 0, s->bos = 1, s->eos = 2, s->pad = -1, s->add_dummy_prefix = -1;
    pread_t r = {buf, buf + len};
    int f, wt;
    uint64_t v;
    const unsigned char *d;
    size_t n;
    while (r.p < r.end) {
        if (!rd_field(&r, &f, &wt, &v, &d, &n)) return snprintf(err, ecap, "malformed protobuf"), 1;
        if (f == 1 && wt == 2) { /* a piece */
            if (s->n == s->cap) {
                const int64_t cap = s->cap ? 2 * s->cap : 1024;
                char **nt = realloc(s->tok, (size_t)cap * sizeof *nt);
                if (nt) s->tok = nt;
                float *ns = realloc(s->score, (size_t)cap * sizeof *ns);
                if (ns) s->score = ns;
                int32_t *ny = realloc(s->type, (size_t)cap * sizeof *ny);
                if (ny) s->type = ny;
                if (!nt || !ns || !ny) return snprintf(err, ecap, "out of memory"), 1;
                s->cap = cap;
            }
            pread_t q = {d, d + n};
            char *piece = NULL;
            float score = 0;
            int32_t type = T_NORMAL;
            while (q.p < q.end) {
                int f2, w2;
                uint64_t v2;
                const unsigned char *d2;
                size_t n2;
                if (!rd_field(&q, &f2, &w2, &v2, &d2, &n2)) {
                    free(piece);
                    return snprintf(err, ecap, "malformed piece %lld", (long long)s->n), 1;
                }
                if (f2 == 1 && w2 == 2) free(piece), piece = strndup((const char *)d2, n2);
                else if (f2 == 2 && w2 == 5) memcpy(&score, d2, 4);
                else if (f2 == 3 && w2 == 0) type = (int32_t)v2;
            }
            if (!piece) return snprintf(err, ecap, "piece %lld has no text", (long long)s->n), 1;
            if (type < T_NORMAL || type > T_BYTE) type = T_NORMAL;
            s->tok[s->n] = piece, s->score[s->n] = score, s->type[s->n] = type;
            s->n++;
        } else if ((f == 2 || f == 3) && wt == 2) {
            pread_t q = {d, d + n};
            while (q.p < q.end) {
                int f2, w2;
                uint64_t v2;
                const unsigned char *d2;
                size_t n2;
                if (!rd_field(&q, &f2, &w2, &v2, &d2, &n2)) return snprintf(err, ecap, "malformed spec"), 1;
                if (w2 != 0) continue;
                const int64_t sv = (int64_t)(int32_t)(uint32_t)v2;
                if (f == 2 && f2 == 40) s->unk = sv;
                else if (f == 2 && f2 == 41) s->bos = sv;
                else if (f == 2 && f2 == 42) s->eos = sv;
                else if (f == 2 && f2 == 43) s->pad = sv;
                else if (f == 3 && f2 == 3) s->add_dummy_prefix = v2 != 0;
            }
        }
    }
    if (!s->n) return snprintf(err, ecap, "no pieces"), 1;
    return 0;
}

/* ---- export ---------------------------------------------------------------------------------- */

static long get_id(const wk_gguf *g, const char *key, uint64_t n_tokens) {
    uint32_t u;
    int32_t i;
    long v = -1;
    if (wk_gguf_get_u32(g, key, &u) == WK_GGUF_OK) v = (long)u;
    else if (wk_gguf_get_i32(g, key, &i) == WK_GGUF_OK) v = i;
    return v >= 0 && (uint64_t)v < n_tokens ? v : -1;
}

static char *tok_str(const wk_gguf *g, uint64_t i) {
    const char *s = NULL;
    uint64_t n = 0;
    return wk_gguf_get_arr_str(g, "tokenizer.ggml.tokens", i, &s, &n) == WK_GGUF_OK ? strndup(s, n) : NULL;
}

static cJSON *pre_tokenizer_json(const char *pre, int add_prefix) {
    cJSON *bl = cJSON_CreateObject();
    cJSON_AddBoolToObject(bl, "add_prefix_space", add_prefix);
    cJSON_AddBoolToObject(bl, "trim_offsets", 1);
    cJSON_AddStringToObject(bl, "type", "ByteLevel");
    if (!strcmp(pre, "gpt-2")) {
        cJSON_AddBoolToObject(bl, "use_regex", 1);
        return bl;
    }
    cJSON *seq = cJSON_CreateObject(), *list = cJSON_CreateArray();
    cJSON_AddStringToObject(seq, "type", "Sequence");
    cJSON_AddItemToObject(seq, "pretokenizers", list);
    if (!strcmp(pre, "smollm")) {
        cJSON *dg = cJSON_CreateObject();
        cJSON_AddStringToObject(dg, "type", "Digits");
        cJSON_AddBoolToObject(dg, "individual_digits", 1);
        cJSON_AddItemToArray(list, dg);
        cJSON_AddBoolToObject(bl, "use_regex", 1);
    } else { /* llama-bpe, qwen2 */
        cJSON *sp = cJSON_CreateObject(), *pat = cJSON_CreateObject();
        cJSON_AddStringToObject(sp, "type", "Split");
        cJSON_AddStringToObject(pat, "Regex", !strcmp(pre, "qwen2") ? k_qwen2_re : k_llama3_re);
        cJSON_AddItemToObject(sp, "pattern", pat);
        cJSON_AddStringToObject(sp, "behavior", "Isolated");
        cJSON_AddBoolToObject(sp, "invert", 0);
        cJSON_AddItemToArray(list, sp);
        cJSON_AddBoolToObject(bl, "use_regex", 0);
    }
    cJSON_AddItemToArray(list, bl);
    return seq;
}

int wk_hf_tokenizer_export(const char *cmd, const wk_gguf *g, const char *dir) {
    const char *model = NULL;
    uint64_t ml = 0, n_tok = 0;
    wk_gguf_type et;
    if (wk_gguf_get_str(g, "tokenizer.ggml.model", &model, &ml) != WK_GGUF_OK ||
        wk_gguf_get_arr_info(g, "tokenizer.ggml.tokens", &et, &n_tok) != WK_GGUF_OK || et != WK_GGUF_STRING) {
        fprintf(stderr, "%s: the model has no tokenizer (tokenizer.ggml.model, tokens)\n", cmd);
        return 1;
    }
    const bool bpe = ml == 4 && !memcmp(model, "gpt2", 4), sp = ml == 5 && !memcmp(model, "llama", 5);
    if (!bpe && !sp) {
        fprintf(stderr, "%s: tokenizer model '%.*s' cannot be exported yet (gpt2, llama)\n", cmd, (int)ml, model);
        return 1;
    }
    int32_t *types = calloc(n_tok ? n_tok : 1, sizeof *types);
    float *scores = calloc(n_tok ? n_tok : 1, sizeof *scores);
    if (!types || !scores) return free(types), free(scores), fprintf(stderr, "%s: out of memory\n", cmd), 1;
    for (uint64_t i = 0; i < n_tok; i++) types[i] = T_NORMAL;
    uint64_t cnt = 0;
    const void *raw = NULL;
    if (wk_gguf_get_arr_data(g, "tokenizer.ggml.token_type", WK_GGUF_INT32, &raw, &cnt) == WK_GGUF_OK && cnt == n_tok)
        memcpy(types, raw, (size_t)n_tok * sizeof *types); /* little-endian elements, possibly unaligned */
    if (wk_gguf_get_arr_data(g, "tokenizer.ggml.scores", WK_GGUF_FLOAT32, &raw, &cnt) == WK_GGUF_OK && cnt == n_tok)
        memcpy(scores, raw, (size_t)n_tok * sizeof *scores);
    int asp = -1;
    int b;
    if (wk_gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &b) == WK_GGUF_OK) asp = b;
    static const char *const k_ids[5] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                                         "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id",
                                         "tokenizer.ggml.seperator_token_id"};
    static const char *const k_names[5] = {"bos_token", "eos_token", "unk_token", "pad_token", "sep_token"};
    long ids[5];
    for (int k = 0; k < 5; k++) ids[k] = get_id(g, k_ids[k], n_tok);
    int rc = 1;
    cJSON *tj = NULL, *tc = NULL, *gc = NULL;
    pbuf pb = {0};
    if (bpe) {
        const char *pre = "gpt-2";
        uint64_t pl = 0;
        char preb[64] = "gpt-2";
        if (wk_gguf_get_str(g, "tokenizer.ggml.pre", &pre, &pl) == WK_GGUF_OK) snprintf(preb, sizeof preb, "%.*s", (int)pl, pre);
        if (strcmp(preb, "gpt-2") && strcmp(preb, "smollm") && strcmp(preb, "llama-bpe") && strcmp(preb, "qwen2")) {
            fprintf(stderr, "%s: pre-tokenizer '%s' has no tokenizer.json form in wick yet (gpt-2, smollm, llama-bpe, qwen2)\n",
                    cmd, preb);
            goto done;
        }
        tj = cJSON_CreateObject();
        cJSON_AddStringToObject(tj, "version", "1.0");
        cJSON_AddNullToObject(tj, "truncation");
        cJSON_AddNullToObject(tj, "padding");
        cJSON *added = cJSON_AddArrayToObject(tj, "added_tokens");
        for (uint64_t i = 0; i < n_tok; i++) {
            if (types[i] != T_CONTROL && types[i] != T_USER) continue;
            char *s = tok_str(g, i);
            cJSON *a = cJSON_CreateObject();
            cJSON_AddNumberToObject(a, "id", (double)i);
            cJSON_AddStringToObject(a, "content", s ? s : "");
            cJSON_AddBoolToObject(a, "single_word", 0);
            cJSON_AddBoolToObject(a, "lstrip", 0);
            cJSON_AddBoolToObject(a, "rstrip", 0);
            cJSON_AddBoolToObject(a, "normalized", types[i] == T_USER);
            cJSON_AddBoolToObject(a, "special", types[i] == T_CONTROL);
            cJSON_AddItemToArray(added, a);
            free(s);
        }
        cJSON_AddNullToObject(tj, "normalizer");
        cJSON_AddItemToObject(tj, "pre_tokenizer", pre_tokenizer_json(preb, asp > 0));
        cJSON_AddNullToObject(tj, "post_processor");
        cJSON *dec = cJSON_AddObjectToObject(tj, "decoder");
        cJSON_AddStringToObject(dec, "type", "ByteLevel");
        cJSON_AddBoolToObject(dec, "add_prefix_space", 1);
        cJSON_AddBoolToObject(dec, "trim_offsets", 1);
        cJSON_AddBoolToObject(dec, "use_regex", 1);
        cJSON *m = cJSON_AddObjectToObject(tj, "model");
        cJSON_AddStringToObject(m, "type", "BPE");
        cJSON_AddNullToObject(m, "dropout");
        cJSON_AddNullToObject(m, "unk_token");
        cJSON_AddBoolToObject(m, "fuse_unk", 0);
        cJSON_AddBoolToObject(m, "byte_fallback", 0);
        cJSON *vocab = cJSON_AddObjectToObject(m, "vocab");
        for (uint64_t i = 0; i < n_tok; i++) {
            char *s = tok_str(g, i);
            if (!s) {
                fprintf(stderr, "%s: token %llu unreadable\n", cmd, (unsigned long long)i);
                goto done;
            }
            cJSON_AddItemToObject(vocab, s, cJSON_CreateNumber((double)i));
            free(s);
        }
        cJSON *merges = cJSON_AddArrayToObject(m, "merges");
        uint64_t nm = 0;
        if (wk_gguf_get_arr_info(g, "tokenizer.ggml.merges", &et, &nm) == WK_GGUF_OK && et == WK_GGUF_STRING)
            for (uint64_t i = 0; i < nm; i++) {
                const char *s = NULL;
                uint64_t sl = 0;
                if (wk_gguf_get_arr_str(g, "tokenizer.ggml.merges", i, &s, &sl) != WK_GGUF_OK) continue;
                char *c = strndup(s, sl);
                cJSON_AddItemToArray(merges, cJSON_CreateString(c ? c : ""));
                free(c);
            }
        if (wk_hf_write_json(cmd, dir, "tokenizer.json", tj)) goto done;
    } else { /* SentencePiece ModelProto */
        for (uint64_t i = 0; i < n_tok; i++) {
            char *s = tok_str(g, i);
            if (!s) {
                fprintf(stderr, "%s: token %llu unreadable\n", cmd, (unsigned long long)i);
                goto done;
            }
            pbuf piece = {0};
            pb_bytes(&piece, 1, s, strlen(s));
            pb_tag(&piece, 2, 5);
            unsigned char f4[4];
            memcpy(f4, &scores[i], 4);
            for (int k = 0; k < 4; k++) pb_byte(&piece, f4[k]);
            pb_int(&piece, 3, types[i]);
            pb_bytes(&pb, 1, piece.b, piece.n);
            pb.oom |= piece.oom;
            free(piece.b);
            free(s);
        }
        pbuf ts = {0};
        pb_int(&ts, 3, 2); /* model_type BPE */
        pb_int(&ts, 4, (int64_t)n_tok);
        pb_int(&ts, 40, ids[2]), pb_int(&ts, 41, ids[0]), pb_int(&ts, 42, ids[1]), pb_int(&ts, 43, ids[3]);
        pb_bytes(&pb, 2, ts.b, ts.n);
        pb.oom |= ts.oom;
        free(ts.b);
        if (asp >= 0) {
            pbuf ns = {0};
            pb_int(&ns, 3, asp);
            pb_bytes(&pb, 3, ns.b, ns.n);
            pb.oom |= ns.oom;
            free(ns.b);
        }
        if (pb.oom) {
            fprintf(stderr, "%s: out of memory\n", cmd);
            goto done;
        }
        if (write_file_atomic(cmd, dir, "tokenizer.model", pb.b, pb.n)) goto done;
    }
    /* tokenizer_config.json, generation_config.json */
    tc = cJSON_CreateObject();
    gc = cJSON_CreateObject();
    if (wk_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) == WK_GGUF_OK) cJSON_AddBoolToObject(tc, "add_bos_token", b);
    if (wk_gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &b) == WK_GGUF_OK) cJSON_AddBoolToObject(tc, "add_eos_token", b);
    if (wk_gguf_get_bool(g, "tokenizer.ggml.add_sep_token", &b) == WK_GGUF_OK) cJSON_AddBoolToObject(tc, "add_sep_token", b);
    for (int k = 0; k < 5; k++) {
        if (ids[k] < 0) continue;
        char *s = tok_str(g, (uint64_t)ids[k]);
        if (s) cJSON_AddStringToObject(tc, k_names[k], s);
        free(s);
    }
    const char *ct = NULL;
    uint64_t cl = 0;
    if (wk_gguf_get_str(g, "tokenizer.chat_template", &ct, &cl) == WK_GGUF_OK) {
        char *s = strndup(ct, cl);
        if (s) cJSON_AddStringToObject(tc, "chat_template", s);
        free(s);
    }
    cJSON_AddStringToObject(tc, "tokenizer_class", bpe ? "PreTrainedTokenizerFast" : "LlamaTokenizer");
    if (ids[0] >= 0) cJSON_AddNumberToObject(gc, "bos_token_id", (double)ids[0]);
    if (ids[1] >= 0) cJSON_AddNumberToObject(gc, "eos_token_id", (double)ids[1]);
    if (ids[3] >= 0) cJSON_AddNumberToObject(gc, "pad_token_id", (double)ids[3]);
    if (wk_hf_write_json(cmd, dir, "tokenizer_config.json", tc) || wk_hf_write_json(cmd, dir, "generation_config.json", gc)) goto done;
    rc = 0;
done:
    cJSON_Delete(tj), cJSON_Delete(tc), cJSON_Delete(gc);
    free(pb.b);
    free(types), free(scores);
    return rc;
}

/* ---- import ---------------------------------------------------------------------------------- */

static const char *json_str(const cJSON *j) { /* "text" or {"content": "text"} */
    if (cJSON_IsString(j)) return j->valuestring;
    const cJSON *c = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "content") : NULL;
    return cJSON_IsString(c) ? c->valuestring : NULL;
}

static const char *detect_pre(const cJSON *pt, int *add_prefix) {
    *add_prefix = -1;
    if (!cJSON_IsObject(pt)) return NULL;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(pt, "type");
    if (!cJSON_IsString(type)) return NULL;
    if (!strcmp(type->valuestring, "ByteLevel")) {
        const cJSON *ap = cJSON_GetObjectItemCaseSensitive(pt, "add_prefix_space");
        if (cJSON_IsBool(ap)) *add_prefix = cJSON_IsTrue(ap);
        return "gpt-2";
    }
    if (strcmp(type->valuestring, "Sequence")) return NULL;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(pt, "pretokenizers");
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) != 2) return NULL;
    const cJSON *a = cJSON_GetArrayItem(list, 0), *bl = cJSON_GetArrayItem(list, 1);
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(a, "type"), *bt = cJSON_GetObjectItemCaseSensitive(bl, "type");
    if (!cJSON_IsString(at) || !cJSON_IsString(bt) || strcmp(bt->valuestring, "ByteLevel")) return NULL;
    const cJSON *ap = cJSON_GetObjectItemCaseSensitive(bl, "add_prefix_space");
    if (cJSON_IsBool(ap)) *add_prefix = cJSON_IsTrue(ap);
    if (!strcmp(at->valuestring, "Digits")) {
        const cJSON *ind = cJSON_GetObjectItemCaseSensitive(a, "individual_digits");
        return cJSON_IsTrue(ind) ? "smollm" : NULL;
    }
    if (!strcmp(at->valuestring, "Split")) {
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(a, "pattern");
        const cJSON *re = cJSON_IsObject(pat) ? cJSON_GetObjectItemCaseSensitive(pat, "Regex") : NULL;
        if (!cJSON_IsString(re)) return NULL;
        if (!strcmp(re->valuestring, k_llama3_re) || !strcmp(re->valuestring, k_llama3_re_i)) return "llama-bpe";
        if (!strcmp(re->valuestring, k_qwen2_re) || !strcmp(re->valuestring, k_qwen2_re_i)) return "qwen2";
    }
    return NULL;
}

int wk_hf_tokenizer_import(const char *cmd, const char *dir, wk_gguf_writer *w, int64_t *n_tokens) {
    int rc = 1, bad = 0;
    char p[4300];
    char **tok = NULL;
    int32_t *types = NULL;
    float *scores = NULL;
    char **merges = NULL;
    int64_t n = 0, nm = 0;
    int asp = -1;
    const char *model = NULL, *pre = NULL;
    spm sp;
    memset(&sp, 0, sizeof sp);
    cJSON *tj = NULL, *tc = NULL, *gc = NULL;
    snprintf(p, sizeof p, "%s/tokenizer.model", dir);
    size_t len = 0;
    unsigned char *pbb = (unsigned char *)read_text(p, &len);
    if (pbb) { /* SentencePiece */
        char err[200];
        if (spm_parse(pbb, len, &sp, err, sizeof err)) {
            fprintf(stderr, "%s: %s: %s\n", cmd, p, err);
            free(pbb);
            goto done;
        }
        free(pbb);
        model = "llama";
        n = sp.n, tok = sp.tok, types = sp.type, scores = sp.score, asp = sp.add_dummy_prefix;
    } else {
        if (!(tj = wk_hf_read_json(cmd, dir, "tokenizer.json", true, &bad))) goto done;
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(tj, "model");
        const cJSON *mt = cJSON_GetObjectItemCaseSensitive(m, "type");
        const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(m, "vocab");
        const int wpm = cJSON_IsString(mt) && !strcmp(mt->valuestring, "WordPiece");
        if (!cJSON_IsString(mt) || (strcmp(mt->valuestring, "BPE") && !wpm) || !cJSON_IsObject(vocab)) {
            fprintf(stderr, "%s: %s/tokenizer.json: model type %s is not supported yet (byte-level BPE, WordPiece)\n",
                    cmd, dir, cJSON_IsString(mt) ? mt->valuestring : "?");
            goto done;
        }
        if (!wpm && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "byte_fallback"))) {
            fprintf(stderr, "%s: %s/tokenizer.json: a byte-fallback BPE (SentencePiece style) needs tokenizer.model\n", cmd,
                    dir);
            goto done;
        }
        if (!wpm && !(pre = detect_pre(cJSON_GetObjectItemCaseSensitive(tj, "pre_tokenizer"), &asp))) {
            fprintf(stderr, "%s: %s/tokenizer.json: the pre-tokenizer is not one wick knows (gpt-2, smollm, llama-bpe, "
                            "qwen2)\n", cmd, dir);
            goto done;
        }
        model = wpm ? "bert" : "gpt2";
        /* size: max id over vocab and added tokens */
        const cJSON *added = cJSON_GetObjectItemCaseSensitive(tj, "added_tokens");
        const cJSON *e;
        double mx = -1;
        cJSON_ArrayForEach(e, vocab) {
            if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > (1 << 24) || (double)(int64_t)e->valuedouble != e->valuedouble) {
                fprintf(stderr, "%s: tokenizer.json: token id of '%.40s' is not an id\n", cmd, e->string);
                goto done;
            }
            if (e->valuedouble > mx) mx = e->valuedouble;
        }
        cJSON_ArrayForEach(e, added) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
            if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > (1 << 24) || !json_str(e)) {
                fprintf(stderr, "%s: tokenizer.json: an added token without id or content\n", cmd);
                goto done;
            }
            if (id->valuedouble > mx) mx = id->valuedouble;
        }
        n = (int64_t)mx + 1;
        tok = calloc((size_t)(n ? n : 1), sizeof *tok);
        types = calloc((size_t)(n ? n : 1), sizeof *types);
        if (!tok || !types) goto oom;
        cJSON_ArrayForEach(e, vocab) {
            const int64_t id = (int64_t)e->valuedouble;
            if (tok[id]) {
                fprintf(stderr, "%s: tokenizer.json: id %lld is given twice\n", cmd, (long long)id);
                goto done;
            }
            if (!(tok[id] = strdup(e->string))) goto oom;
            types[id] = T_NORMAL;
        }
        cJSON_ArrayForEach(e, added) {
            const int64_t id = (int64_t)cJSON_GetObjectItemCaseSensitive(e, "id")->valuedouble;
            const char *c = json_str(e);
            if (tok[id] && strcmp(tok[id], c)) {
                fprintf(stderr, "%s: tokenizer.json: added token %lld '%.40s' differs from the vocabulary's\n", cmd,
                        (long long)id, c);
                goto done;
            }
            if (!tok[id] && !(tok[id] = strdup(c))) goto oom;
            types[id] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "special")) ? T_CONTROL : T_USER;
        }
        for (int64_t i = 0; i < n; i++)
            if (!tok[i]) {
                fprintf(stderr, "%s: tokenizer.json: no token has id %lld (ids must be dense)\n", cmd, (long long)i);
                goto done;
            }
        if (wpm) { /* llama.cpp's "phantom space" form: "##x" -> "x", other words "\u2581" + word */
            const cJSON *pfx = cJSON_GetObjectItemCaseSensitive(m, "continuing_subword_prefix");
            const char *cp = cJSON_IsString(pfx) ? pfx->valuestring : "##";
            const size_t cl = strlen(cp);
            for (int64_t i = 0; i < n; i++) {
                if (types[i] == T_CONTROL) continue;
                char *t = NULL;
                if (cl && !strncmp(tok[i], cp, cl)) t = strdup(tok[i] + cl);
                else if (asprintf(&t, "\xE2\x96\x81%s", tok[i]) < 0) t = NULL;
                if (!t) goto oom;
                free(tok[i]);
                tok[i] = t;
            }
            goto specials; /* no merges */
        }
        const cJSON *mg = cJSON_GetObjectItemCaseSensitive(m, "merges");
        nm = cJSON_IsArray(mg) ? cJSON_GetArraySize(mg) : 0;
        merges = calloc((size_t)(nm ? nm : 1), sizeof *merges);
        if (!merges) goto oom;
        int64_t k = 0;
        cJSON_ArrayForEach(e, mg) {
            if (cJSON_IsString(e)) {
                merges[k] = strdup(e->valuestring);
            } else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 && cJSON_IsString(cJSON_GetArrayItem(e, 0)) &&
                       cJSON_IsString(cJSON_GetArrayItem(e, 1))) {
                if (asprintf(&merges[k], "%s %s", cJSON_GetArrayItem(e, 0)->valuestring,
                             cJSON_GetArrayItem(e, 1)->valuestring) < 0)
                    merges[k] = NULL;
            } else {
                fprintf(stderr, "%s: tokenizer.json: merge %lld is not \"a b\" or [a, b]\n", cmd, (long long)k);
                goto done;
            }
            if (!merges[k++]) goto oom;
        }
    }
specials:
    tc = wk_hf_read_json(cmd, dir, "tokenizer_config.json", false, &bad);
    gc = wk_hf_read_json(cmd, dir, "generation_config.json", false, &bad);
    if (bad) goto done;
    static const char *const k_names[7] = {"bos_token", "eos_token", "unk_token", "pad_token", "sep_token",
                                           "cls_token", "mask_token"};
    static const char *const k_ids[7] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                                         "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id",
                                         "tokenizer.ggml.seperator_token_id", "tokenizer.ggml.cls_token_id",
                                         "tokenizer.ggml.mask_token_id"};
    static const char *const k_gen[7] = {"bos_token_id", "eos_token_id", NULL, "pad_token_id", NULL, NULL, NULL};
    wk_gguf_status gs = wk_gguf_writer_add_str(w, "tokenizer.ggml.model", model, strlen(model));
    if (!gs && pre) gs = wk_gguf_writer_add_str(w, "tokenizer.ggml.pre", pre, strlen(pre));
    if (!gs) gs = wk_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)tok, NULL, (uint64_t)n);
    if (!gs && scores) gs = wk_gguf_writer_add_arr(w, "tokenizer.ggml.scores", WK_GGUF_FLOAT32, scores, (uint64_t)n);
    if (!gs) gs = wk_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", WK_GGUF_INT32, types, (uint64_t)n);
    if (!gs && merges) gs = wk_gguf_writer_add_arr_str(w, "tokenizer.ggml.merges", (const char *const *)merges, NULL, (uint64_t)nm);
    for (int k = 0; k < 7 && !gs; k++) {
        long id = -1;
        const char *s = tc ? json_str(cJSON_GetObjectItemCaseSensitive(tc, k_names[k])) : NULL;
        for (int64_t i = 0; s && i < n && id < 0; i++) /* (WordPiece: special tokens keep their text) */
            if (!strcmp(tok[i], s)) id = (long)i;
        if (s && id < 0) {
            fprintf(stderr, "%s: tokenizer_config.json: %s '%.40s' is not in the vocabulary\n", cmd, k_names[k], s);
            goto done;
        }
        const cJSON *gv = gc && k_gen[k] ? cJSON_GetObjectItemCaseSensitive(gc, k_gen[k]) : NULL;
        if (!s && cJSON_IsNumber(gv) && gv->valuedouble >= 0 && gv->valuedouble < (double)n) id = (long)gv->valuedouble;
        if (!s && !cJSON_IsNumber(gv) && sp.n) { /* the SentencePiece trainer's ids */
            const int64_t v = k == 0 ? sp.bos : k == 1 ? sp.eos : k == 2 ? sp.unk : k == 3 ? sp.pad : -1;
            if (v >= 0 && v < n) id = (long)v;
        }
        if (id >= 0) gs = wk_gguf_writer_add_u32(w, k_ids[k], (uint32_t)id);
    }
    const cJSON *v;
    if (!gs && tc && cJSON_IsBool(v = cJSON_GetObjectItemCaseSensitive(tc, "add_bos_token")))
        gs = wk_gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", cJSON_IsTrue(v));
    if (!gs && tc && cJSON_IsBool(v = cJSON_GetObjectItemCaseSensitive(tc, "add_eos_token")))
        gs = wk_gguf_writer_add_bool(w, "tokenizer.ggml.add_eos_token", cJSON_IsTrue(v));
    if (!gs && tc && cJSON_IsBool(v = cJSON_GetObjectItemCaseSensitive(tc, "add_sep_token")))
        gs = wk_gguf_writer_add_bool(w, "tokenizer.ggml.add_sep_token", cJSON_IsTrue(v));
    if (!gs && asp >= 0) gs = wk_gguf_writer_add_bool(w, "tokenizer.ggml.add_space_prefix", asp);
    const cJSON *ct = tc ? cJSON_GetObjectItemCaseSensitive(tc, "chat_template") : NULL;
    if (cJSON_IsArray(ct)) { /* [{name, template}]: the default one */
        const cJSON *e, *pick = NULL;
        cJSON_ArrayForEach(e, ct) {
            const cJSON *nm_ = cJSON_GetObjectItemCaseSensitive(e, "name");
            if (cJSON_IsString(nm_) && !strcmp(nm_->valuestring, "default")) pick = cJSON_GetObjectItemCaseSensitive(e, "template");
        }
        ct = pick;
    }
    if (!gs && cJSON_IsString(ct)) gs = wk_gguf_writer_add_str(w, "tokenizer.chat_template", ct->valuestring, strlen(ct->valuestring));
    if (gs) {
        fprintf(stderr, "%s: %s\n", cmd, wk_gguf_last_error());
        goto done;
    }
    *n_tokens = n;
    rc = 0;
    goto done;
oom:
    fprintf(stderr, "%s: out of memory\n", cmd);
done:
    if (sp.n) spm_free(&sp);
    else {
        for (int64_t i = 0; tok && i < n; i++) free(tok[i]);
        free(tok), free(types);
    }
    for (int64_t i = 0; merges && i < nm; i++) free(merges[i]);
    free(merges);
    cJSON_Delete(tj), cJSON_Delete(tc), cJSON_Delete(gc);
    return rc;
}
