"""WAV files: the two-tone chime before every announcement, and what tests and players measure of a file."""

from __future__ import annotations

import array
import math
import struct
import sys
import wave
from dataclasses import dataclass
from pathlib import Path

CHIME_PATH = Path(__file__).resolve().parents[2] / "assets" / "sounds" / "chime.wav"


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
