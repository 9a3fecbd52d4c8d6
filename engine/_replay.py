"""The forward replay behind the waiting-time estimate (docs/waiting-time.md): a deterministic run of a site's
queue from now (minute 0), calling by the engine's ordering rules.

Package-internal to ``engine.estimate``; pure.

Expected arrivals are not tickets in the replay but a stream per (matter, class): their arrival minutes are
listed only as far as the replay has come, and the overtakes they suffer are kept as ranges (a call passes over a
prefix of a stream's waiting arrivals, so their counts fall along the stream and the first tells whether any is
saturated). A replay of a long queue so stays a matter of its calls, not of the thousands of arrivals it expects.

Besides the waiting tickets (targets), one replay answers for the tickets not issued yet: a *ghost* of every
(matter, class) is a ticket issued at minute 0 that takes no window's time. At every decision of a window that may
call it the replay asks whether the window would call the ghost instead; the first such moment at each window is
the ghost's *slot* there. The tickets issued since the replay then take the desks' slots for their kinds, one
after the other (``Newcomers``).
"""

from __future__ import annotations

import heapq
import itertools
import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Sequence

import msgspec

from engine.commands import Priority
from engine.district import QueueRules, Site, Window

Key = tuple[float, int, int]
"""The engine's queue key with its time as minutes from the replay's start."""
EXPECTED_SEQ = 1 << 62
"""Issue order of the expected arrivals: after every real ticket at the same minute."""
GHOST_KEY: Key = (0.0, 1 << 61, 0)
"""Queue key of the ghosts: after every real ticket (keys up to minute 0), before every expected arrival."""
WOKEN = 1 << 50
"""Tie order of a desk woken by an expected arrival: after the desks already free at that minute."""


class Item:
    """A real ticket in the replay (waiting now, or going on to its next matter)."""

    __slots__ = ("key", "matters", "overtaken", "priority", "step", "ticket_id")

    def __init__(
        self, ticket_id: str, key: Key, matters: tuple[str, ...], priority: str, *, step: int = 0, overtaken: int = 0
    ) -> None:
        self.ticket_id = ticket_id
        self.key = key
        self.matters = matters
        self.priority = priority
        self.step = step
        self.overtaken = overtaken


def _queue_key(item: Item) -> Key:
    return item.key


class Group:
    """The waiting tickets of one matter, priority class and direction in queue order (FIFO within the group):
    the real ones, then the expected arrivals of the class (undirected groups only)."""

    __slots__ = (
        "called",
        "desks",
        "ends",
        "head_start",
        "items",
        "matter",
        "next_at",
        "rank",
        "saturated",
        "step",
        "times",
    )

    def __init__(self, matter: str, head_start: float) -> None:
        self.matter = matter
        self.head_start = head_start
        self.items: list[Item] = []
        self.saturated = 0
        """How many real items have been overtaken as often as the rules allow (their windows then call FIFO)."""
        self.desks: list[Desk] = []
        self.step = 0.0
        """Minutes between expected arrivals."""
        self.next_at = math.inf
        """When the next expected arrival comes (inf: no more)."""
        self.times: list[float] = []
        """Minutes the expected arrivals so far came."""
        self.called = 0
        """How many of them have been called."""
        self.ends: list[int] = []
        """Per overtake of waiting arrivals (a prefix of them, up to ``end``): the ends beyond ``called``."""
        self.rank = 0
        """Orders expected arrivals of different groups at the same minute."""


class Ghost:
    """A ticket of one (matter, class) issued at minute 0 that is not in the replay (see the module doc)."""

    __slots__ = ("at", "head_start", "matter", "overtaken", "priority", "slots")

    def __init__(self, matter: str, priority: str, head_start: float) -> None:
        self.matter = matter
        self.priority = priority
        self.head_start = head_start
        self.overtaken = 0
        self.slots: list[tuple[float, int, int]] = []
        """(minute, people called before at windows serving its matter, desk index) of every window's first call."""
        self.at: dict[int, float] = {}
        """The minute of its slot by desk index."""


class GhostClass:
    """The ghosts a desk still waits to call that score alike there (same weight and head start)."""

    __slots__ = ("ghosts", "head_start", "weight")

    def __init__(self, weight: float, head_start: float) -> None:
        self.weight = weight
        self.head_start = head_start
        self.ghosts: list[Ghost] = []


class Desk:
    """A window in the replay, with its minutes per call at its staff's pace and the periods it will be closed."""

    __slots__ = ("away", "ghost_classes", "groups", "index", "minutes_per_call", "rota", "token", "window")

    def __init__(
        self, index: int, window: Window, minutes_per_call: dict[str, float], away: list[tuple[float, float]]
    ) -> None:
        self.index = index
        self.window = window
        self.minutes_per_call = minutes_per_call
        self.away = away
        """(from, back) minutes, in order: staff leave at the first release after ``from`` (back may be inf)."""
        self.rota = tuple(away)
        """``away`` as it was before the replay used it up."""
        self.groups: list[Group] = []
        self.ghost_classes: list[GhostClass] = []
        self.token = -1
        """Which of the desk's entries in the free heap counts (a woken desk leaves a stale one)."""

    def back_after(self, now: float) -> float | None:
        """When a desk free at ``now`` is back, if it is closed then (its shift ended while it was busy)."""
        while self.away and self.away[0][1] <= now:
            self.away.pop(0)
        if self.away and self.away[0][0] <= now:
            return self.away.pop(0)[1]
        return None

    def takes(self, matter: str, directed_to: str | None) -> bool:
        return self.window.serves(matter) and directed_to in (None, self.window.id)


class Model(msgspec.Struct, frozen=True, kw_only=True):
    """What one replay takes from the learned statistics."""

    minutes_per_call: dict[str, float]
    gap: float
    rates: dict[tuple[str, Priority], float]
    horizon: float
    arrivals_until: float
    """Expected arrivals come until this minute (self-service issuing stops before closing)."""
    max_expected: int
    """About this many expected arrivals at most: they stop earlier at load-test rates."""


class Newcomers:
    """Places the tickets issued since the replay ran, in issue order, each at the desk that would call it first.

    A desk calls a new ticket at its slot for that kind, after the new tickets already placed there that it would
    call first (an earlier slot, or the same one and a score at least as high), each holding it for a call; a
    usual closing of the desk in between adds its length. People ahead are those the replay called before the
    slot, the new tickets placed before it at that desk and those called by then at the other desks of its kind.
    """

    def __init__(self, replay: Replay) -> None:
        self.replay = replay
        self.settled = False
        self.placed: list[dict[tuple[str, str], tuple[float, int]]] = [{} for _ in replay.desks]
        """Per desk: minutes and count of the new tickets placed there, by kind."""
        self.times: list[list[float]] = [[] for _ in replay.desks]
        """Per desk: when it calls the new tickets placed there, in order."""

    def plan(self, matter: str, priority: str) -> tuple[float, int, int] | None:
        """(raw minutes, people ahead, desk index) of a new ticket of this kind; None when no desk may call it."""
        if not self.settled:
            self.replay.settle()
            self.settled = True
        ghost = self.replay.ghosts.get((matter, priority))
        if ghost is None:
            return None
        best: tuple[float, int, int] | None = None
        for slot, ahead, index in ghost.slots:
            desk = self.replay.desks[index]
            score = desk.window.weights[matter] * (slot + ghost.head_start)
            delay, before = 0.0, 0
            for kind, (minutes, count) in self.placed[index].items():
                other = self.replay.ghosts[kind]
                other_slot = other.at[index]
                if other_slot < slot or (
                    other_slot == slot and desk.window.weights[other.matter] * (slot + other.head_start) >= score
                ):
                    delay += minutes
                    before += count
            called = _shifted(desk.rota, slot, slot + delay)
            if best is None or called < best[0]:
                best = (called, ahead + before, index)
        if best is None or best[0] == math.inf:
            return None
        called, ahead, chosen = best
        for _, _, index in ghost.slots:
            if index != chosen:  # those another desk calls by then (at the same minute: a desk deciding first)
                ahead += (bisect_right if index < chosen else bisect_left)(self.times[index], called)
        return called, ahead, chosen

    def place(self, matter: str, priority: str) -> tuple[float, int] | None:
        """Plan a new ticket of this kind and keep its place: (raw minutes, people ahead), None when not called."""
        found = self.plan(matter, priority)
        if found is None:
            return None
        called, ahead, index = found
        minutes, count = self.placed[index].get((matter, priority), (0.0, 0))
        step = self.replay.desks[index].minutes_per_call[matter] + self.replay.model.gap
        self.placed[index][matter, priority] = (minutes + step, count + 1)
        insort(self.times[index], called)
        return called, ahead


def _shifted(away: Sequence[tuple[float, float]], slot: float, called: float) -> float:
    """When a desk calls a ticket it would call at ``called`` but for its closed periods after ``slot``."""
    for start, back in away:
        if slot < start <= called:
            called += back - start
    return called


class Replay:
    """A deterministic forward run of the queue from now (minute 0), calling by the engine's ordering rules."""

    def __init__(self, site: Site, model: Model) -> None:
        self.rules: QueueRules = site.rules
        self.limit = self.rules.max_overtakes
        self.model = model
        total = sum(rate for rate in model.rates.values() if rate > 0.0)
        self.until = min(model.arrivals_until, model.max_expected / total) if total > 0.0 else model.arrivals_until
        """Expected arrivals come until this minute."""
        self.groups: dict[tuple[str, str, str | None], Group] = {}
        self.desks: list[Desk] = []
        self.free: list[tuple[float, int, int, int]] = []
        """Heap of (minute a desk is free, tie order, token, desk index)."""
        self.idle: set[int] = set()
        self.arrivals: list[tuple[float, int, Item]] = []
        """Heap of (minute, tie order, a ticket going on to its next matter)."""
        self.order = itertools.count()
        self.called: dict[str, tuple[float, int]] = {}
        self.passed: dict[str, int] = {}
        """Real tickets called so far at windows serving each matter."""
        self.ghosts: dict[tuple[str, str], Ghost] = {}
        self.pending = 0
        """(ghost, desk) pairs the desk has not decided on yet."""
        self._reach: dict[tuple[str, str | None], bool] = {}

    # -- building ---------------------------------------------------------------------------------------------

    def add_desk(self, window: Window, pace: float, free_at: float, away: list[tuple[float, float]]) -> None:
        minutes = {matter: self.model.minutes_per_call[matter] * pace for matter in window.weights}
        desk = Desk(len(self.desks), window, minutes, away)
        self.desks.append(desk)
        self._reach.clear()
        for key, group in self.groups.items():
            self._link(desk, key, group)
        self._free_at(desk, free_at)

    @staticmethod
    def _link(desk: Desk, key: tuple[str, str, str | None], group: Group) -> None:
        matter, _, directed_to = key
        if desk.takes(matter, directed_to):
            desk.groups.append(group)
            group.desks.append(desk)

    def _group(self, key: tuple[str, str, str | None]) -> Group:
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(key[0], float(self.rules.priority_minutes.get(key[1], 0)))
            for desk in self.desks:
                self._link(desk, key, group)
        return group

    def reachable(self, matter: str, directed_to: str | None) -> bool:
        key = (matter, directed_to)
        found = self._reach.get(key)
        if found is None:
            found = self._reach[key] = any(desk.takes(matter, directed_to) for desk in self.desks)
        return found

    def add_ghosts(self, kinds: Iterable[tuple[str, str]]) -> None:
        """A ghost of each (matter, class) that some desk may call; after every desk has been added."""
        head_starts = self.rules.priority_minutes
        ghosts = self.ghosts
        for matter, priority in kinds:
            if (matter, priority) not in ghosts:
                ghosts[matter, priority] = Ghost(matter, priority, float(head_starts.get(priority, 0)))
        served: set[str] = set()
        for desk in self.desks:
            classes: dict[tuple[float, float], GhostClass] = {}
            weights = desk.window.weights
            served.update(weights)
            for ghost in ghosts.values():
                weight = weights.get(ghost.matter)
                if weight is None:
                    continue
                found = classes.get((weight, ghost.head_start))
                if found is None:
                    found = classes[weight, ghost.head_start] = GhostClass(weight, ghost.head_start)
                found.ghosts.append(ghost)
            desk.ghost_classes = list(classes.values())
            self.pending += sum(len(found.ghosts) for found in desk.ghost_classes)
        for kind in [kind for kind, ghost in ghosts.items() if ghost.matter not in served]:
            del ghosts[kind]  # no desk may call it

    def put(self, item: Item, directed_to: str | None, at: float) -> None:
        """Queue a real ticket; idle desks that may call it wake up."""
        group = self._group((item.matters[item.step], item.priority, directed_to))
        items = group.items
        if not items or items[-1].key <= item.key:
            items.append(item)
        else:
            insort(items, item, key=_queue_key)
        if item.overtaken >= self.limit:
            group.saturated += 1
        for desk in group.desks:
            if desk.index in self.idle:
                self.idle.discard(desk.index)
                self._free_at(desk, at)

    def reenter(self, item: Item, at: float) -> None:
        """A ticket served now goes on to its next matter at ``at``."""
        heapq.heappush(self.arrivals, (at, next(self.order), item))

    def expect_arrivals(self) -> None:
        """Expected arrivals of each (matter, class) come evenly at their rate, the first after half a gap."""
        for rank, ((matter, priority), rate) in enumerate(self.model.rates.items()):
            if rate > 0.0:
                group = self._group((matter, priority, None))
                group.step, group.rank = 1.0 / rate, rank
                group.next_at = 0.5 / rate if 0.5 / rate <= self.until else math.inf

    # -- running ----------------------------------------------------------------------------------------------

    def _free_at(self, desk: Desk, at: float, tie: int | None = None) -> None:
        token = next(self.order)
        desk.token = token
        heapq.heappush(self.free, (at, token if tie is None else tie, token, desk.index))

    def _arrived(self, group: Group, now: float) -> bool:
        """Whether an expected arrival waits in the group at ``now`` (listing those come by then)."""
        times, until = group.times, self.until
        while group.next_at <= now:
            times.append(group.next_at)
            following = group.next_at + group.step
            group.next_at = following if following <= until else math.inf
        return group.called < len(times)

    def _choose(self, desk: Desk, now: float) -> tuple[Group | None, Key, bool]:
        """The group whose head ``engine.ordering.choose_next`` would call, that head's key, and whether the desk
        calls in queue order (a candidate was overtaken as often as allowed); counts the overtakes it makes."""
        limit = self.limit
        pool: list[tuple[Group, Key]] = []
        in_order = False
        for group in desk.groups:
            if group.items:
                pool.append((group, group.items[0].key))
            elif (group.next_at <= now or group.called < len(group.times)) and self._arrived(group, now):
                pool.append((group, (group.times[group.called], EXPECTED_SEQ, group.rank)))
            else:
                continue
            if group.saturated or (len(group.ends) >= limit and group.called < len(group.times)):
                in_order = True
        if not pool:
            return None, GHOST_KEY, False
        if in_order:
            chosen, chosen_key = min(pool, key=lambda candidate: candidate[1])
            return chosen, chosen_key, True
        weights = desk.window.weights
        chosen, chosen_key = pool[0]
        best = -1.0
        for group, key in pool:
            waited = now - key[0]
            score = weights[group.matter] * ((waited if waited > 0.0 else 0.0) + group.head_start)
            if score > best or (score == best and key < chosen_key):
                chosen, chosen_key, best = group, key, score
        self._overtake(pool, chosen, chosen_key, now)
        return chosen, chosen_key, False

    def _overtake(self, pool: list[tuple[Group, Key]], chosen: Group, chosen_key: Key, now: float) -> None:
        """Count an overtake against every candidate queued before the chosen one."""
        expected = not chosen.items
        for group, key in pool:
            if key >= chosen_key:
                continue
            for item in group.items:
                if item.key >= chosen_key:
                    break
                item.overtaken += 1
                if item.overtaken == self.limit:
                    group.saturated += 1
            if expected and self._arrived(group, now):
                # The call passes over this group's arrivals queued before the chosen one.
                minute, _, rank = chosen_key
                end = (bisect_right if group.rank < rank else bisect_left)(group.times, minute)
                if end > group.called:
                    insort(group.ends, end)

    def _slot(self, ghost: Ghost, desk: Desk, now: float) -> None:
        self.pending -= 1
        ghost.slots.append((now, self.passed.get(ghost.matter, 0), desk.index))
        ghost.at[desk.index] = now

    def _ghosts_at(self, desk: Desk, now: float, group: Group | None, key: Key, in_order: bool) -> None:
        """Would the desk, deciding now, call a ghost instead of what it calls? Then that is the ghost's slot."""
        if group is None:
            for ghost_class in desk.ghost_classes:
                for ghost in ghost_class.ghosts:
                    self._slot(ghost, desk, now)
            desk.ghost_classes = []
            return
        expected = not group.items
        score = desk.window.weights[group.matter] * (max(now - key[0], 0.0) + group.head_start)
        kept = []
        for ghost_class in desk.ghost_classes:
            if not expected and (in_order or ghost_class.weight * (now + ghost_class.head_start) <= score):
                kept.append(ghost_class)  # behind the real ticket called: no change
                continue
            ghosts = ghost_class.ghosts
            waiting = self._still_waiting(ghost_class, now, score, expected=expected, in_order=in_order)
            if len(waiting) < len(ghosts):
                for ghost in ghosts:
                    if ghost not in waiting:
                        self._slot(ghost, desk, now)
                ghost_class.ghosts = waiting
            if waiting:
                kept.append(ghost_class)
        desk.ghost_classes = kept

    def _still_waiting(
        self, ghost_class: GhostClass, now: float, score: float, *, expected: bool, in_order: bool
    ) -> list[Ghost]:
        """The ghosts of a class the desk would not call instead of a candidate scoring ``score`` (an expected
        arrival or a real ticket); those passed over for an expected arrival count an overtake."""
        ghost_score = ghost_class.weight * (now + ghost_class.head_start)
        ghosts = ghost_class.ghosts
        if expected:
            # Ahead of any expected arrival in queue order: called unless outscored (and then overtaken), and
            # when overtaken as often as allowed.
            if in_order or ghost_score >= score:
                return []
            for ghost in ghosts:
                ghost.overtaken += 1
            return [ghost for ghost in ghosts if ghost.overtaken <= self.limit]
        # Behind every real ticket in queue order: called only when it scores higher (and not in order).
        if not in_order and ghost_score > score:
            return [ghost for ghost in ghosts if ghost.overtaken >= self.limit]
        return ghosts

    def _call(self, desk: Desk, now: float) -> str | None:
        """Let a free desk call; returns the id of a real ticket called for the first time."""
        group, key, in_order = self._choose(desk, now)
        if desk.ghost_classes:
            self._ghosts_at(desk, now, group, key, in_order)
        if group is None:
            self.idle.add(desk.index)
            woken = min((candidate.next_at for candidate in desk.groups), default=math.inf)
            if woken < math.inf:
                self._free_at(desk, woken, WOKEN + desk.index)
            return None
        busy = desk.minutes_per_call[group.matter]
        self._free_at(desk, now + busy + self.model.gap)
        if not group.items:
            group.called += 1
            ends = group.ends
            while ends and ends[0] <= group.called:
                ends.pop(0)
            return None
        item = group.items.pop(0)
        if item.overtaken >= self.limit:
            group.saturated -= 1
        if item.step + 1 < len(item.matters):
            item.step += 1
            self.reenter(item, now + busy)
        if item.ticket_id in self.called:
            return None
        self.called[item.ticket_id] = (now, self.passed.get(group.matter, 0))
        for matter in desk.window.weights:
            self.passed[matter] = self.passed.get(matter, 0) + 1
        return item.ticket_id

    def run(self, targets: set[str]) -> dict[str, tuple[float, int]]:
        """Replay until every target is called: (minutes until first called, people called before) by id."""
        remaining = set(targets)

        def more(called: str | None) -> bool:
            remaining.discard(called or "")
            return bool(remaining)

        self._advance(more, bool(remaining))
        return self.called

    def settle(self) -> None:
        """Go on until every desk has decided on every ghost (wanted only to place new tickets)."""
        self._advance(lambda called: self.pending > 0, self.pending > 0)

    def _advance(self, more: Callable[[str | None], bool], going: bool) -> None:
        """Let desks call in time order while ``more`` (told each call's first-called ticket, if any) says so."""
        while going:
            next_free = self.free[0][0] if self.free else math.inf
            if self.arrivals and self.arrivals[0][0] <= next_free:
                at, _, item = heapq.heappop(self.arrivals)
                if at > self.model.horizon:
                    break
                self.put(item, None, at)
                continue
            if next_free > self.model.horizon:
                break
            _, _, token, index = heapq.heappop(self.free)
            desk = self.desks[index]
            if token != desk.token:
                continue
            self.idle.discard(index)
            back = desk.back_after(next_free)
            if back is not None:
                if back < math.inf:
                    self._free_at(desk, back)
                else:
                    self.pending -= sum(len(ghost_class.ghosts) for ghost_class in desk.ghost_classes)
                    desk.ghost_classes = []
                    going = more(None)
                continue
            going = more(self._call(desk, next_free))
