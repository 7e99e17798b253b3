/*
 * tests/test_ramfs.c - the RAM file server of the gallery
 * (examples/ramfs/): data written by one client and read by another,
 * reads at and past the end, handles that are not the caller's or not
 * open, bounds refused with nothing changed, the limits, the end of a
 * client with files open, and the end of the server.
 *
 * The server is a thread of the test's process ("main"); each client is
 * a process of its own whose capability 1 is a copy of the server's gate
 * with the client's label.  main runs the clients one after another
 * unless a test says otherwise, and, being the server's process, can see
 * what the server maps.
 */
#include <stdint.h>

#include "examples/ramfs/ramfs.h"
#include "testutil.h"

#define WAIT (10 * HS_MSEC)
#define BUF ((uint64_t)0x10000000)
#define BUF_LOG2 12
#define BUF_SIZE ((uint64_t)1 << BUF_LOG2)

static hs_cap_t gate;                   /* the server's, in main */
static hs_tid_t server_tid;
static struct ramfs_stats stats;
static hs_status served;                /* what ramfs_serve() returned */

/* What the clients saw, for the test to assert after the run. */
static hs_status st_of[32];
static uint64_t val_of[32];
static int same[8];                     /* data compared equal */
static uint64_t shared_fd;              /* a handle passed between clients */
static struct ramfs_stats seen;         /* stats at a point of a test */
static hs_status window_state;          /* hs_mem_query of a window */

static void reset(void)
{
    gate = 0;
    server_tid = 0;
    memset(&stats, 0, sizeof stats);
    memset(&seen, 0, sizeof seen);
    served = HS_STATUS_COUNT;
    window_state = HS_STATUS_COUNT;
    shared_fd = 0;
    for (unsigned i = 0; i < 32; i++) {
        st_of[i] = HS_STATUS_COUNT;
        val_of[i] = 0;
    }
    memset(same, 0, sizeof same);
}

static int server(void *arg)
{
    (void)arg;
    served = ramfs_serve(gate, &stats);
    return 0;
}

/* The server below main's priority, so that main's gate exists before it
 * serves. */
static void start_server(void)
{
    hs_thread_attr a = { .name = "ramfs", .priority = HS_PRIO_DEFAULT - 1,
                         .priority_set = 1 };
    EXPECT_ST(hs_thread_create(server, NULL, &a, &server_tid), HS_OK);
    EXPECT_ST(hs_gate_create(server_tid, 0, &gate), HS_OK);
}

/* A client process running entry, with a copy of the gate labelled
 * label as its capability 1. */
static hs_pid_t spawn_client(hs_entry_fn entry, uint64_t label)
{
    hs_cap_t theirs = 0;
    hs_pid_t pid = 0;
    EXPECT_ST(hs_cap_derive(gate, HS_CAP_SEND | HS_CAP_GRANT, label,
                            &theirs), HS_OK);
    hs_proc_attr at = { .caps = &theirs, .ncaps = 1 };
    EXPECT_ST(hs_proc_spawn("client", entry, NULL, &at, &pid), HS_OK);
    return pid;
}

/* spawn_client(), then wait for its end; its exit status. */
static int run_client(hs_entry_fn entry, uint64_t label)
{
    int status = -1;
    EXPECT_ST(hs_proc_wait(spawn_client(entry, label), HS_NEVER, &status),
              HS_OK);
    return status;
}

static void attach(struct ramfs_client *c)
{
    EXPECT_ST(ramfs_attach(c, 1, BUF, BUF_LOG2, WAIT), HS_OK);
}

/* The byte at offset i of test data number n. */
static uint8_t pattern(unsigned n, uint64_t i)
{
    return (uint8_t)(n * 31 + i * 7 + (i >> 8));
}

/* Fill the buffer's first len bytes with data n. */
static void fill(const struct ramfs_client *c, unsigned n, uint64_t len)
{
    uint8_t b[BUF_SIZE];
    for (uint64_t i = 0; i < len; i++)
        b[i] = pattern(n, i);
    EXPECT_ST(hs_mem_write(c->buf, b, (size_t)len), HS_OK);
}

/* Whether the buffer's first len bytes are data n (from byte skip of
 * it). */
static int holds(const struct ramfs_client *c, unsigned n, uint64_t skip,
                 uint64_t len)
{
    uint8_t b[BUF_SIZE];
    if (hs_mem_read(c->buf, b, (size_t)len) != HS_OK)
        return 0;
    for (uint64_t i = 0; i < len; i++)
        if (b[i] != pattern(n, skip + i))
            return 0;
    return 1;
}

/* Whether the buffer's first len bytes are zero. */
static int zeros(const struct ramfs_client *c, uint64_t len)
{
    uint8_t b[BUF_SIZE];
    if (hs_mem_read(c->buf, b, (size_t)len) != HS_OK)
        return 0;
    for (uint64_t i = 0; i < len; i++)
        if (b[i])
            return 0;
    return 1;
}

/* Run main_fn as the server's process to the end of the run. */
static void run(hs_entry_fn main_fn)
{
    tu_run_one(NULL, "main", main_fn, NULL, NULL);
}

/* ---- write here, read there --------------------------------------------- */

/* The writer puts 3000 bytes at offset 2000 of "shared" (across a page
 * boundary of the file); the reader, another process, reads them back
 * from offset 1500, the first 500 bytes being the gap, zeros. */
static int writer(void *arg)
{
    (void)arg;
    struct ramfs_client c;
    uint64_t fd = 0;
    attach(&c);
    EXPECT_ST(ramfs_open(&c, "shared", RAMFS_WRONLY | RAMFS_CREATE, &fd),
              HS_OK);
    fill(&c, 1, 3000);
    st_of[0] = ramfs_write(&c, fd, 2000, 3000);
    EXPECT_ST(ramfs_detach(&c), HS_OK);
    return 0;
}

static int reader(void *arg)
{
    (void)arg;
    struct ramfs_client c;
    uint64_t fd = 0;
    attach(&c);
    EXPECT_ST(ramfs_open(&c, "shared", RAMFS_RDONLY, &fd), HS_OK);
    st_of[1] = ramfs_read(&c, fd, 1500, 3500, &val_of[1]);
    same[0] = zeros(&c, 500);
    uint8_t b[3000];
    EXPECT_ST(hs_mem_read(c.buf + 500, b, sizeof b), HS_OK);
    same[1] = 1;
    for (unsigned i = 0; i < sizeof b; i++)
        same[1] &= b[i] == pattern(1, i);
    EXPECT_ST(ramfs_detach(&c), HS_OK);
    return 0;
}

static int across_main(void *arg)
{
    (void)arg;
    start_server();
    run_client(writer, 1);
    run_client(reader, 2);
    return 0;
}

static void test_ramfs_write_then_read_across_clients(void **state)
{
    (void)state;
    reset();
    run(across_main);
    assert_int_equal(st_of[0], HS_OK);
    assert_int_equal(st_of[1], HS_OK);
    assert_int_equal(val_of[1], 3500);
    assert_true(same[0]);
    assert_true(same[1]);
    assert_int_equal(stats.files, 1);
    assert_int_equal(stats.clients, 0);
    assert_int_equal(stats.handles, 0);
}

/* ---- the end of a file -------------------------------------------------- */

/* A file of 100 bytes: a read across its end is cut, one at or past it
 * gets nothing, and nothing of the buffer changes beyond what came. */
static int eof_client(void *arg)
{
    (void)arg;
    struct ramfs_client c;
    uint64_t fd = 0;
    attach(&c);
    EXPECT_ST(ramfs_open(&c, "f", RAMFS_RDWR | RAMFS_CREATE, &fd), HS_OK);
    fill(&c, 2, 100);
    EXPECT_ST(ramfs_write(&c, fd, 0, 100), HS_OK);
    fill(&c, 3, 200);
    st_of[0] = ramfs_read(&c, fd, 90, 50, &val_of[0]);
    same[0] = holds(&c, 2, 90, 10);
    fill(&c, 3, 200);
    st_of[1] = ramfs_read(&c, fd, 100, 50, &val_of[1]);
    val_of[2] = 99;
    st_of[2] = ramfs_read(&c, fd, (uint64_t)1 << 40, BUF_SIZE, &val_of[2]);
    same[1] = holds(&c, 3, 0, 200);     /* untouched by either */
    st_of[3] = ramfs_read(&c, fd, 0, 0, &val_of[3]);
    EXPECT_ST(ramfs_detach(&c), HS_OK);
    return 0;
}

static int eof_main(void *arg)
{
    (void)arg;
    start_server();
    run_client(eof_client, 1);
    return 0;
}

static void test_ramfs_reads_past_the_end(void **state)
{
    (void)state;
    reset();
    run(eof_main);
    assert_int_equal(st_of[0], HS_OK);
    assert_int_equal(val_of[0], 10);
    assert_true(same[0]);
    assert_int_equal(st_of[1], HS_OK);
    assert_int_equal(val_of[1], 0);
    assert_int_equal(st_of[2], HS_OK);
    assert_int_equal(val_of[2], 0);
    assert_true(same[1]);
    assert_int_equal(st_of[3], HS_OK);
    assert_int_equal(val_of[3], 0);
}

/* ---- handles ------------------------------------------------------------ */

/* Handles never opened, closed, and a closed one whose slot holds a new
 * handle: all HS_EBADCAP, and the new one works. */
static int bad_handle_client(void *arg)
{
    (void)arg;
    struct ramfs_client c;
    uint64_t fd = 0, again = 0;
    attach(&c);
    st_of[0] = ramfs_read(&c, 0, 0, 1, NULL);
    st_of[1] = ramfs_close(&c, 12345);
    st_of[2] = ramfs_write(&c, (uint64_t)1 << 63, 0, 1);
    EXPECT_ST(ramfs_open(&c, "f", RAMFS_RDWR | RAMFS_CREATE, &fd), HS_OK);
    EXPECT_ST(ramfs_close(&c, fd), HS_OK);
    st_of[3] = ramfs_close(&c, fd);
    EXPECT_ST(ramfs_open(&c, "f", RAMFS_RDWR, &again), HS_OK);
    val_of[0] = fd != again;
    st_of[4] = ramfs_read(&c, fd, 0, 1, NULL);      /* the stale one */
    st_of[5] = ramfs_write(&c, again, 0, 1);
    EXPECT_ST(ramfs_detach(&c), HS_OK);
    return 0;
}

static int bad_handle_main(void *arg)
{
    (void)arg;
    start_server();
    run_client(bad_handle_client, 1);
    return 0;
}

static void test_ramfs_bad_handle_refused(void **state)
{
    (void)state;
    reset();
    run(bad_handle_main);
    for (int i = 0; i < 5; i++)
        assert_int_equal(st_of[i], HS_EBADCAP);
    assert_int_equal(val_of[0], 1);
    assert_int_equal(st_of[5], HS_OK);
}

/* The owner opens a file and writes data 4; the other client, given the
 * handle's number, may neither read, write nor close it; the owner's
 * handle and data are as they were. */
static int owner_client(void *arg)
{
    (void)arg;
    struct ramfs_client c;
    attach(&c);
    EXPECT_ST(ramfs_open(&c, "mine", RAMFS_RDWR | RAMFS_CREATE, &shared_fd),
              HS_OK);
    fill(&c, 4, 64);
    EXPECT_ST(ramfs_write(&c, shared_fd, 0, 64), HS_OK);
    tu_sleep_until(HS_MSEC);            /* the other tries meanwhile */
    fill(&c, 5, 64);
    st_of[3] = ramfs_read(&c, shared_fd, 0, 64, &val_of[0]);
    same[0] = holds(&c, 4, 0, 64);
    EXPECT_ST(ramfs_detach(&c), HS_OK);
    return 0;
}

static int other_client(void *arg)
{
    (void)arg;
    struct ramfs_client c;
    attach(&c);
    fill(&c, 6, 64);
    st_of[0] = ramfs_read(&c, shared_fd, 0, 64, NULL);
    st_of[1] = ramfs_write(&c, shared_fd, 0, 64);
    st_of[2] = ramfs_close(&c, shared_fd);
    same[1] = holds(&c, 6, 0, 64);      /* nothing came into its buffer */
    EXPECT_ST(ramfs_detach(&c), HS_OK);
    return 0;
}

static int owner_main(void *arg)
{
    (void)arg;
    start_server();
    hs_pid_t owner = spawn_client(owner_client, 1);
    tu_sleep_until(HS_MSEC / 2);
    run_client(other_client, 2);
    EXPECT_ST(hs_proc_wait(owner, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_ramfs_other_clients_handle_refused(void **state)
{
    (void)state;
    reset();
    run(owner_main);
    assert_int_not_equal(shared_fd, 0);
    assert_int_equal(st_of[0], HS_EPERM);
    assert_int_equal(st_of[1], HS_EPERM);
    assert_int_equal(st_of[2], HS_EPERM);
    assert_int_equal(st_of[3], HS_OK);
    assert_int_equal(val_of[0], 64);
    assert_true(same[0]);
    assert_true(same[1]);
}

/* ---- bounds ------------------------------------------------------------- */

/* A file of 1000 bytes of data 7.  Each refused call leaves the file, the
 * buffer and the server's figures as they were. */
static int bounds_client(void *arg)
{
    (void)arg;
    struct ramfs_client c;
    uint64_t fd = 0, ro = 0, wo = 0;
    attach(&c);
    EXPECT_ST(ramfs_open(&c, "f", RAMFS_RDWR | RAMFS_CREATE, &fd), HS_OK);
    EXPECT_ST(ramfs_open(&c, "f", RAMFS_RDONLY, &ro), HS_OK);
    EXPECT_ST(ramfs_open(&c, "f", RAMFS_WRONLY, &wo), HS_OK);
    fill(&c, 7, 1000);
    EXPECT_ST(ramfs_write(&c, fd, 0, 1000), HS_OK);
    seen = stats;
    fill(&c, 8, BUF_SIZE);
    st_of[0] = ramfs_write(&c, fd, 0, BUF_SIZE + 1);    /* > buffer */
    st_of[1] = ramfs_read(&c, fd, 0, BUF_SIZE + 1, NULL);
    st_of[2] = ramfs_write(&c, fd, UINT64_MAX - 10, 100);   /* wraps */
    st_of[3] = ramfs_read(&c, fd, UINT64_MAX - 10, 100, NULL);
    st_of[4] = ramfs_write(&c, fd, RAMFS_FILE_MAX - 10, 11);    /* > max */
    st_of[5] = ramfs_write(&c, ro, 0, 10);              /* read-only */
    st_of[6] = ramfs_read(&c, wo, 0, 10, NULL);         /* write-only */
    st_of[7] = ramfs_write(&c, fd, UINT64_MAX, 1);
    same[0] = holds(&c, 8, 0, BUF_SIZE);    /* no read landed */
    same[1] = memcmp(&seen, &stats, sizeof seen) == 0;
    st_of[8] = ramfs_read(&c, ro, 0, BUF_SIZE, &val_of[0]);
    same[2] = holds(&c, 7, 0, 1000);        /* no write landed */
    st_of[9] = ramfs_write(&c, fd, RAMFS_FILE_MAX - 10, 10);    /* = max */
    st_of[10] = ramfs_read(&c, ro, RAMFS_FILE_MAX - 10, 100, &val_of[1]);
    EXPECT_ST(ramfs_detach(&c), HS_OK);
    return 0;
}

static int bounds_main(void *arg)
{
    (void)arg;
    start_server();
    run_client(bounds_client, 1);
    return 0;
}

static void test_ramfs_bounds_refused_without_change(void **state)
{
    (void)state;
    reset();
    run(bounds_main);
    assert_int_equal(st_of[0], HS_EMSGSIZE);
    assert_int_equal(st_of[1], HS_EMSGSIZE);
    assert_int_equal(st_of[2], HS_ERANGE);
    assert_int_equal(st_of[3], HS_ERANGE);
    assert_int_equal(st_of[4], HS_ELIMIT);
    assert_int_equal(st_of[5], HS_EPERM);
    assert_int_equal(st_of[6], HS_EPERM);
    assert_int_equal(st_of[7], HS_ERANGE);
    assert_true(same[0]);
    assert_true(same[1]);
    assert_int_equal(st_of[8], HS_OK);
    assert_int_equal(val_of[0], 1000);
    assert_true(same[2]);
    assert_int_equal(st_of[9], HS_OK);
    assert_int_equal(st_of[10], HS_OK);
    assert_int_equal(val_of[1], 10);
}

/* ---- limits ------------------------------------------------------------- */

/* RAMFS_FILES_MAX files, then one more; RAMFS_HANDLES_MAX handles, then
 * one more; a refused open creates no file. */
static int limits_client(void *arg)
{
    (void)arg;
    struct ramfs_client c;
    uint64_t fd = 0;
    attach(&c);
    for (unsigned i = 0; i < RAMFS_FILES_MAX; i++) {
        char name[RAMFS_NAME_MAX + 1];
        snprintf(name, sizeof name, "file%u", i);
        EXPECT_ST(ramfs_open(&c, name, RAMFS_RDWR | RAMFS_CREATE, &fd),
                  HS_OK);
    }
    st_of[0] = ramfs_open(&c, "one-too-many", RAMFS_RDWR | RAMFS_CREATE,
                          &fd);
    for (unsigned i = RAMFS_FILES_MAX; i < RAMFS_HANDLES_MAX; i++)
        EXPECT_ST(ramfs_open(&c, "file0", RAMFS_RDONLY, &fd), HS_OK);
    seen = stats;
    st_of[1] = ramfs_open(&c, "file0", RAMFS_RDONLY, &fd);
    EXPECT_ST(ramfs_close(&c, fd), HS_OK);
    st_of[2] = ramfs_open(&c, "file1", RAMFS_RDONLY, &fd);     /* room */
    st_of[3] = ramfs_open(&c, "one-too-many", RAMFS_RDONLY, &fd);
    EXPECT_ST(ramfs_detach(&c), HS_OK);
    return 0;
}

/* RAMFS_CLIENTS_MAX clients attach and stay until told; one more is
 * refused, and gets its buffer back. */
static int stay;

static int staying_client(void *arg)
{
    (void)arg;
    struct ramfs_client c;
    attach(&c);
    while (stay)
        tu_sleep_until(hs_time_now() + 100 * HS_USEC);
    EXPECT_ST(ramfs_detach(&c), HS_OK);
    return 0;
}

static int extra_client(void *arg)
{
    (void)arg;
    struct ramfs_client c;
    hs_mem_info info;
    st_of[4] = ramfs_attach(&c, 1, BUF, BUF_LOG2, WAIT);
    st_of[5] = hs_mem_query(0, BUF, &info);     /* unmapped again */
    return 0;
}

static int limits_main(void *arg)
{
    (void)arg;
    start_server();
    run_client(limits_client, 1);
    hs_pid_t pid[RAMFS_CLIENTS_MAX];
    stay = 1;
    for (unsigned i = 0; i < RAMFS_CLIENTS_MAX; i++)
        pid[i] = spawn_client(staying_client, 10 + i);
    tu_sleep_until(hs_time_now() + HS_MSEC);
    run_client(extra_client, 99);
    seen.clients = stats.clients;
    stay = 0;
    for (unsigned i = 0; i < RAMFS_CLIENTS_MAX; i++)
        EXPECT_ST(hs_proc_wait(pid[i], HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_ramfs_limits(void **state)
{
    (void)state;
    reset();
    run(limits_main);
    assert_int_equal(st_of[0], HS_ELIMIT);
    assert_int_equal(st_of[1], HS_ELIMIT);
    assert_int_equal(seen.handles, RAMFS_HANDLES_MAX);
    assert_int_equal(seen.files, RAMFS_FILES_MAX);
    assert_int_equal(st_of[2], HS_OK);
    assert_int_equal(st_of[3], HS_ENOENT);
    assert_int_equal(st_of[4], HS_ELIMIT);
    assert_int_equal(st_of[5], HS_ENOMAP);
    assert_int_equal(seen.clients, RAMFS_CLIENTS_MAX);
    assert_int_equal(stats.clients, 0);
    assert_int_equal(stats.handles, 0);
}

/* ---- the protocol's errors ---------------------------------------------- */

/* A call of operation op with w words (mr[0..w-1] = words) through cap
 * 1, and n memory items sharing the client's buffer. */
static hs_status raw(unsigned op, unsigned w, const uint64_t *words,
                     unsigned items, unsigned mode)
{
    hs_utcb_t *u = hs_utcb();
    for (unsigned i = 0; i < w; i++)
        u->mr[i] = words[i];
    for (unsigned i = 0; i < items; i++) {
        u->mr[w + 2 * i] = HS_ITEM_MEM_WORD(mode,
                                            HS_PROT_READ | HS_PROT_WRITE);
        u->mr[w + 2 * i + 1] = HS_FPAGE(BUF + i * BUF_SIZE, BUF_LOG2);
    }
    u->tag = HS_TAG_ITEMS(op, w, items);
    hs_status st = hs_ipc_call(1, WAIT, WAIT);
    return st == HS_OK ? (hs_status)u->mr[0] : st;
}

static int errors_client(void *arg)
{
    (void)arg;
    struct ramfs_client c;
    uint64_t fd = 0;
    uint64_t name[3] = { 0x6f6f66, 0, RAMFS_RDWR | RAMFS_CREATE };  /* foo */
    st_of[0] = raw(RAMFS_OPEN, 3, name, 0, 0);          /* no buffer */
    EXPECT_ST(hs_mem_map(BUF, 2 * BUF_SIZE, HS_PROT_READ | HS_PROT_WRITE,
                         HS_PAGE_4K), HS_OK);
    st_of[1] = raw(RAMFS_ATTACH, 0, NULL, 1, HS_XFER_COPY);  /* a copy */
    st_of[2] = raw(RAMFS_ATTACH, 0, NULL, 2, HS_XFER_SHARE); /* two */
    st_of[3] = raw(RAMFS_ATTACH, 0, NULL, 0, 0);             /* none */
    st_of[4] = raw(RAMFS_ATTACH, 1, name, 1, HS_XFER_SHARE); /* a word */
    seen = stats;
    EXPECT_ST(hs_mem_unmap(BUF, 2 * BUF_SIZE), HS_OK);
    attach(&c);
    st_of[5] = ramfs_attach(&c, 1, BUF + BUF_SIZE, BUF_LOG2, WAIT);
    st_of[6] = raw(99, 0, NULL, 0, 0);                  /* no such op */
    st_of[7] = raw(RAMFS_OPEN, 2, name, 0, 0);          /* short */
    name[2] = RAMFS_TRUNC | RAMFS_RDONLY;
    st_of[8] = raw(RAMFS_OPEN, 3, name, 0, 0);          /* bad flags */
    name[2] = 0x100 | RAMFS_RDWR;
    st_of[9] = raw(RAMFS_OPEN, 3, name, 0, 0);
    name[2] = RAMFS_RDWR;
    name[1] = (uint64_t)1 << 56;                        /* junk after NUL */
    st_of[10] = raw(RAMFS_OPEN, 3, name, 0, 0);
    name[0] = 0;
    name[1] = 0;
    st_of[11] = raw(RAMFS_OPEN, 3, name, 0, 0);         /* empty */
    st_of[12] = ramfs_open(&c, "missing", RAMFS_RDONLY, &fd);
    st_of[13] = ramfs_open(&c, "0123456789abcdef", RAMFS_RDONLY, &fd);
    st_of[14] = ramfs_open(&c, "x", RAMFS_RDONLY, NULL);
    st_of[15] = ramfs_read(NULL, 1, 0, 1, NULL);
    EXPECT_ST(ramfs_detach(&c), HS_OK);
    st_of[16] = ramfs_detach(&c);                       /* not attached */
    st_of[17] = ramfs_attach(&c, 1, BUF + 1, BUF_LOG2, WAIT);
    st_of[18] = ramfs_attach(&c, 1, BUF, 17, WAIT);
    return 0;
}

static int errors_main(void *arg)
{
    (void)arg;
    start_server();
    run_client(errors_client, 1);
    hs_mem_info info;
    window_state = hs_mem_query(0, RAMFS_VA_BASE, &info);
    return 0;
}

static void test_ramfs_protocol_errors(void **state)
{
    (void)state;
    reset();
    run(errors_main);
    assert_int_equal(st_of[0], HS_ESTATE);
    for (int i = 1; i <= 4; i++)
        assert_int_equal(st_of[i], HS_EINVAL);
    assert_int_equal(seen.clients, 0);      /* none of those attached */
    assert_int_equal(st_of[5], HS_EEXIST);
    for (int i = 6; i <= 11; i++)
        assert_int_equal(st_of[i], HS_EINVAL);
    assert_int_equal(st_of[12], HS_ENOENT);
    assert_int_equal(st_of[13], HS_EINVAL);
    assert_int_equal(st_of[14], HS_EINVAL);
    assert_int_equal(st_of[15], HS_EINVAL);
    assert_int_equal(st_of[16], HS_EINVAL);
    assert_int_equal(st_of[17], HS_EINVAL);
    assert_int_equal(st_of[18], HS_EINVAL);
    assert_int_equal(stats.files, 0);
    assert_int_equal(window_state, HS_ENOMAP);  /* nothing kept */
}

/* ---- a client's end ----------------------------------------------------- */

/* It opens three handles and ends without closing them or detaching. */
static int dying_client(void *arg)
{
    (void)arg;
    struct ramfs_client c;
    uint64_t fd = 0;
    attach(&c);
    for (int i = 0; i < 3; i++)
        EXPECT_ST(ramfs_open(&c, "left", RAMFS_RDWR | RAMFS_CREATE, &fd),
                  HS_OK);
    fill(&c, 9, 10);
    EXPECT_ST(ramfs_write(&c, fd, 0, 10), HS_OK);
    shared_fd = fd;
    seen = stats;
    hs_proc_exit(7);
}

/* The next client finds the server serving, the dead one's handles
 * closed and its file kept.  (The server counts a session once its
 * answer to attach has landed, so the figures are read after the next
 * call.) */
static int next_client(void *arg)
{
    (void)arg;
    struct ramfs_client c;
    uint64_t fd = 0;
    attach(&c);
    EXPECT_ST(ramfs_open(&c, "left", RAMFS_RDONLY, &fd), HS_OK);
    val_of[0] = stats.ended;
    val_of[1] = stats.handles;
    val_of[2] = stats.clients;
    st_of[0] = ramfs_read(&c, fd, 0, 10, &val_of[3]);
    same[0] = holds(&c, 9, 0, 10);
    st_of[1] = ramfs_read(&c, shared_fd, 0, 10, NULL);  /* closed */
    EXPECT_ST(ramfs_detach(&c), HS_OK);
    return 0;
}

static int death_main(void *arg)
{
    (void)arg;
    start_server();
    val_of[4] = (uint64_t)run_client(dying_client, 1);
    run_client(next_client, 2);
    hs_mem_info info;
    window_state = hs_mem_query(0, RAMFS_VA_BASE, &info);
    return 0;
}

static void test_ramfs_dead_client_loses_handles(void **state)
{
    (void)state;
    reset();
    run(death_main);
    assert_int_equal(val_of[4], 7);
    assert_int_equal(seen.handles, 3);
    assert_int_equal(seen.clients, 1);
    assert_int_equal(val_of[0], 1);         /* ended by the server */
    assert_int_equal(val_of[1], 1);         /* the next client's only */
    assert_int_equal(val_of[2], 1);
    assert_int_equal(st_of[0], HS_OK);
    assert_int_equal(val_of[3], 10);
    assert_true(same[0]);
    assert_int_equal(st_of[1], HS_EBADCAP);
    assert_int_equal(window_state, HS_ENOMAP);
    assert_int_equal(stats.handles, 0);
    assert_int_equal(stats.clients, 0);
}

/* ---- the server's end --------------------------------------------------- */

/* The client holds a file open when main stops the server; its next calls
 * fail, and the server has given back all it mapped. */
static int orphan_client(void *arg)
{
    (void)arg;
    struct ramfs_client c;
    uint64_t fd = 0;
    attach(&c);
    EXPECT_ST(ramfs_open(&c, "f", RAMFS_RDWR | RAMFS_CREATE, &fd), HS_OK);
    fill(&c, 10, 100);
    EXPECT_ST(ramfs_write(&c, fd, 0, 100), HS_OK);
    tu_sleep_until(HS_MSEC);            /* main stops the server */
    st_of[0] = ramfs_read(&c, fd, 0, 100, NULL);
    st_of[1] = ramfs_detach(&c);
    hs_mem_info info;
    st_of[2] = hs_mem_query(0, BUF, &info);     /* unmapped all the same */
    return 0;
}

static int server_end_main(void *arg)
{
    (void)arg;
    start_server();
    hs_pid_t pid = spawn_client(orphan_client, 1);
    tu_sleep_until(HS_MSEC / 2);
    seen = stats;
    EXPECT_ST(hs_ipc_cancel(server_tid), HS_OK);
    tu_join(server_tid);
    hs_mem_info info;
    window_state = hs_mem_query(0, RAMFS_VA_BASE, &info);
    st_of[3] = hs_mem_query(0, RAMFS_VA_BASE + ((uint64_t)1 << 20), &info);
    EXPECT_ST(hs_proc_wait(pid, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_ramfs_server_end_fails_clients(void **state)
{
    (void)state;
    reset();
    run(server_end_main);
    assert_int_equal(seen.clients, 1);
    assert_int_equal(seen.files, 1);
    assert_int_equal(served, HS_ECANCELED);
    assert_int_equal(st_of[0], HS_EBADCAP);
    assert_int_equal(st_of[1], HS_EBADCAP);
    assert_int_equal(st_of[2], HS_ENOMAP);
    assert_int_equal(window_state, HS_ENOMAP);  /* the buffer's window */
    assert_int_equal(st_of[3], HS_ENOMAP);      /* the file's pages */
    assert_int_equal(stats.clients, 0);
    assert_int_equal(stats.files, 0);
    assert_int_equal(stats.handles, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_ramfs_write_then_read_across_clients),
        TU_TEST(test_ramfs_reads_past_the_end),
        TU_TEST(test_ramfs_bad_handle_refused),
        TU_TEST(test_ramfs_other_clients_handle_refused),
        TU_TEST(test_ramfs_bounds_refused_without_change),
        TU_TEST(test_ramfs_limits),
        TU_TEST(test_ramfs_protocol_errors),
        TU_TEST(test_ramfs_dead_client_loses_handles),
        TU_TEST(test_ramfs_server_end_fails_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
