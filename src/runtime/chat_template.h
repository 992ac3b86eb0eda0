/* chat_template.h — turns a conversation into the prompt text a model was trained on, by
 * rendering the model's own tokenizer.chat_template (Jinja2, from GGUF metadata) with a
 * Jinja subset interpreter, or a built-in template (chatml, llama3, gemma, phi3, zephyr)
 * when a model has none or its template does not parse. Output matches Python's jinja2 as
 * transformers' apply_chat_template configures it (trim_blocks, lstrip_blocks).
 * The declarations in this header are meant to become part of the public API (wick.h). */
#ifndef WK_RUNTIME_CHAT_TEMPLATE_H
#define WK_RUNTIME_CHAT_TEMPLATE_H

#include "wick.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *role;     /* "system", "user", "assistant", ... (required) */
    const char *content;  /* NUL-terminated UTF-8; NULL renders as Python's None */
} wk_chat_message;

typedef struct {
    bool add_generation_prompt;  /* end with the opening of an assistant turn */
    const char *bos_token;       /* the vocabulary's BOS/EOS text ("<s>", "<bos>"); NULL = "" */
    const char *eos_token;
    int enable_thinking;         /* -1: leave undefined (template default); 0/1: false/true */
} wk_chat_options;

typedef struct wk_chat_template wk_chat_template;

wk_chat_options wk_chat_options_default(void);  /* generation prompt on, no tokens, -1 */

/* Parses a Jinja template (len bytes). Syntax errors give WK_ERR_FORMAT with the line. */
wk_status wk_chat_template_parse(const char *src, size_t len, wk_chat_template **out);
/* A built-in by name: "chatml", "llama3", "gemma", "phi3", "zephyr". */
wk_status wk_chat_template_builtin(const char *name, wk_chat_template **out);
const char *wk_chat_template_builtin_source(const char *name);  /* Jinja text or NULL */
/* The built-in whose markers (<|im_start|>, <|start_header_id|>, <start_of_turn>, ...)
 * appear in src, or NULL: picks the fallback for a template that does not parse. */
const char *wk_chat_template_guess(const char *src, size_t len);
/* What a runtime wants: the model's template (src may be NULL) if it parses; otherwise the
 * built-in guessed from it; otherwise `fallback` (NULL = "chatml"). */
wk_status wk_chat_template_load(const char *src, size_t len, const char *fallback, wk_chat_template **out);
/* "model" for a parsed template, else the built-in's name. */
const char *wk_chat_template_name(const wk_chat_template *t);
void wk_chat_template_free(wk_chat_template *t);  /* accepts NULL */

/* Renders the conversation. *out is malloc'd and NUL-terminated (release it with free()),
 * *out_len its length. The template's raise_exception(), a type error, or a runaway
 * template (more than 16 MiB of output, 5M steps or 256 MiB of memory) is an error with the template line. */
wk_status wk_chat_template_apply(const wk_chat_template *t, const wk_chat_message *msgs, size_t n_msgs,
                                 const wk_chat_options *opt, char **out, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
