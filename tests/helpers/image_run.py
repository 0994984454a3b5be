"""`docker run --read-only --tmpfs /tmp` of the image, reproduced without a Docker engine.

Runs as root inside new mount, network and pid namespaces (tests/system/test_metrics_serving.py
starts it under `unshare`), so nothing done here is seen outside. From the Dockerfile's runtime
stage it takes the COPY lines, WORKDIR, ENV, USER, CMD and HEALTHCHECK, and then:

- the image's files (its COPY lines) are copied into a tmpfs mounted read-only at /srv, standing
  in for WORKDIR; the installed packages are this virtualenv's, on PATH as in the image;
- /tmp is a fresh empty tmpfs (the Deployment's 32 MiB emptyDir), / is remounted read-only;
- the loopback interface of the empty network namespace is brought up;
- CMD runs as the image's USER with the image's ENV and no HOME, exactly HOST and PORT included;
- once /readyz answers, the requests read from stdin are made, the HEALTHCHECK command is run
  as the image's user, /metrics is scraped; then SIGTERM.

The report (statuses, headers, bodies, the server's output, what /tmp holds) is printed as JSON.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent
WORKDIR_STAND_IN = Path("/srv")  # an empty directory of every Debian system
PROBES = ("/healthz", "/readyz")
TMP_SIZE = "32m"  # deploy/kubernetes/deployment.yaml: emptyDir sizeLimit 32Mi


@dataclass
class Image:
    """What the runtime stage of the Dockerfile says about how the container runs."""

    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    user: str = "root"
    cmd: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    copies: list[tuple[list[str], str]] = field(default_factory=list)


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined: list[str] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        joined.append(current + stripped)
        current = ""
    result = []
    for line in joined:
        word, _, rest = line.partition(" ")
        result.append((word.upper(), rest.strip()))
    return result


def parse_dockerfile(text: str) -> Image:
    """The last stage of a Dockerfile (the runtime image)."""
    image = Image()
    for word, rest in _instructions(text):
        if word == "FROM":
            image = Image()
        elif word == "ENV":
            tokens = shlex.split(rest)
            if tokens and "=" not in tokens[0]:  # the old `ENV KEY value` form
                image.env[tokens[0]] = " ".join(tokens[1:])
            else:
                for token in tokens:
                    key, _, value = token.partition("=")
                    image.env[key] = value
        elif word == "WORKDIR":
            image.workdir = os.path.join(image.workdir, rest)
        elif word == "USER":
            image.user = rest
        elif word == "CMD":
            image.cmd = json.loads(rest)
        elif word == "HEALTHCHECK":
            image.healthcheck = json.loads(rest.split(" CMD ", 1)[1])
        elif word == "COPY":
            tokens = shlex.split(rest)
            if any(token.startswith("--from") for token in tokens):
                continue
            paths = [token for token in tokens if not token.startswith("--")]
            image.copies.append((paths[:-1], paths[-1]))
    return image


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


def _copy_image_files(image: Image, target: Path) -> None:
    """The COPY lines, with the build context being this repository (no __pycache__)."""
    ignore = shutil.ignore_patterns("__pycache__")
    for sources, destination in image.copies:
        for source in sources:
            origin = REPO / source
            goal = target / destination
            if origin.is_dir():
                shutil.copytree(origin, goal, ignore=ignore, dirs_exist_ok=True)
            else:
                if destination.endswith("/"):
                    goal = goal / origin.name
                goal.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, goal)


def _loopback_up() -> None:
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        (flags,) = struct.unpack_from("16xH", fcntl.ioctl(sock, siocgifflags, request))
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sH14x", b"lo", flags | iff_up))


def _http(base: str, method: str, path: str, body: Any) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            status, head, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, head, raw = error.code, error.headers, error.read()
    return {
        "path": path,
        "status": status,
        "content_type": head.get_all("Content-Type"),
        "body": raw.decode("utf-8", errors="replace"),
    }


def _until_every_worker_answered(base: str, master: int, folder: str) -> None:
    """/healthz until each worker has its metric file: all booted, so SIGTERM is acted on."""
    children = Path(f"/proc/{master}/task/{master}/children")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pids = children.read_text().split()
        if pids and all(os.path.exists(f"{folder}/counter_{pid}.db") for pid in pids):
            return
        threads = [
            threading.Thread(target=_http, args=(base, "GET", "/healthz", None)) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def main() -> None:
    plan = json.load(sys.stdin)
    image = parse_dockerfile((REPO / "Dockerfile").read_text(encoding="utf-8"))
    report: dict[str, Any] = {"image": image.__dict__}

    _run("mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", str(WORKDIR_STAND_IN))
    _copy_image_files(image, WORKDIR_STAND_IN)
    _run("mount", "-o", "remount,ro", str(WORKDIR_STAND_IN))
    # The packages stand in for the image's /usr/local: when this checkout (and so its
    # virtualenv) lives under /tmp, as a CI clone may, the empty /tmp would hide them. They are
    # put back at the same path (their scripts name it), read-only, and left out of what /tmp
    # holds below.
    venv = Path(sys.prefix)
    kept = Path("/run/image-run-packages")
    under_tmp = Path("/tmp") in venv.parents
    if under_tmp:
        kept.mkdir(parents=True, exist_ok=True)
        _run("mount", "--bind", str(venv), str(kept))
    _run("mount", "-t", "tmpfs", "-o", f"mode=1777,size={TMP_SIZE}", "tmpfs", "/tmp")
    if under_tmp:
        venv.mkdir(parents=True, exist_ok=True)
        _run("mount", "--bind", str(kept), str(venv))
        _run("mount", "-o", "remount,bind,ro", str(venv))
    _run("mount", "-o", "remount,bind,ro", "/")
    _loopback_up()

    uid = image.user
    as_user = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
    path = f"{Path(sys.executable).parent}:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    env = {**image.env, "PATH": path}
    server = subprocess.Popen(
        [*as_user, *image.cmd],
        cwd=WORKDIR_STAND_IN,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output: list[bytes] = []
    reader = threading.Thread(target=lambda: output.extend(server.stdout or []), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{image.env['PORT']}"
    try:
        report["ready"] = False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if _http(base, "GET", "/readyz", None)["status"] == 200:
                    report["ready"] = True
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        if report["ready"]:
            _until_every_worker_answered(base, server.pid, image.env["PROMETHEUS_MULTIPROC_DIR"])
            report["answers"] = [_http(base, m, p, b) for m, p, b in plan["requests"]]
            check = subprocess.run(
                [*as_user, *image.healthcheck], env=env, cwd=WORKDIR_STAND_IN, timeout=10
            )
            report["healthcheck"] = check.returncode
            if image.env.get("HEALTH_PORT"):
                probes = f"http://127.0.0.1:{image.env['HEALTH_PORT']}"
                report["probe_port"] = [_http(probes, "GET", p, None) for p in PROBES]
                report["service_port"] = [_http(base, "GET", p, None) for p in PROBES]
            report["metrics"] = _http(base, "GET", "/metrics", None)
            report["tmp"] = sorted(
                str(p.relative_to("/tmp"))
                for p in Path("/tmp").rglob("*")
                if not (under_tmp and (p == venv or venv in p.parents or p in venv.parents))
            )
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        try:
            report["exit_code"] = server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            report["exit_code"] = server.wait()
        reader.join(timeout=5)
        report["output"] = b"".join(output).decode("utf-8", errors="replace")
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
