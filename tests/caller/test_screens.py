"""The caller's screens in a real, offscreen Kivy window (one ``render_caller.py`` process per render): drawn at their
size, Chinese with real glyphs rather than boxes, every block there, nothing outside the window, and the compact
layout usable at 360×640."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from tests.caller.conftest import RENDERS, Renders
from tests.caller.render_caller import RETURN_REASON, SCREENSHOTS
from tests.kiosk.test_screens import Render, glyph_shapes

ROOT = Path(__file__).resolve().parents[2]
MATTER = "营业执照变更登记"
"""The first queued ticket's matter: Chinese characters only, none of which Roboto has."""


@pytest.fixture(scope="module")
def renders(caller_renders: Renders) -> dict[str, Render]:
    """Started in the background by conftest.py with the first caller test."""
    if not caller_renders.futures:
        caller_renders.start()
    return {name: caller_renders.result(name) for name in RENDERS}


def role(render: Render, name: str) -> dict[str, Any]:
    return next(label for label in render.labels if label["role"] == name)


def roles(render: Render, name: str) -> list[str]:
    return [label["text"] for label in render.labels if label["role"] == name]


@pytest.mark.parametrize("name", list(RENDERS))
def test_every_screen_is_drawn_at_its_size(renders: dict[str, Render], name: str) -> None:
    render = renders[name]
    image = Image.open(render.png)
    assert list(image.size) == render.data["size"]
    assert ImageStat.Stat(image.convert("L")).stddev[0] > 20, "blank screenshot"


def test_chinese_is_drawn_with_real_glyphs_not_boxes(renders: dict[str, Render]) -> None:
    cjk, boxes = renders["main"], renders["main-roboto"]
    label, box_label = cjk.label(MATTER), boxes.label(MATTER)
    assert label["role"] == "queue-matter"
    assert label["box"] == box_label["box"]
    runs, distinct = glyph_shapes(cjk.crop(label))
    assert distinct >= len(set(MATTER)) - 1, (runs, distinct)
    box_runs, box_distinct = glyph_shapes(boxes.crop(box_label))
    assert box_runs >= 1 and box_distinct <= 2, (box_runs, box_distinct)  # the check tells boxes from glyphs
    difference = ImageChops.difference(cjk.crop(label), boxes.crop(box_label))
    assert ImageStat.Stat(difference).mean[0] > 5
    assert ImageStat.Stat(cjk.crop(role(cjk, "status"))).stddev[0] > 20  # the status chip's text is drawn


@pytest.mark.parametrize("name", list(RENDERS))
def test_no_text_is_outside_the_window(renders: dict[str, Render], name: str) -> None:
    render = renders[name]
    width, height = render.data["size"]
    for label in render.labels:
        x, y, w, h = label["box"]
        if label["role"] in ("material", "queue-number", "queue-matter", "queue-class", "queue-waited", "queue-state"):
            continue  # in a scrolling list: part of it may be out of view by design
        assert x >= -1 and y >= -1 and x + w <= width + 1 and y + h <= height + 1, f"off the window: {label}"
        if not label["button"]:
            assert label["texture"][1] <= h + 1, f"taller than its box: {label}"


def test_the_main_screen_shows_the_ticket_the_buttons_the_queue_and_the_alert(renders: dict[str, Render]) -> None:
    render = renders["main"]
    assert role(render, "number")["text"] == "A002" and role(render, "number")["font_dp"] >= 60
    assert role(render, "status")["text"] == "办理中" and role(render, "window")["text"].startswith("1号综合窗口")
    assert role(render, "alert")["text"] == "2 人等候超过 15 分钟：A003 B001"
    assert roles(render, "queue-number")[:3] == ["A003", "A004", "B001"] and len(roles(render, "queue-number")) == 9
    assert "挂起" in roles(render, "queue-state") and len(roles(render, "material")) == 5
    keys = {button["key"]: button for button in render.data["buttons"]}
    assert {f"F{n}" for n in range(1, 11)} | {"F12"} <= set(keys)
    assert keys["F1"]["label"] == "呼叫下一位" and keys["F1"]["enabled"]
    assert keys["F4"]["label"] == "办结" and keys["F4"]["enabled"] and not keys["F3"]["enabled"]
    assert keys["F7"]["label"] == "特呼" and keys["F7"]["enabled"]  # A004 is chosen
    assert min(button["height_dp"] for button in render.data["buttons"]) >= 44


def test_the_compact_layout_fits_a_narrow_window(renders: dict[str, Render]) -> None:
    render = renders["compact"]
    assert role(render, "number")["text"] == "A002" and role(render, "number")["font_dp"] >= 48
    assert role(render, "alert")["text"] == "2 人等候超过 15 分钟：A003 B001"
    assert role(render, "queue-title")["text"] == "等候队列：8 人"
    assert role(render, "queue-chosen")["text"] == "已选：A004（F7）"
    buttons = render.data["buttons"]
    assert {button["key"] for button in buttons} == {f"F{n}" for n in range(1, 11)}
    small = [b for b in buttons if b["width_dp"] < 44 or b["height_dp"] < 44]
    assert not small, small


def test_signing_in_and_the_hub_unreachable(renders: dict[str, Render]) -> None:
    sign_in = renders["sign-in"]
    assert role(sign_in, "title")["text"] == "1号综合窗口 签到"
    assert role(sign_in, "message")["text"] == "工号或密码错误"
    assert role(sign_in, "status")["text"] == "未签到"
    assert role(sign_in, "connection")["text"] == "无法连接服务器，正在重试"  # then the link lost the broker
    assert not roles(sign_in, "queue-title")
    assert {button["key"] for button in sign_in.data["buttons"]} == {"Enter", "F10", "F12"}


def test_a_returned_case_shows_with_the_ticket_and_what_to_correct(renders: dict[str, Render]) -> None:
    render = renders["case-returned"]
    assert role(render, "number")["text"] == "A002"
    assert role(render, "documents-title")["text"] == "自助终端已提交材料"
    assert role(render, "case-state")["text"] == "退回补正"
    assert role(render, "case-number")["text"] == "CENTRE-20261125-0007"
    assert role(render, "case-detail")["text"] == "企业开办（设立登记） · 4 页"
    reason = role(render, "case-reason")
    assert reason["text"] == f"补正原因：{RETURN_REASON}"
    assert reason["texture"][1] <= reason["box"][3] + 1  # wrapped into its box, not cut
    assert ImageStat.Stat(render.crop(reason)).stddev[0] > 20  # drawn, bold red on pale red
    below = [label["box"][1] for label in render.labels if label["role"] == "material"]
    assert len(below) == 5 and max(below) < reason["box"][1]  # the materials to check still show, under the case


@pytest.mark.parametrize(("name", "size"), [(name, size) for name, (_scene, size) in SCREENSHOTS.items()])
def test_the_documented_screenshots_are_there(name: str, size: str) -> None:
    """Made by ``python -m tests.caller.render_caller --all docs/screenshots``."""
    image = Image.open(ROOT / "docs" / "screenshots" / name)
    assert "x".join(map(str, image.size)) == size
