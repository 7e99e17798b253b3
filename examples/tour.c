/*
 * examples/tour.c - a short tour of hopsim, run by `make run`.
 *
 * Part 1: processes take turns on one simulated CPU.
 * Part 2: threads sleep in virtual time; the clock jumps, wall time does not.
 * Part 3: a parent waits for its child's exit status.
 * Part 4: a client hops into an echo server and back through a checkpoint.
 * Part 5: a hop chain three processes deep prints its backtrace across hops.
 * Part 6: a client finds an echo server through the name server and calls
 *         it over a gate: synchronous IPC with a capability passed in a
 *         message.
 * Part 7: a producer and a consumer stream records through a ring buffer
 *         in a share-point (a memory portal), with IRQ objects as wake-up
 *         notifications: "data" for the consumer, "space" for the
 *         producer (the FIFO of seed 001).
 * Each part ends with hopsim's summary line: seed, event count, event
 * hash; the first is followed by two lines saying what it is for.  Run
 * the tour twice, or with HOPSIM_SEED=n, and compare the lines.  If
 * hs_sim_start() refuses the configuration (a bad HOPSIM_* variable, a
 * --charts directory that cannot be written), it says why and the tour
 * stops there: every later part would be refused the same way.
 *
 * Every part ends whatever happens to a partner: a process may end early
 * (a seeded run may kill one, hopsim/fault.h), and no one waits for ever
 * on one that did.  A wait for a partner to appear or to speak has a
 * deadline; a call or a hop into a partner that ended fails at once.
 * Every part also works under any seed: a port's name appears (with
 * hs_port_create_named) one scheduling point before its server sets its
 * handler, so a client that hops in between gets HS_ENOHANDLER: it lets
 * the server run and hops again.
 *
 * `tour --charts DIR` also writes each part's message flow as an mscgen
 * chart, DIR/tour-<part>.msc (cfg.msc_path); `make charts` renders them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hopsim.h"
#include "servers/names.h"

/* How long a part waits for a partner to appear or to speak.  The
 * partners meet without taking virtual time (the FIFO's consumer takes a
 * millisecond a record), so only a partner that has ended makes anyone
 * wait this long. */
#define TOUR_WAIT (100 * HS_MSEC)

static void say(const char *who, const char *what)
{
    printf("  [%8" PRIu64 " ns] %-8s %s\n", hs_time_now(), who, what);
}

/* Part 1: two processes hand the CPU to each other with hs_thread_yield. */
static int player(void *arg)
{
    const char *name = arg;
    for (int i = 0; i < 3; i++) {
        say(name, i == 0 ? "serves" : "returns");
        hs_thread_yield();
    }
    return 0;
}

/* Part 2: threads of one process sleep different virtual times. */
static int napper(void *arg)
{
    hs_time_t ns = (hs_time_t)(uintptr_t)arg;
    char line[64];
    snprintf(line, sizeof line, "wakes after %" PRIu64 " ms",
             ns / HS_MSEC);
    hs_thread_sleep(ns);
    say("napper", line);
    return 0;
}

static int nappers(void *arg)
{
    (void)arg;
    hs_tid_t t[3];
    static const hs_time_t ms[3] = {30, 10, 20};
    for (int i = 0; i < 3; i++) {
        hs_thread_attr a = {.name = "napper"};
        hs_thread_create(napper, (void *)(uintptr_t)(ms[i] * HS_MSEC), &a,
                         &t[i]);
    }
    for (int i = 0; i < 3; i++)
        hs_thread_join(t[i], HS_NEVER, NULL);
    say("nappers", "all threads joined");
    return 0;
}

/* Part 3: a child works for a while and exits with a status. */
static int child(void *arg)
{
    (void)arg;
    hs_thread_sleep(5 * HS_MSEC);
    say("child", "exits with status 7");
    hs_proc_exit(7);
}

static int parent(void *arg)
{
    (void)arg;
    hs_pid_t pid;
    int status = -1;
    hs_proc_spawn("child", child, NULL, NULL, &pid);
    say("parent", "spawned a child, waits for it");
    hs_status st = hs_proc_wait(pid, HS_NEVER, &status);
    char line[64];
    snprintf(line, sizeof line, "child ended: %s, status %d",
             hs_strerror(st), status);
    say("parent", line);
    return 0;
}

/* Part 4: the echo server.  Its handler runs as the client's own thread,
 * in the server's process, on a stack the server lends. */
static void echo(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    char line[96], proc[HS_NAME_MAX + 1];
    hs_proc_name(hs_proc_self(), proc, sizeof proc);
    snprintf(line, sizeof line, "the client's thread now runs in '%s', "
             "mr[0]=%" PRIu64, proc, hs_mr(hop, 0));
    say("echo", line);
    hs_utcb()->mr[0] = hs_mr(hop, 0) + 1;      /* the reply, in place */
}

static int echo_server(void *arg)
{
    (void)arg;
    hs_port_t port;
    if (hs_port_create_named("echo", &port) != HS_OK ||
        hs_port_set_handler(port, echo, NULL) != HS_OK)
        return 1;
    return hs_proc_serve();
}

static int echo_client(void *arg)
{
    (void)arg;
    hs_port_t port;
    uint64_t reply = 0;
    if (hs_port_lookup("echo", TOUR_WAIT, &port) != HS_OK)
        return 1;
    char line[80], proc[HS_NAME_MAX + 1];
    hs_proc_name(hs_proc_self(), proc, sizeof proc);
    snprintf(line, sizeof line, "hops from '%s' with mr[0]=41", proc);
    say("client", line);
    hs_status st;
    do
        st = hs_hop_call(port, 41, &reply);
    while (st == HS_ENOHANDLER && hs_thread_yield() == HS_OK);
    snprintf(line, sizeof line, "back home: %s, reply %" PRIu64,
             hs_strerror(st), reply);
    say("client", line);
    return st == HS_OK ? 0 : 1;
}

/* Part 5: client -> front -> back; the innermost handler prints the
 * backtrace across both hops.  front's reply (mr[0]) is the status of its
 * own hop into back. */
static void print_line(void *cookie, const char *text)
{
    (void)cookie;
    printf("    %s\n", text);
}

static void back_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    hs_hop_level lv[4];
    unsigned n = 0;
    hs_hop_chain(lv, 4, &n);
    printf("  hop chain:");
    for (unsigned i = 0; i < n && i < 4; i++)
        printf(" %s%s", i ? "-> " : "", lv[i].proc_name);
    printf("\n  backtrace across hops:\n");
    hs_hop_backtrace(print_line, NULL);
}

static void front_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    hs_port_t back;
    hs_status st = hs_port_lookup("back", TOUR_WAIT, &back);
    if (st == HS_OK) {
        do
            st = hs_hop_call(back, hs_mr(hop, 0), NULL);
        while (st == HS_ENOHANDLER && hs_thread_yield() == HS_OK);
    }
    hs_utcb()->mr[0] = (uint64_t)st;
}

static int chain_server(void *arg)
{
    const char *name = arg;
    hs_port_t port;
    if (hs_port_create_named(name, &port) != HS_OK ||
        hs_port_set_handler(port, name[0] == 'f' ? front_handler
                                                 : back_handler,
                            NULL) != HS_OK)
        return 1;
    return hs_proc_serve();
}

static int chain_client(void *arg)
{
    (void)arg;
    hs_port_t front;
    if (hs_port_lookup("front", TOUR_WAIT, &front) != HS_OK)
        return 1;
    hs_status st;
    uint64_t reply = HS_EINVAL;
    do
        st = hs_hop_call(front, 1, &reply);
    while (st == HS_ENOHANDLER && hs_thread_yield() == HS_OK);
    return st == HS_OK && reply == HS_OK ? 0 : 1;
}

/* Part 6: init runs the name server in a thread of its own and gives each
 * child a capability to it with a label of its own.  The echo server
 * registers its gate as "echo"; the client looks it up and calls it.
 *
 * The echo server serves until its client says ECHO_QUIT, or until no
 * message comes for TOUR_WAIT: a client that ended without saying so must
 * not keep it waiting for ever.  A reply that fails (the caller gave up
 * on it, or ended) loses that caller its answer and nothing else: the
 * server goes on. */
enum { ECHO_WORDS = 4, ECHO_QUIT = 99 };

static int gate_echo_server(void *arg)
{
    (void)arg;
    hs_cap_t ns = 1;                /* its initial capability */
    hs_cap_t gate;
    if (hs_gate_create(0, 0, &gate) != HS_OK ||
        names_register(ns, "echo", gate) != HS_OK)
        return 1;
    say("echo", "registered \"echo\" with the name server");
    hs_utcb_t *u = hs_utcb();
    hs_status st;
    while ((st = hs_ipc_recv(gate, TOUR_WAIT, NULL)) == HS_OK &&
           hs_tag_label(u->tag) != ECHO_QUIT) {
        for (unsigned i = 0; i < hs_tag_words(u->tag); i++)
            u->mr[i] *= 2;          /* the echo doubles each word */
        u->tag = HS_TAG(0, hs_tag_words(u->tag));
        (void)hs_ipc_reply();
    }
    if (st != HS_OK)
        return 1;                   /* the client went quiet */
    u->tag = HS_TAG(0, 0);
    (void)hs_ipc_reply();
    return 0;
}

static int gate_echo_client(void *arg)
{
    (void)arg;
    hs_cap_t ns = 1;
    hs_cap_t echo;
    if (names_lookup(ns, "echo", HS_CAP_SEND, TOUR_WAIT, &echo) != HS_OK)
        return 1;
    say("client", "looked up \"echo\": a send capability");
    /* A call needs no deadline: the server answers every message it
     * takes, and a server that ends ends the call (HS_EPARTNER). */
    hs_utcb_t *u = hs_utcb();
    for (int round = 1; round <= 2; round++) {
        u->tag = HS_TAG(1, ECHO_WORDS);
        for (unsigned i = 0; i < ECHO_WORDS; i++)
            u->mr[i] = (uint64_t)(round * 10 + (int)i);
        hs_status st = hs_ipc_call(echo, HS_NEVER, HS_NEVER);
        char line[96];
        snprintf(line, sizeof line, "call %d: %s, reply %" PRIu64 " %" PRIu64
                 " %" PRIu64 " %" PRIu64, round, hs_strerror(st), u->mr[0],
                 u->mr[1], u->mr[2], u->mr[3]);
        say("client", line);
    }
    u->tag = HS_TAG(ECHO_QUIT, 0);
    return hs_ipc_call(echo, HS_NEVER, HS_NEVER) == HS_OK ? 0 : 1;
}

/* The gate is init's first capability (local name 1), with label 0,
 * the stop label. */
static int name_server(void *arg)
{
    (void)arg;
    return names_serve(1, 0) == HS_OK ? 0 : 1;
}

/* A child of init whose capability 1 is its own labelled copy of ns. */
static hs_status spawn_with_ns(const char *name, hs_entry_fn entry,
                               hs_cap_t ns, uint64_t label, hs_pid_t *pid)
{
    hs_cap_t mine;
    hs_status st = hs_cap_derive(ns, HS_CAP_SEND | HS_CAP_GRANT, label,
                                 &mine);
    hs_proc_attr a = { .caps = &mine, .ncaps = 1 };
    if (st == HS_OK)
        st = hs_proc_spawn(name, entry, NULL, &a, pid);
    return st;
}

/* init waits for both children, which end whatever happens to the other
 * (see above), then stops the name server.  If it cannot, it ends its
 * process, and with it the name server's thread. */
static int init(void *arg)
{
    (void)arg;
    hs_tid_t ns_thread;
    hs_cap_t ns;
    hs_pid_t server, client;
    /* The name server runs below init's priority: not before init blocks,
     * under any seed, and so not before ns (capability 1 of init's empty
     * space) exists. */
    hs_thread_attr a = { .name = "names", .priority = HS_PRIO_DEFAULT - 1 };
    if (hs_thread_create(name_server, NULL, &a, &ns_thread) != HS_OK ||
        hs_gate_create(ns_thread, 0, &ns) != HS_OK ||
        spawn_with_ns("echo-srv", gate_echo_server, ns, 1, &server) != HS_OK ||
        spawn_with_ns("client", gate_echo_client, ns, 2, &client) != HS_OK)
        hs_proc_exit(1);
    int cs = 1, ss = 1;
    hs_proc_wait(client, HS_NEVER, &cs);
    hs_proc_wait(server, HS_NEVER, &ss);
    say("init", "both children are done; stopping the name server");
    if (names_stop(ns) != HS_OK)
        hs_proc_exit(1);
    hs_thread_join(ns_thread, HS_NEVER, NULL);
    return (cs || ss) ? 1 : 0;
}

/* Part 7: the FIFO.  A share-point holds the ring: head and tail, then
 * FIFO_SLOTS records.  Every access goes through the share-point's
 * wrappers under its lock.  The IRQ bits accumulate, so a wake-up sent
 * before its receiver waits is not lost.  Each side waits for the other
 * at most TOUR_WAIT, a hundred times the consumer's pace: a side whose
 * partner has ended gives up instead of waiting for ever. */
enum { FIFO_SLOTS = 4, FIFO_RECORDS = 6 };
#define FIFO_LEN   (16 + FIFO_SLOTS * 8)
#define FIFO_VA    0x10000000ull    /* the parent's mapping */
#define FIFO_CAP_DATA  1            /* the children's initial capabilities */
#define FIFO_CAP_SPACE 2

/* Attach to the share-point "fifo" at va (each process picks its own). */
static hs_status fifo_attach(uint64_t va, hs_portal_t *portal)
{
    hs_portal_req r = {
        .type = HS_PORTAL_SHARE, .prot = HS_PROT_READ | HS_PROT_WRITE,
        .share = { .identifier = "fifo", .create = 0 },
        .morphology = { .addr = va },
    };
    return hs_portal(&r, portal);
}

/* Under the lock: put v if there is room (*done 1). */
static hs_status fifo_put(uint64_t va, uint64_t v, int *done)
{
    uint64_t ht[2];
    hs_status st = hs_sp_lock(va);
    if (st == HS_OK)
        st = hs_sp_read(va, 0, ht, sizeof ht);
    *done = st == HS_OK && ht[0] - ht[1] < FIFO_SLOTS;
    if (*done) {
        st = hs_sp_write(va, 16 + (ht[0] % FIFO_SLOTS) * 8, &v, sizeof v);
        ht[0]++;
        if (st == HS_OK)
            st = hs_sp_write(va, 0, &ht[0], sizeof ht[0]);
    }
    hs_status u = hs_sp_unlock(va);
    return st == HS_OK ? u : st;
}

/* Under the lock: take the oldest record if any (*done 1). */
static hs_status fifo_get(uint64_t va, uint64_t *v, int *done)
{
    uint64_t ht[2];
    hs_status st = hs_sp_lock(va);
    if (st == HS_OK)
        st = hs_sp_read(va, 0, ht, sizeof ht);
    *done = st == HS_OK && ht[0] != ht[1];
    if (*done) {
        st = hs_sp_read(va, 16 + (ht[1] % FIFO_SLOTS) * 8, v, sizeof *v);
        ht[1]++;
        if (st == HS_OK)
            st = hs_sp_write(va, 8, &ht[1], sizeof ht[1]);
    }
    hs_status u = hs_sp_unlock(va);
    return st == HS_OK ? u : st;
}

static int producer(void *arg)
{
    (void)arg;
    uint64_t va = 0x20000000ull;
    hs_portal_t portal;
    hs_status st = fifo_attach(va, &portal);
    int full_said = 0;
    for (uint64_t i = 1; st == HS_OK && i <= FIFO_RECORDS; ) {
        int done;
        st = fifo_put(va, i * i, &done);
        if (st == HS_OK && done) {
            st = hs_irq_signal(FIFO_CAP_DATA, 1);
            i++;
        } else if (st == HS_OK) {
            if (!full_said++)
                say("producer", "the ring is full: waits for \"space\"");
            st = hs_irq_wait(FIFO_CAP_SPACE, TOUR_WAIT, NULL);
        }
    }
    if (st == HS_OK)
        say("producer", "all records written");
    return st == HS_OK && hs_portal_destroy(portal) == HS_OK ? 0 : 1;
}

static int consumer(void *arg)
{
    (void)arg;
    uint64_t va = 0x30000000ull;
    hs_portal_t portal;
    hs_status st = fifo_attach(va, &portal);
    for (int n = 0; st == HS_OK && n < FIFO_RECORDS; ) {
        uint64_t v;
        int done;
        st = fifo_get(va, &v, &done);
        if (st == HS_OK && done) {
            char line[64];
            snprintf(line, sizeof line, "record %d: %" PRIu64, ++n, v);
            say("consumer", line);
            st = hs_irq_signal(FIFO_CAP_SPACE, 1);
            if (st == HS_OK)
                st = hs_thread_sleep(HS_MSEC);  /* a slow consumer */
        } else if (st == HS_OK) {
            st = hs_irq_wait(FIFO_CAP_DATA, TOUR_WAIT, NULL);
        }
    }
    return st == HS_OK && hs_portal_destroy(portal) == HS_OK ? 0 : 1;
}

/* The parent makes the share-point and both IRQ objects, and gives the
 * children the IRQs as capabilities 1 and 2. */
static int fifo_parent(void *arg)
{
    (void)arg;
    hs_portal_req r = {
        .type = HS_PORTAL_SHARE | HS_PORTAL_ANON,
        .prot = HS_PROT_READ | HS_PROT_WRITE, .length = FIFO_LEN,
        .share = { .identifier = "fifo", .create = 1 },
        .morphology = { .addr = FIFO_VA },
    };
    hs_portal_t portal;
    hs_cap_t irqs[2];
    hs_pid_t prod, cons;
    if (hs_portal(&r, &portal) != HS_OK ||
        hs_irq_create(&irqs[0]) != HS_OK || hs_irq_create(&irqs[1]) != HS_OK)
        return 1;
    hs_proc_attr a = { .caps = irqs, .ncaps = 2 };
    if (hs_proc_spawn("producer", producer, NULL, &a, &prod) != HS_OK ||
        hs_proc_spawn("consumer", consumer, NULL, &a, &cons) != HS_OK)
        return 1;
    say("fifo", "share-point \"fifo\": a ring of 4 slots");
    int ps = 1, cs = 1;
    hs_proc_wait(prod, HS_NEVER, &ps);
    hs_proc_wait(cons, HS_NEVER, &cs);
    return ps || cs || hs_portal_destroy(portal) != HS_OK;
}

/* After the first part: what the line hs_sim_run() has just printed (on
 * stderr, before this) is for. */
static void explain_summary(void)
{
    printf("  ^ each run ends with this line: the hash covers every event, "
           "so two runs that\n"
           "    print one hash did the same; HOPSIM_SEED=n make run replays "
           "seed n's schedule\n");
}

/* Where --charts puts the charts, or NULL; and the part running. */
static const char *charts_dir;
static int part;

static int run_part(const char *title, void (*spawn)(void))
{
    char chart[512];
    printf("%s\n", title);
    fflush(stdout);
    hs_sim_config cfg = HS_SIM_DEFAULTS;
    part++;
    if (charts_dir) {
        snprintf(chart, sizeof chart, "%s/tour-%d.msc", charts_dir, part);
        cfg.msc_path = chart;
    }
    hs_status st = hs_sim_start(&cfg);
    if (st != HS_OK)
        return -1;      /* hs_sim_start() has said why */
    spawn();
    st = hs_sim_run();
    fflush(stdout);
    if (st != HS_OK) {
        fprintf(stderr, "tour: run ended with %s\n%s", hs_strerror(st),
                hs_sim_report());
        return 1;
    }
    if (part == 1)
        explain_summary();
    return 0;
}

static void spawn_players(void)
{
    hs_proc_spawn("ping", player, "ping", NULL, NULL);
    hs_proc_spawn("pong", player, "pong", NULL, NULL);
}

static void spawn_nappers(void)
{
    hs_proc_spawn("nappers", nappers, NULL, NULL, NULL);
}

static void spawn_family(void)
{
    hs_proc_spawn("parent", parent, NULL, NULL, NULL);
}

static void spawn_echo(void)
{
    hs_proc_spawn("echo-srv", echo_server, NULL, NULL, NULL);
    hs_proc_spawn("client", echo_client, NULL, NULL, NULL);
}

static void spawn_init(void)
{
    hs_proc_spawn("init", init, NULL, NULL, NULL);
}

static void spawn_fifo(void)
{
    hs_proc_spawn("fifo", fifo_parent, NULL, NULL, NULL);
}

static void spawn_chain(void)
{
    hs_proc_spawn("front", chain_server, "front", NULL, NULL);
    hs_proc_spawn("back", chain_server, "back", NULL, NULL);
    hs_proc_spawn("client", chain_client, NULL, NULL, NULL);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--charts") == 0) {
        charts_dir = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: tour [--charts DIR]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    static const struct {
        const char *title;
        void (*spawn)(void);
    } parts[] = {
        {"1. two processes take turns on one CPU", spawn_players},
        {"\n2. threads sleep in virtual time", spawn_nappers},
        {"\n3. a parent waits for its child", spawn_family},
        {"\n4. a client hops into an echo server and back", spawn_echo},
        {"\n5. a backtrace across two hops", spawn_chain},
        {"\n6. a client finds an echo server by name and calls it over a "
         "gate", spawn_init},
        {"\n7. a producer and a consumer stream records through a "
         "share-point", spawn_fifo},
    };
    printf("hopsim tour\n\n");
    int bad = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        int r = run_part(parts[i].title, parts[i].spawn);
        if (r < 0)
            return 1;   /* a refused configuration: the next part's too */
        bad |= r;
    }
    return bad;
}
