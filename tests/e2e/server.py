"""Runs ``aiot up`` as a real subprocess on a free port, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port

AIOT = str(Path(sys.executable).with_name("aiot"))
# ThingsBoard's device SDK, installed by `make install` beside the venv, not in it: it brings a
# fork of paho that would replace the paho-mqtt the tests and bridges use.
THINGSBOARD_SDK = Path(__file__).resolve().parents[2] / ".venv" / "thingsboard"


class AiotProcess:
    """One ``aiot up`` process over a data folder; restartable on the same port."""

    def __init__(
        self, data_dir: Path, env: dict[str, str] | None = None, command: tuple[str, ...] = ("up",)
    ) -> None:
        self.data_dir = data_dir
        self.command = command
        self.port = free_port()
        self.mqtt_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AIOT_")}
        self.env.update(env or {})
        self.env.setdefault("AIOT_MQTT__PORT", str(self.mqtt_port))  # never the shared 1883
        self.proc: subprocess.Popen[str] | None = None
        self.output = ""

    def start(self, timeout: float = 30.0) -> None:
        """Start and wait until the API answers."""
        self.output = ""
        args = [
            AIOT,
            *self.command,
            "--http-port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        self.proc = subprocess.Popen(
            args, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"aiot up exited early:\n{self.read_output()}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise TimeoutError("aiot up did not answer in time")

    def alive(self) -> bool:
        """Whether the process runs and answers."""
        if self.proc is None or self.proc.poll() is not None:
            return False
        return httpx.get(f"{self.url}/api/health", timeout=5).status_code == 200

    def stop(self, sig: int = signal.SIGTERM) -> str:
        """Stop (SIGTERM) or kill (SIGKILL) the process; return what it printed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        return self.read_output()

    def read_output(self) -> str:
        """Everything the process printed so far (once it has exited)."""
        proc = self.proc
        if proc is None or proc.stdout is None or proc.poll() is None or proc.stdout.closed:
            return self.output
        self.output += proc.stdout.read()
        proc.stdout.close()
        return self.output

    def admin(self) -> httpx.Client:
        """A REST client with the admin key the first start wrote (close it after use)."""
        key = (self.data_dir / "admin.key").read_text().strip()
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key}"})

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the ``aiot`` CLI against this server."""
        env = {**self.env, "AIOT_URL": self.url, "COLUMNS": "200"}
        return subprocess.run(
            [AIOT, *args], env=env, cwd=self.data_dir.parent, capture_output=True, text=True
        )
