# tools/hopsim-gdb.py - gdb commands that show hopsim's simulated world.
#
#   (gdb) source tools/hopsim-gdb.py      (or: make gdb PROG=build/examples/tour)
#
#   hs procs              processes, their ports, checkpoints and visitors
#   hs threads            every simulated thread: process, state, its wait
#   hs bt [THREAD [N]]    backtrace of a thread from its saved context, across
#                         hops (default: the one running here)
#   hs hops [THREAD]      the hop chain of a thread (default: the one running
#                         here), each level with its frames
#   hs finish             run until the current handler's caller resumes, and
#                         out of the hop call: back in the caller's code
#
# THREAD is the number `hs threads` shows (the handle index), a unique
# thread name, or PROCESS/NAME (a thread by its own process's name).
# Everything is read from the kernel's global `k` (core/kernel.h): pools of
# threads, processes, ports, levels and checkpoints.  A parked context is
# unwound by gdb itself: in a live process, the selected host thread's
# registers are set to the saved ones for a moment (try/finally puts them
# back); in a core file, where registers cannot be set, a Python unwinder
# hands the saved registers to gdb instead.
#
# Fields read (keep them, or update this script): kernel.{threads, procs,
# ports, cpu, cfg.ncpus, started}; pool.{objsize, chunks, nchunks, gens};
# kobj.handle; thread.{obj, name, proc, state, prio, ctx, top, home, wait_ops,
# wait_obj, timer.slot, timer.deadline}; proc.{obj, name, state, parent,
# threads, nthreads, nlive, ports, checkpoints, visitors, hop_stacks_used,
# hop_stacks_max, port_in, port_out}; hs_hop.{below, thread, proc, source,
# port, ctx, checkpointed, kept, depth, visit_link}; checkpoint.{obj,
# owner_link, thread, level}; port.{obj, kind, closed, owner_link, handler,
# name};
# plat_context.{uc.uc_mcontext.gregs, stack_lo, stack_size}.

import re

import gdb
import gdb.unwinder

POOL_CHUNK = 256
LIST_LIMIT = 100000
DEFAULT_FRAMES = 32

# ucontext_t gregs slots (x86-64 glibc; sim/context.c checks them at compile
# time) of the registers a parked context keeps.
SAVED_REGS = (("rip", 16), ("rsp", 15), ("rbp", 10), ("rbx", 11),
              ("r12", 4), ("r13", 5), ("r14", 6), ("r15", 7))

# Source folders of the library: frames there are hopsim's, not the program's.
LIB_DIRS = ("sim/", "kern/", "core/", "notify/", "mem/", "ports/",
            "observe/", "run/")


class HsError(Exception):
    pass


# ---- reading kernel state ---------------------------------------------------

_types = {}


def ktype(name):
    t = _types.get(name)
    if t is None:
        try:
            t = gdb.lookup_type(name)
        except gdb.error:
            raise HsError("no type %s: is this a hopsim program with debug "
                          "info (-g)?" % name)
        _types[name] = t
    return t


def _symbol_of_type(name, tag):
    """The variable name whose type is struct tag.  The installed libraries
    keep the kernel's variables local, and a program may have one of the
    same name, so every candidate is looked at and the one of the kernel's
    type wins."""
    cands = [gdb.lookup_global_symbol(name)]
    if hasattr(gdb, "lookup_static_symbols"):
        cands += gdb.lookup_static_symbols(name)
    elif hasattr(gdb, "lookup_static_symbol"):
        cands.append(gdb.lookup_static_symbol(name))
    for sym in cands:
        try:
            if sym is not None and sym.type.strip_typedefs().tag == tag:
                return sym
        except gdb.error:
            pass
    raise HsError("no kernel state '%s' (struct %s): is this a hopsim "
                  "program with debug info (-g)?" % (name, tag))


def kernel_symbol():
    """The kernel's objects: 'k' of type struct kernel."""
    return _symbol_of_type("k", "kernel")


def kern_state():
    """The state of kernel entry and exit, 'kern' of type struct
    kern_state (the CPUs and what runs on them)."""
    return _symbol_of_type("kern", "kern_state").value()


def kernel():
    k = kernel_symbol().value()
    try:
        started = int(k["started"])
    except gdb.MemoryError:
        raise HsError("cannot read the kernel state (program not started?)")
    if not started:
        raise HsError("no simulation is running (hs_sim_start() not called, "
                      "or the run is over)")
    return k


def field_offset(t, name):
    for f in t.strip_typedefs().fields():
        if f.name == name:
            return f.bitpos // 8
    raise HsError("%s has no field %s" % (t, name))


def pool_objects(pool, typename):
    """The live objects of a kernel pool, by slot (as pool_at() does)."""
    ptr_t = ktype(typename).pointer()
    nchunks = int(pool["nchunks"])
    if nchunks == 0:
        return
    nslots = nchunks * POOL_CHUNK
    objsize = int(pool["objsize"])
    inf = gdb.selected_inferior()
    gens = bytes(inf.read_memory(int(pool["gens"]), 4 * nslots))
    chunks = pool["chunks"]
    for slot in range(nslots):
        if not gens[4 * slot] & 1:          # little-endian: low byte
            continue
        base = int(chunks[slot // POOL_CHUNK])
        addr = base + (slot % POOL_CHUNK) * objsize
        yield gdb.Value(addr).cast(ptr_t)


def pool_by_handle(pool, typename, h):
    """The live object of handle h in pool, or None (pool_lookup())."""
    h = int(h)
    slot = (h & 0xffffffff) - 1
    if slot < 0 or slot >= int(pool["nchunks"]) * POOL_CHUNK:
        return None
    if int(pool["gens"][slot]) != (h >> 32) & 0xffffffff:
        return None
    addr = int(pool["chunks"][slot // POOL_CHUNK]) + \
        (slot % POOL_CHUNK) * int(pool["objsize"])
    return gdb.Value(addr).cast(ktype(typename).pointer())


def list_entries(head, typename, member):
    """Objects of type typename linked by their struct list `member`."""
    t = ktype(typename)
    off = field_offset(t, member)
    ptr_t = t.pointer()
    head_addr = int(head.address)
    node = head["next"]
    n = 0
    while int(node) != head_addr and int(node) != 0 and n < LIST_LIMIT:
        yield gdb.Value(int(node) - off).cast(ptr_t)
        node = node["next"]
        n += 1


def idx(obj):
    """The small number naming an object in reports (handle_index)."""
    return int(obj["obj"]["handle"]) & 0xffffffff


def cstr(v):
    try:
        return v.string(errors="replace").split("\0", 1)[0]
    except gdb.error:
        return "?"


def enum_name(v, prefix):
    s = str(v)
    if s.startswith(prefix):
        s = s[len(prefix):]
    return s.lower()


def minsym(pc):
    """The ELF symbol around pc (no debug info), or ??."""
    try:
        s = gdb.execute("info symbol 0x%x" % pc, to_string=True)
    except gdb.error:
        return "??"
    m = re.match(r"^(\S+)( \+ \d+)? in ", s)
    return m.group(1) if m else "??"


def symbol_of(addr):
    addr = int(addr)
    if addr == 0:
        return "NULL"
    b = gdb.block_for_pc(addr)
    while b is not None and b.function is None:
        b = b.superblock
    if b is not None and b.function is not None:
        return b.function.name
    return "0x%x" % addr


def threads(k):
    return list(pool_objects(k["threads"], "struct thread"))


def proc_desc(p):
    if int(p) == 0:
        return "-"
    return "%d '%s'" % (idx(p), cstr(p["name"]))


def thread_desc(t):
    return "thread %d '%s'" % (idx(t), cstr(t["name"]))


def proc_by_handle(k, h):
    if int(h) == 0:
        return None
    return pool_by_handle(k["procs"], "struct proc", h)


def port_desc(k, h):
    """port_describe(): "port 'name'", "anonymous port 3", or gone."""
    h = int(h)
    if h == 0:
        return "-"
    p = pool_by_handle(k["ports"], "struct port", h)
    if p is None:
        return "port %d (gone)" % (h & 0xffffffff)
    if enum_name(p["kind"], "PORT_") == "named":
        return "port '%s'" % cstr(p["name"])
    return "%s port %d" % (enum_name(p["kind"], "PORT_").replace(
        "anon", "anonymous"), h & 0xffffffff)


def source_desc(k, level):
    p = proc_by_handle(k, level["source"])
    if p is None:
        return "process %d (gone)" % (int(level["source"]) & 0xffffffff)
    return "'%s'" % cstr(p["name"])


def cpu_of(k, t):
    """The CPU running thread t, or None."""
    ncpus = max(1, int(k["cfg"]["ncpus"]))
    for i in range(ncpus):
        if int(kern_state()["cpu"][i]["current"]) == int(t):
            return i
    return None


def host_thread_of_cpu(cpu):
    """The gdb thread of simulated CPU cpu (host threads are named cpuN)."""
    want = "cpu%d" % cpu
    for th in gdb.selected_inferior().threads():
        if th.name == want:
            return th
    return None


def ctx_of(v):
    return v.cast(ktype("struct plat_context").pointer())


def ctx_regs(ctx):
    g = ctx_of(ctx)["uc"]["uc_mcontext"]["gregs"]
    return [(name, int(g[slot]) & 0xffffffffffffffff)
            for name, slot in SAVED_REGS]


def ctx_has_sp(ctx, sp):
    c = ctx_of(ctx)
    lo = int(c["stack_lo"])
    return lo != 0 and lo <= sp < lo + int(c["stack_size"])


def find_thread(k, arg):
    arg = arg.strip()
    ts = threads(k)
    if re.match(r"^\d+$", arg):
        for t in ts:
            if idx(t) == int(arg):
                return t
        raise HsError("no thread %s (see hs threads)" % arg)
    if "/" in arg:                  # PROC/NAME: by its own process
        pname, tname = arg.split("/", 1)
        found = [t for t in ts if cstr(t["name"]) == tname and
                 cstr(t["proc"]["name"]) == pname]
    else:
        found = [t for t in ts if cstr(t["name"]) == arg]
    if len(found) == 1:
        return found[0]
    if not found:
        raise HsError("no thread '%s' (see hs threads)" % arg)
    raise HsError("%d threads match '%s': give a number or PROCESS/NAME"
                  % (len(found), arg))


def here_thread(k):
    """The simulated thread running on the selected host thread, or None."""
    ts = [t for t in threads(k)
          if enum_name(t["state"], "THREAD_") == "running"]
    try:
        sp = int(gdb.newest_frame().read_register("rsp"))
        for t in ts:
            if int(t["ctx"]) and ctx_has_sp(t["ctx"], sp):
                return t
    except gdb.error:
        pass
    # Not on a simulated stack (in the CPU loop?): ask the CPU.
    th = gdb.selected_thread()
    m = re.match(r"^cpu(\d+)$", (th.name or "") if th else "")
    if m:
        cur = kern_state()["cpu"][int(m.group(1))]["current"]
        if int(cur):
            return cur
    return None


def wait_desc(k, t, objs):
    state = enum_name(t["state"], "THREAD_")
    if state == "running":
        cpu = cpu_of(k, t)
        return "on cpu%d" % cpu if cpu is not None else ""
    if state != "blocked":
        return ""
    ops = t["wait_ops"]
    timer = ""
    try:
        if int(t["timer"]["slot"]):
            timer = " until %d ns" % int(t["timer"]["deadline"])
    except gdb.error:
        pass
    if int(ops) == 0:
        return "sleep" + timer
    what = cstr(ops["what"])
    obj = int(t["wait_obj"])
    if obj == 0:
        return what + timer
    if obj in objs:
        on = objs[obj]
    elif "lookup" in what or "name" in what:
        on = "name '%s'" % cstr(t["wait_obj"].cast(
            gdb.lookup_type("char").pointer()))
    else:
        on = "0x%x" % obj
    return "%s on %s%s" % (what, on, timer)


def object_names(k):
    """Address -> description of every live kernel object, to name what a
    thread waits on without knowing the wait."""
    names = {}
    for t in threads(k):
        names[int(t)] = thread_desc(t)
    for p in pool_objects(k["procs"], "struct proc"):
        names[int(p)] = "process " + proc_desc(p)
    for p in pool_objects(k["ports"], "struct port"):
        names[int(p)] = port_desc(k, p["obj"]["handle"])
    for c in pool_objects(k["checkpoints"], "struct checkpoint"):
        names[int(c)] = "checkpoint %d" % idx(c)
    return names


def table(rows, right=()):
    """Aligned columns; rows[0] is the header."""
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [(c.rjust(w[i]) if i in right else c.ljust(w[i]))
                 for i, c in enumerate(r)]
        out.append("  ".join(cells).rstrip())
    return out


# ---- frames -----------------------------------------------------------------

def frame_lines(limit, indent="  ", skip=0):
    """The selected host thread's frames, newest first, in gdb's style."""
    out = []
    try:
        f = gdb.newest_frame()
        for _ in range(skip):
            f = f.older() if f is not None else None
    except gdb.error as e:
        return [indent + "(no frames: %s)" % e]
    n = 0
    while f is not None:
        pc = f.pc()
        if pc == 0:                 # a new context's stack ends in 0
            break
        if n >= limit:
            out.append(indent + "(more frames...)")
            break
        name = f.name() or minsym(pc)
        sal = f.find_sal()
        if sal.symtab is not None and sal.line:
            where = " at %s:%d" % (sal.symtab.filename, sal.line)
        else:
            lib = gdb.solib_name(pc)
            where = " from %s" % lib if lib else ""
        if f.type() == gdb.INLINE_FRAME:
            out.append("%s#%-2d %18s %s%s" % (indent, n, "(inlined)", name,
                                               where))
        else:
            out.append("%s#%-2d 0x%016x in %s%s" % (indent, n, pc, name,
                                                     where))
        n += 1
        try:
            f = f.older()
        except gdb.error as e:
            out.append(indent + "(unwinding stopped: %s)" % e)
            break
    return out


class _SavedContextUnwinder(object):
    """For a core file, where registers cannot be set: while `regs` is set,
    claims the newest frame and gives the saved registers as its caller's,
    so gdb unwinds the parked context from frame 1 on."""

    def __init__(self):
        self.name = "hopsim-saved-context"
        self.enabled = True
        self.regs = None

    def __call__(self, pending):
        if self.regs is None or pending.level() != 0:
            return None
        pc = pending.read_register("rip")

        class FrameId(object):
            pass
        fid = FrameId()
        # Below the parked context's stack: gdb must see its first frame
        # as an outer (older) one.
        fid.sp = gdb.Value(self.regs["rsp"] - 64).cast(
            pending.read_register("rsp").type)
        fid.pc = pc
        info = pending.create_unwind_info(fid)
        for name, val in self.regs.items():
            info.add_saved_register(
                name, gdb.Value(val).cast(pending.read_register(name).type))
        return info


_unwinder = None


def unwound_frame_lines(regs, limit, indent):
    global _unwinder
    if _unwinder is None:
        _unwinder = _SavedContextUnwinder()
        gdb.unwinder.register_unwinder(None, _unwinder, replace=True)
    sel = gdb.selected_frame()
    level = sel.level() if hasattr(sel, "level") else 0
    _unwinder.regs = dict(regs)
    gdb.invalidate_cached_frames()
    try:
        return frame_lines(limit, indent, skip=1)
    finally:
        _unwinder.regs = None
        gdb.invalidate_cached_frames()
        if level:
            try:
                gdb.execute("frame %d" % level, to_string=True)
            except gdb.error:
                pass


def saved_frame_lines(ctx, limit, indent="  "):
    """Frames of a parked context.  Live process: the selected host thread's
    registers are set to the saved ones while gdb unwinds, then restored.
    Core file: a Python unwinder hands gdb the saved registers."""
    regs = ctx_regs(ctx)
    rip = dict(regs)["rip"]
    if rip == 0:
        return [indent + "(no saved registers)"]
    try:
        sel = gdb.selected_frame()
        level = sel.level() if hasattr(sel, "level") else None
        gdb.newest_frame().select()
        frame0 = gdb.newest_frame()
        old = [(name, int(frame0.read_register(name)) & 0xffffffffffffffff)
               for name, _ in regs]
    except gdb.error as e:
        return [indent + "(cannot read registers: %s)" % e]
    changed = False
    try:
        try:
            for name, val in regs:
                gdb.execute("set $%s = 0x%x" % (name, val), to_string=True)
                changed = True
        except gdb.error:
            if changed:
                raise
        if changed:
            return frame_lines(limit, indent)
    finally:
        if changed:
            for name, val in old:
                try:
                    gdb.execute("set $%s = 0x%x" % (name, val),
                                to_string=True)
                except gdb.error:
                    pass
        if level:
            try:
                gdb.execute("frame %d" % level, to_string=True)
            except gdb.error:
                pass
    # Registers cannot be written (a core file).  The unwinder shows the
    # saved pc as a return address: right for a parked context, but a
    # context that never ran starts at a function's first byte.
    try:
        at = gdb.execute("info symbol 0x%x" % rip, to_string=True)
    except gdb.error:
        at = ""
    m = re.match(r"^(\S+) in ", at)
    if m:
        return [indent + "(not started yet: starts in %s)" % m.group(1)]
    try:
        return unwound_frame_lines(regs, limit, indent)
    except (gdb.error, ImportError, AttributeError) as e:
        return [indent + "(cannot unwind: %s) saved rip=0x%x %s, rsp=0x%x"
                % (e, rip, symbol_of(rip), dict(regs)["rsp"])]


def live_frame_lines(k, t, limit, indent="  "):
    """Frames of a running thread: its CPU's host thread, as it is now."""
    cpu = cpu_of(k, t)
    here = gdb.selected_thread()
    me = here_thread(k)
    if me is not None and int(me) == int(t):
        return frame_lines(limit, indent)
    th = host_thread_of_cpu(cpu) if cpu is not None else None
    if th is None:
        return [indent + "(running, but no host thread named cpu%s)" % cpu]
    try:
        th.switch()
        return frame_lines(limit, indent)
    finally:
        here.switch()


def level_lines(k, t, l, running, limit, indent="  "):
    if running:
        return live_frame_lines(k, t, limit, indent)
    if int(l["ctx"]) == 0:
        return [indent + "(context discarded: reached by a one-way hop)"]
    return saved_frame_lines(l["ctx"], limit, indent)


def chain(t):
    levels = []
    l = t["top"]
    while int(l) and len(levels) < 4096:
        levels.append(l)
        l = l["below"]
    return levels


def checkpoint_name(l):
    """A level's checkpoint: its handle only once kept (the kernel gives
    one to a kept checkpoint only)."""
    kept = l["kept"]
    return "checkpoint %d, kept" % idx(kept) if int(kept) else "checkpoint"


def hop_line(k, l):
    how = checkpoint_name(l) if int(l["checkpointed"]) else "one-way"
    return "--- hop from %s via %s (%s) ---" % (
        source_desc(k, l), port_desc(k, l["port"]), how)


def chain_summary(t, levels):
    return " -> ".join(cstr(l["proc"]["name"]) for l in reversed(levels))


# ---- commands ---------------------------------------------------------------

class HsCommand(gdb.Command):
    """Commands that show hopsim's simulated processes and threads.

hs procs             processes, their ports, checkpoints and visitors
hs threads           every simulated thread, its process, state, wait
hs bt [THREAD [N]]   backtrace of THREAD across its hops
hs hops [THREAD]     hop chain of THREAD, each level with its frames
hs finish            run until the caller of this handler resumes, then
                     out of its hop call"""

    def __init__(self):
        super().__init__("hs", gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)


class Sub(gdb.Command):
    def invoke(self, arg, from_tty):
        try:
            for line in self.run(arg):
                gdb.write(line + "\n")
        except HsError as e:
            raise gdb.GdbError("hs: %s" % e)


class HsProcs(Sub):
    """List simulated processes, their ports, checkpoints and visitors.

Usage: hs procs"""

    def __init__(self):
        super().__init__("hs procs", gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    def run(self, arg):
        k = kernel()
        procs = list(pool_objects(k["procs"], "struct proc"))
        rows = [["pid", "name", "state", "parent", "threads", "hop stacks"]]
        details = []
        # Spawn port pairs: port_in is the child's, port_out its parent's.
        spawn = {}
        for p in procs:
            spawn[int(p["port_in"])] = "spawn port in of %s" % proc_desc(p)
            spawn[int(p["port_out"])] = "spawn port out of %s" % proc_desc(p)
        spawn.pop(0, None)
        for p in procs:
            rows.append([str(idx(p)), cstr(p["name"]),
                         enum_name(p["state"], "PROC_"),
                         proc_desc(p["parent"]),
                         "%d live / %d" % (int(p["nlive"]),
                                           int(p["nthreads"])),
                         "%d/%d used" % (int(p["hop_stacks_used"]),
                                         int(p["hop_stacks_max"]))])
            d = []
            for port in list_entries(p["ports"], "struct port",
                                     "owner_link"):
                h = int(port["obj"]["handle"])
                extra = [enum_name(port["kind"], "PORT_")]
                if h in spawn:
                    extra.append(spawn[h])
                extra.append("handler " + symbol_of(port["handler"])
                             if int(port["handler"]) else "no handler")
                if int(port["closed"]):
                    extra.append("closed")
                d.append("port %d %s (%s)" % (
                    h & 0xffffffff,
                    "'%s'" % cstr(port["name"])
                    if enum_name(port["kind"], "PORT_") == "named" else "-",
                    ", ".join(extra)))
            # Checkpoints not kept live in their levels (visitors); the
            # process's list holds the kept ones.  A parked spare level
            # (no context) stays on the visitors list but visits nothing.
            visitors = [v for v in list_entries(p["visitors"],
                                                "struct hs_level",
                                                "visit_link")
                        if int(v["ctx"])]
            for v in visitors:
                if int(v["checkpointed"]) and not int(v["kept"]):
                    d.append("checkpoint: %s from %s, handler running at "
                             "level %d" % (thread_desc(v["thread"]),
                                           source_desc(k, v),
                                           int(v["depth"])))
            for cp in list_entries(p["checkpoints"], "struct checkpoint",
                                   "owner_link"):
                t = cp["thread"]
                lv = cp["level"]
                if int(lv):
                    frm = source_desc(k, lv)
                    how = "handler running at level %d" % int(lv["depth"])
                else:
                    frm = "'%s'" % cstr(t["top"]["proc"]["name"])
                    how = "handler returned, caller blocked"
                d.append("checkpoint %d, kept: %s from %s, %s" % (
                    idx(cp), thread_desc(t), frm, how))
            for v in visitors:
                d.append("visitor: %s at level %d, from %s via %s" % (
                    thread_desc(v["thread"]), int(v["depth"]),
                    source_desc(k, v), port_desc(k, v["port"])))
            details.append(d)
        if not procs:
            return ["no processes"]
        lines = table(rows, right=(0,))
        out = [lines[0]]
        pad = " " * (max(len(r[0]) for r in rows) + 2)
        for line, d in zip(lines[1:], details):
            out.append(line)
            out.extend(pad + "  " + x for x in d)
        return out


class HsThreads(Sub):
    """List every simulated thread and what it waits on.

Columns: its process, the process it is in now (after hops), state,
priority, hop depth, and the CPU it runs on or what it waits on.
'*' marks the thread running on the selected host thread.

Usage: hs threads"""

    def __init__(self):
        super().__init__("hs threads", gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    def run(self, arg):
        k = kernel()
        ts = threads(k)
        if not ts:
            return ["no threads"]
        me = here_thread(k)
        objs = object_names(k)
        rows = [[" ", "tid", "name", "process", "now in", "state", "prio",
                 "hops", "cpu / waits on"]]
        for t in ts:
            top = t["top"]
            rows.append(["*" if me is not None and int(me) == int(t)
                         else " ",
                         str(idx(t)), cstr(t["name"]), proc_desc(t["proc"]),
                         proc_desc(top["proc"]) if int(top) else "-",
                         enum_name(t["state"], "THREAD_"),
                         str(int(t["prio"])),
                         str(int(top["depth"])) if int(top) else "-",
                         wait_desc(k, t, objs)])
        return table(rows, right=(1, 6, 7))


class HsBt(Sub):
    """Show the backtrace of a simulated thread, across its hops.

Usage: hs bt [THREAD [N]]
THREAD is a number from `hs threads`, a unique thread name, or
PROCESS/NAME; without it, the thread running on the selected host thread.
N limits the frames per level (default 32).  A parked thread is unwound
from the registers its context saved; a running one from its CPU's host
thread.
Each level below is the caller, parked at its hop, as hs_hop_backtrace()
prints it: its first frame is the public call it made (hs_hop_call(), or
hs_hop() if the hop will return to it by a plain switch), or its own code
just after the call, for a hop that returns straight to it (a direct
switch: see hopsim/hop.h)."""

    def __init__(self):
        super().__init__("hs bt", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def run(self, arg):
        args = arg.split()
        if len(args) > 2 or (len(args) == 2 and not args[1].isdigit()):
            raise HsError("usage: hs bt [THREAD [N]]")
        limit = int(args[1]) if len(args) == 2 else DEFAULT_FRAMES
        k = kernel()
        t = find_thread(k, args[0]) if args else here_thread(k)
        if t is None:
            raise HsError("no simulated thread runs on this host thread; "
                          "give one: hs bt THREAD")
        state = enum_name(t["state"], "THREAD_")
        out = ["%s of process %s, %s, in process %s" % (
            thread_desc(t), proc_desc(t["proc"]), state,
            proc_desc(t["top"]["proc"]))]
        if state == "zombie":
            return out + ["  (ended: no context)"]
        levels = chain(t)
        for i, l in enumerate(levels):
            if i:
                out.append(hop_line(k, levels[i - 1]))
            out.extend(level_lines(k, t, l, i == 0 and state == "running",
                                   limit))
        return out


class HsHops(Sub):
    """Show the hop chain of a simulated thread, each level with its frames.

Usage: hs hops [THREAD [N]]
Without THREAD: the thread running on the selected host thread (CPU).
N limits the frames per level (default 32).  The top level runs (or is
parked); every level below is the caller, parked at its hop until the
level above returns (see `hs bt`)."""

    def __init__(self):
        super().__init__("hs hops", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def run(self, arg):
        k = kernel()
        args = arg.split()
        if args:
            t = find_thread(k, args[0])
        else:
            t = here_thread(k)
            if t is None:
                raise HsError("no simulated thread runs on this host "
                              "thread; give one: hs hops THREAD")
        if len(args) > 2 or (len(args) == 2 and not args[1].isdigit()):
            raise HsError("usage: hs hops [THREAD [N]]")
        limit = int(args[1]) if len(args) > 1 else DEFAULT_FRAMES
        state = enum_name(t["state"], "THREAD_")
        levels = chain(t)
        out = ["%s of process %s, %s: %d level(s): %s" % (
            thread_desc(t), proc_desc(t["proc"]), state, len(levels),
            chain_summary(t, levels))]
        if state == "zombie":
            return out
        for i, l in enumerate(levels):
            running = i == 0 and state == "running"
            if i:
                out.append(hop_line(k, levels[i - 1]))
            depth = int(l["depth"])
            what = "running" if running else (
                "parked" if i == 0 else "parked at its hop")
            out.append("level %d in process %s%s (%s)" % (
                depth, proc_desc(l["proc"]),
                ", its home" if depth == 0 else "", what))
            out.extend(level_lines(k, t, l, running, limit, "    "))
        return out


class HsFinish(Sub):
    """Run until this handler's caller resumes, and out of its hop call.

gdb stops in the caller's own code, just after hs_hop_call() (or
hs_hop()) returned, with the status it returned.

Usage: hs finish
The thread running here must be in a handler reached with a checkpoint.
A breakpoint at the caller's saved resume point (matched on its stack
pointer) catches the return; then gdb's `finish` leaves the hopsim call."""

    def __init__(self):
        super().__init__("hs finish", gdb.COMMAND_RUNNING, gdb.COMPLETE_NONE)

    def run(self, arg):
        k = kernel()
        t = here_thread(k)
        if t is None:
            raise HsError("no simulated thread runs on this host thread")
        top = t["top"]
        below = top["below"]
        if int(below) == 0:
            raise HsError("%s is at level 0: it did not hop"
                          % thread_desc(t))
        if int(top["checkpointed"]) == 0 or int(below["ctx"]) == 0:
            raise HsError("reached by a one-way hop: the thread ends when "
                          "the handler returns")
        regs = dict(ctx_regs(below["ctx"]))
        caller = cstr(below["proc"]["name"])
        bp = gdb.Breakpoint("*0x%x" % regs["rip"], internal=True,
                            temporary=True)
        bp.silent = True
        bp.condition = "$rsp == 0x%x" % regs["rsp"]
        try:
            gdb.execute("continue")
        finally:
            if bp.is_valid():
                bp.delete()
        try:
            sp = int(gdb.newest_frame().read_register("rsp"))
            pc = int(gdb.newest_frame().pc())
        except gdb.error:
            return ["the program stopped before %s resumed" % caller]
        if pc != regs["rip"] or sp != regs["rsp"]:
            gdb.execute("frame", to_string=False)
            return ["stopped elsewhere before %s resumed" % caller]
        out = ["back in process '%s' at level %d" % (caller,
                                                     int(below["depth"]))]
        # The outermost library frame of the hop call, to finish out of.
        f = gdb.newest_frame()
        last = None
        while f is not None:
            sal = f.find_sal()
            fn = sal.symtab.filename if sal.symtab else ""
            if not fn.startswith(LIB_DIRS) and not (
                    (f.name() or "").startswith(("hs_", "plat_", "sched_",
                                                 "kernel_", "sim_"))):
                break
            last = f
            f = f.older()
        for line in out:
            gdb.write(line + "\n")
        if last is not None and f is not None:
            last.select()
            gdb.execute("finish")
        else:
            gdb.execute("frame")
        return []


HsCommand()
HsProcs()
HsThreads()
HsBt()
HsHops()
HsFinish()
