/* safetensors.c — safetensors reader and writer (safetensors.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "safetensors.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HEADER (100u << 20) /* the reference implementation's limit */

static _Thread_local char g_err[512];

static int fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err, sizeof g_err, fmt, ap);
    va_end(ap);
    return -1;
}

const char *wk_st_last_error(void) { return g_err; }

/* a name for messages: at most 80 bytes, control bytes as '?', so a message stays one line */
static const char *shown(const char *name, char buf[84]) {
    size_t i = 0;
    for (; name && name[i] && i < 80; i++) buf[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
    buf[i] = 0;
    return buf;
}

static const struct {
    const char *name;
    size_t size;
} k_dtypes[WK_ST_N_DTYPES] = {
    [WK_ST_BOOL] = {"BOOL", 1}, [WK_ST_U8] = {"U8", 1},     [WK_ST_I8] = {"I8", 1},
    [WK_ST_I16] = {"I16", 2},   [WK_ST_U16] = {"U16", 2},   [WK_ST_F16] = {"F16", 2},
    [WK_ST_BF16] = {"BF16", 2}, [WK_ST_I32] = {"I32", 4},   [WK_ST_U32] = {"U32", 4},
    [WK_ST_F32] = {"F32", 4},   [WK_ST_I64] = {"I64", 8},   [WK_ST_U64] = {"U64", 8},
    [WK_ST_F64] = {"F64", 8},   [WK_ST_F8_E4M3] = {"F8_E4M3", 1}, [WK_ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *wk_st_dtype_name(wk_st_dtype t) { return (unsigned)t < WK_ST_N_DTYPES ? k_dtypes[t].name : "?"; }
size_t wk_st_dtype_size(wk_st_dtype t) { return (unsigned)t < WK_ST_N_DTYPES ? k_dtypes[t].size : 0; }

struct wk_st_file {
    void *map;        /* wk_st_open: the mapping (size map_len) */
    size_t map_len;
    size_t n;
    wk_st_tensor *t;  /* sorted by data offset */
    char **names;     /* owned copies */
    size_t *by_name;  /* indices into t sorted by name */
    size_t n_meta;
    char **meta;      /* key, value pairs */
};

void wk_st_close(wk_st_file *f) {
    if (!f) return;
    for (size_t i = 0; i < f->n; i++) free(f->names[i]);
    for (size_t i = 0; i < 2 * f->n_meta; i++) free(f->meta[i]);
    free(f->names), free(f->t), free(f->by_name), free(f->meta);
    if (f->map) munmap(f->map, f->map_len);
    free(f);
}

/* a JSON number that is an integer in [0, 2^53] */
static bool json_u53(const cJSON *j, uint64_t *v) {
    if (!cJSON_IsNumber(j)) return false;
    const double d = j->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0 || floor(d) != d) return false;
    *v = (uint64_t)d;
    return true;
}

static uint64_t g_sort_begin(const wk_st_tensor *t, const uint8_t *data) {
    return (uint64_t)((const uint8_t *)t->data - data);
}

static const uint8_t *g_data; /* qsort context (single-threaded parse) */
static int cmp_offset(const void *a, const void *b) {
    const uint64_t x = g_sort_begin(a, g_data), y = g_sort_begin(b, g_data);
    const wk_st_tensor *ta = a, *tb = b;
    if (x != y) return x < y ? -1 : 1;
    return ta->nbytes < tb->nbytes ? -1 : ta->nbytes > tb->nbytes; /* empty tensors first */
}
static const wk_st_tensor *g_tensors;
static int cmp_name(const void *a, const void *b) {
    return strcmp(g_tensors[*(const size_t *)a].name, g_tensors[*(const size_t *)b].name);
}

static int parse_tensor(const cJSON *e, const uint8_t *data, uint64_t data_len, wk_st_tensor *t) {
    char nb[84];
    const char *nm = shown(e->string, nb);
    if (!cJSON_IsObject(e)) return fail("safetensors: tensor '%s': not an object", nm);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt)) return fail("safetensors: tensor '%s': no \"dtype\" string", nm);
    int k = 0;
    char nb2[84];
    while (k < WK_ST_N_DTYPES && strcmp(dt->valuestring, k_dtypes[k].name)) k++;
    if (k == WK_ST_N_DTYPES) return fail("safetensors: tensor '%s': unknown dtype '%s'", nm, shown(dt->valuestring, nb2));
    t->dtype = (wk_st_dtype)k;
    if (!cJSON_IsArray(sh)) return fail("safetensors: tensor '%s': no \"shape\" array", nm);
    const int nd = cJSON_GetArraySize(sh);
    if (nd > WK_ST_MAX_DIMS) return fail("safetensors: tensor '%s': %d dimensions (at most %d)", nm, nd, WK_ST_MAX_DIMS);
    t->n_dims = nd;
    uint64_t ne = 1;
    for (int d = 0; d < nd; d++) {
        uint64_t v;
        if (!json_u53(cJSON_GetArrayItem(sh, d), &v))
            return fail("safetensors: tensor '%s': shape entry %d is not a non-negative integer", nm, d);
        if (v && ne > UINT64_MAX / v) return fail("safetensors: tensor '%s': shape overflows", nm);
        ne *= v;
        t->shape[d] = (int64_t)v;
    }
    const uint64_t es = k_dtypes[k].size;
    if (ne > UINT64_MAX / es) return fail("safetensors: tensor '%s': size overflows", nm);
    t->n_elements = ne, t->nbytes = ne * es;
    uint64_t b, en;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_u53(cJSON_GetArrayItem(off, 0), &b) ||
        !json_u53(cJSON_GetArrayItem(off, 1), &en))
        return fail("safetensors: tensor '%s': \"data_offsets\" is not [begin, end]", nm);
    if (b > en || en > data_len)
        return fail("safetensors: tensor '%s': data_offsets [%llu, %llu] outside the %llu-byte data buffer", nm,
                    (unsigned long long)b, (unsigned long long)en, (unsigned long long)data_len);
    if (en - b != t->nbytes)
        return fail("safetensors: tensor '%s': %llu bytes at data_offsets, but shape and %s need %llu", nm,
                    (unsigned long long)(en - b), k_dtypes[k].name, (unsigned long long)t->nbytes);
    t->data = data + b;
    return 0;
}

int wk_st_open_memory(const void *buf, size_t len, wk_st_file **out) {
    *out = NULL;
    const uint8_t *p = buf;
    if (!buf || len < 8) return fail("safetensors: file too short for the header length (%zu bytes)", len);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | p[i];
    if (hl > len - 8) return fail("safetensors: header length %llu exceeds the file (%zu bytes)", (unsigned long long)hl, len);
    if (hl > MAX_HEADER) return fail("safetensors: header length %llu is over the 100 MiB limit", (unsigned long long)hl);
    if (hl < 2 || p[8] != '{') return fail("safetensors: the header is not a JSON object");
    const uint8_t *data = p + 8 + hl;
    const uint64_t data_len = len - 8 - hl;
    cJSON *root = cJSON_ParseWithLength((const char *)p + 8, (size_t)hl);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return fail("safetensors: the header is not valid JSON");
    }
    wk_st_file *f = calloc(1, sizeof *f);
    int rc = f ? 0 : fail("safetensors: out of memory");
    size_t n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, root) n += strcmp(e->string, "__metadata__") != 0;
    if (!rc) {
        f->t = calloc(n ? n : 1, sizeof *f->t);
        f->names = calloc(n ? n : 1, sizeof *f->names);
        f->by_name = calloc(n ? n : 1, sizeof *f->by_name);
        if (!f->t || !f->names || !f->by_name) rc = fail("safetensors: out of memory");
    }
    int n_meta_blocks = 0;
    cJSON_ArrayForEach(e, root) {
        if (rc) break;
        if (!strcmp(e->string, "__metadata__")) {
            if (n_meta_blocks++) {
                rc = fail("safetensors: two \"__metadata__\" entries");
                break;
            }
            if (!cJSON_IsObject(e)) {
                rc = fail("safetensors: \"__metadata__\" is not an object");
                break;
            }
            const size_t nm = (size_t)cJSON_GetArraySize(e);
            f->meta = calloc(2 * (nm ? nm : 1), sizeof *f->meta);
            if (!f->meta) {
                rc = fail("safetensors: out of memory");
                break;
            }
            const cJSON *m;
            cJSON_ArrayForEach(m, e) {
                if (!cJSON_IsString(m)) {
                    char nb[84];
                    rc = fail("safetensors: __metadata__ '%s' is not a string", shown(m->string, nb));
                    break;
                }
                if (wk_st_metadata_get(f, m->string)) { /* a key means one value */
                    char nb[84];
                    rc = fail("safetensors: __metadata__ '%s' appears twice", shown(m->string, nb));
                    break;
                }
                f->meta[2 * f->n_meta] = strdup(m->string);
                f->meta[2 * f->n_meta + 1] = strdup(m->valuestring);
                f->n_meta++;
                if (!f->meta[2 * f->n_meta - 2] || !f->meta[2 * f->n_meta - 1]) rc = fail("safetensors: out of memory");
            }
            continue;
        }
        wk_st_tensor *t = &f->t[f->n];
        if ((rc = parse_tensor(e, data, data_len, t))) break;
        if (!(f->names[f->n] = strdup(e->string))) {
            rc = fail("safetensors: out of memory");
            break;
        }
        t->name = f->names[f->n];
        f->n++;
    }
    cJSON_Delete(root);
    if (!rc && f->n) {
        g_data = data;
        qsort(f->t, f->n, sizeof *f->t, cmp_offset);
        uint64_t at = 0;
        char nb[84];
        for (size_t i = 0; i < f->n && !rc; i++) {
            const uint64_t b = g_sort_begin(&f->t[i], data);
            if (b != at)
                rc = b < at ? fail("safetensors: tensor '%s' overlaps the one before it", shown(f->t[i].name, nb))
                            : fail("safetensors: a hole of %llu bytes before tensor '%s'",
                                   (unsigned long long)(b - at), shown(f->t[i].name, nb));
            at = b + f->t[i].nbytes;
        }
        if (!rc && at != data_len)
            rc = fail("safetensors: the tensors cover %llu of the %llu data bytes", (unsigned long long)at,
                      (unsigned long long)data_len);
        for (size_t i = 0; i < f->n; i++) f->by_name[i] = i;
        g_tensors = f->t;
        qsort(f->by_name, f->n, sizeof *f->by_name, cmp_name);
        for (size_t i = 1; i < f->n && !rc; i++)
            if (!strcmp(f->t[f->by_name[i]].name, f->t[f->by_name[i - 1]].name))
                rc = fail("safetensors: tensor '%s' appears twice", shown(f->t[f->by_name[i]].name, nb));
    } else if (!rc && data_len) {
        rc = fail("safetensors: %llu data bytes but no tensors", (unsigned long long)data_len);
    }
    if (rc) {
        wk_st_close(f);
        return -1;
    }
    *out = f;
    return 0;
}

int wk_st_open(const char *path, wk_st_file **out) {
    *out = NULL;
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail("%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail("%s: not a regular file", path);
    }
    const size_t len = (size_t)st.st_size;
    if (len < 8) {
        close(fd);
        return fail("%s: safetensors: file too short for the header length (%zu bytes)", path, len);
    }
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return fail("%s: cannot map: %s", path, strerror(errno));
    if (wk_st_open_memory(map, len, out)) {
        munmap(map, len);
        char msg[sizeof g_err];
        snprintf(msg, sizeof msg, "%s", g_err);
        return fail("%s: %s", path, msg);
    }
    (*out)->map = map, (*out)->map_len = len;
    return 0;
}

size_t wk_st_n_tensors(const wk_st_file *f) { return f ? f->n : 0; }
const wk_st_tensor *wk_st_tensor_at(const wk_st_file *f, size_t i) { return f && i < f->n ? &f->t[i] : NULL; }

const wk_st_tensor *wk_st_find(const wk_st_file *f, const char *name) {
    if (!f || !name) return NULL;
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        const int c = strcmp(f->t[f->by_name[mid]].name, name);
        if (!c) return &f->t[f->by_name[mid]];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

size_t wk_st_n_metadata(const wk_st_file *f) { return f ? f->n_meta : 0; }
const char *wk_st_metadata_key(const wk_st_file *f, size_t i) { return f && i < f->n_meta ? f->meta[2 * i] : NULL; }
const char *wk_st_metadata_get(const wk_st_file *f, const char *key) {
    for (size_t i = 0; f && key && i < f->n_meta; i++)
        if (!strcmp(f->meta[2 * i], key)) return f->meta[2 * i + 1];
    return NULL;
}

/* ---- writer ------------------------------------------------------------------------------ */

typedef struct {
    char *name;
    wk_st_dtype dtype;
    int n_dims;
    int64_t shape[WK_ST_MAX_DIMS];
    uint64_t nbytes;
    const void *data;
    wk_st_fill_fn fill; /* streamed: data comes from fill(user, ...) at write time */
    void *user;
} wtensor;

struct wk_st_writer {
    wtensor *t;
    size_t n, cap;
    cJSON *meta;
};

wk_st_writer *wk_st_writer_new(void) {
    wk_st_writer *w = calloc(1, sizeof *w);
    if (w && !(w->meta = cJSON_CreateObject())) free(w), w = NULL;
    return w;
}

void wk_st_writer_free(wk_st_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) free(w->t[i].name);
    free(w->t);
    cJSON_Delete(w->meta);
    free(w);
}

int wk_st_writer_add(wk_st_writer *w, const char *name, wk_st_dtype dtype, int n_dims, const int64_t *shape,
                     const void *data) {
    if (!w || !name || !strcmp(name, "__metadata__") || (unsigned)dtype >= WK_ST_N_DTYPES || n_dims < 0 ||
        n_dims > WK_ST_MAX_DIMS)
        return fail("safetensors writer: bad tensor arguments");
    char nb[84];
    uint64_t ne = 1;
    for (int d = 0; d < n_dims; d++) {
        if (shape[d] < 0 || (shape[d] && ne > UINT64_MAX / (uint64_t)shape[d] / 8))
            return fail("safetensors writer: tensor '%s': bad shape", shown(name, nb));
        ne *= (uint64_t)shape[d];
    }
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->t[i].name, name)) return fail("safetensors writer: tensor '%s' added twice", shown(name, nb));
    if (w->n == w->cap) {
        const size_t cap = w->cap ? 2 * w->cap : 64;
        wtensor *nt = realloc(w->t, cap * sizeof *nt);
        if (!nt) return fail("safetensors writer: out of memory");
        w->t = nt, w->cap = cap;
    }
    wtensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name))) return fail("safetensors writer: out of memory");
    t->dtype = dtype, t->n_dims = n_dims, t->nbytes = ne * k_dtypes[dtype].size, t->data = data;
    for (int d = 0; d < n_dims; d++) t->shape[d] = shape[d];
    w->n++;
    return 0;
}

int wk_st_writer_add_fill(wk_st_writer *w, const char *name, wk_st_dtype dtype, int n_dims, const int64_t *shape,
                          wk_st_fill_fn fill, void *user) {
    if (!fill) return fail("safetensors writer: no fill function");
    if (wk_st_writer_add(w, name, dtype, n_dims, shape, NULL)) return -1;
    w->t[w->n - 1].fill = fill, w->t[w->n - 1].user = user;
    return 0;
}

int wk_st_writer_add_metadata(wk_st_writer *w, const char *key, const char *value) {
    if (!w || !key || !value) return fail("safetensors writer: bad metadata arguments");
    cJSON_DeleteItemFromObjectCaseSensitive(w->meta, key);
    return cJSON_AddStringToObject(w->meta, key, value) ? 0 : fail("safetensors writer: out of memory");
}

int wk_st_writer_write(wk_st_writer *w, const char *path) {
    if (!w || !path) return fail("safetensors writer: bad arguments");
    cJSON *root = cJSON_CreateObject();
    int rc = root ? 0 : fail("safetensors writer: out of memory");
    if (!rc && cJSON_GetArraySize(w->meta) > 0) {
        cJSON *m = cJSON_Duplicate(w->meta, 1);
        if (!m || !cJSON_AddItemToObject(root, "__metadata__", m)) rc = fail("safetensors writer: out of memory");
    }
    uint64_t at = 0;
    for (size_t i = 0; i < w->n && !rc; i++) {
        const wtensor *t = &w->t[i];
        cJSON *e = cJSON_AddObjectToObject(root, t->name);
        cJSON *sh = e ? cJSON_AddArrayToObject(e, "shape") : NULL;
        cJSON *off = e ? cJSON_AddArrayToObject(e, "data_offsets") : NULL;
        if (!e || !cJSON_AddStringToObject(e, "dtype", k_dtypes[t->dtype].name) || !sh || !off) {
            rc = fail("safetensors writer: out of memory");
            break;
        }
        for (int d = 0; d < t->n_dims; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[d]));
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)at));
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)(at + t->nbytes)));
        at += t->nbytes;
    }
    char *hdr = rc ? NULL : cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!rc && !hdr) rc = fail("safetensors writer: out of memory");
    if (rc) return free(hdr), -1;
    size_t hl = strlen(hdr);
    const size_t padded = (hl + 7) / 8 * 8; /* the data buffer starts 8-byte aligned */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(hdr);
        return fail("%s: cannot write: %s", tmp, strerror(errno));
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    bool bad = fwrite(len8, 1, 8, f) != 8 || fwrite(hdr, 1, hl, f) != hl;
    for (size_t i = hl; i < padded && !bad; i++) bad = fputc(' ', f) == EOF;
    uint64_t most = 0; /* the scratch buffer of streamed tensors */
    for (size_t i = 0; i < w->n; i++)
        if (w->t[i].fill && w->t[i].nbytes > most) most = w->t[i].nbytes;
    void *scratch = most ? malloc((size_t)most) : NULL;
    if (most && !scratch) bad = true, errno = ENOMEM;
    for (size_t i = 0; i < w->n && !bad; i++) {
        const void *d = w->t[i].data;
        if (w->t[i].fill) {
            if (w->t[i].fill(w->t[i].user, scratch, w->t[i].nbytes)) {
                bad = true, errno = EIO;
                break;
            }
            d = scratch;
        }
        bad = w->t[i].nbytes && fwrite(d, 1, w->t[i].nbytes, f) != w->t[i].nbytes;
    }
    free(scratch);
    free(hdr);
    if (fclose(f) || bad || rename(tmp, path)) {
        const int e = errno;
        remove(tmp);
        return fail("%s: writing failed: %s", path, strerror(e ? e : EIO));
    }
    return 0;
}
