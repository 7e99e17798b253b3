/*
 * examples/tour.c - a short tour of hopsim, run by `make run`.
 *
 * Part 1: processes take turns on one simulated CPU.
 * Part 2: threads sleep in virtual time; the clock jumps, wall time does not.
 * Part 3: a parent waits for its child's exit status.
 * The run ends with hopsim's summary line: seed, event count, event hash.
 * Run it twice, or with HOPSIM_SEED=n, and compare the lines.
 */
#include <inttypes.h>
#include <stdio.h>

#include "hopsim.h"

static void say(const char *who, const char *what)
{
    printf("  [%8" PRIu64 " ns] %-8s %s\n", hs_time_now(), who, what);
}

/* Part 1: two processes hand the CPU to each other with hs_thread_yield. */
static int player(void *arg)
{
    const char *name = arg;
    for (int i = 0; i < 3; i++) {
        say(name, i == 0 ? "serves" : "returns");
        hs_thread_yield();
    }
    return 0;
}

/* Part 2: threads of one process sleep different virtual times. */
static int napper(void *arg)
{
    hs_time_t ns = (hs_time_t)(uintptr_t)arg;
    char line[64];
    snprintf(line, sizeof line, "wakes after %" PRIu64 " ms",
             ns / HS_MSEC);
    hs_thread_sleep(ns);
    say("napper", line);
    return 0;
}

static int nappers(void *arg)
{
    (void)arg;
    hs_tid_t t[3];
    static const hs_time_t ms[3] = {30, 10, 20};
    for (int i = 0; i < 3; i++) {
        hs_thread_attr a = {.name = "napper"};
        hs_thread_create(napper, (void *)(uintptr_t)(ms[i] * HS_MSEC), &a,
                         &t[i]);
    }
    for (int i = 0; i < 3; i++)
        hs_thread_join(t[i], HS_NEVER, NULL);
    say("nappers", "all threads joined");
    return 0;
}

/* Part 3: a child works for a while and exits with a status. */
static int child(void *arg)
{
    (void)arg;
    hs_thread_sleep(5 * HS_MSEC);
    say("child", "exits with status 7");
    hs_proc_exit(7);
}

static int parent(void *arg)
{
    (void)arg;
    hs_pid_t pid;
    int status = -1;
    hs_proc_spawn("child", child, NULL, NULL, &pid);
    say("parent", "spawned a child, waits for it");
    hs_status st = hs_proc_wait(pid, HS_NEVER, &status);
    char line[64];
    snprintf(line, sizeof line, "child ended: %s, status %d",
             hs_strerror(st), status);
    say("parent", line);
    return 0;
}

static int run_part(const char *title, void (*spawn)(void))
{
    printf("%s\n", title);
    fflush(stdout);
    hs_sim_config cfg = HS_SIM_DEFAULTS;
    hs_status st = hs_sim_start(&cfg);
    if (st != HS_OK) {
        fprintf(stderr, "tour: hs_sim_start: %s\n", hs_strerror(st));
        return 1;
    }
    spawn();
    st = hs_sim_run();
    fflush(stdout);
    if (st != HS_OK) {
        fprintf(stderr, "tour: run ended with %s\n%s", hs_strerror(st),
                hs_sim_report());
        return 1;
    }
    return 0;
}

static void spawn_players(void)
{
    hs_proc_spawn("ping", player, "ping", NULL, NULL);
    hs_proc_spawn("pong", player, "pong", NULL, NULL);
}

static void spawn_nappers(void)
{
    hs_proc_spawn("nappers", nappers, NULL, NULL, NULL);
}

static void spawn_family(void)
{
    hs_proc_spawn("parent", parent, NULL, NULL, NULL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("hopsim tour\n\n");
    int bad = run_part("1. two processes take turns on one CPU",
                       spawn_players);
    bad |= run_part("\n2. threads sleep in virtual time", spawn_nappers);
    bad |= run_part("\n3. a parent waits for its child", spawn_family);
    return bad;
}
