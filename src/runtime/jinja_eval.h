/* jinja_eval.h — what the two halves of the template evaluator share: jinja_value.c (the
 * value model: errors and arena memory, dictionaries, truth and equality, code points,
 * str()/repr()/json printing) and jinja_eval.c (scopes, expressions, filters, statements).
 * Internal to src/runtime. */
#ifndef WK_RUNTIME_JINJA_EVAL_H
#define WK_RUNTIME_JINJA_EVAL_H

#include <setjmp.h>

#include "../core/error.h"
#include "jinja_internal.h"

typedef struct scope scope;
struct scope {
    scope *parent;
    size_t n, cap;
    const char **names;
    jv *vals;
};

typedef struct {
    char *p;
    size_t n, cap, max;
} jbuf;

struct jctx {
    ja_arena arena;
    jmp_buf jb;
    scope *top;
    jbuf out;
    uint64_t steps, max_steps;
    int line;
    wk_status status;  /* what the unwinding error was */
};

/* the built-in functions a template can call (their names print as "<function NAME>") */
enum { F_RAISE, F_NAMESPACE, F_RANGE, F_DICT, F_STRFTIME, F_COUNT };
extern const char *const jx_func_names[F_COUNT];

static const jv V_NONE = {.t = JV_NONE};

/* ---- errors and memory (an error unwinds to the render call through c->jb) ---- */
_Noreturn WK_PRINTF(2, 3) void jx_fail(jctx *c, const char *fmt, ...);
void *jx_alloc(jctx *c, size_t n);           /* zeroed, from the render arena */
void jx_step(jctx *c);                       /* counts one step against the budget */
void jx_jb_put(jctx *c, jbuf *b, const char *s, size_t n);

/* ---- values ---- */
static inline jv mk_bool(bool b) { jv v = {.t = JV_BOOL}; v.u.b = b; return v; }
static inline jv mk_int(int64_t i) { jv v = {.t = JV_INT}; v.u.i = i; return v; }
static inline jv mk_float(double f) { jv v = {.t = JV_FLOAT}; v.u.f = f; return v; }
static inline jv mk_undef(const char *name) { jv v = {.t = JV_UNDEF}; v.undef_name = name; return v; }
static inline jv mk_str_ref(const char *p, size_t n) { jv v = {.t = JV_STR}; v.u.s.p = p, v.u.s.n = n; return v; }
static inline bool is_num(const jv *v) { return v->t == JV_BOOL || v->t == JV_INT || v->t == JV_FLOAT; }
static inline double num_f(const jv *v) { return v->t == JV_FLOAT ? v->u.f : v->t == JV_INT ? (double)v->u.i : v->u.b; }
static inline int64_t num_i(const jv *v) { return v->t == JV_INT ? v->u.i : v->u.b; }
void jx_dict_put(jctx *c, jdict *d, jv key, jv val);
const jv *jx_dict_get(const jdict *d, const char *key, size_t n);
const char *jx_type_name(const jv *v);
_Noreturn void jx_fail_undef(jctx *c, const jv *v);
bool jx_truthy(const jv *v);
bool jx_eq(const jv *a, const jv *b);

/* ---- code points (Python indexes strings by code point) ---- */
size_t *jx_cp_offsets(jctx *c, const char *s, size_t n, size_t *count);
size_t jx_cp_count(const char *s, size_t n);

/* ---- printing: str(), and json.dumps(ensure_ascii=False) for tojson ---- */
void jx_put_str(jctx *c, jbuf *b, const jv *v);
jv jx_to_str(jctx *c, const jv *v);
void jx_put_json(jctx *c, jbuf *b, const jv *v, int indent, bool sort, int level);

#endif
