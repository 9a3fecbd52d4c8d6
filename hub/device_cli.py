"""``hall-hub device ...``: provision, list and revoke devices.

    hall-hub device add --site centre --kind kiosk [--window w01] [--id ID]   prints the password, once
    hall-hub device list
    hall-hub device revoke ID

Wiring into ``hub.cli``: ``add_device_commands(commands)`` beside the other sub-commands, and for
``args.command == "device"``: ``return run_device_command(args, registry_for(store, district))``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from contract import DeviceKind
from hub.devices import Device, DeviceError, DeviceRegistry

COMMAND = "device"


def add_device_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``device add|list|revoke`` to a parser's sub-commands."""
    device = subparsers.add_parser(COMMAND, help="provision, list and revoke devices (kiosks, callers, boards...)")
    actions = device.add_subparsers(dest="device_command", required=True)
    add = actions.add_parser("add", help="provision a device and print its password (shown only this once)")
    add.add_argument("--site", required=True, help="site id, e.g. centre")
    add.add_argument("--kind", required=True, choices=[kind.value for kind in DeviceKind])
    add.add_argument("--window", help="window id (caller, window_screen and evaluator)")
    add.add_argument("--id", dest="device_id", help="device id (a-z, 0-9, -); made from kind and site if not given")
    actions.add_parser("list", help="list provisioned devices, revoked ones included")
    revoke = actions.add_parser("revoke", help="revoke a device for good")
    revoke.add_argument("device_id", metavar="ID")


def _line(device: Device) -> str:
    state = f"revoked {device.revoked_at:%Y-%m-%d %H:%M} UTC" if device.revoked_at else "active"
    window = device.window_id or "-"
    return f"{device.device_id:<32} {device.kind:<14} {device.site_id:<16} {window:<8} {state}"


def run_device_command(args: argparse.Namespace, registry: DeviceRegistry) -> int:
    """Run a parsed ``device`` command; an error is printed to stderr and gives exit status 1."""
    try:
        if args.device_command == "add":
            credentials = registry.provision(args.site, args.kind, device_id=args.device_id, window_id=args.window)
            print(f"device:   {credentials.device_id}")
            print(f"password: {credentials.password}")
            print(
                "The password is shown only this once: set it on the device. The broker admits it from its next reload."
            )
        elif args.device_command == "list":
            print(f"{'device':<32} {'kind':<14} {'site':<16} {'window':<8} state")
            for device in registry.all():
                print(_line(device))
        else:
            device = registry.revoke(args.device_id)
            print(f"revoked {device.device_id}")
    except DeviceError as error:
        print(f"✗ {error}", file=sys.stderr)
        return 1
    return 0
