/* context.c — decoding: a batch of tokens is placed in free KV cells, the graph for its
 * shape (n_tokens, n_outputs) is fetched from a two-slot cache or built once, its inputs
 * (ids, positions, cells, masks, rows wanted) are filled, and it is computed; the logits of
 * the rows that asked are copied out. Sequences share one cache and are kept apart by the
 * attention mask (a cell is visible to a token of the same sequence at a position <= its
 * own, and inside the sliding window for windowed layers). Attention spans the cells up to
 * the highest one in use, rounded up to 256 (masked cells cost a compare), so a graph
 * depends on the batch shape and that span, and token-by-token decoding reuses one graph
 * for 256 tokens at a time.
 * A batch that does not fit in the free cells is refused before anything changes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "tokenizer.h"

#define MAX_SEQ 256
#define KV_STEP 256  /* granularity of the attended cache span */

wk_context_params wk_context_default_params(void) {
    wk_context_params p = {0, 0, 0, 0, WK_TYPE_F16, WK_TYPE_F16};
    return p;
}

int64_t wk_context_n_graph_builds(const wk_context *c) { return c ? c->n_graph_builds : 0; }
uint32_t wk_context_n_ctx(const wk_context *c) { return c ? c->n_ctx : 0; }

static void slot_free(wk_graph_slot *s) {
    wk_ctx_free(s->ctx);
    memset(s, 0, sizeof *s);
}

void wk_context_free(wk_context *c) {
    if (!c) return;
    for (int i = 0; i < WK_GRAPH_CACHE; i++) slot_free(&c->slots[i]);
    wk_backend_free(c->backend);
    wk_ctx_free(c->kv_ctx);
    free(c->k_cache);
    free(c->v_cache);
    free(c->cell_pos);
    free(c->cell_seq);
    free(c->logits);
    free(c->out_row);
    free(c->b_pos);
    free(c->b_seq);
    free(c->b_cells);
    free(c->b_want);
    free(c->seq_next);
    free(c);
}

wk_status wk_context_create(wk_model *m, const wk_context_params *params, wk_context **out) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "wk_context_create: out is NULL");
    *out = NULL;
    if (!m || !m->layers) return wk_err(WK_ERR_INVALID_ARG, "wk_context_create: no model (or a vocab-only one)");
    wk_context_params p = params ? *params : wk_context_default_params();
    const wk_hparams *hp = &m->hp;
    uint32_t n_ctx = p.n_ctx ? p.n_ctx : (uint32_t)(hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096);
    if (n_ctx > (uint32_t)hp->n_ctx_train)
        return wk_err(WK_ERR_INVALID_ARG, "context size %u exceeds the model's training context %lld", n_ctx,
                      (long long)hp->n_ctx_train);
    if (n_ctx < 1 || n_ctx > (1u << 24)) return wk_err(WK_ERR_INVALID_ARG, "context size %u is not usable", n_ctx);
    uint32_t n_seq = p.n_seq_max ? p.n_seq_max : 1;
    if (n_seq > MAX_SEQ) return wk_err(WK_ERR_INVALID_ARG, "n_seq_max %u exceeds %d", n_seq, MAX_SEQ);
    uint32_t n_batch = p.n_batch ? p.n_batch : 512;
    for (int i = 0; i < 2; i++) {
        wk_type t = i ? p.type_v : p.type_k;
        int64_t hd = i ? hp->head_dim_v : hp->head_dim_k;
        if (t != WK_TYPE_F16 && t != WK_TYPE_Q8_0 && t != WK_TYPE_F32)
            return wk_err(WK_ERR_UNSUPPORTED, "KV cache type %s not supported (f16, q8_0, f32)",
                          wk_type_name(t) ? wk_type_name(t) : "?");
        if (t == WK_TYPE_Q8_0 && hd % 32)
            return wk_err(WK_ERR_UNSUPPORTED, "a q8_0 KV cache needs head dims that are multiples of 32 (this model: %lld)",
                          (long long)hd);
    }
    if (n_batch > n_ctx) n_batch = n_ctx;

    wk_context *c = calloc(1, sizeof *c);
    if (!c) return wk_err(WK_ERR_NOMEM, "wk_context_create: out of memory");
    c->model = m;
    c->n_ctx = n_ctx;
    c->n_batch = n_batch;
    c->n_seq_max = n_seq;
    wk_status st = wk_backend_cpu_create(p.n_threads, &c->backend);
    if (st != WK_OK) goto fail;
    if ((st = wk_ctx_create(NULL, &c->kv_ctx)) != WK_OK) goto fail;
    c->k_cache = calloc((size_t)hp->n_layer, sizeof *c->k_cache);
    c->v_cache = calloc((size_t)hp->n_layer, sizeof *c->v_cache);
    c->cell_pos = malloc(n_ctx * sizeof *c->cell_pos);
    c->cell_seq = malloc(n_ctx * sizeof *c->cell_seq);
    c->seq_next = malloc(n_seq * sizeof *c->seq_next);
    if (!c->k_cache || !c->v_cache || !c->cell_pos || !c->cell_seq || !c->seq_next) {
        st = wk_err(WK_ERR_NOMEM, "wk_context_create: out of memory");
        goto fail;
    }
    for (int il = 0; il < hp->n_layer; il++) {
        c->k_cache[il] = wk_new_tensor_2d(c->kv_ctx, p.type_k, hp->head_dim_k * hp->n_head_kv, n_ctx);
        c->v_cache[il] = wk_new_tensor_2d(c->kv_ctx, p.type_v, hp->head_dim_v * hp->n_head_kv, n_ctx);
        if (!c->k_cache[il] || !c->v_cache[il]) {
            st = wk_err(WK_ERR_NOMEM, "KV cache of %u cells does not fit in memory", n_ctx);
            goto fail;
        }
        wk_blk_name(c->k_cache[il], "cache_k", il);
        wk_blk_name(c->v_cache[il], "cache_v", il);
    }
    wk_kv_clear(c);
    *out = c;
    return WK_OK;
fail:
    wk_context_free(c);
    return st;
}

/* ---- KV cell table -------------------------------------------------------------- */

void wk_kv_clear(wk_context *c) {
    if (!c) return;
    for (uint32_t i = 0; i < c->n_ctx; i++) c->cell_pos[i] = c->cell_seq[i] = -1;
    c->n_used = 0;
}

wk_status wk_kv_seq_rm(wk_context *c, int32_t seq_id, int32_t p0, int32_t p1) {
    if (!c) return wk_err(WK_ERR_INVALID_ARG, "wk_kv_seq_rm: NULL context");
    if (seq_id >= (int32_t)c->n_seq_max) return wk_err(WK_ERR_INVALID_ARG, "wk_kv_seq_rm: no sequence %d", seq_id);
    if (p0 < 0) p0 = 0;
    for (uint32_t i = 0; i < c->n_ctx; i++) {
        if (c->cell_pos[i] < 0 || (seq_id >= 0 && c->cell_seq[i] != seq_id)) continue;
        if (c->cell_pos[i] < p0 || (p1 >= 0 && c->cell_pos[i] >= p1)) continue;
        c->cell_pos[i] = c->cell_seq[i] = -1;
        c->n_used--;
    }
    return WK_OK;
}

int32_t wk_kv_seq_pos_max(const wk_context *c, int32_t seq_id) {
    if (!c) return -1;
    int32_t mx = -1;
    for (uint32_t i = 0; i < c->n_ctx; i++)
        if (c->cell_seq[i] == seq_id && c->cell_pos[i] > mx) mx = c->cell_pos[i];
    return mx;
}

int32_t wk_kv_used(const wk_context *c) { return c ? c->n_used : 0; }

/* ---- graphs ----------------------------------------------------------------------- */

static wk_graph_slot *get_graph(wk_context *c, int64_t n_tokens, int64_t n_outputs, int64_t n_kv) {
    wk_graph_slot *victim = &c->slots[0];
    for (int i = 0; i < WK_GRAPH_CACHE; i++) {
        wk_graph_slot *s = &c->slots[i];
        if (s->ctx && s->in.n_tokens == n_tokens && s->in.n_outputs == n_outputs && s->in.n_kv == n_kv) {
            s->last_use = ++c->clock;
            return s;
        }
        if (!s->ctx || (victim->ctx && s->last_use < victim->last_use)) victim = s;
    }
    slot_free(victim);
    const wk_model *m = c->model;
    wk_graph_slot *s = victim;
    if (wk_ctx_create(NULL, &s->ctx) != WK_OK) return NULL;
    wk_build_inputs *in = &s->in;
    in->ctx = s->ctx;
    in->n_tokens = n_tokens;
    in->n_outputs = n_outputs;
    in->n_kv = n_kv;
    in->n_ctx = c->n_ctx;
    in->tokens = wk_new_tensor_1d(s->ctx, WK_TYPE_I32, n_tokens);
    in->pos = wk_new_tensor_1d(s->ctx, WK_TYPE_I32, n_tokens);
    in->kv_idx = wk_new_tensor_1d(s->ctx, WK_TYPE_I32, n_tokens);
    in->out_ids = wk_new_tensor_1d(s->ctx, WK_TYPE_I32, n_outputs);
    in->mask = wk_new_tensor_2d(s->ctx, WK_TYPE_F32, n_kv, n_tokens);
    in->mask_swa = m->hp.n_swa > 0 ? wk_new_tensor_2d(s->ctx, WK_TYPE_F32, n_kv, n_tokens) : NULL;
    in->k_cache = c->k_cache;
    in->v_cache = c->v_cache;
    if (!in->tokens || !in->pos || !in->kv_idx || !in->out_ids || !in->mask || (m->hp.n_swa > 0 && !in->mask_swa))
        goto fail;
    wk_tensor_set_name(in->tokens, "inp_tokens");
    wk_tensor_set_name(in->pos, "inp_pos");
    wk_tensor_set_name(in->kv_idx, "inp_kv_idx");
    wk_tensor_set_name(in->mask, "kq_mask");
    s->logits = wk_model_build_graph(m, in);
    if (!s->logits) goto fail;
    wk_tensor_set_output(s->logits);
    s->graph = wk_graph_new(s->ctx);
    if (!s->graph || wk_graph_expand(s->graph, s->logits) != WK_OK) goto fail;
    s->last_use = ++c->clock;
    c->n_graph_builds++;
    return s;
fail:
    wk_err(WK_ERR_INVALID_ARG, "building the %s graph for %lld tokens: %s", m->hp.arch_name, (long long)n_tokens,
           wk_last_error());
    slot_free(s);
    return NULL;
}

/* mask row of token t: 0 where a cell is visible, -inf elsewhere */
static void fill_mask(const wk_context *c, float *row, int64_t n_kv, int32_t seq, int32_t pos, int64_t n_swa) {
    for (int64_t j = 0; j < n_kv; j++) {
        int32_t pj = c->cell_pos[j];
        bool ok = pj >= 0 && c->cell_seq[j] == seq && pj <= pos && (n_swa <= 0 || (int64_t)pos - pj < n_swa);
        row[j] = ok ? 0.0f : -INFINITY;
    }
}

/* Computes rows [i0, i1) of the batch whose cells, positions and sequences are resolved. */
static wk_status decode_chunk(wk_context *c, const wk_batch *b, int32_t i0, int32_t i1, const int8_t *want,
                              int32_t out0) {
    const wk_model *m = c->model;
    int32_t nt = i1 - i0, nout = 0;
    for (int32_t i = i0; i < i1; i++) nout += want[i] != 0;
    /* a graph needs at least one output row; a chunk nobody reads still computes its K/V */
    int64_t n_outputs = nout > 0 ? nout : 1;
    /* attention reads cells [0, n_kv): past the highest cell in use, in steps of
     * KV_STEP so the graph is rebuilt once per KV_STEP tokens, not per token */
    int32_t top = 0;
    for (int32_t j = (int32_t)c->n_ctx - 1; j >= 0; j--)
        if (c->cell_pos[j] >= 0) {
            top = j + 1;
            break;
        }
    int64_t n_kv = ((int64_t)top + KV_STEP - 1) / KV_STEP * KV_STEP;
    if (n_kv > c->n_ctx) n_kv = c->n_ctx;
    wk_graph_slot *s = get_graph(c, nt, n_outputs, n_kv);
    if (!s) return WK_ERR_INVALID_ARG;
    const wk_build_inputs *in = &s->in;
    int32_t *tok = wk_tensor_data(in->tokens), *pos = wk_tensor_data(in->pos), *idx = wk_tensor_data(in->kv_idx);
    int32_t *oid = wk_tensor_data(in->out_ids);
    for (int32_t i = 0; i < nt; i++) {
        tok[i] = b->token[i0 + i];
        pos[i] = c->b_pos[i0 + i];
        idx[i] = c->b_cells[i0 + i];
    }
    int32_t k = 0;
    for (int32_t i = 0; i < nt; i++)
        if (want[i0 + i]) oid[k++] = i;
    if (k == 0) oid[0] = nt - 1;
    float *mask = wk_tensor_data(in->mask), *mswa = in->mask_swa ? wk_tensor_data(in->mask_swa) : NULL;
    for (int32_t i = 0; i < nt; i++) {
        fill_mask(c, mask + (size_t)i * n_kv, n_kv, c->b_seq[i0 + i], pos[i], 0);
        if (mswa) fill_mask(c, mswa + (size_t)i * n_kv, n_kv, c->b_seq[i0 + i], pos[i], m->hp.n_swa);
    }
    wk_status st = wk_graph_compute(c->backend, s->graph);
    if (st != WK_OK) return st;
    if (nout > 0) {
        const float *lg = wk_tensor_data(s->logits);
        memcpy(c->logits + (size_t)out0 * m->hp.n_vocab, lg, (size_t)nout * m->hp.n_vocab * sizeof(float));
    }
    return WK_OK;
}

wk_batch wk_batch_one_seq(const wk_token *tokens, int32_t n_tokens) {
    wk_batch b = {n_tokens, tokens, NULL, NULL, NULL};
    return b;
}

wk_status wk_decode(wk_context *c, const wk_batch *b) {
    if (!c || !b) return wk_err(WK_ERR_INVALID_ARG, "wk_decode: NULL context or batch");
    const int32_t n = b->n_tokens;
    const int64_t n_vocab = c->model->hp.n_vocab;
    if (n <= 0 || !b->token) return wk_err(WK_ERR_INVALID_ARG, "wk_decode: empty batch");
    if ((int64_t)n > (int64_t)c->n_ctx - c->n_used)
        return wk_err(WK_ERR_INVALID_ARG, "context full: %d of %u cells used, the batch needs %d more (clear or truncate a sequence)",
                      c->n_used, c->n_ctx, n);
    if (n > c->b_cap) { /* per-batch scratch grows to the largest batch seen, then stays */
        int32_t *a = realloc(c->b_pos, (size_t)n * sizeof *a);
        if (a) c->b_pos = a;
        int32_t *q = a ? realloc(c->b_seq, (size_t)n * sizeof *q) : NULL;
        if (q) c->b_seq = q;
        int32_t *r = q ? realloc(c->b_cells, (size_t)n * sizeof *r) : NULL;
        if (r) c->b_cells = r;
        int32_t *o = r ? realloc(c->out_row, (size_t)n * sizeof *o) : NULL;
        if (o) c->out_row = o;
        int8_t *w = o ? realloc(c->b_want, (size_t)n) : NULL;
        if (!w) return wk_err(WK_ERR_NOMEM, "wk_decode: out of memory");
        c->b_want = w;
        c->b_cap = n;
    }

    /* validate and resolve sequences and positions before touching the cache */
    for (uint32_t s = 0; s < c->n_seq_max; s++) c->seq_next[s] = -2;
    int32_t n_out = 0;
    for (int32_t i = 0; i < n; i++) {
        if (b->token[i] < 0 || b->token[i] >= n_vocab)
            return wk_err(WK_ERR_INVALID_ARG, "wk_decode: token %d at row %d is not in the vocabulary (0..%lld)",
                          b->token[i], i, (long long)n_vocab - 1);
        int32_t s = b->seq_id ? b->seq_id[i] : 0;
        if (s < 0 || s >= (int32_t)c->n_seq_max)
            return wk_err(WK_ERR_INVALID_ARG, "wk_decode: sequence id %d at row %d not in 0..%u", s, i, c->n_seq_max - 1);
        c->b_seq[i] = s;
        if (b->pos) {
            if (b->pos[i] < 0) return wk_err(WK_ERR_INVALID_ARG, "wk_decode: negative position at row %d", i);
            c->b_pos[i] = b->pos[i];
        } else {
            if (c->seq_next[s] == -2) c->seq_next[s] = wk_kv_seq_pos_max(c, s) + 1;
            c->b_pos[i] = c->seq_next[s]++;
        }
        bool want = b->logits ? b->logits[i] != 0 : i == n - 1;
        c->out_row[i] = want ? n_out++ : -1;
    }
    size_t need;
    if (!wk_size_mul_ok((size_t)(n_out ? n_out : 1), (size_t)n_vocab, &need))
        return wk_err(WK_ERR_NOMEM, "wk_decode: logits too large");
    if (need > c->logits_cap) {
        float *l = realloc(c->logits, need * sizeof *l);
        if (!l) return wk_err(WK_ERR_NOMEM, "wk_decode: cannot allocate %zu logits", need);
        c->logits = l;
        c->logits_cap = need;
    }
    c->n_rows = 0;
    c->n_outputs = 0;
    int8_t *want = c->b_want;
    for (int32_t i = 0; i < n; i++) want[i] = c->out_row[i] >= 0;

    /* place tokens in free cells (lowest first) and compute chunk by chunk */
    wk_status st = WK_OK;
    uint32_t scan = 0;
    int32_t out0 = 0;
    for (int32_t i0 = 0; i0 < n && st == WK_OK; i0 += (int32_t)c->n_batch) {
        int32_t i1 = i0 + (int32_t)c->n_batch < n ? i0 + (int32_t)c->n_batch : n;
        for (int32_t i = i0; i < i1; i++) {
            while (c->cell_pos[scan] >= 0) scan++; /* enough free cells were checked above */
            c->b_cells[i] = (int32_t)scan;
            c->cell_pos[scan] = c->b_pos[i];
            c->cell_seq[scan] = c->b_seq[i];
            c->n_used++;
        }
        st = decode_chunk(c, b, i0, i1, want, out0);
        if (st != WK_OK) { /* this chunk's K/V were not (fully) written: free its cells */
            for (int32_t i = i0; i < i1; i++) {
                c->cell_pos[c->b_cells[i]] = c->cell_seq[c->b_cells[i]] = -1;
                c->n_used--;
            }
            break;
        }
        for (int32_t i = i0; i < i1; i++) out0 += want[i] != 0;
    }
    if (st != WK_OK) return st;
    c->n_rows = n;
    c->n_outputs = n_out;
    return WK_OK;
}

const float *wk_get_logits(wk_context *c, int32_t i) {
    if (!c) return NULL;
    if (i < 0) {
        i += c->n_outputs;
        if (i < 0) return NULL;
        return c->logits + (size_t)i * c->model->hp.n_vocab;
    }
    if (i >= c->n_rows || c->out_row[i] < 0) return NULL;
    return c->logits + (size_t)c->out_row[i] * c->model->hp.n_vocab;
}
