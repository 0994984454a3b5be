"""Folders the gunicorn master chooses for its workers' shared files (metrics, CDS replay cache)."""

from __future__ import annotations

import os
import shutil
import tempfile

_created: list[str] = []


def choose(variable: str, prefix: str) -> str:
    """The folder named by `variable`; when unset (`make run`), a new private temporary folder,
    then set in the environment so that the preloaded app and the workers use the same one.

    With no writable temporary folder, a fixed path under TMPDIR or /tmp is named anyway: its
    user (metrics, replay cache) finds it unusable, logs that once and degrades as it must.
    """
    chosen = os.environ.get(variable)
    if not chosen:
        try:
            chosen = tempfile.mkdtemp(prefix=f"{prefix}-")
            _created.append(chosen)
        except OSError:
            chosen = os.path.join(os.environ.get("TMPDIR") or "/tmp", prefix)  # noqa: S108
        os.environ[variable] = chosen
    return chosen


def remove_created() -> None:
    """At exit, remove the temporary folders choose() created (none when they were set)."""
    while _created:
        shutil.rmtree(_created.pop(), ignore_errors=True)
