"""The caller while the link sends a request again (no answer yet: the site's hub may be changing, issue #13): the
screen says it is retrying at once instead of looking frozen, the action stays in progress (a second press is not a
second call), and the answer that comes clears the note."""

from __future__ import annotations

from caller.screen import CallerScreen
from tests.caller.hall import Hall


def test_a_retried_request_shows_the_retrying_note_until_its_answer() -> None:
    hall = Hall()
    hall.sign_in()
    hall.issue("A02")
    screen = CallerScreen(hall.model)
    call = hall.model.command("call_next")
    assert call is not None and hall.model.working is call
    assert screen.connection_text() == ""

    hall.model.on_retrying(call)

    assert screen.connection_text() == "无法连接服务器，正在重试"
    assert hall.model.command("call_next") is None  # still the one call in progress
    hall.do(call)
    assert screen.connection_text() == ""
    assert hall.model.working is None and hall.model.current is not None
