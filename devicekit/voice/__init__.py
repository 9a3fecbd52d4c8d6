"""The hall's voice, shared by every device that speaks (the board's announcements, the kiosk's read-aloud).

``phrases``: what a call says, per language, from a site's templates (no I/O). ``synthesis``: sentences to cached
WAV files through pyttsx3 over espeak-ng (imported only when the first sentence is made). ``sound``: the chime and
WAV measurements. ``announcer``: the announcement queue and its players (Kivy's audio imported only when one
plays). See docs/voice.md.
"""

from devicekit.voice.announcer import Announcer, KivyPlayer, Played, Player, RecordingPlayer
from devicekit.voice.phrases import (
    DEFAULT_TEMPLATES,
    ENGLISH_VOICE,
    MANDARIN_VOICE,
    PINYIN,
    Utterance,
    VoiceConfig,
    cardinal_en,
    cardinal_zh,
    ticket_en,
    ticket_zh,
    to_pinyin,
    utterance,
    utterances,
)
from devicekit.voice.sound import CHIME_PATH, WavInfo, wav_duration, wav_info, write_chime
from devicekit.voice.synthesis import SpeechSource, Synthesizer

__all__ = [
    "CHIME_PATH",
    "DEFAULT_TEMPLATES",
    "ENGLISH_VOICE",
    "MANDARIN_VOICE",
    "PINYIN",
    "Announcer",
    "KivyPlayer",
    "Played",
    "Player",
    "RecordingPlayer",
    "SpeechSource",
    "Synthesizer",
    "Utterance",
    "VoiceConfig",
    "WavInfo",
    "cardinal_en",
    "cardinal_zh",
    "ticket_en",
    "ticket_zh",
    "to_pinyin",
    "utterance",
    "utterances",
    "wav_duration",
    "wav_info",
    "write_chime",
]
