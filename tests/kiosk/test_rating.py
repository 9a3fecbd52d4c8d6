"""Rating a service at the kiosk (kiosk/rating.py) and the officer's code (kiosk/officer_code.py), without a window.

The flow talks HTTP to a small real aiohttp server that answers the contract's two routes ("a ticket rated by its
holder": ``GET/POST /api/v1/tickets/{token}/rating``) the way the hub does, and can lose an answer after storing the
rating or stop answering altogether."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import msgspec
import pytest
from aiohttp import web

import contract as wire
from kiosk.model import Effect, Screen
from kiosk.officer_code import cleaned, grouped
from kiosk.rating import RatingClient, RatingFlow, Step, ticket_token
from kiosk.texts import Texts
from tests.kiosk.test_controller import UiThread
from tests.kiosk.test_model import Hall

TOKEN = "q3VbW8xkT0aZ_-lp2mNcYh4E"
URL = f"https://hall.example.cn/t/{TOKEN}"


@dataclass
class Ticket:
    state: wire.RatingOfferState
    number: str = "A012"
    level: int | None = None


@dataclass
class StandInHub:
    """The hub's two rating routes on a real HTTP server (its own thread and event loop)."""

    tickets: dict[str, Ticket] = field(default_factory=dict)
    posted: list[bytes] = field(default_factory=list)
    """Every POST body that reached the server."""
    lose_answers: int = 0
    """Store the next ratings, then answer 503 as if the answer were lost on the way."""
    port: int = 0

    def offer(self, token: str) -> wire.RatingOffer:
        ticket = self.tickets[token]
        return wire.RatingOffer(
            state=ticket.state, number=ticket.number, matter_zh="个体工商户设立登记", matter_en="Sole trader",
            window_number=5, level=ticket.level,
        )  # fmt: skip

    async def get(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if token not in self.tickets:
            return web.Response(status=404, text="no such ticket")
        return web.Response(body=wire.encode(self.offer(token)), content_type="application/json")

    async def post(self, request: web.Request) -> web.Response:
        token, body = request.match_info["token"], await request.read()
        self.posted.append(body)
        ticket = self.tickets.get(token)
        if ticket is None:
            return web.Response(status=404)
        rating = msgspec.json.decode(body, type=wire.TicketRating)
        if ticket.state != wire.RatingOfferState.OPEN:
            code = "already_rated" if ticket.state == wire.RatingOfferState.RATED else "nothing_to_rate"
            error = wire.Error(code=code, zh="已评价" if code == "already_rated" else "尚未办结", en=code)
            return web.Response(status=409, body=wire.encode(error), content_type="application/json")
        ticket.state, ticket.level = wire.RatingOfferState.RATED, rating.level
        if self.lose_answers:
            self.lose_answers -= 1
            return web.Response(status=503)
        return web.Response(body=wire.encode(self.offer(token)), content_type="application/json")

    def ratings(self) -> list[wire.TicketRating]:
        return [msgspec.json.decode(body, type=wire.TicketRating) for body in self.posted]


def serve(hub: StandInHub, port: int = 0) -> Callable[[], None]:
    """Start ``hub`` on 127.0.0.1 (``port``: 0 for a free one); gives the function that stops it."""
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_get("/api/v1/tickets/{token}/rating", hub.get)
    app.router.add_post("/api/v1/tickets/{token}/rating", hub.post)
    runner = web.AppRunner(app)
    ready = threading.Event()

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        hub.port = runner.addresses[0][1]
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    assert ready.wait(5)

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)

    return stop


@pytest.fixture
def stand_in() -> Iterator[StandInHub]:
    hub = StandInHub(tickets={TOKEN: Ticket(wire.RatingOfferState.OPEN)})
    stop = serve(hub)
    yield hub
    stop()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def flow_for(port: int, ui: UiThread, clock: Clock | None = None, language: str = "zh_CN") -> RatingFlow:
    def run(work: Callable[[], None]) -> None:
        threading.Thread(target=work, daemon=True).start()

    client = RatingClient(f"http://127.0.0.1:{port}", timeout=2)
    return RatingFlow(Texts(language), client, run, ui.post, retry_wait=0.05, clock=clock or Clock())


def scanned_to_form(flow: RatingFlow, ui: UiThread) -> None:
    flow.start()
    assert flow.on_scanned(URL) and flow.step == Step.LOOKING
    ui.pump_until(lambda: flow.step != Step.LOOKING)
    assert flow.step == Step.FORM


def sent(flow: RatingFlow, ui: UiThread) -> None:
    flow.send()
    assert flow.step == Step.SENDING
    ui.pump_until(lambda: flow.step != Step.SENDING)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# -- the flow --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "token"),
    [
        (URL, TOKEN),
        (f"http://192.168.10.5:8080/t/{TOKEN}/", TOKEN),
        (f"  {URL}?from=print\n", TOKEN),
        ("HQ1.eyJzIjoiY2VudHJlIn0.c2ln", None),  # an appointment's code
        ("https://hall.example.cn/wall/abcdefghijkl", None),
        ("TY-7K2M-Q9XD-4HTP-B0RW", None),
        ("", None),
    ],
)
def test_only_a_tickets_status_link_gives_a_token(code: str, token: str | None) -> None:
    assert ticket_token(code) == token


def test_a_bad_rating_with_its_parts_and_reasons_is_sent_once_and_thanked(stand_in: StandInHub) -> None:
    ui, clock = UiThread(), Clock()
    flow = flow_for(stand_in.port, ui, clock)
    scanned_to_form(flow, ui)
    assert flow.service_text() == "A012 · 个体工商户设立登记 · 5 号窗口"
    assert [button.label for button in flow.levels()] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    assert [name for _, name, _ in flow.aspect_rows()] == ["办事效率", "服务水平", "服务态度"]
    assert not flow.can_send and flow.reason_chips() == []  # nothing chosen yet: nothing to send, no reasons

    flow.choose_level(2)
    assert [label for _, label, _ in flow.reason_chips()][:3] == ["等候时间长", "办理效率低", "服务态度差"]
    flow.choose_aspect("efficiency", 2)
    flow.choose_aspect("attitude", 4)
    flow.choose_aspect("attitude", 4)  # tapped again: taken back (the parts are optional)
    flow.toggle_reason(wire.RatingReason.SLOW)
    flow.toggle_reason(wire.RatingReason.LONG_WAIT)
    sent(flow, ui)
    flow.send()  # a second tap after the thanks sends nothing

    assert flow.step == Step.THANKS and flow.spoken().sentences == ("感谢您的评价！",)
    assert stand_in.ratings() == [
        wire.TicketRating(
            level=2, aspects=wire.RatingAspects(efficiency=2), source=wire.RatingSource.KIOSK,
            reasons=(wire.RatingReason.LONG_WAIT, wire.RatingReason.SLOW),
        )
    ]  # fmt: skip
    assert not flow.expired()
    clock.now += flow.thanks_seconds
    assert flow.expired()


def test_a_good_level_carries_no_reasons(stand_in: StandInHub) -> None:
    ui = UiThread()
    flow = flow_for(stand_in.port, ui)
    scanned_to_form(flow, ui)
    flow.choose_level(3)
    flow.toggle_reason(wire.RatingReason.OTHER)
    flow.choose_level(5)  # changed their mind
    assert flow.reason_chips() == [] and flow.reasons == set()
    flow.toggle_reason(wire.RatingReason.OTHER)
    sent(flow, ui)
    assert stand_in.ratings() == [wire.TicketRating(level=5, source=wire.RatingSource.KIOSK)]


@pytest.mark.parametrize(
    ("state", "said"),
    [
        (wire.RatingOfferState.NOT_YET, "您的业务尚未办结，请办结后再评价。"),
        (wire.RatingOfferState.RATED, "本次服务已经评价过了，谢谢您。"),
        (None, "未查到这张号票，请咨询工作人员。"),
    ],
)
def test_a_ticket_that_cannot_be_rated_gets_a_plain_sentence(
    stand_in: StandInHub, state: wire.RatingOfferState | None, said: str
) -> None:
    ui = UiThread()
    if state is None:
        stand_in.tickets.clear()
    else:
        stand_in.tickets[TOKEN].state = state
    flow = flow_for(stand_in.port, ui)
    flow.start()
    flow.on_scanned(URL)
    ui.pump_until(lambda: flow.step != Step.LOOKING)
    assert (flow.step, flow.message, flow.can_retry) == (Step.MESSAGE, said, False)
    assert flow.spoken().sentences == (said,) and stand_in.posted == []


def test_rated_meanwhile_at_the_window_says_so_rather_than_thanks(stand_in: StandInHub) -> None:
    ui = UiThread()
    flow = flow_for(stand_in.port, ui)
    scanned_to_form(flow, ui)
    stand_in.tickets[TOKEN].state = wire.RatingOfferState.RATED  # the window's evaluator was quicker
    flow.choose_level(4)
    sent(flow, ui)
    assert (flow.step, flow.message) == (Step.MESSAGE, "本次服务已经评价过了，谢谢您。")


def test_a_lost_answer_is_sent_again_unchanged_and_already_rated_then_means_thanks(stand_in: StandInHub) -> None:
    ui = UiThread()
    flow = flow_for(stand_in.port, ui)
    scanned_to_form(flow, ui)
    stand_in.lose_answers = 1  # stored, but the kiosk hears a 503
    flow.choose_level(1)
    flow.toggle_reason(wire.RatingReason.ATTITUDE)
    sent(flow, ui)
    assert flow.step == Step.THANKS
    assert len(stand_in.posted) == 2 and stand_in.posted[0] == stand_in.posted[1]  # the same rating, byte for byte
    assert stand_in.tickets[TOKEN].level == 1  # rated once


def test_an_unreachable_hub_keeps_the_rating_and_the_retry_sends_the_same() -> None:
    ui = UiThread()
    port = free_port()
    hub = StandInHub(tickets={TOKEN: Ticket(wire.RatingOfferState.OPEN)})
    stop = serve(hub, port)
    flow = flow_for(port, ui)
    scanned_to_form(flow, ui)
    flow.choose_level(3)
    flow.choose_aspect("service_level", 3)
    stop()  # the hub goes away before the citizen sends
    sent(flow, ui)
    assert (flow.step, flow.can_retry) == (Step.MESSAGE, True)
    assert flow.message == "暂时无法连接服务系统，请稍后重试或咨询工作人员。"
    assert hub.posted == []

    stop = serve(hub, port)  # back
    try:
        flow.retry()
        assert flow.step == Step.SENDING
        ui.pump_until(lambda: flow.step != Step.SENDING)
        assert flow.step == Step.THANKS
        expected = wire.TicketRating(
            level=3, aspects=wire.RatingAspects(service_level=3), source=wire.RatingSource.KIOSK
        )
        assert hub.ratings() == [expected]
    finally:
        stop()


def test_a_new_citizen_starts_with_nothing_of_the_last_one(stand_in: StandInHub) -> None:
    ui = UiThread()
    flow = flow_for(stand_in.port, ui)
    scanned_to_form(flow, ui)
    flow.choose_level(2)
    flow.toggle_reason(wire.RatingReason.OTHER)
    flow.start()
    assert (flow.step, flow.offer, flow.level, flow.reasons, flow.aspects) == (Step.SCAN, None, None, set(), {})
    assert not flow.on_scanned("HQ1.not-a-ticket")
    assert flow.step == Step.SCAN and flow.note == "这不是号票上的二维码，请扫描号票上的二维码。"


def test_the_flow_speaks_english_too(stand_in: StandInHub) -> None:
    ui = UiThread()
    flow = flow_for(stand_in.port, ui, language="en")
    scanned_to_form(flow, ui)
    flow.choose_level(4)
    said = flow.spoken().sentences
    assert said[:2] == ("How satisfied are you with this service?", "A012 · Sole trader · Window 5")
    assert "You chose: Satisfied" in said


# -- in the kiosk's model ---------------------------------------------------------------------------------------------


def test_the_home_tile_opens_the_camera_and_a_wrong_code_keeps_it_looking(stand_in: StandInHub) -> None:
    hall, ui = Hall(), UiThread()
    kiosk = hall.kiosk
    assert "rate" not in [action for action, _ in kiosk.home_actions()]  # no rating flow: no tile
    kiosk.rating = flow_for(stand_in.port, ui)
    assert ("rate", "服务评价") in kiosk.home_actions()
    kiosk.tap("elder", hall.now)
    assert ("rate", "服务评价") in kiosk.home_actions()  # elder mode keeps it
    assert kiosk.tap("rate", hall.now) is Effect.START_SCAN
    assert kiosk.screen == Screen.RATING and kiosk.wants_camera
    assert kiosk.spoken().sentences == ("服务评价", "请将号票上的二维码对准摄像头。")
    assert kiosk.on_scanned("HQ1.appointment", hall.now) is None  # no check-in from here
    assert kiosk.wants_camera and kiosk.rating.note
    kiosk.on_scanned(URL, hall.now)
    assert not kiosk.wants_camera  # a ticket's code: the camera may stop
    ui.pump_until(lambda: kiosk.rating is not None and kiosk.rating.step == Step.FORM)
    kiosk.rating.choose_level(5)
    kiosk.rating.send()
    ui.pump_until(lambda: kiosk.rating is not None and kiosk.rating.step == Step.THANKS)
    kiosk.tick(hall.now + timedelta(seconds=1))
    assert kiosk.screen == Screen.RATING  # the thanks stay a few seconds
    kiosk.rating.clock = lambda: 1e12
    kiosk.tick(hall.now + timedelta(seconds=2))
    assert kiosk.screen == Screen.HOME


def test_leaving_the_rating_screen_stops_the_camera(stand_in: StandInHub) -> None:
    hall = Hall()
    hall.kiosk.rating = flow_for(stand_in.port, UiThread())
    hall.kiosk.tap("rate", hall.now)
    assert hall.kiosk.tap("home", hall.now) is Effect.STOP_SCAN and not hall.kiosk.wants_camera


# -- the officer's code -----------------------------------------------------------------------------------------------


def test_an_officers_code_rides_on_the_next_issue_only_and_any_code_is_just_recorded() -> None:
    hall = Hall()
    kiosk = hall.kiosk
    kiosk.tap("take", hall.now)
    assert kiosk.tap("officer", hall.now) is Effect.START_SCAN and kiosk.screen == Screen.OFFICER
    for key in "7K2MQ9XD4HTPB0RW":
        kiosk.officer.press(key)
    kiosk.officer.press("I")  # not a key of the code
    assert kiosk.officer.shown == "TY-7K2M-Q9XD-4HTP-B0RW"
    kiosk.officer.confirm()
    assert kiosk.officer.recorded and kiosk.officer.shown == "TY-"  # the code is not shown again
    assert kiosk.spoken().sentences == ("已记录",) and not kiosk.wants_camera
    kiosk.tap("take", hall.now)
    assert kiosk.screen == Screen.MATTERS
    body = kiosk.choose_matter("A02", hall.now)
    assert body is not None and body["officer_code"] == "TY7K2MQ9XD4HTPB0RW"
    reply = hall.issue(body, "officer-1")  # the hub in memory: an unknown code is ignored, the ticket issued
    assert reply.ok
    kiosk.on_issue_reply(reply)
    assert kiosk.screen == Screen.TICKET
    kiosk.tap("home", hall.now)
    kiosk.tap("take", hall.now)
    body = kiosk.choose_matter("A02", hall.now)
    assert body is not None and "officer_code" not in body  # the next citizen carries none


def test_a_scanned_code_is_recorded_and_home_drops_it() -> None:
    hall = Hall()
    kiosk = hall.kiosk
    kiosk.tap("take", hall.now)
    kiosk.tap("officer", hall.now)
    assert kiosk.on_scanned("ty-7k2m-q9xd-4htp-b0rw", hall.now) is None  # no check-in
    assert kiosk.officer.recorded and kiosk.officer.code == "TY7K2MQ9XD4HTPB0RW"
    kiosk.tap("home", hall.now)
    assert kiosk.officer.code is None


def test_a_code_is_cleaned_and_grouped_as_the_officers_card_prints_it() -> None:
    assert cleaned(" ty-7k2m q9xd ") == "TY7K2MQ9XD"
    assert len(cleaned("x" * 100)) == 40
    assert grouped("TY7K2MQ9XD") == "TY-7K2M-Q9XD" and grouped("TY") == "TY-"
