/*
 * examples/posix/main.c - a shell pipeline over the POSIX-style layer
 * (posix.h): producer | filter | consumer, each a process of its own,
 * joined by two pipes.
 *
 *   build/examples/posix                      one run, a line per line read
 *   HOPSIM_MSC=posix.msc build/examples/posix its sequence chart
 *   HOPSIM_SEED=7 build/examples/posix        another interleaving
 *
 * The shell makes both pipes, spawns the three stages with the ends each
 * uses (px_spawn, the fork of this layer), closes its own copies and
 * waits.  The producer writes numbered lines of growing length, some
 * longer than one atomic pipe write, more than a pipe's ring holds, so
 * writers block until the reader makes room.  The filter upper-cases
 * what it reads in small pieces and writes it on; the consumer prints
 * each line as it arrives and compares the whole stream with what the
 * producer wrote, upper-cased.  End of file travels down the pipeline:
 * the producer's close ends the filter's reads, whose close ends the
 * consumer's.  The program exits 1 if a byte was lost, added or
 * reordered, or a stage failed.
 */
#include <stdio.h>
#include <string.h>

#include "posix.h"

#define LINES 24
#define TEXT_MAX 8192

static char sent[TEXT_MAX];         /* what the producer writes */
static size_t nsent;
static char got[TEXT_MAX];          /* what the consumer read */
static size_t ngot;
static long eof = -1;               /* the consumer's last read: 0 at EOF */
static int lines_seen;
static int failed = -1;             /* the shell's status: a stage failed */

/* Line i: its number and i * 13 letters, so that lines 20 and up are
 * longer than one atomic write (PX_PIPE_BUF). */
static size_t line_make(int i, char *buf, size_t len)
{
    int n = snprintf(buf, len, "line %02d ", i);
    for (int k = 0; k < i * 13 && (size_t)n + 2 < len; k++)
        buf[n++] = (char)('a' + (i + k) % 26);
    buf[n++] = '\n';
    return (size_t)n;
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static int producer(void *arg)
{
    int out = (int)(intptr_t)arg;
    char line[512];
    for (int i = 0; i < LINES; i++) {
        size_t n = line_make(i, line, sizeof line);
        if (nsent + n > sizeof sent || px_write(out, line, n) != (ssize_t)n)
            return 1;
        memcpy(sent + nsent, line, n);
        nsent += n;
    }
    return px_close(out) == 0 ? 0 : 1;
}

static int filter(void *arg)
{
    const int *fd = arg;            /* read end, write end */
    char buf[100];                  /* smaller than one pipe message */
    ssize_t n;
    while ((n = px_read(fd[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            buf[i] = upper(buf[i]);
        if (px_write(fd[1], buf, (size_t)n) != n)
            return 1;
    }
    (void)px_close(fd[0]);
    return n == 0 && px_close(fd[1]) == 0 ? 0 : 1;
}

/* Print every complete line of got from *from on. */
static void lines_print(size_t *from)
{
    for (size_t i = *from; i < ngot; i++) {
        if (got[i] != '\n')
            continue;
        int len = (int)(i - *from);
        printf("[%9llu ns] consumer: %.*s%s\n",
               (unsigned long long)hs_time_now(), len > 40 ? 40 : len,
               got + *from, len > 40 ? "..." : "");
        lines_seen++;
        *from = i + 1;
    }
}

static int consumer(void *arg)
{
    int in = (int)(intptr_t)arg;
    size_t printed = 0;
    ssize_t n;
    while ((n = px_read(in, got + ngot, sizeof got - ngot)) > 0) {
        ngot += (size_t)n;
        lines_print(&printed);
    }
    eof = (long)n;
    return px_close(in) == 0 && n == 0 ? 0 : 1;
}

/* The shell: producer | filter | consumer. */
static int sh(void *arg)
{
    (void)arg;
    static int mid[2];              /* the filter's ends: read, write */
    int a[2], b[2];
    if (px_pipe(a) != 0 || px_pipe(b) != 0)
        return 1;
    mid[0] = a[0];
    mid[1] = b[1];
    hs_pid_t pid[3];
    if (px_spawn("producer", producer, (void *)(intptr_t)a[1], &a[1], 1,
                 &pid[0]) != 0 ||
        px_spawn("filter", filter, mid, mid, 2, &pid[1]) != 0 ||
        px_spawn("consumer", consumer, (void *)(intptr_t)b[0], &b[0], 1,
                 &pid[2]) != 0)
        return 1;
    for (int i = 0; i < 2; i++) {   /* the shell uses none of the ends */
        (void)px_close(a[i]);
        (void)px_close(b[i]);
    }
    int bad = 0;
    for (int i = 0; i < 3; i++) {
        int status = 1;
        (void)hs_proc_wait(pid[i], HS_NEVER, &status);
        bad |= status != 0;
    }
    failed = bad;
    return bad;                     /* the pipes' channels go with sh */
}

int main(void)
{
    hs_sim_config cfg = HS_SIM_DEFAULTS;
    if (hs_sim_start(&cfg) != HS_OK)
        return 1;
    hs_pid_t shell = 0;
    if (hs_proc_spawn("sh", sh, NULL, NULL, &shell) != HS_OK)
        return 1;
    hs_status st = hs_sim_run();
    int same = ngot == nsent;
    for (size_t i = 0; same && i < ngot; i++)
        same = got[i] == upper(sent[i]);
    printf("posix: %zu bytes written, %zu read, %d lines, %s, end of file "
           "%s, %s: %s\n", nsent, ngot, lines_seen,
           same ? "in order" : "LOST OR REORDERED",
           eof == 0 ? "seen" : "NOT SEEN",
           failed == 0 ? "every stage ended well" : "A STAGE FAILED",
           hs_strerror(st));
    return st == HS_OK && same && eof == 0 && lines_seen == LINES &&
           failed == 0 ? 0 : 1;
}
