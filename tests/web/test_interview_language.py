"""/interview in Spanish without a browser: the language chosen as on / and carried by the form
posts, the switch keeps the answers, and the pseudo-locale proves no English is left."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from service.domain.findings import FINDINGS
from tests.helpers import AppFactory
from tests.helpers.locales import PSEUDO, english_left_on, rules_with_pseudo_locale
from tests.helpers.web import EMERGENCY, SELF_CARE, carried_fields, parse, shown_questions


def _html(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def _answer(client: FlaskClient, html: str, answers: dict[str, str], go: str = "next") -> Any:
    """Post one screen as a browser without JavaScript would, with no Accept-Language and no
    query: only the carried `lang` field can keep the page's language."""
    page = parse(html)
    data = MultiDict(carried_fields(page))
    for name in shown_questions(page):
        if name in answers:
            data.add(name, answers[name])
    data.add("go", go)
    return client.post("/interview", data=data)


def _walk(client: FlaskClient, answers: dict[str, str], start: str) -> list[TestResponse]:
    """Every page of the interview, the result last."""
    pages = [client.get(start)]
    while shown_questions(parse(_html(pages[-1]))):
        assert pages[-1].status_code == 200, _html(pages[-1])
        assert len(pages) <= len(FINDINGS)
        pages.append(_answer(client, _html(pages[-1]), answers))
    assert pages[-1].status_code == 200
    return pages


def test_the_first_screen_in_spanish(client: FlaskClient) -> None:
    """?lang=es: html lang, the switch (buttons that post the answers), Spanish words."""
    text = _html(client.get("/interview?lang=es"))
    assert '<html lang="es">' in text
    assert 'name="switch_to" value="es" lang="es" aria-current="true">Español</button>' in text
    assert 'name="switch_to" value="en" lang="en">English</button>' in text
    assert '<h1 id="screen-title" tabindex="-1">Señales de peligro</h1>' in text
    assert '<span class="why-label">Por qué lo preguntamos:</span>' in text
    assert text.count("> No lo sé</label>") == 7
    assert 'id="next">Siguiente</button>' in text
    assert ("lang", "es") in carried_fields(parse(text))
    assert '<a href="/interview?lang=es">Empezar de nuevo</a>' in text
    assert '<a href="/?lang=es">Todas las preguntas en una página</a>' in text


def test_accept_language_chooses_and_english_stays_the_default(client: FlaskClient) -> None:
    spanish = _html(client.get("/interview", headers={"Accept-Language": "es-ES,es;q=0.8"}))
    assert '<html lang="es">' in spanish
    english = _html(client.get("/interview"))
    assert '<html lang="en">' in english
    assert '<h1 id="screen-title" tabindex="-1">Danger signs</h1>' in english


def test_a_spanish_emergency_through_the_form_posts(client: FlaskClient) -> None:
    """A cold, pale foot: the interview stops at once, in Spanish, with the emergency wording."""
    pages = _walk(client, EMERGENCY, "/interview?lang=es")
    assert len(pages) == 2  # the danger signs, then the result
    text = _html(pages[-1])
    assert '<html lang="es">' in text
    assert 'data-urgency="emergency"' in text
    assert "Emergencia: busque ayuda médica ahora. Vaya a urgencias ahora o llame al 911" in text
    assert "Hizo falta una pantalla de preguntas." in text
    assert '<dd data-finding="foot_cold_pale_or_blue">Sí</dd>' in text
    assert '<dd data-finding="fever">No lo sé</dd>' in text
    assert "Your result" not in text
    assert "I don&#39;t know" not in text
    stopped = _html(client.get("/interview?lang=es&foot_cold_pale_or_blue=yes"))
    assert "<strong>La entrevista terminó aquí:</strong>" in stopped


def test_a_spanish_self_care_run_through_the_form_posts(client: FlaskClient) -> None:
    """The mild ache: every screen in Spanish (the carried lang), self-care at the end."""
    pages = _walk(client, SELF_CARE, "/interview?lang=es")
    assert len(pages) > 2
    assert all('<html lang="es">' in _html(page) for page in pages)
    text = _html(pages[-1])
    assert '<p class="destination" id="destination">Cuidados en casa</p>' in text
    assert 'id="complete-note">Ninguna respuesta a las preguntas no hechas' in text
    assert "pantallas de preguntas." in text or "Hizo falta una pantalla" in text
    assert "Las preguntas no hechas no eran necesarias para este resultado" in text


def test_the_switch_keeps_the_answers_and_the_screen(client: FlaskClient) -> None:
    """Switching on the second screen: the same screen, the answers so far, the other language,
    and the choices already made on this screen kept."""
    first = _html(client.get("/interview?lang=es"))
    second = _html(_answer(client, first, SELF_CARE))
    page = parse(second)
    shown = shown_questions(page)
    switch = [
        (e.attrs["name"], e.attrs.get("value", ""))
        for e in page.elements
        if e.tag == "input" and e.attrs.get("type") == "hidden" and e.form == "language-switch"
    ]
    assert sorted(switch) == sorted(carried_fields(page))  # the same state in both forms
    name = next(name for name in shown if not FINDINGS[name].is_numeric)
    data = MultiDict([*switch, (name, SELF_CARE.get(name, "no")), ("switch_to", "en")])
    english = _html(client.post("/interview", data=data))
    assert '<html lang="en">' in english
    assert shown_questions(parse(english)) == shown
    assert [f for f in carried_fields(parse(english)) if f[0] != "lang"] == [
        f for f in carried_fields(page) if f[0] != "lang"
    ]
    assert ("lang", "en") in carried_fields(parse(english))
    assert (
        f'name="{name}" value="{SELF_CARE.get(name, "no")}" aria-describedby="help-{name}" checked'
        in english
    )
    assert "Siguiente" not in english
    assert 'id="next">Next</button>' in english


def test_the_switch_on_the_result_page(client: FlaskClient) -> None:
    result = client.get("/interview?lang=es&foot_cold_pale_or_blue=yes")
    data = MultiDict([*carried_fields(parse(_html(result))), ("switch_to", "en")])
    english = _html(client.post("/interview", data=data))
    assert '<html lang="en">' in english
    assert 'data-urgency="emergency"' in english
    assert "<strong>The interview stopped here:</strong>" in english


def test_problems_in_spanish(client: FlaskClient) -> None:
    """A number and I don't know both: asked again with a Spanish message; a bad link: the
    error page in Spanish (labels as on the form, field paths unchanged)."""
    text = _html(client.get("/interview?lang=es&pain_nrs=11"))
    assert '<html lang="es">' in text
    assert "La entrevista no puede seguir con estas respuestas" in text
    assert "Escriba un número del 0 al 10." in text
    assert '<a href="/interview?lang=es">Empiece la entrevista de nuevo</a>' in text
    response = client.get("/interview?lang=es")
    while "pain_nrs" not in shown_questions(parse(_html(response))):
        response = _answer(client, _html(response), SELF_CARE)
    both = MultiDict(
        [*carried_fields(parse(_html(response))), ("pain_nrs", "5"), ("pain_nrs", "unknown")]
    )
    again = client.post("/interview", data=both)
    assert again.status_code == 422
    assert "Escriba un número o marque «No lo sé», no las dos cosas." in _html(again)
    assert "Revise estas respuestas" in _html(again)


@pytest.mark.slow  # builds its own app
@pytest.mark.parametrize("answers", [EMERGENCY, SELF_CARE], ids=["emergency", "self-care"])
def test_no_english_left_on_the_interview(pseudo_app: Flask, answers: dict[str, str]) -> None:
    """In the pseudo-locale every text of every screen and of the result is wrapped."""
    pages = _walk(pseudo_app.test_client(), answers, f"/interview?lang={PSEUDO}")
    for page in pages:
        assert english_left_on(_html(page)) == []


@pytest.mark.slow  # builds its own app
def test_no_english_left_on_the_interview_problems(pseudo_app: Flask) -> None:
    """The error page, a screen asked again, and the page without the interview (API keys)."""
    client = pseudo_app.test_client()
    assert english_left_on(_html(client.get(f"/interview?lang={PSEUDO}&pain_nrs=11"))) == []
    unreadable = client.post("/interview", data={"lang": PSEUDO, "shown": "x"})
    assert unreadable.status_code == 400
    assert english_left_on(_html(unreadable)) == []
    first = _html(client.get(f"/interview?lang={PSEUDO}"))
    data = MultiDict(carried_fields(parse(first)))
    data.add("fever", "yes")
    data.add("fever", "no")
    again = client.post("/interview", data=data)
    assert again.status_code == 422
    assert english_left_on(_html(again)) == []


@pytest.mark.slow  # builds its own app
def test_no_english_left_on_the_interview_unavailable(
    tmp_path: Path, app_factory: AppFactory
) -> None:
    folder = rules_with_pseudo_locale(tmp_path)
    app = app_factory({"RULES_DIR": str(folder), "API_KEYS": ("k" * 32,)})
    response = app.test_client().get(f"/interview?lang={PSEUDO}")
    assert response.status_code == 403
    assert english_left_on(_html(response)) == []


def test_the_emergency_reason_says_emergency_care(client: FlaskClient) -> None:
    """Why the danger signs are asked: "atención de emergencia ahora", not "de urgencia"."""
    text = _html(client.get("/interview?lang=es"))
    assert "Su respuesta podría mostrar que necesita atención de emergencia ahora." in text
    assert "atención de urgencia" not in text
