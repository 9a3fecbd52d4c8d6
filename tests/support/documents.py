"""Generated photographs of documents under a kiosk camera, with the true corners (deterministic from a seed).

A page (a text page, an ID-card-sized card or a form) is drawn with OpenCV, placed on a desk (wood grain, a plain
desk colour, a patterned cloth) with rotation, perspective, a shadow and sensor noise, then spoiled as the variant
says: ``sharp`` (good), ``blurred``, ``dark``, ``cut_off`` (part of the page outside the frame), ``glare``.
"""

from __future__ import annotations

import dataclasses
from typing import Final

import cv2
import numpy as np

import contract

KINDS: Final = ("text", "card", "form")
VARIANTS: Final = ("sharp", "blurred", "dark", "cut_off", "glare")
BACKGROUNDS: Final = ("wood", "desk", "cloth")
FRAME_SIZE: Final = (1280, 720)

_WORDS: Final = (
    "the",
    "of",
    "and",
    "service",
    "hall",
    "citizen",
    "matter",
    "permit",
    "record",
    "office",
    "district",
    "copy",
    "form",
    "seal",
    "name",
    "date",
)


@dataclasses.dataclass(frozen=True, eq=False)
class Photo:
    frame: np.ndarray
    corners: np.ndarray
    """4×2 float32 TL, TR, BR, BL of the page in frame pixels (outside the frame for a cut-off page)."""
    kind: str
    variant: str
    background: str
    shape: contract.PageShape
    landscape: bool

    @property
    def page_size(self) -> float:
        c = self.corners
        return float(max(np.linalg.norm(c[0] - c[2]), np.linalg.norm(c[1] - c[3])))


def _text_lines(page: np.ndarray, rng: np.random.Generator, *, top: int, bottom: int, left: int, right: int) -> None:
    y = top
    scale = (right - left) / 900
    while y < bottom:
        x = left
        words = []
        while True:
            word = str(rng.choice(_WORDS))
            if x + len(word) * 18 * scale * 1.1 > right:
                break
            words.append(word)
            x += int((len(word) + 1) * 18 * scale)
        if rng.random() < 0.15:
            words = words[: max(1, len(words) // 2)]
        cv2.putText(
            page, " ".join(words), (left, y), cv2.FONT_HERSHEY_SIMPLEX, 0.9 * scale, (40, 40, 40), 1, cv2.LINE_AA
        )
        y += int(34 * scale) + int(rng.integers(0, 3))


def _draw_page(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, contract.PageShape]:
    if kind == "card":
        w, h = 600, 378  # 85.6 × 54
        tint = np.array([rng.integers(200, 240), rng.integers(205, 235), rng.integers(170, 220)], np.float32)
        ramp = np.linspace(0.92, 1.04, w, dtype=np.float32)[None, :, None]
        page = np.clip(tint[None, None, :] * ramp * np.ones((h, w, 1), np.float32), 0, 255).astype(np.uint8)
        cv2.rectangle(page, (36, 70), (190, 280), (150, 140, 130), -1)  # the photo
        cv2.circle(page, (113, 150), 40, (90, 80, 75), -1)
        cv2.putText(page, "IDENTITY CARD", (220, 55), cv2.FONT_HERSHEY_DUPLEX, 0.9, (60, 40, 120), 2, cv2.LINE_AA)
        for i, label in enumerate(("NAME", "SEX", "BORN", "ADDRESS")):
            cv2.putText(
                page,
                f"{label}  {rng.choice(_WORDS)}",
                (220, 110 + 40 * i),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.65,
                (40, 40, 40),
                1,
                cv2.LINE_AA,
            )
        digits = "".join(str(d) for d in rng.integers(0, 10, 18))
        cv2.putText(page, digits, (200, 340), cv2.FONT_HERSHEY_SIMPLEX, 0.95, (30, 30, 30), 2, cv2.LINE_AA)
        return page, contract.PageShape.ID_CARD
    w, h = 840, 1188  # A4 at ~100 dpi
    paper = int(rng.integers(228, 246))
    page = np.full((h, w, 3), paper, np.uint8)
    if kind == "text":
        cv2.putText(page, "NOTICE OF SERVICE", (200, 120), cv2.FONT_HERSHEY_DUPLEX, 1.4, (20, 20, 20), 2, cv2.LINE_AA)
        _text_lines(page, rng, top=200, bottom=1050, left=80, right=760)
    else:
        cv2.putText(page, "APPLICATION FORM", (210, 110), cv2.FONT_HERSHEY_DUPLEX, 1.3, (20, 20, 20), 2, cv2.LINE_AA)
        cv2.rectangle(page, (80, 160), (760, 1080), (30, 30, 30), 2)
        rows = np.cumsum(rng.integers(60, 110, 12)) + 160
        for y in rows[rows < 1060]:
            cv2.line(page, (80, int(y)), (760, int(y)), (50, 50, 50), 1)
            cv2.putText(
                page,
                str(rng.choice(_WORDS)),
                (95, int(y) - 20),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.7,
                (40, 40, 40),
                1,
                cv2.LINE_AA,
            )
        cv2.line(page, (300, 160), (300, 1080), (50, 50, 50), 1)
        for k in range(4):
            cv2.rectangle(page, (560 + 40 * k, 180), (590 + 40 * k, 210), (40, 40, 40), 1)
    return page, contract.PageShape.A4


def _background(kind: str, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "wood":
        base = np.array([rng.integers(40, 80), rng.integers(70, 110), rng.integers(110, 150)], np.float32)
        noise = cv2.resize(rng.normal(0, 1, (height // 8, 12)).astype(np.float32), (width, height))
        y = np.arange(height, dtype=np.float32)[:, None]
        grain = np.sin(y / rng.uniform(6, 14) + 3 * noise) * 0.12 + noise * 0.05
        image = base[None, None, :] * (1 + grain[:, :, None])
    elif kind == "desk":
        grey = float(rng.choice([45.0, 80.0, 120.0, 150.0]))
        tint = rng.uniform(0.8, 1.2, 3).astype(np.float32)
        image = np.empty((height, width, 3), np.float32)
        image[:] = grey * tint
    else:
        a = np.array(rng.integers(60, 140, 3), np.float32)
        b = np.array(rng.integers(30, 110, 3), np.float32)
        period = int(rng.integers(12, 40))
        angle = rng.uniform(0, np.pi)
        x = np.arange(width, dtype=np.float32)[None, :]
        y = np.arange(height, dtype=np.float32)[:, None]
        if rng.random() < 0.5:
            checks = ((x // period + y // period) % 2).astype(np.float32)
        else:
            checks = (((x * np.float32(np.cos(angle)) + y * np.float32(np.sin(angle))) // period) % 2).astype(
                np.float32
            )
        image = b[None, None, :] + checks[:, :, None] * (a - b)[None, None, :]
    result: np.ndarray = np.clip(image, 0, 255).astype(np.float32)
    return result


def _place(
    page_w: int, page_h: int, width: int, height: int, *, cut_off: bool, rng: np.random.Generator, card: bool
) -> np.ndarray:
    """The page's corners in the frame: scaled, turned, with a little perspective."""
    long_share = rng.uniform(0.45, 0.6) if card else rng.uniform(0.72, 0.9)
    angle = np.deg2rad(rng.uniform(-25, 25))
    scale = long_share * height / max(page_w, page_h) if page_h > page_w else long_share * width / page_w * 0.75
    half = np.array([[-page_w, -page_h], [page_w, -page_h], [page_w, page_h], [-page_w, page_h]], np.float64) / 2
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = (half * scale) @ rotation.T
    size = float(np.linalg.norm(corners[0] - corners[2]))
    corners += rng.uniform(-0.025, 0.025, (4, 2)) * size  # perspective: the camera is not quite square on
    span = corners.max(axis=0) - corners.min(axis=0)
    fit = float(min(1.0, *(0.9 * np.array([width, height]) / span)))
    corners *= fit  # a turned page still fits the frame
    span *= fit
    if cut_off:
        centre = np.array([width / 2, height / 2]) + rng.uniform(-0.1, 0.1, 2) * [width, height]
        axis = int(rng.integers(0, 2))
        direction = float(rng.choice([-1.0, 1.0]))
        limit = (width, height)[axis]
        centre[axis] = limit / 2 + direction * (limit / 2 - span[axis] / 2 + rng.uniform(0.18, 0.35) * span[axis])
    else:
        room = np.maximum(np.array([width, height]) - span - 0.1 * np.array([width, height]), 0)
        centre = np.array([width / 2, height / 2]) + rng.uniform(-0.5, 0.5, 2) * room
    placed: np.ndarray = (corners - (corners.min(axis=0) + span / 2) + centre).astype(np.float32)
    return placed


def photograph(
    seed: int,
    *,
    kind: str | None = None,
    variant: str = "sharp",
    background: str | None = None,
    size: tuple[int, int] = FRAME_SIZE,
) -> Photo:
    """One photograph, the same for the same arguments."""
    rng = np.random.default_rng(seed)
    kind = kind or KINDS[seed % len(KINDS)]
    background = background or BACKGROUNDS[(seed // len(KINDS)) % len(BACKGROUNDS)]
    width, height = size
    page, shape = _draw_page(kind, rng)
    landscape = bool(kind != "card" and rng.random() < 0.15)
    if landscape:
        page = cv2.rotate(page, cv2.ROTATE_90_CLOCKWISE)
    page_h, page_w = page.shape[:2]
    corners = _place(page_w, page_h, width, height, cut_off=variant == "cut_off", rng=rng, card=kind == "card")
    source = np.array([[0, 0], [page_w, 0], [page_w, page_h], [0, page_h]], np.float32)
    matrix = cv2.getPerspectiveTransform(source, corners)
    warped = cv2.warpPerspective(page, matrix, (width, height), flags=cv2.INTER_LINEAR).astype(np.float32)
    mask = cv2.warpPerspective(np.ones((page_h, page_w), np.float32), matrix, (width, height), flags=cv2.INTER_LINEAR)
    image: np.ndarray = cv2.blendLinear(warped, _background(background, width, height, rng), mask, 1 - mask)

    # a soft shadow across the frame (a hand, the camera's arm), and uneven light
    xx = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
    yy = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.float32(np.cos(angle)) * xx + np.float32(np.sin(angle)) * yy
    shade = np.float32(rng.uniform(0.05, 0.25))
    light = 1 - shade / (1 + np.exp(-6 * (ramp - np.float32(rng.uniform(-0.3, 0.5)))))
    if variant == "glare":
        c = corners.mean(axis=0) + rng.uniform(-0.15, 0.15, 2) * (corners.max(axis=0) - corners.min(axis=0))
        radius = 0.16 * float(np.linalg.norm(corners[0] - corners[2]))
        gx = ((np.arange(width, dtype=np.float32) - c[0]) / radius) ** 2
        gy = ((np.arange(height, dtype=np.float32) - c[1]) / radius) ** 2
        glare = 400 * np.exp(-1.5 * gy)[:, None] * np.exp(-1.5 * gx)[None, :]
    if variant == "dark":
        light = light * np.float32(rng.uniform(0.12, 0.22))
    image = cv2.multiply(image, cv2.merge([light, light, light]))
    if variant == "glare":
        image = cv2.add(image, cv2.merge([glare, glare, glare]))
    image = cv2.GaussianBlur(image, (0, 0), 0.7)  # the lens
    if variant == "blurred":
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(3.0, 5.0) * height / 540)  # defocus: a share of the view
    noise = rng.standard_normal((height, width, 3), dtype=np.float32)
    image = cv2.scaleAdd(noise, float(rng.uniform(1.5, 4.0)), image)
    frame = np.clip(image, 0, 255, out=image).astype(np.uint8)
    return Photo(
        frame=frame,
        corners=corners,
        kind=kind,
        variant=variant,
        background=background,
        shape=shape,
        landscape=landscape,
    )


def photographs(
    count: int, *, variant: str = "sharp", seed: int = 0, size: tuple[int, int] = FRAME_SIZE
) -> list[Photo]:
    """``count`` photographs over every kind and background."""
    return [photograph(seed + i, variant=variant, size=size) for i in range(count)]
