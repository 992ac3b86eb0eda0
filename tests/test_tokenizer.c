/* test_tokenizer.c — the SPM and byte-level BPE tokenizers against llama.cpp's
 * test-tokenizer-0 vectors (shared/data/vocab/ggml-vocab-*.gguf with .inp/.out), every text
 * detokenized back to itself, and hostile input: malformed vocab descriptions, wrongly typed
 * GGUF keys, invalid UTF-8, random bytes, too-small buffers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "src/runtime/tokenizer.h"

static int fails;
#define CHECK(cond, ...)                    \
    do {                                    \
        if (!(cond)) {                      \
            printf("  FAIL: " __VA_ARGS__); \
            printf("\n");                   \
            fails++;                        \
        }                                   \
    } while (0)

/* ---- shared data ------------------------------------------------------------------------ */

static char g_data[1024];

static int dir_has_vocab(const char *dir) {
    char p[1200];
    snprintf(p, sizeof p, "%s/vocab/ggml-vocab-gpt-2.gguf", dir);
    FILE *f = fopen(p, "rb");
    if (f) fclose(f);
    return f != NULL;
}

static int find_data_dir(void) {
    const char *c[4] = {0};
    int n = 0;
#ifdef WICK_SHARED_DATA
    c[n++] = WICK_SHARED_DATA;
#endif
    c[n++] = getenv("WICK_SHARED_DATA");
    char rel[1024];  /* ../shared/data beside the repository this file lives in */
    snprintf(rel, sizeof rel, "%s", __FILE__);
    char *slash = strrchr(rel, '/');
    if (slash) {
        *slash = 0;  /* .../tests */
        slash = strrchr(rel, '/');
        if (slash) *slash = 0;  /* repo root */
        strncat(rel, "/../shared/data", sizeof rel - strlen(rel) - 1);
        c[n++] = rel;
    }
    c[n++] = "/work/shared/data";
    for (int i = 0; i < n; i++)
        if (c[i] && dir_has_vocab(c[i])) {
            snprintf(g_data, sizeof g_data, "%s", c[i]);
            return 1;
        }
    return 0;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = 0, *len = (size_t)n;
    return buf;
}

/* ---- the llama.cpp vectors ---------------------------------------------------------------- */

static void print_ids(const char *what, const wk_token *ids, size_t n) {
    printf("    %s:", what);
    for (size_t i = 0; i < n && i < 40; i++) printf(" %d", ids[i]);
    printf(n > 40 ? " ...\n" : "\n");
}

/* Returns the number of texts whose ids match; *total gets the number of texts. */
static int run_vectors(const char *name, int *total) {
    char path[1200];
    snprintf(path, sizeof path, "%s/vocab/%s", g_data, name);
    wk_gguf *g = NULL;
    wk_vocab *v = NULL;
    *total = 0;
    if (wk_gguf_open(path, &g) != WK_GGUF_OK) {
        CHECK(0, "%s: %s", path, wk_gguf_last_error());
        return 0;
    }
    wk_status st = wk_vocab_load_gguf(g, &v);
    wk_gguf_free(g);  /* the vocabulary keeps its own copy */
    if (st) {
        CHECK(0, "%s: %s", name, wk_last_error());
        return 0;
    }
    size_t inp_len, out_len;
    char p2[1300];
    snprintf(p2, sizeof p2, "%s.inp", path);
    char *inp = read_file(p2, &inp_len);
    snprintf(p2, sizeof p2, "%s.out", path);
    char *outs = read_file(p2, &out_len);
    CHECK(inp && outs, "%s: cannot read .inp/.out", name);
    int matched = 0, round_trips = 0;
    static const char sep[] = "\n__ggml_vocab_test__\n";
    const size_t sep_len = sizeof sep - 1;
    const char *text = inp, *line = outs;
    wk_token ids[4096], want[4096];
    char back[16384];
    while (inp && outs) {
        const char *end = strstr(text, sep);  /* texts are separated (and ended) by sep */
        if (!end) break;
        size_t len = (size_t)(end - text);
        const char *eol = strchr(line, '\n');
        if (!eol) eol = line + strlen(line);
        size_t n_want = 0;
        for (const char *q = line; q < eol && n_want < 4096;) {
            char *e;
            long x = strtol(q, &e, 10);
            if (e == q) break;
            want[n_want++] = (wk_token)x;
            q = e;
        }
        size_t n = 0;
        st = wk_tokenize(v, text, len, false, false, ids, 4096, &n);
        int ok = st == WK_OK && n == n_want && memcmp(ids, want, n * sizeof *ids) == 0;
        matched += ok;
        if (!ok) {
            printf("  FAIL: %s text %d '%.*s' (%s)\n", name, *total, (int)(len > 60 ? 60 : len), text,
                   st ? wk_last_error() : "ids differ");
            print_ids("want", want, n_want);
            print_ids("got ", ids, n);
            fails++;
        }
        size_t nb = 0;
        st = wk_detokenize(v, ids, n, false, false, back, sizeof back, &nb);
        int rt = st == WK_OK && nb == len && memcmp(back, text, len) == 0;
        round_trips += rt;
        CHECK(rt, "%s text %d: detokenize gives '%.*s'", name, *total, (int)(nb > 60 ? 60 : nb), back);
        (*total)++;
        text = end + sep_len;
        line = *eol ? eol + 1 : eol;
    }
    printf("%s: %d/%d texts tokenize as llama.cpp, %d/%d detokenize back exactly\n", name, matched,
           *total, round_trips, *total);
    free(inp);
    free(outs);
    wk_vocab_free(v);
    return matched;
}

/* ---- special tokens, add_special, pieces --------------------------------------------------- */

static wk_vocab *load(const char *name) {
    char path[1200];
    snprintf(path, sizeof path, "%s/vocab/%s", g_data, name);
    wk_gguf *g = NULL;
    wk_vocab *v = NULL;
    if (wk_gguf_open(path, &g) == WK_GGUF_OK) wk_vocab_load_gguf(g, &v);
    wk_gguf_free(g);
    return v;
}

static size_t tok(const wk_vocab *v, const char *s, bool add_special, bool parse_special, wk_token *ids) {
    size_t n = 0;
    if (wk_tokenize(v, s, strlen(s), add_special, parse_special, ids, 256, &n) != WK_OK) return (size_t)-1;
    return n;
}

static void test_specials(void) {
    wk_vocab *spm = load("ggml-vocab-llama-spm.gguf"), *bpe = load("ggml-vocab-gpt-2.gguf");
    CHECK(spm && bpe, "vocab load");
    if (!spm || !bpe) goto out;
    wk_token ids[256];
    /* SPM: add_special prepends <s> (1); "<s>" in text is CONTROL: only with parse_special */
    size_t n = tok(spm, "Hello", true, false, ids);
    CHECK(n == 2 && ids[0] == 1 && ids[1] == 15043, "spm add_special: n=%zu ids[0]=%d", n, ids[0]);
    n = tok(spm, "<s>Hello", false, true, ids);
    CHECK(n == 2 && ids[0] == 1 && ids[1] == 15043, "spm parse_special '<s>Hello': n=%zu", n);
    n = tok(spm, "<s>Hello", false, false, ids);
    CHECK(n > 2 && ids[0] != 1, "spm '<s>' as text: n=%zu", n);
    CHECK(wk_vocab_bos(spm) == 1 && wk_vocab_eos(spm) == 2 && wk_vocab_add_bos(spm), "spm ids/flags");
    CHECK(wk_vocab_is_eog(spm, 2) && !wk_vocab_is_eog(spm, 1), "spm eog");
    /* byte fallback: U+0000 is not a token, so <0x00> (id 3) */
    n = 0;
    wk_tokenize(spm, "\0", 1, false, false, ids, 256, &n);
    CHECK(n == 2 && ids[0] == 29871 && ids[1] == 3, "spm byte fallback: n=%zu", n);
    /* GPT-2: <|endoftext|> (50256) only with parse_special; no BOS is added */
    n = tok(bpe, "a<|endoftext|>b", true, true, ids);
    CHECK(n == 3 && ids[1] == 50256, "bpe parse_special: n=%zu", n);
    n = tok(bpe, "a<|endoftext|>b", false, false, ids);
    CHECK(n > 3, "bpe '<|endoftext|>' as text: n=%zu", n);
    CHECK(wk_vocab_is_eog(bpe, 50256), "bpe eog");
    /* pieces */
    char buf[64];
    size_t len = 0;
    CHECK(wk_token_to_piece(bpe, 995, false, buf, sizeof buf, &len) == WK_OK && len == 6 &&
              memcmp(buf, " world", 6) == 0, "bpe piece 995 (Ġworld)");
    CHECK(wk_token_to_piece(spm, 13, false, buf, sizeof buf, &len) == WK_OK && len == 1 && buf[0] == '\n',
          "spm piece <0x0A>");
    CHECK(wk_token_to_piece(spm, 3186, false, buf, sizeof buf, &len) == WK_OK && len == 6 &&
              memcmp(buf, " world", 6) == 0, "spm piece 3186 (▁world)");
    CHECK(wk_token_to_piece(spm, 1, false, buf, sizeof buf, &len) == WK_OK && len == 0, "control piece");
    CHECK(wk_token_to_piece(spm, 1, true, buf, sizeof buf, &len) == WK_OK && len == 3, "control piece, special");
    CHECK(wk_token_to_piece(spm, 32000, false, buf, sizeof buf, &len) != WK_OK, "piece id out of range");
    CHECK(wk_token_to_piece(spm, -5, false, buf, sizeof buf, &len) != WK_OK, "piece id negative");
    CHECK(wk_token_to_piece(bpe, 995, false, buf, 3, &len) != WK_OK && len == 6, "piece buffer too small");
    /* detokenize with BOS removed keeps the leading space (llama.cpp) */
    wk_token s[3] = {1, 15043, 2};
    CHECK(wk_detokenize(spm, s, 3, true, false, buf, sizeof buf, &len) == WK_OK && len == 6 &&
              memcmp(buf, " Hello", 6) == 0, "spm detokenize remove_special: '%.*s'", (int)len, buf);
    wk_token bad = 40000;
    CHECK(wk_detokenize(spm, &bad, 1, false, false, buf, sizeof buf, &len) != WK_OK, "detokenize bad id");
    /* buffers */
    n = 99;
    CHECK(wk_tokenize(bpe, "Hello world", 11, false, false, NULL, 0, &n) == WK_OK && n == 2, "size query");
    CHECK(wk_tokenize(bpe, "Hello world", 11, false, false, ids, 1, &n) != WK_OK && n == 2, "small output");
    CHECK(wk_tokenize(bpe, NULL, 3, false, false, ids, 4, &n) != WK_OK, "NULL text");
    CHECK(wk_tokenize(bpe, "", 0, true, true, ids, 4, &n) == WK_OK && n == 0, "empty text");
    /* invalid UTF-8: BPE refuses with a message; SPM falls back to bytes */
    const char *bad_utf8[] = {"\xC3", "a\xFF" "b", "\xED\xA0\x80", "\xC0\xAF", "\xF4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof *bad_utf8; i++) {
        wk_status st = wk_tokenize(bpe, bad_utf8[i], strlen(bad_utf8[i]), false, false, ids, 256, &n);
        CHECK(st == WK_ERR_INVALID_ARG && strstr(wk_last_error(), "UTF-8"), "bpe invalid UTF-8 %zu", i);
        st = wk_tokenize(spm, bad_utf8[i], strlen(bad_utf8[i]), false, false, ids, 256, &n);
        CHECK(st == WK_OK && n >= 1, "spm invalid UTF-8 %zu", i);
    }
out:
    wk_vocab_free(spm);
    wk_vocab_free(bpe);
}

/* Random bytes and random valid text: never a crash; valid text always round-trips. */
static void test_random(void) {
    wk_vocab *spm = load("ggml-vocab-llama-spm.gguf"), *bpe = load("ggml-vocab-gpt-2.gguf");
    if (!spm || !bpe) {
        CHECK(0, "vocab load");
        goto out;
    }
    uint64_t s = 42;
    int bad_rt = 0;
    static wk_token ids[8192];
    static char text[2048], back[65536];
    for (int it = 0; it < 400; it++) {
        size_t len = 0, want = (size_t)(s % 300);
        while (len < want) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            unsigned r = (unsigned)(s >> 33);
            if (it % 2) {
                text[len++] = (char)r;  /* arbitrary bytes */
            } else {  /* valid UTF-8 made of ASCII, Latin, CJK and emoji, plus "<s>" */
                const char *pieces[] = {" ", "a", "Z", "\n", "\t", "3", "'s", "\xC3\xA9", "\xE4\xB8\xAD",
                                        "\xF0\x9F\x98\x80", "<s>", "<|endoftext|>", "  ", "!", "\xC2\xA0"};
                const char *p = pieces[r % (sizeof pieces / sizeof *pieces)];
                size_t k = strlen(p);
                if (len + k > sizeof text) break;
                memcpy(text + len, p, k);
                len += k;
            }
        }
        for (int which = 0; which < 2; which++) {
            const wk_vocab *v = which ? bpe : spm;
            size_t n = 0, nb = 0;
            wk_status st = wk_tokenize(v, text, len, it % 3 == 0, it % 4 == 0, ids, 8192, &n);
            if (st != WK_OK) {
                CHECK(which == 1 && it % 2, "random text %d: %s", it, wk_last_error());
                continue;
            }
            st = wk_detokenize(v, ids, n, it % 3 == 0, it % 4 == 0, back, sizeof back, &nb);
            CHECK(st == WK_OK, "random detokenize %d: %s", it, wk_last_error());
            /* exact unless SPM had to add a space prefix after a special token or keep the
             * one after a removed BOS (llama.cpp does the same) */
            bool exact = which == 1 || (it % 3 != 0 && it % 4 != 0);
            if (it % 2 == 0 && exact && !(nb == len && memcmp(back, text, len) == 0)) {
                bad_rt++;
                printf("  round trip %s %d: '%.*s' -> '%.*s'\n", which ? "bpe" : "spm", it, (int)len, text,
                       (int)nb, back);
            }
        }
    }
    CHECK(bad_rt == 0, "%d random valid texts did not round-trip", bad_rt);
    printf("random: 400 texts x 2 vocabularies, no crash, %d round-trip failures\n", bad_rt);
out:
    wk_vocab_free(spm);
    wk_vocab_free(bpe);
}

/* ---- hand-made vocabularies ------------------------------------------------------------------ */

static void test_desc(void) {
    /* A tiny SPM vocabulary: merges go by score, ties leftmost first. */
    const char *toks[] = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "b", "ab", "\xE2\x96\x81" "a", "bb", "<0x63>"};
    float scores[] = {0, 0, 0, -1, -1, -1, -2, -3, -1.5f, 0};
    int32_t types[] = {2, 3, 3, 1, 1, 1, 1, 1, 1, 6};
    wk_vocab_desc d;
    wk_vocab_desc_init(&d);
    d.type = WK_VOCAB_SPM;
    d.n_tokens = 10;
    d.tokens = toks;
    d.scores = scores;
    d.token_types = types;
    wk_vocab *v = NULL;
    CHECK(wk_vocab_create(&d, &v) == WK_OK, "tiny spm: %s", wk_last_error());
    if (v) {
        wk_token ids[16];
        size_t n = tok(v, "abbc", false, false, ids);
        /* "▁abbc": bb (-1.5) beats ab (-2) and ▁a (-3): ▁a? no: ▁|a|bb|c; then ▁a (-3) -> [▁a, bb, c] */
        CHECK(n == 3 && ids[0] == 7 && ids[1] == 8 && ids[2] == 9, "tiny spm 'abbc': n=%zu %d %d %d", n,
              ids[0], ids[1], ids[2]);
        n = tok(v, "d", false, false, ids);  /* 'd' has no byte token and no 1-byte token: unk */
        CHECK(n == 2 && ids[0] == 3 && ids[1] == 0, "tiny spm unk fallback: n=%zu", n);
        wk_vocab_free(v);
    }
    /* malformed descriptions: a clear error each, never a crash */
    struct {
        const char *what;
        int field;
    } bad[] = {{"no tokens", 0}, {"bad type", 1}, {"bad token type", 2}, {"duplicate", 3},
               {"bos out of range", 4}, {"NULL token", 5}, {"bpe without merges", 6},
               {"merge without space", 7}, {"unknown pre", 8}, {"negative eos", 9}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        wk_vocab_desc e = d;
        const char *dup[] = {"a", "b", "a"};
        const char *nul[] = {"a", NULL};
        const char *merges_ok[] = {"a b"}, *merges_bad[] = {"ab"};
        int32_t bad_types[10] = {1, 1, 1, 1, 1, 1, 1, 9, 1, 1};
        switch (bad[i].field) {
        case 0: e.n_tokens = 0; break;
        case 1: e.type = (wk_vocab_type)7; break;
        case 2: e.token_types = bad_types; break;
        case 3: e.tokens = dup, e.n_tokens = 3, e.scores = NULL, e.token_types = NULL; break;
        case 4: e.bos = 10; break;
        case 5: e.tokens = nul, e.n_tokens = 2, e.scores = NULL, e.token_types = NULL; break;
        case 6: e.type = WK_VOCAB_BPE; break;
        case 7: e.type = WK_VOCAB_BPE, e.merges = merges_bad, e.n_merges = 1; break;
        case 8: e.type = WK_VOCAB_BPE, e.merges = merges_ok, e.n_merges = 1, e.pre = "no-such-pre"; break;
        case 9: e.eos = -7; break;
        }
        wk_vocab *w = (wk_vocab *)1;
        wk_status st = wk_vocab_create(&e, &w);
        CHECK(st != WK_OK && w == NULL && wk_last_error()[0], "desc '%s' accepted", bad[i].what);
        if (st != WK_OK) printf("  rejected %-22s: %s\n", bad[i].what, wk_last_error());
    }
    CHECK(wk_vocab_create(NULL, &v) != WK_OK, "NULL desc");
    wk_vocab_free(NULL);
}

/* The pre-tokenizer families split digits differently (formats.md §5.4): GPT-2 keeps a
 * digit run whole, Llama 3 cuts it into groups of three, Qwen 2 and smollm into single
 * digits. A tiny byte-level vocabulary whose merges can rebuild "123456" shows which. */
static void test_pre_families(void) {
    const char *toks[] = {"1", "2", "3", "4", "5", "6", "12", "123", "45", "456", "123456", "a", "\xC4\xA0"};
    const char *merges[] = {"1 2", "12 3", "4 5", "45 6", "123 456"};
    struct {
        const char *pre;
        size_t n;
        wk_token first;
    } cases[] = {{"gpt-2", 1, 10}, {"llama-bpe", 2, 7}, {"qwen2", 6, 0}, {"smollm", 6, 0},
                 {"default", 2, 7}, {"falcon", 2, 7}, {"dbrx", 2, 7}, {NULL, 2, 7}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wk_vocab_desc d;
        wk_vocab_desc_init(&d);
        d.type = WK_VOCAB_BPE;
        d.pre = cases[i].pre;
        d.n_tokens = 13;
        d.tokens = toks;
        d.n_merges = 5;
        d.merges = merges;
        wk_vocab *v = NULL;
        wk_status st = wk_vocab_create(&d, &v);
        CHECK(st == WK_OK, "pre %s: %s", cases[i].pre, wk_last_error());
        if (st) continue;
        wk_token ids[16];
        size_t n = tok(v, "123456", false, false, ids);
        CHECK(n == cases[i].n && ids[0] == cases[i].first, "pre %s: '123456' -> %zu ids, first %d",
              cases[i].pre ? cases[i].pre : "(none)", n, n ? ids[0] : -1);
        if (cases[i].pre && strcmp(cases[i].pre, "llama-bpe") == 0)
            CHECK(wk_vocab_add_bos(v) && wk_vocab_bos(v) == 11, "llama-bpe sets add_bos");
        wk_vocab_free(v);
    }
    /* A hostile USER_DEFINED token that is half a character cuts "é" into invalid UTF-8:
     * the fragment is refused with a message instead of reaching the regex engine. */
    const char *hostile[] = {"a", "\xC3", "\xC3\xA9"};
    int32_t types[] = {1, 4, 1};
    const char *m[] = {"a a"};
    wk_vocab_desc d;
    wk_vocab_desc_init(&d);
    d.type = WK_VOCAB_BPE;
    d.n_tokens = 3, d.tokens = hostile, d.token_types = types, d.n_merges = 1, d.merges = m;
    wk_vocab *v = NULL;
    CHECK(wk_vocab_create(&d, &v) == WK_OK, "hostile vocab: %s", wk_last_error());
    if (v) {
        size_t n;
        wk_token ids[8];
        CHECK(wk_tokenize(v, "a\xC3\xA9", 3, false, false, ids, 8, &n) == WK_ERR_INVALID_ARG,
              "half-character special token");
        wk_vocab_free(v);
    }
}

/* GGUF files whose tokenizer keys have wrong types or lengths. */
static void test_gguf_hostile(void) {
    const char *toks[] = {"<unk>", "<s>", "</s>", "a"};
    float scores[4] = {0};
    int32_t types[4] = {2, 3, 3, 1};
    int32_t types_bad[4] = {2, 3, 3, 77};
    uint32_t u32s[4] = {0};
    for (int c = 0; c < 9; c++) {
        wk_gguf_writer *w = NULL;
        wk_gguf_writer_new(&w);
        const char *model = c == 1 ? "t5" : "llama";
        if (c != 0) wk_gguf_writer_add_str(w, "tokenizer.ggml.model", model, strlen(model));
        if (c == 2) wk_gguf_writer_add_arr(w, "tokenizer.ggml.tokens", WK_GGUF_UINT32, u32s, 4);
        else if (c != 3) wk_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, 4);
        if (c == 4) wk_gguf_writer_add_arr(w, "tokenizer.ggml.scores", WK_GGUF_FLOAT32, scores, 3);
        else if (c == 5) wk_gguf_writer_add_arr(w, "tokenizer.ggml.scores", WK_GGUF_INT32, types, 4);
        else wk_gguf_writer_add_arr(w, "tokenizer.ggml.scores", WK_GGUF_FLOAT32, scores, 4);
        wk_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", WK_GGUF_INT32, c == 6 ? types_bad : types, 4);
        if (c == 7) wk_gguf_writer_add_i32(w, "tokenizer.ggml.bos_token_id", 1);
        else wk_gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", c == 8 ? 1000 : 1);
        void *buf = NULL;
        size_t size = 0;
        wk_gguf_writer_write_memory(w, &buf, &size);
        wk_gguf_writer_free(w);
        wk_gguf *g = NULL;
        wk_vocab *v = NULL;
        CHECK(wk_gguf_open_memory(buf, size, "mem", &g) == WK_GGUF_OK, "gguf case %d: %s", c, wk_gguf_last_error());
        wk_status st = wk_vocab_load_gguf(g, &v);
        if (c == 8) {  /* an out-of-range id is ignored, the default (1) stays */
            CHECK(st == WK_OK && v && wk_vocab_bos(v) == 1, "gguf case 8 (bos out of range): %s", wk_last_error());
        } else {
            CHECK(st != WK_OK && !v, "gguf case %d accepted", c);
            if (st) printf("  rejected gguf case %d: %s\n", c, wk_last_error());
        }
        wk_vocab_free(v);
        wk_gguf_free(g);
        free(buf);
    }
    CHECK(wk_vocab_load_gguf(NULL, &(wk_vocab *){0}) != WK_OK, "NULL gguf");
}

int main(void) {
    if (!find_data_dir()) {
        printf("FAIL: no shared data dir with vocab/ggml-vocab-gpt-2.gguf (set WICK_SHARED_DATA)\n");
        return 1;
    }
    printf("data: %s\n", g_data);
    int t1, t2;
    int m1 = run_vectors("ggml-vocab-llama-spm.gguf", &t1);
    int m2 = run_vectors("ggml-vocab-gpt-2.gguf", &t2);
    CHECK(t1 == 46 && t2 == 46, "expected 46 texts per file, got %d and %d", t1, t2);
    (void)m1, (void)m2;
    test_specials();
    test_random();
    test_desc();
    test_pre_families();
    test_gguf_hostile();
    printf("%s (%d failures)\n", fails ? "FAIL" : "OK", fails);
    return fails ? 1 : 0;
}
