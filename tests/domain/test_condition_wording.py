"""Conditions in words: the parsed tree worded with the questions' labels, helpers named."""

from __future__ import annotations

from typing import Any

import pytest

from service.domain.condition_wording import (
    Phrase,
    describe_plain,
    helper_nodes,
    markdown,
    phrase,
    plain,
    rule_phrase,
)
from service.domain.conditions import parse
from service.domain.ruleset import Ruleset


def _leaves(words: Phrase) -> list[Phrase]:
    return [words] if not words.parts else [leaf for part in words.parts for leaf in _leaves(part)]


def _helpers_named(words: Phrase) -> set[str]:
    named = {words.helper} if words.helper else set()
    return named.union(*(_helpers_named(part) for part in words.parts))


def test_a_rule_is_worded_from_its_questions(ruleset: Ruleset) -> None:
    """EM3: all of a hot swollen joint and any of fever, unwell or immunosuppressed."""
    label = {name: question.label for name, question in ruleset.questions.items()}
    words = rule_phrase(ruleset.by_id["EM3"], ruleset.questions, helper_nodes(ruleset.helpers))
    assert words == Phrase(
        "all of",
        (
            Phrase(f"{label['hot_swollen_joint']} is yes"),
            Phrase(
                "any of",
                tuple(
                    Phrase(f"{label[name]} is yes")
                    for name in ("fever", "systemically_unwell", "immunosuppressed")
                ),
            ),
        ),
    )


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ("pain_nrs >= 7", "{pain_nrs} ≥ 7"),
        ("days_since_onset is null", "{days_since_onset} is unknown"),
        ("days_since_onset is not null", "{days_since_onset} is known"),
        ("YU(diabetes)", "{diabetes} is yes or unknown"),
        ("onset in [gradual, sudden_no_injury]", "{onset} is gradual or sudden no injury"),
        ("swelling != none", "{swelling} is not none"),
        ({"not": "Y(fever)"}, "not ({fever} is yes)"),
        (
            {"not": {"any": ["Y(fever)", "Y(redness)"]}},
            "none of ({fever} is yes; {redness} is yes)",
        ),
    ],
)
def test_leaves_read_as_the_question_wording(ruleset: Ruleset, tree: Any, expected: str) -> None:
    """Numbers with symbols, unknown numbers, yes-or-unknown, word answers, negations."""
    label = {name: question.label for name, question in ruleset.questions.items()}
    assert plain(phrase(parse(tree), ruleset.questions, {})) == expected.format(**label)


def test_helpers_are_spelt_out_and_named(ruleset: Ruleset) -> None:
    """A rule naming a helper shows the helper's condition, labelled with its name; a helper's
    own definition is not labelled with itself but names the helpers it uses."""
    helpers = helper_nodes(ruleset.helpers)
    using = [rule for rule in ruleset.rules if "WB_UNABLE" in str(rule.source)]
    assert using
    for rule in using:
        assert "WB_UNABLE" in _helpers_named(rule_phrase(rule, ruleset.questions, helpers))
    own = phrase(helpers["TWO_LOCAL_SIGNS"], ruleset.questions, helpers, own="TWO_LOCAL_SIGNS")
    assert own.helper is None
    assert _helpers_named(own) == {"SWOLLEN"}


def test_every_leaf_of_every_rule_starts_with_a_question_label(ruleset: Ruleset) -> None:
    """No machine names: each leaf begins with the wording a patient or clinician reads."""
    helpers = helper_nodes(ruleset.helpers)
    labels = tuple(question.label for question in ruleset.questions.values())
    for rule in ruleset.rules:
        for leaf in _leaves(rule_phrase(rule, ruleset.questions, helpers)):
            assert leaf.text.startswith(labels), (rule.id, leaf.text)
    assert plain(rule_phrase(ruleset.default, ruleset.questions, helpers)) == "no other rule fired"


def test_markdown_nests_groupings_and_escapes_the_text() -> None:
    """docs/rules.md: a nested list; Markdown's characters in a label are shown as written."""
    words = Phrase("any of", (Phrase("a*b_c `d`", helper="X"), Phrase("e")), helper="Y")
    assert markdown(words) == [
        "- any of (helper Y):",
        "  - a\\*b\\_c \\`d\\` (helper X)",
        "  - e",
    ]


def test_the_plain_situation_text_words_every_kind_of_leaf() -> None:
    """describe_plain (the `asked_when` of GET /v1/questions): YU, null tests, lists, helpers
    written out, and negated groups, with no Markdown left."""
    tree = {
        "any": [
            "YU(neuropathy)",
            "steps_now is null",
            "swelling in [localized, diffuse]",
            {"not": "INJURY"},
            "pain_nrs is not null",
            {"not": {"all": ["Y(fever)", "pain_nrs >= 7"]}},
        ]
    }
    assert describe_plain(tree, {"INJURY": "onset == injury"}) == (
        "(neuropathy is yes or unknown) or steps_now is unknown or (swelling is localized or "
        "diffuse) or not (onset is injury) or pain_nrs is known or not (fever is yes and "
        "pain_nrs ≥ 7)"
    )
