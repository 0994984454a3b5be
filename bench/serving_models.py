"""Compare gunicorn serving models for this service: sync, gthread and the gevent worker.

`python bench/serving_models.py` prints a Markdown table (docs/serving.md quotes a run): each
model serves the same app with the same gunicorn.conf.py except the worker class, 2 workers,
against wrk at 8 connections, 64 clients 50 ms away, 256 clients trickling headers with an
intake probe every second, and 2,000 connections with a liveness probe every second. Only
127.0.0.1; bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.clients import (  # noqa: E402
    distant_clients,
    slow_clients_and_a_probe,
)
from bench.run import _bodies, _free_port, _lua, _overload, _start, _stop, _wrk  # noqa: E402

MODELS = {
    "sync (2 workers)": ["-k", "sync"],
    "gthread (2 workers × 8 threads)": ["-k", "gthread", "--threads", "8"],
    "gevent, this service's worker (2 workers)": [],
}


def _model(name: str, args: list[str], script: Path, seconds: int) -> list[str]:
    port = _free_port()
    process, _ = _start("service.wsgi:app", port, args)
    bodies = [body.encode() for body in _bodies()]
    try:
        _wrk(port, script, 2)
        wrk = _wrk(port, script, seconds)
        distant = asyncio.run(distant_clients(port, bodies, 64, 0.05, seconds))
        slow = asyncio.run(slow_clients_and_a_probe(port, "headers", 256, seconds))
        crowd = _overload(port, port, script, seconds + 10)["service_port"]  # no probe port
    finally:
        _stop(process)
    return [
        name,
        f"{wrk['rps']:.0f}",
        f"{wrk['p99']:.1f}",
        f"{distant.rps:.0f}",
        f"{slow.ok}/{slow.probes} (worst {slow.worst_ms:.0f} ms)",
        f"{crowd.ok}/{crowd.probes} (worst {crowd.worst_ms:.0f} ms)",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    script = Path(tempfile.mkdtemp(prefix="serving-")) / "intakes.lua"
    _lua(script)
    rows = [
        "| model | wrk 8 conn. req/s | p99 ms | 64 clients 50 ms away, answers/s | "
        "256 header tricklers: intake probes 200 ≤ 1 s | 2,000 connections: /healthz ≤ 1 s |",
        "|---|---|---|---|---|---|",
    ]
    for name, model_args in MODELS.items():
        rows.append("| " + " | ".join(_model(name, model_args, script, args.seconds)) + " |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
