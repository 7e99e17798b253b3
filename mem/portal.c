/*
 * mem/portal.c - memory portals: hs_portal() decodes one request into a
 * class (anon, cow, direct, special, share), checks everything, then makes
 * the mapping; hs_portal_destroy() undoes it.  Share-points themselves are
 * in mem/sharepoint.c, device regions in mem/device.c, and the routing of
 * a special page's fault to its chain in mem/access.c.
 */
#include <string.h>

#include "core/kernel.h"
#include "mem/device.h"
#include "mem/pagefault.h"
#include "mem/portal.h"
#include "mem/frame.h"
#include "mem/vm.h"

#define SP_LENGTH_MAX HS_PAGE_1G    /* bytes of data of one share-point */

void portal_start(void)
{
    pool_init(&k.portals, sizeof(struct portal));
    pool_init(&k.sharepoints, sizeof(struct sharepoint));
    list_init(&k.portals_live);
    list_init(&k.sharepoints_live);
    device_init();
}

void portal_stop(void)
{
    sharepoint_release_all();
    device_release();
    pool_destroy(&k.portals);
    pool_destroy(&k.sharepoints);
}

/* ---- decoding a request ------------------------------------------------------ */

/* What the checks of a request found, for the part that cannot fail. */
struct portal_plan {
    uint64_t maplen;            /* bytes mapped at addr */
    struct sharepoint *sp;      /* share: the one attached to, or made */
    int sp_new;                 /* sp is prepared, not yet published */
    uint64_t *frames;           /* anon: one 4K frame a page */
};

static int portal_type_valid(const hs_portal_req *r)
{
    if (r->share.create != 0 && r->share.create != 1)
        return 0;
    switch (r->type) {
    case HS_PORTAL_ANON:
    case HS_PORTAL_COW:
    case HS_PORTAL_DIRECT:
    case HS_PORTAL_SPECIAL:
        return 1;
    case HS_PORTAL_SHARE | HS_PORTAL_ANON:
    case HS_PORTAL_SHARE | HS_PORTAL_DIRECT:
        return r->share.create == 1;
    case HS_PORTAL_SHARE:
    case HS_PORTAL_SHARE | HS_PORTAL_COW:
        return r->share.create == 0;
    default:
        return 0;
    }
}

static int name_ok(const char *s, size_t max)
{
    return s && *s && kstrnlen(s, max + 1) <= max;
}

/* The form of the request, alone: HS_EINVAL or HS_OK. */
static hs_status portal_req_valid(const hs_portal_req *r)
{
    uint64_t mask = HS_PAGE_4K - 1;
    if (!portal_type_valid(r) || !r->prot || (r->prot & ~HS_PROT_ALL) ||
        (r->morphology.addr & mask))
        return HS_EINVAL;
    int creating = (r->type & HS_PORTAL_SHARE) && r->share.create;
    if (creating && (!r->length || r->length > SP_LENGTH_MAX))
        return HS_EINVAL;
    if (!(r->type & HS_PORTAL_SHARE) && (!r->length || (r->length & mask)))
        return HS_EINVAL;
    if ((r->type & HS_PORTAL_COW) && !(r->prot & HS_PROT_READ))
        return HS_EINVAL;
    if ((r->type & HS_PORTAL_DIRECT) && (r->morphology.paddr & mask))
        return HS_EINVAL;
    if (r->type == HS_PORTAL_COW && (r->morphology.src & mask))
        return HS_EINVAL;
    if ((r->type & HS_PORTAL_SHARE) &&
        !name_ok(r->share.identifier, HS_SP_NAME_MAX))
        return HS_EINVAL;
    if ((r->type & HS_PORTAL_SPECIAL) &&
        (!name_ok(r->chain.name, HS_PORT_NAME_MAX) ||
         (r->chain.message &&
          kstrnlen(r->chain.message, HS_PORTAL_MSG_MAX + 1) >
              HS_PORTAL_MSG_MAX)))
        return HS_EINVAL;
    return HS_OK;
}

/* The source of a COW view: [src, src + len) mapped, present, readable,
 * not a device's nor shared writable with another mapping (the view could
 * not be isolated from it), prot within each page's, and each large page wholly
 * inside the range at an offset to addr that keeps it aligned.  The
 * source pages' protection change is checked too. */
static hs_status cow_source_check(struct proc *p, uint64_t src, uint64_t len,
                                  uint64_t addr, unsigned prot)
{
    uint64_t va = src;
    while (va < src + len) {
        struct vm_page pg;
        if (!vm_lookup(p, va, &pg) || !vm_page_present(&pg))
            return HS_ENOMAP;
        uint64_t size = ps_bytes(pg.ps);
        if (pg.va < src || pg.va + size > src + len ||
            ((addr - src) & (size - 1)))
            return HS_EINVAL;
        if ((pg.flags & HS_MEM_DIRECT) || !(pg.prot & HS_PROT_READ) ||
            (prot & ~pg.max_prot) || vm_page_shared_writable(&pg))
            return HS_EPERM;
        hs_status st = vm_protect_check(p, pg.va, size,
                                        pg.prot & ~HS_PROT_WRITE);
        if (st != HS_OK)
            return st;
        va = pg.va + size;
    }
    return HS_OK;
}

/* The share-point part: the one to attach to, or a new one prepared. */
static hs_status portal_share_check(const hs_portal_req *r,
                                    struct portal_plan *plan)
{
    struct sharepoint *sp = sharepoint_find(r->share.identifier);
    if (!r->share.create) {
        if (!sp)
            return HS_ENOENT;
        if ((r->prot & ~sp->prot) ||
            ((r->type & HS_PORTAL_COW) && sp->direct))
            return HS_EPERM;
        plan->sp = sp;
        plan->maplen = (uint64_t)sp->npages * HS_PAGE_4K;
        return HS_OK;
    }
    if (sp)
        return HS_EEXIST;
    plan->maplen = (uint64_t)sharepoint_pages(r->length) * HS_PAGE_4K;
    return HS_OK;
}

/* Everything but the frames and page-table room: HS_OK with plan->maplen
 * (and plan->sp when attaching). */
static hs_status portal_args_check(struct proc *p, const hs_portal_req *r,
                                   struct portal_plan *plan)
{
    hs_status st = portal_req_valid(r);
    if (st != HS_OK)
        return st;
    if ((r->type & (HS_PORTAL_DIRECT | HS_PORTAL_SPECIAL)) && !p->privileged)
        return HS_EPERM;
    plan->maplen = r->length;
    if ((r->type & HS_PORTAL_SHARE) &&
        (st = portal_share_check(r, plan)) != HS_OK)
        return st;
    if ((st = vm_range_check(r->morphology.addr, plan->maplen,
                             HS_PAGE_4K)) != HS_OK)
        return st;
    if ((r->type & HS_PORTAL_DIRECT) &&
        (st = device_range_check(r->morphology.paddr, plan->maplen)) != HS_OK)
        return st;
    if (r->type == HS_PORTAL_COW) {
        st = vm_range_check(r->morphology.src, plan->maplen, HS_PAGE_4K);
        if (st == HS_OK)
            st = cow_source_check(p, r->morphology.src, plan->maplen,
                                  r->morphology.addr, r->prot);
    }
    return st;
}

/* Frames and room: the new share-point, anon's frames, the portal object
 * and the page-table room.  On error nothing is taken. */
static hs_status portal_reserve(struct proc *p, const hs_portal_req *r,
                                struct portal_plan *plan)
{
    hs_status st = pool_reserve(&k.portals, 1);
    if (st != HS_OK)
        return st;
    if ((r->type & HS_PORTAL_SHARE) && r->share.create) {
        st = sharepoint_prepare(r->share.identifier, r->prot, r->length,
                                (r->type & HS_PORTAL_DIRECT) != 0,
                                r->morphology.paddr, &plan->sp);
        if (st != HS_OK)
            return st;
        plan->sp_new = 1;
    } else if (r->type == HS_PORTAL_ANON) {
        /* More frames than the pool has free (checked before the count
         * is narrowed: an enormous length must not wrap). */
        if (plan->maplen / HS_PAGE_4K > frame_blocks(PS_4K))
            return HS_ENOFRAME;
        unsigned n = (unsigned)(plan->maplen / HS_PAGE_4K);
        plan->frames = plat_alloc(n * sizeof *plan->frames);
        if (!plan->frames)
            return HS_ENOMEM;
        if ((st = frame_alloc(PS_4K, n, plan->frames)) != HS_OK) {
            plat_free(plan->frames);
            plan->frames = NULL;
            return st;
        }
    }
    st = vm_map_check(p, r->morphology.addr, plan->maplen);
    if (st != HS_OK) {
        if (plan->sp_new)
            sharepoint_cancel(plan->sp);
        if (plan->frames) {
            frame_free(PS_4K, (unsigned)(plan->maplen / HS_PAGE_4K),
                       plan->frames);
            plat_free(plan->frames);
        }
    }
    return st;
}

/* ---- making the mapping (cannot fail) ------------------------------------------ */

static void portal_map_anon(struct proc *p, const struct portal *o,
                            const uint64_t *frames)
{
    for (uint64_t i = 0; i < o->length / HS_PAGE_4K; i++)
        vm_map(p, o->addr + i * HS_PAGE_4K, frames[i], HS_PAGE_4K, PS_4K,
               o->prot, o->prot, 0, 0);
}

static void portal_map_special(struct proc *p, const struct portal *o)
{
    for (uint64_t va = o->addr; va < o->addr + o->length; va += HS_PAGE_4K)
        vm_map(p, va, 0, HS_PAGE_4K, PS_4K, o->prot, o->prot, HS_MEM_SPECIAL,
               portal_aux(o->obj.handle));
}

/* Both sides of a COW view lose write access until their first write. */
static void portal_map_cow(struct proc *p, const struct portal *o,
                           uint64_t src)
{
    unsigned flags = HS_MEM_COW | HS_MEM_SHARED;
    uint64_t va = src;
    while (va < src + o->length) {
        struct vm_page pg;
        vm_lookup(p, va, &pg);
        uint64_t size = ps_bytes(pg.ps);
        vm_protect(p, pg.va, size, pg.prot & ~HS_PROT_WRITE, flags, 0);
        vm_map(p, o->addr + (pg.va - src), pg.pa, size, pg.ps,
               o->prot & ~HS_PROT_WRITE, o->prot, flags, 0);
        va = pg.va + size;
    }
}

static void portal_map(struct proc *p, struct portal *o,
                       const hs_portal_req *r, struct portal_plan *plan)
{
    if (o->sp) {
        if (plan->sp_new)
            sharepoint_publish(o->sp);
        unsigned cow = (o->type & HS_PORTAL_COW) ? HS_PROT_WRITE : 0;
        sharepoint_map(o->sp, p, o->addr, o->prot & ~cow, o->prot,
                       cow ? HS_MEM_COW : 0);
        list_push_back(&o->sp->attached, &o->sp_link);
    } else if (o->type == HS_PORTAL_ANON) {
        portal_map_anon(p, o, plan->frames);
        plat_free(plan->frames);
    } else if (o->type == HS_PORTAL_DIRECT) {
        vm_map(p, o->addr, o->paddr, o->length, PS_4K, o->prot, o->prot,
               HS_MEM_DIRECT, 0);
    } else if (o->type == HS_PORTAL_SPECIAL) {
        portal_map_special(p, o);
    } else {
        portal_map_cow(p, o, r->morphology.src);
    }
}

static struct portal *portal_new(struct thread *self, struct proc *p,
                                 const hs_portal_req *r,
                                 const struct portal_plan *plan)
{
    struct portal *o = pool_alloc(&k.portals);
    o->owner = p;
    o->thread = self->obj.handle;
    o->type = r->type;
    o->prot = r->prot;
    o->addr = r->morphology.addr;
    o->length = plan->maplen;
    o->paddr = (r->type & HS_PORTAL_DIRECT) ? r->morphology.paddr : 0;
    o->sp = plan->sp;
    o->creator = plan->sp_new;
    list_init(&o->sp_link);
    if (r->type & HS_PORTAL_SPECIAL) {
        kstrlcpy(o->chain, r->chain.name, sizeof o->chain);
        if (r->chain.message)
            kstrlcpy(o->message, r->chain.message, sizeof o->message);
    }
    list_push_back(&k.portals_live, &o->link);
    return o;
}

hs_status hs_portal(const hs_portal_req *req, hs_portal_t *out)
{
    if (!req)
        return HS_EINVAL;
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    struct portal_plan plan;
    hs_status st;
    for (int again = 0;; again = 1) {
        plan = (struct portal_plan){ 0 };
        st = portal_args_check(p, req, &plan);
        if (st == HS_OK)
            st = portal_reserve(p, req, &plan);
        /* Out of frames or quota: HS_NOTIFY_EXHAUSTED, then once more.
         * The bytes asked are those mapped (an attachment's length is
         * the share-point's, a new one's includes its meta-structure). */
        if (again || (st != HS_ENOFRAME && st != HS_EQUOTA) ||
            mem_exhausted(self, st, plan.maplen) != HS_OK)
            break;
    }
    if (st == HS_OK) {
        struct portal *o = portal_new(self, p, req, &plan);
        portal_map(p, o, req, &plan);
        event_record(EV_PORTAL_CREATE, self, o->obj.handle, o->type);
        if (out)
            *out = o->obj.handle;
    }
    kernel_leave(self);
    return st;
}

/* ---- ending portals ------------------------------------------------------------- */

static void portal_free(struct portal *o)
{
    if (o->sp)
        sharepoint_detach(o);
    list_unlink(&o->link);
    pool_free(&k.portals, o);
}

hs_status hs_portal_destroy(hs_portal_t h)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    struct portal *o = pool_lookup(&k.portals, h);
    hs_status st = HS_OK;
    if (!o)
        st = HS_ESTALE;
    else if (o->owner != p)
        st = HS_EPERM;
    else
        st = vm_unmap_check(p, o->addr, o->length);
    if (st == HS_OK) {
        vm_unmap(p, o->addr, o->length);
        event_record(EV_PORTAL_CLOSE, self, h, o->type);
        portal_free(o);
    }
    kernel_leave(self);
    return st;
}

void portal_proc_end(struct proc *p)
{
    struct list *l, *tmp;
    list_for_each_safe(l, tmp, &k.portals_live) {
        struct portal *o = container_of(l, struct portal, link);
        if (o->owner == p) {
            event_record(EV_PORTAL_CLOSE, NULL, o->obj.handle, o->type);
            portal_free(o);
        }
    }
}

/* ---- special portals' chains ------------------------------------------------------ */

uint64_t portal_aux(uint64_t h)
{
    return handle_index(h);
}

hs_status portal_chain_port(uint64_t aux, const struct proc *p, uint64_t va,
                            hs_port_t *port, uint64_t *portal)
{
    struct portal *o = NULL;
    if (aux >= 1 && aux <= pool_slots(&k.portals))
        o = pool_at(&k.portals, (uint32_t)(aux - 1));
    if (!o || !(o->type & HS_PORTAL_SPECIAL) || o->owner != p ||
        va < o->addr || va - o->addr >= o->length)
        return HS_ESTALE;
    hs_port_t pt = port_named(o->chain);
    if (!pt)
        return HS_ENOPORT;
    *port = pt;
    *portal = o->obj.handle;
    return HS_OK;
}

/* Whether p may read portal o: its owner, or a server of its chain that
 * holds an open fault on it. */
static int portal_readable(const struct portal *o, const struct proc *p)
{
    if (o->owner == p)
        return 1;
    struct list *l;
    list_for_each(l, &k.pagefaults_open) {
        struct pagefault *pf = container_of(l, struct pagefault, link);
        if (pf->portal == o->obj.handle && pf->resolver == p)
            return 1;
    }
    return 0;
}

static void portal_describe(const struct portal *o, hs_portal_info *info)
{
    memset(info, 0, sizeof *info);
    info->type = o->type;
    info->prot = o->prot;
    info->addr = o->addr;
    info->length = o->length;
    info->paddr = o->paddr;
    info->owner = o->owner->obj.handle;
    info->thread = o->thread;
    kstrlcpy(info->chain, o->chain, sizeof info->chain);
    kstrlcpy(info->message, o->message, sizeof info->message);
    if (o->sp) {
        struct list *l;
        info->data_offset = o->sp->data_off;
        info->data_length = o->sp->length;
        kstrlcpy(info->identifier, o->sp->name, sizeof info->identifier);
        list_for_each(l, &o->sp->attached)
            info->attached++;
    }
}

hs_status hs_portal_info_get(hs_portal_t h, hs_portal_info *info)
{
    if (!info)
        return HS_EINVAL;
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct portal *o = pool_lookup(&k.portals, h);
    hs_status st = HS_OK;
    if (!o)
        st = HS_ESTALE;
    else if (!portal_readable(o, thread_current_proc(self)))
        st = HS_EPERM;
    else
        portal_describe(o, info);
    kernel_leave(self);
    return st;
}

/* ---- the object table ------------------------------------------------------ */

const struct kobj_type portal_type = {
    .name = "portal",
    .start = portal_start,
    .stop = portal_stop,
    .proc_end = portal_proc_end,
};
