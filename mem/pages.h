/*
 * mem/pages.h - page-unit sends (hopsim/pages.h): the kernel's side.
 */
#ifndef HOPSIM_MEM_PAGES_H
#define HOPSIM_MEM_PAGES_H

#include "kern/object.h"

/* Reset the pools of sends, offers and runs for a new run; free them at
 * its end.  The frames a send still holds then are released by the
 * memory code's end of run (mem_end()), which comes first. */
void pages_start(void);
void pages_stop(void);

extern const struct kobj_type pages_type;

#endif
