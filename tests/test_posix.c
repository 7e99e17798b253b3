/*
 * tests/test_posix.c - the POSIX-style layer (examples/posix/posix.h): a
 * small program written against it (a parent writes lines through a pipe
 * to a child that counts them and their words and answers through a
 * message queue) gives the right answer and the same event stream under
 * the same seed; end of file once the writer closes; -EAGAIN for
 * non-blocking descriptors with nothing to do; -EBADF and the other
 * errno values for misuse.
 */
#include <errno.h>

#include "testutil.h"

#include "examples/posix/posix.h"
#include "examples/servers/names.h"

#define NREC 32

static long got[NREC];
static char answer[64];

static void reset(void)
{
    for (int i = 0; i < NREC; i++)
        got[i] = 0x7badbad;
    memset(answer, 0, sizeof answer);
}

/* ---- the program: wc over a pipe, the answer on a queue ------------------------ */

static const char *const text[] = {
    "the quick brown fox\n",
    "jumps over\n",
    "the lazy dog and keeps on running through the fields of a very long "
    "line that does not fit in one pipe message because it is longer than "
    "two hundred and fifty six bytes, which is the size of one atomic write "
    "on these pipes, so the reader sees it in pieces and must count words "
    "across them\n",
};

/* The child: count lines and words of stdin (descriptor 0 here is the
 * pipe's read end, inherited under its number), answer on /wc. */
static int wc_child(void *arg)
{
    int in = (int)(intptr_t)arg;
    char buf[100];                  /* smaller than a pipe message */
    long lines = 0, words = 0;
    int inword = 0;
    ssize_t n;
    while ((n = px_read(in, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            int space = buf[i] == ' ' || buf[i] == '\n';
            words += !space && !inword;
            inword = !space;
            lines += buf[i] == '\n';
        }
    }
    got[0] = n;                     /* 0: end of file */
    got[1] = px_read(in, buf, sizeof buf);  /* still end of file */
    int q = px_mq_open("/wc", PX_O_WRONLY, NULL);
    got[2] = q >= 0;
    char msg[64];
    int len = snprintf(msg, sizeof msg, "%ld %ld", lines, words);
    got[3] = px_mq_send(q, msg, (size_t)len + 1, 7);
    got[4] = px_mq_close(q);
    got[5] = px_close(in);
    return 0;
}

static int ns_thread(void *arg)
{
    (void)arg;
    EXPECT_ST(names_serve(1, 0), HS_OK);
    return 0;
}

/* Start a name server thread in the caller's process and return its gate,
 * capability 1 (label 0, the stop label). */
static hs_cap_t names_start(void)
{
    hs_tid_t t = 0;
    hs_cap_t gate = 0;
    EXPECT_ST(hs_thread_create(ns_thread, NULL, NULL, &t), HS_OK);
    EXPECT_ST(hs_gate_create(t, 0, &gate), HS_OK);
    EXPECT_ST(gate == 1 ? HS_OK : HS_EINVAL, HS_OK);
    return gate;
}

static int wc_parent(void *arg)
{
    (void)arg;
    hs_cap_t stop = names_start();
    hs_cap_t ns = 0;
    EXPECT_ST(hs_cap_derive(stop, HS_CAP_SEND | HS_CAP_GRANT, 1001, &ns),
              HS_OK);
    got[10] = px_names_set(ns);
    struct px_mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 64 };
    int q = px_mq_open("/wc", PX_O_CREAT | PX_O_RDONLY, &a);
    int fds[2];
    got[11] = q >= 0;
    got[12] = px_pipe(fds);
    hs_pid_t child = 0;
    got[13] = px_spawn("wc", wc_child, (void *)(intptr_t)fds[0], &fds[0], 1,
                       &child);
    got[14] = px_close(fds[0]);
    long written = 0;
    for (unsigned i = 0; i < sizeof text / sizeof text[0]; i++)
        written += px_write(fds[1], text[i], strlen(text[i]));
    got[15] = written;
    got[16] = px_close(fds[1]);
    unsigned prio = 0;
    got[17] = px_mq_receive(q, answer, sizeof answer, &prio);
    got[18] = prio;
    int status = -1;
    EXPECT_ST(hs_proc_wait(child, HS_NEVER, &status), HS_OK);
    got[19] = status;
    got[20] = px_mq_unlink("/wc");
    got[21] = px_mq_open("/wc", PX_O_RDONLY, NULL);     /* gone */
    got[22] = px_mq_close(q);
    EXPECT_ST(names_stop(stop), HS_OK);
    return 0;
}

static hs_sim_summary run_wc(uint64_t seed)
{
    reset();
    hs_sim_config cfg = tu_config();
    cfg.seed = seed;
    hs_status st = tu_run(&cfg, "sh", wc_parent, NULL, NULL);
    if (st != HS_OK)
       
    assert_int_equal(st, HS_OK);
    assert_no_bad_status();
    return tu_summary();
}

static void test_posix_wc_program_counts_through_pipe_and_answers_on_queue(void **state)
{
    (void)state;
    run_wc(HS_SEED_NONE);
    long total = 0;
    for (unsigned i = 0; i < sizeof text / sizeof text[0]; i++)
        total += (long)strlen(text[i]);
    assert_true(strlen(text[2]) > PX_PIPE_BUF);     /* written in pieces */
    assert_int_equal(got[10], 0);
    assert_int_equal(got[11], 1);
    assert_int_equal(got[12], 0);
    assert_int_equal(got[13], 0);
    assert_int_equal(got[14], 0);
    assert_int_equal(got[15], total);
    assert_int_equal(got[16], 0);
    assert_int_equal(got[17], (long)strlen("3 64") + 1);
    assert_string_equal(answer, "3 64");
    assert_int_equal(got[18], 7);                   /* the priority */
    assert_int_equal(got[19], 0);
    assert_int_equal(got[20], 0);
    assert_int_equal(got[21], -ENOENT);
    assert_int_equal(got[22], 0);
    /* The child: end of file, twice, then its answer went out. */
    assert_int_equal(got[0], 0);
    assert_int_equal(got[1], 0);
    assert_int_equal(got[2], 1);
    assert_int_equal(got[3], 0);
    assert_int_equal(got[4], 0);
    assert_int_equal(got[5], 0);
}

static void test_posix_wc_program_is_deterministic_under_a_seed(void **state)
{
    (void)state;
    hs_sim_summary a = run_wc(42);
    assert_string_equal(answer, "3 64");
    hs_sim_summary b = run_wc(42);
    assert_string_equal(answer, "3 64");
    assert_int_equal(a.hash, b.hash);
    assert_int_equal(a.events, b.events);
    hs_sim_summary c = run_wc(43);
    assert_string_equal(answer, "3 64");            /* another schedule */
    (void)c;
}

/* ---- end of file, non-blocking, bad descriptors -------------------------------- */

static int misuse(void *arg)
{
    (void)arg;
    int fds[2];
    char b[16];
    EXPECT_ST(px_pipe(fds) == 0 ? HS_OK : HS_EINVAL, HS_OK);
    got[0] = px_set_nonblock(fds[0], 1);
    got[1] = px_read(fds[0], b, sizeof b);          /* empty: -EAGAIN */
    got[2] = px_write(fds[0], "x", 1);              /* the read end */
    got[3] = px_read(fds[1], b, sizeof b);          /* the write end */
    got[4] = px_read(-1, b, 1);
    got[5] = px_read(PX_OPEN_MAX + 3, b, 1);
    got[6] = px_write(fds[1], "hello", 5);
    got[7] = px_close(fds[1]);
    got[8] = px_read(fds[0], b, sizeof b);          /* 5 */
    got[9] = px_read(fds[0], b, sizeof b);          /* end of file */
    got[10] = px_close(fds[0]);
    got[11] = px_close(fds[0]);                     /* closed already */
    got[12] = px_read(fds[0], b, 1);
    /* A non-blocking writer fills the pipe, then is refused. */
    EXPECT_ST(px_pipe(fds) == 0 ? HS_OK : HS_EINVAL, HS_OK);
    got[13] = px_set_nonblock(fds[1], 1);
    char big[PX_PIPE_BUF];
    memset(big, 'z', sizeof big);
    long total = 0;
    for (unsigned i = 0; i < PX_PIPE_SLOTS; i++)
        total += px_write(fds[1], big, sizeof big);
    got[14] = total;
    got[15] = px_write(fds[1], big, sizeof big);    /* full: -EAGAIN */
    got[16] = px_read(fds[0], b, sizeof b);         /* 16 of the first */
    /* The reader closes: writing is -EPIPE. */
    got[17] = px_close(fds[0]);
    got[18] = px_set_nonblock(fds[1], 0);
    got[19] = px_write(fds[1], "x", 1);
    got[20] = px_close(fds[1]);
    /* Queues without a name server, and bad names. */
    got[21] = px_mq_open("/q", PX_O_CREAT | PX_O_RDWR, NULL);
    got[22] = px_mq_send(3, "x", 1, 0);
    return 0;
}

static void test_posix_eof_eagain_and_bad_descriptors(void **state)
{
    (void)state;
    reset();
    assert_int_equal(tu_run_default("misuse", misuse, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(got[0], 0);
    assert_int_equal(got[1], -EAGAIN);
    assert_int_equal(got[2], -EBADF);
    assert_int_equal(got[3], -EBADF);
    assert_int_equal(got[4], -EBADF);
    assert_int_equal(got[5], -EBADF);
    assert_int_equal(got[6], 5);
    assert_int_equal(got[7], 0);
    assert_int_equal(got[8], 5);
    assert_int_equal(got[9], 0);
    assert_int_equal(got[10], 0);
    assert_int_equal(got[11], -EBADF);
    assert_int_equal(got[12], -EBADF);
    assert_int_equal(got[13], 0);
    assert_int_equal(got[14], (long)PX_PIPE_SLOTS * PX_PIPE_BUF);
    assert_int_equal(got[15], -EAGAIN);
    assert_int_equal(got[16], 16);
    assert_int_equal(got[17], 0);
    assert_int_equal(got[18], 0);
    assert_int_equal(got[19], -EPIPE);
    assert_int_equal(got[20], 0);
    assert_int_equal(got[21], -EIO);
    assert_int_equal(got[22], -EBADF);
}

/* ---- the last close of an end nobody used -------------------------------------- */

static int eof_reader(void *arg)
{
    char b[16];
    got[1] = px_read((int)(intptr_t)arg, b, sizeof b);
    return 0;
}

/* A child reads a pipe whose write end the parent closes without ever
 * writing: end of file, as after POSIX's last close, not a wait for
 * ever.  A write end whose read end was closed unused: -EPIPE. */
static int unused_ends(void *arg)
{
    (void)arg;
    int a[2], b[2];
    hs_pid_t child = 0;
    EXPECT_ST(px_pipe(a) == 0 ? HS_OK : HS_EINVAL, HS_OK);
    got[0] = px_spawn("reader", eof_reader, (void *)(intptr_t)a[0], &a[0], 1,
                      &child);
    got[2] = px_close(a[0]);
    got[3] = px_close(a[1]);
    EXPECT_ST(hs_proc_wait(child, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(px_pipe(b) == 0 ? HS_OK : HS_EINVAL, HS_OK);
    got[4] = px_close(b[0]);
    got[5] = px_write(b[1], "x", 1);
    got[6] = px_close(b[1]);
    return 0;
}

static void test_posix_last_close_of_an_unused_end_ends_the_pipe(void **state)
{
    (void)state;
    reset();
    assert_int_equal(tu_run_default("sh", unused_ends, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(got[0], 0);
    assert_int_equal(got[1], 0);                    /* end of file */
    assert_int_equal(got[2], 0);
    assert_int_equal(got[3], 0);
    assert_int_equal(got[4], 0);
    assert_int_equal(got[5], -EPIPE);
    assert_int_equal(got[6], 0);
}

static int mq_misuse(void *arg)
{
    (void)arg;
    hs_cap_t stop = names_start();
    got[0] = px_names_set(stop);
    struct px_mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 8 };
    int q = px_mq_open("/m", PX_O_CREAT | PX_O_RDWR | PX_O_NONBLOCK, &a);
    got[1] = q >= 0;
    char b[16];
    got[2] = px_mq_receive(q, b, sizeof b, NULL);   /* empty: -EAGAIN */
    got[3] = px_mq_send(q, "123456789", 9, 0);      /* over msgsize */
    got[4] = px_mq_send(q, "a", 1, 1);
    got[5] = px_mq_send(q, "b", 1, 2);
    got[6] = px_mq_send(q, "c", 1, 3);              /* full: -EAGAIN */
    struct px_mq_attr now;
    got[7] = px_mq_getattr(q, &now);
    got[8] = now.mq_curmsgs;
    got[9] = px_mq_receive(q, b, 4, NULL);          /* buffer too small */
    got[10] = px_mq_open("/m", PX_O_CREAT | PX_O_EXCL | PX_O_RDWR, &a);
    got[11] = px_mq_open("/m", PX_O_RDONLY, NULL);  /* a second reader */
    got[12] = px_mq_open("nope", PX_O_RDONLY, NULL);
    got[13] = px_mq_open("/absent", PX_O_RDONLY, NULL);
    int w = px_mq_open("/m", PX_O_WRONLY, NULL);
    got[14] = w >= 0;
    got[15] = px_mq_receive(w, b, sizeof b, NULL);  /* write-only */
    got[16] = px_read(q, b, sizeof b);              /* not a pipe */
    unsigned prio = 0;
    got[17] = px_mq_receive(q, b, sizeof b, &prio);
    got[18] = prio;
    got[19] = b[0];
    got[20] = px_mq_unlink("/m");
    got[21] = px_mq_unlink("/m");
    got[22] = px_mq_close(w);
    got[23] = px_mq_close(q);
    EXPECT_ST(names_stop(stop), HS_OK);
    return 0;
}

static void test_posix_mq_errors_and_nonblocking(void **state)
{
    (void)state;
    reset();
    hs_status st = tu_run_default("mq", mq_misuse, NULL);
    if (st != HS_OK)
       
    assert_int_equal(st, HS_OK);
    assert_no_bad_status();
    assert_int_equal(got[0], 0);
    assert_int_equal(got[1], 1);
    assert_int_equal(got[2], -EAGAIN);
    assert_int_equal(got[3], -EMSGSIZE);
    assert_int_equal(got[4], 0);
    assert_int_equal(got[5], 0);
    assert_int_equal(got[6], -EAGAIN);
    assert_int_equal(got[7], 0);
    assert_int_equal(got[8], 2);
    assert_int_equal(got[9], -EMSGSIZE);
    assert_int_equal(got[10], -EEXIST);
    assert_int_equal(got[11], -EBUSY);
    assert_int_equal(got[12], -EINVAL);
    assert_int_equal(got[13], -ENOENT);
    assert_int_equal(got[14], 1);
    assert_int_equal(got[15], -EBADF);
    assert_int_equal(got[16], -EBADF);
    assert_int_equal(got[17], 1);
    assert_int_equal(got[18], 1);
    assert_int_equal(got[19], 'a');
    assert_int_equal(got[20], 0);
    assert_int_equal(got[21], -ENOENT);
    assert_int_equal(got[22], 0);
    assert_int_equal(got[23], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_posix_wc_program_counts_through_pipe_and_answers_on_queue),
        TU_TEST(test_posix_wc_program_is_deterministic_under_a_seed),
        TU_TEST(test_posix_eof_eagain_and_bad_descriptors),
        TU_TEST(test_posix_last_close_of_an_unused_end_ends_the_pipe),
        TU_TEST(test_posix_mq_errors_and_nonblocking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
