/* common.h — what the model-running commands (run, chat, perplexity, bench) share: the
 * model/context/sampling flags with one parser and one help text, number parsing, opening
 * a model with a context, and a monotonic clock. Messages are prefixed "wick <cmd>: ". */
#ifndef WK_TOOLS_COMMON_H
#define WK_TOOLS_COMMON_H

#include <stdbool.h>
#include <stdio.h>

#include "src/runtime/sampler.h"
#include "wick.h"

typedef struct {
    const char *model;
    long n_ctx;      /* 0: min(training context, 4096) */
    int n_threads;   /* 0: every core */
    wk_type kv_type; /* F16 or Q8_0 */
    wk_sampler_params sp;
    const char *lora[8]; /* --lora adapters, applied at load */
    int n_lora;
    float lora_scale;    /* --lora-scale, default 1 */
} wk_tool_opts;

/* Help lines for the flags wk_tool_flag understands (sampling ones only when sampling). */
void wk_tool_usage_common(FILE *f, bool sampling);
void wk_tool_opts_init(wk_tool_opts *o);
/* argv[*i] as one of the shared flags: 1 = consumed (with its value; *i advanced),
 * 0 = not a shared flag, 2 = bad usage (message printed). */
int wk_tool_flag(const char *cmd, int argc, char **argv, int *i, wk_tool_opts *o, bool sampling);

bool wk_tool_parse_long(const char *s, long lo, long hi, long *out);
bool wk_tool_parse_float(const char *s, float lo, float hi, float *out);

/* Applies o's --lora adapters to a loaded model; 1 (message printed) on failure. */
int wk_tool_apply_lora(const char *cmd, const wk_tool_opts *o, wk_model *model);

/* Loads o->model (with its --lora adapters) and creates a context for it (n_batch tokens per graph, 0 = default).
 * On failure prints why and returns 1 (2 when a flag value is unusable for this model). */
int wk_tool_open(const char *cmd, const wk_tool_opts *o, uint32_t n_batch, wk_model **model, wk_context **ctx);

/* text -> ids with the model's vocabulary (parse_special: control tokens written in the
 * text become their ids). Returns malloc'd ids (NULL + message on failure). */
wk_token *wk_tool_tokenize(const char *cmd, const wk_vocab *v, const char *text, size_t len, bool add_special,
                           bool parse_special, size_t *n);

double wk_tool_now(void);

/* Stop strings for streamed output: pieces go in, text comes out up to (not including) the
 * first occurrence of any stop string; text that could still begin one is held back. */
#define WK_TOOL_MAX_STOPS 8
typedef struct {
    const char *stops[WK_TOOL_MAX_STOPS];
    int n;
    char *buf;
    size_t len, cap, printed;
    bool hit;
} wk_tool_stops;
/* Appends a piece and writes what is safe to f; true once a stop string has appeared (the
 * text from it on is never written). false with *oom set when memory runs out. */
bool wk_tool_stops_feed(wk_tool_stops *s, const char *piece, size_t len, FILE *f, bool *oom);
/* At the end of generation: writes whatever was held back (no stop string came). */
void wk_tool_stops_flush(wk_tool_stops *s, FILE *f);
void wk_tool_stops_free(wk_tool_stops *s);

#endif
