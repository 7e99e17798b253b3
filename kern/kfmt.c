/*
 * kern/kfmt.c - the kernel's own string formatting (see kfmt.h).
 */
#include <stdint.h>

#include "kern/kfmt.h"

void kbuf_init(struct kbuf *b, char *buf, size_t cap)
{
    b->buf = buf;
    b->cap = cap;
    b->len = 0;
    b->truncated = 0;
    if (cap)
        buf[0] = '\0';
}

static void put(struct kbuf *b, char c)
{
    if (b->len + 1 < b->cap) {
        b->buf[b->len++] = c;
        b->buf[b->len] = '\0';
    } else {
        b->truncated = 1;
    }
}

static void put_num(struct kbuf *b, uint64_t v, int neg, unsigned base,
                    unsigned width, char pad)
{
    char digits[KFMT_WORD];
    unsigned n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        digits[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    unsigned len = n + (neg ? 1 : 0);
    if (neg && pad == '0')
        put(b, '-');
    for (; len < width; len++)
        put(b, pad);
    if (neg && pad != '0')
        put(b, '-');
    while (n)
        put(b, digits[--n]);
}

/* Read one integer argument of the given length (0: int, 1: long,
 * 2: long long) as signed or unsigned. */
static uint64_t arg_int(va_list *ap, int lng, int is_signed, int *neg)
{
    *neg = 0;
    if (is_signed) {
        long long v = lng == 2 ? va_arg(*ap, long long)
                    : lng == 1 ? va_arg(*ap, long) : va_arg(*ap, int);
        if (v < 0) {
            *neg = 1;
            return (uint64_t)0 - (uint64_t)v;
        }
        return (uint64_t)v;
    }
    return lng == 2 ? va_arg(*ap, unsigned long long)
         : lng == 1 ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned);
}

/* s padded with spaces to width, on the left or (left set) the right. */
static void put_str(struct kbuf *b, const char *s, unsigned width, int left)
{
    size_t n = kstrnlen(s, width);
    for (size_t i = n; !left && i < width; i++)
        put(b, ' ');
    for (; *s; s++)
        put(b, *s);
    for (size_t i = n; left && i < width; i++)
        put(b, ' ');
}

void kbuf_vprintf(struct kbuf *b, const char *fmt, va_list ap0)
{
    va_list ap;
    va_copy(ap, ap0);
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            put(b, *p);
            continue;
        }
        p++;
        char pad = ' ';
        unsigned width = 0;
        int lng = 0;
        int left = 0;
        if (*p == '-')
            left = 1, p++;
        if (*p == '0')
            pad = '0', p++;
        while (*p >= '0' && *p <= '9')
            width = width * 10 + (unsigned)(*p++ - '0');
        while (*p == 'l')
            lng++, p++;
        int neg;
        switch (*p) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            put_str(b, s ? s : "(null)", width, left);
            break;
        }
        case 'c':
            put(b, (char)va_arg(ap, int));
            break;
        case 'd': {
            uint64_t v = arg_int(&ap, lng, 1, &neg);
            put_num(b, v, neg, 10, width, pad);
            break;
        }
        case 'u':
        case 'x': {
            uint64_t v = arg_int(&ap, lng, 0, &neg);
            put_num(b, v, 0, *p == 'x' ? 16 : 10, width, pad);
            break;
        }
        case '%':
            put(b, '%');
            break;
        default:          /* unknown: print it as written */
            put(b, '%');
            if (!*p)
                goto out;
            put(b, *p);
        }
    }
out:
    va_end(ap);
}

void kbuf_printf(struct kbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

size_t kfmt(char *buf, size_t cap, const char *fmt, ...)
{
    struct kbuf b;
    kbuf_init(&b, buf, cap);
    va_list ap;
    va_start(ap, fmt);
    kbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    return b.len;
}

void kstrlcpy(char *dst, const char *src, size_t cap)
{
    if (!cap)
        return;
    size_t i = 0;
    for (; i + 1 < cap && src[i]; i++)
        dst[i] = src[i];
    dst[i] = '\0';
}

size_t kstrnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n <= max && s[n])
        n++;
    return n;
}
