"""The kiosk's screens in a real, offscreen Kivy window: each rendered by ``render_kiosk.py`` in its own process (one
window per process), then checked on the PNG and on the measurements of what was drawn: Chinese glyphs rather than
boxes, elder-friendly sizes, targets and contrast, and no text cut off or spilling out of its panel."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageStat

from kiosk.config import ConfigError, load_config
from kiosk.theme import CJK_FONT, ELDER, NORMAL, Theme, contrast_ratio

ROOT = Path(__file__).resolve().parents[2]
KIVY_DIR = (importlib.util.find_spec("kivy").submodule_search_locations or [""])[0]  # type: ignore[union-attr]
ROBOTO = str(Path(KIVY_DIR) / "data" / "fonts" / "Roboto-Regular.ttf")
"""Kivy's own default font: no Chinese glyphs, so every Chinese character becomes the same box."""
SITE_NAME = "雁塔区政务服务中心"

RENDERS = {
    "home": ("home", "1366x768", CJK_FONT),
    "home-roboto": ("home", "1366x768", ROBOTO),
    "matters": ("matters", "1920x1080", CJK_FONT),
    "ticket": ("ticket", "1366x768", CJK_FONT),
    "ticket-portrait": ("ticket-unprinted", "1080x1920", CJK_FONT),
    "elder-home": ("elder-home", "1366x768", CJK_FONT),
    "elder-matters": ("elder-matters", "1366x768", CJK_FONT),
    "elder-ticket": ("elder-ticket", "1366x768", CJK_FONT),
    "elder-english-ticket": ("elder-english-ticket", "1366x768", CJK_FONT),
}
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
        image = Image.open(self.png).convert("L")
        x, y, width, height = label["box"]
        top = image.height - y - height
        return image.crop((round(x), round(top), round(x + width), round(top + height)))


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Render]]:
    folder = tmp_path_factory.mktemp("screens")

    def render(name: str) -> Render:
        scene, size, font = RENDERS[name]
        png, data = folder / f"{name}.png", folder / f"{name}.json"
        command = [sys.executable, "-m", "tests.kiosk.render_kiosk", scene, size, str(png), "--json", str(data)]
        done = subprocess.run(
            [*command, "--font", font], check=False, cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"{name}: {done.stderr[-3000:]}"
        return Render(png, json.loads(data.read_text()))

    with ThreadPoolExecutor(max_workers=4) as pool:
        yield dict(zip(RENDERS, pool.map(render, RENDERS), strict=True))


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
    cjk, boxes = renders["home"], renders["home-roboto"]
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
    render = renders["elder-ticket"]
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
    note = renders["matters"].label("今日号源已满")
    assert tuple(note["bg"]) == NORMAL.colours.unavailable.bg != NORMAL.colours.tile.bg


def test_the_ticket_says_when_printing_failed_and_only_then(renders: dict[str, Render]) -> None:
    def failed(render: Render) -> bool:
        return any("打印失败" in label["text"] for label in render.labels)

    assert failed(renders["ticket-portrait"]) and not failed(renders["ticket"])
    number = next(label for label in renders["ticket"].labels if label["role"] == "number")
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
