/*
 * core/checkpoint.c - checkpoints (see checkpoint.h).
 */
#include "core/checkpoint.h"
#include "core/hop.h"
#include "core/kernel.h"

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
