/* safetensors.h — the safetensors format (Hugging Face's tensor files), read and written.
 *
 * A file is: u64 little-endian N, N bytes of a JSON object (the header), then the data
 * buffer. The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin,
 * end]} (offsets into the data buffer) and may hold "__metadata__", an object of strings.
 *
 * The reader treats every file as hostile: the header length, the JSON, every dtype, shape
 * and offset are checked (sizes with overflow-safe arithmetic; offsets within the buffer,
 * of exactly shape x dtype bytes, neither overlapping nor leaving holes; no duplicate
 * names) before any tensor is handed out. Errors are one line (wk_st_last_error).
 * The module depends on cJSON and libc only, so fuzz targets build it alone. */
#ifndef WK_CONVERT_SAFETENSORS_H
#define WK_CONVERT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    WK_ST_BOOL, WK_ST_U8, WK_ST_I8, WK_ST_I16, WK_ST_U16, WK_ST_F16, WK_ST_BF16, WK_ST_I32, WK_ST_U32, WK_ST_F32,
    WK_ST_I64, WK_ST_U64, WK_ST_F64, WK_ST_F8_E4M3, WK_ST_F8_E5M2, WK_ST_N_DTYPES
} wk_st_dtype;

#define WK_ST_MAX_DIMS 8

typedef struct {
    const char *name;
    wk_st_dtype dtype;
    int n_dims;
    int64_t shape[WK_ST_MAX_DIMS];   /* PyTorch order: shape[n_dims - 1] varies fastest */
    uint64_t n_elements, nbytes;
    const void *data;                 /* into the file (mapped) or the caller's buffer */
} wk_st_tensor;

typedef struct wk_st_file wk_st_file;

const char *wk_st_dtype_name(wk_st_dtype t);   /* "F32", ... */
size_t wk_st_dtype_size(wk_st_dtype t);

/* 0 on success; otherwise -1, *out NULL and wk_st_last_error() says why. */
int wk_st_open(const char *path, wk_st_file **out);                        /* mmap */
int wk_st_open_memory(const void *buf, size_t len, wk_st_file **out);      /* buf must outlive */
void wk_st_close(wk_st_file *f);                                           /* accepts NULL */
const char *wk_st_last_error(void);

size_t wk_st_n_tensors(const wk_st_file *f);
const wk_st_tensor *wk_st_tensor_at(const wk_st_file *f, size_t i);    /* in data-offset order */
const wk_st_tensor *wk_st_find(const wk_st_file *f, const char *name); /* NULL if absent */
size_t wk_st_n_metadata(const wk_st_file *f);
const char *wk_st_metadata_key(const wk_st_file *f, size_t i);
const char *wk_st_metadata_get(const wk_st_file *f, const char *key);  /* NULL if absent */

/* A writer: tensors are referenced (not copied) until wk_st_writer_write, which writes
 * path atomically (a temporary file renamed into place; nothing is left on failure). */
typedef struct wk_st_writer wk_st_writer;
wk_st_writer *wk_st_writer_new(void);
int wk_st_writer_add(wk_st_writer *w, const char *name, wk_st_dtype dtype, int n_dims, const int64_t *shape,
                     const void *data);
/* A streamed tensor: when the file is written, fill(user, dst, nbytes) writes its bytes into
 * a scratch buffer (reused; the largest streamed tensor's size) and returns 0; nonzero
 * aborts the write (nothing is left). Only one streamed tensor is in memory at a time. */
typedef int (*wk_st_fill_fn)(void *user, void *dst, uint64_t nbytes);
int wk_st_writer_add_fill(wk_st_writer *w, const char *name, wk_st_dtype dtype, int n_dims, const int64_t *shape,
                          wk_st_fill_fn fill, void *user);
int wk_st_writer_add_metadata(wk_st_writer *w, const char *key, const char *value);
int wk_st_writer_write(wk_st_writer *w, const char *path);
void wk_st_writer_free(wk_st_writer *w);

#ifdef __cplusplus
}
#endif
#endif
