/*
 * mem/frame.h - the frame pool's internals shared with mem/vm.c: block
 * counts for the check and the end of a run.  The pool's interface to the
 * rest of the kernel is in mem/vm.h (frame_*).
 */
#ifndef HOPSIM_MEM_FRAME_H
#define HOPSIM_MEM_FRAME_H

#include <stdint.h>

#include "mem/vm.h"

/* Blocks of size ps in the pool, counting a partial block at its end. */
uint32_t frame_blocks(enum page_size ps);

/* Blocks of size ps below the highest frame allocated or referenced in
 * this run (all counts beyond are zero by construction): the length of
 * the arrays frame_check() reads. */
uint32_t frame_used_blocks(enum page_size ps);

/*
 * Compare the frame metadata with the references counted elsewhere:
 * cnt[ps][i], i below frame_used_blocks(ps), is how many page-table
 * entries and kernel holds reference block i of size ps.  Also verifies the summary counts, the totals, the
 * buddy free lists (alignment, no overlap, complete coalescing, counts)
 * and that every frame is either free or referenced, never both.
 * HS_OK, or HS_ECHECK with the first difference appended to b.
 */
hs_status frame_check(uint32_t *const cnt[PS_COUNT], struct kbuf *b);

/* Forget every allocation and reference: the whole pool free again, as
 * after frame_pool_init() (the end of a run whose state is not trusted,
 * after a panic). */
void frame_pool_reset(void);

#endif
