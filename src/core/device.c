/* device.c — the device registry. Each backend built into the library has a register
 * function (listed by CMake in wk_backends.h, one X-macro row per backends/<name>/ target)
 * that adds its devices; the CPU's comes first, so device 0 is always the CPU. The
 * registry is filled once, at first use, under a lock. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../../backends/backend.h"

#define MAX_DEVICES 16

static wk_device g_devices[MAX_DEVICES];
static int g_n_devices;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

#define WK_BACKEND(fn) wk_status fn(void);
#include "wk_backends.h"
#undef WK_BACKEND

wk_status wk_device_register(const char *prefix, const wk_device_i *iface, void *impl, wk_device **out) {
    if (g_n_devices == MAX_DEVICES) return wk_err(WK_ERR_UNSUPPORTED, "device registry: more than %d devices", MAX_DEVICES);
    int idx = 0;
    for (int i = 0; i < g_n_devices; i++)
        if (strncmp(g_devices[i].name, prefix, strlen(prefix)) == 0) idx++;
    wk_device *d = &g_devices[g_n_devices++];
    d->iface = iface;
    d->impl = impl;
    if (strcmp(prefix, "cpu") == 0) snprintf(d->name, sizeof d->name, "cpu");
    else snprintf(d->name, sizeof d->name, "%s%d", prefix, idx);
    if (out) *out = d;
    return WK_OK;
}

static void fill(void) {
    /* a backend whose devices cannot be opened (no driver, no GPU) adds none; its
     * message stays readable through wk_last_error() until the next failing call */
#define WK_BACKEND(fn) (void)fn();
#include "wk_backends.h"
#undef WK_BACKEND
}

static void ensure(void) { pthread_once(&g_once, fill); }

int wk_device_count(void) {
    ensure();
    return g_n_devices;
}

wk_device *wk_device_get(int i) {
    ensure();
    return i >= 0 && i < g_n_devices ? &g_devices[i] : NULL;
}

wk_device *wk_device_cpu(void) { return wk_device_get(0); }

wk_device *wk_device_by_name(const char *name) {
    ensure();
    for (int i = 0; name && i < g_n_devices; i++)
        if (strcmp(g_devices[i].name, name) == 0) return &g_devices[i];
    char list[256] = "";
    size_t n = 0;
    for (int i = 0; i < g_n_devices && n < sizeof list; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", g_devices[i].name);
    return wk_err_null(WK_ERR_INVALID_ARG, "no device named '%s' (devices here: %s)", name ? name : "(null)", list);
}

void wk_device_get_props(wk_device *d, wk_device_props *out) {
    memset(out, 0, sizeof *out);
    if (!d) return;
    d->iface->props(d, out);
    out->name = d->name;
}

const char *wk_device_name(const wk_device *d) { return d ? d->name : "(none)"; }

const char *wk_device_kind_name(wk_device_kind k) {
    switch (k) {
    case WK_DEVICE_CPU: return "cpu";
    case WK_DEVICE_GPU: return "gpu";
    case WK_DEVICE_IGPU: return "igpu";
    case WK_DEVICE_SOFTWARE: return "software";
    }
    return "?";
}

wk_status wk_device_backend_create(wk_device *d, int n_threads, wk_backend **out) {
    if (!d || !out) return wk_err(WK_ERR_INVALID_ARG, "wk_device_backend_create: NULL argument");
    *out = NULL;
    return d->iface->backend_create(d, n_threads, out);
}

wk_device *wk_backend_device(const wk_backend *be) { return be ? be->device : NULL; }

wk_buffer_type *wk_device_buffer_type(wk_device *d) { return d ? d->iface->buffer_type(d) : NULL; }

wk_device *wk_device_default_gpu(void) {
    static const wk_device_kind order[] = {WK_DEVICE_GPU, WK_DEVICE_IGPU, WK_DEVICE_SOFTWARE};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < wk_device_count(); i++) {
            wk_device_props p;
            wk_device_get_props(&g_devices[i], &p);
            if (p.kind == order[k]) return &g_devices[i];
        }
    return NULL;
}
