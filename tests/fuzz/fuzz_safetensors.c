/* fuzz_safetensors.c — libFuzzer target for the safetensors reader and writer. Every input
 * goes through wk_st_open_memory; an accepted file has every tensor's bytes and every
 * metadata entry touched, each tensor found again by name, and is copied through the writer:
 * the copy must open again with the same tensors (names, dtypes, shapes, bytes). A rejected
 * file must leave a one-line message. Built with -DWK_FUZZ_MAIN, a small main() replays
 * files and directories instead (the safetensors_fuzz_regress ctest). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safetensors.h"

#define PROP(c)                                                                                          \
    do {                                                                                                 \
        if (!(c)) {                                                                                      \
            fprintf(stderr, "property failed: %s (%s:%d) [%s]\n", #c, __FILE__, __LINE__, wk_st_last_error()); \
            abort();                                                                                     \
        }                                                                                                \
    } while (0)

static volatile uint64_t g_sink;

static void touch(const void *p, uint64_t n) {
    const uint8_t *b = p;
    if (n) g_sink += b[0] + b[n - 1];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wk_st_file *f = NULL;
    if (wk_st_open_memory(data, size, &f)) {
        const char *e = wk_st_last_error();
        PROP(e[0] && !strchr(e, '\n'));
        return 0;
    }
    const size_t n = wk_st_n_tensors(f);
    wk_st_writer *w = wk_st_writer_new();
    PROP(w);
    for (size_t i = 0; i < n; i++) {
        const wk_st_tensor *t = wk_st_tensor_at(f, i);
        touch(t->data, t->nbytes);
        PROP(wk_st_find(f, t->name) == t);
        PROP(t->nbytes == t->n_elements * wk_st_dtype_size(t->dtype));
        PROP(wk_st_writer_add(w, t->name, t->dtype, t->n_dims, t->shape, t->data) == 0);
    }
    for (size_t i = 0; i < wk_st_n_metadata(f); i++) {
        const char *k = wk_st_metadata_key(f, i), *v = wk_st_metadata_get(f, k);
        PROP(k && v);
        touch(v, strlen(v));
        PROP(wk_st_writer_add_metadata(w, k, v) == 0);
    }
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz-st-%ld.safetensors", (long)getpid());
    PROP(wk_st_writer_write(w, path) == 0);
    wk_st_writer_free(w);
    wk_st_file *g = NULL;
    PROP(wk_st_open(path, &g) == 0);
    PROP(wk_st_n_tensors(g) == n && wk_st_n_metadata(g) == wk_st_n_metadata(f));
    for (size_t i = 0; i < n; i++) {
        const wk_st_tensor *a = wk_st_tensor_at(f, i), *b = wk_st_find(g, a->name);
        PROP(b && b->dtype == a->dtype && b->n_dims == a->n_dims && b->nbytes == a->nbytes);
        PROP(!memcmp(a->shape, b->shape, sizeof a->shape[0] * (size_t)a->n_dims));
        PROP(!a->nbytes || !memcmp(a->data, b->data, a->nbytes));
    }
    wk_st_close(g);
    remove(path);
    wk_st_close(f);
    return 0;
}

#ifdef WK_FUZZ_MAIN
#include <dirent.h>
#include <sys/stat.h>

static int run_file(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return fprintf(stderr, "cannot open %s\n", path), 1;
    fseek(fp, 0, SEEK_END);
    const long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    const size_t got = b ? fread(b, 1, (size_t)n, fp) : 0;
    fclose(fp);
    if (!b || got != (size_t)n) return free(b), fprintf(stderr, "cannot read %s\n", path), 1;
    wk_st_file *f = NULL;
    const int ok = wk_st_open_memory(b, (size_t)n, &f) == 0;
    wk_st_close(f);
    LLVMFuzzerTestOneInput(b, (size_t)n);
    printf("  %-60s %8ld bytes  %s\n", path, n, ok ? "accepted" : wk_st_last_error());
    free(b);
    return 0;
}

int main(int argc, char **argv) {
    int files = 0, errors = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "missing: %s\n", argv[i]);
            errors++;
            continue;
        }
        if (!S_ISDIR(sb.st_mode)) {
            errors += run_file(argv[i]), files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
            errors += run_file(p), files++;
        }
        if (d) closedir(d);
    }
    printf("%d files replayed, %d errors\n", files, errors);
    return errors != 0 || files == 0;
}
#endif
