/* gguf_internal.h — pieces shared by the GGUF reader and writer: the per-thread error
 * message, overflow-checked size helpers, and a tiny open-addressing string set used to
 * reject duplicate keys / tensor names in O(n) (a hostile file may hold many records; its
 * hash is seeded per set so a file cannot be crafted to make every name collide). */
#ifndef WK_GGUF_INTERNAL_H
#define WK_GGUF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"

#if defined(__GNUC__)
#define WK_GGUF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define WK_GGUF_PRINTF(a, b)
#endif

/* Sets the thread's message and returns st. */
wk_gguf_status gguf_fail(wk_gguf_status st, const char *fmt, ...) WK_GGUF_PRINTF(2, 3);
void gguf_clear_error(void);

/* Encoded size of one scalar value of `type` (0 for STRING/ARRAY/unknown). */
size_t gguf_scalar_size(uint32_t type);

static inline int u64_add_ok(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_add_overflow(a, b, out); }
static inline int u64_mul_ok(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_mul_overflow(a, b, out); }
/* Round x up to a multiple of align (a power of two); 0 on overflow. */
static inline int u64_pad_ok(uint64_t x, uint64_t align, uint64_t *out) {
    uint64_t r = x % align;
    return u64_add_ok(x, r ? align - r : 0, out);
}

/* String set: stores (pointer, length, index) without copying the bytes. */
typedef struct {
    const char *s;
    uint64_t len;
    uint64_t index;
} gguf_set_slot;

typedef struct {
    gguf_set_slot *slots; /* NULL s = empty */
    uint64_t cap;         /* power of two */
    uint64_t n;
    uint64_t seed;        /* random per set, chosen on first insert (see gguf_hash) */
} gguf_set;

uint64_t gguf_hash(uint64_t seed, const char *s, uint64_t len);
/* Inserts; returns 1 if inserted, 0 if present (then *existing = its index), -1 on no memory. */
int gguf_set_insert(gguf_set *set, const char *s, uint64_t len, uint64_t index, uint64_t *existing);
int64_t gguf_set_find(const gguf_set *set, const char *s, uint64_t len);
void gguf_set_free(gguf_set *set);

/* Little-endian loads from possibly unaligned bytes. */
static inline uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32); }

#endif
