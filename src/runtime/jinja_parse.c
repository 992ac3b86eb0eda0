/* jinja_parse.c — lexer and recursive-descent parser for the Jinja2 subset in
 * jinja_internal.h. Whitespace follows Jinja2 with transformers' settings (trim_blocks,
 * lstrip_blocks, {%- -%} stripping), decided while the text is cut, so the tree holds the
 * final text. Nesting is capped (MAX_DEPTH) so a hostile template cannot exhaust the stack. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "jinja_internal.h"

#define MAX_DEPTH 200                     /* nested expressions or blocks */
#define MAX_TEMPLATE ((size_t)1 << 24)    /* 16 MiB of template source */
#define PARSE_ARENA_LIMIT ((size_t)1 << 28)

/* ---- arena -------------------------------------------------------------------------------- */

struct ja_chunk {
    ja_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *ja_alloc(ja_arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    if (n > a->limit || a->total > a->limit - n) return NULL;
    if (!a->head || a->head->cap - a->head->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        ja_chunk *c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->next = a->head, c->used = 0, c->cap = cap;
        a->head = c;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

void ja_free_all(ja_arena *a) {
    for (ja_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    a->head = NULL;
    a->total = 0;
}

/* ---- tokens ---------------------------------------------------------------------------------- */

typedef enum { T_TEXT, T_VAR_BEGIN, T_VAR_END, T_BLOCK_BEGIN, T_BLOCK_END, T_NAME, T_STRING, T_INT, T_FLOAT, T_OP, T_EOF } ttype;

/* Operators as one int: the character itself, or a letter for two-character ones. */
enum { OP_EQ = '=', OP_NE = '!', OP_LE = 'l', OP_GE = 'g', OP_FLOORDIV = 'F', OP_POW = 'P', OP_ASSIGN = 'a' };

typedef struct {
    ttype t;
    int line;
    int op;
    const char *s;  /* T_TEXT, T_NAME, T_STRING: bytes (NUL-terminated copy in the arena) */
    size_t n;
    int64_t i;
    double f;
} tok;

typedef struct {
    ja_arena *arena;
    tok *toks;
    size_t n, cap, pos;
    int depth;
    jmp_buf jb;
} P;

static _Noreturn WK_PRINTF(3, 4) void perr(P *p, int line, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wk_err(WK_ERR_FORMAT, "chat template: line %d: %s", line, msg);
    longjmp(p->jb, 1);
}

static void *palloc(P *p, size_t n) {
    void *m = ja_alloc(p->arena, n);
    if (!m) {
        wk_err(WK_ERR_NOMEM, "chat template: out of memory while parsing");
        longjmp(p->jb, 1);
    }
    return m;
}

static char *pstrdup(P *p, const char *s, size_t n) {
    char *d = palloc(p, n + 1);
    memcpy(d, s, n);
    return d;
}

static tok *push_tok(P *p, ttype t, int line) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        tok *nt = palloc(p, cap * sizeof *nt);
        if (p->n) memcpy(nt, p->toks, p->n * sizeof *nt);
        p->toks = nt, p->cap = cap;
    }
    tok *k = &p->toks[p->n++];
    memset(k, 0, sizeof *k);
    k->t = t, k->line = line;
    return k;
}

/* ---- lexer ------------------------------------------------------------------------------------ */

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
static int is_name0(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int count_nl(const char *s, size_t n) {
    int k = 0;
    for (size_t i = 0; i < n; i++) k += s[i] == '\n';
    return k;
}

static size_t put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 63)); o[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 63));
    o[2] = (char)(0x80 | ((cp >> 6) & 63)); o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A quoted string with Python's escapes (Jinja decodes literals with unicode-escape). */
static size_t lex_string(P *p, const char *s, size_t n, size_t i, int line, tok *k) {
    char q = s[i++];
    size_t start = i;
    while (i < n && s[i] != q) i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
    if (i >= n) perr(p, line, "unterminated string literal");
    char *o = palloc(p, (i - start) * 2 + 1);  /* an escape never grows past 2x */
    size_t m = 0;
    for (size_t j = start; j < i; j++) {
        if (s[j] != '\\') { o[m++] = s[j]; continue; }
        char e = s[++j];
        int digits = 0;
        switch (e) {
        case 'n': o[m++] = '\n'; break;
        case 't': o[m++] = '\t'; break;
        case 'r': o[m++] = '\r'; break;
        case 'b': o[m++] = '\b'; break;
        case 'f': o[m++] = '\f'; break;
        case 'v': o[m++] = '\v'; break;
        case 'a': o[m++] = '\a'; break;
        case '\\': case '\'': case '"': o[m++] = e; break;
        case '\n': break;  /* line continuation */
        case 'x': digits = 2; break;
        case 'u': digits = 4; break;
        case 'U': digits = 8; break;
        default:
            if (e >= '0' && e <= '7') {
                uint32_t v = 0;
                int d = 0;
                while (d < 3 && j < i && s[j] >= '0' && s[j] <= '7') v = v * 8 + (uint32_t)(s[j++] - '0'), d++;
                j--;
                m += put_utf8(o + m, v);
            } else {
                o[m++] = '\\', o[m++] = e;  /* Python keeps unknown escapes */
            }
        }
        if (digits) {
            uint32_t v = 0;
            for (int d = 0; d < digits; d++) {
                int h = (j + 1 < i) ? hexval(s[j + 1]) : -1;
                if (h < 0) perr(p, line, "truncated \\%c escape in a string literal", e);
                v = v * 16 + (uint32_t)h, j++;
            }
            if (v > 0x10FFFF) perr(p, line, "escape \\U%08X is past U+10FFFF", v);
            m += put_utf8(o + m, v);
        }
    }
    k->s = o, k->n = m;
    return i + 1;
}

/* Lexes one {{ }} or {% %} tag body starting at i; returns the index after the end delimiter
 * and sets *end_sign to '-', '+' or 0. */
static size_t lex_tag(P *p, const char *s, size_t n, size_t i, int is_block, int *line, int *end_sign) {
    const char close = is_block ? '%' : '}';
    int balance = 0;  /* open brackets: as in Jinja, `}}` inside {'a': {}} does not end the tag */
    for (;;) {
        while (i < n && is_ws(s[i])) *line += s[i++] == '\n';
        if (i >= n) perr(p, *line, "unterminated %s tag", is_block ? "{%" : "{{");
        char c = s[i];
        if (balance == 0 && (c == '-' || c == '+') && i + 2 < n && s[i + 1] == close && s[i + 2] == '}' &&
            (c == '-' || is_block)) {
            *end_sign = c;
            return i + 3;
        }
        if (balance == 0 && c == close && i + 1 < n && s[i + 1] == '}') {
            *end_sign = 0;
            return i + 2;
        }
        if (is_name0(c)) {
            size_t st = i;
            while (i < n && (is_name0(s[i]) || is_digit(s[i]))) i++;
            tok *k = push_tok(p, T_NAME, *line);
            k->s = pstrdup(p, s + st, i - st), k->n = i - st;
        } else if (is_digit(c)) {
            size_t st = i;
            int is_float = 0;
            while (i < n && (is_digit(s[i]) || s[i] == '_')) i++;
            if (i + 1 < n && s[i] == '.' && is_digit(s[i + 1])) {
                is_float = 1, i++;
                while (i < n && (is_digit(s[i]) || s[i] == '_')) i++;
            }
            if (i < n && (s[i] == 'e' || s[i] == 'E')) {
                size_t j = i + 1;
                if (j < n && (s[j] == '+' || s[j] == '-')) j++;
                if (j < n && is_digit(s[j])) {
                    is_float = 1, i = j;
                    while (i < n && is_digit(s[i])) i++;
                }
            }
            char buf[64];
            size_t m = 0;
            for (size_t j = st; j < i && m < sizeof buf - 1; j++)
                if (s[j] != '_') buf[m++] = s[j];
            buf[m] = 0;
            tok *k = push_tok(p, is_float ? T_FLOAT : T_INT, *line);
            if (is_float) {
                k->f = strtod(buf, NULL);
            } else {
                unsigned long long v = strtoull(buf, NULL, 10);
                if (m >= 20 || v > INT64_MAX) perr(p, *line, "integer literal %s is too large", buf);
                k->i = (int64_t)v;
            }
        } else if (c == '\'' || c == '"') {
            tok *k = push_tok(p, T_STRING, *line);
            int l0 = *line;
            size_t j = lex_string(p, s, n, i, l0, k);
            *line += count_nl(s + i, j - i);
            i = j;
        } else {
            static const char two[][3] = {"==", "!=", "<=", ">=", "//", "**"};
            static const int two_op[] = {OP_EQ, OP_NE, OP_LE, OP_GE, OP_FLOORDIV, OP_POW};
            int op = 0;
            for (size_t t = 0; t < 6 && !op; t++)
                if (i + 1 < n && s[i] == two[t][0] && s[i + 1] == two[t][1]) op = two_op[t], i += 2;
            if (!op) {
                if (!strchr("+-*/%~<>()[]{},.:|=", c)) perr(p, *line, "unexpected character '%c'", c);
                op = c == '=' ? OP_ASSIGN : c;
                if (c == '(' || c == '[' || c == '{') balance++;
                if ((c == ')' || c == ']' || c == '}') && balance > 0) balance--;
                i++;
            }
            push_tok(p, T_OP, *line)->op = op;
        }
    }
}

/* Cuts the template into text and tag tokens, applying Jinja's whitespace rules. */
static void lex(P *p, const char *s, size_t n) {
    size_t i = 0;
    int line = 1, strip = 0; /* 0: keep, 1: drop one leading \n (trim_blocks), 2: drop all ws */
    for (;;) {
        size_t t = i;
        while (t + 1 < n && !(s[t] == '{' && (s[t + 1] == '{' || s[t + 1] == '%' || s[t + 1] == '#'))) t++;
        if (t + 1 >= n) t = n;
        /* the text, minus what the previous tag's end consumed */
        size_t a = i, b = t;
        /* lstrip_blocks also applies to a text without a newline when the previous match
         * (a tag end with what it swallowed) ended a line, or at the very start */
        int line_starting = (i == 0);
        if (strip == 1 && a < b && s[a] == '\n') a++, line_starting = 1;
        if (strip == 2) {
            while (a < b && is_ws(s[a])) a++;
            line_starting = a > i && s[a - 1] == '\n';
        }
        int text_line = line + count_nl(s + i, a - i);
        char kind = t < n ? s[t + 1] : 0;
        char sign = (t + 2 < n && (s[t + 2] == '-' || s[t + 2] == '+')) ? s[t + 2] : 0;
        if (kind && sign == '-') {
            while (b > a && is_ws(s[b - 1])) b--;
        } else if ((kind == '%' || kind == '#') && sign != '+') {  /* lstrip_blocks */
            size_t l = b;
            while (l > a && s[l - 1] != '\n') l--;
            int nl_in_text = l > a;
            if (nl_in_text || line_starting) {
                size_t j = l;
                while (j < b && (s[j] == ' ' || s[j] == '\t')) j++;
                if (j == b) b = l;
            }
        }
        if (b > a) {
            tok *k = push_tok(p, T_TEXT, text_line);
            k->s = pstrdup(p, s + a, b - a), k->n = b - a;
        }
        line += count_nl(s + i, t - i);
        if (t >= n) break;
        size_t body = t + 2 + (sign ? 1 : 0);
        int end_sign = 0;
        if (kind == '#') {
            size_t e = body;
            while (e + 1 < n && !(s[e] == '#' && s[e + 1] == '}')) e++;
            if (e + 1 >= n) perr(p, line, "unterminated comment");
            end_sign = (e > body && (s[e - 1] == '-' || s[e - 1] == '+')) ? s[e - 1] : 0;
            line += count_nl(s + t, e - t);
            i = e + 2;
            strip = end_sign == '-' ? 2 : end_sign == '+' ? 0 : 1;
            continue;
        }
        int is_block = kind == '%';
        push_tok(p, is_block ? T_BLOCK_BEGIN : T_VAR_BEGIN, line);
        i = lex_tag(p, s, n, body, is_block, &line, &end_sign);
        push_tok(p, is_block ? T_BLOCK_END : T_VAR_END, line);
        strip = end_sign == '-' ? 2 : (end_sign == '+' || !is_block) ? 0 : 1;
    }
    push_tok(p, T_EOF, line);
}

/* ---- parser ------------------------------------------------------------------------------------- */

static tok *cur(P *p) { return &p->toks[p->pos]; }
static tok *peek(P *p, size_t k) { return p->pos + k < p->n ? &p->toks[p->pos + k] : &p->toks[p->n - 1]; }
static void adv(P *p) { if (p->toks[p->pos].t != T_EOF) p->pos++; }
static int is_op(P *p, int op) { return cur(p)->t == T_OP && cur(p)->op == op; }
static int is_name(P *p, const char *name) { return cur(p)->t == T_NAME && !strcmp(cur(p)->s, name); }

static const char *tok_desc(const tok *k) {
    switch (k->t) {
    case T_TEXT: return "text";
    case T_VAR_BEGIN: return "'{{'";
    case T_VAR_END: return "'}}'";
    case T_BLOCK_BEGIN: return "'{%'";
    case T_BLOCK_END: return "'%}'";
    case T_NAME: return k->s;
    case T_STRING: return "a string";
    case T_INT: case T_FLOAT: return "a number";
    case T_OP: return "an operator";
    case T_EOF: return "the end of the template";
    }
    return "?";
}

static void expect_op(P *p, int op, const char *what) {
    if (!is_op(p, op)) perr(p, cur(p)->line, "expected %s, found %s", what, tok_desc(cur(p)));
    adv(p);
}

static void expect_t(P *p, ttype t, const char *what) {
    if (cur(p)->t != t) perr(p, cur(p)->line, "expected %s, found %s", what, tok_desc(cur(p)));
    adv(p);
}

static void enter(P *p) {
    if (++p->depth > MAX_DEPTH) perr(p, cur(p)->line, "nesting deeper than %d", MAX_DEPTH);
}

static jnode *node(P *p, jn_kind kind, int line) {
    jnode *nd = palloc(p, sizeof *nd);
    nd->kind = kind, nd->line = line;
    return nd;
}

/* Growable child list in the arena (old arrays are left behind; templates are small). */
static void add_kid(P *p, jnode *parent, jnode *kid) {
    size_t n = parent->n_kids;
    if ((n & (n - 1)) == 0) {  /* 0, 1, 2, 4, 8...: grow to the next power of two */
        jnode **k = palloc(p, (n ? n * 2 : 1) * sizeof *k);
        if (n) memcpy(k, parent->kids, n * sizeof *k);
        parent->kids = k;
    }
    parent->kids[parent->n_kids++] = kid;
}

static jnode *parse_expression(P *p, int with_cond);
static jnode *parse_unary(P *p, int with_filter);

static void parse_call_args(P *p, jnode *call) {  /* after '(' up to and including ')' */
    while (!is_op(p, ')')) {
        if (cur(p)->t == T_NAME && peek(p, 1)->t == T_OP && peek(p, 1)->op == OP_ASSIGN) {
            jnode *kw = node(p, E_KWARG, cur(p)->line);
            kw->name = cur(p)->s;
            adv(p), adv(p);
            kw->a = parse_expression(p, 1);
            add_kid(p, call, kw);
        } else {
            add_kid(p, call, parse_expression(p, 1));
        }
        if (!is_op(p, ',')) break;
        adv(p);
    }
    expect_op(p, ')', "')'");
}

static jnode *parse_primary(P *p) {
    tok *k = cur(p);
    jnode *nd;
    switch (k->t) {
    case T_NAME:
        nd = node(p, E_LIT, k->line);
        if (!strcmp(k->s, "true") || !strcmp(k->s, "True")) nd->lit.t = JV_BOOL, nd->lit.u.b = true;
        else if (!strcmp(k->s, "false") || !strcmp(k->s, "False")) nd->lit.t = JV_BOOL;
        else if (!strcmp(k->s, "none") || !strcmp(k->s, "None")) nd->lit.t = JV_NONE;
        else nd->kind = E_NAME, nd->name = k->s;
        adv(p);
        return nd;
    case T_STRING: {
        size_t total = 0, j = p->pos;
        for (; p->toks[j].t == T_STRING; j++) total += p->toks[j].n;
        char *s = palloc(p, total + 1);
        size_t m = 0;
        for (; cur(p)->t == T_STRING; adv(p)) memcpy(s + m, cur(p)->s, cur(p)->n), m += cur(p)->n;
        nd = node(p, E_LIT, k->line);
        nd->lit.t = JV_STR, nd->lit.u.s.p = s, nd->lit.u.s.n = total;
        return nd;
    }
    case T_INT:
        nd = node(p, E_LIT, k->line);
        nd->lit.t = JV_INT, nd->lit.u.i = k->i;
        adv(p);
        return nd;
    case T_FLOAT:
        nd = node(p, E_LIT, k->line);
        nd->lit.t = JV_FLOAT, nd->lit.u.f = k->f;
        adv(p);
        return nd;
    case T_OP:
        if (k->op == '(') {
            adv(p);
            if (is_op(p, ')')) {
                adv(p);
                return node(p, E_TUPLE, k->line);
            }
            jnode *e = parse_expression(p, 1);
            if (is_op(p, ',')) {
                jnode *t = node(p, E_TUPLE, k->line);
                add_kid(p, t, e);
                while (is_op(p, ',')) {
                    adv(p);
                    if (is_op(p, ')')) break;
                    add_kid(p, t, parse_expression(p, 1));
                }
                e = t;
            }
            expect_op(p, ')', "')'");
            return e;
        }
        if (k->op == '[') {
            adv(p);
            nd = node(p, E_LIST, k->line);
            while (!is_op(p, ']')) {
                add_kid(p, nd, parse_expression(p, 1));
                if (!is_op(p, ',')) break;
                adv(p);
            }
            expect_op(p, ']', "']'");
            return nd;
        }
        if (k->op == '{') {
            adv(p);
            nd = node(p, E_DICT, k->line);
            while (!is_op(p, '}')) {
                add_kid(p, nd, parse_expression(p, 1));
                expect_op(p, ':', "':' in a dict literal");
                add_kid(p, nd, parse_expression(p, 1));
                if (!is_op(p, ',')) break;
                adv(p);
            }
            expect_op(p, '}', "'}'");
            return nd;
        }
        break;
    default: break;
    }
    perr(p, k->line, "unexpected %s in an expression", tok_desc(k));
}

static jnode *parse_postfix(P *p, jnode *nd) {
    for (;;) {
        int line = cur(p)->line;
        if (is_op(p, '.')) {
            adv(p);
            jnode *a = node(p, E_ATTR, line);
            a->a = nd;
            if (cur(p)->t == T_NAME) {
                a->name = cur(p)->s;
            } else if (cur(p)->t == T_INT) {  /* x.0 is x[0] */
                a->kind = E_ITEM;
                a->b = node(p, E_LIT, line);
                a->b->lit.t = JV_INT, a->b->lit.u.i = cur(p)->i;
            } else {
                perr(p, line, "expected an attribute name after '.'");
            }
            adv(p);
            nd = a;
        } else if (is_op(p, '[')) {
            adv(p);
            jnode *e = node(p, E_ITEM, line), *start = NULL;
            e->a = nd;
            if (!is_op(p, ':')) start = parse_expression(p, 1);
            if (is_op(p, ':')) {
                e->kind = E_SLICE, e->b = start;
                adv(p);
                if (!is_op(p, ']') && !is_op(p, ':')) e->c = parse_expression(p, 1);
                if (is_op(p, ':')) {
                    adv(p);
                    if (!is_op(p, ']')) e->d = parse_expression(p, 1);
                }
            } else {
                e->b = start;
            }
            expect_op(p, ']', "']'");
            nd = e;
        } else if (is_op(p, '(')) {
            adv(p);
            jnode *c = node(p, E_CALL, line);
            c->a = nd;
            parse_call_args(p, c);
            nd = c;
        } else {
            return nd;
        }
    }
}

static const char *parse_dotted_name(P *p, const char *what) {
    if (cur(p)->t != T_NAME) perr(p, cur(p)->line, "expected a %s name, found %s", what, tok_desc(cur(p)));
    const char *name = cur(p)->s;
    adv(p);
    return name;
}

static jnode *parse_filter_expr(P *p, jnode *nd) {
    for (;;) {
        int line = cur(p)->line;
        if (is_op(p, '|')) {
            adv(p);
            jnode *f = node(p, E_FILTER, line);
            f->a = nd;
            f->name = parse_dotted_name(p, "filter");
            if (is_op(p, '(')) {
                adv(p);
                parse_call_args(p, f);
            }
            nd = f;
        } else if (is_name(p, "is")) {
            adv(p);
            jnode *t = node(p, E_TEST, line);
            t->a = nd;
            if (is_name(p, "not")) t->op = 1, adv(p);
            t->name = parse_dotted_name(p, "test");
            tok *k = cur(p);
            if (is_op(p, '(')) {
                adv(p);
                parse_call_args(p, t);
            } else if ((k->t == T_NAME || k->t == T_STRING || k->t == T_INT || k->t == T_FLOAT ||
                        (k->t == T_OP && (k->op == '(' || k->op == '[' || k->op == '{'))) &&
                       !(k->t == T_NAME && (!strcmp(k->s, "else") || !strcmp(k->s, "or") || !strcmp(k->s, "and")))) {
                enter(p);
                add_kid(p, t, parse_postfix(p, parse_primary(p)));  /* `is divisibleby 3` */
                p->depth--;
            }
            nd = t;
        } else if (is_op(p, '(')) {
            adv(p);
            jnode *c = node(p, E_CALL, line);
            c->a = nd;
            parse_call_args(p, c);
            nd = c;
        } else {
            return nd;
        }
    }
}

static jnode *parse_unary(P *p, int with_filter) {
    enter(p);
    int line = cur(p)->line;
    jnode *nd;
    if (is_op(p, '-') || is_op(p, '+')) {
        nd = node(p, E_UNARY, line);
        nd->op = cur(p)->op;
        adv(p);
        nd->a = parse_unary(p, 0);
    } else {
        nd = parse_primary(p);
    }
    nd = parse_postfix(p, nd);
    if (with_filter) nd = parse_filter_expr(p, nd);
    p->depth--;
    return nd;
}

static jnode *binary(P *p, jn_kind kind, int op, jnode *a, jnode *b, int line) {
    jnode *nd = node(p, kind, line);
    nd->op = op, nd->a = a, nd->b = b;
    return nd;
}

static jnode *parse_pow(P *p) {
    jnode *nd = parse_unary(p, 1);
    while (is_op(p, OP_POW)) {
        int line = cur(p)->line;
        adv(p);
        nd = binary(p, E_BINARY, OP_POW, nd, parse_unary(p, 1), line);
    }
    return nd;
}

static jnode *parse_math2(P *p) {
    jnode *nd = parse_pow(p);
    while (is_op(p, '*') || is_op(p, '/') || is_op(p, OP_FLOORDIV) || is_op(p, '%')) {
        int op = cur(p)->op, line = cur(p)->line;
        adv(p);
        nd = binary(p, E_BINARY, op, nd, parse_pow(p), line);
    }
    return nd;
}

static jnode *parse_concat(P *p) {
    jnode *nd = parse_math2(p);
    while (is_op(p, '~')) {
        int line = cur(p)->line;
        adv(p);
        nd = binary(p, E_BINARY, '~', nd, parse_math2(p), line);
    }
    return nd;
}

static jnode *parse_math1(P *p) {
    jnode *nd = parse_concat(p);
    while (is_op(p, '+') || is_op(p, '-')) {
        int op = cur(p)->op, line = cur(p)->line;
        adv(p);
        nd = binary(p, E_BINARY, op, nd, parse_concat(p), line);
    }
    return nd;
}

/* a < b < c is (a < b) and (b < c), as in Python. */
static jnode *parse_compare(P *p) {
    jnode *left = parse_math1(p), *result = NULL;
    for (;;) {
        int op = 0, line = cur(p)->line;
        if (cur(p)->t == T_OP && strchr("=!<>lg", cur(p)->op) && cur(p)->op != 0) op = cur(p)->op, adv(p);
        else if (is_name(p, "in")) op = 'i', adv(p);
        else if (is_name(p, "not") && peek(p, 1)->t == T_NAME && !strcmp(peek(p, 1)->s, "in")) op = 'I', adv(p), adv(p);
        if (!op) break;
        jnode *right = parse_math1(p);
        jnode *cmp = binary(p, E_COMPARE, op, left, right, line);
        result = result ? binary(p, E_AND, 0, result, cmp, line) : cmp;
        left = right;
    }
    return result ? result : left;
}

static jnode *parse_not(P *p) {
    if (is_name(p, "not")) {
        enter(p);
        jnode *nd = node(p, E_UNARY, cur(p)->line);
        nd->op = 'n';
        adv(p);
        nd->a = parse_not(p);
        p->depth--;
        return nd;
    }
    return parse_compare(p);
}

static jnode *parse_and(P *p) {
    jnode *nd = parse_not(p);
    while (is_name(p, "and")) {
        int line = cur(p)->line;
        adv(p);
        nd = binary(p, E_AND, 0, nd, parse_not(p), line);
    }
    return nd;
}

static jnode *parse_or(P *p) {
    jnode *nd = parse_and(p);
    while (is_name(p, "or")) {
        int line = cur(p)->line;
        adv(p);
        nd = binary(p, E_OR, 0, nd, parse_and(p), line);
    }
    return nd;
}

static jnode *parse_expression(P *p, int with_cond) {
    enter(p);
    jnode *nd = parse_or(p);
    while (with_cond && is_name(p, "if")) {
        jnode *c = node(p, E_COND, cur(p)->line);
        adv(p);
        c->b = nd;
        c->a = parse_or(p);
        if (is_name(p, "else")) {
            adv(p);
            c->c = parse_expression(p, 1);
        }
        nd = c;
    }
    p->depth--;
    return nd;
}

/* An expression, or a bare tuple `a, b` (for-loop iterables and set values). */
static jnode *parse_tuple(P *p, int with_cond) {
    int line = cur(p)->line;
    jnode *e = parse_expression(p, with_cond);
    if (!is_op(p, ',')) return e;
    jnode *t = node(p, E_TUPLE, line);
    add_kid(p, t, e);
    while (is_op(p, ',')) {
        adv(p);
        if (cur(p)->t == T_BLOCK_END || is_name(p, "if")) break;
        add_kid(p, t, parse_expression(p, with_cond));
    }
    return t;
}

/* ---- statements ----------------------------------------------------------------------------------- */

static jnode *parse_body(P *p, const char *const *ends, const char **found);

static int in_list(const char *s, const char *const *list) {
    for (; list && *list; list++)
        if (!strcmp(s, *list)) return 1;
    return 0;
}

static jnode *parse_if(P *p, int line) {
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    static const char *const endif[] = {"endif", NULL};
    jnode *nd = node(p, N_IF, line);
    nd->a = parse_tuple(p, 1);
    expect_t(p, T_BLOCK_END, "'%}'");
    const char *found;
    nd->b = parse_body(p, ends, &found);
    int l2 = cur(p)->line;
    if (!strcmp(found, "elif")) {
        nd->c = parse_if(p, l2);  /* parse_if consumes through endif */
        return nd;
    }
    expect_t(p, T_BLOCK_END, "'%}'");
    if (!strcmp(found, "else")) {
        nd->c = parse_body(p, endif, &found);
        expect_t(p, T_BLOCK_END, "'%}'");
    }
    return nd;
}

static jnode *parse_for(P *p, int line) {
    static const char *const ends[] = {"else", "endfor", NULL};
    static const char *const endfor[] = {"endfor", NULL};
    jnode *nd = node(p, N_FOR, line);
    int paren = is_op(p, '(');
    if (paren) adv(p);
    const char *names[8];
    size_t nn = 0;
    for (;;) {
        if (nn == 8) perr(p, line, "too many loop variables");
        names[nn++] = parse_dotted_name(p, "loop variable");
        if (!is_op(p, ',')) break;
        adv(p);
    }
    if (paren) expect_op(p, ')', "')'");
    nd->names = palloc(p, nn * sizeof *nd->names);
    memcpy(nd->names, names, nn * sizeof *names);
    nd->n_names = nn;
    if (!is_name(p, "in")) perr(p, cur(p)->line, "expected 'in' in a for tag");
    adv(p);
    nd->a = parse_tuple(p, 0);
    if (is_name(p, "if")) {
        adv(p);
        nd->d = parse_expression(p, 1);
    }
    if (is_name(p, "recursive")) perr(p, cur(p)->line, "recursive loops are not supported");
    expect_t(p, T_BLOCK_END, "'%}'");
    const char *found;
    nd->b = parse_body(p, ends, &found);
    expect_t(p, T_BLOCK_END, "'%}'");
    if (!strcmp(found, "else")) {
        nd->c = parse_body(p, endfor, &found);
        expect_t(p, T_BLOCK_END, "'%}'");
    }
    return nd;
}

static jnode *parse_set(P *p, int line) {
    static const char *const endset[] = {"endset", NULL};
    jnode *nd = node(p, N_SET, line);
    nd->names = palloc(p, sizeof *nd->names);
    nd->names[0] = parse_dotted_name(p, "variable");
    nd->n_names = 1;
    if (is_op(p, '.')) {
        adv(p);
        nd->name2 = parse_dotted_name(p, "attribute");
    }
    if (is_op(p, OP_ASSIGN)) {
        adv(p);
        nd->a = parse_tuple(p, 1);
        expect_t(p, T_BLOCK_END, "'%}'");
        return nd;
    }
    if (nd->name2) perr(p, line, "expected '=' after a namespace attribute");
    if (is_op(p, ',')) perr(p, line, "assigning to several names is not supported");
    expect_t(p, T_BLOCK_END, "'=' or '%}'");
    nd->kind = N_SET_BLOCK;
    const char *found;
    nd->b = parse_body(p, endset, &found);
    expect_t(p, T_BLOCK_END, "'%}'");
    return nd;
}

static jnode *parse_statement(P *p) {
    tok *k = cur(p);
    if (k->t != T_NAME) perr(p, k->line, "expected a tag name after '{%%'");
    const char *name = k->s;
    int line = k->line;
    adv(p);
    if (!strcmp(name, "if")) return parse_if(p, line);
    if (!strcmp(name, "for")) return parse_for(p, line);
    if (!strcmp(name, "set")) return parse_set(p, line);
    if (!strcmp(name, "break") || !strcmp(name, "continue")) {
        expect_t(p, T_BLOCK_END, "'%}'");
        return node(p, name[0] == 'b' ? N_BREAK : N_CONTINUE, line);
    }
    if (!strcmp(name, "generation")) {  /* transformers' marker around assistant text */
        static const char *const end[] = {"endgeneration", NULL};
        const char *found;
        expect_t(p, T_BLOCK_END, "'%}'");
        jnode *b = parse_body(p, end, &found);
        expect_t(p, T_BLOCK_END, "'%}'");
        return b;
    }
    static const char *const closers[] = {"elif", "else", "endif", "endfor", "endset", "endgeneration", NULL};
    if (in_list(name, closers)) perr(p, line, "unexpected '%s'", name);
    perr(p, line, "unsupported tag '%s'", name);
}

static jnode *parse_body(P *p, const char *const *ends, const char **found) {
    enter(p);
    jnode *blk = node(p, N_BLOCK, cur(p)->line);
    for (;;) {
        tok *k = cur(p);
        if (k->t == T_EOF) {
            if (ends) {
                const char *last = ends[0];
                for (const char *const *e = ends; *e; e++) last = *e;
                perr(p, k->line, "unexpected end of template: missing '{%% %s %%}'", last);
            }
            break;
        }
        if (k->t == T_TEXT) {
            jnode *t = node(p, N_TEXT, k->line);
            t->lit.t = JV_STR, t->lit.u.s.p = k->s, t->lit.u.s.n = k->n;
            add_kid(p, blk, t);
            adv(p);
        } else if (k->t == T_VAR_BEGIN) {
            adv(p);
            jnode *o = node(p, N_OUTPUT, k->line);
            o->a = parse_tuple(p, 1);
            expect_t(p, T_VAR_END, "'}}'");
            add_kid(p, blk, o);
        } else if (k->t == T_BLOCK_BEGIN) {
            tok *nm = peek(p, 1);
            if (nm->t == T_NAME && in_list(nm->s, ends)) {
                *found = nm->s;
                adv(p), adv(p);
                break;
            }
            adv(p);
            add_kid(p, blk, parse_statement(p));
        } else {
            perr(p, k->line, "unexpected %s", tok_desc(k));
        }
    }
    p->depth--;
    return blk;
}

/* ---- entry points ----------------------------------------------------------------------------------- */

wk_status jinja_parse(const char *src, size_t len, jtmpl **out) {
    if (!out) return wk_err(WK_ERR_INVALID_ARG, "chat template: out is NULL");
    *out = NULL;
    if (!src) return wk_err(WK_ERR_INVALID_ARG, "chat template: NULL source");
    if (len > MAX_TEMPLATE) return wk_err(WK_ERR_FORMAT, "chat template: %zu bytes is too long", len);
    jtmpl *t = calloc(1, sizeof *t);
    if (!t) return wk_err(WK_ERR_NOMEM, "chat template: out of memory");
    t->arena.limit = PARSE_ARENA_LIMIT;
    P *p = calloc(1, sizeof *p);
    if (!p) {
        free(t);
        return wk_err(WK_ERR_NOMEM, "chat template: out of memory");
    }
    p->arena = &t->arena;
    if (setjmp(p->jb)) {
        wk_status st = strstr(wk_last_error(), "out of memory") ? WK_ERR_NOMEM : WK_ERR_FORMAT;
        free(p);
        jinja_free(t);
        return st;
    }
    /* Jinja reads \r\n and \r as \n and drops one trailing newline (keep_trailing_newline off). */
    char *s = palloc(p, len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            s[n++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n') i++;
        } else {
            s[n++] = src[i];
        }
    }
    if (n && s[n - 1] == '\n') n--;
    lex(p, s, n);
    t->root = parse_body(p, NULL, NULL);
    free(p);
    *out = t;
    return WK_OK;
}

void jinja_free(jtmpl *t) {
    if (!t) return;
    ja_free_all(&t->arena);
    free(t);
}
