"""The hub's application service: load → decide → append → answer, one site at a time.

Commands for one site are decided strictly one after another (a lock per site), so two windows pressing
"call next" at the same instant can never get the same ticket. The outcome of every command, accepted or refused,
is stored with its events in one transaction under the command's id: a retry gets the first answer back.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import cast

import msgspec

from engine import SiteState, fold, handle
from engine.codec import decode_state, encode_state
from engine.commands import Command
from engine.district import District
from engine.events import AnyEvent, TicketIssued
from engine.rejections import Rejection
from hub.store.base import DuplicateCommand, Entry, EventStore

log = logging.getLogger(__name__)

RECENT_COMMANDS = 100_000
"""Command ids remembered to look up a retry's answer before deciding (~10 MB; a busy centre's few days)."""


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to one command: the events it caused, or why it was refused."""

    command_id: str
    events: tuple[AnyEvent, ...] = ()
    rejection: Rejection | None = None

    @property
    def accepted(self) -> bool:
        return self.rejection is None


_encode = msgspec.json.Encoder().encode
_decode_outcome = msgspec.json.Decoder(Outcome).decode


class HallService:
    def __init__(self, district: District, store: EventStore, snapshot_every: int = 1000) -> None:
        self.district = district
        self.store = store
        self.snapshot_every = snapshot_every
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
            if snapshot[0] <= self.store.last_seq(site_id):
                state = decode_state(snapshot[1])
            else:
                log.warning(
                    "snapshot of site %s is ahead of its log (#%d); folding the whole log", site_id, snapshot[0]
                )
        return fold(site_id, self.store.events(site_id, after_seq=state.seq), state)

    def state(self, site_id: str) -> SiteState:
        """The live state of a site (read it under no lock only for display; it changes under you)."""
        state = self._states.get(site_id)
        if state is None:
            state = self._states[site_id] = self._load(site_id)
        return state

    def execute(self, command: Command) -> Outcome:
        return self.execute_many([command])[0]

    def execute_many(self, commands: Sequence[Command]) -> list[Outcome]:
        """Decide the commands in turn and store all their entries in one transaction (a group commit); answer each
        in order. A command id already stored, or seen earlier in the batch, gets the first answer.

        If the batch cannot be stored, nothing of it was: the sites' states are reloaded and the commands run again
        one at a time, so one bad command (or a retry racing its first attempt) costs only itself.
        """
        sites = sorted({command.site_id for command in commands})
        locks = [self._lock(site_id) for site_id in sites]
        for lock in locks:
            lock.acquire()
        try:
            known = self._decide_and_store(commands, sites)
        finally:
            for lock in locks:
                lock.release()
        if known is None:
            return [outcome for command in commands for outcome in self.execute_many([command])]
        return [known[command.command_id] for command in commands]

    def issued_by(self, command_id: str) -> str | None:
        """The ticket a stored command issued, if it did (an appointment check-in's confirmation is recovered
        from it after a stop)."""
        outcome = self._stored([command_id]).get(command_id)
        events = outcome.events if outcome is not None else ()
        return next((event.ticket_id for event in events if isinstance(event, TicketIssued)), None)

    def _stored(self, command_ids: Sequence[str]) -> dict[str, Outcome]:
        return {key: _decode_outcome(value) for key, value in self.store.outcomes(command_ids).items()}

    def _decide_and_store(self, commands: Sequence[Command], sites: list[str]) -> dict[str, Outcome] | None:
        """Under the sites' locks: every command's outcome by id, or None when a batch of several failed to store.

        Only ids this process stored lately are looked up before deciding (a retry of its own answer); any other id
        already in the store (a retry from before a restart) is refused by the store's primary key, and the batch
        runs again one by one, where a single command's conflict finds its stored answer."""
        retried = [command.command_id for command in commands if command.command_id in self._recent]
        known = self._stored(retried) if retried else {}
        seqs_before = {site_id: self.state(site_id).seq for site_id in sites}
        entries: list[Entry] = []
        try:
            for command in commands:
                if command.command_id not in known:
                    outcome = known[command.command_id] = self._decide(self.state(command.site_id), command)
                    entries.append(Entry(command.site_id, command.command_id, outcome.events, _encode(outcome)))
            self.store.append(entries)
        except Exception as error:
            for site_id in sites:  # the states may hold events that were never stored: reload on next use
                self._states.pop(site_id, None)
            if len(commands) > 1:
                log.warning("a batch of %d commands could not be stored (%r); one by one now", len(commands), error)
                return None
            if isinstance(error, DuplicateCommand):  # a retry raced its first attempt: answer as that one was
                return self._stored([commands[0].command_id])
            log.exception("command failed for site %s; its state will be reloaded from the store", sites[0])
            raise
        for entry in entries:
            self._recent[entry.command_id] = None
        while len(self._recent) > RECENT_COMMANDS:
            self._recent.popitem(last=False)
        for site_id in sites:
            if self.state(site_id).seq // self.snapshot_every != seqs_before[site_id] // self.snapshot_every:
                self._snapshot(self.state(site_id))
        return known

    def _decide(self, state: SiteState, command: Command) -> Outcome:
        result = handle(self.district, state, command)
        if isinstance(result, Rejection):
            return Outcome(command_id=command.command_id, rejection=result)
        return Outcome(command_id=command.command_id, events=tuple(cast(list[AnyEvent], result)))

    def _snapshot(self, state: SiteState) -> None:
        """Snapshots only speed up a restart: failing to write one is logged, never the command's failure."""
        try:
            self.store.save_snapshot(state.site_id, state.seq, encode_state(state))
        except Exception:
            log.exception("could not snapshot site %s at #%d", state.site_id, state.seq)
