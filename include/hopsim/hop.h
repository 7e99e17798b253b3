/*
 * hopsim/hop.h - process hopping and checkpoints.
 *
 * A thread hops: with its message registers loaded (hs_utcb()->mr), it asks
 * the kernel to move it through a port into the port's owner.  It brings no
 * stack: it continues at the port's handler on a stack the receiver
 * provides (hs_proc_set_hop_stacks / hs_proc_set_stack_alloc).  While the
 * handler runs, the thread's current process is the receiver.
 *
 * With HS_HOP_CHECKPOINT the hop makes a checkpoint: the caller's saved
 * context, held by the level the hop pushes.  When the handler returns,
 * the caller resumes exactly where it hopped, with the reply in the same
 * message registers (nothing was copied).  The handler may instead keep
 * the checkpoint (hs_hop_keep) and return; the caller then stays blocked,
 * with its timeout, until some thread of the receiver resumes the
 * checkpoint (hs_checkpoint_resume), once.  A checkpoint has a handle
 * (hs_checkpoint_t) only once it is kept: one that is not kept is named
 * by nothing, and reported as 0 (hs_hop_chain, the event stream).
 * Without a checkpoint the hop is one-way: when the handler returns, the
 * thread goes back to the level below if that level still waits at a
 * checkpoint, and otherwise ends.
 *
 * Hops nest (A -> B -> C -> B is legal) up to cfg.max_hop_depth levels.
 * When a process ends, every checkpoint it kept resumes its caller with
 * HS_EPARTNER, and every thread visiting it unwinds to the caller of its
 * hop into it with HS_EPARTNER (or ends, if that hop was one-way).
 */
#ifndef HOPSIM_HOP_H
#define HOPSIM_HOP_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "port.h"
#include "proc.h"
#include "status.h"
#include "thread.h"
#include "time.h"
#include "utcb.h"

HS_BEGIN_DECLS

typedef uint64_t hs_checkpoint_t;

/* Flags of hs_hop(). */
#define HS_HOP_CHECKPOINT 0x1u   /* come back when the handler is done */
#define HS_HOP_ITEMS      0x2u   /* offer the memory items of the tag */

/*
 * Hop through port with the calling thread's message registers as they
 * are.  With HS_HOP_CHECKPOINT, returns once the checkpoint is resumed:
 * HS_OK (or the status the resumer gave) with the reply in the message
 * registers; HS_ETIMEOUT if the checkpoint was kept and not resumed
 * within timeout of the hop; HS_EPARTNER if the receiver ended first.
 * Without it, returns only on error (the thread lives on in the handler).
 *
 * A hop reads no tag unless HS_HOP_ITEMS is given: then hs_utcb()->tag
 * must be well formed and every typed item it counts a memory item
 * (hopsim/ipc.h; capabilities travel by IPC only), and the hop offers
 * them to the handler, which takes them with hs_hop_accept().  The
 * kernel keeps the item registers as they were at the hop, so a handler
 * that writes its reply into the message registers cannot change what
 * was offered.  Nothing is mapped or unmapped by the hop itself.
 *
 * Direct returns: a checkpointed hop made on one CPU with nothing else
 * runnable, no memory checks (mem_check) and the fast switch leaves its
 * caller so that the handler's return, when nothing is due then either,
 * goes straight back to the code that called hs_hop(), with the status,
 * past the kernel, as a direct IPC hand-off does (hopsim/ipc.h).
 * Nothing else changes, but a backtrace across the hop
 * (hs_hop_backtrace(), the gdb commands) shows no frame of hs_hop() for
 * the caller: its first frame is the public call made around it
 * (hs_hop_call()) or, for a program that called hs_hop() itself, the
 * program's code just after the call.  The run's summary counts them
 * (hs_sim_summary.direct_hops).
 *
 * Errors, with nothing changed: HS_ESTATE, HS_EINVAL (unknown flags, bad
 * timeout; with HS_HOP_ITEMS a malformed tag, an item that is not a
 * memory item or is malformed), HS_ENOPORT, HS_EPERM (an anonymous port
 * the caller's current process was not given: hopsim/port.h),
 * HS_ECLOSED, HS_ENOHANDLER,
 * HS_ENOSTACK (the receiver has no stack to give), HS_EDEPTH
 * (cfg.max_hop_depth reached), HS_ENOMEM.
 */
hs_status hs_hop(hs_port_t port, unsigned flags, hs_time_t timeout);

/* Convenience: mr[0] = word, hop with a checkpoint and no timeout, then
 * *reply = mr[0] (reply may be NULL). */
hs_status hs_hop_call(hs_port_t port, uint64_t word, uint64_t *reply);

/*
 * Asynchronous hop: start a new thread that begins in port's handler with
 * a copy of the caller's message registers, and return at once.  The new
 * thread belongs to the receiver (its limits, its stack) and ends when the
 * handler returns.  It offers no memory items (hs_hop_accept takes
 * nothing): memory goes to an asynchronous handler by IPC.  It is detached: nobody joins it, and it is freed as it
 * ends, so *tid only names it while it runs.  tid may be NULL.
 * Errors as hs_hop(), plus HS_ELIMIT.
 */
hs_status hs_hop_async(hs_port_t port, hs_tid_t *tid);

/* In a handler: the port hopped through, and the process hopped from.
 * hop is valid only while its handler runs and only for the thread
 * running it: any other hop pointer (kept past the handler's return,
 * passed to another thread, or NULL) gives 0, never another hop's
 * values. */
hs_port_t hs_hop_port(const hs_hop_t *hop);
hs_pid_t hs_hop_source(const hs_hop_t *hop);

/* In a handler: message register i of the calling thread (0 if i is out
 * of range, or hop is not the caller's running hop, as above). */
uint64_t hs_mr(const hs_hop_t *hop, unsigned i);

/*
 * In a handler: take the memory items the hop offered (HS_HOP_ITEMS) from
 * the process hopped from into the caller's process (the handler's), in
 * the window flexpage (HS_FPAGE), by the rules of IPC (hopsim/ipc.h,
 * "Typed items"): in order, each at the next address of the window
 * aligned to its size; a move leaves the sender's range unmapped.  The
 * sender's mappings are checked now, as they are now.  Afterwards the
 * thread's mr[w + 2i + 1] (w and i of the offering tag) holds where item
 * i landed.  window 0 declines them all.  Items are accepted at most
 * once per hop; those not accepted when the handler returns (or its hop
 * unwinds) are declined, and a move then stays with the sender.  A hop
 * that offered no items accepts nothing and succeeds.
 * Errors, nothing changed (a refused accept may be tried again):
 * HS_ESTATE (not the running handler of hop, or already accepted or
 * declined), HS_EINVAL (window malformed), HS_ERANGE, HS_EPARTNER (the
 * process hopped from has ended), HS_EMSGCUT (the window is too small),
 * HS_EEXIST (a page where an item would land is mapped), HS_ENOMAP,
 * HS_EPERM (the sender's range changed since the hop), HS_EQUOTA,
 * HS_ENOFRAME, HS_ENOMEM.
 */
hs_status hs_hop_accept(hs_hop_t *hop, uint64_t window);

/* In a handler: keep this hop's checkpoint to resume later, from any
 * thread of this process; the handler must then return.  *cp is a new
 * handle, never one given before; it is stale once the checkpoint is
 * consumed (resumed, timed out, or its process ended).
 * Errors, nothing changed: HS_ESTATE (not the running handler of hop),
 * HS_EINVAL (cp NULL, or the hop has no checkpoint), HS_EJOINED (already
 * kept), HS_ENOMEM. */
hs_status hs_hop_keep(hs_hop_t *hop, hs_checkpoint_t *cp);

/* Resume a kept checkpoint: its caller continues with result as the
 * return value of its hs_hop() and words[0..n-1] in its message registers.
 * Errors, nothing changed: HS_ESTATE, HS_EINVAL (n > HS_MR_COUNT, words
 * NULL with n > 0, result HS_EPANIC or unknown), HS_ESTALE (already
 * resumed, expired, or never existed), HS_EPERM (the checkpoint belongs to
 * another process). */
hs_status hs_checkpoint_resume(hs_checkpoint_t cp, hs_status result,
                               const uint64_t *words, unsigned n);

/* One level of a thread's hop chain; level 0 is where the thread started. */
typedef struct hs_hop_level {
    hs_pid_t proc;                  /* process of this level */
    char proc_name[HS_NAME_MAX + 1];
    hs_port_t port;                 /* port hopped through into it (0 at
                                       level 0) */
    hs_checkpoint_t checkpoint;     /* checkpoint of that hop if its handler
                                       kept it (hs_hop_keep), else 0 */
    int checkpointed;               /* 1 if that hop made a checkpoint
                                       (kept or not), 0 for a one-way hop
                                       and at level 0 */
} hs_hop_level;

/* The calling thread's hop chain, outermost first: up to max levels into
 * levels[], the total depth into *count.
 * Errors: HS_ESTATE, HS_EINVAL (count NULL, or levels NULL with max > 0). */
hs_status hs_hop_chain(hs_hop_level *levels, unsigned max, unsigned *count);

/* Write the calling thread's backtrace across its hops, one line per call
 * to line(): the handler's frames, then "--- hop from <process> via
 * <port> ---", then the caller's frames from its saved context, level by
 * level down the chain.  A frame reads "#1 0x... back_handler+0x9a at
 * examples/tour.c:176": its address, symbol and offset, then its source
 * file and line when the program has debug information (found with
 * addr2line; the symbol alone otherwise).  hopsim's own frames are left
 * out, but for the public call through which each level entered hopsim
 * (hs_hop_backtrace, hs_hop_call, ...).  Errors: HS_ESTATE, HS_EINVAL
 * (line NULL). */
hs_status hs_hop_backtrace(void (*line)(void *cookie, const char *text),
                           void *cookie);

/* ---- what a process gives arriving threads -------------------------------- */

/* Stacks for arriving threads: at most count of stack_size bytes in use at
 * once (the default: cfg.hop_stacks of cfg.stack_size).  Hops beyond that
 * fail with HS_ENOSTACK unless an allocator is set.
 * Errors: HS_ESTATE, HS_EINVAL (bad size or count above HS_HOP_STACKS_MAX). */
#define HS_HOP_STACKS_MAX 65536
hs_status hs_proc_set_hop_stacks(unsigned count, size_t stack_size);

/* Called by the kernel when an arriving thread finds the pool empty: set
 * *stack_size and return HS_OK to grant one more stack, anything else to
 * refuse (the hop fails with HS_ENOSTACK).  It runs inside the kernel and
 * must not call hopsim. */
typedef hs_status (*hs_stack_alloc_fn)(void *cookie, size_t *stack_size);
hs_status hs_proc_set_stack_alloc(hs_stack_alloc_fn fn, void *cookie);

/* Block the calling thread for as long as its process lives, serving hops.
 * A serving thread does not keep the run alive: when every other thread
 * has ended, the run ends normally.  Returns only with HS_ESTATE (not in
 * a simulated thread, or called by a visitor inside a handler). */
hs_status hs_proc_serve(void);

HS_END_DECLS

#endif
