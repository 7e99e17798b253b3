/*
 * tests/sweep/posix.c - the POSIX-style layer of the gallery
 * (examples/posix/) as a seeded scenario: a shell pipeline whose last
 * stage answers on a message queue.
 *
 *   sh | filter | wc       sh writes three lines into a pipe, the filter
 *                          upper-cases them into a second pipe, wc counts
 *                          lines and words and sends "lines words" on the
 *                          queue /wc, found through the name server.
 *
 * Whatever the seed kills or times out, what wc read is a prefix of what
 * sh wrote, upper-cased: a byte is never added or reordered, and a run
 * ends (a stage whose writer died sees end of file, not a hang).  A run
 * with no fault carries every byte, sees end of file once the writers
 * have closed, and gets the answer "3 62" on the queue.
 *
 * Every process of the pipeline maps its first pages when it starts, so
 * a frame fault (among the first HS_FAULT_WINDOW_DEFAULT allocations)
 * always breaks a stage before any byte flows.  On even seeds sh first
 * makes and drops PX_ABSORB pages of its own, which takes that fault, so
 * that half the seeds carry data under the other faults (kills and
 * reply timeouts); odd seeds try the layer's failure paths when a frame
 * is refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "examples/posix/posix.h"
#include "examples/servers/names.h"

#include "sweep.h"

static const char *const px_text[] = {
    "the quick brown fox\n",
    "jumps over\n",
    "the lazy dog and keeps on running through the fields of a line that "
    "is longer than one atomic pipe write of two hundred and fifty six "
    "bytes, so that the writer sends it in two messages, the reader gets "
    "it in pieces and counts words across them, as a reader of a real "
    "pipe must\n",
};

#define PX_TEXT_MAX 512
#define PX_ABSORB HS_FAULT_WINDOW_DEFAULT
#define PX_SCRATCH_VA ((uint64_t)0x50000000)

static struct {
    size_t sh_written;      /* bytes sh's writes took */
    int sh_closed;          /* sh wrote all it had and closed its end */
    size_t f_in, f_out;     /* bytes the filter read, and wrote on */
    long f_eof;             /* the filter's last read: 0 at end of file */
    int f_done;             /* the filter wrote all it read and closed */
    char got[PX_TEXT_MAX];  /* what wc read, in order */
    size_t ngot;
    long eof;               /* wc's last read: 0 at end of file */
    long sent;              /* its mq_send */
    long received;          /* the shell's mq_receive */
    char answer[64];
    int filter_status, wc_status;
    long unlinked;
    int ended;
} px;

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* The filter: upper-case fd[0] into fd[1], in pieces smaller than one
 * pipe message. */
static int px_filter(void *arg)
{
    const int *fd = arg;
    char buf[100];
    ssize_t n;
    while ((n = px_read(fd[0], buf, sizeof buf)) > 0) {
        px.f_in += (size_t)n;
        for (ssize_t i = 0; i < n; i++)
            buf[i] = upper(buf[i]);
        if (px_write(fd[1], buf, (size_t)n) != n)
            return 1;
        px.f_out += (size_t)n;
    }
    px.f_eof = n;
    (void)px_close(fd[0]);
    int closed = px_close(fd[1]) == 0;
    px.f_done = n == 0 && closed;
    return px.f_done ? 0 : 1;
}

/* wc: count lines and words of its pipe, keep every byte for the check,
 * answer on /wc. */
static int px_wc(void *arg)
{
    int in = (int)(intptr_t)arg;
    char buf[100];
    long lines = 0, words = 0;
    int inword = 0;
    ssize_t n;
    while ((n = px_read(in, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            int space = buf[i] == ' ' || buf[i] == '\n';
            words += !space && !inword;
            inword = !space;
            lines += buf[i] == '\n';
            if (px.ngot < sizeof px.got)
                px.got[px.ngot] = buf[i];
            px.ngot++;
        }
    }
    px.eof = n;
    (void)px_close(in);
    int q = px_mq_open("/wc", PX_O_WRONLY | PX_O_NONBLOCK, NULL);
    if (q < 0)
        return 1;
    char msg[64];
    int len = snprintf(msg, sizeof msg, "%ld %ld", lines, words);
    px.sent = px_mq_send(q, msg, (size_t)len + 1, 7);
    (void)px_mq_close(q);
    return 0;
}

static int px_ns(void *arg)
{
    (void)arg;
    (void)names_serve(1, 0);
    return 0;
}

/* Spawn filter (the filter's ends in mid) and wc; 0 for one not spawned. */
static void px_stages(int a[2], int b[2], int mid[2], hs_pid_t *filter,
                      hs_pid_t *wc)
{
    mid[0] = a[0];
    mid[1] = b[1];
    if (px_spawn("filter", px_filter, mid, mid, 2, filter) != 0)
        *filter = 0;
    if (px_spawn("wc", px_wc, (void *)(intptr_t)b[0], &b[0], 1, wc) != 0)
        *wc = 0;
    (void)px_close(a[0]);
    (void)px_close(b[0]);
    (void)px_close(b[1]);
}

/* Allocate PX_ABSORB frames, one at a time, and give them back (a frame
 * refused is just skipped). */
static void px_absorb(void)
{
    for (unsigned i = 0; i < PX_ABSORB; i++) {
        uint64_t va = PX_SCRATCH_VA + (uint64_t)i * HS_PAGE_4K;
        if (hs_mem_map(va, HS_PAGE_4K, HS_PROT_READ | HS_PROT_WRITE,
                       HS_PAGE_4K) != HS_OK)
            continue;
        (void)hs_mem_write(va, "x", 1);
        (void)hs_mem_unmap(va, HS_PAGE_4K);
    }
}

static int px_sh(void *arg)
{
    if (arg)
        px_absorb();
    hs_tid_t t = 0;
    hs_cap_t gate = 0, ns = 0;
    if (sweep_ns_thread_start(px_ns, &t, &gate) != HS_OK ||
        hs_cap_derive(1, HS_CAP_SEND | HS_CAP_GRANT, 1001, &ns) != HS_OK)
        return 1;
    (void)px_names_set(ns);
    struct px_mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 64 };
    int q = px_mq_open("/wc", PX_O_CREAT | PX_O_RDONLY | PX_O_NONBLOCK,
                       &attr);
    static int mid[2];
    int a[2], b[2];
    hs_pid_t filter = 0, wc = 0;
    if (px_pipe(a) == 0 && px_pipe(b) == 0) {
        px_stages(a, b, mid, &filter, &wc);
        unsigned i = 0;
        for (; i < sizeof px_text / sizeof px_text[0]; i++) {
            ssize_t k = px_write(a[1], px_text[i], strlen(px_text[i]));
            if (k < 0)
                break;
            px.sh_written += (size_t)k;
        }
        int closed = px_close(a[1]) == 0;
        px.sh_closed = i == sizeof px_text / sizeof px_text[0] && closed;
    }
    if (filter)
        (void)hs_proc_wait(filter, HS_NEVER, &px.filter_status);
    if (wc)
        (void)hs_proc_wait(wc, HS_NEVER, &px.wc_status);
    /* wc has answered by now, or never will. */
    if (q >= 0) {
        px.received = px_mq_receive(q, px.answer, sizeof px.answer, NULL);
        px.unlinked = px_mq_unlink("/wc");
        (void)px_mq_close(q);
    }
    (void)names_stop(1);
    (void)hs_thread_join(t, HS_NEVER, NULL);
    px.ended = 1;
    return 0;
}

hs_status sweep_posix_setup(void *arg)
{
    (void)arg;
    memset(&px, 0, sizeof px);
    px.eof = px.f_eof = px.sent = px.received = px.unlinked = -1000;
    px.filter_status = px.wc_status = -1000;
    return hs_proc_spawn("sh", px_sh, (void *)(uintptr_t)(sweep_seed % 2 == 0),
                         NULL, NULL);
}

/* How many of the first n bytes wc read are sh's text, upper-cased, in
 * order: n when all are. */
static size_t px_in_order(size_t n, size_t *total)
{
    size_t k = 0;
    *total = 0;
    for (unsigned i = 0; i < sizeof px_text / sizeof px_text[0]; i++)
        for (const char *c = px_text[i]; *c; c++, (*total)++)
            if (k == *total && k < n && px.got[k] == upper(*c))
                k++;
    return k;
}

/* What must hold of every run, whatever fault fired: wc read sh's text,
 * upper-cased, in order, nothing added; and across each pipe whose two
 * ends both ran to the end, bytes in = bytes out and end of file seen
 * once the writer closed. */
static hs_status px_flow_check(void)
{
    size_t total = 0;
    size_t n = px.ngot < sizeof px.got ? px.ngot : sizeof px.got;
    size_t ok = px_in_order(n, &total);
    if (px.ngot > total || ok != px.ngot)
        return sweep_why("wc read %zu bytes of %zu, the first %zu as written",
                         px.ngot, total, ok);
    if (px.sh_closed && px.f_eof == 0 && px.f_in != px.sh_written)
        return sweep_why("sh wrote %zu bytes and closed; the filter read %zu "
                         "to end of file", px.sh_written, px.f_in);
    if (px.f_done && px.f_out != px.f_in)
        return sweep_why("the filter read %zu bytes and wrote %zu",
                         px.f_in, px.f_out);
    if (px.f_done && px.eof != -1000 && (px.eof != 0 || px.ngot != px.f_out))
        return sweep_why("the filter wrote %zu bytes and closed; wc read %zu, "
                         "last read %ld", px.f_out, px.ngot, px.eof);
    return HS_OK;
}

hs_status sweep_posix_check(void *arg, hs_status run)
{
    (void)arg;
    if (run != HS_OK)
        return sweep_why("run ended with %s", hs_strerror(run));
    hs_status st = px_flow_check();
    if (st != HS_OK || sweep_fault_fired())
        return st;
    size_t total = 0;
    (void)px_in_order(0, &total);
    if (!px.ended || px.ngot != total || px.eof != 0 || px.sent != 0 ||
        px.filter_status != 0 || px.wc_status != 0 ||
        px.received != (long)strlen("3 62") + 1 ||
        strcmp(px.answer, "3 62") != 0 || px.unlinked != 0)
        return sweep_why("fault-free run: %zu of %zu bytes, eof %ld, send "
                         "%ld, filter %d, wc %d, receive %ld '%s', unlink "
                         "%ld", px.ngot, total, px.eof, px.sent,
                         px.filter_status, px.wc_status, px.received,
                         px.answer, px.unlinked);
    return HS_OK;
}
