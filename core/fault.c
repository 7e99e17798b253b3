/*
 * core/fault.c - faults injected from the seed: drawing them, counting
 * their opportunities, making them happen.
 */
#include "core/fault.h"
#include "core/level.h"
#include "core/proc.h"
#include "core/sched.h"

static const char *const kind_names[HS_FAULT_KINDS] = {
    "kill", "reply-timeout", "frame",
};

/* Index of a single kind bit. */
static unsigned kind_index(unsigned kind)
{
    return (unsigned)__builtin_ctz(kind);
}

const char *hs_fault_name(unsigned kind)
{
    if (!kind || (kind & (kind - 1)) || !(kind & HS_FAULT_ALL))
        return "?";
    return kind_names[kind_index(kind)];
}

void fault_init(void)
{
    k.fault_kinds = 0;
    k.nfaults = 0;
    if (k.seed == HS_SEED_NONE || !k.cfg.faults)
        return;
    /* Its own stream, so that the schedule is the one of the seed
     * without faults up to the first fault. */
    k.fault_rng = k.seed ^ 0x6a09e667f3bcc909ull;
    unsigned window = k.cfg.fault_window;
    for (unsigned kind = 1; kind & HS_FAULT_ALL; kind <<= 1) {
        if (!(k.cfg.faults & kind))
            continue;
        hs_fault *f = &k.faults[k.nfaults++];
        f->kind = kind;
        f->at = 1 + splitmix64(&k.fault_rng) % window;
        f->side = (splitmix64(&k.fault_rng) & 1) ? HS_FAULT_TARGET
                                                  : HS_FAULT_CALLER;
        if (kind != HS_FAULT_KILL)
            f->side = HS_FAULT_CALLER;
        k.fault_seen[kind_index(kind)] = 0;
        k.fault_kinds |= kind;
    }
}

static hs_fault *fault_of(unsigned kind)
{
    for (unsigned i = 0; i < k.nfaults; i++)
        if (k.faults[i].kind == kind)
            return &k.faults[i];
    return NULL;
}

hs_fault *fault_count(unsigned kind)
{
    hs_fault *f = fault_of(kind);
    if (!f || ++k.fault_seen[kind_index(kind)] != f->at)
        return NULL;
    f->fired = 1;
    f->time = plat_clock_now();
    k.fault_kinds &= ~kind;
    return f;
}

static void fault_victim(hs_fault *f, const struct thread *self,
                         const struct proc *p)
{
    f->thread = self->obj.handle;
    f->victim = p->obj.handle;
    kstrlcpy(f->victim_name, p->name, sizeof f->victim_name);
    event_record(EV_FAULT, self, f->kind, p->obj.handle);
}

int fault_kill_fire(struct thread *self, struct proc *target)
{
    hs_fault *f = fault_point(HS_FAULT_KILL);
    if (!f)
        return 0;
    struct proc *mine = thread_current_proc(self);
    struct proc *p = (f->side == HS_FAULT_TARGET && target) ? target : mine;
    fault_victim(f, self, p);
    proc_kill(p, HS_FAULT_EXIT_STATUS, self);
    return 1;
}

int fault_reply_timeout_fire(struct thread *self, struct thread *c)
{
    hs_fault *f = fault_point(HS_FAULT_REPLY_TIMEOUT);
    if (!f)
        return 0;
    fault_victim(f, self, c->proc);
    sched_time_out(c);
    return 1;
}

int fault_frame(void)
{
    hs_fault *f = fault_point(HS_FAULT_FRAME);
    if (!f)
        return 0;
    struct thread *self = kernel_current();
    if (self)
        fault_victim(f, self, thread_current_proc(self));
    return 1;
}

void fault_describe(const hs_fault *faults, unsigned n, struct kbuf *b)
{
    for (unsigned i = 0; i < n; i++) {
        const hs_fault *f = &faults[i];
        kbuf_printf(b, "%s%s@%llu", i ? "," : "", hs_fault_name(f->kind),
                    (unsigned long long)f->at);
        if (f->kind == HS_FAULT_KILL)
            kbuf_printf(b, ":%s",
                        f->side == HS_FAULT_TARGET ? "target" : "caller");
        if (f->fired)
            kbuf_printf(b, ":'%s'", f->victim_name);
        else
            kbuf_printf(b, ":unfired");
    }
}
