"""The ruleset's types: a rule, its advice lines, the advice policy, and the whole ruleset."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from service.domain.conditions import Explainer, Node, Predicate
from service.domain.findings import Question


@dataclass(frozen=True)
class AdviceLine:
    """One advice line of a rule: its text, or the name of a shared line; call-back or not."""

    text: str | None
    shared: str | None = None
    call_back: bool = False


@dataclass(frozen=True, eq=False)  # identity: one object per rule per load, hashed fast
class Rule:
    """One rule as loaded: its condition compiled, its metadata checked."""

    id: str
    version: int
    title: str
    family: str
    when: Node | None
    source: Any = field(repr=False)  # the condition as written in the YAML
    predicate: Predicate = field(repr=False)
    explain: Explainer = field(repr=False)
    findings: frozenset[str]
    level: str
    urgency: str
    escalation: str | None
    destination: str
    setting: str
    needs_clinician_review: bool
    informational: bool
    statement: str
    advice: tuple[AdviceLine, ...]
    citations: tuple[str, ...]
    rank: tuple[int, int]  # (urgency index, level index): the higher, the more acute
    order: tuple[int, int, int, int]  # (clinical.md 1.2 step 4) ties: destination, then index
    # Rank order (clinical.md 1.2 step 4) as one sort key, made once: decide sorts by it on
    # every request.
    sort_key: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sort_key", (-self.rank[0], -self.rank[1], *self.order))


@dataclass(frozen=True)
class SharedLine:
    """An advice line whose text depends on a condition (clinical.md 7.8 A2)."""

    name: str
    when: Predicate = field(repr=False)
    then: str
    otherwise: str


@dataclass(frozen=True)
class Addition:
    """A line added to the answer's advice under a condition, at some urgencies (7.8 A3, A4)."""

    id: str
    when: Predicate = field(repr=False)
    urgencies: frozenset[str]
    line: str


@dataclass(frozen=True)
class AdvicePolicy:
    """How the answer's advice is assembled from the fired rules (clinical.md 7.8)."""

    call_back_destination: str
    today: frozenset[str]
    go_now: str
    informational_urgencies: frozenset[str]
    shared: Mapping[str, SharedLine]
    additions: tuple[Addition, ...]


# Review status of a translated text, weakest first: machine_assisted until a clinician and a
# medical translator have both signed it off. The source language (English) is `source`.
STATUSES = ("machine_assisted", "signed_off")
SOURCE_STATUS = "source"
SOURCE_LANGUAGE = "en"


@dataclass(frozen=True)
class Locale:
    """One language's texts by key, each with its review status, and its file's digest."""

    language: str
    name: str
    texts: Mapping[str, str] = field(repr=False)
    statuses: Mapping[str, str] = field(repr=False)
    sha256: str

    @cached_property  # every answer in the language names it; the texts never change
    def translation_status(self) -> str:
        """The weakest review status of any text: what an answer in this language can claim."""
        if self.language == SOURCE_LANGUAGE:
            return SOURCE_STATUS
        return min(self.statuses.values(), key=STATUSES.index, default=STATUSES[-1])

    @property
    def identity(self) -> dict[str, str]:
        return {"sha256": self.sha256, "translation_status": self.translation_status}

    def text(self, key: str, english: str) -> str:
        """The text of `key`, or the English when the locale may and does leave it out."""
        return self.texts.get(key, english)


@dataclass(frozen=True, repr=False)
class Ruleset:
    """A validated ruleset: rules in file order, orders, citations and identity."""

    id: str
    version: str
    sha256: str
    levels: tuple[str, ...]
    urgencies: tuple[str, ...]
    settings: tuple[str, ...]
    rules: tuple[Rule, ...]
    default: Rule
    citations: Mapping[str, Mapping[str, Any]]
    destinations: Mapping[str, str]
    helpers: Mapping[str, Any]  # helper name -> its condition as written in the manifest
    advice: AdvicePolicy
    asked_when: Mapping[str, Predicate]  # finding -> when a form asks it (clinical.md 2.2)
    asked_when_source: Mapping[str, Any]
    asked_when_reads: Mapping[str, frozenset[str]]  # finding -> the findings its situation reads
    questions: Mapping[str, Question]  # finding -> its wording (rules/questions.yaml)
    red_flag_screen: str  # the id of the rule that screens for an unknown danger sign
    card_indicators: Mapping[str, str]  # urgency -> CDS Hooks card indicator
    population: str
    unknown_promise: str
    disclaimer: str
    # Every text by locale key in this ruleset's language (service.domain.locales), and the
    # translations loaded beside the rules (rules/locales/*.yaml), by language.
    escalations: tuple[str, ...] = ()
    language: str = SOURCE_LANGUAGE
    texts: Mapping[str, str] = field(default_factory=dict)
    locales: Mapping[str, Locale] = field(default_factory=dict)
    # Made with the ruleset, not cached on first use: a cached_property fills the instance's
    # dict afterwards, and CPython 3.11 then reads every attribute of the ruleset the slow way
    # (decide and each answer read several: 4,600 instructions a request).
    # Every answer carries `identity` (read, never changed: copied where edited); decide()
    # reads `by_id` on every request.
    by_id: dict[str, Rule] = field(init=False, repr=False, compare=False)
    identity: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {rule.id: rule for rule in (*self.rules, self.default)})
        # Id, version, the sha256 of the English rules, and each translation's digest and
        # review status: together they fix every word of an answer in every language.
        identity = {
            "id": self.id,
            "version": self.version,
            "sha256": self.sha256,
            "locales": {
                language: locale.identity for language, locale in sorted(self.locales.items())
            },
        }
        object.__setattr__(self, "identity", identity)

    def __repr__(self) -> str:
        return f"<Ruleset {self.id} {self.version} sha256={self.sha256[:12]}>"

    def advice_texts(self, rule: Rule) -> list[str]:
        """A rule's advice lines as text, for catalogues: a shared line in both its forms."""
        texts = []
        for line in rule.advice:
            if line.shared is not None:
                shared = self.advice.shared[line.shared]
                texts += [shared.then, shared.otherwise]
            elif line.text is not None:
                texts.append(line.text)
        return texts
