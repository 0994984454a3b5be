"""/interview without a browser: plain form posts screen by screen, Back, links, bad input."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from service.domain.findings import FINDINGS
from service.domain.ruleset import Ruleset
from tests.helpers import AppFactory
from tests.helpers.web import (
    EMERGENCY,
    FRACTURE,
    SELF_CARE,
    carried_fields,
    parse,
    shown_questions,
)

DANGER_SIGNS = [
    "foot_cold_pale_or_blue",
    "sudden_numbness_or_weakness",
    "systemically_unwell",
    "fever",
    "redness_spreading_rapidly",
    "black_or_dead_tissue",
    "hot_swollen_joint",
]


def _html(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def _answer(client: FlaskClient, html: str, answers: dict[str, str], go: str = "next") -> Any:
    """Post one screen as a browser without JavaScript would: the hidden fields, the answers
    given to this screen's questions (the others left untouched), the button pressed."""
    page = parse(html)
    data = MultiDict(carried_fields(page))
    for name in shown_questions(page):
        if name in answers:
            data.add(name, answers[name])
    data.add("go", go)
    return client.post("/interview", data=data)


def _walk(
    client: FlaskClient, answers: dict[str, str], start: str = "/interview"
) -> tuple[list[list[str]], TestResponse]:
    """The whole interview: the questions of every screen shown, and the result page."""
    response = client.get(start)
    screens: list[list[str]] = []
    while shown := shown_questions(parse(_html(response))):
        assert response.status_code == 200, _html(response)
        screens.append(shown)
        assert len(screens) <= len(FINDINGS)
        response = _answer(client, _html(response), answers)
    assert response.status_code == 200
    return screens, response


def _intake(answers: dict[str, str], asked: list[str]) -> dict[str, dict[str, Any]]:
    """The /v1/triage body of an interview: every question asked, unanswered ones unknown."""
    body: dict[str, dict[str, Any]] = {}
    for name in asked:
        finding = FINDINGS[name]
        text = answers.get(name, "unknown")
        value: Any = text
        if finding.is_numeric:
            value = None if text == "unknown" else int(text)
        body.setdefault(finding.group, {})[name] = value
    return body


def _fired(html: str) -> list[str]:
    return re.findall(r'<li><a href="/rules/([A-Z]+[0-9]*[a-z]?)">', html)


def _checked(html: str) -> dict[str, str]:
    return {
        e.attrs["name"]: e.attrs["value"]
        for e in parse(html).elements
        if e.tag == "input" and "checked" in e.attrs
    }


@pytest.mark.parametrize(
    ("answers", "screens", "destination", "urgency"),
    [
        (EMERGENCY, 1, "vascular_surgery_on_call", "emergency"),
        (FRACTURE, 8, "fracture_clinic", "urgent"),
        (SELF_CARE, 12, "self_care_at_home", "routine"),
    ],
    ids=["emergency", "fracture", "self-care"],
)
def test_a_patient_through_the_interview_without_javascript(
    client: FlaskClient,
    answers: dict[str, str],
    screens: int,
    destination: str,
    urgency: str,
) -> None:
    """Screen by screen to the result, which is /v1/triage's on the answers given."""
    shown, response = _walk(client, answers)
    assert shown[0] == DANGER_SIGNS  # the danger signs first, on one screen
    assert len(shown) == screens
    html = _html(response)
    assert f'data-destination="{destination}"' in html
    assert f'data-urgency="{urgency}"' in html
    assert ('id="emergency-banner"' in html) == (urgency == "emergency")
    assert 'id="complete-note"' in html
    asked = [name for screen in shown for name in screen]
    api = client.post("/v1/triage", json=_intake(answers, asked)).get_json()
    assert api["destination"] == destination
    assert _fired(html) == [entry["rule_id"] for entry in api["rationale"]]
    # Every answer shown back, in the order asked; the questions not asked are not listed.
    assert re.findall(r'<dd data-finding="([a-z_0-9]+)">', html) == asked


def test_the_screens_are_the_api_interview(client: FlaskClient) -> None:
    """Each screen asks what POST /v1/interview asks, seven questions at most, for the same
    answers so far: the page adds no question and skips none."""
    shown, _ = _walk(client, FRACTURE)
    asked: list[str] = []
    for screen in shown:
        body = client.post(
            "/v1/interview", json={**_intake(FRACTURE, asked), "max_questions": 7}
        ).get_json()
        assert [question["finding"] for question in body["questions"]] == screen
        asked += screen


def test_a_screen_is_accessible_and_keeps_the_policy(client: FlaskClient) -> None:
    """A fieldset and legend per question, every control labelled, I don't know offered,
    a why line and progress, no inline script or handler, the page's language set."""
    html = _html(client.get("/interview"))
    page = parse(html)
    assert '<html lang="en">' in html
    assert page.script_text == []
    assert '<script src="/static/interview.js"></script>' in html
    assert set(page.legends) >= {"Cold, pale or blue foot", "Fever"}
    radios = [e for e in page.elements if e.tag == "input" and e.attrs.get("type") == "radio"]
    assert {e.attrs["name"] for e in radios} == set(DANGER_SIGNS)
    for radio in radios:
        assert radio.in_label
        assert radio.legends  # inside its question's fieldset
        assert "checked" not in radio.attrs  # nothing chosen for the person
        assert not [name for name in radio.attrs if name.startswith("on")]
    assert [e.attrs["value"] for e in radios if e.attrs["name"] == "fever"] == [
        "yes",
        "no",
        "unknown",
    ]
    assert html.count("> I don&#39;t know</label>") == 7  # one answer of each question
    assert html.count('class="why"') == 7
    assert "need emergency care now" in html
    assert re.search(r'<span class="answered">0</span> answered so far', html)
    assert 'id="back"' not in html  # nothing to go back to
    assert 'href="/interview"' in _html(client.get("/"))  # linked from the form and the nav


def test_a_number_offers_i_dont_know_and_reads_a_bad_one_back(client: FlaskClient) -> None:
    """Pain 11 on its screen: that screen again with the error (422), 11 not echoed; a number
    and I don't know together is refused; an empty number is I don't know."""
    response = client.get("/interview")
    while "pain_nrs" not in shown_questions(parse(_html(response))):
        response = _answer(client, _html(response), SELF_CARE)
    html = _html(response)
    assert '<input type="checkbox" name="pain_nrs" value="unknown"' in html
    bad = _answer(client, html, {"pain_nrs": "11"})
    assert bad.status_code == 422
    text = _html(bad)
    assert "Must be greater than or equal to 0 and less than or equal to 10" in text
    assert 'value="11"' not in text
    assert shown_questions(parse(text)) == shown_questions(parse(html))
    page = parse(html)
    both = MultiDict([*carried_fields(page), ("pain_nrs", "5"), ("pain_nrs", "unknown")])
    response = client.post("/interview", data=both)
    assert response.status_code == 422
    assert "not both" in _html(response)
    empty = MultiDict([*carried_fields(page), ("pain_nrs", "")])
    after = client.post("/interview", data=empty)
    assert after.status_code == 200
    assert ("pain_nrs", "unknown") in carried_fields(parse(_html(after)))


def test_back_shows_the_answer_given_and_a_changed_answer_goes_on_from_there(
    client: FlaskClient,
) -> None:
    """Back returns to the danger signs with each answer chosen; changing one re-routes."""
    calm = dict.fromkeys(DANGER_SIGNS, "no")
    second = _answer(client, _html(client.get("/interview")), calm)
    assert 'id="back"' in _html(second)
    assert ("screens", " ".join(DANGER_SIGNS)) in carried_fields(parse(_html(second)))
    back = _answer(client, _html(second), {}, go="back")
    assert back.status_code == 200
    html = _html(back)
    assert shown_questions(parse(html)) == DANGER_SIGNS
    assert _checked(html) == calm
    assert 'id="back"' not in html
    assert not [name for name, _ in carried_fields(parse(html)) if name in FINDINGS]
    result = _answer(client, html, {**calm, "foot_cold_pale_or_blue": "yes"})
    assert 'id="emergency-banner"' in _html(result)


def test_back_from_the_result_and_answers_after_it_are_asked_again(client: FlaskClient) -> None:
    """Back from the result shows the last screen answered; Back again drops that screen's
    answers too, and Next asks the later screens again (nothing unconfirmed is kept)."""
    shown, result = _walk(client, FRACTURE)
    last = _answer(client, _html(result), {}, go="back")
    assert shown_questions(parse(_html(last))) == shown[-1]
    earlier = _answer(client, _html(last), {}, go="back")
    assert shown_questions(parse(_html(earlier))) == shown[-2]
    carried = {name for name, _ in carried_fields(parse(_html(earlier))) if name in FINDINGS}
    assert carried == {name for screen in shown[:-2] for name in screen}
    again = _answer(client, _html(earlier), FRACTURE)
    assert shown_questions(parse(_html(again))) == shown[-1]
    assert _checked(_html(again)) == {}  # asked afresh


def test_a_link_with_answers_resumes_the_interview(client: FlaskClient) -> None:
    """GET /interview?<answers> (a CDS card's link) asks the next screen after them; Back
    shows the answers brought on one screen, each chosen."""
    calm = dict.fromkeys(DANGER_SIGNS, "no")
    query = "&".join(f"{name}={value}" for name, value in calm.items())
    response = client.get(f"/interview?{query}&age_years=30")
    assert response.status_code == 200
    html = _html(response)
    shown = shown_questions(parse(html))
    assert shown
    assert not set(shown) & {*DANGER_SIGNS, "age_years"}
    assert "Screen 2" in html
    back = _html(_answer(client, html, {}, go="back"))
    assert "The answers you brought" in back
    assert shown_questions(parse(back)) == [*DANGER_SIGNS, "age_years"]  # the policy's order
    assert _checked(back) == calm
    assert 'name="age_years" inputmode="numeric" autocomplete="off"\n      value="30"' in back


def test_an_emergency_stops_the_interview_with_questions_left(client: FlaskClient) -> None:
    """A cold foot brought in alone: the urgency is proven an emergency, so no question is
    asked although the clinician-review flag is still open; the red banner leads."""
    response = client.get("/interview?foot_cold_pale_or_blue=yes")
    assert response.status_code == 200
    html = _html(response)
    assert shown_questions(parse(html)) == []
    assert 'id="emergency-stop"' in html
    assert 'id="emergency-banner"' in html
    assert 'role="alert"' in html
    assert html.index('id="emergency-banner"') < html.index('id="destination"')
    status = client.post(
        "/v1/interview", json={"symptoms": {"foot_cold_pale_or_blue": "yes"}, "max_questions": 7}
    ).get_json()
    assert status["status"] == "ask"  # the API would still ask: the page stops on purpose
    assert "urgency" in status["decided"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("pain_nrs=11", "less than or equal to 10"),
        ("fever=maybe", "Must be one of"),
        ("favourite_colour=zzyzx", "Unknown field"),
        ("fever=no&fever=yes", "Answered twice"),
        ("age_years=abc", "Not a valid integer"),
    ],
)
def test_bad_answers_in_a_link_are_a_clear_page(
    client: FlaskClient, query: str, message: str
) -> None:
    """Answers in the query are validated as the form's: a 422 page naming the problem."""
    response = client.get(f"/interview?{query}")
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    html = _html(response)
    assert message in html
    assert "No triage was given" in html
    assert "zzyzx" not in html  # a made-up key and its value are not echoed
    assert "favourite_colour" not in html


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ([("shown", "no_such_question"), ("go", "next")], 400),
        ([("shown", "fever"), ("screens", "bogus"), ("go", "next")], 400),
        ([("shown", "fever"), ("diabetes", "no"), ("go", "next")], 400),  # on no screen
        ([("shown", "fever"), ("shown", "pad"), ("go", "next")], 400),
        ([("shown", "fever"), ("screens", "fever"), ("fever", "no")], 400),
        ([("shown", "fever"), ("go", "sideways")], 400),
        ([("shown", "fever"), ("screens", "pad"), ("pad", "perhaps")], 422),
        ([("shown", "fever"), ("screens", "pad"), ("pad", "no"), ("pad", "yes")], 422),
        ([("shown", "fever"), ("fever", "no"), ("fever", "yes"), ("go", "next")], 422),
        ([("shown", "fever"), ("favourite_colour", "zzyzx")], 422),
        ([("shown", "fever"), *[("screens", "pad")] * 50], 400),
        (
            [
                ("shown", "fever"),
                ("screens", "pad"),
                ("screens", "diabetes"),
                ("pad", "perhaps"),
                ("diabetes", "no"),
                ("go", "back"),
            ],
            422,
        ),
    ],
)
def test_a_tampered_post_is_a_clear_page_not_a_500(
    client: FlaskClient, fields: list[tuple[str, str]], status: int
) -> None:
    """State this service never writes: an error page with a way to start again."""
    response = client.post("/interview", data=MultiDict(fields))
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert 'href="/interview"' in _html(response)
    assert "zzyzx" not in _html(response)


def test_back_on_the_first_screen_stays_there(client: FlaskClient) -> None:
    """Back with no screen before (the button is not offered): the same screen again."""
    response = client.post("/interview", data={"shown": "fever", "go": "back"})
    assert response.status_code == 200
    assert shown_questions(parse(_html(response))) == ["fever"]


def test_a_result_that_is_not_the_proven_one_is_never_shown(app_factory: AppFactory) -> None:
    """The interview's proof and /v1/triage disagreeing is a defect: a 500 page, no result."""
    from dataclasses import replace

    from service.domain.interview import Interviewer, Step

    app = app_factory()
    interviewer: Interviewer = app.extensions["interviewer"]
    real_step = interviewer.step

    def wrong(intake: Any, max_questions: int = 1) -> Step:
        step = real_step(intake, max_questions)
        if step.disposition is None:
            return step
        return replace(step, disposition=replace(step.disposition, urgency="routine"))

    interviewer.step = wrong  # type: ignore[method-assign]
    response = app.test_client().get(
        "/interview?foot_cold_pale_or_blue=yes&"
        + "&".join(f"{name}=unknown" for name in DANGER_SIGNS[1:])
    )
    assert response.status_code == 500
    assert "No result could be given" in _html(response)
    assert "data-destination" not in _html(response)


def test_with_api_keys_the_interview_is_off(app_factory: AppFactory) -> None:
    """No page triages without a key, and no key is carried in a page: 403, pointing to /."""
    client = app_factory({"API_KEYS": ("k" * 32,)}).test_client()
    for response in (client.get("/interview"), client.post("/interview", data={"go": "next"})):
        assert response.status_code == 403
        assert 'href="/"' in _html(response)
        assert "data-destination" not in _html(response)


def test_an_engine_failure_is_a_page_with_the_safety_net(app_factory: AppFactory) -> None:
    """The engine failing: 500, no result guessed, the safety net shown."""
    from service.exceptions import EngineError

    app = app_factory()
    triage = app.extensions["triage"]

    def fail(_facts: Any) -> list[str]:
        raise EngineError("boom")

    triage.engine.evaluate = fail
    response = app.test_client().get("/interview")
    assert response.status_code == 500
    html = _html(response)
    assert "No result could be given" in html
    ruleset: Ruleset = triage.ruleset
    assert ruleset.disclaimer.split(".")[0] in html
    assert "Where to go" not in html
