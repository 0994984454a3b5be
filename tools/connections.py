"""Which process holds each TCP connection to a local port, from /proc (tests and bench)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

_ESTABLISHED = "01"


def _inodes_on(port: int) -> set[str]:
    """Socket inodes of established connections whose local port is `port` (IPv4 and IPv6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _ESTABLISHED and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def held_by(pids: Iterable[int], port: int) -> dict[int, int]:
    """For each process, how many established connections to `port` it holds."""
    inodes = _inodes_on(port)
    counts = {}
    for pid in pids:
        held = 0
        folder = f"/proc/{pid}/fd"
        for fd in os.listdir(folder):
            try:
                target = os.readlink(f"{folder}/{fd}")
            except OSError:  # closed meanwhile
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                held += 1
        counts[pid] = held
    return counts


def workers_of(master: int) -> list[int]:
    """The child processes of a gunicorn master."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)
