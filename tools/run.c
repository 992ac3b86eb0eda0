/* run.c — `wick run`: load a model, process the prompt in one batch, then generate token
 * by token, streaming only the generated text to stdout (logs and timings go to stderr).
 * Test hooks: --prompt-ids gives the prompt as ids (no BOS added); --dump-logits writes the
 * logits of every prompt position computed in one batch, --dump-logits-seq the same
 * computed one token at a time (raw little-endian f32, n_prompt x n_vocab, no header). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "common.h"
#include "src/runtime/sampler.h"
#include "src/runtime/tokenizer.h"
#include "wick.h"

typedef struct {
    wk_tool_opts o; /* model, context and sampling flags (common.h) */
    const char *prompt, *prompt_ids, *dump, *dump_seq;
    long n_predict;
    wk_tool_stops stops;
} run_opts;

static void usage(FILE *f) {
    fprintf(f, "usage: wick run -m MODEL [-p PROMPT] [-n N] [options]\n"
               "  -p, --prompt TEXT     prompt (empty or absent: start from BOS)\n"
               "  -n, --n-predict N     tokens to generate (default 128; 0 = only process the prompt)\n"
               "  --stop TEXT           end generation where TEXT appears, without printing it\n"
               "                        (repeatable, up to 8; generation also ends at end-of-generation tokens)\n");
    wk_tool_usage_common(f, true);
    fprintf(f, "  --prompt-ids 1,2,3    prompt as token ids (no BOS added)\n"
               "  --dump-logits FILE    write the prompt's logits (one batch), f32 n_prompt x n_vocab\n"
               "  --dump-logits-seq FILE  same, computed one token at a time\n");
}

/* 0 ok, 2 bad usage (message printed) */
static int parse_args(int argc, char **argv, run_opts *r) {
    *r = (run_opts){.n_predict = 128};
    wk_tool_opts_init(&r->o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        int f = wk_tool_flag("run", argc, argv, &i, &r->o, true);
        if (f == 2) return 2;
        if (f == 1) continue;
        const char **dst = !strcmp(a, "-p") || !strcmp(a, "--prompt") ? &r->prompt
                           : !strcmp(a, "--prompt-ids")                ? &r->prompt_ids
                           : !strcmp(a, "--dump-logits")               ? &r->dump
                           : !strcmp(a, "--dump-logits-seq")           ? &r->dump_seq
                                                                       : NULL;
        bool is_n = !strcmp(a, "-n") || !strcmp(a, "--n-predict");
        if (!strcmp(a, "--stop")) {
            if (!v || !*v) {
                fprintf(stderr, "wick run: --stop needs a non-empty text\n");
                return 2;
            }
            if (r->stops.n == WK_TOOL_MAX_STOPS) {
                fprintf(stderr, "wick run: at most %d --stop strings\n", WK_TOOL_MAX_STOPS);
                return 2;
            }
            r->stops.stops[r->stops.n++] = v;
            i++;
            continue;
        }
        if (!dst && !is_n) {
            fprintf(stderr, "wick run: unknown option '%s' (see 'wick run --help')\n", a);
            return 2;
        }
        if (!v) {
            fprintf(stderr, "wick run: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (dst) *dst = v;
        else if (!wk_tool_parse_long(v, 0, 1 << 24, &r->n_predict)) {
            fprintf(stderr, "wick run: bad value '%s' for %s\n", v, a);
            return 2;
        }
    }
    if (!r->o.model) {
        fprintf(stderr, "wick run: -m MODEL is required (see 'wick run --help')\n");
        return 2;
    }
    if (r->prompt && r->prompt_ids) {
        fprintf(stderr, "wick run: give either -p or --prompt-ids, not both\n");
        return 2;
    }
    return 0;
}

/* "1,2,3" -> ids; 2 on a malformed list */
static int parse_ids(const char *s, int32_t n_vocab, wk_token **out, size_t *n) {
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    wk_token *ids = malloc(cap * sizeof *ids);
    if (!ids) return 1;
    size_t k = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v >= n_vocab || (*end && *end != ',')) {
            fprintf(stderr, "wick run: --prompt-ids: '%s' is not a list of ids in 0..%d\n", s, n_vocab - 1);
            free(ids);
            return 2;
        }
        ids[k++] = (wk_token)v;
        p = *end ? end + 1 : end;
    }
    *out = ids;
    *n = k;
    return 0;
}

/* ---- main ---------------------------------------------------------------------------- */

static int write_rows(const char *path, FILE *f, const float *row, int32_t n_vocab) {
    if (fwrite(row, sizeof(float), (size_t)n_vocab, f) != (size_t)n_vocab) {
        fprintf(stderr, "wick run: writing %s failed\n", path);
        return 1;
    }
    return 0;
}

/* Prompt logits, one token at a time, to path. */
static int dump_seq(wk_context *ctx, const char *path, const wk_token *ids, size_t n, int32_t n_vocab) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "wick run: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        wk_batch b = wk_batch_one_seq(&ids[i], 1);
        if (wk_decode(ctx, &b) != WK_OK) {
            fprintf(stderr, "wick run: %s\n", wk_last_error());
            rc = 1;
        } else rc = write_rows(path, f, wk_get_logits(ctx, 0), n_vocab);
    }
    if (fclose(f) && !rc) {
        fprintf(stderr, "wick run: writing %s failed\n", path);
        rc = 1;
    }
    return rc;
}

int wk_cmd_run(int argc, char **argv) {
    run_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc;
    wk_model *model = NULL;
    wk_context *ctx = NULL;
    wk_token *ids = NULL;
    wk_sampler *smpl = NULL;
    size_t n_ids = 0;
    rc = 1;

    double t0 = wk_tool_now();
    if (wk_model_load(o.o.model, NULL, &model) != WK_OK) {
        fprintf(stderr, "wick run: %s\n", wk_last_error());
        goto done;
    }
    if (wk_tool_apply_lora("run", &o.o, model)) goto done;
    const wk_vocab *vocab = wk_model_vocab(model);
    const int32_t n_vocab = wk_model_n_vocab(model);
    if (wk_vocab_n_tokens(vocab) > n_vocab) {
        fprintf(stderr, "wick run: the vocabulary has %d tokens but the model only %d logits\n",
                wk_vocab_n_tokens(vocab), n_vocab);
        goto done;
    }
    if (o.o.n_ctx > wk_model_n_ctx_train(model)) {
        fprintf(stderr, "wick run: -c %ld exceeds the model's training context (%d)\n", o.o.n_ctx,
                wk_model_n_ctx_train(model));
        rc = 2;
        goto done;
    }

    /* the prompt */
    if (o.prompt_ids) {
        int r = parse_ids(o.prompt_ids, n_vocab, &ids, &n_ids);
        if (r) {
            rc = r;
            goto done;
        }
    } else if (o.prompt && *o.prompt) {
        size_t len = strlen(o.prompt);
        if (wk_tokenize(vocab, o.prompt, len, true, true, NULL, 0, &n_ids) != WK_OK ||
            !(ids = malloc((n_ids ? n_ids : 1) * sizeof *ids)) ||
            wk_tokenize(vocab, o.prompt, len, true, true, ids, n_ids, &n_ids) != WK_OK) {
            fprintf(stderr, "wick run: cannot tokenize the prompt: %s\n", wk_last_error());
            goto done;
        }
    }
    if (n_ids == 0) { /* start from BOS */
        wk_token bos = wk_vocab_bos(vocab);
        if (bos < 0) {
            fprintf(stderr, "wick run: the prompt is empty and the model has no BOS token\n");
            goto done;
        }
        free(ids);
        if (!(ids = malloc(sizeof *ids))) goto done;
        ids[0] = bos;
        n_ids = 1;
    }

    wk_context_params cp = wk_context_default_params();
    cp.n_ctx = (uint32_t)o.o.n_ctx;
    cp.n_threads = o.o.n_threads;
    cp.type_k = cp.type_v = o.o.kv_type;
    uint32_t n_ctx = o.o.n_ctx ? (uint32_t)o.o.n_ctx
                             : (uint32_t)(wk_model_n_ctx_train(model) < 4096 ? wk_model_n_ctx_train(model) : 4096);
    if (n_ids > n_ctx) {
        fprintf(stderr, "wick run: the prompt has %zu tokens, more than the context size %u\n", n_ids, n_ctx);
        goto done;
    }
    cp.n_batch = n_ids > 512 ? (uint32_t)n_ids : 512; /* the whole prompt in one graph */
    if (wk_context_create(model, &cp, &ctx) != WK_OK) {
        fprintf(stderr, "wick run: %s\n", wk_last_error());
        goto done;
    }
    double t_load = wk_tool_now() - t0;
    fprintf(stderr, "wick run: %s, %d layers, n_embd %d, vocab %d; context %u; prompt %zu tokens; cpu %s (load %.2f s)\n",
            wk_model_arch(model), wk_model_n_layer(model), wk_model_n_embd(model), n_vocab, wk_context_n_ctx(ctx),
            n_ids, wk_cpu_isa(), t_load);

    if (o.dump_seq) {
        if (dump_seq(ctx, o.dump_seq, ids, n_ids, n_vocab)) goto done;
        wk_kv_clear(ctx);
    }

    /* prompt: one batch; logits for every row only when they are dumped */
    int8_t *want = malloc(n_ids);
    if (!want) goto done;
    for (size_t i = 0; i < n_ids; i++) want[i] = o.dump || i + 1 == n_ids;
    wk_batch b = {(int32_t)n_ids, ids, NULL, NULL, want};
    double t1 = wk_tool_now();
    wk_status st = wk_decode(ctx, &b);
    free(want);
    if (st != WK_OK) {
        fprintf(stderr, "wick run: %s\n", wk_last_error());
        goto done;
    }
    double t_prompt = wk_tool_now() - t1;
    if (o.dump) {
        FILE *f = fopen(o.dump, "wb");
        if (!f) {
            fprintf(stderr, "wick run: cannot open %s: %s\n", o.dump, strerror(errno));
            goto done;
        }
        int bad = 0;
        for (size_t i = 0; i < n_ids && !bad; i++) bad = write_rows(o.dump, f, wk_get_logits(ctx, (int32_t)i), n_vocab);
        if (fclose(f) || bad) {
            fprintf(stderr, "wick run: writing %s failed\n", o.dump);
            goto done;
        }
    }

    /* generation */
    if (wk_sampler_create(&o.o.sp, n_vocab, &smpl) != WK_OK) {
        fprintf(stderr, "wick run: %s\n", wk_last_error());
        rc = 2;
        goto done;
    }
    for (size_t i = 0; i < n_ids; i++) wk_sampler_accept(smpl, ids[i]); /* penalties see the prompt */
    wk_token prev = ids[n_ids - 1];
    int n_gen = 0;
    double t2 = wk_tool_now();
    char piece[256];
    for (long i = 0; i < o.n_predict; i++) {
        wk_token tok;
        if (wk_sampler_sample(smpl, wk_get_logits(ctx, -1), &tok) != WK_OK) {
            fprintf(stderr, "\nwick run: %s\n", wk_last_error());
            goto done;
        }
        wk_sampler_accept(smpl, tok);
        if (wk_vocab_is_eog(vocab, tok)) break;
        size_t len = 0;
        if (wk_token_to_piece(vocab, tok, false, piece, sizeof piece, &len) != WK_OK) len = 0;
        const char *p = piece;
        /* the decoder drops the leading space of the first piece after BOS */
        if (prev == wk_vocab_bos(vocab) && len > 0 && p[0] == ' ') p++, len--;
        n_gen++;
        prev = tok;
        if (o.stops.n) {
            bool oom;
            const bool hit = wk_tool_stops_feed(&o.stops, p, len, stdout, &oom);
            if (oom) {
                fprintf(stderr, "\nwick run: out of memory\n");
                goto done;
            }
            if (hit) break;
        } else {
            fwrite(p, 1, len, stdout);
            fflush(stdout);
        }
        if (i + 1 == o.n_predict) break;
        if ((uint32_t)wk_kv_used(ctx) >= wk_context_n_ctx(ctx)) {
            fprintf(stderr, "\nwick run: context full (%u tokens), stopping\n", wk_context_n_ctx(ctx));
            break;
        }
        b = wk_batch_one_seq(&tok, 1);
        if (wk_decode(ctx, &b) != WK_OK) {
            fprintf(stderr, "\nwick run: %s\n", wk_last_error());
            goto done;
        }
    }
    wk_tool_stops_flush(&o.stops, stdout);
    double t_gen = wk_tool_now() - t2;
    fprintf(stderr, "\nwick run: prompt %zu tokens in %.3f s (%.1f tok/s); generated %d tokens in %.3f s (%.1f tok/s)\n",
            n_ids, t_prompt, n_ids / (t_prompt > 0 ? t_prompt : 1e-9), n_gen, t_gen,
            n_gen / (t_gen > 0 ? t_gen : 1e-9));
    rc = 0;
done:
    wk_tool_stops_free(&o.stops);
    wk_sampler_free(smpl);
    free(ids);
    wk_context_free(ctx);
    wk_model_free(model);
    return rc;
}
