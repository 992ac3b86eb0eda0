/* copy.c — CPY (convert between f32/f16/bf16 into any layout), CONT, GET_ROWS, SET_ROWS,
 * CONCAT. CPY maps element k of the source (logical row-major order) to element k of the
 * destination, so a copy may also reshape. Row indices out of range cannot be reported
 * from a kernel: GET_ROWS writes zeros for them and SET_ROWS skips them (a row named
 * twice in SET_ROWS gets the last source row naming it). */
#include <string.h>

#include "../cpu_internal.h"

/* Decompose a flat logical index into (i0, i1, i2, i3) of t. */
static inline const char *elem_at(const wk_tensor *t, int64_t k) {
    int64_t i0 = k % t->ne[0];
    k /= t->ne[0];
    int64_t i1 = k % t->ne[1];
    k /= t->ne[1];
    int64_t i2 = k % t->ne[2], i3 = k / t->ne[2];
    return (const char *)t->data + i0 * t->nb[0] + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3];
}

static void copy_elements(const wk_cpu_params *p, const wk_tensor *a, wk_tensor *dst) {
    const int64_t n = wk_tensor_nelements(dst);
    int64_t lo, hi;
    wk_cpu_range(n, p, &lo, &hi);
    if (a->type == dst->type && wk_tensor_is_contiguous(a) && wk_tensor_is_contiguous(dst)) {
        size_t es = wk_type_size(a->type);
        memcpy((char *)dst->data + lo * es, (const char *)a->data + lo * es, (size_t)(hi - lo) * es);
        return;
    }
    if (wk_tensor_same_shape(a, dst)) { /* the usual case: same shape, other strides/type */
        const size_t es = wk_type_size(a->type);
        wk_cpu_range(wk_nrows(dst), p, &lo, &hi);
        for (int64_t r = lo; r < hi; r++) {
            int64_t i1 = r % a->ne[1], i2 = (r / a->ne[1]) % a->ne[2], i3 = r / (a->ne[1] * a->ne[2]);
            const char *x = (const char *)a->data + i1 * a->nb[1] + i2 * a->nb[2] + i3 * a->nb[3];
            char *y = (char *)dst->data + i1 * dst->nb[1] + i2 * dst->nb[2] + i3 * dst->nb[3];
            if (a->type == dst->type && a->nb[0] == es && dst->nb[0] == es) {
                memcpy(y, x, (size_t)a->ne[0] * es);
            } else if (a->type == dst->type) {
                for (int64_t i0 = 0; i0 < a->ne[0]; i0++) memcpy(y + i0 * dst->nb[0], x + i0 * a->nb[0], es);
            } else {
                for (int64_t i0 = 0; i0 < a->ne[0]; i0++)
                    wk_cpu_store_f(dst->type, y, i0, dst->nb[0], wk_cpu_load_f(a->type, x, i0, a->nb[0]));
            }
        }
        return;
    }
    for (int64_t k = lo; k < hi; k++) { /* a reshaping copy: element k to element k */
        const char *x = elem_at(a, k);
        char *y = (char *)elem_at(dst, k);
        if (a->type == dst->type) memcpy(y, x, wk_type_size(a->type));
        else wk_cpu_store_f(dst->type, y, 0, 0, wk_cpu_load_f(a->type, x, 0, 0));
    }
}

void wk_cpu_CPY(const wk_cpu_params *p, wk_tensor *dst) { copy_elements(p, dst->src[0], dst); }
void wk_cpu_CONT(const wk_cpu_params *p, wk_tensor *dst) { copy_elements(p, dst->src[0], dst); }

void wk_cpu_GET_ROWS(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0], *idx = dst->src[1];
    const int64_t n0 = a->ne[0], n = dst->ne[1] * dst->ne[2] * dst->ne[3];
    int64_t lo, hi;
    wk_cpu_range(n, p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        int64_t i1 = r % dst->ne[1], i2 = (r / dst->ne[1]) % dst->ne[2], i3 = r / (dst->ne[1] * dst->ne[2]);
        int32_t row = *(const int32_t *)((const char *)idx->data + i1 * idx->nb[0] + i2 * idx->nb[1] + i3 * idx->nb[2]);
        float *y = (float *)((char *)dst->data + i1 * dst->nb[1] + i2 * dst->nb[2] + i3 * dst->nb[3]);
        if (row < 0 || row >= a->ne[1]) {
            memset(y, 0, (size_t)n0 * sizeof(float));
            continue;
        }
        const char *x = (const char *)a->data + row * a->nb[1] + i2 * a->nb[2] + i3 * a->nb[3];
        if (wk_type_block_size(a->type) > 1) wk_dequantize_row(a->type, x, y, n0); /* quantized rows are contiguous blocks */
        else
            for (int64_t i0 = 0; i0 < n0; i0++) y[i0] = wk_cpu_load_f(a->type, x, i0, a->nb[0]);
    }
}

/* Threads split the destination rows, not the source rows: each scans every index and
 * writes only the rows it owns, so a row named twice is never written by two threads at
 * once and the last source row naming it wins, whatever the thread count. */
void wk_cpu_SET_ROWS(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *src = dst->src[1], *idx = dst->src[2];
    const int64_t n0 = src->ne[0], n = src->ne[1] * src->ne[2] * src->ne[3];
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(dst), p, &lo, &hi);
    for (int64_t r = 0; r < n && lo < hi; r++) {
        int64_t i1 = r % src->ne[1], i2 = (r / src->ne[1]) % src->ne[2], i3 = r / (src->ne[1] * src->ne[2]);
        int32_t row = *(const int32_t *)((const char *)idx->data + i1 * idx->nb[0] + i2 * idx->nb[1] + i3 * idx->nb[2]);
        if (row < 0 || row >= dst->ne[1]) continue;
        int64_t flat = row + dst->ne[1] * (i2 + dst->ne[2] * i3); /* this row among dst's rows */
        if (flat < lo || flat >= hi) continue;
        const char *x = (const char *)src->data + i1 * src->nb[1] + i2 * src->nb[2] + i3 * src->nb[3];
        char *y = (char *)dst->data + row * dst->nb[1] + i2 * dst->nb[2] + i3 * dst->nb[3];
        if (wk_type_block_size(dst->type) > 1) { /* q8_0 KV cache: quantize the row (contiguous, ops.c) */
            wk_quantize_row(dst->type, (const float *)x, y, n0);
            continue;
        }
        for (int64_t i0 = 0; i0 < n0; i0++)
            wk_cpu_store_f(dst->type, y, i0, dst->nb[0], *(const float *)(x + i0 * src->nb[0]));
    }
}

void wk_cpu_CONCAT(const wk_cpu_params *p, wk_tensor *dst) {
    const wk_tensor *a = dst->src[0], *b = dst->src[1];
    const int dim = dst->op_params[0];
    int64_t lo, hi;
    wk_cpu_range(wk_nrows(dst), p, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        int64_t i[4] = {0, r % dst->ne[1], (r / dst->ne[1]) % dst->ne[2], r / (dst->ne[1] * dst->ne[2])};
        float *y = (float *)((char *)dst->data + i[1] * dst->nb[1] + i[2] * dst->nb[2] + i[3] * dst->nb[3]);
        for (i[0] = 0; i[0] < dst->ne[0]; i[0]++) {
            const wk_tensor *s = i[dim] < a->ne[dim] ? a : b;
            int64_t j[4] = {i[0], i[1], i[2], i[3]};
            if (s == b) j[dim] -= a->ne[dim];
            y[i[0]] = *(const float *)((const char *)s->data + j[0] * s->nb[0] + j[1] * s->nb[1] + j[2] * s->nb[2] +
                                       j[3] * s->nb[3]);
        }
    }
}
