/* train_step.c — wick's side of tests/reference/torch_train_check.py: loads a llama GGUF
 * with F32 weights into the training graph, runs `steps` optimizer steps on one batch and
 * writes, as raw little-endian f32 files in out_dir: losses.f32 (the loss before each step
 * and after the last), grad.<name>.f32 (every param's gradient at step 0), param.<name>.f32
 * (every param after the last step) and lr.f32 (the learning rate of each step).
 *
 * usage: train_step model.gguf batch.bin out_dir adamw|sgd steps
 * batch.bin: int32 B, int32 T, then B*T token ids and B*T labels (int32, sequence-major). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/train/llama_train.h"
#include "src/train/optim.h"

static int write_f32(const char *dir, const char *prefix, const char *name, const float *d, size_t n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s%s.f32", dir, prefix, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(d, sizeof *d, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "train_step: cannot write %s\n", path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s model.gguf batch.bin out_dir adamw|sgd steps\n", argv[0]);
        return 2;
    }
    const char *dir = argv[3];
    const int steps = atoi(argv[5]);
    const bool sgd = strcmp(argv[4], "sgd") == 0;
    if ((!sgd && strcmp(argv[4], "adamw") != 0) || steps < 0 || steps > 10000) {
        fprintf(stderr, "train_step: bad optimizer '%s' or steps '%s'\n", argv[4], argv[5]);
        return 2;
    }
    FILE *f = fopen(argv[2], "rb");
    int32_t bt[2];
    if (!f || fread(bt, sizeof *bt, 2, f) != 2 || bt[0] <= 0 || bt[1] <= 0 || bt[0] > 64 || bt[1] > 4096) {
        fprintf(stderr, "train_step: cannot read a batch header from %s\n", argv[2]);
        return 1;
    }
    const size_t n = (size_t)bt[0] * (size_t)bt[1];
    int32_t *tok = malloc(2 * n * sizeof *tok);
    if (!tok || fread(tok, sizeof *tok, 2 * n, f) != 2 * n) {
        fprintf(stderr, "train_step: %s is truncated\n", argv[2]);
        return 1;
    }
    fclose(f);

    wk_llama_train *m = NULL;
    wk_backend *be = NULL;
    wk_optim *o = NULL;
    if (wk_llama_train_create_gguf(argv[1], bt[0], bt[1], &m) != WK_OK || wk_backend_cpu_create(2, &be) != WK_OK) {
        fprintf(stderr, "train_step: %s\n", wk_last_error());
        return 1;
    }
    const int np = wk_llama_train_n_params(m);
    wk_tensor *params[4096];
    if (np > 4096) {
        fprintf(stderr, "train_step: %d params is more than this driver holds\n", np);
        return 1;
    }
    for (int i = 0; i < np; i++) params[i] = wk_llama_train_param(m, i);
    /* the settings torch_train_check.py mirrors */
    wk_optim_params op = wk_optim_default_params(sgd ? WK_OPTIM_SGD : WK_OPTIM_ADAMW);
    wk_lr_schedule ls = {WK_LR_CONSTANT, 1e-3f, 0.0f, 0, 0};
    if (sgd) {
        op.weight_decay = 0.01f;
        op.momentum = 0.9f;
        op.dampening = 0.1f;
        ls = (wk_lr_schedule){WK_LR_COSINE, 0.05f, 0.005f, 3, steps};
    } else {
        op.weight_decay = 0.1f;
        op.beta1 = 0.9f;
        op.beta2 = 0.95f;
        op.eps = 1e-8f;
    }
    op.clip_norm = 1.0f;
    if (wk_optim_create(&op, params, np, &o) != WK_OK) {
        fprintf(stderr, "train_step: %s\n", wk_last_error());
        return 1;
    }
    float *losses = malloc((size_t)(steps + 1) * sizeof *losses), *lrs = malloc((size_t)(steps + 1) * sizeof *lrs);
    int rc = !losses || !lrs;
    for (int s = 0; s <= steps && !rc; s++) {
        if (wk_llama_train_compute(m, be, tok, tok + n, &losses[s]) != WK_OK) {
            fprintf(stderr, "train_step: step %d: %s\n", s, wk_last_error());
            rc = 1;
            break;
        }
        if (s == 0)
            for (int i = 0; i < np && !rc; i++) {
                const wk_tensor *g = wk_graph_grad(wk_llama_train_graph(m), params[i]);
                if (!g) {
                    fprintf(stderr, "train_step: %s has no gradient\n", wk_tensor_name(params[i]));
                    rc = 1;
                } else {
                    rc = write_f32(dir, "grad.", wk_tensor_name(params[i]), wk_tensor_data(g),
                                   (size_t)wk_tensor_nelements(g));
                }
            }
        if (s == steps || rc) break;
        double gn = 0;
        lrs[s] = wk_lr_at(&ls, s);
        if (wk_optim_step(o, wk_llama_train_graph(m), lrs[s], &gn) != WK_OK) {
            fprintf(stderr, "train_step: optimizer: %s\n", wk_last_error());
            rc = 1;
        }
        printf("step %d: loss %.6f grad norm %.6f lr %.6g\n", s, losses[s], gn, lrs[s]);
    }
    if (!rc) {
        printf("final loss %.6f\n", losses[steps]);
        rc = write_f32(dir, "", "losses", losses, (size_t)steps + 1) || write_f32(dir, "", "lr", lrs, (size_t)steps);
        for (int i = 0; i < np && !rc; i++)
            rc = write_f32(dir, "param.", wk_tensor_name(params[i]), wk_tensor_data(params[i]),
                           (size_t)wk_tensor_nelements(params[i]));
    }
    free(losses);
    free(lrs);
    free(tok);
    wk_optim_free(o);
    wk_backend_free(be);
    wk_llama_train_free(m);
    return rc;
}
