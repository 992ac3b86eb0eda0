/* bench.c — `wick bench`: kernel benchmarks measured through the public graph API.
 * `wick bench matmul` times MUL_MAT per kernel set (scalar, avx2, avx512, OpenBLAS):
 * one warm-up, then -r timed runs; prints the median and range. `wick bench -m MODEL`
 * measures a model llama-bench style: pp (a prompt of -p random tokens in one batch) and
 * tg (-n tokens decoded one at a time), each from an empty cache, mean ± stddev of t/s over
 * -r runs after one warm-up run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <math.h>
#include <omp.h>

#include "backends/cpu/blas.h"
#include "backends/cpu/isa.h"
#include "commands.h"
#include "common.h"
#include "gguf/gguf.h"
#include "src/quant/quant.h"
#include "wick.h"

typedef struct {
    wk_type type;
    int64_t M, N, K;
    int reps, threads;
    const char *isa;
    bool json;
} mm_opts;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void usage(FILE *f) {
    fprintf(f, "usage: wick bench matmul [options]\n"
               "  --type TYPE           weight type: f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q8_1 q2_K\n"
               "                        q3_K q4_K q5_K q6_K iq4_nl iq4_xs (default f32; activations f32,\n"
               "                        quantized once per matmul for quantized weights)\n"
               "  -M N, -N N, -K N      dst is M x N, inner dim K (default 2048 2048 512)\n"
               "  -r N                  timed repetitions after one warm-up (default 5)\n"
               "  -t N                  threads (default 2)\n"
               "  --isa NAME            scalar|avx2|avx512|neon|blas|all (default all)\n"
               "  -o text|json          output format (default text)\n");
}

static bool parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* Times one configuration; returns false (and prints why) when it cannot run. */
static bool run_one(const mm_opts *o, const char *path, bool *first_json) {
    bool blas = !strcmp(path, "blas");
    const char *isa = blas ? wk_cpu_isa_current()->name : path;
    if (blas && (o->type != WK_TYPE_F32 || !wk_cpu_blas_enabled() || !wk_cpu_blas_worth(o->M, o->N, o->K))) {
        if (!o->json)
            printf("%-7s %-5s n/a (%s)\n", path, wk_type_name(o->type),
                   o->type != WK_TYPE_F32       ? "OpenBLAS path is f32 only"
                   : !wk_cpu_blas_enabled()     ? "built without OpenBLAS or WICK_BLAS=0"
                                                : "below the BLAS size threshold: native kernels run this product");
        return true;
    }
    if (!blas && !wk_cpu_isa_force(isa)) {
        if (!o->json) printf("%-7s %-5s n/a on this CPU\n", path, wk_type_name(o->type));
        return true;
    }
    bool was_blas = wk_cpu_blas_enabled();
    wk_cpu_blas_set(blas);
    wk_ctx *ctx = NULL;
    wk_backend *be = NULL;
    bool ok = false;
    if (wk_ctx_create(NULL, &ctx) != WK_OK || wk_backend_cpu_create(o->threads, &be) != WK_OK) goto out;
    wk_tensor *a = wk_new_tensor_2d(ctx, o->type, o->K, o->M), *b = wk_new_tensor_2d(ctx, WK_TYPE_F32, o->K, o->N);
    if (!a || !b) goto out;
    uint64_t s = 88172645463325252ull;
    const bool quant = wk_type_block_size(o->type) > 1;
    float *row = quant ? malloc(sizeof(float) * (size_t)o->K) : NULL;
    if (quant && !row) goto out;
    for (int64_t i = 0; i < o->K * o->M; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        float v = (float)((s >> 40) * 0x1p-24 - 0.5);
        if (quant) {
            row[i % o->K] = v;
            if (i % o->K == o->K - 1) wk_quantize_row(o->type, row, (char *)wk_tensor_data(a) + (i / o->K) * wk_tensor_nb(a, 1), o->K);
        } else if (o->type == WK_TYPE_F32) ((float *)wk_tensor_data(a))[i] = v;
        else ((uint16_t *)wk_tensor_data(a))[i] = o->type == WK_TYPE_F16 ? wk_fp32_to_fp16(v) : wk_fp32_to_bf16(v);
    }
    free(row);
    for (int64_t i = 0; i < o->K * o->N; i++) ((float *)wk_tensor_data(b))[i] = (float)((i % 13) - 6) * 0.01f;
    wk_tensor *c = wk_mul_mat(ctx, a, b);
    wk_graph *g = wk_graph_new(ctx);
    if (!c || !g || wk_graph_expand(g, c) != WK_OK) goto out;
    if (wk_graph_compute(be, g) != WK_OK) goto out; /* warm-up: plans memory, touches pages */
    double *t = calloc((size_t)o->reps, sizeof *t);
    if (!t) goto out;
    for (int r = 0; r < o->reps; r++) {
        double t0 = now_s();
        if (wk_graph_compute(be, g) != WK_OK) { free(t); goto out; }
        t[r] = now_s() - t0;
    }
    qsort(t, (size_t)o->reps, sizeof *t, cmp_double);
    double med = o->reps % 2 ? t[o->reps / 2] : 0.5 * (t[o->reps / 2 - 1] + t[o->reps / 2]);
    double flop = 2.0 * o->M * o->N * o->K;
    double wbytes = (double)o->M * (double)wk_tensor_nb(a, 1);
    const char *unit = quant ? "GOP/s  " : "GFLOP/s";
    if (o->json) {
        printf("%s{\"path\":\"%s\",\"type\":\"%s\",\"M\":%lld,\"N\":%lld,\"K\":%lld,\"threads\":%d,\"reps\":%d,"
               "\"median_s\":%.6g,\"gflops\":%.4g,\"gflops_min\":%.4g,\"gflops_max\":%.4g,\"weight_gbps\":%.4g}",
               *first_json ? "" : ",\n", path, wk_type_name(o->type), (long long)o->M, (long long)o->N,
               (long long)o->K, o->threads, o->reps, med, flop / med * 1e-9, flop / t[o->reps - 1] * 1e-9,
               flop / t[0] * 1e-9, wbytes / med * 1e-9);
        *first_json = false;
    } else {
        printf("%-7s %-6s M=%lld N=%lld K=%lld t=%d: %9.2f %s median (%.2f..%.2f)", path, wk_type_name(o->type),
               (long long)o->M, (long long)o->N, (long long)o->K, o->threads, flop / med * 1e-9, unit,
               flop / t[o->reps - 1] * 1e-9, flop / t[0] * 1e-9);
        if (o->N == 1) printf("  %7.2f GB/s weights", wbytes / med * 1e-9);
        printf("\n");
    }
    free(t);
    ok = true;
out:
    if (!ok) fprintf(stderr, "wick bench: %s\n", wk_last_error());
    wk_cpu_blas_set(was_blas);
    wk_backend_free(be);
    wk_ctx_free(ctx);
    return ok;
}

static int bench_matmul(int argc, char **argv) {
    mm_opts o = {WK_TYPE_F32, 2048, 2048, 512, 5, 2, "all", false};
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t x;
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) { usage(stdout); return 0; }
        if (!v) { fprintf(stderr, "wick bench: %s needs a value\n", f); return 2; }
        i++;
        if (!strcmp(f, "--type")) {
            int t;
            for (t = 0; t < WK_TYPE_COUNT; t++) {
                const char *nm = wk_type_name((wk_type)t);
                bool weight = t == WK_TYPE_F32 || t == WK_TYPE_F16 || t == WK_TYPE_BF16 ||
                              (wk_quant_supported((wk_type)t) && wk_vec_dot_type((wk_type)t) != WK_TYPE_COUNT);
                if (nm && weight && !strcasecmp(nm, v)) break;
            }
            if (t == WK_TYPE_COUNT) { fprintf(stderr, "wick bench: --type %s: not a weight type; see --help\n", v); return 2; }
            o.type = (wk_type)t;
        } else if (!strcmp(f, "-M") || !strcmp(f, "-N") || !strcmp(f, "-K")) {
            if (!parse_i64(v, 1, 1 << 20, &x)) { fprintf(stderr, "wick bench: %s %s: expected 1..1048576\n", f, v); return 2; }
            *(f[1] == 'M' ? &o.M : f[1] == 'N' ? &o.N : &o.K) = x;
        } else if (!strcmp(f, "-r")) {
            if (!parse_i64(v, 1, 1000, &x)) { fprintf(stderr, "wick bench: -r %s: expected 1..1000\n", v); return 2; }
            o.reps = (int)x;
        } else if (!strcmp(f, "-t")) {
            if (!parse_i64(v, 1, 512, &x)) { fprintf(stderr, "wick bench: -t %s: expected 1..512\n", v); return 2; }
            o.threads = (int)x;
        } else if (!strcmp(f, "--isa")) {
            const char *ok[] = {"scalar", "avx2", "avx512", "neon", "blas", "all"};
            bool found = false;
            for (int k = 0; k < 6; k++) found |= !strcmp(v, ok[k]);
            if (!found) { fprintf(stderr, "wick bench: --isa %s: expected scalar, avx2, avx512, neon, blas or all\n", v); return 2; }
            o.isa = v;
        } else if (!strcmp(f, "-o")) {
            if (strcmp(v, "text") && strcmp(v, "json")) { fprintf(stderr, "wick bench: -o %s: expected text or json\n", v); return 2; }
            o.json = !strcmp(v, "json");
        } else {
            fprintf(stderr, "wick bench: unknown option '%s'; see 'wick bench matmul --help'\n", f);
            return 2;
        }
    }
    /* the matrices must fit comfortably: refuse more than 8 GiB of operands */
    if (o.K % wk_type_block_size(o.type)) {
        fprintf(stderr, "wick bench: -K %lld is not a multiple of %s's block of %lld\n", (long long)o.K,
                wk_type_name(o.type), (long long)wk_type_block_size(o.type));
        return 2;
    }
    double bytes = ((double)o.M * o.K + (double)o.N * o.K + (double)o.M * o.N) * 4;
    if (bytes > 8.0 * (1ull << 30)) { fprintf(stderr, "wick bench: %.1f GiB of operands is too large\n", bytes / (1ull << 30)); return 2; }
    const char *paths[] = {"scalar", "avx2", "avx512", "neon", "blas"};
    bool first = true, ok = true;
    if (o.json) printf("[\n");
    for (int k = 0; k < 5; k++)
        if (!strcmp(o.isa, "all") || !strcmp(o.isa, paths[k])) ok &= run_one(&o, paths[k], &first);
    if (o.json) printf("\n]\n");
    return ok ? 0 : 1;
}

/* ---- model benchmark ---------------------------------------------------------------- */

static void usage_model(FILE *f) {
    fprintf(f, "usage: wick bench -m MODEL [-p 512] [-n 128] [-r 5] [-t N] [-o text|json]\n");
    wk_tool_usage_common(f, false);
    fprintf(f, "  -p N                  prompt tokens, processed in one batch (default 512; 0 = skip)\n"
               "  -n N                  tokens generated one at a time (default 128; 0 = skip)\n"
               "  -r N                  timed repetitions after one warm-up (default 5)\n"
               "  -o text|json          output format (default text: a llama-bench style table)\n");
}

/* Seconds for one run of test (pp: n tokens in one batch; tg: n single-token steps). */
static int time_test(wk_context *ctx, const wk_token *toks, int n, bool pp, double *secs) {
    wk_kv_clear(ctx);
    double t0 = wk_tool_now();
    if (pp) {
        wk_batch b = wk_batch_one_seq(toks, n);
        if (wk_decode(ctx, &b) != WK_OK) return 1;
    } else {
        for (int i = 0; i < n; i++) {
            wk_batch b = wk_batch_one_seq(&toks[i], 1);
            if (wk_decode(ctx, &b) != WK_OK) return 1;
        }
    }
    *secs = wk_tool_now() - t0;
    return 0;
}

static int bench_model(int argc, char **argv) {
    wk_tool_opts o;
    wk_tool_opts_init(&o);
    long n_prompt = 512, n_gen = 128, reps = 5;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage_model(stdout); return 0; }
        int r = wk_tool_flag("bench", argc, argv, &i, &o, false);
        if (r == 2) return 2;
        if (r == 1) continue;
        if (strcmp(a, "-p") && strcmp(a, "-n") && strcmp(a, "-r") && strcmp(a, "-o")) {
            fprintf(stderr, "wick bench: unknown option '%s'; see 'wick bench -m MODEL --help'\n", a);
            return 2;
        }
        if (!v) { fprintf(stderr, "wick bench: %s needs a value\n", a); return 2; }
        i++;
        bool ok = true;
        if (!strcmp(a, "-p")) ok = wk_tool_parse_long(v, 0, 1 << 20, &n_prompt);
        else if (!strcmp(a, "-n")) ok = wk_tool_parse_long(v, 0, 1 << 20, &n_gen);
        else if (!strcmp(a, "-r")) ok = wk_tool_parse_long(v, 1, 1000, &reps);
        else if (!strcmp(v, "json") || !strcmp(v, "text")) json = !strcmp(v, "json");
        else ok = false;
        if (!ok) { fprintf(stderr, "wick bench: bad value '%s' for %s\n", v, a); return 2; }
    }
    if (!o.model) { fprintf(stderr, "wick bench: -m MODEL is required\n"); return 2; }
    /* size and parameter count as llama-bench shows them: the weights' bytes and elements */
    wk_gguf *g = NULL;
    if (wk_gguf_open(o.model, &g) != WK_GGUF_OK) {
        fprintf(stderr, "wick bench: %s\n", wk_gguf_last_error());
        return 1;
    }
    double wbytes = 0, params = 0;
    for (uint64_t t = 0; t < wk_gguf_n_tensors(g); t++) {
        const wk_gguf_tensor *ti = wk_gguf_tensor_at(g, t);
        wbytes += (double)ti->nbytes;
        params += (double)ti->ne[0] * ti->ne[1] * ti->ne[2] * ti->ne[3];
    }
    uint32_t ftype = 0;
    const char *ftn = wk_gguf_get_u32(g, "general.file_type", &ftype) == WK_GGUF_OK ? wk_gguf_file_type_name(ftype) : NULL;
    char ftname[64];
    snprintf(ftname, sizeof ftname, "%s", ftn ? ftn : "?");
    wk_gguf_free(g);

    long need = n_prompt > n_gen ? n_prompt : n_gen;
    if (!o.n_ctx) o.n_ctx = need > 0 ? need : 1;
    wk_model *model = NULL;
    wk_context *ctx = NULL;
    int rc = wk_tool_open("bench", &o, n_prompt > 0 ? (uint32_t)n_prompt : 0, &model, &ctx);
    if (rc) return rc;
    rc = 1;
    if ((long)wk_context_n_ctx(ctx) < need) {
        fprintf(stderr, "wick bench: a context of %u tokens cannot hold %ld\n", wk_context_n_ctx(ctx), need);
        goto done;
    }
    wk_token *toks = malloc(sizeof(wk_token) * (size_t)(need > 0 ? need : 1));
    double *t = malloc(sizeof(double) * (size_t)reps);
    if (!toks || !t) { free(toks); free(t); goto done; }
    uint64_t st = 0x9e3779b97f4a7c15ull; /* random tokens, as llama-bench uses */
    for (long i = 0; i < need; i++) {
        st ^= st << 13; st ^= st >> 7; st ^= st << 17;
        toks[i] = (wk_token)(st % (uint64_t)wk_model_n_vocab(model));
    }
    if (!json) {
        printf("| model | size | params | backend | threads | test | t/s |\n");
        printf("| --- | ---: | ---: | --- | ---: | ---: | ---: |\n");
    } else printf("[\n");
    bool first = true;
    for (int pp = 1; pp >= 0; pp--) {
        const long n = pp ? n_prompt : n_gen;
        if (n <= 0) continue;
        double warm;
        if (time_test(ctx, toks, (int)n, pp, &warm)) { fprintf(stderr, "wick bench: %s\n", wk_last_error()); goto out; }
        double mean = 0, var = 0;
        for (long r = 0; r < reps; r++) {
            if (time_test(ctx, toks, (int)n, pp, &t[r])) { fprintf(stderr, "wick bench: %s\n", wk_last_error()); goto out; }
            mean += n / t[r];
        }
        mean /= reps;
        for (long r = 0; r < reps; r++) var += (n / t[r] - mean) * (n / t[r] - mean);
        const double sd = reps > 1 ? sqrt(var / (reps - 1)) : 0;
        const int nth = o.n_threads > 0 ? o.n_threads : omp_get_num_procs();
        if (json)
            printf("%s  {\"model\":\"%s\",\"arch\":\"%s\",\"file_type\":\"%s\",\"size_bytes\":%.0f,\"params\":%.0f,"
                   "\"backend\":\"cpu\",\"isa\":\"%s\",\"threads\":%d,\"test\":\"%s%ld\",\"n\":%ld,\"reps\":%ld,"
                   "\"avg_ts\":%.4f,\"stddev_ts\":%.4f}",
                   first ? "" : ",\n", o.model, wk_model_arch(model), ftname, wbytes, params, wk_cpu_isa(), nth,
                   pp ? "pp" : "tg", n, n, reps, mean, sd);
        else
            printf("| %s %s | %.2f MiB | %.2f M | CPU (%s) | %d | %s%ld | %.2f ± %.2f |\n", wk_model_arch(model), ftname,
                   wbytes / (1 << 20), params * 1e-6, wk_cpu_isa(), nth, pp ? "pp" : "tg", n, mean, sd);
        fflush(stdout);
        first = false;
    }
    if (json) printf("\n]\n");
    rc = 0;
out:
    free(toks);
    free(t);
done:
    wk_context_free(ctx);
    wk_model_free(model);
    return rc;
}

int wk_cmd_bench(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "usage: wick bench -m MODEL [-p 512] [-n 128] [-r 5] [-o json]   (see 'wick bench -m X --help')\n"
                   "       wick bench matmul [options]                         (see 'wick bench matmul --help')\n");
        return argc < 2 ? 2 : 0;
    }
    if (argv[1][0] == '-') return bench_model(argc, argv);
    if (!strcmp(argv[1], "matmul")) return bench_matmul(argc - 1, argv + 1);
    fprintf(stderr, "wick bench: unknown benchmark '%s'; available: matmul\n", argv[1]);
    return 2;
}
