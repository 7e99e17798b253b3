/*
 * tests/test_config.c - what hopsim says when it is used wrongly: a bad
 * configuration (a HOPSIM_* variable or a hs_sim_config field), a public
 * call from outside a simulated thread, and a fatal host signal in a
 * simulated thread.
 *
 * Each of these writes to stderr, once per process, and a crash ends the
 * process; so every scenario runs in a child: this program started again
 * as "test_config --child SCENARIO", with its environment reduced to the
 * variable under test.  The test asserts on the child's exit status and on
 * its stderr, byte for byte where the text is fixed.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ---- the child side ------------------------------------------------------ */

/* Exit statuses of a child, besides a start's hs_status. */
#define CHILD_STARTED_ANYWAY 100   /* start refused, yet something started */
#define CHILD_BAD_SPAWN      101
#define CHILD_BAD_RUN        102
#define CHILD_BAD_STATUS     103
#define CHILD_UNKNOWN        127

static int child_return(void *arg)
{
    (void)arg;
    return 0;
}

/* Start with cfg, then check that a refused start started nothing; run
 * an accepted one to its end.  Exits with the refusal's status, or 0. */
static int child_start_and_run(const hs_sim_config *cfg)
{
    hs_status st = hs_sim_start(cfg);
    if (st != HS_OK) {
        if (hs_proc_spawn("x", child_return, NULL, NULL, NULL) != HS_ESTATE ||
            hs_sim_run() != HS_ESTATE)
            return CHILD_STARTED_ANYWAY;
        return (int)st;
    }
    if (hs_proc_spawn("p", child_return, NULL, NULL, NULL) != HS_OK)
        return CHILD_BAD_SPAWN;
    return hs_sim_run() == HS_OK ? 0 : CHILD_BAD_RUN;
}

/* The defaults, quiet: every HOPSIM_* variable is read. */
static hs_sim_config env_config(void)
{
    hs_sim_config cfg = HS_SIM_DEFAULTS;
    cfg.quiet = 1;
    return cfg;
}

/* One bad field of the configuration, by name. */
static int child_field(const char *field)
{
    hs_sim_config cfg = tu_config();
    if (strcmp(field, "ncpus") == 0)
        cfg.ncpus = 0;
    else if (strcmp(field, "stack_size") == 0)
        cfg.stack_size = 4096;
    else if (strcmp(field, "max_threads") == 0)
        cfg.max_threads = 0;
    else if (strcmp(field, "max_hop_depth") == 0)
        cfg.max_hop_depth = HS_HOP_DEPTH_MAX + 1;
    else if (strcmp(field, "switch_kind") == 0)
        cfg.switch_kind = (hs_switch_kind)99;
    else if (strcmp(field, "strategy") == 0)
        cfg.strategy = (hs_strategy)7;
    else if (strcmp(field, "pct_depth") == 0)
        cfg.pct_depth = HS_PCT_DEPTH_MAX + 1;
    else if (strcmp(field, "faults") == 0)
        cfg.faults = 0x100;
    else if (strcmp(field, "faults_unseeded") == 0)
        cfg.faults = HS_FAULT_KILL;
    else if (strcmp(field, "mem_size") == 0)
        cfg.mem_size = 4097;
    else if (strcmp(field, "trace_path") == 0)
        cfg.trace_path = "/nonexistent-dir/t.json";
    else if (strcmp(field, "msc_path") == 0)
        cfg.msc_path = "/nonexistent-dir/c.msc";
    else if (strcmp(field, "log_path") == 0)
        cfg.log_path = "/nonexistent-dir/e.log";
    else
        return CHILD_UNKNOWN;
    return child_start_and_run(&cfg);
}

/* Public calls before any simulation: hs_mem_stats_get() may be asked
 * there (it says nothing); hs_hop() may not, and says so once. */
static int child_outside(void)
{
    hs_mem_stats stats;
    int ok = hs_mem_stats_get(&stats) == HS_ESTATE;
    ok &= hs_hop(1, 0, 0) == HS_ESTATE;
    ok &= hs_hop(1, 0, 0) == HS_ESTATE;
    ok &= hs_thread_yield() == HS_ESTATE;
    return ok ? 0 : CHILD_BAD_STATUS;
}

/* A call between hs_sim_start() and hs_sim_run(); after the run, the
 * memory calls answer the host and say nothing. */
static int child_outside_before_run(void)
{
    hs_sim_config cfg = tu_config();
    if (hs_sim_start(&cfg) != HS_OK ||
        hs_proc_spawn("p", child_return, NULL, NULL, NULL) != HS_OK)
        return CHILD_BAD_SPAWN;
    int ok = hs_thread_yield() == HS_ESTATE;
    if (hs_sim_run() != HS_OK)
        return CHILD_BAD_RUN;
    hs_mem_stats stats;
    ok &= hs_mem_stats_get(&stats) == HS_OK;
    ok &= hs_mem_check() == HS_OK;
    return ok ? 0 : CHILD_BAD_STATUS;
}

/* A host thread that is no simulated CPU calls in during the run, while
 * the only simulated thread yields until it has. */
static atomic_int host_phase;     /* 1: the run is on; 2: the call is done */
static atomic_int host_status;

static void *host_thread(void *arg)
{
    (void)arg;
    while (atomic_load(&host_phase) != 1)
        sched_yield();
    atomic_store(&host_status, hs_thread_yield());
    atomic_store(&host_phase, 2);
    return NULL;
}

static int wait_for_host(void *arg)
{
    (void)arg;
    atomic_store(&host_phase, 1);
    while (atomic_load(&host_phase) != 2)
        hs_thread_yield();
    return 0;
}

static int child_outside_host_thread(void)
{
    hs_sim_config cfg = tu_config();
    pthread_t t;
    if (hs_sim_start(&cfg) != HS_OK ||
        hs_proc_spawn("waiter", wait_for_host, NULL, NULL, NULL) != HS_OK ||
        pthread_create(&t, NULL, host_thread, NULL) != 0)
        return CHILD_BAD_SPAWN;
    hs_status st = hs_sim_run();
    pthread_join(t, NULL);
    if (st != HS_OK)
        return CHILD_BAD_RUN;
    return atomic_load(&host_status) == HS_ESTATE ? 0 : CHILD_BAD_STATUS;
}

/* ---- crashing in a handler */

static const char *crash_kind;

/* A real SIGBUS: a read past the end of a mapped empty file. */
static void crash_bus(void)
{
    int fd = memfd_create("hopsim-test-bus", 0);
    char *p = fd < 0 ? MAP_FAILED :
              mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, "crash_bus: no empty file mapped: %s\n",
                strerror(errno));
        return;
    }
    (void)*(volatile char *)p;
}

/* A real SIGFPE: the hardware's division by zero (in C it would be
 * undefined, and the sanitizer build would stop it first). */
static void crash_fpe(void)
{
    unsigned lo = 1, hi = 0, zero = 0;
    __asm__ volatile("divl %2" : "+a"(lo), "+d"(hi) : "r"(zero));
}

/* An address nothing is mapped at, hidden from the compiler. */
static volatile int *volatile unmapped = (volatile int *)16;

static __attribute__((noinline)) void crash_now(void)
{
    if (strcmp(crash_kind, "segv") == 0)
        *unmapped = 1;
    else if (strcmp(crash_kind, "bus") == 0)
        crash_bus();
    else if (strcmp(crash_kind, "fpe") == 0)
        crash_fpe();
    else if (strcmp(crash_kind, "ill") == 0)
        __builtin_trap();
    else if (strcmp(crash_kind, "abrt") == 0)
        abort();
}

static void crash_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    crash_now();
}

static int crash_server(void *arg)
{
    (void)arg;
    hs_port_t p;
    if (hs_port_create_named("crashport", &p) != HS_OK ||
        hs_port_set_handler(p, crash_handler, NULL) != HS_OK)
        return 1;
    return (int)hs_proc_serve();
}

static int crash_client(void *arg)
{
    (void)arg;
    hs_port_t p;
    if (hs_port_lookup("crashport", HS_NEVER, &p) != HS_OK)
        return 1;
    return (int)hs_hop_call(p, 1, NULL);
}

/* The client hops into the server, whose handler crashes. */
static int child_crash(const char *kind)
{
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);        /* no core file */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);   /* nor a core-dump helper */
    crash_kind = kind;
    hs_sim_config cfg = tu_config();
    if (hs_sim_start(&cfg) != HS_OK ||
        hs_proc_spawn("server", crash_server, NULL, NULL, NULL) != HS_OK ||
        hs_proc_spawn("client", crash_client, NULL, NULL, NULL) != HS_OK)
        return CHILD_BAD_SPAWN;
    hs_sim_run();
    return CHILD_BAD_RUN;       /* the crash should have ended us */
}

static int child_main(const char *scenario)
{
    if (strcmp(scenario, "start") == 0) {
        hs_sim_config cfg = env_config();
        return child_start_and_run(&cfg);
    }
    if (strncmp(scenario, "field-", 6) == 0)
        return child_field(scenario + 6);
    if (strcmp(scenario, "outside") == 0)
        return child_outside();
    if (strcmp(scenario, "outside-before-run") == 0)
        return child_outside_before_run();
    if (strcmp(scenario, "outside-host-thread") == 0)
        return child_outside_host_thread();
    if (strncmp(scenario, "crash-", 6) == 0)
        return child_crash(scenario + 6);
    return CHILD_UNKNOWN;
}

/* ---- the test side ------------------------------------------------------- */

static const char *self_path;

struct child {
    int signaled;           /* killed by a signal (code is its number) */
    int code;               /* exit status, or the signal */
    char err[32 * 1024];    /* what it wrote to stderr */
};

static struct child child;

/* The environment of a child: this one's without any HOPSIM_* variable
 * (HOPSIM_SWITCH stays, so the ucontext pass covers children too, unless
 * var is HOPSIM_SWITCH), plus var=value; and sanitizers told to leave the
 * fatal signals alone, so a crash ends the child with its signal. */
static char **child_env(const char *var, const char *value)
{
    static char *env[1024];
    static char assign[512], asan[1024];
    size_t n = 0, vlen = var ? strlen(var) : 0;
    const char *old_asan = NULL;
    for (char **e = environ; *e && n + 4 < sizeof env / sizeof env[0]; e++) {
        if (strncmp(*e, "ASAN_OPTIONS=", 13) == 0) {
            old_asan = *e + 13;
            continue;
        }
        int is_switch = strncmp(*e, "HOPSIM_SWITCH=", 14) == 0;
        if (strncmp(*e, "HOPSIM_", 7) == 0 &&
            (!is_switch || (var && strcmp(var, "HOPSIM_SWITCH") == 0)))
            continue;
        if (var && strncmp(*e, var, vlen) == 0 && (*e)[vlen] == '=')
            continue;
        env[n++] = *e;
    }
    if (var) {
        snprintf(assign, sizeof assign, "%s=%s", var, value);
        env[n++] = assign;
    }
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%shandle_segv=0:"
             "handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:handle_abort=0",
             old_asan ? old_asan : "", old_asan && *old_asan ? ":" : "");
    env[n++] = asan;
    env[n] = NULL;
    return env;
}

/* Remove the lines a sanitizer runtime adds ("==1234==WARNING: ASan
 * doesn't fully support makecontext/swapcontext ..."): not hopsim's. */
static void drop_sanitizer_lines(char *text)
{
    char *to = text;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) + 1 : strlen(line);
        const char *d = line + 2;
        while (*d >= '0' && *d <= '9')
            d++;
        int sanitizer = line[0] == '=' && line[1] == '=' && d > line + 2 &&
                        d[0] == '=' && d[1] == '=';
        if (!sanitizer) {
            memmove(to, line, n);
            to += n;
        }
        line += n;
    }
    *to = '\0';
}

/* Run this program as "--child scenario" with var=value (var may be
 * NULL); fill child with how it ended and its stderr. */
static void run_child(const char *scenario, const char *var,
                      const char *value)
{
    memset(&child, 0, sizeof child);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    char *argv[] = {(char *)self_path, "--child", (char *)scenario, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, self_path, &fa, NULL, argv,
                         child_env(var, value));
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    assert_int_equal(rc, 0);
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], child.err + len, sizeof child.err - 1 - len)) > 0)
        len += (size_t)n;
    child.err[len] = '\0';
    close(fds[0]);
    drop_sanitizer_lines(child.err);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    child.signaled = WIFSIGNALED(status);
    child.code = child.signaled ? WTERMSIG(status) : WEXITSTATUS(status);
}

static void assert_exited(int code)
{
    if (child.signaled || child.code != code) {
        print_error("child %s %d, want exit %d; its stderr:\n%s\n",
                    child.signaled ? "killed by signal" : "exited with",
                    child.code, code, child.err);
        fail();
    }
}

static void assert_err_is(const char *want)
{
    if (strcmp(child.err, want) != 0) {
        print_error("child's stderr:\n%s\nwant exactly:\n%s\n", child.err,
                    want);
        fail();
    }
}

static void assert_err_has(const char *needle)
{
    if (!strstr(child.err, needle)) {
        print_error("child's stderr lacks \"%s\"; it is:\n%s\n", needle,
                    child.err);
        fail();
    }
}

/* ---- bad configurations */

struct bad_var {
    const char *var, *value;
    const char *line;       /* after "hopsim: " and before the newline */
};

static void test_each_bad_variable_is_named_with_its_value_and_what_is_allowed(
    void **state)
{
    (void)state;
    char seed_max[64];
    snprintf(seed_max, sizeof seed_max, "%llu",
             (unsigned long long)HS_SEED_MAX);
    char seed_abc[160], seed_big[160];
    snprintf(seed_abc, sizeof seed_abc, "HOPSIM_SEED='abc' is not a number "
             "(want a decimal seed 0..%s)", seed_max);
    snprintf(seed_big, sizeof seed_big, "HOPSIM_SEED='18446744073709551614' "
             "is too large (want a decimal seed 0..%s)", seed_max);
    const struct bad_var bad[] = {
        {"HOPSIM_SEED", "abc", seed_abc},
        {"HOPSIM_SEED", "18446744073709551614", seed_big},
        {"HOPSIM_SWITCH", "fastest",
         "HOPSIM_SWITCH='fastest' is not one of fast, ucontext"},
        {"HOPSIM_STRATEGY", "dfs",
         "HOPSIM_STRATEGY='dfs' is not one of random, pct"},
        {"HOPSIM_PCT_DEPTH", "0", "HOPSIM_PCT_DEPTH='0' is out of range "
         "(want a decimal number 1..64)"},
        {"HOPSIM_PCT_DEPTH", "65", "HOPSIM_PCT_DEPTH='65' is out of range "
         "(want a decimal number 1..64)"},
        {"HOPSIM_PCT_STEPS", "1e3", "HOPSIM_PCT_STEPS='1e3' is not a number "
         "(want a decimal number 1..18446744073709551613)"},
        {"HOPSIM_FAULTS", "kill,frames", "HOPSIM_FAULTS='kill,frames' has an "
         "unknown fault kind 'frames' (want a comma-separated list of kill, "
         "reply-timeout, frame, all or none)"},
        {"HOPSIM_FAULTS", "kill", "HOPSIM_FAULTS='kill' needs a seed: faults "
         "are drawn from it (set HOPSIM_SEED or hs_sim_config.seed)"},
        {"HOPSIM_MEM_CHECK", "yes",
         "HOPSIM_MEM_CHECK='yes' is not one of 0, 1"},
        {"HOPSIM_LOG", "/nonexistent-dir/x.log", "HOPSIM_LOG="
         "'/nonexistent-dir/x.log' cannot be written: No such file or "
         "directory"},
        {"HOPSIM_TRACE", "/nonexistent-dir/x.json", "HOPSIM_TRACE="
         "'/nonexistent-dir/x.json' cannot be written: No such file or "
         "directory"},
        {"HOPSIM_TRACE", "/", "HOPSIM_TRACE='/' cannot be written: Is a "
         "directory"},
        {"HOPSIM_MSC", "/nonexistent-dir/x.msc", "HOPSIM_MSC="
         "'/nonexistent-dir/x.msc' cannot be written: No such file or "
         "directory"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[512];
        snprintf(want, sizeof want, "hopsim: %s\n", bad[i].line);
        run_child("start", bad[i].var, bad[i].value);
        assert_exited(HS_EINVAL);       /* and nothing was started */
        assert_err_is(want);
    }
}

static void test_good_variables_start_and_say_nothing(void **state)
{
    (void)state;
    char trace[] = "/tmp/hopsim-config-XXXXXX";
    int fd = mkstemp(trace);
    assert_true(fd >= 0);
    close(fd);
    const struct bad_var good[] = {
        {"HOPSIM_SEED", "7", NULL},
        {"HOPSIM_SEED", "18446744073709551613", NULL},
        {"HOPSIM_SWITCH", "ucontext", NULL},
        {"HOPSIM_STRATEGY", "pct", NULL},
        {"HOPSIM_PCT_DEPTH", "64", NULL},
        {"HOPSIM_MEM_CHECK", "1", NULL},
        {"HOPSIM_FAULTS", "none", NULL},
        {"HOPSIM_TRACE", trace, NULL},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        run_child("start", good[i].var, good[i].value);
        assert_exited(0);
        assert_err_is("");
    }
    unlink(trace);
}

static void test_unwritable_deadlock_graph_is_warned_of_and_the_run_goes_on(
    void **state)
{
    (void)state;
    run_child("start", "HOPSIM_DEADLOCK_DOT", "/nonexistent-dir/d.dot");
    assert_exited(0);
    assert_err_is("hopsim: HOPSIM_DEADLOCK_DOT='/nonexistent-dir/d.dot' "
                  "cannot be written: No such file or directory (a "
                  "deadlock's wait-for graph would be lost)\n");
}

struct bad_field {
    const char *field;
    const char *line;
};

static void test_each_bad_config_field_is_named_with_its_value(void **state)
{
    (void)state;
    const struct bad_field bad[] = {
        {"ncpus", "hs_sim_config.ncpus=0 is out of range (want 1..64)"},
        {"stack_size", "hs_sim_config.stack_size=4096 is out of range "
         "(want 16384..67108864 bytes)"},
        {"max_threads",
         "hs_sim_config.max_threads=0 is out of range (want at least 1)"},
        {"max_hop_depth", "hs_sim_config.max_hop_depth=1025 is out of range "
         "(want 1..1024)"},
        {"switch_kind", "hs_sim_config.switch_kind=99 is not one of "
         "HS_SWITCH_DEFAULT, HS_SWITCH_FAST, HS_SWITCH_UCONTEXT"},
        {"strategy", "hs_sim_config.strategy=7 is not one of "
         "HS_STRATEGY_DEFAULT, HS_STRATEGY_RANDOM, HS_STRATEGY_PCT"},
        {"pct_depth", "hs_sim_config.pct_depth=65 is out of range (want "
         "1..64, or 0 for HOPSIM_PCT_DEPTH or 3)"},
        {"faults", "hs_sim_config.faults=0x100 has unknown bits 0x100 (want "
         "HS_FAULT_* bits, or HS_FAULTS_FROM_ENV)"},
        {"faults_unseeded", "hs_sim_config.faults=0x1 needs a seed: faults "
         "are drawn from it (set HOPSIM_SEED or hs_sim_config.seed)"},
        {"mem_size", "hs_sim_config.mem_size=4097 is not a multiple of 4096 "
         "from 4096 to 1099511627776 bytes"},
        {"trace_path", "hs_sim_config.trace_path='/nonexistent-dir/t.json' "
         "cannot be written: No such file or directory"},
        {"msc_path", "hs_sim_config.msc_path='/nonexistent-dir/c.msc' "
         "cannot be written: No such file or directory"},
        {"log_path", "hs_sim_config.log_path='/nonexistent-dir/e.log' "
         "cannot be written: No such file or directory"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char scenario[64], want[512];
        snprintf(scenario, sizeof scenario, "field-%s", bad[i].field);
        snprintf(want, sizeof want, "hopsim: %s\n", bad[i].line);
        run_child(scenario, NULL, NULL);
        assert_exited(HS_EINVAL);
        assert_err_is(want);
    }
}

/* ---- calls from outside a simulated thread */

#define OUTSIDE_ADVICE \
    ": it returns HS_ESTATE; call it from a thread started by " \
    "hs_proc_spawn() or hs_thread_create()\n"

static void test_first_call_outside_a_thread_says_once_which_call(
    void **state)
{
    (void)state;
    run_child("outside", NULL, NULL);
    assert_exited(0);
    assert_err_is("hopsim: hs_hop() called outside a simulated thread (no "
                  "simulation is running)" OUTSIDE_ADVICE);
}

static void test_call_before_the_run_says_so_and_memory_calls_after_it_do_not(
    void **state)
{
    (void)state;
    run_child("outside-before-run", NULL, NULL);
    assert_exited(0);
    assert_err_is("hopsim: hs_thread_yield() called outside a simulated "
                  "thread (before hs_sim_run())" OUTSIDE_ADVICE);
}

static void test_call_from_a_host_thread_during_the_run_says_so(void **state)
{
    (void)state;
    run_child("outside-host-thread", NULL, NULL);
    assert_exited(0);
    assert_err_is("hopsim: hs_thread_yield() called outside a simulated "
                  "thread (on a host thread that is not a simulated CPU)"
                  OUTSIDE_ADVICE);
}

/* ---- fatal signals */

static void assert_err_lacks(const char *needle)
{
    if (strstr(child.err, needle)) {
        print_error("child's stderr has \"%s\"; it is:\n%s\n", needle,
                    child.err);
        fail();
    }
}

/* The first frame of the backtrace is in a function named crash_...: the
 * one the signal struck, not the signal handler's. */
static void assert_first_frame_crashed(void)
{
    static const char head[] = "  backtrace across hops:\n    #0 0x";
    const char *at = strstr(child.err, head);
    const char *end = at ? strchr(at + sizeof head - 1, '\n') : NULL;
    const char *fn = at ? strstr(at + sizeof head - 1, " crash_") : NULL;
    if (!fn || fn > end) {
        print_error("first frame is not a crash_ function:\n%s\n",
                    child.err);
        fail();
    }
}

/* The lines every crash report of the hop scenario has. */
static void assert_crash_report(int sig, const char *what)
{
    if (!child.signaled || child.code != sig) {
        print_error("child %s %d, want signal %d; its stderr:\n%s\n",
                    child.signaled ? "killed by signal" : "exited with",
                    child.code, sig, child.err);
        fail();
    }
    char first[160];
    snprintf(first, sizeof first, "hopsim: fatal signal %s", what);
    if (strncmp(child.err, first, strlen(first)) != 0) {
        print_error("child's stderr:\n%s\nwant it to start with:\n%s\n",
                    child.err, first);
        fail();
    }
    assert_err_has("\n  in thread 2 'main' (process 2 'client') at vtime ");
    assert_err_has(", seed none\n");
    assert_err_has("\n  hop chain, innermost first: process 1 'server' "
                   "(entered via port 'crashport') <- process 2 'client'\n");
    assert_err_has("\n  backtrace across hops:\n");
    assert_err_has(" crash_now");
    assert_err_lacks("on_fault");           /* no frame of the handler */
    assert_err_has("--- hop from client via port 'crashport' ---\n");
    assert_err_has(" crash_client+0x");
}

static void test_segv_in_a_handler_names_thread_process_address_and_hops(
    void **state)
{
    (void)state;
    run_child("crash-segv", NULL, NULL);
    assert_crash_report(SIGSEGV, "SIGSEGV (invalid memory reference) at "
                        "address 0x10, pc 0x");
    assert_first_frame_crashed();
}

static void test_bus_error_in_a_handler_is_reported_and_kills(void **state)
{
    (void)state;
    run_child("crash-bus", NULL, NULL);
    assert_crash_report(SIGBUS, "SIGBUS (bus error) at address 0x");
    assert_first_frame_crashed();
}

static void test_division_by_zero_in_a_handler_is_reported_and_kills(
    void **state)
{
    (void)state;
    run_child("crash-fpe", NULL, NULL);
    assert_crash_report(SIGFPE, "SIGFPE (integer division by zero) at pc 0x");
    assert_first_frame_crashed();
}

static void test_illegal_instruction_in_a_handler_is_reported_and_kills(
    void **state)
{
    (void)state;
    run_child("crash-ill", NULL, NULL);
    assert_crash_report(SIGILL, "SIGILL (illegal instruction) at pc 0x");
    assert_first_frame_crashed();
}

static void test_abort_in_a_handler_is_reported_and_kills(void **state)
{
    (void)state;
    run_child("crash-abrt", NULL, NULL);
    assert_crash_report(SIGABRT, "SIGABRT (aborted) sent by abort() or "
                        "kill(), pc 0x");
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return child_main(argv[2]);
    self_path = argv[0];
    const struct CMUnitTest tests[] = {
        TU_TEST(test_each_bad_variable_is_named_with_its_value_and_what_is_allowed),
        TU_TEST(test_good_variables_start_and_say_nothing),
        TU_TEST(test_unwritable_deadlock_graph_is_warned_of_and_the_run_goes_on),
        TU_TEST(test_each_bad_config_field_is_named_with_its_value),
        TU_TEST(test_first_call_outside_a_thread_says_once_which_call),
        TU_TEST(test_call_before_the_run_says_so_and_memory_calls_after_it_do_not),
        TU_TEST(test_call_from_a_host_thread_during_the_run_says_so),
        TU_TEST(test_segv_in_a_handler_names_thread_process_address_and_hops),
        TU_TEST(test_bus_error_in_a_handler_is_reported_and_kills),
        TU_TEST(test_division_by_zero_in_a_handler_is_reported_and_kills),
        TU_TEST(test_illegal_instruction_in_a_handler_is_reported_and_kills),
        TU_TEST(test_abort_in_a_handler_is_reported_and_kills),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
