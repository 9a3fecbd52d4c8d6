"""Render one kiosk screen in a real (offscreen) Kivy window, save a screenshot and the measurements of what it drew.

One process can open one Kivy window, so the tests run this as a subprocess per window size and font:

    python -m tests.kiosk.render_kiosk --size 1366x768 [--font FONT] SCENE=OUT.png[=OUT.json] ...
    python -m tests.kiosk.render_kiosk --all docs/screenshots      # the screenshots kept in the repository

Several scenes of one size share a window (and a process): the view is swapped between screenshots.

The model is fed the sample district at 2026-11-25 10:00 (Wednesday) by the hub's real builders, with every site's
windows open (the centre's serving for 6 minutes), tickets waiting and one matter sold out. The JSON lists every label
(text, role, font size in dp, colour, the background it is drawn on, its box and its text's size), every tappable
widget's size in dp and the theme's colour pairs in use.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Kivy reads its environment when it is imported: set it first.
os.environ.pop("DISPLAY", None)  # the bundled SDL2 then opens an offscreen EGL window
os.environ.update(KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1", KIVY_NO_FILELOG="1", SDL_AUDIODRIVER="dummy")
if "KIVY_HOME" not in os.environ:  # else importing Kivy writes ~/.kivy
    os.environ["KIVY_HOME"] = tempfile.mkdtemp(prefix="kivy-home-")
    atexit.register(shutil.rmtree, os.environ["KIVY_HOME"], ignore_errors=True)

import argparse
import json
import subprocess
import sys
import traceback
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
from kivy.app import App
from kivy.clock import Clock
from kivy.config import Config
from kivy.graphics.opengl import GL_RGBA, GL_UNSIGNED_BYTE, glReadPixels
from kivy.metrics import dp
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from PIL import Image

import contract as wire
from devicekit.look import CJK_FONT
from devicekit.widgets import Panel, use_font
from kiosk.documents import vision
from kiosk.documents.flow import CapturedPage, DocumentFlow
from kiosk.documents.spool import Spool
from kiosk.documents.uploader import Credentials, Uploader
from kiosk.id_reader import IdCard
from kiosk.model import KioskModel
from kiosk.rating import RatingFlow, Unreachable
from kiosk.view import KioskView
from tests.kiosk.test_model import DISTRICT, WEDNESDAY_10AM, Hall
from tests.support.documents import photograph

CARD = IdCard(
    name="张三丰", gender="1", nation="01", birth="19491231", address="北京市朝阳区", id_number="11010519491231002X",
    authority="北京市公安局朝阳分局", valid_from="20200101", valid_to="长期",
)  # fmt: skip
WAITING = {"A02": 3, "B01": 6, "C01": 2, "D01": 4, "E01": 1, "F01": 5}
SOLD_OUT = "B03"


@dataclass(frozen=True)
class Scene:
    elder: bool = False
    steps: tuple[str, ...] = ()
    """Taps on the model before the screenshot."""
    issue: str | None = None
    """Take a ticket for this matter."""
    printed: bool = True
    warn: bool = False
    """Let the screen idle into its elder-mode warning."""
    check_in: str | None = None
    """Scan an appointment: "ok" checks in (a ticket with its slot), anything else is the hub's refusal."""
    card: bool = False
    """Lay an ID card on the reader first."""
    rating: str | None = None
    """Rate a service: "scan" (the camera looks), "form" (a bad rating being given), "thanks", "unreachable"."""
    officer: str | None = None
    """On the matters, open the officer's entry and type these keys."""
    documents: str | None = None
    """Hand in documents up to this step of the flow (``DOCUMENT_STEPS``), from the home screen's tile."""


SCENES = {
    "home": Scene(),
    "matters": Scene(steps=("take",)),
    "matters-card": Scene(card=True),
    "nearby": Scene(steps=("nearby",)),
    "ticket": Scene(steps=("take",), issue="B01"),
    "ticket-unprinted": Scene(steps=("take",), issue="B01", printed=False),
    "message": Scene(steps=("help",)),
    "elder-home": Scene(elder=True),
    "elder-matters": Scene(elder=True, steps=("take",)),
    "elder-ticket": Scene(elder=True, steps=("take",), issue="B01", warn=True),
    "elder-english-ticket": Scene(elder=True, steps=("language", "take"), issue="B01", printed=False),
    "checkin": Scene(steps=("checkin",)),
    "elder-checkin": Scene(elder=True, steps=("checkin",)),
    "checkin-ticket": Scene(steps=("checkin",), check_in="ok"),
    "checkin-refused": Scene(steps=("checkin",), check_in="该预约已过期，请重新预约或现场取号"),
    "rating-scan": Scene(rating="scan"),
    "rating": Scene(rating="form"),
    "elder-rating": Scene(elder=True, rating="form"),
    "rating-thanks": Scene(rating="thanks"),
    "elder-rating-unreachable": Scene(elder=True, rating="unreachable"),
    "officer-code": Scene(steps=("take",), officer="7K2MQ9"),
    "elder-officer-code": Scene(elder=True, steps=("take",), officer="7K2MQ9"),
}
DOCUMENT_STEPS = ("matters", "checklist", "capture", "review", "commitment", "submitting", "receipt")
SCENES |= {f"documents-{step}": Scene(documents=step) for step in DOCUMENT_STEPS}
SCENES |= {f"elder-documents-{step}": Scene(elder=True, documents=step) for step in DOCUMENT_STEPS}

SIZES = {"1080p": "1920x1080", "768p": "1366x768"}
SCREENSHOTS = {
    **{
        f"kiosk-{scene}-{label}.png": (scene, size)
        for scene in ("home", "ticket", "elder-home", "checkin", "elder-checkin")
        for label, size in SIZES.items()
    },
    "kiosk-matters-1080p.png": ("matters", "1920x1080"),
    "kiosk-matters-card-768p.png": ("matters-card", "1366x768"),
    "kiosk-elder-ticket-1080p.png": ("elder-ticket", "1920x1080"),
    "kiosk-checkin-ticket-1080p.png": ("checkin-ticket", "1920x1080"),
    "kiosk-checkin-refused-768p.png": ("checkin-refused", "1366x768"),
    "kiosk-ticket-portrait.png": ("ticket-unprinted", "1080x1920"),
    "kiosk-rating-1080p.png": ("rating", "1920x1080"),
    "kiosk-elder-rating-1080p.png": ("elder-rating", "1920x1080"),
    "kiosk-officer-code-1080p.png": ("officer-code", "1920x1080"),
    **{
        f"kiosk-{mode}documents-{step}-1080p.png": (f"{mode}documents-{step}", "1920x1080")
        for mode in ("", "elder-")
        for step in DOCUMENT_STEPS
    },
}
"""The screenshots kept in docs/screenshots/ (``--all``); the tests render and check every one of them."""


def build_model(scene: Scene) -> KioskModel:
    hall = Hall(now=WEDNESDAY_10AM - timedelta(minutes=6))
    for site in DISTRICT.sites:
        hall.open_windows(site.id)
    hall.serve_everywhere(hall.site_id, minutes=6)  # a hall at work at 10:00: every window of the centre serving
    for code, count in WAITING.items():
        for n in range(count):
            assert hall.issue({"matters": [code]}, f"{code}-{n}").ok
    sold_out = next(m for m in hall.kiosk.info.matters if m.code == SOLD_OUT)  # type: ignore[union-attr]
    for n in range(sold_out.daily_limit):
        assert hall.issue({"matters": [SOLD_OUT]}, f"{SOLD_OUT}-{n}").ok
    hall.refresh()
    model, now = hall.kiosk, hall.now
    if scene.elder:
        model.tap("elder", now)
    if scene.card:
        model.on_card(CARD, now)
    for action in scene.steps:
        model.tap(action, now)
    if scene.issue is not None:
        body = model.choose_matter(scene.issue, now)
        assert body is not None
        model.on_issue_reply(hall.issue(body, "mine"), printed=scene.printed)
    if scene.check_in is not None:
        assert model.on_scanned("APPT-8F3K2", now) is not None
        model.on_checkin_reply(checked_in(hall) if scene.check_in == "ok" else refused(scene.check_in))
    if scene.documents is not None:
        hand_in(model, scene.documents)
    rate_or_type_a_code(model, scene, now)
    if scene.warn:
        model.tick(now + timedelta(seconds=model.timing.elder_idle_seconds - 15))
    return model


# -- handing in documents: the real flow, with the camera's photographs and the hub's answers played in -------------

DOCUMENT_MATTER = "D01"
"""居住证办理: five materials, two of which the catalogue lets a commitment replace."""
CASE_NUMBER = "CENTRE-20261125-0007"
PHOTOS = {"card": photograph(1, kind="card"), "form": photograph(3, kind="form"), "text": photograph(3, kind="text")}


class StillCamera:
    """The document camera with one photograph under it (the flow's ``CameraControl``): no threads, no taking."""

    def __init__(self, frame: Any) -> None:
        self.frame = frame

    def arm(self, shape: wire.PageShape) -> None:
        pass

    def disarm(self) -> None:
        pass

    def capture_now(self) -> None:
        pass

    def latest(self) -> Any:
        return self.frame


class DeskHub(Uploader):
    """The hub's answers without a hub: this citizen may sign commitments; a submission gets ``CASE_NUMBER``."""

    def check_commitment(self, id_number: str) -> bool:
        return True

    def send(self, submission_id: str, attempts: int | None = None) -> wire.CaseReceipt:
        receipt = wire.CaseReceipt(case_number=CASE_NUMBER, state=wire.CaseState.SUBMITTED, status_url="/case/8F3K2QX")
        self.spool.opened(submission_id, receipt)
        self.spool.submitted(submission_id, receipt)
        return receipt


def taken(kind: str, shape: wire.PageShape) -> CapturedPage:
    """A page as the viewfinder takes it: found, corrected to its shape, encoded and thumbnailed."""
    frame = PHOTOS[kind].frame
    verdict = vision.analyse(frame)
    assert verdict.corners is not None
    corrected = vision.correct(frame, verdict.corners, shape)
    return CapturedPage(vision.encode_page(corrected), vision.thumbnail(corrected, 240), shape)


def hand_in(model: KioskModel, step: str) -> None:
    """From the home tile up to ``step``: the flow's own taps, the camera's pages and the hub's answers in between."""
    folder = Path(tempfile.mkdtemp(prefix="kiosk-spool-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    spool = Spool(folder)
    hub = DeskHub(spool, "http://hub.invalid", Credentials("kiosk-centre-1", "-"), site=model.site_id)
    deferred: list[Any] = []
    flow = DocumentFlow(
        model.site_id, model.texts, spool, hub, run=deferred.append if step == "submitting" else lambda work: work(),
        post=lambda change: change(), public_url="https://hall.example.cn",
    )  # fmt: skip
    camera = StillCamera(PHOTOS["form"].frame)
    flow.attach(camera)
    assert model.info is not None
    flow.on_info(model.info)
    model.documents = flow
    now = WEDNESDAY_10AM
    model.tap("documents", now)
    model.on_card(CARD, now)  # the card on the reader: commitments are offered
    if step == "matters":
        return
    flow.choose_matter(DOCUMENT_MATTER)
    flow.capture(0)
    flow.on_captured(taken("card", wire.PageShape.ID_CARD))
    if step == "review":
        flow.add_page()
        flow.on_captured(taken("card", wire.PageShape.ID_CARD))
        return
    flow.done_material()
    if step == "commitment":
        flow.commit(4)
        return
    if step == "capture":
        flow.capture(1)
        flow.on_verdict(vision.analyse(camera.frame))
        return
    flow.commit(4)
    flow.consent()
    if step == "checklist":
        return
    flow.capture(1)
    flow.on_captured(taken("form", wire.PageShape.A4))
    flow.done_material()
    flow.submit()
    if step == "submitting":  # the upload is under way (its work is held back): the hub has one of the two pages
        assert deferred
        hub.on_page(wire.PageRef(material=0, page=1), 1, 2)


# -- rating a service: the real flow, with the hub's answers played in (tests/kiosk/test_rating.py uses a server) --

RATING_OFFER = wire.RatingOffer(
    state=wire.RatingOfferState.OPEN, number="B012", matter_zh="城乡居民养老保险参保登记",
    matter_en="Residents' pension insurance enrolment", window_number=5,
)  # fmt: skip


class RatingAnswers:
    """The hub's two rating routes answered at once (``kiosk.rating.Client``); ``Unreachable`` when told so."""

    def __init__(self, reachable: bool = True) -> None:
        self.reachable = reachable

    def offer(self, token: str) -> wire.RatingOffer:
        return RATING_OFFER

    def rate(self, token: str, rating: wire.TicketRating) -> wire.RatingOffer:
        if not self.reachable:
            raise Unreachable("the scene's hub is away")
        return msgspec.structs.replace(RATING_OFFER, state=wire.RatingOfferState.RATED, level=rating.level)


def rate_or_type_a_code(model: KioskModel, scene: Scene, now: Any) -> None:
    """The scene's rating step, or the officer's keys typed on the entry opened from the matters."""
    if scene.rating is not None:
        rate(model, scene.rating, now)
    if scene.officer is not None:
        model.tap("officer", now)
        for key in scene.officer:
            model.officer.press(key)


def rate(model: KioskModel, step: str, now: Any) -> None:
    """From the home screen's tile to ``step``: the ticket scanned, 不满意 with two parts and two reasons given."""
    answers = RatingAnswers(reachable=step != "unreachable")
    model.rating = RatingFlow(model.texts, answers, run=lambda work: work(), post=lambda change: change(), attempts=1)
    model.tap("rate", now)
    if step == "scan":
        return
    model.on_scanned(f"https://hall.example.cn/t/{'Q' * 20}", now)
    flow = model.rating
    flow.choose_level(2)
    flow.choose_aspect("efficiency", 2)
    flow.choose_aspect("attitude", 3)
    flow.toggle_reason(wire.RatingReason.LONG_WAIT)
    flow.toggle_reason(wire.RatingReason.NOT_TOLD_AT_ONCE)
    if step != "form":
        flow.send()


def checked_in(hall: Hall) -> wire.Reply:
    """An appointment's ticket: issued by the hub in memory, with the slot the check-in reply carries."""
    reply = hall.issue({"matters": ["A02"], "priority": "appointment", "channel": "appointment"}, "appointment")
    assert reply.ticket is not None
    return msgspec.structs.replace(reply, ticket=msgspec.structs.replace(reply.ticket, appointment="10:00-10:30"))


def refused(zh: str) -> wire.Reply:
    return wire.Reply(id="appointment", ok=False, error=wire.Error(code="appointment_expired", zh=zh, en=zh))


def size_window(width: int, height: int) -> None:
    """Before the window opens: offscreen, a window cannot be resized later."""
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "resizable", "0")
    Config.set("kivy", "exit_on_escape", "0")


def window_box(widget: Any) -> list[float]:
    """x, y (from the bottom), width and height in window pixels."""
    x, y = widget.to_window(widget.x, widget.y)
    return [x, y, widget.width, widget.height]


def label_facts(widget: Any) -> dict[str, Any]:
    """What the kiosk's, caller's and board's layout checks read of every label."""
    return {
        "text": widget.text,
        "role": getattr(widget, "role", None),
        "font_dp": widget.font_size / dp(1),
        "box": window_box(widget),
        "texture": list(widget.texture_size),
    }


def measure(root: Any) -> dict[str, Any]:
    def rgb(rgba: Any) -> list[int]:
        return [round(c * 255) for c in rgba[:3]]

    def ancestors(widget: Any) -> list[Any]:
        chain = []
        while widget.parent is not None and widget.parent is not widget:
            widget = widget.parent
            chain.append(widget)
        return chain

    def drawn_on(widget: Any) -> Any:
        """What paints the background behind a label: its own button face, else the nearest panel."""
        return next(w for w in (widget, *ancestors(widget)) if isinstance(w, Button | Panel))

    def background(owner: Any) -> list[int]:
        return rgb(owner.background_color) if isinstance(owner, Button) else list(owner.bg)

    unit = dp(1)
    labels, buttons, pairs = [], [], set()
    for widget in root.walk(restrict=True):
        if isinstance(widget, Label):
            owner = drawn_on(widget)
            labels.append(
                {
                    **label_facts(widget),
                    "color": rgb(widget.color),
                    "bg": background(owner),
                    "panel": window_box(owner),
                    "scrolls": any(isinstance(a, ScrollView) for a in ancestors(widget)),
                }
            )
        if isinstance(widget, ButtonBehavior):
            texts = [w.text for w in widget.walk(restrict=True) if isinstance(w, Label)]
            buttons.append(
                {"text": " ".join(texts), "width_dp": widget.width / unit, "height_dp": widget.height / unit}
            )
        if hasattr(widget, "pair"):
            pairs.add(widget.pair)
    return {
        "theme": root.theme.name,
        "labels": labels,
        "buttons": buttons,
        "pairs": {
            name: {"fg": list(pair.fg), "bg": list(pair.bg)}
            for name, pair in root.theme.colours.pairs().items()
            if pair in pairs
        },
    }


def save_window(out: Path, width: int, height: int) -> None:
    """The window's pixels as an RGB PNG. (``Window.screenshot`` skews windows whose RGB rows are not a multiple of
    4 bytes wide, such as 1366 pixels.)"""
    pixels = glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE)
    image = Image.frombytes("RGBA", (width, height), pixels).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    image.convert("RGB").save(out, optimize=True)


@dataclass(frozen=True)
class Job:
    scene: str
    out: Path
    measurements: Path | None = None


SETTLE_FRAMES = 5
"""Frames drawn before a screenshot: the first may be black, and labels settle their sizes in between."""


def render(jobs: list[Job], size: str, font: str) -> None:
    """Render the scenes one after another in one window of ``size``: the view is swapped between screenshots."""
    width, height = (int(v) for v in size.split("x"))
    size_window(width, height)
    models = [build_model(SCENES[job.scene]) for job in jobs]
    use_font(font)

    def view_of(index: int) -> KioskView:
        return KioskView(models[index], now=lambda: WEDNESDAY_10AM, issue=lambda _body: None)

    class Shot(App):  # type: ignore[misc]  # Kivy has no type hints
        def build(self) -> KioskView:
            self.index, self.view, self.ready_at = 0, view_of(0), SETTLE_FRAMES
            Clock.schedule_interval(self.check, 0)
            return self.view

        def check(self, _dt: float) -> bool:
            if Clock.frames_displayed < self.ready_at:
                return True
            job = jobs[self.index]
            save_window(job.out, width, height)
            if job.measurements is not None:
                data = {"scene": job.scene, "size": [width, height], "font": font, **measure(self.view)}
                job.measurements.write_text(json.dumps(data, ensure_ascii=False, indent=1))
            self.index += 1
            if self.index == len(jobs):
                self.stop()
                return False
            window = self.root_window
            window.remove_widget(self.view)
            self.view = view_of(self.index)
            window.add_widget(self.view)
            self.ready_at = Clock.frames_displayed + SETTLE_FRAMES
            return True

    try:
        Shot().run()
    except BaseException:
        traceback.print_exc(file=sys.__stderr__)  # Kivy's logger holds sys.stderr while console logs are off
        raise


def render_command(jobs: list[Job], size: str, font: str = CJK_FONT) -> list[str]:
    """The command line that renders ``jobs`` in a child process (one Kivy window per process)."""
    specs = [f"{job.scene}={job.out}" + (f"={job.measurements}" if job.measurements else "") for job in jobs]
    return [sys.executable, "-m", "tests.kiosk.render_kiosk", "--size", size, "--font", font, *specs]


def render_all(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    by_size: dict[str, list[Job]] = {}
    for name, (scene, size) in SCREENSHOTS.items():
        by_size.setdefault(size, []).append(Job(scene, folder / name))
    for size, jobs in by_size.items():
        subprocess.run(render_command(jobs, size), check=True)
        for job in jobs:
            print(job.out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", type=Path, metavar="FOLDER", help="write the repository's screenshots here")
    parser.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT of the window")
    parser.add_argument("--font", default=CJK_FONT, help="the default font (a non-CJK one shows the boxes)")
    parser.add_argument("jobs", nargs="*", metavar="SCENE=OUT.png[=OUT.json]")
    args = parser.parse_args(argv)
    if args.all is not None:
        render_all(args.all)
        return
    jobs = []
    for spec in args.jobs:
        scene, _, rest = spec.partition("=")
        out, _, data = rest.partition("=")
        if scene not in SCENES or not out:
            parser.error(f"{spec!r}: expected SCENE=OUT.png[=OUT.json] with a scene of {', '.join(sorted(SCENES))}")
        jobs.append(Job(scene, Path(out), Path(data) if data else None))
    if not jobs:
        parser.error("give SCENE=OUT.png ..., or --all FOLDER")
    render(jobs, args.size, args.font)


if __name__ == "__main__":
    main()
