"""The durable-rules adapter: one session kept empty, inputs untouched, all firings, fail closed."""

from __future__ import annotations

import copy
import threading
import time

import durable_rules_engine
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.domain.assessor import Triage
from service.domain.engine import RuleEngine, to_durable
from service.domain.facts import build_facts
from service.domain.findings import FINDINGS
from service.domain.ruleset import Ruleset
from service.exceptions import EngineError


@pytest.fixture(scope="module")
def engine(ruleset: Ruleset) -> RuleEngine:
    """A real engine over the real rules."""
    return Triage(ruleset).engine


def _answer(name: str) -> st.SearchStrategy[object]:
    finding = FINDINGS[name]
    if finding.is_numeric:
        return st.one_of(st.none(), st.integers(finding.minimum, finding.maximum))
    return st.sampled_from(finding.values)


FACTS = st.fixed_dictionaries({name: _answer(name) for name in FINDINGS})


def test_one_session_is_kept_and_left_empty(engine: RuleEngine) -> None:
    """3,000 evaluations in one process keep one session, with no fact left in it after each
    (a session per evaluation never deleted fails at the 1,025th)."""
    facts = build_facts({"symptoms": {"pain_nrs": 3}})
    first = engine.evaluate(facts)
    for _ in range(3000):
        assert engine.evaluate(facts) == first
    assert durable_rules_engine.get_facts(engine._handle, "triage") == "[]"
    with pytest.raises(Exception, match="error code: 309"):  # durable's: no such session
        durable_rules_engine.get_facts(engine._handle, "triage-1")


def test_inputs_are_not_mutated(engine: RuleEngine) -> None:
    """The facts passed in come back unchanged (no sid or kind written into them)."""
    facts = build_facts({"symptoms": {"onset": "injury", "pain_nrs": 8}})
    before = copy.deepcopy(facts)
    engine.evaluate(facts)
    assert facts == before


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts=FACTS)
def test_engine_returns_every_rule_whose_condition_holds(
    engine: RuleEngine, ruleset: Ruleset, facts: dict[str, object]
) -> None:
    """All firings: the engine fires exactly the rules whose conditions are true."""
    expected = {rule.id for rule in ruleset.rules if rule.predicate(facts)}
    assert set(engine.evaluate(facts)) == expected  # type: ignore[arg-type]


def test_every_answer_to_every_finding_fires_what_the_conditions_say(
    engine: RuleEngine, ruleset: Ruleset
) -> None:
    """Each finding given each of its answers (unknown numbers as None), from every rule case
    and vignette's facts: a finding tested only for equality is left out of the engine's fact
    when its answer is none of the values tested, and that must never change a firing."""
    base = [build_facts({}), build_facts({"symptoms": {"onset": "injury", "steps_now": 2}})]
    for facts in base:
        for name, finding in FINDINGS.items():
            answers = (
                (None, finding.minimum, finding.maximum) if finding.is_numeric else finding.values
            )
            for answer in answers:
                probe = {**facts, name: answer}
                expected = {rule.id for rule in ruleset.rules if rule.predicate(probe)}
                assert set(engine.evaluate(probe)) == expected, (name, answer)


def test_the_fact_carries_only_what_can_make_a_test_hold(engine: RuleEngine) -> None:
    """A danger sign answered no (tested only as yes or unknown) is not sent to durable, which
    scans every property at every test passed; one tested for inequality is."""
    facts = build_facts({"symptoms": {"fever": "no", "hot_swollen_joint": "no", "improving": "no"}})
    sent = engine._fact(facts)
    names = engine._names
    assert names["fever"] not in sent
    assert names["hot_swollen_joint"] not in sent
    assert sent[names["improving"]] == "no"  # RT2: improving != yes
    assert engine._fact({**facts, "fever": "yes"})[names["fever"]] == "yes"


def test_each_rule_fires_once(engine: RuleEngine) -> None:
    """A rule is returned once even when several of its any-branches hold (durable fires each)."""
    facts = build_facts({"symptoms": {"onset": "injury", "fever": "yes", "redness": "yes"}})
    assert facts["tender_navicular"] == facts["tender_5th_mt_base"] == "unknown"  # SN4 twice over
    fired = engine.evaluate(facts)
    assert len(fired) == len(set(fired))


def test_a_fault_inside_the_engine_fails_closed() -> None:
    """Whatever durable raises mid-evaluation becomes EngineError, without its text (it quotes
    the fact, i.e. patient data), and the engine stays usable afterwards in a new session: the
    faulty one, its actions pending, is left alone (durable aborts the process deleting it)."""

    class FaultyEngine(RuleEngine):
        faults = 1

        def _run(self, fact: str, key: str) -> set[str]:
            if self.faults:
                self.faults -= 1
                durable_rules_engine.assert_fact(self._handle, fact)  # left in the session
                raise RuntimeError(f"Could not handle message: {fact} canary-patient-data")
            return super()._run(fact, key)

    engine = FaultyEngine({"R1": {"pain_nrs": 5}})
    with pytest.raises(EngineError) as caught:
        engine.evaluate({"pain_nrs": 5})
    assert "canary" not in str(caught.value)
    assert engine.evaluate({"pain_nrs": 5}) == ["R1"]  # usable afterwards
    assert durable_rules_engine.get_facts(engine._handle, "triage-1") == "[]"


def test_a_fact_the_engine_does_not_take_fails_closed() -> None:
    """A status other than 0 from durable's assert_fact is not an evaluation: EngineError."""
    engine = RuleEngine({"R1": {"pain_nrs": 5}})
    engine.evaluate({"pain_nrs": 5})
    name = engine._names["pain_nrs"]  # the short property name the adapter gave the finding
    fact = f'{{"{name}": 5, "id": "fixed", "sid": "triage", "kind": "intake"}}'
    key = '{"id": "fixed", "sid": "triage", "kind": "intake"}'
    assert engine._run(fact, key) == {"R1#0", "zz_evaluated"}
    durable_rules_engine.assert_fact(engine._handle, fact)  # a fact the adapter did not retract
    with pytest.raises(EngineError, match="status 2"):
        engine._run(fact, key)  # the same fact again: durable answers 'already observed' (2)


def test_work_left_for_a_retracted_fact_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """After the retraction the session must hold no fact; if it does (here a second fact
    asserted into it just before, for real), EngineError, and the next evaluation runs in a new
    session."""
    retract = durable_rules_engine.retract_fact
    engine = RuleEngine({"R1": {"pain_nrs": 5}})

    def retract_after_another(handle: int, key: str) -> tuple[int, int]:
        monkeypatch.setattr(durable_rules_engine, "retract_fact", retract)  # once
        durable_rules_engine.assert_fact(
            handle, f'{{"{engine._names["pain_nrs"]}":5,"id":0,"sid":"triage","kind":"intake"}}'
        )
        result: tuple[int, int] = retract(handle, key)
        return result

    monkeypatch.setattr(durable_rules_engine, "retract_fact", retract_after_another)
    with pytest.raises(EngineError):
        engine.evaluate({"pain_nrs": 5})
    assert engine.evaluate({"pain_nrs": 5}) == ["R1"]
    assert durable_rules_engine.get_facts(engine._handle, "triage-1") == "[]"


def test_an_engine_that_keeps_failing_stops_evaluating() -> None:
    """Each fault leaves a session behind (about a megabyte): after 16 the engine refuses,
    without asking durable again."""

    class BrokenEngine(RuleEngine):
        calls = 0

        def _run(self, fact: str, key: str) -> set[str]:
            self.calls += 1
            raise RuntimeError("durable failed")

    engine = BrokenEngine({"R1": {"pain_nrs": 5}})
    for _ in range(20):
        with pytest.raises(EngineError):
            engine.evaluate({"pain_nrs": 5})
    assert engine.calls == 16


def test_an_action_name_the_adapter_did_not_register_fails_closed() -> None:
    """The adapter reads action names off durable's messages: an unexpected one is an error."""

    class MisreadEngine(RuleEngine):
        def _run(self, fact: str, key: str) -> set[str]:
            return super()._run(fact, key) | {"R9#0"}

    with pytest.raises(EngineError):
        MisreadEngine({"R1": {"pain_nrs": 5}}).evaluate({"pain_nrs": 5})


def test_engine_refuses_unknown_operators() -> None:
    """durable's own refusal of a bad condition becomes EngineError at build time."""
    with pytest.raises(EngineError):
        RuleEngine({"R1": {"$nope": {"pain_nrs": 5}}})


def test_threads_get_their_own_answers(engine: RuleEngine, ruleset: Ruleset) -> None:
    """8 threads evaluating at once each get the answer of their own facts (one live session)."""
    intakes = [
        build_facts({"symptoms": {"pain_nrs": pain, "onset": "gradual"}}) for pain in range(11)
    ]
    expected = [set(engine.evaluate(facts)) for facts in intakes]
    wrong: list[int] = []

    def work() -> None:
        for _ in range(100):
            for index, facts in enumerate(intakes):
                if set(engine.evaluate(facts)) != expected[index]:
                    wrong.append(index)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_compiled_conditions_carry_no_not(ruleset: Ruleset) -> None:
    """durable has no 'not': negations are pushed to the leaves before the engine sees them."""
    for rule in ruleset.rules:
        assert rule.when is not None
        assert "not" not in repr(to_durable(rule.when))


def test_missing_catch_all_fails_closed() -> None:
    """If the catch-all did not fire, the evaluation is incomplete: EngineError, not an answer."""

    class IncompleteEngine(RuleEngine):
        def _run(self, fact: str, key: str) -> set[str]:
            return super()._run(fact, key) - {"zz_evaluated"}

    with pytest.raises(EngineError):
        IncompleteEngine({"R1": {"pain_nrs": 5}}).evaluate({"pain_nrs": 5})


def test_one_live_session_per_process() -> None:
    """Concurrent evaluations never overlap: at most one session is alive at any moment."""
    live = [0]
    peak = [0]

    class CountingEngine(RuleEngine):
        def _run(self, fact: str, key: str) -> set[str]:
            live[0] += 1
            peak[0] = max(peak[0], live[0])
            time.sleep(0.002)  # hand the GIL to the other threads mid-session
            try:
                return super()._run(fact, key)
            finally:
                live[0] -= 1

    engine = CountingEngine({"R1": {"pain_nrs": 5}})
    threads = [
        threading.Thread(target=lambda: [engine.evaluate({"pain_nrs": 5}) for _ in range(20)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] == 1
