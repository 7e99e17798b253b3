/*
 * examples/pager/pager.h - a pager doing demand paging with eviction: it
 * backs a region of its clients' address spaces with a fixed number of
 * frames of its own, and a backing store (a simulated swap area in its
 * own memory) for the pages that do not fit.
 *
 * A client attaches, which makes the pager's port its pager
 * (hs_mem_pager_set).  From then on, a touch of a page of the region that
 * is not mapped faults, and the fault arrives at the pager
 * (hopsim/mem.h).  The pager fills one of its frames with the page --
 * zeroes at the first touch, the page's saved contents after that -- and
 * resolves the fault by sharing the frame into the client
 * (hs_mem_fault_resolve, HS_XFER_SHARE, read and write): the client's
 * accesses then go straight to the frame, and the access that faulted
 * completes as if nothing had happened.  With all frames in use, the
 * fault first evicts the page in the frame the clock hand is at: the
 * pager takes the client's mapping back (hs_mem_revoke: the client's
 * next touch faults again), then saves the frame to the page's place in
 * the backing store.  So the clients never have more than cfg.frames
 * pages of the region mapped, all together, and every read returns what
 * its client last wrote there, whatever was evicted in between.
 *
 * The protocol, for porting the pager or writing a client by hand.  The
 * pager serves one named port.  Clients hop through it with a
 * checkpoint, mr[0] the operation and mr[1] the timeout (hopsim/time.h)
 * the pager's answer may take to be started on and to come; the reply's
 * mr[0] is an hs_status (HS_ETIMEOUT when it did not come in time).  The
 * client is the process the hop comes from (hs_hop_source): nothing in
 * the message names it.
 *
 *   attach   the caller becomes a client, its pages of the region all
 *            untouched (zero).  HS_OK; HS_EEXIST (attached already);
 *            HS_ELIMIT (cfg.clients attached; a client that ended
 *            without detaching is let go first, once it is reaped).
 *            A client whose answer did not land is let go again.
 *   detach   the caller is a client no more: every page of it the pager
 *            holds is taken back (unmapped in the client) and its
 *            backing store forgotten, whether or not the answer lands.
 *            HS_OK; HS_ENOENT (not a client); the error of
 *            hs_mem_revoke, with the pages taken so far let go and the
 *            rest still the client's.
 *   other    HS_EINVAL.
 *
 * A page fault hop (mr[0] == HS_PF_LABEL) of an attached client at a
 * page of the region, for a read or a write, is answered as above.  Any
 * other fault is refused (the kernel kills the faulting thread): a
 * process that is not a client, an address outside the region, an
 * execute access, a special portal's page, a write to a page the client
 * itself made read-only, or a fault that found no frame to evict (every
 * hs_mem_revoke failing) or no room in the client's page tables.  The
 * faulting process is the one the hop came from (hs_hop_source), never
 * what the message says.
 *
 * Inside the pager one thread (the one that called pager_serve) owns
 * every table and does all the work, in the order messages reach its
 * gate: the port's handler only passes each hop on to it by IPC, so no
 * two faults ever touch the tables at once and no lock is needed.  A
 * page-in and a page-out may take simulated time (cfg.io_time, the
 * disk): the faults behind them wait their turn, and every client thread
 * not waiting on a fault goes on running, writing to its mapped pages.
 *
 * What it shows: a user-level pager that owns the frames its clients
 * use, giving them out and taking them back; the resident set bounded
 * whatever the clients do; and the two moves eviction needs in that
 * order -- first take the mapping back, then save the frame -- so that
 * no write a client makes can fall between the save and the unmap.
 *
 * What it does not do.  The model has no accessed bits, so the clock
 * gives no second chance: its hand goes round the frames in order, and
 * pages leave first in, first out (a frame freed by a detach is taken
 * next, out of turn).  Pages are read and written whole, and a clean
 * page is saved again.  A client that ends without detaching keeps its
 * slot until it is reaped and its frames until they are evicted.  A
 * fault is taken from the kernel's mark on its hop (hs_hop_fault()),
 * never from the message, so a client that hops in with a look-alike
 * fault message, even naming another client's pending fault, is
 * ignored.  pager_serve() returns only when it cannot go on; the faults
 * whose messages are then on their way wait until the pager's process
 * ends (which kills their threads), so its caller should end the
 * process.
 */
#ifndef EXAMPLES_PAGER_PAGER_H
#define EXAMPLES_PAGER_PAGER_H

#include "hopsim.h"

#ifdef __cplusplus
extern "C" {
#endif

enum pager_op {
    PAGER_ATTACH = 1,
    PAGER_DETACH = 2,
};

#define PAGER_FRAMES_MAX 64     /* cfg.frames at most */
#define PAGER_PAGES_MAX 64      /* cfg.pages at most */
#define PAGER_CLIENTS_MAX 8     /* cfg.clients at most */

/* Where the pager keeps its frames and its backing store, in its own
 * address space: frame i at PAGER_FRAMES_VA + i * 4K, the backing store
 * of client slot c's page p at PAGER_SWAP_VA + (c * cfg.pages + p) * 4K.
 * Its process must leave these free. */
#define PAGER_FRAMES_VA ((uint64_t)1 << 32)
#define PAGER_SWAP_VA ((uint64_t)2 << 32)

/* What the pager does; read once, at its start. */
struct pager_cfg {
    uint64_t region;        /* first page of the region in every client
                               (4K aligned) */
    unsigned pages;         /* its length in pages, 1..PAGER_PAGES_MAX */
    unsigned frames;        /* frames the pager shares out at most,
                               1..PAGER_FRAMES_MAX */
    unsigned clients;       /* clients attached at once,
                               1..PAGER_CLIENTS_MAX */
    hs_time_t io_time;      /* simulated time a page takes to be read
                               in or written out, 0 or more */
};

/* What happened, updated as it happens (for a program or a test to read
 * once the run is over). */
struct pager_stats {
    unsigned faults;        /* fault messages taken */
    unsigned zero_fills;    /* pages given zeroed, at their first touch */
    unsigned swap_ins;      /* pages given back from the backing store */
    unsigned remaps;        /* faults on a page still in its frame */
    unsigned evictions;     /* pages taken back and saved */
    unsigned refused;       /* faults refused */
    unsigned stale;         /* faults whose thread was gone by the answer */
    unsigned resident;      /* frames holding a page now */
    unsigned resident_max;  /* most at once */
    unsigned attached;      /* clients now */
};

/* Serve the pager under the port name name, with the calling thread as
 * the one that does the work, for ever, with hs_ipc_serve(): a run left
 * with only the pager ends normally.  stats may be NULL.  Maps
 * cfg->frames frames and the backing store (cfg->clients * cfg->pages
 * pages) first, and publishes the port, with its handler, last
 * (hs_port_create_named_handler), so that a client that finds it finds
 * the pager ready.  Returns only when it cannot go on: HS_EINVAL (cfg
 * NULL or out of range, the region past 48 bits), the error of mapping
 * its memory, creating its gate or its port (having given back what it
 * made), or of receiving. */
hs_status pager_serve(const char *name, const struct pager_cfg *cfg,
                      struct pager_stats *stats);

/* Attach the caller's process to the pager serving port, then make that
 * port its pager.  The pager takes at most timeout to start on the
 * request and timeout to answer it (HS_ETIMEOUT, attached not).
 * HS_OK, the protocol's errors (HS_EEXIST, HS_ELIMIT), or the error of
 * the hop or of hs_mem_pager_set (after which it detaches again). */
hs_status pager_attach(hs_port_t port, hs_time_t timeout);

/* Detach the caller's process, then set its pager to none.  HS_OK, the
 * protocol's errors (HS_ENOENT, ...), or the error of the hop. */
hs_status pager_detach(hs_port_t port, hs_time_t timeout);

#ifdef __cplusplus
}
#endif

#endif
