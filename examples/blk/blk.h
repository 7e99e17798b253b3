/*
 * examples/blk/blk.h - a block driver: a server thread with a gate that
 * reads and writes the 512-byte blocks of a simulated disk, whose
 * registers and DMA buffers it reaches through a direct portal and which
 * tells it of each finished transfer with an IRQ.
 *
 * The parts.  The disk is a device model (blk_disk_serve), a thread in a
 * process of its own, that plays the hardware: it sees the same device
 * region (hs_mem_device_create) through a host pointer, the way a device
 * sees its registers and memory.  The region, made by blk_region_create:
 *
 *   [0, 4K)          registers: command slot i at BLK_REG_SLOT(i), a
 *                    struct blk_slot_regs
 *   [4K, 8K)         DMA buffers: slot i's block at BLK_DMA(i)
 *   [8K, 8K + 512n)  the medium, block b at BLK_MEDIUM(b): the device's
 *                    own, never mapped by the driver
 *
 * The driver maps the first 8K (BLK_WINDOW) with a direct portal
 * (HS_PORTAL_DIRECT), so both sides of this process boundary are core
 * servers.  It has BLK_DEPTH command slots.  To start a transfer it writes
 * a slot's operation, block and sequence number, then its state
 * BLK_SLOT_SUBMITTED (last), and rings the doorbell: it signals the disk's
 * IRQ object with bit 1 << slot.  The disk takes every submitted slot
 * (BLK_SLOT_BUSY), and after its latency (hs_thread_sleep on the virtual
 * clock: a read takes read_latency, a write write_latency) moves the block
 * between the medium and the slot's DMA buffer, writes the slot's status
 * and done_seq and then its state BLK_SLOT_DONE, and signals the driver's
 * IRQ object with bit 1 << slot.  Slots finish in the order their
 * latencies end, not the order they were started.
 *
 * The driver's gate.  A client's capability carries a label below
 * BLK_DEVICE_LABEL; the disk's is BLK_DEVICE_LABEL.  The tag's label
 * holds the operation in bits 0..7 and the block number in bits 8..31;
 * the reply's tag label is an hs_status.
 *
 *   read    0 words.  Reply: HS_OK and 64 words (the block, 512 bytes),
 *           or an error and 0 words.
 *   write   64 words (the block).  Reply: a status, 0 words.
 *   attach  from the disk only (BLK_DEVICE_LABEL): 0 words, one capability
 *           item, the doorbell (send right).  Reply: HS_OK with one
 *           capability item, the driver's IRQ object (send right); the
 *           caller sets br[HS_BR_CAPS] to 1.  HS_EPERM from anyone else,
 *           HS_EEXIST while a live disk is attached, HS_EINVAL malformed.
 *
 * Errors of read and write: HS_EINVAL (an unknown operation, a read with
 * words, a write without exactly 64, or any typed item: refused at once,
 * nothing changed), HS_ERANGE (a block at or past the disk's end: refused
 * at once, nothing changed), HS_ELIMIT (BLK_QUEUE_MAX requests held
 * already), HS_ENOMEM (the call could not be kept), HS_ETIMEOUT (the disk did not finish the request within the
 * driver's timeout), HS_EPARTNER (the disk ended with the request in
 * flight), HS_EFAULT (the disk reported the transfer failed).
 *
 * What the protocol shows.  A call is answered when the hardware is
 * done, not when it is received: the driver keeps it (hs_ipc_reply_keep),
 * queues it, starts it when a slot is free, and answers it with
 * hs_ipc_reply_to when the IRQ for its slot comes, so several requests are
 * in flight, more are queued, and each is answered in the order the disk
 * finishes them.  The IRQ is bound to the driver's thread (hs_irq_bind),
 * so it arrives in the same open wait as the calls, as a message flagged
 * HS_TAG_IRQ: one thread owns the slots, the queue and the kept replies,
 * with no lock between an interrupt thread and a request thread, and an
 * interrupt is taken between two calls, never in the middle of one.  A
 * second thread in hs_irq_wait would only add that lock.
 *
 * Rules the driver keeps.
 *   - Requests for one block are started in the order they came: a
 *     request waits while an earlier one for its block is queued or in
 *     flight, so a read sees the write asked before it, and a later
 *     write is never overtaken by an earlier one.
 *   - Each request has a deadline (the driver's timeout from its
 *     arrival); the driver's wait ends at the earliest, and an overdue
 *     request is answered HS_ETIMEOUT, queued or in flight.  A slot whose
 *     request timed out stays the disk's until the disk finishes it (its
 *     DMA buffer may still be written), then it is free again.
 *   - A client that gave up (timed out, cancelled, killed) is found out
 *     when its answer comes back HS_ESTALE; its slot is freed all the
 *     same.  Its write may have reached the disk.
 *   - Nothing read from the registers is trusted: the driver keeps each
 *     slot's operation, block and sequence number itself, takes only IRQ
 *     bits of slots it has in flight, and a completion only if the slot
 *     says BLK_SLOT_DONE with the sequence number it wrote; anything else
 *     is counted as spurious and ignored (the deadline ends the request).
 *   - The disk's end is seen when its doorbell capability goes stale: at
 *     the next doorbell or deadline the requests in flight are answered
 *     HS_EPARTNER and the slots freed; queued requests wait for a new
 *     disk to attach, or their deadline.
 *
 * What it does not do: the driver learns that the disk ended at its next
 * doorbell or deadline, not at once (an exit watch would tell it sooner);
 * it does not reset a hung disk (its slots stay taken until the disk
 * finishes them); a block is 512 bytes, the 64 message registers of one
 * IPC, so no memory item is needed (4 KiB blocks would travel as a page,
 * hopsim/mem.h); blocks are not cached, and requests for different blocks
 * are not merged or sorted.
 */
#ifndef EXAMPLES_BLK_BLK_H
#define EXAMPLES_BLK_BLK_H

#include "hopsim.h"

#ifdef __cplusplus
extern "C" {
#endif

enum blk_op {
    BLK_READ = 1,
    BLK_WRITE = 2,
    BLK_ATTACH = 3,
};

#define BLK_BLOCK_SIZE 512u                 /* bytes of a block */
#define BLK_BLOCK_WORDS (BLK_BLOCK_SIZE / 8) /* = HS_MR_COUNT */
#define BLK_BLOCKS_MAX (1u << 24)           /* what the label's 24 bits hold */
#define BLK_DEPTH 4u                        /* command slots of the disk */
#define BLK_QUEUE_MAX 16u                   /* requests the driver holds */
#define BLK_DEVICE_LABEL ((uint64_t)1 << 62) /* the disk's capability */

/* The label of a request for block (which must be below BLK_BLOCKS_MAX). */
#define BLK_LABEL(op, block) ((uint32_t)(op) | ((uint32_t)(block) << 8))

/* The device region. */
#define BLK_WINDOW ((uint64_t)2 * HS_PAGE_4K)   /* what the driver maps */
#define BLK_REG_SLOT(i) ((uint64_t)(i) * sizeof(struct blk_slot_regs))
#define BLK_DMA(i) (HS_PAGE_4K + (uint64_t)(i) * BLK_BLOCK_SIZE)
#define BLK_MEDIUM(b) (BLK_WINDOW + (uint64_t)(b) * BLK_BLOCK_SIZE)

/* A command slot's registers.  state is written last by whoever moves
 * it on: FREE -> SUBMITTED (driver), -> BUSY (disk), -> DONE (disk),
 * -> FREE (driver). */
enum blk_slot_state {
    BLK_SLOT_FREE = 0,
    BLK_SLOT_SUBMITTED = 1,
    BLK_SLOT_BUSY = 2,
    BLK_SLOT_DONE = 3,
};

enum blk_dev_status {
    BLK_DEV_OK = 1,
    BLK_DEV_ERROR = 2,          /* block or operation the disk refuses */
};

struct blk_slot_regs {
    uint32_t state;             /* enum blk_slot_state */
    uint32_t op;                /* BLK_READ or BLK_WRITE */
    uint64_t block;
    uint64_t seq;               /* the driver's number for the request */
    uint64_t done_seq;          /* the disk's: seq of what it finished */
    uint32_t status;            /* the disk's: enum blk_dev_status */
    uint32_t pad;
};

/* Bytes of the device region of a disk of nblocks blocks. */
uint64_t blk_region_size(uint32_t nblocks);

/* Make the device region of a disk of nblocks blocks (1 to
 * BLK_BLOCKS_MAX, and a region of at most 1 GiB), every byte zero;
 * *paddr gets its start.  From a privileged thread, or from the host
 * between hs_sim_start() and hs_sim_run().  Errors: HS_EINVAL (nblocks,
 * paddr NULL), those of hs_mem_device_create() and hs_mem_phys_ptr(). */
hs_status blk_region_create(uint32_t nblocks, uint64_t *paddr);

/* The driver: read before it starts. */
struct blk_cfg {
    uint64_t paddr;             /* the device region (blk_region_create) */
    uint64_t va;                /* where to map its first BLK_WINDOW bytes
                                   (4K aligned, free) */
    uint32_t nblocks;           /* blocks of the disk */
    hs_time_t timeout;          /* how long a request may take, from its
                                   arrival (a duration, not HS_NEVER) */
};

/* What the driver did, updated as it happens (for a program or a test to
 * read once the run is over). */
struct blk_stats {
    unsigned accepted;          /* reads and writes kept */
    unsigned answered;          /* kept ones answered (landed or not) */
    unsigned stale;             /* of those, whose caller had gone */
    unsigned refused;           /* calls refused at once */
    unsigned started;           /* transfers started on the disk */
    unsigned completed;         /* ... that the disk finished */
    unsigned timeouts;          /* requests answered HS_ETIMEOUT */
    unsigned lost;              /* ... HS_EPARTNER (the disk ended) */
    unsigned spurious;          /* IRQ bits or slot states ignored */
    unsigned attached;          /* disks that attached */
    unsigned held;              /* requests held now */
    unsigned max_held;          /* most held at once */
};

/* Serve the driver's gate (bound to the calling thread, which must be in
 * a privileged process) for ever, with hs_ipc_serve() while no request is
 * held.  Maps the window and makes the driver's IRQ object, bound to the
 * calling thread; both go when it returns.  stats may be NULL.  Returns
 * only when it cannot go on: HS_EINVAL (cfg NULL, or a field out of
 * range), the error of mapping, of making the IRQ object, or of
 * receiving (the requests it holds are answered with it). */
hs_status blk_serve(hs_cap_t gate, const struct blk_cfg *cfg,
                    struct blk_stats *stats);

/* The disk: read before it starts. */
struct blk_disk_cfg {
    uint64_t paddr;             /* the device region */
    uint32_t nblocks;           /* blocks of its medium */
    hs_time_t read_latency;     /* how long a read takes */
    hs_time_t write_latency;    /* ... a write */
    unsigned hang_after;        /* after this many transfers it finishes
                                   no more (takes them, never answers);
                                   0: never */
    unsigned die_after;         /* after this many transfers its process
                                   ends (BLK_DISK_DIED) when the next one
                                   is due; 0: never */
    unsigned stall_at;          /* the stall_at-th transfer taken (from
                                   1) takes stall longer, as a disk
                                   retrying a bad sector; 0: none */
    hs_time_t stall;
};

#define BLK_DISK_DIED 5         /* the disk's exit status when it dies */

/* Play the disk: attach to the driver through capability driver (label
 * BLK_DEVICE_LABEL), then carry out the transfers it starts, for ever
 * (with hs_ipc_serve() while idle).  The calling thread must be in a
 * privileged process.  Makes its doorbell IRQ object, bound to the
 * calling thread.  Returns only when it cannot go on: HS_EINVAL (cfg
 * NULL or out of range), the attach's error (the driver's answer, or the
 * IPC error; the call waits at most one second), or the error of
 * receiving. */
hs_status blk_disk_serve(hs_cap_t driver, const struct blk_disk_cfg *cfg);

/* Read block into buf (BLK_BLOCK_SIZE bytes) through capability blk,
 * waiting at most timeout to send and timeout for the answer.  HS_OK, or
 * HS_EINVAL (buf NULL), HS_ERANGE (block past what a label holds;
 * nothing sent), the driver's error, or the IPC error.  buf is written
 * only on HS_OK. */
hs_status blk_read(hs_cap_t blk, uint64_t block, void *buf,
                   hs_time_t timeout);

/* Write buf (BLK_BLOCK_SIZE bytes) to block; as blk_read. */
hs_status blk_write(hs_cap_t blk, uint64_t block, const void *buf,
                    hs_time_t timeout);

#ifdef __cplusplus
}
#endif

#endif
