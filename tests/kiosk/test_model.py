"""The kiosk's screen logic, driven without a window, fed by the hub's real builders and gateway."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

import contract as wire
from engine import commands as cmd
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.gateway import Gateway
from hub.service import HallService
from hub.site_info import SummaryWaits, district_summary, site_info
from hub.store.memory import MemoryStore
from kiosk.model import Effect, KioskModel, Screen, Timing
from kiosk.texts import Texts

DISTRICT = load_district(SAMPLE_DISTRICT)
WEDNESDAY_10AM = datetime.fromisoformat("2026-11-25T10:00:00+08:00")
NATIONAL_DAY = datetime.fromisoformat("2026-10-01T10:00:00+08:00")


class Hall:
    """A hub in memory (service + gateway) and a kiosk model fed the way the link would feed it."""

    def __init__(self, now: datetime = WEDNESDAY_10AM, site_id: str = "centre") -> None:
        self.now = now
        self.service = HallService(DISTRICT, MemoryStore())
        self.gateway = Gateway(self.service, {"kiosk-1": _Kiosk(site_id)}.get, lambda: self.now, secret=b"kiosk-tests")
        for site in DISTRICT.sites:  # through the gateway, as the hub does: its estimators see every event
            self.gateway.execute(cmd.OpenDay(command_id=f"open-{site.id}", site_id=site.id, at=now))
        self.kiosk = KioskModel(site_id, Texts("zh_CN"))
        self.site_id = site_id
        self.refresh()

    def open_windows(self, site_id: str) -> None:
        site = DISTRICT.site(site_id)
        assert site is not None
        for window in site.windows:
            self.gateway.execute(
                cmd.OpenWindow(command_id=f"w-{site_id}-{window.id}", site_id=site_id, at=self.now, window_id=window.id)
            )

    def serve_everywhere(self, site_id: str, minutes: float) -> None:
        """Every window of the site calls a citizen and serves them; then ``minutes`` pass (a hall at work)."""
        site = DISTRICT.site(site_id)
        assert site is not None
        for window in site.windows:
            matter = max(window.weights, key=window.weights.__getitem__)
            self.gateway.execute(
                cmd.IssueTicket(command_id=f"s-{window.id}", site_id=site_id, at=self.now, matters=(matter,))
            )
            for kind in (cmd.CallNext, cmd.StartService):
                self.gateway.execute(kind(command_id=f"{kind.__name__}-{window.id}", site_id=site_id, at=self.now,
                                          window_id=window.id))  # fmt: skip
        self.now += timedelta(minutes=minutes)

    def refresh(self) -> None:
        site = DISTRICT.site(self.site_id)
        assert site is not None
        states = {s.id: self.service.state(s.id) for s in DISTRICT.sites}
        self.kiosk.on_info(site_info(DISTRICT, site))  # the summary's waits from the hub's own estimators (hub.main)
        self.kiosk.on_summary(district_summary(DISTRICT, states, SummaryWaits(self.gateway.estimators), self.now))
        self.kiosk.on_snapshot(self.gateway.snapshot(self.site_id))

    def issue(self, body: dict[str, object], request_id: str) -> wire.Reply:
        payload = json.dumps({"v": 1, "id": request_id, **body}).encode()
        return self.gateway.handle(self.site_id, "kiosk-1", "issue", payload)[0]


class _Kiosk:
    kind = "kiosk"
    window_id = None

    def __init__(self, site_id: str) -> None:
        self.site_id = site_id


def test_home_is_chinese_first_and_elder_mode_offers_fewer_choices() -> None:
    hall = Hall()
    labels = [label for _, label in hall.kiosk.home_actions()]
    assert labels[:2] == ["取号", "预约签到"] and "呼叫工作人员" in labels
    hall.kiosk.tap("elder", hall.now)
    assert len(hall.kiosk.home_actions()) < len(labels)
    assert "elder" not in [action for action, _ in hall.kiosk.home_actions()]  # leaving is in the header
    hall.kiosk.tap("language", hall.now)
    assert hall.kiosk.home_actions()[0][1] == "Take a ticket"


def test_taking_a_ticket_shows_number_wait_windows_and_materials() -> None:
    hall = Hall()
    hall.open_windows("centre")
    for n in range(3):
        hall.issue({"matters": ["A02"]}, f"before-{n}")
    hall.refresh()
    hall.kiosk.tap("take", hall.now)
    assert hall.kiosk.screen == Screen.MATTERS
    tile = next(tile for tile in hall.kiosk.matter_tiles() if tile.code == "A02")
    assert (tile.name, tile.waiting, tile.available) == ("个体工商户设立登记", 3, True)
    assert tile.wait_text == "不到 1 分钟"  # idle windows call the three at once: never "等候 3 人 · 约 0 分钟"
    body = hall.kiosk.choose_matter("A02", hall.now)
    assert body == {"matters": ["A02"], "channel": "kiosk"} and hall.kiosk.screen == Screen.WORKING
    hall.kiosk.on_issue_reply(hall.issue(body, "mine"))
    ticket = hall.kiosk.ticket
    assert hall.kiosk.screen == Screen.TICKET and ticket is not None
    assert ticket.number == "A004" and ticket.people_ahead_text == "前面还有 3 人"
    assert ticket.wait_text == "不到 1 分钟"
    assert ticket.windows_text.startswith("请留意 1、")
    assert ticket.materials and "原件" in ticket.materials[0]


def test_nobody_waiting_with_every_window_busy_says_so_and_agrees_with_the_ticket() -> None:
    """The tile's wait and the ticket's are the same estimate (the summary comes from the hub's estimators): with
    nobody ahead and every window serving, it is the rest of the first service to end, and the screen says so."""
    hall = Hall()
    hall.open_windows("centre")
    hall.serve_everywhere("centre", minutes=3)
    hall.refresh()
    tile = next(tile for tile in hall.kiosk.matter_tiles() if tile.code == "A02")
    assert tile.waiting == 0 and tile.wait_text.startswith("窗口忙，约 ")
    here = hall.kiosk.here
    assert here is not None and (minutes := here.wait_minutes["A02"]) is not None and 1.0 <= minutes <= 10.0
    assert tile.wait_text == f"窗口忙，约 {round(minutes)} 分钟"
    reply = hall.issue({"matters": ["A02"]}, "mine")
    assert reply.ticket is not None and reply.ticket.wait is not None and reply.ticket.wait.minutes == minutes
    hall.kiosk.on_issue_reply(reply)
    ticket = hall.kiosk.ticket
    assert ticket is not None and ticket.people_ahead_text == "前面还有 0 人"
    assert ticket.wait_text.startswith("窗口忙，约 ")  # with the range the ticket carries


def test_materials_leave_out_a_count_of_zero() -> None:
    hall = Hall()
    materials = {
        m.code: hall.kiosk._materials(m.code)
        for m in hall.kiosk.info.matters  # type: ignore[union-attr]
    }
    listed = [line for lines in materials.values() for line in lines]
    assert listed and not any("0 份" in line for line in listed)
    assert any(line.endswith("原件 1 份") for line in listed)  # an original only: no "复印件 0 份"
    hall.kiosk.texts.language = "en"
    english = [line for m in hall.kiosk.info.matters for line in hall.kiosk._materials(m.code)]  # type: ignore[union-attr]
    assert english and not any(" 0 " in line for line in english)


def test_a_closed_site_and_a_full_matter_issue_nothing_and_say_why() -> None:
    hall = Hall(now=NATIONAL_DAY)
    hall.kiosk.tap("take", hall.now)
    assert hall.kiosk.screen == Screen.MESSAGE and "10-08 09:00" in hall.kiosk.message
    assert all(not tile.available for tile in hall.kiosk.matter_tiles())
    assert hall.kiosk.choose_matter("A02", hall.now) is None

    hall = Hall()
    limit = next(m.daily_limit for m in hall.kiosk.info.matters if m.code == "G01")  # type: ignore[union-attr]
    for n in range(limit):
        assert hall.issue({"matters": ["G01"]}, f"g{n}").ok
    hall.refresh()
    full = next(tile for tile in hall.kiosk.matter_tiles() if tile.code == "G01")
    assert (full.available, full.note) == (False, "今日号源已满")


def test_refusals_and_an_unreachable_hub_end_on_a_message_without_a_ticket() -> None:
    hall = Hall()
    hall.kiosk.on_issue_reply(hall.issue({"matters": ["Z99"]}, "bad"))
    assert hall.kiosk.screen == Screen.MESSAGE and hall.kiosk.message == "事项目录中没有 Z99"
    hall.kiosk.on_unreachable()
    assert hall.kiosk.ticket is None and "暂时无法连接" in hall.kiosk.message
    hall.kiosk.hub_online = False  # the link lost the hub: nobody may start taking a ticket
    hall.kiosk.tap("take", hall.now)
    assert hall.kiosk.screen == Screen.MESSAGE and "暂时无法连接" in hall.kiosk.message


@pytest.mark.parametrize("elder", [False, True])
def test_idle_screens_return_home_and_elder_mode_warns_twenty_seconds_ahead(elder: bool) -> None:
    hall = Hall()
    kiosk = hall.kiosk
    kiosk.timing = Timing(idle_seconds=60, elder_idle_seconds=120, warning_seconds=20)
    if elder:
        kiosk.tap("elder", hall.now)
    kiosk.tap("take", hall.now)
    limit = 120 if elder else 60
    kiosk.tick(hall.now + timedelta(seconds=limit - 25))
    assert kiosk.warning_text() is None
    kiosk.tick(hall.now + timedelta(seconds=limit - 19.5))
    if elder:
        assert kiosk.warning_text() == "您还在吗？20 秒后返回首页。"
        kiosk.touch(hall.now + timedelta(seconds=limit - 10))  # one tap extends
        assert kiosk.warning_text() is None
        kiosk.tick(hall.now + timedelta(seconds=limit + 1))
        assert kiosk.screen == Screen.MATTERS
        kiosk.tick(hall.now + timedelta(seconds=2 * limit))
    else:
        assert kiosk.warning_text() is None
        kiosk.tick(hall.now + timedelta(seconds=limit))
    assert kiosk.screen == Screen.HOME


def test_nearby_sites_offer_the_matter_quickest_first() -> None:
    hall = Hall(site_id="jixiangcun")
    for site in ("centre", "xiaozhai", "cuihualu"):
        hall.open_windows(site)
    hall.refresh()
    nearby = hall.kiosk.nearby("B01")
    assert {site.site_id for site in nearby} <= {"centre", "xiaozhai", "dianzicheng", "dianzizhengjie", "cuihualu"}
    assert "jixiangcun" not in {site.site_id for site in nearby} and nearby
    assert all(0 < site.distance_km < 10 for site in nearby)
    served = [site for site in nearby if site.wait_text != "暂无窗口办理"]
    assert served and nearby[: len(served)] == served  # sites that can serve now come first


# --- appointment check-in, help, printing states and what elder mode reads aloud -------------------------------


def appointment_reply(slot: str | None = "10:00-10:30") -> wire.Reply:
    ticket = wire.TicketInfo(
        ticket_id="centre-20261125-A005",
        number="A005",
        matters=("A02",),
        windows=(1, 2, 5),
        wait=wire.WaitEstimate(people_ahead=0, minutes=3.0, low=1.0, high=6.0),
        issued_at=WEDNESDAY_10AM,
        status_path="/t/Q7J2M",
        appointment=slot,
    )
    return wire.Reply(id="c1", ok=True, ticket=ticket)


def refusal(zh: str, en: str, code: str = "appointment_expired") -> wire.Reply:
    return wire.Reply(id="c1", ok=False, error=wire.Error(code=code, zh=zh, en=en))


def test_check_in_scans_then_shows_the_ticket_with_its_slot() -> None:
    hall = Hall()
    kiosk = hall.kiosk
    assert kiosk.on_scanned("APPT-1", hall.now) is None  # nobody is on the scanning screen
    assert kiosk.tap("checkin", hall.now) is Effect.START_SCAN and kiosk.screen == Screen.CHECKIN
    assert kiosk.on_scanned("  APPT-1\n", hall.now) == {"code": "APPT-1"}
    assert kiosk.screen == Screen.WORKING and kiosk.message == "正在签到…"
    kiosk.on_checkin_reply(appointment_reply())
    ticket = kiosk.ticket
    assert kiosk.screen == Screen.TICKET and ticket is not None
    assert (ticket.number, ticket.appointment, ticket.matter_names) == (
        "A005",
        "预约时段 10:00-10:30",
        "个体工商户设立登记",
    )


@pytest.mark.parametrize(
    ("zh", "en"),
    [
        ("预约码无效", "This appointment code is not valid"),
        ("预约已过期", "This appointment has expired"),
        ("该预约不在本服务点办理，请前往雁塔区小寨街道便民服务中心", "This appointment is for another site"),
        ("该预约已签到", "This appointment has already been checked in"),
        ("签到时间未到，请于 10:00 前 30 分钟内签到", "Too early to check in"),
    ],
    ids=["forged", "expired", "wrong site", "already used", "too early"],
)
def test_a_refused_check_in_says_the_hubs_reason_and_offers_to_scan_again(zh: str, en: str) -> None:
    hall = Hall()
    kiosk = hall.kiosk
    kiosk.tap("checkin", hall.now)
    kiosk.on_scanned("APPT-X", hall.now)
    kiosk.on_checkin_reply(refusal(zh, en))
    assert (kiosk.screen, kiosk.message, kiosk.retry_action, kiosk.ticket) == (Screen.MESSAGE, zh, "checkin", None)
    assert kiosk.tap("checkin", hall.now) is Effect.START_SCAN and kiosk.screen == Screen.CHECKIN
    kiosk.tap("language", hall.now)
    kiosk.on_scanned("APPT-X", hall.now)
    kiosk.on_checkin_reply(refusal(zh, en))
    assert kiosk.message == en
    assert kiosk.tap("back", hall.now) is None and kiosk.screen == Screen.HOME


def test_leaving_the_scanning_screen_turns_the_camera_off_and_no_camera_is_said() -> None:
    hall = Hall()
    kiosk = hall.kiosk
    kiosk.tap("checkin", hall.now)
    assert kiosk.tap("back", hall.now) is Effect.STOP_SCAN and kiosk.screen == Screen.HOME
    kiosk.tap("checkin", hall.now)
    assert kiosk.tap("elder", hall.now) is None and kiosk.screen == Screen.CHECKIN  # the camera stays on
    kiosk.on_camera_failed()
    assert kiosk.screen == Screen.MESSAGE and kiosk.message == "摄像头暂时无法使用，请咨询工作人员。"
    kiosk.hub_online = False
    kiosk.tap("checkin", hall.now)
    assert kiosk.screen == Screen.MESSAGE and "暂时无法连接" in kiosk.message


def test_help_is_one_tap_from_every_screen_and_confirms() -> None:
    hall = Hall()
    kiosk = hall.kiosk
    for first in ("take", "checkin", "nearby"):
        kiosk.tap(first, hall.now)
        assert kiosk.tap("help", hall.now) is Effect.CALL_STAFF
        assert (kiosk.screen, kiosk.message) == (Screen.MESSAGE, "已通知工作人员，请在此稍候。")


def test_the_documents_tile_says_it_is_not_open_yet_instead_of_doing_nothing() -> None:
    hall = Hall()
    assert hall.kiosk.tap("documents", hall.now) is None
    assert (hall.kiosk.screen, hall.kiosk.message) == (Screen.MESSAGE, "本机暂未开通材料提交，请取号到窗口办理。")


def test_a_ticket_prints_then_says_when_the_printer_failed() -> None:
    hall = Hall()
    kiosk = hall.kiosk
    kiosk.on_issue_reply(appointment_reply(None), printed=None)
    assert kiosk.ticket is not None and kiosk.ticket.printed is None and kiosk.ticket.appointment == ""
    kiosk.on_printed(False, "打印机缺纸，请记下屏幕上的号码", "The printer is out of paper; please note the number")
    assert kiosk.ticket.printed is False and kiosk.ticket.print_note == "打印机缺纸，请记下屏幕上的号码"
    assert kiosk.screen == Screen.TICKET and kiosk.ticket.number == "A005"  # the ticket stays valid


def spoken(kiosk: KioskModel) -> list[str]:
    return list(kiosk.spoken().sentences)


def test_elder_mode_reads_every_screen_in_its_language() -> None:
    hall = Hall()
    hall.open_windows("centre")
    hall.serve_everywhere("centre", minutes=3)
    hall.refresh()
    kiosk = hall.kiosk
    kiosk.tap("elder", hall.now)
    assert spoken(kiosk) == ["您好，请选择要办理的业务", "取号", "预约签到", "呼叫工作人员"]
    kiosk.tap("take", hall.now)
    assert spoken(kiosk)[0] == "请选择办理事项" and "个体工商户设立登记" in spoken(kiosk)
    body = kiosk.choose_matter("A02", hall.now)
    assert body is not None and spoken(kiosk) == ["正在处理…"]
    kiosk.on_issue_reply(hall.issue(body, "mine"))
    ticket = spoken(kiosk)
    assert ticket[:3] == ["您的号码是 A 零零四", "个体工商户设立登记", "前面还有 0 人"]
    assert ticket[3].startswith("窗口忙，大约 ") and "–" not in ticket[3] and ticket[4].startswith("请留意 1、")
    assert ticket[5] == "请准备以下材料：" and "原件" in ticket[6]
    kiosk.tap("home", hall.now)
    kiosk.tap("checkin", hall.now)
    assert spoken(kiosk) == ["预约签到", "请将预约二维码对准摄像头。"]
    kiosk.tap("help", hall.now)
    assert spoken(kiosk) == ["已通知工作人员，请在此稍候。"]
    kiosk.tap("language", hall.now)
    kiosk.tap("home", hall.now)
    english = kiosk.spoken()
    assert english.language == "en" and english.sentences[:2] == ("Hello! What would you like to do?", "Take a ticket")
    kiosk.on_issue_reply(appointment_reply())
    assert spoken(kiosk)[:3] == [
        "Your number is A zero zero five",
        "Individual business registration",
        "Appointment 10:00-10:30",
    ]
    kiosk.hub_online = False
    assert spoken(kiosk)[0] == "No connection to the service system"


def test_the_idle_warning_is_read_apart_from_the_screen() -> None:
    hall = Hall()
    kiosk = hall.kiosk
    kiosk.tap("elder", hall.now)
    kiosk.tap("take", hall.now)
    kiosk.tick(hall.now + timedelta(seconds=kiosk.timing.elder_idle_seconds - 10))
    said = kiosk.spoken()
    assert said.warning == "您还在吗？10 秒后返回首页。" and said.warning not in said.sentences
    assert said.everything[-1] == said.warning


def test_every_kiosk_text_has_a_chinese_translation() -> None:
    """Each message id the kiosk's code asks for (``texts("...")``, ``t("...")``) is in the zh_CN catalog."""
    import re  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from devicekit.texts import catalog  # noqa: PLC0415
    from kiosk.view import CATEGORY_NAMES  # noqa: PLC0415

    code = "".join(path.read_text() for path in Path(__file__).resolve().parents[2].joinpath("kiosk").glob("*.py"))
    ids = set(re.findall(r'\b(?:texts|t)\(\s*"([^"]+)"', code)) | set(CATEGORY_NAMES.values())
    assert len(ids) > 40
    chinese = catalog("kiosk", "zh_CN")
    missing = sorted(message for message in ids if chinese.gettext(message) == message)
    assert not missing
