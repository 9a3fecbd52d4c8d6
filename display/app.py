"""Start a hall display board: ``hall-board [--config board.toml] [--portrait] [--windowed] [--no-voice]`` (keys and
``BOARD_<KEY>`` overrides in display/config.py and docs/board.md; ``BOARD_CONFIG`` names the TOML file too).

The one place a board is wired: the link to the hub (``DeviceLink``, kind board, following the site), the model
with its zone, the announcer (espeak-ng through the on-disk cache, played by Kivy's audio), the feed that joins
them, and the Kivy app. Importing this module imports no Kivy: ``main`` first sets what Kivy reads when it is
imported (``prepare_kivy``), then loads the app.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import msgspec

import contract as wire
from devicekit.link import link_for
from devicekit.voice import Announcer, KivyPlayer, Player, Synthesizer
from display.board_model import BoardModel
from display.config import BoardConfig, ConfigError, load_config
from display.feed import BoardFeed

log = logging.getLogger(__name__)


def build_feed(config: BoardConfig, player: Player | None = None) -> BoardFeed:
    """A board's link, model and (when ``voice``) announcer, joined; nothing started yet."""
    link = link_for(config, wire.DeviceKind.BOARD)
    model = BoardModel(
        config.site,
        highlight_seconds=config.highlight_seconds,
        recent=config.recent,
        zone=config.zone(),
        clock_seconds=config.clock_seconds,
    )
    announcer = None
    if config.voice:
        speech = Synthesizer(Path(config.voice_cache), max_files=config.voice_cache_files)
        if player is None:  # the hall can see a board that cannot be heard: {"audio": "no_device"} in its status
            player = KivyPlayer(on_status=lambda status: link.report(audio=status))
        announcer = Announcer(config.voice_config(), speech, player)
    return BoardFeed(link, model, announcer, catch_up=config.voice_missed_calls, settings=config)


def parse(argv: list[str] | None = None) -> BoardConfig:
    parser = argparse.ArgumentParser(prog="hall-board", description="The hall display board (综合屏) with voice.")
    parser.add_argument("--config", type=Path, help="a board TOML file (default: $BOARD_CONFIG, else defaults)")
    parser.add_argument("--portrait", action="store_true", help="a screen taller than wide (1080×1920)")
    parser.add_argument("--windowed", action="store_true", help="not fullscreen")
    parser.add_argument("--no-voice", action="store_true", help="show calls without announcing them")
    args = parser.parse_args(argv)
    path = args.config or (Path(os.environ["BOARD_CONFIG"]) if os.environ.get("BOARD_CONFIG") else None)
    try:
        config = load_config(path)
    except (ConfigError, OSError) as error:
        parser.exit(2, f"hall-board: {error}\n")
    if args.portrait and not config.portrait:
        config = msgspec.structs.replace(config, width=config.height, height=config.width)
    if args.windowed:
        config = msgspec.structs.replace(config, fullscreen=False)
    if args.no_voice:
        config = msgspec.structs.replace(config, voice=False)
    return config


def prepare_kivy(config: BoardConfig) -> None:
    """What Kivy reads when it is first imported, then the window: call before anything imports Kivy.

    The command line is ours; Kivy's log messages go through Python's logging like everyone else's; the
    ``interrupt`` clock wakes the Kivy loop as soon as the network thread schedules a redraw (so a call is drawn at
    once, not at the next of ``max_fps`` ticks, and an idle board sleeps between them)."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_CLOCK", "interrupt")
    from kivy.config import Config  # noqa: PLC0415 (after the environment is set)

    from devicekit.window import configure_window  # noqa: PLC0415

    configure_window(config)
    Config.set("graphics", "maxfps", str(config.max_fps))  # read when kivy.clock is imported


def main(argv: list[str] | None = None) -> None:
    config = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    prepare_kivy(config)
    from display.board_app import BoardApp  # noqa: PLC0415 (Kivy, once prepared)

    where = config.zone_name or ",".join(config.zone_windows)
    log.info(
        "board %s of %s at %s:%s%s%s",
        config.device_id,
        config.site,
        config.host,
        config.port,
        f", zone {where}" if where else "",
        "" if config.voice else ", no voice",
    )
    BoardApp(config, build_feed(config)).run()


if __name__ == "__main__":
    main()
