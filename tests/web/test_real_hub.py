"""The pages in the running hub (``hall-hub serve``): the first administrator made by the command line signs in and
sees the district's sites, live from the hub's writer."""

from __future__ import annotations

import subprocess
import sys

import aiohttp

from tests.support.hub_process import REPO, HubProcess
from tests.web.conftest import CSRF, PASSWORD


async def test_an_administrator_signs_in_to_the_running_hub(hub: HubProcess) -> None:
    made = subprocess.run(
        [sys.executable, "-m", "hub.cli", "admin", "add", "root"], input=PASSWORD, text=True, cwd=REPO, env=hub.env,
        capture_output=True, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    hub.start()
    base = f"http://127.0.0.1:{hub.http_port}"

    async with aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get("/admin/sign-in") as response:
            found = CSRF.search(await response.text())
        assert found is not None
        form = {"csrf": found.group(1), "username": "root", "password": PASSWORD}
        async with session.post("/admin/sign-in", data=form) as response:
            assert response.status == 200 and response.url.path == "/admin/"
        async with session.get("/admin/index.json") as response:
            answer = await response.json()
        async with session.get("/admin/static/hall.css") as response:
            assert response.status == 200 and "text/css" in response.headers["Content-Type"]

    assert len(answer["sites"]) == 6
