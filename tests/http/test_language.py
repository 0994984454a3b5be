"""The language of /v1 answers: `lang`, else Accept-Language with q-values, else English; every
text in it (the pseudo-locale proves none bypasses the locale files), no code changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import EXAMPLE
from tests.helpers.locales import PSEUDO, is_wrapped

# Fields whose strings are codes, ids, digests or wire values: the same in every language.
CODE_FIELDS = frozenset(
    {
        "decision_id", "level", "urgency", "escalation", "destination", "setting", "rule_id",
        "family", "finding", "could_raise_to", "could_raise_level", "rules", "citations", "key",
        "id", "version", "sha256", "language", "translation_status", "group", "type",
        "allowed_values", "fired", "undecided", "decided", "status", "could_reach_urgency",
        "could_reach_level", "findings", "url", "matched", "value",
    }
)  # fmt: skip
# Bibliographic data of a citation stays as published (authors, references, how it was
# verified); its title is translated where a translation of the title exists.
BIBLIOGRAPHIC = frozenset({"authors", "references", "verification"})
TEXT_FIELDS = CODE_FIELDS | BIBLIOGRAPHIC


def _texts(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """(field, text) of every user-facing string of an answer."""
    if isinstance(value, dict):
        for name, item in value.items():
            if name == "matched" or (
                name == "citations" and isinstance(item, list) and item and isinstance(item[0], str)
            ):
                continue
            yield from _texts(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item, key)
    elif isinstance(value, str) and key not in TEXT_FIELDS:
        yield key, value


def _without_texts(value: Any, key: str = "") -> Any:
    """An answer with its user-facing texts blanked: what must not change with the language."""
    if isinstance(value, dict):
        return {name: _without_texts(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_without_texts(item, key) for item in value]
    if isinstance(value, str) and key not in TEXT_FIELDS:
        return "…"
    return value


def _triage(client: FlaskClient, **kwargs: Any) -> Any:
    return client.post("/v1/triage", json=EXAMPLE, **kwargs)


@pytest.mark.parametrize(
    ("header", "query", "expected", "fallback"),
    [
        (None, None, "en", False),
        ("es", None, "es", False),
        ("es-MX,es;q=0.9,en;q=0.5", None, "es", False),
        ("es-419", None, "es", False),
        ("fr;q=1, es;q=0.8, en;q=0.5", None, "es", False),
        ("es;q=0.2, en;q=0.9", None, "en", False),
        ("es;q=0, en", None, "en", False),
        ("*", None, "en", False),
        ("fr, de;q=0.5", None, "en", True),
        ("en", "es", "es", False),
        ("es", "en", "en", False),
        (None, "ES-mx", "es", False),
        (None, "xx", "en", True),
        ("es", "fr", "en", True),
    ],
)
def test_the_language_is_chosen_per_request(
    client: FlaskClient, header: str | None, query: str | None, expected: str, fallback: bool
) -> None:
    """`lang` wins over Accept-Language, whose q-values rank the languages; an unsupported
    choice falls back to English and says so; the header names the answer's language."""
    headers = {"Accept-Language": header} if header else {}
    url = "/v1/triage" + (f"?lang={query}" if query else "")
    response = client.post(url, json=EXAMPLE, headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["language"], body["language_fallback"]) == (expected, fallback)
    assert body["translation_status"] == ("source" if expected == "en" else "machine_assisted")
    assert response.headers["Content-Language"] == expected
    assert "Accept-Language" in response.headers["Vary"]


def test_spanish_changes_every_text_and_no_code(client: FlaskClient) -> None:
    """The Spanish answer equals the English one with its texts blanked; the texts differ."""
    english = _triage(client).get_json()
    spanish = _triage(client, headers={"Accept-Language": "es"}).get_json()
    for answer in (english, spanish):
        answer.pop("decision_id")
        answer.pop("language")
        answer.pop("translation_status")
    assert _without_texts(spanish) == _without_texts(english)
    assert spanish["rationale"][0]["title"] == "Regla de Ottawa positiva"
    assert spanish["disclaimer"].startswith("Ayuda para decidir, no un diagnóstico.")
    # Publication titles stay as published (no Spanish edition of these sources exists).
    english_texts = {text for _field, text in _texts({**english, "citations": []})}
    same = [text for _field, text in _texts({**spanish, "citations": []}) if text in english_texts]
    # Words spelt the same in both languages may stay; no sentence may.
    assert all(len(text.split()) <= 2 for text in same), same


@pytest.mark.parametrize("path", ["/v1/rules", "/v1/questions"])
def test_the_catalogues_in_spanish(client: FlaskClient, path: str) -> None:
    """The rule and question catalogues answer in the chosen language, with the same codes."""
    english = client.get(path).get_json()
    spanish = client.get(f"{path}?lang=es").get_json()
    assert spanish["language"] == "es"
    for answer in (english, spanish):
        answer.pop("language")
        answer.pop("translation_status")
    assert _without_texts(spanish) == _without_texts(english)
    assert spanish != english


def test_questions_in_spanish_say_when_they_are_asked(client: FlaskClient) -> None:
    """A situational question's `asked_when` is worded too; the finding names stay."""
    body = client.get("/v1/questions", headers={"Accept-Language": "es"}).get_json()
    pregnant = next(q for q in body["questions"] if q["finding"] == "pregnant")
    assert pregnant["label"].startswith("¿Está embarazada")
    assert pregnant["asked_when"] == "age_years es desconocido o (age_years ≥ 12 y age_years ≤ 55)"


def test_interview_in_spanish(client: FlaskClient) -> None:
    """The interview's questions, group titles, statement and answer are Spanish."""
    response = client.post("/v1/interview?lang=es", json={})
    body = response.get_json()
    assert response.headers["Content-Language"] == "es"
    assert (body["language"], body["answer"]["language"]) == ("es", "es")
    assert body["questions"][0]["why"]["group_title"] == "Señales de peligro"
    assert body["statement"].startswith("Provisional: la respuesta toma como desconocida")


def test_batch_in_spanish(client: FlaskClient) -> None:
    """Each result of a batch is in the request's language."""
    response = client.post(
        "/v1/triage/batch", json={"intakes": [EXAMPLE, {}]}, headers={"Accept-Language": "es"}
    )
    body = response.get_json()
    assert body["language"] == "es"
    assert [result["result"]["language"] for result in body["results"]] == ["es", "es"]
    assert response.headers["Content-Language"] == "es"


def _pseudo_requests() -> list[tuple[str, str, Any]]:
    danger = {"symptoms": {"foot_cold_pale_or_blue": "yes", "pain_nrs": 8}}
    everything = {
        "patient": {"age_years": 30},
        "history": {"anticoagulant": "yes", "diabetes": "yes"},
        "symptoms": {"pain_nrs": 5, "onset": "gradual", "pain_at_rest_or_night": "no"},
    }
    return [
        ("POST", "/v1/triage", EXAMPLE),
        ("POST", "/v1/triage", danger),
        ("POST", "/v1/triage", everything),
        ("POST", "/v1/triage", {}),
        ("POST", "/v1/triage/batch", {"intakes": [EXAMPLE, danger, everything]}),
        ("POST", "/v1/interview", {}),
        ("POST", "/v1/interview", {**EXAMPLE, "max_questions": 10}),
        ("POST", "/v1/interview", {"symptoms": {"onset": "injury"}, "max_questions": 10}),
        ("GET", "/v1/rules", None),
        ("GET", "/v1/questions", None),
    ]


@pytest.mark.slow  # builds its own app
@pytest.mark.parametrize(("method", "path", "body"), _pseudo_requests())
def test_no_english_bypasses_the_locale_files(
    pseudo_app: Flask, method: str, path: str, body: Any
) -> None:
    """In the pseudo-locale every user-facing string of every /v1 answer is wrapped: none comes
    from code or a rule file around the locale files."""
    client = pseudo_app.test_client()
    response = client.open(path, method=method, json=body, headers={"Accept-Language": PSEUDO})
    assert response.status_code == 200
    answer = response.get_json()
    texts = list(_texts(answer))
    assert len(texts) > 5
    assert [(field, text) for field, text in texts if not is_wrapped(text)] == []


@pytest.mark.parametrize(
    ("body", "field", "english", "spanish"),
    [
        (
            {"symptoms": {"fever": "maybe"}},
            "symptoms.fever",
            "Must be one of: yes, no, unknown.",
            "Debe ser uno de estos valores: yes, no, unknown.",
        ),
        (
            {"symptoms": {"pain_nrs": 11}},
            "symptoms.pain_nrs",
            "Must be greater than or equal to 0 and less than or equal to 10.",
            "Escriba un número del 0 al 10.",
        ),
        (
            {"symptoms": {"fevr": "yes"}},
            "symptoms.(unknown key)",
            "Unknown field. Did you mean 'fever'?",
            "Campo desconocido. ¿Quería decir 'fever'?",
        ),
        (
            {"patient": {"age_years": "a"}},
            "patient.age_years",
            "Not a valid integer.",
            "No es un número entero válido.",
        ),
    ],
)
def test_problem_messages_in_both_languages(
    client: FlaskClient, body: Any, field: str, english: str, spanish: str
) -> None:
    """A 422's detail and messages follow the language; field paths and values stay."""
    en = client.post("/v1/triage", json=body).get_json()
    response = client.post("/v1/triage?lang=es", json=body)
    es = response.get_json()
    assert en["errors"] == [{"field": field, "message": english}]
    assert es["errors"] == [{"field": field, "message": spanish}]
    assert (es["title"], es["detail"]) == (
        "Contenido no procesable",
        "Las respuestas no tienen el formato esperado; vea los errores.",
    )
    assert response.headers["Content-Language"] == "es"


@pytest.mark.parametrize(
    ("body", "spanish"),
    [
        ({"intakes": []}, "'intakes' debe ser una lista de 1 a 100 respuestas."),
        ([], "El cuerpo debe ser un objeto con una sola clave, 'intakes'."),
    ],
)
def test_a_batch_refused_whole_says_why_in_spanish(
    client: FlaskClient, body: Any, spanish: str
) -> None:
    """A batch body that is not {"intakes": [1 to 100 intakes]}: its message follows the
    language (the field path stays), with Content-Language."""
    response = client.post("/v1/triage/batch", json=body, headers={"Accept-Language": "es"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [{"field": "intakes", "message": spanish}]
    assert response.headers["Content-Language"] == "es"


def test_problem_messages_in_spanish_for_batch_items_and_the_interview(
    client: FlaskClient,
) -> None:
    """A batch item's problem and the interview's max_questions problem are Spanish too."""
    batch = client.post(
        "/v1/triage/batch?lang=es", json={"intakes": [{"symptoms": {"fever": "x"}}]}
    ).get_json()
    assert batch["results"][0]["error"]["errors"][0]["message"].startswith("Debe ser uno de")
    interview = client.post("/v1/interview?lang=es", json={"max_questions": 0}).get_json()
    assert interview["errors"] == [
        {"field": "max_questions", "message": "Debe ser un número entero de 1 a 10."}
    ]


@pytest.mark.slow  # builds its own app
def test_no_english_bypasses_the_locale_files_in_problems(pseudo_app: Flask) -> None:
    """Every sentence of a 422 in the pseudo-locale is wrapped."""
    client = pseudo_app.test_client()
    headers = {"Accept-Language": PSEUDO}
    bodies = [
        {"symptoms": {"fever": "maybe", "pain_nrs": 11, "fevr": "yes"}, "patient": 3},
        {"patient": {"age_years": "a"}, "symptoms": {"fever": 3, "onset": None}},
    ]
    for body in bodies:
        problem = client.post("/v1/triage", json=body, headers=headers).get_json()
        texts = [problem["title"], problem["detail"], *(e["message"] for e in problem["errors"])]
        sentences = [s for text in texts for s in text.replace("⟧ ⟦", "⟧\n⟦").split("\n")]
        assert [s for s in sentences if not is_wrapped(s)] == []


def _raw(client: FlaskClient, path: str, data: bytes, **kwargs: Any) -> Any:
    return client.post(path, data=data, content_type="application/json", **kwargs)


# Requests that fail before any intake is read: (status, how to make it, Spanish title, detail).
HTTP_PROBLEMS = [
    (404, lambda c, q, h: c.get(f"/v1/nothing{q}", headers=h), "No encontrado",
     "La dirección (URL) pedida no existe en este servidor. Si escribió la dirección a mano, "
     "revísela e inténtelo de nuevo."),
    (405, lambda c, q, h: c.get(f"/v1/triage{q}", headers=h), "Método no permitido",
     "Este método no está permitido para esta dirección (URL)."),
    (415, lambda c, q, h: c.post(f"/v1/triage{q}", data="x", content_type="text/plain", headers=h),
     "Tipo de contenido no admitido", "Envíe las respuestas como application/json."),
    (413, lambda c, q, h: _raw(c, f"/v1/triage{q}", b" " * 70_000, headers=h),
     "Solicitud demasiado grande", "Los datos enviados superan el tamaño máximo."),
    (400, lambda c, q, h: _raw(c, f"/v1/triage{q}", b"{", headers=h), "Solicitud incorrecta",
     "El cuerpo no es JSON válido."),
    (400, lambda c, q, h: _raw(c, f"/v1/triage{q}", b'{"a": 1, "a": 2}', headers=h),
     "Solicitud incorrecta", "El cuerpo JSON repite una clave."),
    (400, lambda c, q, h: _raw(c, f"/v1/triage/batch{q}", b'{"intakes": [NaN]}', headers=h),
     "Solicitud incorrecta", "El cuerpo JSON contiene NaN o Infinity, que JSON no admite."),
    (404, lambda c, q, h: c.get(f"/rules/NOPE{q}", headers=h), "No encontrado",
     "Ninguna regla tiene este id."),
    (422, lambda c, q, h: c.post(f"/v1/triage/batch{q}", json={"intakes": []}, headers=h),
     "Contenido no procesable", 'El cuerpo debe ser {"intakes": [...]}; vea los errores.'),
    (422, lambda c, q, h: c.post(f"/v1/triage/batch{q}", json=[], headers=h),
     "Contenido no procesable", 'El cuerpo debe ser {"intakes": [...]}; vea los errores.'),
]  # fmt: skip
HTTP_IDS = [
    "404", "405", "415", "413", "400-json", "400-repeated", "400-nan", "404-rule",
    "422-batch-size", "422-batch-shape",
]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "send", "title", "detail"),
    HTTP_PROBLEMS,
    ids=HTTP_IDS,
)
def test_http_problems_in_both_languages(
    client: FlaskClient, status: int, send: Any, title: str, detail: str
) -> None:
    """400 to 415 problems follow `lang` and Accept-Language; English stays the default."""
    for query, headers in (("?lang=es", {}), ("", {"Accept-Language": "es-MX, es;q=0.9"})):
        response = send(client, query, headers)
        assert response.status_code == status
        assert response.mimetype == "application/problem+json"
        assert (response.get_json()["title"], response.get_json()["detail"]) == (title, detail)
        assert response.headers["Content-Language"] == "es"
    english = send(client, "", {})
    assert english.status_code == status
    assert english.headers["Content-Language"] == "en"
    assert english.get_json()["title"] not in (title, "")
    if status == 405:
        assert "POST" in english.headers["Allow"]


@pytest.mark.slow  # builds its own app
@pytest.mark.parametrize(("status", "send", "title", "detail"), HTTP_PROBLEMS, ids=HTTP_IDS)
def test_no_english_bypasses_the_locale_files_in_http_problems(
    pseudo_app: Flask, status: int, send: Any, title: str, detail: str
) -> None:
    """Every sentence of a 400 to 415 problem in the pseudo-locale is wrapped."""
    response = send(pseudo_app.test_client(), f"?lang={PSEUDO}", {})
    assert response.status_code == status
    problem = response.get_json()
    sentences = [
        s
        for text in (problem["title"], problem["detail"])
        for s in text.replace("⟧ ⟦", "⟧\n⟦").split("\n")
    ]
    assert [s for s in sentences if not is_wrapped(s)] == []


def test_questions_give_each_choice_its_words(client: FlaskClient) -> None:
    """/v1/questions and the interview's questions: `choices` pairs each allowed value (the
    code, unchanged) with its label in the answer's language; `allowed_values` stays."""
    english = client.get("/v1/questions").get_json()["questions"]
    spanish = client.get("/v1/questions?lang=es").get_json()["questions"]
    for en, es in zip(english, spanish, strict=True):
        if "allowed_values" not in en:
            assert "choices" not in en
            assert "choices" not in es
            continue
        assert [c["value"] for c in en["choices"]] == en["allowed_values"]
        assert [c["value"] for c in es["choices"]] == es["allowed_values"] == en["allowed_values"]
    location = next(q for q in spanish if q["finding"] == "pain_location")
    assert location["choices"][0] == {
        "value": "ball_of_foot",
        "label": "Almohadilla del pie (planta delantera)",
    }
    fever = next(q for q in english if q["finding"] == "fever")
    assert fever["choices"] == [
        {"value": "yes", "label": "Yes"},
        {"value": "no", "label": "No"},
        {"value": "unknown", "label": "Unknown"},
    ]
    interview = client.post("/v1/interview?lang=es", json={}).get_json()
    first = interview["questions"][0]
    assert first["choices"] == [
        {"value": "yes", "label": "Sí"},
        {"value": "no", "label": "No"},
        {"value": "unknown", "label": "No lo sé"},
    ]


def test_answers_name_the_destination_in_their_language(client: FlaskClient) -> None:
    """/v1/triage, each batch result and the interview's answer: `destination_name` (and each
    referral's) in the answer's language beside the unchanged `destination` code."""
    english = _triage(client).get_json()
    spanish = _triage(client, headers={"Accept-Language": "es"}).get_json()
    assert (english["destination"], spanish["destination"]) == ("fracture_clinic",) * 2
    assert english["destination_name"] == "X-ray and fracture clinic"
    assert spanish["destination_name"] == "Radiografía y consulta de fracturas"
    names = {r["destination"]: r["destination_name"] for r in spanish["referrals"]}
    assert names["fracture_clinic"] == "Radiografía y consulta de fracturas"
    assert names["clinician_call_back"].startswith("Un profesional de la salud le llama")
    assert english["referrals"][0]["destination_name"] == "X-ray and fracture clinic"
    batch = client.post("/v1/triage/batch?lang=es", json={"intakes": [EXAMPLE]}).get_json()
    assert batch["results"][0]["result"]["destination_name"] == spanish["destination_name"]
    answer = client.post("/v1/interview?lang=es", json={}).get_json()["answer"]
    assert (answer["destination"], answer["destination_name"]) == (
        "fracture_clinic",
        names["fracture_clinic"],
    )
