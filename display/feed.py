"""The board's data side, without Kivy: the link that follows the site (retained snapshot, events in sequence, a gap
-> a snapshot request), the site's retained info (matter names), the zone, and which calls to announce.

The Kivy app (display/app.py), the tests and the benchmark all drive a board through this one class.

Which calls are announced: every call at the board's windows that the board learns of after it first caught up
with the site, once, in sequence order, whether it came as an event or in a snapshot (the retained snapshot may
overtake its event). When one change brings several new calls at once (the board missed events: a broker restart, a
dropped message, then a resync), only the newest ``catch_up`` of them that the hub made less than
``LATE_CALL_SECONDS`` ago are announced; the others are only shown. A recall is a new call and is announced again.
The calls on the board when it starts are not announced; their recall sentences are synthesised ahead instead.

How calls are announced: the board's own settings (``settings``, its file), with the voice keys the hub sends in the
board's retained ``DeviceConfig.settings`` (its site's voice policy) over them, from the next call played after they
arrive; values the board cannot use are logged and left out. A board built without an announcer (its file says
``voice = false``: no speakers) stays silent whatever the hub says.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec

import contract as wire
from devicekit.link import DeviceLink
from devicekit.site_view import SiteView
from devicekit.voice import Announcer
from display.board_model import Board, BoardModel
from display.config import BoardConfig
from engine.events import CallKind

log = logging.getLogger(__name__)

LATE_CALL_SECONDS = 120.0
"""A call the board missed is announced late only if the hub made it less than this long ago."""
ZONE_HISTORY = 48
"""Calls a zone board keeps (the site's calls, most of them at other windows)."""


def _now() -> datetime:
    return datetime.now().astimezone()


class BoardFeed:
    def __init__(
        self,
        link: DeviceLink,
        model: BoardModel,
        announcer: Announcer | None = None,
        *,
        catch_up: int = 3,
        clock: Callable[[], datetime] = _now,
        settings: BoardConfig | None = None,
    ) -> None:
        if link.view is None:
            raise ValueError("a board's link must follow its site (follow_site=True)")
        self.link = link
        self.model = model
        self.announcer = announcer
        self.catch_up = catch_up
        self.clock = clock
        self.on_change: Callable[[], None] = lambda: None
        """Called from the network thread after anything shown changed (the app hands it to the Kivy thread)."""
        self.announced_seq: int | None = None
        """Calls up to this seq are announced (or were on the board when it started)."""
        self.late_skipped = 0
        """Missed calls shown but not announced (too many at once, or too old)."""
        self.settings = settings
        """The board's own settings (its file): the voice without the hub's settings. None: the hub's are ignored."""
        self.hub_settings: dict[str, str] = {}
        """The hub's settings for this board now in force (those the board could not use logged and left out)."""
        self._lock = threading.Lock()
        if not model.zone.whole_site:
            link.view.recent = max(link.view.recent, ZONE_HISTORY)
        link.on_change = self._changed
        link.on_call = lambda _call: None  # calls are announced from _changed: events and snapshots alike
        self._listen_for_info()

    @property
    def view(self) -> SiteView:
        assert self.link.view is not None
        return self.link.view

    def start(self, wait: float = 0.0) -> bool:
        """Start the announcer (engine warm-up) and connect; True when connected within ``wait`` seconds."""
        if self.announcer is not None:
            self.announcer.start()
        return self.link.start(wait=wait)

    def stop(self) -> None:
        self.link.stop()
        if self.announcer is not None:
            self.announcer.stop(timeout=1.0, drain=False)

    def frame(self, now: datetime) -> Board:
        """What the board shows now. Call it from one thread only (the app's: Kivy's)."""
        self.model.hub_online = self.link.connected.is_set() and self.link.hub_online
        return self.model.board(self.view, now)

    # -- network thread ------------------------------------------------------------------------------------------

    def _changed(self) -> None:
        with self._lock:
            try:
                self._follow_settings()
            except Exception:  # the voice keeps its settings
                log.exception("applying the hub's settings failed")
            try:
                self._announce_new()
            except Exception:  # never let the voice break the board
                log.exception("choosing the calls to announce failed")
        self.on_change()

    def _follow_settings(self) -> None:
        """The hub's settings, when they changed: the file's voice with them over it, from the next call played."""
        config = self.link.config
        wanted = dict(config.settings) if config is not None else {}
        if wanted == self.hub_settings or self.settings is None or self.announcer is None:
            return
        self.hub_settings = wanted
        voice, ignored = self.settings.with_hub_settings(wanted)
        for problem in ignored:
            log.warning("ignoring the hub's setting %s (the board's own file's value stays)", problem)
        self.announcer.reconfigure(voice.voice_config())
        given = ", ".join(f"{key}={value}" for key, value in sorted(wanted.items()))
        log.info("voice: %s", f"the hub's settings ({given})" if wanted else "the board's own settings")

    def _announce_new(self) -> None:
        view = self.view
        if not view.synced:
            return
        seq = view.seq
        calls = list(view.calls)
        newest = max([seq, *(call.seq for call in calls)])
        if self.announced_seq is None:  # the first picture of the site: nothing to announce, recalls to prepare
            self.announced_seq = newest
            self._prewarm_recalls(self.model.zone_calls(view))
            return
        zone, info = self.model.zone, self.model.info
        new = sorted(
            (call for call in calls if call.seq > self.announced_seq and zone.covers_call(call, info, view.snapshot)),
            key=lambda call: call.seq,
        )
        self.announced_seq = max(self.announced_seq, newest)
        if len(new) > 1:  # caught up after missing events: only the newest few, and only recent ones
            cutoff = self.clock() - timedelta(seconds=LATE_CALL_SECONDS)
            late = [call for call in new[-self.catch_up :] if call.at >= cutoff]
            self.late_skipped += len(new) - len(late)
            new = late
        if self.announcer is None:
            return
        for call in new:
            self.announcer.announce(call)
        self._prewarm_recalls(new, announced=True)

    def _prewarm_recalls(self, calls: list[wire.CallView], *, announced: bool = False) -> None:
        """Synthesise ahead the recall sentence of each number now at a window (the newest call per window). After
        an announcement only when recalls have a template of their own: else the sentence is already cached."""
        if self.announcer is None or not calls:
            return
        templates = self.announcer.config.templates
        if announced and not any(key.endswith(f":{CallKind.RECALL.value}") for key in templates):
            return
        latest: dict[str, wire.CallView] = {}
        for call in sorted(calls, key=lambda call: -call.seq):
            latest.setdefault(call.window_id, call)
        self.announcer.prewarm([msgspec.structs.replace(call, kind=CallKind.RECALL) for call in latest.values()])

    def _listen_for_info(self) -> None:
        """Besides what DeviceLink follows: the site's retained info (site and matter names, who serves what)."""
        self.link.follow_retained(wire.info_topic(self.link.site_id), wire.SiteInfo, self._on_info)

    def _on_info(self, info: wire.SiteInfo) -> None:
        self.model.on_info(info)
        self.on_change()
