"""Sentences to WAV files: pyttsx3 over espeak-ng, cached on disk.

Only this module imports pyttsx3, and only inside ``Synthesizer``: importing it does no I/O.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
from pathlib import Path
from typing import Any, Protocol

from devicekit.voice.phrases import MANDARIN_VOICE


class SpeechSource(Protocol):
    def warm_up(self, voices: tuple[str, ...] = ...) -> None: ...

    def synthesize(self, text: str, voice: str, rate: int, volume: float) -> Path: ...


class Synthesizer:
    """pyttsx3 + espeak-ng to 22.05 kHz mono WAV files, cached in ``cache_dir`` under a hash of
    (text, voice, rate, volume): a repeated announcement is a file lookup. Thread-safe (one engine, one lock)."""

    def __init__(self, cache_dir: Path, max_files: int = 400) -> None:
        self.cache_dir = cache_dir
        self.max_files = max_files
        """The cache keeps at most about this many sentences (least recently used go first): a busy hall makes
        ~4,000 distinct sentences a day at ~150 KB each."""
        self._new_files = 0
        self.engine_runs = 0
        """How many times the engine synthesised (cache misses), for tests and health."""
        self.retries = 0
        """Engine runs repeated because the driver wrote no file."""
        self._engine: Any = None  # pyttsx3.Engine (untyped); touched only under the lock
        self._voices: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def cache_path(self, text: str, voice: str, rate: int, volume: float) -> Path:
        key = hashlib.sha256(f"{text}\0{voice}\0{rate}\0{volume:.3f}".encode()).hexdigest()[:32]
        return self.cache_dir / f"{key}.wav"

    def _engine_locked(self) -> Any:
        if self._engine is None:
            import pyttsx3  # type: ignore[import-untyped]  # noqa: PLC0415 (only here)

            engine = pyttsx3.init("espeak")
            self._voices = frozenset(str(v.id) for v in engine.getProperty("voices"))
            self._engine = engine
        return self._engine

    def warm_up(self, voices: tuple[str, ...] = (MANDARIN_VOICE,)) -> None:
        """Start the engine, load each voice with one short word (uncached) so that no call pays for it, and trim
        the cache left by earlier runs."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            for voice in voices:
                word = "qing3" if voice == MANDARIN_VOICE else "number"
                self._run_locked(word, voice, 150, 1.0, self.cache_dir / "warm-up.wav")
        self.prune()

    def synthesize(self, text: str, voice: str, rate: int, volume: float) -> Path:
        path = self.cache_path(text, voice, rate, volume)
        if self._hit(path):
            return path
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if not path.exists():
                self._run_locked(text, voice, rate, volume, path)
                self.engine_runs += 1
                self._new_files += 1
        if self._new_files >= max(1, self.max_files // 10):
            self.prune()
        return path

    @staticmethod
    def _hit(path: Path) -> bool:
        """A cached file, marked as used now (the pruning keeps what was used last)."""
        try:
            os.utime(path)
        except FileNotFoundError:
            return False
        return True

    def prune(self) -> int:
        """Remove the least recently used sentences beyond ``max_files``; how many went."""
        self._new_files = 0
        try:
            files = [(entry.stat().st_mtime, entry) for entry in self.cache_dir.glob("*.wav")]
        except FileNotFoundError:
            return 0
        files.sort(key=lambda item: item[0], reverse=True)
        for _, stale in files[self.max_files :]:
            stale.unlink(missing_ok=True)
        return max(0, len(files) - self.max_files)

    def _run_locked(self, text: str, voice: str, rate: int, volume: float, path: Path) -> None:
        engine = self._engine_locked()
        if voice not in self._voices:  # pyttsx3 would keep the previous voice without a word
            raise ValueError(f"espeak-ng has no voice {voice!r}")
        engine.setProperty("voice", voice)
        engine.setProperty("rate", rate)
        engine.setProperty("volume", volume)
        partial = path.with_suffix(f".{os.getpid()}.part")
        # pyttsx3 2.99's espeak driver now and then (~1 in 500, seen only when the engine moves between threads)
        # ends a run without writing the file: try again, twice at most.
        for attempt in range(3):
            with contextlib.redirect_stdout(io.StringIO()):  # the driver prints "Audio saved to ..."
                engine.save_to_file(text, str(partial))
                engine.runAndWait()
            if partial.exists() and partial.stat().st_size > 44:
                partial.replace(path)
                return
            partial.unlink(missing_ok=True)
            self.retries += attempt < 2
        raise RuntimeError(f"espeak-ng wrote no audio for {text!r} ({voice})")
