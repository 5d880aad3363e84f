"""CA bundles of bridges: PEM text uploaded by the tenant, checked before a bridge is saved.

A tenant never names a file on the server: the bundle's content travels in the request and is
kept with the bridge. Bridges saved by older versions may still name a file (``ca_file``);
such a file is read at start with the same bounds (a regular file, at most ``MAX_CA_BYTES``),
and a bad one fails that bridge alone.
"""

from __future__ import annotations

import os
import ssl
import stat

from cryptography import x509

from aiot.errors import InvalidInput

__all__ = ["MAX_CA_BYTES", "legacy_ca_pem", "tls_context"]

MAX_CA_BYTES = 1 << 20  # Debian's whole ca-certificates.crt is about 220 KiB


def tls_context(pem: str | None) -> ssl.SSLContext:
    """A client context trusting the PEM bundle ``pem`` (the system's CAs when None).

    InvalidInput says what is wrong with a bundle: too large, a private key inside, no
    certificate, or one that does not parse.
    """
    if pem is None:
        return ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if len(pem.encode()) > MAX_CA_BYTES:
        raise InvalidInput(f"a CA bundle is at most {MAX_CA_BYTES} bytes")
    if "PRIVATE KEY-----" in pem:  # never keep a key someone pasted by mistake
        raise InvalidInput("a CA bundle holds certificates only, and this one holds a private key")
    try:
        x509.load_pem_x509_certificates(pem.encode())  # stricter than ssl: every block parses
        return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=pem)
    except (ValueError, ssl.SSLError) as err:
        raise InvalidInput("the CA bundle is not PEM certificates", str(err)[:200]) from err


def legacy_ca_pem(path: str) -> str:
    """The content of a CA file named by a bridge of an older version, read with bounds."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block the start
    except OSError as err:
        raise InvalidInput(f"the CA file {path} cannot be opened: {err.strerror}") from err
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # a directory, /dev/zero, a socket
            raise InvalidInput(f"the CA file {path} is not a regular file")
        content = os.read(fd, MAX_CA_BYTES + 1)
    finally:
        os.close(fd)
    try:
        return content.decode()
    except UnicodeDecodeError as err:
        raise InvalidInput(f"the CA file {path} is not PEM text") from err
