"""Metrics as users start the service (the image, `make run`), and best-effort under failure.

Real servers on 127.0.0.1 (the image's own run in a network namespace of its own); folders made
full, read-only or impossible with real tmpfs mounts in private mount namespaces (as root, as
CI runs; skipped otherwise). Every server is stopped in a finally block.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from service.http import metric_files
from tests.helpers import ROOT, vignettes
from tests.helpers.image_run import parse_dockerfile
from tools.live_server import LiveServer, free_port, request, start

TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"
INTAKES = [v.intake for v in vignettes()][::3]
# Answered 200 on many routes, so that the workers' metric files must grow.
ROUTES = [
    ("GET", "/healthz", None),
    ("GET", "/readyz", None),
    ("GET", "/v1/rules", None),
    ("GET", "/v1/questions", None),
    ("GET", "/openapi.yaml", None),
    ("GET", "/fhir/Questionnaire/forefoot-triage", None),
    ("GET", "/cds-services", None),
    ("GET", "/docs", None),
    ("GET", "/rules", None),
    *[("POST", "/v1/triage", intake) for intake in INTAKES],
]

# A container's own mounts, network and processes; all of them end with the run.
NAMESPACES = ["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]
needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root and util-linux unshare to mount tmpfs folders in a private namespace",
)


def _private_tmpfs(mountpoint: Path, options: str, then: str = "") -> list[str]:
    """A command prefix: a new mount namespace with a tmpfs on `mountpoint`, then the server."""
    script = f'mount -t tmpfs -o {options} tmpfs "$0" || exit 1; {then} exec "$@"'
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        script,
        str(mountpoint),
    ]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _triage_200(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    return samples.get(("triage_responses_total", (("route", "/v1/triage"), ("status", "200"))), 0)


def _scrape(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics: 200, exactly the text format's content type, parsed by Prometheus's parser."""
    from urllib.request import urlopen

    with urlopen(base + "/metrics", timeout=10) as response:  # noqa: S310 (loopback)
        assert response.status == 200
        assert response.headers.get_all("Content-Type") == [TEXT_FORMAT]
        return _samples(response.read().decode("utf-8"))


def _children(pid: int) -> set[int]:
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def _metrics_disabled_lines(log: str) -> list[dict[str, Any]]:
    """The JSON records saying a worker's metrics are off (several records on a line tolerated:
    two workers writing to one file may interleave a record and a newline)."""
    decoder = json.JSONDecoder()
    found = []
    for line in log.splitlines():
        at = 0
        while line.startswith("{", at):
            record, at = decoder.raw_decode(line, at)
            if str(record.get("event", "")).startswith("metrics disabled"):
                found.append(record)
    return found


def _fill_up(path: Path) -> None:
    """Write zeros until the file system is full (raises ENOSPC)."""
    with open(path, "wb", buffering=0) as filler:
        while True:
            filler.write(b"\0" * 4096)


def _send(base: str, calls: list[tuple[str, str, Any]], clients: int = 4) -> list[int]:
    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(lambda call: request(base, *call)[0], calls))


def _until_each_worker_wrote(live: LiveServer, folder: Path, kinds: tuple[str, ...]) -> int:
    """Concurrent triages until every worker has its files of these kinds; how many were sent.

    Also proof that every worker has booted: a SIGTERM that reaches a worker still booting is
    only acted on by the master after graceful_timeout (30 s).
    """
    sent = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        names = {p.name for p in folder.glob("*.db")}
        workers = _children(live.process.pid)
        if all(f"{kind}_{pid}.db" in names for kind in kinds for pid in workers):
            return sent
        batch = [("POST", "/v1/triage", INTAKES[(sent + i) % len(INTAKES)]) for i in range(16)]
        assert set(_send(live.base, batch, clients=4)) == {200}
        sent += len(batch)
    raise AssertionError(f"not every worker wrote its metric files:\n{live.log()}")


@pytest.fixture
def stopped() -> Iterator[list[LiveServer]]:
    """Servers appended here are stopped at the end of the test, whatever happens."""
    servers: list[LiveServer] = []
    try:
        yield servers
    finally:
        for server in servers:
            try:
                server.stop(timeout=40)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


def test_metrics_content_type_is_the_text_format_once(client: FlaskClient) -> None:
    """Exactly `text/plain; version=0.0.4; charset=utf-8`: one charset, the version it speaks."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers.get_all("Content-Type") == [TEXT_FORMAT]
    assert text_string_to_metric_families(response.get_data(as_text=True))


def test_an_unreadable_metric_file_hides_nothing_else(tmp_path: Path) -> None:
    """A truncated or foreign *.db file in the folder is skipped; the other files still count."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.mmap_dict import MmapedDict, mmap_key

    good = MmapedDict(str(tmp_path / "counter_101.db"))
    good.write_value(mmap_key("jobs", "jobs_total", [], [], "Jobs."), 7.0, 0.0)
    good.close()
    (tmp_path / "counter_102.db").write_bytes(b"\xff\xff\x00\x00 not a metric file")
    (tmp_path / "histogram_103.db").write_bytes(b"")
    registry = CollectorRegistry()
    registry.register(metric_files.FolderCollector(str(tmp_path)))
    assert _samples(generate_latest(registry).decode()) == {("jobs_total", ()): 7.0}


# 1. Start as shipped.


@needs_root
def test_the_image_starts_as_shipped_on_a_read_only_root_with_an_empty_tmp() -> None:
    """The Dockerfile's CMD, ENV, USER and files on a read-only root with a fresh empty /tmp.

    tests/helpers/image_run.py is `docker run --read-only --tmpfs /tmp` without Docker: new mount,
    network and pid namespaces, the image's COPY'd files read-only, / read-only, /tmp a new
    tmpfs, and CMD run as USER 10001 with exactly the image's ENV (HOST=0.0.0.0 and PORT=8000
    in a network namespace of its own). The HEALTHCHECK command passes too, and the probe port
    (HEALTH_PORT) answers as the service port does.
    """
    image = parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8"))
    assert image.cmd[0] == "gunicorn"
    assert image.env["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")
    assert image.user.isdigit()
    assert image.user != "0"
    triages = [("POST", "/v1/triage", intake) for intake in INTAKES[:12]]
    plan = {"requests": [("GET", "/healthz", None), *triages, ("POST", "/v1/triage", {"x": 1})]}
    run = subprocess.run(
        [*NAMESPACES, sys.executable, str(ROOT / "tests" / "helpers" / "image_run.py")],
        input=json.dumps(plan).encode(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    report = json.loads(run.stdout)
    assert report["ready"], report["output"]
    assert [answer["status"] for answer in report["answers"]] == [200] * 13 + [422]
    assert report["healthcheck"] == 0
    # HEALTH_PORT: the probe port gives the service port's own answers.
    assert report["probe_port"] == report["service_port"]
    assert [probe["status"] for probe in report["probe_port"]] == [200, 200]
    metrics = report["metrics"]
    assert metrics["status"] == 200
    assert metrics["content_type"] == [TEXT_FORMAT]
    samples = _samples(metrics["body"])
    assert _triage_200(samples) == 12
    assert sum(v for (name, _), v in samples.items() if name == "triage_decisions_total") == 12
    assert samples[("triage_responses_total", (("route", "/v1/triage"), ("status", "422")))] == 1
    assert samples[("triage_metrics_errors_total", ())] == 0
    # /tmp holds the metrics and CDS replay folders only (gunicorn's heartbeat files are
    # unlinked at once).
    assert {entry.split("/")[0] for entry in report["tmp"]} == {"metrics", "cds-replay"}
    assert report["exit_code"] == 0, report["output"]
    assert _metrics_disabled_lines(report["output"]) == []


def test_make_run_serves_working_metrics(tmp_path: Path) -> None:
    """`make run`'s command in its environment, only PORT set: /metrics counts every request.

    The command is the run recipe as `make -n run` prints it (its last line: prerequisites come
    first). make exports HOST and PORT; HOST's default is gunicorn.conf.py's own.
    """
    user_env = {
        key: value
        for key, value in os.environ.items()
        # What a user's shell does not have: the tests' own settings and an outer make's.
        if key not in {"PROMETHEUS_MULTIPROC_DIR", "HOST", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
    }
    dry = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, env=user_env, capture_output=True, text=True, check=True
    )
    command = shlex.split(dry.stdout.strip().splitlines()[-1])
    assert "gunicorn.conf.py" in command
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with open(tmp_path / "make-run.log", "wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**user_env, "PORT": str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    live = LiveServer(process, base, tmp_path / "make-run.log", tmp_path)
    try:
        live.wait_ready()
        # The folder gunicorn.conf.py chose (a new temporary one): where a worker wrote its files.
        (folder,) = {
            path.parent
            for pid in _children(process.pid)
            for path in Path(tempfile.gettempdir()).glob(f"triage-metrics-*/counter_{pid}.db")
        }
        sent = _until_each_worker_wrote(live, folder, ("counter",))
        triages = [("POST", "/v1/triage", intake) for intake in INTAKES]
        statuses = _send(base, [*triages, ("POST", "/v1/triage", {"symptoms": {"fevr": "yes"}})])
        assert statuses == [200] * len(INTAKES) + [422]
        sent += len(INTAKES)
        samples = _scrape(base)
    finally:
        live.stop()
    assert not folder.exists(), "the temporary folder is removed at exit"
    assert _triage_200(samples) == sent
    assert samples[("triage_responses_total", (("route", "/v1/triage"), ("status", "422")))] == 1
    decisions = sum(v for (name, _), v in samples.items() if name == "triage_decisions_total")
    assert decisions == sent
    duration_count = ("triage_request_duration_seconds_count", (("route", "/v1/triage"),))
    assert samples[duration_count] == sent + 1
    assert any(name == "triage_rule_fires_total" and v > 0 for (name, _), v in samples.items())


def _ruleset_info(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> list[Any]:
    return [
        (dict(labels), value)
        for (name, labels), value in samples.items()
        if name == "triage_ruleset_info"
    ]


def test_every_scrape_of_a_real_server_names_the_ruleset(stopped: list[LiveServer]) -> None:
    """gunicorn with two workers: from the first scrape, before any triage, every scrape (on a
    new connection each, so both workers answer some) has one triage_ruleset_info series with
    /readyz's version and digest, and triage_engine_failures_total is 0 after real triages."""
    live = start()
    stopped.append(live)
    live.wait_ready()
    status, text = request(live.base, "GET", "/readyz")
    assert status == 200
    identity = text["ruleset"]
    expected = [({"version": identity["version"], "sha256": identity["sha256"]}, 1.0)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        scrapes = list(pool.map(lambda _: _scrape(live.base), range(16)))
    assert [_ruleset_info(samples) for samples in scrapes] == [expected] * 16
    sent = _until_each_worker_wrote(live, live.metrics_dir, ("counter",))
    samples = _scrape(live.base)
    assert _ruleset_info(samples) == expected
    assert _triage_200(samples) == sent
    assert samples[("triage_engine_failures_total", ())] == 0


needs_prometheus = pytest.mark.skipif(
    shutil.which("promtool") is None or shutil.which("prometheus") is None,
    reason="needs Debian's prometheus package (prometheus and promtool)",
)


@needs_prometheus
def test_a_real_prometheus_scrapes_the_server(tmp_path: Path, stopped: list[LiveServer]) -> None:
    """promtool check metrics finds nothing to say about a real scrape, and a real Prometheus
    server scraping gunicorn stores triage_ruleset_info and triage_engine_failures_total."""
    live = start()
    stopped.append(live)
    live.wait_ready()
    assert set(_send(live.base, [("POST", "/v1/triage", intake) for intake in INTAKES])) == {200}
    status, exposition = request(live.base, "GET", "/metrics")
    assert status == 200
    check = subprocess.run(
        ["promtool", "check", "metrics"],
        input=exposition,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (check.returncode, check.stdout, check.stderr) == (0, "", "")
    target = live.base.removeprefix("http://")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
        f"scrape_configs: [{{job_name: triage, static_configs: [{{targets: ['{target}']}}]}}]\n",
        encoding="utf-8",
    )
    port = free_port()
    with open(tmp_path / "prometheus.log", "wb") as log:
        server = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        found: dict[str, Any] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(found) < 2:
            time.sleep(0.5)
            for query in ("triage_ruleset_info", "triage_engine_failures_total"):
                try:
                    status, answer = request(
                        f"http://127.0.0.1:{port}", "GET", f"/api/v1/query?query={query}"
                    )
                except OSError:
                    continue
                if status == 200 and answer["data"]["result"]:
                    found[query] = answer["data"]["result"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert len(found) == 2, (tmp_path / "prometheus.log").read_text(errors="replace")[-2000:]
    _, ready = request(live.base, "GET", "/readyz")
    (info,) = found["triage_ruleset_info"]
    assert info["metric"]["version"] == ready["ruleset"]["version"]
    assert info["metric"]["sha256"] == ready["ruleset"]["sha256"]
    assert info["metric"]["job"] == "triage"
    assert info["value"][1] == "1"
    (failures,) = found["triage_engine_failures_total"]
    assert failures["value"][1] == "0"


# 5. Metrics are best-effort.


@needs_root
@pytest.mark.parametrize("when", ["full before start", "fills up while serving"])
def test_a_full_metrics_folder_fails_nothing(
    tmp_path: Path, stopped: list[LiveServer], when: str
) -> None:
    """A 64 KiB tmpfs, filled up: every answer and probe 200, no worker dies, one log line each.

    Before the fix a worker's first touch of a new page of its mapped file on a full tmpfs was
    a SIGBUS, on every request, /healthz included. Full before start, the one worker fails to
    create its files; filled up while serving, each of two workers fails to grow them.
    """
    mountpoint = tmp_path / "tmpfs"
    mountpoint.mkdir()
    fill_first = ""
    workers = 2
    if when == "full before start":
        fill_first = 'head -c 1048576 /dev/zero > "$0/filler" 2>/dev/null;'
        workers = 1  # answering /readyz proves it booted (see _until_each_worker_wrote)
    folder = mountpoint / "metrics"  # emptied at start: the filler is beside it
    prefix = _private_tmpfs(mountpoint, "size=64k", fill_first)
    live = start(workers=workers, prefix=prefix, metrics_dir=folder)
    stopped.append(live)
    live.wait_ready()
    # The test sees the server's mounts through its /proc root.
    inside = Path(f"/proc/{live.process.pid}/root") / str(folder).lstrip("/")
    if when == "fills up while serving":
        _until_each_worker_wrote(live, inside, ("counter", "histogram"))
        with pytest.raises(OSError, match="No space left on device") as full:
            _fill_up(inside.parent / "filler")
        assert full.value.errno == errno.ENOSPC
    assert os.statvfs(inside.parent).f_bavail == 0
    pids = _children(live.process.pid)
    # One client: the workers' load shedding (503 when the event loop lags) is not under test.
    statuses = _send(live.base, ROUTES * 2, clients=1)
    assert statuses == [200] * len(ROUTES) * 2
    samples = _scrape(live.base)
    assert _children(live.process.pid) == pids, "no worker died"
    log = live.log()
    assert "was sent" not in log
    disabled = _metrics_disabled_lines(log)
    assert 1 <= len(disabled) <= workers, log
    assert len({line["pid"] for line in disabled}) == len(disabled), "one line per worker"
    assert {line["pid"] for line in disabled} <= pids
    assert {line["error"] for line in disabled} == {"ENOSPC"}
    if when == "fills up while serving":
        # Counted in the slot each counter file reserved; the counts before are still there.
        assert 1 <= samples[("triage_metrics_errors_total", ())] <= workers
        assert _triage_200(samples) > 0


@pytest.mark.parametrize("kind", ["read-only", "cannot be created"])
def test_an_unwritable_metrics_folder_fails_nothing(
    tmp_path: Path, stopped: list[LiveServer], kind: str
) -> None:
    """A read-only folder (EROFS), or one that cannot be created (ENOTDIR): every answer 200.

    Before the fix every request was a 500. One worker: it answered /readyz, so it has booted.
    """
    if kind == "read-only":
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            pytest.skip("needs root and util-linux unshare to mount a read-only tmpfs")
        folder = tmp_path / "metrics"
        folder.mkdir()
        prefix = _private_tmpfs(folder, "ro,size=64k")
        live = start(workers=1, prefix=prefix, metrics_dir=folder)
        expected = "EROFS"
    else:
        (tmp_path / "a-file").write_text("not a folder")
        live = start(workers=1, metrics_dir=tmp_path / "a-file" / "metrics")
        expected = "ENOTDIR"
    stopped.append(live)
    live.wait_ready()
    pids = _children(live.process.pid)
    statuses = _send(live.base, ROUTES * 2, clients=1)
    assert statuses == [200] * len(ROUTES) * 2
    # Nothing could be written, and nothing fails; the ruleset info needs no file.
    assert [name for name, _ in _scrape(live.base)] == ["triage_ruleset_info"]
    assert _children(live.process.pid) == pids
    disabled = _metrics_disabled_lines(live.log())
    assert [(line["pid"], line["error"]) for line in disabled] == [(min(pids), expected)]


def test_dead_workers_files_are_compacted_and_their_counts_kept(stopped: list[LiveServer]) -> None:
    """SIGKILL a worker, then the other: their files go into the archive, totals stay exact."""
    live = start()
    stopped.append(live)
    live.wait_ready()
    sent = _until_each_worker_wrote(live, live.metrics_dir, ("counter", "histogram"))
    for _ in range(2):
        victim = min(_children(live.process.pid))
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            workers = _children(live.process.pid)
            if len(workers) == 2 and victim not in workers:
                break
            time.sleep(0.05)
        assert not list(live.metrics_dir.glob(f"*_{victim}.db")), "the dead worker's files"
        assert (live.metrics_dir / "counter_archive.db").exists()
        assert (live.metrics_dir / "histogram_archive.db").exists()
        sent += _until_each_worker_wrote(live, live.metrics_dir, ("counter", "histogram"))
        batch = [("POST", "/v1/triage", INTAKES[i % len(INTAKES)]) for i in range(20)]
        assert set(_send(live.base, batch)) == {200}
        sent += len(batch)
        samples = _scrape(live.base)
        assert _triage_200(samples) == sent
        decisions = sum(v for (name, _), v in samples.items() if name == "triage_decisions_total")
        assert decisions == sent
        duration = ("triage_request_duration_seconds_count", (("route", "/v1/triage"),))
        assert samples[duration] == sent
    pids = {p.name.split("_")[-1].removesuffix(".db") for p in live.metrics_dir.glob("*.db")}
    assert pids <= {"archive"} | {str(pid) for pid in _children(live.process.pid)}
