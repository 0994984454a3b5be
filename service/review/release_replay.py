"""Replay intakes through the rules of one release, in this process or through its own code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.domain.assessor import Triage
from service.domain.intake_validator import validate_intake
from service.exceptions import TriageError

# Run inside the other release's source tree: its own vocabulary, loader, engine and decision.
# Findings that release did not know are left out (they did not exist then: read as unknown).
_CHILD = r"""
import json, sys
try:  # the layered packages (2027.2 and later)
    from service.domain.assessor import Triage
    from service.domain.findings import FINDINGS
    from service.domain.intake_validator import validate_intake
    from service.domain.ruleset_loader import load_ruleset
except ImportError:  # a release from before them: the flat service/ modules
    from service.findings import FINDINGS
    from service.ruleset import load_ruleset
    from service.triage import Triage
    from service.validation import validate_intake

request = json.load(sys.stdin)
triage = Triage(load_ruleset(request["rules"]))
results = []
for intake in request["intakes"]:
    kept = {
        group: {name: value for name, value in (answers or {}).items() if name in FINDINGS}
        for group, answers in intake.items()
    }
    answer = triage.assess(validate_intake(kept), decision_id="diff")
    if isinstance(answer, dict):  # a release whose assessment is the wire answer itself
        results.append({
            "level": answer["level"],
            "urgency": answer["urgency"],
            "destination": answer.get("destination"),
            "setting": answer.get("setting"),
            "fired": [entry["rule_id"] for entry in answer["rationale"]],
        })
    else:  # a typed Assessment (2027.2 and later)
        results.append({
            "level": answer.level,
            "urgency": answer.urgency,
            "destination": answer.destination,
            "setting": answer.setting,
            "fired": list(answer.fired),
        })
rules = triage.ruleset.rules + (triage.ruleset.default,)
json.dump({
    "version": triage.ruleset.version,
    "sha256": triage.ruleset.sha256,
    "rules": {rule.id: rule.version for rule in rules},
    "results": results,
}, sys.stdout)
"""


@dataclass(frozen=True)
class Outcome:
    """What one release answered for one intake."""

    level: str
    urgency: str
    destination: str | None
    setting: str | None
    fired: tuple[str, ...]


@dataclass(frozen=True)
class ReleaseReplay:
    """A release's identity, its rule versions, and its outcome for each intake in order."""

    version: str
    sha256: str
    rules: Mapping[str, int]
    outcomes: tuple[Outcome, ...]


def _outcome(raw: Mapping[str, Any]) -> Outcome:
    return Outcome(
        raw["level"], raw["urgency"], raw["destination"], raw["setting"], tuple(raw["fired"])
    )


def replay_here(triage: Triage, intakes: Sequence[Mapping[str, Any]]) -> ReleaseReplay:
    """This code and this triage's rules."""
    outcomes = []
    for intake in intakes:
        answer = triage.assess(validate_intake(intake), decision_id="diff")
        outcomes.append(
            Outcome(answer.level, answer.urgency, answer.destination, answer.setting, answer.fired)
        )
    ruleset = triage.ruleset
    return ReleaseReplay(
        ruleset.version,
        ruleset.sha256,
        {rule.id: rule.version for rule in (*ruleset.rules, ruleset.default)},
        tuple(outcomes),
    )


def replay_release(code: Path, rules: Path, intakes: Sequence[Mapping[str, Any]]) -> ReleaseReplay:
    """Another release's source tree (for example a git worktree of its commit) and rules."""
    layouts = (code / "service" / "domain" / "assessor.py", code / "service" / "triage.py")
    if not any(path.is_file() for path in layouts):
        raise TriageError(f"{code}: not a forefoot-triage source tree")
    request = json.dumps({"rules": str(rules.resolve()), "intakes": list(intakes)})
    env = {**os.environ, "PYTHONPATH": str(code.resolve())}
    done = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-c", _CHILD],
        input=request,
        capture_output=True,
        text=True,
        cwd=code,
        env=env,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise TriageError(f"{code}: the release's own replay failed: {last}")
    data = json.loads(done.stdout)
    return ReleaseReplay(
        data["version"],
        data["sha256"],
        data["rules"],
        tuple(_outcome(raw) for raw in data["results"]),
    )
