"""The intake page and its result in Spanish: chosen by `lang` or Accept-Language, a language
switch, lang attributes; the pseudo-locale proves no English text is left on them."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.locales import PSEUDO, english_left_on
from tests.helpers.web import EMERGENCY, FRACTURE, SELF_CARE


def _form(answers: dict[str, str]) -> dict[str, str]:
    return dict(answers)


def test_the_intake_page_in_spanish(client: FlaskClient) -> None:
    """?lang=es: html lang, the switch (Spanish current), Spanish heading, legends and answers."""
    page = client.get("/?lang=es")
    text = page.get_data(as_text=True)
    assert '<html lang="es">' in text
    assert '<a href="?lang=es" hreflang="es" lang="es" aria-current="true">Español</a>' in text
    assert '<a href="?lang=en" hreflang="en" lang="en">English</a>' in text
    assert "<h1>Dolor en la almohadilla del pie: pruebe la clasificación</h1>" in text
    assert "<legend>Sobre usted</legend>" in text
    assert "> No lo sé</label>" in text
    assert 'action="/?lang=es"' in text
    assert 'data-result="/result?lang=es"' in text


def test_accept_language_chooses_the_page_language(client: FlaskClient) -> None:
    """Without lang, Accept-Language chooses; English stays the default."""
    spanish = client.get("/", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert '<html lang="es">' in spanish.get_data(as_text=True)
    english = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "<h1>Ball-of-foot pain: try the triage</h1>" in english


def test_the_emergency_result_in_spanish(client: FlaskClient) -> None:
    """An emergency in Spanish: the banner says urgencias now or 911; codes stay."""
    text = client.post("/?lang=es", data=_form(EMERGENCY)).get_data(as_text=True)
    assert 'data-urgency="emergency"' in text
    assert "Emergencia: busque ayuda médica ahora. Vaya a urgencias ahora o llame al 911" in text
    assert (
        '<p class="destination" id="destination">Urgencias y cirugía vascular de guardia</p>'
        in (text)
    )
    assert '<dd class="how-soon">Ahora</dd>' in text
    assert "Vaya ahora; no espere a que le llamen." in text


def test_the_self_care_fragment_in_spanish(client: FlaskClient) -> None:
    """The fragment the script asks for (/result?lang=es) is Spanish too."""
    text = client.post("/result?lang=es", data=_form(SELF_CARE)).get_data(as_text=True)
    assert '<p class="destination" id="destination">Cuidados en casa</p>' in text
    assert "<h3>Consejos</h3>" in text


def test_field_errors_in_spanish(client: FlaskClient) -> None:
    """A value out of range: the question's Spanish label and a Spanish message."""
    response = client.post("/?lang=es", data={"pain_nrs": "11"})
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Revise estas respuestas" in text
    assert "Escriba un número del 0 al 10." in text


@pytest.mark.slow  # builds its own app
@pytest.mark.parametrize(
    ("method", "data"),
    [("GET", None), ("POST", EMERGENCY), ("POST", FRACTURE), ("POST", SELF_CARE),
     ("POST", {"pain_nrs": "11", "fever": "maybe"})],
    ids=["form", "emergency", "fracture", "self-care", "errors"],
)  # fmt: skip
def test_no_english_left_on_the_intake_page(
    pseudo_app: Flask, method: str, data: dict[str, str] | None
) -> None:
    """In the pseudo-locale every text of the intake page and its result is wrapped."""
    response = pseudo_app.test_client().open(f"/?lang={PSEUDO}", method=method, data=data)
    assert english_left_on(response.get_data(as_text=True)) == []


def test_the_spanish_result_words_emergency_and_same_day_plainly(client: FlaskClient) -> None:
    """The escalation reads "Atención de emergencia" (not the calque "Escalado"), and a same-day
    urgency "Hoy (urgente)", never to be mistaken for "Urgencias" (the emergency department)."""
    emergency = client.post("/?lang=es", data=_form(EMERGENCY)).get_data(as_text=True)
    assert (
        '<div><dt>Atención de emergencia</dt><dd class="escalation">Urgencias</dd></div>'
        in emergency
    )
    assert "Escalado" not in emergency
    fracture = client.post("/?lang=es", data=_form(FRACTURE)).get_data(as_text=True)
    assert '<dd class="urgency">Hoy (urgente)</dd>' in fracture
