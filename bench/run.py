"""make bench: the service against a bare Flask endpoint, both under gunicorn, driven by wrk.

Both apps run with the same gunicorn.conf.py (2 sync workers). wrk (8 connections, 2 threads)
drives them alternately, several rounds each, with bodies rotating over the vignette intakes
and a random age in each request. Everything talks only to 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stages import measure  # noqa: E402
from service.cases import load_vignettes  # noqa: E402
from tests.live_server import free_port, request  # noqa: E402

LUA = """
local bodies = {%s}
math.randomseed(42)
request = function()
  local body = bodies[math.random(#bodies)]
  body = string.gsub(body, '"age_years": %%d+', '"age_years": ' .. math.random(0, 120))
  return wrk.format("POST", "/v1/triage", {["Content-Type"] = "application/json"}, body)
end
"""


def _lua(path: Path) -> None:
    vignettes = load_vignettes(ROOT / "tests" / "vignettes" / "vignettes.yaml")
    bodies = [json.dumps(v.intake) for v in vignettes]
    assert len(bodies) >= 40, "at least 40 varied intakes"
    quoted = ",\n".join("[==[" + body + "]==]" for body in bodies)
    path.write_text(LUA % quoted, encoding="utf-8")


def _start(app: str, port: int) -> tuple[subprocess.Popen[bytes], float]:
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="bench-metrics-"),
    }
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", app],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    probe = "/readyz" if app.startswith("service") else "/v1/triage"
    while time.monotonic() - started < 30:
        try:
            status, _ = request(
                base,
                "GET" if probe == "/readyz" else "POST",
                probe,
                {} if probe != "/readyz" else None,
                timeout=1,
            )
            if status == 200:
                return process, time.monotonic() - started
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"{app} did not start")


def _workers(master: int) -> list[int]:
    return sorted(
        int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()
    )


def _rss_mb(pids: list[int]) -> list[float]:
    sizes = []
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024)  # type: ignore[union-attr]
    return sizes


def _wrk(port: int, script: Path, seconds: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c8",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/v1/triage",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout

    def latency(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": latency("50%"),
        "p99": latency("99%"),
        "non_2xx": float(non_2xx.group(1)) if non_2xx else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    script = work / "intakes.lua"
    _lua(script)
    ports = {"service": free_port(), "bare": free_port()}
    service, ready_s = _start("service.wsgi:app", ports["service"])
    bare, _ = _start("bench.bare_app:app", ports["bare"])
    results: dict[str, list[dict[str, float]]] = {"service": [], "bare": []}
    try:
        _wrk(ports["service"], script, 2)  # warm-up
        _wrk(ports["bare"], script, 2)
        rss_before = _rss_mb(_workers(service.pid))
        for _ in range(args.rounds):
            for name in ("service", "bare"):
                results[name].append(_wrk(ports[name], script, args.seconds))
        rss_after = _rss_mb(_workers(service.pid))
    finally:
        for process in (service, bare):
            process.terminate()
            process.wait(timeout=40)
    stages = measure()
    text = _report(results, ready_s, rss_before, rss_after, stages, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


def _mean(rows: list[dict[str, float]], key: str) -> float:
    return sum(row[key] for row in rows) / len(rows)


def _machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory / 1024 / 1024:.0f} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def _report(
    results: dict[str, list[dict[str, float]]],
    ready_s: float,
    rss_before: list[float],
    rss_after: list[float],
    stages: dict[str, tuple[float, float]],
    args: Any,
) -> str:
    service, bare = results["service"], results["bare"]
    ratio = _mean(service, "rps") / _mean(bare, "rps")
    engine_median = stages["engine evaluation (durable-rules)"][0]
    growth = max(after - before for before, after in zip(rss_before, rss_after, strict=True))
    checks = [
        ("triage throughput / bare Flask", f"{ratio:.2f}×", "≥ 0.75×", ratio >= 0.75),
        (
            "p99 latency at 8 connections",
            f"{max(r['p99'] for r in service):.2f} ms",
            "< 10 ms",
            max(r["p99"] for r in service) < 10,
        ),
        ("engine evaluation, median", f"{engine_median:.0f} µs", "< 100 µs", engine_median < 100),
        (
            "worker RSS growth during the run",
            f"{growth:+.2f} MB",
            "< 5 MB (100,000 requests: `make soak`)",
            growth < 5,
        ),
        ("ready after start", f"{ready_s:.2f} s", "< 2 s", ready_s < 2),
    ]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`bench/run.py`); numbers from one run on the machine below.",
        "",
        f"- machine: {_machine()}",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "- load: wrk, 2 threads, 8 connections, on the same machine; bodies rotate over the "
        "vignette intakes with a random age per request",
        f"- rounds: {args.rounds} × {args.seconds} s per app, alternating service and bare Flask",
        "- both apps: the same `gunicorn.conf.py` (2 sync workers, preloaded)",
        "- what the profile showed and what was changed: [performance.md](performance.md)",
        "",
        "## Targets",
        "",
        "| measure | result | target | met |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {value} | {target} | {'yes' if ok else '**no**'} |"
        for name, value, target, ok in checks
    ]
    lines += [
        "",
        "## Rounds",
        "",
        "| round | app | requests/s | p50 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|---|",
    ]
    for index, (s_row, b_row) in enumerate(zip(service, bare, strict=True), start=1):
        for name, row in (("service", s_row), ("bare Flask", b_row)):
            lines.append(
                f"| {index} | {name} | {row['rps']:.0f} | {row['p50']:.2f} | "
                f"{row['p99']:.2f} | {row['non_2xx']:.0f} |"
            )
    lines += [
        "",
        f"Service workers' RSS: before {', '.join(f'{m:.1f}' for m in rss_before)} MB, "
        f"after {', '.join(f'{m:.1f}' for m in rss_after)} MB.",
        "",
        "## Stages, in process",
        "",
        "| stage | median µs | p99 µs |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {median:.1f} | {p99:.1f} |" for name, (median, p99) in stages.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
