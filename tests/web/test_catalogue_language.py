"""/rules, /rules/<id> and /safety in Spanish: `lang` or Accept-Language, the switch, lang
attributes (the rule conditions and case names marked English), and the pseudo-locale proves
that every other text comes from the locale files; /docs stays English (the contract)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.locales import PSEUDO, english_left_on

PAGES = ["/rules", "/rules/EM1", "/rules/SC2", "/rules/DEF", "/safety"]


@pytest.mark.parametrize("path", PAGES)
def test_the_page_in_spanish(client: FlaskClient, path: str) -> None:
    text = client.get(f"{path}?lang=es").get_data(as_text=True)
    assert '<html lang="es">' in text
    assert '<a href="?lang=es" hreflang="es" lang="es" aria-current="true">Español</a>' in text
    assert '<a href="/rules?lang=es">Reglas</a>' in text
    assert '<a href="/safety?lang=es">Informe de seguridad</a>' in text
    assert "<dt>Versión</dt>" in text
    english = client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="en">' in english


def test_the_catalogue_in_spanish(client: FlaskClient) -> None:
    text = client.get("/rules", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "<h1>Catálogo de reglas</h1>" in text
    assert "Posible falta de riego sanguíneo en la pierna (isquemia aguda)" in text
    assert '<td class="condition-cell" lang="en">' in text  # the conditions stay as written
    assert "Las condiciones se muestran en inglés" in text
    assert '<a href="/rules/EM1?lang=es">EM1</a>' in text


def test_one_rule_in_spanish(client: FlaskClient) -> None:
    text = client.get("/rules/SC2?lang=es").get_data(as_text=True)
    assert "<dt>Familia</dt>" in text
    assert '<dd class="informational">Sí: explica una respuesta de cuidados en casa' in text
    assert "Casos en los que se aplica (" in text
    assert '<a href="/rules?lang=es">Todas las reglas</a>' in text
    em1 = client.get("/rules/EM1?lang=es").get_data(as_text=True)
    assert "Vaya a urgencias ahora o llame al 911" in em1
    assert '<dd class="condition" lang="en">' in em1


def test_the_safety_report_in_spanish(client: FlaskClient) -> None:
    text = client.get("/safety?lang=es").get_data(as_text=True)
    assert "<h1>Informe de seguridad</h1>" in text
    assert '<th scope="row">casos de las reglas</th>' in text
    assert "Infraclasificación" in text
    assert "Nivel: esperado (filas) frente a obtenido (columnas)" in text


def test_the_api_docs_stay_english(client: FlaskClient) -> None:
    """/docs shows the contract, which is English: no switch that would change nothing."""
    text = client.get("/docs?lang=es").get_data(as_text=True)
    assert '<html lang="en">' in text
    assert 'class="languages"' not in text


@pytest.mark.slow  # builds its own app
def test_no_english_left_on_the_catalogue_and_safety_pages(pseudo_app: Flask) -> None:
    """Every rule page, the catalogue and the safety report in the pseudo-locale."""
    client = pseudo_app.test_client()
    ruleset = pseudo_app.extensions["triage"].ruleset
    paths = [
        "/rules",
        "/safety",
        *(f"/rules/{rule.id}" for rule in (*ruleset.rules, ruleset.default)),
    ]
    left = {}
    for path in paths:
        response = client.get(f"{path}?lang={PSEUDO}")
        assert response.status_code == 200, path
        if found := english_left_on(response.get_data(as_text=True)):
            left[path] = found[:5]
    assert left == {}


def test_a_rule_says_how_soon_once(client: FlaskClient) -> None:
    """The urgency's name is not followed by a "how soon" that repeats it: "Hoy (urgente)",
    "Cita normal"; English keeps "Urgent (today)"."""
    assert "<dd>Hoy (urgente)</dd>" in client.get("/rules/UR1?lang=es").get_data(as_text=True)
    assert "<dd>Cita normal</dd>" in client.get("/rules/SC2?lang=es").get_data(as_text=True)
    assert "<dd>Urgent (today)</dd>" in client.get("/rules/UR1").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/interview", *PAGES])
def test_pages_name_their_language_in_the_headers(client: FlaskClient, path: str) -> None:
    """Every translated page sends Content-Language (its language) and Vary: Accept-Language,
    so that a cache keeps the English and the Spanish apart."""
    spanish = client.get(path, headers={"Accept-Language": "es"})
    english = client.get(path)
    assert (spanish.status_code, english.status_code) == (200, 200)
    assert (spanish.headers["Content-Language"], english.headers["Content-Language"]) == (
        "es",
        "en",
    )
    assert "Accept-Language" in spanish.headers["Vary"]
    assert "Accept-Language" in english.headers["Vary"]


def test_rule_families_in_spanish(client: FlaskClient) -> None:
    """The families' names are worded from the locale; their anchors stay the codes."""
    text = client.get("/rules?lang=es").get_data(as_text=True)
    assert '<li id="family-fracture"><strong>fractura</strong>:' in text
    assert '<span class="family">emergencia</span>' in text
    assert '<strong lang="en">fracture</strong>' not in text
    rule = client.get("/rules/UR1?lang=es").get_data(as_text=True)
    assert '<a href="/rules?lang=es#family-fracture">fractura</a>' in rule
    english = client.get("/rules").get_data(as_text=True)
    assert '<li id="family-fracture"><strong>fracture</strong>:' in english


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_an_unknown_rule_is_an_html_page_for_a_browser(client: FlaskClient) -> None:
    """/rules/NOPE asked for by a browser: a 404 page in the page's language; an API client
    (no Accept, */* or JSON) keeps the problem+json."""
    page = client.get("/rules/NOPE?lang=es", headers={"Accept": BROWSER_ACCEPT})
    text = page.get_data(as_text=True)
    assert (page.status_code, page.mimetype) == (404, "text/html")
    assert page.headers["Content-Language"] == "es"
    assert '<html lang="es">' in text
    assert "Ninguna regla tiene este id." in text
    assert '<a href="/rules?lang=es">Todas las reglas</a>' in text
    english = client.get("/rules/NOPE", headers={"Accept": BROWSER_ACCEPT})
    assert "No rule has this id." in english.get_data(as_text=True)
    for accept in (None, "*/*", "application/json", "application/problem+json"):
        problem = client.get("/rules/NOPE?lang=es", headers={"Accept": accept} if accept else {})
        assert (problem.status_code, problem.mimetype) == (404, "application/problem+json")
        assert problem.get_json()["detail"] == "Ninguna regla tiene este id."
