/* err.c - expansion of HV_ERRNO_MAP into messages and names, and the detail buffer. */
#include "sim/hv_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *hv_strerror(int err)
{
    switch (err) {
    case HV_OK: return "success";
#define X(name, msg) case HV_E##name: return msg;
    HV_ERRNO_MAP(X)
#undef X
    default: return "unknown error";
    }
}

const char *hv_err_name(int err)
{
    switch (err) {
    case HV_OK: return "HV_OK";
#define X(name, msg) case HV_E##name: return "HV_E" #name;
    HV_ERRNO_MAP(X)
#undef X
    default: return "HV_E?";
    }
}

/* One host thread runs hvsim, so one static buffer is enough. */
static char detail_buf[1024];

const char *hv_error_detail(void)
{
    return detail_buf;
}

void hv_error_print(void *f, const char *who, const char *path, int err)
{
    const char *d = hv_error_detail();
    if (!*d)
        fprintf(f, "%s: %s: %s\n", who, path, hv_strerror(err));
    else if (strncmp(d, path, strlen(path)) == 0)
        fprintf(f, "%s: %s\n", who, d);
    else
        fprintf(f, "%s: %s: %s\n", who, path, d);
}

int hv_error_set(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail_buf, sizeof detail_buf, fmt, ap);
    va_end(ap);
    return err;
}
