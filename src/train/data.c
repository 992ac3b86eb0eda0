/* data.c — text corpus -> token shards for training (`wick data`). A document is a paragraph:
 * a maximal run of non-blank lines, after CRLF/CR -> LF and stripping trailing blanks from
 * each line (no Unicode normalization; text must be valid UTF-8). Exact duplicates are found
 * by hash + byte compare; near duplicates by MinHash over word 5-shingles with LSH banding
 * (16 bands x 8 rows, fixed seeds) whose candidates are confirmed by the exact Jaccard
 * similarity of the shingle sets, so the result does not depend on hash luck beyond
 * candidate recall. The first occurrence is kept. Kept documents go to train or val by a
 * seeded shuffle, are written in input order, each followed by the vocabulary's EOS (if it
 * has one). All three outputs are written to temp files first and renamed at the end. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/runtime/tokenizer_internal.h"
#include "train.h"

#define NOMEM() wk_err(WK_ERR_NOMEM, "data: out of memory")

#define MH_BANDS 16
#define MH_ROWS 8
#define MH_PERM (MH_BANDS * MH_ROWS)
#define SHINGLE_WORDS 5

static uint64_t mix64(uint64_t x) {  /* splitmix64 finalizer */
    x ^= x >> 30, x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27, x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t rng_next(uint64_t *state) {  /* splitmix64 stream */
    *state += 0x9e3779b97f4a7c15ull;
    return mix64(*state);
}

/* ---- documents ---------------------------------------------------------------------------- */

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

typedef struct {
    char **docs;
    size_t n, cap;
} doc_list;

static wk_status push_doc(doc_list *l, const char *s, size_t n) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        char **d = realloc(l->docs, cap * sizeof *d);
        if (!d) return NOMEM();
        l->docs = d, l->cap = cap;
    }
    char *c = malloc(n + 1);
    if (!c) return NOMEM();
    memcpy(c, s, n);
    c[n] = 0;
    l->docs[l->n++] = c;
    return WK_OK;
}

/* Appends the documents of text to l (see the header comment for the rule). */
static wk_status split_docs(const char *text, size_t len, doc_list *l) {
    char *cur = malloc(len + 1);  /* the document being built never outgrows the input */
    if (!cur) return NOMEM();
    size_t n = 0;
    wk_status st = WK_OK;
    for (size_t i = 0; i <= len && !st;) {
        size_t e = i;
        while (e < len && text[e] != '\n' && text[e] != '\r') e++;
        size_t end = e;
        while (end > i && is_blank(text[end - 1])) end--;
        if (end > i) {  /* a non-blank line: joins the current document */
            if (n) cur[n++] = '\n';
            memcpy(cur + n, text + i, end - i);
            n += end - i;
        } else if (n) {  /* a blank line ends it */
            st = push_doc(l, cur, n);
            n = 0;
        }
        if (e >= len) break;
        i = e + 1 + (text[e] == '\r' && e + 1 < len && text[e + 1] == '\n');
    }
    if (!st && n) st = push_doc(l, cur, n);
    free(cur);
    return st;
}

void wk_data_free_docs(char **docs, size_t n_docs) {
    for (size_t i = 0; docs && i < n_docs; i++) free(docs[i]);
    free(docs);
}

wk_status wk_data_split_docs(const char *text, size_t len, char ***docs, size_t *n_docs) {
    doc_list l = {0};
    wk_status st = split_docs(text, len, &l);
    if (st) {
        wk_data_free_docs(l.docs, l.n);
        return st;
    }
    *docs = l.docs, *n_docs = l.n;
    return WK_OK;
}

/* ---- deduplication ---------------------------------------------------------------------- */

/* uint64 key -> chain of ints (doc ids), open addressing; heads index `next`/`val`. */
typedef struct {
    uint64_t *keys;
    int32_t *heads;  /* entry index + 1; 0 = empty slot */
    size_t mask, used;
    int32_t *val, *next;
    size_t n_ent, cap_ent;
} multimap;

static wk_status mm_init(multimap *m, size_t slots) {
    size_t cap = 1024;
    while (cap < 2 * slots) cap *= 2;
    m->keys = calloc(cap, sizeof *m->keys);
    m->heads = calloc(cap, sizeof *m->heads);
    m->mask = cap - 1;
    return m->keys && m->heads ? WK_OK : NOMEM();
}

static void mm_free(multimap *m) {
    free(m->keys), free(m->heads), free(m->val), free(m->next);
}

static size_t mm_slot(const multimap *m, uint64_t key) {
    size_t i = mix64(key) & m->mask;
    while (m->heads[i] && m->keys[i] != key) i = (i + 1) & m->mask;
    return i;
}

static int32_t mm_first(const multimap *m, uint64_t key) { return m->heads[mm_slot(m, key)] - 1; }

static wk_status mm_add(multimap *m, uint64_t key, int32_t v) {
    if (2 * (m->used + 1) > m->mask + 1) {  /* grow the slot table */
        multimap g = *m;
        size_t cap = 2 * (m->mask + 1);
        g.keys = calloc(cap, sizeof *g.keys);
        g.heads = calloc(cap, sizeof *g.heads);
        if (!g.keys || !g.heads) {
            free(g.keys), free(g.heads);
            return NOMEM();
        }
        g.mask = cap - 1;
        for (size_t i = 0; i <= m->mask; i++)
            if (m->heads[i]) {
                size_t j = mm_slot(&g, m->keys[i]);
                g.keys[j] = m->keys[i], g.heads[j] = m->heads[i];
            }
        free(m->keys), free(m->heads);
        *m = g;
    }
    if (m->n_ent == m->cap_ent) {
        size_t cap = m->cap_ent ? 2 * m->cap_ent : 1024;
        int32_t *v2 = realloc(m->val, cap * sizeof *v2);
        if (!v2) return NOMEM();
        m->val = v2;
        int32_t *n2 = realloc(m->next, cap * sizeof *n2);
        if (!n2) return NOMEM();
        m->next = n2, m->cap_ent = cap;
    }
    size_t i = mm_slot(m, key);
    if (!m->heads[i]) m->used++, m->keys[i] = key;
    m->val[m->n_ent] = v;
    m->next[m->n_ent] = m->heads[i] - 1;
    m->heads[i] = (int32_t)++m->n_ent;
    return WK_OK;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The sorted, distinct hashes of a document's word 5-shingles (words: runs of non-space
 * bytes, ASCII-lowercased; a document of fewer words is one shingle). */
static wk_status shingles(const char *d, uint64_t **out, size_t *n_out) {
    size_t nw = 0, cap = 64;
    uint64_t *w = malloc(cap * sizeof *w);
    if (!w) return NOMEM();
    for (const char *p = d; *p;) {
        while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\v' || *p == '\f') p++;
        if (!*p) break;
        uint64_t h = 0xcbf29ce484222325ull;
        for (; *p && !(*p == ' ' || *p == '\n' || *p == '\t' || *p == '\v' || *p == '\f'); p++) {
            unsigned char c = (unsigned char)*p;
            h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32 : c)) * 0x100000001b3ull;
        }
        if (nw == cap) {
            uint64_t *w2 = realloc(w, 2 * cap * sizeof *w2);
            if (!w2) {
                free(w);
                return NOMEM();
            }
            w = w2, cap *= 2;
        }
        w[nw++] = h;
    }
    size_t ns = nw >= SHINGLE_WORDS ? nw - SHINGLE_WORDS + 1 : 1;
    uint64_t *s = malloc(ns * sizeof *s);
    if (!s) {
        free(w);
        return NOMEM();
    }
    for (size_t i = 0; i < ns; i++) {
        uint64_t h = 0x5348494e474c45ull;  /* order matters: chain, not xor */
        for (size_t k = i; k < i + SHINGLE_WORDS && k < nw; k++) h = mix64(h ^ w[k]) + k - i;
        s[i] = h;
    }
    free(w);
    qsort(s, ns, sizeof *s, cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < ns; i++)
        if (u == 0 || s[i] != s[u - 1]) s[u++] = s[i];
    *out = s, *n_out = u;
    return WK_OK;
}

static double jaccard(const uint64_t *a, size_t na, const uint64_t *b, size_t nb) {
    size_t i = 0, j = 0, inter = 0;
    while (i < na && j < nb) {
        if (a[i] == b[j]) inter++, i++, j++;
        else if (a[i] < b[j]) i++;
        else j++;
    }
    return (double)inter / (double)(na + nb - inter);
}

/* keep[i] = 0 for the documents dropped; counts what was dropped and why. */
static wk_status dedup_docs(char **docs, size_t n, wk_dedup mode, double thr, uint8_t *keep,
                            wk_data_stats *stats) {
    for (size_t i = 0; i < n; i++) keep[i] = 1;
    if (mode == WK_DEDUP_NONE) return WK_OK;
    multimap exact = {0}, bands = {0};
    uint64_t **sh = calloc(n ? n : 1, sizeof *sh);
    size_t *nsh = calloc(n ? n : 1, sizeof *nsh);
    uint32_t *seen = calloc(n ? n : 1, sizeof *seen);  /* candidate already checked for doc i + 1 */
    wk_status st = (!sh || !nsh || !seen) ? NOMEM() : mm_init(&exact, n);
    if (!st && mode == WK_DEDUP_MINHASH) st = mm_init(&bands, n * MH_BANDS);
    uint64_t seeds[MH_PERM];
    for (int k = 0; k < MH_PERM; k++) seeds[k] = mix64(0x6d696e68617368ull + (uint64_t)k);
    for (size_t i = 0; i < n && !st; i++) {
        size_t len = strlen(docs[i]);
        uint64_t h = tok_hash(docs[i], len);
        bool dup = false;
        for (int32_t e = mm_first(&exact, h); e >= 0 && !dup; e = exact.next[e])
            dup = strcmp(docs[exact.val[e]], docs[i]) == 0;
        if (dup) {
            keep[i] = 0, stats->dropped_exact++;
            continue;
        }
        if (mode == WK_DEDUP_MINHASH) {
            if ((st = shingles(docs[i], &sh[i], &nsh[i]))) break;
            uint64_t mh[MH_PERM], bkey[MH_BANDS];
            for (int k = 0; k < MH_PERM; k++) {
                uint64_t m = UINT64_MAX;
                for (size_t j = 0; j < nsh[i]; j++) {
                    uint64_t v = mix64(sh[i][j] ^ seeds[k]);
                    if (v < m) m = v;
                }
                mh[k] = m;
            }
            for (int b = 0; b < MH_BANDS && !dup; b++) {
                uint64_t key = mix64(0xba11dull + (uint64_t)b);
                for (int r = 0; r < MH_ROWS; r++) key = mix64(key ^ mh[b * MH_ROWS + r]);
                bkey[b] = key;
                for (int32_t e = mm_first(&bands, key); e >= 0 && !dup; e = bands.next[e]) {
                    int32_t c = bands.val[e];
                    if (seen[c] == i + 1) continue;
                    seen[c] = (uint32_t)(i + 1);
                    dup = jaccard(sh[i], nsh[i], sh[c], nsh[c]) >= thr;
                }
            }
            if (dup) {
                keep[i] = 0, stats->dropped_near++;
                free(sh[i]), sh[i] = NULL;
                continue;
            }
            for (int b = 0; b < MH_BANDS && !st; b++) st = mm_add(&bands, bkey[b], (int32_t)i);
        }
        if (!st) st = mm_add(&exact, h, (int32_t)i);
    }
    for (size_t i = 0; sh && i < n; i++) free(sh[i]);
    free(sh), free(nsh), free(seen);
    mm_free(&exact), mm_free(&bands);
    return st;
}

/* ---- output --------------------------------------------------------------------------------- */

static void put_u16(unsigned char *p, uint32_t v) { p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8); }
static void put_u32(unsigned char *p, uint32_t v) { put_u16(p, v), put_u16(p + 2, v >> 16); }
static void put_u64(unsigned char *p, uint64_t v) { put_u32(p, (uint32_t)v), put_u32(p + 4, (uint32_t)(v >> 32)); }

typedef struct {
    char *tmp;    /* temp path, NULL once renamed or removed */
    char *final;
    FILE *f;
} out_file;

static wk_status out_open(out_file *o, const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 32;
    o->final = malloc(n);
    o->tmp = malloc(n);
    if (!o->final || !o->tmp) return NOMEM();
    snprintf(o->final, n, "%s/%s", dir, name);
    snprintf(o->tmp, n, "%s/.%s.tmp-XXXXXX", dir, name);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        wk_status st = wk_err(WK_ERR_IO, "data: cannot create a file in %s: %s", dir, strerror(errno));
        free(o->tmp), o->tmp = NULL;
        return st;
    }
    fchmod(fd, 0644);
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        close(fd);
        return wk_err(WK_ERR_IO, "data: %s: %s", o->tmp, strerror(errno));
    }
    return WK_OK;
}

/* Flushes, syncs and closes (the rename comes later, once every file is complete). */
static wk_status out_close(out_file *o) {
    bool ok = fflush(o->f) == 0 && !ferror(o->f) && fsync(fileno(o->f)) == 0;
    int err = errno;
    ok = (fclose(o->f) == 0) && ok;
    o->f = NULL;
    return ok ? WK_OK : wk_err(WK_ERR_IO, "data: cannot write %s: %s", o->final, strerror(err));
}

static void out_drop(out_file *o) {
    if (o->f) fclose(o->f);
    if (o->tmp) unlink(o->tmp);
    free(o->tmp), free(o->final);
    *o = (out_file){0};
}

typedef struct {
    wk_token *ids;       /* every kept document's ids, one after another */
    size_t *off;         /* document i: ids[off[i] .. off[i + 1]) */
    size_t n_ids, cap_ids;
} token_store;

static wk_status write_shard(out_file *o, const token_store *ts, size_t n_kept,
                             const uint8_t *is_val, bool val, wk_token eos, uint32_t n_vocab,
                             uint64_t *n_tokens) {
    uint64_t total = 0;
    for (size_t k = 0; k < n_kept; k++)
        if (is_val[k] == val) total += ts->off[k + 1] - ts->off[k] + (eos >= 0);
    unsigned char h[WK_SHARD_HEADER] = {0}, buf[4096];
    uint32_t width = n_vocab < 65536 ? 2 : 4;
    memcpy(h, WK_SHARD_MAGIC, 6);
    put_u16(h + 6, WK_SHARD_VERSION);
    put_u32(h + 8, n_vocab);
    put_u32(h + 12, width);
    put_u64(h + 16, total);
    fwrite(h, 1, sizeof h, o->f);
    size_t nb = 0;
    for (size_t k = 0; k < n_kept; k++) {
        if (is_val[k] != val) continue;
        for (size_t j = ts->off[k]; j <= ts->off[k + 1]; j++) {
            wk_token id = j < ts->off[k + 1] ? ts->ids[j] : eos;
            if (id < 0) continue;  /* no EOS in this vocabulary */
            if (width == 2) put_u16(buf + nb, (uint32_t)id);
            else put_u32(buf + nb, (uint32_t)id);
            nb += width;
            if (nb == sizeof buf) fwrite(buf, 1, nb, o->f), nb = 0;
        }
    }
    if (nb) fwrite(buf, 1, nb, o->f);
    *n_tokens = total;
    return WK_OK;  /* write errors surface in out_close */
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void write_meta(FILE *f, const char *tok_name, const wk_vocab *v, const wk_data_params *p,
                       const wk_data_stats *s) {
    static const char *const dedup_names[] = {"none", "exact", "minhash"};
    int32_t nv = wk_vocab_n_tokens(v);
    fprintf(f, "{\n  \"format\": \"%s\",\n  \"version\": %d,\n  \"tokenizer\": ", WK_SHARD_MAGIC, WK_SHARD_VERSION);
    json_str(f, tok_name ? tok_name : "");
    fprintf(f,
            ",\n  \"vocab_size\": %d,\n  \"dtype\": \"%s\",\n  \"eos_token\": %d,\n"
            "  \"val_fraction\": %.6g,\n  \"seed\": %llu,\n  \"dedup\": \"%s\",\n",
            (int)nv, nv < 65536 ? "uint16" : "uint32", (int)wk_vocab_eos(v), p->val_fraction,
            (unsigned long long)p->seed, dedup_names[p->dedup]);
    fprintf(f,
            "  \"documents\": {\"in\": %llu, \"kept\": %llu, \"dropped_exact\": %llu, "
            "\"dropped_near\": %llu},\n",
            (unsigned long long)s->docs_in, (unsigned long long)s->docs_kept,
            (unsigned long long)s->dropped_exact, (unsigned long long)s->dropped_near);
    fprintf(f, "  \"train\": {\"documents\": %llu, \"tokens\": %llu},\n",
            (unsigned long long)s->train_docs, (unsigned long long)s->train_tokens);
    fprintf(f, "  \"val\": {\"documents\": %llu, \"tokens\": %llu}\n}\n",
            (unsigned long long)s->val_docs, (unsigned long long)s->val_tokens);
}

/* ---- the pipeline ---------------------------------------------------------------------- */

static wk_status read_file(const char *path, char **buf, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return wk_err(WK_ERR_IO, "data: cannot open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    wk_status st = b ? WK_OK : NOMEM();
    while (!st) {
        if (n == cap) {
            char *b2 = realloc(b, cap * 2);
            if (!b2) {
                st = NOMEM();
                break;
            }
            b = b2, cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (!st && ferror(f)) st = wk_err(WK_ERR_IO, "data: cannot read %s: %s", path, strerror(errno));
    fclose(f);
    if (st) {
        free(b);
        return st;
    }
    for (size_t i = 0; i < n;) {
        int k = utf8_seq_len((const unsigned char *)b + i, n - i);
        if (k == 0) {
            free(b);
            return wk_err(WK_ERR_FORMAT, "data: %s: invalid UTF-8 at byte %zu", path, i);
        }
        i += (size_t)k;
    }
    *buf = b, *len = n;
    return WK_OK;
}

static wk_status tokenize_docs(const wk_vocab *v, char **docs, const size_t *kept, size_t n_kept,
                               token_store *ts) {
    ts->off = malloc((n_kept + 1) * sizeof *ts->off);
    if (!ts->off) return NOMEM();
    ts->off[0] = 0;
    for (size_t k = 0; k < n_kept; k++) {
        const char *d = docs[kept[k]];
        size_t len = strlen(d), need = 0;
        wk_status st = wk_tokenize(v, d, len, false, false, NULL, 0, &need);
        if (st) return wk_err(st, "data: document %zu: %s", kept[k] + 1, wk_last_error());
        if (ts->n_ids + need > ts->cap_ids) {
            size_t cap = ts->cap_ids ? ts->cap_ids : 1 << 16;
            while (cap < ts->n_ids + need) cap *= 2;
            wk_token *ids = realloc(ts->ids, cap * sizeof *ids);
            if (!ids) return NOMEM();
            ts->ids = ids, ts->cap_ids = cap;
        }
        st = wk_tokenize(v, d, len, false, false, ts->ids + ts->n_ids, need, &need);
        if (st) return wk_err(st, "data: document %zu: %s", kept[k] + 1, wk_last_error());
        ts->n_ids += need;
        ts->off[k + 1] = ts->n_ids;
    }
    return WK_OK;
}

/* Creates dir if missing; *created says whether it did (to remove it again on failure). */
static wk_status ensure_dir(const char *dir, bool *created) {
    struct stat sb;
    *created = false;
    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) return wk_err(WK_ERR_IO, "data: %s exists and is not a directory", dir);
        return WK_OK;
    }
    if (mkdir(dir, 0777) != 0) return wk_err(WK_ERR_IO, "data: cannot create directory %s: %s", dir, strerror(errno));
    *created = true;
    return WK_OK;
}

wk_status wk_data_prepare(const char *const *inputs, int n_inputs, const wk_vocab *v,
                          const char *tokenizer_name, const char *out_dir,
                          const wk_data_params *p, wk_data_stats *stats) {
    if (!inputs || n_inputs < 1 || !v || !out_dir || !p || !stats)
        return wk_err(WK_ERR_INVALID_ARG, "data: bad argument");
    if (!(p->val_fraction >= 0 && p->val_fraction < 1))
        return wk_err(WK_ERR_INVALID_ARG, "data: val fraction %g is not in [0, 1)", p->val_fraction);
    if (p->dedup != WK_DEDUP_NONE && p->dedup != WK_DEDUP_EXACT && p->dedup != WK_DEDUP_MINHASH)
        return wk_err(WK_ERR_INVALID_ARG, "data: unknown dedup mode %d", (int)p->dedup);
    double thr = p->near_threshold > 0 ? p->near_threshold : 0.8;
    if (thr > 1) return wk_err(WK_ERR_INVALID_ARG, "data: near-duplicate threshold %g is above 1", thr);
    *stats = (wk_data_stats){0};

    doc_list docs = {0};
    wk_status st = WK_OK;
    for (int i = 0; i < n_inputs && !st; i++) {
        char *text = NULL;
        size_t len = 0;
        if (!(st = read_file(inputs[i], &text, &len))) st = split_docs(text, len, &docs);
        free(text);
    }
    if (!st && docs.n > INT32_MAX - 1) st = wk_err(WK_ERR_INVALID_ARG, "data: too many documents");
    if (!st && docs.n == 0) st = wk_err(WK_ERR_INVALID_ARG, "data: the input has no documents (only blank lines)");

    uint8_t *keep = NULL, *is_val = NULL;
    size_t *kept = NULL, n_kept = 0;
    token_store ts = {0};
    if (!st) {
        stats->docs_in = docs.n;
        keep = malloc(docs.n), kept = malloc(docs.n * sizeof *kept), is_val = calloc(docs.n, 1);
        st = (!keep || !kept || !is_val) ? NOMEM() : dedup_docs(docs.docs, docs.n, p->dedup, thr, keep, stats);
    }
    if (!st) {
        for (size_t i = 0; i < docs.n; i++)
            if (keep[i]) kept[n_kept++] = i;
        stats->docs_kept = n_kept;
        st = tokenize_docs(v, docs.docs, kept, n_kept, &ts);
    }
    if (!st) {  /* train/val by document: the first n_val of a seeded shuffle go to val */
        size_t *perm = malloc(n_kept * sizeof *perm);
        if (!perm) st = NOMEM();
        uint64_t rs = p->seed;
        for (size_t k = 0; perm && k < n_kept; k++) perm[k] = k;
        for (size_t k = n_kept; perm && k > 1; k--) {
            size_t j = (size_t)(rng_next(&rs) % k);
            size_t t = perm[k - 1];
            perm[k - 1] = perm[j], perm[j] = t;
        }
        size_t n_val = (size_t)floor(p->val_fraction * (double)n_kept + 0.5);
        if (p->val_fraction > 0 && n_val == 0 && n_kept >= 2) n_val = 1;
        if (n_val >= n_kept && n_kept > 0) n_val = n_kept - 1;  /* train is never empty */
        for (size_t k = 0; perm && k < n_val; k++) is_val[perm[k]] = 1;
        free(perm);
        stats->val_docs = n_val, stats->train_docs = n_kept - n_val;
    }

    bool created = false;
    out_file of[3] = {{0}};
    static const char *const names[3] = {"train.bin", "val.bin", "meta.json"};
    if (!st) st = ensure_dir(out_dir, &created);
    for (int i = 0; i < 3 && !st; i++) st = out_open(&of[i], out_dir, names[i]);
    if (!st) {
        uint32_t nv = (uint32_t)wk_vocab_n_tokens(v);
        wk_token eos = wk_vocab_eos(v);
        write_shard(&of[0], &ts, n_kept, is_val, false, eos, nv, &stats->train_tokens);
        write_shard(&of[1], &ts, n_kept, is_val, true, eos, nv, &stats->val_tokens);
        write_meta(of[2].f, tokenizer_name, v, p, stats);
    }
    for (int i = 0; i < 3 && !st; i++) st = out_close(&of[i]);
    for (int i = 0; i < 3 && !st; i++) {
        if (rename(of[i].tmp, of[i].final) != 0)
            st = wk_err(WK_ERR_IO, "data: cannot rename %s to %s: %s", of[i].tmp, of[i].final, strerror(errno));
        else
            free(of[i].tmp), of[i].tmp = NULL;
    }
    for (int i = 0; i < 3; i++) out_drop(&of[i]);
    if (st && created) rmdir(out_dir);  /* only if empty, i.e. nothing of ours got through */

    wk_data_free_docs(docs.docs, docs.n);
    free(keep), free(kept), free(is_val), free(ts.ids), free(ts.off);
    return st;
}
