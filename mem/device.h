/*
 * mem/device.h - simulated device regions (mem/device.c): physically
 * contiguous ranges of the pool the kernel holds for the whole run, the
 * only ranges a direct portal may map.
 */
#ifndef HOPSIM_MEM_DEVICE_H
#define HOPSIM_MEM_DEVICE_H

#include <stdint.h>

#include "hopsim/status.h"

/* A new run has no device; the end of a run releases them all. */
void device_init(void);
void device_release(void);

/* Whether [pa, pa + len) lies inside one device region: HS_OK, HS_ERANGE
 * (outside the pool, or wrapping), HS_EPERM (not inside one region). */
hs_status device_range_check(uint64_t pa, uint64_t len);

#endif
