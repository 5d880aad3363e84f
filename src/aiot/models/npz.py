"""A model's learned state as ``.npz`` bytes, written and read within a size limit.

A hub artifact comes from anyone, and a zip can claim little and expand to a lot: a few KB
of deflated zeros become gigabytes of array. So nothing is decompressed on trust. Before a
byte of data is read, :func:`load` checks the zip's directory (a bounded number of members,
no ZIP64), each member's uncompressed size from its header (which the zip reader enforces)
and each ``.npy`` header's dtype and shape (no objects, so no pickles; elements times item
size within what is left of the limit); then it reads exactly that many bytes into the
array. :func:`dump` refuses a state over the limit, so no training writes more.
"""

from __future__ import annotations

import io
import math
import struct
import zipfile
from typing import IO, Any

import numpy as np

from aiot.errors import InvalidInput
from aiot.models.base import State

__all__ = ["MAX_MEMBERS", "MAX_STATE_BYTES", "check", "dump", "load", "open_zip"]

MAX_STATE_BYTES = 64 * 1024 * 1024
"""The most learned state one model version may keep (arrays' bytes, uncompressed)."""
MAX_MEMBERS = 1024
_END = b"PK\x05\x06"  # end of central directory record
_END64 = b"PK\x06\x07"  # ZIP64 locator, which would let the directory claim more
_MAX_DIRECTORY = 1024 * 1024
_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def check(state: State, limit: int = MAX_STATE_BYTES) -> dict[str, Any]:
    """The state's arrays, refused (``invalid_input``) when they take more than ``limit`` bytes."""
    arrays: dict[str, Any] = {k: np.asarray(v) for k, v in state.items()}
    size = sum(a.nbytes for a in arrays.values())
    if size > limit:
        raise InvalidInput(
            f"the model's learned state would take {size} bytes, more than the {limit} a model "
            "may keep: choose smaller windows or buffers, or fewer keys",
            detail={"bytes": size, "limit": limit},
        )
    return arrays


def dump(state: State, limit: int = MAX_STATE_BYTES) -> bytes:
    """The state as ``.npz`` bytes (no pickles); refused when its arrays exceed ``limit``."""
    arrays = check(state, limit)
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, **arrays)
    return buf.getvalue()


def load(raw: bytes, limit: int = MAX_STATE_BYTES) -> State:
    """The arrays of ``.npz`` bytes, refused before allocation if they would exceed ``limit``."""
    state: State = {}
    left = limit
    with open_zip(io.BytesIO(raw)) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy") or "/" in info.filename:
                raise InvalidInput("state.npz holds something else than arrays", info.filename)
            with zf.open(info) as member:
                array = _read_npy(member, info.filename, info.file_size, left)
            left -= array.nbytes
            state[info.filename.removesuffix(".npy")] = array
    return state


def open_zip(fp: IO[bytes], max_members: int = MAX_MEMBERS) -> zipfile.ZipFile:
    """A zip whose directory was checked to be small before the zip reader parses it."""
    fp.seek(0, io.SEEK_END)
    end = fp.tell()
    tail_at = max(0, end - 22 - 65_535)  # the end record, then a comment of up to 64 KiB
    fp.seek(tail_at)
    tail = fp.read()
    at = tail.rfind(_END)
    if at < 0 or len(tail) < at + 22:
        raise InvalidInput("not a zip file")
    entries, size = struct.unpack("<HI", tail[at + 10 : at + 16])
    zip64 = tail_at + at >= 20 and _zip64_locator(fp, tail_at + at - 20)
    if zip64 or entries > max_members or size > _MAX_DIRECTORY:
        raise InvalidInput("the zip file has too many members", detail={"members": entries})
    fp.seek(0)
    return zipfile.ZipFile(fp)


def _zip64_locator(fp: IO[bytes], at: int) -> bool:
    fp.seek(at)
    return fp.read(4) == _END64


def _read_npy(member: IO[bytes], name: str, size: int, left: int) -> np.ndarray[Any, Any]:
    """One ``.npy`` member, its header checked against the member's size and the budget."""
    version = np.lib.format.read_magic(member)
    if version not in _HEADERS:
        raise InvalidInput(f"state.npz array {name} has an unknown .npy version", name)
    shape, fortran, dtype = _HEADERS[version](member)
    if dtype.hasobject:
        raise InvalidInput("state.npz holds Python objects (pickles are refused)", name)
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    if any(d < 0 for d in shape) or count > left or nbytes > min(size, left):
        raise InvalidInput(
            f"state.npz array {name} would expand to {nbytes} bytes, more than the member "
            f"holds or the {left} left of the state limit",
            detail={"array": name, "shape": list(shape), "dtype": str(dtype), "limit": left},
        )
    data = bytearray(nbytes)  # writable, unlike bytes: models update loaded arrays in place
    if member.readinto(data) != nbytes:  # type: ignore[attr-defined]
        raise InvalidInput(f"state.npz array {name} is shorter than its header says", name)
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
