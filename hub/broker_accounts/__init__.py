"""Device accounts on an external broker, kept in step with the device registry (docs/broker.md, "Accounts on an
external broker").

The managed Mosquitto reads its accounts from the registry (``hub.broker``). An external broker cannot: a device's
password exists in clear only while it is provisioned or rotated, and the registry keeps only hashes of it that no
other broker reads (Mosquitto's ``$7$`` and argon2). So the broker's account is made in the same step, by a
``BrokerAccounts`` hook: ``NatsAccounts`` (an include file of MQTT users with bcrypt hashes, then a reload) or
``RabbitMqAccounts`` (users and topic permissions through the management HTTP API).

``BrokeredRegistry`` is the registry with the hook in its steps. The rule when the broker refuses or does not answer:

- provision: the new device is revoked again in the hub (its id is burnt) and the error says so: nothing to undo;
- rotate: the old password hashes are put back: the old password keeps working on the hub and on the broker;
- revoke: the revocation stands in the hub (it refuses the device's requests at once), and the error says that the
  broker may still admit it: revoking again, or ``hall-hub device sync``, finishes the job once the broker answers.

So a device never has a hub account without a broker account unless the error said so. ``sync`` rewrites every
account's rules from the registry and removes the accounts of revoked or unknown devices; it cannot make an account
that is missing (the registry's hashes are of no use to NATS or RabbitMQ): it lists those devices, and ``rotate``
gives each a new password and with it a broker account.
"""

from __future__ import annotations

from contract import DeviceKind
from hub.broker_accounts.base import BrokerAccounts, BrokerAccountsError, SyncReport
from hub.broker_accounts.nats import NatsAccounts
from hub.broker_accounts.rabbitmq import RabbitMqAccounts
from hub.config import ConfigError, HubConfig
from hub.devices import Credentials, Device, DeviceRegistry


class BrokeredRegistry(DeviceRegistry):
    """A ``DeviceRegistry`` whose provision, rotate and revoke also keep the device's broker account (the rule when
    the broker fails is in this module's docstring). It shares the rows, district and clock of ``registry``."""

    def __init__(self, registry: DeviceRegistry, accounts: BrokerAccounts) -> None:
        super().__init__(registry.district, registry.rows, registry.clock)
        self.accounts = accounts

    def provision(
        self, site_id: str, kind: DeviceKind | str, device_id: str | None = None, window_id: str | None = None
    ) -> Credentials:
        credentials = super().provision(site_id, kind, device_id, window_id)
        device = self.get(credentials.device_id)
        assert device is not None
        try:
            self.accounts.add(device, credentials.password)
        except BrokerAccountsError as error:
            super().revoke(device.device_id)
            raise BrokerAccountsError(
                f"{error}; the device was not added ({device.device_id} is revoked in the hub again): "
                "add it again once the broker answers"
            ) from error
        return credentials

    def rotate(self, device_id: str) -> tuple[Device, Credentials]:
        before = self.get(device_id)
        rotated, credentials = super().rotate(device_id)
        assert before is not None
        try:
            self.accounts.add(rotated, credentials.password)
        except BrokerAccountsError as error:
            self.rows.set_hashes(device_id, before.broker_hash, before.password_hash)
            raise BrokerAccountsError(f"{error}; the password was not changed: the old one still works") from error
        return rotated, credentials

    def revoke(self, device_id: str) -> Device:
        device = super().revoke(device_id)
        try:
            self.accounts.remove(device_id)
        except BrokerAccountsError as error:
            raise BrokerAccountsError(
                f"{error}; {device_id} is revoked in the hub, which refuses its requests, but the broker may still "
                "admit it: revoke it again (or run `hall-hub device sync`) once the broker answers"
            ) from error
        return device

    def sync(self) -> SyncReport:
        return self.accounts.sync(self.all())


def broker_accounts(config: HubConfig) -> BrokerAccounts | None:
    """The hook ``[broker] accounts`` names, or None (the managed Mosquitto reads the registry itself, or the
    operator keeps an external broker's accounts)."""
    broker = config.broker
    if not broker.accounts:
        return None
    if config.mqtt.managed:
        raise ConfigError(f"[broker] accounts = {broker.accounts!r} is for an external broker: set [mqtt] host too")
    if broker.accounts == "nats":
        return NatsAccounts.from_config(broker, config.mqtt)
    return RabbitMqAccounts.from_config(broker)


def with_broker_accounts(registry: DeviceRegistry, config: HubConfig) -> DeviceRegistry:
    """``registry`` with the configured hook in its steps, or ``registry`` itself when there is none."""
    accounts = broker_accounts(config)
    return registry if accounts is None else BrokeredRegistry(registry, accounts)


__all__ = [
    "BrokerAccounts",
    "BrokerAccountsError",
    "BrokeredRegistry",
    "NatsAccounts",
    "RabbitMqAccounts",
    "SyncReport",
    "broker_accounts",
    "with_broker_accounts",
]
