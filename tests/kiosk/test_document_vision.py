"""Finding and checking pages on generated photographs (tests/support/documents.py), issue 15 item 4.

``pytest -s`` prints the confusion table: each variant of photograph against the first problem the kiosk says.
"""

from __future__ import annotations

import collections
import functools

import cv2
import numpy as np
import pytest

import contract
from kiosk.documents import vision
from kiosk.documents.vision import Problem, SteadyCapture, Verdict
from tests.support import documents

SIZE = (960, 540)
SHARP_COUNT = 100
SPOILT_COUNT = 16
CORNER_TOLERANCE = 0.02


def corner_error(photo: documents.Photo, verdict: Verdict) -> float:
    """The worst corner's distance from the truth, as a share of the page's size (inf without a page)."""
    if verdict.corners is None:
        return float("inf")
    distances = np.linalg.norm(verdict.corners - photo.corners, axis=1)
    return float(distances.max()) / photo.page_size


@functools.cache
def analysed(variant: str) -> tuple[tuple[documents.Photo, Verdict], ...]:
    count = SHARP_COUNT if variant == "sharp" else SPOILT_COUNT
    seed = {"sharp": 0, "blurred": 10_000, "dark": 20_000, "cut_off": 30_000, "glare": 40_000}[variant]
    photos = documents.photographs(count, variant=variant, seed=seed, size=SIZE)
    return tuple((photo, vision.analyse(photo.frame)) for photo in photos)


def test_the_photographs_are_the_same_for_the_same_seed() -> None:
    first, again = documents.photograph(7, size=SIZE), documents.photograph(7, size=SIZE)
    assert np.array_equal(first.frame, again.frame)
    assert np.array_equal(first.corners, again.corners)
    assert not np.array_equal(first.frame, documents.photograph(8, size=SIZE).frame)


def test_corners_are_found_on_sharp_photographs() -> None:
    results = analysed("sharp")
    near = [corner_error(photo, verdict) <= CORNER_TOLERANCE for photo, verdict in results]
    misses = [
        (photo.kind, photo.background, round(corner_error(photo, verdict), 3))
        for (photo, verdict), hit in zip(results, near, strict=True)
        if not hit
    ]
    share = sum(near) / len(near)
    print(f"\ncorners within {CORNER_TOLERANCE:.0%} of the page size: {sum(near)}/{len(near)}; misses: {misses}")
    assert share >= 0.95, misses
    kinds = collections.Counter(photo.kind for photo, _ in results)
    backgrounds = collections.Counter(photo.background for photo, _ in results)
    assert set(kinds) == set(documents.KINDS) and set(backgrounds) == set(documents.BACKGROUNDS)


def test_the_gates_pass_good_pages_and_reject_spoilt_ones() -> None:
    expected = {
        "sharp": {"ok"},
        "blurred": {Problem.BLURRED},
        "dark": {Problem.TOO_DARK},
        "cut_off": {Problem.CUT_OFF, Problem.NO_PAGE},
        "glare": {Problem.GLARE},
    }
    columns = ["ok", *Problem]
    table: dict[str, collections.Counter[str]] = {}
    for variant in documents.VARIANTS:
        table[variant] = collections.Counter(
            str(verdict.problems[0]) if verdict.problems else "ok" for _, verdict in analysed(variant)
        )
    lines = ["", "variant \\ verdict".ljust(18) + "".join(str(c).rjust(10) for c in columns)]
    lines += [
        variant.ljust(18) + "".join(str(row[str(c)]).rjust(10) for c in columns) for variant, row in table.items()
    ]
    print("\n".join(lines))

    for variant, row in table.items():
        total = sum(row.values())
        right = sum(row[str(name)] for name in expected[variant])  # type: ignore[misc, attr-defined]
        assert right / total >= 0.95, (variant, dict(row))
    # a rejected photograph is never taken for a good page
    for variant in ("blurred", "dark", "cut_off", "glare"):
        assert table[variant]["ok"] == 0, (variant, dict(table[variant]))


def test_the_figures_separate_sharp_from_blurred() -> None:
    sharp = [verdict.sharpness for _, verdict in analysed("sharp") if verdict.corners is not None]
    blurred = [verdict.sharpness for _, verdict in analysed("blurred") if verdict.corners is not None]
    assert min(sharp) > vision.MIN_SHARPNESS > max(blurred)
    dark = [verdict.brightness for _, verdict in analysed("dark")]
    assert max(dark) < vision.MIN_BRIGHTNESS < min(v.brightness for _, v in analysed("sharp") if v.ok)


@pytest.mark.parametrize("kind", documents.KINDS)
def test_correct_gives_an_upright_page_of_its_shape(kind: str) -> None:
    for seed in range(3):
        photo = documents.photograph(seed * 3, kind=kind, size=SIZE)
        verdict = vision.analyse(photo.frame)
        assert verdict.ok and verdict.corners is not None, verdict.problems
        page = vision.correct(photo.frame, verdict.corners, photo.shape)
        height, width = page.shape[:2]
        short_mm, long_mm = {contract.PageShape.A4: (210, 297), contract.PageShape.ID_CARD: (54, 85.6)}[photo.shape]
        landscape = photo.landscape or photo.shape is contract.PageShape.ID_CARD
        assert (width > height) is landscape
        assert max(width, height) / min(width, height) == pytest.approx(long_mm / short_mm, rel=0.01)
        # upright: the same picture as the page warped from its true corners, given in the page's own order
        truth = vision.correct(photo.frame, photo.corners, photo.shape)
        small, truth_small = (
            cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (48, 48), interpolation=cv2.INTER_AREA).astype(float)
            for image in (page, truth)
        )
        same = float(np.abs(small - truth_small).mean())
        turned = float(np.abs(small - truth_small[::-1, ::-1]).mean())
        assert same < 8 and same < turned / 2, (same, turned)


def test_output_sizes() -> None:
    assert vision.output_size(contract.PageShape.A4, landscape=False) == (1240, 1754)
    assert vision.output_size(contract.PageShape.ID_CARD, landscape=True) == (1011, 638)
    width, height = vision.output_size(contract.PageShape.CERTIFICATE, landscape=False)
    assert width / height == pytest.approx(3 / 4, rel=0.01)


def test_a_page_filling_the_frame_is_the_whole_frame() -> None:
    photo = documents.photograph(0, kind="text", size=SIZE)
    assert photo.corners is not None
    height, width = 540, 960
    tl, tr, br, bl = photo.corners.astype(np.float64)

    def at(u: float, v: float) -> np.ndarray:  # a point of the page, u across and v down, 0..1
        return np.asarray((1 - v) * ((1 - u) * tl + u * tr) + v * ((1 - u) * bl + u * br))

    inner = np.array([at(0.1, 0.25), at(0.9, 0.25), at(0.9, 0.75), at(0.1, 0.75)], np.float32)
    square = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    frame = cv2.warpPerspective(photo.frame, cv2.getPerspectiveTransform(inner, square), (width, height))
    verdict = vision.analyse(frame)
    assert verdict.ok and verdict.filled, verdict.problems
    assert verdict.corners is not None and vision.page_size(verdict.corners) > 1000


def test_a_pale_card_on_a_light_shadowed_desk_is_found() -> None:
    """A 4:3 camera; the card only ~20 grey levels lighter than the desk, whose lit half is the largest light region."""
    photo = documents.photograph(778, size=(1024, 768))
    assert (photo.kind, photo.background) == ("card", "desk")
    verdict = vision.analyse(photo.frame)
    assert verdict.ok, verdict.problems
    assert corner_error(photo, verdict) <= CORNER_TOLERANCE


def test_a_steep_page_is_not_flat() -> None:
    photo = documents.photograph(1, kind="form", size=SIZE)
    c = photo.corners.copy()
    centre = c.mean(axis=0)
    c[0] = centre + (c[0] - centre) * 0.55  # the top edge far away: a page lifted at one end
    c[1] = centre + (c[1] - centre) * 0.55
    matrix = cv2.getPerspectiveTransform(photo.corners, c)
    frame = cv2.warpPerspective(photo.frame, matrix, (960, 540), borderMode=cv2.BORDER_REPLICATE)
    verdict = vision.analyse(frame)
    assert Problem.NOT_FLAT in verdict.problems


@pytest.mark.parametrize(
    "frame",
    [
        None,
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((4, 4, 3), np.uint8),
        np.zeros((480, 640, 3), np.uint8),
        np.full((480, 640, 3), 128, np.uint8),
        np.zeros((480, 640, 5), np.uint8),
        np.full((480, 640), np.nan, np.float32),
        b"not an image",
    ],
    ids=["none", "empty", "tiny", "black", "grey", "five-channels", "nan", "bytes"],
)
def test_an_unreadable_frame_is_a_clean_no_page(frame: object) -> None:
    verdict = vision.analyse(frame)  # type: ignore[arg-type]
    assert verdict.corners is None and not verdict.ok
    assert Problem.NO_PAGE in verdict.problems


def test_a_grey_or_bgra_frame_is_analysed() -> None:
    photo = documents.photograph(2, size=SIZE)
    gray = cv2.cvtColor(photo.frame, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(photo.frame, cv2.COLOR_BGR2BGRA)
    for frame in (gray, bgra):
        verdict = vision.analyse(frame)
        assert verdict.ok and corner_error(photo, verdict) <= CORNER_TOLERANCE


def test_steady_capture_fires_once_for_a_steady_page() -> None:
    photo = documents.photograph(3, size=SIZE)
    verdict = vision.analyse(photo.frame)
    assert verdict.ok
    steady = SteadyCapture()
    fired = [steady.feed(verdict, 10 + i / 15) for i in range(45)]  # 3 s at 15 frames a second
    assert fired.count(True) == 1
    assert 10 + fired.index(True) / 15 == pytest.approx(10.8, abs=0.07)
    # the page leaves and comes back: a new picture
    assert not steady.feed(vision.analyse(np.zeros((540, 960, 3), np.uint8)), 14)
    again = [steady.feed(verdict, 15 + i / 15) for i in range(30)]
    assert again.count(True) == 1


def test_steady_capture_does_not_fire_for_a_moving_page() -> None:
    photo = documents.photograph(4, size=SIZE)
    verdict = vision.analyse(photo.frame)
    assert verdict.ok and verdict.corners is not None
    steady = SteadyCapture()
    for i in range(60):
        shift = np.array([i * 0.04 * verdict.page_size / 15, 0], np.float32)  # 4 % of the page a second
        moved = Verdict(corners=verdict.corners + shift, problems=())
        assert not steady.feed(moved, i / 15)
    blurred = Verdict(corners=verdict.corners, problems=(Problem.BLURRED,))
    assert not any(steady.feed(blurred, 5 + i / 15) for i in range(30))


def test_small_jitter_still_counts_as_steady() -> None:
    photo = documents.photograph(5, size=SIZE)
    verdict = vision.analyse(photo.frame)
    assert verdict.corners is not None
    rng = np.random.default_rng(5)
    steady = SteadyCapture()
    fired = [
        steady.feed(
            Verdict(corners=verdict.corners + rng.normal(0, 1.0, (4, 2)).astype(np.float32), problems=()), i / 15
        )
        for i in range(30)
    ]
    assert fired.count(True) == 1


def test_encode_and_thumbnail() -> None:
    photo = documents.photograph(6, size=SIZE)
    verdict = vision.analyse(photo.frame)
    assert verdict.corners is not None
    page = vision.correct(photo.frame, verdict.corners, photo.shape)
    data = vision.encode_page(page)
    assert data[:3] == b"\xff\xd8\xff"
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None and decoded.shape == page.shape
    small = vision.thumbnail(page, 320)
    assert max(small.shape[:2]) == 320
    assert small.shape[1] / small.shape[0] == pytest.approx(page.shape[1] / page.shape[0], rel=0.02)


def test_every_problem_has_both_prompts() -> None:
    for problem in Problem:
        chinese, english = vision.prompt(problem), vision.prompt(problem, "en")
        assert chinese and english and chinese != english
        assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese)
    assert vision.prompt(Problem.NOT_FLAT) == "请将材料放平"
    assert vision.prompt(Problem.TOO_DARK) == "光线过暗"
