/* embed.c — `wick embed -m MODEL (-p TEXT ... | -f FILE)`: sentence embeddings from a BERT
 * GGUF (src/model/bert.c): each text tokenized with the WordPiece vocabulary ([CLS] text
 * [SEP]), encoded, pooled (the model's pooling type, or --pooling) and L2-normalized, one
 * vector per text: a line of numbers each (default) or one JSON document (--json). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "common.h"
#include "src/model/bert.h"
#include "src/runtime/tokenizer.h"

#define CMD "wick embed"
#define MAX_TEXTS 4096

static void usage(FILE *f) {
    fprintf(f, "usage: wick embed -m MODEL.gguf (-p TEXT [-p TEXT ...] | -f FILE) [options]\n"
               "  sentence embeddings from a BERT GGUF (e.g. `wick convert` of all-MiniLM-L6-v2)\n"
               "  -p, --prompt TEXT     a text to embed (repeatable)\n"
               "  -f, --file FILE       one text per line (empty lines skipped)\n"
               "  --pooling mean|cls|none   default: the model's (bert.pooling_type); none prints\n"
               "                        every token's vector\n"
               "  --no-normalize        skip the L2 normalization\n"
               "  --json                one JSON document: {\"model\", \"data\": [{\"index\", \"text\", \"embedding\"}]}\n"
               "  -t, --threads N       CPU threads (default: every core)\n"
               "exit: 0 done, 1 failed (unreadable model or text, text too long), 2 bad usage\n");
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

int wk_cmd_embed(int argc, char **argv) {
    const char *model = NULL, *file = NULL;
    const char *texts[MAX_TEXTS];
    int n_texts = 0, json = 0, normalize = 1;
    long threads = 0;
    wk_pooling pooling = WK_POOL_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--no-normalize")) normalize = 0;
        else if (!strcmp(a, "-m") || !strcmp(a, "--model") || !strcmp(a, "-p") || !strcmp(a, "--prompt") ||
                 !strcmp(a, "-f") || !strcmp(a, "--file") || !strcmp(a, "--pooling") || !strcmp(a, "-t") ||
                 !strcmp(a, "--threads")) {
            if (!v) {
                fprintf(stderr, CMD ": %s needs a value\n", a);
                return 2;
            }
            i++;
            if (!strcmp(a, "-m") || !strcmp(a, "--model")) model = v;
            else if (!strcmp(a, "-f") || !strcmp(a, "--file")) file = v;
            else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
                if (n_texts == MAX_TEXTS) {
                    fprintf(stderr, CMD ": more than %d texts\n", MAX_TEXTS);
                    return 2;
                }
                texts[n_texts++] = v;
            } else if (!strcmp(a, "--pooling")) {
                if (!strcmp(v, "mean")) pooling = WK_POOL_MEAN;
                else if (!strcmp(v, "cls")) pooling = WK_POOL_CLS;
                else if (!strcmp(v, "none")) pooling = WK_POOL_NONE;
                else {
                    fprintf(stderr, CMD ": --pooling '%s' is not mean, cls or none\n", v);
                    return 2;
                }
            } else if (!wk_tool_parse_long(v, 1, 4096, &threads)) {
                fprintf(stderr, CMD ": --threads '%s' is not a number in [1, 4096]\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, CMD ": unknown option '%s'\n", a);
            return 2;
        }
    }
    if (!model || (!n_texts && !file) || (n_texts && file)) {
        fprintf(stderr, CMD ": give -m MODEL and either -p TEXT or -f FILE (see --help)\n");
        return 2;
    }
    char *buf = NULL;
    if (file) { /* one text per line */
        FILE *f = fopen(file, "rb");
        size_t len = 0, cap = 0;
        if (f) {
            char tmp[65536];
            size_t r;
            while ((r = fread(tmp, 1, sizeof tmp, f)) > 0) {
                if (len + r + 1 > cap) {
                    char *nb = realloc(buf, cap = 2 * (len + r + 1));
                    if (!nb) break;
                    buf = nb;
                }
                memcpy(buf + len, tmp, r), len += r;
            }
            fclose(f);
        }
        if (!f || !buf) {
            fprintf(stderr, CMD ": cannot read %s\n", file);
            free(buf);
            return 1;
        }
        buf[len] = 0;
        for (char *s = buf; s && *s;) {
            char *nl = strchr(s, '\n');
            if (nl) *nl = 0;
            size_t l = strlen(s);
            if (l && s[l - 1] == '\r') s[--l] = 0;
            if (l) {
                if (n_texts == MAX_TEXTS) {
                    fprintf(stderr, CMD ": %s has more than %d texts\n", file, MAX_TEXTS);
                    free(buf);
                    return 1;
                }
                texts[n_texts++] = s;
            }
            s = nl ? nl + 1 : NULL;
        }
        if (!n_texts) {
            fprintf(stderr, CMD ": %s has no text\n", file);
            free(buf);
            return 1;
        }
    }
    int rc = 1;
    wk_bert *b = NULL;
    wk_backend *be = NULL;
    float *vec = NULL;
    wk_token *ids = NULL;
    if (wk_bert_load(model, &b) != WK_OK || wk_backend_cpu_create((int)threads, &be) != WK_OK) {
        fprintf(stderr, CMD ": %s\n", wk_last_error());
        goto done;
    }
    const int32_t E = wk_bert_n_embd(b), n_ctx = wk_bert_n_ctx(b);
    if (!(vec = malloc((size_t)n_ctx * (size_t)E * sizeof *vec))) goto done;
    if (json) printf("{\"model\": "), json_str(stdout, model), printf(", \"dim\": %d, \"data\": [", E);
    for (int t = 0; t < n_texts; t++) {
        size_t n = 0;
        free(ids);
        if (!(ids = wk_tool_tokenize("embed", wk_bert_vocab(b), texts[t], strlen(texts[t]), true, false, &n))) goto done;
        if (n > (size_t)n_ctx) {
            fprintf(stderr, CMD ": text %d has %zu tokens; the model takes at most %d\n", t + 1, n, n_ctx);
            goto done;
        }
        if (wk_bert_embed(b, be, ids, (int32_t)n, pooling, normalize, vec) != WK_OK) {
            fprintf(stderr, CMD ": %s\n", wk_last_error());
            goto done;
        }
        const int rows = pooling == WK_POOL_NONE ? (int)n : 1;
        if (json) {
            printf("%s\n  {\"index\": %d, \"text\": ", t ? "," : "", t);
            json_str(stdout, texts[t]);
            printf(", \"n_tokens\": %zu, \"embedding\": [", n);
            for (int r = 0; r < rows; r++) {
                if (rows > 1) printf("%s[", r ? ", " : "");
                for (int e = 0; e < E; e++) printf("%s%.8g", e ? ", " : "", (double)vec[(size_t)r * E + e]);
                if (rows > 1) printf("]");
            }
            printf("]}");
        } else {
            for (int r = 0; r < rows; r++)
                for (int e = 0; e < E; e++) printf("%.8g%c", (double)vec[(size_t)r * E + e], e + 1 < E ? ' ' : '\n');
        }
    }
    if (json) printf("\n]}\n");
    if (fflush(stdout)) goto done;
    rc = 0;
done:
    free(ids);
    free(vec);
    free(buf);
    wk_backend_free(be);
    wk_bert_free(b);
    return rc;
}
