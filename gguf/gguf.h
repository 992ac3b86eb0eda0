/* gguf.h — a standalone, hostile-input-safe GGUF v2/v3 reader and writer (formats.md §1).
 * The reader validates the whole file at open time (every length, count, type, shape and
 * offset, with overflow-checked arithmetic), so every getter afterwards is a cheap lookup;
 * tensor data and string values are zero-copy pointers into the mmap'd file. Depends on
 * libc/POSIX only. Errors are values: a wk_gguf_status plus a per-thread one-line message
 * (wk_gguf_last_error), never abort/exit/assert on file content.
 * Byte order: little-endian files only; numeric array / tensor data pointers are raw file
 * bytes (little-endian, possibly unaligned: copy with memcpy). */
#ifndef WK_GGUF_H
#define WK_GGUF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    WK_GGUF_OK = 0,
    WK_GGUF_E_IO,       /* open/read/write/rename failed */
    WK_GGUF_E_FORMAT,   /* the file is malformed or unsupported */
    WK_GGUF_E_NOMEM,    /* an allocation failed */
    WK_GGUF_E_NOTFOUND, /* no such key / tensor */
    WK_GGUF_E_TYPE,     /* the value has another type than the getter's */
    WK_GGUF_E_RANGE,    /* index out of range */
    WK_GGUF_E_ARG,      /* bad argument from the caller (NULL, duplicate key, bad shape ...) */
} wk_gguf_status;

/* Metadata value types (formats.md §1.4). */
typedef enum {
    WK_GGUF_UINT8 = 0,
    WK_GGUF_INT8 = 1,
    WK_GGUF_UINT16 = 2,
    WK_GGUF_INT16 = 3,
    WK_GGUF_UINT32 = 4,
    WK_GGUF_INT32 = 5,
    WK_GGUF_FLOAT32 = 6,
    WK_GGUF_BOOL = 7,
    WK_GGUF_STRING = 8,
    WK_GGUF_ARRAY = 9,
    WK_GGUF_UINT64 = 10,
    WK_GGUF_INT64 = 11,
    WK_GGUF_FLOAT64 = 12,
    WK_GGUF_TYPE_COUNT = 13,
} wk_gguf_type;

#define WK_GGUF_DEFAULT_ALIGNMENT 32u
#define WK_GGUF_MAX_NAME 64 /* tensor names are at most 63 bytes */
#define WK_GGUF_MAX_DIMS 4
#define WK_GGUF_GGML_TYPE_COUNT 43 /* ggml type codes >= this are rejected */

/* The calling thread's last error message ("" if none). Valid until the thread's next
 * wk_gguf_* call that fails. */
const char *wk_gguf_last_error(void);
const char *wk_gguf_status_name(wk_gguf_status s);

/* Names: "UINT32", "STRING", ... ; "?" for unknown codes. */
const char *wk_gguf_type_name(uint32_t type);
/* ggml tensor type table (formats.md §1.11): name ("Q8_0"; NULL for unknown or retired codes),
 * and block size / bytes per block (returns 0 for unknown or retired codes, else 1). */
const char *wk_gguf_ggml_type_name(uint32_t ggml_type);
int wk_gguf_ggml_type_size(uint32_t ggml_type, uint32_t *block_size, uint32_t *block_bytes);
/* general.file_type (llama_ftype) decoded, e.g. "MOSTLY_Q8_0"; NULL when unknown. */
const char *wk_gguf_file_type_name(uint32_t file_type);

/* ------------------------------------------------------------------------------------ */
/* Reader                                                                                */

typedef struct wk_gguf wk_gguf;

typedef struct {
    char name[WK_GGUF_MAX_NAME]; /* NUL-terminated copy */
    uint32_t name_len;
    uint32_t type;      /* ggml type code, known and not retired */
    uint32_t n_dims;    /* as stored in the file, 1..4 */
    int64_t ne[WK_GGUF_MAX_DIMS]; /* ne[0] fastest; missing trailing dims are 1; all > 0 */
    uint64_t n_elements;
    uint64_t nbytes;    /* (ne[0]/block) * block_bytes * ne[1] * ne[2] * ne[3] */
    uint64_t offset;    /* relative to the data section */
    const void *data;   /* into the mapping; nbytes readable */
} wk_gguf_tensor;

/* Open and validate a file (mmap, read() fallback). `name` in messages is the path. */
wk_gguf_status wk_gguf_open(const char *path, wk_gguf **out);
/* Same over a caller buffer, which must outlive the handle (no copy). `name` (may be NULL)
 * prefixes error messages. */
wk_gguf_status wk_gguf_open_memory(const void *data, size_t size, const char *name, wk_gguf **out);
void wk_gguf_free(wk_gguf *g); /* accepts NULL */

uint32_t wk_gguf_version(const wk_gguf *g);
uint32_t wk_gguf_alignment(const wk_gguf *g);
uint64_t wk_gguf_data_offset(const wk_gguf *g); /* start of the data section in the file */
uint64_t wk_gguf_file_size(const wk_gguf *g);
const void *wk_gguf_file_data(const wk_gguf *g); /* the whole mapped file */

/* Metadata, in file order. Index-based accessors take 0 <= i < wk_gguf_n_kv(). */
uint64_t wk_gguf_n_kv(const wk_gguf *g);
int64_t wk_gguf_find_key(const wk_gguf *g, const char *key); /* index, or -1 */
const char *wk_gguf_kv_key(const wk_gguf *g, uint64_t i);    /* NUL-terminated; NULL if bad i */
wk_gguf_type wk_gguf_kv_type(const wk_gguf *g, uint64_t i);  /* WK_GGUF_TYPE_COUNT if bad i */
/* Raw file bytes of the value (scalars: the value; strings: the bytes after the length;
 * arrays: the first element) and its encoded size; for inspection and copying. */
const void *wk_gguf_kv_raw(const wk_gguf *g, uint64_t i, uint64_t *nbytes);

/* Type-strict getters by key: WK_GGUF_E_NOTFOUND if absent, WK_GGUF_E_TYPE if stored with
 * another type (never a conversion). */
wk_gguf_status wk_gguf_get_u8(const wk_gguf *g, const char *key, uint8_t *out);
wk_gguf_status wk_gguf_get_i8(const wk_gguf *g, const char *key, int8_t *out);
wk_gguf_status wk_gguf_get_u16(const wk_gguf *g, const char *key, uint16_t *out);
wk_gguf_status wk_gguf_get_i16(const wk_gguf *g, const char *key, int16_t *out);
wk_gguf_status wk_gguf_get_u32(const wk_gguf *g, const char *key, uint32_t *out);
wk_gguf_status wk_gguf_get_i32(const wk_gguf *g, const char *key, int32_t *out);
wk_gguf_status wk_gguf_get_f32(const wk_gguf *g, const char *key, float *out);
wk_gguf_status wk_gguf_get_u64(const wk_gguf *g, const char *key, uint64_t *out);
wk_gguf_status wk_gguf_get_i64(const wk_gguf *g, const char *key, int64_t *out);
wk_gguf_status wk_gguf_get_f64(const wk_gguf *g, const char *key, double *out);
wk_gguf_status wk_gguf_get_bool(const wk_gguf *g, const char *key, int *out);
/* String value: pointer into the file, NOT NUL-terminated, and its length. */
wk_gguf_status wk_gguf_get_str(const wk_gguf *g, const char *key, const char **s, uint64_t *len);

/* Arrays. Element type and count of any array. */
wk_gguf_status wk_gguf_get_arr_info(const wk_gguf *g, const char *key, wk_gguf_type *elem_type,
                                    uint64_t *count);
/* Numeric/bool array whose element type must equal `elem_type`: raw little-endian elements
 * (possibly unaligned) and count. */
wk_gguf_status wk_gguf_get_arr_data(const wk_gguf *g, const char *key, wk_gguf_type elem_type,
                                    const void **data, uint64_t *count);
/* i-th string of a string array (O(1)); fails with WK_GGUF_E_TYPE if not a string array. */
wk_gguf_status wk_gguf_get_arr_str(const wk_gguf *g, const char *key, uint64_t i, const char **s,
                                   uint64_t *len);

/* Tensors, in file order. */
uint64_t wk_gguf_n_tensors(const wk_gguf *g);
int64_t wk_gguf_find_tensor(const wk_gguf *g, const char *name); /* index, or -1 */
const wk_gguf_tensor *wk_gguf_tensor_at(const wk_gguf *g, uint64_t i); /* NULL if bad i */

/* ------------------------------------------------------------------------------------ */
/* Writer: builds a file in insertion order, layout per formats.md §1.8. Keys and strings are
 * copied; tensor data is borrowed (must stay valid until the write call). The alignment is
 * the value of a "general.alignment" key if one is added (it must be UINT32, a nonzero power
 * of two), else 32; tensor offsets are assigned when the file is written. */

typedef struct wk_gguf_writer wk_gguf_writer;

wk_gguf_status wk_gguf_writer_new(wk_gguf_writer **out);
void wk_gguf_writer_free(wk_gguf_writer *w); /* accepts NULL */
wk_gguf_status wk_gguf_writer_set_version(wk_gguf_writer *w, uint32_t version); /* 2 or 3 */

wk_gguf_status wk_gguf_writer_add_u8(wk_gguf_writer *w, const char *key, uint8_t v);
wk_gguf_status wk_gguf_writer_add_i8(wk_gguf_writer *w, const char *key, int8_t v);
wk_gguf_status wk_gguf_writer_add_u16(wk_gguf_writer *w, const char *key, uint16_t v);
wk_gguf_status wk_gguf_writer_add_i16(wk_gguf_writer *w, const char *key, int16_t v);
wk_gguf_status wk_gguf_writer_add_u32(wk_gguf_writer *w, const char *key, uint32_t v);
wk_gguf_status wk_gguf_writer_add_i32(wk_gguf_writer *w, const char *key, int32_t v);
wk_gguf_status wk_gguf_writer_add_f32(wk_gguf_writer *w, const char *key, float v);
wk_gguf_status wk_gguf_writer_add_u64(wk_gguf_writer *w, const char *key, uint64_t v);
wk_gguf_status wk_gguf_writer_add_i64(wk_gguf_writer *w, const char *key, int64_t v);
wk_gguf_status wk_gguf_writer_add_f64(wk_gguf_writer *w, const char *key, double v);
wk_gguf_status wk_gguf_writer_add_bool(wk_gguf_writer *w, const char *key, int v);
wk_gguf_status wk_gguf_writer_add_str(wk_gguf_writer *w, const char *key, const char *s, size_t len);
/* Numeric or bool array: `data` holds `count` host-order elements of `elem_type`
 * (bool: one byte each, 0 or 1). */
wk_gguf_status wk_gguf_writer_add_arr(wk_gguf_writer *w, const char *key, wk_gguf_type elem_type,
                                      const void *data, uint64_t count);
/* String array; lens may be NULL (then strlen). */
wk_gguf_status wk_gguf_writer_add_arr_str(wk_gguf_writer *w, const char *key,
                                          const char *const *strs, const size_t *lens, uint64_t count);

/* Tensor with n_dims (1..4) dims ne[0..n_dims): stored with n_dims after dropping trailing
 * 1s (min 1), as the ggml C writer does. */
wk_gguf_status wk_gguf_writer_add_tensor(wk_gguf_writer *w, const char *name, uint32_t ggml_type,
                                         uint32_t n_dims, const int64_t *ne, const void *data);
/* Same, but stores exactly n_dims dims (trailing 1s kept, as the Python writer may). */
wk_gguf_status wk_gguf_writer_add_tensor_ndims(wk_gguf_writer *w, const char *name,
                                               uint32_t ggml_type, uint32_t n_dims,
                                               const int64_t *ne, const void *data);

/* Streaming tensor: no data now; when the file is written, fill(user, dst, nbytes) is called
 * once per write call, in tensor order, and must write all nbytes (what type and shape imply)
 * to dst, valid only during the call, and return 0. Only one tensor's bytes are held at a
 * time (write_file reuses one buffer sized for the largest), so outputs larger than RAM can
 * be produced. A nonzero return aborts the write with WK_GGUF_E_IO (write_file removes its
 * temp file and leaves path untouched). The n_dims dims are stored exactly as given. */
typedef int (*wk_gguf_fill_fn)(void *user, void *dst, uint64_t nbytes);
wk_gguf_status wk_gguf_writer_add_tensor_fill(wk_gguf_writer *w, const char *name, uint32_t ggml_type,
                                              uint32_t n_dims, const int64_t *ne, wk_gguf_fill_fn fill,
                                              void *user);

/* Copy key i of a reader (any type, incl. arrays) / all keys, tensors and the version, so that
 * writing back an unchanged file reproduces it byte for byte (tensor data borrowed from g). */
wk_gguf_status wk_gguf_writer_copy_kv(wk_gguf_writer *w, const wk_gguf *g, uint64_t i);
wk_gguf_status wk_gguf_writer_from_reader(const wk_gguf *g, wk_gguf_writer **out);

/* Size of the file the writer would produce now. */
uint64_t wk_gguf_writer_size(const wk_gguf_writer *w);
/* Write to path via a temp file in the same directory, fsync, rename; on error the temp file
 * is removed and path is untouched. */
wk_gguf_status wk_gguf_writer_write_file(const wk_gguf_writer *w, const char *path);
/* Write into a new malloc'd buffer (caller frees). */
wk_gguf_status wk_gguf_writer_write_memory(const wk_gguf_writer *w, void **buf, size_t *size);

#ifdef __cplusplus
}
#endif
#endif
