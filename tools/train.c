/* train.c — `wick train`: a llama-architecture model trained from scratch on a text file or
 * on `wick data` shards (src/train/llama_train.c, src/train/optim.c). Sequential batches of
 * B x T tokens, AdamW + warmup/cosine, gradient clipping and accumulation, periodic
 * validation loss, samples, checkpoints (model + optimizer state + data position + RNG, one
 * GGUF written atomically), --resume, a progress line, DIR/log.csv and DIR/loss.svg.
 * DIR/model.gguf is a plain F32 llama GGUF that `wick run` and `wick chat` load.
 *
 * A checkpoint is itself a loadable model: the model's keys and tensors plus optim.m.<name>,
 * optim.v.<name> tensors and wick.train.* keys (step, data position, RNG, the config). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "gguf/gguf.h"
#include "src/train/llama_train.h"
#include "src/train/optim.h"
#include "src/train/train.h"
#include "teacher.h"
#include "train_files.h"

/* "wick train" or "wick finetune": every message starts with it */
static const char *g_cmd = "wick train";
/* wick finetune: LoRA on a frozen base (--model); the result is an adapter GGUF at --out,
 * with the run's log, plot, samples and checkpoints in <out>.run/ */
static int g_ft;
/* wick distill: the model learns from a teacher's softened distributions (--teacher) as
 * well as from the labels; a student from --student or from the shape flags */
static int g_dist;

/* ---- configuration ---------------------------------------------------------------------- */

typedef struct {
    const char *data, *tokenizer, *out, *resume, *sample_prompt;
    const char *model, *lora_targets; /* finetune: the frozen base and the adapted matrices */
    const char *teacher, *student, *student_shape, *teacher_cache; /* distill */
    float temperature, alpha;
    long teacher_top_k;
    long lora_rank;
    float lora_alpha;
    long n_layer, n_embd, n_head, n_head_kv, n_ff, n_vocab, ctx, batch, steps, grad_accum;
    float lr, lr_min, warmup_frac, weight_decay, beta1, beta2, clip, val_fraction, rope_base, rms_eps;
    long warmup; /* -1: warmup_frac of steps */
    int cosine, sgd, bf16;
    long checkpoint;
    float momentum;
    long eval_interval, eval_batches, sample_interval, sample_tokens, ckpt_interval, keep, log_interval;
    long threads;
    unsigned long long seed;
} train_cfg;

static void cfg_defaults(train_cfg *c) {
    memset(c, 0, sizeof *c);
    c->n_layer = 4, c->n_embd = 256, c->n_head = 4, c->n_head_kv = 0, c->n_ff = 0, c->n_vocab = 0;
    c->ctx = 128, c->batch = 8, c->steps = 1000, c->grad_accum = 1;
    c->lr = 1e-3f, c->lr_min = -1, c->warmup = -1, c->warmup_frac = 0.05f, c->cosine = 1;
    c->weight_decay = 0.1f, c->beta1 = 0.9f, c->beta2 = 0.95f, c->clip = 1.0f, c->momentum = 0.9f;
    c->val_fraction = 0.1f, c->rope_base = 10000.0f, c->rms_eps = 1e-5f;
    c->eval_interval = -1, c->eval_batches = 8, c->sample_interval = -1, c->sample_tokens = 96;
    c->ckpt_interval = -1, c->keep = 2, c->log_interval = 10, c->threads = 0, c->seed = 1234;
    c->lora_rank = 8, c->lora_alpha = 16, c->lora_targets = "q,k,v,o,gate,up,down";
    c->temperature = 2.0f, c->alpha = 0.5f;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: wick train --data FILE|DIR --tokenizer VOCAB.gguf --out DIR [options]\n"
            "       wick train --resume DIR|CHECKPOINT.gguf [--steps S] [--threads N]\n"
            "       wick train --config FILE [options]   (options in FILE, one 'key value' per line)\n"
            "       wick finetune -m BASE.gguf --data FILE --out ADAPTER.gguf [--lora-rank 8] [--lora-alpha 16]\n"
            "                     [--lora-targets q,k,v,o,gate,up,down] [the optimization/monitoring options]\n"
            "  train a llama-architecture model from scratch; DIR/model.gguf loads in run/chat.\n"
            "  finetune trains LoRA adapters beside a frozen llama base of any type (quantized included);\n"
            "  the adapter GGUF loads with run/chat --lora; log, plot, samples, checkpoints go to <out>.run/\n"
            "       wick distill --teacher T.gguf (--student S.gguf | --student-shape LxDxH[xF] | the model options)\n"
            "                    --data FILE --out DIR [--temperature 2] [--alpha 0.5] [options]\n"
            "  knowledge distillation: loss = alpha tau^2 KL(teacher_tau || student_tau) + (1 - alpha) CE(labels)\n"
            "  with tau the temperature; validation reports the student's CE and KL(teacher || student) at tau 1.\n"
            "  The teacher (any architecture and type) and student share the teacher's tokenizer.\n"
            "  --teacher-top-k K     targets keep the teacher's K most likely tokens (default 0: all)\n"
            "  --teacher-cache FILE  with --teacher-top-k: the teacher's top K per training window, stored\n"
            "                        on the first pass and read back on later ones (epochs, reruns)\n"
            "data:\n"
            "  --data PATH           UTF-8 text (tokenized here; the last --val-fraction is validation)\n"
            "                        or a `wick data` directory (train.bin, val.bin)\n"
            "                        or (finetune) chat JSONL, FILE.jsonl: {\"messages\": [{\"role\": ..., \"content\": ...}]}\n"
            "                        per line, rendered with the base's chat template; loss on assistant tokens\n"
            "                        only; the last --val-fraction of the conversations is validation\n"
            "  --tokenizer FILE      a GGUF with tokenizer.ggml.* keys (e.g. from tokenizer-train)\n"
            "  --val-fraction F      validation share of a text file (default 0.1)\n"
            "model:\n"
            "  --n-layer L --n-embd D --n-head H   (default 4, 256, 4)\n"
            "  --n-head-kv K         key/value heads, divides H (default H)\n"
            "  --n-ff F              feed-forward width (default 4*D)\n"
            "  --ctx T               sequence length (default 128); also the model's context\n"
            "  --n-vocab V           model vocabulary >= the tokenizer's, e.g. padded (default: same)\n"
            "  --rope-base B         RoPE base (default 10000)\n"
            "optimization:\n"
            "  --batch B             sequences per micro-batch (default 8)\n"
            "  --grad-accum A        micro-batches per step (default 1)\n"
            "  --steps S             optimizer steps (default 1000)\n"
            "  --lr LR               peak learning rate (default 1e-3)\n"
            "  --lr-min LR           cosine floor (default lr/10)\n"
            "  --warmup W            linear warmup steps (default 5%% of steps)\n"
            "  --schedule cosine|constant   (default cosine)\n"
            "  --optimizer adamw|sgd (default adamw)  --momentum M (sgd, default 0.9)\n"
            "  --weight-decay WD --beta1 B1 --beta2 B2   (default 0.1, 0.9, 0.95)\n"
            "  --clip C              global gradient-norm clip, 0 = off (default 1.0)\n"
            "  --seed S              init and sampling seed (default 1234)\n"
            "  --precision fp32|bf16 bf16: forward matmuls on bf16 copies of the fp32 master\n"
            "                        weights (AVX512_BF16 where present); default fp32\n"
            "  --grad-checkpoint 0|1 1: keep only each layer's input and recompute the layer in\n"
            "                        backward (less memory, about a third more compute)\n"
            "monitoring and output:\n"
            "  --out DIR             checkpoints, log.csv, loss.svg, samples.txt, model.gguf\n"
            "  --eval-interval N     validation every N steps (default steps/10)\n"
            "  --eval-batches N      validation micro-batches (default 8)\n"
            "  --sample-interval N   sample text every N steps, 0 = never (default: eval interval)\n"
            "  --sample-tokens N     tokens per sample (default 96)\n"
            "  --sample-prompt TEXT  sample prompt (default: the first validation tokens)\n"
            "  --ckpt-interval N     checkpoint every N steps (default: eval interval)\n"
            "  --keep N              checkpoints kept, 0 = all (default 2)\n"
            "  --log-interval N      progress lines when stderr is not a terminal (default 10)\n"
            "  -t, --threads N       CPU threads (default: every core)\n"
            "exit: 0 done, 1 failed (unreadable data, unwritable output, ...), 2 bad usage or config\n");
}

typedef enum { K_STR, K_LONG, K_FLOAT, K_U64, K_SCHED, K_OPT, K_PREC } kind;
typedef struct {
    const char *name;
    kind k;
    size_t off;
    double lo, hi;
} opt_def;

#define O(f) offsetof(train_cfg, f)
static const opt_def k_opts[] = {
    {"data", K_STR, O(data), 0, 0}, {"tokenizer", K_STR, O(tokenizer), 0, 0}, {"out", K_STR, O(out), 0, 0},
    {"sample-prompt", K_STR, O(sample_prompt), 0, 0}, {"model", K_STR, O(model), 0, 0},
    {"lora-targets", K_STR, O(lora_targets), 0, 0}, {"lora-rank", K_LONG, O(lora_rank), 1, 4096},
    {"lora-alpha", K_FLOAT, O(lora_alpha), 0, 1e6},
    {"teacher", K_STR, O(teacher), 0, 0}, {"student", K_STR, O(student), 0, 0},
    {"student-shape", K_STR, O(student_shape), 0, 0}, {"teacher-cache", K_STR, O(teacher_cache), 0, 0},
    {"temperature", K_FLOAT, O(temperature), 0.05, 100}, {"alpha", K_FLOAT, O(alpha), 0, 1},
    {"teacher-top-k", K_LONG, O(teacher_top_k), 0, 1 << 16},
    {"n-layer", K_LONG, O(n_layer), 1, 4096}, {"n-embd", K_LONG, O(n_embd), 2, 1 << 20},
    {"n-head", K_LONG, O(n_head), 1, 1 << 16}, {"n-head-kv", K_LONG, O(n_head_kv), 1, 1 << 16},
    {"n-ff", K_LONG, O(n_ff), 1, 1 << 22}, {"n-vocab", K_LONG, O(n_vocab), 1, 1 << 24},
    {"ctx", K_LONG, O(ctx), 2, 1 << 16}, {"batch", K_LONG, O(batch), 1, 1 << 16},
    {"steps", K_LONG, O(steps), 1, 1L << 40}, {"grad-accum", K_LONG, O(grad_accum), 1, 1 << 16},
    {"lr", K_FLOAT, O(lr), 0, 10}, {"lr-min", K_FLOAT, O(lr_min), 0, 10}, {"warmup", K_LONG, O(warmup), 0, 1L << 40},
    {"weight-decay", K_FLOAT, O(weight_decay), 0, 10}, {"beta1", K_FLOAT, O(beta1), 0, 0.999999},
    {"beta2", K_FLOAT, O(beta2), 0, 0.999999}, {"clip", K_FLOAT, O(clip), 0, 1e6},
    {"momentum", K_FLOAT, O(momentum), 0, 0.999999}, {"val-fraction", K_FLOAT, O(val_fraction), 0.001, 0.9},
    {"rope-base", K_FLOAT, O(rope_base), 1, 1e9}, {"rms-eps", K_FLOAT, O(rms_eps), 1e-12, 1},
    {"eval-interval", K_LONG, O(eval_interval), 1, 1L << 40}, {"eval-batches", K_LONG, O(eval_batches), 1, 1 << 20},
    {"sample-interval", K_LONG, O(sample_interval), 0, 1L << 40}, {"sample-tokens", K_LONG, O(sample_tokens), 1, 1 << 16},
    {"ckpt-interval", K_LONG, O(ckpt_interval), 1, 1L << 40}, {"keep", K_LONG, O(keep), 0, 1 << 20},
    {"log-interval", K_LONG, O(log_interval), 1, 1L << 40}, {"threads", K_LONG, O(threads), 1, 4096},
    {"seed", K_U64, O(seed), 0, 0}, {"schedule", K_SCHED, O(cosine), 0, 0}, {"optimizer", K_OPT, O(sgd), 0, 0},
    {"precision", K_PREC, O(bf16), 0, 0}, {"grad-checkpoint", K_LONG, O(checkpoint), 0, 1},
};
#undef O
#define N_OPTS (sizeof k_opts / sizeof k_opts[0])

/* One option by name (without dashes). Returns 0 ok, 2 bad (message printed). Strings are
 * kept by pointer: callers pass storage that outlives the config. */
static int cfg_set(train_cfg *c, const char *name, const char *val, const char *where) {
    for (size_t i = 0; i < N_OPTS; i++) {
        const opt_def *d = &k_opts[i];
        if (strcmp(d->name, name)) continue;
        char *p = (char *)c + d->off;
        switch (d->k) {
        case K_STR: *(const char **)p = val; return 0;
        case K_LONG: {
            long v;
            if (!wk_tool_parse_long(val, (long)d->lo, (long)d->hi, &v)) break;
            *(long *)p = v;
            return 0;
        }
        case K_FLOAT: {
            float v;
            if (!wk_tool_parse_float(val, (float)d->lo, (float)d->hi, &v)) break;
            *(float *)p = v;
            return 0;
        }
        case K_U64: {
            char *end = NULL;
            errno = 0;
            unsigned long long v = strtoull(val, &end, 10);
            if (!*val || *val == '-' || *end || errno) break;
            *(unsigned long long *)p = v;
            return 0;
        }
        case K_SCHED:
            if (strcmp(val, "cosine") && strcmp(val, "constant")) break;
            *(int *)p = !strcmp(val, "cosine");
            return 0;
        case K_OPT:
            if (strcmp(val, "adamw") && strcmp(val, "sgd")) break;
            *(int *)p = !strcmp(val, "sgd");
            return 0;
        case K_PREC:
            if (strcmp(val, "fp32") && strcmp(val, "bf16")) break;
            *(int *)p = !strcmp(val, "bf16");
            return 0;
        }
        if (d->k == K_SCHED) fprintf(stderr, "%s: %s--schedule '%s' is not cosine or constant\n", g_cmd, where, val);
        else if (d->k == K_OPT) fprintf(stderr, "%s: %s--optimizer '%s' is not adamw or sgd\n", g_cmd, where, val);
        else if (d->k == K_PREC) fprintf(stderr, "%s: %s--precision '%s' is not fp32 or bf16\n", g_cmd, where, val);
        else if (d->k == K_U64) fprintf(stderr, "%s: %s--%s '%s' is not a non-negative integer\n", g_cmd, where, name, val);
        else fprintf(stderr, "%s: %s--%s '%s' is not a number in [%g, %g]\n", g_cmd, where, name, val, d->lo, d->hi);
        return 2;
    }
    fprintf(stderr, "%s: %sunknown option '%s'\n", g_cmd, where, name);
    return 2;
}

/* The config text of c (every option, "key value" lines): stored in checkpoints. */
static char *cfg_text(const train_cfg *c) {
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    s[0] = 0;
    for (size_t i = 0; i < N_OPTS; i++) {
        const opt_def *d = &k_opts[i];
        const char *p = (const char *)c + d->off;
        char v[1200];
        switch (d->k) {
        case K_STR:
            if (!*(const char *const *)p) continue;
            if (strchr(*(const char *const *)p, '\n')) continue; /* not representable as a line */
            snprintf(v, sizeof v, "%s", *(const char *const *)p);
            break;
        case K_LONG: snprintf(v, sizeof v, "%ld", *(const long *)p); break;
        case K_FLOAT: snprintf(v, sizeof v, "%.9g", *(const float *)p); break;
        case K_U64: snprintf(v, sizeof v, "%llu", *(const unsigned long long *)p); break;
        case K_SCHED: snprintf(v, sizeof v, "%s", *(const int *)p ? "cosine" : "constant"); break;
        case K_OPT: snprintf(v, sizeof v, "%s", *(const int *)p ? "sgd" : "adamw"); break;
        case K_PREC: snprintf(v, sizeof v, "%s", *(const int *)p ? "bf16" : "fp32"); break;
        }
        if (d->k == K_LONG && *(const long *)p < 0) continue; /* "derived" defaults stay derived */
        if (d->k == K_FLOAT && *(const float *)p < 0) continue;
        const size_t need = strlen(d->name) + strlen(v) + 3;
        if (len + need >= cap) {
            char *n = realloc(s, cap *= 2);
            if (!n) return free(s), NULL;
            s = n;
        }
        len += (size_t)snprintf(s + len, cap - len, "%s %s\n", d->name, v);
    }
    return s;
}

/* Parses "key value" / "key = value" lines (# comments) of text, which is modified in
 * place and must outlive c. */
static int cfg_parse_text(train_cfg *c, char *text, const char *src) {
    int line = 0;
    for (char *s = text; s && *s;) {
        char *nl = strchr(s, '\n');
        if (nl) *nl = 0;
        line++;
        char *h = strchr(s, '#');
        if (h) *h = 0;
        while (*s == ' ' || *s == '\t' || *s == '\r') s++;
        char *e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) *--e = 0;
        if (*s) {
            char *k = s;
            while (*s && *s != ' ' && *s != '\t' && *s != '=') s++;
            if (*s) *s++ = 0;
            while (*s == ' ' || *s == '\t' || *s == '=') s++;
            while (*k == '-') k++;
            char where[300];
            snprintf(where, sizeof where, "%s:%d: ", src, line);
            if (!*s) {
                fprintf(stderr, "%s: %s'%s' has no value\n", g_cmd, where, k);
                return 2;
            }
            if (cfg_set(c, k, s, where)) return 2;
        }
        s = nl ? nl + 1 : NULL;
    }
    return 0;
}

/* ---- data ------------------------------------------------------------------------------- */

typedef struct {
    int32_t *ids;
    uint8_t *train; /* chat data: 1 where the token is a loss target (assistant); NULL: all */
    int64_t n;
} tokens;

static int read_shard(const char *path, tokens *t) {
    size_t len = 0;
    char *b = wk_train_read_file(path, &len);
    if (!b) {
        fprintf(stderr, "%s: cannot read %s: %s\n", g_cmd, path, strerror(errno ? errno : EIO));
        return 1;
    }
    uint32_t width = 0;
    uint64_t count = 0;
    if (len >= WK_SHARD_HEADER) memcpy(&width, b + 12, 4), memcpy(&count, b + 16, 8);
    if (len < WK_SHARD_HEADER || memcmp(b, WK_SHARD_MAGIC, 6) || (width != 2 && width != 4) ||
        count > (len - WK_SHARD_HEADER) / width || count * width != len - WK_SHARD_HEADER) {
        fprintf(stderr, "%s: %s is not a wick token shard (bad header or size)\n", g_cmd, path);
        free(b);
        return 1;
    }
    t->n = (int64_t)count;
    t->ids = malloc((size_t)(count ? count : 1) * sizeof(int32_t));
    if (!t->ids) {
        free(b);
        fprintf(stderr, "%s: out of memory for %s\n", g_cmd, path);
        return 1;
    }
    for (uint64_t i = 0; i < count; i++) {
        if (width == 2) {
            uint16_t v;
            memcpy(&v, b + WK_SHARD_HEADER + 2 * i, 2);
            t->ids[i] = v;
        } else {
            uint32_t v;
            memcpy(&v, b + WK_SHARD_HEADER + 4 * i, 4);
            t->ids[i] = (int32_t)v;
        }
    }
    free(b);
    return 0;
}

static int has_suffix(const char *s, const char *suf) {
    const size_t n = strlen(s), k = strlen(suf);
    return n >= k && !strcmp(s + n - k, suf);
}

/* finetune on chat JSONL: the conversations rendered with the base's chat template (or the
 * built-in its markers suggest, else chatml); the last val_fraction of the conversations
 * (at least one) are validation */
static int load_chat(const train_cfg *c, const wk_vocab *v, const wk_gguf *g, char *text, size_t len, tokens *tr,
                     tokens *va) {
    const char *src = NULL;
    uint64_t sl = 0;
    if (wk_gguf_get_str(g, "tokenizer.chat_template", &src, &sl) != WK_GGUF_OK) src = NULL, sl = 0;
    wk_chat_template *tmpl = NULL;
    wk_chat_data d;
    memset(&d, 0, sizeof d);
    char *bos = NULL, *eos = NULL;
    size_t bl = 0, el = 0;
    const char *bt = wk_vocab_bos(v) >= 0 ? wk_vocab_token_text(v, wk_vocab_bos(v), &bl) : NULL;
    const char *et = wk_vocab_eos(v) >= 0 ? wk_vocab_token_text(v, wk_vocab_eos(v), &el) : NULL;
    if (bt) bos = strndup(bt, bl);
    if (et) eos = strndup(et, el);
    wk_chat_options opt = wk_chat_options_default();
    opt.bos_token = bos, opt.eos_token = eos;
    int rc = 1;
    if (wk_chat_template_load(src, (size_t)sl, "chatml", &tmpl) != WK_OK ||
        wk_chat_data_load(text, len, v, tmpl, &opt, &d) != WK_OK) {
        fprintf(stderr, "%s: %s: %s\n", g_cmd, c->data, wk_last_error());
        goto done;
    }
    int64_t nvc = (int64_t)((double)d.n_conv * c->val_fraction);
    if (nvc < 1) nvc = 1;
    if (nvc >= d.n_conv) {
        fprintf(stderr, "%s: %s has %lld conversation(s); at least 2 are needed (training and validation)\n", g_cmd,
                c->data, (long long)d.n_conv);
        rc = 2;
        goto done;
    }
    const int64_t cut = d.conv_start[d.n_conv - nvc];
    tr->n = cut, va->n = d.n - cut;
    tr->ids = malloc((size_t)(tr->n ? tr->n : 1) * sizeof(int32_t)), tr->train = malloc((size_t)(tr->n ? tr->n : 1));
    va->ids = malloc((size_t)(va->n ? va->n : 1) * sizeof(int32_t)), va->train = malloc((size_t)(va->n ? va->n : 1));
    if (!tr->ids || !tr->train || !va->ids || !va->train) {
        fprintf(stderr, "%s: out of memory for the tokens\n", g_cmd);
        goto done;
    }
    memcpy(tr->ids, d.ids, (size_t)tr->n * sizeof(int32_t)), memcpy(tr->train, d.train, (size_t)tr->n);
    memcpy(va->ids, d.ids + cut, (size_t)va->n * sizeof(int32_t)), memcpy(va->train, d.train + cut, (size_t)va->n);
    int64_t n_lab = 0;
    for (int64_t i = 0; i < d.n; i++) n_lab += d.train[i];
    fprintf(stderr, "%s: %s: %lld conversations (%lld for validation), template %s, %lld tokens, %lld of them "
                    "assistant tokens (the loss targets)\n",
            g_cmd, c->data, (long long)d.n_conv, (long long)nvc, wk_chat_template_name(tmpl), (long long)d.n,
            (long long)n_lab);
    rc = 0;
done:
    wk_chat_data_free(&d);
    wk_chat_template_free(tmpl);
    free(bos), free(eos);
    return rc;
}

static int load_data(const train_cfg *c, const wk_vocab *v, const wk_gguf *g, tokens *tr, tokens *va) {
    struct stat st;
    if (stat(c->data, &st) != 0) {
        fprintf(stderr, "%s: --data %s: %s\n", g_cmd, c->data, strerror(errno));
        return 1;
    }
    if (S_ISDIR(st.st_mode)) {
        char p[4096];
        snprintf(p, sizeof p, "%s/train.bin", c->data);
        if (read_shard(p, tr)) return 1;
        snprintf(p, sizeof p, "%s/val.bin", c->data);
        return read_shard(p, va);
    }
    size_t len = 0;
    char *text = wk_train_read_file(c->data, &len);
    if (!text) {
        fprintf(stderr, "%s: cannot read %s\n", g_cmd, c->data);
        return 1;
    }
    if (has_suffix(c->data, ".jsonl")) {
        if (!g_ft) {
            fprintf(stderr, "%s: chat JSONL data is for wick finetune (a base model with a chat template)\n", g_cmd);
            free(text);
            return 2;
        }
        const int rc = load_chat(c, v, g, text, len, tr, va);
        free(text);
        return rc;
    }
    size_t n = 0;
    wk_token *ids = wk_tool_tokenize(g_cmd, v, text, len, false, false, &n);
    free(text);
    if (!ids) return 1;
    const int64_t nv = (int64_t)((double)n * c->val_fraction);
    tr->n = (int64_t)n - nv, va->n = nv;
    tr->ids = malloc((size_t)(tr->n ? tr->n : 1) * sizeof(int32_t));
    va->ids = malloc((size_t)(nv ? nv : 1) * sizeof(int32_t));
    if (!tr->ids || !va->ids) {
        free(ids);
        fprintf(stderr, "%s: out of memory for the tokens\n", g_cmd);
        return 1;
    }
    for (int64_t i = 0; i < tr->n; i++) tr->ids[i] = ids[i];
    for (int64_t i = 0; i < nv; i++) va->ids[i] = ids[tr->n + i];
    free(ids);
    return 0;
}

/* B sequences of T inputs and their next-token labels (-1 where chat data marks the token
 * as context) from t starting at *pos, advancing it; wraps to 0 (a new epoch) when fewer than B*T+1 tokens are left. */
static void next_batch(const tokens *t, int64_t *pos, int64_t *epoch, int32_t *in, int32_t *lab, int64_t B, int64_t T) {
    if (*pos + B * T + 1 > t->n) *pos = 0, ++*epoch;
    for (int64_t i = 0; i < B * T; i++) {
        in[i] = t->ids[*pos + i], lab[i] = t->ids[*pos + i + 1];
        if (t->train && !t->train[*pos + i + 1]) lab[i] = -1; /* chat data: assistant tokens only */
    }
    *pos += B * T;
}

/* ---- the run ------------------------------------------------------------------------------ */

typedef struct {
    train_cfg c;
    wk_llama_train *m;
    wk_optim *o;
    wk_backend *be;
    wk_gguf *tok_gguf;     /* tokenizer keys source (the vocab or the resumed checkpoint) */
    wk_vocab *vocab;
    wk_teacher *teacher;   /* distill */
    tokens train, val;
    int64_t step, pos, epoch;
    uint64_t rng;
    char *cfg_str;
    char dir[4096]; /* log, plot, samples, checkpoints: --out, or <out>.run for finetune */
} run_state;

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* the params as F32 tensors under their names (vectors 1-D; LoRA A/B are always matrices) */
static wk_gguf_status add_params(wk_gguf_writer *w, const run_state *R) {
    wk_gguf_status s = WK_GGUF_OK;
    const int np = wk_llama_train_n_params(R->m);
    for (int i = 0; i < np && !s; i++) {
        const wk_tensor *t = wk_llama_train_param(R->m, i);
        const int64_t ne[2] = {wk_tensor_ne(t, 0), wk_tensor_ne(t, 1)};
        s = wk_gguf_writer_add_tensor(w, wk_tensor_name(t), WK_TYPE_F32, ne[1] > 1 || g_ft ? 2 : 1, ne,
                                      wk_tensor_data(t));
    }
    return s;
}

/* finetune: the adapter's keys (formats.md §6) and its A/B tensors */
static wk_gguf_status add_adapter(wk_gguf_writer *w, const run_state *R) {
    wk_gguf_status s = wk_gguf_writer_add_str(w, "general.architecture", "llama", 5);
    if (!s) s = wk_gguf_writer_add_str(w, "general.type", "adapter", 7);
    if (!s) s = wk_gguf_writer_add_str(w, "general.name", "wick finetune", 13);
    if (!s) s = wk_gguf_writer_add_str(w, "adapter.type", "lora", 4);
    if (!s) s = wk_gguf_writer_add_f32(w, "adapter.lora.alpha", R->c.lora_alpha);
    return s ? s : add_params(w, R);
}

static wk_gguf_status add_model(wk_gguf_writer *w, const run_state *R) {
    if (g_ft) return add_adapter(w, R);
    const wk_llama_hparams *hp = wk_llama_train_hparams(R->m);
    wk_gguf_status s = wk_gguf_writer_add_str(w, "general.architecture", "llama", 5);
    if (!s) s = wk_gguf_writer_add_str(w, "general.name", "wick train", 10);
    if (!s) s = wk_gguf_writer_add_u32(w, "general.file_type", 0); /* all F32 */
    if (!s) s = wk_gguf_writer_add_u32(w, "llama.context_length", (uint32_t)R->c.ctx);
    if (!s) s = wk_gguf_writer_add_u32(w, "llama.embedding_length", (uint32_t)hp->n_embd);
    if (!s) s = wk_gguf_writer_add_u32(w, "llama.block_count", (uint32_t)hp->n_layer);
    if (!s) s = wk_gguf_writer_add_u32(w, "llama.feed_forward_length", (uint32_t)hp->n_ff);
    if (!s) s = wk_gguf_writer_add_u32(w, "llama.attention.head_count", (uint32_t)hp->n_head);
    if (!s) s = wk_gguf_writer_add_u32(w, "llama.attention.head_count_kv", (uint32_t)hp->n_head_kv);
    if (!s) s = wk_gguf_writer_add_f32(w, "llama.attention.layer_norm_rms_epsilon", hp->rms_eps);
    if (!s) s = wk_gguf_writer_add_f32(w, "llama.rope.freq_base", hp->rope_base);
    if (!s) s = wk_gguf_writer_add_u32(w, "llama.rope.dimension_count", (uint32_t)(hp->n_embd / hp->n_head));
    if (!s) s = wk_gguf_writer_add_u32(w, "llama.vocab_size", (uint32_t)hp->n_vocab);
    const uint64_t nkv = wk_gguf_n_kv(R->tok_gguf);
    for (uint64_t i = 0; i < nkv && !s; i++)
        if (!strncmp(wk_gguf_kv_key(R->tok_gguf, i), "tokenizer.", 10)) s = wk_gguf_writer_copy_kv(w, R->tok_gguf, i);
    return s ? s : add_params(w, R);
}

/* path <- the model (state == 0) or a checkpoint (model + optimizer + position + RNG). */
static int write_gguf(const run_state *R, const char *path, int state) {
    wk_gguf_writer *w = NULL;
    wk_gguf_status s = wk_gguf_writer_new(&w);
    if (!s) s = add_model(w, R);
    if (state) {
        const int np = wk_llama_train_n_params(R->m);
        char nm[256];
        for (int i = 0; i < np && !s; i++) {
            const wk_tensor *t = wk_llama_train_param(R->m, i);
            const int64_t ne[2] = {wk_tensor_ne(t, 0), wk_tensor_ne(t, 1)};
            for (int which = 0; which < 2 && !s; which++) {
                const float *st = wk_optim_state(R->o, i, which);
                if (!st) continue;
                snprintf(nm, sizeof nm, "optim.%c.%s", which ? 'v' : 'm', wk_tensor_name(t));
                s = wk_gguf_writer_add_tensor(w, nm, WK_TYPE_F32, ne[1] > 1 ? 2 : 1, ne, st);
            }
        }
        if (!s) s = wk_gguf_writer_add_u64(w, "wick.train.step", (uint64_t)R->step);
        if (!s) s = wk_gguf_writer_add_u64(w, "wick.train.optim_steps", (uint64_t)wk_optim_steps(R->o));
        if (!s) s = wk_gguf_writer_add_u64(w, "wick.train.data_pos", (uint64_t)R->pos);
        if (!s) s = wk_gguf_writer_add_u64(w, "wick.train.epoch", (uint64_t)R->epoch);
        if (!s) s = wk_gguf_writer_add_u64(w, "wick.train.rng", R->rng);
        if (!s) s = wk_gguf_writer_add_str(w, "wick.train.config", R->cfg_str, strlen(R->cfg_str));
    }
    if (!s) s = wk_gguf_writer_write_file(w, path); /* temp file + fsync + rename */
    wk_gguf_writer_free(w);
    if (s) {
        fprintf(stderr, "%s: writing %s failed: %s\n", g_cmd, path, wk_gguf_last_error());
        return 1;
    }
    return 0;
}

/* Checkpoints are DIR/ckpt-<step>.gguf (8 digits); keeps the newest `keep` (0 = all). */
/* the step of a checkpoint file name "ckpt-<8 digits>.gguf", or -1 */
/* the loss plot's title: the mode's command and what its lines are */
static const char *svg_title(void) {
    return g_dist ? "wick distill: cross-entropy and KL(teacher || student)" : g_ft ? "wick finetune: loss" : "wick train: loss";
}

/* ---- evaluation and samples ---------------------------------------------------------------- */

/* distill: the training loss's temperature and weights (alpha tau^2 KL + (1 - alpha) CE) */
static int set_train_distill(run_state *R) {
    const float tau = R->c.temperature, a = R->c.alpha;
    if (wk_llama_train_set_distill(R->m, tau, a * tau * tau, 1.0f - a) == WK_OK) return 0;
    fprintf(stderr, "%s: %s\n", g_cmd, wk_last_error());
    return 1;
}

/* Mean validation cross-entropy over the labelled tokens of eval_batches batches; distill:
 * also KL(teacher || student) at temperature 1 (*kl). */
static int eval_val(run_state *R, int32_t *in, int32_t *lab, double *loss, double *kl) {
    const int64_t B = R->c.batch, T = R->c.ctx;
    int64_t pos = 0, ep = 0;
    double sum = 0, sum_kl = 0;
    if (g_dist && wk_llama_train_set_distill(R->m, 1.0f, 1.0f, 0.0f) != WK_OK) return 1;
    int64_t count = 0;
    for (long i = 0; i < R->c.eval_batches; i++) {
        next_batch(&R->val, &pos, &ep, in, lab, B, T);
        int64_t n_lab = 0; /* the batch's mean is over its labelled tokens (chat data: fewer) */
        for (int64_t k = 0; k < B * T; k++) n_lab += lab[k] >= 0;
        if (!n_lab) continue;
        float l, k = 0;
        if (g_dist && wk_teacher_targets(R->teacher, in, lab, -1, 1.0f, wk_llama_train_soft_targets(R->m))) return 1;
        if (wk_llama_train_eval(R->m, R->be, in, lab, &l) != WK_OK) {
            fprintf(stderr, "\n" "%s: validation: %s\n", g_cmd, wk_last_error());
            return 1;
        }
        if (g_dist) wk_llama_train_distill_parts(R->m, &k, &l);
        sum += (double)l * (double)n_lab, sum_kl += (double)k * (double)n_lab, count += n_lab;
    }
    *loss = count ? sum / (double)count : NAN;
    if (kl) *kl = count ? sum_kl / (double)count : NAN;
    if (g_dist) { /* back to training: alpha 0 trains on labels alone, with the targets masked */
        if (R->c.alpha == 0) memset(wk_llama_train_soft_targets(R->m), 0, (size_t)(B * T) * (size_t)R->c.n_vocab * sizeof(float));
        return set_train_distill(R);
    }
    return 0;
}

/* Generates from DIR/model.gguf (written just before; finetune: the base with the adapter
 * just written) with temperature 0.8, top-k 40. */
static int sample(run_state *R, const char *model_path, FILE *out) {
    wk_model *model = NULL;
    wk_context *ctx = NULL;
    wk_sampler *smpl = NULL;
    int rc = 1;
    if (g_ft ? wk_model_load(R->c.model, NULL, &model) != WK_OK || wk_model_add_lora(model, model_path, 1.0f) != WK_OK
             : wk_model_load(model_path, NULL, &model) != WK_OK)
        goto done;
    wk_context_params cp = wk_context_default_params();
    cp.n_ctx = (uint32_t)R->c.ctx;
    cp.n_threads = (int)R->c.threads;
    cp.n_batch = (uint32_t)R->c.ctx;
    if (wk_context_create(model, &cp, &ctx) != WK_OK) goto done;
    wk_token prompt[64];
    size_t np = 0;
    if (R->c.sample_prompt) {
        size_t n = 0;
        wk_token *ids = wk_tool_tokenize(g_cmd, R->vocab, R->c.sample_prompt, strlen(R->c.sample_prompt), false, false, &n);
        if (!ids) goto done;
        for (np = 0; np < n && np < 64 && np + 1 < (size_t)R->c.ctx; np++) prompt[np] = ids[np];
        free(ids);
    }
    if (np == 0) { /* the first validation tokens */
        for (np = 0; np < 4 && (int64_t)np < R->val.n; np++) prompt[np] = R->val.ids[np];
    }
    if (np == 0) goto done;
    wk_batch b = wk_batch_one_seq(prompt, (int32_t)np);
    if (wk_decode(ctx, &b) != WK_OK) goto done;
    wk_sampler_params sp = wk_sampler_params_default();
    sp.temp = 0.8f, sp.top_k = 40, sp.seed = rng_next(&R->rng) >> 1;
    if (wk_sampler_create(&sp, wk_model_n_vocab(model), &smpl) != WK_OK) goto done;
    char piece[256];
    for (size_t i = 0; i < np; i++) {
        size_t len = 0;
        if (wk_token_to_piece(R->vocab, prompt[i], false, piece, sizeof piece, &len) == WK_OK) fwrite(piece, 1, len, out);
    }
    for (long i = 0; i < R->c.sample_tokens && (int64_t)wk_kv_used(ctx) < R->c.ctx; i++) {
        wk_token tok;
        if (wk_sampler_sample(smpl, wk_get_logits(ctx, -1), &tok) != WK_OK) goto done;
        wk_sampler_accept(smpl, tok);
        size_t len = 0;
        if (tok < wk_vocab_n_tokens(R->vocab) && wk_token_to_piece(R->vocab, tok, false, piece, sizeof piece, &len) == WK_OK)
            fwrite(piece, 1, len, out);
        b = wk_batch_one_seq(&tok, 1);
        if ((int64_t)wk_kv_used(ctx) >= R->c.ctx) break;
        if (wk_decode(ctx, &b) != WK_OK) goto done;
    }
    fputc('\n', out);
    rc = 0;
done:
    if (rc) fprintf(stderr, "\n" "%s: sampling failed: %s\n", g_cmd, wk_last_error());
    wk_sampler_free(smpl);
    wk_context_free(ctx);
    wk_model_free(model);
    return rc;
}

/* ---- setup ---------------------------------------------------------------------------------- */

static int opt_index(const char *name) {
    for (size_t i = 0; i < N_OPTS; i++)
        if (!strcmp(k_opts[i].name, name)) return (int)i;
    return -1;
}

/* given[i] records which options the command line set, so they can override a config file
 * or a resumed checkpoint's config */
static int parse_args(int argc, char **argv, train_cfg *c, const char **config, const char **resume, char *given) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return -1;
        }
        if (strncmp(a, "--", 2) && strcmp(a, "-t") && strcmp(a, "-m")) {
            fprintf(stderr, "%s: unexpected argument '%s'\n", g_cmd, a);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value\n", g_cmd, a);
            return 2;
        }
        const char *name = !strcmp(a, "-t") ? "threads" : !strcmp(a, "-m") ? "model" : a + 2, *val = argv[++i];
        if (!strcmp(name, "config")) *config = val;
        else if (!strcmp(name, "resume")) *resume = val;
        else {
            if (cfg_set(c, name, val, "")) return 2;
            given[opt_index(name)] = 1;
        }
    }
    return 0;
}

static int validate(const train_cfg *c) {
    if (!c->data || !c->out) {
        fprintf(stderr, "%s: --data and --out are required (or --resume)\n", g_cmd);
        return 2;
    }
    if (g_dist && !c->teacher) {
        fprintf(stderr, "%s: --teacher T.gguf is required\n", g_cmd);
        return 2;
    }
    if (g_dist && c->teacher_cache && c->teacher_top_k <= 0) {
        fprintf(stderr, "%s: --teacher-cache stores top-k targets: give --teacher-top-k K too\n", g_cmd);
        return 2;
    }
    if (g_ft) {
        if (!c->model) {
            fprintf(stderr, "%s: -m BASE.gguf is required\n", g_cmd);
            return 2;
        }
        return 0; /* the shape is the base model's */
    }
    if (c->n_embd % c->n_head) {
        fprintf(stderr, "%s: --n-embd %ld is not a multiple of --n-head %ld\n", g_cmd, c->n_embd, c->n_head);
        return 2;
    }
    if ((c->n_embd / c->n_head) % 2) {
        fprintf(stderr, "%s: head size %ld (n-embd / n-head) must be even for RoPE\n", g_cmd, c->n_embd / c->n_head);
        return 2;
    }
    if (c->n_head % c->n_head_kv) {
        fprintf(stderr, "%s: --n-head %ld is not a multiple of --n-head-kv %ld\n", g_cmd, c->n_head, c->n_head_kv);
        return 2;
    }
    if (c->warmup >= c->steps && c->steps > 1) {
        fprintf(stderr, "%s: --warmup %ld must be below --steps %ld\n", g_cmd, c->warmup, c->steps);
        return 2;
    }
    if (c->lr_min > c->lr) {
        fprintf(stderr, "%s: --lr-min %g is above --lr %g\n", g_cmd, c->lr_min, c->lr);
        return 2;
    }
    if (c->batch * c->ctx > (1 << 22)) {
        fprintf(stderr, "%s: --batch x --ctx = %ld tokens per micro-batch is too many\n", g_cmd, c->batch * c->ctx);
        return 2;
    }
    return 0;
}

/* derived defaults */
static void finish_cfg(train_cfg *c) {
    if (c->n_head_kv <= 0) c->n_head_kv = c->n_head;
    if (c->n_ff <= 0) c->n_ff = 4 * c->n_embd;
    if (c->lr_min < 0) c->lr_min = c->lr / 10;
    if (c->warmup < 0) c->warmup = (long)(c->steps * c->warmup_frac);
    if (c->eval_interval <= 0) c->eval_interval = c->steps / 10 > 0 ? c->steps / 10 : 1;
    if (c->sample_interval < 0) c->sample_interval = c->eval_interval;
    if (c->ckpt_interval <= 0) c->ckpt_interval = c->eval_interval;
}

int wk_cmd_train(int argc, char **argv) {
    run_state R;
    memset(&R, 0, sizeof R);
    train_cfg cli;
    cfg_defaults(&cli);
    char given[N_OPTS] = {0};
    const char *config = NULL, *resume = NULL;
    char *config_text = NULL, *ckpt_cfg_text = NULL;
    int32_t *in = NULL, *lab = NULL;
    float **acc = NULL, **grads = NULL;
    FILE *csv = NULL, *samples = NULL;
    int rc = parse_args(argc, argv, &cli, &config, &resume, given);
    if (rc) return rc < 0 ? 0 : rc;

    /* precedence: defaults < config file < checkpoint config < command line */
    train_cfg c;
    cfg_defaults(&c);
    if (config) {
        if (!(config_text = wk_train_read_file(config, NULL))) {
            fprintf(stderr, "%s: cannot read --config %s: %s\n", g_cmd, config, strerror(errno ? errno : EIO));
            return 2;
        }
        if (cfg_parse_text(&c, config_text, config)) return free(config_text), 2;
    }
    char ckpt_path[4096] = "";
    wk_gguf *ck = NULL;
    if (resume) {
        struct stat st;
        if (stat(resume, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (wk_train_latest_checkpoint(resume, ckpt_path, sizeof ckpt_path)) {
                fprintf(stderr, "%s: --resume %s: no ckpt-*.gguf checkpoint there\n", g_cmd, resume);
                rc = 1;
                goto out;
            }
        } else {
            snprintf(ckpt_path, sizeof ckpt_path, "%s", resume);
        }
        if (wk_gguf_open(ckpt_path, &ck) != WK_GGUF_OK) {
            fprintf(stderr, "%s: --resume: %s\n", g_cmd, wk_gguf_last_error());
            rc = 1;
            goto out;
        }
        const char *s = NULL;
        uint64_t n = 0;
        if (wk_gguf_get_str(ck, "wick.train.config", &s, &n) != WK_GGUF_OK || !(ckpt_cfg_text = malloc(n + 1))) {
            fprintf(stderr, "%s: --resume %s is not a wick train checkpoint (no wick.train.config)\n", g_cmd, ckpt_path);
            rc = 1;
            goto out;
        }
        memcpy(ckpt_cfg_text, s, n);
        ckpt_cfg_text[n] = 0;
        if (cfg_parse_text(&c, ckpt_cfg_text, ckpt_path)) {
            rc = 1;
            goto out;
        }
    }
    /* the command line's options over both */
    for (size_t i = 0; i < N_OPTS; i++) {
        const opt_def *d = &k_opts[i];
        const size_t sz = d->k == K_STR ? sizeof(char *) : d->k == K_LONG ? sizeof(long) : d->k == K_FLOAT ? sizeof(float)
                          : d->k == K_U64 ? sizeof(unsigned long long) : sizeof(int);
        if (given[i]) memcpy((char *)&c + d->off, (const char *)&cli + d->off, sz);
    }
    static const char *const k_fixed[] = {"n-layer", "n-embd", "n-head", "n-head-kv", "n-ff", "ctx", "n-vocab", "batch",
                                          "data", "val-fraction", "rope-base", "rms-eps", "student", "student-shape"};
    /* options of one mode only */
    static const char *const k_mode[] = {"model", "lora-rank", "lora-alpha", "lora-targets", "teacher", "student",
                                         "student-shape", "temperature", "alpha", "teacher-top-k", "teacher-cache"};
    for (size_t i = 0; i < sizeof k_mode / sizeof *k_mode; i++)
        if (given[opt_index(k_mode[i])] && (i < 4 ? !g_ft : !g_dist)) {
            fprintf(stderr, "%s: --%s is an option of wick %s\n", g_cmd, k_mode[i], i < 4 ? "finetune" : "distill");
            rc = 2;
            goto out;
        }
    if (g_dist && given[opt_index("tokenizer")]) {
        fprintf(stderr, "%s: --tokenizer does not apply: the student uses the teacher's tokenizer\n", g_cmd);
        rc = 2;
        goto out;
    }
    if (g_dist && c.student && (c.student_shape || given[opt_index("n-layer")] || given[opt_index("n-embd")] ||
                                given[opt_index("n-head")] || given[opt_index("n-ff")] || given[opt_index("n-vocab")])) {
        fprintf(stderr, "%s: --student S.gguf fixes the student's shape; drop --student-shape and the model options\n",
                g_cmd);
        rc = 2;
        goto out;
    }
    if (g_dist && c.student_shape && !resume) { /* LxDxH[xF] */
        long v[4] = {0, 0, 0, 0};
        int nv = 0;
        const char *p = c.student_shape;
        char *end = NULL;
        while (nv < 4) {
            errno = 0;
            v[nv] = strtol(p, &end, 10);
            if (end == p || errno || v[nv] <= 0) break;
            nv++;
            if (*end != 'x') break;
            p = end + 1;
        }
        if (nv < 3 || *end || v[0] > 4096 || v[1] > (1 << 20) || v[2] > (1 << 16) || v[3] > (1 << 22)) {
            fprintf(stderr, "%s: --student-shape '%s' is not LAYERSxEMBDxHEADS[xFF], e.g. 4x256x8\n", g_cmd,
                    c.student_shape);
            rc = 2;
            goto out;
        }
        c.n_layer = v[0], c.n_embd = v[1], c.n_head = v[2];
        if (nv == 4) c.n_ff = v[3];
    }
    int fixed = 0;
    for (size_t i = 0; i < sizeof k_fixed / sizeof *k_fixed; i++) fixed |= given[opt_index(k_fixed[i])];
    static const char *const k_shape[] = {"n-layer", "n-embd", "n-head", "n-head-kv", "n-ff", "n-vocab", "tokenizer",
                                          "rope-base", "rms-eps"};
    for (size_t i = 0; g_ft && i < sizeof k_shape / sizeof *k_shape; i++)
        if (given[opt_index(k_shape[i])]) {
            fprintf(stderr, "%s: --%s does not apply: the base model (-m) fixes the shape and the tokenizer\n", g_cmd,
                    k_shape[i]);
            rc = 2;
            goto out;
        }
    if (resume && fixed) {
        fprintf(stderr, "%s: --resume keeps the checkpoint's shape, batch, context and data; drop those options\n", g_cmd);
        rc = 2;
        goto out;
    }
    finish_cfg(&c);
    if ((rc = validate(&c))) goto out;
    if (!resume && !c.tokenizer && !g_ft && !g_dist) {
        fprintf(stderr, "%s: --tokenizer is required\n", g_cmd);
        rc = 2;
        goto out;
    }
    R.c = c;
    rc = 1;

    /* the run directory */
    if (g_ft) {
        const size_t ol = strlen(R.c.out);
        const int strip = ol > 5 && !strcmp(R.c.out + ol - 5, ".gguf");
        snprintf(R.dir, sizeof R.dir, "%.*s.run", (int)(strip ? ol - 5 : ol), R.c.out);
    } else {
        snprintf(R.dir, sizeof R.dir, "%s", R.c.out);
    }
    /* tokenizer: the vocab file (finetune: the base model's), or on resume the checkpoint's
     * own keys; the checkpoint's training state is read from ck */
    const char *tok_src = g_ft ? c.model : g_dist ? c.teacher : c.tokenizer;
    if (resume && !g_ft) {
        R.tok_gguf = ck, ck = NULL;
    } else if (wk_gguf_open(tok_src, &R.tok_gguf) != WK_GGUF_OK) {
        fprintf(stderr, "%s: %s: %s\n", g_cmd, g_ft ? "-m" : g_dist ? "--teacher" : "--tokenizer", wk_gguf_last_error());
        goto out;
    }
    const wk_gguf *state_g = ck ? ck : R.tok_gguf;
    if (wk_vocab_load_gguf(R.tok_gguf, &R.vocab) != WK_OK) {
        fprintf(stderr, "%s: %s: %s\n", g_cmd, resume && !g_ft ? ckpt_path : tok_src, wk_last_error());
        goto out;
    }
    const int32_t nv_tok = wk_vocab_n_tokens(R.vocab);
    if (R.c.n_vocab <= 0) R.c.n_vocab = nv_tok;
    if (R.c.n_vocab < nv_tok) {
        fprintf(stderr, "%s: --n-vocab %ld is below the tokenizer's %d tokens\n", g_cmd, R.c.n_vocab, nv_tok);
        rc = 2;
        goto out;
    }
    if ((rc = load_data(&R.c, R.vocab, R.tok_gguf, &R.train, &R.val))) goto out;
    rc = 1;
    const int64_t B = R.c.batch, T = R.c.ctx, need = B * T + 1;
    if (R.train.n < need || R.val.n < need) {
        fprintf(stderr, "%s: %s has %lld training and %lld validation tokens; one batch needs %lld of each "
                        "(lower --batch or --ctx, or use more text)\n", g_cmd,
                R.c.data, (long long)R.train.n, (long long)R.val.n, (long long)need);
        rc = 2;
        goto out;
    }
    for (int64_t i = 0; i < R.train.n; i++)
        if (R.train.ids[i] < 0 || R.train.ids[i] >= R.c.n_vocab) {
            fprintf(stderr, "%s: token id %d in the data is outside the vocabulary (%ld)\n", g_cmd, R.train.ids[i], R.c.n_vocab);
            goto out;
        }
    for (int64_t i = 0; i < R.val.n; i++)
        if (R.val.ids[i] < 0 || R.val.ids[i] >= R.c.n_vocab) {
            fprintf(stderr, "%s: token id %d in the validation data is outside the vocabulary (%ld)\n", g_cmd, R.val.ids[i],
                    R.c.n_vocab);
            goto out;
        }

    /* distill: the teacher, whose vocabulary the student shares */
    if (g_dist) {
        if (wk_teacher_open(g_cmd, R.c.teacher, B, T, (int)R.c.threads, (int)R.c.teacher_top_k, R.c.teacher_cache,
                            &R.teacher))
            goto out;
        if (wk_teacher_same_vocab(g_cmd, wk_teacher_vocab(R.teacher), R.vocab, resume ? ckpt_path : "the tokenizer"))
            goto out;
        if (!given[opt_index("n-vocab")] && !resume) R.c.n_vocab = wk_teacher_n_vocab(R.teacher);
        if (R.c.student && !resume) {
            wk_gguf *sg = NULL;
            wk_vocab *sv = NULL;
            int bad = wk_gguf_open(R.c.student, &sg) != WK_GGUF_OK;
            if (bad) fprintf(stderr, "%s: --student: %s\n", g_cmd, wk_gguf_last_error());
            else if ((bad = wk_vocab_load_gguf(sg, &sv) != WK_OK))
                fprintf(stderr, "%s: --student %s has no usable tokenizer (%s); the student must share the teacher's\n",
                        g_cmd, R.c.student, wk_last_error());
            else bad = wk_teacher_same_vocab(g_cmd, wk_teacher_vocab(R.teacher), sv, R.c.student);
            wk_vocab_free(sv);
            wk_gguf_free(sg);
            if (bad) goto out;
        }
    }

    /* model and optimizer */
    wk_llama_train_opts topts = {.bf16 = R.c.bf16 != 0, .checkpoint = R.c.checkpoint != 0, .distill = g_dist != 0};
    if (g_ft) { /* LoRA targets: comma-separated q,k,v,o,gate,up,down */
        static const struct { const char *n; int bit; } k_t[] = {{"q", WK_LORA_Q}, {"k", WK_LORA_K}, {"v", WK_LORA_V},
                                                               {"o", WK_LORA_O}, {"gate", WK_LORA_GATE},
                                                               {"up", WK_LORA_UP}, {"down", WK_LORA_DOWN}};
        topts.lora_rank = (int32_t)R.c.lora_rank, topts.lora_alpha = R.c.lora_alpha;
        for (const char *t = R.c.lora_targets; t && *t;) {
            const size_t n = strcspn(t, ",");
            size_t k = 0;
            for (; k < sizeof k_t / sizeof *k_t; k++)
                if (strlen(k_t[k].n) == n && !strncmp(t, k_t[k].n, n)) break;
            if (k == sizeof k_t / sizeof *k_t) {
                fprintf(stderr, "%s: --lora-targets: '%.*s' is not one of q, k, v, o, gate, up, down\n", g_cmd, (int)n, t);
                rc = 2;
                goto out;
            }
            topts.lora_targets |= 1u << k_t[k].bit;
            t += n + (t[n] == ',');
        }
        if (!topts.lora_targets) {
            fprintf(stderr, "%s: --lora-targets names no matrix\n", g_cmd);
            rc = 2;
            goto out;
        }
        if (wk_llama_train_create_lora(R.c.model, (int32_t)B, (int32_t)T, &topts, &R.m) != WK_OK) {
            fprintf(stderr, "%s: %s\n", g_cmd, wk_last_error());
            goto out;
        }
        wk_llama_train_init_random(R.m, R.c.seed);
        for (int i = 0; resume && i < wk_llama_train_n_params(R.m); i++) { /* the adapter so far */
            wk_tensor *p = wk_llama_train_param(R.m, i);
            const int64_t it = wk_gguf_find_tensor(state_g, wk_tensor_name(p));
            const wk_gguf_tensor *t = it >= 0 ? wk_gguf_tensor_at(state_g, (uint64_t)it) : NULL;
            if (!t || t->type != WK_TYPE_F32 || t->nbytes != wk_tensor_nbytes(p)) {
                fprintf(stderr, "%s: %s: missing or mismatched tensor %s\n", g_cmd, ckpt_path, wk_tensor_name(p));
                goto out;
            }
            memcpy(wk_tensor_data(p), t->data, wk_tensor_nbytes(p));
        }
    } else if (resume || (g_dist && R.c.student)) {
        if (wk_llama_train_create_gguf_ex(resume ? ckpt_path : R.c.student, (int32_t)B, (int32_t)T, &topts, &R.m) !=
            WK_OK) {
            fprintf(stderr, "%s: %s\n", g_cmd, wk_last_error());
            goto out;
        }
    } else {
        wk_llama_hparams hp = {(int32_t)R.c.n_vocab, (int32_t)R.c.n_embd, (int32_t)R.c.n_layer, (int32_t)R.c.n_head,
                               (int32_t)R.c.n_head_kv, (int32_t)R.c.n_ff, R.c.rms_eps, R.c.rope_base};
        if (wk_llama_train_create_ex(&hp, (int32_t)B, (int32_t)T, &topts, &R.m) != WK_OK) {
            fprintf(stderr, "%s: %s\n", g_cmd, wk_last_error());
            rc = 2;
            goto out;
        }
        wk_llama_train_init_random(R.m, R.c.seed);
    }
    if (!g_ft) { /* the shape as built (a --student file or a checkpoint fixes it) */
        const wk_llama_hparams *hp = wk_llama_train_hparams(R.m);
        R.c.n_layer = hp->n_layer, R.c.n_embd = hp->n_embd, R.c.n_head = hp->n_head, R.c.n_head_kv = hp->n_head_kv;
        R.c.n_ff = hp->n_ff, R.c.n_vocab = hp->n_vocab, R.c.rope_base = hp->rope_base, R.c.rms_eps = hp->rms_eps;
    }
    if (g_dist && R.c.n_vocab != wk_teacher_n_vocab(R.teacher)) {
        fprintf(stderr, "%s: the student's vocabulary (%ld) differs from the teacher's output (%d)\n", g_cmd, R.c.n_vocab,
                wk_teacher_n_vocab(R.teacher));
        rc = 2;
        goto out;
    }
    const int np = wk_llama_train_n_params(R.m);
    wk_tensor **params = malloc((size_t)np * sizeof *params);
    if (!params) goto out;
    int64_t n_weights = 0;
    for (int i = 0; i < np; i++) params[i] = wk_llama_train_param(R.m, i), n_weights += wk_tensor_nelements(params[i]);
    wk_optim_params op = wk_optim_default_params(R.c.sgd ? WK_OPTIM_SGD : WK_OPTIM_ADAMW);
    op.weight_decay = R.c.weight_decay, op.clip_norm = R.c.clip, op.n_threads = (int)R.c.threads;
    if (R.c.sgd) op.momentum = R.c.momentum;
    else op.beta1 = R.c.beta1, op.beta2 = R.c.beta2;
    wk_status st = wk_optim_create(&op, params, np, &R.o);
    free(params);
    if (st != WK_OK) {
        fprintf(stderr, "%s: %s\n", g_cmd, wk_last_error());
        goto out;
    }
    R.rng = R.c.seed ^ 0x5DEECE66Dull;
    if (resume) { /* optimizer state, position, RNG */
        uint64_t v[5];
        const char *keys[5] = {"wick.train.step", "wick.train.optim_steps", "wick.train.data_pos", "wick.train.epoch",
                               "wick.train.rng"};
        for (int k = 0; k < 5; k++)
            if (wk_gguf_get_u64(state_g, keys[k], &v[k]) != WK_GGUF_OK) {
                fprintf(stderr, "%s: %s: missing %s\n", g_cmd, ckpt_path, keys[k]);
                goto out;
            }
        R.step = (int64_t)v[0], R.pos = (int64_t)v[2], R.epoch = (int64_t)v[3], R.rng = v[4];
        if (R.pos < 0 || R.pos > R.train.n) {
            fprintf(stderr, "%s: %s: data position %lld is past the data (%lld tokens); is it the same data?\n", g_cmd,
                    ckpt_path, (long long)R.pos, (long long)R.train.n);
            goto out;
        }
        wk_optim_set_steps(R.o, (int64_t)v[1]);
        char nm[256];
        for (int i = 0; i < np; i++) {
            const wk_tensor *p = wk_llama_train_param(R.m, i);
            for (int which = 0; which < 2; which++) {
                float *s = wk_optim_state(R.o, i, which);
                if (!s) continue;
                snprintf(nm, sizeof nm, "optim.%c.%s", which ? 'v' : 'm', wk_tensor_name(p));
                const int64_t it = wk_gguf_find_tensor(state_g, nm);
                const wk_gguf_tensor *t = it >= 0 ? wk_gguf_tensor_at(state_g, (uint64_t)it) : NULL;
                if (!t || t->type != WK_TYPE_F32 || t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3] != wk_tensor_nelements(p)) {
                    fprintf(stderr, "%s: %s: missing or mismatched optimizer tensor %s\n", g_cmd, ckpt_path, nm);
                    goto out;
                }
                memcpy(s, t->data, (size_t)wk_tensor_nelements(p) * sizeof(float));
            }
        }
        if (R.step >= R.c.steps) {
            fprintf(stderr, "%s: %s is at step %lld; nothing to do for --steps %ld\n", g_cmd, ckpt_path, (long long)R.step,
                    R.c.steps);
            rc = 0;
            goto out;
        }
    }
    if (!(R.cfg_str = cfg_text(&R.c))) goto out;
    if (wk_backend_cpu_create((int)R.c.threads, &R.be) != WK_OK) {
        fprintf(stderr, "%s: %s\n", g_cmd, wk_last_error());
        goto out;
    }
    in = malloc((size_t)(B * T) * sizeof *in);
    lab = malloc((size_t)(B * T) * sizeof *lab);
    grads = calloc((size_t)np, sizeof *grads);
    if (!in || !lab || !grads) goto out;
    if (R.c.grad_accum > 1) {
        if (!(acc = calloc((size_t)np, sizeof *acc))) goto out;
        for (int i = 0; i < np; i++)
            if (!(acc[i] = malloc((size_t)wk_tensor_nelements(wk_llama_train_param(R.m, i)) * sizeof(float)))) goto out;
    }

    /* the run directory, once everything else is known to work */
    if (wk_train_mkdir_p(R.dir)) {
        fprintf(stderr, "%s: --out %s: cannot create or write the directory: %s\n", g_cmd, R.dir, strerror(errno));
        goto out;
    }
    /* log.csv (trimmed to the checkpoint on resume), samples.txt */
    char path[4200];
    snprintf(path, sizeof path, "%s/log.csv", R.dir);
    if (resume && wk_train_trim_csv(R.dir, R.step)) {
        fprintf(stderr, "%s: cannot rewrite %s\n", g_cmd, path);
        goto out;
    }
    struct stat cst;
    const int fresh = !resume || stat(path, &cst) != 0;
    if (!(csv = fopen(path, fresh ? "w" : "a"))) {
        fprintf(stderr, "%s: cannot write %s: %s\n", g_cmd, path, strerror(errno));
        goto out;
    }
    if (fresh)
        fprintf(csv, "step,tokens,loss,val_loss,val_ppl,lr,grad_norm,tok_per_s,elapsed_s%s\n",
                g_dist ? ",kl,ce,val_kl" : "");
    snprintf(path, sizeof path, "%s/samples.txt", R.dir);
    samples = fopen(path, resume ? "a" : "w");

    const wk_lr_schedule ls = {R.c.cosine ? WK_LR_COSINE : WK_LR_CONSTANT, R.c.lr, R.c.lr_min, R.c.warmup, R.c.steps};
    const int64_t tok_step = B * T * R.c.grad_accum;
    const wk_llama_hparams *mh = wk_llama_train_hparams(R.m);
    if (g_ft)
        fprintf(stderr,
                "%s: LoRA rank %ld, alpha %g on %s of %s (llama, %d layers, n_embd %d, vocab %d, frozen); %.2f M "
                "adapter params; ctx %lld; %lld train / %lld val tokens; %lld tokens per step; %s\n",
                g_cmd, R.c.lora_rank, (double)R.c.lora_alpha, R.c.lora_targets, R.c.model, mh->n_layer, mh->n_embd,
                mh->n_vocab, n_weights / 1e6, (long long)T, (long long)R.train.n, (long long)R.val.n, (long long)tok_step,
                resume ? "resuming" : "from the base");
    else
        fprintf(stderr,
                "%s: llama %ld layers, n_embd %ld, heads %ld/%ld, n_ff %ld, vocab %ld, ctx %lld: %.2f M params (%s); "
                "%lld train / %lld val tokens; %lld tokens per step; %s\n",
                g_cmd, R.c.n_layer, R.c.n_embd, R.c.n_head, R.c.n_head_kv, R.c.n_ff, R.c.n_vocab, (long long)T,
                n_weights / 1e6,
                R.c.bf16 ? (R.c.checkpoint ? "bf16 matmuls, fp32 masters, checkpointed" : "bf16 matmuls, fp32 masters")
                          : (R.c.checkpoint ? "fp32, checkpointed" : "fp32"),
                (long long)R.train.n, (long long)R.val.n, (long long)tok_step, resume ? "resuming" : "from scratch");
    if (g_dist) {
        fprintf(stderr, "%s: teacher %s (vocab %d, %s%s); temperature %g, alpha %g: loss = %g KL + %g CE\n", g_cmd,
                R.c.teacher, wk_teacher_n_vocab(R.teacher), R.c.teacher_top_k > 0 ? "top-k targets" : "full distributions",
                R.c.teacher_cache ? ", cached" : "", (double)R.c.temperature, (double)R.c.alpha,
                (double)(R.c.alpha * R.c.temperature * R.c.temperature), (double)(1 - R.c.alpha));
        if (set_train_distill(&R)) goto out;
    }
    if (resume) fprintf(stderr, "%s: resumed %s at step %lld\n", g_cmd, ckpt_path, (long long)R.step);
    const int tty = isatty(2);
    const double t_start = wk_tool_now();
    /* tokens/s counts optimizer steps only (not evaluation, samples or checkpoints), and
     * from the session's second step on: the first also pays for first-touch allocation */
    double t_train = 0, t_first = 0, t_graph = 0, t_optim = 0;
    int64_t tok_timed = 0;
    const int64_t step0 = R.step;
    while (R.step < R.c.steps) {
        const double t0 = wk_tool_now();
        double loss = 0, gn = 0, kl = 0, ce = 0;
        for (long a = 0; a < R.c.grad_accum; a++) {
            next_batch(&R.train, &R.pos, &R.epoch, in, lab, B, T);
            float l;
            if (g_dist && R.c.alpha > 0 &&
                wk_teacher_targets(R.teacher, in, lab, (R.pos - B * T) / (B * T), R.c.temperature,
                                   wk_llama_train_soft_targets(R.m)))
                goto out;
            if (wk_llama_train_compute(R.m, R.be, in, lab, &l) != WK_OK) {
                fprintf(stderr, "\n" "%s: step %lld: %s\n", g_cmd, (long long)R.step, wk_last_error());
                goto out;
            }
            loss += l;
            if (g_dist) {
                float k, e;
                wk_llama_train_distill_parts(R.m, &k, &e);
                kl += k, ce += e;
            }
            if (R.c.grad_accum > 1) { /* mean gradient over the micro-batches, in the last one's tensors */
                const int last = a + 1 == R.c.grad_accum;
                for (int i = 0; i < np; i++) {
                    float *gd = wk_llama_train_grad(R.m, i);
                    if (!gd) continue;
                    const int64_t ne = wk_tensor_nelements(wk_llama_train_param(R.m, i));
                    for (int64_t e = 0; e < ne; e++) {
                        if (a == 0) acc[i][e] = gd[e];
                        else if (!last) acc[i][e] += gd[e];
                        else gd[e] = (acc[i][e] + gd[e]) / (float)R.c.grad_accum;
                    }
                }
            }
        }
        loss /= (double)R.c.grad_accum, kl /= (double)R.c.grad_accum, ce /= (double)R.c.grad_accum;
        if (!isfinite(loss)) {
            fprintf(stderr, "\n" "%s: step %lld: the loss is %g; lower --lr (the last checkpoint is intact)\n", g_cmd,
                    (long long)R.step, loss);
            goto out;
        }
        const float lr = wk_lr_at(&ls, R.step);
        const double t_opt = wk_tool_now();
        if (R.step > step0) t_graph += t_opt - t0;
        for (int i = 0; i < np; i++) grads[i] = wk_llama_train_grad(R.m, i);
        if (wk_optim_step_grads(R.o, (const float *const *)grads, lr, &gn) != WK_OK) {
            fprintf(stderr, "\n" "%s: %s\n", g_cmd, wk_last_error());
            goto out;
        }
        R.step++;
        const double dt = wk_tool_now() - t0;
        if (R.step - 1 > step0) t_optim += wk_tool_now() - t_opt;
        if (R.step - 1 == step0) t_first = dt;
        else t_train += dt, tok_timed += tok_step;
        const double tps = tok_timed ? (double)tok_timed / t_train : (double)tok_step / dt;

        double vl = NAN, vkl = NAN;
        const int do_eval = R.step % R.c.eval_interval == 0 || R.step == R.c.steps;
        if (do_eval && eval_val(&R, in, lab, &vl, &vkl)) goto out;
        fprintf(csv, "%lld,%lld,%.6f,", (long long)R.step, (long long)(R.step * tok_step), loss);
        if (do_eval) fprintf(csv, "%.6f,%.4f,", vl, exp(vl));
        else fprintf(csv, ",,");
        fprintf(csv, "%.6g,%.6g,%.1f,%.2f", lr, gn, tps, wk_tool_now() - t_start);
        if (g_dist && do_eval) fprintf(csv, ",%.6f,%.6f,%.6f", kl, ce, vkl);
        else if (g_dist) fprintf(csv, ",%.6f,%.6f,", kl, ce);
        fputc('\n', csv);
        fflush(csv);

        char eta[32];
        wk_train_fmt_time((double)(R.c.steps - R.step) * (double)tok_step / tps, eta, sizeof eta);
        if (tty) {
            const int w = 24, fill = (int)((double)R.step / (double)R.c.steps * w);
            char bar[32];
            for (int k = 0; k < w; k++) bar[k] = k < fill ? '=' : k == fill ? '>' : ' ';
            bar[w] = 0;
            fprintf(stderr, "\r  step %lld/%ld [%s] loss %.4f lr %.2e | %.0f tok/s | eta %s   ", (long long)R.step,
                    R.c.steps, bar, loss, lr, tps, eta);
        } else if (R.step % R.c.log_interval == 0 || R.step == R.c.steps || do_eval) {
            char parts[64] = "";
            if (g_dist) snprintf(parts, sizeof parts, " (kl %.4f ce %.4f)", kl, ce);
            fprintf(stderr, "  step %lld/%ld loss %.4f%s lr %.2e grad-norm %.3f | %.0f tok/s | eta %s\n",
                    (long long)R.step, R.c.steps, loss, parts, lr, gn, tps, eta);
        }
        if (do_eval) {
            if (g_dist)
                fprintf(stderr, "%s  step %lld: val CE %.4f, perplexity %.2f, KL(teacher || student) %.4f\n",
                        tty ? "\n" : "", (long long)R.step, vl, exp(vl), vkl);
            else
                fprintf(stderr, "%s  step %lld: val loss %.4f, perplexity %.2f\n", tty ? "\n" : "", (long long)R.step, vl,
                        exp(vl));
            wk_train_write_svg(R.dir, svg_title(), g_dist);
        }
        if (R.c.sample_interval > 0 && (R.step % R.c.sample_interval == 0 || R.step == R.c.steps)) {
            snprintf(path, sizeof path, "%s/%s", R.dir, g_ft ? "sample-adapter.gguf" : "model.gguf");
            if (write_gguf(&R, path, 0)) goto out;
            char *text = NULL;
            size_t tlen = 0;
            FILE *ms = open_memstream(&text, &tlen);
            const int bad = !ms || sample(&R, path, ms);
            if (ms) fclose(ms);
            if (!bad) {
                fprintf(stderr, "  sample at step %lld: %s", (long long)R.step, text);
                if (samples) fprintf(samples, "--- step %lld\n%s", (long long)R.step, text), fflush(samples);
            }
            free(text);
            if (bad) goto out;
        }
        if (R.step % R.c.ckpt_interval == 0 || R.step == R.c.steps) {
            snprintf(path, sizeof path, "%s/ckpt-%08lld.gguf", R.dir, (long long)R.step);
            if (write_gguf(&R, path, 1)) goto out;
            wk_train_prune_checkpoints(R.dir, R.c.keep);
        }
    }
    if (g_ft) snprintf(path, sizeof path, "%s", R.c.out);
    else snprintf(path, sizeof path, "%s/model.gguf", R.dir);
    if (write_gguf(&R, path, 0)) goto out;
    if (g_ft) { /* the sampling copy has served */
        char sp[4200];
        snprintf(sp, sizeof sp, "%s/sample-adapter.gguf", R.dir);
        remove(sp);
    }
    wk_train_write_svg(R.dir, svg_title(), g_dist);
    if (tok_timed)
        fprintf(stderr,
                "%s%s: done: %lld steps; %.1f tok/s in training steps after the first (%.2f s): %.0f%% forward + "
                "backward, %.0f%% optimizer; %.1f s in all -> %s\n",
                tty ? "\n" : "", g_cmd, (long long)(R.step - step0), (double)tok_timed / t_train, t_first,
                100 * t_graph / t_train, 100 * t_optim / t_train, wk_tool_now() - t_start, path);
    else
        fprintf(stderr, "%s%s: done: %lld step in %.2f s -> %s\n", tty ? "\n" : "", g_cmd, (long long)(R.step - step0),
                t_first, path);
    rc = 0;
out:
    if (csv && fclose(csv) && !rc) {
        fprintf(stderr, "%s: writing log.csv failed\n", g_cmd);
        rc = 1;
    }
    if (samples) fclose(samples);
    if (acc)
        for (int i = 0; i < wk_llama_train_n_params(R.m); i++) free(acc[i]);
    free(acc);
    free(grads);
    free(in), free(lab);
    free(R.train.ids), free(R.val.ids), free(R.train.train), free(R.val.train);
    free(R.cfg_str);
    wk_backend_free(R.be);
    wk_optim_free(R.o);
    wk_llama_train_free(R.m);
    wk_teacher_free(R.teacher);
    wk_vocab_free(R.vocab);
    wk_gguf_free(R.tok_gguf);
    wk_gguf_free(ck);
    free(config_text);
    free(ckpt_cfg_text);
    return rc;
}

int wk_cmd_distill(int argc, char **argv) {
    g_dist = 1;
    g_cmd = "wick distill";
    return wk_cmd_train(argc, argv);
}

int wk_cmd_finetune(int argc, char **argv) {
    g_ft = 1;
    g_cmd = "wick finetune";
    return wk_cmd_train(argc, argv);
}
