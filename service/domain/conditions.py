"""The rule condition language: parse all/any/not trees and compile them to Python predicates.

A condition is a YAML tree of ``all``/``any``/``not`` over leaves written as in clinical.md:
``Y(fever)``, ``YU(neuropathy)``, ``onset == injury``, ``pain_nrs >= 7``,
``days_since_onset is null``, ``swelling in [localized, diffuse]``, or a helper name such as
``INJURY`` defined once in the manifest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.domain.findings import FINDINGS
from service.exceptions import ConditionError

Facts = Mapping[str, Any]
Predicate = Callable[[Facts], bool]


@dataclass(frozen=True)
class Compare:
    finding: str
    op: str
    value: str | int


@dataclass(frozen=True)
class IsNull:
    finding: str
    negated: bool = False


@dataclass(frozen=True)
class All:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Any_:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Compare | IsNull | All | Any_ | Not

_NAME = r"[a-z][a-z0-9_]*"
COMPARE_LEAF = re.compile(rf"^({_NAME})\s*(==|!=|<=|>=|<|>)\s*([A-Za-z0-9_]+)$")
NULL_LEAF = re.compile(rf"^({_NAME})\s+is\s+(not\s+)?null$")
IN_LEAF = re.compile(rf"^({_NAME})\s+in\s+\[([^\]]*)\]$")
TRI_LEAF = re.compile(rf"^(Y|YU)\(({_NAME})\)$")
_HELPER = re.compile(r"^[A-Z][A-Z0-9_]*$")
_INVERSE = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


def _finding(name: str) -> None:
    if name not in FINDINGS:
        raise ConditionError(f"unknown finding '{name}'")


def _compare(name: str, op: str, raw: str) -> Compare:
    _finding(name)
    finding = FINDINGS[name]
    if finding.is_numeric:
        if not re.fullmatch(r"\d+", raw):
            raise ConditionError(f"'{name}' is a number; '{raw}' is not")
        value = int(raw)
        low, high = finding.bounds
        if not low <= value <= high:
            raise ConditionError(f"value {value} is outside the range of '{name}'")
        return Compare(name, op, value)
    if op not in ("==", "!="):
        raise ConditionError(f"operator '{op}' does not apply to '{name}', which is not a number")
    if raw not in finding.values:
        raise ConditionError(f"unknown value '{raw}' for '{name}'")
    return Compare(name, op, raw)


def _leaf(text: str, helpers: Mapping[str, Node]) -> Node:
    text = text.strip()
    if match := TRI_LEAF.match(text):
        func, name = match.groups()
        _finding(name)
        if FINDINGS[name].kind != "tri_state":
            raise ConditionError(f"{func}() needs a yes/no/unknown finding; '{name}' is not one")
        return Compare(name, "==", "yes") if func == "Y" else Compare(name, "!=", "no")
    if match := NULL_LEAF.match(text):
        name, negation = match.groups()
        _finding(name)
        if not FINDINGS[name].is_numeric:
            raise ConditionError(f"'{name}' is never null (absent answers are 'unknown')")
        return IsNull(name, negated=bool(negation))
    if match := IN_LEAF.match(text):
        name, items = match.groups()
        values = [item.strip() for item in items.split(",") if item.strip()]
        if not values:
            raise ConditionError(f"empty list in '{text}'")
        return Any_(tuple(_compare(name, "==", value) for value in values))
    if match := COMPARE_LEAF.match(text):
        return _compare(*match.groups())
    if _HELPER.match(text):
        if text not in helpers:
            raise ConditionError(f"unknown helper '{text}'")
        return helpers[text]
    raise ConditionError(f"cannot read the condition '{text}'")


def parse(tree: Any, helpers: Mapping[str, Node] | None = None) -> Node:
    """Parse a YAML condition tree; raise ConditionError naming what is wrong."""
    helpers = helpers or {}
    if isinstance(tree, str):
        return _leaf(tree, helpers)
    if isinstance(tree, dict) and len(tree) == 1:
        ((operator, operand),) = tree.items()
        if operator in ("all", "any"):
            if not isinstance(operand, list) or not operand:
                raise ConditionError(f"'{operator}' needs a non-empty list")
            children = tuple(parse(child, helpers) for child in operand)
            return All(children) if operator == "all" else Any_(children)
        if operator == "not":
            return Not(parse(operand, helpers))
        raise ConditionError(f"unknown operator '{operator}' (use all, any or not)")
    raise ConditionError(f"cannot read the condition {tree!r}: use a string, all, any or not")


def findings_of(node: Node) -> frozenset[str]:
    """Every finding the condition reads."""
    if isinstance(node, Compare | IsNull):
        return frozenset({node.finding})
    if isinstance(node, Not):
        return findings_of(node.child)
    return frozenset().union(*(findings_of(child) for child in node.children))


def negate(node: Node) -> Node:
    """Push a negation down to the leaves (durable-rules has no 'not')."""
    if isinstance(node, Not):
        return node.child
    if isinstance(node, All):
        return Any_(tuple(negate(child) for child in node.children))
    if isinstance(node, Any_):
        return All(tuple(negate(child) for child in node.children))
    if isinstance(node, IsNull):
        return IsNull(node.finding, not node.negated)
    inverse = Compare(node.finding, _INVERSE[node.op], node.value)
    if FINDINGS[node.finding].is_numeric:
        # A comparison with an unknown number is false, so its negation holds when unknown.
        return Any_((inverse, IsNull(node.finding)))
    return inverse


def _source(node: Node, local: Mapping[str, str] | None = None) -> str:
    """A Python expression over the facts mapping `f` (unknown numbers are None or absent), or
    over local variables holding the findings, named in `local`."""
    if isinstance(node, Not):
        return f"(not {_source(node.child, local)})"
    if isinstance(node, All | Any_):
        joiner = " and " if isinstance(node, All) else " or "
        return "(" + joiner.join(_source(child, local) for child in node.children) + ")"
    # Names match [a-z][a-z0-9_]* and values are vocabulary words or whole numbers (parse()
    # checked both), so their repr() is a safe literal.
    got = local[node.finding] if local is not None else f"f.get({node.finding!r})"
    if isinstance(node, IsNull):
        return f"({got} is {'not ' if node.negated else ''}None)"
    if isinstance(node.value, int):
        return f"({got} is not None and {got} {node.op} {node.value!r})"
    return f"({got} {node.op} {node.value!r})"


def to_predicate(node: Node) -> Predicate:
    """Compile to a Python predicate over facts (unknown numbers are None or absent).

    The tree becomes one Python expression compiled once: a chain of nested closures cost
    about five times as much per evaluation, and every request evaluates every rule.
    """
    code = compile(f"lambda f: {_source(node)}", "<rule condition>", "eval")
    predicate: Predicate = eval(code, {"__builtins__": {}})  # noqa: S307 (built from a parsed tree)
    return predicate


def to_firing(conditions: Sequence[tuple[str, Node]]) -> Callable[[Facts], set[str]]:
    """One compiled function giving the ids whose condition holds: each request evaluates
    every rule once (the engine's cross-check), and one function beats a call per rule.
    Each finding read is bound to a local variable once, by one C-level map: a method call
    per test read it again for every rule (a third of the function's cost)."""
    read = sorted({name for _, node in conditions for name in findings_of(node)})
    local = {name: f"v{number}" for number, name in enumerate(read)}
    lines = ["def fired(f):", "    out = set()"]
    if read:
        lines.append(f"    {', '.join(local.values())}, = map(f.get, READ)")
    for rule_id, node in conditions:
        if not re.fullmatch(r"[A-Za-z0-9]+", rule_id):
            raise ConditionError(f"rule id {rule_id!r} cannot name a firing")
        lines += [f"    if {_source(node, local)}:", f"        out.add({rule_id!r})"]
    lines.append("    return out")
    namespace: dict[str, Any] = {}
    code = compile("\n".join(lines), "<rule firings>", "exec")
    builtins = {"set": set, "map": map}
    exec(code, {"__builtins__": builtins, "READ": tuple(read)}, namespace)  # noqa: S102
    firing: Callable[[Facts], set[str]] = namespace["fired"]
    return firing


Explainer = Callable[[Facts], dict[str, Any]]


def _explaining(node: Node, depth: int) -> list[str]:
    """Statements adding to `out` the findings that make `node` true (when it is)."""
    pad = "    " * depth
    if isinstance(node, Compare | IsNull):
        return [
            f"{pad}if {_source(node)}:",
            f"{pad}    out[{node.finding!r}] = f.get({node.finding!r})",
        ]
    if isinstance(node, Not):
        return [f"{pad}out[{name!r}] = f.get({name!r})" for name in sorted(findings_of(node.child))]
    lines: list[str] = []
    for child in node.children:
        if isinstance(child, Compare | IsNull):
            lines += _explaining(child, depth)
        else:
            lines += [f"{pad}if {_source(child)}:", *_explaining(child, depth + 1)]
    return lines


def to_explainer(node: Node) -> Explainer:
    """Compile, once, a function giving the findings that make a true condition true: each
    leaf that holds, every finding under a `not`, and within all/any only the branches that
    hold, in the order written. One compiled function, as for the predicates: the nested
    closures it replaces cost a fifth of an answer."""
    lines = ["def explain(f):", "    out = {}", *_explaining(node, 1), "    return out"]
    namespace: dict[str, Any] = {}
    code = compile("\n".join(lines), "<rule explanation>", "exec")
    exec(code, {"__builtins__": {}}, namespace)  # noqa: S102 (built from a parsed tree)
    explainer: Explainer = namespace["explain"]
    return explainer


def matched(node: Node, facts: Facts) -> dict[str, Any]:
    """The findings that make a true condition true, with their values."""
    return to_explainer(node)(facts)
