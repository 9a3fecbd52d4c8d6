"""Elder mode's read-aloud: the current screen's sentences through the hall's own voice engine.

The words come from ``KioskModel.spoken()``; synthesis is the hall's ``devicekit.voice.Synthesizer`` (pyttsx3 over
espeak-ng, cached WAV files) and playback a ``devicekit.voice`` player (``KivyPlayer`` on the kiosk). Mandarin
goes to espeak-ng's ``sit/cmn-latn-pinyin`` voice as Chinese characters: that voice reads hanzi through its own
dictionary (``espeak-ng -v sit/cmn-latn-pinyin -q --ipa 请准备以下材料`` gives Mandarin initials and tones), so the
kiosk's free text (matter and site names, the hub's refusals) needs no pinyin table of its own.

One worker thread reads one screen at a time. A screen that changes while another is being read replaces what is
still waiting: only the newest screen is read, never a backlog of screens the citizen has already left.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from devicekit.voice import ENGLISH_VOICE, MANDARIN_VOICE, Player, SpeechSource
from kiosk.model import Spoken

log = logging.getLogger(__name__)

VOICES = {"zh": MANDARIN_VOICE, "en": ENGLISH_VOICE}


@dataclass(frozen=True)
class ReaderSettings:
    rate: int = 140
    """Words per minute: slower than the boards' 150, for older listeners."""
    speech_volume: float = 1.0
    volume: float = 1.0


class ScreenReader:
    """``say(spoken)`` returns at once; the worker synthesises (cached) and plays the newest screen."""

    def __init__(self, speech: SpeechSource, player: Player, settings: ReaderSettings | None = None) -> None:
        self.speech = speech
        self.player = player
        self.settings = settings or ReaderSettings()
        self.failures = 0
        self.read: list[Spoken] = []
        """Every screen read to the end (tests, diagnostics)."""
        self._next: Spoken | None = None
        self._busy = False
        self._cancelled = False
        self._stopping = False
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the worker; it warms the engine up first (off the UI thread: pyttsx3 takes a moment to start)."""
        self._thread = threading.Thread(target=self._work, name="kiosk-reader", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._wake:
            self._stopping = True
            self._next = None
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def say(self, spoken: Spoken) -> None:
        with self._wake:
            self._next = spoken if spoken.everything else None
            self._wake.notify()

    def cancel(self) -> None:
        """Stop reading after the sentence being played (elder mode was switched off)."""
        with self._wake:
            self._next = None
            self._cancelled = True

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is waiting or being read."""
        with self._wake:
            return self._wake.wait_for(lambda: self._next is None and not self._busy, timeout)

    def synthesize(self, spoken: Spoken) -> list[Path]:
        """The WAV file of each sentence (cached by the synthesiser)."""
        voice = VOICES[spoken.language]
        settings = self.settings
        return [
            self.speech.synthesize(sentence, voice, settings.rate, settings.speech_volume)
            for sentence in spoken.everything
        ]

    def _work(self) -> None:
        try:
            self.speech.warm_up()
        except Exception:  # no espeak-ng: the screens are still shown, only not read
            self.failures += 1
            log.exception("the voice engine did not start")
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._next is not None or self._stopping)
                if self._stopping:
                    return
                spoken, self._next, self._busy, self._cancelled = self._next, None, True, False
            try:
                assert spoken is not None
                self._read(spoken)
            except Exception:  # a failing sentence must not silence the kiosk for good
                self.failures += 1
                log.exception("reading the screen aloud failed")
            finally:
                with self._wake:
                    self._busy = False
                    self._wake.notify_all()

    def _read(self, spoken: Spoken) -> None:
        for path in self.synthesize(spoken):
            with self._wake:
                if self._next is not None or self._stopping or self._cancelled:
                    return  # the screen changed (read the new one instead) or elder mode ended
            self.player.play(path, self.settings.volume)
        self.read.append(spoken)
