/*
 * printf.c - a small vsnprintf for guests. Debian ships no freestanding C library for the
 * x86_64-none-elf and aarch64-none-elf targets, so the guest library carries its own.
 *
 * Conversions: %d %i %u %x %X %p %s %c %%. Length modifiers: hh h l ll z. Flags: '-' (left
 * align), '0' (zero pad), '#' (0x prefix for %x/%X). A width, or '*'. A precision ('.N' or
 * '.*') for %s only. Anything else is copied through as written. Like snprintf, the result
 * is the length the full text would have, and the output is always NUL-terminated (size > 0).
 */
#include "guest.h"

struct out {
    char *buf;
    size_t size;
    size_t len;   /* characters produced so far, written or not */
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void pad(struct out *o, char c, int n)
{
    while (n-- > 0)
        put(o, c);
}

struct spec {
    bool left, zero, alt;
    int width;
};

/* Emits prefix and the digits in digits[0..n) (most significant first) with padding. */
static void emit_number(struct out *o, const struct spec *sp, const char *prefix,
                        const char *digits, int n)
{
    int plen = (int)strlen(prefix);
    int fill = sp->width - plen - n;
    if (!sp->left && !sp->zero)
        pad(o, ' ', fill);
    for (int i = 0; i < plen; i++)
        put(o, prefix[i]);
    if (!sp->left && sp->zero)
        pad(o, '0', fill);
    for (int i = 0; i < n; i++)
        put(o, digits[i]);
    if (sp->left)
        pad(o, ' ', fill);
}

static void format_unsigned(struct out *o, const struct spec *sp, const char *prefix,
                            unsigned long long v, unsigned base, bool upper)
{
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = set[v % base];
        v /= base;
    } while (v != 0);
    char digits[24];
    for (int i = 0; i < n; i++)
        digits[i] = tmp[n - 1 - i];
    emit_number(o, sp, prefix, digits, n);
}

static void format_string(struct out *o, const struct spec *sp, const char *s, int prec)
{
    if (!s)
        s = "(null)";
    int n = 0;
    while (s[n] && (prec < 0 || n < prec))
        n++;
    if (!sp->left)
        pad(o, ' ', sp->width - n);
    for (int i = 0; i < n; i++)
        put(o, s[i]);
    if (sp->left)
        pad(o, ' ', sp->width - n);
}

enum length { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE };

static long long arg_signed(va_list *ap, enum length len)
{
    switch (len) {
    case LEN_CHAR: return (signed char)va_arg(*ap, int);
    case LEN_SHORT: return (short)va_arg(*ap, int);
    case LEN_LONG: return va_arg(*ap, long);
    case LEN_LLONG: return va_arg(*ap, long long);
    case LEN_SIZE: return (long long)va_arg(*ap, size_t);
    default: return va_arg(*ap, int);
    }
}

static unsigned long long arg_unsigned(va_list *ap, enum length len)
{
    switch (len) {
    case LEN_CHAR: return (unsigned char)va_arg(*ap, unsigned);
    case LEN_SHORT: return (unsigned short)va_arg(*ap, unsigned);
    case LEN_LONG: return va_arg(*ap, unsigned long);
    case LEN_LLONG: return va_arg(*ap, unsigned long long);
    case LEN_SIZE: return va_arg(*ap, size_t);
    default: return va_arg(*ap, unsigned);
    }
}

int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap_in)
{
    struct out o = { buf, size, 0 };
    va_list ap;
    va_copy(ap, ap_in);

    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            put(&o, *p);
            continue;
        }
        const char *start = p++;
        struct spec sp = { false, false, false, 0 };
        for (;; p++) {
            if (*p == '-')
                sp.left = true;
            else if (*p == '0')
                sp.zero = true;
            else if (*p == '#')
                sp.alt = true;
            else
                break;
        }
        if (*p == '*') {
            sp.width = va_arg(ap, int);
            if (sp.width < 0) {
                sp.left = true;
                sp.width = -sp.width;
            }
            p++;
        } else {
            while (*p >= '0' && *p <= '9')
                sp.width = sp.width * 10 + (*p++ - '0');
        }
        int prec = -1;
        if (*p == '.') {
            p++;
            prec = 0;
            if (*p == '*') {
                prec = va_arg(ap, int);
                p++;
            } else {
                while (*p >= '0' && *p <= '9')
                    prec = prec * 10 + (*p++ - '0');
            }
        }
        enum length len = LEN_INT;
        if (*p == 'h') {
            len = LEN_SHORT;
            if (*++p == 'h') {
                len = LEN_CHAR;
                p++;
            }
        } else if (*p == 'l') {
            len = LEN_LONG;
            if (*++p == 'l') {
                len = LEN_LLONG;
                p++;
            }
        } else if (*p == 'z') {
            len = LEN_SIZE;
            p++;
        }

        switch (*p) {
        case 'd':
        case 'i': {
            long long v = arg_signed(&ap, len);
            unsigned long long mag = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
            format_unsigned(&o, &sp, v < 0 ? "-" : "", mag, 10, false);
            break;
        }
        case 'u':
            format_unsigned(&o, &sp, "", arg_unsigned(&ap, len), 10, false);
            break;
        case 'x':
        case 'X': {
            unsigned long long v = arg_unsigned(&ap, len);
            const char *prefix = sp.alt && v != 0 ? (*p == 'x' ? "0x" : "0X") : "";
            format_unsigned(&o, &sp, prefix, v, 16, *p == 'X');
            break;
        }
        case 'p':
            format_unsigned(&o, &sp, "0x", (uintptr_t)va_arg(ap, void *), 16, false);
            break;
        case 's':
            format_string(&o, &sp, va_arg(ap, const char *), prec);
            break;
        case 'c': {
            char c = (char)va_arg(ap, int);
            if (!sp.left)
                pad(&o, ' ', sp.width - 1);
            put(&o, c);
            if (sp.left)
                pad(&o, ' ', sp.width - 1);
            break;
        }
        case '%':
            put(&o, '%');
            break;
        default:
            /* Unknown conversion (or the string ended): copy it through. */
            for (const char *q = start; q <= p && *q; q++)
                put(&o, *q);
            if (!*p)
                p--;
            break;
        }
    }
    va_end(ap);
    if (size > 0)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = guest_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
