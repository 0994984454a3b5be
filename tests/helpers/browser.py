"""Headless chromium for the page tests: the driver, the live server, screenshots, CSP errors.

Debian's chromium and chromedriver (`make browser`, `.ci/run`); tests skip with the reason when
either is missing, except under TRIAGE_REQUIRE_BROWSER (CI), where that is an error.
Screenshots go to test-artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from tests.helpers import ROOT
from tools.live_server import LiveServer, start

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
if os.environ.get("TRIAGE_REQUIRE_BROWSER") and (CHROMIUM is None or CHROMEDRIVER is None):
    # .ci/run installs the browser and sets this: there, a missing browser is a failure.
    raise RuntimeError("TRIAGE_REQUIRE_BROWSER is set but chromium or chromedriver is missing")
needs_browser = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="chromium and chromium-driver are not installed (make browser or .ci/run installs them)",
)
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
WIDTH, HEIGHT = 1280, 900
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def live_server() -> Iterator[LiveServer]:
    """The real app under gunicorn on 127.0.0.1 and a free port (the body of a fixture)."""
    live = start(workers=1)
    try:
        live.wait_ready()
        yield live
    finally:
        live.stop()


def _chromium(profile: Path, javascript: bool) -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*_FLAGS, f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}"):
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Both paths given: Selenium Manager is never asked to find, or download, anything.
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(20)
    return driver


def session(javascript: bool) -> Iterator[WebDriver]:
    """Headless chromium with a fresh profile, JavaScript on or off (the body of a fixture)."""
    with tempfile.TemporaryDirectory(prefix="triage-chromium-") as profile:
        driver = _chromium(Path(profile), javascript=javascript)
        try:
            yield driver
        finally:
            driver.quit()


def shoot(driver: WebDriver, name: str, width: int = WIDTH) -> None:
    """What the window shows (name.png), then the whole page (name-full.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(int(height) + 100, 16000))
    driver.save_screenshot(str(SCREENSHOTS / f"{name}-full.png"))
    driver.set_window_size(WIDTH, HEIGHT)


def csp_violations(driver: WebDriver) -> list[str]:
    """Errors the console logged since the last call: CSP refusals, failed loads."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"] or entry["level"] == "SEVERE"
    ]


def fits_width(driver: WebDriver) -> tuple[int, int]:
    """(scroll width, client width) of the page: the first no larger means no sideways scroll."""
    width = driver.execute_script("return document.documentElement.clientWidth")
    scroll = driver.execute_script("return document.documentElement.scrollWidth")
    return int(scroll), int(width)
