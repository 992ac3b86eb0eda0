/* sampler.h — picks the next token from a row of logits: penalties, top-k, top-p, min-p,
 * temperature, then a seeded draw (or argmax when temp <= 0). Every buffer is sized for the
 * vocabulary once at creation, so sampling a token allocates nothing. The PRNG is the
 * sampler's own (xoshiro256**), so a seed reproduces a run on every platform.
 * The declarations in this header are meant to become part of the public API (wick.h). */
#ifndef WK_RUNTIME_SAMPLER_H
#define WK_RUNTIME_SAMPLER_H

#include "wick.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The seed that means "pick one from the clock"; wk_sampler_seed() tells which was used. */
#define WK_SAMPLER_SEED_RANDOM UINT64_MAX

/* Every field has an "off" value, so a caller can switch one stage off without knowing the
 * others. Start from wk_sampler_params_default(). */
typedef struct {
    float temp;              /* <= 0: greedy (argmax, ties -> lowest id); default 0.8 */
    int32_t top_k;           /* keep the k most likely; 0 = off; default 40; < 0 is an error */
    float top_p;             /* keep the smallest prefix with mass >= p; 1 = off; in [0, 1] */
    float min_p;             /* keep p >= min_p * p_max; 0 = off; in [0, 1] */
    float repeat_penalty;    /* > 0; 1 = off: logit > 0 divided by it, logit <= 0 multiplied */
    int32_t repeat_last_n;   /* window of accepted tokens the penalties look at; 0 = off */
    float freq_penalty;      /* logit -= count * freq + (count > 0) * presence; 0 = off */
    float presence_penalty;
    uint64_t seed;           /* WK_SAMPLER_SEED_RANDOM: from the clock */
} wk_sampler_params;

/* temp 0.8, top_k 40, top_p 0.95, min_p 0.05, repeat 1.0 over 64, freq/presence 0, random seed. */
wk_sampler_params wk_sampler_params_default(void);

typedef struct wk_sampler wk_sampler;

/* A surviving candidate: its id and its logit after penalties and temperature. */
typedef struct {
    int32_t id;
    float logit;
} wk_sampler_candidate;

/* Checks params (NaN, out of range) and allocates every buffer for n_vocab tokens.
 * On error *out is NULL and wk_last_error() says why. */
wk_status wk_sampler_create(const wk_sampler_params *params, int32_t n_vocab, wk_sampler **out);
void wk_sampler_free(wk_sampler *s);  /* accepts NULL */

/* Runs the chain on n_vocab logits (not modified) and draws a token into *out.
 * Chain: penalties -> top-k -> top-p -> min-p -> temperature -> draw (llama.cpp's default
 * order without its typical/xtc/dry stages). Top-p and min-p therefore see the
 * distribution at temperature 1, and temperature only reshapes what they kept, so raising
 * it never lets an implausible token back in. NaN logits count as -inf, +inf as the largest
 * float (all +inf tokens share the mass equally); if no logit is above -inf the call fails. */
wk_status wk_sampler_sample(wk_sampler *s, const float *logits, int32_t *out);

/* The same chain without the draw: *cands points at the candidates the draw would choose
 * from (in descending logit order, ties by id, when a truncating stage ran; id order
 * otherwise). Valid until the next call on s. Greedy mode leaves exactly one candidate. */
wk_status wk_sampler_candidates(wk_sampler *s, const float *logits, const wk_sampler_candidate **cands,
                                size_t *n_cands);

/* Records a token for the penalties (the last repeat_last_n accepted tokens count). */
wk_status wk_sampler_accept(wk_sampler *s, int32_t token);

/* Forgets the history and rewinds the PRNG to its seed: the same calls give the same tokens. */
void wk_sampler_reset(wk_sampler *s);

/* The seed in use (the drawn one when the params asked for WK_SAMPLER_SEED_RANDOM). */
uint64_t wk_sampler_seed(const wk_sampler *s);

#ifdef __cplusplus
}
#endif
#endif
