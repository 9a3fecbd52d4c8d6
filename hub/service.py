"""The hub's application service: load → decide → append → answer, one site at a time.

Commands for one site are decided strictly one after another (a lock per site), so two windows pressing
"call next" at the same instant can never get the same ticket. The outcome of an accepted command is stored with
its events in one transaction under the command's id: a retry gets the first answer back. A refusal changed
nothing, so it is only remembered in memory for a while (``refusals_kept_seconds``) to answer its retries alike;
later, a retry is decided again (docs/decisions/0014-refusals-in-memory-snapshots-aside.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import cast

import msgspec

from engine import SiteState, fold, handle
from engine.codec import decode_state, encode_state
from engine.commands import Command
from engine.district import District
from engine.events import AnyEvent, TicketIssued
from engine.rejections import Rejection
from hub.store.base import DuplicateCommand, Entry, EventStore, expected_failure
from hub.store.snapshots import SnapshotSaver

log = logging.getLogger(__name__)

RECENT_COMMANDS = 100_000
"""Command ids remembered to look up a retry's answer before deciding (~10 MB; a busy centre's few days)."""
REFUSALS_KEPT = 20_000
"""Refusals remembered at most (the oldest are forgotten first): a flood of them costs bounded memory."""


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to one command: the events it caused, or why it was refused."""

    command_id: str
    events: tuple[AnyEvent, ...] = ()
    rejection: Rejection | None = None
    digest: str = ""
    """The digest of the request the command came from (``Gateway``), to tell a retry from an id used again for
    another request; empty for the hub's own commands."""

    @property
    def accepted(self) -> bool:
        return self.rejection is None


_encode = msgspec.json.Encoder().encode
_decode_outcome = msgspec.json.Decoder(Outcome).decode


class HallService:
    def __init__(
        self,
        district: District,
        store: EventStore,
        snapshot_every: int = 1000,
        *,
        refusals_kept_seconds: float = 600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``refusals_kept_seconds``: how long a refusal's answer is repeated to its retries (longer than a device
        retries one request). ``monotonic``: the clock of that lifetime."""
        self.district = district
        self.store = store
        self.snapshot_every = snapshot_every
        self.snapshots = SnapshotSaver(store)
        self.refusals_kept_seconds = refusals_kept_seconds
        self._monotonic = monotonic
        self._refused: OrderedDict[str, tuple[float, Outcome]] = OrderedDict()
        """Refusals by command id, oldest first, with the time each is forgotten."""
        self._states: dict[str, SiteState] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._recent: OrderedDict[str, None] = OrderedDict()
        """Ids of the commands this process stored lately, oldest first (at most ``RECENT_COMMANDS``)."""

    def _lock(self, site_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(site_id, threading.Lock())

    def _load(self, site_id: str) -> SiteState:
        """The site's state from its latest snapshot plus the events logged after it."""
        snapshot = self.store.snapshot(site_id)
        state = SiteState(site_id=site_id)
        if snapshot is not None:
            if snapshot[0] > self.store.last_seq(site_id):
                log.warning(
                    "snapshot of site %s is ahead of its log (#%d); folding the whole log", site_id, snapshot[0]
                )
            else:
                try:
                    state = decode_state(snapshot[1])
                except msgspec.DecodeError:
                    log.warning("snapshot of site %s at #%d is unreadable; folding the whole log", site_id, snapshot[0])
        return fold(site_id, self.store.events(site_id, after_seq=state.seq), state)

    def state(self, site_id: str) -> SiteState:
        """The live state of a site (read it under no lock only for display; it changes under you)."""
        state = self._states.get(site_id)
        if state is None:
            state = self._states[site_id] = self._load(site_id)
        return state

    def forget(self, site_id: str) -> None:
        """Drop a site's state: another hub decides for it now, and it is loaded afresh if this one takes it again."""
        with self._lock(site_id):
            self._states.pop(site_id, None)

    def execute(self, command: Command, digest: str = "") -> Outcome:
        return self.execute_many([command], [digest])[0]

    def execute_many(self, commands: Sequence[Command], digests: Sequence[str] = ()) -> list[Outcome]:
        """Decide the commands in turn and store all their entries in one transaction (a group commit); answer each
        in order. A command id already stored, refused lately, or seen earlier in the batch, gets the first answer
        (with the digest of the first request, which the caller compares with its own: ``digests``, one per command
        or none).

        If the batch cannot be stored, nothing of it was: the sites' states are reloaded and the commands run again
        one at a time, so one bad command (or a retry racing its first attempt) costs only itself.
        """
        sites = sorted({command.site_id for command in commands})
        locks = [self._lock(site_id) for site_id in sites]
        for lock in locks:
            lock.acquire()
        digests = list(digests) or [""] * len(commands)
        try:
            known = self._decide_and_store(commands, digests, sites)
        finally:
            for lock in locks:
                lock.release()
        if known is None:
            return [self.execute(command, digest) for command, digest in zip(commands, digests, strict=True)]
        return [known[command.command_id] for command in commands]

    def close(self) -> None:
        """Wait (a few seconds at most) for the snapshots still being saved, before the store is closed."""
        if not self.snapshots.flush(timeout=5.0):
            log.warning("snapshots still being saved at close; a restart folds from the previous ones")

    def issued_by(self, command_id: str) -> str | None:
        """The ticket a stored command issued, if it did (an appointment check-in's confirmation is recovered
        from it after a stop)."""
        outcome = self._stored([command_id]).get(command_id)
        events = outcome.events if outcome is not None else ()
        return next((event.ticket_id for event in events if isinstance(event, TicketIssued)), None)

    def _stored(self, command_ids: Sequence[str]) -> dict[str, Outcome]:
        return {key: _decode_outcome(value) for key, value in self.store.outcomes(command_ids).items()}

    def _decide_and_store(
        self, commands: Sequence[Command], digests: Sequence[str], sites: list[str]
    ) -> dict[str, Outcome] | None:
        """Under the sites' locks: every command's outcome by id, or None when a batch of several failed to store.

        Only ids this process stored or refused lately are looked up before deciding (a retry of its own answer);
        any other id already in the store (a retry from before a restart) is refused by the store's primary key, and
        the batch runs again one by one, where a single command's conflict finds its stored answer."""
        retried = [command.command_id for command in commands if command.command_id in self._recent]
        known = self._stored(retried) if retried else {}
        known.update(self._refusals(commands))
        seqs_before = {site_id: self.state(site_id).seq for site_id in sites}
        entries: list[Entry] = []
        refused: list[Outcome] = []
        try:
            for command, digest in zip(commands, digests, strict=True):
                if command.command_id not in known:
                    outcome = known[command.command_id] = self._decide(self.state(command.site_id), command, digest)
                    if outcome.accepted:
                        entries.append(Entry(command.site_id, command.command_id, outcome.events, _encode(outcome)))
                    else:
                        refused.append(outcome)
            self.store.append(entries)
        except Exception as error:
            return self._not_stored(error, commands, sites)
        for entry in entries:
            self._recent[entry.command_id] = None
        while len(self._recent) > RECENT_COMMANDS:
            self._recent.popitem(last=False)
        self._remember(self._unless_stored(refused, known))
        for site_id in sites:
            if self.state(site_id).seq // self.snapshot_every != seqs_before[site_id] // self.snapshot_every:
                self._snapshot(self.state(site_id))
        return known

    def _not_stored(self, error: Exception, commands: Sequence[Command], sites: list[str]) -> dict[str, Outcome] | None:
        """Nothing of the batch was stored: None to run it again one by one, a single command's stored answer if a
        retry raced its first attempt; any other failure of a single command is raised."""
        for site_id in sites:  # the states may hold events that were never stored: reload on next use
            self._states.pop(site_id, None)
        if len(commands) > 1:
            log.warning("a batch of %d commands could not be stored (%r); one by one now", len(commands), error)
            return None
        if isinstance(error, DuplicateCommand):  # a retry raced its first attempt: answer as that one was
            return self._stored([commands[0].command_id])
        if expected_failure(error):
            log.error("command for site %s not stored: %s", sites[0], str(error).splitlines()[0])
        else:
            log.exception("command failed for site %s; its state will be reloaded from the store", sites[0])
        raise error

    def _unless_stored(self, refused: list[Outcome], known: dict[str, Outcome]) -> list[Outcome]:
        """The refusals that are the first answer to their ids. A refusal is not stored, so the primary key cannot
        catch a retry (from before a restart, or through another hub) of a command once accepted: deciding it again
        is refused (``no_current_ticket`` for a second finish). Such an id's stored answer replaces the refusal in
        ``known``; one indexed read, for refusals only (the request limit bounds them)."""
        stored = self._stored([outcome.command_id for outcome in refused]) if refused else {}
        known.update(stored)
        return [outcome for outcome in refused if outcome.command_id not in stored]

    def _refusals(self, commands: Sequence[Command]) -> dict[str, Outcome]:
        """The refusals of those commands that are still remembered (those past their lifetime are forgotten)."""
        now = self._monotonic()
        while self._refused and next(iter(self._refused.values()))[0] <= now:
            self._refused.popitem(last=False)
        return {command.command_id: kept[1] for command in commands if (kept := self._refused.get(command.command_id))}

    def _remember(self, refused: list[Outcome]) -> None:
        until = self._monotonic() + self.refusals_kept_seconds
        for outcome in refused:
            self._refused[outcome.command_id] = (until, outcome)
        while len(self._refused) > REFUSALS_KEPT:
            self._refused.popitem(last=False)

    def _decide(self, state: SiteState, command: Command, digest: str) -> Outcome:
        result = handle(self.district, state, command)
        if isinstance(result, Rejection):
            return Outcome(command_id=command.command_id, rejection=result, digest=digest)
        return Outcome(command_id=command.command_id, events=tuple(cast(list[AnyEvent], result)), digest=digest)

    def _snapshot(self, state: SiteState) -> None:
        """Encoded here, where the state holds still (the writer's thread, ~2 ms at 5,000 tickets), and saved on the
        saver's thread: the requests no longer wait for its write (hub/store/snapshots.py). On SQLite, whose write
        lock is the whole database's, a commit of the writer can still wait while the saver's commit holds it."""
        try:
            self.snapshots.save(state.site_id, state.seq, encode_state(state))
        except Exception:  # a snapshot only speeds up a restart: never the command's failure
            log.exception("could not snapshot site %s at #%d", state.site_id, state.seq)
