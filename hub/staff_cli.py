"""``hall-hub staff ...``: the counter staff who may sign in at a site's windows.

hall-hub staff add --site centre --id li --name 李敏 [--pin 1234]   without --pin, the PIN is read from stdin
hall-hub staff list
hall-hub staff remove ID
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hub.staff import StaffDirectory, StaffError

COMMAND = "staff"


def add_staff_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``staff add|list|remove`` to a parser's sub-commands."""
    staff = subparsers.add_parser(COMMAND, help="add, list and remove counter staff (sign-in at windows)")
    actions = staff.add_subparsers(dest="staff_command", required=True)
    add = actions.add_parser("add", help="add a member, or change a member's name and PIN")
    add.add_argument("--site", required=True, help="the member's site id, e.g. centre")
    add.add_argument("--id", dest="staff_id", required=True, help="staff id (letters, digits, _ and -)")
    add.add_argument("--name", required=True, help="the name shown on the caller")
    add.add_argument("--pin", help="4-12 digits; read from standard input when left out (keeps it out of history)")
    actions.add_parser("list", help="list the staff (never their PINs)")
    remove = actions.add_parser("remove", help="remove a member")
    remove.add_argument("staff_id", metavar="ID")


def run_staff_command(args: argparse.Namespace, directory: StaffDirectory) -> int:
    """Run a parsed ``staff`` command; an error is printed to stderr and gives exit status 1."""
    try:
        if args.staff_command == "add":
            pin = args.pin if args.pin is not None else sys.stdin.readline().strip()
            member = directory.add(args.site, args.staff_id, args.name, pin)
            print(f"✓ {member.staff_id} ({member.name}) may sign in at {member.site_id}")
        elif args.staff_command == "list":
            for member in directory.all():
                print(f"{member.staff_id:<20} {member.site_id:<16} {member.name}")
        else:
            directory.remove(args.staff_id)
            print(f"✓ {args.staff_id} removed")
    except StaffError as error:
        print(f"✗ {error}", file=sys.stderr)
        return 1
    return 0
