/* teacher.c — the teacher of `wick distill` (teacher.h). The B sequences of a batch are one
 * multi-sequence wk_decode (sequence b at positions 0..T-1, every row asking for logits).
 *
 * Top-k cache file, little-endian: a 64-byte header
 *   0 "WKTKC1\0\0"  8 u32 version (1)  12 u32 k  16 u64 B  24 u64 T  32 u64 n_vocab
 *   40 u64 teacher file size  48 u64 hash of the teacher's first MiB  56 u64 reserved
 * then record w (training window w) at 64 + w * (8 + B*T*k*8): a u64 tag (FNV-1a of the
 * window's tokens, never 0), then per position k (i32 id, f32 logit) pairs, most likely
 * first. The tag is written after the pairs, so a record that was cut short, or one made
 * from other tokens, reads as absent and is recomputed. */
#include "teacher.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_MAGIC "WKTKC1\0\0"
#define CACHE_HEADER 64

struct wk_teacher {
    const char *cmd;
    wk_model *model;
    wk_context *ctx;
    int64_t B, T;
    int32_t n_vocab;
    int top_k;
    int32_t *pos, *seq;
    int8_t *want;
    int32_t *ids;   /* top-k: B*T*k ids and logits of the current window */
    float *logit;
    FILE *cache;
    size_t rec_size;
};

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static int file_id(const char *path, uint64_t *size, uint64_t *hash) {
    FILE *f = fopen(path, "rb");
    if (!f) return 1;
    static unsigned char buf[1 << 16];
    uint64_t h = 0xcbf29ce484222325ull, n = 0;
    size_t r;
    while (n < (1u << 20) && (r = fread(buf, 1, sizeof buf, f)) > 0) h = fnv1a(h, buf, r), n += r;
    struct stat st;
    const int bad = fstat(fileno(f), &st) != 0;
    fclose(f);
    *size = bad ? 0 : (uint64_t)st.st_size, *hash = h;
    return bad;
}

static void put_u32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_u64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }

static int open_cache(wk_teacher *t, const char *path, const char *teacher_path) {
    uint64_t tsize = 0, thash = 0;
    if (file_id(teacher_path, &tsize, &thash)) {
        fprintf(stderr, "%s: cannot read %s\n", t->cmd, teacher_path);
        return 1;
    }
    unsigned char want[CACHE_HEADER] = {0}, have[CACHE_HEADER];
    memcpy(want, CACHE_MAGIC, 8);
    put_u32(want + 8, 1), put_u32(want + 12, (uint32_t)t->top_k);
    put_u64(want + 16, (uint64_t)t->B), put_u64(want + 24, (uint64_t)t->T), put_u64(want + 32, (uint64_t)t->n_vocab);
    put_u64(want + 40, tsize), put_u64(want + 48, thash);
    t->cache = fopen(path, "r+b");
    if (t->cache) {
        if (fread(have, 1, CACHE_HEADER, t->cache) != CACHE_HEADER || memcmp(have, want, CACHE_HEADER)) {
            fprintf(stderr, "%s: --teacher-cache %s was made for another teacher, batch shape or --teacher-top-k "
                            "(or is not a teacher cache); remove it or name another file\n", t->cmd, path);
            return 1;
        }
    } else if (errno == ENOENT && (t->cache = fopen(path, "w+b"))) {
        if (fwrite(want, 1, CACHE_HEADER, t->cache) != CACHE_HEADER || fflush(t->cache)) {
            fprintf(stderr, "%s: cannot write --teacher-cache %s: %s\n", t->cmd, path, strerror(errno));
            return 1;
        }
    } else {
        fprintf(stderr, "%s: cannot open --teacher-cache %s: %s\n", t->cmd, path, strerror(errno));
        return 1;
    }
    t->rec_size = 8 + (size_t)(t->B * t->T) * (size_t)t->top_k * 8;
    return 0;
}

int wk_teacher_open(const char *cmd, const char *path, int64_t B, int64_t T, int threads, int top_k,
                    const char *cache_path, wk_teacher **out) {
    *out = NULL;
    wk_teacher *t = calloc(1, sizeof *t);
    if (!t) return fprintf(stderr, "%s: out of memory\n", cmd), 1;
    t->cmd = cmd, t->B = B, t->T = T, t->top_k = top_k;
    const int64_t N = B * T;
    if (wk_model_load(path, NULL, &t->model) != WK_OK) {
        fprintf(stderr, "%s: --teacher %s: %s\n", cmd, path, wk_last_error());
        goto fail;
    }
    t->n_vocab = wk_model_n_vocab(t->model);
    if (top_k > t->n_vocab) t->top_k = top_k = t->n_vocab;
    wk_context_params cp = wk_context_default_params();
    cp.n_ctx = (uint32_t)N, cp.n_batch = (uint32_t)(N < 1024 ? N : 1024), cp.n_seq_max = (uint32_t)B;
    cp.n_threads = threads;
    if (wk_context_create(t->model, &cp, &t->ctx) != WK_OK) {
        fprintf(stderr, "%s: --teacher %s: %s\n", cmd, path, wk_last_error());
        goto fail;
    }
    t->pos = malloc((size_t)N * sizeof *t->pos);
    t->seq = malloc((size_t)N * sizeof *t->seq);
    t->want = malloc((size_t)N);
    if (top_k > 0) {
        t->ids = malloc((size_t)N * (size_t)top_k * sizeof *t->ids);
        t->logit = malloc((size_t)N * (size_t)top_k * sizeof *t->logit);
    }
    if (!t->pos || !t->seq || !t->want || (top_k > 0 && (!t->ids || !t->logit))) {
        fprintf(stderr, "%s: out of memory for the teacher\n", cmd);
        goto fail;
    }
    for (int64_t i = 0; i < N; i++) t->pos[i] = (int32_t)(i % T), t->seq[i] = (int32_t)(i / T), t->want[i] = 1;
    if (cache_path && open_cache(t, cache_path, path)) goto fail;
    *out = t;
    return 0;
fail:
    wk_teacher_free(t);
    return 1;
}

void wk_teacher_free(wk_teacher *t) {
    if (!t) return;
    if (t->cache) fclose(t->cache);
    wk_context_free(t->ctx);
    wk_model_free(t->model);
    free(t->pos), free(t->seq), free(t->want), free(t->ids), free(t->logit);
    free(t);
}

int32_t wk_teacher_n_vocab(const wk_teacher *t) { return t->n_vocab; }
const wk_vocab *wk_teacher_vocab(const wk_teacher *t) { return wk_model_vocab(t->model); }

/* the k largest of x[0..n) into ids/val, largest first (a sorted insertion list: k is small) */
static void top_k_of(const float *x, int32_t n, int k, int32_t *ids, float *val) {
    int have = 0;
    for (int32_t j = 0; j < n; j++) {
        const float v = x[j];
        if (have == k && !(v > val[k - 1])) continue;
        int at = have < k ? have++ : k - 1;
        while (at > 0 && val[at - 1] < v) val[at] = val[at - 1], ids[at] = ids[at - 1], at--;
        val[at] = v, ids[at] = j;
    }
}

/* a record of the cache into t->ids/t->logit when its tag matches */
static int cache_read(wk_teacher *t, int64_t window, uint64_t tag) {
    const long long off = CACHE_HEADER + (long long)window * (long long)t->rec_size;
    uint64_t have = 0;
    const size_t nk = (size_t)(t->B * t->T) * (size_t)t->top_k;
    if (fseeko(t->cache, off, SEEK_SET) || fread(&have, 8, 1, t->cache) != 1 || have != tag) return 1;
    for (size_t i = 0; i < nk; i++) {
        unsigned char pair[8];
        if (fread(pair, 8, 1, t->cache) != 1) return 1;
        memcpy(&t->ids[i], pair, 4), memcpy(&t->logit[i], pair + 4, 4);
        if (t->ids[i] < 0 || t->ids[i] >= t->n_vocab || !isfinite(t->logit[i])) return 1;
    }
    return 0;
}

static int cache_write(wk_teacher *t, int64_t window, uint64_t tag) {
    const long long off = CACHE_HEADER + (long long)window * (long long)t->rec_size;
    const size_t nk = (size_t)(t->B * t->T) * (size_t)t->top_k;
    const uint64_t zero = 0;
    int bad = fseeko(t->cache, off, SEEK_SET) || fwrite(&zero, 8, 1, t->cache) != 1;
    for (size_t i = 0; i < nk && !bad; i++) {
        unsigned char pair[8];
        memcpy(pair, &t->ids[i], 4), memcpy(pair + 4, &t->logit[i], 4);
        bad = fwrite(pair, 8, 1, t->cache) != 1;
    }
    /* the tag last: only a complete record is ever found */
    bad = bad || fflush(t->cache) || fseeko(t->cache, off, SEEK_SET) || fwrite(&tag, 8, 1, t->cache) != 1 ||
          fflush(t->cache);
    if (bad) fprintf(stderr, "\n%s: writing the teacher cache failed: %s\n", t->cmd, strerror(errno ? errno : EIO));
    return bad;
}

int wk_teacher_targets(wk_teacher *t, const int32_t *in, const int32_t *lab, int64_t window, float tau, float *out) {
    const int64_t N = t->B * t->T, V = t->n_vocab;
    const int k = t->top_k;
    uint64_t tag = 0;
    int cached = 0;
    if (t->cache && window >= 0) {
        tag = fnv1a(0xcbf29ce484222325ull, in, (size_t)N * sizeof *in) | 1;
        cached = !cache_read(t, window, tag);
    }
    if (!cached) {
        wk_kv_clear(t->ctx);
        const wk_batch b = {(int32_t)N, in, t->pos, t->seq, t->want};
        if (wk_decode(t->ctx, &b) != WK_OK) {
            fprintf(stderr, "\n%s: teacher: %s\n", t->cmd, wk_last_error());
            return 1;
        }
    }
    for (int64_t i = 0; i < N; i++) {
        float *row = out + (size_t)i * (size_t)V;
        memset(row, 0, (size_t)V * sizeof *row);
        const float *lg = cached ? NULL : wk_get_logits(t->ctx, (int32_t)i);
        if (!cached && !lg) {
            fprintf(stderr, "\n%s: teacher: no logits for row %lld\n", t->cmd, (long long)i);
            return 1;
        }
        if (k > 0) {
            int32_t *ids = t->ids + (size_t)i * (size_t)k;
            float *val = t->logit + (size_t)i * (size_t)k;
            if (!cached) top_k_of(lg, (int32_t)V, k, ids, val);
            if (lab[i] < 0) continue;
            double sum = 0;
            for (int j = 0; j < k; j++) sum += exp((double)(val[j] - val[0]) / tau);
            for (int j = 0; j < k; j++) row[ids[j]] = (float)(exp((double)(val[j] - val[0]) / tau) / sum);
        } else {
            if (lab[i] < 0) continue;
            float mx = lg[0];
            for (int64_t j = 1; j < V; j++) mx = lg[j] > mx ? lg[j] : mx;
            double sum = 0;
            const float it = 1.0f / tau;
            for (int64_t j = 0; j < V; j++) sum += row[j] = expf((lg[j] - mx) * it);
            const float s = (float)(1.0 / sum);
            for (int64_t j = 0; j < V; j++) row[j] *= s;
        }
    }
    if (t->cache && window >= 0 && !cached && cache_write(t, window, tag)) return 1;
    return 0;
}

int wk_teacher_same_vocab(const char *cmd, const wk_vocab *a, const wk_vocab *b, const char *student_name) {
    const int32_t na = wk_vocab_n_tokens(a), nb = wk_vocab_n_tokens(b);
    if (na != nb) {
        fprintf(stderr, "%s: the teacher and %s do not share a tokenizer (%d vs %d tokens); distillation compares "
                        "distributions over one vocabulary\n", cmd, student_name, na, nb);
        return 1;
    }
    for (int32_t i = 0; i < na; i++) {
        size_t la = 0, lb = 0;
        const char *ta = wk_vocab_token_text(a, i, &la), *tb = wk_vocab_token_text(b, i, &lb);
        if (la != lb || (la && memcmp(ta, tb, la))) {
            fprintf(stderr, "%s: the teacher and %s do not share a tokenizer (token %d is '%.*s' vs '%.*s'); "
                            "distillation compares distributions over one vocabulary\n",
                    cmd, student_name, i, (int)(la > 40 ? 40 : la), ta ? ta : "", (int)(lb > 40 ? 40 : lb), tb ? tb : "");
            return 1;
        }
    }
    return 0;
}
