"""FHIR and CDS Hooks in the language asked for: the Questionnaire with the translation
extension on every text, the GuidanceResponse, the adaptive form and the card; the pseudo-locale
proves that none of their texts bypasses the locale files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.guidanceresponse import GuidanceResponse
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from flask import Flask
from flask.testing import FlaskClient

from service.interop.fhir.questionnaire import TRANSLATION
from tests.helpers import EXAMPLE, AppFactory
from tests.helpers.cds import call, qr, validator
from tests.helpers.fhir import (
    QUESTIONNAIRE_URL,
    URLS,
    fhir_js_validate,
    needs_fhir_js,
    response_from_intake,
)
from tests.helpers.locales import PSEUDO, is_wrapped, rules_with_pseudo_locale

QUESTIONNAIRE = "/fhir/Questionnaire/forefoot-triage"
TRIAGE = "/fhir/QuestionnaireResponse/$triage"
NEXT_QUESTION_PATH = "/fhir/Questionnaire/$next-question"
SERVICE = "/cds-services/forefoot-triage"
FHIR_JSON = "application/fhir+json"
ES = {"Accept-Language": "es"}
EMERGENCY = {"symptoms": {"foot_cold_pale_or_blue": "yes", "pain_nrs": 8}}


def _start(questionnaire: str) -> dict[str, Any]:
    """An empty adaptive response derived from the Questionnaire at that canonical URL."""
    return {
        "resourceType": "QuestionnaireResponse",
        "contained": [
            {
                "resourceType": "Questionnaire",
                "id": "start",
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
                        "sdc-questionnaire-questionnaireAdaptive",
                        "valueBoolean": True,
                    }
                ],
                "derivedFrom": [questionnaire],
                "status": "active",
            }
        ],
        "questionnaire": "#start",
        "status": "in-progress",
    }


START = _start(QUESTIONNAIRE_URL)

# Elements of our resources that people read; everything else is a code, id, URL or expression.
FHIR_TEXTS = frozenset({"text", "title", "description", "display", "valueString", "div"})
# Not ours to translate: HL7's and LOINC's own code displays.
FOREIGN = frozenset(
    {
        "Help-Button",
        "Age",
        "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
    }
)


def _translations(element: dict[str, Any], name: str) -> dict[str, str]:
    """language -> text of the translation extensions of element[name]."""
    found = {}
    for extension in element.get(f"_{name}", {}).get("extension", []):
        assert extension["url"] == TRANSLATION
        parts = {part["url"]: part for part in extension["extension"]}
        found[parts["lang"]["valueCode"]] = parts["content"]["valueString"]
    return found


def _codes(value: Any) -> Any:
    """A value with the displays of its Codings left out (an item's `code` is a list of them)."""
    if isinstance(value, list):
        return [(c.get("system"), c.get("code")) for c in value]
    return value


def _elements(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _elements(item)
    elif isinstance(value, list):
        for item in value:
            yield from _elements(item)


def test_the_fhir_surface_texts_are_spanish_too(client: FlaskClient) -> None:
    """The danger-signs group and the units a form shows beside a number are Spanish; the LOINC
    code's display is LOINC's; Questionnaire?url= answers in the language asked for."""
    spanish = client.get(QUESTIONNAIRE, headers=ES).get_json(force=True)
    groups = {group["linkId"]: group for group in spanish["item"]}
    assert groups["danger_signs"]["text"].startswith("Señales de peligro: responda a cada una")
    items = {item["linkId"]: item for group in spanish["item"] for item in group["item"]}
    (unit,) = [e for e in items["age_years"]["extension"] if e["url"].endswith("unit")]
    coding = unit["valueCoding"]
    assert (coding["code"], coding["display"], _translations(coding, "display")) == (
        "a",
        "años",
        {"en": "years"},
    )
    assert items["age_years"]["code"][0] == {"system": "http://loinc.org", "code": "30525-0",
                                             "display": "Age"}  # fmt: skip
    # enableWhen's coding carries the translation too, as the answer option it names does
    # (LHC-Forms still shows the injury questions: tests/web/test_lhc_forms.py).
    (condition,) = items["injury_mechanism"]["enableWhen"]
    coding = condition["answerCoding"]
    assert (coding["display"], _translations(coding, "display")) == ("Lesión", {"en": "Injury"})
    option = next(
        o["valueCoding"]
        for o in items["onset"]["answerOption"]
        if o["valueCoding"]["code"] == "injury"
    )
    assert coding == option
    response = client.get("/fhir/Questionnaire", query_string={"url": QUESTIONNAIRE_URL,
                                                                "lang": "es"})  # fmt: skip
    assert response.headers["Content-Language"] == "es"
    (entry,) = response.get_json(force=True)["entry"]
    assert entry["resource"] == spanish


def test_the_questionnaire_in_spanish_carries_english_on_every_text(client: FlaskClient) -> None:
    """Accept-Language es: a Spanish Questionnaire (language es, Content-Language es) whose every
    text has the FHIR translation extension with the English; codes and linkIds as in English."""
    response = client.get(QUESTIONNAIRE, headers=ES)
    spanish = response.get_json(force=True)
    english = client.get(QUESTIONNAIRE).get_json(force=True)
    assert response.headers["Content-Language"] == "es"
    assert (spanish["language"], english["language"]) == ("es", "en")
    Questionnaire.model_validate(spanish)
    assert spanish["title"].startswith("Clasificación del dolor")
    texts = 0
    for es_element, en_element in zip(_elements(spanish), _elements(english), strict=True):
        for name in ("text", "title", "description", "display"):
            if es_element.get(name) in FOREIGN:  # another code system's display: as it is
                assert es_element[name] == en_element[name]
                assert f"_{name}" not in es_element
            elif isinstance(es_element.get(name), str):
                texts += 1
                assert _translations(es_element, name) == {"en": en_element[name]}
                assert _translations(en_element, name) == {"es": es_element[name]}
        for name in ("linkId", "code", "type", "system"):
            assert _codes(es_element.get(name)) == _codes(en_element.get(name))
    assert texts > 250


@needs_fhir_js
def test_the_translated_questionnaire_is_valid_fhir(client: FlaskClient) -> None:
    """The npm FHIR validator accepts the Spanish Questionnaire with its translations."""
    spanish = client.get(QUESTIONNAIRE, headers=ES).get_json(force=True)
    (result,) = fhir_js_validate([spanish])
    assert result["valid"], result["messages"]


def test_guidance_response_in_spanish(client: FlaskClient) -> None:
    """$triage with Accept-Language es: a Spanish GuidanceResponse, the same codes."""
    body = json.dumps(response_from_intake(EMERGENCY))
    english = client.post(TRIAGE, data=body, content_type=FHIR_JSON).get_json(force=True)
    response = client.post(TRIAGE, data=body, content_type=FHIR_JSON, headers=ES)
    spanish = response.get_json(force=True)
    GuidanceResponse.model_validate(spanish)
    assert response.headers["Content-Language"] == "es"
    assert spanish["language"] == "es"
    lead = "<p><b>Urgencias y cirugía vascular de guardia ahora</b>.</p><p>Cuándo: <b>Emergencia"
    assert lead in spanish["text"]["div"]
    assert 'lang="es" xml:lang="es"' in spanish["text"]["div"]
    codes = [
        (p["name"], p.get("valueCoding", {}).get("code"))
        for p in english["contained"][0]["parameter"]
    ]
    assert codes == [
        (p["name"], p.get("valueCoding", {}).get("code"))
        for p in spanish["contained"][0]["parameter"]
    ]
    advice = [
        p["valueString"] for p in spanish["contained"][0]["parameter"] if p["name"] == "advice"
    ]
    assert any(line.startswith("Vaya a urgencias ahora o llame al 911") for line in advice)


def test_the_adaptive_form_in_spanish(client: FlaskClient) -> None:
    """$next-question with Accept-Language es: Spanish questions and result group."""
    body = {"resourceType": "Parameters", "parameter": [{"name": "in", "resource": START}]}
    response = client.post(NEXT_QUESTION_PATH, data=json.dumps(body), content_type=FHIR_JSON,
                           headers=ES)  # fmt: skip
    grown = response.get_json(force=True)
    QuestionnaireResponse.model_validate(grown)
    (questionnaire,) = grown["contained"]
    assert questionnaire["language"] == "es"
    assert questionnaire["item"][0]["text"] == "Pie frío, pálido o azulado"
    assert grown["item"][-1]["text"].startswith("Resultado provisional de la clasificación")


def test_the_cds_card_in_spanish(client: FlaskClient) -> None:
    """The CDS Hooks card in the language of the EHR's Accept-Language; valid by the spec."""
    response = client.post(SERVICE, json=call(qr(EXAMPLE)), headers=ES)
    cards = response.get_json()
    validator("cds-cards").validate(cards)
    (card,) = cards["cards"]
    assert card["summary"].startswith("Radiografía y consulta de fracturas hoy. Clasificación")
    assert "**Dónde:** Radiografía y consulta de fracturas" in card["detail"]
    assert "### Por qué" in card["detail"]
    assert response.headers["Content-Language"] == "es"


@pytest.fixture(scope="module")
def pseudo_client(tmp_path_factory: pytest.TempPathFactory, app_factory: AppFactory) -> FlaskClient:
    folder = rules_with_pseudo_locale(Path(tmp_path_factory.mktemp("pseudo")))
    app: Flask = app_factory(
        {"RULES_DIR": str(folder), "PUBLIC_URL": "https://triage.example", "FHIR_BASE": URLS.base}
    )
    return app.test_client()


def _english_left(text: str) -> str:
    """What of a text is outside the wrapped pieces, rule ids, markup and punctuation: a word
    left here bypassed the locale files."""
    text = re.sub(r"<[^>]+>", " ", text)  # narrative markup
    text = re.sub(r"⟦[^⟧]*⟧", " ", text)
    text = re.sub(r"\b[A-Z]+[0-9]+[a-z]?\b|\bDEF\b", " ", text)  # rule ids
    text = re.sub(r"`[^`]*`", " ", text)  # the decision id
    return " ".join(re.findall(r"[A-Za-z]{2,}", text))


def _unwrapped_fhir(resource: Any, key: str = "") -> Iterator[str]:
    if isinstance(resource, dict):
        if resource.get("name") in ("citation", "ruleset_sha256", "ruleset_version"):
            return  # a rule's citation key, the ruleset's identity
        for name, value in resource.items():
            if name.startswith("_") or name == "valueRelatedArtifact":
                continue  # translations into the other languages; bibliographic citations
            yield from _unwrapped_fhir(value, name)
    elif isinstance(resource, list):
        for item in resource:
            yield from _unwrapped_fhir(item, key)
    elif isinstance(resource, str) and key in FHIR_TEXTS and resource not in FOREIGN:
        if left := _english_left(resource):
            yield f"{left!r} in {resource[:80]!r}"


@pytest.mark.slow  # builds its own app
@pytest.mark.parametrize("intake", [EXAMPLE, EMERGENCY, {}], ids=["ottawa", "emergency", "empty"])
def test_no_english_bypasses_the_locale_files_in_fhir_and_cds(
    pseudo_client: FlaskClient, intake: dict[str, Any]
) -> None:
    """In the pseudo-locale every text of the Questionnaire, the GuidanceResponse, the adaptive
    form and the CDS card is wrapped."""
    headers = {"Accept-Language": PSEUDO}
    resources = [
        pseudo_client.get(QUESTIONNAIRE, headers=headers).get_json(force=True),
        pseudo_client.post(TRIAGE, data=json.dumps(response_from_intake(intake)),
                           content_type=FHIR_JSON, headers=headers).get_json(force=True),
        pseudo_client.post(NEXT_QUESTION_PATH, content_type=FHIR_JSON, headers=headers,
                           data=json.dumps({"resourceType": "Parameters",
                                            "parameter": [{"name": "in", "resource": START}]})
                           ).get_json(force=True),
    ]  # fmt: skip
    for resource in resources:
        assert list(_unwrapped_fhir(resource)) == []
    card = pseudo_client.post(SERVICE, json=call(qr(intake)), headers=headers).get_json()
    (card,) = card["cards"]
    # The summary is cut at 140 characters: only its complete pieces can be checked.
    summary = card["summary"].rsplit("⟧", 1)[0] + "⟧"
    assert _english_left(summary) == ""
    assert [line for line in card["detail"].splitlines() if _english_left(line)] == []
    for link in card["links"]:
        if "triage.example/" in link["url"] and "/rules/" not in link["url"]:
            assert is_wrapped(link["label"]), link


def test_fhir_operation_outcomes_in_spanish(client: FlaskClient) -> None:
    """A QuestionnaireResponse that cannot be read: its OperationOutcome's diagnostics in the
    language asked for, Content-Language set; issue codes and FHIRPath expressions as in
    English."""
    not_a_response = json.dumps({"resourceType": "Patient"})
    response = client.post(TRIAGE, data=not_a_response, content_type=FHIR_JSON, headers=ES)
    assert (response.status_code, response.headers["Content-Language"]) == (400, "es")
    (issue,) = response.get_json(force=True)["issue"]
    assert issue == {
        "severity": "error",
        "code": "structure",
        "diagnostics": "El recurso debe ser un QuestionnaireResponse.",
    }
    wrong = response_from_intake({"symptoms": {"fever": "yes"}})
    wrong["item"][0]["item"][0]["answer"] = [{"valueString": "yes"}]
    english = client.post(TRIAGE, data=json.dumps(wrong), content_type=FHIR_JSON)
    spanish = client.post(TRIAGE, data=json.dumps(wrong), content_type=FHIR_JSON, headers=ES)
    (en_issue,) = english.get_json(force=True)["issue"]
    (es_issue,) = spanish.get_json(force=True)["issue"]
    assert en_issue["diagnostics"].startswith("The answer to 'fever' must be")
    assert es_issue["diagnostics"].startswith("La respuesta a 'fever' debe ser de tipo")
    assert {**es_issue, "diagnostics": ""} == {**en_issue, "diagnostics": ""}
    assert spanish.headers["Content-Language"] == "es"
    invalid = client.post(TRIAGE, data="{", content_type=FHIR_JSON, headers=ES)
    assert invalid.get_json(force=True)["issue"][0]["diagnostics"] == "El cuerpo no es JSON válido."


@pytest.mark.parametrize(
    ("query", "accept", "spanish"),
    [
        ("", "application/xml",
         "Este servidor solo responde application/fhir+json (o application/json)."),
        ("?_format=xml", None, "Este servidor solo responde FHIR en JSON (_format=json)."),
    ],
)  # fmt: skip
def test_fhir_not_acceptable_in_spanish(
    client: FlaskClient, query: str, accept: str | None, spanish: str
) -> None:
    """A 406 (XML asked for) says so in the language asked for, as Content-Language says."""
    headers = {**ES, **({"Accept": accept} if accept else {})}
    response = client.get(QUESTIONNAIRE + query, headers=headers)
    assert (response.status_code, response.headers["Content-Language"]) == (406, "es")
    (issue,) = response.get_json(force=True)["issue"]
    assert issue == {"severity": "error", "code": "not-supported", "diagnostics": spanish}


@pytest.mark.parametrize(
    ("send", "status", "spanish"),
    [
        (lambda c: c.get("/fhir/CodeSystem/nope", headers=ES), 404,
         "No existe ese CodeSystem."),
        (lambda c: c.get("/fhir/OperationDefinition/nope", headers=ES), 404,
         "No existe esa OperationDefinition."),
        (lambda c: c.post(TRIAGE, data="x", content_type="text/plain", headers=ES), 415,
         "Envíe el QuestionnaireResponse como application/fhir+json."),
        (lambda c: c.post(NEXT_QUESTION_PATH, data="x", content_type="text/plain", headers=ES),
         415, "Envíe el QuestionnaireResponse como application/fhir+json."),
        (lambda c: c.post(TRIAGE, data='{"resourceType": "Parameters", "parameter": []}',
                          content_type=FHIR_JSON, headers=ES), 400,
         "Un cuerpo Parameters debe tener exactamente un parámetro 'questionnaire-response' "
         "con el QuestionnaireResponse como recurso."),
    ],
    ids=["404-code-system", "404-operation", "415-triage", "415-next-question", "400-parameters"],
)  # fmt: skip
def test_fhir_refusals_in_spanish(
    client: FlaskClient, send: Any, status: int, spanish: str
) -> None:
    """The OperationOutcome of an unknown resource, a wrong media type or a Parameters body
    without the response says so in Spanish, as its Content-Language says."""
    response = send(client)
    assert (response.status_code, response.headers["Content-Language"]) == (status, "es")
    assert [i["diagnostics"] for i in response.get_json(force=True)["issue"]] == [spanish]


def test_cds_discovery_and_errors_in_spanish(client: FlaskClient) -> None:
    """The discovery document's title and description follow Accept-Language (ids and the
    prefetch never change); a 412 and a 422 are Spanish."""
    english = client.get("/cds-services").get_json()
    response = client.get("/cds-services", headers=ES)
    (service,) = response.get_json()["services"]
    assert response.headers["Content-Language"] == "es"
    assert service["title"] == "Clasificación del dolor en la parte delantera del pie"
    assert service["description"].startswith("Clasifica las últimas respuestas del paciente")
    assert {**service, "title": "", "description": ""} == {
        **english["services"][0],
        "title": "",
        "description": "",
    }
    missing = client.post(SERVICE, json=call(None), headers=ES)
    assert (missing.status_code, missing.headers["Content-Language"]) == (412, "es")
    assert missing.get_json()["title"] == "Falta una condición previa"
    assert missing.get_json()["detail"].startswith(
        "El prefetch 'questionnaireResponse' debe contener el QuestionnaireResponse del paciente"
    )
    other = qr(EXAMPLE)
    other["resourceType"] = "Observation"
    not_usable = client.post(SERVICE, json=call({"resourceType": "Bundle", "entry": 3}),
                             headers=ES)  # fmt: skip
    assert not_usable.get_json()["detail"] == (
        "El entry del Bundle precargado debe ser una lista (array)."
    )
    invalid = client.post(SERVICE, json={"hook": "patient-view"}, headers=ES).get_json()
    assert invalid["detail"] == "El cuerpo no cumple CDS Hooks 2.0."


@pytest.mark.slow  # builds its own app
def test_no_english_bypasses_the_locale_files_in_fhir_and_cds_errors(
    pseudo_client: FlaskClient,
) -> None:
    """In the pseudo-locale every OperationOutcome diagnostics, every CDS Hooks problem text
    and the discovery document's texts are wrapped."""
    headers = {"Accept-Language": PSEUDO}
    wrong = response_from_intake({"symptoms": {"fever": "yes"}})
    wrong["item"][0]["item"][0]["answer"] = [{"valueString": "yes"}]
    adaptive = {"resourceType": "Parameters", "parameter": []}
    for body in ({"resourceType": "Patient"}, wrong, {"resourceType": "QuestionnaireResponse",
                                                      "status": "bogus"}):  # fmt: skip
        outcome = pseudo_client.post(TRIAGE, data=json.dumps(body), content_type=FHIR_JSON,
                                     headers=headers)  # fmt: skip
        assert outcome.headers["Content-Language"] == PSEUDO
        for issue in outcome.get_json(force=True)["issue"]:
            assert _english_left(issue["diagnostics"].split(": ", 1)[-1]) == "", issue
    grown = pseudo_client.post(NEXT_QUESTION_PATH, data=json.dumps(adaptive),
                               content_type=FHIR_JSON, headers=headers)  # fmt: skip
    assert is_wrapped(grown.get_json(force=True)["issue"][0]["diagnostics"])
    (service,) = pseudo_client.get("/cds-services", headers=headers).get_json()["services"]
    assert is_wrapped(service["title"])
    assert is_wrapped(service["description"])
    for call_body in (call(None), call({"resourceType": "Bundle", "entry": 3}),
                      {"hook": "patient-view"}):  # fmt: skip
        problem = pseudo_client.post(SERVICE, json=call_body, headers=headers).get_json()
        texts = [problem["title"], problem["detail"], *(e["message"] for e in
                                                        problem.get("errors", []))]  # fmt: skip
        assert [text for text in texts if _english_left(text)] == [], problem


MACHINE_ASSISTED_ES = (
    "Texto traducido con ayuda de una máquina; todavía no lo han revisado un profesional de la "
    "salud y un traductor médico."
)


def test_the_guidance_response_says_the_spanish_is_machine_assisted(client: FlaskClient) -> None:
    """$triage in Spanish: the result Parameters carries translation_status (as /v1 does) and
    the narrative says, in Spanish, that the text is machine-assisted; English is the source."""
    body = json.dumps(response_from_intake(EMERGENCY))
    spanish = client.post(TRIAGE, data=body, content_type=FHIR_JSON, headers=ES).get_json(
        force=True
    )
    english = client.post(TRIAGE, data=body, content_type=FHIR_JSON).get_json(force=True)
    GuidanceResponse.model_validate(spanish)

    def status(resource: dict[str, Any]) -> list[Any]:
        return [
            p["valueCode"]
            for p in resource["contained"][0]["parameter"]
            if p["name"] == "translation_status"
        ]

    assert (status(spanish), status(english)) == (["machine_assisted"], ["source"])
    assert f"<p><i>{MACHINE_ASSISTED_ES}</i></p>" in spanish["text"]["div"]
    assert "machine" not in english["text"]["div"].lower()


def test_the_cds_card_says_the_spanish_is_machine_assisted(client: FlaskClient) -> None:
    """The Spanish card: a line of its detail says so in Spanish, and the card's `extension`
    (CDS Hooks 2.0 reserves the name) carries the language and translation_status."""
    spanish = client.post(SERVICE, json=call(qr(EXAMPLE)), headers=ES).get_json()
    english = client.post(SERVICE, json=call(qr(EXAMPLE))).get_json()
    validator("cds-cards").validate(spanish)
    (card,) = spanish["cards"]
    (english_card,) = english["cards"]
    assert f"_{MACHINE_ASSISTED_ES}_" in card["detail"].splitlines()
    assert card["extension"] == {
        "forefoot-triage.translation": {"language": "es", "translation_status": "machine_assisted"}
    }
    assert english_card["extension"] == {
        "forefoot-triage.translation": {"language": "en", "translation_status": "source"}
    }
    assert "machine" not in english_card["detail"].lower()


@pytest.mark.parametrize(
    ("code_system", "code", "spanish"),
    [
        ("findings", "foot_cold_pale_or_blue", "Pie frío, pálido o azulado"),
        ("answers", "unknown", "No lo sé"),
        ("outcome-urgency", "urgent", "Hoy (urgente)"),
        ("outcome-destination", "fracture_clinic", "Radiografía y consulta de fracturas"),
        ("outcome-setting", "in_person", None),
        ("rules", "EM1", "Posible falta de riego sanguíneo en la pierna (isquemia aguda)"),
    ],
)
def test_code_systems_carry_spanish_designations(
    client: FlaskClient, code_system: str, code: str, spanish: str | None
) -> None:
    """Accept-Language es: every concept keeps its English display and gains a designation in
    Spanish; English asks for none. Valid by fhir.resources."""
    path = f"/fhir/CodeSystem/{code_system}"
    english = client.get(path).get_json(force=True)
    response = client.get(path, headers=ES)
    translated = response.get_json(force=True)
    CodeSystem.model_validate(translated)
    assert "Accept-Language" in response.headers["Vary"]
    assert response.headers["Content-Language"] == "en, es"
    assert [c["display"] for c in translated["concept"]] == [
        c["display"] for c in english["concept"]
    ]
    assert all("designation" not in c for c in english["concept"])
    for concept in translated["concept"]:
        (designation,) = concept["designation"]
        assert designation["language"] == "es"
        assert (
            designation["value"] not in ("", concept["display"])
            or len(designation["value"].split()) <= 2
        )
    found = next(c for c in translated["concept"] if c["code"] == code)
    if spanish is not None:
        assert found["designation"][0]["value"] == spanish
    bundle = client.get("/fhir/CodeSystem", query_string={"_id": code_system, "lang": "es"})
    (entry,) = bundle.get_json(force=True)["entry"]
    assert entry["resource"] == translated


@needs_fhir_js
def test_the_translated_code_systems_are_valid_fhir(client: FlaskClient) -> None:
    """The npm FHIR validator accepts every CodeSystem with its Spanish designations."""
    bundle = client.get("/fhir/CodeSystem", headers=ES).get_json(force=True)
    resources = [entry["resource"] for entry in bundle["entry"]]
    assert len(resources) == 8
    for result in fhir_js_validate(resources):
        assert result["valid"], result["messages"]
