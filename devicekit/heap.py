"""Give memory the C libraries freed back to the system.

glibc keeps freed heap pages for later use. A device app frees a lot once it has started (font loading, the first
frames, the voice warming up) and then allocates little, so an idle board or kiosk would hold several MiB it no
longer uses. ``trim`` asks glibc to return them (``malloc_trim``); elsewhere (musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache

TRIM_AFTER_START_SECONDS = 15.0
TRIM_EVERY_SECONDS = 600.0
"""A device app trims once it has settled, then every ten minutes (after a burst of calls or screens)."""


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        function: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # no C library by that name, or not glibc
        return None
    return function


def trim() -> bool:
    """Return the free heap to the system; False where the C library cannot (not glibc)."""
    malloc_trim = _malloc_trim()
    if malloc_trim is None:
        return False
    malloc_trim(0)
    return True


def keep_trimmed() -> None:
    """From a Kivy app's ``build``: trim once the app has settled, then every ``TRIM_EVERY_SECONDS``."""
    from kivy.clock import Clock  # noqa: PLC0415 (only the Kivy apps call this)

    Clock.schedule_once(lambda _dt: trim(), TRIM_AFTER_START_SECONDS)
    Clock.schedule_interval(lambda _dt: trim(), TRIM_EVERY_SECONDS)
