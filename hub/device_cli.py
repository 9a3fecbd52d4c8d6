"""``hall-hub device ...``: provision, list, rotate and revoke devices.

    hall-hub device add --site centre --kind kiosk [--window w01] [--id ID]   prints the password, once
    hall-hub device list
    hall-hub device rotate ID                                                  a new password, printed once
    hall-hub device revoke ID
    hall-hub device sync                                                       the external broker's accounts again

With ``[broker] accounts`` set (an external NATS or RabbitMQ), add, rotate and revoke also make, change and delete
the device's broker account (``hub.broker_accounts``); a broker that refuses or does not answer is an error (exit
status 1) that says what was kept.

Wiring into ``hub.cli``: ``add_device_commands(commands)`` beside the other sub-commands, and for
``args.command == "device"``: ``return run_device_command(args, registry_for(store, district), config)``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from contract import DeviceKind
from hub.broker_accounts import BrokerAccountsError, BrokeredRegistry, SyncReport, with_broker_accounts
from hub.config import ConfigError, HubConfig, load_config
from hub.devices import Credentials, Device, DeviceError, DeviceRegistry

COMMAND = "device"


def add_device_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``device add|list|rotate|revoke|sync`` to a parser's sub-commands."""
    device = subparsers.add_parser(COMMAND, help="provision, list and revoke devices (kiosks, callers, boards...)")
    actions = device.add_subparsers(dest="device_command", required=True)
    add = actions.add_parser("add", help="provision a device and print its password (shown only this once)")
    add.add_argument("--site", required=True, help="site id, e.g. centre")
    add.add_argument("--kind", required=True, choices=[kind.value for kind in DeviceKind])
    add.add_argument("--window", help="window id (caller, window_screen and evaluator)")
    add.add_argument("--id", dest="device_id", help="device id (a-z, 0-9, -); made from kind and site if not given")
    actions.add_parser("list", help="list provisioned devices, revoked ones included")
    rotate = actions.add_parser("rotate", help="give a device a new password (shown only this once); the old one stops")
    rotate.add_argument("device_id", metavar="ID")
    revoke = actions.add_parser("revoke", help="revoke a device for good")
    revoke.add_argument("device_id", metavar="ID")
    actions.add_parser(
        "sync", help="write every device's account on the external broker again from the registry, remove the rest"
    )


def _line(device: Device) -> str:
    state = f"revoked {device.revoked_at:%Y-%m-%d %H:%M} UTC" if device.revoked_at else "active"
    window = device.window_id or "-"
    return f"{device.device_id:<32} {device.kind:<14} {device.site_id:<16} {window:<8} {state}"


def _shown(credentials: Credentials, registry: DeviceRegistry) -> None:
    print(f"device:   {credentials.device_id}")
    print(f"password: {credentials.password}")
    when = "now" if isinstance(registry, BrokeredRegistry) else "from its next reload"
    print(f"The password is shown only this once: set it on the device. The broker admits it {when}.")


def _report(report: SyncReport) -> int:
    print(f"kept:    {len(report.kept)} accounts (their rules written again)")
    print(f"removed: {', '.join(report.removed) or '-'}")
    for device_id in report.missing:
        print(
            f"missing: {device_id} has no broker account, and its password is nowhere to make one from: "
            f"`hall-hub device rotate {device_id}` gives it a new one (then set that on the device)",
            file=sys.stderr,
        )
    return 1 if report.missing else 0


def run_device_command(args: argparse.Namespace, registry: DeviceRegistry, config: HubConfig | None = None) -> int:
    """Run a parsed ``device`` command; an error is printed to stderr and gives exit status 1. ``config`` (by
    default loaded as ``hall-hub`` loads it: ``--config`` and ``HALL_*``) says which broker accounts to keep."""
    try:
        registry = with_broker_accounts(registry, config or load_config(getattr(args, "config", None)))
        if args.device_command == "add":
            _shown(registry.provision(args.site, args.kind, device_id=args.device_id, window_id=args.window), registry)
        elif args.device_command == "list":
            print(f"{'device':<32} {'kind':<14} {'site':<16} {'window':<8} state")
            for device in registry.all():
                print(_line(device))
        elif args.device_command == "rotate":
            _shown(registry.rotate(args.device_id)[1], registry)
        elif args.device_command == "sync":
            if not isinstance(registry, BrokeredRegistry):
                print("no [broker] accounts configured: the managed broker reads the registry itself; nothing to do")
                return 0
            return _report(registry.sync())
        else:
            device = registry.revoke(args.device_id)
            print(f"revoked {device.device_id}")
    except (DeviceError, BrokerAccountsError, ConfigError) as error:
        print(f"✗ {error}", file=sys.stderr)
        return 1
    return 0
