/*
 * examples/posix/posix.h - a thin POSIX-style layer (seed 004's top
 * layer) over native channels: pipes and message queues with
 * read / write / close and mq_send / mq_receive shaped calls.
 *
 * What the layer shows: a byte-stream protocol built on a message
 * protocol.  A pipe is a channel of bounded messages; the layer cuts a
 * write into messages of at most PX_PIPE_BUF bytes and a read takes them
 * apart again, so the reader sees the bytes written, in order, however
 * the two sides size their calls; flow control is the ring (a writer
 * blocks while it is full), and end of file is the channel closing when
 * its last writer goes.  Descriptors, fork-style inheritance (px_spawn)
 * and errno-style results are the translation a POSIX program needs, and
 * queues show names (the name server) on top of capabilities.  The
 * program examples/posix/main.c runs producer | filter | consumer over
 * two pipes.
 *
 * What it does not do: no select/poll, no signals (a writer to a closed
 * pipe gets -EPIPE, never SIGPIPE), no descriptor sharing between
 * threads of several CPUs (the table has no lock), no dup; a pipe has
 * one writer and one reader at a time (SPSC), and a queue delivers in
 * send order, not by priority.
 *
 *   POSIX layer        px_pipe, px_read, px_write, px_close, px_mq_*
 *   translation        this file's posix.c: descriptors to channel ends,
 *                      byte streams to messages, errno values from
 *                      hs_status
 *   native layer       hs_chan_* (hopsim/chan.h), the name server
 *                      (examples/servers/names.h)
 *
 * Results follow the Linux system-call convention, not errno: a call
 * returns a count or 0 on success and -E... (the <errno.h> value) on
 * failure, because simulated threads share the host's errno.  Mapping:
 * HS_ECLOSED -> -EPIPE on a write (0, end of file, on a read),
 * HS_ETIMEOUT / HS_EFULL with PX_O_NONBLOCK -> -EAGAIN, HS_EMSGSIZE ->
 * -EMSGSIZE, a bad descriptor -> -EBADF, HS_EPERM / HS_EBADCAP -> -EACCES,
 * HS_ELIMIT -> -EMFILE, HS_ENOPORT on lookup -> -ENOENT, HS_EEXIST ->
 * -EEXIST, anything else -> -EIO.
 *
 * Descriptors are per simulated process: a table of PX_OPEN_MAX entries,
 * each in a page of the process's own memory at PX_STATE_VA (so it goes
 * with the process).  A descriptor holds a channel capability and attaches
 * its end on first use, so an end handed to a child and never used by the
 * parent never opens there.  px_spawn() is the fork of this layer: the
 * child gets copies of the descriptors listed, under the same numbers (and
 * the name server, for queues), and attaches their ends before px_spawn()
 * returns (a channel closes when its last writer goes, and a reader
 * attaching later would find it closed); the parent then closes those it
 * does not use itself.
 *
 * Pipes are SPSC channels of PX_PIPE_SLOTS slots of PX_PIPE_BUF bytes: a
 * write of at most PX_PIPE_BUF bytes is atomic; a read returns what one
 * message holds (or what is left of it), never more than asked.  When the
 * write end closes, the reader gets what was written, then 0; when the
 * read end closes, a write is -EPIPE.  Closing an end that no process
 * ever used closes the pipe too (the close attaches it for a moment), so
 * a stage that never started does not leave its partner waiting.  A
 * pipe's channel belongs to the process that called px_pipe(): it must
 * outlive the pipe's use (wait for the child, as a shell does).
 *
 * Message queues are MPSC channels found by name through the name server
 * (px_names_set()).  px_mq_open() with PX_O_CREAT creates one of
 * attr->mq_maxmsg (rounded up to a power of two) messages of at most
 * attr->mq_msgsize bytes (PX_MQ_MSG_MAX), registered as "mq:" + name; the
 * creator keeps a sending end open until px_mq_unlink() so that the queue
 * outlives its writers, as a POSIX queue does.  Messages arrive in the
 * order sent; the priority travels with the message and is returned, but
 * does not reorder (a channel is FIFO).  One reader at a time (-EBUSY).
 * Single simulated CPU (the table has no lock).
 */
#ifndef EXAMPLES_POSIX_POSIX_H
#define EXAMPLES_POSIX_POSIX_H

#include <stddef.h>
#include <sys/types.h>

#include "hopsim.h"

#define PX_OPEN_MAX 32
#define PX_STATE_VA ((uint64_t)0x6f1000000000)
#define PX_PIPE_BUF 256u
#define PX_PIPE_SLOTS 16u
#define PX_MQ_MSG_MAX 1024u
#define PX_MQ_NAME_MAX 40u

/* Open flags (the values of Linux). */
#define PX_O_RDONLY   00u
#define PX_O_WRONLY   01u
#define PX_O_RDWR     02u
#define PX_O_ACCMODE  03u
#define PX_O_CREAT    0100u
#define PX_O_EXCL     0200u
#define PX_O_NONBLOCK 04000u

struct px_mq_attr {
    long mq_flags;          /* PX_O_NONBLOCK or 0 */
    long mq_maxmsg;         /* messages the queue holds */
    long mq_msgsize;        /* longest message */
    long mq_curmsgs;        /* queued now (px_mq_getattr) */
};

/* The name server this process uses for queues (a capability with
 * HS_CAP_SEND, a label of its own).  Returns 0, or -EBADF, -EIO. */
int px_names_set(hs_cap_t ns);

/* A pipe: fds[0] reads, fds[1] writes.  -EFAULT (fds NULL), -EMFILE,
 * -ENOMEM, -EIO. */
int px_pipe(int fds[2]);

/* Read at most n bytes; 0 at end of file.  Blocks unless the descriptor
 * is non-blocking (-EAGAIN).  -EBADF (not open, or not a pipe's read
 * end), -EFAULT. */
ssize_t px_read(int fd, void *buf, size_t n);

/* Write n bytes (blocking: all of them; non-blocking: as many whole
 * PX_PIPE_BUF pieces as fit, -EAGAIN if none).  -EPIPE when the read end
 * is closed, -EBADF, -EFAULT. */
ssize_t px_write(int fd, const void *buf, size_t n);

/* Close a descriptor of either kind (a queue too).  -EBADF. */
int px_close(int fd);

/* Set or clear PX_O_NONBLOCK on fd.  -EBADF. */
int px_set_nonblock(int fd, int on);

/* Spawn a child running entry(arg) that inherits fds[0..n-1] (same
 * numbers; n <= HS_SPAWN_CAPS_MAX - 1) and the name server.  *pid (may be
 * NULL) gets its pid.  -EBADF, -EINVAL, -ENOMEM, -EIO. */
int px_spawn(const char *name, hs_entry_fn entry, void *arg, const int *fds,
             unsigned n, hs_pid_t *pid);

/* Open (or with PX_O_CREAT create) the queue name ("/x", at most
 * PX_MQ_NAME_MAX bytes); attr NULL: 8 messages of 256 bytes.  Returns a
 * descriptor, or -ENOENT, -EEXIST (PX_O_CREAT | PX_O_EXCL), -EINVAL,
 * -EACCES, -EBUSY (a second reader), -EMFILE, -EIO (no name server). */
int px_mq_open(const char *name, unsigned oflag,
               const struct px_mq_attr *attr);
int px_mq_send(int mqd, const char *msg, size_t len, unsigned prio);
/* Returns the message's length; len must hold the queue's msgsize
 * (-EMSGSIZE otherwise).  *prio may be NULL. */
ssize_t px_mq_receive(int mqd, char *msg, size_t len, unsigned *prio);
int px_mq_getattr(int mqd, struct px_mq_attr *attr);
int px_mq_close(int mqd);
/* Remove the name; the queue lives on for those that have it open.  Only
 * the process that created it (-EACCES otherwise); -ENOENT. */
int px_mq_unlink(const char *name);

#endif
