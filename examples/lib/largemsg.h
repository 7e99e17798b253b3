/*
 * examples/lib/largemsg.h - large messages (seed 004): a small header on a
 * channel (or in a gate message) naming a buffer that the receiver maps
 * lazily, page by page, on its first access.
 *
 * Small messages need none of this: up to 8 words (64 bytes) go through a
 * gate on the register fast path (hopsim/ipc.h), or in a channel slot of
 * at most 64 bytes (hopsim/chan.h).  A large message is an lm_header
 * (48 bytes, so it is itself a small message) plus a buffer that never
 * travels through the channel:
 *
 *   sender    lm_offer()   records the buffer [va, va + len) as an offer
 *                          of its process and fills the header;
 *             lm_send()    the same, then sends the header on a channel;
 *   receiver  lm_open()    reserves [dst, dst + len) for it: nothing is
 *                          mapped there yet;
 *             lm_recv()    receives the header from a channel, then opens;
 *             lm_release() unmaps what was mapped and ends the offer.
 *
 * Lazy mapping.  The first access of the receiver to a page of the range
 * faults; the library's pager (its port is the receiving process's pager,
 * hs_mem_pager_set) hops into the sender's port, whose handler hops back
 * offering that one page as a memory item (hopsim/ipc.h, "Typed items")
 * with the offer's mode; the receiver's handler accepts it at the faulting
 * page and the fault is resolved.  So each page is mapped by the kernel's
 * own transfer, with its exact semantics, when it is first touched:
 *
 *   HS_XFER_MOVE   the receiver maps the sender's frame and the sender's
 *                  page is unmapped (pages never touched stay with the
 *                  sender, as a declined move does);
 *   HS_XFER_SHARE  both map the same frame;
 *   HS_XFER_COW    both map the same frame read-only, and the first write
 *                  of either side gets a private copy.  lm_offer() makes
 *                  the sender's range copy-on-write at once (an
 *                  HS_PORTAL_COW view kept until the offer ends), so the
 *                  receiver sees the buffer as it was at the offer,
 *                  whatever the sender writes afterwards;
 *   HS_XFER_COPY   the receiver gets a fresh frame holding a copy of the
 *                  sender's page as it is at the receiver's first access
 *                  (the sender should not write the buffer until the
 *                  offer ends: lm_offers_pending()).
 *
 * A page the receiver never touches is never mapped in it, and no page is
 * copied for move, share or cow.  Each process that uses the library gets
 * one port (lender and pager at once), created on first use, and one page
 * of state at LM_STATE_VA.  The receiving process's pager is the library's:
 * a fault outside every opened range is refused (the faulting thread dies
 * with HS_EFAULT, as for an unhandled fault), as is a write to a page
 * mapped without write access.  If the sender's process has ended, a
 * first touch fails the same way.  Meant for one simulated CPU (the state
 * page has no lock).
 */
#ifndef EXAMPLES_LIB_LARGEMSG_H
#define EXAMPLES_LIB_LARGEMSG_H

#include "hopsim.h"

#define LM_MAGIC 0x6c61726765313030ull      /* "large100" */
#define LM_LABEL 0x6c6d7367u                /* "lmsg": protocol of the hops */
#define LM_STATE_VA ((uint64_t)0x6f0000000000)  /* a page of library state */
#define LM_HOLD_VA ((uint64_t)0x6e0000000000)   /* copy-on-write views */
#define LM_LEN_MAX ((uint64_t)1 << 30)      /* bytes of one buffer */
#define LM_OFFERS_MAX 32                    /* open offers of one process */
#define LM_REGIONS_MAX 32                   /* opened messages of one */

/* What travels: 48 bytes, a small message. */
typedef struct lm_header {
    uint64_t magic;         /* LM_MAGIC */
    hs_port_t port;         /* the sender's port */
    hs_pid_t pid;           /* the sender's process */
    uint64_t offer;         /* the offer, in the sender */
    uint64_t len;           /* bytes of the buffer */
    uint32_t mode;          /* HS_XFER_* */
    uint32_t prot;          /* what the receiver gets: HS_PROT_* */
} lm_header;

_Static_assert(sizeof(lm_header) == 48, "a header is a small message");

/* An opened message in the receiver. */
typedef struct lm_msg {
    lm_header h;
    uint64_t va;            /* where the buffer appears in the receiver */
} lm_msg;

/*
 * Offer [va, va + len) of the caller's process (va 4K aligned, len 1 ..
 * LM_LEN_MAX, every page mapped with at least prot) with mode and prot
 * (HS_PROT_*, not 0; HS_XFER_COW needs HS_PROT_READ) to process to, and
 * fill *h for it.  Only to may open it: the library's port is given to
 * to (hs_port_grant), and a fetch or release from any other process is
 * refused with HS_EPERM.  Errors: HS_ESTATE, HS_EINVAL (also: to is 0),
 * HS_ESRCH (to is not a live process), HS_ELIMIT (LM_OFFERS_MAX, or the
 * port given to HS_PORT_GRANTS_MAX live processes), HS_ENOMAP, HS_EPERM,
 * and those of hs_mem_map, hs_port_create and hs_portal.
 */
hs_status lm_offer(hs_pid_t to, uint64_t va, uint64_t len, unsigned mode,
                   unsigned prot, lm_header *h);

/* lm_offer() to process to, then hs_chan_send() of the header on c
 * (msg_max >= 48).  A header the channel refuses withdraws the offer.
 * Errors as both. */
hs_status lm_send(hs_chan *c, hs_pid_t to, uint64_t va, uint64_t len,
                  unsigned mode, unsigned prot);

/*
 * Open the message h describes at dst (4K aligned) in the caller's
 * process: [dst, dst + len rounded up to 4K) must be wholly unmapped, and
 * stays so until each page is first accessed.  Errors: HS_ESTATE,
 * HS_EINVAL (a NULL pointer, a bad header, dst not aligned), HS_ERANGE,
 * HS_EEXIST (a page of the range is mapped, or overlaps an opened
 * message), HS_ELIMIT (LM_REGIONS_MAX), HS_ESRCH (the sender has
 * ended), and those of hs_mem_map, hs_port_create, hs_mem_pager_set and
 * hs_port_grant (the library's port is given to the sender, which hops
 * back into it with each page).
 */
hs_status lm_open(const lm_header *h, uint64_t dst, lm_msg *m);

/* Receive a header from c (timeout as hs_chan_recv) and open it at dst.
 * Errors as both; a header that does not open is released. */
hs_status lm_recv(hs_chan *c, uint64_t dst, lm_msg *m, hs_time_t timeout);

/* Unmap every page of m's range that was mapped, forget the range, and
 * tell the sender the offer is over (it closes its copy-on-write view).
 * Errors: HS_ESTATE, HS_EINVAL, HS_ENOENT (m is not open). */
hs_status lm_release(lm_msg *m);

/* Offers of the caller's process not yet released.  Errors: HS_ESTATE,
 * HS_EINVAL. */
hs_status lm_offers_pending(unsigned *n);

#endif
