/*
 * sim/backtrace.c - backtraces with libunwind, and source lines with
 * addr2line.
 *
 * A running stack is unwound from here; a parked context from the registers
 * saved in its ucontext_t, and a crashed one from those its signal handler
 * got (libunwind's unw_context_t on x86-64 is a
 * ucontext_t, and both switch implementations fill the slots it reads).
 *
 * One line per frame: "#3 0x000055d0c1a2b3c4 crash_now+0x22 at
 * examples/tour.c:210".  The frames are collected first, then each loaded
 * object that holds some of them is given to one addr2line process (GNU
 * binutils, there wherever gcc is) for file and line; a frame addr2line
 * cannot place is printed with its symbol alone.  Paths under hopsim's own
 * source tree are printed relative to it, as gdb prints them.
 *
 * hopsim's own frames are left out, so that a backtrace shows the
 * program's code: a frame is hopsim's when its source lies in one of the
 * library's folders (LIB_DIRS of the Makefile) under that tree, the tree
 * being where addr2line places this very file; without source lines, when
 * it lies in the shared object that holds this file (libhopsim.so; in a
 * program linked with the static library nothing tells them apart, and
 * every frame is printed).  The outermost run of hopsim's frames started
 * the stack (a simulated thread's or a handler's entry): it goes, with
 * whatever called it (the C library's start of a context or a thread).
 * Of any other run, the outermost frame is kept, as the program called
 * it: the public call the program made (hs_hop_call, hs_hop_backtrace),
 * which also names the call for the kernel's "called outside a simulated
 * thread" message.
 *
 * Everything is static and the child is started with clone() on a stack of
 * its own, without malloc: a crash report runs in a signal handler,
 * perhaps in a thread that crashed inside malloc.  Two backtraces at once
 * (a crash on one CPU while another prints one) cannot share the buffers:
 * the second is printed as unwound, without source lines, every frame.
 */
#define UNW_LOCAL_ONLY
#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <limits.h>
#include <link.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/internal.h"

#define MAX_FRAMES   64
#define MAX_OBJECTS  8
#define NAME_LEN     128
#define LOC_LEN      256
#define OUT_LEN      (64 * 1024)     /* addr2line's answer for one object */
#define CHILD_STACK  (16 * 1024)
#define ADDR2LINE_WAIT_MS 10000      /* then the child is killed */

/* One frame as unwound, then placed. */
struct frame {
    unsigned long ip;
    unsigned long off;          /* from the start of its function */
    unsigned long lookup;       /* the address to place: ip, or ip - 1 for
                                   a return address (the call's line) */
    int obj;                    /* index in objects[], or -1 */
    int ours;                   /* hopsim's own code */
    char name[NAME_LEN];
    char loc[LOC_LEN];          /* "file:line", or "" */
};

/* A loaded object that holds frames. */
struct object {
    unsigned long bias;         /* load address: addresses in its file are
                                   ip - bias */
    int is_main;                /* the program itself */
    char path[PATH_MAX];
};

static struct frame frames[MAX_FRAMES];
static struct object objects[MAX_OBJECTS];
static int nobjects;
static char out[OUT_LEN];
static char child_stack[CHILD_STACK] __attribute__((aligned(16)));
static char addr2line_path[PATH_MAX];
static char root[PATH_MAX];             /* hopsim's source tree, "/x/y/" */
static int busy;

/* The library's folders, under root. */
static const char *const lib_dirs[] = {
    "sim/", "kern/", "core/", "notify/", "mem/", "ports/", "observe/",
    "run/", "lib/",
};

/* ---- unwinding -------------------------------------------------------------- */

/* Collect the frames from cur; exact: the first ip is the interrupted
 * instruction, not a return address.  Returns how many. */
static int collect(unw_cursor_t *cur, int exact)
{
    int n = 0;
    do {
        unw_word_t ip = 0, off = 0;
        struct frame *f = &frames[n];
        unw_get_reg(cur, UNW_REG_IP, &ip);
        if (ip == 0)
            break;
        if (unw_get_proc_name(cur, f->name, sizeof f->name, &off) != 0)
            strcpy(f->name, "??");
        f->ip = ip;
        f->off = off;
        f->lookup = (n == 0 && exact) ? ip : ip - 1;
        f->obj = -1;
        f->ours = 0;
        f->loc[0] = '\0';
        n++;
    } while (n < MAX_FRAMES && unw_step(cur) > 0);
    return n;
}

/* The frames of cur, printed as unwound: every one, no source lines. */
static int walk_plain(unw_cursor_t *cur, plat_line_fn line, void *cookie)
{
    int n = 0;
    do {
        unw_word_t ip = 0, off = 0;
        char name[NAME_LEN], buf[NAME_LEN + 64];
        unw_get_reg(cur, UNW_REG_IP, &ip);
        if (ip == 0)
            break;
        if (unw_get_proc_name(cur, name, sizeof name, &off) != 0)
            strcpy(name, "??");
        snprintf(buf, sizeof buf, "#%d 0x%016lx %s+0x%lx", n,
                 (unsigned long)ip, name, (unsigned long)off);
        if (line)
            line(cookie, buf);
        n++;
    } while (n < MAX_FRAMES && unw_step(cur) > 0);
    return n;
}

/* ---- loaded objects --------------------------------------------------------- */

struct find_object {
    unsigned long addr;
    int found, is_main;
    unsigned long bias;
    const char *name;
};

static int object_holding(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct find_object *q = arg;
    /* The program comes first, unnamed. */
    int first = info->dlpi_name == NULL || info->dlpi_name[0] == '\0';
    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        unsigned long lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type != PT_LOAD || q->addr < lo || q->addr >= lo + ph->p_memsz)
            continue;
        q->found = 1;
        q->bias = info->dlpi_addr;
        q->is_main = first;
        q->name = info->dlpi_name;
        return 1;
    }
    return 0;
}

/* The index in objects[] of the object holding addr (added if new), or
 * -1.  The program is named by /proc/self/exe, read here: a child asked
 * for /proc/self/exe would read its own. */
static int object_of(unsigned long addr)
{
    struct find_object q = {.addr = addr};
    dl_iterate_phdr(object_holding, &q);
    if (!q.found)
        return -1;
    for (int i = 0; i < nobjects; i++)
        if (objects[i].bias == q.bias &&
            objects[i].is_main == q.is_main)
            return i;
    if (nobjects == MAX_OBJECTS)
        return -1;
    struct object *o = &objects[nobjects];
    o->bias = q.bias;
    o->is_main = q.is_main;
    if (q.is_main) {
        ssize_t n = readlink("/proc/self/exe", o->path, sizeof o->path - 1);
        if (n <= 0)
            return -1;
        o->path[n] = '\0';
    } else {
        if (!q.name || strlen(q.name) >= sizeof o->path)
            return -1;
        strcpy(o->path, q.name);
    }
    return nobjects++;
}

/* ---- addr2line -------------------------------------------------------------- */

/* Find addr2line on PATH into addr2line_path; 0 if it is not there. */
static int find_addr2line(void)
{
    if (addr2line_path[0])
        return 1;
    const char *p = getenv("PATH");
    if (!p)
        p = "/usr/bin:/bin";
    while (*p) {
        size_t n = strcspn(p, ":");
        if (n && n + sizeof "/addr2line" < sizeof addr2line_path) {
            memcpy(addr2line_path, p, n);
            strcpy(addr2line_path + n, "/addr2line");
            if (access(addr2line_path, X_OK) == 0)
                return 1;
        }
        p += n + (p[n] == ':');
    }
    addr2line_path[0] = '\0';
    return 0;
}

struct child {
    char *const *argv;
    int out, null;
    sigset_t mask;
};

static int child_main(void *arg)
{
    const struct child *c = arg;
    if (dup2(c->null, 0) < 0 || dup2(c->out, 1) < 0 || dup2(c->null, 2) < 0)
        _exit(127);
    sigprocmask(SIG_SETMASK, &c->mask, NULL);
    execv(addr2line_path, c->argv);
    _exit(127);
}

/* Read what the child writes to fd into out (NUL terminated) until it
 * closes it, or ADDR2LINE_WAIT_MS pass without a word. */
static void read_answer(int fd)
{
    size_t len = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, ADDR2LINE_WAIT_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t n = read(fd, out + len, sizeof out - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == sizeof out - 1)
            break;
    }
    out[len] = '\0';
}

/* Run addr2line with argv; its answer in out.  Returns 0 on failure.
 * clone() as posix_spawn() does (the parent waits until the child has
 * exec'd), but with no allocation; signals are blocked meanwhile so
 * that no handler runs on the child's stack. */
static int run_addr2line(char *const *argv)
{
    int fds[2], null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        return 0;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        close(null);
        return 0;
    }
    struct child c = {.argv = argv, .out = fds[1], .null = null};
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &c.mask);
    pid_t pid = clone(child_main, child_stack + sizeof child_stack,
                      CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
    pthread_sigmask(SIG_SETMASK, &c.mask, NULL);
    close(fds[1]);
    close(null);
    if (pid > 0)
        read_answer(fds[0]);
    close(fds[0]);
    if (pid <= 0)
        return 0;
    if (waitpid(pid, NULL, WNOHANG) == 0) {
        /* Still running: it went quiet, or said more than out holds. */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return 1;
}

/* A location as addr2line prints it ("/x/y/z.c:12 (discriminator 3)")
 * into f->loc, or "" when it does not know ("??:0", "z.c:?"). */
static void set_loc(struct frame *f, const char *s, size_t n)
{
    const char *d = memchr(s, ' ', n);
    if (d)
        n = (size_t)(d - s);
    if (n < 3 || n >= sizeof f->loc || s[0] == '?' || s[n - 1] == '?' ||
        (n >= 2 && s[n - 2] == ':' && s[n - 1] == '0'))
        return;
    memcpy(f->loc, s, n);
    f->loc[n] = '\0';
}

/* Place every frame of object o (and, as its last address, the static
 * function `marker` when o holds this file: it finds root). */
static void place_object(int o, int nframes, unsigned long marker)
{
    static char hex[MAX_FRAMES + 1][24];
    static char *argv[MAX_FRAMES + 8];
    static struct frame marker_frame;
    struct frame *which[MAX_FRAMES + 1];
    int n = 0, a = 0;
    argv[a++] = "addr2line";
    argv[a++] = "-a";
    argv[a++] = "-f";
    argv[a++] = "-i";
    argv[a++] = "-e";
    argv[a++] = objects[o].path;
    for (int i = 0; i < nframes; i++) {
        if (frames[i].obj != o)
            continue;
        snprintf(hex[n], sizeof hex[n], "0x%lx",
                 frames[i].lookup - objects[o].bias);
        which[n] = &frames[i];
        argv[a++] = hex[n++];
    }
    if (marker) {
        marker_frame.loc[0] = '\0';
        snprintf(hex[n], sizeof hex[n], "0x%lx", marker - objects[o].bias);
        which[n] = &marker_frame;
        argv[a++] = hex[n++];
    }
    argv[a] = NULL;
    if (!run_addr2line(argv))
        return;
    /* Per address: "0x...", then a function and a location for each
     * scope, innermost first; the last is the frame's own function. */
    int cur = -1, is_loc = 0;
    for (char *s = out; *s; ) {
        size_t len = strcspn(s, "\n");
        if (len > 2 && s[0] == '0' && s[1] == 'x') {
            cur++;
            is_loc = 0;
        } else if (cur >= 0 && cur < n) {
            if (is_loc)
                set_loc(which[cur], s, len);
            is_loc = !is_loc;
        }
        s += len + (s[len] == '\n');
    }
    if (marker && marker_frame.loc[0]) {
        char *colon = strrchr(marker_frame.loc, ':');
        size_t flen = strlen(__FILE__);
        *colon = '\0';
        size_t len = strlen(marker_frame.loc);
        if (len >= flen &&
            strcmp(marker_frame.loc + len - flen, __FILE__) == 0) {
            marker_frame.loc[len - flen] = '\0';
            strcpy(root, marker_frame.loc);
        }
    }
}

/* Whether location loc (under root) is in one of the library's folders. */
static int in_lib(const char *loc)
{
    size_t r = strlen(root);
    if (!r || strncmp(loc, root, r) != 0)
        return 0;
    for (size_t i = 0; i < sizeof lib_dirs / sizeof lib_dirs[0]; i++)
        if (strncmp(loc + r, lib_dirs[i], strlen(lib_dirs[i])) == 0)
            return 1;
    return 0;
}

/* Place the n frames collected, and mark hopsim's own. */
static void place(int n)
{
    unsigned long marker = (unsigned long)&collect;
    nobjects = 0;
    int mine = object_of(marker);
    for (int i = 0; i < n; i++)
        frames[i].obj = object_of(frames[i].lookup);
    if (!find_addr2line())
        return;
    for (int o = 0; o < nobjects; o++)
        place_object(o, n, o == mine ? marker : 0);
    for (int i = 0; i < n; i++) {
        struct frame *f = &frames[i];
        if (f->loc[0])
            f->ours = in_lib(f->loc);
        else
            f->ours = f->obj >= 0 && f->obj == mine && !objects[mine].is_main;
    }
}

/* ---- printing --------------------------------------------------------------- */

/* Where the frames worth printing end: before the outermost run of
 * hopsim's frames, when some frame of the program lies inside it.  That
 * run started the stack (a simulated thread's or a handler's entry),
 * and what lies outside it is machinery too: the C library's trampoline
 * into a ucontext, the start of a host thread. */
static int frames_end(int n)
{
    int s = n;
    while (s > 0 && !frames[s - 1].ours)
        s--;
    if (s == 0)
        return n;
    while (s > 0 && frames[s - 1].ours)
        s--;
    return s > 0 ? s : n;
}

/* Print the n frames placed, but hopsim's own (see the top). */
static int print(int n, plat_line_fn line, void *cookie)
{
    int shown = 0;
    size_t r = strlen(root);
    n = frames_end(n);
    for (int i = 0; i < n; i++) {
        const struct frame *f = &frames[i];
        if (f->ours && (i + 1 == n || frames[i + 1].ours))
            continue;
        char buf[NAME_LEN + LOC_LEN + 64];
        const char *loc = f->loc;
        if (r && strncmp(loc, root, r) == 0)
            loc += r;
        int len = snprintf(buf, sizeof buf, "#%d 0x%016lx %s+0x%lx", shown,
                           f->ip, f->name, f->off);
        if (*loc && len > 0 && (size_t)len < sizeof buf)
            snprintf(buf + len, sizeof buf - (size_t)len, " at %s", loc);
        if (line)
            line(cookie, buf);
        shown++;
    }
    return shown;
}

/* Print the frames of cur (exact: see collect()). */
static int walk(unw_cursor_t *cur, int exact, plat_line_fn line, void *cookie)
{
    if (__atomic_exchange_n(&busy, 1, __ATOMIC_ACQUIRE))
        return walk_plain(cur, line, cookie);
    int n = collect(cur, exact);
    place(n);
    n = print(n, line, cookie);
    __atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
    return n;
}

int plat_symbol_of_return(const void *ra, char *buf, size_t len)
{
    unw_context_t uc;
    unw_cursor_t cur;
    if (!buf || !len || unw_getcontext(&uc) != 0 ||
        unw_init_local(&cur, &uc) != 0)
        return -1;
    for (int i = 0; i < MAX_FRAMES; i++) {
        unw_word_t ip = 0, off = 0;
        unw_get_reg(&cur, UNW_REG_IP, &ip);
        if (ip == (unw_word_t)ra)
            return unw_get_proc_name(&cur, buf, len, &off) == 0 ? 0 : -1;
        if (unw_step(&cur) <= 0)
            break;
    }
    return -1;
}

int plat_backtrace_here(plat_line_fn line, void *cookie)
{
    unw_context_t uc;
    unw_cursor_t cur;
    if (unw_getcontext(&uc) != 0 || unw_init_local(&cur, &uc) != 0)
        return 0;
    return walk(&cur, 0, line, cookie);
}

int plat_backtrace_context(const plat_context *ctx, plat_line_fn line,
                           void *cookie)
{
    /* libunwind may write into the context it starts from: use a copy. */
    unw_context_t uc;
    unw_cursor_t cur;
    memcpy(&uc, &ctx->uc, sizeof uc);
    if (unw_init_local(&cur, &uc) != 0)
        return 0;
    return walk(&cur, 0, line, cookie);
}

int plat_backtrace_crash(const plat_crash *crash, plat_line_fn line,
                         void *cookie)
{
    /* The interrupted pc is the faulting instruction, not a return
     * address: a signal frame, which libunwind must not step back from. */
    unw_context_t uc;
    unw_cursor_t cur;
    memcpy(&uc, crash->uc, sizeof uc);
    if (unw_init_local2(&cur, &uc, UNW_INIT_SIGNAL_FRAME) != 0)
        return 0;
    return walk(&cur, 1, line, cookie);
}
