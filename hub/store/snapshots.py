"""Snapshots saved beside the requests, not in their way.

A site's snapshot (its state as MessagePack, ~1 MB at 5,000 tickets) took the writer thread 1-6 ms to encode and
up to ~90 ms to write when its commit ran SQLite's WAL checkpoint; every request of every site waited meanwhile.
The writer now only encodes it (cheap, and the state is the writer's alone) and hands the bytes to a
``SnapshotSaver``, whose thread writes them through the store's own connection pool (a connection of its own on
SQLite and PostgreSQL). On SQLite the database has one write lock: a request's commit that comes while the saver
commits waits for it (``busy_timeout``), so the saver's short write is off the requests' path but not its lock.

A snapshot only shortens a restart's fold: one saved late, lost with the process, or failed, leaves the previous one
in force and the log is folded from there. For one site only the newest snapshot waiting is kept (an older one
would be overwritten at once anyway), and they are saved in the order they were taken, so a site's stored snapshot
never goes back.
"""

from __future__ import annotations

import logging
import threading

from hub.store.base import EventStore

log = logging.getLogger(__name__)


class SnapshotSaver:
    """Saves snapshots on a thread of its own; the thread lives while there is something to save."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._waiting: dict[str, tuple[int, bytes]] = {}
        self._changed = threading.Condition()
        self._busy = False
        """True while a thread is saving (or about to)."""

    def save(self, site_id: str, seq: int, state: bytes) -> None:
        """Queue a site's snapshot at ``seq`` (from any thread); returns at once."""
        with self._changed:
            self._waiting[site_id] = (seq, state)
            if not self._busy:
                self._busy = True
                threading.Thread(target=self._run, name="hall-snapshots", daemon=True).start()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every snapshot queued so far is saved (or failed); False if ``timeout`` passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._changed:
                if not self._waiting:
                    self._busy = False
                    self._changed.notify_all()
                    return
                site_id = next(iter(self._waiting))
                seq, state = self._waiting.pop(site_id)
            try:
                self.store.save_snapshot(site_id, seq, state)
            except Exception:  # only a restart's speed is lost: it folds from the previous snapshot
                log.exception("could not save the snapshot of site %s at #%d", site_id, seq)
