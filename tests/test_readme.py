"""The README and docs/ show what the service answers today: every curl in README.md and in
docs/*.md is posted as written, and the answer shown after it is checked against the real one.

An answer block with no elision mark is the full answer (the /v1/triage example in docs/api.md)
and must be equal, apart from the fresh `decision_id`. A block with "…" is trimmed: a "…" value
stands for anything, a string ending in "…" for any string it begins, a list ending in "…" for
that list and more items, and an object may leave keys out. `python -m tests.test_readme` (run by
`make docs`) rewrites every answer block that no longer matches, in the file where it lives.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
ELIDED = "\u2026"
# Fields that differ on every call: never compared, never rewritten.
VOLATILE = frozenset({"decision_id", "uuid"})
WIDTH = 100
FENCE = re.compile(r"^```(\w*)\n(.*?)\n```$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Example:
    """One curl line of a document, and the answer block right after its `sh` block, if any."""

    document: Path
    curl: str
    shown: str | None
    span: tuple[int, int] | None

    @property
    def name(self) -> str:
        """Where it is, for test ids and messages."""
        return self.document.relative_to(ROOT).as_posix()

    def request(self) -> tuple[str, str, dict[str, str], str | None]:
        """Method, path, headers and body, as curl would send them."""
        words = iter(shlex.split(self.curl)[1:])
        method, url, headers, body = None, None, {}, None
        for word in words:
            if word == "-X":
                method = next(words)
            elif word == "-H":
                key, _, value = next(words).partition(":")
                headers[key.strip()] = value.strip()
            elif word in ("-d", "--data"):
                body = next(words)
            elif word.startswith("http"):
                url = word
            else:
                assert word == "-s", f"{self.name}: curl option {word} is not understood here"
        assert url is not None, self.curl
        path = re.sub(r"^https?://[^/]+", "", url)
        return method or ("POST" if body is not None else "GET"), path, headers, body


def examples(document: Path) -> list[Example]:
    """Every curl of one document, each with the answer block that follows it."""
    text = document.read_text(encoding="utf-8")
    fences = list(FENCE.finditer(text))
    found = []
    for index, fence in enumerate(fences):
        curls = [line for line in fence[2].splitlines() if line.startswith("curl ")]
        if fence[1] != "sh" or not curls:
            continue
        after = fences[index + 1] if index + 1 < len(fences) else None
        answered = after is not None and after[1] in ("json", "text") and after[2].startswith("{")
        if answered and len(curls) == 1:
            assert after is not None
            found.append(Example(document, curls[0], after[2], after.span(2)))
        else:
            found.extend(Example(document, curl, None, None) for curl in curls)
    return found


EXAMPLES = [example for document in DOCUMENTS for example in examples(document)]


def answer(client: FlaskClient, example: Example) -> tuple[int, Any]:
    """Send the example's request; the status and the JSON answer."""
    method, path, headers, body = example.request()
    response = client.open(path, method=method, headers=headers, data=body)
    return response.status_code, response.get_json(force=True, silent=True)


def is_trimmed(shown: str) -> bool:
    """A block with an elision mark shows part of the answer."""
    return ELIDED in shown


def matches(shown: Any, actual: Any) -> bool:
    """Whether a trimmed block's value agrees with the real answer (rules in the docstring)."""
    if shown == ELIDED:
        return True
    if isinstance(shown, str) and shown.endswith(ELIDED):
        return isinstance(actual, str) and actual.startswith(shown[:-1])
    if isinstance(shown, dict):
        return isinstance(actual, dict) and all(
            key in actual and (key in VOLATILE or matches(value, actual[key]))
            for key, value in shown.items()
        )
    if isinstance(shown, list):
        if not isinstance(actual, list):
            return False
        if shown and shown[-1] == ELIDED:
            head = shown[:-1]
            return len(actual) >= len(head) and all(map(matches, head, actual))
        return len(shown) == len(actual) and all(map(matches, shown, actual))
    return bool(shown == actual)


def agrees(shown: str, actual: Any) -> bool:
    """The shown block is the real answer: equal when full, matching when trimmed."""
    value = json.loads(shown)
    if is_trimmed(shown):
        return matches(value, actual)
    volatile = VOLATILE & set(actual)
    return {k: v for k, v in value.items() if k not in volatile} == {
        k: v for k, v in actual.items() if k not in volatile
    }


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
    then one /v1/interview step, trimmed; docs/standards.md the FHIR and CDS Hooks round trips."""
    by_document: dict[str, list[str]] = {}
    for example in EXAMPLES:
        assert example.shown is not None, f"{example.name}: {example.curl} shows no answer"
        by_document.setdefault(example.name, []).append(example.request()[1])
    assert by_document["README.md"] == ["/v1/triage"]
    assert by_document["docs/api.md"] == ["/v1/triage", "/v1/interview"]
    assert by_document["docs/standards.md"] == [
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


def retrim(shown: Any, actual: Any) -> Any:
    """The real answer cut to the shape of a trimmed block (the inverse of `matches`)."""
    if shown == ELIDED:
        return ELIDED
    if isinstance(shown, str) and shown.endswith(ELIDED) and isinstance(actual, str):
        return actual[: len(shown) - 1] + ELIDED
    if isinstance(shown, dict) and isinstance(actual, dict):
        return {
            key: value if key in VOLATILE else retrim(value, actual[key])
            for key, value in shown.items()
            if key in actual
        }
    if isinstance(shown, list) and isinstance(actual, list):
        if shown and shown[-1] == ELIDED:
            head = [retrim(s, a) for s, a in zip(shown[:-1], actual, strict=False)]
            return [*head, ELIDED] if len(actual) > len(head) else head
        if len(shown) == len(actual):
            return [retrim(s, a) for s, a in zip(shown, actual, strict=True)]
    return actual


def compact(value: Any, indent: int = 0, lead: int = 0) -> str:
    """JSON with each value on one line when it fits in WIDTH columns."""
    one = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, dict | list) or not value or indent + lead + len(one) <= WIDTH:
        return one
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            name = json.dumps(key, ensure_ascii=False) + ": "
            lines.append(pad + name + compact(item, indent + 2, len(name)))
        return "{\n" + ",\n".join(lines) + "\n" + " " * indent + "}"
    lines = [pad + compact(item, indent + 2) for item in value]
    return "[\n" + ",\n".join(lines) + "\n" + " " * indent + "]"


def regenerated(shown: str, actual: Any) -> str:
    """The block to show for this answer: the full answer (keeping the shown decision_id), or the
    answer trimmed as the block was."""
    value = json.loads(shown)
    if is_trimmed(shown):
        return compact(retrim(value, actual))
    for key in VOLATILE & set(value) & set(actual):
        actual[key] = value[key]
    return json.dumps(actual, indent=4, ensure_ascii=False)


def regenerate() -> None:
    """Rewrite every answer block that is no longer what the service answers (`make docs`), in
    the README and in docs/, leaving those that still agree as they are laid out."""
    from service import create_app

    client = create_app().test_client()
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        stale = []
        for example in examples(document):
            if example.shown is None or example.span is None:
                continue
            actual = answer(client, example)[1]
            if not agrees(example.shown, actual):
                stale.append((example.span, regenerated(example.shown, actual)))
        for (start, end), block in sorted(stale, reverse=True):
            text = text[:start] + block + text[end:]
        if stale:
            document.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    regenerate()
