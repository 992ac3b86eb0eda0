/* optim.c — AdamW and SGD (with momentum, dampening, Nesterov, weight decay), global-norm
 * gradient clipping and the LR schedule, following torch.optim and
 * torch.nn.utils.clip_grad_norm_ so a wick run can be checked step by step against PyTorch
 * (tests/reference/torch_train_check.py). The norm and the update are plain f32 loops over
 * chunks of all params, each pass one OpenMP region. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "optim.h"
#include "src/core/error.h"


struct wk_optim {
    wk_optim_params p;
    int n;
    wk_tensor **params;
    float **m, **v;   /* AdamW first/second moments, SGD momentum buffer in m */
    int64_t t;        /* steps taken */
};

wk_optim_params wk_optim_default_params(wk_optim_kind kind) {
    wk_optim_params p = {0};
    p.kind = kind;
    if (kind == WK_OPTIM_ADAMW) {
        p.weight_decay = 0.01f;
        p.beta1 = 0.9f;
        p.beta2 = 0.999f;
        p.eps = 1e-8f;
    }
    return p;
}

float wk_lr_at(const wk_lr_schedule *s, int64_t step) {
    if (!s) return 0.0f;
    if (s->kind == WK_LR_CONSTANT) return s->lr_max;
    if (step < 0) step = 0;
    if (step < s->warmup) return (float)((double)s->lr_max * (double)(step + 1) / (double)s->warmup);
    const int64_t span = s->total - s->warmup;
    double t = span > 0 ? (double)(step - s->warmup) / (double)span : 1.0;
    if (t > 1.0) t = 1.0;
    return (float)(s->lr_min + (s->lr_max - s->lr_min) * 0.5 * (1.0 + cos(M_PI * t)));
}

void wk_optim_free(wk_optim *o) {
    if (!o) return;
    for (int i = 0; i < o->n; i++) {
        if (o->m) free(o->m[i]);
        if (o->v) free(o->v[i]);
    }
    free(o->m);
    free(o->v);
    free(o->params);
    free(o);
}

wk_status wk_optim_create(const wk_optim_params *p, wk_tensor *const *params, int n, wk_optim **out) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "optim: out is NULL");
    *out = NULL;
    if (!p || (n > 0 && !params) || n < 0) return wk_err(WK_ERR_INVALID_ARG, "optim: bad arguments");
    if (p->kind != WK_OPTIM_ADAMW && p->kind != WK_OPTIM_SGD)
        return wk_err(WK_ERR_INVALID_ARG, "optim: unknown optimizer kind %d", (int)p->kind);
    if (!(p->weight_decay >= 0) || !(p->clip_norm >= 0))
        return wk_err(WK_ERR_INVALID_ARG, "optim: weight decay and clip norm must be >= 0");
    if (p->kind == WK_OPTIM_ADAMW &&
        !(p->beta1 >= 0 && p->beta1 < 1 && p->beta2 >= 0 && p->beta2 < 1 && p->eps >= 0))
        return wk_err(WK_ERR_INVALID_ARG, "optim: AdamW needs 0 <= betas < 1 and eps >= 0");
    if (p->kind == WK_OPTIM_SGD && (!(p->momentum >= 0) || (p->nesterov && (p->momentum <= 0 || p->dampening != 0))))
        return wk_err(WK_ERR_INVALID_ARG, "optim: SGD needs momentum >= 0; Nesterov needs momentum > 0, dampening 0");
    for (int i = 0; i < n; i++) {
        const wk_tensor *t = params[i];
        if (!t || wk_tensor_type(t) != WK_TYPE_F32 || !wk_tensor_is_contiguous(t) || !wk_tensor_data(t))
            return wk_err(WK_ERR_INVALID_ARG, "optim: param %d (%s) is not a contiguous F32 tensor with host data",
                          i, t && wk_tensor_name(t) ? wk_tensor_name(t) : "?");
    }
    wk_optim *o = calloc(1, sizeof *o);
    if (!o) return wk_err(WK_ERR_NOMEM, "optim: out of memory");
    o->p = *p;
    o->n = n;
    const size_t np = n > 0 ? (size_t)n : 1;
    o->params = malloc(np * sizeof *o->params);
    o->m = calloc(np, sizeof *o->m);
    o->v = calloc(np, sizeof *o->v);
    if (!o->params || !o->m || !o->v) goto oom;
    for (int i = 0; i < n; i++) {
        o->params[i] = params[i];
        const size_t ne = (size_t)wk_tensor_nelements(params[i]);
        o->m[i] = calloc(ne ? ne : 1, sizeof(float));
        if (!o->m[i]) goto oom;
        if (p->kind == WK_OPTIM_ADAMW) {
            o->v[i] = calloc(ne ? ne : 1, sizeof(float));
            if (!o->v[i]) goto oom;
        }
    }
    *out = o;
    return WK_OK;
oom:
    wk_optim_free(o);
    return wk_err(WK_ERR_NOMEM, "optim: out of memory for optimizer state");
}

int64_t wk_optim_steps(const wk_optim *o) { return o ? o->t : 0; }

/* The gradient of param i in g as host floats, or NULL (no gradient). */
static const float *grad_of(const wk_optim *o, const wk_graph *g, int i, wk_status *st) {
    *st = WK_OK;
    const wk_tensor *gt = wk_graph_grad(g, o->params[i]);
    if (!gt) return NULL;
    if (wk_tensor_type(gt) != WK_TYPE_F32 || !wk_tensor_is_contiguous(gt) ||
        wk_tensor_nelements(gt) != wk_tensor_nelements(o->params[i]) || !wk_tensor_data(gt)) {
        *st = wk_err(WK_ERR_INVALID_ARG, "optim: gradient of %s is not a computed F32 tensor of its shape",
                     wk_tensor_name(o->params[i]) ? wk_tensor_name(o->params[i]) : "?");
        return NULL;
    }
    return wk_tensor_data(gt);
}

/* Work is cut into chunks of CHUNK elements over all params, so one parallel region covers
 * a whole pass (one fork per pass instead of one per tensor). */
#define CHUNK 16384

typedef struct {
    int i;          /* param */
    int64_t j0, j1; /* element range */
} chunk;

/* chunks of the params whose gradient (grads[i]) is not NULL; malloc'd, *n set */
static chunk *make_chunks(const wk_optim *o, const float *const *grads, int64_t *n) {
    int64_t total = 0;
    for (int i = 0; i < o->n; i++)
        if (grads[i]) total += (wk_tensor_nelements(o->params[i]) + CHUNK - 1) / CHUNK;
    chunk *c = malloc((size_t)(total ? total : 1) * sizeof *c);
    if (!c) return NULL;
    int64_t k = 0;
    for (int i = 0; i < o->n; i++) {
        if (!grads[i]) continue;
        const int64_t ne = wk_tensor_nelements(o->params[i]);
        for (int64_t j = 0; j < ne; j += CHUNK) c[k++] = (chunk){i, j, j + CHUNK < ne ? j + CHUNK : ne};
    }
    *n = k;
    return c;
}

/* the gradients g holds for the params (NULL where none); malloc'd, NULL + *st on error */
static const float **grads_of(const wk_optim *o, const wk_graph *g, wk_status *st) {
    const float **grads = calloc((size_t)(o->n ? o->n : 1), sizeof *grads);
    *st = grads ? WK_OK : wk_err(WK_ERR_NOMEM, "optim: out of memory");
    for (int i = 0; i < o->n && grads; i++) {
        grads[i] = grad_of(o, g, i, st);
        if (*st != WK_OK) {
            free(grads);
            return NULL;
        }
    }
    return grads;
}

/* sum of squares of one chunk: f32 over 16 lanes (vectorizable; torch sums in f32 too) */
static double sumsq(const float *gr, int64_t j0, int64_t j1) {
    float f[16] = {0};
    int64_t j = j0;
    for (; j + 16 <= j1; j += 16)
        for (int l = 0; l < 16; l++) f[l] += gr[j + l] * gr[j + l];
    for (; j < j1; j++) f[0] += gr[j] * gr[j];
    float t = 0;
    for (int l = 0; l < 16; l++) t += f[l];
    return t;
}

static int team(const wk_optim *o) {
#ifdef _OPENMP
    return o->p.n_threads > 0 ? o->p.n_threads : omp_get_max_threads();
#else
    (void)o;
    return 1;
#endif
}

/* Per-chunk sums in parallel, added in chunk order: the same bits for any thread count. */
static double norm_of(const wk_optim *o, const chunk *c, int64_t n, const float *const *grads) {
    double *part = malloc((size_t)(n ? n : 1) * sizeof *part);
    double ss = 0.0;
    if (!part) { /* no memory for the partials: one thread, the same order */
        for (int64_t k = 0; k < n; k++) ss += sumsq(grads[c[k].i], c[k].j0, c[k].j1);
        return sqrt(ss);
    }
#pragma omp parallel for schedule(static) if (n > 2) num_threads(team(o))
    for (int64_t k = 0; k < n; k++) part[k] = sumsq(grads[c[k].i], c[k].j0, c[k].j1);
    for (int64_t k = 0; k < n; k++) ss += part[k];
    free(part);
    return sqrt(ss);
}

double wk_optim_grad_norm(const wk_optim *o, const wk_graph *g) {
    if (!o || !g) return 0.0;
    wk_status st;
    const float **grads = grads_of(o, g, &st);
    int64_t n = 0;
    chunk *c = grads ? make_chunks(o, grads, &n) : NULL;
    const double r = c ? norm_of(o, c, n, grads) : 0.0;
    free(c);
    free(grads);
    return r;
}

/* torch AdamW (decoupled decay, bias-corrected moments), with the gradient scaled by gs. */
static void adamw_update(float *restrict w, const float *restrict gr, float *restrict m, float *restrict v,
                         int64_t ne, float lr, float gs, const wk_optim_params *p, int64_t t) {
    const float decay = 1.0f - lr * p->weight_decay;
    const float b1 = p->beta1, b2 = p->beta2;
    const double bc1 = 1.0 - pow(b1, (double)t), bc2 = 1.0 - pow(b2, (double)t);
    const float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2), eps = p->eps;
    for (int64_t j = 0; j < ne; j++) {
        const float gj = gr[j] * gs;
        w[j] *= decay;
        m[j] = b1 * m[j] + (1.0f - b1) * gj;
        v[j] = b2 * v[j] + (1.0f - b2) * gj * gj;
        w[j] -= step_size * m[j] / (sqrtf(v[j]) / bc2_sqrt + eps);
    }
}

/* torch SGD: the decay joins the gradient, the buffer starts as the first gradient. */
static void sgd_update(float *restrict w, const float *restrict gr, float *restrict buf, int64_t ne, float lr,
                       float gs, const wk_optim_params *p, bool first) {
    const float wd = p->weight_decay, mu = p->momentum, damp = 1.0f - p->dampening;
    for (int64_t j = 0; j < ne; j++) {
        float d = gr[j] * gs + wd * w[j];
        if (mu != 0.0f) {
            buf[j] = first ? d : mu * buf[j] + damp * d;
            d = p->nesterov ? d + mu * buf[j] : buf[j];
        }
        w[j] -= lr * d;
    }
}

wk_status wk_optim_step(wk_optim *o, const wk_graph *g, float lr, double *grad_norm_out) {
    if (!o || !g) return wk_err(WK_ERR_INVALID_ARG, "optim: step needs an optimizer and a graph");
    wk_status st; /* every gradient is checked before any param is touched */
    const float **grads = grads_of(o, g, &st);
    if (!grads) return st;
    st = wk_optim_step_grads(o, grads, lr, grad_norm_out);
    free(grads);
    return st;
}

wk_status wk_optim_step_grads(wk_optim *o, const float *const *grads, float lr, double *grad_norm_out) {
    if (!o || !grads) return wk_err(WK_ERR_INVALID_ARG, "optim: step needs an optimizer and gradients");
    if (!isfinite(lr) || lr < 0) return wk_err(WK_ERR_INVALID_ARG, "optim: learning rate %g", (double)lr);
    int64_t n = 0;
    chunk *c = make_chunks(o, grads, &n);
    if (!c) return wk_err(WK_ERR_NOMEM, "optim: out of memory");
    const double norm = norm_of(o, c, n, grads);
    if (grad_norm_out) *grad_norm_out = norm;
    float gs = 1.0f;
    if (o->p.clip_norm > 0) { /* clip_grad_norm_: coef = max / (norm + 1e-6), at most 1 */
        const double coef = o->p.clip_norm / (norm + 1e-6);
        if (coef < 1.0) gs = (float)coef;
    }
    o->t++;
#pragma omp parallel for schedule(static) if (n > 2) num_threads(team(o))
    for (int64_t k = 0; k < n; k++) {
        const int i = c[k].i;
        const int64_t j0 = c[k].j0, len = c[k].j1 - c[k].j0;
        float *w = (float *)wk_tensor_data(o->params[i]) + j0;
        if (o->p.kind == WK_OPTIM_ADAMW)
            adamw_update(w, grads[i] + j0, o->m[i] + j0, o->v[i] + j0, len, lr, gs, &o->p, o->t);
        else
            sgd_update(w, grads[i] + j0, o->m[i] + j0, len, lr, gs, &o->p, o->t == 1);
    }
    free(c);
    return WK_OK;
}

float *wk_optim_state(wk_optim *o, int i, int which) {
    if (!o || i < 0 || i >= o->n || which < 0 || which > 1) return NULL;
    return which == 0 ? o->m[i] : o->v[i];
}

void wk_optim_set_steps(wk_optim *o, int64_t t) {
    if (o && t >= 0) o->t = t;
}
