/*
 * hopsim.h - the public API of hopsim, a hosted simulator of a microkernel
 * IPC model.  Include this header only; it includes one header per module.
 *
 * Every exported name starts with hs_ (HS_ for constants).  Every call
 * returns an hs_status, or a value plus one through an out parameter, and
 * validates all its arguments before it changes anything: a refused call
 * leaves the simulated kernel exactly as it was.
 */
#ifndef HOPSIM_H
#define HOPSIM_H

#include "hopsim/api.h"
#include "hopsim/status.h"
#include "hopsim/time.h"
#include "hopsim/sim.h"
#include "hopsim/proc.h"
#include "hopsim/thread.h"
#include "hopsim/utcb.h"
#include "hopsim/port.h"
#include "hopsim/hop.h"
#include "hopsim/cap.h"
#include "hopsim/ipc.h"
#include "hopsim/irq.h"
#include "hopsim/chan.h"
#include "hopsim/topic.h"
#include "hopsim/notify.h"
#include "hopsim/factory.h"
#include "hopsim/explore.h"
#include "hopsim/mem.h"
#include "hopsim/portal.h"
#include "hopsim/pages.h"

#endif
