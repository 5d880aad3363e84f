"""A small Python client (SDK) for aiot's REST and device APIs, over httpx.

>>> client = Client("http://127.0.0.1:8080", api_key="aiot_...")  # doctest: +SKIP
>>> pump = client.create_device("pump-1", type="pump")  # doctest: +SKIP
>>> client.post_telemetry(pump["access_token"], {"temp": 21.5})  # doctest: +SKIP
>>> client.telemetry(pump["id"], keys=["temp"], interval="1h")  # doctest: +SKIP
>>> page = client.telemetry(pump["id"], limit=100, order="desc")  # doctest: +SKIP
>>> page.truncated, page.next_params["end"]  # doctest: +SKIP
(('temp',), '1767225600000')
>>> for key, point in client.tail(pump["id"]):  # doctest: +SKIP
...     print(key, point["ts"], point["value"])
>>> client.deploy("pump-z", "zscore", ["temp"], type="pump")  # doctest: +SKIP
>>> for alarm in client.alarms(status="ACTIVE_UNACK"):  # doctest: +SKIP
...     client.label_alarm(alarm["id"], True, fault_type="bearing")
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx

from aiot import errors

__all__ = ["Client", "Telemetry"]

Point = dict[str, Any]

_BY_STATUS: dict[int, type[errors.AiotError]] = {
    400: errors.InvalidInput,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
    413: errors.PayloadTooLarge,
    429: errors.TooManyRequests,
    503: errors.StoreError,
}


class Telemetry(dict[str, list[Point]]):
    """Points by key, ``{key: [{"ts": ms, "value": v}]}``, and what the server left out.

    ``truncated`` names the keys that had more points in the range than the limit;
    ``next_url`` is the query for the rest of them (None when nothing was cut).
    """

    def __init__(
        self,
        points: dict[str, list[Point]],
        truncated: tuple[str, ...] = (),
        next_url: str | None = None,
    ) -> None:
        super().__init__(points)
        self.truncated = truncated
        self.next_url = next_url

    @property
    def next_params(self) -> dict[str, str] | None:
        """The next page's query parameters (``start``, ``end``, ``keys``...), if any."""
        if self.next_url is None:
            return None
        return dict(parse_qsl(urlsplit(self.next_url).query))

    @classmethod
    def from_response(cls, response: httpx.Response) -> Telemetry:
        """The body of a telemetry answer, with its truncation headers read."""
        cut = response.headers.get("Aiot-Truncated-Keys", "")
        following = response.links.get("next", {}).get("url")
        return cls(response.json(), tuple(unquote(k) for k in cut.split(",") if k), following)


class Client:
    """Talks to a running aiot; every error comes back as an :class:`aiot.errors.AiotError`."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        tenant: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        if tenant:
            headers["X-Aiot-Tenant"] = tenant
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as err:
            raise errors.ServiceError(f"cannot reach aiot at {self.url}: {err}") from err
        if response.status_code >= 400:
            raise _error(response)
        return response

    # tenants and keys

    def tenants(self) -> list[dict[str, Any]]:
        """Every tenant (admin key)."""
        result: list[dict[str, Any]] = self._call("GET", "/api/tenants")
        return result

    def delete_tenant(self, tenant_id: str) -> None:
        """Delete a tenant and everything it has (admin key)."""
        self._call("DELETE", f"/api/tenants/{tenant_id}")

    def create_tenant(self, tenant_id: str, name: str | None = None) -> dict[str, Any]:
        """Create a tenant (admin key)."""
        result: dict[str, Any] = self._call(
            "POST", "/api/tenants", json={"id": tenant_id, "name": name}
        )
        return result

    def create_key(self, tenant: str, name: str, role: str = "viewer") -> dict[str, Any]:
        """Create an API key; its secret is under ``key``."""
        result: dict[str, Any] = self._call(
            "POST", f"/api/tenants/{tenant}/keys", json={"name": name, "role": role}
        )
        return result

    def create_user(
        self, tenant: str, name: str, password: str, role: str = "viewer"
    ) -> dict[str, Any]:
        """Create a dashboard user of the tenant (tenant admin)."""
        result: dict[str, Any] = self._call(
            "POST",
            f"/api/tenants/{tenant}/users",
            json={"name": name, "password": password, "role": role},
        )
        return result

    def users(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's dashboard users (tenant admin)."""
        result: list[dict[str, Any]] = self._call("GET", f"/api/tenants/{tenant}/users")
        return result

    def delete_user(self, tenant: str, user: str) -> None:
        """Delete a dashboard user, by id or name (tenant admin)."""
        self._call("DELETE", f"/api/tenants/{tenant}/users/{user}")

    # devices

    def create_device(
        self,
        name: str,
        type: str = "default",
        labels: dict[str, str] | None = None,
        gateway: bool = False,
    ) -> dict[str, Any]:
        """Create a device (``gateway``: one that publishes for others); returns its token."""
        body = {"name": name, "type": type, "labels": labels or {}, "gateway": gateway}
        result: dict[str, Any] = self._call("POST", "/api/devices", json=body)
        return result

    def devices(self, type: str | None = None, gateway: str | None = None) -> list[dict[str, Any]]:
        """The tenant's devices (of one type, or behind one gateway)."""
        wanted = {"type": type, "gateway": gateway}
        params = {k: v for k, v in wanted.items() if v} or None
        result: list[dict[str, Any]] = self._call("GET", "/api/devices", params=params)
        return result

    def device(self, device: str) -> dict[str, Any]:
        """One device by id or name."""
        result: dict[str, Any] = self._call("GET", f"/api/devices/{device}")
        return result

    def delete_device(self, device: str) -> None:
        """Delete a device and its telemetry."""
        self._call("DELETE", f"/api/devices/{device}")

    def new_token(self, device: str) -> dict[str, Any]:
        """Give a device a fresh access token (the old one stops working); the device."""
        result: dict[str, Any] = self._call("POST", f"/api/devices/{device}/token")
        return result

    # telemetry

    def telemetry(
        self,
        device: str,
        keys: list[str] | None = None,
        start: str | int | None = None,
        end: str | int | None = None,
        interval: str | None = None,
        agg: str = "avg",
        limit: int | None = None,
        order: str = "asc",
    ) -> Telemetry:
        """Raw points (``limit`` per key) or aggregates, by ts in ``order`` (asc or desc).

        A dict ``{key: [{"ts": ms, "value": v}]}``; its ``truncated`` names the keys cut short.
        """
        params: dict[str, Any] = {"agg": agg, "orderBy": order}
        for name, value in (("start", start), ("end", end), ("interval", interval)):
            if value is not None:
                params[name] = str(value)
        if keys:
            params["keys"] = ",".join(keys)
        if limit is not None:
            params["limit"] = limit
        response = self._send("GET", f"/api/devices/{device}/telemetry", params=params)
        return Telemetry.from_response(response)

    def tail(
        self,
        device: str,
        keys: list[str] | None = None,
        interval: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Iterator[tuple[str, Point]]:
        """Yield ``(key, point)`` for each point stored after the call; poll every ``interval`` s.

        Stop by closing the iterator (or with Ctrl+C). Each key is followed from the ts of its
        newest point, so a point older than one already seen (a late arrival) is not shown; a
        key that had no points yields all it gets.
        """
        seen = {key: point["ts"] for key, point in self.latest(device, keys).items()}
        while True:
            fresh, more = self._since(device, keys, seen)
            yield from fresh
            if not more:  # a key cut short is read on at once, not after a pause
                sleep(interval)

    def _since(
        self, device: str, keys: list[str] | None, seen: dict[str, int]
    ) -> tuple[list[tuple[str, Point]], bool]:
        """Points newer than ``seen`` (advanced in place), oldest first; whether more remain."""
        fresh: list[tuple[str, Point]] = []
        more = False
        for key, newest in self.latest(device, keys).items():
            if key in seen and newest["ts"] <= seen[key]:
                continue
            start = seen[key] + 1 if key in seen else 0
            page = self.telemetry(device, [key], start, newest["ts"] + 1, limit=_TAIL_PAGE)
            points = page.get(key, [])
            fresh += [(key, point) for point in points]
            if points:
                seen[key] = points[-1]["ts"]
            more = more or bool(page.truncated)
        return sorted(fresh, key=lambda pair: (pair[1]["ts"], pair[0])), more

    def latest(self, device: str, keys: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """The newest value of each key."""
        params = {"keys": ",".join(keys)} if keys else None
        result: dict[str, dict[str, Any]] = self._call(
            "GET", f"/api/devices/{device}/latest", params=params
        )
        return result

    def ingest_stats(self) -> dict[str, Any]:
        """Accepted and refused counts."""
        result: dict[str, Any] = self._call("GET", "/api/ingest/stats")
        return result

    def rejections(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest refused messages."""
        result: list[dict[str, Any]] = self._call(
            "GET", "/api/ingest/rejections", params={"limit": limit}
        )
        return result

    def command(self, device: str, method: str, params: Any = None, **options: Any) -> Any:
        """Send a command to a device (``timeout``, ``oneway``); its answer if two-way."""
        body = {"method": method, "params": params if params is not None else {}, **options}
        return self._call("POST", f"/api/devices/{device}/rpc", json=body)

    def bridges(self) -> list[dict[str, Any]]:
        """The tenant's bridges to external brokers."""
        result: list[dict[str, Any]] = self._call("GET", "/api/bridges")
        return result

    def add_bridge(self, name: str, url: str, topics: list[str], **options: Any) -> dict[str, Any]:
        """Add a bridge (``username``, ``password``, ``create_devices``, ``device_type``...)."""
        body = {"name": name, "url": url, "topics": topics, **options}
        result: dict[str, Any] = self._call("POST", "/api/bridges", json=body)
        return result

    def remove_bridge(self, bridge: str) -> None:
        """Remove a bridge by id or name."""
        self._call("DELETE", f"/api/bridges/{bridge}")

    def profiles(self) -> list[dict[str, Any]]:
        """The tenant's device profiles."""
        result: list[dict[str, Any]] = self._call("GET", "/api/profiles")
        return result

    def add_profile(self, name: str, **options: Any) -> dict[str, Any]:
        """Add a device profile (``provision``, ``provision_key``, ``limits``...)."""
        result: dict[str, Any] = self._call("POST", "/api/profiles", json={"name": name, **options})
        return result

    def profile(self, name: str) -> dict[str, Any]:
        """One device profile."""
        result: dict[str, Any] = self._call("GET", f"/api/profiles/{name}")
        return result

    def remove_profile(self, name: str) -> None:
        """Remove a device profile (its devices stay)."""
        self._call("DELETE", f"/api/profiles/{name}")

    # firmware and software packages

    def upload_package(
        self, data: bytes, kind: str, title: str, version: str, **options: str
    ) -> dict[str, Any]:
        """Upload a package (``checksum_algorithm``, ``checksum``, ``file_name``...)."""
        query = {"kind": kind, "title": title, "version": version, **options}
        headers = {"Content-Type": "application/octet-stream"}
        found: dict[str, Any] = self._call(
            "POST", "/api/packages", params=query, content=data, headers=headers
        )
        return found

    def packages(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The tenant's packages, optionally of one kind (``firmware`` or ``software``)."""
        found: list[dict[str, Any]] = self._call(
            "GET", "/api/packages", params={"kind": kind} if kind else {}
        )
        return found

    def remove_package(self, package: str) -> None:
        """Delete a package no device or profile is assigned."""
        self._call("DELETE", f"/api/packages/{package}")

    def assign_package(
        self, package: str | None, kind: str, device: str | None = None, profile: str | None = None
    ) -> dict[str, Any]:
        """Assign a package to a device or a profile; ``package`` None takes it away."""
        where = f"/api/devices/{device}/{kind}" if device else f"/api/profiles/{profile}/{kind}"
        if package is None:
            gone: dict[str, Any] = self._call("DELETE", where)
            return gone
        found: dict[str, Any] = self._call("PUT", where, json={"package": package})
        return found

    def package_status(self, device: str, kind: str = "firmware") -> dict[str, Any]:
        """A device's package and the progress it reported."""
        found: dict[str, Any] = self._call("GET", f"/api/devices/{device}/{kind}")
        return found

    def rollout(self, package: str) -> list[dict[str, Any]]:
        """Every device whose package this is, with its progress."""
        found: list[dict[str, Any]] = self._call("GET", f"/api/packages/{package}/devices")
        return found

    # trained models

    def train_model(
        self,
        detector: str,
        device: str,
        keys: list[str],
        params: dict[str, Any] | None = None,
        start: str | int | None = None,
        end: str | int | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Fit a detector on a device's stored history; the new version's card."""
        body: dict[str, Any] = {"detector": detector, "device": device, "keys": keys}
        body |= {"params": params or {}}
        body |= {k: v for k, v in (("start", start), ("end", end), ("name", name)) if v is not None}
        result: dict[str, Any] = self._call("POST", "/api/models/train", json=body)
        return result

    def models(self) -> list[dict[str, Any]]:
        """The cards of every trained model version of the tenant."""
        result: list[dict[str, Any]] = self._call("GET", "/api/models")
        return result

    def model(self, name: str) -> dict[str, Any]:
        """The card of the newest version of a trained model."""
        result: dict[str, Any] = self._call("GET", f"/api/models/{name}")
        return result

    # deployments

    def deploy(
        self,
        name: str,
        detector: str,
        keys: list[str],
        *,
        device: str | None = None,
        type: str | None = None,
        labels: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        policy: dict[str, Any] | None = None,
        multivariate: bool = False,
        backfill_start: str | None = None,
    ) -> dict[str, Any]:
        """Deploy a detector on the keys of a device, a device type or labelled devices.

        ``backfill_start`` (ISO-8601 or epoch ms): first score the stored history since then.
        """
        body = {
            "name": name,
            "detector": detector,
            "keys": keys,
            "selector": {"device": device, "type": type, "labels": labels or {}},
            "params": params or {},
            "policy": policy or {},
            "multivariate": multivariate,
            "backfill_start": backfill_start,
        }
        result: dict[str, Any] = self._call("POST", "/api/deployments", json=body)
        return result

    def deployments(self) -> list[dict[str, Any]]:
        """The tenant's deployments."""
        result: list[dict[str, Any]] = self._call("GET", "/api/deployments")
        return result

    def deployment(self, ref: str) -> dict[str, Any]:
        """One deployment by id or name, with its live ``stats``."""
        result: dict[str, Any] = self._call("GET", f"/api/deployments/{ref}")
        return result

    def pause_deployment(self, ref: str) -> dict[str, Any]:
        """Stop scoring until resumed."""
        return self._patch_deployment(ref, {"paused": True})

    def resume_deployment(self, ref: str) -> dict[str, Any]:
        """Score again from the next points."""
        return self._patch_deployment(ref, {"paused": False})

    def set_policy(self, ref: str, policy: dict[str, Any]) -> dict[str, Any]:
        """Replace a deployment's alarm policy."""
        return self._patch_deployment(ref, {"policy": policy})

    def _patch_deployment(self, ref: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("PATCH", f"/api/deployments/{ref}", json=body)
        return result

    def remove_deployment(self, ref: str) -> None:
        """Stop and delete a deployment (its alarms and scores stay)."""
        self._call("DELETE", f"/api/deployments/{ref}")

    # alarms

    def alarms(
        self,
        *,
        status: str | None = None,
        severity: str | None = None,
        device: str | None = None,
        type: str | None = None,
        deployment: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The tenant's alarms, newest first; device and deployment by id or name."""
        filters: dict[str, Any] = {"status": status, "severity": severity, "device": device}
        filters |= {"type": type, "deployment": deployment, "limit": limit}
        params = {k: v for k, v in filters.items() if v is not None}
        result: list[dict[str, Any]] = self._call("GET", "/api/alarms", params=params)
        return result

    def alarm(self, alarm_id: str) -> dict[str, Any]:
        """One alarm, with its details, comments and verdict."""
        result: dict[str, Any] = self._call("GET", f"/api/alarms/{alarm_id}")
        return result

    def ack_alarm(self, alarm_id: str) -> dict[str, Any]:
        """Acknowledge an alarm."""
        return self._alarm_action(alarm_id, "ack")

    def clear_alarm(self, alarm_id: str) -> dict[str, Any]:
        """Clear an open alarm by hand."""
        return self._alarm_action(alarm_id, "clear")

    def assign_alarm(self, alarm_id: str, assignee: str | None) -> dict[str, Any]:
        """Assign an alarm to someone (None: nobody)."""
        return self._alarm_action(alarm_id, "assign", {"assignee": assignee})

    def comment_alarm(self, alarm_id: str, text: str) -> dict[str, Any]:
        """Add a comment to an alarm."""
        return self._alarm_action(alarm_id, "comment", {"text": text})

    def label_alarm(
        self,
        alarm_id: str,
        true_alarm: bool,
        fault_type: str | None = None,
        root_cause: str | None = None,
        lesson: str | None = None,
    ) -> dict[str, Any]:
        """Judge an alarm a real fault (True) or a false alarm, with cause and lesson."""
        body = {"true_alarm": true_alarm, "fault_type": fault_type}
        body |= {"root_cause": root_cause, "lesson": lesson}
        return self._alarm_action(alarm_id, "verdict", body)

    def _alarm_action(
        self, alarm_id: str, action: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/api/alarms/{alarm_id}/{action}", json=body)
        return result

    def alarm_stats(self) -> list[dict[str, Any]]:
        """Per deployment: alarms raised, active, confirmed, rejected, and precision."""
        result: list[dict[str, Any]] = self._call("GET", "/api/alarms/stats")
        return result

    # the device API

    def post_telemetry(self, token: str, payload: Any) -> None:
        """Send telemetry as the device that owns ``token`` (ThingsBoard JSON)."""
        self._call("POST", f"/api/v1/{token}/telemetry", json=payload)

    def post_attributes(self, token: str, attributes: dict[str, Any]) -> None:
        """Send client attributes as the device that owns ``token``."""
        self._call("POST", f"/api/v1/{token}/attributes", json=attributes)


_TAIL_PAGE = 1000  # points per key and request while tailing


def _error(response: httpx.Response) -> errors.AiotError:
    try:
        body = response.json()
        message, code, detail = body["message"], body.get("code"), body.get("detail")
    except (ValueError, KeyError, TypeError):
        message, code, detail = response.text or response.reason_phrase, None, None
    kind = _BY_STATUS.get(response.status_code, errors.ServiceError)
    return kind(str(message), detail, code=code)
