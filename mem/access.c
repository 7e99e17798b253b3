/*
 * mem/access.c - how simulated code reaches its memory, and page faults.
 *
 * Every access walks the page table of the process the thread is in
 * (vm_translate) a 4K piece at a time, so that a range may span pages of
 * any size.  A piece that does not translate is a page fault, taken in
 * this order:
 *
 *   1. a write to a copy-on-write page: the kernel copies the 4K page (or,
 *      if nobody else references it any more, just makes it writable);
 *   2. a special portal's page not yet filled: the fault goes to the
 *      first server of the portal's chain (the port of the chain's name),
 *      with HS_PF_SPECIAL and the portal in mr[7];
 *   3. the thread or its process has a handler in HS_NOTIFY_PAGE_FAULT
 *      (hopsim/notify.h): it runs at once on the faulting thread, and
 *      the access is tried again when it returns.  If the same address
 *      faults again straight after, the handler did not fix it, and the
 *      fault goes on down this list instead of looping;
 *   4. the process has a pager port: the fault is delivered there as an
 *      asynchronous hop, and the thread waits until it is resolved;
 *   5. otherwise, and when a pager refuses: the thread is killed with
 *      HS_EFAULT, and the reason goes into the run's report.
 *
 * After a resolved fault the access starts again from the faulting piece:
 * what was copied before it stays copied, and the thread's UTCB is never
 * touched.
 */
#include <string.h>

#include "kern/event.h"
#include "core/kernel.h"
#include "mem/mapdb.h"
#include "mem/pagefault.h"
#include "mem/portal.h"
#include "mem/vm.h"
#include "notify/notify.h"

/* ---- the range of an access --------------------------------------------- */

static int access_range_ok(uint64_t va, size_t len)
{
    return va < HS_VA_LIMIT && len <= HS_VA_LIMIT - va;
}

static int access_valid(unsigned access)
{
    return access && !(access & ~(HS_PROT_READ | HS_PROT_WRITE));
}

static const char *access_name(unsigned access)
{
    return (access & HS_PROT_WRITE) ? "write" : "read";
}

/* ---- fault objects ------------------------------------------------------- */

static void pf_free(struct pagefault *pf)
{
    list_unlink(&pf->link);
    pool_free(&k.pagefaults, pf);
}

static void pf_wait_detach(struct thread *t)
{
    pf_free(t->wait_obj);   /* the faulting thread ended while it waited */
}

static void pf_wait_describe(const struct thread *t, struct kbuf *b)
{
    const struct pagefault *pf = t->wait_obj;
    kbuf_printf(b, "page fault at 0x%llx (%s), resolved by process %u '%s'",
                (unsigned long long)pf->va, access_name(pf->access),
                handle_index(pf->resolver->obj.handle), pf->resolver->name);
}

static const struct wait_ops pf_wait_ops = {
    .what = "page fault",
    .detach = pf_wait_detach,
    .waits_for = NULL,
    .describe = pf_wait_describe,
};

/* ---- the default: the faulting thread dies -------------------------------- */

static _Noreturn void pf_kill(struct thread *self, uint64_t va,
                              unsigned access, const char *why)
{
    struct proc *p = thread_current_proc(self);
    kbuf_printf(kernel_report(),
                "page fault: thread %u '%s' killed in process %u '%s' at "
                "0x%llx (%s): %s\n", handle_index(self->obj.handle),
                self->name, handle_index(p->obj.handle), p->name,
                (unsigned long long)va, access_name(access), why);
    event_record(EV_PF_KILL, self, va, access);
    thread_exit(self, HS_EFAULT);
}

/* ---- copy-on-write ---------------------------------------------------------- */

/* Give p a private, writable copy of the copy-on-write page holding va:
 * split to 4K first; if nobody else references the frame, just make it
 * writable.  HS_ENOMEM, HS_ENOFRAME with nothing changed: the frame for
 * the copy is taken before anything is split.  (A split moves p's own
 * reference down a size, so the frame's total is the same before and
 * after it.) */
static hs_status cow_break(struct proc *p, uint64_t va)
{
    uint64_t page = va & ~(HS_PAGE_4K - 1);
    struct vm_page pg;
    vm_lookup(p, va, &pg);
    int last = frame_refs_all(pg.pa + (page - pg.va)) == 1;
    uint64_t copy = 0;
    hs_status st = last ? HS_OK : frame_alloc(PS_4K, 1, &copy);
    if (st != HS_OK)
        return st;
    if (pg.ps != PS_4K) {
        st = vm_split_check(p, va, PS_4K);
        if (st != HS_OK) {
            if (!last)
                frame_free(PS_4K, 1, &copy);
            return st;
        }
        vm_split(p, va, PS_4K);
        vm_lookup(p, va, &pg);
    }
    unsigned prot = pg.prot | HS_PROT_WRITE;
    if (last) {
        vm_protect(p, page, HS_PAGE_4K, prot, 0, HS_MEM_COW | HS_MEM_SHARED);
        event_record(EV_PF_COW, kernel_current(), va, 0);
        return HS_OK;
    }
    memcpy(frame_host(copy), frame_host(pg.pa), HS_PAGE_4K);
    /* The unmap frees at most the last-level table, which the map takes
     * again at once: the same bytes, the same quota. */
    vm_unmap(p, page, HS_PAGE_4K);
    KASSERT(vm_map_check(p, page, HS_PAGE_4K) == HS_OK,
            "a page just unmapped maps again");
    vm_map(p, page, copy, HS_PAGE_4K, PS_4K, prot, pg.max_prot,
           pg.flags & ~(HS_MEM_COW | HS_MEM_SHARED), 0);
    event_record(EV_PF_COW, kernel_current(), va, copy);
    return HS_OK;
}

/* ---- delivery to a pager ------------------------------------------------- */

/* Deliver pf to port, chosen by process by (which must be able to hop
 * through it: hopsim/port.h): an asynchronous hop into its handler. */
static hs_status pf_deliver(struct pagefault *pf, hs_port_t port,
                            struct thread *from, const struct proc *by)
{
    uint64_t mr[HS_MR_COUNT] = {
        HS_PF_LABEL, pf->obj.handle, pf->va, pf->access,
        pf->proc->obj.handle, pf->thread->obj.handle, pf->flags,
        pf->portal,
    };
    struct thread *t;
    struct proc *owner;
    hs_status st = hop_deliver_to(port, by, pf->proc, from->prio, mr,
                                  HS_TAG(HS_PF_LABEL, 8), pf->obj.handle,
                                  &t, &owner);
    if (st != HS_OK)
        return st;
    pf->resolver = owner;
    event_record(EV_PF_DELIVER, from, pf->obj.handle, t->obj.handle);
    return HS_OK;
}

/* The fault at va of self (in process p) goes to port (for the special
 * portal named portal, or 0); self waits until it is resolved.  Returns
 * HS_OK to retry the access; does not return if the fault is refused or
 * cannot be delivered. */
static hs_status pf_to_port(struct thread *self, struct proc *p, uint64_t va,
                            unsigned access, unsigned flags, hs_port_t port,
                            uint64_t portal)
{
    hs_status st = pool_reserve(&k.pagefaults, 1);
    if (st != HS_OK)
        pf_kill(self, va, access, "no memory for the fault");
    struct pagefault *pf = pool_alloc(&k.pagefaults);
    pf->thread = self;
    pf->proc = p;
    pf->va = va;
    pf->access = access;
    pf->flags = flags;
    pf->portal = portal;
    list_push_back(&k.pagefaults_open, &pf->link);
    st = pf_deliver(pf, port, self, p);
    if (st != HS_OK) {
        pf_free(pf);
        pf_kill(self, va, access, hs_strerror(st));
    }
    st = sched_block(self, &pf_wait_ops, pf, HS_NEVER);
    if (st == HS_EPARTNER)
        pf_kill(self, va, access, "the pager ended");
    if (st != HS_OK)
        pf_kill(self, va, access, "the pager refused the fault");
    return HS_OK;
}

/* What one access has asked of handlers so far. */
struct access_state {
    uint64_t notified;  /* address the page-fault handler last ran for,
                           or HS_VA_LIMIT */
    int exhausted;      /* HS_NOTIFY_EXHAUSTED was raised */
};

#define ACCESS_STATE_INIT {HS_VA_LIMIT, 0}

/* Run the page-fault notification handler of self for the fault at va,
 * unless it already ran for this address and did not fix it.  1: it
 * ran. */
static int pf_notify(struct thread *self, uint64_t va, unsigned access,
                     struct access_state *ast)
{
    if (ast->notified == va)
        return 0;
    uint64_t w[3] = {va, access, self->obj.handle};
    if (notify_kernel_sync(self, HS_NOTIFY_PAGE_FAULT, w, 3) != HS_OK)
        return 0;
    ast->notified = va;
    return 1;
}

/* Take the fault of an access by self at va that vm_translate refused
 * with why.  Returns HS_OK when the access may be retried, HS_ENOFRAME
 * or HS_ENOMEM when a copy-on-write copy could not be made (after
 * HS_NOTIFY_EXHAUSTED, once per access); does not return when the thread
 * is killed. */
static hs_status pf_take(struct thread *self, uint64_t va, unsigned access,
                         hs_status why, struct access_state *ast)
{
    struct proc *p = thread_current_proc(self);
    struct vm_page pg;
    int mapped = vm_lookup(p, va, &pg);
    event_record(EV_PF, self, va, access);
    if (why == HS_ERANGE)
        return HS_ERANGE;
    if (mapped && (pg.flags & HS_MEM_COW) && (access & HS_PROT_WRITE) &&
        (pg.max_prot & HS_PROT_WRITE) && (pg.prot & HS_PROT_READ)) {
        hs_status st = cow_break(p, va);
        if (st == HS_ENOFRAME && !ast->exhausted) {
            ast->exhausted = 1;     /* once per access: then it stands */
            if (mem_exhausted(self, st, HS_PAGE_4K) == HS_OK)
                return HS_OK;       /* try the access again */
        }
        return st;
    }
    if (mapped && (pg.flags & HS_MEM_SPECIAL) && !pg.pa) {
        hs_port_t chain;
        uint64_t portal;
        if (portal_chain_port(pg.aux, p, va, &chain, &portal) != HS_OK)
            pf_kill(self, va, access, "special page, and no server of its "
                                      "chain");
        return pf_to_port(self, p, va, access, HS_PF_SPECIAL, chain, portal);
    }
    if (pf_notify(self, va, access, ast))
        return HS_OK;
    if (p->pager)
        return pf_to_port(self, p, va, access, 0, p->pager, 0);
    if (ast->notified == va)
        pf_kill(self, va, access, "the page-fault handler did not fix it");
    pf_kill(self, va, access, mapped ? "protection, and no handler"
                                     : "nothing mapped, and no handler");
}

/* ---- the accessors -------------------------------------------------------- */

/* Copy between buf and [va, va + len) of the caller's memory (to_mem:
 * into memory), a 4K piece at a time. */
static hs_status access_copy(uint64_t va, void *buf, size_t len, int to_mem)
{
    if (!buf || !len)
        return HS_EINVAL;
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    hs_status st = access_range_ok(va, len) ? HS_OK : HS_ERANGE;
    unsigned access = to_mem ? HS_PROT_WRITE : HS_PROT_READ;
    struct access_state ast = ACCESS_STATE_INIT;
    unsigned char *b = buf;
    while (st == HS_OK && len) {
        size_t n = HS_PAGE_4K - (va & (HS_PAGE_4K - 1));
        if (n > len)
            n = len;
        void *host;
        uint64_t fva;
        hs_status t = vm_translate(thread_current_proc(self), va, n, access,
                                   &host, &fva);
        if (t != HS_OK) {
            st = pf_take(self, fva, access, t, &ast);
            continue;
        }
        memcpy(to_mem ? host : b, to_mem ? (const void *)b : host, n);
        va += n;
        b += n;
        len -= n;
    }
    kernel_leave(self);
    return st;
}

hs_status hs_mem_read(uint64_t va, void *buf, size_t len)
{
    return access_copy(va, buf, len, 0);
}

hs_status hs_mem_write(uint64_t va, const void *buf, size_t len)
{
    return access_copy(va, (void *)buf, len, 1);
}

hs_status hs_mem_ptr(uint64_t va, size_t len, unsigned access, void **out)
{
    if (!out || !len || !access_valid(access))
        return HS_EINVAL;
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    hs_status st = access_range_ok(va, len) ? HS_OK : HS_ERANGE;
    struct access_state ast = ACCESS_STATE_INIT;
    for (;;) {
        void *host;
        uint64_t fva;
        if (st != HS_OK)
            break;
        hs_status t = vm_translate(thread_current_proc(self), va, len, access,
                                   &host, &fva);
        if (t == HS_OK) {
            *out = host;
            break;
        }
        st = pf_take(self, fva, access, t, &ast);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_mem_probe(uint64_t va, size_t len, unsigned access)
{
    if (!len || !access_valid(access))
        return HS_EINVAL;
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    hs_status st = HS_ERANGE;
    if (access_range_ok(va, len)) {
        struct proc *p = thread_current_proc(self);
        st = HS_OK;
        for (uint64_t a = va; st == HS_OK && a < va + len;
             a = (a | (HS_PAGE_4K - 1)) + 1) {
            uint64_t n = ((a | (HS_PAGE_4K - 1)) + 1) - a;
            if (n > va + len - a)
                n = va + len - a;
            void *host;
            uint64_t fva;
            if (vm_translate(p, a, n, access, &host, &fva) != HS_OK)
                st = HS_EFAULT;
        }
    }
    kernel_leave(self);
    return st;
}

/* ---- pagers ----------------------------------------------------------------- */

hs_status hs_mem_pager_set(hs_port_t port)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    hs_status st = port ? port_pager_check(port, thread_current_proc(self))
                        : HS_OK;
    if (st == HS_OK)
        thread_current_proc(self)->pager = port;
    kernel_leave(self);
    return st;
}

/* The open fault pf names, which the caller's process may resolve. */
static hs_status pf_resolvable(struct thread *self, hs_pagefault_t h,
                               struct pagefault **out)
{
    struct pagefault *pf = pool_lookup(&k.pagefaults, h);
    if (!pf)
        return HS_ESTALE;
    if (pf->resolver != thread_current_proc(self))
        return HS_EPERM;
    *out = pf;
    return HS_OK;
}

/* Whether the faulting page of pf is a special portal's page not yet
 * filled: 1 and *ph, which resolving replaces. */
static int resolve_placeholder(const struct pagefault *pf, struct vm_page *ph)
{
    return vm_lookup(pf->proc, pf->va, ph) && (ph->flags & HS_MEM_SPECIAL) &&
           !ph->pa;
}

/* Check the page that resolves pf: src in the caller's process p, mapped
 * with at least prot, and room for it in the faulting process (where a
 * special page not yet filled is replaced: its unmap then frees what the
 * map takes again). */
static hs_status resolve_check(struct proc *p, const struct pagefault *pf,
                               uint64_t src, unsigned mode, unsigned prot,
                               struct vm_page *pg, uint64_t *copy)
{
    if ((src & (HS_PAGE_4K - 1)) || src >= HS_VA_LIMIT ||
        (mode != HS_XFER_SHARE && mode != HS_XFER_COPY) ||
        (prot & ~HS_PROT_ALL))
        return HS_EINVAL;
    if (!vm_lookup(p, src, pg) || !vm_page_present(pg))
        return HS_ENOMAP;
    if ((prot & ~pg->prot) || (pg->flags & HS_MEM_DIRECT))
        return HS_EPERM;
    struct vm_page ph;
    uint64_t page = pf->va & ~(HS_PAGE_4K - 1);
    int special = resolve_placeholder(pf, &ph);
    if (special && !(prot & ph.max_prot))
        return HS_EPERM;
    hs_status st = special ? vm_unmap_check(pf->proc, page, HS_PAGE_4K)
                           : vm_map_check(pf->proc, page, HS_PAGE_4K);
    if (st == HS_OK && mode == HS_XFER_SHARE && pf->proc != p)
        st = mapdb_reserve(mapdb_derive_need(p, src));
    if (st == HS_OK && mode == HS_XFER_COPY)
        st = frame_alloc(PS_4K, 1, copy);
    return st;
}

/* Map the resolving page of p (checked; copy: the frame for a copy) into
 * the faulting process.  A special page keeps its flag and gets at most
 * the portal's protection.  A page shared with another process is
 * derived from p's (mem/mapdb.h): the pager may take it back with
 * hs_mem_revoke. */
static void resolve_map(struct proc *p, const struct pagefault *pf,
                        uint64_t src,
                        unsigned mode, unsigned prot, const struct vm_page *pg,
                        uint64_t copy)
{
    uint64_t pa = pg->pa + ((src - pg->va) & ~(HS_PAGE_4K - 1));
    uint64_t page = pf->va & ~(HS_PAGE_4K - 1);
    unsigned flags = HS_MEM_SHARED, max_prot = prot;
    if (mode == HS_XFER_COPY) {
        memcpy(frame_host(copy), frame_host(pa), HS_PAGE_4K);
        pa = copy;
        flags = 0;
    }
    struct vm_page ph;
    if (resolve_placeholder(pf, &ph)) {
        vm_unmap(pf->proc, page, HS_PAGE_4K);
        KASSERT(vm_map_check(pf->proc, page, HS_PAGE_4K) == HS_OK,
                "a special page just unmapped maps again");
        flags |= pa ? HS_MEM_SPECIAL : 0;   /* pa 0 would read as unfilled */
        prot &= ph.max_prot;
        max_prot = ph.max_prot;
    }
    vm_map(pf->proc, page, pa, HS_PAGE_4K, PS_4K, prot, max_prot, flags, 0);
    if (mode == HS_XFER_SHARE && pf->proc != p)
        mapdb_derive(p, src, pf->proc, page);
}

hs_status hs_mem_fault_resolve(hs_pagefault_t h, uint64_t src, unsigned mode,
                               unsigned prot)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct pagefault *pf = NULL;
    struct vm_page pg;
    uint64_t copy = 0;
    hs_status st = pf_resolvable(self, h, &pf);
    if (st == HS_OK && (prot & ~HS_PROT_ALL))
        st = HS_EINVAL;                 /* also when nothing is mapped */
    if (st == HS_OK && prot && src != HS_PF_NOPAGE)
        st = resolve_check(thread_current_proc(self), pf, src, mode, prot,
                           &pg, &copy);
    if (st == HS_OK) {
        if (prot && src != HS_PF_NOPAGE) {
            resolve_map(thread_current_proc(self), pf, src, mode, prot, &pg,
                        copy);
            /* Shared: the resolver's own page is flagged, whole, so that
             * it is never made copy-on-write behind the faulter's back. */
            if (mode == HS_XFER_SHARE && !(pg.flags & HS_MEM_SHARED))
                vm_protect(thread_current_proc(self), pg.va,
                           ps_bytes(pg.ps), pg.prot, HS_MEM_SHARED, 0);
        }
        struct thread *t = pf->thread;
        event_record(EV_PF_RESOLVE, self, h, prot);
        pf_free(pf);
        sched_wake(t, prot ? HS_OK : HS_EFAULT);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_mem_fault_pass(hs_pagefault_t h, hs_port_t port)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct pagefault *pf = NULL;
    hs_status st = pf_resolvable(self, h, &pf);
    if (st == HS_OK)
        st = pf_deliver(pf, port, self, thread_current_proc(self));
    kernel_leave(self);
    return st;
}

/* ---- a process ends ---------------------------------------------------------- */

void pf_proc_end(struct proc *p)
{
    struct list *l, *tmp;
    list_for_each_safe(l, tmp, &k.pagefaults_open) {
        struct pagefault *pf = container_of(l, struct pagefault, link);
        if (pf->resolver == p && pf->proc != p) {
            struct thread *t = pf->thread;
            pf_free(pf);
            sched_wake(t, HS_EPARTNER);
        }
    }
}

/* ---- the object table ------------------------------------------------------ */

static void pf_start(void)
{
    list_init(&k.pagefaults_open);
}

const struct kobj_type pagefault_type = {
    .name = "page fault",
    .pool = &k.pagefaults,
    .size = sizeof(struct pagefault),
    .start = pf_start,
    .proc_end = pf_proc_end,
};
