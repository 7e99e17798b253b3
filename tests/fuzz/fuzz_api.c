/*
 * tests/fuzz/fuzz_api.c - libFuzzer target: the public API driven by
 * arbitrary bytes, from several simulated processes and threads at once.
 *
 * Each input is one whole simulation: hs_sim_start() with a configuration
 * taken from the header, a few processes spawned from the host, then
 * hs_sim_run(), which frees everything before it returns.  A run that
 * ends in deadlock or with an error is fine.  A host crash, a sanitizer
 * report, a leak, or a kernel panic (hs_sim_run() returning HS_EPANIC,
 * which aborts here) is a finding.
 *
 * Byte encoding
 * -------------
 *   byte 0, 1   seed = byte0 | byte1 << 8; 0xffff means no seed (plain
 *               priority order; faults are then refused by hs_sim_start)
 *   byte 2      bits 0-2  HS_FAULT_* kinds to inject
 *               bit 3     HS_STRATEGY_PCT (else random)
 *               bit 4     the first process is privileged (core server)
 *               bits 5-6  processes spawned from the host - 1 (1..4)
 *               bit 7     cfg.mem_check: verify memory at every kernel exit
 *   byte 3      bits 0-3  cfg.max_hop_depth - 1 (1..16)
 *               bits 4-5  cfg.hop_stacks: 1, 2, 4 or 16
 *               bit 6     HS_SWITCH_UCONTEXT (else the fast switch)
 *               bit 7     a 64 KiB device region is made before the run
 *   byte 4      cfg.fault_window (0: the default)
 *   byte 5      bits 0-1  the pool: 4, 16, 64 or 8 MiB
 *   the rest    the op stream
 *
 * The op stream is one stream shared by every simulated thread: whichever
 * thread runs next takes the next op from it, so the schedule (fixed by
 * the seed) decides who does what.  An op is one byte, op % OP_COUNT
 * (see the enum), followed by its arguments, read on demand:
 *
 *   handle      a byte b: b < 0xe0 picks entry b % POOL of the pool of
 *               handles of that kind seen so far in this run (ports, caps,
 *               pids, tids, checkpoints, page faults, portals, offers);
 *               b >= 0xe0 gives a constant from a small list of edge
 *               values (0, 1, -1, big, a handle with a bad generation...)
 *   timeout     a byte: HS_NOWAIT, a few nanoseconds to a millisecond,
 *               HS_NEVER (1 in 8) or a value that is no timeout
 *   address     a byte: mostly a 4K page of the arena (0x10000000 + 4K *
 *               n), or a 2M-aligned address above it, or an edge value
 *               (unaligned, the top of the 48-bit space, past it)
 *   length      a byte: 1..16 pages, 2 MiB, or an edge value
 *   message     bytes that fill the UTCB tag and message registers,
 *               sometimes with capability or memory items
 *
 * Every thread loops over ops until the stream ends (or OPS_MAX ops ran
 * in the run), then returns.  Handlers (hop, notification, typed message,
 * page fault, memory exhaustion) run a few ops of the stream too, at most
 * NEST_MAX deep on one thread.  Exhausted input reads as zero bytes.
 *
 * Environment: FUZZ_API_TRACE=1 prints every op and every call with its
 * status (how a crash input becomes a plain call sequence);
 * FUZZ_API_AVOID=join-async,resume-null keeps away from findings already
 * saved under tests/fuzz/crashes/ (see its README.md).  The seed corpus
 * is written by tests/fuzz/make_corpus.py.
 *
 * What the harness keeps away from (the API allows a crash there, or it
 * is documented to spin, so it would be no finding): wild pointers; an
 * hs_chan / hs_topic_sub / hs_topic_pub used outside the process that
 * filled it, used by two threads at once, or after its detach; memory
 * calls on the channel rings' addresses (the fuzzed memory ops stay in
 * the arena, rings are mapped elsewhere); hs_sp_lock once priorities
 * differ (a waiter of higher priority yields for ever); stacks too small
 * for the harness's own frames under ASan.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hopsim.h"

/* ---- limits ----------------------------------------------------------- */

#define POOL       16           /* handles remembered of each kind */
#define OPS_MAX    3000         /* ops in one run, all threads together */
#define NEST_MAX   3            /* handler levels on one thread */
#define CHANS      6            /* attached channel ends */
#define SUBS       3            /* topic subscriptions */
#define PUBS       2            /* topic publishers */
#define BUF_MAX    512          /* bytes of a memory or channel buffer */
#define STACK      ((size_t)256 * 1024)  /* every stack the harness runs on */
#define PF_MAX     64           /* page-fault notifications in one run */

#define ARENA      ((uint64_t)0x10000000)   /* fuzzed memory ops: 4K area */
#define ARENA2M    ((uint64_t)0x40000000)   /* and 2M-aligned area */
#define CHAN_VA    ((uint64_t)0x200000000)  /* rings the harness places */
#define CHAN_SPAN  ((uint64_t)32 << 20)

/* The slot of tcr[] that counts handler levels on a thread: tcr is
 * private and travels with the thread through hops. */
#define TCR_NEST   (HS_TCR_COUNT - 1)

/* ---- state of the current run ----------------------------------------- */

struct pool {
    uint64_t v[POOL];
    unsigned n;                 /* entries written so far (wraps) */
};

struct chan_slot {
    int used, busy;
    hs_pid_t owner;
    hs_chan c;
};

struct sub_slot {
    int used, busy;
    hs_pid_t owner;
    hs_topic_sub s;
};

struct pub_slot {
    int used, busy;
    hs_pid_t owner;
    hs_topic_pub p;
};

static struct {
    const uint8_t *data;
    size_t size, pos;
    unsigned ops;
    int prio_changed;           /* some thread has a non-default priority */
    unsigned pf_notes;          /* page-fault notifications handled */
    struct pool ports, caps, pids, tids, cps, pfs, portals, offers, paddrs;
    struct pool addrs;          /* arena addresses mapped by some op */
    struct chan_slot chans[CHANS];
    struct sub_slot subs[SUBS];
    struct pub_slot pubs[PUBS];
} fz;

/* ---- findings masked while fuzzing ------------------------------------ */

/* FUZZ_API_AVOID=name,name,... keeps the harness away from findings
 * already saved under tests/fuzz/crashes/, so that a long run looks for
 * new ones.  Off by default: every saved input must still reproduce. */
#define AVOID_JOIN_ASYNC 0x1u   /* join a thread made by hs_hop_async */
#define AVOID_RESUME_NULL 0x2u  /* hs_checkpoint_resume(cp, st, NULL, 0) */

static unsigned avoid;
static struct pool async_tids;

static int is_async_tid(uint64_t tid)
{
    for (unsigned i = 0; i < POOL; i++)
        if (async_tids.v[i] == tid)
            return 1;
    return 0;
}

/* ---- reading the stream ----------------------------------------------- */

static int fz_done(void)
{
    return fz.pos >= fz.size || fz.ops >= OPS_MAX;
}

static uint8_t rd8(void)
{
    return fz.pos < fz.size ? fz.data[fz.pos++] : 0;
}

static uint16_t rd16(void)
{
    uint16_t lo = rd8();
    return (uint16_t)(lo | (uint16_t)rd8() << 8);
}

static uint64_t rd64(void)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)rd8() << (8 * i);
    return v;
}

static void remember(struct pool *p, uint64_t v)
{
    if (v == 0)
        return;
    p->v[p->n % POOL] = v;
    p->n++;
}

/* Edge values for handles: none, small, all ones, a plausible index with
 * a generation that never was. */
static const uint64_t edge_handles[] = {
    0, 1, 2, 3, 0xffffffffu, ~(uint64_t)0, (uint64_t)1 << 32,
    ((uint64_t)7 << 32) | 1, 0x7fffffffffffffffull, 64, 4096,
    ((uint64_t)0xffff << 32) | 2, 0x100000001ull, 5, 17, 0x8000,
    0x10001, 0xdeadbeef, 1023, 65535, 65536, 1u << 20, 0x7fffffff,
    0x80000000u, 0x1234567812345678ull, 9, 6, 31, 32, 33, 100, 200,
};

static uint64_t pick(struct pool *p)
{
    uint8_t b = rd8();
    if (b >= 0xe0)
        return edge_handles[(b - 0xe0) % (sizeof edge_handles /
                                          sizeof edge_handles[0])];
    unsigned have = p->n < POOL ? p->n : POOL;
    return have ? p->v[b % have] : 0;
}

static hs_time_t rd_timeout(void)
{
    uint8_t b = rd8();
    switch (b & 7) {
    case 0: case 1: return HS_NOWAIT;
    case 2: return 1 + (b >> 3);
    case 3: return (hs_time_t)(1 + (b >> 3)) * 1000;
    case 4: return HS_MSEC;
    case 5: return (hs_time_t)(b >> 3) * HS_USEC + 7;
    case 6: return HS_NEVER;
    default:
        return (b >> 3) & 1 ? HS_TIMEOUT_MAX + 1 : HS_NEVER - 1;
    }
}

static const uint64_t edge_addrs[] = {
    0, 1, 0xfff, ARENA + 8, HS_VA_LIMIT - HS_PAGE_4K, HS_VA_LIMIT,
    ~(uint64_t)0 & ~(uint64_t)0xfff, (uint64_t)1 << 47, ARENA - HS_PAGE_4K,
    HS_VA_LIMIT - HS_PAGE_2M, 0x1000, ARENA + HS_PAGE_2M,
};

static uint64_t rd_addr(void)
{
    uint8_t b = rd8();
    if (b >= 0x90 && b < 0xc0 && fz.addrs.n)
        return fz.addrs.v[b % (fz.addrs.n < POOL ? fz.addrs.n : POOL)];
    if (b < 0xc0)
        return ARENA + (uint64_t)(b % 96) * HS_PAGE_4K;
    if (b < 0xf0)
        return ARENA2M + (uint64_t)(b % 8) * HS_PAGE_2M;
    return edge_addrs[(b - 0xf0) % (sizeof edge_addrs / sizeof edge_addrs[0])];
}

static uint64_t rd_len(void)
{
    uint8_t b = rd8();
    if (b < 0xc0)
        return (uint64_t)(1 + b % 16) * HS_PAGE_4K;
    if (b < 0xe8)
        return HS_PAGE_2M * (1 + (b & 1));
    switch (b & 7) {
    case 0: return 0;
    case 1: return 1;
    case 2: return HS_PAGE_4K + 1;
    case 3: return HS_VA_LIMIT;
    case 4: return ~(uint64_t)0 & ~(uint64_t)0xfff;
    case 5: return HS_PAGE_1G;
    case 6: return (uint64_t)64 << 20;
    default: return 96 * HS_PAGE_4K;
    }
}

static unsigned rd_prot(void)
{
    uint8_t b = rd8();
    return b < 0xf0 ? 1 + b % HS_PROT_ALL : b & 0xf;
}

static uint64_t rd_page_size(void)
{
    static const uint64_t sizes[] = {0, HS_PAGE_4K, HS_PAGE_2M, HS_PAGE_1G,
                                     HS_PAGE_4K, 0, 3, HS_PAGE_4K};
    return sizes[rd8() & 7];
}

/* A flexpage of the arena, sometimes malformed. */
static uint64_t rd_fpage(void)
{
    uint8_t b = rd8();
    unsigned log2 = 12 + (b & 3);
    if (b >= 0xf0)
        return b & 1 ? HS_FPAGE(ARENA + 8, 12) : HS_FPAGE(0, 50);
    if (b >= 0xe0)
        return HS_FPAGE(ARENA2M, 21);
    uint64_t base = ARENA + ((uint64_t)(b >> 2) << log2);
    return HS_FPAGE(base & ~(((uint64_t)1 << log2) - 1), log2);
}

static uint64_t rd_status(void)
{
    uint8_t b = rd8();
    return b < 0xf0 ? b % HS_STATUS_COUNT : (uint64_t)b * 1000;
}

/* ---- tracing ----------------------------------------------------------- */

/* FUZZ_API_TRACE=1 in the environment prints every op and every call with
 * its result, for turning a crash input into a plain call sequence. */
static int trace_on;

static void trace_where(void)
{
    fprintf(stderr, "[t%llx p%llx @%llu] ",
            (unsigned long long)hs_thread_self(),
            (unsigned long long)hs_proc_self(),
            (unsigned long long)hs_time_now());
}

static hs_status trace_call(const char *text, hs_status st)
{
    if (trace_on) {
        trace_where();
        fprintf(stderr, "    %s -> %s\n", text, hs_strerror(st));
    }
    return st;
}

/* Evaluates the call once; prints it and its status when tracing. */
#define TR(call) trace_call(#call, (call))

static void trace_exit(const char *text)
{
    if (trace_on) {
        trace_where();
        fprintf(stderr, "    %s\n", text);
    }
}

#define TR_EXIT(call) (trace_exit(#call), call)

/* ---- the message ------------------------------------------------------ */

/* Fill the tag and message registers: words, then typed items. */
static void rd_message(void)
{
    hs_utcb_t *u = hs_utcb();
    if (!u)
        return;
    uint8_t b = rd8();
    if (b >= 0xf8) {
        u->tag = rd64();
        return;
    }
    unsigned words = b % 9, items = (b >> 4) % 3;
    u->tag = HS_TAG_ITEMS(rd8(), words, items);
    for (unsigned i = 0; i < words; i++)
        u->mr[i] = rd8();
    for (unsigned i = 0; i < items && words + 2 * i + 1 < HS_MR_COUNT; i++) {
        uint8_t k = rd8();
        if (k & 1) {
            u->mr[words + 2 * i] = HS_ITEM(HS_ITEM_CAP, k >> 4);
            u->mr[words + 2 * i + 1] = pick(&fz.caps);
        } else {
            u->mr[words + 2 * i] = HS_ITEM_MEM_WORD(1 + (k >> 1) % 4,
                                                    rd_prot());
            u->mr[words + 2 * i + 1] = rd_fpage();
        }
    }
}

static void rd_buffers(void)
{
    hs_utcb_t *u = hs_utcb();
    if (!u)
        return;
    uint8_t b = rd8();
    u->br[HS_BR_CAPS] = b & 3;
    u->br[HS_BR_MEM] = b & 4 ? rd_fpage() : 0;
}

/* Words picked up from a reply or a received message may name handles. */
static void harvest_mrs(void)
{
    hs_utcb_t *u = hs_utcb();
    if (!u)
        return;
    unsigned words = hs_tag_words(u->tag), items = hs_tag_items(u->tag);
    for (unsigned i = 0; i < items && words + 2 * i + 1 < HS_MR_COUNT; i++)
        if (hs_item_type(u->mr[words + 2 * i]) == HS_ITEM_CAP)
            remember(&fz.caps, (uint32_t)u->mr[words + 2 * i + 1]);
}

/* ---- handlers ---------------------------------------------------------- */

static void run_ops(unsigned n);
static int worker(void *arg);

/* Enter a handler level on this thread: 0 if too deep already. */
static int nest_enter(uint64_t *saved)
{
    hs_utcb_t *u = hs_utcb();
    if (!u)
        return 0;
    *saved = u->tcr[TCR_NEST];
    if (*saved >= NEST_MAX)
        return 0;
    u->tcr[TCR_NEST] = *saved + 1;
    return 1;
}

static void nest_leave(uint64_t saved)
{
    hs_utcb_t *u = hs_utcb();
    if (u)
        u->tcr[TCR_NEST] = saved;
}

/* Every hop handler: note what arrived, run a few ops in the receiver,
 * maybe keep the checkpoint or accept the items, write a reply. */
static void hop_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    if (trace_on) {
        trace_where();
        fprintf(stderr, "  hop handler: port %llx from p%llx mr0 %llu\n",
                (unsigned long long)hs_hop_port(hop),
                (unsigned long long)hs_hop_source(hop),
                (unsigned long long)hs_mr(hop, 0));
    }
    remember(&fz.ports, hs_hop_port(hop));
    remember(&fz.pids, hs_hop_source(hop));
    if (hs_mr(hop, 0) == HS_PF_LABEL)
        remember(&fz.pfs, hs_mr(hop, 1));
    uint64_t saved;
    if (!nest_enter(&saved))
        return;
    uint8_t b = rd8();
    if (b & 1) {
        hs_checkpoint_t cp = 0;
        if (TR(hs_hop_keep(hop, &cp)) == HS_OK)
            remember(&fz.cps, cp);
    }
    if (b & 2)
        TR(hs_hop_accept(hop, b & 4 ? rd_fpage() : 0));
    if (b & 8) {
        hs_hop_level lv[4];
        unsigned n = 0;
        TR(hs_hop_chain(lv, 4, &n));
    }
    run_ops((b >> 4) % 6);
    hs_utcb_t *u = hs_utcb();
    if (u)
        u->mr[0] = hs_mr(hop, 0) + 1;
    nest_leave(saved);
}

static void notify_handler(void *cookie, const hs_notification *n)
{
    (void)cookie;
    if (trace_on) {
        trace_where();
        fprintf(stderr, "  notify handler: slot %u type %u depth %u\n",
                n->slot, n->type, n->depth);
    }
    remember(&fz.tids, n->sender);
    remember(&fz.pids, n->sender_pid);
    if (n->slot == HS_NOTIFY_TYPED && n->n > HS_PAGES_W_OFFER)
        remember(&fz.offers, n->words[HS_PAGES_W_OFFER]);
    if (n->slot == HS_NOTIFY_EXIT && n->n > 0)
        remember(&fz.pids, n->words[0]);
    /* A page-fault handler that does not map the page is called again at
     * once: end the thread when the stream cannot help any more. */
    if (n->slot == HS_NOTIFY_PAGE_FAULT &&
        (fz_done() || ++fz.pf_notes > PF_MAX))
        TR_EXIT(hs_thread_exit(0));
    uint64_t saved;
    if (!nest_enter(&saved))
        return;
    uint8_t b = rd8();
    if (n->slot == HS_NOTIFY_TYPED) {
        switch (b & 3) {
        case 0: TR(hs_notify_take()); break;
        case 1: TR(hs_notify_abandon()); break;
        case 2:
            if (n->n > HS_PAGES_W_OFFER)
                TR(hs_pages_accept(n->words[HS_PAGES_W_OFFER], rd_addr()));
            break;
        default: break;
        }
    }
    if (n->slot == HS_NOTIFY_PAGE_FAULT && (b & 4))
        TR(hs_mem_map(n->words[0] & ~(uint64_t)0xfff, HS_PAGE_4K,
                         rd_prot(), HS_PAGE_4K));
    run_ops((b >> 3) % 5);
    nest_leave(saved);
    if (b & 0x80)
        TR(hs_notify_return());   /* returns only with an error */
}

/* Allocators run inside the kernel: they must not call hopsim.  The
 * cookie says whether to grant, and never a stack too small for the
 * harness. */
static hs_status stack_alloc(void *cookie, size_t *stack_size)
{
    if (((uintptr_t)cookie & 1) == 0)
        return HS_ENOMEM;
    *stack_size = STACK;
    return HS_OK;
}

static hs_status notify_stack_alloc(void *cookie, unsigned depth,
                                    size_t *stack_size)
{
    if (((uintptr_t)cookie & 1) == 0 || depth > 4)
        return HS_ENOMEM;
    *stack_size = (uintptr_t)cookie & 2 ? HS_STACK_MAX + 1 : STACK;
    return HS_OK;
}

/* ---- ops --------------------------------------------------------------- */

enum op {
    OP_YIELD, OP_SLEEP, OP_PORT_CREATE, OP_PORT_NAMED, OP_PORT_LOOKUP,
    OP_PORT_HANDLER, OP_PORT_CLOSE, OP_PORT_SPAWN, OP_HOP, OP_HOP_ASYNC,
    OP_HOP_CALL, OP_CP_RESUME, OP_GATE_CREATE, OP_IPC_SEND, OP_IPC_CALL,
    OP_IPC_RECEIVE, OP_IPC_WAIT, OP_IPC_REPLY, OP_IPC_REPLY_WAIT,
    OP_IPC_CANCEL, OP_CAP_DERIVE, OP_CAP_REVOKE, OP_CAP_DELETE, OP_CAP_INFO,
    OP_CAP_GIVE, OP_CHAN_CREATE, OP_CHAN_ATTACH, OP_CHAN_SEND,
    OP_CHAN_RECV, OP_CHAN_DETACH, OP_CHAN_ADMIN, OP_TOPIC, OP_TOPIC_SUB,
    OP_TOPIC_PUB, OP_MEM_MAP, OP_MEM_UNMAP, OP_MEM_PROTECT, OP_MEM_ACCESS,
    OP_MEM_PAGER, OP_PORTAL, OP_SP, OP_PAGES_SEND, OP_NOTIFY_INSTALL,
    OP_NOTIFY_SEND, OP_NOTIFY_MISC, OP_THREAD_CREATE, OP_THREAD_JOIN,
    OP_THREAD_PRIO, OP_PROC_SPAWN, OP_PROC_WAIT, OP_EXIT, OP_IRQ,
    OP_FACTORY, OP_HOP_STACKS, OP_HOP_INFO, OP_BUFFERS, OP_SERVE,
    OP_MEM_STATS, OP_COUNT
};

static const char *const port_names[] = {"a", "b", "c", "srv", "", NULL,
    "0123456789012345678901234567890123456789012345678901234567890123"};

static const char *rd_port_name(void)
{
    return port_names[rd8() % (sizeof port_names / sizeof port_names[0])];
}

static void op_port(enum op op)
{
    hs_port_t port = 0;
    switch (op) {
    case OP_PORT_CREATE:
        if (TR(hs_port_create(rd8() == 0xff ? NULL : &port)) == HS_OK)
            remember(&fz.ports, port);
        break;
    case OP_PORT_NAMED: {
        const char *name = rd_port_name();
        if (name && TR(hs_port_create_named(name, &port)) == HS_OK) {
            remember(&fz.ports, port);
            if (rd8() & 1)
                TR(hs_port_set_handler(port, hop_handler, NULL));
        }
        break;
    }
    case OP_PORT_LOOKUP: {
        const char *name = rd_port_name();
        if (name && TR(hs_port_lookup(name, rd_timeout(), &port)) == HS_OK)
            remember(&fz.ports, port);
        break;
    }
    case OP_PORT_HANDLER:
        TR(hs_port_set_handler(pick(&fz.ports),
                                  rd8() & 7 ? hop_handler : NULL, NULL));
        break;
    case OP_PORT_CLOSE:
        TR(hs_port_destroy(pick(&fz.ports)));
        break;
    default: {
        uint8_t b = rd8();
        hs_pid_t pid = pick(&fz.pids);
        hs_status st;
        switch (b & 3) {
        case 0: st = TR(hs_port_to_parent(&port)); break;
        case 1: st = TR(hs_port_from_parent(&port)); break;
        case 2: st = TR(hs_port_to_child(pid, &port)); break;
        default: st = TR(hs_port_from_child(pid, &port)); break;
        }
        if (st == HS_OK) {
            remember(&fz.ports, port);
            if (b & 4)
                TR(hs_port_set_handler(port, hop_handler, NULL));
        }
        break;
    }
    }
}

/* A hop returns here (checkpointed, or refused); the caller's handler
 * level is its own again whatever happened on the way. */
static void op_hop(enum op op)
{
    hs_utcb_t *u = hs_utcb();
    uint64_t nest = u ? u->tcr[TCR_NEST] : 0;
    hs_port_t port = pick(&fz.ports);
    rd_message();
    switch (op) {
    case OP_HOP: {
        uint8_t b = rd8();
        unsigned flags = b & 0x10 ? b : b & 3;
        TR(hs_hop(port, flags, rd_timeout()));
        break;
    }
    case OP_HOP_ASYNC: {
        hs_tid_t tid = 0;
        if (TR(hs_hop_async(port, &tid)) == HS_OK) {
            remember(&fz.tids, tid);
            remember(&async_tids, tid);
        }
        break;
    }
    default: {
        uint64_t reply;
        TR(hs_hop_call(port, rd8(), rd8() & 1 ? &reply : NULL));
        break;
    }
    }
    harvest_mrs();
    if (u)
        u->tcr[TCR_NEST] = nest;
}

static void op_cp_resume(void)
{
    uint64_t words[8] = {rd8(), rd8(), 0, 0, 0, 0, 0, 0};   /* n <= 7 */
    uint8_t b = rd8();
    hs_checkpoint_t cp = pick(&fz.cps);
    int null = (b & 0x80) && !((avoid & AVOID_RESUME_NULL) && (b & 7) == 0);
    TR(hs_checkpoint_resume(cp, (hs_status)rd_status(),
                               null ? NULL : words, b & 7));
}

static void op_ipc(enum op op)
{
    uint64_t label = 0;
    hs_status st;
    switch (op) {
    case OP_GATE_CREATE: {
        hs_cap_t cap;
        uint8_t b = rd8();
        hs_tid_t rx = b & 1 ? pick(&fz.tids) : 0;
        if (TR(hs_gate_create(rx, rd8(), b & 0x80 ? NULL : &cap)) == HS_OK)
            remember(&fz.caps, cap);
        return;
    }
    case OP_IPC_SEND: {
        hs_cap_t gate = (hs_cap_t)pick(&fz.caps);
        rd_message();
        TR(hs_ipc_send(gate, rd_timeout()));
        return;
    }
    case OP_IPC_CALL: {
        hs_cap_t gate = (hs_cap_t)pick(&fz.caps);
        rd_message();
        rd_buffers();
        hs_time_t s = rd_timeout();
        st = TR(hs_ipc_call(gate, s, rd_timeout()));
        break;
    }
    case OP_IPC_RECEIVE: {
        hs_cap_t gate = (hs_cap_t)pick(&fz.caps);
        rd_buffers();
        st = TR(hs_ipc_recv(gate, rd_timeout(),
                                rd8() & 1 ? &label : NULL));
        break;
    }
    case OP_IPC_WAIT:
        rd_buffers();
        st = TR(hs_ipc_wait(rd_timeout(), &label));
        break;
    case OP_IPC_REPLY:
        rd_message();
        TR(hs_ipc_reply());
        return;
    case OP_IPC_REPLY_WAIT:
        rd_message();
        rd_buffers();
        st = TR(hs_ipc_reply_wait(rd_timeout(), &label));
        break;
    default:
        TR(hs_ipc_cancel(pick(&fz.tids)));
        return;
    }
    if (st == HS_OK)
        harvest_mrs();
}

static void op_cap(enum op op)
{
    hs_cap_t cap = (hs_cap_t)pick(&fz.caps), out = 0;
    switch (op) {
    case OP_CAP_DERIVE: {
        uint8_t b = rd8();
        if (TR(hs_cap_derive(cap, b & 0x1f, rd8(), &out)) == HS_OK)
            remember(&fz.caps, out);
        break;
    }
    case OP_CAP_REVOKE:
        TR(hs_cap_revoke(cap));
        break;
    case OP_CAP_DELETE:
        TR(hs_cap_delete(cap));
        break;
    case OP_CAP_INFO: {
        hs_cap_info info;
        TR(hs_cap_info_get(cap, &info));
        break;
    }
    default: {
        hs_pid_t pid = pick(&fz.pids);
        if (TR(hs_cap_give(pid, cap, rd8() & 0x1f, &out)) == HS_OK)
            remember(&fz.caps, out);
        break;
    }
    }
}

/* ---- channels and topics ---------------------------------------------- */

static void rd_policy(hs_chan_policy *pol)
{
    memset(pol, 0, sizeof *pol);
    uint8_t b = rd8();
    pol->flags = b & 0x80 ? rd8() : b & HS_CHAN_POL_ALL;
    pol->rate = rd8() & 0x80 ? rd16() : 1 + rd8();
    pol->burst = rd8() % 5;
    pol->size_max = rd16() % 300;
    pol->types = rd8() & 1 ? ~(uint64_t)0 : rd8();
    pol->rights = rd8() & 0xf;
    pol->nsources = rd8() % 10;
    for (unsigned i = 0; i < HS_CHAN_SOURCES_MAX; i++)
        pol->sources[i] = i < 2 ? pick(&fz.pids) : 0;
}

static void op_chan_create(void)
{
    hs_chan_policy pol;
    hs_chan_attr a;
    memset(&a, 0, sizeof a);
    uint8_t b = rd8();
    a.slots = b & 0x80 ? rd16() : 1u << (b & 7);
    a.msg_max = rd8() & 0x80 ? rd16() : 1 + rd8();
    a.kind = 1 + rd8() % 3;
    a.overflow = 1 + rd8() % 5;
    a.timeout = rd_timeout();
    if (b & 0x40) {
        rd_policy(&pol);
        a.policy = &pol;
    }
    hs_cap_t cap;
    if (TR(hs_chan_create(b == 0x3f ? NULL : &a, &cap)) == HS_OK)
        remember(&fz.caps, cap);
}

/* A slot of the caller's process that no other thread is using. */
static struct chan_slot *chan_mine(void)
{
    struct chan_slot *s = &fz.chans[rd8() % CHANS];
    return s->used && !s->busy && s->owner == hs_proc_self() ? s : NULL;
}

static void op_chan_attach(void)
{
    unsigned i = rd8() % CHANS;
    struct chan_slot *s = &fz.chans[i];
    hs_cap_t cap = (hs_cap_t)pick(&fz.caps);
    uint8_t b = rd8();
    unsigned role = b & 4 ? b : 1 + (b & 1);
    uint64_t va = b & 8 ? 0 : CHAN_VA + i * CHAN_SPAN + (b & 0x10 ? 8 : 0);
    if (s->used) {
        hs_chan tmp;            /* a second end on a used slot: detach */
        if (TR(hs_chan_attach(cap, role, 0, &tmp)) == HS_OK)
            TR(hs_chan_detach(&tmp));
        return;
    }
    if (TR(hs_chan_attach(cap, role, va, &s->c)) == HS_OK) {
        s->used = 1;
        s->busy = 0;
        s->owner = hs_proc_self();
    }
}

static void op_chan_send(void)
{
    struct chan_slot *s = chan_mine();
    uint8_t buf[BUF_MAX];
    uint8_t b = rd8();
    size_t len = b & 0x80 ? rd16() % (BUF_MAX + 1) : b & 0x3f;
    memset(buf, b, sizeof buf);
    if (!s)
        return;
    s->busy = 1;
    switch (rd8() % 3) {
    case 0:
        TR(hs_chan_send(&s->c, buf, len));
        break;
    case 1:
        TR(hs_chan_send_typed(&s->c, rd8(), buf, len));
        break;
    default: {
        hs_chan_msg m[4];
        size_t n = rd8() % 5, sent;
        for (size_t i = 0; i < n; i++) {
            m[i].data = buf;
            m[i].len = (len + i) % (BUF_MAX + 1);
            m[i].type = rd8() % 70;
        }
        TR(hs_chan_send_batch(&s->c, n ? m : NULL, n, &sent));
        break;
    }
    }
    s->busy = 0;
}

static void op_chan_recv(void)
{
    struct chan_slot *s = chan_mine();
    uint8_t buf[BUF_MAX];
    size_t size = rd16() % (BUF_MAX + 1), len = 0;
    uint8_t b = rd8();
    hs_time_t t = rd_timeout();
    if (!s)
        return;
    s->busy = 1;
    switch (b % 3) {
    case 0:
        TR(hs_chan_recv(&s->c, buf, size, &len, t));
        break;
    case 1: {
        hs_chan_meta meta;
        if (TR(hs_chan_recv_ex(&s->c, buf, size, &len, &meta, t)) == HS_OK)
            remember(&fz.pids, meta.src);
        break;
    }
    default: {
        hs_chan_msg m[3];
        size_t got = 0;
        for (size_t i = 0; i < 3; i++) {
            m[i].data = buf + i * (BUF_MAX / 3);
            m[i].len = size / 3;
        }
        TR(hs_chan_recv_batch(&s->c, m, 1 + (b >> 4) % 3, &got, t));
        break;
    }
    }
    s->busy = 0;
}

static void op_chan_detach(void)
{
    struct chan_slot *s = chan_mine();
    if (!s)
        return;
    TR(hs_chan_detach(&s->c));
    s->used = 0;                /* never used again, whatever the result */
}

static void op_chan_admin(void)
{
    hs_cap_t cap = (hs_cap_t)pick(&fz.caps);
    uint8_t b = rd8();
    switch (b % 6) {
    case 0:
        TR(hs_chan_destroy(cap));
        break;
    case 1: {
        hs_chan_policy pol;
        rd_policy(&pol);
        TR(hs_chan_policy_set(cap, b & 0x80 ? NULL : &pol));
        break;
    }
    case 2: {
        hs_chan_audit_rec rec[4];
        size_t n;
        TR(hs_chan_audit_read(cap, rec, rd8() % 5, &n));
        break;
    }
    case 3: {
        struct chan_slot *s = chan_mine();
        hs_chan_info info;
        if (s)
            TR(hs_chan_info_get(&s->c, &info));
        break;
    }
    case 4: {
        struct chan_slot *s = chan_mine();
        hs_chan_stats st;
        if (s)
            TR(hs_chan_stats_get(&s->c, &st));
        break;
    }
    default: {
        struct chan_slot *s = chan_mine();
        if (s) {
            s->busy = 1;
            TR(hs_chan_end_sleep(s->c.end, rd_timeout()));
            s->busy = 0;
        } else {
            TR(hs_chan_end_wake(pick(&fz.caps)));
        }
        break;
    }
    }
}

static void op_topic(void)
{
    uint8_t b = rd8();
    hs_cap_t cap = (hs_cap_t)pick(&fz.caps);
    switch (b % 3) {
    case 0: {
        hs_topic_attr a = {.slots = 1u << (rd8() % 6),
                           .msg_max = 1 + rd8(),
                           .overflow = 1 + rd8() % 5};
        if (TR(hs_topic_create(&a, &cap)) == HS_OK)
            remember(&fz.caps, cap);
        break;
    }
    case 1:
        TR(hs_topic_destroy(cap));
        break;
    default: {
        hs_topic_info info;
        TR(hs_topic_info_get(cap, &info));
        break;
    }
    }
}

static void op_topic_sub(void)
{
    uint8_t b = rd8();
    struct sub_slot *s = &fz.subs[(b >> 2) % SUBS];
    int mine = s->used && !s->busy && s->owner == hs_proc_self();
    switch (b & 3) {
    case 0: {
        hs_cap_t cap = (hs_cap_t)pick(&fz.caps);
        if (!s->used && TR(hs_topic_subscribe(cap, 0, &s->s)) == HS_OK) {
            s->used = 1;
            s->busy = 0;
            s->owner = hs_proc_self();
        }
        break;
    }
    case 1:
        if (mine) {
            TR(hs_topic_unsubscribe(&s->s));
            s->used = 0;
        }
        break;
    case 2: {
        uint8_t buf[BUF_MAX];
        size_t len, size = rd8() * 2u;
        hs_time_t t = rd_timeout();
        if (mine) {
            s->busy = 1;
            TR(hs_topic_recv(&s->s, buf, size, &len, t));
            s->busy = 0;
        }
        break;
    }
    default: {
        hs_topic_sub_info info;
        if (mine)
            TR(hs_topic_sub_info_get(&s->s, &info));
        break;
    }
    }
}

static void op_topic_pub(void)
{
    uint8_t b = rd8();
    struct pub_slot *p = &fz.pubs[(b >> 2) % PUBS];
    int mine = p->used && !p->busy && p->owner == hs_proc_self();
    switch (b & 3) {
    case 0: {
        hs_cap_t cap = (hs_cap_t)pick(&fz.caps);
        if (!p->used && TR(hs_topic_pub_init(&p->p, cap)) == HS_OK) {
            p->used = 1;
            p->busy = 0;
            p->owner = hs_proc_self();
        }
        break;
    }
    case 1:
        if (mine) {
            TR(hs_topic_pub_destroy(&p->p));
            p->used = 0;
        }
        break;
    default: {
        uint8_t buf[300];
        size_t len = rd16() % sizeof buf;
        memset(buf, b, sizeof buf);
        hs_topic_sent sent;
        if (mine) {
            p->busy = 1;
            TR(hs_topic_publish(&p->p, buf, len, &sent));
            p->busy = 0;
        }
        break;
    }
    }
}

/* ---- memory ------------------------------------------------------------ */

static void op_mem(enum op op)
{
    uint64_t va = rd_addr();
    switch (op) {
    case OP_MEM_MAP: {
        uint64_t len = rd_len();
        unsigned prot = rd_prot();
        if (TR(hs_mem_map(va, len, prot, rd_page_size())) == HS_OK)
            remember(&fz.addrs, va);
        break;
    }
    case OP_MEM_UNMAP:
        TR(hs_mem_unmap(va, rd_len()));
        break;
    default: {
        uint64_t len = rd_len();
        TR(hs_mem_protect(va, len, rd_prot()));
        break;
    }
    }
}

static void op_mem_access(void)
{
    uint8_t buf[BUF_MAX];
    uint64_t va = rd_addr() + (rd8() & 0x3f) * 64;
    uint8_t b = rd8();
    size_t len = b & 0x80 ? rd16() % (BUF_MAX + 1) : 1 + (b & 0x3f);
    memset(buf, b, sizeof buf);
    switch ((b >> 2) % 6) {
    case 0:
        TR(hs_mem_read(va, buf, len));
        break;
    case 1:
        TR(hs_mem_write(va, buf, len));
        break;
    case 2:
        TR(hs_mem_probe(va, len, rd8() & 7));
        break;
    case 3: {
        void *p = NULL;
        unsigned access = rd8() & 7;
        /* The pointer is used at once, while the mapping surely lasts. */
        if (TR(hs_mem_ptr(va, len, access, &p)) == HS_OK && len > 0) {
            if (access & HS_PROT_WRITE)
                memset(p, b, len);
            else
                memcpy(buf, p, len);
        }
        break;
    }
    default: {
        hs_mem_info info;
        TR(hs_mem_query(b & 1 ? pick(&fz.pids) : 0, va, &info));
        break;
    }
    }
}

static void op_mem_pager(void)
{
    uint8_t b = rd8();
    switch (b % 3) {
    case 0:
        TR(hs_mem_pager_set(b & 4 ? 0 : pick(&fz.ports)));
        break;
    case 1: {
        hs_pagefault_t pf = pick(&fz.pfs);
        uint64_t src = rd8() == 0xff ? HS_PF_NOPAGE : rd_addr();
        unsigned mode = rd8() % 5;
        TR(hs_mem_fault_resolve(pf, src, mode, rd8() & 7));
        break;
    }
    default: {
        hs_pagefault_t pf = pick(&fz.pfs);
        TR(hs_mem_fault_pass(pf, pick(&fz.ports)));
        break;
    }
    }
}

static const char *const sp_names[] = {"s0", "s1", "", NULL,
                                       "0123456789012345678901234567890123"};

static void op_portal(void)
{
    uint8_t b = rd8();
    if (b & 0x80) {
        hs_portal_t p = pick(&fz.portals);
        if (b & 0x40) {
            TR(hs_portal_destroy(p));
        } else {
            hs_portal_info info;
            TR(hs_portal_info_get(p, &info));
        }
        return;
    }
    static const unsigned types[] = {
        HS_PORTAL_ANON, HS_PORTAL_COW, HS_PORTAL_SHARE | HS_PORTAL_ANON,
        HS_PORTAL_SHARE, HS_PORTAL_SHARE | HS_PORTAL_COW, HS_PORTAL_DIRECT,
        HS_PORTAL_SPECIAL, HS_PORTAL_SHARE | HS_PORTAL_DIRECT,
    };
    hs_portal_req req;
    memset(&req, 0, sizeof req);
    req.type = b & 0x40 ? rd8() & 0x1f : types[b & 7];
    req.prot = rd_prot();
    req.length = b & 0x20 ? rd_len() : (1 + rd8() % 4) * HS_PAGE_4K;
    req.share.identifier = sp_names[rd8() % 5];
    req.share.create = b & 0x10 ? 1 : 0;
    req.chain.name = rd_port_name();
    req.chain.message = rd8() & 1 ? "msg" : NULL;
    req.morphology.addr = rd_addr();
    req.morphology.src = rd_addr();
    req.morphology.paddr = b & 8 ? pick(&fz.paddrs) + rd8() * HS_PAGE_4K
                                 : rd64();
    hs_portal_t out = 0;
    if (TR(hs_portal(&req, b == 0x3f ? NULL : &out)) == HS_OK) {
        remember(&fz.portals, out);
        remember(&fz.addrs, req.morphology.addr);
    }
}

static void op_sp(void)
{
    uint8_t b = rd8();
    uint64_t addr = rd_addr();
    uint8_t buf[64];
    memset(buf, b, sizeof buf);
    uint64_t off = b & 0x40 ? rd64() : rd8();
    size_t len = 1 + (b >> 3) % sizeof buf;
    switch (b & 3) {
    case 0:
        TR(hs_sp_read(addr, off, buf, len));
        break;
    case 1:
        TR(hs_sp_write(addr, off, buf, len));
        break;
    default:
        /* Documented to yield until the holder lets go: only while every
         * thread has one priority (see the top of the file). */
        if (!fz.prio_changed && TR(hs_sp_lock(addr)) == HS_OK) {
            if (b & 4)
                TR(hs_sp_write(addr, off, buf, len));
            TR(hs_sp_unlock(addr));
        } else {
            TR(hs_sp_unlock(addr));
        }
        break;
    }
}

static void op_pages_send(void)
{
    uint8_t b = rd8();
    hs_pid_t pid = b & 0x80 ? pick(&fz.pids) : 0;
    uint32_t type = rd8() % 4;
    uint64_t va = rd_addr();
    uint64_t npages = b & 0x40 ? rd64() : 1 + rd8() % 8;
    unsigned flags = b & 0x20 ? rd8() : b & 0x1f;
    unsigned taken;
    TR(hs_pages_send(pid, type, va, npages, flags, rd_timeout(),
                        b & 1 ? &taken : NULL));
}

/* ---- notifications ----------------------------------------------------- */

/* A kernel slot (any process may install there), a protocol slot (core
 * servers only), or a slot that does not exist. */
static unsigned rd_slot(void)
{
    uint8_t b = rd8();
    if (b < 0x60)
        return HS_NOTIFY_KERNEL_FIRST + b % 3;
    if (b < 0xf8)
        return b % 8;
    return b & 1 ? HS_NOTIFY_SLOTS : b;
}

static void op_notify_install(void)
{
    uint8_t b = rd8();
    hs_tid_t tid = b & 1 ? pick(&fz.tids) : b & 2 ? hs_thread_self() : 0;
    unsigned slot = rd_slot();
    TR(hs_notify_install(tid, slot, b & 4 ? NULL : notify_handler, NULL));
}

static void op_notify_send(void)
{
    uint64_t words[HS_NOTIFY_WORDS] = {0};
    uint8_t b = rd8();
    hs_tid_t tid = b & 1 ? hs_thread_self() : pick(&fz.tids);
    unsigned slot = rd_slot(), n = rd8() % 10;
    for (unsigned i = 0; i < HS_NOTIFY_WORDS; i++)
        words[i] = rd8();
    TR(hs_notify_send(tid, slot, b & 2 && n ? NULL : words, n,
                         (b >> 2) & 7));
}

static void op_notify_misc(void)
{
    uint8_t b = rd8();
    switch (b % 6) {
    case 0:
        TR(hs_notify_wait(rd_timeout()));
        break;
    case 1:
        TR(hs_notify_watch(pick(&fz.pids)));
        break;
    case 2:
        TR(hs_notify_stack_alloc_set(b & 8 ? NULL : notify_stack_alloc,
                                        (void *)(uintptr_t)(b >> 4)));
        break;
    case 3:
        TR(hs_notify_type_register(rd8() % 4,
                                      b & 8 ? NULL : notify_handler, NULL));
        break;
    case 4: {
        uint64_t words[HS_NOTIFY_WORDS] = {1, 2, 3, 4, 5, 6, 7, 8};
        hs_pid_t pid = pick(&fz.pids);
        uint32_t type = rd8() % 4;
        TR(hs_notify_type_send(pid, type, words, rd8() % 10,
                                  rd_timeout()));
        break;
    }
    default: {
        unsigned depth;
        TR(hs_notify_depth(&depth));
        if (b & 8)
            TR(hs_notify_return());
        else if (b & 0x10)
            TR(hs_notify_take());
        else if (b & 0x20)
            TR(hs_notify_abandon());
        break;
    }
    }
}

/* ---- threads and processes -------------------------------------------- */

static void rd_thread_attr(hs_thread_attr *a)
{
    memset(a, 0, sizeof *a);
    uint8_t b = rd8();
    if (b & 1) {
        a->priority = (int)(rd8() % 34) - 1;
        a->priority_set = b & 2;
        fz.prio_changed = 1;
    }
    /* Large enough for the harness's frames; or refused outright. */
    a->stack_size = b & 4 ? (b & 8 ? 1 : STACK) : 0;
    a->name = b & 0x10 ? "" : b & 0x20 ? "worker" : NULL;
}

static void op_thread(enum op op)
{
    switch (op) {
    case OP_THREAD_CREATE: {
        hs_thread_attr a;
        rd_thread_attr(&a);
        hs_tid_t tid = 0;
        if (TR(hs_thread_create(worker, NULL, rd8() & 1 ? &a : NULL, &tid)) ==
            HS_OK)
            remember(&fz.tids, tid);
        break;
    }
    case OP_THREAD_JOIN: {
        hs_tid_t tid = pick(&fz.tids);
        int v;
        if ((avoid & AVOID_JOIN_ASYNC) && is_async_tid(tid))
            break;
        TR(hs_thread_join(tid, rd_timeout(), rd8() & 1 ? &v : NULL));
        break;
    }
    default: {
        uint8_t b = rd8();
        hs_tid_t tid = b & 1 ? hs_thread_self() : pick(&fz.tids);
        int prio = (int)(rd8() % 34) - 1;
        if (b & 2) {
            fz.prio_changed = 1;
            TR(hs_thread_set_priority(tid, prio));
        } else {
            TR(hs_thread_get_priority(tid, b & 4 ? NULL : &prio));
        }
        break;
    }
    }
}

static void op_proc_spawn(void)
{
    static const char *const names[] = {"child", "kid", "", NULL,
                                        "a-name-that-is-far-too-long-here"};
    uint8_t b = rd8();
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    hs_quota q = hs_quota_unlimited();
    uint32_t caps[3];
    if (b & 1) {
        a.priority = (int)(rd8() % 34) - 1;
        a.priority_set = rd8() & 1;
        fz.prio_changed = 1;
    }
    a.stack_size = b & 2 ? STACK : 0;
    a.max_threads = rd8() % 4;
    if (b & 4) {
        uint8_t r = rd8();
        q.limit[r % HS_RES_COUNT] = rd8() % 8;
        if (r & 0x80)
            q.limit[HS_RES_MAPPED] = (uint64_t)rd8() * HS_PAGE_4K;
        a.quota = &q;
    }
    if (b & 8) {
        a.ncaps = rd8() % 4;
        for (unsigned i = 0; i < 3; i++)
            caps[i] = (uint32_t)pick(&fz.caps);
        a.caps = rd8() == 0xff ? NULL : caps;
    }
    a.privileged = (b >> 4) & 1;
    hs_pid_t pid = 0;
    const char *name = names[(b >> 5) % 5];
    if (TR(hs_proc_spawn(name, worker, NULL, b & 0x80 ? &a : NULL, &pid)) ==
        HS_OK)
        remember(&fz.pids, pid);
}

static void op_exit(void)
{
    uint8_t b = rd8();
    /* Rare: most of the stream should run, not end its threads. */
    if (b < 0xf0)
        return;
    if (b & 1)
        TR_EXIT(hs_proc_exit(b));
    TR_EXIT(hs_thread_exit(b));
}

static void op_irq(void)
{
    uint8_t b = rd8();
    hs_cap_t irq = (hs_cap_t)pick(&fz.caps);
    uint64_t bits;
    switch (b % 7) {
    case 0:
        if (TR(hs_irq_create(&irq)) == HS_OK)
            remember(&fz.caps, irq);
        break;
    case 1:
        TR(hs_irq_signal(irq, b & 0x80 ? 0 : rd8()));
        break;
    case 2:
        TR(hs_irq_wait(irq, rd_timeout(), b & 0x80 ? NULL : &bits));
        break;
    case 3:
        TR(hs_irq_poll(irq, &bits));
        break;
    case 4: {
        hs_tid_t tid = b & 0x80   ? HS_IRQ_UNBIND
                       : b & 0x40 ? pick(&fz.tids)
                                  : 0;
        TR(hs_irq_bind(irq, tid, rd8()));
        break;
    }
    case 5:
        TR(hs_irq_destroy(irq));
        break;
    default: {
        hs_irq_info info;
        TR(hs_irq_info_get(irq, &info));
        break;
    }
    }
}

static void op_factory(void)
{
    uint8_t b = rd8();
    hs_pid_t pid = b & 1 ? 0 : pick(&fz.pids);
    if (b & 2) {
        hs_account acc;
        TR(hs_factory_account(pid, &acc));
    } else {
        hs_res res = (hs_res)(rd8() % (HS_RES_COUNT + 1));
        uint64_t limit = b & 4 ? HS_UNLIMITED : rd8();
        TR(hs_factory_set_limit(pid, res, limit));
    }
}

static void op_hop_stacks(void)
{
    uint8_t b = rd8();
    if (b & 1) {
        TR(hs_proc_set_stack_alloc(b & 2 ? NULL : stack_alloc,
                                      (void *)(uintptr_t)(b >> 2)));
        return;
    }
    size_t size = b & 2 ? STACK : b & 4 ? 1 : 0;
    unsigned count = b & 0x80 ? HS_HOP_STACKS_MAX + 1 : (b >> 3) % 6;
    TR(hs_proc_set_hop_stacks(count, size));
}

static void backtrace_line(void *cookie, const char *text)
{
    (void)cookie;
    (void)text;
}

static void op_hop_info(void)
{
    uint8_t b = rd8();
    char name[HS_NAME_MAX + 1];
    int priv;
    switch (b % 5) {
    case 0: {
        hs_hop_level lv[3];
        unsigned n;
        TR(hs_hop_chain(b & 8 ? NULL : lv, (b >> 4) % 4, &n));
        break;
    }
    case 1:
        /* Unwinding is slow: now and then only. */
        if (b & 0x80)
            TR(hs_hop_backtrace(backtrace_line, NULL));
        break;
    case 2:
        TR(hs_proc_name(pick(&fz.pids), name, b & 8 ? 4 : sizeof name));
        break;
    case 3:
        TR(hs_proc_privileged(pick(&fz.pids), &priv));
        break;
    default:
        remember(&fz.pids, hs_proc_self());
        remember(&fz.tids, hs_thread_self());
        (void)hs_time_now();
        break;
    }
}

static void op_mem_stats(void)
{
    hs_mem_stats st;
    if (rd8() & 1) {
        TR(hs_mem_stats_get(&st));
    } else {
        uint64_t paddr;
        if (TR(hs_mem_device_create(HS_PAGE_4K * (1 + rd8() % 4),
                                    &paddr)) == HS_OK)
            remember(&fz.paddrs, paddr);
    }
}

static const char *const op_names[] = {
    "yield", "sleep", "port_create", "port_named", "port_lookup",
    "port_handler", "port_close", "port_spawn", "hop", "hop_async",
    "hop_call", "cp_resume", "gate_create", "ipc_send", "ipc_call",
    "ipc_receive", "ipc_wait", "ipc_reply", "ipc_reply_wait", "ipc_cancel",
    "cap_derive", "cap_revoke", "cap_delete", "cap_info", "cap_give",
    "chan_create", "chan_attach", "chan_send", "chan_recv", "chan_detach",
    "chan_admin", "topic", "topic_sub", "topic_pub", "mem_map",
    "mem_unmap", "mem_protect", "mem_access", "mem_pager", "portal", "sp",
    "pages_send", "notify_install", "notify_send", "notify_misc",
    "thread_create", "thread_join", "thread_prio", "proc_spawn",
    "proc_wait", "exit", "irq", "factory", "hop_stacks", "hop_info",
    "buffers", "serve", "mem_stats",
};
_Static_assert(sizeof op_names / sizeof op_names[0] == OP_COUNT,
               "one name per op");

static void run_op(void)
{
    size_t at = fz.pos;
    enum op op = (enum op)(rd8() % OP_COUNT);
    fz.ops++;
    if (trace_on) {
        trace_where();
        fprintf(stderr, "op %s (byte %zu)\n", op_names[op], at + 6);
    }
    switch (op) {
    case OP_YIELD: TR(hs_thread_yield()); break;
    case OP_SLEEP: TR(hs_thread_sleep(rd_timeout())); break;
    case OP_PORT_CREATE: case OP_PORT_NAMED: case OP_PORT_LOOKUP:
    case OP_PORT_HANDLER: case OP_PORT_CLOSE: case OP_PORT_SPAWN:
        op_port(op);
        break;
    case OP_HOP: case OP_HOP_ASYNC: case OP_HOP_CALL: op_hop(op); break;
    case OP_CP_RESUME: op_cp_resume(); break;
    case OP_GATE_CREATE: case OP_IPC_SEND: case OP_IPC_CALL:
    case OP_IPC_RECEIVE: case OP_IPC_WAIT: case OP_IPC_REPLY:
    case OP_IPC_REPLY_WAIT: case OP_IPC_CANCEL:
        op_ipc(op);
        break;
    case OP_CAP_DERIVE: case OP_CAP_REVOKE: case OP_CAP_DELETE:
    case OP_CAP_INFO: case OP_CAP_GIVE:
        op_cap(op);
        break;
    case OP_CHAN_CREATE: op_chan_create(); break;
    case OP_CHAN_ATTACH: op_chan_attach(); break;
    case OP_CHAN_SEND: op_chan_send(); break;
    case OP_CHAN_RECV: op_chan_recv(); break;
    case OP_CHAN_DETACH: op_chan_detach(); break;
    case OP_CHAN_ADMIN: op_chan_admin(); break;
    case OP_TOPIC: op_topic(); break;
    case OP_TOPIC_SUB: op_topic_sub(); break;
    case OP_TOPIC_PUB: op_topic_pub(); break;
    case OP_MEM_MAP: case OP_MEM_UNMAP: case OP_MEM_PROTECT: op_mem(op); break;
    case OP_MEM_ACCESS: op_mem_access(); break;
    case OP_MEM_PAGER: op_mem_pager(); break;
    case OP_PORTAL: op_portal(); break;
    case OP_SP: op_sp(); break;
    case OP_PAGES_SEND: op_pages_send(); break;
    case OP_NOTIFY_INSTALL: op_notify_install(); break;
    case OP_NOTIFY_SEND: op_notify_send(); break;
    case OP_NOTIFY_MISC: op_notify_misc(); break;
    case OP_THREAD_CREATE: case OP_THREAD_JOIN: case OP_THREAD_PRIO:
        op_thread(op);
        break;
    case OP_PROC_SPAWN: op_proc_spawn(); break;
    case OP_PROC_WAIT: {
        hs_pid_t pid = pick(&fz.pids);
        int status;
        TR(hs_proc_wait(pid, rd_timeout(), rd8() & 1 ? &status : NULL));
        break;
    }
    case OP_EXIT: op_exit(); break;
    case OP_IRQ: op_irq(); break;
    case OP_FACTORY: op_factory(); break;
    case OP_HOP_STACKS: op_hop_stacks(); break;
    case OP_HOP_INFO: op_hop_info(); break;
    case OP_BUFFERS: rd_buffers(); break;
    case OP_SERVE:
        /* Parks the thread for good: rarely. */
        if (rd8() >= 0xf8)
            TR(hs_proc_serve());
        break;
    case OP_MEM_STATS: op_mem_stats(); break;
    case OP_COUNT: break;
    }
}

static void run_ops(unsigned n)
{
    for (unsigned i = 0; i < n && !fz_done(); i++)
        run_op();
}

/* Every simulated thread and process runs this until the stream ends. */
static int worker(void *arg)
{
    (void)arg;
    remember(&fz.pids, hs_proc_self());
    remember(&fz.tids, hs_thread_self());
    while (!fz_done())
        run_op();
    if (trace_on) {
        trace_where();
        fprintf(stderr, "  worker returns\n");
    }
    return 0;
}

/* ---- one run per input -------------------------------------------------- */

static const uint64_t pools[] = {4u << 20, 16u << 20, 64u << 20, 8u << 20};
static const unsigned hop_stacks[] = {1, 2, 4, 16};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every setting comes from the input, none from the environment. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char *const vars[] = {
        "HOPSIM_SEED", "HOPSIM_SWITCH", "HOPSIM_LOG", "HOPSIM_STRATEGY",
        "HOPSIM_PCT_DEPTH", "HOPSIM_PCT_STEPS", "HOPSIM_FAULTS",
        "HOPSIM_DEADLOCK_DOT", "HOPSIM_TRACE", "HOPSIM_MSC",
        "HOPSIM_MEM_CHECK",
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    const char *a = getenv("FUZZ_API_AVOID");
    if (a && strstr(a, "join-async"))
        avoid |= AVOID_JOIN_ASYNC;
    if (a && strstr(a, "resume-null"))
        avoid |= AVOID_RESUME_NULL;
    const char *t = getenv("FUZZ_API_TRACE");
    trace_on = t && *t && *t != '0';
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6)
        return 0;
    memset(&fz, 0, sizeof fz);
    memset(&async_tids, 0, sizeof async_tids);
    fz.data = data + 6;
    fz.size = size - 6;

    hs_sim_config cfg = HS_SIM_DEFAULTS;
    unsigned seed = data[0] | (unsigned)data[1] << 8;
    cfg.seed = seed == 0xffff ? HS_SEED_NONE : seed;
    cfg.faults = data[2] & HS_FAULT_ALL;
    cfg.strategy = data[2] & 8 ? HS_STRATEGY_PCT : HS_STRATEGY_RANDOM;
    cfg.pct_depth = HS_PCT_DEPTH_DEFAULT;
    cfg.pct_steps = HS_PCT_STEPS_DEFAULT;
    cfg.mem_check = (data[2] >> 7) & 1;
    cfg.max_hop_depth = 1 + (data[3] & 0xf);
    cfg.hop_stacks = hop_stacks[(data[3] >> 4) & 3];
    cfg.switch_kind = data[3] & 0x40 ? HS_SWITCH_UCONTEXT : HS_SWITCH_FAST;
    cfg.fault_window = data[4];
    cfg.mem_size = pools[data[5] & 3];
    cfg.stack_size = STACK;
    cfg.max_procs = 64;
    cfg.max_threads = 256;
    cfg.max_ports = 256;
    cfg.max_caps = 4096;
    cfg.quiet = 1;
    /* log, trace, chart and dot paths stay NULL: their HOPSIM_*
     * variables are unset by LLVMFuzzerInitialize. */
    if (hs_sim_start(&cfg) != HS_OK)
        return 0;

    if (data[3] & 0x80) {
        uint64_t paddr;
        if (hs_mem_device_create(16 * HS_PAGE_4K, &paddr) == HS_OK)
            remember(&fz.paddrs, paddr);
    }
    unsigned nprocs = 1 + ((data[2] >> 5) & 3);
    for (unsigned i = 0; i < nprocs; i++) {
        hs_proc_attr a;
        memset(&a, 0, sizeof a);
        a.privileged = i == 0 && (data[2] & 0x10);
        hs_pid_t pid = 0;
        static const char *const names[] = {"p0", "p1", "p2", "p3"};
        if (hs_proc_spawn(names[i], worker, NULL, &a, &pid) == HS_OK)
            remember(&fz.pids, pid);
    }
    hs_status st = hs_sim_run();
    if (trace_on)
        fprintf(stderr, "run: %s after %u ops\n", hs_strerror(st), fz.ops);
    if (st == HS_EPANIC) {
        fprintf(stderr, "fuzz_api: the run ended in a kernel panic:\n%s\n",
                hs_sim_report());
        abort();
    }
    return 0;
}
