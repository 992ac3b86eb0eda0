/* perplexity.c — `wick perplexity`: perplexity of a model on a text, by llama.cpp's method
 * so the numbers compare: the text (tokenized with BOS when the vocabulary adds one) is cut
 * into chunks of c tokens; each chunk is computed from an empty cache with its first token
 * replaced by BOS, and only the second half of each chunk is scored (every scored token
 * then has at least c/2 tokens of context). PPL = exp(mean NLL); the ± is the standard
 * error of the mean NLL carried through exp (delta method). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "common.h"
#include "src/runtime/tokenizer.h"

static void usage(FILE *f) {
    fprintf(f, "usage: wick perplexity -m MODEL -f TEXT [-c 512] [options]\n");
    wk_tool_usage_common(f, false);
    fprintf(f, "  -f, --file FILE       the text to score (UTF-8)\n"
               "  --chunks N            score at most N chunks (default: all)\n"
               "note: -c defaults to 512 here, as in llama.cpp's perplexity\n");
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "wick perplexity: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *nb = cap < ((size_t)1 << 40) ? realloc(buf, cap * 2) : NULL;
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    bool err = ferror(f);
    fclose(f);
    if (!buf || err) {
        fprintf(stderr, "wick perplexity: cannot read %s\n", path);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* -log softmax(logits)[target], in double */
static double nll_of(const float *logits, int32_t n_vocab, wk_token target) {
    double mx = logits[0];
    for (int32_t i = 1; i < n_vocab; i++) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0;
    for (int32_t i = 0; i < n_vocab; i++) sum += exp((double)logits[i] - mx);
    return log(sum) - ((double)logits[target] - mx);
}

int wk_cmd_perplexity(int argc, char **argv) {
    wk_tool_opts o;
    wk_tool_opts_init(&o);
    o.n_ctx = 512;
    const char *file = NULL;
    long max_chunks = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        int r = wk_tool_flag("perplexity", argc, argv, &i, &o, false);
        if (r == 2) return 2;
        if (r == 1) continue;
        if (!strcmp(a, "-f") || !strcmp(a, "--file") || !strcmp(a, "--chunks")) {
            if (!v) {
                fprintf(stderr, "wick perplexity: %s needs a value\n", a);
                return 2;
            }
            i++;
            if (strcmp(a, "--chunks")) file = v;
            else if (!wk_tool_parse_long(v, 1, 1L << 30, &max_chunks)) {
                fprintf(stderr, "wick perplexity: bad value '%s' for %s\n", v, a);
                return 2;
            }
        } else {
            fprintf(stderr, "wick perplexity: unknown option '%s' (see 'wick perplexity --help')\n", a);
            return 2;
        }
    }
    if (!o.model || !file) {
        fprintf(stderr, "wick perplexity: -m MODEL and -f TEXT are required (see 'wick perplexity --help')\n");
        return 2;
    }
    if (o.n_ctx < 4) {
        fprintf(stderr, "wick perplexity: -c %ld is too small (at least 4)\n", o.n_ctx);
        return 2;
    }
    size_t text_len = 0;
    char *text = read_file(file, &text_len);
    if (!text) return 1;
    wk_model *model = NULL;
    wk_context *ctx = NULL;
    wk_token *ids = NULL;
    int8_t *want = NULL;
    int rc = wk_tool_open("perplexity", &o, (uint32_t)o.n_ctx, &model, &ctx);
    if (rc) goto done;
    rc = 1;
    const wk_vocab *vocab = wk_model_vocab(model);
    const int32_t n_vocab = wk_model_n_vocab(model);
    const long n_ctx = o.n_ctx;
    size_t n_tok = 0;
    double t0 = wk_tool_now();
    ids = wk_tool_tokenize("perplexity", vocab, text, text_len, true, false, &n_tok);
    if (!ids) goto done;
    fprintf(stderr, "wick perplexity: %zu tokens in %.2f s\n", n_tok, wk_tool_now() - t0);
    if (n_tok < 2 * (size_t)n_ctx) {
        fprintf(stderr, "wick perplexity: the text has %zu tokens; a context of %ld needs at least %ld\n", n_tok, n_ctx,
                2 * n_ctx);
        goto done;
    }
    long n_chunks = (long)(n_tok / (size_t)n_ctx);
    if (max_chunks > 0 && max_chunks < n_chunks) n_chunks = max_chunks;
    const bool add_bos = wk_vocab_add_bos(vocab) && wk_vocab_bos(vocab) >= 0;
    const long first = n_ctx / 2;
    want = malloc((size_t)n_ctx);
    if (!want) goto done;
    for (long j = 0; j < n_ctx; j++) want[j] = j >= first && j + 1 < n_ctx;
    fprintf(stderr, "wick perplexity: %ld chunks of %ld tokens, scoring the last %ld of each; cpu %s\n", n_chunks,
            n_ctx, n_ctx - 1 - first, wk_cpu_isa());

    double nll = 0, nll2 = 0;
    long count = 0;
    t0 = wk_tool_now();
    for (long c = 0; c < n_chunks; c++) {
        wk_token *chunk = ids + c * n_ctx;
        const wk_token saved = chunk[0];
        if (add_bos) chunk[0] = wk_vocab_bos(vocab);
        wk_kv_clear(ctx);
        wk_batch b = {(int32_t)n_ctx, chunk, NULL, NULL, want};
        wk_status st = wk_decode(ctx, &b);
        chunk[0] = saved;
        if (st != WK_OK) {
            fprintf(stderr, "\nwick perplexity: %s\n", wk_last_error());
            goto done;
        }
        for (long j = first; j + 1 < n_ctx; j++) {
            const float *lg = wk_get_logits(ctx, (int32_t)j);
            if (!lg) {
                fprintf(stderr, "\nwick perplexity: no logits for row %ld\n", j);
                goto done;
            }
            double v = nll_of(lg, n_vocab, chunk[j + 1]);
            nll += v;
            nll2 += v * v;
            count++;
        }
        if (c == 0) {
            double dt = wk_tool_now() - t0;
            fprintf(stderr, "wick perplexity: %.2f s per chunk, about %.1f min in all\n", dt, dt * n_chunks / 60);
        }
        printf("[%ld]%.4f,", c + 1, exp(nll / count));
        fflush(stdout);
    }
    printf("\n");
    const double mean = nll / count, var = nll2 / count - mean * mean;
    const double ppl = exp(mean), err = var > 0 && count > 1 ? ppl * sqrt(var / (count - 1)) : 0;
    printf("PPL = %.4f ± %.5f\n", ppl, err);
    fprintf(stderr, "wick perplexity: %ld tokens scored in %.2f s\n", count, wk_tool_now() - t0);
    rc = 0;
done:
    free(want);
    free(ids);
    free(text);
    wk_context_free(ctx);
    wk_model_free(model);
    return rc;
}
