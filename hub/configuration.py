"""Changing the district configuration from the web pages, in the running hub, without a restart.

A change is an edit of the district in force (a function ``District -> District`` that a page builds from its
form). ``Configuration.change``:

1. checks the edited district (``engine.district_check``: each problem with its field and its words in Chinese and
   English) and the hall as it is now, on the writer thread: a window that is open cannot be taken away, and a
   matter people are waiting for cannot stop being served (``live_problems``);
2. stores it as a new version with who made it and why;
3. puts it in force on the writer thread (``apply``: the gateway, the boards, the staff directory and the booking
   desk), and in the device registry and the web accounts (``followers``);
4. publishes what it changes (``published``: the sites' retained info and snapshots — a caller's queue, a kiosk's
   matter list and a board's notice follow within a second);
5. records it in the audit trail: the part changed (``subject``), before and after, and the reason.

Changes are made one at a time and against what the form showed: a form carries the digest of the part it edits
(``digest``), and a save over a part someone changed meanwhile is refused (``stale``), so nobody overwrites a
colleague's change unseen. Decision: docs/decisions/0018-configuration-changes-in-force-at-once.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import msgspec

from engine.district import District, Site
from engine.district_check import Problem, problems
from engine.state import SiteState, waiting_index
from hub.audit import Action, AuditEntry, AuditLog
from hub.store import EventStore

log = logging.getLogger(__name__)

REASON_LENGTH = 500


class FollowsDistrict(Protocol):
    district: District


class ConfigRejected(Exception):
    """The change was not made: ``code`` is ``invalid`` (see ``problems``), ``stale`` or ``unchanged``."""

    def __init__(self, code: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(code, [problem.field for problem in problems])
        self.code = code
        self.problems = list(problems)


@dataclass(frozen=True)
class Saved:
    version: int
    sites: frozenset[str]
    """The sites whose configuration changed (their devices were told)."""


def part(district: District, subject: str) -> Any:
    """The part of the district a subject names, as JSON values (None if there is none): ``site:<id>``,
    ``matter:<code>``, ``calendar`` or ``district`` (all of it)."""
    kind, _, key = subject.partition(":")
    if kind == "site":
        found: Any = district.site(key)
    elif kind == "matter":
        found = district.matter(key)
    elif kind == "calendar":
        found = district.calendar
    elif kind == "district":
        found = district
    else:
        raise ValueError(f"unknown subject {subject!r}")
    return None if found is None else msgspec.to_builtins(found)


def digest(district: District, subject: str) -> str:
    """What a form carries of the part it edits, to tell whether it changed before the form was saved."""
    return hashlib.sha256(msgspec.json.encode(part(district, subject))).hexdigest()[:32]


def changed_sites(before: District, after: District) -> frozenset[str]:
    """Sites whose own configuration, a matter they offer, or the holiday calendar changed."""
    calendar = before.calendar != after.calendar

    def differs(site: Site) -> bool:
        old = before.site(site.id)
        return calendar or old != site or any(before.matter(code) != after.matter(code) for code in site.matters)

    return frozenset(site.id for site in after.sites if differs(site))


def live_problems(before: District, after: District, states: dict[str, SiteState]) -> list[Problem]:
    """What the hall as it is now forbids: removing a site, removing an open window, leaving waiting people with no
    window that serves their matter."""
    found = [
        Problem(field=f"sites.{site.id}", zh=f"站点「{site.name_zh}」不能在网页上删除",
                en=f"{site.name_en} cannot be removed here")
        for site in before.sites
        if after.site(site.id) is None
    ]  # fmt: skip
    for site_id, state in states.items():
        old, new = before.site(site_id), after.site(site_id)
        if old is None or new is None:
            continue
        kept = {window.id for window in new.windows}
        for window in old.windows:
            if window.id not in kept and state.window(window.id).is_open:
                found.append(Problem(
                    field=f"sites.{site_id}.windows.{window.id}",
                    zh=f"{window.number} 号窗口正在开放，请先在叫号器上关闭窗口再删除",
                    en=f"Window {window.number} is open: close it at its caller before removing it",
                ))  # fmt: skip
        for code, count in waiting_index(state).per_matter().items():
            if count and not any(window.serves(code) for window in new.windows):
                found.append(Problem(
                    field=f"sites.{site_id}.matters.{code}",
                    zh=f"事项 {code} 还有 {count} 人等候，不能没有窗口办理",
                    en=f"{count} people are waiting for {code}: a window must still serve it",
                ))  # fmt: skip
    return found


class Configuration:
    def __init__(
        self,
        store: EventStore,
        district: District,
        *,
        executor: Executor | None,
        apply: Callable[[District, frozenset[str]], None],
        states: Callable[[str], SiteState],
        audit: AuditLog,
        clock: Callable[[], datetime],
        followers: Sequence[FollowsDistrict] = (),
        published: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``apply`` and ``states`` run on ``executor`` (the hub's writer): the new district in force for the sites
        that changed, and a site's live state. ``published``: after a change, publish what devices read of it."""
        self.store = store
        self.district = district
        self._executor = executor
        self._apply = apply
        self._states = states
        self._audit = audit
        self._clock = clock
        self._followers = followers
        self._published = published
        self._lock = asyncio.Lock()
        versions = store.district_versions(limit=1)
        self.version = versions[0].version if versions else 0

    def digest(self, subject: str) -> str:
        return digest(self.district, subject)

    async def change(
        self,
        edit: Callable[[District], District],
        *,
        subject: str,
        base: str,
        actor: str,
        reason: str,
        site_id: str | None = None,
        address: str | None = None,
    ) -> Saved:
        """Make a change (see the module's text); ``base``: the digest of the part as the form showed it."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            before = self.district
            if base != digest(before, subject):
                raise ConfigRejected("stale")
            after = edit(before)
            if after == before:
                raise ConfigRejected("unchanged")
            found = problems(after)
            sites = changed_sites(before, after)
            if not found:
                found = await self._on_writer(self._live_problems, before, after, sites)
            if found:
                raise ConfigRejected("invalid", found)
            document = msgspec.json.encode(after)
            reason = reason.strip()[:REASON_LENGTH]
            version = await loop.run_in_executor(
                None, lambda: self.store.save_district(document, author=actor, reason=reason or None)
            )
            try:
                await self._on_writer(self._apply, after, sites)
            except Exception:
                log.exception(
                    "configuration version %d could not be put in force; saving the one before again", version
                )
                undo = msgspec.json.encode(before)
                await loop.run_in_executor(
                    None, lambda: self.store.save_district(undo, author=actor, reason="rolled back")
                )
                await self._on_writer(self._apply, before, sites)
                raise
            self.district, self.version = after, version
            for follower in self._followers:
                follower.district = after
            entry = AuditEntry(
                action=Action.CONFIG_CHANGED, result="ok", actor=actor, site_id=site_id, address=address,
                subject=subject, before=part(before, subject), after=part(after, subject), reason=reason or None,
                at=self._clock(),
            )  # fmt: skip
            await loop.run_in_executor(None, self._audit.record, entry)
        log.info("configuration version %d by %s: %s (sites %s)", version, actor, subject, ", ".join(sorted(sites)))
        if self._published is not None:
            try:
                await self._published()
            except Exception:  # the change is in force; the tick publishes the sites' info again within seconds
                log.exception("configuration version %d is in force but could not be published now", version)
        return Saved(version, sites)

    async def refresh(self) -> bool:
        """Put in force a newer version another hub saved (several hubs share the database); True if there was one.
        Checked on every tick: a change made on any hub is in force on all within seconds."""
        loop = asyncio.get_running_loop()
        versions = await loop.run_in_executor(None, self.store.district_versions, 1)
        if not versions or versions[0].version <= self.version:
            return False
        async with self._lock:
            document = await loop.run_in_executor(None, self.store.district)
            if document is None:
                return False
            before, after = self.district, msgspec.json.decode(document, type=District)
            if after != before:
                await self._on_writer(self._apply, after, changed_sites(before, after))
                self.district = after
                for follower in self._followers:
                    follower.district = after
            self.version = max(self.version, versions[0].version)
        log.info("configuration version %d saved elsewhere is in force here", self.version)
        if self._published is not None:
            await self._published()
        return True

    def _live_problems(self, before: District, after: District, sites: frozenset[str]) -> list[Problem]:
        """On the writer thread, where the states change."""
        states = {site_id: self._states(site_id) for site_id in sites if before.site(site_id) is not None}
        return live_problems(before, after, states)

    async def _on_writer(self, work: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)
