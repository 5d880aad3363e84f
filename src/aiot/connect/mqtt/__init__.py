"""aiot's MQTT endpoint for devices: MQTT 3.1.1 with ThingsBoard's device topics.

A purpose-built asyncio server: the access token is the user name, each connection is one
device, PUBLISH packets of one socket read are decoded into one columnar batch and
acknowledged (QoS 1) only once that batch is durable. See ``docs/mqtt.md``.
"""

from __future__ import annotations

from aiot.connect.mqtt.endpoint import MqttEndpoint

__all__ = ["MqttEndpoint"]
