/*
 * examples/ramfs/ramfs.c - the RAM file server and its client calls (see
 * ramfs.h).
 *
 * The server's part of its process's address space:
 *
 *   RAMFS_VA_BASE + i * 64K                 the window for client slot i:
 *                                           its buffer lands there
 *   RAMFS_VA_BASE + FILES_AT + j * FILE_MAX file j, mapped in 4K pages up
 *                                           to its size
 */
#include <string.h>

#include "ramfs.h"

#define PAGE HS_PAGE_4K
#define RW (HS_PROT_READ | HS_PROT_WRITE)
#define NAME_BYTES (RAMFS_NAME_WORDS * sizeof(uint64_t))
#define WINDOW ((uint64_t)1 << RAMFS_BUF_MAX_LOG2)
#define FILES_AT ((uint64_t)1 << 20)
#define FLAGS_ALL (RAMFS_RDWR | RAMFS_CREATE | RAMFS_TRUNC)

/* A handle is its slot in the low 16 bits and the slot's generation (1 or
 * more) in the 32 above, so that 0 is never one and a closed handle is not
 * taken for the slot's next. */
#define HANDLE_SLOT_BITS 16
#define HANDLE_GEN_MAX 0xffffffffu

_Static_assert(RAMFS_CLIENTS_MAX * WINDOW <= FILES_AT,
               "the windows fit below the files");
_Static_assert(FILES_AT + (uint64_t)RAMFS_FILES_MAX * RAMFS_FILE_MAX <=
               RAMFS_VA_SIZE, "the files fit in the server's range");
_Static_assert(RAMFS_FILE_MAX % HS_PAGE_4K == 0, "files are whole pages");
_Static_assert(RAMFS_HANDLES_MAX < (1u << HANDLE_SLOT_BITS),
               "a handle's slot fits its field");

struct client {
    int used;
    uint64_t label;             /* who it is */
    uint64_t size;              /* its buffer, at window(slot) */
};

struct file {
    int used;
    char name[NAME_BYTES];      /* NUL padded */
    uint64_t size;              /* bytes */
    uint64_t mapped;            /* bytes mapped, whole pages, >= size */
};

struct handle {
    int used;
    uint32_t gen;               /* of the slot; 1 or more */
    uint64_t owner;             /* the label that opened it */
    unsigned file;
    unsigned flags;             /* RAMFS_RDONLY, RAMFS_WRONLY */
};

struct fs {
    struct client c[RAMFS_CLIENTS_MAX];
    struct file f[RAMFS_FILES_MAX];
    struct handle h[RAMFS_HANDLES_MAX];
    struct ramfs_stats *stats;
};

static uint64_t window(unsigned slot)
{
    return RAMFS_VA_BASE + slot * WINDOW;
}

static uint64_t file_va(unsigned j)
{
    return RAMFS_VA_BASE + FILES_AT + (uint64_t)j * RAMFS_FILE_MAX;
}

/* ---- answering ---------------------------------------------------------- */

/* Answer the call just received with st and, on HS_OK, value; whether
 * the answer landed (its caller still waited). */
static int answer(hs_status st, uint64_t value)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(0, st == HS_OK ? 2 : 1);
    u->mr[0] = (uint64_t)st;
    u->mr[1] = value;
    return hs_ipc_reply() == HS_OK;
}

/* Unmap the memory items of the message just received that landed in
 * the window of slot (-1: none was offered): a message that is refused
 * gives back what it brought.  Reads the items, so it runs before the
 * answer is written over them; unmaps nothing outside the window. */
static void drop_memory(int slot)
{
    hs_utcb_t *u = hs_utcb();
    unsigned w = hs_tag_words(u->tag), n = hs_tag_items(u->tag);
    for (unsigned i = 0; slot >= 0 && i < n && w + 2 * i + 1 < HS_MR_COUNT;
         i++) {
        uint64_t f = u->mr[w + 2 * i + 1], base = hs_fpage_base(f);
        uint64_t size = hs_fpage_size(f);
        if (hs_item_type(u->mr[w + 2 * i]) == HS_ITEM_MEM && size &&
            base >= window((unsigned)slot) &&
            base + size <= window((unsigned)slot) + WINDOW)
            (void)hs_mem_unmap(base, size);
    }
}

/* ---- the tables --------------------------------------------------------- */

static int client_find(const struct fs *fs, uint64_t label)
{
    for (unsigned i = 0; i < RAMFS_CLIENTS_MAX; i++)
        if (fs->c[i].used && fs->c[i].label == label)
            return (int)i;
    return -1;
}

static int client_free_slot(const struct fs *fs)
{
    for (unsigned i = 0; i < RAMFS_CLIENTS_MAX; i++)
        if (!fs->c[i].used)
            return (int)i;
    return -1;
}

static int file_find(const struct fs *fs, const char *name)
{
    for (unsigned j = 0; j < RAMFS_FILES_MAX; j++)
        if (fs->f[j].used && memcmp(fs->f[j].name, name, NAME_BYTES) == 0)
            return (int)j;
    return -1;
}

static int file_free_slot(const struct fs *fs)
{
    for (unsigned j = 0; j < RAMFS_FILES_MAX; j++)
        if (!fs->f[j].used)
            return (int)j;
    return -1;
}

static int handle_free_slot(const struct fs *fs)
{
    for (unsigned i = 0; i < RAMFS_HANDLES_MAX; i++)
        if (!fs->h[i].used)
            return (int)i;
    return -1;
}

static uint64_t handle_word(const struct fs *fs, unsigned slot)
{
    return (uint64_t)fs->h[slot].gen << HANDLE_SLOT_BITS | slot;
}

/* The slot of handle word fd, for label: HS_OK, HS_EBADCAP (no such open
 * handle) or HS_EPERM (another label's). */
static hs_status handle_get(const struct fs *fs, uint64_t fd, uint64_t label,
                            unsigned *slot)
{
    uint64_t i = fd & ((1u << HANDLE_SLOT_BITS) - 1);
    if (i >= RAMFS_HANDLES_MAX || !fs->h[i].used || handle_word(fs, i) != fd)
        return HS_EBADCAP;
    if (fs->h[i].owner != label)
        return HS_EPERM;
    *slot = (unsigned)i;
    return HS_OK;
}

static void handle_free(struct fs *fs, unsigned slot)
{
    struct handle *h = &fs->h[slot];
    h->used = 0;
    h->gen = h->gen == HANDLE_GEN_MAX ? 1 : h->gen + 1;
    fs->stats->handles--;
}

/* End client slot i's session: its handles close and its buffer goes. */
static void client_end(struct fs *fs, unsigned i)
{
    for (unsigned k = 0; k < RAMFS_HANDLES_MAX; k++)
        if (fs->h[k].used && fs->h[k].owner == fs->c[i].label)
            handle_free(fs, k);
    (void)hs_mem_unmap(window(i), fs->c[i].size);
    fs->c[i].used = 0;
    fs->stats->clients--;
}

/* End the sessions whose client no longer maps its buffer: the first
 * page's references are the client's and ours, and only ours is left
 * when the client ended or unmapped it. */
static void clients_reap(struct fs *fs)
{
    for (unsigned i = 0; i < RAMFS_CLIENTS_MAX; i++) {
        hs_mem_info info;
        if (!fs->c[i].used)
            continue;
        if (hs_mem_query(0, window(i), &info) != HS_OK || info.refs < 2) {
            client_end(fs, i);
            fs->stats->ended++;
        }
    }
}

/* ---- moving bytes ------------------------------------------------------- */

/* Copy len bytes from src to dst, both mapped in the server's space, a
 * piece at a time that stays within one page on both sides (one page is
 * all hs_mem_ptr promises to be contiguous). */
static hs_status copy(uint64_t dst, uint64_t src, uint64_t len)
{
    while (len) {
        uint64_t n = len;
        if (n > PAGE - src % PAGE)
            n = PAGE - src % PAGE;
        if (n > PAGE - dst % PAGE)
            n = PAGE - dst % PAGE;
        void *s = NULL, *d = NULL;
        hs_status st = hs_mem_ptr(src, n, HS_PROT_READ, &s);
        if (st == HS_OK)
            st = hs_mem_ptr(dst, n, HS_PROT_WRITE, &d);
        if (st != HS_OK)
            return st;
        memcpy(d, s, n);
        src += n;
        dst += n;
        len -= n;
    }
    return HS_OK;
}

/* Map file j's pages up to end bytes (a refused map changes nothing). */
static hs_status file_grow(struct fs *fs, unsigned j, uint64_t end)
{
    struct file *f = &fs->f[j];
    uint64_t want = (end + PAGE - 1) / PAGE * PAGE;
    if (want <= f->mapped)
        return HS_OK;
    hs_status st = hs_mem_map(file_va(j) + f->mapped, want - f->mapped, RW,
                              HS_PAGE_4K);
    if (st == HS_OK)
        f->mapped = want;
    return st;
}

/* Empty file j: its pages go, and come back zeroed when written. */
static hs_status file_truncate(struct fs *fs, unsigned j)
{
    struct file *f = &fs->f[j];
    if (f->mapped) {
        hs_status st = hs_mem_unmap(file_va(j), f->mapped);
        if (st != HS_OK)
            return st;
    }
    f->mapped = f->size = 0;
    return HS_OK;
}

/* ---- the operations ----------------------------------------------------- */

/* The message carries w words and no item. */
static int shape(unsigned w)
{
    uint64_t tag = hs_utcb()->tag;
    return hs_tag_words(tag) == w && hs_tag_items(tag) == 0;
}

/* Whether the attach message just received is one shared read-write
 * buffer of 4K pages that landed in our window at slot. */
static int attach_valid(unsigned slot)
{
    hs_utcb_t *u = hs_utcb();
    hs_mem_info info;
    return hs_tag_words(u->tag) == 0 && hs_tag_items(u->tag) == 1 &&
           hs_item_type(u->mr[0]) == HS_ITEM_MEM &&
           hs_item_mode(u->mr[0]) == HS_XFER_SHARE &&
           hs_item_prot(u->mr[0]) == RW &&
           hs_fpage_base(u->mr[1]) == window(slot) &&
           hs_mem_query(0, window(slot), &info) == HS_OK &&
           info.page == HS_PAGE_4K && info.refs >= 2;
}

/* The buffer landed in the window of slot (the first free one, offered
 * before the wait), or nowhere if none was free.  The session begins only
 * once its caller has heard so: a buffer whose answer is lost goes back. */
static void do_attach(struct fs *fs, uint64_t label, int slot)
{
    hs_utcb_t *u = hs_utcb();
    hs_status st = HS_OK;
    if (client_find(fs, label) >= 0)
        st = HS_EEXIST;
    else if (hs_tag_words(u->tag) != 0 || hs_tag_items(u->tag) != 1 ||
             hs_item_type(u->mr[0]) != HS_ITEM_MEM)
        st = HS_EINVAL;
    else if (slot < 0)
        st = HS_ELIMIT;
    else if (!attach_valid((unsigned)slot))
        st = HS_EINVAL;
    if (st != HS_OK) {
        drop_memory(slot);    /* before the answer overwrites the items */
        (void)answer(st, 0);
        return;
    }
    uint64_t size = hs_fpage_size(u->mr[1]);
    if (!answer(HS_OK, size)) {
        (void)hs_mem_unmap(window((unsigned)slot), size);
        return;
    }
    fs->c[slot] = (struct client){ .used = 1, .label = label, .size = size };
    fs->stats->clients++;
}

static void do_detach(struct fs *fs, int me)
{
    if (!shape(0)) {
        (void)answer(HS_EINVAL, 0);
        return;
    }
    client_end(fs, (unsigned)me);
    (void)answer(HS_OK, 0);
}

/* The name in mr[0..] into buf (NAME_BYTES): 1..RAMFS_NAME_MAX bytes,
 * then NULs only; 0 if not. */
static int name_get(const uint64_t *mr, char *buf)
{
    memcpy(buf, mr, NAME_BYTES);
    size_t len = strnlen(buf, NAME_BYTES);
    if (len == 0 || len > RAMFS_NAME_MAX)
        return 0;
    for (size_t i = len; i < NAME_BYTES; i++)
        if (buf[i])
            return 0;
    return 1;
}

static int flags_valid(unsigned flags)
{
    return !(flags & ~FLAGS_ALL) && (flags & RAMFS_RDWR) &&
           (!(flags & RAMFS_TRUNC) || (flags & RAMFS_WRONLY));
}

/* Check everything open needs, then take a handle (and a file, if
 * created); the answer landing is the last step, and a handle whose
 * caller never heard of it is closed again. */
static void do_open(struct fs *fs, uint64_t label)
{
    hs_utcb_t *u = hs_utcb();
    char name[NAME_BYTES];
    unsigned flags = (unsigned)u->mr[RAMFS_NAME_WORDS];
    if (!shape(RAMFS_NAME_WORDS + 1) || !name_get(u->mr, name) ||
        u->mr[RAMFS_NAME_WORDS] != flags || !flags_valid(flags)) {
        (void)answer(HS_EINVAL, 0);
        return;
    }
    int j = file_find(fs, name), k = handle_free_slot(fs);
    hs_status st = HS_OK;
    if (j < 0 && !(flags & RAMFS_CREATE))
        st = HS_ENOENT;
    else if (j < 0 && (j = file_free_slot(fs)) < 0)
        st = HS_ELIMIT;
    else if (k < 0)
        st = HS_ELIMIT;
    else if (fs->f[j].used && (flags & RAMFS_TRUNC))
        st = file_truncate(fs, (unsigned)j);
    if (st != HS_OK) {
        (void)answer(st, 0);
        return;
    }
    if (!fs->f[j].used) {
        fs->f[j] = (struct file){ .used = 1 };
        memcpy(fs->f[j].name, name, NAME_BYTES);
        fs->stats->files++;
    }
    struct handle *h = &fs->h[k];
    h->used = 1;
    h->gen = h->gen ? h->gen : 1;
    h->owner = label;
    h->file = (unsigned)j;
    h->flags = flags & RAMFS_RDWR;
    fs->stats->handles++;
    if (!answer(HS_OK, handle_word(fs, (unsigned)k)))
        handle_free(fs, (unsigned)k);
}

/* What read and write share: handle mr[0] with access flag, offset mr[1]
 * and length mr[2], each copied out of the message once and checked
 * against the buffer of client slot me. */
struct rw {
    unsigned slot;              /* the handle's */
    uint64_t off, len;
};

static hs_status rw_get(const struct fs *fs, uint64_t label, int me,
                        unsigned access, struct rw *rw)
{
    hs_utcb_t *u = hs_utcb();
    if (!shape(3))
        return HS_EINVAL;
    uint64_t fd = u->mr[0], off = u->mr[1], len = u->mr[2];
    hs_status st = handle_get(fs, fd, label, &rw->slot);
    if (st != HS_OK)
        return st;
    if (!(fs->h[rw->slot].flags & access))
        return HS_EPERM;
    if (len > fs->c[me].size)
        return HS_EMSGSIZE;
    if (off + len < off)
        return HS_ERANGE;
    rw->off = off;
    rw->len = len;
    return HS_OK;
}

static void do_read(struct fs *fs, uint64_t label, int me)
{
    struct rw rw;
    hs_status st = rw_get(fs, label, me, RAMFS_RDONLY, &rw);
    if (st != HS_OK) {
        (void)answer(st, 0);
        return;
    }
    unsigned j = fs->h[rw.slot].file;
    const struct file *f = &fs->f[j];
    uint64_t n = rw.off >= f->size ? 0 : f->size - rw.off;
    if (n > rw.len)
        n = rw.len;
    st = copy(window((unsigned)me), file_va(j) + rw.off, n);
    (void)answer(st, n);
}

static void do_write(struct fs *fs, uint64_t label, int me)
{
    struct rw rw;
    hs_status st = rw_get(fs, label, me, RAMFS_WRONLY, &rw);
    if (st == HS_OK && rw.off + rw.len > RAMFS_FILE_MAX)
        st = HS_ELIMIT;
    if (st == HS_OK && rw.len == 0) {
        (void)answer(HS_OK, 0);         /* nothing to move: no growth */
        return;
    }
    unsigned j = st == HS_OK ? fs->h[rw.slot].file : 0;
    if (st == HS_OK)
        st = file_grow(fs, j, rw.off + rw.len);
    if (st == HS_OK)
        st = copy(file_va(j) + rw.off, window((unsigned)me), rw.len);
    if (st == HS_OK && rw.off + rw.len > fs->f[j].size)
        fs->f[j].size = rw.off + rw.len;
    (void)answer(st, st == HS_OK ? rw.len : 0);
}

static void do_close(struct fs *fs, uint64_t label)
{
    unsigned slot = 0;
    hs_status st = shape(1) ? handle_get(fs, hs_utcb()->mr[0], label, &slot)
                            : HS_EINVAL;
    if (st == HS_OK)
        handle_free(fs, slot);
    (void)answer(st, 0);
}

/* One message from label; slot is the window offered for it. */
static void dispatch(struct fs *fs, uint64_t label, int slot)
{
    hs_utcb_t *u = hs_utcb();
    uint32_t op = hs_tag_label(u->tag);
    if (op == RAMFS_ATTACH) {
        do_attach(fs, label, slot);
        return;
    }
    drop_memory(slot);
    int me = client_find(fs, label);
    if (op < RAMFS_DETACH || op > RAMFS_CLOSE)
        (void)answer(HS_EINVAL, 0);
    else if (me < 0)
        (void)answer(HS_ESTATE, 0);
    else if (op == RAMFS_DETACH)
        do_detach(fs, me);
    else if (op == RAMFS_OPEN)
        do_open(fs, label);
    else if (op == RAMFS_READ)
        do_read(fs, label, me);
    else if (op == RAMFS_WRITE)
        do_write(fs, label, me);
    else
        do_close(fs, label);
}

/* The server is ending: every buffer and file goes. */
static void fs_end(struct fs *fs)
{
    for (unsigned i = 0; i < RAMFS_CLIENTS_MAX; i++)
        if (fs->c[i].used)
            client_end(fs, i);
    for (unsigned j = 0; j < RAMFS_FILES_MAX; j++)
        if (fs->f[j].used) {
            (void)file_truncate(fs, j);
            fs->f[j].used = 0;
            fs->stats->files--;
        }
}

hs_status ramfs_serve(hs_cap_t gate, struct ramfs_stats *stats)
{
    (void)gate;                 /* served by the open wait of its thread */
    struct ramfs_stats none;
    struct fs fs;
    memset(&fs, 0, sizeof fs);
    fs.stats = stats ? stats : &none;
    memset(fs.stats, 0, sizeof *fs.stats);
    hs_utcb_t *u = hs_utcb();
    for (;;) {
        int slot = client_free_slot(&fs);
        u->br[HS_BR_CAPS] = 0;
        u->br[HS_BR_MEM] = slot < 0 ? 0
                         : HS_FPAGE(window((unsigned)slot),
                                    RAMFS_BUF_MAX_LOG2);
        uint64_t label = 0;
        hs_status st = hs_ipc_serve(&label);
        if (st != HS_OK) {
            fs_end(&fs);
            return st;
        }
        clients_reap(&fs);
        dispatch(&fs, label, slot);
    }
}

/* ---- the client calls ------------------------------------------------------ */

/* Call the server with the UTCB's message (tag already set); the
 * server's status, or the IPC error. */
static hs_status call(hs_cap_t fs, hs_time_t timeout)
{
    hs_utcb_t *u = hs_utcb();
    hs_status st = hs_ipc_call(fs, timeout, timeout);
    return st == HS_OK ? (hs_status)u->mr[0] : st;
}

hs_status ramfs_attach(struct ramfs_client *c, hs_cap_t fs, uint64_t buf,
                       unsigned log2size, hs_time_t timeout)
{
    if (!c || log2size < RAMFS_BUF_MIN_LOG2 ||
        log2size > RAMFS_BUF_MAX_LOG2)
        return HS_EINVAL;
    uint64_t size = (uint64_t)1 << log2size;
    if (buf & (size - 1))
        return HS_EINVAL;
    hs_status st = hs_mem_map(buf, size, RW, HS_PAGE_4K);
    if (st != HS_OK)
        return st;
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG_ITEMS(RAMFS_ATTACH, 0, 1);
    u->mr[0] = HS_ITEM_MEM_WORD(HS_XFER_SHARE, RW);
    u->mr[1] = HS_FPAGE(buf, log2size);
    st = call(fs, timeout);
    if (st != HS_OK) {
        (void)hs_mem_unmap(buf, size);
        return st;
    }
    *c = (struct ramfs_client){ .fs = fs, .buf = buf, .size = size,
                                .timeout = timeout };
    return HS_OK;
}

hs_status ramfs_detach(struct ramfs_client *c)
{
    if (!c || !c->size)
        return HS_EINVAL;
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(RAMFS_DETACH, 0);
    hs_status st = call(c->fs, c->timeout);
    (void)hs_mem_unmap(c->buf, c->size);
    c->buf = c->size = 0;
    return st;
}

hs_status ramfs_open(const struct ramfs_client *c, const char *name,
                     unsigned flags, uint64_t *fd)
{
    size_t len = name ? strnlen(name, RAMFS_NAME_MAX + 1) : 0;
    if (!c || !fd || len == 0 || len > RAMFS_NAME_MAX)
        return HS_EINVAL;
    hs_utcb_t *u = hs_utcb();
    char padded[NAME_BYTES] = { 0 };
    memcpy(padded, name, len);
    memcpy(u->mr, padded, NAME_BYTES);
    u->mr[RAMFS_NAME_WORDS] = flags;
    u->tag = HS_TAG(RAMFS_OPEN, RAMFS_NAME_WORDS + 1);
    hs_status st = call(c->fs, c->timeout);
    if (st == HS_OK)
        *fd = u->mr[1];
    return st;
}

/* A read or a write: op on fd at off for len; *done the bytes moved. */
static hs_status rw_call(const struct ramfs_client *c, enum ramfs_op op,
                         uint64_t fd, uint64_t off, uint64_t len,
                         uint64_t *done)
{
    if (!c)
        return HS_EINVAL;
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(op, 3);
    u->mr[0] = fd;
    u->mr[1] = off;
    u->mr[2] = len;
    hs_status st = call(c->fs, c->timeout);
    if (st == HS_OK && done)
        *done = u->mr[1];
    return st;
}

hs_status ramfs_read(const struct ramfs_client *c, uint64_t fd,
                     uint64_t off, uint64_t len, uint64_t *got)
{
    return rw_call(c, RAMFS_READ, fd, off, len, got);
}

hs_status ramfs_write(const struct ramfs_client *c, uint64_t fd,
                      uint64_t off, uint64_t len)
{
    return rw_call(c, RAMFS_WRITE, fd, off, len, NULL);
}

hs_status ramfs_close(const struct ramfs_client *c, uint64_t fd)
{
    if (!c)
        return HS_EINVAL;
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(RAMFS_CLOSE, 1);
    u->mr[0] = fd;
    return call(c->fs, c->timeout);
}
