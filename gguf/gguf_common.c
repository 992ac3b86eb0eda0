/* gguf_common.c — the GGUF module's shared tables (value types, ggml tensor types per
 * formats.md §1.11, llama file types per §1.12), the per-thread error message and the
 * string set used for uniqueness checks. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gguf_internal.h"

static _Thread_local char t_err[512];

const char *wk_gguf_last_error(void) { return t_err; }
void gguf_clear_error(void) { t_err[0] = 0; }

wk_gguf_status gguf_fail(wk_gguf_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t_err, sizeof t_err, fmt, ap);
    va_end(ap);
    return st;
}

const char *wk_gguf_status_name(wk_gguf_status s) {
    switch (s) {
    case WK_GGUF_OK: return "ok";
    case WK_GGUF_E_IO: return "i/o error";
    case WK_GGUF_E_FORMAT: return "bad format";
    case WK_GGUF_E_NOMEM: return "out of memory";
    case WK_GGUF_E_NOTFOUND: return "not found";
    case WK_GGUF_E_TYPE: return "wrong type";
    case WK_GGUF_E_RANGE: return "out of range";
    case WK_GGUF_E_ARG: return "bad argument";
    }
    return "?";
}

static const char *const k_value_type_names[WK_GGUF_TYPE_COUNT] = {
    "UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
    "BOOL",  "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64",
};

const char *wk_gguf_type_name(uint32_t type) { return type < WK_GGUF_TYPE_COUNT ? k_value_type_names[type] : "?"; }

size_t gguf_scalar_size(uint32_t type) {
    switch (type) {
    case WK_GGUF_UINT8: case WK_GGUF_INT8: case WK_GGUF_BOOL: return 1;
    case WK_GGUF_UINT16: case WK_GGUF_INT16: return 2;
    case WK_GGUF_UINT32: case WK_GGUF_INT32: case WK_GGUF_FLOAT32: return 4;
    case WK_GGUF_UINT64: case WK_GGUF_INT64: case WK_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* formats.md §1.11; block size 0 = retired code. */
typedef struct {
    const char *name;
    uint16_t block;
    uint16_t bytes;
} ggml_type_row;

static const ggml_type_row k_ggml_types[WK_GGUF_GGML_TYPE_COUNT] = {
    {"F32", 1, 4},       {"F16", 1, 2},       {"Q4_0", 32, 18},    {"Q4_1", 32, 20},
    {"Q4_2", 0, 0},      {"Q4_3", 0, 0},      {"Q5_0", 32, 22},    {"Q5_1", 32, 24},
    {"Q8_0", 32, 34},    {"Q8_1", 32, 36},    {"Q2_K", 256, 84},   {"Q3_K", 256, 110},
    {"Q4_K", 256, 144},  {"Q5_K", 256, 176},  {"Q6_K", 256, 210},  {"Q8_K", 256, 292},
    {"IQ2_XXS", 256, 66}, {"IQ2_XS", 256, 74}, {"IQ3_XXS", 256, 98}, {"IQ1_S", 256, 50},
    {"IQ4_NL", 32, 18},  {"IQ3_S", 256, 110}, {"IQ2_S", 256, 82},  {"IQ4_XS", 256, 136},
    {"I8", 1, 1},        {"I16", 1, 2},       {"I32", 1, 4},       {"I64", 1, 8},
    {"F64", 1, 8},       {"IQ1_M", 256, 56},  {"BF16", 1, 2},      {"Q4_0_4_4", 0, 0},
    {"Q4_0_4_8", 0, 0},  {"Q4_0_8_8", 0, 0},  {"TQ1_0", 256, 54},  {"TQ2_0", 256, 66},
    {"IQ4_NL_4_4", 0, 0}, {"IQ4_NL_4_8", 0, 0}, {"IQ4_NL_8_8", 0, 0}, {"MXFP4", 32, 17},
    {"NVFP4", 64, 36},   {"Q1_0", 128, 18},   {"Q2_0", 64, 18},
};

const char *wk_gguf_ggml_type_name(uint32_t t) {
    return t < WK_GGUF_GGML_TYPE_COUNT && k_ggml_types[t].block ? k_ggml_types[t].name : NULL;
}

/* Name of a code even if retired (for messages); NULL if >= count. */
const char *gguf_ggml_type_any_name(uint32_t t);
const char *gguf_ggml_type_any_name(uint32_t t) { return t < WK_GGUF_GGML_TYPE_COUNT ? k_ggml_types[t].name : NULL; }

int wk_gguf_ggml_type_size(uint32_t t, uint32_t *block_size, uint32_t *block_bytes) {
    if (t >= WK_GGUF_GGML_TYPE_COUNT || !k_ggml_types[t].block) return 0;
    if (block_size) *block_size = k_ggml_types[t].block;
    if (block_bytes) *block_bytes = k_ggml_types[t].bytes;
    return 1;
}

/* formats.md §1.12 */
const char *wk_gguf_file_type_name(uint32_t ft) {
    static const char *const names[] = {
        "ALL_F32", "MOSTLY_F16", "MOSTLY_Q4_0", "MOSTLY_Q4_1", "MOSTLY_Q4_1_SOME_F16 (removed)",
        "MOSTLY_Q4_2 (removed)", "MOSTLY_Q4_3 (removed)", "MOSTLY_Q8_0", "MOSTLY_Q5_0", "MOSTLY_Q5_1",
        "MOSTLY_Q2_K", "MOSTLY_Q3_K_S", "MOSTLY_Q3_K_M", "MOSTLY_Q3_K_L", "MOSTLY_Q4_K_S",
        "MOSTLY_Q4_K_M", "MOSTLY_Q5_K_S", "MOSTLY_Q5_K_M", "MOSTLY_Q6_K", "MOSTLY_IQ2_XXS",
        "MOSTLY_IQ2_XS", "MOSTLY_Q2_K_S", "MOSTLY_IQ3_XS", "MOSTLY_IQ3_XXS", "MOSTLY_IQ1_S",
        "MOSTLY_IQ4_NL", "MOSTLY_IQ3_S", "MOSTLY_IQ3_M", "MOSTLY_IQ2_S", "MOSTLY_IQ2_M",
        "MOSTLY_IQ4_XS", "MOSTLY_IQ1_M", "MOSTLY_BF16", "MOSTLY_Q4_0_4_4 (removed)",
        "MOSTLY_Q4_0_4_8 (removed)", "MOSTLY_Q4_0_8_8 (removed)", "MOSTLY_TQ1_0", "MOSTLY_TQ2_0",
        "MOSTLY_MXFP4_MOE", "MOSTLY_NVFP4", "MOSTLY_Q1_0", "MOSTLY_Q2_0",
    };
    if (ft < sizeof names / sizeof names[0]) return names[ft];
    if (ft == 1024) return "GUESSED";
    return NULL;
}

/* ---- string set (seeded FNV-1a + a final mix, linear probing) ---- */

/* splitmix64's finalizer: every output bit depends on every input bit. */
static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Unpredictable per set. With a fixed hash, FNV-1a's low bits depend only on the inputs'
 * low bits, so colliding names are cheap to chain and a crafted file made the duplicate
 * check quadratic (2^17 keys in a 13 MB file: 38 s). The seed only changes probe order,
 * never a result. Sources: wall clock ns, heap/stack addresses (ASLR), a counter. */
static uint64_t new_seed(const void *salt) {
    static _Atomic uint64_t counter;
    struct timespec ts = {0, 0};
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)(uintptr_t)salt;
    x = mix64(x ^ (uint64_t)(uintptr_t)&ts) + atomic_fetch_add(&counter, 0x9e3779b97f4a7c15ull);
    return mix64(x);
}

uint64_t gguf_hash(uint64_t seed, const char *s, uint64_t len) {
    uint64_t h = 1469598103934665603ull ^ seed;
    for (uint64_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return mix64(h ^ seed);
}

static int set_grow(gguf_set *set) {
    uint64_t cap = set->cap ? set->cap * 2 : 16;
    if (cap > SIZE_MAX / sizeof(gguf_set_slot)) return -1;
    gguf_set_slot *slots = calloc((size_t)cap, sizeof *slots);
    if (!slots) return -1;
    for (uint64_t i = 0; i < set->cap; i++) {
        gguf_set_slot *o = &set->slots[i];
        if (!o->s) continue;
        uint64_t j = gguf_hash(set->seed, o->s, o->len) & (cap - 1);
        while (slots[j].s) j = (j + 1) & (cap - 1);
        slots[j] = *o;
    }
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
    return 0;
}

int gguf_set_insert(gguf_set *set, const char *s, uint64_t len, uint64_t index, uint64_t *existing) {
    if (!set->cap) set->seed = new_seed(set);
    if ((set->n + 1) * 2 > set->cap && set_grow(set) != 0) return -1;
    static const char empty[1] = {0};
    if (!s) s = empty; /* a NULL pointer marks an empty slot */
    uint64_t j = gguf_hash(set->seed, s, len) & (set->cap - 1);
    while (set->slots[j].s) {
        gguf_set_slot *o = &set->slots[j];
        if (o->len == len && memcmp(o->s, s, (size_t)len) == 0) {
            if (existing) *existing = o->index;
            return 0;
        }
        j = (j + 1) & (set->cap - 1);
    }
    set->slots[j] = (gguf_set_slot){s, len, index};
    set->n++;
    return 1;
}

int64_t gguf_set_find(const gguf_set *set, const char *s, uint64_t len) {
    if (!set->cap) return -1;
    uint64_t j = gguf_hash(set->seed, s, len) & (set->cap - 1);
    while (set->slots[j].s) {
        const gguf_set_slot *o = &set->slots[j];
        if (o->len == len && memcmp(o->s, s, (size_t)len) == 0) return (int64_t)o->index;
        j = (j + 1) & (set->cap - 1);
    }
    return -1;
}

void gguf_set_free(gguf_set *set) {
    free(set->slots);
    set->slots = NULL;
    set->cap = set->n = 0;
}
