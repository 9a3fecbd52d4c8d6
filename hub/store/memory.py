"""The in-memory store: the reference behaviour for the SQL backends, and the simulator's and tests' store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from engine.events import Event
from hub.store.base import DistrictVersion, DuplicateCommand, Entry, SequenceConflict


class MemoryStore:
    def __init__(self) -> None:
        self._events: dict[str, list[Event]] = {}
        self._outcomes: dict[str, bytes] = {}
        self._snapshots: dict[str, tuple[int, bytes]] = {}
        self._districts: list[bytes] = []
        self._versions: list[DistrictVersion] = []

    def append(self, entries: Sequence[Entry]) -> None:
        next_seq = {site_id: len(log) + 1 for site_id, log in self._events.items()}
        seen: set[str] = set()
        for entry in entries:
            if entry.command_id in self._outcomes or entry.command_id in seen:
                raise DuplicateCommand(entry.command_id)
            seen.add(entry.command_id)
            for event in entry.events:
                expected = next_seq.get(event.site_id, 1)
                if event.seq != expected:
                    raise SequenceConflict(f"{event.site_id}#{event.seq}, expected #{expected}")
                next_seq[event.site_id] = expected + 1
        for entry in entries:
            for event in entry.events:
                self._events.setdefault(event.site_id, []).append(event)
            self._outcomes[entry.command_id] = entry.outcome

    def outcome(self, command_id: str) -> bytes | None:
        return self._outcomes.get(command_id)

    def outcomes(self, command_ids: Sequence[str]) -> dict[str, bytes]:
        return {command_id: self._outcomes[command_id] for command_id in command_ids if command_id in self._outcomes}

    def events(self, site_id: str, after_seq: int = 0) -> Iterator[Event]:
        return iter(self._events.get(site_id, [])[after_seq:])

    def events_of_type(self, site_id: str, kind: str, start: datetime, end: datetime) -> list[Event]:
        return [e for e in self._events.get(site_id, []) if type(e).__name__ == kind and start <= e.at < end]

    def last_seq(self, site_id: str) -> int:
        return len(self._events.get(site_id, []))

    def save_snapshot(self, site_id: str, seq: int, state: bytes) -> None:
        self._snapshots[site_id] = (seq, state)

    def snapshot(self, site_id: str) -> tuple[int, bytes] | None:
        return self._snapshots.get(site_id)

    def save_district(self, document: bytes, *, author: str | None = None, reason: str | None = None) -> int:
        self._districts.append(document)
        version = len(self._districts)
        self._versions.append(
            DistrictVersion(version=version, saved_at=datetime.now(UTC), author=author, reason=reason)
        )
        return version

    def district_versions(self, limit: int = 50) -> list[DistrictVersion]:
        return self._versions[::-1][:limit]

    def district(self) -> bytes | None:
        return self._districts[-1] if self._districts else None

    def close(self) -> None:
        pass
