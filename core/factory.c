/*
 * core/factory.c - quotas and accounts (see hopsim/factory.h).
 */
#include "core/factory.h"
#include "core/kernel.h"

static const char *const res_names[HS_RES_COUNT] = {
    [HS_RES_THREADS] = "threads",
    [HS_RES_PROCS] = "procs",
    [HS_RES_PORTS] = "ports",
    [HS_RES_GATES] = "gates",
    [HS_RES_CAPS] = "caps",
    [HS_RES_IRQS] = "irqs",
    [HS_RES_MEMORY] = "memory",
    [HS_RES_MAPPED] = "mapped",
};

const char *hs_res_name(hs_res res)
{
    if ((unsigned)res >= HS_RES_COUNT)
        return "?";
    return res_names[res];
}

void factory_init(struct proc *p, const hs_quota *q)
{
    hs_account *a = &p->factory.acct;
    for (int r = 0; r < HS_RES_COUNT; r++) {
        a->limit[r] = q ? q->limit[r] : HS_UNLIMITED;
        a->used[r] = a->peak[r] = a->refused[r] = 0;
    }
}

hs_status factory_check(struct proc *p, hs_res r, uint64_t n)
{
    hs_account *a = &p->factory.acct;
    if (a->used[r] <= a->limit[r] && n <= a->limit[r] - a->used[r])
        return HS_OK;
    a->refused[r]++;
    return HS_EQUOTA;
}

int factory_fits(const struct proc *p, hs_res r, uint64_t n)
{
    const hs_account *a = &p->factory.acct;
    return a->used[r] <= a->limit[r] && n <= a->limit[r] - a->used[r];
}

void factory_charge(struct proc *p, hs_res r, uint64_t n)
{
    hs_account *a = &p->factory.acct;
    a->used[r] += n;
    if (a->used[r] > a->peak[r])
        a->peak[r] = a->used[r];
}

void factory_credit(struct proc *p, hs_res r, uint64_t n)
{
    hs_account *a = &p->factory.acct;
    KASSERT(a->used[r] >= n, "factory credit without a charge");
    a->used[r] -= n;
}

int factory_within(const struct proc *p, const hs_quota *q)
{
    for (int r = 0; r < HS_RES_COUNT; r++)
        if (q->limit[r] > p->factory.acct.limit[r])
            return 0;
    return 1;
}

/* ---- the public calls ------------------------------------------------------ */

/* The process pid names for a caller in process me (NULL: from outside
 * the run), checked as the calls below require. */
static hs_status target(struct proc *me, hs_pid_t pid, struct proc **out)
{
    struct proc *p = pid ? proc_lookup(pid) : me;
    if (!p)
        return HS_ESRCH;
    if (me && p != me && p->parent != me)
        return HS_ENOTCHILD;
    *out = p;
    return HS_OK;
}

hs_status hs_factory_account(hs_pid_t pid, hs_account *out)
{
    if (!k.started)
        return HS_ESTATE;
    if (!kern.running) {               /* set-up or after the run: no lock */
        struct proc *p = NULL;
        hs_status st = out ? (pid ? target(NULL, pid, &p) : HS_ESRCH)
                           : HS_EINVAL;
        if (st == HS_OK)
            *out = p->factory.acct;
        return st;
    }
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = NULL;
    hs_status st = out ? target(thread_current_proc(self), pid, &p)
                       : HS_EINVAL;
    if (st == HS_OK)
        *out = p->factory.acct;
    kernel_leave(self);
    return st;
}

/* Lower res's limit of p and its descendants to limit where above it, so
 * that none of them escapes a limit set after it spawned. */
static void limit_clamp(struct proc *p, hs_res res, uint64_t limit)
{
    if (p->factory.acct.limit[res] > limit)
        p->factory.acct.limit[res] = limit;
    struct list *l;
    list_for_each(l, &p->children)
        limit_clamp(container_of(l, struct proc, sibling_link), res, limit);
}

hs_status hs_factory_set_limit(hs_pid_t pid, hs_res res, uint64_t limit)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *me = thread_current_proc(self);
    struct proc *p = NULL;
    hs_status st = (unsigned)res < HS_RES_COUNT ? HS_OK : HS_EINVAL;
    if (st == HS_OK)
        st = pid ? target(me, pid, &p) : HS_ESRCH;
    if (st == HS_OK && p == me)
        st = HS_ENOTCHILD;
    if (st == HS_OK && limit > me->factory.acct.limit[res])
        st = HS_EPERM;
    if (st == HS_OK) {
        p->factory.acct.limit[res] = limit;
        limit_clamp(p, res, limit);
        event_record(EV_QUOTA, self, p->obj.handle, ((uint64_t)res << 56) |
                     (limit & 0x00ffffffffffffffull));
    }
    kernel_leave(self);
    return st;
}

void hs_account_print(const char *title, const hs_account *a)
{
    if (!a)
        return;
    struct kbuf b;
    char buf[KFMT_TABLE];
    kbuf_init(&b, buf, sizeof buf);
    kbuf_printf(&b, "%s\n  %-8s %12s %12s %12s %8s\n", title ? title : "",
                "resource", "used", "peak", "limit", "refused");
    for (int r = 0; r < HS_RES_COUNT; r++) {
        kbuf_printf(&b, "  %-8s %12llu %12llu ", res_names[r],
                    (unsigned long long)a->used[r],
                    (unsigned long long)a->peak[r]);
        if (a->limit[r] == HS_UNLIMITED)
            kbuf_printf(&b, "%12s", "unlimited");
        else
            kbuf_printf(&b, "%12llu", (unsigned long long)a->limit[r]);
        kbuf_printf(&b, " %8llu\n", (unsigned long long)a->refused[r]);
    }
    plat_print(buf);
}
