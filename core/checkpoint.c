/*
 * core/checkpoint.c - checkpoints (see checkpoint.h).
 */
#include "core/checkpoint.h"
#include "core/fault.h"
#include "core/level.h"
#include "core/kernel.h"
#include "core/sched.h"

struct checkpoint *checkpoint_lookup(hs_checkpoint_t h)
{
    return pool_lookup(&k.checkpoints, h);
}

void checkpoint_free(struct checkpoint *cp)
{
    list_unlink(&cp->owner_link);
    pool_free(&k.checkpoints, cp);
}

/* The caller timed out or is being unwound: the checkpoint is spent. */
static void checkpoint_detach(struct thread *t)
{
    struct checkpoint *cp = t->wait_obj;
    checkpoint_free(cp);
}

static void checkpoint_describe(const struct thread *t, struct kbuf *b)
{
    const struct checkpoint *cp = t->wait_obj;
    kbuf_printf(b, "checkpoint %u kept by process %u '%s'",
                handle_index(cp->obj.handle),
                handle_index(cp->owner->obj.handle), cp->owner->name);
}

const struct wait_ops checkpoint_wait = {
    .what = "hop (checkpoint kept)",
    .detach = checkpoint_detach,
    .waits_for = NULL,
    .describe = checkpoint_describe,
};

/* ---- keeping and resuming ---------------------------------------------- */

/* The checkpoint inside level l, running its handler, becomes a kernel
 * object with a handle, on its process's list.  Room for it was
 * reserved. */
static struct checkpoint *checkpoint_keep(struct hs_level *l)
{
    struct checkpoint *cp = pool_take(&k.checkpoints);
    cp->owner = l->proc;
    cp->thread = l->thread;
    cp->level = l;
    cp->deadline = l->deadline;
    list_push_back(&l->proc->checkpoints, &cp->owner_link);
    l->kept = cp;
    return cp;
}

/* Decode of hs_hop_keep(): the hop is the caller's running level, made
 * with a checkpoint not kept yet, and there is room to keep it. */
static hs_status keep_check(const struct thread *self, const hs_hop_t *hop,
                            const hs_checkpoint_t *out)
{
    if (!hop || self->top != hop)
        return HS_ESTATE;
    if (!out || !hop->checkpointed)
        return HS_EINVAL;
    if (hop->kept)
        return HS_EJOINED;
    return pool_reserve_one(&k.checkpoints);
}

hs_status hs_hop_keep(hs_hop_t *hop, hs_checkpoint_t *out)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    hs_status st = keep_check(self, hop, out);
    if (st == HS_OK) {
        *out = checkpoint_keep(hop)->obj.handle;
        event_record(EV_CHECKPOINT_KEEP, self, *out, 0);
    }
    kernel_leave(self);
    return st;
}

static int resume_status_valid(hs_status s)
{
    return (unsigned)s < HS_STATUS_COUNT && s != HS_EPANIC;
}

void checkpoint_resume(struct checkpoint *cp, hs_status result)
{
    struct thread *t = cp->thread;
    t->wait_ops = NULL;             /* consumed here, not detached */
    checkpoint_free(cp);
    sched_wake(t, result);
}

hs_status hs_checkpoint_resume(hs_checkpoint_t h, hs_status result,
                               const uint64_t *words, unsigned n)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct checkpoint *cp = checkpoint_lookup(h);
    hs_status st = HS_OK;
    if (n > HS_MR_COUNT || (n && !words) || !resume_status_valid(result))
        st = HS_EINVAL;
    else if (!cp)
        st = HS_ESTALE;
    else if (cp->owner != thread_current_proc(self))
        st = HS_EPERM;
    else if (cp->thread->state != THREAD_BLOCKED ||
             cp->thread->wait_obj != cp)
        st = HS_ESTATE;             /* its handler has not returned yet */
    if (st == HS_OK && fault_reply_timeout(self, cp->thread))
        st = HS_ESTALE;             /* the caller gave up just before */
    if (st == HS_OK) {
        for (unsigned i = 0; i < n; i++)   /* words may be NULL for 0 */
            cp->thread->utcb.mr[i] = words[i];
        event_record(EV_CHECKPOINT_RESUME, self, h, (uint64_t)result);
        checkpoint_resume(cp, result);
    }
    kernel_leave(self);
    return st;
}

/* ---- the object table ------------------------------------------------------ */

const struct kobj_type checkpoint_type = {
    .name = "checkpoint",
    .pool = &k.checkpoints,
    .size = sizeof(struct checkpoint),
};
