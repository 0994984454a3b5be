"""The HTML pages without a browser: headers, the generated form, the no-JS post, the catalogue."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from service.domain.condition_wording import Phrase, helper_nodes, rule_phrase
from service.domain.findings import FINDINGS
from service.domain.intake_validator import IntakeValidator
from service.domain.ruleset import Ruleset
from service.review.cases import load_cases, load_vignettes
from service.review.cli import VIGNETTES, suites
from service.review.safety_report import summarise
from service.web.intake_form import INJURY_LEGEND, form_layout, read_form
from tests.helpers import ROOT, RULES, AppFactory
from tests.helpers.web import CHILD, EMERGENCY, FRACTURE, SELF_CARE, parse

PAGES = ("/", "/interview", "/rules", "/rules/UR1", "/rules/PED1", "/safety", "/docs")
CSS = (ROOT / "service" / "web" / "static" / "site.css").read_text(encoding="utf-8")


def _intake(form: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The JSON body /v1/triage gets for the same answers."""
    body: dict[str, dict[str, Any]] = {}
    for name, value in form.items():
        finding = FINDINGS[name]
        body.setdefault(finding.group, {})[name] = int(value) if finding.is_numeric else value
    return body


def _fired(html: str) -> list[str]:
    return re.findall(r'<li><a href="/rules/([A-Z]+[0-9]*[a-z]?)">', html)


def _escaped(text: str) -> str:
    """Text as Jinja's autoescape writes it into the page."""
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;")):
        text = text.replace(raw, entity)
    return text.replace("'", "&#39;")


def _between(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_html_with_no_store_and_a_strict_policy(
    client: FlaskClient, path: str
) -> None:
    """200 text/html, never cached, scripts and styles from this origin only."""
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script_or_style_and_nothing_remote(
    client: FlaskClient, path: str
) -> None:
    """Every script is a local file; no inline handler or style; a viewport for phones."""
    page = parse(client.get(path).get_data(as_text=True))
    assert page.script_text == []
    for element in page.elements:
        assert not [name for name in element.attrs if name.startswith("on")], element
        assert "style" not in element.attrs
        assert element.tag != "style"
        for name in ("src", "href"):
            url = element.attrs.get(name, "")
            if element.tag in {"script", "link", "img"} and url:
                assert url.startswith(("/", "data:")), url
    assert any(e.tag == "meta" and e.attrs.get("name") == "viewport" for e in page.elements)


@pytest.mark.parametrize("form", [EMERGENCY, FRACTURE, CHILD])
@pytest.mark.parametrize("path", ["/", "/result"])
def test_results_have_no_inline_script_or_style(
    client: FlaskClient, path: str, form: dict[str, str]
) -> None:
    """The answered page and the fragment keep the policy: no inline script, style or handler."""
    response = client.post(path, data=form)
    assert response.status_code == 200
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    page = parse(response.get_data(as_text=True))
    assert page.script_text == []
    for element in page.elements:
        assert not [name for name in element.attrs if name.startswith("on")], element
        assert "style" not in element.attrs
        assert element.tag != "style"


def test_every_question_is_in_the_form_with_a_label(client: FlaskClient, ruleset: Ruleset) -> None:
    """One control per finding; every input and select labelled; unknown is the default."""
    page = parse(client.get("/").get_data(as_text=True))
    controls = [e for e in page.elements if e.tag in {"input", "select"}]
    assert {e.attrs["name"] for e in controls} == set(FINDINGS)
    assert len(FINDINGS) == 49  # clinical.md 2, rows 1-49
    for control in controls:
        assert control.in_label or control.attrs.get("id") in page.label_for, control
    for name, finding in ruleset.questions.items():
        if finding.kind == "tri_state":
            radios = [e for e in controls if e.attrs["name"] == name]
            assert [r.attrs["value"] for r in radios] == ["unknown", "yes", "no"]
            assert [r.attrs["value"] for r in radios if "checked" in r.attrs] == ["unknown"]
            assert radios[0].legends[-1] == finding.label  # the group's own legend
    options = [e for e in page.elements if e.tag == "option" and "selected" in e.attrs]
    assert {o.attrs["value"] for o in options} == {"unknown"}


def test_injury_questions_are_in_their_own_fieldset(client: FlaskClient, ruleset: Ruleset) -> None:
    """Exactly the questions the manifest asks only after an injury, under one legend."""
    page = parse(client.get("/").get_data(as_text=True))
    inside = {
        e.attrs["name"]
        for e in page.elements
        if e.tag in {"input", "select"} and INJURY_LEGEND in e.legends
    }
    injury = {name for name, when in ruleset.asked_when_source.items() if when == "INJURY"}
    assert injury == {"injury_mechanism", "steps_immediately", "pain_out_of_proportion"}
    assert inside == injury
    assert {"About you", "Your history", "Your symptoms", INJURY_LEGEND} <= set(page.legends)
    # clinical.md 2.2: asked of everyone from 2027.1, so never inside the injury fieldset.
    assert not {"visible_deformity", "open_wound_at_injury", "plantar_bruising"} & inside
    (fieldset,) = [e for e in page.elements if e.attrs.get("id") == "section-injury"]
    assert fieldset.attrs["data-asked-if"] == "onset"
    assert fieldset.attrs["data-asked-values"] == "injury"
    assert fieldset.attrs["data-asked-empty"] == "no"


def test_situational_questions_carry_when_they_are_asked(
    client: FlaskClient, ruleset: Ruleset
) -> None:
    """The pregnancy question is marked for the script: asked with no age or at 12-55 only."""
    page = parse(client.get("/").get_data(as_text=True))
    marked = {e.attrs["id"]: e.attrs for e in page.elements if "data-asked-if" in e.attrs}
    assert set(marked) == {"section-injury", "q-pregnant"}
    pregnant = marked["q-pregnant"]
    assert pregnant["data-asked-if"] == "age_years"
    assert pregnant["data-asked-ranges"] == "12-55"
    assert pregnant["data-asked-empty"] == "yes"
    assert pregnant["data-asked-bounds"] == "0-120"
    # Every question with an asked_when is marked, by itself or by its fieldset.
    layout = form_layout(ruleset)
    injury = next(section for section in layout.sections if section.key == "injury")
    assert set(layout.situations) | {q.name for q in injury.questions} == set(
        ruleset.asked_when_source
    )
    # What the marks say agrees with the manifest's own predicate at every age.
    asks = ruleset.asked_when["pregnant"]
    for age in range(0, 121):
        facts = {name: ("unknown" if not f.is_numeric else None) for name, f in FINDINGS.items()}
        assert asks({**facts, "age_years": age}) == (12 <= age <= 55), age


def test_an_untouched_form_is_an_all_unknown_intake(client: FlaskClient) -> None:
    """Posting the defaults answers as /v1/triage does for {}."""
    page = parse(client.get("/").get_data(as_text=True))
    form = {
        e.attrs["name"]: e.attrs.get("value", "")
        for e in page.elements
        if e.tag == "input" and ("checked" in e.attrs or e.attrs.get("type") == "number")
    }
    form |= {name: "unknown" for name, f in FINDINGS.items() if f.kind == "enum"}
    html = client.post("/", data=form).get_data(as_text=True)
    api = client.post("/v1/triage", json={}).get_json()
    assert _fired(html) == [entry["rule_id"] for entry in api["rationale"]]


@pytest.mark.parametrize(
    ("form", "level", "urgency"),
    [
        (EMERGENCY, "Orthopedic surgeon", "Emergency"),
        (FRACTURE, "Orthopedic surgeon", "Urgent"),
        (SELF_CARE, "Self care", "Routine"),
        (CHILD, "Self care", "Routine"),
    ],
)
def test_the_plain_post_answers_as_the_api(
    client: FlaskClient, ruleset: Ruleset, form: dict[str, str], level: str, urgency: str
) -> None:
    """JavaScript off: the whole page with the same rules, outcome and advice as /v1/triage."""
    response = client.post("/", data=form)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    api = client.post("/v1/triage", json=_intake(form)).get_json()
    assert _fired(html) == [entry["rule_id"] for entry in api["rationale"]]
    destination = ruleset.destinations[api["destination"]]
    assert f'<p class="destination" id="destination">{_escaped(destination)}</p>' in html
    assert f'data-destination="{api["destination"]}"' in html
    assert f'<dd class="level">{level}</dd>' in html
    assert f'<dd class="urgency">{urgency}</dd>' in html
    advice = _between(html, '<ul class="advice">', "</ul>")
    assert re.findall(r"<li>(.*?)</li>", advice) == [_escaped(line) for line in api["advice"]]
    for key in (c["key"] for c in api["citations"]):
        assert f'href="#cite-{key}"' in html
        assert f'id="cite-{key}"' in html
    assert ('role="alert"' in html) == (urgency == "Emergency")
    assert ('id="emergency-banner"' in html) == (urgency == "Emergency")
    assert ('id="review-note"' in html) == api["needs_clinician_review"]
    assert "<form" in html  # the form again, to change an answer


@pytest.mark.parametrize(
    ("form", "how_soon", "setting"),
    [
        (EMERGENCY, "Now", "Must be seen in person"),
        (FRACTURE, "Today", "Must be seen in person"),
        (CHILD, "Routine appointment", "A video or phone appointment can be the first step"),
    ],
)
def test_the_result_leads_with_where_to_go(
    client: FlaskClient, form: dict[str, str], how_soon: str, setting: str
) -> None:
    """Where to go, how soon and whether in person come first; the care level after them."""
    html = client.post("/result", data=form).get_data(as_text=True)
    where = html.index('id="destination"')
    soon = html.index(f'<dd class="how-soon">{how_soon}</dd>')
    in_person = html.index(f'<dd class="setting">{setting}</dd>')
    level = html.index('<dd class="level">')
    assert where < soon < in_person < level
    assert html.index('id="result-title">Where to go<') < where
    if 'id="emergency-banner"' in html:
        assert html.index('id="emergency-banner"') < where  # the banner stays on top


def test_self_care_at_home_says_no_appointment(client: FlaskClient) -> None:
    """Self-care at home has no "how soon" or "in person" to give: neither line is shown."""
    html = client.post("/result", data=SELF_CARE).get_data(as_text=True)
    assert 'data-destination="self_care_at_home"' in html
    assert '<p class="destination" id="destination">Self-care at home</p>' in html
    assert 'class="how-soon"' not in html
    assert 'class="setting"' not in html
    assert "Also referred to" not in html


def test_every_other_referral_is_listed_once(client: FlaskClient, ruleset: Ruleset) -> None:
    """After an injury: the fracture clinic leads; the call-back and physiotherapy follow."""
    html = client.post("/result", data=FRACTURE).get_data(as_text=True)
    api = client.post("/v1/triage", json=_intake(FRACTURE)).get_json()
    assert api["destination"] == "fracture_clinic"
    also = _between(html, 'id="also-title"', "</ul>")
    listed = re.findall(r'<li data-destination="([a-z_]+)">', also)
    expected = list(
        dict.fromkeys(
            r["destination"] for r in api["referrals"] if r["destination"] != "fracture_clinic"
        )
    )
    assert listed == expected == ["clinician_call_back", "physical_therapy"]
    assert f"<strong>{ruleset.destinations['clinician_call_back']}</strong>:" in also
    assert '<span class="how-soon">today</span>' in also
    assert '<span class="how-soon">routine appointment</span>' in also
    assert '<a href="/rules/G2">G2</a>, <a href="/rules/G3">G3</a>' in also
    assert html.index('id="destination"') < html.index('id="also-title"')
    assert html.index('id="also-title"') < html.index('<dd class="level">')


def test_a_child_goes_to_a_doctor_who_sees_children(client: FlaskClient, ruleset: Ruleset) -> None:
    """Under 16: never refused; the paediatric destination and the review note (PED1)."""
    response = client.post("/result", data=CHILD)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    paediatric = _escaped(ruleset.destinations["paediatric_assessment"])
    assert f'<p class="destination" id="destination">{paediatric}</p>' in html
    assert "PED1" in _fired(html)
    assert '<p class="review" id="review-note">A clinician should review these answers.</p>' in html
    assert html.index('id="review-note"') < html.index('<dd class="level">')
    assert f"Who this is for: {_escaped(ruleset.population)}" in html


def test_the_population_and_the_unknown_promise_are_stated(
    client: FlaskClient, ruleset: Ruleset
) -> None:
    """On the form (the promise beside the Unknown explanation), the result and the safety page."""
    form = client.get("/").get_data(as_text=True)
    population = _escaped(ruleset.population)
    promise = _escaped(ruleset.unknown_promise)
    assert population in _between(form, 'id="population"', "</p>")
    unknown = _between(form, 'id="unknown-promise"', "</p>")
    assert "leave the rest as Unknown. What Unknown does: " in unknown
    assert promise in unknown
    assert form.index('id="result"') < form.index('id="unknown-promise"') < form.index("<form")
    assert "never lowers the result" not in form  # the old, wider promise is gone
    result = client.post("/result", data=EMERGENCY).get_data(as_text=True)
    assert f"Who this is for: {population}" in result
    safety = client.get("/safety").get_data(as_text=True)
    assert promise in _between(safety, 'id="unknown-promise"', "</p>")


def test_the_fragment_is_the_result_only(client: FlaskClient) -> None:
    """JavaScript on posts to /result: the same answer, without the page around it."""
    html = client.post("/result", data=EMERGENCY).get_data(as_text=True)
    assert "<html" not in html
    assert 'data-urgency="emergency"' in html
    assert 'role="alert"' in html


def test_situational_answers_are_sent_as_answered(client: FlaskClient) -> None:
    """Injury-only and pregnancy answers reach the rules as through the API, whatever onset or age.

    EM8 (compartment syndrome) still needs an injury; a deformity (asked of everyone since
    2027.1) fires UR10 with or without one.
    """
    tight = {"pain_out_of_proportion": "yes"}
    assert "EM8" in _fired(client.post("/", data={"onset": "injury", **tight}).text)
    assert "EM8" not in _fired(client.post("/", data={"onset": "gradual", **tight}).text)
    deformity = {"visible_deformity": "yes"}
    assert "UR10" in _fired(client.post("/", data={"onset": "gradual", **deformity}).text)
    kept = read_form(MultiDict({"onset": "gradual", **tight, "age_years": "60", "pregnant": "yes"}))
    assert kept.intake is not None
    assert kept.intake["symptoms"]["pain_out_of_proportion"] == "yes"
    assert kept.intake["patient"] == {"age_years": 60, "pregnant": "yes"}


def _form(intake: dict[str, dict[str, Any]]) -> MultiDict[str, str]:
    return MultiDict(
        [
            (name, "" if value is None else str(value))
            for answers in intake.values()
            for name, value in answers.items()
        ]
    )


@pytest.mark.parametrize(
    "intake",
    [
        # Whatever vignettes are there when the tests run (the suite is rewritten per ruleset).
        *[v.intake for v in load_vignettes(VIGNETTES)],
        {"symptoms": {"open_wound_at_injury": "yes", "visible_deformity": "yes", "pain_nrs": 3}},
        {"symptoms": {"onset": "gradual", "plantar_bruising": "yes", "steps_immediately": 2}},
        {"patient": {"age_years": 70, "pregnant": "yes"}, "symptoms": {"onset": "gradual"}},
        {
            "symptoms": {
                "onset": "unknown",
                "pain_out_of_proportion": "no",
                "injury_mechanism": "twist",
            }
        },
    ],
)
def test_the_form_gives_the_api_intake(intake: dict[str, dict[str, Any]]) -> None:
    """Every answer set becomes the intake the API validates: same result, same follow-up."""
    expected = IntakeValidator().load(
        {
            g: {k: v for k, v in a.items() if v is not None and v != "unknown"}
            for g, a in intake.items()
        }
    )
    result = read_form(_form(intake))
    assert result.errors == []
    assert result.intake == {group: answers for group, answers in expected.items() if answers}


def test_field_errors_name_the_question_and_echo_nothing(client: FlaskClient) -> None:
    """422 with the messages of /v1/triage, linked to the questions; no value sent is shown."""
    response = client.post(
        "/",
        data={
            "pain_nrs": "11",
            "age_years": "<b>zq-marker-1</b>",
            "fever": "zq-marker-2",
            "zq-marker-3": "x",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "zq-marker" not in html
    assert 'href="#q-pain_nrs">Worst pain (0-10)</a>: Must be greater than or equal to 0' in html
    assert 'href="#q-age_years">Age (years)</a>: Not a valid integer.' in html
    assert 'href="#q-fever">Fever</a>: Must be one of: yes, no, unknown.' in html
    assert "(unknown key): Unknown field." in html
    assert 'aria-invalid="true"' in html
    assert 'data-urgency="' not in html  # no result alongside errors


def test_an_answer_given_twice_is_refused(client: FlaskClient) -> None:
    """As a repeated JSON key is: ambiguous, so refused rather than one picked."""
    response = client.post("/result", data=MultiDict([("fever", "no"), ("fever", "yes")]))
    assert response.status_code == 422
    assert "Answered twice." in response.get_data(as_text=True)


def test_valid_answers_are_kept_after_an_error(client: FlaskClient) -> None:
    """The page shown again keeps what was valid, so only the wrong answer needs changing."""
    html = client.post("/", data={"fever": "yes", "pain_nrs": "99", "age_years": "40"}).text
    assert 'name="fever" value="yes" aria-describedby="help-fever" checked' in html
    assert 'value="40"' in html
    assert 'value="99"' not in html


def test_with_api_keys_the_form_asks_for_one(app_factory: AppFactory) -> None:
    """No path triages without a credential; the key is typed in, never put in the page."""
    key = "k" * 16
    keyed = app_factory({"API_KEYS": key}).test_client()
    page = keyed.get("/").get_data(as_text=True)
    assert 'type="password" id="f-api_key" name="api_key"' in page
    assert key not in page
    refused = keyed.post("/", data={**EMERGENCY, "api_key": "wrong-key-zq"})
    assert refused.status_code == 401
    assert "wrong-key-zq" not in refused.get_data(as_text=True)
    assert 'data-urgency="' not in refused.get_data(as_text=True)
    assert keyed.post("/result", data=EMERGENCY).status_code == 401
    answered = keyed.post("/result", data={**EMERGENCY, "api_key": key})
    assert answered.status_code == 200
    assert key not in answered.get_data(as_text=True)
    assert "api_key" not in parse_fields(keyed.get("/rules").get_data(as_text=True))


def parse_fields(html: str) -> set[str]:
    """Names of the form fields of a page."""
    return {e.attrs.get("name", "") for e in parse(html).elements if e.tag == "input"}


def test_without_api_keys_the_form_asks_for_none(client: FlaskClient) -> None:
    """The default, open configuration has no key field."""
    assert "api_key" not in parse_fields(client.get("/").get_data(as_text=True))


def _condition_html(app: Flask, words: Phrase) -> str:
    """A condition as the pages render it (rules/_condition.html)."""
    macro = app.jinja_env.get_template("rules/_condition.html").module.condition  # type: ignore[attr-defined]
    return str(macro(words))


def test_catalogue_lists_every_rule_in_words(
    app: Flask, client: FlaskClient, ruleset: Ruleset
) -> None:
    """Ids, conditions in words (escaped), once each, levels, urgencies, citations, version and
    sha256."""
    helpers = helper_nodes(ruleset.helpers)
    html = client.get("/rules").get_data(as_text=True)
    assert ruleset.version in html
    assert ruleset.sha256 in html
    for rule in (*ruleset.rules, ruleset.default):
        assert f'<a href="/rules/{rule.id}">{rule.id}</a>' in html
        row = _between(html, f'<tr id="rule-{rule.id}"', "</tr>")
        assert row.count(_condition_html(app, rule_phrase(rule, ruleset.questions, helpers))) == 1
        for key in rule.citations:
            assert f'href="/rules#cite-{key}"' in html
    for key in ruleset.citations:
        assert f'id="cite-{key}"' in html


def test_catalogue_shows_where_each_rule_sends_and_how(
    client: FlaskClient, ruleset: Ruleset
) -> None:
    """Each row: destination text, setting, the informational flag; the children family listed."""
    html = client.get("/rules").get_data(as_text=True)
    for rule in (*ruleset.rules, ruleset.default):
        row = _between(html, f'<tr id="rule-{rule.id}"', "</tr>")
        assert f'data-family="{rule.family}"' in row
        where = _escaped(ruleset.destinations[rule.destination])
        assert f'<span class="where">{where}</span>' in row
        setting = {"in_person": "Must be seen in person"}.get(rule.setting, "A video or phone")
        assert f'<span class="flag setting">{setting}' in row
        assert ("Informational: never sets the care level" in row) == rule.informational
    children = _between(html, 'id="family-children"', "</li>")
    assert re.findall(r'href="#rule-([A-Z0-9]+)"', children) == ["PED1", "PED2", "PED3"]
    assert "informational" not in _between(html, '<tr id="rule-PED1"', "</tr>").lower()
    assert _escaped(ruleset.population) in html
    assert "at that urgency" not in html  # aggregation v1 is gone (clinical.md 1.2)


def test_one_rule_shows_destination_setting_and_advice_as_text(
    client: FlaskClient, ruleset: Ruleset
) -> None:
    """/rules/PED1: the paediatric destination, virtual, not informational, its call-back line."""
    html = client.get("/rules/PED1").get_data(as_text=True)
    rule = ruleset.by_id["PED1"]
    assert rule.family == "children"
    where = _escaped(ruleset.destinations["paediatric_assessment"])
    assert f'<dd class="where">{where}</dd>' in html
    assert '<dd class="setting">Virtual suitable: a video or phone appointment' in html
    assert '<dd class="informational">No</dd>' in html
    assert 'href="/rules#family-children">children</a>' in html
    advice = _between(html, '<ul class="rule-advice">', "</ul>")
    for text in ruleset.advice_texts(rule):
        assert _escaped(text) in advice
    assert "AdviceLine" not in html
    assert "call-back line: replaced by" in advice
    sc2 = client.get("/rules/SC2").get_data(as_text=True)
    assert "Yes: it explains a self-care answer and never sets the care level" in sc2


def test_one_rule_shows_its_cases(client: FlaskClient) -> None:
    """/rules/UR1 lists the rule cases expecting it to fire and to stay silent."""
    html = client.get("/rules/UR1").get_data(as_text=True)
    cases = load_cases(RULES)
    fires = [case for case in cases if "UR1" in case.fired]
    silent = [case for case in cases if "UR1" in case.not_fired]
    assert fires
    assert silent
    assert f"Cases where it fires ({len(fires)})" in html
    assert f"Cases where it stays silent ({len(silent)})" in html
    for case in fires + silent:
        name = case.name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert name.replace("'", "&#39;").replace('"', "&#34;") in html


def test_an_unknown_rule_is_a_problem_404(client: FlaskClient) -> None:
    """Errors stay problem+json, pages included."""
    response = client.get("/rules/UNKNOWN")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.headers["Cache-Control"] == "no-store"


def test_safety_page_shows_the_report_numbers_computed_once(app: Flask, ruleset: Ruleset) -> None:
    """The same summary as docs/safety-report.md, replayed once at start, not per request."""
    built = app.extensions["site_data"]  # there before any page is asked for
    client = app.test_client()
    html = client.get("/safety").get_data(as_text=True)
    client.get("/safety")
    assert app.extensions["site_data"] is built
    summary = summarise(ruleset, suites(app.extensions["triage"], RULES, VIGNETTES))
    assert summary.rows == built.safety.rows
    for row in summary.rows:
        assert f'<th scope="row">{row.suite}</th><td>{row.cases}</td>' in html
    assert summary.rows[-1].under == 0
    assert "Level: expected (rows) against returned (columns)" in html


def test_docs_page_loads_swagger_ui_from_this_service(client: FlaskClient) -> None:
    """The pinned package's assets, served here; only those files."""
    page = parse(client.get("/docs").get_data(as_text=True))
    scripts = [e.attrs["src"] for e in page.elements if e.tag == "script"]
    assert scripts == ["/docs/assets/swagger-ui-bundle.js", "/static/docs.js"]
    for path in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        with client.get(path) as response:  # a file response: close it
            assert response.status_code == 200
    assert client.get("/docs/assets/index.html").status_code == 404
    assert client.get("/docs/assets/..%2Fswagger-ui.js").status_code == 404


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize(
    ("text", "background"),
    [
        ("#1b1b1b", "#ffffff"),  # body text
        ("#4d4d4d", "#ffffff"),  # help text
        ("#4d4d4d", "#f2f4f7"),  # muted text on the header and table heads
        ("#0a4d8c", "#ffffff"),  # links, focus ring
        ("#0a4d8c", "#f2f4f7"),  # navigation links
        ("#5a2a82", "#ffffff"),  # visited links
        ("#ffffff", "#9b0d14"),  # emergency banner
        ("#9b0d14", "#ffffff"),  # error headings
        ("#ffffff", "#0a4d8c"),  # the button
        ("#1b1b1b", "#eef5ec"),  # the confusion table's diagonal
    ],
)
def test_colours_meet_wcag_aa(text: str, background: str) -> None:
    """Every text colour pair the stylesheet uses has a contrast of at least 4.5:1."""
    assert text in CSS
    assert background in CSS
    light, dark = sorted((_luminance(text), _luminance(background)), reverse=True)
    assert (light + 0.05) / (dark + 0.05) >= 4.5


@pytest.mark.parametrize("path", ["/", "/result"])
def test_an_engine_failure_shows_a_page_with_the_safety_net(
    path: str, app_factory: AppFactory
) -> None:
    """The engine failing on the form's answers: a 500 HTML page (or fragment) saying no result
    was given, with the safety-net text; no triage, and not the API's problem JSON."""
    from service.exceptions import EngineError

    app = app_factory()
    triage = app.extensions["triage"]

    def fail(_facts: Any) -> list[str]:
        raise EngineError("boom")

    triage.engine.evaluate = fail
    response = app.test_client().post(path, data=EMERGENCY)
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert "No result could be given" in text
    assert triage.ruleset.disclaimer.split(".")[0] in text
    assert "Where to go" not in text


def test_rule_pages_show_conditions_as_html_in_the_question_wording(
    app: Flask, client: FlaskClient, ruleset: Ruleset
) -> None:
    """No raw Markdown (backticks, asterisks) and no finding's machine name on the catalogue or
    any rule page; each rule page renders its condition once, nested lists for groupings."""
    helpers = helper_nodes(ruleset.helpers)
    catalogue = client.get("/rules").get_data(as_text=True)
    main = _between(catalogue, "<main", "</main>")
    assert "`" not in main
    assert "*" not in main
    assert "<dd>How the pain started is injury</dd>" in main  # the helper INJURY in words
    for rule in (*ruleset.rules, ruleset.default):
        page = _between(client.get(f"/rules/{rule.id}").get_data(as_text=True), "<main", "</main>")
        assert "`" not in page, rule.id
        assert "*" not in page, rule.id
        condition = _between(page, '<dd class="condition" lang="en">', "</dd></div>")
        words = _condition_html(app, rule_phrase(rule, ruleset.questions, helpers))
        assert page.count(words) == 1, rule.id
        assert condition == '<dd class="condition" lang="en">' + words
        for name in (name for name in rule.findings if "_" in name):  # machine-only names
            assert not re.search(rf"\b{name}\b", condition), (rule.id, name)
    em3 = client.get("/rules/EM3").get_data(as_text=True)
    grouping = '<span class="grouping">all of:</span>\n<ul class="condition">'
    assert grouping + "<li>Hot swollen joint is yes" in em3
