"""The announcement queue: one worker thread plays every call in order, chime then speech, never two at once.

Playback goes through a ``Player``: ``KivyPlayer`` (Kivy's SoundLoader, imported only inside it) on a board, and
``RecordingPlayer`` in tests, which stands in for the sound card by recording when each file would play.
"""

from __future__ import annotations

import logging
import queue
import threading
import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any, Protocol

from contract import CallView
from display.voice import CHIME_PATH, SpeechSource, VoiceConfig, utterances, wav_duration, write_chime

log = logging.getLogger(__name__)


class Player(Protocol):
    def play(self, path: Path, volume: float) -> None:
        """Play one WAV file and return when it has finished."""
        ...


class KivyPlayer:
    """Plays through Kivy's SoundLoader (SDL2 mixer). With ``SDL_AUDIODRIVER=dummy`` it plays in real time with no
    sound card. Waits the file's length (Kivy updates ``state`` only from its Clock, which this thread does not
    run), then stops and unloads the sound."""

    def __init__(self, margin: float = 0.05) -> None:
        self.margin = margin

    def play(self, path: Path, volume: float) -> None:
        from kivy.core.audio import SoundLoader  # noqa: PLC0415 (the adapter's only Kivy import)

        sound: Any = SoundLoader.load(str(path))
        if sound is None:
            raise RuntimeError(f"Kivy cannot load {path}")
        try:
            sound.volume = volume
            length = float(sound.length) or wav_duration(path)
            sound.play()
            _time.sleep(length + self.margin)
            sound.stop()
        finally:
            sound.unload()


@dataclass(frozen=True)
class Played:
    path: Path
    volume: float
    start: float
    end: float


class RecordingPlayer:
    """A stand-in for the sound card: "plays" a file by sleeping its WAV duration times ``time_scale`` and records
    (path, start, end). ``overlaps`` counts a play that began while another was still playing."""

    def __init__(self, time_scale: float = 0.001) -> None:
        self.time_scale = time_scale
        self.played: list[Played] = []
        self.overlaps = 0
        self._active = 0
        self._lock = threading.Lock()

    def play(self, path: Path, volume: float) -> None:
        with self._lock:
            self._active += 1
            if self._active > 1:
                self.overlaps += 1
        start = _time.perf_counter()
        _time.sleep(wav_duration(path) * self.time_scale)
        end = _time.perf_counter()
        with self._lock:
            self._active -= 1
            self.played.append(Played(path, volume, start, end))


def _local_time() -> time:
    return datetime.now().time()


class Announcer:
    """``announce(call)`` enqueues and returns at once; the worker synthesises (cached) and plays the chime, then
    the sentences of every configured language ``repeat`` times. Recalls are announced like any call; nothing is
    merged or dropped, so a burst is announced in arrival order. Quiet hours are judged when a call is played."""

    def __init__(
        self,
        config: VoiceConfig,
        speech: SpeechSource,
        player: Player,
        *,
        chime: Path = CHIME_PATH,
        clock: Callable[[], time] = _local_time,
    ) -> None:
        self.config = config
        self.speech = speech
        self.player = player
        self.chime = chime
        self.clock = clock
        self.failures = 0
        self._queue: queue.Queue[CallView | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Make sure the chime exists, warm the engine up and start the worker."""
        if not self.chime.exists():
            write_chime(self.chime)
        self.speech.warm_up()
        self._thread = threading.Thread(target=self._work, name="announcer", daemon=True)
        self._thread.start()

    def announce(self, call: CallView) -> None:
        self._queue.put(call)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once everything announced so far has been played (tests, shutdown)."""
        deadline = None if timeout is None else _time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if deadline is not None and _time.monotonic() > deadline:
                return False
            _time.sleep(0.005)
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Finish what is queued, then end the worker."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def _work(self) -> None:
        while True:
            call = self._queue.get()
            try:
                if call is None:
                    return
                self._play(call)
            except Exception:  # one bad call must not silence the hall
                self.failures += 1
                log.exception("announcing %s at window %s failed", call.number if call else "", call and call.window_id)
            finally:
                self._queue.task_done()

    def _play(self, call: CallView) -> None:
        config = self.config
        if config.in_quiet_hours(self.clock()):
            if config.quiet_mode == "chime":
                self.player.play(self.chime, config.quiet_volume)
            return
        sentences = [
            self.speech.synthesize(u.text, u.voice, u.rate, config.speech_volume)
            for u in utterances(call.number, call.window_number, call.kind, config)
        ]
        self.player.play(self.chime, config.volume)
        for _ in range(config.repeat):
            for path in sentences:
                self.player.play(path, config.volume)
