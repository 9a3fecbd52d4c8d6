"""The whole hall through the real hub and a real broker: a ticket taken on the kiosk's model, called from the
caller's model, shown by the board's model and announced in Mandarin by espeak-ng."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import contract as wire
from caller.hub_link import drive
from caller.model import CallerModel, Request
from caller.texts import Texts
from devicekit.link import DeviceLink
from devicekit.voice import Announcer, RecordingPlayer, Synthesizer, VoiceConfig, wav_duration
from display.board_model import BoardModel
from kiosk.model import KioskModel, Screen
from tests.hub.test_end_to_end import eventually
from tests.support.hub_process import HubProcess

Kind = wire.DeviceKind
NOW = datetime.fromisoformat("2026-11-25T10:00:00+08:00")


def test_kiosk_caller_board_and_voice_through_the_real_hub(hub: HubProcess, tmp_path: Path) -> None:
    kiosk_account = hub.provision("centre", "kiosk")
    caller_account = hub.provision("centre", "caller", "w03")
    board_account = hub.provision("centre", "board")
    hub.add_staff("centre", "wang")
    hub.start()
    kiosk_link = hub.link(kiosk_account, "centre", Kind.KIOSK, follow_site=True)
    caller_link = hub.link(caller_account, "centre", Kind.CALLER)
    board_link = hub.link(board_account, "centre", Kind.BOARD, follow_site=True)
    player = RecordingPlayer()
    speech = Synthesizer(tmp_path / "voice-cache")
    announcer = Announcer(VoiceConfig(languages=("zh",), repeat=1), speech, player)
    announcer.start()
    board_link.on_call = announcer.announce
    try:
        # the kiosk: a citizen takes a ticket for social security (B01)
        kiosk = KioskModel("centre")
        eventually(lambda: kiosk_link.view is not None and kiosk_link.view.synced)
        assert kiosk_link.view is not None and kiosk_link.view.snapshot is not None
        kiosk.on_snapshot(kiosk_link.view.snapshot)
        kiosk.on_info(_retained_site_info(kiosk_link))
        kiosk.tap("take", NOW)
        body = kiosk.choose_matter("B01", NOW)
        assert body is not None and kiosk.screen == Screen.WORKING
        kiosk.on_issue_reply(kiosk_link.request(wire.Action.ISSUE, body))
        assert kiosk.screen == Screen.TICKET and kiosk.ticket is not None
        number = kiosk.ticket.number

        # the clerk at window 3 signs in on the caller and calls the next citizen
        caller = CallerModel("centre", "w03", Texts(), clock=lambda: NOW)

        def send(request: Request) -> wire.Reply:
            return caller_link.request(request.action, dict(request.body), request_id=request.request_id)

        drive(caller, send, caller.sign_in("wang", "2468"))
        assert caller.clerk is not None and caller.clerk.name == "测试员"
        assert [line.number for line in caller.queue] == [number]
        drive(caller, send, caller.command("call_next"))
        assert caller.current is not None and caller.current.number == number

        # the board shows it, highlighted, and announces it
        board = BoardModel("centre")
        view = board_link.view
        assert view is not None
        eventually(lambda: view.latest_call is not None and view.latest_call.number == number)
        frame = board.board(view, NOW)
        assert frame.latest is not None and frame.latest.number == number and frame.highlighted
        assert announcer.wait_idle(timeout=20)
        spoken = [played.path for played in player.played if played.path.parent == speech.cache_dir]
        assert len(spoken) == 1 and 1.5 < wav_duration(spoken[0]) < 8
        assert player.overlaps == 0
    finally:
        announcer.stop()


def _retained_site_info(link: DeviceLink) -> wire.SiteInfo:
    """The site info the hub keeps retained, received the way the kiosk app receives it."""
    received: list[bytes] = []
    topic = wire.info_topic(link.site_id)
    link.client.message_callback_add(topic, lambda _c, _u, message: received.append(bytes(message.payload)))
    link.client.subscribe(topic, qos=1)
    eventually(lambda: bool(received), timeout=10)
    return wire.decode_as(wire.SiteInfo, received[-1])
