"""Prometheus multiprocess metric files that can never fail an answer, a probe or a worker.

prometheus_client's own multiprocess values open a file in PROMETHEUS_MULTIPROC_DIR as soon as a
metric is created (at import, in the gunicorn master), decide multiprocess mode once when
prometheus_client is first imported, and grow their files sparsely: a page of the mapping is
only allocated when it is first written, so on a full tmpfs that write is a SIGBUS that kills
the worker. Here instead (installed through prometheus_client's ``values.ValueClass`` hook):

- a process opens its files on its first metric update, creating the folder if it is missing,
  and reads PROMETHEUS_MULTIPROC_DIR then, so the order of imports does not matter;
- every page is reserved with ``posix_fallocate`` before it is mapped, so a full folder is an
  ``OSError`` (ENOSPC) at open or growth time, never a SIGBUS on a later write;
- on any failure the process stops writing metric files: it logs one line, counts the failure
  in ``triage_metrics_errors_total`` when its counter file is open (the count has a reserved
  slot in the file's first page), and goes on answering, its counts kept in memory only.

The files keep prometheus_client's layout (mmap_dict), so ``MultiProcessCollector`` reads
them. The gunicorn master empties the folder at start (``reset_folder``) and merges the files
of dead workers into one archive file per type (``compact_dead``), so that restarts of workers
do not leave their files behind while their counts stay in the totals.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import mmap
import os
import shutil
import struct
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import structlog
from prometheus_client import values
from prometheus_client.metrics_core import Metric
from prometheus_client.mmap_dict import mmap_key
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from service.http import master_folders

FOLDER_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# One page: files grow by doubling, each growth reserved before it is mapped.
INITIAL_SIZE = mmap.PAGESIZE
# The count of failed metric writes; the first entry of every counter file, so that counting a
# failure never needs the file to grow.
ERRORS_METRIC = "triage_metrics_errors"
ERRORS_HELP = "Metric file writes that failed; that worker then keeps its metrics in memory only."
_ERRORS_KEY = mmap_key(ERRORS_METRIC, ERRORS_METRIC + "_total", [], [], ERRORS_HELP)
# Files of these types hold sums, so a dead worker's are added into one archive file per type.
_SUMMED_TYPES = ("counter", "histogram", "summary")
_ARCHIVE = "archive"
# Taken shared while a scrape reads the files, exclusively while the master compacts them.
_LOCK_FILE = ".compaction.lock"

_HEADER = 8
_INT = struct.Struct("i")
_DOUBLES = struct.Struct("dd")

_log = structlog.get_logger("service.metrics")


def _entry(key: str, value: float, timestamp: float) -> bytes:
    """One key and its value in prometheus_client's file layout (mmap_dict)."""
    encoded = key.encode("utf-8")
    padded = encoded + b" " * (8 - (len(encoded) + 4) % 8)
    return _INT.pack(len(encoded)) + padded + _DOUBLES.pack(value, timestamp)


def _entries(data: bytes | mmap.mmap, used: int) -> Iterator[tuple[str, int]]:
    """Each key of a file's used part with the offset of its value."""
    pos = _HEADER
    while pos < used:
        (length,) = _INT.unpack_from(data, pos)
        value_at = pos + 4 + length + (8 - (length + 4) % 8)
        if length < 0 or value_at + _DOUBLES.size > used:
            raise ValueError("metric file is corrupted")
        yield bytes(data[pos + 4 : pos + 4 + length]).decode("utf-8"), value_at
        pos = value_at + _DOUBLES.size


def _read_file(path: str) -> list[tuple[str, float]]:
    """Every key and value of one file, read (not mapped)."""
    with open(path, "rb") as handle:
        data = handle.read()
    if len(data) < _HEADER:
        raise ValueError("metric file is truncated")
    (used,) = _INT.unpack_from(data, 0)
    if used > len(data):
        raise ValueError("metric file is truncated")
    return [(key, _DOUBLES.unpack_from(data, pos)[0]) for key, pos in _entries(data, used)]


def _errno_name(error: BaseException) -> str:
    code = getattr(error, "errno", None)
    return errno.errorcode.get(code, type(error).__name__) if code else type(error).__name__


class _MappedFile:
    """One process's file of one metric type, every page of it reserved before it is mapped."""

    def __init__(self, path: str) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        size = 0
        try:
            size = os.fstat(fd).st_size
            capacity = max(size, INITIAL_SIZE)
            # Reserved now, so that no write through the mapping can ever need a new page.
            os.posix_fallocate(fd, 0, capacity)
            mapped = mmap.mmap(fd, capacity)
            try:
                (used,) = _INT.unpack_from(mapped, 0)
                # A file left by an earlier process with this pid: its counts continue.
                positions = dict(_entries(mapped, used)) if used else {}
            except BaseException:
                mapped.close()
                raise
        except BaseException:
            os.close(fd)
            if size == 0:  # an empty file would be unreadable for the collector
                with contextlib.suppress(OSError):
                    os.unlink(path)
            raise
        self._fd = fd
        self._map = mapped
        self._capacity = capacity
        self._positions: dict[str, int] = positions
        if used == 0:
            used = _HEADER
            mapped[0:4] = _INT.pack(used)
        self._used = used

    def has(self, key: str) -> bool:
        return key in self._positions

    def read(self, key: str) -> float:
        if key not in self._positions:
            self._add(key)
        value: float = _DOUBLES.unpack_from(self._map, self._positions[key])[0]
        return value

    def write(self, key: str, value: float, timestamp: float) -> None:
        if key not in self._positions:
            self._add(key)
        pos = self._positions[key]
        self._map[pos : pos + _DOUBLES.size] = _DOUBLES.pack(value, timestamp)

    def _add(self, key: str) -> None:
        entry = _entry(key, 0.0, 0.0)
        while self._used + len(entry) > self._capacity:
            self._grow()
        self._map[self._used : self._used + len(entry)] = entry
        self._used += len(entry)
        # The used length last: a reader never sees a half-written entry.
        self._map[0:4] = _INT.pack(self._used)
        self._positions[key] = self._used - _DOUBLES.size

    def _grow(self) -> None:
        capacity = self._capacity * 2
        # ENOSPC here leaves the file and the current mapping as they were.
        os.posix_fallocate(self._fd, 0, capacity)
        mapped = mmap.mmap(self._fd, capacity)
        self._map.close()
        self._map, self._capacity = mapped, capacity

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError, BufferError):
            self._map.close()
        with contextlib.suppress(OSError):
            os.close(self._fd)


class _Store:
    """This process's metric files, opened on first use and forgotten after a fork.

    Nothing done while `lock` is held can yield to another greenlet (no socket, no sleep, no
    logging), so the plain thread lock is safe under gevent workers too.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: list[FileValue] = []
        self.files: dict[str, _MappedFile] = {}
        self.pid = 0
        self.folder: str | None = None
        self.writing = False
        self.current_pid = os.getpid()

    def forked(self) -> None:
        """In the child of a fork: note its pid (os.register_at_fork), so that check_pid, on
        every update, compares two numbers instead of asking the kernel (a system call, on
        this path four times a request)."""
        self.current_pid = os.getpid()

    def check_pid(self) -> None:
        """In a new process (a forked worker), start again from zero with no file open."""
        pid = self.current_pid
        if pid == self.pid:
            return
        for inherited in self.files.values():
            inherited.close()
        self.files = {}
        self.pid = pid
        self.folder = os.environ.get(FOLDER_VARIABLE) or None
        self.writing = self.folder is not None
        for value in self.values:
            value.value = 0.0

    def file(self, prefix: str) -> _MappedFile:
        found = self.files.get(prefix)
        if found is not None:
            return found
        if self.folder is None:
            raise RuntimeError("no metrics folder")
        os.makedirs(self.folder, exist_ok=True)
        opened = _MappedFile(os.path.join(self.folder, f"{prefix}_{self.pid}.db"))
        self.files[prefix] = opened
        # As prometheus_client does: every metric known so far shows, at zero if unused.
        if prefix == "counter":
            opened.read(_ERRORS_KEY)
        for value in self.values:
            if value.prefix == prefix:
                opened.read(value.key)
        return opened

    def update(
        self, value: FileValue, amount: float, replace: float | None, timestamp: float = 0.0
    ) -> None:
        self.update_many(((value, amount, replace, timestamp),))

    def update_many(self, updates: Iterable[tuple[FileValue, float, float | None, float]]) -> None:
        """Apply (value, amount, replacement or None, timestamp) updates under one lock."""
        failure: BaseException | None = None
        with self.lock:
            self.check_pid()
            for value, amount, replace, timestamp in updates:
                if self.writing:
                    try:
                        file = self.file(value.prefix)
                        if value.pid != self.pid:  # first use here: what the file holds, usually 0
                            value.value, value.pid = file.read(value.key), self.pid
                        value.value = (value.value if replace is None else replace) + amount
                        file.write(value.key, value.value, timestamp)
                        continue
                    except Exception as error:  # whatever it is, metrics never fail a request
                        failure = error
                        self.stop()
                value.value = (value.value if replace is None else replace) + amount
        if failure is not None:
            _log.error(
                "metrics disabled in this worker: a metric file could not be written",
                error=_errno_name(failure),
                folder=self.folder,
                pid=self.pid,
            )

    def stop(self) -> None:
        """No more file writes in this process; the failure counted if its slot is there."""
        self.writing = False
        counter = self.files.get("counter")
        if counter is not None and counter.has(_ERRORS_KEY):
            with contextlib.suppress(Exception):
                counter.write(_ERRORS_KEY, counter.read(_ERRORS_KEY) + 1, 0.0)
        for file in self.files.values():
            file.close()
        self.files = {}


_STORE = _Store()
os.register_at_fork(after_in_child=_STORE.forked)


class FileValue:
    """prometheus_client's value protocol over this process's metric files (or memory)."""

    _multiprocess = True

    def __init__(
        self,
        typ: str,
        metric_name: str,
        name: str,
        labelnames: Sequence[str],
        labelvalues: Sequence[str],
        help_text: str,
        multiprocess_mode: str = "",
        **_kwargs: Any,
    ) -> None:
        self.prefix = f"gauge_{multiprocess_mode}" if typ == "gauge" else typ
        self.key = mmap_key(metric_name, name, list(labelnames), list(labelvalues), help_text)
        self.value = 0.0
        self.pid = 0  # the process whose file `value` was last read from
        with _STORE.lock:
            _STORE.values.append(self)

    def inc(self, amount: float) -> None:
        _STORE.update(self, amount, None)

    def set(self, value: float, timestamp: float | None = None) -> None:
        _STORE.update(self, 0.0, value, timestamp or 0.0)

    def set_exemplar(self, exemplar: Any) -> None:
        return  # not kept in multiprocess mode, as in prometheus_client

    def get(self) -> float:
        with _STORE.lock:
            _STORE.check_pid()
            return self.value

    def get_exemplar(self) -> None:
        return None


def increment_each(values: Iterable[FileValue]) -> None:
    """Add one to each of these values (counters' children), under one lock: a request's
    counters at once instead of a lock, a pid check and a file lookup each."""
    _STORE.update_many((value, 1.0, None, 0.0) for value in values)


def add_each(amounts: Iterable[tuple[FileValue, float]]) -> None:
    """Add each amount to its value under one lock (a histogram's sum and bucket, a counter)."""
    _STORE.update_many((value, amount, None, 0.0) for value, amount in amounts)


def install() -> None:
    """Make every metric created from now on keep its value in a FileValue."""
    values.ValueClass = FileValue


# The gunicorn master's side (gunicorn.conf.py).


def choose_folder() -> str:
    """PROMETHEUS_MULTIPROC_DIR; when unset (`make run`), a new private temporary folder (with
    none writable, the service still starts and each worker logs that its metrics are off)."""
    return master_folders.choose(FOLDER_VARIABLE, "triage-metrics")


def reset_folder(folder: str) -> None:
    """Create the folder if missing and empty it: stale files would add a previous run's counts.

    Only what is inside is removed, never the folder itself (it may be a mount point). A folder
    that cannot be made ready is logged; the workers then keep their metrics in memory.
    """
    try:
        os.makedirs(folder, exist_ok=True)
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
        os.close(os.open(os.path.join(folder, _LOCK_FILE), os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError as error:
        _log.warning(
            "metrics folder not ready: metrics may be off", error=_errno_name(error), folder=folder
        )


def remove_created_folder() -> None:
    """At exit, remove the temporary folders chosen when none was set (none in a container)."""
    master_folders.remove_created()


@contextlib.contextmanager
def _folder_lock(folder: str, exclusive: bool, seconds: float) -> Iterator[None]:
    """The compaction lock, waited for a bounded time; without it after that (best-effort)."""
    flags = os.O_RDWR | os.O_CREAT if exclusive else os.O_RDONLY
    try:
        fd = os.open(os.path.join(folder, _LOCK_FILE), flags | os.O_CLOEXEC, 0o600)
    except OSError:
        yield
        return
    try:
        deadline = time.monotonic() + seconds
        operation = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        while True:
            try:
                fcntl.flock(fd, operation)
                break
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.002)
        yield
    finally:
        os.close(fd)


def _owner(path: str) -> tuple[str, int] | None:
    """(file prefix, pid) of a worker's file, e.g. ("counter", 12); None for an archive."""
    prefix, _, pid = os.path.basename(path).removesuffix(".db").rpartition("_")
    return (prefix, int(pid)) if pid.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def compact_dead(folder: str) -> None:
    """Add the counter, histogram and summary files of dead processes into one archive per type.

    prometheus_client's mark_process_dead only removes the files of live gauges (done here too);
    without this every dead worker's files would stay in the folder for good. Totals do not
    change: the archive holds the sum per key. A failure (a full folder) leaves the dead files
    where they were, still counted, and is logged.
    """
    try:
        dead: dict[str, list[str]] = {}
        for path in glob.glob(os.path.join(glob.escape(folder), "*.db")):
            owner = _owner(path)
            if owner is not None and not _alive(owner[1]):
                dead.setdefault(owner[0], []).append(path)
        if not dead:
            return
        with _folder_lock(folder, exclusive=True, seconds=2.0):
            for prefix, files in sorted(dead.items()):
                if prefix in _SUMMED_TYPES:
                    _merge_into_archive(folder, prefix, files)
                elif prefix.startswith("gauge_live"):
                    for path in files:
                        os.unlink(path)
    except Exception as error:  # a hook of the master: never raise
        _log.warning("metrics compaction failed", error=_errno_name(error), folder=folder)


def _merge_into_archive(folder: str, typ: str, dead: list[str]) -> None:
    archive = os.path.join(folder, f"{typ}_{_ARCHIVE}.db")
    totals: dict[str, float] = {}
    for path in ([archive] if os.path.exists(archive) else []) + sorted(dead):
        for key, value in _read_file(path):
            totals[key] = totals.get(key, 0.0) + value
    body = b"".join(_entry(key, value, 0.0) for key, value in totals.items())
    data = _INT.pack(_HEADER + len(body)) + b"\0" * (_HEADER - _INT.size) + body
    partial = os.path.join(folder, f".{typ}_{_ARCHIVE}.partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(partial, archive)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise
    for path in dead:
        os.unlink(path)


# The scrape's side (GET /metrics).


class FolderCollector(Collector):
    """The folder's files merged, each worker's and the archives; unreadable files skipped."""

    def __init__(self, folder: str) -> None:
        self._folder = folder

    def collect(self) -> Iterable[Metric]:
        if not os.path.isdir(self._folder):
            return []
        with _folder_lock(self._folder, exclusive=False, seconds=1.0):
            files = glob.glob(os.path.join(glob.escape(self._folder), "*.db"))
            try:
                return list(MultiProcessCollector.merge(files))  # type: ignore[no-untyped-call]
            except Exception:  # one bad file must not hide the others
                readable = [path for path in files if _readable(path)]
                skipped = set(files) - set(readable) - _reported
                if skipped:  # once per file and process, not at every scrape
                    _reported.update(skipped)
                    _log.warning("metric files skipped: unreadable", files=len(skipped))
                return list(MultiProcessCollector.merge(readable))  # type: ignore[no-untyped-call]


_reported: set[str] = set()


def _readable(path: str) -> bool:
    try:
        MultiProcessCollector.merge([path])  # type: ignore[no-untyped-call]
    except Exception:
        return False
    return True
