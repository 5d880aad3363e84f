"""Time to first render of the dashboard's fleet page and of a device chart, in Chromium.

Against ``aiot up`` over its REST API, as a user fills it: the fleet page of a tenant of 1,000
devices beside one of a single device, and the one-year chart of a device holding ten million
points beside one holding a thousand, each measured from the page's request until its table
rows or chart points are drawn (median of 5 loads). The large cases are printed as ratios to
the small ones, measured in the same run; the aim is under one second each. Needs Debian's
``chromium`` and ``chromium-driver``::

    .venv/bin/python benchmarks/dashboard.py [--points 10000000] [--devices 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from harness import ADMIN_KEY, free_port, stop

_BATCH = 100_000  # points a POST: within the payload limit set below
_YEAR_MS = 365 * 86_400_000


def _start(data_dir: Path, http: int) -> subprocess.Popen[bytes]:
    """``aiot up`` taking large telemetry posts, so that ten million points load in minutes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOT_")}
    env |= {"AIOT_ADMIN_KEY": ADMIN_KEY, "AIOT_INGEST__MAX_PAYLOAD_BYTES": str(16 << 20)}
    aiot = str(Path(sys.executable).with_name("aiot"))
    args = [aiot, "up", "--http-port", str(http), "--mqtt-port", "0", "--data-dir", str(data_dir)]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{http}/api/health").status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("aiot up did not start")


def _fill(api: httpx.Client, tenant: str, devices: int, points: int) -> str:
    """The tenant with ``devices`` devices, the first holding ``points`` over a year; its id."""
    api.post("/api/tenants", json={"id": tenant}).raise_for_status()
    headers = {"X-Aiot-Tenant": tenant}
    made = []
    for i in range(devices):
        body = {"name": f"d-{i:04d}", "type": "meter"}
        made.append(api.post("/api/devices", json=body, headers=headers).raise_for_status().json())
    _send(api, made[0]["access_token"], points)
    first: str = made[0]["id"]
    return first


def _send(api: httpx.Client, token: str, points: int) -> None:
    end = int(time.time() * 1000)
    step = max(1, _YEAR_MS // points)
    for start in range(0, points, _BATCH):
        rows = [
            {"ts": end - (points - i) * step, "values": {"v": (i % 1000) / 10}}
            for i in range(start, min(points, start + _BATCH))
        ]
        api.post(f"/api/v1/{token}/telemetry", content=orjson.dumps(rows)).raise_for_status()


def _browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--window-size=1400,1000")
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def _until(check: Callable[[], Any], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit("the page did not render in time")
        time.sleep(0.01)


def _sign_in(driver: webdriver.Chrome, base: str, tenant: str) -> None:
    driver.get(base + "/api/health")
    driver.delete_all_cookies()
    driver.get(base + "/login")
    _until(lambda: driver.find_elements(By.CSS_SELECTOR, ".aiot-key input"))
    driver.find_element(By.CSS_SELECTOR, ".aiot-key input").send_keys(ADMIN_KEY)
    tenant_field = driver.find_elements(By.CSS_SELECTOR, ".aiot-tenant input")
    if tenant_field:
        tenant_field[0].send_keys(tenant)
    driver.find_element(By.CSS_SELECTOR, ".aiot-signin-key").click()
    _until(lambda: driver.find_elements(By.CSS_SELECTOR, ".aiot-fleet"))


_ROWS = "return document.querySelectorAll('.aiot-fleet tbody tr').length"
_POINTS = (
    "return [...document.querySelectorAll('.aiot-chart')].flatMap(el => {"
    "  const chart = getElement(el) && getElement(el).chart;"
    "  return chart ? chart.getOption().series.map(s => s.data.length) : [];"
    "}).reduce((a, b) => a + b, 0)"
)


def _timed(driver: webdriver.Chrome, url: str, script: str) -> float:
    """Median seconds from requesting ``url`` until ``script`` counts something drawn."""
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        driver.get(url)
        _until(lambda: (driver.execute_script(script) or 0) > 0)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--devices", type=int, default=1000)
    args = parser.parse_args()
    http = free_port()
    with tempfile.TemporaryDirectory() as folder:
        proc = _start(Path(folder) / "aiot-data", http)
        base = f"http://127.0.0.1:{http}"
        try:
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=300
            ) as api:
                loading = time.perf_counter()
                small = _fill(api, "small", 1, 1000)
                large = _fill(api, "large", args.devices, args.points)
                print(f"loaded {args.points:,} points and {args.devices + 1:,} devices"
                      f" in {time.perf_counter() - loading:.0f} s")  # fmt: skip
            driver = _browser()
            try:
                figures = {}
                for tenant, device in (("small", small), ("large", large)):
                    _sign_in(driver, base, tenant)
                    fleet = _timed(driver, f"{base}/", _ROWS)
                    chart = _timed(driver, f"{base}/devices/{device}?range=1%20year", _POINTS)
                    figures[tenant] = (fleet, chart)
            finally:
                driver.quit()
        finally:
            stop(proc)
    (fleet_1, chart_1), (fleet_n, chart_n) = figures["small"], figures["large"]
    print(f"fleet page, 1 device:          {fleet_1:6.3f} s (reference)")
    print(f"fleet page, {args.devices:,} devices:  {fleet_n:6.3f} s  = {fleet_n / fleet_1:.2f}x")
    print(f"device chart, 1,000 points:     {chart_1:6.3f} s (reference)")
    print(f"device chart, {args.points:,} points: {chart_n:6.3f} s  = {chart_n / chart_1:.2f}x")


if __name__ == "__main__":
    main()
