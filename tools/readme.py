"""The documentation's commands: every `sh` block of the README and docs/, with the answer shown
after it, run as written against the real service (gunicorn as `make run` starts it, on a free
port: only the host and port are changed). `python -m tools.readme` (`make docs`) rewrites the
answers that are no longer the service's; tests/contract/test_readme.py runs each and compares."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tools import live_server

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
# Request bodies too long to paste on one line live here, sent with `curl --data @file` from the
# repository root (where `make run` is typed).
EXAMPLE_FILES = ROOT / "docs" / "examples"
# `make run`'s address (the Makefile's HOST and PORT): the one host the documents name.
BASE = "http://127.0.0.1:8000"
ELIDED = "\u2026"
# Fields that differ on every call: never compared, never rewritten.
VOLATILE = frozenset({"decision_id", "uuid"})
WIDTH = 100
FENCE = re.compile(r"^```(\w*)\n(.*?)\n```$", re.MULTILINE | re.DOTALL)
SECTION = re.compile(r"^## ", re.MULTILINE)
SECONDS = 60


@dataclass(frozen=True)
class Example:
    """One `sh` block of a document, the answer block right after it (if any), and the settings
    of the `make run` before it in its section."""

    document: Path
    text: str
    shown: str | None
    span: tuple[int, int] | None
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """Where it is, for test ids and messages."""
        return self.document.relative_to(ROOT).as_posix()

    def commands(self) -> list[list[str]]:
        """Each line of the block as words, comments and blank lines dropped; none when a line
        is not a whole command (a script: a quote or a loop spans lines)."""
        try:
            lines = [shlex.split(line, comments=True) for line in self.text.splitlines()]
        except ValueError:
            return []
        return [words for words in lines if words]

    @property
    def kind(self) -> str:
        """ "curl": one curl; "make": `make` targets, settings before them; else "script"."""
        commands = self.commands()
        if not commands:
            return "script"
        if len(commands) == 1 and commands[0][0] == "curl":
            return "curl"
        if all(_make_target(words) is not None for words in commands):
            return "make"
        return "script"

    @property
    def curl(self) -> str:
        """The block's one curl line."""
        assert self.kind == "curl", self.text
        return self.text.strip()

    def request(self) -> tuple[str, str, dict[str, str], str | None]:
        """Method, path, headers and body (the file's text for `@file`), as curl sends them."""
        words = iter(self.commands()[0][1:])
        method, url, headers, body = None, None, {}, None
        for word in words:
            if word == "-X":
                method = next(words)
            elif word == "-H":
                key, _, value = next(words).partition(":")
                headers[key.strip()] = value.strip()
            elif word in ("-d", "--data"):
                body = next(words)
                if body.startswith("@"):
                    body = (ROOT / body[1:]).read_text(encoding="utf-8")
            elif word.startswith("http"):
                url = word
            else:
                assert word == "-s", f"{self.name}: curl option {word} is not understood here"
        assert url is not None, self.text
        path = re.sub(r"^https?://[^/]+", "", url)
        return method or ("POST" if body is not None else "GET"), path, headers, body


def _make_target(words: list[str]) -> tuple[dict[str, str], str] | None:
    """(settings, target) of `[NAME=value ...] make target`, or None for another command."""
    settings = {}
    for index, word in enumerate(words):
        name, equals, value = word.partition("=")
        if equals and re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
            settings[name] = value
        elif word == "make" and len(words) == index + 2:
            return settings, words[index + 1]
        else:
            return None
    return None


def examples(document: Path) -> list[Example]:
    """Every `sh` block of one document, each with the answer block that follows it and the
    settings of the last `make run` before it in the same `##` section."""
    text = document.read_text(encoding="utf-8")
    fences = list(FENCE.finditer(text))
    sections = [match.start() for match in SECTION.finditer(text)]
    found: list[Example] = []
    env: dict[str, str] = {}
    section = -1
    for index, fence in enumerate(fences):
        if fence[1] != "sh":
            continue
        here = sum(1 for start in sections if start < fence.start())
        if here != section:
            env, section = {}, here
        example = Example(document, fence[2], None, None, dict(env))
        after = fences[index + 1] if index + 1 < len(fences) else None
        if (
            example.kind != "make"
            and after is not None
            and after[1] in ("json", "text")
            and after[2].startswith("{")
        ):
            example = Example(document, fence[2], after[2], after.span(2), dict(env))
        found.append(example)
        if example.kind == "make":
            for words in example.commands():
                made = _make_target(words)
                if made is not None and made[1] == "run":
                    env = made[0]
    return found


EXAMPLES = [example for document in DOCUMENTS for example in examples(document)]


class Servers:
    """Real servers started as `make run` starts them, one per set of settings, on free ports."""

    def __init__(self) -> None:
        self._running: dict[frozenset[tuple[str, str]], live_server.LiveServer] = {}

    def base(self, env: Mapping[str, str]) -> str:
        """The base URL of a server with exactly these settings added, started the first time."""
        key = frozenset(env.items())
        if key not in self._running:
            server = live_server.start(dict(env), workers=1)
            self._running[key] = server
            server.wait_ready()
        return self._running[key].base

    def stop(self) -> None:
        """Stop every server started."""
        for server in self._running.values():
            server.stop()
        self._running.clear()


@contextmanager
def servers() -> Iterator[Servers]:
    """Servers for the examples, all stopped at the end."""
    started = Servers()
    try:
        yield started
    finally:
        started.stop()


def pointed_at(example: Example, base: str) -> str:
    """The block as written, `make run`'s address replaced by the server's: nothing else."""
    hosts = set(re.findall(r"https?://[^/\s'\"]+", example.text))
    assert hosts <= {BASE}, f"{example.name}: a command names {hosts - {BASE}}, not {BASE}"
    return example.text.replace(BASE, base)


def run(example: Example, base: str) -> str:
    """What the block prints, run by bash from the repository root against the server at base."""
    done = subprocess.run(
        ["bash", "-c", pointed_at(example, base)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"{example.name}: exit {done.returncode}: {done.stderr}"
    return done.stdout


def answer(example: Example, base: str) -> Any:
    """The JSON the curl example prints."""
    return json.loads(run(example, base))


def converse(example: Example, base: str, patient: Mapping[str, Any]) -> Any:
    """Run an interactive block (the interview loop) as a patient at the keyboard would: each
    question it prints (its label) is answered from `patient` (finding: value; none: an empty
    line, unknown) until it prints its JSON result, which is returned."""
    _, catalogue = live_server.request(base, "GET", "/v1/questions")
    by_label = {question["label"]: question["finding"] for question in catalogue["questions"]}
    assert len(by_label) == len(catalogue["questions"]), "two questions share a label"
    with subprocess.Popen(
        ["bash", "-c", pointed_at(example, base)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        timer = threading.Timer(SECONDS, process.kill)
        timer.start()
        try:
            output = _answer_questions(process.stdin, process.stdout, by_label, patient)
        finally:
            timer.cancel()
            process.stdin.close()
        assert process.wait() == 0, f"{example.name}: the loop failed"
    return json.loads(output)


def _answer_questions(
    keyboard: IO[str], screen: IO[str], by_label: Mapping[str, str], patient: Mapping[str, Any]
) -> str:
    """Answer each question line the loop prints; what it prints after the last question."""
    for line in screen:
        if line.startswith("{"):
            return line + screen.read()
        label = line.rstrip("\n").rsplit(" [", 1)[0]
        value = patient.get(by_label[label])
        keyboard.write(("" if value is None else f"{value}") + "\n")
        keyboard.flush()
    raise AssertionError("the loop printed no result")


def example_patient() -> dict[str, Any]:
    """The README's intake (docs/examples/triage-request.json), finding by finding."""
    intake = json.loads((EXAMPLE_FILES / "triage-request.json").read_text(encoding="utf-8"))
    return {finding: value for group in intake.values() for finding, value in group.items()}


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


def printed(example: Example, base: str) -> Any:
    """The JSON a block prints: a curl's answer, or the interview loop's result for the README's
    patient."""
    if example.kind == "script":
        return converse(example, base, example_patient())
    return answer(example, base)


def regenerate() -> None:
    """Rewrite every answer block that is no longer what the service prints (`make docs`), in
    the README and in docs/, leaving those that still agree as they are laid out."""
    with servers() as started:
        for document in DOCUMENTS:
            text = document.read_text(encoding="utf-8")
            stale = []
            for example in examples(document):
                if example.shown is None or example.span is None:
                    continue
                actual = printed(example, started.base(example.env))
                if not agrees(example.shown, actual):
                    stale.append((example.span, regenerated(example.shown, actual)))
            for (start, end), block in sorted(stale, reverse=True):
                text = text[:start] + block + text[end:]
            if stale:
                document.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    regenerate()
