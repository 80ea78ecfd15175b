/*
 * json.h - checks that a text is one JSON value (RFC 8259), for what a trace stores: a detail
 * read back from a file may have been damaged or edited, and whatever hvsim prints as JSON
 * must parse.
 *
 * JSON text is UTF-8, but a detail's strings hold what the guest wrote (ucall printf bytes),
 * which need not be: json_check() accepts such bytes inside strings and says so, and
 * json_utf8() rewrites them for output that must be strict.
 */
#ifndef HV_TRACE_JSON_H
#define HV_TRACE_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* Deepest nesting json_check() accepts (a detail nests a few levels). */
#define JSON_MAX_DEPTH 64

/*
 * Whether s[0 .. n-1] is exactly one JSON value, with optional white space around it, and
 * nesting no deeper than JSON_MAX_DEPTH. Bytes that are not valid UTF-8 are accepted inside
 * strings only; *utf8 (when not NULL) says whether there was none. On false, *bad (when not
 * NULL) is the offset of the first byte that does not fit.
 */
bool json_check(const char *s, size_t n, size_t *bad, bool *utf8);

/*
 * Writes a text json_check() accepted through put(ctx, bytes, len), with each byte that is
 * not part of a valid UTF-8 sequence replaced by the escape \ufffd (U+FFFD, the replacement
 * character): the result is strict JSON, and ASCII where s was.
 */
void json_utf8(const char *s, size_t n, void (*put)(void *ctx, const char *p, size_t len),
               void *ctx);

#endif
