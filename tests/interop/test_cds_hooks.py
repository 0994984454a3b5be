"""CDS Hooks 2.0: discovery, one card per call from the prefetched response, feedback."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from werkzeug.datastructures import MultiDict

from service.domain.intake_validator import validate_intake
from service.domain.ruleset import Ruleset
from service.domain.wording import says_when
from service.interop.cds.cards import interview_url
from service.review.cases import Case
from service.web.intake_form import read_form
from tests.helpers import AppFactory, vignettes
from tests.helpers.cds import PATIENT_ID
from tests.helpers.cds import call as _call
from tests.helpers.cds import qr as _qr
from tests.helpers.cds import validator as _validator
from tests.helpers.fhir import CLEAR, QUESTIONNAIRE_URL, response_from_intake

SERVICE = "/cds-services/forefoot-triage"
VIGNETTES = vignettes()
BY_URGENCY = {v.urgency: v for v in reversed(VIGNETTES)}
INDICATOR = {"emergency": "critical", "urgent": "critical", "soon": "warning", "routine": "info"}
# How soon, in the words that follow the destination in the summary (clinical.md 1.1).
WHEN = {"emergency": "now", "urgent": "today", "soon": "within days", "routine": "routine"}
IN_PERSON = "Must be seen in person"
VIRTUAL = "A video or phone assessment can be the first step"
INJURY = {
    **CLEAR["symptoms"],
    "onset": "injury",
    "injury_mechanism": "twist",
    "pain_location": "midfoot",
    "steps_immediately": 4,
    "pain_out_of_proportion": "no",
}


DISCOVERY = _validator("cds-discovery")
REQUEST = _validator("cds-request")
CARDS = _validator("cds-cards")
FEEDBACK = _validator("cds-feedback")


def _card(client: FlaskClient, intake: dict[str, Any]) -> dict[str, Any]:
    response = client.post(SERVICE, json=_call(_qr(intake)))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    CARDS.validate(body)
    (card,) = body["cards"]
    return dict(card)


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == status
    return body


def test_discovery(client: FlaskClient) -> None:
    """One service, forefoot-triage on patient-view, prefetching the latest response."""
    response = client.get("/cds-services")
    assert response.status_code == 200
    body = response.get_json()
    DISCOVERY.validate(body)
    (service,) = body["services"]
    assert (service["id"], service["hook"]) == ("forefoot-triage", "patient-view")
    assert service["title"]
    assert service["description"]
    template = service["prefetch"]["questionnaireResponse"]
    assert template.startswith("QuestionnaireResponse?subject=Patient/{{context.patientId}}")
    assert f"questionnaire={QUESTIONNAIRE_URL}" in template
    assert "_sort=-authored" in template
    assert "_count=1" in template


def test_the_test_schemas_can_fail() -> None:
    """The JSON Schemas reject a card without source and a request without context."""
    assert not CARDS.is_valid({"cards": [{"summary": "x", "indicator": "info"}]})
    assert not REQUEST.is_valid({"hook": "patient-view", "hookInstance": str(uuid.uuid4())})
    assert not FEEDBACK.is_valid({"feedback": [{"card": "x", "outcome": "maybe"}]})
    assert not DISCOVERY.is_valid({"services": [{"hook": "patient-view"}]})


@pytest.mark.parametrize("urgency", sorted(BY_URGENCY))
def test_one_card_per_call(client: FlaskClient, urgency: str) -> None:
    """Summary under 140, indicator by urgency, the service as source, every citation a link."""
    vignette = BY_URGENCY[urgency]
    request = _call(_qr(vignette.intake))
    REQUEST.validate(request)
    response = client.post(SERVICE, json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    CARDS.validate(body)
    expected = client.post("/v1/triage", json=vignette.intake).get_json()
    (card,) = body["cards"]
    assert len(card["summary"]) < 140
    assert card["indicator"] == INDICATOR[expected["urgency"]]
    version = expected["ruleset"]["version"]
    # Without TRIAGE_PUBLIC_URL there is no absolute URL to give: no source.url, no form link.
    assert card["source"] == {"label": f"forefoot-triage (ruleset {version})"}
    citations = expected["citations"]
    assert [link["url"] for link in card["links"]] == [c["url"] for c in citations if c["url"]]
    assert {link["type"] for link in card["links"]} <= {"absolute"}
    for entry in expected["rationale"]:
        assert entry["statement"] in card["detail"]
    for advice in expected["advice"]:
        assert advice in card["detail"]


@pytest.mark.parametrize("vignette", VIGNETTES, ids=[v.name.split()[0] for v in VIGNETTES])
def test_the_card_leads_with_where_and_how_soon(
    client: FlaskClient, ruleset: Ruleset, vignette: Case
) -> None:
    """Every vignette: the summary opens with the destination and how soon; the detail gives
    where, how soon, in person or not, then the referrals, then the level, then why."""
    expected = client.post("/v1/triage", json=vignette.intake).get_json()
    card = _card(client, vignette.intake)
    where = ruleset.destinations[expected["destination"]]
    summary = card["summary"]
    assert len(summary) < 140
    assert summary.startswith(where), summary
    # How soon follows, unless the destination's own text says it ("Same-day ...").
    assert says_when(where) or WHEN[expected["urgency"]] in summary[: len(where) + 14].lower()
    lines = card["detail"].split("\n")
    assert lines[0] == f"**Where:** {where}  "
    assert lines[1].startswith(f"**How soon:** {expected['urgency'].capitalize()}, ")
    setting = IN_PERSON if expected["setting"] == "in_person" else VIRTUAL
    assert lines[2].startswith(f"**{setting}.**")
    assert (IN_PERSON in card["detail"]) is (expected["setting"] == "in_person")
    detail = card["detail"]
    start, level, why = (
        detail.index("### Referrals"),
        detail.index("**Level:**"),
        detail.index("### Why"),
    )
    assert start < level < why
    referrals = [line for line in detail[start:level].split("\n") if line.startswith("- ")]
    if expected["referrals"]:
        assert referrals == [
            f"- {ruleset.destinations[r['destination']]}: {r['urgency']} ({r['rule_id']})"
            for r in expected["referrals"]
        ]
    else:
        assert referrals == ["- None (no rule above self-care fired)"]
    assert detail[level:why].startswith(
        f"**Level:** {expected['level'].replace('_', ' ').capitalize()}"
    )


@pytest.mark.parametrize(
    ("symptoms", "summary"),
    [
        (
            {**INJURY, "open_wound_at_injury": "yes"},
            "Emergency department now. Forefoot triage: ",
        ),
        ({**INJURY, "tender_5th_mt_base": "yes"}, "X-ray and fracture clinic today. Forefoot"),
        ({**CLEAR["symptoms"]}, "Self-care at home, routine. Forefoot triage: "),
    ],
    ids=["EM2", "UR1", "SC2"],
)
def test_summaries_in_words(client: FlaskClient, symptoms: dict[str, Any], summary: str) -> None:
    """'Emergency department now', 'X-ray and fracture clinic today', 'Self-care at home'."""
    assert _card(client, {**CLEAR, "symptoms": symptoms})["summary"].startswith(summary)


def test_an_in_person_card_says_so(client: FlaskClient) -> None:
    """UR1 (a tender 5th metatarsal base after an injury): the patient must be seen in person."""
    card = _card(client, {**CLEAR, "symptoms": {**INJURY, "tender_5th_mt_base": "yes"}})
    assert card["detail"].split("\n")[:3] == [
        "**Where:** X-ray and fracture clinic  ",
        "**How soon:** Urgent, same day (within 24 hours)  ",
        f"**{IN_PERSON}.**",
    ]
    assert card["indicator"] == "critical"


def test_a_call_back_card_lists_every_referral(client: FlaskClient) -> None:
    """G2 decides where and when (a same-day call-back, virtual); RT3 keeps its orthopaedic
    referral and sets the level (aggregation v2)."""
    intake = {
        "patient": {"age_years": 40},
        "history": {"diabetes": "no", "conservative_care_weeks": 12, "prior_pt_or_orthoses": "yes"},
        "symptoms": {**CLEAR["symptoms"], "improving": "no", "fever": "unknown"},
    }
    card = _card(client, intake)
    assert card["summary"].startswith("A clinician calls back to go through the answers today.")
    detail = card["detail"]
    assert f"**{VIRTUAL}.**" in detail
    assert IN_PERSON not in detail
    assert detail.index("- A clinician calls back to go through the answers: urgent (G2)") < (
        detail.index("- Orthopaedic foot and ankle clinic (referral): routine (RT3)")
    )
    assert "**Level:** Orthopedic surgeon" in detail
    assert "**A clinician should review these answers.**" in detail


def test_each_card_has_its_own_uuid(client: FlaskClient) -> None:
    """Two calls, two card uuids: nothing is stored, so a uuid only names a card in feedback."""
    request = _call(_qr(VIGNETTES[0].intake))
    first, second = (client.post(SERVICE, json=request).get_json() for _ in range(2))
    assert first["cards"][0]["uuid"] != second["cards"][0]["uuid"]


def test_a_searchset_bundle_is_read(client: FlaskClient) -> None:
    """A searchset Bundle holding the QuestionnaireResponse gives the same card."""
    resource = _qr(VIGNETTES[1].intake)
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [
            {
                "fullUrl": "https://ehr.example.org/fhir/QuestionnaireResponse/1",
                "resource": resource,
            }
        ],
    }
    direct = client.post(SERVICE, json=_call(resource)).get_json()["cards"][0]
    bundled = client.post(SERVICE, json=_call(bundle)).get_json()["cards"][0]
    assert (direct["summary"], direct["indicator"]) == (bundled["summary"], bundled["indicator"])


@pytest.mark.parametrize(
    "prefetch",
    [
        None,
        {
            "questionnaireResponse": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": {"resourceType": "OperationOutcome", "issue": []}}],
            }
        },
        {
            "questionnaireResponse": {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "not-found"}],
            }
        },
        {"questionnaireResponse": {"resourceType": "Patient", "id": "1"}},
        {
            "questionnaireResponse": {
                "resourceType": "QuestionnaireResponse",
                "status": "completed",
                "questionnaire": "https://example.org/Questionnaire/phq-9",
            }
        },
        {
            "questionnaireResponse": {
                **response_from_intake({}),
                "subject": {"reference": "Patient/other"},
            }
        },
        {"patient": {"resourceType": "Patient", "id": "1"}},
    ],
    ids=[
        "none",
        "failed-search",
        "outcome",
        "patient",
        "foreign",
        "other-patient",
        "other-key",
    ],
)
def test_no_usable_prefetch_is_412(client: FlaskClient, prefetch: Any) -> None:
    """Missing, failed, wrong or someone else's prefetch: 412 problem+json."""
    body = _call()
    if prefetch is not None:
        body["prefetch"] = prefetch
    _problem(client.post(SERVICE, json=body), 412)


def test_an_invalid_answer_in_the_prefetch_is_422(client: FlaskClient) -> None:
    """A QuestionnaireResponse with an answer the intake does not allow: 422 naming the field."""
    resource = _qr({"symptoms": {"pain_nrs": 12}})
    body = _problem(client.post(SERVICE, json=_call(resource)), 422)
    assert body["errors"][0]["field"] == "symptoms.pain_nrs"


@pytest.mark.parametrize(
    "overrides",
    [
        {"hook": "order-select"},
        {"hookInstance": 7},
        {"context": {"userId": "Practitioner/1"}},
        {"context": "patient"},
        {"prefetch": {"questionnaireResponse": "QuestionnaireResponse/1"}},
    ],
)
def test_a_malformed_request_is_422(client: FlaskClient, overrides: dict[str, Any]) -> None:
    """A request that is not a patient-view call: 422 problem+json."""
    _problem(client.post(SERVICE, json=_call(_qr({}), **overrides)), 422)


def test_malformed_json_is_400(client: FlaskClient) -> None:
    """Not JSON: 400 problem+json (CDS Hooks paths are not FHIR paths)."""
    _problem(client.post(SERVICE, data="{", content_type="application/json"), 400)


def test_the_patient_id_is_never_logged(
    client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """context.patientId identifies the patient: no log line carries it."""
    capsys.readouterr()
    client.post(SERVICE, json=_call(_qr(VIGNETTES[0].intake)))
    client.post(SERVICE, json=_call({"resourceType": "Patient"}))
    assert PATIENT_ID not in capsys.readouterr().out


def test_cds_hooks_take_the_api_key_without_trusted_issuers(app_factory: AppFactory) -> None:
    """With TRIAGE_API_KEYS set and no TRIAGE_CDS_ISSUERS, CDS Hooks need the API key too."""
    key = "cds-key-aaaaaaaaaaaaaaaaaa"
    app: Flask = app_factory({"API_KEYS": key})
    client = app.test_client()
    call = _call(_qr(VIGNETTES[0].intake))
    assert client.get("/cds-services").status_code == 401
    assert client.post(SERVICE, json=call).status_code == 401
    assert client.post(SERVICE, json=call, headers={"X-API-Key": key}).status_code == 200


@pytest.mark.parametrize(
    "prefetch",
    [
        {"questionnaireResponse": None},
        {"questionnaireResponse": {"resourceType": "Bundle", "type": "searchset", "total": 0}},
        {"questionnaireResponse": {"resourceType": "Bundle", "type": "searchset", "entry": []}},
    ],
    ids=["null", "empty-total", "empty-entry"],
)
def test_no_data_gives_no_card(client: FlaskClient, prefetch: Any) -> None:
    """null or an empty search means the patient has not answered: 200 with no card."""
    response = client.post(SERVICE, json={**_call(), "prefetch": prefetch})
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": resource} for resource in resources],
    }


def test_the_latest_response_is_used_whatever_the_order(client: FlaskClient) -> None:
    """An older calm response first, a newer one with a cold foot second: the newer decides."""
    calm = {**_qr(VIGNETTES[0].intake), "authored": "2026-11-20T10:00:00+00:00"}
    newer_intake = {group: dict(answers) for group, answers in VIGNETTES[0].intake.items()}
    newer_intake.setdefault("symptoms", {})["foot_cold_pale_or_blue"] = "yes"
    newer = {**_qr(newer_intake), "authored": "2026-11-24T10:00:00+00:00"}
    card = client.post(SERVICE, json=_call(_bundle(calm, newer))).get_json()["cards"][0]
    assert card["indicator"] == "critical"
    assert "emergency" in card["summary"].lower()


@pytest.mark.parametrize(
    "reference",
    ["Group/example", "Practitioner/example", "https://other.example/fhir/Patient/example", None],
)
def test_subject_must_be_this_patient(client: FlaskClient, reference: str | None) -> None:
    """Only a Patient reference to the context's patient is accepted; no subject is refused."""
    resource = _qr(VIGNETTES[0].intake)
    resource["subject"] = {"reference": reference} if reference else None
    if reference is None:
        del resource["subject"]
    _problem(client.post(SERVICE, json=_call(resource)), 412)


def test_a_versioned_patient_reference_is_accepted(client: FlaskClient) -> None:
    """Patient/{id}/_history/{v} is the same patient."""
    resource = _qr(VIGNETTES[0].intake)
    resource["subject"] = {"reference": f"Patient/{PATIENT_ID}/_history/2"}
    assert client.post(SERVICE, json=_call(resource)).status_code == 200


def test_any_response_about_another_patient_is_refused(client: FlaskClient) -> None:
    """A Bundle mixing in another patient's response is not used at all."""
    ours = _qr(VIGNETTES[0].intake)
    theirs = {**_qr(VIGNETTES[1].intake), "subject": {"reference": "Patient/someone-else"}}
    _problem(client.post(SERVICE, json=_call(_bundle(ours, theirs))), 412)


def _feedback_count(outcome: str) -> float:
    return REGISTRY.get_sample_value("triage_cds_feedback_total", {"outcome": outcome}) or 0.0


def test_feedback_is_counted(client: FlaskClient) -> None:
    """Each outcome adds one to triage_cds_feedback_total{outcome}; the answer is {}."""
    card = client.post(SERVICE, json=_call(_qr(VIGNETTES[0].intake))).get_json()["cards"][0]
    body = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "outcomeTimestamp": "2026-11-24T10:00:00Z",
            },
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {
                        "code": "patient-declined",
                        "system": "https://ehr.example.org/reasons",
                    },
                    "userComment": "seen today",
                },
                "outcomeTimestamp": "2026-11-24T10:01:00Z",
            },
        ]
    }
    FEEDBACK.validate(body)
    before = {outcome: _feedback_count(outcome) for outcome in ("accepted", "overridden")}
    response = client.post(f"{SERVICE}/feedback", json=body)
    assert response.status_code == 200
    assert response.get_json() == {}
    assert _feedback_count("accepted") == before["accepted"] + 1
    assert _feedback_count("overridden") == before["overridden"] + 1
    assert "triage_cds_feedback_total" in client.get("/metrics").get_data(as_text=True)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"feedback": []},
        {"feedback": "accepted"},
        {"feedback": [{"card": "x", "outcome": "maybe", "outcomeTimestamp": "t"}]},
        {"feedback": [{"card": "x", "outcome": "accepted"}]},
        {"feedback": [{"outcome": "accepted", "outcomeTimestamp": "t"}]},
        [],
    ],
)
def test_bad_feedback_is_422(client: FlaskClient, body: Any) -> None:
    """Feedback of the wrong shape: 422 problem+json naming the field."""
    problem = _problem(client.post(f"{SERVICE}/feedback", json=body), 422)
    assert problem["errors"]
    assert all("(unknown key)" not in error["field"] for error in problem["errors"])


@pytest.mark.parametrize("case", VIGNETTES[:10], ids=lambda case: case.name.split(" ")[0])
def test_the_interview_link_carries_the_answers_as_the_forms_fields(case: Case) -> None:
    """The web interview link's query is the intake form's fields: read by the form's own reader
    it gives the answers back (an unknown answer reads as not given, as on the form)."""
    intake = validate_intake(case.intake)
    url = urlsplit(interview_url("https://triage.example.org", intake))
    assert (url.scheme, url.netloc, url.path) == ("https", "triage.example.org", "/interview")
    read = read_form(MultiDict(parse_qsl(url.query, keep_blank_values=True)))
    assert read.errors == []
    known = {
        group: {name: value for name, value in answers.items() if value not in (None, "unknown")}
        for group, answers in intake.items()
    }
    assert read.intake == validate_intake({g: a for g, a in known.items() if a})
    asked = {name for answers in intake.values() for name in answers}
    assert {name for name, _ in parse_qsl(url.query)} == asked
