/*
 * hopsim/pages.h - page-unit send (seed 003): a thread sends npages 4K
 * pages of its memory to one process, to its own process, to every
 * process, or to every process but its own.  Each receiving process is
 * interrupted like a signal, on the thread that registered a handler for
 * the message's type (hs_notify_type_register, hopsim/notify.h), and
 * accepts the pages at an address of its choice or abandons them.
 *
 * Flags (the seed's bits):
 *
 *   bit 0  HS_PAGES_SENDER_RW    the sender keeps its access to the range;
 *                                without it the range becomes read-only
 *                                (HS_PROT_READ) in the sender's process
 *                                when the send starts
 *   bit 1  HS_PAGES_RECEIVER_RW  a receiver maps the pages read/write;
 *                                without it read-only, and it cannot raise
 *                                them (their most is HS_PROT_READ).  Needs
 *                                every page of the range writable in the
 *                                sender (HS_EPERM otherwise)
 *   bit 2  HS_PAGES_DUP          duplicate: the sender keeps the pages and
 *                                every receiver that accepts maps the same
 *                                frames (counted, marked HS_MEM_SHARED);
 *                                without it the pages move: the sender's
 *                                range is unmapped when the receiver
 *                                accepts, and stays if it abandons
 *   bits 3-4 the target          HS_PAGES_TO_ONE (process pid),
 *                                HS_PAGES_TO_SELF (the caller's process:
 *                                another of its threads registered the
 *                                type), HS_PAGES_TO_ALL, HS_PAGES_TO_OTHERS
 *                                (all but the caller's process).  The last
 *                                two need HS_PAGES_DUP: one set of pages
 *                                cannot move to several processes
 *
 * The message.  A receiver's handler gets slot HS_NOTIFY_TYPED, the type,
 * and six words: HS_PAGES_W_PID (the sender's process), HS_PAGES_W_TYPE,
 * HS_PAGES_W_VA (the range in the sender), HS_PAGES_W_NPAGES,
 * HS_PAGES_W_FLAGS and HS_PAGES_W_OFFER (this receiver's offer, for
 * hs_pages_accept).  It decides once: hs_pages_accept() maps the pages
 * and takes the message; hs_notify_abandon() (or returning without a
 * decision) abandons them; hs_notify_take() alone takes the message but
 * not the pages, which counts as abandoning them.
 *
 * Frames.  From the send until the last receiver decides, the kernel
 * holds one reference on every frame of the range (at the size of the
 * sender's page when the range covers it whole, else at 4K), so whatever
 * the sender's process does meanwhile, a receiver gets exactly the frames
 * that were sent.  A receiver maps them at the sender's page size where
 * its address is aligned alike, else in 4K pages.
 *
 * Events (cfg.event_fn, HOPSIM_LOG): pages_send (sender; a = va, b =
 * targets), pages_accept (receiver; a = its address, b = npages),
 * pages_abandon (receiver or sender; a = npages, b = why: HS_EABANDONED,
 * HS_EPARTNER for a receiver that ended, HS_ETIMEOUT for an offer
 * withdrawn by the sender's timeout or end).
 */
#ifndef HOPSIM_PAGES_H
#define HOPSIM_PAGES_H

#include <stdint.h>

#include "api.h"
#include "mem.h"
#include "notify.h"
#include "proc.h"
#include "status.h"
#include "time.h"

HS_BEGIN_DECLS

#define HS_PAGES_SENDER_RW   0x01u
#define HS_PAGES_RECEIVER_RW 0x02u
#define HS_PAGES_DUP         0x04u
#define HS_PAGES_TO_ONE      0x00u
#define HS_PAGES_TO_SELF     0x08u
#define HS_PAGES_TO_ALL      0x10u
#define HS_PAGES_TO_OTHERS   0x18u
#define HS_PAGES_TO_MASK     0x18u

/* The words of a page message (hs_notification.words). */
#define HS_PAGES_W_PID    0
#define HS_PAGES_W_TYPE   1
#define HS_PAGES_W_VA     2
#define HS_PAGES_W_NPAGES 3
#define HS_PAGES_W_FLAGS  4
#define HS_PAGES_W_OFFER  5
#define HS_PAGES_WORDS    6

/* One receiver's offer (HS_PAGES_W_OFFER). */
typedef uint64_t hs_pages_offer_t;

/*
 * Send the npages 4K pages at va of the caller's process, with flags
 * (above), as a message of type: to process pid for HS_PAGES_TO_ONE (pid
 * 0 otherwise).  For ALL and OTHERS, processes without a registration for
 * type are skipped.  The caller waits until every receiver has decided,
 * or timeout (HS_NEVER, or a duration; HS_NOWAIT withdraws the messages
 * at once, which is HS_ETIMEOUT).
 *
 * *taken (taken may be NULL) is set to the number of receivers that
 * accepted, whatever the result.  ONE and SELF return HS_OK when the
 * receiver accepted, else its decision: HS_EABANDONED, or HS_EPARTNER
 * (the receiving thread ended first).  ALL and OTHERS return HS_OK once
 * all have decided, however many accepted.  HS_ETIMEOUT: the receivers
 * still deciding are told nothing more (a message not yet delivered is
 * withdrawn; one being handled can no longer be accepted, HS_ESTALE);
 * those that accepted before keep the pages.
 *
 * Moved pages that no receiver accepted stay with the sender; the
 * sender's access is as bit 0 says from the start of the send, whatever
 * the outcome.
 *
 * Errors, nothing changed: HS_ESTATE (not in a simulated thread),
 * HS_EINVAL (unknown flags, ALL or OTHERS without HS_PAGES_DUP, pid not
 * 0 for a target other than ONE, npages 0, va not 4K aligned, bad
 * timeout), HS_ERANGE (the range wraps or leaves the 48-bit space),
 * HS_ENOMAP (a page of the range is not mapped), HS_EPERM (a page is not
 * readable, or not writable for HS_PAGES_RECEIVER_RW, or is a direct,
 * special or copy-on-write page), HS_ESRCH (ONE: no such live process),
 * HS_ENOHANDLER (ONE, SELF: no registration of type there; ALL, OTHERS:
 * none anywhere), HS_EDEADLK (the registered thread is the caller),
 * HS_ELIMIT (a receiver's queue is full), HS_ENOMEM.
 */
hs_status hs_pages_send(hs_pid_t pid, uint32_t type, uint64_t va,
                        uint64_t npages, unsigned flags, hs_time_t timeout,
                        unsigned *taken);

/*
 * From the handler of a page message: map its pages at dst_va (4K
 * aligned) in the receiving process (the one whose registration it
 * came through), with the access the sender's flags give, and take the
 * message.  A move unmaps the pages
 * from the sender (those of its range that still map the frames sent).
 * Each page mapped is derived from the sender's page that still maps its
 * frames, if any (HS_MEM_DERIVED, hs_mem_revoke in hopsim/mem.h): the
 * sender of a duplicate takes it back with hs_mem_revoke; after a move
 * the page moves up to what the sender's page was derived from, as when
 * any page in the middle of a chain is unmapped.
 * The sender learns the decision at once.
 * Errors, nothing changed: HS_ESTATE (not in a simulated thread, or not
 * in the handler of a page message, or it is decided already), HS_ESTALE
 * (no such offer: withdrawn by the sender's timeout or end), HS_EPERM
 * (the offer is not the message this handler handles), HS_EINVAL (dst_va
 * not 4K aligned), HS_ERANGE, HS_EEXIST (some page at dst_va is mapped),
 * HS_EQUOTA (HS_RES_MAPPED), HS_ENOMEM (also: no mapping-database node
 * left, cfg.max_map_nodes).
 */
hs_status hs_pages_accept(hs_pages_offer_t offer, uint64_t dst_va);

HS_END_DECLS

#endif
