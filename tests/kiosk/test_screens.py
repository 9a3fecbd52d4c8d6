"""The kiosk's screens in a real, offscreen Kivy window: each rendered by ``render_kiosk.py`` in its own process (one
window per process), then checked on the PNG and on the measurements of what was drawn: Chinese glyphs rather than
boxes, elder-friendly sizes, targets and contrast, and no text cut off or spilling out of its panel."""

from __future__ import annotations

import functools
import importlib.util
import json
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from devicekit.look import CJK_FONT
from kiosk.config import ConfigError, load_config, printer_transport
from kiosk.printer import FileTransport, NetworkTransport, SerialTransport, UsbTransport
from kiosk.theme import ELDER, NORMAL, Theme, contrast_ratio
from tests.kiosk.render_kiosk import SCREENSHOTS, Job, render_command

ROOT = Path(__file__).resolve().parents[2]
KIVY_DIR = (importlib.util.find_spec("kivy").submodule_search_locations or [""])[0]  # type: ignore[union-attr]
ROBOTO = str(Path(KIVY_DIR) / "data" / "fonts" / "Roboto-Regular.ttf")
"""Kivy's own default font: no Chinese glyphs, so every Chinese character becomes the same box."""
SITE_NAME = "雁塔区政务服务中心"

RENDERS = {
    **{
        name.removeprefix("kiosk-").removesuffix(".png"): (scene, size, CJK_FONT)
        for name, (scene, size) in SCREENSHOTS.items()
    },
    "home-roboto": ("home", "1366x768", ROBOTO),
    "elder-matters": ("elder-matters", "1366x768", CJK_FONT),
    "elder-english-ticket": ("elder-english-ticket", "1366x768", CJK_FONT),
    "rating-scan-768p": ("rating-scan", "1366x768", CJK_FONT),
    "rating-thanks-768p": ("rating-thanks", "1366x768", CJK_FONT),
    "elder-rating-unreachable-1080p": ("elder-rating-unreachable", "1920x1080", CJK_FONT),
    "elder-officer-code-1080p": ("elder-officer-code", "1920x1080", CJK_FONT),
}
"""Every screenshot kept in docs/screenshots/, at its size, and a few more screens."""
ELDER_RENDERS = [name for name in RENDERS if name.startswith("elder")]
NORMAL_RENDERS = [name for name in RENDERS if not name.startswith("elder")]
LARGE_ROLES = {"number", "wait", "main", "title", "hero"}
"""The ticket number, waits, button labels, key facts and headings: ≥ 30 dp in elder mode."""


@dataclass(frozen=True)
class Render:
    png: Path
    data: dict[str, Any]

    @property
    def labels(self) -> list[dict[str, Any]]:
        return [label for label in self.data["labels"] if label["text"].strip()]

    def label(self, text: str) -> dict[str, Any]:
        return next(label for label in self.labels if label["text"] == text)

    def crop(self, label: dict[str, Any]) -> Image.Image:
        """The label's box in the screenshot (Kivy counts y from the bottom, images from the top)."""
        image = _grey(self.png)
        x, y, width, height = label["box"]
        top = image.height - y - height
        return image.crop((round(x), round(top), round(x + width), round(top + height)))


@functools.cache
def _grey(png: Path) -> Image.Image:
    return Image.open(png).convert("L")


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Render]]:
    """Every render, one child process per window size and font (each opens one Kivy window)."""
    folder = tmp_path_factory.mktemp("screens")
    groups: dict[tuple[str, str], list[tuple[str, Job]]] = {}
    for name, (scene, size, font) in RENDERS.items():
        job = Job(scene, folder / f"{name}.png", folder / f"{name}.json")
        groups.setdefault((size, font), []).append((name, job))

    def render(group: tuple[str, str]) -> None:
        size, font = group
        jobs = [job for _, job in groups[group]]
        done = subprocess.run(
            render_command(jobs, size, font), check=False, cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{size} {font}: {done.stderr[-3000:]}"

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(render, groups))
    yield {
        name: Render(job.out, json.loads(job.measurements.read_text()))  # type: ignore[union-attr]
        for group in groups.values()
        for name, job in group
    }


def glyph_shapes(image: Image.Image, threshold: int = 80) -> tuple[int, int]:
    """(runs of inked columns, distinct bitmaps among them) of a line of text. Every character missing from the font
    is drawn as the same box, so boxes give many runs but one or two distinct shapes; real glyphs differ."""
    histogram = image.histogram()
    background = max(range(256), key=histogram.__getitem__)
    pixels = image.load()
    assert pixels is not None
    columns = [
        tuple(abs(int(pixels[x, y]) - background) > threshold for y in range(image.height))  # type: ignore[arg-type]
        for x in range(image.width)
    ]
    runs: list[list[tuple[bool, ...]]] = [[]]
    for column in columns:
        if any(column):
            runs[-1].append(column)
        elif runs[-1]:
            runs.append([])
    shapes = [tuple(run) for run in runs if run]
    return len(shapes), len(set(shapes))


# -- the screenshots ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(RENDERS))
def test_every_screen_is_drawn_at_its_size(renders: dict[str, Render], name: str) -> None:
    render = renders[name]
    image = Image.open(render.png)
    assert list(image.size) == render.data["size"]
    assert ImageStat.Stat(image.convert("L")).stddev[0] > 20, "blank screenshot"


def test_chinese_text_is_drawn_with_real_glyphs_not_boxes(renders: dict[str, Render]) -> None:
    cjk, boxes = renders["home-768p"], renders["home-roboto"]
    runs, distinct = glyph_shapes(cjk.crop(cjk.label(SITE_NAME)))
    assert distinct >= len(set(SITE_NAME)) - 1, (runs, distinct)
    # the same check on the font without Chinese glyphs: the name is a row of identical boxes, and the check says so
    box_runs, box_distinct = glyph_shapes(boxes.crop(boxes.label(SITE_NAME)))
    assert box_runs >= 1 and box_distinct <= 2, (box_runs, box_distinct)


@pytest.mark.parametrize("name", list(RENDERS))
def test_no_text_is_cut_off_or_spills_out_of_its_panel(renders: dict[str, Render], name: str) -> None:
    render = renders[name]
    width, height = render.data["size"]
    for label in render.labels:
        x, y, w, h = label["box"]
        assert label["texture"][0] <= w + 1 and label["texture"][1] <= h + 1, f"text larger than its box: {label}"
        if label["scrolls"]:
            continue  # a scrolling list shows part of itself by design
        assert x >= 0 and y >= 0 and x + w <= width + 1 and y + h <= height + 1, f"off the screen: {label}"
        px, py, pw, ph = label["panel"]
        assert px - 1 <= x and x + w <= px + pw + 1, f"spills out of its panel sideways: {label}"
        assert py - 1 <= y and y + h <= py + ph + 1, f"spills out of its panel: {label}"


@pytest.mark.parametrize("name", list(RENDERS))
def test_every_text_is_drawn_where_its_label_is(renders: dict[str, Render], name: str) -> None:
    """No empty text area: each label's box holds ink of its own colour (a missing font, a zero-size texture or a
    label drawn off its box would leave only the background)."""
    render = renders[name]
    for label in render.labels:
        if label["scrolls"] or not label["text"].strip():
            continue
        crop = render.crop(label)
        histogram = crop.histogram()
        background = max(range(256), key=histogram.__getitem__)
        inked = sum(count for level, count in enumerate(histogram) if abs(level - background) > 60)
        assert inked >= min(40, crop.width * crop.height // 50), f"nothing drawn for {label['text']!r}"


def test_a_font_without_chinese_glyphs_draws_a_different_screen(renders: dict[str, Render]) -> None:
    cjk = Image.open(renders["home-768p"].png).convert("L")
    boxes = Image.open(renders["home-roboto"].png).convert("L")
    difference = ImageChops.difference(cjk, boxes)
    changed = sum(count for level, count in enumerate(difference.histogram()) if level > 40)
    assert changed > 0.01 * cjk.width * cjk.height


@pytest.mark.parametrize("size", ["1080p", "768p"])
def test_check_in_asks_for_the_code_and_shows_where_to_hold_it(renders: dict[str, Render], size: str) -> None:
    render = renders[f"checkin-{size}"]
    texts = [label["text"] for label in render.labels]
    assert "预约签到" in texts and "请将预约二维码对准摄像头。" in texts and "正在识别…" in texts
    assert any(button["text"] == "返回" for button in render.data["buttons"])
    elder = renders[f"elder-checkin-{size}"]
    assert elder.label("请将预约二维码对准摄像头。")["font_dp"] >= 30


def test_a_checked_in_ticket_shows_its_slot_and_a_refusal_offers_to_scan_again(renders: dict[str, Render]) -> None:
    ticket = renders["checkin-ticket-1080p"]
    assert ticket.label("预约时段 10:00-10:30")["role"] == "main"
    refused = renders["checkin-refused-768p"]
    reason = refused.label("该预约已过期，请重新预约或现场取号")
    assert tuple(reason["bg"]) == NORMAL.colours.alert.bg
    assert [b["text"] for b in refused.data["buttons"] if b["text"] in ("重新扫码", "返回")] == ["重新扫码", "返回"]


@pytest.mark.parametrize("name", ["rating-1080p", "elder-rating-1080p"])
def test_the_rating_form_shows_five_levels_three_parts_and_reasons_with_the_choice_marked(
    renders: dict[str, Render], name: str
) -> None:
    render = renders[name]
    buttons = [button["text"] for button in render.data["buttons"]]
    levels = ["非常满意", "满意", "基本满意", "√不满意", "非常不满意"]
    assert buttons[buttons.index("非常满意") : buttons.index("非常满意") + 5] == levels  # the big row, first
    marked = ["√不满意", "√不满意", "√基本满意", "√等候时间长", "√未一次性告知"]  # overall, two parts, two reasons
    assert [b for b in buttons if b.startswith("√")] == marked
    texts = [label["text"] for label in render.labels]
    assert {"办事效率", "服务水平", "服务态度", "B012 · 城乡居民养老保险参保登记 · 5 号窗口", "提交评价"} <= set(texts)
    chosen = next(label for label in render.labels if label["text"] == "√不满意")
    assert tuple(chosen["bg"]) == (ELDER if name.startswith("elder") else NORMAL).colours.primary.bg


def test_rating_asks_for_the_ticket_then_thanks_and_a_lost_hub_offers_to_try_again(
    renders: dict[str, Render],
) -> None:
    scan = [label["text"] for label in renders["rating-scan-768p"].labels]
    assert "请将号票上的二维码对准摄像头。" in scan and "正在识别…" in scan
    assert "感谢您的评价！" in [label["text"] for label in renders["rating-thanks-768p"].labels]
    lost = renders["elder-rating-unreachable-1080p"]
    assert "暂时无法连接服务系统，请稍后重试或咨询工作人员。" in [label["text"] for label in lost.labels]
    assert [b["text"] for b in lost.data["buttons"]][-3:] == ["重试", "扫描其他号票", "返回首页"]


def test_the_officer_entry_is_a_quiet_button_and_a_keypad_with_the_camera(renders: dict[str, Render]) -> None:
    matters = renders["matters-1080p"]
    way_in = matters.label("体验官")
    assert way_in["font_dp"] < matters.label("返回")["font_dp"]  # quieter than "返回" beside it
    assert tuple(way_in["bg"]) == NORMAL.colours.muted.bg
    for name in ("officer-code-1080p", "elder-officer-code-1080p"):
        render = renders[name]
        texts = [label["text"] for label in render.labels]
        assert "TY-7K2M-Q9" in texts and "或将编码的二维码对准摄像头。" in texts
        keys = [b["text"] for b in render.data["buttons"] if len(b["text"]) == 1]
        assert "".join(keys) == "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # the code's alphabet: no I, L, O, U


def test_handing_in_documents_shows_each_step_and_its_prompt_large(renders: dict[str, Render]) -> None:
    checklist = renders["documents-checklist-1080p"]
    assert any(label["text"].endswith("已以告知承诺代替") for label in checklist.labels)
    buttons = [button["text"] for button in checklist.data["buttons"]]
    assert {"拍摄", "查看已拍", "以承诺代替", "撤回承诺", "确认提交"} <= set(buttons)
    assert renders["elder-documents-capture-1080p"].label("请保持不动，将自动拍照")["font_dp"] >= 50
    assert [b["text"] for b in renders["documents-review-1080p"].data["buttons"]].count("重拍") == 2
    signer = "承诺人：张*丰 1101**********002X"
    assert signer in [label["text"] for label in renders["documents-commitment-1080p"].labels]
    number = renders["elder-documents-receipt-1080p"].label("CENTRE-20261125-0007")
    assert number["role"] == "number" and number["font_dp"] >= 40  # one line, however narrow the card


@pytest.mark.parametrize("size", ["1080p", "768p"])
def test_every_screenshot_size_keeps_the_home_screen_whole(renders: dict[str, Render], size: str) -> None:
    for name in (f"home-{size}", f"elder-home-{size}"):
        texts = [label["text"] for label in renders[name].labels]
        assert "取号" in texts and "预约签到" in texts and "呼叫工作人员" in texts, (name, texts)


# -- elder mode --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ELDER_RENDERS)
def test_elder_mode_text_is_large(renders: dict[str, Render], name: str) -> None:
    render = renders[name]
    assert render.data["theme"] == "elder"
    assert min(label["font_dp"] for label in render.labels) >= 18
    large = [label for label in render.labels if label["role"] in LARGE_ROLES]
    assert large and min(label["font_dp"] for label in large) >= 30, sorted(
        (label["font_dp"], label["text"]) for label in large
    )[:3]


@pytest.mark.parametrize("name", ELDER_RENDERS)
def test_elder_mode_targets_are_at_least_60_dp(renders: dict[str, Render], name: str) -> None:
    buttons = renders[name].data["buttons"]
    assert buttons
    small = [b for b in buttons if b["width_dp"] < 60 or b["height_dp"] < 60]
    assert not small, small


@pytest.mark.parametrize("name", ELDER_RENDERS)
def test_elder_mode_contrast_is_at_least_7_to_1(renders: dict[str, Render], name: str) -> None:
    render = renders[name]
    for pair in render.data["pairs"].values():
        assert contrast_ratio(tuple(pair["fg"]), tuple(pair["bg"])) >= 7, pair
    for label in render.labels:  # the colours actually drawn, against what is painted behind them
        assert contrast_ratio(tuple(label["color"]), tuple(label["bg"])) >= 7, label


def test_elder_ticket_shows_the_number_large_and_warns_with_one_tap_for_more_time(renders: dict[str, Render]) -> None:
    render = renders["elder-ticket-1080p"]
    number = next(label for label in render.labels if label["role"] == "number")
    assert number["font_dp"] >= 120
    assert any("秒后返回首页" in label["text"] for label in render.labels)
    assert any(button["text"] == "延长时间" for button in render.data["buttons"])


# -- normal mode -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NORMAL_RENDERS)
def test_normal_mode_targets_and_contrast(renders: dict[str, Render], name: str) -> None:
    render = renders[name]
    small = [b for b in render.data["buttons"] if b["width_dp"] < 44 or b["height_dp"] < 44]
    assert not small, small
    for label in render.labels:
        assert contrast_ratio(tuple(label["color"]), tuple(label["bg"])) >= 4.5, label


def test_a_sold_out_matter_is_greyed_and_says_why(renders: dict[str, Render]) -> None:
    note = renders["matters-1080p"].label("今日号源已满")
    assert tuple(note["bg"]) == NORMAL.colours.unavailable.bg != NORMAL.colours.tile.bg


def test_the_ticket_says_when_printing_failed_and_only_then(renders: dict[str, Render]) -> None:
    def failed(render: Render) -> bool:
        return any("打印失败" in label["text"] for label in render.labels)

    assert failed(renders["ticket-portrait"]) and not failed(renders["ticket-768p"])
    number = next(label for label in renders["ticket-768p"].labels if label["role"] == "number")
    assert number["font_dp"] >= 120


# -- the themes and the configuration as data ------------------------------------------------------------------------


@pytest.mark.parametrize(("theme", "least"), [(ELDER, 7.0), (NORMAL, 4.5)])
def test_every_colour_pair_of_a_theme_is_readable(theme: Theme, least: float) -> None:
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21)
    assert contrast_ratio((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)
    weak = {name: round(pair.contrast, 2) for name, pair in theme.colours.pairs().items() if pair.contrast < least}
    assert not weak


def test_elder_theme_sizes_follow_the_elder_friendly_rules() -> None:
    assert ELDER.caption >= 18 and min(ELDER.wait, ELDER.main, ELDER.title) >= 30 and ELDER.number >= 120
    assert ELDER.min_target >= 60 and ELDER.button_height >= 60 and NORMAL.min_target >= 44


def test_kiosk_config_reads_toml_then_environment_and_names_a_bad_key(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('site = "xiaozhai"\nwidth = 1080\nheight = 1920\nfullscreen = true\n')
    config = load_config(path, {"KIOSK_FULLSCREEN": "false", "KIOSK_DEVICE_ID": "kiosk-x", "HALL_SITE": "no"})
    assert (config.site, config.device_id, config.fullscreen, config.portrait) == ("xiaozhai", "kiosk-x", False, True)
    with pytest.raises(ConfigError, match="width"):
        load_config(path, {"KIOSK_WIDTH": "-5"})
    with pytest.raises(ConfigError, match="language"):
        load_config(None, {"KIOSK_LANGUAGE": "fr"})


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("", None),
        ("none", None),
        ("file:var/tickets.bin", FileTransport(path="var/tickets.bin")),
        ("serial:/dev/ttyUSB0", SerialTransport(port="/dev/ttyUSB0")),
        (
            "serial:/dev/ttyS1?baudrate=115200&timeout=0.3",
            SerialTransport(port="/dev/ttyS1", baudrate=115200, timeout=0.3),
        ),
        ("network:192.168.1.50", NetworkTransport(host="192.168.1.50")),
        ("network:192.168.1.50:9101", NetworkTransport(host="192.168.1.50", port=9101)),
        ("usb:0x0416:0x5011", UsbTransport(vendor_id=0x0416, product_id=0x5011)),
        ({"transport": "network", "host": "printer.hall", "port": 9100}, NetworkTransport(host="printer.hall")),
    ],
)
def test_the_printer_setting_names_a_transport(setting: Any, expected: Any) -> None:
    assert printer_transport(setting) == expected


def test_kiosk_config_reads_the_printer_camera_and_public_address(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(
        'public_url = "http://hall.example.cn"\ncamera = "2"\n[printer]\ntransport = "file"\npath = "t.bin"\n'
    )
    config = load_config(path, {"KIOSK_PRINTER_PROFILE": "epson-tm-t88v"})
    assert (config.public_url, config.camera_source, config.printer_profile) == (
        "http://hall.example.cn",
        2,
        "epson-tm-t88v",
    )
    assert printer_transport(config.printer) == FileTransport(path="t.bin")
    assert load_config(None, {"KIOSK_CAMERA": "/dev/video4", "KIOSK_PRINTER": "file:x"}).camera_source == "/dev/video4"
    for bad in ("lpt:1", "serial:", "usb:abc:1", "serial:/dev/x?baudrate=fast"):
        with pytest.raises(ConfigError, match="printer"):
            load_config(None, {"KIOSK_PRINTER": bad})
