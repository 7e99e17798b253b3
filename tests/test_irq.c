/*
 * tests/test_irq.c - IRQ (notification) objects: signal, wait and poll;
 * signals that accumulate under a burst; the order of waiters; IRQs bound
 * to a thread waking its open IPC wait (and not its closed one), before
 * queued senders; the binding rules; rights and bad input; cancelling a
 * wait; the owner process ending; the counts hs_irq_info_get() gives.
 *
 * Simulated threads record what they saw in the statics below (and check
 * statuses with EXPECT_ST); the test asserts after hs_sim_run().  Timing is
 * set with sleeps on the virtual clock, so every expected time is exact.
 * Every simulated thread ends, so every run must end with HS_OK.
 */
#include "testutil.h"

#define NREC 32
#define BAD 0xbadull

static hs_time_t when[NREC];
static uint64_t word[NREC];
static uint64_t tag[NREC];
static uint64_t label[NREC];
static hs_status status[NREC];
static hs_irq_info info[NREC];
static struct tu_log order;

/* Shared between the threads of one test. */
static hs_cap_t irq_cap, irq2_cap, gate_cap, given_cap;
static hs_tid_t tid[4];

static void reset(void)
{
    for (int i = 0; i < NREC; i++) {
        when[i] = HS_NEVER;
        word[i] = BAD;
        tag[i] = BAD;
        label[i] = BAD;
        status[i] = HS_STATUS_COUNT;
        memset(&info[i], 0xa5, sizeof info[i]);
    }
    irq_cap = irq2_cap = gate_cap = given_cap = 0;
    memset(tid, 0, sizeof tid);
    tu_log_reset(&order);
}

/* Reset the records, run entry as the root process "main": must end
 * HS_OK. */
static void run_main(hs_entry_fn entry)
{
    reset();
    tu_run_one(NULL, "main", entry, NULL, NULL);
}

/* Record into slot i the info of cap (which must be readable). */
static void info_at(int i, hs_cap_t cap)
{
    EXPECT_ST(hs_irq_info_get(cap, &info[i]), HS_OK);
}

/* An open wait: record its status, tag, mr[0], label and time in slot i. */
static void open_wait_at(int i, hs_time_t timeout)
{
    uint64_t l = BAD;
    status[i] = hs_ipc_wait(timeout, &l);
    when[i] = hs_time_now();
    tag[i] = hs_utcb()->tag;
    word[i] = hs_utcb()->mr[0];
    label[i] = l;
}

static void assert_info(const hs_irq_info *in, uint64_t pending,
                        uint64_t signals, uint64_t takes, hs_tid_t bound)
{
    assert_int_equal(in->pending, pending);
    assert_int_equal(in->signals, signals);
    assert_int_equal(in->takes, takes);
    assert_int_equal(in->bound, bound);
}

static int idle(void *arg)
{
    (void)arg;
    return 0;
}

/* ---- 1. signal, then wait -------------------------------------------- */

static int take_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_irq_create(&irq_cap), HS_OK);
    info_at(0, irq_cap);
    tu_sleep_until(100);
    status[0] = hs_irq_signal(irq_cap, 0x5);
    status[1] = hs_irq_signal(irq_cap, 0x4);    /* a bit already set */
    status[2] = hs_irq_signal(irq_cap, 0x100);
    info_at(1, irq_cap);
    status[3] = hs_irq_wait(irq_cap, HS_NEVER, &word[3]);
    when[3] = hs_time_now();
    info_at(2, irq_cap);
    status[4] = hs_irq_wait(irq_cap, HS_NOWAIT, &word[4]);
    when[4] = hs_time_now();
    /* Bits may be taken without reading them. */
    EXPECT_ST(hs_irq_signal(irq_cap, 0x2), HS_OK);
    status[5] = hs_irq_wait(irq_cap, HS_NEVER, NULL);
    status[6] = hs_irq_poll(irq_cap, &word[6]);
    info_at(3, irq_cap);
    return 0;
}

static void test_irq_signal_then_wait_takes_and_clears(void **state)
{
    (void)state;
    run_main(take_main);
    assert_info(&info[0], 0, 0, 0, 0);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(status[2], HS_OK);
    assert_info(&info[1], 0x105, 3, 0, 0);
    assert_int_equal(status[3], HS_OK);
    assert_int_equal(word[3], 0x105);
    assert_int_equal(when[3], 100);             /* did not block */
    assert_info(&info[2], 0, 3, 1, 0);
    assert_int_equal(status[4], HS_ETIMEOUT);
    assert_int_equal(when[4], 100);
    assert_int_equal(status[5], HS_OK);
    assert_int_equal(status[6], HS_OK);
    assert_int_equal(word[6], 0);               /* the NULL wait cleared */
    assert_info(&info[3], 0, 4, 2, 0);
}

/* ---- 2. blocking waits and their timeouts ---------------------------- */

static int timed_waiter(void *arg)
{
    (void)arg;
    status[0] = hs_irq_wait(irq_cap, HS_NEVER, &word[0]);
    when[0] = hs_time_now();
    status[1] = hs_irq_wait(irq_cap, 2000, &word[1]);      /* from 1500 */
    when[1] = hs_time_now();
    status[2] = hs_irq_wait(irq_cap, 1000, &word[2]);      /* from 2700 */
    when[2] = hs_time_now();
    status[3] = hs_irq_wait(irq_cap, HS_NOWAIT, &word[3]);
    when[3] = hs_time_now();
    /* The signal at 4000 found no stale waiter: its bits are pending. */
    tu_sleep_until(4500);
    status[4] = hs_irq_poll(irq_cap, &word[4]);
    status[5] = hs_irq_wait(irq_cap, HS_NEVER, &word[5]);
    when[5] = hs_time_now();
    return 0;
}

static int timed_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_irq_create(&irq_cap), HS_OK);
    hs_tid_t w = tu_mk(timed_waiter, NULL, 0);
    tu_sleep_until(1500);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x80), HS_OK);
    tu_sleep_until(2700);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x3), HS_OK);
    tu_sleep_until(4000);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x10), HS_OK);
    tu_sleep_until(5000);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x40), HS_OK);
    tu_join(w);
    info_at(0, irq_cap);
    return 0;
}

static void test_irq_wait_blocks_until_signal_or_timeout(void **state)
{
    (void)state;
    run_main(timed_main);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(word[0], 0x80);
    assert_int_equal(when[0], 1500);
    assert_int_equal(status[1], HS_OK);         /* before its expiry */
    assert_int_equal(word[1], 0x3);
    assert_int_equal(when[1], 2700);
    assert_int_equal(status[2], HS_ETIMEOUT);
    assert_int_equal(when[2], 2700 + 1000);
    assert_int_equal(status[3], HS_ETIMEOUT);
    assert_int_equal(when[3], 3700);
    assert_int_equal(status[4], HS_OK);
    assert_int_equal(word[4], 0x10);
    assert_int_equal(status[5], HS_OK);
    assert_int_equal(word[5], 0x40);
    assert_int_equal(when[5], 5000);
    assert_info(&info[0], 0, 4, 4, 0);
}

/* ---- 3. poll never blocks -------------------------------------------- */

static int poll_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_irq_create(&irq_cap), HS_OK);
    tu_sleep_until(100);
    status[0] = hs_irq_poll(irq_cap, &word[0]);
    when[0] = hs_time_now();
    info_at(0, irq_cap);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x9), HS_OK);
    status[1] = hs_irq_poll(irq_cap, &word[1]);
    status[2] = hs_irq_poll(irq_cap, &word[2]);
    when[2] = hs_time_now();
    info_at(1, irq_cap);
    return 0;
}

static void test_irq_poll_never_blocks(void **state)
{
    (void)state;
    run_main(poll_main);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(word[0], 0);
    assert_int_equal(when[0], 100);
    assert_info(&info[0], 0, 0, 0, 0);          /* an empty poll takes none */
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(word[1], 0x9);
    assert_int_equal(status[2], HS_OK);
    assert_int_equal(word[2], 0);
    assert_int_equal(when[2], 100);
    assert_info(&info[1], 0, 1, 1, 0);
}

/* ---- 4. a burst loses no bit ----------------------------------------- */

#define NSIG 64

static int burst_signaller(void *arg)
{
    int i = tu_arg_id(arg);
    uint64_t mine = (uint64_t)1 << i;
    uint64_t next = (uint64_t)1 << ((i + 1) % NSIG);
    /* While the waiter sleeps: each bit once, then again with a
     * neighbour's, in orders unlike creation. */
    tu_sleep_until(10 + (hs_time_t)((i * 37) % NSIG) * 5);
    EXPECT_ST(hs_irq_signal(irq_cap, mine), HS_OK);
    tu_sleep_until(500 + (hs_time_t)((i * 11) % NSIG) * 3);
    EXPECT_ST(hs_irq_signal(irq_cap, mine), HS_OK);
    EXPECT_ST(hs_irq_signal(irq_cap, next | mine), HS_OK);
    /* While it waits: all at one instant. */
    tu_sleep_until(3000);
    EXPECT_ST(hs_irq_signal(irq_cap, mine), HS_OK);
    return 0;
}

static int burst_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_irq_create(&irq_cap), HS_OK);
    hs_tid_t t[NSIG];
    for (int i = 0; i < NSIG; i++)
        t[i] = tu_mk(burst_signaller, tu_id_arg(i), 0);
    tu_sleep_until(2000);
    info_at(0, irq_cap);
    status[0] = hs_irq_wait(irq_cap, HS_NOWAIT, &word[0]);
    /* Take until every bit of the second burst has come. */
    uint64_t seen = 0;
    unsigned takes = 0;
    while (seen != ~(uint64_t)0 && takes < NSIG + 1) {
        uint64_t b = 0;
        if (EXPECT_ST(hs_irq_wait(irq_cap, HS_NEVER, &b), HS_OK) != HS_OK)
            break;
        seen |= b;
        takes++;
    }
    word[1] = seen;
    when[1] = hs_time_now();
    for (int i = 0; i < NSIG; i++)
        tu_join(t[i]);
    info_at(1, irq_cap);
    return 0;
}

static void test_irq_burst_loses_no_bit(void **state)
{
    (void)state;
    run_main(burst_main);
    assert_int_equal(info[0].pending, ~(uint64_t)0);
    assert_int_equal(info[0].signals, 3 * NSIG);
    assert_int_equal(info[0].takes, 0);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(word[0], ~(uint64_t)0);
    assert_int_equal(word[1], ~(uint64_t)0);
    assert_int_equal(when[1], 3000);
    assert_int_equal(info[1].pending, 0);
    assert_int_equal(info[1].signals, 4 * NSIG);
}

/* ---- 5. unbound waiters are served in the order they came ------------ */

/* Created in this order; they start waiting at these times.  The last to
 * come has the highest priority: the order is arrival, not priority. */
struct waiter { int id, prio; hs_time_t at; };
static const struct waiter waiters[3] = {
    { 0, 20, 300 }, { 1, 10, 100 }, { 2, 15, 200 },
};

static int fifo_waiter(void *arg)
{
    const struct waiter *w = arg;
    tu_sleep_until(w->at);
    status[w->id] = hs_irq_wait(irq_cap, HS_NEVER, &word[w->id]);
    when[w->id] = hs_time_now();
    tu_log_add(&order, w->id);
    return 0;
}

static int fifo_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_irq_create(&irq_cap), HS_OK);
    hs_tid_t t[3];
    for (int i = 0; i < 3; i++)
        t[i] = tu_mk(fifo_waiter, (void *)&waiters[i], waiters[i].prio);
    tu_sleep_until(1000);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x1), HS_OK);
    tu_sleep_until(2000);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x2), HS_OK);
    tu_sleep_until(3000);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x4), HS_OK);
    for (int i = 0; i < 3; i++)
        tu_join(t[i]);
    return 0;
}

static void test_irq_unbound_waiters_served_fifo(void **state)
{
    (void)state;
    run_main(fifo_main);
    static const int want[] = { 1, 2, 0 };
    assert_log(&order, want, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(status[i], HS_OK);
    assert_int_equal(word[1], 0x1);
    assert_int_equal(when[1], 1000);
    assert_int_equal(word[2], 0x2);
    assert_int_equal(when[2], 2000);
    assert_int_equal(word[0], 0x4);
    assert_int_equal(when[0], 3000);
}

/* ---- 6. a bound IRQ wakes an open wait ------------------------------- */

static int bound_server(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        open_wait_at(i, HS_NEVER);
    return 0;
}

static int bound_client(void *arg)
{
    (void)arg;
    tu_sleep_until(2000);
    tu_set_msg(5, 1, 123);
    status[10] = hs_ipc_send(gate_cap, HS_NEVER);
    return 0;
}

static int bound_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(bound_server, NULL, 0);
    tid[0] = s;
    EXPECT_ST(hs_gate_create(s, 7, &gate_cap), HS_OK);
    EXPECT_ST(hs_irq_create(&irq_cap), HS_OK);
    status[11] = hs_irq_bind(irq_cap, s, 99);
    info_at(0, irq_cap);
    hs_tid_t c = tu_mk(bound_client, NULL, 0);
    tu_sleep_until(1000);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x30), HS_OK);
    /* Unbound, the IRQ does not wake the open wait; bound again, the
     * pending bits reach it at once, with the new label. */
    tu_sleep_until(3000);
    status[12] = hs_irq_bind(irq_cap, HS_IRQ_UNBIND, 0);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x1), HS_OK);
    info_at(1, irq_cap);
    tu_sleep_until(4000);
    status[13] = hs_irq_bind(irq_cap, s, 55);
    tu_join(c);
    tu_join(s);
    info_at(2, irq_cap);
    return 0;
}

static void test_irq_bound_wakes_open_wait_and_tells_which(void **state)
{
    (void)state;
    run_main(bound_main);
    assert_int_equal(status[11], HS_OK);
    assert_info(&info[0], 0, 0, 0, tid[0]);
    /* The IRQ: flag, one word, the bits, the bound label. */
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(when[0], 1000);
    assert_true(tag[0] & HS_TAG_IRQ);
    assert_int_equal(hs_tag_words(tag[0]), 1);
    assert_int_equal(hs_tag_items(tag[0]), 0);
    assert_int_equal(word[0], 0x30);
    assert_int_equal(label[0], 99);
    /* The gate message: no flag, the gate's label. */
    assert_int_equal(status[10], HS_OK);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(when[1], 2000);
    assert_false(tag[1] & HS_TAG_IRQ);
    assert_int_equal(hs_tag_label(tag[1]), 5);
    assert_int_equal(hs_tag_words(tag[1]), 1);
    assert_int_equal(word[1], 123);
    assert_int_equal(label[1], 7);
    /* Unbound at 3000: the bits waited; bound at 4000: delivered. */
    assert_int_equal(status[12], HS_OK);
    assert_info(&info[1], 0x1, 2, 1, 0);
    assert_int_equal(status[13], HS_OK);
    assert_int_equal(status[2], HS_OK);
    assert_int_equal(when[2], 4000);
    assert_true(tag[2] & HS_TAG_IRQ);
    assert_int_equal(word[2], 0x1);
    assert_int_equal(label[2], 55);
    /* The server ended: the IRQ is unbound. */
    assert_info(&info[2], 0, 2, 2, 0);
}

/* ---- 7. pending bits come before queued senders ---------------------- */

static int first_server(void *arg)
{
    (void)arg;
    tu_sleep_until(1000);
    open_wait_at(0, HS_NEVER);
    open_wait_at(1, HS_NEVER);
    return 0;
}

static int first_client(void *arg)
{
    (void)arg;
    tu_sleep_until(100);
    tu_set_msg(0, 1, 42);
    status[10] = hs_ipc_send(gate_cap, HS_NEVER);
    when[10] = hs_time_now();
    return 0;
}

static int first_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(first_server, NULL, 0);
    EXPECT_ST(hs_gate_create(s, 7, &gate_cap), HS_OK);
    EXPECT_ST(hs_irq_create(&irq_cap), HS_OK);
    EXPECT_ST(hs_irq_bind(irq_cap, s, 9), HS_OK);
    hs_tid_t c = tu_mk(first_client, NULL, 0);
    tu_sleep_until(200);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x8), HS_OK);
    tu_join(c);
    tu_join(s);
    return 0;
}

static void test_irq_pending_bits_before_queued_senders(void **state)
{
    (void)state;
    run_main(first_main);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(when[0], 1000);
    assert_true(tag[0] & HS_TAG_IRQ);
    assert_int_equal(word[0], 0x8);
    assert_int_equal(label[0], 9);
    assert_int_equal(status[1], HS_OK);
    assert_false(tag[1] & HS_TAG_IRQ);
    assert_int_equal(word[1], 42);
    assert_int_equal(label[1], 7);
    assert_int_equal(status[10], HS_OK);
    assert_int_equal(when[10], 1000);
}

/* ---- 8. a closed wait is not woken ----------------------------------- */

static int closed_server(void *arg)
{
    (void)arg;
    uint64_t l = BAD;
    status[0] = hs_ipc_recv(gate_cap, 3000, &l);
    when[0] = hs_time_now();
    open_wait_at(1, HS_NOWAIT);
    return 0;
}

static int closed_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(closed_server, NULL, 0);
    tid[0] = s;
    EXPECT_ST(hs_gate_create(s, 7, &gate_cap), HS_OK);
    EXPECT_ST(hs_irq_create(&irq_cap), HS_OK);
    EXPECT_ST(hs_irq_bind(irq_cap, s, 9), HS_OK);
    tu_sleep_until(1000);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x4), HS_OK);
    tu_sleep_until(2000);
    info_at(0, irq_cap);
    tu_join(s);
    return 0;
}

static void test_irq_closed_wait_not_woken(void **state)
{
    (void)state;
    run_main(closed_main);
    assert_int_equal(status[0], HS_ETIMEOUT);
    assert_int_equal(when[0], 3000);
    assert_info(&info[0], 0x4, 1, 0, tid[0]);    /* bound, not taken */
    /* The next open wait takes the bits at once. */
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(when[1], 3000);
    assert_true(tag[1] & HS_TAG_IRQ);
    assert_int_equal(word[1], 0x4);
    assert_int_equal(label[1], 9);
}

/* ---- 9. binding: what is refused ------------------------------------- */

static hs_tid_t other_tid;

static int other_proc(void *arg)
{
    (void)arg;
    other_tid = hs_thread_self();
    tu_sleep_until(1000);
    return 0;
}

static int irq_waiter(void *arg)
{
    int i = tu_arg_id(arg);
    status[i] = hs_irq_wait(irq2_cap, HS_NEVER, &word[i]);
    when[i] = hs_time_now();
    return 0;
}

static int bindref_main(void *arg)
{
    (void)arg;
    hs_cap_t s = 0;
    EXPECT_ST(hs_irq_create(&irq_cap), HS_OK);
    EXPECT_ST(hs_irq_create(&irq2_cap), HS_OK);
    EXPECT_ST(hs_cap_derive(irq_cap, HS_CAP_SEND, 1, &s), HS_OK);
    hs_pid_t other = 0;
    EXPECT_ST(hs_proc_spawn("other", other_proc, NULL, NULL, &other), HS_OK);
    hs_tid_t gone = tu_mk(idle, NULL, 0);
    tu_join(gone);
    hs_tid_t w = tu_mk(irq_waiter, tu_id_arg(10), 0);
    tu_sleep_until(100);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x1), HS_OK);
    info_at(0, irq_cap);
    status[0] = hs_irq_bind(irq_cap, other_tid, 1);    /* other process */
    status[1] = hs_irq_bind(s, 0, 1);                  /* no HS_CAP_RECV */
    status[2] = hs_irq_bind(irq_cap, gone, 1);         /* joined thread */
    status[3] = hs_irq_bind(irq2_cap, 0, 1);           /* w waits on it */
    status[4] = hs_irq_bind(HS_CAP_NIL, 0, 1);
    info_at(1, irq_cap);
    info_at(2, irq2_cap);
    /* The waiter was not stranded. */
    EXPECT_ST(hs_irq_signal(irq2_cap, 0x2), HS_OK);
    tu_join(w);
    status[5] = hs_irq_bind(irq_cap, 0, 1);            /* now allowed */
    tid[0] = hs_thread_self();
    info_at(3, irq_cap);
    EXPECT_ST(hs_proc_wait(other, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_irq_bind_refusals_change_nothing(void **state)
{
    (void)state;
    run_main(bindref_main);
    assert_int_equal(status[0], HS_EPERM);
    assert_int_equal(status[1], HS_EPERM);
    assert_int_equal(status[2], HS_ESRCH);
    assert_int_equal(status[3], HS_ESTATE);
    assert_int_equal(status[4], HS_EBADCAP);
    assert_info(&info[0], 0x1, 1, 0, 0);
    assert_info(&info[1], 0x1, 1, 0, 0);
    assert_info(&info[2], 0, 0, 0, 0);
    assert_int_equal(status[10], HS_OK);
    assert_int_equal(word[10], 0x2);
    assert_int_equal(when[10], 100);
    assert_int_equal(status[5], HS_OK);
    assert_int_equal(info[3].bound, tid[0]);
}

/* ---- 10. a bound IRQ is its thread's alone --------------------------- */

static int bound_taker(void *arg)
{
    (void)arg;
    tu_sleep_until(300);
    status[10] = hs_irq_wait(irq_cap, HS_NEVER, &word[10]);
    when[10] = hs_time_now();
    tu_sleep_until(700);
    return 0;
}

static int outsider(void *arg)
{
    (void)arg;
    tu_sleep_until(200);
    info_at(0, irq_cap);
    status[0] = hs_irq_wait(irq_cap, HS_NOWAIT, &word[0]);
    status[1] = hs_irq_poll(irq_cap, &word[1]);
    status[2] = hs_irq_wait(irq_cap, HS_NEVER, &word[2]);
    when[2] = hs_time_now();
    info_at(1, irq_cap);
    tu_sleep_until(500);
    status[3] = hs_irq_poll(irq_cap, &word[3]);        /* unbound by then */
    return 0;
}

static int own_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_irq_create(&irq_cap), HS_OK);
    hs_tid_t w = tu_mk(bound_taker, NULL, 0);
    tid[0] = w;
    hs_tid_t x = tu_mk(outsider, NULL, 0);
    status[20] = hs_irq_bind(irq_cap, w, 5);
    tu_sleep_until(150);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x1), HS_OK);
    tu_sleep_until(400);
    status[21] = hs_irq_bind(irq_cap, HS_IRQ_UNBIND, 0);
    info_at(2, irq_cap);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x2), HS_OK);
    tu_sleep_until(600);
    status[22] = hs_irq_bind(irq_cap, w, 6);
    info_at(3, irq_cap);
    tu_sleep_until(800);                /* w ended at 700 */
    info_at(4, irq_cap);
    tu_join(w);
    tu_join(x);
    return 0;
}

static void test_irq_bound_only_its_thread_takes(void **state)
{
    (void)state;
    run_main(own_main);
    assert_int_equal(status[20], HS_OK);
    assert_info(&info[0], 0x1, 1, 0, tid[0]);
    assert_int_equal(status[0], HS_EPERM);
    assert_int_equal(status[1], HS_EPERM);
    assert_int_equal(status[2], HS_EPERM);
    assert_int_equal(when[2], 200);                    /* did not block */
    assert_info(&info[1], 0x1, 1, 0, tid[0]);          /* nothing taken */
    assert_int_equal(status[10], HS_OK);               /* the bound one */
    assert_int_equal(word[10], 0x1);
    assert_int_equal(when[10], 300);
    assert_int_equal(status[21], HS_OK);
    assert_info(&info[2], 0, 1, 1, 0);
    assert_int_equal(status[3], HS_OK);
    assert_int_equal(word[3], 0x2);
    assert_int_equal(status[22], HS_OK);
    assert_int_equal(info[3].bound, tid[0]);
    assert_int_equal(info[4].bound, 0);                /* it ended */
}

/* ---- 11. rights ------------------------------------------------------ */

static int rights_main(void *arg)
{
    (void)arg;
    hs_cap_t q = 0, s = 0, r = 0, g = 0;
    EXPECT_ST(hs_irq_create(&q), HS_OK);
    EXPECT_ST(hs_cap_derive(q, HS_CAP_SEND, 1, &s), HS_OK);
    EXPECT_ST(hs_cap_derive(q, HS_CAP_RECV, 2, &r), HS_OK);
    EXPECT_ST(hs_gate_create(0, 3, &g), HS_OK);
    EXPECT_ST(hs_irq_signal(q, 0x1), HS_OK);
    info_at(0, q);
    uint64_t b = BAD;
    hs_irq_info in;
    status[0] = hs_irq_signal(r, 0x2);
    status[1] = hs_irq_wait(s, HS_NOWAIT, &b);
    status[2] = hs_irq_poll(s, &b);
    status[3] = hs_irq_info_get(s, &in);
    status[4] = hs_irq_bind(s, 0, 0);
    /* A gate is not an IRQ ... */
    status[5] = hs_irq_signal(g, 0x2);
    status[6] = hs_irq_wait(g, HS_NOWAIT, &b);
    status[7] = hs_irq_poll(g, &b);
    status[8] = hs_irq_info_get(g, &in);
    status[9] = hs_irq_bind(g, 0, 0);
    /* ... nor an IRQ a gate. */
    tu_set_msg(0, 1, 0);
    status[10] = hs_ipc_send(q, HS_NOWAIT);
    word[10] = hs_utcb()->phase;
    tu_set_msg(0, 1, 0);
    status[11] = hs_ipc_call(q, HS_NOWAIT, HS_NOWAIT);
    status[12] = hs_ipc_recv(q, HS_NOWAIT, NULL);
    /* No such capability. */
    status[13] = hs_irq_signal(HS_CAP_NIL, 0x2);
    status[14] = hs_irq_signal(12345, 0x2);
    word[0] = b;
    info_at(1, q);
    /* The rights each call needs are enough. */
    status[15] = hs_irq_signal(s, 0x10);
    status[16] = hs_irq_wait(r, HS_NOWAIT, &word[16]);
    status[17] = hs_irq_poll(r, &word[17]);
    info_at(2, r);
    hs_cap_info ci;
    memset(&ci, 0, sizeof ci);
    EXPECT_ST(hs_cap_info_get(q, &ci), HS_OK);
    word[18] = (uint64_t)ci.kind;
    word[19] = ci.rights;
    EXPECT_ST(hs_cap_delete(s), HS_OK);
    status[18] = hs_irq_signal(s, 0x2);
    return 0;
}

static void test_irq_rights(void **state)
{
    (void)state;
    run_main(rights_main);
    assert_info(&info[0], 0x1, 1, 0, 0);
    for (int i = 0; i <= 12; i++)
        assert_int_equal(status[i], HS_EPERM);
    assert_int_equal(word[10], HS_PHASE_SEND);
    assert_int_equal(status[13], HS_EBADCAP);
    assert_int_equal(status[14], HS_EBADCAP);
    assert_int_equal(word[0], BAD);
    assert_info(&info[1], 0x1, 1, 0, 0);       /* refusals changed nothing */
    assert_int_equal(status[15], HS_OK);
    assert_int_equal(status[16], HS_OK);
    assert_int_equal(word[16], 0x11);
    assert_int_equal(status[17], HS_OK);
    assert_int_equal(word[17], 0);
    assert_info(&info[2], 0, 2, 1, 0);
    assert_int_equal(word[18], HS_CAP_KIND_IRQ);
    assert_int_equal(word[19], HS_CAP_ALL);
    assert_int_equal(status[18], HS_EBADCAP);
}

/* ---- 12. bad input --------------------------------------------------- */

static hs_account acct[2];

static int badin_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_irq_create(&irq_cap), HS_OK);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x3), HS_OK);
    tu_sleep_until(100);
    info_at(0, irq_cap);
    EXPECT_ST(hs_factory_account(0, &acct[0]), HS_OK);
    status[0] = hs_irq_create(NULL);
    status[1] = hs_irq_signal(irq_cap, 0);
    status[2] = hs_irq_poll(irq_cap, NULL);
    status[3] = hs_irq_info_get(irq_cap, NULL);
    status[4] = hs_irq_wait(irq_cap, HS_TIMEOUT_MAX + 1, &word[4]);
    status[5] = hs_irq_wait(irq_cap, HS_NEVER - 1, &word[5]);
    EXPECT_ST(hs_factory_account(0, &acct[1]), HS_OK);
    info_at(1, irq_cap);
    when[0] = hs_time_now();
    return 0;
}

static void test_irq_bad_input(void **state)
{
    (void)state;
    hs_cap_t c = 0;
    uint64_t b = 0;
    hs_irq_info in;
    /* Outside a simulated thread. */
    assert_int_equal(hs_irq_create(&c), HS_ESTATE);
    assert_int_equal(hs_irq_signal(1, 1), HS_ESTATE);
    assert_int_equal(hs_irq_wait(1, HS_NOWAIT, &b), HS_ESTATE);
    assert_int_equal(hs_irq_poll(1, &b), HS_ESTATE);
    assert_int_equal(hs_irq_bind(1, 0, 0), HS_ESTATE);
    assert_int_equal(hs_irq_info_get(1, &in), HS_ESTATE);

    run_main(badin_main);
    for (int i = 0; i <= 5; i++)
        assert_int_equal(status[i], HS_EINVAL);
    assert_int_equal(word[4], BAD);
    assert_int_equal(word[5], BAD);
    assert_info(&info[0], 0x3, 1, 0, 0);
    assert_info(&info[1], 0x3, 1, 0, 0);
    assert_memory_equal(&acct[0], &acct[1], sizeof acct[0]);
    assert_int_equal(when[0], 100);
}

/* ---- 13. cancelling a wait ------------------------------------------- */

static int cancelled_waiter(void *arg)
{
    (void)arg;
    status[0] = hs_irq_wait(irq_cap, HS_NEVER, &word[0]);
    when[0] = hs_time_now();
    tu_sleep_until(700);
    status[1] = hs_irq_poll(irq_cap, &word[1]);
    tu_sleep_until(1000);
    status[2] = hs_irq_wait(irq_cap, 5000, &word[2]);
    when[2] = hs_time_now();
    /* The cancelled wait's timer (due at 6000) is gone: this wait lasts
     * until the signal at 8000. */
    status[3] = hs_irq_wait(irq_cap, HS_NEVER, &word[3]);
    when[3] = hs_time_now();
    return 0;
}

static int cancel_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_irq_create(&irq_cap), HS_OK);
    hs_tid_t w = tu_mk(cancelled_waiter, NULL, 0);
    tu_sleep_until(500);
    status[10] = hs_ipc_cancel(w);
    tu_sleep_until(600);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x1), HS_OK);
    tu_sleep_until(800);
    status[11] = hs_ipc_cancel(w);      /* in a plain sleep */
    tu_sleep_until(1200);
    status[12] = hs_ipc_cancel(w);
    tu_sleep_until(8000);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x2), HS_OK);
    tu_join(w);
    info_at(0, irq_cap);
    return 0;
}

static void test_irq_cancel_wait(void **state)
{
    (void)state;
    run_main(cancel_main);
    assert_int_equal(status[10], HS_OK);
    assert_int_equal(status[0], HS_ECANCELED);
    assert_int_equal(when[0], 500);
    assert_int_equal(word[0], BAD);
    assert_int_equal(status[1], HS_OK);         /* the bits waited */
    assert_int_equal(word[1], 0x1);
    assert_int_equal(status[11], HS_ESTATE);
    assert_int_equal(status[12], HS_OK);
    assert_int_equal(status[2], HS_ECANCELED);
    assert_int_equal(when[2], 1200);
    assert_int_equal(status[3], HS_OK);
    assert_int_equal(word[3], 0x2);
    assert_int_equal(when[3], 8000);
    assert_info(&info[0], 0, 2, 2, 0);
}

/* ---- 14. the owner process ends -------------------------------------- */

static int holder_child(void *arg)
{
    (void)arg;
    hs_irq_info in;
    uint64_t b = BAD;
    tu_sleep_until(100);
    status[0] = hs_irq_info_get(given_cap, &in);
    status[1] = hs_irq_signal(given_cap, 0x1);
    status[2] = hs_irq_wait(given_cap, HS_NOWAIT, &word[2]);
    status[3] = hs_irq_wait(given_cap, HS_NEVER, &word[3]);
    when[3] = hs_time_now();
    status[4] = hs_irq_signal(given_cap, 0x1);
    status[5] = hs_irq_wait(given_cap, HS_NOWAIT, &b);
    status[6] = hs_irq_poll(given_cap, &b);
    status[7] = hs_irq_info_get(given_cap, &in);
    hs_cap_info ci;
    status[8] = hs_cap_info_get(given_cap, &ci);
    return 0;
}

static int owner_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_irq_create(&irq_cap), HS_OK);
    hs_pid_t c = 0;
    EXPECT_ST(hs_proc_spawn("holder", holder_child, NULL, NULL, &c), HS_OK);
    status[10] = hs_cap_give(c, irq_cap, HS_CAP_SEND | HS_CAP_RECV,
                             &given_cap);
    tu_sleep_until(1000);
    info_at(0, irq_cap);
    return 0;                           /* the owner ends; c lives on */
}

static void test_irq_owner_ends_waiter_wakes_partner(void **state)
{
    (void)state;
    run_main(owner_main);
    assert_int_equal(status[10], HS_OK);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(status[2], HS_OK);
    assert_int_equal(word[2], 0x1);
    assert_info(&info[0], 0, 1, 1, 0);
    assert_int_equal(status[3], HS_EPARTNER);
    assert_int_equal(when[3], 1000);
    assert_int_equal(word[3], BAD);
    for (int i = 4; i <= 8; i++)
        assert_int_equal(status[i], HS_EBADCAP);
}

/* ---- 15. what hs_irq_info_get counts --------------------------------- */

static int count_waiter(void *arg)
{
    (void)arg;
    status[20] = hs_irq_wait(irq_cap, HS_NEVER, &word[20]);
    return 0;
}

static int count_server(void *arg)
{
    (void)arg;
    open_wait_at(21, HS_NEVER);
    return 0;
}

static int count_main(void *arg)
{
    (void)arg;
    uint64_t b = 0;
    EXPECT_ST(hs_irq_create(&irq_cap), HS_OK);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x1), HS_OK);
    EXPECT_ST(hs_irq_signal(irq_cap, 0), HS_EINVAL);
    info_at(0, irq_cap);
    EXPECT_ST(hs_irq_poll(irq_cap, &b), HS_OK);        /* takes */
    EXPECT_ST(hs_irq_poll(irq_cap, &b), HS_OK);        /* nothing */
    EXPECT_ST(hs_irq_wait(irq_cap, HS_NOWAIT, &b), HS_ETIMEOUT);
    EXPECT_ST(hs_irq_wait(irq_cap, 50, &b), HS_ETIMEOUT);
    info_at(1, irq_cap);
    /* Handed to a blocked waiter. */
    hs_tid_t w = tu_mk(count_waiter, NULL, 0);
    tu_sleep_until(100);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x2), HS_OK);
    tu_join(w);
    info_at(2, irq_cap);
    /* Handed to an open wait. */
    hs_tid_t s = tu_mk(count_server, NULL, 0);
    EXPECT_ST(hs_irq_bind(irq_cap, s, 1), HS_OK);
    tu_sleep_until(200);
    EXPECT_ST(hs_irq_signal(irq_cap, 0x4), HS_OK);
    tu_join(s);
    info_at(3, irq_cap);
    return 0;
}

static void test_irq_info_counts_signals_and_takes(void **state)
{
    (void)state;
    run_main(count_main);
    assert_info(&info[0], 0x1, 1, 0, 0);
    assert_info(&info[1], 0, 1, 1, 0);
    assert_int_equal(status[20], HS_OK);
    assert_int_equal(word[20], 0x2);
    assert_info(&info[2], 0, 2, 2, 0);
    assert_int_equal(status[21], HS_OK);
    assert_int_equal(word[21], 0x4);
    assert_info(&info[3], 0, 3, 3, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_irq_signal_then_wait_takes_and_clears),
        TU_TEST(test_irq_wait_blocks_until_signal_or_timeout),
        TU_TEST(test_irq_poll_never_blocks),
        TU_TEST(test_irq_burst_loses_no_bit),
        TU_TEST(test_irq_unbound_waiters_served_fifo),
        TU_TEST(test_irq_bound_wakes_open_wait_and_tells_which),
        TU_TEST(test_irq_pending_bits_before_queued_senders),
        TU_TEST(test_irq_closed_wait_not_woken),
        TU_TEST(test_irq_bind_refusals_change_nothing),
        TU_TEST(test_irq_bound_only_its_thread_takes),
        TU_TEST(test_irq_rights),
        TU_TEST(test_irq_bad_input),
        TU_TEST(test_irq_cancel_wait),
        TU_TEST(test_irq_owner_ends_waiter_wakes_partner),
        TU_TEST(test_irq_info_counts_signals_and_takes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
