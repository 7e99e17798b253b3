/*
 * tests/bench/bench_ipc.c - synchronous IPC through a gate, end to end
 * through the API.
 *
 *   call_roundtrip       a client thread loads 8 message registers, tags
 *                        them HS_TAG(ECHO, 8) and calls (hs_ipc_call, no
 *                        timeouts) through a gate capability into a thread
 *                        of another process, which adds one to each word
 *                        and answers with hs_ipc_reply_wait(); the client
 *                        checks the reply
 *   call_roundtrip_64w   the same with all 64 message registers
 *
 * The server process creates a gate bound to its thread, spawns the client
 * as its child and gives it a send-only capability to the gate; then it
 * waits for calls.  Calibration, the warm-up and every repetition happen
 * inside one simulation run, timed on the client's simulated thread with
 * the host clock; each repetition is N calls divided by N.  At the end the
 * client sends a STOP message and the server returns.  The kernel runs as
 * it always does: one CPU, default limits, every check on.
 *
 * Each line's client and server code is compiled for its word count, as
 * a real protocol's marshalling is, so the compiler unrolls the loads and
 * checks; a loop over a count read at run time cost more than the
 * kernel's own message copy.
 */
#include <stdio.h>

#include "bench.h"
#include "hopsim.h"

#define ECHO 1
#define STOP 2

struct call_state {
    unsigned words;             /* message registers per call and reply */
    hs_cap_t cap;               /* the client's send capability */
    hs_utcb_t *utcb;            /* the client's */
    uint64_t calls;             /* calls made, calibration included */
    uint64_t bad;               /* failed calls or wrong replies */
    hs_status first_error;
    struct bench_samples *out;
};

static struct bench_samples samples;

/* N calls with `words` a constant (call_loop_8(), call_loop_64()). */
static inline __attribute__((always_inline)) void
call_loop(struct call_state *s, uint64_t iters, unsigned words)
{
    hs_utcb_t *u = s->utcb;
    for (uint64_t i = 0; i < iters; i++) {
        for (unsigned w = 0; w < words; w++)
            u->mr[w] = i + w;
        u->tag = HS_TAG(ECHO, words);
        hs_status st = hs_ipc_call(s->cap, HS_NEVER, HS_NEVER);
        if (st != HS_OK || hs_tag_words(u->tag) != words ||
            u->mr[words - 1] != i + words) {
            if (!s->bad++)
                s->first_error = st;
        }
    }
    s->calls += iters;
}

static void call_loop_8(void *arg, uint64_t iters)
{
    call_loop(arg, iters, 8);
}

static void call_loop_64(void *arg, uint64_t iters)
{
    call_loop(arg, iters, HS_MR_COUNT);
}

static void note_error(struct call_state *s, hs_status st)
{
    if (!s->bad++)
        s->first_error = st;
}

static int client(void *arg)
{
    struct call_state *s = arg;
    s->utcb = hs_utcb();
    struct bench_plan plan = BENCH_PLAN_DEFAULT;
    bench_measure(s->words == 8 ? call_loop_8 : call_loop_64, s, &plan,
                  s->out);
    s->utcb->tag = HS_TAG(STOP, 0);
    hs_status st = hs_ipc_send(s->cap, HS_NEVER);
    if (st != HS_OK)
        note_error(s, st);
    return 0;
}

/* Answer every ECHO call of `words` words (a constant: serve_8(),
 * serve_64()) with its words plus one, until STOP; a call of another
 * length is answered with an empty message, which its client counts as
 * bad. */
static inline __attribute__((always_inline)) void
serve_words(struct call_state *s, unsigned words)
{
    hs_utcb_t *u = hs_utcb();
    hs_status st = hs_ipc_wait(HS_NEVER, NULL);
    while (st == HS_OK && hs_tag_label(u->tag) == ECHO) {
        if (hs_tag_words(u->tag) == words) {
            for (unsigned w = 0; w < words; w++)
                u->mr[w] += 1;
            u->tag = HS_TAG(0, words);
        } else {
            u->tag = HS_TAG(0, 0);
        }
        st = hs_ipc_reply_wait(HS_NEVER, NULL);
    }
    if (st != HS_OK)
        note_error(s, st);
}

static void serve_8(struct call_state *s)
{
    serve_words(s, 8);
}

static void serve_64(struct call_state *s)
{
    serve_words(s, HS_MR_COUNT);
}

static int server(void *arg)
{
    struct call_state *s = arg;
    hs_cap_t gate = 0;
    hs_pid_t child = 0;
    hs_status st = hs_gate_create(0, 0, &gate);
    if (st == HS_OK)
        st = hs_proc_spawn("bench-client", client, s, NULL, &child);
    /* The client first runs when this thread waits in serve(). */
    if (st == HS_OK)
        st = hs_cap_give(child, gate, HS_CAP_SEND, &s->cap);
    if (st != HS_OK) {
        note_error(s, st);
        return 1;
    }
    if (s->words == 8)
        serve_8(s);
    else
        serve_64(s);
    return 0;
}

static void run_call_roundtrip(const char *name, unsigned words)
{
    struct call_state s = {.words = words, .out = &samples};
    hs_sim_config cfg = bench_sim_config();
    hs_status st = hs_sim_start(&cfg);
    if (st == HS_OK)
        st = hs_proc_spawn("bench-server", server, &s, NULL, NULL);
    if (st == HS_OK)
        st = hs_sim_run();
    hs_sim_summary sum;
    if (!bench_sim_done(name, st, s.bad, s.first_error, "calls", &sum))
        return;
    char note[160];
    snprintf(note, sizeof note,
             "%u words, %llu calls in one run, %.2f kernel events per call",
             words, (unsigned long long)s.calls,
             (double)sum.events / (double)s.calls);
    char extra[40];
    snprintf(extra, sizeof extra, "\"words\": %u", words);
    bench_report(name, "ns/op", &samples, note, extra);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "bench_ipc");
    if (bench_wanted("call_roundtrip"))
        run_call_roundtrip("call_roundtrip", 8);
    if (bench_wanted("call_roundtrip_64w"))
        run_call_roundtrip("call_roundtrip_64w", HS_MR_COUNT);
    return bench_finish();
}
