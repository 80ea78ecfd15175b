/*
 * tail.h - internal to trace/: the tail file TRACE.db-tail, which keeps what a recording
 * wrote since its last commit, so that a process killed at any instant loses nothing it
 * finished writing.
 *
 * The writer maps the file (MAP_SHARED) and copies every record into it as it goes: a store
 * to a shared file mapping lands in the kernel's page cache at once, which outlives the
 * process (kill -9 included; a crash of the machine is another matter). After each commit of
 * the database the tail starts over. The writer holds an exclusive flock() on the file while
 * it records, so a reader can tell a live recording from a dead one.
 *
 * Layout: a 32-byte header (TAIL_MAGIC), then records, each a 32-bit length (of what follows
 * it, never 0) and that many bytes: a type byte and its payload; records start at multiples
 * of 4. The writer stores a record's bytes first and its length last, and the space past the
 * last record is zero, so a reader stops at the first length 0 and never sees half a record.
 * Integers are in the host's byte order: the tail is read where it was written.
 *
 *   'C' a chunk begins: u64 seq, u64 icount, u64 pc, u32 vm (struct chunk_base)
 *   'S' a new string:   u64 id, then its JSON text
 *   'E' an event:       its chunk element (chunk.h), the next seq of the current chunk
 *
 * Invariants (writer side, tail_check()):
 *  1. map is the file's first cap bytes; the header is written; used >= TAIL_HEADER.
 *  2. Bytes used .. cap are zero.
 */
#ifndef HV_TRACE_TAIL_H
#define HV_TRACE_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAIL_SUFFIX "-tail"
#define TAIL_MAGIC "hvsim trace tail"
#define TAIL_HEADER 32

struct tail {
    int fd;
    unsigned char *map;
    size_t cap, used;
    char *path;                 /* the file's name, owned (tail_close removes it by name) */
};

/* Creates DB_PATH-tail (replacing it), locks and maps it. 0, or HV_EIO / HV_ENOMEM with a
 * detail. t is left closed on error. */
int tail_open(struct tail *t, const char *db_path);
/* Appends a record: type and the bytes a (alen) then b (blen). 0 or HV_EIO / HV_ENOMEM. */
int tail_put(struct tail *t, char type, const void *a, size_t alen, const void *b, size_t blen);
/* Forgets every record (after they were committed to the database). */
void tail_reset(struct tail *t);
/* Unmaps and closes; with remove, deletes the file (everything is in the database). */
void tail_close(struct tail *t, bool remove);
bool tail_check(const struct tail *t);

/* A record read back. */
struct tail_rec {
    char type;
    const unsigned char *p;     /* payload, after the type byte */
    size_t n;
};

/*
 * Reads DB_PATH-tail whole into *data (caller frees; NULL with *len 0 when there is none or it
 * is not a tail). *live is true when a writer still holds it. 0, or HV_ENOMEM / HV_EIO.
 */
int tail_load(const char *db_path, unsigned char **data, size_t *len, bool *live);
/* The record at *off (start at TAIL_HEADER): 1 and *off moved past it, or 0 at the end. */
int tail_next(const unsigned char *data, size_t len, size_t *off, struct tail_rec *rec);

#endif
