/* tokenizer_train.c — `wick tokenizer-train`: learns a byte-level BPE vocabulary from text
 * files (src/train/bpe_train.c) and writes it as a vocab-only GGUF that `wick tokenize -m`
 * and the runtime load. The pre-tokenizer is the runtime's, named as in tokenizer.ggml.pre. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/train/train.h"

#define MAX_FILES 256
#define MAX_SPECIAL 256

static void usage(FILE *f) {
    fprintf(f,
            "usage: wick tokenizer-train --input FILE [--input FILE ...] --vocab-size N\n"
            "                            [--special TOK ...] [--pre gpt2|llama3] --out VOCAB.gguf\n"
            "  learn a byte-level BPE tokenizer (256 byte tokens + merges + special tokens)\n"
            "  --input FILE       UTF-8 training text (repeatable)\n"
            "  --vocab-size N     total tokens, special ones included (>= 256 + specials)\n"
            "  --special TOK      a control token appended after the learnt ones, e.g.\n"
            "                     '<|endoftext|>' (repeatable; the first is also BOS and EOS)\n"
            "  --pre NAME         pre-tokenizer: gpt2 (default) or llama3, or any\n"
            "                     tokenizer.ggml.pre name wick knows\n"
            "  --out FILE         the GGUF to write (atomically)\n"
            "exit: 0 ok, 1 unreadable input or failed training/write, 2 bad usage\n");
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) break;
            buf = nb, cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) break;
            fclose(f);
            *len = n;
            return buf;
        }
    }
    free(buf);
    fclose(f);
    return NULL;
}

int wk_cmd_tokenizer_train(int argc, char **argv) {
    const char *inputs[MAX_FILES], *special[MAX_SPECIAL], *out = NULL, *pre = "gpt2";
    int n_inputs = 0, n_special = 0;
    long vocab = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--input") && strcmp(a, "--vocab-size") && strcmp(a, "--special") &&
            strcmp(a, "--pre") && strcmp(a, "--out")) {
            fprintf(stderr, "wick tokenizer-train: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "wick tokenizer-train: %s needs a value\n", a);
            return 2;
        }
        const char *val = argv[++i];
        if (!strcmp(a, "--input")) {
            if (n_inputs == MAX_FILES) {
                fprintf(stderr, "wick tokenizer-train: at most %d --input files\n", MAX_FILES);
                return 2;
            }
            inputs[n_inputs++] = val;
        } else if (!strcmp(a, "--special")) {
            if (n_special == MAX_SPECIAL) {
                fprintf(stderr, "wick tokenizer-train: at most %d --special tokens\n", MAX_SPECIAL);
                return 2;
            }
            special[n_special++] = val;
        } else if (!strcmp(a, "--vocab-size")) {
            char *end;
            vocab = strtol(val, &end, 10);
            if (*val == 0 || *end || vocab < 1 || vocab > (1L << 30)) {
                fprintf(stderr, "wick tokenizer-train: --vocab-size '%s' is not a number in [1, 2^30]\n", val);
                return 2;
            }
        } else if (!strcmp(a, "--pre")) {
            pre = val;
        } else {
            out = val;
        }
    }
    if (!n_inputs || vocab < 0 || !out) {
        fprintf(stderr, "wick tokenizer-train: --input, --vocab-size and --out are required\n");
        usage(stderr);
        return 2;
    }
    if (vocab < 256 + n_special) {
        fprintf(stderr, "wick tokenizer-train: --vocab-size %ld is below 256 byte tokens + %d special\n", vocab,
                n_special);
        return 2;
    }
    if (!strcmp(pre, "gpt2")) pre = "gpt-2";  /* the runtime's (and llama.cpp's) name */

    wk_bpe_trainer *t = NULL;
    if (wk_bpe_trainer_create(pre, &t)) {
        fprintf(stderr, "wick tokenizer-train: --pre %s: %s\n", pre, wk_last_error());
        return 2;
    }
    clock_t t0 = clock();
    size_t total = 0;
    for (int i = 0; i < n_inputs; i++) {
        size_t len = 0;
        char *text = read_all(inputs[i], &len);
        if (!text) {
            fprintf(stderr, "wick tokenizer-train: cannot read %s\n", inputs[i]);
            wk_bpe_trainer_free(t);
            return 1;
        }
        wk_status st = wk_bpe_trainer_feed(t, text, len);
        free(text);
        if (st) {
            fprintf(stderr, "wick tokenizer-train: %s: %s\n", inputs[i], wk_last_error());
            wk_bpe_trainer_free(t);
            return 1;
        }
        total += len;
    }
    wk_bpe_model *m = NULL;
    wk_status st = wk_bpe_trainer_train(t, (int32_t)vocab, special, n_special, &m);
    wk_bpe_trainer_free(t);
    if (!st) {  /* the result must load as a runtime vocabulary before it is written */
        wk_vocab *v = NULL;
        st = wk_bpe_model_to_vocab(m, &v);
        wk_vocab_free(v);
    }
    if (!st) st = wk_bpe_model_write_gguf(m, out);
    if (st) {
        fprintf(stderr, "wick tokenizer-train: %s\n", wk_last_error());
        wk_bpe_model_free(m);
        return 1;
    }
    fprintf(stderr, "wick tokenizer-train: %zu bytes -> %d tokens (%d merges%s) in %.2f s -> %s\n", total,
            (int)m->n_tokens, (int)m->n_merges, m->n_tokens < vocab ? ", no more pairs to merge" : "",
            (double)(clock() - t0) / CLOCKS_PER_SEC, out);
    wk_bpe_model_free(m);
    return 0;
}
