"""The CDS Hooks jti replay store the gunicorn workers share: real SQLite files and processes."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from service.interop.cds import replay
from service.interop.cds.replay import (
    DATABASE,
    ReplayCache,
    ReplayCacheFull,
    ReplayStoreFailed,
    SharedReplayCache,
)

ISSUER = "https://ehr.example.org"
OTHER_ISSUER = "https://other-ehr.example.org"


def _store(tmp_path: Path, **options: object) -> SharedReplayCache:
    assert replay.prepare(str(tmp_path))
    return SharedReplayCache(str(tmp_path / DATABASE), **options)  # type: ignore[arg-type]


def test_a_jti_accepted_by_one_connection_is_refused_by_another(tmp_path: Path) -> None:
    first, second = _store(tmp_path), SharedReplayCache(str(tmp_path / DATABASE))
    until = time.time() + 360
    assert first.first_use(ISSUER, "a", until)
    assert not second.first_use(ISSUER, "a", until)
    assert not first.first_use(ISSUER, "a", until)
    assert second.first_use(OTHER_ISSUER, "a", until)  # another issuer's jti is another token
    assert second.first_use(ISSUER, "b", until)
    assert not first.first_use(ISSUER, "b", until)


def _claim_all(path: str, jtis: list[str], barrier: Any, results: Any) -> None:
    """In a process of its own: report the jtis this process was first to use."""
    store = SharedReplayCache(path)
    until = time.time() + 360
    barrier.wait(timeout=60)  # all the processes race from the same moment
    won = []
    for jti in jtis:
        if store.first_use(ISSUER, jti, until):
            won.append(jti)
        time.sleep(0.002)  # let the others in, on a busy machine too
    results.put(won)


def test_processes_racing_for_the_same_jtis_accept_each_exactly_once(tmp_path: Path) -> None:
    store = _store(tmp_path)
    jtis = [f"jti-{n}" for n in range(300)]
    context = multiprocessing.get_context("spawn")  # no connection or lock crosses a fork
    barrier, results = context.Barrier(3), context.Queue()
    processes = [
        context.Process(
            target=_claim_all, args=(store.path, jtis[offset:] + jtis[:offset], barrier, results)
        )
        for offset in (0, 100, 200)
    ]
    for process in processes:
        process.start()
    won = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=10)
        assert process.exitcode == 0
    accepted = [jti for process_won in won for jti in process_won]
    assert sorted(accepted) == sorted(jtis)  # each once, none twice, none lost
    assert sum(1 for process_won in won if process_won) >= 2  # the race was real
    assert not store.first_use(ISSUER, "jti-7", time.time() + 360)


def test_an_entry_is_forgotten_when_its_token_expires(tmp_path: Path) -> None:
    clock = [1000.0]
    store = _store(tmp_path, clock=lambda: clock[0])
    assert store.first_use(ISSUER, "a", 1010.0)
    assert store.first_use(ISSUER, "b", 1100.0)
    clock[0] = 1009.9
    assert not store.first_use(ISSUER, "a", 1010.0)
    clock[0] = 1010.0
    # The token itself has expired by now (the verifier refuses it); its entry may go.
    assert store.first_use(ISSUER, "c", 1100.0)
    with sqlite3.connect(store.path) as db:
        held = sorted(until for (until,) in db.execute("SELECT until FROM seen"))
        assert held == [1100.0, 1100.0]  # "a" was swept by that insert
        assert db.execute("SELECT n FROM size").fetchone() == (2,)
    assert not store.first_use(ISSUER, "b", 1100.0)


def test_the_store_is_bounded_by_unexpired_entries(tmp_path: Path) -> None:
    clock = [1000.0]
    store = _store(tmp_path, capacity=2, clock=lambda: clock[0])
    other = SharedReplayCache(store.path, capacity=2, clock=lambda: clock[0])
    assert store.first_use(ISSUER, "a", 1010.0)
    assert other.first_use(ISSUER, "b", 1020.0)
    with pytest.raises(ReplayCacheFull):
        other.first_use(ISSUER, "c", 1020.0)
    assert not store.first_use(ISSUER, "a", 1010.0)  # full, a replay is still a replay (401)
    clock[0] = 1010.0
    assert other.first_use(ISSUER, "c", 1020.0)  # "a" expired: room again
    with pytest.raises(ReplayCacheFull):
        store.first_use(ISSUER, "d", 1020.0)
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT count(*), (SELECT n FROM size) FROM seen").fetchone() == (2, 2)


def test_many_expired_entries_are_swept_a_bounded_number_at_a_time(tmp_path: Path) -> None:
    clock = [1000.0]
    store = _store(tmp_path, capacity=replay.SWEEP + 10, clock=lambda: clock[0])
    for n in range(replay.SWEEP + 10):
        assert store.first_use(ISSUER, f"old-{n}", 1001.0)
    clock[0] = 1001.0  # all expired, the store full: a call sweeps SWEEP of them and has room
    assert store.first_use(ISSUER, "new", 1100.0)
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT count(*), (SELECT n FROM size) FROM seen").fetchone() == (11, 11)
    assert store.first_use(ISSUER, "newer", 1100.0)
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT n FROM size").fetchone() == (2,)


def test_a_missing_folder_fails_closed_and_logs_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = SharedReplayCache(str(tmp_path / "gone" / DATABASE))
    capsys.readouterr()
    for _ in range(3):
        with pytest.raises(ReplayStoreFailed):
            store.first_use(ISSUER, "secret-jti-value", time.time() + 360)
    logged = capsys.readouterr().out
    assert logged.count("cds replay store unavailable") == 1
    assert "secret-jti-value" not in logged
    # Once the folder is there again (the master's prepare), the store works and says so.
    assert replay.prepare(str(tmp_path / "gone"))
    assert store.first_use(ISSUER, "secret-jti-value", time.time() + 360)
    assert "cds replay store available again" in capsys.readouterr().out


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_an_unwritable_folder_fails_closed(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert not replay.prepare(str(folder))
        with pytest.raises(ReplayStoreFailed):
            SharedReplayCache(str(folder / DATABASE)).first_use(ISSUER, "a", time.time() + 9)
    finally:
        folder.chmod(stat.S_IRWXU)


def test_a_folder_that_is_a_file_cannot_be_prepared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("not a folder")
    assert not replay.prepare(str(tmp_path / "file"))
    assert "cds replay store not ready" in capsys.readouterr().out
    with pytest.raises(ReplayStoreFailed):
        SharedReplayCache(str(tmp_path / "file" / DATABASE)).first_use(ISSUER, "a", 9e9)


def test_a_corrupt_file_fails_closed_and_prepare_starts_afresh(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.first_use(ISSUER, "a", time.time() + 360)
    (tmp_path / DATABASE).write_bytes(b"not an sqlite database " * 500)
    for name in (f"{DATABASE}-wal", f"{DATABASE}-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    fresh = SharedReplayCache(store.path)  # a restarted worker opening the damaged file
    with pytest.raises(ReplayStoreFailed):
        fresh.first_use(ISSUER, "b", time.time() + 360)
    assert replay.prepare(str(tmp_path))
    assert fresh.first_use(ISSUER, "b", time.time() + 360)


def test_another_workers_long_write_lock_is_a_prompt_refusal(tmp_path: Path) -> None:
    store = _store(tmp_path)
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(ReplayStoreFailed):
            store.first_use(ISSUER, "a", time.time() + 360)
        waited = time.monotonic() - started
        assert replay.BUSY_TIMEOUT <= waited < replay.BUSY_TIMEOUT + 0.5
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.first_use(ISSUER, "a", time.time() + 360)  # the lock released: accepted


def test_the_file_holds_digests_and_expiries_only(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.first_use(ISSUER, "visible-jti-0123456789", time.time() + 360)
    with sqlite3.connect(store.path) as db:
        (key, _until), *_ = db.execute("SELECT key, until FROM seen").fetchall()
    assert isinstance(key, bytes)
    assert len(key) == 16
    raw = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.is_file())
    assert b"visible-jti" not in raw
    assert b"ehr.example.org" not in raw


def test_the_server_store_is_shared_when_the_master_chose_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(replay.FOLDER_VARIABLE, raising=False)
    assert isinstance(replay.for_this_server(), ReplayCache)  # Flask alone: process memory
    monkeypatch.setenv(replay.FOLDER_VARIABLE, str(tmp_path))
    chosen = replay.for_this_server()
    assert isinstance(chosen, SharedReplayCache)
    assert chosen.path == str(tmp_path / DATABASE)


def test_choose_folder_makes_a_private_temporary_folder_when_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(replay.FOLDER_VARIABLE, "")  # unset, and restored (absent) afterwards
    folder = replay.choose_folder()
    try:
        assert os.environ[replay.FOLDER_VARIABLE] == folder
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        assert replay.prepare(folder)
        assert (Path(folder) / DATABASE).is_file()
    finally:
        replay.remove_created_folder()
    assert not os.path.exists(folder)


def test_an_expired_entry_not_yet_swept_is_taken_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replay, "SWEEP", 0)
    clock = [1000.0]
    store = _store(tmp_path, capacity=1, clock=lambda: clock[0])
    assert store.first_use(ISSUER, "a", 1010.0)
    clock[0] = 1010.0
    assert store.first_use(ISSUER, "a", 1100.0)  # the old entry had expired: not a replay
    assert not store.first_use(ISSUER, "a", 1100.0)
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT count(*), (SELECT n FROM size) FROM seen").fetchone() == (1, 1)
