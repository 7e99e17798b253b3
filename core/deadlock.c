/*
 * core/deadlock.c - the report of a deadlocked run.
 *
 * Written when no thread can run, no timer is pending and some threads are
 * still blocked.  Lists every blocked thread with what it waits on, then
 * every cycle of the wait-for graph.  Each blocked thread waits for at most
 * one thread, so the graph's cycles are disjoint and one walk from each
 * thread finds them all.
 */
#include "core/kernel.h"

static struct thread *waits_for(const struct thread *t)
{
    if (t->state != THREAD_BLOCKED || !t->wait_ops ||
        !t->wait_ops->waits_for)
        return NULL;
    return t->wait_ops->waits_for(t);
}

static void report_blocked(struct kbuf *b)
{
    for (uint32_t i = 0; i < pool_slots(&k.threads); i++) {
        struct thread *t = pool_at(&k.threads, i);
        if (!t || t->state != THREAD_BLOCKED)
            continue;
        kbuf_printf(b, "  ");
        thread_describe(t, b);
        if (t->wait_ops) {
            kbuf_printf(b, " waits in %s on ", t->wait_ops->what);
            t->wait_ops->describe(t, b);
        } else {
            kbuf_printf(b, " is asleep");
        }
        kbuf_printf(b, "\n");
    }
}

/* Walk from each thread; a walk that meets a thread of the same walk has
 * found a cycle.  mark[] holds the walk number that visited a slot. */
static unsigned report_cycles(struct kbuf *b, uint32_t *mark)
{
    uint32_t slots = pool_slots(&k.threads);
    unsigned cycles = 0;
    for (uint32_t i = 0; i < slots; i++) {
        struct thread *t = pool_at(&k.threads, i);
        uint32_t walk = i + 1;
        while (t && !mark[handle_index(t->obj.handle) - 1]) {
            mark[handle_index(t->obj.handle) - 1] = walk;
            t = waits_for(t);
        }
        if (!t || mark[handle_index(t->obj.handle) - 1] != walk)
            continue;
        cycles++;
        kbuf_printf(b, "wait-for cycle: ");
        struct thread *c = t;
        do {
            kbuf_printf(b, "'%s' (process '%s') -> ", c->name, c->proc->name);
            c = waits_for(c);
        } while (c != t);
        kbuf_printf(b, "'%s' (process '%s')\n", t->name, t->proc->name);
    }
    return cycles;
}

void deadlock_report(void)
{
    struct kbuf *b = kernel_report();
    kbuf_printf(b, "hopsim: deadlock at vtime %llu ns: %u thread(s) blocked, "
                "none runnable, no timer pending\n",
                (unsigned long long)plat_clock_now(), k.nlive);
    report_blocked(b);
    uint32_t slots = pool_slots(&k.threads);
    uint32_t *mark = plat_alloc((slots ? slots : 1) * sizeof *mark);
    unsigned cycles = 0;
    if (mark) {
        for (uint32_t i = 0; i < slots; i++)
            mark[i] = 0;
        cycles = report_cycles(b, mark);
        plat_free(mark);
    }
    if (!cycles)
        kbuf_printf(b, "no wait-for cycle: the blocked threads wait on "
                    "objects nobody will signal\n");
    if (!k.cfg.quiet) {
        if (b->truncated)
            plat_print("hopsim: (deadlock report truncated)\n");
        plat_print(b->buf);
    }
    event_record(EV_DEADLOCK, NULL, k.nlive, cycles);
}
