"""How a wait is said, on a kiosk's screen, aloud, and on the citizen's ticket page: "约 9–21 分钟",
"窗口忙，约 3 分钟", "不到 1 分钟", "无需等候" or "暂无窗口办理". The message ids below are in each speaking catalog
(kiosk.po, web-public.po)."""

from __future__ import annotations

from typing import Protocol

from devicekit.texts import DeviceTexts


class Wait(Protocol):
    """A wait estimate: the wire's (``contract.WaitEstimate``) or the engine's (``engine.estimate``)."""

    @property
    def people_ahead(self) -> int: ...
    @property
    def minutes(self) -> float | None: ...
    @property
    def low(self) -> float | None: ...
    @property
    def high(self) -> float | None: ...


def wait_words(texts: DeviceTexts, wait: Wait, *, spoken: bool = False) -> str:
    """What the wait is made of, in one phrase. Under half a minute: nobody to wait for, or a call within the
    minute (idle windows call the people ahead at once). Nobody ahead but some minutes: every window that could
    call it is busy, and the wait is the rest of the first service to end. Else the range, or the point.
    ``spoken``: words instead of the dash ("大约 9 到 21 分钟")."""
    if wait.minutes is None:
        return texts("no window open now")
    if wait.minutes < 0.5:
        return texts("no wait") if wait.people_ahead == 0 else texts("under a minute")
    if wait.low is not None and wait.high is not None and round(wait.high) > round(wait.low):
        message = "about {low} to {high} minutes" if spoken else "about {low}–{high} min"
        figure = texts(message, low=max(round(wait.low), 1), high=round(wait.high))
    else:
        figure = texts(
            "about {minutes} minutes" if spoken else "about {minutes} min", minutes=max(round(wait.minutes), 1)
        )
    return texts("windows busy, {wait}", wait=figure) if wait.people_ahead == 0 else figure
