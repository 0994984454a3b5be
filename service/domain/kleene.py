"""Three-valued (Kleene) evaluation of parsed rule conditions over a partial intake (NOT_ASKED).

A finding not asked yet may still take any answer its question allows (yes, no, unknown, any
number in range, null), so every leaf that reads it is unknown; all/any/not combine true, false
and unknown as Kleene's strong logic does. The result is sound: a condition that evaluates to
True here is true under every completion of the intake, one that evaluates to False is false
under every completion. `residual` also returns what is still undecided, simplified, so the
findings that can still change a condition are exactly those its residual reads.

Answered findings are read exactly as the compiled predicates of service.conditions read the
facts of service.facts: a yes/no/unknown or choice finding answered null is "unknown", a number
answered null is None, and a comparison with an unknown number is false.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any, Final

from service.domain.conditions import All, Any_, Compare, IsNull, Node, Not


class NotAsked:
    """The value of a finding that has not been asked yet (one instance: NOT_ASKED)."""

    _instance: NotAsked | None = None

    def __new__(cls) -> NotAsked:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_ASKED"


NOT_ASKED: Final = NotAsked()

# finding -> its answer in build_facts form, or NOT_ASKED (a missing key is NOT_ASKED too)
PartialFacts = Mapping[str, Any]
Residual = bool | Node  # True, False, or the part of the condition still undecided

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _leaf(node: Compare | IsNull, value: Any) -> bool:
    """A leaf over an answered finding, exactly as service.conditions compiles it."""
    if isinstance(node, IsNull):
        return (value is None) != node.negated
    if isinstance(node.value, int):
        return value is not None and _OPS[node.op](value, node.value)
    return _OPS[node.op](value, node.value)


def residual(node: Node, facts: PartialFacts) -> Residual:
    """True or False when every completion agrees; otherwise the undecided part, simplified."""
    if isinstance(node, Compare | IsNull):
        value = facts.get(node.finding, NOT_ASKED)
        return node if value is NOT_ASKED else _leaf(node, value)
    if isinstance(node, Not):
        inner = residual(node.child, facts)
        return (not inner) if isinstance(inner, bool) else Not(inner)
    absorbing = isinstance(node, Any_)  # True absorbs an any, False an all
    rest: list[Node] = []
    for child in node.children:
        value = residual(child, facts)
        if value is absorbing:
            return absorbing
        if not isinstance(value, bool):
            rest.append(value)
    if not rest:
        return not absorbing
    if len(rest) == 1:
        return rest[0]
    return Any_(tuple(rest)) if absorbing else All(tuple(rest))


def evaluate(node: Node, facts: PartialFacts) -> bool | None:
    """Kleene's value of a condition: True, False, or None (unknown: the answers left decide)."""
    value = residual(node, facts)
    return value if isinstance(value, bool) else None
