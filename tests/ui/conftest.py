"""Fixtures of the browser tests: ``aiot up`` as a real process, and headless Chromium.

Chromium and its driver are Debian packages (``chromium``, ``chromium-driver``, installed by
``.ci/run``); without them these tests skip, and fail in CI (``AIOT_REQUIRE_SERVICES=1``).
Screenshots of every page go to ``test-artifacts/ui/`` (gitignored) to be looked at.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from tests.conftest import require_binary
from tests.e2e.server import AiotProcess

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"


class Browser:
    """A headless Chromium on one aiot server, with the few steps the tests repeat."""

    def __init__(self, driver: webdriver.Chrome, base: str) -> None:
        self.driver = driver
        self.base = base

    def open(self, path: str) -> None:
        """Load a page of the dashboard."""
        self.driver.get(self.base + path)

    def find(self, css: str, seconds: float = 20.0) -> WebElement:
        """The first element matching ``css``, once it is there."""
        return wait(
            lambda: next(iter(self.driver.find_elements(By.CSS_SELECTOR, css)), None), seconds
        )

    def all(self, css: str) -> list[WebElement]:
        """Every element matching ``css`` now."""
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def type(self, css: str, text: str) -> None:
        """Type into the input inside the element ``css`` (a Quasar field)."""

        def typed() -> bool:
            field = self.find(f"{css} input")
            field.clear()  # raises while a dialog still opens (not interactable yet)
            field.send_keys(text)
            return True

        wait(typed)

    def click(self, css: str) -> None:
        """Click the first element matching ``css``."""
        wait(lambda: self.find(css).click() or True)  # once it takes clicks (dialogs open)

    def sign_in_with_key(self, key: str) -> None:
        """Sign in with an API key and wait for the fleet page."""
        self.open("/login")
        self.type(".aiot-key", key)
        self.click(".aiot-signin-key")
        self.find(".aiot-fleet")

    def sign_in_as(self, login: str, password: str) -> None:
        """Sign in as a user and wait for the fleet page."""
        self.open("/login")
        self.type(".aiot-login", login)
        self.type(".aiot-password", password)
        self.click(".aiot-signin-user")
        self.find(".aiot-fleet")

    def sign_out(self) -> None:
        """Sign out and wait for the sign-in page."""
        self.click(".aiot-signout")
        self.find(".aiot-key")

    def shot(self, name: str) -> Path:
        """Save a screenshot of the page as ``test-artifacts/ui/<name>.png``."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        time.sleep(0.5)  # let the last update paint
        self.driver.save_screenshot(str(path))
        return path

    def chart_points(self, css: str = ".aiot-chart") -> list[int]:
        """How many points each series of the page's charts holds, as ECharts has them."""
        script = (
            "return [...document.querySelectorAll(arguments[0])].flatMap(el => {"
            "  const chart = getElement(el).chart;"
            "  return chart ? chart.getOption().series.map(s => s.data.length) : [];"
            "});"
        )
        found: list[int] | None = self.driver.execute_script(script, css)
        return found or []


def wait(what: Callable[[], Any], seconds: float = 20.0) -> Any:
    """``what()`` once it is truthy, trying every 0.2 s."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            found = what()
        except WebDriverException:
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("not within the time allowed")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AiotProcess]:
    """One ``aiot up`` for the module's tests (each test makes its own devices)."""
    proc = AiotProcess(tmp_path_factory.mktemp("ui") / "aiot-data")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def api(server: AiotProcess) -> Iterator[httpx.Client]:
    """A REST client with the installation's admin key."""
    with server.admin() as client:
        yield client


@pytest.fixture(scope="module")
def chromium() -> Iterator[webdriver.Chrome]:
    """Headless Chromium through Debian's chromedriver."""
    binary, driver = require_binary("chromium"), require_binary("chromedriver")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--window-size=1400,1000")
    made = webdriver.Chrome(service=Service(driver), options=options)
    yield made
    made.quit()


@pytest.fixture
def browser(chromium: webdriver.Chrome, server: AiotProcess) -> Iterator[Browser]:
    """The browser on the server's dashboard, signed out before and after."""
    chromium.get(server.url + "/api/health")  # cookies are per site: be on it to drop them
    chromium.delete_all_cookies()
    yield Browser(chromium, server.url)
