/* commands.h — one entry point per `wick` subcommand (tools/<command>.c). Each takes
 * argv with argv[0] = the command name and returns the process exit code:
 * 0 success, 1 failure on valid usage (bad file, runtime error), 2 bad usage. */
#ifndef WK_TOOLS_COMMANDS_H
#define WK_TOOLS_COMMANDS_H
int wk_cmd_inspect(int argc, char **argv);
int wk_cmd_bench(int argc, char **argv);
int wk_cmd_quantize(int argc, char **argv);
int wk_cmd_tokenize(int argc, char **argv);
int wk_cmd_tokenizer_train(int argc, char **argv);
int wk_cmd_data(int argc, char **argv);
int wk_cmd_train(int argc, char **argv);
int wk_cmd_lora(int argc, char **argv);
int wk_cmd_finetune(int argc, char **argv);
int wk_cmd_distill(int argc, char **argv);
int wk_cmd_convert(int argc, char **argv);
int wk_cmd_export(int argc, char **argv);
int wk_cmd_embed(int argc, char **argv);
int wk_cmd_pull(int argc, char **argv);
int wk_cmd_run(int argc, char **argv);
int wk_cmd_chat(int argc, char **argv);
int wk_cmd_perplexity(int argc, char **argv);
#endif
