/* sampler.c — the sampler chain of sampler.h. Logits are copied into a candidate array
 * sized once for the vocabulary; top-k keeps a k-sized min-heap in one pass (O(n log k), no
 * sort of the whole vocabulary), and only top-p without top-k sorts everything. Penalty
 * counts are kept incrementally as tokens are accepted, so applying them costs O(window). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/error.h"
#include "sampler.h"

/* A window this long is a mistake, not a request (and would be a huge allocation). */
#define MAX_REPEAT_LAST_N (1 << 20)

struct wk_sampler {
    wk_sampler_params p;
    int32_t n_vocab;
    wk_sampler_candidate *cand;  /* n_vocab: the working set of one call */
    int32_t *counts;             /* n_vocab: occurrences of each token in the window */
    int32_t *ring;               /* repeat_last_n: the window, oldest overwritten first */
    int32_t ring_n, ring_head;
    uint64_t seed;
    uint64_t rng[4];
};

/* ---- PRNG: xoshiro256** seeded through splitmix64 (public-domain algorithms) ---------- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(uint64_t s[4]) {
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

static double rng_uniform(uint64_t s[4]) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; } /* [0, 1) */

static void rng_seed(wk_sampler *s) {
    uint64_t x = s->seed;
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&x);
}

/* ---- parameters -------------------------------------------------------------------- */

wk_sampler_params wk_sampler_params_default(void) {
    wk_sampler_params p = {0};
    p.temp = 0.8f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    p.repeat_penalty = 1.0f;
    p.repeat_last_n = 64;
    p.seed = WK_SAMPLER_SEED_RANDOM;
    return p;
}

static wk_status check_params(const wk_sampler_params *p) {
    if (isnan(p->temp)) return wk_err(WK_ERR_INVALID_ARG, "sampler: temperature is NaN");
    if (p->top_k < 0) return wk_err(WK_ERR_INVALID_ARG, "sampler: top_k %d is negative (0 turns it off)", p->top_k);
    if (!(p->top_p >= 0.0f && p->top_p <= 1.0f))
        return wk_err(WK_ERR_INVALID_ARG, "sampler: top_p %g is not in [0, 1]", (double)p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        return wk_err(WK_ERR_INVALID_ARG, "sampler: min_p %g is not in [0, 1]", (double)p->min_p);
    if (!(p->repeat_penalty > 0.0f) || !isfinite(p->repeat_penalty))
        return wk_err(WK_ERR_INVALID_ARG, "sampler: repeat_penalty %g must be finite and > 0 (1 turns it off)",
                      (double)p->repeat_penalty);
    if (p->repeat_last_n < 0 || p->repeat_last_n > MAX_REPEAT_LAST_N)
        return wk_err(WK_ERR_INVALID_ARG, "sampler: repeat_last_n %d is not in [0, %d]", p->repeat_last_n,
                      MAX_REPEAT_LAST_N);
    if (!isfinite(p->freq_penalty) || !isfinite(p->presence_penalty))
        return wk_err(WK_ERR_INVALID_ARG, "sampler: frequency/presence penalties must be finite");
    return WK_OK;
}

wk_status wk_sampler_create(const wk_sampler_params *params, int32_t n_vocab, wk_sampler **out) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "sampler: out is NULL");
    *out = NULL;
    if (!params) return wk_err(WK_ERR_INVALID_ARG, "sampler: params is NULL");
    if (n_vocab <= 0) return wk_err(WK_ERR_INVALID_ARG, "sampler: n_vocab %d must be > 0", n_vocab);
    wk_status st = check_params(params);
    if (st != WK_OK) return st;

    wk_sampler *s = calloc(1, sizeof *s);
    if (!s) return wk_err(WK_ERR_NOMEM, "sampler: out of memory");
    s->p = *params;
    s->n_vocab = n_vocab;
    s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
    s->counts = calloc((size_t)n_vocab, sizeof *s->counts);
    s->ring = malloc((size_t)(params->repeat_last_n > 0 ? params->repeat_last_n : 1) * sizeof *s->ring);
    if (!s->cand || !s->counts || !s->ring) {
        wk_sampler_free(s);
        return wk_err(WK_ERR_NOMEM, "sampler: out of memory for %d tokens", n_vocab);
    }
    s->seed = params->seed;
    if (s->seed == WK_SAMPLER_SEED_RANDOM) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^ (uint64_t)(uintptr_t)s;
        s->seed = splitmix64(&x);
        if (s->seed == WK_SAMPLER_SEED_RANDOM) s->seed = 0;  /* so the reported seed reproduces */
    }
    rng_seed(s);
    *out = s;
    return WK_OK;
}

void wk_sampler_free(wk_sampler *s) {
    if (!s) return;
    free(s->cand);
    free(s->counts);
    free(s->ring);
    free(s);
}

void wk_sampler_reset(wk_sampler *s) {
    if (!s) return;
    memset(s->counts, 0, (size_t)s->n_vocab * sizeof *s->counts);
    s->ring_n = s->ring_head = 0;
    rng_seed(s);
}

uint64_t wk_sampler_seed(const wk_sampler *s) { return s ? s->seed : 0; }

wk_status wk_sampler_accept(wk_sampler *s, int32_t token) {
    if (!s) return wk_err(WK_ERR_INVALID_ARG, "sampler: NULL sampler");
    if (token < 0 || token >= s->n_vocab)
        return wk_err(WK_ERR_INVALID_ARG, "sampler: token %d is not in [0, %d)", token, s->n_vocab);
    int32_t cap = s->p.repeat_last_n;
    if (cap == 0) return WK_OK;
    if (s->ring_n == cap) {
        s->counts[s->ring[s->ring_head]]--;  /* the oldest leaves the window */
    } else {
        s->ring_n++;
    }
    s->ring[s->ring_head] = token;
    s->counts[token]++;
    s->ring_head = (s->ring_head + 1) % cap;
    return WK_OK;
}

/* ---- the chain ----------------------------------------------------------------------- */

/* The order every stage uses: higher logit first, then lower id, so ties are deterministic. */
static inline int better(const wk_sampler_candidate *a, const wk_sampler_candidate *b) {
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int cmp_desc(const void *pa, const void *pb) {
    const wk_sampler_candidate *a = pa, *b = pb;
    return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

/* Penalties in llama.cpp's form, once per distinct token of the window. counts[] is
 * negated while a token is done so a repeated entry is not penalized twice. */
static void apply_penalties(wk_sampler *s) {
    const wk_sampler_params *p = &s->p;
    if (s->ring_n == 0 || (p->repeat_penalty == 1.0f && p->freq_penalty == 0.0f && p->presence_penalty == 0.0f))
        return;
    for (int32_t i = 0; i < s->ring_n; i++) {
        int32_t t = s->ring[i], c = s->counts[t];
        if (c <= 0) continue;
        float *l = &s->cand[t].logit;
        if (*l <= 0.0f) *l *= p->repeat_penalty;
        else *l /= p->repeat_penalty;
        *l -= (float)c * p->freq_penalty + (float)(c > 0) * p->presence_penalty;
        s->counts[t] = -c;
    }
    for (int32_t i = 0; i < s->ring_n; i++) {
        int32_t t = s->ring[i];
        if (s->counts[t] < 0) s->counts[t] = -s->counts[t];
    }
}

/* Min-heap on better(): the root is the worst of the k kept. */
static void heap_down(wk_sampler_candidate *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && better(&h[m], &h[l])) m = l;
        if (l + 1 < n && better(&h[m], &h[l + 1])) m = l + 1;
        if (m == i) return;
        wk_sampler_candidate t = h[i];
        h[i] = h[m], h[m] = t, i = m;
    }
}

/* Moves the k best candidates to the front, sorted. One pass over n with a k-heap. */
static void top_k_select(wk_sampler_candidate *c, size_t n, size_t k) {
    for (size_t i = k / 2; i-- > 0;) heap_down(c, k, i);
    for (size_t i = k; i < n; i++) {
        if (better(&c[i], &c[0])) {
            c[0] = c[i];
            heap_down(c, k, 0);
        }
    }
    qsort(c, k, sizeof *c, cmp_desc);
}

/* Runs penalties and truncation; returns the number of candidates left in s->cand. */
static size_t run_chain(wk_sampler *s, const float *logits, int *sorted) {
    const wk_sampler_params *p = &s->p;
    size_t n = (size_t)s->n_vocab;
    for (size_t i = 0; i < n; i++) {
        float l = logits[i];
        if (isnan(l)) l = -INFINITY;
        else if (l == INFINITY) l = FLT_MAX;
        s->cand[i].id = (int32_t)i;
        s->cand[i].logit = l;
    }
    apply_penalties(s);
    *sorted = 0;

    if (!(p->temp > 0.0f)) {  /* greedy: argmax, first (lowest id) of equals */
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (s->cand[i].logit > s->cand[best].logit) best = i;
        s->cand[0] = s->cand[best];
        return 1;
    }

    if (p->top_k > 0 && (size_t)p->top_k < n) {
        top_k_select(s->cand, n, (size_t)p->top_k);
        n = (size_t)p->top_k;
        *sorted = 1;
    }
    if (p->top_p < 1.0f) {
        if (!*sorted) qsort(s->cand, n, sizeof *s->cand, cmp_desc);
        *sorted = 1;
        double lmax = s->cand[0].logit, total = 0, cum = 0;
        for (size_t i = 0; i < n; i++) total += exp((double)s->cand[i].logit - lmax);
        size_t keep = n;
        for (size_t i = 0; i < n; i++) {
            cum += exp((double)s->cand[i].logit - lmax);
            if (cum >= (double)p->top_p * total) {
                keep = i + 1;
                break;
            }
        }
        n = keep;
    }
    if (p->min_p > 0.0f) {
        double lmax = -INFINITY;
        for (size_t i = 0; i < n; i++)
            if (s->cand[i].logit > lmax) lmax = s->cand[i].logit;
        size_t m = 0;  /* compaction keeps the order (sorted or by id) */
        for (size_t i = 0; i < n; i++)
            if (exp((double)s->cand[i].logit - lmax) >= (double)p->min_p) s->cand[m++] = s->cand[i];
        n = m;  /* the max always passes, so n >= 1 */
    }
    return n;
}

static wk_status check_call(wk_sampler *s, const float *logits) {
    if (!s || !logits) return wk_err(WK_ERR_INVALID_ARG, "sampler: NULL sampler or logits");
    for (int32_t i = 0; i < s->n_vocab; i++)
        if (logits[i] > -INFINITY) return WK_OK;  /* false for NaN and -inf */
    return wk_err(WK_ERR_INVALID_ARG, "sampler: no logit above -inf (all NaN or -inf)");
}

wk_status wk_sampler_candidates(wk_sampler *s, const float *logits, const wk_sampler_candidate **cands,
                                size_t *n_cands) {
    wk_status st = check_call(s, logits);
    if (st != WK_OK) return st;
    int sorted;
    size_t n = run_chain(s, logits, &sorted);
    if (s->p.temp > 0.0f)
        for (size_t i = 0; i < n; i++) s->cand[i].logit /= s->p.temp;
    if (cands) *cands = s->cand;
    if (n_cands) *n_cands = n;
    return WK_OK;
}

wk_status wk_sampler_sample(wk_sampler *s, const float *logits, int32_t *out) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "sampler: out is NULL");
    *out = -1;
    wk_status st = check_call(s, logits);
    if (st != WK_OK) return st;
    int sorted;
    size_t n = run_chain(s, logits, &sorted);
    if (n == 1) {
        *out = s->cand[0].id;
        return WK_OK;
    }
    /* Softmax of logit / temp in f64: (l - max) <= 0 before dividing, so nothing overflows
     * even for FLT_MAX logits or a tiny temperature (which then acts as argmax). */
    double lmax = -INFINITY, inv_t = 1.0 / (double)s->p.temp, total = 0;
    for (size_t i = 0; i < n; i++)
        if (s->cand[i].logit > lmax) lmax = s->cand[i].logit;
    for (size_t i = 0; i < n; i++) total += exp(((double)s->cand[i].logit - lmax) * inv_t);
    double u = rng_uniform(s->rng) * total, cum = 0;
    size_t pick = n;
    for (size_t i = 0; i < n; i++) {
        double w = exp(((double)s->cand[i].logit - lmax) * inv_t);
        cum += w;
        if (u < cum && w > 0) {
            pick = i;
            break;
        }
    }
    if (pick == n) {  /* rounding left u at the very top: the last token with any mass */
        for (size_t i = n; i-- > 0;)
            if (exp(((double)s->cand[i].logit - lmax) * inv_t) > 0) {
                pick = i;
                break;
            }
    }
    *out = s->cand[pick].id;
    return WK_OK;
}
