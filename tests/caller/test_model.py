"""The caller's logic without a window: the model and its screen, driven against the hub's real gateway in memory
(tests/caller/hall.py), so every action meets the real queue rules, the real staff check and the wire format."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

import contract as wire
from caller.config import ConfigError, load_config
from caller.hub_link import drive
from caller.model import SHORTCUTS, CallerModel, Panel, Request, Status
from caller.screen import CallerScreen
from caller.texts import Texts
from devicekit.materials import material_line
from devicekit.texts import LOCALE_DIR, catalog
from engine import events as ev
from hub.site_info import site_info
from tests.caller.hall import CLERK, CLERK_NAME, DISTRICT, PIN, SITE, WEDNESDAY_10AM, Hall


def screen(hall: Hall) -> CallerScreen:
    return CallerScreen(hall.model)


# -- signing in and out -------------------------------------------------------------------------------------------


def test_a_clerk_signs_in_with_staff_id_and_pin_and_gets_the_queue() -> None:
    hall = Hall()
    first, second = hall.issue("A02"), hall.issue("B01")
    assert hall.model.status is Status.SIGNED_OUT
    request = hall.model.sign_in(CLERK, PIN)
    assert request is not None and request.action == wire.Action.OPEN_WINDOW
    assert request.body == {"window_id": "w01", "staff_id": CLERK, "pin": PIN}
    hall.do(request)
    assert hall.model.clerk is not None and hall.model.clerk.name == CLERK_NAME
    assert hall.model.status is Status.IDLE and hall.model.message == "李敏 已签到"
    assert hall.numbers() == [first, second]  # the follow-up queue request, in calling order
    assert screen(hall).clerk_text() == "李敏（工号 li01）"
    assert screen(hall).window_name() == "1号综合窗口"


def test_a_wrong_pin_or_an_empty_field_signs_nobody_in() -> None:
    hall = Hall()
    hall.do(hall.model.sign_in(CLERK, "0000"))
    assert hall.model.clerk is None and hall.model.message == "工号或密码错误" and hall.model.message_is_error
    assert hall.model.sign_in("", PIN) is None and hall.model.message == "请输入工号和密码"
    assert hall.model.sign_in(CLERK, "") is None
    assert hall.model.command("call_next") is None and hall.model.message == "请先签到"


def test_signing_out_closes_the_window_and_forgets_the_queue() -> None:
    hall = Hall()
    hall.issue("A02")
    hall.sign_in()
    hall.do(hall.model.command("sign_out"))
    assert hall.model.status is Status.SIGNED_OUT and hall.model.queue == () and hall.model.message == "已签退"
    assert not hall.model.window.is_open
    assert hall.model.queue_request() is None  # nobody signed in: no queue


# -- the actions at the window ------------------------------------------------------------------------------------


def test_call_next_recall_start_and_finish() -> None:
    hall = Hall()
    number = hall.issue("A02")
    hall.issue("B01")
    hall.sign_in()
    hall.do(hall.model.command("call_next"))
    current = hall.model.current
    assert current is not None and current.number == number and hall.model.status is Status.CALLED
    assert hall.model.message == f"已呼叫 {number}" and number not in hall.numbers()
    assert screen(hall).current_matters() == "个体工商户设立登记"
    assert screen(hall).materials()[1] == "经营者居民身份证：原件 1 份，复印件 1 份"
    assert screen(hall).current_detail() == "已呼叫 1 次"

    hall.do(hall.model.command("recall"))
    assert hall.model.current is not None and hall.model.current.calls == 2
    assert hall.model.message == f"已重呼 {number}（第 2 次）"

    hall.do(hall.model.command("start"))
    assert hall.model.status is Status.SERVING and screen(hall).status_text() == "办理中"
    assert hall.model.message == f"开始办理 {number}"

    hall.do(hall.model.command("finish"))
    assert hall.model.current is None and hall.model.status is Status.IDLE
    assert hall.model.message == f"{number} 已办结"


def test_no_show_then_reactivate_from_the_queue() -> None:
    hall = Hall()
    number = hall.issue("A02")
    hall.sign_in()
    hall.do(hall.model.command("call_next"))
    hall.do(hall.model.command("no_show"))
    assert hall.model.current is None and hall.model.message == f"{number} 已过号"
    missed = next(line for line in screen(hall).queue_lines() if line.number == number)
    assert (missed.status, missed.status_text) == ("no_show", "过号")
    hall.model.select(missed.ticket_id)
    assert next(b for b in screen(hall).buttons() if b.key == "F7").label == "恢复排队"
    request = hall.model.shortcut("f7")
    assert request is not None and request.action == wire.Action.REACTIVATE
    hall.do(request)
    assert hall.model.message == f"{number} 已恢复排队"
    assert [(t.number, t.status) for t in hall.model.queue] == [(number, "waiting")]


def test_park_and_call_back() -> None:
    hall = Hall()
    number = hall.issue("A02")
    hall.issue("A02")
    hall.sign_in()
    hall.do(hall.model.command("call_next"))
    hall.do(hall.model.command("start"))
    hall.do(hall.model.command("park"))  # the citizen fetches a missing paper
    assert hall.model.current is None and hall.model.message == f"{number} 已挂起"
    parked = next(t for t in hall.model.queue if t.number == number)
    assert parked.status == "parked"
    hall.model.select(parked.ticket_id)
    request = hall.model.shortcut("f7")
    assert request is not None and request.action == wire.Action.CALL_BACK
    assert request.body == {"window_id": "w01", "ticket": number}
    hall.do(request)
    assert hall.model.current is not None and hall.model.current.number == number
    assert hall.model.message == f"已呼叫 {number}"


def test_call_a_chosen_ticket_out_of_order() -> None:
    hall = Hall()
    numbers = [hall.issue("A02") for _ in range(3)]
    hall.sign_in()
    hall.do(hall.model.command("call_ticket", ticket=numbers[2]))  # 特呼
    assert hall.model.current is not None and hall.model.current.number == numbers[2]
    assert hall.numbers() == numbers[:2]
    hall.do(hall.model.command("start"))
    hall.do(hall.model.command("start"))
    assert hall.model.message == f"{numbers[2]} 已在办理中"  # the hub says why
    hall.model.select_step(1)
    assert hall.model.selected is not None and hall.model.chosen() is not None
    assert hall.model.chosen().number == numbers[0]  # type: ignore[union-attr]
    assert next(b for b in screen(hall).buttons() if b.key == "F7").label == "特呼"


def test_transfer_to_a_matter_and_to_a_window() -> None:
    hall = Hall()
    first, second = hall.issue("A02"), hall.issue("A02")
    hall.sign_in()
    hall.do(hall.model.command("call_next"))
    assert hall.model.shortcut("f9") is None and hall.model.panel is Panel.TRANSFER
    targets = screen(hall).transfer_targets()
    assert ("to_window", "w02", "2号综合窗口") in [(t.kind, t.code, t.label) for t in targets]
    assert ("to_matter", "B01") in [(t.kind, t.code) for t in targets]
    assert all(t.code != "w01" for t in targets)
    hall.do(hall.model.command("transfer", to_matter="B01"))
    assert hall.model.current is None and hall.model.message == f"{first} 已转移"
    assert hall.model.panel is Panel.NONE

    hall.do(hall.model.command("call_ticket", ticket=second))
    hall.do(hall.model.command("transfer", to_window="w02"))
    assert hall.model.current is None and hall.model.message == f"{second} 已转移"
    assert second not in hall.numbers()  # it waits for window 2 alone now
    waiting_at_2 = hall.handle("caller-2", "queue", {"id": "q2", "window_id": "w02"})
    assert second in [t.number for t in waiting_at_2.queue or ()]


def test_pause_with_a_reason_and_resume() -> None:
    hall = Hall()
    hall.sign_in()
    assert hall.model.shortcut("f8") is None and hall.model.panel is Panel.PAUSE
    assert screen(hall).pause_reasons() == ["临时离开", "业务咨询", "系统故障", "工作会议"]
    request = hall.model.shortcut("1")
    assert request is not None and request.body == {"window_id": "w01", "reason": "临时离开"}
    hall.do(request)
    assert hall.model.status is Status.PAUSED and screen(hall).status_text() == "暂停：临时离开"
    assert hall.gateway.snapshot(SITE).windows[0].pause_reason == "临时离开"  # what the boards show
    call_next = next(b for b in screen(hall).buttons() if b.command == "call_next")
    assert not call_next.enabled and next(b for b in screen(hall).buttons() if b.key == "F8").label == "恢复"
    request = hall.model.shortcut("f8")
    assert request is not None and request.action == wire.Action.RESUME
    hall.do(request)
    assert hall.model.status is Status.IDLE and hall.model.message == "已恢复服务"


def test_refusals_show_the_hubs_reason_in_the_clerks_language() -> None:
    hall = Hall()
    hall.sign_in()
    hall.do(hall.model.command("call_next"))
    assert hall.model.message == "本窗口暂无等候的号" and hall.model.message_is_error
    assert hall.model.clerk is not None  # a refusal changes nothing else
    hall.model.shortcut("f12")
    hall.do(hall.model.command("call_next"))
    assert hall.model.message == "Nobody is waiting for this window"
    assert screen(hall).buttons()[0].label == "Call next" and screen(hall).status_text() == "Idle"


def test_the_buttons_follow_the_windows_state() -> None:
    hall = Hall()
    hall.issue("A02")

    def enabled() -> set[str]:
        return {b.command for b in screen(hall).buttons() if b.enabled}

    assert enabled() == set()
    hall.sign_in()
    assert enabled() == {"call_next", "pause_or_resume"}
    hall.do(hall.model.command("call_next"))
    assert enabled() == {"call_next", "recall", "start", "no_show", "park", "transfer"}
    hall.do(hall.model.command("start"))
    assert enabled() == {"call_next", "finish", "park", "transfer"}


# -- the hub unreachable ------------------------------------------------------------------------------------------


def test_an_unreachable_hub_keeps_the_clerk_and_the_ticket_and_a_retry_is_decided_once() -> None:
    hall = Hall()
    first, second = hall.issue("A02"), hall.issue("A02")
    hall.sign_in()
    hall.do(hall.model.command("call_next"))
    hall.down = True
    hall.do(hall.model.command("start"))
    assert hall.model.message == "无法连接服务器，正在重试" and hall.model.unreachable
    assert screen(hall).connection_text() == "无法连接服务器，正在重试"
    assert hall.model.clerk is not None and hall.model.current is not None and hall.model.current.number == first
    assert hall.model.status is Status.CALLED and hall.model.working is None
    hall.do(hall.model.queue_request())
    assert hall.numbers() == [second]  # the queue shown stays

    # the hub is back but the answer to the next action is lost: pressed again, it is the same request
    hall.down, hall.lose_replies = False, True
    lost = hall.model.command("call_next")
    drive(hall.model, hall.send, lost)
    assert hall.model.current is not None and hall.model.current.number == first  # nothing confirmed
    hall.model.on_snapshot(hall.gateway.snapshot(SITE))  # the site's snapshot shows what the hub did
    assert hall.model.current.number == second
    hall.lose_replies = False
    again = hall.model.command("call_next")
    assert lost is not None and again is not None and again.request_id == lost.request_id
    hall.do(again)
    assert hall.model.current is not None and hall.model.current.number == second  # called once, not twice
    assert [(t.number, t.status) for t in hall.model.queue] == [(first, "no_show")]  # call-next missed it, once
    assert not hall.model.unreachable


def test_the_link_going_away_and_coming_back() -> None:
    hall = Hall()
    hall.sign_in()
    hall.model.set_online(False)
    assert screen(hall).connection_text() == "无法连接服务器，正在重试" and hall.model.clerk is not None
    hall.model.set_online(True)
    assert screen(hall).connection_text() == ""


def test_one_action_at_a_time() -> None:
    hall = Hall()
    hall.issue("A02")
    hall.sign_in()
    first = hall.model.command("call_next")
    assert first is not None and hall.model.command("call_next") is None
    assert hall.model.message == "请稍候，上一操作尚未完成"
    hall.do(first)
    assert hall.model.working is None


def test_queue_refreshes_run_one_at_a_time_and_once_more_when_asked_meanwhile() -> None:
    hall = Hall()
    hall.sign_in()
    first = hall.model.queue_request()
    assert first is not None and hall.model.queue_request() is None  # asked while one is out
    hall.issue("A02")
    follow = hall.model.on_reply(first, hall.send(first))  # type: ignore[arg-type]
    assert len(follow) == 1 and follow[0].action == wire.Action.QUEUE
    hall.do(follow[0])
    assert len(hall.model.queue) == 1


# -- waits and the alert ------------------------------------------------------------------------------------------


def test_the_alert_names_the_tickets_waiting_past_the_target() -> None:
    hall = Hall()
    first = hall.issue("A02")
    hall.later(5)
    second = hall.issue("B01")
    hall.sign_in()
    hall.later(9)
    hall.refresh()
    assert screen(hall).alert() is None  # 14 and 9 minutes
    hall.later(1.5)  # no refresh: the waits grow on the caller's clock
    alert = screen(hall).alert()
    assert alert is not None and (alert.count, alert.numbers) == (1, (first,))
    assert alert.text == f"1 人等候超过 15 分钟：{first}"
    lines = {line.number: line for line in screen(hall).queue_lines()}
    assert lines[first].overdue and lines[first].waited_text == "15 分钟" and not lines[second].overdue

    hall.model.configured_target = 10
    alert = screen(hall).alert()
    assert alert is not None and alert.numbers == (first, second)
    hall.model.shortcut("f12")
    assert screen(hall).alert().text == f"2 waited over 10 min: {first} {second}"  # type: ignore[union-attr]


def test_parked_and_missed_tickets_never_raise_the_alert() -> None:
    hall = Hall()
    hall.issue("A02")
    hall.sign_in()
    hall.do(hall.model.command("call_next"))
    hall.do(hall.model.command("park"))
    hall.later(60)
    hall.refresh()
    assert hall.model.queue[0].status == "parked" and screen(hall).alert() is None


# -- keys, layout, language ---------------------------------------------------------------------------------------


def test_shortcuts_map_every_function_key_to_its_action() -> None:
    assert {key: SHORTCUTS[key] for key in ("f1", "f2", "f3", "f4", "f5", "f6", "f8")} == {
        "f1": "call_next",
        "f2": "recall",
        "f3": "start",
        "f4": "finish",
        "f5": "no_show",
        "f6": "park",
        "f8": "pause_or_resume",
    }
    hall = Hall()
    hall.issue("A02")
    assert hall.model.shortcut("f1") is None and hall.sent == []  # signed out: no action keys
    hall.sign_in()
    actions = {}
    for key in ("f1", "f2", "f3", "f4", "f5", "f6"):
        request = hall.model.shortcut(key)
        assert request is not None
        actions[key] = request.action
        hall.model.working = None  # not sent: free the model for the next key
    assert actions == {
        "f1": wire.Action.CALL_NEXT,
        "f2": wire.Action.RECALL,
        "f3": wire.Action.START,
        "f4": wire.Action.FINISH,
        "f5": wire.Action.NO_SHOW,
        "f6": wire.Action.PARK,
    }
    assert hall.model.shortcut("f11") is None
    hall.model.shortcut("f9")
    assert hall.model.panel is Panel.TRANSFER
    hall.model.shortcut("escape")
    assert hall.model.panel is Panel.NONE


def test_arrow_keys_choose_in_the_queue() -> None:
    hall = Hall()
    numbers = [hall.issue("A02") for _ in range(3)]
    hall.sign_in()
    for key, expected in (("down", 0), ("down", 1), ("down", 2), ("down", 2), ("up", 1)):
        hall.model.shortcut(key)
        chosen = hall.model.chosen()
        assert chosen is not None and chosen.number == numbers[expected]
    assert [line.selected for line in screen(hall).queue_lines()] == [False, True, False]


def test_compact_mode_switches_by_key_and_by_button_and_starts_from_config() -> None:
    hall = Hall()
    assert not hall.model.compact
    hall.model.shortcut("f10")  # also before signing in
    assert hall.model.compact
    hall.model.command("compact")
    assert not hall.model.compact
    assert CallerModel(SITE, "w01", compact=True).compact


def test_events_from_elsewhere_and_a_snapshot_after_a_restart() -> None:
    hall = Hall()
    number = hall.issue("A02")
    hall.sign_in()
    hall.do(hall.model.command("call_next"))
    current = hall.model.current
    assert current is not None and current.ticket_id is not None
    # a caller that starts while the ticket is at the window learns the number from the snapshot, the matter from
    # the queue or the site's events
    fresh = CallerModel(SITE, "w01", Texts())
    fresh.on_snapshot(hall.gateway.snapshot(SITE))
    assert fresh.current is not None and fresh.current.number == number and fresh.current.matters == ()
    fresh.window.learn(current.ticket_id, number, ("A02",))
    assert fresh.current.matters == ("A02",)
    # the manager cancels the ticket at the console: the event reaches the caller on the events topic
    cancelled = ev.TicketCancelled(site_id=SITE, seq=hall.model.window.seq + 1, at=WEDNESDAY_10AM, ticket_id="x")
    hall.model.on_event(cancelled)
    assert hall.model.current is not None  # another ticket
    hall.model.on_event(
        ev.TicketCancelled(site_id=SITE, seq=cancelled.seq + 1, at=WEDNESDAY_10AM, ticket_id=current.ticket_id)
    )
    assert hall.model.current is None
    stale = ev.TicketCalled(
        site_id=SITE,
        seq=3,
        at=WEDNESDAY_10AM,
        ticket_id=current.ticket_id,
        number=number,
        window_id="w01",
        kind=ev.CallKind.NEXT,
        call_count=1,
    )
    hall.model.on_event(stale)  # an old event arriving late changes nothing
    assert hall.model.current is None


def test_the_english_texts_and_every_chinese_text_exists() -> None:
    hall = Hall(language="en")
    hall.issue("A02")
    hall.sign_in()
    assert hall.model.message == f"Signed in: {CLERK_NAME}"
    assert screen(hall).queue_title() == "Queue: 1 waiting"
    assert screen(hall).window_name() == "Window 1 – comprehensive"
    chinese = catalog("caller", "zh_CN")
    po = (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "caller.po").read_text()
    ids = [line[len('msgid "') : -1] for line in po.splitlines() if line.startswith('msgid "') and len(line) > 8]
    assert len(ids) > 70
    untranslated = [message for message in ids if chinese.gettext(message) == message]
    assert not untranslated
    used = _message_ids_in_the_code()
    assert used - set(ids) == set()


def _message_ids_in_the_code() -> set[str]:
    source = "\n".join(path.read_text() for path in Path("caller").glob("*.py"))
    calls = re.findall(r'\b(?:t|texts)\("([^"]+)"', source)
    constants = re.findall(r'^\s*(?:"[a-z_]+"|Status\.[A-Z_]+): "([A-Z][^"]+)",?$', source, re.MULTILINE)
    return {*calls, *constants}


# -- configuration ------------------------------------------------------------------------------------------------


def test_config_reads_toml_then_environment_and_names_a_bad_key(tmp_path: Path) -> None:
    path = tmp_path / "caller.toml"
    path.write_text('site = "xiaozhai"\nwindow = "w02"\ncompact = true\ntarget_wait_minutes = 20\n')
    config = load_config(path, {"CALLER_DEVICE_ID": "caller-x", "CALLER_COMPACT": "false", "KIOSK_SITE": "no"})
    assert (config.site, config.window, config.device_id, config.compact) == ("xiaozhai", "w02", "caller-x", False)
    assert config.target_wait_minutes == 20 and config.window_size == (1280, 800)
    assert load_config(None, {"CALLER_COMPACT": "true"}).window_size == (360, 640)
    assert load_config(None, {}).target_wait_minutes is None  # the site's own target
    with pytest.raises(ConfigError, match="target_wait_minutes"):
        load_config(None, {"CALLER_TARGET_WAIT_MINUTES": "0"})
    with pytest.raises(ConfigError, match="language"):
        load_config(None, {"CALLER_LANGUAGE": "fr"})


def test_requests_match_the_contract() -> None:
    """Every request the model makes decodes as its action's request type (no unknown field, nothing missing)."""
    hall = Hall()
    number = hall.issue("A02")
    hall.sign_in()
    made: list[Request] = [r for r in hall.sent]
    model = hall.model
    for name, params in (
        ("call_next", {}),
        ("recall", {}),
        ("start", {}),
        ("finish", {}),
        ("no_show", {}),
        ("park", {}),
        ("resume", {}),
        ("pause", {"reason": "临时离开"}),
        ("call_ticket", {"ticket": number}),
        ("call_back", {"ticket": number}),
        ("reactivate", {"ticket": number}),
        ("transfer", {"to_window": "w02"}),
        ("sign_out", {}),
    ):
        model.working = None
        request = model.command(name, **params)
        assert request is not None, name
        made.append(request)
    for request in made:
        payload = wire.encode(wire.REQUEST_TYPES[request.action](v=1, id=request.request_id, **request.body))
        assert wire.decode_request(request.action, payload).id == request.request_id


def test_a_snapshot_overtaking_the_reply_does_not_hide_that_service_started() -> None:
    """The hub publishes the events, the snapshot and the reply at once; the app may apply them in any order."""
    hall = Hall()
    number = hall.issue("A02")
    hall.sign_in()
    hall.do(hall.model.command("call_next"))
    request = hall.model.command("start")
    assert request is not None
    reply = hall.send(request)
    assert reply is not None
    hall.model.on_snapshot(hall.gateway.snapshot(SITE))  # says A001 is at the window and being served
    assert hall.model.status is Status.SERVING
    hall.model.on_reply(request, reply)
    assert hall.model.status is Status.SERVING and hall.model.message == f"开始办理 {number}"
    # and a late event older than the snapshot cannot bring back a ticket the snapshot says is gone
    finish = hall.model.command("finish")
    assert finish is not None
    finished = hall.send(finish)
    assert finished is not None
    hall.model.on_snapshot(hall.gateway.snapshot(SITE))
    hall.model.on_reply(finish, finished)
    assert hall.model.current is None


def test_after_a_restart_the_clerk_signs_in_again_at_the_open_window() -> None:
    hall = Hall()
    number = hall.issue("A02")
    hall.sign_in()
    hall.do(hall.model.command("call_next"))
    # the caller restarts: a new model, the window still open with the ticket at it
    restarted = Hall.__new__(Hall)
    restarted.__dict__.update(hall.__dict__)
    restarted.model = CallerModel(SITE, "w01", Texts(), clock=lambda: hall.now)
    restarted.model.on_info(hall.model.info)  # type: ignore[arg-type]
    restarted.do(None)  # the retained snapshot
    assert restarted.model.current is not None and restarted.model.current.number == number
    restarted.do(restarted.model.sign_in(CLERK, "1111"))
    assert restarted.model.clerk is None and restarted.model.message == "工号或密码错误"  # the PIN still counts
    restarted.do(restarted.model.sign_in(CLERK, PIN))
    assert restarted.model.clerk is not None and restarted.model.message == "李敏 已签到"  # the hub: same clerk
    assert restarted.model.status is Status.CALLED
    restarted.do(restarted.model.command("start"))
    assert restarted.model.status is Status.SERVING


def test_only_the_next_action_can_be_a_retry() -> None:
    hall = Hall()
    hall.issue("A02")
    hall.sign_in()
    hall.down = True
    lost = hall.model.command("call_next")
    hall.do(lost)
    hall.down = False
    hall.do(hall.model.command("pause", reason="临时离开"))  # something else went through meanwhile
    hall.do(hall.model.command("resume"))
    later = hall.model.command("call_next")
    assert lost is not None and later is not None and later.request_id != lost.request_id


def test_a_material_asking_no_copies_is_said_without_a_count_of_zero() -> None:
    texts = Texts()
    material = wire.MaterialInfo(name_zh="申请书", name_en="Application form", originals=1, copies=0)

    assert material_line(texts, material) == "申请书：原件 1 份"
    texts.language = "en"
    assert material_line(texts, material) == "Application form: 1 original(s)"


def test_a_new_grid_asks_for_the_queue_again_and_a_resent_info_does_not() -> None:
    hall = Hall()
    site = DISTRICT.site(SITE)
    assert site is not None and hall.model.info is not None
    w01 = next(window for window in site.windows if window.id == "w01")
    regridded = msgspec.structs.replace(
        site,
        windows=tuple(
            msgspec.structs.replace(w, weights={**w01.weights, "G01": 1}) if w.id == "w01" else w for w in site.windows
        ),
    )

    assert hall.model.on_info(site_info(DISTRICT, site)) is False  # the same grid, published again each tick
    assert hall.model.on_info(site_info(DISTRICT, regridded)) is True
    assert hall.model.info is not None
    assert 1 in next(m.windows for m in hall.model.info.matters if m.code == "G01")
