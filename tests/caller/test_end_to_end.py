"""The caller model against the real hub process and a real Mosquitto: a kiosk link issues tickets, the clerk signs in
with a PIN provisioned by ``hall-hub staff add``, works through every action, is refused with the hub's reason, and
keeps the signed-in staff and the current ticket through a broker restart. The tests run in order on one hall."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import contract as wire
from caller.hub_link import CallerLink, drive
from caller.model import CallerModel, Status
from caller.screen import CallerScreen
from caller.texts import Texts
from devicekit.link import DeviceLink
from devicekit.site_view import SiteView
from engine import events as ev
from tests.hub.test_end_to_end import eventually
from tests.support.hub_process import REPO, HubProcess

Kind = wire.DeviceKind
CLERK, NAME, PIN = "li01", "李敏", "2468"
MATTERS = ("A02", "A02", "B01", "A02", "A02")


class Desk:
    """Window 1 of the centre: the hub, a kiosk that issued ``MATTERS``, the caller's link and its model."""

    def __init__(self, hub: HubProcess) -> None:
        self.hub = hub
        kiosk_credentials = hub.provision("centre", "kiosk")
        credentials = hub.provision("centre", "caller", "w01")
        self.app_credentials = hub.provision("centre", "caller", "w02")  # for the app itself, at window 2
        self.link = DeviceLink(
            host=hub.broker_host,
            port=hub.broker_port,
            site_id="centre",
            device_id=credentials.device_id,
            password=credentials.password,
            kind=Kind.CALLER,
            follow_site=True,
        )
        self.caller = CallerLink(self.link)  # before connecting: it subscribes to the site's info on every connect
        self.events: queue.SimpleQueue[ev.Event] = queue.SimpleQueue()
        self.caller.on_event = self.events.put  # from the network thread; the test's thread applies them
        hub.links.append(self.link)
        staff = add_staff(hub)  # the hub reads its staff at each sign-in: provisioning may overlap its start
        hub.start()
        assert staff.wait(60) == 0, staff.stderr.read() if staff.stderr else ""
        self.kiosk = kiosk = hub.link(kiosk_credentials, "centre", Kind.KIOSK)
        assert self.caller.start(wait=10)
        self.numbers = []
        for matter in MATTERS:
            reply = kiosk.request(wire.Action.ISSUE, {"matters": [matter]})
            assert reply.ok and reply.ticket is not None, reply.error
            self.numbers.append(reply.ticket.number)
        self.model = CallerModel("centre", "w01", Texts("zh_CN"))
        self.screen = CallerScreen(self.model)
        self.seen: list[ev.Event] = []
        eventually(lambda: self.caller.info is not None and self.view.snapshot is not None, timeout=10)
        assert self.caller.info is not None
        self.model.on_info(self.caller.info)

    @property
    def view(self) -> SiteView:
        view = self.link.view
        assert view is not None
        return view

    def sync(self) -> None:
        """What the app does on the Kivy thread when the link reports: the snapshot, the events, the online state."""
        view = self.link.view
        if view is not None and view.snapshot is not None:
            self.model.on_snapshot(view.snapshot)
        while not self.events.empty():
            self.seen.append(self.events.get())
            self.model.on_event(self.seen[-1])
        self.model.set_online(self.caller.online)

    def do(self, name: str, **params: str) -> None:
        drive(self.model, self.caller.send, self.model.command(name, **params))
        self.sync()

    def current(self) -> str:
        return self.model.current.number if self.model.current is not None else ""


def add_staff(hub: HubProcess) -> subprocess.Popen[str]:
    """``hall-hub staff add``, the way a hall manager provisions a clerk (the PIN on standard input)."""
    command = [sys.executable, "-m", "hub.cli", "staff", "add", "--site", "centre", "--id", CLERK, "--name", NAME]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=hub.env, text=True)
    assert process.stdin is not None
    process.stdin.write(f"{PIN}\n")
    process.stdin.close()
    return process


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    hub = HubProcess(tmp_path_factory.mktemp("hub"))
    try:
        yield Desk(hub)
    finally:
        hub.stop()
    assert hub.log_defects() == [], "the hub logged a defect (see hub.log)"


def test_the_hub_refuses_a_wrong_pin_and_names_the_clerk_it_knows(desk: Desk) -> None:
    model = desk.model
    drive(model, desk.caller.send, model.sign_in(CLERK, "9999"))
    assert model.clerk is None and model.message == "工号或密码错误"
    drive(model, desk.caller.send, model.sign_in(CLERK, PIN))
    assert model.clerk is not None and model.clerk.name == NAME, model.message
    assert sorted(t.number for t in model.queue) == sorted(desk.numbers)
    assert model.queue[0].number == desk.numbers[0]  # the hub's calling order


def test_call_recall_start_finish_park_call_back_and_transfer(desk: Desk) -> None:
    model, numbers = desk.model, desk.numbers
    desk.do("call_next")
    assert desk.current() == numbers[0] and desk.screen.current_matters() == "个体工商户设立登记"
    assert desk.screen.materials()
    desk.do("recall")
    assert model.current is not None and model.current.calls == 2
    desk.do("start")
    assert model.status is Status.SERVING
    desk.do("finish")
    assert model.current is None and model.message == f"{numbers[0]} 已办结"

    desk.do("call_next")
    desk.do("start")
    desk.do("park")
    parked = next(t for t in model.queue if t.number == numbers[1])
    assert parked.status == "parked" and model.current is None
    model.select(parked.ticket_id)
    drive(model, desk.caller.send, model.call_selected())
    assert desk.current() == numbers[1] and model.message == f"已呼叫 {numbers[1]}"
    desk.do("finish")

    desk.do("call_ticket", ticket=numbers[3])  # 特呼
    assert desk.current() == numbers[3]
    desk.do("transfer", to_matter="B02")
    assert model.current is None and model.message == f"{numbers[3]} 已转移"
    # the caller learnt every ticket from the site's events as well as from its queue
    assert {event.number for event in desk.seen if isinstance(event, ev.TicketIssued)} == set(numbers)


def test_a_refused_action_shows_the_hubs_reason(desk: Desk) -> None:
    desk.do("resume")
    assert desk.model.message == "1 号窗口没有暂停" and desk.model.message_is_error
    assert desk.model.clerk is not None


def test_the_clerk_and_the_ticket_survive_a_broker_restart(desk: Desk) -> None:
    model, caller = desk.model, desk.caller
    desk.do("call_next")
    held = desk.current()
    assert held
    broker_pid = desk.hub.kill_broker()
    eventually(lambda: not desk.link.connected.is_set(), timeout=5)
    desk.sync()
    assert desk.screen.connection_text() == "无法连接服务器，正在重试"
    assert model.clerk is not None and desk.current() == held
    assert desk.link.connected.wait(15), "the caller did not reconnect"
    eventually(lambda: caller.online, timeout=10)
    desk.sync()
    assert desk.screen.connection_text() == ""
    assert model.clerk is not None and model.clerk.name == NAME and desk.current() == held
    drive(model, caller.send, model.queue_request())  # what the app does after a reconnect
    assert not model.message_is_error, model.message
    desk.do("call_next")  # the ticket held was only called: it is marked missed and the next one called
    assert desk.current() not in ("", held), model.message
    assert (desk.hub.directory / "broker" / "mosquitto.pid").read_text() != str(broker_pid)


def test_the_app_signs_in_and_calls_with_the_keyboard(desk: Desk, tmp_path: Path) -> None:
    """The Kivy app itself (worker threads, the Kivy clock, the link) in an offscreen window at window 2."""
    for _ in range(2):
        assert desk.kiosk.request(wire.Action.ISSUE, {"matters": ["B01"]}).ok
    credentials = desk.app_credentials
    env = os.environ | {
        "CALLER_HOST": desk.hub.broker_host,
        "CALLER_PORT": str(desk.hub.broker_port),
        "CALLER_SITE": "centre",
        "CALLER_DEVICE_ID": credentials.device_id,
        "CALLER_PASSWORD": credentials.password,
        "CALLER_WINDOW": "w02",
        "CALLER_FULLSCREEN": "false",
        "CALLER_HUB_URL": f"http://127.0.0.1:{desk.hub.http_port}",
        "RUN_APP_STAFF": CLERK,
        "RUN_APP_PIN": PIN,
    }
    out, png = tmp_path / "app.json", tmp_path / "app.png"
    command = [sys.executable, "-m", "tests.caller.run_app", str(out), str(png)]
    done = subprocess.run(command, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    steps = ["connected", "sign in", "signed in", "called", "serving", "compact", "documents"]
    assert result["steps"] == steps, str(result)[-400:]
    assert result["documents_of"] == result["ticket_id"]  # the ticket's documents read (it has none)
    assert result["clerk"] == NAME and result["serving"] and result["current"] and result["compact"]
    assert result["message"] == f"开始办理 {result['current']}"
    assert png.stat().st_size > 1000
