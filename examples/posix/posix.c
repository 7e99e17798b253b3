/*
 * examples/posix/posix.c - the translation layer: descriptors to channel
 * ends, byte streams and prioritised messages to channel messages,
 * hs_status to errno values.  See posix.h.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "examples/servers/names.h"
#include "posix.h"

#define PAGE HS_PAGE_4K
#define PX_MAGIC 0x706f736978303031ull     /* "posix001" */
#define PX_CREATED_MAX 8
#define MQ_HDR 8u                           /* prio, then padding */

enum px_kind { PX_FREE = 0, PX_PIPE = 1, PX_MQ = 2 };

/* One descriptor: a page of the process's memory. */
struct px_file {
    uint32_t kind;          /* enum px_kind */
    uint32_t access;        /* PX_O_RDONLY / _WRONLY / _RDWR */
    uint32_t nonblock;
    hs_cap_t cap;           /* the channel */
    uint32_t have_rx, have_tx;  /* ends attached */
    hs_chan rx, tx;
    uint32_t len, off;      /* a pipe: the message in buf, read up to off */
    unsigned char buf[PX_MQ_MSG_MAX + MQ_HDR];
};

/* A queue this process created: its name and the end that keeps it
 * open until unlinked. */
struct px_created {
    char name[PX_MQ_NAME_MAX + 4];
    hs_chan keeper;
};

/* The page at PX_STATE_VA; descriptor i is the page after it + i. */
struct px_state {
    uint64_t magic;
    hs_cap_t ns;            /* the name server (0: none) */
    uint64_t labels;        /* labels given to children so far */
    uint64_t mapped;        /* bit i: descriptor i's page is mapped */
    struct px_created created[PX_CREATED_MAX];
};

_Static_assert(sizeof(struct px_file) <= PAGE, "a descriptor fits a page");
_Static_assert(sizeof(struct px_state) <= PAGE, "the state fits a page");
_Static_assert(PX_OPEN_MAX <= 64, "the mapped mask has a bit each");

/* What a child is handed by px_spawn(). */
struct px_boot {
    hs_entry_fn entry;
    void *arg;
    unsigned n;
    int fd[HS_SPAWN_CAPS_MAX];
    uint32_t kind[HS_SPAWN_CAPS_MAX], access[HS_SPAWN_CAPS_MAX];
    uint32_t nonblock[HS_SPAWN_CAPS_MAX];
    int has_ns;
    _Atomic int state;      /* 0: booting; 1: descriptors ready; -1: failed */
};

static int px_err(hs_status st)
{
    switch (st) {
    case HS_OK:       return 0;
    case HS_ECLOSED:  return -EPIPE;
    case HS_ETIMEOUT:
    case HS_EFULL:    return -EAGAIN;
    case HS_EMSGSIZE: return -EMSGSIZE;
    case HS_EPERM:
    case HS_EBADCAP:  return -EACCES;
    case HS_ELIMIT:   return -EMFILE;
    case HS_ENOPORT:  return -ENOENT;
    case HS_EEXIST:   return -EEXIST;
    case HS_EINVAL:   return -EINVAL;
    case HS_ESTATE:   return -EBUSY;
    case HS_ENOMEM:
    case HS_ENOFRAME:
    case HS_EQUOTA:   return -ENOMEM;
    default:          return -EIO;
    }
}

static void *sim_ptr(uint64_t va, size_t len)
{
    void *p = NULL;
    return hs_mem_ptr(va, len, HS_PROT_READ | HS_PROT_WRITE, &p) == HS_OK
           ? p : NULL;
}

/* The caller's process's state, made on first use. */
static struct px_state *state(void)
{
    if (hs_mem_probe(PX_STATE_VA, PAGE, HS_PROT_WRITE) == HS_OK)
        return sim_ptr(PX_STATE_VA, sizeof(struct px_state));
    if (hs_mem_map(PX_STATE_VA, PAGE, HS_PROT_READ | HS_PROT_WRITE,
                   PAGE) != HS_OK)
        return NULL;
    struct px_state *s = sim_ptr(PX_STATE_VA, sizeof *s);
    if (s) {
        memset(s, 0, sizeof *s);
        s->magic = PX_MAGIC;
    }
    return s;
}

static uint64_t file_va(int fd)
{
    return PX_STATE_VA + (uint64_t)(fd + 1) * PAGE;
}

/* Descriptor fd if it is open, else NULL. */
static struct px_file *file_get(int fd)
{
    struct px_state *s = state();
    if (!s || fd < 0 || fd >= PX_OPEN_MAX || !(s->mapped >> fd & 1))
        return NULL;
    struct px_file *f = sim_ptr(file_va(fd), sizeof *f);
    return f && f->kind != PX_FREE ? f : NULL;
}

/* A free descriptor, lowest first (or want, if it is free); its page is
 * mapped on first use.  -EMFILE when none. */
static int file_alloc(int want, struct px_file **out)
{
    struct px_state *s = state();
    if (!s)
        return -ENOMEM;
    for (int fd = want >= 0 ? want : 0; fd < PX_OPEN_MAX; fd++) {
        if (!(s->mapped >> fd & 1)) {
            if (hs_mem_map(file_va(fd), PAGE, HS_PROT_READ | HS_PROT_WRITE,
                           PAGE) != HS_OK)
                return -ENOMEM;
            s->mapped |= (uint64_t)1 << fd;
        }
        struct px_file *f = sim_ptr(file_va(fd), sizeof *f);
        if (f && f->kind == PX_FREE) {
            memset(f, 0, offsetof(struct px_file, buf));
            *out = f;
            return fd;
        }
        if (want >= 0)
            break;
    }
    return -EMFILE;
}

/* f's end of the given role, attached on first use. */
static hs_status end_get(struct px_file *f, unsigned role, hs_chan **out)
{
    int recv = role == HS_CHAN_RECEIVER;
    uint32_t *have = recv ? &f->have_rx : &f->have_tx;
    hs_chan *c = recv ? &f->rx : &f->tx;
    if (!*have) {
        hs_status st = hs_chan_attach(f->cap, role, 0, c);
        if (st != HS_OK)
            return st;
        *have = 1;
    }
    *out = c;
    return HS_OK;
}

static int can_read(const struct px_file *f)
{
    return (f->access & PX_O_ACCMODE) != PX_O_WRONLY;
}

static int can_write(const struct px_file *f)
{
    return (f->access & PX_O_ACCMODE) != PX_O_RDONLY;
}

/* ---- pipes ------------------------------------------------------------------- */

int px_pipe(int fds[2])
{
    if (!fds)
        return -EFAULT;
    hs_chan_attr a = { .slots = PX_PIPE_SLOTS, .msg_max = PX_PIPE_BUF,
                       .kind = HS_CHAN_SPSC, .overflow = HS_CHAN_BLOCK,
                       .timeout = HS_NEVER };
    struct px_file *r = NULL, *w = NULL;
    int rfd = file_alloc(-1, &r);
    if (rfd < 0)
        return rfd;
    r->kind = PX_PIPE;              /* hold it while the second is found */
    int wfd = file_alloc(-1, &w);
    hs_cap_t cap = 0;
    hs_status st = wfd < 0 ? HS_OK : hs_chan_create(&a, &cap);
    if (wfd < 0 || st != HS_OK) {
        r->kind = PX_FREE;
        if (wfd >= 0)
            w->kind = PX_FREE;
        return wfd < 0 ? wfd : px_err(st);
    }
    r->cap = w->cap = cap;
    r->access = PX_O_RDONLY;
    w->kind = PX_PIPE;
    w->access = PX_O_WRONLY;
    fds[0] = rfd;
    fds[1] = wfd;
    return 0;
}

ssize_t px_read(int fd, void *buf, size_t n)
{
    struct px_file *f = file_get(fd);
    if (!f || f->kind != PX_PIPE || !can_read(f))
        return -EBADF;
    if (!buf)
        return -EFAULT;
    if (n == 0)
        return 0;
    if (f->off == f->len) {
        hs_chan *c = NULL;
        size_t got = 0;
        hs_status st = end_get(f, HS_CHAN_RECEIVER, &c);
        if (st == HS_OK)
            st = hs_chan_recv(c, f->buf, PX_PIPE_BUF, &got,
                              f->nonblock ? HS_NOWAIT : HS_NEVER);
        if (st == HS_ECLOSED)
            return 0;               /* every writer closed: end of file */
        if (st != HS_OK)
            return px_err(st);
        f->len = (uint32_t)got;
        f->off = 0;
    }
    size_t k = f->len - f->off < n ? f->len - f->off : n;
    memcpy(buf, f->buf + f->off, k);
    f->off += (uint32_t)k;
    return (ssize_t)k;
}

/* Whole pieces that fit in the ring now (a non-blocking write). */
static size_t room(hs_chan *c)
{
    hs_chan_info info;
    if (hs_chan_info_get(c, &info) != HS_OK || info.queued >= c->slots)
        return 0;
    return (size_t)(c->slots - info.queued);
}

ssize_t px_write(int fd, const void *buf, size_t n)
{
    struct px_file *f = file_get(fd);
    if (!f || f->kind != PX_PIPE || !can_write(f))
        return -EBADF;
    if (!buf)
        return -EFAULT;
    hs_chan *c = NULL;
    hs_status st = end_get(f, HS_CHAN_SENDER, &c);
    if (st != HS_OK)
        return px_err(st);
    size_t done = 0;
    size_t pieces = f->nonblock ? room(c) : SIZE_MAX;
    while (done < n && pieces--) {
        size_t k = n - done < PX_PIPE_BUF ? n - done : PX_PIPE_BUF;
        st = hs_chan_send(c, (const char *)buf + done, k);
        if (st != HS_OK)
            break;
        done += k;
    }
    if (done == 0 && n > 0)
        return st != HS_OK ? px_err(st) : -EAGAIN;
    return (ssize_t)done;
}

/* A pipe's end this process never attached: attach it for a moment, so
 * that closing it counts.  A channel closes when its receiver or its last
 * sender goes, after one was attached; without this, a pipe whose writer
 * (or reader) never started, a stage whose boot failed, say, would leave
 * the other side waiting for ever, where POSIX's last close ends it.  If
 * another process has that end attached (a pipe has one of each), the
 * attach is refused and nothing changes. */
static void end_touch(struct px_file *f)
{
    hs_chan *c = NULL;
    if (f->kind != PX_PIPE)
        return;
    if (can_read(f) && !f->have_rx)
        (void)end_get(f, HS_CHAN_RECEIVER, &c);
    if (can_write(f) && !f->have_tx)
        (void)end_get(f, HS_CHAN_SENDER, &c);
}

int px_close(int fd)
{
    struct px_file *f = file_get(fd);
    if (!f)
        return -EBADF;
    end_touch(f);
    /* The capability stays: copies given to children derive from it, and
     * deleting it would revoke them. */
    if (f->have_rx)
        (void)hs_chan_detach(&f->rx);
    if (f->have_tx)
        (void)hs_chan_detach(&f->tx);
    f->kind = PX_FREE;
    return 0;
}

int px_set_nonblock(int fd, int on)
{
    struct px_file *f = file_get(fd);
    if (!f)
        return -EBADF;
    f->nonblock = on != 0;
    return 0;
}

static int ends_attach(struct px_file *f);

/* ---- children ------------------------------------------------------------------ */

/* The child's first code: install the inherited descriptors (capability
 * i + 1 for fd[i], the name server after them) and attach their ends at
 * once, so that a writer closing before the child ran does not close the
 * channel under a reader that has not attached yet; tell the parent, then
 * run the entry. */
static int px_child(void *arg)
{
    struct px_boot *b = arg;
    hs_entry_fn entry = b->entry;
    void *entry_arg = b->arg;
    int ok = 1;
    for (unsigned i = 0; ok && i < b->n; i++) {
        struct px_file *f = NULL;
        ok = file_alloc(b->fd[i], &f) == b->fd[i];
        if (ok) {
            f->kind = b->kind[i];
            f->access = b->access[i];
            f->nonblock = b->nonblock[i];
            f->cap = (hs_cap_t)(i + 1);
            ok = ends_attach(f) == 0;
        }
    }
    if (ok && b->has_ns)
        ok = px_names_set((hs_cap_t)(b->n + 1)) == 0;
    atomic_store(&b->state, ok ? 1 : -1);   /* b is the parent's again */
    return ok ? entry(entry_arg) : 127;
}

static unsigned rights_of(const struct px_file *f)
{
    return (can_read(f) ? HS_CAP_RECV : 0) | (can_write(f) ? HS_CAP_SEND : 0);
}

int px_spawn(const char *name, hs_entry_fn entry, void *arg, const int *fds,
             unsigned n, hs_pid_t *pid)
{
    struct px_state *s = state();
    if (!s)
        return -ENOMEM;
    if (!entry || (n && !fds) || n + (s->ns != 0) > HS_SPAWN_CAPS_MAX)
        return -EINVAL;
    struct px_boot *b = calloc(1, sizeof *b);
    if (!b)
        return -ENOMEM;
    hs_cap_t caps[HS_SPAWN_CAPS_MAX];
    hs_status st = HS_OK;
    int rc = 0;
    for (unsigned i = 0; i < n && rc == 0; i++) {
        struct px_file *f = file_get(fds[i]);
        if (!f) {
            rc = -EBADF;
            break;
        }
        b->fd[i] = fds[i];
        b->kind[i] = f->kind;
        b->access[i] = f->access;
        b->nonblock[i] = f->nonblock;
        st = hs_cap_derive(f->cap, rights_of(f) | HS_CAP_GRANT, 0, &caps[i]);
        rc = px_err(st);
    }
    if (rc == 0 && s->ns) {
        /* Its own label, so that the name server tells it apart. */
        uint64_t label = (hs_proc_self() << 16) + ++s->labels;
        rc = px_err(hs_cap_derive(s->ns, HS_CAP_SEND | HS_CAP_GRANT, label,
                                  &caps[n]));
        b->has_ns = 1;
    }
    b->entry = entry;
    b->arg = arg;
    b->n = n;
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    a.caps = caps;
    a.ncaps = n + (unsigned)b->has_ns;
    if (rc == 0)
        rc = px_err(hs_proc_spawn(name, px_child, b, &a, pid));
    /* Wait for the child to attach what it inherits (see px_child). */
    while (rc == 0 && atomic_load(&b->state) == 0)
        (void)hs_thread_sleep(1000);
    if (rc == 0 && atomic_load(&b->state) < 0)
        rc = -EIO;
    free(b);
    return rc;
}

/* ---- message queues ------------------------------------------------------------ */

int px_names_set(hs_cap_t ns)
{
    struct px_state *s = state();
    if (!s)
        return -ENOMEM;
    hs_cap_info info;
    if (hs_cap_info_get(ns, &info) != HS_OK)
        return -EBADF;
    s->ns = ns;
    return 0;
}

/* "mq:" + name, after checking name. */
static int mq_key(const char *name, char *key)
{
    if (!name || name[0] != '/')
        return -EINVAL;
    size_t len = strnlen(name, PX_MQ_NAME_MAX + 1);
    if (len < 2 || len > PX_MQ_NAME_MAX || strchr(name + 1, '/'))
        return -EINVAL;
    memcpy(key, "mq:", 3);
    memcpy(key + 3, name, len + 1);
    return 0;
}

static uint32_t pow2_at_least(long n)
{
    uint32_t p = 2;
    while (p < (uint64_t)n && p < HS_CHAN_SLOTS_MAX)
        p <<= 1;
    return p;
}

/* Create the queue key names and register it; *cap gets it. */
static int mq_create(struct px_state *s, const char *key,
                     const struct px_mq_attr *attr, hs_cap_t *cap)
{
    long maxmsg = attr ? attr->mq_maxmsg : 8;
    long msgsize = attr ? attr->mq_msgsize : 256;
    if (maxmsg <= 0 || maxmsg > (long)HS_CHAN_SLOTS_MAX || msgsize <= 0 ||
        msgsize > (long)PX_MQ_MSG_MAX)
        return -EINVAL;
    unsigned i = 0;
    while (i < PX_CREATED_MAX && s->created[i].name[0])
        i++;
    if (i == PX_CREATED_MAX)
        return -EMFILE;
    hs_chan_attr a = { .slots = pow2_at_least(maxmsg),
                       .msg_max = (uint32_t)msgsize + MQ_HDR,
                       .kind = HS_CHAN_MPSC, .overflow = HS_CHAN_BLOCK,
                       .timeout = HS_NEVER };
    hs_status st = hs_chan_create(&a, cap);
    if (st == HS_OK)
        st = hs_chan_attach(*cap, HS_CHAN_SENDER, 0, &s->created[i].keeper);
    if (st == HS_OK) {
        st = names_register(s->ns, key, *cap);
        if (st != HS_OK)
            (void)hs_chan_detach(&s->created[i].keeper);
    }
    if (st != HS_OK) {
        if (*cap)
            (void)hs_chan_destroy(*cap);
        return px_err(st);
    }
    strcpy(s->created[i].name, key);
    return 0;
}

/* Attach the ends f's access asks for now (so that a second reader of a
 * queue is told at open). */
static int ends_attach(struct px_file *f)
{
    hs_chan *c = NULL;
    hs_status st = HS_OK;
    if (can_read(f))
        st = end_get(f, HS_CHAN_RECEIVER, &c);
    if (st == HS_OK && can_write(f))
        st = end_get(f, HS_CHAN_SENDER, &c);
    return px_err(st);
}

int px_mq_open(const char *name, unsigned oflag,
               const struct px_mq_attr *attr)
{
    char key[PX_MQ_NAME_MAX + 4];
    int rc = mq_key(name, key);
    struct px_state *s = state();
    if (rc)
        return rc;
    if (!s || !s->ns)
        return -EIO;
    if ((oflag & PX_O_ACCMODE) == PX_O_ACCMODE)
        return -EINVAL;
    hs_cap_t cap = 0;
    hs_status st = names_lookup(s->ns, key, HS_CAP_SEND | HS_CAP_RECV |
                                HS_CAP_GRANT, HS_NOWAIT, &cap);
    if (st == HS_OK && (oflag & PX_O_CREAT) && (oflag & PX_O_EXCL))
        return -EEXIST;
    if (st == HS_ENOPORT && (oflag & PX_O_CREAT))
        rc = mq_create(s, key, attr, &cap);
    else if (st != HS_OK)
        rc = px_err(st);
    if (rc)
        return rc;
    struct px_file *f = NULL;
    int fd = file_alloc(-1, &f);
    if (fd < 0)
        return fd;
    f->kind = PX_MQ;
    f->access = oflag & PX_O_ACCMODE;
    f->nonblock = (oflag & PX_O_NONBLOCK) != 0;
    f->cap = cap;
    rc = ends_attach(f);
    if (rc) {
        px_close(fd);
        return rc;
    }
    return fd;
}

int px_mq_send(int mqd, const char *msg, size_t len, unsigned prio)
{
    struct px_file *f = file_get(mqd);
    if (!f || f->kind != PX_MQ || !can_write(f))
        return -EBADF;
    if (!msg && len)
        return -EFAULT;
    hs_chan *c = NULL;
    hs_status st = end_get(f, HS_CHAN_SENDER, &c);
    if (st != HS_OK)
        return px_err(st);
    if (len + MQ_HDR > c->msg_max)
        return -EMSGSIZE;
    if (f->nonblock && room(c) == 0)
        return -EAGAIN;
    memcpy(f->buf, &prio, sizeof prio);
    memset(f->buf + sizeof prio, 0, MQ_HDR - sizeof prio);
    if (len)
        memcpy(f->buf + MQ_HDR, msg, len);
    return px_err(hs_chan_send(c, f->buf, len + MQ_HDR));
}

ssize_t px_mq_receive(int mqd, char *msg, size_t len, unsigned *prio)
{
    struct px_file *f = file_get(mqd);
    if (!f || f->kind != PX_MQ || !can_read(f))
        return -EBADF;
    if (!msg)
        return -EFAULT;
    hs_chan *c = NULL;
    hs_status st = end_get(f, HS_CHAN_RECEIVER, &c);
    if (st != HS_OK)
        return px_err(st);
    if (len + MQ_HDR < c->msg_max)
        return -EMSGSIZE;
    size_t got = 0;
    st = hs_chan_recv(c, f->buf, sizeof f->buf, &got,
                      f->nonblock ? HS_NOWAIT : HS_NEVER);
    if (st != HS_OK)
        return st == HS_ECLOSED ? -EBADF : px_err(st);
    if (prio)
        memcpy(prio, f->buf, sizeof *prio);
    memcpy(msg, f->buf + MQ_HDR, got - MQ_HDR);
    return (ssize_t)(got - MQ_HDR);
}

int px_mq_getattr(int mqd, struct px_mq_attr *attr)
{
    struct px_file *f = file_get(mqd);
    if (!f || f->kind != PX_MQ)
        return -EBADF;
    if (!attr)
        return -EFAULT;
    hs_chan *c = f->have_rx ? &f->rx : &f->tx;
    hs_chan_info info;
    hs_status st = hs_chan_info_get(c, &info);
    if (st != HS_OK)
        return px_err(st);
    *attr = (struct px_mq_attr){ .mq_flags = f->nonblock ? PX_O_NONBLOCK : 0,
                                 .mq_maxmsg = c->slots,
                                 .mq_msgsize = c->msg_max - MQ_HDR,
                                 .mq_curmsgs = (long)info.queued };
    return 0;
}

int px_mq_close(int mqd)
{
    struct px_file *f = file_get(mqd);
    if (!f || f->kind != PX_MQ)
        return -EBADF;
    return px_close(mqd);
}

int px_mq_unlink(const char *name)
{
    char key[PX_MQ_NAME_MAX + 4];
    int rc = mq_key(name, key);
    struct px_state *s = state();
    if (rc)
        return rc;
    if (!s || !s->ns)
        return -EIO;
    for (unsigned i = 0; i < PX_CREATED_MAX; i++) {
        struct px_created *q = &s->created[i];
        if (q->name[0] && strcmp(q->name, key) == 0) {
            rc = px_err(names_unregister(s->ns, key));
            (void)hs_chan_detach(&q->keeper);
            memset(q, 0, sizeof *q);
            return rc;
        }
    }
    hs_cap_t cap = 0;
    return names_lookup(s->ns, key, HS_CAP_SEND, HS_NOWAIT, &cap) == HS_OK
           ? -EACCES : -ENOENT;
}
