"""The pages in a real browser: Debian's headless chromium driven by Selenium and chromedriver.

Skipped (with the reason) when chromium or chromedriver is not installed; `.ci/run` and
`make browser` install both (tests/helpers/browser.py). Screenshots go to
test-artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from service.domain.findings import FINDINGS
from service.domain.ruleset_loader import load_ruleset
from tests.helpers import RULES
from tests.helpers.browser import (
    HEIGHT,
    WIDTH,
    csp_violations,
    live_server,
    needs_browser,
    session,
    shoot,
)
from tests.helpers.web import CHILD_NIGHT_PAIN, EMERGENCY, FRACTURE, SELF_CARE
from tools.live_server import LiveServer

pytestmark = needs_browser


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    """The real app under gunicorn on 127.0.0.1 and a free port."""
    yield from live_server()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """Headless chromium with JavaScript on and a fresh profile."""
    yield from session(javascript=True)


@pytest.fixture(scope="module")
def no_js_browser() -> Iterator[WebDriver]:
    """Headless chromium with JavaScript off."""
    yield from session(javascript=False)


def _fill(driver: WebDriver, answers: dict[str, str]) -> None:
    """Answer as a person would: pick a radio, choose an option, type a number."""
    for name, value in answers.items():
        kind = FINDINGS[name].kind
        if kind == "tri_state":
            radio = driver.find_element(By.CSS_SELECTOR, f"input[name={name}][value={value}]")
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", radio)
            radio.click()
        elif kind == "enum":
            Select(driver.find_element(By.ID, f"f-{name}")).select_by_value(value)
        else:
            field = driver.find_element(By.ID, f"f-{name}")
            field.clear()
            field.send_keys(value)


def _submit_in_place(driver: WebDriver) -> WebElement:
    """Submit with JavaScript on; the page must not reload (a marker on window survives)."""
    driver.execute_script("window.__samePage = true")
    driver.find_element(By.CSS_SELECTOR, "#intake button[type=submit]").click()
    box = WebDriverWait(driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#result #result-box")
    )[0]
    assert driver.execute_script("return window.__samePage === true"), "the page was reloaded"
    return box


def _texts(box: WebElement, selector: str) -> list[str]:
    return [element.text for element in box.find_elements(By.CSS_SELECTOR, selector)]


def _above(box: WebElement, first: str, second: str) -> bool:
    """Whether the element `first` is drawn above `second` (both CSS selectors inside box)."""
    top = box.find_element(By.CSS_SELECTOR, first).location["y"]
    return bool(top < box.find_element(By.CSS_SELECTOR, second).location["y"])


def test_emergency_is_unmistakable_in_place(server: LiveServer, browser: WebDriver) -> None:
    """A cold, pale foot: the banner, role=alert, Emergency, the reasons with linked sources."""
    browser.get_log("browser")  # drop what earlier tests logged
    browser.get(server.base + "/")
    _fill(browser, EMERGENCY)
    box = _submit_in_place(browser)
    assert box.get_attribute("role") == "alert"
    assert box.get_attribute("data-urgency") == "emergency"
    banner = box.find_element(By.ID, "emergency-banner")
    assert banner.is_displayed()
    assert "Emergency: get medical help now" in banner.text
    destination = box.find_element(By.ID, "destination")
    assert destination.text == "Emergency department and on-call vascular surgery"
    assert box.find_element(By.CSS_SELECTOR, ".how-soon").text == "Now"
    assert box.find_element(By.CSS_SELECTOR, ".setting").text == "Must be seen in person"
    assert _above(box, "#emergency-banner", "#destination")
    assert _above(box, "#destination", ".level")
    assert box.find_element(By.CSS_SELECTOR, ".urgency").text == "Emergency"
    assert box.find_element(By.CSS_SELECTOR, ".level").text == "Orthopedic surgeon"
    assert _texts(box, ".advice li")[0] == "Go now; do not wait for a call."
    assert "EM1" in _texts(box, ".rationale > li > a")
    cite = box.find_element(By.CSS_SELECTOR, ".rationale a.cite")
    target = cite.get_attribute("href").split("#")[1]
    assert box.find_element(By.ID, target).find_elements(By.TAG_NAME, "a")  # the source, linked
    assert any("emergency department" in text for text in _texts(box, ".advice li"))
    assert browser.switch_to.active_element == box  # focus moves to the answer
    assert csp_violations(browser) == []
    shoot(browser, "01-emergency-js")


def test_fracture_after_an_injury_in_place(server: LiveServer, browser: WebDriver) -> None:
    """Injury-only questions appear after an injury answer; Ottawa positive: urgent, X-ray."""
    browser.get(server.base + "/")
    injury = browser.find_element(By.ID, "section-injury")
    assert not injury.is_displayed()
    onset = Select(browser.find_element(By.ID, "f-onset"))
    onset.select_by_value("injury")
    assert injury.is_displayed()
    assert browser.find_element(By.ID, "q-pain_out_of_proportion").is_displayed()
    onset.select_by_value("gradual")
    assert not injury.is_displayed()
    # Asked of everyone since 2027.1 (clinical.md 2.2): shown whatever onset says.
    for name in ("visible_deformity", "open_wound_at_injury", "plantar_bruising"):
        assert browser.find_element(By.ID, f"q-{name}").is_displayed(), name
    _fill(browser, FRACTURE)
    assert injury.is_displayed()
    box = _submit_in_place(browser)
    assert box.get_attribute("role") is None
    assert not box.find_elements(By.ID, "emergency-banner")
    assert box.find_element(By.ID, "destination").text == "X-ray and fracture clinic"
    assert box.find_element(By.CSS_SELECTOR, ".how-soon").text == "Today"
    assert box.find_element(By.CSS_SELECTOR, ".setting").text == "Must be seen in person"
    also = _texts(box, ".referrals > li")
    assert len(also) == 2
    assert also[0].startswith("A clinician calls back to go through the answers: today")
    assert also[1].startswith("Physical therapist: routine appointment")
    assert _above(box, "#destination", ".referrals")
    assert _above(box, ".referrals", ".level")
    assert box.find_element(By.CSS_SELECTOR, ".urgency").text == "Urgent"
    assert box.find_element(By.CSS_SELECTOR, ".level").text == "Orthopedic surgeon"
    assert "UR1" in _texts(box, ".rationale > li > a")
    assert "ottawa" in _texts(box, ".rationale a.cite")
    assert any("X-ray" in text for text in _texts(box, ".advice li"))
    shoot(browser, "02-fracture-js")


def test_field_errors_in_place(server: LiveServer, browser: WebDriver) -> None:
    """An out-of-range answer: the problem named and linked, the value not repeated."""
    browser.get(server.base + "/")
    _fill(browser, {"pain_nrs": "11"})
    box = _submit_in_place(browser)
    assert "Worst pain (0-10): Must be greater than or equal to 0" in box.text
    assert "11" not in box.text


def test_self_care_with_javascript_off(server: LiveServer, no_js_browser: WebDriver) -> None:
    """The plain form post: the whole page comes back with the answer and the follow-up."""
    driver = no_js_browser
    driver.get(server.base + "/")
    injury = driver.find_element(By.ID, "section-injury")
    assert injury.is_displayed()  # no script ran: shown, under its legend
    legend = injury.find_element(By.TAG_NAME, "legend").text
    assert legend == "Only if the pain started with an injury"
    assert driver.find_element(By.ID, "q-pregnant").is_displayed()
    _fill(driver, {**SELF_CARE, "age_years": "70"})
    assert driver.find_element(By.ID, "q-pregnant").is_displayed()  # no script: still shown
    driver.find_element(By.CSS_SELECTOR, "#intake button[type=submit]").click()
    box = WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "result-box"))[0]
    assert box.find_element(By.ID, "destination").text == "Self-care at home"
    assert box.find_element(By.CSS_SELECTOR, ".urgency").text == "Routine"
    assert box.find_element(By.CSS_SELECTOR, ".level").text == "Self care"
    assert "SC2" in _texts(box, ".rationale > li > a")
    assert _texts(box, ".advice li")
    assert _texts(box, ".follow-up li")
    assert not box.find_elements(By.ID, "emergency-banner")
    # The answers given are kept in the form shown again.
    assert driver.find_element(By.CSS_SELECTOR, "input[name=fever][value=no]").is_selected()
    shoot(driver, "03-self-care-no-js")


def test_a_child_in_place(server: LiveServer, browser: WebDriver) -> None:
    """A 9-year-old woken by the pain: a doctor who sees children within days, in person."""
    browser.get(server.base + "/")
    _fill(browser, CHILD_NIGHT_PAIN)
    box = _submit_in_place(browser)
    assert box.get_attribute("data-destination") == "paediatric_assessment"
    assert box.find_element(By.ID, "destination").text.startswith("Doctor who sees children")
    assert box.find_element(By.CSS_SELECTOR, ".how-soon").text == "Within a few days"
    assert box.find_element(By.CSS_SELECTOR, ".setting").text == "Must be seen in person"
    review = box.find_element(By.ID, "review-note")
    assert review.text == "A clinician should review these answers."
    assert _above(box, "#review-note", ".level")
    assert not box.find_elements(By.CSS_SELECTOR, ".referrals")  # PED3 names the same service
    assert {"PED1", "PED3"} <= set(_texts(box, ".rationale > li > a"))
    assert (
        "Children under 16 are never refused"
        in box.find_element(By.CSS_SELECTOR, ".population").text
    )
    assert _texts(box, ".advice li")[0].startswith("Arrange for your child to see a doctor")
    shoot(browser, "09-child-js")


def test_pregnancy_is_asked_only_at_12_to_55(server: LiveServer, browser: WebDriver) -> None:
    """The script hides the pregnancy question for an age outside 12-55 and shows it inside."""
    browser.get(server.base + "/")
    question = browser.find_element(By.ID, "q-pregnant")
    age = browser.find_element(By.ID, "f-age_years")
    assert question.is_displayed()  # no age yet: asked
    for typed, shown in (("60", False), ("30", True), ("8", False), ("55", True), ("", True)):
        age.clear()
        if typed:
            age.send_keys(typed)
        assert question.is_displayed() == shown, typed
    age.send_keys("6x")  # not a number: shown, and the server will say what is wrong
    assert question.is_displayed()
    population = browser.find_element(By.ID, "population").text
    assert population.startswith("Who this is for.")
    assert "Children under 16 are never refused" in population
    assert "Unknown" in browser.find_element(By.ID, "unknown-promise").text


def test_keyboard_reaches_the_form(server: LiveServer, browser: WebDriver) -> None:
    """Tab goes to the skip link first, then the navigation; radios answer to the keyboard."""
    browser.get(server.base + "/")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.text == "Skip to content"
    radio = browser.find_element(By.CSS_SELECTOR, "input[name=diabetes][value=unknown]")
    browser.execute_script("arguments[0].focus()", radio)
    radio.send_keys(Keys.ARROW_RIGHT)
    yes = browser.find_element(By.CSS_SELECTOR, "input[name=diabetes][value=yes]")
    assert yes.is_selected()
    assert browser.switch_to.active_element == yes


@pytest.mark.parametrize("path", ["/", "/interview", "/rules", "/safety"])
def test_phone_width_needs_no_horizontal_scrolling(
    server: LiveServer, browser: WebDriver, path: str
) -> None:
    """At 375 CSS pixels the page fits its width."""
    browser.set_window_size(375, 800)
    try:
        browser.get(server.base + path)
        width = browser.execute_script("return document.documentElement.clientWidth")
        scroll = browser.execute_script("return document.documentElement.scrollWidth")
        assert scroll <= width, f"{path}: {scroll}px of content in {width}px"
        if path == "/":
            shoot(browser, "04-form-phone", width=375)
    finally:
        browser.set_window_size(WIDTH, HEIGHT)


# Each text of the cells (a level, an urgency, a "got ..." heading) and the lines its box makes.
_WRAPPED_TEXTS = """
const wrapped = [];
for (const cell of document.querySelectorAll(arguments[0])) {
  const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    if (!walker.currentNode.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(walker.currentNode);
    const tops = new Set([...range.getClientRects()].map(rect => Math.round(rect.top)));
    if (tops.size > 1) wrapped.push(walker.currentNode.textContent.trim());
  }
}
return wrapped;
"""


@pytest.mark.parametrize(
    ("path", "cells"),
    [
        ("/rules", "table.rules td.outcome-cell"),
        ("/safety", "table.fires td.outcome-cell, table.confusion th"),
    ],
)
def test_laptop_width_keeps_level_and_urgency_on_one_line(
    server: LiveServer, browser: WebDriver, path: str, cells: str
) -> None:
    """At 1280x800 the rule tables fit the page and no level or urgency wraps inside itself."""
    browser.set_window_size(1280, 800)
    try:
        browser.get(server.base + path)
        width = browser.execute_script("return document.documentElement.clientWidth")
        scroll = browser.execute_script("return document.documentElement.scrollWidth")
        assert scroll <= width, f"{path}: {scroll}px of content in {width}px"
        assert browser.find_elements(By.CSS_SELECTOR, cells)
        assert browser.execute_script(_WRAPPED_TEXTS, cells) == []
    finally:
        browser.set_window_size(WIDTH, HEIGHT)


def test_catalogue_rule_and_safety_pages(server: LiveServer, browser: WebDriver) -> None:
    """/rules lists every rule with its identity; /rules/UR1 its cases; /safety its tables."""
    browser.get_log("browser")  # drop what earlier tests logged
    browser.get(server.base + "/rules")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.rules tbody tr")
    assert len(rows) > 30
    assert browser.find_element(By.CSS_SELECTOR, "code.sha").text
    shoot(browser, "05-rules")
    browser.find_element(By.CSS_SELECTOR, 'table.rules a[href="/rules/UR1"]').click()
    ur1 = load_ruleset(RULES).by_id["UR1"]
    assert browser.find_element(By.TAG_NAME, "h1").text == f"UR1 v{ur1.version}: {ur1.title}"
    assert browser.find_element(By.CSS_SELECTOR, "dd.where").text == "X-ray and fracture clinic"
    assert browser.find_elements(By.CSS_SELECTOR, "ul.cases.fires li")
    shoot(browser, "06-rule-UR1")
    browser.get(server.base + "/safety")
    under = browser.find_element(By.CSS_SELECTOR, "table.summary tr.suite-all td.under").text
    assert under == "0"
    assert browser.find_elements(By.CSS_SELECTOR, "table.confusion.urgencies td.diagonal")
    shoot(browser, "07-safety")
    assert csp_violations(browser) == []


def test_docs_render_the_operations(server: LiveServer, browser: WebDriver) -> None:
    """Swagger UI, from local assets only, renders every operation of openapi.yaml."""
    browser.get_log("browser")  # drop what earlier tests logged
    browser.get(server.base + "/docs")
    operations = WebDriverWait(browser, 15).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
    )
    paths = {element.get_attribute("data-path") for element in operations}
    assert {"/v1/triage", "/v1/rules", "/v1/questions", "/openapi.yaml"} <= paths
    shoot(browser, "08-docs")
    assert csp_violations(browser) == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_docs_try_it_out_calls_the_server_the_page_came_from(
    server: LiveServer, browser: WebDriver, host: str
) -> None:
    """ "Try it out" on POST /v1/triage, then Execute, answers 200 in the page on a port other
    than make run's 8000 and under either name of the host: the contract's server is relative,
    so Swagger UI calls the page's own origin, which the content policy allows."""
    origin = server.base.replace("127.0.0.1", host)
    assert not origin.endswith(":8000")
    browser.get_log("browser")
    browser.get(origin + "/docs")
    wait = WebDriverWait(browser, 15)
    operation = wait.until(lambda d: d.find_element(By.ID, "operations-triage-triage"))
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(lambda d: operation.find_element(By.CSS_SELECTOR, ".try-out__btn")).click()
    wait.until(lambda d: operation.find_element(By.CSS_SELECTOR, "button.execute")).click()
    status = wait.until(
        lambda d: operation.find_elements(
            By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status"
        )
    )
    assert status[0].text.strip() == "200"
    url = operation.find_element(By.CSS_SELECTOR, ".request-url pre").text.strip()
    assert url == origin + "/v1/triage"
    body = operation.find_element(By.CSS_SELECTOR, ".live-responses-table .microlight").text
    assert '"destination": "fracture_clinic"' in body
    shoot(browser, f"09-docs-try-it-out-{host}")
    assert csp_violations(browser) == []
