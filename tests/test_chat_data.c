/* test_chat_data.c — chat JSONL for fine-tuning (src/train/chat_data.c): conversations
 * rendered with chatml over a BPE vocabulary that has <|im_start|>/<|im_end|> as special
 * tokens; the tokens marked for the loss must detokenize to exactly the assistant messages
 * with their end-of-turn markers, and all tokens to the whole rendering (worked out here by
 * hand); bad lines (JSON, fields, no assistant turn, a template whose renderings do not
 * extend one another) are errors that name the line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/train/train.h"
#include "testutil.h"

static int g_fail = 0;
#define CHECK(c, ...)                                   \
    do {                                                \
        if (!(c)) {                                     \
            printf("FAIL %s:%d: ", __FILE__, __LINE__); \
            printf(__VA_ARGS__);                        \
            printf("\n");                               \
            g_fail++;                                   \
        }                                               \
    } while (0)

/* ids[lo..hi) where train == want (want < 0: all), detokenized with specials as text */
static char *detok(const wk_vocab *v, const wk_chat_data *d, int64_t lo, int64_t hi, int want) {
    wk_token *sel = malloc((size_t)(hi - lo + 1) * sizeof *sel);
    size_t n = 0, len = 0;
    for (int64_t i = lo; i < hi; i++)
        if (want < 0 || d->train[i] == want) sel[n++] = d->ids[i];
    wk_detokenize(v, sel, n, false, true, NULL, 0, &len);
    char *s = calloc(len + 1, 1);
    wk_detokenize(v, sel, n, false, true, s, len, &len);
    free(sel);
    return s;
}

static void expect_error(const wk_vocab *v, const wk_chat_template *t, const char *jsonl, const char *want) {
    wk_chat_options o = wk_chat_options_default();
    wk_chat_data d;
    const wk_status st = wk_chat_data_load(jsonl, strlen(jsonl), v, t, &o, &d);
    CHECK(st != WK_OK && strstr(wk_last_error(), want), "input %s: want an error with '%s', got %d '%s'", jsonl, want,
          (int)st, wk_last_error());
    CHECK(d.ids == NULL && d.n == 0, "a failed load leaves nothing");
}

int main(void) {
    /* a byte-level BPE vocabulary with the chatml markers as special tokens */
    static const char corpus[] = "system user assistant Be brief. Hi there Hello! Name a color Blue, like the sea. "
                                 "What is two and two? Four. the sea the sea hello there";
    const char *sp[] = {"<|im_start|>", "<|im_end|>"};
    wk_bpe_trainer *tr = NULL;
    wk_bpe_model *bm = NULL;
    wk_vocab *v = NULL;
    wk_chat_template *chatml = NULL, *bad = NULL;
    if (wk_bpe_trainer_create("gpt-2", &tr) || wk_bpe_trainer_feed(tr, corpus, strlen(corpus)) ||
        wk_bpe_trainer_train(tr, 320, sp, 2, &bm) || wk_bpe_model_to_vocab(bm, &v) ||
        wk_chat_template_builtin("chatml", &chatml)) {
        printf("FAIL setup: %s\n", wk_last_error());
        return 1;
    }
    static const char ok[] =
        "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi there\"},"
        " {\"role\": \"assistant\", \"content\": \"Hello!\"}, {\"role\": \"user\", \"content\": \"Name a color\"},"
        " {\"role\": \"assistant\", \"content\": \"Blue, like the sea.\"}]}\n"
        "  \r\n"
        "{\"messages\": [{\"role\": \"user\", \"content\": \"What is two and two?\"}, {\"role\": \"assistant\", "
        "\"content\": \"Four.\"}, {\"role\": \"user\", \"content\": \"the sea\"}]}";
    wk_chat_options o = wk_chat_options_default();
    wk_chat_data d;
    wk_status st = wk_chat_data_load(ok, strlen(ok), v, chatml, &o, &d);
    CHECK(st == WK_OK, "load: %s", wk_last_error());
    if (st == WK_OK) {
        CHECK(d.n_conv == 2 && d.conv_start[0] == 0, "2 conversations (%lld)", (long long)d.n_conv);
        const char *full1 = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
                            "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nName a color<|im_end|>\n"
                            "<|im_start|>assistant\nBlue, like the sea.<|im_end|>\n";
        const char *full2 = "<|im_start|>user\nWhat is two and two?<|im_end|>\n<|im_start|>assistant\nFour.<|im_end|>\n"
                            "<|im_start|>user\nthe sea<|im_end|>\n";
        const int64_t c1 = d.n_conv == 2 ? d.conv_start[1] : d.n;
        char *s = detok(v, &d, 0, c1, -1);
        CHECK(!strcmp(s, full1), "conversation 1 tokens give its rendering:\n%s", s);
        free(s);
        s = detok(v, &d, 0, c1, 1);
        CHECK(!strcmp(s, "Hello!<|im_end|>\nBlue, like the sea.<|im_end|>\n"), "conversation 1 loss tokens:\n%s", s);
        free(s);
        s = detok(v, &d, c1, d.n, -1);
        CHECK(!strcmp(s, full2), "conversation 2 tokens give its rendering:\n%s", s);
        free(s);
        s = detok(v, &d, c1, d.n, 1);
        CHECK(!strcmp(s, "Four.<|im_end|>\n"), "conversation 2 loss tokens (the trailing user turn is context): %s", s);
        free(s);
        /* the markers are single special tokens, never spelled out */
        const wk_token im_end = wk_vocab_find(v, "<|im_end|>", 10);
        int64_t n_end = 0, n_end_train = 0;
        for (int64_t i = 0; i < d.n; i++) n_end += d.ids[i] == im_end, n_end_train += d.ids[i] == im_end && d.train[i];
        CHECK(im_end >= 0 && n_end == 8 && n_end_train == 3, "<|im_end|> tokens %lld (8), as loss targets %lld (3)",
              (long long)n_end, (long long)n_end_train);
        printf("ok: %lld tokens, 2 conversations, loss tokens = the assistant turns exactly\n", (long long)d.n);
    }
    wk_chat_data_free(&d);

    expect_error(v, chatml, "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"assistant\", "
                            "\"content\": \"y\"}]}\n{\"messages\": [", "line 2: not valid JSON");
    expect_error(v, chatml, "[1, 2]", "line 1: expected {\"messages\"");
    expect_error(v, chatml, "{\"messages\": []}", "line 1: expected");
    expect_error(v, chatml, "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}", "line 1: no assistant message");
    expect_error(v, chatml, "\n\n{\"messages\": [{\"role\": \"user\", \"content\": 3}]}", "line 3: message 1 needs");
    expect_error(v, chatml, "{\"messages\": [{\"content\": \"x\"}]}", "line 1: message 1 needs");
    expect_error(v, chatml, "\n \n", "no conversations");
    static const char bad_src[] = "{{ messages|length }}{% for m in messages %}{{ m.content }}{% endfor %}";
    if (wk_chat_template_parse(bad_src, strlen(bad_src), &bad) == WK_OK)
        expect_error(v, bad, "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"assistant\", "
                             "\"content\": \"y\"}]}", "line 1: the chat template's rendering");
    else
        CHECK(0, "the test template parses: %s", wk_last_error());
    printf("ok: 8 malformed inputs refused with their line\n");

    wk_chat_template_free(bad);
    wk_chat_template_free(chatml);
    wk_vocab_free(v);
    wk_bpe_model_free(bm);
    wk_bpe_trainer_free(tr);
    printf("%s\n", g_fail ? "FAILED" : "PASSED");
    return g_fail != 0;
}
