/*
 * mem/device.c - simulated device regions: physically contiguous ranges
 * of the pool, held by the kernel until the run ends, that a test or the
 * host plays as a device's registers and a driver maps with a direct
 * portal.
 *
 * A region is carved out of one free block of the smallest page size that
 * holds it (4K, 2M or 1G): the allocator only promises contiguity inside a
 * block.  The whole block is held; the region is its first size bytes.
 */
#include "kern/event.h"
#include "core/kernel.h"
#include "mem/device.h"
#include "mem/vm.h"

struct device {
    struct mem_hold hold;       /* the whole block */
    uint64_t pa, size;          /* the region */
};

static struct device devices[HS_DEVICES_MAX];
static unsigned ndevices;

void device_init(void)
{
    ndevices = 0;
}

/* The end of the run (mem_end()) dropped every hold already. */
void device_release(void)
{
    ndevices = 0;
}

hs_status device_range_check(uint64_t pa, uint64_t len)
{
    if (pa + len < pa || !frame_in_pool(pa, len))
        return HS_ERANGE;
    for (unsigned i = 0; i < ndevices; i++) {
        const struct device *d = &devices[i];
        if (pa >= d->pa && pa + len <= d->pa + d->size)
            return HS_OK;
    }
    return HS_EPERM;
}

/* Who may play with devices: a core server, or the host before the run. */
static hs_status device_caller(struct thread **self)
{
    *self = NULL;
    if (!k.started)
        return HS_ESTATE;
    if (!kern.running)
        return HS_OK;
    *self = kernel_enter();
    if (!*self)
        return HS_ESTATE;
    if (!thread_current_proc(*self)->privileged) {
        kernel_leave(*self);
        *self = NULL;
        return HS_EPERM;
    }
    return HS_OK;
}

static hs_status device_create(uint64_t size, uint64_t *paddr)
{
    if (ndevices == HS_DEVICES_MAX)
        return HS_ELIMIT;
    enum page_size ps = PS_4K;
    while (ps_bytes(ps) < size)
        ps++;
    uint64_t pa;
    hs_status st = frame_alloc(ps, 1, &pa);
    if (st != HS_OK)
        return st;
    struct device *d = &devices[ndevices++];
    d->hold = (struct mem_hold){ .pa = pa, .len = ps_bytes(ps), .ps = ps };
    d->pa = pa;
    d->size = size;
    mem_hold_add(&d->hold);
    event_record(EV_DEVICE_CREATE, kernel_current(), pa, size);
    *paddr = pa;
    return HS_OK;
}

hs_status hs_mem_device_create(uint64_t size, uint64_t *paddr)
{
    if (!paddr || !size || (size & (HS_PAGE_4K - 1)) || size > HS_PAGE_1G)
        return HS_EINVAL;
    struct thread *self;
    hs_status st = device_caller(&self);
    if (st != HS_OK)
        return st;
    st = device_create(size, paddr);
    if (self)
        kernel_leave(self);
    return st;
}

hs_status hs_mem_phys_ptr(uint64_t paddr, size_t len, void **out)
{
    if (!out || !len)
        return HS_EINVAL;
    struct thread *self;
    hs_status st = device_caller(&self);
    if (st != HS_OK)
        return st;
    st = device_range_check(paddr, len);
    if (st == HS_OK)
        *out = frame_host(paddr);
    if (self)
        kernel_leave(self);
    return st;
}
