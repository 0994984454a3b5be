"""The durable-rules adapter: the only module that imports durable (dependencies.md section 1.9).

durable-rules 2.0.28 is unmaintained C code. It is safe only when wrapped exactly so:
- no timer threads (``_run`` does nothing), which otherwise run actions on another thread;
- a catch-all rule, so no fact is ever unhandled (an unhandled one then deleted can segfault);
- a discriminator (``kind``) on every rule, so no rule can match the session-state object;
- one live session per engine, used by one evaluation at a time (a lock), as sessions with
  colliding sid hashes merge (and 1,024 live sessions exhaust the engine); it is kept between
  evaluations, each fact retracted once its actions are taken, the session then checked to
  hold no fact. After a fault the session is left as it is and a new one used: durable aborts the
  whole process when a session with actions pending is deleted (and when an action is abandoned
  that was not started), so a session is never deleted; past a few such faults the engine
  refuses to evaluate. A new session per evaluation, as before, cost a quarter of a whole
  request: durable zeroes about a megabyte of index tables for each (createStateNode, measured
  with callgrind, issue 11);
- each fact with an id of its own, so that durable never takes one for a repeat of another;
- the returned state checked for an exception an action raised;
- a condition too large for durable split into one durable rule per top-level ``$or`` branch:
  durable expands a condition into its disjunctive normal form and refuses more than about a
  dozen branches in one rule (error 113, measured with UR9 v2's sixteen);
- evaluations driven through durable's C interface (`durable_rules_engine`), the calls its
  Python layer makes, without that layer: it built a closure and encoded and decoded the whole
  fact several times per fired rule, the largest cost measured per request (issue 11), to run
  actions that only record a name; here the name is read off the action message. The Python
  layer still builds the rulesets (through orjson instead of the stdlib json module).
Exception texts from the engine quote the whole fact, i.e. patient data: they are never logged.
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from itertools import count
from typing import Any

import durable_rules_engine
import orjson
from durable import engine as durable_engine

from service.domain.conditions import All, Any_, IsNull, Node, Not, negate
from service.exceptions import EngineError

_RULESET = "triage"
_KIND = "intake"
_RESERVED = frozenset({"id", "sid", "kind"})  # durable's and the discriminator
_DURABLE_OPS = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


def to_durable(node: Node) -> dict[str, Any]:
    """Compile to a durable-rules JSON condition (unknown numbers are absent from the fact)."""
    if isinstance(node, Not):
        return to_durable(negate(node.child))
    if isinstance(node, All):
        return {"$and": [to_durable(child) for child in node.children]}
    if isinstance(node, Any_):
        return {"$or": [to_durable(child) for child in node.children]}
    if isinstance(node, IsNull):
        return {"$ex" if node.negated else "$nex": {node.finding: 1}}
    if node.op == "==":
        return {node.finding: node.value}
    return {_DURABLE_OPS[node.op]: {node.finding: node.value}}


_CATCH_ALL = "zz_evaluated"
_BRANCH = "#"  # engine rule name = rule id + "#" + branch number
_MAX_DNF = 12  # durable refused 15 or more DNF branches in one rule (error 113); 12 passed


class _OrjsonForDurable:
    """Stands in for the `json` module inside durable.engine: the same calls, through orjson.

    durable calls json.dumps(obj, ensure_ascii=False) and json.loads(text) only; orjson writes
    the same JSON (UTF-8, no ASCII escaping) for the str/int/dict/list values durable sees.
    """

    @staticmethod
    def dumps(obj: Any, **_options: Any) -> str:
        return orjson.dumps(obj).decode("utf-8")

    @staticmethod
    def loads(text: str | bytes) -> Any:
        return orjson.loads(text)


durable_engine.json = _OrjsonForDurable
# Module-wide: every engine in the process shares it, so one evaluation runs at a time in all.
_ONE_SESSION = threading.Lock()
_FACT_IDS = count(1)
_SESSION = "triage"  # each engine's session (its own ruleset: sids never meet another's)
_MAX_FAULTS = 16  # sessions left behind by faults, each about a megabyte, before refusing


class _StatelessHost(durable_engine.Host):  # type: ignore[misc]
    """A Host without the dispatcher threads; it only builds rulesets (evaluate runs them)."""

    def _run(self) -> None:
        """Start no timer threads: they would run actions concurrently with requests."""

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        return _never


def _never(_context: Any) -> None:  # pragma: no cover (evaluate never runs durable's actions)
    raise EngineError("durable's own action runner was used")


class RuleEngine:
    """Evaluates facts against compiled conditions and returns every rule that fires."""

    host_class: type[_StatelessHost] = _StatelessHost

    def __init__(self, conditions: Mapping[str, Mapping[str, Any]]) -> None:
        """conditions: rule id -> durable JSON condition over the fact's fields."""
        # Each finding a condition reads gets a short property name, and a fact carries only
        # those: durable parses and hashes every property of every fact it is given, and
        # quotes the whole fact in each action's message (a third of an evaluation).
        self._names = _short_names(conditions.values())
        self._fact = _fact_builder(self._names, _equality_only(conditions.values()))
        conditions = {
            rule_id: _renamed(condition, self._names) for rule_id, condition in conditions.items()
        }
        definitions: dict[str, Any] = {}
        for rule_id, condition in conditions.items():
            if _BRANCH in rule_id or rule_id == _CATCH_ALL:
                raise EngineError(f"rule id '{rule_id}' is reserved or contains '{_BRANCH}'")
            branches = _branches(condition) if _dnf_size(condition) > _MAX_DNF else [condition]
            for number, branch in enumerate(branches):
                name = f"{rule_id}{_BRANCH}{number}"
                definitions[name] = {
                    "all": [{"m": {"$and": [{"kind": _KIND}, copy.deepcopy(dict(branch))]}}],
                    "run": name,
                }
        definitions[_CATCH_ALL] = {"pri": 1000, "all": [{"m": {"kind": _KIND}}], "run": _CATCH_ALL}
        self._host = self.host_class()
        try:
            self._host.set_rulesets({_RULESET: definitions})
        except Exception as error:  # durable raises bare Exception or its own C error type
            raise EngineError(f"the engine refused the rules: {type(error).__name__}") from None
        self._handle = self._host.get_ruleset(_RULESET)._handle
        self._session = _SESSION
        self._faults = 0
        self._actions = frozenset(definitions)
        # Each engine rule's name -> the rule id it stands for (a branch of it, or itself).
        self._rule_of = {name: name.split(_BRANCH)[0] for name in definitions if name != _CATCH_ALL}

    def evaluate(self, facts: Mapping[str, str | int | None]) -> list[str]:
        """Rule ids that fire for these facts, in engine order; raise EngineError on any fault.

        Facts hold validated strings and integers only; None (unknown number) is left out of
        the fact, so that 'is null' is the engine's 'field does not exist'.
        """
        fact = self._fact(facts)
        fact["id"], fact["kind"] = next(_FACT_IDS), _KIND
        try:
            with _ONE_SESSION:
                if self._faults >= _MAX_FAULTS:
                    raise EngineError("the engine has failed too often in this process")
                fact["sid"] = self._session
                # The retraction needs only the fact's identity: durable deletes the fact by
                # its id, and parsing and matching the whole fact again cost a third as much
                # as asserting it. The session is checked empty afterwards all the same.
                key = {"id": fact["id"], "sid": fact["sid"], "kind": _KIND}
                try:
                    fired = self._run(orjson.dumps(fact).decode(), orjson.dumps(key).decode())
                except BaseException:
                    self._faults += 1
                    self._session = f"{_SESSION}-{self._faults}"  # the faulty one is left as is
                    raise
        except Exception:
            raise EngineError("the rule engine raised during an evaluation") from None
        if _CATCH_ALL not in fired or not fired <= self._actions:
            raise EngineError("the rule engine did not complete the evaluation")
        # durable expands $or into separate matches, and a rule may be registered once per
        # top-level branch: a rule whose several branches hold fires more than once. Once each.
        fired.discard(_CATCH_ALL)
        return list(dict.fromkeys(map(self._rule_of.__getitem__, fired)))

    def _run(self, fact: str, key: str) -> set[str]:
        """Assert the fact, take every action durable schedules for it, by name, and retract it
        by its key (id, sid and kind).

        The sequence of durable's Ruleset.assert_fact and do_actions: each action is started
        and completed, and the next one started, until none is left.
        """
        engine = durable_rules_engine
        status, state = engine.assert_fact(self._handle, fact)
        if status != 0:  # 1 not handled, 2 already observed, 3 queued: none is a complete run
            raise EngineError(f"the engine did not take the fact (status {status})")
        fired: set[str] = set()
        started = engine.start_action_for_state(self._handle, state)
        message = started[1] if started else None
        while message:
            # The message is {"<action name>": {...the fact...}}; names are ours, never escaped.
            fired.add(message[2 : message.index('"', 2)])
            # durable's own loop writes the session state back here (update_state); our actions
            # never change it, and writing it re-matched it against every rule: a seventh of
            # the evaluation, for nothing. completeAndStartAction does not read it.
            message = engine.complete_and_start_action(self._handle, state)
        status, _ = engine.retract_fact(self._handle, key)
        if status != 0 or engine.get_facts(self._handle, self._session) != "[]":
            raise EngineError("the engine kept a fact in its session")
        return fired


def _short_names(conditions: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Finding name -> short property name ("f0", "f1", ...), for every finding read."""
    found: dict[str, None] = {}

    def visit(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, child in node.items():
                if not key.startswith("$"):
                    found[key] = None
                visit(child)
        elif isinstance(node, list):
            for child in node:
                visit(child)

    for condition in conditions:
        visit(condition)
    if found.keys() & _RESERVED:
        raise EngineError(
            f"a condition reads a reserved property: {sorted(found.keys() & _RESERVED)}"
        )
    return {name: f"f{number}" for number, name in enumerate(found)}


def _equality_only(conditions: Iterable[Mapping[str, Any]]) -> dict[str, frozenset[Any]]:
    """Finding -> the values it is tested against, for each finding that conditions test
    only for equality (never absence, inequality or order)."""
    equal: dict[str, set[Any]] = {}
    other: set[str] = set()

    def visit(node: Mapping[str, Any]) -> None:
        for key, child in node.items():
            if key in ("$and", "$or"):
                for branch in child:
                    visit(branch)
            elif key.startswith("$"):
                other.update(child)  # {"$neq": {finding: value}}, $lt, $ex, $nex, ...
            else:
                equal.setdefault(key, set()).add(child)

    for condition in conditions:
        visit(condition)
    return {name: frozenset(values) for name, values in equal.items() if name not in other}


def _fact_builder(
    names: Mapping[str, str], equality_only: Mapping[str, frozenset[Any]]
) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """A function compiled once giving the engine's fact: each finding read, under its short
    name, left out when None, and left out when it is tested only for equality and its value
    is none of those tested. durable scans every property of the fact at each test it passes
    (events.c, handleAlpha), parses each and quotes each in every action's message, so the
    fact carries only what can make a test hold: a property absent fails an equality test
    exactly as a value unequal to it does. The findings are read by one C-level map (the
    comprehension this replaces took a Python step per finding)."""
    lines = ["def fact(f):", "    out = {}"]
    if names:
        values = ", ".join(f"v{number}" for number in range(len(names)))
        lines.append(f"    {values}, = map(f.get, NAMES)")
    constants: dict[str, Any] = {}
    for number, (name, short) in enumerate(names.items()):
        tested = equality_only.get(name)
        if tested is None:
            lines.append(f"    if v{number} is not None:")
        else:
            constants[f"T{number}"] = tested
            lines.append(f"    if v{number} in T{number}:")
        lines.append(f"        out[{short!r}] = v{number}")
    lines.append("    return out")
    namespace: dict[str, Any] = {}
    # Built from names this module made (v0, f0, T0, ...); findings and values are data.
    code = compile("\n".join(lines), "<engine fact>", "exec")
    scope = {"__builtins__": {"map": map}, "NAMES": tuple(names), **constants}
    exec(code, scope, namespace)  # noqa: S102
    builder: Callable[[Mapping[str, Any]], dict[str, Any]] = namespace["fact"]
    return builder


def _renamed(node: Any, names: Mapping[str, str]) -> Any:
    """A durable condition over the short property names."""
    if isinstance(node, Mapping):
        return {names.get(key, key): _renamed(child, names) for key, child in node.items()}
    if isinstance(node, list):
        return [_renamed(child, names) for child in node]
    return node


def _dnf_size(condition: Any) -> int:
    """How many branches durable's disjunctive normal form of this condition has."""
    if isinstance(condition, Mapping) and set(condition) == {"$or"}:
        return sum(_dnf_size(child) for child in condition["$or"])
    if isinstance(condition, Mapping) and set(condition) == {"$and"}:
        return math.prod(_dnf_size(child) for child in condition["$and"])
    return 1


def _branches(condition: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The top-level $or branches of a condition (nested top-level $or flattened), or itself."""
    if set(condition) == {"$or"}:
        return [branch for child in condition["$or"] for branch in _branches(child)]
    return [condition]
