/* jinja_eval.c — renders a parsed template (jinja_internal.h). Semantics follow Python's
 * Jinja2 as transformers configures it for chat templates: default Undefined (prints "",
 * falsy, iterates as empty, but an attribute of it or arithmetic on it is an error),
 * Python's str()/repr() for printing, json.dumps(ensure_ascii=False) for tojson, a fresh
 * scope per loop iteration. Output, memory and executed steps are capped. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/error.h"
#include "jinja_eval.h"


/* ---- scopes ---------------------------------------------------------------------------------------- */

static void scope_set(jctx *c, scope *s, const char *name, jv v) {
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name)) {
            s->vals[i] = v;
            return;
        }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        const char **nm = jx_alloc(c, cap * sizeof *nm);
        jv *vl = jx_alloc(c, cap * sizeof *vl);
        if (s->n) memcpy(nm, s->names, s->n * sizeof *nm), memcpy(vl, s->vals, s->n * sizeof *vl);
        s->names = nm, s->vals = vl, s->cap = cap;
    }
    s->names[s->n] = name, s->vals[s->n] = v;
    s->n++;
}

static jv lookup(jctx *c, const char *name) {
    for (scope *s = c->top; s; s = s->parent)
        for (size_t i = s->n; i-- > 0;)
            if (!strcmp(s->names[i], name)) return s->vals[i];
    return mk_undef(name);
}

void jinja_define(jctx *c, const char *name, jv value) {
    size_t n = strlen(name);
    scope_set(c, c->top, jinja_str(c, name, n).u.s.p, value);
}

/* ---- argument lists -------------------------------------------------------------------------------- */

/* Call arguments, sized by the call's node (no allocation for a call without any). */
#define MAX_ARGS 8  /* for the argument lists built here from others (select, map) */
typedef struct {
    jv *pos;
    size_t npos;
    const char **kwn;
    jv *kwv;
    size_t nkw;
    jv small[MAX_ARGS];
} jargs;

/* Positional i, or keyword `name`, or NULL. */
static const jv *arg(const jargs *a, size_t i, const char *name) {
    if (i < a->npos) return &a->pos[i];
    for (size_t k = 0; name && k < a->nkw; k++)
        if (!strcmp(a->kwn[k], name)) return &a->kwv[k];
    return NULL;
}

static void check_nargs(jctx *c, const char *what, const jargs *a, size_t max_pos) {
    if (a->npos > max_pos) jx_fail(c, "%s takes at most %zu arguments (%zu given)", what, max_pos, a->npos);
}

static jv eval(jctx *c, const jnode *n);

static void eval_args(jctx *c, const jnode *n, jargs *a) {
    a->npos = a->nkw = 0;
    a->pos = a->kwv = NULL;
    a->kwn = NULL;
    if (!n->n_kids) return;
    a->pos = n->n_kids <= MAX_ARGS ? a->small : jx_alloc(c, n->n_kids * sizeof *a->pos);
    for (size_t i = 0; i < n->n_kids; i++) {
        const jnode *k = n->kids[i];
        if (k->kind == E_KWARG) {
            if (!a->kwn) a->kwn = jx_alloc(c, n->n_kids * sizeof *a->kwn), a->kwv = jx_alloc(c, n->n_kids * sizeof *a->kwv);
            a->kwn[a->nkw] = k->name;
            a->kwv[a->nkw++] = eval(c, k->a);
        } else {
            a->pos[a->npos++] = eval(c, k);
        }
    }
}

/* a's positional arguments from `first` on, for passing along (select, map). */
static void args_rest(jctx *c, const jargs *a, size_t first, jargs *rest) {
    memset(rest, 0, sizeof *rest);
    if (a->npos <= first) return;
    rest->npos = a->npos - first;
    rest->pos = rest->npos <= MAX_ARGS ? rest->small : jx_alloc(c, rest->npos * sizeof *rest->pos);
    memcpy(rest->pos, a->pos + first, rest->npos * sizeof *rest->pos);
}

static jv need_str(jctx *c, const jv *v, const char *what) {
    if (v->t == JV_UNDEF) jx_fail_undef(c, v);
    if (v->t != JV_STR) jx_fail(c, "%s expects a string, not %s", what, jx_type_name(v));
    return *v;
}

static int64_t need_int(jctx *c, const jv *v, const char *what) {
    if (v->t == JV_INT || v->t == JV_BOOL) return num_i(v);
    if (v->t == JV_UNDEF) jx_fail_undef(c, v);
    jx_fail(c, "%s expects an integer, not %s", what, jx_type_name(v));
}

/* ---- strings ---------------------------------------------------------------------------------------- */

static bool in_set(char ch, const char *set, size_t n) { return memchr(set, ch, n) != NULL; }
static const char WS[] = " \t\n\r\v\f";

/* str.strip / lstrip / rstrip with Python's defaults (ASCII whitespace here). */
static jv strip(jctx *c, jv s, const jv *chars, int left, int right) {
    const char *set = WS;
    size_t ns = sizeof WS - 1;
    if (chars && chars->t != JV_NONE) {
        jv cs = need_str(c, chars, "strip");
        set = cs.u.s.p, ns = cs.u.s.n;
    }
    size_t a = 0, b = s.u.s.n;
    if (left) while (a < b && in_set(s.u.s.p[a], set, ns)) a++;
    if (right) while (b > a && in_set(s.u.s.p[b - 1], set, ns)) b--;
    return mk_str_ref(s.u.s.p + a, b - a);
}

static const char *find_sub(const char *h, size_t hn, const char *nd, size_t nn) {
    if (nn == 0) return h;
    for (size_t i = 0; i + nn <= hn; i++)
        if (h[i] == nd[0] && !memcmp(h + i, nd, nn)) return h + i;
    return NULL;
}

static jv list_from(jctx *c, jv *items, size_t n) {
    jv l = jinja_list(c, n);
    if (n) memcpy(l.u.l->v, items, n * sizeof *items);
    return l;
}

/* A growable list under construction. */
typedef struct { jv *v; size_t n, cap; } jvec;
static void vec_push(jctx *c, jvec *v, jv x) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        jv *p = jx_alloc(c, cap * sizeof *p);
        if (v->n) memcpy(p, v->v, v->n * sizeof *p);
        v->v = p, v->cap = cap;
    }
    v->v[v->n++] = x;
}

static jv str_split(jctx *c, jv s, const jv *sep, const jv *maxsplit) {
    int64_t max = maxsplit ? need_int(c, maxsplit, "split") : -1;
    jvec out = {0};
    const char *p = s.u.s.p, *end = p + s.u.s.n;
    if (!sep || sep->t == JV_NONE) {  /* runs of whitespace, no empty strings */
        for (;;) {
            while (p < end && in_set(*p, WS, sizeof WS - 1)) p++;
            if (p == end) break;
            if (max >= 0 && (int64_t)out.n == max) {
                const char *e = end;
                while (e > p && in_set(e[-1], WS, sizeof WS - 1)) e--;
                vec_push(c, &out, mk_str_ref(p, (size_t)(e - p)));
                break;
            }
            const char *q = p;
            while (q < end && !in_set(*q, WS, sizeof WS - 1)) q++;
            vec_push(c, &out, mk_str_ref(p, (size_t)(q - p)));
            p = q;
            jx_step(c);
        }
    } else {
        jv d = need_str(c, sep, "split");
        if (d.u.s.n == 0) jx_fail(c, "split: empty separator");
        for (;;) {
            const char *q = (max >= 0 && (int64_t)out.n == max) ? NULL : find_sub(p, (size_t)(end - p), d.u.s.p, d.u.s.n);
            if (!q) {
                vec_push(c, &out, mk_str_ref(p, (size_t)(end - p)));
                break;
            }
            vec_push(c, &out, mk_str_ref(p, (size_t)(q - p)));
            p = q + d.u.s.n;
            jx_step(c);
        }
    }
    return list_from(c, out.v, out.n);
}

static jv str_replace(jctx *c, jv s, const jv *oldv, const jv *newv, const jv *countv) {
    jv o = need_str(c, oldv, "replace"), w = need_str(c, newv, "replace");
    int64_t count = countv && countv->t != JV_NONE ? need_int(c, countv, "replace") : -1;
    jbuf b = {.max = c->out.max};
    const char *p = s.u.s.p, *end = p + s.u.s.n;
    int64_t done = 0;
    if (o.u.s.n == 0) {  /* Python inserts between every code point */
        size_t k;
        size_t *off = jx_cp_offsets(c, s.u.s.p, s.u.s.n, &k);
        for (size_t i = 0; i <= k; i++) {
            if (count < 0 || done < count) jx_jb_put(c, &b, w.u.s.p, w.u.s.n), done++;
            if (i < k) jx_jb_put(c, &b, s.u.s.p + off[i], off[i + 1] - off[i]);
        }
        return mk_str_ref(b.p ? b.p : "", b.n);
    }
    while (p < end) {
        const char *q = (count >= 0 && done >= count) ? NULL : find_sub(p, (size_t)(end - p), o.u.s.p, o.u.s.n);
        if (!q) break;
        jx_jb_put(c, &b, p, (size_t)(q - p));
        jx_jb_put(c, &b, w.u.s.p, w.u.s.n);
        p = q + o.u.s.n, done++;
    }
    jx_jb_put(c, &b, p, (size_t)(end - p));
    return mk_str_ref(b.p ? b.p : "", b.n);
}

static jv str_case(jctx *c, jv s, int mode) {  /* 0 lower, 1 upper, 2 capitalize, 3 title (ASCII) */
    char *o = jx_alloc(c, s.u.s.n + 1);
    bool start = true;
    for (size_t i = 0; i < s.u.s.n; i++) {
        char ch = s.u.s.p[i];
        bool up = mode == 1 || (mode == 2 && i == 0) || (mode == 3 && start);
        if (up && ch >= 'a' && ch <= 'z') ch = (char)(ch - 32);
        else if (!up && ch >= 'A' && ch <= 'Z') ch = (char)(ch + 32);
        o[i] = ch;
        bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (unsigned char)ch >= 0x80;
        start = !alpha;
    }
    return mk_str_ref(o, s.u.s.n);
}

static bool affix_match(jctx *c, jv s, const jv *x, bool prefix) {
    if (x->t == JV_LIST) {
        for (size_t i = 0; i < x->u.l->n; i++)
            if (affix_match(c, s, &x->u.l->v[i], prefix)) return true;
        return false;
    }
    jv a = need_str(c, x, prefix ? "startswith" : "endswith");
    if (a.u.s.n > s.u.s.n) return false;
    return !memcmp(prefix ? s.u.s.p : s.u.s.p + s.u.s.n - a.u.s.n, a.u.s.p, a.u.s.n);
}

/* ---- iteration, indexing, slicing ------------------------------------------------------------------- */

/* What a for loop (or a filter) walks: list items, dict keys, string code points. */
static jlist *iter_items(jctx *c, const jv *v) {
    static jlist empty = {0, NULL};
    switch (v->t) {
    case JV_UNDEF: return &empty;
    case JV_LIST: return v->u.l;
    case JV_DICT: {
        if (v->ns) break;
        jv l = list_from(c, v->u.d->k, v->u.d->n);
        return l.u.l;
    }
    case JV_STR: {
        size_t k;
        size_t *off = jx_cp_offsets(c, v->u.s.p, v->u.s.n, &k);
        jv l = jinja_list(c, k);
        for (size_t i = 0; i < k; i++) l.u.l->v[i] = mk_str_ref(v->u.s.p + off[i], off[i + 1] - off[i]);
        return l.u.l;
    }
    default: break;
    }
    jx_fail(c, "'%s' object is not iterable", jx_type_name(v));
}

static jv get_item(jctx *c, const jv *obj, const jv *key) {
    if (obj->t == JV_UNDEF) jx_fail_undef(c, obj);
    if (obj->t == JV_DICT) {
        for (size_t i = 0; i < obj->u.d->n; i++)
            if (jx_eq(&obj->u.d->k[i], key)) return obj->u.d->v[i];
        return mk_undef(key->t == JV_STR ? key->u.s.p : "item");
    }
    if ((obj->t == JV_LIST || obj->t == JV_STR) && (key->t == JV_INT || key->t == JV_BOOL)) {
        int64_t i = num_i(key);
        if (obj->t == JV_LIST) {
            int64_t n = (int64_t)obj->u.l->n;
            if (i < 0) i += n;
            return (i >= 0 && i < n) ? obj->u.l->v[i] : mk_undef("item");
        }
        size_t k;
        size_t *off = jx_cp_offsets(c, obj->u.s.p, obj->u.s.n, &k);
        if (i < 0) i += (int64_t)k;
        if (i < 0 || i >= (int64_t)k) return mk_undef("item");
        return mk_str_ref(obj->u.s.p + off[i], off[i + 1] - off[i]);
    }
    if (obj->t == JV_LOOP && key->t == JV_STR) return mk_undef(key->u.s.p);
    return mk_undef("item");
}

static void slice_bounds(jctx *c, int64_t n, const jv *a, const jv *b, const jv *s, int64_t *start, int64_t *stop,
                         int64_t *stp) {
    int64_t st = (s && s->t != JV_NONE) ? need_int(c, s, "slice step") : 1;
    if (st == 0) jx_fail(c, "slice step cannot be zero");
    int64_t lo, hi;
    if (st > 0) lo = 0, hi = n;
    else lo = -1, hi = n - 1;
    int64_t x = lo, y = hi;
    if (st < 0) x = hi, y = lo;
    if (a && a->t != JV_NONE) {
        x = need_int(c, a, "slice");
        if (x < 0) x += n;
        if (x < lo) x = lo;
        if (x > hi) x = hi;
    }
    if (b && b->t != JV_NONE) {
        y = need_int(c, b, "slice");
        if (y < 0) y += n;
        if (y < lo) y = lo;
        if (y > hi) y = hi;
    }
    *start = x, *stop = y, *stp = st;
}

static jv do_slice(jctx *c, const jv *obj, const jv *a, const jv *b, const jv *s) {
    if (obj->t == JV_UNDEF) jx_fail_undef(c, obj);
    if (obj->t != JV_LIST && obj->t != JV_STR) jx_fail(c, "'%s' object is not subscriptable", jx_type_name(obj));
    size_t k = 0, *off = NULL;
    int64_t n;
    if (obj->t == JV_LIST) n = (int64_t)obj->u.l->n;
    else off = jx_cp_offsets(c, obj->u.s.p, obj->u.s.n, &k), n = (int64_t)k;
    int64_t x, y, st;
    slice_bounds(c, n, a, b, s, &x, &y, &st);
    jvec out = {0};
    jbuf sb = {.max = SIZE_MAX / 2};
    for (int64_t i = x; st > 0 ? i < y : i > y; i += st) {
        if (obj->t == JV_LIST) vec_push(c, &out, obj->u.l->v[i]);
        else jx_jb_put(c, &sb, obj->u.s.p + off[i], off[i + 1] - off[i]);
    }
    if (obj->t == JV_STR) return mk_str_ref(sb.p ? sb.p : "", sb.n);
    return list_from(c, out.v, out.n);
}

/* ---- tests (`x is name`) ------------------------------------------------------------------------------ */

static bool run_test(jctx *c, const char *name, const jv *v, const jargs *a) {
    const jv *x = arg(a, 0, NULL);
    if (!strcmp(name, "defined")) return v->t != JV_UNDEF;
    if (!strcmp(name, "undefined")) return v->t == JV_UNDEF;
    if (!strcmp(name, "none")) return v->t == JV_NONE;
    if (!strcmp(name, "true")) return v->t == JV_BOOL && v->u.b;
    if (!strcmp(name, "false")) return v->t == JV_BOOL && !v->u.b;
    if (!strcmp(name, "boolean")) return v->t == JV_BOOL;
    if (!strcmp(name, "string")) return v->t == JV_STR;
    if (!strcmp(name, "number")) return is_num(v);
    if (!strcmp(name, "integer")) return v->t == JV_INT;
    if (!strcmp(name, "float")) return v->t == JV_FLOAT;
    if (!strcmp(name, "mapping")) return v->t == JV_DICT;
    if (!strcmp(name, "iterable")) return v->t == JV_LIST || v->t == JV_DICT || v->t == JV_STR || v->t == JV_UNDEF;
    if (!strcmp(name, "sequence")) return v->t == JV_LIST || v->t == JV_DICT || v->t == JV_STR;
    if (!strcmp(name, "callable")) return v->t == JV_FUNC;
    if (!strcmp(name, "lower") || !strcmp(name, "upper")) {
        if (v->t != JV_STR) return false;
        jv t = str_case(c, *v, name[0] == 'u');
        return t.u.s.n == v->u.s.n && !memcmp(t.u.s.p, v->u.s.p, t.u.s.n);
    }
    if (!strcmp(name, "odd") || !strcmp(name, "even")) {
        int64_t i = need_int(c, v, name);
        return (i % 2 != 0) == (name[0] == 'o');
    }
    if (!x) jx_fail(c, "test '%s' is unknown or needs an argument", name);
    if (!strcmp(name, "equalto") || !strcmp(name, "eq") || !strcmp(name, "==") || !strcmp(name, "sameas"))
        return jx_eq(v, x);
    if (!strcmp(name, "ne") || !strcmp(name, "!=")) return !jx_eq(v, x);
    if (!strcmp(name, "divisibleby")) {
        int64_t d = need_int(c, x, name);
        if (d == 0) jx_fail(c, "divisibleby 0");
        return need_int(c, v, name) % d == 0;
    }
    if (!strcmp(name, "in")) {
        jlist *l = iter_items(c, x);
        if (x->t == JV_STR) return v->t == JV_STR && find_sub(x->u.s.p, x->u.s.n, v->u.s.p, v->u.s.n);
        for (size_t i = 0; i < l->n; i++)
            if (jx_eq(v, &l->v[i])) return true;
        return false;
    }
    jx_fail(c, "unknown test '%s'", name);
}

/* ---- filters ------------------------------------------------------------------------------------------ */

static jv attr_of(jctx *c, const jv *obj, const char *name);

static jv filter_select(jctx *c, const jv *v, const jargs *a, bool reject, bool by_attr) {
    jlist *l = iter_items(c, v);
    size_t first = 0;
    const char *attr = NULL;
    if (by_attr) {
        const jv *an = arg(a, 0, NULL);
        if (!an) jx_fail(c, "selectattr/rejectattr need an attribute name");
        attr = need_str(c, an, "selectattr").u.s.p;
        first = 1;
    }
    const jv *tn = arg(a, first, NULL);
    jargs rest;
    args_rest(c, a, first + 1, &rest);
    jvec out = {0};
    for (size_t i = 0; i < l->n; i++) {
        jx_step(c);
        jv item = attr ? attr_of(c, &l->v[i], attr) : l->v[i];
        bool ok = tn ? run_test(c, need_str(c, tn, "select").u.s.p, &item, &rest) : jx_truthy(&item);
        if (ok != reject) vec_push(c, &out, l->v[i]);
    }
    return list_from(c, out.v, out.n);
}

static jv apply_filter(jctx *c, const char *name, const jv *v, const jargs *a);

static jv filter_map(jctx *c, const jv *v, const jargs *a) {
    jlist *l = iter_items(c, v);
    const jv *attr = arg(a, a->npos, "attribute"), *dflt = arg(a, a->npos, "default");
    jvec out = {0};
    if (attr) {
        jv an = need_str(c, attr, "map");
        for (size_t i = 0; i < l->n; i++) {
            jv x = attr_of(c, &l->v[i], an.u.s.p);
            vec_push(c, &out, (x.t == JV_UNDEF && dflt) ? *dflt : x);
        }
    } else {
        const jv *fn = arg(a, 0, NULL);
        if (!fn) jx_fail(c, "map needs a filter name or attribute=");
        jargs rest;
        args_rest(c, a, 1, &rest);
        for (size_t i = 0; i < l->n; i++) vec_push(c, &out, apply_filter(c, need_str(c, fn, "map").u.s.p, &l->v[i], &rest));
    }
    return list_from(c, out.v, out.n);
}

static jv apply_filter(jctx *c, const char *name, const jv *v, const jargs *a) {
    jx_step(c);
    if (!strcmp(name, "default") || !strcmp(name, "d")) {
        const jv *d = arg(a, 0, "default_value"), *boolean = arg(a, 1, "boolean");
        bool use = v->t == JV_UNDEF || (boolean && jx_truthy(boolean) && !jx_truthy(v));
        return use ? (d ? *d : mk_str_ref("", 0)) : *v;
    }
    if (!strcmp(name, "length") || !strcmp(name, "count")) {
        if (v->t == JV_STR) return mk_int((int64_t)jx_cp_count(v->u.s.p, v->u.s.n));
        if (v->t == JV_LIST) return mk_int((int64_t)v->u.l->n);
        if (v->t == JV_DICT) return mk_int((int64_t)v->u.d->n);
        if (v->t == JV_UNDEF) return mk_int(0);
        jx_fail(c, "object of type '%s' has no len()", jx_type_name(v));
    }
    if (!strcmp(name, "tojson")) {
        const jv *ind = arg(a, 0, "indent"), *sk = arg(a, 3, "sort_keys");
        int indent = (ind && ind->t != JV_NONE) ? (int)need_int(c, ind, "tojson indent") : -1;
        if (indent > 64) jx_fail(c, "tojson: indent %d is too large", indent);
        jbuf b = {.max = c->out.max};
        jx_put_json(c, &b, v, indent, sk && jx_truthy(sk), 0);
        return mk_str_ref(b.p ? b.p : "", b.n);
    }
    if (!strcmp(name, "string")) return jx_to_str(c, v);
    if (!strcmp(name, "list")) return list_from(c, iter_items(c, v)->v, iter_items(c, v)->n);
    if (!strcmp(name, "first") || !strcmp(name, "last")) {
        jlist *l = iter_items(c, v);
        if (!l->n) return mk_undef(name);
        return l->v[name[0] == 'f' ? 0 : l->n - 1];
    }
    if (!strcmp(name, "reverse")) {
        jv m1 = mk_int(-1);
        if (v->t == JV_STR || v->t == JV_LIST) return do_slice(c, v, NULL, NULL, &m1);
        jlist *l = iter_items(c, v);
        jv lv = {.t = JV_LIST};
        lv.u.l = l;
        return do_slice(c, &lv, NULL, NULL, &m1);
    }
    if (!strcmp(name, "join")) {
        const jv *sep = arg(a, 0, "d"), *attr = arg(a, 1, "attribute");
        jv s = sep ? jx_to_str(c, sep) : mk_str_ref("", 0);
        jlist *l = iter_items(c, v);
        jbuf b = {.max = c->out.max};
        for (size_t i = 0; i < l->n; i++) {
            if (i) jx_jb_put(c, &b, s.u.s.p, s.u.s.n);
            jv item = attr ? attr_of(c, &l->v[i], need_str(c, attr, "join").u.s.p) : l->v[i];
            jx_put_str(c, &b, &item);
        }
        return mk_str_ref(b.p ? b.p : "", b.n);
    }
    if (!strcmp(name, "items")) {
        if (v->t == JV_UNDEF) return jinja_list(c, 0);
        if (v->t != JV_DICT || v->ns) jx_fail(c, "items expects a mapping, not %s", jx_type_name(v));
        jv l = jinja_list(c, v->u.d->n);
        for (size_t i = 0; i < v->u.d->n; i++) {
            jv pair = jinja_list(c, 2);
            pair.tup = true;
            pair.u.l->v[0] = v->u.d->k[i], pair.u.l->v[1] = v->u.d->v[i];
            l.u.l->v[i] = pair;
        }
        return l;
    }
    if (!strcmp(name, "select")) return filter_select(c, v, a, false, false);
    if (!strcmp(name, "reject")) return filter_select(c, v, a, true, false);
    if (!strcmp(name, "selectattr")) return filter_select(c, v, a, false, true);
    if (!strcmp(name, "rejectattr")) return filter_select(c, v, a, true, true);
    if (!strcmp(name, "map")) return filter_map(c, v, a);
    if (!strcmp(name, "int")) {
        const jv *d = arg(a, 0, "default");
        if (v->t == JV_INT || v->t == JV_BOOL) return mk_int(num_i(v));
        if (v->t == JV_FLOAT && isfinite(v->u.f) && fabs(v->u.f) < 9.2e18) return mk_int((int64_t)v->u.f);
        if (v->t == JV_STR) {
            jv s = strip(c, *v, NULL, 1, 1);
            char buf[32];
            if (s.u.s.n && s.u.s.n < sizeof buf) {
                memcpy(buf, s.u.s.p, s.u.s.n), buf[s.u.s.n] = 0;
                char *e;
                long long x = strtoll(buf, &e, 10);
                if (!*e) return mk_int(x);
            }
        }
        return d ? *d : mk_int(0);
    }
    if (!strcmp(name, "float")) {
        if (is_num(v)) return mk_float(num_f(v));
        if (v->t == JV_STR) {
            jv s = strip(c, *v, NULL, 1, 1);
            char buf[64];
            if (s.u.s.n && s.u.s.n < sizeof buf) {
                memcpy(buf, s.u.s.p, s.u.s.n), buf[s.u.s.n] = 0;
                char *e;
                double x = strtod(buf, &e);
                if (!*e) return mk_float(x);
            }
        }
        const jv *d = arg(a, 0, "default");
        return d ? *d : mk_float(0.0);
    }
    if (!strcmp(name, "abs")) {
        if (v->t == JV_FLOAT) return mk_float(fabs(v->u.f));
        int64_t i = need_int(c, v, "abs");
        if (i == INT64_MIN) jx_fail(c, "integer overflow");
        return mk_int(i < 0 ? -i : i);
    }
    /* the rest work on the string form (Undefined prints as "") */
    jv s = jx_to_str(c, v);
    if (!strcmp(name, "trim")) return strip(c, s, arg(a, 0, "chars"), 1, 1);
    if (!strcmp(name, "lower")) return str_case(c, s, 0);
    if (!strcmp(name, "upper")) return str_case(c, s, 1);
    if (!strcmp(name, "capitalize")) return str_case(c, s, 2);
    if (!strcmp(name, "title")) return str_case(c, s, 3);
    if (!strcmp(name, "replace")) {
        const jv *o = arg(a, 0, "old"), *w = arg(a, 1, "new");
        if (!o || !w) jx_fail(c, "replace needs two arguments");
        return str_replace(c, s, o, w, arg(a, 2, "count"));
    }
    jx_fail(c, "unknown filter '%s'", name);
}

/* ---- attributes, methods, calls ------------------------------------------------------------------------ */

static jv loop_attr(jctx *c, const jloop *l, const char *name) {
    size_t n = l->items->n, i = l->index0;
    if (!strcmp(name, "index0")) return mk_int((int64_t)i);
    if (!strcmp(name, "index")) return mk_int((int64_t)i + 1);
    if (!strcmp(name, "revindex")) return mk_int((int64_t)(n - i));
    if (!strcmp(name, "revindex0")) return mk_int((int64_t)(n - i - 1));
    if (!strcmp(name, "first")) return mk_bool(i == 0);
    if (!strcmp(name, "last")) return mk_bool(i + 1 == n);
    if (!strcmp(name, "length")) return mk_int((int64_t)n);
    if (!strcmp(name, "depth")) return mk_int(1);
    if (!strcmp(name, "depth0")) return mk_int(0);
    if (!strcmp(name, "previtem")) return i > 0 ? l->items->v[i - 1] : mk_undef("previtem");
    if (!strcmp(name, "nextitem")) return i + 1 < n ? l->items->v[i + 1] : mk_undef("nextitem");
    (void)c;
    return mk_undef(name);
}

static jv attr_of(jctx *c, const jv *obj, const char *name) {
    if (obj->t == JV_UNDEF) jx_fail_undef(c, obj);
    if (obj->t == JV_DICT) {
        const jv *x = jx_dict_get(obj->u.d, name, strlen(name));
        return x ? *x : mk_undef(name);
    }
    if (obj->t == JV_LOOP) return loop_attr(c, obj->u.loop, name);
    return mk_undef(name);
}

/* obj.name(args) for the methods templates use on strings, dicts and the loop. */
static bool call_method(jctx *c, const jv *obj, const char *name, const jargs *a, jv *out) {
    if (obj->t == JV_STR) {
        jv s = *obj;
        if (!strcmp(name, "strip") || !strcmp(name, "lstrip") || !strcmp(name, "rstrip")) {
            check_nargs(c, name, a, 1);
            *out = strip(c, s, arg(a, 0, NULL), name[0] != 'r', name[0] != 'l');
        } else if (!strcmp(name, "split")) {
            check_nargs(c, name, a, 2);
            *out = str_split(c, s, arg(a, 0, "sep"), arg(a, 1, "maxsplit"));
        } else if (!strcmp(name, "startswith") || !strcmp(name, "endswith")) {
            const jv *x = arg(a, 0, NULL);
            if (!x) jx_fail(c, "%s needs an argument", name);
            *out = mk_bool(affix_match(c, s, x, name[0] == 's'));
        } else if (!strcmp(name, "lower") || !strcmp(name, "upper") || !strcmp(name, "capitalize") ||
                   !strcmp(name, "title")) {
            *out = str_case(c, s, name[0] == 'l' ? 0 : name[0] == 'u' ? 1 : name[0] == 'c' ? 2 : 3);
        } else if (!strcmp(name, "replace")) {
            if (a->npos < 2) jx_fail(c, "replace needs two arguments");
            *out = str_replace(c, s, &a->pos[0], &a->pos[1], arg(a, 2, NULL));
        } else if (!strcmp(name, "find") || !strcmp(name, "count")) {
            const jv *x = arg(a, 0, NULL);
            if (!x) jx_fail(c, "%s needs an argument", name);
            jv sub = need_str(c, x, name);
            if (name[0] == 'f') {
                const char *q = find_sub(s.u.s.p, s.u.s.n, sub.u.s.p, sub.u.s.n);
                *out = mk_int(q ? (int64_t)jx_cp_count(s.u.s.p, (size_t)(q - s.u.s.p)) : -1);
            } else {
                int64_t k = 0;
                const char *p = s.u.s.p, *end = p + s.u.s.n;
                if (!sub.u.s.n) k = (int64_t)jx_cp_count(p, s.u.s.n) + 1;
                else
                    for (const char *q; (q = find_sub(p, (size_t)(end - p), sub.u.s.p, sub.u.s.n)); p = q + sub.u.s.n) k++;
                *out = mk_int(k);
            }
        } else if (!strcmp(name, "join")) {
            const jv *x = arg(a, 0, NULL);
            if (!x) jx_fail(c, "join needs an argument");
            jlist *l = iter_items(c, x);
            jbuf b = {.max = c->out.max};
            for (size_t i = 0; i < l->n; i++) {
                if (i) jx_jb_put(c, &b, s.u.s.p, s.u.s.n);
                jv it = need_str(c, &l->v[i], "join");
                jx_jb_put(c, &b, it.u.s.p, it.u.s.n);
            }
            *out = mk_str_ref(b.p ? b.p : "", b.n);
        } else {
            return false;
        }
        return true;
    }
    if (obj->t == JV_DICT && !obj->ns) {
        const jdict *d = obj->u.d;
        if (!strcmp(name, "items")) {
            jargs none = {0};
            *out = apply_filter(c, "items", obj, &none);
        } else if (!strcmp(name, "keys") || !strcmp(name, "values")) {
            *out = list_from(c, name[0] == 'k' ? d->k : d->v, d->n);
        } else if (!strcmp(name, "get")) {
            const jv *k = arg(a, 0, NULL), *dflt = arg(a, 1, NULL);
            if (!k) jx_fail(c, "get needs a key");
            *out = dflt ? *dflt : V_NONE;
            for (size_t i = 0; i < d->n; i++)
                if (jx_eq(&d->k[i], k)) *out = d->v[i];
        } else {
            return false;
        }
        return true;
    }
    if (obj->t == JV_LOOP && !strcmp(name, "cycle")) {
        if (!a->npos) jx_fail(c, "loop.cycle needs arguments");
        *out = a->pos[obj->u.loop->index0 % a->npos];
        return true;
    }
    return false;
}

static jv call_func(jctx *c, int fn, const jargs *a) {
    switch (fn) {
    case F_RAISE: {
        const jv *m = arg(a, 0, NULL);
        jv s = m ? jx_to_str(c, m) : mk_str_ref("", 0);
        jx_fail(c, "raise_exception: %.*s", (int)(s.u.s.n > 300 ? 300 : s.u.s.n), s.u.s.p);
    }
    case F_NAMESPACE:
    case F_DICT: {
        jv d = jinja_dict(c);
        d.ns = fn == F_NAMESPACE;
        for (size_t i = 0; i < a->npos; i++) {  /* namespace({...}) / dict({...}) copy a mapping */
            if (a->pos[i].t != JV_DICT) jx_fail(c, "%s: positional arguments must be mappings", jx_func_names[fn]);
            for (size_t k = 0; k < a->pos[i].u.d->n; k++) jx_dict_put(c, d.u.d, a->pos[i].u.d->k[k], a->pos[i].u.d->v[k]);
        }
        for (size_t i = 0; i < a->nkw; i++) jx_dict_put(c, d.u.d, jinja_str(c, a->kwn[i], strlen(a->kwn[i])), a->kwv[i]);
        return d;
    }
    case F_RANGE: {
        if (a->npos < 1 || a->npos > 3) jx_fail(c, "range takes 1 to 3 arguments");
        int64_t lo = 0, hi, st = 1;
        if (a->npos == 1) hi = need_int(c, &a->pos[0], "range");
        else lo = need_int(c, &a->pos[0], "range"), hi = need_int(c, &a->pos[1], "range");
        if (a->npos == 3) st = need_int(c, &a->pos[2], "range");
        if (st == 0) jx_fail(c, "range step must not be zero");
        double count = ((double)hi - (double)lo) / (double)st;
        if (count > (double)(c->max_steps - c->steps)) jx_fail(c, "range of %.0f items exceeds the step budget", count);
        jvec out = {0};
        for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st) {
            jx_step(c);
            vec_push(c, &out, mk_int(i));
            if ((st > 0 && i > INT64_MAX - st) || (st < 0 && i < INT64_MIN - st)) break;
        }
        return list_from(c, out.v, out.n);
    }
    case F_STRFTIME: {
        const jv *f = arg(a, 0, NULL);
        if (!f) jx_fail(c, "strftime_now needs a format");
        jv fs = need_str(c, f, "strftime_now");
        char fmt[128], buf[256];
        if (fs.u.s.n >= sizeof fmt) jx_fail(c, "strftime_now: format too long");
        memcpy(fmt, fs.u.s.p, fs.u.s.n), fmt[fs.u.s.n] = 0;
        time_t now = time(NULL);
        struct tm tmv;
        localtime_r(&now, &tmv);
        size_t k = strftime(buf, sizeof buf, fmt, &tmv);
        return jinja_str(c, buf, k);
    }
    }
    jx_fail(c, "not callable");
}

/* ---- expressions -------------------------------------------------------------------------------------- */

static jv arith(jctx *c, int op, const jv *a, const jv *b) {
    if (op == '~') {
        jv x = jx_to_str(c, a), y = jx_to_str(c, b);
        char *p = jx_alloc(c, x.u.s.n + y.u.s.n + 1);
        memcpy(p, x.u.s.p, x.u.s.n), memcpy(p + x.u.s.n, y.u.s.p, y.u.s.n);
        return mk_str_ref(p, x.u.s.n + y.u.s.n);
    }
    if (a->t == JV_UNDEF) jx_fail_undef(c, a);
    if (b->t == JV_UNDEF) jx_fail_undef(c, b);
    if (op == '+' && a->t == JV_STR && b->t == JV_STR) {
        if (a->u.s.n + b->u.s.n > c->out.max) jx_fail(c, "string longer than %zu bytes", c->out.max);
        char *p = jx_alloc(c, a->u.s.n + b->u.s.n + 1);
        memcpy(p, a->u.s.p, a->u.s.n), memcpy(p + a->u.s.n, b->u.s.p, b->u.s.n);
        return mk_str_ref(p, a->u.s.n + b->u.s.n);
    }
    if (op == '+' && a->t == JV_LIST && b->t == JV_LIST) {
        jv l = jinja_list(c, a->u.l->n + b->u.l->n);
        if (a->u.l->n) memcpy(l.u.l->v, a->u.l->v, a->u.l->n * sizeof(jv));
        if (b->u.l->n) memcpy(l.u.l->v + a->u.l->n, b->u.l->v, b->u.l->n * sizeof(jv));
        return l;
    }
    if (op == '*' && ((a->t == JV_STR && (b->t == JV_INT || b->t == JV_BOOL)) ||
                      (b->t == JV_STR && (a->t == JV_INT || a->t == JV_BOOL)))) {
        const jv *s = a->t == JV_STR ? a : b;
        int64_t k = num_i(a->t == JV_STR ? b : a);
        if (k <= 0 || !s->u.s.n) return mk_str_ref("", 0);
        if ((uint64_t)k > c->out.max / s->u.s.n) jx_fail(c, "string longer than %zu bytes", c->out.max);
        jbuf o = {.max = c->out.max};
        for (int64_t i = 0; i < k; i++) jx_jb_put(c, &o, s->u.s.p, s->u.s.n);
        return mk_str_ref(o.p, o.n);
    }
    if (!is_num(a) || !is_num(b))
        jx_fail(c, "unsupported operand types for '%s': '%s' and '%s'",
             op == 'F' ? "//" : op == 'P' ? "**" : (char[]){(char)op, 0}, jx_type_name(a), jx_type_name(b));
    if (a->t != JV_FLOAT && b->t != JV_FLOAT && op != '/') {
        int64_t x = num_i(a), y = num_i(b), r;
        bool ovf = false;
        switch (op) {
        case '+': ovf = __builtin_add_overflow(x, y, &r); break;
        case '-': ovf = __builtin_sub_overflow(x, y, &r); break;
        case '*': ovf = __builtin_mul_overflow(x, y, &r); break;
        case 'F':
        case '%':
            if (y == 0) jx_fail(c, "integer division or modulo by zero");
            if (x == INT64_MIN && y == -1) { ovf = true; break; }
            r = op == 'F' ? x / y : x % y;
            if ((x % y != 0) && ((x < 0) != (y < 0))) r = op == 'F' ? r - 1 : r + y;  /* Python floors */
            break;
        case 'P':
            if (y < 0) return mk_float(pow((double)x, (double)y));
            r = 1;
            for (int64_t i = 0; i < y && !ovf; i++) ovf = __builtin_mul_overflow(r, x, &r);
            break;
        default: jx_fail(c, "bad operator");
        }
        if (ovf) jx_fail(c, "integer overflow");
        return mk_int(r);
    }
    double x = num_f(a), y = num_f(b);
    switch (op) {
    case '+': return mk_float(x + y);
    case '-': return mk_float(x - y);
    case '*': return mk_float(x * y);
    case '/':
        if (y == 0) jx_fail(c, "division by zero");
        return mk_float(x / y);
    case 'F':
        if (y == 0) jx_fail(c, "float floor division by zero");
        return mk_float(floor(x / y));
    case '%': {
        if (y == 0) jx_fail(c, "float modulo by zero");
        double m = fmod(x, y);
        if (m != 0 && ((m < 0) != (y < 0))) m += y;
        return mk_float(m);
    }
    case 'P': return mk_float(pow(x, y));
    }
    jx_fail(c, "bad operator");
}

static int order(jctx *c, const jv *a, const jv *b, int op) {
    if (is_num(a) && is_num(b)) {
        if (a->t == JV_FLOAT || b->t == JV_FLOAT) {
            double x = num_f(a), y = num_f(b);
            return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;  /* 2: NaN, every order is false */
        }
        int64_t x = num_i(a), y = num_i(b);
        return x < y ? -1 : x > y;
    }
    if (a->t == JV_STR && b->t == JV_STR) {
        size_t m = a->u.s.n < b->u.s.n ? a->u.s.n : b->u.s.n;
        int r = memcmp(a->u.s.p, b->u.s.p, m);
        if (r) return r < 0 ? -1 : 1;
        return a->u.s.n < b->u.s.n ? -1 : a->u.s.n > b->u.s.n;
    }
    if (a->t == JV_UNDEF) jx_fail_undef(c, a);
    if (b->t == JV_UNDEF) jx_fail_undef(c, b);
    jx_fail(c, "'%s' not supported between '%s' and '%s'",
         op == 'l' ? "<=" : op == 'g' ? ">=" : (char[]){(char)op, 0}, jx_type_name(a), jx_type_name(b));
}

static bool contains(jctx *c, const jv *hay, const jv *x) {
    if (hay->t == JV_STR) {
        if (x->t == JV_UNDEF) jx_fail_undef(c, x);
        if (x->t != JV_STR) jx_fail(c, "'in <string>' requires a string as left operand, not %s", jx_type_name(x));
        return find_sub(hay->u.s.p, hay->u.s.n, x->u.s.p, x->u.s.n) != NULL;
    }
    if (hay->t == JV_DICT) {
        for (size_t i = 0; i < hay->u.d->n; i++)
            if (jx_eq(&hay->u.d->k[i], x)) return true;
        return false;
    }
    jlist *l = iter_items(c, hay);
    for (size_t i = 0; i < l->n; i++)
        if (jx_eq(&l->v[i], x)) return true;
    return false;
}

static jv eval(jctx *c, const jnode *n) {
    c->line = n->line;
    switch (n->kind) {
    case E_LIT: return n->lit;
    case E_NAME: return lookup(c, n->name);
    case E_ATTR: {
        jv o = eval(c, n->a);
        c->line = n->line;
        return attr_of(c, &o, n->name);
    }
    case E_ITEM: {
        jv o = eval(c, n->a), k = eval(c, n->b);
        c->line = n->line;
        return get_item(c, &o, &k);
    }
    case E_SLICE: {
        jv o = eval(c, n->a), a = V_NONE, b = V_NONE, s = V_NONE;
        if (n->b) a = eval(c, n->b);
        if (n->c) b = eval(c, n->c);
        if (n->d) s = eval(c, n->d);
        c->line = n->line;
        return do_slice(c, &o, n->b ? &a : NULL, n->c ? &b : NULL, n->d ? &s : NULL);
    }
    case E_CALL: {
        jargs args, *a = &args;
        if (n->a->kind == E_ATTR) {
            jv o = eval(c, n->a->a);
            eval_args(c, n, a);
            c->line = n->line;
            if (o.t == JV_UNDEF) jx_fail_undef(c, &o);
            jv r;
            if (call_method(c, &o, n->a->name, a, &r)) return r;
            jv f = attr_of(c, &o, n->a->name);
            if (f.t == JV_FUNC) return call_func(c, f.u.fn, a);
            jx_fail(c, "'%s' object has no method '%s'", jx_type_name(&o), n->a->name);
        }
        jv f = eval(c, n->a);
        eval_args(c, n, a);
        c->line = n->line;
        if (f.t == JV_UNDEF) jx_fail_undef(c, &f);
        if (f.t != JV_FUNC) jx_fail(c, "'%s' object is not callable", jx_type_name(&f));
        return call_func(c, f.u.fn, a);
    }
    case E_FILTER: {
        jv v = eval(c, n->a);
        jargs args, *a = &args;
        eval_args(c, n, a);
        c->line = n->line;
        return apply_filter(c, n->name, &v, a);
    }
    case E_TEST: {
        jv v = eval(c, n->a);
        jargs args, *a = &args;
        eval_args(c, n, a);
        c->line = n->line;
        return mk_bool(run_test(c, n->name, &v, a) != (n->op == 1));
    }
    case E_UNARY: {
        jv v = eval(c, n->a);
        c->line = n->line;
        if (n->op == 'n') return mk_bool(!jx_truthy(&v));
        if (v.t == JV_FLOAT) return mk_float(n->op == '-' ? -v.u.f : v.u.f);
        if (v.t == JV_INT || v.t == JV_BOOL) {
            int64_t i = num_i(&v);
            if (n->op == '-' && i == INT64_MIN) jx_fail(c, "integer overflow");
            return mk_int(n->op == '-' ? -i : i);
        }
        if (v.t == JV_UNDEF) jx_fail_undef(c, &v);
        jx_fail(c, "bad operand type for unary %c: '%s'", n->op, jx_type_name(&v));
    }
    case E_BINARY: {
        jv a = eval(c, n->a), b = eval(c, n->b);
        c->line = n->line;
        return arith(c, n->op, &a, &b);
    }
    case E_COMPARE: {
        jv a = eval(c, n->a), b = eval(c, n->b);
        c->line = n->line;
        switch (n->op) {
        case '=': return mk_bool(jx_eq(&a, &b));
        case '!': return mk_bool(!jx_eq(&a, &b));
        case 'i': return mk_bool(contains(c, &b, &a));
        case 'I': return mk_bool(!contains(c, &b, &a));
        }
        int r = order(c, &a, &b, n->op);
        if (r == 2) return mk_bool(false);
        switch (n->op) {
        case '<': return mk_bool(r < 0);
        case '>': return mk_bool(r > 0);
        case 'l': return mk_bool(r <= 0);
        default: return mk_bool(r >= 0);
        }
    }
    case E_AND: {
        jv a = eval(c, n->a);
        return jx_truthy(&a) ? eval(c, n->b) : a;
    }
    case E_OR: {
        jv a = eval(c, n->a);
        return jx_truthy(&a) ? a : eval(c, n->b);
    }
    case E_COND: {
        jv cond = eval(c, n->a);
        if (jx_truthy(&cond)) return eval(c, n->b);
        return n->c ? eval(c, n->c) : mk_undef("else");
    }
    case E_LIST:
    case E_TUPLE: {
        jv l = jinja_list(c, n->n_kids);
        l.tup = n->kind == E_TUPLE;
        for (size_t i = 0; i < n->n_kids; i++) l.u.l->v[i] = eval(c, n->kids[i]);
        return l;
    }
    case E_DICT: {
        jv d = jinja_dict(c);
        for (size_t i = 0; i + 1 < n->n_kids; i += 2) {
            jv k = eval(c, n->kids[i]), v = eval(c, n->kids[i + 1]);
            jx_dict_put(c, d.u.d, k, v);
        }
        return d;
    }
    default: break;
    }
    jx_fail(c, "internal: not an expression");
}

/* ---- statements ---------------------------------------------------------------------------------------- */

enum { FLOW_NORMAL, FLOW_BREAK, FLOW_CONTINUE };

static int exec(jctx *c, const jnode *n);

static void bind_targets(jctx *c, const jnode *n, scope *s, const jv *item) {
    if (n->n_names == 1) {
        scope_set(c, s, n->names[0], *item);
        return;
    }
    jlist *l = iter_items(c, item);
    if (l->n != n->n_names) jx_fail(c, "cannot unpack %zu values into %zu loop variables", l->n, n->n_names);
    for (size_t i = 0; i < n->n_names; i++) scope_set(c, s, n->names[i], l->v[i]);
}

static int exec_for(jctx *c, const jnode *n) {
    jv seq = eval(c, n->a);
    c->line = n->line;
    jlist *items = iter_items(c, &seq);
    if (n->d) {  /* `for x in xs if cond`: filter first, so loop.* counts the kept items */
        jvec kept = {0};
        scope s = {.parent = c->top};
        for (size_t i = 0; i < items->n; i++) {
            jx_step(c);
            s.n = 0;
            bind_targets(c, n, &s, &items->v[i]);
            c->top = &s;
            jv ok = eval(c, n->d);
            c->top = s.parent;
            if (jx_truthy(&ok)) vec_push(c, &kept, items->v[i]);
        }
        items = list_from(c, kept.v, kept.n).u.l;
    }
    jloop *lp = jx_alloc(c, sizeof *lp);
    lp->items = items;
    jv loopv = {.t = JV_LOOP};
    loopv.u.loop = lp;
    scope s = {.parent = c->top};
    for (size_t i = 0; i < items->n; i++) {
        jx_step(c);
        lp->index0 = i;
        s.n = 0;  /* a fresh scope each iteration, as Jinja2 has; the arrays are reused */
        bind_targets(c, n, &s, &items->v[i]);
        scope_set(c, &s, "loop", loopv);
        c->top = &s;
        int flow = exec(c, n->b);
        c->top = s.parent;
        if (flow == FLOW_BREAK) break;
    }
    if (!items->n && n->c) return exec(c, n->c);
    return FLOW_NORMAL;
}

static int exec(jctx *c, const jnode *n) {
    jx_step(c);
    c->line = n->line;
    switch (n->kind) {
    case N_BLOCK:
        for (size_t i = 0; i < n->n_kids; i++) {
            int flow = exec(c, n->kids[i]);
            if (flow != FLOW_NORMAL) return flow;
        }
        return FLOW_NORMAL;
    case N_TEXT: jx_jb_put(c, &c->out, n->lit.u.s.p, n->lit.u.s.n); return FLOW_NORMAL;
    case N_OUTPUT: {
        jv v = eval(c, n->a);
        jx_put_str(c, &c->out, &v);
        return FLOW_NORMAL;
    }
    case N_IF: {
        jv cond = eval(c, n->a);
        if (jx_truthy(&cond)) return exec(c, n->b);
        return n->c ? exec(c, n->c) : FLOW_NORMAL;
    }
    case N_FOR: return exec_for(c, n);
    case N_SET: {
        jv v = eval(c, n->a);
        c->line = n->line;
        if (n->name2) {
            jv ns = lookup(c, n->names[0]);
            if (ns.t != JV_DICT || !ns.ns) jx_fail(c, "cannot assign attribute on non-namespace object '%s'", n->names[0]);
            jx_dict_put(c, ns.u.d, jinja_str(c, n->name2, strlen(n->name2)), v);
        } else {
            scope_set(c, c->top, n->names[0], v);
        }
        return FLOW_NORMAL;
    }
    case N_SET_BLOCK: {
        size_t start = c->out.n;
        int flow = exec(c, n->b);
        jv v = jinja_str(c, c->out.p + start, c->out.n - start);
        c->out.n = start;
        if (c->out.p) c->out.p[start] = 0;
        scope_set(c, c->top, n->names[0], v);
        return flow;
    }
    case N_BREAK: return FLOW_BREAK;
    case N_CONTINUE: return FLOW_CONTINUE;
    default: break;
    }
    jx_fail(c, "internal: not a statement");
}

/* ---- entry point ---------------------------------------------------------------------------------------- */

wk_status jinja_render(const jtmpl *t, void (*setup)(jctx *c, void *user), void *user, const jinja_limits *limits,
                       char **out, size_t *out_len) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "chat template: out is NULL");
    *out = NULL;
    if (out_len) *out_len = 0;
    if (!t || !t->root) return wk_err(WK_ERR_INVALID_ARG, "chat template: no template");
    jctx *c = calloc(1, sizeof *c);
    if (!c) return wk_err(WK_ERR_NOMEM, "chat template: out of memory");
    jinja_limits lim = {.max_output = 1 << 24, .max_memory = 1 << 28, .max_steps = 5000000};
    if (limits) lim = *limits;
    c->arena.limit = lim.max_memory;
    c->out.max = lim.max_output;
    c->max_steps = lim.max_steps;
    scope *root = NULL;
    wk_status st = WK_OK;
    if (setjmp(c->jb)) {
        st = c->status;
        goto done;
    }
    root = jx_alloc(c, sizeof *root);
    c->top = root;
    for (int f = 0; f < F_COUNT; f++) {
        jv fn = {.t = JV_FUNC};
        fn.u.fn = f;
        scope_set(c, root, jx_func_names[f], fn);
    }
    if (setup) setup(c, user);
    exec(c, t->root);
    *out = malloc(c->out.n + 1);
    if (!*out) {
        st = wk_err(WK_ERR_NOMEM, "chat template: out of memory");
        goto done;
    }
    if (c->out.n) memcpy(*out, c->out.p, c->out.n);
    (*out)[c->out.n] = 0;
    if (out_len) *out_len = c->out.n;
done:
    ja_free_all(&c->arena);
    free(c);
    return st;
}
