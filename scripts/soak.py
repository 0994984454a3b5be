"""Soak test: 100,000 triage requests against the real gunicorn server; worker RSS before/after.

Run with `make soak` (not part of `make test`). Talks only to 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.review.cases import load_vignettes
from tools.live_server import start

ROOT = Path(__file__).resolve().parent.parent


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no RSS for {pid}")


def _workers(master: int) -> list[int]:
    return sorted(
        int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()
    )


def _client(host: str, port: int, bodies: list[bytes], count: int, errors: list[int]) -> None:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    headers = {"Content-Type": "application/json"}
    for index in range(count):
        connection.request("POST", "/v1/triage", bodies[index % len(bodies)], headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            errors.append(response.status)
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.close()


def main() -> int:
    """Warm up, measure RSS, send the requests, measure again; exit 1 past the limit."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--limit-mb", type=float, default=5.0)
    args = parser.parse_args()
    vignettes = load_vignettes(ROOT / "tests" / "vignettes" / "vignettes.yaml")
    bodies = [json.dumps(v.intake).encode() for v in vignettes]
    live = start()
    try:
        live.wait_ready()
        host, port = live.base.removeprefix("http://").split(":")
        errors: list[int] = []
        warm = [
            threading.Thread(target=_client, args=(host, int(port), bodies, 500, errors))
            for _ in range(args.clients)
        ]
        for thread in warm:
            thread.start()
        for thread in warm:
            thread.join()
        workers = _workers(live.process.pid)
        before = {pid: _rss_kib(pid) for pid in workers}
        per_client = args.requests // args.clients
        started = time.monotonic()
        threads = [
            threading.Thread(target=_client, args=(host, int(port), bodies, per_client, errors))
            for _ in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        after = {pid: _rss_kib(pid) for pid in _workers(live.process.pid)}
    finally:
        live.stop()
    total = per_client * args.clients
    print(f"{total} requests in {elapsed:.1f} s ({total / elapsed:.0f}/s), {len(errors)} not 200")
    worst = 0.0
    for pid, rss in before.items():
        if pid not in after:
            print(f"worker {pid}: {rss / 1024:.1f} MB before, recycled during the run")
            continue
        growth = (after[pid] - rss) / 1024
        worst = max(worst, growth)
        print(
            f"worker {pid}: RSS {rss / 1024:.1f} MB before, {after[pid] / 1024:.1f} MB after "
            f"({growth:+.2f} MB)"
        )
    ok = not errors and worst <= args.limit_mb and set(before) == set(after)
    print("PASS" if ok else "FAIL", f"(limit {args.limit_mb} MB per worker)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
