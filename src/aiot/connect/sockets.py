"""The listening sockets of aiot's servers, taken before anything is announced."""

from __future__ import annotations

import socket

__all__ = ["listening_socket"]


def listening_socket(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening; OSError (closed) when it cannot be.

    IPPROTO_TCP is named explicitly: asyncio sets TCP_NODELAY on accepted connections only then,
    and without it every answer on a kept-alive connection waits for the client's delayed ACK
    (about 40 ms). With SO_REUSEADDR, Linux may refuse a taken port only at ``listen``.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock
