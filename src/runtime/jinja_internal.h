/* jinja_internal.h — a Jinja2 subset for chat templates: the parser (jinja_parse.c) turns a
 * template into a tree of nodes in one arena; the evaluator (jinja_eval.c) walks it with
 * values that live in a per-render arena. Values are immutable once built (as in the
 * ImmutableSandboxedEnvironment that transformers renders chat templates with), so they are
 * shared freely and freed all at once. Errors unwind with longjmp to the parse or render
 * entry point; everything allocated on the way is in an arena, so nothing leaks. */
#ifndef WK_RUNTIME_JINJA_INTERNAL_H
#define WK_RUNTIME_JINJA_INTERNAL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wick.h"

/* ---- arena ---------------------------------------------------------------------------- */

typedef struct ja_chunk ja_chunk;
typedef struct {
    ja_chunk *head;
    size_t total, limit;  /* bytes handed out so far, and the most this arena may hold */
} ja_arena;

void *ja_alloc(ja_arena *a, size_t n);  /* 16-byte aligned, zeroed; NULL past the limit */
void ja_free_all(ja_arena *a);

/* ---- values ---------------------------------------------------------------------------- */

typedef enum {
    JV_UNDEF, JV_NONE, JV_BOOL, JV_INT, JV_FLOAT, JV_STR, JV_LIST, JV_DICT,
    JV_FUNC,  /* a global callable: raise_exception, namespace, range, ... */
    JV_LOOP,  /* the `loop` variable of a for block */
} jv_type;

typedef struct jv jv;
typedef struct { size_t n; jv *v; } jlist;
typedef struct jdict jdict;
typedef struct jloop jloop;

struct jv {
    jv_type t;
    bool ns;  /* a dict made by namespace(): its attributes may be assigned */
    bool tup; /* a list that prints as a Python tuple: (a, b) */
    union {
        bool b;
        int64_t i;
        double f;
        struct { const char *p; size_t n; } s;
        jlist *l;
        jdict *d;
        int fn;
        jloop *loop;
    } u;
    const char *undef_name;  /* JV_UNDEF: what was looked up, for error messages */
};

struct jdict {
    size_t n, cap;
    jv *k, *v;  /* keys are strings (or other scalars); insertion order kept as in Python */
};

struct jloop {
    const jlist *items;
    size_t index0;
};

/* ---- syntax tree --------------------------------------------------------------------------- */

typedef enum {
    /* statements */
    N_BLOCK,     /* kids: statements in order */
    N_TEXT,      /* lit: the text */
    N_OUTPUT,    /* a: expression to print */
    N_IF,        /* a: condition, b: then block, c: else (block or N_IF) or NULL */
    N_FOR,       /* names: targets, a: iterable, b: body, c: else block, d: filter condition */
    N_SET,       /* names[0] (and name2 for ns.attr), a: value */
    N_SET_BLOCK, /* names[0], b: body whose output is the value */
    N_BREAK, N_CONTINUE,
    /* expressions */
    E_LIT,       /* lit */
    E_NAME,      /* name */
    E_ATTR,      /* a . name */
    E_ITEM,      /* a [ b ] */
    E_SLICE,     /* a [ b : c : d ] (each may be NULL) */
    E_CALL,      /* a ( kids ); kwargs are E_KWARG kids */
    E_KWARG,     /* name = a */
    E_FILTER,    /* a | name ( kids ) */
    E_TEST,      /* a is [not] name ( kids ); op = 1 when negated */
    E_UNARY,     /* op a: '-', '+', 'n' (not) */
    E_BINARY,    /* a op b: + - * / F(//) % P(**) ~ */
    E_COMPARE,   /* a op b: = (==) ! (!=) < > l (<=) g (>=) i (in) I (not in) */
    E_AND, E_OR,
    E_COND,      /* b if a else c (c may be NULL) */
    E_LIST,      /* kids */
    E_TUPLE,     /* kids (a tuple is a list here) */
    E_DICT,      /* kids: key, value, key, value ... */
} jn_kind;

typedef struct jnode jnode;
struct jnode {
    jn_kind kind;
    int op;
    int line;
    jnode *a, *b, *c, *d;
    jnode **kids;
    size_t n_kids;
    const char *name;   /* identifier, attribute, filter or test name (NUL-terminated) */
    const char *name2;  /* N_SET on a namespace attribute: the attribute */
    const char **names; /* N_FOR targets */
    size_t n_names;
    jv lit;
};

typedef struct {
    ja_arena arena;  /* every node and literal */
    jnode *root;
} jtmpl;

/* Parses src (len bytes) with transformers' settings: trim_blocks and lstrip_blocks on,
 * one trailing newline dropped, \r\n and \r read as \n. On error wk_last_error() says
 * where ("line 3: ...") and *out is NULL. */
wk_status jinja_parse(const char *src, size_t len, jtmpl **out);
void jinja_free(jtmpl *t);

/* ---- rendering ------------------------------------------------------------------------------ */

typedef struct jctx jctx;

/* Builders for the variables a template sees; call them from the setup callback. Strings
 * are copied into the render arena. */
jv jinja_str(jctx *c, const char *s, size_t n);
jv jinja_bool(bool b);
jv jinja_list(jctx *c, size_t n);  /* n items, all none; fill with jinja_list_set */
void jinja_list_set(jv list, size_t i, jv item);
jv jinja_dict(jctx *c);
void jinja_dict_set(jctx *c, jv dict, const char *key, jv value);
void jinja_define(jctx *c, const char *name, jv value);

typedef struct {
    size_t max_output;  /* bytes of rendered text */
    size_t max_memory;  /* bytes the render arena may hold */
    uint64_t max_steps; /* statements and loop iterations, against runaway loops */
} jinja_limits;

/* Renders t; *out is malloc'd, NUL-terminated, *out_len bytes (free() it). raise_exception
 * in the template, a type error, or a limit gives an error with the template's line. */
wk_status jinja_render(const jtmpl *t, void (*setup)(jctx *c, void *user), void *user,
                       const jinja_limits *limits, char **out, size_t *out_len);

#endif
