/* train_files.h — the training run directory's files (train_files.c). */
#ifndef WK_TOOLS_TRAIN_FILES_H
#define WK_TOOLS_TRAIN_FILES_H

#include <stddef.h>
#include <stdint.h>

/* A whole file, NUL-terminated (*len bytes before it; len may be NULL); NULL on error. */
char *wk_train_read_file(const char *path, size_t *len);
/* Removes all but the keep newest DIR/ckpt-*.gguf (keep <= 0: none removed). */
void wk_train_prune_checkpoints(const char *dir, long keep);
/* out <- DIR's newest ckpt-*.gguf; 1 when there is none. */
int wk_train_latest_checkpoint(const char *dir, char *out, size_t cap);
/* DIR/loss.svg from DIR/log.csv (atomically): train loss (distill: its CE column) and
 * validation loss, plus validation KL when distill. Best effort: failures leave no file. */
void wk_train_write_svg(const char *dir, const char *title, int distill);
/* DIR/log.csv keeps its header and the rows up to step (rewritten atomically); 0 ok. */
int wk_train_trim_csv(const char *dir, int64_t step);
/* mkdir -p, then: is it a writable directory? 0 yes. */
int wk_train_mkdir_p(const char *dir);
/* seconds as "1h02m" / "3m05s" / "7s" ("?" when unknown) into buf */
const char *wk_train_fmt_time(double s, char *buf, size_t cap);

#endif
