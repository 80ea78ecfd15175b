# gdb_checks.py - what tests/debug/gdb-session.sh checks inside gdb-multiarch (batch mode)
# against `hvsim debug` on a spinlock trace: reverse-stepi restores the previous pc and
# registers, a write watchpoint reached by reverse-continue stops at the store that wrote the
# value, a read watchpoint stops at a load both ways, and reverse execution ends at the start
# of the recording. Each check prints one
# "CHECK ok" or "CHECK FAIL" line; the script counts them.
import re

import gdb


def run(cmd):
    return gdb.execute(cmd, to_string=True)


def check(ok, what):
    print("CHECK %s: %s" % ("ok" if ok else "FAIL", what))


def regs():
    f = gdb.selected_frame()
    return {d.name: int(f.read_register(d)) for d in f.architecture().registers("general")}


def pc():
    return int(gdb.parse_and_eval("$pc"))


def counter():
    return int(gdb.parse_and_eval("counter"))


stops = []
gdb.events.stop.connect(stops.append)
run("set pagination off")
check(len(gdb.selected_inferior().threads()) == 2, "two vCPUs are two threads")
run("break guest_spin_unlock")
run("continue")
print(run("info threads"))

# reverse-stepi returns to the previous pc with the previous registers
thread = gdb.selected_thread().num
r0, pc0 = regs(), pc()
run("stepi")
check(pc() != pc0, "stepi moved from 0x%x to 0x%x" % (pc0, pc()))
run("reverse-stepi")
r2 = regs()
diff = {k: (hex(r0[k]), hex(r2[k])) for k in r0 if r0[k] != r2.get(k)}
check(not diff and gdb.selected_thread().num == thread,
      "reverse-stepi restored pc 0x%x and every register (differences: %s)" % (pc(), diff))

# a write watchpoint reached by reverse-continue stops at the store that wrote the value
value = counter()
run("delete")
run("watch counter")
del stops[:]
run("reverse-continue")
before = counter()
insn = run("x/i $pc")
print(insn)
watch = [b for ev in stops if isinstance(ev, gdb.BreakpointEvent) for b in ev.breakpoints
         if b.type == gdb.BP_HARDWARE_WATCHPOINT]
check(len(stops) == 1 and watch and before != value,
      "reverse-continue stopped at the watchpoint with counter %d (was %d)" % (before, value))
check(re.search(r"\b(mov|str|stp|strd|stur)", insn.split(":", 1)[-1]) is not None,
      "the instruction there is a store: %s" % insn.strip())
run("delete")
run("stepi")
check(counter() == value, "stepping over it writes counter %d back" % counter())

# a read watchpoint stops at the next load of counter, and reverse-continue at the last one
run("rwatch counter")
for cmd in ("continue", "reverse-continue"):
    del stops[:]
    out = run(cmd)
    rw = [b for ev in stops if isinstance(ev, gdb.BreakpointEvent) for b in ev.breakpoints
          if b.type == gdb.BP_READ_WATCHPOINT]
    check(len(stops) == 1 and rw, "%s stopped at a read of counter: %s" % (cmd, out.strip()))
run("delete")

# reverse execution ends at the start of the recording
run("reverse-continue")
seq = run("monitor seq")
print(seq)
check(seq.startswith("just after event seq 0 "), "reverse-continue reached the start")
run("detach")
