"""Blueprint "pages": the try-it intake form at / for people, triaged as POST /v1/triage is."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, render_template, request

from service.domain.assessment import Assessment
from service.domain.ruleset import SOURCE_LANGUAGE, Ruleset
from service.domain.wording import HOW_SOON, SETTING_LABEL, display
from service.exceptions import EngineError
from service.http.auth import is_valid_key
from service.http.evaluation import evaluate
from service.http.language import Language, answer_language
from service.web.intake_form import (
    API_KEY_FIELD,
    FormResult,
    choices,
    form_layout,
    read_form,
)
from service.web.page_cache import site_data

pages = Blueprint("pages", __name__)


def how_soon(urgency: str) -> str:
    """An urgency in words ('today') in the page's language; an urgency the pages do not
    know, as its code reads."""
    return page_ruleset().texts.get(f"how_soon.{urgency}") or HOW_SOON.get(
        urgency, display(urgency).lower()
    )


def setting_words(setting: str) -> str:
    """A care setting in words in the page's language; one the pages do not know, as its
    code reads."""
    return page_ruleset().texts.get(f"setting_label.{setting}") or SETTING_LABEL.get(
        setting, display(setting)
    )


def words(code: str) -> str:
    """A level, urgency, escalation or setting in the page's language; else as its code reads."""
    texts = page_ruleset().texts
    for kind in ("level", "urgency", "escalation", "setting"):
        if f"{kind}.{code}" in texts:
            return texts[f"{kind}.{code}"]
    return display(code)


pages.add_app_template_filter(words, "words")
pages.add_app_template_filter(how_soon, "how_soon")
pages.add_app_template_filter(setting_words, "setting_words")


@pages.app_context_processor
def _identity() -> dict[str, Any]:
    """Every page names the ruleset it shows and the cases it was checked with (the footer),
    and has the layout's words (English unless a translated page chose its language)."""
    return {"ruleset": page_ruleset(), "site": site_data(), "t": page_ruleset().texts.__getitem__}


@pages.after_app_request
def _page_language_headers(response: Response) -> Response:
    """A page whose language was chosen says which (Content-Language), and that it depends on
    Accept-Language (Vary), so that a cache keeps the languages apart."""
    code = g.get("page_language")
    if code is not None and response.mimetype == "text/html":
        response.headers["Content-Language"] = code
        response.vary.add("Accept-Language")
    return response


def page_ruleset() -> Ruleset:
    """The ruleset worded in the page's language: English, unless the page is one of those
    translated (the intake form and its result), where `lang` or Accept-Language choose."""
    triage = current_app.extensions["triage"]
    language = getattr(g, "page_language", SOURCE_LANGUAGE)
    ruleset: Ruleset = triage.in_language(language)
    return ruleset


def choose_page_language(explicit: str | None = None) -> Language:
    """The language of a translated page: `explicit` (a form's carried choice), else `lang`,
    else Accept-Language, else English."""
    language, _words = answer_language(explicit)
    g.page_language = language.code
    return language


def languages() -> list[tuple[str, str]]:
    """(tag, name) of every language the pages can be read in, for the language switch."""
    triage = current_app.extensions["triage"]
    locales = triage.ruleset.locales
    return [(SOURCE_LANGUAGE, "English")] + [(tag, locales[tag].name) for tag in sorted(locales)]


def _keys() -> tuple[str, ...]:
    keys: tuple[str, ...] = current_app.config["API_KEYS"]
    return keys


def also_referred(answer: Assessment) -> list[dict[str, Any]]:
    """The referrals besides the destination shown first (clinical.md 1.2 step 9).

    One entry per destination, in rank order, so at its most urgent; the answer's own
    destination is left out (it leads the result), however many rules name it.
    """
    seen = {answer.destination}
    also: list[dict[str, Any]] = []
    for referral in answer.referrals:
        if referral.destination in seen:
            continue
        seen.add(referral.destination)
        rule_ids = [
            other.rule_id for other in answer.referrals if other.destination == referral.destination
        ]
        also.append({**vars(referral), "rule_ids": rule_ids})
    return also


def _read() -> tuple[FormResult, int]:
    """The posted form, refused (401) without a valid key when API keys are configured.

    No path triages without a credential: the person types the key into the form (it is never
    put in the page), and it is compared here, server-side, in constant time, as auth.py does.
    """
    result = read_form(request.form)
    keys = _keys()
    if keys:
        if not is_valid_key(request.form.get(API_KEY_FIELD, ""), keys):
            message = page_ruleset().texts["problem.api_key"]
            errors = [{"field": API_KEY_FIELD, "message": message}]
            return FormResult(None, errors, result.answers), 401  # what was typed is kept
    return result, 422 if result.errors else 200


def _context(result: FormResult | None = None) -> dict[str, Any]:
    """What the form and the result templates need; the answer is triaged through evaluate()."""
    language = choose_page_language()
    words = page_ruleset()
    answer = None
    engine_failed = False
    if result is not None and result.intake is not None:
        try:
            answer = evaluate(result.intake, language=language.code)
        except EngineError:
            # A person sees a page with the safety net, never the API's problem JSON; still no
            # triage is guessed (fail closed).
            engine_failed = True
    layout = form_layout(words)
    translate = current_app.extensions["triage"].problem_texts[language.code]
    errors = [
        {**error, "message": translate(error["message"])}
        for error in (result.errors if result else [])
    ]
    return {
        "lang": language.code,
        "languages": languages(),
        "lang_query": "" if language.code == SOURCE_LANGUAGE else f"?lang={language.code}",
        "sections": layout.sections,
        "situations": layout.situations,
        "choices": lambda finding: choices(finding, words.texts),
        "findings": words.questions,
        "injury_legend": words.texts["page.section.injury"],
        "answers": result.answers if result else {},
        "errors": errors,
        "answer": answer,
        "also_referred": also_referred(answer) if answer else [],
        "needs_key": bool(_keys()),
        "engine_failed": engine_failed,
        "safety_net": words.disclaimer,
    }


@pages.get("/", provide_automatic_options=False)
def intake_form() -> Any:
    """The empty form: every answer unknown."""
    return render_template("intake/index.html", **_context())


@pages.post("/", provide_automatic_options=False)
def intake_result() -> Any:
    """JavaScript off: the form posted, the whole page again with the answer or field errors."""
    result, status = _read()
    context = _context(result)
    status = 500 if context["engine_failed"] else status
    return render_template("intake/index.html", **context), status


@pages.post("/result", provide_automatic_options=False)
def intake_fragment() -> Any:
    """JavaScript on: the same post, answered with the result fragment only (in-place update)."""
    result, status = _read()
    context = _context(result)
    status = 500 if context["engine_failed"] else status
    return render_template("intake/_result.html", **context), status
