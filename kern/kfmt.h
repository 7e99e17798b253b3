/*
 * kern/kfmt.h - the kernel's own string formatting.
 *
 * The kernel calls no host printf.  kfmt understands a small subset:
 *   %s %c %%  and  %d %u %x  with the l / ll length modifiers,
 *   an optional '0' flag and a field width (e.g. %016llx); %s takes a
 *   width too, and a '-' flag to pad on the right (%-8s).
 * Output is always NUL terminated and silently truncated to fit.
 */
#ifndef HOPSIM_KERN_KFMT_H
#define HOPSIM_KERN_KFMT_H

#include <stdarg.h>
#include <stddef.h>

/* Buffer sizes, by what a buffer holds.  A kbuf truncates what does not
 * fit, so a size is a bound on what is shown, never on memory safety. */
#define KFMT_WORD    24      /* a number or a short word: a seed, digits */
#define KFMT_NAME    64      /* an object's name as reports write it */
#define KFMT_NOTE   160      /* a short note: a trace annotation, a list
                                of kinds */
#define KFMT_LINE   768      /* one line of a report */
#define KFMT_TABLE 4096      /* a small table: statistics, an account */

/* A bounded string being appended to. */
struct kbuf {
    char *buf;
    size_t cap;        /* bytes in buf, including the final NUL */
    size_t len;        /* bytes written so far, excluding the NUL */
    int truncated;     /* something did not fit */
};

void kbuf_init(struct kbuf *b, char *buf, size_t cap);
void kbuf_printf(struct kbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void kbuf_vprintf(struct kbuf *b, const char *fmt, va_list ap);

/* Format into buf (cap bytes); returns the length written. */
size_t kfmt(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Bounded string copy: at most cap - 1 bytes, always NUL terminated. */
void kstrlcpy(char *dst, const char *src, size_t cap);

/* Length of s, or max + 1 if it is longer than max. */
size_t kstrnlen(const char *s, size_t max);

#endif
