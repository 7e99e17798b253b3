/*
 * tests/cxx/prog.cpp - hopsim used from C++17, built with the README's
 * C++ recipe against an installed libhopsim.so by tools/check-install.sh.
 *
 * A server process answers hops on the named port "echo" with the word
 * plus one; a client process spawns a worker thread, hops to the server,
 * then calls a gate the worker receives on (it answers with the word plus
 * 100).  The results go into a std::vector; on success the program prints
 *   hopsim-cxx 0.1.0: hop 42, ipc 142
 * (the version from HS_VERSION) and exits 0.
 */
#include <cstdio>
#include <string>
#include <vector>

#include "hopsim.h"

namespace {

std::vector<std::uint64_t> results;
hs_status failed = HS_OK;

void note(hs_status st)
{
    if (st != HS_OK && failed == HS_OK)
        failed = st;
}

void echo(hs_hop_t *hop, void *)
{
    hs_utcb()->mr[0] = hs_mr(hop, 0) + 1;
}

int server(void *)
{
    hs_port_t port = 0;
    note(hs_port_create_named("echo", &port));
    note(hs_port_set_handler(port, echo, nullptr));
    return hs_proc_serve();
}

int worker(void *)
{
    note(hs_ipc_wait(HS_NEVER, nullptr));
    hs_utcb()->mr[0] += 100;
    note(hs_ipc_reply());
    return 0;
}

int client(void *)
{
    hs_port_t port = 0;
    std::uint64_t reply = 0;
    note(hs_port_lookup("echo", HS_NEVER, &port));
    note(hs_hop_call(port, 41, &reply));
    results.push_back(reply);

    hs_tid_t tid = 0;
    hs_cap_t gate = HS_CAP_NIL;
    note(hs_thread_create(worker, nullptr, nullptr, &tid));
    note(hs_gate_create(tid, 0, &gate));
    hs_utcb()->tag = HS_TAG(0, 1);
    hs_utcb()->mr[0] = reply;
    note(hs_ipc_call(gate, HS_NEVER, HS_NEVER));
    results.push_back(hs_utcb()->mr[0]);
    note(hs_thread_join(tid, HS_NEVER, nullptr));
    return 0;
}

}  // namespace

int main()
{
    hs_sim_config cfg{};
    cfg.ncpus = 1;
    cfg.seed = HS_SEED_NONE;
    cfg.switch_kind = HS_SWITCH_DEFAULT;
    cfg.stack_size = 64 * 1024;
    cfg.max_procs = 16;
    cfg.max_threads = 64;
    cfg.max_threads_per_proc = 16;
    cfg.max_ports = 64;
    cfg.max_caps = 64;
    cfg.max_hop_depth = 4;
    cfg.hop_stacks = 4;
    cfg.quiet = 1;
    cfg.mem_size = HS_MEM_SIZE_DEFAULT;

    note(hs_sim_start(&cfg));
    note(hs_proc_spawn("echo-srv", server, nullptr, nullptr, nullptr));
    note(hs_proc_spawn("client", client, nullptr, nullptr, nullptr));
    hs_status run = hs_sim_run();
    if (run != HS_OK || failed != HS_OK || results.size() != 2) {
        std::fprintf(stderr, "prog: run %s, first failure %s\n%s\n",
                     hs_strerror(run), hs_strerror(failed), hs_sim_report());
        return 1;
    }
    std::string line = std::string("hopsim-cxx ") + HS_VERSION + ": hop " +
                       std::to_string(results[0]) + ", ipc " +
                       std::to_string(results[1]);
    std::puts(line.c_str());
    return 0;
}
