/* types.h — internal view of the tensor types table. */
#ifndef WK_CORE_TYPES_H
#define WK_CORE_TYPES_H

#include "wick.h"

typedef struct {
    const char *name;
    int64_t block_size;  /* elements per block */
    size_t type_size;    /* bytes per block */
    bool quantized;
} wk_type_traits;

/* NULL for codes wick does not know (retired, unsupported, out of range). */
const wk_type_traits *wk_type_traits_of(wk_type t);

#endif
