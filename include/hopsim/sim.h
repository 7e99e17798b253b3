/*
 * hopsim/sim.h - configuring, running and inspecting a simulation.
 *
 * A program (or a CMocka test) configures a simulation with hs_sim_start(),
 * spawns its first processes with hs_proc_spawn(), then calls hs_sim_run().
 * hs_sim_run() runs until every simulated thread has ended, the run
 * deadlocks, or the kernel panics; then it frees every stack and kernel
 * object and returns.  Afterwards hs_sim_summary() and hs_sim_report() tell
 * what happened, so a test asserts on its own thread after the run.
 *
 *   hs_sim_config cfg = HS_SIM_DEFAULTS;
 *   hs_sim_start(&cfg);
 *   hs_proc_spawn("server", server_main, NULL, NULL, NULL);
 *   hs_status st = hs_sim_run();
 *
 * Simulated CPUs are host threads named cpu0, cpu1, ...; with one CPU (the
 * default) cpu0 is the thread that calls hs_sim_run(), and the run is
 * deterministic: the same program with the same seed gives the same
 * interleaving, the same event stream and the same result, every time.
 */
#ifndef HOPSIM_SIM_H
#define HOPSIM_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "fault.h"
#include "status.h"
#include "time.h"

HS_BEGIN_DECLS

/* How simulated threads are switched.  Both give identical results;
 * HS_SWITCH_FAST saves only the registers the x86-64 ABI requires and
 * makes no system call, HS_SWITCH_UCONTEXT uses glibc swapcontext(). */
typedef enum hs_switch_kind {
    HS_SWITCH_DEFAULT = 0,  /* HOPSIM_SWITCH=fast|ucontext, else fast */
    HS_SWITCH_FAST,
    HS_SWITCH_UCONTEXT,
} hs_switch_kind;

/* Scheduling seeds.  Without a seed the scheduler runs the highest-priority
 * runnable thread, FIFO within a priority.  With one, at every scheduling
 * point it picks among the runnable threads of the highest runnable priority
 * (the running thread included) with a generator seeded by that value. */
#define HS_SEED_FROM_ENV  (~(uint64_t)0)      /* HOPSIM_SEED, else none */
#define HS_SEED_NONE      (~(uint64_t)0 - 1)  /* priority/FIFO order */
#define HS_SEED_MAX       (~(uint64_t)0 - 2)  /* largest usable seed */

/* How a seeded run chooses among the candidates at a scheduling point.
 * Priorities are honoured by both: the choice is among the runnable
 * threads of the highest runnable priority.
 *
 * HS_STRATEGY_RANDOM: uniformly at random.
 * HS_STRATEGY_PCT: probabilistic concurrency testing (Burckhardt et al.,
 *   ASPLOS 2010).  Every thread gets a random PCT rank when it is created,
 *   and the seed draws depth - 1 change points among the first pct_steps
 *   scheduling points.  The candidate of highest rank runs; at the i-th
 *   change point the running thread drops to rank depth - i, below every
 *   initial rank.  A bug that needs d ordering constraints between k
 *   scheduling points is found by one run with probability at least
 *   1 / (n * k^(d-1)) for n threads, so depth 1 to 3 finds most bugs.
 * Without a seed the strategy is not used (priority/FIFO order). */
typedef enum hs_strategy {
    HS_STRATEGY_DEFAULT = 0,  /* HOPSIM_STRATEGY=random|pct, else random */
    HS_STRATEGY_RANDOM,
    HS_STRATEGY_PCT,
} hs_strategy;

#define HS_PCT_DEPTH_MAX      64    /* largest PCT depth */
#define HS_PCT_DEPTH_DEFAULT  3
#define HS_PCT_STEPS_DEFAULT  1000  /* change points among the first
                                       1000 scheduling points */

/* One kernel event, as handed to cfg.event_fn.  The same stream is
 * counted and hashed into the summary, and written by HOPSIM_LOG. */
typedef struct hs_event {
    uint64_t seq;             /* event number, from 0 */
    hs_time_t time;           /* virtual time */
    const char *kind;         /* event name, e.g. "switch"; a string
                                 constant that outlives the run */
    uint64_t thread;          /* the thread it concerns (hs_tid_t), or 0 */
    uint64_t a, b;            /* event-specific values */
    const char *thread_name;  /* its name, or NULL; valid during the call */
} hs_event;

/* Receives every kernel event of a run, in order, inside the kernel (with
 * the kernel lock held, on the CPU that records it).  It must not call
 * hopsim. */
typedef void (*hs_event_fn)(void *cookie, const hs_event *ev);

/* Thread priorities: larger runs first. */
#define HS_PRIO_MIN      0
#define HS_PRIO_MAX      31
#define HS_PRIO_DEFAULT  16

/* Stack sizes accepted for simulated threads (rounded up to 4 KiB). */
#define HS_STACK_MIN     ((size_t)16 * 1024)
#define HS_STACK_MAX     ((size_t)64 * 1024 * 1024)

typedef struct hs_sim_config {
    unsigned ncpus;            /* simulated CPUs, 1..HS_CPUS_MAX */
    uint64_t seed;             /* a seed, HS_SEED_NONE or HS_SEED_FROM_ENV */
    hs_switch_kind switch_kind;
    size_t stack_size;         /* default stack of a simulated thread */
    /* Limits count kernel objects in existence: an ended thread counts
     * until it is joined, an ended process until it is reaped. */
    unsigned max_procs;        /* processes, whole system */
    unsigned max_threads;      /* threads, whole system */
    unsigned max_threads_per_proc; /* default per-process thread limit */
    unsigned max_ports;        /* ports, gates and IRQ objects, whole
                                  system */
    unsigned max_caps;         /* capabilities, whole system */
    unsigned max_hop_depth;    /* levels a thread may hop deep, 1..
                                  HS_HOP_DEPTH_MAX */
    unsigned hop_stacks;       /* default stacks a process lends to
                                  arriving threads at once */
    const char *log_path;      /* text event log, or NULL for HOPSIM_LOG */
    int quiet;                 /* nonzero: print neither the summary line
                                  nor the deadlock or panic report (they
                                  stay readable with hs_sim_report()) */

    /* Exploring schedules (seeded runs only; see hopsim/explore.h). */
    hs_strategy strategy;
    unsigned pct_depth;        /* 1..HS_PCT_DEPTH_MAX; 0: HOPSIM_PCT_DEPTH,
                                  else HS_PCT_DEPTH_DEFAULT */
    uint64_t pct_steps;        /* change points are drawn from scheduling
                                  points 1..pct_steps; 0: HOPSIM_PCT_STEPS,
                                  else HS_PCT_STEPS_DEFAULT */
    unsigned faults;           /* HS_FAULT_* bits (hopsim/fault.h), 0, or
                                  HS_FAULTS_FROM_ENV */
    unsigned fault_window;     /* faults fire among opportunities
                                  1..fault_window; 0: the default */
    hs_event_fn event_fn;      /* every kernel event, or NULL */
    void *event_cookie;        /* passed to event_fn */
    const char *deadlock_dot;  /* on deadlock, write the wait-for graph
                                  as a Graphviz dot file here; NULL:
                                  HOPSIM_DEADLOCK_DOT, else none */
    const char *trace_path;    /* the run as a Chrome trace-event JSON
                                  file (Perfetto, chrome://tracing): a
                                  track per thread, spans per process it
                                  is in, flows from hops and calls to
                                  their returns and replies, instants for
                                  timeouts, faults, page faults, deaths,
                                  IRQ signals and cancels, counters of
                                  live threads, free frames and page
                                  references at each size;
                                  NULL: HOPSIM_TRACE, else none */
    const char *msc_path;      /* the message flow as an mscgen chart:
                                  one entity per process, arcs for hops,
                                  returns, calls, sends, replies and IRQ
                                  signals, boxes for deaths, notes for
                                  timeouts; NULL: HOPSIM_MSC, else none */

    /* Memory (hopsim/mem.h). */
    uint64_t mem_size;         /* bytes of simulated physical memory: a
                                  multiple of 4 KiB, 4 KiB..
                                  HS_MEM_SIZE_MAX; reserved lazily, so
                                  a large pool costs nothing until its
                                  frames are touched */
    int mem_check;             /* nonzero: verify the whole memory state
                                  (hs_mem_check()) at every kernel exit
                                  and panic at the first difference;
                                  0: HOPSIM_MEM_CHECK=1 turns it on */
    unsigned max_map_nodes;    /* nodes of the mapping database (one per
                                  page derived from another process's,
                                  and per page mapped onward: see
                                  hs_mem_revoke), whole system; past it a
                                  transfer, resolve or split that would
                                  need more is refused with HS_ENOMEM;
                                  0: HS_MAP_NODES_DEFAULT */
} hs_sim_config;

#define HS_MAP_NODES_DEFAULT (1u << 20)

#define HS_MEM_SIZE_DEFAULT ((uint64_t)1 << 30)  /* 1 GiB */
#define HS_MEM_SIZE_MAX     ((uint64_t)1 << 40)  /* 1 TiB */

#define HS_CPUS_MAX 64
#define HS_HOP_DEPTH_MAX 1024

#define HS_SIM_DEFAULTS {                     \
    .ncpus = 1,                               \
    .seed = HS_SEED_FROM_ENV,                 \
    .switch_kind = HS_SWITCH_DEFAULT,         \
    .stack_size = 64 * 1024,                  \
    .max_procs = 4096,                        \
    .max_threads = 1u << 20,                  \
    .max_threads_per_proc = 65536,            \
    .max_ports = 65536,                       \
    .max_caps = 1u << 20,                     \
    .max_hop_depth = 16,                      \
    .hop_stacks = 16,                         \
    .log_path = NULL,                         \
    .quiet = 0,                               \
    .strategy = HS_STRATEGY_DEFAULT,          \
    .pct_depth = 0,                           \
    .pct_steps = 0,                           \
    .faults = HS_FAULTS_FROM_ENV,             \
    .fault_window = 0,                        \
    .event_fn = NULL,                         \
    .event_cookie = NULL,                     \
    .deadlock_dot = NULL,                     \
    .trace_path = NULL,                       \
    .msc_path = NULL,                         \
    .mem_size = HS_MEM_SIZE_DEFAULT,          \
    .mem_check = 0,                           \
}

/*
 * Prepare a simulation with the given configuration (NULL: the defaults).
 * Reads HOPSIM_SEED (a decimal number) when cfg->seed is HS_SEED_FROM_ENV,
 * HOPSIM_SWITCH when cfg->switch_kind is HS_SWITCH_DEFAULT, HOPSIM_LOG
 * when cfg->log_path is NULL, HOPSIM_STRATEGY (random|pct) when
 * cfg->strategy is HS_STRATEGY_DEFAULT, HOPSIM_PCT_DEPTH and
 * HOPSIM_PCT_STEPS when cfg->pct_depth / pct_steps are 0, HOPSIM_FAULTS
 * when cfg->faults is HS_FAULTS_FROM_ENV, HOPSIM_DEADLOCK_DOT when
 * cfg->deadlock_dot is NULL, HOPSIM_TRACE when cfg->trace_path is NULL
 * HOPSIM_MSC when cfg->msc_path is NULL, and HOPSIM_MEM_CHECK (1 turns
 * the check on, 0 or empty leaves it off) when cfg->mem_check is 0.
 * Errors: HS_ESTATE if a simulation is already started; HS_EINVAL for a bad
 * field (no CPUs, too many, stack size out of range, a zero limit, a hop
 * depth above HS_HOP_DEPTH_MAX, an unknown strategy, a PCT depth above
 * HS_PCT_DEPTH_MAX, unknown fault bits, faults without a seed, a fault
 * window above HS_FAULT_WINDOW_MAX, a mem_size that is 0, not a
 * multiple of 4 KiB or above HS_MEM_SIZE_MAX, an unparsable HOPSIM_* variable, a
 * log, trace or chart file that cannot be created);
 * HS_ENOMEM (also: the host refused the address space of the memory
 * pool).  On error nothing is started, and one line on stderr (whatever
 * cfg.quiet says) names the field or variable, its value and what is
 * allowed, e.g.
 *   hopsim: HOPSIM_SEED='abc' is not a number (want a decimal seed 0..N)
 *   hopsim: HOPSIM_SWITCH='fastest' is not one of fast, ucontext
 *   hopsim: HOPSIM_LOG='/no/e' cannot be written: No such file or directory
 *   hopsim: hs_sim_config.ncpus=0 is out of range (want 1..64)
 * A HOPSIM_DEADLOCK_DOT file that could not be written is only warned of:
 * the run starts, and a deadlock's report says the graph was not written.
 *
 * While the simulation runs, a fatal host signal in a simulated thread
 * (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) prints which thread and
 * process, the faulting address, the hop chain and the backtrace across
 * hops, then ends the process with that signal, as without hopsim.
 */
hs_status hs_sim_start(const hs_sim_config *cfg);

/*
 * Run the started simulation on the calling thread (cpu0) and ncpus - 1
 * more host threads, until it ends.  Returns:
 *   HS_OK       every simulated thread ended;
 *   HS_EDEADLK  no thread could run and no timer was pending, while some
 *               threads were still blocked; hs_sim_report() says who waited
 *               on what, and the wait-for cycle;
 *   HS_EPANIC   the kernel panicked (a broken invariant or a simulated
 *               stack overflow), or the memory check that ends every run
 *               (hs_mem_check()) found a difference; hs_sim_report()
 *               holds the message;
 *   HS_ESTATE   no simulation was started, or called from inside one.
 * In every case all stacks and kernel objects are freed before it returns,
 * and unless cfg.quiet is set one line is printed to stderr:
 *   hopsim: seed=<seed|none> events=<n> hash=<16 hex digits> vtime=<ns> status=<name>
 * followed, in a PCT run, by " strategy=pct depth=<d> steps=<k>", and in a
 * run with faults by " faults=" and each fault: <kind>@<n>[:<side>]
 * then :'<victim process>' if it fired, :unfired if not.
 */
hs_status hs_sim_run(void);

/* What the last finished run did. */
typedef struct hs_sim_summary {
    hs_status status;      /* what hs_sim_run() returned */
    uint64_t seed;         /* the seed used, or HS_SEED_NONE */
    uint64_t events;       /* kernel events recorded */
    uint64_t hash;         /* hash of the event stream */
    hs_time_t vtime;       /* virtual time at the end */
    uint64_t switches;     /* context switches */
    uint64_t direct_switches; /* of those, IPC hand-offs that returned
                                 straight to the program (hopsim/ipc.h) */
    uint64_t direct_hops;  /* checkpointed hops whose handler's return
                              went straight back to the program
                              (hopsim/hop.h) */
    uint64_t threads_created;
    uint64_t procs_created;
    uint64_t sched_points;  /* scheduling decisions (PCT's steps) */
    hs_strategy strategy;   /* as resolved (seeded runs) */
    unsigned pct_depth;     /* as resolved, PCT runs */
    uint64_t pct_steps;     /* as resolved, PCT runs */
    unsigned nfaults;       /* faults[0..nfaults-1] were active */
    hs_fault faults[HS_FAULT_KINDS];
} hs_sim_summary;

/* Copy the summary of the last finished run into *out.
 * Errors: HS_EINVAL (out is NULL), HS_ESTATE (no run has finished). */
hs_status hs_sim_summary_get(hs_sim_summary *out);

/* The report of the last finished run: the deadlock report after
 * HS_EDEADLK, the panic message after HS_EPANIC; and in any run, one line
 * for each thread killed by a page fault nobody handled (hopsim/mem.h),
 * so after HS_OK it is empty unless that happened.  The string stays
 * valid until the next hs_sim_start(). */
const char *hs_sim_report(void);

HS_END_DECLS

#endif
