/* test_chat_template.c — the Jinja-subset renderer against Python's jinja2: every case in
 * tests/data/chat_templates/expected.txt (written by tests/gen_chat_template_expected.py from
 * the real SmolLM2, Gemma 3, Qwen2.5, Qwen3, Llama 3 / 3.3 and Phi-3.5 templates and feature
 * snippets) must render byte-for-byte the same, or fail where jinja2 fails. Then the
 * built-in templates against hand-written prompts, the fallback choice, and hostile
 * templates (unterminated tags, deep nesting, runaway loops, output bombs, random bytes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/runtime/chat_template.h"

static int fails;
#define CHECK(cond, ...)                    \
    do {                                    \
        if (!(cond)) {                      \
            printf("  FAIL: " __VA_ARGS__); \
            printf("\n");                   \
            fails++;                        \
        }                                   \
    } while (0)

static char g_dir[1024];

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = 0, *len = (size_t)n;
    return buf;
}

/* ---- the jinja2 golden file ----------------------------------------------------------------- */

typedef struct {
    const char *p, *end;
} reader;

/* One "key LEN\n<bytes>\n" field; returns 0 at the end of the data. */
static int next_field(reader *r, char key[32], const char **val, size_t *len) {
    if (r->p >= r->end) return 0;
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    if (!nl) return -1;
    unsigned long n;
    if (sscanf(r->p, "%31s %lu", key, &n) != 2 || (size_t)(r->end - nl - 1) < n + 1) return -1;
    *val = nl + 1, *len = n;
    r->p = nl + 1 + n + 1;
    return 1;
}

static char *dupn(const char *s, size_t n) {
    char *d = malloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static void show_diff(const char *got, size_t gn, const char *want, size_t wn) {
    size_t i = 0;
    while (i < gn && i < wn && got[i] == want[i]) i++;
    size_t from = i > 40 ? i - 40 : 0;
    printf("    first difference at byte %zu (got %zu bytes, want %zu)\n", i, gn, wn);
    printf("    got:  \"%.*s\"\n", (int)((gn > from ? gn - from : 0) < 120 ? gn - from : 120), got + from);
    printf("    want: \"%.*s\"\n", (int)((wn - from) < 120 ? wn - from : 120), want + from);
}

static void test_golden(void) {
    char path[1200];
    snprintf(path, sizeof path, "%s/expected.txt", g_dir);
    size_t len;
    char *data = read_file(path, &len);
    if (!data) {
        CHECK(0, "cannot read %s", path);
        return;
    }
    reader r = {data, data + len};
    char key[32];
    const char *val;
    size_t n;
    int cases = 0, rendered = 0, errors = 0, bad = 0, rc;
    char *name = NULL, *src = NULL, *bos = NULL, *eos = NULL, *roles[16], *contents[16];
    size_t src_len = 0, n_msgs = 0;
    int gen = 1, think = -1;
    while ((rc = next_field(&r, key, &val, &n)) == 1) {
        if (!strcmp(key, "case")) {
            name = dupn(val, n), n_msgs = 0;
        } else if (!strcmp(key, "file")) {
            char fp[1400], *fn = dupn(val, n);
            snprintf(fp, sizeof fp, "%s/%s", g_dir, fn);
            free(fn);
            src = read_file(fp, &src_len);
            if (!src) src = dupn("", 0), src_len = 0, printf("    missing %s\n", fp);
        } else if (!strcmp(key, "source")) {
            src = dupn(val, n), src_len = n;
        } else if (!strcmp(key, "bos")) {
            bos = dupn(val, n);
        } else if (!strcmp(key, "eos")) {
            eos = dupn(val, n);
        } else if (!strcmp(key, "gen")) {
            gen = val[0] == '1';
        } else if (!strcmp(key, "think")) {
            think = atoi(val);
        } else if (!strcmp(key, "role") && n_msgs < 16) {
            roles[n_msgs] = dupn(val, n);
        } else if (!strcmp(key, "content") && n_msgs < 16) {
            contents[n_msgs++] = dupn(val, n);
        } else if (!strcmp(key, "expect") || !strcmp(key, "error")) {
            int want_error = key[1] == 'r';
            wk_chat_message msgs[16];
            for (size_t i = 0; i < n_msgs; i++) msgs[i].role = roles[i], msgs[i].content = contents[i];
            wk_chat_options opt = {.add_generation_prompt = gen, .bos_token = bos, .eos_token = eos,
                                   .enable_thinking = think};
            wk_chat_template *t = NULL;
            char *out = NULL;
            size_t out_len = 0;
            wk_status st = wk_chat_template_parse(src, src_len, &t);
            if (st == WK_OK) st = wk_chat_template_apply(t, msgs, n_msgs, &opt, &out, &out_len);
            cases++;
            if (want_error) {
                errors++;
                if (st == WK_OK) {
                    bad++;
                    printf("    %s: rendered, jinja2 fails with %.*s\n", name, (int)n, val);
                }
            } else {
                rendered++;
                if (st != WK_OK) {
                    bad++;
                    printf("    %s: %s\n", name, wk_last_error());
                } else if (out_len != n || memcmp(out, val, n)) {
                    bad++;
                    printf("    %s: differs from jinja2\n", name);
                    show_diff(out, out_len, val, n);
                }
            }
            free(out);
            wk_chat_template_free(t);
        } else if (!strcmp(key, "end")) {
            for (size_t i = 0; i < n_msgs; i++) free(roles[i]), free(contents[i]);
            free(name), free(src), free(bos), free(eos);
            name = src = bos = eos = NULL;
            n_msgs = 0;
        }
    }
    free(data);
    printf("  jinja2 golden: %d cases (%d rendered, %d expected errors), %d differ\n", cases, rendered, errors, bad);
    CHECK(rc == 0, "expected.txt is malformed");
    CHECK(bad == 0 && cases > 100, "renders differ from jinja2");
}

/* ---- built-ins and fallback ---------------------------------------------------------------------- */

static const wk_chat_message conv[] = {
    {"system", "Be brief."},
    {"user", "Hi"},
    {"assistant", " Hello! "},
    {"user", "2+2?"},
};

static void check_builtin(const char *name, const char *want, const char *bos, const char *eos) {
    wk_chat_template *t = NULL;
    char *out = NULL;
    size_t n = 0;
    wk_chat_options opt = {.add_generation_prompt = true, .bos_token = bos, .eos_token = eos, .enable_thinking = -1};
    wk_status st = wk_chat_template_builtin(name, &t);
    if (st == WK_OK) st = wk_chat_template_apply(t, conv, 4, &opt, &out, &n);
    int ok = st == WK_OK && n == strlen(want) && !memcmp(out, want, n);
    if (!ok) {
        printf("    %s: %s\n", name, st == WK_OK ? "differs" : wk_last_error());
        if (out) show_diff(out, n, want, strlen(want));
    }
    CHECK(ok, "built-in %s", name);
    CHECK(t && !strcmp(wk_chat_template_name(t), name), "built-in name %s", name);
    free(out);
    wk_chat_template_free(t);
}

static void test_builtins(void) {
    check_builtin("chatml",
                  "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                  "<|im_start|>assistant\n Hello! <|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n",
                  NULL, NULL);
    check_builtin("llama3",
                  "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                  "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
                  "<|start_header_id|>assistant<|end_header_id|>\n\n",
                  "<|begin_of_text|>", "<|eot_id|>");
    check_builtin("gemma",
                  "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
                  "<start_of_turn>user\n2+2?<end_of_turn>\n<start_of_turn>model\n",
                  "<bos>", "<eos>");
    check_builtin("phi3",
                  "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\n Hello! <|end|>\n"
                  "<|user|>\n2+2?<|end|>\n<|assistant|>\n",
                  "<s>", "<|endoftext|>");
    check_builtin("zephyr",
                  "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\n Hello! </s>\n<|user|>\n2+2?</s>\n"
                  "<|assistant|>\n",
                  "<s>", "</s>");
    wk_chat_template *t = NULL;
    CHECK(wk_chat_template_builtin("nope", &t) == WK_ERR_INVALID_ARG && !t, "unknown built-in accepted");
    CHECK(wk_chat_template_builtin_source("chatml") && !wk_chat_template_builtin_source("x"), "builtin_source");

    /* Fallback: a template that does not parse falls back to the built-in its markers name. */
    const char *broken = "{% for m in messages %}<|start_header_id|>{{ m.role }";
    CHECK(wk_chat_template_load(broken, strlen(broken), NULL, &t) == WK_OK && !strcmp(wk_chat_template_name(t), "llama3"),
          "fallback to llama3");
    wk_chat_template_free(t);
    CHECK(wk_chat_template_load(NULL, 0, NULL, &t) == WK_OK && !strcmp(wk_chat_template_name(t), "chatml"),
          "no template -> chatml");
    wk_chat_template_free(t);
    CHECK(wk_chat_template_load(NULL, 0, "gemma", &t) == WK_OK && !strcmp(wk_chat_template_name(t), "gemma"),
          "no template -> named fallback");
    wk_chat_template_free(t);
    const char *good = "{{ messages[0].content }}<start_of_turn>";
    CHECK(wk_chat_template_load(good, strlen(good), NULL, &t) == WK_OK && !strcmp(wk_chat_template_name(t), "model"),
          "a parsing template is used as is");
    wk_chat_template_free(t);
    CHECK(!strcmp(wk_chat_template_guess("<start_of_turn>", 15), "gemma") &&
              !strcmp(wk_chat_template_guess("<|im_start|>", 12), "chatml") &&
              !strcmp(wk_chat_template_guess("<|user|><|end|><|assistant|>", 28), "phi3") &&
              wk_chat_template_guess("plain", 5) == NULL,
          "guess");
    printf("  built-ins: chatml, llama3, gemma, phi3, zephyr against hand-written prompts; fallback choice\n");
}

/* ---- extensions jinja2 alone does not have, and hostile input -------------------------------------- */

/* Renders src with conv; returns the status and the output in *out (freed by the caller). */
static wk_status render(const char *src, char **out) {
    wk_chat_template *t = NULL;
    *out = NULL;
    wk_status st = wk_chat_template_parse(src, strlen(src), &t);
    if (st == WK_OK) {
        wk_chat_options opt = wk_chat_options_default();
        st = wk_chat_template_apply(t, conv, 4, &opt, out, NULL);
    }
    wk_chat_template_free(t);
    return st;
}

static void test_hostile(void) {
    char *out;
    /* transformers' {% generation %} marker renders its body */
    wk_status st = render("{% for m in messages %}{% generation %}{{ m.role[0] }}{% endgeneration %}{% endfor %}", &out);
    CHECK(st == WK_OK && out && !strcmp(out, "suau"), "generation block");
    free(out);

    struct { const char *what; char *src; wk_status want; } cases[32];
    int n = 0;
#define CASE(w, s, st_) (cases[n].what = (w), cases[n].src = (s), cases[n].want = (st_), n++)
    CASE("unterminated {{", strdup("a {{ messages"), WK_ERR_FORMAT);
    CASE("unterminated {%", strdup("{% if true"), WK_ERR_FORMAT);
    CASE("unterminated comment", strdup("{# never closed"), WK_ERR_FORMAT);
    CASE("unterminated string", strdup("{{ 'abc }}"), WK_ERR_FORMAT);
    CASE("missing endif", strdup("{% if true %}x"), WK_ERR_FORMAT);
    CASE("missing endfor", strdup("{% for m in messages %}x{% if 1 %}{% endif %}"), WK_ERR_FORMAT);
    CASE("stray endfor", strdup("{% endfor %}"), WK_ERR_FORMAT);
    CASE("unknown tag", strdup("{% macro f() %}{% endmacro %}"), WK_ERR_FORMAT);
    CASE("bad character", strdup("{{ a ? b }}"), WK_ERR_FORMAT);
    CASE("huge int literal", strdup("{{ 99999999999999999999999 }}"), WK_ERR_FORMAT);
    CASE("unknown filter", strdup("{{ 'a'|frobnicate }}"), WK_ERR_INVALID_ARG);
    CASE("int overflow", strdup("{{ 9223372036854775807 + 1 }}"), WK_ERR_INVALID_ARG);
    CASE("division by zero", strdup("{{ 1 // 0 }}"), WK_ERR_INVALID_ARG);
    CASE("huge range", strdup("{% for i in range(1000000000) %}{% endfor %}"), WK_ERR_INVALID_ARG);
    CASE("nested loops", strdup("{% for i in range(5000) %}{% for j in range(5000) %}{% endfor %}{% endfor %}"),
         WK_ERR_INVALID_ARG);
    CASE("string repeat bomb", strdup("{{ 'x' * 1000000000 }}"), WK_ERR_INVALID_ARG);
    CASE("doubling bomb", strdup("{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(64) %}"
                                 "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}"),
         WK_ERR_INVALID_ARG);
    CASE("output bomb", strdup("{% for i in range(3000) %}{% for m in range(3000) %}xxxxxxxxxxxxxxxx"
                               "{% endfor %}{% endfor %}"),
         WK_ERR_INVALID_ARG);
    /* deep nesting: parentheses, unary minus, not, blocks */
    size_t D = 100000;
    char *deep = malloc(2 * D + 16);
    strcpy(deep, "{{ ");
    memset(deep + 3, '(', D);
    strcpy(deep + 3 + D, "1 }}");
    CASE("100000 nested parentheses", deep, WK_ERR_FORMAT);
    char *neg = malloc(D + 16);
    strcpy(neg, "{{ ");
    memset(neg + 3, '-', D);
    strcpy(neg + 3 + D, "1 }}");
    CASE("100000 unary minus", neg, WK_ERR_FORMAT);
    size_t K = 20000;
    char *ifs = malloc(K * 13 + 16), *w = ifs;
    for (size_t i = 0; i < K; i++) w += sprintf(w, "{%% if 1 %%}");
    CASE("20000 nested ifs", ifs, WK_ERR_FORMAT);
    char *nots = malloc(K * 4 + 16);
    w = nots + sprintf(nots, "{{ ");
    for (size_t i = 0; i < K; i++) w += sprintf(w, "not ");
    strcpy(w, "1 }}");
    CASE("20000 nots", nots, WK_ERR_FORMAT);

    int ok = 0;
    for (int i = 0; i < n; i++) {
        st = render(cases[i].src, &out);
        if (st == cases[i].want && !out && wk_last_error()[0]) ok++;
        else printf("    %s: status %d (want %d) %s\n", cases[i].what, st, cases[i].want, wk_last_error());
        free(out);
        free(cases[i].src);
    }
    /* NULL arguments */
    wk_chat_template *t = NULL;
    int nulls = 0;
    nulls += wk_chat_template_parse(NULL, 0, &t) == WK_ERR_INVALID_ARG;
    nulls += wk_chat_template_parse("x", 1, NULL) == WK_ERR_INVALID_ARG;
    nulls += wk_chat_template_apply(NULL, conv, 1, NULL, &out, NULL) == WK_ERR_INVALID_ARG;
    wk_chat_template_parse("x", 1, &t);
    wk_chat_message norole = {NULL, "x"};
    nulls += wk_chat_template_apply(t, &norole, 1, NULL, &out, NULL) == WK_ERR_INVALID_ARG;
    nulls += wk_chat_template_apply(t, NULL, 3, NULL, &out, NULL) == WK_ERR_INVALID_ARG;
    nulls += wk_chat_template_apply(t, conv, 1, NULL, NULL, NULL) == WK_ERR_INVALID_ARG;
    wk_chat_template_free(t);
    wk_chat_template_free(NULL);
    CHECK(nulls == 6, "NULL arguments (%d of 6 rejected)", nulls);

    /* Random templates built from Jinja fragments: any outcome but a crash or a hang. */
    static const char *frag[] = {"{{", "}}", "{%", "%}", "{#", "#}", "-", "+", " if ", " for ", " in ", " endif ",
                                 " endfor ", " set ", "=", "messages", "m", ".role", "[0]", "[1:]", "|length", "|tojson",
                                 "(", ")", "'", "\"", "x", " else ", " elif ", "loop.index", " and ", " not ", ",", ":",
                                 "1", "\n", "ns", "namespace(", "range(9)", "~", "*", "**", " is ", " defined", "[", "]"};
    uint64_t s = 99;
    int fuzz_ok = 0, fuzz_n = 3000;
    char buf[512];
    for (int i = 0; i < fuzz_n; i++) {
        size_t m = 0;
        int parts = 1 + (int)(s % 40);
        for (int k = 0; k < parts; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            const char *f = frag[(s >> 33) % (sizeof frag / sizeof frag[0])];
            size_t fl = strlen(f);
            if (m + fl >= sizeof buf) break;
            memcpy(buf + m, f, fl), m += fl;
        }
        buf[m] = 0;
        st = render(buf, &out);
        fuzz_ok += (st == WK_OK) == (out != NULL);
        free(out);
    }
    printf("  hostile: %d of %d bad templates rejected with the right status; %d random templates handled\n", ok, n,
           fuzz_ok);
    CHECK(ok == n, "hostile templates");
    CHECK(fuzz_ok == fuzz_n, "random templates");
}

int main(void) {
    printf("test_chat_template\n");
    snprintf(g_dir, sizeof g_dir, "%s", __FILE__);
    char *slash = strrchr(g_dir, '/');
    if (slash) *slash = 0;
    else strcpy(g_dir, ".");
    strncat(g_dir, "/data/chat_templates", sizeof g_dir - strlen(g_dir) - 1);
    test_golden();
    test_builtins();
    test_hostile();
    printf(fails ? "FAILED (%d)\n" : "all passed\n", fails);
    return fails ? 1 : 0;
}
