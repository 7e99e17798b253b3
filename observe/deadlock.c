/*
 * observe/deadlock.c - the report of a deadlocked run.
 *
 * Written when no thread can run, no timer is pending and some threads are
 * still blocked.  Lists every blocked thread with what it waits on, then
 * every cycle of the wait-for graph.  Each blocked thread waits for at most
 * one thread, so the graph's cycles are disjoint and one walk from each
 * thread finds them all.  When cfg.deadlock_dot names a file, the same
 * graph is written there in Graphviz dot: one box per blocked thread,
 * grouped by process, one edge per wait labelled with its kind, edges on
 * a cycle in red.
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

/* Slot of a thread in the marks below. */
static uint32_t slot_of(const struct thread *t)
{
    return handle_index(t->obj.handle) - 1;
}

/* Walk from each thread; a walk that meets a thread of the same walk has
 * found a cycle.  mark[] holds the walk number that visited a slot; every
 * thread on a cycle gets its oncycle[] slot set. */
static unsigned report_cycles(struct kbuf *b, uint32_t *mark,
                              uint8_t *oncycle)
{
    uint32_t slots = pool_slots(&k.threads);
    unsigned cycles = 0;
    for (uint32_t i = 0; i < slots; i++) {
        struct thread *t = pool_at(&k.threads, i);
        uint32_t walk = i + 1;
        while (t && !mark[slot_of(t)]) {
            mark[slot_of(t)] = walk;
            t = waits_for(t);
        }
        if (!t || mark[slot_of(t)] != walk)
            continue;
        cycles++;
        kbuf_printf(b, "wait-for cycle: ");
        struct thread *c = t;
        do {
            kbuf_printf(b, "'%s' (process '%s') -> ", c->name, c->proc->name);
            oncycle[slot_of(c)] = 1;
            c = waits_for(c);
        } while (c != t);
        kbuf_printf(b, "'%s' (process '%s')\n", t->name, t->proc->name);
    }
    return cycles;
}

/* ---- the dot file ---------------------------------------------------------- */

/* Append s to b as the inside of a dot string. */
static void dot_escape(struct kbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            kbuf_printf(b, "\\%c", *s);
        else if (*s == '\n')
            kbuf_printf(b, "\\n");
        else
            kbuf_printf(b, "%c", *s);
    }
}

/* The node of blocked thread t: its name and what it waits on. */
static void dot_node(struct kbuf *b, const struct thread *t)
{
    char text[KFMT_LINE];
    struct kbuf d;
    kbuf_init(&d, text, sizeof text);
    kbuf_printf(&d, "thread %u '%s'\n", handle_index(t->obj.handle),
                t->name);
    if (t->wait_ops) {
        kbuf_printf(&d, "waits in %s on\n", t->wait_ops->what);
        t->wait_ops->describe(t, &d);
    } else {
        kbuf_printf(&d, "asleep");
    }
    kbuf_printf(b, "    t%u [label=\"", handle_index(t->obj.handle));
    dot_escape(b, text);
    kbuf_printf(b, "\"];\n");
}

/* Every blocked thread as a node, inside a cluster per process. */
static void dot_nodes(struct kbuf *b)
{
    for (uint32_t i = 0; i < pool_slots(&k.procs); i++) {
        struct proc *p = pool_at(&k.procs, i);
        if (!p)
            continue;
        int any = 0;
        struct list *l;
        list_for_each(l, &p->threads) {
            struct thread *t = container_of(l, struct thread, proc_link);
            if (t->state != THREAD_BLOCKED)
                continue;
            if (!any) {
                kbuf_printf(b, "  subgraph cluster_p%u {\n    label=\"",
                            handle_index(p->obj.handle));
                char name[KFMT_NAME];
                kfmt(name, sizeof name, "process %u '%s'",
                     handle_index(p->obj.handle), p->name);
                dot_escape(b, name);
                kbuf_printf(b, "\";\n");
                any = 1;
            }
            dot_node(b, t);
        }
        if (any)
            kbuf_printf(b, "  }\n");
    }
}

/* One edge per blocked thread that waits for a thread. */
static void dot_edges(struct kbuf *b, const uint8_t *oncycle)
{
    for (uint32_t i = 0; i < pool_slots(&k.threads); i++) {
        struct thread *t = pool_at(&k.threads, i);
        struct thread *w = t ? waits_for(t) : NULL;
        if (!w)
            continue;
        int red = oncycle[slot_of(t)] && oncycle[slot_of(w)];
        kbuf_printf(b, "  t%u -> t%u [label=\"", handle_index(t->obj.handle),
                    handle_index(w->obj.handle));
        dot_escape(b, t->wait_ops->what);
        kbuf_printf(b, "\"%s];\n", red ? ", color=red, penwidth=2" : "");
        if (w->state != THREAD_BLOCKED)     /* drawn nowhere else */
            kbuf_printf(b, "  t%u [label=\"thread %u '%s'\", style=dashed];\n",
                        handle_index(w->obj.handle),
                        handle_index(w->obj.handle), w->name);
    }
}

/* Write the wait-for graph to cfg.deadlock_dot; say so in the report. */
static void dot_write(struct kbuf *report, const uint8_t *oncycle,
                      unsigned cycles)
{
    const char *path = k.cfg.deadlock_dot;
    size_t cap = 1024 + (size_t)pool_slots(&k.threads) * 1024;
    char *buf = plat_alloc(cap);
    hs_status st = HS_ENOMEM;
    if (buf) {
        struct kbuf b;
        kbuf_init(&b, buf, cap);
        kbuf_printf(&b, "digraph waitfor {\n  label=\"hopsim deadlock at "
                    "vtime %llu ns: %u thread(s) blocked, %u cycle(s)\";\n"
                    "  labelloc=t;\n  node [shape=box];\n",
                    (unsigned long long)plat_clock_now(), k.nlive, cycles);
        dot_nodes(&b);
        dot_edges(&b, oncycle);
        kbuf_printf(&b, "}\n");
        st = b.truncated ? HS_ENOMEM : plat_file_write(path, b.buf, b.len);
        plat_free(buf);
    }
    if (st == HS_OK)
        kbuf_printf(report, "wait-for graph written to %s\n", path);
    else
        kbuf_printf(report, "wait-for graph could not be written to %s: "
                    "%s\n", path, hs_strerror(st));
}

void deadlock_report(void)
{
    struct kbuf *b = kernel_report();
    kbuf_printf(b, "hopsim: deadlock at vtime %llu ns: %u thread(s) blocked, "
                "none runnable, no timer pending\n",
                (unsigned long long)plat_clock_now(), k.nlive);
    report_blocked(b);
    uint32_t slots = pool_slots(&k.threads);
    size_t n = slots ? slots : 1;
    uint32_t *mark = plat_alloc(n * sizeof *mark);
    uint8_t *oncycle = plat_alloc(n);
    unsigned cycles = 0;
    if (mark && oncycle) {
        for (uint32_t i = 0; i < slots; i++) {
            mark[i] = 0;
            oncycle[i] = 0;
        }
        cycles = report_cycles(b, mark, oncycle);
    }
    if (!cycles)
        kbuf_printf(b, "no wait-for cycle: the blocked threads wait on "
                    "objects nobody will signal\n");
    if (k.cfg.deadlock_dot && oncycle)
        dot_write(b, oncycle, cycles);
    plat_free(mark);
    plat_free(oncycle);
    if (!k.cfg.quiet) {
        if (b->truncated)
            plat_print("hopsim: (deadlock report truncated)\n");
        plat_print(b->buf);
    }
    event_record(EV_DEADLOCK, NULL, k.nlive, cycles);
}
