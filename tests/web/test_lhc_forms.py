"""Our Questionnaire in LHC-Forms (npm lforms), headless Chromium: rendered, filled, triaged.

LHC-Forms is the NLM's SDC form filler. Its built files come from node_modules (offline) and are
served by a static server on 127.0.0.1 (its scripts are ES modules, which file:// cannot load).
The form is filled through Selenium as a person would; its QuestionnaireResponse, from
LForms.Util.getFormFHIRData, is posted to $triage.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from service.domain.wording import display
from tests.helpers import RED_FLAG_SCREEN, ROOT

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
LFORMS = ROOT / "node_modules" / "lforms" / "dist" / "lforms"
if os.environ.get("TRIAGE_REQUIRE_BROWSER") and (CHROMIUM is None or CHROMEDRIVER is None):
    raise RuntimeError("TRIAGE_REQUIRE_BROWSER is set but chromium or chromedriver is missing")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None,
        reason="chromium and chromium-driver are not installed (make browser installs them)",
    ),
    pytest.mark.skipif(
        not (LFORMS / "webcomponent" / "main.js").is_file(),
        reason="node_modules/lforms is missing: npm ci installs it",
    ),
]
# The files the LHC-Forms README lists, in its order; the FHIR R4 support after the modules.
PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LHC-Forms</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/webcomponent/styles.css">
<script src="/webcomponent/assets/lib/zone.min.js"></script>
<script src="/webcomponent/runtime.js" type="module"></script>
<script src="/webcomponent/polyfills.js" type="module"></script>
<script src="/webcomponent/main.js" type="module"></script>
<script src="/fhir/R4/lformsFHIR.min.js" defer></script>
</head><body><div id="form"></div></body></html>"""
TRIAGE = "/fhir/QuestionnaireResponse/$triage"
# An injury with a tender 5th metatarsal base (UR1: X-ray and fracture clinic today); every
# danger sign answered.
FRACTURE: dict[str, Any] = {
    "age_years": 40,
    **dict.fromkeys(RED_FLAG_SCREEN, "no"),
    "diabetes": "no",
    "onset": "injury",
    "injury_mechanism": "twist",
    "pain_location": "midfoot",
    "pain_nrs": 3,
    "steps_immediately": 4,
    "steps_now": 4,
    "swelling": "none",
    "tender_5th_mt_base": "yes",
    "tender_navicular": "no",
    "tender_metatarsal_point": "no",
    "pain_out_of_proportion": "no",
}


class _Files(http.server.SimpleHTTPRequestHandler):
    """The page at /, LHC-Forms' built files under it; nothing logged."""

    def do_GET(self) -> None:
        if self.path != "/":
            super().do_GET()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def page_url() -> Iterator[str]:
    handler = functools.partial(_Files, directory=str(LFORMS))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    with tempfile.TemporaryDirectory(prefix="triage-lhc-") as profile:
        for flag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={Path(profile)}",
            "--window-size=1280,900",
        ):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
        driver.set_page_load_timeout(20)
        driver.set_script_timeout(20)
        try:
            yield driver
        finally:
            driver.quit()


def _render(driver: WebDriver, url: str, questionnaire: dict[str, Any]) -> None:
    """Load LHC-Forms and render the Questionnaire (its FHIR R4 import) into #form."""
    driver.get(url)
    deadline = time.monotonic() + 20
    ready = "return !!(window.LForms && LForms.Util && LForms.FHIR)"
    while not driver.execute_script(ready):
        assert time.monotonic() < deadline, driver.get_log("browser")
        time.sleep(0.1)
    added = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "Promise.resolve(LForms.Util.addFormToPage(arguments[0], 'form'))"
        ".then(() => done('ok'), (e) => done(String(e)));",
        questionnaire,
    )
    assert added == "ok"


def _fill(driver: WebDriver, answers: dict[str, Any]) -> None:
    """Type each answer as a person would: a number, or a choice's text picked from its list."""
    for name, value in answers.items():
        field = driver.find_element(By.ID, f"{name}/1/1")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", field)
        field.click()
        if isinstance(value, int):
            field.send_keys(str(value), Keys.TAB)
        else:
            field.send_keys(display(value))
            field.send_keys(Keys.ENTER)
        shown = field.get_attribute("value")
        assert shown == (str(value) if isinstance(value, int) else display(value)), name


def _response(driver: WebDriver) -> dict[str, Any]:
    response: dict[str, Any] = driver.execute_script(
        "return LForms.Util.getFormFHIRData('QuestionnaireResponse', 'R4')"
    )
    return response


def _unanswered_required(driver: WebDriver) -> list[str]:
    """LHC-Forms' own check of the form: its messages for required items left empty."""
    errors = driver.execute_script("return LForms.Util.checkValidity()")
    return [str(error) for error in errors or []]


def _linkids(response: dict[str, Any]) -> dict[str, list[str]]:
    return {
        group["linkId"]: [item["linkId"] for item in group.get("item", [])]
        for group in response.get("item", [])
    }


def test_lhc_forms_fills_our_questionnaire_and_it_is_triaged(
    app: Flask, page_url: str, browser: WebDriver
) -> None:
    """Rendered with its groups, units and required danger signs; filled; its response is UR1."""
    client = app.test_client()
    questionnaire = client.get("/fhir/Questionnaire/forefoot-triage").get_json(force=True)
    _render(browser, page_url, questionnaire)
    text = browser.find_element(By.ID, "form").text
    assert "Danger signs: answer each one" in text
    assert "years" in text  # the age's UCUM unit, shown beside the field
    # Required and empty: LHC-Forms itself names the danger signs before they are answered.
    assert len(_unanswered_required(browser)) == len(RED_FLAG_SCREEN)
    _fill(browser, FRACTURE)
    assert _unanswered_required(browser) == []
    response = _response(browser)
    assert response["questionnaire"].split("|")[0] == questionnaire["url"]
    assert sorted(_linkids(response)["danger_signs"]) == sorted(RED_FLAG_SCREEN)
    triaged = client.post(TRIAGE, json=response)
    assert triaged.status_code == 200, triaged.get_data(as_text=True)
    guidance = triaged.get_json(force=True)
    (result,) = guidance["contained"]
    outcome = {
        p["name"]: p["valueCoding"]["code"] for p in result["parameter"] if "valueCoding" in p
    }
    assert (outcome["urgency"], outcome["destination"], outcome["setting"]) == (
        "urgent",
        "fracture_clinic",
        "in_person",
    )
    assert guidance["reasonCode"][0]["coding"][0]["code"] == "UR1"
    # The same answers through /v1/triage: the same decision.
    intake = {
        "patient": {"age_years": 40},
        "history": {"diabetes": "no"},
        "symptoms": {k: v for k, v in FRACTURE.items() if k not in ("age_years", "diabetes")},
    }
    v1 = client.post("/v1/triage", json=intake).get_json()
    assert (v1["urgency"], v1["destination"], v1["setting"]) == (
        outcome["urgency"],
        outcome["destination"],
        outcome["setting"],
    )


def test_unknown_danger_signs_satisfy_the_form_and_ask_for_data(
    app: Flask, page_url: str, browser: WebDriver
) -> None:
    """Unknown is an answer LHC-Forms accepts for a required item; $triage: data-required."""
    client = app.test_client()
    questionnaire = client.get("/fhir/Questionnaire/forefoot-triage").get_json(force=True)
    _render(browser, page_url, questionnaire)
    answers = {
        "age_years": 40,
        **dict.fromkeys(RED_FLAG_SCREEN, "unknown"),
        "diabetes": "no",
        "onset": "gradual",
        "pain_nrs": 3,
        "steps_now": 4,
        "swelling": "none",
        "tender_5th_mt_base": "no",
        "tender_navicular": "no",
        "tender_metatarsal_point": "no",
    }
    _fill(browser, answers)
    assert _unanswered_required(browser) == []
    triaged = client.post(TRIAGE, json=_response(browser))
    assert triaged.status_code == 200, triaged.get_data(as_text=True)
    guidance = triaged.get_json(force=True)
    assert guidance["status"] == "data-required"
    asked = {r["codeFilter"][0]["code"][0]["code"] for r in guidance["dataRequirement"]}
    assert set(RED_FLAG_SCREEN) <= asked
