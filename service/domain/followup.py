"""Which unanswered findings, if answered, would raise the result, and through which rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import compress, repeat
from operator import itemgetter

from service.domain.assessment import FollowUp
from service.domain.conditions import Compare, Node, Not, Predicate
from service.domain.decision import order_rules, outcome_rank
from service.domain.facts import Facts
from service.domain.findings import FINDINGS, Finding
from service.domain.intake_schema import UNKNOWN
from service.domain.ruleset import Rule, Ruleset

# An answer that leaves a finding open: unanswered (None) or answered unknown.
_OPEN = frozenset({None, UNKNOWN})
_ABSENT = object()  # a finding missing from the facts is not open: the caller left it out


@dataclass(frozen=True)
class _Raise:
    rank: tuple[int, int]
    rules: tuple[Rule, ...]
    review_only: bool = False  # same (urgency, level), but a clinician review would be added


def _thresholds(node: Node, name: str) -> set[int]:
    if isinstance(node, Compare):
        if node.finding == name and isinstance(node.value, int):
            return {node.value - 1, node.value, node.value + 1}
        return set()
    if isinstance(node, Not):
        return _thresholds(node.child, name)
    if hasattr(node, "children"):
        return set().union(*(_thresholds(child, name) for child in node.children))
    return set()


def _probes(finding: Finding, rules: Iterable[Rule]) -> tuple[str | int, ...]:
    """The answers worth trying for an unknown finding."""
    if finding.kind == "tri_state":
        return ("yes",)
    if finding.kind == "enum":
        return tuple(value for value in finding.values if value != UNKNOWN)
    low, high = finding.bounds
    candidates = {low, high}
    for rule in rules:
        if rule.when is not None:
            candidates |= _thresholds(rule.when, finding.name)
    return tuple(sorted(v for v in candidates if low <= v <= high))


class FollowUpPlanner:
    """Built once per ruleset: for each finding, the rules that read it and the answers to try."""

    def __init__(self, ruleset: Ruleset) -> None:
        self._default_rank = ruleset.default.rank
        self._urgencies, self._levels = ruleset.urgencies, ruleset.levels
        self._readers: dict[str, tuple[Rule, ...]] = {
            name: tuple(rule for rule in ruleset.rules if name in rule.findings)
            for name in FINDINGS
        }
        self._probes = {
            name: _probes(FINDINGS[name], readers) for name, readers in self._readers.items()
        }
        self._situations = ruleset.asked_when
        self._questions = ruleset.questions
        self._situation_reads = ruleset.asked_when_reads
        # The findings some rule reads, in catalogue order: the open ones among them are found
        # by C-level iteration (a Python step per finding, or a set operation over the
        # answers, was most of the follow-up's cost), already in the order they are listed.
        self._read = tuple(name for name, readers in self._readers.items() if readers)
        # Their answers in one C call (a KeyError if one is left out): a quarter cheaper than
        # a dict.get per finding. (itemgetter of one name gives a value, not a tuple.)
        self._values: Callable[[Facts], Iterable[object]] = (
            itemgetter(*self._read)
            if len(self._read) > 1
            else lambda facts: tuple(facts[name] for name in self._read)
        )

    def _may_come_to_be_asked(self, facts: Facts, name: str, situation: Predicate) -> bool:
        """clinical.md 2.2: a situational question whose situation does not hold is still asked
        when an unknown answer it depends on could make it hold (ask onset first, say; asking
        more is the safe side)."""
        return any(
            situation({**facts, other: answer})
            for other in self._situation_reads[name]
            if facts.get(other) in (None, UNKNOWN)
            for answer in self._probes[other]
        )

    def follow_up(
        self, facts: Facts, fired: Iterable[Rule], rank: tuple[int, int], review: bool = True
    ) -> tuple[FollowUp, ...]:
        """Unknown findings whose answer could raise (urgency, level) above `rank`, most first,
        then those that would only add a clinician's review (a blank age: PED1, clinical.md 7.9).

        `facts` hold every finding (service.facts.build_facts). `rank` is the answer's (urgency,
        level); a raise in either counts, even when the other would fall (answering a tenderness
        question G3 calls back about can end the same-day call-back and send the patient to a
        fracture clinic within days). Each entry gives the urgency and level the answer would
        then have. `review` says whether the answer already asks for a clinician's review.
        """
        found: list[tuple[_Raise, Finding]] = []
        fired_set: frozenset[Rule] | None = None
        try:
            values: Iterable[object] = self._values(facts)
        except KeyError:  # some finding left out of the facts: not open, the caller left it out
            values = map(facts.get, self._read, repeat(_ABSENT))
        for name in compress(self._read, map(_OPEN.__contains__, values)):
            # A situational question is asked when its situation holds (clinical.md 2.2); tried
            # here before any call, as most open findings are situational ones not asked.
            situation = self._situations.get(name)
            if situation is not None and not situation(facts):
                # It could come to hold only through an open answer it reads (seldom: looked
                # for in C before a generator tries each answer).
                reads = map(facts.get, self._situation_reads[name])
                if not any(map(_OPEN.__contains__, reads)):
                    continue
                if not self._may_come_to_be_asked(facts, name, situation):
                    continue
            if fired_set is None:
                fired_set = frozenset(fired)
            readers = self._readers[name]
            # Only rules that read this finding can change: the others stay as the engine fired
            # them, whatever the answer (found once per finding, not once per answer tried).
            kept = {rule for rule in fired_set if name not in rule.findings}
            best: _Raise | None = None
            for answer in self._probes[name]:
                outcome = self._try(facts, name, answer, readers, fired_set, kept, rank, review)
                if outcome and (
                    best is None
                    or (outcome.rank, not outcome.review_only)
                    > (
                        best.rank,
                        not best.review_only,
                    )
                ):
                    best = outcome
            if best is not None:
                found.append((best, FINDINGS[name]))
        if not found:
            return ()  # the usual answer: built without a sort or a generator
        found.sort(key=lambda item: (item[0].review_only, -item[0].rank[0], -item[0].rank[1]))
        return tuple(
            FollowUp(
                finding=finding.name,
                question=self._questions[finding.name].label,
                could_raise_to=self._urgencies[raise_.rank[0]],
                could_raise_level=self._levels[raise_.rank[1]],
                rules=tuple(rule.id for rule in raise_.rules),
            )
            for raise_, finding in found
        )

    def _try(
        self,
        facts: Facts,
        name: str,
        answer: str | int,
        readers: tuple[Rule, ...],
        fired: frozenset[Rule],
        kept: set[Rule],
        rank: tuple[int, int],
        review: bool,
    ) -> _Raise | None:
        probe = {**facts, name: answer}
        after = kept | {rule for rule in readers if rule.predicate(probe)}
        new_rank = outcome_rank(after) if after else self._default_rank
        if new_rank == rank and not review:
            reviewers = [rule for rule in after - fired if rule.needs_clinician_review]
            if reviewers:
                return _Raise(new_rank, tuple(order_rules(reviewers)), review_only=True)
        if new_rank[0] <= rank[0] and new_rank[1] <= rank[1]:
            return None  # neither the urgency nor the level would be higher
        raising = [
            rule
            for rule in after - fired
            if rule.rank[0] > rank[0] or (not rule.informational and rule.rank[1] > rank[1])
        ]
        return _Raise(new_rank, tuple(order_rules(raising)))
