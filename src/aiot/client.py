"""A small Python client (SDK) for aiot's REST and device APIs, over httpx.

>>> client = Client("http://127.0.0.1:8080", api_key="aiot_...")  # doctest: +SKIP
>>> pump = client.create_device("pump-1", type="pump")  # doctest: +SKIP
>>> client.post_telemetry(pump["access_token"], {"temp": 21.5})  # doctest: +SKIP
>>> client.telemetry(pump["id"], keys=["temp"], interval="1h")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import httpx

from aiot import errors

__all__ = ["Client"]

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
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as err:
            raise errors.ServiceError(f"cannot reach aiot at {self.url}: {err}") from err
        if response.status_code >= 400:
            raise _error(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # tenants and keys

    def tenants(self) -> list[dict[str, Any]]:
        """Every tenant (admin key)."""
        result: list[dict[str, Any]] = self._call("GET", "/api/tenants")
        return result

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

    # devices

    def create_device(
        self, name: str, type: str = "default", labels: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Create a device; the answer holds ``id`` and ``access_token``."""
        body = {"name": name, "type": type, "labels": labels or {}}
        result: dict[str, Any] = self._call("POST", "/api/devices", json=body)
        return result

    def devices(self, type: str | None = None) -> list[dict[str, Any]]:
        """The tenant's devices."""
        params = {"type": type} if type else None
        result: list[dict[str, Any]] = self._call("GET", "/api/devices", params=params)
        return result

    def device(self, device: str) -> dict[str, Any]:
        """One device by id or name."""
        result: dict[str, Any] = self._call("GET", f"/api/devices/{device}")
        return result

    def delete_device(self, device: str) -> None:
        """Delete a device and its telemetry."""
        self._call("DELETE", f"/api/devices/{device}")

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
    ) -> dict[str, list[dict[str, Any]]]:
        """Raw points or aggregates, ``{key: [{"ts": ms, "value": v}]}``."""
        params: dict[str, Any] = {"agg": agg}
        for name, value in (("start", start), ("end", end), ("interval", interval)):
            if value is not None:
                params[name] = str(value)
        if keys:
            params["keys"] = ",".join(keys)
        if limit is not None:
            params["limit"] = limit
        result: dict[str, list[dict[str, Any]]] = self._call(
            "GET", f"/api/devices/{device}/telemetry", params=params
        )
        return result

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

    # the device API

    def post_telemetry(self, token: str, payload: Any) -> None:
        """Send telemetry as the device that owns ``token`` (ThingsBoard JSON)."""
        self._call("POST", f"/api/v1/{token}/telemetry", json=payload)

    def post_attributes(self, token: str, attributes: dict[str, Any]) -> None:
        """Send client attributes as the device that owns ``token``."""
        self._call("POST", f"/api/v1/{token}/attributes", json=attributes)


def _error(response: httpx.Response) -> errors.AiotError:
    try:
        body = response.json()
        message, code, detail = body["message"], body.get("code"), body.get("detail")
    except (ValueError, KeyError, TypeError):
        message, code, detail = response.text or response.reason_phrase, None, None
    kind = _BY_STATUS.get(response.status_code, errors.ServiceError)
    return kind(str(message), detail, code=code)
