/* mix.c — llama.cpp's per-tensor type choices for its quantization file types (facts from
 * llama.cpp src/llama-quant.cpp, llama_tensor_get_type; the code is our own). The rules
 * depend on where a tensor sits among its kind ("the i-th attn_v"), counted in the order
 * llama.cpp visits tensors: by layer number, then by name; wick keeps the input file's order
 * for the output but counts in that order, so the choices match llama.cpp's exactly.
 *
 * The rules, for the targets wick writes (D = the target's base type, L = layer index among
 * n_layer, i_v = index among attn_v-like tensors of n_v, gqa = n_head / n_head_kv,
 * more(i, n) = i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2, "use_more_bits"):
 *
 *   tensor                        target     type
 *   ----------------------------  ---------  ----------------------------------------------
 *   not quantizable (1-D, norms,  any        kept as in the input
 *     ffn_gate_inp, pos/type embd,
 *     ssm_conv1d, ...)
 *   output.weight, and            D = Q8_0   Q8_0
 *     token_embd.weight when      others     Q6_K; Q8_0 if falcon or ne0 % block(D) != 0
 *     there is no output.weight
 *   attn_v / attn_qkv / attn_kv_b Q2_K       gqa >= 4 ? Q4_K : Q3_K
 *                                 Q3_K_M     i_v < 2 ? Q5_K : Q4_K
 *                                 Q3_K_L     Q5_K
 *                                 IQ4_NL/XS  Q5_K if gqa >= 4
 *                                 Q4_K_M,    Q6_K if more(i_v, n_v)
 *                                 Q5_K_M
 *                                 Q4_K_S     Q5_K if i_v < 4
 *                                 all        then Q3_K/Q4_K -> Q5_K for a llama 70B (80
 *                                            layers, GQA); Q8_0 if n_expert == 8
 *   attn_k                        all        Q8_0 if n_expert == 8
 *   ffn_down (L from the count,   Q2_K       Q3_K
 *     or from the name when       Q3_K_M     L < n/16 ? Q5_K : Q4_K (falcon: Q3_K unless more)
 *     n_expert > 1)               Q3_K_L     Q5_K (falcon: Q4_K)
 *                                 Q4_K_M     Q6_K if more(L, n) (falcon: L < n/16 ? Q6_K :
 *                                            more ? Q5_K : Q4_K)
 *                                 IQ4_NL/XS  Q5_K if L < n/8
 *                                 Q5_K_M     Q6_K if more(L, n)
 *                                 Q4_K_S     Q5_K if L < n/8 (not falcon)
 *   attn_output                   Q2_K       Q3_K  (n_expert == 8: Q5_K for Q2_K, Q3_K_S,
 *                                 Q3_K_M     Q4_K   Q3_K_M, Q4_K_S, Q4_K_M, IQ4_NL, IQ4_XS)
 *                                 Q3_K_L     Q5_K  (falcon: Q4_K)
 *   everything else quantizable   all        D
 *
 * Then, when ne0 is not a multiple of the chosen type's block: Q2_K, Q3_K -> Q4_0;
 * Q4_K -> Q5_0; Q5_K -> Q5_1; Q6_K -> Q8_0; IQ4_XS -> IQ4_NL; and F16 when that does not
 * fit either (llama.cpp refuses a 32-block type that does not fit; wick uses F16 there too).
 * --pure skips the rules (every quantizable tensor gets D) but not the fallbacks. For F32,
 * F16 and BF16 targets every quantizable tensor gets D and nothing else applies. */
#include "mix.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* llama_ftype values (formats.md §1.12) */
enum {
    FT_F32 = 0, FT_F16 = 1, FT_Q4_0 = 2, FT_Q4_1 = 3, FT_Q8_0 = 7, FT_Q5_0 = 8, FT_Q5_1 = 9,
    FT_Q2_K = 10, FT_Q3_K_S = 11, FT_Q3_K_M = 12, FT_Q3_K_L = 13, FT_Q4_K_S = 14, FT_Q4_K_M = 15,
    FT_Q5_K_S = 16, FT_Q5_K_M = 17, FT_Q6_K = 18, FT_IQ4_NL = 25, FT_IQ4_XS = 30, FT_BF16 = 32,
};

/* Every llama.cpp file type whose tensors wick can all produce (not Q2_K_S: it needs an
 * importance matrix), plus Q3_K / Q4_K / Q5_K, which llama.cpp has no file type for: one
 * type everywhere, labelled with the matching _S file type. */
static const wk_mix k_mixes[] = {
    {"F32", FT_F32, WK_TYPE_F32, true},         {"F16", FT_F16, WK_TYPE_F16, true},
    {"BF16", FT_BF16, WK_TYPE_BF16, true},      {"Q4_0", FT_Q4_0, WK_TYPE_Q4_0, true},
    {"Q4_1", FT_Q4_1, WK_TYPE_Q4_1, true},      {"Q5_0", FT_Q5_0, WK_TYPE_Q5_0, true},
    {"Q5_1", FT_Q5_1, WK_TYPE_Q5_1, true},      {"Q8_0", FT_Q8_0, WK_TYPE_Q8_0, true},
    {"Q2_K", FT_Q2_K, WK_TYPE_Q2_K, true},      {"Q3_K_S", FT_Q3_K_S, WK_TYPE_Q3_K, true},
    {"Q3_K_M", FT_Q3_K_M, WK_TYPE_Q3_K, true},  {"Q3_K_L", FT_Q3_K_L, WK_TYPE_Q3_K, true},
    {"Q4_K_S", FT_Q4_K_S, WK_TYPE_Q4_K, true},  {"Q4_K_M", FT_Q4_K_M, WK_TYPE_Q4_K, true},
    {"Q5_K_S", FT_Q5_K_S, WK_TYPE_Q5_K, true},  {"Q5_K_M", FT_Q5_K_M, WK_TYPE_Q5_K, true},
    {"Q6_K", FT_Q6_K, WK_TYPE_Q6_K, true},      {"IQ4_NL", FT_IQ4_NL, WK_TYPE_IQ4_NL, true},
    {"IQ4_XS", FT_IQ4_XS, WK_TYPE_IQ4_XS, true},
    {"Q3_K", FT_Q3_K_S, WK_TYPE_Q3_K, false},   {"Q4_K", FT_Q4_K_S, WK_TYPE_Q4_K, false},
    {"Q5_K", FT_Q5_K_S, WK_TYPE_Q5_K, false},
};
#define N_MIXES (sizeof k_mixes / sizeof k_mixes[0])

const wk_mix *wk_mix_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < N_MIXES; i++) {
        const char *a = k_mixes[i].name, *b = name;
        while (*a && *b && toupper((unsigned char)*b) == *a) a++, b++;
        if (!*a && !*b) return &k_mixes[i];
    }
    return NULL;
}

const wk_mix *wk_mix_at(size_t i) { return i < N_MIXES ? &k_mixes[i] : NULL; }

/* ---- which tensors are quantized ---------------------------------------------------- */

static bool has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !memcmp(s + n - k, suffix, k);
}

/* Small or special tensors llama.cpp leaves as they are, matched anywhere in the name. */
static const char *const k_keep[] = {
    "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
    "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight",
    "indexer.q_proj.weight", "time_mix_first.weight", "time_mix_w0.weight",
    "time_mix_w1.weight", "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight",
    "time_mix_v2.weight", "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight",
    "time_mix_g1.weight", "time_mix_g2.weight", "time_mix_decay_w1.weight",
    "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight",
    ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd",
    ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
};

bool wk_mix_quantizable(const char *name, const int64_t ne[4]) {
    /* ggml_n_dims: dims up to the last one that is not 1 */
    if (ne[1] == 1 && ne[2] == 1 && ne[3] == 1) return false;
    if (!ends_with(name, "weight")) return false;
    if (!strcmp(name, "position_embd.weight") || !strcmp(name, "token_types.weight")) return false;
    for (size_t i = 0; i < sizeof k_keep / sizeof k_keep[0]; i++)
        if (has(name, k_keep[i])) return false;
    return true;
}

/* ---- categories and llama.cpp's visiting order ----------------------------------------- */

typedef enum { C_TOKEN_EMBD, C_ATTN_Q, C_ATTN_V, C_ATTN_K, C_ATTN_OUTPUT, C_FFN_UP, C_FFN_GATE,
               C_FFN_DOWN, C_OUTPUT, C_OTHER } category;

/* First match wins, in this order (so "attn_qkv" and "attn_kv_b" count as attn_v). */
static category category_of(const char *name) {
    if (!strcmp(name, "output.weight")) return C_OUTPUT;
    if (!strcmp(name, "token_embd.weight") || !strcmp(name, "per_layer_token_embd.weight")) return C_TOKEN_EMBD;
    if (has(name, "attn_qkv.weight") || has(name, "attn_kv_b.weight") || has(name, "attn_v.weight")) return C_ATTN_V;
    if (has(name, "attn_k.weight")) return C_ATTN_K;
    if (has(name, "attn_q.weight")) return C_ATTN_Q;
    if (has(name, "attn_output.weight")) return C_ATTN_OUTPUT;
    if (has(name, "ffn_up")) return C_FFN_UP;
    if (has(name, "ffn_gate")) return C_FFN_GATE;
    if (has(name, "ffn_down")) return C_FFN_DOWN;
    return C_OTHER;
}

/* The layer of "blk.N...." as sscanf("blk.%d") reads it; -1 when there is none. */
static int layer_of(const char *name) {
    if (strncmp(name, "blk.", 4)) return -1;
    const char *p = name + 4;
    while (isspace((unsigned char)*p)) p++;
    int neg = *p == '-';
    if (*p == '-' || *p == '+') p++;
    if (!isdigit((unsigned char)*p)) return -1;
    long v = 0;
    for (; isdigit((unsigned char)*p); p++) v = v < INT_MAX ? v * 10 + (*p - '0') : v;
    if (v > INT_MAX) v = INT_MAX;
    return neg ? (int)-v : (int)v;
}

typedef struct {
    int layer;
    const char *name;
    size_t index;
} order_key;

static int order_cmp(const void *a_, const void *b_) {
    const order_key *a = a_, *b = b_;
    if (a->layer != b->layer) return a->layer < b->layer ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* ---- the rules ---------------------------------------------------------------------- */

static bool more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

typedef struct {
    uint32_t ft;
    const wk_mix_model *m;
    bool falcon, is_70b, tied;
    int gqa;
    int n_v, i_v, i_down;
} state;

static bool is_iq4(uint32_t ft) { return ft == FT_IQ4_NL || ft == FT_IQ4_XS; }

static wk_type rule_attn_v(state *s, wk_type t) {
    const uint32_t ft = s->ft;
    if (ft == FT_Q2_K) t = s->gqa >= 4 ? WK_TYPE_Q4_K : WK_TYPE_Q3_K;
    else if (ft == FT_Q3_K_M) t = s->i_v < 2 ? WK_TYPE_Q5_K : WK_TYPE_Q4_K;
    else if (ft == FT_Q3_K_L) t = WK_TYPE_Q5_K;
    else if (is_iq4(ft) && s->gqa >= 4) t = WK_TYPE_Q5_K;
    else if ((ft == FT_Q4_K_M || ft == FT_Q5_K_M) && more_bits(s->i_v, s->n_v)) t = WK_TYPE_Q6_K;
    else if (ft == FT_Q4_K_S && s->i_v < 4) t = WK_TYPE_Q5_K;
    /* a 70B shares each attn_v between 8 heads: the tensor is small, more bits are cheap */
    if (s->is_70b && (t == WK_TYPE_Q3_K || t == WK_TYPE_Q4_K)) t = WK_TYPE_Q5_K;
    if (s->m->n_expert == 8) t = WK_TYPE_Q8_0;
    s->i_v++;
    return t;
}

static wk_type rule_ffn_down(state *s, wk_type t, int L) {
    const uint32_t ft = s->ft;
    const int n = s->m->n_layer;
    if (ft == FT_Q2_K) t = WK_TYPE_Q3_K;
    else if (ft == FT_Q3_K_M)
        t = L < n / 16 ? WK_TYPE_Q5_K : !s->falcon || more_bits(L, n) ? WK_TYPE_Q4_K : WK_TYPE_Q3_K;
    else if (ft == FT_Q3_K_L) t = s->falcon ? WK_TYPE_Q4_K : WK_TYPE_Q5_K;
    else if (ft == FT_Q4_K_M) {
        if (s->falcon) t = L < n / 16 ? WK_TYPE_Q6_K : more_bits(L, n) ? WK_TYPE_Q5_K : WK_TYPE_Q4_K;
        else if (more_bits(L, n)) t = WK_TYPE_Q6_K;
    } else if (L < n / 8 && is_iq4(ft)) t = WK_TYPE_Q5_K; /* (only without an imatrix) */
    else if (ft == FT_Q5_K_M && more_bits(L, n)) t = WK_TYPE_Q6_K;
    else if (ft == FT_Q4_K_S && !s->falcon && L < n / 8) t = WK_TYPE_Q5_K;
    return t;
}

static wk_type rule_attn_output(const state *s, wk_type t) {
    const uint32_t ft = s->ft;
    if (s->falcon) return ft == FT_Q3_K_L ? WK_TYPE_Q4_K : t;
    if (s->m->n_expert == 8) {
        if (ft == FT_Q2_K || ft == FT_Q3_K_S || ft == FT_Q3_K_M || ft == FT_Q4_K_S || ft == FT_Q4_K_M || is_iq4(ft))
            t = WK_TYPE_Q5_K;
        return t;
    }
    if (ft == FT_Q2_K) return WK_TYPE_Q3_K;
    if (ft == FT_Q3_K_M) return WK_TYPE_Q4_K;
    if (ft == FT_Q3_K_L) return WK_TYPE_Q5_K;
    return t;
}

/* The mix rule for one quantizable tensor, before the shape fallback. */
static wk_status rule(state *s, const wk_mix_tensor *t, wk_type base, wk_type *out) {
    const category c = category_of(t->name);
    wk_type ty = base;
    if (c == C_OUTPUT || (s->tied && c == C_TOKEN_EMBD)) {
        if (s->falcon || t->ne[0] % wk_type_block_size(base) != 0) ty = WK_TYPE_Q8_0;
        else if (base != WK_TYPE_Q8_0) ty = WK_TYPE_Q6_K;
    } else if (c == C_ATTN_V) {
        ty = rule_attn_v(s, ty);
    } else if (c == C_ATTN_K) {
        if (s->m->n_expert == 8) ty = WK_TYPE_Q8_0;
    } else if (c == C_FFN_DOWN) {
        int L = s->i_down;
        if (s->m->n_expert > 1) { /* experts are not stored in layer order: read the name */
            L = layer_of(t->name);
            if (L < 0 || L >= s->m->n_layer)
                return wk_err(WK_ERR_FORMAT, "tensor '%s': no layer number in [0, %d) in its name", t->name,
                              s->m->n_layer);
        }
        ty = rule_ffn_down(s, ty, L);
        s->i_down++;
    } else if (c == C_ATTN_OUTPUT) {
        ty = rule_attn_output(s, ty);
    }
    /* attn_q, ffn_gate, ffn_up, untied token_embd: only IQ1-IQ3 targets change them */
    *out = ty;
    return WK_OK;
}

/* Smaller-block stand-ins for a type whose block does not divide the row length. */
static wk_type fallback_of(wk_type t) {
    switch (t) {
    case WK_TYPE_Q2_K: case WK_TYPE_Q3_K: return WK_TYPE_Q4_0;
    case WK_TYPE_Q4_K: return WK_TYPE_Q5_0;
    case WK_TYPE_Q5_K: return WK_TYPE_Q5_1;
    case WK_TYPE_Q6_K: return WK_TYPE_Q8_0;
    case WK_TYPE_IQ4_XS: return WK_TYPE_IQ4_NL;
    default: return WK_TYPE_F16;
    }
}

wk_status wk_mix_plan(const wk_mix *mix, bool pure, const wk_mix_model *m, const wk_mix_tensor *t, size_t n,
                      wk_mix_choice *out) {
    if (!mix || !m || (n && (!t || !out))) return wk_err(WK_ERR_INVALID_ARG, "wk_mix_plan: NULL argument");
    const bool quantized = wk_type_is_quantized(mix->base);
    const bool rules = quantized && mix->mix && !pure;
    state s = {.ft = mix->ftype, .m = m, .tied = true};
    s.falcon = m->arch && !strcmp(m->arch, "falcon");
    s.is_70b = m->arch && !strcmp(m->arch, "llama") && m->n_layer == 80 && m->n_head != m->n_head_kv;
    s.gqa = m->n_head_kv > 0 ? m->n_head / m->n_head_kv : 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(t[i].name, "output.weight")) s.tied = false;
        if (category_of(t[i].name) == C_ATTN_V) s.n_v++;
    }
    order_key *order = malloc((n ? n : 1) * sizeof *order);
    if (!order) return wk_err(WK_ERR_NOMEM, "wk_mix_plan: out of memory");
    for (size_t i = 0; i < n; i++) order[i] = (order_key){layer_of(t[i].name), t[i].name, i};
    qsort(order, n, sizeof *order, order_cmp);

    for (size_t k = 0; k < n; k++) {
        const size_t i = order[k].index;
        wk_mix_choice c = {t[i].type, t[i].type, WK_MIX_KEEP};
        if (wk_mix_quantizable(t[i].name, t[i].ne)) {
            c.rule = mix->base;
            if (rules) {
                wk_status st = rule(&s, &t[i], mix->base, &c.rule);
                if (st) {
                    free(order);
                    return st;
                }
            }
            c.type = c.rule;
            c.how = WK_MIX_RULE;
            if (quantized && t[i].ne[0] % wk_type_block_size(c.type) != 0) {
                c.type = fallback_of(c.type);
                c.how = WK_MIX_FALLBACK;
                if (t[i].ne[0] % wk_type_block_size(c.type) != 0) c.type = WK_TYPE_F16;
                if (c.type == WK_TYPE_F16) c.how = WK_MIX_FALLBACK_F16;
            }
        }
        out[i] = c;
    }
    free(order);
    return WK_OK;
}
