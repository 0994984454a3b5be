"""Locale files: complete, current and faithful to the English placeholders, or no start; the
Spanish ruleset words everything and changes no code."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from service.domain.assessor import Triage
from service.domain.locales import is_optional, locale_document, placeholders
from service.domain.ruleset_loader import content_digest, load_ruleset
from service.exceptions import RulesetError
from tests.helpers import EXAMPLE, RULES, shipped_ruleset
from tests.helpers.locales import PSEUDO, is_wrapped, pseudo, rules_with_pseudo_locale, write_locale
from tests.helpers.yaml_text import dump_yaml, load_yaml

RULESET = shipped_ruleset()
ES_FILE = RULES / "locales" / "es.yaml"


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    return folder


def _edit_es(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = folder / "locales" / "es.yaml"
    data = load_yaml(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(dump_yaml(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_spanish_covers_every_required_key() -> None:
    """es.yaml has every key of the English catalogue but the optional publication titles."""
    spanish = RULESET.locales["es"]
    required = {key for key in RULESET.texts if not is_optional(key)}
    assert required <= set(spanish.texts)
    assert len(spanish.texts) == 776
    assert spanish.translation_status == "machine_assisted"


def test_every_spanish_entry_carries_its_review_status() -> None:
    """Each entry says machine_assisted or signed_off; none is signed off yet."""
    data = load_yaml(ES_FILE.read_text(encoding="utf-8"))
    statuses = {entry["status"] for entry in data["texts"].values()}
    assert statuses == {"machine_assisted"}


def test_the_locale_digest_is_part_of_the_identity_and_sha256_keeps_its_meaning() -> None:
    """`sha256` stays the digest of the English rules (as docs quote it); each locale adds its
    own digest and review status under `locales`."""
    data = load_yaml(ES_FILE.read_text(encoding="utf-8"))
    identity = RULESET.identity
    assert identity["locales"] == {
        "es": {"sha256": content_digest(data), "translation_status": "machine_assisted"}
    }


def test_sha256_does_not_move_with_the_translations(tmp_path: Path) -> None:
    """Without its locale files the ruleset has the same sha256: they are identified apart."""
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder, ignore=shutil.ignore_patterns("locales"))
    without = load_ruleset(folder)
    assert without.sha256 == RULESET.sha256
    assert without.identity["locales"] == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["texts"].pop("rule.EM1.title"), "missing 1 keys: rule.EM1.title"),
        (
            lambda d: d["texts"].update(
                {"rule.EM99.title": {"source": "x", "text": "y", "status": "machine_assisted"}}
            ),
            "keys that no longer exist: rule.EM99.title",
        ),
        (
            lambda d: d["texts"]["disclaimer"].update(source="Old English."),
            "disclaimer: translated from English that has since changed",
        ),
        (
            lambda d: d["texts"]["rule.UR1.title"].update(text="Ottawa {positivo}"),
            "rule.UR1.title: placeholders ['{positivo}'] differ from the English []",
        ),
        (
            lambda d: d["texts"]["rule.UR1.title"].update(status="approved"),
            "rule.UR1.title: status: Must be one of",
        ),
        (lambda d: d["texts"]["rule.UR1.title"].update(text=""), "rule.UR1.title: text"),
        (lambda d: d.update(language="fr"), "declares language 'fr', not 'es'"),
        (lambda d: d.update(extra=1), "extra: Unknown field"),
    ],
    ids=["missing", "stale", "english-changed", "placeholders", "status", "empty", "tag", "extra"],
)
def test_the_loader_refuses_a_broken_locale(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    """A locale that misses a key, keeps a stale one, was made from older English, changes the
    placeholders or is malformed stops the start, naming the file and the key."""
    folder = _copy(tmp_path)
    _edit_es(folder, change)
    with pytest.raises(RulesetError, match=r"locales/es\.yaml") as error:
        load_ruleset(folder)
    assert message in str(error.value)


def test_a_changed_english_text_needs_its_translation(tmp_path: Path) -> None:
    """Changing a rule's English statement without its Spanish stops the start."""
    folder = _copy(tmp_path)
    path = folder / "fracture.yaml"
    data = load_yaml(path.read_text(encoding="utf-8"))
    data["rules"][0]["statement"] = "A new statement."
    path.write_text(dump_yaml(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(RulesetError, match=r"rule\.UR1\.statement: translated from English"):
        load_ruleset(folder)


def test_english_cannot_be_a_locale_file(tmp_path: Path) -> None:
    """English is the source (rules/*.yaml): an en.yaml would be a second source."""
    folder = _copy(tmp_path)
    write_locale(folder, locale_document(RULESET.texts, "en", "English", lambda _k, t: t))
    with pytest.raises(RulesetError, match="English is the source"):
        load_ruleset(folder)


def test_placeholders_are_compared_as_sets_of_names() -> None:
    """The placeholder check reads `{name}` fields, in any order."""
    assert placeholders("{b} and {a}") == ["{a}", "{b}"]
    assert placeholders("no fields, {Not one}") == []


def test_adding_a_language_is_adding_a_file(tmp_path: Path) -> None:
    """A generated locale file is all a new language needs: the ruleset loads it, the assessor
    answers in it, with the same codes as English."""
    ruleset = load_ruleset(rules_with_pseudo_locale(tmp_path))
    assert set(ruleset.locales) == {"es", PSEUDO}
    triage = Triage(ruleset)
    english = triage.assess(EXAMPLE, "d", "en")
    wrapped = triage.assess(EXAMPLE, "d", PSEUDO)
    assert (wrapped.level, wrapped.urgency, wrapped.destination, wrapped.fired) == (
        english.level,
        english.urgency,
        english.destination,
        english.fired,
    )
    texts = [
        *(reason.title for reason in wrapped.rationale),
        *(reason.statement for reason in wrapped.rationale),
        *wrapped.advice,
        *(item.question for item in wrapped.follow_up),
        wrapped.disclaimer,
    ]
    assert all(is_wrapped(text) for text in texts), [t for t in texts if not is_wrapped(t)]
    assert [pseudo("", t) for t in english.advice] == list(wrapped.advice)
    assert wrapped.language == PSEUDO
    assert wrapped.translation_status == "machine_assisted"


def test_spanish_answer_keeps_every_code() -> None:
    """Every code, id and wire value of a Spanish answer is the English answer's."""
    triage = Triage(RULESET)
    english = triage.assess(EXAMPLE, "d")
    spanish = triage.assess(EXAMPLE, "d", "es")
    for name in ("level", "urgency", "escalation", "destination", "setting", "referrals"):
        assert getattr(spanish, name) == getattr(english, name)
    assert spanish.fired == english.fired
    assert [(f.finding, f.could_raise_to, f.rules) for f in spanish.follow_up] == [
        (f.finding, f.could_raise_to, f.rules) for f in english.follow_up
    ]
    assert spanish.rationale[0].title == "Regla de Ottawa positiva"
    assert english.translation_status == "source"
    assert spanish.translation_status == "machine_assisted"


def test_spanish_emergency_wording_is_unmistakable() -> None:
    """An emergency answer in Spanish says to go to urgencias now or call 911."""
    triage = Triage(RULESET)
    answer = triage.assess(
        {"symptoms": {"foot_cold_pale_or_blue": "yes", "pain_nrs": 8}}, "d", "es"
    )
    assert answer.urgency == "emergency"
    assert answer.advice[0] == "Vaya ahora; no espere a que le llamen."  # not the call-back
    assert answer.advice[1].startswith("Vaya a urgencias ahora o llame al 911")
    assert "llame al 911" in answer.disclaimer


def test_spanish_uses_usted_not_tu() -> None:
    """Patients are addressed as usted: no tú imperatives or possessives of the informal form."""
    informal = (" tu ", " tú ", " tienes ", " puedes ", " ve a ", " busca ", " toma tu")
    spanish = RULESET.locales["es"].texts.values()
    offenders = [t for t in spanish if any(word in f" {t.lower()} " for word in informal)]
    assert offenders == []
