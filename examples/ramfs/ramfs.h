/*
 * examples/ramfs/ramfs.h - a RAM file server: named files held in the
 * server's memory, opened, read, written and closed by clients, the data
 * moving through a buffer each client shares with the server, never
 * through message registers.
 *
 * The server is a thread with a gate.  A client's capability to the gate
 * carries its own label (hs_cap_derive), by which the server knows it:
 * the label is the client.  The protocol, for porting the server or
 * writing a client by hand: the tag's label is the operation, and the
 * reply's mr[0] is an hs_status, followed on HS_OK by the value said.
 *
 *   attach  no words, one memory item: HS_ITEM_MEM_WORD(HS_XFER_SHARE,
 *           HS_PROT_READ | HS_PROT_WRITE) and a flexpage of 4K to 64K
 *           (RAMFS_BUF_MIN_LOG2..RAMFS_BUF_MAX_LOG2) of 4K pages the
 *           client maps: the client's buffer, which the server now maps
 *           too.  Reply: mr[1] = its size.  Errors: HS_EEXIST (the label
 *           has a buffer already), HS_ELIMIT (RAMFS_CLIENTS_MAX attached:
 *           the server offers no window, so the item lands nowhere),
 *           HS_EINVAL (anything else: words, another mode or protection,
 *           no item, pages that are not 4K or not shared).
 *   detach  no words: close the label's handles and forget its buffer.
 *   open    mr[0..RAMFS_NAME_WORDS-1] the name (1..RAMFS_NAME_MAX bytes,
 *           NUL padded), mr[2] the flags: RAMFS_RDONLY, RAMFS_WRONLY or
 *           RAMFS_RDWR, and RAMFS_CREATE (make the file if it is
 *           missing), RAMFS_TRUNC (empty it; needs RAMFS_WRONLY).  Reply: mr[1] = a handle that
 *           only this label may use.  Errors: HS_EINVAL (name, flags),
 *           HS_ENOENT (no such file, no RAMFS_CREATE), HS_ELIMIT
 *           (RAMFS_FILES_MAX files or RAMFS_HANDLES_MAX handles).
 *   read    mr[0] handle, mr[1] offset in the file, mr[2] length: the
 *           server copies file[offset, offset + length) to the start of
 *           the buffer, cut at the end of the file.  Reply: mr[1] = bytes
 *           copied (0 at or past the end).
 *   write   mr[0] handle, mr[1] offset, mr[2] length: the server copies
 *           the first length bytes of the buffer to file[offset, ...),
 *           growing the file; a gap reads as zeros.  Reply: mr[1] =
 *           length.  Errors also: HS_ELIMIT (past RAMFS_FILE_MAX),
 *           HS_ENOFRAME, HS_EQUOTA, HS_ENOMEM (no memory for the file).
 *   close   mr[0] handle.
 *
 * Errors of every operation but attach: HS_ESTATE (the label has no
 * buffer), HS_EINVAL (an unknown operation, the wrong number of words or
 * any item: memory that landed is given back).  Of read, write and close:
 * HS_EBADCAP (no such handle: never opened, or closed), HS_EPERM (another
 * label's handle, or read or write without its flag).  Of read and write:
 * HS_EMSGSIZE (the length is larger than the buffer), HS_ERANGE (offset +
 * length wraps).  A refused operation changes nothing.  Once the server
 * has ended, a call fails with HS_EBADCAP (its gate is gone), or with
 * HS_EPARTNER if the server ended holding it.
 *
 * What it shows: a server that moves data through shared memory.  The
 * buffer is shared once (HS_XFER_SHARE: both sides map the same frames,
 * nothing copied), and after that a read or a write is a call of three
 * words whose data the server copies between the buffer and the file,
 * both mapped in its own space.  Nothing the client controls is trusted
 * for a bound: the buffer's size is the one the server mapped, and the
 * offset and length are copied out of the message once and checked
 * against it, against the file and against the limits before anything
 * changes.  Handles are the server's own names, with a generation so
 * that a closed one is never taken for a later one, and carry their
 * owner's label.
 *
 * How the server learns that a client ended: the buffer is the session.
 * While the client maps it, its first page has two references, the
 * client's and the server's; when the client ends (or unmaps it) the
 * count drops to one.  Before each message the server looks at every
 * session's count (hs_mem_query) and ends those whose client is gone:
 * their handles close and the buffer is unmapped.  This needs no
 * notification and no process id, which the server never learns from a
 * gate; the price is a query per client per message, and a dead client's
 * handles are closed when the next message comes, not at once.  A buffer
 * the client has shared with a third process too keeps the session until
 * that one unmaps it as well.
 *
 * What it does not do: remove files (they live as long as the server);
 * lock or order concurrent writers beyond the server handling one message
 * at a time (a read sees whole writes, never a torn one); hold a client's
 * data past RAMFS_FILE_MAX; or make a lost answer safe to retry: a write
 * whose caller timed out may have happened.  An open whose answer is lost
 * closes the handle again (the file it created stays).  The server uses
 * [RAMFS_VA_BASE, RAMFS_VA_BASE + RAMFS_VA_SIZE) of its process's address
 * space, which nothing else in that process may map.
 */
#ifndef EXAMPLES_RAMFS_RAMFS_H
#define EXAMPLES_RAMFS_RAMFS_H

#include "hopsim.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ramfs_op {
    RAMFS_ATTACH = 1,
    RAMFS_DETACH = 2,
    RAMFS_OPEN = 3,
    RAMFS_READ = 4,
    RAMFS_WRITE = 5,
    RAMFS_CLOSE = 6,
};

/* Flags of open. */
#define RAMFS_RDONLY 0x1u       /* may read */
#define RAMFS_WRONLY 0x2u       /* may write */
#define RAMFS_RDWR (RAMFS_RDONLY | RAMFS_WRONLY)
#define RAMFS_CREATE 0x4u       /* make the file if it is missing */
#define RAMFS_TRUNC 0x8u        /* empty it (with RAMFS_WRONLY) */

#define RAMFS_NAME_WORDS 2      /* words a file's name takes */
#define RAMFS_NAME_MAX 15       /* longest name, in bytes */
#define RAMFS_CLIENTS_MAX 8     /* attached buffers */
#define RAMFS_FILES_MAX 16      /* files */
#define RAMFS_HANDLES_MAX 32    /* open handles, all clients together */
#define RAMFS_FILE_MAX (64u * 1024)     /* bytes of one file */
#define RAMFS_BUF_MIN_LOG2 12   /* a buffer: 4K ... */
#define RAMFS_BUF_MAX_LOG2 16   /* ... to 64K */

/* Where the server maps buffers and files in its process. */
#define RAMFS_VA_BASE ((uint64_t)0x100000000000)
#define RAMFS_VA_SIZE ((uint64_t)2 << 20)

/* What the server holds, updated as it changes (for a program or a test
 * to read once the run is over, or between runs of the server); zeroed
 * when the server starts. */
struct ramfs_stats {
    unsigned clients;           /* attached buffers */
    unsigned files;
    unsigned handles;           /* open handles */
    unsigned ended;             /* sessions ended because their client no
                                   longer mapped its buffer */
};

/* Serve files on gate (bound to the calling thread) for ever, with
 * hs_ipc_serve(): a run left with only the server ends normally.  stats
 * may be NULL.  Returns only when receiving fails (HS_ECANCELED, ...),
 * after unmapping every buffer and file: the files are gone. */
hs_status ramfs_serve(hs_cap_t gate, struct ramfs_stats *stats);

/* A client's side of a session, filled in by ramfs_attach(). */
struct ramfs_client {
    hs_cap_t fs;                /* capability to the server's gate */
    uint64_t buf;               /* the buffer in the client's space */
    uint64_t size;              /*   and its size */
    hs_time_t timeout;          /* of each call's send, and of its reply */
};

/* Map 2^log2size bytes of fresh memory at buf (aligned to its size, 4K
 * pages) and share it with the server through capability fs; every call
 * of the session then waits at most timeout to be sent and as long for
 * its answer.  HS_OK: c describes the session.  Errors: HS_EINVAL (c
 * NULL, log2size out of range, buf not aligned), those of hs_mem_map(),
 * the server's, or the IPC error; on any error nothing stays mapped and
 * c is unchanged. */
hs_status ramfs_attach(struct ramfs_client *c, hs_cap_t fs, uint64_t buf,
                       unsigned log2size, hs_time_t timeout);

/* End the session: the server closes the client's handles, and the
 * buffer is unmapped whatever the server answers (a server that did not
 * hear then ends the session when it sees the buffer gone).  Errors:
 * HS_EINVAL (c NULL or not attached), the server's, or the IPC error. */
hs_status ramfs_detach(struct ramfs_client *c);

/* Open name with flags; *fd gets the handle.  Errors: HS_EINVAL (c, name
 * or fd NULL, name empty or longer than RAMFS_NAME_MAX), the server's
 * (see above), or the IPC error. */
hs_status ramfs_open(const struct ramfs_client *c, const char *name,
                     unsigned flags, uint64_t *fd);

/* Read up to len bytes at offset off of fd into the start of the
 * buffer; *got (may be NULL) gets how many came (0 at the end).  Errors:
 * HS_EINVAL (c NULL), the server's, or the IPC error. */
hs_status ramfs_read(const struct ramfs_client *c, uint64_t fd,
                     uint64_t off, uint64_t len, uint64_t *got);

/* Write the first len bytes of the buffer to fd at offset off.  Errors:
 * HS_EINVAL (c NULL), the server's, or the IPC error. */
hs_status ramfs_write(const struct ramfs_client *c, uint64_t fd,
                      uint64_t off, uint64_t len);

/* Close fd.  Errors: HS_EINVAL (c NULL), the server's, or the IPC
 * error. */
hs_status ramfs_close(const struct ramfs_client *c, uint64_t fd);

#ifdef __cplusplus
}
#endif

#endif
