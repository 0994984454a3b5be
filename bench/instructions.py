"""Machine instructions per request, in process, counted by valgrind (callgrind): the service
against the bare endpoint, the rule engine's C code, the JSON codecs and the allocator included.

bench/opcodes.py counts Python bytecode only; the largest cost it could not see was in durable's
C code (a new session per evaluation zeroed about a megabyte: a quarter of a request). This
counts everything the process executes (not the kernel), exactly, whatever else the machine is
doing: 300 requests warm the process, then only the next 200 are counted (collection is switched
on inside collections.deque's consumption of them and nowhere else). The young-generation
threshold is the one gunicorn.conf.py's pre_fork hook sets. Needs valgrind (apt-get install
valgrind); about three minutes per app. Run: `python bench/instructions.py`.
"""

from __future__ import annotations

import collections
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = 200
WARM = 300


def _serve(app_name: str) -> None:
    """Inside valgrind: warm the app, then make REQUESTS requests inside deque's consumption."""
    sys.path.insert(0, str(ROOT))
    from bench.opcodes import _environ, _start_response
    from service.review.cases import load_vignettes

    vignettes = load_vignettes(ROOT / "tests" / "vignettes" / "vignettes.yaml")
    bodies = [json.dumps(v.intake).encode() for v in vignettes]
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # the request log lines, as under the benchmark's gunicorn
    app: Any
    if app_name == "bare":
        from bench.bare_app import app
    else:
        from service.wsgi import app

    def request(index: int) -> bytes:
        return b"".join(app(_environ(bodies[index % len(bodies)]), _start_response))

    for index in range(WARM):
        request(index)
    gc.freeze()
    gc.set_threshold(10_000, *gc.get_threshold()[1:])  # as gunicorn.conf.py's pre_fork
    collections.deque(map(request, range(REQUESTS)), maxlen=0)


def count(app_name: str) -> int:
    """Instructions per request of one app ("service" or "bare")."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--collect-atstart=no",
                "--toggle-collect=deque_extend",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--serve",
                app_name,
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        found = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.M)
        if not found:
            raise RuntimeError("callgrind wrote no total")
        return int(found.group(1)) // REQUESTS


def measure() -> dict[str, int]:
    """Instructions per POST /v1/triage of the service and of the bare endpoint."""
    return {name: count(name) for name in ("service", "bare")}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        _serve(sys.argv[2])
    elif shutil.which("valgrind") is None:
        print("valgrind is missing: apt-get install valgrind", file=sys.stderr)
        sys.exit(2)
    else:
        print(measure())
