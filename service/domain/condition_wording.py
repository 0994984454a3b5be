"""Conditions in words: as written in a rule file (Markdown, for reviewers) or plain (API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.domain.conditions import COMPARE_LEAF, IN_LEAF, NULL_LEAF, TRI_LEAF

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
