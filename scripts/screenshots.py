"""Screenshots of the dashboard for the README, taken in Debian's chromium (Selenium, Debian's
chromedriver: nothing downloaded) during a live canary of the sample app behind HAProxy.

    .venv/bin/python scripts/screenshots.py      # writes docs/images/dashboard-*.png
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test kit: the sample app's spec, the browser's options

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from tests.conftest import stop_environment  # noqa: E402
from tests.server.kit import serve, write_spec  # noqa: E402
from tests.server.test_browser import ARGUMENTS, CANARY, CHROMEDRIVER, CHROMIUM  # noqa: E402

from slipway.backends import Backends  # noqa: E402
from slipway.clock import SystemClock  # noqa: E402
from slipway.demo.traffic import TrafficGenerator  # noqa: E402
from slipway.deployment import Deployer, Request  # noqa: E402
from slipway.engine import control  # noqa: E402

IMAGES = ROOT / "docs" / "images"


def main() -> None:
    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (*ARGUMENTS, "--window-size=1200,1500"):
        options.add_argument(argument)
    IMAGES.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve(write_spec(Path(tmp), count=2, strategy=CANARY)) as served,
    ):
        env = served.env("production")
        backends = Backends.for_environment(env, clock=SystemClock())
        deployer = Deployer(env, store=served.store, backends=backends)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        try:
            deployer.deploy("v1", Request(who="ci"))
            url = f"http://127.0.0.1:{env.router.listen.port}/work"
            with TrafficGenerator(url, concurrency=4, max_duration_s=150):
                thread = threading.Thread(target=lambda: deployer.deploy("v2", Request(who="ci")))
                thread.start()
                dep = control.wait_for_step(
                    env, served.store, "pause", clock=SystemClock(), timeout_s=90
                )
                driver.get(f"{served.url}/sign-in?next=/deployments/{dep.id}")
                driver.find_element(By.ID, "token").send_keys(served.tokens["approver"])
                driver.find_element(By.ID, "sign-in-button").click()
                WebDriverWait(driver, 90).until(
                    lambda d: len(d.find_elements(By.CSS_SELECTOR, "#analysis tbody tr")) >= 8
                )
                driver.save_screenshot(str(IMAGES / "dashboard-canary.png"))
                driver.get(f"{served.url}/")
                driver.save_screenshot(str(IMAGES / "dashboard-overview.png"))
                control.send(env, served.store, "abort", who="screenshots")
                thread.join(timeout=120)
        finally:
            driver.quit()
            backends.close()
            stop_environment(env)
    print(f"wrote {IMAGES}/dashboard-canary.png and dashboard-overview.png")


if __name__ == "__main__":
    main()
