/*
 * kern/panic.h - a broken kernel invariant ends the run.
 *
 * Declared in the base so that every layer can assert; defined by the
 * kernel (run/kernel.c), which writes the report, names the thread and
 * its backtrace, and ends the run with HS_EPANIC.
 */
#ifndef HOPSIM_KERN_PANIC_H
#define HOPSIM_KERN_PANIC_H

/* A broken kernel invariant: report msg, end the run with HS_EPANIC. */
_Noreturn void kernel_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#define KASSERT(cond, what) \
    do { if (!(cond)) kernel_panic("invariant broken: %s", what); } while (0)

#endif
