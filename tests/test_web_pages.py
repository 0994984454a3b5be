"""The HTML pages without a browser: headers, the generated form, the no-JS post, the catalogue."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from service import create_app
from service.cases import load_cases, load_vignettes
from service.conditions import describe
from service.findings import FINDINGS, INJURY_ONLY
from service.rules import VIGNETTES, suites
from service.ruleset import Ruleset
from service.safety import summarise
from service.validation import IntakeValidator
from service.web_form import INJURY_LEGEND, read_form
from tests.conftest import ROOT, RULES
from tests.web_support import EMERGENCY, FRACTURE, SELF_CARE, parse

PAGES = ("/", "/rules", "/rules/UR1", "/safety", "/docs")
CSS = (ROOT / "service" / "static" / "site.css").read_text(encoding="utf-8")


def _intake(form: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The JSON body /v1/triage gets for the same answers."""
    body: dict[str, dict[str, Any]] = {}
    for name, value in form.items():
        finding = FINDINGS[name]
        body.setdefault(finding.group, {})[name] = int(value) if finding.is_numeric else value
    return body


def _fired(html: str) -> list[str]:
    return re.findall(r'<li><a href="/rules/([A-Z]+[0-9]*)">', html)


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


def test_every_question_is_in_the_form_with_a_label(client: FlaskClient) -> None:
    """One control per finding; every input and select labelled; unknown is the default."""
    page = parse(client.get("/").get_data(as_text=True))
    controls = [e for e in page.elements if e.tag in {"input", "select"}]
    assert {e.attrs["name"] for e in controls} == set(FINDINGS)
    for control in controls:
        assert control.in_label or control.attrs.get("id") in page.label_for, control
    for name, finding in FINDINGS.items():
        if finding.kind == "tri_state":
            radios = [e for e in controls if e.attrs["name"] == name]
            assert [r.attrs["value"] for r in radios] == ["unknown", "yes", "no"]
            assert [r.attrs["value"] for r in radios if "checked" in r.attrs] == ["unknown"]
            assert radios[0].legends[-1] == finding.label  # the group's own legend
    options = [e for e in page.elements if e.tag == "option" and "selected" in e.attrs]
    assert {o.attrs["value"] for o in options} == {"unknown"}


def test_injury_only_questions_are_in_their_own_fieldset(client: FlaskClient) -> None:
    """The FHIR Questionnaire's enableWhen set, under one legend."""
    page = parse(client.get("/").get_data(as_text=True))
    inside = {
        e.attrs["name"]
        for e in page.elements
        if e.tag in {"input", "select"} and INJURY_LEGEND in e.legends
    }
    assert inside == set(INJURY_ONLY)
    assert {"About you", "Your history", "Your symptoms", INJURY_LEGEND} <= set(page.legends)


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
    ],
)
def test_the_plain_post_answers_as_the_api(
    client: FlaskClient, form: dict[str, str], level: str, urgency: str
) -> None:
    """JavaScript off: the whole page with the same rules, level and urgency as /v1/triage."""
    response = client.post("/", data=form)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    api = client.post("/v1/triage", json=_intake(form)).get_json()
    assert _fired(html) == [entry["rule_id"] for entry in api["rationale"]]
    assert f'<dd class="level">{level}</dd>' in html
    assert f'<dd class="urgency">{urgency}</dd>' in html
    for key in (c["key"] for c in api["citations"]):
        assert f'href="#cite-{key}"' in html
        assert f'id="cite-{key}"' in html
    assert ('role="alert"' in html) == (urgency == "Emergency")
    assert ('id="emergency-banner"' in html) == (urgency == "Emergency")
    assert "<form" in html  # the form again, to change an answer


def test_the_fragment_is_the_result_only(client: FlaskClient) -> None:
    """JavaScript on posts to /result: the same answer, without the page around it."""
    html = client.post("/result", data=EMERGENCY).get_data(as_text=True)
    assert "<html" not in html
    assert 'data-urgency="emergency"' in html
    assert 'role="alert"' in html


def test_injury_answers_are_sent_as_answered(client: FlaskClient) -> None:
    """Injury-only answers reach the rules as they do through the API: only an injury fires them."""
    deformity = {"visible_deformity": "yes"}
    assert "UR10" in _fired(client.post("/", data={"onset": "injury", **deformity}).text)
    assert "UR10" not in _fired(client.post("/", data={"onset": "gradual", **deformity}).text)


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
        *[v.intake for v in load_vignettes(ROOT / "tests" / "vignettes" / "vignettes.yaml")],
        {"symptoms": {"open_wound_at_injury": "yes", "visible_deformity": "yes", "pain_nrs": 3}},
        {"symptoms": {"onset": "gradual", "plantar_bruising": "yes", "steps_immediately": 2}},
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


def test_with_api_keys_the_form_asks_for_one() -> None:
    """No path triages without a credential; the key is typed in, never put in the page."""
    key = "k" * 16
    keyed = create_app({"API_KEYS": key}).test_client()
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


def test_catalogue_lists_every_rule_in_words(client: FlaskClient, ruleset: Ruleset) -> None:
    """Ids, conditions in words (escaped), levels, urgencies, citations, version and sha256."""
    html = client.get("/rules").get_data(as_text=True)
    assert ruleset.version in html
    assert ruleset.sha256 in html
    for rule in (*ruleset.rules, ruleset.default):
        assert f'<a href="/rules/{rule.id}">{rule.id}</a>' in html
        if rule.when is not None:
            words = describe(rule.source)
            escaped = words.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            assert escaped in html
        for key in rule.citations:
            assert f'href="/rules#cite-{key}"' in html
    for key in ruleset.citations:
        assert f'id="cite-{key}"' in html


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
    """The same summary as docs/safety-report.md, replayed once per worker, not per request."""
    client = app.test_client()
    html = client.get("/safety").get_data(as_text=True)
    built = app.extensions["site_data"]
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
