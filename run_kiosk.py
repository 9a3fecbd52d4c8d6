"""Start the kiosk: ``python run_kiosk.py [--config kiosk.toml]`` (keys and ``KIOSK_<KEY>`` overrides in
kiosk/config.py; docs/kiosk.md)."""

from __future__ import annotations

import os

os.environ.setdefault("KIVY_NO_ARGS", "1")  # the arguments are ours: Kivy must not parse them (read at import)

import argparse
import logging
from pathlib import Path

from kiosk.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The self-service kiosk of a service hall.")
    parser.add_argument("--config", type=Path, help="a kiosk TOML file (default: defaults and KIOSK_* variables)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except (ConfigError, OSError) as error:
        parser.exit(2, f"{error}\n")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from kiosk.app import build_app, configure_window  # noqa: PLC0415 (Kivy starts here, after the settings are good)

    configure_window(config)
    build_app(config).run()


if __name__ == "__main__":
    main()
