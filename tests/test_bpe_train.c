/* test_bpe_train.c — the byte-level BPE trainer and the token-shard pipeline (src/train):
 * merge sequences worked out by hand, round trips (tinyshakespeare, tricky UTF-8), the
 * written GGUF loading into the runtime, byte-identical output on reruns, hostile
 * arguments, and `wick data`'s document rule, duplicate removal, split and shard contents.
 * The cross-check against HF tokenizers is tests/train/check_train_cli.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "src/train/train.h"
#include "testutil.h"

static int g_fail = 0;
#define CHECK(c, ...)                                              \
    do {                                                           \
        if (!(c)) {                                                \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);            \
            printf(__VA_ARGS__);                                   \
            printf("\n");                                          \
            g_fail++;                                              \
        }                                                          \
    } while (0)

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) free(b), b = NULL;
    fclose(f);
    if (b) b[n] = 0, *len = (size_t)n;
    return b;
}

static wk_bpe_model *train(const char *pre, const char *text, size_t len, int32_t vocab, const char *const *sp,
                           int nsp) {
    wk_bpe_trainer *t = NULL;
    wk_bpe_model *m = NULL;
    if (wk_bpe_trainer_create(pre, &t) || wk_bpe_trainer_feed(t, text, len) ||
        wk_bpe_trainer_train(t, vocab, sp, nsp, &m))
        printf("train error: %s\n", wk_last_error());
    wk_bpe_trainer_free(t);
    return m;
}

/* ---- hand-worked merge sequences (each count checked in the comments) ---- */

static void check_merges(const char *name, const char *text, const char *const *want, int n_want) {
    wk_bpe_model *m = train("gpt-2", text, strlen(text), 300, NULL, 0);
    CHECK(m, "%s: training failed", name);
    if (!m) return;
    CHECK(m->n_merges == n_want, "%s: %d merges, want %d", name, (int)m->n_merges, n_want);
    for (int i = 0; i < n_want && i < m->n_merges; i++)
        CHECK(!strcmp(m->merges[i], want[i]), "%s: merge %d is '%s', want '%s'", name, i, m->merges[i], want[i]);
    CHECK(m->n_tokens == 256 + n_want, "%s: %d tokens", name, (int)m->n_tokens);
    /* GPT-2's byte order: '!' is id 0, 'a' 64, 'Ġ' (space) 220, 'Ā' (byte 0) 188 */
    CHECK(!strcmp(m->tokens[0], "!") && !strcmp(m->tokens[64], "a") && !strcmp(m->tokens[220], "\xC4\xA0") &&
              !strcmp(m->tokens[188], "\xC4\x80"),
          "%s: byte tokens out of GPT-2 order", name);
    printf("merges %-12s %d merges as worked by hand\n", name, (int)m->n_merges);
    wk_bpe_model_free(m);
}

static void test_hand_worked(void) {
    /* "aaabdaaabac" is one pre-token. Pair counts: aa 4, ab 2, bd/da/ba/ac 1.
     * 1. (a,a) 4 -> [aa a b d aa a b a c]; now (aa,a) 2, (a,b) 2: tie, ids (64,65) < (256,64)
     * 2. (a,b)   -> [aa ab d aa ab a c];   (aa,ab) 2, the rest 1
     * 3. (aa,ab) -> [aaab d aaab a c];     all 1: smallest ids (a,c) = (64,66)
     * 4. (a,c)   -> [aaab d aaab ac];      (d,aaab) = (67,258) smallest
     * 5..7 then join what is left, smaller left id first. */
    static const char *const w1[] = {"a a", "a b", "aa ab", "a c", "d aaab", "aaab daaab", "aaabdaaab ac"};
    check_merges("aaabdaaabac", "aaabdaaabac", w1, 7);
    /* "aaaa aaa": pre-tokens "aaaa" and "Ġaaa" (Ġ = space, id 220). (a,a) = 3 + 2 = 5.
     * Merging leaves [aa aa] and [Ġ aa a] (overlaps merge left to right): (aa,aa), (Ġ,aa),
     * (aa,a) are 1 each; ids (220,256) < (256,64) < (256,256) but merging (Ġ,aa) removes
     * (aa,a) and makes (Ġaa,a) = (257,64), so the order is Ġaa, aaaa, Ġaaa. */
    static const char *const w2[] = {"a a", "\xC4\xA0 aa", "aa aa", "\xC4\xA0" "aa a"};
    check_merges("aaaa aaa", "aaaa aaa", w2, 4);
}

/* ---- round trips ---- */

static int round_trip(const wk_vocab *v, const char *text, size_t len, size_t *n_tokens) {
    size_t n = 0, out_n = 0;
    if (wk_tokenize(v, text, len, false, false, NULL, 0, &n)) return 0;
    wk_token *ids = malloc((n ? n : 1) * sizeof *ids);
    char *back = malloc(len + 1);
    int ok = ids && back && !wk_tokenize(v, text, len, false, false, ids, n, &n) &&
             !wk_detokenize(v, ids, n, false, false, back, len + 1, &out_n) && out_n == len &&
             memcmp(back, text, len) == 0;
    if (n_tokens) *n_tokens = n;
    free(ids), free(back);
    return ok;
}

static const char *const k_tricky[] = {
    "Hello, world! It's 2024 — isn't it?",
    "emoji \xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD and a family \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7",
    "CJK \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE6\x96\x87\xE7\xAB\xA0 \xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4",
    "combining e\xCC\x81 vs \xC3\xA9, a\xCC\x8A\xCC\x81, Zalgo Z\xCD\x91\xCD\x97\xCC\x92o",
    "  leading and trailing spaces  \n\n\ttabs\r\nCRLF\r\n",
    "numbers 1234567 3.14159 -42 1e10",
    "mixed \xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 \xCE\xB3\xCE\xB5\xCE\xB9\xCE\xB1 \xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7",
    "control \x01\x02\x7F bytes and U+FFFD \xEF\xBF\xBD, 4-byte \xF0\x90\x8D\x88",
    "<|endoftext|> written as text",
    "",
};
#define N_TRICKY (sizeof k_tricky / sizeof *k_tricky)

static void test_round_trips(const char *corpus, size_t corpus_len) {
    static const char *const pres[] = {"gpt-2", "llama3"};
    const char *sp[] = {"<|endoftext|>"};
    for (int p = 0; p < 2; p++) {
        wk_bpe_model *m = train(pres[p], corpus, corpus_len, 1024, sp, 1);
        CHECK(m && m->n_tokens == 1024, "%s: trained %d tokens", pres[p], m ? (int)m->n_tokens : -1);
        if (!m) continue;
        wk_vocab *v = NULL;
        CHECK(!wk_bpe_model_to_vocab(m, &v), "%s: vocab: %s", pres[p], wk_last_error());
        if (v) {
            size_t nt = 0;
            CHECK(round_trip(v, corpus, corpus_len, &nt), "%s: tinyshakespeare round trip", pres[p]);
            CHECK(nt < corpus_len / 2, "%s: %zu tokens for %zu bytes: merges not used?", pres[p], nt, corpus_len);
            printf("round trip %-7s tinyshakespeare: %zu bytes -> %zu tokens -> same bytes\n", pres[p], corpus_len, nt);
            for (size_t i = 0; i < N_TRICKY; i++)
                CHECK(round_trip(v, k_tricky[i], strlen(k_tricky[i]), NULL), "%s: round trip of tricky %zu", pres[p], i);
            CHECK(wk_vocab_eos(v) == 1023 && wk_vocab_token_type(v, 1023) == WK_TOKEN_TYPE_CONTROL,
                  "%s: EOS is not the special token", pres[p]);
        }
        wk_vocab_free(v);
        wk_bpe_model_free(m);
    }
    /* a vocabulary learnt from the tricky text itself: merges inside multi-byte characters */
    size_t cap = 0;
    for (size_t i = 0; i < N_TRICKY; i++) cap += 4 * (strlen(k_tricky[i]) + 1);
    cap++;
    char *all = malloc(cap), *q = all;
    for (int r = 0; r < 4; r++)
        for (size_t i = 0; i < N_TRICKY; i++) q += sprintf(q, "%s\n", k_tricky[i]);
    wk_bpe_model *m = train("llama3", all, (size_t)(q - all), 600, NULL, 0);
    wk_vocab *v = NULL;
    CHECK(m && !wk_bpe_model_to_vocab(m, &v), "tricky-trained vocab");
    if (v) {
        int ok = round_trip(v, all, (size_t)(q - all), NULL);
        for (size_t i = 0; i < N_TRICKY; i++) ok &= round_trip(v, k_tricky[i], strlen(k_tricky[i]), NULL);
        CHECK(ok, "round trip with the vocabulary learnt from the tricky text");
        printf("round trip tricky UTF-8 (emoji, CJK, combining marks, controls): %d merges, ok=%d\n",
               (int)m->n_merges, ok);
    }
    wk_vocab_free(v);
    wk_bpe_model_free(m);
    free(all);
}

/* ---- GGUF output: loads into the runtime, same tokens, same bytes twice ---- */

static void test_gguf(const char *corpus, size_t corpus_len, const char *dir) {
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/a.gguf", dir);
    snprintf(p2, sizeof p2, "%s/b.gguf", dir);
    const char *sp[] = {"<|endoftext|>", "<|pad|>"};
    wk_bpe_model *m1 = train("gpt-2", corpus, corpus_len, 2000, sp, 2);
    wk_bpe_model *m2 = train("gpt-2", corpus, corpus_len, 2000, sp, 2);
    CHECK(m1 && m2, "training");
    if (!m1 || !m2) return;
    CHECK(!wk_bpe_model_write_gguf(m1, p1) && !wk_bpe_model_write_gguf(m2, p2), "write: %s", wk_last_error());
    size_t n1 = 0, n2 = 0;
    char *b1 = read_file(p1, &n1), *b2 = read_file(p2, &n2);
    CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0, "two trainings gave different files");
    printf("determinism: two trainings -> identical %zu-byte GGUF files\n", n1);
    free(b1), free(b2);

    wk_gguf *g = NULL;
    wk_vocab *v = NULL, *mv = NULL;
    CHECK(!wk_gguf_open(p1, &g), "open: %s", wk_gguf_last_error());
    if (g) {
        const char *s;
        uint64_t sl;
        CHECK(!wk_gguf_get_str(g, "general.architecture", &s, &sl) && sl == 5 && !memcmp(s, "llama", 5),
              "general.architecture");
        CHECK(!wk_gguf_get_str(g, "tokenizer.ggml.pre", &s, &sl) && sl == 5 && !memcmp(s, "gpt-2", 5),
              "tokenizer.ggml.pre");
        CHECK(!wk_vocab_load_gguf(g, &v), "load: %s", wk_last_error());
        wk_gguf_free(g);
    }
    CHECK(!wk_bpe_model_to_vocab(m1, &mv), "vocab");
    if (v && mv) {
        CHECK(wk_vocab_n_tokens(v) == 2000 && wk_vocab_eos(v) == 1998 && wk_vocab_bos(v) == 1998,
              "loaded: %d tokens, eos %d", (int)wk_vocab_n_tokens(v), (int)wk_vocab_eos(v));
        CHECK(!wk_vocab_add_bos(v) && !wk_vocab_add_eos(v), "BOS/EOS added by default");
        /* the same ids from the file as from memory, and special text parsed when asked */
        const char *txt = "ROMEO: But soft, what light through yonder window breaks?<|endoftext|>";
        wk_token a[128], b[128];
        size_t na = 0, nb = 0;
        CHECK(!wk_tokenize(v, txt, strlen(txt), true, true, a, 128, &na) &&
                  !wk_tokenize(mv, txt, strlen(txt), true, true, b, 128, &nb) && na == nb &&
                  !memcmp(a, b, na * sizeof *a) && na > 1 && a[na - 1] == 1998,
              "file and memory vocabularies disagree");
        CHECK(round_trip(v, corpus, corpus_len, NULL), "round trip through the file's vocabulary");
    }
    wk_vocab_free(v), wk_vocab_free(mv);
    wk_bpe_model_free(m1), wk_bpe_model_free(m2);
    CHECK(wk_bpe_model_write_gguf(m1 = train("gpt-2", "ab", 2, 257, NULL, 0), "/nonexistent-dir/x.gguf") != WK_OK,
          "write to a missing directory succeeded");
    wk_bpe_model_free(m1);
    unlink(p1), unlink(p2);
}

/* ---- hostile arguments ---- */

static void test_errors(void) {
    wk_bpe_trainer *t = NULL;
    wk_bpe_model *m = NULL;
    CHECK(wk_bpe_trainer_create("no-such-pre", &t) != WK_OK && !t, "unknown pre-tokenizer accepted");
    CHECK(!wk_bpe_trainer_create("gpt-2", &t), "create");
    CHECK(wk_bpe_trainer_feed(t, "ok \xC3\x28 bad", 9) == WK_ERR_INVALID_ARG && strstr(wk_last_error(), "byte 3"),
          "invalid UTF-8: %s", wk_last_error());
    CHECK(wk_bpe_trainer_feed(t, "\xF0\x9F\x98", 3) == WK_ERR_INVALID_ARG, "truncated UTF-8 accepted");
    CHECK(!wk_bpe_trainer_feed(t, "hello hello", 11), "feed");
    const char *dup[] = {"<s>", "<s>"}, *learnt[] = {"hello"}, *empty[] = {""};
    CHECK(wk_bpe_trainer_train(t, 255, NULL, 0, &m) == WK_ERR_INVALID_ARG && !m, "vocab 255 accepted");
    CHECK(wk_bpe_trainer_train(t, 257, dup, 2, &m) == WK_ERR_INVALID_ARG, "vocab below 256 + specials accepted");
    CHECK(wk_bpe_trainer_train(t, 300, dup, 2, &m) == WK_ERR_INVALID_ARG && strstr(wk_last_error(), "twice"),
          "duplicate special: %s", wk_last_error());
    CHECK(wk_bpe_trainer_train(t, 300, empty, 1, &m) == WK_ERR_INVALID_ARG, "empty special accepted");
    CHECK(wk_bpe_trainer_train(t, 300, learnt, 1, &m) == WK_ERR_INVALID_ARG && !m,
          "special equal to a learnt token accepted");
    CHECK(wk_bpe_trainer_train(t, 300, NULL, 0, &m) != WK_OK, "second training accepted");
    wk_bpe_trainer_free(t);
    /* an empty corpus: just the bytes and the special tokens */
    const char *sp[] = {"<|endoftext|>"};
    m = train("gpt-2", "", 0, 1000, sp, 1);
    CHECK(m && m->n_tokens == 257 && m->n_merges == 0, "empty corpus");
    wk_bpe_model_free(m);
    printf("errors: bad pre, bad UTF-8, bad vocab sizes and specials rejected\n");
}

/* ---- wick data ---- */

static void test_doc_rule(void) {
    const char *in = "  \n\nfirst line   \r\nsecond\t\r\n \t \r\n\r\n\n\nthird\rfourth\n\n\n\nlast  ";
    const char *want[] = {"first line\nsecond", "third\nfourth", "last"};
    char **d = NULL;
    size_t n = 0;
    CHECK(!wk_data_split_docs(in, strlen(in), &d, &n) && n == 3, "doc rule: %zu docs", n);
    for (size_t i = 0; i < n && i < 3; i++) CHECK(!strcmp(d[i], want[i]), "doc %zu is '%s'", i, d[i]);
    wk_data_free_docs(d, n);
}

static char *make_doc(int words) {  /* seeded random "words" of 2..8 lowercase letters */
    char *s = malloc((size_t)words * 10 + 1), *q = s;
    for (int w = 0; w < words; w++) {
        int len = (int)tu_int(2, 8);
        if (w) *q++ = (w % 12 == 11) ? '\n' : ' ';
        for (int k = 0; k < len; k++) *q++ = (char)('a' + tu_int(0, 25));
    }
    *q = 0;
    return s;
}

/* Replaces word k (0-based) of d with "zzzzzz". */
static char *edit_word(const char *d, int k) {
    char *s = malloc(strlen(d) + 8), *q = s;
    int w = 0;
    for (const char *p = d; *p;) {
        const char *e = p;
        while (*e && *e != ' ' && *e != '\n') e++;
        if (w == k) q += sprintf(q, "zzzzzz");
        else memcpy(q, p, (size_t)(e - p)), q += e - p;
        w++;
        if (*e) *q++ = *e++;
        p = e;
    }
    *q = 0;
    return s;
}

static uint8_t *read_shard(const char *path, uint64_t *n, uint32_t *vocab, uint32_t *width) {
    size_t len = 0;
    uint8_t *b = (uint8_t *)read_file(path, &len);
    if (!b || len < WK_SHARD_HEADER || memcmp(b, WK_SHARD_MAGIC, 6)) {
        free(b);
        return NULL;
    }
    uint16_t ver;
    memcpy(&ver, b + 6, 2), memcpy(vocab, b + 8, 4), memcpy(width, b + 12, 4), memcpy(n, b + 16, 8);
    if (ver != WK_SHARD_VERSION || len != WK_SHARD_HEADER + *n * *width) {
        free(b);
        return NULL;
    }
    return b;
}

/* The documents of a shard: split at EOS, each detokenized (malloc'd strings). */
static size_t decode_shard(const char *path, const wk_vocab *v, char **docs, size_t cap, const char *what) {
    uint64_t n = 0;
    uint32_t vocab = 0, width = 0;
    uint8_t *b = read_shard(path, &n, &vocab, &width);
    CHECK(b && vocab == (uint32_t)wk_vocab_n_tokens(v) && width == 2, "%s: bad shard header", what);
    if (!b) return 0;
    wk_token *ids = malloc((n + 1) * sizeof *ids);
    for (uint64_t i = 0; i < n; i++) {
        uint16_t x;
        memcpy(&x, b + WK_SHARD_HEADER + 2 * i, 2);
        ids[i] = x;
    }
    CHECK(n == 0 || ids[n - 1] == wk_vocab_eos(v), "%s: does not end with EOS", what);
    size_t nd = 0, start = 0;
    for (uint64_t i = 0; i < n && nd < cap; i++) {
        if (ids[i] != wk_vocab_eos(v)) continue;
        char *buf = malloc(16384);
        size_t len = 0;
        CHECK(!wk_detokenize(v, ids + start, i - start, false, false, buf, 16383, &len), "%s: detokenize", what);
        buf[len] = 0;
        docs[nd++] = buf;
        start = i + 1;
    }
    free(ids), free(b);
    return nd;
}

static void test_data(const char *dir) {
    test_doc_rule();
    /* 40 documents of 100 words; planted: exact copies of 3 and 7 (one with CRLF and
     * trailing spaces, equal after normalization), one-word edits of 5 and 11 (Jaccard
     * 91/101 = 0.90 over 5-shingles), and a 10-word edit of 13 (Jaccard ~0.3: kept). */
    enum { N = 40 };
    tu_seed(99);
    char *orig[N];
    for (int i = 0; i < N; i++) orig[i] = make_doc(100);
    char *near5 = edit_word(orig[5], 50), *near11 = edit_word(orig[11], 3);
    char *far13 = strdup(orig[13]);
    for (int k = 5; k < 100; k += 10) {
        char *x = edit_word(far13, k);
        free(far13), far13 = x;
    }
    char *crlf7 = malloc(2 * strlen(orig[7]) + 1), *q = crlf7;
    for (const char *p = orig[7]; *p; p++) q += *p == '\n' ? sprintf(q, "   \r\n") : sprintf(q, "%c", *p);
    *q = 0;
    const char *order[N + 5];
    int kept_expected = 0;
    for (int i = 0; i < N; i++) order[i] = orig[i];
    order[N] = orig[3], order[N + 1] = near5, order[N + 2] = crlf7, order[N + 3] = near11, order[N + 4] = far13;
    char path[512], out[512];
    snprintf(path, sizeof path, "%s/docs.txt", dir);
    snprintf(out, sizeof out, "%s/shards", dir);
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < N + 5; i++) fprintf(f, "%s\n\n", order[i]);
    fclose(f);
    char *want[N + 1];
    for (int i = 0; i < N; i++) want[kept_expected++] = orig[i];
    want[kept_expected++] = far13;

    size_t clen = 0;
    char *text = read_file(path, &clen);
    const char *sp[] = {"<|endoftext|>"};
    wk_bpe_model *m = train("gpt-2", text, clen, 600, sp, 1);
    wk_vocab *v = NULL;
    CHECK(m && !wk_bpe_model_to_vocab(m, &v), "vocab for data");
    free(text);
    if (!v) return;

    const char *inputs[] = {path};
    wk_data_params p = {0.1, WK_DEDUP_MINHASH, 7, 0};
    wk_data_stats s;
    CHECK(!wk_data_prepare(inputs, 1, v, "test", out, &p, &s), "data: %s", wk_last_error());
    CHECK(s.docs_in == N + 5 && s.dropped_exact == 2 && s.dropped_near == 2 && s.docs_kept == N + 1,
          "minhash: in %llu exact %llu near %llu kept %llu", (unsigned long long)s.docs_in,
          (unsigned long long)s.dropped_exact, (unsigned long long)s.dropped_near, (unsigned long long)s.docs_kept);
    CHECK(s.val_docs == 4 && s.train_docs == N - 3, "split: %llu val, %llu train (41 * 0.1 -> 4)",
          (unsigned long long)s.val_docs, (unsigned long long)s.train_docs);
    /* shards hold exactly the kept documents, each split in input order; together all of them */
    char tp[600], vp[600], mp[600];
    snprintf(tp, sizeof tp, "%s/train.bin", out);
    snprintf(vp, sizeof vp, "%s/val.bin", out);
    snprintf(mp, sizeof mp, "%s/meta.json", out);
    {
        /* val and train, merged back in input order, must be exactly the kept documents */
        char *vd[N + 8], *td[N + 8];
        size_t nv = decode_shard(vp, v, vd, N + 8, "val.bin"), nt = decode_shard(tp, v, td, N + 8, "train.bin");
        CHECK(nv == 4 && nt == (size_t)kept_expected - 4, "shards hold %zu + %zu documents", nv, nt);
        size_t iv = 0, it = 0;
        for (int k = 0; k < kept_expected; k++) {
            if (iv < nv && !strcmp(vd[iv], want[k])) iv++;
            else if (it < nt && !strcmp(td[it], want[k])) it++;
            else CHECK(0, "kept document %d is not next in either shard", k);
        }
        CHECK(iv == nv && it == nt, "shards hold documents that were not kept");
        for (size_t i = 0; i < nv; i++) free(vd[i]);
        for (size_t i = 0; i < nt; i++) free(td[i]);
    }
    size_t ml = 0;
    char *meta = read_file(mp, &ml);
    CHECK(meta && strstr(meta, "\"dropped_exact\": 2") && strstr(meta, "\"dropped_near\": 2") &&
              strstr(meta, "\"dtype\": \"uint16\""),
          "meta.json: %s", meta ? meta : "(missing)");
    free(meta);
    printf("data: %llu docs in, %llu exact + %llu near dropped, train %llu docs/%llu tokens, val %llu/%llu; "
           "shards decode to the kept documents\n",
           (unsigned long long)s.docs_in, (unsigned long long)s.dropped_exact, (unsigned long long)s.dropped_near,
           (unsigned long long)s.train_docs, (unsigned long long)s.train_tokens, (unsigned long long)s.val_docs,
           (unsigned long long)s.val_tokens);

    /* same seed: same bytes; another seed: another split; exact-only keeps the near copies */
    size_t l1 = 0, l2 = 0;
    char *t1 = read_file(tp, &l1);
    wk_data_stats s2;
    CHECK(!wk_data_prepare(inputs, 1, v, "test", out, &p, &s2), "rerun");
    char *t2 = read_file(tp, &l2);
    CHECK(t1 && t2 && l1 == l2 && !memcmp(t1, t2, l1), "rerun changed train.bin");
    free(t2);
    p.seed = 8;
    CHECK(!wk_data_prepare(inputs, 1, v, "test", out, &p, &s2), "seed 8");
    t2 = read_file(tp, &l2);
    CHECK(t2 && (l1 != l2 || memcmp(t1, t2, l1)), "seed 8 gave the same split as seed 7");
    free(t1), free(t2);
    p.dedup = WK_DEDUP_EXACT;
    CHECK(!wk_data_prepare(inputs, 1, v, "test", out, &p, &s2) && s2.dropped_exact == 2 && s2.dropped_near == 0 &&
              s2.docs_kept == N + 3,
          "exact only: kept %llu", (unsigned long long)s2.docs_kept);
    p.dedup = WK_DEDUP_NONE, p.val_fraction = 0;
    CHECK(!wk_data_prepare(inputs, 1, v, "test", out, &p, &s2) && s2.docs_kept == N + 5 && s2.val_docs == 0 &&
              s2.val_tokens == 0,
          "no dedup, no val");

    /* failures leave nothing behind */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/never", dir);
    const char *missing[] = {"/nonexistent/input.txt"};
    struct stat sb;
    CHECK(wk_data_prepare(missing, 1, v, "t", bad, &p, &s2) == WK_ERR_IO && stat(bad, &sb) != 0,
          "missing input: %s", wk_last_error());
    snprintf(bad, sizeof bad, "%s/docs.txt/sub", dir);  /* below a regular file */
    CHECK(wk_data_prepare(inputs, 1, v, "t", bad, &p, &s2) == WK_ERR_IO, "unwritable out dir accepted");
    snprintf(bad, sizeof bad, "%s/bad.txt", dir);
    f = fopen(bad, "wb");
    fputs("fine\n\nnot \xFF fine\n", f);
    fclose(f);
    const char *badin[] = {bad};
    snprintf(out, sizeof out, "%s/never2", dir);
    CHECK(wk_data_prepare(badin, 1, v, "t", out, &p, &s2) == WK_ERR_FORMAT && strstr(wk_last_error(), "UTF-8") &&
              stat(out, &sb) != 0,
          "invalid UTF-8 input: %s", wk_last_error());
    p.val_fraction = 1.0;
    CHECK(wk_data_prepare(inputs, 1, v, "t", out, &p, &s2) == WK_ERR_INVALID_ARG, "val fraction 1 accepted");
    printf("data errors: missing input, unwritable dir, bad UTF-8, bad fraction rejected, nothing written\n");

    wk_vocab_free(v);
    wk_bpe_model_free(m);
    for (int i = 0; i < N; i++) free(orig[i]);
    free(near5), free(near11), free(far13), free(crlf7);
}

static const char *find_corpus(void) {
    static char buf[1200];
    const char *c[3] = {0};
    int n = 0;
#ifdef WICK_SHARED_DATA
    c[n++] = WICK_SHARED_DATA;
#endif
    c[n++] = getenv("WICK_SHARED_DATA");
    char rel[1024];
    snprintf(rel, sizeof rel, "%s", __FILE__);
    char *slash = strrchr(rel, '/');
    if (slash) {
        *slash = 0;
        slash = strrchr(rel, '/');
        if (slash) *slash = 0;
        strncat(rel, "/../shared/data", sizeof rel - strlen(rel) - 1);
        c[n++] = rel;
    }
    for (int i = 0; i < n; i++) {
        if (!c[i]) continue;
        snprintf(buf, sizeof buf, "%s/corpora/tinyshakespeare.txt", c[i]);
        if (access(buf, R_OK) == 0) return buf;
    }
    return NULL;
}

int main(void) {
    test_hand_worked();
    test_errors();
    const char *cp = find_corpus();
    size_t clen = 0;
    char *corpus = cp ? read_file(cp, &clen) : NULL;
    if (!corpus) {
        printf("FAIL: corpora/tinyshakespeare.txt not found (set WICK_SHARED_DATA)\n");
        return 1;
    }
    char dir[] = "/tmp/wick-bpe-train-XXXXXX";
    if (!mkdtemp(dir)) {
        printf("FAIL: mkdtemp\n");
        return 1;
    }
    test_round_trips(corpus, clen);
    test_gguf(corpus, clen, dir);
    test_data(dir);
    free(corpus);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("note: could not remove %s\n", dir);
    printf(g_fail ? "FAILED: %d checks\n" : "all bpe_train checks passed\n", g_fail);
    return g_fail != 0;
}
