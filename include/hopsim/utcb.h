/*
 * hopsim/utcb.h - the user-level thread control block.
 *
 * Every simulated thread has one UTCB: its "virtual registers".  A hop
 * moves the thread itself into another process, so the message registers
 * travel with it and nothing is copied; a reply comes back in the same
 * registers.  The UTCB is plain memory of the calling thread: reading and
 * writing it is not a kernel call.
 */
#ifndef HOPSIM_UTCB_H
#define HOPSIM_UTCB_H

#include <stdint.h>

#include "api.h"

HS_BEGIN_DECLS

#define HS_MR_COUNT  64   /* message registers */
#define HS_BR_COUNT  16   /* buffer registers */
#define HS_TCR_COUNT 16   /* thread control registers */

/* Buffer register indexes.  br[HS_BR_CAPS]: how many capabilities the
 * thread takes from a message it receives (typed items, hopsim/ipc.h);
 * 0, the start value, takes none.  br[HS_BR_MEM]: the flexpage
 * (HS_FPAGE) of the caller's address space where memory items of a
 * message it receives land; 0, the start value, declines them.  Buffer
 * registers keep their values from one receive to the next and are never
 * copied. */
#define HS_BR_CAPS 0
#define HS_BR_MEM  1

/* Which half of an IPC operation failed (hs_utcb()->phase). */
#define HS_PHASE_NONE 0
#define HS_PHASE_SEND 1
#define HS_PHASE_RECV 2

typedef struct hs_utcb {
    uint64_t tag;                 /* message tag (see hopsim/ipc.h) */
    uint64_t phase;               /* HS_PHASE_* of the last IPC error */
    uint64_t mr[HS_MR_COUNT];     /* message registers: travel with a hop */
    uint64_t br[HS_BR_COUNT];     /* buffer registers */
    uint64_t tcr[HS_TCR_COUNT];   /* thread control registers: private */
} hs_utcb_t;

/* The calling thread's UTCB; NULL outside a simulated thread. */
hs_utcb_t *hs_utcb(void);

HS_END_DECLS

#endif
