"""The kiosk's screen logic as a plain class: what each screen shows and what a tap does. No Kivy, no MQTT.

The view (Kivy) draws ``KioskModel``'s properties and forwards taps; the link feeds it the hub's retained site
info, the district summary and the site snapshot, and sends the requests it returns. A tap that needs the outside
world answers an ``Effect`` (call staff, start or stop the camera) for the controller to carry out. ``spoken()`` is
what elder mode reads aloud on the current screen. Tests drive it directly.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import contract as wire
from devicekit.materials import material_line
from devicekit.voice import ticket_en, ticket_zh
from kiosk.id_reader import IdCard
from kiosk.officer_code import OfficerEntry
from kiosk.texts import Texts, spoken_wait_text, wait_text

if TYPE_CHECKING:
    from kiosk.documents.flow import DocumentFlow
    from kiosk.rating import RatingFlow

EARTH_RADIUS_KM = 6371.0


class Screen(enum.StrEnum):
    HOME = "home"
    MATTERS = "matters"
    WORKING = "working"
    TICKET = "ticket"
    NEARBY = "nearby"
    MESSAGE = "message"
    CHECKIN = "checkin"
    """The camera looks for an appointment's QR code."""
    DOCUMENTS = "documents"
    """Handing in documents: ``KioskModel.documents`` (kiosk/documents/flow.py) has the steps."""
    RATING = "rating"
    """Rating a service after scanning the ticket: ``KioskModel.rating`` (kiosk/rating.py) has the steps."""
    OFFICER = "officer"
    """A service experience officer types or scans their code (kiosk/officer_code.py)."""


class Effect(enum.StrEnum):
    """What a tap asks of the world outside the model (the controller does it)."""

    CALL_STAFF = "call_staff"
    START_SCAN = "start_scan"
    STOP_SCAN = "stop_scan"


@dataclass(frozen=True)
class MatterTile:
    code: str
    name: str
    category: str
    waiting: int
    wait_text: str
    available: bool
    note: str = ""


@dataclass(frozen=True)
class TicketView:
    number: str
    matter_names: str
    people_ahead_text: str
    wait_text: str
    windows_text: str
    materials: tuple[str, ...]
    printed: bool | None = True
    """True: printed (or no printer); None: printing now; False: the printer failed (the number is still valid)."""
    print_note: str = ""
    """Why printing failed, from the printer's status ("打印机缺纸，请记下屏幕上的号码")."""
    appointment: str = ""
    """"预约时段 09:00–09:30" for a checked-in appointment."""
    spoken_number: str = ""
    """The number as a person reads it aloud ("A 零零四")."""
    spoken_wait: str = ""


@dataclass(frozen=True)
class Spoken:
    """What elder mode reads aloud: sentences in one language (``zh`` or ``en``)."""

    language: str
    sentences: tuple[str, ...]
    warning: str = ""
    """Elder mode's idle warning, read when it appears (its seconds count down: it is not part of the screen)."""

    @property
    def everything(self) -> tuple[str, ...]:
        return (*self.sentences, self.warning) if self.warning else self.sentences


@dataclass(frozen=True)
class NearbySite:
    site_id: str
    name: str
    address: str
    distance_km: float
    waiting: int
    wait_text: str


@dataclass(frozen=True)
class Timing:
    idle_seconds: float = 60.0
    elder_idle_seconds: float = 120.0
    warning_seconds: float = 20.0
    """Elder mode warns this long before returning home, with a one-tap extend (WCAG: at least 20 s)."""


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


class KioskModel:
    def __init__(self, site_id: str, texts: Texts | None = None, timing: Timing | None = None) -> None:
        self.site_id = site_id
        self.texts = texts or Texts()
        self.timing = timing or Timing()
        self.info: wire.SiteInfo | None = None
        self.summary: wire.DistrictSummary | None = None
        self.snapshot: wire.Snapshot | None = None
        self.hub_online = True
        self.screen = Screen.HOME
        self.elder_mode = False
        self.message = ""
        self.ticket: TicketView | None = None
        self.chosen: str | None = None
        self.warning_seconds_left: int | None = None
        self.retry_action: str | None = None
        """A message screen's second button: "checkin" (scan again) after a refused check-in."""
        self.card: IdCard | None = None
        """The ID card laid on the reader for this citizen's ticket (dropped with the ticket or back home)."""
        self.documents: DocumentFlow | None = None
        """The hand-in of documents, when the kiosk has a document camera (材料提交)."""
        self.rating: RatingFlow | None = None
        """Rating a service by the ticket's QR code (服务评价), when the kiosk reaches the hub over HTTP."""
        self.officer = OfficerEntry()
        """A service experience officer's code for the next ticket (体验官)."""
        self._last_touch: datetime | None = None

    # -- what the hub tells us --------------------------------------------------------------------------------

    def on_info(self, info: wire.SiteInfo) -> None:
        if info.site_id == self.site_id:
            self.info = info

    def on_summary(self, summary: wire.DistrictSummary) -> None:
        self.summary = summary

    def on_snapshot(self, snapshot: wire.Snapshot) -> None:
        if snapshot.site_id == self.site_id:
            self.snapshot = snapshot

    @property
    def here(self) -> wire.SiteSummary | None:
        if self.summary is None:
            return None
        return next((site for site in self.summary.sites if site.site_id == self.site_id), None)

    def closed_text(self) -> str | None:
        """Why nobody can take a ticket now, or None when the site issues."""
        here = self.here
        if here is None or here.open_now:
            return None
        when = here.next_opening.strftime("%m-%d %H:%M") if here.next_opening else "—"
        return self.texts("Closed now. Ticketing opens again at {when}.", when=when)

    # -- screens ------------------------------------------------------------------------------------------------

    def home_actions(self) -> list[tuple[str, str]]:
        """(action, label) of the home screen's buttons; elder mode shows fewer choices."""
        actions = [("take", self.texts("Take a ticket")), ("checkin", self.texts("Check in an appointment"))]
        if self.rating is not None:
            actions.append(("rate", self.texts("Rate our service")))
        if not self.elder_mode:
            actions += [("documents", self.texts("Hand in documents")), ("nearby", self.texts("Nearby service sites"))]
        if not self.elder_mode:  # the way in is prominent; the way out stays in the header ("标准模式")
            actions.append(("elder", self.texts("Elder-friendly mode")))
        actions.append(("help", self.texts("Call staff for help")))
        return actions

    def matter_tiles(self) -> list[MatterTile]:
        if self.info is None:
            return []
        waiting = self.snapshot.waiting if self.snapshot else {}
        remaining = self.snapshot.remaining if self.snapshot else {}
        here = self.here
        closed = self.closed_text()
        tiles = []
        for matter in self.info.matters:
            minutes = here.wait_minutes.get(matter.code) if here else None
            full = remaining.get(matter.code, 1) <= 0
            note = closed or (self.texts("Today's tickets are all taken") if full else "")
            count = waiting.get(matter.code, 0)
            tiles.append(
                MatterTile(
                    code=matter.code,
                    name=self.texts.pick(matter.name_zh, matter.name_en),
                    category=matter.category,
                    waiting=count,
                    wait_text=wait_text(self.texts, wire.WaitEstimate(people_ahead=count, minutes=minutes)),
                    available=not note,
                    note=note,
                )
            )
        return tiles

    def nearby(self, code: str) -> list[NearbySite]:
        """Other sites offering the matter, quickest first (estimated wait, then distance)."""
        here = self.here
        if self.summary is None or here is None:
            return []
        options = []
        for site in self.summary.sites:
            if site.site_id == self.site_id or code not in site.offered or not site.open_now:
                continue
            minutes = site.wait_minutes.get(code)
            count = site.waiting.get(code, 0)
            options.append(
                (
                    minutes if minutes is not None else math.inf,
                    NearbySite(
                        site_id=site.site_id,
                        name=self.texts.pick(site.name_zh, site.name_en),
                        address=self.texts.pick(site.address_zh, site.address_en),
                        distance_km=round(distance_km(here.latitude, here.longitude, site.latitude, site.longitude), 1),
                        waiting=count,
                        wait_text=wait_text(self.texts, wire.WaitEstimate(people_ahead=count, minutes=minutes)),
                    ),
                )
            )
        options.sort(key=lambda option: (option[0], option[1].distance_km))
        return [site for _, site in options]

    # -- taps ---------------------------------------------------------------------------------------------------

    def touch(self, now: datetime) -> None:
        self._last_touch = now
        self.warning_seconds_left = None

    def tap(self, action: str, now: datetime) -> Effect | None:
        """A tap on a button; the effect the controller must carry out, if any."""
        self.touch(now)
        leaving_scan = self.wants_camera and action not in ("elder", "language")
        effect: Effect | None = Effect.STOP_SCAN if leaving_scan else None
        if action in ("take", "checkin") and not self.hub_online:
            self._show(Screen.MESSAGE, self.texts("The service is unreachable. Please try again or ask the staff."))
        elif action == "take":
            closed = self.closed_text()  # outside opening hours: when the site opens next, instead of the matters
            self._show(Screen.MESSAGE if closed else Screen.MATTERS, closed or "")
        elif action == "checkin":
            self._show(Screen.CHECKIN)
            effect = Effect.START_SCAN
        elif action == "nearby":
            self._show(Screen.NEARBY)
        elif action in ("rate", "officer"):
            effect = self._scan_for(action)
        elif action == "documents" and self.documents is not None:
            self._show(Screen.DOCUMENTS)
            self.documents.start(card=self.card, ticket_id=None)
        elif action == "documents":  # no document camera here
            self._show(Screen.MESSAGE, self.texts("Handing in documents here is not open yet. Please take a ticket."))
        elif action == "elder":
            self.elder_mode = not self.elder_mode
        elif action == "help":
            self._show(Screen.MESSAGE, self.texts("A member of staff is on the way."))
            effect = Effect.CALL_STAFF
        elif action == "language":
            self.texts.language = "en" if self.texts.language.startswith("zh") else "zh_CN"
        elif action in ("back", "home"):
            self._show(Screen.HOME)
        return effect

    def _scan_for(self, action: str) -> Effect | None:
        """Open a screen that reads a QR code: the ticket to rate ("rate"), an officer's code ("officer", from the
        matters; "take" goes back there with the code kept for the ticket)."""
        if action == "officer":
            self._show(Screen.OFFICER)
            self.officer.start()
        elif self.rating is not None:
            self._show(Screen.RATING)
            self.rating.start()
        else:
            return None
        return Effect.START_SCAN

    def on_card(self, card: IdCard, now: datetime) -> None:
        """An ID card was laid on the reader: the next ticket is registered to it; from the start screen, on to the
        matters."""
        self.card = card
        self.touch(now)
        if self.screen == Screen.DOCUMENTS and self.documents is not None:
            self.documents.on_card(card)
        elif self.screen == Screen.HOME:
            self._show(Screen.MATTERS)

    def card_note(self) -> str | None:
        """What the screen says of the card it holds, masked: "已读取身份证：张*明 1101**********002X"."""
        if self.card is None:
            return None
        return self.texts("ID card read: {name} {number}", name=self.card.masked_name, number=self.card.masked_number)

    def choose_matter(self, code: str, now: datetime) -> dict[str, Any] | None:
        """The issue request's body for a tapped matter, or None when it cannot be taken (the tile says why)."""
        self.touch(now)
        tile = next((tile for tile in self.matter_tiles() if tile.code == code), None)
        if tile is None or not tile.available:
            return None
        self.chosen, self.ticket = code, None
        self._show(Screen.WORKING, self.texts("Working…"))
        body: dict[str, Any] = {"matters": [code], "channel": "kiosk"}
        if self.card is not None:
            body["id_number"] = self.card.id_number
        if self.officer.code is not None:
            body["officer_code"] = self.officer.code
        return body

    def on_issue_reply(self, reply: wire.Reply, printed: bool | None = True) -> None:
        """The hub's answer to an issue (or check-in) request. ``printed``: None while the ticket is printing."""
        if not reply.ok or reply.ticket is None:
            error = reply.error
            self._show(Screen.MESSAGE, self.texts.pick(error.zh, error.en) if error else "")
            return
        ticket = reply.ticket
        self.card = None  # the ticket is registered to it: the next citizen starts without
        self.officer.forget()  # the visit is the hub's to record now
        wait = ticket.wait
        names = [self._matter_name(code) for code in ticket.matters]
        slot = ticket.appointment
        self.ticket = TicketView(
            number=ticket.number,
            matter_names="、".join(names),
            people_ahead_text=self.texts("{count} people ahead of you", count=wait.people_ahead if wait else 0),
            wait_text=wait_text(self.texts, wait) if wait else "",
            windows_text=self.texts("Please watch windows {windows}", windows="、".join(map(str, ticket.windows))),
            materials=self._materials(ticket.matters[0]) if ticket.matters else (),
            printed=printed,
            appointment=self.texts("Appointment {slot}", slot=slot) if slot else "",
            spoken_number=self._spoken_number(ticket.number),
            spoken_wait=spoken_wait_text(self.texts, wait) if wait else "",
        )
        self._show(Screen.TICKET)

    def on_printed(self, printed: bool, zh: str = "", en: str = "") -> None:
        """The printer's outcome for the ticket on screen; the ticket is valid either way."""
        if self.ticket is None:
            return
        note = (
            ""
            if printed
            else (self.texts.pick(zh, en) or self.texts("The printer failed: please note your number on the screen."))
        )
        self.ticket = replace(self.ticket, printed=printed, print_note=note)

    @property
    def wants_camera(self) -> bool:
        """A screen that reads QR codes: check-in, the ticket to rate, an officer's code."""
        rating = self.screen == Screen.RATING and self.rating is not None and self.rating.scanning
        officer = self.screen == Screen.OFFICER and not self.officer.recorded
        return self.screen == Screen.CHECKIN or rating or officer

    def on_scanned(self, code: str, now: datetime) -> dict[str, Any] | None:
        """The camera read a code: the check-in request's body, or None when it is not for a check-in (a ticket to
        rate, an officer's code: they are taken here) or nobody is on a scanning screen."""
        if self.screen == Screen.RATING and self.rating is not None:
            self.touch(now)
            self.rating.on_scanned(code)
            return None
        if self.screen == Screen.OFFICER:
            self.touch(now)
            self.officer.on_scanned(code)
            return None
        if self.screen != Screen.CHECKIN or not code.strip():
            return None
        self.touch(now)
        self.ticket = None
        self._show(Screen.WORKING, self.texts("Checking in…"))
        return {"code": code.strip()}

    def on_checkin_reply(self, reply: wire.Reply, printed: bool | None = True) -> None:
        """Checked in: the ticket screen, with the appointment's time slot. Refused (forged, expired, another site,
        already used, too early): the hub's reason as it is, and a button to scan again."""
        self.on_issue_reply(reply, printed)
        if self.screen == Screen.MESSAGE:
            self.retry_action = "checkin"

    def on_camera_failed(self) -> None:
        """No camera (none configured, OpenCV missing, the device gone): say so instead of scanning forever."""
        if self.screen == Screen.CHECKIN:
            self._show(Screen.MESSAGE, self.texts("The camera is not available. Please ask the staff."))

    def on_slow_reply(self) -> None:
        """No reply yet, the link sends the request again (the site's hub may be changing): the working screen says
        so, rather than looking frozen."""
        if self.screen == Screen.WORKING:
            self.message = self.texts("Working, please wait…")

    def on_unreachable(self) -> None:
        """No reply after the retries: nothing was confirmed, so nothing is printed."""
        self._show(Screen.MESSAGE, self.texts("The service is unreachable. Please try again or ask the staff."))

    def tick(self, now: datetime) -> None:
        """Called every second: warn (elder mode) and return home when nobody touches the screen."""
        if self.screen == Screen.HOME or self._last_touch is None:
            return
        limit = self.timing.elder_idle_seconds if self.elder_mode else self.timing.idle_seconds
        left = limit - (now - self._last_touch).total_seconds()
        if left <= 0 or (self.screen == Screen.RATING and self.rating is not None and self.rating.expired()):
            self._show(Screen.HOME)
            self.warning_seconds_left = None
        elif self.elder_mode and left <= self.timing.warning_seconds:
            self.warning_seconds_left = math.ceil(left)

    def warning_text(self) -> str | None:
        if self.warning_seconds_left is None:
            return None
        return self.texts(
            "Still there? This screen returns to the start in {seconds} s.", seconds=self.warning_seconds_left
        )

    # -- read aloud (elder mode) -------------------------------------------------------------------------------

    def spoken(self) -> Spoken:
        """The current screen as sentences to read aloud, in the screen's language: what it says, in the order a
        person reads it, with the ticket number read out character by character."""
        t = self.texts
        language = "zh" if t.language.startswith("zh") else "en"
        sentences: list[str] = []
        if not self.hub_online:
            sentences.append(t("No connection to the service system"))
        if self.screen == Screen.HOME:
            sentences.append(self.closed_text() or t("Hello! What would you like to do?"))
            sentences += [label for action, label in self.home_actions() if action != "elder"]
        elif self.screen == Screen.MATTERS:
            sentences.append(t("Choose your matter"))
            sentences += [tile.name for tile in self.matter_tiles() if tile.available]
        elif self.screen == Screen.TICKET and self.ticket is not None:
            sentences += self._spoken_ticket(self.ticket)
        elif self.screen == Screen.NEARBY:
            sentences.append(t("Nearby service sites"))
        elif self.screen == Screen.CHECKIN:
            sentences += [t("Check in an appointment"), t("Hold the QR code of your appointment up to the camera.")]
        elif self.screen == Screen.DOCUMENTS and self.documents is not None:
            sentences += self.documents.spoken().sentences
        elif self.screen == Screen.RATING and self.rating is not None:
            sentences += self.rating.spoken().sentences
        elif self.screen == Screen.OFFICER:
            recorded = self.officer.recorded
            sentences.append(t("Recorded.") if recorded else t("Experience officer: type or scan your code."))
        elif self.message:
            sentences.append(self.message)
        sentences = [sentence for sentence in sentences if sentence]
        return Spoken(language, tuple(sentences), self.warning_text() or "")

    def _spoken_ticket(self, ticket: TicketView) -> list[str]:
        t = self.texts
        sentences = [t("Your number is {number}", number=ticket.spoken_number or ticket.number), ticket.matter_names]
        sentences += [ticket.appointment, ticket.people_ahead_text, ticket.spoken_wait, ticket.windows_text]
        if ticket.printed is False:
            sentences.append(ticket.print_note)
        if ticket.materials:
            sentences.append(t("Please have ready:"))
            sentences += list(ticket.materials)
        return sentences

    # -- helpers ------------------------------------------------------------------------------------------------

    def _show(self, screen: Screen, message: str = "") -> None:
        if self.screen == Screen.DOCUMENTS and screen != Screen.DOCUMENTS and self.documents is not None:
            self.documents.leave()  # the camera stops; the next citizen sees nothing of this one's pages
        self.screen = screen
        self.message = message
        self.retry_action = None
        if screen == Screen.HOME:
            self.card = None
            self.officer.forget()

    def _spoken_number(self, number: str) -> str:
        try:
            return ticket_zh(number) if self.texts.language.startswith("zh") else ticket_en(number)
        except ValueError:  # not letters followed by digits: read it as written
            return number

    def _matter_name(self, code: str) -> str:
        matter = self._matter(code)
        return self.texts.pick(matter.name_zh, matter.name_en) if matter else code

    def _matter(self, code: str) -> wire.MatterInfo | None:
        if self.info is None:
            return None
        return next((matter for matter in self.info.matters if matter.code == code), None)

    def _materials(self, code: str) -> tuple[str, ...]:
        """ "身份证：原件 1 份" — each material with the counts it asks for; a count of zero is left out."""
        matter = self._matter(code)
        if matter is None:
            return ()
        return tuple(material_line(self.texts, m) for m in matter.materials)
