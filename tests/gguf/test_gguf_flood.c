/* test_gguf_flood.c — a hostile file whose keys and tensor names all collide in the low bits
 * of plain FNV-1a (the hash the reader's uniqueness sets used before they were seeded) must
 * still open in about linear time. FNV-1a's low K state bits depend only on the low K bits
 * of the state and input, so a pair of 4-byte blocks that collide there from one state can be
 * chained: m chained pairs give 2^m distinct names in one bucket, which made the duplicate
 * check quadratic (2^17 keys: tens of seconds). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gguf.h"

#define K 20 /* colliding low bits: >= log2 of the largest table the reader builds here */
#define FNV_BASIS 1469598103934665603ull
#define FNV_PRIME 1099511628211ull

static uint64_t fnv_step(uint64_t h, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

/* Finds m pairs of 4-letter blocks; from state h either block of pair j leads to the same
 * low-K state, so every choice sequence collides. pairs[j][0..1] are the two blocks. */
static int find_chain(uint64_t h, int m, char (*pairs)[2][4]) {
    const uint64_t mask = (1ull << K) - 1;
    int32_t *seen = malloc(sizeof(int32_t) << K);
    if (!seen) return -1;
    for (int j = 0; j < m; j++) {
        memset(seen, 0xff, sizeof(int32_t) << K);
        int found = 0;
        for (int32_t c = 0; c < 26 * 26 * 26 * 26 && !found; c++) {
            uint8_t b[4] = {(uint8_t)('a' + c % 26), (uint8_t)('a' + c / 26 % 26), (uint8_t)('a' + c / 676 % 26),
                            (uint8_t)('a' + c / 17576)};
            uint64_t s = fnv_step(h, b, 4) & mask;
            if (seen[s] >= 0) {
                int32_t o = seen[s];
                uint8_t ob[4] = {(uint8_t)('a' + o % 26), (uint8_t)('a' + o / 26 % 26), (uint8_t)('a' + o / 676 % 26),
                                 (uint8_t)('a' + o / 17576)};
                memcpy(pairs[j][0], ob, 4);
                memcpy(pairs[j][1], b, 4);
                h = fnv_step(h, b, 4); /* low K bits are the same whichever block is taken */
                found = 1;
            } else {
                seen[s] = c;
            }
        }
        if (!found) { free(seen); return -1; }
    }
    free(seen);
    return 0;
}

/* i-th name: prefix, then block pairs[j][bit j of i] */
static size_t make_name(char *out, const char *prefix, int m, char (*pairs)[2][4], uint64_t i) {
    size_t n = strlen(prefix);
    memcpy(out, prefix, n);
    for (int j = 0; j < m; j++, n += 4) memcpy(out + n, pairs[j][(i >> j) & 1], 4);
    return n;
}

typedef struct { uint8_t *p; size_t n, cap; } buf;
static void put(buf *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) { fprintf(stderr, "out of memory\n"); exit(2); }
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}
static void put_u32(buf *b, uint32_t v) { uint8_t x[4]; for (int i = 0; i < 4; i++) x[i] = (uint8_t)(v >> 8 * i); put(b, x, 4); }
static void put_u64(buf *b, uint64_t v) { uint8_t x[8]; for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> 8 * i); put(b, x, 8); }

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(void) {
    enum { MK = 17, MT = 14 }; /* 131072 keys; 16384 tensors (names <= 63 bytes) */
    static char kp[MK][2][4], tp[MT][2][4];
    const char *kpre = "k.", *tpre = "t.";
    if (find_chain(fnv_step(FNV_BASIS, (const uint8_t *)kpre, 2), MK, kp) ||
        find_chain(fnv_step(FNV_BASIS, (const uint8_t *)tpre, 2), MT, tp)) {
        printf("FAIL: could not build the collision chains\n");
        return 1;
    }
    const uint64_t nk = 1ull << MK, nt = 1ull << MT;
    char name[128];
    /* check the construction: every name has the same low K bits under plain FNV-1a */
    uint64_t h0 = fnv_step(FNV_BASIS, (const uint8_t *)name, make_name(name, kpre, MK, kp, 0)) & ((1ull << K) - 1);
    uint64_t hl = fnv_step(FNV_BASIS, (const uint8_t *)name, make_name(name, kpre, MK, kp, nk - 1)) & ((1ull << K) - 1);
    if (h0 != hl) {
        printf("FAIL: construction: names do not collide\n");
        return 1;
    }
    buf b = {0};
    put(&b, "GGUF", 4);
    put_u32(&b, 3);
    put_u64(&b, nt);
    put_u64(&b, nk);
    for (uint64_t i = 0; i < nk; i++) {
        size_t n = make_name(name, kpre, MK, kp, i);
        put_u64(&b, n);
        put(&b, name, n);
        put_u32(&b, 0); /* UINT8 */
        put(&b, "\x01", 1);
    }
    for (uint64_t i = 0; i < nt; i++) {
        size_t n = make_name(name, tpre, MT, tp, i);
        put_u64(&b, n);
        put(&b, name, n);
        put_u32(&b, 1);  /* n_dims */
        put_u64(&b, 8);  /* ne[0] */
        put_u32(&b, 0);  /* F32 */
        put_u64(&b, i * 32);
    }
    while (b.n % 32) put(&b, "", 1);
    static const uint8_t zero[32];
    for (uint64_t i = 0; i < nt; i++) put(&b, zero, 32);

    double t0 = now();
    wk_gguf *g = NULL;
    wk_gguf_status st = wk_gguf_open_memory(b.p, b.n, "flood.gguf", &g);
    double t1 = now();
    int ok = st == WK_GGUF_OK && wk_gguf_n_kv(g) == nk && wk_gguf_n_tensors(g) == nt;
    /* every lookup finds its own record */
    for (uint64_t i = 0; ok && i < nk; i += 997) {
        name[make_name(name, kpre, MK, kp, i)] = 0;
        ok = wk_gguf_find_key(g, name) == (int64_t)i;
    }
    for (uint64_t i = 0; ok && i < nt; i += 97) {
        name[make_name(name, tpre, MT, tp, i)] = 0;
        ok = wk_gguf_find_tensor(g, name) == (int64_t)i;
    }
    /* a duplicate among the colliding names is still found */
    if (ok) {
        wk_gguf_free(g);
        g = NULL;
        size_t n = make_name(name, kpre, MK, kp, 12345);
        memcpy(b.p + 24 + 8 + (size_t)(nk - 1) * (8 + n + 5), name, n); /* last key := key 12345 */
        st = wk_gguf_open_memory(b.p, b.n, "flood.gguf", &g);
        ok = st == WK_GGUF_E_FORMAT && strstr(wk_gguf_last_error(), "(keys 12345 and 131071)") != NULL;
        if (!ok) printf("duplicate not reported: %s\n", wk_gguf_last_error());
    }
    double t2 = now();
    /* linear work here is a few tens of ms (even under ASan); the quadratic case took > 10 s */
    int fast = t1 - t0 < 5.0;
    printf("%s: %llu keys and %llu tensor names colliding in the low %d bits of FNV-1a (%zu bytes): "
           "open %.3f s, lookups + duplicate check %.3f s%s\n",
           ok && fast ? "ok" : "FAIL", (unsigned long long)nk, (unsigned long long)nt, K, b.n, t1 - t0, t2 - t1,
           fast ? "" : " (too slow: quadratic hashing?)");
    wk_gguf_free(g);
    free(b.p);
    return ok && fast ? 0 : 1;
}
