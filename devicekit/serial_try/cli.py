"""``hall-serial-try``: a serial hall device of any shipped profile on a pty, to try a keypad bus, a window screen
or a kiosk's ID card reader without the hardware (docs/serial.md).

    hall-serial-try keypad [--profile ff68] [--address 1] [--evaluator 31]
    hall-serial-try evaluator [--profile ff68] [--address 31]
    hall-serial-try led [--profile slzc] [--address 1]
    hall-serial-try id-reader [--profile gat467]

It prints the device's path and the configuration that gives it to its host, then takes commands, typed or piped
(``--script FILE`` first, then stdin): the device's own (``help`` lists them), ``wait SECONDS`` (the device keeps
answering meanwhile), ``until TEXT`` (wait until the device says something holding TEXT, after the last command;
the exit status is 1 when it never came) and ``quit``. Ctrl-C or the end of the input ends it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NoReturn

from devicekit.profile_files import ProfileError
from devicekit.serial_profile import serial_profile
from devicekit.serial_try.bus import BusPeer
from devicekit.serial_try.id_reader import IdReaderPeer
from devicekit.serial_try.led import LedPeer
from devicekit.serial_try.pty import DevicePeer, UsageError

KINDS = {"keypad": ("keypads", "ff68"), "evaluator": ("evaluators", "ff68"), "led": ("led_strips", "slzc"),
         "id-reader": ("id_readers", "gat467")}  # fmt: skip
"""Sub-command -> (the folder of its profiles in firmware_profiles/, the default profile)."""
COMMON = "wait SECONDS, until TEXT, help, quit (or Ctrl-D, Ctrl-C)"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="hall-serial-try", description="A serial hall device played on a pty.")
    kinds = top.add_subparsers(dest="kind", required=True, metavar="{keypad,evaluator,led,id-reader}")
    for kind, (folder, default) in KINDS.items():
        sub = kinds.add_parser(kind, help=f"a device of firmware_profiles/{folder}/")
        sub.add_argument("--profile", default=default, help=f"firmware_profiles/{folder}/<profile>.toml ({default})")
        sub.add_argument("--script", type=Path, help="commands to run first, one a line (then stdin's)")
        sub.add_argument("--link", type=Path, help="also give the device this path (a symlink to the pty)")
        sub.add_argument("--timeout", type=float, default=10.0, help="how long `until` waits, seconds (10)")
        if kind != "id-reader":
            sub.add_argument("--address", type=int, default=31 if kind == "evaluator" else 1, help="its bus address")
    kinds.choices["keypad"].add_argument("--evaluator", type=int, help="an evaluator at this address on the line")
    kinds.choices["keypad"].add_argument("--evaluator-profile", default="ff68", help="the evaluator's profile")
    kinds.choices["keypad"].add_argument("--echo", action="store_true", help="a line echoing what the host sends")
    return top


def peer_for(args: argparse.Namespace) -> DevicePeer:
    """The device the arguments ask for; raises ProfileError for a profile that is not shipped."""
    profile = serial_profile(KINDS[args.kind][0], args.profile)
    if args.kind == "keypad":
        evaluator = serial_profile("evaluators", args.evaluator_profile) if args.evaluator is not None else None
        peer: DevicePeer = BusPeer(profile, keypad=args.address, evaluator=args.evaluator, evaluator_profile=evaluator)
        peer.echo = args.echo
        return peer
    if args.kind == "evaluator":
        return BusPeer(profile, keypad=None, evaluator=args.address)
    if args.kind == "led":
        return LedPeer(profile, address=args.address)
    return IdReaderPeer(profile)


def run(peer: DevicePeer, lines: Iterable[str], *, timeout: float) -> int:
    """Carry out the commands; 1 when an ``until`` was not met, else 0."""
    failed, since = False, 0  # before any command, all the device said counts
    for line in lines:
        text = line.strip()
        words = text.split()
        if text.startswith("#") or (not words and not isinstance(peer, IdReaderPeer)):
            continue
        try:
            match words:
                case ["quit" | "exit"]:
                    break
                case ["help"]:
                    peer.say(f"{peer.help}\n{COMMON}")
                case ["wait", seconds]:
                    time.sleep(_seconds(seconds))
                case ["until", *_]:
                    wanted = text.removeprefix("until").strip()
                    if not peer.wait_for(wanted, since, timeout):
                        peer.say(f"✗ nothing said with {wanted!r} within {timeout:g} s")
                        failed = True
                case _:
                    since = len(peer.said)
                    peer.command(words)
        except UsageError as error:
            peer.say(f"? {text}: {error}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    top = parser()
    args = top.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    try:
        peer = peer_for(args)
    except ProfileError as error:
        top.exit(2, f"hall-serial-try: {error}\n")
    linked = False
    try:
        if args.link:
            linked = _link(top, args.link, peer.path)
        path = str(args.link) if linked else peer.path
        peer.on_say = lambda line: print(line, flush=True)
        peer.serve()
        print(f"{args.kind} {peer.profile.id} ({peer.profile.name}) on {path}", flush=True)
        for line in [*peer.setup(path), f"commands: {peer.help}", COMMON]:
            print(line, flush=True)
        return run(peer, _lines(args.script), timeout=args.timeout)
    except KeyboardInterrupt:
        return 0
    finally:
        peer.close()
        if linked:
            args.link.unlink(missing_ok=True)


def _lines(script: Path | None) -> Iterator[str]:
    if script is not None:
        yield from script.read_text(encoding="utf-8").splitlines()
    yield from sys.stdin


def _seconds(text: str) -> float:
    try:
        return max(0.0, float(text))
    except ValueError:
        raise UsageError("wait takes seconds: wait 0.5") from None


def _link(top: argparse.ArgumentParser, link: Path, target: str) -> bool:
    """Point ``link`` at the pty (replacing a link left by an earlier run); True once it does."""
    if link.exists() and not link.is_symlink():
        top.exit(2, f"hall-serial-try: {link} exists and is not a link\n")
    link.unlink(missing_ok=True)
    link.symlink_to(target)
    return True


def _stop(*_: object) -> NoReturn:
    raise KeyboardInterrupt
