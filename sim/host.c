/*
 * sim/host.c - host memory, environment, console and the trace sink.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/platform.h"

void *plat_alloc(size_t size)
{
    return malloc(size);
}

void *plat_realloc(void *p, size_t size)
{
    return realloc(p, size);
}

void plat_free(void *p)
{
    free(p);
}

void *plat_alloc_aligned(size_t align, size_t size)
{
    void *p;
    return posix_memalign(&p, align, size) == 0 ? p : NULL;
}

void *plat_mem_reserve(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void plat_mem_release(void *p, size_t size)
{
    if (p)
        munmap(p, size);
}

/* MADV_DONTNEED on private anonymous memory: the pages are dropped and
 * read as zero on the next touch. */
void plat_mem_discard(void *p, size_t len)
{
    if (madvise(p, len, MADV_DONTNEED) != 0)
        memset(p, 0, len);
}

const char *plat_getenv(const char *name)
{
    return getenv(name);
}

void plat_print(const char *s)
{
    size_t len = strlen(s);
    while (len) {
        ssize_t n = write(2, s, len);
        if (n <= 0)
            return;
        s += n;
        len -= (size_t)n;
    }
}

/* The last failure of a file call: the host's reason and the path. */
static char file_error[128];
static const char *file_error_path;

/* Note errno's reason for path; returns HS_EINVAL. */
static hs_status file_failed(const char *path, int err)
{
    snprintf(file_error, sizeof file_error, "%s", strerror(err));
    file_error_path = path;
    return HS_EINVAL;
}

const char *plat_file_error(void)
{
    return file_error;
}

const char *plat_file_error_path(void)
{
    return file_error_path;
}

/* An existing file must be a writable non-directory; a new one needs a
 * folder that exists and may be written. */
hs_status plat_file_writable(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return file_failed(path, EISDIR);
        return access(path, W_OK) == 0 ? HS_OK : file_failed(path, errno);
    }
    if (errno != ENOENT)
        return file_failed(path, errno);
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (stat(dir, &st) != 0)
        return file_failed(path, errno);
    if (!S_ISDIR(st.st_mode))
        return file_failed(path, ENOTDIR);
    return access(dir, W_OK | X_OK) == 0 ? HS_OK : file_failed(path, errno);
}

hs_status plat_file_write(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return file_failed(path, errno);
    size_t n = fwrite(data, 1, len, f);
    int err = ferror(f) ? errno : 0;
    if (fclose(f) != 0 && !err)
        err = errno;
    if (n != len || err)
        return file_failed(path, err ? err : EIO);
    return HS_OK;
}

/* A plat_out is a stdio stream; nothing else is kept. */
hs_status plat_out_open(const char *path, plat_out **out)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return file_failed(path, errno);
    *out = (plat_out *)f;
    return HS_OK;
}

void plat_out_write(plat_out *out, const char *data, size_t len)
{
    fwrite(data, 1, len, (FILE *)out);
}

hs_status plat_out_close(plat_out *out)
{
    FILE *f = (FILE *)out;
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    return bad ? HS_EINVAL : HS_OK;
}

static FILE *trace_file;

hs_status plat_trace_open(const char *path)
{
    plat_trace_close();
    trace_file = fopen(path, "w");
    return trace_file ? HS_OK : file_failed(path, errno);
}

int plat_trace_enabled(void)
{
    return trace_file != NULL;
}

/* One line per event:
 *   <seq> <vtime ns> <kind> t=<thread> a=<a> b=<b> [text] */
void plat_trace_event(const struct plat_event *ev)
{
    if (!trace_file)
        return;
    fprintf(trace_file, "%" PRIu64 " %" PRIu64 " %s t=%" PRIx64 " a=%" PRIx64
            " b=%" PRIx64 "%s%s\n", ev->seq, ev->time, ev->kind, ev->thread,
            ev->a, ev->b, ev->text ? " " : "", ev->text ? ev->text : "");
}

void plat_trace_close(void)
{
    if (trace_file)
        fclose(trace_file);
    trace_file = NULL;
}
