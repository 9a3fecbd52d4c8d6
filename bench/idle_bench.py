"""What the device apps cost while nothing happens: CPU and memory of each app idle, against the real hub.

    python -m bench.idle_bench [--settle 10] [--seconds 20] [--rounds 3]

The hub runs as a child process as the tests run it (``tests/support/hub_process.py``: ``hall-hub serve`` on the
sample district at 10:00 on a Wednesday, SQLite, a managed Mosquitto on a free port), with tickets waiting and one
call on the board. Then each device app starts as its own process with its real entry point, offscreen Kivy
window (no ``DISPLAY``, Mesa's software renderer), ``SDL_AUDIODRIVER=dummy``:

- **board**: ``python -m display.app --windowed`` (1920x1080, voice on);
- **kiosk**: ``python run_kiosk.py`` (1920x1080, file printer, read-aloud on);
- **caller**: ``python -m caller.app`` (window w01, signed out);
- **window screen**: ``python -m display.window_screen_app`` (its LED strip on pyserial's ``loop://``; no Kivy).

Once every app is online (its status at the hub) and has settled for ``--settle`` seconds, nobody touches anything
for ``--rounds`` windows of ``--seconds``: each app's CPU is the share of one core it used in the window, from
utime + stime in /proc/<pid>/stat (CPU time, not wall-clock); its memory is VmRSS (and PSS, which shares the
libraries among the apps, from /proc/<pid>/smaps_rollup) at the end of the window, and VmHWM (peak RSS). The table
gives the median window. Targets (issue 16): an idle board ≤ 3 % of a core, each device app ≤ 200 MiB resident.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import contract as wire
from hub.devices import Credentials
from tests.support.hub_process import REPO, HubProcess

SITE = "centre"
BOARD_CPU_TARGET = 3.0
RSS_TARGET_MIB = 200.0


@dataclass
class App:
    name: str
    command: list[str]
    env: dict[str, str]
    account: Credentials
    process: subprocess.Popen[bytes] | None = None
    cpu: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    pss: list[float] = field(default_factory=list)
    peak: float = 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mib(pid: int) -> tuple[float, float, float]:
    """VmRSS, PSS and VmHWM in MiB."""
    found: dict[str, float] = {}
    for path, keys in ((f"/proc/{pid}/status", ("VmRSS:", "VmHWM:")), (f"/proc/{pid}/smaps_rollup", ("Pss:",))):
        for line in Path(path).read_text().splitlines():
            if line.startswith(keys):
                found[line.split(":")[0]] = int(line.split()[1]) / 1024
    return found["VmRSS"], found["Pss"], found["VmHWM"]


def base_env(folder: Path, name: str) -> dict[str, str]:
    (folder / "kivy").mkdir(exist_ok=True)  # Kivy makes its home, not the folders above it
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}  # the offscreen EGL window
    return env | {
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_FILELOG": "1",
        "KIVY_HOME": str(folder / "kivy" / name),
        "SDL_AUDIODRIVER": "dummy",
    }


def device_env(prefix: str, hub: HubProcess, account: Credentials, **settings: str) -> dict[str, str]:
    keys = {"HOST": hub.broker_host, "PORT": str(hub.broker_port), "SITE": SITE, "DEVICE_ID": account.device_id}
    keys |= {"PASSWORD": account.password, "FULLSCREEN": "false"} | settings
    return {f"{prefix}_{key}": value for key, value in keys.items()}


def apps(hub: HubProcess, folder: Path) -> list[App]:
    """Every device app of the bench, provisioned (before the hub starts), not yet started."""
    python = sys.executable

    def app(name: str, kind: str, window: str | None, command: list[str], prefix: str, **settings: str) -> App:
        account = hub.provision(SITE, kind, window)
        env = base_env(folder, name) | device_env(prefix, hub, account, **settings)
        return App(name, command, env, account)

    return [
        app(
            "board",
            "board",
            None,
            [python, "-m", "display.app", "--windowed"],
            "BOARD",
            VOICE_CACHE=str(folder / "board-voice"),
        ),
        app(
            "kiosk",
            "kiosk",
            None,
            [python, "run_kiosk.py"],
            "KIOSK",
            PRINTER=f"file:{folder / 'tickets.bin'}",
            PUBLIC_URL=f"http://127.0.0.1:{hub.http_port}",
            VOICE_CACHE=str(folder / "kiosk-voice"),
        ),
        app("caller", "caller", "w01", [python, "-m", "caller.app"], "CALLER", WINDOW="w01"),
        app(
            "window-screen",
            "window_screen",
            "w02",
            [python, "-m", "display.window_screen_app"],
            "SCREEN",
            SERIAL_PORT="loop://",
        ),
    ]


def open_hall(hub: HubProcess, kiosk: Credentials, caller: Credentials) -> None:
    """Tickets waiting and one call made, so that every screen has something on it."""
    link = hub.link(kiosk, SITE, wire.DeviceKind.KIOSK)
    for n in range(12):
        assert link.request(wire.Action.ISSUE, {"matters": [("A02", "B01", "C01")[n % 3]]}).ok
    counter = hub.link(caller, SITE, wire.DeviceKind.CALLER)
    opened = counter.request(wire.Action.OPEN_WINDOW, {"window_id": "w03", "staff_id": "idle1", "pin": "2468"})
    assert opened.ok, opened.error
    assert counter.request(wire.Action.CALL_NEXT, {"window_id": "w03"}).ok


def wait_online(hub: HubProcess, started: list[App], folder: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = hub.statuses(started[0].account)
        if all(statuses.get(app.account.device_id, {}).get("online") for app in started):
            return
        for app in started:
            assert app.process is not None
            if app.process.poll() is not None:
                log = (folder / f"{app.name}.log").read_text(errors="replace")
                raise RuntimeError(f"{app.name} exited ({app.process.returncode}): {log[-3000:]}")
        time.sleep(0.2)
    raise RuntimeError("not every app came online: " + ", ".join(app.name for app in started))


def measure(started: list[App], seconds: float, hub_pid: int, hub_cpu: list[float]) -> None:
    pids = {app.name: app.process.pid for app in started if app.process is not None}
    before = {name: cpu_seconds(pid) for name, pid in pids.items()} | {"hub": cpu_seconds(hub_pid)}
    began = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - began
    for app in started:
        pid = pids[app.name]
        app.cpu.append(100 * (cpu_seconds(pid) - before[app.name]) / elapsed)
        rss, pss, peak = memory_mib(pid)
        app.rss.append(rss)
        app.pss.append(pss)
        app.peak = max(app.peak, peak)
    hub_cpu.append(100 * (cpu_seconds(hub_pid) - before["hub"]) / elapsed)


def report(started: list[App], hub_cpu: list[float], seconds: float) -> bool:
    rounds = len(hub_cpu)
    print(f"\nidle device apps: median of {rounds} windows of {seconds:.0f} s (CPU: share of one core)")
    print(f"{'app':<14} {'CPU %':>7} {'(min-max)':>13} {'RSS MiB':>8} {'PSS MiB':>8} {'peak RSS':>9}")
    good = True
    for app in started:
        cpu, rss = statistics.median(app.cpu), statistics.median(app.rss)
        spread = f"({min(app.cpu):.1f}-{max(app.cpu):.1f})"
        print(f"{app.name:<14} {cpu:7.2f} {spread:>13} {rss:8.0f} {statistics.median(app.pss):8.0f} {app.peak:9.0f}")
        good &= rss <= RSS_TARGET_MIB and (app.name != "board" or cpu <= BOARD_CPU_TARGET)
    print(f"{'(the hub)':<14} {statistics.median(hub_cpu):7.2f}")
    print(
        f"targets: an idle board ≤ {BOARD_CPU_TARGET:.0f} % of a core, each app ≤ {RSS_TARGET_MIB:.0f} MiB RSS: "
        f"{'met' if good else 'NOT met'}"
    )
    return good


def run(settle: float, seconds: float, rounds: int, names: list[str]) -> bool:
    with tempfile.TemporaryDirectory(prefix="idle-bench-") as name:
        folder = Path(name)
        hub = HubProcess(folder)
        started = [app for app in apps(hub, folder) if app.name in names]
        kiosk, caller = hub.provision(SITE, "kiosk"), hub.provision(SITE, "caller", "w03")
        hub.add_staff(SITE, "idle1")
        try:
            hub.start()
            open_hall(hub, kiosk, caller)
            for app in started:
                with (folder / f"{app.name}.log").open("wb") as log:
                    app.process = subprocess.Popen(app.command, cwd=REPO, env=app.env, stdout=log, stderr=log)
            wait_online(hub, started, folder)
            print(
                f"{len(started)} apps online; settling {settle:.0f} s, then {rounds} x {seconds:.0f} s idle", flush=True
            )
            time.sleep(settle)
            hub_cpu: list[float] = []
            for _ in range(rounds):
                measure(started, seconds, hub.pid, hub_cpu)
            return report(started, hub_cpu, seconds)
        finally:
            for app in started:
                if app.process is not None and app.process.poll() is None:
                    app.process.terminate()
            for app in started:
                if app.process is not None:
                    try:
                        app.process.wait(15)
                    except subprocess.TimeoutExpired:
                        app.process.kill()
            hub.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after every app is online")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of one idle window")
    parser.add_argument("--rounds", type=int, default=3, help="idle windows measured")
    parser.add_argument("--apps", default="board,kiosk,caller,window-screen", help="which apps, comma-separated")
    args = parser.parse_args()
    names = [name for name in args.apps.split(",") if name]
    known = ("board", "kiosk", "caller", "window-screen")
    if not names or any(name not in known for name in names):
        parser.error(f"--apps: one or more of {', '.join(known)}")
    raise SystemExit(0 if run(args.settle, args.seconds, args.rounds, names) else 1)


if __name__ == "__main__":
    main()
