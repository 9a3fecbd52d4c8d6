"""A board against the real hub and its real Mosquitto: it follows the site, repairs a gap in the events with a
snapshot request, comes back to the true state within seconds of a broker restart, and the ``hall-board`` app
itself starts, goes online and stops cleanly."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

import contract as wire
from devicekit.link import DeviceLink
from devicekit.voice import Announcer, RecordingPlayer, Synthesizer, VoiceConfig
from display.board_model import BoardModel, CallLine
from display.feed import BoardFeed
from engine import events as ev
from hub.devices import Credentials
from hub.server import SNAPSHOT_INTERVAL
from tests.support import waits
from tests.support.hub_process import REPO, WEDNESDAY_10AM, HubProcess

Kind = wire.DeviceKind
SITE = "centre"
BOARDS = 4
TICKETS = 20


def eventually(check: Callable[[], object], timeout: float = 10.0) -> float:
    """Seconds until ``check`` held: the shared wait, with this module's longer default (a hub and a broker restart)."""
    return waits.eventually(check, timeout)


class Hall:
    """The real hub (shared by this module's tests) with a kiosk, a caller signed in at window 1, tickets waiting,
    and board accounts made before it started."""

    def __init__(self, hub: HubProcess) -> None:
        self.hub = hub
        kiosk, self.caller_account = hub.provision(SITE, "kiosk"), hub.provision(SITE, "caller", "w01")
        self.boards: list[Credentials] = [hub.provision(SITE, "board") for _ in range(BOARDS)]
        hub.add_staff(SITE, "li")
        hub.start()
        self.started = time.monotonic()
        self.kiosk = hub.link(kiosk, SITE, Kind.KIOSK)
        self.caller = hub.link(self.caller_account, SITE, Kind.CALLER)
        for _ in range(TICKETS):
            assert self.kiosk.request(wire.Action.ISSUE, {"matters": ["A02"]}).ok
        opened = self.caller.request(wire.Action.OPEN_WINDOW, {"window_id": "w01", "staff_id": "li", "pin": "2468"})
        assert opened.ok, opened.error

    def now(self) -> datetime:
        """The hub's clock, which started at HALL_CLOCK_START when the hub did."""
        return datetime.fromisoformat(WEDNESDAY_10AM) + timedelta(seconds=time.monotonic() - self.started)

    def call(self) -> str:
        reply = self.caller.request(wire.Action.CALL_NEXT, {"window_id": "w01"})
        assert reply.ok, reply.error
        return next(event.number for event in reply.events if isinstance(event, ev.TicketCalled))

    def call_over_http(self) -> str:
        """call-next through the hub's REST API (the broker may be down)."""
        account = self.caller_account
        token = base64.b64encode(f"{account.device_id}:{account.password}".encode()).decode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.hub.http_port}/api/v1/sites/{SITE}/call-next",
            data=json.dumps({"v": 1, "id": f"http-{time.monotonic_ns()}", "window_id": "w01"}).encode(),
            headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            reply: dict[str, Any] = json.loads(response.read())
        return str(next(event["number"] for event in reply["events"] if event["type"] == "TicketCalled"))


class Board:
    """A board following the hall: a BoardFeed with an announcer whose player records what it would play."""

    def __init__(self, hall: Hall, cache: Path) -> None:
        self.hall = hall
        account = hall.boards.pop()
        link = DeviceLink(
            host=hall.hub.broker_host, port=hall.hub.broker_port, site_id=SITE, device_id=account.device_id,
            password=account.password, kind=Kind.BOARD, follow_site=True,
        )  # fmt: skip
        self.player = RecordingPlayer(time_scale=0.0)
        self.announcer = Announcer(VoiceConfig(languages=("zh",), repeat=1), Synthesizer(cache), self.player)
        self.feed = BoardFeed(link, BoardModel(SITE), self.announcer, clock=hall.now)
        assert self.feed.start(wait=10)
        eventually(lambda: self.feed.view.synced and self.feed.model.info is not None)
        # the retained snapshot may be up to 100 ms behind the calls of the test before (the hub coalesces them):
        # wait until the board has caught up, and count only what it announces from then on
        site_seq = json.loads(hall.hub.get(f"/api/v1/sites/{SITE}/snapshot") or b"{}")["seq"]
        eventually(lambda: self.feed.view.seq >= site_seq)
        assert self.announcer.wait_idle(timeout=20)
        self.player.played.clear()

    def shown(self) -> list[str]:
        frame = self.feed.frame(self.hall.now())
        return [call.number for call in ([frame.latest] if frame.latest else []) + list(frame.recent)]

    def spoken(self) -> int:
        """Sentences played (the chime not counted)."""
        assert self.announcer.wait_idle(timeout=20)
        return sum(1 for played in self.player.played if played.path.parent != self.announcer.chime.parent)


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    hub = HubProcess(tmp_path_factory.mktemp("hub"))
    try:
        yield Hall(hub)
    finally:
        hub.stop()
    assert hub.log_defects() == [], "the hub logged a defect (see hub.log)"


@pytest.fixture
def board(hall: Hall, tmp_path: Path) -> Iterator[Board]:
    made = Board(hall, tmp_path / "voice")
    try:
        yield made
    finally:
        made.feed.stop()


def test_the_board_shows_and_announces_each_call_through_the_real_hub(hall: Hall, board: Board) -> None:
    numbers = [hall.call() for _ in range(3)]
    eventually(lambda: board.shown()[:3] == numbers[::-1])
    frame = board.feed.frame(hall.now())
    assert frame.latest == CallLine(numbers[-1], 1) and frame.highlighted and frame.online
    assert frame.site_name == "雁塔区政务服务中心"  # the retained site info arrived
    assert frame.waiting and frame.waiting[0].name == "个体工商户设立登记"
    assert board.spoken() == 3 and board.player.overlaps == 0


def test_dropped_events_are_noticed_and_repaired_with_a_snapshot_request(hall: Hall, board: Board) -> None:
    """The board's client loses the next call's events message, and every retained snapshot until the board has the
    reply to a snapshot request of its own: only noticing the gap and asking can bring the call back."""
    link = board.feed.link
    deliver = link.client.on_message
    assert deliver is not None
    replies = link.replies_received
    dropped: list[str] = []

    def lossy(c: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == wire.snapshot_topic(SITE) and link.replies_received == replies:
            dropped.append("snapshot")
            return
        if message.topic == wire.events_topic(SITE) and b'"TicketCalled"' in message.payload and "event" not in dropped:
            dropped.append("event")
            return
        deliver(c, userdata, message)

    link.client.on_message = lossy
    first, second = hall.call(), hall.call()
    eventually(lambda: board.shown()[:2] == [second, first])
    assert dropped.count("event") == 1
    assert board.feed.view.gaps >= 1
    assert link.replies_received > replies  # the snapshot came as the reply to the board's request
    assert board.spoken() == 2  # both calls, the dropped one late, in order


def test_the_hall_board_app_runs_against_the_hub_and_stops_cleanly(hall: Hall, tmp_path: Path) -> None:
    board = hall.boards.pop()
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"} | {
        "BOARD_HOST": hall.hub.broker_host,
        "BOARD_PORT": str(hall.hub.broker_port),
        "BOARD_DEVICE_ID": board.device_id,
        "BOARD_PASSWORD": board.password,
        "BOARD_VOICE_CACHE": str(tmp_path / "app-voice"),
        "BOARD_VOICE_LANGUAGES": "zh",
        "BOARD_VOICE_REPEAT": "1",
        "KIVY_HOME": str(tmp_path / "kivy"),
        "KIVY_NO_FILELOG": "1",
        "SDL_AUDIODRIVER": "no-sound-card",  # the player must fail soft and keep going
    }
    log = tmp_path / "board.log"
    # The hub's clock started at 10:00 on the test day, the app's is the real one: a call the app learned of only by
    # catching up (a retained snapshot behind the calls of the test before) would look hours old and not be
    # announced. Let the retained snapshot catch up first (it lags by SNAPSHOT_INTERVAL at most).
    time.sleep(SNAPSHOT_INTERVAL + 0.3)
    with log.open("wb") as out:
        app = subprocess.Popen(
            [sys.executable, "-m", "display.app", "--windowed", "--portrait"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        eventually(lambda: _status(hall.hub, board).get("online"), timeout=20)
        hall.call()
        eventually(lambda: "announcements cannot be heard" in log.read_text(errors="replace"), timeout=15)
        eventually(lambda: _status(hall.hub, board).get("detail", {}).get("audio") == "no_device")
        assert app.poll() is None, log.read_text()[-3000:]
    finally:
        app.send_signal(signal.SIGTERM)
        code = app.wait(15)
    text = log.read_text(errors="replace")
    assert code == 0, text[-3000:]
    assert text.count("announcements cannot be heard") == 1
    assert "Traceback" not in text, text[-3000:]


def test_after_a_broker_restart_the_board_shows_the_true_state_within_seconds(hall: Hall, board: Board) -> None:
    before = hall.call()
    eventually(lambda: board.shown()[:1] == [before])
    hall.hub.kill_broker()
    eventually(lambda: not board.feed.link.connected.is_set(), timeout=5)
    during = hall.call_over_http()  # made while no board can hear of it
    assert board.shown()[:1] == [before]
    seconds = eventually(lambda: board.shown()[:2] == [during, before], timeout=15)
    assert seconds < 10, seconds
    assert board.feed.link.connected.is_set() and board.feed.frame(hall.now()).online
    assert board.spoken() == 2  # the call made in the outage is announced when the board catches up


def _status(hub: HubProcess, device: Credentials) -> dict[str, Any]:
    """The device's last status as the hub has it (empty if none)."""
    return hub.statuses(device).get(device.device_id, {})
