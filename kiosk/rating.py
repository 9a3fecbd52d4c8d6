"""Rating a service at the kiosk (服务评价), as a plain class: what each step shows and what a tap does. No Kivy.

scan the ticket's QR code (``<public_url>/t/<token>``) → ``GET /api/v1/tickets/<token>/rating`` → the five national
levels, the three sub-indicators (办事效率, 服务水平, 服务态度) and, for 基本满意 or worse, the reasons → ``POST`` the
same path with a ``TicketRating`` (contract.py, "a ticket rated by its holder") → thanks, and home after a few
seconds. The rater is never asked who they are; the token is the only credential.

HTTP runs through ``run`` (a worker thread) and its result comes back through ``post`` (the UI thread), so only the
UI thread touches the flow. A rating the hub did not confirm is kept and sent again unchanged (``retry``); the hub
rates a service once, so ``already_rated`` in answer to a second try means the first one arrived: thanks.
"""

from __future__ import annotations

import enum
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import msgspec

import contract as wire
from kiosk.model import Spoken
from kiosk.texts import Texts

log = logging.getLogger(__name__)

Post = Callable[[Callable[[], None]], None]
"""Run a function on the UI thread."""
Run = Callable[[Callable[[], None]], None]
"""Run a function on a worker thread."""

LEVELS = (5, 4, 3, 2, 1)
"""The order of the buttons: 非常满意 first (GB/T 39734-2020)."""
LEVEL_WORDS = {5: "Very satisfied", 4: "Satisfied", 3: "Fairly satisfied", 2: "Dissatisfied", 1: "Very dissatisfied"}
ASPECT_WORDS = {"efficiency": "Efficiency", "service_level": "Service level", "attitude": "Attitude"}
"""The sub-indicators, in ``wire.RatingAspects``'s field names."""
REASON_WORDS = {
    wire.RatingReason.LONG_WAIT: "Long wait",
    wire.RatingReason.SLOW: "Slow handling",
    wire.RatingReason.ATTITUDE: "Poor attitude",
    wire.RatingReason.NOT_TOLD_AT_ONCE: "Not told everything at once",
    wire.RatingReason.TOO_MANY_MATERIALS: "Too many materials asked",
    wire.RatingReason.CAME_AGAIN: "Had to come again",
    wire.RatingReason.FACILITIES: "Poor facilities",
    wire.RatingReason.OTHER: "Other",
}
REASONS_FROM = 3
"""Reasons are offered for 基本满意 (3) and worse."""

_TOKEN = re.compile(r"/t/([A-Za-z0-9_-]{8,64})/?(?:[?#].*)?$")
"""The ticket's token at the end of its printed status link."""


def ticket_token(code: str) -> str | None:
    """The token of a ticket's QR code (``https://hall.example.cn/t/<token>``), or None for any other code."""
    found = _TOKEN.search(code.strip())
    return found.group(1) if found else None


class Step(enum.StrEnum):
    SCAN = "scan"
    """The camera looks for the ticket's QR code."""
    LOOKING = "looking"
    """The hub is asked what the ticket may rate."""
    FORM = "form"
    SENDING = "sending"
    THANKS = "thanks"
    MESSAGE = "message"
    """A plain sentence: not served yet, rated already, unknown ticket, hub unreachable."""


class Unknown(Exception):
    """The hub knows no ticket of this token (404)."""


class Unreachable(Exception):
    """No answer, or a server error: nothing was decided, ask again."""


class Refused(Exception):
    """The hub answered with an ``Error`` (``nothing_to_rate``, ``already_rated``)."""

    def __init__(self, error: wire.Error) -> None:
        super().__init__(error.code)
        self.error = error


class Client(Protocol):
    """The hub's two rating routes: ``RatingClient``; each raises ``Unknown``, ``Unreachable`` or ``Refused``."""

    def offer(self, token: str) -> wire.RatingOffer: ...

    def rate(self, token: str, rating: wire.TicketRating) -> wire.RatingOffer: ...


class RatingClient:
    """The hub's two rating routes over HTTP (the token is the credential: no device account)."""

    def __init__(self, hub_url: str, timeout: float = 5.0) -> None:
        self.hub_url, self.timeout = hub_url.rstrip("/"), timeout

    def offer(self, token: str) -> wire.RatingOffer:
        return self._ask(token, None)

    def rate(self, token: str, rating: wire.TicketRating) -> wire.RatingOffer:
        return self._ask(token, wire.encode(rating))

    def _ask(self, token: str, body: bytes | None) -> wire.RatingOffer:
        request = urllib.request.Request(f"{self.hub_url}/api/v1/tickets/{token}/rating", data=body)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return msgspec.json.decode(response.read(), type=wire.RatingOffer)
        except urllib.error.HTTPError as error:
            answer = error.read()
            if error.code == 404:
                raise Unknown() from None
            if error.code >= 500 or error.code in (408, 429):
                raise Unreachable(f"HTTP {error.code}") from None
            try:
                raise Refused(msgspec.json.decode(answer, type=wire.Error)) from None
            except msgspec.DecodeError:
                raise Unreachable(f"HTTP {error.code} without an error") from None
        except (urllib.error.URLError, OSError, msgspec.DecodeError) as error:
            raise Unreachable(str(error)) from None


@dataclass(frozen=True)
class LevelButton:
    level: int
    label: str
    chosen: bool


class RatingFlow:
    def __init__(
        self,
        texts: Texts,
        client: Client,
        run: Run,
        post: Post,
        *,
        attempts: int = 3,
        retry_wait: float = 1.0,
        thanks_seconds: float = 6.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.texts, self.client, self.run, self.post = texts, client, run, post
        self.attempts, self.retry_wait, self.thanks_seconds, self.clock = attempts, retry_wait, thanks_seconds, clock
        self.step = Step.SCAN
        self.note = ""
        """Under the scanning target: why the last code was not a ticket's."""
        self.message = ""
        self.offer: wire.RatingOffer | None = None
        self.level: int | None = None
        self.aspects: dict[str, int] = {}
        self.reasons: set[wire.RatingReason] = set()
        self.can_retry = False
        """The message's "重试": the hub could not be reached (a rating not confirmed is sent again unchanged)."""
        self._token: str | None = None
        self._pending: wire.TicketRating | None = None
        """The rating sent and not confirmed yet: a retry sends exactly this."""
        self._tries = [0]
        """POSTs of ``_pending`` that may have reached the hub: counted by the worker sending it, so a new rating
        gets a new list (never reset in place under a worker still counting the last one's)."""
        self._thanked_at: float | None = None
        self._generation = 0

    # -- the citizen ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """A new citizen: nothing of the last one's ticket or rating stays."""
        self._generation += 1
        self.step, self.note, self.message, self.offer = Step.SCAN, "", "", None
        self.level, self.aspects, self.reasons = None, {}, set()
        self.can_retry, self._token, self._pending, self._tries, self._thanked_at = False, None, None, [0], None

    @property
    def scanning(self) -> bool:
        return self.step == Step.SCAN

    def on_scanned(self, code: str) -> bool:
        """The camera read a code: True when it is a ticket's (the hub is asked about it)."""
        if self.step != Step.SCAN:
            return False
        token = ticket_token(code)
        if token is None:
            self.note = self.texts("This is not a ticket's code. Please scan the QR code on your ticket.")
            return False
        self._token = token
        self._look()
        return True

    def choose_level(self, level: int) -> None:
        if self.step != Step.FORM or level not in LEVELS:
            return
        self.level = level
        if level > REASONS_FROM:
            self.reasons.clear()  # a good rating carries no reasons of dissatisfaction

    def choose_aspect(self, aspect: str, level: int) -> None:
        """A sub-indicator's level; the same level again takes it back (the sub-indicators are optional)."""
        if self.step != Step.FORM or aspect not in ASPECT_WORDS or level not in LEVELS:
            return
        if self.aspects.get(aspect) == level:
            del self.aspects[aspect]
        else:
            self.aspects[aspect] = level

    def toggle_reason(self, reason: wire.RatingReason) -> None:
        if self.step == Step.FORM and self.reasons_offered:
            self.reasons ^= {reason}

    @property
    def reasons_offered(self) -> bool:
        return self.level is not None and self.level <= REASONS_FROM

    @property
    def can_send(self) -> bool:
        return self.step == Step.FORM and self.level is not None

    def send(self) -> None:
        """Send the rating once; a tap while it is on its way sends nothing more."""
        if not self.can_send or self.level is None:
            return
        aspects = wire.RatingAspects(**self.aspects) if self.aspects else None
        reasons = tuple(reason for reason in wire.RatingReason if reason in self.reasons)
        self._pending = wire.TicketRating(
            level=self.level, aspects=aspects, reasons=reasons, source=wire.RatingSource.KIOSK
        )
        self._tries = [0]
        self._send()

    def retry(self) -> None:
        """After "hub unreachable": the rating kept is sent again unchanged, or the ticket looked up again."""
        if self.step != Step.MESSAGE or not self.can_retry:
            return
        if self._pending is not None:
            self._send()
        elif self._token is not None:
            self._look()

    def expired(self) -> bool:
        """The thanks have been shown long enough: back to the start."""
        return (
            self.step == Step.THANKS
            and self._thanked_at is not None
            and (self.clock() - self._thanked_at >= self.thanks_seconds)
        )

    # -- what the screen shows -----------------------------------------------------------------------------------

    def levels(self) -> list[LevelButton]:
        return [LevelButton(level, self.level_word(level), level == self.level) for level in LEVELS]

    def level_word(self, level: int) -> str:
        return self.texts(LEVEL_WORDS[level])

    def aspect_rows(self) -> list[tuple[str, str, int | None]]:
        """(aspect, its name, the level given) of each sub-indicator."""
        return [(aspect, self.texts(words), self.aspects.get(aspect)) for aspect, words in ASPECT_WORDS.items()]

    def reason_chips(self) -> list[tuple[wire.RatingReason, str, bool]]:
        if not self.reasons_offered:
            return []
        return [(reason, self.texts(words), reason in self.reasons) for reason, words in REASON_WORDS.items()]

    def service_text(self) -> str:
        """ "A012 · 个体工商户设立登记 · 5 号窗口": which service is rated (never who served it)."""
        offer = self.offer
        if offer is None:
            return ""
        parts = [offer.number, self.texts.pick(offer.matter_zh, offer.matter_en)]
        if offer.window_number is not None:
            parts.append(self.texts("Window {number}", number=offer.window_number))
        return " · ".join(part for part in parts if part)

    def picture(self) -> tuple[object, ...]:
        """Everything drawn of the flow (the view redraws when it changes)."""
        return (
            self.step, self.note, self.message, self.offer, self.level, tuple(sorted(self.aspects.items())),
            tuple(sorted(self.reasons)), self.can_retry,
        )  # fmt: skip

    def spoken(self) -> Spoken:
        t = self.texts
        language = "zh" if t.chinese else "en"
        sentences: list[str] = []
        if self.step == Step.SCAN:
            sentences += [t("Rate our service"), t("Hold the QR code on your ticket up to the camera."), self.note]
        elif self.step in (Step.LOOKING, Step.SENDING):
            sentences.append(t("Working…"))
        elif self.step == Step.FORM:
            sentences += [t("How satisfied are you with this service?"), self.service_text()]
            sentences += [button.label for button in self.levels()]
            if self.level is not None:
                sentences.append(t("You chose: {level}", level=self.level_word(self.level)))
            if self.reasons_offered:
                sentences.append(t("You may tell us why (optional)."))
        elif self.step == Step.THANKS:
            sentences.append(t("Thank you for your rating."))
        else:
            sentences.append(self.message)
        return Spoken(language, tuple(sentence for sentence in sentences if sentence))

    # -- the hub (workers, then the UI thread) -------------------------------------------------------------------

    def _look(self) -> None:
        token, generation = self._token, self._generation
        assert token is not None
        self.step, self.note, self.can_retry = Step.LOOKING, "", False

        def ask() -> None:
            try:
                offer = self._retrying(lambda: self.client.offer(token))
            except Unknown:
                self.post(lambda: self._say(generation, "We do not know this ticket. Please ask the staff."))
            except Unreachable as error:
                log.warning("rating: no answer from the hub (%s)", error)
                self.post(lambda: self._unreachable(generation))
            except Refused as refused:
                answer = refused.error  # the except clause's name is gone once the clause ends
                self.post(lambda: self._refused(generation, answer))
            else:
                self.post(lambda: self._on_offer(generation, offer))

        self.run(ask)

    def _send(self) -> None:
        token, rating, generation, tries = self._token, self._pending, self._generation, self._tries
        assert token is not None and rating is not None
        self.step, self.can_retry = Step.SENDING, False

        def attempt() -> wire.RatingOffer:
            tries[0] += 1  # counted before the answer: a try that timed out may still have reached the hub
            return self.client.rate(token, rating)

        def send() -> None:
            try:
                self._retrying(attempt)
            except Unreachable as error:
                log.warning("rating: not confirmed by the hub (%s); kept to send again", error)
                self.post(lambda: self._unreachable(generation))
            except Unknown:
                self.post(lambda: self._say(generation, "We do not know this ticket. Please ask the staff."))
            except Refused as refused:
                answer = refused.error
                arrived = answer.code == "already_rated" and tries[0] > 1  # an earlier try did reach the hub
                self.post(lambda: self._thank(generation) if arrived else self._refused(generation, answer))
            else:
                self.post(lambda: self._thank(generation))

        self.run(send)

    def _retrying(self, ask: Callable[[], wire.RatingOffer]) -> wire.RatingOffer:
        """``ask`` up to ``attempts`` times while the hub cannot be reached."""
        for attempt in range(1, self.attempts + 1):
            try:
                return ask()
            except Unreachable:
                if attempt == self.attempts:
                    raise
                time.sleep(self.retry_wait)
        raise AssertionError("unreachable")

    def _on_offer(self, generation: int, offer: wire.RatingOffer) -> None:
        if generation != self._generation:
            return
        self.offer = offer
        if offer.state == wire.RatingOfferState.OPEN:
            self.step = Step.FORM
        elif offer.state == wire.RatingOfferState.RATED:
            self._show_message("This service has been rated already. Thank you.")
        else:
            self._show_message("Your service is not finished yet. Please rate it after it.")

    def _refused(self, generation: int, error: wire.Error) -> None:
        if generation != self._generation:
            return
        if error.code == "already_rated":
            self._show_message("This service has been rated already. Thank you.")
        elif error.code == "nothing_to_rate":
            self._show_message("Your service is not finished yet. Please rate it after it.")
        else:
            self.step, self.message, self.can_retry = Step.MESSAGE, self.texts.pick(error.zh, error.en), False
        self._pending = None

    def _thank(self, generation: int) -> None:
        if generation != self._generation:
            return
        self.step, self._pending, self._thanked_at = Step.THANKS, None, self.clock()

    def _unreachable(self, generation: int) -> None:
        if generation != self._generation:
            return
        self._show_message("The service is unreachable. Please try again or ask the staff.")
        self.can_retry = True

    def _say(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self._show_message(message)
            self._pending = None

    def _show_message(self, message: str) -> None:
        self.step, self.message, self.can_retry = Step.MESSAGE, self.texts(message), False
