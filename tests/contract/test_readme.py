"""The README and docs/ show what the service does today: every `sh` block of README.md and
docs/*.md is run as written, by bash from the repository root, against the real server started as
`make run` starts it (with the settings of a `NAME=value make run` before it in its section),
only its host and port changed; what it prints is compared with the answer shown after it.

An answer block with no elision mark is the full answer and must be equal, apart from the fresh
`decision_id` or card `uuid`. A block with "…" is trimmed: a "…" value stands for anything, a
string ending in "…" for any string it begins, a list ending in "…" for that list and more items,
and an object may leave keys out. `python -m tools.readme` (run by `make docs`) rewrites every
answer block that no longer matches, in the file where it lives.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tools import live_server
from tools.readme import (
    BASE,
    EXAMPLE_FILES,
    EXAMPLES,
    README,
    ROOT,
    Example,
    Servers,
    agrees,
    converse,
    example_patient,
    is_trimmed,
    printed,
    servers,
)

pytestmark = pytest.mark.system
# The documents' commands use them (.ci/run installs both); without them those tests skip.
needs_shell_tools = pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("jq") is None,
    reason="curl and jq run the documents' commands (apt-get install curl jq; .ci/run does)",
)

RUNNABLE = [example for example in EXAMPLES if example.kind != "make"]
CURLS = [example for example in EXAMPLES if example.kind == "curl"]


def _id(example: Example) -> str:
    return f"{example.name}:{example.request()[1] if example.kind == 'curl' else example.kind}"


@pytest.fixture(scope="module")
def started() -> Iterator[Servers]:
    """The documents' servers, one per set of settings, for the whole module."""
    with servers() as running:
        yield running


@pytest.mark.parametrize("example", RUNNABLE, ids=[_id(e) for e in RUNNABLE])
@needs_shell_tools
def test_every_command_prints_the_answer_shown(started: Servers, example: Example) -> None:
    """Each curl and script of the README and docs/, run as written against the real server,
    prints the answer shown after it (full or trimmed)."""
    assert example.shown is not None, f"{example.name}: {example.text} shows no answer"
    actual = printed(example, started.base(example.env))
    assert agrees(example.shown, actual), f"{example.name}: run make docs\n{str(actual)[:2000]}"


@needs_shell_tools
def test_the_interview_loop_ends_with_the_full_forms_disposition(started: Servers) -> None:
    """The keyboard loop of the README, answered from the README's intake, prints what
    /v1/triage answers on that whole intake."""
    (loop,) = (e for e in EXAMPLES if e.kind == "script")
    base = started.base(loop.env)
    result = converse(loop, base, example_patient())
    intake = json.loads((EXAMPLE_FILES / "triage-request.json").read_text(encoding="utf-8"))
    status, full = live_server.request(base, "POST", "/v1/triage", intake)
    assert status == 200
    assert result == {key: full[key] for key in result}
    assert set(result) == {"destination", "urgency", "level", "setting", "needs_clinician_review"}


def test_every_block_is_a_command_the_tests_run() -> None:
    """Every `sh` block is one curl, `make` targets, or the one interview loop: a new kind of
    command in the documents needs a way to run it here first."""
    kinds = [(e.name, e.kind) for e in EXAMPLES]
    assert [kind for kind in kinds if kind[1] == "script"] == [("README.md", "script")]
    for example in EXAMPLES:
        if example.kind == "make":
            for words in example.commands():
                assert words[-2:] in (["make", "run"], ["make", "test"]), example.text


def test_make_run_starts_the_server_the_tests_run() -> None:
    """`make run` (dry run) ends in the gunicorn command tools/live_server.py starts, at the
    address the documents name."""
    # Without make's own variables: under `make test` they would make this a sub-make, which
    # prints its directory.
    environ = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=environ,
    ).stdout
    command = shlex.split(dry.strip().splitlines()[-1])
    assert command[0].endswith("/gunicorn")
    assert tuple(command[1:]) == live_server.GUNICORN_ARGS
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "HOST ?= 127.0.0.1\nPORT ?= 8000\n" in makefile
    assert BASE == "http://127.0.0.1:8000"


def test_the_examples_are_where_they_belong() -> None:
    """The README shows one /v1/triage example, trimmed; docs/api.md the same intake in full,
    one /v1/interview step, trimmed, then a CDS Hooks call with and without an API key;
    docs/standards.md a $next-question step, then the FHIR and CDS Hooks round trips."""
    by_document: dict[str, list[str]] = {}
    for example in CURLS:
        by_document.setdefault(example.name, []).append(example.request()[1])
    assert by_document["README.md"] == ["/v1/triage"]
    assert by_document["docs/api.md"] == [
        "/v1/triage",
        "/v1/interview",
        "/cds-services/forefoot-triage",
        "/cds-services/forefoot-triage",
    ]
    assert by_document["docs/standards.md"] == [
        "/fhir/Questionnaire/$next-question",
        "/fhir/QuestionnaireResponse/$triage",
        "/cds-services/forefoot-triage",
    ]
    (short,) = (e for e in CURLS if e.name == "README.md")
    (full,) = (e for e in CURLS if e.name == "docs/api.md" and e.request()[1] == "/v1/triage")
    assert short.request() == full.request()
    assert short.shown is not None
    assert is_trimmed(short.shown)
    assert full.shown is not None
    assert not is_trimmed(full.shown)
    keyed = [e for e in CURLS if e.env]
    assert [e.env for e in keyed] == [{"TRIAGE_API_KEYS": "example-key-not-a-secret"}] * 2
    assert [e.request()[2].get("X-API-Key") for e in keyed] == [None, "example-key-not-a-secret"]


def test_every_body_is_a_file_pasted_by_name() -> None:
    """A curl sends its body from docs/examples/ (`--data @file`, from the repository root),
    never a long quoted JSON; every file there is used and is JSON."""
    used = set()
    for example in CURLS:
        words = example.commands()[0]
        if "--data" in words:
            reference = words[words.index("--data") + 1]
            assert reference.startswith("@docs/examples/"), example.text
            used.add(reference[1:])
        assert "-d" not in words, example.text
        assert len(example.text) < 250, f"{example.name}: put the body in docs/examples/"
    files = {path.relative_to(ROOT).as_posix() for path in EXAMPLE_FILES.glob("*")}
    assert used == files
    for name in files:
        json.loads((ROOT / name).read_text(encoding="utf-8"))


@needs_shell_tools
def test_the_fhir_and_cds_answers_shown_lead_with_the_real_ones(started: Servers) -> None:
    """The GuidanceResponse status and the card summary shown are the ones answered now."""
    shown = {
        e.request()[1]: (json.loads(e.shown or "{}"), printed(e, started.base(e.env)))
        for e in CURLS
        if e.name == "docs/standards.md"
    }
    guidance, real_guidance = shown["/fhir/QuestionnaireResponse/$triage"]
    cds, real_cds = shown["/cds-services/forefoot-triage"]
    assert guidance["status"] == real_guidance["status"]
    assert cds["cards"][0]["summary"] == real_cds["cards"][0]["summary"]


def test_readme_shows_the_two_commands() -> None:
    """make run and make test, as the developers' guide requires."""
    assert "make run" in README
    assert "make test" in README


def test_readme_links_every_document_in_docs() -> None:
    """A newcomer finds every document from the README."""
    for document in (ROOT / "docs").glob("*.md"):
        assert f"](docs/{document.name})" in README, document.name
