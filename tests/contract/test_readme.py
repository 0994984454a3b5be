"""The README and docs/ show what the service answers today: every curl in README.md and in
docs/*.md is posted as written, and the answer shown after it is checked against the real one.

An answer block with no elision mark is the full answer (the /v1/triage example in docs/api.md)
and must be equal, apart from the fresh `decision_id`. A block with "…" is trimmed: a "…" value
stands for anything, a string ending in "…" for any string it begins, a list ending in "…" for
that list and more items, and an object may leave keys out. `python -m tools.readme` (run by
`make docs`) rewrites every answer block that no longer matches, in the file where it lives.
"""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from tools.readme import (
    EXAMPLES,
    README,
    ROOT,
    Example,
    agrees,
    answer,
    is_trimmed,
)


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"{e.name}:{e.request()[1]}" for e in EXAMPLES])
def test_every_curl_example_pastes_as_written(client: FlaskClient, example: Example) -> None:
    """Each curl in the README and docs/ is answered 200, and the answer shown after it (full or
    trimmed) is what the service answers now."""
    status, actual = answer(client, example)
    assert status == 200, example.curl
    if example.shown is not None:
        assert agrees(example.shown, actual), f"{example.name}: run make docs"


def test_the_examples_are_where_they_belong() -> None:
    """The README shows one /v1/triage example, trimmed; docs/api.md the same intake in full,
    then one /v1/interview step, trimmed; docs/standards.md a $next-question step, then the FHIR
    and CDS Hooks round trips."""
    by_document: dict[str, list[str]] = {}
    for example in EXAMPLES:
        assert example.shown is not None, f"{example.name}: {example.curl} shows no answer"
        by_document.setdefault(example.name, []).append(example.request()[1])
    assert by_document["README.md"] == ["/v1/triage"]
    assert by_document["docs/api.md"] == ["/v1/triage", "/v1/interview"]
    assert by_document["docs/standards.md"] == [
        "/fhir/Questionnaire/$next-question",
        "/fhir/QuestionnaireResponse/$triage",
        "/cds-services/forefoot-triage",
    ]
    (short,) = (e for e in EXAMPLES if e.name == "README.md")
    (full,) = (e for e in EXAMPLES if e.name == "docs/api.md" and e.request()[1] == "/v1/triage")
    assert short.request() == full.request()
    assert short.shown is not None
    assert is_trimmed(short.shown)
    assert full.shown is not None
    assert not is_trimmed(full.shown)


def test_the_fhir_and_cds_answers_shown_lead_with_the_real_ones(client: FlaskClient) -> None:
    """The GuidanceResponse status and the card summary shown are the ones answered now."""
    shown = {e.request()[1]: (json.loads(e.shown or "{}"), answer(client, e)[1]) for e in EXAMPLES}
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
