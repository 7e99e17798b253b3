/*
 * hopsim/chan_ring.h - the shared-memory layout of an asynchronous
 * channel: the contract between the kernel (ports/chan.c), which creates
 * and maps it, and the runtime (lib/chan.c), which sends and receives on
 * it without entering the kernel.  Programs use hopsim/chan.h; this
 * header is public only because both sides must agree on every byte.
 *
 * A ring attached at va occupies, in the attaching process:
 *
 *   va            +4K               +8K
 *   +-------------+-----------------+-------------------------------+
 *   | control     | indices         | slots[0 .. slots-1]           |
 *   | read-only:  | read-write:     | read-write: stride bytes each |
 *   | kernel only | head, tail,     | (slots: a power of two)       |
 *   | writes it   | waiting counts  |                               |
 *   +-------------+-----------------+-------------------------------+
 *
 * The control page is mapped read-only into every process: only the
 * kernel writes it, so a process cannot reopen a closed channel or
 * revive a revoked end.  Positions (head, tail) count messages from 0
 * and never wrap in practice (64 bits); position p lives in slot
 * p & (slots - 1).
 */
#ifndef HOPSIM_CHAN_RING_H
#define HOPSIM_CHAN_RING_H

#include <stddef.h>
#include <stdint.h>

/* The structures below are written with C11 atomics, which C99 cannot
 * declare and C++ cannot declare with a promised layout (std::atomic<T>
 * need not match _Atomic T).  Only the library touches their fields, so
 * C99 and C++ programs see them as incomplete types: all hopsim/chan.h
 * needs is pointers to them. */
#if !defined(__cplusplus) && defined(__STDC_VERSION__) && \
    __STDC_VERSION__ >= 201112L && !defined(__STDC_NO_ATOMICS__)
#define HS_CHAN_RING_LAYOUT 1
#include <stdatomic.h>
#else
#define HS_CHAN_RING_LAYOUT 0
#endif

#include "api.h"

HS_BEGIN_DECLS

#define HS_CHAN_ENDS_MAX 64u        /* ends attached to one channel at once */
#define HS_CHAN_CTRL_OFF 0u
#define HS_CHAN_IDX_OFF  4096u
#define HS_CHAN_DATA_OFF 8192u
#define HS_CHAN_SLOT_HDR 40u        /* bytes before a slot's message */
#define HS_CHAN_HIST_BUCKETS 64u    /* latency histogram buckets (log2) */

#if HS_CHAN_RING_LAYOUT

/* Page 0.  ends[i] is the serial of the end attached in entry i (never
 * 0), or 0 when the entry is free or its end was revoked or closed; an
 * end compares it with its own serial on every operation.  pids[i] is
 * the process of the end in entry i, written before ends[i]: the source
 * the runtime puts in the messages that end sends.
 *
 * The policy the runtime enforces (hopsim/chan.h, "Policy"): policy is
 * the HS_CHAN_POL_* flags in force, 0 when none is (the fast path tests
 * only that); the other fields mean something only under their flag.
 * The kernel writes them at creation and in hs_chan_policy_set(); a send
 * reads each once. */
typedef struct hs_chan_ctrl {
    uint32_t slots;                 /* a power of two, >= 2 */
    uint32_t stride;                /* bytes per slot (hs_chan_stride) */
    uint32_t msg_max;               /* longest message, bytes */
    uint32_t kind;                  /* HS_CHAN_SPSC or HS_CHAN_MPSC */
    uint32_t overflow;              /* HS_CHAN_BLOCK ... (hopsim/chan.h) */
    uint32_t pad;
    _Atomic uint32_t closed;        /* 1 once the channel is closed */
    _Atomic uint32_t ends[HS_CHAN_ENDS_MAX];
    _Atomic uint32_t policy;        /* HS_CHAN_POL_* in force */
    _Atomic uint32_t size_max;      /* HS_CHAN_POL_SIZE: longest message */
    _Atomic uint32_t burst;         /* HS_CHAN_POL_RATE: bucket size */
    _Atomic uint64_t interval;      /*   virtual ns per token */
    _Atomic uint64_t types;         /* HS_CHAN_POL_TYPES: bit t allows
                                       type t */
    _Atomic uint64_t pids[HS_CHAN_ENDS_MAX];
} hs_chan_ctrl;

/* Page 1, each index on its own cache line.  head: next position to
 * receive (the receiver's; with HS_CHAN_DROP_OLDEST, or in an MPSC ring,
 * advanced by compare-and-swap so that a sender may drop the oldest).
 * tail: next position to send (SPSC: the sender's; MPSC: claimed by
 * compare-and-swap).  recv_waiting / send_waiting: threads about to
 * sleep, or sleeping, in hs_chan_end_sleep(); the other side calls
 * hs_chan_end_wake() only when its count is not 0. */
typedef struct hs_chan_counters {
    _Atomic uint64_t sent, sent_bytes;          /* HS_CHAN_POL_STATS */
    _Atomic uint64_t received, received_bytes;  /* HS_CHAN_POL_STATS */
    _Atomic uint64_t refused_rate, refused_size, refused_type;
    _Atomic uint64_t full_waits, empty_waits;
    _Atomic uint64_t lat_virt[HS_CHAN_HIST_BUCKETS];   /* HS_CHAN_POL_STATS */
    _Atomic uint64_t lat_host[HS_CHAN_HIST_BUCKETS];   /* HS_CHAN_POL_STATS */
} hs_chan_counters;

typedef struct hs_chan_idx {
    _Alignas(64) _Atomic uint64_t head;
    _Alignas(64) _Atomic uint64_t tail;
    _Alignas(64) _Atomic uint32_t recv_waiting;
    _Atomic uint32_t send_waiting;
    _Alignas(64) _Atomic uint64_t dropped;  /* messages an overflow
                                               policy dropped */
    /* HS_CHAN_POL_RATE, a token bucket kept as its theoretical arrival
     * time (GCRA): the virtual time at which the bucket would be full
     * again; senders advance it by compare-and-swap. */
    _Alignas(64) _Atomic uint64_t tat;
    _Alignas(64) hs_chan_counters stats;    /* hs_chan_stats_get() */
} hs_chan_idx;

/* A slot.  seq (MPSC only, Vyukov's bounded queue): p when free for
 * position p, p + 1 once the message of position p is in it; receiving
 * sets it to p + slots.  The header then carries what hs_chan_recv_ex()
 * returns: length, type, the sending process (from the control page's
 * pids, never from the caller), the virtual time of the send and, under
 * HS_CHAN_POL_STATS, its host time (else 0).  The message follows as
 * 8-byte words, written and read with relaxed atomics so that a slot
 * read while a dropping sender overwrites it is a discarded value, never
 * a data race. */
typedef struct hs_chan_slot {
    _Atomic uint64_t seq;
    _Atomic uint32_t len;
    _Atomic uint32_t type;
    _Atomic uint64_t src;
    _Atomic uint64_t sent_ns;
    _Atomic uint64_t sent_host_ns;
    _Atomic uint64_t words[];
} hs_chan_slot;

_Static_assert(sizeof(hs_chan_slot) == HS_CHAN_SLOT_HDR,
               "a slot's header is 40 bytes");
_Static_assert(sizeof(hs_chan_ctrl) <= 4096 && sizeof(hs_chan_idx) <= 4096,
               "the control and index pages hold their structures");

#else

typedef struct hs_chan_ctrl hs_chan_ctrl;
typedef struct hs_chan_counters hs_chan_counters;
typedef struct hs_chan_idx hs_chan_idx;
typedef struct hs_chan_slot hs_chan_slot;

#endif

/* The stride of a ring's slots for messages of msg_max bytes: the header
 * and the message rounded up to 8 bytes, the header's size doubled until
 * both fit (so a slot stays 8-byte aligned, and small messages share a
 * few strides). */
static inline uint32_t hs_chan_stride(uint32_t msg_max)
{
    uint32_t need = HS_CHAN_SLOT_HDR + ((msg_max + 7u) & ~7u);
    uint32_t s = HS_CHAN_SLOT_HDR;
    while (s < need)
        s <<= 1;
    return s;
}

/* Slot of position pos in the slots at data. */
static inline hs_chan_slot *hs_chan_slot_at(unsigned char *data,
                                            uint32_t slots, uint32_t stride,
                                            uint64_t pos)
{
    return (hs_chan_slot *)(data + (size_t)(pos & (slots - 1)) * stride);
}

HS_END_DECLS

#endif
