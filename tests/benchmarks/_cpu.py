"""CPU time of every process on the machine, between two snapshots (psutil).

What a live display costs the user is not only the time inside its hooks: the
kernel's other threads (the IOPub thread serializing and sending widget
messages) and other processes (an image browser started in the background)
take CPU that the fit then lacks on a small machine. `SOURCE` is run in the
kernel (the fit's interval is known there exactly) and here (the whole cell, as
the client sees it), so both use the same code.

A snapshot maps pid -> (create time, own CPU seconds, reaped children's CPU
seconds, name), user + system. Between two snapshots a process uses:

- its increase (own + reaped children) if it was in both (same pid and create time);
- all of it (own + reaped children) if it appeared in between;
- minus its CPU at the first snapshot if it ended in between: its parent's
  reaped-children time now holds its whole CPU (a process that started and
  ended in between is counted through its parent that way too).

The excluded pids (the kernel, the benchmark) count only through their reaped
children (a kernel's kaleido/Chromium that exited is someone else's CPU).
A process whose parent did not reap it before the second snapshot is missed;
one that ended with its parent also ended is under-counted.
"""

from __future__ import annotations

SOURCE = '''
import psutil as _bench_psutil

def _bench_cpu_snapshot():
    snap = {}
    for p in _bench_psutil.process_iter(["name", "create_time", "cpu_times"]):
        t = p.info.get("cpu_times")
        if t is None:
            continue
        kids = getattr(t, "children_user", 0.0) + getattr(t, "children_system", 0.0)
        snap[p.pid] = (p.info.get("create_time"), t.user + t.system, kids, p.info.get("name") or "?")
    return snap

def _bench_cpu_delta(before, after, exclude):
    """{"total": s, "new": {name: [count, s]}, "top": [[name, s], ...], "own": {pid: s}}."""
    total, per, new, own = 0.0, {}, {}, {}
    for pid, (created, cpu, kids, name) in after.items():
        old = before.get(pid)
        same = old is not None and old[0] == created
        used_own = cpu - old[1] if same else cpu
        used_kids = kids - old[2] if same else kids
        if pid in exclude:
            own[str(pid)] = used_own
            used = used_kids
        else:
            used = used_own + used_kids
            if not same:
                n = new.setdefault(name, [0, 0.0])
                n[0] += 1
                n[1] += used
        total += used
        per[name] = per.get(name, 0.0) + used
    for pid, (created, cpu, kids, name) in before.items():
        now = after.get(pid)
        if (now is None or now[0] != created) and pid not in exclude:
            total -= cpu + kids
            per[name] = per.get(name, 0.0) - (cpu + kids)
    top = sorted(([k, v] for k, v in per.items() if v > 0), key=lambda kv: -kv[1])[:4]
    return {"total": max(total, 0.0), "new": new, "top": top, "own": own}
'''

_namespace: dict = {}


def _helpers() -> dict:
    if not _namespace:
        exec(SOURCE, _namespace)
    return _namespace


def snapshot() -> dict:
    return _helpers()["_bench_cpu_snapshot"]()


def delta(before: dict, after: dict, exclude: set[int]) -> dict:
    return _helpers()["_bench_cpu_delta"](before, after, exclude)
