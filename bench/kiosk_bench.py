"""The kiosk's own figures, against the real hub (child process, managed Mosquitto, SQLite) on loopback.

    python -m bench.kiosk_bench [--tickets 300] [--starts 5]

1. **touch → ticket bytes**: a citizen's tap on a matter (``KioskModel.choose_matter`` + ``KioskController.issue``
   on the bench's thread, which plays the UI thread) until the ESC/POS bytes of the issued ticket reach the printer
   (a stand-in that notes the time and keeps the bytes): the issue request over MQTT, the hub's reply, the reply
   posted back, the ticket built by profile (pos58) with the status QR code. Also the two halves: the request's
   round trip and building the bytes. Sequential tickets, round-robin over the centre's matters.
2. **cold start**: ``python -m bench.kiosk_bench --first-frame`` as a new process (the kiosk app as
   ``run_kiosk.py`` builds it, offscreen Kivy window 1920x1080, linked to the hub, file printer): from just before
   the process is spawned until Kivy has displayed the first frame; median of ``--starts`` runs.
3. **memory**: the same child, after the first frame, takes ``--app-tickets`` tickets through its own view and
   controller (tap, request, print to a file) and reports its resident memory (VmRSS) and peak (VmHWM).

Targets (issue #5): touch → bytes p99 ≤ 150 ms, cold start ≤ 3 s.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
NOW = datetime.fromisoformat("2026-11-25T10:00:00+08:00")
TOUCH_TO_BYTES_P99_MS = 150.0
COLD_START_S = 3.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class UiQueue:
    """The bench's thread as the kiosk's UI thread: workers post, ``pump_until`` runs what they posted."""

    def __init__(self) -> None:
        self.queue: queue.Queue[Callable[[], None]] = queue.Queue()

    def post(self, change: Callable[[], None]) -> None:
        self.queue.put(change)

    def pump_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise RuntimeError("no answer in time")
            with contextlib.suppress(queue.Empty):
                self.queue.get(timeout=0.001)()


class StopwatchPrinter:
    """A printer that notes when a ticket's bytes arrive and keeps them (no device in the way)."""

    def __init__(self) -> None:
        self.arrived: list[tuple[float, bytes]] = []

    def print_ticket(self, data: bytes) -> Any:
        from kiosk.printer import PrinterState, PrinterStatus, PrintResult  # noqa: PLC0415

        self.arrived.append((time.perf_counter(), data))
        return PrintResult(printed=True, status=PrinterStatus(PrinterState.UNCHECKED))

    def status(self) -> Any:
        from kiosk.printer import PrinterState, PrinterStatus  # noqa: PLC0415

        return PrinterStatus(PrinterState.UNCHECKED)


def touch_to_bytes(hub: Any, account: Any, tickets: int) -> dict[str, float]:
    import contract as wire  # noqa: PLC0415
    from hub.district_file import SAMPLE_DISTRICT, load_district  # noqa: PLC0415
    from hub.site_info import site_info  # noqa: PLC0415
    from kiosk.controller import KioskController, Printing  # noqa: PLC0415
    from kiosk.model import KioskModel, Screen  # noqa: PLC0415
    from kiosk.printer_profile import profile_named  # noqa: PLC0415

    link = hub.link(account, "centre", wire.DeviceKind.KIOSK, follow_site=True)
    deadline = time.monotonic() + 10
    while not link.hub_online and time.monotonic() < deadline:
        time.sleep(0.05)
    district = load_district(SAMPLE_DISTRICT)
    centre = district.site("centre")
    assert centre is not None
    info = site_info(district, centre)
    model = KioskModel("centre")
    model.on_info(info)
    profile = profile_named("pos58")
    printer = StopwatchPrinter()
    ui = UiQueue()
    public = f"http://127.0.0.1:{hub.http_port}"
    controller = KioskController(model, link, ui.post, printing=Printing(printer, profile, public), now=lambda: NOW)
    matters = [m.code for m in info.matters if m.daily_limit >= 30]
    warm_up = 10
    touch_ms: list[float] = []
    screen_ms: list[float] = []
    for n in range(tickets + warm_up):
        before = len(printer.arrived)
        model.tap("home", NOW)
        model.tap("take", NOW)
        touched = time.perf_counter()
        body = model.choose_matter(matters[n % len(matters)], NOW)
        assert body is not None, model.message
        controller.issue(body)
        ui.pump_until(lambda: model.screen != Screen.WORKING)
        on_screen = time.perf_counter()
        assert model.screen == Screen.TICKET, model.message
        ui.pump_until(lambda before=before: len(printer.arrived) > before)  # type: ignore[misc]
        if n >= warm_up:
            touch_ms.append((printer.arrived[-1][0] - touched) * 1000)
            screen_ms.append((on_screen - touched) * 1000)
    round_trip_ms, build_ms = halves(link, info, profile, public, matters)
    qr = printer.arrived[-1][1]
    assert public.encode() in qr, "the ticket carries no status link"
    return {
        "touch_median": statistics.median(touch_ms),
        "touch_p99": percentile(touch_ms, 0.99),
        "touch_max": max(touch_ms),
        "screen_median": statistics.median(screen_ms),
        "screen_p99": percentile(screen_ms, 0.99),
        "round_trip_median": statistics.median(round_trip_ms),
        "round_trip_p99": percentile(round_trip_ms, 0.99),
        "build_median": statistics.median(build_ms),
        "build_p99": percentile(build_ms, 0.99),
        "bytes": float(len(qr)),
    }


def halves(link: Any, info: Any, profile: Any, public: str, matters: list[str]) -> tuple[list[float], list[float]]:
    """The request's round trip alone, and building the bytes alone (ms)."""
    import contract as wire  # noqa: PLC0415
    from kiosk.ticket_print import build_ticket, status_url  # noqa: PLC0415

    round_trip_ms: list[float] = []
    build_ms: list[float] = []
    for n in range(100):
        began = time.perf_counter()
        reply = link.request(wire.Action.ISSUE, {"matters": [matters[n % len(matters)]]})
        round_trip_ms.append((time.perf_counter() - began) * 1000)
        assert reply.ticket is not None, reply.error
        began = time.perf_counter()
        matter_infos = [m for m in info.matters if m.code in reply.ticket.matters]
        build_ticket(profile, info, matter_infos, reply.ticket, status_url(public, reply.ticket))
        build_ms.append((time.perf_counter() - began) * 1000)
    return round_trip_ms, build_ms


def kiosk_env(hub: Any, account: Any, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}  # offscreen EGL window
    return env | {
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_CONSOLELOG": "1",
        "KIVY_NO_FILELOG": "1",
        "KIVY_HOME": str(folder / "kivy"),
        "SDL_AUDIODRIVER": "dummy",
        "KIOSK_SITE": "centre",
        "KIOSK_PORT": str(hub.broker_port),
        "KIOSK_DEVICE_ID": account.device_id,
        "KIOSK_PASSWORD": account.password,
        "KIOSK_FULLSCREEN": "false",
        "KIOSK_PRINTER": f"file:{folder / 'tickets.bin'}",
        "KIOSK_PUBLIC_URL": f"http://127.0.0.1:{hub.http_port}",
        "KIOSK_VOICE_CACHE": str(folder / "voice"),
    }


def cold_starts(hub: Any, account: Any, starts: int, app_tickets: int, folder: Path) -> dict[str, Any]:
    env = kiosk_env(hub, account, folder)
    (folder / "kivy").mkdir(exist_ok=True)
    seconds: list[float] = []
    last: dict[str, Any] = {}
    for n in range(starts):
        tickets = app_tickets if n == starts - 1 else 0
        spawned = time.time()
        done = subprocess.run(
            [sys.executable, "-m", "bench.kiosk_bench", "--first-frame", "--app-tickets", str(tickets)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the kiosk child failed: {done.stderr[-3000:]}")
        last = json.loads(done.stdout.strip().splitlines()[-1])
        seconds.append(last["first_frame_at"] - spawned)
    return {
        "app_bytes_median_ms": last["bytes_median_ms"],
        "cold_start_median": statistics.median(seconds),
        "cold_start_max": max(seconds),
        "rss_first_frame": last["rss_first_frame"],
        "rss_after": last["rss_after"],
        "hwm_after": last["hwm_after"],
        "app_tickets": last["tickets"],
        "rss_every_10": last.get("rss_every_10", []),
        "app_ticket_median_ms": last["ticket_median_ms"],
    }


# --- the child: the kiosk app until its first frame, then a few tickets ---------------------------------------------


def _memory() -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _time_printing(app: Any, arrived: Callable[[], None]) -> None:
    """Call ``arrived`` when a ticket's bytes reach the app's printer, then print as configured."""
    printing = app.controller.printing
    if printing is None:
        return
    printer = printing.printer

    class Timed:
        def print_ticket(self, data: bytes) -> Any:
            arrived()
            return printer.print_ticket(data)

        def status(self) -> Any:
            return printer.status()

    app.controller.printing = dataclasses.replace(printing, printer=Timed())


def first_frame(app_tickets: int) -> None:
    """Start the kiosk as run_kiosk.py does, note the first displayed frame, take tickets through the app, exit."""
    from kiosk.app import build_app, configure_window  # noqa: PLC0415  (imports Kivy: part of the cold start)
    from kiosk.config import load_config  # noqa: PLC0415

    config = load_config()
    configure_window(config)
    app = build_app(config)
    from kivy.clock import Clock  # noqa: PLC0415

    from kiosk.model import Screen  # noqa: PLC0415

    result: dict[str, Any] = {"tickets": 0, "ticket_median_ms": 0.0, "bytes_median_ms": 0.0}
    times: list[float] = []
    to_bytes: list[float] = []
    _time_printing(app, lambda: to_bytes.append((time.perf_counter() - state["began"]) * 1000))
    state: dict[str, Any] = {"began": 0.0, "waiting": False, "deadline": 0.0}

    def watch(_dt: float) -> bool:
        model, view = app.model, app.view
        assert view is not None
        if "first_frame_at" not in result:
            if Clock.frames_displayed < 1:
                return True
            result["first_frame_at"] = time.time()
            result["rss_first_frame"] = _memory()[0]
            state["deadline"] = time.monotonic() + 15 + app_tickets
        if time.monotonic() > state["deadline"] or result["tickets"] >= app_tickets:
            return finish()
        if state["waiting"]:
            if model.screen == Screen.TICKET and model.ticket is not None and model.ticket.printed is not None:
                times.append((time.perf_counter() - state["began"]) * 1000)
                result["tickets"] += 1
                state["waiting"] = False
                if result["tickets"] % 10 == 0:
                    result.setdefault("rss_every_10", []).append(round(_memory()[0]))
                view.tap("home")
            return True
        if model.info is None or not model.hub_online:
            return True  # the retained site info has not arrived yet
        view.tap("take")
        codes = [m.code for m in model.info.matters if m.daily_limit >= 30]
        state["began"], state["waiting"] = time.perf_counter(), True
        view.choose(codes[result["tickets"] % len(codes)])
        return True

    def finish() -> bool:
        rss, hwm = _memory()
        result.update(rss_after=rss, hwm_after=hwm, ticket_median_ms=statistics.median(times) if times else 0)
        result.update(bytes_median_ms=statistics.median(to_bytes) if to_bytes else 0)
        app.stop()
        return False

    Clock.schedule_interval(watch, 0)
    try:
        app.run()
    except BaseException:
        traceback.print_exc(file=sys.__stderr__)  # Kivy's logger holds sys.stderr while console logs are off
        raise
    print(json.dumps(result))


# --- main ---------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tickets", type=int, default=300, help="tickets for touch → bytes")
    parser.add_argument("--starts", type=int, default=5, help="cold starts of the app")
    parser.add_argument("--app-tickets", type=int, default=60, help="tickets the app takes before memory is read")
    parser.add_argument("--first-frame", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.first_frame:
        first_frame(args.app_tickets)
        return
    from tests.support.hub_process import HubProcess  # noqa: PLC0415

    folder = Path(tempfile.mkdtemp(prefix="kiosk-bench-"))
    hub = HubProcess(folder)
    try:
        bench_kiosk, app_kiosk = hub.provision("centre", "kiosk"), hub.provision("centre", "kiosk")
        hub.start()
        figures = touch_to_bytes(hub, bench_kiosk, args.tickets)
        figures |= cold_starts(hub, app_kiosk, args.starts, args.app_tickets, folder)
    finally:
        hub.stop()
        shutil.rmtree(folder, ignore_errors=True)
    report(figures, args)


def report(f: dict[str, Any], args: argparse.Namespace) -> None:
    cores = os.cpu_count()
    nagle = "TCP_NODELAY on the device link"
    print(f"kiosk bench: real hub + managed Mosquitto on loopback, SQLite, {cores} cores; pos58 profile; {nagle}")
    print(
        f"touch -> ticket bytes ({args.tickets} tickets): median {f['touch_median']:.1f} ms, "
        f"p99 {f['touch_p99']:.1f} ms, max {f['touch_max']:.1f} ms  (target p99 <= {TOUCH_TO_BYTES_P99_MS:.0f} ms)"
    )
    print(f"  touch -> number on screen:   median {f['screen_median']:.1f} ms, p99 {f['screen_p99']:.1f} ms")
    print(f"  issue request round trip:    median {f['round_trip_median']:.1f} ms, p99 {f['round_trip_p99']:.1f} ms")
    print(
        f"  ESC/POS bytes built:         median {f['build_median']:.2f} ms, p99 {f['build_p99']:.2f} ms "
        f"({f['bytes']:.0f} bytes a ticket)"
    )
    print(
        f"cold start to first frame ({args.starts} starts): median {f['cold_start_median']:.2f} s, "
        f"max {f['cold_start_max']:.2f} s  (target <= {COLD_START_S:.0f} s)"
    )
    print(
        f"kiosk memory: {f['rss_first_frame']:.0f} MiB RSS at the first frame; {f['rss_after']:.0f} MiB "
        f"(peak {f['hwm_after']:.0f} MiB) after {f['app_tickets']:.0f} tickets through the app "
        f"(median {f['app_ticket_median_ms']:.0f} ms tap -> printed and redrawn, "
        f"{f['app_bytes_median_ms']:.0f} ms tap -> bytes, in the Kivy app on llvmpipe)"
    )
    print(f"  RSS every 10 tickets (MiB): {', '.join(map(str, f['rss_every_10']))}")  # fmt: skip


if __name__ == "__main__":
    main()
