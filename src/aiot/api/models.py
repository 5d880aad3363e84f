"""Trained models of the tenant: train one on a device's stored history, list them, show one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from aiot.api.deps import Caller, Operator, PlatformDep
from aiot.api.openapi import errors
from aiot.api.params import now_ms, parse_time
from aiot.models.train import TrainSpec

__all__ = ["router"]

router = APIRouter(prefix="/api/models", tags=["models"])


class TrainIn(BaseModel):
    """A detector to fit on a device's history of some keys."""

    detector: str = Field(min_length=1, max_length=100)
    device: str = Field(min_length=1, max_length=200)
    keys: list[str] = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    start: str | int | None = None
    end: str | int | None = None
    name: str | None = Field(default=None, max_length=64)


@router.post("/train", status_code=status.HTTP_201_CREATED, responses=errors(404))
def train(body: TrainIn, platform: PlatformDep, principal: Operator) -> dict[str, Any]:
    """Fit the detector on ``[start, end)`` (default: all history) and store a new version."""
    end = parse_time(None if body.end is None else str(body.end), now_ms() + 1, "end")
    start = parse_time(None if body.start is None else str(body.start), 0, "start")
    spec = TrainSpec(body.detector, body.keys, start, end, body.params, body.name)
    return platform.train_model(principal.tenant, body.device, spec).to_dict()


@router.get("")
def list_models(platform: PlatformDep, principal: Caller) -> list[dict[str, Any]]:
    """Every trained model version of the tenant."""
    return [card.to_dict() for card in platform.models(principal.tenant)]


@router.get("/{name}")
def show_model(name: str, platform: PlatformDep, principal: Caller) -> dict[str, Any]:
    """The card of the newest version of one trained model."""
    return platform.model_card(principal.tenant, name).to_dict()
