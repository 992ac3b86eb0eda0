/* sched.c — the scheduler: runs one graph over several backends.
 *
 * Assignment (once per graph and scheduler): a node that reads a leaf which lives on a
 * backend (a weight or KV cache in its buffer; any leaf not flagged input) runs there when
 * that backend supports it; a node writing into a leaf (SET_ROWS, CPY) must run where that
 * leaf lives; other nodes follow their first source's backend, then the others in order of
 * preference; the CPU takes whatever no other backend supports. Views compute nothing and
 * stay with their storage. Consecutive nodes of one backend form a split.
 * Memory: intermediates are planned in one pool per backend (planner.c, lifetimes in graph
 * order); a source that lives on another backend than the split reading it gets a shadow
 * copy in the reader's pool, refreshed before the split runs, and the split's nodes read
 * the shadow (their source pointers are swapped for the split's run, then restored).
 * A device backend's work is queued; the scheduler waits for it before the CPU reads what
 * it wrote, and before returning.
 * With the CPU alone (wk_graph_compute on the CPU backend) none of this runs: one plan, one
 * host activation buffer, one split. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/backend.h"
#include "graph.h"

#define MAX_BE WK_PLAN_MAX_POOLS

const char *wk_backend_name(const wk_backend *be) { return be ? be->iface->name(be) : "(none)"; }

void wk_backend_free(wk_backend *be) {
    if (be) be->iface->free(be);
}

static wk_status check_leaves(const wk_graph *g) {
    for (int i = 0; i < g->n_leafs; i++) {
        size_t o;
        if (!g->leafs[i]->data && !wk_tensor_buffer_offs(g->leafs[i], &o))
            return wk_err(WK_ERR_INVALID_ARG, "graph: leaf tensor '%s' has no data", g->leafs[i]->name);
    }
    return WK_OK;
}

/* ---- the CPU-only path ---- */

/* Plans once per graph shape; binds every time, since another graph sharing nodes with
 * this one may have pointed them into its own buffer meanwhile. */
static wk_status ensure_plan(wk_graph *g) {
    if (g->planned && !g->splan) {
        wk_graph_bind(g, g->buf);
        return WK_OK;
    }
    wk_status st = wk_graph_plan(g);
    if (st != WK_OK) return st;
    if (g->buf_size < g->plan_bytes) {
        free(g->buf);
        g->buf = NULL;
        g->buf_size = 0;
        if (g->plan_bytes) {
            g->buf = aligned_alloc(64, g->plan_bytes);
            if (!g->buf) return wk_err(WK_ERR_NOMEM, "graph: cannot allocate %zu activation bytes", g->plan_bytes);
            g->buf_size = g->plan_bytes;
        }
    }
    wk_graph_bind(g, g->buf);
    return WK_OK;
}

static wk_status cpu_only(wk_backend *be, wk_graph *g, int n_nodes) {
    wk_status st = check_leaves(g);
    if (st != WK_OK) return st;
    if (g->splan) wk_sched_plan_free(g); /* this graph ran under a scheduler before */
    if ((st = ensure_plan(g)) != WK_OK) return st;
    for (int i = 0; i < n_nodes; i++)
        if (!be->iface->supports_op(be, g->nodes[i]))
            return wk_err(WK_ERR_UNSUPPORTED, "%s does not support %s on '%s' (%s)", wk_backend_name(be),
                          wk_op_name(g->nodes[i]->op), g->nodes[i]->name,
                          wk_type_name(g->nodes[i]->src[0] ? g->nodes[i]->src[0]->type : g->nodes[i]->type));
    return n_nodes ? be->iface->graph_compute(be, g, 0, n_nodes) : WK_OK;
}

static wk_status sched_run(wk_sched *s, wk_graph *g, int n_nodes);

static wk_status one_backend(wk_backend *be, wk_graph *g, int n_nodes) {
    if (wk_backend_is_host(be)) return cpu_only(be, g, n_nodes);
    /* a device backend alone still needs the CPU for what it cannot run */
    wk_backend *cpu = NULL;
    wk_status st = wk_backend_cpu_create(1, &cpu);
    if (st != WK_OK) return st;
    wk_backend *list[2] = {be, cpu};
    wk_sched *s = NULL;
    if ((st = wk_sched_create(list, 2, &s)) == WK_OK) st = sched_run(s, g, n_nodes);
    wk_sched_free(s);
    wk_sched_plan_free(g); /* its buffers belonged to this one-off scheduler */
    wk_backend_free(cpu);
    return st;
}

/* 1 + the index of t among g's nodes, or 0 when t is not one */
static int nodes_through(const wk_graph *g, const wk_tensor *t) {
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i] == t) return i + 1;
    return 0;
}

wk_status wk_graph_compute(wk_backend *be, wk_graph *g) {
    if (!be || !g) return wk_err(WK_ERR_INVALID_ARG, "wk_graph_compute: NULL backend or graph");
    return one_backend(be, g, g->n_nodes);
}

wk_status wk_graph_compute_until(wk_backend *be, wk_graph *g, const wk_tensor *t) {
    if (!be || !g || !t) return wk_err(WK_ERR_INVALID_ARG, "wk_graph_compute_until: NULL argument");
    int n = nodes_through(g, t);
    if (n) return one_backend(be, g, n);
    return wk_err(WK_ERR_INVALID_ARG, "wk_graph_compute_until: '%s' is not a node of the graph", t->name);
}

/* ---- the scheduler ---- */

struct wk_sched {
    wk_backend *be[MAX_BE];
    int n_be, cpu;
    uint64_t id;           /* plans remember which scheduler made them */
    int last_splits, last_on[MAX_BE];
};

typedef struct { int be, first, last, shadow0, n_shadow, swap0, n_swap; } split;
typedef struct {
    wk_tensor *src;        /* what is read (any tensor, views included) */
    wk_tensor t;           /* its copy in the split's pool: same type, shape and strides */
    int from, to;          /* backend the source lives on, backend of the split reading it */
} shadow;
typedef struct { int node, slot, shadow; } swap;

struct wk_sched_plan {
    uint64_t sched_id;
    int n_nodes;
    int8_t *assign;        /* per node: backend index */
    split *splits;
    int n_splits;
    shadow *shadows;
    int n_shadows;
    swap *swaps;
    int n_swaps;
    wk_buffer *buf[MAX_BE];
    size_t top[MAX_BE];    /* planned bytes per pool; shadows follow */
};

void wk_sched_plan_free(wk_graph *g) {
    struct wk_sched_plan *p = g->splan;
    if (!p) return;
    for (int b = 0; b < MAX_BE; b++) wk_buffer_free(p->buf[b]);
    free(p->assign);
    free(p->splits);
    free(p->shadows);
    free(p->swaps);
    free(p);
    g->splan = NULL;
    g->planned = false; /* the CPU-only plan must be made again */
}

wk_status wk_sched_create(wk_backend *const *backends, int n, wk_sched **out) {
    static uint64_t next_id = 1;
    if (!backends || !out || n < 1) return wk_err(WK_ERR_INVALID_ARG, "wk_sched_create: no backends");
    *out = NULL;
    if (n > MAX_BE) return wk_err(WK_ERR_INVALID_ARG, "wk_sched_create: more than %d backends", MAX_BE);
    wk_sched *s = calloc(1, sizeof *s);
    if (!s) return wk_err(WK_ERR_NOMEM, "wk_sched_create: out of memory");
    s->cpu = -1;
    for (int i = 0; i < n; i++) {
        if (!backends[i]) {
            free(s);
            return wk_err(WK_ERR_INVALID_ARG, "wk_sched_create: backend %d is NULL", i);
        }
        s->be[i] = backends[i];
        if (s->cpu < 0 && wk_backend_is_host(backends[i])) s->cpu = i;
    }
    if (s->cpu < 0) {
        free(s);
        return wk_err(WK_ERR_INVALID_ARG, "wk_sched_create: a CPU backend must be among the backends (the fallback)");
    }
    s->n_be = n;
    s->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
    *out = s;
    return WK_OK;
}

void wk_sched_free(wk_sched *s) { free(s); }

int wk_sched_n_splits(const wk_sched *s) { return s ? s->last_splits : 0; }
int wk_sched_n_nodes_on(const wk_sched *s, int i) { return s && i >= 0 && i < s->n_be ? s->last_on[i] : 0; }

wk_backend *wk_sched_node_backend(const wk_sched *s, const wk_graph *g, const wk_tensor *t) {
    if (!s || !g || !g->splan || g->splan->sched_id != s->id) return NULL;
    for (int i = 0; i < g->splan->n_nodes; i++)
        if (g->nodes[i] == t) return s->be[g->splan->assign[i]];
    return NULL;
}

/* The backend whose memory holds a leaf: its buffer's device, or the CPU. -1: a device
 * no backend of this scheduler runs on. */
static int leaf_home(const wk_sched *s, const wk_tensor *leaf) {
    size_t o;
    wk_buffer *b = wk_tensor_buffer_offs(leaf, &o);
    if (!b || b->base) return s->cpu;
    wk_device *d = wk_buffer_device(b);
    for (int i = 0; i < s->n_be; i++)
        if (s->be[i]->device == d) return i;
    return -1;
}

static const wk_tensor *root_of(const wk_tensor *t) { return t->view_src ? t->view_src : t; }

/* node -> index, open addressing over a power-of-two table */
typedef struct { const wk_tensor **keys; int *vals; size_t cap; } idx_map;

static size_t hash_ptr(const void *p, size_t cap) {
    return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
}
static bool map_init(idx_map *m, const wk_graph *g) {
    m->cap = 16;
    while (m->cap < (size_t)g->n_nodes * 2 + 2) m->cap *= 2;
    m->keys = calloc(m->cap, sizeof *m->keys);
    m->vals = malloc(m->cap * sizeof *m->vals);
    if (!m->keys || !m->vals) return false;
    for (int i = 0; i < g->n_nodes; i++) {
        size_t h = hash_ptr(g->nodes[i], m->cap);
        while (m->keys[h]) h = (h + 1) & (m->cap - 1);
        m->keys[h] = g->nodes[i];
        m->vals[h] = i;
    }
    return true;
}
static int map_get(const idx_map *m, const wk_tensor *t) {
    for (size_t h = hash_ptr(t, m->cap); m->keys[h]; h = (h + 1) & (m->cap - 1))
        if (m->keys[h] == t) return m->vals[h];
    return -1;
}
static void map_free(idx_map *m) {
    free(m->keys);
    free(m->vals);
}

/* where t's bytes are: a node's root by its assignment, a leaf's by its buffer */
static int home_of(const wk_sched *s, const int8_t *assign, const idx_map *m, const wk_tensor *t) {
    const wk_tensor *r = root_of(t);
    int i = r->op == WK_OP_NONE ? -1 : map_get(m, r);
    return i >= 0 ? assign[i] : leaf_home(s, r);
}

static bool supports(const wk_sched *s, int b, const wk_tensor *node) {
    return s->be[b]->iface->supports_op(s->be[b], node);
}

/* Pinning: the backend of a non-input leaf the node reads (weights, caches), or -2 none. */
static wk_status pinned_home(const wk_sched *s, const wk_tensor *node, int *pin) {
    *pin = -2;
    for (int k = 0; k < WK_MAX_SRC; k++) {
        const wk_tensor *src = node->src[k];
        if (!src) continue;
        const wk_tensor *r = root_of(src);
        if (r->op != WK_OP_NONE || (r->flags & WK_FLAG_INPUT)) continue;
        int h = leaf_home(s, r);
        if (h < 0) return wk_err(WK_ERR_UNSUPPORTED, "scheduler: '%s' lives on a device this scheduler has no backend for", r->name);
        if (*pin == -2 || h != s->cpu) *pin = h; /* a device weight wins over a host one */
    }
    return WK_OK;
}

static wk_status assign_nodes(const wk_sched *s, const wk_graph *g, const idx_map *m, int8_t *assign) {
    int prev = s->cpu;
    for (int i = 0; i < g->n_nodes; i++) {
        const wk_tensor *t = g->nodes[i];
        int b = -1;
        if (wk_op_is_view(t->op)) { /* no work: stays with its storage */
            assign[i] = (int8_t)home_of(s, assign, m, t);
            if (assign[i] < 0) return wk_err(WK_ERR_UNSUPPORTED, "scheduler: '%s' has no home", t->name);
            continue;
        }
        if (t->view_src) { /* writes into its view source's memory: must run there */
            b = home_of(s, assign, m, t->view_src);
            if (b < 0 || !supports(s, b, t))
                return wk_err(WK_ERR_UNSUPPORTED, "%s cannot run %s on '%s', which writes into its memory",
                              b < 0 ? "no backend" : wk_backend_name(s->be[b]), wk_op_name(t->op), t->name);
            assign[i] = (int8_t)b;
            prev = b;
            continue;
        }
        int pin;
        wk_status st = pinned_home(s, t, &pin);
        if (st != WK_OK) return st;
        if (pin >= 0 && supports(s, pin, t)) b = pin;
        if (b < 0 && pin < 0) { /* follow the data: first source's home, then the last node's */
            int h = t->src[0] ? home_of(s, assign, m, t->src[0]) : prev;
            if (h >= 0 && supports(s, h, t)) b = h;
            else if (supports(s, prev, t)) b = prev;
        }
        for (int k = 0; k < s->n_be && b < 0; k++) /* preference order, the CPU among them */
            if (supports(s, k, t)) b = k;
        if (b < 0)
            return wk_err(WK_ERR_UNSUPPORTED, "no backend supports %s on '%s' (%s)", wk_op_name(t->op), t->name,
                          wk_type_name(t->src[0] ? t->src[0]->type : t->type));
        assign[i] = (int8_t)b;
        prev = b;
    }
    return WK_OK;
}

static size_t align_to(size_t x, size_t a) { return (x + a - 1) / a * a; }

static wk_status grow(void **arr, int n, int *cap, size_t elem) {
    if (n < *cap) return WK_OK;
    int nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p) return wk_err(WK_ERR_NOMEM, "scheduler: out of memory");
    *arr = p;
    *cap = nc;
    return WK_OK;
}

/* Splits, and a shadow per (split, foreign source) with the swaps that point readers at it. */
static wk_status make_splits(const wk_sched *s, const wk_graph *g, const idx_map *m, struct wk_sched_plan *p) {
    int cap_sp = 0, cap_sh = 0, cap_sw = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const wk_tensor *t = g->nodes[i];
        int b = p->assign[i];
        if (wk_op_is_view(t->op)) continue;
        if (!p->n_splits || p->splits[p->n_splits - 1].be != b) {
            if (grow((void **)&p->splits, p->n_splits, &cap_sp, sizeof *p->splits) != WK_OK) return WK_ERR_NOMEM;
            p->splits[p->n_splits++] = (split){b, i, i + 1, p->n_shadows, 0, p->n_swaps, 0};
        }
        split *sp = &p->splits[p->n_splits - 1];
        sp->last = i + 1;
        for (int k = 0; k < WK_MAX_SRC; k++) {
            wk_tensor *src = t->src[k];
            if (!src) continue;
            int h = home_of(s, p->assign, m, src);
            if (h == b) continue;
            int found = -1;
            for (int j = sp->shadow0; j < p->n_shadows && found < 0; j++)
                if (p->shadows[j].src == src) found = j;
            if (found < 0) {
                if (grow((void **)&p->shadows, p->n_shadows, &cap_sh, sizeof *p->shadows) != WK_OK) return WK_ERR_NOMEM;
                shadow *sh = &p->shadows[p->n_shadows];
                memset(sh, 0, sizeof *sh);
                sh->src = src;
                sh->from = h;
                sh->to = b;
                sh->t.type = src->type;
                memcpy(sh->t.ne, src->ne, sizeof src->ne);
                memcpy(sh->t.nb, src->nb, sizeof src->nb);
                sh->t.flags = WK_FLAG_PLANNED;
                snprintf(sh->t.name, sizeof sh->t.name, "%.50s#copy", src->name);
                found = p->n_shadows++;
                sp->n_shadow++;
            }
            if (grow((void **)&p->swaps, p->n_swaps, &cap_sw, sizeof *p->swaps) != WK_OK) return WK_ERR_NOMEM;
            p->swaps[p->n_swaps++] = (swap){i, k, found};
            sp->n_swap++;
        }
    }
    return WK_OK;
}

/* one buffer per backend: its planned intermediates, then its shadows */
static wk_status alloc_pools(const wk_sched *s, struct wk_sched_plan *p) {
    size_t need[MAX_BE];
    for (int b = 0; b < s->n_be; b++) need[b] = align_to(p->top[b], 256);
    size_t *at = malloc(((size_t)p->n_shadows + 1) * sizeof *at);
    if (!at) return wk_err(WK_ERR_NOMEM, "scheduler: out of memory");
    for (int j = 0; j < p->n_shadows; j++) {
        int b = p->shadows[j].to;
        at[j] = need[b];
        need[b] = align_to(need[b] + wk_tensor_nbytes(&p->shadows[j].t), 256);
    }
    for (int b = 0; b < s->n_be; b++) {
        if (!need[b]) continue;
        wk_status st = wk_buffer_alloc(wk_device_buffer_type(s->be[b]->device), need[b], &p->buf[b]);
        if (st != WK_OK) {
            free(at);
            return wk_err(st, "%s: cannot allocate %zu bytes of activations: %s", wk_backend_name(s->be[b]), need[b],
                          wk_last_error());
        }
    }
    for (int j = 0; j < p->n_shadows; j++) {
        wk_buffer *buf = p->buf[p->shadows[j].to];
        p->shadows[j].t.buffer = buf;
        p->shadows[j].t.offs = at[j];
        p->shadows[j].t.data = buf->base ? (char *)buf->base + at[j] : NULL;
    }
    free(at);
    return WK_OK;
}

static wk_status build_plan(wk_sched *s, wk_graph *g) {
    wk_sched_plan_free(g);
    struct wk_sched_plan *p = calloc(1, sizeof *p);
    idx_map m = {0};
    wk_status st = WK_ERR_NOMEM;
    if (!p || !map_init(&m, g) || !(p->assign = malloc((size_t)g->n_nodes + 1))) {
        st = wk_err(WK_ERR_NOMEM, "scheduler: out of memory");
        goto fail;
    }
    p->sched_id = s->id;
    p->n_nodes = g->n_nodes;
    if ((st = assign_nodes(s, g, &m, p->assign)) != WK_OK) goto fail;
    if ((st = make_splits(s, g, &m, p)) != WK_OK) goto fail;
    if ((st = wk_graph_plan_pools(g, p->assign, s->n_be, p->top)) != WK_OK) goto fail;
    if ((st = alloc_pools(s, p)) != WK_OK) goto fail;
    map_free(&m);
    g->splan = p;
    return WK_OK;
fail:
    map_free(&m);
    g->splan = p;
    wk_sched_plan_free(g);
    return st;
}

/* every planned node into its pool; views after their roots */
static void bind_plan(wk_graph *g) {
    struct wk_sched_plan *p = g->splan;
    for (int i = 0; i < g->n_nodes; i++) {
        wk_tensor *t = g->nodes[i];
        if (g->plan_offs[i] == SIZE_MAX) continue;
        wk_buffer *b = p->buf[p->assign[i]];
        t->buffer = b;
        t->offs = g->plan_offs[i];
        t->data = b->base ? (char *)b->base + t->offs : NULL;
        t->flags |= WK_FLAG_PLANNED;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        wk_tensor *t = g->nodes[i];
        if (!t->view_src) continue;
        t->data = t->view_src->data ? (char *)t->view_src->data + t->view_offs : NULL;
    }
}

/* refresh a split's shadows from their sources' backends */
static wk_status fill_shadows(wk_sched *s, struct wk_sched_plan *p, const split *sp, bool *synced) {
    for (int j = sp->shadow0; j < sp->shadow0 + sp->n_shadow; j++) {
        shadow *sh = &p->shadows[j];
        size_t n = wk_tensor_nbytes(sh->src);
        wk_backend *from = s->be[sh->from], *to = s->be[sp->be];
        wk_status st;
        if (sh->src->data) { /* host source: the destination takes the bytes now */
            st = to->iface->set_async(to, &sh->t, sh->src->data, 0, n);
        } else if (sh->t.data) { /* device -> host: wait for it */
            if ((st = from->iface->get_async(from, sh->src, sh->t.data, 0, n)) == WK_OK && !synced[sh->from]) {
                st = from->iface->synchronize(from);
                synced[sh->from] = true;
            }
        } else { /* device -> another device, through host memory */
            void *tmp = malloc(n ? n : 1);
            if (!tmp) return wk_err(WK_ERR_NOMEM, "scheduler: no memory to stage %zu bytes", n);
            st = from->iface->get_async(from, sh->src, tmp, 0, n);
            if (st == WK_OK) st = from->iface->synchronize(from);
            if (st == WK_OK) st = to->iface->set_async(to, &sh->t, tmp, 0, n);
            free(tmp);
        }
        if (st != WK_OK) return st;
    }
    return WK_OK;
}

static wk_status run_split(wk_sched *s, wk_graph *g, const split *sp, int last) {
    struct wk_sched_plan *p = g->splan;
    wk_backend *be = s->be[sp->be];
    /* swap the readers' sources to the shadows for this run */
    wk_tensor *saved[64];
    const int n_sw = sp->n_swap, sw0 = sp->swap0;
    wk_tensor **save = n_sw <= 64 ? saved : malloc((size_t)n_sw * sizeof *save);
    if (!save) return wk_err(WK_ERR_NOMEM, "scheduler: out of memory");
    for (int k = 0; k < n_sw; k++) {
        const swap *w = &p->swaps[sw0 + k];
        save[k] = g->nodes[w->node]->src[w->slot];
        g->nodes[w->node]->src[w->slot] = &p->shadows[w->shadow].t;
    }
    wk_status st = be->iface->graph_compute(be, g, sp->first, last);
    for (int k = 0; k < n_sw; k++) {
        const swap *w = &p->swaps[sw0 + k];
        g->nodes[w->node]->src[w->slot] = save[k];
    }
    if (save != saved) free(save);
    return st;
}

static wk_status sched_run(wk_sched *s, wk_graph *g, int n_nodes) {
    wk_status st = check_leaves(g);
    if (st != WK_OK) return st;
    if (!g->splan || g->splan->sched_id != s->id || g->splan->n_nodes != g->n_nodes)
        if ((st = build_plan(s, g)) != WK_OK) return st;
    bind_plan(g);
    struct wk_sched_plan *p = g->splan;
    bool used[MAX_BE] = {0};
    s->last_splits = 0;
    memset(s->last_on, 0, sizeof s->last_on);
    for (int k = 0; k < p->n_splits && st == WK_OK; k++) {
        const split *sp = &p->splits[k];
        if (sp->first >= n_nodes) break;
        bool synced[MAX_BE] = {0};
        if ((st = fill_shadows(s, p, sp, synced)) != WK_OK) break;
        int last = sp->last < n_nodes ? sp->last : n_nodes;
        st = run_split(s, g, sp, last);
        used[sp->be] = true;
        s->last_splits++;
        for (int i = sp->first; i < last; i++) s->last_on[sp->be] += !wk_op_is_view(g->nodes[i]->op);
    }
    for (int b = 0; b < s->n_be; b++) /* a failed run still drains what was queued */
        if (used[b] && b != s->cpu) {
            wk_status st2 = s->be[b]->iface->synchronize(s->be[b]);
            if (st == WK_OK) st = st2;
        }
    return st;
}

wk_status wk_sched_compute(wk_sched *s, wk_graph *g) {
    if (!s || !g) return wk_err(WK_ERR_INVALID_ARG, "wk_sched_compute: NULL argument");
    return sched_run(s, g, g->n_nodes);
}

wk_status wk_sched_compute_until(wk_sched *s, wk_graph *g, const wk_tensor *t) {
    if (!s || !g || !t) return wk_err(WK_ERR_INVALID_ARG, "wk_sched_compute_until: NULL argument");
    int n = nodes_through(g, t);
    if (n) return sched_run(s, g, n);
    return wk_err(WK_ERR_INVALID_ARG, "wk_sched_compute_until: '%s' is not a node of the graph", t->name);
}
