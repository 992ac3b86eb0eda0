/* test_optim.c — optimizer and llama training graph checks that need no PyTorch (the
 * step-by-step comparison with torch is tests/reference/torch_train_check.py):
 *  - the LR schedule at its landmarks (warmup, peak, half-way, floor);
 *  - AdamW and SGD (momentum, dampening, Nesterov, weight decay, clipping on and off) on
 *    loss = sum(w * r) + sum(u^2) / 2, whose gradients are r and u, against a double
 *    precision loop written from the torch.optim formulas; one param is large enough for
 *    the OpenMP path and one gets no gradient (must not move). Bound 1e-5 relative;
 *  - errors for bad optimizer settings, bad GGUF files, bad hyper-parameters and tokens;
 *  - a randomly initialised llama starts near ln(n_vocab) and overfits one batch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "src/train/llama_train.h"
#include "src/train/optim.h"

static int fails;

static void check(bool ok, const char *what) {
    printf("  %-60s %s\n", what, ok ? "ok" : "FAIL");
    if (!ok) fails++;
}

static void test_schedule(void) {
    printf("LR schedule\n");
    const wk_lr_schedule c = {WK_LR_CONSTANT, 0.3f, 0.0f, 0, 0};
    const wk_lr_schedule s = {WK_LR_COSINE, 1.0f, 0.1f, 4, 14};
    check(wk_lr_at(&c, 0) == 0.3f && wk_lr_at(&c, 1000) == 0.3f, "constant");
    check(fabsf(wk_lr_at(&s, 0) - 0.25f) < 1e-7f && fabsf(wk_lr_at(&s, 3) - 1.0f) < 1e-7f, "warmup (s+1)/warmup");
    check(fabsf(wk_lr_at(&s, 4) - 1.0f) < 1e-7f, "peak after warmup");
    check(fabsf(wk_lr_at(&s, 9) - 0.55f) < 1e-6f, "half-way = (max+min)/2");
    check(fabsf(wk_lr_at(&s, 14) - 0.1f) < 1e-7f && fabsf(wk_lr_at(&s, 99) - 0.1f) < 1e-7f, "floor at and after total");
    bool mono = true;
    for (int i = 4; i < 14; i++) mono &= wk_lr_at(&s, i + 1) <= wk_lr_at(&s, i);
    check(mono, "decay is monotone");
}

/* The double-precision reference of one param's update (torch.optim formulas). */
typedef struct { double *w, *m, *v; } ref_state;

static void ref_step(const wk_optim_params *p, ref_state *st, const float *g, int64_t n, double lr, double gs, int64_t t) {
    for (int64_t j = 0; j < n; j++) {
        double gj = g[j] * gs, *w = &st->w[j], *m = &st->m[j], *v = &st->v[j];
        if (p->kind == WK_OPTIM_ADAMW) {
            *w -= lr * p->weight_decay * *w;
            *m = p->beta1 * *m + (1 - p->beta1) * gj;
            *v = p->beta2 * *v + (1 - p->beta2) * gj * gj;
            const double mh = *m / (1 - pow(p->beta1, (double)t)), vh = *v / (1 - pow(p->beta2, (double)t));
            *w -= lr * mh / (sqrt(vh) + p->eps);
        } else {
            gj += p->weight_decay * *w;
            if (p->momentum != 0) {
                *m = t == 1 ? gj : p->momentum * *m + (1 - p->dampening) * gj;
                gj = p->nesterov ? gj + p->momentum * *m : *m;
            }
            *w -= lr * gj;
        }
    }
}

static double rel_err(const float *a, const double *b, int64_t n) {
    double d = 0, m = 0;
    for (int64_t i = 0; i < n; i++) {
        const double e = fabs(a[i] - b[i]);
        if (!(e <= d)) d = e;
        m = fmax(m, fabs(b[i]));
    }
    return d / (m > 0 ? m : 1);
}

static void run_optim(const char *name, wk_optim_params op, float lr) {
    enum { NW = 40000, NU = 12, NZ = 5, STEPS = 6 }; /* NW: above the threading threshold */
    wk_ctx *ctx = NULL;
    wk_backend *be = NULL;
    if (wk_ctx_create(NULL, &ctx) != WK_OK || wk_backend_cpu_create(2, &be) != WK_OK) {
        check(false, wk_last_error());
        return;
    }
    wk_tensor *w = wk_new_tensor_1d(ctx, WK_TYPE_F32, NW), *r = wk_new_tensor_1d(ctx, WK_TYPE_F32, NW);
    wk_tensor *u = wk_new_tensor_2d(ctx, WK_TYPE_F32, 4, 3), *z = wk_new_tensor_1d(ctx, WK_TYPE_F32, NZ);
    tu_seed(7);
    tu_fill(w, -1, 1);
    tu_fill(r, -0.01, 0.01);
    tu_fill(u, -2, 2);
    tu_fill(z, -1, 1);
    wk_tensor *params[3] = {w, u, z};
    for (int i = 0; i < 3; i++) wk_tensor_set_param(params[i]);
    wk_tensor *loss = wk_add(ctx, wk_sum(ctx, wk_mul(ctx, w, r)), wk_scale(ctx, wk_sum(ctx, wk_sqr(ctx, u)), 0.5f));
    wk_graph *g = wk_graph_new(ctx);
    wk_optim *o = NULL;
    bool ok = loss && g && wk_graph_expand(g, loss) == WK_OK && wk_graph_build_backward(ctx, g, loss) == WK_OK &&
              wk_optim_create(&op, params, 3, &o) == WK_OK;
    if (!ok) {
        check(false, wk_last_error());
        wk_optim_free(o);
        wk_backend_free(be);
        wk_ctx_free(ctx);
        return;
    }
    const int64_t ns[3] = {NW, NU, NZ};
    ref_state rs[3];
    float z0[NZ];
    memcpy(z0, wk_tensor_data(z), sizeof z0);
    for (int i = 0; i < 3; i++) {
        rs[i].w = calloc((size_t)ns[i], sizeof(double));
        rs[i].m = calloc((size_t)ns[i], sizeof(double));
        rs[i].v = calloc((size_t)ns[i], sizeof(double));
        for (int64_t j = 0; j < ns[i]; j++) rs[i].w[j] = ((float *)wk_tensor_data(params[i]))[j];
    }
    double worst = 0;
    for (int t = 1; t <= STEPS && ok; t++) {
        double gn = 0;
        ok = wk_graph_compute(be, g) == WK_OK && wk_optim_step(o, g, lr, &gn) == WK_OK;
        if (!ok) break;
        /* reference norm and coefficient from the gradients themselves (r and u) */
        double ss = 0;
        const float *gw = wk_tensor_data(wk_graph_grad(g, w)), *gu = wk_tensor_data(wk_graph_grad(g, u));
        for (int64_t j = 0; j < NW; j++) ss += (double)gw[j] * gw[j];
        for (int64_t j = 0; j < NU; j++) ss += (double)gu[j] * gu[j];
        const double norm = sqrt(ss), gs = op.clip_norm > 0 ? fmin(1.0, op.clip_norm / (norm + 1e-6)) : 1.0;
        worst = fmax(worst, fabs(gn - norm) / norm);
        ref_step(&op, &rs[0], gw, NW, lr, gs, t);
        ref_step(&op, &rs[1], gu, NU, lr, gs, t);
        worst = fmax(worst, rel_err(wk_tensor_data(w), rs[0].w, NW));
        worst = fmax(worst, rel_err(wk_tensor_data(u), rs[1].w, NU));
    }
    char what[128];
    snprintf(what, sizeof what, "%s: %d steps, worst rel err %.2e", name, STEPS, worst);
    check(ok && worst < 1e-5, what);
    check(memcmp(z0, wk_tensor_data(z), sizeof z0) == 0 && wk_optim_steps(o) == STEPS,
          "  param without a gradient unchanged; step count");
    for (int i = 0; i < 3; i++) {
        free(rs[i].w);
        free(rs[i].m);
        free(rs[i].v);
    }
    wk_optim_free(o);
    wk_backend_free(be);
    wk_ctx_free(ctx);
}

static void test_optimizers(void) {
    printf("optimizers against a double-precision reference\n");
    wk_optim_params a = wk_optim_default_params(WK_OPTIM_ADAMW);
    a.weight_decay = 0.1f;
    a.beta2 = 0.95f;
    run_optim("AdamW, no clipping", a, 1e-2f);
    a.clip_norm = 0.5f; /* |grad| ~ 4: clipping is active */
    run_optim("AdamW, clip 0.5", a, 1e-2f);
    wk_optim_params s = wk_optim_default_params(WK_OPTIM_SGD);
    run_optim("SGD plain", s, 0.1f);
    s.momentum = 0.9f;
    s.dampening = 0.2f;
    s.weight_decay = 0.05f;
    s.clip_norm = 1.0f;
    run_optim("SGD momentum, dampening, wd, clip 1", s, 0.1f);
    s.dampening = 0.0f;
    s.nesterov = true;
    run_optim("SGD Nesterov", s, 0.1f);
}

static void test_errors(void) {
    printf("errors\n");
    wk_ctx *ctx = NULL;
    wk_ctx_create(NULL, &ctx);
    wk_tensor *h = wk_new_tensor_1d(ctx, WK_TYPE_F16, 8), *f = wk_new_tensor_1d(ctx, WK_TYPE_F32, 8);
    wk_optim *o = NULL;
    wk_optim_params p = wk_optim_default_params(WK_OPTIM_ADAMW);
    check(wk_optim_create(&p, &h, 1, &o) == WK_ERR_INVALID_ARG && !o, "F16 param refused");
    p.beta1 = 1.0f;
    check(wk_optim_create(&p, &f, 1, &o) == WK_ERR_INVALID_ARG, "beta1 = 1 refused");
    p = wk_optim_default_params(WK_OPTIM_SGD);
    p.nesterov = true;
    check(wk_optim_create(&p, &f, 1, &o) == WK_ERR_INVALID_ARG, "Nesterov without momentum refused");
    p.nesterov = false;
    wk_graph *g = wk_graph_new(ctx);
    check(wk_optim_create(&p, &f, 1, &o) == WK_OK && wk_optim_step(o, g, -1.0f, NULL) == WK_ERR_INVALID_ARG,
          "negative learning rate refused");
    wk_optim_free(o);
    wk_ctx_free(ctx);

    wk_llama_train *m = NULL;
    check(wk_llama_train_create_gguf("/nonexistent/x.gguf", 1, 4, &m) != WK_OK && !m && *wk_last_error(),
          "missing GGUF: error with a message");
    const char *junk = "optim_junk.gguf";
    FILE *fj = fopen(junk, "wb");
    if (fj) {
        fputs("GGUF this is not a gguf file at all", fj);
        fclose(fj);
    }
    check(wk_llama_train_create_gguf(junk, 1, 4, &m) != WK_OK && !m, "garbage GGUF refused");
    remove(junk);
    wk_llama_hparams hp = {96, 64, 1, 4, 3, 160, 1e-5f, 10000.0f}; /* 4 heads, 3 KV heads */
    check(wk_llama_train_create(&hp, 1, 4, &m) == WK_ERR_INVALID_ARG && !m, "n_head % n_head_kv != 0 refused");
    hp.n_head_kv = 2;
    check(wk_llama_train_create(&hp, 0, 4, &m) == WK_ERR_INVALID_ARG, "batch 0 refused");
}

static void test_llama_overfit(void) {
    printf("random llama: initial loss and overfitting one batch\n");
    const wk_llama_hparams hp = {96, 64, 2, 4, 2, 160, 1e-5f, 10000.0f};
    enum { B = 2, T = 16 };
    wk_llama_train *m = NULL;
    wk_backend *be = NULL;
    wk_optim *o = NULL;
    if (wk_llama_train_create(&hp, B, T, &m) != WK_OK || wk_backend_cpu_create(2, &be) != WK_OK) {
        check(false, wk_last_error());
        return;
    }
    wk_llama_train_init_random(m, 42);
    int32_t tok[B * T], lab[B * T];
    tu_seed(3);
    for (int i = 0; i < B * T; i++) tok[i] = (int32_t)tu_int(0, hp.n_vocab - 1);
    for (int i = 0; i < B * T; i++) lab[i] = (i + 1) % T ? tok[i + 1] : -1; /* last of each sequence ignored */
    wk_tensor *params[64];
    const int np = wk_llama_train_n_params(m);
    for (int i = 0; i < np && i < 64; i++) params[i] = wk_llama_train_param(m, i);
    wk_optim_params op = wk_optim_default_params(WK_OPTIM_ADAMW);
    op.clip_norm = 1.0f;
    float l0 = NAN, l = NAN;
    bool ok = np == 1 + 2 * 9 + 2 && wk_optim_create(&op, params, np, &o) == WK_OK;
    for (int s = 0; s < 30 && ok; s++) {
        ok = wk_llama_train_compute(m, be, tok, lab, &l) == WK_OK &&
             wk_optim_step(o, wk_llama_train_graph(m), 3e-3f, NULL) == WK_OK;
        if (s == 0) l0 = l;
    }
    char what[128];
    snprintf(what, sizeof what, "initial loss %.3f near ln(96) = %.3f", l0, log(96.0));
    check(ok && fabsf(l0 - (float)log(96.0)) < 1.5f, what);
    snprintf(what, sizeof what, "loss after 30 AdamW steps %.3f < initial / 2", l);
    check(ok && l < l0 / 2, what);
    tok[3] = hp.n_vocab;
    check(wk_llama_train_compute(m, be, tok, lab, &l) == WK_ERR_INVALID_ARG, "token id >= n_vocab refused");
    wk_optim_free(o);
    wk_backend_free(be);
    wk_llama_train_free(m);
}

/* Gradient checkpointing (per-layer recomputation) and bf16 mixed precision against the
 * plain fp32 graph: the same init and batch. Checkpointing computes the same ops, so the
 * loss and every gradient agree to float reassociation (1e-5 relative to the largest
 * element of each gradient); bf16 rounds weights and activations to 8 significant bits, so
 * it is held to 2%. Then 3 AdamW steps through wk_optim_step_grads agree as well. */
static void test_llama_modes(void) {
    printf("llama training modes: checkpointed and bf16 against plain fp32\n");
    const wk_llama_hparams hp = {96, 64, 3, 4, 2, 160, 1e-5f, 10000.0f};
    enum { B = 2, T = 16 };
    int32_t tok[B * T], lab[B * T];
    tu_seed(5);
    for (int i = 0; i < B * T; i++) tok[i] = (int32_t)tu_int(0, hp.n_vocab - 1);
    for (int i = 0; i < B * T; i++) lab[i] = (i + 1) % T ? tok[i + 1] : -1;
    const wk_llama_train_opts modes[3] = {{0}, {.checkpoint = true}, {.bf16 = true, .checkpoint = true}};
    const char *names[3] = {"plain", "checkpointed", "bf16 + checkpointed"};
    wk_llama_train *m[3] = {0};
    wk_optim *o[3] = {0};
    wk_backend *be = NULL;
    if (wk_backend_cpu_create(2, &be) != WK_OK) { check(false, wk_last_error()); return; }
    float loss[3][4];
    for (int k = 0; k < 3; k++) {
        if (wk_llama_train_create_ex(&hp, B, T, &modes[k], &m[k]) != WK_OK) { check(false, wk_last_error()); return; }
        wk_llama_train_init_random(m[k], 11);
        check(k == 0 ? wk_llama_train_graph(m[k]) != NULL : wk_llama_train_graph(m[k]) == NULL || modes[k].checkpoint == false,
              "graph accessor matches the mode");
        wk_tensor *params[64];
        const int np = wk_llama_train_n_params(m[k]);
        for (int i = 0; i < np; i++) params[i] = wk_llama_train_param(m[k], i);
        wk_optim_params op = wk_optim_default_params(WK_OPTIM_ADAMW);
        op.clip_norm = 1.0f;
        if (wk_optim_create(&op, params, np, &o[k]) != WK_OK) { check(false, wk_last_error()); return; }
    }
    const int np = wk_llama_train_n_params(m[0]);
    for (int s = 0; s < 4; s++) {
        for (int k = 0; k < 3; k++) {
            if (wk_llama_train_compute(m[k], be, tok, lab, &loss[k][s]) != WK_OK) { check(false, wk_last_error()); return; }
            if (s == 0 && k > 0) { /* every gradient before any step */
                const double tol = k == 1 ? 1e-5 : 2e-2;
                double worst = 0;
                for (int i = 0; i < np; i++) {
                    const float *a = wk_llama_train_grad(m[0], i), *b = wk_llama_train_grad(m[k], i);
                    const int64_t ne = wk_tensor_nelements(wk_llama_train_param(m[0], i));
                    double mx = 0, err = 0;
                    for (int64_t e = 0; e < ne; e++) mx = fmax(mx, fabs(a[e])), err = fmax(err, fabs(a[e] - b[e]));
                    worst = fmax(worst, err / (mx > 0 ? mx : 1));
                }
                char what[160];
                snprintf(what, sizeof what, "%s: %d gradients within %.0e of plain (worst %.2e)", names[k], np, tol, worst);
                check(worst <= tol, what);
            }
            const float *g[64];
            for (int i = 0; i < np; i++) g[i] = wk_llama_train_grad(m[k], i);
            if (wk_optim_step_grads(o[k], g, 3e-3f, NULL) != WK_OK) { check(false, wk_last_error()); return; }
        }
    }
    for (int k = 0; k < 3; k++) { /* the forward-only evaluation gives the training loss, bit for bit */
        float le = NAN, lc = NAN;
        const bool ok = wk_llama_train_eval(m[k], be, tok, lab, &le) == WK_OK &&
                        wk_llama_train_compute(m[k], be, tok, lab, &lc) == WK_OK;
        char what[160];
        snprintf(what, sizeof what, "%s: eval loss %.6f == compute loss %.6f", names[k], le, lc);
        check(ok && le == lc, what);
    }
    for (int k = 1; k < 3; k++) {
        const double tol = k == 1 ? 1e-5 : 2e-2;
        double worst = 0;
        for (int s = 0; s < 4; s++) worst = fmax(worst, fabs(loss[k][s] - loss[0][s]) / fabs(loss[0][s]));
        char what[160];
        snprintf(what, sizeof what, "%s: losses of 4 steps within %.0e of plain (%.5f vs %.5f at step 4)", names[k], tol,
                 loss[k][3], loss[0][3]);
        check(worst <= tol, what);
    }
    for (int k = 0; k < 3; k++) wk_optim_free(o[k]), wk_llama_train_free(m[k]);
    wk_backend_free(be);
}

/* LoRA on a frozen base (stories260K, F32): with B = 0 the loss is the plain model's
 * exactly; with random B it equals the plain model holding the merged W + (alpha/r) B A
 * (1e-5 relative); dL/dB and dL/dA agree with central differences (f32 forward, h = 1e-2,
 * within 5e-3 relative + 3e-4 for the f32 noise of a loss near 20); AdamW on the adapter
 * alone lowers the loss on one batch. */
static void test_lora(const char *base) {
    printf("LoRA on a frozen base (%s)\n", base);
    enum { B = 2, T = 16 };
    const wk_llama_train_opts lo = {.lora_rank = 4, .lora_alpha = 8,
                                    .lora_targets = 1u << WK_LORA_Q | 1u << WK_LORA_V | 1u << WK_LORA_DOWN};
    wk_llama_train *lm = NULL, *pm = NULL;
    wk_backend *be = NULL;
    if (wk_llama_train_create_lora(base, B, T, &lo, &lm) != WK_OK || wk_llama_train_create_gguf(base, B, T, &pm) != WK_OK ||
        wk_backend_cpu_create(2, &be) != WK_OK) {
        check(false, wk_last_error());
        wk_llama_train_free(lm), wk_llama_train_free(pm), wk_backend_free(be);
        return;
    }
    const int nl = wk_llama_train_n_params(lm);
    const int n_layer = wk_llama_train_hparams(lm)->n_layer;
    check(nl == 2 * 3 * n_layer, "params: an A and a B per targeted matrix per layer");
    int32_t tok[B * T], lab[B * T];
    tu_seed(9);
    for (int i = 0; i < B * T; i++) tok[i] = (int32_t)tu_int(1, 500);
    for (int i = 0; i < B * T; i++) lab[i] = (i + 1) % T ? tok[i + 1] : -1;
    wk_llama_train_init_random(lm, 5);
    float l_lora = NAN, l_plain = NAN;
    wk_llama_train_compute(lm, be, tok, lab, &l_lora);
    wk_llama_train_compute(pm, be, tok, lab, &l_plain);
    char what[200];
    snprintf(what, sizeof what, "B = 0: loss %.6f equals the base model's %.6f", l_lora, l_plain);
    check(l_lora == l_plain, what);
    /* random B; merge W + (alpha/r) B A into the plain model's params */
    for (int i = 0; i < nl; i++) {
        wk_tensor *t = wk_llama_train_param(lm, i);
        if (!strstr(wk_tensor_name(t), ".lora_b")) continue;
        float *d = wk_tensor_data(t);
        for (int64_t e = 0; e < wk_tensor_nelements(t); e++) d[e] = (float)tu_uniform(-0.1, 0.1);
    }
    const int np = wk_llama_train_n_params(pm);
    for (int i = 0; i < nl; i += 2) {
        const wk_tensor *a = wk_llama_train_param(lm, i), *b = wk_llama_train_param(lm, i + 1);
        char base_name[96];
        snprintf(base_name, sizeof base_name, "%.*s", (int)(strlen(wk_tensor_name(a)) - 7), wk_tensor_name(a));
        for (int j = 0; j < np; j++) {
            wk_tensor *w = wk_llama_train_param(pm, j);
            if (strcmp(wk_tensor_name(w), base_name)) continue;
            const int64_t n_in = wk_tensor_ne(w, 0), n_out = wk_tensor_ne(w, 1), r = wk_tensor_ne(a, 1);
            float *wd = wk_tensor_data(w);
            const float *ad = wk_tensor_data(a), *bd = wk_tensor_data(b);
            for (int64_t o = 0; o < n_out; o++)
                for (int64_t k = 0; k < n_in; k++) {
                    double sum = 0;
                    for (int64_t q = 0; q < r; q++) sum += (double)bd[o * r + q] * ad[q * n_in + k];
                    wd[o * n_in + k] += (float)(2.0 * sum);
                }
        }
    }
    wk_llama_train_compute(lm, be, tok, lab, &l_lora);
    wk_llama_train_compute(pm, be, tok, lab, &l_plain);
    snprintf(what, sizeof what, "random B: loss %.6f equals the merged model's %.6f (1e-5)", l_lora, l_plain);
    check(fabs(l_lora - l_plain) <= 1e-5 * fabs(l_plain), what);
    /* gradients vs central differences on a few entries of the first A and B */
    double worst = 0;
    for (int pi = 0; pi < 2; pi++) {
        wk_tensor *t = wk_llama_train_param(lm, pi);
        float *d = wk_tensor_data(t);
        wk_llama_train_compute(lm, be, tok, lab, &l_lora);
        const float *g = wk_llama_train_grad(lm, pi);
        float gs[6];
        for (int e = 0; e < 6; e++) gs[e] = g[e * 7];
        for (int e = 0; e < 6; e++) {
            const float keep = d[e * 7];
            float lp, lmi;
            d[e * 7] = keep + 1e-2f;
            wk_llama_train_compute(lm, be, tok, lab, &lp);
            d[e * 7] = keep - 1e-2f;
            wk_llama_train_compute(lm, be, tok, lab, &lmi);
            d[e * 7] = keep;
            const double fd = ((double)lp - lmi) / 2e-2;
            /* f32 losses near 20: central differences carry about 1e-4 of noise */
            worst = fmax(worst, fabs(fd - gs[e]) / (5e-3 * fabs(fd) + 3e-4));
        }
    }
    snprintf(what, sizeof what, "dL/dA, dL/dB vs central differences: worst err/tol %.2f (tol 5e-3 |fd| + 3e-4)", worst);
    check(worst <= 1, what);
    /* AdamW on the adapter only */
    wk_tensor *params[256];
    for (int i = 0; i < nl && i < 256; i++) params[i] = wk_llama_train_param(lm, i);
    wk_optim *o = NULL;
    wk_optim_params op = wk_optim_default_params(WK_OPTIM_ADAMW);
    float l0 = NAN, l = NAN;
    bool ok = nl <= 256 && wk_optim_create(&op, params, nl, &o) == WK_OK;
    for (int s = 0; s < 20 && ok; s++) {
        ok = wk_llama_train_compute(lm, be, tok, lab, &l) == WK_OK &&
             wk_optim_step(o, wk_llama_train_graph(lm), 1e-2f, NULL) == WK_OK;
        if (s == 0) l0 = l;
    }
    snprintf(what, sizeof what, "20 AdamW steps on the adapter: loss %.3f -> %.3f", l0, l);
    check(ok && l < l0 * 0.8f, what);
    wk_optim_free(o);
    wk_llama_train_free(lm), wk_llama_train_free(pm), wk_backend_free(be);
}

/* Distillation (opts.distill): weights (0, 1) give the plain model's loss and gradients;
 * one-hot targets at temperature 1 make the KL term equal the cross-entropy; the checkpointed
 * graph agrees; dL/dW of loss = 2.8 KL_tau=2 + 0.3 CE vs central differences. */
static void test_distill(void) {
    printf("distillation loss in the llama training graph\n");
    const wk_llama_hparams hp = {96, 64, 2, 4, 2, 160, 1e-5f, 10000.0f};
    enum { B = 2, T = 16, N = B * T };
    int32_t tok[N], lab[N];
    tu_seed(21);
    for (int i = 0; i < N; i++) tok[i] = (int32_t)tu_int(0, hp.n_vocab - 1);
    for (int i = 0; i < N; i++) lab[i] = (i + 1) % T ? tok[i + 1] : -1;
    const wk_llama_train_opts od = {.distill = true}, odc = {.distill = true, .checkpoint = true};
    wk_llama_train *pm = NULL, *dm = NULL, *cm = NULL;
    wk_backend *be = NULL;
    if (wk_llama_train_create(&hp, B, T, &pm) != WK_OK || wk_llama_train_create_ex(&hp, B, T, &od, &dm) != WK_OK ||
        wk_llama_train_create_ex(&hp, B, T, &odc, &cm) != WK_OK || wk_backend_cpu_create(2, &be) != WK_OK) {
        check(false, wk_last_error());
        wk_llama_train_free(pm), wk_llama_train_free(dm), wk_llama_train_free(cm), wk_backend_free(be);
        return;
    }
    check(wk_llama_train_soft_targets(pm) == NULL && wk_llama_train_set_distill(pm, 1, 1, 0) != WK_OK,
          "a plain model has no soft targets");
    check(wk_llama_train_set_distill(dm, 0, 1, 0) != WK_OK, "temperature 0 refused");
    wk_llama_train_init_random(pm, 3), wk_llama_train_init_random(dm, 3), wk_llama_train_init_random(cm, 3);
    const int np = wk_llama_train_n_params(pm);
    float *soft = wk_llama_train_soft_targets(dm);
    /* (0, 1): the plain loss and gradients */
    float lp = NAN, ld = NAN, kl = NAN, ce = NAN;
    wk_llama_train_set_distill(dm, 2.0f, 0.0f, 1.0f);
    for (int i = 0; i < N; i++) /* random distributions, two rows masked (all zero) */
        for (int j = 0; j < hp.n_vocab; j++) soft[(size_t)i * hp.n_vocab + j] = i % 13 == 5 ? 0.0f : (float)tu_uniform(0, 1);
    for (int i = 0; i < N; i++) {
        double sum = 0;
        for (int j = 0; j < hp.n_vocab; j++) sum += soft[(size_t)i * hp.n_vocab + j];
        for (int j = 0; sum > 0 && j < hp.n_vocab; j++) soft[(size_t)i * hp.n_vocab + j] /= (float)sum;
    }
    wk_llama_train_compute(pm, be, tok, lab, &lp);
    wk_llama_train_compute(dm, be, tok, lab, &ld);
    wk_llama_train_distill_parts(dm, &kl, &ce);
    double worst = 0;
    for (int i = 0; i < np; i++) {
        const float *a = wk_llama_train_grad(pm, i), *b = wk_llama_train_grad(dm, i);
        for (int64_t e = 0; e < wk_tensor_nelements(wk_llama_train_param(pm, i)); e++)
            worst = fmax(worst, fabs(a[e] - b[e]));
    }
    char what[200];
    snprintf(what, sizeof what, "weights (0, 1): loss %.6f == plain %.6f == its CE part %.6f, gradients equal (%.1e)", ld,
             lp, ce, worst);
    check(ld == lp && ce == lp && worst == 0 && kl > 0, what);
    /* checkpointed graph: same loss and parts */
    memcpy(wk_llama_train_soft_targets(cm), soft, (size_t)N * hp.n_vocab * sizeof(float));
    wk_llama_train_set_distill(dm, 2.0f, 2.8f, 0.3f), wk_llama_train_set_distill(cm, 2.0f, 2.8f, 0.3f);
    float lc = NAN, klc = NAN, cec = NAN;
    wk_llama_train_compute(dm, be, tok, lab, &ld);
    wk_llama_train_distill_parts(dm, &kl, &ce);
    wk_llama_train_compute(cm, be, tok, lab, &lc);
    wk_llama_train_distill_parts(cm, &klc, &cec);
    snprintf(what, sizeof what, "checkpointed: loss %.6f vs %.6f, KL %.6f vs %.6f (1e-5); loss = 2.8 KL + 0.3 CE", lc, ld,
             klc, kl);
    check(fabs(lc - ld) <= 1e-5 * ld && fabs(klc - kl) <= 1e-5 * kl && fabs(ld - (2.8 * kl + 0.3 * ce)) <= 1e-5 * ld, what);
    /* gradients vs central differences: the output matrix and a layer's q */
    worst = 0;
    const int pis[2] = {np - 1, 2};
    for (int k = 0; k < 2; k++) {
        const int pi = pis[k];
        float *d = wk_tensor_data(wk_llama_train_param(dm, pi));
        wk_llama_train_compute(dm, be, tok, lab, &ld);
        const float *g = wk_llama_train_grad(dm, pi);
        float gs[6];
        for (int e = 0; e < 6; e++) gs[e] = g[e * 37];
        for (int e = 0; e < 6; e++) {
            const float keep = d[e * 37];
            float up, dn;
            d[e * 37] = keep + 1e-2f;
            wk_llama_train_eval(dm, be, tok, lab, &up);
            d[e * 37] = keep - 1e-2f;
            wk_llama_train_eval(dm, be, tok, lab, &dn);
            d[e * 37] = keep;
            const double fd = ((double)up - dn) / 2e-2;
            worst = fmax(worst, fabs(fd - gs[e]) / (5e-3 * fabs(fd) + 2e-4));
        }
    }
    snprintf(what, sizeof what, "dL/dW vs central differences: worst err/tol %.2f (tol 5e-3 |fd| + 2e-4)", worst);
    check(worst <= 1, what);
    /* one-hot targets of the labels at temperature 1: KL == CE */
    memset(soft, 0, (size_t)N * hp.n_vocab * sizeof(float));
    for (int i = 0; i < N; i++)
        if (lab[i] >= 0) soft[(size_t)i * hp.n_vocab + lab[i]] = 1.0f;
    wk_llama_train_set_distill(dm, 1.0f, 1.0f, 0.0f);
    wk_llama_train_eval(dm, be, tok, lab, &ld);
    wk_llama_train_distill_parts(dm, &kl, &ce);
    snprintf(what, sizeof what, "one-hot targets, temperature 1: KL %.6f == CE %.6f (1e-5)", kl, ce);
    check(fabs(kl - ce) <= 1e-5 * ce && ld == kl, what);
    wk_llama_train_free(pm), wk_llama_train_free(dm), wk_llama_train_free(cm), wk_backend_free(be);
}

int main(int argc, char **argv) {
    test_schedule();
    test_optimizers();
    test_errors();
    test_llama_overfit();
    test_llama_modes();
    test_distill();
    if (argc > 1) test_lora(argv[1]);
    else printf("LoRA: no base model given, skipped\n");
    printf(fails ? "FAIL: %d checks\n" : "OK\n", fails);
    return fails ? 1 : 0;
}
