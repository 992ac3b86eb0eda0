/* jinja_value.c — the evaluator's value model: errors and arena memory, values and
 * dictionaries, truthiness and equality, code-point indexing, and printing values as
 * Python's str()/repr() and json.dumps do. Split from jinja_eval.c along that seam. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "jinja_eval.h"

const char *const jx_func_names[F_COUNT] = {"raise_exception", "namespace", "range", "dict", "strftime_now"};

/* ---- errors and memory ------------------------------------------------------------------ */

_Noreturn WK_PRINTF(2, 3) void jx_fail(jctx *c, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->status = wk_err(WK_ERR_INVALID_ARG, "chat template: line %d: %s", c->line, msg);
    longjmp(c->jb, 1);
}

void *jx_alloc(jctx *c, size_t n) {
    void *p = ja_alloc(&c->arena, n);
    if (!p) {
        c->status = wk_err(WK_ERR_NOMEM, "chat template: render needs more than %zu bytes of memory", c->arena.limit);
        longjmp(c->jb, 1);
    }
    return p;
}

void jx_step(jctx *c) {
    if (++c->steps > c->max_steps) jx_fail(c, "more than %llu steps (runaway loop?)", (unsigned long long)c->max_steps);
}

void jx_jb_put(jctx *c, jbuf *b, const char *s, size_t n) {
    if (n > b->max || b->n > b->max - n) jx_fail(c, "output longer than %zu bytes", b->max);
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = jx_alloc(c, cap);
        if (b->n) memcpy(p, b->p, b->n);
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void jb_puts(jctx *c, jbuf *b, const char *s) { jx_jb_put(c, b, s, strlen(s)); }

/* ---- values ----------------------------------------------------------------------------------- */



jv jinja_str(jctx *c, const char *s, size_t n) {
    char *p = jx_alloc(c, n + 1);
    if (n) memcpy(p, s, n);
    return mk_str_ref(p, n);
}
jv jinja_bool(bool b) { return mk_bool(b); }

jv jinja_list(jctx *c, size_t n) {
    jv v = {.t = JV_LIST};
    v.u.l = jx_alloc(c, sizeof *v.u.l);
    v.u.l->n = n;
    v.u.l->v = n ? jx_alloc(c, n * sizeof(jv)) : NULL;
    for (size_t i = 0; i < n; i++) v.u.l->v[i] = V_NONE;
    return v;
}
void jinja_list_set(jv list, size_t i, jv item) {
    if (list.t == JV_LIST && i < list.u.l->n) list.u.l->v[i] = item;
}

jv jinja_dict(jctx *c) {
    jv v = {.t = JV_DICT};
    v.u.d = jx_alloc(c, sizeof *v.u.d);
    return v;
}


void jx_dict_put(jctx *c, jdict *d, jv key, jv val) {
    for (size_t i = 0; i < d->n; i++)
        if (jx_eq(&d->k[i], &key)) {
            d->v[i] = val;
            return;
        }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 4;
        jv *k = jx_alloc(c, cap * sizeof *k), *v = jx_alloc(c, cap * sizeof *v);
        if (d->n) memcpy(k, d->k, d->n * sizeof *k), memcpy(v, d->v, d->n * sizeof *v);
        d->k = k, d->v = v, d->cap = cap;
    }
    d->k[d->n] = key, d->v[d->n] = val;
    d->n++;
}

void jinja_dict_set(jctx *c, jv dict, const char *key, jv value) {
    if (dict.t == JV_DICT) jx_dict_put(c, dict.u.d, jinja_str(c, key, strlen(key)), value);
}

const jv *jx_dict_get(const jdict *d, const char *key, size_t n) {
    for (size_t i = 0; i < d->n; i++)
        if (d->k[i].t == JV_STR && d->k[i].u.s.n == n && !memcmp(d->k[i].u.s.p, key, n)) return &d->v[i];
    return NULL;
}

const char *jx_type_name(const jv *v) {
    switch (v->t) {
    case JV_UNDEF: return "Undefined";
    case JV_NONE: return "NoneType";
    case JV_BOOL: return "bool";
    case JV_INT: return "int";
    case JV_FLOAT: return "float";
    case JV_STR: return "str";
    case JV_LIST: return "list";
    case JV_DICT: return v->ns ? "Namespace" : "dict";
    case JV_FUNC: return "function";
    case JV_LOOP: return "LoopContext";
    }
    return "?";
}

_Noreturn void jx_fail_undef(jctx *c, const jv *v) {
    if (v->undef_name) jx_fail(c, "'%s' is undefined", v->undef_name);
    jx_fail(c, "a value is undefined");
}

bool jx_truthy(const jv *v) {
    switch (v->t) {
    case JV_UNDEF: case JV_NONE: return false;
    case JV_BOOL: return v->u.b;
    case JV_INT: return v->u.i != 0;
    case JV_FLOAT: return v->u.f != 0.0;
    case JV_STR: return v->u.s.n != 0;
    case JV_LIST: return v->u.l->n != 0;
    case JV_DICT: return v->u.d->n != 0;
    default: return true;
    }
}


bool jx_eq(const jv *a, const jv *b) {
    if (is_num(a) && is_num(b)) {
        if (a->t == JV_FLOAT || b->t == JV_FLOAT) return num_f(a) == num_f(b);
        return num_i(a) == num_i(b);
    }
    if (a->t != b->t) return false;
    switch (a->t) {
    case JV_UNDEF: case JV_NONE: return true;
    case JV_STR: return a->u.s.n == b->u.s.n && !memcmp(a->u.s.p, b->u.s.p, a->u.s.n);
    case JV_LIST:
        if (a->u.l->n != b->u.l->n) return false;
        for (size_t i = 0; i < a->u.l->n; i++)
            if (!jx_eq(&a->u.l->v[i], &b->u.l->v[i])) return false;
        return true;
    case JV_DICT:
        if (a->u.d == b->u.d) return true;
        if (a->ns || b->ns || a->u.d->n != b->u.d->n) return false;
        for (size_t i = 0; i < a->u.d->n; i++) {
            const jv *k = &a->u.d->k[i];
            size_t j = 0;
            while (j < b->u.d->n && !jx_eq(k, &b->u.d->k[j])) j++;
            if (j == b->u.d->n || !jx_eq(&a->u.d->v[i], &b->u.d->v[j])) return false;
        }
        return true;
    case JV_FUNC: return a->u.fn == b->u.fn;
    case JV_LOOP: return a->u.loop == b->u.loop;
    default: return false;
    }
}

/* ---- UTF-8 code points (Python indexes strings by code point) ----------------------------------- */

static size_t cp_len(unsigned char b) { return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4; }

/* Byte offsets of each code point, plus the end; *count gets the number of code points. */
size_t *jx_cp_offsets(jctx *c, const char *s, size_t n, size_t *count) {
    size_t k = 0;
    for (size_t i = 0; i < n; i += cp_len((unsigned char)s[i])) k++;
    size_t *off = jx_alloc(c, (k + 1) * sizeof *off);
    k = 0;
    for (size_t i = 0; i < n; i += cp_len((unsigned char)s[i])) off[k++] = i;
    off[k] = n;
    *count = k;
    return off;
}

size_t jx_cp_count(const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i += cp_len((unsigned char)s[i])) k++;
    return k;
}

/* ---- str(), repr(), json ------------------------------------------------------------------------ */

/* Python's float repr: the shortest digits that round-trip, fixed notation for exponents in
 * [-4, 16), else d.ddde+XX. */
static void fmt_float(char *o, size_t cap, double f, bool json) {
    if (isnan(f)) { snprintf(o, cap, json ? "NaN" : "nan"); return; }
    if (isinf(f)) { snprintf(o, cap, json ? (f > 0 ? "Infinity" : "-Infinity") : (f > 0 ? "inf" : "-inf")); return; }
    char e[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, f);
        if (strtod(e, NULL) == f) break;
    }
    char digits[24];
    size_t nd = 0;
    const char *q = e;
    bool neg = *q == '-';
    if (neg) q++;
    for (; *q && *q != 'e'; q++)
        if (*q != '.') digits[nd++] = *q;
    int exp = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = 0;
    char *w = o;
    size_t left = cap;
#define PUT(...) do { int k_ = snprintf(w, left, __VA_ARGS__); if (k_ > 0 && (size_t)k_ < left) w += k_, left -= (size_t)k_; } while (0)
    if (neg) PUT("-");
    if (exp >= -4 && exp < 16) {
        if (exp >= 0) {
            for (int i = 0; i <= exp; i++) PUT("%c", i < (int)nd ? digits[i] : '0');
            PUT(".");
            if ((int)nd > exp + 1) PUT("%s", digits + exp + 1);
            else PUT("0");
        } else {
            PUT("0.");
            for (int i = 0; i < -exp - 1; i++) PUT("0");
            PUT("%s", digits);
        }
    } else {
        PUT("%c", digits[0]);
        if (nd > 1) PUT(".%s", digits + 1);
        PUT("e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
#undef PUT
}

static void put_repr(jctx *c, jbuf *b, const jv *v);

void jx_put_str(jctx *c, jbuf *b, const jv *v) {
    char tmp[64];
    switch (v->t) {
    case JV_UNDEF: return;
    case JV_NONE: jb_puts(c, b, "None"); return;
    case JV_BOOL: jb_puts(c, b, v->u.b ? "True" : "False"); return;
    case JV_INT: snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i); jb_puts(c, b, tmp); return;
    case JV_FLOAT: fmt_float(tmp, sizeof tmp, v->u.f, false); jb_puts(c, b, tmp); return;
    case JV_STR: jx_jb_put(c, b, v->u.s.p, v->u.s.n); return;
    case JV_LIST:
        jb_puts(c, b, v->tup ? "(" : "[");
        for (size_t i = 0; i < v->u.l->n; i++) {
            if (i) jb_puts(c, b, ", ");
            put_repr(c, b, &v->u.l->v[i]);
        }
        jb_puts(c, b, v->tup ? (v->u.l->n == 1 ? ",)" : ")") : "]");
        return;
    case JV_DICT:
        if (v->ns) { jb_puts(c, b, "<Namespace>"); return; }
        jb_puts(c, b, "{");
        for (size_t i = 0; i < v->u.d->n; i++) {
            if (i) jb_puts(c, b, ", ");
            put_repr(c, b, &v->u.d->k[i]);
            jb_puts(c, b, ": ");
            put_repr(c, b, &v->u.d->v[i]);
        }
        jb_puts(c, b, "}");
        return;
    case JV_FUNC: jb_puts(c, b, "<function "); jb_puts(c, b, jx_func_names[v->u.fn]); jb_puts(c, b, ">"); return;
    case JV_LOOP: jb_puts(c, b, "<LoopContext>"); return;
    }
}

static void put_repr(jctx *c, jbuf *b, const jv *v) {
    if (v->t != JV_STR) {
        jx_put_str(c, b, v);
        return;
    }
    const char *s = v->u.s.p;
    size_t n = v->u.s.n;
    bool sq = memchr(s, '\'', n) != NULL, dq = memchr(s, '"', n) != NULL;
    char q = (sq && !dq) ? '"' : '\'';
    jx_jb_put(c, b, &q, 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char e[8];
        if (ch == '\\' || ch == (unsigned char)q) e[0] = '\\', e[1] = (char)ch, jx_jb_put(c, b, e, 2);
        else if (ch == '\n') jb_puts(c, b, "\\n");
        else if (ch == '\r') jb_puts(c, b, "\\r");
        else if (ch == '\t') jb_puts(c, b, "\\t");
        else if (ch < 0x20 || ch == 0x7f) snprintf(e, sizeof e, "\\x%02x", ch), jb_puts(c, b, e);
        else jx_jb_put(c, b, (const char *)&ch, 1);
    }
    jx_jb_put(c, b, &q, 1);
}

jv jx_to_str(jctx *c, const jv *v) {
    if (v->t == JV_STR) return *v;
    jbuf b = {.max = SIZE_MAX / 2};
    jx_put_str(c, &b, v);
    return mk_str_ref(b.p ? b.p : "", b.n);
}

static void json_str(jctx *c, jbuf *b, const char *s, size_t n) {
    jb_puts(c, b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char e[8];
        switch (ch) {
        case '"': jb_puts(c, b, "\\\""); break;
        case '\\': jb_puts(c, b, "\\\\"); break;
        case '\n': jb_puts(c, b, "\\n"); break;
        case '\r': jb_puts(c, b, "\\r"); break;
        case '\t': jb_puts(c, b, "\\t"); break;
        case '\b': jb_puts(c, b, "\\b"); break;
        case '\f': jb_puts(c, b, "\\f"); break;
        default:
            if (ch < 0x20) snprintf(e, sizeof e, "\\u%04x", ch), jb_puts(c, b, e);
            else jx_jb_put(c, b, (const char *)&ch, 1);
        }
    }
    jb_puts(c, b, "\"");
}

static void json_nl(jctx *c, jbuf *b, int indent, int level) {
    jb_puts(c, b, "\n");
    for (int i = 0; i < indent * level; i++) jb_puts(c, b, " ");
}

/* json.dumps(v, ensure_ascii=False, indent=indent (< 0: none), sort_keys=sort). */
void jx_put_json(jctx *c, jbuf *b, const jv *v, int indent, bool sort, int level) {
    if (level > 100) jx_fail(c, "tojson: nesting too deep");
    char tmp[64];
    switch (v->t) {
    case JV_NONE: jb_puts(c, b, "null"); return;
    case JV_BOOL: jb_puts(c, b, v->u.b ? "true" : "false"); return;
    case JV_INT: snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i); jb_puts(c, b, tmp); return;
    case JV_FLOAT: fmt_float(tmp, sizeof tmp, v->u.f, true); jb_puts(c, b, tmp); return;
    case JV_STR: json_str(c, b, v->u.s.p, v->u.s.n); return;
    case JV_LIST:
        if (!v->u.l->n) { jb_puts(c, b, "[]"); return; }
        jb_puts(c, b, "[");
        for (size_t i = 0; i < v->u.l->n; i++) {
            if (i) jb_puts(c, b, indent >= 0 ? "," : ", ");
            if (indent >= 0) json_nl(c, b, indent, level + 1);
            jx_put_json(c, b, &v->u.l->v[i], indent, sort, level + 1);
        }
        if (indent >= 0) json_nl(c, b, indent, level);
        jb_puts(c, b, "]");
        return;
    case JV_DICT: {
        if (v->ns) break;
        const jdict *d = v->u.d;
        if (!d->n) { jb_puts(c, b, "{}"); return; }
        size_t *order = jx_alloc(c, d->n * sizeof *order);
        for (size_t i = 0; i < d->n; i++) order[i] = i;
        if (sort)  /* insertion sort by key bytes: dicts here are small */
            for (size_t i = 1; i < d->n; i++)
                for (size_t j = i; j > 0; j--) {
                    const jv *x = &d->k[order[j - 1]], *y = &d->k[order[j]];
                    if (x->t != JV_STR || y->t != JV_STR) jx_fail(c, "tojson: sort_keys needs string keys");
                    size_t m = x->u.s.n < y->u.s.n ? x->u.s.n : y->u.s.n;
                    int r = memcmp(x->u.s.p, y->u.s.p, m);
                    if (r < 0 || (r == 0 && x->u.s.n <= y->u.s.n)) break;
                    size_t t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
                }
        jb_puts(c, b, "{");
        for (size_t i = 0; i < d->n; i++) {
            const jv *k = &d->k[order[i]];
            if (i) jb_puts(c, b, indent >= 0 ? "," : ", ");
            if (indent >= 0) json_nl(c, b, indent, level + 1);
            if (k->t == JV_STR) {
                json_str(c, b, k->u.s.p, k->u.s.n);
            } else if (k->t == JV_NONE || k->t == JV_BOOL || k->t == JV_INT || k->t == JV_FLOAT) {
                jbuf kb = {.max = 64};
                jx_put_json(c, &kb, k, -1, false, level + 1);  /* Python quotes scalar keys */
                json_str(c, b, kb.p, kb.n);
            } else {
                jx_fail(c, "tojson: keys must be str, int, float, bool or None, not %s", jx_type_name(k));
            }
            jb_puts(c, b, ": ");
            jx_put_json(c, b, &d->v[order[i]], indent, sort, level + 1);
        }
        if (indent >= 0) json_nl(c, b, indent, level);
        jb_puts(c, b, "}");
        return;
    }
    default: break;
    }
    jx_fail(c, "tojson: Object of type %s is not JSON serializable", jx_type_name(v));
}
