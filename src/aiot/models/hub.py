"""The model hub on disk: trained versions per tenant, and one-file export and import.

An artifact is a folder ``<data>/models/<tenant>/<name>/<version>/`` holding ``card.json``
(the ModelCard with its metrics), ``config.json`` (registered model and hyperparameters) and
``state.npz`` (learned arrays). An export is a zip of those three files. Import checks the
member names and their uncompressed sizes, parses the JSON, reads the arrays within
:data:`~aiot.models.npz.MAX_STATE_BYTES` without pickles (:mod:`aiot.models.npz`) and rebuilds
the model from registered code only, its parameters checked against the model's declared
ranges: nothing in the file is ever executed, and no size it claims is taken on trust.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

from aiot.errors import InvalidInput, NotFound
from aiot.models import npz, registry
from aiot.models.base import BaseDetector, Inputs, ModelCard

__all__ = [
    "MEMBERS",
    "export",
    "import_file",
    "latest_card",
    "list_versions",
    "load",
    "next_version",
    "save",
]

MEMBERS = ("card.json", "config.json", "state.npz")
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_MAX_JSON = 1024 * 1024
# What each member may expand to; state.npz adds the .npy headers to its arrays' bytes.
_MEMBER_LIMITS = {
    "card.json": _MAX_JSON,
    "config.json": _MAX_JSON,
    "state.npz": npz.MAX_STATE_BYTES + _MAX_JSON,
}


def _safe(value: str, what: str) -> str:
    if not _SAFE.match(value):
        raise InvalidInput(f"invalid {what}: {value!r}")
    return value


def artifact_dir(root: Path, tenant: str, name: str, version: str) -> Path:
    """Where one version of one tenant's model lives."""
    parts = (_safe(tenant, "tenant"), _safe(name, "model name"), _safe(version, "version"))
    return root / "models" / parts[0] / parts[1] / parts[2]


def _build(config: dict[str, Any], state_raw: bytes) -> BaseDetector:
    model = registry.create(str(config["model"]), **dict(config.get("params") or {}))
    model.load_state_dict(npz.load(state_raw))
    return model


def save(
    root: Path, tenant: str, model: BaseDetector, version: str = "1",
    metrics: dict[str, float] | None = None, name: str | None = None,
    inputs: Inputs | None = None,
) -> Path:  # fmt: skip
    """Store a trained model as a versioned artifact (under ``name``); returns its folder."""
    name = name or model.name
    folder = artifact_dir(root, tenant, name, version)
    state = npz.dump(model.state_dict())  # refused over the limit before anything is written
    folder.mkdir(parents=True, exist_ok=True)
    card = model.card().to_dict() | {"version": version, "metrics": metrics or {}, "name": name}
    card["model"] = model.name  # which registered detector it is, whatever it is called
    if inputs is not None:
        card["inputs"] = ModelCard(name, inputs=inputs).to_dict()["inputs"]
    (folder / "card.json").write_text(json.dumps(card, indent=2))
    config = {"model": model.name, "params": model.get_params()}
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    (folder / "state.npz").write_bytes(state)
    return folder


def load(root: Path, tenant: str, name: str, version: str = "1") -> BaseDetector:
    """Rebuild a stored model from its config and state."""
    folder = artifact_dir(root, tenant, name, version)
    if not folder.exists():
        raise NotFound(f"no model {name} version {version} for tenant {tenant}")
    config = json.loads((folder / "config.json").read_text())
    return _build(config, (folder / "state.npz").read_bytes())


def delete_tenant(root: Path, tenant: str) -> None:
    """Remove every model version of a tenant."""
    shutil.rmtree(root / "models" / _safe(tenant, "tenant"), ignore_errors=True)


def list_versions(root: Path, tenant: str) -> list[ModelCard]:
    """The cards of every stored model version of a tenant."""
    base = root / "models" / _safe(tenant, "tenant")
    cards = sorted(base.glob("*/*/card.json"))
    return [ModelCard.from_dict(json.loads(p.read_text())) for p in cards]


def _versions(root: Path, tenant: str, name: str) -> list[int]:
    base = root / "models" / _safe(tenant, "tenant") / _safe(name, "model name")
    found = (p.parent.name for p in base.glob("*/card.json"))
    return sorted(int(v) for v in found if v.isdigit())


def next_version(root: Path, tenant: str, name: str) -> str:
    """The version a new training of ``name`` gets: one past the highest numbered one."""
    versions = _versions(root, tenant, name)
    return str(versions[-1] + 1 if versions else 1)


def latest_card(root: Path, tenant: str, name: str) -> ModelCard:
    """The card of the highest numbered version of a tenant's model."""
    versions = _versions(root, tenant, name)
    if not versions:
        raise NotFound(f"no model named {name!r}")
    folder = artifact_dir(root, tenant, name, str(versions[-1]))
    return ModelCard.from_dict(json.loads((folder / "card.json").read_text()))


def export(root: Path, tenant: str, name: str, version: str, out: Path) -> Path:
    """Write one artifact as a single shareable zip file."""
    folder = artifact_dir(root, tenant, name, version)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for member in MEMBERS:
            zf.write(folder / member, member)
    return out


def _read_members(path: Path) -> dict[str, bytes]:
    if path.stat().st_size > sum(_MEMBER_LIMITS.values()):
        raise InvalidInput("model artifact too large", detail={"bytes": path.stat().st_size})
    with path.open("rb") as fp, npz.open_zip(fp, len(MEMBERS)) as zf:
        infos = zf.infolist()
        names = sorted(i.filename for i in infos)
        if names != sorted(MEMBERS):
            raise InvalidInput("not a model artifact", detail={"members": names})
        for info in infos:  # the zip reader stops at the size a header states, so check it
            if info.file_size > _MEMBER_LIMITS[info.filename]:
                raise InvalidInput(f"model artifact member {info.filename} too large")
        return {i.filename: zf.read(i) for i in infos}


def import_file(path: Path, root: Path, tenant: str) -> ModelCard:
    """Verify an exported file, rebuild the model from it, and store it for ``tenant``."""
    try:
        raw = _read_members(path)
        card = ModelCard.from_dict(json.loads(raw["card.json"]))
        config = json.loads(raw["config.json"])
        model = _build(config, raw["state.npz"])
    except (zipfile.BadZipFile, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise InvalidInput(f"rejected model artifact: {err}") from err
    if (card.model or card.name) != model.name:
        raise InvalidInput("card and config name different models")
    save(root, tenant, model, card.version, card.metrics, card.name, card.inputs)
    return card
