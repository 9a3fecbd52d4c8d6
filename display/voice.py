"""The hall's voice: what a call says (per language, from a site's templates), how it becomes a WAV file (pyttsx3
over espeak-ng, cached on disk) and the two-tone chime before it.

Only this module imports pyttsx3, and only inside ``Synthesizer``: importing ``display.voice`` does no I/O.

Mandarin goes to espeak-ng's ``sit/cmn-latn-pinyin`` voice as pinyin with tone digits, built here from a small
table (the template words and the numerals). Debian 12's ``sit/cmn`` reads tone digits as English words ("qing3"
becomes "king three"), so it is never used. See docs/voice.md.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import io
import math
import os
import struct
import sys
import threading
import wave
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Literal, Protocol

from engine.events import CallKind

MANDARIN_VOICE = "sit/cmn-latn-pinyin"
ENGLISH_VOICE = "gmw/en-us"

DEFAULT_TEMPLATES: Mapping[str, str] = {
    "zh": "请{number}号到{window}号窗口办理",
    "en": "Number {number}, please go to window {window}",
}
"""Per language, and optionally per call kind as ``"zh:recall"`` (tried first). ``{number}`` and ``{window}`` are
filled with the spoken forms (``A 零零一``, ``三``; ``A zero zero one``, ``three``)."""

ZH_DIGITS = "零一二三四五六七八九"
EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_EN_TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen")
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")

PINYIN: Mapping[str, str] = {
    # numerals
    "零": "ling2",
    "一": "yi1",
    "二": "er4",
    "三": "san1",
    "四": "si4",
    "五": "wu3",
    "六": "liu4",
    "七": "qi1",
    "八": "ba1",
    "九": "jiu3",
    "十": "shi2",
    "百": "bai3",
    # the template words
    "请": "qing3",
    "号": "hao4",
    "到": "dao4",
    "窗": "chuang1",
    "口": "kou3",
    "办": "ban4",
    "理": "li3",
    "再": "zai4",
    "次": "ci4",
    "呼": "hu1",
    "叫": "jiao4",
    "前": "qian2",
    "往": "wang3",
    "您": "nin2",
    "的": "de5",
    "业": "ye4",
    "务": "wu4",
}
"""Hanzi to pinyin with tone digits, for the characters the default templates and numbers use. A site whose
templates use other characters adds them through ``VoiceConfig.pinyin``."""

_PAUSE = "，。、,.!！?？;；:："


# --- what a call says -----------------------------------------------------------------------------------------------


def _split_number(number: str) -> tuple[str, str]:
    letters = "".join(ch for ch in number if ch.isascii() and ch.isalpha()).upper()
    digits = "".join(ch for ch in number if ch.isascii() and ch.isdigit())
    if not digits or letters + digits != number.upper():
        raise ValueError(f"ticket number {number!r} is not letters followed by digits")
    return letters, digits


def ticket_zh(number: str) -> str:
    """A ticket number as a person reads it: the letter, then each digit (``A001`` -> ``A 零零一``)."""
    letters, digits = _split_number(number)
    spoken = "".join(ZH_DIGITS[int(d)] for d in digits)
    return f"{letters} {spoken}" if letters else spoken


def ticket_en(number: str) -> str:
    """``A001`` -> ``A zero zero one``."""
    letters, digits = _split_number(number)
    return " ".join([*letters, *(EN_DIGITS[int(d)] for d in digits)])


def cardinal_zh(n: int) -> str:
    """A window number as a number (0-999): 3 -> 三, 10 -> 十, 12 -> 十二, 21 -> 二十一, 105 -> 一百零五."""
    if not 0 <= n <= 999:
        raise ValueError(f"window number {n} out of 0-999")
    if n < 10:
        return ZH_DIGITS[n]
    if n < 20:
        return "十" + (ZH_DIGITS[n - 10] if n > 10 else "")
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    out = ZH_DIGITS[hundreds] + "百" if hundreds else ""
    if tens:
        out += ZH_DIGITS[tens] + "十"
    elif hundreds and ones:
        out += "零"
    if ones:
        out += ZH_DIGITS[ones]
    return out


def cardinal_en(n: int) -> str:
    """3 -> three, 12 -> twelve, 21 -> twenty-one, 105 -> one hundred five (0-999)."""
    if not 0 <= n <= 999:
        raise ValueError(f"window number {n} out of 0-999")
    hundreds, rest = divmod(n, 100)
    words = [f"{EN_DIGITS[hundreds]} hundred"] if hundreds else []
    if rest or not hundreds:
        if rest < 10:
            words.append(EN_DIGITS[rest])
        elif rest < 19:
            words.append(_EN_TEENS[rest - 10])
        else:
            tens, ones = divmod(rest, 10)
            words.append(_EN_TENS[tens] + (f"-{EN_DIGITS[ones]}" if ones else ""))
    return " ".join(words)


def to_pinyin(text: str, extra: Mapping[str, str] | None = None) -> str:
    """Chinese text to space-separated pinyin with tone digits; Latin letters (a ticket's letter) pass through,
    punctuation becomes a comma (a pause). Raises ValueError naming a character the table does not know."""
    table = {**PINYIN, **(extra or {})}
    tokens: list[str] = []
    latin = ""
    for ch in text:
        if ch.isascii() and ch.isalnum():
            latin += ch
            continue
        if latin:
            tokens.append(latin)
            latin = ""
        if ch.isspace():
            continue
        if ch in _PAUSE:
            tokens.append(",")
        elif ch in table:
            tokens.append(table[ch])
        else:
            raise ValueError(f"no pinyin for {ch!r} in {text!r}: add it to the site's voice pinyin table")
    if latin:
        tokens.append(latin)
    return " ".join(tokens).replace(" ,", ",")


@dataclass(frozen=True, kw_only=True)
class VoiceConfig:
    """A site's voice settings (defaults suit a typical hall)."""

    templates: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
    languages: tuple[str, ...] = ("zh", "en")
    """Spoken in this order; ("zh",) for Mandarin only."""
    voices: Mapping[str, str] = field(default_factory=lambda: {"zh": MANDARIN_VOICE, "en": ENGLISH_VOICE})
    rates: Mapping[str, int] = field(default_factory=lambda: {"zh": 150, "en": 150})
    """Words per minute (espeak's default 200 is hurried for a hall)."""
    speech_volume: float = 1.0
    """Synthesis amplitude 0-1 (part of the cache key)."""
    volume: float = 1.0
    """Playback volume 0-1 of chime and speech."""
    repeat: int = 2
    """How many times the sentences are spoken after the chime."""
    chime: bool = True
    """The two-tone chime before every announcement (and, in quiet hours with ``quiet_mode="chime"``, instead of
    it). Off: no chime ever, so quiet hours are silent."""
    quiet_hours: tuple[time, time] | None = None
    """[start, end) local time; may wrap midnight (22:00-07:00)."""
    quiet_mode: Literal["chime", "silent"] = "chime"
    """In quiet hours: the chime only, or nothing at all."""
    quiet_volume: float = 0.3
    """Playback volume of the chime in quiet hours."""
    pinyin: Mapping[str, str] = field(default_factory=dict)
    """Extra hanzi -> pinyin for a site's own templates."""

    def __post_init__(self) -> None:
        for lang in self.languages:
            if lang not in ("zh", "en"):
                raise ValueError(f"voice: language {lang!r} is not zh or en")
            if lang not in self.templates:
                raise ValueError(f"voice: no template for language {lang!r}")
            if lang not in self.voices:
                raise ValueError(f"voice: no voice for language {lang!r}")
        if not 1 <= self.repeat <= 5:
            raise ValueError("voice: repeat must be within 1-5")
        for name in ("speech_volume", "volume", "quiet_volume"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"voice: {name} must be within 0-1")
        if "zh" in self.languages:  # a template with an unknown character fails here, not at the first call
            for key, template in self.templates.items():
                if key.split(":")[0] == "zh":
                    to_pinyin(template.format(number="A1", window=""), self.pinyin)

    def in_quiet_hours(self, now: time) -> bool:
        if self.quiet_hours is None:
            return False
        start, end = self.quiet_hours
        return start <= now < end if start <= end else now >= start or now < end


@dataclass(frozen=True)
class Utterance:
    """One sentence to synthesise: ``shown`` is the human form (for logs), ``text`` what the engine reads."""

    language: str
    shown: str
    text: str
    voice: str
    rate: int


def utterance(number: str, window_number: int, kind: CallKind, language: str, config: VoiceConfig) -> Utterance:
    template = config.templates.get(f"{language}:{kind.value}") or config.templates[language]
    if language == "zh":
        shown = template.format(number=ticket_zh(number), window=cardinal_zh(window_number))
        text = to_pinyin(shown, config.pinyin)
    else:
        shown = text = template.format(number=ticket_en(number), window=cardinal_en(window_number))
    return Utterance(language, shown, text, config.voices[language], config.rates.get(language, 150))


def utterances(number: str, window_number: int, kind: CallKind, config: VoiceConfig) -> list[Utterance]:
    """The sentences of one call, Mandarin first, in ``config.languages`` order (not yet repeated)."""
    return [utterance(number, window_number, kind, lang, config) for lang in config.languages]


# --- synthesis ------------------------------------------------------------------------------------------------------


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


# --- WAV files: the chime and measurements --------------------------------------------------------------------------

CHIME_PATH = Path(__file__).resolve().parent.parent / "assets" / "sounds" / "chime.wav"


def write_chime(path: Path = CHIME_PATH, rate: int = 22050) -> Path:
    """A soft two-tone "ding-dong" (E5 then C5, bell-like decay with a quiet octave partial), ~1.2 s, 16-bit mono.
    Pure stdlib; the same bytes every time."""
    samples = array.array("h")
    for start, freq, length in ((0.0, 659.25, 0.6), (0.45, 523.25, 0.75)):
        first = int(start * rate)
        count = int(length * rate)
        if len(samples) < first + count:
            samples.extend([0] * (first + count - len(samples)))
        for i in range(count):
            t = i / rate
            attack = min(1.0, t / 0.008)
            envelope = attack * math.exp(-t * 5.0)
            value = math.sin(2 * math.pi * freq * t) + 0.25 * math.sin(4 * math.pi * freq * t) * math.exp(-t * 4)
            mixed = samples[first + i] + int(9000 * envelope * value)
            samples[first + i] = max(-32767, min(32767, mixed))
    fade = int(0.02 * rate)  # no click at the end
    for i in range(fade):
        samples[-1 - i] = int(samples[-1 - i] * i / fade)
    if sys.byteorder == "big":
        samples.byteswap()
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


@dataclass(frozen=True)
class WavInfo:
    rate: int
    channels: int
    duration: float
    rms: float
    """Root mean square of the samples, relative to full scale (0-1)."""
    peak: float
    """Largest absolute sample, relative to full scale (1.0 means clipping)."""


def wav_info(path: Path) -> WavInfo:
    """Rate, channels, duration and loudness of a 16-bit PCM WAV file (no audioop)."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * wav.getsampwidth()}-bit audio; expected 16-bit")
        rate, channels, frames = wav.getframerate(), wav.getnchannels(), wav.getnframes()
        data = wav.readframes(frames)
    samples = struct.unpack(f"<{len(data) // 2}h", data)
    rms = math.sqrt(sum(s * s for s in samples) / len(samples)) / 32768 if samples else 0.0
    peak = max((abs(s) for s in samples), default=0) / 32768
    return WavInfo(rate, channels, frames / rate if rate else 0.0, rms, peak)


def wav_duration(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()
