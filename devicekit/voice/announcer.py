"""The announcement queue: one worker thread plays every call in order, chime then speech, never two at once.

Playback goes through a ``Player``: ``KivyPlayer`` (Kivy's SoundLoader, imported only inside it) on a board, and
``RecordingPlayer`` in tests, which stands in for the sound card by recording when each file would play.
"""

from __future__ import annotations

import logging
import queue
import threading
import time as _time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any, Protocol

from contract import CallView
from devicekit.voice.phrases import VoiceConfig, utterances
from devicekit.voice.sound import CHIME_PATH, wav_duration, write_chime
from devicekit.voice.synthesis import SpeechSource
from engine.events import CallKind

log = logging.getLogger(__name__)


class Player(Protocol):
    def play(self, path: Path, volume: float) -> None:
        """Play one WAV file and return when it has finished."""
        ...


class KivyPlayer:
    """Plays through Kivy's SoundLoader (SDL2 mixer). Waits the file's length (Kivy updates ``state`` only from its
    Clock, which this thread does not run), then stops and unloads the sound.

    Fails soft: with no sound device (SDL cannot open the mixer, so the sound loads with length 0) or no audio
    provider, it logs once, then keeps the queue's pace by waiting each file's WAV duration, and tries the device
    again after ``retry_seconds`` (a speaker plugged in later). ``silent_plays`` counts the plays nobody heard;
    ``on_status("ok" | "no_device")`` hears of every change (the board reports it in its device status). With
    ``SDL_AUDIODRIVER=dummy`` it plays in real time with no sound card."""

    def __init__(
        self,
        margin: float = 0.05,
        retry_seconds: float = 300.0,
        on_status: Callable[[str], None] = lambda status: None,
    ) -> None:
        self.margin = margin
        self.retry_seconds = retry_seconds
        self.on_status = on_status
        self.silent_plays = 0
        self.status = ""
        self._silent_until = 0.0
        self._warned = False

    def _set_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            try:
                self.on_status(status)
            except Exception:  # a report must not stop the voice
                log.exception("reporting the audio status failed")

    def play(self, path: Path, volume: float) -> None:
        duration = wav_duration(path)
        if _time.monotonic() < self._silent_until:
            self._silent(duration)
            return
        sound: Any = None
        try:
            from kivy.core.audio import SoundLoader  # noqa: PLC0415 (the adapter's only Kivy import)

            sound = SoundLoader.load(str(path))
        except Exception as error:  # an audio provider that fails to import or load
            self._no_device(f"{type(error).__name__}: {error}")
        if sound is None or not float(sound.length or 0):
            if sound is not None:
                sound.unload()
            self._no_device("no audio device (the sound loaded with no length)")
            self._silent(duration)
            return
        self._set_status("ok")
        try:
            sound.volume = volume
            sound.play()
            _time.sleep(float(sound.length) + self.margin)
            sound.stop()
        finally:
            sound.unload()

    def _no_device(self, why: str) -> None:
        self._set_status("no_device")
        if not self._warned:
            log.error("announcements cannot be heard: %s; keeping their pace in silence", why)
            self._warned = True
        self._silent_until = _time.monotonic() + self.retry_seconds

    def _silent(self, duration: float) -> None:
        self.silent_plays += 1
        _time.sleep(duration)


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
    """``announce(call)`` enqueues and returns at once. One worker takes the calls in arrival order; for each it
    starts the synthesis of its sentences (cached) on a helper thread, plays the chime meanwhile, then plays the
    sentences of every configured language ``repeat`` times. Recalls are announced like any call; nothing is merged
    or dropped, so a burst is announced in arrival order. Quiet hours are judged when a call is played.

    ``prewarm(calls)`` synthesises the sentences of calls likely to come (the numbers now at the windows, which
    are recalled often) on a background thread, so that their announcement is a cache lookup."""

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
        self.announced = 0
        """Calls played to the end (or skipped by quiet hours), for health and tests."""
        self._queue: queue.Queue[CallView | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._dropping = threading.Event()
        self._synthesis = ThreadPoolExecutor(max_workers=1, thread_name_prefix="announcer-synthesis")
        self._prewarm = ThreadPoolExecutor(max_workers=1, thread_name_prefix="announcer-prewarm")

    def start(self) -> None:
        """Make sure the chime exists, warm the engine and every spoken voice up and start the worker."""
        if self.config.chime and not self.chime.exists():
            write_chime(self.chime)
        voices = tuple(dict.fromkeys(self.config.voices[lang] for lang in self.config.languages))
        self.speech.warm_up(voices)
        self._thread = threading.Thread(target=self._work, name="announcer", daemon=True)
        self._thread.start()

    def announce(self, call: CallView) -> None:
        self._queue.put(call)

    def prewarm(self, calls: Iterable[CallView]) -> Future[int]:
        """Synthesise these calls' sentences in the background (lowest priority); the future says how many."""
        wanted = [(call.number, call.window_number, call.kind) for call in calls]
        return self._prewarm.submit(self._prewarm_all, wanted)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once everything announced so far has been played (tests, shutdown)."""
        deadline = None if timeout is None else _time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if deadline is not None and _time.monotonic() > deadline:
                return False
            _time.sleep(0.005)
        return True

    def stop(self, timeout: float = 5.0, *, drain: bool = True) -> None:
        """End the worker: after what is queued (``drain``), or after the sound now playing (an app closing)."""
        if not drain:
            self._dropping.set()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None
        self._prewarm.shutdown(wait=False, cancel_futures=True)
        self._synthesis.shutdown(wait=False, cancel_futures=True)

    def _work(self) -> None:
        while True:
            call = self._queue.get()
            try:
                if call is None:
                    return
                if self._dropping.is_set():
                    continue
                self._play(call)
                self.announced += 1
            except Exception:  # one bad call must not silence the hall
                self.failures += 1
                log.exception("announcing %s at window %s failed", call.number if call else "", call and call.window_id)
            finally:
                self._queue.task_done()

    def _sentences(self, number: str, window_number: int, kind: CallKind) -> list[Path]:
        config = self.config
        return [
            self.speech.synthesize(u.text, u.voice, u.rate, config.speech_volume)
            for u in utterances(number, window_number, kind, config)
        ]

    def _prewarm_all(self, wanted: list[tuple[str, int, CallKind]]) -> int:
        done = 0
        for number, window_number, kind in wanted:
            try:
                self._sentences(number, window_number, kind)
                done += 1
            except Exception:  # a prewarm is only a head start
                log.warning("could not prewarm %s at window %s", number, window_number, exc_info=True)
        return done

    def reconfigure(self, config: VoiceConfig) -> None:
        """New settings (the site's voice policy changed), used from the next call played. The chime is made if the
        old settings had none; a voice not spoken before is warmed up in the background."""
        if config.chime and not self.chime.exists():
            write_chime(self.chime)
        spoken = {self.config.voices[lang] for lang in self.config.languages}
        new = tuple(dict.fromkeys(v for v in (config.voices[lang] for lang in config.languages) if v not in spoken))
        self.config = config
        if new and self._thread is not None:
            self._prewarm.submit(self.speech.warm_up, new)

    def _play(self, call: CallView) -> None:
        config = self.config
        if not config.enabled:
            return
        if config.in_quiet_hours(self.clock()):
            if config.quiet_mode == "chime" and config.chime:
                self.player.play(self.chime, config.quiet_volume)
            return
        sentences = self._synthesis.submit(self._sentences, call.number, call.window_number, call.kind)
        if config.chime:  # the chime sounds while the sentences are made
            self.player.play(self.chime, config.volume)
        paths = sentences.result()
        for _ in range(config.repeat):
            for path in paths:
                self.player.play(path, config.volume)
