/*
 * examples/supervisor/supervisor.c - the supervisor, its worker and the
 * client calls (see supervisor.h).
 */
#include <string.h>

#include "supervisor.h"

/* How long a worker waits for the supervisor to take its registration,
 * and then for the answer: a worker whose supervisor is gone must end. */
#define WORKER_TIMEOUT (100 * HS_MSEC)

/* The worker's capability to the supervisor's gate, given at spawn. */
#define WORKER_SUP_CAP 1

/* The watcher's signals to the serve thread: bits of an IRQ object bound
 * to it, which arrive in its open wait as a message no thread sent. */
#define WATCH_EXIT   0x1u       /* a child of the process has ended */
#define WATCH_READY  0x2u       /* the watcher's handlers are in place */
#define WATCH_FAILED 0x4u       /* ... could not be: it ends */

/* The typed message (hopsim/notify.h) that ends the watcher. */
#define WATCH_STOP_TYPE 0x53555056u

/* The watcher thread's own: written by the serve thread before the
 * watcher starts, then touched by the watcher alone (its handlers run on
 * it), until the serve thread has joined it. */
struct watch {
    hs_cap_t irq;               /* bound to the serve thread */
    int stop;                   /* the stop message came */
};

/* The serve thread's own: no other thread reads or writes it. */
struct sup {
    const struct supervisor_cfg *cfg;
    struct supervisor_stats *stats;
    hs_cap_t gate;              /* the supervisor's own */
    hs_tid_t watcher;           /* the thread that waits for exits */
    hs_pid_t worker;            /* the current worker; 0: none, for good */
    uint64_t number;            /* its number, from 1 */
    hs_cap_t wcap;              /* its capability to our gate */
    hs_cap_t svc;               /* its gate; 0: not registered yet */
    hs_reply_t q[SUPERVISOR_WAITERS_MAX];  /* kept where calls, a ring */
    unsigned head, n;
    hs_reply_t stopper;         /* the stop call, kept until done */
    int stopped;                /* a stop came */
    int stopper_kept;           /* and stopper holds it (its caller may
                                   have given up before it was kept) */
};

/* ---- the worker --------------------------------------------------------- */

/* Hand the worker's gate to the supervisor; whether it was taken. */
static int worker_register(hs_cap_t gate)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG_ITEMS(SUPERVISOR_REGISTER, 0, 1);
    u->mr[0] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND | HS_CAP_GRANT);
    u->mr[1] = gate;
    hs_status st = hs_ipc_call(WORKER_SUP_CAP, WORKER_TIMEOUT,
                               WORKER_TIMEOUT);
    return st == HS_OK && (hs_status)u->mr[0] == HS_OK;
}

/* An echo server that crashes on its crash_after-th call (arg). */
static int worker_main(void *arg)
{
    unsigned crash_after = (unsigned)(uintptr_t)arg;
    hs_cap_t gate = 0;
    if (hs_gate_create(hs_thread_self(), 0, &gate) != HS_OK ||
        !worker_register(gate))
        return SUPERVISOR_FAILED;
    hs_utcb_t *u = hs_utcb();
    for (unsigned calls = 1;; calls++) {
        if (hs_ipc_serve(NULL) != HS_OK)
            return SUPERVISOR_FAILED;
        if (calls == crash_after)
            hs_proc_exit(SUPERVISOR_CRASH);     /* the call dies with it */
        int echo = hs_tag_label(u->tag) == SUPERVISOR_ECHO &&
                   hs_tag_words(u->tag) == 1;
        u->mr[1] = u->mr[0];
        u->mr[0] = (uint64_t)(echo ? HS_OK : HS_EINVAL);
        u->tag = HS_TAG(0, echo ? 2 : 1);
        (void)hs_ipc_reply();   /* a caller that gave up is no matter */
    }
}

/* ---- answering ---------------------------------------------------------- */

/* Send the UTCB's message as the answer to the call just received (kept
 * NULL) or to a kept one. */
static hs_status put(const hs_reply_t *kept)
{
    return kept ? hs_ipc_reply_to(*kept) : hs_ipc_reply();
}

/* Answer with status st alone; whether it landed. */
static int answer(const hs_reply_t *kept, hs_status st)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(0, 1);
    u->mr[0] = (uint64_t)st;
    return put(kept) == HS_OK;
}

/* Answer a where call with the worker's gate: HS_OK (answered, with the
 * gate or, if the caller cannot take it, with the error), or HS_EBADCAP:
 * the gate is gone (the worker has just ended) and the call, still
 * unanswered, waits for the next one. */
static hs_status give_gate(const struct sup *s, const hs_reply_t *kept)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG_ITEMS(0, 1, 1);
    u->mr[0] = HS_OK;
    u->mr[1] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[2] = s->svc;
    hs_status st = put(kept);
    if (st == HS_EBADCAP)
        return st;
    if (st != HS_OK && st != HS_ESTALE && st != HS_ENOREPLY)
        (void)answer(kept, st);
    return HS_OK;
}

/* Answer the kept where calls: with the gate while the worker lives
 * (those left when its gate is found gone wait for the next), or all
 * with st when there is none. */
static void flush(struct sup *s, hs_status st)
{
    while (s->n) {
        const hs_reply_t *r = &s->q[s->head];
        if (s->svc) {
            if (give_gate(s, r) == HS_EBADCAP)
                return;
        } else {
            (void)answer(r, st);        /* one that gave up is skipped */
        }
        s->head = (s->head + 1) % SUPERVISOR_WAITERS_MAX;
        s->n--;
    }
}

/* Delete the capabilities the message just received brought in (they
 * were not asked for). */
static void drop_caps(void)
{
    hs_utcb_t *u = hs_utcb();
    unsigned w = hs_tag_words(u->tag), n = hs_tag_items(u->tag);
    for (unsigned i = 0; i < n && w + 2 * i + 1 < HS_MR_COUNT; i++)
        if (hs_item_type(u->mr[w + 2 * i]) == HS_ITEM_CAP)
            (void)hs_cap_delete((hs_cap_t)u->mr[w + 2 * i + 1]);
}

/* ---- the watcher ------------------------------------------------------- */

/*
 * A notification does not interrupt an IPC wait (hopsim/notify.h), so the
 * serve thread, which waits in hs_ipc_serve(), cannot hear of an exit
 * while it waits.  The watcher is a second thread of the process that
 * holds the HS_NOTIFY_EXIT handler and waits in hs_notify_wait(), which
 * a notification ends: its handler runs at the exit and signals the IRQ
 * bound to the serve thread, whose open wait the signal ends.  It carries
 * no data: the serve thread learns which child ended by reaping its
 * worker, so all the supervisor's state stays with the serve thread.
 */

/* HS_NOTIFY_EXIT, on the watcher: some child of the process ended. */
static void watch_exit(void *cookie, const hs_notification *n)
{
    const struct watch *w = cookie;
    (void)n;
    (void)hs_irq_signal(w->irq, WATCH_EXIT);
    (void)hs_notify_return();
}

/* The stop message, on the watcher. */
static void watch_stop(void *cookie, const hs_notification *n)
{
    struct watch *w = cookie;
    (void)n;
    w->stop = 1;
    (void)hs_notify_take();
    (void)hs_notify_return();
}

/* The watcher: its handlers in place, say so, then run them as
 * notifications come, until the stop.  Its value is the error that kept
 * it from starting, or HS_OK. */
static int watcher_main(void *arg)
{
    struct watch *w = arg;
    hs_tid_t self = hs_thread_self();
    hs_status st = hs_notify_install(self, HS_NOTIFY_EXIT, watch_exit, w);
    if (st == HS_OK)
        st = hs_notify_type_register(WATCH_STOP_TYPE, watch_stop, w);
    (void)hs_irq_signal(w->irq, st == HS_OK ? WATCH_READY : WATCH_FAILED);
    hs_status started = st;
    while (st == HS_OK && !w->stop)
        st = hs_notify_wait(HS_NEVER);
    (void)hs_notify_type_register(WATCH_STOP_TYPE, NULL, NULL);
    (void)hs_notify_install(self, HS_NOTIFY_EXIT, NULL, NULL);
    return (int)started;
}

/* Start the watcher at the serve thread's priority, and wait until its
 * handlers are in place: an exit before that would be told to nobody. */
static hs_status watcher_start(struct sup *s, struct watch *w)
{
    int prio = HS_PRIO_DEFAULT;
    hs_status st = hs_thread_get_priority(hs_thread_self(), &prio);
    if (st == HS_OK)
        st = hs_irq_create(&w->irq);
    if (st != HS_OK)
        return st;
    hs_thread_attr a = { .name = "watcher", .priority = prio,
                         .priority_set = 1 };
    st = hs_irq_bind(w->irq, 0, 0);
    if (st == HS_OK)
        st = hs_thread_create(watcher_main, w, &a, &s->watcher);
    if (st != HS_OK) {
        (void)hs_irq_destroy(w->irq);
        return st;
    }
    /* Only a cancel ends this wait early: wait again.  An exit signalled
     * meanwhile is no worker's: there is none yet. */
    uint64_t got = 0, bits = 0;
    while (!(got & (WATCH_READY | WATCH_FAILED)))
        if (hs_irq_wait(w->irq, HS_NEVER, &bits) == HS_OK)
            got |= bits;
    if (got & WATCH_READY)
        return HS_OK;
    int value = HS_ENOMEM;
    (void)hs_thread_join(s->watcher, HS_NEVER, &value);
    (void)hs_irq_destroy(w->irq);
    return (hs_status)value;
}

/* End the watcher and wait for it, so that no thread of the supervisor
 * is left waiting: it takes the stop message wherever it is, since it
 * waits for nothing but notifications.  A watcher that is no longer
 * registered (HS_ENOHANDLER) has ended already. */
static void watcher_stop(struct sup *s, struct watch *w)
{
    hs_status st = hs_notify_type_send(hs_proc_self(), WATCH_STOP_TYPE,
                                       NULL, 0, HS_NEVER);
    if (st == HS_OK || st == HS_ENOHANDLER)
        (void)hs_thread_join(s->watcher, HS_NEVER, NULL);
    (void)hs_irq_destroy(w->irq);
}

/* ---- the worker's life -------------------------------------------------- */

/* Spawn the next worker with its own capability to our gate, and watch
 * it. */
static hs_status start_worker(struct sup *s)
{
    uint64_t number = s->number + 1;
    hs_cap_t wcap = 0;
    hs_status st = hs_cap_derive(s->gate, HS_CAP_SEND | HS_CAP_GRANT,
                                 SUPERVISOR_WORKER_LABEL | number, &wcap);
    if (st != HS_OK)
        return st;
    hs_proc_attr at = { .caps = &wcap, .ncaps = 1 };
    hs_pid_t pid = 0;
    st = hs_proc_spawn("worker", worker_main,
                       (void *)(uintptr_t)s->cfg->crash_after, &at, &pid);
    if (st != HS_OK) {
        (void)hs_cap_delete(wcap);
        return st;
    }
    s->number = number;
    s->worker = pid;            /* before the watch, which may fire at once */
    s->wcap = wcap;
    s->stats->started++;
    /* As its parent we are told of its end anyway (once): the watch says
     * what we rely on, and a failed one loses nothing. */
    (void)hs_notify_watch(pid);
    return HS_OK;
}

/* Forget the current worker's capabilities (which makes every copy
 * handed out fail with HS_EBADCAP). */
static void forget_worker(struct sup *s)
{
    if (s->svc)
        (void)hs_cap_delete(s->svc);
    if (s->wcap)
        (void)hs_cap_delete(s->wcap);
    s->worker = 0;
    s->svc = s->wcap = 0;
}

/* The watcher says a child ended: if it is the worker, reap it (the wait
 * takes a zombie at once, and fails on a live one), forget it, and start
 * the next one if the limit allows; if not, kept callers learn there
 * will be none. */
static void reap(struct sup *s)
{
    int status = 0;
    if (!s->worker || hs_proc_wait(s->worker, HS_NOWAIT, &status) != HS_OK)
        return;
    forget_worker(s);
    s->stats->exits++;
    s->stats->last_status = status;
    if (s->number > s->cfg->restarts_max || start_worker(s) != HS_OK)
        flush(s, HS_ESRCH);
}

/* ---- the operations ----------------------------------------------------- */

static void do_where(struct sup *s)
{
    if (s->svc && give_gate(s, NULL) != HS_EBADCAP)
        return;
    if (!s->worker) {
        (void)answer(NULL, HS_ESRCH);
    } else if (s->n == SUPERVISOR_WAITERS_MAX) {
        (void)answer(NULL, HS_ELIMIT);
    } else {
        hs_reply_t *r = &s->q[(s->head + s->n) % SUPERVISOR_WAITERS_MAX];
        if (hs_ipc_reply_keep(r) == HS_OK)  /* else its caller is gone */
            s->n++;
    }
}

static void do_register(struct sup *s, uint64_t label)
{
    hs_utcb_t *u = hs_utcb();
    if (hs_tag_words(u->tag) != 0 || hs_tag_items(u->tag) != 1 ||
        hs_item_type(u->mr[0]) != HS_ITEM_CAP) {
        drop_caps();
        (void)answer(NULL, HS_EINVAL);
        return;
    }
    hs_cap_t cap = (hs_cap_t)u->mr[1];
    hs_status st = HS_OK;
    if (!s->worker || label != (SUPERVISOR_WORKER_LABEL | s->number))
        st = HS_EPERM;
    else if (s->svc)
        st = HS_EINVAL;
    /* A worker that gave up waiting for the answer ends: not taken. */
    if (!answer(NULL, st) || st != HS_OK) {
        (void)hs_cap_delete(cap);
        return;
    }
    s->svc = cap;
    s->stats->registered++;
    s->stats->registered_at = hs_time_now();
    flush(s, HS_OK);
}

/* A stop from the capability labelled cfg->stop_label is kept, to be
 * answered once the supervisor has wound down (supervisor_serve()).
 * Another label: HS_EPERM. */
static void do_stop(struct sup *s, uint64_t label)
{
    drop_caps();
    if (label != s->cfg->stop_label) {
        (void)answer(NULL, HS_EPERM);
        return;
    }
    s->stopped = 1;
    s->stopper_kept = hs_ipc_reply_keep(&s->stopper) == HS_OK;
}

/* Serve until a stop or an error of receiving.  A message with
 * HS_TAG_IRQ is the watcher's: no sender can set that flag. */
static hs_status serve(struct sup *s)
{
    hs_utcb_t *u = hs_utcb();
    while (!s->stopped) {
        uint64_t label = 0;
        u->br[HS_BR_CAPS] = 1;          /* a registration brings a gate */
        hs_status st = hs_ipc_serve(&label);
        if (st != HS_OK)
            return st;
        if (u->tag & HS_TAG_IRQ) {
            if (u->mr[0] & WATCH_EXIT)
                reap(s);
            continue;
        }
        switch (hs_tag_label(u->tag)) {
        case SUPERVISOR_WHERE:
            drop_caps();
            do_where(s);
            break;
        case SUPERVISOR_REGISTER:
            do_register(s, label);
            break;
        case SUPERVISOR_STOP:
            do_stop(s, label);
            break;
        default:
            drop_caps();
            (void)answer(NULL, HS_EINVAL);
        }
    }
    return HS_OK;
}

hs_status supervisor_serve(hs_cap_t gate, const struct supervisor_cfg *cfg,
                           struct supervisor_stats *stats)
{
    if (!cfg)
        return HS_EINVAL;
    struct supervisor_stats none;
    struct sup s;
    struct watch w;
    memset(&s, 0, sizeof s);
    memset(&none, 0, sizeof none);
    memset(&w, 0, sizeof w);
    s.cfg = cfg;
    s.stats = stats ? stats : &none;
    s.gate = gate;
    hs_status st = watcher_start(&s, &w);
    if (st != HS_OK)
        return st;
    st = start_worker(&s);
    if (st == HS_OK)
        st = serve(&s);
    /* Wind down: no thread left waiting, no call left kept.  The worker
     * serves on, unwatched. */
    watcher_stop(&s, &w);
    forget_worker(&s);
    flush(&s, HS_ESRCH);
    if (s.stopper_kept)
        (void)answer(&s.stopper, HS_OK);
    return st;
}

/* ---- the client calls --------------------------------------------------- */

hs_status supervisor_where(hs_cap_t sup, hs_time_t timeout, hs_cap_t *svc)
{
    if (!svc)
        return HS_EINVAL;
    hs_utcb_t *u = hs_utcb();
    uint64_t caps = u->br[HS_BR_CAPS];
    u->tag = HS_TAG(SUPERVISOR_WHERE, 0);
    u->br[HS_BR_CAPS] = 1;
    hs_status st = hs_ipc_call(sup, timeout, timeout);
    u->br[HS_BR_CAPS] = caps;
    if (st != HS_OK)
        return st;
    if ((hs_status)u->mr[0] != HS_OK)
        return (hs_status)u->mr[0];
    if (hs_tag_words(u->tag) != 1 || hs_tag_items(u->tag) != 1)
        return HS_EINVAL;               /* not this protocol's answer */
    *svc = (hs_cap_t)u->mr[2];
    return HS_OK;
}

hs_status supervisor_stop(hs_cap_t sup, hs_time_t timeout)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(SUPERVISOR_STOP, 0);
    hs_status st = hs_ipc_call(sup, timeout, timeout);
    return st == HS_OK ? (hs_status)u->mr[0] : st;
}

hs_status supervisor_echo(hs_cap_t sup, hs_cap_t *svc, uint64_t word,
                          hs_time_t timeout, uint64_t *out)
{
    if (!svc)
        return HS_EINVAL;
    hs_utcb_t *u = hs_utcb();
    hs_status st = HS_EPARTNER;
    for (int i = 0; i < SUPERVISOR_TRIES; i++) {
        if (!*svc && (st = supervisor_where(sup, timeout, svc)) != HS_OK)
            return st;
        u->tag = HS_TAG(SUPERVISOR_ECHO, 1);
        u->mr[0] = word;
        st = hs_ipc_call(*svc, timeout, timeout);
        if (st == HS_OK) {
            st = (hs_status)u->mr[0];
            if (st == HS_OK && out)
                *out = u->mr[1];
            return st;
        }
        if (st != HS_EPARTNER && st != HS_EBADCAP)
            return st;
        (void)hs_cap_delete(*svc);      /* names a gate that is gone */
        *svc = 0;
    }
    return st;
}
