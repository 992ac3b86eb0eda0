/* optim.h — optimizers for training: AdamW and SGD with momentum (torch.optim semantics),
 * global-norm gradient clipping (torch.nn.utils.clip_grad_norm_) and the learning-rate
 * schedule. They update F32 param tensors in host memory from the gradients a computed
 * graph holds (wk_graph_grad). Internal to wick for now. */
#ifndef WK_TRAIN_OPTIM_H
#define WK_TRAIN_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

#include "wick.h"

typedef enum { WK_OPTIM_ADAMW = 0, WK_OPTIM_SGD = 1 } wk_optim_kind;

typedef struct {
    wk_optim_kind kind;
    float weight_decay;   /* AdamW: decoupled (p -= lr*wd*p); SGD: added to the gradient */
    float beta1, beta2, eps;           /* AdamW */
    float momentum, dampening;         /* SGD; momentum 0 = plain SGD */
    bool nesterov;                     /* SGD */
    float clip_norm;      /* > 0: scale gradients so their global L2 norm is at most this */
    int n_threads;        /* OpenMP threads for the norm and update passes; <= 0: the default */
} wk_optim_params;

/* torch's defaults: AdamW betas (0.9, 0.999), eps 1e-8, wd 0.01; SGD all zero; no clipping. */
wk_optim_params wk_optim_default_params(wk_optim_kind kind);

/* Learning rate at step s (0-based). CONSTANT: lr_max. COSINE: linear warmup
 * lr_max*(s+1)/warmup for s < warmup, then lr_min + (lr_max-lr_min)*(1+cos(pi*t))/2 with
 * t = (s-warmup)/(total-warmup) clamped to [0, 1], so it stays at lr_min after total. */
typedef enum { WK_LR_CONSTANT = 0, WK_LR_COSINE = 1 } wk_lr_kind;
typedef struct {
    wk_lr_kind kind;
    float lr_max, lr_min;
    int64_t warmup, total;
} wk_lr_schedule;
float wk_lr_at(const wk_lr_schedule *s, int64_t step);

typedef struct wk_optim wk_optim;

/* An optimizer over n F32 contiguous params with host data (kept by pointer; their state,
 * zeroed, is allocated here). */
wk_status wk_optim_create(const wk_optim_params *p, wk_tensor *const *params, int n, wk_optim **out);
void wk_optim_free(wk_optim *o);  /* accepts NULL */
int64_t wk_optim_steps(const wk_optim *o);

/* Checkpoint access: the state of param i, wk_tensor_nelements(param) floats each; which 0
 * is AdamW's first moment or SGD's momentum buffer, 1 AdamW's second moment (NULL for SGD
 * or a bad index). Steps taken can be restored so bias correction resumes where it was. */
float *wk_optim_state(wk_optim *o, int i, int which);
void wk_optim_set_steps(wk_optim *o, int64_t t);

/* Global L2 norm of the gradients g holds for the params (double accumulation; params
 * without a gradient count as zero). */
double wk_optim_grad_norm(const wk_optim *o, const wk_graph *g);

/* One step at learning rate lr from the gradients of computed graph g. Params g gives no
 * gradient are left alone (as torch skips params whose .grad is None). The gradients are
 * not modified. *grad_norm_out (may be NULL) gets the norm before clipping. */
wk_status wk_optim_step(wk_optim *o, const wk_graph *g, float lr, double *grad_norm_out);
/* The same with the gradients given: grads[i] is param i's (nelements floats) or NULL. */
wk_status wk_optim_step_grads(wk_optim *o, const float *const *grads, float lr, double *grad_norm_out);

#endif
