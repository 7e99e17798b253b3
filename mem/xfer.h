/*
 * mem/xfer.h - memory transfers: the memory items of a message or a hop
 * (hopsim/ipc.h, "Typed items") taken from one address space into
 * another.
 *
 * A transfer is checked in two steps and then applied:
 *
 *   xfer_items_check()  the sender's side: every memory item well formed,
 *                       its range mapped and held with the rights passed;
 *   xfer_prepare()      the receiver's side, for a given window: where
 *                       each item lands, that nothing is mapped there,
 *                       quota, page tables of both sides, and the frames
 *                       of copies (taken now, held by the plan);
 *   xfer_apply()        maps, unmaps and counts; cannot fail.
 *
 * A plan that is not applied is given back with xfer_cancel().  All of it
 * runs with the kernel lock held, and the three steps of one transfer run
 * within one kernel entry, so nothing changes between them.
 */
#ifndef HOPSIM_MEM_XFER_H
#define HOPSIM_MEM_XFER_H

#include <stdint.h>

#include "hopsim/utcb.h"

struct proc;
struct thread;

#define XFER_ITEMS_MAX (HS_MR_COUNT / 2)

/* What xfer_prepare() found for the memory items of one message. */
struct xfer_plan {
    unsigned n;                     /* memory items (0: nothing to do) */
    int declined;                   /* the window was 0 */
    uint64_t dst[XFER_ITEMS_MAX];   /* where item k (k-th memory item)
                                       lands */
    uint64_t copies[XFER_ITEMS_MAX];/* a copy item's frames: the first
                                       block, each linked to the next
                                       through its first word;
                                       XFER_NO_FRAME ends the chain */
    unsigned char copy_ps[XFER_ITEMS_MAX];  /* their enum page_size */
};

#define XFER_NO_FRAME (~(uint64_t)0)

/* An empty plan: nothing to apply, nothing to cancel. */
static inline void xfer_plan_init(struct xfer_plan *plan)
{
    plan->n = 0;
}

/* Whether w is a well-formed window flexpage (0 included: decline). */
int xfer_window_valid(uint64_t w);

/*
 * The sender's side of the memory items of the message (tag, mr) sent
 * from process from: each well formed (HS_EINVAL; the first register
 * must say HS_ITEM_MEM; other item types are skipped), inside 48 bits
 * (HS_ERANGE), ranges of distinct items disjoint (HS_EINVAL), every page
 * mapped (HS_ENOMAP) with at least the protection passed and neither
 * direct nor (for a move or copy-on-write) special (HS_EPERM).  The tag
 * is valid (the caller checked it).
 */
hs_status xfer_items_check(struct proc *from, uint64_t tag,
                           const uint64_t *mr);

/* Whether the items of (tag, mr) are all memory items and well formed
 * (HS_EINVAL), without looking at any mapping: the check of a hop. */
hs_status xfer_items_form(uint64_t tag, const uint64_t *mr);

/*
 * The receiver's side, after xfer_items_check() passed: lay the memory
 * items out in window (0: declined; malformed: HS_EMSGCUT) of process to
 * and check that they land (HS_EMSGCUT, HS_EEXIST, HS_EQUOTA, HS_ENOMEM),
 * that the
 * sender's page tables can be split where a move or copy-on-write cuts a
 * large page (HS_ENOMEM), and take the frames of copies (HS_ENOFRAME).
 * On success the plan holds all of it, to be applied or cancelled; on
 * failure nothing is held.
 */
hs_status xfer_prepare(struct proc *from, struct proc *to, uint64_t tag,
                       const uint64_t *mr, uint64_t window,
                       struct xfer_plan *plan);

/* Give back what a prepared plan holds; it is empty afterwards. */
void xfer_cancel(struct xfer_plan *plan);

/*
 * Carry out a prepared plan: every memory item of (tag, mr) goes from
 * process from to process to, and out[w + 2i + 1] gets the flexpage
 * where item i landed (0 if declined).  out may be mr itself (a hop) or
 * the receiver's copy of it (IPC).  t, the thread doing it, names the
 * events.  Cannot fail; the plan is empty afterwards.
 */
void xfer_apply(struct thread *t, struct proc *from, struct proc *to,
                uint64_t tag, const uint64_t *mr, uint64_t *out,
                struct xfer_plan *plan);

#endif
