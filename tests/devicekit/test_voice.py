"""The hall's voice: spoken text, real espeak-ng synthesis, the chime and the announcement queue."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import wave
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path

import pytest

from contract import CallView
from devicekit.voice import (
    CHIME_PATH,
    MANDARIN_VOICE,
    Announcer,
    RecordingPlayer,
    Synthesizer,
    VoiceConfig,
    cardinal_en,
    cardinal_zh,
    ticket_en,
    ticket_zh,
    to_pinyin,
    utterances,
    wav_info,
    write_chime,
)
from engine.events import CallKind

SAMPLE_PINYIN = "qing3 A ling2 ling2 yi1 hao4 dao4 san1 hao4 chuang1 kou3 ban4 li3"


def call(seq: int, number: str = "A001", window: int = 3, kind: CallKind = CallKind.NEXT) -> CallView:
    return CallView(
        seq=seq, number=number, window_id=f"w{window}", window_number=window, kind=kind, at=datetime.now(UTC)
    )


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesizer:
    synthesizer = Synthesizer(tmp_path_factory.mktemp("voice-cache"))
    synthesizer.warm_up()
    return synthesizer


# --- text -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "zh", "en"),
    [("A001", "A 零零一", "A zero zero one"), ("B120", "B 一二零", "B one two zero"), ("7", "七", "seven")],
)
def test_ticket_numbers_are_read_digit_by_digit(number: str, zh: str, en: str) -> None:
    assert ticket_zh(number) == zh
    assert ticket_en(number) == en


@pytest.mark.parametrize(
    ("n", "zh", "en"),
    [
        (3, "三", "three"),
        (10, "十", "ten"),
        (12, "十二", "twelve"),
        (20, "二十", "twenty"),
        (21, "二十一", "twenty-one"),
        (100, "一百", "one hundred"),
        (105, "一百零五", "one hundred five"),
        (110, "一百一十", "one hundred ten"),
    ],
)
def test_window_numbers_are_read_as_numbers(n: int, zh: str, en: str) -> None:
    assert cardinal_zh(n) == zh
    assert cardinal_en(n) == en


def test_bad_ticket_number_is_refused() -> None:
    with pytest.raises(ValueError, match="not letters followed by digits"):
        ticket_zh("A-1")


def test_the_sentences_of_a_call_mandarin_then_english() -> None:
    zh, en = utterances("A001", 3, CallKind.NEXT, VoiceConfig())
    assert zh.shown == "请A 零零一号到三号窗口办理"
    assert zh.text == SAMPLE_PINYIN
    assert zh.voice == MANDARIN_VOICE
    assert en.text == "Number A zero zero one, please go to window three"
    assert utterances("A001", 12, CallKind.NEXT, VoiceConfig())[0].text.endswith(
        "dao4 shi2 er4 hao4 chuang1 kou3 ban4 li3"
    )


def test_site_templates_per_kind_and_extra_pinyin() -> None:
    config = VoiceConfig(
        templates={"zh": "请{number}号到{window}号窗口办理", "zh:recall": "再次呼叫，请{number}号到{window}号窗口"},
        languages=("zh",),
    )
    (recall,) = utterances("C005", 21, CallKind.RECALL, config)
    assert recall.text == "zai4 ci4 hu1 jiao4, qing3 C ling2 ling2 wu3 hao4 dao4 er4 shi2 yi1 hao4 chuang1 kou3"
    with pytest.raises(ValueError, match="no pinyin for '税'"):
        VoiceConfig(templates={"zh": "请{number}号到{window}号税务窗口"}, languages=("zh",))
    config = VoiceConfig(templates={"zh": "请{number}号到{window}号税窗口"}, languages=("zh",), pinyin={"税": "shui4"})
    assert "shui4" in utterances("A1", 1, CallKind.NEXT, config)[0].text
    assert to_pinyin("请A 零零一号。") == "qing3 A ling2 ling2 yi1 hao4,"


# --- synthesis ------------------------------------------------------------------------------------------------------


def test_mandarin_synthesis_is_a_real_sentence(synth: Synthesizer) -> None:
    (zh,) = utterances("A001", 3, CallKind.NEXT, VoiceConfig(languages=("zh",)))
    path = synth.synthesize(zh.text, zh.voice, zh.rate, 1.0)
    info = wav_info(path)
    assert (info.rate, info.channels) == (22050, 1)
    assert 1.5 <= info.duration <= 8.0, info
    assert 0.02 <= info.rms <= 0.5, info  # not silent, not a wall of noise
    assert info.peak < 0.999, info  # not clipping


def test_espeak_reads_the_pinyin_as_mandarin() -> None:
    ipa = subprocess.run(
        ["espeak-ng", "-v", MANDARIN_VOICE, "-q", "--ipa", SAMPLE_PINYIN],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout
    assert "(en)" not in ipa  # no switch to English
    assert re.search(r"tɕh", ipa)  # qing: Mandarin affricate
    assert re.search(r"ts\.hw", ipa)  # chuang: retroflex affricate
    assert len(re.findall(r"[25ɜ]", ipa)) >= 10  # a tone mark on (nearly) every syllable
    for english in ("θɹ", "wʌn", "kɪŋ"):  # "three", "one", "king" as sit/cmn reads tone digits
        assert english not in ipa


def test_the_cache_answers_without_the_engine(synth: Synthesizer) -> None:
    text = "qing3 A ling2 ling2 jiu3 hao4 dao4 qi1 hao4 chuang1 kou3 ban4 li3"
    runs = synth.engine_runs
    started = time.perf_counter()
    first = synth.synthesize(text, MANDARIN_VOICE, 150, 0.8)
    first_time = time.perf_counter() - started
    started = time.perf_counter()
    again = synth.synthesize(text, MANDARIN_VOICE, 150, 0.8)
    cached_time = time.perf_counter() - started
    assert again == first
    assert synth.engine_runs == runs + 1
    assert cached_time * 10 <= first_time, (first_time, cached_time)
    assert synth.synthesize(text, MANDARIN_VOICE, 150, 0.9) != first  # volume is part of the key
    assert synth.engine_runs == runs + 2


def test_an_unknown_voice_is_an_error(synth: Synthesizer) -> None:
    with pytest.raises(ValueError, match="no voice"):
        synth.synthesize("ni3 hao3", "sit/no-such-voice", 150, 1.0)


def test_the_chime_is_regenerated_identically(tmp_path: Path) -> None:
    fresh = write_chime(tmp_path / "chime.wav")
    assert fresh.read_bytes() == CHIME_PATH.read_bytes()
    info = wav_info(fresh)
    assert (info.rate, info.channels) == (22050, 1)
    assert 0.8 <= info.duration <= 2.0
    assert info.rms >= 0.02
    assert info.peak < 0.9


# --- the queue ------------------------------------------------------------------------------------------------------


def test_a_burst_is_announced_in_order_without_overlap(synth: Synthesizer) -> None:
    player = RecordingPlayer(time_scale=0.002)
    announcer = Announcer(VoiceConfig(repeat=2), synth, player)
    announcer.start()
    calls = [
        call(i, f"A{i % 25:03d}", 1 + i % 12, CallKind.RECALL if i % 10 == 9 else CallKind.NEXT) for i in range(50)
    ]
    calls.append(call(50, "A001", 3, CallKind.RECALL))  # a recall of an earlier number is announced again
    for c in calls:
        announcer.announce(c)
    assert announcer.wait_idle(timeout=20)
    announcer.stop()

    assert announcer.failures == 0
    assert player.overlaps == 0
    assert len(player.played) == len(calls) * 5  # chime + (zh + en) x 2
    for earlier, later in zip(player.played, player.played[1:], strict=False):
        assert earlier.end <= later.start
    chimes = [i for i, p in enumerate(player.played) if p.path == CHIME_PATH]
    assert chimes == list(range(0, len(calls) * 5, 5))
    for index, c in enumerate(calls):  # each call's own sentences, in arrival order, twice
        sentences = [
            synth.cache_path(u.text, u.voice, u.rate, 1.0)
            for u in utterances(c.number, c.window_number, c.kind, VoiceConfig())
        ]
        block = [p.path for p in player.played[index * 5 + 1 : index * 5 + 5]]
        assert block == sentences * 2, index
    assert len({p.path for p in player.played[-4:]}) == 2  # the late recall: zh and en, spoken again


@pytest.mark.parametrize(
    ("mode", "now", "expected"),
    [
        ("chime", clock_time(23, 30), [(CHIME_PATH, 0.3)]),
        ("chime", clock_time(6, 59), [(CHIME_PATH, 0.3)]),
        ("silent", clock_time(23, 30), []),
        ("silent", clock_time(7, 0), None),  # the end is outside quiet hours: a full announcement
    ],
)
def test_quiet_hours(synth: Synthesizer, mode: str, now: clock_time, expected: list[tuple[Path, float]] | None) -> None:
    config = VoiceConfig(
        quiet_hours=(clock_time(22, 0), clock_time(7, 0)),
        quiet_mode="chime" if mode == "chime" else "silent",
        volume=0.7,
        repeat=1,
        languages=("zh",),
    )
    player = RecordingPlayer(time_scale=0.0)
    announcer = Announcer(config, synth, player, clock=lambda: now)
    announcer.start()
    announcer.announce(call(1))
    assert announcer.wait_idle(timeout=10)
    announcer.stop()
    played = [(p.path, p.volume) for p in player.played]
    if expected is None:
        assert [v for _, v in played] == [0.7, 0.7]
        assert played[0][0] == CHIME_PATH and played[1][0] != CHIME_PATH
    else:
        assert played == expected


def test_kivy_player_plays_in_real_time_without_a_sound_card(tmp_path: Path) -> None:
    script = (
        "import time; from devicekit.voice import CHIME_PATH, KivyPlayer\n"
        "t = time.perf_counter(); KivyPlayer().play(CHIME_PATH, 0.5); print(time.perf_counter() - t)\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "SDL_AUDIODRIVER": "dummy",
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_CONSOLELOG": "1",
        "KIVY_NO_FILELOG": "1",
        "KIVY_HOME": str(tmp_path),
    }
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True, timeout=20, check=True
    )
    elapsed = float(done.stdout.strip().splitlines()[-1])
    assert 1.1 <= elapsed <= 3.0, (elapsed, done.stderr[-2000:])


@pytest.mark.parametrize(
    ("number", "window", "letter"), [("A001", 3, "'ei"), ("B120", 12, "p'i"), ("C007", 21, "s'ei")]
)
def test_the_synthesised_sentence_is_read_with_mandarin_phonemes(number: str, window: int, letter: str) -> None:
    """espeak-ng's own phoneme mnemonics (``-x``) for exactly what the synthesiser sends: every syllable a
    Mandarin one with its tone contour, the ticket's letter as its letter name, never a switch to English."""
    (zh,) = utterances(number, window, CallKind.NEXT, VoiceConfig(languages=("zh",)))
    assert zh.voice == MANDARIN_VOICE
    phonemes = subprocess.run(
        ["espeak-ng", "-v", zh.voice, "-q", "-x", zh.text], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    syllables = [s.strip() for s in phonemes.replace("\n", "").split("_|") if s.strip()]
    assert "(en)" not in phonemes
    assert len(syllables) == len(zh.text.split())
    assert all(re.search(r"[1-5]{2,3}", s) for s in syllables), syllables  # a tone contour in each one
    assert syllables[0] == "tS;h'i21N"  # qing3: an aspirated alveolo-palatal affricate, falling-rising tone
    assert syllables[1].startswith(letter)  # the ticket's letter said as its letter name (A: "ei")
    # the same sentence through sit/cmn (Latin read as English) would say "king three": that is what we avoid
    english = subprocess.run(
        ["espeak-ng", "-v", "sit/cmn", "-q", "-x", zh.text], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    assert "(en)" in english


@pytest.mark.parametrize(
    ("repeat", "chime", "languages"), [(1, True, ("zh",)), (3, True, ("zh", "en")), (2, False, ("zh",))]
)
def test_repeat_count_chime_and_languages(
    synth: Synthesizer, repeat: int, chime: bool, languages: tuple[str, ...]
) -> None:
    config = VoiceConfig(repeat=repeat, chime=chime, languages=languages)
    player = RecordingPlayer(time_scale=0.0)
    announcer = Announcer(config, synth, player)
    announcer.start()
    announcer.announce(call(1, "D004", 5))
    assert announcer.wait_idle(timeout=10)
    announcer.stop()
    sentences = [synth.cache_path(u.text, u.voice, u.rate, 1.0) for u in utterances("D004", 5, CallKind.NEXT, config)]
    assert [p.path for p in player.played] == [CHIME_PATH] * chime + sentences * repeat
    assert announcer.announced == 1 and announcer.failures == 0


def test_quiet_hours_without_a_chime_are_silent(synth: Synthesizer) -> None:
    config = VoiceConfig(quiet_hours=(clock_time(12, 0), clock_time(13, 30)), chime=False, languages=("zh",))
    player = RecordingPlayer(time_scale=0.0)
    announcer = Announcer(config, synth, player, clock=lambda: clock_time(12, 15))
    announcer.start()
    announcer.announce(call(1))
    assert announcer.wait_idle(timeout=10)
    announcer.stop()
    assert player.played == [] and announcer.announced == 1


def test_the_chime_sounds_while_the_sentences_are_synthesised(tmp_path: Path) -> None:
    """The first sound does not wait for espeak-ng: the chime starts at once, the speech follows it."""

    class SlowSpeech:
        def __init__(self) -> None:
            self.started: list[float] = []

        def warm_up(self, voices: tuple[str, ...] = ()) -> None:
            pass

        def synthesize(self, text: str, voice: str, rate: int, volume: float) -> Path:
            self.started.append(time.perf_counter())
            time.sleep(0.3)
            return CHIME_PATH

    speech = SlowSpeech()
    player = RecordingPlayer(time_scale=0.0)
    announcer = Announcer(VoiceConfig(languages=("zh",), repeat=1), speech, player)
    announcer.start()
    queued = time.perf_counter()
    announcer.announce(call(1))
    assert announcer.wait_idle(timeout=10)
    announcer.stop()
    chime, sentence = player.played
    assert chime.start - queued < 0.1, "the chime waited for the synthesis"
    assert sentence.start - speech.started[0] >= 0.29


def test_the_cache_keeps_the_most_recently_used_sentences(tmp_path: Path) -> None:
    synth = Synthesizer(tmp_path, max_files=3)
    texts = [f"qing3 A ling2 ling2 {digit} hao4" for digit in ("yi1", "er4", "san1", "si4")]
    paths = [synth.synthesize(text, MANDARIN_VOICE, 150, 1.0) for text in texts[:3]]
    time.sleep(0.02)
    synth.synthesize(texts[0], MANDARIN_VOICE, 150, 1.0)  # used again: now the newest
    time.sleep(0.02)
    newest = synth.synthesize(texts[3], MANDARIN_VOICE, 150, 1.0)
    kept = set(tmp_path.glob("*.wav"))
    assert kept == {paths[0], paths[2], newest}, "the least recently used sentence went"
    assert synth.engine_runs == 4


def test_kivy_player_fails_soft_without_a_sound_device(tmp_path: Path) -> None:
    """No sound device: logged once, and each file still takes its own length so the queue keeps its pace."""
    short = tmp_path / "short.wav"
    with wave.open(str(short), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(22050)
        out.writeframes(b"\0\0" * 6615)  # 0.3 s
    script = (
        "import logging, sys, time; logging.basicConfig(level=logging.WARNING)\n"
        "from pathlib import Path; from devicekit.voice import KivyPlayer\n"
        "player = KivyPlayer(); t = time.perf_counter()\n"
        "for _ in range(3): player.play(Path(sys.argv[1]), 1.0)\n"
        "print(time.perf_counter() - t, player.silent_plays)\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "SDL_AUDIODRIVER": "no-such-sound-card",
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_CONSOLELOG": "1",
        "KIVY_NO_FILELOG": "1",
        "KIVY_HOME": str(tmp_path / "kivy"),
    }
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script, str(short)],
        check=False,
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    elapsed, silent = done.stdout.split()
    assert int(silent) == 3
    assert 0.85 <= float(elapsed) <= 2.0, elapsed
    assert done.stderr.count("announcements cannot be heard") == 1, done.stderr[-2000:]
