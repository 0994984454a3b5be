"""Every problem message written as a literal in service/ is a template of the English catalogue.

The translator of problem messages (service/domain/problem_text.py) leaves a sentence it does not
know in English, by design: it must never fail an answer. The pseudo-locale tests prove it for
the requests they make; this proves it for every literal message in the code, whether a test
reaches it or not, so a new English sentence cannot slip past the locale files.
"""

from __future__ import annotations

import ast

from service.config import ROOT
from service.domain.problem_text import _SENTENCE, _pattern
from tests.helpers import shipped_ruleset

# Exceptions and builders whose message becomes a problem's detail (or title) for a client.
# Internal errors (StateError, InterviewMismatch, RulesetError, ...) are never shown as such.
_CLIENT_FACING = frozenset(
    {
        "problem",
        "problem_body",
        "raw_problem",
        "ServerProblem",
        "operation_outcome",
        "write_problem",
        "ResponseError",
        "TokenRejected",
        "BadRequestBody",
        "UnencodableBody",
        "UnsupportedMediaType",
        "RequestEntityTooLarge",
        "RequestTimeout",
        "NotFound",
        "NotAcceptable",
        "Unauthorized",
        "Forbidden",
        "BadRequest",
        "MethodNotAllowed",
        "QuestionnaireError",
        "FetchFailed",
        "_NoPrefetch",
        "_unavailable",
        "_Invalid",
    }
)
_MESSAGE_KEYWORDS = ("description", "detail", "message", "title")


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _literal_messages() -> list[tuple[str, str]]:
    """(where, sentence) of every literal sentence given to a client-facing problem."""
    found = []
    for path in sorted((ROOT / "service").rglob("*.py")):
        if "review" in path.parts:  # the rule-review tools print reports, never answer clients
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or _called(node) not in _CLIENT_FACING:
                continue
            values = [*node.args, *(k.value for k in node.keywords if k.arg in _MESSAGE_KEYWORDS)]
            for value in values:
                # A code ("structure", "expired") has no space; a message has.
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    if " " in value.value:
                        where = f"{path.relative_to(ROOT)}:{node.lineno}"
                        found += [(where, part) for part in _SENTENCE.split(value.value)]
    return found


def test_every_literal_problem_message_is_in_the_catalogue() -> None:
    """A sentence that is not a `problem.*` template would reach a Spanish patient in English."""
    texts = shipped_ruleset().texts
    templates = [_pattern(text) for key, text in texts.items() if key.startswith("problem.")]
    messages = _literal_messages()
    assert len(messages) > 40, "the scan found too few messages to mean anything"
    missing = [
        f"{where}: {sentence!r}"
        for where, sentence in messages
        if not any(template.fullmatch(sentence) for template in templates)
    ]
    assert not missing, "problem messages missing from the locale catalogue:\n" + "\n".join(missing)
