/*
 * tools/hash-wrap.c - record the summary of every run a program makes.
 *
 * Linked with -Wl,--wrap=hs_sim_run by tools/hash-check.sh: each
 * hs_sim_run() of the program appends one line to $HOPSIM_HASH_FILE
 * (the program's name, the run's number in it, its event count, hash
 * and status), quiet runs included, so that two builds can be compared
 * run by run.
 */
#include <stdio.h>
#include <stdlib.h>

#include "hopsim.h"

hs_status __real_hs_sim_run(void);
hs_status __wrap_hs_sim_run(void);

extern const char *__progname;

hs_status __wrap_hs_sim_run(void)
{
    static unsigned run;
    hs_status st = __real_hs_sim_run();
    const char *path = getenv("HOPSIM_HASH_FILE");
    hs_sim_summary s;
    if (!path || hs_sim_summary_get(&s) != HS_OK)
        return st;
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "%s %u events=%llu hash=%016llx status=%d\n", __progname,
                run, (unsigned long long)s.events,
                (unsigned long long)s.hash, (int)s.status);
        fclose(f);
    }
    run++;
    return st;
}
