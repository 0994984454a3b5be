"""One assessment: facts from the intake, firings from the engine, the decision, the result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from itertools import chain, repeat
from operator import attrgetter, call
from typing import Any

from service.domain.assessment import Assessment, FollowUp, Reason
from service.domain.conditions import to_firing
from service.domain.decision import Decision, decide
from service.domain.engine import RuleEngine, to_durable
from service.domain.facts import Facts, build_facts
from service.domain.followup import FollowUpPlanner
from service.domain.locales import localize
from service.domain.problem_text import ProblemText
from service.domain.ruleset import SOURCE_LANGUAGE, SOURCE_STATUS, Rule, Ruleset
from service.exceptions import EngineError, RulesetError

_CITATIONS = attrgetter("citations")
_EXPLAIN = attrgetter("explain")
_ID = attrgetter("id")

# Intakes checked at start-up: the engine must fire exactly what the conditions say.
_SELF_CHECK_INTAKES: tuple[Mapping[str, Mapping[str, Any]], ...] = (
    {},
    {"symptoms": {"onset": "injury", "pain_nrs": 7, "steps_now": 3, "tender_5th_mt_base": "yes"}},
    {"history": {"diabetes": "yes", "conservative_care_weeks": 12}, "symptoms": {"fever": "no"}},
)


class Triage:
    """The ruleset and its engine, built once per worker."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self.engine = RuleEngine(
            {rule.id: to_durable(rule.when) for rule in ruleset.rules if rule.when is not None}
        )
        self.planner = FollowUpPlanner(ruleset)
        self._firing = to_firing(
            [(rule.id, rule.when) for rule in ruleset.rules if rule.when is not None]
        )
        # The ruleset in each language it is translated into: same rules, codes and conditions;
        # the decision is always made on the English one and only worded in another.
        self._status = {SOURCE_LANGUAGE: SOURCE_STATUS} | {
            language: locale.translation_status for language, locale in ruleset.locales.items()
        }
        self.languages: dict[str, Ruleset] = {SOURCE_LANGUAGE: ruleset} | {
            language: localize(ruleset, locale) for language, locale in ruleset.locales.items()
        }
        # The languages an answer can be in, English first (it wins ties and '*').
        self.supported = (SOURCE_LANGUAGE, *sorted(set(self.languages) - {SOURCE_LANGUAGE}))
        # Problem messages (422) in each language: field paths and values never change.
        self.problem_texts = {
            language: ProblemText(ruleset.texts, words.texts)
            for language, words in self.languages.items()
        }

    def self_check(self) -> None:
        """Refuse to start if the compiled engine and the rule conditions disagree."""
        for intake in _SELF_CHECK_INTAKES:
            facts = build_facts(intake)
            engine = set(self.engine.evaluate(facts))
            expected = self._firing(facts)
            if engine != expected:
                raise RulesetError(
                    "start-up self-check: the engine fired "
                    f"{sorted(engine)} where the rules say {sorted(expected)}"
                )

    def decide(self, facts: Facts) -> Decision:
        """The decision for these facts; raises EngineError if the engine fails or disagrees."""
        fired = self.engine.evaluate(facts)
        # The engine is unmaintained C code known to merge sessions and mis-coerce types: its
        # firings must equal the conditions evaluated in Python, or no answer is given.
        if set(fired) != self._firing(facts):
            raise EngineError("the engine's firings disagree with the rule conditions")
        return decide(fired, self.ruleset)

    def status(self, language: str) -> str:
        """The review status of `language`'s texts ('source' for English)."""
        return self._status[language]

    def in_language(self, language: str) -> Ruleset:
        """The ruleset worded in `language` (one of `languages`; KeyError otherwise)."""
        return self.languages[language]

    def assess(
        self,
        intake: Mapping[str, Mapping[str, Any]],
        decision_id: str,
        language: str = SOURCE_LANGUAGE,
    ) -> Assessment:
        """The assessment of a validated intake; raises EngineError if the engine fails."""
        facts = build_facts(intake)
        return self.answer(decision_id, facts, self.decide(facts), language)

    def _follow_up(
        self, facts: Facts, fired: list[Rule], decision: Decision, words: Ruleset
    ) -> tuple[FollowUp, ...]:
        """The questions still worth asking, worded in `words`' language (the planner words
        them in English; dataclasses.replace per item cost a sixth of an answer, so only
        another language pays for it)."""
        found = self.planner.follow_up(facts, fired, decision.rank, decision.needs_clinician_review)
        if words is self.ruleset:
            return found
        return tuple(replace(item, question=words.questions[item.finding].label) for item in found)

    def _advice(self, decision: Decision, facts: Facts, words: Ruleset) -> list[str]:
        """The answer's advice, assembled as clinical.md 7.8 says (A0-A4), in `words`' language."""
        policy = words.advice
        # A1: a rule sending the patient somewhere today replaces the wait for a call-back.
        go_now = any(
            rule.urgency in policy.today and rule.destination != policy.call_back_destination
            for rule in decision.rationale
        )
        lines: list[str] = []
        dropped = False
        for rule in decision.rationale:
            # A0: self-care rules advise only routine and soon answers.
            if rule.informational and decision.urgency not in policy.informational_urgencies:
                continue
            for line in words.by_id[rule.id].advice:
                if line.call_back and go_now:
                    dropped = True
                    continue
                if line.shared is not None:
                    shared = policy.shared[line.shared]
                    lines.append(shared.then if shared.when(facts) else shared.otherwise)
                elif line.text is not None:
                    lines.append(line.text)
        if dropped:
            lines.insert(0, policy.go_now)
        lines += [
            addition.line
            for addition in policy.additions
            if decision.urgency in addition.urgencies and addition.when(facts)
        ]
        return list(dict.fromkeys(lines))

    def answer(
        self,
        decision_id: str,
        facts: Facts,
        decision: Decision,
        language: str = SOURCE_LANGUAGE,
    ) -> Assessment:
        """The assessment of a decision (design.md): rationale, advice, follow-up, sources,
        every text in `language` (one of `languages`), every code as in English. `decision` is
        one this Triage made (`decide`), on its English rules."""
        words = self.languages[language]
        rationale = decision.rationale
        fired = [rule for rule in rationale if rule.when is not None]
        # Read in C (attrgetter, chain, map) rather than by generators: cheaper per answer.
        citation_keys = dict.fromkeys(chain.from_iterable(map(_CITATIONS, rationale)))
        # The decision's rules are this ruleset's (Triage.decide), so in English they are the
        # worded rules themselves: looking each up again by id cost 1,200 instructions a rule.
        worded = (
            rationale
            if words is self.ruleset
            else map(words.by_id.__getitem__, map(_ID, rationale))
        )
        return Assessment(
            decision_id=decision_id,
            level=decision.level,
            urgency=decision.urgency,
            escalation=decision.escalation,
            destination=decision.destination,
            setting=decision.setting,
            needs_clinician_review=decision.needs_clinician_review,
            referrals=decision.referrals,
            rationale=tuple(
                map(
                    Reason,
                    worded,
                    map(call, map(_EXPLAIN, rationale), repeat(facts)),
                )
            ),
            advice=tuple(self._advice(decision, facts, words)),
            follow_up=self._follow_up(facts, fired, decision, words),
            citations=tuple(map(words.citations.__getitem__, citation_keys)),
            ruleset=self.ruleset.identity,
            disclaimer=words.disclaimer,
            destination_names=words.destinations,
            language=language,
            translation_status=self._status[language],
        )
