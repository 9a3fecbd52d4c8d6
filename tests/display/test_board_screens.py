"""The hall display board in a real, offscreen Kivy window (one ``render_board.py`` process per render): drawn at its
size, Chinese with real glyphs, the newest number readable across a hall, and no text outside the screen."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from display.config import BoardConfig, ConfigError, load_config
from tests.kiosk.test_screens import ROBOTO, SITE_NAME, Render, glyph_shapes

ROOT = Path(__file__).resolve().parents[2]
RENDERS: dict[str, tuple[str, list[str]]] = {
    "landscape": ("1920x1080", []),
    "portrait": ("1080x1920", []),
    "roboto": ("1920x1080", ["--font", ROBOTO, "--offline"]),
    "zone": ("1080x1920", ["--zone"]),
}


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Render]]:
    folder = tmp_path_factory.mktemp("board")

    def render(name: str) -> Render:
        size, extra = RENDERS[name]
        png, data = folder / f"{name}.png", folder / f"{name}.json"
        command = [sys.executable, "-m", "tests.display.render_board", size, str(png), "--json", str(data), *extra]
        done = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{name}: {done.stderr[-3000:]}"
        return Render(png, json.loads(data.read_text()))

    with ThreadPoolExecutor(max_workers=4) as pool:
        yield dict(zip(RENDERS, pool.map(render, RENDERS), strict=True))


def role(render: Render, name: str) -> dict[str, Any]:
    return next(label for label in render.labels if label["role"] == name)


@pytest.mark.parametrize("name", list(RENDERS))
def test_the_board_is_drawn_at_its_size(renders: dict[str, Render], name: str) -> None:
    render = renders[name]
    image = Image.open(render.png)
    assert list(image.size) == render.data["size"]
    assert ImageStat.Stat(image.convert("L")).stddev[0] > 20, "blank screenshot"


@pytest.mark.parametrize("name", ["landscape", "portrait"])
def test_the_newest_call_is_huge_and_every_block_is_there(renders: dict[str, Render], name: str) -> None:
    render = renders[name]
    number, window = role(render, "number"), role(render, "window")
    assert (number["text"], window["text"]) == ("A004", "3号窗口")
    assert number["font_dp"] >= 100 and window["font_dp"] >= 100
    assert number["texture"][1] >= 100, "the number's glyphs are drawn at least 100 px tall on 1080p"
    roles = {label["role"] for label in render.labels}
    assert {"site", "date", "clock", "announcement", "recent-number", "recent-window", "matter", "count"} <= roles
    assert {"notice"} <= roles and role(render, "announcement")["text"] == "请 A004 号到 3 号窗口"
    assert [label["text"] for label in render.labels if label["role"] == "recent-number"][:2] == ["E001", "A003"]


def test_chinese_text_is_drawn_with_real_glyphs_not_boxes(renders: dict[str, Render]) -> None:
    for name in ("landscape", "portrait"):
        cjk = renders[name]
        runs, distinct = glyph_shapes(cjk.crop(cjk.label(SITE_NAME)))
        assert distinct >= len(set(SITE_NAME)) - 1, (name, runs, distinct)
    boxes = renders["roboto"]  # Kivy's own font: the same check sees a row of identical boxes
    box_runs, box_distinct = glyph_shapes(boxes.crop(boxes.label(SITE_NAME)))
    assert box_runs >= 1 and box_distinct <= 2, (box_runs, box_distinct)


@pytest.mark.parametrize("name", list(RENDERS))
def test_no_text_is_larger_than_its_box_or_off_the_screen(renders: dict[str, Render], name: str) -> None:
    render = renders[name]
    width, height = render.data["size"]
    for label in render.labels:
        x, y, w, h = label["box"]
        assert label["texture"][0] <= w + 1 and label["texture"][1] <= h + 1, f"text larger than its box: {label}"
        assert x >= 0 and y >= 0 and x + w <= width + 1 and y + h <= height + 1, f"off the screen: {label}"


def test_chinese_text_is_inked_and_differs_from_a_font_without_chinese(renders: dict[str, Render]) -> None:
    cjk = renders["landscape"].crop(renders["landscape"].label(SITE_NAME))
    boxes = renders["roboto"].crop(renders["roboto"].label(SITE_NAME))
    assert cjk.size == boxes.size  # the same box in the header of both
    assert ImageStat.Stat(cjk).stddev[0] > 20, "the site's name is not drawn"
    difference = ImageStat.Stat(ImageChops.difference(cjk, boxes)).mean[0]
    assert difference > 5, f"the CJK rendering looks like the boxes of a font without Chinese ({difference:.1f})"


def test_a_zone_board_names_its_zone_and_shows_only_its_windows(renders: dict[str, Render]) -> None:
    render = renders["zone"]
    assert role(render, "zone")["text"] == "社保医保区"
    windows = {label["text"] for label in render.labels if label["role"] in ("window", "recent-window")}
    assert windows and windows <= {"7号窗口", "8号窗口"}, windows
    assert role(render, "number")["text"] == "B005"
    assert not any(label["role"] == "zone" for label in renders["portrait"].labels)


def test_a_new_call_changes_the_board_in_place(renders: dict[str, Render]) -> None:
    """Every render first drew an earlier board, then changed into this one: the same layout is kept (no new
    widgets), and only a board that went offline (a status line) was laid out again."""
    assert renders["landscape"].data["rebuilds"] == 1
    assert renders["zone"].data["rebuilds"] == 1
    assert renders["roboto"].data["rebuilds"] == 2


def test_the_offline_board_says_so(renders: dict[str, Render]) -> None:
    assert "网络连接中断" in role(renders["roboto"], "status")["text"]
    assert not any(label["role"] == "status" for label in renders["landscape"].labels)


def test_board_config_reads_toml_then_environment_and_names_a_bad_key(tmp_path: Path) -> None:
    path = tmp_path / "board.toml"
    path.write_text('site = "xiaozhai"\nwidth = 1080\nheight = 1920\nhighlight_seconds = 8\n')
    config = load_config(path, {"BOARD_FULLSCREEN": "false", "BOARD_DEVICE_ID": "board-x", "KIOSK_SITE": "no"})
    assert (config.site, config.device_id, config.fullscreen, config.portrait) == ("xiaozhai", "board-x", False, True)
    assert config.highlight_seconds == 8 and load_config(None, {}) == BoardConfig()
    with pytest.raises(ConfigError, match="highlight_seconds"):
        load_config(path, {"BOARD_HIGHLIGHT_SECONDS": "0"})
