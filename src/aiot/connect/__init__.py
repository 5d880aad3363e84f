"""Device transports: the HTTP device API, payload codecs (and, later, MQTT and bridges)."""
