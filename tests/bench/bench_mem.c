/*
 * tests/bench/bench_mem.c - memory transfers between two processes, end
 * to end through the API.
 *
 *   share_4k    a client calls a server through a gate with one memory
 *               item sharing a 4K page (HS_XFER_SHARE); the server's
 *               receive window takes it, the server unmaps it and replies
 *   share_2m    the same with one 2M page
 *   share_1g    the same with one 1G page (cfg.mem_size 2 GiB; the page
 *               is never touched, so it costs no host memory)
 *   move_2m     a 2M page moved to the server in the call and moved back
 *               in the reply (HS_XFER_MOVE both ways); per move, so half
 *               the round trip
 *
 * Sharing a 1G page is one page-table entry and one count, as for a 4K
 * page: share_1g / share_4k should stay near 1.  A move changes entries
 * only, so it should cost a tiny fraction of copying the 2 MiB
 * (base_memcpy_2m in bench_base).  The server process creates the gate,
 * spawns the client and gives it a send capability; calibration, warm-up
 * and every repetition run inside one simulation, timed on the client's
 * simulated thread.  The kernel runs as always: one CPU, every check on
 * (cfg.mem_check off, as by default).
 */
#include <stdio.h>

#include "bench.h"
#include "hopsim.h"

#define XFER 1
#define STOP 2

#define SRC ((uint64_t)1 << 30)         /* the client's page */
#define WIN ((uint64_t)1 << 32)         /* the server's window: 1G */
#define WIN_LOG2 30

struct mem_state {
    unsigned mode;              /* HS_XFER_SHARE or HS_XFER_MOVE */
    unsigned log2;              /* page size */
    hs_cap_t cap;               /* the client's send capability */
    hs_utcb_t *utcb;            /* the client's */
    uint64_t ops;               /* calls made, calibration included */
    uint64_t bad;
    hs_status first_error;
    struct bench_samples *out;
};

static struct bench_samples samples;

static void note_error(struct mem_state *s, hs_status st)
{
    if (!s->bad++)
        s->first_error = st;
}

static void loop_xfer(void *arg, uint64_t iters)
{
    struct mem_state *s = arg;
    hs_utcb_t *u = s->utcb;
    for (uint64_t i = 0; i < iters; i++) {
        u->tag = HS_TAG_ITEMS(XFER, 0, 1);
        u->mr[0] = HS_ITEM_MEM_WORD(s->mode, HS_PROT_READ | HS_PROT_WRITE);
        u->mr[1] = HS_FPAGE(SRC, s->log2);
        hs_status st = hs_ipc_call(s->cap, HS_NEVER, HS_NEVER);
        if (st != HS_OK)
            note_error(s, st);
    }
    s->ops += iters;
}

static int client(void *arg)
{
    struct mem_state *s = arg;
    s->utcb = hs_utcb();
    /* A move comes back where it was. */
    s->utcb->br[HS_BR_MEM] = HS_FPAGE(SRC, s->log2);
    hs_status st = hs_mem_map(SRC, (uint64_t)1 << s->log2,
                              HS_PROT_READ | HS_PROT_WRITE,
                              (uint64_t)1 << s->log2);
    if (st != HS_OK) {
        note_error(s, st);
    } else {
        struct bench_plan plan = BENCH_PLAN_DEFAULT;
        bench_measure(loop_xfer, s, &plan, s->out);
    }
    s->utcb->tag = HS_TAG(STOP, 0);
    st = hs_ipc_send(s->cap, HS_NEVER);
    if (st != HS_OK)
        note_error(s, st);
    return 0;
}

/* Take each page into the window; unmap a shared one, send a moved one
 * back in the reply. */
static void serve(struct mem_state *s)
{
    hs_utcb_t *u = hs_utcb();
    u->br[HS_BR_MEM] = HS_FPAGE(WIN, WIN_LOG2);
    hs_status st = hs_ipc_wait(HS_NEVER, NULL);
    while (st == HS_OK && hs_tag_label(u->tag) == XFER) {
        uint64_t landed = u->mr[1];
        if (s->mode == HS_XFER_MOVE) {
            u->tag = HS_TAG_ITEMS(0, 0, 1);
            u->mr[0] = HS_ITEM_MEM_WORD(HS_XFER_MOVE,
                                        HS_PROT_READ | HS_PROT_WRITE);
        } else {
            st = hs_mem_unmap(hs_fpage_base(landed), hs_fpage_size(landed));
            u->tag = HS_TAG(0, 0);
        }
        if (st == HS_OK)
            st = hs_ipc_reply_wait(HS_NEVER, NULL);
    }
    if (st != HS_OK)
        note_error(s, st);
}

static int server(void *arg)
{
    struct mem_state *s = arg;
    hs_cap_t gate = 0;
    hs_pid_t child = 0;
    hs_status st = hs_gate_create(0, 0, &gate);
    if (st == HS_OK)
        st = hs_proc_spawn("bench-client", client, s, NULL, &child);
    if (st == HS_OK)
        st = hs_cap_give(child, gate, HS_CAP_SEND, &s->cap);
    if (st != HS_OK) {
        note_error(s, st);
        return 1;
    }
    serve(s);
    return 0;
}

static void run_xfer(const char *name, unsigned mode, unsigned log2)
{
    struct mem_state s = {.mode = mode, .log2 = log2, .out = &samples};
    hs_sim_config cfg = bench_sim_config();
    cfg.mem_size = (uint64_t)2 << 30;
    hs_status st = hs_sim_start(&cfg);
    if (st == HS_OK)
        st = hs_proc_spawn("bench-server", server, &s, NULL, NULL);
    if (st == HS_OK)
        st = hs_sim_run();
    hs_sim_summary sum;
    if (!bench_sim_done(name, st, s.bad, s.first_error, "calls", &sum))
        return;
    /* A move goes there and back in each call: report one move. */
    if (mode == HS_XFER_MOVE)
        for (unsigned i = 0; i < samples.n; i++)
            samples.v[i] /= 2;
    char note[160];
    snprintf(note, sizeof note,
             "%s of a 2^%u-byte page, %llu calls in one run, %.2f kernel "
             "events per call", mode == HS_XFER_MOVE ? "move" : "share",
             log2, (unsigned long long)s.ops,
             (double)sum.events / (double)s.ops);
    char extra[40];
    snprintf(extra, sizeof extra, "\"page_log2\": %u", log2);
    bench_report(name, "ns/op", &samples, note, extra);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "bench_mem");
    if (bench_wanted("share_4k"))
        run_xfer("share_4k", HS_XFER_SHARE, 12);
    if (bench_wanted("share_2m"))
        run_xfer("share_2m", HS_XFER_SHARE, 21);
    if (bench_wanted("share_1g"))
        run_xfer("share_1g", HS_XFER_SHARE, 30);
    if (bench_wanted("move_2m"))
        run_xfer("move_2m", HS_XFER_MOVE, 21);
    return bench_finish();
}
