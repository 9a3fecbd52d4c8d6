"""``hall-hub admin add|list|passwd|remove`` on a real SQLite database: the password is typed, never an argument."""

from __future__ import annotations

import io

import pytest

from hub.accounts import Role, accounts_for
from hub.cli import main
from hub.store import open_store
from tests.web.conftest import DISTRICT, PASSWORD


def run(db: str, monkeypatch: pytest.MonkeyPatch, *args: str, typed: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    return main(["--db", db, "admin", *args])


def test_the_first_administrator_comes_from_the_command_line(
    tmp_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_db, monkeypatch, "add", "root", typed=PASSWORD + "\n") == 0
    assert run(tmp_db, monkeypatch, "add", "li", "--role", "manager", "--site", "centre", typed=PASSWORD) == 0
    assert run(tmp_db, monkeypatch, "list") == 0

    out = capsys.readouterr().out
    assert "✓ root: admin (every site)" in out and "li                   manager  centre" in out
    assert PASSWORD not in out
    store = open_store(tmp_db)
    try:
        accounts = accounts_for(store, DISTRICT)
        assert accounts.verify("root", PASSWORD) is not None
        assert accounts.get("li").role == Role.MANAGER
        assert PASSWORD not in accounts.get("root").password_hash
    finally:
        store.close()


def test_passwd_and_remove(tmp_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(tmp_db, monkeypatch, "add", "root", typed=PASSWORD) == 0
    assert run(tmp_db, monkeypatch, "passwd", "root", typed="a brand new password") == 0
    store = open_store(tmp_db)
    try:
        accounts = accounts_for(store, DISTRICT)
        assert accounts.verify("root", PASSWORD) is None
        assert accounts.verify("root", "a brand new password") is not None
        assert run(tmp_db, monkeypatch, "remove", "root") == 0
        assert accounts.find("root") is None
    finally:
        store.close()


@pytest.mark.parametrize(
    "case",
    [
        (["add", "root"], "", "a password has 10 to 256 characters"),
        (["add", "root"], "short", "a password has 10 to 256 characters"),
        (["add", "bad name"], PASSWORD, "must be 1-32 of"),
        (["add", "li", "--role", "manager"], PASSWORD, "needs the site"),
        (["add", "li", "--role", "manager", "--site", "atlantis"], PASSWORD, "needs the site"),
        (["add", "zhao", "--role", "staff", "--site", "centre"], PASSWORD, "needs its window"),
        (["add", "root", "--site", "centre"], PASSWORD, "an administrator sees every site"),
        (["remove", "nobody"], "", "no account 'nobody'"),
        (["passwd", "nobody"], PASSWORD, "no account 'nobody'"),
    ],
)
def test_refusals_say_why(
    tmp_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: tuple[list[str], str, str]
) -> None:
    args, typed, says = case
    assert run(tmp_db, monkeypatch, *args, typed=typed) == 1
    assert says in capsys.readouterr().err


def test_a_taken_username_is_refused(tmp_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(tmp_db, monkeypatch, "add", "root", typed=PASSWORD) == 0
    assert run(tmp_db, monkeypatch, "add", "root", typed="another password") == 1


def test_no_password_on_the_command_line(tmp_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit):
        run(tmp_db, monkeypatch, "add", "root", "--password", PASSWORD)
