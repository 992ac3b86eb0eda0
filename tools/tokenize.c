/* tokenize.c — `wick tokenize -m MODEL [-p TEXT] [--ids] [--no-bos] [--no-parse-special]`:
 * text (from -p or all of stdin, byte for byte) -> token ids. Only the tokenizer.ggml.* keys
 * are read, so vocab-only GGUF files work and no weights are loaded. Like llama-tokenize,
 * special-token text (e.g. "<|im_end|>") is parsed into its id by default. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "src/runtime/tokenizer.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: wick tokenize -m MODEL [-p TEXT] [--ids] [--no-bos] [--no-parse-special]\n"
            "  tokenize TEXT (default: all of stdin, taken verbatim, trailing newline included)\n"
            "  -m, --model FILE      a GGUF file with tokenizer.ggml.* keys (weights not needed)\n"
            "  -p, --prompt TEXT     the text to tokenize instead of stdin\n"
            "  --ids                 print only the ids, space separated, on one line\n"
            "                        (default: one line per token: id -> 'piece')\n"
            "  --no-bos              do not add the vocabulary's BOS/EOS tokens\n"
            "  --no-parse-special    treat special-token text such as <s> as plain text\n"
            "exit: 0 ok, 1 unreadable model or text it cannot tokenize, 2 bad usage\n");
}

/* All of stdin; NUL-free is not required (the length is returned). NULL on failure. */
static char *read_stdin(size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    for (;;) {
        if (n == cap) {
            char *nb = cap > ((size_t)1 << 40) ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, stdin);
        n += got;
        if (got == 0) break;
    }
    if (ferror(stdin)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* One line per token, as llama-tokenize prints it: the id, then the piece in quotes.
 * Pieces are raw bytes (a byte-fallback token may print half a UTF-8 character). */
static int print_pieces(const wk_vocab *v, const wk_token *ids, size_t n) {
    char small[256];
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        char *buf = small;
        wk_status st = wk_token_to_piece(v, ids[i], true, buf, sizeof small, &len);
        if (st == WK_ERR_INVALID_ARG && len > sizeof small) {
            buf = malloc(len);
            st = buf ? wk_token_to_piece(v, ids[i], true, buf, len, &len) : WK_ERR_NOMEM;
        }
        if (st) {
            fprintf(stderr, "wick tokenize: token %d: %s\n", (int)ids[i], wk_last_error());
            if (buf != small) free(buf);
            return 1;
        }
        printf("%6d -> '", (int)ids[i]);
        fwrite(buf, 1, len, stdout);
        fputs("'\n", stdout);
        if (buf != small) free(buf);
    }
    return 0;
}

int wk_cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL;
    int only_ids = 0, no_bos = 0, parse_special = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model") || !strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "wick tokenize: %s needs a value\n", a);
                usage(stderr);
                return 2;
            }
            int is_model = !strcmp(a, "-m") || !strcmp(a, "--model");
            *(is_model ? &model : &prompt) = argv[++i];
        } else if (!strcmp(a, "--ids")) {
            only_ids = 1;
        } else if (!strcmp(a, "--no-bos")) {
            no_bos = 1;
        } else if (!strcmp(a, "--no-parse-special")) {
            parse_special = 0;
        } else {
            fprintf(stderr, "wick tokenize: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!model) {
        fprintf(stderr, "wick tokenize: no model given (-m FILE)\n");
        usage(stderr);
        return 2;
    }

    wk_gguf *g = NULL;
    wk_gguf_status gs = wk_gguf_open(model, &g);
    if (gs) {
        fprintf(stderr, "wick tokenize: %s\n", wk_gguf_last_error());
        return 1;
    }
    if (wk_gguf_find_key(g, "tokenizer.ggml.model") < 0) {
        fprintf(stderr, "wick tokenize: %s has no tokenizer (no tokenizer.ggml.model key)\n", model);
        wk_gguf_free(g);
        return 1;
    }
    wk_vocab *v = NULL;
    wk_status st = wk_vocab_load_gguf(g, &v);
    wk_gguf_free(g);  /* the vocabulary owns its copy */
    if (st) {
        fprintf(stderr, "wick tokenize: %s: %s\n", model, wk_last_error());
        return 1;
    }

    size_t len;
    char *text = NULL;
    if (prompt) {
        len = strlen(prompt);
    } else if (!(text = read_stdin(&len))) {
        fprintf(stderr, "wick tokenize: cannot read stdin\n");
        wk_vocab_free(v);
        return 1;
    }
    const char *src = prompt ? prompt : text;
    int rc = 1;
    size_t n = 0;
    wk_token *ids = NULL;
    st = wk_tokenize(v, src, len, !no_bos, parse_special, NULL, 0, &n);  /* size query */
    if (!st) {
        ids = malloc((n ? n : 1) * sizeof *ids);
        st = ids ? wk_tokenize(v, src, len, !no_bos, parse_special, ids, n, &n) : WK_ERR_NOMEM;
    }
    if (st) {
        fprintf(stderr, "wick tokenize: %s\n", st == WK_ERR_NOMEM ? "out of memory" : wk_last_error());
    } else if (only_ids) {
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", (int)ids[i]);
        putchar('\n');
        rc = 0;
    } else {
        rc = print_pieces(v, ids, n);
    }
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "wick tokenize: cannot write the output\n");
        rc = 1;
    }
    free(ids);
    free(text);
    wk_vocab_free(v);
    return rc;
}
