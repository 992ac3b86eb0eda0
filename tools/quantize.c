/* quantize.c — `wick quantize IN.gguf OUT.gguf TYPE`: rewrites a model with its weights in
 * another type, choosing each tensor's type with llama.cpp's mix rules (src/quant/mix.c).
 * The output is streamed: each tensor is converted (rows split across OpenMP threads) only
 * when the GGUF writer reaches it, so memory holds one output tensor, not the model; the
 * writer's temp file + rename means OUT is never left partial, also on error or Ctrl-C. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "src/quant/mix.h"
#include "src/quant/quant.h"
#include "wick.h"

#define QUANT_VERSION 2        /* general.quantization_version (formats.md §1.10) */
#define CHUNK_ELEMENTS 65536   /* rows per work item: about this many elements */
#define MAX_THREADS 1024

typedef unsigned long long ull;

static void usage(FILE *f) {
    fprintf(f,
            "usage: wick quantize IN.gguf OUT.gguf TYPE [--threads N] [--pure] [--allow-requantize]\n"
            "  write IN's tensors in TYPE to OUT (metadata and tensor order kept)\n"
            "  TYPE (case-insensitive) is a llama.cpp file type, which mixes types per tensor as\n"
            "  llama-quantize does:\n"
            "    Q4_K_M Q4_K_S Q5_K_M Q5_K_S Q6_K Q3_K_M Q3_K_S Q3_K_L Q2_K\n"
            "    Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL IQ4_XS F16 BF16 F32\n"
            "  or Q3_K, Q4_K, Q5_K: that type for every weight matrix\n"
            "  --threads N        convert with N threads (default: all cores)\n"
            "  --pure             no mix: every weight matrix gets TYPE's base type (rows too short\n"
            "                     for it still fall back to a smaller block type)\n"
            "  --allow-requantize accept already-quantized inputs (they are dequantized first,\n"
            "                     which compounds the rounding error)\n"
            "  norms and other 1-D tensors are copied unchanged\n"
            "exit: 0 ok, 1 error (OUT is not created), 2 bad usage, 130 interrupted\n");
}

static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("wick quantize: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const char *type_name(uint32_t t) {
    const char *n = wk_gguf_ggml_type_name(t);
    return n ? n : "?";
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- Ctrl-C ------------------------------------------------------------------------- */

/* Set by SIGINT/SIGTERM; workers stop at the next chunk and the writer drops its temp file. */
static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void catch_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* no EINTR inside the writer's fwrite/fsync */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---- progress ----------------------------------------------------------------------- */

typedef struct {
    int tty;
    uint64_t total, done; /* elements to convert / converted in finished tensors */
    double t0, last;
    int last_decile;
    size_t n_tensors, tensor;
} progress;

/* Redraws with `done` elements converted (at most every 0.1 s on a tty, every tenth in a log). */
static void progress_draw(progress *p, uint64_t done, const char *name, int final) {
    double t = now_s();
    double frac = p->total ? (double)done / (double)p->total : 1.0;
    if (frac > 1) frac = 1;
    if (p->tty) {
        if (!final && t - p->last < 0.1) return;
        enum { W = 30 };
        char bar[W + 1];
        int fill = (int)(frac * W);
        for (int i = 0; i < W; i++) bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
        bar[W] = 0;
        fprintf(stderr, "\r[%s] %3d%% %zu/%zu %-40.40s", bar, (int)(frac * 100), p->tensor, p->n_tensors,
                final ? "" : name);
        if (final) fputc('\n', stderr);
    } else { /* a log line per tenth, once the run is long enough to want one */
        int decile = (int)(frac * 10);
        if (decile <= p->last_decile || t - p->t0 < 1.0) return;
        p->last_decile = decile;
        fprintf(stderr, "wick quantize: %3d%% (%zu/%zu tensors, %.1f s)\n", decile * 10, p->tensor, p->n_tensors,
                t - p->t0);
    }
    fflush(stderr);
    p->last = t;
}

/* ---- conversion of one tensor (the writer's fill callback) -------------------------- */

typedef struct job job;

typedef struct {
    const wk_gguf *in;
    int n_threads;
    progress prog;
    char err[512]; /* why a fill failed ("" when interrupted) */
    job *jobs;
} quant_ctx;

struct job {
    quant_ctx *ctx;
    const wk_gguf_tensor *src;
    wk_type from, to;
    size_t index; /* in file order, for the progress count */
};

/* Converts rows [r0, r1) of j->src into dst; buf holds (r1 - r0) rows of f32. Returns the
 * first row holding a NaN or Inf when quantizing (the quantizers assume finite input), or -1. */
static int64_t convert_rows(const job *j, int64_t r0, int64_t r1, float *buf, uint8_t *dst) {
    const int64_t n = j->src->ne[0];
    const size_t in_row = (size_t)(n / wk_type_block_size(j->from)) * wk_type_size(j->from);
    const size_t out_row = (size_t)(n / wk_type_block_size(j->to)) * wk_type_size(j->to);
    const uint8_t *src = (const uint8_t *)j->src->data;
    const int check = wk_type_is_quantized(j->to);
    for (int64_t r = r0; r < r1; r++) {
        float *x = buf + (r - r0) * n;
        const uint8_t *s = src + (size_t)r * in_row;
        if (j->from == WK_TYPE_F32) memcpy(x, s, (size_t)n * sizeof(float)); /* file data may be unaligned */
        else wk_dequantize_row(j->from, s, x, n);
        if (check)
            for (int64_t k = 0; k < n; k++)
                if (!isfinite(x[k])) return r;
        if (j->to == WK_TYPE_F32) memcpy(dst + (size_t)r * out_row, x, (size_t)n * sizeof(float));
        else wk_quantize_row(j->to, x, dst + (size_t)r * out_row, n);
    }
    return -1;
}

static int fill_tensor(void *user, void *dst, uint64_t nbytes) {
    job *j = user;
    quant_ctx *c = j->ctx;
    const int64_t n = j->src->ne[0];
    const int64_t rows = (int64_t)(j->src->n_elements / (uint64_t)n);
    const uint64_t want = (uint64_t)rows * (uint64_t)(n / wk_type_block_size(j->to)) * wk_type_size(j->to);
    if (want != nbytes) { /* a programming error: the writer sized the tensor differently */
        snprintf(c->err, sizeof c->err, "tensor '%s': %llu bytes expected, writer has %llu", j->src->name,
                 (ull)want, (ull)nbytes);
        return -1;
    }
    c->prog.tensor = j->index + 1;
    const int64_t chunk_rows = n >= CHUNK_ELEMENTS ? 1 : CHUNK_ELEMENTS / n;
    const int64_t n_chunks = (rows + chunk_rows - 1) / chunk_rows;
    int nt = c->n_threads;
    if (nt > n_chunks) nt = (int)n_chunks;
    int64_t bad_row = -1;
    int stop_all = 0; /* set when a thread runs out of memory or meets a NaN: the rest skip */
    int no_mem = 0;
    uint64_t done = 0;
#pragma omp parallel num_threads(nt)
    {
        float *buf = malloc((size_t)chunk_rows * (size_t)n * sizeof(float));
        if (!buf) {
#pragma omp atomic write
            no_mem = 1;
#pragma omp atomic write
            stop_all = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t ch = 0; ch < n_chunks; ch++) {
            int stop;
#pragma omp atomic read
            stop = stop_all;
            if (!buf || stop || g_stop) continue;
            int64_t r0 = ch * chunk_rows, r1 = r0 + chunk_rows < rows ? r0 + chunk_rows : rows;
            int64_t bad = convert_rows(j, r0, r1, buf, dst);
            if (bad >= 0) {
#pragma omp critical(quant_bad_row)
                if (bad_row < 0 || bad < bad_row) bad_row = bad;
#pragma omp atomic write
                stop_all = 1;
            }
            uint64_t d;
#pragma omp atomic capture
            d = done += (uint64_t)((r1 - r0) * n);
            if (omp_get_thread_num() == 0) progress_draw(&c->prog, c->prog.done + d, j->src->name, 0); /* only here */
        }
        free(buf);
    }
    if (g_stop) {
        c->err[0] = 0;
        return -1;
    }
    if (bad_row >= 0) {
        snprintf(c->err, sizeof c->err, "tensor '%s': row %lld holds a NaN or infinite value; cannot quantize",
                 j->src->name, (long long)bad_row);
        return -1;
    }
    if (no_mem) {
        snprintf(c->err, sizeof c->err, "tensor '%s': out of memory for the conversion buffers", j->src->name);
        return -1;
    }
    c->prog.done += (uint64_t)rows * (uint64_t)n;
    progress_draw(&c->prog, c->prog.done, j->src->name, 0);
    return 0;
}

/* ---- model hyperparameters ---------------------------------------------------------- */

/* An integer key (any integer type, or element 0 of an integer array, as llama.cpp reads
 * per-layer values). 0: absent (*v untouched), 1: read, -1: present but not a usable count. */
static int get_count(const wk_gguf *g, const char *key, int *v) {
    int64_t i = wk_gguf_find_key(g, key);
    if (i < 0) return 0;
    wk_gguf_type t = wk_gguf_kv_type(g, (uint64_t)i);
    uint64_t nbytes;
    const uint8_t *p = wk_gguf_kv_raw(g, (uint64_t)i, &nbytes);
    if (t == WK_GGUF_ARRAY) {
        uint64_t count;
        if (wk_gguf_get_arr_info(g, key, &t, &count) || count == 0) return -1;
    }
    int64_t x;
    switch (t) {
    case WK_GGUF_UINT8: x = p[0]; break;
    case WK_GGUF_INT8: x = (int8_t)p[0]; break;
    case WK_GGUF_UINT16: { uint16_t u; memcpy(&u, p, 2); x = u; break; }
    case WK_GGUF_INT16: { int16_t u; memcpy(&u, p, 2); x = u; break; }
    case WK_GGUF_UINT32: { uint32_t u; memcpy(&u, p, 4); x = u; break; }
    case WK_GGUF_INT32: { int32_t u; memcpy(&u, p, 4); x = u; break; }
    case WK_GGUF_UINT64: { uint64_t u; memcpy(&u, p, 8); x = u > INT64_MAX ? -1 : (int64_t)u; break; }
    case WK_GGUF_INT64: memcpy(&x, p, 8); break;
    default: return -1;
    }
    if (x < 0 || x > 1 << 20) return -1;
    *v = (int)x;
    return 1;
}

/* Reads what the mix rules need; fails only when the rules need a key that is missing. */
static int read_model(const wk_gguf *g, int need, char *arch, size_t arch_cap, wk_mix_model *m) {
    const char *s;
    uint64_t len;
    arch[0] = 0;
    if (!wk_gguf_get_str(g, "general.architecture", &s, &len)) {
        if (len >= arch_cap || memchr(s, 0, (size_t)len)) {
            if (need) {
                fail("general.architecture is not a plausible name; use --pure");
                return -1;
            }
        } else {
            memcpy(arch, s, (size_t)len);
            arch[len] = 0;
        }
    } else if (need) {
        fail("no general.architecture string: the %s rules need the model's layout; use --pure", "mix");
        return -1;
    }
    *m = (wk_mix_model){.arch = arch};
    struct { const char *suffix; int *v; int required; } keys[] = {
        {"block_count", &m->n_layer, 1},
        {"attention.head_count", &m->n_head, 0},
        {"attention.head_count_kv", &m->n_head_kv, 0},
        {"expert_count", &m->n_expert, 0},
    };
    int have_kv = 0;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0] && arch[0]; k++) {
        char key[160];
        snprintf(key, sizeof key, "%s.%s", arch, keys[k].suffix);
        int r = get_count(g, key, keys[k].v);
        if (r < 0 && need) {
            fail("%s: not a usable count", key);
            return -1;
        }
        if (r == 0 && keys[k].required && need) {
            fail("no %s: the mix rules need the layer count; use --pure", key);
            return -1;
        }
        if (keys[k].v == &m->n_head_kv) have_kv = r > 0;
    }
    if (!have_kv) m->n_head_kv = m->n_head;
    return 0;
}

/* ---- the command -------------------------------------------------------------------- */

static int parse_threads(const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > MAX_THREADS) return -1;
    *out = (int)v;
    return 0;
}

static int is_split_key(const char *k) {
    return !strcmp(k, "split.no") || !strcmp(k, "split.count") || !strcmp(k, "split.tensors.count");
}

/* Metadata: every key in input order; general.file_type and general.quantization_version
 * get new values in place (appended when absent, as llama.cpp appends them); split.* keys
 * of a one-shard input are dropped, the output being one file. */
static int copy_metadata(wk_gguf_writer *w, const wk_gguf *in, uint32_t ftype) {
    int have_ft = 0, have_qv = 0;
    for (uint64_t i = 0; i < wk_gguf_n_kv(in); i++) {
        const char *k = wk_gguf_kv_key(in, i);
        wk_gguf_status st;
        if (!strcmp(k, "general.file_type")) st = wk_gguf_writer_add_u32(w, k, ftype), have_ft = 1;
        else if (!strcmp(k, "general.quantization_version")) st = wk_gguf_writer_add_u32(w, k, QUANT_VERSION), have_qv = 1;
        else if (is_split_key(k)) continue;
        else st = wk_gguf_writer_copy_kv(w, in, i);
        if (st) {
            fail("%s", wk_gguf_last_error());
            return -1;
        }
    }
    if ((!have_qv && wk_gguf_writer_add_u32(w, "general.quantization_version", QUANT_VERSION)) ||
        (!have_ft && wk_gguf_writer_add_u32(w, "general.file_type", ftype))) {
        fail("%s", wk_gguf_last_error());
        return -1;
    }
    return 0;
}

/* One line per (rule type -> fallback type) pair, as llama.cpp warns per tensor. */
static void report_fallbacks(const wk_gguf *in, const wk_mix_choice *plan, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (plan[i].how != WK_MIX_FALLBACK && plan[i].how != WK_MIX_FALLBACK_F16) continue;
        size_t first = i, count = 0;
        for (size_t k = 0; k < n; k++) {
            if (plan[k].how != plan[i].how || plan[k].rule != plan[i].rule || plan[k].type != plan[i].type) continue;
            if (k < i) break; /* this pair was reported at its first tensor */
            count++;
        }
        if (!count) continue;
        const wk_gguf_tensor *t = wk_gguf_tensor_at(in, first);
        fprintf(stderr, "wick quantize: %zu tensor%s with rows that are not whole %s blocks (e.g. '%s', %lld columns): %s\n",
                count, count > 1 ? "s" : "", type_name(plan[i].rule), t->name, (long long)t->ne[0], type_name(plan[i].type));
    }
}

typedef struct {
    const char *in_path, *out_path, *type;
    int n_threads, pure, allow_requant;
} options;

static int parse_args(int argc, char **argv, options *o) {
    const char *pos[3];
    int n_pos = 0;
    *o = (options){.n_threads = omp_get_max_threads()};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) {
            if (i + 1 >= argc || parse_threads(argv[++i], &o->n_threads)) {
                fail("%s needs a thread count 1..%d", a, MAX_THREADS);
                return 2;
            }
        } else if (!strncmp(a, "--threads=", 10)) {
            if (parse_threads(a + 10, &o->n_threads)) {
                fail("--threads needs a thread count 1..%d", MAX_THREADS);
                return 2;
            }
        } else if (!strcmp(a, "--pure")) {
            o->pure = 1;
        } else if (!strcmp(a, "--allow-requantize")) {
            o->allow_requant = 1;
        } else if (a[0] == '-' && a[1]) {
            fail("unknown option '%s'; see 'wick quantize --help'", a);
            return 2;
        } else if (n_pos < 3) {
            pos[n_pos++] = a;
        } else {
            fail("too many arguments ('%s'); see 'wick quantize --help'", a);
            return 2;
        }
    }
    if (n_pos < 3) {
        usage(stderr);
        return 2;
    }
    o->in_path = pos[0], o->out_path = pos[1], o->type = pos[2];
    return -1; /* go on */
}

static uint64_t file_size_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int wk_cmd_quantize(int argc, char **argv) {
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    const wk_mix *mix = wk_mix_find(o.type);
    if (!mix) {
        fail("unknown type '%s'; see 'wick quantize --help' for the list", o.type);
        return 2;
    }

    const double t0 = now_s();
    wk_gguf *in = NULL;
    wk_gguf_writer *w = NULL;
    quant_ctx ctx = {0};
    wk_mix_tensor *mt = NULL;
    wk_mix_choice *plan = NULL;
    rc = 1;

    if (wk_gguf_open(o.in_path, &in)) {
        fail("%s", wk_gguf_last_error());
        goto done;
    }
    int n_split = 0;
    if (get_count(in, "split.count", &n_split) > 0 && n_split > 1) {
        fail("%s: shard of a %d-file split model; merge it first (llama-gguf-split --merge)", o.in_path, n_split);
        goto done;
    }
    char arch[64];
    wk_mix_model model;
    const int rules = mix->mix && !o.pure && wk_type_is_quantized(mix->base);
    if (read_model(in, rules, arch, sizeof arch, &model)) goto done;

    const size_t n = (size_t)wk_gguf_n_tensors(in);
    mt = calloc(n ? n : 1, sizeof *mt);
    plan = calloc(n ? n : 1, sizeof *plan);
    ctx.jobs = calloc(n ? n : 1, sizeof *ctx.jobs);
    if (!mt || !plan || !ctx.jobs) {
        fail("out of memory");
        goto done;
    }
    uint64_t n_elements = 0;
    for (size_t i = 0; i < n; i++) {
        const wk_gguf_tensor *t = wk_gguf_tensor_at(in, i);
        mt[i] = (wk_mix_tensor){t->name, (wk_type)t->type, {t->ne[0], t->ne[1], t->ne[2], t->ne[3]}};
        n_elements += t->n_elements;
    }
    if (wk_mix_plan(mix, o.pure, &model, mt, n, plan)) {
        fail("%s: %s", o.in_path, wk_last_error());
        goto done;
    }

    /* What needs converting, and can it be? */
    size_t n_requant = 0;
    const wk_gguf_tensor *first_requant = NULL;
    for (size_t i = 0; i < n; i++) {
        const wk_gguf_tensor *t = wk_gguf_tensor_at(in, i);
        if (plan[i].type == (wk_type)t->type) continue;
        if (!wk_quant_supported((wk_type)t->type)) {
            fail("tensor '%s': cannot convert from %s (wick has no dequantizer for it)", t->name, type_name(t->type));
            goto done;
        }
        if (wk_type_is_quantized((wk_type)t->type) && wk_type_is_quantized(plan[i].type)) { /* dequantizing is free */
            if (!first_requant) first_requant = t;
            n_requant++;
        }
    }
    report_fallbacks(in, plan, n);
    if (n_requant && !o.allow_requant) {
        fail("%s is already quantized (tensor '%s' is %s); requantizing compounds the rounding error, so it "
             "needs --allow-requantize (better: quantize from the F16/BF16/F32 original)",
             o.in_path, first_requant->name, type_name(first_requant->type));
        goto done;
    }
    if (n_requant)
        fprintf(stderr, "wick quantize: warning: %zu tensors are already quantized (e.g. '%s', %s); they are "
                "dequantized and quantized again, which loses precision\n",
                n_requant, first_requant->name, type_name(first_requant->type));

    /* The output: metadata, then tensors in input order, converted ones streamed. */
    if (wk_gguf_writer_new(&w) || copy_metadata(w, in, mix->ftype)) {
        if (!w) fail("%s", wk_gguf_last_error());
        goto done;
    }
    ctx.in = in;
    ctx.n_threads = o.n_threads;
    ctx.prog = (progress){.tty = isatty(STDERR_FILENO), .t0 = t0, .last_decile = 0, .n_tensors = n};
    for (size_t i = 0; i < n; i++) {
        const wk_gguf_tensor *t = wk_gguf_tensor_at(in, i);
        wk_gguf_status st;
        if (plan[i].type == (wk_type)t->type) {
            st = wk_gguf_writer_add_tensor_ndims(w, t->name, t->type, t->n_dims, t->ne, t->data);
        } else {
            ctx.jobs[i] = (job){&ctx, t, (wk_type)t->type, plan[i].type, i};
            ctx.prog.total += t->n_elements;
            st = wk_gguf_writer_add_tensor_fill(w, t->name, plan[i].type, t->n_dims, t->ne, fill_tensor, &ctx.jobs[i]);
        }
        if (st) {
            fail("%s", wk_gguf_last_error());
            goto done;
        }
    }
    catch_signals();
    if (wk_gguf_writer_write_file(w, o.out_path)) {
        if (ctx.prog.tty) fputc('\n', stderr);
        if (g_stop) {
            fail("interrupted; %s not written", o.out_path);
            rc = 130;
        } else {
            if (ctx.err[0]) fail("%s; %s not written", ctx.err, o.out_path);
            else fail("%s", wk_gguf_last_error());
        }
        goto done;
    }
    ctx.prog.tensor = n;
    progress_draw(&ctx.prog, ctx.prog.total, "", 1);

    /* Summary. */
    const double secs = now_s() - t0;
    const uint64_t in_size = wk_gguf_file_size(in), out_size = file_size_of(o.out_path);
    const double bpw = n_elements ? 8.0 / (double)n_elements : 0;
    printf("quantized %s -> %s as %s%s (file type %u), %d threads\n", o.in_path, o.out_path, mix->name,
           o.pure ? " --pure" : "", mix->ftype, o.n_threads);
    printf("  input : %10.2f MiB  %6.2f bits/weight\n", in_size / 1048576.0, in_size * bpw);
    printf("  output: %10.2f MiB  %6.2f bits/weight\n", out_size / 1048576.0, out_size * bpw);
    printf("  tensors: %zu:", n);
    for (uint32_t ty = 0; ty < WK_GGUF_GGML_TYPE_COUNT; ty++) {
        size_t c = 0;
        for (size_t i = 0; i < n; i++) c += (uint32_t)plan[i].type == ty;
        if (c) printf(" %s %zu", type_name(ty), c);
    }
    printf("\n  time  : %.2f s\n", secs);
    rc = 0;

done:
    wk_gguf_writer_free(w);
    wk_gguf_free(in);
    free(mt);
    free(plan);
    free(ctx.jobs);
    return rc;
}
