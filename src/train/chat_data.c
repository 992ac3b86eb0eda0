/* chat_data.c — chat JSONL (one {"messages": [{"role": ..., "content": ...}, ...]} object per
 * line) as fine-tuning tokens: each conversation is rendered with the model's chat template
 * and tokenized; the tokens an assistant message adds to the rendering (its text and its
 * end-of-turn marker) are marked for the loss, everything else (system, user, the template's
 * turn openings) is context only.
 *
 * The assistant span of message i is render(m[0..i]) minus render(m[0..i), generation
 * prompt on), so it needs a template whose renderings of a growing conversation extend one
 * another (chatml, llama3, gemma, ... do); one that does not is refused, naming the line.
 * Segments are tokenized separately with special-token parsing, so a token never spans a
 * role boundary. JSON is parsed with cJSON. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/core/error.h"
#include "train.h"

typedef struct {
    wk_chat_data *d;
    int64_t cap;
} builder;

static wk_status grow(builder *b, int64_t need) {
    if (b->d->n + need <= b->cap) return WK_OK;
    int64_t cap = b->cap ? b->cap : 4096;
    while (cap < b->d->n + need) cap *= 2;
    int32_t *ids = realloc(b->d->ids, (size_t)cap * sizeof *ids);
    if (ids) b->d->ids = ids;
    uint8_t *tr = realloc(b->d->train, (size_t)cap);
    if (tr) b->d->train = tr;
    if (!ids || !tr) return wk_err(WK_ERR_NOMEM, "chat data: out of memory");
    b->cap = cap;
    return WK_OK;
}

/* text[0..len) tokenized (special tokens parsed, no BOS/EOS added) and appended */
static wk_status append(builder *b, const wk_vocab *v, const char *text, size_t len, uint8_t train) {
    if (!len) return WK_OK;
    size_t n = 0;
    wk_status st = wk_tokenize(v, text, len, false, true, NULL, 0, &n);
    if (st == WK_OK) st = grow(b, (int64_t)n);
    if (st == WK_OK) st = wk_tokenize(v, text, len, false, true, b->d->ids + b->d->n, n, &n);
    if (st != WK_OK) return st;
    memset(b->d->train + b->d->n, train, n);
    b->d->n += (int64_t)n;
    return WK_OK;
}

static wk_status render(const wk_chat_template *t, const wk_chat_message *m, size_t n, bool gen,
                        const wk_chat_options *opt, char **out, size_t *len) {
    wk_chat_options o = *opt;
    o.add_generation_prompt = gen;
    return wk_chat_template_apply(t, m, n, &o, out, len);
}

/* One conversation (a parsed line) appended; line is for messages. */
static wk_status add_conversation(builder *b, const wk_vocab *v, const wk_chat_template *t, const wk_chat_options *opt,
                                  const cJSON *root, long line) {
    const cJSON *msgs = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "messages") : NULL;
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
        return wk_err(WK_ERR_FORMAT, "line %ld: expected {\"messages\": [...]} with at least one message", line);
    const int n = cJSON_GetArraySize(msgs);
    wk_chat_message *m = calloc((size_t)n, sizeof *m);
    if (!m) return wk_err(WK_ERR_NOMEM, "chat data: out of memory");
    int n_asst = 0, i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, msgs) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(it, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
        if (!cJSON_IsString(role) || !cJSON_IsString(content)) {
            free(m);
            return wk_err(WK_ERR_FORMAT, "line %ld: message %d needs string \"role\" and \"content\"", line, i + 1);
        }
        m[i].role = role->valuestring, m[i].content = content->valuestring;
        n_asst += !strcmp(m[i].role, "assistant");
        i++;
    }
    if (!n_asst) {
        free(m);
        return wk_err(WK_ERR_FORMAT, "line %ld: no assistant message (nothing to learn)", line);
    }
    wk_status st = WK_OK;
    char *done = NULL, *p = NULL, *f = NULL; /* rendered so far, prompt, prompt + answer */
    size_t done_len = 0, pl = 0, fl = 0;
    /* BOS first when the vocabulary adds one and the template does not write it */
    const wk_token bos = wk_vocab_bos(v);
    bool bos_done = !(wk_vocab_add_bos(v) && bos >= 0);
    for (i = 0; i <= n && st == WK_OK; i++) {
        const bool last = i == n;
        if (!last && strcmp(m[i].role, "assistant")) continue;
        if (!last && (st = render(t, m, (size_t)i, true, opt, &p, &pl)) != WK_OK) break;
        if ((st = render(t, m, last ? (size_t)n : (size_t)i + 1, false, opt, &f, &fl)) != WK_OK) break;
        if (last) p = strdup(f ? f : ""), pl = fl;
        if (!p || pl < done_len || memcmp(p, done ? done : "", done_len) || fl < pl || memcmp(f, p, pl)) {
            st = p ? wk_err(WK_ERR_UNSUPPORTED,
                            "line %ld: the chat template's rendering of the conversation so far does not extend the "
                            "previous one, so assistant tokens cannot be located",
                            line)
                   : wk_err(WK_ERR_NOMEM, "chat data: out of memory");
            break;
        }
        if (!bos_done) {
            size_t bl = 0;
            const char *bt = wk_vocab_token_text(v, bos, &bl);
            if (!(bt && bl && pl >= bl && !memcmp(p, bt, bl))) {
                if ((st = grow(b, 1)) != WK_OK) break;
                b->d->ids[b->d->n] = bos, b->d->train[b->d->n++] = 0;
            }
            bos_done = true;
        }
        st = append(b, v, p + done_len, pl - done_len, 0);
        if (st == WK_OK && !last) st = append(b, v, f + pl, fl - pl, 1);
        free(done), free(p), p = NULL;
        done = f, done_len = fl, f = NULL;
    }
    free(p), free(f), free(done), free(m);
    if (st != WK_OK && wk_last_error()[0] && strncmp(wk_last_error(), "line ", 5)) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", wk_last_error());
        return wk_err(st, "line %ld: %s", line, msg);
    }
    return st;
}

wk_status wk_chat_data_load(const char *text, size_t len, const wk_vocab *v, const wk_chat_template *t,
                            const wk_chat_options *opt, wk_chat_data *out) {
    if (!text || !v || !t || !opt || !out) return wk_err(WK_ERR_INVALID_ARG, "chat data: NULL argument");
    memset(out, 0, sizeof *out);
    builder b = {out, 0};
    int64_t conv_cap = 0;
    wk_status st = WK_OK;
    long line = 0;
    for (size_t at = 0; at < len && st == WK_OK;) {
        const char *s = text + at, *nl = memchr(s, '\n', len - at);
        const size_t ll = nl ? (size_t)(nl - s) : len - at;
        at += ll + 1;
        line++;
        size_t k = 0;
        while (k < ll && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r')) k++;
        if (k == ll) continue; /* blank line */
        const char *end = NULL;
        cJSON *root = cJSON_ParseWithLengthOpts(s, ll, &end, false);
        if (!root) {
            st = wk_err(WK_ERR_FORMAT, "line %ld: not valid JSON (near byte %ld of the line)", line,
                        end ? (long)(end - s) + 1 : 1L);
            break;
        }
        if (out->n_conv == conv_cap) {
            conv_cap = conv_cap ? conv_cap * 2 : 256;
            int64_t *cs = realloc(out->conv_start, (size_t)conv_cap * sizeof *cs);
            if (!cs) {
                cJSON_Delete(root);
                st = wk_err(WK_ERR_NOMEM, "chat data: out of memory");
                break;
            }
            out->conv_start = cs;
        }
        out->conv_start[out->n_conv++] = out->n;
        st = add_conversation(&b, v, t, opt, root, line);
        cJSON_Delete(root);
    }
    if (st == WK_OK && out->n_conv == 0) st = wk_err(WK_ERR_FORMAT, "no conversations (one JSON object per line)");
    if (st != WK_OK) wk_chat_data_free(out);
    return st;
}

void wk_chat_data_free(wk_chat_data *d) {
    if (!d) return;
    free(d->ids), free(d->train), free(d->conv_start);
    memset(d, 0, sizeof *d);
}
