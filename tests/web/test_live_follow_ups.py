"""The live hall's overdue follow-ups, pushed by its stream when they change (not only rendered at page load); a
wall screen's stream never carries them. Ratings and follow-ups as in tests/web/test_follow_ups_page.py."""

from __future__ import annotations

import pytest

from hub.web_pages.views import live
from tests.web.conftest import Client, Clock, sign_in
from tests.web.test_follow_ups_page import client, pages, store, writer
from tests.web.test_live import next_view

__all__ = ["client", "pages", "store", "writer"]  # the fixtures of the follow-up pages' tests, imported

STREAM = "/admin/sites/centre/live/stream"


async def test_the_stream_sends_the_overdue_count_when_items_pass_their_deadline(
    client: Client, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "OVERDUE_SECONDS", 0.2)
    assert await sign_in(client, "li") == 303
    page = await (await client.get("/admin/sites/centre/live")).text()
    assert 'data-part="follow-ups"' in page and "hidden" in page.split('data-part="follow-ups"')[1].split(">")[0]
    response = await client.get(STREAM)
    first = await next_view(response)

    clock.advance(hours=25)  # both bad ratings' items past the 24 hours to verify; nothing happens in the hall
    second = await next_view(response, timeout=5)

    assert (first["overdue_follow_ups"], second["overdue_follow_ups"]) == (0, 2)
    assert second["waiting"] == first["waiting"]


async def test_the_wall_stream_has_no_follow_up_count(client: Client) -> None:
    assert await sign_in(client, "root") == 303
    wall = await next_view(await client.get("/admin/wall/stream"))
    assert all("overdue_follow_ups" not in site for site in wall["sites"])
