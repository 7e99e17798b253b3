#!/usr/bin/env python3
"""Write the seed corpus of tests/fuzz/fuzz_api.c into tests/fuzz/corpus/.

Each seed is a header (see the top of fuzz_api.c) and a short op stream
that does something meaningful: a hop into a named server, a gate call
between two threads, memory mapped and touched, a channel and a topic, a
typed page send, children spawned and waited for.  The op numbers are read
from the enum in fuzz_api.c, so the seeds follow it when it changes; run
this again after changing the encoding:

    python3 tests/fuzz/make_corpus.py
"""
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = open(os.path.join(HERE, "fuzz_api.c")).read()
NAMES = [n.strip() for n in
         re.search(r"enum op \{(.*?)\};", SRC, re.S).group(1).split(",")
         if n.strip()]
OP = {n[3:].lower(): i for i, n in enumerate(NAMES)}


def header(procs=1, seed=None, faults=0, privileged=False, pool=2,
           depth=8, stacks=3, device=False):
    s = 0xffff if seed is None else seed
    b2 = faults | (0x10 if privileged else 0) | ((procs - 1) << 5)
    b3 = (depth - 1) | (stacks << 4) | (0x80 if device else 0)
    return bytes([s & 0xff, s >> 8, b2, b3, 0, pool])


def ops(*items):
    """items: ("op_name", arg bytes...) tuples."""
    out = bytearray()
    for name, *args in items:
        out.append(OP[name])
        out.extend(args)
    return bytes(out)


NOWAIT, NS, NEVER = 0x00, 0x0a, 0x06      # timeout bytes
SRV = 3                                   # port_names[3] == "srv"

SEEDS = {
    # p0 serves "srv"; p1 looks it up, calls it, hops with a checkpoint
    # and asynchronously; the handler runs one op in the server.
    "hop_call": header(procs=2) + ops(
        ("port_named", SRV, 1),
        ("serve", 0xff),
        ("port_lookup", SRV, NOWAIT),
        ("hop_call", 0, 0x02, 7, 41, 42, 5, 1),
        ("hop_info", 4),                  # handler: keep=0, 1 op
        ("hop", 0, 0x01, 9, 1, 1, NEVER),
        ("hop_async", 0, 0x00, 3),
        ("yield",),
    ),
    # A hop whose handler keeps the checkpoint; a thread of the server
    # resumes it.
    "hop_keep": header(procs=2) + ops(
        ("port_named", SRV, 1),
        ("sleep", 0x04),
        ("port_lookup", SRV, NEVER),
        ("hop", 0, 0x00, 0, 1, NEVER),
        ("yield",),                       # handler byte: keep (bit 0)
        ("cp_resume", 1, 2, 2, 0, 0),
    ),
    # Thread 1 makes a gate bound to itself and waits; thread 2 calls it;
    # the reply goes back with reply_wait.
    "ipc_call": header(procs=1) + ops(
        ("gate_create", 0, 5),
        ("thread_create", 0, 0),
        ("ipc_wait", 0, NEVER),
        ("ipc_call", 0, 0x03, 9, 1, 2, 3, 0, NEVER, NEVER),
        ("ipc_reply_wait", 0x01, 4, 7, 0, 0x0b),
        ("cap_derive", 0, 0x05, 3),
        ("cap_info", 1),
        ("cap_revoke", 0),
        ("ipc_send", 1, 0x00, 0, NOWAIT),
    ),
    # Map 4 pages, write and read them, protect, unmap; then a 2M page.
    "mem": header(procs=1) + ops(
        ("mem_map", 0, 3, 2, 1),
        ("mem_access", 0, 0, 0x04 | 0x10),
        ("mem_access", 0, 1, 0x20),
        ("mem_protect", 0, 1, 0),
        ("mem_access", 1, 0, 0x04),
        ("mem_unmap", 0, 3),
        ("mem_map", 0xc0, 0xc0, 2, 2),
        ("mem_access", 0xc0, 0, 0x10 | 0x80, 0xff, 0x01),
        ("mem_stats", 1),
    ),
    # A channel: create (8 slots, 64 bytes, SPSC, fail when full), attach
    # both ends, send three ways, receive three ways, detach.
    "chan": header(procs=1) + ops(
        ("chan_create", 3, 0, 63, 0, 3, NOWAIT),
        ("chan_attach", 0, 0, 0),         # slot 0: sender
        ("chan_attach", 1, 0, 1),         # slot 1: receiver
        ("chan_send", 0, 20, 0),
        ("chan_send", 0, 10, 1, 7),
        ("chan_send", 0, 5, 2, 3, 1, 2, 3),
        ("chan_recv", 1, 64, 0, 0, NOWAIT),
        ("chan_recv", 1, 64, 0, 1, NOWAIT),
        ("chan_recv", 1, 200, 0, 2, NOWAIT),
        ("chan_admin", 3, 1),
        ("chan_detach", 0),
        ("chan_detach", 1),
    ),
    # A topic with a subscriber and a publisher in one process.
    "topic": header(procs=1) + ops(
        ("topic", 0, 0, 2, 40, 1),
        ("topic_sub", 0, 0),
        ("topic_pub", 0, 0),
        ("topic_pub", 2, 16, 0),
        ("topic_sub", 2, 64, NOWAIT),
        ("topic_sub", 3),
        ("topic_pub", 1),
        ("topic_sub", 1),
    ),
    # p0 registers a typed handler and waits; p1 maps a page and sends
    # it; the handler accepts it.
    "pages": header(procs=2) + ops(
        ("notify_misc", 3, 1),
        ("notify_misc", 0, NEVER),
        ("mem_map", 5, 0, 2, 1),
        ("pages_send", 0x80 | 0x04, 0, 1, 5, 0, NEVER),
        ("yield", 2, 9),                  # handler: accept at page 9
    ),
    # Children spawned with a capability, given one more, waited for.
    "procs": header(procs=1) + ops(
        ("irq", 0),
        ("proc_spawn", 0x88, 0, 1, 0, 0, 0),
        ("cap_give", 1, 0, 0x07),
        ("irq", 1, 0, 5),
        ("proc_wait", 1, NEVER, 1),
        ("notify_install", 2, 0x02),
        ("proc_spawn", 0x00),
        ("notify_misc", 1, 2),
        ("proc_wait", 2, NEVER, 0),
    ),
    # A pager: p0 maps a page and serves page faults on a port; p1 sets
    # it as its pager and touches an unmapped page.
    "pager": header(procs=2, seed=3) + ops(
        ("port_create", 0),
        ("port_handler", 0, 1),
        ("mem_map", 7, 0, 3, 1),
        ("mem_pager", 0, 0),
        ("mem_access", 40, 0, 0x04),
        ("mem_pager", 1, 0, 7, 2, 3),
        ("sleep", 0x04),
    ),
    # Notifications: a thread installs a handler on slot 5 (privileged
    # process) and sends itself one; faults are injected from seed 11.
    "notify": header(procs=2, seed=11, faults=1, privileged=True) + ops(
        ("notify_install", 2, 0xc5),
        ("notify_send", 1, 0xc5, 2, 1, 2, 0, 0, 0, 0, 0, 0),
        ("hop_info", 4),
        ("notify_misc", 2 | 0x10),
        ("port_named", 0, 1),
        ("port_lookup", 0, NS),
        ("hop_call", 0, 0, 1, 1),
    ),
}


def main():
    out = os.path.join(HERE, "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
