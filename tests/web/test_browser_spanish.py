"""The intake page in Spanish in a real browser (headless chromium): a patient fills the Spanish
form for an emergency and for a self-care case and reads the Spanish result; screenshots go to
test-artifacts/screenshots/ (gitignored)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from service.domain.findings import FINDINGS
from tests.helpers.browser import csp_violations, live_server, needs_browser, session, shoot
from tests.helpers.web import EMERGENCY, SELF_CARE
from tools.live_server import LiveServer

pytestmark = [needs_browser, pytest.mark.browser]


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from live_server()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    yield from session(javascript=True)


def _fill(driver: WebDriver, answers: dict[str, str]) -> None:
    for name, value in answers.items():
        if FINDINGS[name].kind == "tri_state":
            radio = driver.find_element(By.CSS_SELECTOR, f"input[name={name}][value={value}]")
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", radio)
            radio.click()
        elif FINDINGS[name].kind == "enum":
            Select(driver.find_element(By.ID, f"f-{name}")).select_by_value(value)
        else:
            field = driver.find_element(By.ID, f"f-{name}")
            field.clear()
            field.send_keys(value)


def _submit(driver: WebDriver) -> WebElement:
    driver.execute_script("window.__samePage = true")
    driver.find_element(By.CSS_SELECTOR, "#intake button[type=submit]").click()
    box = WebDriverWait(driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#result #result-box")
    )[0]
    assert driver.execute_script("return window.__samePage === true"), "the page was reloaded"
    return box


def test_spanish_emergency_in_the_browser(server: LiveServer, browser: WebDriver) -> None:
    """The Spanish switch, the Spanish form, an emergency: the Spanish banner leads."""
    browser.get(server.base + "/")
    browser.find_element(By.CSS_SELECTOR, "nav.languages a[hreflang=es]").click()
    WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    )
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Dolor en la almohadilla")
    assert browser.find_element(By.CSS_SELECTOR, "button[type=submit]").text == "Ver el resultado"
    _fill(browser, EMERGENCY)
    box = _submit(browser)
    assert box.get_attribute("data-urgency") == "emergency"
    banner = box.find_element(By.ID, "emergency-banner")
    assert banner.text.startswith("Emergencia: busque ayuda médica ahora. Vaya a urgencias ahora")
    assert box.find_element(By.ID, "destination").text == "Urgencias y cirugía vascular de guardia"
    assert box.find_element(By.CSS_SELECTOR, ".how-soon").text == "Ahora"
    assert box.find_element(By.CSS_SELECTOR, ".urgency").text == "Emergencia"
    advice = [li.text for li in box.find_elements(By.CSS_SELECTOR, ".advice li")]
    assert advice[0] == "Vaya ahora; no espere a que le llamen."
    assert csp_violations(browser) == []
    shoot(browser, "es-01-emergency")


def test_spanish_self_care_in_the_browser(server: LiveServer, browser: WebDriver) -> None:
    """Accept-Language-free: ?lang=es directly, a self-care case in Spanish."""
    browser.get(server.base + "/?lang=es")
    _fill(browser, SELF_CARE)
    box = _submit(browser)
    assert box.get_attribute("data-destination") == "self_care_at_home"
    assert box.find_element(By.ID, "destination").text == "Cuidados en casa"
    headings = [h.text for h in box.find_elements(By.TAG_NAME, "h3")]
    assert "Consejos" in headings
    assert "Por qué" in headings
    assert not box.find_elements(By.ID, "emergency-banner")
    shoot(browser, "es-02-self-care")
