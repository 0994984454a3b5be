"""CDS Hooks `jti` replay caches: an SQLite file the gunicorn workers share, or process memory.

Under gunicorn the master chooses a private folder (TRIAGE_CDS_REPLAY_DIR; a new temporary
folder when unset, as under `make run`), creates it and a fresh database at start (`prepare`),
and every worker opens the same file on its first CDS call (`SharedReplayCache`): a token used
on one worker is refused on all the others, and the file outlives any worker's restart. Each
first use is one short transaction: an INSERT whose primary key is a digest of (issuer, jti),
so a conflict is a replay whichever worker saw the token first. Without the variable (Flask's
test client, `create_app()` alone) each process keeps its own cache in memory (`ReplayCache`).

The file holds a 16-byte digest of (issuer, jti) and an expiry per entry: no token, no claim
in clear, no patient data. A fixed-size key keeps the file small (about 7 MB at capacity) in the
container's memory-backed /tmp (plus a write-ahead log of at most about 1 MiB), whatever length
the EHR's jti values have.

Journal: WAL with synchronous=NORMAL. Every call writes, so WAL's concurrent readers do not
matter here; what does is that a commit is one append to the -wal file instead of creating,
writing and deleting a rollback journal, which keeps each transaction (a blocking C call under
gevent) short. Durability across a power cut is not needed: the folder is a tmpfs and a
restart of the server starts from an empty file. A write lock held by another worker is waited
for at most BUSY_TIMEOUT; past it, or on any other database failure (an unwritable folder, a
corrupt file, a full tmpfs), the call is refused with 503: no token is accepted without replay
protection (fail closed), and the failure is logged once, without token contents.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Protocol

import structlog

from service.http import master_folders

FOLDER_VARIABLE = "TRIAGE_CDS_REPLAY_DIR"
DATABASE = "replay.sqlite3"
REPLAY_CAPACITY = 100_000  # unexpired jti values remembered (per server, or per process)
BUSY_TIMEOUT = 0.25  # seconds a worker waits for another's write lock (it blocks its greenlets)
SWEEP = 256  # expired entries deleted at most per call (a call stays short)
_FILES = (DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", f"{DATABASE}-journal")
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS seen (key BLOB PRIMARY KEY, until REAL NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS seen_until ON seen (until)",
    # The entry count, kept by triggers: counting 100,000 rows at every call would be slow.
    "CREATE TABLE IF NOT EXISTS size (n INTEGER NOT NULL)",
    "INSERT INTO size SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM size)",
    "CREATE TRIGGER IF NOT EXISTS seen_added AFTER INSERT ON seen "
    "BEGIN UPDATE size SET n = n + 1; END",
    "CREATE TRIGGER IF NOT EXISTS seen_removed AFTER DELETE ON seen "
    "BEGIN UPDATE size SET n = n - 1; END",
)
_log = structlog.get_logger("service.cds_jwt")


class ReplayUnavailable(Exception):
    """Replay protection cannot be given right now: refuse the call (503), never accept it."""


class ReplayCacheFull(ReplayUnavailable):
    """Too many unexpired jti values are held: refuse rather than forget one."""


class ReplayStoreFailed(ReplayUnavailable):
    """The shared database cannot be used (busy, unwritable, corrupt, full)."""


class ReplayStore(Protocol):
    def first_use(self, issuer: str, jti: str, until: float) -> bool:
        """Remember the jti until `until` (epoch seconds); False if it was already seen."""
        ...


class ReplayCache:
    """Each (issuer, jti) seen, until its token expires; bounded in size. One per process."""

    def __init__(
        self, capacity: int = REPLAY_CAPACITY, clock: Callable[[], float] = time.time
    ) -> None:
        self._capacity = capacity
        self._clock = clock
        self._until: dict[tuple[str, str], float] = {}
        self._expiries: list[tuple[float, tuple[str, str]]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._until)

    def first_use(self, issuer: str, jti: str, until: float) -> bool:
        """Remember the jti until `until` (epoch seconds); False if it was already seen."""
        key = (issuer, jti)
        with self._lock:
            now = self._clock()
            while self._expiries and self._expiries[0][0] <= now:
                _, old = heapq.heappop(self._expiries)
                if self._until.get(old, now + 1) <= now:
                    del self._until[old]
            if key in self._until:
                return False
            if len(self._until) >= self._capacity:
                raise ReplayCacheFull
            self._until[key] = until
            heapq.heappush(self._expiries, (until, key))
            return True


def _key(issuer: str, jti: str) -> bytes:
    """16 bytes naming (issuer, jti): a collision could only refuse a token, never accept one."""
    name = issuer.encode()
    digest = hashlib.sha256(len(name).to_bytes(4, "big") + name + jti.encode())
    return digest.digest()[:16]


def open_database(path: str) -> sqlite3.Connection:
    """A connection to the replay database at `path` (its folder must exist), schema ensured."""
    connection = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
    )
    try:
        (mode,) = connection.execute("PRAGMA journal_mode=WAL").fetchone()
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"journal mode {mode}")
        connection.execute("PRAGMA synchronous=NORMAL")
        # Checkpoint every 1 MiB of log and keep the -wal file at most that big (default 4 MiB).
        connection.execute("PRAGMA wal_autocheckpoint=256")
        connection.execute("PRAGMA journal_size_limit=1048576")
        connection.execute("BEGIN IMMEDIATE")
        for statement in _SCHEMA:
            connection.execute(statement)
        connection.execute("COMMIT")
    except BaseException:
        connection.close()
        raise
    return connection


class SharedReplayCache:
    """Each (issuer, jti) seen, until its token expires, in one SQLite file for all workers.

    Each process opens its own connection on first use (a connection never crosses a fork).
    The lock is a plain thread lock: nothing done while it is held yields to another greenlet
    (sqlite3 calls are blocking C calls), so it is safe under gevent workers too.
    """

    def __init__(
        self, path: str, capacity: int = REPLAY_CAPACITY, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self._capacity = capacity
        self._clock = clock
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._failing = False

    def first_use(self, issuer: str, jti: str, until: float) -> bool:
        """Remember the jti until `until`; False if any worker saw it already.

        ReplayCacheFull past the capacity, ReplayStoreFailed when the file cannot be used.
        """
        failure: Exception | None = None
        recovered = fresh = False
        with self._lock:
            try:
                fresh = self._insert(_key(issuer, jti), until)
            except (sqlite3.Error, OSError) as error:
                self._forget_connection()
                failure = error
            else:
                recovered, self._failing = self._failing, False
        if failure is not None:  # logged outside the lock, once until the store works again
            if not self._failing:
                self._failing = True
                _log.error(
                    "cds replay store unavailable: CDS calls refused",
                    error=getattr(failure, "sqlite_errorname", type(failure).__name__),
                    path=self.path,
                )
            raise ReplayStoreFailed from None
        if recovered:
            _log.info("cds replay store available again", path=self.path)
        return fresh

    def _connect(self) -> sqlite3.Connection:
        pid = os.getpid()
        if self._connection is None or self._pid != pid:
            # An inherited connection is dropped, never used or closed (SQLite: not across fork).
            self._connection = open_database(self.path)
            self._pid = pid
        return self._connection

    def _forget_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and self._pid == os.getpid():
            with contextlib.suppress(sqlite3.Error):
                connection.close()

    def _insert(self, key: bytes, until: float) -> bool:
        connection = self._connect()
        now = self._clock()
        connection.execute("BEGIN IMMEDIATE")  # the write lock now: the whole call is atomic
        try:
            connection.execute(
                "DELETE FROM seen WHERE key IN (SELECT key FROM seen WHERE until <= ? LIMIT ?)",
                (now, SWEEP),
            )
            added = connection.execute(
                "INSERT INTO seen (key, until) VALUES (?, ?) ON CONFLICT (key) "
                "DO UPDATE SET until = excluded.until WHERE seen.until <= ?",
                (key, until, now),
            ).rowcount
            if added == 0:  # the key is there and unexpired: a replay
                connection.execute("COMMIT")
                return False
            # Exact: had any entry expired, the sweep would have deleted at least one.
            if self._size(connection) > self._capacity:
                connection.execute("ROLLBACK")
                raise ReplayCacheFull
            connection.execute("COMMIT")
            return True
        except BaseException:
            if connection.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            raise

    @staticmethod
    def _size(connection: sqlite3.Connection) -> int:
        (size,) = connection.execute("SELECT n FROM size").fetchone()
        return int(size)


def for_this_server() -> ReplayStore:
    """The shared file when the gunicorn master chose a folder, else this process's memory."""
    folder = os.environ.get(FOLDER_VARIABLE)
    return SharedReplayCache(os.path.join(folder, DATABASE)) if folder else ReplayCache()


# The gunicorn master's side (gunicorn.conf.py).


def choose_folder() -> str:
    """TRIAGE_CDS_REPLAY_DIR; when unset (`make run`), a new private temporary folder (with none
    writable, prepare logs it and CDS calls with a JWT are refused, never accepted unprotected)."""
    return master_folders.choose(FOLDER_VARIABLE, "triage-cds-replay")


def prepare(folder: str) -> bool:
    """Create the folder (private) if missing and a fresh, empty database in it; False, logged,
    when that fails (the workers then refuse CDS calls with a JWT)."""
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        for name in _FILES:  # a previous run's entries, or a corrupt file: start afresh
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(folder, name))
        open_database(os.path.join(folder, DATABASE)).close()
    except (OSError, sqlite3.Error) as error:
        _log.error(
            "cds replay store not ready: CDS calls with a JWT will be refused",
            error=getattr(error, "sqlite_errorname", type(error).__name__),
            folder=folder,
        )
        return False
    return True


def remove_created_folder() -> None:
    """At exit, remove the temporary folders chosen when none was set."""
    master_folders.remove_created()
