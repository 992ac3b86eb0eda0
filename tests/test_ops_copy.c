/* test_ops_copy.c — CPY, cast, CONT, GET_ROWS, SET_ROWS and CONCAT against references
 * written here: f16/bf16 rounding is recomputed in f64 (round to nearest even on the
 * value's own exponent grid, subnormals and overflow included), not by calling the
 * library's converters. Every source in each layout, destinations as real views
 * (wk_view / wk_permute nodes of a leaf), 1-3 threads, every ISA path of this CPU.
 * Outputs are poisoned before each thread-count run; bytes outside a destination view
 * must keep their sentinel. Tolerance: all checks are exact (copies and one rounding). */
#include <float.h>

#include "testutil.h"
#include "src/quant/quant.h"

static int fails;

static wk_ctx *new_ctx(void) {
    wk_ctx *ctx = NULL;
    if (wk_ctx_create(NULL, &ctx) != WK_OK) { fprintf(stderr, "ctx: %s\n", wk_last_error()); exit(2); }
    return ctx;
}

static const wk_type k_types[3] = {WK_TYPE_F32, WK_TYPE_F16, WK_TYPE_BF16};

/* ---- independent f64 reference for the f32 -> f16/bf16 conversions ------------------ */

/* v rounded to a float format with mant_bits stored mantissa bits, smallest normal
 * exponent min_exp and largest finite value max (overflow -> +-inf). */
static double round_fmt(double v, int mant_bits, int min_exp, double max) {
    if (v == 0 || isnan(v) || isinf(v)) return v;
    int e;
    frexp(v, &e); /* v = m * 2^e, 0.5 <= |m| < 1: leading bit has exponent e - 1 */
    int lead = e - 1 < min_exp ? min_exp : e - 1;
    double q = ldexp(1.0, lead - mant_bits); /* spacing of representable values here */
    double r = nearbyint(v / q) * q;         /* default rounding mode: nearest even */
    if (fabs(r) > max) return v > 0 ? INFINITY : -INFINITY;
    return r;
}
static double ref_convert(wk_type t, double v) {
    switch (t) {
    case WK_TYPE_F16: return round_fmt(v, 10, -14, 65504.0);
    case WK_TYPE_BF16: return round_fmt(v, 7, -126, 0x1.FEp127);
    default: return (float)v;
    }
}

/* exact comparison that treats +-inf as equal to themselves and reports the first miss */
static bool same(double got, double want) { return got == want || (isnan(got) && isnan(want)); }

/* Values spanning f16 subnormals (2^-24..2^-14), normals and f16 overflow (> 65504). */
static void fill_wide(wk_tensor *t) {
    TU_FOR_EACH(t, i0, i1, i2, i3) tu_set(t, i0, i1, i2, i3, tu_uniform(-1, 1) * ldexp(1.0, (int)tu_int(-26, 18)));
}

/* ---- graph helpers ---------------------------------------------------------------- */

static wk_graph *plan(wk_ctx *ctx, wk_tensor *out) {
    wk_tensor_set_output(out);
    wk_graph *g = wk_graph_new(ctx);
    wk_backend *be = NULL;
    if (!g || wk_graph_expand(g, out) != WK_OK || wk_backend_cpu_create(1, &be) != WK_OK ||
        wk_graph_compute(be, g) != WK_OK) { /* the first compute plans memory */
        printf("  plan: %s  FAIL\n", wk_last_error());
        wk_backend_free(be);
        fails++;
        return NULL;
    }
    wk_backend_free(be);
    return g;
}
static bool compute(wk_graph *g, int nth) {
    wk_backend *be = NULL;
    bool ok = wk_backend_cpu_create(nth, &be) == WK_OK && wk_graph_compute(be, g) == WK_OK;
    if (!ok) { printf("  compute: %s  FAIL\n", wk_last_error()); fails++; }
    wk_backend_free(be);
    return ok;
}
static void poison(wk_tensor *t) {
    TU_FOR_EACH(t, i0, i1, i2, i3) tu_set(t, i0, i1, i2, i3, t->type == WK_TYPE_I32 ? -7.0 : NAN);
}

/* A destination of shape ne and type t for CPY/SET_ROWS: 0 a contiguous leaf,
 * 1 a wk_view into a larger leaf (padded rows and planes), 2 a wk_permute of a leaf.
 * *root gets the leaf whose bytes hold it (filled with a sentinel of 0x5a bytes). */
static wk_tensor *make_dst(wk_ctx *ctx, wk_type t, const int64_t ne[4], int kind, wk_tensor **root) {
    wk_tensor *d;
    if (kind == 0) {
        d = *root = wk_new_tensor(ctx, t, 4, ne);
    } else if (kind == 1) {
        wk_tensor *big = *root = wk_new_tensor_4d(ctx, t, ne[0] + 2, ne[1] + 1, ne[2], ne[3] + 1);
        size_t nb[3] = {big->nb[1], big->nb[2], big->nb[3]};
        d = wk_view(ctx, big, 4, ne, nb, big->nb[0] + big->nb[1]);
    } else {
        /* axis i of the leaf becomes axis ax[i]: the leaf has ne[ax[i]] along i */
        const int ax[4] = {2, 0, 3, 1};
        wk_tensor *leaf = *root = wk_new_tensor_4d(ctx, t, ne[ax[0]], ne[ax[1]], ne[ax[2]], ne[ax[3]]);
        d = wk_permute(ctx, leaf, ax[0], ax[1], ax[2], ax[3]);
    }
    if (!d) { fprintf(stderr, "make_dst: %s\n", wk_last_error()); exit(2); }
    memset((*root)->data, 0x5a, wk_tensor_nbytes(*root));
    return d;
}
/* bytes of root not covered by view d still hold the 0x5a sentinel */
static bool gaps_intact(const wk_tensor *root, const wk_tensor *d) {
    size_t n = wk_tensor_nbytes(root), es = wk_type_size(root->type);
    unsigned char *mark = calloc(n, 1);
    TU_FOR_EACH(d, i0, i1, i2, i3) {
        size_t off = (size_t)((const char *)d->data - (const char *)root->data) + i0 * d->nb[0] + i1 * d->nb[1] +
                     i2 * d->nb[2] + i3 * d->nb[3];
        memset(mark + off, 1, es);
    }
    bool ok = true;
    for (size_t i = 0; i < n; i++)
        if (!mark[i] && ((const unsigned char *)root->data)[i] != 0x5a) ok = false;
    free(mark);
    return ok;
}

/* ---- CPY / cast / CONT --------------------------------------------------------------- */

static const int64_t k_shapes[][4] = {{9, 5, 3, 2}, {1, 3, 1, 17}, {33, 1, 2, 3}, {257, 2, 1, 1}};
#define N_SHAPES (int)(sizeof k_shapes / sizeof k_shapes[0])

static void test_cpy(void) {
    for (int ta = 0; ta < 3; ta++)
        for (int tb = 0; tb < 3; tb++) {
            int bad = 0, n = 0;
            for (int s = 0; s < N_SHAPES; s++)
                for (int la = 0; la < TU_N_LAYOUTS; la++)
                    for (int kd = 0; kd < 3; kd++) {
                        wk_ctx *ctx = new_ctx();
                        wk_tensor *a = tu_rand(ctx, k_types[ta], k_shapes[s], (tu_layout)la, 0, 0);
                        fill_wide(a);
                        wk_tensor *root, *b = make_dst(ctx, k_types[tb], k_shapes[s], kd, &root);
                        wk_tensor *y = wk_cpy(ctx, a, b);
                        wk_graph *g = y ? plan(ctx, y) : NULL;
                        if (!g) { bad++; wk_ctx_free(ctx); continue; }
                        for (int nth = 1; nth <= 3; nth++) {
                            poison(b);
                            if (!compute(g, nth)) { bad++; continue; }
                            TU_FOR_EACH(a, i0, i1, i2, i3) {
                                double want = ref_convert(k_types[tb], tu_get(a, i0, i1, i2, i3));
                                if (!same(tu_get(b, i0, i1, i2, i3), want) || !same(tu_get(y, i0, i1, i2, i3), want))
                                    bad++;
                            }
                            if (!gaps_intact(root, b)) bad++;
                            n++;
                        }
                        wk_ctx_free(ctx);
                    }
            printf("  cpy %-4s -> %-4s %d shapes x 3 src layouts x dst leaf/view/permute x 1-3 threads (%d runs): %s\n",
                   wk_type_name(k_types[ta]), wk_type_name(k_types[tb]), N_SHAPES, n, bad ? "FAIL" : "exact");
            fails += bad;
        }
}

static void test_cast_cont(void) {
    int bad = 0, n = 0;
    for (int ta = 0; ta < 4; ta++) /* f32, f16, bf16, and i32 for cont */
        for (int s = 0; s < N_SHAPES; s++)
            for (int la = 0; la < TU_N_LAYOUTS; la++)
                for (int tb = 0; tb < 4; tb++) {
                    bool cont = tb == 3; /* tb 0-2: cast to that type; 3: cont */
                    if (ta == 3 && !cont) continue;
                    wk_ctx *ctx = new_ctx();
                    wk_type t = ta == 3 ? WK_TYPE_I32 : k_types[ta];
                    wk_tensor *a = tu_rand(ctx, t, k_shapes[s], (tu_layout)la, -1000, 1000);
                    if (t != WK_TYPE_I32) fill_wide(a);
                    wk_tensor *y = cont ? wk_cont(ctx, a) : wk_cast(ctx, a, k_types[tb]);
                    wk_graph *g = y ? plan(ctx, y) : NULL;
                    if (!g) { bad++; wk_ctx_free(ctx); continue; }
                    if (!wk_tensor_is_contiguous(y) || y->type != (cont ? t : k_types[tb])) bad++;
                    for (int nth = 1; nth <= 3; nth++) {
                        poison(y);
                        if (!compute(g, nth)) { bad++; continue; }
                        TU_FOR_EACH(a, i0, i1, i2, i3) {
                            double v = tu_get(a, i0, i1, i2, i3);
                            if (!same(tu_get(y, i0, i1, i2, i3), cont ? v : ref_convert(k_types[tb], v))) bad++;
                        }
                        n++;
                    }
                    wk_ctx_free(ctx);
                }
    printf("  cast f32/f16/bf16 x 3 targets, cont f32/f16/bf16/i32: %d runs, 3 layouts, 1-3 threads: %s\n", n,
           bad ? "FAIL" : "exact");
    fails += bad;

    /* a reshaping cpy: element k of a in logical order to element k of b, f32 -> f16 */
    bad = 0;
    {
        wk_ctx *ctx = new_ctx();
        wk_tensor *a = tu_rand(ctx, WK_TYPE_F32, (int64_t[]){6, 4, 5, 1}, TU_PERMUTED, -1, 1);
        wk_tensor *root, *b = make_dst(ctx, WK_TYPE_F16, (int64_t[]){8, 5, 1, 3}, 1, &root);
        wk_tensor *y = wk_cpy(ctx, a, b);
        wk_graph *g = y ? plan(ctx, y) : NULL;
        for (int nth = 1; g && nth <= 3; nth++) {
            poison(b);
            if (!compute(g, nth)) { bad++; continue; }
            double *va = malloc(sizeof(double) * 120), *vb = malloc(sizeof(double) * 120);
            int64_t ka = 0, kb = 0;
            TU_FOR_EACH(a, i0, i1, i2, i3) va[ka++] = tu_get(a, i0, i1, i2, i3);
            TU_FOR_EACH(b, i0, i1, i2, i3) vb[kb++] = tu_get(b, i0, i1, i2, i3);
            for (int k = 0; k < 120; k++)
                if (!same(vb[k], ref_convert(WK_TYPE_F16, va[k]))) bad++;
            if (!gaps_intact(root, b)) bad++;
            free(va);
            free(vb);
        }
        if (!g) bad++;
        wk_ctx_free(ctx);
    }
    printf("  cpy [6,4,5,1] permuted f32 -> [8,5,1,3] f16 view, logical order, 1-3 threads: %s\n", bad ? "FAIL" : "exact");
    fails += bad;
}

/* Rounding edge cases the random fill rarely hits, f32 -> f16 and f32 -> bf16 through a
 * padded destination view: exact ties (round half to even, both directions), f16
 * subnormals and their ties, the largest finite values and the first value that
 * overflows, +-0, +-inf and NaN (must stay NaN). Checked exactly against ref_convert and, bit for bit,
 * against the library's wk_fp32_to_fp16 / wk_fp32_to_bf16. */
static void test_cpy_special(void) {
    const float xs[] = {1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, -(1.0f + 0x1p-11f), 2049.0f, 2051.0f, /* f16 ties */
                        1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 257.0f, 259.0f, -(1.0f + 0x1p-8f),  /* bf16 ties */
                        0x1p-24f, 0x1p-25f, 3 * 0x1p-25f, 0x1p-26f, 0x1p-14f, 0x1.ff8p-15f,      /* f16 subnormals */
                        65504.0f, 65519.0f, 65520.0f, -65520.0f, 0x1.FEp127f, 0x1.FFp127f, FLT_MAX, /* overflow */
                        0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-45f, -3.14159f};
    const int64_t nx = (int64_t)(sizeof xs / sizeof xs[0]);
    for (int tb = 1; tb < 3; tb++) {
        int bad = 0;
        for (int nth = 1; nth <= 3; nth++) {
            wk_ctx *ctx = new_ctx();
            wk_tensor *a = wk_new_tensor_1d(ctx, WK_TYPE_F32, nx);
            memcpy(a->data, xs, sizeof xs);
            wk_tensor *root, *b = make_dst(ctx, k_types[tb], (int64_t[]){nx, 1, 1, 1}, 1, &root);
            wk_tensor *y = wk_cpy(ctx, a, b);
            wk_graph *g = y ? plan(ctx, y) : NULL;
            if (!g) { bad++; wk_ctx_free(ctx); continue; }
            poison(b);
            if (!compute(g, nth)) bad++;
            for (int64_t i = 0; i < nx; i++) {
                double got = tu_get(b, i, 0, 0, 0), want = ref_convert(k_types[tb], xs[i]);
                uint16_t bits = *(const uint16_t *)((const char *)b->data + i * b->nb[0]);
                uint16_t lib = tb == 1 ? wk_fp32_to_fp16(xs[i]) : wk_fp32_to_bf16(xs[i]);
                bool ok = same(got, want) && (bits == lib || (isnan(got) && isnan(xs[i])));
                if (!ok || signbit(got) != signbit(want)) {
                    if (!(isnan(got) && isnan(want))) {
                        printf("    f32 %a -> %s: got %a (0x%04x) want %a (lib 0x%04x)\n", (double)xs[i],
                               wk_type_name(k_types[tb]), got, bits, want, lib);
                        bad++;
                    }
                }
            }
            if (!gaps_intact(root, b)) bad++;
            wk_ctx_free(ctx);
        }
        printf("  cpy f32 -> %-4s %lld edge values (ties, subnormals, overflow, +-0, inf, NaN) x 1-3 threads: %s\n",
               wk_type_name(k_types[tb]), (long long)nx, bad ? "FAIL" : "exact");
        fails += bad;
    }
}

/* ---- GET_ROWS -------------------------------------------------------------------------- */

/* Out-of-range indices (negative, >= n_rows) give rows of zeros (copy.c). */
static void test_get_rows(void) {
    const int64_t a_ne[4] = {7, 10, 2, 3};
    const int32_t ids[5] = {3, 3, 0, 9, 4}; /* repeated, first and last row */
    for (int t = 0; t < 3; t++) {
        int bad = 0, n = 0;
        for (int la = 0; la < TU_N_LAYOUTS; la++)
            for (int li = 0; li < TU_N_LAYOUTS; li++) {
                wk_ctx *ctx = new_ctx();
                wk_tensor *a = tu_rand(ctx, k_types[t], a_ne, (tu_layout)la, -2, 2);
                wk_tensor *idx = tu_rand(ctx, WK_TYPE_I32, (int64_t[]){5, 2, 3, 1}, (tu_layout)li, 0, 0);
                TU_FOR_EACH(idx, i0, i1, i2, i3) {
                    int32_t v = ids[(i0 + i1 + 2 * i2) % 5];
                    if (i1 == 1 && i2 == 2 && i0 == 1) v = -1; /* out of range both ways */
                    if (i1 == 0 && i2 == 1 && i0 == 4) v = 10;
                    tu_set(idx, i0, i1, i2, i3, v);
                }
                wk_tensor *y = wk_get_rows(ctx, a, idx);
                wk_graph *g = y ? plan(ctx, y) : NULL;
                if (!g) { bad++; wk_ctx_free(ctx); continue; }
                for (int nth = 1; nth <= 3; nth++) {
                    poison(y);
                    if (!compute(g, nth)) { bad++; continue; }
                    TU_FOR_EACH(y, i0, i1, i2, i3) {
                        int32_t row = (int32_t)tu_get(idx, i1, i2, i3, 0);
                        double want = row < 0 || row >= a_ne[1] ? 0.0 : tu_get(a, i0, row, i2, i3);
                        if (!same(tu_get(y, i0, i1, i2, i3), want)) bad++;
                    }
                    n++;
                }
                wk_ctx_free(ctx);
            }
        printf("  get_rows %-4s a 3 layouts x idx 3 layouts x 1-3 threads (%d runs), repeated/out-of-range ids: %s\n",
               wk_type_name(k_types[t]), n, bad ? "FAIL" : "exact");
        fails += bad;
    }
}

/* ---- SET_ROWS -------------------------------------------------------------------------- */

/* Out-of-range indices are skipped; a row named twice gets the last source row (copy.c). */
static void test_set_rows(void) {
    const int64_t d_ne[4] = {7, 10, 2, 3}, s_ne[4] = {7, 5, 2, 3};
    for (int t = 0; t < 3; t++) {
        int bad = 0, n = 0;
        for (int kd = 0; kd < 3; kd++)
            for (int ls = 0; ls < TU_N_LAYOUTS; ls++) {
                wk_ctx *ctx = new_ctx();
                wk_tensor *root, *d = make_dst(ctx, k_types[t], d_ne, kd, &root);
                tu_fill(d, -2, 2);
                wk_tensor *src = tu_rand(ctx, WK_TYPE_F32, s_ne, (tu_layout)ls, -2, 2);
                wk_tensor *idx = wk_new_tensor_3d(ctx, WK_TYPE_I32, 5, 2, 3);
                const int32_t pat[6][5] = {{8, 2, 0, 5, 9}, {1, 1, 4, 1, 7}, {-1, 3, 10, 6, 2},
                                           {0, 9, 9, 12, 3}, {5, 4, 3, 2, 1}, {7, -5, 7, 0, 7}};
                memcpy(idx->data, pat, sizeof pat);
                wk_tensor *y = wk_set_rows(ctx, d, src, idx);
                wk_graph *g = y ? plan(ctx, y) : NULL;
                if (!g) { bad++; wk_ctx_free(ctx); continue; }
                /* reference: the destination's values before, with the last write per row */
                double *want = malloc(sizeof(double) * 420);
                TU_FOR_EACH(d, i0, i1, i2, i3) want[i0 + 7 * (i1 + 10 * (i2 + 2 * i3))] = tu_get(d, i0, i1, i2, i3);
                double *orig = malloc(sizeof(double) * 420);
                memcpy(orig, want, sizeof(double) * 420);
                for (int64_t i3 = 0; i3 < 3; i3++)
                    for (int64_t i2 = 0; i2 < 2; i2++)
                        for (int64_t r = 0; r < 5; r++) {
                            int32_t row = pat[i2 + 2 * i3][r];
                            if (row < 0 || row >= 10) continue;
                            for (int64_t i0 = 0; i0 < 7; i0++)
                                want[i0 + 7 * (row + 10 * (i2 + 2 * i3))] =
                                    ref_convert(k_types[t], tu_get(src, i0, r, i2, i3));
                        }
                for (int nth = 1; nth <= 3; nth++) {
                    /* restore the destination, poisoning the rows that will be written */
                    TU_FOR_EACH(d, i0, i1, i2, i3) {
                        int64_t k = i0 + 7 * (i1 + 10 * (i2 + 2 * i3));
                        tu_set(d, i0, i1, i2, i3, want[k] == orig[k] ? orig[k] : NAN);
                    }
                    if (!compute(g, nth)) { bad++; continue; }
                    TU_FOR_EACH(d, i0, i1, i2, i3)
                        if (!same(tu_get(d, i0, i1, i2, i3), want[i0 + 7 * (i1 + 10 * (i2 + 2 * i3))])) bad++;
                    if (!gaps_intact(root, d)) bad++;
                    n++;
                }
                free(want);
                free(orig);
                wk_ctx_free(ctx);
            }
        printf("  set_rows f32 -> %-4s dst leaf/view/permute x src 3 layouts x 1-3 threads (%d runs), repeats: %s\n",
               wk_type_name(k_types[t]), n, bad ? "FAIL" : "exact");
        fails += bad;
    }
}

/* SET_ROWS into a q8_0 destination (the quantized KV cache): each written row must be
 * byte-identical to the reference quantizer's output for the source row, other rows
 * untouched, with 1-3 threads. */
static void test_set_rows_q8_0(void) {
    int bad = 0;
    for (int nth = 1; nth <= 3; nth++) {
        wk_ctx *ctx = new_ctx();
        wk_tensor *d = wk_new_tensor_2d(ctx, WK_TYPE_Q8_0, 64, 9);
        const int64_t s_ne[4] = {64, 4, 1, 1};
        wk_tensor *src = tu_rand(ctx, WK_TYPE_F32, s_ne, TU_CONTIG, -3, 3);
        wk_tensor *idx = wk_new_tensor_1d(ctx, WK_TYPE_I32, 4);
        const int32_t rows[4] = {7, 0, 3, 12}; /* 12 is out of range: skipped */
        memcpy(idx->data, rows, sizeof rows);
        memset(d->data, 0x5a, wk_tensor_nbytes(d));
        wk_tensor *y = wk_set_rows(ctx, d, src, idx);
        wk_graph *g = y ? plan(ctx, y) : NULL;
        if (!g || !compute(g, nth)) { bad++; wk_ctx_free(ctx); continue; }
        const size_t rb = d->nb[1];
        unsigned char want[2 * 34];
        for (int r = 0; r < 9; r++) {
            const unsigned char *got = (const unsigned char *)d->data + r * rb;
            int k = -1;
            for (int i = 0; i < 3; i++)
                if (rows[i] == r) k = i;
            if (k >= 0) {
                wk_quantize_row(WK_TYPE_Q8_0, (const float *)src->data + k * 64, want, 64);
                if (memcmp(got, want, rb)) bad++;
            } else {
                for (size_t b = 0; b < rb; b++) bad += got[b] != 0x5a;
            }
        }
        wk_ctx_free(ctx);
    }
    /* a non-contiguous source row cannot be quantized in place: refused */
    wk_ctx *ctx = new_ctx();
    wk_tensor *d = wk_new_tensor_2d(ctx, WK_TYPE_Q8_0, 32, 4);
    const int64_t s_ne[4] = {32, 2, 1, 1};
    wk_tensor *src = tu_rand(ctx, WK_TYPE_F32, s_ne, TU_PERMUTED, -1, 1);
    wk_tensor *idx = wk_new_tensor_1d(ctx, WK_TYPE_I32, 2);
    if (src->nb[0] != sizeof(float) && wk_set_rows(ctx, d, src, idx)) bad++;
    wk_ctx_free(ctx);
    printf("  set_rows f32 -> q8_0 rows vs the reference quantizer, 1-3 threads: %s\n", bad ? "FAIL" : "exact");
    fails += bad;
}

/* ---- CONCAT ---------------------------------------------------------------------------- */

static void test_concat(void) {
    static const int64_t bases[2][4] = {{5, 4, 3, 2}, {1, 3, 1, 17}};
    for (int c = 0; c < 8; c++) {
        const int dim = c % 4;
        int bad = 0, n = 0;
        int64_t na[4], nb[4];
        memcpy(na, bases[c / 4], sizeof na);
        memcpy(nb, bases[c / 4], sizeof nb);
        nb[dim] = dim == 1 ? 1 : 3;
        for (int la = 0; la < TU_N_LAYOUTS; la++)
            for (int lb = 0; lb < TU_N_LAYOUTS; lb++) {
                wk_ctx *ctx = new_ctx();
                wk_tensor *a = tu_rand(ctx, WK_TYPE_F32, na, (tu_layout)la, -1, 1);
                wk_tensor *b = tu_rand(ctx, WK_TYPE_F32, nb, (tu_layout)lb, -1, 1);
                wk_tensor *y = wk_concat(ctx, a, b, dim);
                wk_graph *g = y ? plan(ctx, y) : NULL;
                if (!g) { bad++; wk_ctx_free(ctx); continue; }
                for (int nth = 1; nth <= 3; nth++) {
                    poison(y);
                    if (!compute(g, nth)) { bad++; continue; }
                    TU_FOR_EACH(y, i0, i1, i2, i3) {
                        int64_t i[4] = {i0, i1, i2, i3};
                        const wk_tensor *s = i[dim] < na[dim] ? a : b;
                        if (s == b) i[dim] -= na[dim];
                        if (!same(tu_get(y, i0, i1, i2, i3), tu_get(s, i[0], i[1], i[2], i[3]))) bad++;
                    }
                    n++;
                }
                wk_ctx_free(ctx);
            }
        printf("  concat dim %d [%lld,%lld,%lld,%lld] + [%lld,%lld,%lld,%lld], 3x3 layouts x 1-3 threads (%d runs): %s\n", dim,
               (long long)na[0], (long long)na[1], (long long)na[2], (long long)na[3], (long long)nb[0], (long long)nb[1], (long long)nb[2], (long long)nb[3], n, bad ? "FAIL" : "exact");
        fails += bad;
    }
}

int main(void) {
    /* the reference rounding itself, on known values */
    if (ref_convert(WK_TYPE_F16, 1.0 + 0x1p-11) != 1.0 || ref_convert(WK_TYPE_F16, 1.0 + 3 * 0x1p-11) != 1.0 + 0x1p-9 ||
        ref_convert(WK_TYPE_F16, 0x1p-25 * 3) != 0x1p-23 || ref_convert(WK_TYPE_F16, 65520.0) != INFINITY ||
        ref_convert(WK_TYPE_BF16, 1.0 + 0x1p-8) != 1.0) {
        printf("reference rounding self-check FAILED\n");
        return 1;
    }
    for (int i = 0; i < TU_N_ISAS; i++) {
        const char *isa = tu_isas[i];
        if (!tu_use_isa(isa)) {
            printf("%s: not available on this CPU, skipped\n", isa);
            continue;
        }
        /* a set still being written reports "<name>-pending": these ops use no ISA kernel,
         * so run them on scalar rather than on a placeholder */
        const char *name = wk_cpu_isa_current()->name;
        size_t len = strlen(name);
        if (len > 8 && strcmp(name + len - 8, "-pending") == 0) {
            printf("== isa %s is a placeholder (%s): running on scalar\n", isa, name);
            tu_use_isa("scalar");
        } else {
            printf("== isa %s\n", isa);
        }
        tu_seed(4321);
        test_cpy();
        test_cpy_special();
        test_cast_cont();
        test_get_rows();
        test_set_rows();
        test_set_rows_q8_0();
        test_concat();
    }
    printf("%s (%d failed checks)\n", fails ? "FAILED" : "all copy checks passed", fails);
    return fails ? 1 : 0;
}
