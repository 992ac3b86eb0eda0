/* main.c — the `wick` command: git-style subcommands dispatched from one table. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "wick.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command k_commands[] = {
    {"inspect", wk_cmd_inspect, "show a GGUF file's header, metadata and tensors"},
    {"bench", wk_cmd_bench, "benchmark a model (pp/tg tokens/s) or the matmul kernels"},
    {"quantize", wk_cmd_quantize, "convert a GGUF model to another type (llama.cpp mixes: Q4_K_M, Q8_0, ...)"},
    {"tokenize", wk_cmd_tokenize, "text -> token ids with a GGUF file's tokenizer"},
    {"tokenizer-train", wk_cmd_tokenizer_train, "learn a byte-level BPE vocabulary from text (vocab-only GGUF)"},
    {"data", wk_cmd_data, "text -> deduplicated train/val token shards for training"},
    {"train", wk_cmd_train, "train a llama model from scratch on text (checkpoints, resume, loss plot)"},
    {"finetune", wk_cmd_finetune, "LoRA fine-tuning on a frozen (quantized) base; writes an adapter GGUF"},
    {"convert", wk_cmd_convert, "Hugging Face safetensors directory -> GGUF (llama, qwen2/3, gemma3, phi3, bert)"},
    {"export", wk_cmd_export, "GGUF -> Hugging Face safetensors directory (config, tokenizer files)"},
    {"embed", wk_cmd_embed, "sentence embeddings from a BERT model (mean/CLS pooling, L2-normalized)"},
    {"distill", wk_cmd_distill, "knowledge distillation: a student learns a teacher's softened distributions"},
    {"lora", wk_cmd_lora, "LoRA adapters: merge an adapter into a base model (run/chat apply them with --lora)"},
    {"pull", wk_cmd_pull, "download a known model into the cache (~/.cache/wick)"},
    {"run", wk_cmd_run, "generate text from a prompt with a GGUF model"},
    {"chat", wk_cmd_chat, "chat with a model interactively (its chat template, streaming)"},
    {"perplexity", wk_cmd_perplexity, "perplexity of a model on a text file (llama.cpp's method)"},
};
#define N_COMMANDS (sizeof k_commands / sizeof k_commands[0])

/* One line per device of the registry: name, kind, memory, the driver's description. */
static int list_devices(void) {
    for (int i = 0; i < wk_device_count(); i++) {
        wk_device_props p;
        wk_device_get_props(wk_device_get(i), &p);
        printf("%-10s %-9s %8.1f GiB total %8.1f GiB free  %s\n", p.name, wk_device_kind_name(p.kind),
               (double)p.memory_total / (1u << 30), (double)p.memory_free / (1u << 30), p.description ? p.description : "");
    }
    return 0;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: wick <command> [options]\n"
            "       wick --help | --version | --list-devices\n\n"
            "wick is a CPU-first, portable LLM engine.\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-10s %s\n", k_commands[i].name, k_commands[i].summary);
    fprintf(f, "\n'wick <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("wick %s (cpu kernels: %s)\n", wk_version(), wk_cpu_isas_available());
        return 0;
    }
    if (!strcmp(cmd, "--list-devices")) return list_devices();
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(cmd, k_commands[i].name)) return k_commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "wick: '%s' is not a wick command; see 'wick --help'\n", cmd);
    return 2;
}
