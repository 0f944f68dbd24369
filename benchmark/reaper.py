"""Stops what a driver started when the driver dies without stopping it (kill -9, the OOM killer).

A local Ray's dashboard and runtime-env agents outlive a killed driver by a minute or more,
reparented to init. The driver starts this watcher in a session of its own:

    python -m benchmark.reaper DRIVER_PID

Once a second it notes every process in the driver's process tree (from /proc); once the driver is
gone it sends SIGKILL to each process it noted that is still the same process (same start time),
then exits. A driver that stops its Ray itself leaves nothing for it to do. Linux only (elsewhere
it exits at once).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PROC = Path("/proc")
INTERVAL_S = 1.0


def process_table() -> dict[int, tuple[int, int, str]]:
    """{pid: (parent pid, start time in clock ticks, state)} of every process."""
    table = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it exited meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (command)", which may hold spaces
        table[int(entry.name)] = (int(fields[1]), int(fields[19]), fields[0])
    return table


def descendants(root: int, table: dict[int, tuple[int, int, str]]) -> dict[int, int]:
    """{pid: start time} of every process below `root`."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, stack = {}, list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found[pid] = table[pid][1]
        stack.extend(children.get(pid, []))
    return found


def still_running(seen: dict[int, int]) -> list[int]:
    """The processes of `seen` ({pid: start time}) that are still the same, living processes."""
    table = process_table()
    return [pid for pid, start in seen.items() if pid in table and table[pid][1] == start and table[pid][2] != "Z"]


def watch(driver: int) -> None:
    table = process_table()
    if driver not in table:
        return
    started, seen = table[driver][1], {}
    while True:
        entry = table.get(driver)
        if entry is None or entry[1] != started or entry[2] in ("Z", "X"):  # gone, or a zombie
            break
        seen.update(descendants(driver, table))
        seen.pop(os.getpid(), None)
        time.sleep(INTERVAL_S)
        table = process_table()
    # what the noted processes started since the last look (an agent Ray launched a moment ago)
    table = process_table()
    for pid in still_running(seen):
        seen.update(descendants(pid, table))
    seen.pop(os.getpid(), None)
    for pid in still_running(seen):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def start_for_this_process() -> None:
    """Starts a watcher of this process (once; nothing where /proc is missing)."""
    global _started
    if _started or not PROC.is_dir():
        return
    subprocess.Popen([sys.executable, "-m", "benchmark.reaper", str(os.getpid())], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _started = True


_started = False

if __name__ == "__main__":
    if PROC.is_dir():
        watch(int(sys.argv[1]))
