/*
 * core/ipc.h - synchronous IPC: what the rest of the kernel calls.
 */
#ifndef HOPSIM_CORE_IPC_H
#define HOPSIM_CORE_IPC_H

struct thread;

/* Set up the IPC state of a new thread. */
void ipc_thread_init(struct thread *t);

/* Thread t is ending: its senders and its caller (if it holds a reply
 * capability) wake with HS_EPARTNER, and its gates go. */
void ipc_thread_ended(struct thread *t);

#endif
