/* attention.c — FLASH_ATTN: softmax(q k^T * scale [softcapped] + mask) v in one pass over
 * the keys with an online softmax (running max m and sum l; the accumulator is rescaled
 * by exp(m_old - m_new) when the max grows), so no n_kv-sized score buffer is needed.
 * K and V may be f32, f16 or q8_0 (a quantized KV cache). A work item is a run of queries
 * times a run of the query heads that share a KV head (GQA); its rows (query, head) walk
 * the keys in blocks: the block's scores for all rows are one gemm tile (isa gemm_f16/f32,
 * the K block stays in cache across the rows), the weights come from the set's exp_sum and
 * the value update is one wsum tile, all in f32. q8_0 or strided K/V blocks are widened to
 * f32 first. Runs are split finer when there are few items (decode), so every thread gets
 * work; items are dealt round-robin so causal prefill (later queries see more keys) balances. */
#include <math.h>
#include <string.h>

#include "../cpu_internal.h"
#include "../../../src/quant/blocks.h"

/* Exact f16 -> f32 without branches on the value, so a row converts in vector registers:
 * the 15 exponent/mantissa bits are placed at float position and scaled by 2^112, which
 * rebiases the exponent (and normalizes subnormals exactly); inputs that were inf/NaN
 * (scaled value >= 2^16) get an all-ones exponent; then the sign goes back on. */
static inline float h2f(uint16_t h) {
    uint32_t bits = (uint32_t)(h & 0x7fff) << 13;
    float f;
    memcpy(&f, &bits, sizeof f);
    f *= 0x1p112f;
    memcpy(&bits, &f, sizeof f);
    if (f >= 0x1p16f) bits |= 0x7f800000u;
    bits |= (uint32_t)(h & 0x8000) << 16;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* n elements of a K/V row (f32/f16 through the element stride nb0, or q8_0 blocks of
 * d and 32 int8: formats.md 2) as f32; exact for every type (d * q fits a float). */
static void row_f32(wk_type t, const char *x, size_t nb0, float *y, int64_t n) {
    if (t == WK_TYPE_Q8_0) {
        for (int64_t b = 0; b < n / 32; b++) {
            const wk_block_q8_0 *blk = (const wk_block_q8_0 *)x + b;
            const float d = h2f(blk->d);
            for (int i = 0; i < 32; i++) y[b * 32 + i] = d * blk->qs[i];
        }
    } else if (t == WK_TYPE_F16 && nb0 == sizeof(uint16_t)) {
        const uint16_t *h = (const uint16_t *)x;
        for (int64_t i = 0; i < n; i++) y[i] = h2f(h[i]);
    } else if (t == WK_TYPE_F16) {
        for (int64_t i = 0; i < n; i++) y[i] = h2f(*(const uint16_t *)(x + i * nb0));
    } else {
        for (int64_t i = 0; i < n; i++) y[i] = *(const float *)(x + i * nb0);
    }
}

#define KV_BLOCK 64 /* keys per block: a 64 x D f16 K block stays in L1 across the rows */
#define MAX_ROWS 64 /* (query, head) rows per work item */

/* Queries per item when there are many (prefill): enough rows to reuse each K/V block. */
static int64_t max_queries(int64_t n_q, int64_t group) {
    int64_t b = MAX_ROWS / group;
    if (b < 1) b = 1;
    return b < n_q ? b : n_q;
}

/* Queries (qb) and heads (hs) per item: fewer of each while that leaves under 4 items per
 * thread. Never more than max_queries() x group rows, which the scratch is sized for. */
static void item_shape(int64_t n_q, int64_t group, int64_t n_head_kv, int nth, int64_t *qb, int64_t *hs) {
    const int64_t want = 4 * (int64_t)nth;
    int64_t b = max_queries(n_q, group);
    while (b > 1 && (n_q + b - 1) / b * n_head_kv < want) b = (b + 1) / 2;
    int64_t n_sub = 1;
    const int64_t items = (n_q + b - 1) / b * n_head_kv;
    if (b == 1 && items < want) n_sub = (want + items - 1) / items;
    if (n_sub > group) n_sub = group;
    *qb = b;
    *hs = (group + n_sub - 1) / n_sub;
}

/* Per-thread scratch in floats (work.c asks through wk_cpu_flash_attn_scratch). */
typedef struct {
    size_t acc, ml, q, s, mask, k, v, total;
} fa_layout;

static fa_layout layout(const wk_tensor *dst) {
    const wk_tensor *q = dst->src[0], *k = dst->src[1], *v = dst->src[2];
    const size_t D = (size_t)q->ne[0], Dv = (size_t)v->ne[0], group = (size_t)(q->ne[2] / k->ne[2]);
    const size_t qb = (size_t)max_queries(q->ne[1], (int64_t)group), rows = qb * group;
    fa_layout L;
    L.acc = 0;                           /* rows x Dv accumulators */
    L.ml = L.acc + rows * Dv;            /* rows (m, l) pairs */
    L.q = L.ml + 2 * rows;               /* rows x D query rows */
    L.s = L.q + rows * D;                /* rows x KV_BLOCK scores, then weights */
    L.mask = L.s + rows * KV_BLOCK;      /* qb x KV_BLOCK mask values */
    L.k = L.mask + qb * KV_BLOCK;        /* KV_BLOCK x D widened keys */
    L.v = L.k + (size_t)KV_BLOCK * D;    /* KV_BLOCK x Dv widened values */
    L.total = L.v + (size_t)KV_BLOCK * Dv;
    return L;
}

size_t wk_cpu_flash_attn_scratch(const wk_tensor *dst) { return layout(dst).total * sizeof(float); }

/* A block of nk rows of K or V (ne[0] elements each) as something the tiles take: the
 * rows in place when they are f16/f32 with unit element stride (*ld in elements), otherwise
 * widened into buf (ld = n). Returns true for f16 rows. */
static bool kv_block(const wk_tensor *x, int64_t j0, int nk, int64_t hk, float *buf, const void **rows,
                     size_t *ld) {
    const char *base = (const char *)x->data + j0 * x->nb[1] + hk * x->nb[2];
    const int64_t n = x->ne[0];
    if (x->type == WK_TYPE_F16 && x->nb[0] == 2 && x->nb[1] % 2 == 0 && x->nb[2] % 2 == 0) {
        *rows = base;
        *ld = x->nb[1] / 2;
        return true;
    }
    if (x->type == WK_TYPE_F32 && x->nb[0] == 4 && x->nb[1] % 4 == 0 && x->nb[2] % 4 == 0) {
        *rows = base;
        *ld = x->nb[1] / 4;
        return false;
    }
    for (int j = 0; j < nk; j++) row_f32(x->type, base + j * x->nb[1], x->nb[0], buf + j * n, n);
    *rows = buf;
    *ld = (size_t)n;
    return false;
}

void wk_cpu_FLASH_ATTN(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *q = dst->src[0], *k = dst->src[1], *v = dst->src[2], *mask = dst->src[3];
    const int64_t D = q->ne[0], n_q = q->ne[1], n_head = q->ne[2];
    const int64_t Dv = v->ne[0], n_kv = k->ne[1], n_head_kv = k->ne[2];
    const int64_t group = n_head / n_head_kv; /* query heads per kv head (GQA) */
    const float scale = wk_param_f32(dst, 0), softcap = wk_param_f32(dst, 1);
    const wk_isa *isa = p->isa, *ref = &wk_cpu_isa_scalar;
    const wk_wsum_f32_fn wsum_f32 = isa->wsum_f32 ? isa->wsum_f32 : ref->wsum_f32;
    const wk_wsum_f16_fn wsum_f16 = isa->wsum_f16 ? isa->wsum_f16 : ref->wsum_f16;
    const wk_exp_sum_fn exp_sum = isa->exp_sum ? isa->exp_sum : ref->exp_sum;
    int64_t qb, hs;
    item_shape(n_q, group, n_head_kv, p->nth, &qb, &hs);
    const int64_t n_sub = (group + hs - 1) / hs, n_qblk = (n_q + qb - 1) / qb;

    const fa_layout L = layout(dst);
    float *scr = p->scratch;
    float *acc = scr + L.acc, *ml = scr + L.ml, *qrow = scr + L.q, *sc = scr + L.s, *mb = scr + L.mask;
    float *kbuf = scr + L.k, *vbuf = scr + L.v;

    for (int64_t it = p->ith; it < n_qblk * n_head_kv * n_sub; it += p->nth) {
        const int64_t isub = it % n_sub, hk = (it / n_sub) % n_head_kv, iq0 = it / (n_sub * n_head_kv) * qb;
        const int64_t h0 = hk * group + isub * hs;
        const int64_t nh = (h0 + hs < (hk + 1) * group ? h0 + hs : (hk + 1) * group) - h0;
        const int64_t nq = iq0 + qb < n_q ? qb : n_q - iq0;
        const int nr = (int)(nq * nh); /* row r = query iq0 + r / nh, head h0 + r % nh */
        for (int r = 0; r < nr; r++) {
            const char *qp = (const char *)q->data + (iq0 + r / nh) * q->nb[1] + (h0 + r % nh) * q->nb[2];
            for (int64_t i = 0; i < D; i++) qrow[r * D + i] = *(const float *)(qp + i * q->nb[0]);
            for (int64_t i = 0; i < Dv; i++) acc[r * Dv + i] = 0;
            ml[2 * r] = -INFINITY; /* running max */
            ml[2 * r + 1] = 0;     /* running sum of exp(s - m) */
        }

        for (int64_t j0 = 0; j0 < n_kv; j0 += KV_BLOCK) {
            const int nk = (int)(n_kv - j0 < KV_BLOCK ? n_kv - j0 : KV_BLOCK);
            /* the block's keys [jlo, jhi) that some row of the item sees: only those are read,
             * so a block masked for every query is skipped (causal prefill) and unwritten cache
             * cells past the last position (masked, any bits) never reach the arithmetic */
            int jlo = 0, jhi = nk;
            if (mask) {
                jlo = nk, jhi = 0;
                for (int64_t qi = 0; qi < nq; qi++) {
                    const char *mrow = (const char *)mask->data + (iq0 + qi) * mask->nb[1];
                    for (int j = 0; j < nk; j++) {
                        const float mv = wk_cpu_load_f(mask->type, mrow, j0 + j, mask->nb[0]);
                        mb[qi * KV_BLOCK + j] = mv;
                        if (mv != -INFINITY) {
                            if (j < jlo) jlo = j;
                            if (j >= jhi) jhi = j + 1;
                        }
                    }
                }
                if (jlo >= jhi) continue;
            }
            const int nl = jhi - jlo;

            /* scores: sc[r*KV_BLOCK + jlo + j] = q row r . key j0 + jlo + j */
            const void *kr;
            size_t ldk;
            if (kv_block(k, j0 + jlo, nl, hk, kbuf, &kr, &ldk))
                isa->gemm_f16(D, nl, nr, kr, ldk, qrow, (size_t)D, sc + jlo, KV_BLOCK);
            else
                isa->gemm_f32(D, nl, nr, kr, ldk, qrow, (size_t)D, sc + jlo, KV_BLOCK);

            /* online softmax per row: scale, cap, mask, block max, rescale, weights */
            for (int r = 0; r < nr; r++) {
                float *s = sc + r * KV_BLOCK + jlo, *m = &ml[2 * r], *l = &ml[2 * r + 1];
                const float *mr = mb + (r / nh) * KV_BLOCK + jlo;
                float bmax = -INFINITY;
                for (int j = 0; j < nl; j++) {
                    float x = s[j] * scale;
                    if (softcap != 0) x = softcap * tanhf(x / softcap);
                    if (mask) x = mr[j] == -INFINITY ? -INFINITY : x + mr[j]; /* weight exactly 0 */
                    s[j] = x;
                    if (x > bmax) bmax = x;
                }
                if (bmax == -INFINITY) { /* every key of the block masked for this row */
                    memset(s, 0, (size_t)nl * sizeof *s);
                    continue;
                }
                if (bmax > *m) { /* new max: rescale what was accumulated under the old one */
                    const float rs = expf(*m - bmax); /* 0 on the row's first live block */
                    float *a = acc + r * Dv;
                    for (int64_t i = 0; i < Dv; i++) a[i] *= rs;
                    *l *= rs;
                    *m = bmax;
                }
                *l += exp_sum(nl, s, *m, s);
            }

            /* values: acc[r] += sum_j w[r][j] * v[j0 + jlo + j] */
            const void *vr;
            size_t ldv;
            if (kv_block(v, j0 + jlo, nl, hk, vbuf, &vr, &ldv))
                wsum_f16(Dv, nr, nl, sc + jlo, KV_BLOCK, vr, ldv, acc, (size_t)Dv);
            else
                wsum_f32(Dv, nr, nl, sc + jlo, KV_BLOCK, vr, ldv, acc, (size_t)Dv);
        }
        /* dst element (d, h, iq); a query with every key masked gets zeros, not 0/0 */
        for (int r = 0; r < nr; r++) {
            float *out = (float *)((char *)dst->data + (h0 + r % nh) * dst->nb[1] + (iq0 + r / nh) * dst->nb[2]);
            const float l = ml[2 * r + 1], inv = l > 0 ? 1.0f / l : 0.0f;
            for (int64_t i = 0; i < Dv; i++) out[i] = acc[r * Dv + i] * inv;
        }
    }
}
