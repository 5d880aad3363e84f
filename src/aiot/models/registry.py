"""Models by name: the built-ins (imported only when asked for) and plug-ins.

A plug-in registers a detector class through the entry-point group ``aiot.models``::

    [project.entry-points."aiot.models"]
    my_detector = "my_package.module:MyDetector"

Its class declares the range of each hyperparameter in ``ranges``
(:mod:`aiot.models.params`); :func:`create` refuses parameters outside them.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from aiot.errors import InvalidInput, NotFound
from aiot.models import params as hyper
from aiot.models.base import BaseDetector, ModelCard

__all__ = ["BUILTINS", "ENTRY_POINT_GROUP", "card", "create", "load_class", "names"]

ENTRY_POINT_GROUP = "aiot.models"

BUILTINS: dict[str, str] = {
    "zscore": "aiot.models.zscore:RobustZScore",
    "holt": "aiot.models.holt:HoltWinters",
    "discord": "aiot.models.discord:MatrixProfileDiscord",
    "hst": "aiot.models.hst:HalfSpaceTrees",
    "pca": "aiot.models.pca:PcaT2Spe",
    "innovation": "aiot.models.innovation:InnovationT2",
    "iforest": "aiot.models.iforest:WindowIsolationForest",
    "ensemble": "aiot.models.ensemble:MultiScaleEnsemble",
    "context": "aiot.models.context:ContextNovelty",
    "value": "aiot.models.rules:ValueRule",
    "rate": "aiot.models.rules:RateOfChange",
}


def _plugins() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def names() -> list[str]:
    """Every model name: built-ins first, then plug-ins not shadowing a built-in."""
    extra = sorted(n for n in _plugins() if n not in BUILTINS)
    return [*BUILTINS, *extra]


def load_class(name: str) -> type[BaseDetector]:
    """The class registered under ``name``, importing its module now."""
    target = BUILTINS.get(name) or _plugins().get(name)
    if target is None:
        raise NotFound(f"no model named {name!r}", detail={"known": names()})
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not isinstance(cls, type):
        raise NotFound(f"{target} is not a class")
    return cls


def create(name: str, **params: Any) -> BaseDetector:
    """A new model of the registered ``name``, once ``params`` lie in its declared ranges."""
    cls = load_class(name)
    if cls.ranges:  # checked before __init__, which may allocate what a window asks for
        hyper.check(name, cls.ranges, params)
    try:
        return cls(**params)
    except TypeError as err:  # a plug-in without ranges given a parameter it does not take
        raise InvalidInput(f"bad parameters for {name}: {err}") from err


def card(name: str) -> ModelCard:
    """The card of the registered model with its default parameters."""
    return load_class(name).default_card()
