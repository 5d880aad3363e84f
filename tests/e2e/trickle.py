"""Slow clients: connections that start a packet or a request and then send a little at a time."""

from __future__ import annotations

import contextlib
import socket
import threading


class Trickle:
    """``count`` connections that send ``first``, then ``then`` every ``every`` seconds.

    ``silent`` more connections send nothing at all.
    """

    def __init__(
        self, port: int, count: int, first: bytes, then: bytes, every: float, silent: int = 0
    ) -> None:
        self.socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(count + silent)]
        for sock in self.socks[:count]:
            sock.sendall(first)
        for sock in self.socks:
            sock.setblocking(False)
        self._talking, self._then, self._every = self.socks[:count], then, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        while not self._stop.wait(self._every):
            for sock in self._talking:
                with contextlib.suppress(OSError):  # closed by the server: what it should do
                    sock.send(self._then)

    def open(self) -> int:
        """How many connections the server has not closed."""
        alive = 0
        for sock in self.socks:
            try:
                alive += sock.recv(1024) != b""
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
        return alive

    def close(self) -> None:
        """Stop trickling and close every socket."""
        self._stop.set()
        self._thread.join()
        for sock in self.socks:
            sock.close()
