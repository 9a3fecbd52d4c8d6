"""The board's texts, driven without a window: a SiteView fed the snapshot and the events of the hub's real gateway
on the sample district, as the link would feed it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

import msgspec

import contract as wire
from devicekit.site_view import Applied, SiteView
from display.board_model import WEEKDAYS, Board, BoardModel, CallLine, WaitingLine
from hub.gateway import public
from hub.site_info import site_info
from tests.kiosk.test_model import DISTRICT, WEDNESDAY_10AM, Hall

SITE = "centre"
SITE_NAME = "雁塔区政务服务中心"


@dataclass(frozen=True)
class _Device:
    site_id: str
    kind: str
    window_id: str | None = None


class BoardHall(Hall):
    """The kiosk tests' hub in memory, with a caller per window and a board's SiteView fed its events."""

    def __init__(self, now: datetime = WEDNESDAY_10AM) -> None:
        super().__init__(now)
        site = DISTRICT.site(SITE)
        assert site is not None
        devices = {"kiosk-1": _Device(SITE, "kiosk")}
        devices |= {f"caller-{w.id}": _Device(SITE, "caller", w.id) for w in site.windows}
        self.gateway.devices = devices.get
        self.open_windows(SITE)
        self.info = site_info(DISTRICT, site)
        self.view = SiteView(SITE)
        self.view.apply_snapshot(self.gateway.snapshot(SITE))
        self.events: list[wire.AnyEvent] = []
        self.requests = 0

    def request(self, device: str, action: str, body: dict[str, object]) -> wire.Reply:
        self.requests += 1
        payload = json.dumps({"v": 1, "id": f"r{self.requests}", **body}).encode()
        reply, outcome = self.gateway.handle(SITE, device, action, payload)
        if outcome is not None:
            self.events += [public(event) for event in outcome.events]
        return reply

    def take(self, *matters: str) -> None:
        for code in matters:
            assert self.request("kiosk-1", "issue", {"matters": [code]}).ok

    def call(self, window_id: str, action: str = "call-next") -> None:
        reply = self.request(f"caller-{window_id}", action, {"window_id": window_id})
        assert reply.ok, reply.error

    def deliver(self) -> list[Applied]:
        """Every event not yet delivered, in order, as the hub publishes them."""
        applied = [self.view.apply_event(event) for event in self.events]
        self.events = []
        return applied

    def snapshot(self) -> wire.Snapshot:
        return self.gateway.snapshot(SITE)


def board_after_calls(hall: BoardHall, model: BoardModel) -> Board:
    hall.take("A02", "A02", "B01", "B01", "B01", "C01", "A02")
    for window in ("w01", "w07", "w02"):
        hall.call(window)
        hall.deliver()
        model.board(hall.view, hall.now)
    hall.view.apply_snapshot(hall.snapshot())  # the retained snapshot brings the waiting counts up to date
    return model.board(hall.view, hall.now)


def new_model() -> tuple[BoardHall, BoardModel]:
    hall = BoardHall()
    model = BoardModel(SITE, highlight_seconds=10)
    model.on_info(hall.info)
    model.hub_online = True
    return hall, model


def test_the_newest_call_is_shown_large_with_its_window_and_the_sentence_to_read() -> None:
    hall, model = new_model()
    board = board_after_calls(hall, model)
    assert board.latest is not None
    assert (board.latest.number, board.latest.window_number) == ("A002", 2)
    assert board.latest.window_text == "2号窗口"
    assert board.latest.announcement == "请 A002 号到 2 号窗口"
    assert [(call.number, call.window_text) for call in board.recent] == [("B001", "7号窗口"), ("A001", "1号窗口")]
    assert board.highlighted


def test_header_waiting_counts_notice_and_status_are_chinese() -> None:
    hall, model = new_model()
    board = board_after_calls(hall, model)
    assert board.site_name == SITE_NAME
    assert board.date_text == "2026年11月25日 星期三" and board.clock_text == "10:00:00"
    names = {matter.code: matter.name_zh for matter in hall.info.matters}
    assert [(line.name, line.count_text) for line in board.waiting] == [
        (names["A02"], "等候 1 人"),
        (names["B01"], "等候 2 人"),
        (names["C01"], "等候 1 人"),
    ]
    assert board.waiting[0].name == "个体工商户设立登记"
    assert board.waiting_total_text == "共 4 人等候"
    assert board.status_text == "" and board.online
    model.hub_online = False
    assert "网络连接中断" in model.board(hall.view, hall.now).status_text
    notice = msgspec.structs.replace(hall.snapshot(), notice="今日 12:00-13:00 午间延时服务")
    hall.view.apply_snapshot(notice)
    assert model.board(hall.view, hall.now).notice == "今日 12:00-13:00 午间延时服务"


def test_before_the_first_call_the_board_says_so_and_without_info_it_shows_codes() -> None:
    hall = BoardHall()
    hall.take("A02")
    hall.view.apply_snapshot(hall.snapshot())
    board = BoardModel(SITE).board(hall.view, hall.now)
    assert board.latest is None and board.recent == () and "暂无叫号" in board.texts()
    assert board.waiting == (WaitingLine("A02", "A02", 1),) and board.site_name == ""
    unsynced = BoardModel(SITE).board(SiteView(SITE), hall.now)
    assert unsynced.status_text == "网络连接中断，叫号信息可能不是最新"


def test_the_newest_call_stays_highlighted_for_the_set_seconds_and_a_recall_highlights_again() -> None:
    hall, model = new_model()
    hall.take("A02", "B01")
    hall.call("w01")
    hall.deliver()
    start = hall.now
    assert model.board(hall.view, start).highlighted
    assert model.board(hall.view, start + timedelta(seconds=9.9)).highlighted
    assert not model.board(hall.view, start + timedelta(seconds=10)).highlighted
    later = start + timedelta(seconds=30)
    hall.call("w01", "recall")
    hall.deliver()
    board = model.board(hall.view, later)
    assert board.highlighted and board.latest == CallLine("A001", 1)
    assert board.recent == (), "a recalled number is shown once"
    assert not model.board(hall.view, later + timedelta(seconds=11)).highlighted


def test_a_board_that_starts_after_a_call_does_not_highlight_an_old_one() -> None:
    hall, _ = new_model()
    hall.take("A02")
    hall.call("w01")
    late = SiteView(SITE)
    late.apply_snapshot(hall.snapshot())
    model = BoardModel(SITE, highlight_seconds=10)
    assert model.board(late, hall.now + timedelta(seconds=5)).highlighted  # the hub called it 5 s ago
    model = BoardModel(SITE, highlight_seconds=10)
    assert not model.board(late, hall.now + timedelta(minutes=3)).highlighted


def test_a_gap_leaves_the_board_unchanged_until_a_snapshot_arrives() -> None:
    hall, model = new_model()
    hall.take("A02", "B01", "C01")
    hall.call("w01")
    hall.deliver()
    before = model.board(hall.view, hall.now)
    hall.call("w07")
    hall.events = []  # the broker dropped this call's events
    hall.call("w08")
    applied = hall.deliver()
    assert applied and set(applied) == {Applied.GAP}
    assert model.board(hall.view, hall.now) == before
    hall.view.apply_snapshot(hall.snapshot())  # the resync
    after = model.board(hall.view, hall.now)
    assert after.latest == CallLine("C001", 8) and after.highlighted
    assert after.recent == (CallLine("B001", 7), CallLine("A001", 1))


def test_no_text_on_the_board_can_carry_a_name_or_an_id_number() -> None:
    hall, model = new_model()
    board = board_after_calls(hall, model)
    model.hub_online = False
    offline = model.board(hall.view, hall.now)
    matter_names = [matter.name_zh for matter in hall.info.matters]
    fixed = [
        "号窗口",
        "请留意窗口",
        "请",
        "号到",
        "窗口办理",
        "等候",
        "人",
        "共",
        "暂无叫号",
        "年",
        "月",
        "日",
        *WEEKDAYS,
    ]
    fixed += ["网络连接中断，叫号信息可能不是最新", "正在同步叫号信息…"]
    allowed = sorted([SITE_NAME, *matter_names, *fixed], key=len, reverse=True)
    for text in [*board.texts(), *offline.texts()]:
        rest = re.sub(r"\b[A-Z]\d{3}\b", "", text)  # ticket numbers
        for word in allowed:
            rest = rest.replace(word, "")
        assert re.fullmatch(r"[\d\s:]*", rest), (text, rest)
    # and structurally: the lines have no field that could hold a person's name or an ID number
    assert {f.name for f in fields(CallLine)} == {"number", "window_number"}
    assert {f.name for f in fields(WaitingLine)} == {"code", "name", "count"}
    assert all(line.name in matter_names for line in board.waiting)
    assert not {"name", "citizen", "citizen_ref", "id_number"} & {f.name for f in fields(Board)}
