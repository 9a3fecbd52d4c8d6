"""The hall display board under a caller's presses: the real hub process, its managed Mosquitto, real boards.

python -m bench.board_bench [--calls 300] [--app-calls 40] [--idle-seconds 30] [--gap 0.5]

The hub runs as a child process (``hall-hub serve`` on the sample district, clock at 10:00 on a Wednesday, SQLite,
a managed Mosquitto on a free port), as the tests run it (``tests/support/hub_process.py``). Four callers (windows
1-4) press in turn, each window's ``call-next`` followed by a ``recall`` of the same ticket; a press is a caller
``DeviceLink`` request to the hub and returns with the hub's reply. Each press waits until the boards showed the
call and the announcer is idle, so the figures are latencies, not queueing.

1. **presses** (``--calls``), measured from the moment the caller sends:
   - **press → board**: a board ``DeviceLink`` in this process follows the site through ``BoardFeed`` (snapshot,
     events, gap → resync); the time its ``BoardModel`` frame first shows the call (on the network thread, as the
     event arrives);
   - **press → first audio**: that board's announcer (espeak-ng through the on-disk cache, warmed up at start)
     hands its player the chime (the first sound of every announcement, a file on disk) and then the first spoken
     sentence, whose WAV bytes the player reads into memory: "speech ready". A ``call-next`` says a new sentence
     (synthesised now: **cold**), its ``recall`` the same one again (a cache hit: **warm**);
2. **the board app idle**: the real ``hall-board`` app (Kivy, offscreen 1920×1080 window on Mesa's software
   renderer, voice on; this module's ``--child`` mode only adds a log of when each call was drawn) follows the
   centre; after it is online and has settled, its CPU (share of one core, from /proc) over ``--idle-seconds`` with
   nobody calling, and its memory (RSS, and the peak RSS so far);
3. **presses the app draws** (``--app-calls``, ``--gap`` seconds apart): press → the app's widgets show the call
   (its Kivy thread ran the update), and press → the frame with it was flipped to the screen. A phase of its own:
   the software renderer competes with the hub, the broker and this process for the machine's cores.

The app's environment is the bench's own: ``BOARD_CLOCK_SECONDS=false python -m bench.board_bench`` measures an
idle board whose clock shows no seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import contract as wire
from bench.idle_bench import cpu_seconds, memory_mib
from devicekit.link import DeviceLink
from devicekit.voice import CHIME_PATH, Announcer, Synthesizer, VoiceConfig
from display.board_model import BoardModel
from display.feed import BoardFeed
from engine import events as ev
from tests.support.hub_process import REPO, HubProcess

SITE = "centre"
WINDOWS = ("w01", "w02", "w03", "w04")
"""The centre's comprehensive windows: each serves every matter the bench issues."""
MATTERS = ("A02", "B01", "C01")
TARGET_BOARD_P99_MS = 30.0
TARGET_AUDIO_P99_MS = 300.0
Kind = wire.DeviceKind


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def summary(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (
        f"median {statistics.median(values):6.1f} ms   p99 {percentile(values, 0.99):6.1f} ms   "
        f"max {max(values):6.1f} ms   (n={len(values)})"
    )


def eventually(check: Callable[[], bool], timeout: float = 10.0, step: float = 0.001) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


class ReadyPlayer:
    """The announcer's player for the bench: reads each WAV into memory (what a sound card would be fed) and notes
    when; takes no time, so the queue never holds an announcement back."""

    def __init__(self) -> None:
        self.ready: list[tuple[float, Path]] = []
        self._lock = threading.Lock()

    def play(self, path: Path, volume: float) -> None:
        path.read_bytes()
        with self._lock:
            self.ready.append((time.perf_counter(), path))

    def first_after(self, since: float, chime: bool) -> float | None:
        with self._lock:
            for at, path in self.ready:
                if at >= since and (path == CHIME_PATH) == chime:
                    return at
        return None


@dataclass
class Figures:
    board: list[float] = field(default_factory=list)
    drawn: list[float] = field(default_factory=list)
    """Press -> the app's widgets show the call."""
    shown: list[float] = field(default_factory=list)
    """Press -> the frame with the call was flipped to the screen."""
    update: list[float] = field(default_factory=list)
    """The app's view update (BoardView.show) for a new call."""
    chime: list[float] = field(default_factory=list)
    speech_cold: list[float] = field(default_factory=list)
    speech_warm: list[float] = field(default_factory=list)
    idle_cpu: float | None = None
    rss_mib: float | None = None
    peak_rss_mib: float | None = None


# --- the board app as a child process ---------------------------------------------------------------------------------


def child(log_path: Path) -> None:
    """The real board app (display.app's wiring), noting when each call reached the widgets and the screen."""
    from display.app import build_feed, parse, prepare_kivy  # noqa: PLC0415

    config = parse(["--windowed"])
    prepare_kivy(config)
    from kivy.core.window import Window  # noqa: PLC0415

    from display.board_app import BoardApp  # noqa: PLC0415

    log = log_path.open("a", buffering=1)
    drawn: set[int] = set()
    pending: list[int] = []

    def flipped(*_: object) -> None:
        while pending:
            log.write(f"shown {time.time():.6f} {pending.pop()} -\n")

    Window.bind(on_flip=flipped)

    class TimedBoardApp(BoardApp):
        def _refresh(self) -> None:
            started = time.perf_counter()
            super()._refresh()
            latest = self.feed.view.latest_call
            if latest is not None and latest.seq not in drawn:
                drawn.add(latest.seq)
                pending.append(latest.seq)
                log.write(f"drawn {time.time():.6f} {latest.seq} {1000 * (time.perf_counter() - started):.2f}\n")

    TimedBoardApp(config, build_feed(config)).run()


class BoardApp:
    """The board app child process and what it logs."""

    def __init__(self, hub: HubProcess, directory: Path) -> None:
        account = hub.provision(SITE, "board")
        self.hub, self.account, self.device_id = hub, account, account.device_id
        self.log = directory / "drawn.log"
        self.output = directory / "app.log"
        env = {k: v for k, v in os.environ.items() if k != "DISPLAY"} | {
            "BOARD_HOST": hub.broker_host,
            "BOARD_PORT": str(hub.broker_port),
            "BOARD_DEVICE_ID": account.device_id,
            "BOARD_PASSWORD": account.password,
            "BOARD_VOICE_CACHE": str(directory / "app-voice"),
            "KIVY_HOME": str(directory / "kivy"),
            "KIVY_NO_FILELOG": "1",
        }
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> int:
        command = [sys.executable, "-m", "bench.board_bench", "--child", str(self.log)]
        with self.output.open("wb") as output:
            self.process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=subprocess.DEVNULL, stderr=output)
        if not eventually(self._online, timeout=30):
            raise RuntimeError(f"the board app did not come online: {self.output.read_text()[-3000:]}")
        return self.process.pid

    def _online(self) -> bool:
        return bool(self.hub.statuses(self.account).get(self.device_id, {}).get("online"))

    def idle(self, seconds: float, figures: Figures) -> None:
        assert self.process is not None
        pid = self.process.pid
        cpu, started = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        figures.idle_cpu = 100 * (cpu_seconds(pid) - cpu) / (time.monotonic() - started)
        figures.rss_mib, _, figures.peak_rss_mib = memory_mib(pid)

    def entries(self) -> list[tuple[str, float, int, float]]:
        if not self.log.exists():
            return []
        rows = [line.split() for line in self.log.read_text().splitlines()]
        return [(kind, float(at), int(seq), 0.0 if ms == "-" else float(ms)) for kind, at, seq, ms in rows]

    def shown(self, seq: int) -> bool:
        try:
            tail = self.log.read_bytes()[-4096:]
        except FileNotFoundError:
            return False
        return f" {seq} -\n".encode() in tail  # a "shown" line

    def collect(self, presses: dict[int, float], figures: Figures) -> None:
        for kind, at, seq, ms in self.entries():
            if seq not in presses:
                continue
            if kind == "drawn":
                figures.drawn.append(1000 * (at - presses[seq]))
                figures.update.append(ms)
            else:
                figures.shown.append(1000 * (at - presses[seq]))

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


# --- the presses ---------------------------------------------------------------------------------------------------


class Hall:
    """The hub's centre with a kiosk, four callers signed in at windows 1-4, tickets waiting, and a board (a
    BoardFeed with an announcer reading its WAVs) in this process. Every account is made before the hub starts."""

    def __init__(self, hub: HubProcess, directory: Path) -> None:
        self.hub = hub
        self.accounts = {window: hub.provision(SITE, "caller", window) for window in WINDOWS}
        for n, _ in enumerate(WINDOWS, start=1):
            hub.add_staff(SITE, f"clerk{n}")
        self.kiosk_account, board = hub.provision(SITE, "kiosk"), hub.provision(SITE, "board")
        self.callers: dict[str, DeviceLink] = {}
        self.player = ReadyPlayer()
        self.announcer = Announcer(VoiceConfig(), Synthesizer(directory / "voice"), self.player)
        link = DeviceLink(
            host=hub.broker_host,
            port=hub.broker_port,
            site_id=SITE,
            device_id=board.device_id,
            password=board.password,
            kind=Kind.BOARD,
            follow_site=True,
        )
        self.feed = BoardFeed(link, BoardModel(SITE), self.announcer)
        self.seen: dict[int, float] = {}
        self.feed.on_change = self._changed

    def open(self, tickets: int) -> None:
        """After the hub started: tickets taken, windows opened, the board following the site."""
        kiosk = self.hub.link(self.kiosk_account, SITE, Kind.KIOSK)
        for n in range(tickets):
            assert kiosk.request(wire.Action.ISSUE, {"matters": [MATTERS[n % len(MATTERS)]]}).ok
        for n, (window, account) in enumerate(self.accounts.items(), start=1):
            link = self.callers[window] = self.hub.link(account, SITE, Kind.CALLER)
            opened = link.request(
                wire.Action.OPEN_WINDOW, {"window_id": window, "staff_id": f"clerk{n}", "pin": "2468"}
            )
            assert opened.ok, opened.error
        assert self.feed.start(wait=10), "the board did not connect"
        assert eventually(lambda: self.feed.view.synced, timeout=10)

    def _changed(self) -> None:
        """On the network thread: the board's view model, and when it first showed each call."""
        frame = self.feed.frame(self.feed.clock())
        latest = self.feed.view.latest_call
        if frame.latest is not None and latest is not None and latest.seq not in self.seen:
            self.seen[latest.seq] = time.perf_counter()

    def press(self, n: int, app: BoardApp | None, figures: Figures | None) -> tuple[int, float]:
        """Press number ``n`` (each window's call-next, then its recall, windows in turn) and wait for the board,
        the announcer and the app (if any); the call's seq and the press's wall-clock time."""
        window = WINDOWS[(n // 2) % len(WINDOWS)]
        action = wire.Action.CALL_NEXT if n % 2 == 0 else wire.Action.RECALL
        wall, pressed = time.time(), time.perf_counter()
        reply = self.callers[window].request(action, {"window_id": window})
        assert reply.ok, reply.error
        seq = next(event.seq for event in reply.events if isinstance(event, ev.TicketCalled))
        if not eventually(lambda: seq in self.seen, timeout=5):
            raise RuntimeError(f"the board never showed call {seq}")
        assert self.announcer.wait_idle(timeout=10)
        if app is not None and not eventually(lambda: app.shown(seq), timeout=5, step=0.005):
            print(f"the board app did not show call {seq} within 5 s", flush=True)
        if figures is not None:
            figures.board.append(1000 * (self.seen[seq] - pressed))
            chime = self.player.first_after(pressed, chime=True)
            speech = self.player.first_after(pressed, chime=False)
            if chime is not None:
                figures.chime.append(1000 * (chime - pressed))
            if speech is not None:
                cold = action == wire.Action.CALL_NEXT
                (figures.speech_cold if cold else figures.speech_warm).append(1000 * (speech - pressed))
        return seq, wall


def run(calls: int, app_calls: int, idle_seconds: float, gap: float) -> Figures:
    """Presses with only the in-process board (the figures of the targets), then the board app idle, then presses
    the app draws (its own phase: on this machine its software rendering competes for the same two cores)."""
    figures = Figures()
    with tempfile.TemporaryDirectory(prefix="board-bench-") as folder:
        directory = Path(folder)
        hub = HubProcess(directory)
        hall = Hall(hub, directory)
        app = BoardApp(hub, directory) if app_calls else None
        try:
            hub.start()
            print(f"hub up: MQTT 127.0.0.1:{hub.broker_port}, HTTP {hub.http_port}", flush=True)
            hall.open(tickets=(calls + app_calls) // 2 + 10)
            print(f"{calls} presses ...", flush=True)
            for n in range(calls):
                hall.press(n, None, figures)
            if hall.announcer.failures:
                print(f"announcer failures: {hall.announcer.failures}")
            if app is not None:
                pid = app.start()
                time.sleep(5)  # warm-up, first frames, retained messages
                print(f"board app online (pid {pid}); idle for {idle_seconds:.0f} s ...", flush=True)
                app.idle(idle_seconds, figures)
                print(f"{app_calls} presses drawn by the app, {gap} s apart ...", flush=True)
                presses: dict[int, float] = {}
                for n in range(app_calls):
                    time.sleep(gap)
                    seq, wall = hall.press(calls + n, app, None)
                    presses[seq] = wall
                time.sleep(0.5)
                app.collect(presses, figures)
        finally:
            hall.feed.stop()
            if app is not None:
                app.stop()
            hub.stop()
    return figures


def report(figures: Figures) -> None:
    def met(values: list[float], target: float) -> str:
        return "met" if values and percentile(values, 0.99) <= target else "NOT met"

    print()
    print(f"press → board view model    {summary(figures.board)}   target p99 ≤ {TARGET_BOARD_P99_MS:.0f} ms: "
          f"{met(figures.board, TARGET_BOARD_P99_MS)}")  # fmt: skip
    if figures.drawn:
        print(f"press → app widgets         {summary(figures.drawn)}")
        print(f"press → app frame on screen {summary(figures.shown)}")
        print(f"  the app's view update     {summary(figures.update)}")
    print(f"press → chime to player     {summary(figures.chime)}")
    print(f"press → speech ready, warm  {summary(figures.speech_warm)}   target p99 ≤ {TARGET_AUDIO_P99_MS:.0f} ms: "
          f"{met(figures.speech_warm, TARGET_AUDIO_P99_MS)}")  # fmt: skip
    print(f"press → speech ready, cold  {summary(figures.speech_cold)}")
    if figures.idle_cpu is not None:
        print(f"board app idle              CPU {figures.idle_cpu:.1f} % of one core, "
              f"RSS {figures.rss_mib:.0f} MiB (peak {figures.peak_rss_mib:.0f} MiB)")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="presses in all (half call-next, half recall)")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--app-calls", type=int, default=40, help="presses the board app draws (0: no app)")
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between two presses the app draws")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.child)
        return
    report(run(args.calls, args.app_calls, args.idle_seconds, args.gap))


if __name__ == "__main__":
    main()
