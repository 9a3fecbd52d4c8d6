"""``hall-hub admin ...``: the accounts of the web pages (hub/accounts.py, docs/web.md).

    hall-hub admin add NAME                              a district administrator (the first one starts here)
    hall-hub admin add NAME --role manager --site centre  a hall manager of one site
    hall-hub admin add NAME --role staff --site centre --window w01
    hall-hub admin list | remove NAME | passwd NAME

The password is typed, never given on the command line: at a terminal it is asked twice without echo; from a pipe
the first line of standard input is read (scripts, tests). There is no default password.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from hub.accounts import AccountError, Accounts, Role

COMMAND = "admin"


def add_account_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``admin add|list|remove|passwd`` to a parser's sub-commands."""
    admin = subparsers.add_parser(COMMAND, help="accounts of the web pages: administrators, managers, staff")
    actions = admin.add_subparsers(dest="admin_command", required=True)
    add = actions.add_parser("add", help="add an account (the password is typed, never an argument)")
    add.add_argument("username")
    add.add_argument("--role", choices=[role.value for role in Role], default=Role.ADMIN.value)
    add.add_argument("--site", help="the site of a manager or staff account")
    add.add_argument("--window", help="the window of a staff account")
    add.add_argument("--name", default="", help="the name shown on the pages (default: the username)")
    actions.add_parser("list", help="list the accounts (never their passwords)")
    remove = actions.add_parser("remove", help="remove an account")
    remove.add_argument("username")
    passwd = actions.add_parser("passwd", help="set an account's password (ends its sessions)")
    passwd.add_argument("username")


def read_password(prompt: str = "password: ") -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("again: ") != first:
        raise AccountError("the two passwords differ")
    return first


def run_account_command(args: argparse.Namespace, accounts: Accounts) -> int:
    """Run a parsed ``admin`` command; an error is printed to stderr and gives exit status 1."""
    try:
        if args.admin_command == "add":
            account = accounts.add(
                args.username, read_password(), Role(args.role), name=args.name, site_id=args.site,
                window_id=args.window,
            )  # fmt: skip
            where = " ".join(part for part in (account.site_id, account.window_id) if part) or "every site"
            print(f"✓ {account.username}: {account.role} ({where}); sign in at /admin/sign-in")
        elif args.admin_command == "list":
            for account in accounts.all():
                print(
                    f"{account.username:<20} {account.role:<8} {account.site_id or '*':<16} {account.window_id or ''}"
                )
        elif args.admin_command == "remove":
            accounts.remove(args.username)
            print(f"✓ {args.username} removed")
        else:
            accounts.set_password(args.username, read_password())
            print(f"✓ {args.username}: password changed; its sessions have ended")
    except AccountError as error:
        print(f"✗ {error}", file=sys.stderr)
        return 1
    return 0
