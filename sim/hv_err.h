/*
 * hv_err.h - the one list of hvsim's own error codes.
 *
 * These are simulator errors (bad input, out of memory, a foreign trace), never modeled
 * results: an EEXIST that KVM would return is data in the trace, not an hv_ error.
 * Functions return int: 0 on success or a negative HV_E* code.
 */
#ifndef HV_ERR_H
#define HV_ERR_H

/* X(name, message) */
#define HV_ERRNO_MAP(X)                                                     \
    X(NOMEM,     "out of memory")                                           \
    X(INVAL,     "invalid argument")                                        \
    X(IO,        "input/output error")                                      \
    X(NOENT,     "no such file or entry")                                   \
    X(SCENARIO,  "malformed scenario")                                      \
    X(GUEST,     "guest image could not be built or loaded")                \
    X(UNICORN,   "unicorn engine error")                                    \
    X(CAPSTONE,  "capstone error")                                          \
    X(SQLITE,    "sqlite error")                                            \
    X(TRACE,     "not a usable hvsim trace")                                \
    X(TRACE_NEW, "trace written by a newer hvsim")                          \
    X(LIMIT,     "a simulator limit was exceeded")                          \
    X(UNSUPP,    "not supported by this build")                             \
    X(DIVERGED,  "replay diverged")                                         \
    X(INTR,      "interrupted by a signal")

enum hv_err {
    HV_OK = 0,
#define X(name, msg) HV_E##name,
    HV__ERR_FIRST_ = -1000,
    HV_ERRNO_MAP(X)
#undef X
    HV__ERR_END_
};

/* Message for a code; never NULL. */
const char *hv_strerror(int err);
/* Symbolic name ("HV_ENOMEM"); never NULL. */
const char *hv_err_name(int err);

/*
 * The detail of the last error raised with hv_error_set(), for messages that need more than
 * the code (a file name, SQLite's or Unicorn's own text). Borrowed; valid until the next call.
 */
const char *hv_error_detail(void);
/*
 * Prints "WHO: PATH: why" to f for err about the file at path: the detail when there is one
 * (alone when it already names path), else the code's message.
 */
void hv_error_print(void *f, const char *who, const char *path, int err);
/* Records a printf-style detail and returns err, so callers can `return hv_error_set(...)`. */
int hv_error_set(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
