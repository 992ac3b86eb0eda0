/* error.h — per-thread error messages: every failing library call records one line. */
#ifndef WK_CORE_ERROR_H
#define WK_CORE_ERROR_H

#include "wick.h"

#if defined(__GNUC__)
#define WK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define WK_PRINTF(a, b)
#endif

/* Records the message and returns s, so callers can `return wk_err(WK_ERR_..., ...)`. */
wk_status wk_err(wk_status s, const char *fmt, ...) WK_PRINTF(2, 3);
/* Records the message and returns NULL, for constructors that return pointers. */
void *wk_err_null(wk_status s, const char *fmt, ...) WK_PRINTF(2, 3);

/* Overflow-checked size arithmetic for sizes that come from files or callers. */
static inline bool wk_size_mul_ok(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool wk_size_add_ok(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

/* Programming errors only (never file/flag content): prints and aborts. */
#define WK_ASSERT(x)                                                                   \
    do {                                                                               \
        if (!(x)) wk_internal_assert_fail(__FILE__, __LINE__, #x);                     \
    } while (0)
_Noreturn void wk_internal_assert_fail(const char *file, int line, const char *expr);

#endif
