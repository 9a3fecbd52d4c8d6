"""A window LED strip played on a pty: it says what the host tells it to show, decoded by its profile's text format
(``[text]``), or the frame's parts for a profile without one. ``display.led_strip.LedStrip`` is the host."""

from __future__ import annotations

from devicekit.frames import Decoded
from devicekit.serial_profile import SerialProfile
from devicekit.serial_try.pty import DevicePeer, describe


class LedPeer(DevicePeer):
    kind = "LED strip"
    help = "(nothing to type: the strip says what the host shows on it)"

    def __init__(self, profile: SerialProfile, *, address: int = 1) -> None:
        super().__init__(profile)
        self.address = address
        self.texts: list[str] = []
        """Every text shown, in order."""

    def shown(self) -> list[str]:
        """Every text shown so far, after reading what the host sent."""
        self.read()
        return self.texts

    def handle(self, frame: Decoded) -> None:
        text_format = self.profile.text
        if text_format is None or frame.function != int(text_format.function, 16):
            self.say(f"← frame: {describe(frame)}")
            return
        text = text_format.text(frame.data, self.profile.text_encoding)
        if frame.address != self.address:
            self.say(f"← for strip {frame.address}, not this one ({self.address}): 「{text}」")
            return
        self.texts.append(text)
        self.say(f"← shows 「{text}」")

    def setup(self, path: str) -> list[str]:
        if self.profile.text is None:
            return [
                f"{self.profile.id} has no text format ([text]) yet: hall-window-screen cannot drive it; the frames",
                "a host sends are shown in parts.",
            ]
        return [
            "give hall-window-screen this strip (docs/serial.md):",
            f"    SCREEN_SERIAL_PORT={path} SCREEN_PROFILE={self.profile.id} SCREEN_ADDRESS={self.address}",
            "    # with SCREEN_DEVICE_ID and SCREEN_PASSWORD from: hall-hub device add --site centre --kind"
            " window_screen --window w01",
        ]
