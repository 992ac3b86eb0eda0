/* lora.c — `wick lora merge BASE.gguf ADAPTER.gguf OUT.gguf`: writes the base model with
 * every adapted matrix replaced by W + s B A (s = scale * alpha / r, formats.md §6), the
 * same sum `wick run --lora` computes at run time. Adapted matrices are written as f16 (or
 * --type f32/bf16); other tensors are copied unchanged. With a quantization --type
 * (Q4_K_M, Q8_0, ...) the merge goes through an f16 file that `wick quantize` converts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <omp.h>

#include "commands.h"
#include "common.h"
#include "gguf/gguf.h"
#include "src/model/model.h"
#include "src/quant/mix.h"
#include "src/quant/quant.h"

#define CMD "wick lora merge"

static void usage(FILE *f) {
    fprintf(f, "usage: wick lora merge BASE.gguf ADAPTER.gguf OUT.gguf [--scale S] [--type f16|f32|bf16|TYPE]\n"
               "  BASE + ADAPTER -> OUT: each adapted matrix W becomes W + scale * alpha / r * B A\n"
               "  --scale S    adapter strength (default 1 = as trained)\n"
               "  --type T     adapted matrices as f16 (default), f32 or bf16, the rest unchanged; or a\n"
               "               `wick quantize` type (Q4_K_M, Q8_0, ...) for the whole merged model\n"
               "  --threads N  threads for the merge and the quantization (default: all cores)\n"
               "exit: 0 written, 1 unreadable/mismatched inputs or failed write, 2 bad usage\n");
}

typedef struct {
    const wk_model *m;
    const char *name;       /* the base tensor */
    const wk_tensor *w;
    wk_type out;            /* f32, f16 or bf16 */
} merge_job;

/* dst <- W + sum over the model's pairs on W of s B A, rows in parallel */
static int fill_merged(void *user, void *dst, uint64_t nbytes) {
    const merge_job *j = user;
    const wk_tensor *w = j->w;
    const int64_t n_in = wk_tensor_ne(w, 0), n_out = wk_tensor_ne(w, 1);
    if (nbytes != (uint64_t)n_out * (uint64_t)n_in * wk_type_size(j->out)) return 1;
    /* the pairs' A and B in f32 */
    int np = 0;
    for (int i = 0; i < j->m->n_lora; i++) np += j->m->lora[i].w == w;
    float **A = calloc((size_t)np + 1, sizeof *A), **B = calloc((size_t)np + 1, sizeof *B);
    int64_t *R = calloc((size_t)np + 1, sizeof *R);
    float *S = calloc((size_t)np + 1, sizeof *S);
    int bad = !A || !B || !R || !S, k = 0;
    for (int i = 0; i < j->m->n_lora && !bad; i++) {
        const wk_lora_pair *p = &j->m->lora[i];
        if (p->w != w) continue;
        const int64_t r = wk_tensor_ne(p->a, 1);
        A[k] = malloc((size_t)(r * n_in) * sizeof(float));
        B[k] = malloc((size_t)(n_out * r) * sizeof(float));
        if (!A[k] || !B[k]) {
            bad = 1;
            break;
        }
        wk_dequantize_row(wk_tensor_type(p->a), wk_tensor_data(p->a), A[k], r * n_in);
        wk_dequantize_row(wk_tensor_type(p->b), wk_tensor_data(p->b), B[k], n_out * r);
        R[k] = r, S[k] = p->scale, k++;
    }
    const size_t wrow = wk_tensor_nb(w, 1), orow = (size_t)n_in * wk_type_size(j->out);
#pragma omp parallel if (!bad && n_out >= 64)
    {
        float *row = bad ? NULL : malloc((size_t)n_in * sizeof(float)); /* one row buffer per thread */
        if (!row) bad = 1;
#pragma omp for schedule(dynamic, 16)
        for (int64_t o = 0; o < n_out; o++) {
            if (!row) continue;
            wk_dequantize_row(wk_tensor_type(w), (const char *)wk_tensor_data(w) + (size_t)o * wrow, row, n_in);
            for (int q = 0; q < k; q++)
                for (int64_t r = 0; r < R[q]; r++) {
                    const float c = S[q] * B[q][o * R[q] + r];
                    const float *a = A[q] + r * n_in;
                    for (int64_t i = 0; i < n_in; i++) row[i] += c * a[i];
                }
            wk_quantize_row(j->out, row, (char *)dst + (size_t)o * orow, n_in);
        }
        free(row);
    }
    for (int q = 0; q < k; q++) free(A[q]), free(B[q]);
    free(A), free(B), free(R), free(S);
    return bad;
}

static int merge(int argc, char **argv) {
    const char *pos[3] = {0}, *type = "f16";
    int n_pos = 0;
    float scale = 1.0f;
    long threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--scale") || !strcmp(a, "--type") || !strcmp(a, "--threads") || !strcmp(a, "-t")) {
            if (i + 1 >= argc) {
                fprintf(stderr, CMD ": %s needs a value\n", a);
                return 2;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--type")) type = v;
            else if (!strcmp(a, "--scale") ? !wk_tool_parse_float(v, -1e3f, 1e3f, &scale)
                                           : !wk_tool_parse_long(v, 1, 512, &threads)) {
                fprintf(stderr, CMD ": bad value '%s' for %s\n", v, a);
                return 2;
            }
            continue;
        }
        if (a[0] == '-' && a[1]) {
            fprintf(stderr, CMD ": unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (n_pos == 3) {
            fprintf(stderr, CMD ": too many arguments ('%s')\n", a);
            return 2;
        }
        pos[n_pos++] = a;
    }
    if (n_pos != 3) {
        usage(stderr);
        return 2;
    }
    wk_type out_type = WK_TYPE_F16;
    const int quantize = strcmp(type, "f16") && strcmp(type, "f32") && strcmp(type, "bf16");
    if (!strcmp(type, "f32")) out_type = WK_TYPE_F32;
    if (!strcmp(type, "bf16")) out_type = WK_TYPE_BF16;
    if (quantize && !wk_mix_find(type)) {
        fprintf(stderr, CMD ": --type '%s' is not f16, f32, bf16 or a `wick quantize` type\n", type);
        return 2;
    }
    if (!strcmp(pos[2], pos[0]) || !strcmp(pos[2], pos[1])) {
        fprintf(stderr, CMD ": OUT must differ from the inputs\n");
        return 2;
    }

    wk_model *m = NULL;
    wk_gguf *g = NULL;
    wk_gguf_writer *w = NULL;
    merge_job *jobs = NULL;
    char tmp[4200] = "";
    int rc = 1;
    if (wk_model_load(pos[0], NULL, &m) != WK_OK || wk_model_add_lora(m, pos[1], scale) != WK_OK) {
        fprintf(stderr, CMD ": %s\n", wk_last_error());
        goto done;
    }
    if (wk_gguf_open(pos[0], &g) != WK_GGUF_OK || wk_gguf_writer_new(&w) != WK_GGUF_OK) {
        fprintf(stderr, CMD ": %s\n", wk_gguf_last_error());
        goto done;
    }
    const uint64_t nkv = wk_gguf_n_kv(g), nt = wk_gguf_n_tensors(g);
    wk_gguf_status gs = WK_GGUF_OK;
    for (uint64_t i = 0; i < nkv && !gs; i++) gs = wk_gguf_writer_copy_kv(w, g, i);
    if (!(jobs = calloc((size_t)(nt ? nt : 1), sizeof *jobs))) goto done;
    int n_merged = 0;
    for (uint64_t i = 0; i < nt && !gs; i++) {
        const wk_gguf_tensor *d = wk_gguf_tensor_at(g, i);
        const wk_tensor *wt = wk_model_weight(m, d->name);
        int adapted = 0;
        for (int k = 0; wt && k < m->n_lora; k++) adapted |= m->lora[k].w == wt;
        /* for a quantized result every matrix goes to the f16 intermediate */
        if (adapted || (quantize && wt)) {
            jobs[i] = (merge_job){m, d->name, wt, out_type};
            gs = wk_gguf_writer_add_tensor_fill(w, d->name, out_type, d->n_dims, d->ne, fill_merged, &jobs[i]);
            n_merged += adapted;
        } else {
            gs = wk_gguf_writer_add_tensor_ndims(w, d->name, d->type, d->n_dims, d->ne, d->data);
        }
    }
    if (gs) {
        fprintf(stderr, CMD ": %s\n", wk_gguf_last_error());
        goto done;
    }
    if (threads > 0) omp_set_num_threads((int)threads);
    const char *dest = pos[2];
    if (quantize) {
        snprintf(tmp, sizeof tmp, "%s.merge-f16.tmp", pos[2]);
        dest = tmp;
    }
    if (wk_gguf_writer_write_file(w, dest) != WK_GGUF_OK) { /* temp file + rename */
        fprintf(stderr, CMD ": writing %s: %s\n", dest, wk_gguf_last_error());
        tmp[0] = 0;
        goto done;
    }
    fprintf(stderr, CMD ": %d matrices merged (%d adapter pairs, scale %g)%s\n", n_merged, m->n_lora, (double)scale,
            quantize ? "; quantizing" : "");
    if (quantize) {
        char tbuf[32];
        snprintf(tbuf, sizeof tbuf, "%ld", threads);
        char *qargv[] = {"quantize", tmp, (char *)pos[2], (char *)type, "--allow-requantize", "--threads", tbuf, NULL};
        const int qrc = wk_cmd_quantize(threads > 0 ? 7 : 5, qargv);
        if (qrc) goto done;
    }
    fprintf(stderr, CMD ": wrote %s\n", pos[2]);
    rc = 0;
done:
    if (tmp[0]) remove(tmp);
    free(jobs);
    wk_gguf_writer_free(w);
    wk_gguf_free(g);
    wk_model_free(m);
    return rc;
}

int wk_cmd_lora(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "merge")) return merge(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "wick lora: expected 'merge' (see 'wick lora --help')\n");
    return 2;
}
