/*
 * core/checkpoint.c - checkpoints (see checkpoint.h).
 */
#include "core/checkpoint.h"
#include "core/hop.h"
#include "core/kernel.h"

hs_status checkpoint_reserve(void)
{
    return pool_reserve(&k.checkpoints, 1);
}

struct checkpoint *checkpoint_new(struct proc *owner, struct thread *t,
                                  struct hs_hop *level)
{
    struct checkpoint *cp = pool_take(&k.checkpoints);
    *cp = (struct checkpoint){
        .obj = cp->obj, .owner = owner, .thread = t, .level = level,
    };
    list_push_back(&owner->checkpoints, &cp->owner_link);
    return cp;
}

void checkpoint_free(struct checkpoint *cp)
{
    list_unlink(&cp->owner_link);
    pool_free(&k.checkpoints, cp);
}

struct checkpoint *checkpoint_lookup(hs_checkpoint_t h)
{
    return pool_lookup(&k.checkpoints, h);
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
