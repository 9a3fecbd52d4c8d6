"""What every broker's account hook shares: its protocol, its error, what ``sync`` reports, and the device's topic
rules in the routing-key form NATS and RabbitMQ both use."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import contract
from hub.devices import Device


class BrokerAccountsError(RuntimeError):
    """The broker refused an account change or could not be reached; the message says which, and what was kept."""


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What ``sync`` did: accounts whose rules were written again, accounts removed, devices with no account."""

    kept: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    """Devices of the registry (not revoked) without a broker account: only a new password (rotate) makes one."""


class BrokerAccounts(Protocol):
    def add(self, device: Device, password: str) -> None:
        """Create the device's account with this password and its rules, or replace the password of an existing
        one (closing its open connections where the broker needs it). All or nothing."""
        ...

    def remove(self, device_id: str) -> None:
        """Delete the device's account (none: nothing to do) and close its open connections."""
        ...

    def sync(self, devices: Iterable[Device]) -> SyncReport:
        """Make the broker's device accounts those of ``devices`` that are not revoked, as far as it can."""
        ...


def device_rules(device: Device) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(MQTT topics or filters the device may publish to, those it may read) from ``contract.device_acl``:
    write -> publish, read -> read, readwrite -> both."""
    rules = contract.device_acl(device.site_id, device.device_id, device.kind)
    publish = tuple(topic for access, topic in rules if access in ("write", "readwrite"))
    read = tuple(topic for access, topic in rules if access in ("read", "readwrite"))
    return publish, read
