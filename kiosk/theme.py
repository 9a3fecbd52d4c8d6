"""The kiosk's two looks as data: sizes in dp and colours as text/background pairs. No Kivy here.

Elder mode follows MIIT's 2021 elder-friendly rules and WCAG AAA: body text ≥ 18 dp, the main texts (ticket number,
wait, button labels, headings) ≥ 30 dp, touch targets ≥ 60×60 dp, every text/background pair ≥ 7:1. The normal
theme keeps ≥ 4.5:1 and 44×44 dp targets.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from devicekit.look import RGB, hex_rgb

LINE_HEIGHT = 1.3
"""Line spacing of every text (MIIT: at least 1.3)."""

ELDER_CONTRAST = 7.0
NORMAL_CONTRAST = 4.5


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(rgb: RGB) -> float:
    r, g, b = (_channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(fg: RGB, bg: RGB) -> float:
    """WCAG 2 contrast ratio, from 1 (same colour) to 21 (black on white)."""
    light, dark = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@dataclass(frozen=True)
class Pair:
    """A text colour and the background it is drawn on."""

    fg: RGB
    bg: RGB

    @property
    def contrast(self) -> float:
        return contrast_ratio(self.fg, self.bg)


def pair(fg: str, bg: str) -> Pair:
    return Pair(hex_rgb(fg), hex_rgb(bg))


@dataclass(frozen=True)
class Colours:
    page: Pair
    """Headings and plain text on the page."""
    muted: Pair
    """Secondary text on the page (dates, addresses)."""
    header: Pair
    primary: Pair
    """The main action (take a ticket) and chosen items."""
    secondary: Pair
    """Other buttons."""
    help: Pair
    """Call staff."""
    tile: Pair
    unavailable: Pair
    """A matter that cannot be taken now (greyed; the note says why, so colour is never the only cue)."""
    card: Pair
    """The ticket's number card."""
    warning: Pair
    alert: Pair
    """Printing failed, hub offline."""

    def pairs(self) -> dict[str, Pair]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


@dataclass(frozen=True)
class Theme:
    name: str
    caption: float
    """The smallest text (dates, addresses, notes), dp."""
    body: float
    wait: float
    """Waiting counts and estimated waits."""
    main: float
    """Button labels and the key facts of a screen."""
    title: float
    hero: float
    """The "take a ticket" button on the home screen."""
    number: float
    """The ticket number."""
    button_height: float
    min_target: float
    """Smallest touch target, both sides, dp."""
    tile_width: float
    """Matter tiles are at least this wide; the columns follow from the window width."""
    padding: float
    spacing: float
    header_height: float
    min_contrast: float
    colours: Colours


_NAVY = "#0B3D91"
_INK = "#1A1A1A"
_PAPER = "#FFFFFF"

NORMAL = Theme(
    name="normal",
    caption=18,
    body=22,
    wait=24,
    main=30,
    title=34,
    hero=72,
    number=150,
    button_height=76,
    min_target=44,
    tile_width=400,
    padding=24,
    spacing=16,
    header_height=96,
    min_contrast=NORMAL_CONTRAST,
    colours=Colours(
        page=pair(_INK, "#EEF2F7"),
        muted=pair("#4A5260", "#EEF2F7"),
        header=pair(_PAPER, _NAVY),
        primary=pair(_PAPER, "#1553B6"),
        secondary=pair(_NAVY, "#D9E4F5"),
        help=pair(_PAPER, "#B3261E"),
        tile=pair(_INK, _PAPER),
        unavailable=pair("#3D3D3D", "#D4D4D4"),
        card=pair(_NAVY, _PAPER),
        warning=pair(_INK, "#FFC940"),
        alert=pair(_PAPER, "#A3161A"),
    ),
)

ELDER = Theme(
    name="elder",
    caption=24,
    body=28,
    wait=32,
    main=36,
    title=40,
    hero=96,
    number=200,
    button_height=104,
    min_target=60,
    tile_width=560,
    padding=28,
    spacing=20,
    header_height=112,
    min_contrast=ELDER_CONTRAST,
    colours=Colours(
        page=pair("#000000", "#F5F5F0"),
        muted=pair(_INK, "#F5F5F0"),
        header=pair(_PAPER, "#082B66"),
        primary=pair(_PAPER, "#0B3D91"),
        secondary=pair("#082B66", "#DCE6F5"),
        help=pair(_PAPER, "#8E1B16"),
        tile=pair("#000000", _PAPER),
        unavailable=pair(_INK, "#D0D0D0"),
        card=pair("#082B66", _PAPER),
        warning=pair("#000000", "#FFC940"),
        alert=pair(_PAPER, "#8B0F12"),
    ),
)


def theme_for(elder_mode: bool) -> Theme:
    return ELDER if elder_mode else NORMAL
