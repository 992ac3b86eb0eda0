/* error.c — status strings and the per-thread last-error message. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"

static _Thread_local char g_msg[512];

const char *wk_version(void) { return WICK_VERSION_STRING; }

const char *wk_status_str(wk_status s) {
    switch (s) {
    case WK_OK: return "ok";
    case WK_ERR_INVALID_ARG: return "invalid argument";
    case WK_ERR_NOMEM: return "out of memory";
    case WK_ERR_IO: return "i/o error";
    case WK_ERR_FORMAT: return "invalid file format";
    case WK_ERR_UNSUPPORTED: return "unsupported";
    case WK_ERR_SHAPE: return "shape mismatch";
    }
    return "unknown status";
}

const char *wk_last_error(void) { return g_msg; }
void wk_clear_error(void) { g_msg[0] = 0; }

static void set_msg(const char *fmt, va_list ap) { vsnprintf(g_msg, sizeof g_msg, fmt, ap); }

wk_status wk_err(wk_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_msg(fmt, ap);
    va_end(ap);
    return s;
}

void *wk_err_null(wk_status s, const char *fmt, ...) {
    (void)s;
    va_list ap;
    va_start(ap, fmt);
    set_msg(fmt, ap);
    va_end(ap);
    return NULL;
}

void wk_internal_assert_fail(const char *file, int line, const char *expr) {
    fprintf(stderr, "wick: internal error at %s:%d: %s\n", file, line, expr);
    abort();
}
