/*
 * observe/trace.c - the event trace (Chrome trace-event JSON) and the
 * sequence chart (mscgen), written from the event stream.
 *
 * JSON: one object {"traceEvents":[...]} that Perfetto and chrome://tracing
 * open.  pid is a simulated process, tid a simulated thread (the low 32
 * bits of their handles: the slot, so a reused slot shares a track); pid 0
 * is the kernel, holding the counters.  Every thread has one track, under
 * its own process; on it a "B"/"E" span for each process it is in, nested
 * as its hops nest.  Flows ("s"/"f") go from a checkpointed hop to its
 * return (or its resume) and from a call to its reply.  Timestamps are the
 * virtual time in microseconds with three decimals, so exact in ns.
 *
 * Notifications are instants on the thread's track: sent, dispatched,
 * returned, decided; a handler that returned without hs_notify_return and
 * a dropped notification are also notes on the chart.
 *
 * mscgen: one entity per process, in spawn order; one arc per hop,
 * return, resume, call, send, reply, IRQ signal (":>", emphasised) and
 * notification ("=>>"), labelled with the operation and its words; boxes
 * for deaths, notes for timeouts, faults, stale replies and cancels.
 * Entities come first in an mscgen file, so the arcs are kept in memory
 * and the file is written at the end.
 */
#include "observe/trace.h"
#include "core/checkpoint.h"
#include "core/level.h"
#include "ports/hop.h"
#include "core/kernel.h"
#include "kern/kfmt.h"
#include "core/proc.h"
#include "mem/vm.h"

#define LINE_MAX_LEN 1024
#define NAME_ESC (HS_NAME_MAX * 6 + 1)   /* a name, escaped */

/* What the trace remembers of a thread, by slot. */
struct trace_thread {
    unsigned depth;         /* spans open on its track */
    uint64_t home, tid;     /* its track: home process and thread */
    uint64_t proc;          /* the process it was last seen in (handle) */
    uint64_t call_flow;     /* flow of its call awaiting a reply, or 0 */
    uint64_t *hop_flows;    /* flow of the checkpoint (not kept) of its
                               level at each depth, or 0; kept across a
                               reuse of the slot, freed with the trace */
    size_t hop_flows_cap;
};

/* A process of the chart, by spawn order. */
struct trace_entity {
    uint64_t pid;
    char name[HS_NAME_MAX + 1];
    int self_arc;           /* some arc goes from it to itself */
};

struct trace_files {
    plat_out *json;
    int json_events;                /* events written (comma before next) */
    plat_out *msc;
    char *arcs;                     /* the chart's arcs, kept until the end */
    size_t arcs_len, arcs_cap;
    struct trace_entity *ents;
    size_t nents, ents_cap;
    int msc_lost;                   /* out of host memory: arcs dropped */
    uint64_t irq_bits;              /* of the IRQ signal being delivered */
    struct trace_thread *threads;   /* by thread slot */
    size_t threads_cap;
    uint64_t *cp_flows;             /* flow of each kept checkpoint, by
                                       slot */
    size_t cp_flows_cap;
    uint64_t next_flow;
};

static struct trace_files tr;

/* Make room for n elements of size each in *arr (zeroing new ones).
 * Returns 0, or -1 if the host refused. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < n)
        ncap *= 2;
    char *p = plat_realloc(*arr, ncap * size);
    if (!p)
        return -1;
    for (size_t i = *cap * size; i < ncap * size; i++)
        p[i] = 0;
    *arr = p;
    *cap = ncap;
    return 0;
}

static uint32_t slot_of(uint64_t handle)
{
    return (uint32_t)handle;
}

/* The trace's record of t, or NULL if the host refused the memory. */
static struct trace_thread *thread_rec(const struct thread *t)
{
    uint32_t i = slot_of(t->obj.handle);
    if (grow((void **)&tr.threads, &tr.threads_cap, (size_t)i + 1,
             sizeof *tr.threads) != 0)
        return NULL;
    return &tr.threads[i];
}

/* The flow id of kept checkpoint handle h (0: none), and setting it. */
static uint64_t *cp_flow(uint64_t h)
{
    uint32_t i = slot_of(h);
    if (grow((void **)&tr.cp_flows, &tr.cp_flows_cap, (size_t)i + 1,
             sizeof *tr.cp_flows) != 0)
        return NULL;
    return &tr.cp_flows[i];
}

/* The flow id of the checkpoint of the level at depth d of the thread
 * of record r, while it is not kept (0: none), and setting it.  A
 * checkpoint has no handle until kept, so the trace knows it by where it
 * is: each hop at depth d sets (or clears) the entry, and the return
 * through it reads it at the same depth. */
static uint64_t *level_flow(struct trace_thread *r, unsigned d)
{
    if (grow((void **)&r->hop_flows, &r->hop_flows_cap, (size_t)d + 1,
             sizeof *r->hop_flows) != 0)
        return NULL;
    return &r->hop_flows[d];
}

/* The process t is in now: its top level's, or its own. */
static const struct proc *proc_now(const struct thread *t)
{
    return t->top && t->top->proc ? t->top->proc : t->proc;
}

/* ---- JSON ------------------------------------------------------------------ */

/* s as the inside of a JSON string into out (NAME_ESC bytes). */
static void json_escape(char *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    for (; *s && n + 7 < NAME_ESC; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            out[n++] = '\\';
            out[n++] = 'u';
            out[n++] = '0';
            out[n++] = '0';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
}

/* One event object: ph, name, pid, tid, the time now, then extra
 * (",\"key\":..." or ""). */
static void json_emit(char ph, const char *name, uint64_t pid, uint64_t tid,
                      const char *extra)
{
    char line[LINE_MAX_LEN], ename[NAME_ESC];
    hs_time_t now = plat_clock_now();
    json_escape(ename, name);
    size_t n = kfmt(line, sizeof line,
                    "%s{\"ph\":\"%c\",\"name\":\"%s\",\"pid\":%u,\"tid\":%u,"
                    "\"ts\":%llu.%03llu%s}",
                    tr.json_events ? ",\n" : "", ph, ename,
                    (unsigned)slot_of(pid), (unsigned)slot_of(tid),
                    (unsigned long long)(now / 1000),
                    (unsigned long long)(now % 1000), extra);
    plat_out_write(tr.json, line, n);
    tr.json_events++;
}

/* A metadata event naming a process (tid 0) or a thread. */
static void json_name(const char *what, uint64_t pid, uint64_t tid,
                      const char *name)
{
    char extra[NAME_ESC + 32], ename[NAME_ESC];
    json_escape(ename, name);
    kfmt(extra, sizeof extra, ",\"args\":{\"name\":\"%s\"}", ename);
    json_emit('M', what, pid, tid, extra);
}

/* An instant event on t's track (or, t NULL, on process pid's). */
static void json_instant(const char *name, const struct thread *t,
                         uint64_t pid, uint64_t a, uint64_t b)
{
    char extra[KFMT_NOTE];
    kfmt(extra, sizeof extra, ",\"s\":\"%s\",\"args\":{\"a\":%llu,\"b\":%llu}",
         t ? "t" : (pid ? "p" : "g"), (unsigned long long)a,
         (unsigned long long)b);
    json_emit('i', name, t ? t->proc->obj.handle : pid,
              t ? t->obj.handle : 0, extra);
}

/* A flow start or end on t's track. */
static void json_flow(char ph, const char *cat, const struct thread *t,
                      uint64_t id)
{
    char extra[KFMT_NOTE];
    kfmt(extra, sizeof extra, ",\"cat\":\"%s\",\"id\":%llu%s", cat,
         (unsigned long long)id, ph == 'f' ? ",\"bp\":\"e\"" : "");
    json_emit(ph, cat, t->proc->obj.handle, t->obj.handle, extra);
}

static void json_live_threads(void)
{
    char extra[KFMT_NOTE];
    kfmt(extra, sizeof extra, ",\"args\":{\"live\":%u}", k.nlive);
    json_emit('C', "threads", 0, 0, extra);
}

/* The memory counters: free 4K frames and the references held at each
 * page size, whenever they may have changed. */
static void json_memory(void)
{
    hs_mem_stats s;
    frame_stats(&s);
    char extra[KFMT_NOTE];
    kfmt(extra, sizeof extra,
         ",\"args\":{\"free_frames\":%llu,\"refs_4k\":%llu,"
         "\"refs_2m\":%llu,\"refs_1g\":%llu}",
         (unsigned long long)(s.free / HS_PAGE_4K),
         (unsigned long long)s.refs_4k, (unsigned long long)s.refs_2m,
         (unsigned long long)s.refs_1g);
    json_emit('C', "memory", 0, 0, extra);
}

/* Whether an event may change the memory counters: the memory calls, a
 * process's memory going, page faults, and whatever else maps or frees
 * ("mem_", "pf", "pages_", "portal_" events). */
static int starts_with(const char *s, const char *prefix)
{
    while (*prefix && *s == *prefix)
        s++, prefix++;
    return *prefix == 0;
}

static int touches_memory(enum event_kind kind)
{
    const char *n = event_name(kind);
    return starts_with(n, "mem_") ||
           starts_with(n, "pf") || starts_with(n, "pages_") ||
           starts_with(n, "portal_");
}

/* The level of t at depth d (its top at most). */
static const struct hs_level *level_at(const struct thread *t, unsigned d)
{
    const struct hs_level *l = t->top;
    while (l && l->depth > d)
        l = l->below;
    return l;
}

/* Make the spans open on t's track match its hop chain: one per level,
 * the innermost named for the process t is in now.  want: spans wanted
 * (0 once t has ended). */
static void json_spans(const struct thread *t, struct trace_thread *r,
                       unsigned want)
{
    uint64_t pid = t->proc->obj.handle, tid = t->obj.handle;
    const struct proc *now = proc_now(t);
    if (r->depth == want && want && r->proc != now->obj.handle) {
        json_emit('E', "", pid, tid, "");     /* a one-way hop: same depth */
        r->depth--;
    }
    while (r->depth > want) {
        json_emit('E', "", pid, tid, "");
        r->depth--;
    }
    while (r->depth < want) {
        const struct hs_level *l = level_at(t, r->depth);
        const struct proc *p = l && l->proc ? l->proc : t->proc;
        json_emit('B', p->name, pid, tid, ",\"cat\":\"process\"");
        r->depth++;
    }
}

/* ---- mscgen ----------------------------------------------------------------- */

/*
 * Every arc is labelled with its operation and the words it carries:
 *   call [10, 11] label=1      send [3]      reply [20, 22]
 *   hop [41]   hop one-way [41]   hop return [42]   hop unwind
 *   resume [7]   irq 0x1   notify slot 2
 * and every note or box with what happened there: "timeout: ipc call
 * (reply)", "sleep ends", "stale reply [42]", "fault: kill client",
 * "thread main exits 0", "process exits 0".  The threads concerned are in
 * a comment at the end of the arc's line, not in the picture.
 *
 * A message's words are those its tag counts; a hop reads no tag, so a
 * hop (and its return) shows the words its tag counts if it counts any,
 * else mr[0], the word of hs_hop_call().  At most MSC_WORDS are shown.
 */
#define MSC_WORDS 4

/* Append one line to the chart's arcs. */
static void msc_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msc_line(const char *fmt, ...)
{
    char line[LINE_MAX_LEN];
    struct kbuf b;
    va_list ap;
    kbuf_init(&b, line, sizeof line);
    va_start(ap, fmt);
    kbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    kbuf_printf(&b, "\n");
    if (grow((void **)&tr.arcs, &tr.arcs_cap, tr.arcs_len + b.len + 1, 1)) {
        tr.msc_lost = 1;
        return;
    }
    for (size_t i = 0; i < b.len; i++)
        tr.arcs[tr.arcs_len++] = line[i];
}

/* The chart's entity of process pid, added (named name) if new; -1 if
 * the host refused the memory. */
static long msc_entity(uint64_t pid, const char *name)
{
    for (size_t i = 0; i < tr.nents; i++)
        if (tr.ents[i].pid == pid)
            return (long)i;
    if (grow((void **)&tr.ents, &tr.ents_cap, tr.nents + 1, sizeof *tr.ents)) {
        tr.msc_lost = 1;
        return -1;
    }
    tr.ents[tr.nents].pid = pid;
    kstrlcpy(tr.ents[tr.nents].name, name, sizeof tr.ents[0].name);
    return (long)tr.nents++;
}

/* s with '"' and '\' escaped, for an mscgen label. */
static void msc_escape(char *out, const char *s)
{
    size_t n = 0;
    for (; *s && n + 3 < NAME_ESC; s++) {
        if (*s == '"' || *s == '\\')
            out[n++] = '\\';
        out[n++] = *s;
    }
    out[n] = '\0';
}

/* s for a comment of the chart: one line, so no control characters. */
static void msc_comment(char *out, const char *s)
{
    size_t n = 0;
    for (; *s && n + 1 < NAME_ESC; s++)
        out[n++] = (unsigned char)*s < 0x20 ? '?' : *s;
    out[n] = '\0';
}

/* One word as a label shows it: small numbers in decimal, others (an
 * address, a bit mask) in hex. */
static void msc_word(struct kbuf *b, uint64_t w)
{
    if (w < 65536)
        kbuf_printf(b, "%llu", (unsigned long long)w);
    else
        kbuf_printf(b, "0x%llx", (unsigned long long)w);
}

/* " [w0, w1, ...]" of the first n of mr. */
static void msc_words(struct kbuf *b, const uint64_t *mr, unsigned n)
{
    if (n > HS_MR_COUNT)
        n = HS_MR_COUNT;
    if (n) {
        kbuf_printf(b, " [");
        for (unsigned i = 0; i < n && i < MSC_WORDS; i++) {
            kbuf_printf(b, i ? ", " : "");
            msc_word(b, mr[i]);
        }
        kbuf_printf(b, n > MSC_WORDS ? ", ...]" : "]");
    }
}

/* t's message as a label shows it: the words its tag counts, the tag's
 * label when it has one, and how many typed items follow. */
static void msc_message(struct kbuf *b, const struct thread *t)
{
    uint64_t tag = t->utcb.tag;
    unsigned items = hs_tag_items(tag);
    msc_words(b, t->utcb.mr, hs_tag_words(tag));
    if (hs_tag_label(tag))
        kbuf_printf(b, " label=%u", (unsigned)hs_tag_label(tag));
    if (items)
        kbuf_printf(b, " +%u item%s", items, items == 1 ? "" : "s");
}

/* The words of t's registers as a hop shows them (see above). */
static void msc_hop_words(struct kbuf *b, const struct thread *t)
{
    unsigned n = hs_tag_words(t->utcb.tag);
    msc_words(b, t->utcb.mr, n ? n : 1);
}

/* The name of status st without its explanation ("HS_EPARTNER"). */
static void msc_status(struct kbuf *b, hs_status st)
{
    const char *s = hs_strerror(st);
    size_t n = 0;
    while (s[n] && s[n] != ' ')
        n++;
    char name[KFMT_NAME];
    if (n >= sizeof name)
        n = sizeof name - 1;
    for (size_t i = 0; i < n; i++)
        name[i] = s[i];
    name[n] = '\0';
    kbuf_printf(b, "%s", name);
}

/* An arc (mscgen operator op) from process from to process to with
 * label, and the threads concerned in a comment: "# main" or, for a
 * message between two threads, "# main to names".  An arc from a
 * process to itself is noted: mscgen draws its loop beside the
 * process's line, which msc_finish() keeps inside the picture. */
static void msc_arc(const struct proc *from, const char *op,
                    const struct proc *to, const char *label,
                    const struct thread *t, const struct thread *peer)
{
    long a = msc_entity(from->obj.handle, from->name);
    long b = msc_entity(to->obj.handle, to->name);
    char name[NAME_ESC], other[NAME_ESC];
    if (a < 0 || b < 0)
        return;
    if (a == b)
        tr.ents[a].self_arc = 1;
    msc_comment(name, t->name);
    msc_comment(other, peer ? peer->name : "");
    msc_line("p%ld %s p%ld [label=\"%s\"];  # %s%s%s", a, op, b, label, name,
             peer ? " to " : "", other);
}

/* A box (kind "note", "abox", ...) on process p's line, with label. */
static void msc_box(const char *kind, const struct proc *p, const char *label)
{
    long a = msc_entity(p->obj.handle, p->name);
    if (a < 0)
        return;
    msc_line("p%ld %s p%ld [label=\"%s\"];", a, kind, a, label);
}

/* A hop, a return or an unwind of t from process was to process now.
 * A return through a kept checkpoint (a return event names only those)
 * is no arc: the caller still waits, until hs_checkpoint_resume()
 * (msc_resume()). */
static void msc_moved(const struct thread *t, const struct proc *was,
                      const struct proc *now, enum event_kind kind,
                      uint64_t a)
{
    char label[LINE_MAX_LEN / 2];
    struct kbuf b;
    kbuf_init(&b, label, sizeof label);
    const char *op = ">>";
    if (kind == EV_HOP) {
        op = t->top->checkpointed ? "=>" : "->";
        kbuf_printf(&b, t->top->checkpointed ? "hop" : "hop one-way");
        msc_hop_words(&b, t);
    } else if (kind == EV_HOP_RETURN && a) {
        msc_box("note", was, "checkpoint kept");
        return;
    } else if (kind == EV_HOP_RETURN) {
        kbuf_printf(&b, "hop return");
        msc_hop_words(&b, t);
    } else {
        kbuf_printf(&b, "hop unwind");
    }
    msc_arc(was, op, now, label, t, NULL);
}

/* Thread t resumes the kept checkpoint h with status st: an arc to the
 * caller, carrying the words the caller finds in its registers. */
static void msc_resume(const struct thread *t, uint64_t h, hs_status st)
{
    const struct checkpoint *cp = checkpoint_lookup(h);
    if (!cp)
        return;
    char label[LINE_MAX_LEN / 2];
    struct kbuf b;
    kbuf_init(&b, label, sizeof label);
    kbuf_printf(&b, "resume");
    msc_hop_words(&b, cp->thread);
    if (st != HS_OK) {
        kbuf_printf(&b, " ");
        msc_status(&b, st);
    }
    msc_arc(proc_now(t), ">>", proc_now(cp->thread), label, t, cp->thread);
}

/* A note on t's process: label, then the words of its message (stale:
 * the reply found no caller). */
static void msc_note(const struct thread *t, const char *kind,
                     const char *what, int stale)
{
    char label[LINE_MAX_LEN / 2];
    struct kbuf b;
    kbuf_init(&b, label, sizeof label);
    kbuf_printf(&b, "%s", what);
    if (stale)
        msc_message(&b, t);
    msc_box(kind, proc_now(t), label);
}

/* What ends a wait at its deadline: a timeout, or a sleep's end (no
 * object waited on: the kernel's own distinction, see sched_time_out()). */
static void msc_timeout(const struct thread *t)
{
    char label[LINE_MAX_LEN / 2];
    if (!t->wait_obj)
        kstrlcpy(label, "sleep ends", sizeof label);
    else
        kfmt(label, sizeof label, "timeout: %s",
             t->wait_ops ? t->wait_ops->what : "wait");
    msc_box("note", proc_now(t), label);
}

/* A seeded fault of kind, in process pid. */
static void msc_fault(const struct thread *t, unsigned kind, uint64_t pid)
{
    char label[LINE_MAX_LEN / 2], name[NAME_ESC];
    const struct proc *p = proc_lookup(pid);
    msc_escape(name, p ? p->name : "");
    kfmt(label, sizeof label, "fault: %s%s%s", hs_fault_name(kind),
         p ? " " : "", name);
    msc_box("note", proc_now(t), label);
}

/* A notification from t to the thread of handle tid, into its slot. */
static void msc_notify(const struct thread *t, uint64_t tid, uint64_t slot)
{
    const struct thread *to = thread_lookup(tid);
    char label[KFMT_NAME];
    if (!to)
        return;
    kfmt(label, sizeof label, "notify slot %llu", (unsigned long long)slot);
    msc_arc(proc_now(t), "=>>", proc_now(to), label, t, to);
}

/* A box for t's end (value: its exit value) or, t NULL, process p's
 * (value: its status). */
static void msc_exit(const struct thread *t, const struct proc *p,
                     uint64_t value)
{
    char label[LINE_MAX_LEN / 2], name[NAME_ESC];
    if (t) {
        msc_escape(name, t->name);
        kfmt(label, sizeof label, "thread %s exits %lld", name,
             (long long)value);
    } else {
        kfmt(label, sizeof label, "process exits %lld", (long long)value);
    }
    msc_box("abox", t ? proc_now(t) : p, label);
}

/* A message from one thread to another (trace_message_slow()). */
static void msc_message_arc(enum trace_msg kind, const struct thread *from,
                            const struct thread *to)
{
    static const char *const what[] = {
        [TRACE_CALL] = "call", [TRACE_SEND] = "send",
        [TRACE_REPLY] = "reply", [TRACE_IRQ] = "irq",
    };
    static const char *const op[] = {
        [TRACE_CALL] = "=>", [TRACE_SEND] = "->",
        [TRACE_REPLY] = ">>", [TRACE_IRQ] = ":>",
    };
    char label[LINE_MAX_LEN / 2];
    struct kbuf b;
    kbuf_init(&b, label, sizeof label);
    kbuf_printf(&b, "%s", what[kind]);
    if (kind == TRACE_IRQ)
        kbuf_printf(&b, " 0x%llx", (unsigned long long)tr.irq_bits);
    else
        msc_message(&b, from);
    msc_arc(proc_now(from), op[kind], proc_now(to), label, from, to);
}

/* ---- events ----------------------------------------------------------------- */

/* A hop of t (record r) with a checkpoint (cp set) starts its flow, at
 * the depth of the level it pushed; a one-way hop clears that entry. */
static void hop_flow_start(const struct thread *t, struct trace_thread *r,
                           uint64_t cp)
{
    uint64_t *f = level_flow(r, t->top->depth);
    if (!f)
        return;
    *f = cp ? ++tr.next_flow : 0;
    if (*f)
        json_flow('s', "hop", t, *f);
}

/* Keeping a checkpoint (handle h) of t's running level moves its flow to
 * the handle: it ends at the resume, not at the handler's return. */
static void hop_flow_keep(const struct thread *t, struct trace_thread *r,
                          uint64_t h)
{
    uint64_t *f = level_flow(r, t->top->depth);
    uint64_t *to = cp_flow(h);
    if (!f || !to)
        return;
    *to = *f;
    *f = 0;
}

/* A return or resume ends the flow *f, if any (f NULL: none known). */
static void hop_flow_end(const struct thread *t, uint64_t *f)
{
    if (!f || !*f)
        return;
    json_flow('f', "hop", t, *f);
    *f = 0;
}

/* The process t moved into or out of (a hop, a return, an unwind):
 * the arc, the spans, and the process it is in now. */
static void moved(const struct thread *t, struct trace_thread *r,
                  enum event_kind kind, uint64_t a, uint64_t b)
{
    const struct proc *now = proc_now(t);
    const struct proc *was = proc_lookup(r->proc);
    if (tr.msc && was && was != now)
        msc_moved(t, was, now, kind, a);
    if (tr.json && kind == EV_HOP)
        hop_flow_start(t, r, b);
    if (tr.json)
        json_spans(t, r, t->top ? t->top->depth + 1 : 1);
    r->proc = now->obj.handle;
}

/* A thread begins: its name, its first span, the live count. */
static void thread_begins(const struct thread *t, struct trace_thread *r)
{
    for (size_t i = 0; i < r->hop_flows_cap; i++)
        r->hop_flows[i] = 0;
    *r = (struct trace_thread){ .proc = t->proc->obj.handle,
                                .home = t->proc->obj.handle,
                                .tid = t->obj.handle,
                                .hop_flows = r->hop_flows,
                                .hop_flows_cap = r->hop_flows_cap };
    if (!tr.json)
        return;
    json_name("thread_name", t->proc->obj.handle, t->obj.handle, t->name);
    json_spans(t, r, 1);
    json_live_threads();
}

/* What the chart shows of an event other than a move (see moved()). */
static void msc_event(enum event_kind kind, const struct thread *t,
                      uint64_t a, uint64_t b)
{
    switch (kind) {
    case EV_THREAD_EXIT:
        msc_exit(t, NULL, a);
        break;
    case EV_TIMEOUT:
        msc_timeout(t);
        break;
    case EV_FAULT:
        msc_fault(t, (unsigned)a, b);
        break;
    case EV_PF_KILL:
        msc_note(t, "rbox", "page fault: killed", 0);
        break;
    case EV_IPC_CANCEL:
        msc_note(t, "note", "ipc cancel", 0);
        break;
    case EV_IPC_REPLY:
        if (a == HS_ESTALE)
            msc_note(t, "note", "stale reply", 1);
        break;
    case EV_CHECKPOINT_RESUME:
        msc_resume(t, a, (hs_status)b);
        break;
    case EV_IRQ_SIGNAL:
        tr.irq_bits = b;        /* its delivery follows: msc_message_arc() */
        break;
    case EV_NOTIFY_SEND:
        msc_notify(t, a, b);
        break;
    case EV_NOTIFY_NORETURN:
        msc_note(t, "note", "notify: handler did not return", 0);
        break;
    case EV_NOTIFY_DROP:
        msc_note(t, "note", "notify: dropped", 0);
        break;
    case EV_PANIC:
        msc_note(t, "rbox", "panic", 0);
        break;
    default:
        break;
    }
}

/* What the JSON trace shows of an event other than a move. */
static void json_event(enum event_kind kind, const struct thread *t,
                       struct trace_thread *r, uint64_t a, uint64_t b)
{
    switch (kind) {
    case EV_CHECKPOINT_KEEP:
        hop_flow_keep(t, r, a);
        break;
    case EV_CHECKPOINT_RESUME:
        hop_flow_end(t, cp_flow(a));
        break;
    case EV_THREAD_EXIT:
        json_instant("thread_exit", t, 0, a, b);
        json_spans(t, r, 0);
        json_live_threads();
        break;
    case EV_PF:
        json_instant("page_fault", t, 0, a, b);
        break;
    case EV_PF_KILL:
        json_instant("pf_kill", t, 0, a, b);
        break;
    case EV_IPC_CANCEL:
        json_instant("ipc_cancel", t, 0, a, b);
        break;
    case EV_TIMEOUT:
    case EV_FAULT:
    case EV_PANIC:
    case EV_IRQ_SIGNAL:
    case EV_NOTIFY_SEND:
    case EV_NOTIFY_DISPATCH:
    case EV_NOTIFY_RETURN:
    case EV_NOTIFY_DECIDE:
    case EV_NOTIFY_NORETURN:
    case EV_NOTIFY_DROP:
    case EV_PAGES_SEND:
    case EV_PAGES_ACCEPT:
    case EV_PAGES_ABANDON:
        json_instant(event_name(kind), t, 0, a, b);
        break;
    default:
        break;
    }
}

static void thread_event(enum event_kind kind, const struct thread *t,
                         uint64_t a, uint64_t b)
{
    struct trace_thread *r = thread_rec(t);
    if (!r)
        return;
    if (kind == EV_THREAD_CREATE) {
        thread_begins(t, r);
        return;
    }
    if (kind == EV_HOP || kind == EV_HOP_RETURN || kind == EV_HOP_UNWIND) {
        moved(t, r, kind, a, b);
        if (tr.json && kind == EV_HOP_RETURN && !a)
            hop_flow_end(t, level_flow(r, t->top->depth + 1));
        return;
    }
    if (tr.msc)
        msc_event(kind, t, a, b);
    if (tr.json)
        json_event(kind, t, r, a, b);
}

void trace_event(enum event_kind kind, const struct thread *t, uint64_t a,
                 uint64_t b)
{
    const struct proc *p;
    if (tr.json && touches_memory(kind))
        json_memory();
    if (kind == EV_SPAWN && (p = proc_lookup(a)) != NULL) {
        if (tr.json)
            json_name("process_name", a, 0, p->name);
        if (tr.msc)
            msc_entity(a, p->name);
    } else if (kind == EV_PROC_EXIT && (p = proc_lookup(a)) != NULL) {
        if (tr.json)
            json_instant("proc_exit", NULL, a, a, b);
        if (tr.msc)
            msc_exit(NULL, p, b);
    } else if (kind == EV_DEADLOCK && tr.json) {
        json_instant("deadlock", NULL, 0, a, b);
    } else if (t) {
        thread_event(kind, t, a, b);
    }
}

void trace_message_slow(enum trace_msg kind, const struct thread *from,
                        const struct thread *to)
{
    static const char *const flow[] = {
        [TRACE_CALL] = "call", [TRACE_SEND] = "send",
        [TRACE_REPLY] = "reply", [TRACE_IRQ] = "irq",
    };
    if (tr.msc)
        msc_message_arc(kind, from, to);
    if (!tr.json)
        return;
    struct trace_thread *c = thread_rec(kind == TRACE_REPLY ? to : from);
    if (!c)
        return;
    if (kind == TRACE_CALL) {
        c->call_flow = ++tr.next_flow;
        json_flow('s', "call", from, c->call_flow);
    } else if (kind == TRACE_REPLY && c->call_flow) {
        json_flow('f', "call", from, c->call_flow);
        c->call_flow = 0;
    } else if (kind != TRACE_REPLY) {
        uint64_t id = ++tr.next_flow;
        json_flow('s', flow[kind], from, id);
        json_flow('f', flow[kind], to, id);
    }
}

/* ---- files ------------------------------------------------------------------ */

int trace_enabled(void)
{
    return tr.json || tr.msc;
}

hs_status trace_open(const char *json_path, const char *msc_path)
{
    static const char head[] = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
    trace_close();
    if (json_path && plat_out_open(json_path, &tr.json) != HS_OK)
        return HS_EINVAL;
    if (msc_path && plat_out_open(msc_path, &tr.msc) != HS_OK) {
        trace_close();
        return HS_EINVAL;
    }
    if (tr.json) {
        plat_out_write(tr.json, head, sizeof head - 1);
        json_name("process_name", 0, 0, "kernel");
    }
    return HS_OK;
}

/* An entity drawn as nothing but room: no name, a white line. */
#define MSC_MARGIN "[label=\"\", linecolour=\"white\"]"

/*
 * Write the chart: entities, then every arc.  mscgen draws an arc from a
 * process to itself as a loop beside its line: left of the first
 * process, right of any other, so a loop of the first or the last
 * process would leave the picture.  Such a chart gets an empty entity on
 * that side (margin_l, margin_r), and hscale grows by 0.5 for each, so
 * the processes keep their room.
 */
static void msc_finish(void)
{
    char line[LINE_MAX_LEN], name[NAME_ESC];
    int left = tr.nents && tr.ents[0].self_arc;
    int right = tr.nents && tr.ents[tr.nents - 1].self_arc;
    size_t n = kfmt(line, sizeof line, "msc {\n  hscale=\"%u.%u\";\n%s",
                    (15u + 5u * (unsigned)(left + right)) / 10,
                    (15u + 5u * (unsigned)(left + right)) % 10,
                    left ? "  margin_l " MSC_MARGIN ",\n" : "");
    plat_out_write(tr.msc, line, n);
    for (size_t i = 0; i < tr.nents; i++) {
        msc_escape(name, tr.ents[i].name);
        n = kfmt(line, sizeof line, "%s  p%u [label=\"%s\"]",
                 i ? ",\n" : "", (unsigned)i, name);
        plat_out_write(tr.msc, line, n);
    }
    if (right)
        plat_out_write(tr.msc, ",\n  margin_r " MSC_MARGIN,
                       sizeof ",\n  margin_r " MSC_MARGIN - 1);
    if (tr.nents)
        plat_out_write(tr.msc, ";\n", 2);
    if (tr.msc_lost)
        plat_out_write(tr.msc, "# arcs lost: out of host memory\n", 32);
    if (tr.arcs_len)
        plat_out_write(tr.msc, tr.arcs, tr.arcs_len);
    plat_out_write(tr.msc, "}\n", 2);
}

void trace_run_end(void)
{
    if (!tr.json)
        return;
    for (size_t i = 0; i < tr.threads_cap; i++)
        for (struct trace_thread *r = &tr.threads[i]; r->depth; r->depth--)
            json_emit('E', "", r->home, r->tid, "");
}

void trace_close(void)
{
    static const char tail[] = "\n]}\n";
    if (tr.json) {
        plat_out_write(tr.json, tail, sizeof tail - 1);
        plat_out_close(tr.json);
    }
    if (tr.msc) {
        msc_finish();
        plat_out_close(tr.msc);
    }
    plat_free(tr.arcs);
    plat_free(tr.ents);
    for (size_t i = 0; i < tr.threads_cap; i++)
        plat_free(tr.threads[i].hop_flows);
    plat_free(tr.threads);
    plat_free(tr.cp_flows);
    tr = (struct trace_files){ 0 };
}

/* ---- the event sink ---------------------------------------------------------- */

int trace_wanted(void)
{
    return plat_trace_enabled() || k.cfg.event_fn != NULL || trace_enabled();
}

void trace_sink(enum event_kind kind, const struct thread *t, uint64_t a,
                uint64_t b)
{
    hs_time_t now = plat_clock_now();
    uint64_t tid = t ? t->obj.handle : 0;
    if (plat_trace_enabled()) {
        struct plat_event ev = {
            .seq = kevents.count, .time = now, .kind = event_name(kind),
            .thread = tid, .a = a, .b = b, .text = t ? t->name : NULL,
        };
        plat_trace_event(&ev);
    }
    if (trace_enabled())
        trace_event(kind, t, a, b);
    if (k.cfg.event_fn) {
        hs_event ev = {
            .seq = kevents.count, .time = now, .kind = event_name(kind),
            .thread = tid, .a = a, .b = b,
            .thread_name = t ? t->name : NULL,
        };
        k.cfg.event_fn(k.cfg.event_cookie, &ev);
    }
}
