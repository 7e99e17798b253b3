/*
 * core/trace.c - the event trace (Chrome trace-event JSON) and the
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
 * return, call, send, reply and IRQ signal (":>", emphasised); boxes for deaths, notes for
 * timeouts, faults and cancels.  Entities come first in an mscgen file,
 * so the arcs are kept in memory and the file is written at the end.
 */
#include "core/trace.h"
#include "core/checkpoint.h"
#include "core/hop.h"
#include "core/kernel.h"
#include "core/kfmt.h"
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
};

/* A process of the chart, by spawn order. */
struct trace_entity {
    uint64_t pid;
    char name[HS_NAME_MAX + 1];
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
    struct trace_thread *threads;   /* by thread slot */
    size_t threads_cap;
    uint64_t *cp_flows;             /* flow of each checkpoint, by slot */
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

/* The flow id of checkpoint handle h (0: none), and setting it. */
static uint64_t *cp_flow(uint64_t h)
{
    uint32_t i = slot_of(h);
    if (grow((void **)&tr.cp_flows, &tr.cp_flows_cap, (size_t)i + 1,
             sizeof *tr.cp_flows) != 0)
        return NULL;
    return &tr.cp_flows[i];
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
    char extra[96];
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
    char extra[96];
    kfmt(extra, sizeof extra, ",\"cat\":\"%s\",\"id\":%llu%s", cat,
         (unsigned long long)id, ph == 'f' ? ",\"bp\":\"e\"" : "");
    json_emit(ph, cat, t->proc->obj.handle, t->obj.handle, extra);
}

static void json_live_threads(void)
{
    char extra[48];
    kfmt(extra, sizeof extra, ",\"args\":{\"live\":%u}", k.nlive);
    json_emit('C', "threads", 0, 0, extra);
}

/* The memory counters: free 4K frames and the references held at each
 * page size, whenever they may have changed. */
static void json_memory(void)
{
    hs_mem_stats s;
    frame_stats(&s);
    char extra[160];
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
static const struct hs_hop *level_at(const struct thread *t, unsigned d)
{
    const struct hs_hop *l = t->top;
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
        const struct hs_hop *l = level_at(t, r->depth);
        const struct proc *p = l && l->proc ? l->proc : t->proc;
        json_emit('B', p->name, pid, tid, ",\"cat\":\"process\"");
        r->depth++;
    }
}

/* ---- mscgen ----------------------------------------------------------------- */

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
    kbuf_printf(&b, ";\n");
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

/* An arc (mscgen operator op) from process from to process to, labelled
 * "<what> <thread>". */
static void msc_arc(const struct proc *from, const char *op,
                    const struct proc *to, const char *what,
                    const struct thread *t)
{
    long a = msc_entity(from->obj.handle, from->name);
    long b = msc_entity(to->obj.handle, to->name);
    char name[NAME_ESC];
    if (a < 0 || b < 0)
        return;
    msc_escape(name, t->name);
    msc_line("p%ld %s p%ld [label=\"%s %s\"]", a, op, b, what, name);
}

/* A box (kind "note", "abox", ...) on process p's line. */
static void msc_box(const char *kind, const struct proc *p, const char *what,
                    const char *who)
{
    long a = msc_entity(p->obj.handle, p->name);
    char name[NAME_ESC];
    if (a < 0)
        return;
    msc_escape(name, who ? who : "");
    msc_line("p%ld %s p%ld [label=\"%s%s%s\"]", a, kind, a, what,
             who ? " " : "", name);
}

/* ---- events ----------------------------------------------------------------- */

/* A checkpointed hop starts its flow; a return or resume ends it. */
static void hop_flow_start(const struct thread *t)
{
    uint64_t *f = t->top && t->top->cp ? cp_flow(t->top->cp->obj.handle)
                                       : NULL;
    if (!f)
        return;
    *f = ++tr.next_flow;
    json_flow('s', "hop", t, *f);
}

static void hop_flow_end(const struct thread *t, uint64_t cp)
{
    uint64_t *f = cp ? cp_flow(cp) : NULL;
    if (!f || !*f)
        return;
    json_flow('f', "hop", t, *f);
    *f = 0;
}

/* Whether checkpoint handle h was kept: its flow then ends at the
 * resume, not at the handler's return. */
static int cp_kept(uint64_t h)
{
    const struct checkpoint *cp = h ? checkpoint_lookup(h) : NULL;
    return cp && cp->kept;
}

/* The process t moved into or out of (a hop, a return, an unwind):
 * the arc, the spans, and the process it is in now. */
static void moved(const struct thread *t, struct trace_thread *r,
                  enum event_kind kind, uint64_t a)
{
    const struct proc *now = proc_now(t);
    const struct proc *was = proc_lookup(r->proc);
    if (tr.msc && was && was != now) {
        if (kind == EV_HOP)
            msc_arc(was, t->top->cp ? "=>" : "->", now, "hop", t);
        else
            msc_arc(was, ">>", now, kind == EV_HOP_RETURN ? "return"
                                                          : "unwind", t);
    }
    if (tr.json && kind == EV_HOP && a)
        hop_flow_start(t);
    if (tr.json)
        json_spans(t, r, t->top ? t->top->depth + 1 : 1);
    r->proc = now->obj.handle;
}

/* A thread begins: its name, its first span, the live count. */
static void thread_begins(const struct thread *t, struct trace_thread *r)
{
    *r = (struct trace_thread){ .proc = t->proc->obj.handle,
                                .home = t->proc->obj.handle,
                                .tid = t->obj.handle };
    if (!tr.json)
        return;
    json_name("thread_name", t->proc->obj.handle, t->obj.handle, t->name);
    json_spans(t, r, 1);
    json_live_threads();
}

/* An instant event, and a note or box on the chart. */
static void marked(const char *name, const char *box, const struct thread *t,
                   uint64_t a, uint64_t b)
{
    if (tr.json)
        json_instant(name, t, 0, a, b);
    if (tr.msc)
        msc_box(box, proc_now(t), name, t->name);
}

static void thread_event(enum event_kind kind, const struct thread *t,
                         uint64_t a, uint64_t b)
{
    struct trace_thread *r = thread_rec(t);
    if (!r)
        return;
    switch (kind) {
    case EV_THREAD_CREATE:
        thread_begins(t, r);
        break;
    case EV_HOP:
    case EV_HOP_RETURN:
    case EV_HOP_UNWIND:
        moved(t, r, kind, b);
        if (tr.json && kind == EV_HOP_RETURN && !cp_kept(a))
            hop_flow_end(t, a);
        break;
    case EV_CHECKPOINT_RESUME:
        if (tr.json)
            hop_flow_end(t, a);
        break;
    case EV_THREAD_EXIT:
        marked("thread_exit", "abox", t, a, b);
        if (tr.json) {
            json_spans(t, r, 0);
            json_live_threads();
        }
        break;
    case EV_TIMEOUT:
        marked("timeout", "note", t, a, b);
        break;
    case EV_FAULT:
        marked("fault", "note", t, a, b);
        break;
    case EV_PF:
        if (tr.json)
            json_instant("page_fault", t, 0, a, b);
        break;
    case EV_PF_KILL:
        marked("pf_kill", "rbox", t, a, b);
        break;
    case EV_IPC_CANCEL:
        marked("ipc_cancel", "note", t, a, b);
        break;
    case EV_IRQ_SIGNAL:
    case EV_NOTIFY_SEND:
    case EV_NOTIFY_DISPATCH:
    case EV_NOTIFY_RETURN:
    case EV_NOTIFY_DECIDE:
    case EV_PAGES_SEND:
    case EV_PAGES_ACCEPT:
    case EV_PAGES_ABANDON:
        if (tr.json)
            json_instant(event_name(kind), t, 0, a, b);
        break;
    case EV_NOTIFY_NORETURN:
    case EV_NOTIFY_DROP:
        marked(event_name(kind), "note", t, a, b);
        break;
    case EV_PANIC:
        marked("panic", "rbox", t, a, b);
        break;
    default:
        break;
    }
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
            msc_box("abox", p, "proc_exit", NULL);
    } else if (kind == EV_DEADLOCK && tr.json) {
        json_instant("deadlock", NULL, 0, a, b);
    } else if (t) {
        thread_event(kind, t, a, b);
    }
}

void trace_message_slow(enum trace_msg kind, const struct thread *from,
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
    if (tr.msc)
        msc_arc(proc_now(from), op[kind], proc_now(to), what[kind], from);
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
        json_flow('s', what[kind], from, id);
        json_flow('f', what[kind], to, id);
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

/* Write the chart: entities, then every arc. */
static void msc_finish(void)
{
    static const char head[] = "msc {\n  hscale=\"1.5\";\n";
    char line[LINE_MAX_LEN], name[NAME_ESC];
    plat_out_write(tr.msc, head, sizeof head - 1);
    for (size_t i = 0; i < tr.nents; i++) {
        msc_escape(name, tr.ents[i].name);
        size_t n = kfmt(line, sizeof line, "%s  p%u [label=\"%s\"]",
                        i ? ",\n" : "", (unsigned)i, name);
        plat_out_write(tr.msc, line, n);
    }
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
    plat_free(tr.threads);
    plat_free(tr.cp_flows);
    tr = (struct trace_files){ 0 };
}
