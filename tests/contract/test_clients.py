"""Clients generated from openapi.yaml call every /v1 operation of the real server (examples/).

openapi-python-client and openapi-typescript generate the clients into a temporary folder; the
committed example of each language runs against gunicorn with an API key and must print the
answers the service gives to plain HTTP calls.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT
from tools.live_server import LiveServer, request, start

KEY = "example-client-key-0123456789"
BIN = Path(sys.executable).parent
NODE_BIN = ROOT / "node_modules" / ".bin"
EXAMPLES = ROOT / "examples"
# What both examples send (examples/python/triage_example.py, examples/typescript/...).
INTAKE = {
    "patient": {"age_years": 34},
    "history": {"diabetes": "no", "neuropathy": "unknown", "conservative_care_weeks": None},
    "symptoms": {
        "onset": "injury",
        "pain_location": "midfoot",
        "pain_nrs": 6,
        "steps_immediately": 2,
        "steps_now": 3,
        "tender_5th_mt_base": "yes",
    },
}
EMERGENCY = {"symptoms": {"foot_cold_pale_or_blue": "yes"}}
OUT_OF_RANGE = {"symptoms": {"pain_nrs": 11}}

needs_typescript = pytest.mark.skipif(
    not (NODE_BIN / "tsc").exists() or shutil.which("node") is None,
    reason="node_modules/.bin/tsc is missing: make test installs the npm tools when npm exists",
)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    """One gunicorn worker that asks for an API key, as a deployment would."""
    live = start(env_extra={"TRIAGE_API_KEYS": KEY}, workers=1)
    try:
        live.wait_ready()
        yield live
    finally:
        live.stop()


def _call(server: LiveServer, method: str, path: str, body: Any = None) -> Any:
    status, answer = request(server.base, method, path, body, headers={"X-API-Key": KEY})
    assert status == 200, answer
    return answer


def _summary(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "destination": answer["destination"],
        "urgency": answer["urgency"],
        "level": answer["level"],
        "escalation": answer["escalation"],
        "rules": [entry["rule_id"] for entry in answer["rationale"]],
    }


@pytest.fixture(scope="module")
def expected(server: LiveServer) -> dict[str, Any]:
    """The summary each example must print, from plain HTTP calls to the same server."""
    batch = _call(server, "POST", "/v1/triage/batch", {"intakes": [INTAKE, OUT_OF_RANGE]})
    first, second = batch["results"]
    asked = _call(server, "POST", "/v1/interview", {"max_questions": 7})
    summary = {
        "triage": _summary(_call(server, "POST", "/v1/triage", INTAKE)),
        "emergency": _summary(_call(server, "POST", "/v1/triage", EMERGENCY)),
        "batch": [
            {"index": 0, **_summary(first["result"])},
            {
                "index": 1,
                "status": second["error"]["status"],
                "fields": [error["field"] for error in second["error"]["errors"]],
            },
        ],
        "interview": {
            "status": asked["status"],
            "questions": [question["finding"] for question in asked["questions"]],
            "answer_destination": asked["answer"]["destination"],
        },
        "rules": [rule["id"] for rule in _call(server, "GET", "/v1/rules")["rules"]],
        "questions": [q["finding"] for q in _call(server, "GET", "/v1/questions")["questions"]],
        "contract": "openapi: 3.0.3",
    }
    # Real answers, not just equal ones: the Ottawa rule, an emergency, one bad batch intake.
    assert summary["triage"]["destination"] == "fracture_clinic"
    assert summary["emergency"]["escalation"] == "emergency_department"
    assert summary["triage"]["escalation"] is None
    assert summary["batch"][1] == {"index": 1, "status": 422, "fields": ["symptoms.pain_nrs"]}
    assert summary["interview"]["status"] == "ask"
    assert "DEF" in summary["rules"]
    assert "pain_out_of_proportion" in summary["questions"]
    return summary


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.mark.slow  # generates a client and starts gunicorn
def test_python_client(server: LiveServer, expected: dict[str, Any], tmp_path: Path) -> None:
    """openapi-python-client generates without a warning; the example gets the real answers."""
    output = _run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(ROOT / "openapi.yaml"),
            "--config",
            str(EXAMPLES / "python" / "openapi-python-client.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "forefoot_triage_client"),
        ],
        cwd=tmp_path,
    )
    assert "Warning" not in output, output
    models = {path.stem for path in (tmp_path / "forefoot_triage_client" / "models").glob("*.py")}
    # One class per shared enum: no copy of the yes/no/unknown answer per question.
    assert {"tri_state", "escalation", "json_null"} & models == {"tri_state", "escalation"}
    assert not any("pregnant" in model or "diabetes" in model for model in models)
    example = [sys.executable, str(EXAMPLES / "python" / "triage_example.py"), server.base]
    env = {"PYTHONPATH": str(tmp_path), "TRIAGE_API_KEY": KEY}
    printed = _run(example, cwd=tmp_path, env=env)
    assert json.loads(printed) == expected
    # Without the key every /v1 call is a 401 problem, which the example refuses (it can fail).
    refused = subprocess.run(
        example,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode != 0
    assert "Problem" in refused.stderr


@needs_typescript
@pytest.mark.slow  # generates types, runs tsc and node, starts gunicorn
def test_typescript_client(server: LiveServer, expected: dict[str, Any], tmp_path: Path) -> None:
    """openapi-typescript types pass tsc --strict; the openapi-fetch example gets the answers."""
    for name in ("triage-example.ts", "tsconfig.json", "package.json"):
        shutil.copy(EXAMPLES / "typescript" / name, tmp_path / name)
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    openapi_typescript = [str(NODE_BIN / "openapi-typescript"), str(ROOT / "openapi.yaml")]
    _run([*openapi_typescript, "-o", "schema.d.ts"], cwd=tmp_path)
    tsc = [str(NODE_BIN / "tsc"), "--strict", "-p", "tsconfig.json"]
    assert _run(tsc, cwd=tmp_path) == ""
    printed = _run(
        ["node", "build/triage-example.js", server.base], cwd=tmp_path, env={"TRIAGE_API_KEY": KEY}
    )
    assert json.loads(printed) == expected
    # A misspelt finding in a batch intake no longer compiles: the intakes are typed.
    source = (tmp_path / "triage-example.ts").read_text(encoding="utf-8")
    typo = source.replace("{ symptoms: { pain_nrs: 11 } }", "{ symptoms: { pain_nrz: 11 } }")
    assert typo != source
    (tmp_path / "triage-example.ts").write_text(typo, encoding="utf-8")
    failed = subprocess.run(tsc, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert failed.returncode != 0
    assert "pain_nrz" in failed.stdout
