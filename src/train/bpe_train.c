/* bpe_train.c — byte-level BPE training (formats.md §5.4). The corpus is pre-tokenized by
 * the runtime's own regexes (bpe_pre_split), so pieces at training and at tokenize time
 * agree; equal pieces ("words") are stored once with a frequency. Merging keeps the pair
 * counts up to date incrementally: each pair lists the words it occurs in, only those words
 * are rewritten, and a lazy max-heap (an entry whose count went stale is re-pushed with the
 * current count when popped) yields the next pair. Ties go to the smaller (left id, right id)
 * with GPT-2's byte order for the first 256 ids: HF tokenizers' rule, so merges can be
 * compared one for one with its BpeTrainer. */
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "src/runtime/tokenizer_internal.h"
#include "train.h"

#define NOMEM() wk_err(WK_ERR_NOMEM, "bpe-train: out of memory")

/* Ensures room for `need` elements of `elem` bytes in *p (capacity *cap, doubled). */
static wk_status grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return WK_OK;
    size_t c = *cap ? *cap : 16, bytes;
    while (c < need) {
        if (c > SIZE_MAX / 2) return NOMEM();
        c *= 2;
    }
    if (!wk_size_mul_ok(c, elem, &bytes)) return NOMEM();
    void *q = realloc(*p, bytes);
    if (!q) return NOMEM();
    *p = q, *cap = c;
    return WK_OK;
}

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n), d[n] = 0;
    return d;
}

static uint64_t mix64(uint64_t x) {  /* splitmix64 finalizer */
    x ^= x >> 30, x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27, x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Open addressing over int32 ids (slot = id + 1, 0 = empty); the caller compares keys. */
typedef struct {
    int32_t *slots;
    size_t mask;  /* capacity - 1; capacity a power of two, at most half full */
    size_t n;
} id_table;

static wk_status table_reserve(id_table *t, size_t n, uint64_t (*key_hash)(const void *, int32_t),
                               const void *ctx) {
    if (t->slots && 2 * (n + 1) <= t->mask + 1) return WK_OK;
    size_t cap = t->slots ? (t->mask + 1) * 2 : 1024;
    while (2 * (n + 1) > cap) cap *= 2;
    int32_t *s = calloc(cap, sizeof *s);
    if (!s) return NOMEM();
    for (size_t i = 0; t->slots && i <= t->mask; i++) {
        if (!t->slots[i]) continue;
        size_t h = key_hash(ctx, t->slots[i] - 1) & (cap - 1);
        while (s[h]) h = (h + 1) & (cap - 1);
        s[h] = t->slots[i];
    }
    free(t->slots);
    t->slots = s, t->mask = cap - 1;
    return WK_OK;
}

/* ---- word counts (feeding) ------------------------------------------------------------- */

typedef struct {
    uint64_t off;   /* raw bytes in the arena */
    uint32_t len;
    int64_t count;
} word;

struct wk_bpe_trainer {
    wk_vocab pre;  /* only the pre-tokenizer regexes are set (bpe_setup) */
    char *pre_name;
    char *arena;
    size_t arena_n, arena_cap;
    word *words;
    size_t n_words, words_cap;
    id_table index;
    bool trained;
};

static uint64_t word_hash(const void *ctx, int32_t id) {
    const wk_bpe_trainer *t = ctx;
    return tok_hash(t->arena + t->words[id].off, t->words[id].len);
}

static wk_status add_piece(void *user, const char *s, size_t n) {
    wk_bpe_trainer *t = user;
    if (n > UINT32_MAX / 2) return wk_err(WK_ERR_INVALID_ARG, "bpe-train: a pre-token is too long");
    uint64_t h = tok_hash(s, n);
    for (size_t i = h & t->index.mask;; i = (i + 1) & t->index.mask) {
        int32_t id = t->index.slots[i] - 1;
        if (id < 0) break;
        word *w = &t->words[id];
        if (w->len == n && memcmp(t->arena + w->off, s, n) == 0) {
            w->count++;
            return WK_OK;
        }
    }
    if (t->n_words >= INT32_MAX - 1) return wk_err(WK_ERR_INVALID_ARG, "bpe-train: too many distinct words");
    wk_status st;
    if ((st = table_reserve(&t->index, t->n_words + 1, word_hash, t)) ||
        (st = grow((void **)&t->words, &t->words_cap, t->n_words + 1, sizeof(word))) ||
        (st = grow((void **)&t->arena, &t->arena_cap, t->arena_n + n, 1)))
        return st;
    memcpy(t->arena + t->arena_n, s, n);
    t->words[t->n_words] = (word){t->arena_n, (uint32_t)n, 1};
    t->arena_n += n;
    size_t i = h & t->index.mask;
    while (t->index.slots[i]) i = (i + 1) & t->index.mask;
    t->index.slots[i] = (int32_t)t->n_words + 1;
    t->n_words++;
    return WK_OK;
}

wk_status wk_bpe_trainer_create(const char *pre, wk_bpe_trainer **out) {
    if (!out || !pre) return wk_err(WK_ERR_INVALID_ARG, "bpe-train: NULL argument");
    *out = NULL;
    wk_bpe_trainer *t = calloc(1, sizeof *t);
    if (!t) return NOMEM();
    wk_status st = bpe_setup(&t->pre, pre, strlen(pre));
    if (!st && !(t->pre_name = dup_n(pre, strlen(pre)))) st = NOMEM();
    if (!st) st = table_reserve(&t->index, 0, word_hash, t);
    if (st) {
        wk_bpe_trainer_free(t);
        return st;
    }
    *out = t;
    return WK_OK;
}

void wk_bpe_trainer_free(wk_bpe_trainer *t) {
    if (!t) return;
    bpe_release(&t->pre);
    free(t->pre_name);
    free(t->arena);
    free(t->words);
    free(t->index.slots);
    free(t);
}

wk_status wk_bpe_trainer_feed(wk_bpe_trainer *t, const char *text, size_t len) {
    if (!t || (!text && len)) return wk_err(WK_ERR_INVALID_ARG, "bpe-train: NULL argument");
    if (t->trained) return wk_err(WK_ERR_INVALID_ARG, "bpe-train: the trainer was already trained");
    for (size_t i = 0; i < len;) {  /* the regexes run without a UTF check */
        int k = utf8_seq_len((const unsigned char *)text + i, len - i);
        if (k == 0) return wk_err(WK_ERR_INVALID_ARG, "bpe-train: invalid UTF-8 at byte %zu", i);
        i += (size_t)k;
    }
    return bpe_pre_split(&t->pre, text, len, add_piece, t);
}

/* ---- training state -------------------------------------------------------------------- */

typedef struct {
    int32_t left, right;
    int64_t count;   /* occurrences (adjacent positions) weighted by word frequency */
    int32_t *where;  /* words it was seen in (may hold words it has left since) */
    size_t n_where, cap_where;
    uint32_t touched;  /* merge step that last raised the count */
} pair;

typedef struct {
    int64_t count;
    int32_t left, right, pair;
} heap_ent;

typedef struct {
    /* tokens: texts (byte-mapped), found by text */
    char **text;
    size_t *text_len;
    size_t n_tok, cap_text, cap_len;
    id_table tok_index;
    /* learnt merges, as token-id pairs */
    int32_t *mrg;
    size_t n_mrg, cap_mrg;
    /* words as symbol ids: word w is sym[sym_off[w] .. + sym_len[w]] */
    int32_t *sym;
    size_t *sym_off;
    uint32_t *sym_len;
    uint32_t *w_stamp;
    /* pairs */
    pair *pairs;
    size_t n_pairs, cap_pairs;
    id_table pair_index;
    heap_ent *heap;
    size_t n_heap, cap_heap;
    int32_t *touched;
    size_t n_touched, cap_touched;
    uint32_t step;
} train_state;

static uint64_t tok_text_hash(const void *ctx, int32_t id) {
    const train_state *s = ctx;
    return tok_hash(s->text[id], s->text_len[id]);
}

static int32_t find_token(const train_state *s, const char *t, size_t n) {
    for (size_t i = tok_hash(t, n) & s->tok_index.mask;; i = (i + 1) & s->tok_index.mask) {
        int32_t id = s->tok_index.slots[i] - 1;
        if (id < 0) return -1;
        if (s->text_len[id] == n && memcmp(s->text[id], t, n) == 0) return id;
    }
}

/* Adds a token whose text (owned from now on) is not in the table yet. */
static wk_status add_token(train_state *s, char *t, size_t n) {
    wk_status st;
    if ((st = table_reserve(&s->tok_index, s->n_tok + 1, tok_text_hash, s)) ||
        (st = grow((void **)&s->text, &s->cap_text, s->n_tok + 1, sizeof(char *))) ||
        (st = grow((void **)&s->text_len, &s->cap_len, s->n_tok + 1, sizeof(size_t)))) {
        free(t);
        return st;
    }
    s->text[s->n_tok] = t, s->text_len[s->n_tok] = n;
    size_t i = tok_hash(t, n) & s->tok_index.mask;
    while (s->tok_index.slots[i]) i = (i + 1) & s->tok_index.mask;
    s->tok_index.slots[i] = (int32_t)s->n_tok + 1;
    s->n_tok++;
    return WK_OK;
}

static uint64_t pair_key(int32_t l, int32_t r) { return mix64(((uint64_t)(uint32_t)l << 32) | (uint32_t)r); }

static uint64_t pair_hash(const void *ctx, int32_t id) {
    const train_state *s = ctx;
    return pair_key(s->pairs[id].left, s->pairs[id].right);
}

/* Index of pair (l, r), created with count 0 if new; -1 with the error recorded on failure. */
static int32_t get_pair(train_state *s, int32_t l, int32_t r) {
    size_t i = pair_key(l, r) & s->pair_index.mask;
    for (;; i = (i + 1) & s->pair_index.mask) {
        int32_t id = s->pair_index.slots[i] - 1;
        if (id < 0) break;
        if (s->pairs[id].left == l && s->pairs[id].right == r) return id;
    }
    if (s->n_pairs >= INT32_MAX - 1) return wk_err(WK_ERR_NOMEM, "bpe-train: too many pairs"), -1;
    if (table_reserve(&s->pair_index, s->n_pairs + 1, pair_hash, s) ||
        grow((void **)&s->pairs, &s->cap_pairs, s->n_pairs + 1, sizeof(pair)))
        return -1;
    s->pairs[s->n_pairs] = (pair){l, r, 0, NULL, 0, 0, 0};
    i = pair_key(l, r) & s->pair_index.mask;
    while (s->pair_index.slots[i]) i = (i + 1) & s->pair_index.mask;
    s->pair_index.slots[i] = (int32_t)s->n_pairs + 1;
    return (int32_t)s->n_pairs++;
}

/* Max-heap: higher count first, then the smaller (left, right). */
static bool heap_above(const heap_ent *x, const heap_ent *y) {
    if (x->count != y->count) return x->count > y->count;
    return x->left != y->left ? x->left < y->left : x->right < y->right;
}

static wk_status heap_push(train_state *s, int32_t p) {
    wk_status st = grow((void **)&s->heap, &s->cap_heap, s->n_heap + 1, sizeof(heap_ent));
    if (st) return st;
    heap_ent e = {s->pairs[p].count, s->pairs[p].left, s->pairs[p].right, p};
    size_t i = s->n_heap++;
    while (i > 0 && heap_above(&e, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = e;
    return WK_OK;
}

static heap_ent heap_pop(train_state *s) {
    heap_ent top = s->heap[0], last = s->heap[--s->n_heap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->n_heap) break;
        if (c + 1 < s->n_heap && heap_above(&s->heap[c + 1], &s->heap[c])) c++;
        if (!heap_above(&s->heap[c], &last)) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->n_heap) s->heap[i] = last;
    return top;
}

/* count(l, r) += d for word w; a rise records w as a place of the pair and marks the pair
 * for re-pushing after this step. */
static wk_status add_count(train_state *s, int32_t l, int32_t r, int64_t d, int32_t w) {
    int32_t p = get_pair(s, l, r);
    if (p < 0) return WK_ERR_NOMEM;
    pair *q = &s->pairs[p];
    q->count += d;
    if (d <= 0) return WK_OK;
    wk_status st;
    if (q->n_where == 0 || q->where[q->n_where - 1] != w) {
        if ((st = grow((void **)&q->where, &q->cap_where, q->n_where + 1, sizeof(int32_t)))) return st;
        q->where[q->n_where++] = w;
    }
    if (q->touched != s->step) {
        q->touched = s->step;
        if ((st = grow((void **)&s->touched, &s->cap_touched, s->n_touched + 1, sizeof(int32_t))))
            return st;
        s->touched[s->n_touched++] = p;
    }
    return WK_OK;
}

/* Replaces every (a, b) in word w, left to right, by z, with the count changes HF's trainer
 * makes: the neighbours' old pairs lose the word's frequency, the new pairs gain it. */
static wk_status merge_in_word(train_state *s, const wk_bpe_trainer *t, int32_t w, int32_t a,
                               int32_t b, int32_t z) {
    int32_t *sy = s->sym + s->sym_off[w];
    uint32_t n = s->sym_len[w], i = 0, o = 0;
    int64_t c = t->words[w].count;
    wk_status st = WK_OK;
    while (i < n && !st) {
        if (i + 1 < n && sy[i] == a && sy[i + 1] == b) {
            if (o > 0 && !(st = add_count(s, sy[o - 1], a, -c, w))) st = add_count(s, sy[o - 1], z, c, w);
            if (!st && i + 2 < n && !(st = add_count(s, b, sy[i + 2], -c, w)))
                st = add_count(s, z, sy[i + 2], c, w);
            sy[o++] = z;
            i += 2;
        } else {
            sy[o++] = sy[i++];
        }
    }
    if (!st) s->sym_len[w] = o;  /* on error the state is dropped anyway */
    return st;
}

static void state_free(train_state *s) {
    for (size_t i = 0; i < s->n_tok; i++) free(s->text[i]);
    for (size_t i = 0; i < s->n_pairs; i++) free(s->pairs[i].where);
    free(s->text), free(s->text_len), free(s->tok_index.slots), free(s->mrg);
    free(s->sym), free(s->sym_off), free(s->sym_len), free(s->w_stamp);
    free(s->pairs), free(s->pair_index.slots), free(s->heap), free(s->touched);
}

/* 0..255: one byte each, ordered by mapped code point (GPT-2's vocabulary order). */
static wk_status add_byte_tokens(train_state *s, int32_t byte_id[256]) {
    uint32_t cps[256];
    for (int b = 0; b < 256; b++) {
        char c = (char)b, e[2];
        size_t k = bpe_encode_bytes(&c, 1, e);
        cps[b] = k == 1 ? (uint8_t)e[0] : (((uint32_t)e[0] & 0x1F) << 6) | ((uint32_t)e[1] & 0x3F);
    }
    int order[256];
    for (int b = 0; b < 256; b++) order[b] = b;
    for (int i = 1; i < 256; i++)  /* insertion sort by code point; 256 entries */
        for (int j = i; j > 0 && cps[order[j]] < cps[order[j - 1]]; j--) {
            int x = order[j];
            order[j] = order[j - 1], order[j - 1] = x;
        }
    for (int i = 0; i < 256; i++) {
        char c = (char)order[i], *e = malloc(3);
        if (!e) return NOMEM();
        size_t k = bpe_encode_bytes(&c, 1, e);
        e[k] = 0;
        wk_status st = add_token(s, e, k);
        if (st) return st;
        byte_id[order[i]] = i;
    }
    return WK_OK;
}

static wk_status init_words(train_state *s, const wk_bpe_trainer *t, const int32_t byte_id[256]) {
    size_t nw = t->n_words ? t->n_words : 1;
    s->sym = malloc((t->arena_n ? t->arena_n : 1) * sizeof *s->sym);
    s->sym_off = malloc(nw * sizeof *s->sym_off);
    s->sym_len = malloc(nw * sizeof *s->sym_len);
    s->w_stamp = calloc(nw, sizeof *s->w_stamp);
    if (!s->sym || !s->sym_off || !s->sym_len || !s->w_stamp) return NOMEM();
    wk_status st = table_reserve(&s->pair_index, 0, pair_hash, s);
    for (size_t w = 0; w < t->n_words && !st; w++) {
        const word *wd = &t->words[w];
        int32_t *sy = s->sym + wd->off;  /* symbols parallel the arena: one per byte at most */
        s->sym_off[w] = wd->off, s->sym_len[w] = wd->len;
        for (uint32_t i = 0; i < wd->len; i++) sy[i] = byte_id[(unsigned char)t->arena[wd->off + i]];
        for (uint32_t i = 0; i + 1 < wd->len && !st; i++) st = add_count(s, sy[i], sy[i + 1], wd->count, (int32_t)w);
    }
    for (size_t p = 0; p < s->n_pairs && !st; p++) st = heap_push(s, (int32_t)p);
    s->n_touched = 0;
    return st;
}

/* One merge step for the pair at the heap's top (its count is current). */
static wk_status merge_step(train_state *s, const wk_bpe_trainer *t, int32_t p) {
    int32_t a = s->pairs[p].left, b = s->pairs[p].right;
    size_t la = s->text_len[a], lb = s->text_len[b];
    char *nt = malloc(la + lb + 1);
    if (!nt) return NOMEM();
    memcpy(nt, s->text[a], la);
    memcpy(nt + la, s->text[b], lb);
    nt[la + lb] = 0;
    /* the same text can be reached by two merge paths: HF keeps one token, two merges */
    int32_t z = find_token(s, nt, la + lb);
    wk_status st = WK_OK;
    if (z >= 0) free(nt);
    else if (!(st = add_token(s, nt, la + lb))) z = (int32_t)s->n_tok - 1;
    if (!st) st = grow((void **)&s->mrg, &s->cap_mrg, 2 * (s->n_mrg + 1), sizeof(int32_t));
    if (st) return st;
    s->mrg[2 * s->n_mrg] = a, s->mrg[2 * s->n_mrg + 1] = b;
    s->n_mrg++;

    s->step++;
    s->n_touched = 0;
    for (size_t k = 0; k < s->pairs[p].n_where && !st; k++) {
        int32_t w = s->pairs[p].where[k];
        if (s->w_stamp[w] == s->step) continue;
        s->w_stamp[w] = s->step;
        st = merge_in_word(s, t, w, a, b, z);
    }
    if (st) return st;
    /* every (a, b) is gone (what HF leaves as a stale count is zeroed) */
    s->pairs[p].count = 0;
    free(s->pairs[p].where);
    s->pairs[p].where = NULL, s->pairs[p].n_where = s->pairs[p].cap_where = 0;
    for (size_t k = 0; k < s->n_touched && !st; k++)
        if (s->pairs[s->touched[k]].count > 0) st = heap_push(s, s->touched[k]);
    return st;
}

static wk_status build_model(train_state *s, const wk_bpe_trainer *t, const char *const *special,
                             int n_special, wk_bpe_model **out) {
    wk_bpe_model *m = calloc(1, sizeof *m);
    if (!m) return NOMEM();
    size_t n = s->n_tok + (size_t)n_special;
    m->tokens = calloc(n, sizeof *m->tokens);
    m->token_types = malloc(n * sizeof *m->token_types);
    m->merges = calloc(s->n_mrg ? s->n_mrg : 1, sizeof *m->merges);
    m->bos = m->eos = n_special > 0 ? (wk_token)s->n_tok : WK_TOKEN_NULL;
    wk_status st = (!m->tokens || !m->token_types || !m->merges) ? NOMEM() : WK_OK;
    for (size_t i = 0; i < n && !st; i++) {
        bool sp = i >= s->n_tok;
        const char *src = sp ? special[i - s->n_tok] : s->text[i];
        m->tokens[i] = sp ? dup_n(src, strlen(src)) : dup_n(src, s->text_len[i]);
        m->token_types[i] = sp ? WK_TOKEN_TYPE_CONTROL : WK_TOKEN_TYPE_NORMAL;
        m->n_tokens = (int32_t)i + 1;
        if (!m->tokens[i]) st = NOMEM();
    }
    for (size_t i = 0; i < s->n_mrg && !st; i++) {
        int32_t a = s->mrg[2 * i], b = s->mrg[2 * i + 1];
        size_t la = s->text_len[a], lb = s->text_len[b];
        char *mt = malloc(la + lb + 2);
        if (!mt) {
            st = NOMEM();
            break;
        }
        memcpy(mt, s->text[a], la);
        mt[la] = ' ';
        memcpy(mt + la + 1, s->text[b], lb);
        mt[la + lb + 1] = 0;
        m->merges[i] = mt;
        m->n_merges = (int32_t)i + 1;
    }
    if (!st && !(m->pre = dup_n(t->pre_name, strlen(t->pre_name)))) st = NOMEM();
    if (st) {
        wk_bpe_model_free(m);
        return st;
    }
    *out = m;
    return WK_OK;
}

wk_status wk_bpe_trainer_train(wk_bpe_trainer *t, int32_t vocab_size, const char *const *special,
                               int n_special, wk_bpe_model **out) {
    if (!t || !out || n_special < 0 || (n_special > 0 && !special))
        return wk_err(WK_ERR_INVALID_ARG, "bpe-train: bad argument");
    *out = NULL;
    if (t->trained) return wk_err(WK_ERR_INVALID_ARG, "bpe-train: the trainer was already trained");
    if (vocab_size < 256 + n_special || vocab_size > (1 << 30))
        return wk_err(WK_ERR_INVALID_ARG, "bpe-train: vocab size %d must be in [%d, %d] (256 bytes + %d special)",
                      (int)vocab_size, 256 + n_special, 1 << 30, n_special);
    for (int i = 0; i < n_special; i++) {
        if (!special[i] || !special[i][0]) return wk_err(WK_ERR_INVALID_ARG, "bpe-train: empty special token");
        for (int j = 0; j < i; j++)
            if (!strcmp(special[i], special[j]))
                return wk_err(WK_ERR_INVALID_ARG, "bpe-train: special token '%.64s' given twice", special[i]);
    }
    t->trained = true;
    train_state s = {0};
    int32_t byte_id[256];
    wk_status st = table_reserve(&s.tok_index, 256, tok_text_hash, &s);
    if (!st) st = add_byte_tokens(&s, byte_id);
    if (!st) st = init_words(&s, t, byte_id);
    while (!st && (int64_t)s.n_tok + n_special < vocab_size && s.n_heap > 0) {
        heap_ent e = heap_pop(&s);
        int64_t c = s.pairs[e.pair].count;
        if (c != e.count) {  /* stale: back in with the current count */
            if (c > 0) st = heap_push(&s, e.pair);
            continue;
        }
        st = merge_step(&s, t, e.pair);
    }
    for (int i = 0; i < n_special && !st; i++)
        if (find_token(&s, special[i], strlen(special[i])) >= 0)
            st = wk_err(WK_ERR_INVALID_ARG,
                        "bpe-train: special token '%.64s' was also learnt from the text; use a text the "
                        "pre-tokenizer splits, such as <|%.64s|>", special[i], special[i]);
    wk_bpe_model *m = NULL;
    if (!st) st = build_model(&s, t, special, n_special, &m);
    state_free(&s);
    if (st) return st;
    *out = m;
    return WK_OK;
}

void wk_bpe_model_free(wk_bpe_model *m) {
    if (!m) return;
    for (int32_t i = 0; m->tokens && i < m->n_tokens; i++) free(m->tokens[i]);
    for (int32_t i = 0; m->merges && i < m->n_merges; i++) free(m->merges[i]);
    free(m->tokens), free(m->token_types), free(m->merges), free(m->pre);
    free(m);
}

/* ---- output ------------------------------------------------------------------------------ */

wk_status wk_bpe_model_to_vocab(const wk_bpe_model *m, wk_vocab **out) {
    wk_vocab_desc d;
    wk_vocab_desc_init(&d);
    d.type = WK_VOCAB_BPE;
    d.pre = m->pre;
    d.n_tokens = m->n_tokens;
    d.tokens = (const char *const *)m->tokens;
    d.token_types = m->token_types;
    d.n_merges = m->n_merges;
    d.merges = (const char *const *)m->merges;
    d.bos = m->bos, d.eos = m->eos;
    d.unk = d.pad = d.eot = WK_TOKEN_NULL;
    d.add_bos = d.add_eos = 0;
    return wk_vocab_create(&d, out);
}

wk_status wk_bpe_model_write_gguf(const wk_bpe_model *m, const char *path) {
    wk_gguf_writer *w = NULL;
    wk_gguf_status gs = wk_gguf_writer_new(&w);
    if (!gs) gs = wk_gguf_writer_add_str(w, "general.architecture", "llama", 5);
    if (!gs) gs = wk_gguf_writer_add_str(w, "general.name", "wick byte-level BPE", 19);
    if (!gs) gs = wk_gguf_writer_add_str(w, "tokenizer.ggml.model", "gpt2", 4);
    if (!gs) gs = wk_gguf_writer_add_str(w, "tokenizer.ggml.pre", m->pre, strlen(m->pre));
    if (!gs)
        gs = wk_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)m->tokens, NULL,
                                        (uint64_t)m->n_tokens);
    if (!gs)
        gs = wk_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", WK_GGUF_INT32, m->token_types,
                                    (uint64_t)m->n_tokens);
    if (!gs)
        gs = wk_gguf_writer_add_arr_str(w, "tokenizer.ggml.merges", (const char *const *)m->merges, NULL,
                                        (uint64_t)m->n_merges);
    if (!gs && m->bos >= 0) gs = wk_gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)m->bos);
    if (!gs && m->eos >= 0) gs = wk_gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)m->eos);
    /* plain text in, plain text out: no BOS/EOS added by default (pre families may say otherwise) */
    if (!gs) gs = wk_gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", 0);
    if (!gs) gs = wk_gguf_writer_add_bool(w, "tokenizer.ggml.add_eos_token", 0);
    if (!gs) gs = wk_gguf_writer_write_file(w, path);
    wk_gguf_writer_free(w);
    if (gs) return wk_err(gs == WK_GGUF_E_NOMEM ? WK_ERR_NOMEM : WK_ERR_IO, "%s", wk_gguf_last_error());
    return WK_OK;
}
