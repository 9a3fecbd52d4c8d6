"""The hall feed: changes from any thread reach the subscriptions of their site, coalesced; views are built once per
change however many streams ask; closing the feed ends every stream."""

from __future__ import annotations

import asyncio
import threading

import pytest

from hub.hall_feed import HallFeed, ViewCache


async def test_a_change_from_another_thread_wakes_only_that_sites_subscriptions() -> None:
    feed = HallFeed(asyncio.get_running_loop())
    async with feed.subscribe(["centre"]) as centre, feed.subscribe(None) as everything:
        worker = threading.Thread(target=lambda: [feed.changed("centre"), feed.changed("xiaozhai")])
        worker.start()
        worker.join()

        assert await centre.next(1.0) == {"centre"}
        assert await everything.next(1.0) == {"centre", "xiaozhai"}
        assert await centre.next(0.05) == set()  # nothing since: the heartbeat's empty answer
        assert feed.version("centre") == 1 and feed.version("xiaozhai") == 1
    assert feed.listeners == 0


async def test_changes_made_while_a_stream_is_busy_come_as_one_wake_up() -> None:
    feed = HallFeed(asyncio.get_running_loop())
    async with feed.subscribe(None) as subscription:
        for _ in range(50):
            feed.changed("centre")
        await asyncio.sleep(0)

        assert await subscription.next(1.0) == {"centre"}
        assert await subscription.next(0.05) == set()
        assert feed.version("centre") == 50


async def test_closing_the_feed_ends_every_subscription() -> None:
    feed = HallFeed(asyncio.get_running_loop())
    async with feed.subscribe(None) as subscription:
        waiting = asyncio.create_task(subscription.next(10.0))
        await asyncio.sleep(0)
        feed.close()

        assert await asyncio.wait_for(waiting, 1.0) is None


async def test_streams_woken_together_share_one_build_per_change() -> None:
    feed = HallFeed(asyncio.get_running_loop())
    cache = ViewCache(feed)
    builds = 0

    async def build() -> int:
        nonlocal builds
        builds += 1
        await asyncio.sleep(0.01)
        return builds

    first = await asyncio.gather(*(cache.get("centre", "view", build) for _ in range(50)))
    again = await cache.get("centre", "view", build)
    feed.changed("centre")
    await asyncio.sleep(0)
    after_change = await cache.get("centre", "view", build)

    assert first == [1] * 50 and again == 1
    assert after_change == 2 and builds == 2


async def test_a_failed_build_is_not_kept() -> None:
    feed = HallFeed(asyncio.get_running_loop())
    cache = ViewCache(feed)
    answers = iter([RuntimeError("writer busy"), "view"])

    async def build() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with pytest.raises(RuntimeError):
        await cache.get("centre", "view", build)
    assert await cache.get("centre", "view", build) == "view"


async def test_a_subscription_opened_after_the_feed_closed_ends_at_once() -> None:
    feed = HallFeed(asyncio.get_running_loop())
    feed.close()

    async with feed.subscribe(None) as late:
        assert await asyncio.wait_for(late.next(10.0), 1.0) is None
