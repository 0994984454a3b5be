"""/interview in headless chromium, JavaScript on and off: screens counted, screenshots saved."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from service.domain.findings import FINDINGS
from tests.helpers import RED_FLAG_SCREEN
from tests.helpers.browser import (
    HEIGHT,
    WIDTH,
    csp_violations,
    fits_width,
    live_server,
    needs_browser,
    session,
    shoot,
)
from tests.helpers.web import EMERGENCY, FRACTURE, SELF_CARE
from tools.live_server import LiveServer

pytestmark = [needs_browser, pytest.mark.browser]


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


def _shown(driver: WebDriver) -> list[str]:
    """The questions of the screen in the window; [] on the result page."""
    fields = driver.find_elements(By.CSS_SELECTOR, "#interview input[type=hidden][name=shown]")
    return str(fields[0].get_attribute("value")).split() if fields else []


def _wait_for_new_page(driver: WebDriver, old: WebElement) -> None:
    WebDriverWait(driver, 10).until(lambda d: _is_stale(old))


def _is_stale(element: WebElement) -> bool:
    try:
        element.tag_name  # noqa: B018 (touching a gone element raises)
    except Exception:  # selenium's StaleElementReferenceException
        return True
    return False


def _answer(driver: WebDriver, answers: dict[str, str], javascript: bool) -> None:
    """Answer this screen as a person would, then move on: a click on the one answer of a
    one-question screen moves on by itself with JavaScript on; otherwise Next."""
    shown = _shown(driver)
    page = driver.find_element(By.TAG_NAME, "html")
    given = [name for name in shown if name in answers]
    for name in given:
        if FINDINGS[name].is_numeric:
            field = driver.find_element(By.ID, f"f-{name}")
            field.clear()
            field.send_keys(answers[name])
            continue
        radio = driver.find_element(
            By.CSS_SELECTOR, f"#interview input[name={name}][value={answers[name]}]"
        )
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", radio)
        radio.click()
    moves_itself = javascript and len(shown) == 1 and given and not FINDINGS[shown[0]].is_numeric
    if not moves_itself:
        next_button = driver.find_element(By.ID, "next")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", next_button)
        next_button.click()
    _wait_for_new_page(driver, page)


def _interview(
    driver: WebDriver, base: str, answers: dict[str, str], javascript: bool, name: str
) -> list[list[str]]:
    """The whole interview from /interview: the questions of each screen shown, in order.
    The first screen and the first with a number are photographed."""
    driver.get(base + "/interview")
    screens: list[list[str]] = []
    numbers_shot = False
    while shown := _shown(driver):
        screens.append(shown)
        assert len(screens) <= len(FINDINGS)
        if javascript:  # focus on the new screen's heading, for a screen reader
            assert driver.switch_to.active_element.get_attribute("id") == "screen-title"
        if len(screens) == 1:
            shoot(driver, f"{name}-first-screen")
        if any(FINDINGS[q].is_numeric for q in shown) and not numbers_shot:
            numbers_shot = True
            shoot(driver, f"{name}-number-screen")
        _answer(driver, answers, javascript)
    return screens


def _result(driver: WebDriver) -> WebElement:
    return driver.find_element(By.ID, "result-box")


def test_an_emergency_stops_after_the_danger_signs(server: LiveServer, browser: WebDriver) -> None:
    """A cold, pale foot: one screen (the seven danger signs), then the red banner."""
    browser.get_log("browser")  # drop what earlier tests logged
    screens = _interview(browser, server.base, EMERGENCY, True, "20-interview-emergency")
    assert len(screens) == 1
    assert len(screens[0]) == 7
    box = _result(browser)
    assert box.get_attribute("role") == "alert"
    assert box.get_attribute("data-urgency") == "emergency"
    banner = box.find_element(By.ID, "emergency-banner")
    assert banner.is_displayed()
    assert "Emergency: get medical help now" in banner.text
    assert banner.location["y"] < box.find_element(By.ID, "destination").location["y"]
    assert box.find_element(By.CSS_SELECTOR, ".how-soon").text == "Now"
    answers = browser.find_elements(By.CSS_SELECTOR, "dl.answers dd")
    assert [a.text for a in answers] == ["Yes", *["I don't know"] * 6]
    assert csp_violations(browser) == []
    shoot(browser, "21-interview-emergency-result")


def test_a_fracture_without_javascript(server: LiveServer, no_js_browser: WebDriver) -> None:
    """An injury, Ottawa positive, JavaScript off: eight screens of plain posts, then today at
    the fracture clinic; Back from the result shows the last screen with its answers."""
    driver = no_js_browser
    screens = _interview(driver, server.base, FRACTURE, False, "22-interview-fracture-no-js")
    assert len(screens) == 8
    assert ["onset", "days_since_onset"] in screens
    box = _result(driver)
    assert box.get_attribute("data-destination") == "fracture_clinic"
    assert box.find_element(By.CSS_SELECTOR, ".how-soon").text == "Today"
    assert not box.find_elements(By.ID, "emergency-banner")
    shoot(driver, "23-interview-fracture-result")
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, "back").click()
    _wait_for_new_page(driver, page)
    assert _shown(driver) == screens[-1]
    for name in screens[-1]:
        if name in FRACTURE:
            value = FRACTURE[name]
            selector = f"#interview input[name={name}][value={value}]"
            assert driver.find_element(By.CSS_SELECTOR, selector).is_selected(), name
        else:
            selector = f"#interview input[name={name}][value=unknown]"
            assert driver.find_element(By.CSS_SELECTOR, selector).is_selected(), name


def test_self_care_with_javascript(server: LiveServer, browser: WebDriver) -> None:
    """A mild ache, JavaScript on (one-answer screens move on at a click): twelve screens, then
    self-care at home."""
    browser.get_log("browser")
    screens = _interview(browser, server.base, SELF_CARE, True, "24-interview-self-care")
    assert len(screens) == 12
    box = _result(browser)
    assert box.get_attribute("data-destination") == "self_care_at_home"
    assert box.find_element(By.CSS_SELECTOR, ".urgency").text == "Routine"
    assert not box.find_elements(By.ID, "emergency-banner")
    assert csp_violations(browser) == []
    shoot(browser, "25-interview-self-care-result")


def test_a_keyboard_choice_does_not_move_on(server: LiveServer, browser: WebDriver) -> None:
    """On a one-question screen an arrow key changes the answer and stays: moving on at the
    first arrow press would skip the answers after it."""
    browser.get(server.base + "/interview?" + "&".join(f"{n}=no" for n in RED_FLAG_SCREEN))
    while len(_shown(browser)) != 1 or FINDINGS[_shown(browser)[0]].is_numeric:
        _answer(browser, {}, True)
    (name,) = _shown(browser)
    assert browser.find_element(By.ID, "auto-next").is_displayed()
    first = browser.find_element(By.CSS_SELECTOR, f"#interview input[name={name}]")
    browser.execute_script("arguments[0].focus()", first)
    first.send_keys(Keys.SPACE)
    first.send_keys(Keys.ARROW_DOWN)
    assert _shown(browser) == [name]  # still on the same screen


@pytest.mark.parametrize("path", ["/interview", "/interview?foot_cold_pale_or_blue=yes"])
def test_the_interview_fits_a_phone(server: LiveServer, browser: WebDriver, path: str) -> None:
    """At 375 CSS pixels a screen and the emergency result need no sideways scrolling."""
    browser.set_window_size(375, 800)
    try:
        browser.get(server.base + path)
        scroll, width = fits_width(browser)
        assert scroll <= width, f"{path}: {scroll}px of content in {width}px"
        name = "26-interview-phone" if path == "/interview" else "27-interview-emergency-phone"
        shoot(browser, name, width=375)
    finally:
        browser.set_window_size(WIDTH, HEIGHT)


def test_the_spanish_interview_and_its_language_switch(
    server: LiveServer, no_js_browser: WebDriver
) -> None:
    """JavaScript off, in Spanish: the danger signs, then the switch to English keeps the answers
    and the screen; Enter in a number field still means Next, never the switch."""
    driver = no_js_browser
    driver.get(server.base + "/interview?lang=es")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    assert driver.find_element(By.ID, "next").text == "Siguiente"
    _answer(driver, SELF_CARE, javascript=False)
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    second = _shown(driver)
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "nav.languages button[value=en]").click()
    _wait_for_new_page(driver, page)
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert _shown(driver) == second
    assert driver.find_element(By.ID, "next").text == "Next"
    chosen = driver.find_elements(By.CSS_SELECTOR, "#interview input:checked")
    assert chosen == []  # nothing chosen for the person (this screen's choices were not sent)
    shoot(driver, "28-interview-switched-to-english")
    while not (numbers := [name for name in _shown(driver) if FINDINGS[name].is_numeric]):
        _answer(driver, SELF_CARE, javascript=False)
    second = _shown(driver)
    field = driver.find_element(By.ID, f"f-{numbers[0]}")
    value = SELF_CARE.get(numbers[0], "3")
    field.send_keys(value)
    page = driver.find_element(By.TAG_NAME, "html")
    field.send_keys(Keys.ENTER)
    _wait_for_new_page(driver, page)
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert _shown(driver) != second  # moved on: Enter pressed Next
    hidden = driver.find_elements(
        By.CSS_SELECTOR, f"#interview input[type=hidden][name={numbers[0]}]"
    )
    assert hidden[0].get_attribute("value") == value
