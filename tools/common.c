/* common.c — shared flags and helpers of the model-running commands (see common.h). */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/runtime/tokenizer.h"

double wk_tool_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

bool wk_tool_parse_long(const char *s, long lo, long hi, long *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

bool wk_tool_parse_float(const char *s, float lo, float hi, float *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || *end || !(v >= lo && v <= hi)) return false;
    *out = v;
    return true;
}

void wk_tool_opts_init(wk_tool_opts *o) {
    *o = (wk_tool_opts){.kv_type = WK_TYPE_F16, .sp = wk_sampler_params_default(), .lora_scale = 1.0f};
}

void wk_tool_usage_common(FILE *f, bool sampling) {
    fprintf(f, "  -m, --model FILE      GGUF model\n"
               "  -c, --ctx-size N      context size in tokens (default min(training context, 4096))\n"
               "  -t, --threads N       CPU threads (default: all cores)\n"
               "  --kv-type f16|q8_0    KV cache type (default f16; q8_0 halves its memory)\n"
               "  --lora FILE           apply a LoRA adapter GGUF at run time (repeatable, up to 8)\n"
               "  --lora-scale S        adapter strength (default 1 = as trained)\n");
    if (sampling)
        fprintf(f, "  --temp T              temperature (default 0.8; 0 = greedy)\n"
                   "  --top-k K             keep the K most likely tokens (default 40; 0 = off)\n"
                   "  --top-p P             nucleus sampling (default 0.95; 1 = off)\n"
                   "  --min-p P             drop tokens below P x the top probability (default 0.05)\n"
                   "  --repeat-penalty R    divide/multiply logits of recent tokens (default 1 = off)\n"
                   "  --repeat-last-n N     how many recent tokens the penalties see (default 64)\n"
                   "  --frequency-penalty F, --presence-penalty P   OpenAI-style penalties (default 0)\n"
                   "  --seed S              sampling seed (default: from the clock)\n");
}

int wk_tool_flag(const char *cmd, int argc, char **argv, int *i, wk_tool_opts *o, bool sampling) {
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    long l;
    static const char *const known[] = {"-m", "--model", "-c", "--ctx-size", "-t", "--threads", "--kv-type",
                                        "--lora", "--lora-scale"};
    static const char *const samp[] = {"--temp", "--top-k", "--top-p", "--min-p", "--repeat-penalty",
                                       "--repeat-last-n", "--frequency-penalty", "--presence-penalty", "--seed"};
    bool ours = false;
    for (size_t k = 0; k < sizeof known / sizeof *known; k++) ours |= !strcmp(a, known[k]);
    for (size_t k = 0; sampling && k < sizeof samp / sizeof *samp; k++) ours |= !strcmp(a, samp[k]);
    if (!ours) return 0;
    if (!v) {
        fprintf(stderr, "wick %s: %s needs a value\n", cmd, a);
        return 2;
    }
    (*i)++;
    bool ok = true;
    if (!strcmp(a, "-m") || !strcmp(a, "--model")) o->model = v;
    else if (!strcmp(a, "--lora")) {
        if (o->n_lora == 8) {
            fprintf(stderr, "wick %s: at most 8 --lora adapters\n", cmd);
            return 2;
        }
        o->lora[o->n_lora++] = v;
    } else if (!strcmp(a, "--lora-scale")) ok = wk_tool_parse_float(v, -1e3f, 1e3f, &o->lora_scale);
    else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) ok = wk_tool_parse_long(v, 1, 1L << 30, &o->n_ctx);
    else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) ok = wk_tool_parse_long(v, 1, 512, &l) && ((o->n_threads = (int)l), 1);
    else if (!strcmp(a, "--kv-type")) {
        if (!strcmp(v, "f16")) o->kv_type = WK_TYPE_F16;
        else if (!strcmp(v, "q8_0")) o->kv_type = WK_TYPE_Q8_0;
        else ok = false;
    } else if (!strcmp(a, "--temp")) ok = wk_tool_parse_float(v, 0, 1e6f, &o->sp.temp);
    else if (!strcmp(a, "--top-k")) ok = wk_tool_parse_long(v, 0, 1 << 24, &l) && ((o->sp.top_k = (int32_t)l), 1);
    else if (!strcmp(a, "--top-p")) ok = wk_tool_parse_float(v, 0, 1, &o->sp.top_p);
    else if (!strcmp(a, "--min-p")) ok = wk_tool_parse_float(v, 0, 1, &o->sp.min_p);
    else if (!strcmp(a, "--repeat-penalty")) ok = wk_tool_parse_float(v, 1e-6f, 1e6f, &o->sp.repeat_penalty);
    else if (!strcmp(a, "--repeat-last-n"))
        ok = wk_tool_parse_long(v, 0, 1 << 24, &l) && ((o->sp.repeat_last_n = (int32_t)l), 1);
    else if (!strcmp(a, "--frequency-penalty")) ok = wk_tool_parse_float(v, -1e6f, 1e6f, &o->sp.freq_penalty);
    else if (!strcmp(a, "--presence-penalty")) ok = wk_tool_parse_float(v, -1e6f, 1e6f, &o->sp.presence_penalty);
    else if (!strcmp(a, "--seed")) {
        char *end;
        errno = 0;
        o->sp.seed = strtoull(v, &end, 10);
        ok = !errno && !*end && *v && *v != '-' && o->sp.seed != WK_SAMPLER_SEED_RANDOM;
    }
    if (!ok) {
        fprintf(stderr, "wick %s: bad value '%s' for %s\n", cmd, v, a);
        return 2;
    }
    return 1;
}

int wk_tool_apply_lora(const char *cmd, const wk_tool_opts *o, wk_model *model) {
    for (int i = 0; i < o->n_lora; i++)
        if (wk_model_add_lora(model, o->lora[i], o->lora_scale) != WK_OK) {
            fprintf(stderr, "wick %s: --lora: %s\n", cmd, wk_last_error());
            return 1;
        }
    if (o->n_lora)
        fprintf(stderr, "wick %s: %d LoRA adapter(s), %d matrices adapted, scale %g\n", cmd, o->n_lora,
                wk_model_n_lora(model), (double)o->lora_scale);
    return 0;
}

int wk_tool_open(const char *cmd, const wk_tool_opts *o, uint32_t n_batch, wk_model **model, wk_context **ctx) {
    *model = NULL;
    *ctx = NULL;
    if (wk_model_load(o->model, NULL, model) != WK_OK) {
        fprintf(stderr, "wick %s: %s\n", cmd, wk_last_error());
        return 1;
    }
    if (wk_tool_apply_lora(cmd, o, *model)) {
        wk_model_free(*model);
        *model = NULL;
        return 1;
    }
    if (o->n_ctx > wk_model_n_ctx_train(*model)) {
        fprintf(stderr, "wick %s: -c %ld exceeds the model's training context (%d)\n", cmd, o->n_ctx,
                wk_model_n_ctx_train(*model));
        wk_model_free(*model);
        *model = NULL;
        return 2;
    }
    wk_context_params cp = wk_context_default_params();
    cp.n_ctx = (uint32_t)o->n_ctx;
    cp.n_batch = n_batch;
    cp.n_threads = o->n_threads;
    cp.type_k = cp.type_v = o->kv_type;
    if (wk_context_create(*model, &cp, ctx) != WK_OK) {
        fprintf(stderr, "wick %s: %s\n", cmd, wk_last_error());
        wk_model_free(*model);
        *model = NULL;
        return 1;
    }
    return 0;
}

wk_token *wk_tool_tokenize(const char *cmd, const wk_vocab *v, const char *text, size_t len, bool add_special,
                           bool parse_special, size_t *n) {
    wk_token *ids = NULL;
    *n = 0;
    if (wk_tokenize(v, text, len, add_special, parse_special, NULL, 0, n) != WK_OK ||
        !(ids = malloc((*n ? *n : 1) * sizeof *ids)) ||
        wk_tokenize(v, text, len, add_special, parse_special, ids, *n, n) != WK_OK) {
        fprintf(stderr, "wick %s: cannot tokenize: %s\n", cmd, ids ? wk_last_error() : "out of memory");
        free(ids);
        return NULL;
    }
    return ids;
}

/* ---- stop strings ---- */

bool wk_tool_stops_feed(wk_tool_stops *s, const char *piece, size_t len, FILE *f, bool *oom) {
    *oom = false;
    if (s->hit) return true;
    if (s->len + len + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < s->len + len + 1) cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b) return !(*oom = true);
        s->buf = b, s->cap = cap;
    }
    memcpy(s->buf + s->len, piece, len);
    s->len += len;
    s->buf[s->len] = 0;
    /* the earliest stop string that now appears (it may straddle earlier pieces) */
    size_t cut = s->len;
    for (int i = 0; i < s->n; i++) {
        const size_t sl = strlen(s->stops[i]);
        const size_t from = s->printed > sl ? s->printed - sl : 0;
        for (size_t p = from; p + sl <= s->len; p++)
            if (!memcmp(s->buf + p, s->stops[i], sl)) {
                if (p < cut) cut = p;
                break;
            }
    }
    if (cut < s->len) {
        if (cut > s->printed) fwrite(s->buf + s->printed, 1, cut - s->printed, f);
        s->printed = cut > s->printed ? cut : s->printed;
        fflush(f);
        return s->hit = true;
    }
    /* hold back the longest tail that is a proper prefix of a stop string */
    size_t hold = 0;
    for (int i = 0; i < s->n; i++) {
        const size_t sl = strlen(s->stops[i]);
        for (size_t k = sl - 1; k > hold; k--)
            if (k <= s->len - s->printed && !memcmp(s->buf + s->len - k, s->stops[i], k)) {
                hold = k;
                break;
            }
    }
    if (s->len - hold > s->printed) {
        fwrite(s->buf + s->printed, 1, s->len - hold - s->printed, f);
        s->printed = s->len - hold;
        fflush(f);
    }
    return false;
}

void wk_tool_stops_flush(wk_tool_stops *s, FILE *f) {
    if (!s->hit && s->len > s->printed) fwrite(s->buf + s->printed, 1, s->len - s->printed, f);
    s->printed = s->len;
    fflush(f);
}

void wk_tool_stops_free(wk_tool_stops *s) {
    free(s->buf);
    s->buf = NULL, s->len = s->cap = s->printed = 0;
}
