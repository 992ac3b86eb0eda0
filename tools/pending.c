/* TEMPORARY weak placeholders while tools are written; deleted before commit. */
#include <stdio.h>
#include "commands.h"
__attribute__((weak)) int wk_cmd_inspect(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pending\n"); return 1; }
__attribute__((weak)) int wk_cmd_bench(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pending\n"); return 1; }
