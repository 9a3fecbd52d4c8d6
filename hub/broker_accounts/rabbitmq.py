"""Device accounts on RabbitMQ's MQTT plugin (3.10), through the management HTTP API (plugin
``rabbitmq_management``).

A device is a RabbitMQ user tagged ``hall-device`` (the tag lets ``sync`` tell the hub's device users from every
other user of the broker) with:

- permissions on the MQTT plugin's virtual host for its own subscription queues only (the plugin names them
  ``mqtt-subscription-<client id>qos0|qos1``; a device connects with its device id as client id) and ``amq.topic``;
- topic permissions on ``amq.topic``: a write pattern of its ``write``/``readwrite`` topics and a read pattern of
  its ``read``/``readwrite`` topics from ``contract.device_acl``, each topic in routing-key form (``/`` → ``.``),
  escaped, inside ``^(...)$``.

RabbitMQ closes an open connection on nothing of this: removing a user, or changing its password, also closes the
user's connections through the API, so a revoked device (or whoever has the old password) is out at once.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from contextlib import suppress
from typing import Any

from hub.broker_accounts.base import BrokerAccountsError, SyncReport, device_rules
from hub.config import BrokerConfig, ConfigError
from hub.devices import Device

DEVICE_TAG = "hall-device"
EXCHANGE = "amq.topic"
"""The MQTT plugin's exchange (its ``mqtt.exchange`` default)."""
TIMEOUT_SECONDS = 10.0

log = logging.getLogger(__name__)


def _level(level: str) -> str:
    """One topic level as a regular expression over routing keys: ``+`` is any one level (the filter's own ``*``
    included, which is what a subscription's binding key has), ``#`` any levels."""
    return {"+": r"[^.]+", "#": r".*"}.get(level, re.escape(level))


def _pattern(topics: Iterable[str]) -> str:
    """A regular expression matching exactly these MQTT topics (or what their filters match) as routing keys."""
    return "^(" + "|".join(r"\.".join(_level(level) for level in topic.split("/")) for topic in topics) + ")$"


class RabbitMqAccounts:
    def __init__(self, url: str, user: str, password: str, vhost: str = "/") -> None:
        if not user or not password:
            raise ConfigError("[broker] accounts = 'rabbitmq' needs rabbitmq_user and rabbitmq_password")
        self.url, self.vhost = url.rstrip("/"), vhost
        self._authorization = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    @classmethod
    def from_config(cls, broker: BrokerConfig) -> RabbitMqAccounts:
        return cls(broker.rabbitmq_url, broker.rabbitmq_user, broker.rabbitmq_password, broker.rabbitmq_vhost)

    # --- the hook -------------------------------------------------------------------------------------------------

    def add(self, device: Device, password: str) -> None:
        """A new user gets its permissions after it exists (and is deleted again if they fail); an existing one
        (rotation) gets them first, so that a failure leaves its old password working. Then its open connections
        are closed: whoever used the old password is out."""
        user = f"/api/users/{self._quote(device.device_id)}"
        existed = self._call("GET", user, missing_ok=True) is not None
        if existed:
            self._permit(device)
        self._call("PUT", user, {"password": password, "tags": DEVICE_TAG})
        if not existed:
            try:
                self._permit(device)
            except BrokerAccountsError:
                with suppress(BrokerAccountsError):  # the broker stopped answering; it has a user without rights
                    self._call("DELETE", user, missing_ok=True)
                raise
            return
        try:
            self._close_connections(device.device_id)
        except BrokerAccountsError as error:  # the new password is in force: only the old sessions stay a while
            log.warning("could not close the connections of %s after its new password: %s", device.device_id, error)

    def remove(self, device_id: str) -> None:
        self._call("DELETE", f"/api/users/{self._quote(device_id)}", missing_ok=True)
        self._close_connections(device_id)

    def sync(self, devices: Iterable[Device]) -> SyncReport:
        active = {device.device_id: device for device in devices if not device.revoked}
        users = self.users()
        kept = tuple(sorted(users & set(active)))
        removed = tuple(sorted(users - set(active)))
        for name in kept:
            self._permit(active[name])
        for name in removed:
            self.remove(name)
        return SyncReport(kept=kept, removed=removed, missing=tuple(sorted(set(active) - users)))

    def users(self) -> set[str]:
        """The device users the broker has (for checks and tests)."""
        return {user["name"] for user in self._call("GET", "/api/users") or [] if DEVICE_TAG in _tags(user)}

    # --- the API --------------------------------------------------------------------------------------------------

    def _permit(self, device: Device) -> None:
        name, vhost = self._quote(device.device_id), self._quote(self.vhost)
        queues = re.escape(f"mqtt-subscription-{device.device_id}")
        resources = f"^({re.escape(EXCHANGE)}|{queues}.*)$"
        self._call("PUT", f"/api/permissions/{vhost}/{name}", {"configure": f"^{queues}", "write": resources,
                                                               "read": resources})  # fmt: skip
        publish, read = device_rules(device)
        topics = {"exchange": EXCHANGE, "write": _pattern(publish), "read": _pattern(read)}
        self._call("PUT", f"/api/topic-permissions/{vhost}/{name}", topics)

    def _close_connections(self, user: str) -> None:
        path = f"/api/connections/username/{self._quote(user)}"
        self._call("DELETE", path, missing_ok=True, headers={"X-Reason": "account changed by the hub"})

    @staticmethod
    def _quote(part: str) -> str:
        return urllib.parse.quote(part, safe="")

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        missing_ok: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """One API call; its JSON answer (None for an empty one). A refusal or no answer is a
        ``BrokerAccountsError`` naming the call (never a password)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Authorization", self._authorization)
        request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        shown = f"{method} {path.split('?', maxsplit=1)[0]}"
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                answer = response.read()
        except urllib.error.HTTPError as error:
            if missing_ok and error.code == 404:
                return None
            said = error.read().decode(errors="replace")[:300]
            raise BrokerAccountsError(f"RabbitMQ refused {shown}: {error.code} {said}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise BrokerAccountsError(f"RabbitMQ's management API at {self.url} does not answer: {reason}") from None
        return json.loads(answer) if answer.strip() else None


def _tags(user: dict[str, Any]) -> list[str]:
    """A user's tags: a list in 3.10's answers, a comma-separated string in older ones."""
    tags = user.get("tags") or []
    return tags.split(",") if isinstance(tags, str) else list(tags)
