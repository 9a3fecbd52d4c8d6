"""The hub's writer: the one thread that changes the sites' states, and so the one that decides, stores and
publishes what changed them.

Requests are queued from any thread (paho's network thread puts MQTT requests here directly, the event loop puts
HTTP ones) and taken in arrival order, as many as are waiting (up to ``MAX_BATCH``) at once: one group commit
serves them all. Other work that must see the states still (the day schedule, the retained site views, a
reconnect's republishing) comes as a job through the ``Executor`` interface (``loop.run_in_executor(writer, ...)``)
and runs between batches, in its turn.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, NamedTuple, ParamSpec, TypeVar

log = logging.getLogger(__name__)

MAX_BATCH = 64
"""Requests decided and stored together, at most."""

P = ParamSpec("P")
T = TypeVar("T")


class Queued(NamedTuple):
    """A request waiting for the writer, and what to do with its reply."""

    request: tuple[str, str, str, bytes]
    """(site id, device id, action, payload) as it came in."""
    answer: Callable[[Any], None]
    began: float
    transport: str


class _Job(NamedTuple):
    work: Callable[[], Any]
    future: Future[Any]


_STOP = None


class Writer(Executor):
    """``run_batch`` gets each batch of queued requests; ``idle`` runs before the writer waits, and returns how long
    it may wait (None: until something comes) — the hub publishes snapshots that came due there."""

    def __init__(
        self, run_batch: Callable[[list[Queued]], None], idle: Callable[[], float | None] = lambda: None
    ) -> None:
        self._run_batch = run_batch
        self._idle = idle
        self._queue: queue.SimpleQueue[Queued | _Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="hall-writer", daemon=True)
        self._thread.start()

    def put(self, queued: Queued) -> None:
        """Queue a request (from any thread)."""
        self._queue.put(queued)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        self._queue.put(_Job(lambda: fn(*args, **kwargs), future))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._queue.put(_STOP)
        if wait and self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()

    def _run(self) -> None:
        held: Queued | _Job | None = None
        while True:
            if held is None:
                try:
                    item = self._queue.get(timeout=self._safely(self._idle))
                except queue.Empty:
                    continue
            else:
                item, held = held, None
            if item is _STOP:
                return
            if isinstance(item, _Job):
                self._do(item)
                continue
            batch = [item]
            while len(batch) < MAX_BATCH:
                try:
                    following = self._queue.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(following, Queued):
                    held = following  # a job or the stop: after this batch, in its turn
                    break
                batch.append(following)
            self._safely(self._run_batch, batch)

    @staticmethod
    def _do(job: _Job) -> None:
        if not job.future.set_running_or_notify_cancel():
            return
        try:
            job.future.set_result(job.work())
        except BaseException as error:  # the job's caller gets it; the writer goes on
            job.future.set_exception(error)

    @staticmethod
    def _safely(work: Callable[..., T], *args: Any) -> T | None:
        """The writer never dies of a bug in what it runs: logged, and on to the next item."""
        try:
            return work(*args)
        except Exception:
            log.exception("the writer's %s failed", getattr(work, "__name__", "work"))
            return None
