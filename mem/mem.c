/*
 * mem/mem.c - the public memory calls (hopsim/mem.h: address spaces, the
 * pool's figures, the check), the kernel's holds, and memory at the start
 * and end of a run.  The accessors, page faults and transfers live
 * elsewhere; they build on mem/vm.h.
 */
#include <string.h>

#include "core/level.h"
#include "core/kernel.h"
#include "mem/frame.h"
#include "mem/mapdb.h"
#include "mem/pt.h"
#include "mem/vm.h"
#include "notify/notify.h"

static struct {
    struct mem_hold *holds;     /* the kernel's references */
    int ended;                  /* a run ended: the figures below hold */
    hs_mem_stats end_stats;     /* the pool at the end of the last run */
    hs_status end_check;        /* the check at the end of the last run */
} mem;

/* ---- holds ------------------------------------------------------------- */

void mem_hold_add(struct mem_hold *h)
{
    uint64_t span = ps_bytes(h->ps);
    KASSERT(h->pa % span == 0 && h->len % span == 0 && h->len &&
            frame_in_pool(h->pa, h->len), "a hold is aligned, in the pool");
    for (uint64_t pa = h->pa; pa < h->pa + h->len; pa += span)
        frame_ref(pa, h->ps);
    h->next = mem.holds;
    mem.holds = h;
}

void mem_hold_remove(struct mem_hold *h)
{
    struct mem_hold **pp = &mem.holds;
    while (*pp && *pp != h)
        pp = &(*pp)->next;
    KASSERT(*pp == h, "a hold removed was added");
    *pp = h->next;
    h->next = NULL;
    uint64_t span = ps_bytes(h->ps);
    for (uint64_t pa = h->pa; pa < h->pa + h->len; pa += span)
        frame_unref(pa, h->ps);
}

const struct mem_hold *mem_hold_list(void)
{
    return mem.holds;
}

/* ---- the run ------------------------------------------------------------- */

hs_status mem_start(uint64_t size)
{
    hs_status st = frame_pool_init(size);
    if (st != HS_OK)
        return st;
    mem.holds = NULL;
    mem.ended = 0;
    mapdb_start();
    return HS_OK;
}

static void stats_now(hs_mem_stats *out)
{
    frame_stats(out);
    out->page_tables = pt_nodes_in_use();
    out->derived = mapdb_nodes();
}

/* Free every address space and hold, dropping their references (trusted)
 * or not (after a panic: the pool is then reset as a whole). */
static void free_everything(int trusted)
{
    for (uint32_t i = 0; i < pool_slots(&k.procs); i++) {
        struct proc *p = pool_at(&k.procs, i);
        if (p && trusted)
            vm_proc_free(p);
        else if (p)
            vm_discard(p);
    }
    while (mem.holds) {
        struct mem_hold *h = mem.holds;
        if (trusted) {
            mem_hold_remove(h);
        } else {
            mem.holds = h->next;
            h->next = NULL;
        }
    }
    if (!trusted)
        frame_pool_reset();
}

hs_status mem_end(hs_status status)
{
    char buf[KFMT_LINE];
    struct kbuf scratch;
    kbuf_init(&scratch, buf, sizeof buf);
    /* After a panic the state may be half changed: check it quietly. */
    struct kbuf *b = status == HS_EPANIC ? &scratch : kernel_report();
    size_t at = b->len;
    mem.end_check = vm_check_all(b);
    int trusted = status != HS_EPANIC && mem.end_check == HS_OK;
    if (mem.end_check != HS_OK && status != HS_EPANIC) {
        if (!k.cfg.quiet)
            plat_print(b->buf + at);
        status = HS_EPANIC;
    }
    free_everything(trusted);
    stats_now(&mem.end_stats);
    mapdb_end();
    mem.ended = 1;
    pt_release();
    frame_pool_fini();
    return status;
}

/* ---- argument checks ---------------------------------------------------- */

static int prot_valid(unsigned prot)
{
    return prot && !(prot & ~HS_PROT_ALL);
}

static int page_valid(uint64_t page)
{
    return page == 0 || page == HS_PAGE_4K || page == HS_PAGE_2M ||
           page == HS_PAGE_1G;
}

/* ---- mapping fresh memory ------------------------------------------------ */

/* Count the pages of each size a map of [va, end) with page takes: for
 * page 0, pieces of size ps or smaller (vm_page_for()'s choice). */
static void pages_count(uint64_t va, uint64_t end, uint64_t page, int ps,
                        uint64_t n[PS_COUNT])
{
    if (va >= end)
        return;
    if (page) {
        enum page_size fixed = vm_page_for(va, end, page);
        n[fixed] += (end - va) / page;
        return;
    }
    if (ps == PS_4K) {
        n[PS_4K] += (end - va) / HS_PAGE_4K;
        return;
    }
    uint64_t s = ps_bytes((enum page_size)ps);
    uint64_t lo = (va + s - 1) & ~(s - 1), hi = end & ~(s - 1);
    if (lo >= hi) {
        pages_count(va, end, 0, ps - 1, n);
        return;
    }
    n[ps] += (hi - lo) / s;
    pages_count(va, lo, 0, ps - 1, n);
    pages_count(hi, end, 0, ps - 1, n);
}

/* Allocate n[ps] blocks of each size into pa[ps], largest first, all or
 * nothing: HS_ENOFRAME. */
static hs_status frames_take(const uint64_t n[PS_COUNT],
                             uint64_t *pa[PS_COUNT])
{
    for (int ps = PS_1G; ps >= PS_4K; ps--) {
        hs_status st = n[ps] ? frame_alloc((enum page_size)ps,
                                           (unsigned)n[ps], pa[ps])
                             : HS_OK;
        if (st != HS_OK) {
            for (int up = ps + 1; up < PS_COUNT; up++)
                frame_free((enum page_size)up, (unsigned)n[up], pa[up]);
            return st;
        }
    }
    return HS_OK;
}

static void frames_give_back(const uint64_t n[PS_COUNT],
                             uint64_t *pa[PS_COUNT])
{
    for (int ps = 0; ps < PS_COUNT; ps++)
        frame_free((enum page_size)ps, (unsigned)n[ps], pa[ps]);
}

/* Map fresh frames at [va, va + len) of p; the range is checked and free
 * of mappings, the quota checked.  HS_ENOFRAME, HS_ENOMEM: nothing done. */
static hs_status map_fresh(struct proc *p, uint64_t va, uint64_t len,
                           unsigned prot, uint64_t page, unsigned nodes)
{
    uint64_t n[PS_COUNT] = {0, 0, 0};
    pages_count(va, va + len, page, PS_1G, n);
    for (int ps = 0; ps < PS_COUNT; ps++)
        if (n[ps] > frame_blocks((enum page_size)ps))
            return HS_ENOFRAME;
    uint64_t *all = plat_alloc((size_t)(n[0] + n[1] + n[2] + 1) *
                               sizeof *all);
    if (!all)
        return HS_ENOMEM;
    uint64_t *pa[PS_COUNT] = {all, all + n[0], all + n[0] + n[1]};
    hs_status st = frames_take(n, pa);
    if (st == HS_OK && (st = pt_reserve(nodes)) != HS_OK)
        frames_give_back(n, pa);
    if (st == HS_OK) {
        uint64_t used[PS_COUNT] = {0, 0, 0};
        for (uint64_t at = va, end = va + len; at < end;) {
            enum page_size ps = vm_page_for(at, end, page);
            vm_map(p, at, pa[ps][used[ps]++], ps_bytes(ps), ps, prot, prot,
                   0, 0);
            at += ps_bytes(ps);
        }
    }
    plat_free(all);
    return st;
}

hs_status mem_exhausted(struct thread *self, hs_status why, uint64_t amount)
{
    struct proc *p = thread_current_proc(self);
    hs_mem_stats s;
    frame_stats(&s);
    uint64_t w[4] = {HS_MEM_POOL, amount, s.pool - s.free, s.pool};
    if (why == HS_EQUOTA) {
        const hs_account *a = &p->factory.acct;
        w[0] = HS_RES_MAPPED;
        w[2] = a->used[HS_RES_MAPPED];
        w[3] = a->limit[HS_RES_MAPPED];
    } else if (why != HS_ENOFRAME) {
        return why;
    }
    return notify_kernel_sync(self, HS_NOTIFY_EXHAUSTED, w, 4);
}

/* One attempt of hs_mem_map: everything checked, then mapped. */
static hs_status map_try(struct thread *self, uint64_t va, uint64_t len,
                         unsigned prot, uint64_t page)
{
    struct proc *p = thread_current_proc(self);
    unsigned nodes = 0;
    hs_status st = prot_valid(prot) && page_valid(page) ? HS_OK : HS_EINVAL;
    if (st == HS_OK)
        st = vm_range_check(va, len, page);
    if (st == HS_OK)
        st = vm_map_plan(p, va, len, page, &nodes);
    if (st == HS_OK)
        st = factory_check(p, HS_RES_MAPPED, len);
    if (st == HS_OK)
        st = map_fresh(p, va, len, prot, page, nodes);
    return st;
}

hs_status hs_mem_map(uint64_t va, uint64_t len, unsigned prot, uint64_t page)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    hs_status st = map_try(self, va, len, prot, page);
    if ((st == HS_ENOFRAME || st == HS_EQUOTA) &&
        mem_exhausted(self, st, len) == HS_OK)
        st = map_try(self, va, len, prot, page);        /* once more */
    if (st == HS_OK)
        event_record(EV_MEM_MAP, self, va, len);
    kernel_leave(self);
    return st;
}

hs_status hs_mem_unmap(uint64_t va, uint64_t len)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    hs_status st = vm_range_check(va, len, HS_PAGE_4K);
    if (st == HS_OK)
        st = vm_unmap_check(p, va, len);
    if (st == HS_OK) {
        vm_unmap(p, va, len);
        event_record(EV_MEM_UNMAP, self, va, len);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_mem_revoke(uint64_t va, uint64_t len)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    hs_status st = vm_range_check(va, len, HS_PAGE_4K);
    if (st == HS_OK)
        st = mapdb_revoke_check(p, va, va + len);
    if (st == HS_OK) {
        uint64_t bytes = mapdb_revoke(p, va, va + len);
        event_record(EV_MEM_REVOKE, self, va, bytes);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_mem_protect(uint64_t va, uint64_t len, unsigned prot)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    hs_status st = prot_valid(prot) ? HS_OK : HS_EINVAL;
    if (st == HS_OK)
        st = vm_range_check(va, len, HS_PAGE_4K);
    if (st == HS_OK)
        st = vm_protect_check(p, va, len, prot);
    if (st == HS_OK) {
        vm_protect(p, va, len, prot, 0, 0);
        event_record(EV_MEM_PROTECT, self, va, len);
    }
    kernel_leave(self);
    return st;
}

/* ---- reading the state ---------------------------------------------------- */

static void info_fill(const struct vm_page *pg, hs_mem_info *info)
{
    int counted = pg->pa || !(pg->flags & HS_MEM_SPECIAL);
    counted = counted && !(pg->flags & HS_MEM_DIRECT);
    memset(info, 0, sizeof *info);
    info->va = pg->va;
    info->page = ps_bytes(pg->ps);
    info->prot = pg->prot;
    info->max_prot = pg->max_prot;
    info->flags = pg->flags;
    info->pa = pg->pa;
    info->refs = counted ? frame_refs(pg->pa, pg->ps) : 0;
    if (info->refs > 1)
        info->flags |= HS_MEM_SHARED;
}

hs_status hs_mem_query(hs_pid_t pid, uint64_t va, hs_mem_info *info)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = pid ? proc_lookup(pid) : thread_current_proc(self);
    struct vm_page pg;
    hs_status st = HS_OK;
    if (!info)
        st = HS_EINVAL;
    else if (va >= HS_VA_LIMIT)
        st = HS_ERANGE;
    else if (!p)
        st = HS_ESRCH;
    else if (!vm_lookup(p, va, &pg))
        st = HS_ENOMAP;
    if (st == HS_OK)
        info_fill(&pg, info);
    kernel_leave(self);
    return st;
}

hs_status hs_mem_stats_get(hs_mem_stats *out)
{
    if (!out)
        return HS_EINVAL;
    struct thread *self = kernel_enter();
    if (self) {
        stats_now(out);
        kernel_leave(self);
        return HS_OK;
    }
    if (kern.running)
        return HS_ESTATE;
    if (k.started)
        stats_now(out);
    else if (mem.ended)
        *out = mem.end_stats;
    else
        return HS_ESTATE;
    return HS_OK;
}

hs_status hs_mem_check(void)
{
    struct thread *self = kernel_enter();
    if (self) {
        hs_status st = vm_check_all(kernel_report());
        kernel_leave(self);
        return st;
    }
    if (kern.running)
        return HS_ESTATE;
    if (k.started)
        return vm_check_all(kernel_report());
    return mem.ended ? mem.end_check : HS_ESTATE;
}
