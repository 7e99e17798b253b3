/*
 * mem/sharepoint.c - the kernel's table of named share-points, and the
 * wrappers through which simulated code reaches their data.
 *
 * A share-point is npages 4K frames.  Its first bytes are the
 * meta-structure of seed 002 (struct hs_sp_meta), written by the kernel
 * when the share-point is created; the data follows at the next 16-byte
 * boundary:
 *
 *   0      1        5          13                 21           data_off
 *   +------+--------+----------+------------------+------------+------...
 *   | lock | prot   | length   | morphology.length| paddr[n]   | pad | data
 *   +------+--------+----------+------------------+------------+------...
 *
 * The kernel keeps its own copy of prot and length: the wrappers check
 * bounds against it, so a process that scribbles on the meta-structure
 * cannot widen them.  The lock byte is the one in the shared frame,
 * taken with an atomic test-and-set; the kernel also remembers which
 * thread took it, so that hs_sp_unlock() is refused to others and a lock
 * whose holder ended can be taken over.
 */
#include <string.h>

#include "core/kernel.h"
#include "mem/portal.h"
#include "mem/vm.h"

_Static_assert(offsetof(struct hs_sp_meta, morphology.paddr) == 21,
               "the meta-structure is packed as seed 002 draws it");

/* ---- the table ------------------------------------------------------------ */

struct sharepoint *sharepoint_find(const char *name)
{
    struct list *l;
    list_for_each(l, &k.sharepoints_live) {
        struct sharepoint *sp = container_of(l, struct sharepoint, link);
        if (sp->named && strcmp(sp->name, name) == 0)
            return sp;
    }
    return NULL;
}

unsigned sharepoint_pages(uint64_t length)
{
    uint64_t n = (length + HS_PAGE_4K - 1) / HS_PAGE_4K;
    if (!n)
        n = 1;
    while (HS_SP_DATA_OFFSET(n) + length > n * HS_PAGE_4K)
        n++;
    return (unsigned)n;
}

hs_status sharepoint_prepare(const char *name, unsigned prot,
                             uint64_t length, int direct, uint64_t paddr,
                             struct sharepoint **out)
{
    unsigned n = sharepoint_pages(length);
    hs_status st = pool_reserve(&k.sharepoints, 1);
    if (st != HS_OK)
        return st;
    uint64_t *pa = plat_alloc(n * (sizeof *pa + sizeof(struct mem_hold)));
    if (!pa)
        return HS_ENOMEM;
    if (direct) {
        for (unsigned i = 0; i < n; i++)
            pa[i] = paddr + (uint64_t)i * HS_PAGE_4K;
    } else if ((st = frame_alloc(PS_4K, n, pa)) != HS_OK) {
        plat_free(pa);
        return st;
    }
    struct sharepoint *sp = pool_alloc(&k.sharepoints);
    kstrlcpy(sp->name, name, sizeof sp->name);
    sp->direct = direct;
    sp->prot = prot;
    sp->length = length;
    sp->npages = n;
    sp->data_off = HS_SP_DATA_OFFSET(n);
    sp->pa = pa;
    sp->holds = (struct mem_hold *)(pa + n);
    list_init(&sp->link);
    list_init(&sp->attached);
    *out = sp;
    return HS_OK;
}

void sharepoint_cancel(struct sharepoint *sp)
{
    if (!sp->direct)
        frame_free(PS_4K, sp->npages, sp->pa);
    plat_free(sp->pa);
    pool_cancel(&k.sharepoints, sp);
}

/* Copy len bytes of src to offset off of sp's frames. */
static void sp_put(struct sharepoint *sp, uint64_t off, const void *src,
                   uint64_t len)
{
    const unsigned char *s = src;
    while (len) {
        uint64_t in = off & (HS_PAGE_4K - 1);
        uint64_t n = HS_PAGE_4K - in;
        if (n > len)
            n = len;
        memcpy((char *)frame_host(sp->pa[off / HS_PAGE_4K]) + in, s, n);
        s += n;
        off += n;
        len -= n;
    }
}

/* The meta-structure, field by field: it is packed, and paddr[] may
 * reach into later pages. */
static void sp_write_meta(struct sharepoint *sp)
{
    char lock = 0;
    int prot = (int)sp->prot;
    size_t length = sp->length, n = sp->npages;
    sp_put(sp, offsetof(struct hs_sp_meta, lock), &lock, sizeof lock);
    sp_put(sp, offsetof(struct hs_sp_meta, prot), &prot, sizeof prot);
    sp_put(sp, offsetof(struct hs_sp_meta, length), &length, sizeof length);
    sp_put(sp, offsetof(struct hs_sp_meta, morphology.length), &n, sizeof n);
    sp_put(sp, offsetof(struct hs_sp_meta, morphology.paddr), sp->pa,
           n * sizeof sp->pa[0]);
}

void sharepoint_publish(struct sharepoint *sp)
{
    if (!sp->direct) {
        for (unsigned i = 0; i < sp->npages; i++) {
            sp->holds[i] = (struct mem_hold){
                .pa = sp->pa[i], .len = HS_PAGE_4K, .ps = PS_4K,
            };
            mem_hold_add(&sp->holds[i]);
        }
    }
    sp_write_meta(sp);
    sp->named = 1;
    list_push_back(&k.sharepoints_live, &sp->link);
}

void sharepoint_map(struct sharepoint *sp, struct proc *p, uint64_t va,
                    unsigned prot, unsigned max_prot, unsigned flags)
{
    flags |= sp->direct ? HS_MEM_DIRECT : HS_MEM_SHARED;
    for (unsigned i = 0; i < sp->npages; i++)
        vm_map(p, va + (uint64_t)i * HS_PAGE_4K, sp->pa[i], HS_PAGE_4K,
               PS_4K, prot, max_prot, flags, 0);
}

static char *sp_lock_byte(struct sharepoint *sp)
{
    return frame_host(sp->pa[0]);
}

/* Free sp; unhold: drop its holds too (during the run; at its end,
 * mem_end() has dropped every hold). */
static void sp_destroy(struct sharepoint *sp, int unhold)
{
    if (!sp->direct && unhold)
        for (unsigned i = 0; i < sp->npages; i++)
            mem_hold_remove(&sp->holds[i]);
    list_unlink(&sp->link);
    plat_free(sp->pa);
    pool_free(&k.sharepoints, sp);
}

void sharepoint_detach(struct portal *a)
{
    struct sharepoint *sp = a->sp;
    list_unlink(&a->sp_link);
    if (sp->holder == a) {
        __atomic_clear(sp_lock_byte(sp), __ATOMIC_RELEASE);
        sp->holder = NULL;
        sp->holder_tid = 0;
    }
    if (a->creator)
        sp->named = 0;
    a->sp = NULL;
    if (!sp->named && list_empty(&sp->attached))
        sp_destroy(sp, 1);
}

void sharepoint_release_all(void)
{
    struct list *l, *tmp;
    list_for_each_safe(l, tmp, &k.sharepoints_live)
        sp_destroy(container_of(l, struct sharepoint, link), 0);
}

/* ---- the wrappers' kernel side ------------------------------------------------ */

/* The share-point attachment at addr of the caller's process, or NULL. */
static struct portal *sp_attachment(struct thread *self, uint64_t addr)
{
    struct proc *p = thread_current_proc(self);
    struct list *l;
    list_for_each(l, &k.portals_live) {
        struct portal *a = container_of(l, struct portal, link);
        if (a->owner == p && a->sp && a->addr == addr)
            return a;
    }
    return NULL;
}

static int sp_held_by(const struct sharepoint *sp, const struct thread *t)
{
    return sp->holder && sp->holder_tid == t->obj.handle;
}

/* Whether the thread holding sp's lock has ended. */
static int sp_holder_gone(const struct sharepoint *sp)
{
    struct thread *t = thread_lookup(sp->holder_tid);
    return !t || t->state == THREAD_ZOMBIE;
}

hs_status sharepoint_lock_try(uint64_t addr, int *taken)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    hs_status st = HS_OK;
    struct portal *a = sp_attachment(self, addr);
    if (!a)
        st = HS_ENOENT;
    else if (sp_held_by(a->sp, self))
        st = HS_EDEADLK;
    if (st == HS_OK) {
        struct sharepoint *sp = a->sp;
        char *lock = sp_lock_byte(sp);
        if (sp->holder && sp_holder_gone(sp)) {
            __atomic_clear(lock, __ATOMIC_RELEASE);
            sp->holder = NULL;
        }
        *taken = !__atomic_test_and_set(lock, __ATOMIC_ACQUIRE);
        if (*taken) {
            sp->holder = a;
            sp->holder_tid = self->obj.handle;
        }
    }
    kernel_leave(self);
    return st;
}

hs_status sharepoint_unlock(uint64_t addr)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    hs_status st = HS_OK;
    struct portal *a = sp_attachment(self, addr);
    if (!a)
        st = HS_ENOENT;
    else if (!sp_held_by(a->sp, self))
        st = HS_EPERM;
    if (st == HS_OK) {
        __atomic_clear(sp_lock_byte(a->sp), __ATOMIC_RELEASE);
        a->sp->holder = NULL;
        a->sp->holder_tid = 0;
    }
    kernel_leave(self);
    return st;
}

hs_status sharepoint_access(uint64_t addr, uint64_t off, size_t len,
                            unsigned access, uint64_t *va, int *held)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    hs_status st = HS_OK;
    struct portal *a = sp_attachment(self, addr);
    if (!a)
        st = HS_ENOENT;
    else if (off > a->sp->length || len > a->sp->length - off)
        st = HS_ERANGE;
    else if ((access & ~(a->prot & a->sp->prot)) != 0)
        st = HS_EPERM;
    if (st == HS_OK) {
        *va = addr + a->sp->data_off + off;
        *held = sp_held_by(a->sp, self);
    }
    kernel_leave(self);
    return st;
}

/* ---- the wrappers ---------------------------------------------------------------- */

hs_status hs_sp_lock(uint64_t addr)
{
    int taken = 0;
    hs_status st;
    while ((st = sharepoint_lock_try(addr, &taken)) == HS_OK && !taken) {
        st = hs_thread_yield();
        if (st != HS_OK)
            break;
    }
    return st;
}

hs_status hs_sp_unlock(uint64_t addr)
{
    return sharepoint_unlock(addr);
}

/* Copy through the caller's page table, under the caller's lock or one
 * taken for the copy (and the access checked again under it). */
static hs_status sp_copy(uint64_t addr, uint64_t off, void *buf, size_t len,
                         unsigned access)
{
    if (!buf || !len)
        return HS_EINVAL;
    uint64_t va;
    int held, took = 0;
    hs_status st = sharepoint_access(addr, off, len, access, &va, &held);
    if (st == HS_OK && !held) {
        st = hs_sp_lock(addr);
        took = st == HS_OK;
        if (took)
            st = sharepoint_access(addr, off, len, access, &va, &held);
    }
    if (st == HS_OK)
        st = (access & HS_PROT_WRITE) ? hs_mem_write(va, buf, len)
                                      : hs_mem_read(va, buf, len);
    if (took) {
        hs_status u = hs_sp_unlock(addr);
        if (st == HS_OK)
            st = u;
    }
    return st;
}

hs_status hs_sp_read(uint64_t addr, uint64_t off, void *buf, size_t len)
{
    return sp_copy(addr, off, buf, len, HS_PROT_READ);
}

hs_status hs_sp_write(uint64_t addr, uint64_t off, const void *buf,
                      size_t len)
{
    return sp_copy(addr, off, (void *)buf, len, HS_PROT_WRITE);
}
