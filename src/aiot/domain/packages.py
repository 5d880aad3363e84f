"""Firmware and software packages (ThingsBoard's OTA packages) and what a device is told of one.

A package is assigned to a device or to the profile of its type; the device's own assignment
wins. The device learns of it from shared attributes (``fw_title``, ``fw_version``, ``fw_tag``,
``fw_size``, ``fw_checksum``, ``fw_checksum_algorithm``, ``fw_ts``; ``sw_*`` for software),
downloads it in chunks, and reports its progress as telemetry (``fw_state``).

>>> checksum(b"abc", "CRC32")
'c2412435'
>>> shared_attributes(Package("p", "t", "firmware", "fw", "1.0", "MD5", "0", 3, "x", "f", 5))
... # doctest: +NORMALIZE_WHITESPACE
{'fw_title': 'fw', 'fw_version': '1.0', 'fw_tag': 'fw 1.0', 'fw_size': 3,
 'fw_checksum_algorithm': 'MD5', 'fw_checksum': '0', 'fw_ts': 5}
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = [
    "ALGORITHMS",
    "KINDS",
    "STATES",
    "Package",
    "PackageKind",
    "attribute_keys",
    "checksum",
    "prefix",
    "shared_attributes",
    "state_keys",
]

PackageKind = Literal["firmware", "software"]
KINDS: tuple[PackageKind, ...] = ("firmware", "software")
# fw_state values: aiot's SDK-facing states, as ThingsBoard's devices report them
STATES = ("DOWNLOADING", "DOWNLOADED", "VERIFIED", "UPDATING", "UPDATED", "FAILED")


def _crc32(data: bytes) -> str:
    # ThingsBoard (Guava's HashCode) writes the four bytes little-endian, as hex
    return (zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "little").hex()


def _hashlib(name: str) -> Callable[[bytes], str]:
    return lambda data: hashlib.new(name, data).hexdigest()


# What ThingsBoard's Python SDK verifies and the standard library computes; ThingsBoard also
# knows MURMUR3_32 and MURMUR3_128, which need a library aiot does not depend on.
ALGORITHMS: dict[str, Callable[[bytes], str]] = {
    "MD5": _hashlib("md5"),
    "SHA256": _hashlib("sha256"),
    "SHA384": _hashlib("sha384"),
    "SHA512": _hashlib("sha512"),
    "CRC32": _crc32,
}


def checksum(data: bytes, algorithm: str) -> str:
    """The checksum of ``data`` as ThingsBoard writes it (lower-case hex)."""
    return ALGORITHMS[algorithm](data)


@dataclass(frozen=True)
class Package:
    """A firmware or software package, its bytes apart (the catalog keeps them)."""

    id: str
    tenant: str
    kind: PackageKind
    title: str
    version: str
    checksum_algorithm: str
    checksum: str
    size: int
    content_type: str
    file_name: str
    created_ms: int

    def public(self) -> dict[str, Any]:
        """The package as listed to users."""
        return asdict(self)


def prefix(kind: str) -> str:
    """``fw`` for firmware, ``sw`` for software: the prefix of its attributes and topics."""
    return "fw" if kind == "firmware" else "sw"


def shared_attributes(package: Package) -> dict[str, Any]:
    """The shared attributes that tell a device of its package, as ThingsBoard sets them."""
    p = prefix(package.kind)
    return {
        f"{p}_title": package.title,
        f"{p}_version": package.version,
        f"{p}_tag": f"{package.title} {package.version}",
        f"{p}_size": package.size,
        f"{p}_checksum_algorithm": package.checksum_algorithm,
        f"{p}_checksum": package.checksum,
        f"{p}_ts": package.created_ms,
    }


def attribute_keys(kind: str) -> list[str]:
    """Every shared attribute key :func:`shared_attributes` sets for a kind."""
    p = prefix(kind)
    return [f"{p}_{k}" for k in ("title", "version", "tag", "size", "checksum_algorithm")] + [
        f"{p}_checksum",
        f"{p}_ts",
    ]


def state_keys(kind: str) -> list[str]:
    """The telemetry keys a device reports its update with (ThingsBoard's SDK names)."""
    p = prefix(kind)
    return [f"{p}_state", f"current_{p}_title", f"current_{p}_version", f"{p}_error"]
