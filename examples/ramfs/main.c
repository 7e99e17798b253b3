/*
 * examples/ramfs/main.c - the RAM file server (ramfs.h) with three
 * clients in processes of their own.
 *
 *   build/examples/ramfs                      one run, a line per step
 *   HOPSIM_MSC=ramfs.msc build/examples/ramfs its sequence chart
 *   HOPSIM_SEED=7 build/examples/ramfs        another interleaving
 *
 * Every client's capability to the server's gate has its own label.  A
 * client shares a 4K buffer with the server, writes a line to a file of
 * its own and one to its record of the shared file "log", reads its file
 * back, and tries to read its neighbour's handle, which the server
 * refuses.  When they have ended, a reader attaches and reads "log"
 * whole.  The
 * program checks every read and refusal, and exits 1 if one went wrong.
 */
#include <stdio.h>
#include <string.h>

#include "ramfs.h"

#define CLIENTS 3
#define RECORD 32               /* bytes of each client's record in "log" */
#define BUF ((uint64_t)0x10000000)
#define WAIT (10 * HS_MSEC)

static uint64_t fd_of[CLIENTS];         /* each client's own file */
static int failures;

static void fail(int id, const char *what, hs_status st)
{
    printf("client %d: %s: %s\n", id, what, hs_strerror(st));
    failures++;
}

/* Put text (len bytes) in the buffer and write it to fd at off. */
static hs_status put(const struct ramfs_client *c, uint64_t fd, uint64_t off,
                     const char *text, size_t len)
{
    hs_status st = hs_mem_write(c->buf, text, len);
    return st == HS_OK ? ramfs_write(c, fd, off, len) : st;
}

/* Read the client's own file back and compare it with text. */
static int read_back(const struct ramfs_client *c, uint64_t fd,
                     const char *text)
{
    char got[64] = { 0 };
    uint64_t n = 0;
    hs_status st = ramfs_read(c, fd, 0, sizeof got - 1, &n);
    if (st == HS_OK)
        st = hs_mem_read(c->buf, got, (size_t)n);
    return st == HS_OK && n == strlen(text) && strcmp(got, text) == 0;
}

/* Its own file, its record of "log", then a look at its neighbour's
 * handle, which is not its to use. */
static int client(void *arg)
{
    int id = (int)(intptr_t)arg;
    struct ramfs_client c;
    char name[RAMFS_NAME_MAX + 1], text[RECORD] = { 0 };
    uint64_t log = 0;
    hs_status st = ramfs_attach(&c, 1, BUF, 12, WAIT);
    if (st != HS_OK) {
        fail(id, "attach", st);
        return 1;
    }
    snprintf(name, sizeof name, "c%d", id);
    snprintf(text, sizeof text, "hello from client %d\n", id);
    if ((st = ramfs_open(&c, name, RAMFS_RDWR | RAMFS_CREATE,
                         &fd_of[id])) != HS_OK ||
        (st = put(&c, fd_of[id], 0, text, strlen(text))) != HS_OK ||
        (st = ramfs_open(&c, "log", RAMFS_WRONLY | RAMFS_CREATE,
                         &log)) != HS_OK ||
        (st = put(&c, log, (uint64_t)id * RECORD, text, RECORD)) != HS_OK)
        fail(id, "open and write", st);
    else if (!read_back(&c, fd_of[id], text))
        fail(id, "read back", HS_ECHECK);
    else
        printf("[%9llu ns] client %d wrote %s and its record of log\n",
               (unsigned long long)hs_time_now(), id, name);
    hs_thread_sleep(HS_MSEC);           /* every client has opened */
    st = ramfs_read(&c, fd_of[(id + 1) % CLIENTS], 0, 1, NULL);
    printf("[%9llu ns] client %d reads client %d's handle: %s\n",
           (unsigned long long)hs_time_now(), id, (id + 1) % CLIENTS,
           hs_strerror(st));
    if (st != HS_EPERM)
        failures++;
    hs_thread_sleep(HS_MSEC);           /* every client has tried */
    st = ramfs_detach(&c);              /* closes both handles */
    if (st != HS_OK)
        fail(id, "detach", st);
    return 0;
}

/* After the clients: attach, and read the shared file whole. */
static int reader(void *arg)
{
    (void)arg;
    struct ramfs_client c;
    uint64_t log = 0, n = 0;
    char all[CLIENTS * RECORD];
    hs_status st = ramfs_attach(&c, 1, BUF, 12, WAIT);
    if (st == HS_OK)
        st = ramfs_open(&c, "log", RAMFS_RDONLY, &log);
    if (st == HS_OK)
        st = ramfs_read(&c, log, 0, c.size, &n);
    if (st == HS_OK && n == sizeof all)
        st = hs_mem_read(c.buf, all, sizeof all);
    if (st != HS_OK || n != sizeof all) {
        fail(-1, "read log", st);
        return 1;
    }
    for (int i = 0; i < CLIENTS; i++)
        printf("log record %d: %s", i, all + i * RECORD);
    return ramfs_detach(&c) == HS_OK ? 0 : 1;
}

static int server(void *arg)
{
    (void)arg;
    return (int)ramfs_serve(1, NULL);
}

/* Spawn entry(id) with a copy of the gate labelled id + 1; whether it
 * ran and ended. */
static int run_client(hs_cap_t gate, const char *what, hs_entry_fn entry,
                      int id, hs_pid_t *pid)
{
    hs_cap_t theirs = 0;
    if (hs_cap_derive(gate, HS_CAP_SEND | HS_CAP_GRANT, (uint64_t)id + 1,
                      &theirs) != HS_OK)
        return 0;
    hs_proc_attr at = { .caps = &theirs, .ncaps = 1 };
    char name[HS_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s%d", what, id);
    return hs_proc_spawn(name, entry, (void *)(intptr_t)id, &at,
                         pid) == HS_OK;
}

/* The server thread, its gate, the clients, and when they have ended a
 * reader of the log (label CLIENTS + 1). */
static int init(void *arg)
{
    (void)arg;
    hs_thread_attr a = { .name = "ramfs", .priority = HS_PRIO_DEFAULT - 1,
                         .priority_set = 1 };
    hs_tid_t t = 0;
    hs_cap_t gate = 0;
    if (hs_thread_create(server, NULL, &a, &t) != HS_OK ||
        hs_gate_create(t, 0, &gate) != HS_OK)
        return 1;
    hs_pid_t pid[CLIENTS + 1];
    for (int i = 0; i < CLIENTS; i++)
        if (!run_client(gate, "client", client, i, &pid[i]))
            return 1;
    for (int i = 0; i < CLIENTS; i++)
        (void)hs_proc_wait(pid[i], HS_NEVER, NULL);
    int status = 1;
    if (!run_client(gate, "reader", reader, CLIENTS, &pid[CLIENTS]))
        return 1;
    (void)hs_proc_wait(pid[CLIENTS], HS_NEVER, &status);
    return status;                      /* the server serves on */
}

int main(void)
{
    hs_sim_config cfg = HS_SIM_DEFAULTS;
    if (hs_sim_start(&cfg) != HS_OK)
        return 1;
    if (hs_proc_spawn("files", init, NULL, NULL, NULL) != HS_OK)
        return 1;
    hs_status st = hs_sim_run();
    printf("ramfs: %d failures: %s\n", failures, hs_strerror(st));
    return st == HS_OK && !failures ? 0 : 1;
}
