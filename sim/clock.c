/*
 * sim/clock.c - the virtual clock and its timers.
 *
 * Time is simulated nanoseconds.  It moves only when the kernel advances it
 * (when no thread can run, to the earliest deadline), so a thousand
 * one-second sleeps cost no wall time.  Armed timers sit in a binary
 * min-heap ordered by (deadline, arming order): expiry order is fully
 * deterministic.  Called under the kernel lock only.
 */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "hopsim/time.h"
#include "sim/platform.h"

hs_time_t plat_clock_ns;
static uint64_t arm_seq;
static plat_timer **heap;     /* heap[0] is the earliest */
static uint32_t heap_len, heap_cap;

static int earlier(const plat_timer *a, const plat_timer *b)
{
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline;
    return a->seq < b->seq;
}

static void heap_place(uint32_t i, plat_timer *t)
{
    heap[i] = t;
    t->slot = i + 1;
}

static void sift_up(uint32_t i)
{
    plat_timer *t = heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!earlier(t, heap[parent]))
            break;
        heap_place(i, heap[parent]);
        i = parent;
    }
    heap_place(i, t);
}

static void sift_down(uint32_t i)
{
    plat_timer *t = heap[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= heap_len)
            break;
        if (child + 1 < heap_len && earlier(heap[child + 1], heap[child]))
            child++;
        if (!earlier(heap[child], t))
            break;
        heap_place(i, heap[child]);
        i = child;
    }
    heap_place(i, t);
}

void plat_clock_reset(void)
{
    plat_clock_ns = 0;
    arm_seq = 0;
    heap_len = 0;
}

void plat_clock_release(void)
{
    for (uint32_t i = 0; i < heap_len; i++)
        heap[i]->slot = 0;
    free(heap);
    heap = NULL;
    heap_len = heap_cap = 0;
}

void plat_clock_advance(hs_time_t t)
{
    if (t > plat_clock_ns)
        plat_clock_ns = t;
}

hs_status plat_timer_reserve(size_t n)
{
    if (n <= heap_cap)
        return HS_OK;
    size_t cap = heap_cap ? heap_cap : 64;
    while (cap < n)
        cap *= 2;
    if (cap > UINT32_MAX)
        return HS_ENOMEM;
    plat_timer **h = realloc(heap, cap * sizeof *h);
    if (!h)
        return HS_ENOMEM;
    heap = h;
    heap_cap = (uint32_t)cap;
    return HS_OK;
}

void plat_timer_arm(plat_timer *t, hs_time_t deadline)
{
    t->deadline = deadline;
    t->seq = arm_seq++;
    heap_place(heap_len, t);
    heap_len++;
    sift_up(heap_len - 1);
}

void plat_timer_cancel_armed(plat_timer *t)
{
    uint32_t i = t->slot - 1;
    t->slot = 0;
    heap_len--;
    if (i == heap_len)
        return;
    heap_place(i, heap[heap_len]);
    if (i > 0 && earlier(heap[i], heap[(i - 1) / 2]))
        sift_up(i);
    else
        sift_down(i);
}

int plat_timer_next(hs_time_t *deadline)
{
    if (!heap_len)
        return 0;
    *deadline = heap[0]->deadline;
    return 1;
}

plat_timer *plat_timer_expired(void)
{
    if (!heap_len || heap[0]->deadline > plat_clock_ns)
        return NULL;
    plat_timer *t = heap[0];
    plat_timer_cancel(t);
    return t;
}

uint64_t hs_time_host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
