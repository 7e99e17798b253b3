/*
 * ports/chan.h - asynchronous channels, the kernel side (hopsim/chan.h).
 *
 * A channel owns two blocks of frames, held (mem_hold) for its life: the
 * control and index pages (an order-1 block) and the slots (one block of
 * 2^order frames, so that the runtime reaches them through one pointer).
 * Its layout is hopsim/chan_ring.h.  An end is a separate object owned by
 * the process that attached it: it records where the ring is mapped
 * there, so that detaching unmaps exactly that, and it outlives its
 * channel (an orphan: the process still maps the frames, which stay until
 * it unmaps them, and sees the channel closed).
 *
 * The kernel writes the control page (closed, the ends' serials and
 * processes, the policy) and reads the indices only to decide whether a
 * sleeper may sleep; it never trusts them for anything else.  The audit
 * log is a third block of frames (order 4), never mapped into a process.
 */
#ifndef HOPSIM_PORTS_CHAN_H
#define HOPSIM_PORTS_CHAN_H

#include <stdint.h>

#include "kern/list.h"
#include "kern/pool.h"
#include "hopsim/chan.h"
#include "mem/vm.h"

struct proc;
struct thread;
struct chan_end;

struct chan {
    struct kobj obj;
    struct proc *owner;             /* the process that created it */
    struct list owner_link;         /* in owner->chans */
    uint32_t slots, stride, msg_max;
    unsigned kind, overflow;
    hs_time_t timeout;
    uint64_t hdr_pa;                /* control + index pages */
    uint64_t data_pa, data_len;     /* the slots: 2^data_order frames */
    unsigned data_order;
    struct mem_hold holds[3];       /* on the blocks (the third: the
                                       audit log, while there is one) */
    /* The kernel's view of the shared frames (frame_host). */
    hs_chan_ctrl *ctrl;
    hs_chan_idx *idx;
    unsigned char *data;
    struct chan_end *ends[HS_CHAN_ENDS_MAX];    /* live ends, by entry */
    uint32_t serial;                /* last serial given to an end */
    unsigned nsend, nrecv;          /* live ends of each role */
    int closed;
    hs_chan_policy policy;          /* in force; flags 0: none */
    /* The audit log, once HS_CHAN_POL_AUDIT was asked for (kept until
     * the channel goes): records audit_first .. audit_next - 1 are
     * unread, record s in audit[s % HS_CHAN_AUDIT_LEN]. */
    hs_chan_audit_rec *audit;
    uint64_t audit_first, audit_next;
};

struct chan_end {
    struct kobj obj;
    struct proc *proc;              /* where it is attached */
    struct list proc_link;          /* in proc->chan_ends */
    uint64_t chan;                  /* its channel's handle */
    unsigned role;                  /* HS_CHAN_SENDER or _RECEIVER */
    int slot;                       /* entry of chan->ends, -1 once it
                                       left the channel (revoked, or the
                                       channel destroyed) */
    int revoked;
    uint32_t serial;
    hs_cap_t cap_local;             /* the capability it was attached */
    uint64_t cap_handle;            /*   with, that object's handle, */
    unsigned rights;                /*   and its rights then */
    uint64_t va, len;               /* its mapping */
    uint64_t hdr_pa, data_pa;       /* what the mapping maps */
    struct list waiters;            /* threads in hs_chan_end_sleep() */
};

struct chan *chan_lookup(uint64_t h);

/* p ends: its ends leave their channels (which may close them), and the
 * channels it created are destroyed.  Before its address space goes. */
void chan_proc_end(struct proc *p);

/* Capabilities changed (a revoke, a delete, a process's capabilities
 * freed): every end whose capability no longer resolves is revoked. */
void chan_caps_changed(struct thread *self);

extern const struct kobj_type chan_type, chan_end_type;

#endif
