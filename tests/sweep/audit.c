/*
 * tests/sweep/audit.c - what a run leaves behind, seen from inside the
 * kernel as its teardown begins.
 *
 * hs_sim_run() ends with a teardown that frees every kernel object and
 * stack, so nothing after the run can tell a leaked object from one freed
 * in the ordinary way.  The sweep program is linked with
 * -Wl,--wrap=trace_run_end (the first step of the teardown, called from
 * run/kernel.c), -Wl,--wrap=stack_get and -Wl,--wrap=stack_put (every
 * simulated stack, from sim/context.c): the wrappers count the stacks and
 * take a snapshot of every pool's live objects before anything is freed.
 * The kernel state is read with its lock held by the ending CPU, once
 * every simulated thread has stopped.
 */
#include <stdio.h>
#include <string.h>

#include "core/kernel.h"
#include "observe/trace.h"
#include "notify/internal.h"
#include "sim/internal.h"

#include "sweep.h"

void __real_trace_run_end(void);
void __wrap_trace_run_end(void);
plat_context *__real_stack_get(size_t stack_size);
plat_context *__wrap_stack_get(size_t stack_size);
void __real_stack_put(plat_context *ctx);
void __wrap_stack_put(plat_context *ctx);

static struct audit last;
static long stacks_out;

plat_context *__wrap_stack_get(size_t stack_size)
{
    plat_context *ctx = __real_stack_get(stack_size);
    if (ctx)
        stacks_out++;
    return ctx;
}

void __wrap_stack_put(plat_context *ctx)
{
    stacks_out--;
    __real_stack_put(ctx);
}

long audit_stacks_out(void)
{
    return stacks_out;
}

static void add(const char *name, const struct pool *p, int may_stay)
{
    if (last.npools >= AUDIT_POOLS_MAX)
        return;
    last.pool[last.npools].name = name;
    last.pool[last.npools].live = p->live;
    last.pool[last.npools].may_stay = may_stay;
    last.npools++;
}

void __wrap_trace_run_end(void)
{
    memset(&last, 0, sizeof last);
    last.taken = 1;
    last.serving = k.nserving;
    last.live_threads = k.nlive;
    last.stacks_at_end = stacks_out;
    /* A process serving hops (hs_proc_serve) is alive at a normal end,
     * with what it holds; transient objects never outlive a run. */
    add("threads", &k.threads, 1);
    add("procs", &k.procs, 1);
    add("ports", &k.ports, 1);
    add("caps", &k.caps, 1);
    add("gates", &k.gates, 1);
    add("irqs", &k.irqs, 1);
    add("chans", &k.chans, 1);
    add("chan_ends", &k.chan_ends, 1);
    add("portals", &k.portals, 1);
    add("sharepoints", &k.sharepoints, 1);
    add("topics", &k.topics, 1);
    add("topic_subs", &k.topic_subs, 1);
    add("notify_tables", &npools.tables, 1);
    add("notify_watches", &npools.watches, 1);
    add("notify_types", &npools.types, 1);
    add("hop_levels", &k.levels, 1);   /* a server's spares */
    add("checkpoints", &k.checkpoints, 0);
    add("pagefaults", &k.pagefaults, 0);
    add("hop_offers", &k.hop_offers, 0);
    add("pages_sends", &k.pages_sends, 0);
    add("pages_offers", &k.pages_offers, 0);
    add("pages_runs", &k.pages_runs, 0);
    add("notify_items", &npools.items, 0);
    add("notify_frames", &npools.frames, 0);
    __real_trace_run_end();
}

void audit_reset(void)
{
    memset(&last, 0, sizeof last);
}

const struct audit *audit_last(void)
{
    return &last;
}

int audit_leaks(const struct audit *a, char *why, size_t len)
{
    if (!a->taken) {
        snprintf(why, len, "no teardown seen");
        return 1;
    }
    for (unsigned i = 0; i < a->npools; i++) {
        uint32_t n = a->pool[i].live;
        if (n && (!a->serving || !a->pool[i].may_stay)) {
            snprintf(why, len, "%u %s still live at the end (%u threads "
                     "serving)", n, a->pool[i].name, a->serving);
            return 1;
        }
    }
    /* Each process left has a thread serving. */
    if (a->pool[1].live > a->serving) {
        snprintf(why, len, "%u processes live at the end, %u serving",
                 a->pool[1].live, a->serving);
        return 1;
    }
    if (!a->serving && a->stacks_at_end) {
        snprintf(why, len, "%ld stacks held at the end", a->stacks_at_end);
        return 1;
    }
    return 0;
}
