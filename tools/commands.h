/* commands.h — one entry point per `wick` subcommand (tools/<command>.c). Each takes
 * argv with argv[0] = the command name and returns the process exit code:
 * 0 success, 1 failure on valid usage (bad file, runtime error), 2 bad usage. */
#ifndef WK_TOOLS_COMMANDS_H
#define WK_TOOLS_COMMANDS_H
int wk_cmd_inspect(int argc, char **argv);
int wk_cmd_bench(int argc, char **argv);
#endif
