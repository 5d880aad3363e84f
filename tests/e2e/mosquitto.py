"""A real Mosquitto on a free loopback port with persistence on, stoppable and restartable."""

from __future__ import annotations

import getpass
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.conftest import free_port, require_binary


class Mosquitto:
    """One ``mosquitto`` process over a temp config; keeps QoS 1 messages across restarts."""

    def __init__(self, folder: Path) -> None:
        self.binary = require_binary("mosquitto")
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            f"user {getpass.getuser()}\n"  # as root it would drop to 'mosquitto' and not persist
            "persistence true\n"
            f"persistence_location {folder}/\n"
            "max_queued_messages 100000\n"
            "log_dest none\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The broker's URL for a bridge."""
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        """Start and wait until the port accepts connections."""
        self.proc = subprocess.Popen([self.binary, "-c", str(self.config)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("mosquitto did not start")

    def stop(self) -> None:
        """Stop gracefully (SIGTERM): Mosquitto writes its persistence file."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.proc = None
