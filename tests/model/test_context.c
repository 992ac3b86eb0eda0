/* test_context.c — the decode API on stories260K (f32 weights): several sequences in one
 * batch give the same logits as each sequence alone (the mask keeps them apart), removing
 * a sequence's tail and re-decoding reproduces the logits, a batch split into n_batch
 * chunks matches one graph, a full context is refused without changing the cache,
 * token-by-token decoding reuses one graph, and bad batches fail cleanly. Tolerance 1e-4: the same kernels run on the same values, only the batch
 * shape differs (observed: bit-identical). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/runtime/context.h"

static int failures;
#define CHECK(cond, ...)                                 \
    do {                                                 \
        if (!(cond)) {                                   \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);  \
            printf(__VA_ARGS__);                         \
            printf("\n");                                \
            failures++;                                  \
        }                                                \
    } while (0)

static float maxdiff(const float *a, const float *b, int n) {
    float m = 0;
    for (int i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= m)) m = d; /* NaN counts as a failure */
    }
    return m;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "../shared/data/models/stories260K.gguf";
    wk_model *m;
    if (wk_model_load(path, NULL, &m) != WK_OK) {
        printf("FAIL: load %s: %s\n", path, wk_last_error());
        return 1;
    }
    const int V = wk_model_n_vocab(m);
    wk_context_params cp = wk_context_default_params();
    cp.n_ctx = 64;
    cp.n_seq_max = 2;
    cp.n_threads = 2;
    wk_context *c;
    if (wk_context_create(m, &cp, &c) != WK_OK) {
        printf("FAIL: context: %s\n", wk_last_error());
        return 1;
    }
    const wk_token a[6] = {1, 403, 407, 261, 378, 100}, b[4] = {1, 50, 90, 21};
    float *ref_a = malloc(sizeof(float) * 6 * V), *ref_b = malloc(sizeof(float) * 4 * V);
    int8_t all[10];
    memset(all, 1, sizeof all);

    /* each sequence alone, all rows' logits */
    wk_batch ba = {6, a, NULL, NULL, all};
    CHECK(wk_decode(c, &ba) == WK_OK, "decode a: %s", wk_last_error());
    for (int i = 0; i < 6; i++) memcpy(ref_a + i * V, wk_get_logits(c, i), sizeof(float) * V);
    CHECK(wk_kv_seq_pos_max(c, 0) == 5, "pos max %d", wk_kv_seq_pos_max(c, 0));
    wk_kv_clear(c);
    wk_batch bb = {4, b, NULL, NULL, all};
    CHECK(wk_decode(c, &bb) == WK_OK, "decode b: %s", wk_last_error());
    for (int i = 0; i < 4; i++) memcpy(ref_b + i * V, wk_get_logits(c, i), sizeof(float) * V);
    wk_kv_clear(c);

    /* both in one batch, interleaved, sequences 0 and 1 */
    wk_token tok[10];
    int32_t pos[10], seq[10];
    int ia = 0, ib = 0;
    for (int i = 0; i < 10; i++) {
        bool take_a = (i % 2 == 0 && ia < 6) || ib >= 4;
        tok[i] = take_a ? a[ia] : b[ib];
        pos[i] = take_a ? ia : ib;
        seq[i] = take_a ? 0 : 1;
        take_a ? ia++ : ib++;
    }
    wk_batch both = {10, tok, pos, seq, all};
    CHECK(wk_decode(c, &both) == WK_OK, "decode both: %s", wk_last_error());
    float worst = 0;
    for (int i = 0; i < 10; i++) {
        const float *ref = seq[i] == 0 ? ref_a + pos[i] * V : ref_b + pos[i] * V;
        float d = maxdiff(wk_get_logits(c, i), ref, V);
        if (!(d <= worst)) worst = d;
    }
    printf("two sequences in one batch vs each alone: max |diff| %.3g\n", worst);
    CHECK(worst <= 1e-4f, "sequences leak into each other (%g)", worst);
    CHECK(wk_kv_used(c) == 10, "used %d", wk_kv_used(c));

    /* drop the last 3 positions of seq 0, re-decode them one at a time */
    CHECK(wk_kv_seq_rm(c, 0, 3, -1) == WK_OK, "seq_rm");
    CHECK(wk_kv_seq_pos_max(c, 0) == 2 && wk_kv_used(c) == 7, "after rm: pos max %d used %d",
          wk_kv_seq_pos_max(c, 0), wk_kv_used(c));
    int64_t builds0 = wk_context_n_graph_builds(c);
    worst = 0;
    for (int i = 3; i < 6; i++) {
        wk_batch one = wk_batch_one_seq(&a[i], 1);
        CHECK(wk_decode(c, &one) == WK_OK, "decode one: %s", wk_last_error());
        float d = maxdiff(wk_get_logits(c, -1), ref_a + i * V, V);
        if (!(d <= worst)) worst = d;
    }
    printf("truncate + token-by-token re-decode vs batch: max |diff| %.3g\n", worst);
    CHECK(worst <= 1e-4f, "re-decode differs (%g)", worst);
    CHECK(wk_context_n_graph_builds(c) - builds0 <= 1, "one-token graph rebuilt (%lld builds)",
          (long long)(wk_context_n_graph_builds(c) - builds0));
    CHECK(wk_get_logits(c, 1) == NULL, "row 1 of a one-token batch has logits");

    /* a full context is refused and changes nothing */
    wk_token many[64];
    for (int i = 0; i < 64; i++) many[i] = (wk_token)(3 + i);
    int32_t used = wk_kv_used(c);
    wk_batch big = wk_batch_one_seq(many, 64);
    CHECK(wk_decode(c, &big) == WK_ERR_INVALID_ARG && strstr(wk_last_error(), "context full"), "full: %s",
          wk_last_error());
    CHECK(wk_kv_used(c) == used, "a refused batch changed the cache");

    /* bad batches */
    wk_token bad_tok = V + 5;
    wk_batch bad = wk_batch_one_seq(&bad_tok, 1);
    CHECK(wk_decode(c, &bad) == WK_ERR_INVALID_ARG, "out-of-vocab token accepted");
    int32_t bad_seq = 7;
    wk_batch bs = {1, a, NULL, &bad_seq, NULL};
    CHECK(wk_decode(c, &bs) == WK_ERR_INVALID_ARG, "bad sequence id accepted");
    wk_batch empty = {0, a, NULL, NULL, NULL};
    CHECK(wk_decode(c, &empty) == WK_ERR_INVALID_ARG, "empty batch accepted");
    CHECK(wk_kv_used(c) == used, "a bad batch changed the cache");

    /* a batch larger than n_batch is computed in chunks with the same result */
    wk_context *c3 = NULL;
    cp.n_batch = 4;
    CHECK(wk_context_create(m, &cp, &c3) == WK_OK, "context n_batch 4: %s", wk_last_error());
    if (c3) {
        CHECK(wk_decode(c3, &ba) == WK_OK, "chunked decode: %s", wk_last_error());
        worst = 0;
        for (int i = 0; i < 6; i++) {
            const float *l = wk_get_logits(c3, i);
            float d = l ? maxdiff(l, ref_a + i * V, V) : INFINITY;
            if (!(d <= worst)) worst = d;
        }
        printf("6 tokens in chunks of 4 vs one batch: max |diff| %.3g\n", worst);
        CHECK(worst <= 1e-4f, "chunked decode differs (%g)", worst);
        wk_context_free(c3);
    }

    /* -c beyond the training context */
    wk_context *c2 = NULL;
    cp.n_ctx = (uint32_t)wk_model_n_ctx_train(m) + 1;
    CHECK(wk_context_create(m, &cp, &c2) == WK_ERR_INVALID_ARG && !c2, "oversized context accepted");

    /* accessors; a vocab-only model loads without weights and cannot make a context */
    char buf[64];
    size_t n_buf = 0;
    CHECK(wk_model_meta_str(m, "general.architecture", buf, sizeof buf, &n_buf) == WK_OK && !strcmp(buf, "llama") &&
              n_buf == 5, "meta_str: %s", wk_last_error());
    CHECK(wk_model_meta_str(m, "llama.context_length", buf, sizeof buf, &n_buf) == WK_ERR_INVALID_ARG,
          "meta_str of a u32 key");
    CHECK(!strcmp(wk_model_arch(m), "llama") && wk_model_n_embd(m) == 64 && wk_model_n_layer(m) == 5 && V == 512 &&
              wk_model_n_ctx_train(m) == 2048 && wk_model_chat_template(m) == NULL,
          "accessors");
    wk_model *vo = NULL;
    wk_model_params mp = wk_model_default_params();
    mp.vocab_only = true;
    CHECK(wk_model_load(path, &mp, &vo) == WK_OK && wk_model_vocab(vo), "vocab-only load: %s", wk_last_error());
    c2 = NULL;
    CHECK(wk_context_create(vo, NULL, &c2) == WK_ERR_INVALID_ARG && !c2, "context on a vocab-only model");
    wk_model_free(vo);

    free(ref_a);
    free(ref_b);
    wk_context_free(c);
    wk_model_free(m);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
