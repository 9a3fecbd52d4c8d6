"""The Kivy window settings every device app applies before its window opens (offscreen it cannot be resized
later). Imported only by the device apps' entry points."""

from __future__ import annotations

from kivy.config import Config

from devicekit.settings import DeviceSettings


def configure_window(settings: DeviceSettings) -> None:
    """Size, fullscreen and rotation; no escape-to-quit on a public device; no multisampling: the screens are flat
    boxes and text, and a multisampled 1080p window holds ~60 MiB more (Mesa's software renderer here; the same
    buffers in a board's shared GPU memory)."""
    Config.set("graphics", "width", str(settings.width))
    Config.set("graphics", "height", str(settings.height))
    Config.set("graphics", "fullscreen", "auto" if settings.fullscreen else "0")
    Config.set("graphics", "rotation", str(settings.rotation))
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("graphics", "multisamples", "0")
