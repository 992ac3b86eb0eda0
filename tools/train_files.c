/* train_files.c — the run directory of `wick train` / `finetune` / `distill`: checkpoint
 * files (ckpt-<step>.gguf: finding the newest, pruning old ones), DIR/log.csv (trimmed on
 * resume) and its plot DIR/loss.svg, plus small file and time helpers the loop uses. */
#include "train_files.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *wk_train_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap) break;
        char *nb = realloc(buf, (cap *= 2) + 1);
        if (!nb) free(buf);
        buf = nb;
    }
    const int err = ferror(f);
    fclose(f);
    if (!buf || err) return free(buf), NULL;
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

static long ckpt_step(const char *name) {
    long s;
    return strlen(name) == 18 && sscanf(name, "ckpt-%8ld.gguf", &s) == 1 ? s : -1;
}

void wk_train_prune_checkpoints(const char *dir, long keep) {
    if (keep <= 0) return;
    DIR *d = opendir(dir);
    if (!d) return;
    long steps[4096];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096) {
        const long s = ckpt_step(e->d_name);
        if (s >= 0) steps[n++] = s;
    }
    closedir(d);
    for (int i = 0; i < n; i++) {
        int newer = 0;
        for (int j = 0; j < n; j++) newer += steps[j] > steps[i];
        if (newer >= keep) {
            char p[4200];
            snprintf(p, sizeof p, "%s/ckpt-%08ld.gguf", dir, steps[i]);
            remove(p);
        }
    }
}

/* --resume DIR: its newest ckpt-*.gguf */
int wk_train_latest_checkpoint(const char *dir, char *out, size_t cap) {
    DIR *d = opendir(dir);
    if (!d) return 1;
    long best = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        const long s = ckpt_step(e->d_name);
        if (s > best) best = s;
    }
    closedir(d);
    if (best < 0) return 1;
    snprintf(out, cap, "%s/ckpt-%08ld.gguf", dir, best);
    return 0;
}

/* ---- log.csv and loss.svg ------------------------------------------------------------------ */

typedef struct {
    long step;
    double loss, val, vkl; /* train loss (distill: CE), validation loss (CE), validation KL */
} pt;

/* DIR/loss.svg from DIR/log.csv: train loss per step (line) and validation loss (dots). */
void wk_train_write_svg(const char *dir, const char *title, int distill) {
    char p[4200], tmp[4200];
    snprintf(p, sizeof p, "%s/log.csv", dir);
    size_t len;
    char *csv = wk_train_read_file(p, &len);
    if (!csv) return;
    size_t cap = 1024, n = 0;
    pt *v = malloc(cap * sizeof *v);
    for (char *s = strchr(csv, '\n'); v && s && s[1]; s = strchr(s + 1, '\n')) {
        /* fields: step,tokens,loss,val_loss,...; distill: train CE is field 10, val KL 11 */
        pt q = {0, NAN, NAN, NAN};
        const char *f[12] = {0};
        int nf = 0;
        for (const char *c = s + 1; nf < 12 && *c && *c != '\n'; nf++) {
            f[nf] = c;
            while (*c && *c != ',' && *c != '\n') c++;
            if (*c == ',') c++;
            else break;
        }
        if (nf < 4) continue;
        q.step = atol(f[0]);
        const char *lo = distill ? f[10] : f[2], *va = f[3], *vk = distill ? f[11] : NULL;
        q.loss = lo && *lo != ',' && *lo != '\n' && *lo ? atof(lo) : NAN;
        q.val = *va != ',' && *va != '\n' ? atof(va) : NAN;
        q.vkl = vk && *vk != ',' && *vk != '\n' && *vk ? atof(vk) : NAN;
        if (n == cap) {
            pt *nv = realloc(v, (cap *= 2) * sizeof *v);
            if (!nv) break;
            v = nv;
        }
        v[n++] = q;
    }
    free(csv);
    if (!v || n == 0) return free(v);
    double ymin = INFINITY, ymax = -INFINITY;
    long xmax = 1;
    for (size_t i = 0; i < n; i++) {
        const double ys[3] = {v[i].loss, v[i].val, v[i].vkl};
        for (int k = 0; k < 3; k++)
            if (isfinite(ys[k])) ymin = fmin(ymin, ys[k]), ymax = fmax(ymax, ys[k]);
        if (v[i].step > xmax) xmax = v[i].step;
    }
    if (!isfinite(ymin)) return free(v);
    ymin = floor(ymin * 2) / 2, ymax = ceil(ymax * 2) / 2;
    if (ymax <= ymin) ymax = ymin + 1;
    const double W = 720, H = 420, L = 60, R = 20, T = 30, B = 50;
#define X(s) (L + (double)(s) / (double)xmax * (W - L - R))
#define Y(y) (T + (ymax - (y)) / (ymax - ymin) * (H - T - B))
    snprintf(tmp, sizeof tmp, "%s/.loss.svg.tmp", dir);
    FILE *f = fopen(tmp, "w");
    if (!f) return free(v);
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%g\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">%s</text>\n", W / 2,
            title);
    for (int k = 0; k <= 5; k++) { /* grid and axis labels */
        const double y = ymin + (ymax - ymin) * k / 5, x = (double)xmax * k / 5;
        fprintf(f, "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L, Y(y), W - R, Y(y));
        fprintf(f, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n", L - 6, Y(y) + 4, y);
        fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%.0f</text>\n", X(x), H - B + 16, x);
    }
    fprintf(f, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"black\"/>\n", L, T, W - L - R, H - T - B);
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">step</text>\n", (L + W - R) / 2, H - 12);
    fprintf(f, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.2\" points=\"");
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i].loss)) fprintf(f, "%.1f,%.1f ", X(v[i].step), Y(v[i].loss));
    fprintf(f, "\"/>\n<polyline fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"2\" points=\"");
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i].val)) fprintf(f, "%.1f,%.1f ", X(v[i].step), Y(v[i].val));
    fprintf(f, "\"/>\n");
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i].val)) fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#ff7f0e\"/>\n", X(v[i].step), Y(v[i].val));
    fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#1f77b4\" stroke-width=\"2\"/><text x=\"%g\" y=\"%g\">train</text>\n",
            W - R - 150, T + 15, W - R - 125, T + 15, W - R - 120, T + 19);
    fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#ff7f0e\" stroke-width=\"2\"/><text x=\"%g\" y=\"%g\">validation</text>\n",
            W - R - 150, T + 32, W - R - 125, T + 32, W - R - 120, T + 36);
    if (distill) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"#2ca02c\" stroke-width=\"2\" points=\"");
        for (size_t i = 0; i < n; i++)
            if (isfinite(v[i].vkl)) fprintf(f, "%.1f,%.1f ", X(v[i].step), Y(v[i].vkl));
        fprintf(f, "\"/>\n");
        fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#2ca02c\" stroke-width=\"2\"/><text x=\"%g\" y=\"%g\">validation KL</text>\n",
                W - R - 150, T + 49, W - R - 125, T + 49, W - R - 120, T + 53);
    }
    fprintf(f, "</svg>\n");
#undef X
#undef Y
    free(v);
    char final[4200];
    snprintf(final, sizeof final, "%s/loss.svg", dir);
    if (fclose(f) == 0) rename(tmp, final);
    else remove(tmp);
}

/* On resume: log.csv keeps only the rows up to the checkpoint's step (rewritten atomically). */
int wk_train_trim_csv(const char *dir, int64_t step) {
    char p[4200], tmp[4200];
    snprintf(p, sizeof p, "%s/log.csv", dir);
    snprintf(tmp, sizeof tmp, "%s/.log.csv.tmp", dir);
    size_t len;
    char *csv = wk_train_read_file(p, &len);
    if (!csv) return 0; /* no log yet: a new one starts */
    FILE *f = fopen(tmp, "w");
    if (!f) return free(csv), 1;
    int first = 1;
    for (char *s = csv; s && *s;) {
        char *nl = strchr(s, '\n');
        if (nl) *nl = 0;
        long st;
        if (first || (sscanf(s, "%ld,", &st) == 1 && st <= step)) fprintf(f, "%s\n", s);
        first = 0;
        s = nl ? nl + 1 : NULL;
    }
    free(csv);
    if (fclose(f) != 0 || rename(tmp, p) != 0) return remove(tmp), 1;
    return 0;
}

int wk_train_mkdir_p(const char *dir) {
    char p[4096];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0755) && errno != EEXIST) return 1;
            *s = '/';
        }
    if (mkdir(p, 0755) && errno != EEXIST) return 1;
    struct stat st;
    return stat(p, &st) || !S_ISDIR(st.st_mode) || access(p, W_OK);
}

const char *wk_train_fmt_time(double s, char *buf, size_t cap) {
    if (!(s >= 0) || s > 1e7) return snprintf(buf, cap, "?"), buf;
    long t = (long)s;
    if (t >= 3600) snprintf(buf, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, cap, "%lds", t);
    return buf;
}

