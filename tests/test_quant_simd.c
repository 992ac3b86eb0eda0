/* test_quant_simd.c — every quantized qgemm kernel of every ISA set this CPU can run,
 * against the scalar reference tile (wk_cpu_qgemm_scalar: a loop over wk_vec_dot), for all
 * weight types, on random rows, extreme rows (all at the maximum, random signs at the
 * maximum, zero blocks, wide scale ranges), raw random bits in the weights' quant fields,
 * K from one block to 4096 and tiles from 1x1 to 60x48 with padded strides.
 *
 * Tolerance, per output: |simd - ref| <= 2 (nb + 8) 2^-24 mag, mag = sum_e |w_e a_e| +
 * sum_e |min_e a_e| in f64 (w, a the dequantized rows; min_e the weight's min term, for
 * the types that have one). Both kernels sum the same exact integer block sums, scaled in
 * f32, over nb blocks in different orders: each is within (nb + c) eps of the sum of
 * |terms| <= mag. A wrong integer anywhere (one level off in one element) costs about
 * mag / K, far beyond this bound. Outputs outside the m x n tile must stay untouched. */
#include <stddef.h>

#include "src/quant/blocks.h"
#include "src/quant/quant.h"
#include "testutil.h"

static const wk_type k_types[] = {WK_TYPE_Q4_0, WK_TYPE_Q4_1, WK_TYPE_Q5_0, WK_TYPE_Q5_1, WK_TYPE_Q8_0,
                                  WK_TYPE_Q8_1, WK_TYPE_IQ4_NL, WK_TYPE_Q2_K, WK_TYPE_Q3_K, WK_TYPE_Q4_K,
                                  WK_TYPE_Q5_K, WK_TYPE_Q6_K, WK_TYPE_IQ4_XS};
#define N_TYPES ((int)(sizeof k_types / sizeof k_types[0]))

typedef enum { D_UNIFORM, D_WIDE, D_ALL_MAX, D_SIGN_MAX, D_RAW_BITS, N_DATA } data_kind;
static const char *const k_data_name[N_DATA] = {"uniform", "wide+zero", "all-max", "sign-max", "raw-bits"};

/* Offsets of a weight block's f16 scale fields (2 at most; -1 none): raw-bits blocks get
 * random bytes everywhere else, then finite scales here. */
static void f16_fields(wk_type t, int off[2]) {
    off[0] = 0, off[1] = -1;
    switch (t) {
    case WK_TYPE_Q4_1: off[1] = offsetof(wk_block_q4_1, m); break;
    case WK_TYPE_Q5_1: off[1] = offsetof(wk_block_q5_1, m); break;
    case WK_TYPE_Q2_K: off[0] = offsetof(wk_block_q2_K, d), off[1] = offsetof(wk_block_q2_K, dmin); break;
    case WK_TYPE_Q3_K: off[0] = offsetof(wk_block_q3_K, d); break;
    case WK_TYPE_Q4_K: off[1] = offsetof(wk_block_q4_K, dmin); break;
    case WK_TYPE_Q5_K: off[1] = offsetof(wk_block_q5_K, dmin); break;
    case WK_TYPE_Q6_K: off[0] = offsetof(wk_block_q6_K, d); break;
    default: break;
    }
}

/* The weight's min term of each element (0 for types without one): the row decoded with
 * its levels zeroed, which leaves m (Q4_1, Q5_1) or -dmin m_j (Q2_K, Q4_K, Q5_K). */
static void min_terms(wk_type t, const uint8_t *row, int64_t k, float *out) {
    const int64_t nb = k / wk_type_block_size(t);
    const size_t bs = wk_type_size(t);
    uint8_t *z = malloc(nb * bs);
    memcpy(z, row, nb * bs);
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *p = z + b * bs;
        switch (t) {
        case WK_TYPE_Q4_1: memset(((wk_block_q4_1 *)p)->qs, 0, 16); break;
        case WK_TYPE_Q5_1: memset(((wk_block_q5_1 *)p)->qs, 0, 16), memset(((wk_block_q5_1 *)p)->qh, 0, 4); break;
        case WK_TYPE_Q2_K: memset(((wk_block_q2_K *)p)->qs, 0, 64); break;
        case WK_TYPE_Q4_K: memset(((wk_block_q4_K *)p)->qs, 0, 128); break;
        case WK_TYPE_Q5_K: memset(((wk_block_q5_K *)p)->qs, 0, 128), memset(((wk_block_q5_K *)p)->qh, 0, 32); break;
        default: memset(p, 0, bs); break; /* no min: a zero block decodes to 0 */
        }
    }
    wk_dequantize_row(t, z, out, k);
    free(z);
}

static void fill_row(float *x, int64_t k, data_kind kind, int block) {
    for (int64_t e = 0; e < k; e++) {
        switch (kind) {
        case D_ALL_MAX: x[e] = 1.0f; break;
        case D_SIGN_MAX: x[e] = tu_next() & 1 ? 1.0f : -1.0f; break;
        default: x[e] = (float)tu_uniform(-1, 1); break;
        }
    }
    if (kind != D_WIDE) return;
    /* blocks scaled over 2^-12..2^12, a quarter of them zero */
    for (int64_t b0 = 0; b0 < k; b0 += block) {
        const int z = tu_int(0, 3) == 0;
        const float s = (float)ldexp(1.0, (int)tu_int(-12, 12));
        for (int64_t e = b0; e < b0 + block; e++) x[e] = z ? 0.0f : x[e] * s;
    }
}

static int fails;

/* One shape: returns the worst |err| / tolerance; counts failures. */
/* panel: run isa->qpanel[t] on the activations converted to panel rows (isa.h) instead */
static double check(const wk_isa *isa, wk_type t, int64_t k, int m, int n, data_kind kind, double *worst_rel,
                    int panel) {
    const wk_type vt = wk_vec_dot_type(t);
    const int64_t bw = wk_type_block_size(t), nb = k / bw;
    const size_t rw = (size_t)nb * wk_type_size(t), ra = (size_t)nb * wk_type_size(vt);
    const size_t lda = rw + 2 * wk_type_size(t), ldb = ra + wk_type_size(vt), ldc = (size_t)m + 3;
    uint8_t *a = malloc(lda * m), *b = malloc(ldb * n);
    float *x = malloc(sizeof(float) * k), *w = malloc(sizeof(float) * k * m), *mn = malloc(sizeof(float) * k * m);
    float *act = malloc(sizeof(float) * k * n), *c0 = malloc(sizeof(float) * ldc * n), *c1 = malloc(sizeof(float) * ldc * n);
    memset(a, 0xA5, lda * m), memset(b, 0x5A, ldb * n); /* row padding: garbage a kernel must not read */
    for (int i = 0; i < m; i++) {
        uint8_t *row = a + (size_t)i * lda;
        if (kind == D_RAW_BITS) {
            int off[2];
            f16_fields(t, off);
            for (size_t e = 0; e < rw; e++) row[e] = (uint8_t)tu_next();
            for (int64_t bi = 0; bi < nb; bi++)
                for (int f = 0; f < 2; f++) {
                    if (off[f] < 0) continue;
                    uint16_t h = wk_fp32_to_fp16((float)tu_uniform(-1, 1));
                    memcpy(row + bi * wk_type_size(t) + off[f], &h, 2);
                }
        } else {
            fill_row(x, k, kind, (int)bw);
            wk_quantize_row(t, x, row, k);
        }
        wk_dequantize_row(t, row, w + (size_t)i * k, k);
        min_terms(t, row, k, mn + (size_t)i * k);
    }
    for (int j = 0; j < n; j++) {
        fill_row(x, k, kind == D_RAW_BITS ? D_UNIFORM : kind, (int)bw);
        wk_quantize_row(vt, x, b + (size_t)j * ldb, k);
        wk_dequantize_row(vt, b + (size_t)j * ldb, act + (size_t)j * k, k);
    }
    for (size_t i = 0; i < ldc * n; i++) c0[i] = c1[i] = NAN;
    wk_cpu_qgemm_scalar(t)(k, m, n, a, lda, b, ldb, c0, ldc);
    if (panel) {
        const size_t ldp = wk_cpu_qpanel_row_size(k);
        uint8_t *bp = malloc(ldp * n);
        for (int j = 0; j < n; j++) wk_cpu_qpanel_row(vt, b + (size_t)j * ldb, k, bp + (size_t)j * ldp);
        isa->qpanel[t](k, m, n, a, lda, bp, ldp, c1, ldc);
        free(bp);
    } else {
        isa->qgemm[t](k, m, n, a, lda, b, ldb, c1, ldc);
    }

    double worst = 0;
    int bad = 0;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < (int)ldc; i++) {
            const float r = c0[(size_t)j * ldc + i], s = c1[(size_t)j * ldc + i];
            if (i >= m) { /* past the tile: untouched */
                if (!isnan(s)) bad++;
                continue;
            }
            double mag = 0;
            for (int64_t e = 0; e < k; e++) {
                const double ae = fabs(act[(size_t)j * k + e]);
                mag += fabs((double)w[(size_t)i * k + e]) * ae + fabs((double)mn[(size_t)i * k + e]) * ae;
            }
            const double tol = 2.0 * (double)(nb + 8) * 0x1p-24 * mag + 1e-30;
            const double err = fabs((double)r - (double)s);
            if (!(err <= tol)) {
                if (bad < 3)
                    printf("    %s %s K=%lld %dx%d [%d,%d]: simd %.9g ref %.9g err %.3g tol %.3g\n", isa->name,
                           wk_type_name(t), (long long)k, m, n, i, j, s, r, err, tol);
                bad++;
            }
            if (err / tol > worst) worst = err / tol;
            if (mag > 0 && err / mag > *worst_rel) *worst_rel = err / mag;
        }
    if (bad) {
        printf("  FAIL %s%s %s %s K=%lld m=%d n=%d: %d outputs wrong\n", isa->name, panel ? " panel" : "",
               wk_type_name(t), k_data_name[kind], (long long)k, m, n, bad);
        fails++;
    }
    free(a), free(b), free(x), free(w), free(mn), free(act), free(c0), free(c1);
    return worst;
}

/* Every kernel of one table that is not the scalar reference, over all shapes and data. */
static void test_table(const char *label, const wk_qgemm_fn *qgemm) {
    static const struct { int m, n; } shapes[] = {{1, 1}, {4, 1}, {3, 1}, {64, 1}, {7, 5}, {5, 2}, {13, 3}, {60, 48}};
    const int n_shapes = (int)(sizeof shapes / sizeof shapes[0]);
    printf("== %s\n", label);
    for (int ti = 0; ti < N_TYPES; ti++) {
        const wk_type t = k_types[ti];
        const int64_t bw = wk_type_block_size(t);
        if (!qgemm[t] || qgemm[t] == wk_cpu_qgemm_scalar(t)) {
            printf("  %-7s scalar fallback, nothing to compare\n", wk_type_name(t));
            continue;
        }
        wk_isa one = {.name = label};
        one.qgemm[t] = qgemm[t];
        double worst = 0, worst_rel = 0;
        int runs = 0;
        for (int d = 0; d < N_DATA; d++) {
            const int64_t ks[] = {bw, bw * 3, bw >= 256 ? 1024 : 512};
            for (int ki = 0; ki < 3; ki++)
                for (int si = 0; si < n_shapes; si++) {
                    /* the full prompt tile only at the middle K, to keep the test quick */
                    if (shapes[si].m == 60 && ki != 1) continue;
                    double r = check(&one, t, ks[ki], shapes[si].m, shapes[si].n, (data_kind)d, &worst_rel, 0);
                    worst = r > worst ? r : worst, runs++;
                }
            /* long rows: decode-like and a small tile */
            double r = check(&one, t, 4096, 8, 1, (data_kind)d, &worst_rel, 0);
            worst = r > worst ? r : worst;
            r = check(&one, t, 4096, 5, 3, (data_kind)d, &worst_rel, 0);
            worst = r > worst ? r : worst, runs += 2;
        }
        printf("  %-7s %3d shapes x data: worst err/tol %.3g, worst err/mag %.3g\n", wk_type_name(t), runs, worst,
               worst_rel);
    }
}

/* Every prompt-panel kernel of one set (isa.h qpanel): short and full 16-row panels, one
 * to 300 activation rows, K across the kernels' 32-block chunks. */
static void test_panels(const char *label, const wk_qgemm_fn *qpanel) {
    static const struct { int m, n; } shapes[] = {{1, 1}, {16, 8}, {17, 9}, {5, 13}, {60, 48}, {33, 300}};
    const int n_shapes = (int)(sizeof shapes / sizeof shapes[0]);
    int any = 0;
    for (int ti = 0; ti < N_TYPES; ti++) {
        const wk_type t = k_types[ti];
        if (!qpanel[t]) continue;
        if (!any++) printf("== %s prompt panels\n", label);
        wk_isa one = {.name = label};
        one.qpanel[t] = qpanel[t];
        double worst = 0, worst_rel = 0;
        int runs = 0;
        for (int d = 0; d < N_DATA; d++) {
            const int64_t ks[] = {32, 96, 1024, 33 * 32, 4096};
            for (int ki = 0; ki < 5; ki++)
                for (int si = 0; si < n_shapes; si++) {
                    if ((shapes[si].m * shapes[si].n > 500 || ks[ki] == 4096) && ki != 2 && !(ki == 4 && si == 2)) continue;
                    const int64_t bw = wk_type_block_size(t), kk = (ks[ki] + bw - 1) / bw * bw; /* K-quants: 256s */
                    double r = check(&one, t, kk + (bw > 32 && ki == 3 ? bw : 0), shapes[si].m, shapes[si].n,
                                     (data_kind)d, &worst_rel, 1);
                    worst = r > worst ? r : worst, runs++;
                }
        }
        printf("  %-7s %3d shapes x data: worst err/tol %.3g, worst err/mag %.3g\n", wk_type_name(t), runs, worst,
               worst_rel);
    }
}

int main(void) {
    tu_seed(7);
    /* every set this CPU runs, as chosen (missing kernels filled, hardware variants swapped in) */
    char names[128];
    snprintf(names, sizeof names, "%s", wk_cpu_isas_available());
    int n_sets = 0;
    for (char *name = strtok(names, ","); name; name = strtok(NULL, ",")) {
        if (!strcmp(name, "scalar")) continue;
        if (!wk_cpu_isa_force(name)) {
            printf("== %s: listed but cannot be forced\n", name);
            fails++;
            continue;
        }
        test_table(name, wk_cpu_isa_current()->qgemm);
        test_panels(name, wk_cpu_isa_current()->qpanel);
        n_sets++;
    }
#if defined(__x86_64__)
    /* the AVX-512 set's own kernels, which a VNNI variant replaces on CPUs that have it */
    if (wk_cpu_isa_supported("avx512")) {
        wk_cpu_isa_force("avx512");
        wk_qgemm_fn base[WK_TYPE_COUNT] = {0};
        int differ = 0;
        for (int t = 0; t < WK_TYPE_COUNT; t++)
            if (wk_cpu_isa_avx512.qgemm[t] && wk_cpu_isa_avx512.qgemm[t] != wk_cpu_isa_current()->qgemm[t])
                base[t] = wk_cpu_isa_avx512.qgemm[t], differ++;
        if (differ) test_table("avx512 (base kernels, replaced in the set chosen on this CPU)", base);
    }
#endif
    if (!n_sets) printf("no SIMD set on this CPU: nothing to compare (scalar is the reference)\n");
    printf("%s\n", fails ? "FAILED" : "all quantized SIMD kernels match the scalar reference");
    return fails ? 1 : 0;
}
