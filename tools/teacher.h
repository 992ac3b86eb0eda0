/* teacher.h — the teacher of `wick distill` (teacher.c): a model of any architecture and
 * weight type run by the inference runtime over a training batch, giving for every input
 * position the soft target softmax(logits / tau), either computed on the fly or read from a
 * top-k cache on disk (written on the first pass over a window). Messages start with cmd. */
#ifndef WK_TOOLS_TEACHER_H
#define WK_TOOLS_TEACHER_H

#include <stdint.h>

#include "src/runtime/tokenizer.h"
#include "wick.h"

typedef struct wk_teacher wk_teacher;

/* Loads the teacher for batches of B sequences of T tokens. top_k > 0: targets keep the
 * teacher's k most likely tokens (renormalized); with cache_path they are stored there per
 * training window and reused (a cache made for another teacher, shape or k is refused).
 * Returns 0, or 1 with a message. */
int wk_teacher_open(const char *cmd, const char *path, int64_t B, int64_t T, int threads, int top_k,
                    const char *cache_path, wk_teacher **out);
void wk_teacher_free(wk_teacher *t);  /* accepts NULL */
int32_t wk_teacher_n_vocab(const wk_teacher *t);
const wk_vocab *wk_teacher_vocab(const wk_teacher *t);

/* out[i * n_vocab ...] <- the teacher's distribution at temperature tau after input position
 * i of the B x T tokens `in` (each sequence from its own start), a row of zeros where
 * lab[i] < 0. window >= 0 names the training window (data position / (B*T)) for the
 * cache; -1 bypasses it (validation). Returns 0, or 1 with a message. */
int wk_teacher_targets(wk_teacher *t, const int32_t *in, const int32_t *lab, int64_t window, float tau, float *out);

/* 0 when the two vocabularies are the same token for token; else 1 with a message naming
 * the first difference (distillation compares distributions over one vocabulary). */
int wk_teacher_same_vocab(const char *cmd, const wk_vocab *teacher, const wk_vocab *student, const char *student_name);

#endif
