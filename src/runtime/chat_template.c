/* chat_template.c — the chat-template API over the Jinja subset (jinja_internal.h): the
 * conversation becomes `messages` (a list of {role, content} dicts) beside
 * add_generation_prompt, bos_token, eos_token and optionally enable_thinking, the variables
 * transformers' apply_chat_template passes. The built-in fallbacks are themselves Jinja, so
 * one interpreter renders everything. */
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "chat_template.h"
#include "jinja_internal.h"

struct wk_chat_template {
    jtmpl *t;
    const char *name;
};

/* ---- built-ins -------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *src;
} builtin;

static const builtin builtins[] = {
    {"chatml",
     "{%- for message in messages -%}\n"
     "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}\n"
     "{%- endfor -%}\n"
     "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}\n"},
    {"llama3",
     "{{- bos_token -}}\n"
     "{%- for message in messages -%}\n"
     "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim"
     " + '<|eot_id|>' -}}\n"
     "{%- endfor -%}\n"
     "{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}{%- endif -%}\n"},
    /* Gemma has no system turn: system text opens the next user turn. */
    {"gemma",
     "{{- bos_token -}}\n"
     "{%- set ns = namespace(prefix='') -%}\n"
     "{%- for message in messages -%}\n"
     "{%- if message['role'] == 'system' -%}\n"
     "{%- set ns.prefix = ns.prefix + message['content'] | trim + '\\n\\n' -%}\n"
     "{%- else -%}\n"
     "{{- '<start_of_turn>' + ('model' if message['role'] == 'assistant' else message['role']) + '\\n'"
     " + ns.prefix + message['content'] | trim + '<end_of_turn>\\n' -}}\n"
     "{%- set ns.prefix = '' -%}\n"
     "{%- endif -%}\n"
     "{%- endfor -%}\n"
     "{%- if add_generation_prompt -%}{{- '<start_of_turn>model\\n' -}}{%- endif -%}\n"},
    {"phi3",
     "{%- for message in messages -%}\n"
     "{{- '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' -}}\n"
     "{%- endfor -%}\n"
     "{%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- else -%}{{- eos_token -}}{%- endif -%}\n"},
    {"zephyr",
     "{%- for message in messages -%}\n"
     "{{- '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' -}}\n"
     "{%- endfor -%}\n"
     "{%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- endif -%}\n"},
};
#define N_BUILTINS (sizeof builtins / sizeof builtins[0])

const char *wk_chat_template_builtin_source(const char *name) {
    for (size_t i = 0; name && i < N_BUILTINS; i++)
        if (!strcmp(builtins[i].name, name)) return builtins[i].src;
    return NULL;
}

static int has(const char *s, size_t n, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (s[i] == needle[0] && !memcmp(s + i, needle, k)) return 1;
    return 0;
}

const char *wk_chat_template_guess(const char *src, size_t len) {
    if (!src) return NULL;
    if (has(src, len, "<|im_start|>")) return "chatml";
    if (has(src, len, "<|start_header_id|>")) return "llama3";
    if (has(src, len, "<start_of_turn>")) return "gemma";
    if (has(src, len, "<|assistant|>") && has(src, len, "<|end|>")) return "phi3";
    if (has(src, len, "<|assistant|>")) return "zephyr";
    return NULL;
}

/* ---- construction ------------------------------------------------------------------------------- */

static wk_status make(const char *src, size_t len, const char *name, wk_chat_template **out) {
    wk_chat_template *ct = calloc(1, sizeof *ct);
    if (!ct) return wk_err(WK_ERR_NOMEM, "chat template: out of memory");
    wk_status st = jinja_parse(src, len, &ct->t);
    if (st != WK_OK) {
        free(ct);
        return st;
    }
    ct->name = name;
    *out = ct;
    return WK_OK;
}

wk_status wk_chat_template_parse(const char *src, size_t len, wk_chat_template **out) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "chat template: out is NULL");
    *out = NULL;
    if (!src) return wk_err(WK_ERR_INVALID_ARG, "chat template: NULL source");
    return make(src, len, "model", out);
}

wk_status wk_chat_template_builtin(const char *name, wk_chat_template **out) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "chat template: out is NULL");
    *out = NULL;
    for (size_t i = 0; name && i < N_BUILTINS; i++)
        if (!strcmp(builtins[i].name, name)) return make(builtins[i].src, strlen(builtins[i].src), builtins[i].name, out);
    return wk_err(WK_ERR_INVALID_ARG, "chat template: no built-in template '%s' (chatml, llama3, gemma, phi3, zephyr)",
                  name ? name : "(null)");
}

wk_status wk_chat_template_load(const char *src, size_t len, const char *fallback, wk_chat_template **out) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "chat template: out is NULL");
    *out = NULL;
    if (src && wk_chat_template_parse(src, len, out) == WK_OK) return WK_OK;
    const char *guess = wk_chat_template_guess(src, src ? len : 0);
    return wk_chat_template_builtin(guess ? guess : fallback ? fallback : "chatml", out);
}

const char *wk_chat_template_name(const wk_chat_template *t) { return t ? t->name : NULL; }

void wk_chat_template_free(wk_chat_template *t) {
    if (!t) return;
    jinja_free(t->t);
    free(t);
}

wk_chat_options wk_chat_options_default(void) {
    wk_chat_options o = {.add_generation_prompt = true, .enable_thinking = -1};
    return o;
}

/* ---- rendering ------------------------------------------------------------------------------------ */

typedef struct {
    const wk_chat_message *msgs;
    size_t n;
    const wk_chat_options *opt;
} setup_args;

static void setup(jctx *c, void *user) {
    const setup_args *a = user;
    jv list = jinja_list(c, a->n);
    for (size_t i = 0; i < a->n; i++) {
        jv m = jinja_dict(c);
        const char *role = a->msgs[i].role, *content = a->msgs[i].content;
        jinja_dict_set(c, m, "role", jinja_str(c, role, strlen(role)));
        jv cv = {.t = JV_NONE};
        if (content) cv = jinja_str(c, content, strlen(content));
        jinja_dict_set(c, m, "content", cv);
        jinja_list_set(list, i, m);
    }
    jinja_define(c, "messages", list);
    jinja_define(c, "add_generation_prompt", jinja_bool(a->opt->add_generation_prompt));
    const char *bos = a->opt->bos_token ? a->opt->bos_token : "", *eos = a->opt->eos_token ? a->opt->eos_token : "";
    jinja_define(c, "bos_token", jinja_str(c, bos, strlen(bos)));
    jinja_define(c, "eos_token", jinja_str(c, eos, strlen(eos)));
    if (a->opt->enable_thinking >= 0) jinja_define(c, "enable_thinking", jinja_bool(a->opt->enable_thinking != 0));
}

wk_status wk_chat_template_apply(const wk_chat_template *t, const wk_chat_message *msgs, size_t n_msgs,
                                 const wk_chat_options *opt, char **out, size_t *out_len) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "chat template: out is NULL");
    *out = NULL;
    if (out_len) *out_len = 0;
    if (!t) return wk_err(WK_ERR_INVALID_ARG, "chat template: NULL template");
    if (n_msgs && !msgs) return wk_err(WK_ERR_INVALID_ARG, "chat template: NULL messages");
    for (size_t i = 0; i < n_msgs; i++)
        if (!msgs[i].role) return wk_err(WK_ERR_INVALID_ARG, "chat template: message %zu has no role", i);
    wk_chat_options def = wk_chat_options_default();
    setup_args a = {msgs, n_msgs, opt ? opt : &def};
    return jinja_render(t->t, setup, &a, NULL, out, out_len);
}
