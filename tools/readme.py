"""The documentation's examples: every curl in the README and docs/ with the answer shown after
it; `python -m tools.readme` (`make docs`) rewrites the answers that are no longer the service's.
tests/contract/test_readme.py posts each example and compares."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parent.parent
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
