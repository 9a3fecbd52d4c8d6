"""Files only the hub's user may read (device credentials, appointment keys): TOML written by tomli-w, replaced
atomically (a crash leaves the old file or the new one, never half of one), mode 600."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tomli_w


def write_private_toml(path: Path, data: Mapping[str, Any], comments: Sequence[str] = ()) -> None:
    """Write ``data`` as TOML to ``path``, after the ``comments`` (one line each, without the ``#``)."""
    text = "".join(f"# {line}\n" for line in comments) + tomli_w.dumps(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".new")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # also when a partial file of an earlier crash was left with other rights
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())  # on disk before it replaces the old file: a power cut keeps one or the other
    partial.replace(path)
