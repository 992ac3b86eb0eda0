/* test_sampler.c — the sampler chain against f64 references computed here: greedy is the
 * argmax, seeds reproduce, the empirical distribution matches softmax(logits / T), top-k /
 * top-p / min-p keep exactly the reference sets, penalties follow their formulas, and
 * hostile parameters and logits give errors or the documented behaviour. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/runtime/sampler.h"

static int fails;
#define CHECK(cond, ...)                    \
    do {                                    \
        if (!(cond)) {                      \
            printf("  FAIL: " __VA_ARGS__); \
            printf("\n");                   \
            fails++;                        \
        }                                   \
    } while (0)

static uint64_t g_state = 42;
static double urand(void) {  /* splitmix64 -> [0, 1); independent of the sampler's PRNG */
    uint64_t z = (g_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

static void rand_logits(float *l, int n, double scale) {
    for (int i = 0; i < n; i++) l[i] = (float)((urand() * 2 - 1) * scale);
}

static wk_sampler *make(wk_sampler_params p, int n) {
    wk_sampler *s = NULL;
    if (wk_sampler_create(&p, n, &s) != WK_OK) {
        printf("  create failed: %s\n", wk_last_error());
        exit(2);
    }
    return s;
}

static wk_sampler_params plain(float temp, uint64_t seed) {  /* no truncation, no penalties */
    wk_sampler_params p = wk_sampler_params_default();
    p.temp = temp, p.top_k = 0, p.top_p = 1.0f, p.min_p = 0.0f, p.seed = seed;
    return p;
}

/* ---- greedy ------------------------------------------------------------------------------ */

static void test_greedy(void) {
    enum { N = 3000 };
    static float l[N];
    wk_sampler *s = make(plain(0.0f, 1), N);
    int bad = 0;
    for (int t = 0; t < 50; t++) {
        rand_logits(l, N, 10);
        int best = 0;
        for (int i = 1; i < N; i++)
            if (l[i] > l[best]) best = i;
        if (t % 5 == 0) l[N - 1] = l[best], l[N / 2] = l[best];  /* ties: the lowest id wins */
        if (t % 5 == 0 && N / 2 < best) best = N / 2;
        int32_t tok = -1;
        CHECK(wk_sampler_sample(s, l, &tok) == WK_OK, "greedy sample: %s", wk_last_error());
        bad += tok != best;
    }
    wk_sampler_free(s);
    wk_sampler_params p = plain(-1.0f, 1);  /* negative temperature is greedy too */
    s = make(p, 4);
    float l4[4] = {1, 3, 3, 2};
    int32_t tok = -1;
    wk_sampler_sample(s, l4, &tok);
    bad += tok != 1;
    wk_sampler_free(s);
    printf("  greedy: 51 rows (some with ties), %d not the argmax\n", bad);
    CHECK(bad == 0, "greedy differs from argmax");
}

/* ---- seeds --------------------------------------------------------------------------------- */

static void sequence(wk_sampler *s, const float *l, int32_t *out, int n) {
    for (int i = 0; i < n; i++) {
        if (wk_sampler_sample(s, l, &out[i]) != WK_OK) out[i] = -1;
        wk_sampler_accept(s, out[i]);
    }
}

static void test_seeds(void) {
    enum { N = 500, T = 300 };
    static float l[N];
    int32_t a[T], b[T], c[T], d[T];
    rand_logits(l, N, 3);
    wk_sampler_params p = wk_sampler_params_default();
    p.top_k = 0, p.top_p = 1, p.min_p = 0, p.temp = 1.0f, p.repeat_penalty = 1.1f;
    p.seed = 1234;
    wk_sampler *s1 = make(p, N), *s2 = make(p, N);
    p.seed = 1235;
    wk_sampler *s3 = make(p, N);
    sequence(s1, l, a, T);
    sequence(s2, l, b, T);
    sequence(s3, l, c, T);
    wk_sampler_reset(s1);
    sequence(s1, l, d, T);
    int same_ab = !memcmp(a, b, sizeof a), same_ac = !memcmp(a, c, sizeof a), same_ad = !memcmp(a, d, sizeof a);
    printf("  seeds: %d tokens; same seed equal=%d, other seed equal=%d, after reset equal=%d\n", T, same_ab,
           same_ac, same_ad);
    CHECK(same_ab, "same seed gave different sequences");
    CHECK(!same_ac, "different seeds gave the same sequence");
    CHECK(same_ad, "reset did not reproduce the sequence");
    CHECK(wk_sampler_seed(s1) == 1234, "wk_sampler_seed");
    wk_sampler_free(s1), wk_sampler_free(s2), wk_sampler_free(s3);

    p.seed = WK_SAMPLER_SEED_RANDOM;  /* the drawn seed is reported and reproduces */
    s1 = make(p, N);
    sequence(s1, l, a, T);
    p.seed = wk_sampler_seed(s1);
    s2 = make(p, N);
    sequence(s2, l, b, T);
    CHECK(p.seed != WK_SAMPLER_SEED_RANDOM && !memcmp(a, b, sizeof a), "random seed not reproducible");
    wk_sampler_free(s1), wk_sampler_free(s2);
}

/* ---- distribution ----------------------------------------------------------------------------- */

/* Samples `draws` tokens and compares frequencies with ref (f64 probabilities). With 400k
 * draws the standard error of a frequency is <= sqrt(0.25 / 4e5) = 7.9e-4; the bound 4e-3
 * is five of those. The chi-square bound 45 is far past the 1e-6 tail for <= 15 degrees
 * of freedom (about 41 at 15); the seeds are fixed, so the test is deterministic anyway. */
static void check_distribution(const char *what, wk_sampler_params p, const float *l, int n,
                               const double *ref) {
    enum { DRAWS = 400000 };
    wk_sampler *s = make(p, n);
    long cnt[64] = {0};
    for (int i = 0; i < DRAWS; i++) {
        int32_t t = -1;
        if (wk_sampler_sample(s, l, &t) != WK_OK || t < 0 || t >= n) {
            CHECK(0, "%s: sample failed", what);
            break;
        }
        cnt[t]++;
    }
    double worst = 0, chi2 = 0;
    int dof = -1, impossible = 0;
    for (int i = 0; i < n; i++) {
        double f = (double)cnt[i] / DRAWS;
        if (fabs(f - ref[i]) > worst) worst = fabs(f - ref[i]);
        if (ref[i] > 0) {
            double e = ref[i] * DRAWS;
            chi2 += (cnt[i] - e) * (cnt[i] - e) / e;
            dof++;
        } else if (cnt[i]) {
            impossible++;
        }
    }
    printf("  distribution %-28s %d draws: max|freq-p|=%.2e chi2=%.1f (dof %d)\n", what, DRAWS, worst, chi2, dof);
    CHECK(worst < 4e-3 && chi2 < 45 && !impossible, "%s: distribution off (%d impossible tokens drawn)", what,
          impossible);
    wk_sampler_free(s);
}

static void softmax_ref(const float *l, int n, double temp, const int *keep, double *out) {
    double m = -INFINITY, sum = 0;
    for (int i = 0; i < n; i++)
        if (keep[i] && l[i] > m) m = l[i];
    for (int i = 0; i < n; i++) sum += keep[i] ? exp(((double)l[i] - m) / temp) : 0;
    for (int i = 0; i < n; i++) out[i] = keep[i] ? exp(((double)l[i] - m) / temp) / sum : 0;
}

static void test_distribution(void) {
    enum { N = 10 };
    float l[N] = {1.0f, 2.5f, -0.5f, 0.0f, 2.0f, -3.0f, 1.5f, 0.7f, 2.4f, -1.0f};
    int all[N], top3[N] = {0};
    double ref[N];
    for (int i = 0; i < N; i++) all[i] = 1;
    top3[1] = top3[8] = top3[4] = 1;
    softmax_ref(l, N, 0.7, all, ref);
    check_distribution("softmax(l/0.7)", plain(0.7f, 7), l, N, ref);
    softmax_ref(l, N, 1.6, all, ref);
    check_distribution("softmax(l/1.6)", plain(1.6f, 8), l, N, ref);
    wk_sampler_params p = plain(1.3f, 9);
    p.top_k = 3;
    softmax_ref(l, N, 1.3, top3, ref);
    check_distribution("top_k=3, softmax(l/1.3)", p, l, N, ref);
    float inf_l[N] = {0, INFINITY, 1, NAN, INFINITY, 5, -INFINITY, 2, 3, INFINITY};
    double inf_ref[N] = {0, 1.0 / 3, 0, 0, 1.0 / 3, 0, 0, 0, 0, 1.0 / 3};
    check_distribution("+inf logits share the mass", plain(0.5f, 10), inf_l, N, inf_ref);
}

/* ---- truncation sets against an f64 reference ---------------------------------------------- */

typedef struct {
    double l;
    int id;
} ref_cand;

static int ref_cmp(const void *pa, const void *pb) {
    const ref_cand *a = pa, *b = pb;
    if (a->l != b->l) return a->l > b->l ? -1 : 1;
    return a->id - b->id;
}

/* The reference chain, written plainly: full sort, prefix sums, thresholds. Returns the
 * kept ids in *keep (a 0/1 map) and 1 if some value lies too close to a threshold to call. */
static int reference_sets(const float *l, int n, int top_k, double top_p, double min_p, int *keep) {
    ref_cand *c = malloc((size_t)n * sizeof *c);
    for (int i = 0; i < n; i++) c[i].l = l[i], c[i].id = i;
    qsort(c, (size_t)n, sizeof *c, ref_cmp);
    int m = (top_k > 0 && top_k < n) ? top_k : n, close = 0;
    if (top_p < 1.0) {
        double total = 0, cum = 0;
        for (int i = 0; i < m; i++) total += exp(c[i].l - c[0].l);
        for (int i = 0; i < m; i++) {
            cum += exp(c[i].l - c[0].l);
            if (fabs(cum - top_p * total) < 1e-9 * total) close = 1;
            if (cum >= top_p * total) {
                m = i + 1;
                break;
            }
        }
    }
    int kept = 0;
    for (int i = 0; i < m; i++) {
        double r = exp(c[i].l - c[0].l);
        if (min_p > 0 && r != min_p && fabs(r - min_p) < 1e-9) close = 1;
        if (r >= min_p) c[kept++] = c[i];
    }
    memset(keep, 0, (size_t)n * sizeof *keep);
    for (int i = 0; i < kept; i++) keep[c[i].id] = 1;
    free(c);
    return close;
}

static void test_truncation(void) {
    enum { N = 6000 };
    static float l[N];
    static int keep[N], got[N];
    struct { int k; float p, minp; } cfg[] = {
        {40, 1.0f, 0.0f}, {1, 1.0f, 0.0f}, {0, 0.9f, 0.0f}, {0, 0.3f, 0.0f}, {0, 1.0f, 0.05f},
        {0, 1.0f, 0.5f}, {40, 0.95f, 0.05f}, {500, 0.8f, 0.01f}, {N + 5, 0.5f, 0.0f}, {0, 0.0f, 0.0f},
        {0, 1.0f, 1.0f}, {7, 0.99f, 0.2f},
    };
    int rows = 0, mismatched = 0, skipped = 0, order_bad = 0;
    for (size_t ci = 0; ci < sizeof cfg / sizeof cfg[0]; ci++) {
        for (int t = 0; t < 8; t++) {
            rand_logits(l, N, t % 2 ? 4 : 12);
            if (t == 3)
                for (int i = 0; i < N; i += 3) l[i] = l[0];  /* many ties */
            if (reference_sets(l, N, cfg[ci].k, cfg[ci].p, cfg[ci].minp, keep)) {
                skipped++;
                continue;
            }
            wk_sampler_params p = plain(0.9f, 1);
            p.top_k = cfg[ci].k, p.top_p = cfg[ci].p, p.min_p = cfg[ci].minp;
            wk_sampler *s = make(p, N);
            const wk_sampler_candidate *c = NULL;
            size_t nc = 0;
            CHECK(wk_sampler_candidates(s, l, &c, &nc) == WK_OK, "candidates: %s", wk_last_error());
            memset(got, 0, sizeof got);
            for (size_t i = 0; i < nc; i++) {
                got[c[i].id]++;
                /* the reported logit is the input over the temperature */
                if (c[i].logit != l[c[i].id] / 0.9f) order_bad++;
                if (i > 0 && (cfg[ci].k > 0 || cfg[ci].p < 1.0f) &&
                    !(c[i - 1].logit > c[i].logit || (c[i - 1].logit == c[i].logit && c[i - 1].id < c[i].id)))
                    order_bad++;
            }
            if (memcmp(got, keep, sizeof got)) mismatched++;
            rows++;
            wk_sampler_free(s);
        }
    }
    printf("  truncation: %d rows x %d logits over %zu configurations; %d sets differ from the f64 reference, "
           "%d order/value errors (%d rows skipped as too close to a threshold)\n",
           rows, N, sizeof cfg / sizeof cfg[0], mismatched, order_bad, skipped);
    CHECK(mismatched == 0 && order_bad == 0 && rows > 80, "truncation sets differ");
}

/* ---- penalties ------------------------------------------------------------------------------------ */

static void test_penalties(void) {
    enum { N = 50 };
    float l[N];
    rand_logits(l, N, 5);
    l[3] = 0.0f;  /* the <= 0 branch at exactly zero */
    wk_sampler_params p = plain(1.0f, 1);
    p.repeat_penalty = 1.3f, p.freq_penalty = 0.25f, p.presence_penalty = 0.6f, p.repeat_last_n = 6;
    wk_sampler *s = make(p, N);
    int32_t hist[] = {9, 3, 9, 4, 7, 9, 11, 3, 3, 20};  /* window: the last 6 */
    for (size_t i = 0; i < sizeof hist / sizeof hist[0]; i++) wk_sampler_accept(s, hist[i]);
    int count[N] = {0};
    for (size_t i = sizeof hist / sizeof hist[0] - 6; i < sizeof hist / sizeof hist[0]; i++) count[hist[i]]++;
    const wk_sampler_candidate *c = NULL;
    size_t nc = 0;
    wk_sampler_candidates(s, l, &c, &nc);
    int bad = (nc != N);
    for (size_t i = 0; i < nc && !bad; i++) {
        int id = c[i].id;
        float want = l[id];
        if (count[id] > 0) {
            want = want <= 0.0f ? want * p.repeat_penalty : want / p.repeat_penalty;
            want -= (float)count[id] * p.freq_penalty + (float)(count[id] > 0) * p.presence_penalty;
        }
        if (id != (int)i || c[i].logit != want) {
            printf("    token %d: got %.9g want %.9g (count %d)\n", id, (double)c[i].logit, (double)want, count[id]);
            bad++;
        }
    }
    printf("  penalties: %d logits, window 6 of 10 accepted, %d differ from the formula\n", N, bad);
    CHECK(bad == 0, "penalties");
    /* After reset nothing is penalized. */
    wk_sampler_reset(s);
    wk_sampler_candidates(s, l, &c, &nc);
    bad = 0;
    for (size_t i = 0; i < nc; i++) bad += c[i].logit != l[c[i].id];
    CHECK(bad == 0, "reset kept penalty history");
    /* A penalty can change the greedy choice. */
    wk_sampler_free(s);
    p.temp = 0, p.repeat_penalty = 1.0f, p.freq_penalty = 0, p.presence_penalty = 100.0f;
    s = make(p, N);
    int best = 0;
    for (int i = 1; i < N; i++)
        if (l[i] > l[best]) best = i;
    int32_t tok;
    wk_sampler_accept(s, best);
    wk_sampler_sample(s, l, &tok);
    CHECK(tok != best, "presence penalty did not move greedy off the repeated token");
    wk_sampler_free(s);
}

/* ---- hostile input ---------------------------------------------------------------------------------- */

static void test_hostile(void) {
    int ok = 0, total = 0;
    wk_sampler *s = NULL;
#define EXPECT_REJECT(field, value)                                                           \
    do {                                                                                      \
        wk_sampler_params p = wk_sampler_params_default();                                    \
        p.field = value;                                                                      \
        wk_clear_error();                                                                     \
        wk_status st = wk_sampler_create(&p, 100, &s);                                        \
        total++;                                                                              \
        if (st == WK_ERR_INVALID_ARG && s == NULL && wk_last_error()[0]) ok++;                \
        else printf("    %s = %s accepted\n", #field, #value);                                \
        wk_sampler_free(s);                                                                   \
        s = NULL;                                                                             \
    } while (0)
    EXPECT_REJECT(temp, NAN);
    EXPECT_REJECT(top_k, -1);
    EXPECT_REJECT(top_k, INT32_MIN);
    EXPECT_REJECT(top_p, NAN);
    EXPECT_REJECT(top_p, 1.5f);
    EXPECT_REJECT(top_p, -0.1f);
    EXPECT_REJECT(min_p, NAN);
    EXPECT_REJECT(min_p, -1.0f);
    EXPECT_REJECT(min_p, 2.0f);
    EXPECT_REJECT(repeat_penalty, 0.0f);
    EXPECT_REJECT(repeat_penalty, NAN);
    EXPECT_REJECT(repeat_penalty, INFINITY);
    EXPECT_REJECT(repeat_last_n, -1);
    EXPECT_REJECT(repeat_last_n, INT32_MAX);
    EXPECT_REJECT(freq_penalty, NAN);
    EXPECT_REJECT(presence_penalty, -INFINITY);
    wk_sampler_params d = wk_sampler_params_default();
    total += 4;
    ok += wk_sampler_create(&d, 0, &s) == WK_ERR_INVALID_ARG && !s;
    ok += wk_sampler_create(&d, -5, &s) == WK_ERR_INVALID_ARG && !s;
    ok += wk_sampler_create(NULL, 10, &s) == WK_ERR_INVALID_ARG && !s;
    ok += wk_sampler_create(&d, 10, NULL) == WK_ERR_INVALID_ARG;
    /* Positive infinite temperature is allowed: uniform over what truncation kept. */
    d.temp = INFINITY;
    total++;
    ok += wk_sampler_create(&d, 10, &s) == WK_OK;
    wk_sampler_free(s);

    /* Logits: all NaN / -inf is an error; some NaN are never drawn. */
    d = plain(1.0f, 3);
    s = make(d, 8);
    float nan8[8], mixed[8] = {NAN, 1, NAN, -INFINITY, 2, NAN, 0, NAN};
    for (int i = 0; i < 8; i++) nan8[i] = (i % 2) ? NAN : -INFINITY;
    int32_t tok = 7;
    total += 4;
    ok += wk_sampler_sample(s, nan8, &tok) == WK_ERR_INVALID_ARG && tok == -1;
    ok += wk_sampler_sample(s, NULL, &tok) == WK_ERR_INVALID_ARG;
    ok += wk_sampler_sample(NULL, mixed, &tok) == WK_ERR_INVALID_ARG;
    ok += wk_sampler_sample(s, mixed, NULL) == WK_ERR_INVALID_ARG;
    int drew_bad = 0;
    for (int i = 0; i < 5000; i++) {
        wk_sampler_sample(s, mixed, &tok);
        drew_bad += !(tok == 1 || tok == 4 || tok == 6);
    }
    total++;
    ok += drew_bad == 0;
    total += 3;
    ok += wk_sampler_accept(s, -1) == WK_ERR_INVALID_ARG;
    ok += wk_sampler_accept(s, 8) == WK_ERR_INVALID_ARG;
    ok += wk_sampler_accept(NULL, 0) == WK_ERR_INVALID_ARG;
    wk_sampler_free(s);
    wk_sampler_free(NULL);
    wk_sampler_reset(NULL);
    /* Extreme but valid: huge logits with a tiny temperature behave as argmax. */
    d = plain(1e-30f, 4);
    d.top_k = 2;
    s = make(d, 4);
    float big[4] = {FLT_MAX, -FLT_MAX, FLT_MAX * 0.5f, 3};
    total++;
    ok += wk_sampler_sample(s, big, &tok) == WK_OK && tok == 0;
    wk_sampler_free(s);
    printf("  hostile: %d of %d cases rejected or handled as documented\n", ok, total);
    CHECK(ok == total, "hostile cases");
}

int main(void) {
    printf("test_sampler\n");
    test_greedy();
    test_seeds();
    test_distribution();
    test_truncation();
    test_penalties();
    test_hostile();
    printf(fails ? "FAILED (%d)\n" : "all passed\n", fails);
    return fails ? 1 : 0;
}
