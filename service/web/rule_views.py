"""Blueprint "catalogue_pages": the rule catalogue, one rule with its cases, the safety report."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, request

from service.domain.condition_wording import Phrase, helper_nodes, phrase, rule_phrase
from service.domain.ruleset import SOURCE_LANGUAGE, Rule, Ruleset
from service.web.intake_views import choose_page_language, languages, page_ruleset
from service.web.page_cache import site_data

catalogue_pages = Blueprint("catalogue_pages", __name__)


def _english() -> Ruleset:
    """The rules as written: their conditions are shown in English, with the questions' codes."""
    ruleset: Ruleset = current_app.extensions["triage"].ruleset
    return ruleset


def _ruleset() -> Ruleset:
    """The ruleset worded in the page's language (`lang`, else Accept-Language, else English)."""
    choose_page_language()
    return page_ruleset()


def _language() -> dict[str, Any]:
    """What the layout needs to show the page's language and offer the others."""
    code = page_ruleset().language
    return {
        "lang": code,
        "languages": languages(),
        "lang_query": "" if code == SOURCE_LANGUAGE else f"?lang={code}",
    }


# What an API client or a browser may accept, the API's own answer first: no Accept header,
# */* (curl) or JSON keep the problem+json.
_ANSWER_TYPES = ("application/problem+json", "application/json", "text/html")


def _wants_html() -> bool:
    """The client prefers an HTML page to problem+json (a browser's Accept)."""
    return request.accept_mimetypes.best_match(_ANSWER_TYPES) == "text/html"


def advice_items(ruleset: Ruleset, rule: Rule) -> list[tuple[str, str]]:
    """(line, note) of a rule's advice as the answer assembles it (clinical.md 7.8)."""
    policy = ruleset.advice
    texts = ruleset.texts
    items: list[tuple[str, str]] = []
    for line in rule.advice:
        if line.shared is not None:
            shared = policy.shared[line.shared]
            note = texts["page.rule.shared_note"].format(name=shared.name)
            items += [(shared.then, note), (shared.otherwise, note)]
        elif line.text is not None:
            note = ""
            if line.call_back:
                note = texts["page.rule.call_back_note"].format(go_now=policy.go_now)
            items.append((line.text, note))
    return items


@catalogue_pages.get("/rules", provide_automatic_options=False)
def rule_catalogue() -> Any:
    """Every rule: condition in words, level, urgency, citations; the ruleset identity."""
    ruleset = _ruleset()
    english = _english()
    rules = (*ruleset.rules, ruleset.default)
    families = {rule.family: [r for r in rules if r.family == rule.family] for rule in rules}
    helpers = helper_nodes(english.helpers)
    words: dict[str, Phrase] = {
        name: phrase(node, english.questions, helpers, own=name) for name, node in helpers.items()
    }
    return render_template(
        "rules/catalogue.html",
        ruleset=ruleset,
        rules=rules,
        families=list(families.items()),
        helpers=words,
        conditions={rule.id: rule_phrase(rule, english.questions, helpers) for rule in rules},
        **_language(),
    )


@catalogue_pages.get("/rules/<rule_id>", provide_automatic_options=False)
def one_rule(rule_id: str) -> Any:
    """One rule and the rule cases that expect it to fire or to stay silent."""
    ruleset = _ruleset()
    rule = ruleset.by_id.get(rule_id)
    if rule is None:
        if _wants_html():  # a person following a link: a page, not the API's problem+json
            return render_template("rules/not_found.html", ruleset=ruleset, **_language()), 404
        abort(404, description="No rule has this id.")
    cases = site_data().cases
    return render_template(
        "rules/rule.html",
        ruleset=ruleset,
        rule=rule,
        condition=rule_phrase(rule, _english().questions, helper_nodes(ruleset.helpers)),
        advice=advice_items(ruleset, rule),
        fires=[case for case in cases if rule.id in case.fired],
        silent=[case for case in cases if rule.id in case.not_fired],
        **_language(),
    )


@catalogue_pages.get("/safety", provide_automatic_options=False)
def safety_report() -> Any:
    """The safety report of the rule cases and the vignettes, replayed once, at start."""
    data = site_data()
    ruleset = _ruleset()
    return render_template(
        "rules/safety.html",
        ruleset=ruleset,
        rules=(*ruleset.rules, ruleset.default),
        summary=data.safety,
        with_vignettes=data.with_vignettes,
        **_language(),
    )
