"""The workers' open connections in memory they share, so a new one goes to the worker with fewest.

The workers accept from one listening socket, and which of them takes a connection is left to
the kernel and the scheduler: a burst of 64 keep-alive clients was measured landing 61 to 3,
46 to 18 or 32 to 32 over two workers, at random. Each connection then stays with its worker,
so a skewed burst leaves one worker saturated and the other idle for as long as the clients
keep their connections (64 clients 50 ms away: 787 answers/s at 64 to 0, against 1,150 to
1,200 evenly spread). Every worker therefore publishes how many connections it holds and when
its event loop last turned. A worker accepts only while it holds at most SLACK more than the
fewest held by another that is turning (its loop ran within FRESH), leaving the rest of the
queue to the other; one holding clearly more answers a request with `Connection: close`, so
that client reconnects and its new connection goes to the other: a skew that happened anyway
(a burst while the other worker was busy) is undone within a few round trips.
"""

from __future__ import annotations

import mmap
import struct

SLOTS = 255  # workers at most (TTIN can add some); with the header, one page of memory
_ROW = struct.Struct("=dq")  # when the worker's loop last turned (time.monotonic()), connections
_HEADER = struct.Struct("=q")  # the slots ever claimed: the rows a worker reads
SLACK = 1  # connections a worker may hold beyond another's and still accept
# A worker closes a connection after its answer when it holds this many more than another
# (at least HAND_OVER, at least a quarter more), at most once every HAND_OVER_EVERY seconds:
# each hand-over is a client reconnecting, and the rows it is judged on are a tick old, so
# closing on every small difference, or several times a tick, churned connections in a loop
# under saturation (p99 of 500-800 ms at 64 clients with no pause).
HAND_OVER, HAND_OVER_SHARE, HAND_OVER_EVERY = 3, 4, 0.05
FRESH = 0.05  # seconds: a worker whose loop turned this recently will accept what it is left


class ConnectionTable:
    """One row per worker slot, in an anonymous shared mapping: made by the master before the
    workers are forked, so every worker reads and writes the same memory (no file, nothing
    written on a read-only root). A row is written by its own worker only; a torn read is
    harmless, the table only steers which worker accepts."""

    def __init__(self, slots: int = SLOTS) -> None:
        self.slots = slots
        # MAP_SHARED (mmap's default): the workers forked later share it with the master.
        self._memory = mmap.mmap(-1, _HEADER.size + slots * _ROW.size)

    def claim(self, taken: set[int | None]) -> int | None:
        """The master, before forking a worker: its slot (cleared), or None when all are taken
        (that worker then accepts without looking at the others)."""
        for slot in range(self.slots):
            if slot not in taken:
                self.publish(slot, 0, 0.0)
                claimed = _HEADER.unpack_from(self._memory)[0]
                _HEADER.pack_into(self._memory, 0, max(claimed, slot + 1))
                return slot
        return None

    def release(self, slot: int) -> None:
        """The master, after a worker exits: its row no longer counts."""
        self.publish(slot, 0, 0.0)

    def publish(self, slot: int, connections: int, turned: float) -> None:
        """A worker's own row: the connections it holds, when its loop last turned (0: never,
        or stopping, so the others never wait for it)."""
        _ROW.pack_into(self._memory, _HEADER.size + slot * _ROW.size, turned, connections)

    def fewest(self, slot: int, now: float) -> int | None:
        """The fewest connections held by another worker whose loop turned within FRESH; None
        when no other worker is turning (busy, starting or stopping: it is not waited for)."""
        memory = self._memory
        claimed = _HEADER.unpack_from(memory)[0]
        rows = memory[_HEADER.size : _HEADER.size + claimed * _ROW.size]  # a copy: a few rows
        held = [
            count
            for other, (turned, count) in enumerate(_ROW.iter_unpack(rows))
            if other != slot and now - turned < FRESH
        ]
        return min(held) if held else None

    def room(self, slot: int, connections: int, now: float) -> int | None:
        """How many more connections this worker may accept now: up to SLACK beyond the fewest
        another turning worker holds; None when no other worker is turning."""
        fewest = self.fewest(slot, now)
        return None if fewest is None else max(0, fewest + SLACK + 1 - connections)

    def hand_over_from(self, slot: int, now: float) -> int | None:
        """The connections from which this worker holds clearly more than another turning
        worker (HAND_OVER more, and a quarter more) and hands one over; None when no other
        worker is turning."""
        fewest = self.fewest(slot, now)
        if fewest is None:
            return None
        return fewest + max(HAND_OVER, fewest // HAND_OVER_SHARE)
