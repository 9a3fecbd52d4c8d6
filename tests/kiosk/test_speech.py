"""Elder mode's read-aloud through the hall's real voice: espeak-ng via devicekit.voice.Synthesizer."""

from __future__ import annotations

from pathlib import Path

import pytest

from devicekit.voice import MANDARIN_VOICE, RecordingPlayer, Synthesizer, wav_info
from kiosk.model import Spoken
from kiosk.speech import ScreenReader
from tests.kiosk.test_model import Hall, appointment_reply


@pytest.fixture(scope="module")
def synthesizer(tmp_path_factory: pytest.TempPathFactory) -> Synthesizer:
    return Synthesizer(tmp_path_factory.mktemp("kiosk-voice"))


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_ticket_screen_is_spoken_by_espeak_ng(synthesizer: Synthesizer, language: str) -> None:
    hall = Hall()
    hall.kiosk.texts.language = language
    hall.kiosk.tap("elder", hall.now)
    hall.kiosk.on_issue_reply(appointment_reply())
    spoken = hall.kiosk.spoken()
    reader = ScreenReader(synthesizer, RecordingPlayer())
    first = reader.synthesize(Spoken(spoken.language, spoken.sentences[:1]))
    [path] = first
    info = wav_info(path)
    assert path.stat().st_size > 10_000 and info.rate == 22050
    assert 1.0 < info.duration < 10 and info.rms > 0.02 and info.peak < 1.0


def test_mandarin_text_goes_to_the_pinyin_voice_as_characters(synthesizer: Synthesizer) -> None:
    """sit/cmn-latn-pinyin reads hanzi through espeak-ng's own dictionary: a kiosk sentence no pinyin table covers
    (a matter's name) comes out as long as its syllables need, not as a skipped or spelled-out string."""
    short = wav_info(synthesizer.synthesize("取号", MANDARIN_VOICE, 140, 1.0))
    long = wav_info(synthesizer.synthesize("个体工商户设立登记，请准备以下材料", MANDARIN_VOICE, 140, 1.0))
    assert 0.3 < short.duration < long.duration / 3


def test_a_new_screen_replaces_the_one_waiting_to_be_read(tmp_path: Path) -> None:
    synthesizer = Synthesizer(tmp_path)
    player = RecordingPlayer(time_scale=0.05)
    reader = ScreenReader(synthesizer, player)
    reader.start()
    try:
        for n in range(5):
            reader.say(Spoken("zh", (f"第{n}屏",)))
        reader.say(Spoken("zh", ("您好，请选择要办理的业务",)))
        assert reader.wait_idle(20)
        assert reader.read[-1].sentences == ("您好，请选择要办理的业务",) and len(reader.read) <= 2
        assert player.overlaps == 0 and reader.failures == 0
    finally:
        reader.stop()
