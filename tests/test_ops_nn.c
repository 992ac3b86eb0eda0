/* test_ops_nn.c — RMS_NORM, NORM, SOFT_MAX, ROPE, FLASH_ATTN, CROSS_ENTROPY and OUT_PROD
 * against f64 references written here from the formulas (formats.md 4.2, 4.3), computed
 * from the inputs as stored (f16 inputs read back as f16). Every case runs with 1, 2 and 3
 * threads, with sources contiguous, padded and permuted, on every ISA path of this CPU. */
#include "backends/cpu/blas.h"
#include "testutil.h"
#include "src/quant/quant.h"

static int fails;

/* Computes out with 1, 2 and 3 threads on one graph and compares each with ref. The
 * output is poisoned with NaN before each run, so a thread count that skips rows fails. */
static void run_check(wk_ctx *ctx, wk_tensor *out, const double *ref, double atol, double rtol, const char *what) {
    if (!out) {
        printf("  %s: build failed: %s  FAIL\n", what, wk_last_error());
        fails++;
        return;
    }
    wk_tensor_set_output(out);
    wk_graph *g = wk_graph_new(ctx);
    if (!g || wk_graph_expand(g, out) != WK_OK) {
        printf("  %s: graph: %s  FAIL\n", what, wk_last_error());
        fails++;
        return;
    }
    for (int run = 0; run <= 3; run++) {
        int nth = run ? run : 1; /* run 0 only plans memory so run 1 can be poisoned too */
        wk_backend *be = NULL;
        if (out->data) memset(out->data, 0xff, wk_tensor_nbytes(out));
        if (wk_backend_cpu_create(nth, &be) != WK_OK || wk_graph_compute(be, g) != WK_OK) {
            printf("  %s: compute: %s  FAIL\n", what, wk_last_error());
            fails++;
            wk_backend_free(be);
            return;
        }
        wk_backend_free(be);
        if (run == 0) continue;
        char label[160];
        snprintf(label, sizeof label, "%s t=%d", what, nth);
        fails += tu_check(label, out, ref, atol, rtol);
    }
}

static double *ref_alloc(int64_t n) {
    double *r = calloc((size_t)n, sizeof *r);
    if (!r) { fprintf(stderr, "out of memory\n"); exit(2); }
    return r;
}

static wk_ctx *new_ctx(void) {
    wk_ctx *ctx = NULL;
    if (wk_ctx_create(NULL, &ctx) != WK_OK) { fprintf(stderr, "ctx: %s\n", wk_last_error()); exit(2); }
    return ctx;
}

/* ---- RMS_NORM, NORM ------------------------------------------------------------------ */

static const int64_t k_row_shapes[][4] = {
    {1, 3, 1, 1}, {3, 1, 1, 1}, {17, 3, 2, 2}, {64, 1, 3, 1}, {129, 17, 1, 2},
};
#define N_ROW_SHAPES (int)(sizeof k_row_shapes / sizeof k_row_shapes[0])

/* Tolerance: the kernels sum in double; RMS_NORM rounds its scale to f32 and multiplies
 * in f32 (2 roundings, 1.2e-7 relative), NORM rounds once. 5e-7 relative covers both
 * with margin; atol only for exact zeros (NORM of a length-1 row is 0). */
static void test_norms(void) {
    printf("rms_norm / norm\n");
    for (int op = 0; op < 2; op++)
        for (int si = 0; si < N_ROW_SHAPES; si++)
            for (int L = 0; L < TU_N_LAYOUTS; L++) {
                const int64_t *ne = k_row_shapes[si];
                wk_ctx *ctx = new_ctx();
                /* an offset mean makes NORM's cancellation visible */
                wk_tensor *a = tu_rand(ctx, WK_TYPE_F32, ne, (tu_layout)L, op ? 3.0 : -2.0, op ? 5.0 : 2.0);
                const float eps = si == 0 ? 1e-5f : 1e-6f;
                wk_tensor *out = op ? wk_norm(ctx, a, eps) : wk_rms_norm(ctx, a, eps);
                double *ref = ref_alloc(wk_tensor_nelements(a));
                int64_t n = 0;
                for (int64_t i3 = 0; i3 < ne[3]; i3++)
                    for (int64_t i2 = 0; i2 < ne[2]; i2++)
                        for (int64_t i1 = 0; i1 < ne[1]; i1++) {
                            double mean = 0, ss = 0;
                            for (int64_t i0 = 0; i0 < ne[0]; i0++) mean += tu_get(a, i0, i1, i2, i3);
                            mean = op ? mean / ne[0] : 0;
                            for (int64_t i0 = 0; i0 < ne[0]; i0++) {
                                double d = tu_get(a, i0, i1, i2, i3) - mean;
                                ss += d * d;
                            }
                            double inv = 1 / sqrt(ss / ne[0] + (double)eps);
                            for (int64_t i0 = 0; i0 < ne[0]; i0++) ref[n++] = (tu_get(a, i0, i1, i2, i3) - mean) * inv;
                        }
                char what[128];
                snprintf(what, sizeof what, "%s [%lld,%lld,%lld,%lld] %s", op ? "norm" : "rms_norm", (long long)ne[0],
                         (long long)ne[1], (long long)ne[2], (long long)ne[3], tu_layout_name[L]);
                run_check(ctx, out, ref, 1e-7, 5e-7, what);
                free(ref);
                wk_ctx_free(ctx);
            }
}

/* ---- SOFT_MAX ------------------------------------------------------------------------ */

/* Tolerance: a*scale and +mask are rounded to f32 and expf is within 1 ulp, so each score
 * carries an absolute error of a few ulp of |score| (<= ~16 here, ~2e-6); the probability's
 * relative error is about that error. 1e-5 relative + 1e-7 absolute leaves 2-3x margin. */
static void test_soft_max(void) {
    printf("soft_max\n");
    const float scales[] = {1.0f, 0.125f, 2.5f};
    for (int si = 0; si < N_ROW_SHAPES; si++)
        for (int mk = 0; mk < 3; mk++) /* no mask, f32 mask, f16 mask */
            for (int L = 0; L < TU_N_LAYOUTS; L++) {
                const int64_t *ne = k_row_shapes[si];
                wk_ctx *ctx = new_ctx();
                wk_tensor *a = tu_rand(ctx, WK_TYPE_F32, ne, (tu_layout)L, -3, 3);
                wk_tensor *mask = NULL;
                if (mk) {
                    const int64_t mne[4] = {ne[0], ne[1] + 2, 1, 1}; /* more rows than needed */
                    mask = tu_rand(ctx, mk == 1 ? WK_TYPE_F32 : WK_TYPE_F16, mne, (tu_layout)((L + 1) % 3), -4, 4);
                    /* causal-style -inf entries; the last row (when used) fully masked */
                    for (int64_t i1 = 0; i1 < mne[1]; i1++)
                        for (int64_t i0 = 0; i0 < mne[0]; i0++)
                            if (i0 > i1 + 1 || (i1 == ne[1] - 1 && ne[1] > 1)) tu_set(mask, i0, i1, 0, 0, -INFINITY);
                }
                const float scale = scales[(si + mk) % 3];
                wk_tensor *out = wk_soft_max(ctx, a, mask, scale);
                double *ref = ref_alloc(wk_tensor_nelements(a));
                double *w = ref_alloc(ne[0]);
                int64_t n = 0;
                for (int64_t i3 = 0; i3 < ne[3]; i3++)
                    for (int64_t i2 = 0; i2 < ne[2]; i2++)
                        for (int64_t i1 = 0; i1 < ne[1]; i1++) {
                            double max = -INFINITY, sum = 0;
                            for (int64_t i0 = 0; i0 < ne[0]; i0++) {
                                w[i0] = tu_get(a, i0, i1, i2, i3) * (double)scale + (mask ? tu_get(mask, i0, i1, 0, 0) : 0);
                                if (w[i0] > max) max = w[i0];
                            }
                            for (int64_t i0 = 0; i0 < ne[0]; i0++) sum += max == -INFINITY ? 0 : exp(w[i0] - max);
                            for (int64_t i0 = 0; i0 < ne[0]; i0++)
                                ref[n++] = max == -INFINITY ? 0 : exp(w[i0] - max) / sum; /* fully masked: zeros */
                        }
                char what[128];
                snprintf(what, sizeof what, "soft_max [%lld,%lld,%lld,%lld] %s s=%g %s", (long long)ne[0],
                         (long long)ne[1], (long long)ne[2], (long long)ne[3], mk == 0 ? "nomask" : mk == 1 ? "f32m" : "f16m",
                         scale, tu_layout_name[L]);
                run_check(ctx, out, ref, 1e-7, 1e-5, what);
                free(w);
                free(ref);
                wk_ctx_free(ctx);
            }
}

/* ---- ROPE ---------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    int64_t head_dim, n_head, n_tokens;
    int n_rot;
    wk_rope_mode mode;
    bool ff;
    float freq_scale, ext_factor, attn_factor;
    int n_ctx_orig;
} rope_case;

static const rope_case k_rope_cases[] = {
    {"normal", 64, 3, 5, 64, WK_ROPE_NORMAL, false, 1.0f, 0.0f, 1.0f, 0},
    {"neox", 64, 3, 5, 64, WK_ROPE_NEOX, false, 1.0f, 0.0f, 1.0f, 0},
    {"normal n_rot<hd", 17, 1, 3, 10, WK_ROPE_NORMAL, false, 1.0f, 0.0f, 1.0f, 0},
    {"neox n_rot<hd ff", 129, 3, 17, 64, WK_ROPE_NEOX, true, 1.0f, 0.0f, 1.0f, 0},
    {"normal ff scale", 64, 2, 3, 64, WK_ROPE_NORMAL, true, 0.25f, 0.0f, 1.0f, 0},
    {"neox scale attn", 3, 17, 1, 2, WK_ROPE_NEOX, false, 0.5f, 0.0f, 0.75f, 0},
    {"normal yarn", 64, 2, 17, 64, WK_ROPE_NORMAL, false, 0.25f, 1.0f, 1.0f, 4096},
    {"neox yarn n_rot<hd", 129, 1, 5, 96, WK_ROPE_NEOX, true, 0.125f, 1.0f, 0.9f, 2048},
    {"neox yarn half", 64, 3, 3, 64, WK_ROPE_NEOX, false, 0.5f, 0.5f, 1.0f, 8192},
};

/* Tolerance: the kernel computes angles in double and rounds cos and sin to f32, then
 * does the rotation in f32: about 3 roundings of values <= ~1.3 (|x| < 1 times mscale),
 * under 4e-7 absolute. 1e-6 absolute + 1e-6 relative. */
static void test_rope(void) {
    printf("rope\n");
    for (size_t ci = 0; ci < sizeof k_rope_cases / sizeof k_rope_cases[0]; ci++)
        for (int L = 0; L < TU_N_LAYOUTS; L++) {
            const rope_case *rc = &k_rope_cases[ci];
            wk_ctx *ctx = new_ctx();
            const int64_t ne[4] = {rc->head_dim, rc->n_head, rc->n_tokens, 1};
            wk_tensor *a = tu_rand(ctx, WK_TYPE_F32, ne, (tu_layout)L, -1, 1);
            const int64_t pne[4] = {rc->n_tokens, 1, 1, 1};
            wk_tensor *pos = tu_rand(ctx, WK_TYPE_I32, pne, (tu_layout)((L + 1) % 3), 0, 0);
            for (int64_t t = 0; t < rc->n_tokens; t++) /* large positions, one past 2^13 */
                tu_set(pos, t, 0, 0, 0, t == 0 ? 9000 : (double)tu_int(0, 5000));
            wk_tensor *ff = NULL;
            if (rc->ff) {
                const int64_t fne[4] = {rc->n_rot / 2, 1, 1, 1};
                ff = tu_rand(ctx, WK_TYPE_F32, fne, (tu_layout)((L + 2) % 3), 1, 40);
            }
            wk_rope_params rp = wk_rope_params_default(rc->n_rot, rc->mode);
            rp.freq_scale = rc->freq_scale;
            rp.ext_factor = rc->ext_factor;
            rp.attn_factor = rc->attn_factor;
            rp.n_ctx_orig = rc->n_ctx_orig;
            if (ci % 2) rp.freq_base = 500000.0f;
            wk_tensor *out = wk_rope(ctx, a, pos, ff, &rp);

            /* reference: formats.md 4.3 in double, from the f32 parameters as stored */
            const double base = rp.freq_base, fs = rp.freq_scale, ext = rp.ext_factor;
            const int n_rot = rc->n_rot, half = n_rot / 2;
            double low = 0, high = 0, mscale = rp.attn_factor;
            if (ext != 0) {
                double cd_fast = n_rot * log(rp.n_ctx_orig / ((double)rp.beta_fast * 2 * M_PI)) / (2 * log(base));
                double cd_slow = n_rot * log(rp.n_ctx_orig / ((double)rp.beta_slow * 2 * M_PI)) / (2 * log(base));
                low = fmax(0, floor(cd_fast));
                high = fmin(n_rot - 1, ceil(cd_slow));
                mscale *= 1 + 0.1 * log(1 / fs);
            }
            double *ref = ref_alloc(wk_tensor_nelements(a));
            int64_t n = 0;
            for (int64_t i2 = 0; i2 < ne[2]; i2++) {
                const double p = tu_get(pos, i2, 0, 0, 0);
                for (int64_t i1 = 0; i1 < ne[1]; i1++) {
                    double *y = ref + n;
                    for (int64_t i0 = 0; i0 < ne[0]; i0++) y[i0] = tu_get(a, i0, i1, i2, 0);
                    for (int i = 0; i < half; i++) {
                        double extrap = p * pow(base, -2.0 * i / n_rot) / (ff ? tu_get(ff, i, 0, 0, 0) : 1.0);
                        double interp = fs * extrap, theta = interp;
                        if (ext != 0) {
                            double ramp = 1 - fmin(1, fmax(0, (i - low) / fmax(0.001, high - low)));
                            double t = ramp * ext;
                            theta = interp * (1 - t) + extrap * t;
                        }
                        const double c = cos(theta) * mscale, s = sin(theta) * mscale;
                        const int64_t j0 = rc->mode == WK_ROPE_NEOX ? i : 2 * i;
                        const int64_t j1 = rc->mode == WK_ROPE_NEOX ? i + half : 2 * i + 1;
                        const double x0 = tu_get(a, j0, i1, i2, 0), x1 = tu_get(a, j1, i1, i2, 0);
                        y[j0] = x0 * c - x1 * s;
                        y[j1] = x0 * s + x1 * c;
                    }
                    n += ne[0];
                }
            }
            char what[128];
            snprintf(what, sizeof what, "rope %s hd=%lld rot=%d %s", rc->name, (long long)rc->head_dim, rc->n_rot,
                     tu_layout_name[L]);
            run_check(ctx, out, ref, 1e-6, 1e-6, what);
            free(ref);
            wk_ctx_free(ctx);
        }
}

/* ---- FLASH_ATTN ---------------------------------------------------------------------- */

/* MASK_UNUSED: causal over the first n_kv - 40 cells, the rest masked for every query and
 * filled with NaN in K and V (unwritten cache cells): they must not reach the output */
typedef enum { MASK_NONE, MASK_CAUSAL, MASK_RANDOM, MASK_UNUSED } mask_kind;

typedef struct {
    const char *name;
    int64_t D, Dv, n_q, n_kv, n_head, n_head_kv;
    wk_type kt, vt;
    mask_kind mask;
    wk_type mt;
    float softcap;
    double amp; /* K/V amplitude (0 = 1): tiny values exercise f16 subnormals */
} fa_case;

static const fa_case k_fa_cases[] = {
    {"decode gqa f16kv", 64, 64, 1, 129, 8, 2, WK_TYPE_F16, WK_TYPE_F16, MASK_NONE, WK_TYPE_F32, 0, 0},
    {"prefill causal gqa", 64, 64, 17, 17, 8, 2, WK_TYPE_F32, WK_TYPE_F32, MASK_CAUSAL, WK_TYPE_F32, 0, 0},
    {"chunk causal f16 all", 64, 64, 3, 20, 8, 2, WK_TYPE_F16, WK_TYPE_F16, MASK_CAUSAL, WK_TYPE_F16, 0, 0},
    {"random mask softcap Dv<D", 17, 3, 3, 64, 3, 1, WK_TYPE_F32, WK_TYPE_F16, MASK_RANDOM, WK_TYPE_F32, 2.0f, 0},
    {"f16 mask Dv<D", 129, 64, 5, 33, 2, 2, WK_TYPE_F16, WK_TYPE_F32, MASK_RANDOM, WK_TYPE_F16, 0, 0},
    {"decode softcap Dv>D", 3, 17, 1, 5, 4, 4, WK_TYPE_F32, WK_TYPE_F32, MASK_RANDOM, WK_TYPE_F32, 30.0f, 0},
    {"tiny", 1, 1, 1, 1, 1, 1, WK_TYPE_F32, WK_TYPE_F32, MASK_NONE, WK_TYPE_F32, 0, 0},
    {"f16 subnormal kv", 64, 64, 2, 40, 4, 2, WK_TYPE_F16, WK_TYPE_F16, MASK_CAUSAL, WK_TYPE_F32, 0, 4e-5},
    /* several 64-key blocks and query blocks (causal: whole blocks skipped), Dv with a column tail */
    {"prefill blocks f16 Dv80", 64, 80, 70, 150, 8, 2, WK_TYPE_F16, WK_TYPE_F16, MASK_CAUSAL, WK_TYPE_F16, 0, 0},
    {"gemma-like D256 mqa", 256, 256, 6, 6, 4, 1, WK_TYPE_F16, WK_TYPE_F16, MASK_CAUSAL, WK_TYPE_F32, 0, 0},
    {"unused cells NaN", 64, 64, 5, 100, 4, 2, WK_TYPE_F16, WK_TYPE_F16, MASK_UNUSED, WK_TYPE_F16, 0, 0},
    {"long decode Dv72", 64, 72, 1, 300, 4, 1, WK_TYPE_F32, WK_TYPE_F16, MASK_RANDOM, WK_TYPE_F32, 0, 0},
};

/* Tolerance: the kernel works in f32. A score is a dot product of D <= 129 terms |q k| <=
 * 2.25, rounding errors of about u = 6e-8 per step growing like sqrt(D) (random signs; the
 * vector sets sum in 8-16 lanes, shorter chains still), times scale <= 0.58: about 1e-7 in
 * a score, which moves the output by at most that times max|v - out| <= 2. Weights carry
 * exp's error (<= 4e-7 relative, below) and the value sum ~sqrt(n_kv) u relative. Observed
 * worst case 2.5e-7 (scalar set), so 1e-6 absolute + 1e-6 relative keeps a 4x margin. */
static void test_flash_attn(void) {
    printf("flash_attn\n");
    for (size_t ci = 0; ci < sizeof k_fa_cases / sizeof k_fa_cases[0]; ci++)
        for (int L = 0; L < TU_N_LAYOUTS; L++) {
            const fa_case *fc = &k_fa_cases[ci];
            wk_ctx *ctx = new_ctx();
            const int64_t qne[4] = {fc->D, fc->n_q, fc->n_head, 1};
            const int64_t kne[4] = {fc->D, fc->n_kv, fc->n_head_kv, 1};
            const int64_t vne[4] = {fc->Dv, fc->n_kv, fc->n_head_kv, 1};
            /* q scaled so that scaled scores reach ~+-6 and softcap 2 really caps */
            wk_tensor *q = tu_rand(ctx, WK_TYPE_F32, qne, (tu_layout)L, -1.5, 1.5);
            const double amp = fc->amp > 0 ? fc->amp : 1.0;
            wk_tensor *k = tu_rand(ctx, fc->kt, kne, (tu_layout)((L + 1) % 3), -1.5 * amp, 1.5 * amp);
            wk_tensor *v = tu_rand(ctx, fc->vt, vne, (tu_layout)((L + 2) % 3), -amp, amp);
            wk_tensor *mask = NULL;
            if (fc->mask != MASK_NONE) {
                const int64_t mne[4] = {fc->n_kv, fc->n_q + (fc->mask == MASK_RANDOM ? 3 : 0), 1, 1};
                mask = tu_rand(ctx, fc->mt, mne, (tu_layout)L, -3, 3);
                for (int64_t i1 = 0; i1 < mne[1]; i1++)
                    for (int64_t j = 0; j < mne[0]; j++) {
                        double m = tu_get(mask, j, i1, 0, 0);
                        if (fc->mask == MASK_CAUSAL) /* query i1 sits at position n_kv - n_q + i1 */
                            m = j <= fc->n_kv - fc->n_q + i1 ? 0 : -INFINITY;
                        else if (fc->mask == MASK_UNUSED)
                            m = j <= fc->n_kv - 40 - fc->n_q + i1 ? 0 : -INFINITY;
                        else if (tu_int(0, 3) == 0 || (i1 == 1 && fc->n_q > 1)) /* row 1 fully masked */
                            m = -INFINITY;
                        tu_set(mask, j, i1, 0, 0, m);
                    }
            }
            if (fc->mask == MASK_UNUSED)
                for (int64_t h = 0; h < fc->n_head_kv; h++)
                    for (int64_t j = fc->n_kv - 40; j < fc->n_kv; j++) {
                        for (int64_t i = 0; i < fc->D; i++) tu_set(k, i, j, h, 0, NAN);
                        for (int64_t i = 0; i < fc->Dv; i++) tu_set(v, i, j, h, 0, NAN);
                    }
            const float scale = (float)(1.0 / sqrt((double)fc->D));
            wk_tensor *out = wk_flash_attn(ctx, q, k, v, mask, scale, fc->softcap);

            /* naive reference: softmax(q k^T * scale [capped] + mask) v, in double */
            const int64_t n_out = fc->Dv * fc->n_head * fc->n_q;
            double *ref = ref_alloc(n_out), *s = ref_alloc(fc->n_kv);
            for (int64_t iq = 0; iq < fc->n_q; iq++)
                for (int64_t h = 0; h < fc->n_head; h++) {
                    const int64_t hk = h / (fc->n_head / fc->n_head_kv);
                    double max = -INFINITY, sum = 0;
                    for (int64_t j = 0; j < fc->n_kv; j++) {
                        s[j] = -INFINITY;
                        if (mask && tu_get(mask, j, iq, 0, 0) == -INFINITY) continue; /* never read */
                        double d = 0;
                        for (int64_t i = 0; i < fc->D; i++) d += tu_get(q, i, iq, h, 0) * tu_get(k, i, j, hk, 0);
                        d *= (double)scale;
                        if (fc->softcap != 0) d = fc->softcap * tanh(d / fc->softcap);
                        s[j] = d + (mask ? tu_get(mask, j, iq, 0, 0) : 0);
                        if (s[j] > max) max = s[j];
                    }
                    double *o = ref + (iq * fc->n_head + h) * fc->Dv; /* dst (d, h, iq) */
                    if (max == -INFINITY) continue;                  /* all masked: zeros */
                    for (int64_t j = 0; j < fc->n_kv; j++) sum += exp(s[j] - max);
                    for (int64_t j = 0; j < fc->n_kv; j++) {
                        if (s[j] == -INFINITY) continue;
                        double w = exp(s[j] - max) / sum;
                        for (int64_t i = 0; i < fc->Dv; i++) o[i] += w * tu_get(v, i, j, hk, 0);
                    }
                }
            char what[128];
            snprintf(what, sizeof what, "flash_attn %s %s", fc->name, tu_layout_name[L]);
            run_check(ctx, out, ref, 1e-6 * amp, 1e-6, what);
            free(s);
            free(ref);
            wk_ctx_free(ctx);
        }
}

/* FLASH_ATTN over a q8_0 K/V cache: K and V are quantized with the reference quantizer and
 * the f64 reference reads their dequantized values, so the only difference left is the
 * kernel's f32 arithmetic: same 1e-6 tolerance as the f32/f16 cases. GQA, causal mask. */
static void test_flash_attn_q8_0(void) {
    const int64_t D = 64, Dv = 32, n_q = 3, n_kv = 21, n_head = 4, n_head_kv = 2;
    for (int L = 0; L < TU_N_LAYOUTS; L++) {
        wk_ctx *ctx = new_ctx();
        const int64_t qne[4] = {D, n_q, n_head, 1};
        wk_tensor *q = tu_rand(ctx, WK_TYPE_F32, qne, (tu_layout)L, -1.5, 1.5);
        wk_tensor *k = wk_new_tensor_3d(ctx, WK_TYPE_Q8_0, D, n_kv, n_head_kv);
        wk_tensor *v = wk_new_tensor_3d(ctx, WK_TYPE_Q8_0, Dv, n_kv, n_head_kv);
        double *kd = ref_alloc(D * n_kv * n_head_kv), *vd = ref_alloc(Dv * n_kv * n_head_kv);
        float row[64];
        for (int t = 0; t < 2; t++) {
            wk_tensor *x = t ? v : k;
            double *xd = t ? vd : kd;
            const int64_t n0 = t ? Dv : D;
            for (int64_t r = 0; r < n_kv * n_head_kv; r++) {
                for (int64_t i = 0; i < n0; i++) row[i] = (float)tu_uniform(-1.5, 1.5);
                void *dst = (char *)x->data + r * x->nb[1];
                wk_quantize_row(WK_TYPE_Q8_0, row, dst, n0);
                wk_dequantize_row(WK_TYPE_Q8_0, dst, row, n0);
                for (int64_t i = 0; i < n0; i++) xd[r * n0 + i] = row[i];
            }
        }
        const int64_t mne[4] = {n_kv, n_q, 1, 1};
        wk_tensor *mask = tu_rand(ctx, WK_TYPE_F32, mne, TU_CONTIG, 0, 0);
        for (int64_t i1 = 0; i1 < n_q; i1++)
            for (int64_t j = 0; j < n_kv; j++) tu_set(mask, j, i1, 0, 0, j <= n_kv - n_q + i1 ? 0 : -INFINITY);
        const float scale = 0.125f;
        wk_tensor *out = wk_flash_attn(ctx, q, k, v, mask, scale, 0);
        double *ref = ref_alloc(Dv * n_head * n_q), *s = ref_alloc(n_kv);
        for (int64_t iq = 0; iq < n_q; iq++)
            for (int64_t h = 0; h < n_head; h++) {
                const int64_t hk = h / (n_head / n_head_kv);
                double max = -INFINITY, sum = 0;
                for (int64_t j = 0; j < n_kv; j++) {
                    double d = 0;
                    for (int64_t i = 0; i < D; i++) d += tu_get(q, i, iq, h, 0) * kd[(hk * n_kv + j) * D + i];
                    s[j] = d * scale + tu_get(mask, j, iq, 0, 0);
                    if (s[j] > max) max = s[j];
                }
                double *o = ref + (iq * n_head + h) * Dv;
                for (int64_t j = 0; j < n_kv; j++) sum += exp(s[j] - max);
                for (int64_t j = 0; j < n_kv; j++)
                    for (int64_t i = 0; i < Dv; i++) o[i] += exp(s[j] - max) / sum * vd[(hk * n_kv + j) * Dv + i];
            }
        char what[96];
        snprintf(what, sizeof what, "flash_attn q8_0 kv %s", tu_layout_name[L]);
        run_check(ctx, out, ref, 1e-6, 1e-6, what);
        free(kd);
        free(vd);
        free(ref);
        free(s);
        wk_ctx_free(ctx);
    }
}

/* ---- attention kernels of the ISA set (isa.h) ------------------------------------------ */

/* wsum_f32/f16 against the scalar set: both sum nk + 1 terms in f32 in different orders, so
 * each is within (nk + 1) u of the exact sum of |terms| (u = 2^-24): the bound is twice that.
 * exp_sum against exp in double: 4e-7 relative per value (Cephes' polynomial is about 2 ulp,
 * libm's expf under 1), below 2^-126 an absolute 2e-38 (flushed to 0); the sum adds n u. */
static void test_attn_kernels(void) {
    const wk_isa *isa = wk_cpu_isa_current(), *ref = &wk_cpu_isa_scalar;
    printf("attention kernels\n");
    const int ns[] = {1, 7, 8, 16, 17, 33, 64, 80}, nrs[] = {1, 3, 4, 5, 9}, nks[] = {1, 5, 64};
    for (int in = 0; in < 8; in++)
        for (int ir = 0; ir < 5; ir++)
            for (int ik = 0; ik < 3; ik++)
                for (int f16 = 0; f16 < 2; f16++) {
                    const int n = ns[in], nr = nrs[ir], nk = nks[ik];
                    const size_t ldw = (size_t)nk + 3, ldx = (size_t)n + 5, ldy = (size_t)n + 2;
                    float *w = malloc(nr * ldw * sizeof *w), *x = malloc(nk * ldx * sizeof *x);
                    float *y = malloc(nr * ldy * sizeof *y), *yr = malloc(nr * ldy * sizeof *yr);
                    uint16_t *xh = malloc(nk * ldx * sizeof *xh);
                    if (!w || !x || !y || !yr || !xh) { fprintf(stderr, "out of memory\n"); exit(2); }
                    for (size_t i = 0; i < nr * ldw; i++) w[i] = (float)tu_uniform(0, 1);
                    for (size_t i = 0; i < nk * ldx; i++) {
                        xh[i] = wk_fp32_to_fp16((float)tu_uniform(-1, 1));
                        x[i] = f16 ? wk_fp16_to_fp32(xh[i]) : (float)tu_uniform(-1, 1);
                    }
                    for (size_t i = 0; i < nr * ldy; i++) y[i] = yr[i] = (float)tu_uniform(-1, 1);
                    if (f16) {
                        isa->wsum_f16(n, nr, nk, w, ldw, xh, ldx, y, ldy);
                        ref->wsum_f16(n, nr, nk, w, ldw, xh, ldx, yr, ldy);
                    } else {
                        isa->wsum_f32(n, nr, nk, w, ldw, x, ldx, y, ldy);
                        ref->wsum_f32(n, nr, nk, w, ldw, x, ldx, yr, ldy);
                    }
                    int bad = 0;
                    for (int r = 0; r < nr; r++)
                        for (int i = 0; i < n; i++) {
                            double mag = 1; /* |initial y| <= 1 */
                            for (int j = 0; j < nk; j++) mag += fabs((double)w[r * ldw + j] * x[j * ldx + i]);
                            const double d = fabs((double)y[r * ldy + i] - yr[r * ldy + i]);
                            if (!(d <= 2.0 * (nk + 1) * 0x1p-24 * mag)) bad++;
                        }
                    for (int r = 0; r < nr; r++) /* padding between rows untouched */
                        for (size_t i = (size_t)n; i < ldy; i++)
                            if (y[r * ldy + i] != yr[r * ldy + i]) bad++;
                    if (bad) {
                        printf("  wsum_%s n=%d nr=%d nk=%d: %d bad  FAIL\n", f16 ? "f16" : "f32", n, nr, nk, bad);
                        fails++;
                    }
                    free(w), free(x), free(y), free(yr), free(xh);
                }
    double worst = 0;
    for (int in = 0; in < 8; in++)
        for (int rep = 0; rep < 20; rep++) {
            const int n = ns[in];
            float x[80], y[80];
            const float m = (float)tu_uniform(-5, 5);
            for (int i = 0; i < n; i++) {
                const int kind = (int)tu_int(0, 9);
                x[i] = kind == 0 ? -INFINITY : kind == 1 ? m : m - (float)tu_uniform(0, kind == 2 ? 100 : 20);
            }
            const float sum = isa->exp_sum(n, x, m, y);
            double exact = 0;
            int bad = 0;
            for (int i = 0; i < n; i++) {
                const double e = exp((double)(x[i] - m)); /* the difference as the kernel rounds it */
                exact += e;
                const double d = fabs(y[i] - e);
                if (e > 0x1p-126 && d / e > worst) worst = d / e;
                if (!(d <= 4e-7 * e || (e < 0x1p-126 && d <= 2e-38))) bad++;
            }
            if (!(fabs(sum - exact) <= (4e-7 + n * 0x1p-24) * exact)) bad++;
            if (bad) {
                printf("  exp_sum n=%d m=%g: %d bad  FAIL\n", n, m, bad);
                fails++;
            }
        }
    printf("  exp_sum worst relative error %.3g (bound 4e-7)\n", worst);
}

/* OUT_PROD with a quantized a (a frozen weight's rows, the QLoRA input gradient): f64
 * reference over the dequantized rows; b in every layout; K across the row chunks; with
 * OpenBLAS on (when built in) and off. */
static void test_out_prod_quant(void) {
    printf("out_prod (quantized a)\n");
    static const wk_type types[] = {WK_TYPE_Q8_0, WK_TYPE_Q4_0, WK_TYPE_Q4_K, WK_TYPE_Q6_K};
    const bool blas_was = wk_cpu_blas_enabled();
    for (int blas = blas_was; blas >= 0; blas--) /* the OpenBLAS path when built in, then the gemm tiles */
    for (int ti = 0; ti < 4; ti++)
        for (int L = 0; L < TU_N_LAYOUTS; L++) {
            wk_cpu_blas_set(blas);
            const wk_type t = types[ti];
            const int64_t M = 256, K = 300, N = 50;
            wk_ctx *ctx = new_ctx();
            wk_tensor *a = wk_new_tensor_2d(ctx, t, M, K);
            float *row = malloc(sizeof(float) * M), *deq = malloc(sizeof(float) * M * K);
            for (int64_t k = 0; k < K; k++) {
                for (int64_t i = 0; i < M; i++) row[i] = (float)tu_uniform(-1, 1);
                wk_quantize_row(t, row, (char *)a->data + k * a->nb[1], M);
                wk_dequantize_row(t, (char *)a->data + k * a->nb[1], deq + k * M, M);
            }
            const int64_t bne[4] = {N, K, 1, 1};
            wk_tensor *b = tu_rand(ctx, WK_TYPE_F32, bne, (tu_layout)L, -1, 1);
            wk_tensor *out = wk_out_prod(ctx, a, b);
            double *ref = ref_alloc(M * N);
            for (int64_t j = 0; j < N; j++)
                for (int64_t i = 0; i < M; i++) {
                    double sum = 0;
                    for (int64_t k = 0; k < K; k++) sum += deq[k * M + i] * tu_get(b, j, k, 0, 0);
                    ref[j * M + i] = sum;
                }
            char what[128];
            snprintf(what, sizeof what, "out_prod %s a[%lld,%lld] b[%lld,%lld] %s blas=%d", wk_type_name(t), (long long)M,
                     (long long)K, (long long)N, (long long)K, tu_layout_name[L], blas);
            run_check(ctx, out, ref, (double)K * 4e-8 * 2, 1e-6, what);
            free(ref), free(row), free(deq);
            wk_ctx_free(ctx);
        }
    wk_cpu_blas_set(blas_was);
}

/* ---- CROSS_ENTROPY ------------------------------------------------------------------- */

/* Tolerance: log-sum-exp and the mean are in double; one rounding to f32 at the end.
 * 1e-6 relative + 1e-7 absolute (the no-valid-row case must give exactly 0). */
static void test_cross_entropy(void) {
    printf("cross_entropy\n");
    /* 3000: rows of several 1024-element exponential chunks (loss.c) */
    static const int64_t shapes[][4] = {{1, 3, 1, 1}, {17, 5, 1, 1}, {129, 3, 2, 2}, {64, 17, 3, 1}, {3, 1, 1, 1},
                                        {3000, 6, 1, 1}};
    for (int si = 0; si < 6; si++)
        for (int variant = 0; variant < 2; variant++) /* 0: mixed labels; 1: every row ignored */
            for (int L = 0; L < TU_N_LAYOUTS; L++) {
                const int64_t *ne = shapes[si];
                const int64_t rows = ne[1] * ne[2] * ne[3];
                wk_ctx *ctx = new_ctx();
                wk_tensor *x = tu_rand(ctx, WK_TYPE_F32, ne, (tu_layout)L, -8, 8);
                /* labels: 1-D for 2-D logits, else shaped like the rows */
                const int64_t lne[4] = {ne[2] * ne[3] == 1 ? rows : ne[1], ne[2] * ne[3] == 1 ? 1 : ne[2], ne[2] * ne[3] == 1 ? 1 : ne[3], 1};
                wk_tensor *lab = tu_rand(ctx, WK_TYPE_I32, lne, (tu_layout)((L + 1) % 3), 0, 0);
                int32_t *labels = calloc((size_t)rows, sizeof *labels);
                for (int64_t r = 0; r < rows; r++) {
                    int64_t l = tu_int(-1, ne[0] - 1);
                    if (r == 1) l = -7;         /* ignored */
                    if (r == 2) l = ne[0] + 4;  /* out of range: ignored, documented */
                    if (variant) l = -1;
                    labels[r] = (int32_t)l;
                    tu_set(lab, r % lne[0], (r / lne[0]) % lne[1], r / (lne[0] * lne[1]), 0, (double)l);
                }
                wk_tensor *out = wk_cross_entropy(ctx, x, lab);
                double total = 0;
                int64_t count = 0;
                for (int64_t r = 0; r < rows; r++) {
                    if (labels[r] < 0 || labels[r] >= ne[0]) continue;
                    const int64_t i1 = r % ne[1], i2 = (r / ne[1]) % ne[2], i3 = r / (ne[1] * ne[2]);
                    double max = -INFINITY, se = 0;
                    for (int64_t i0 = 0; i0 < ne[0]; i0++) max = fmax(max, tu_get(x, i0, i1, i2, i3));
                    for (int64_t i0 = 0; i0 < ne[0]; i0++) se += exp(tu_get(x, i0, i1, i2, i3) - max);
                    total += max + log(se) - tu_get(x, labels[r], i1, i2, i3);
                    count++;
                }
                double ref = count ? total / count : 0;
                char what[128];
                snprintf(what, sizeof what, "cross_entropy [%lld,%lld,%lld,%lld] %s %s valid=%lld", (long long)ne[0],
                         (long long)ne[1], (long long)ne[2], (long long)ne[3], variant ? "ignored" : "mixed",
                         tu_layout_name[L], (long long)count);
                run_check(ctx, out, &ref, 1e-7, 1e-6, what);
                free(labels);
                wk_ctx_free(ctx);
            }
}

/* KL(t || softmax(x)) with soft targets (wk_kl_div): rows of random distributions (some
 * entries 0), one row all 0 (masked); f64 reference, the same tolerance as cross_entropy. */
static void test_kl_div(void) {
    printf("kl_div\n");
    static const int64_t shapes[][4] = {{1, 3, 1, 1}, {17, 5, 1, 1}, {129, 3, 2, 2}, {64, 17, 3, 1}, {3000, 6, 1, 1}};
    for (int si = 0; si < 5; si++)
        for (int L = 0; L < TU_N_LAYOUTS; L++) {
            const int64_t *ne = shapes[si];
            const int64_t rows = ne[1] * ne[2] * ne[3];
            wk_ctx *ctx = new_ctx();
            wk_tensor *x = tu_rand(ctx, WK_TYPE_F32, ne, (tu_layout)L, -8, 8);
            wk_tensor *t = tu_rand(ctx, WK_TYPE_F32, ne, (tu_layout)((L + 1) % 3), 0, 1);
            for (int64_t r = 0; r < rows; r++) {
                const int64_t i1 = r % ne[1], i2 = (r / ne[1]) % ne[2], i3 = r / (ne[1] * ne[2]);
                double sum = 0;
                for (int64_t i0 = 0; i0 < ne[0]; i0++) {
                    double v = r == 1 || (i0 % 3 == 1 && ne[0] > 1) ? 0.0 : tu_get(t, i0, i1, i2, i3);
                    tu_set(t, i0, i1, i2, i3, v);
                    sum += (float)v;
                }
                for (int64_t i0 = 0; i0 < ne[0] && sum > 0; i0++)
                    tu_set(t, i0, i1, i2, i3, (float)(tu_get(t, i0, i1, i2, i3) / sum));
            }
            wk_tensor *out = wk_kl_div(ctx, x, t);
            double total = 0;
            int64_t count = 0;
            for (int64_t r = 0; r < rows; r++) {
                const int64_t i1 = r % ne[1], i2 = (r / ne[1]) % ne[2], i3 = r / (ne[1] * ne[2]);
                double max = -INFINITY, se = 0, st = 0, kl = 0;
                for (int64_t i0 = 0; i0 < ne[0]; i0++) max = fmax(max, tu_get(x, i0, i1, i2, i3)), st += tu_get(t, i0, i1, i2, i3);
                if (!(st > 0)) continue;
                for (int64_t i0 = 0; i0 < ne[0]; i0++) se += exp(tu_get(x, i0, i1, i2, i3) - max);
                for (int64_t i0 = 0; i0 < ne[0]; i0++) {
                    const double ti = tu_get(t, i0, i1, i2, i3);
                    if (ti > 0) kl += ti * (log(ti) - (tu_get(x, i0, i1, i2, i3) - max - log(se)));
                }
                total += kl, count++;
            }
            double ref = count ? total / count : 0;
            char what[128];
            snprintf(what, sizeof what, "kl_div [%lld,%lld,%lld,%lld] %s rows=%lld", (long long)ne[0], (long long)ne[1],
                     (long long)ne[2], (long long)ne[3], tu_layout_name[L], (long long)count);
            run_check(ctx, out, &ref, 1e-7, 1e-6, what);
            wk_ctx_free(ctx);
        }
}

/* ---- OUT_PROD ------------------------------------------------------------------------ */

/* Tolerance: f32 gemm tiles sum K products of values in [-1, 1], so |err| <= K * 4e-8
 * absolute (about K/2 ulps of the largest partial sums) plus 1e-6 relative. The last two
 * cases are large enough for the OpenBLAS path when it is built in (operands read in place,
 * threads splitting N, then M). */
static void test_out_prod(void) {
    printf("out_prod\n");
    static const int64_t cases[][7] = {
        /* M, K, A2, A3, N, B2, B3 */
        {17, 3, 1, 1, 5, 2, 3},
        {129, 64, 2, 1, 3, 4, 1},
        {1, 1, 1, 1, 1, 1, 1},
        {64, 17, 3, 2, 129, 3, 2},
        {3, 129, 1, 1, 1, 1, 1},
        {256, 512, 1, 1, 264, 1, 1},
        {300, 512, 1, 1, 220, 1, 1},
    };
    for (int ci = 0; ci < 7; ci++)
        for (int L = 0; L < TU_N_LAYOUTS; L++) {
            const int64_t *c = cases[ci];
            const int64_t ane[4] = {c[0], c[1], c[2], c[3]}, bne[4] = {c[4], c[1], c[5], c[6]};
            wk_ctx *ctx = new_ctx();
            wk_tensor *a = tu_rand(ctx, WK_TYPE_F32, ane, (tu_layout)L, -1, 1);
            wk_tensor *b = tu_rand(ctx, WK_TYPE_F32, bne, (tu_layout)((L + 1) % 3), -1, 1);
            wk_tensor *out = wk_out_prod(ctx, a, b);
            const int64_t M = c[0], K = c[1], N = c[4], B2 = c[5], B3 = c[6];
            double *ref = ref_alloc(M * N * B2 * B3);
            int64_t n = 0;
            for (int64_t i3 = 0; i3 < B3; i3++)
                for (int64_t i2 = 0; i2 < B2; i2++)
                    for (int64_t j = 0; j < N; j++)
                        for (int64_t i = 0; i < M; i++) {
                            double sum = 0;
                            for (int64_t kk = 0; kk < K; kk++)
                                sum += tu_get(a, i, kk, i2 / (B2 / c[2]), i3 / (B3 / c[3])) * tu_get(b, j, kk, i2, i3);
                            ref[n++] = sum;
                        }
            char what[128];
            snprintf(what, sizeof what, "out_prod a[%lld,%lld,%lld,%lld] b[%lld,..,%lld,%lld] %s", (long long)M,
                     (long long)K, (long long)c[2], (long long)c[3], (long long)N, (long long)B2, (long long)B3,
                     tu_layout_name[L]);
            run_check(ctx, out, ref, (double)K * 4e-8, 1e-6, what);
            free(ref);
            wk_ctx_free(ctx);
        }
}

int main(void) {
    int ran = 0;
    for (int i = 0; i < TU_N_ISAS; i++) {
        if (!tu_use_isa(tu_isas[i])) {
            printf("== isa %s: not available on this CPU, skipped\n", tu_isas[i]);
            continue;
        }
        const char *name = wk_cpu_isa_current()->name;
        size_t len = strlen(name);
        if (len > 8 && !strcmp(name + len - 8, "-pending")) {
            printf("== isa %s: placeholder kernel set (%s), skipped\n", tu_isas[i], name);
            continue;
        }
        printf("== isa %s\n", name);
        tu_seed(0x5eed0000u + (uint64_t)i);
        test_norms();
        test_soft_max();
        test_rope();
        test_attn_kernels();
        test_flash_attn();
        test_flash_attn_q8_0();
        test_cross_entropy();
        test_kl_div();
        test_out_prod();
        test_out_prod_quant();
        ran++;
    }
    if (!ran) { printf("no ISA path ran  FAIL\n"); fails++; }
    printf("%s (%d failed checks)\n", fails ? "FAILED" : "all nn op checks passed", fails);
    return fails ? 1 : 0;
}
