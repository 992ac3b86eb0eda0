/* data.c — `wick data`: a text corpus -> DIR/train.bin, DIR/val.bin (token shards, header
 * in src/train/train.h) and DIR/meta.json, with paragraph documents, normalization, exact /
 * MinHash near-duplicate removal and a seeded train/val split by document (src/train/data.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "src/train/train.h"

#define MAX_FILES 256

static void usage(FILE *f) {
    fprintf(f,
            "usage: wick data --input FILE [--input FILE ...] --tokenizer VOCAB.gguf --out DIR\n"
            "                 [--val-fraction 0.1] [--dedup exact|minhash|none] [--seed S]\n"
            "  documents are paragraphs (runs of non-blank lines) after CRLF -> LF and\n"
            "  stripping trailing blanks; each is tokenized and followed by the EOS token\n"
            "  --input FILE         UTF-8 text (repeatable; documents never span files)\n"
            "  --tokenizer FILE     a GGUF with tokenizer.ggml.* keys (e.g. from tokenizer-train)\n"
            "  --out DIR            output directory (created if missing)\n"
            "  --val-fraction F     share of kept documents for val.bin, in [0, 1) (default 0.1)\n"
            "  --dedup MODE         minhash (default: exact + near duplicates, Jaccard >= 0.8 of\n"
            "                       word 5-shingles), exact, or none\n"
            "  --seed S             seed of the train/val shuffle (default 1234)\n"
            "exit: 0 ok, 1 unreadable input/tokenizer or unwritable output, 2 bad usage\n");
}

int wk_cmd_data(int argc, char **argv) {
    const char *inputs[MAX_FILES], *tok = NULL, *out = NULL;
    int n_inputs = 0;
    wk_data_params p = {0.1, WK_DEDUP_MINHASH, 1234, 0.8};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--input") && strcmp(a, "--tokenizer") && strcmp(a, "--out") &&
            strcmp(a, "--val-fraction") && strcmp(a, "--dedup") && strcmp(a, "--seed")) {
            fprintf(stderr, "wick data: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "wick data: %s needs a value\n", a);
            return 2;
        }
        const char *val = argv[++i];
        char *end = NULL;
        if (!strcmp(a, "--input")) {
            if (n_inputs == MAX_FILES) {
                fprintf(stderr, "wick data: at most %d --input files\n", MAX_FILES);
                return 2;
            }
            inputs[n_inputs++] = val;
        } else if (!strcmp(a, "--tokenizer")) {
            tok = val;
        } else if (!strcmp(a, "--out")) {
            out = val;
        } else if (!strcmp(a, "--val-fraction")) {
            p.val_fraction = strtod(val, &end);
            if (*val == 0 || *end || !(p.val_fraction >= 0 && p.val_fraction < 1)) {
                fprintf(stderr, "wick data: --val-fraction '%s' is not a number in [0, 1)\n", val);
                return 2;
            }
        } else if (!strcmp(a, "--dedup")) {
            if (!strcmp(val, "none")) p.dedup = WK_DEDUP_NONE;
            else if (!strcmp(val, "exact")) p.dedup = WK_DEDUP_EXACT;
            else if (!strcmp(val, "minhash")) p.dedup = WK_DEDUP_MINHASH;
            else {
                fprintf(stderr, "wick data: --dedup '%s' is not one of exact, minhash, none\n", val);
                return 2;
            }
        } else {
            p.seed = strtoull(val, &end, 10);
            if (*val == 0 || *val == '-' || *end) {
                fprintf(stderr, "wick data: --seed '%s' is not a non-negative integer\n", val);
                return 2;
            }
        }
    }
    if (!n_inputs || !tok || !out) {
        fprintf(stderr, "wick data: --input, --tokenizer and --out are required\n");
        usage(stderr);
        return 2;
    }

    wk_gguf *g = NULL;
    if (wk_gguf_open(tok, &g)) {
        fprintf(stderr, "wick data: %s\n", wk_gguf_last_error());
        return 1;
    }
    if (wk_gguf_find_key(g, "tokenizer.ggml.model") < 0) {
        fprintf(stderr, "wick data: %s has no tokenizer (no tokenizer.ggml.model key)\n", tok);
        wk_gguf_free(g);
        return 1;
    }
    wk_vocab *v = NULL;
    wk_status st = wk_vocab_load_gguf(g, &v);
    wk_gguf_free(g);
    if (st) {
        fprintf(stderr, "wick data: %s: %s\n", tok, wk_last_error());
        return 1;
    }
    wk_data_stats s;
    st = wk_data_prepare(inputs, n_inputs, v, tok, out, &p, &s);
    wk_vocab_free(v);
    if (st) {
        fprintf(stderr, "wick data: %s\n", wk_last_error());
        return 1;
    }
    fprintf(stderr,
            "wick data: %llu documents, %llu kept (%llu exact, %llu near duplicates dropped); "
            "train %llu docs / %llu tokens, val %llu docs / %llu tokens -> %s\n",
            (unsigned long long)s.docs_in, (unsigned long long)s.docs_kept, (unsigned long long)s.dropped_exact,
            (unsigned long long)s.dropped_near, (unsigned long long)s.train_docs,
            (unsigned long long)s.train_tokens, (unsigned long long)s.val_docs, (unsigned long long)s.val_tokens,
            out);
    return 0;
}
