/* chat.c — `wick chat`: an interactive conversation with a model, rendered through the
 * model's own chat template (or a built-in one), streaming each reply as it is sampled.
 * Every turn re-renders the whole conversation and reuses the KV cache up to the first
 * token that differs, so templates that rewrite earlier turns stay correct while an
 * ordinary turn only computes its new tokens. /reset clears the history; Ctrl-D exits.
 * WICK_CHAT_DEBUG=1 prints each rendered prompt and how much of the cache was kept. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "common.h"
#include "src/runtime/chat_template.h"
#include "src/runtime/tokenizer.h"

typedef struct {
    wk_tool_opts o;
    long n_predict; /* most tokens per reply; -1: until end of turn or a full context */
    const char *system, *template_name;
} chat_opts;

static void usage(FILE *f) {
    fprintf(f, "usage: wick chat -m MODEL [options]\n"
               "Type a message and press Enter; /reset starts over, Ctrl-D (or /exit) quits.\n");
    wk_tool_usage_common(f, true);
    fprintf(f, "  -n, --n-predict N     most tokens per reply (default -1: until the end of the turn)\n"
               "  --system TEXT         a system message at the start of the conversation\n"
               "  --chat-template NAME  use a built-in template (chatml, llama3, gemma, phi3, zephyr)\n"
               "                        instead of the model's own\n");
}

static int parse_args(int argc, char **argv, chat_opts *c) {
    *c = (chat_opts){.n_predict = -1};
    wk_tool_opts_init(&c->o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        int r = wk_tool_flag("chat", argc, argv, &i, &c->o, true);
        if (r == 2) return 2;
        if (r == 1) continue;
        if (!strcmp(a, "-n") || !strcmp(a, "--n-predict") || !strcmp(a, "--system") || !strcmp(a, "--chat-template")) {
            if (!v) {
                fprintf(stderr, "wick chat: %s needs a value\n", a);
                return 2;
            }
            i++;
            if (a[1] == 'n' || a[2] == 'n') {
                if (!wk_tool_parse_long(v, -1, 1L << 30, &c->n_predict)) {
                    fprintf(stderr, "wick chat: bad value '%s' for %s\n", v, a);
                    return 2;
                }
            } else if (!strcmp(a, "--system")) c->system = v;
            else c->template_name = v;
        } else {
            fprintf(stderr, "wick chat: unknown option '%s' (see 'wick chat --help')\n", a);
            return 2;
        }
    }
    if (!c->o.model) {
        fprintf(stderr, "wick chat: -m MODEL is required (see 'wick chat --help')\n");
        return 2;
    }
    return 0;
}

/* ---- conversation state ---- */

typedef struct {
    wk_chat_message *msgs;
    size_t n, cap;
} history;

static int history_add(history *h, const char *role, const char *content) {
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 8;
        wk_chat_message *m = realloc(h->msgs, nc * sizeof *m);
        if (!m) return 1;
        h->msgs = m;
        h->cap = nc;
    }
    char *r = strdup(role), *t = strdup(content);
    if (!r || !t) {
        free(r);
        free(t);
        return 1;
    }
    h->msgs[h->n++] = (wk_chat_message){r, t};
    return 0;
}

static void history_pop(history *h) {
    if (!h->n) return;
    h->n--;
    free((char *)h->msgs[h->n].role);
    free((char *)h->msgs[h->n].content);
}

static void history_free(history *h) {
    while (h->n) history_pop(h);
    free(h->msgs);
}

/* The tokens now in the KV cache (sequence 0), in order. */
typedef struct {
    wk_token *ids;
    size_t n, cap;
} token_list;

static int tokens_push(token_list *t, wk_token id) {
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 256;
        wk_token *p = realloc(t->ids, nc * sizeof *p);
        if (!p) return 1;
        t->ids = p;
        t->cap = nc;
    }
    t->ids[t->n++] = id;
    return 0;
}

typedef struct {
    wk_model *model;
    wk_context *ctx;
    const wk_vocab *vocab;
    wk_chat_template *tmpl;
    wk_chat_options copt;
    wk_sampler *smpl;
    token_list cache;
    long n_predict;
} chat_state;

/* Brings the cache to the rendered conversation: keeps the common prefix, computes the
 * rest. 1 on error (printed); the cache then holds whatever prefix is still valid. */
static int sync_prompt(chat_state *s, const history *h) {
    char *text = NULL;
    size_t len = 0;
    if (wk_chat_template_apply(s->tmpl, h->msgs, h->n, &s->copt, &text, &len) != WK_OK) {
        fprintf(stderr, "wick chat: chat template: %s\n", wk_last_error());
        return 1;
    }
    if (getenv("WICK_CHAT_DEBUG")) fprintf(stderr, "[prompt]\n%.*s[/prompt]\n", (int)len, text);
    size_t n = 0;
    wk_token *ids = wk_tool_tokenize("chat", s->vocab, text, len, false, true, &n);
    free(text);
    if (!ids) return 1;
    const wk_token bos = wk_vocab_bos(s->vocab);
    if (wk_vocab_add_bos(s->vocab) && bos >= 0 && (n == 0 || ids[0] != bos)) { /* template without BOS */
        wk_token *p = realloc(ids, (n + 1) * sizeof *p);
        if (!p) {
            free(ids);
            return 1;
        }
        ids = p;
        memmove(ids + 1, ids, n * sizeof *ids);
        ids[0] = bos;
        n++;
    }
    const uint32_t n_ctx = wk_context_n_ctx(s->ctx);
    if (n + 1 > n_ctx) {
        fprintf(stderr, "wick chat: the conversation (%zu tokens) no longer fits the context of %u tokens; "
                        "type /reset to start over or use a larger -c\n", n, n_ctx);
        free(ids);
        return 1;
    }
    size_t keep = 0;
    while (keep < n && keep < s->cache.n && ids[keep] == s->cache.ids[keep]) keep++;
    if (keep == n) keep = n - 1; /* recompute the last token: its logits start the reply */
    if (wk_kv_seq_rm(s->ctx, 0, (int32_t)keep, -1) != WK_OK) {
        fprintf(stderr, "wick chat: %s\n", wk_last_error());
        free(ids);
        return 1;
    }
    s->cache.n = keep;
    if (getenv("WICK_CHAT_DEBUG")) fprintf(stderr, "[kept %zu of %zu tokens]\n", keep, n);
    wk_batch b = {(int32_t)(n - keep), ids + keep, NULL, NULL, NULL};
    int rc = 0;
    if (wk_decode(s->ctx, &b) != WK_OK) {
        fprintf(stderr, "wick chat: %s\n", wk_last_error());
        wk_kv_seq_rm(s->ctx, 0, (int32_t)keep, -1);
        rc = 1;
    } else {
        for (size_t i = keep; i < n && !rc; i++) rc = tokens_push(&s->cache, ids[i]);
    }
    free(ids);
    return rc;
}

/* Samples a reply, streaming it to stdout; its text goes to *reply (malloc'd). */
static int generate(chat_state *s, char **reply) {
    token_list out = {0};
    char piece[256];
    int rc = 0;
    *reply = NULL;
    for (long i = 0; s->n_predict < 0 || i < s->n_predict; i++) {
        wk_token tok;
        if (wk_sampler_sample(s->smpl, wk_get_logits(s->ctx, -1), &tok) != WK_OK) {
            fprintf(stderr, "\nwick chat: %s\n", wk_last_error());
            rc = 1;
            break;
        }
        wk_sampler_accept(s->smpl, tok);
        if (wk_vocab_is_eog(s->vocab, tok)) break;
        size_t len = 0;
        if (wk_token_to_piece(s->vocab, tok, false, piece, sizeof piece, &len) == WK_OK) fwrite(piece, 1, len, stdout);
        fflush(stdout);
        if (tokens_push(&out, tok)) {
            rc = 1;
            break;
        }
        if ((uint32_t)wk_kv_used(s->ctx) >= wk_context_n_ctx(s->ctx)) {
            fprintf(stderr, "\nwick chat: the context is full (%u tokens); type /reset to start over\n",
                    wk_context_n_ctx(s->ctx));
            break;
        }
        wk_batch b = wk_batch_one_seq(&tok, 1);
        if (wk_decode(s->ctx, &b) != WK_OK) {
            fprintf(stderr, "\nwick chat: %s\n", wk_last_error());
            rc = 1;
            break;
        }
        if (tokens_push(&s->cache, tok)) {
            rc = 1;
            break;
        }
    }
    printf("\n");
    fflush(stdout);
    size_t need = 0;
    wk_detokenize(s->vocab, out.ids, out.n, false, false, NULL, 0, &need);
    *reply = malloc(need + 1);
    if (*reply && wk_detokenize(s->vocab, out.ids, out.n, false, false, *reply, need, &need) == WK_OK) (*reply)[need] = 0;
    else if (*reply) (*reply)[0] = 0;
    free(out.ids);
    return rc;
}

/* The built-in for a model without a usable template of its own: by architecture, then
 * by the turn markers its vocabulary holds. */
static const char *fallback_template(const chat_state *s) {
    const char *arch = wk_model_arch(s->model);
    if (!strncmp(arch, "gemma", 5)) return "gemma";
    if (!strcmp(arch, "phi3")) return "phi3";
    if (wk_vocab_find(s->vocab, "<|start_header_id|>", 19) >= 0) return "llama3";
    return "chatml";
}

/* A copy of a token's text, or NULL when the vocabulary has no such token. */
static char *token_text(const wk_vocab *v, wk_token id) {
    size_t len = 0;
    const char *t = id >= 0 ? wk_vocab_token_text(v, id, &len) : NULL;
    return t ? strndup(t, len) : NULL;
}

int wk_cmd_chat(int argc, char **argv) {
    chat_opts co;
    int rc = parse_args(argc, argv, &co);
    if (rc) return rc;
    chat_state s = {.n_predict = co.n_predict};
    history h = {0};
    char *line = NULL, *bos_text = NULL, *eos_text = NULL;
    size_t line_cap = 0;
    rc = wk_tool_open("chat", &co.o, 0, &s.model, &s.ctx);
    if (rc) return rc;
    rc = 1;
    s.vocab = wk_model_vocab(s.model);
    const char *src = wk_model_chat_template(s.model);
    wk_status st = co.template_name ? wk_chat_template_builtin(co.template_name, &s.tmpl)
                                    : wk_chat_template_load(src, src ? strlen(src) : 0, fallback_template(&s), &s.tmpl);
    if (st != WK_OK) {
        fprintf(stderr, "wick chat: %s\n", wk_last_error());
        rc = co.template_name ? 2 : 1;
        goto done;
    }
    bos_text = token_text(s.vocab, wk_vocab_bos(s.vocab));
    eos_text = token_text(s.vocab, wk_vocab_eos(s.vocab));
    s.copt = wk_chat_options_default();
    s.copt.bos_token = bos_text;
    s.copt.eos_token = eos_text;
    if (wk_sampler_create(&co.o.sp, wk_model_n_vocab(s.model), &s.smpl) != WK_OK) {
        fprintf(stderr, "wick chat: %s\n", wk_last_error());
        rc = 2;
        goto done;
    }
    if (co.system && history_add(&h, "system", co.system)) goto done;
    const bool tty = isatty(STDIN_FILENO);
    fprintf(stderr, "wick chat: %s, context %u tokens, template %s%s, cpu %s. /reset clears, Ctrl-D exits.\n",
            wk_model_arch(s.model), wk_context_n_ctx(s.ctx), wk_chat_template_name(s.tmpl),
            co.template_name ? "" : (src ? " (the model's)" : " (built-in: the model has none)"), wk_cpu_isa());
    for (;;) {
        if (tty) {
            printf("> ");
            fflush(stdout);
        }
        ssize_t n = getline(&line, &line_cap, stdin);
        if (n < 0) { /* Ctrl-D */
            if (tty) printf("\n");
            rc = 0;
            break;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (n == 0) continue;
        if (!strcmp(line, "/exit") || !strcmp(line, "/quit")) {
            rc = 0;
            break;
        }
        if (!strcmp(line, "/reset")) {
            while (h.n > (co.system ? 1u : 0u)) history_pop(&h);
            wk_kv_clear(s.ctx);
            s.cache.n = 0;
            wk_sampler_reset(s.smpl);
            fprintf(stderr, "(conversation cleared)\n");
            continue;
        }
        if (history_add(&h, "user", line)) goto done;
        if (sync_prompt(&s, &h)) {
            history_pop(&h); /* forget the turn that did not fit; the user may /reset */
            continue;
        }
        char *reply = NULL;
        int g = generate(&s, &reply);
        if (reply && history_add(&h, "assistant", reply)) g = 1;
        free(reply);
        if (g) goto done;
    }
done:
    free(line);
    free(bos_text);
    free(eos_text);
    free(s.cache.ids);
    history_free(&h);
    wk_sampler_free(s.smpl);
    wk_chat_template_free(s.tmpl);
    wk_context_free(s.ctx);
    wk_model_free(s.model);
    return rc;
}
