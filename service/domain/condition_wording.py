"""Conditions in words: a parsed condition in the question wording (pages, catalogue), or as
written in a rule file, plain (API)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.domain.conditions import (
    COMPARE_LEAF,
    IN_LEAF,
    NULL_LEAF,
    TRI_LEAF,
    All,
    Any_,
    Compare,
    IsNull,
    Node,
    Not,
    parse,
)
from service.domain.findings import FINDINGS, Question
from service.domain.ruleset import Rule

_WORD_OPS = {"==": "is", "!=": "is not", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}


def _leaf_words(text: str) -> str:
    text = text.strip()
    if match := TRI_LEAF.match(text):
        func, name = match.groups()
        return f"`{name}` is yes" if func == "Y" else f"(`{name}` is yes or unknown)"
    if match := NULL_LEAF.match(text):
        name, negation = match.groups()
        return f"`{name}` is " + ("known" if negation else "unknown")
    if match := IN_LEAF.match(text):
        name, items = match.groups()
        return f"(`{name}` is " + " or ".join(item.strip() for item in items.split(",")) + ")"
    if match := COMPARE_LEAF.match(text):
        name, op, value = match.groups()
        return f"`{name}` {_WORD_OPS[op]} {value}"
    return f"**{text}**"  # a helper


def _words(tree: Any) -> str:
    if isinstance(tree, str):
        return _leaf_words(tree)
    ((operator, operand),) = tree.items()
    if operator == "not":
        inner = _words(operand)
        return f"not {inner}" if inner.startswith(("(", "**")) else f"not ({inner})"
    joiner = " and " if operator == "all" else " or "
    parts = [_words(child) for child in operand]
    return f"({joiner.join(parts)})" if len(parts) > 1 else parts[0]


def describe(tree: Any) -> str:
    """A parsed-valid condition as written in the rule file, in words (Markdown) for reviewers."""
    text = _words(tree)
    return (
        text[1:-1]
        if text.startswith("(") and text.endswith(")") and _balanced(text[1:-1])
        else text
    )


def _expand(tree: Any, helpers: Mapping[str, Any]) -> Any:
    if isinstance(tree, str):
        name = tree.strip()
        return _expand(helpers[name], helpers) if name in helpers else tree
    if isinstance(tree, dict):
        return {key: _expand(value, helpers) for key, value in tree.items()}
    return [_expand(child, helpers) for child in tree]


def describe_plain(tree: Any, helpers: Mapping[str, Any]) -> str:
    """A condition in plain words for API clients: helpers spelt out, no Markdown."""
    return describe(_expand(tree, helpers)).replace("`", "").replace("**", "")


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


@dataclass(frozen=True)
class Phrase:
    """A condition in words: a leaf's sentence, or a grouping ("all of", "any of", "none of",
    "not all of", "not") over its parts; `helper` names the manifest helper it spells out."""

    text: str
    parts: tuple[Phrase, ...] = ()
    helper: str | None = None


_SYMBOLS = {"==": "is", "!=": "is not", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}


def helper_nodes(source: Mapping[str, Any]) -> dict[str, Node]:
    """The manifest's helpers parsed, in order (a helper may name an earlier one)."""
    helpers: dict[str, Node] = {}
    for name, tree in source.items():
        helpers[name] = parse(tree, helpers)
    return helpers


class _Wording:
    """Words a parsed condition with the questions' labels and names the helpers it uses."""

    def __init__(self, questions: Mapping[str, Question], helpers: Mapping[str, Node]) -> None:
        self.questions = questions
        self.names = {node: name for name, node in helpers.items()}

    def label(self, finding: str) -> str:
        question = self.questions.get(finding)
        return question.label if question is not None else finding

    def leaf(self, node: Compare | IsNull) -> str:
        label = self.label(node.finding)
        if isinstance(node, IsNull):
            return f"{label} is {'known' if node.negated else 'unknown'}"
        if isinstance(node.value, int):
            return f"{label} {_SYMBOLS[node.op]} {node.value}"
        value = node.value.replace("_", " ")
        if FINDINGS[node.finding].kind == "tri_state" and (node.op, node.value) == ("!=", "no"):
            return f"{label} is yes or unknown"
        return f"{label} {_SYMBOLS[node.op]} {value}"

    def one_of(self, node: Any_) -> str | None:
        """`x in [a, b]` as written: one word answer among several."""
        leaves = [child for child in node.children if isinstance(child, Compare)]
        if len(leaves) != len(node.children) or len({leaf.finding for leaf in leaves}) != 1:
            return None
        if any(leaf.op != "==" or isinstance(leaf.value, int) for leaf in leaves):
            return None
        values = [str(leaf.value).replace("_", " ") for leaf in leaves]
        head = ", ".join(values[:-1])
        return f"{self.label(leaves[0].finding)} is {head} or {values[-1]}"

    def phrase(self, node: Node, own: str | None = None) -> Phrase:
        name = self.names.get(node)
        helper = name if name != own else None
        if isinstance(node, Compare | IsNull):
            return Phrase(self.leaf(node), helper=helper)
        if isinstance(node, Any_) and (words := self.one_of(node)) is not None:
            return Phrase(words, helper=helper)
        if isinstance(node, Not):
            child = node.child
            if isinstance(child, All | Any_) and child not in self.names:
                text = "none of" if isinstance(child, Any_) else "not all of"
                return Phrase(text, self.parts(child), helper)
            return Phrase("not", (self.phrase(child),), helper)
        if len(node.children) == 1:
            inner = self.phrase(node.children[0])
            return Phrase(inner.text, inner.parts, helper or inner.helper)
        return Phrase("all of" if isinstance(node, All) else "any of", self.parts(node), helper)

    def parts(self, node: All | Any_) -> tuple[Phrase, ...]:
        return tuple(self.phrase(child) for child in node.children)


def phrase(
    node: Node,
    questions: Mapping[str, Question],
    helpers: Mapping[str, Node],
    own: str | None = None,
) -> Phrase:
    """A parsed condition in the question wording: each finding by its label, each helper
    spelt out and named (except `own`, the helper being defined)."""
    return _Wording(questions, helpers).phrase(node, own)


def rule_phrase(
    rule: Rule, questions: Mapping[str, Question], helpers: Mapping[str, Node]
) -> Phrase:
    """A rule's condition in words; the default rule's is that no other rule fired."""
    if rule.when is None:
        return Phrase("no other rule fired")
    return phrase(rule.when, questions, helpers)


_MARKDOWN_SPECIAL = str.maketrans({char: "\\" + char for char in "\\`*_[]#|"})
_MARKDOWN_TAG = re.compile(r"<(?=[A-Za-z/!?])")  # '< 4' is text; '<b' would be HTML


def markdown_escape(text: str) -> str:
    """Text that Markdown shows as written (no emphasis, code, links or HTML)."""
    return _MARKDOWN_TAG.sub(r"\\<", text.translate(_MARKDOWN_SPECIAL))


def _markdown_text(part: Phrase) -> str:
    text = markdown_escape(part.text)
    return f"{text} (helper {part.helper})" if part.helper else text


def markdown(part: Phrase, indent: int = 0) -> list[str]:
    """A phrase as a Markdown list item (groupings as nested lists), for docs/rules.md."""
    pad = "  " * indent
    if not part.parts:
        return [f"{pad}- {_markdown_text(part)}"]
    lines = [f"{pad}- {_markdown_text(part)}:"]
    for child in part.parts:
        lines += markdown(child, indent + 1)
    return lines


def plain(part: Phrase) -> str:
    """A phrase on one line, without helper names: 'all of (A; any of (B; C))'."""
    if not part.parts:
        return part.text
    return f"{part.text} (" + "; ".join(plain(child) for child in part.parts) + ")"
