"""What a call says: per language, from a site's templates, with the spoken forms of ticket and window numbers.

Mandarin goes to espeak-ng's ``sit/cmn-latn-pinyin`` voice as pinyin with tone digits, built here from a small
table (the template words and the numerals). Debian 12's ``sit/cmn`` reads tone digits as English words ("qing3"
becomes "king three"), so it is never used. See docs/voice.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Literal

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

    enabled: bool = True
    """False: calls are not announced at all (the site's policy turned the voice off)."""
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
