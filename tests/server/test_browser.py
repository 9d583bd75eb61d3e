"""The dashboard in a real browser — Debian's chromium, driven by Selenium through Debian's
chromedriver (nothing downloaded): a viewer watches a deployment of the sample app wait at
its Go/No-Go and gets no buttons; an approver signs in, clicks Approve, and the same page —
never reloaded — shows the gate approved and the steps advancing to the end."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from slipway.backends import Backends
from slipway.clock import SystemClock
from slipway.demo.traffic import TrafficGenerator
from slipway.deployment import Deployer, Request
from slipway.engine import Outcome, control
from tests.conftest import stop_environment
from tests.server.kit import Served, serve, write_spec
from tests.server.test_actions import at_the_gate

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WAIT_S = 90  # a bound on waiting for the page, not a measure of it
# the pages re-render their fields as events arrive: an element read may just have been
# replaced, so every wait reads again rather than fail on a stale one
LIVE = (StaleElementReferenceException,)
ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",  # root in a container
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-first-run",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",  # no DNS, ever
)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not fetch a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ARGUMENTS:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(driver: WebDriver, served: Served, role: str, next_path: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{served.url}/sign-in?next={next_path}")
    driver.find_element(By.ID, "token").send_keys(served.tokens[role])
    driver.find_element(By.ID, "sign-in-button").click()
    WebDriverWait(driver, WAIT_S, ignored_exceptions=LIVE).until(
        lambda d: d.find_elements(By.ID, "live")
    )


def live_text(driver: WebDriver) -> str:
    return str(driver.find_element(By.ID, "live").text)


def test_an_approver_says_go_and_the_page_follows_without_a_reload(
    tmp_path: Path, browser: WebDriver
) -> None:
    with at_the_gate(tmp_path, who="someone") as (served, dep):
        page = f"/deployments/{dep}"
        sign_in(browser, served, "viewer", page)
        assert "running" in browser.find_element(By.CSS_SELECTOR, ".gate").text
        assert browser.find_elements(By.CSS_SELECTOR, "form[data-action]") == []
        assert browser.find_elements(By.TAG_NAME, "button")[-1].text == "Sign out"

        sign_in(browser, served, "approver", page)
        browser.execute_script("window.slipwayMarker = 'the same page'")
        form = browser.find_element(By.CSS_SELECTOR, 'form[data-action="approve"]')
        form.find_element(By.NAME, "comment").send_keys("<b>ship it</b>")
        browser.find_element(By.ID, "button-approve").click()
        WebDriverWait(browser, WAIT_S, ignored_exceptions=LIVE).until(
            lambda d: "approved by approver (<b>ship it</b>)" in live_text(d)
        )
        WebDriverWait(browser, WAIT_S, ignored_exceptions=LIVE).until(
            lambda d: d.find_element(By.ID, "status").text == "succeeded"
        )
        states = [
            li.get_attribute("data-state")
            for li in browser.find_elements(By.CSS_SELECTOR, "#steps li")
        ]
        assert states and all(s == "succeeded" for s in states), states
        assert browser.execute_script("return window.slipwayMarker") == "the same page"
        assert "approve: approved" in browser.find_element(By.ID, "action-message").text
        # the page's EventSource, signed in by its session cookie, heard the store's events
        heard = browser.execute_script("return document.getElementById('live').dataset.lastEvent")
        assert heard and int(heard) in {e.id for e in served.store.events(dep)}
    (signal,) = served.store.signals(dep)
    assert (signal.actor, signal.token, signal.comment) == (
        "approver",
        "approver",
        "<b>ship it</b>",
    )


# A canary that waits long enough for a person: 20 % with analysis every second, then 100 %.
CANARY = """
  type: canary
  steps:
    - set_weight: 20
    - pause: {duration_s: 120}
  analysis:
    interval_s: 1
    min_requests: 5
    metrics:
      - {name: error_rate, fail_if: "> 0.5"}"""


def test_a_live_canary_is_followed_and_aborted_from_the_page(
    tmp_path: Path, browser: WebDriver
) -> None:
    """The traffic plot grows run after run without a reload; Abort during the canary and
    the page shows the rollback and its reason."""
    with serve(write_spec(tmp_path, count=2, strategy=CANARY)) as served:
        env = served.env("production")
        backends = Backends.for_environment(env, clock=SystemClock())
        deployer = Deployer(env, store=served.store, backends=backends)
        try:
            assert deployer.deploy("v1", Request(who="ci")).exit_code == 0
            url = f"http://127.0.0.1:{env.router.listen.port}/work"
            with TrafficGenerator(url, concurrency=4, max_duration_s=150):
                result: list[Outcome] = []
                thread = threading.Thread(
                    target=lambda: result.append(deployer.deploy("v2", Request(who="ci")))
                )
                thread.start()
                dep = control.wait_for_step(
                    env, served.store, "pause", clock=SystemClock(), timeout_s=90
                )
                sign_in(browser, served, "deployer", f"/deployments/{dep.id}")
                browser.execute_script("window.slipwayMarker = 'the same page'")
                first = _runs_plotted(browser, at_least=1)
                _runs_plotted(browser, at_least=first + 2)  # the plot moved, unprompted
                browser.find_element(By.ID, "button-abort").click()
                WebDriverWait(browser, WAIT_S, ignored_exceptions=LIVE).until(
                    lambda d: (
                        d.find_element(By.ID, "status").text in ("rolled_back", "aborted", "failed")
                    )
                )
                thread.join(timeout=120)
            # the page re-renders its fields as events arrive: read one that is not stale
            reason = WebDriverWait(browser, WAIT_S, ignored_exceptions=LIVE).until(
                lambda d: d.find_element(By.ID, "reason").text or None
            )
            assert reason == "aborted by deployer" and result[0].exit_code == 3
            assert browser.execute_script("return window.slipwayMarker") == "the same page"
        finally:
            backends.close()
            stop_environment(env)


def _runs_plotted(driver: WebDriver, *, at_least: int) -> int:
    """How many points the traffic plot has, once it has ``at_least``."""

    def count(d: WebDriver) -> int:
        lines = d.find_elements(By.CSS_SELECTOR, "#plots polyline")
        if not lines:
            return 0
        return len((lines[-1].get_attribute("points") or "").split())

    WebDriverWait(driver, WAIT_S, ignored_exceptions=LIVE).until(lambda d: count(d) >= at_least)
    return count(driver)
