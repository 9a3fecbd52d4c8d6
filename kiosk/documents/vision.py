"""Finding and checking a page on a camera frame, and correcting it to an upright page (docs/documents.md).

``analyse(frame)`` finds the page on a downscaled copy of the frame and runs the quality gates; ``correct()`` warps
the page to the aspect of its shape; ``SteadyCapture`` says when to take the picture by itself. Every function is
pure (frames in, images out) and never raises on a bad frame: an empty or unreadable frame is a ``NO_PAGE`` verdict.

How the page is found (on a copy whose long side is ``WORK_SIDE`` pixels):

1. edges (Canny, dilated): the *holes* of the edge map (``RETR_LIST``) include the page's inner outline, which stays
   a clean quadrilateral even where the desk's grain or a cloth pattern touches the page's border from outside;
   the largest convex quadrilateral that fills its own outline wins;
2. brightness (Otsu): the page is the largest region lighter than the desk. It tells a page running off the frame
   (``CUT_OFF``) from one inside it, and stands in for the edges when they are too weak;
3. a page that fills the frame (no desk seen, paper-like nearly everywhere) is the whole frame.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Final

import cv2
import numpy as np

import contract

WORK_SIDE: Final = 640
"""The long side of the copy the page is looked for on: ~3 ms of work for a 1080p frame."""
SHARP_SIDE: Final = 400
"""The page is warped to this long side (from the full frame) before sharpness is measured: the same scale for a
near and a far page, so the figure means the same everywhere."""

MIN_PAGE_SHARE: Final = 0.06
"""A page covers at least this share of the frame (an ID card under a document camera covers ~10 %)."""
EDGE_MARGIN: Final = 0.008
"""A corner nearer to the frame's edge than this share of the frame's long side touches it (``CUT_OFF``)."""
MIN_SHARPNESS: Final = 0.25
"""Below this the page is ``BLURRED`` (see ``sharpness()``; sharp print on the generated photographs at 960×540
measures 0.65–1.5, blurred by a Gaussian of σ 3–5 px below 0.1)."""
MIN_BRIGHTNESS: Final = 70.0
"""Mean luminance (0–255) of the page below which it is ``TOO_DARK``."""
MAX_GLARE_SHARE: Final = 0.015
"""Share of saturated pixels in the page above which it has ``GLARE``."""
MIN_SIDE_RATIO: Final = 0.72
"""The shorter of two opposite sides over the longer: below this the page is tilted or curled (``NOT_FLAT``)."""
CANNY_LOW, CANNY_HIGH = 15, 45
"""Edge thresholds on the smoothed working copy: low enough for a pale card on a light desk (a step of ~20 grey
levels); the extra edges of a textured desk only add candidates, which ``MIN_CONTRAST`` sorts out."""
MIN_CONTRAST: Final = 12.0
"""A page is at least this much lighter (0–255) than the desk just around it."""
FILLED_PAPER_SHARE: Final = 0.85
"""A frame with this share of paper-like pixels and no desk seen is a page that fills the frame."""


class Problem(enum.StrEnum):
    """Why a frame is not a good page yet, in the order the kiosk should say them (the first one matters most)."""

    TOO_DARK = "too_dark"
    NO_PAGE = "no_page"
    CUT_OFF = "cut_off"
    NOT_FLAT = "not_flat"
    GLARE = "glare"
    BLURRED = "blurred"


_PROMPTS: Final[dict[Problem, tuple[str, str]]] = {
    Problem.NO_PAGE: ("请将材料放入取景框内", "Place the document inside the frame"),
    Problem.CUT_OFF: ("材料超出画面，请移到中间", "The document goes past the edge: move it to the middle"),
    Problem.BLURRED: ("画面模糊，请保持不动", "The picture is blurred: hold still"),
    Problem.GLARE: ("反光太强，请调整角度", "Too much glare: change the angle"),
    Problem.TOO_DARK: ("光线过暗", "Too dark"),
    Problem.NOT_FLAT: ("请将材料放平", "Lay the document flat"),
}


def prompt(problem: Problem, lang: str = "zh") -> str:
    """The plain sentence the kiosk shows (and reads aloud) for a problem; ``lang`` "zh" (default) or "en"."""
    chinese, english = _PROMPTS[problem]
    return english if lang.lower().startswith("en") else chinese


@dataclasses.dataclass(frozen=True, eq=False)
class Verdict:
    corners: np.ndarray | None
    """4×2 float32, TL, TR, BR, BL in frame pixels; None when no page was found."""
    problems: tuple[Problem, ...]
    sharpness: float = 0.0
    """See ``sharpness()``: about 1/σ² of the blur in pixels at ``SHARP_SIDE``; 0 when unmeasured."""
    brightness: float = 0.0
    """Mean luminance of the page (of the frame when no page was found), 0–255."""
    glare: float = 0.0
    """Share of the page's pixels that are saturated."""
    filled: bool = False
    """The page fills the frame (no desk seen): its corners are the frame's."""

    @property
    def ok(self) -> bool:
        return self.corners is not None and not self.problems

    @property
    def page_size(self) -> float:
        """The page's diagonal in frame pixels (0 without a page): the yardstick for corner distances."""
        return 0.0 if self.corners is None else page_size(self.corners)


def page_size(corners: np.ndarray) -> float:
    c = np.asarray(corners, dtype=np.float64)
    return float(max(np.linalg.norm(c[0] - c[2]), np.linalg.norm(c[1] - c[3])))


def order_corners(points: np.ndarray) -> np.ndarray:
    """Four points as TL, TR, BR, BL: clockwise around their centre, starting at the one nearest the top left."""
    pts = np.asarray(points, dtype=np.float32).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # y points down: increasing angle is clockwise on the screen
    start = int(np.argmin(pts.sum(axis=1)))
    return np.roll(pts, -start, axis=0)


def analyse(frame_bgr: np.ndarray) -> Verdict:
    """Find the page on a camera frame and check it; never raises."""
    try:
        return _analyse(frame_bgr)
    except (cv2.error, ValueError, TypeError, AttributeError, IndexError):
        return Verdict(corners=None, problems=(Problem.NO_PAGE,))


def _analyse(frame_bgr: np.ndarray) -> Verdict:
    frame = _as_bgr(frame_bgr)
    if frame is None:
        return Verdict(corners=None, problems=(Problem.NO_PAGE,))
    height, width = frame.shape[:2]
    scale = min(1.0, WORK_SIDE / max(height, width))
    small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else frame
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    found = _find_page(small, gray)
    if found is None:
        brightness = float(gray.mean())
        nothing = (Problem.TOO_DARK, Problem.NO_PAGE) if brightness < MIN_BRIGHTNESS else (Problem.NO_PAGE,)
        return Verdict(corners=None, problems=nothing, brightness=brightness)
    quad_small, cut_off, filled = found
    corners = (quad_small / scale).astype(np.float32)
    if filled:
        corners = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)

    mask = np.zeros(gray.shape, np.uint8)
    cv2.fillConvexPoly(mask, quad_small.astype(np.int32), 255)
    brightness = float(cv2.mean(gray, mask)[0])
    glare = float(cv2.countNonZero(cv2.bitwise_and(mask, (gray >= 250).astype(np.uint8) * 255))) / max(
        1, cv2.countNonZero(mask)
    )
    problems: list[Problem] = []
    if brightness < MIN_BRIGHTNESS:
        problems.append(Problem.TOO_DARK)
    if cut_off:
        problems.append(Problem.CUT_OFF)
    if not filled and _side_ratio(corners) < MIN_SIDE_RATIO:
        problems.append(Problem.NOT_FLAT)
    if glare > MAX_GLARE_SHARE:
        problems.append(Problem.GLARE)
    sharp = sharpness(frame, corners)
    if sharp < MIN_SHARPNESS and Problem.TOO_DARK not in problems:
        problems.append(Problem.BLURRED)
    return Verdict(
        corners=corners,
        problems=tuple(problems),
        sharpness=sharp,
        brightness=brightness,
        glare=glare,
        filled=filled,
    )


def _as_bgr(frame: object) -> np.ndarray | None:
    if not isinstance(frame, np.ndarray) or frame.size == 0 or frame.ndim not in (2, 3):
        return None
    if frame.shape[0] < 16 or frame.shape[1] < 16:
        return None
    if frame.dtype != np.uint8:
        if not np.issubdtype(frame.dtype, np.number) or not np.isfinite(frame).all():
            return None
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    channels = frame.shape[2]
    if channels == 3:
        return frame
    if channels == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    if channels == 1:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    return None


def _find_page(small: np.ndarray, gray: np.ndarray) -> tuple[np.ndarray, bool, bool] | None:
    """(quad in ``small`` pixels, cut off, fills the frame), or None."""
    height, width = gray.shape
    frame_area = float(height * width)
    margin = EDGE_MARGIN * max(height, width)
    blurred = cv2.GaussianBlur(gray, (5, 5), 0)

    quad = _edge_quad(blurred, frame_area, margin, width, height)
    region = _bright_region(blurred, frame_area)
    if region is not None:
        region_hull, region_area = region
        touches = _touches_edge(region_hull, width, height, margin)
        # a quadrilateral that stands out from its surroundings is the page: a printed box on a page running off
        # the frame is no lighter than the paper around it, while the light half of a shadowed desk can be the
        # largest light region
        if touches and quad is None and region_area < 0.97 * frame_area:
            return _four_corners(region_hull), True, False
        if quad is None and not touches:
            candidate = _four_corners(region_hull)
            if cv2.contourArea(candidate) > 0.9 * region_area:
                quad = candidate
    if quad is not None:
        return quad, _touches_edge(quad, width, height, margin), False
    if _paper_share(small) >= FILLED_PAPER_SHARE:
        full = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
        return full, False, True
    return None


def _edge_quad(blurred: np.ndarray, frame_area: float, margin: float, width: int, height: int) -> np.ndarray | None:
    """The largest convex quadrilateral of the edge map that is lighter inside than just outside and clear of the
    frame's edge (an outline closed by the frame's edge is a pattern's; a page running off is the region's case)."""
    edges = cv2.Canny(blurred, CANNY_LOW, CANNY_HIGH)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    candidates: list[tuple[float, np.ndarray]] = []
    for contour in contours:
        area = cv2.contourArea(contour)
        if area < MIN_PAGE_SHARE * frame_area or area > 0.98 * frame_area:
            continue
        quad = _quad_of(contour, area)
        if quad is not None and not _touches_edge(quad, width, height, margin):
            candidates.append((area, quad))
    candidates.sort(key=lambda item: -item[0])
    best: np.ndarray | None = None
    best_contrast = MIN_CONTRAST
    for _, quad in candidates[:8]:
        contrast = _contrast(blurred, quad)
        if contrast > best_contrast:
            best, best_contrast = quad, contrast
    return best


def _contrast(gray: np.ndarray, quad: np.ndarray) -> float:
    """How much lighter the quadrilateral is than just around it: the page stands out most (an outline that takes
    in some of a cloth's pattern less, a box printed on the page not at all)."""
    inside = np.zeros(gray.shape, np.uint8)
    cv2.fillConvexPoly(inside, quad.astype(np.int32), 255)
    ring_width = max(3, round(0.03 * max(gray.shape)))
    ring = cv2.dilate(inside, np.ones((ring_width, ring_width), np.uint8))
    ring = cv2.subtract(ring, inside)
    if cv2.countNonZero(ring) < 0.2 * ring_width * cv2.arcLength(quad.reshape(-1, 1, 2), True):
        return 0.0  # hardly anything outside: the frame itself, not a page on a desk
    return float(cv2.mean(gray, inside)[0] - cv2.mean(gray, ring)[0])


def _quad_of(contour: np.ndarray, area: float) -> np.ndarray | None:
    """The contour as a convex quadrilateral, when it is one (its outline fills the quadrilateral)."""
    perimeter = cv2.arcLength(contour, True)
    for share in (0.02, 0.035):
        approx = cv2.approxPolyDP(contour, share * perimeter, True)
        if len(approx) == 4 and cv2.isContourConvex(approx):
            quad = order_corners(approx.reshape(4, 2))
            quad_area = cv2.contourArea(quad)
            if quad_area > 0 and 0.92 < area / quad_area < 1.08 and _angles_ok(quad):
                return quad
    return None


def _angles_ok(quad: np.ndarray) -> bool:
    for i in range(4):
        a, b, c = quad[i - 1], quad[i], quad[(i + 1) % 4]
        u, v = a - b, c - b
        cosine = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-9))
        if abs(cosine) > 0.6:  # an inside angle outside ~53°–127°
            return False
    return True


def _bright_region(blurred: np.ndarray, frame_area: float) -> tuple[np.ndarray, float] | None:
    """The largest region lighter than the rest (Otsu), as its convex hull and area."""
    _, bright = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    kernel = np.ones((5, 5), np.uint8)
    bright = cv2.morphologyEx(bright, cv2.MORPH_OPEN, kernel)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, kernel, iterations=2)
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    largest = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(largest)
    hull = cv2.convexHull(largest)
    if area < MIN_PAGE_SHARE * frame_area or area < 0.85 * cv2.contourArea(hull):
        return None  # too small, or not one solid shape (a pattern, a hand)
    return hull, float(area)


def _four_corners(hull: np.ndarray) -> np.ndarray:
    perimeter = cv2.arcLength(hull, True)
    for share in (0.02, 0.04, 0.06):
        approx = cv2.approxPolyDP(hull, share * perimeter, True)
        if len(approx) == 4:
            return order_corners(approx.reshape(4, 2))
    return order_corners(cv2.boxPoints(cv2.minAreaRect(hull)))


def _touches_edge(points: np.ndarray, width: int, height: int, margin: float) -> bool:
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    return bool(
        (pts[:, 0] <= margin).any()
        or (pts[:, 1] <= margin).any()
        or (pts[:, 0] >= width - 1 - margin).any()
        or (pts[:, 1] >= height - 1 - margin).any()
    )


def _paper_share(small: np.ndarray) -> float:
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    paper = (hsv[:, :, 2] >= 150) & (hsv[:, :, 1] <= 60)
    return float(paper.mean())


def _side_ratio(corners: np.ndarray) -> float:
    c = np.asarray(corners, dtype=np.float64)
    sides = [float(np.linalg.norm(c[(i + 1) % 4] - c[i])) for i in range(4)]
    return min(
        min(sides[0], sides[2]) / max(sides[0], sides[2], 1e-9), min(sides[1], sides[3]) / max(sides[1], sides[3], 1e-9)
    )


def sharpness(frame_bgr: np.ndarray, corners: np.ndarray) -> float:
    """How sharp the page is: the energy of the Laplacian over the energy of the gradient, on the page warped to
    ``SHARP_SIDE``. For an edge blurred by a Gaussian of σ pixels it goes as 1/σ², whatever the print's contrast
    or how much of the page is printed; a blank page (no gradient above the noise) measures 0."""
    c = np.asarray(corners, dtype=np.float32)
    width_px = float(max(np.linalg.norm(c[1] - c[0]), np.linalg.norm(c[2] - c[3])))
    height_px = float(max(np.linalg.norm(c[3] - c[0]), np.linalg.norm(c[2] - c[1])))
    factor = SHARP_SIDE / max(width_px, height_px, 1.0)
    out_w, out_h = max(8, round(width_px * factor)), max(8, round(height_px * factor))
    # an inner 90 % of the page: its own border is an edge as sharp as the desk behind it
    inset_x, inset_y = 0.05 * out_w, 0.05 * out_h
    target = np.array(
        [
            [-inset_x, -inset_y],
            [out_w + inset_x, -inset_y],
            [out_w + inset_x, out_h + inset_y],
            [-inset_x, out_h + inset_y],
        ],
        np.float32,
    )
    matrix = cv2.getPerspectiveTransform(c, target)
    gray = frame_bgr if frame_bgr.ndim == 2 else cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    warped = cv2.warpPerspective(gray, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR).astype(np.float32)
    page = cv2.GaussianBlur(warped, (0, 0), 0.7)
    gx = cv2.Sobel(page, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(page, cv2.CV_32F, 0, 1, ksize=3) / 8
    laplacian = cv2.Laplacian(page, cv2.CV_32F, ksize=1)
    # sensor noise is no sharpness: most of a page is blank paper, where the filters see only noise, so the
    # median of each energy gives the noise's part of its mean (for Gaussian noise, mean = median / 0.455 for the
    # Laplacian's square, a χ² of 1 degree, and median / 0.693 for the gradient's, a χ² of 2), taken off first
    gradient = _signal_energy(gx * gx + gy * gy, 1.44)
    if gradient < 0.5:
        return 0.0  # nothing but noise: a blank page, or print blurred away; nothing to read either way
    return _signal_energy(laplacian * laplacian, 2.2) / gradient


def _signal_energy(energy: np.ndarray, noise_factor: float) -> float:
    return max(0.0, float(energy.mean()) - noise_factor * float(np.median(energy)))


_SHAPE_MM: Final[dict[contract.PageShape, tuple[float, float]]] = {
    contract.PageShape.A4: (210.0, 297.0),
    contract.PageShape.ID_CARD: (54.0, 85.6),
    contract.PageShape.CERTIFICATE: (180.0, 240.0),
}
_SHAPE_DPI: Final[dict[contract.PageShape, float]] = {
    contract.PageShape.A4: 150.0,
    contract.PageShape.ID_CARD: 300.0,  # small print (the ID number) stays legible
    contract.PageShape.CERTIFICATE: 150.0,
}


def output_size(shape: contract.PageShape, landscape: bool) -> tuple[int, int]:
    """(width, height) in pixels of a corrected page: A4 1240×1754 (150 dpi), ID card 1011×638 (300 dpi),
    certificate 1063×1417 (3:4, 150 dpi); swapped for a landscape page."""
    short_mm, long_mm = _SHAPE_MM[shape]
    dpi = _SHAPE_DPI[shape]
    short_px, long_px = round(short_mm / 25.4 * dpi), round(long_mm / 25.4 * dpi)
    return (long_px, short_px) if landscape else (short_px, long_px)


def correct(frame_bgr: np.ndarray, corners: np.ndarray, shape: contract.PageShape) -> np.ndarray:
    """The page warped upright to its shape's aspect: landscape when the detected quadrilateral is wider than tall
    (the page is kept as it lies; a page turned a quarter is not turned back)."""
    c = order_corners(corners)
    width_px = (np.linalg.norm(c[1] - c[0]) + np.linalg.norm(c[2] - c[3])) / 2
    height_px = (np.linalg.norm(c[3] - c[0]) + np.linalg.norm(c[2] - c[1])) / 2
    out_w, out_h = output_size(shape, landscape=bool(width_px > height_px))
    target = np.array([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(c, target)
    return cv2.warpPerspective(
        frame_bgr, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


class SteadyCapture:
    """Takes the picture by itself: ``feed()`` is true once, when an ok page has stayed within ``tolerance`` of the
    page's size for ``hold`` seconds; the page moving or leaving (or a problem) starts over."""

    def __init__(self, hold: float = 0.8, tolerance: float = 0.015) -> None:
        self.hold = hold
        self.tolerance = tolerance
        self._anchor: np.ndarray | None = None
        self._since = 0.0
        self._fired = False

    def reset(self) -> None:
        """Start over (after a retake, or a new page)."""
        self._anchor = None
        self._fired = False

    def feed(self, verdict: Verdict, at: float) -> bool:
        if not verdict.ok or verdict.corners is None:
            self.reset()
            return False
        corners = verdict.corners
        if self._anchor is not None:
            moved = float(np.linalg.norm(corners - self._anchor, axis=1).max())
            if moved > self.tolerance * page_size(self._anchor):
                self._anchor = None
                self._fired = False
        if self._anchor is None:
            self._anchor = corners.copy()
            self._since = at
            return False
        if not self._fired and at - self._since >= self.hold:
            self._fired = True
            return True
        return False


def encode_page(image: np.ndarray, quality: int = 85) -> bytes:
    """The corrected page as JPEG bytes (what the kiosk uploads)."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("the page could not be encoded as JPEG")
    return data.tobytes()


def thumbnail(image: np.ndarray, longest: int = 320) -> np.ndarray:
    """A copy whose long side is at most ``longest`` pixels (for the review strip)."""
    height, width = image.shape[:2]
    factor = longest / max(height, width)
    if factor >= 1:
        return image.copy()
    return cv2.resize(
        image, (max(1, round(width * factor)), max(1, round(height * factor))), interpolation=cv2.INTER_AREA
    )
